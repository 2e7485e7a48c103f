//! The order a cancel or an amend will most likely find, as a prefetch stage guessed it: handed
//! from [`crate::Engine::prefetch_order`] to [`crate::Engine::prefetch_neighbours`] by a
//! [`crate::Prefetcher`].

use crate::order_pool::{Slot, NIL};

/// A slot [`crate::Engine::prefetch_order`] guessed a cancel or an amend will find: the third stage's
/// input. Opaque; [`OrderGuess::NONE`] for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderGuess(pub(crate) Slot);

impl OrderGuess {
    /// No guess (not a cancel or an amend, or nothing in the index line).
    pub const NONE: OrderGuess = OrderGuess(NIL);
}
