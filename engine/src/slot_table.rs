//! [`SlotTable`]: the extra fields of the few orders that need them (armed conditional orders,
//! icebergs), keyed by order slot. An order slot has no room left (48 bytes), and a column for
//! every slot would cost every resting order for the few that use it; so each kind of entry lives
//! in a hash table of its own. Its bound is fixed (`capacity_for`), but its memory is not taken
//! up front: it starts at [`INITIAL_ENTRIES`] and doubles when full, up to the bound (a handful
//! of times in a process's life, when the features are first used that much), so an engine sized
//! for millions of orders does not pay for tables of features nobody uses.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::order_pool::Slot;

/// An entry of a [`SlotTable`]: the slot it belongs to, and how many such entries an engine of
/// `max_orders` slots may hold (`max_orders / PER_ORDER_CAPACITY`, at least 1).
pub(crate) trait SlotEntry: Copy {
    const PER_ORDER_CAPACITY: u32;
    fn slot(&self) -> Slot;
}

pub(crate) struct SlotTable<E> {
    entries: HashTable<E>,
    capacity: u32,
}

/// Entries a table holds before it first grows.
pub const INITIAL_ENTRIES: u32 = 1024;

#[inline]
fn slot_hash(slot: Slot) -> u64 {
    FxBuildHasher.hash_one(slot)
}

impl<E: SlotEntry> SlotTable<E> {
    /// A table for an engine of `max_orders` order slots.
    pub fn for_orders(max_orders: u32) -> Self {
        let capacity = Self::capacity_for(max_orders);
        Self { entries: HashTable::with_capacity(capacity.min(INITIAL_ENTRIES) as usize), capacity }
    }

    /// The most entries an engine of `max_orders` slots holds (snapshot restore checks it).
    pub fn capacity_for(max_orders: u32) -> u32 {
        (max_orders / E::PER_ORDER_CAPACITY).max(1)
    }

    #[inline]
    pub fn len(&self) -> u32 {
        self.entries.len() as u32
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    pub fn insert(&mut self, e: E) {
        debug_assert!(!self.is_full(), "the capacity is checked before an entry is added");
        self.entries.insert_unique(slot_hash(e.slot()), e, |x| slot_hash(x.slot()));
    }

    #[inline]
    pub fn get(&self, slot: Slot) -> &E {
        self.entries.find(slot_hash(slot), |e| e.slot() == slot).expect("a flagged slot has an entry")
    }

    #[inline]
    pub fn get_mut(&mut self, slot: Slot) -> &mut E {
        self.entries.find_mut(slot_hash(slot), |e| e.slot() == slot).expect("a flagged slot has an entry")
    }

    pub fn remove(&mut self, slot: Slot) -> E {
        match self.entries.find_entry(slot_hash(slot), |e| e.slot() == slot) {
            Ok(e) => e.remove().0,
            Err(_) => unreachable!("a flagged slot has an entry"),
        }
    }

    /// Every entry, in no particular order (snapshots sort them).
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.entries.iter()
    }
}
