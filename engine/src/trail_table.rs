//! What an armed trailing stop needs beyond its armed entry: its delta and the epoch of its
//! side's [`PeakTrack`](crate::trailing_book::PeakTrack) it was armed in (its trigger price is
//! computed from them, never stored). Kept in a [`SlotTable`] of their own.

use crate::armed_table::ARMED_PER_ORDER_CAPACITY;
use crate::order_pool::Slot;
use crate::slot_table::{SlotEntry, SlotTable};
use crate::types::*;

/// One trailing stop's extra fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrailEntry {
    pub slot: Slot,
    pub trailing: Trailing,
    pub epoch: u64,
}

impl SlotEntry for TrailEntry {
    // Every trailing stop is armed, so the armed table's bound covers it.
    const PER_ORDER_CAPACITY: u32 = ARMED_PER_ORDER_CAPACITY;
    #[inline]
    fn slot(&self) -> Slot {
        self.slot
    }
}

pub(crate) type TrailTable = SlotTable<TrailEntry>;
