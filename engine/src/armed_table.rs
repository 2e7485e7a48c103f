//! What an armed conditional order needs beyond its order slot: the type and limit price of the
//! order it places on trigger, and its trigger kind. The slot itself has no room left (48 bytes,
//! the trigger price is its trigger level's price), and a column for every slot would cost every
//! resting order 16 bytes for the few that are armed; so the entries live in a table of their
//! own, keyed by slot, with a fixed capacity of [`ARMED_PER_ORDER_CAPACITY`]-th of the order
//! capacity, allocated up front.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::order_pool::Slot;
use crate::types::*;

/// Armed orders engine-wide are at most `max_orders / ARMED_PER_ORDER_CAPACITY` (at least 1).
pub const ARMED_PER_ORDER_CAPACITY: u32 = 4;

/// One armed order's extra fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArmedEntry {
    pub slot: Slot,
    pub order_type: OrderType,
    pub trigger: TriggerKind,
    /// Limit price of the order placed on trigger (0 for market).
    pub price: Price,
}

const _: () = assert!(std::mem::size_of::<ArmedEntry>() == 16);

pub(crate) struct ArmedTable {
    entries: HashTable<ArmedEntry>,
    capacity: u32,
}

#[inline]
fn slot_hash(slot: Slot) -> u64 {
    FxBuildHasher.hash_one(slot)
}

impl ArmedTable {
    /// A table for an engine of `max_orders` order slots.
    pub fn for_orders(max_orders: u32) -> Self {
        let capacity = (max_orders / ARMED_PER_ORDER_CAPACITY).max(1);
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

    pub fn insert(&mut self, e: ArmedEntry) {
        debug_assert!(!self.is_full(), "armed capacity is checked before arming");
        self.entries.insert_unique(slot_hash(e.slot), e, |x| slot_hash(x.slot));
    }

    #[inline]
    pub fn get(&self, slot: Slot) -> &ArmedEntry {
        self.entries.find(slot_hash(slot), |e| e.slot == slot).expect("an armed slot has an entry")
    }

    #[inline]
    pub fn get_mut(&mut self, slot: Slot) -> &mut ArmedEntry {
        self.entries.find_mut(slot_hash(slot), |e| e.slot == slot).expect("an armed slot has an entry")
    }

    pub fn remove(&mut self, slot: Slot) -> ArmedEntry {
        match self.entries.find_entry(slot_hash(slot), |e| e.slot == slot) {
            Ok(e) => e.remove().0,
            Err(_) => unreachable!("an armed slot has an entry"),
        }
    }
}
