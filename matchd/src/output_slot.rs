//! What travels in the output ring (matcher -> publisher): one engine event (or a snapshot
//! marker), a plain `Copy` value written in place into a pre-allocated slot.

use engine::{Event, EventKind, MassCancelled};

/// An output ring slot: one engine event.
#[derive(Debug, Clone, Copy)]
pub struct OutputSlot {
    /// The event.
    pub event: Event,
    /// Gateway receive time of the command that caused it (for latency metrics).
    pub timestamp_ns: u64,
    /// Non-zero: not an event but a snapshot marker. The matcher copied its
    /// state after this journal sequence; the publisher saves its report
    /// numbering when it reaches the marker, i.e. at exactly the same point.
    pub snapshot_seq: u64,
}

impl Default for OutputSlot {
    fn default() -> Self {
        Self {
            event: Event { seq: 0, kind: EventKind::MassCancelled(MassCancelled { account: 0, count: 0 }) },
            timestamp_ns: 0,
            snapshot_seq: 0,
        }
    }
}
