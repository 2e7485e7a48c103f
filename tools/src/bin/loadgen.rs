//! `loadgen`: drives a running matchd over loopback TCP with N sessions, open loop at a fixed
//! offered rate (latency from each command's intended send time) or closed loop (`--closed-loop
//! --window W`), and prints a summary on stderr and one JSON line last on stdout.
//!
//! ```text
//! # a matchd with 8 load-generator accounts (100..=107, secrets lg-100 ... by default):
//! loadgen --sessions 8 --accounts-from 100 --print-matchd-config > m.toml
//! matchd --config m.toml --durability batch &
//! loadgen --sessions 8 --accounts-from 100 --rate 100000 --duration-s 10 \
//!     --hgrm out.hgrm --plot out.png
//! ```
//!
//! Exit codes: 0 done (and clean: every command answered), 1 error, 2 usage, 3 run not clean.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ::matchd::config::{Config, DEFAULT_CONFIG_TOML};
use clap::Parser;
use engine::StpMode;
use tools::loadgen::{self, report, Credentials, InstrumentParams, LoadgenConfig, Mix, Mode};

/// Load generator for matchd (loopback only). See `tools/src/loadgen/mod.rs` for how it works.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version)]
struct Cli {
    /// Server address (loopback); for a replica set, its nodes' addresses comma-separated (the
    /// leader is found at start; a failover during the run ends it as unclean).
    #[arg(long, default_value = "127.0.0.1:7001")]
    addr: String,
    /// Client sessions (one account each).
    #[arg(long, default_value_t = 2)]
    sessions: u32,
    /// First account id; session i uses account ID+i with secret `{secret-prefix}{ID+i}`.
    /// Without it and without --credentials: the demo accounts alice and bob (at most 2 sessions).
    #[arg(long, value_name = "ID")]
    accounts_from: Option<u32>,
    /// Secret prefix for --accounts-from.
    #[arg(long, default_value = "lg-")]
    secret_prefix: String,
    /// File of `ACCOUNT SECRET` lines, one per session.
    #[arg(long, value_name = "FILE", conflicts_with = "accounts_from")]
    credentials: Option<PathBuf>,
    /// The server's config file, for the instruments' tick, lot, reference price ... [default:
    /// matchd's embedded default config].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Instruments to trade.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    instruments: Vec<u32>,
    /// Open loop: offered commands per second, all sessions together.
    #[arg(long, default_value_t = 10_000.0)]
    rate: f64,
    /// Closed loop instead: each session keeps --window commands unanswered.
    #[arg(long)]
    closed_loop: bool,
    /// Closed loop: commands in flight per session.
    #[arg(long, default_value_t = 16)]
    window: u32,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration_s: f64,
    /// Warm-up seconds before the measured window.
    #[arg(long, default_value_t = 2.0)]
    warmup_s: f64,
    /// Seed of the order flow (same seed, same commands).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Command mix: default, passive, exchange-core, or KIND=WEIGHT,... with kinds limit,
    /// post_only, ioc, fok, market, cancel, amend and cross (percent of limit orders that cross).
    #[arg(long, default_value = "default")]
    mix: String,
    /// Target resting orders per instrument, all sessions together.
    #[arg(long, default_value_t = 1000)]
    depth: usize,
    /// Passive orders rest 1..=LEVELS ticks from the reference price.
    #[arg(long, default_value_t = 100)]
    levels: u64,
    /// Taking orders are priced 1..=N ticks into the other side.
    #[arg(long, default_value_t = 5)]
    cross_levels: u64,
    /// Largest order size in lots above the instrument's minimum.
    #[arg(long, default_value_t = 10)]
    max_lots: u64,
    /// Self-trade prevention mode of every order: none, cancel-taker, cancel-maker, cancel-both.
    #[arg(long, default_value = "cancel-taker")]
    stp: String,
    /// Let the generator target only orders not yet seen filled (fewer UnknownOrder rejects; the
    /// command sequence then also depends on what traded). With --no-track-fills it depends on the
    /// seed alone.
    #[arg(long)]
    no_track_fills: bool,
    /// In-flight table slots per session (bounds the backlog when the server falls behind).
    #[arg(long, default_value_t = 65536)]
    max_inflight: usize,
    /// Seconds to wait for the last answers after the window.
    #[arg(long, default_value_t = 10.0)]
    drain_timeout_s: f64,
    /// Write the round-trip percentile distribution (HdrHistogram text format, µs).
    #[arg(long, value_name = "FILE")]
    hgrm: Option<PathBuf>,
    /// Write a PNG plot of round-trip latency by percentile.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Print matchd's default config with the --accounts-from accounts appended (each funded with
    /// 10^14 units of every traded asset for the default's risk mode; the per-session rate limit
    /// raised) and exit.
    #[arg(long)]
    print_matchd_config: bool,
}

fn secs(s: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("--{what} must be a non-negative number of seconds"))
}

fn build(cli: &Cli) -> Result<LoadgenConfig, String> {
    let credentials = match (&cli.credentials, cli.accounts_from) {
        (Some(f), _) => Credentials::from_file(f)?,
        (None, Some(from)) => Credentials::Range { from, prefix: cli.secret_prefix.clone() },
        (None, None) => Credentials::Demo,
    };
    let matchd_cfg = match &cli.config {
        Some(p) => Config::from_file(p).map_err(|e| e.to_string())?,
        None => Config::default_config(),
    };
    let instruments = InstrumentParams::select(&matchd_cfg, &cli.instruments)?;
    let stp = match cli.stp.as_str() {
        "none" => StpMode::None,
        "cancel-taker" => StpMode::CancelTaker,
        "cancel-maker" => StpMode::CancelMaker,
        "cancel-both" => StpMode::CancelBoth,
        other => return Err(format!("--stp {other:?}: none, cancel-taker, cancel-maker or cancel-both")),
    };
    let addr = leader_of(&cli.addr, &credentials)?;
    let mut cfg = LoadgenConfig::new(addr, cli.sessions, credentials, instruments);
    cfg.flow.mix = Mix::parse(&cli.mix)?;
    cfg.flow.levels = cli.levels;
    cfg.flow.cross_levels = cli.cross_levels;
    cfg.flow.max_lots = cli.max_lots;
    cfg.flow.stp = stp;
    cfg.mode = if cli.closed_loop { Mode::Closed { window: cli.window } } else { Mode::Open { rate: cli.rate } };
    cfg.duration = secs(cli.duration_s, "duration-s")?;
    cfg.warmup = secs(cli.warmup_s, "warmup-s")?;
    cfg.drain_timeout = secs(cli.drain_timeout_s, "drain-timeout-s")?;
    cfg.seed = cli.seed;
    cfg.max_inflight = cli.max_inflight;
    cfg.track_fills = !cli.no_track_fills;
    let per_session = (cli.rate / cli.sessions.max(1) as f64) as u64;
    if !cli.closed_loop && per_session > matchd_cfg.server.max_messages_per_sec as u64 {
        eprintln!(
            "loadgen: warning: {per_session}/s per session exceeds the server's max_messages_per_sec ({}): expect \
             RateLimited rejects; use more sessions",
            matchd_cfg.server.max_messages_per_sec
        );
    }
    Ok(cfg.with_total_depth(cli.depth))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print_matchd_config {
        let Some(from) = cli.accounts_from else {
            eprintln!("loadgen: --print-matchd-config needs --accounts-from");
            return ExitCode::from(2);
        };
        let creds = Credentials::Range { from, prefix: cli.secret_prefix.clone() };
        let accounts: Result<Vec<_>, _> = (0..cli.sessions).map(|i| creds.get(i)).collect();
        match accounts {
            Ok(a) => print!("{}", loadgen::matchd::config_toml(DEFAULT_CONFIG_TOML, &a, Some(10_000_000))),
            Err(e) => {
                eprintln!("loadgen: {e}");
                return ExitCode::from(2);
            }
        }
        return ExitCode::SUCCESS;
    }
    let cfg = match build(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let rep = match loadgen::run(&cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!("{}", rep.summary());
    if let Some(p) = &cli.hgrm {
        if let Err(e) = report::write_hgrm_file(&rep.latency, p) {
            eprintln!("loadgen: {}: {e}", p.display());
            return ExitCode::from(1);
        }
    }
    if let Some(p) = &cli.plot {
        let title = match cfg.mode {
            Mode::Open { rate } => format!("matchd round trip, open loop {rate:.0}/s, {} sessions", cfg.sessions),
            Mode::Closed { window } => {
                format!("matchd round trip, closed loop window {window}, {} sessions", cfg.sessions)
            }
        };
        if let Err(e) = report::plot_png(p, &title, &[(rep.mode.to_string(), &rep.latency)]) {
            eprintln!("loadgen: {}: {e}", p.display());
            return ExitCode::from(1);
        }
    }
    println!("{}", rep.json_line());
    if rep.is_clean() {
        ExitCode::SUCCESS
    } else {
        eprintln!("loadgen: run not clean (missing, mismatched or out-of-sequence reports, or disconnects)");
        ExitCode::from(3)
    }
}

/// The one address, or the leader among several (a replica set's nodes): the first session's
/// account logs in where the nodes' `NotLeader` answers point, and logs out again.
fn leader_of(addrs: &str, credentials: &Credentials) -> Result<std::net::SocketAddr, String> {
    let nodes: Vec<std::net::SocketAddr> = addrs
        .split(',')
        .map(|a| a.trim().parse().map_err(|e| format!("--addr {a:?}: {e}")))
        .collect::<Result<_, _>>()?;
    if nodes.len() == 1 {
        return Ok(nodes[0]);
    }
    let c = credentials.get(0)?;
    let timeout = std::time::Duration::from_secs(5);
    let p = client::LoginParams::trader(c.account, c.secret.as_bytes());
    let mut l = client::connect_leader(&nodes, p, timeout, std::time::Duration::from_secs(60))
        .map_err(|e| format!("finding the leader among {addrs}: {e}"))?;
    let _ = l.client.logout_and_drain(timeout);
    eprintln!("loadgen: the leader is {}", l.addr);
    Ok(l.addr)
}
