//! `matchd-journal`: offline inspection, verification, replay and export of a matchd data
//! directory (journal in `<data>/journal`, snapshots in `<data>/snapshots`). Read-only except
//! `prune`. See `docs/operations.md` ("The journal tool").
//!
//! Exit codes: [`EXIT_OK`], [`EXIT_CORRUPT`], [`EXIT_USAGE`], [`EXIT_TORN_TAIL`], [`EXIT_ERROR`].

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

mod compare;
mod dump;
mod export;
mod inspect;
mod prune;
pub mod render;
mod replay;
pub mod scan;
mod state;
pub mod timefmt;
mod verify;

/// Success.
pub const EXIT_OK: i32 = 0;
/// The data is damaged: the journal is corrupt (matchd refuses to start: a bad record or segment,
/// damage at or below the durable watermark, a missing segment), acknowledged records are lost (a
/// snapshot beyond the journal's end under batch or interval durability), a payload does not
/// decode, the replay's state hash differs from a snapshot's, or a snapshot is invalid.
pub const EXIT_CORRUPT: i32 = 1;
/// Bad arguments.
pub const EXIT_USAGE: i32 = 2;
/// Everything checked is valid but the journal ends in a torn tail (a write cut by a crash or
/// power loss above the durable watermark), which matchd's recovery cuts at the next start
/// (`verify`, `inspect`, and `dump`/`export` when they read to that end).
pub const EXIT_TORN_TAIL: i32 = 3;
/// Operational error: the data directory or journal is missing, an I/O error, or the request
/// cannot be met (e.g. `--to` beyond the journal, an unknown instrument).
pub const EXIT_ERROR: i32 = 4;

/// An error with its exit code.
#[derive(Debug)]
pub struct ToolError {
    /// Exit code.
    pub code: i32,
    /// What happened (names file, offset and sequence where they apply).
    pub message: String,
}

impl ToolError {
    /// Corruption or a verification failure ([`EXIT_CORRUPT`]).
    pub fn corrupt(message: impl Into<String>) -> Self {
        ToolError { code: EXIT_CORRUPT, message: message.into() }
    }
    /// Bad arguments ([`EXIT_USAGE`]).
    pub fn usage(message: impl Into<String>) -> Self {
        ToolError { code: EXIT_USAGE, message: message.into() }
    }
    /// Anything else ([`EXIT_ERROR`]).
    pub fn error(message: impl Into<String>) -> Self {
        ToolError { code: EXIT_ERROR, message: message.into() }
    }
}

impl From<io::Error> for ToolError {
    fn from(e: io::Error) -> Self {
        ToolError::error(format!("writing output: {e}"))
    }
}

/// Inspect, verify, replay and export a matchd journal.
#[derive(Parser, Debug)]
#[command(name = "matchd-journal", version, about, long_about = None, after_help = EXIT_HELP)]
pub struct Cli {
    /// matchd data directory (journal in <DATA_DIR>/journal, snapshots in <DATA_DIR>/snapshots).
    #[arg(long, global = true, default_value = "./matchd-data")]
    pub data_dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Cmd,
}

const EXIT_HELP: &str = "Exit codes (every subcommand):
  0  ok
  1  damaged data: the journal is corrupt (matchd refuses to start), acknowledged records are lost (a
     snapshot beyond the journal's end), an undecodable record, a state-hash mismatch or an invalid snapshot
  2  usage: bad arguments
  3  the journal ends in a torn tail (never acknowledged) that matchd's recovery cuts at the next start
  4  other errors: missing directory, I/O error, a request out of range
verify and inspect judge the journal with matchd's own recovery code; run them on a stopped matchd (or a
copy): on a live journal the tail is reported as being written.";

/// Output format of `export`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// The `journal.durability` matchd runs with: whether a snapshot beyond the journal's end is
/// explained by a power loss (`none`) or means acknowledged records are lost (`batch`,
/// `interval`: the matcher, hence a snapshot, only sees synced records).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurabilityArg {
    /// Page cache only.
    None,
    /// Sync after every batch (matchd's default).
    Batch,
    /// Sync at most every interval_ms.
    Interval,
}

impl From<DurabilityArg> for matchd::config::Durability {
    fn from(d: DurabilityArg) -> Self {
        match d {
            DurabilityArg::None => matchd::config::Durability::None,
            DurabilityArg::Batch => matchd::config::Durability::Batch,
            DurabilityArg::Interval => matchd::config::Durability::Interval,
        }
    }
}

/// What `export` writes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// Accepted, cancelled and amended orders.
    Orders,
    /// Trades.
    Trades,
    /// Balance changes (risk mode).
    Balances,
    /// Perpetual positions after each command that changed them.
    Positions,
    /// Futures wallets after each command that changed them.
    Wallets,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Segments, records, sequence and time ranges, tail status, snapshots.
    Inspect {
        /// Check snapshot files' CRCs only (skip the full restore and state-hash check).
        #[arg(long)]
        quick: bool,
        /// The journal.durability matchd runs with.
        #[arg(long, value_enum, default_value_t = DurabilityArg::Batch)]
        durability: DurabilityArg,
    },
    /// Print records as text or JSON lines.
    Dump {
        /// First sequence number.
        #[arg(long)]
        from: Option<u64>,
        /// Last sequence number.
        #[arg(long)]
        to: Option<u64>,
        /// Only commands stamped at or after TIME (2024-01-02T03:04:05Z, 2024-01-02 or @ns).
        #[arg(long)]
        since: Option<String>,
        /// Only commands stamped at or before TIME.
        #[arg(long)]
        until: Option<String>,
        /// Only commands sent by, or (admin commands) targeting, this account.
        #[arg(long)]
        account: Option<u32>,
        /// Only commands about this instrument (cancels and amends are resolved by replaying).
        #[arg(long)]
        instrument: Option<u32>,
        /// JSON lines instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Judge the journal as matchd's recovery does, decode every record, replay from the beginning
    /// and compare the state hash with every snapshot, and check the snapshots against the
    /// journal's end.
    Verify {
        /// The journal.durability matchd runs with.
        #[arg(long, value_enum, default_value_t = DurabilityArg::Batch)]
        durability: DurabilityArg,
    },
    /// Rebuild the state at a point and print a book, an account, or a summary.
    Replay {
        /// Sequence number, or a time (the last command stamped at or before it).
        #[arg(long)]
        to: String,
        /// Print this instrument's book.
        #[arg(long)]
        instrument: Option<u32>,
        /// Print this account's balances and open orders.
        #[arg(long)]
        account: Option<u32>,
        /// Levels per side to print (with their orders).
        #[arg(long, default_value_t = 10)]
        depth: usize,
        /// Replay from the journal's beginning, ignoring snapshots.
        #[arg(long)]
        no_snapshots: bool,
    },
    /// Replay and write orders, trades or balance changes as CSV or JSON lines.
    Export {
        /// What to export.
        #[arg(long)]
        what: What,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// First sequence number (or time) whose events are written.
        #[arg(long)]
        from: Option<String>,
        /// Last sequence number (or time).
        #[arg(long)]
        to: Option<String>,
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Replay from the journal's beginning, ignoring snapshots.
        #[arg(long)]
        no_snapshots: bool,
    },
    /// Compare this journal with other nodes' (a replica set): record bytes and the replayed
    /// state hash up to the shortest one's end; exit 0 when identical, 1 naming the first
    /// sequence where they part.
    Compare {
        /// The other nodes' data directories.
        #[arg(required = true)]
        others: Vec<PathBuf>,
    },
    /// Snapshot retention, and journal segments wholly before the oldest kept snapshot.
    Prune {
        /// Keep the newest N valid snapshots (at least 1).
        #[arg(long)]
        keep_snapshots: usize,
        /// Move the old journal segments into DIR.
        #[arg(long, conflicts_with = "delete_segments")]
        archive_segments: Option<PathBuf>,
        /// Delete the old journal segments.
        #[arg(long)]
        delete_segments: bool,
        /// Do it (without it, only print what would be done).
        #[arg(long)]
        yes: bool,
    },
}

/// Runs the tool; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Cmd::Inspect { quick, durability } => inspect::run(&cli.data_dir, quick, durability.into()),
        Cmd::Dump { from, to, since, until, account, instrument, json } => {
            dump::run(&cli.data_dir, dump::Filter { from, to, since, until, account, instrument }, json)
        }
        Cmd::Verify { durability } => verify::run(&cli.data_dir, durability.into()),
        Cmd::Replay { to, instrument, account, depth, no_snapshots } => {
            state::run(&cli.data_dir, &to, instrument, account, depth, !no_snapshots)
        }
        Cmd::Export { what, format, from, to, output, no_snapshots } => {
            export::run(&cli.data_dir, what, format, from, to, output, !no_snapshots)
        }
        Cmd::Compare { others } => {
            let mut dirs = vec![cli.data_dir.clone()];
            dirs.extend(others);
            compare::run(&dirs)
        }
        Cmd::Prune { keep_snapshots, archive_segments, delete_segments, yes } => {
            prune::run(&cli.data_dir, keep_snapshots, archive_segments, delete_segments, yes)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("matchd-journal: {}", e.message);
            e.code
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
pub(crate) struct Out {
    w: io::BufWriter<io::Stdout>,
    closed: bool,
}

impl Out {
    pub(crate) fn stdout() -> Out {
        Out { w: io::BufWriter::with_capacity(1 << 16, io::stdout()), closed: false }
    }

    pub(crate) fn line(&mut self, s: &str) -> Result<(), ToolError> {
        if self.closed {
            return Ok(());
        }
        match self.w.write_all(s.as_bytes()).and_then(|()| self.w.write_all(b"\n")) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn finish(mut self) -> Result<(), ToolError> {
        match self.w.flush() {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
            _ => Ok(()),
        }
    }
}
