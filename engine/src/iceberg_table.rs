//! What a resting iceberg order needs beyond its order slot: its display quantity and the part of
//! its current slice still open (the only part its level and market data count). Few orders are
//! icebergs, so, like the armed orders' entries, they live in a table of their own keyed by slot
//! (the slot has no room left), with a fixed capacity allocated up front.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::order_pool::Slot;
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

pub(crate) struct IcebergTable {
    entries: HashTable<IcebergEntry>,
    capacity: u32,
}

#[inline]
fn slot_hash(slot: Slot) -> u64 {
    FxBuildHasher.hash_one(slot)
}

impl IcebergTable {
    /// A table for an engine of `max_orders` order slots.
    pub fn for_orders(max_orders: u32) -> Self {
        let capacity = (max_orders / ICEBERG_PER_ORDER_CAPACITY).max(1);
        Self { entries: HashTable::with_capacity(capacity as usize), capacity }
    }

    #[inline]
    pub fn len(&self) -> u32 {
        self.entries.len() as u32
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    pub fn insert(&mut self, e: IcebergEntry) {
        debug_assert!(!self.is_full(), "iceberg capacity is checked before an iceberg rests");
        self.entries.insert_unique(slot_hash(e.slot), e, |x| slot_hash(x.slot));
    }

    #[inline]
    pub fn get(&self, slot: Slot) -> &IcebergEntry {
        self.entries.find(slot_hash(slot), |e| e.slot == slot).expect("an iceberg slot has an entry")
    }

    #[inline]
    pub fn get_mut(&mut self, slot: Slot) -> &mut IcebergEntry {
        self.entries.find_mut(slot_hash(slot), |e| e.slot == slot).expect("an iceberg slot has an entry")
    }

    pub fn remove(&mut self, slot: Slot) -> IcebergEntry {
        match self.entries.find_entry(slot_hash(slot), |e| e.slot == slot) {
            Ok(e) => e.remove().0,
            Err(_) => unreachable!("an iceberg slot has an entry"),
        }
    }

    /// Every entry, in no particular order (snapshots sort them).
    pub fn iter(&self) -> impl Iterator<Item = &IcebergEntry> {
        self.entries.iter()
    }
}
