//! A perpetual's futures state beside its instrument: risk tiers, the mark price, the last
//! funding the oracle announced, open interest, its holders, and the liquidation index
//! (docs/futures.md, section 8, "The index").
//!
//! The index is two binary heaps of `(key, account)`: longs by the largest key (liquidatable
//! once the mark is at or below it), shorts by the smallest (at or above). A re-key pushes the
//! new key and leaves the old entry behind; an entry counts only while it is its position's
//! current key and the position is flagged as indexed ([`crate::position::Position::indexed`]),
//! so stale entries are dropped when they surface, and the heaps are compacted when stale
//! entries outnumber live ones. Both heaps and the holder list keep their capacity, so once
//! they have grown, nothing here allocates.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::position::Position;
use crate::risk_tier::RiskTiers;
use crate::types::*;

/// Perpetuals per engine: an account's positions are a dense table indexed by perpetual.
pub(crate) const MAX_PERPETUALS: usize = 256;

/// The futures side of one perpetual.
#[derive(Debug, Clone)]
pub(crate) struct PerpMarket {
    /// Its instrument's position in `Engine::instruments`.
    pub ii: u32,
    pub id: InstrumentId,
    pub tiers: RiskTiers,
    pub mark: Price,
    /// The rate of the last funding that gave a next funding time, ppm (0 before one).
    pub funding_rate_ppm: i32,
    /// That funding's next funding time, ns since the Unix epoch (0: none yet). A funding
    /// replayed from a journal written before the field (time 0) leaves both as they were, so a
    /// snapshot of the format before them and a full replay rebuild the same state.
    pub next_funding_time_ns: u64,
    /// Σ long sizes.
    pub open_interest: u64,
    /// Sequence of the last command that changed the open interest (one
    /// `OpenInterestChanged` per command).
    pub oi_seq: Seq,
    /// The open interest before that command (no event if it ends where it started).
    pub oi_before: u64,
    /// Accounts with a position (size ≠ 0), in no order; each position knows its place.
    pub holders: Vec<AccountId>,
    /// Positions whose key is in the index (live entries).
    pub live: u32,
    longs: BinaryHeap<(u64, AccountId)>,
    shorts: BinaryHeap<Reverse<(u64, AccountId)>>,
}

impl PerpMarket {
    pub fn new(ii: u32, id: InstrumentId, mark: Price) -> Self {
        Self {
            ii,
            id,
            tiers: RiskTiers::default(),
            mark,
            funding_rate_ppm: 0,
            next_funding_time_ns: 0,
            open_interest: 0,
            oi_seq: 0,
            oi_before: 0,
            holders: Vec::new(),
            live: 0,
            longs: BinaryHeap::new(),
            shorts: BinaryHeap::new(),
        }
    }

    /// Account `a`'s position now has a size: it joins the holders.
    pub fn add_holder(&mut self, a: AccountId, pos: &mut Position) {
        pos.holder_ix = self.holders.len() as u32;
        self.holders.push(a);
    }

    /// Account `a`'s position is flat: it leaves the holders (the last takes its place, whose
    /// position the caller must update with the returned (account, place)).
    pub fn remove_holder(&mut self, pos: &Position) -> Option<(AccountId, u32)> {
        let ix = pos.holder_ix as usize;
        self.holders.swap_remove(ix);
        self.holders.get(ix).map(|&moved| (moved, ix as u32))
    }

    /// Enters a position's new key (0: none); the old entry, if any, goes stale.
    pub fn index(&mut self, long: bool, key: u64, account: AccountId) {
        if key == 0 {
            return;
        }
        if long {
            self.longs.push((key, account));
        } else {
            self.shorts.push(Reverse((key, account)));
        }
    }

    /// Pops the next entry the mark has crossed (live or stale: `is_live` tells them apart).
    pub fn pop_crossed(&mut self, mut is_live: impl FnMut(bool, u64, AccountId) -> bool) -> Option<AccountId> {
        let mark = self.mark;
        while let Some(&(k, a)) = self.longs.peek() {
            if mark > k {
                break;
            }
            self.longs.pop();
            if is_live(true, k, a) {
                return Some(a);
            }
        }
        while let Some(&Reverse((k, a))) = self.shorts.peek() {
            if mark < k {
                break;
            }
            self.shorts.pop();
            if is_live(false, k, a) {
                return Some(a);
            }
        }
        None
    }

    /// Drops stale entries once they outnumber the live ones (`live` positions are indexed),
    /// in place: the heaps keep their capacity.
    pub fn compact(&mut self, live: usize, mut is_live: impl FnMut(bool, u64, AccountId) -> bool) {
        if self.longs.len() + self.shorts.len() <= 2 * live + 64 {
            return;
        }
        let mut v = std::mem::take(&mut self.longs).into_vec();
        v.retain(|&(k, a)| is_live(true, k, a));
        self.longs = BinaryHeap::from(v);
        let mut v = std::mem::take(&mut self.shorts).into_vec();
        v.retain(|&Reverse((k, a))| is_live(false, k, a));
        self.shorts = BinaryHeap::from(v);
    }
}
