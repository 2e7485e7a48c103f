//! A perpetual's futures state beside its instrument: risk tiers, the mark price, open
//! interest, and the liquidation index (docs/futures.md, section 8, "The index").

use std::collections::BTreeSet;

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
    /// Accounts with a position (size ≠ 0), for funding and auto-deleveraging.
    pub holders: BTreeSet<AccountId>,
    /// Σ long sizes.
    pub open_interest: u64,
    /// `(key, account)` of long positions, liquidatable once the mark is at or below the key.
    pub longs: BTreeSet<(u64, AccountId)>,
    /// `(key, account)` of short positions, liquidatable once the mark is at or above the key.
    pub shorts: BTreeSet<(u64, AccountId)>,
}

impl PerpMarket {
    pub fn new(ii: u32, id: InstrumentId, mark: Price) -> Self {
        Self {
            ii,
            id,
            tiers: RiskTiers::default(),
            mark,
            holders: BTreeSet::new(),
            open_interest: 0,
            longs: BTreeSet::new(),
            shorts: BTreeSet::new(),
        }
    }

    /// Enters a position's key (0: none) into the index.
    pub fn index(&mut self, long: bool, key: u64, account: AccountId) {
        if key != 0 {
            if long { &mut self.longs } else { &mut self.shorts }.insert((key, account));
        }
    }

    /// Takes a position's key out of the index (it may have left already, popped as crossed).
    pub fn unindex(&mut self, long: bool, key: u64, account: AccountId) {
        if key != 0 {
            if long { &mut self.longs } else { &mut self.shorts }.remove(&(key, account));
        }
    }

    /// Pops one key the mark has crossed: its account.
    pub fn pop_crossed(&mut self) -> Option<AccountId> {
        let mark = self.mark;
        if let Some(&(k, a)) = self.longs.last() {
            if mark <= k {
                self.longs.pop_last();
                return Some(a);
            }
        }
        if let Some(&(k, a)) = self.shorts.first() {
            if mark >= k {
                self.shorts.pop_first();
                return Some(a);
            }
        }
        None
    }
}
