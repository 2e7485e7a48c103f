//! Each account's sequenced report stream: numbering (1, 2, 3 ... forever,
//! rebuilt identically by replay) and the retained window of encoded
//! reports that a reconnecting client is resent from. Live sends also read
//! from here, so a session is just a cursor into its account's stream.

use crate::protocol::ExecReport;

/// Bytes per retained report: the largest v1 report frame (114 bytes) fits.
pub const REPORT_SLOT_BYTES: usize = 128;

/// One account's stream.
pub struct AccountStream {
    /// Sequence number the next report gets.
    next_seq: u64,
    /// Ring of encoded frames, `retained` slots of [`REPORT_SLOT_BYTES`],
    /// allocated on first use (the one allocation an account ever costs the
    /// publisher). A flat zeroed byte vector comes from calloc, so only the
    /// pages reports are actually written to become resident; a vector of
    /// arrays would be written out in full up front.
    slots: Vec<u8>,
    retained: u64,
}

impl AccountStream {
    /// An empty stream keeping the last `retained` reports.
    pub fn new(retained: u64) -> Self {
        assert!(retained > 0);
        Self { next_seq: 1, slots: Vec::new(), retained }
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
        self.next_seq.saturating_sub(self.retained).max(1)
    }

    /// Numbers, encodes and retains a report; returns its sequence.
    #[inline]
    pub fn append(&mut self, report: &ExecReport) -> u64 {
        if self.slots.is_empty() {
            self.slots = vec![0u8; self.retained as usize * REPORT_SLOT_BYTES];
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerMessage;
    use engine::MassCancelled;

    fn report(count: u32) -> ExecReport {
        ExecReport::MassCancelled(MassCancelled { account: 7, count })
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
            let (frame, used) = crate::protocol::frame::decode_frame(bytes).unwrap().unwrap();
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
