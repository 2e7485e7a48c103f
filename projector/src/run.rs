//! The projector's wiring: one *session* per pair of database connections (connect, check and
//! migrate the schema, read the two table groups' checkpoints, start a follower at the older,
//! and hand every batch to two writers, one per group and connection, each committing its
//! group's rows and checkpoint in order). Two connections are two PostgreSQL backends: the
//! groups are written on two cores at once. A database error ends the session; the next one
//! starts again from whatever checkpoints the database holds, so a lost connection, a restarted
//! PostgreSQL or a commit whose outcome was never heard of all resume with no gap and no
//! duplicate, per group. Errors about the input (schema, journal, checkpoint) stop the projector
//! with nothing written.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{Receiver, Sender};
use tokio::sync::Notify;
use tokio_postgres::{Client, NoTls};

use crate::follow::{self, Batching, FollowError};
use crate::metrics::Metrics;
use crate::rows::Batch;
use crate::schema::{self, Checkpoints, Group, SchemaError};
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

/// Connects `group`'s connection (its driver runs as a task until the client is dropped, then
/// notifies `closed`). Its `application_name` is `matchd-projector/<group>` unless the connection
/// string sets one, so `pg_stat_activity` (and the load of each backend) tells the groups'
/// sessions apart.
async fn connect(
    url: &str,
    group: Group,
    closed: Arc<Notify>,
) -> Result<(Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = url.parse()?;
    if config.get_application_name().is_none() {
        config.application_name(format!("matchd-projector/{}", group.name()));
    }
    let (client, connection) = config.connect(NoTls).await?;
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("connection closed: {e}");
        }
        // `notify_one` keeps a permit when nobody waits yet: a loss is never missed.
        closed.notify_one();
    });
    Ok((client, task))
}

/// One session's life: a connection per table group.
async fn session(
    opts: &Options,
    metrics: &Arc<Metrics>,
    stop: &Arc<AtomicBool>,
    watcher_started: &mut bool,
) -> Result<SessionEnd, RunError> {
    // Either connection's end: an idle session notices a lost server at once (and `projector_up`
    // says so), not at its next batch.
    let closed = Arc::new(Notify::new());
    let (state, history) = match tokio::try_join!(
        connect(&opts.database_url, Group::State, closed.clone()),
        connect(&opts.database_url, Group::History, closed.clone())
    ) {
        Ok(c) => c,
        Err(e) => return db_end(e),
    };
    let mut clients = [state.0, history.0];
    let outcome = project(opts, metrics, stop, watcher_started, &mut clients, &closed).await;
    drop(clients);
    state.1.abort();
    history.1.abort();
    outcome
}

/// Schema, checkpoints, follower, then the writers.
async fn project(
    opts: &Options,
    metrics: &Arc<Metrics>,
    stop: &Arc<AtomicBool>,
    watcher_started: &mut bool,
    clients: &mut [Client; 2],
    closed: &Notify,
) -> Result<SessionEnd, RunError> {
    match schema::migrate(&mut clients[0]).await {
        Ok(_) => {}
        Err(SchemaError::Db(e)) => return db_end(e),
        // Each migration is one transaction: a connection lost in the middle left nothing.
        Err(SchemaError::Migrate(e)) if clients[0].is_closed() => return Ok(SessionEnd::Retry(e.to_string())),
        Err(e) => return Err(e.into()),
    }
    let set = format!("SET synchronous_commit = {}", if opts.synchronous_commit { "on" } else { "off" });
    if let Err(e) = tokio::try_join!(clients[0].batch_execute(&set), clients[1].batch_execute(&set)) {
        return db_end(e);
    }
    let checkpoints = match schema::read_checkpoints(&clients[0]).await {
        Ok(c) => c,
        Err(SchemaError::Db(e)) => return db_end(e),
        Err(e) => return Err(e.into()),
    };
    let statements = match tokio::try_join!(
        Statements::prepare(&clients[0], Group::State),
        Statements::prepare(&clients[1], Group::History)
    ) {
        Ok((a, b)) => [a, b],
        Err(e) => return db_end(e),
    };
    let (_, older) = checkpoints.older();
    metrics.connected.store(true, Relaxed);
    metrics.committed_seq.store(older.seq, Relaxed);
    metrics.committed_ts_ns.store(older.ts_ns, Relaxed);
    if !*watcher_started {
        let dir = crate::source::journal_dir(&opts.data_dir);
        crate::metrics::spawn_journal_watcher(dir, older.seq, metrics.clone(), Duration::from_millis(200));
        *watcher_started = true;
    }
    tracing::info!(
        state_seq = checkpoints.state.seq,
        history_seq = checkpoints.history.seq,
        "checkpoints read; rebuilding the engine at the older"
    );
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let follower_stop = Arc::new(AtomicBool::new(false));
    let follower = follow::spawn(opts.data_dir.clone(), checkpoints, opts.batching, tx, follower_stop.clone());
    let outcome = write_loop(clients, &statements, checkpoints, rx, metrics, stop, closed).await;
    // The follower sees the flag, or its next send fails; wait for it so two engines never
    // coexist.
    follower_stop.store(true, Relaxed);
    let _ = tokio::task::spawn_blocking(move || follower.join()).await;
    outcome
}

/// Why the write loop ended before the follower did.
enum LoopError {
    /// A writer failed.
    Write(WriteError),
    /// The follower failed.
    Run(RunError),
}

/// What both groups have committed, for the metrics: a batch counts once both have it.
struct Progress {
    /// Each group's checkpoint (`Group::ALL` order).
    seq: [Cell<u64>; 2],
    /// The last record counted in the totals.
    counted: Cell<u64>,
}

impl Progress {
    fn new(checkpoints: &Checkpoints) -> Progress {
        let seq = Group::ALL.map(|g| Cell::new(checkpoints.get(g).seq));
        let counted = Cell::new(checkpoints.older().1.seq);
        Progress { seq, counted }
    }

    /// `group` has `batch` now (written, or had it already).
    fn committed(&self, group: Group, batch: &Batch, metrics: &Metrics) {
        self.seq[group.checkpoint_id() as usize - 1].set(batch.last_seq);
        let both = self.seq.iter().map(Cell::get).min().expect("two groups");
        if both > self.counted.get() {
            assert_eq!(both, batch.last_seq, "groups commit the same batches in the same order");
            self.counted.set(both);
            metrics.committed_seq.store(both, Relaxed);
            if batch.last_ts_ns != 0 {
                metrics.committed_ts_ns.store(batch.last_ts_ns, Relaxed);
            }
            metrics.records_total.fetch_add(batch.records, Relaxed);
            metrics.events_total.fetch_add(batch.events, Relaxed);
            metrics.batches_total.fetch_add(1, Relaxed);
            tracing::debug!(first = batch.first_seq, last = batch.last_seq, rows = batch.rows(), "batch committed");
        }
    }
}

/// Hands the follower's batches to both writers, in order, until the follower ends, `stop` is
/// set (the writers then finish what they hold) or a connection closes.
async fn dispatch(
    rx: &mut Receiver<follow::Message>,
    to: [Sender<Arc<Batch>>; 2],
    stop: &AtomicBool,
    closed: &Notify,
) -> Result<SessionEnd, LoopError> {
    loop {
        let msg = tokio::select! {
            m = rx.recv() => m,
            // A writer mid-batch fails on its own; this ends a session that has nothing to write.
            () = closed.notified() => return Ok(SessionEnd::Retry("a database connection closed".into())),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if stop.load(Relaxed) { return Ok(SessionEnd::Finished) }
                continue;
            }
        };
        let batch = match msg {
            None => return Ok(SessionEnd::Finished),
            Some(Err(e)) => return Err(LoopError::Run(e.into())),
            Some(Ok(b)) => Arc::new(b),
        };
        for sender in &to {
            // A writer only stops on an error, which ends the loop before this send could fail.
            if sender.send(batch.clone()).await.is_err() {
                return Ok(SessionEnd::Finished);
            }
        }
    }
}

/// Commits `group`'s rows of each batch, in order, from `committed` on.
#[allow(clippy::too_many_arguments)]
async fn group_writer(
    client: &mut Client,
    statements: &Statements,
    group: Group,
    mut committed: u64,
    mut rx: Receiver<Arc<Batch>>,
    progress: &Progress,
    metrics: &Metrics,
) -> Result<(), LoopError> {
    while let Some(batch) = rx.recv().await {
        let started = Instant::now();
        let wrote = writer::write(client, statements, &batch, group, committed).await.map_err(LoopError::Write)?;
        committed = batch.last_seq;
        if wrote {
            let micros = started.elapsed().as_micros() as u64;
            metrics.write_micros_total[group.checkpoint_id() as usize - 1].fetch_add(micros, Relaxed);
            metrics.rows_total.fetch_add(batch.rows_of(group), Relaxed);
        }
        progress.committed(group, &batch, metrics);
    }
    Ok(())
}

/// Commits the follower's batches, each group on its own connection, until the follower ends,
/// the database fails or `stop` is set. A group may run one batch ahead of the other.
async fn write_loop(
    clients: &mut [Client; 2],
    statements: &[Statements; 2],
    checkpoints: Checkpoints,
    mut rx: Receiver<follow::Message>,
    metrics: &Metrics,
    stop: &AtomicBool,
    closed: &Notify,
) -> Result<SessionEnd, RunError> {
    let progress = Progress::new(&checkpoints);
    let (state_tx, state_rx) = tokio::sync::mpsc::channel(1);
    let (history_tx, history_rx) = tokio::sync::mpsc::channel(1);
    let [state_client, history_client] = clients;
    let [state_st, history_st] = statements;
    let outcome = tokio::try_join!(
        dispatch(&mut rx, [state_tx, history_tx], stop, closed),
        group_writer(state_client, state_st, Group::State, checkpoints.state.seq, state_rx, &progress, metrics),
        group_writer(
            history_client,
            history_st,
            Group::History,
            checkpoints.history.seq,
            history_rx,
            &progress,
            metrics
        ),
    );
    drop(rx);
    match outcome {
        Ok((end, (), ())) => Ok(end),
        Err(LoopError::Run(e)) => Err(e),
        Err(LoopError::Write(WriteError::Db { source, .. })) => db_end(source),
        Err(LoopError::Write(e)) => Err(RunError::Write(e)),
    }
}
