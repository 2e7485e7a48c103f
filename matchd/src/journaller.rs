//! The journaller stage: takes every command the gateway published, appends
//! it to the journal, makes the batch durable per the policy, and only then
//! releases it to the matcher. If a write or sync fails it halts the
//! pipeline: nothing after the failure is ever applied or acknowledged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::command_codec::{encode, MAX_COMMAND_BYTES, RECORD_COMMAND};
use gateway::clock::now_ns;
use gateway::wake::Wake;
use gateway::InputSlot;
use journal::{JournalWriter, SyncPolicy};
use ring::{Consumer, RingError};

use crate::histogram::Histogram;

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct JournallerStats {
    /// Records appended.
    pub records: AtomicU64,
    /// Payload bytes appended.
    pub bytes: AtomicU64,
    /// Commits (syncs under `batch`).
    pub commits: AtomicU64,
    /// Total nanoseconds spent in commit.
    pub commit_ns: AtomicU64,
    /// Longest commit.
    pub commit_max_ns: AtomicU64,
    /// Rollovers that waited for the spare-segment helper.
    pub slow_rollovers: AtomicU64,
    /// Duration of commits that made records durable, ns.
    pub sync: Histogram,
    /// Gateway receive -> durable (after the commit), ns.
    pub latency: Histogram,
}

/// The journaller stage.
pub struct Journaller {
    writer: JournalWriter,
    input: Consumer<InputSlot>,
    /// Journal sequence of ring sequence -1: journal seq = base + ring seq + 1.
    base: u64,
    policy: SyncPolicy,
    stats: Arc<JournallerStats>,
    /// In a replica set: the replicator, woken after each append (it ships before the sync) and
    /// each release (it acknowledges or commits).
    notify: Option<Arc<Wake>>,
}

/// Why the journaller stopped.
#[derive(Debug, thiserror::Error)]
pub enum JournallerError {
    /// Append or sync failed; the pipeline was halted.
    #[error("journal write failed, pipeline halted: {0}")]
    Write(#[from] journal::WriteError),
}

impl Journaller {
    /// A journaller continuing `writer`.
    pub fn new(
        writer: JournalWriter,
        input: Consumer<InputSlot>,
        policy: SyncPolicy,
        stats: Arc<JournallerStats>,
    ) -> Self {
        let base = writer.written_seq();
        Self { writer, input, base, policy, stats, notify: None }
    }

    /// Wakes `replicator` after each append and each release (replica sets).
    pub fn with_notify(mut self, replicator: Arc<Wake>) -> Self {
        self.notify = Some(replicator);
        self
    }

    /// Runs until the gateway closes the ring (then syncs and closes the
    /// journal) or a failure (then halts the ring and returns the error).
    pub fn run(mut self) -> Result<u64, JournallerError> {
        match self.run_inner() {
            Ok(()) => Ok(self.writer.close()?),
            Err(e) => {
                tracing::error!("{e}");
                self.input.halt_handle().halt();
                Err(e)
            }
        }
    }

    fn run_inner(&mut self) -> Result<(), JournallerError> {
        let mut buf = [0u8; MAX_COMMAND_BYTES];
        // Highest ring sequence appended (may be ahead of the released one
        // under `interval`, until the sync that makes it durable).
        let mut appended: i64 = -1;
        let interval = matches!(self.policy, SyncPolicy::Interval { .. });
        loop {
            let range = if interval && appended > self.input.sequence() {
                // Unsynced records wait for their sync: do not block in the ring.
                match self.input.poll() {
                    Ok(Some(r)) => Some(r),
                    Ok(None) => {
                        std::thread::sleep(Duration::from_micros(200));
                        None
                    }
                    Err(RingError::Closed) => return Ok(()),
                    Err(RingError::Halted) => return Ok(()),
                }
            } else {
                match self.input.wait() {
                    Ok(r) => Some(r),
                    Err(RingError::Closed) | Err(RingError::Halted) => return Ok(()),
                }
            };
            if let Some(range) = range {
                for s in range {
                    if s <= appended {
                        continue;
                    }
                    let n = encode(&self.input.get(s).cmd, &mut buf);
                    let seq = self.writer.append(RECORD_COMMAND, &buf[..n])?;
                    debug_assert_eq!(seq, self.base + s as u64 + 1);
                    appended = s;
                    self.stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
                }
                // `Release`: the replicator reads records up to this through its own mapping.
                self.stats.records.store(self.writer.written_seq() - self.base, Ordering::Release);
                if let Some(w) = &self.notify {
                    w.notify();
                }
            }
            let t = Instant::now();
            let durable = if interval { self.writer.sync_if_due()? } else { self.writer.commit()? };
            let ns = t.elapsed().as_nanos() as u64;
            self.stats.commits.fetch_add(1, Ordering::Relaxed);
            self.stats.commit_ns.fetch_add(ns, Ordering::Relaxed);
            self.stats.commit_max_ns.fetch_max(ns, Ordering::Relaxed);
            let durable_ring = durable as i64 - self.base as i64 - 1;
            let upto = durable_ring.min(appended);
            let released = self.input.sequence();
            if upto > released {
                self.stats.sync.record(ns);
                let now = now_ns();
                for s in released + 1..=upto {
                    self.stats.latency.record(now.saturating_sub(self.input.get(s).cmd.timestamp_ns));
                }
                self.stats.slow_rollovers.store(self.writer.slow_rollovers(), Ordering::Relaxed);
                self.input.release(upto);
                if let Some(w) = &self.notify {
                    w.notify();
                }
            }
        }
    }
}
