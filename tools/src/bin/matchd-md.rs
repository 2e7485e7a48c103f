//! `matchd-md`: a market-data client for matchd (`docs/protocol.md`, "Market data"). It
//! subscribes (no credential) and either prints every feed message, one line each (`tail`), or
//! rebuilds the books with the documented client algorithm and prints one instrument's book
//! whenever its top of book changes (`book`), or prints one snapshot and exits (`snapshot`).
//! With `--json`, one JSON object a line instead (`tools::market_data_json`).
//!
//! Exit codes (`matchd-md --help`, docs/operations.md "Exit codes"): 0 done, 1 connection error
//! or the server ended the session other than by shutting down, 2 usage error, 3 subscription
//! refused, 4 the server refused the request (`MdSnapshotRejected`, `SessionReject`).

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use client::md_client::{describe, Applied, Book, MdClient, MdFeed};
use client::ClientError;
use engine::{InstrumentId, Side};
use protocol::{LogoutReason, MdServerMessage, MdSubscribe};
use tools::market_data_json::{book as book_json, md_message};

/// Market-data client for matchd.
#[derive(Debug, Parser)]
#[command(name = "matchd-md", version, after_help = EXIT_HELP)]
struct Cli {
    /// Server address (`server.listen`, or `market_data.listen`); several comma-separated (a
    /// replica set's nodes, which all serve market data): the first that answers is used.
    #[arg(long, global = true, default_value = "127.0.0.1:7001")]
    addr: String,
    /// Order-by-order messages too.
    #[arg(long, global = true)]
    orders: bool,
    /// Stop after this many seconds (0 = run until the server closes).
    #[arg(long, global = true, default_value_t = 0, value_name = "S")]
    duration_s: u64,
    /// Connect / subscribe timeout, in ms.
    #[arg(long, global = true, default_value_t = 5000, value_name = "MS")]
    timeout_ms: u64,
    /// Print one JSON object per line: `type` is the message's name in docs/protocol.md (`Book`
    /// for `book`'s view), the other keys its fields; 64-bit integers are decimal strings
    /// (docs/operations.md, "JSON output").
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

/// The exit codes, for `--help` (docs/operations.md, "Exit codes", says the same).
const EXIT_HELP: &str = "\
Exit codes:
  0  done (tail, book: the time is up or the server shut down)
  1  connection, timeout or I/O error, or the server ended the session (e.g. SlowConsumer)
  2  usage error (bad arguments)
  3  subscription refused (MdSubscribeRejected)
  4  the server refused the request (MdSnapshotRejected, SessionReject)";

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Print every message (heartbeats left out).
    Tail,
    /// Keep every book; print INSTRUMENT's top DEPTH levels whenever its top of book changes.
    Book {
        /// Instrument id.
        instrument: u32,
        /// Levels per side to print.
        #[arg(long, default_value_t = 5)]
        depth: usize,
    },
    /// Print one snapshot of INSTRUMENT and exit.
    Snapshot {
        /// Instrument id.
        instrument: u32,
        /// Levels per side (0 = the server's maximum).
        #[arg(long, default_value_t = 0)]
        depth: u32,
    },
}

/// Why matchd-md ends with a non-zero exit code.
#[derive(Debug)]
enum Failure {
    /// A client error (connection, timeout, I/O, subscription refused).
    Client(ClientError),
    /// The server ended the session for this reason.
    LoggedOut(LogoutReason),
    /// The server refused the request (exit 4).
    Refused(String),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        Failure::Client(e)
    }
}

/// Prints lines on stdout; a closed stdout (e.g. `| head`) ends the program quietly.
struct Output {
    json: bool,
}

impl Output {
    fn message(&self, m: &MdServerMessage) {
        if self.json {
            line(&md_message(m).to_string())
        } else {
            line(&describe(m))
        }
    }

    fn book(&self, instrument: InstrumentId, b: &Book, depth: usize) {
        if self.json {
            return line(&book_json(instrument, b, depth).to_string());
        }
        line(&format!("instrument {instrument} seq {}", b.seq));
        for (p, q, n) in b.levels(Side::Sell).iter().take(depth).rev() {
            line(&format!("  ask {p:>14} {q:>14} ({n})"));
        }
        for (p, q, n) in b.levels(Side::Buy).iter().take(depth) {
            line(&format!("  bid {p:>14} {q:>14} ({n})"));
        }
    }
}

fn line(l: &str) {
    let mut o = std::io::stdout().lock();
    if writeln!(o, "{l}").and_then(|()| o.flush()).is_err() {
        std::process::exit(0);
    }
}

/// What a `Logout` from the server means for the exit code: a shutdown (or our own logout's
/// answer) ends the run normally, anything else is a failure.
fn logged_out(reason: LogoutReason) -> Result<(), Failure> {
    match reason {
        LogoutReason::UserRequest | LogoutReason::ServerShutdown => Ok(()),
        r => Err(Failure::LoggedOut(r)),
    }
}

fn tail(conn: &Connection, out: &Output, over: impl Fn() -> bool) -> Result<(), Failure> {
    let mut c = conn.first(|a| MdClient::connect(a, conn.timeout))?;
    let a = c.subscribe(conn.sub)?;
    out.message(&MdServerMessage::SubscribeAccepted(a));
    let mut logout = None;
    while !over() {
        match c.recv(Duration::from_millis(100)) {
            Ok(Some(MdServerMessage::Heartbeat)) | Ok(None) => {}
            Ok(Some(m)) => {
                out.message(&m);
                if let MdServerMessage::Logout(l) = m {
                    logout = Some(l.reason);
                }
            }
            Err(ClientError::Closed) => return logout.map_or(Err(ClientError::Closed.into()), logged_out),
            Err(e) => return Err(e.into()),
        }
    }
    let _ = c.logout();
    Ok(())
}

/// Where and how to connect.
struct Connection<'a> {
    addr: &'a str,
    timeout: Duration,
    sub: MdSubscribe,
}

impl Connection<'_> {
    /// `connect` to the first of the comma-separated addresses that answers: every node of a
    /// replica set serves market data (followers too), so any one will do.
    fn first<T>(&self, connect: impl Fn(&str) -> Result<T, ClientError>) -> Result<T, ClientError> {
        let mut last = ClientError::Timeout;
        for a in self.addr.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            match connect(a) {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

fn book(
    conn: &Connection,
    out: &Output,
    over: impl Fn() -> bool,
    instrument: InstrumentId,
    depth: usize,
) -> Result<(), Failure> {
    let mut feed = conn.first(|a| MdFeed::connect(a, conn.timeout, conn.sub))?;
    let mut logout = None;
    while !over() {
        let step = match feed.step(Duration::from_millis(100)) {
            Ok(s) => s,
            Err(ClientError::Closed) => return logout.map_or(Err(ClientError::Closed.into()), logged_out),
            Err(e) => return Err(e.into()),
        };
        let Some((msg, result)) = step else { continue };
        if let MdServerMessage::Logout(l) = msg {
            logout = Some(l.reason);
        }
        if let Err(gap) = result {
            eprintln!("{gap}; resyncing");
            continue;
        }
        let show = msg.instrument() == Some(instrument)
            && matches!((&msg, result), (MdServerMessage::TopOfBook(_), _) | (_, Ok(Applied::Synced)));
        if show && feed.books.is_synced(instrument) {
            if let Some(b) = feed.books.book(instrument) {
                out.book(instrument, b, depth);
            }
        }
    }
    let _ = feed.client.logout();
    Ok(())
}

fn snapshot(conn: &Connection, out: &Output, instrument: InstrumentId, depth: u32) -> Result<(), Failure> {
    let mut c = conn.first(|a| MdClient::connect(a, conn.timeout))?;
    c.subscribe(conn.sub)?;
    c.request_snapshot(instrument, depth, conn.sub.order_by_order)?;
    let result = loop {
        match c.recv(conn.timeout)? {
            Some(m @ (MdServerMessage::SnapshotLevel(_) | MdServerMessage::SnapshotOrder(_))) => out.message(&m),
            Some(m @ MdServerMessage::SnapshotEnd(_)) => {
                out.message(&m);
                break Ok(());
            }
            Some(m @ (MdServerMessage::SnapshotRejected(_) | MdServerMessage::SessionReject(_))) => {
                out.message(&m);
                break Err(Failure::Refused(describe(&m)));
            }
            // Before the snapshot ended: a failure whatever the reason.
            Some(MdServerMessage::Logout(l)) => return Err(Failure::LoggedOut(l.reason)),
            Some(_) => {}
            None => return Err(ClientError::Timeout.into()),
        }
    };
    let _ = c.logout();
    result
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    let conn = Connection {
        addr: &cli.addr,
        timeout: Duration::from_millis(cli.timeout_ms),
        sub: MdSubscribe { heartbeat_interval_ms: 0, order_by_order: cli.orders },
    };
    let deadline = (cli.duration_s > 0).then(|| Instant::now() + Duration::from_secs(cli.duration_s));
    let over = || deadline.is_some_and(|d| Instant::now() >= d);
    let result = match cli.cmd {
        Cmd::Tail => tail(&conn, &out, over),
        Cmd::Book { instrument, depth } => book(&conn, &out, over, instrument, depth),
        Cmd::Snapshot { instrument, depth } => snapshot(&conn, &out, instrument, depth),
    };
    let (code, message) = match result {
        Ok(()) => return ExitCode::SUCCESS,
        Err(Failure::Client(e @ ClientError::SubscribeRejected { .. })) => (3, e.to_string()),
        Err(Failure::Client(e)) => (1, e.to_string()),
        Err(Failure::LoggedOut(r)) => (1, format!("the server ended the session: {r:?}")),
        Err(Failure::Refused(m)) => (4, format!("the server refused the request: {m}")),
    };
    eprintln!("matchd-md: {message}");
    ExitCode::from(code)
}
