//! [`EventCounters`]: what the publisher counts over the engine's events (trades, rejects by code).

use std::sync::atomic::{AtomicU64, Ordering};

use engine::EventKind;

/// Reject reason codes counted (`RejectReason` codes are small; larger ones count under 0).
pub const REJECT_CODES: usize = 64;

/// Counters the publisher keeps over the engine's events.
#[derive(Debug)]
pub struct EventCounters {
    /// Trades.
    pub trades: AtomicU64,
    /// `Rejected` events by `RejectReason` code (index 0: codes out of range).
    pub rejects: [AtomicU64; REJECT_CODES],
}

impl Default for EventCounters {
    fn default() -> Self {
        Self { trades: AtomicU64::new(0), rejects: std::array::from_fn(|_| AtomicU64::new(0)) }
    }
}

impl EventCounters {
    /// Counts one event (one writer: the publisher).
    #[inline]
    pub fn count(&self, kind: &EventKind) {
        match kind {
            EventKind::Trade(_) => bump(&self.trades),
            EventKind::Rejected(r) => {
                let code = r.reason.code() as usize;
                bump(&self.rejects[if code < REJECT_CODES { code } else { 0 }]);
            }
            _ => {}
        }
    }
}

#[inline]
fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}
