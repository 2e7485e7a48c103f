//! Snapshots while running: at a command boundary the matcher either forks
//! a child that writes the engine state from its copy-on-write view
//! (`snapshots.method = "fork"`, the pause is the `fork()` call) or copies
//! the state into a buffer (`"copy"`, the pause is the copy), and puts a
//! marker into the output ring; the publisher saves its report numbering
//! when it reaches that marker, so both halves describe the same journal
//! sequence; a writer thread joins them, finishes the file (temp, fsync,
//! rename) and prunes old snapshots. One snapshot is in flight at a time.
//! Triggered every `every_commands` commands, every `every_seconds` seconds
//! (if anything changed) and on SIGUSR1.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{Engine, EngineSnapshot, Seq};
use gateway::control_plane::ControlPlane;
use ring::Producer;

use crate::config::SnapshotMethod;
use crate::output_slot::OutputSlot;

/// Counters for metrics and logs.
#[derive(Debug, Default)]
pub struct SnapshotStats {
    /// Snapshots written.
    pub written: AtomicU64,
    /// Snapshots that failed to write.
    pub failed: AtomicU64,
    /// Longest matcher pause taking a snapshot (fork or copy), ns.
    pub max_pause_ns: AtomicU64,
    /// The last snapshot's matcher pause, ns.
    pub last_pause_ns: AtomicU64,
}

/// What the matcher hands the writer. (Sent once per snapshot: the copy's
/// vectors are moved, not copied, so the size difference costs nothing.)
#[allow(clippy::large_enum_variant)]
enum Job {
    /// The state, copied by the matcher.
    Copied { seq: Seq, snap: EngineSnapshot, pause_ns: u64 },
    /// A child writing the engine part.
    Forked { child: snapshot::ForkedSnapshot, pause_ns: u64 },
}

/// How long the matcher waits at its end for a snapshot child it forked: the
/// child dies with the matcher thread (`PR_SET_PDEATHSIG`).
const CHILD_WAIT_AT_EXIT: Duration = Duration::from_secs(120);

/// The matcher's side.
pub struct MatcherSnapshots {
    requested: Arc<AtomicBool>,
    /// Set by the timer every `every_seconds`: taken only if commands came since the last.
    timed: Arc<AtomicBool>,
    /// A request that arrived while a snapshot was in flight: taken after it.
    deferred: bool,
    every_commands: u64,
    since_last: u64,
    method: SnapshotMethod,
    dir: PathBuf,
    in_flight: Arc<AtomicBool>,
    to_writer: Sender<Job>,
    spare: Receiver<EngineSnapshot>,
    stats: Arc<SnapshotStats>,
}

impl MatcherSnapshots {
    /// Whether a snapshot is due after `applied` more commands (and none is
    /// in flight: a due one waits for it).
    #[inline]
    pub fn due(&mut self, applied: u64) -> bool {
        self.since_last += applied;
        self.deferred |= self.requested.swap(false, Ordering::Relaxed);
        self.deferred |= self.timed.swap(false, Ordering::Relaxed) && self.since_last > 0;
        let periodic = self.every_commands != 0 && self.since_last >= self.every_commands;
        (periodic || self.deferred) && !self.in_flight.load(Ordering::Acquire)
    }

    /// Whether a snapshot is waiting to be taken (checked while the matcher is
    /// idle, so a request, or a periodic one that came due while another was
    /// in flight, is not left until the next command).
    #[inline]
    pub fn wanted(&self) -> bool {
        let periodic = self.every_commands != 0 && self.since_last >= self.every_commands;
        let timed = self.timed.load(Ordering::Relaxed) && self.since_last > 0;
        (self.requested.load(Ordering::Relaxed) || self.deferred || periodic || timed)
            && !self.in_flight.load(Ordering::Acquire)
    }

    /// Takes the snapshot (the pause), marks the point in the output ring and
    /// hands it to the writer.
    pub fn take(&mut self, engine: &Engine, output: &mut Producer<OutputSlot>, control: &ControlPlane) {
        self.since_last = 0;
        self.deferred = false;
        // The marker's slot first: once a child exists, its job must reach the writer.
        let Ok(r) = output.claim(1) else { return };
        let marker = *r.end();
        let seq = engine.last_seq();
        self.in_flight.store(true, Ordering::Release);
        let started = Instant::now();
        let job = match self.method {
            SnapshotMethod::Fork => match snapshot::fork_snapshot(engine, &self.dir) {
                Ok(child) => Job::Forked { child, pause_ns: started.elapsed().as_nanos() as u64 },
                Err(e) => {
                    // Out of memory or processes: a copy still gets the snapshot written.
                    tracing::warn!(seq, "fork for a snapshot failed ({e}); copying the state instead");
                    self.copy(engine, started)
                }
            },
            SnapshotMethod::Copy => self.copy(engine, started),
        };
        let pause_ns = match &job {
            Job::Copied { pause_ns, .. } | Job::Forked { pause_ns, .. } => *pause_ns,
        };
        self.stats.max_pause_ns.fetch_max(pause_ns, Ordering::Relaxed);
        self.stats.last_pause_ns.store(pause_ns, Ordering::Relaxed);
        let slot = output.slot_mut(marker);
        slot.snapshot_seq = seq;
        output.publish(marker);
        control.publisher_wake.notify();
        if self.to_writer.send(job).is_err() {
            // The writer died; nothing will write this one.
            self.in_flight.store(false, Ordering::Release);
        }
    }

    fn copy(&mut self, engine: &Engine, started: Instant) -> Job {
        let mut snap = self.spare.try_recv().unwrap_or_default();
        engine.snapshot_into(&mut snap);
        Job::Copied { seq: engine.last_seq(), snap, pause_ns: started.elapsed().as_nanos() as u64 }
    }

    /// Called as the matcher ends: waits (bounded) for a snapshot in flight,
    /// since a forked child dies with the thread that forked it.
    pub fn finish(&self) {
        let deadline = Instant::now() + CHILD_WAIT_AT_EXIT;
        while self.in_flight.load(Ordering::Acquire) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The publisher's side: saves report numbering at a marker.
pub struct PublisherSnapshots {
    /// Reports kept per account in a snapshot.
    pub reports_per_account: u64,
    to_writer: Sender<(u64, Vec<u8>)>,
}

impl PublisherSnapshots {
    /// Hands the publisher section for `seq` to the writer.
    pub fn send(&self, seq: u64, bytes: Vec<u8>) {
        let _ = self.to_writer.send((seq, bytes));
    }
}

/// Where and how snapshots are taken (from `[snapshots]`).
#[derive(Debug, Clone)]
pub struct SnapshotterConfig {
    /// `<data>/snapshots`.
    pub dir: PathBuf,
    /// Snapshots kept.
    pub keep: usize,
    /// Every this many commands (0 = on request only).
    pub every_commands: u64,
    /// Reports per account in the publisher section.
    pub reports_per_account: u64,
    /// Fork or copy.
    pub method: SnapshotMethod,
    /// A child running longer is killed.
    pub child_timeout: Duration,
}

/// Starts the writer thread; returns the two sides to give the matcher and
/// the publisher. `requested` is the flag SIGUSR1 sets, `timed` the one the
/// `every_seconds` timer sets.
pub fn start(
    cfg: SnapshotterConfig,
    requested: Arc<AtomicBool>,
    timed: Arc<AtomicBool>,
    stats: Arc<SnapshotStats>,
) -> std::io::Result<(MatcherSnapshots, PublisherSnapshots, std::thread::JoinHandle<()>)> {
    let (job_tx, job_rx) = std::sync::mpsc::channel::<Job>();
    let (pub_tx, pub_rx) = std::sync::mpsc::channel::<(u64, Vec<u8>)>();
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<EngineSnapshot>();
    let in_flight = Arc::new(AtomicBool::new(false));
    let writer = Writer { cfg: cfg.clone(), stats: stats.clone(), pub_rx, spare_tx, in_flight: in_flight.clone() };
    let handle = std::thread::Builder::new().name("matchd-snapshot".into()).spawn(move || writer.run(job_rx))?;
    Ok((
        MatcherSnapshots {
            requested,
            timed,
            deferred: false,
            every_commands: cfg.every_commands,
            since_last: 0,
            method: cfg.method,
            dir: cfg.dir,
            in_flight,
            to_writer: job_tx,
            spare: spare_rx,
            stats,
        },
        PublisherSnapshots { reports_per_account: cfg.reports_per_account, to_writer: pub_tx },
        handle,
    ))
}

/// The writer thread's state.
struct Writer {
    cfg: SnapshotterConfig,
    stats: Arc<SnapshotStats>,
    pub_rx: Receiver<(u64, Vec<u8>)>,
    spare_tx: Sender<EngineSnapshot>,
    in_flight: Arc<AtomicBool>,
}

impl Writer {
    /// Both halves of one snapshot arrive in order; stops when the matcher is gone.
    fn run(self, jobs: Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            let (seq, pause_ns) = match &job {
                Job::Copied { seq, pause_ns, .. } => (*seq, *pause_ns),
                Job::Forked { child, pause_ns } => (child.seq, *pause_ns),
            };
            let publisher = loop {
                match self.pub_rx.recv() {
                    Ok((s, bytes)) if s == seq => break Some(bytes),
                    Ok(_) => continue,
                    Err(_) => break None,
                }
            };
            // Without a publisher section (the publisher is gone: shutting down), a
            // forked child is still reaped below and its part deleted.
            let started = Instant::now();
            let result = match job {
                Job::Copied { snap, .. } => {
                    let r = match &publisher {
                        Some(p) => snapshot::write_snapshot(&self.cfg.dir, &snap, p).map_err(|e| e.to_string()),
                        None => Err("the publisher ended first".to_string()),
                    };
                    let _ = self.spare_tx.send(snap);
                    r
                }
                Job::Forked { child, .. } => child.wait(self.cfg.child_timeout).and_then(|_| match &publisher {
                    Some(p) => snapshot::finish_snapshot(&self.cfg.dir, seq, p).map_err(|e| e.to_string()),
                    None => Err("the publisher ended first".to_string()),
                }),
            };
            match result {
                Ok(w) => {
                    self.stats.written.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        seq,
                        method = ?self.cfg.method,
                        pause_ms = pause_ns as f64 / 1e6,
                        write_ms = started.elapsed().as_millis() as u64,
                        path = %w.path.display(),
                        "snapshot written"
                    );
                    if let Err(e) = snapshot::prune(&self.cfg.dir, self.cfg.keep) {
                        tracing::warn!("snapshot pruning failed: {e}");
                    }
                }
                Err(e) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    let tmp = self.cfg.dir.join(format!("{}.tmp", snapshot::snapshot_file_name(seq)));
                    let _ = std::fs::remove_file(tmp);
                    tracing::error!(seq, "snapshot failed (matchd keeps running; the journal is intact): {e}");
                }
            }
            self.in_flight.store(false, Ordering::Release);
            if publisher.is_none() {
                return;
            }
        }
    }
}
