//! The follower thread: rebuilds the engine at the checkpoint, then applies journal records as
//! they appear and cuts them into batches, by count and by time.
//!
//! A batch goes to the writer when it holds `max_records` records (the follower waits for room),
//! or, sooner, when it is `linger` old or the journal has nothing newer, provided the writer has
//! room: while the database is busy, the batch grows (group commit), so a slow database gets
//! fewer, larger transactions and a quiet journal gets its rows within a few milliseconds.
//!
//! When the two table groups' checkpoints differ (a crash between their commits), the engine is
//! rebuilt at the older one and the first batch runs exactly to the newer one: only the lagging
//! group writes it (the other already has those rows), and it is sent only once the engine's
//! state hash there matches the newer checkpoint's. From then on both groups write every batch.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{error::TrySendError, Sender};

use crate::projection::{ProjectError, Projection};
use crate::rows::Batch;
use crate::schema::{Checkpoint, Checkpoints, Group};
use crate::source::{Applied, Source, SourceError};

/// How batches are cut.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Records at which a batch is sent whatever the writer is doing.
    pub max_records: u64,
    /// Age at which a batch is sent when the writer has room.
    pub linger: Duration,
    /// Sleep when the journal has nothing new.
    pub idle_poll: Duration,
    /// Stop (end the stream) once the journal has nothing new and everything was sent.
    pub exit_at_end: bool,
}

/// Why the follower stopped (any of these stops the projector: they are not the database's).
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Reading or replaying the journal.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Turning events into rows.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// The database was projected without the futures tables up to `futures_from` (a projector
    /// before schema version 4), and the journal had a perpetual by then: its positions, wallets
    /// and history up to there are missing. Nothing was written.
    #[error(
        "the database was projected without the futures tables up to journal record {futures_from} (by a \
         matchd-projector before schema version 4), and the journal had a perpetual by then (at record {seq}): \
         its positions, futures wallets and their history up to there are not in the database; project into an \
         empty database"
    )]
    FuturesNotProjected {
        /// Where the database's futures rows begin.
        futures_from: u64,
        /// The record at which the projector found a perpetual.
        seq: u64,
    },
}

/// Refuses to go on when a record up to `futures_from` (where a database upgraded to schema
/// version 4 has its futures rows from) is projected with a perpetual in the engine: the rows
/// before the upgrade would be missing.
fn check_futures_from(futures_from: u64, seq: u64, projection: Option<&Projection>) -> Result<(), FollowError> {
    if seq <= futures_from && projection.is_some_and(Projection::has_perpetuals) {
        return Err(FollowError::FuturesNotProjected { futures_from, seq });
    }
    Ok(())
}

/// What the follower sends: a batch, or why it stopped.
pub type Message = Result<Batch, FollowError>;

/// Starts the follower thread at the older of `checkpoints`. It stops when `stop` is set, the
/// receiver is gone, an error was sent, or (with `exit_at_end`) the journal's end was reached.
pub fn spawn(
    data_dir: PathBuf,
    checkpoints: Checkpoints,
    batching: Batching,
    tx: Sender<Message>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("follower".into())
        .spawn(move || {
            let (_, older) = checkpoints.older();
            let outcome = Source::at_checkpoint(&data_dir, older.seq, older.state_hash)
                .map_err(FollowError::from)
                .and_then(|source| follow(source, checkpoints, batching, &tx, &stop));
            if let Err(e) = outcome {
                let _ = tx.blocking_send(Err(e));
            }
        })
        .expect("spawn the follower thread")
}

/// The newer group's checkpoint the first batch must end at, when the groups differ.
struct CatchUp {
    /// The group that has the rows up to `to` already.
    ahead: Group,
    /// Its checkpoint.
    to: Checkpoint,
}

impl CatchUp {
    /// `None` when both groups are at the same record.
    fn of(checkpoints: &Checkpoints) -> Option<CatchUp> {
        let ((lagging, older), (ahead, newer)) = (checkpoints.older(), checkpoints.newer());
        if newer.seq == older.seq {
            return None;
        }
        tracing::info!(
            lagging = lagging.name(),
            from = older.seq,
            to = newer.seq,
            "the table groups' checkpoints differ (a stop between their commits): the first batch catches the lagging group up"
        );
        Some(CatchUp { ahead, to: newer })
    }

    /// At `to`: the engine's state must be the newer checkpoint's (else the journal is not the
    /// one the database was projected from), and the batch holds only the lagging group's rows.
    fn finish(self, source: &Source, batch: &mut Batch) -> Result<(), SourceError> {
        assert_eq!(batch.last_seq, self.to.seq, "the catch-up batch ends at the newer checkpoint");
        let journal = source.engine().map_or(0, |e| e.state_hash());
        if let Some(want) = self.to.state_hash {
            if want != journal {
                return Err(SourceError::StateHashMismatch {
                    seq: self.to.seq,
                    checkpoint: want,
                    journal,
                    dir: source.dir().to_path_buf(),
                });
            }
        }
        batch.clear(self.ahead);
        Ok(())
    }
}

/// The loop: apply, add rows, cut batches.
fn follow(
    mut source: Source,
    checkpoints: Checkpoints,
    batching: Batching,
    tx: &Sender<Message>,
    stop: &AtomicBool,
) -> Result<(), FollowError> {
    let mut projection = source.engine().map(Projection::from_engine);
    let futures_from = checkpoints.state.futures_from.max(checkpoints.history.futures_from);
    check_futures_from(futures_from, source.next_seq() - 1, projection.as_ref())?;
    tracing::info!(seq = source.next_seq() - 1, "engine rebuilt at the checkpoint and verified; projecting");
    let mut catch_up = CatchUp::of(&checkpoints);
    let mut events = Vec::with_capacity(1024);
    let mut batch = Batch::new(source.next_seq());
    batch.last_ts_ns = checkpoints.older().1.ts_ns;
    while !stop.load(Ordering::Relaxed) {
        events.clear();
        let applied = source.next(&mut events)?;
        match applied {
            Some(Applied::Command(seq, cmd)) => {
                let engine = source.engine().expect("a command follows the engine-config record");
                let p = projection.get_or_insert_with(|| Projection::from_engine(engine));
                p.apply(engine, seq, &cmd, &events, &mut batch)?;
                check_futures_from(futures_from, seq, Some(p))?;
                batch.last_ts_ns = cmd.timestamp_ns;
                batch.last_seq = seq;
                batch.records += 1;
            }
            Some(Applied::Other(seq)) => {
                if projection.is_none() {
                    projection = source.engine().map(Projection::from_engine);
                }
                batch.last_seq = seq;
                batch.records += 1;
            }
            None => {}
        }
        let caught_up = applied.is_none();
        let mut full = batch.records >= batching.max_records;
        if let Some(c) = &catch_up {
            if batch.last_seq < c.to.seq {
                if caught_up {
                    // The journal ends before the newer group's checkpoint: nothing was written.
                    let journal_end = source.next_seq() - 1;
                    let dir = source.dir().to_path_buf();
                    return Err(SourceError::DatabaseAhead { checkpoint: c.to.seq, journal_end, dir }.into());
                }
                continue;
            }
            catch_up.take().expect("checked above").finish(&source, &mut batch)?;
            full = true;
        }
        if batch.records == 0 {
            if caught_up && batching.exit_at_end {
                return Ok(());
            }
            if caught_up {
                std::thread::sleep(batching.idle_poll);
            }
            continue;
        }
        let due = caught_up || batch.started.elapsed() >= batching.linger;
        if full || (due && tx.capacity() > 0) {
            batch.state_hash = source.engine().map_or(0, |e| e.state_hash());
            let mut next = Batch::new(source.next_seq());
            // A batch of non-command records still checkpoints the last command's stamp.
            next.last_ts_ns = batch.last_ts_ns;
            let sent = std::mem::replace(&mut batch, next);
            match tx.try_send(Ok(sent)) {
                Ok(()) => {}
                Err(TrySendError::Full(b)) => {
                    if tx.blocking_send(b).is_err() {
                        return Ok(());
                    }
                }
                Err(TrySendError::Closed(_)) => return Ok(()),
            }
        } else if caught_up {
            std::thread::sleep(batching.idle_poll);
        }
    }
    Ok(())
}
