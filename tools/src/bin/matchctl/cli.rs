//! matchctl's command line: the arguments (clap), the login they ask for, and the one message
//! (or the listening) they turn into.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use engine::{
    AccountStatus, AdvancedOrder, Amend, AmendTrigger, Cancel, CreateAccount, InstrumentSpec, InstrumentState,
    MassCancel, NewOrder, OrderList, OrderRef, OrderType, SetAccountStatus, SetFeeSchedule, SetInstrumentState, Side,
    StpMode, TimeInForce, TrailUnit, Trailing, Transfer, TriggerKind,
};
use protocol::{CancelOnDisconnect, ClientMessage, Role};

use crate::lists::{OcoArgs, OtoArgs, OtocoArgs};
use crate::perp::{PerpCmd, PerpOrderArgs};
use crate::value_args::{SideArg, StpArg, TifArg};

/// Command-line client for the matchd order-entry protocol (docs/protocol.md).
///
/// Without --account/--secret, trader commands log in as the demo account alice (1, alice-demo)
/// and admin commands as the demo admin (0, admin-demo). An account has one session at a time, so
/// `listen` on an account blocks other commands on the same account while it runs.
///
/// A command waits for its answer (up to the larger of --timeout-ms and --wait-ms), then prints
/// what else arrives until --wait-ms after sending (`balances`: until the answer is complete).
#[derive(Debug, Parser)]
#[command(name = "matchctl", version, after_help = EXIT_HELP)]
pub struct Cli {
    /// Server address; for a replica set, its nodes' addresses comma-separated (the leader is
    /// found; without TLS).
    #[arg(long, global = true, default_value = "127.0.0.1:7001")]
    addr: String,
    /// Connect with TLS (to the server's `server.tls_listen`), trusting the CA certificates in
    /// this PEM file.
    #[arg(long, global = true, value_name = "PEM")]
    tls_ca: Option<std::path::PathBuf>,
    /// The name the server's TLS certificate must carry [default: the host part of --addr].
    #[arg(long, global = true, requires = "tls_ca", value_name = "NAME")]
    tls_server_name: Option<String>,
    /// Account id [default: 1, or 0 for an admin session].
    #[arg(long, global = true)]
    account: Option<u32>,
    /// The account's secret for the role [default: alice-demo, or admin-demo for an admin session].
    #[arg(long, global = true)]
    secret: Option<String>,
    /// Session role [default: admin for add-instrument, set-state, the account administration
    /// commands (create-account, deposit, withdraw, set-status, set-fee), the credential
    /// commands (set-credential, revoke-credential) and perp add, tier, margin-deposit,
    /// margin-withdraw and margin-debit, else trader].
    #[arg(long, global = true, value_enum)]
    role: Option<RoleArg>,
    /// Log in with this last seen sequence number and print the reports resent after it. Without
    /// it, the account's earlier reports are skipped (`history` starts from 0).
    #[arg(long, global = true, value_name = "N")]
    last_seen: Option<u64>,
    /// Print every message as one JSON object per line on stdout (session messages too): `type`
    /// is the message's name in docs/protocol.md, the other keys its fields; 64-bit integers are
    /// decimal strings (docs/operations.md, "JSON output").
    #[arg(long, global = true)]
    json: bool,
    /// How long to print the reports that follow the answer, in ms after sending.
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

/// The exit codes, for `--help` (docs/operations.md, "Exit codes", says the same).
const EXIT_HELP: &str = "\
Exit codes:
  0  done: the command was accepted (listen, history: the session ended normally)
  1  connection, timeout or I/O error, no answer in time, or the server ended the session
  2  usage error (bad arguments)
  3  login rejected (bad credentials, unknown account, already logged in ...)
  4  the exchange rejected the command (CommandRejected or SessionReject)";

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Send a buy order.
    Buy(OrderArgs),
    /// Send a sell order.
    Sell(OrderArgs),
    /// Send an OCO pair (one cancels the other): two of a maker leg (--limit-price), a
    /// take-profit (--take-profit-price) and a stop-loss (--stop-price) on one side and quantity.
    /// When one trades, fires or is cancelled, the other is cancelled (docs/matching.md, "Order
    /// lists"). The legs take client order ids --cid and --cid + 1.
    Oco(OcoArgs),
    /// Send an OTO (one triggers the other): a working limit order (--side, --price, --qty), and a
    /// pending leg (--then-...) placed once the working order has filled completely. Client order
    /// ids --cid (working) and --cid + 1.
    Oto(OtoArgs),
    /// Send an OTOCO: a working limit order, and an OCO pair (as `oco`'s flags, --then-side,
    /// --then-qty) placed once it has filled completely. Client order ids --cid, + 1, + 2.
    Otoco(OtocoArgs),
    /// Cancel one order.
    Cancel(RefArgs),
    /// Move an armed conditional order's trigger price.
    AmendTrigger {
        #[command(flatten)]
        order: RefArgs,
        /// New trigger price.
        #[arg(long)]
        trigger_price: u64,
    },
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
    /// Perpetual futures: the venue's commands (admin), the account's own, and the oracle's.
    #[command(subcommand)]
    Perp(PerpCmd),
}

#[derive(Debug, Args)]
pub struct TransferArgs {
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
    /// The transfer these arguments name.
    pub fn transfer(&self) -> Transfer {
        Transfer { target: self.target, asset: self.asset, amount: self.amount, tx_id: self.tx_id }
    }
}

#[derive(Debug, Args)]
struct OrderArgs {
    /// Instrument id.
    #[arg(long)]
    instrument: u32,
    /// Quantity, in the instrument's units (not with --quote-qty or --close-position).
    #[arg(long, required_unless_present_any = ["quote_qty", "close_position"], conflicts_with = "quote_qty")]
    qty: Option<u64>,
    /// A market order by quote quantity: trade at most this notional, in the quote asset's
    /// minor units (the engine turns it into a quantity; docs/matching.md, "Advanced orders").
    #[arg(long, value_name = "NOTIONAL")]
    quote_qty: Option<u64>,
    /// Good till date: the order expires at this time, in nanoseconds since the Unix epoch.
    #[arg(long, value_name = "NS", conflicts_with = "expire_in_ms")]
    expire_time_ns: Option<u64>,
    /// Good till date, relative: expires this many milliseconds from now (this machine's clock).
    #[arg(long, value_name = "MS")]
    expire_in_ms: Option<u64>,
    /// Iceberg: show at most this much of the order while it rests (a multiple of the lot,
    /// below --qty); each traded-out slice is replaced at the back of the level.
    #[arg(long, value_name = "QTY")]
    display_qty: Option<u64>,
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
    /// Make it a conditional order: armed until the last trade price reaches this price
    /// (docs/matching.md, "Conditional orders").
    #[arg(long, value_name = "PRICE")]
    trigger_price: Option<u64>,
    /// With --trigger-price: stop-loss (a buy fires on a rise to it, a sell on a fall) or
    /// take-profit (the other way).
    #[arg(long, value_enum, default_value = "stop-loss", requires = "trigger_price")]
    trigger: TriggerArg,
    /// Trailing stop-loss: the trigger follows the best last trade price since arming (the
    /// highest for a sell, the lowest for a buy) at this many ticks (docs/matching.md,
    /// "Trailing stops").
    #[arg(long, value_name = "TICKS", conflicts_with_all = ["trigger_price", "trailing_bps"])]
    trailing_ticks: Option<u32>,
    /// Trailing stop-loss with the distance in basis points of that best price (1-5000).
    #[arg(long, value_name = "BPS", conflicts_with = "trigger_price")]
    trailing_bps: Option<u32>,
    #[command(flatten)]
    perp: PerpOrderArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TriggerArg {
    StopLoss,
    TakeProfit,
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
pub struct AddInstrumentArgs {
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

impl AddInstrumentArgs {
    /// The spec these arguments name (`add-instrument`, `perp add`).
    pub fn spec(&self) -> Result<InstrumentSpec, String> {
        let symbol = InstrumentSpec::symbol_from_str(&self.symbol)
            .ok_or_else(|| format!("bad --symbol {:?}: 1 to 16 printable ASCII characters", self.symbol))?;
        Ok(InstrumentSpec {
            id: self.id,
            symbol,
            base_asset: self.base,
            quote_asset: self.quote,
            tick: self.tick,
            lot: self.lot,
            min_qty: self.min_qty,
            max_qty: self.max_qty,
            min_notional: self.min_notional,
            price_band_bps: self.band_bps,
            reference_price: self.ref_price,
            qty_scale: self.qty_scale,
        })
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TypeArg {
    Limit,
    Market,
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

/// What to send once logged in.
pub enum Action {
    /// Send this message.
    Send(ClientMessage),
    /// Send this order, with the client's next client order id unless one is given: a
    /// `NewOrder`, a `NewStopOrder` when it has only a trigger, a `NewAdvancedOrder` when it has
    /// an expiry, a quote quantity, an iceberg, a trailing stop or a perpetual's flag.
    NewOrder(AdvancedOrder, Option<u64>),
    /// Send this order list, its first leg's client order id the given one or the client's next.
    OrderList(OrderList, Option<u64>),
    /// Print every report until the server logs out, or for this long.
    Listen(Option<Duration>),
    /// Print the resent reports and log out.
    History,
    /// QueryAccount for this account (the session's if `None`): print until `QueryDone`.
    Query(Option<u32>),
    /// Send this `SetCredential`, then print the generated secret (`None`: read from stdin).
    SetCredential(ClientMessage, Option<String>),
}

/// TLS to the server: the CA certificates to trust and the name to check.
pub struct TlsTarget {
    /// PEM file with the CA certificates.
    pub ca_pem: std::path::PathBuf,
    /// The name the server's certificate must carry.
    pub server_name: String,
}

/// The session the command line asks for.
pub struct Session {
    /// Server address.
    pub addr: String,
    /// `--tls-ca`: connect with TLS.
    pub tls: Option<TlsTarget>,
    /// Account, credential and role.
    pub account: u32,
    /// The credential.
    pub secret: String,
    /// The role.
    pub role: Role,
    /// What to ask for.
    pub cancel_on_disconnect: CancelOnDisconnect,
    /// The login's `last_seen_seq`.
    pub last_seen_seq: u64,
    /// Print the reports resent after `last_seen_seq` (else skip them).
    pub print_resends: bool,
    /// `--wait-ms`.
    pub wait: Duration,
    /// `--timeout-ms` (at least 1 ms).
    pub timeout: Duration,
    /// `--json`.
    pub json: bool,
}

impl Cli {
    /// The session and the action, or a usage error.
    pub fn plan(self) -> Result<(Session, Action), String> {
        let admin_cmd = matches!(
            self.cmd,
            Cmd::AddInstrument(_)
                | Cmd::SetState { .. }
                | Cmd::CreateAccount { .. }
                | Cmd::Deposit(_)
                | Cmd::Withdraw(_)
                | Cmd::SetStatus { .. }
                | Cmd::SetFee { .. }
                | Cmd::SetCredential { .. }
                | Cmd::RevokeCredential { .. }
        ) || matches!(&self.cmd, Cmd::Perp(p) if p.is_admin());
        let role = self.role.unwrap_or(if admin_cmd { RoleArg::Admin } else { RoleArg::Trader });
        let (role, default_account, default_secret) = match role {
            RoleArg::Trader => (Role::Trader, 1, "alice-demo"),
            RoleArg::Admin => (Role::Admin, 0, "admin-demo"),
        };
        let is_listen = matches!(self.cmd, Cmd::Listen { .. });
        let is_history = matches!(self.cmd, Cmd::History);
        let cancel_on_disconnect = match self.cancel_on_disconnect {
            Some(CodArg::On) => CancelOnDisconnect::Enabled,
            Some(CodArg::Off) => CancelOnDisconnect::Disabled,
            Some(CodArg::Default) => CancelOnDisconnect::Default,
            None if is_listen || is_history => CancelOnDisconnect::Disabled,
            None => CancelOnDisconnect::Default,
        };
        let tls = self.tls_ca.map(|ca_pem| TlsTarget {
            ca_pem,
            server_name: self.tls_server_name.unwrap_or_else(|| host_of(&self.addr).to_string()),
        });
        let session = Session {
            tls,
            addr: self.addr,
            account: self.account.unwrap_or(default_account),
            secret: self.secret.unwrap_or_else(|| default_secret.to_string()),
            role,
            cancel_on_disconnect,
            last_seen_seq: self.last_seen.unwrap_or(0),
            print_resends: self.last_seen.is_some() || is_history,
            wait: Duration::from_millis(self.wait_ms),
            timeout: Duration::from_millis(self.timeout_ms.max(1)),
            json: self.json,
        };
        Ok((session, action(self.cmd)?))
    }
}

fn new_order(side: Side, a: OrderArgs) -> Result<Action, String> {
    let order_type = a.order_type.unwrap_or(if a.price.is_some() { TypeArg::Limit } else { TypeArg::Market });
    let price = match (order_type, a.price) {
        (TypeArg::Limit, Some(p)) => p,
        (TypeArg::Limit, None) => return Err("a limit order needs --price".into()),
        (TypeArg::Market, None) => 0,
        (TypeArg::Market, Some(_)) => return Err("a market order takes no --price".into()),
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
    let qty = a.qty.unwrap_or(0);
    let order = NewOrder { client_order_id: 0, instrument: a.instrument, side, order_type, tif, stp, price, qty };
    let trailing = match (a.trailing_ticks, a.trailing_bps) {
        (Some(delta), _) => Some(Trailing { delta, unit: TrailUnit::Ticks }),
        (None, Some(delta)) => Some(Trailing { delta, unit: TrailUnit::Bps }),
        (None, None) => None,
    };
    let trigger = match (a.trigger_price, trailing) {
        // A trailing stop is a stop-loss whose trigger price the engine computes.
        (None, Some(_)) => Some((0, TriggerKind::StopLoss)),
        (p, _) => p.map(|p| {
            let kind = match a.trigger {
                TriggerArg::StopLoss => TriggerKind::StopLoss,
                TriggerArg::TakeProfit => TriggerKind::TakeProfit,
            };
            (p, kind)
        }),
    };
    let expire_time_ns = match (a.expire_time_ns, a.expire_in_ms) {
        (Some(ns), _) => ns,
        (None, Some(ms)) => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            (now as u64).saturating_add(ms.saturating_mul(1_000_000))
        }
        (None, None) => 0,
    };
    let quote_qty = a.quote_qty.unwrap_or(0);
    let display_qty = a.display_qty.unwrap_or(0);
    let (reduce_only, close_position) = (a.perp.reduce_only, a.perp.close_position);
    let trigger_source = a.perp.trigger_by.into();
    let advanced = AdvancedOrder {
        order,
        expire_time_ns,
        quote_qty,
        trigger,
        display_qty,
        trailing,
        reduce_only,
        close_position,
        trigger_source,
    };
    Ok(Action::NewOrder(advanced, a.cid))
}

fn action(cmd: Cmd) -> Result<Action, String> {
    Ok(match cmd {
        Cmd::Buy(a) => return new_order(Side::Buy, a),
        Cmd::Sell(a) => return new_order(Side::Sell, a),
        Cmd::Oco(a) => return a.list().map(|(l, cid)| Action::OrderList(l, cid)),
        Cmd::Oto(a) => return a.list().map(|(l, cid)| Action::OrderList(l, cid)),
        Cmd::Otoco(a) => return a.list().map(|(l, cid)| Action::OrderList(l, cid)),
        Cmd::Cancel(r) => Action::Send(ClientMessage::Cancel(Cancel { order: r.order_ref() })),
        Cmd::AmendTrigger { order, trigger_price } => {
            Action::Send(ClientMessage::AmendTrigger(AmendTrigger { order: order.order_ref(), trigger_price }))
        }
        Cmd::Amend { order, qty, price } => {
            if qty.is_none() && price.is_none() {
                return Err("amend needs --qty and/or --price".into());
            }
            Action::Send(ClientMessage::Amend(Amend { order: order.order_ref(), new_qty: qty, new_price: price }))
        }
        Cmd::MassCancel { instrument, side } => {
            Action::Send(ClientMessage::MassCancel(MassCancel { instrument, side: side.map(Side::from) }))
        }
        Cmd::Listen { for_ms } => Action::Listen(for_ms.map(Duration::from_millis)),
        Cmd::History => Action::History,
        Cmd::AddInstrument(a) => Action::Send(ClientMessage::AddInstrument(a.spec()?)),
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
        Cmd::Perp(p) => Action::Send(p.message()?),
    })
}

/// `set-credential`: a random salt and a generated (or stdin's) secret, hashed as the gateway
/// checks a login (`client::credential_hash`).
fn set_credential(target: u32, secret_stdin: bool) -> Result<Action, String> {
    let random =
        |buf: &mut [u8]| getrandom::fill(buf).map_err(|e| format!("no randomness from the operating system: {e}"));
    let (secret, shown) = if secret_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| format!("reading the secret: {e}"))?;
        (line.trim_end_matches(['\n', '\r']).to_string(), None)
    } else {
        let mut bytes = [0u8; 16];
        random(&mut bytes)?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        (secret.clone(), Some(secret))
    };
    let mut salt = [0u8; engine::CREDENTIAL_SALT_BYTES];
    random(&mut salt)?;
    let hash = client::credential_hash(&salt, secret.as_bytes()).map_err(|e| e.to_string())?;
    let msg = ClientMessage::SetCredential(engine::SetCredential { target, salt, hash });
    Ok(Action::SetCredential(msg, shown))
}

/// The host part of `host:port` or `[v6]:port`: the name a TLS certificate is checked against.
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}
