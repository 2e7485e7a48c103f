//! One side of an order book: its price levels sorted so that the best level
//! is the last element. Best price is O(1); the touch, where almost all
//! activity happens, is at the end of the vector so inserts and removals
//! there move few elements; a lookup is a binary search over 16-byte entries.

use crate::types::*;

/// A level in sort order: `key` orders levels so the best is greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LevelRef {
    pub key: u64,
    pub level: u32,
}

/// The levels of one side.
pub(crate) struct BookSide {
    side: Side,
    /// Ascending by key; best level last.
    levels: Vec<LevelRef>,
}

impl BookSide {
    pub fn new(side: Side, initial_levels: usize) -> Self {
        Self { side, levels: Vec::with_capacity(initial_levels) }
    }

    /// Bids: higher price is better; asks: lower price is better. Mapping both
    /// to "greater key is better" lets one sorted vector serve both sides.
    #[inline]
    fn key(&self, price: Price) -> u64 {
        match self.side {
            Side::Buy => price,
            Side::Sell => !price,
        }
    }

    #[inline]
    pub fn best(&self) -> Option<u32> {
        self.levels.last().map(|l| l.level)
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Position of `price` (Ok) or where it would be inserted (Err).
    /// Searches from the touch first: most orders land near the best price.
    #[inline]
    fn search(&self, price: Price) -> Result<usize, usize> {
        let key = self.key(price);
        let n = self.levels.len();
        // Fast path: at or beyond the touch.
        if n == 0 || key > self.levels[n - 1].key {
            return Err(n);
        }
        if key == self.levels[n - 1].key {
            return Ok(n - 1);
        }
        self.levels.binary_search_by(|l| l.key.cmp(&key))
    }

    /// The level at `price`, if any.
    #[inline]
    pub fn find(&self, price: Price) -> Option<u32> {
        self.search(price).ok().map(|i| self.levels[i].level)
    }

    /// Inserts a level that must not exist yet. May grow the vector (rarely:
    /// it only grows past the deepest book seen so far).
    #[inline]
    pub fn insert(&mut self, price: Price, level: u32) {
        match self.search(price) {
            Ok(_) => unreachable!("level already present"),
            Err(i) => self.levels.insert(i, LevelRef { key: self.key(price), level }),
        }
    }

    /// Removes the level at `price`, which must exist.
    #[inline]
    pub fn remove(&mut self, price: Price) {
        let n = self.levels.len();
        if n > 0 && self.levels[n - 1].key == self.key(price) {
            self.levels.pop();
            return;
        }
        match self.search(price) {
            Ok(i) => {
                self.levels.remove(i);
            }
            Err(_) => unreachable!("removing a level that is not there"),
        }
    }

    /// Replaces the levels with `best_first` (price, level), which the caller
    /// (snapshot restore) checked is strictly ordered best to worst. O(n),
    /// where inserting one by one would be O(n^2) for deep books.
    pub fn set_best_first(&mut self, best_first: &[(Price, u32)]) {
        self.levels.clear();
        self.levels.reserve(best_first.len());
        for &(price, level) in best_first.iter().rev() {
            let key = self.key(price);
            self.levels.push(LevelRef { key, level });
        }
    }

    /// Levels from best to worst.
    pub fn iter_best_first(&self) -> impl Iterator<Item = u32> + '_ {
        self.levels.iter().rev().map(|l| l.level)
    }
}
