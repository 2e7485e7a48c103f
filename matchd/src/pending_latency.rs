//! [`PendingLatency`]: the receive times of the commands whose reports the publisher is about to
//! write, so "published" latency is measured after the bytes went to the sockets.

use crate::histogram::Histogram;

/// Command receive timestamps waiting for the publisher's write, so the
/// "published" latency is measured after the bytes went to the sockets. The
/// buffer is allocated once; commands beyond its capacity in one batch are
/// not sampled.
#[derive(Debug)]
pub struct PendingLatency {
    ts: Box<[u64]>,
    len: usize,
    last_seq: u64,
}

impl Default for PendingLatency {
    fn default() -> Self {
        Self { ts: vec![0; 8192].into_boxed_slice(), len: 0, last_seq: 0 }
    }
}

impl PendingLatency {
    /// Notes the command behind an event (once per command: its events are contiguous).
    #[inline]
    pub fn note(&mut self, seq: u64, timestamp_ns: u64) {
        if seq != self.last_seq && self.len < self.ts.len() {
            self.ts[self.len] = timestamp_ns;
            self.len += 1;
        }
        self.last_seq = seq;
    }

    /// Records every noted command as published now (reads the clock only if any).
    #[inline]
    pub fn record_all(&mut self, hist: &Histogram) {
        if self.len == 0 {
            return;
        }
        let now = gateway::clock::now_ns();
        for &t in &self.ts[..self.len] {
            hist.record(now.saturating_sub(t));
        }
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_latency_notes_each_command_once() {
        let h = Histogram::default();
        let mut p = PendingLatency::default();
        p.note(5, 1);
        p.note(5, 1);
        p.note(6, 2);
        p.record_all(&h);
        assert_eq!(h.snapshot().count(), 2);
        p.record_all(&h);
        assert_eq!(h.snapshot().count(), 2);
    }
}
