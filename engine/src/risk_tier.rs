//! A perpetual's risk tiers (Binance's leverage brackets) and the margin arithmetic that reads
//! them (docs/futures.md, sections 1, 2 and 8). Every amount is computed exactly in i128 and
//! rounded once, in the direction the spec's table gives: against the account, toward the
//! exchange side.

use crate::command::SetRiskTier;

/// One million: ppm denominator, as i128.
pub(crate) const PPM: i128 = 1_000_000;
/// Tiers per perpetual.
pub(crate) const MAX_RISK_TIERS: usize = 16;
/// The leverage of an account that never set one (capped by tier 0's maximum).
pub(crate) const DEFAULT_LEVERAGE: u32 = 20;
/// Positions, prices and marks stay below this so every product below fits in i128.
pub(crate) const MAX_PERP_VALUE: u64 = 1 << 48;
/// Tier notionals and maintenance amounts stay below this. F2 bounds a position's notional at
/// every price it opens at by the cap, so its basis, a sum of such fills, stays under ~34 caps
/// (the fills' harmonic bound over sizes below 2^48): 2^56 keeps it within i64 with room.
pub(crate) const MAX_TIER_NOTIONAL: u64 = 1 << 56;
/// Total of the margin asset paid in (and so any one futures wallet) stays at or below this.
pub(crate) const MAX_FUTURES_WALLET: u64 = i64::MAX as u64 / 4;
/// Largest `qty_scale` of a perpetual.
pub(crate) const MAX_PERP_QTY_SCALE: u64 = 1_000_000_000_000;

/// Floor division (toward −∞) by a positive divisor. Most operands fit in 64 bits, where the
/// division is a machine instruction rather than a 128-bit library call.
#[inline]
pub(crate) fn floor_div(a: i128, b: i128) -> i128 {
    debug_assert!(b > 0);
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) => a.div_euclid(b) as i128,
        _ => a.div_euclid(b),
    }
}

/// Ceiling division (toward +∞) by a positive divisor.
#[inline]
pub(crate) fn ceil_div(a: i128, b: i128) -> i128 {
    -floor_div(-a, b)
}

/// One tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RiskTier {
    pub max_notional: u64,
    pub max_leverage: u32,
    pub mmr_ppm: u32,
    pub maint_amount: u64,
}

/// A perpetual's tiers, in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RiskTiers {
    tiers: [RiskTier; MAX_RISK_TIERS],
    count: u8,
}

impl RiskTiers {
    /// The tiers so far.
    #[inline]
    pub fn as_slice(&self) -> &[RiskTier] {
        &self.tiers[..self.count as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether `t` is a valid next tier: in order, continuous (Binance's `cum`), and with
    /// initial margin above maintenance margin at its highest leverage.
    pub fn accepts(&self, t: &SetRiskTier) -> bool {
        let n = self.count as usize;
        if t.index as usize != n
            || n == MAX_RISK_TIERS
            || t.max_leverage == 0
            || t.max_notional == 0
            || t.max_notional > MAX_TIER_NOTIONAL
            || t.maint_amount > MAX_TIER_NOTIONAL
            || t.mmr_ppm == 0
            || t.mmr_ppm as i128 * t.max_leverage as i128 >= PPM
        {
            return false;
        }
        match self.as_slice().last() {
            None => t.maint_amount == 0,
            Some(prev) => {
                let step = prev.max_notional as i128 * (t.mmr_ppm as i128 - prev.mmr_ppm as i128);
                t.max_notional > prev.max_notional
                    && t.max_leverage <= prev.max_leverage
                    && t.mmr_ppm >= prev.mmr_ppm
                    && step % PPM == 0
                    && t.maint_amount as i128 == prev.maint_amount as i128 + step / PPM
            }
        }
    }

    pub fn push(&mut self, t: &SetRiskTier) {
        debug_assert!(self.accepts(t));
        self.tiers[self.count as usize] = RiskTier {
            max_notional: t.max_notional,
            max_leverage: t.max_leverage,
            mmr_ppm: t.mmr_ppm,
            maint_amount: t.maint_amount,
        };
        self.count += 1;
    }

    /// Tier 0's maximum leverage (0 without tiers).
    pub fn max_leverage(&self) -> u32 {
        self.as_slice().first().map_or(0, |t| t.max_leverage)
    }

    /// The leverage in force for a setting (0: the default).
    #[inline]
    pub fn leverage(&self, set: u32) -> u32 {
        if set != 0 {
            set
        } else {
            self.max_leverage().clamp(1, DEFAULT_LEVERAGE)
        }
    }

    /// The largest position notional allowed at leverage `l` (None: above every tier).
    pub fn cap(&self, l: u32) -> Option<u64> {
        self.as_slice().iter().filter(|t| t.max_leverage >= l).map(|t| t.max_notional).max()
    }

    /// Maintenance margin × s × 1e6 of a position of `qty` at `mark`, exact: the largest tier
    /// line (continuity makes it the bracket's "notional × rate − cum"), at least 0.
    #[inline]
    pub fn mm_num(&self, qty: i128, mark: u64, s: i128) -> i128 {
        let n = qty * mark as i128;
        let mut best = 0;
        for t in self.as_slice() {
            best = best.max(n * t.mmr_ppm as i128 - s * PPM * t.maint_amount as i128);
        }
        best
    }

    /// The mark at and beyond which `k + floor(upnl − mm) ≤ 0` for a position of signed `size`
    /// and basis `cost`: the largest such mark for a long, the smallest for a short (0: none, or
    /// beyond u64). docs/futures.md, "Liquidation price".
    pub fn threshold(&self, size: i64, cost: i64, k: i128, s: i128) -> u64 {
        let (q, c) = (size.unsigned_abs() as i128, cost as i128);
        if q == 0 {
            return 0;
        }
        let key = if size > 0 {
            let mut best: Option<i128> = None;
            for t in self.as_slice() {
                let big_t = PPM * s * (c - t.maint_amount as i128 + 1 - k);
                if big_t > 0 {
                    let m = floor_div(big_t - 1, q * (PPM - t.mmr_ppm as i128));
                    if m >= 1 {
                        best = Some(best.map_or(m, |b| b.max(m)));
                    }
                }
            }
            best
        } else {
            self.as_slice()
                .iter()
                .map(|t| {
                    let big_t = PPM * s * (c + t.maint_amount as i128 - 1 + k);
                    (floor_div(big_t, q * (PPM + t.mmr_ppm as i128)) + 1).max(1)
                })
                .min()
        };
        match key {
            Some(m) if m <= u64::MAX as i128 => m as u64,
            _ => 0,
        }
    }
}

/// The cash of `q` at `price` on `side` of a fill (section 1): the buyer pays
/// `ceil(price·q/s)`, the seller receives `floor(price·q/s)`; the difference is the exchange's.
#[inline]
pub(crate) fn trade_cash(side: crate::types::Side, price: u64, q: u64, s: i128) -> i128 {
    let pq = price as i128 * q as i128;
    match side {
        crate::types::Side::Buy => ceil_div(pq, s),
        crate::types::Side::Sell => floor_div(pq, s),
    }
}

/// Unrealised PnL × s of a position at `mark` (exact).
#[inline]
pub(crate) fn upnl_num(size: i64, cost: i64, mark: u64, s: i128) -> i128 {
    let signed_cost = if size > 0 { cost as i128 } else { -(cost as i128) };
    size as i128 * mark as i128 - s * signed_cost
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> RiskTiers {
        let mut t = RiskTiers::default();
        for (i, (n, l, r, a)) in [
            (5_000_000u64, 125u32, 4_000u32, 0u64),
            (25_000_000, 100, 5_000, 5_000),
            (100_000_000, 50, 10_000, 130_000),
        ]
        .into_iter()
        .enumerate()
        {
            let c = SetRiskTier {
                instrument: 1,
                index: i as u8,
                max_leverage: l,
                mmr_ppm: r,
                max_notional: n,
                maint_amount: a,
            };
            assert!(t.accepts(&c), "tier {i}");
            t.push(&c);
        }
        t
    }

    #[test]
    fn binance_brackets_are_continuous_and_a_gap_is_not() {
        let t = btc();
        let bad = SetRiskTier {
            instrument: 1,
            index: 3,
            max_leverage: 20,
            mmr_ppm: 25_000,
            max_notional: 200_000_000,
            maint_amount: 1,
        };
        assert!(!t.accepts(&bad));
        assert!(t.accepts(&SetRiskTier { maint_amount: 130_000 + 1_500_000, ..bad }));
    }

    #[test]
    fn liquidation_price_of_example_8() {
        // docs/futures.md example 8: 1,000 long from 6,000,000 with 297,000 isolated.
        let t = btc();
        assert_eq!(t.threshold(1000, 6_000_000, 297_000, 1000), 5_726_634);
        assert_eq!(t.mm_num(1000, 6_000_000, 1000), 30_000 * 1000 * PPM - 1000 * PPM * 5_000);
    }
}
