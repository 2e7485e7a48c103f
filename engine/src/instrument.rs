//! An instrument's definition, trading state, reference price and book.

use crate::command::InstrumentSpec;
use crate::fee_schedule::FeeSchedule;
use crate::order_book::OrderBook;
use crate::trigger_book::TriggerBook;
use crate::types::*;

pub(crate) struct Instrument {
    pub spec: InstrumentSpec,
    pub state: InstrumentState,
    /// Last trade price, or the spec's reference price until the first trade.
    pub reference_price: Price,
    pub book: OrderBook,
    /// Armed conditional orders by trigger price (never in market data), fired by the last
    /// trade price.
    pub triggers: TriggerBook,
    /// A perpetual's armed orders fired by its mark price (`SetMarkPrice`), the same structure
    /// keyed the same way (docs/futures.md, "Mark-price triggers"); empty on a spot instrument
    /// and without trailing stops.
    pub mark_triggers: TriggerBook,
    /// Fee rates per tier (risk mode).
    pub fees: FeeSchedule,
    /// Its index in `Engine::perps` if it is a perpetual, else [`NO_PERP`].
    pub perp: u32,
}

/// [`Instrument::perp`] of a spot instrument.
pub(crate) const NO_PERP: u32 = u32::MAX;

impl Instrument {
    /// The trigger book of the orders that watch `source`.
    #[inline]
    pub fn triggers_of(&self, source: TriggerSource) -> &TriggerBook {
        match source {
            TriggerSource::LastPrice => &self.triggers,
            TriggerSource::MarkPrice => &self.mark_triggers,
        }
    }

    #[inline]
    pub fn triggers_of_mut(&mut self, source: TriggerSource) -> &mut TriggerBook {
        match source {
            TriggerSource::LastPrice => &mut self.triggers,
            TriggerSource::MarkPrice => &mut self.mark_triggers,
        }
    }

    /// Whether the notional `floor(price * qty / qty_scale)` is below the
    /// minimum. Compared as `price * qty < min_notional * qty_scale` (exact for
    /// integers) to avoid a 128-bit division on the hot path.
    #[inline]
    pub fn below_min_notional(&self, price: Price, qty: Qty) -> bool {
        (price as u128 * qty as u128) < self.spec.min_notional as u128 * self.spec.qty_scale as u128
    }

    /// Whether `price` is a multiple of the tick. Most instruments' tick or
    /// lot is 1 in some unit, and a 64-bit division costs tens of cycles.
    #[inline]
    pub fn on_tick(&self, price: Price) -> bool {
        self.spec.tick == 1 || price.is_multiple_of(self.spec.tick)
    }

    /// Whether `qty` is a multiple of the lot (see [`Self::on_tick`]).
    #[inline]
    pub fn on_lot(&self, qty: Qty) -> bool {
        self.spec.lot == 1 || qty.is_multiple_of(self.spec.lot)
    }

    /// Whether `price` lies inside the band around the reference price.
    #[inline]
    pub fn in_band(&self, price: Price) -> bool {
        let r = self.reference_price as u128;
        let diff = (price as u128).abs_diff(r);
        diff * 10_000 <= r * self.spec.price_band_bps as u128
    }

    /// The limit an order of `order_type` with limit `price` matches (and is funded) up to: its
    /// own price, or for a market order the market-order limit at the current reference price.
    #[inline]
    pub fn order_limit(&self, order_type: OrderType, side: Side, price: Price) -> Price {
        match order_type {
            OrderType::Limit => price,
            OrderType::Market => self.market_limit(side),
        }
    }

    /// The worst price a market order may reach on `side`.
    pub fn market_limit(&self, side: Side) -> Price {
        let r = self.reference_price as u128;
        let bps = self.spec.price_band_bps as u128;
        let tick = self.spec.tick as u128;
        match side {
            Side::Buy => {
                let p = r * (10_000 + bps) / 10_000 / tick * tick;
                p.min(u64::MAX as u128 / tick * tick) as Price
            }
            Side::Sell => {
                let p = (r * 10_000u128.saturating_sub(bps)).div_ceil(10_000).div_ceil(tick) * tick;
                p.max(tick) as Price
            }
        }
    }
}
