//! A two-level occupancy bitmap over the ticks of a book side's price
//! window: one bit per tick, plus one summary bit per 64-tick word, so the
//! highest or lowest occupied tick is found with a handful of word scans
//! (`WINDOW_TICKS / 4096` summary words, then one word) instead of a search.

/// Bits per word.
const WORD_BITS: usize = 64;

/// Occupancy of `ticks` ticks (a multiple of 4096).
pub(crate) struct LevelBitmap {
    words: Box<[u64]>,
    /// Bit `w` set iff `words[w] != 0`.
    summary: Box<[u64]>,
}

impl LevelBitmap {
    pub fn new(ticks: usize) -> Self {
        assert!(ticks > 0 && ticks.is_multiple_of(WORD_BITS * WORD_BITS), "ticks must be a multiple of 4096");
        let words = ticks / WORD_BITS;
        Self { words: vec![0; words].into_boxed_slice(), summary: vec![0; words / WORD_BITS].into_boxed_slice() }
    }

    #[inline]
    pub fn set(&mut self, tick: usize) {
        let w = tick / WORD_BITS;
        self.words[w] |= 1 << (tick % WORD_BITS);
        self.summary[w / WORD_BITS] |= 1 << (w % WORD_BITS);
    }

    #[inline]
    pub fn clear(&mut self, tick: usize) {
        let w = tick / WORD_BITS;
        self.words[w] &= !(1 << (tick % WORD_BITS));
        if self.words[w] == 0 {
            self.summary[w / WORD_BITS] &= !(1 << (w % WORD_BITS));
        }
    }

    #[cfg(test)]
    pub fn get(&self, tick: usize) -> bool {
        self.words[tick / WORD_BITS] & (1 << (tick % WORD_BITS)) != 0
    }

    /// The highest set tick.
    #[inline]
    pub fn highest(&self) -> Option<usize> {
        let s = self.summary.iter().rposition(|&s| s != 0)?;
        let w = s * WORD_BITS + (WORD_BITS - 1 - self.summary[s].leading_zeros() as usize);
        Some(w * WORD_BITS + (WORD_BITS - 1 - self.words[w].leading_zeros() as usize))
    }

    /// The lowest set tick.
    #[inline]
    pub fn lowest(&self) -> Option<usize> {
        let s = self.summary.iter().position(|&s| s != 0)?;
        let w = s * WORD_BITS + self.summary[s].trailing_zeros() as usize;
        Some(w * WORD_BITS + self.words[w].trailing_zeros() as usize)
    }

    /// Set ticks, highest first if `desc`, else lowest first.
    pub fn iter(&self, desc: bool) -> Ticks<'_> {
        let word = if desc { self.words.len() } else { 0 };
        Ticks { words: &self.words, summary: &self.summary, desc, word, bits: 0 }
    }

    /// Clears every bit.
    pub fn clear_all(&mut self) {
        self.words.fill(0);
        self.summary.fill(0);
    }
}

/// Set ticks of a [`LevelBitmap`] in one direction (no allocation: it walks
/// the words in place, and the summary skips empty words, so reaching the best
/// tick of a window whose levels sit far from its edge costs a few word scans,
/// not one per 64 empty ticks).
pub(crate) struct Ticks<'a> {
    words: &'a [u64],
    summary: &'a [u64],
    desc: bool,
    /// Descending: the next word to load is `word - 1`; ascending: `word`.
    word: usize,
    /// Bits of the current word not yet returned.
    bits: u64,
}

impl Iterator for Ticks<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.bits == 0 {
            if self.desc {
                self.word = non_empty_below(self.summary, self.word)?;
                self.bits = self.words[self.word];
            } else {
                let w = non_empty_from(self.summary, self.word)?;
                self.bits = self.words[w];
                self.word = w + 1;
            }
            debug_assert!(self.bits != 0, "a summary bit is set only for a non-empty word");
        }
        if self.desc {
            let b = WORD_BITS - 1 - self.bits.leading_zeros() as usize;
            self.bits &= !(1 << b);
            Some(self.word * WORD_BITS + b)
        } else {
            let b = self.bits.trailing_zeros() as usize;
            self.bits &= self.bits - 1;
            Some((self.word - 1) * WORD_BITS + b)
        }
    }
}

/// The highest non-empty word below `end`, by the summary.
#[inline]
fn non_empty_below(summary: &[u64], end: usize) -> Option<usize> {
    let last = end.checked_sub(1)?;
    let mut s = last / WORD_BITS;
    // Bits 0..=last % 64 of the first summary word.
    let mut bits = summary[s] & (u64::MAX >> (WORD_BITS - 1 - last % WORD_BITS));
    while bits == 0 {
        s = s.checked_sub(1)?;
        bits = summary[s];
    }
    Some(s * WORD_BITS + (WORD_BITS - 1 - bits.leading_zeros() as usize))
}

/// The lowest non-empty word at or above `start`, by the summary.
#[inline]
fn non_empty_from(summary: &[u64], start: usize) -> Option<usize> {
    let mut s = start / WORD_BITS;
    let mut bits = summary.get(s)? & (u64::MAX << (start % WORD_BITS));
    while bits == 0 {
        s += 1;
        bits = *summary.get(s)?;
    }
    Some(s * WORD_BITS + bits.trailing_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_lowest_and_iteration_follow_sets_and_clears() {
        let mut b = LevelBitmap::new(8192);
        assert_eq!((b.highest(), b.lowest()), (None, None));
        for t in [0, 63, 64, 4095, 4096, 8191, 700] {
            b.set(t);
        }
        assert_eq!((b.highest(), b.lowest()), (Some(8191), Some(0)));
        assert_eq!(b.iter(true).collect::<Vec<_>>(), vec![8191, 4096, 4095, 700, 64, 63, 0]);
        assert_eq!(b.iter(false).collect::<Vec<_>>(), vec![0, 63, 64, 700, 4095, 4096, 8191]);
        b.clear(8191);
        b.clear(0);
        assert_eq!((b.highest(), b.lowest()), (Some(4096), Some(63)));
        b.clear(63);
        assert!(b.get(64) && !b.get(63));
        assert_eq!(b.lowest(), Some(64));
        for t in [64, 700, 4095, 4096] {
            b.clear(t);
        }
        assert_eq!((b.highest(), b.lowest()), (None, None));
        assert_eq!(b.iter(true).next(), None);
        b.set(5);
        b.clear_all();
        assert_eq!((b.highest(), b.iter(false).next()), (None, None));
    }

    proptest::proptest! {
        /// Iteration in both directions, highest and lowest agree with a sorted set after
        /// any sets and clears (the summary-guided skip must not lose or invent a tick).
        #[test]
        fn iteration_matches_a_sorted_set(ops in proptest::collection::vec((0usize..8192, proptest::bool::ANY), 0..300)) {
            let mut b = LevelBitmap::new(8192);
            let mut model = std::collections::BTreeSet::new();
            for (t, set) in ops {
                if set { b.set(t); model.insert(t); } else { b.clear(t); model.remove(&t); }
                proptest::prop_assert_eq!(b.highest(), model.last().copied());
                proptest::prop_assert_eq!(b.lowest(), model.first().copied());
            }
            proptest::prop_assert_eq!(b.iter(false).collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            proptest::prop_assert_eq!(b.iter(true).collect::<Vec<_>>(), model.iter().rev().copied().collect::<Vec<_>>());
        }
    }
}
