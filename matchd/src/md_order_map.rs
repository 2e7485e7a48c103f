//! [`OrderMap`]: the market-data mirror's resting orders of one book, by engine order id.
//!
//! Open addressing with linear probing and backward-shift deletion: a removal moves the entries
//! of its run back into the hole instead of leaving a tombstone, so the table never has to be
//! cleaned up in place. hashbrown, used here before, does that when the tombstones its removals
//! leave have used up its free slots: with ~100k orders in one book and orders coming and going,
//! the publisher thread (which also carries every execution report) stopped for up to ~18 ms, 3-4
//! times in 15M changes (BENCHMARKS.md, "The market-data mirror's order map"). This table grows
//! (doubles) only when a book holds more orders than ever before, and stays at most half full, so
//! a probe is short.
//!
//! Keys are engine order ids, handed out one after another: Fibonacci hashing spreads consecutive
//! ids over the table.

use engine::OrderId;

/// The multiplier of Fibonacci hashing (2^64 / φ, odd).
const FIB: u64 = 0x9E37_79B9_7F4A_7C15;
/// The smallest table, in slots (a power of two).
const MIN_SLOTS: usize = 16;

/// Resting orders of one book by order id (see the module doc).
#[derive(Debug, Clone)]
pub struct OrderMap<V: Copy> {
    /// `(id, value)` per slot, `None` where empty. Ids and values side by side: a lookup reads
    /// one line (with the ids in an array of their own, two: measured slower).
    slots: Box<[Option<(OrderId, V)>]>,
    len: usize,
    /// 64 minus log2 of the slot count: the hash's top bits pick the home slot.
    shift: u32,
}

impl<V: Copy> Default for OrderMap<V> {
    fn default() -> Self {
        Self::with_slots(MIN_SLOTS)
    }
}

impl<V: Copy> OrderMap<V> {
    fn with_slots(n: usize) -> Self {
        assert!(n.is_power_of_two() && n >= MIN_SLOTS);
        Self { slots: vec![None; n].into_boxed_slice(), len: 0, shift: 64 - n.trailing_zeros() }
    }

    /// Orders held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    #[inline]
    fn home(&self, id: OrderId) -> usize {
        (id.wrapping_mul(FIB) >> self.shift) as usize
    }

    /// The slot holding `id`, if any. A run ends at an empty slot; the table is never full.
    #[inline]
    fn find(&self, id: OrderId) -> Option<usize> {
        let mut i = self.home(id);
        loop {
            match self.slots[i] {
                None => return None,
                Some((k, _)) if k == id => return Some(i),
                _ => i = (i + 1) & self.mask(),
            }
        }
    }

    /// The order `id`'s value, to change.
    #[inline]
    pub fn get_mut(&mut self, id: OrderId) -> Option<&mut V> {
        let i = self.find(id)?;
        self.slots[i].as_mut().map(|(_, v)| v)
    }

    /// The order `id`'s value.
    #[inline]
    pub fn get(&self, id: OrderId) -> Option<&V> {
        self.find(id).and_then(|i| self.slots[i].as_ref().map(|(_, v)| v))
    }

    /// Holds `value` for `id` (replacing what it held).
    pub fn insert(&mut self, id: OrderId, value: V) {
        // Grown first (a replacement may grow it a little early: harmless), so one probe finds
        // either the id or the empty slot that ends its run.
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mut i = self.home(id);
        loop {
            match &mut self.slots[i] {
                None => break,
                Some((k, v)) if *k == id => {
                    *v = value;
                    return;
                }
                _ => i = (i + 1) & self.mask(),
            }
        }
        self.slots[i] = Some((id, value));
        self.len += 1;
        debug_assert!(self.len * 2 <= self.slots.len());
    }

    /// Takes the order `id` out; its value, if it was held.
    pub fn remove(&mut self, id: OrderId) -> Option<V> {
        let mut hole = self.find(id)?;
        let value = self.slots[hole].map(|(_, v)| v);
        // Backward shift: each later entry of the run that may live at the hole (its home is not
        // cyclically within (hole, j]) moves there, until the run ends at an empty slot.
        let mask = self.mask();
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let Some((k, _)) = self.slots[j] else { break };
            let home = self.home(k);
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
        }
        self.slots[hole] = None;
        self.len -= 1;
        value
    }

    /// Every `(id, value)`, in no meaningful order (callers sort).
    pub fn iter(&self) -> impl Iterator<Item = (OrderId, &V)> {
        self.slots.iter().filter_map(|e| e.as_ref().map(|(k, v)| (*k, v)))
    }

    fn grow(&mut self) {
        let old = std::mem::replace(self, Self::with_slots(self.slots.len() * 2));
        for (k, v) in old.iter() {
            self.insert(k, *v);
        }
        debug_assert_eq!(self.len, old.len);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// Each entry is findable from its home: every slot between its home and it is occupied.
    fn assert_runs_unbroken(m: &OrderMap<u64>) {
        for (i, e) in m.slots.iter().enumerate() {
            let Some((k, _)) = *e else { continue };
            let mut j = m.home(k);
            while j != i {
                assert!(m.slots[j].is_some(), "a hole between {k}'s home and its slot");
                j = (j + 1) & m.mask();
            }
        }
        assert_eq!(m.slots.iter().flatten().count(), m.len);
    }

    #[test]
    fn grows_when_half_full_and_keeps_everything() {
        let mut m = OrderMap::default();
        for id in 1..=1_000u64 {
            m.insert(id, id * 10);
        }
        assert_eq!(m.len(), 1_000);
        assert!(m.slots.len() >= 2_000);
        for id in 1..=1_000u64 {
            assert_eq!(m.get(id), Some(&(id * 10)));
        }
        assert_eq!(m.get(1_001), None);
        assert_runs_unbroken(&m);
    }

    #[test]
    fn a_steady_churn_never_grows_the_table() {
        let mut m = OrderMap::default();
        let mut live: Vec<u64> = (1..=5_000).collect();
        for &id in &live {
            m.insert(id, id);
        }
        let slots = m.slots.len();
        // Orders come and go, 5,000 live at a time, any of them cancelled (xorshift picks).
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for id in 5_001..=200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let gone = live.swap_remove((x % live.len() as u64) as usize);
            assert_eq!(m.remove(gone), Some(gone));
            m.insert(id, id);
            live.push(id);
        }
        assert_eq!(m.len(), 5_000);
        assert_eq!(m.slots.len(), slots, "no growth, no rebuild in steady state");
        assert_runs_unbroken(&m);
    }

    #[test]
    fn insert_replaces_and_remove_of_an_absent_id_changes_nothing() {
        let mut m = OrderMap::default();
        m.insert(7, 1u64);
        m.insert(7, 2);
        assert_eq!(m.len(), 1);
        assert_eq!(m.get(7), Some(&2));
        assert_eq!(m.remove(8), None);
        assert_eq!(m.len(), 1);
        *m.get_mut(7).expect("held") += 1;
        assert_eq!(m.remove(7), Some(3));
        assert!(m.is_empty());
        assert_eq!(m.iter().count(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64),
        Remove(u64),
        Bump(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct ids, so that removals hit and runs collide often; ids in a narrow band also
        // share home slots in a small table.
        let id = 1u64..300;
        prop_oneof![
            3 => id.clone().prop_map(Op::Insert),
            2 => id.clone().prop_map(Op::Remove),
            1 => id.prop_map(Op::Bump),
        ]
    }

    proptest! {
        /// Against a `HashMap`, whatever the order of inserts, removals and changes.
        #[test]
        fn agrees_with_a_hash_map(ops in proptest::collection::vec(op(), 0..600)) {
            let mut m = OrderMap::default();
            let mut model: HashMap<u64, u64> = HashMap::new();
            for (n, op) in ops.iter().enumerate() {
                match *op {
                    Op::Insert(id) => {
                        m.insert(id, n as u64);
                        model.insert(id, n as u64);
                    }
                    Op::Remove(id) => prop_assert_eq!(m.remove(id), model.remove(&id)),
                    Op::Bump(id) => {
                        if let Some(v) = m.get_mut(id) {
                            *v += 1;
                        }
                        if let Some(v) = model.get_mut(&id) {
                            *v += 1;
                        }
                    }
                }
                prop_assert_eq!(m.len(), model.len());
            }
            for id in 1..300u64 {
                prop_assert_eq!(m.get(id), model.get(&id));
            }
            let mut all: Vec<(u64, u64)> = m.iter().map(|(k, v)| (k, *v)).collect();
            all.sort_unstable();
            let mut want: Vec<(u64, u64)> = model.into_iter().collect();
            want.sort_unstable();
            prop_assert_eq!(all, want);
            assert_runs_unbroken(&m);
        }
    }
}
