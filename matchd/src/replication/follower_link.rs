//! [`FollowerLink`]: a leader's connection to one follower. It answers the follower's `Hello` with
//! where the follower's log continues (the common prefix of the two epoch histories), then ships
//! records from the leader's own journal (a tailing reader on the mapped segments, so shipping
//! never waits for the journaller and a lagging follower never slows it) and tracks the
//! follower's durable sequence.

use std::path::Path;
use std::time::Instant;

use journal::{JournalReader, ReadError};

use super::epoch_history::EpochHistory;
use super::peer_conn::PeerConn;
use super::wire::{self, Hello, Message, RecordRef, RecordsFrame, Refuse, RefuseCode, Welcome};

/// Bytes queued for a follower before the leader stops reading more records for it.
const SEND_AHEAD_BYTES: usize = 1 << 20;

/// What the leader knows of itself when it answers a `Hello`.
pub struct LeaderView<'a> {
    /// This node's id.
    pub me: u32,
    /// `replication.nodes`.
    pub nodes: u32,
    /// `replication.cluster`.
    pub cluster: &'a str,
    /// The epoch it leads.
    pub epoch: u64,
    /// Its log (last_seq current).
    pub history: &'a EpochHistory,
    /// Its commit sequence.
    pub commit: u64,
    /// Its config file's engine capacities (encoded).
    pub engine_config: &'a [u8],
    /// Its journal directory.
    pub journal_dir: &'a Path,
}

/// What the replicator must do after a follower's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowerEvent {
    /// Nothing special.
    None,
    /// Close this link (logged).
    Close(String),
    /// The follower has seen a newer epoch: this leader is deposed.
    Deposed(u64),
}

/// A leader's connection to one follower.
pub struct FollowerLink {
    /// The connection.
    pub conn: PeerConn,
    /// The follower's id, once it said `Hello`.
    pub node: Option<u32>,
    reader: Option<JournalReader>,
    /// Next sequence to send.
    pub next_seq: u64,
    /// Last sequence durable on the follower.
    pub durable: u64,
    /// Since when the follower has been behind the leader's written sequence.
    pub behind_since: Option<Instant>,
    /// Last time anything was sent.
    pub last_sent: Instant,
}

impl FollowerLink {
    /// A link on an accepted connection.
    pub fn new(conn: PeerConn) -> FollowerLink {
        FollowerLink {
            conn,
            node: None,
            reader: None,
            next_seq: 0,
            durable: 0,
            behind_since: None,
            last_sent: Instant::now(),
        }
    }

    /// Whether the follower is streaming (said `Hello` and was welcomed).
    pub fn streaming(&self) -> bool {
        self.reader.is_some()
    }

    fn refuse(&mut self, code: RefuseCode, epoch: u64, seq: u64, text: String) -> FollowerEvent {
        wire::put_refuse(&mut self.conn.outbuf, &Refuse { code, epoch, seq, text: text.clone() });
        let _ = self.conn.flush();
        FollowerEvent::Close(format!("refused: {code:?}: {text}"))
    }

    /// Handles the follower's frames.
    pub fn process(&mut self, view: &LeaderView<'_>, taken: impl Fn(u32) -> bool) -> FollowerEvent {
        loop {
            let (msg, used) = match wire::decode(&self.conn.inbuf) {
                Ok(Some(x)) => x,
                Ok(None) => return FollowerEvent::None,
                Err(e) => return FollowerEvent::Close(format!("from a follower: {e}")),
            };
            let event = match msg {
                Message::Hello(h) => self.on_hello(&h, view, &taken),
                Message::Ack { durable, .. } => {
                    self.durable = self.durable.max(durable);
                    FollowerEvent::None
                }
                _ => FollowerEvent::Close("unexpected message from a follower".into()),
            };
            self.conn.consume(used);
            if event != FollowerEvent::None {
                return event;
            }
        }
    }

    fn on_hello(&mut self, h: &Hello, v: &LeaderView<'_>, taken: &impl Fn(u32) -> bool) -> FollowerEvent {
        if self.node.is_some() {
            return FollowerEvent::Close("a second Hello".into());
        }
        if h.cluster != v.cluster || h.nodes != v.nodes {
            let text = format!(
                "this leader is cluster {:?} of {} nodes; the follower says cluster {:?} of {}",
                v.cluster, v.nodes, h.cluster, h.nodes
            );
            return self.refuse(RefuseCode::ClusterMismatch, v.epoch, 0, text);
        }
        if h.node == 0 || h.node > v.nodes || h.node == v.me {
            let text = format!("node id {} is not a follower of this set (1..={}, leader {})", h.node, v.nodes, v.me);
            return self.refuse(RefuseCode::UnknownNode, v.epoch, 0, text);
        }
        if taken(h.node) {
            let text = format!("node {} is already connected", h.node);
            return self.refuse(RefuseCode::DuplicateNode, v.epoch, 0, text);
        }
        if h.engine_config != v.engine_config {
            let text = "the config files' [engine] capacities differ between this leader and the follower".to_string();
            return self.refuse(RefuseCode::EngineConfigMismatch, v.epoch, 0, text);
        }
        if h.seen_epoch > v.epoch {
            let text = format!("the follower has seen epoch {}, this leader leads {}", h.seen_epoch, v.epoch);
            let _ = self.refuse(RefuseCode::NotLeader, v.epoch, 0, text);
            return FollowerEvent::Deposed(h.seen_epoch);
        }
        let follower = EpochHistory {
            epochs: h.history.clone(),
            zero: h.zero.clone(),
            zero_len: h.zero_len,
            rolling: h.rolling,
            last_seq: h.last_seq,
        };
        let keep = match v.history.common_prefix(&follower) {
            Ok(k) => k,
            Err(d) => return self.refuse(RefuseCode::Diverged, v.epoch, 0, d.to_string()),
        };
        let start_from = keep + 1;
        let reader = match JournalReader::open(v.journal_dir, start_from) {
            Ok(r) => r,
            Err(ReadError::BeforeStart { first, .. }) => {
                let text = format!(
                    "the follower needs records from {start_from}, this leader's journal starts at {first} (pruned): \
                     give the follower an empty data directory"
                );
                return self.refuse(RefuseCode::BehindStart, v.epoch, start_from, text);
            }
            Err(e) => return FollowerEvent::Close(format!("opening the journal at {start_from}: {e}")),
        };
        tracing::info!(
            follower = h.node,
            follower_last_seq = h.last_seq,
            start_from,
            discards = h.last_seq.saturating_sub(keep),
            "replication: follower connected"
        );
        self.node = Some(h.node);
        self.reader = Some(reader);
        self.next_seq = start_from;
        self.durable = keep;
        wire::put_welcome(
            &mut self.conn.outbuf,
            &Welcome { epoch: v.epoch, leader: v.me, start_from, leader_written: v.history.last_seq, commit: v.commit },
        );
        FollowerEvent::None
    }

    /// Queues records up to `written` (what the journaller has appended), a frame at a time,
    /// while less than [`SEND_AHEAD_BYTES`] wait to be sent. Returns how many were queued.
    pub fn ship(&mut self, epoch: u64, commit: u64, written: u64) -> Result<u64, String> {
        let Some(reader) = self.reader.as_mut() else { return Ok(0) };
        let mut shipped = 0;
        while self.next_seq <= written && self.conn.pending_out() < SEND_AHEAD_BYTES {
            let mut frame = RecordsFrame::begin(&mut self.conn.outbuf, epoch, commit);
            while self.next_seq <= written {
                let rec = match reader.next() {
                    Ok(Some(r)) => r,
                    // Appended but not yet visible (the length field is stored last).
                    Ok(None) => break,
                    Err(e) => {
                        frame.finish(&mut self.conn.outbuf);
                        return Err(format!("reading the journal at {}: {e}", self.next_seq));
                    }
                };
                debug_assert_eq!(rec.seq, self.next_seq);
                if !frame.has_room(&self.conn.outbuf, rec.payload.len()) {
                    // Reread next time: the reader moved past it.
                    frame.finish(&mut self.conn.outbuf);
                    let at = self.next_seq;
                    return Err(format!("record {at} does not fit a frame"));
                }
                frame.push(
                    &mut self.conn.outbuf,
                    RecordRef { seq: rec.seq, record_type: rec.record_type, payload: rec.payload },
                );
                self.next_seq += 1;
                if !frame.has_room(&self.conn.outbuf, engine::command_codec::MAX_COMMAND_BYTES) {
                    break;
                }
            }
            let n = frame.count();
            frame.finish(&mut self.conn.outbuf);
            if n == 0 {
                break;
            }
            shipped += n as u64;
        }
        if shipped > 0 {
            self.last_sent = Instant::now();
        }
        Ok(shipped)
    }

    /// Queues a heartbeat.
    pub fn heartbeat(&mut self, epoch: u64, commit: u64, written: u64) {
        wire::put_heartbeat(&mut self.conn.outbuf, epoch, commit, written);
        self.last_sent = Instant::now();
    }
}
