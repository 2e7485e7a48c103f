//! What travels in the rings: commands on the input ring (gateway ->
//! journaller -> matcher), events on the output ring (matcher -> publisher).
//! Both are plain `Copy` values written in place into pre-allocated slots.

use engine::{Command, CommandKind, Event, EventKind, MassCancel, MassCancelled};

/// An input ring slot: one decoded, time-stamped command.
#[derive(Debug, Clone, Copy)]
pub struct InputSlot {
    /// The command; its account is the authenticated session's, never the wire's.
    pub cmd: Command,
}

impl Default for InputSlot {
    fn default() -> Self {
        Self {
            cmd: Command {
                account: 0,
                timestamp_ns: 0,
                kind: CommandKind::MassCancel(MassCancel { instrument: None, side: None }),
            },
        }
    }
}

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
