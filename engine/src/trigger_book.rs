//! One instrument's armed conditional orders, by trigger price.
//!
//! Two sides, each a [`BookSide`] of levels priced at trigger prices with the orders in arrival
//! order: `rise` holds the orders that fire when the last trade price rises to their trigger
//! (lowest trigger first, as asks are ordered), `fall` those that fire when it falls to it
//! (highest first, as bids). So the next order to fire is always the head of one side's best
//! level, a trade that fires nothing costs two comparisons, and a cascade fires orders in
//! trigger-price order, then arrival order: the order in which the price passed them.

use crate::book_side::BookSide;
use crate::trailing_book::TrailingBook;
use crate::types::*;

/// Far levels a fresh trigger side reserves (it grows, rarely, beyond).
const INITIAL_FAR_LEVELS_PER_SIDE: usize = 16;

pub(crate) struct TriggerBook {
    pub rise: BookSide,
    pub fall: BookSide,
    /// Trailing stops, whose trigger prices move (see `trailing_book.rs`).
    pub trailing: TrailingBook,
}

impl TriggerBook {
    /// An empty trigger book for trigger prices on `tick`.
    pub fn new(tick: Price) -> Self {
        Self {
            rise: BookSide::new(Side::Sell, tick, INITIAL_FAR_LEVELS_PER_SIDE),
            fall: BookSide::new(Side::Buy, tick, INITIAL_FAR_LEVELS_PER_SIDE),
            trailing: TrailingBook::new(),
        }
    }

    #[inline]
    pub fn side(&self, rise: bool) -> &BookSide {
        if rise {
            &self.rise
        } else {
            &self.fall
        }
    }

    #[inline]
    pub fn side_mut(&mut self, rise: bool) -> &mut BookSide {
        if rise {
            &mut self.rise
        } else {
            &mut self.fall
        }
    }
}

/// Whether an order that fires on a rise (`rise`) or a fall at `trigger_price` fires at `last`.
#[inline]
pub(crate) fn fires(rise: bool, trigger_price: Price, last: Price) -> bool {
    if rise {
        last >= trigger_price
    } else {
        last <= trigger_price
    }
}
