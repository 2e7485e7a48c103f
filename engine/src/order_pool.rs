//! Pre-allocated slots for resting orders, linked into intrusive lists
//! (one per price level, one per account) so that removal is O(1) and
//! nothing allocates after construction.

use crate::types::*;

/// Index of a slot; [`NIL`] for "none".
pub(crate) type Slot = u32;
/// The null slot.
pub(crate) const NIL: Slot = u32::MAX;

/// A resting order's own fields: 48 bytes. The price is not stored here
/// but on its level (every resting order is in exactly one level). Its list
/// links live apart, in [`Links`]: see [`OrderPool`].
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Order {
    pub order_id: OrderId,
    pub client_order_id: ClientOrderId,
    /// Total quantity (filled + leaves); changed only by amends.
    pub qty: Qty,
    /// Open quantity.
    pub leaves: Qty,
    pub account: AccountId,
    pub instrument: InstrumentId,
    /// The price level this order rests in.
    pub level: u32,
    pub side: Side,
    pub tif: TimeInForce,
    pub stp: StpMode,
    /// [`ARMED`], [`EXPIRES`], [`ICEBERG`], [`TRAILING`], [`LISTED`], [`PENDING`]. [`ARMED`]: a conditional order waiting for its trigger: `level` is then a level of
    /// its instrument's trigger book (priced at the trigger price), not of the order book.
    pub flags: u8,
}

/// [`Order::flags`] bit: armed conditional order (see `stop_orders.rs`).
pub(crate) const ARMED: u8 = 1;
/// [`Order::flags`] bit: good-till-date, queued in the engine's `ExpiryQueue` (which it leaves
/// when the slot is released).
pub(crate) const EXPIRES: u8 = 2;
/// [`Order::flags`] bit: iceberg, with an entry in the engine's `IcebergTable`; its level counts
/// only its visible slice.
pub(crate) const ICEBERG: u8 = 4;
/// [`Order::flags`] bit (with [`ARMED`]): a trailing stop, with an entry in the engine's
/// `TrailTable`; `level` is then its trailing group's queue (see `trailing_stops.rs`).
pub(crate) const TRAILING: u8 = 8;
/// [`Order::flags`] bit: a member of an order list, with an entry in the engine's `ListTable`
/// (see `order_lists.rs`).
pub(crate) const LISTED: u8 = 16;
/// [`Order::flags`] bit (with [`LISTED`]): a pending leg, waiting for its working order to
/// fill: live (indexed, in its account's list) but in no book; `level` is `NIL`.
pub(crate) const PENDING: u8 = 32;
/// [`Order::flags`] bit: a reduce-only order on a perpetual (docs/futures.md, section 5): it
/// holds no margin and never outgrows its owner's position.
pub(crate) const REDUCE_ONLY: u8 = 64;
/// [`Order::flags`] bit (with [`REDUCE_ONLY`] and [`ARMED`]): a close-position stop, whose size
/// is its owner's whole position when it fires.
pub(crate) const CLOSE_POSITION: u8 = 128;

const _: () = assert!(std::mem::size_of::<Order>() == 48);

impl Order {
    pub(crate) const EMPTY: Order = Order {
        order_id: 0,
        client_order_id: 0,
        qty: 0,
        leaves: 0,
        account: 0,
        instrument: 0,
        level: NIL,
        side: Side::Buy,
        tif: TimeInForce::Gtc,
        stp: StpMode::None,
        flags: 0,
    };

    /// Whether it is an armed conditional order (not in the order book).
    #[inline]
    pub fn is_armed(&self) -> bool {
        self.flags & ARMED != 0
    }

    /// Quantity filled so far.
    #[inline]
    pub fn filled(&self) -> Qty {
        self.qty - self.leaves
    }
}

/// A slot's neighbours in its two intrusive lists. Kept in their own dense
/// array: unlinking an order rewrites its four neighbours' links, and at 16
/// bytes a slot those are four lines of a table a quarter the size of the
/// orders (mostly cache-resident), not four random 64-byte order slots.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(16))]
pub(crate) struct Links {
    /// Neighbours in the price level (time priority).
    pub prev: Slot,
    pub next: Slot,
    /// Neighbours in the account's list of live orders (order-id order).
    pub acct_prev: Slot,
    pub acct_next: Slot,
}

const _: () = assert!(std::mem::size_of::<Links>() == 16);

impl Links {
    const EMPTY: Links = Links { prev: NIL, next: NIL, acct_prev: NIL, acct_next: NIL };
}

/// Fixed-capacity slab of orders and their links (64 bytes a slot in all, as
/// when they shared one cache line), with a LIFO free list threaded through
/// `Links::next`. LIFO reuse keeps hot slots in cache and is deterministic.
pub(crate) struct OrderPool {
    slots: Vec<Order>,
    links: Vec<Links>,
    free_head: Slot,
    live: u32,
}

impl OrderPool {
    pub fn with_capacity(capacity: u32) -> Self {
        assert!(capacity < NIL, "order capacity must be below u32::MAX");
        let slots = crate::huge_pages::vec_filled(Order::EMPTY, capacity as usize);
        // One more than the slots: the last is the scratch entry of `links_or_scratch_mut`.
        let mut links = crate::huge_pages::vec_filled(Links::EMPTY, capacity as usize + 1);
        for (i, l) in links.iter_mut().enumerate().take(capacity as usize) {
            l.next = if i + 1 < capacity as usize { i as Slot + 1 } else { NIL };
        }
        let free_head = if capacity == 0 { NIL } else { 0 };
        Self { slots, links, free_head, live: 0 }
    }

    #[inline]
    pub fn live(&self) -> u32 {
        self.live
    }

    /// Slots in all, live or free.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.free_head == NIL
    }

    /// Takes a free slot, its links all [`NIL`]. The caller checked
    /// [`Self::is_full`] first.
    #[inline]
    pub fn alloc(&mut self, order: Order) -> Slot {
        let slot = self.free_head;
        assert!(slot != NIL, "order pool exhausted: capacity must be checked before alloc");
        self.free_head = self.links[slot as usize].next;
        self.slots[slot as usize] = order;
        self.links[slot as usize] = Links::EMPTY;
        self.live += 1;
        slot
    }

    #[inline]
    pub fn free(&mut self, slot: Slot) {
        self.slots[slot as usize].order_id = 0;
        self.links[slot as usize].next = self.free_head;
        self.free_head = slot;
        self.live -= 1;
    }

    /// Starts the lines of `slot`'s order fields (any slot number: no bounds check is needed
    /// for a hint that never faults). At 48 bytes, every other slot straddles two lines and an
    /// order is read whole, so the line of its last byte is asked for too (for the others it is
    /// the same line, and the hint costs one instruction). With the first line alone, a cancel's
    /// median latency on a 500k book was ~75-105 ns instead of ~55 (BENCHMARKS.md, "Three
    /// prefetch stages").
    #[inline(always)]
    pub fn prefetch_order(&self, slot: Slot) {
        let first = self.slots.as_ptr().wrapping_add(slot as usize);
        crate::prefetch::prefetch_line(first);
        crate::prefetch::prefetch_line(first.cast::<u8>().wrapping_add(std::mem::size_of::<Order>() - 1));
    }

    /// Starts the line of `slot`'s links.
    #[inline(always)]
    pub fn prefetch_links(&self, slot: Slot) {
        crate::prefetch::prefetch_line(self.links.as_ptr().wrapping_add(slot as usize));
    }

    #[inline]
    pub fn get(&self, slot: Slot) -> &Order {
        &self.slots[slot as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, slot: Slot) -> &mut Order {
        &mut self.slots[slot as usize]
    }

    #[inline]
    pub fn links(&self, slot: Slot) -> &Links {
        &self.links[slot as usize]
    }

    #[inline]
    pub fn links_mut(&mut self, slot: Slot) -> &mut Links {
        &mut self.links[slot as usize]
    }

    /// `slot`'s links, or for [`NIL`] a scratch entry that nothing reads: an unlink stores to
    /// "the neighbour, if any" with a select instead of a branch on data (whether an order has a
    /// neighbour is a coin toss on a busy book: a mispredict per unlink).
    #[inline(always)]
    pub fn links_or_scratch_mut(&mut self, slot: Slot) -> &mut Links {
        let scratch = self.links.len() - 1;
        let i = if slot == NIL { scratch } else { slot as usize };
        &mut self.links[i]
    }
}
