//! `matchctl`: a command-line client for matchd. Every command connects, logs in, sends one
//! message, prints the reports that arrive within `--wait-ms` (one line each), and logs out
//! (`balances` waits for the query's answer instead of `--wait-ms`).
//!
//! Exit codes: 0 done, 1 connection or session error, 2 usage error, 3 login rejected.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use client::{describe, Client, ClientError, LoginParams};
use engine::{
    AccountStatus, Amend, Cancel, CommandType, CreateAccount, InstrumentSpec, InstrumentState, MassCancel, NewOrder,
    OrderRef, OrderType, QueryAccount, SetAccountStatus, SetFeeSchedule, SetInstrumentState, Side, StpMode,
    TimeInForce, Transfer,
};
use protocol::{template, CancelOnDisconnect, ClientMessage, ExecReport, LogoutReason, Role, ServerMessage};

/// Command-line client for the matchd order-entry protocol (docs/protocol.md).
///
/// Without --account/--secret, trader commands log in as the demo account alice (1, alice-demo)
/// and admin commands as the demo admin (0, admin-demo). An account has one session at a time, so
/// `listen` on an account blocks other commands on the same account while it runs.
#[derive(Debug, Parser)]
#[command(name = "matchctl", version)]
struct Cli {
    /// Server address.
    #[arg(long, global = true, default_value = "127.0.0.1:7001")]
    addr: String,
    /// Account id [default: 1, or 0 for an admin session].
    #[arg(long, global = true)]
    account: Option<u32>,
    /// The account's secret for the role [default: alice-demo, or admin-demo for an admin session].
    #[arg(long, global = true)]
    secret: Option<String>,
    /// Session role [default: admin for add-instrument, set-state, the account administration
    /// commands (create-account, deposit, withdraw, set-status, set-fee) and the credential
    /// commands (set-credential, revoke-credential), else trader].
    #[arg(long, global = true, value_enum)]
    role: Option<RoleArg>,
    /// Log in with this last seen sequence number and print the reports resent after it. Without
    /// it, the account's earlier reports are skipped (`history` starts from 0).
    #[arg(long, global = true, value_name = "N")]
    last_seen: Option<u64>,
    /// How long to wait for reports after sending, in ms.
    #[arg(long, global = true, default_value_t = 500, value_name = "MS")]
    wait_ms: u64,
    /// Connect / login / server-silence timeout, in ms.
    #[arg(long, global = true, default_value_t = 5000, value_name = "MS")]
    timeout_ms: u64,
    /// Cancel the account's orders if this session drops without a logout [default: the server's,
    /// off for listen].
    #[arg(long, global = true, value_enum)]
    cancel_on_disconnect: Option<CodArg>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Send a buy order.
    Buy(OrderArgs),
    /// Send a sell order.
    Sell(OrderArgs),
    /// Cancel one order.
    Cancel(RefArgs),
    /// Amend one order's total quantity and/or price.
    Amend {
        #[command(flatten)]
        order: RefArgs,
        /// New total quantity (filled included).
        #[arg(long)]
        qty: Option<u64>,
        /// New price.
        #[arg(long)]
        price: Option<u64>,
    },
    /// Cancel the account's live orders (optionally one instrument and/or side).
    MassCancel {
        /// Only this instrument.
        #[arg(long)]
        instrument: Option<u32>,
        /// Only this side.
        #[arg(long, value_enum)]
        side: Option<SideArg>,
    },
    /// Print every report as it arrives, until Ctrl-C or --for-ms.
    Listen {
        /// Stop after this many ms.
        #[arg(long, value_name = "MS")]
        for_ms: Option<u64>,
    },
    /// Print every report the server retains for the account (from --last-seen, default 0), then
    /// exit.
    History,
    /// Admin: add an instrument.
    AddInstrument(AddInstrumentArgs),
    /// Admin: change an instrument's state.
    SetState {
        /// Instrument id.
        #[arg(long)]
        instrument: u32,
        /// New state.
        #[arg(long, value_enum)]
        state: StateArg,
    },
    /// Admin (risk mode): open an account.
    CreateAccount {
        /// The new account's id.
        #[arg(long)]
        target: u32,
        /// Fee tier (0-7).
        #[arg(long, default_value_t = 0)]
        tier: u8,
        /// Open it suspended (no new orders).
        #[arg(long)]
        suspended: bool,
    },
    /// Admin (risk mode): credit an account.
    Deposit(TransferArgs),
    /// Admin (risk mode): debit an account's available balance.
    Withdraw(TransferArgs),
    /// Admin (risk mode): suspend or resume an account and set its fee tier.
    SetStatus {
        /// Account id.
        #[arg(long)]
        target: u32,
        /// New status.
        #[arg(long, value_enum)]
        status: StatusArg,
        /// Fee tier (0-7); the command always sets it.
        #[arg(long, default_value_t = 0)]
        tier: u8,
    },
    /// Admin (risk mode): set an instrument's fee rates for one tier.
    SetFee {
        /// Instrument id.
        #[arg(long)]
        instrument: u32,
        /// Fee tier (0 = the default schedule).
        #[arg(long, default_value_t = 0)]
        tier: u8,
        /// Maker rate in millionths of the notional (negative = rebate, at most the taker rate).
        #[arg(long, allow_negative_numbers = true)]
        maker_ppm: i32,
        /// Taker rate in millionths of the notional (0-999999).
        #[arg(long)]
        taker_ppm: i32,
    },
    /// Print an account's balances and open orders (QueryAccount): a trader its own account, an
    /// admin any account (the fee account included).
    Balances {
        /// Account asked about [default: the session's account].
        #[arg(long)]
        target: Option<u32>,
    },
    /// Admin: give an account a new API secret (create or rotate), in effect at once. Generates a
    /// random secret (16 random bytes as 32 hex characters) and prints it once, with its
    /// fingerprint; only its salted hash is sent. The old secret stops working.
    SetCredential {
        /// Account id.
        #[arg(long)]
        target: u32,
        /// Read the secret from stdin (one line, 1-32 bytes) instead of generating one.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Admin: revoke an account's API secret: its logins are refused and its session ends.
    RevokeCredential {
        /// Account id.
        #[arg(long)]
        target: u32,
    },
}

#[derive(Debug, Args)]
struct TransferArgs {
    /// Account id.
    #[arg(long)]
    target: u32,
    /// Asset id.
    #[arg(long)]
    asset: u32,
    /// Amount in the asset's minor units.
    #[arg(long)]
    amount: u64,
    /// External transaction id; a repeated id is rejected (DuplicateTransaction).
    #[arg(long)]
    tx_id: u64,
}

impl TransferArgs {
    fn transfer(&self) -> Transfer {
        Transfer { target: self.target, asset: self.asset, amount: self.amount, tx_id: self.tx_id }
    }
}

#[derive(Debug, Args)]
struct OrderArgs {
    /// Instrument id.
    #[arg(long)]
    instrument: u32,
    /// Quantity, in the instrument's units.
    #[arg(long)]
    qty: u64,
    /// Limit price, in the instrument's units (none for a market order).
    #[arg(long)]
    price: Option<u64>,
    /// Order type [default: limit with --price, else market].
    #[arg(long = "type", value_enum)]
    order_type: Option<TypeArg>,
    /// Time in force [default: gtc for limit, ioc for market].
    #[arg(long, value_enum)]
    tif: Option<TifArg>,
    /// Self-trade prevention mode.
    #[arg(long, value_enum, default_value = "none")]
    stp: StpArg,
    /// Client order id [default: the clock in microseconds].
    #[arg(long)]
    cid: Option<u64>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct RefArgs {
    /// Engine order id.
    #[arg(long)]
    order_id: Option<u64>,
    /// Client order id (of a live order of the account).
    #[arg(long)]
    cid: Option<u64>,
}

impl RefArgs {
    fn order_ref(&self) -> OrderRef {
        match (self.order_id, self.cid) {
            (Some(id), _) => OrderRef::Engine(id),
            (None, Some(cid)) => OrderRef::Client(cid),
            (None, None) => unreachable!("clap requires one of --order-id / --cid"),
        }
    }
}

#[derive(Debug, Args)]
struct AddInstrumentArgs {
    /// Instrument id.
    #[arg(long)]
    id: u32,
    /// Symbol, e.g. SOL-USDT (at most 16 printable ASCII characters).
    #[arg(long)]
    symbol: String,
    /// Base asset id.
    #[arg(long)]
    base: u32,
    /// Quote asset id.
    #[arg(long)]
    quote: u32,
    /// Price tick.
    #[arg(long)]
    tick: u64,
    /// Quantity lot.
    #[arg(long)]
    lot: u64,
    /// Smallest order quantity.
    #[arg(long)]
    min_qty: u64,
    /// Largest order quantity.
    #[arg(long)]
    max_qty: u64,
    /// Smallest limit-order notional.
    #[arg(long)]
    min_notional: u64,
    /// Price band around the reference price, basis points.
    #[arg(long)]
    band_bps: u32,
    /// Reference price until the first trade.
    #[arg(long)]
    ref_price: u64,
    /// notional = price * qty / qty_scale.
    #[arg(long)]
    qty_scale: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RoleArg {
    Trader,
    Admin,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CodArg {
    On,
    Off,
    Default,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SideArg {
    Buy,
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TypeArg {
    Limit,
    Market,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TifArg {
    Gtc,
    Ioc,
    Fok,
    PostOnly,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StpArg {
    None,
    CancelTaker,
    CancelMaker,
    CancelBoth,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Active,
    Suspended,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StateArg {
    Trading,
    Halted,
    CancelOnly,
    Closed,
}

impl From<SideArg> for Side {
    fn from(s: SideArg) -> Side {
        match s {
            SideArg::Buy => Side::Buy,
            SideArg::Sell => Side::Sell,
        }
    }
}

impl From<TifArg> for TimeInForce {
    fn from(t: TifArg) -> TimeInForce {
        match t {
            TifArg::Gtc => TimeInForce::Gtc,
            TifArg::Ioc => TimeInForce::Ioc,
            TifArg::Fok => TimeInForce::Fok,
            TifArg::PostOnly => TimeInForce::PostOnly,
        }
    }
}

impl From<StpArg> for StpMode {
    fn from(s: StpArg) -> StpMode {
        match s {
            StpArg::None => StpMode::None,
            StpArg::CancelTaker => StpMode::CancelTaker,
            StpArg::CancelMaker => StpMode::CancelMaker,
            StpArg::CancelBoth => StpMode::CancelBoth,
        }
    }
}

impl From<StateArg> for InstrumentState {
    fn from(s: StateArg) -> InstrumentState {
        match s {
            StateArg::Trading => InstrumentState::Trading,
            StateArg::Halted => InstrumentState::Halted,
            StateArg::CancelOnly => InstrumentState::CancelOnly,
            StateArg::Closed => InstrumentState::Closed,
        }
    }
}

/// Why matchctl stops early.
enum Failure {
    /// Bad arguments (exit 2).
    Usage(String),
    /// Connection or session error (exit 1).
    Session(String),
    /// Login rejected (exit 3).
    Login(String),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        match e {
            ClientError::LoginRejected { .. } => Failure::Login(e.to_string()),
            e => Failure::Session(e.to_string()),
        }
    }
}

/// What to send once logged in.
enum Action {
    /// Send this message.
    Send(ClientMessage),
    /// Send this order, with the client's next client order id unless one is given.
    NewOrder(NewOrder, Option<u64>),
    Listen(Option<Duration>),
    History,
    /// QueryAccount for this account (the session's if `None`): print until `QueryDone`.
    Query(Option<u32>),
    /// Send this `SetCredential`, then print the generated secret (`None`: read from stdin).
    SetCredential(ClientMessage, Option<String>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(Failure::Usage(m)) => {
            eprintln!("matchctl: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Session(m)) => {
            eprintln!("matchctl: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Login(m)) => {
            eprintln!("matchctl: {m}");
            ExitCode::from(3)
        }
    }
}

/// Prints one line on stdout; a closed stdout (e.g. `| head`) ends the program quietly.
fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    if writeln!(o, "{line}").and_then(|()| o.flush()).is_err() {
        std::process::exit(0);
    }
}

fn new_order(side: Side, a: OrderArgs) -> Result<Action, Failure> {
    let order_type = a.order_type.unwrap_or(if a.price.is_some() { TypeArg::Limit } else { TypeArg::Market });
    let price = match (order_type, a.price) {
        (TypeArg::Limit, Some(p)) => p,
        (TypeArg::Limit, None) => return Err(Failure::Usage("a limit order needs --price".into())),
        (TypeArg::Market, None) => 0,
        (TypeArg::Market, Some(_)) => return Err(Failure::Usage("a market order takes no --price".into())),
    };
    let tif = a.tif.map(TimeInForce::from).unwrap_or(match order_type {
        TypeArg::Limit => TimeInForce::Gtc,
        TypeArg::Market => TimeInForce::Ioc,
    });
    let order_type = match order_type {
        TypeArg::Limit => OrderType::Limit,
        TypeArg::Market => OrderType::Market,
    };
    let stp = StpMode::from(a.stp);
    let order =
        NewOrder { client_order_id: 0, instrument: a.instrument, side, order_type, tif, stp, price, qty: a.qty };
    Ok(Action::NewOrder(order, a.cid))
}

fn action(cmd: Cmd) -> Result<Action, Failure> {
    Ok(match cmd {
        Cmd::Buy(a) => return new_order(Side::Buy, a),
        Cmd::Sell(a) => return new_order(Side::Sell, a),
        Cmd::Cancel(r) => Action::Send(ClientMessage::Cancel(Cancel { order: r.order_ref() })),
        Cmd::Amend { order, qty, price } => {
            if qty.is_none() && price.is_none() {
                return Err(Failure::Usage("amend needs --qty and/or --price".into()));
            }
            Action::Send(ClientMessage::Amend(Amend { order: order.order_ref(), new_qty: qty, new_price: price }))
        }
        Cmd::MassCancel { instrument, side } => {
            Action::Send(ClientMessage::MassCancel(MassCancel { instrument, side: side.map(Side::from) }))
        }
        Cmd::Listen { for_ms } => Action::Listen(for_ms.map(Duration::from_millis)),
        Cmd::History => Action::History,
        Cmd::AddInstrument(a) => {
            let symbol = InstrumentSpec::symbol_from_str(&a.symbol).ok_or_else(|| {
                Failure::Usage(format!("bad --symbol {:?}: 1 to 16 printable ASCII characters", a.symbol))
            })?;
            let spec = InstrumentSpec {
                id: a.id,
                symbol,
                base_asset: a.base,
                quote_asset: a.quote,
                tick: a.tick,
                lot: a.lot,
                min_qty: a.min_qty,
                max_qty: a.max_qty,
                min_notional: a.min_notional,
                price_band_bps: a.band_bps,
                reference_price: a.ref_price,
                qty_scale: a.qty_scale,
            };
            Action::Send(ClientMessage::AddInstrument(spec))
        }
        Cmd::SetState { instrument, state } => {
            Action::Send(ClientMessage::SetInstrumentState(SetInstrumentState { instrument, state: state.into() }))
        }
        Cmd::CreateAccount { target, tier, suspended } => {
            let status = if suspended { AccountStatus::Suspended } else { AccountStatus::Active };
            Action::Send(ClientMessage::CreateAccount(CreateAccount { target, tier, status }))
        }
        Cmd::Deposit(t) => Action::Send(ClientMessage::Deposit(t.transfer())),
        Cmd::Withdraw(t) => Action::Send(ClientMessage::Withdraw(t.transfer())),
        Cmd::SetStatus { target, status, tier } => {
            let status = match status {
                StatusArg::Active => AccountStatus::Active,
                StatusArg::Suspended => AccountStatus::Suspended,
            };
            Action::Send(ClientMessage::SetAccountStatus(SetAccountStatus { target, status, tier }))
        }
        Cmd::SetFee { instrument, tier, maker_ppm, taker_ppm } => {
            Action::Send(ClientMessage::SetFeeSchedule(SetFeeSchedule { instrument, tier, maker_ppm, taker_ppm }))
        }
        Cmd::Balances { target } => Action::Query(target),
        Cmd::SetCredential { target, secret_stdin } => return set_credential(target, secret_stdin),
        Cmd::RevokeCredential { target } => {
            Action::Send(ClientMessage::RevokeCredential(engine::RevokeCredential { target }))
        }
    })
}

/// `set-credential`: a random salt and a generated (or stdin's) secret, hashed as the gateway
/// checks a login (`client::credential_hash`).
fn set_credential(target: u32, secret_stdin: bool) -> Result<Action, Failure> {
    let random = |buf: &mut [u8]| {
        getrandom::fill(buf).map_err(|e| Failure::Session(format!("no randomness from the operating system: {e}")))
    };
    let (secret, shown) = if secret_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| Failure::Usage(format!("reading the secret: {e}")))?;
        (line.trim_end_matches(['\n', '\r']).to_string(), None)
    } else {
        let mut bytes = [0u8; 16];
        random(&mut bytes)?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        (secret.clone(), Some(secret))
    };
    let mut salt = [0u8; engine::CREDENTIAL_SALT_BYTES];
    random(&mut salt)?;
    let hash = client::credential_hash(&salt, secret.as_bytes()).map_err(|e| Failure::Usage(e.to_string()))?;
    let msg = ClientMessage::SetCredential(engine::SetCredential { target, salt, hash });
    Ok(Action::SetCredential(msg, shown))
}

/// Prints a message: reports and session rejects on stdout, session events on stderr, heartbeats
/// not at all. Returns the logout reason for a `Logout`.
fn show(msg: &ServerMessage) -> Option<LogoutReason> {
    match msg {
        ServerMessage::Heartbeat => None,
        ServerMessage::Logout(l) => {
            eprintln!("{}", describe(msg));
            Some(l.reason)
        }
        ServerMessage::LoginAccepted(_) | ServerMessage::LoginRejected(_) => {
            eprintln!("{}", describe(msg));
            None
        }
        ServerMessage::Report { .. } | ServerMessage::SessionReject(_) => {
            out(&describe(msg));
            None
        }
    }
}

/// Prints every message until `until` passes (`Ok(true)`) or the server logs out (`Ok(false)`
/// after our own logout, `Err` for any other reason).
fn pump(client: &mut Client, until: Option<Instant>) -> Result<bool, Failure> {
    loop {
        let wait = match until {
            Some(t) => t.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        match client.recv(wait)? {
            None if until.is_some() => return Ok(true),
            None => {}
            Some(m) => {
                if let Some(reason) = show(&m) {
                    return match reason {
                        LogoutReason::UserRequest => Ok(false),
                        r => Err(Failure::Session(format!("the server ended the session: {r:?}"))),
                    };
                }
            }
        }
    }
}

/// Prints every message until the answer to our `QueryAccount` is complete (`QueryDone`, or its
/// `CommandRejected` / `SessionReject`); `Ok(false)` if the server logged us out meanwhile.
fn pump_query(client: &mut Client, timeout: Duration) -> Result<bool, Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        let Some(m) = client.recv(deadline.saturating_duration_since(Instant::now()))? else {
            return Err(Failure::Session("no answer to the account query".into()));
        };
        if let Some(reason) = show(&m) {
            return match reason {
                LogoutReason::UserRequest => Ok(false),
                r => Err(Failure::Session(format!("the server ended the session: {r:?}"))),
            };
        }
        let done = match &m {
            ServerMessage::Report { report: ExecReport::QueryDone(_), .. } => true,
            ServerMessage::Report { report: ExecReport::Rejected(r), .. } => r.command == CommandType::QueryAccount,
            ServerMessage::SessionReject(r) => r.ref_template_id == template::QUERY_ACCOUNT,
            _ => false,
        };
        if done {
            return Ok(true);
        }
    }
}

/// Reads the reports resent after the login (up to its `highest_seq`), printing them if `print`.
fn catch_up(client: &mut Client, highest_seq: u64, print: bool, idle: Duration) -> Result<(), Failure> {
    while client.last_seen_seq() < highest_seq {
        match client.recv(idle)? {
            None => {
                return Err(Failure::Session(format!(
                    "resend stalled at seq {} of {highest_seq}",
                    client.last_seen_seq()
                )))
            }
            Some(m) => {
                if print || !matches!(m, ServerMessage::Report { .. }) {
                    if let Some(r) = show(&m) {
                        return Err(Failure::Session(format!("the server ended the session: {r:?}")));
                    }
                }
            }
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let admin_cmd = matches!(
        cli.cmd,
        Cmd::AddInstrument(_)
            | Cmd::SetState { .. }
            | Cmd::CreateAccount { .. }
            | Cmd::Deposit(_)
            | Cmd::Withdraw(_)
            | Cmd::SetStatus { .. }
            | Cmd::SetFee { .. }
            | Cmd::SetCredential { .. }
            | Cmd::RevokeCredential { .. }
    );
    let role = cli.role.unwrap_or(if admin_cmd { RoleArg::Admin } else { RoleArg::Trader });
    let (role, default_account, default_secret) = match role {
        RoleArg::Trader => (Role::Trader, 1, "alice-demo"),
        RoleArg::Admin => (Role::Admin, 0, "admin-demo"),
    };
    let account = cli.account.unwrap_or(default_account);
    let secret = cli.secret.clone().unwrap_or_else(|| default_secret.to_string());
    let is_listen = matches!(cli.cmd, Cmd::Listen { .. });
    let is_history = matches!(cli.cmd, Cmd::History);
    let cancel_on_disconnect = match cli.cancel_on_disconnect {
        Some(CodArg::On) => CancelOnDisconnect::Enabled,
        Some(CodArg::Off) => CancelOnDisconnect::Disabled,
        Some(CodArg::Default) => CancelOnDisconnect::Default,
        None if is_listen || is_history => CancelOnDisconnect::Disabled,
        None => CancelOnDisconnect::Default,
    };
    let print_resends = cli.last_seen.is_some() || is_history;
    let last_seen_seq = cli.last_seen.unwrap_or(0);
    let wait = Duration::from_millis(cli.wait_ms);
    let timeout = Duration::from_millis(cli.timeout_ms.max(1));
    let action = action(cli.cmd)?;

    let mut client = Client::connect(cli.addr.as_str(), timeout)
        .map_err(|e| Failure::Session(format!("cannot connect to {}: {e}", cli.addr)))?;
    let accepted = client
        .login(LoginParams {
            account,
            credential: secret.as_bytes(),
            role,
            last_seen_seq,
            heartbeat_interval_ms: 0,
            cancel_on_disconnect,
        })
        .map_err(|e| match e {
            ClientError::LoginRejected { .. } => Failure::Login(format!("account {account}: {e}")),
            e => Failure::Session(format!("login to {} failed: {e}", cli.addr)),
        })?;
    show(&ServerMessage::LoginAccepted(accepted));
    catch_up(&mut client, accepted.highest_seq, print_resends, timeout)?;

    let still_open = match action {
        Action::History => true,
        Action::Listen(for_ms) => pump(&mut client, for_ms.map(|d| Instant::now() + d))?,
        Action::Send(msg) => {
            client.send(&msg)?;
            pump(&mut client, Some(Instant::now() + wait))?
        }
        Action::SetCredential(msg, shown) => {
            client.send(&msg)?;
            if let (Some(secret), ClientMessage::SetCredential(c)) = (shown, msg) {
                // Only here, once: the server keeps the salted hash alone. A `REJECTED` line
                // after this means the secret was not set.
                let fingerprint = protocol::credential_fingerprint(&c.hash);
                out(&format!("SECRET account={} secret={secret} fingerprint={fingerprint:016x}", c.target));
            }
            pump(&mut client, Some(Instant::now() + wait))?
        }
        Action::Query(target) => {
            client.send(&ClientMessage::QueryAccount(QueryAccount { target: target.unwrap_or(account) }))?;
            pump_query(&mut client, timeout)?
        }
        Action::NewOrder(mut order, cid) => {
            order.client_order_id = cid.unwrap_or_else(|| client.next_client_order_id());
            client.new_order(order)?;
            pump(&mut client, Some(Instant::now() + wait))?
        }
    };
    if still_open {
        for m in client.logout_and_drain(wait.max(Duration::from_secs(1)))? {
            show(&m);
        }
    }
    Ok(ExitCode::SUCCESS)
}
