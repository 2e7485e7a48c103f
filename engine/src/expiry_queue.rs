//! Good-till-date orders by expiry time: a min-heap of `(expire_time_ns, order_id)`, earliest
//! first, ties by order id (arrival), so expiries happen in one defined order on every replay.
//!
//! Orders leave the book in many ways (fills, cancels, mass cancels, self-trade prevention ...)
//! and none of them touches this queue: an entry whose order is gone is a tombstone, skipped
//! when it reaches the top (order ids are never reused, so an id that is no longer live can
//! never match again). Tombstones are bounded without a per-order back-pointer: the heap has
//! room for twice the live expiring orders, and when it fills it is compacted in place (live
//! entries kept, heap rebuilt); if that frees less than half of it, it doubles (up to twice the
//! bound on live expiring orders), so compaction costs O(1) per insert amortised. It starts at
//! 1,024 entries: its memory grows with the use of expiries, a few times in a process's life.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::types::*;

/// Live expiring orders engine-wide are at most `max_orders / EXPIRING_PER_ORDER_CAPACITY`.
pub const EXPIRING_PER_ORDER_CAPACITY: u32 = 2;

pub(crate) struct ExpiryQueue {
    heap: BinaryHeap<Reverse<(u64, OrderId)>>,
    /// Live expiring orders (those with [`crate::order_pool::EXPIRES`] set), kept by the engine.
    live: u32,
    capacity: u32,
}

impl ExpiryQueue {
    /// A queue for an engine of `max_orders` order slots.
    pub fn for_orders(max_orders: u32) -> Self {
        let capacity = (max_orders / EXPIRING_PER_ORDER_CAPACITY).max(1);
        Self { heap: BinaryHeap::with_capacity((2 * capacity).min(1024) as usize), live: 0, capacity }
    }

    /// Whether another expiring order would exceed the capacity.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.live >= self.capacity
    }

    /// The earliest expiry time in the queue, tombstones included (so possibly early: the
    /// caller then pops the tombstones), or `u64::MAX`.
    #[inline]
    pub fn next_due_ns(&self) -> u64 {
        self.heap.peek().map_or(u64::MAX, |Reverse((t, _))| *t)
    }

    /// Adds a live expiring order; `is_live` tells which queued order ids are still live, for
    /// a compaction.
    pub fn push(&mut self, expire_time_ns: u64, order_id: OrderId, is_live: impl FnMut(OrderId) -> bool) {
        debug_assert!(!self.is_full(), "capacity is checked before an expiring order is accepted");
        if self.heap.len() == self.heap.capacity() {
            self.compact(is_live);
            let room = self.heap.capacity();
            if self.heap.len() > room / 2 && room < 2 * self.capacity as usize {
                self.heap.reserve_exact(room.min(2 * self.capacity as usize - room));
            }
        }
        self.heap.push(Reverse((expire_time_ns, order_id)));
        self.live += 1;
        debug_assert!(self.heap.len() <= 2 * self.capacity as usize);
    }

    /// An expiring order left (by any way: the engine calls it when it frees the slot).
    #[inline]
    pub fn forget_one(&mut self) {
        self.live -= 1;
    }

    /// Removes and returns the earliest entry due at `now_ns` (a tombstone or not).
    #[inline]
    pub fn pop_due(&mut self, now_ns: u64) -> Option<(u64, OrderId)> {
        if self.next_due_ns() > now_ns {
            return None;
        }
        self.heap.pop().map(|Reverse(e)| e)
    }

    /// Drops the tombstones. In place: `retain` keeps the allocation.
    fn compact(&mut self, mut is_live: impl FnMut(OrderId) -> bool) {
        self.heap.retain(|Reverse((_, id))| is_live(*id));
        debug_assert_eq!(self.heap.len(), self.live as usize);
    }

    /// Live entries `(expire_time_ns, order_id)`, in no particular order (snapshots sort them).
    pub fn entries<'a>(
        &'a self,
        mut is_live: impl FnMut(OrderId) -> bool + 'a,
    ) -> impl Iterator<Item = (u64, OrderId)> + 'a {
        self.heap.iter().map(|Reverse(e)| *e).filter(move |(_, id)| is_live(*id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_id_order_and_compacts_tombstones_in_place() {
        let mut q = ExpiryQueue::for_orders(8); // 4 live, room for 8 entries
        let cap = q.heap.capacity();
        let live = std::cell::RefCell::new(std::collections::BTreeSet::new());
        for (t, id) in [(30, 1), (10, 2), (10, 3), (20, 4)] {
            live.borrow_mut().insert(id);
            q.push(t, id, |i| live.borrow().contains(&i));
        }
        assert!(q.is_full());
        // Orders 1 and 2 leave; their entries stay as tombstones until a compaction.
        for id in [1, 2] {
            live.borrow_mut().remove(&id);
            q.forget_one();
        }
        for (t, id) in [(5, 5), (40, 6), (50, 7), (60, 8)] {
            if q.is_full() {
                live.borrow_mut().remove(&(id - 2));
                q.forget_one();
            }
            live.borrow_mut().insert(id);
            q.push(t, id, |i| live.borrow().contains(&i));
        }
        assert_eq!(q.heap.capacity(), cap, "compaction must not reallocate");
        let mut popped = Vec::new();
        while let Some((t, id)) = q.pop_due(u64::MAX) {
            if live.borrow().contains(&id) {
                popped.push((t, id));
            }
        }
        let mut expected: Vec<_> = [(10, 3), (20, 4), (5, 5), (40, 6), (50, 7), (60, 8)]
            .into_iter()
            .filter(|(_, id)| live.borrow().contains(id))
            .collect();
        expected.sort();
        assert_eq!(popped, expected);
    }

    #[test]
    fn nothing_is_due_before_its_time() {
        let mut q = ExpiryQueue::for_orders(4);
        q.push(100, 1, |_| true);
        assert_eq!(q.pop_due(99), None);
        assert_eq!(q.next_due_ns(), 100);
        assert_eq!(q.pop_due(100), Some((100, 1)));
        assert_eq!(q.next_due_ns(), u64::MAX);
    }
}
