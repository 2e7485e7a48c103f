//! A price level: the FIFO queue of resting orders at one price, plus its
//! aggregate open quantity (kept so market data never walks the queue).

use crate::order_pool::{Slot, NIL};
use crate::types::*;

/// One price level. Levels live in a [`LevelPool`] and are referenced by index
/// from their book side and from their orders.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PriceLevel {
    pub price: Price,
    /// Sum of the leaves of its orders.
    pub total_qty: Qty,
    pub order_count: u32,
    /// Oldest order (matched first).
    pub head: Slot,
    /// Newest order.
    pub tail: Slot,
}

impl PriceLevel {
    const EMPTY: PriceLevel = PriceLevel { price: 0, total_qty: 0, order_count: 0, head: NIL, tail: NIL };
}

const _: () = assert!(std::mem::size_of::<PriceLevel>() == 32);

/// Fixed-capacity slab of levels (a level always holds at least one order, so
/// as many levels as order slots always suffice). The LIFO free list is
/// threaded through `head`, so it costs no memory of its own.
pub(crate) struct LevelPool {
    levels: Vec<PriceLevel>,
    free_head: u32,
}

impl LevelPool {
    pub fn with_capacity(capacity: u32) -> Self {
        let mut levels = crate::huge_pages::vec_filled(PriceLevel::EMPTY, capacity as usize);
        for (i, l) in levels.iter_mut().enumerate() {
            l.head = if i + 1 < capacity as usize { i as u32 + 1 } else { NIL };
        }
        Self { levels, free_head: if capacity == 0 { NIL } else { 0 } }
    }

    #[inline]
    pub fn alloc(&mut self, price: Price) -> u32 {
        let idx = self.free_head;
        assert!(idx != NIL, "level pool sized to order capacity cannot run out");
        self.free_head = self.levels[idx as usize].head;
        self.levels[idx as usize] = PriceLevel { price, ..PriceLevel::EMPTY };
        idx
    }

    #[inline]
    pub fn free(&mut self, idx: u32) {
        let l = &mut self.levels[idx as usize];
        debug_assert_eq!(l.order_count, 0);
        l.head = self.free_head;
        self.free_head = idx;
    }

    #[inline]
    pub fn get(&self, idx: u32) -> &PriceLevel {
        &self.levels[idx as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, idx: u32) -> &mut PriceLevel {
        &mut self.levels[idx as usize]
    }
}
