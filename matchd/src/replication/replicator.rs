//! The replicator stage: the thread between the journaller and the matcher in a replica set. It
//! owns the *gate*, the input-ring consumer the matcher waits on, and releases a command only when
//! it is committed: on a leader, durable on `ack_quorum` nodes (its own disk and enough
//! followers'); on a follower, durable here and committed by the leader. So every node applies
//! exactly the committed log, and the matcher never applies a record that a failover could cut.
//!
//! ```text
//! leader:   gateway ─► ring ─► journaller ─► gate (quorum) ─► matcher
//!                               journal ─► replicator ─► followers ─► acks ─┘
//! follower: leader ─► replicator ─► ring ─► journaller ─► gate (leader's commit) ─► matcher
//! ```
//!
//! A follower's replicator owns the ring's producer; when this node wins an election it journals
//! `StartEpoch` as the epoch's first record and hands the producer to the gateway. A leader that
//! loses its leadership stops releasing at once and the pipeline restarts as a follower.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::clock::now_ns;
use gateway::control_plane::ControlPlane;
use gateway::leadership::Leadership;
use gateway::wake::Wake;
use gateway::InputSlot;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use ring::{Consumer, RingError};

use super::cluster::{Cluster, Role};
use super::follower_link::{FollowerEvent, FollowerLink, LeaderView};
use super::leader_link::{LeaderLink, LinkEvent, LinkState};
use super::local_log::LocalLog;
use super::peer_conn::{IoState, PeerConn};
use super::replication_stats::{ReplicationStats, MAX_NODES};
use super::wire::{self, Hello, Refuse, RefuseCode};
use crate::journaller::JournallerStats;

const WAKE: Token = Token(0);
const LISTENER: Token = Token(1);
const LEADER: Token = Token(2);
const FIRST_FOLLOWER: usize = 16;
/// Follower connections a leader keeps (a set has at most 8 followers; extra room for
/// connections that have not said `Hello` yet).
const MAX_FOLLOWER_LINKS: usize = 32;
/// How long a clean stop waits for followers to make everything durable (a switchover).
const FINAL_SYNC: Duration = Duration::from_millis(1500);

/// Why the replicator stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicatorExit {
    /// Asked to stop (the process stops).
    Stopped,
    /// The pipeline must restart (and truncate/rejoin): deposed, or the log must be cut.
    Rejoin(String),
    /// An error that needs an operator.
    Fatal(String),
}

/// What the replicator is given.
pub struct ReplicatorParts {
    /// Shared with the coordinator.
    pub cluster: Arc<Cluster>,
    /// The gate consumer (barrier: the journaller; the matcher waits on it).
    pub gate: Consumer<InputSlot>,
    /// This node's log and, as a follower, the ring's producer.
    pub log: LocalLog,
    /// Where the producer goes when this node leads.
    pub leadership: Arc<Leadership>,
    /// Wakes the gateway after the hand-over.
    pub control: Arc<ControlPlane>,
    /// The replication listener.
    pub listener: TcpListener,
    /// The journal directory (the leader ships from it).
    pub journal_dir: PathBuf,
    /// The journaller's counters (its written sequence).
    pub journaller: Arc<JournallerStats>,
    /// The config file's engine capacities, encoded (compared in `Hello`).
    pub engine_config: [u8; engine::command_codec::ENGINE_CONFIG_BYTES],
    /// Counters.
    pub stats: Arc<ReplicationStats>,
    /// Set to stop.
    pub stop: Arc<AtomicBool>,
}

enum Mode {
    Follower { link: Option<LeaderLink>, unreachable_since: Option<Instant>, next_connect: Instant },
    Leader { epoch: u64, epoch_start: u64, last_heartbeat: Instant },
}

/// The replicator stage.
pub struct Replicator {
    p: ReplicatorParts,
    poll: Poll,
    wake: Arc<Wake>,
    mode: Mode,
    followers: Vec<Option<FollowerLink>>,
    /// Highest sequence known committed.
    commit: u64,
    /// When local durability last advanced (for the quorum-wait histogram).
    local_durable_at: Option<(u64, Instant)>,
}

impl Replicator {
    /// A replicator that starts as a follower (it promotes itself at once if this node already
    /// won the election).
    pub fn new(mut p: ReplicatorParts) -> std::io::Result<Replicator> {
        let poll = Poll::new()?;
        let wake = Arc::new(Wake::new(mio::Waker::new(poll.registry(), WAKE)?));
        poll.registry().register(&mut p.listener, LISTENER, Interest::READABLE)?;
        p.cluster.set_replicator_wake(Some(wake.clone()));
        p.cluster.log_last_seq.store(p.log.history.last_seq, Ordering::SeqCst);
        p.cluster.log_last_epoch.store(p.log.history.last_epoch(), Ordering::SeqCst);
        let commit = p.log.base;
        Ok(Replicator {
            p,
            poll,
            wake,
            mode: Mode::Follower { link: None, unreachable_since: None, next_connect: Instant::now() },
            followers: Vec::new(),
            commit,
            local_durable_at: None,
        })
    }

    /// The waker the journaller calls after it appends and after it syncs.
    pub fn wake(&self) -> Arc<Wake> {
        self.wake.clone()
    }

    /// Runs until stopped, deposed, or a fatal error; on return the gate is released as far as
    /// the commit allows and the producer (if still here) is dropped, closing the ring.
    pub fn run(mut self) -> ReplicatorExit {
        let exit = self.run_inner();
        if exit == ReplicatorExit::Stopped {
            self.p.cluster.stopping.store(true, Ordering::Release);
        }
        if exit == ReplicatorExit::Stopped && matches!(self.mode, Mode::Leader { .. }) {
            self.final_sync();
            self.p.cluster.resign.store(true, Ordering::Release);
        }
        self.p.cluster.set_replicator_wake(None);
        match &exit {
            ReplicatorExit::Stopped => tracing::info!(commit = self.commit, "replicator stopped"),
            ReplicatorExit::Rejoin(why) => tracing::warn!(commit = self.commit, "replication: rejoining: {why}"),
            ReplicatorExit::Fatal(why) => tracing::error!(commit = self.commit, "replication: {why}"),
        }
        exit
    }

    fn run_inner(&mut self) -> ReplicatorExit {
        let mut events = Events::with_capacity(256);
        loop {
            if self.p.stop.load(Ordering::Acquire) {
                return ReplicatorExit::Stopped;
            }
            if let Some(f) = self.p.cluster.fatal() {
                return ReplicatorExit::Fatal(f);
            }
            if let Some(exit) = self.check_role() {
                return exit;
            }
            let busy = self.busy();
            // New bytes and socket space wake the poll (edge-triggered, read to WouldBlock); a
            // frame waiting for ring space is retried after a millisecond, never spun on.
            let timeout = if busy { Duration::from_millis(1) } else { Duration::from_millis(5) };
            self.wake.about_to_sleep();
            let res = self.poll.poll(&mut events, Some(timeout));
            self.wake.awake();
            if let Err(e) = res {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return ReplicatorExit::Fatal(format!("replicator poll: {e}"));
                }
            }
            for ev in events.iter() {
                match ev.token() {
                    WAKE => {}
                    LISTENER => self.accept(),
                    LEADER => {}
                    Token(t) => self.follower_io(t - FIRST_FOLLOWER),
                }
            }
            let step = match self.mode {
                Mode::Follower { .. } => self.follower_step(),
                Mode::Leader { .. } => self.leader_step(),
            };
            if let Some(exit) = step {
                return exit;
            }
        }
    }

    /// Whether there is work that should not wait for the poll timeout (a follower with bytes
    /// to send, or a frame waiting for ring space; the journaller wakes the leader).
    fn busy(&self) -> bool {
        matches!(&self.mode, Mode::Follower { link: Some(l), .. } if l.conn.inbuf.len() >= 4 || l.conn.pending_out() > 0)
    }

    /// Promotion when this node won; a deposed leader's exit.
    fn check_role(&mut self) -> Option<ReplicatorExit> {
        let won = self.p.cluster.won_epoch.load(Ordering::Acquire);
        match self.mode {
            Mode::Follower { .. } if won > self.p.cluster.led_epoch.load(Ordering::Acquire) => {
                self.promote(won);
                None
            }
            Mode::Leader { epoch, .. } if self.p.cluster.deposed.load(Ordering::Acquire) => {
                Some(ReplicatorExit::Rejoin(format!("deposed while leading epoch {epoch}")))
            }
            _ => None,
        }
    }

    // ----- gate ----------------------------------------------------------------------------

    /// Journal sequence durable here (the journaller's released sequence).
    fn local_durable(&mut self) -> Result<u64, RingError> {
        let base = self.p.log.base;
        match self.p.gate.poll()? {
            Some(range) => Ok(base + *range.end() as u64 + 1),
            None => Ok(base + self.p.gate.sequence().wrapping_add(1) as u64),
        }
    }

    /// Releases the gate up to `commit` (as far as the journaller has made durable).
    fn release_to(&mut self, commit: u64) {
        let base = self.p.log.base;
        let released = self.p.gate.sequence();
        let Ok(Some(range)) = self.p.gate.poll() else { return };
        let upto = (commit as i64 - base as i64 - 1).min(*range.end());
        if upto > released {
            self.p.gate.release(upto);
        }
    }

    // ----- follower --------------------------------------------------------------------------

    fn hello(&self) -> Hello {
        let cfg = &self.p.cluster.cfg;
        let h = &self.p.log.history;
        Hello {
            node: cfg.node_id,
            nodes: cfg.nodes,
            cluster: cfg.cluster.clone(),
            last_seq: h.last_seq,
            seen_epoch: self
                .p
                .cluster
                .seen_epoch
                .load(Ordering::Acquire)
                .max(self.p.cluster.promise.load(Ordering::Acquire)),
            rolling: h.rolling,
            zero_len: h.zero_len,
            zero: h.zero.clone(),
            engine_config: self.p.engine_config,
            history: h.epochs.clone(),
        }
    }

    fn follower_step(&mut self) -> Option<ReplicatorExit> {
        let leader = self.p.cluster.leader();
        self.p.leadership.set_leader(leader.as_ref().filter(|l| l.id != self.p.cluster.cfg.node_id).map(|l| l.orders));
        let promise = self.p.cluster.promise.load(Ordering::SeqCst);
        let cfg = self.p.cluster.cfg.clone();
        let Mode::Follower { link, next_connect, .. } = &mut self.mode else { return None };
        // Drop a link to a leader that is no longer the leader (or older than an election).
        if let Some(l) = link.as_ref() {
            let stale = leader.as_ref() != Some(&l.leader) || l.leader.epoch < promise;
            let silent = l.last_rx.elapsed() > Duration::from_millis(cfg.leader_silence_ms);
            if stale || silent {
                tracing::info!(
                    leader = l.leader.id,
                    epoch = l.leader.epoch,
                    stale,
                    silent,
                    "replication: leaving the leader"
                );
                let _ = self.poll.registry().deregister(&mut link.as_mut().expect("some").conn.stream);
                *link = None;
            }
        }
        if link.is_none() && Instant::now() >= *next_connect {
            if let Some(info) = leader.filter(|l| l.id != cfg.node_id && l.epoch >= promise) {
                *next_connect = Instant::now() + Duration::from_millis(20);
                match TcpStream::connect(info.replication) {
                    Ok(mut s) => {
                        if self
                            .poll
                            .registry()
                            .register(&mut s, LEADER, Interest::READABLE | Interest::WRITABLE)
                            .is_ok()
                        {
                            let hello = self.hello();
                            let Mode::Follower { link, .. } = &mut self.mode else { return None };
                            *link = Some(LeaderLink::new(PeerConn::new(s), info, &hello));
                            self.p.stats.connections.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => tracing::debug!("replication: connect to {}: {e}", info.replication),
                }
            }
        }
        self.follower_link_io()
    }

    fn follower_link_io(&mut self) -> Option<ReplicatorExit> {
        let cfg_unreachable = Duration::from_millis(self.p.cluster.cfg.leader_unreachable_ms);
        let Mode::Follower { link: Some(l), unreachable_since, .. } = &mut self.mode else {
            self.follower_gate();
            return None;
        };
        if l.state == LinkState::Connecting {
            if let Some(e) = l.conn.connect_error() {
                let refused = e.kind() == std::io::ErrorKind::ConnectionRefused;
                let since = *unreachable_since.get_or_insert_with(Instant::now);
                if refused && since.elapsed() >= cfg_unreachable {
                    let epoch = l.leader.epoch;
                    self.p.cluster.leader_unreachable.store(epoch, Ordering::Release);
                }
                let Mode::Follower { link, .. } = &mut self.mode else { return None };
                *link = None;
                self.follower_gate();
                return None;
            }
            if l.conn.stream.peer_addr().is_ok() {
                l.state = LinkState::Greeting;
                *unreachable_since = None;
            }
        }
        let mut received = 0;
        let mut event = LinkEvent::None;
        if l.state != LinkState::Connecting {
            if l.conn.read_available() == IoState::Closed && l.conn.inbuf.len() < 4 {
                event = LinkEvent::Reconnect("the leader closed the connection".into());
            }
            if event == LinkEvent::None {
                event = l.process(&mut self.p.log, &self.p.cluster, &mut received);
            }
        }
        self.p.stats.records_received.fetch_add(received, Ordering::Relaxed);
        let commit = l.commit;
        if event == LinkEvent::None && l.state != LinkState::Connecting {
            // Acknowledge what the journaller has made durable.
            if let Ok(durable) = self.local_durable() {
                let Mode::Follower { link: Some(l), .. } = &mut self.mode else { return None };
                if durable > l.acked {
                    wire::put_ack(&mut l.conn.outbuf, durable, self.p.log.history.last_seq);
                    l.acked = durable;
                }
                if l.conn.flush() == IoState::Closed {
                    event = LinkEvent::Reconnect("writing to the leader failed".into());
                }
            }
        }
        self.commit = self.commit.max(commit);
        self.follower_gate();
        match event {
            LinkEvent::None => None,
            LinkEvent::Reconnect(why) => {
                tracing::info!("replication: {why}; reconnecting");
                let Mode::Follower { link, .. } = &mut self.mode else { return None };
                if let Some(mut l) = link.take() {
                    let _ = self.poll.registry().deregister(&mut l.conn.stream);
                }
                None
            }
            LinkEvent::Truncate { keep } => Some(ReplicatorExit::Rejoin(format!(
                "the leader's log differs after sequence {keep}: records {}..={} here were never committed and are discarded",
                keep + 1,
                self.p.log.history.last_seq
            ))),
            LinkEvent::Fatal(why) => Some(ReplicatorExit::Fatal(why)),
        }
    }

    fn follower_gate(&mut self) {
        let commit = self.commit;
        self.release_to(commit);
        ReplicationStats::set(&self.p.stats.commit_seq, commit);
        ReplicationStats::set(&self.p.stats.log_seq, self.p.log.history.last_seq);
    }

    // ----- promotion ------------------------------------------------------------------------

    fn promote(&mut self, epoch: u64) {
        if let Mode::Follower { link: Some(l), .. } = &mut self.mode {
            let _ = self.poll.registry().deregister(&mut l.conn.stream);
        }
        // Records received before the election are this node's log: journaled, committed with
        // the new epoch's first record.
        let me = self.p.cluster.cfg.node_id;
        let commit = self.commit;
        let base = self.p.log.base;
        let gate = &mut self.p.gate;
        let epoch_start = self.p.log.start_epoch(epoch, me, now_ns(), || {
            if let Ok(Some(range)) = gate.poll() {
                let upto = (commit as i64 - base as i64 - 1).min(*range.end());
                if upto > gate.sequence() {
                    gate.release(upto);
                }
            }
        });
        let producer = self.p.log.producer.take().expect("a follower holds the producer");
        self.p.leadership.set_leader(None);
        self.p.leadership.hand_over(producer);
        self.p.control.gateway_wake.notify();
        self.p.cluster.led_epoch.store(epoch, Ordering::Release);
        self.p.cluster.set_role(Role::Leader);
        self.p.stats.promotions.fetch_add(1, Ordering::Relaxed);
        ReplicationStats::set(&self.p.stats.epoch, epoch);
        tracing::info!(epoch, epoch_start, commit, "replication: leading; order entry open");
        self.mode = Mode::Leader { epoch, epoch_start, last_heartbeat: Instant::now() };
    }

    // ----- leader ---------------------------------------------------------------------------

    fn written(&self) -> u64 {
        self.p.log.base + self.p.journaller.records.load(Ordering::Acquire)
    }

    fn accept(&mut self) {
        loop {
            match self.p.listener.accept() {
                Ok((mut stream, peer)) => {
                    let leading = matches!(self.mode, Mode::Leader { .. });
                    if !leading {
                        self.refuse_not_leader(stream, peer);
                        continue;
                    }
                    let Some(slot) = self.free_follower_slot() else {
                        tracing::warn!(%peer, "replication: too many follower connections; refusing");
                        continue;
                    };
                    let token = Token(FIRST_FOLLOWER + slot);
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                        .is_ok()
                    {
                        self.followers[slot] = Some(FollowerLink::new(PeerConn::new(stream)));
                        self.p.stats.connections.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!("replication: accept: {e}");
                    return;
                }
            }
        }
    }

    fn refuse_not_leader(&self, stream: TcpStream, peer: SocketAddr) {
        let mut conn = PeerConn::new(stream);
        let epoch = self.p.cluster.seen_epoch.load(Ordering::Acquire);
        let text = "this node is not the leader".to_string();
        wire::put_refuse(&mut conn.outbuf, &Refuse { code: RefuseCode::NotLeader, epoch, seq: 0, text });
        let _ = conn.flush();
        tracing::debug!(%peer, "replication: refused a follower: not the leader");
    }

    fn free_follower_slot(&mut self) -> Option<usize> {
        if let Some(i) = self.followers.iter().position(Option::is_none) {
            return Some(i);
        }
        (self.followers.len() < MAX_FOLLOWER_LINKS).then(|| {
            self.followers.push(None);
            self.followers.len() - 1
        })
    }

    fn follower_io(&mut self, i: usize) {
        let Mode::Leader { epoch, .. } = self.mode else { return };
        let Some(Some(f)) = self.followers.get_mut(i) else { return };
        let closed = f.conn.read_available() == IoState::Closed;
        let mut history = self.p.log.history.clone();
        history.last_seq = history.last_seq.max(self.p.log.base + self.p.journaller.records.load(Ordering::Acquire));
        let taken: Vec<u32> =
            self.followers.iter().enumerate().filter(|(j, _)| *j != i).filter_map(|(_, f)| f.as_ref()?.node).collect();
        let engine_config = self.p.engine_config;
        let cfg = &self.p.cluster.cfg;
        let view = LeaderView {
            me: cfg.node_id,
            nodes: cfg.nodes,
            cluster: &cfg.cluster,
            epoch,
            history: &history,
            commit: self.commit,
            engine_config: &engine_config,
            journal_dir: &self.p.journal_dir,
        };
        let Some(f) = self.followers[i].as_mut() else { return };
        let event = f.process(&view, |n| taken.contains(&n));
        let event = match event {
            FollowerEvent::None if closed => FollowerEvent::Close("the follower closed the connection".into()),
            e => e,
        };
        match event {
            FollowerEvent::None => {}
            FollowerEvent::Close(why) => self.close_follower(i, &why),
            FollowerEvent::Deposed(newer) => {
                tracing::warn!(newer, "replication: a follower has seen a newer epoch; stepping down");
                self.p.cluster.seen_epoch.fetch_max(newer, Ordering::AcqRel);
                self.p.cluster.deposed.store(true, Ordering::Release);
                self.close_follower(i, "deposed");
            }
        }
    }

    fn close_follower(&mut self, i: usize, why: &str) {
        if let Some(mut f) = self.followers[i].take() {
            tracing::info!(follower = ?f.node, "replication: follower link closed: {why}");
            if let Some(n) = f.node.filter(|&n| (n as usize) < MAX_NODES) {
                ReplicationStats::set(&self.p.stats.followers[n as usize].connected, 0);
            }
            let _ = self.poll.registry().deregister(&mut f.conn.stream);
        }
    }

    fn leader_step(&mut self) -> Option<ReplicatorExit> {
        let Mode::Leader { epoch, epoch_start, last_heartbeat } = self.mode else { return None };
        let written = self.written();
        self.p.log.history.last_seq = self.p.log.history.last_seq.max(written);
        let heartbeat_due = last_heartbeat.elapsed() >= Duration::from_millis(self.p.cluster.cfg.heartbeat_ms);
        let now = Instant::now();
        for i in 0..self.followers.len() {
            let commit = self.commit;
            let Some(f) = self.followers[i].as_mut() else { continue };
            if f.streaming() {
                match f.ship(epoch, commit, written) {
                    Ok(n) => {
                        self.p.stats.records_sent.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(e) => {
                        self.close_follower(i, &e);
                        continue;
                    }
                }
                let Some(f) = self.followers[i].as_mut() else { continue };
                if heartbeat_due && f.conn.pending_out() == 0 {
                    f.heartbeat(epoch, commit, written);
                }
                if f.durable >= written {
                    f.behind_since = None;
                } else if f.behind_since.is_none() {
                    f.behind_since = Some(now);
                }
                if let Some(n) = f.node.filter(|&n| (n as usize) < MAX_NODES) {
                    let lag = &self.p.stats.followers[n as usize];
                    ReplicationStats::set(&lag.connected, 1);
                    ReplicationStats::set(&lag.durable_seq, f.durable);
                    ReplicationStats::set(&lag.lag_records, written.saturating_sub(f.durable));
                    ReplicationStats::set(&lag.lag_us, f.behind_since.map_or(0, |t| t.elapsed().as_micros() as u64));
                }
            }
            let Some(f) = self.followers[i].as_mut() else { continue };
            if f.conn.flush() == IoState::Closed {
                self.close_follower(i, "writing to the follower failed");
            }
        }
        if heartbeat_due {
            self.mode = Mode::Leader { epoch, epoch_start, last_heartbeat: now };
        }
        self.leader_commit(epoch_start);
        ReplicationStats::set(&self.p.stats.log_seq, written);
        None
    }

    /// Commit = the highest sequence durable here and on `ack_quorum - 1` followers, once this
    /// epoch's `StartEpoch` is among it (records of older epochs commit with it, never alone:
    /// Raft's rule, so a later leader cannot cut them) and only while the lease is surely held.
    fn leader_commit(&mut self, epoch_start: u64) {
        let Ok(local) = self.local_durable() else { return };
        if self.local_durable_at.is_none_or(|(s, _)| local > s) {
            self.local_durable_at = Some((local, Instant::now()));
        }
        let need = self.p.cluster.cfg.ack_quorum().saturating_sub(1) as usize;
        let candidate = if need == 0 {
            local
        } else {
            let mut durables: Vec<u64> =
                self.followers.iter().flatten().filter(|f| f.streaming()).map(|f| f.durable).collect();
            if durables.len() < need {
                return;
            }
            durables.sort_unstable_by(|a, b| b.cmp(a));
            local.min(durables[need - 1])
        };
        if candidate < epoch_start || candidate <= self.commit || !self.p.cluster.lease_valid() {
            return;
        }
        if let Some((_, at)) = self.local_durable_at {
            self.p.stats.quorum_wait.record(at.elapsed().as_nanos() as u64);
        }
        self.commit = candidate;
        ReplicationStats::set(&self.p.stats.commit_seq, candidate);
        self.release_to(candidate);
    }

    /// A clean stop: the gateway is closed, so the log ends; ship the rest and wait (bounded)
    /// until every connected follower has made it durable, so a planned restart of the leader
    /// loses nothing and the next leader has everything.
    fn final_sync(&mut self) {
        let Mode::Leader { .. } = self.mode else { return };
        let deadline = Instant::now() + FINAL_SYNC;
        let mut events = Events::with_capacity(64);
        while Instant::now() < deadline {
            let _ = self.leader_step();
            let written = self.written();
            let all = self.followers.iter().flatten().filter(|f| f.streaming()).all(|f| f.durable >= written);
            if all {
                return;
            }
            let _ = self.poll.poll(&mut events, Some(Duration::from_millis(2)));
            for ev in events.iter() {
                if ev.token().0 >= FIRST_FOLLOWER {
                    self.follower_io(ev.token().0 - FIRST_FOLLOWER);
                }
            }
        }
        tracing::warn!("replication: followers did not confirm the last records before the stop");
    }
}
