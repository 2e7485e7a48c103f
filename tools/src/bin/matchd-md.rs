//! `matchd-md`: a market-data client for matchd (`docs/protocol.md`, "Market data"). It
//! subscribes (no credential) and either prints every feed message, one line each (`tail`), or
//! rebuilds the books with the documented client algorithm and prints one instrument's book
//! whenever its top of book changes (`book`), or prints one snapshot and exits (`snapshot`).
//!
//! Exit codes: 0 done, 1 connection error, 2 usage error, 3 subscription refused.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use client::md_client::{describe, Applied, MdClient, MdFeed};
use client::ClientError;
use engine::Side;
use protocol::{MdServerMessage, MdSubscribe};

/// Market-data client for matchd.
#[derive(Debug, Parser)]
#[command(name = "matchd-md", version)]
struct Cli {
    /// Server address (`server.listen`, or `market_data.listen`).
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
    #[command(subcommand)]
    cmd: Cmd,
}

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

fn run(cli: &Cli) -> Result<(), ClientError> {
    let timeout = Duration::from_millis(cli.timeout_ms);
    let sub = MdSubscribe { heartbeat_interval_ms: 0, order_by_order: cli.orders };
    let deadline = (cli.duration_s > 0).then(|| Instant::now() + Duration::from_secs(cli.duration_s));
    let over = || deadline.is_some_and(|d| Instant::now() >= d);
    match cli.cmd {
        Cmd::Tail => {
            let mut c = MdClient::connect(&cli.addr, timeout)?;
            let a = c.subscribe(sub)?;
            println!("{}", describe(&MdServerMessage::SubscribeAccepted(a)));
            while !over() {
                match c.recv(Duration::from_millis(100)) {
                    Ok(Some(MdServerMessage::Heartbeat)) | Ok(None) => {}
                    Ok(Some(m)) => println!("{}", describe(&m)),
                    Err(ClientError::Closed) => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            let _ = c.logout();
        }
        Cmd::Book { instrument, depth } => {
            let mut feed = MdFeed::connect(&cli.addr, timeout, sub)?;
            while !over() {
                let step = match feed.step(Duration::from_millis(100)) {
                    Ok(s) => s,
                    Err(ClientError::Closed) => return Ok(()),
                    Err(e) => return Err(e),
                };
                let Some((msg, result)) = step else { continue };
                if let Err(gap) = result {
                    eprintln!("{gap}; resyncing");
                    continue;
                }
                let show = msg.instrument() == Some(instrument)
                    && matches!((&msg, result), (MdServerMessage::TopOfBook(_), _) | (_, Ok(Applied::Synced)));
                if show && feed.books.is_synced(instrument) {
                    let b = feed.books.book(instrument).expect("synced");
                    println!("instrument {instrument} seq {}", b.seq);
                    let asks = b.levels(Side::Sell);
                    for (p, q, n) in asks.iter().take(depth).rev() {
                        println!("  ask {p:>14} {q:>14} ({n})");
                    }
                    for (p, q, n) in b.levels(Side::Buy).iter().take(depth) {
                        println!("  bid {p:>14} {q:>14} ({n})");
                    }
                }
            }
            let _ = feed.client.logout();
        }
        Cmd::Snapshot { instrument, depth } => {
            let mut c = MdClient::connect(&cli.addr, timeout)?;
            c.subscribe(sub)?;
            c.request_snapshot(instrument, depth, cli.orders)?;
            loop {
                match c.recv(timeout)? {
                    Some(m @ (MdServerMessage::SnapshotLevel(_) | MdServerMessage::SnapshotOrder(_))) => {
                        println!("{}", describe(&m))
                    }
                    Some(m @ (MdServerMessage::SnapshotEnd(_) | MdServerMessage::SnapshotRejected(_))) => {
                        println!("{}", describe(&m));
                        break;
                    }
                    Some(_) => {}
                    None => return Err(ClientError::Timeout),
                }
            }
            let _ = c.logout();
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ ClientError::SubscribeRejected { .. }) => {
            eprintln!("matchd-md: {e}");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("matchd-md: {e}");
            ExitCode::from(1)
        }
    }
}
