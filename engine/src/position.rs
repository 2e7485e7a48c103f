//! One account's position on one perpetual (one-way mode), its margin settings, and the
//! aggregates of its resting orders there that order margin is computed from in O(1)
//! (docs/futures.md, sections 3 and 5).

use crate::risk_tier::{ceil_div, floor_div};
use crate::types::*;

/// [`Position::indexed`]: the key is in the long heap.
pub(crate) const INDEXED_LONG: u8 = 1;
/// [`Position::indexed`]: the key is in the short heap.
pub(crate) const INDEXED_SHORT: u8 = 2;

/// The non-reduce-only resting orders of one side: open quantity and Σ price × leaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OpenSide {
    pub qty: u64,
    pub notional: u128,
}

/// A position and the account's settings on its perpetual.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// Signed size in qty units: > 0 long, < 0 short.
    pub size: i64,
    /// Cost basis: what a long paid, what a short received (0 when flat).
    pub cost: i64,
    /// Realised PnL since the record exists.
    pub realised: i64,
    /// Isolated margin (0 in cross mode).
    pub iso: i64,
    /// Leverage set (0: the default).
    pub leverage: u32,
    pub isolated: bool,
    /// Liquidation index key as of the last re-key (0: none).
    pub key: u64,
    /// Which heap holds the key, not popped as crossed since: 0 none, [`INDEXED_LONG`] or
    /// [`INDEXED_SHORT`].
    pub indexed: u8,
    /// Its place in its perpetual's holder list while its size is not 0.
    pub holder_ix: u32,
    /// Non-reduce-only resting orders, [buy, sell].
    pub open: [OpenSide; 2],
    /// Resting orders of the account here, reduce-only included.
    pub orders: u32,
    /// At least the leaves of its largest resting reduce-only order per side, [buy, sell] (exact
    /// after a sweep looked at them): a fill that leaves a side's closable quantity at or above
    /// it cannot make one of them too large, and the sweep skips the position.
    pub ro_bound: [Qty; 2],
    /// Sequence of the last command that changed it (coalesced `PositionChanged`).
    pub touched_seq: Seq,
    /// Sequence of the last command that shrank what one of its sides can close (the
    /// reduce-only sweep checks only those).
    pub shrank_seq: Seq,
}

#[inline]
pub(crate) fn side_ix(side: Side) -> usize {
    (side == Side::Sell) as usize
}

#[inline]
pub(crate) fn side_sign(side: Side) -> i64 {
    match side {
        Side::Buy => 1,
        Side::Sell => -1,
    }
}

/// The side that reduces a position of this signed size.
#[inline]
pub(crate) fn closing_side(size: i64) -> Side {
    if size > 0 {
        Side::Sell
    } else {
        Side::Buy
    }
}

/// What an order of `side` can close of a position of signed `size`.
#[inline]
pub(crate) fn closable(size: i64, side: Side) -> u64 {
    match side {
        Side::Buy => (-size).max(0) as u64,
        Side::Sell => size.max(0) as u64,
    }
}

impl Position {
    /// Holds nothing and sets nothing (what a record that was never used holds; bookkeeping
    /// aside, a blank record is the same state as no record).
    pub fn is_blank(&self) -> bool {
        Position { touched_seq: 0, shrank_seq: 0, holder_ix: 0, indexed: 0, ro_bound: [0; 2], ..*self }
            == Position::default()
    }

    /// Applies a fill of `q` at `price` costing/paying `cash` (section 3): returns (realised PnL,
    /// the cash of the part that opened or increased the position).
    pub fn apply_fill(&mut self, side: Side, q: u64, price: Price, cash: i64, s: i128) -> (i64, i64) {
        let z = self.size;
        let sign = side_sign(side);
        let q = q as i64;
        let q_close = if z * sign < 0 { q.min(z.abs()) } else { 0 };
        let q_open = q - q_close;
        let cash_close = if q_close == q {
            cash
        } else if q_close == 0 {
            0
        } else {
            crate::risk_tier::trade_cash(side, price, q_close as u64, s) as i64
        };
        let cash_open = cash - cash_close;
        let mut realised = 0;
        if q_close > 0 {
            // The basis leaves rounded against the trader: a long's up, a short's down.
            let (c, qc, za) = (self.cost as i128, q_close as i128, z.abs() as i128);
            let removed = (if z > 0 { ceil_div(c * qc, za) } else { floor_div(c * qc, za) }) as i64;
            realised = if z > 0 { cash_close - removed } else { removed - cash_close };
            self.cost -= removed;
            self.size += sign * q_close;
            debug_assert!(self.size != 0 || self.cost == 0, "a closed position keeps a basis");
        }
        if q_open > 0 {
            self.cost += cash_open;
            self.size += sign * q_open;
        }
        self.realised += realised;
        (realised, cash_open)
    }

    /// Entry price for display: rounded against the holder.
    pub fn entry_price(&self, s: i128) -> Price {
        match self.size {
            0 => 0,
            z if z > 0 => ceil_div(self.cost as i128 * s, z as i128) as Price,
            z => floor_div(self.cost as i128 * s, -(z as i128)) as Price,
        }
    }
}
