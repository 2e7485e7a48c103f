//! The pipeline's wiring, in one place (as the Disruptor keeps it apart from the stages): bind the
//! listeners, recover state, build the two rings and say who waits on whom, start the gateway,
//! journaller, matcher and publisher threads, supervise them, and on SIGTERM/SIGINT drain them in
//! order and exit cleanly.
//!
//! ```text
//! gateway ──► input ring ──► journaller ──(durable seq)──► matcher ──► output ring ──► publisher
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use engine::Engine;
use gateway::clock::now_ns;
use gateway::control_plane::ControlPlane;
use gateway::credential::Credential;
use gateway::internal_peers::InternalPeers;
use gateway::leadership::Leadership;
use gateway::login::{apply_credential, AccountAuth};
use gateway::tls_terminator::{TlsListeners, TlsSettings, TlsTerminator};
use gateway::{Gateway, InputSlot, InternalListener, GATEWAY_WAKER_TOKEN};
use ring::{RingBuilder, WaitStrategyKind};

use crate::config::Config;
use crate::journaller::{Journaller, JournallerError};
use crate::matcher::Matcher;
use crate::md_feed::MdSettings;
use crate::metrics::Registry;
use crate::monitor::Monitor;
use crate::output_slot::OutputSlot;
use crate::publisher::{Publisher, PublisherSettings, PUBLISHER_WAKER_TOKEN};
use crate::recovery::{recover, sync_policy, Recovered, RecoveryError, ReplayStats};
use crate::replication::cluster::Cluster;
use crate::replication::epoch_history::EpochHistory;
use crate::replication::local_log::LocalLog;
use crate::replication::replication_stats::ReplicationStats;
use crate::replication::replicator::{Replicator, ReplicatorExit, ReplicatorParts};
use crate::reports::Reports;
use crate::sd_notify::{self, Notifier};
use crate::snapshotter::SnapshotterConfig;
use crate::stats::{Health, Stats};

/// Why matchd could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The journal could not be opened or replayed.
    #[error(transparent)]
    Recovery(#[from] RecoveryError),
    /// Binding the listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// Binding the metrics listener failed.
    #[error("cannot listen for metrics on {addr} (metrics.listen): {source}")]
    MetricsListen {
        /// Address.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// The TLS certificate or key cannot be used.
    #[error(transparent)]
    Tls(Box<gateway::tls_config::TlsSetupError>),
    /// Other I/O at startup.
    #[error("startup: {0}")]
    Io(#[from] std::io::Error),
    /// A pipeline stage failed while running.
    #[error("pipeline failed: {0}")]
    Pipeline(String),
}

// Boxed: the TLS error is large, and every `Result` carrying this enum would pay for it.
impl From<gateway::tls_config::TlsSetupError> for ServerError {
    fn from(e: gateway::tls_config::TlsSetupError) -> Self {
        ServerError::Tls(Box::new(e))
    }
}

/// Runs matchd alone (no `[replication]`) until `stop` is set; returns after a clean drain.
pub fn run(cfg: Config, stop: Arc<AtomicBool>) -> Result<(), ServerError> {
    // Bound before the replay: a busy port fails the start in milliseconds, not after minutes of
    // replay. Connections made meanwhile wait in the listen backlog until the gateway starts.
    let listeners = Listeners::bind(&cfg)?;
    run_pipeline(&cfg, &stop, listeners, None).map(|_| ())
}

/// What a replica-set node's pipeline run gets besides the single node's parts.
pub struct ReplicaRun {
    /// Shared with the coordinator.
    pub cluster: Arc<Cluster>,
    /// The replication listener (bound once per process, cloned per run).
    pub listener: mio::net::TcpListener,
    /// Replication counters (kept across runs).
    pub stats: Arc<ReplicationStats>,
}

/// How a pipeline run ended (without an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// Stopped on request, drained.
    Stopped,
    /// A replica-set node must restart its pipeline: deposed, or its log must be cut.
    Rejoin(String),
}

/// One run of the pipeline on bound listeners: recover, start the stages, supervise, drain.
pub fn run_pipeline(
    cfg: &Config,
    stop: &Arc<AtomicBool>,
    listeners: Listeners,
    replica: Option<ReplicaRun>,
) -> Result<RunEnd, ServerError> {
    let cfg = cfg.clone();
    let started_unix = now_ns() as f64 / 1e9;
    let notifier = Notifier::from_env();
    let notifier = notifier.as_ref();
    sd_notify::notify(notifier, "STATUS=replaying the journal");
    let recovered = recover(&cfg)?;
    let replay = recovered.stats;
    log_replay(&recovered);

    let mut stats = Stats::default();
    if let Some(r) = &replica {
        stats.replication = Some((r.stats.clone(), r.cluster.clone()));
    }
    let health = Arc::new(Health::default());
    let metrics_listener = listeners.metrics;
    let mut running = start_stages(&cfg, recovered, listeners.gateway, &stats, replica, stop)?;
    if let Some(tls) = listeners.tls {
        running.tls = Some(start_tls(&cfg, tls, &stats)?);
    }
    let metrics = match metrics_listener {
        Some(listener) => Some(start_metrics(&cfg, listener, &stats, &health, replay, started_unix)?),
        None => None,
    };
    announce_ready(&cfg, &running, &health, notifier, replay);

    let failed = supervise(&cfg, stop, &running, &stats, &health, notifier);
    health.stopping.store(true, Ordering::Relaxed);
    if failed {
        sd_notify::notify(notifier, "STOPPING=1\nSTATUS=a pipeline stage stopped unexpectedly; draining");
    } else {
        sd_notify::notify(notifier, "STOPPING=1\nSTATUS=draining the pipeline");
    }
    let drained = drain(running);
    if let Some((thread, metrics_stop)) = metrics {
        metrics_stop.store(true, Ordering::Relaxed);
        let _ = thread.join();
    }
    let Drained { journal_seq, engine, reports, replicator } = drained?;
    tracing::info!(
        journal_seq,
        engine_seq = engine.last_seq(),
        state_hash = format!("{:032x}", engine.state_hash()),
        "stopped cleanly"
    );
    match replicator {
        Some(ReplicatorExit::Rejoin(why)) => return Ok(RunEnd::Rejoin(why)),
        Some(ReplicatorExit::Fatal(why)) => return Err(ServerError::Pipeline(format!("replication: {why}"))),
        _ => {}
    }
    if failed {
        return Err(ServerError::Pipeline("a pipeline stage stopped unexpectedly".into()));
    }
    if cfg.snapshots.on_shutdown && engine.last_seq() == journal_seq {
        write_shutdown_snapshot(&cfg, &engine, &reports, journal_seq);
    }
    Ok(RunEnd::Stopped)
}

fn log_replay(r: &Recovered) {
    let rate = r.stats.commands as f64 / r.stats.elapsed.as_secs_f64().max(1e-9);
    tracing::info!(
        commands = r.stats.commands,
        ms = r.stats.elapsed.as_millis() as u64,
        cmds_per_sec = rate as u64,
        last_seq = r.engine.last_seq(),
        state_hash = format!("{:032x}", r.engine.state_hash()),
        "replay complete"
    );
}

/// Every socket matchd listens on, bound before any thread starts.
pub struct Listeners {
    gateway: gateway::Listeners,
    metrics: Option<std::net::TcpListener>,
    /// The TLS listeners and the terminator's settings, when TLS is configured.
    tls: Option<(TlsListeners, TlsSettings)>,
}

/// The listening sockets of a replica-set node, bound once per process: each pipeline run gets
/// clones ([`Listeners::from_bound`]), so a restart of the pipeline (a rejoin) keeps the ports,
/// and connections made meanwhile wait in the backlog.
pub struct BoundSockets {
    orders: std::net::TcpListener,
    market_data: Option<std::net::TcpListener>,
    admin: Option<std::net::TcpListener>,
    tls_orders: Option<std::net::TcpListener>,
    tls_market_data: Option<std::net::TcpListener>,
    metrics: Option<std::net::TcpListener>,
}

impl BoundSockets {
    /// Binds every configured listener.
    pub fn bind(cfg: &Config) -> Result<BoundSockets, ServerError> {
        let bind = |addr| {
            let l = std::net::TcpListener::bind(addr).map_err(|source| ServerError::Listen { addr, source })?;
            l.set_nonblocking(true)?;
            Ok::<_, ServerError>(l)
        };
        let feed = cfg.market_data.max_subscribers > 0;
        let metrics = if cfg.metrics.enabled {
            let addr = cfg.metrics.listen;
            Some(crate::metrics::bind(addr).map_err(|source| ServerError::MetricsListen { addr, source })?)
        } else {
            None
        };
        Ok(BoundSockets {
            orders: bind(cfg.server.listen)?,
            market_data: cfg.market_data.listen.filter(|_| feed).map(bind).transpose()?,
            admin: cfg.server.admin_listen.map(bind).transpose()?,
            tls_orders: cfg.server.tls_listen.map(bind).transpose()?,
            tls_market_data: cfg.market_data.tls_listen.filter(|_| feed).map(bind).transpose()?,
            metrics,
        })
    }

    /// The order-entry listener's address.
    pub fn orders_addr(&self) -> std::io::Result<SocketAddr> {
        self.orders.local_addr()
    }
}

impl Listeners {
    /// Mio listeners on clones of `b`'s sockets (the TLS terminator's internal listener is new).
    pub fn from_bound(cfg: &Config, b: &BoundSockets) -> Result<Listeners, ServerError> {
        let mio = |l: &std::net::TcpListener| -> Result<mio::net::TcpListener, ServerError> {
            Ok(mio::net::TcpListener::from_std(l.try_clone()?))
        };
        let opt = |l: &Option<std::net::TcpListener>| l.as_ref().map(mio).transpose();
        let tls_listeners = TlsListeners { orders: opt(&b.tls_orders)?, market_data: opt(&b.tls_market_data)? };
        let (internal, tls) = if tls_listeners.orders.is_some() || tls_listeners.market_data.is_some() {
            let (internal, settings) = bind_tls_internal(cfg)?;
            (Some(internal), Some((tls_listeners, settings)))
        } else {
            (None, None)
        };
        let metrics = b.metrics.as_ref().map(|l| l.try_clone()).transpose()?;
        let gateway = gateway::Listeners {
            orders: mio(&b.orders)?,
            market_data: opt(&b.market_data)?,
            admin: opt(&b.admin)?,
            internal,
        };
        Ok(Listeners { gateway, metrics, tls })
    }

    fn bind(cfg: &Config) -> Result<Listeners, ServerError> {
        let bind = |addr| mio::net::TcpListener::bind(addr).map_err(|source| ServerError::Listen { addr, source });
        let orders = bind(cfg.server.listen)?;
        let feed = cfg.market_data.max_subscribers > 0;
        let market_data = cfg.market_data.listen.filter(|_| feed).map(bind).transpose()?;
        let admin = cfg.server.admin_listen.map(bind).transpose()?;
        let tls_listeners = TlsListeners {
            orders: cfg.server.tls_listen.map(bind).transpose()?,
            market_data: cfg.market_data.tls_listen.filter(|_| feed).map(bind).transpose()?,
        };
        let (internal, tls) = if tls_listeners.orders.is_some() || tls_listeners.market_data.is_some() {
            let (internal, settings) = bind_tls_internal(cfg)?;
            (Some(internal), Some((tls_listeners, settings)))
        } else {
            (None, None)
        };
        let metrics = if cfg.metrics.enabled {
            let addr = cfg.metrics.listen;
            Some(crate::metrics::bind(addr).map_err(|source| ServerError::MetricsListen { addr, source })?)
        } else {
            None
        };
        Ok(Listeners { gateway: gateway::Listeners { orders, market_data, admin, internal }, metrics, tls })
    }
}

/// The gateway's internal listener for the TLS terminator (loopback, ephemeral port), the
/// registration queue between them, and the terminator's settings (certificate loaded here).
fn bind_tls_internal(cfg: &Config) -> Result<(InternalListener, TlsSettings), ServerError> {
    let s = &cfg.server;
    let (Some(cert), Some(key)) = (&s.tls_cert_chain_path, &s.tls_private_key_path) else {
        return Err(ServerError::Pipeline("TLS listeners without a certificate (validated with the config)".into()));
    };
    let server_config = gateway::tls_config::load_server_config(cert, key)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let listener = mio::net::TcpListener::bind(addr).map_err(|source| ServerError::Listen { addr, source })?;
    let internal_addr = listener.local_addr()?;
    // Room for every connection that may be between handshake and the gateway's accept.
    let peers = Arc::new(InternalPeers::new((s.max_pending_logins + s.max_connections) as usize));
    let settings = TlsSettings {
        server_config,
        internal_addr,
        handshake_timeout_ms: s.login_timeout_ms,
        max_handshakes: s.max_pending_logins,
        max_handshakes_per_address: s.max_pending_logins_per_address,
        peers: peers.clone(),
    };
    Ok((InternalListener { listener, peers }, settings))
}

/// The TLS terminator's thread and what the wiring keeps to stop it.
struct TlsRunning {
    thread: JoinHandle<()>,
    stop: Arc<AtomicBool>,
    orders_addr: Option<SocketAddr>,
    market_data_addr: Option<SocketAddr>,
}

/// Starts the TLS terminator on its bound listeners (after the gateway: the internal listener is
/// bound either way, so a client that finishes its handshake early just waits in its backlog).
fn start_tls(
    cfg: &Config,
    (listeners, settings): (TlsListeners, TlsSettings),
    stats: &Stats,
) -> Result<TlsRunning, ServerError> {
    let orders_addr = listeners.orders.as_ref().map(|l| l.local_addr()).transpose()?;
    let market_data_addr = listeners.market_data.as_ref().map(|l| l.local_addr()).transpose()?;
    tracing::info!(internal = %settings.internal_addr, "TLS terminator: clients reach the gateway over loopback");
    let stop = Arc::new(AtomicBool::new(false));
    let terminator = TlsTerminator::new(listeners, settings, stop.clone(), stats.tls.clone())?;
    let thread = spawn("tls", cfg, move || terminator.run())?;
    Ok(TlsRunning { thread, stop, orders_addr, market_data_addr })
}

/// The running stages and what the wiring keeps to supervise and stop them.
struct Running {
    journaller: JoinHandle<Result<u64, JournallerError>>,
    /// A replica set's replicator, its stop flag, and the input ring's halt (the matcher waits on
    /// the replicator's gate, which does not close with the ring).
    replicator: Option<(JoinHandle<ReplicatorExit>, Arc<AtomicBool>, ring::HaltHandle)>,
    matcher: JoinHandle<Engine>,
    publisher: JoinHandle<Reports>,
    gateway: JoinHandle<()>,
    snapshot_writer: JoinHandle<()>,
    control: Arc<ControlPlane>,
    gateway_stop: Arc<AtomicBool>,
    /// Set by the supervisor when `snapshots.every_seconds` has passed.
    snapshot_timer: Arc<AtomicBool>,
    order_addr: SocketAddr,
    market_data_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    /// This run's market-data feed epoch.
    feed_epoch: u64,
    /// The TLS terminator, when TLS is configured.
    tls: Option<TlsRunning>,
}

impl Running {
    fn any_finished(&self) -> bool {
        self.journaller.is_finished()
            || self.matcher.is_finished()
            || self.publisher.is_finished()
            || self.gateway.is_finished()
            || self.tls.as_ref().is_some_and(|t| t.thread.is_finished())
            || self.replicator.as_ref().is_some_and(|r| r.0.is_finished())
    }
}

/// Builds the rings (input: journaller, then matcher behind it; output: publisher) and the stages
/// around them, and starts their threads.
fn start_stages(
    cfg: &Config,
    recovered: Recovered,
    listeners: gateway::Listeners,
    stats: &Stats,
    replica: Option<ReplicaRun>,
    stop: &Arc<AtomicBool>,
) -> Result<Running, ServerError> {
    let Recovered { writer, engine, reports, md, stats: _, checkpoint } = recovered;
    if let (Some(cp), Some((rs, _))) = (checkpoint, &stats.replication) {
        *rs.checkpoint.last.lock().unwrap_or_else(|e| e.into_inner()) = cp;
    }
    let journal_base = writer.written_seq();
    // Identifies this run on the market-data feed: its start time (sequence numbers restart).
    let feed_epoch = now_ns();
    let wait: WaitStrategyKind =
        cfg.pipeline.wait_strategy.parse().map_err(|e| ServerError::Pipeline(format!("{e}")))?;
    // The rings' slots are nothing a snapshot child needs: leave them out of its fork.
    let mut input = RingBuilder::<InputSlot, _>::new(cfg.pipeline.input_ring_slots as usize, wait.build()).dont_fork();
    let journaller_id = input.consumer(&[]);
    // In a replica set the replicator's gate sits between them: only commands durable on a
    // quorum (the leader's commit) change state.
    let gate_id = replica.as_ref().map(|_| input.consumer(&[journaller_id]));
    // The matcher's barrier is the journaller (or the gate): only durable commands change state.
    let _matcher_id = input.consumer(&[gate_id.unwrap_or(journaller_id)]);
    let (producer, mut consumers) = input.build();
    let matcher_in = consumers.pop().expect("matcher consumer");
    let gate_in = gate_id.map(|_| consumers.pop().expect("gate consumer"));
    let journaller_in = consumers.pop().expect("journaller consumer");
    let halt = journaller_in.halt_handle();
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
    let order_addr = listeners.orders.local_addr()?;
    let market_data_addr = listeners.market_data.as_ref().map(|l| l.local_addr()).transpose()?;
    let admin_addr = listeners.admin.as_ref().map(|l| l.local_addr()).transpose()?;
    let matcher_done = Arc::new(AtomicI64::new(-1));
    let gateway_stop = Arc::new(AtomicBool::new(false));

    let journaller = Journaller::new(writer, journaller_in, sync_policy(cfg), stats.journaller.clone());
    // A replica: the replicator owns the producer until this node leads.
    let (gateway_producer, leadership, replicator) = match (replica, gate_in) {
        (Some(r), Some(gate)) => {
            let leadership = Arc::new(Leadership::new());
            let history = EpochHistory::scan(&crate::format::journal_dir(&cfg.data.dir))
                .map_err(|e| ServerError::Pipeline(e.to_string()))?;
            debug_assert_eq!(history.last_seq, journal_base);
            let replicator_stop = Arc::new(AtomicBool::new(false));
            let parts = ReplicatorParts {
                cluster: r.cluster,
                gate,
                log: LocalLog { history, producer: Some(producer), base: journal_base },
                leadership: leadership.clone(),
                control: control.clone(),
                listener: r.listener,
                journal_dir: crate::format::journal_dir(&cfg.data.dir),
                journaller: stats.journaller.clone(),
                engine_config: engine::command_codec::encode_engine_config(&cfg.engine_config()),
                stats: r.stats,
                stop: replicator_stop.clone(),
            };
            (None, Some(leadership), Some((Replicator::new(parts)?, replicator_stop)))
        }
        _ => (Some(producer), None, None),
    };
    let journaller = match &replicator {
        Some((r, _)) => journaller.with_notify(r.wake()),
        None => journaller,
    };
    let accounts = account_auth(cfg, &engine);
    // The journal's engine config wins over the file's, for the gateway as for the engine.
    let oracle_account = Some(engine.config().oracle_account).filter(|&a| a != engine::NO_ACCOUNT);
    let matcher =
        Matcher::new(engine, matcher_in, out_producer, control.clone(), matcher_done.clone(), stats.matcher.clone());
    let snapshots_requested = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, snapshots_requested.clone())?;
    let snapshot_timer = Arc::new(AtomicBool::new(false));
    let (matcher_snaps, publisher_snaps, snapshot_writer) = crate::snapshotter::start(
        SnapshotterConfig {
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
    let matcher = match (&cfg.replication, &stats.replication) {
        (Some(r), Some((rs, _))) => matcher.with_checkpoints(r.state_hash_every, rs.checkpoint.clone()),
        _ => matcher,
    };
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
        listeners,
        accounts,
        oracle_account,
        cfg.server.clone(),
        gateway_producer,
        leadership,
        control.clone(),
        gateway_stop.clone(),
        stats.gateway.clone(),
    )?;

    let journaller = spawn("journaller", cfg, move || journaller.run())?;
    let matcher = spawn("matcher", cfg, move || matcher.run())?;
    let publisher = spawn("publisher", cfg, move || publisher.run())?;
    let gateway = spawn("gateway", cfg, move || gateway.run())?;
    let replicator = match replicator {
        Some((r, stop_flag)) => Some((spawn("replicator", cfg, move || r.run())?, stop_flag, halt)),
        None => None,
    };
    let _ = stop;
    Ok(Running {
        replicator,
        journaller,
        matcher,
        publisher,
        gateway,
        snapshot_writer,
        control,
        gateway_stop,
        snapshot_timer,
        order_addr,
        market_data_addr,
        admin_addr,
        feed_epoch,
        tls: None,
    })
}

/// The credentials the gateway checks logins against: the config file's, overlaid with those the
/// journal set or revoked (the recovered engine's), so a restart keeps every journaled change.
/// Changes after this reach the gateway live, through the publisher.
fn account_auth(cfg: &Config, engine: &Engine) -> HashMap<u32, AccountAuth> {
    let mut accounts: HashMap<u32, AccountAuth> = cfg
        .accounts
        .iter()
        .map(|a| {
            let credential = Credential::parse(&a.credential).expect("validated with the config");
            (a.id, AccountAuth { role: a.role, credential: Some(credential) })
        })
        .collect();
    let mut journaled = 0usize;
    for (account, credential) in engine.credentials() {
        apply_credential(&mut accounts, account, credential);
        journaled += 1;
    }
    if journaled > 0 {
        tracing::info!(journaled, "credentials: the config file's, overlaid with those set or revoked by admins");
    }
    accounts
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

/// Starts the metrics thread on its bound listener; returns it and its stop flag.
fn start_metrics(
    cfg: &Config,
    listener: std::net::TcpListener,
    stats: &Stats,
    health: &Arc<Health>,
    replay: ReplayStats,
    started_unix: f64,
) -> Result<(JoinHandle<()>, Arc<AtomicBool>), ServerError> {
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
    let stop = Arc::new(AtomicBool::new(false));
    let thread = crate::metrics::spawn(listener, registry, stop.clone())?;
    tracing::info!(listen = %addr, "metrics: GET /metrics, /healthz");
    println!("matchd metrics listen={addr}");
    Ok((thread, stop))
}

/// The readiness lines (stdout, for scripts and tests), the health flag and systemd's READY=1.
fn announce_ready(cfg: &Config, running: &Running, health: &Health, notifier: Option<&Notifier>, replay: ReplayStats) {
    if let Some(addr) = running.market_data_addr {
        tracing::info!(listen = %addr, "market data: subscriptions only");
        println!("matchd market-data listen={addr}");
    }
    if let Some(addr) = running.admin_addr {
        tracing::info!(listen = %addr, "admin sessions only (refused on the order listener)");
        println!("matchd admin listen={addr}");
    }
    if let Some(addr) = running.tls.as_ref().and_then(|t| t.orders_addr) {
        tracing::info!(listen = %addr, "order entry over TLS");
        println!("matchd tls listen={addr}");
    }
    if let Some(addr) = running.tls.as_ref().and_then(|t| t.market_data_addr) {
        tracing::info!(listen = %addr, "market data over TLS: subscriptions only");
        println!("matchd market-data-tls listen={addr}");
    }
    let local = running.order_addr;
    // Ready for /healthz before the line says so: whoever reads the line may ask at once (a busy
    // machine once ran the test's /healthz between the two and got "starting").
    health.ready.store(true, Ordering::Relaxed);
    tracing::info!(listen = %local, data = %cfg.data.dir.display(), durability = ?cfg.journal.durability, feed_epoch = running.feed_epoch, "matchd ready");
    println!("matchd ready listen={local} data={}", cfg.data.dir.display());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    sd_notify::notify(
        notifier,
        &format!(
            "READY=1\nSTATUS=replayed {} commands in {} ms; listening on {local}",
            replay.commands,
            replay.elapsed.as_millis()
        ),
    );
}

/// Waits for a stop request or a stage that ended on its own (a failure), pinging the watchdog
/// while the pipeline is healthy and timing periodic snapshots. Returns whether a stage failed.
fn supervise(
    cfg: &Config,
    stop: &AtomicBool,
    running: &Running,
    stats: &Stats,
    health: &Arc<Health>,
    notifier: Option<&Notifier>,
) -> bool {
    let watchdog = sd_notify::watchdog_from_env();
    if let Some(wd) = watchdog {
        tracing::info!(timeout_ms = wd.as_millis() as u64, "systemd watchdog enabled");
    }
    let log_interval = (cfg.metrics.log_interval_s > 0).then(|| Duration::from_secs(cfg.metrics.log_interval_s));
    let mut monitor =
        Monitor::new(stats, health.clone(), notifier, watchdog, log_interval, running.order_addr.to_string());
    let snapshot_every = (cfg.snapshots.every_seconds > 0).then(|| Duration::from_secs(cfg.snapshots.every_seconds));
    let mut last_snapshot_tick = Instant::now();
    while !stop.load(Ordering::Relaxed) && !running.any_finished() {
        std::thread::sleep(Duration::from_millis(20));
        let now = Instant::now();
        monitor.tick(now);
        if snapshot_every.is_some_and(|every| now.duration_since(last_snapshot_tick) >= every) {
            last_snapshot_tick = now;
            running.snapshot_timer.store(true, Ordering::Relaxed);
        }
    }
    !stop.load(Ordering::Relaxed)
}

/// What the stages hand back after a drain.
struct Drained {
    /// Last journaled sequence (synced).
    journal_seq: u64,
    engine: Engine,
    reports: Reports,
    /// How the replicator ended (replica sets).
    replicator: Option<ReplicatorExit>,
}

/// Stops the gateway (dropping its producer closes the input ring), then joins the stages in
/// pipeline order: each drains what the one before it published and stops.
fn drain(running: Running) -> Result<Drained, ServerError> {
    tracing::info!("stopping: draining the pipeline");
    running.gateway_stop.store(true, Ordering::Relaxed);
    running.control.gateway_wake.notify();
    let _ = running.gateway.join();
    // A replicator (replica sets) stops next: a leader ships the last records and waits for its
    // followers; dropping its producer (a follower's) closes the ring.
    let mut replicator_exit = None;
    let mut halt = None;
    if let Some((thread, stop, h)) = running.replicator {
        stop.store(true, Ordering::Release);
        replicator_exit = Some(thread.join().map_err(|_| ServerError::Pipeline("replicator panicked".into()))?);
        halt = Some(h);
    }
    let journal_result = running.journaller.join().map_err(|_| ServerError::Pipeline("journaller panicked".into()))?;
    // The matcher waits on the replicator's gate, which does not close with the ring: it has
    // applied what the gate released; halting the ring ends its wait.
    if let Some(h) = halt {
        h.halt();
    }
    let engine = running.matcher.join().map_err(|_| ServerError::Pipeline("matcher panicked".into()))?;
    let reports = running.publisher.join().map_err(|_| ServerError::Pipeline("publisher panicked".into()))?;
    // Last: the gateway and publisher have closed their ends, so the terminator delivers their
    // final logouts to TLS clients and closes.
    if let Some(tls) = running.tls {
        tls.stop.store(true, Ordering::Relaxed);
        let _ = tls.thread.join();
    }
    // The matcher's side of the snapshotter is gone with it: the writer finishes and ends.
    let _ = running.snapshot_writer.join();
    let journal_seq = journal_result.map_err(|e| ServerError::Pipeline(e.to_string()))?;
    Ok(Drained { journal_seq, engine, reports, replicator: replicator_exit })
}

/// Everything journaled is applied: the next start loads this and replays nothing.
fn write_shutdown_snapshot(cfg: &Config, engine: &Engine, reports: &Reports, seq: u64) {
    debug_assert_eq!(engine.last_seq(), seq);
    let dir = snapshot::snapshot_dir(&cfg.data.dir);
    let section = reports.export_state(cfg.snapshots.reports_per_account as u64);
    match snapshot::write_snapshot(&dir, &engine.snapshot(), &section) {
        Ok(w) => {
            tracing::info!(seq, path = %w.path.display(), "shutdown snapshot written");
            if let Err(e) = snapshot::prune(&dir, cfg.snapshots.keep as usize) {
                tracing::warn!("snapshot pruning failed: {e}");
            }
        }
        // The journal is complete and synced; the next start just replays more.
        Err(e) => tracing::error!("shutdown snapshot failed: {e}"),
    }
}
