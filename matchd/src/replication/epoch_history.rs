//! [`EpochHistory`]: which leader epoch wrote which part of a log, read from the `StartEpoch`
//! records in the journal, and the rule that finds where two logs stop agreeing.
//!
//! Within one epoch only its leader appends, so two logs that hold the same epoch's `StartEpoch`
//! record hold the same records from there up to where the shorter one stops or the next epoch
//! begins (Raft's log-matching property, with `StartEpoch` as the term marker). Each epoch start
//! also carries a rolling CRC32C of the whole log through it, so agreeing on an epoch start means
//! agreeing on every record before it; the records before the first epoch (a set's `format`
//! records, or a single node's history before it joined a set) are compared by their rolling
//! CRCs too. So the common prefix is decided from the histories alone, and a journal that is not
//! a prefix-compatible copy (another exchange, a damaged or hand-edited file) is refused, never
//! truncated into agreement.

use engine::command_codec::{decode, kind, RECORD_COMMAND};
use engine::CommandKind;
use journal::JournalReader;

use super::wire::{EpochStart, MAX_ZERO};

/// The epochs of one log, oldest first, and where it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpochHistory {
    /// Each epoch's `StartEpoch` record, in log order (epochs strictly increase); `crc` is the
    /// rolling CRC of the log through that record.
    pub epochs: Vec<EpochStart>,
    /// Rolling CRC after each record before the first epoch (at most [`MAX_ZERO`]).
    pub zero: Vec<u32>,
    /// How many records precede the first epoch (all of them while there is none).
    pub zero_len: u64,
    /// Rolling CRC through the last record.
    pub rolling: u32,
    /// The log's last sequence (0: empty).
    pub last_seq: u64,
}

/// Why two logs cannot be reconciled by truncating one of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Divergence {
    /// The records before the first epoch differ.
    #[error("the first {records} records differ from the leader's: not the same exchange (another format run?)")]
    Prefix {
        /// How many records were compared.
        records: u64,
    },
    /// Too many records before the first epoch to compare here.
    #[error("the {records} records before the first epoch cannot be compared ({follower} here, {leader} on the leader): give this node an empty data directory")]
    PrefixUnverifiable {
        /// Records compared.
        records: u64,
        /// The follower's count.
        follower: u64,
        /// The leader's count.
        leader: u64,
    },
    /// Both logs hold epoch `epoch` but with different records up to its start.
    #[error("epoch {epoch} starts at sequence {follower_seq} here and {leader_seq} on the leader, or with different records before it: a damaged or foreign journal")]
    EpochMismatch {
        /// The epoch.
        epoch: u64,
        /// Where it starts in the follower's log.
        follower_seq: u64,
        /// Where it starts in the leader's log.
        leader_seq: u64,
    },
}

/// Why the history could not be read or extended.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The journal could not be read.
    #[error("reading the journal for its epoch history: {0}")]
    Read(#[from] journal::ReadError),
    /// A `StartEpoch` record does not decode, epochs do not increase, or a record is out of order.
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
            h.append(rec.seq, rec.record_type, rec.payload)?;
        }
        Ok(h)
    }

    /// Whether `seq` may follow this log with this record (in order; a `StartEpoch` that decodes
    /// and raises the epoch); returns the epoch it starts, if it is one. Changes nothing.
    pub fn check(&self, seq: u64, record_type: u8, payload: &[u8]) -> Result<Option<u64>, HistoryError> {
        let bad = |what: String| HistoryError::Bad { seq, what };
        if seq != self.last_seq + 1 {
            return Err(bad(format!("follows record {}", self.last_seq)));
        }
        if record_type != RECORD_COMMAND || payload.first() != Some(&kind::START_EPOCH) {
            return Ok(None);
        }
        let epoch = match decode(payload).map(|c| c.kind) {
            Ok(CommandKind::StartEpoch(s)) => s.epoch,
            _ => return Err(bad("undecodable StartEpoch".into())),
        };
        match self.epochs.last() {
            Some(prev) if epoch <= prev.epoch => Err(bad(format!("epoch {epoch} after epoch {}", prev.epoch))),
            _ => Ok(Some(epoch)),
        }
    }

    /// Notes a record appended to the log.
    pub fn append(&mut self, seq: u64, record_type: u8, payload: &[u8]) -> Result<(), HistoryError> {
        let epoch = self.check(seq, record_type, payload)?;
        self.rolling = crc32c::crc32c_append(crc32c::crc32c_append(self.rolling, &[record_type]), payload);
        self.last_seq = seq;
        match epoch {
            Some(epoch) => self.epochs.push(EpochStart { epoch, start_seq: seq, crc: self.rolling }),
            None if self.epochs.is_empty() => {
                self.zero_len = seq;
                if self.zero.len() < MAX_ZERO {
                    self.zero.push(self.rolling);
                }
            }
            None => {}
        }
        Ok(())
    }

    /// The epoch of the last record (0: before any `StartEpoch`).
    pub fn last_epoch(&self) -> u64 {
        self.epochs.last().map_or(0, |e| e.epoch)
    }

    /// Rolling CRC through record `n` (1-based) of the records before the first epoch, if kept.
    fn zero_crc(&self, n: u64) -> Option<u32> {
        match n {
            0 => Some(0),
            n if n == self.zero_len && self.epochs.is_empty() => Some(self.rolling),
            n => self.zero.get(n as usize - 1).copied(),
        }
    }

    /// The last sequence both logs hold identically, this being the leader's log and the other
    /// the follower's: the follower keeps its log up to there and takes the rest from the leader.
    pub fn common_prefix(&self, follower: &EpochHistory) -> Result<u64, Divergence> {
        if follower.last_seq == 0 || self.last_seq == 0 {
            return Ok(0);
        }
        let (f, l) = (&follower.epochs, &self.epochs);
        let mut i = 0;
        while i < f.len() && i < l.len() && f[i].epoch == l[i].epoch {
            // The rolling CRC through the epoch start covers every record before it too.
            if f[i].start_seq != l[i].start_seq || f[i].crc != l[i].crc {
                return Err(Divergence::EpochMismatch {
                    epoch: f[i].epoch,
                    follower_seq: f[i].start_seq,
                    leader_seq: l[i].start_seq,
                });
            }
            i += 1;
        }
        if i == 0 {
            // No epoch in common: compare the records both hold before their first epochs.
            let z = follower.zero_len.min(self.zero_len);
            match (follower.zero_crc(z), self.zero_crc(z)) {
                (Some(a), Some(b)) if a == b => {}
                (Some(_), Some(_)) => return Err(Divergence::Prefix { records: z }),
                _ => {
                    return Err(Divergence::PrefixUnverifiable {
                        records: z,
                        follower: follower.zero_len,
                        leader: self.zero_len,
                    })
                }
            }
        }
        // Epochs before i agree (so does everything before the first of them); the logs agree up
        // to where either leaves the last agreed epoch (or the records before any epoch).
        let f_end = f.get(i).map_or(follower.last_seq, |e| e.start_seq - 1);
        let l_end = l.get(i).map_or(self.last_seq, |e| e.start_seq - 1);
        Ok(f_end.min(l_end).min(follower.last_seq).min(self.last_seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::command_codec::{encode, MAX_COMMAND_BYTES};
    use engine::{Command, StartEpoch};

    fn start(epoch: u64) -> Vec<u8> {
        let cmd = Command { account: 0, timestamp_ns: 0, kind: CommandKind::StartEpoch(StartEpoch { epoch, node: 1 }) };
        let mut b = [0u8; MAX_COMMAND_BYTES];
        let n = encode(&cmd, &mut b);
        b[..n].to_vec()
    }

    /// A log of `len` records; `epochs` (epoch, seq) are StartEpochs; other records are
    /// `seq ^ salt` (so two salts make two different exchanges).
    fn log(len: u64, epochs: &[(u64, u64)], salt: u64) -> EpochHistory {
        let mut h = EpochHistory::default();
        for seq in 1..=len {
            match epochs.iter().find(|e| e.1 == seq) {
                Some(&(epoch, _)) => h.append(seq, RECORD_COMMAND, &start(epoch)).unwrap(),
                None => h.append(seq, 9, &(seq ^ salt).to_le_bytes()).unwrap(),
            }
        }
        h
    }

    #[test]
    fn a_follower_behind_in_the_same_epoch_keeps_everything() {
        assert_eq!(log(100, &[(1, 5)], 0).common_prefix(&log(60, &[(1, 5)], 0)), Ok(60));
        assert_eq!(log(100, &[(1, 5), (2, 80)], 0).common_prefix(&log(60, &[(1, 5)], 0)), Ok(60));
        assert_eq!(log(100, &[(1, 5)], 0).common_prefix(&log(3, &[], 0)), Ok(3));
    }

    #[test]
    fn a_deposed_leaders_tail_is_cut_where_the_new_epoch_began() {
        // Records after 100 differ (another leader wrote them): only the epoch markers tell.
        let leader = log(150, &[(1, 5), (2, 101)], 0);
        assert_eq!(leader.common_prefix(&log(120, &[(1, 5)], 0)), Ok(100));
        let leader = log(150, &[(1, 5), (3, 101)], 0);
        assert_eq!(leader.common_prefix(&log(130, &[(1, 5), (2, 110)], 0)), Ok(100));
        let leader = log(150, &[(1, 5), (3, 120)], 0);
        assert_eq!(leader.common_prefix(&log(130, &[(1, 5), (2, 110)], 0)), Ok(109));
    }

    #[test]
    fn a_longer_follower_is_cut_to_the_leaders_end() {
        assert_eq!(log(90, &[(1, 5)], 0).common_prefix(&log(120, &[(1, 5)], 0)), Ok(90));
    }

    #[test]
    fn foreign_logs_are_divergence_not_truncation() {
        // Another exchange: its format records differ (the epoch start's rolling CRC says so).
        assert!(matches!(
            log(100, &[(1, 5)], 0).common_prefix(&log(50, &[(1, 5)], 7)),
            Err(Divergence::EpochMismatch { epoch: 1, .. })
        ));
        assert!(matches!(log(100, &[(1, 5)], 0).common_prefix(&log(50, &[(2, 5)], 7)), Err(Divergence::Prefix { .. })));
        assert!(matches!(log(100, &[(1, 5)], 0).common_prefix(&log(3, &[], 7)), Err(Divergence::Prefix { .. })));
        // Same epoch at another place.
        assert!(matches!(
            log(100, &[(1, 5)], 0).common_prefix(&log(100, &[(1, 6)], 0)),
            Err(Divergence::EpochMismatch { epoch: 1, .. })
        ));
    }

    #[test]
    fn empty_logs_share_nothing() {
        assert_eq!(log(100, &[(1, 5)], 0).common_prefix(&EpochHistory::default()), Ok(0));
    }
}
