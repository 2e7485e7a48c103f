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
//! The hash tables are pre-sized to the order capacity, so inserts never
//! reallocate (hashbrown only rehashes in place when it has room for twice the
//! live entries). Their iteration order is never observed: outputs walk books
//! and the per-account lists instead.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::order_pool::{OrderPool, Slot, NIL};
use crate::types::*;

pub(crate) struct OrderIndex {
    /// Slot of the live order whose id is this place's, or `NIL`.
    id_ring: Box<[Slot]>,
    /// Live orders whose ring place a newer id took.
    id_overflow: HashTable<Slot>,
    by_client: HashTable<Slot>,
    /// Address of `by_client`'s control bytes (0 until its first insert): only for
    /// [`Self::prefetch_client`]; set again at every insert, so a table that moved is followed.
    by_client_ctrl: usize,
}

/// Keys that differ only in their low bits (consecutive engine ids, a
/// client's consecutive client ids) hash to neighbouring buckets: blocks of
/// [`RUN`] keys share one control group and one line of slot numbers, so
/// placing orders in sequence touches the same few lines of each table
/// instead of random ones. Blocks themselves land pseudo-randomly, and the
/// tag bits (the top 7, which hashbrown compares first) are mixed from the
/// whole key.
const RUN: u64 = 16;

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
    run_hash(FxBuildHasher.hash_one((account, cid / RUN)), cid)
}

impl OrderIndex {
    pub fn with_capacity(capacity: u32) -> Self {
        let ring = (capacity as usize).max(1).next_power_of_two();
        Self {
            id_ring: crate::huge_pages::vec_filled(NIL, ring).into_boxed_slice(),
            id_overflow: HashTable::with_capacity(capacity as usize),
            by_client: HashTable::with_capacity(capacity as usize),
            by_client_ctrl: 0,
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
        self.by_client
            .find(client_hash(account, cid), |&s| {
                let o = pool.get(s);
                o.account == account && o.client_order_id == cid
            })
            .copied()
    }

    /// Indexes a slot whose order fields are already written.
    #[inline]
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
        let e = self.by_client.insert_unique(client_hash(o.account, o.client_order_id), slot, |&s| {
            let o = pool.get(s);
            client_hash(o.account, o.client_order_id)
        });
        // hashbrown lays bucket i's value out at `ctrl - (i + 1) * size` (see `prefetch_client`).
        let (index, at) = (e.bucket_index(), e.get() as *const Slot as usize);
        self.by_client_ctrl = at + (index + 1) * std::mem::size_of::<Slot>();
    }

    /// Starts the two lines a lookup of this client order id reads first (its home control
    /// group and its home bucket), so that a command applied a little later finds them cached.
    ///
    /// The addresses come from hashbrown's layout (values stored backwards before the control
    /// bytes, the probe starting at `hash & mask`), which its API does not promise: were it to
    /// change, the prefetch would fetch useless lines and cost only itself (a prefetch never
    /// faults). `tests::client_prefetch_address_is_the_home_bucket` catches such a change.
    #[inline]
    pub fn prefetch_client(&self, account: AccountId, cid: ClientOrderId) {
        if self.by_client_ctrl == 0 {
            return;
        }
        let home = self.client_home(account, cid);
        crate::prefetch::prefetch_line((self.by_client_ctrl + home) as *const u8);
        crate::prefetch::prefetch_line(self.client_bucket_addr(home) as *const u8);
    }

    #[inline]
    fn client_home(&self, account: AccountId, cid: ClientOrderId) -> usize {
        client_hash(account, cid) as usize & (self.by_client.num_buckets() - 1)
    }

    #[inline]
    fn client_bucket_addr(&self, bucket: usize) -> usize {
        self.by_client_ctrl.wrapping_sub((bucket + 1) * std::mem::size_of::<Slot>())
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
        if let Ok(e) = self.by_client.find_entry(client_hash(o.account, o.client_order_id), |&s| s == slot) {
            e.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order_pool::Order;

    /// `prefetch_client` computes hashbrown's bucket address from its layout; an order found in
    /// its home bucket must live at exactly that address (else the prefetch fetches the wrong
    /// lines: no wrong result, but the speed it exists for is gone).
    #[test]
    fn client_prefetch_address_is_the_home_bucket() {
        let mut pool = OrderPool::with_capacity(4096);
        let mut index = OrderIndex::with_capacity(4096);
        let mut at_home = 0;
        for i in 0..4000u64 {
            let (account, cid) = ((i % 7) as AccountId + 1, i * 3 + 11);
            let slot = pool.alloc(Order { order_id: i + 1, client_order_id: cid, account, ..Order::EMPTY });
            index.insert(&pool, slot);
        }
        for i in 0..4000u64 {
            let (account, cid) = ((i % 7) as AccountId + 1, i * 3 + 11);
            let home = index.client_home(account, cid);
            let bucket = index
                .by_client
                .find_bucket_index(client_hash(account, cid), |&s| {
                    let o = pool.get(s);
                    o.account == account && o.client_order_id == cid
                })
                .expect("indexed");
            if bucket == home {
                at_home += 1;
                let value = index.by_client.get_bucket(bucket).expect("full") as *const Slot as usize;
                assert_eq!(value, index.client_bucket_addr(home), "bucket {bucket}");
            }
        }
        assert!(at_home > 1000, "most keys sit in their home bucket ({at_home})");
    }
}
