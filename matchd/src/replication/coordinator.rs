//! The coordinator: the control thread that keeps this node's etcd lease, publishes its
//! membership, watches who leads, and runs elections. Its keys, under `/matchd/<cluster>/`:
//!
//! - `members/<id>`: this node's addresses (on its lease; a second process with the same id finds
//!   it taken);
//! - `epoch`: the last epoch taken (no lease: epochs only grow);
//! - `leader`: who leads which epoch (on the leader's lease: it vanishes when the leader stops
//!   renewing);
//! - `candidates/<epoch>/<id>`: each candidate's log end in an election.
//!
//! An election for epoch `E + 1` starts when the leader key is gone. Each node promises to take no
//! records of older epochs, posts its log end (last epoch, last sequence), and waits for
//! `election_quorum` candidates; the best log (highest epoch, then sequence, then lowest id) takes
//! the epoch by one compare-and-swap of `epoch` and `leader`. Any `election_quorum` nodes include
//! one that holds every acknowledged record, so the best of them does too.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::cluster::{Cluster, LeaderInfo, Role};
use super::etcd::{Compare, Etcd, EtcdError, Op};

/// Why this node could not join its replica set.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// etcd did not answer.
    #[error("replication: {0} (is etcd running, and replication.etcd_endpoints right?)")]
    Etcd(#[from] EtcdError),
    /// Another live process holds this node id.
    #[error(
        "replication: node id {id} is already taken by a live process ({holder}); each node of \
         the set needs its own replication.node_id"
    )]
    DuplicateNode {
        /// The id.
        id: u32,
        /// What the other process published.
        holder: String,
    },
}

/// What `members/<id>` holds.
#[derive(Debug, Serialize, Deserialize)]
struct Member {
    id: u32,
    replication: String,
    orders: String,
    instance: String,
}

/// What `candidates/<epoch>/<id>` holds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Candidacy {
    id: u32,
    last_epoch: u64,
    last_seq: u64,
}

/// The control thread's handle.
pub struct Coordinator {
    thread: Option<JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

struct State {
    cluster: Arc<Cluster>,
    etcd: Etcd,
    lease: i64,
    lease_ttl: Duration,
    last_keepalive: Instant,
    instance: String,
    /// The epoch this node stands for, and when the quorum of candidates was first seen.
    candidate_for: u64,
    quorum_seen_at: Option<Instant>,
    last_error_log: Option<Instant>,
}

impl Coordinator {
    /// Connects to etcd, takes a lease and this node's member key (waiting out a previous
    /// incarnation's), then starts the control thread.
    pub fn start(cluster: Arc<Cluster>) -> Result<Coordinator, JoinError> {
        let cfg = &cluster.cfg;
        let mut etcd = Etcd::new(&cfg.etcd_endpoints, Duration::from_millis(cfg.etcd_timeout_ms));
        let instance = format!("pid {} started {}", std::process::id(), gateway::clock::now_ns());
        let sent = Instant::now();
        let (lease, ttl_s) = etcd.grant_lease(cfg.lease_ttl_s)?;
        let lease_ttl = Duration::from_secs(ttl_s.max(1));
        cluster.lease_renewed(sent, lease_ttl);
        let mut st = State {
            cluster: cluster.clone(),
            etcd,
            lease,
            lease_ttl,
            last_keepalive: sent,
            instance,
            candidate_for: 0,
            quorum_seen_at: None,
            last_error_log: None,
        };
        st.register()?;
        if let Some(kv) = st.etcd.get(&st.key("epoch"))? {
            let e = String::from_utf8_lossy(&kv.value).parse().unwrap_or(0);
            cluster.seen_epoch.fetch_max(e, Ordering::AcqRel);
        }
        tracing::info!(
            node = cfg.node_id,
            nodes = cfg.nodes,
            cluster = %cfg.cluster,
            etcd = %st.etcd.endpoints(),
            lease_ttl_s = ttl_s,
            ack = ?cfg.ack,
            "replication: joined the replica set"
        );
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("matchd-coordinator".into())
            .spawn(move || st.run(&stop2))
            .map_err(|e| JoinError::Etcd(EtcdError::BadAnswer { path: "thread", what: e.to_string() }))?;
        Ok(Coordinator { thread: Some(thread), stop })
    }

    /// Stops the thread: a leader gives up its key so the others elect at once, and the lease is
    /// revoked.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl State {
    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.cluster.cfg.prefix())
    }

    fn me(&self) -> u32 {
        self.cluster.cfg.node_id
    }

    /// Takes `members/<id>`; a key left by a previous process of this node (killed, its lease not
    /// yet expired) is waited out, one held for longer than a lease is another live process.
    fn register(&mut self) -> Result<(), JoinError> {
        let key = self.key(&format!("members/{}", self.me()));
        let member = Member {
            id: self.me(),
            replication: self.cluster.my_replication.to_string(),
            orders: self.cluster.my_orders.to_string(),
            instance: self.instance.clone(),
        };
        let value = serde_json::to_vec(&member).expect("serializable");
        let deadline = Instant::now() + self.lease_ttl * 2 + Duration::from_secs(1);
        let mut waited = false;
        loop {
            let put = Op::Put { key: key.clone(), value: value.clone(), lease: self.lease };
            if self.etcd.txn(&[Compare::Absent(key.clone())], &[put])? {
                return Ok(());
            }
            let holder = self.etcd.get(&key)?.map(|kv| String::from_utf8_lossy(&kv.value).into_owned());
            if Instant::now() >= deadline {
                return Err(JoinError::DuplicateNode { id: self.me(), holder: holder.unwrap_or_default() });
            }
            if !waited {
                tracing::info!(node = self.me(), holder = ?holder, "replication: member key taken; waiting for its lease to expire (a previous run of this node?)");
                waited = true;
            }
            self.keep_alive_if_due();
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn run(mut self, stop: &std::sync::atomic::AtomicBool) {
        let tick = Duration::from_millis((self.cluster.cfg.heartbeat_ms / 2).clamp(10, 50));
        while !stop.load(Ordering::Acquire) {
            self.keep_alive_if_due();
            if let Err(e) = self.step() {
                self.log_error(&e);
            }
            std::thread::sleep(tick);
        }
        self.leave();
    }

    fn log_error(&mut self, e: &EtcdError) {
        let now = Instant::now();
        if self.last_error_log.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1)) {
            self.last_error_log = Some(now);
            let leading = self.cluster.role() == Role::Leader;
            tracing::warn!(leading, lease_valid = self.cluster.lease_valid(), "replication: etcd: {e}");
        }
    }

    fn keep_alive_if_due(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.last_keepalive) < self.lease_ttl / 3 {
            return;
        }
        match self.etcd.keep_alive(self.lease) {
            Ok(0) => {
                tracing::warn!(lease = self.lease, "replication: lease expired; this node steps down and rejoins");
                self.cluster.lease_lost();
                if self.cluster.role() == Role::Leader {
                    self.cluster.deposed.store(true, Ordering::Release);
                    self.cluster.wake_replicator();
                }
                self.renew_lease();
            }
            Ok(ttl) => {
                self.last_keepalive = now;
                self.cluster.lease_renewed(now, Duration::from_secs(ttl));
            }
            Err(e) => self.log_error(&e),
        }
    }

    /// A new lease and member key after the old lease expired.
    fn renew_lease(&mut self) {
        let sent = Instant::now();
        match self.etcd.grant_lease(self.cluster.cfg.lease_ttl_s) {
            Ok((lease, ttl)) => {
                self.lease = lease;
                self.lease_ttl = Duration::from_secs(ttl.max(1));
                self.last_keepalive = sent;
                self.cluster.lease_renewed(sent, self.lease_ttl);
                if let Err(e) = self.register() {
                    self.cluster.set_fatal(e.to_string());
                }
            }
            Err(e) => self.log_error(&e),
        }
    }

    fn step(&mut self) -> Result<(), EtcdError> {
        let leader_key = self.key("leader");
        if self.cluster.resign.swap(false, Ordering::AcqRel) && self.cluster.role() == Role::Leader {
            self.resign(&leader_key)?;
            return Ok(());
        }
        match self.etcd.get(&leader_key)? {
            Some(kv) => {
                let info: Option<LeaderInfo> = serde_json::from_slice(&kv.value).ok();
                let Some(info) = info else {
                    tracing::warn!("replication: unreadable leader key; deleting it");
                    self.etcd
                        .txn(&[Compare::ModRevision(leader_key.clone(), kv.mod_revision)], &[Op::Delete(leader_key)])?;
                    return Ok(());
                };
                self.on_leader(info, kv.mod_revision, kv.lease)
            }
            None => self.elect(),
        }
    }

    fn on_leader(&mut self, info: LeaderInfo, revision: i64, lease: i64) -> Result<(), EtcdError> {
        let leader_key = self.key("leader");
        let mine = info.id == self.me();
        if mine && (lease != self.lease || self.cluster.won_epoch.load(Ordering::Acquire) != info.epoch) {
            // Left by an earlier process (or lease) of this node: it leads no more.
            tracing::info!(epoch = info.epoch, "replication: removing this node's stale leader key");
            self.etcd.txn(&[Compare::ModRevision(leader_key.clone(), revision)], &[Op::Delete(leader_key)])?;
            return Ok(());
        }
        if !mine && self.cluster.role() == Role::Leader {
            tracing::warn!(leader = info.id, epoch = info.epoch, "replication: another node leads; stepping down");
            self.cluster.deposed.store(true, Ordering::Release);
        }
        if !mine && self.cluster.leader_unreachable.load(Ordering::Acquire) == info.epoch {
            tracing::warn!(
                leader = info.id,
                epoch = info.epoch,
                "replication: the leader's replication port refuses connections (its process is gone); deposing it"
            );
            self.cluster.leader_unreachable.store(0, Ordering::Release);
            self.etcd.txn(&[Compare::ModRevision(leader_key.clone(), revision)], &[Op::Delete(leader_key)])?;
            return Ok(());
        }
        if self.candidate_for != 0 && info.epoch >= self.candidate_for {
            let own = self.key(&format!("candidates/{}/{}", self.candidate_for, self.me()));
            let _ = self.etcd.txn(&[], &[Op::Delete(own)]);
            self.candidate_for = 0;
            self.quorum_seen_at = None;
        }
        if !mine && self.cluster.role() != Role::Leader {
            self.cluster.set_role(Role::Follower);
        }
        self.cluster.set_leader(Some(info));
        Ok(())
    }

    /// No leader: stand as a candidate for the next epoch; take it if this node's log is the best
    /// of at least `election_quorum` candidates.
    fn elect(&mut self) -> Result<(), EtcdError> {
        let cfg = &self.cluster.cfg;
        let (quorum, nodes, grace) = (cfg.election_quorum(), cfg.nodes, Duration::from_millis(cfg.election_grace_ms));
        if self.cluster.role() == Role::Leader {
            // Our key is gone (deleted by a follower, or the lease): we lead no more.
            self.cluster.deposed.store(true, Ordering::Release);
            self.cluster.wake_replicator();
            return Ok(());
        }
        self.cluster.set_leader(None);
        if self.cluster.stopping.load(Ordering::Acquire) {
            // A process on its way out must not win the election its resignation started.
            return Ok(());
        }
        let epoch_key = self.key("epoch");
        let (current, epoch_cmp) = match self.etcd.get(&epoch_key)? {
            Some(kv) => (
                String::from_utf8_lossy(&kv.value).parse::<u64>().unwrap_or(0),
                Compare::ModRevision(epoch_key.clone(), kv.mod_revision),
            ),
            None => (0, Compare::Absent(epoch_key.clone())),
        };
        // The leader key again, after the epoch: a winner writes both in one transaction, so an
        // epoch read here has its leader key unless that leader is gone too. Without this check a
        // node that saw "no leader" just before another won, and the new epoch just after, would
        // promise the epoch after the winner's and never follow it.
        if self.etcd.get(&self.key("leader"))?.is_some() {
            return Ok(());
        }
        let target = current + 1;
        self.cluster.seen_epoch.fetch_max(current, Ordering::AcqRel);
        if current > 0 && self.cluster.log_last_seq.load(Ordering::SeqCst) == 0 {
            // An empty node of a set with history must never lead: it would start a new exchange.
            return Ok(());
        }
        if self.candidate_for != target {
            if self.candidate_for != 0 {
                let old = self.key(&format!("candidates/{}/{}", self.candidate_for, self.me()));
                let _ = self.etcd.txn(&[], &[Op::Delete(old)]);
            }
            self.cluster.set_role(Role::Candidate);
            let (last_epoch, last_seq) = self.cluster.promise_epoch(target);
            let c = Candidacy { id: self.me(), last_epoch, last_seq };
            let key = self.key(&format!("candidates/{target}/{}", self.me()));
            self.etcd.put(&key, &serde_json::to_vec(&c).expect("serializable"), self.lease)?;
            tracing::info!(epoch = target, last_epoch, last_seq, "replication: no leader; standing as a candidate");
            self.candidate_for = target;
            self.quorum_seen_at = None;
        }
        let listed = self.etcd.get_prefix(&self.key(&format!("candidates/{target}/")))?;
        let candidates: Vec<Candidacy> =
            listed.iter().filter_map(|kv| serde_json::from_slice(&kv.value).ok()).collect();
        if (candidates.len() as u32) < quorum {
            return Ok(());
        }
        let now = Instant::now();
        let seen = *self.quorum_seen_at.get_or_insert(now);
        if now.duration_since(seen) < grace && (candidates.len() as u32) < nodes {
            return Ok(());
        }
        let best = candidates
            .iter()
            .max_by_key(|c| (c.last_epoch, c.last_seq, std::cmp::Reverse(c.id)))
            .expect("at least a quorum");
        if best.id != self.me() {
            return Ok(());
        }
        let info = LeaderInfo {
            id: self.me(),
            epoch: target,
            replication: self.cluster.my_replication,
            orders: self.cluster.my_orders,
        };
        let leader_key = self.key("leader");
        let took = self.etcd.txn(
            &[epoch_cmp, Compare::Absent(leader_key.clone())],
            &[
                Op::Put { key: epoch_key, value: target.to_string().into_bytes(), lease: 0 },
                Op::Put { key: leader_key, value: serde_json::to_vec(&info).expect("serializable"), lease: self.lease },
            ],
        )?;
        if took {
            tracing::info!(
                epoch = target,
                candidates = candidates.len(),
                last_seq = best.last_seq,
                "replication: this node won the election and leads"
            );
            self.cluster.won_epoch.store(target, Ordering::Release);
            self.cluster.seen_epoch.fetch_max(target, Ordering::AcqRel);
            self.cluster.set_role(Role::Leader);
            self.cluster.set_leader(Some(info));
            self.cluster.wake_replicator();
        }
        Ok(())
    }

    /// A leader's clean stop: its last records are on the followers; the key goes now.
    fn resign(&mut self, leader_key: &str) -> Result<(), EtcdError> {
        if let Some(kv) = self.etcd.get(leader_key)? {
            if kv.lease == self.lease {
                let key = leader_key.to_string();
                self.etcd.txn(&[Compare::ModRevision(key.clone(), kv.mod_revision)], &[Op::Delete(key)])?;
                tracing::info!("replication: gave up the lead (clean stop); a follower takes over");
            }
        }
        self.cluster.set_role(Role::Follower);
        Ok(())
    }

    /// On a clean stop: a leader deletes its key (the followers elect at once instead of waiting
    /// out the lease); the lease is revoked so the member key goes too.
    fn leave(&mut self) {
        if self.cluster.role() == Role::Leader {
            let leader_key = self.key("leader");
            if let Ok(Some(kv)) = self.etcd.get(&leader_key) {
                if kv.lease == self.lease {
                    let _ = self
                        .etcd
                        .txn(&[Compare::ModRevision(leader_key.clone(), kv.mod_revision)], &[Op::Delete(leader_key)]);
                }
            }
        }
        let _ = self.etcd.revoke_lease(self.lease);
        tracing::info!("replication: left the replica set (lease revoked)");
    }
}
