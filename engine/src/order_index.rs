//! O(1) lookup of live orders by engine order id and by (account, client
//! order id). Every table stores only 4-byte slot numbers: the key is read
//! back from the order slot itself.
//!
//! Engine ids are issued in sequence, so most live orders are recent: an id
//! goes into a ring at `id mod ring size` (a power of two at least the order
//! capacity), where placing and releasing it is one store and finding it one
//! load, instead of a hash probe of a control line and a slot line. An order
//! still live when a newer id needs its ring place (it outlived a ring's worth
//! of newer orders) moves to the overflow hash table, which lookups that miss
//! the ring consult.
//!
//! Client order ids are in a [`SlotChunks`] table: a 16-byte control word and
//! a line of slots a lookup, their addresses known from the key alone (so
//! [`OrderIndex::prefetch_client`] can fetch them commands ahead), and no
//! tombstones to rehash. The overflow table
//! of engine ids, rarely used, is hashbrown's. Both are pre-sized to the order
//! capacity, so inserts never reallocate (hashbrown only rehashes in place
//! when it has room for twice the live entries), and neither's iteration order
//! is ever observed: outputs walk books and the per-account lists instead.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::order_pool::{OrderPool, Slot, NIL};
use crate::slot_chunks::SlotChunks;
use crate::types::*;

pub(crate) struct OrderIndex {
    /// Slot of the live order whose id is this place's, or `NIL`.
    id_ring: Box<[Slot]>,
    /// Live orders whose ring place a newer id took.
    id_overflow: HashTable<Slot>,
    by_client: SlotChunks,
}

/// Keys that differ only in their low bits (consecutive engine ids, a
/// client's consecutive client ids) hash to neighbouring buckets: blocks of
/// [`RUN`] keys share one control group and one line of slot numbers, so
/// placing orders in sequence touches the same few lines of each table
/// instead of random ones. Blocks themselves land pseudo-randomly, and the
/// tag bits (the top 7, which hashbrown compares first) are mixed from the
/// whole key.
const RUN: u64 = 16;

/// The same for client order ids in [`SlotChunks`], whose home chunk comes from the hash's
/// middle bits: a client's [`CLIENT_RUN`] consecutive ids share one home chunk (of 15 entries,
/// so a run never fills it alone), with tags varied by the low bits. Four measured better than
/// eight on the big books and alike on the exchange-core mix (BENCHMARKS.md).
const CLIENT_RUN: u64 = 4;

/// `block_hash` with its run bits replaced by the key's low bits, and its
/// tag bits varied by them too (keys of one block would otherwise share a
/// tag, and every lookup in the block would compare all of them).
#[inline]
fn run_hash(block_hash: u64, key: u64) -> u64 {
    let low = key & (RUN - 1);
    let tag_mix = low.wrapping_mul(0x9E37_79B9_7F4A_7C15) & (0x7F << 57);
    ((block_hash & !(RUN - 1)) | low) ^ tag_mix
}

#[inline]
fn id_hash(id: OrderId) -> u64 {
    run_hash(FxBuildHasher.hash_one(id / RUN), id)
}

#[inline]
fn client_hash(account: AccountId, cid: ClientOrderId) -> u64 {
    let low = cid & (CLIENT_RUN - 1);
    let tag_mix = low.wrapping_mul(0x9E37_79B9_7F4A_7C15) & (0x7F << 57);
    FxBuildHasher.hash_one((account, cid / CLIENT_RUN)) ^ tag_mix
}

impl OrderIndex {
    pub fn with_capacity(capacity: u32) -> Self {
        let ring = (capacity as usize).max(1).next_power_of_two();
        Self {
            id_ring: crate::huge_pages::vec_filled(NIL, ring).into_boxed_slice(),
            id_overflow: HashTable::with_capacity(capacity as usize),
            by_client: SlotChunks::with_capacity(capacity),
        }
    }

    #[inline]
    fn ring_place(&self, id: OrderId) -> usize {
        id as usize & (self.id_ring.len() - 1)
    }

    #[inline]
    pub fn by_id(&self, pool: &OrderPool, id: OrderId) -> Option<Slot> {
        let s = self.id_ring[self.ring_place(id)];
        if s != NIL && pool.get(s).order_id == id {
            return Some(s);
        }
        if self.id_overflow.is_empty() {
            return None;
        }
        self.id_overflow.find(id_hash(id), |&s| pool.get(s).order_id == id).copied()
    }

    #[inline]
    pub fn by_client(&self, pool: &OrderPool, account: AccountId, cid: ClientOrderId) -> Option<Slot> {
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
        let older = std::mem::replace(&mut self.id_ring[place], slot);
        if older != NIL {
            // Outlived a ring's worth of newer ids: it moves aside.
            debug_assert_ne!(pool.get(older).order_id, o.order_id, "order ids are unique");
            let id = pool.get(older).order_id;
            self.id_overflow.insert_unique(id_hash(id), older, |&s| id_hash(pool.get(s).order_id));
        }
        self.by_client.insert(client_hash(o.account, o.client_order_id), slot);
    }

    /// Starts the lines a lookup of this client order id reads first (its home chunk's control
    /// word and slots), so that a command applied a little later finds them cached.
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

    /// Unindexes a slot; its order fields must still be intact.
    #[inline]
    pub fn remove(&mut self, pool: &OrderPool, slot: Slot) {
        let o = pool.get(slot);
        let place = self.ring_place(o.order_id);
        if self.id_ring[place] == slot {
            self.id_ring[place] = NIL;
        } else if let Ok(e) = self.id_overflow.find_entry(id_hash(o.order_id), |&s| s == slot) {
            e.remove();
        }
        let removed = self.by_client.remove(client_hash(o.account, o.client_order_id), slot);
        debug_assert!(removed, "a live order is indexed by its client id");
    }
}
