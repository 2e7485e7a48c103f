//! Fee rates per instrument and tier. An account pays its tier's rates, or
//! tier 0's when its tier has none, or nothing when neither is set. Rates
//! are captured on the order when it is placed, so a later schedule change
//! never makes an order owe more than it reserved.

use crate::types::*;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FeeRates {
    pub maker_ppm: FeePpm,
    pub taker_ppm: FeePpm,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FeeSchedule {
    tiers: [Option<FeeRates>; MAX_FEE_TIERS as usize],
}

impl FeeSchedule {
    pub fn set(&mut self, tier: u8, rates: FeeRates) {
        self.tiers[tier as usize] = Some(rates);
    }

    #[inline]
    pub fn rates(&self, tier: u8) -> FeeRates {
        self.tiers.get(tier as usize).copied().flatten().or(self.tiers[0]).unwrap_or_default()
    }

    pub fn tiers(&self) -> &[Option<FeeRates>] {
        &self.tiers
    }
}
