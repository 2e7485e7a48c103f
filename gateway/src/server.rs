//! Starting, running and stopping matchd: open the journal (recovery),
//! rebuild state by replaying it, start the four pipeline threads, and on
//! SIGTERM/SIGINT drain everything in order and exit cleanly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use engine::command_codec::{
    decode, decode_engine_config, encode, encode_engine_config, MAX_COMMAND_BYTES, RECORD_COMMAND, RECORD_ENGINE_CONFIG,
};
use engine::{Command, CommandKind, Engine, Event, EventSink};
use journal::{JournalReader, JournalWriter, SyncPolicy};
use ring::{RingBuilder, WaitStrategyKind};

use crate::clock::now_ns;
use crate::config::{Config, Durability, Role};
use crate::control::ControlPlane;
use crate::credential::Credential;
use crate::gateway_thread::{AccountAuth, Gateway, GatewayStats, GATEWAY_WAKER_TOKEN};
use crate::journaller::{Journaller, JournallerStats};
use crate::matcher::{Matcher, MatcherStats};
use crate::md_feed::{MdBooks, MdSettings};
use crate::metrics::{Health, Registry};
use crate::monitor::Monitor;
use crate::publisher::{Publisher, PublisherSettings, PublisherStats, Reports, PUBLISHER_WAKER_TOKEN};
use crate::sd_notify::{self, Notifier};
use crate::slots::{InputSlot, OutputSlot};

/// Why matchd could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory is unusable.
    #[error("data directory {dir}: {source}")]
    DataDir {
        /// Directory.
        dir: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// The journal could not be opened (lock held, corruption, disk).
    #[error("journal in {dir}: {source}")]
    JournalOpen {
        /// Directory.
        dir: PathBuf,
        /// Cause.
        source: journal::OpenError,
    },
    /// Reading the journal for replay failed.
    #[error("journal replay: {0}")]
    Replay(String),
    /// Writing the initial records failed.
    #[error("journal write: {0}")]
    JournalWrite(#[from] journal::WriteError),
    /// Binding the listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address.
        addr: std::net::SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// Binding the metrics listener failed.
    #[error("cannot listen for metrics on {addr} (metrics.listen): {source}")]
    MetricsListen {
        /// Address.
        addr: std::net::SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// Other I/O at startup.
    #[error("startup: {0}")]
    Io(#[from] std::io::Error),
    /// A pipeline stage failed while running.
    #[error("pipeline failed: {0}")]
    Pipeline(String),
}

/// Statistics of the startup replay.
#[derive(Debug, Clone, Copy)]
pub struct ReplayStats {
    /// Commands applied.
    pub commands: u64,
    /// Time taken.
    pub elapsed: Duration,
}

/// Files under the data directory.
pub fn journal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

fn sync_policy(cfg: &Config) -> SyncPolicy {
    match cfg.journal.durability {
        Durability::None => SyncPolicy::None,
        Durability::Batch => SyncPolicy::Batch,
        Durability::Interval => SyncPolicy::Interval { ms: cfg.journal.interval_ms },
    }
}

/// Feeds replayed events into the report streams and the market-data mirror (nothing is sent).
struct ReplaySink<'a>(&'a mut Reports, &'a mut MdBooks);

impl EventSink for ReplaySink<'_> {
    #[inline]
    fn emit(&mut self, event: Event) {
        self.0.record(&event, |_| {});
        self.1.on_event(&event);
    }
}

/// What [`recover`] rebuilds from the journal.
pub struct Recovered {
    /// The journal, open for appending.
    pub writer: JournalWriter,
    /// The engine after every journaled command.
    pub engine: Engine,
    /// Every account's report stream.
    pub reports: Reports,
    /// The market-data mirror of every book (sequence numbers from 0: a new feed epoch).
    pub md: MdBooks,
    /// Replay statistics.
    pub stats: ReplayStats,
}

/// Passes events on and remembers a rejection (of the initial commands, logged).
struct CheckRejects<'a, S> {
    inner: &'a mut S,
    rejected: Option<engine::Rejected>,
}

impl<S: EventSink> EventSink for CheckRejects<'_, S> {
    fn emit(&mut self, event: Event) {
        if let engine::EventKind::Rejected(r) = event.kind {
            self.rejected = Some(r);
        }
        self.inner.emit(event);
    }
}

/// Opens the journal and rebuilds engine and report numbering from it. On a
/// fresh journal, enters the engine capacities, the configured instruments
/// and, in risk mode, the configured fee schedules, accounts and deposits as
/// the first records (the exchange's "initialize" step).
pub fn recover(cfg: &Config) -> Result<Recovered, ServerError> {
    let data_dir = &cfg.data.dir;
    std::fs::create_dir_all(data_dir).map_err(|source| ServerError::DataDir { dir: data_dir.clone(), source })?;
    let dir = journal_dir(data_dir);
    let jcfg = journal::JournalConfig {
        segment_size: cfg.journal.segment_bytes,
        sync_policy: sync_policy(cfg),
        create_dir: true,
        ..Default::default()
    };
    let (mut writer, report) =
        JournalWriter::open(&dir, jcfg).map_err(|source| ServerError::JournalOpen { dir: dir.clone(), source })?;
    if let Some(t) = &report.truncation {
        tracing::warn!(?t, last_good_seq = report.last_good_seq, "journal: torn tail truncated");
    }
    let started = Instant::now();
    let mut engine_cfg = cfg.engine_config();
    let mut reports = Reports::new(engine_cfg.max_accounts, cfg.server.retransmit_messages_per_account as u64);
    let mut md = if cfg.market_data.order_by_order { MdBooks::new() } else { MdBooks::new().without_orders() };
    let mut commands = 0u64;
    let engine = if writer.written_seq() == 0 {
        tracing::info!(dir = %dir.display(), "new journal: entering engine capacities and configured instruments");
        let config_seq = writer.append(RECORD_ENGINE_CONFIG, &encode_engine_config(&engine_cfg))?;
        let mut engine = Engine::new(engine_cfg);
        engine.skip(config_seq);
        let admin = cfg.accounts.iter().find(|a| a.role == Role::Admin).map_or(0, |a| a.id);
        let mut buf = [0u8; MAX_COMMAND_BYTES];
        let mut sink = ReplaySink(&mut reports, &mut md);
        // Instruments, then (risk mode) fee schedules, accounts and initial deposits: admin
        // commands like any other, so a replay rebuilds them.
        let initial = cfg.instrument_specs().into_iter().map(CommandKind::AddInstrument);
        for kind in initial.chain(cfg.initial_account_commands()) {
            let cmd = Command { account: admin, timestamp_ns: now_ns(), kind };
            let n = encode(&cmd, &mut buf);
            let seq = writer.append(RECORD_COMMAND, &buf[..n])?;
            let mut events = CheckRejects { inner: &mut sink, rejected: None };
            engine.apply(seq, &cmd, &mut events);
            if let Some(r) = events.rejected {
                tracing::warn!(seq, command = ?cmd.kind, reason = ?r.reason, "initial command from the config was rejected");
            }
            commands += 1;
        }
        if !engine_cfg.risk_checks
            && (cfg.accounts.iter().any(|a| !a.deposits.is_empty() || a.tier != 0)
                || cfg.instruments.iter().any(|i| i.fee_schedule().is_some()))
        {
            tracing::warn!("engine.risk_checks is off: configured deposits, tiers and fees are not used");
        }
        writer.sync_now()?;
        engine
    } else {
        // The newest valid snapshot no newer than the journal (after a power loss the
        // journal may have lost an unsynced tail a snapshot saw), then the rest.
        let snap_dir = snapshot::snapshot_dir(data_dir);
        let outcome = snapshot::load_newest_valid_at_or_before(&snap_dir, writer.written_seq())
            .map_err(|e| ServerError::Replay(format!("listing snapshots: {e}")))?;
        for (path, err) in &outcome.skipped {
            tracing::warn!(path = %path.display(), "snapshot skipped, using an older one or the journal: {err}");
        }
        let (mut engine, from) = match outcome.loaded {
            Some(l) => {
                reports
                    .import_state(&l.publisher)
                    .map_err(|e| ServerError::Replay(format!("snapshot {}: report state: {e}", l.path.display())))?;
                tracing::info!(
                    seq = l.header.seq,
                    ms = l.elapsed.as_millis() as u64,
                    path = %l.path.display(),
                    "snapshot loaded; replaying the journal after it"
                );
                // The market-data mirror follows events; none before the snapshot are
                // replayed, so it starts from the restored books.
                md = MdBooks::from_engine(&l.engine);
                if !cfg.market_data.order_by_order {
                    md = md.without_orders();
                }
                (Some(l.engine), l.header.seq + 1)
            }
            None => (None, report.first_seq),
        };
        let mut reader = JournalReader::open(&dir, from).map_err(|e| ServerError::Replay(e.to_string()))?;
        let last = writer.written_seq();
        while reader.next_seq() <= last {
            let rec = match reader.next() {
                Ok(Some(r)) => r,
                Ok(None) => {
                    return Err(ServerError::Replay(format!("journal ends at {} before {last}", reader.next_seq())))
                }
                Err(e) => return Err(ServerError::Replay(e.to_string())),
            };
            match (rec.record_type, engine.as_mut()) {
                (RECORD_ENGINE_CONFIG, None) => {
                    let jc = decode_engine_config(rec.payload)
                        .map_err(|e| ServerError::Replay(format!("engine config record at seq {}: {e}", rec.seq)))?;
                    if jc != engine_cfg {
                        tracing::warn!(journal = ?jc, config = ?engine_cfg, "engine capacities differ from the config file: the journal's win (replay must rebuild the same state)");
                    }
                    engine_cfg = jc;
                    let mut e = Engine::new(jc);
                    e.skip(rec.seq);
                    engine = Some(e);
                }
                (RECORD_COMMAND, Some(e)) => {
                    let cmd = decode(rec.payload).map_err(|err| {
                        ServerError::Replay(format!(
                            "undecodable command at seq {} (segment {}, offset {}): {err}",
                            rec.seq, rec.segment_first_seq, rec.offset
                        ))
                    })?;
                    e.apply(rec.seq, &cmd, &mut ReplaySink(&mut reports, &mut md));
                    commands += 1;
                }
                (t, _) => {
                    return Err(ServerError::Replay(format!(
                        "unexpected record type {t} at seq {} (segment {}, offset {})",
                        rec.seq, rec.segment_first_seq, rec.offset
                    )))
                }
            }
        }
        engine.ok_or_else(|| ServerError::Replay("journal has no engine config record".into()))?
    };
    let _ = engine_cfg;
    md.start_epoch();
    Ok(Recovered { writer, engine, reports, md, stats: ReplayStats { commands, elapsed: started.elapsed() } })
}

/// Live counters of every stage.
#[derive(Default, Clone)]
pub struct Stats {
    /// Gateway.
    pub gateway: Arc<GatewayStats>,
    /// Journaller.
    pub journaller: Arc<JournallerStats>,
    /// Matcher.
    pub matcher: Arc<MatcherStats>,
    /// Publisher.
    pub publisher: Arc<PublisherStats>,
    /// Snapshots taken while running.
    pub snapshots: Arc<crate::snapshotter::SnapshotStats>,
}

fn pin(cfg: &Config, name: &str) {
    if let Some(&core) = cfg.pipeline.pin.get(name) {
        if core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
            tracing::info!(thread = name, core, "pinned");
        } else {
            tracing::warn!(thread = name, core, "could not pin thread");
        }
    }
}

fn spawn<T: Send + 'static>(
    name: &str,
    cfg: &Config,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    let cfg = cfg.clone();
    let n = name.to_string();
    std::thread::Builder::new().name(format!("matchd-{name}")).spawn(move || {
        pin(&cfg, &n);
        f()
    })
}

/// Runs matchd until `stop` is set; returns after a clean drain.
pub fn run(cfg: Config, stop: Arc<AtomicBool>) -> Result<(), ServerError> {
    let started_unix = now_ns() as f64 / 1e9;
    let notifier = Notifier::from_env();
    let notifier = notifier.as_ref();
    sd_notify::notify(notifier, "STATUS=replaying the journal");
    let Recovered { writer, engine, reports, md, stats: replay } = recover(&cfg)?;
    // Identifies this run on the market-data feed: its start time (sequence numbers restart).
    let feed_epoch = now_ns();
    let rate = replay.commands as f64 / replay.elapsed.as_secs_f64().max(1e-9);
    tracing::info!(
        commands = replay.commands,
        ms = replay.elapsed.as_millis() as u64,
        cmds_per_sec = rate as u64,
        last_seq = engine.last_seq(),
        state_hash = format!("{:032x}", engine.state_hash()),
        "replay complete"
    );

    let wait: WaitStrategyKind =
        cfg.pipeline.wait_strategy.parse().map_err(|e| ServerError::Pipeline(format!("{e}")))?;
    // The rings' slots are nothing a snapshot child needs: leave them out of its fork.
    let mut input = RingBuilder::<InputSlot, _>::new(cfg.pipeline.input_ring_slots as usize, wait.build()).dont_fork();
    let journaller_id = input.consumer(&[]);
    let _matcher_id = input.consumer(&[journaller_id]);
    let (producer, mut consumers) = input.build();
    let matcher_in = consumers.pop().expect("two consumers");
    let journaller_in = consumers.pop().expect("two consumers");
    let mut output =
        RingBuilder::<OutputSlot, _>::new(cfg.pipeline.output_ring_slots as usize, wait.build()).dont_fork();
    output.consumer(&[]);
    let (out_producer, mut out_consumers) = output.build();
    let out_consumer = out_consumers.pop().expect("one consumer");

    let gateway_poll = mio::Poll::new()?;
    let publisher_poll = mio::Poll::new()?;
    let control = ControlPlane::new(
        cfg.server.max_connections as usize,
        mio::Waker::new(publisher_poll.registry(), PUBLISHER_WAKER_TOKEN)?,
        mio::Waker::new(gateway_poll.registry(), GATEWAY_WAKER_TOKEN)?,
    );
    let listener = mio::net::TcpListener::bind(cfg.server.listen)
        .map_err(|source| ServerError::Listen { addr: cfg.server.listen, source })?;
    let local = listener.local_addr()?;
    let md_listener = match cfg.market_data.listen {
        Some(addr) if cfg.market_data.max_subscribers > 0 => {
            Some(mio::net::TcpListener::bind(addr).map_err(|source| ServerError::Listen { addr, source })?)
        }
        _ => None,
    };
    let md_local = md_listener.as_ref().map(|l| l.local_addr()).transpose()?;
    let mut accounts = HashMap::new();
    for a in &cfg.accounts {
        let credential = Credential::parse(&a.credential).expect("validated with the config");
        accounts.insert(a.id, AccountAuth { role: a.role, credential });
    }
    let stats = Stats::default();
    let health = Arc::new(Health::default());
    let metrics_listener = if cfg.metrics.enabled {
        let addr = cfg.metrics.listen;
        Some(crate::metrics::bind(addr).map_err(|source| ServerError::MetricsListen { addr, source })?)
    } else {
        None
    };
    let matcher_done = Arc::new(AtomicI64::new(-1));
    let gateway_stop = Arc::new(AtomicBool::new(false));

    let journaller = Journaller::new(writer, journaller_in, sync_policy(&cfg), stats.journaller.clone());
    let matcher =
        Matcher::new(engine, matcher_in, out_producer, control.clone(), matcher_done.clone(), stats.matcher.clone());
    let snapshots_requested = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, snapshots_requested.clone())?;
    let snapshot_timer = Arc::new(AtomicBool::new(false));
    let (matcher_snaps, publisher_snaps, snapshot_thread) = crate::snapshotter::start(
        crate::snapshotter::SnapshotterConfig {
            dir: snapshot::snapshot_dir(&cfg.data.dir),
            keep: cfg.snapshots.keep as usize,
            every_commands: cfg.snapshots.every_commands,
            reports_per_account: cfg.snapshots.reports_per_account as u64,
            method: cfg.snapshots.method,
            child_timeout: Duration::from_secs(cfg.snapshots.child_timeout_s),
        },
        snapshots_requested,
        snapshot_timer.clone(),
        stats.snapshots.clone(),
    )?;
    let matcher = matcher.with_snapshots(matcher_snaps);
    let publisher = Publisher::new(
        reports,
        PublisherSettings {
            outbound_buffer_bytes: cfg.server.outbound_buffer_bytes as usize,
            max_sessions: cfg.server.max_connections as usize,
        },
        publisher_poll,
        control.clone(),
        matcher_done,
        out_consumer,
        stats.publisher.clone(),
        md,
        MdSettings {
            max_subscribers: cfg.market_data.max_subscribers as usize,
            outbound_buffer_bytes: cfg.market_data.outbound_buffer_bytes as usize,
            snapshot_depth_max: cfg.market_data.snapshot_depth_max,
            order_by_order: cfg.market_data.order_by_order,
        },
        feed_epoch,
    )?
    .with_snapshots(publisher_snaps);
    let gateway = Gateway::new(
        gateway_poll,
        listener,
        md_listener,
        accounts,
        cfg.server.clone(),
        producer,
        control.clone(),
        gateway_stop.clone(),
        stats.gateway.clone(),
    )?;

    let j = spawn("journaller", &cfg, move || journaller.run())?;
    let m = spawn("matcher", &cfg, move || matcher.run())?;
    let p = spawn("publisher", &cfg, move || publisher.run())?;
    let g = spawn("gateway", &cfg, move || gateway.run())?;

    let metrics_stop = Arc::new(AtomicBool::new(false));
    let mut metrics_thread = None;
    if let Some(listener) = metrics_listener {
        let addr = listener.local_addr()?;
        let registry = Arc::new(Registry {
            stats: stats.clone(),
            health: health.clone(),
            input_ring_slots: cfg.pipeline.input_ring_slots as u64,
            output_ring_slots: cfg.pipeline.output_ring_slots as u64,
            replayed_commands: replay.commands,
            replay_seconds: replay.elapsed.as_secs_f64(),
            start_time_unix: started_unix,
        });
        metrics_thread = Some(crate::metrics::spawn(listener, registry, metrics_stop.clone())?);
        tracing::info!(listen = %addr, "metrics: GET /metrics, /healthz");
        println!("matchd metrics listen={addr}");
    }

    if let Some(addr) = md_local {
        tracing::info!(listen = %addr, "market data: subscriptions only");
        println!("matchd market-data listen={addr}");
    }
    tracing::info!(listen = %local, data = %cfg.data.dir.display(), durability = ?cfg.journal.durability, feed_epoch, "matchd ready");
    // Machine-readable readiness line for scripts and tests.
    println!("matchd ready listen={local} data={}", cfg.data.dir.display());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    health.ready.store(true, Ordering::Relaxed);
    sd_notify::notify(
        notifier,
        &format!(
            "READY=1\nSTATUS=replayed {} commands in {} ms; listening on {local}",
            replay.commands,
            replay.elapsed.as_millis()
        ),
    );

    // Wait for a stop request or a stage that ended on its own (a failure),
    // pinging the watchdog while the pipeline is healthy.
    let watchdog = sd_notify::watchdog_from_env();
    if let Some(wd) = watchdog {
        tracing::info!(timeout_ms = wd.as_millis() as u64, "systemd watchdog enabled");
    }
    let log_interval = (cfg.metrics.log_interval_s > 0).then(|| Duration::from_secs(cfg.metrics.log_interval_s));
    let mut monitor = Monitor::new(&stats, health.clone(), notifier, watchdog, log_interval, local.to_string());
    let snapshot_every = (cfg.snapshots.every_seconds > 0).then(|| Duration::from_secs(cfg.snapshots.every_seconds));
    let mut last_snapshot_tick = Instant::now();
    while !stop.load(Ordering::Relaxed) && !j.is_finished() && !m.is_finished() && !p.is_finished() && !g.is_finished()
    {
        std::thread::sleep(Duration::from_millis(20));
        let now = Instant::now();
        monitor.tick(now);
        if snapshot_every.is_some_and(|every| now.duration_since(last_snapshot_tick) >= every) {
            last_snapshot_tick = now;
            snapshot_timer.store(true, Ordering::Relaxed);
        }
    }
    let failed = !stop.load(Ordering::Relaxed);
    health.stopping.store(true, Ordering::Relaxed);
    if failed {
        sd_notify::notify(notifier, "STOPPING=1\nSTATUS=a pipeline stage stopped unexpectedly; draining");
    } else {
        sd_notify::notify(notifier, "STOPPING=1\nSTATUS=draining the pipeline");
    }
    tracing::info!("stopping: draining the pipeline");
    gateway_stop.store(true, Ordering::Relaxed);
    control.gateway_wake.notify();
    let _ = g.join();
    let journal_result = j.join().map_err(|_| ServerError::Pipeline("journaller panicked".into()))?;
    let engine = m.join().map_err(|_| ServerError::Pipeline("matcher panicked".into()))?;
    let reports = p.join().map_err(|_| ServerError::Pipeline("publisher panicked".into()))?;
    // The matcher's side of the snapshotter is gone with it: the writer finishes and ends.
    let _ = snapshot_thread.join();
    metrics_stop.store(true, Ordering::Relaxed);
    if let Some(t) = metrics_thread {
        let _ = t.join();
    }
    let last = match journal_result {
        Ok(last) => last,
        Err(e) => return Err(ServerError::Pipeline(e.to_string())),
    };
    tracing::info!(
        journal_seq = last,
        engine_seq = engine.last_seq(),
        state_hash = format!("{:032x}", engine.state_hash()),
        "stopped cleanly"
    );
    if failed {
        return Err(ServerError::Pipeline("a pipeline stage stopped unexpectedly".into()));
    }
    if cfg.snapshots.on_shutdown && engine.last_seq() == last {
        // Everything journaled is applied: the next start loads this and replays nothing.
        let dir = snapshot::snapshot_dir(&cfg.data.dir);
        let section = reports.export_state(cfg.snapshots.reports_per_account as u64);
        match snapshot::write_snapshot(&dir, &engine.snapshot(), &section) {
            Ok(w) => {
                tracing::info!(seq = last, path = %w.path.display(), "shutdown snapshot written");
                if let Err(e) = snapshot::prune(&dir, cfg.snapshots.keep as usize) {
                    tracing::warn!("snapshot pruning failed: {e}");
                }
            }
            // The journal is complete and synced; the next start just replays more.
            Err(e) => tracing::error!("shutdown snapshot failed: {e}"),
        }
    }
    Ok(())
}
