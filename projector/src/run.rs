//! The projector's wiring: one *session* per database connection (connect, check and migrate
//! the schema, read the checkpoint, start a follower there, commit its batches in order). A
//! database error ends the session; the next one starts again from whatever checkpoint the
//! database holds, so a lost connection, a restarted PostgreSQL or a commit whose outcome was
//! never heard of all resume with no gap and no duplicate. Errors about the input (schema,
//! journal, checkpoint) stop the projector with nothing written.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

use crate::follow::{self, Batching, FollowError};
use crate::metrics::Metrics;
use crate::schema::{self, SchemaError};
use crate::writer::{self, Statements, WriteError};

/// What the projector needs to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// matchd's data directory (its `journal/` and `snapshots/`), read only.
    pub data_dir: PathBuf,
    /// libpq-style connection string (`host=... port=... user=... dbname=...`).
    pub database_url: String,
    /// How batches are cut.
    pub batching: Batching,
    /// `synchronous_commit` for the projector's sessions. `off` keeps exactly-once (a commit
    /// lost in a PostgreSQL crash loses its checkpoint with its rows, and is projected again).
    pub synchronous_commit: bool,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
}

/// Why the projector stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The database's schema is newer, or migrating failed.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The journal cannot be projected into this database (ahead, mismatched, missing history,
    /// corrupt) or a value cannot be stored.
    #[error(transparent)]
    Follow(#[from] FollowError),
    /// Another projector writes into the same database.
    #[error(transparent)]
    Write(WriteError),
    /// A database error that reconnecting does not cure.
    #[error("database: {0}")]
    Db(tokio_postgres::Error),
}

/// How a session ended.
enum SessionEnd {
    /// The follower reached the journal's end (`exit_at_end`).
    Finished,
    /// The database failed; reconnect.
    Retry(String),
}

/// Whether reconnecting may cure `e`: connection and server-availability errors, and
/// serialization failures (SQLSTATE classes 08, 57, 53, 40); not constraint violations or bad
/// statements, which would fail again.
fn retryable(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        None => true,
        Some(c) => matches!(&c.code()[..2], "08" | "57" | "53" | "40"),
    }
}

/// Runs sessions until the follower finishes (`exit_at_end`), `stop` is set, or an error
/// reconnecting cannot cure.
pub async fn run(opts: &Options, metrics: Arc<Metrics>, stop: Arc<AtomicBool>) -> Result<(), RunError> {
    let mut backoff = Duration::from_millis(100);
    let mut watcher_started = false;
    while !stop.load(Relaxed) {
        match session(opts, &metrics, &stop, &mut watcher_started).await? {
            SessionEnd::Finished => return Ok(()),
            SessionEnd::Retry(why) => {
                metrics.connected.store(false, Relaxed);
                metrics.reconnects_total.fetch_add(1, Relaxed);
                tracing::warn!(backoff_ms = backoff.as_millis() as u64, "database session ended: {why}; reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(opts.max_backoff);
            }
        }
    }
    Ok(())
}

/// Maps a database error to a retry or a stop.
fn db_end(e: tokio_postgres::Error) -> Result<SessionEnd, RunError> {
    if retryable(&e) {
        Ok(SessionEnd::Retry(e.to_string()))
    } else {
        Err(RunError::Db(e))
    }
}

/// One connection's life.
async fn session(
    opts: &Options,
    metrics: &Arc<Metrics>,
    stop: &Arc<AtomicBool>,
    watcher_started: &mut bool,
) -> Result<SessionEnd, RunError> {
    let (mut client, connection) = match tokio_postgres::connect(&opts.database_url, NoTls).await {
        Ok(c) => c,
        Err(e) => return db_end(e),
    };
    let conn_task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("connection closed: {e}");
        }
    });
    let outcome = project(opts, metrics, stop, watcher_started, &mut client).await;
    drop(client);
    conn_task.abort();
    outcome
}

/// Schema, checkpoint, follower, then the writer loop.
async fn project(
    opts: &Options,
    metrics: &Arc<Metrics>,
    stop: &Arc<AtomicBool>,
    watcher_started: &mut bool,
    client: &mut Client,
) -> Result<SessionEnd, RunError> {
    match schema::migrate(client).await {
        Ok(_) => {}
        Err(SchemaError::Db(e)) => return db_end(e),
        // Each migration is one transaction: a connection lost in the middle left nothing.
        Err(SchemaError::Migrate(e)) if client.is_closed() => return Ok(SessionEnd::Retry(e.to_string())),
        Err(e) => return Err(e.into()),
    }
    let sync = if opts.synchronous_commit { "on" } else { "off" };
    if let Err(e) = client.batch_execute(&format!("SET synchronous_commit = {sync}")).await {
        return db_end(e);
    }
    let (checkpoint, statements) = match tokio::try_join!(schema::read_checkpoint(client), Statements::prepare(client))
    {
        Ok(x) => x,
        Err(e) => return db_end(e),
    };
    metrics.connected.store(true, Relaxed);
    metrics.committed_seq.store(checkpoint.seq, Relaxed);
    metrics.committed_ts_ns.store(checkpoint.ts_ns, Relaxed);
    if !*watcher_started {
        let dir = crate::source::journal_dir(&opts.data_dir);
        crate::metrics::spawn_journal_watcher(dir, checkpoint.seq, metrics.clone(), Duration::from_millis(200));
        *watcher_started = true;
    }
    tracing::info!(seq = checkpoint.seq, "checkpoint read; rebuilding the engine there");
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let follower_stop = Arc::new(AtomicBool::new(false));
    let follower = follow::spawn(opts.data_dir.clone(), checkpoint, opts.batching, tx, follower_stop.clone());
    let outcome = write_loop(client, &statements, checkpoint.seq, &mut rx, metrics, stop).await;
    // The follower sees the flag, or its next send fails; wait for it so two engines never
    // coexist.
    follower_stop.store(true, Relaxed);
    drop(rx);
    let _ = tokio::task::spawn_blocking(move || follower.join()).await;
    outcome
}

/// Commits the follower's batches in order until it ends, the database fails or `stop` is set.
async fn write_loop(
    client: &mut Client,
    statements: &Statements,
    mut committed: u64,
    rx: &mut tokio::sync::mpsc::Receiver<follow::Message>,
    metrics: &Metrics,
    stop: &AtomicBool,
) -> Result<SessionEnd, RunError> {
    loop {
        let msg = tokio::select! {
            m = rx.recv() => m,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if stop.load(Relaxed) { return Ok(SessionEnd::Finished) }
                continue;
            }
        };
        let batch = match msg {
            None => return Ok(SessionEnd::Finished),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(b)) => b,
        };
        let started = Instant::now();
        match writer::write(client, statements, &batch, committed).await {
            Ok(()) => {}
            Err(WriteError::Db { source, .. }) => return db_end(source),
            Err(e) => return Err(RunError::Write(e)),
        }
        committed = batch.last_seq;
        metrics.write_micros_total.fetch_add(started.elapsed().as_micros() as u64, Relaxed);
        metrics.committed_seq.store(committed, Relaxed);
        if batch.last_ts_ns != 0 {
            metrics.committed_ts_ns.store(batch.last_ts_ns, Relaxed);
        }
        metrics.records_total.fetch_add(batch.records, Relaxed);
        metrics.events_total.fetch_add(batch.events, Relaxed);
        metrics.rows_total.fetch_add(batch.rows(), Relaxed);
        metrics.batches_total.fetch_add(1, Relaxed);
        tracing::debug!(first = batch.first_seq, last = batch.last_seq, rows = batch.rows(), "batch committed");
    }
}
