//! [`Cluster`]: what the coordinator (etcd, control thread) and the replicator (data path) share:
//! the lease deadline, the epochs seen and promised, who leads, and this node's log end.
//! Everything is an atomic except the leader's description, which only changes at an election.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gateway::wake::Wake;

use super::settings::ReplicationConfig;

/// Who leads, as etcd's leader key says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaderInfo {
    /// Node id.
    pub id: u32,
    /// Its epoch.
    pub epoch: u64,
    /// Its replication address.
    pub replication: SocketAddr,
    /// Its order-entry address.
    pub orders: SocketAddr,
}

/// This node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    /// Starting: the journal is being scanned, the leader sought.
    Starting = 0,
    /// Following a leader.
    Follower = 1,
    /// In an election.
    Candidate = 2,
    /// Leading.
    Leader = 3,
}

impl Role {
    /// Its metric label.
    pub fn label(self) -> &'static str {
        match self {
            Role::Starting => "starting",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// The shared state of one node of a replica set.
pub struct Cluster {
    /// The configuration.
    pub cfg: ReplicationConfig,
    base: Instant,
    /// Until when (ns since `base`) this node's lease is surely still valid: the start of the last
    /// successful keepalive plus the TTL etcd granted, minus a margin. A leader acknowledges
    /// nothing after it.
    lease_valid_until_ns: AtomicU64,
    /// Highest epoch seen in etcd or on the wire.
    pub seen_epoch: AtomicU64,
    /// The epoch this node stood as a candidate for: from then on it takes no records of older
    /// epochs (its posted log end must stay true).
    pub promise: AtomicU64,
    /// Set by the replicator while it appends a batch (the promise is checked inside).
    pub in_batch: AtomicBool,
    /// This node's log end: last sequence and the epoch of its last `StartEpoch`.
    pub log_last_seq: AtomicU64,
    /// See [`Cluster::log_last_seq`].
    pub log_last_epoch: AtomicU64,
    /// The epoch this node won (0: none yet); the replicator promotes itself when it sees it.
    pub won_epoch: AtomicU64,
    /// The epoch this node's replicator took the lead of (a deposed node's next run must not
    /// promote itself again for the same `won_epoch`).
    pub led_epoch: AtomicU64,
    /// Set when this node's leadership ended (another leader, lease lost): it steps down.
    pub deposed: AtomicBool,
    /// Set by a leader's replicator after its last records are on the followers (a clean stop):
    /// the coordinator gives up the leader key at once, so a follower takes over while this
    /// process is still draining.
    pub resign: AtomicBool,
    /// This process is stopping: it stands in no election.
    pub stopping: AtomicBool,
    /// Epoch of a leader whose replication port refuses connections (its process is gone): the
    /// coordinator deposes it in etcd without waiting for its lease. 0: none.
    pub leader_unreachable: AtomicU64,
    role: AtomicU8,
    leader: Mutex<Option<LeaderInfo>>,
    /// A fatal condition found by either thread (the process stops with it).
    fatal: Mutex<Option<String>>,
    /// Wakes the replicator when the coordinator changed something.
    replicator_wake: Mutex<Option<Arc<Wake>>>,
    /// This node's addresses, published in etcd.
    pub my_replication: SocketAddr,
    /// See [`Cluster::my_replication`].
    pub my_orders: SocketAddr,
}

impl Cluster {
    /// The shared state of a node with these addresses.
    pub fn new(cfg: ReplicationConfig, my_replication: SocketAddr, my_orders: SocketAddr) -> Arc<Cluster> {
        Arc::new(Cluster {
            cfg,
            base: Instant::now(),
            lease_valid_until_ns: AtomicU64::new(0),
            seen_epoch: AtomicU64::new(0),
            promise: AtomicU64::new(0),
            in_batch: AtomicBool::new(false),
            log_last_seq: AtomicU64::new(0),
            log_last_epoch: AtomicU64::new(0),
            won_epoch: AtomicU64::new(0),
            led_epoch: AtomicU64::new(0),
            deposed: AtomicBool::new(false),
            resign: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            leader_unreachable: AtomicU64::new(0),
            role: AtomicU8::new(Role::Starting as u8),
            leader: Mutex::new(None),
            fatal: Mutex::new(None),
            replicator_wake: Mutex::new(None),
            my_replication,
            my_orders,
        })
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Notes a successful keepalive sent at `sent` that granted `ttl`.
    pub fn lease_renewed(&self, sent: Instant, ttl: Duration) {
        // A margin for clock-rate differences and for etcd's own expiry check.
        let margin = (ttl / 4).max(Duration::from_millis(250));
        let until = sent.duration_since(self.base) + ttl.saturating_sub(margin);
        self.lease_valid_until_ns.fetch_max(until.as_nanos() as u64, Ordering::AcqRel);
    }

    /// Forgets the lease (it expired or was revoked).
    pub fn lease_lost(&self) {
        self.lease_valid_until_ns.store(0, Ordering::Release);
    }

    /// Whether the lease is surely still held now.
    pub fn lease_valid(&self) -> bool {
        self.now_ns() < self.lease_valid_until_ns.load(Ordering::Acquire)
    }

    /// This node's role.
    pub fn role(&self) -> Role {
        match self.role.load(Ordering::Acquire) {
            1 => Role::Follower,
            2 => Role::Candidate,
            3 => Role::Leader,
            _ => Role::Starting,
        }
    }

    /// Sets the role.
    pub fn set_role(&self, r: Role) {
        self.role.store(r as u8, Ordering::Release);
    }

    /// Who leads, as last read from etcd.
    pub fn leader(&self) -> Option<LeaderInfo> {
        self.leader.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records who leads; wakes the replicator if it changed.
    pub fn set_leader(&self, l: Option<LeaderInfo>) {
        let mut cur = self.leader.lock().unwrap_or_else(|e| e.into_inner());
        if *cur != l {
            if let Some(info) = &l {
                self.seen_epoch.fetch_max(info.epoch, Ordering::AcqRel);
            }
            *cur = l;
            drop(cur);
            self.wake_replicator();
        }
    }

    /// Stops the process with `why` (both threads check it).
    pub fn set_fatal(&self, why: String) {
        let mut f = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            tracing::error!("replication: {why}");
            *f = Some(why);
        }
        drop(f);
        self.wake_replicator();
    }

    /// The fatal condition, if any.
    pub fn fatal(&self) -> Option<String> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The replicator registers its waker (a new one each pipeline run).
    pub fn set_replicator_wake(&self, w: Option<Arc<Wake>>) {
        *self.replicator_wake.lock().unwrap_or_else(|e| e.into_inner()) = w;
    }

    /// Wakes the replicator, if one runs.
    pub fn wake_replicator(&self) {
        if let Some(w) = self.replicator_wake.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            w.notify();
        }
    }

    /// The coordinator, before it stands for `epoch`: no batch of an older epoch is appended after
    /// this returns, and the returned log end is final (until this node leads). Pairs with the
    /// replicator's `in_batch` protocol (Dekker's: both sides use `SeqCst`).
    pub fn promise_epoch(&self, epoch: u64) -> (u64, u64) {
        self.promise.fetch_max(epoch, Ordering::SeqCst);
        self.wake_replicator();
        while self.in_batch.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        (self.log_last_epoch.load(Ordering::SeqCst), self.log_last_seq.load(Ordering::SeqCst))
    }
}
