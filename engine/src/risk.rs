//! Reservation and settlement arithmetic (risk mode).
//!
//! Rounding is integer and in the exchange's favour by at most one unit per
//! amount, and it is *cumulative per order*: a buy order has paid, after any
//! number of fills, exactly `ceil(sum(price_i * qty_i) / qty_scale)` quote
//! units, a sell order has received `floor(...)`, and an order's fees are
//! `ceil(sum(cost_increment_i * rate_i) / 1e6)`. Rounding each fill on its
//! own would let a many-fill order spend more than it reserved; rounding
//! cumulatively bounds every order by its reservation, so balances can
//! never go negative. The fee account collects the rounding remainders and
//! fees, and pays maker rebates out of the same trade's taker fee.

use crate::types::*;

/// Risk state of one order (resting in the pool's side table, or an
/// incoming taker in flight).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OrderRisk {
    /// What the order still holds reserved (quote for buys, base for sells).
    pub reserved: u64,
    /// Quote paid (buy) or received (sell) so far.
    pub settled: u64,
    /// Cumulative notional numerator `sum(p*q)` is
    /// `settled * qty_scale - frac` for a buy and `settled * qty_scale + frac` for a sell.
    pub frac: u64,
    /// Fees paid so far.
    pub fee_paid: u64,
    /// Fee numerator `sum(cost_i * rate_i)` is `fee_paid * 1e6 - fee_frac`.
    pub fee_frac: u32,
    /// Rates captured at placement.
    pub maker_ppm: FeePpm,
    pub taker_ppm: FeePpm,
}

#[inline]
fn div_ceil(n: u128, d: u128) -> u128 {
    if n <= u64::MAX as u128 && d <= u64::MAX as u128 {
        (n as u64).div_ceil(d as u64) as u128
    } else {
        n.div_ceil(d)
    }
}

#[inline]
fn div_floor(n: u128, d: u128) -> u128 {
    if n <= u64::MAX as u128 && d <= u64::MAX as u128 {
        (n as u64 / d as u64) as u128
    } else {
        n / d
    }
}

/// Saturating conversion for amounts that validation keeps far below 2^64.
#[inline]
fn sat(v: u128) -> u64 {
    v.min(u64::MAX as u128) as u64
}

impl OrderRisk {
    /// Fresh state for an order with these rates.
    pub fn new(maker_ppm: FeePpm, taker_ppm: FeePpm) -> Self {
        Self { maker_ppm, taker_ppm, ..Self::default() }
    }

    /// The most quote a buy could still spend if its `leaves` all filled at
    /// `limit`, fees at the taker rate included (the rate is never below the
    /// maker rate). Exact for the cumulative rounding rule.
    pub fn buy_requirement(&self, limit: Price, leaves: Qty, qty_scale: u64) -> u64 {
        let pl = limit as u128 * leaves as u128;
        // ceil((settled*s - frac + pl) / s) - settled = ceil((pl - frac) / s)
        let cost = if pl > self.frac as u128 { div_ceil(pl - self.frac as u128, qty_scale as u128) } else { 0 };
        let fee = if self.taker_ppm > 0 {
            let f = cost * self.taker_ppm as u128;
            if f > self.fee_frac as u128 {
                div_ceil(f - self.fee_frac as u128, PPM as u128)
            } else {
                0
            }
        } else {
            0
        };
        sat(cost + fee)
    }

    /// Settles a fill of `qty` at `price` for a buy; returns (quote cost, fee) increments.
    pub fn settle_buy(&mut self, price: Price, qty: Qty, qty_scale: u64, rate: FeePpm) -> (u64, u64) {
        let s = qty_scale as u128;
        let num = self.settled as u128 * s - self.frac as u128 + price as u128 * qty as u128;
        let settled = div_ceil(num, s);
        let cost = settled - self.settled as u128;
        self.frac = (settled * s - num) as u64;
        self.settled = sat(settled);
        let fee = self.charge(cost, rate);
        (sat(cost), fee)
    }

    /// Settles a fill for a sell; returns (quote proceeds, fee) increments.
    pub fn settle_sell(&mut self, price: Price, qty: Qty, qty_scale: u64, rate: FeePpm) -> (u64, u64) {
        let s = qty_scale as u128;
        let num = self.settled as u128 * s + self.frac as u128 + price as u128 * qty as u128;
        let settled = div_floor(num, s);
        let proceeds = settled - self.settled as u128;
        self.frac = (num - settled * s) as u64;
        self.settled = sat(settled);
        let fee = self.charge(proceeds, rate);
        (sat(proceeds), fee)
    }

    /// Cumulative fee at `rate` on a notional increment (0 for rebates, which
    /// are paid separately).
    fn charge(&mut self, notional: u128, rate: FeePpm) -> u64 {
        if rate <= 0 || notional == 0 {
            return 0;
        }
        let num = self.fee_paid as u128 * PPM as u128 - self.fee_frac as u128 + notional * rate as u128;
        let paid = div_ceil(num, PPM as u128);
        let inc = paid - self.fee_paid as u128;
        self.fee_frac = (paid * PPM as u128 - num) as u32;
        self.fee_paid = sat(paid);
        sat(inc)
    }
}

/// A maker rebate on a notional increment: `floor(notional * |rate| / 1e6)`,
/// never more than `cap` (the taker fee of the same trade).
#[inline]
pub(crate) fn rebate(notional: u64, rate: FeePpm, cap: u64) -> u64 {
    if rate >= 0 {
        return 0;
    }
    sat(div_floor(notional as u128 * rate.unsigned_abs() as u128, PPM as u128)).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_small_fills_never_exceed_the_reservation() {
        // qty_scale 2 with odd price*qty: every fill has half a unit to round.
        let mut r = OrderRisk::new(0, 3000);
        let need = r.buy_requirement(3, 10, 2);
        let mut spent = 0;
        for _ in 0..10 {
            let (c, f) = r.settle_buy(3, 1, 2, 3000);
            spent += c + f;
        }
        assert!(spent <= need, "spent {spent} > reserved {need}");
        assert_eq!(r.settled, 15); // exactly ceil(30/2)
    }

    #[test]
    fn requirement_shrinks_by_at_least_what_a_fill_costs() {
        let mut r = OrderRisk::new(-100, 2500);
        for (p, q) in [(7u64, 3u64), (5, 1), (7, 2), (6, 4)] {
            let before = r.buy_requirement(7, 10, 3);
            let (c, f) = r.settle_buy(p, q, 3, 2500);
            let after = r.buy_requirement(7, 10 - q, 3);
            assert!(before >= c + f + after, "{before} < {c} + {f} + {after}");
        }
    }

    #[test]
    fn sell_proceeds_round_down_cumulatively() {
        let mut r = OrderRisk::new(0, 0);
        let mut got = 0;
        for _ in 0..3 {
            got += r.settle_sell(1, 1, 2, 0).0;
        }
        assert_eq!(got, 1); // floor(3/2)
    }

    #[test]
    fn rebates_are_capped_by_the_taker_fee() {
        assert_eq!(rebate(1_000_000, -100, 1000), 100);
        assert_eq!(rebate(1_000_000, -100, 7), 7);
        assert_eq!(rebate(1_000_000, 100, 1000), 0);
    }
}
