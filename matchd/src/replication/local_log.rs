//! [`LocalLog`]: this node's log as the replicator sees it: its epoch history, its end, and (on a
//! follower) the input ring's producer through which the leader's records enter the pipeline, to
//! be journaled by the journaller exactly as the leader journaled them.

use engine::command_codec::{decode, encode, kind, MAX_COMMAND_BYTES, RECORD_COMMAND};
use engine::{Command, CommandKind, StartEpoch};
use gateway::InputSlot;
use ring::Producer;

use super::epoch_history::EpochHistory;
use super::wire::RecordRef;

/// Why a shipped record cannot enter this node's log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// Not the next sequence.
    #[error("record {got} arrived where {expected} was due")]
    OutOfOrder {
        /// The next sequence of this log.
        expected: u64,
        /// What arrived.
        got: u64,
    },
    /// Only commands travel in the live stream (the engine-config record is the log's first).
    #[error("record {seq} has journal type {record_type}, not a command")]
    NotACommand {
        /// Sequence.
        seq: u64,
        /// Its type.
        record_type: u8,
    },
    /// The payload is not a command this version decodes, or not in its canonical encoding (it
    /// would not journal as the same bytes).
    #[error("record {seq}: {why}")]
    Undecodable {
        /// Sequence.
        seq: u64,
        /// Why.
        why: String,
    },
    /// A `StartEpoch` newer than the leader's own epoch, or epochs out of order.
    #[error("record {seq}: {why}")]
    BadEpoch {
        /// Sequence.
        seq: u64,
        /// Why.
        why: String,
    },
}

/// This node's log end and epoch history, and the producer while it follows.
pub struct LocalLog {
    /// The epochs of the log, and its last sequence (the last record published into the ring, or
    /// written before this run).
    pub history: EpochHistory,
    /// The input ring's producer (follower); `None` once handed to the gateway.
    pub producer: Option<Producer<InputSlot>>,
    /// Journal sequence of ring sequence -1.
    pub base: u64,
}

impl LocalLog {
    /// Room in the ring for this many records now (0 without the producer).
    pub fn free_slots(&self) -> usize {
        self.producer.as_ref().map_or(0, |p| p.free_slots())
    }

    /// Validates a record the leader shipped and publishes it into the input ring (the caller
    /// made sure a slot is free). Returns whether it was a `StartEpoch`.
    pub fn append_shipped(&mut self, r: RecordRef<'_>, leader_epoch: u64) -> Result<(), AppendError> {
        let expected = self.history.last_seq + 1;
        if r.seq != expected {
            return Err(AppendError::OutOfOrder { expected, got: r.seq });
        }
        if r.record_type != RECORD_COMMAND {
            return Err(AppendError::NotACommand { seq: r.seq, record_type: r.record_type });
        }
        let cmd = decode(r.payload).map_err(|e| AppendError::Undecodable { seq: r.seq, why: e.to_string() })?;
        let mut buf = [0u8; MAX_COMMAND_BYTES];
        let n = encode(&cmd, &mut buf);
        if &buf[..n] != r.payload {
            return Err(AppendError::Undecodable { seq: r.seq, why: "not the canonical encoding".into() });
        }
        if let CommandKind::StartEpoch(s) = cmd.kind {
            if s.epoch > leader_epoch {
                return Err(AppendError::BadEpoch {
                    seq: r.seq,
                    why: format!("StartEpoch {} from the leader of epoch {leader_epoch}", s.epoch),
                });
            }
        }
        // Checked before the record is published: a bad epoch order never reaches the journal.
        self.history
            .check(r.seq, r.record_type, r.payload)
            .map_err(|e| AppendError::BadEpoch { seq: r.seq, why: e.to_string() })?;
        let producer = self.producer.as_mut().expect("a follower holds the producer");
        let s = *producer.try_claim(1).expect("the caller checked free_slots").end();
        producer.slot_mut(s).cmd = cmd;
        producer.publish(s);
        debug_assert_eq!(self.base + s as u64 + 1, r.seq);
        self.history.append(r.seq, r.record_type, r.payload).expect("checked above");
        Ok(())
    }

    /// Publishes this node's `StartEpoch` as the first record of its epoch; returns its sequence
    /// (waits for ring space by calling `make_room`, which must release the gate).
    pub fn start_epoch(&mut self, epoch: u64, node: u32, timestamp_ns: u64, mut make_room: impl FnMut()) -> u64 {
        let cmd = Command { account: 0, timestamp_ns, kind: CommandKind::StartEpoch(StartEpoch { epoch, node }) };
        let mut buf = [0u8; MAX_COMMAND_BYTES];
        let n = encode(&cmd, &mut buf);
        debug_assert_eq!(buf[0], kind::START_EPOCH);
        let producer = self.producer.as_mut().expect("the producer is handed over after this");
        let s = loop {
            if let Some(r) = producer.try_claim(1) {
                break *r.end();
            }
            make_room();
            std::thread::yield_now();
        };
        producer.slot_mut(s).cmd = cmd;
        producer.publish(s);
        let seq = self.base + s as u64 + 1;
        self.history.append(seq, RECORD_COMMAND, &buf[..n]).expect("epochs increase: won by CAS");
        seq
    }
}
