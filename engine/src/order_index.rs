//! O(1) lookup of live orders by engine order id and by (account, client
//! order id). Both maps are pre-sized to the order capacity, so inserts never
//! reallocate. Their iteration order is never observed: outputs iterate the
//! books and the per-account lists instead.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use crate::order_pool::Slot;
use crate::types::*;

pub(crate) struct OrderIndex {
    by_id: HashMap<OrderId, Slot, FxBuildHasher>,
    by_client: HashMap<(AccountId, ClientOrderId), Slot, FxBuildHasher>,
}

impl OrderIndex {
    pub fn with_capacity(capacity: u32) -> Self {
        Self {
            by_id: HashMap::with_capacity_and_hasher(capacity as usize, FxBuildHasher),
            by_client: HashMap::with_capacity_and_hasher(capacity as usize, FxBuildHasher),
        }
    }

    #[inline]
    pub fn by_id(&self, id: OrderId) -> Option<Slot> {
        self.by_id.get(&id).copied()
    }

    #[inline]
    pub fn by_client(&self, account: AccountId, cid: ClientOrderId) -> Option<Slot> {
        self.by_client.get(&(account, cid)).copied()
    }

    #[inline]
    pub fn insert(&mut self, id: OrderId, account: AccountId, cid: ClientOrderId, slot: Slot) {
        let a = self.by_id.insert(id, slot);
        let b = self.by_client.insert((account, cid), slot);
        debug_assert!(a.is_none() && b.is_none(), "order ids and live client ids are unique");
    }

    #[inline]
    pub fn remove(&mut self, id: OrderId, account: AccountId, cid: ClientOrderId) {
        self.by_id.remove(&id);
        self.by_client.remove(&(account, cid));
    }
}
