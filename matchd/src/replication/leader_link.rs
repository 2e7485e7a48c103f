//! [`LeaderLink`]: a follower's connection to its leader. It says `Hello` (who it is, what its log
//! holds), learns where its log continues (`Welcome`), then takes `Records` into the input ring
//! and acknowledges how far its own journal has made them durable.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::cluster::{Cluster, LeaderInfo};
use super::local_log::LocalLog;
use super::peer_conn::PeerConn;
use super::wire::{self, Hello, Message, RefuseCode};

/// Where the link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Connecting; `Hello` queued.
    Connecting,
    /// Waiting for `Welcome`.
    Greeting,
    /// Taking records of this epoch.
    Streaming {
        /// The leader's epoch.
        epoch: u64,
    },
}

/// What the replicator must do after the link processed its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// Nothing special.
    None,
    /// Drop the connection and reconnect later (logged).
    Reconnect(String),
    /// This node's log must be cut after `keep` (records the leader does not have): restart the
    /// pipeline, which truncates before replaying.
    Truncate {
        /// The last record kept.
        keep: u64,
    },
    /// The logs cannot be reconciled, or the configs differ: stop the process.
    Fatal(String),
}

/// A follower's connection to its leader.
pub struct LeaderLink {
    /// The connection.
    pub conn: PeerConn,
    /// The leader it was made to.
    pub leader: LeaderInfo,
    /// Where it is.
    pub state: LinkState,
    /// Last time anything arrived.
    pub last_rx: Instant,
    /// The leader's commit sequence, as last told.
    pub commit: u64,
    /// Last durable sequence acknowledged to the leader.
    pub acked: u64,
}

impl LeaderLink {
    /// A link on a connecting socket, with `hello` queued.
    pub fn new(conn: PeerConn, leader: LeaderInfo, hello: &Hello) -> LeaderLink {
        let mut link =
            LeaderLink { conn, leader, state: LinkState::Connecting, last_rx: Instant::now(), commit: 0, acked: 0 };
        wire::put_hello(&mut link.conn.outbuf, hello);
        link
    }

    /// Decodes and handles every complete frame in the input buffer. Records are taken only while
    /// the ring has room for a whole frame (the rest waits in the buffer).
    pub fn process(&mut self, log: &mut LocalLog, cluster: &Cluster, received: &mut u64) -> LinkEvent {
        loop {
            let (msg, used) = match wire::decode(&self.conn.inbuf) {
                Ok(Some(x)) => x,
                Ok(None) => return LinkEvent::None,
                Err(e) => return LinkEvent::Reconnect(format!("from the leader: {e}")),
            };
            self.last_rx = Instant::now();
            let event = match msg {
                Message::Welcome(w) => {
                    if w.leader != self.leader.id || w.epoch != self.leader.epoch {
                        LinkEvent::Reconnect(format!(
                            "welcome from node {} epoch {}, expected node {} epoch {}",
                            w.leader, w.epoch, self.leader.id, self.leader.epoch
                        ))
                    } else if w.epoch < cluster.promise.load(Ordering::SeqCst) {
                        LinkEvent::Reconnect(format!("leader's epoch {} is older than the election under way", w.epoch))
                    } else if w.start_from <= log.history.last_seq {
                        LinkEvent::Truncate { keep: w.start_from - 1 }
                    } else if w.start_from != log.history.last_seq + 1 {
                        LinkEvent::Fatal(format!(
                            "the leader would continue at {} but this log ends at {}",
                            w.start_from, log.history.last_seq
                        ))
                    } else {
                        tracing::info!(
                            leader = w.leader,
                            epoch = w.epoch,
                            from = w.start_from,
                            leader_written = w.leader_written,
                            "replication: following"
                        );
                        self.state = LinkState::Streaming { epoch: w.epoch };
                        self.commit = self.commit.max(w.commit);
                        LinkEvent::None
                    }
                }
                Message::Records { epoch, commit, body, count } => {
                    let LinkState::Streaming { epoch: mine } = self.state else {
                        return LinkEvent::Reconnect("records before the welcome".into());
                    };
                    if epoch != mine {
                        return LinkEvent::Reconnect(format!("records of epoch {epoch} on a link of epoch {mine}"));
                    }
                    if log.free_slots() < count as usize {
                        // The pipeline is behind: the frame waits; the gate releases meanwhile.
                        return LinkEvent::None;
                    }
                    match Self::append(log, cluster, epoch, body, count) {
                        Ok(n) => {
                            *received += n;
                            self.commit = self.commit.max(commit);
                            LinkEvent::None
                        }
                        Err(ev) => ev,
                    }
                }
                Message::Heartbeat { epoch, commit, .. } => match self.state {
                    LinkState::Streaming { epoch: mine } if mine == epoch => {
                        self.commit = self.commit.max(commit);
                        LinkEvent::None
                    }
                    _ => LinkEvent::None,
                },
                Message::Refuse(r) => match r.code {
                    RefuseCode::NotLeader | RefuseCode::StaleEpoch | RefuseCode::DuplicateNode => {
                        LinkEvent::Reconnect(format!("leader refused: {:?} (epoch {}): {}", r.code, r.epoch, r.text))
                    }
                    _ => LinkEvent::Fatal(format!(
                        "the leader (node {}, epoch {}) refused this node: {:?} at sequence {}: {}",
                        self.leader.id, r.epoch, r.code, r.seq, r.text
                    )),
                },
                Message::Hello(_) | Message::Ack { .. } => {
                    LinkEvent::Reconnect("a follower's message from the leader".into())
                }
            };
            self.conn.consume(used);
            if event != LinkEvent::None {
                return event;
            }
        }
    }

    /// Appends one `Records` frame under the promise protocol: an election that started before
    /// the check stops the batch; one that starts after waits for it (`Cluster::promise_epoch`).
    fn append(log: &mut LocalLog, cluster: &Cluster, epoch: u64, body: &[u8], count: u32) -> Result<u64, LinkEvent> {
        cluster.in_batch.store(true, Ordering::SeqCst);
        let result = (|| {
            if cluster.promise.load(Ordering::SeqCst) > epoch {
                return Err(LinkEvent::Reconnect(format!("an election beyond epoch {epoch} is under way")));
            }
            let mut n = 0;
            for r in wire::records(body, count) {
                let r = r.map_err(|e| LinkEvent::Reconnect(format!("from the leader: {e}")))?;
                log.append_shipped(r, epoch).map_err(|e| LinkEvent::Fatal(format!("from the leader: {e}")))?;
                n += 1;
            }
            Ok(n)
        })();
        cluster.log_last_seq.store(log.history.last_seq, Ordering::SeqCst);
        cluster.log_last_epoch.store(log.history.last_epoch(), Ordering::SeqCst);
        cluster.in_batch.store(false, Ordering::SeqCst);
        result
    }
}
