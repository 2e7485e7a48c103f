//! One side of an order book: its price levels, best first.
//!
//! Almost every order lands within a few thousand ticks of where the book
//! trades, so levels there live in a window: an array indexed by tick offset
//! from `base_tick`, found, added and removed in O(1), with a
//! [`LevelBitmap`] to find the best level again when the best one empties.
//! Levels outside the window (far prices) live in a vector sorted so that the
//! best is last, searched by bisection, as the whole side used to. The
//! window moves (`rebase`) only while it holds no level, so a level never
//! changes structure while it lives; those far entries that the new window
//! covers move into it. The best level is cached.

use crate::level_bitmap::{LevelBitmap, Ticks};
use crate::order_pool::NIL;
use crate::types::*;

/// Ticks the window covers: 64 KiB of level numbers per side, plus a 2 KiB
/// bitmap, wide enough for the spread of a busy book around its touch.
pub(crate) const WINDOW_TICKS: usize = 1 << 14;

/// The window's first tick when centred on tick `center`. The window never reaches tick
/// `u64::MAX`, so its end (`base + WINDOW_TICKS`) is a tick number too and "in the window" means
/// the same in `slot` and in the range checks (prices near `u64::MAX` do occur in trigger books,
/// whose prices no band limits).
#[inline]
fn window_base(center: u64) -> u64 {
    center.saturating_sub(WINDOW_TICKS as u64 / 2).min(u64::MAX - WINDOW_TICKS as u64)
}

/// A far level in sort order: `key` orders levels so the best is greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LevelRef {
    pub key: u64,
    pub level: u32,
}

/// The levels of one side.
pub(crate) struct BookSide {
    side: Side,
    /// The instrument's tick: window slot `i` holds price `(base_tick + i) * tick`.
    tick: Price,
    base_tick: u64,
    /// Level number per tick of the window, [`NIL`] where there is none.
    window: Box<[u32]>,
    occupied: LevelBitmap,
    window_levels: u32,
    /// Levels outside the window, ascending by key; best last.
    far: Vec<LevelRef>,
    /// The best level ([`NIL`] when the side is empty) and its key.
    best: u32,
    best_key: u64,
}

impl BookSide {
    /// An empty side for prices that are multiples of `tick`; the far vector
    /// reserves `initial_far_levels` (it grows, rarely, beyond).
    pub fn new(side: Side, tick: Price, initial_far_levels: usize) -> Self {
        assert!(tick > 0, "tick must be positive");
        Self {
            side,
            tick,
            base_tick: 0,
            window: vec![NIL; WINDOW_TICKS].into_boxed_slice(),
            occupied: LevelBitmap::new(WINDOW_TICKS),
            window_levels: 0,
            far: Vec::with_capacity(initial_far_levels),
            best: NIL,
            best_key: 0,
        }
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
    fn price_of_key(&self, key: u64) -> Price {
        match self.side {
            Side::Buy => key,
            Side::Sell => !key,
        }
    }

    /// The window slot of `price`, if the window covers it.
    #[inline]
    fn slot(&self, price: Price) -> Option<usize> {
        debug_assert!(price.is_multiple_of(self.tick), "prices on a book are on its tick");
        // A tick of 1 skips the division (tens of cycles).
        let ticks = if self.tick == 1 { price } else { price / self.tick };
        let i = ticks.wrapping_sub(self.base_tick);
        (i < WINDOW_TICKS as u64).then_some(i as usize)
    }

    #[inline]
    pub fn best(&self) -> Option<u32> {
        (self.best != NIL).then_some(self.best)
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.window_levels as usize + self.far.len()
    }

    /// Position of `price` in `far` (Ok) or where it would be inserted (Err).
    /// Searches from the touch first: far levels near the best are the busy ones.
    #[inline]
    fn far_search(&self, price: Price) -> Result<usize, usize> {
        let key = self.key(price);
        let n = self.far.len();
        if n == 0 || key > self.far[n - 1].key {
            return Err(n);
        }
        if key == self.far[n - 1].key {
            return Ok(n - 1);
        }
        self.far.binary_search_by(|l| l.key.cmp(&key))
    }

    /// The level at `price`, if any.
    #[inline]
    pub fn find(&self, price: Price) -> Option<u32> {
        match self.slot(price) {
            Some(i) => {
                let l = self.window[i];
                (l != NIL).then_some(l)
            }
            None => self.far_search(price).ok().map(|i| self.far[i].level),
        }
    }

    /// Inserts a level that must not exist yet. May grow the far vector
    /// (rarely: only past the most far levels seen so far).
    #[inline]
    pub fn insert(&mut self, price: Price, level: u32) {
        if self.slot(price).is_none() && self.window_levels == 0 {
            self.rebase(price / self.tick);
        }
        match self.slot(price) {
            Some(i) => self.window_insert(i, level),
            None => match self.far_search(price) {
                Ok(_) => unreachable!("level already present"),
                Err(i) => self.far.insert(i, LevelRef { key: self.key(price), level }),
            },
        }
        let key = self.key(price);
        if self.best == NIL || key > self.best_key {
            self.best = level;
            self.best_key = key;
        }
    }

    #[inline]
    fn window_insert(&mut self, i: usize, level: u32) {
        debug_assert_eq!(self.window[i], NIL, "level already present");
        self.window[i] = level;
        self.occupied.set(i);
        self.window_levels += 1;
    }

    /// Removes the level at `price`, which must exist.
    #[inline]
    pub fn remove(&mut self, price: Price) {
        match self.slot(price) {
            Some(i) => {
                debug_assert_ne!(self.window[i], NIL, "removing a level that is not there");
                self.window[i] = NIL;
                self.occupied.clear(i);
                self.window_levels -= 1;
            }
            None => match self.far_search(price) {
                Ok(i) => {
                    self.far.remove(i);
                }
                Err(_) => unreachable!("removing a level that is not there"),
            },
        }
        if self.key(price) == self.best_key {
            self.recompute_best();
        }
    }

    /// The best of the window's best level and the far vector's.
    fn recompute_best(&mut self) {
        let in_window = match self.side {
            Side::Buy => self.occupied.highest(),
            Side::Sell => self.occupied.lowest(),
        };
        let window = in_window
            .map(|i| LevelRef { key: self.key((self.base_tick + i as u64) * self.tick), level: self.window[i] });
        let best = match (window, self.far.last().copied()) {
            (Some(w), Some(f)) => Some(if w.key > f.key { w } else { f }),
            (w, f) => w.or(f),
        };
        (self.best, self.best_key) = best.map_or((NIL, 0), |b| (b.level, b.key));
    }

    /// Moves the empty window so that it is centred on tick `center`, and
    /// takes in the far levels it now covers (a contiguous run of `far`,
    /// whose ticks are monotonic in its order).
    fn rebase(&mut self, center: u64) {
        debug_assert_eq!(self.window_levels, 0, "only an empty window moves");
        self.base_tick = window_base(center);
        let (base, end) = (self.base_tick, self.base_tick.saturating_add(WINDOW_TICKS as u64));
        let tick = self.tick;
        let side = self.side;
        let t = |l: &LevelRef| match side {
            Side::Buy => l.key,
            Side::Sell => !l.key,
        } / tick;
        // Bids ascend in tick, asks descend: find the run either way.
        let (a, b) = match side {
            Side::Buy => (self.far.partition_point(|l| t(l) < base), self.far.partition_point(|l| t(l) < end)),
            Side::Sell => (self.far.partition_point(|l| t(l) >= end), self.far.partition_point(|l| t(l) >= base)),
        };
        for j in a..b {
            let l = self.far[j];
            self.window_insert((t(&l) - base) as usize, l.level);
        }
        self.far.drain(a..b);
    }

    /// Replaces the levels with `best_first` (price, level), which the caller
    /// (snapshot restore) checked is strictly ordered best to worst and on
    /// the tick. O(n), where inserting far levels one by one would be O(n^2).
    pub fn set_best_first(&mut self, best_first: &[(Price, u32)]) {
        self.window.fill(NIL);
        self.occupied.clear_all();
        self.window_levels = 0;
        self.far.clear();
        self.far.reserve(best_first.len());
        if let Some(&(best_price, _)) = best_first.first() {
            self.base_tick = window_base(best_price / self.tick);
        }
        for &(price, level) in best_first.iter().rev() {
            match self.slot(price) {
                Some(i) => self.window_insert(i, level),
                None => {
                    let key = self.key(price);
                    self.far.push(LevelRef { key, level });
                }
            }
        }
        self.recompute_best();
    }

    /// Levels from best to worst: the far levels better than the window, the
    /// window's, then the far levels worse than it.
    pub fn iter_best_first(&self) -> impl Iterator<Item = u32> + '_ {
        let (base, end) = (self.base_tick, self.base_tick.saturating_add(WINDOW_TICKS as u64));
        let split = self.far.partition_point(|l| {
            let t = self.price_of_key(l.key) / self.tick;
            match self.side {
                Side::Buy => t < end,
                Side::Sell => t >= base,
            }
        });
        let (worse, better) = self.far.split_at(split);
        let window = WindowLevels { window: &self.window, ticks: self.occupied.iter(self.side == Side::Buy) };
        better.iter().rev().map(|l| l.level).chain(window).chain(worse.iter().rev().map(|l| l.level))
    }
}

/// The window's levels in best-first order.
struct WindowLevels<'a> {
    window: &'a [u32],
    ticks: Ticks<'a>,
}

impl Iterator for WindowLevels<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        self.ticks.next().map(|i| self.window[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A side checked against a sorted list after every step.
    fn check(side: Side, tick: Price, prices: &[(bool, Price)]) {
        let mut s = BookSide::new(side, tick, 4);
        let mut model: Vec<(Price, u32)> = Vec::new();
        for (n, &(add, price)) in prices.iter().enumerate() {
            if add {
                assert_eq!(s.find(price), None);
                s.insert(price, n as u32);
                model.push((price, n as u32));
            } else {
                let l = model.iter().position(|m| m.0 == price).expect("in model");
                assert_eq!(s.find(price), Some(model[l].1));
                s.remove(price);
                model.remove(l);
            }
            model.sort_by_key(|m| if side == Side::Buy { u64::MAX - m.0 } else { m.0 });
            let got: Vec<u32> = s.iter_best_first().collect();
            assert_eq!(got, model.iter().map(|m| m.1).collect::<Vec<_>>(), "after step {n}");
            assert_eq!(s.best(), model.first().map(|m| m.1));
            assert_eq!(s.len(), model.len());
        }
        let mut r = BookSide::new(side, tick, 4);
        r.set_best_first(&model);
        assert_eq!(r.iter_best_first().collect::<Vec<_>>(), s.iter_best_first().collect::<Vec<_>>());
        assert_eq!(r.best(), s.best());
    }

    #[test]
    fn window_and_far_levels_stay_in_price_order() {
        let w = WINDOW_TICKS as u64;
        for side in [Side::Buy, Side::Sell] {
            for tick in [1, 5] {
                let p = |t: u64| t * tick;
                check(
                    side,
                    tick,
                    &[
                        (true, p(100_000)),
                        (true, p(100_000 + w)), // far above
                        (true, p(100_000 - w)), // far below
                        (true, p(100_001)),
                        (true, p(99_999)),
                        (false, p(100_000)),
                        (false, p(100_001)),
                        (false, p(99_999)),         // window empty
                        (true, p(100_000 + w + 3)), // rebase: takes in the far level above
                        (true, p(3)),
                        (true, p(1)),
                        (false, p(100_000 + w)),
                        (false, p(100_000 + w + 3)),
                        (true, p(100_000 + 2 * w)),
                        (false, p(100_000 - w)),
                        (false, p(3)),
                        (false, p(1)),
                        (false, p(100_000 + 2 * w)),
                        (true, p(u64::MAX / tick)),
                        (true, p(u64::MAX / tick - 1)),
                    ],
                );
            }
        }
    }

    /// A window centred at the top of the price range (a trigger book's first level at
    /// `u64::MAX`) must still order the levels inserted after it.
    #[test]
    fn a_window_at_the_top_of_the_price_range_keeps_order() {
        for side in [Side::Buy, Side::Sell] {
            for tick in [1, 5] {
                let top = u64::MAX / tick * tick;
                check(
                    side,
                    tick,
                    &[(true, top), (true, 106 * tick), (true, top - tick), (true, 3 * tick), (false, top)],
                );
            }
        }
    }
}
