//! Load generator for matchd: drives a running server over real TCP (loopback only) with N client
//! sessions across M instruments, open loop at a fixed offered rate or closed loop at maximum
//! throughput, and measures the round trip of every command to its first report.
//!
//! ```no_run
//! use std::time::Duration;
//! use tools::loadgen::{self, Credentials, FlowParams, InstrumentParams, LoadgenConfig, Mode};
//!
//! let matchd_cfg = ::matchd::config::Config::default_config();
//! let cfg = LoadgenConfig {
//!     mode: Mode::Open { rate: 20_000.0 },
//!     duration: Duration::from_secs(5),
//!     ..LoadgenConfig::new(
//!         "127.0.0.1:7001".parse().unwrap(),
//!         2,
//!         Credentials::Demo,
//!         InstrumentParams::select(&matchd_cfg, &[1, 2]).unwrap(),
//!     )
//! };
//! let report = loadgen::run(&cfg)?;
//! println!("{}", report.json_line());
//! # Ok::<(), loadgen::LoadgenError>(())
//! ```
//!
//! # Threads and sessions
//! Every session logs in first (sequentially, with the codec on a blocking socket; see
//! [`session::login`]). Then the run uses two threads whatever the number of sessions, which suits
//! a small machine where the server under test needs the cores:
//! - the **sender** ([`sender`]) drives all sessions round-robin: it generates each session's due
//!   commands with the session's seeded [`FlowGen`], encodes them into the session's fixed buffer,
//!   records them in the session's in-flight table ([`session::Inflight`]) and writes with
//!   non-blocking `write`s, keeping what the socket refuses for the next round;
//! - the **receiver** ([`receiver`]) polls all sockets with `mio` (edge-triggered), reads into a
//!   fixed buffer per session, splits frames with `decode_frame` and matches each command's first
//!   report against the session's in-flight table.
//!
//! The in-flight table is preallocated (`max_inflight` slots per session) and indexed by the
//! command's number in the session, which is its client order id minus the session's base: no
//! allocation per command on either thread.
//!
//! # Latency
//! Open loop ([`Mode::Open`]): each command has an intended send time from the schedule
//! ([`pacing::Schedule`]); a sender that falls behind sends at once but the latency still counts
//! from the intended time (coordinated-omission corrected, as wrk2). Closed loop
//! ([`Mode::Closed`]): each session keeps `window` commands unanswered; latency counts from the
//! actual send. Commands sent during the warm-up are not recorded; commands sent in the measured
//! window are recorded whenever their answer comes (the run drains before it ends).

pub mod flow;
pub mod matchd;
pub mod pacing;
mod receiver;
pub mod report;
mod sender;
pub mod session;

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

pub use flow::{FlowGen, FlowParams, InstrumentParams, Mix, Op, OpKind};
pub use pacing::{Clock, Schedule};
pub use report::Report;
pub use session::{Credential, Credentials, Inflight};

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// Socket error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A session could not log in.
    #[error("login: {0}")]
    Login(String),
    /// Bad configuration.
    #[error("configuration: {0}")]
    Config(String),
}

/// Open or closed loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Offer `rate` commands per second in total, on a fixed schedule.
    Open {
        /// Commands per second, all sessions together.
        rate: f64,
    },
    /// Each session keeps `window` commands unanswered.
    Closed {
        /// Commands in flight per session.
        window: u32,
    },
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct LoadgenConfig {
    /// Server address (loopback only).
    pub addr: SocketAddr,
    /// Number of sessions (one account each).
    pub sessions: u32,
    /// Accounts to log in with.
    pub credentials: Credentials,
    /// Instruments to trade (commands are spread uniformly over them).
    pub instruments: Vec<InstrumentParams>,
    /// Flow shape; `depth` is per session and instrument (see [`LoadgenConfig::with_total_depth`]).
    pub flow: FlowParams,
    /// Open or closed loop.
    pub mode: Mode,
    /// Measured window.
    pub duration: Duration,
    /// Warm-up before it (sent, not measured).
    pub warmup: Duration,
    /// Seed of every session's flow.
    pub seed: u64,
    /// In-flight table slots per session (a power of two): bounds the backlog.
    pub max_inflight: usize,
    /// How long to wait for the last answers after the window.
    pub drain_timeout: Duration,
    /// Timeout of connects, logins and the clean logout.
    pub io_timeout: Duration,
    /// Client order ids start here in every session (default: wall-clock microseconds, so ids never
    /// repeat across runs on the same accounts).
    pub cid_base: Option<u64>,
    /// Let the generator skip orders the server has already ended (see [`flow`]); off: the command
    /// sequence depends on the seed alone.
    pub track_fills: bool,
}

impl LoadgenConfig {
    /// Defaults: open loop at 10,000/s for 5 s after 1 s of warm-up, default mix, seed 1.
    pub fn new(
        addr: SocketAddr,
        sessions: u32,
        credentials: Credentials,
        instruments: Vec<InstrumentParams>,
    ) -> LoadgenConfig {
        LoadgenConfig {
            addr,
            sessions,
            credentials,
            instruments,
            flow: FlowParams::default(),
            mode: Mode::Open { rate: 10_000.0 },
            duration: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            seed: 1,
            max_inflight: 1 << 16,
            drain_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(5),
            cid_base: None,
            track_fills: true,
        }
    }

    /// Sets the flow's per-session depth from a target book depth per instrument (all sessions).
    pub fn with_total_depth(mut self, depth: usize) -> LoadgenConfig {
        self.flow.depth = depth.div_ceil(self.sessions.max(1) as usize).max(1);
        self
    }

    fn check(&self) -> Result<(), LoadgenError> {
        let bad = |m: &str| Err(LoadgenError::Config(m.to_string()));
        if !self.addr.ip().is_loopback() {
            return bad("the load generator only targets loopback addresses");
        }
        if self.sessions == 0 {
            return bad("at least one session");
        }
        if self.instruments.is_empty() {
            return bad("at least one instrument");
        }
        match self.mode {
            Mode::Open { rate } if !(rate > 0.0 && rate.is_finite()) => return bad("rate must be positive"),
            Mode::Closed { window: 0 } => return bad("window must be at least 1"),
            _ => {}
        }
        if self.duration.is_zero() {
            return bad("duration must be positive");
        }
        Ok(())
    }
}

/// State shared by the sender and the receiver.
pub(crate) struct Shared {
    pub clock: Clock,
    pub mode: Mode,
    pub schedule: Option<Schedule>,
    pub t_warm_ns: u64,
    pub t_end_ns: u64,
    pub drain_timeout_ns: u64,
    pub inflight: Vec<Inflight>,
    pub cid_base: u64,
    pub track_fills: bool,
    pub sender_done: AtomicBool,
    pub sender_thread: OnceLock<Thread>,
}

/// A latency histogram in nanoseconds (1 ns .. 60 s, 3 significant digits).
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Runs the load: logs every session in, sends for `warmup + duration`, drains, ends the sessions
/// cleanly (mass cancel + logout) and reports.
pub fn run(cfg: &LoadgenConfig) -> Result<Report, LoadgenError> {
    cfg.check()?;
    let n = cfg.sessions as usize;
    let mut logged = Vec::with_capacity(n);
    for i in 0..cfg.sessions {
        let c = cfg.credentials.get(i).map_err(LoadgenError::Config)?;
        logged.push(session::login(cfg.addr, &c, cfg.io_timeout)?);
    }
    let cid_base = cfg
        .cid_base
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(1) + 1);
    let mut send_sessions = Vec::with_capacity(n);
    let mut recv_sessions = Vec::with_capacity(n);
    for (i, l) in logged.into_iter().enumerate() {
        l.stream.set_nonblocking(true)?;
        let gen = FlowGen::new(cfg.seed, i as u32, cid_base, cfg.flow, &cfg.instruments);
        recv_sessions.push(receiver::RecvSession::new(l.stream.try_clone()?, &l.leftover, l.next_seq, l.highest_seq));
        send_sessions.push(sender::SenderSession::new(l.stream, gen));
    }
    let clock = Clock::new();
    // Start a little after now so both threads are up.
    let t0 = clock.now_ns() + 2_000_000;
    let t_warm = t0 + cfg.warmup.as_nanos() as u64;
    let t_end = t_warm + cfg.duration.as_nanos() as u64;
    let schedule = match cfg.mode {
        Mode::Open { rate } => Some(Schedule { start_ns: t0, rate, sessions: n as u64 }),
        Mode::Closed { .. } => None,
    };
    let shared = Arc::new(Shared {
        clock,
        mode: cfg.mode,
        schedule,
        t_warm_ns: t_warm,
        t_end_ns: t_end,
        drain_timeout_ns: cfg.drain_timeout.as_nanos() as u64,
        inflight: (0..n).map(|_| Inflight::new(cfg.max_inflight)).collect(),
        cid_base,
        track_fills: cfg.track_fills,
        sender_done: AtomicBool::new(false),
        sender_thread: OnceLock::new(),
    });
    let rx = {
        let sh = shared.clone();
        std::thread::Builder::new().name("loadgen-recv".into()).spawn(move || receiver::run(sh, recv_sessions))?
    };
    let tx = {
        let sh = shared.clone();
        std::thread::Builder::new().name("loadgen-send".into()).spawn(move || {
            let _ = sh.sender_thread.set(std::thread::current());
            clock.wait_until(t0);
            let out = sender::run(sh.clone(), send_sessions);
            sh.sender_done.store(true, std::sync::atomic::Ordering::Release);
            out
        })?
    };
    let (sessions, sent) = tx.join().map_err(|_| LoadgenError::Config("sender thread panicked".into()))?;
    let recv = rx.join().map_err(|_| LoadgenError::Config("receiver thread panicked".into()))??;
    let mut streams: Vec<_> = sessions.into_iter().map(|s| s.stream).collect();
    let clean = session::finish_all(&mut streams, cfg.io_timeout);
    Ok(Report::new(cfg, &sent, recv, clean))
}
