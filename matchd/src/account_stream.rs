//! Each account's sequenced report stream: numbering (1, 2, 3 ... forever,
//! rebuilt identically by replay) and the retained window of encoded
//! reports that a reconnecting client is resent from. Live sends also read
//! from here, so a session is just a cursor into its account's stream.

use protocol::ExecReport;

use crate::unforked_buffer::UnforkedBuffer;

/// Bytes per retained report: the largest v1 report frame (114 bytes) fits.
pub const REPORT_SLOT_BYTES: usize = 128;

/// One account's stream.
pub struct AccountStream {
    /// Sequence number the next report gets.
    next_seq: u64,
    /// Ring of encoded frames, `retained` slots of [`REPORT_SLOT_BYTES`],
    /// allocated on first use (the one allocation an account ever costs the
    /// publisher). Its own lazily zeroed mapping, so only the pages reports
    /// are actually written to become resident, and left out of snapshot
    /// children so `fork()` does not copy its page tables.
    slots: UnforkedBuffer,
    retained: u64,
    /// Lowest sequence ever retained here (above 1 after a restore from a
    /// snapshot that kept only the newest reports).
    floor: u64,
}

impl AccountStream {
    /// An empty stream keeping the last `retained` reports.
    pub fn new(retained: u64) -> Self {
        assert!(retained > 0);
        Self { next_seq: 1, slots: UnforkedBuffer::empty(), retained, floor: 1 }
    }

    /// A new window for `retained` reports.
    #[cold]
    fn window(retained: u64) -> UnforkedBuffer {
        UnforkedBuffer::zeroed(retained as usize * REPORT_SLOT_BYTES)
    }

    /// How many reports are kept.
    #[inline]
    pub fn retained(&self) -> u64 {
        self.retained
    }

    /// Highest sequence assigned (0 = none yet).
    #[inline]
    pub fn highest(&self) -> u64 {
        self.next_seq - 1
    }

    /// Oldest sequence still retained (1 while nothing was evicted).
    #[inline]
    pub fn oldest_available(&self) -> u64 {
        self.next_seq.saturating_sub(self.retained).max(self.floor).min(self.next_seq)
    }

    /// Numbers, encodes and retains a report; returns its sequence.
    #[inline]
    pub fn append(&mut self, report: &ExecReport) -> u64 {
        if self.slots.is_empty() {
            self.slots = Self::window(self.retained);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let at = ((seq - 1) % self.retained) as usize * REPORT_SLOT_BYTES;
        let slot = &mut self.slots[at..at + REPORT_SLOT_BYTES];
        let n = report.encode(seq, slot).expect("every report fits a retained slot");
        debug_assert!(n <= REPORT_SLOT_BYTES);
        seq
    }

    /// The encoded frame of `seq` if it is retained.
    #[inline]
    pub fn get(&self, seq: u64) -> Option<&[u8]> {
        if seq == 0 || seq > self.highest() || seq < self.oldest_available() {
            return None;
        }
        let at = ((seq - 1) % self.retained) as usize * REPORT_SLOT_BYTES;
        let slot = &self.slots[at..at + REPORT_SLOT_BYTES];
        let len = 2 + u16::from_le_bytes([slot[0], slot[1]]) as usize;
        slot.get(..len)
    }
}

/// Why a saved report state cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportStateError {
    /// The bytes end inside a record.
    #[error("report state truncated at byte {0}")]
    Truncated(usize),
    /// A record is inconsistent (account out of range, frame too long, sequence gap).
    #[error("report state invalid at byte {at}: {what}")]
    Invalid {
        /// Offset of the record.
        at: usize,
        /// What is wrong.
        what: &'static str,
    },
}

impl AccountStream {
    /// Appends this stream's state to `out`: the next sequence number and the
    /// last `keep` retained frames (oldest first). Little-endian:
    /// `next_seq u64, count u32, count x (len u16, frame bytes)`.
    pub fn export(&self, keep: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.next_seq.to_le_bytes());
        let highest = self.highest();
        let first = self.oldest_available().max(highest.saturating_sub(keep.min(self.retained)) + 1);
        let count = if highest == 0 { 0 } else { highest + 1 - first };
        out.extend_from_slice(&(count as u32).to_le_bytes());
        for seq in first..first + count {
            let frame = self.get(seq).expect("within the retained window");
            out.extend_from_slice(&(frame.len() as u16).to_le_bytes());
            out.extend_from_slice(frame);
        }
    }

    /// Restores a stream saved by [`AccountStream::export`]; returns the bytes used.
    pub fn import(&mut self, bytes: &[u8], base: usize) -> Result<usize, ReportStateError> {
        let take = |at: usize, n: usize| bytes.get(at..at + n).ok_or(ReportStateError::Truncated(base + at));
        let next_seq = u64::from_le_bytes(take(0, 8)?.try_into().expect("8 bytes"));
        let count = u32::from_le_bytes(take(8, 4)?.try_into().expect("4 bytes")) as u64;
        if next_seq == 0 || count >= next_seq {
            return Err(ReportStateError::Invalid { at: base, what: "sequence numbers" });
        }
        let mut at = 12;
        let first = next_seq - count;
        self.next_seq = first;
        self.floor = first;
        for _ in 0..count {
            let len = u16::from_le_bytes(take(at, 2)?.try_into().expect("2 bytes")) as usize;
            let frame = take(at + 2, len)?;
            if !(2..=REPORT_SLOT_BYTES).contains(&len) || 2 + u16::from_le_bytes([frame[0], frame[1]]) as usize != len {
                return Err(ReportStateError::Invalid { at: base + at, what: "frame length" });
            }
            self.store_frame(frame);
            at += 2 + len;
        }
        debug_assert_eq!(self.next_seq, next_seq);
        Ok(at)
    }

    /// Retains an already encoded frame as the next sequence number.
    fn store_frame(&mut self, frame: &[u8]) {
        if self.slots.is_empty() {
            self.slots = Self::window(self.retained);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let at = ((seq - 1) % self.retained) as usize * REPORT_SLOT_BYTES;
        self.slots[at..at + frame.len()].copy_from_slice(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::MassCancelled;
    use protocol::ServerMessage;

    fn report(count: u32) -> ExecReport {
        ExecReport::MassCancelled(MassCancelled { account: 7, count })
    }

    #[test]
    fn export_import_keeps_numbering_and_the_last_frames() {
        let mut s = AccountStream::new(4);
        for i in 1..=6 {
            s.append(&report(i));
        }
        let mut bytes = Vec::new();
        s.export(3, &mut bytes);
        let mut t = AccountStream::new(4);
        assert_eq!(t.import(&bytes, 0), Ok(bytes.len()));
        assert_eq!((t.highest(), t.oldest_available()), (6, 4));
        assert!(t.get(3).is_none(), "only the last 3 were kept");
        for seq in 4..=6 {
            assert_eq!(t.get(seq), s.get(seq));
        }
        assert_eq!(t.append(&report(7)), 7);
        let mut u = AccountStream::new(4);
        assert!(matches!(u.import(&bytes[..bytes.len() - 1], 0), Err(ReportStateError::Truncated(_))));
    }

    #[test]
    fn numbers_and_retains_a_window() {
        let mut s = AccountStream::new(3);
        assert_eq!((s.highest(), s.oldest_available()), (0, 1));
        assert!(s.get(1).is_none());
        for i in 1..=5 {
            assert_eq!(s.append(&report(i)), i as u64);
        }
        assert_eq!((s.highest(), s.oldest_available()), (5, 3));
        assert!(s.get(2).is_none() && s.get(6).is_none());
        for seq in 3..=5u64 {
            let bytes = s.get(seq).unwrap();
            let (frame, used) = protocol::frame::decode_frame(bytes).unwrap().unwrap();
            assert_eq!(used, bytes.len());
            match ServerMessage::decode_frame(&frame).unwrap() {
                ServerMessage::Report { seq: got, report: r } => {
                    assert_eq!(got, seq);
                    assert_eq!(r, report(seq as u32));
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
