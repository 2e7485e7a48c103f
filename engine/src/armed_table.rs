//! What an armed conditional order needs beyond its order slot: the type and limit price of the
//! order it places on trigger, its trigger kind and the price it watches (the trigger price is
//! its trigger level's price; the source says which trigger book the level is in). Kept in a
//! [`SlotTable`] of their own.

use crate::order_pool::Slot;
use crate::slot_table::{SlotEntry, SlotTable};
use crate::types::*;

/// Armed orders engine-wide are at most `max_orders / ARMED_PER_ORDER_CAPACITY` (at least 1).
pub const ARMED_PER_ORDER_CAPACITY: u32 = 4;

/// One armed order's extra fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArmedEntry {
    pub slot: Slot,
    pub order_type: OrderType,
    pub trigger: TriggerKind,
    /// Last or mark price: which of its instrument's trigger books holds it.
    pub source: TriggerSource,
    /// Limit price of the order placed on trigger (0 for market).
    pub price: Price,
}

const _: () = assert!(std::mem::size_of::<ArmedEntry>() == 16);

impl SlotEntry for ArmedEntry {
    const PER_ORDER_CAPACITY: u32 = ARMED_PER_ORDER_CAPACITY;
    #[inline]
    fn slot(&self) -> Slot {
        self.slot
    }
}

pub(crate) type ArmedTable = SlotTable<ArmedEntry>;
