//! O(1) lookup of live orders by engine order id and by (account, client
//! order id). Both tables store only 4-byte slot numbers: the key is read
//! back from the order slot itself, which keeps the index at about 10 bytes
//! per order of capacity instead of 40+ for a key/value map. Both are
//! pre-sized to the order capacity, so inserts never reallocate (hashbrown
//! only rehashes in place when it has room for twice the live entries).
//! Their iteration order is never observed: outputs walk books and the
//! per-account lists instead.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::order_pool::{OrderPool, Slot};
use crate::types::*;

pub(crate) struct OrderIndex {
    by_id: HashTable<Slot>,
    by_client: HashTable<Slot>,
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
        Self {
            by_id: HashTable::with_capacity(capacity as usize),
            by_client: HashTable::with_capacity(capacity as usize),
        }
    }

    #[inline]
    pub fn by_id(&self, pool: &OrderPool, id: OrderId) -> Option<Slot> {
        self.by_id.find(id_hash(id), |&s| pool.get(s).order_id == id).copied()
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
        self.by_id.insert_unique(id_hash(o.order_id), slot, |&s| id_hash(pool.get(s).order_id));
        self.by_client.insert_unique(client_hash(o.account, o.client_order_id), slot, |&s| {
            let o = pool.get(s);
            client_hash(o.account, o.client_order_id)
        });
    }

    /// Unindexes a slot; its order fields must still be intact.
    #[inline]
    pub fn remove(&mut self, pool: &OrderPool, slot: Slot) {
        let o = pool.get(slot);
        if let Ok(e) = self.by_id.find_entry(id_hash(o.order_id), |&s| s == slot) {
            e.remove();
        }
        if let Ok(e) = self.by_client.find_entry(client_hash(o.account, o.client_order_id), |&s| s == slot) {
            e.remove();
        }
    }
}
