//! [`EpochHistory`]: which leader epoch wrote which part of a log, read from the `StartEpoch`
//! records in the journal, and the rule that finds where two logs stop agreeing.
//!
//! Within one epoch only its leader appends, so two logs that hold the same epoch's `StartEpoch`
//! record hold the same records from there up to where the shorter one stops or the next epoch
//! begins (Raft's log-matching property, with `StartEpoch` as the term marker). The common prefix
//! is therefore decided from the histories alone, without comparing records one by one.

use engine::command_codec::{decode, kind, RECORD_COMMAND};
use engine::CommandKind;
use journal::JournalReader;

use super::wire::EpochStart;

/// The epochs of one log, oldest first, and where it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpochHistory {
    /// Each epoch's `StartEpoch` record, in log order (epochs strictly increase).
    pub epochs: Vec<EpochStart>,
    /// CRC32C of the first record's payload (0: empty log).
    pub first_crc: u32,
    /// The log's last sequence (0: empty).
    pub last_seq: u64,
}

/// Why two logs cannot be reconciled by truncating one of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Divergence {
    /// The first records differ: another exchange, or another format run.
    #[error("the first records differ (engine-config CRC {follower:08x} here, {leader:08x} on the leader): not the same exchange")]
    FirstRecord {
        /// The follower's CRC.
        follower: u32,
        /// The leader's CRC.
        leader: u32,
    },
    /// Both logs hold epoch `epoch` but it starts at different records.
    #[error("epoch {epoch} starts at sequence {follower_seq} here and {leader_seq} on the leader, or with another record: a damaged or foreign journal")]
    EpochMismatch {
        /// The epoch.
        epoch: u64,
        /// Where it starts in the follower's log.
        follower_seq: u64,
        /// Where it starts in the leader's log.
        leader_seq: u64,
    },
}

/// Why the history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The journal could not be read.
    #[error("reading the journal for its epoch history: {0}")]
    Read(#[from] journal::ReadError),
    /// A `StartEpoch` record does not decode, or epochs do not increase.
    #[error("journal record {seq}: {what}")]
    Bad {
        /// Sequence.
        seq: u64,
        /// What is wrong.
        what: String,
    },
}

impl EpochHistory {
    /// Reads the history of the journal in `dir` (a missing directory is an empty log).
    pub fn scan(dir: &std::path::Path) -> Result<EpochHistory, HistoryError> {
        let mut h = EpochHistory::default();
        if !dir.is_dir() {
            return Ok(h);
        }
        let mut reader = JournalReader::open(dir, 0)?;
        while let Some(rec) = reader.next()? {
            if h.last_seq == 0 {
                h.first_crc = crc32c::crc32c(rec.payload);
            }
            h.last_seq = rec.seq;
            if rec.record_type == RECORD_COMMAND && rec.payload.first() == Some(&kind::START_EPOCH) {
                let (seq, crc) = (rec.seq, crc32c::crc32c(rec.payload));
                let cmd = decode(rec.payload).map_err(|e| HistoryError::Bad { seq, what: e.to_string() })?;
                let CommandKind::StartEpoch(s) = cmd.kind else {
                    return Err(HistoryError::Bad { seq, what: "StartEpoch kind byte with another body".into() });
                };
                h.push(EpochStart { epoch: s.epoch, start_seq: seq, crc })
                    .map_err(|what| HistoryError::Bad { seq, what })?;
            }
        }
        Ok(h)
    }

    /// Notes a record appended to the log (`start` when it is a `StartEpoch`).
    pub fn append(&mut self, seq: u64, first_crc: impl FnOnce() -> u32, start: Option<EpochStart>) -> Result<(), String> {
        if seq != self.last_seq + 1 {
            return Err(format!("record {seq} after {}", self.last_seq));
        }
        if self.last_seq == 0 {
            self.first_crc = first_crc();
        }
        self.last_seq = seq;
        match start {
            Some(s) => self.push(s),
            None => Ok(()),
        }
    }

    fn push(&mut self, s: EpochStart) -> Result<(), String> {
        if let Some(prev) = self.epochs.last() {
            if s.epoch <= prev.epoch {
                return Err(format!("epoch {} after epoch {}", s.epoch, prev.epoch));
            }
        }
        self.epochs.push(s);
        Ok(())
    }

    /// The epoch of the last record (0: before any `StartEpoch`).
    pub fn last_epoch(&self) -> u64 {
        self.epochs.last().map_or(0, |e| e.epoch)
    }

    /// Drops everything after `seq` (a truncation).
    pub fn truncate(&mut self, seq: u64) {
        self.epochs.retain(|e| e.start_seq <= seq);
        self.last_seq = self.last_seq.min(seq);
        if self.last_seq == 0 {
            self.first_crc = 0;
        }
    }

    /// The last sequence both logs hold identically, this being the leader's log and the other
    /// the follower's: the follower keeps its log up to there and takes the rest from the leader.
    pub fn common_prefix(&self, follower: &EpochHistory) -> Result<u64, Divergence> {
        if follower.last_seq == 0 || self.last_seq == 0 {
            return Ok(0);
        }
        if follower.first_crc != self.first_crc {
            return Err(Divergence::FirstRecord { follower: follower.first_crc, leader: self.first_crc });
        }
        let (f, l) = (&follower.epochs, &self.epochs);
        let mut i = 0;
        while i < f.len() && i < l.len() && f[i].epoch == l[i].epoch {
            if f[i].start_seq != l[i].start_seq || f[i].crc != l[i].crc {
                return Err(Divergence::EpochMismatch {
                    epoch: f[i].epoch,
                    follower_seq: f[i].start_seq,
                    leader_seq: l[i].start_seq,
                });
            }
            i += 1;
        }
        // Epochs 0..i agree; the logs agree up to where either leaves the last agreed epoch.
        let f_end = f.get(i).map_or(follower.last_seq, |e| e.start_seq - 1);
        let l_end = l.get(i).map_or(self.last_seq, |e| e.start_seq - 1);
        Ok(f_end.min(l_end).min(follower.last_seq).min(self.last_seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(last_seq: u64, epochs: &[(u64, u64)]) -> EpochHistory {
        EpochHistory {
            epochs: epochs.iter().map(|&(epoch, start_seq)| EpochStart { epoch, start_seq, crc: epoch as u32 }).collect(),
            first_crc: 7,
            last_seq,
        }
    }

    #[test]
    fn a_follower_behind_in_the_same_epoch_keeps_everything() {
        assert_eq!(h(100, &[(1, 5)]).common_prefix(&h(60, &[(1, 5)])), Ok(60));
        assert_eq!(h(100, &[(1, 5), (2, 80)]).common_prefix(&h(60, &[(1, 5)])), Ok(60));
    }

    #[test]
    fn a_deposed_leaders_tail_is_cut_where_the_new_epoch_began() {
        // Old leader wrote epoch 1 up to 120; the new leader's epoch 2 began at 101.
        assert_eq!(h(150, &[(1, 5), (2, 101)]).common_prefix(&h(120, &[(1, 5)])), Ok(100));
        // The follower had an epoch the leader never saw (a leader that died at once).
        assert_eq!(h(150, &[(1, 5), (3, 101)]).common_prefix(&h(130, &[(1, 5), (2, 110)])), Ok(100));
        assert_eq!(h(150, &[(1, 5), (3, 120)]).common_prefix(&h(130, &[(1, 5), (2, 110)])), Ok(109));
    }

    #[test]
    fn a_longer_follower_is_cut_to_the_leaders_end() {
        assert_eq!(h(90, &[(1, 5)]).common_prefix(&h(120, &[(1, 5)])), Ok(90));
    }

    #[test]
    fn foreign_logs_are_divergence_not_truncation() {
        let mut other = h(50, &[(1, 5)]);
        other.first_crc = 8;
        assert!(matches!(h(100, &[(1, 5)]).common_prefix(&other), Err(Divergence::FirstRecord { .. })));
        assert!(matches!(
            h(100, &[(1, 5)]).common_prefix(&h(100, &[(1, 6)])),
            Err(Divergence::EpochMismatch { epoch: 1, .. })
        ));
    }

    #[test]
    fn empty_logs_share_nothing() {
        assert_eq!(h(100, &[(1, 5)]).common_prefix(&EpochHistory::default()), Ok(0));
    }
}
