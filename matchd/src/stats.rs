//! [`Stats`]: every stage's live counters in one place, and [`Health`]. The stages fill them; the
//! wiring creates them, and the metrics endpoint and the monitor read them. They sit below both.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gateway::tls_terminator::TlsStats;
use gateway::GatewayStats;

use crate::journaller::JournallerStats;
use crate::matcher::MatcherStats;
use crate::publisher::PublisherStats;
use crate::replication::cluster::Cluster;
use crate::replication::replication_stats::ReplicationStats;
use crate::snapshotter::SnapshotStats;

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
    pub snapshots: Arc<SnapshotStats>,
    /// TLS terminator (zeros without TLS listeners).
    pub tls: Arc<TlsStats>,
    /// Replica sets: the replicator's counters and the node's shared state (role, epoch).
    pub replication: Option<(Arc<ReplicationStats>, Arc<Cluster>)>,
}

/// Shared readiness and health, written by the main thread, read by `/healthz`.
#[derive(Debug, Default)]
pub struct Health {
    /// Replay done and listeners up.
    pub ready: AtomicBool,
    /// Shutting down.
    pub stopping: AtomicBool,
    /// A stage has a backlog and made no progress for too long (see `monitor`).
    pub stalled: AtomicBool,
}

/// Backlog of the input ring: published by the gateway, not yet applied by the matcher.
pub fn input_occupancy(s: &Stats) -> u64 {
    s.gateway.input_published.load(Ordering::Relaxed).saturating_sub(s.matcher.commands.load(Ordering::Relaxed))
}

/// Backlog of the output ring: emitted by the matcher, not yet taken by the publisher.
pub fn output_occupancy(s: &Stats) -> u64 {
    s.matcher.events.load(Ordering::Relaxed).saturating_sub(s.publisher.events.load(Ordering::Relaxed))
}
