//! [`ReplicationStats`]: the replicator's counters for metrics (role, epoch, commit, per-follower
//! lag, quorum wait), written by the replicator thread, read by the metrics thread.

use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use crate::histogram::Histogram;
use crate::matcher::StateCheckpoint;

/// Largest node id the per-follower arrays cover (`replication.nodes` is at most 9).
pub const MAX_NODES: usize = 10;

/// Per-follower lag as the leader sees it.
#[derive(Debug, Default)]
pub struct FollowerLag {
    /// 1 while the follower is connected and streaming.
    pub connected: AtomicU64,
    /// Last sequence durable on the follower.
    pub durable_seq: AtomicU64,
    /// Records the leader has written that the follower has not made durable.
    pub lag_records: AtomicU64,
    /// How long the follower has been behind the leader's written sequence, µs (0: caught up).
    pub lag_us: AtomicU64,
}

/// Counters of one node's replication.
#[derive(Debug, Default)]
pub struct ReplicationStats {
    /// The epoch this node leads or follows.
    pub epoch: AtomicU64,
    /// Highest sequence known durable on a quorum (the matcher's barrier).
    pub commit_seq: AtomicU64,
    /// Last sequence in this node's journal as the replicator knows it.
    pub log_seq: AtomicU64,
    /// Records received from a leader (followers).
    pub records_received: AtomicU64,
    /// Records sent to followers (leaders).
    pub records_sent: AtomicU64,
    /// Leader connections made (followers), follower connections accepted (leaders).
    pub connections: AtomicU64,
    /// Leaderships taken by this node.
    pub promotions: AtomicU64,
    /// Leader: local durability → durable on a quorum, per release, ns.
    pub quorum_wait: Histogram,
    /// Leader: each follower's lag, by node id.
    pub followers: [FollowerLag; MAX_NODES],
    /// The matcher's last state-hash checkpoint.
    pub checkpoint: Arc<StateCheckpoint>,
}

impl ReplicationStats {
    /// Stores `v` in `a` (relaxed: metrics only).
    pub fn set(a: &AtomicU64, v: u64) {
        a.store(v, Ordering::Relaxed);
    }
}
