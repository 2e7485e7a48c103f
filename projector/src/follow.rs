//! The follower thread: rebuilds the engine at the checkpoint, then applies journal records as
//! they appear and cuts them into batches, by count and by time.
//!
//! A batch goes to the writer when it holds `max_records` records (the follower waits for room),
//! or, sooner, when it is `linger` old or the journal has nothing newer, provided the writer has
//! room: while the database is busy, the batch grows (group commit), so a slow database gets
//! fewer, larger transactions and a quiet journal gets its rows within a few milliseconds.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{error::TrySendError, Sender};

use crate::projection::{ProjectError, Projection};
use crate::rows::Batch;
use crate::schema::Checkpoint;
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
}

/// What the follower sends: a batch, or why it stopped.
pub type Message = Result<Batch, FollowError>;

/// Starts the follower thread at `checkpoint`. It stops when `stop` is set, the receiver is gone,
/// an error was sent, or (with `exit_at_end`) the journal's end was reached.
pub fn spawn(
    data_dir: PathBuf,
    checkpoint: Checkpoint,
    batching: Batching,
    tx: Sender<Message>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("follower".into())
        .spawn(move || {
            let outcome = Source::at_checkpoint(&data_dir, checkpoint.seq, checkpoint.state_hash)
                .map_err(FollowError::from)
                .and_then(|source| follow(source, checkpoint.ts_ns, batching, &tx, &stop));
            if let Err(e) = outcome {
                let _ = tx.blocking_send(Err(e));
            }
        })
        .expect("spawn the follower thread")
}

/// The loop: apply, add rows, cut batches.
fn follow(
    mut source: Source,
    checkpoint_ts_ns: u64,
    batching: Batching,
    tx: &Sender<Message>,
    stop: &AtomicBool,
) -> Result<(), FollowError> {
    let mut projection = source.engine().map(Projection::from_engine);
    tracing::info!(seq = source.next_seq() - 1, "engine rebuilt at the checkpoint and verified; projecting");
    let mut events = Vec::with_capacity(1024);
    let mut batch = Batch::new(source.next_seq());
    batch.last_ts_ns = checkpoint_ts_ns;
    while !stop.load(Ordering::Relaxed) {
        events.clear();
        let applied = source.next(&mut events)?;
        match applied {
            Some(Applied::Command(seq, cmd)) => {
                let engine = source.engine().expect("a command follows the engine-config record");
                let p = projection.get_or_insert_with(|| Projection::from_engine(engine));
                p.apply(engine, seq, &cmd, &events, &mut batch)?;
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
        if batch.records == 0 {
            if caught_up && batching.exit_at_end {
                return Ok(());
            }
            if caught_up {
                std::thread::sleep(batching.idle_poll);
            }
            continue;
        }
        let full = batch.records >= batching.max_records;
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
