//! The example perpetual of docs/futures.md's worked examples: BTC-PERP (tick 10, lot 1,
//! `qty_scale` 1000, reference 6,000,000) and Binance's first BTCUSDT leverage brackets. Tests,
//! benches and tools across the workspace build their perpetuals from here, so a worked example
//! and the code that checks it cannot drift apart.

use crate::command::{InstrumentSpec, SetRiskTier};
use crate::types::*;

/// Binance's first three BTCUSDT brackets (docs/futures.md, section 2): (max notional, max
/// leverage, maintenance rate ppm, maintenance amount), in minor units of the margin asset.
pub const BINANCE_BTC_BRACKETS: [(u64, u32, u32, u64); 3] =
    [(5_000_000, 125, 4_000, 0), (25_000_000, 100, 5_000, 5_000), (100_000_000, 50, 10_000, 130_000)];

/// The margin asset (USDT) and the base asset (BTC) of the examples.
pub const EXAMPLE_ASSETS: (AssetId, AssetId) = (1, 2);

/// BTC-PERP as docs/futures.md's examples define it, with instrument id `id`.
pub fn btc_perp_spec(id: InstrumentId) -> InstrumentSpec {
    InstrumentSpec {
        id,
        symbol: InstrumentSpec::symbol_from_str("BTC-PERP").expect("a short symbol"),
        base_asset: EXAMPLE_ASSETS.1,
        quote_asset: EXAMPLE_ASSETS.0,
        tick: 10,
        lot: 1,
        min_qty: 1,
        max_qty: 1_000_000,
        min_notional: 0,
        price_band_bps: 500,
        reference_price: 6_000_000,
        qty_scale: 1_000,
    }
}

/// `SetRiskTier` commands of `brackets` (as [`BINANCE_BTC_BRACKETS`]) on `instrument`, in order.
pub fn risk_tiers(instrument: InstrumentId, brackets: &[(u64, u32, u32, u64)]) -> Vec<SetRiskTier> {
    brackets
        .iter()
        .enumerate()
        .map(|(index, &(max_notional, max_leverage, mmr_ppm, maint_amount))| SetRiskTier {
            instrument,
            index: index as u8,
            max_leverage,
            mmr_ppm,
            max_notional,
            maint_amount,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The brackets are continuous as SetRiskTier requires (else every example would be refused).
    #[test]
    fn the_example_brackets_are_accepted_in_order() {
        let mut tiers = crate::risk_tier::RiskTiers::default();
        for t in risk_tiers(1, &BINANCE_BTC_BRACKETS) {
            assert!(tiers.accepts(&t), "{t:?}");
            tiers.push(&t);
        }
        assert_eq!(btc_perp_spec(3).symbol_str(), "BTC-PERP");
    }
}
