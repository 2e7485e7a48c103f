//! `matchctl`: a command-line client for matchd. Every command connects, logs in, sends one
//! message, waits for its answer, prints what arrives until `--wait-ms` after sending (one line
//! a message, or one JSON object a line with `--json`), and logs out. The exit code says how the
//! command fared, so scripts need not read the output (`matchctl --help`; docs/operations.md,
//! "Exit codes"): [`EXIT_OK`], [`EXIT_IO`], [`EXIT_USAGE`], [`EXIT_LOGIN`], [`EXIT_REJECTED`].

mod answer;
mod cli;
mod lists;
mod perp;
mod value_args;

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use client::{describe, Client, ClientError, LoginParams};
use protocol::{ClientMessage, LoginRejected, LogoutReason, ServerMessage};
use tools::order_entry_json::server_message as message_json;

use answer::{Expected, Verdict};
use cli::{Action, Cli, Session};

/// The command was accepted (the query answered; `listen` and `history` ended normally).
const EXIT_OK: u8 = 0;
/// Connection, timeout or I/O error, no answer in time, or the server ended the session.
const EXIT_IO: u8 = 1;
/// Bad arguments (clap's own usage errors exit 2 as well).
const EXIT_USAGE: u8 = 2;
/// The login was rejected (bad credentials, unknown account, already logged in ...).
const EXIT_LOGIN: u8 = 3;
/// The exchange rejected the command (`CommandRejected` or `SessionReject`).
const EXIT_REJECTED: u8 = 4;

/// Why matchctl ends with a non-zero exit code, with the line it prints on stderr.
enum Failure {
    Usage(String),
    Io(String),
    Login(String),
    Rejected(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Io(_) => EXIT_IO,
            Failure::Login(_) => EXIT_LOGIN,
            Failure::Rejected(_) => EXIT_REJECTED,
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Io(m) | Failure::Login(m) | Failure::Rejected(m) => m,
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        match e {
            ClientError::LoginRejected { .. } => Failure::Login(e.to_string()),
            e => Failure::Io(e.to_string()),
        }
    }
}

/// Where messages go. Text: reports and session rejects on stdout, session events on stderr.
/// JSON: every message on stdout, one object a line. Heartbeats never.
struct Output {
    json: bool,
    /// Stdout was closed (e.g. `| head`): print nothing more, but finish the command so the exit
    /// code still tells how it fared.
    stdout_closed: bool,
}

impl Output {
    /// Prints `msg`; returns the reason of a `Logout`.
    fn show(&mut self, msg: &ServerMessage) -> Option<LogoutReason> {
        match msg {
            ServerMessage::Heartbeat => {}
            m if self.json => self.line(&message_json(m).to_string()),
            ServerMessage::Logout(_) | ServerMessage::LoginAccepted(_) | ServerMessage::LoginRejected(_) => {
                eprintln!("{}", describe(msg))
            }
            ServerMessage::Report { .. } | ServerMessage::SessionReject(_) => self.line(&describe(msg)),
        }
        match msg {
            ServerMessage::Logout(l) => Some(l.reason),
            _ => None,
        }
    }

    fn line(&mut self, line: &str) {
        if self.stdout_closed {
            return;
        }
        let mut o = std::io::stdout().lock();
        self.stdout_closed = writeln!(o, "{line}").and_then(|()| o.flush()).is_err();
    }
}

fn main() -> ExitCode {
    let result = Cli::parse().plan().map_err(Failure::Usage).and_then(|(session, action)| {
        let mut out = Output { json: session.json, stdout_closed: false };
        run(&session, action, &mut out)
    });
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(f) => {
            eprintln!("matchctl: {}", f.message());
            ExitCode::from(f.exit_code())
        }
    }
}

fn run(s: &Session, action: Action, out: &mut Output) -> Result<(), Failure> {
    let mut client = log_in(s, out)?;
    let (still_open, verdict) = match action {
        Action::History => (true, Verdict::Accepted),
        Action::Listen(for_ms) => (pump(&mut client, out, for_ms.map(|d| Instant::now() + d))?, Verdict::Accepted),
        Action::Send(msg) => command(&mut client, out, s, msg)?,
        Action::NewOrder(mut a, cid) => {
            a.order.client_order_id = cid.unwrap_or_else(|| client.next_client_order_id());
            let msg = match a {
                _ if a.expire_time_ns != 0
                    || a.quote_qty != 0
                    || a.display_qty != 0
                    || a.trailing.is_some()
                    || a.reduce_only
                    || a.close_position
                    || a.trigger_source != engine::TriggerSource::LastPrice =>
                {
                    ClientMessage::NewAdvancedOrder(a)
                }
                engine::AdvancedOrder { order, trigger: None, .. } => ClientMessage::NewOrder(order),
                engine::AdvancedOrder { order, trigger: Some((trigger_price, trigger)), .. } => {
                    ClientMessage::NewStopOrder(engine::StopOrder { order, trigger_price, trigger })
                }
            };
            command(&mut client, out, s, msg)?
        }
        Action::OrderList(mut l, cid) => {
            l.client_order_id = cid.unwrap_or_else(|| client.next_client_order_id());
            command(&mut client, out, s, ClientMessage::NewOrderList(l))?
        }
        Action::Query(target) => {
            let query = engine::QueryAccount { target: target.unwrap_or(s.account) };
            command(&mut client, out, s, ClientMessage::QueryAccount(query))?
        }
        Action::SetCredential(msg, shown) => {
            if let (Some(secret), ClientMessage::SetCredential(c)) = (&shown, &msg) {
                // Only here, once: the server keeps the salted hash alone. A rejection after this
                // (and a non-zero exit) means the secret was not set.
                let fingerprint = protocol::credential_fingerprint(&c.hash);
                let line = if out.json {
                    serde_json::json!({
                        "type": "Secret",
                        "account": c.target,
                        "secret": secret,
                        "fingerprint": format!("{fingerprint:016x}"),
                    })
                    .to_string()
                } else {
                    format!("SECRET account={} secret={secret} fingerprint={fingerprint:016x}", c.target)
                };
                out.line(&line);
            }
            command(&mut client, out, s, msg)?
        }
    };
    if still_open {
        for m in client.logout_and_drain(s.wait.max(Duration::from_secs(1)))? {
            out.show(&m);
        }
    }
    match verdict {
        Verdict::Accepted => Ok(()),
        Verdict::Rejected(why) => Err(Failure::Rejected(format!("the exchange rejected the command: {why}"))),
    }
}

/// Connects, logs in and reads the reports resent after `last_seen_seq`. Over plain TCP, `--addr`
/// may list a replica set's nodes (comma-separated): the one that leads is found, following the
/// `NotLeader` answers of the others.
fn log_in(s: &Session, out: &mut Output) -> Result<Client, Failure> {
    let login = LoginParams {
        account: s.account,
        credential: s.secret.as_bytes(),
        role: s.role,
        last_seen_seq: s.last_seen_seq,
        heartbeat_interval_ms: 0,
        cancel_on_disconnect: s.cancel_on_disconnect,
    };
    let rejected = |e: ClientError, out: &mut Output| match e {
        ClientError::LoginRejected { reason, highest_seq, oldest_available_seq, leader } => {
            let r = LoginRejected { account: s.account, reason, highest_seq, oldest_available_seq, leader };
            out.show(&ServerMessage::LoginRejected(r));
            Failure::Login(format!("account {}: {e}", s.account))
        }
        e => Failure::Io(format!("cannot connect to {} or log in: {e}", s.addr)),
    };
    let (mut client, accepted) = match &s.tls {
        None => {
            let nodes = resolve_nodes(&s.addr)?;
            // A replica set gets time for an election; a single server the usual timeout.
            let deadline = if nodes.len() > 1 { s.timeout.max(Duration::from_secs(10)) } else { s.timeout };
            let l = client::connect_leader(&nodes, login, s.timeout, deadline).map_err(|e| rejected(e, out))?;
            (l.client, l.accepted)
        }
        Some(t) => {
            let pem = std::fs::read(&t.ca_pem)
                .map_err(|e| Failure::Usage(format!("--tls-ca {}: {e}", t.ca_pem.display())))?;
            let config = client::tls_config(&pem).map_err(|e| Failure::Usage(format!("--tls-ca: {e}")))?;
            let mut client = Client::connect_tls(s.addr.as_str(), &t.server_name, config, s.timeout)
                .map_err(|e| Failure::Io(format!("cannot connect to {}: {e}", s.addr)))?;
            let accepted = client.login(login).map_err(|e| rejected(e, out))?;
            (client, accepted)
        }
    };
    out.show(&ServerMessage::LoginAccepted(accepted));
    catch_up(&mut client, out, accepted.highest_seq, s.print_resends, s.timeout)?;
    Ok(client)
}

/// `--addr`: one address or a comma-separated list (a replica set's nodes), names resolved.
fn resolve_nodes(addrs: &str) -> Result<Vec<std::net::SocketAddr>, Failure> {
    use std::net::ToSocketAddrs as _;
    let mut out = Vec::new();
    for a in addrs.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        let resolved = a.to_socket_addrs().map_err(|e| Failure::Usage(format!("--addr {a}: {e}")))?;
        out.extend(resolved.take(1));
    }
    if out.is_empty() {
        return Err(Failure::Usage(format!("--addr {addrs:?}: no address")));
    }
    Ok(out)
}

/// Sends `msg` and prints every message until its answer (a [`Failure::Io`] if none comes within
/// the larger of the timeout and the wait), then until the wait after sending has passed (a
/// query stops at its answer). Returns whether the session is still open, and the verdict.
fn command(client: &mut Client, out: &mut Output, s: &Session, msg: ClientMessage) -> Result<(bool, Verdict), Failure> {
    let expected = Expected::for_message(&msg).ok_or_else(|| Failure::Usage(format!("not a command: {msg:?}")))?;
    let sent_at = Instant::now();
    client.send(&msg)?;
    let answer_by = sent_at + s.timeout.max(s.wait);
    let verdict = loop {
        let Some(m) = client.recv(answer_by.saturating_duration_since(Instant::now()))? else {
            return Err(Failure::Io(format!("no answer within {} ms", s.timeout.max(s.wait).as_millis())));
        };
        if let Some(reason) = out.show(&m) {
            return Err(Failure::Io(format!("the server ended the session before answering: {reason:?}")));
        }
        if let Some(v) = expected.verdict(&m) {
            break v;
        }
    };
    if matches!(msg, ClientMessage::QueryAccount(_)) {
        return Ok((true, verdict));
    }
    Ok((pump(client, out, Some(sent_at + s.wait))?, verdict))
}

/// Prints every message until `until` passes (`Ok(true)`) or the server logs out (`Ok(false)`
/// after a user-requested logout, `Err` for any other reason).
fn pump(client: &mut Client, out: &mut Output, until: Option<Instant>) -> Result<bool, Failure> {
    loop {
        let wait = match until {
            Some(t) => t.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        match client.recv(wait)? {
            None if until.is_some() => return Ok(true),
            None => {}
            Some(m) => {
                if let Some(reason) = out.show(&m) {
                    return match reason {
                        LogoutReason::UserRequest => Ok(false),
                        r => Err(Failure::Io(format!("the server ended the session: {r:?}"))),
                    };
                }
            }
        }
    }
}

/// Reads the reports resent after the login (up to its `highest_seq`), printing them if `print`.
fn catch_up(
    client: &mut Client,
    out: &mut Output,
    highest_seq: u64,
    print: bool,
    idle: Duration,
) -> Result<(), Failure> {
    while client.last_seen_seq() < highest_seq {
        match client.recv(idle)? {
            None => {
                return Err(Failure::Io(format!("resend stalled at seq {} of {highest_seq}", client.last_seen_seq())))
            }
            Some(m) => {
                if print || !matches!(m, ServerMessage::Report { .. }) {
                    if let Some(r) = out.show(&m) {
                        return Err(Failure::Io(format!("the server ended the session: {r:?}")));
                    }
                }
            }
        }
    }
    Ok(())
}
