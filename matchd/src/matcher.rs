//! The matcher stage: the business-logic thread. It reads only commands the
//! journaller has made durable (its barrier is the journaller's sequence),
//! applies them to the engine, and writes the events into the output ring.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use engine::{Engine, Event, EventSink, Prefetcher, PREFETCH_STAGES};
use gateway::clock::now_ns;
use gateway::control_plane::ControlPlane;
use gateway::InputSlot;
use ring::{Consumer, Producer};

use crate::histogram::Histogram;
use crate::output_slot::OutputSlot;

/// Events claimed before they are published even within one input batch, so
/// a command with a huge sweep can never claim the whole output ring unpublished.
const PUBLISH_EVERY_EVENTS: usize = 1024;

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct MatcherStats {
    /// Commands applied.
    pub commands: AtomicU64,
    /// Events emitted.
    pub events: AtomicU64,
    /// Gateway receive -> applied (after the batch's events are published to the output ring), ns.
    pub latency: Histogram,
}

struct RingSink<'a> {
    out: &'a mut Producer<OutputSlot>,
    control: &'a ControlPlane,
    claimed: Option<i64>,
    pending: usize,
    events: u64,
    halted: bool,
    /// Receive time of the command being applied.
    timestamp_ns: u64,
}

impl RingSink<'_> {
    fn flush(&mut self) {
        if let Some(hi) = self.claimed.take() {
            self.out.publish(hi);
            self.control.publisher_wake.notify();
        }
        self.pending = 0;
    }
}

impl EventSink for RingSink<'_> {
    #[inline]
    fn emit(&mut self, event: Event) {
        if self.halted {
            return;
        }
        match self.out.claim(1) {
            Ok(r) => {
                let s = *r.end();
                let slot = self.out.slot_mut(s);
                slot.event = event;
                slot.timestamp_ns = self.timestamp_ns;
                slot.snapshot_seq = 0;
                self.claimed = Some(s);
                self.pending += 1;
                self.events += 1;
                if self.pending >= PUBLISH_EVERY_EVENTS {
                    self.flush();
                }
            }
            // The pipeline is stopping on a failure; nothing downstream reads.
            Err(_) => self.halted = true,
        }
    }
}

/// The matcher stage.
pub struct Matcher {
    snapshots: Option<crate::snapshotter::MatcherSnapshots>,
    engine: Engine,
    /// The prefetch pipeline over each batch the journal released (BENCHMARKS.md, "Lookahead
    /// prefetch", "Three prefetch stages, measured by latency", "prefetch stages three commands
    /// apart", "session 19" for its command stage and "session 20" for five commands apart).
    prefetcher: Prefetcher,
    input: Consumer<InputSlot>,
    output: Producer<OutputSlot>,
    base: u64,
    control: Arc<ControlPlane>,
    done: Arc<AtomicI64>,
    stats: Arc<MatcherStats>,
    /// Replica sets: the state hash at every multiple of this sequence (0: never).
    checkpoint_every: u64,
    next_checkpoint: u64,
    checkpoint: Option<Arc<StateCheckpoint>>,
}

/// The engine's state hash at the last checkpoint sequence (a multiple of
/// `replication.state_hash_every`): every node of a replica set computes it at the same
/// sequences, so equal values mean equal states.
#[derive(Debug, Default)]
pub struct StateCheckpoint {
    /// (sequence, state hash); (0, 0) before the first.
    pub last: std::sync::Mutex<(u64, u128)>,
}

impl Matcher {
    /// A matcher continuing `engine`, whose last applied journal sequence is `base`.
    pub fn new(
        engine: Engine,
        input: Consumer<InputSlot>,
        output: Producer<OutputSlot>,
        control: Arc<ControlPlane>,
        done: Arc<AtomicI64>,
        stats: Arc<MatcherStats>,
    ) -> Self {
        let base = engine.last_seq();
        Self {
            engine,
            prefetcher: Prefetcher::new(PREFETCH_STAGES),
            input,
            output,
            base,
            control,
            done,
            stats,
            snapshots: None,
            checkpoint_every: 0,
            next_checkpoint: u64::MAX,
            checkpoint: None,
        }
    }

    /// Computes and logs the state hash at every multiple of `every` (replica sets compare them).
    pub fn with_checkpoints(mut self, every: u64, into: Arc<StateCheckpoint>) -> Self {
        if every > 0 {
            self.checkpoint_every = every;
            self.next_checkpoint = (self.engine.last_seq() / every + 1) * every;
            self.checkpoint = Some(into);
        }
        self
    }

    /// Runs until the input ring closes or halts; returns the engine (for the
    /// shutdown snapshot and the final state hash).
    pub fn run(mut self) -> Engine {
        self.control.next_expiry_ns.store(self.engine.next_expiry_ns(), Ordering::Relaxed);
        // Closed (clean shutdown) or halted (a failing stage): either way, stop.
        loop {
            // Idle, the matcher still answers a snapshot request (SIGUSR1).
            let waited = match &self.snapshots {
                Some(snap) => self.input.wait_unless(|| snap.wanted()),
                None => self.input.wait().map(Some),
            };
            let range = match waited {
                Ok(Some(range)) => range,
                Ok(None) => {
                    if let Some(snap) = &mut self.snapshots {
                        if snap.due(0) {
                            snap.take(&self.engine, &mut self.output, &self.control);
                        }
                    }
                    continue;
                }
                Err(_) => break,
            };
            let (lo, hi) = (*range.start(), *range.end());
            let n = range.clone().count() as u64;
            let mut sink = RingSink {
                out: &mut self.output,
                control: &self.control,
                claimed: None,
                pending: 0,
                events: 0,
                halted: false,
                timestamp_ns: 0,
            };
            // Asked once a batch: on a book that fits the caches the book's prefetch stages cost
            // more than they save (the command stage runs on every book).
            let book_stages = self.engine.prefetch_pays();
            for s in range {
                // The commands after this one in the batch are journaled already: start their
                // cache misses now, in stages (the prefetches change nothing else).
                let input = &self.input;
                self.prefetcher.before(&self.engine, s as u64, book_stages, |k| {
                    let at = s + k as i64;
                    (at <= hi).then(|| &input.get(at).cmd)
                });
                let cmd = self.input.get(s).cmd;
                sink.timestamp_ns = cmd.timestamp_ns;
                let seq = self.base + s as u64 + 1;
                self.engine.apply(seq, &cmd, &mut sink);
                if seq == self.next_checkpoint {
                    let hash = self.engine.state_hash();
                    tracing::info!(seq, state_hash = format!("{hash:032x}"), "state checkpoint");
                    if let Some(c) = &self.checkpoint {
                        *c.last.lock().unwrap_or_else(|e| e.into_inner()) = (seq, hash);
                    }
                    self.next_checkpoint = seq + self.checkpoint_every;
                }
            }
            sink.flush();
            let events = sink.events;
            let halted = sink.halted;
            // One clock read per batch: every command of it is applied and its events are out.
            let now = now_ns();
            for s in lo..=hi {
                self.stats.latency.record(now.saturating_sub(self.input.get(s).cmd.timestamp_ns));
            }
            self.input.release(hi);
            // After the events are published: the publisher reads `done`
            // before the output ring, so it sees every event of these commands.
            self.done.store(hi, Ordering::Release);
            self.control.publisher_wake.notify();
            self.control.next_expiry_ns.store(self.engine.next_expiry_ns(), Ordering::Relaxed);
            self.stats.commands.fetch_add(n, Ordering::Relaxed);
            self.stats.events.fetch_add(events, Ordering::Relaxed);
            if halted {
                break;
            }
            if let Some(snap) = &mut self.snapshots {
                if snap.due(n) {
                    snap.take(&self.engine, &mut self.output, &self.control);
                }
            }
        }
        if let Some(snap) = &self.snapshots {
            snap.finish();
        }
        self.engine
    }

    /// Takes snapshots when `snapshots` says so (on request or every N commands).
    pub fn with_snapshots(mut self, snapshots: crate::snapshotter::MatcherSnapshots) -> Self {
        self.snapshots = Some(snapshots);
        self
    }
}
