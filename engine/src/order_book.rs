//! The two sides of one instrument's book.

use crate::book_side::BookSide;
use crate::types::*;

/// Far levels (outside the price window) a fresh book side reserves; the
/// vector grows (rarely) beyond it.
const INITIAL_FAR_LEVELS_PER_SIDE: usize = 64;

pub(crate) struct OrderBook {
    pub bids: BookSide,
    pub asks: BookSide,
}

impl OrderBook {
    /// An empty book for prices on `tick`.
    pub fn new(tick: Price) -> Self {
        Self {
            bids: BookSide::new(Side::Buy, tick, INITIAL_FAR_LEVELS_PER_SIDE),
            asks: BookSide::new(Side::Sell, tick, INITIAL_FAR_LEVELS_PER_SIDE),
        }
    }

    #[inline]
    pub fn side(&self, side: Side) -> &BookSide {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    #[inline]
    pub fn side_mut(&mut self, side: Side) -> &mut BookSide {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }
}

/// Whether an order on `side` with limit `limit` trades against a resting
/// order at `resting_price`.
#[inline]
pub(crate) fn crosses(side: Side, limit: Price, resting_price: Price) -> bool {
    match side {
        Side::Buy => resting_price <= limit,
        Side::Sell => resting_price >= limit,
    }
}
