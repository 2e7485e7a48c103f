//! What travels in the input ring (gateway -> journaller -> matcher): one decoded, time-stamped
//! command, a plain `Copy` value written in place into a pre-allocated slot.

use engine::{Command, CommandKind, MassCancel};

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
