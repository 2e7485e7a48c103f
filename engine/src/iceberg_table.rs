//! What a resting iceberg order needs beyond its order slot: its display quantity and the part of
//! its current slice still open (the only part its level and market data count). Kept in a
//! [`SlotTable`] of their own.

use crate::order_pool::Slot;
use crate::slot_table::{SlotEntry, SlotTable};
use crate::types::*;

/// Iceberg orders engine-wide are at most `max_orders / ICEBERG_PER_ORDER_CAPACITY` (at least 1).
pub const ICEBERG_PER_ORDER_CAPACITY: u32 = 4;

/// One iceberg order's extra fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IcebergEntry {
    pub slot: Slot,
    /// The size of each slice it shows.
    pub display_qty: Qty,
    /// Open quantity of the current slice (`0 < visible <= min(display_qty, leaves)` while it
    /// rests; the rest of its leaves is hidden).
    pub visible: Qty,
}

impl SlotEntry for IcebergEntry {
    const PER_ORDER_CAPACITY: u32 = ICEBERG_PER_ORDER_CAPACITY;
    #[inline]
    fn slot(&self) -> Slot {
        self.slot
    }
}

pub(crate) type IcebergTable = SlotTable<IcebergEntry>;
