//! Snapshots while running: the matcher copies the engine state at a
//! command boundary (its only pause) and puts a marker into the output ring;
//! the publisher saves its report numbering when it reaches that marker, so
//! both halves describe the same journal sequence; a writer thread joins
//! them, writes the file (temp, fsync, rename) and prunes old snapshots.
//! Triggered every `every_commands` commands and on SIGUSR1.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

use engine::{Engine, EngineSnapshot};
use ring::Producer;

use crate::control::ControlPlane;
use crate::slots::OutputSlot;

/// Counters for metrics and logs.
#[derive(Debug, Default)]
pub struct SnapshotStats {
    /// Snapshots written.
    pub written: AtomicU64,
    /// Snapshots that failed to write.
    pub failed: AtomicU64,
    /// Longest matcher pause taking a copy, ns.
    pub max_pause_ns: AtomicU64,
}

/// The matcher's side.
pub struct MatcherSnapshots {
    requested: Arc<AtomicBool>,
    every_commands: u64,
    since_last: u64,
    to_writer: Sender<(u64, EngineSnapshot, u64)>,
    spare: Receiver<EngineSnapshot>,
    stats: Arc<SnapshotStats>,
}

impl MatcherSnapshots {
    /// Whether a snapshot is due after `applied` more commands.
    #[inline]
    pub fn due(&mut self, applied: u64) -> bool {
        self.since_last += applied;
        let periodic = self.every_commands != 0 && self.since_last >= self.every_commands;
        periodic || self.requested.swap(false, Ordering::Relaxed)
    }

    /// Copies the engine (the pause), marks the point in the output ring and
    /// hands the copy to the writer.
    pub fn take(&mut self, engine: &Engine, output: &mut Producer<OutputSlot>, control: &ControlPlane) {
        self.since_last = 0;
        let started = Instant::now();
        let mut snap = self.spare.try_recv().unwrap_or_default();
        engine.snapshot_into(&mut snap);
        let pause_ns = started.elapsed().as_nanos() as u64;
        self.stats.max_pause_ns.fetch_max(pause_ns, Ordering::Relaxed);
        let seq = engine.last_seq();
        let Ok(r) = output.claim(1) else { return };
        let s = *r.end();
        let slot = output.slot_mut(s);
        slot.snapshot_seq = seq;
        output.publish(s);
        control.publisher_wake.notify();
        // The writer only fails to receive if it died; the snapshot is then skipped.
        let _ = self.to_writer.send((seq, snap, pause_ns));
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

/// Starts the writer thread; returns the two sides to give the matcher and
/// the publisher, and the flag SIGUSR1 sets.
pub fn start(
    dir: PathBuf,
    keep: usize,
    every_commands: u64,
    reports_per_account: u64,
    requested: Arc<AtomicBool>,
    stats: Arc<SnapshotStats>,
) -> std::io::Result<(MatcherSnapshots, PublisherSnapshots, std::thread::JoinHandle<()>)> {
    let (eng_tx, eng_rx) = std::sync::mpsc::channel::<(u64, EngineSnapshot, u64)>();
    let (pub_tx, pub_rx) = std::sync::mpsc::channel::<(u64, Vec<u8>)>();
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<EngineSnapshot>();
    let writer_stats = stats.clone();
    let handle = std::thread::Builder::new().name("matchd-snapshot".into()).spawn(move || {
        // Both halves of one snapshot arrive in order; stop when the matcher is gone.
        while let Ok((seq, snap, pause_ns)) = eng_rx.recv() {
            let publisher = loop {
                match pub_rx.recv() {
                    Ok((s, bytes)) if s == seq => break Some(bytes),
                    Ok(_) => continue,
                    Err(_) => break None,
                }
            };
            let Some(publisher) = publisher else { return };
            let started = Instant::now();
            match snapshot::write_snapshot(&dir, &snap, &publisher) {
                Ok(w) => {
                    writer_stats.written.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        seq,
                        pause_ms = pause_ns as f64 / 1e6,
                        write_ms = started.elapsed().as_millis() as u64,
                        path = %w.path.display(),
                        "snapshot written"
                    );
                    if let Err(e) = snapshot::prune(&dir, keep) {
                        tracing::warn!("snapshot pruning failed: {e}");
                    }
                }
                Err(e) => {
                    writer_stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(seq, "snapshot failed (matchd keeps running; the journal is intact): {e}");
                }
            }
            let _ = spare_tx.send(snap);
        }
    })?;
    Ok((
        MatcherSnapshots { requested, every_commands, since_last: 0, to_writer: eng_tx, spare: spare_rx, stats },
        PublisherSnapshots { reports_per_account, to_writer: pub_tx },
        handle,
    ))
}
