//! O(1) lookup of live orders by engine order id and by (account, client
//! order id). Every table stores only 4-byte slot numbers: the key is read
//! back from the order slot itself.
//!
//! Engine ids are issued in sequence, so most live orders are recent: an id
//! belongs to the ring place `id mod ring size` (a power of two at least the
//! order capacity), which holds the newest live order of that place, and each
//! order slot names the next live order of the same place (`older`): a chain,
//! usually of one. Placing an order is two stores and no search; finding or
//! unindexing the newest of a place is one load; an order that outlived a
//! ring's worth of newer ids is one link further along. Before, such orders
//! moved to a hash table, and on a 100k book with random cancels a third of all
//! orders did: an insert and a removal of two random lines each (BENCHMARKS.md,
//! "a chained id ring"). A chain holds only live orders whose ids are equal
//! modulo the ring size, ids a whole ring apart; the chains together hold each
//! live order once, so they need no room beyond one link a slot, and no bound of
//! their own. A chain is as long as the live orders sharing its place: at most
//! four in the flows measured, and a removal behind the newest walks 1.05 links
//! on average (BENCHMARKS.md). A long one needs live orders placed exactly a
//! ring's worth of ids apart, which a client cannot aim at while others trade,
//! and it slows only lookups at that place, by a walk of 4-byte links.
//!
//! Client order ids are in a [`SlotChunks`] table: one line a lookup (a
//! chunk's tags and slots), its address known from the key alone (so
//! [`OrderIndex::prefetch_client`] can fetch them commands ahead), and no
//! tombstones to rehash. Per account, the highest client order id ever indexed answers a lookup
//! above it (a new order's duplicate check, for a client that numbers upwards) without the table.
//! All are sized up front (the order capacity, the account bound), so
//! nothing reallocates, and no table's order is ever observed: outputs walk books
//! and the per-account lists instead (a chain's order, newest first in trading
//! and any order after a snapshot restore, changes no lookup's answer).

use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

use crate::order_pool::{OrderPool, Slot, NIL};
use crate::slot_chunks::SlotChunks;
use crate::types::*;

pub(crate) struct OrderIndex {
    /// Per ring place, the slot of the newest live order whose id falls there, or `NIL`.
    id_ring: Box<[Slot]>,
    /// Per order slot, the next live order of the same ring place, or `NIL`.
    older: Box<[Slot]>,
    by_client: SlotChunks,
    /// Per account, the highest client order id ever indexed for it (0 before its first). Clients
    /// mostly number their orders upwards, so a new order's duplicate check usually asks for an id
    /// above it, which no live order can hold: answered without touching the table, where a
    /// chance match of a 7-bit tag costs a read of a cold order slot (2.8% of limit-cancel-100k's
    /// time, BENCHMARKS.md, session 17). Raised by every insert, restores included (they insert),
    /// and never lowered, so it bounds every indexed id of its account.
    client_high: Box<[ClientOrderId]>,
}

/// Client order ids in [`SlotChunks`] take their home chunk from the hash's middle bits: a
/// client's [`CLIENT_RUN`] consecutive ids share one home chunk (of 12 entries, so a run never
/// fills it alone; placing orders in sequence touches the same lines), with tags varied by the
/// low bits. Four measured better than eight on the big books and alike on the exchange-core
/// mix (BENCHMARKS.md).
const CLIENT_RUN: u64 = 4;

#[inline]
fn client_hash(account: AccountId, cid: ClientOrderId) -> u64 {
    let low = cid & (CLIENT_RUN - 1);
    let tag_mix = low.wrapping_mul(0x9E37_79B9_7F4A_7C15) & (0x7F << 57);
    FxBuildHasher.hash_one((account, cid / CLIENT_RUN)) ^ tag_mix
}

impl OrderIndex {
    /// Tables for `capacity` live orders of accounts below `accounts`.
    pub fn with_capacity(capacity: u32, accounts: u32) -> Self {
        let ring = (capacity as usize).max(1).next_power_of_two();
        Self {
            client_high: vec![0; accounts as usize].into_boxed_slice(),
            id_ring: crate::huge_pages::vec_filled(NIL, ring).into_boxed_slice(),
            older: crate::huge_pages::vec_filled(NIL, capacity as usize).into_boxed_slice(),
            by_client: SlotChunks::with_capacity(capacity),
        }
    }

    #[inline]
    fn ring_place(&self, id: OrderId) -> usize {
        id as usize & (self.id_ring.len() - 1)
    }

    #[inline]
    pub fn by_id(&self, pool: &OrderPool, id: OrderId) -> Option<Slot> {
        let mut s = self.id_ring[self.ring_place(id)];
        let mut links = 0;
        while s != NIL {
            if pool.get(s).order_id == id {
                return Some(s);
            }
            s = self.older[s as usize];
            links += 1;
            debug_assert!(links <= self.older.len(), "a chain holds each live order once");
        }
        None
    }

    /// Inlined: on the hot path it is a new order's duplicate check and every lookup of an order
    /// by client id (cancel, amend); as a call it saved and restored six registers around a lookup
    /// of ~25 instructions (callgrind: −3.7% instructions on feed-replay, −3.3% on
    /// limit-cancel-100k; wall clock within the noise: BENCHMARKS.md, session 19).
    #[inline(always)]
    pub fn by_client(&self, pool: &OrderPool, account: AccountId, cid: ClientOrderId) -> Option<Slot> {
        if self.client_high.get(account as usize).is_some_and(|&high| cid > high) {
            return None;
        }
        self.by_client.find(client_hash(account, cid), |s| {
            let o = pool.get(s);
            o.account == account && o.client_order_id == cid
        })
    }

    /// Indexes a slot whose order fields are already written.
    #[inline(always)]
    pub fn insert(&mut self, pool: &OrderPool, slot: Slot) {
        let o = pool.get(slot);
        let place = self.ring_place(o.order_id);
        // Whatever held the place outlived a ring's worth of newer ids: it stays, a link on.
        self.older[slot as usize] = std::mem::replace(&mut self.id_ring[place], slot);
        self.by_client.insert(client_hash(o.account, o.client_order_id), slot);
        if let Some(high) = self.client_high.get_mut(o.account as usize) {
            *high = (*high).max(o.client_order_id);
        }
    }

    /// Starts the line a lookup of this client order id reads first (its home chunk), so that a
    /// command applied a little later finds it cached.
    #[inline]
    pub fn prefetch_client(&self, account: AccountId, cid: ClientOrderId) {
        self.by_client.prefetch(client_hash(account, cid));
    }

    /// The slot a lookup of this client order id most likely finds (unverified), or `NIL`.
    #[inline]
    pub fn likely_client(&self, account: AccountId, cid: ClientOrderId) -> Slot {
        self.by_client.likely(client_hash(account, cid))
    }

    /// The slot in `id`'s ring place (unverified), or `NIL`.
    #[inline]
    pub fn likely_id(&self, id: OrderId) -> Slot {
        self.id_ring[self.ring_place(id)]
    }

    /// Starts the line of `id`'s ring place.
    #[inline]
    pub fn prefetch_id(&self, id: OrderId) {
        crate::prefetch::prefetch_line(self.id_ring.as_ptr().wrapping_add(self.ring_place(id)));
    }

    /// Starts the line of `slot`'s chain link, which unindexing it reads.
    #[inline]
    pub fn prefetch_link(&self, slot: Slot) {
        crate::prefetch::prefetch_line(self.older.as_ptr().wrapping_add(slot as usize));
    }

    /// Unindexes a slot; its order fields must still be intact.
    #[inline]
    pub fn remove(&mut self, pool: &OrderPool, slot: Slot) {
        let o = pool.get(slot);
        let place = self.ring_place(o.order_id);
        let after = self.older[slot as usize];
        let mut s = self.id_ring[place];
        if s == slot {
            self.id_ring[place] = after;
        } else {
            // An order that outlived its place: found by slot number along the chain, without
            // reading the newer orders' slots.
            let mut links = 0;
            while s != NIL {
                let next = self.older[s as usize];
                if next == slot {
                    self.older[s as usize] = after;
                    break;
                }
                s = next;
                links += 1;
                debug_assert!(links <= self.older.len(), "a chain holds each live order once");
            }
            debug_assert_ne!(s, NIL, "a live order is in its ring place's chain");
        }
        let removed = self.by_client.remove(client_hash(o.account, o.client_order_id), slot);
        debug_assert!(removed, "a live order is indexed by its client id");
    }
}
