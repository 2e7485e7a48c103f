//! One instrument's armed trailing stops (docs/matching.md, "Trailing stops").
//!
//! A trailing stop's trigger follows the best last trade price since it was armed: the highest
//! for one that fires on a fall (a sell), the lowest for one that fires on a rise (a buy). Kept
//! per order, every price move would touch every trailing stop. Instead each side keeps one
//! [`PeakTrack`]: the best price since any arming time is a suffix extreme of the price history,
//! so the orders armed between two consecutive new extremes share it, and a new extreme merges
//! the newest such runs into one (a monotonic stack, O(1) amortised per price). An order keeps
//! only the epoch it was armed in.
//!
//! Orders with the same delta are a [`TrailGroup`], a level of the level pool in arrival order:
//! the oldest has the most extreme peak, so the group's next to fire is its head, whose trigger
//! the group caches. A cached trigger changes only when the head leaves or a new extreme reaches
//! the head's run ([`PeakTrack::observe`] says from which epoch on it merged). The groups of a
//! side are few (at most [`MAX_TRAIL_GROUPS`]); a price move that can fire a side compares each
//! group's cached trigger, one that cannot (a rise, for the sells) compares none.

use std::collections::VecDeque;

use crate::types::*;

/// Distinct trailing deltas per instrument and side: each costs a check per price move.
pub const MAX_TRAIL_GROUPS: usize = 64;

/// One run of arming epochs that share their best price since arming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrackEntry {
    /// First epoch of the run (the run ends where the next entry's starts).
    pub epoch: u64,
    /// Best price since the run's first epoch.
    pub peak: Price,
    /// Live orders armed in the run.
    pub orders: u32,
}

/// The best price since each arming epoch of one side (see the module docs). Entries are oldest
/// first; their peaks strictly decrease (`max`: the side fires on a fall and tracks highs) or
/// increase (tracks lows) towards the newest. Entries left with no orders stay until they are
/// merged or compacted, so removing an order never shifts the queue.
pub(crate) struct PeakTrack {
    max: bool,
    entries: VecDeque<TrackEntry>,
    next_epoch: u64,
    live_entries: usize,
}

impl PeakTrack {
    pub fn new(max: bool) -> Self {
        Self { max, entries: VecDeque::new(), next_epoch: 0, live_entries: 0 }
    }

    #[inline]
    fn beyond(&self, price: Price, peak: Price) -> bool {
        if self.max {
            price > peak
        } else {
            price < peak
        }
    }

    /// A last trade price: every run whose peak it passes now has it as its peak. Returns the
    /// first epoch whose peak it became (every order armed in that epoch or later has it), if
    /// any live order's.
    #[inline]
    pub fn observe(&mut self, price: Price) -> Option<u64> {
        let mut merged: Option<TrackEntry> = None;
        while let Some(top) = self.entries.back() {
            if !self.beyond(price, top.peak) {
                break;
            }
            let t = self.entries.pop_back().expect("checked above");
            if t.orders > 0 {
                self.live_entries -= 1;
            }
            let orders = merged.map_or(0, |m| m.orders) + t.orders;
            merged = Some(TrackEntry { epoch: t.epoch, peak: price, orders });
        }
        let m = merged.filter(|m| m.orders > 0)?;
        self.live_entries += 1;
        self.entries.push_back(m);
        Some(m.epoch)
    }

    /// Arms one order at last trade price `last`; returns its epoch.
    pub fn arm(&mut self, last: Price) -> u64 {
        self.observe(last);
        match self.entries.back_mut() {
            Some(top) if top.peak == last => {
                if top.orders == 0 {
                    self.live_entries += 1;
                }
                top.orders += 1;
                top.epoch
            }
            _ => {
                let epoch = self.next_epoch;
                self.next_epoch += 1;
                self.entries.push_back(TrackEntry { epoch, peak: last, orders: 1 });
                self.live_entries += 1;
                epoch
            }
        }
    }

    #[inline]
    fn entry_index(&self, epoch: u64) -> usize {
        let i = self.entries.partition_point(|e| e.epoch <= epoch);
        debug_assert!(i > 0, "an armed epoch has its entry");
        i - 1
    }

    /// The best price since `epoch` (an epoch [`Self::arm`] returned, with its order still live).
    #[inline]
    pub fn peak(&self, epoch: u64) -> Price {
        self.entries[self.entry_index(epoch)].peak
    }

    /// An order armed in `epoch` left. Empty runs at either end go at once; the queue is compacted
    /// when more than half of it is empty runs, so it stays within twice the live runs.
    pub fn remove(&mut self, epoch: u64) {
        let i = self.entry_index(epoch);
        let e = &mut self.entries[i];
        e.orders -= 1;
        if e.orders > 0 {
            return;
        }
        self.live_entries -= 1;
        while self.entries.back().is_some_and(|e| e.orders == 0) {
            self.entries.pop_back();
        }
        while self.entries.front().is_some_and(|e| e.orders == 0) {
            self.entries.pop_front();
        }
        if self.entries.is_empty() {
            // Epochs are labels only: an empty track starts over, so the state (and its hash)
            // does not depend on what came and went before.
            self.next_epoch = 0;
        }
        if self.entries.len() > 2 * self.live_entries + 8 {
            self.entries.retain(|e| e.orders > 0);
        }
    }

    /// The runs, oldest first (snapshots).
    pub fn entries(&self) -> impl Iterator<Item = &TrackEntry> {
        self.entries.iter()
    }

    /// The epoch the next new run gets (snapshots).
    pub fn next_epoch(&self) -> u64 {
        self.next_epoch
    }

    /// Snapshot restore: the runs as [`Self::entries`] listed them (validated by the caller:
    /// epochs increasing and below `next_epoch`, peaks strictly monotonic, each with orders).
    pub fn restore(&mut self, entries: impl Iterator<Item = TrackEntry>, next_epoch: u64) {
        self.entries.clear();
        self.entries.extend(entries);
        self.live_entries = self.entries.len();
        self.next_epoch = next_epoch;
    }

    /// Whether `peak` may follow `prev` in the queue (restore validation).
    pub fn in_order(&self, prev: Price, peak: Price) -> bool {
        self.beyond(prev, peak)
    }

    pub fn is_empty(&self) -> bool {
        self.live_entries == 0
    }
}

/// The armed trailing stops of one delta on one side, in arrival order (a level of the level
/// pool: `level`'s queue), with its head's epoch and trigger price cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrailGroup {
    pub trailing: Trailing,
    pub level: u32,
    pub head_epoch: u64,
    pub trigger: Price,
}

/// The trailing stops of one side of an instrument.
pub(crate) struct TrailSide {
    pub track: PeakTrack,
    pub groups: Vec<TrailGroup>,
}

impl TrailSide {
    fn new(rise: bool) -> Self {
        // A side that fires on a rise (buys) trails the lows.
        Self { track: PeakTrack::new(!rise), groups: Vec::new() }
    }

    /// The group of `trailing`, if it has orders.
    pub fn group(&self, trailing: Trailing) -> Option<usize> {
        self.groups.iter().position(|g| g.trailing == trailing)
    }

    /// The group whose queue is `level`.
    pub fn group_of_level(&self, level: u32) -> usize {
        self.groups.iter().position(|g| g.level == level).expect("a trailing stop's level is a group")
    }
}

/// Both sides of an instrument's trailing stops.
pub(crate) struct TrailingBook {
    pub rise: TrailSide,
    pub fall: TrailSide,
    /// The last price at which no trailing stop was due (set when a firing check ends and when
    /// one arms). A later price above it can fire only rise-side stops, one below only fall-side
    /// ones (see `Engine::run_triggers`).
    pub checked_price: Price,
}

impl TrailingBook {
    pub fn new() -> Self {
        Self { rise: TrailSide::new(true), fall: TrailSide::new(false), checked_price: 0 }
    }

    #[inline]
    pub fn side(&self, rise: bool) -> &TrailSide {
        if rise {
            &self.rise
        } else {
            &self.fall
        }
    }

    #[inline]
    pub fn side_mut(&mut self, rise: bool) -> &mut TrailSide {
        if rise {
            &mut self.rise
        } else {
            &mut self.fall
        }
    }

    /// Whether no trailing stop is armed on either side.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.rise.groups.is_empty() && self.fall.groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The track against a full recomputation: the best of every price since each arming.
    #[test]
    fn track_matches_running_extremes() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for max in [true, false] {
            let mut track = PeakTrack::new(max);
            let mut live: Vec<(u64, Price)> = Vec::new(); // (epoch, exact peak)
            let mut price = 1_000;
            for _ in 0..20_000 {
                match next() % 4 {
                    0 => {
                        let e = track.arm(price);
                        live.push((e, price));
                    }
                    1 if !live.is_empty() => {
                        let (e, _) = live.swap_remove((next() % live.len() as u64) as usize);
                        track.remove(e);
                    }
                    _ => {
                        price = (price as i64 + (next() % 21) as i64 - 10).max(1) as Price;
                        track.observe(price);
                        for (_, p) in &mut live {
                            *p = if max { (*p).max(price) } else { (*p).min(price) };
                        }
                    }
                }
                for &(e, p) in &live {
                    assert_eq!(track.peak(e), p);
                }
                assert!(track.entries.len() <= 2 * live.len() + 9);
            }
        }
    }

    #[test]
    fn trigger_rounding_is_never_nearer_than_the_delta() {
        let t = |delta, unit| Trailing { delta, unit };
        assert_eq!(t(3, TrailUnit::Ticks).trigger_price(false, 1_000, 5), 985);
        assert_eq!(t(3, TrailUnit::Ticks).trigger_price(true, 1_000, 5), 1_015);
        // 1% of 1,005 is 10.05: a sell triggers at 994.95, rounded down to 990; a buy at
        // 1,015.05, rounded up to 1,020.
        assert_eq!(t(100, TrailUnit::Bps).trigger_price(false, 1_005, 5), 990);
        assert_eq!(t(100, TrailUnit::Bps).trigger_price(true, 1_005, 5), 1_020);
        assert_eq!(t(300, TrailUnit::Ticks).trigger_price(false, 1_000, 5), 0);
        assert_eq!(t(1, TrailUnit::Ticks).trigger_price(true, Price::MAX - 1, 1), Price::MAX);
    }
}
