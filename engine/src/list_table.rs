//! What an order of an order list needs beyond its slot: its list, its role, the next member of
//! its list (the members form a ring of at most three), and for a pending leg the order it
//! places when its working order fills. Kept in a [`SlotTable`] of their own.

use crate::order_pool::Slot;
use crate::slot_table::{SlotEntry, SlotTable};
use crate::types::*;

/// Orders in lists engine-wide are at most `max_orders / LISTED_PER_ORDER_CAPACITY` (at least 1).
pub const LISTED_PER_ORDER_CAPACITY: u32 = 2;

/// A list member's part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ListRole {
    /// The working order of an OTO or OTOCO: a live limit order.
    Working = 1,
    /// A leg waiting for its working order to fill (not in any book, reserves nothing).
    Pending = 2,
    /// A live leg of an OCO (or of an OTOCO's activated pair): resting or armed.
    Contingent = 3,
}

impl ListRole {
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Working,
            2 => Self::Pending,
            3 => Self::Contingent,
            _ => return None,
        })
    }
}

/// One list member's extra fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListEntry {
    pub slot: Slot,
    /// The first leg's order id.
    pub list_id: OrderId,
    /// The next member of the ring (itself when it is the last one left).
    pub next: Slot,
    pub role: ListRole,
    pub kind: ListKind,
    /// A pending leg's order: type, limit price, trigger (unused for the other roles).
    pub order_type: OrderType,
    pub trigger: Option<TriggerKind>,
    pub price: Price,
    pub trigger_price: Price,
}

impl SlotEntry for ListEntry {
    const PER_ORDER_CAPACITY: u32 = LISTED_PER_ORDER_CAPACITY;
    #[inline]
    fn slot(&self) -> Slot {
        self.slot
    }
}

pub(crate) type ListTable = SlotTable<ListEntry>;

/// What the engine does to a member once the current matching pass is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListAction {
    /// Cancel it (another member traded, fired or was cancelled).
    Cancel(OrderId),
    /// Place it (its working order filled).
    Activate(OrderId),
}
