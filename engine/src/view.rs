//! Read-only views of the engine's state (resting orders, levels, instruments), as queries and
//! the query-answer events return them.

use crate::command::InstrumentSpec;
use crate::types::*;

/// A resting order, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderView {
    /// Engine order id.
    pub order_id: OrderId,
    /// Client's id.
    pub client_order_id: ClientOrderId,
    /// Owner.
    pub account: AccountId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Limit price.
    pub price: Price,
    /// Total quantity (filled + leaves).
    pub qty: Qty,
    /// Open quantity.
    pub leaves: Qty,
    /// Time in force (GTC or post-only: only these rest).
    pub tif: TimeInForce,
    /// Self-trade prevention mode.
    pub stp: StpMode,
}

/// An armed conditional order, as seen from outside (its `order.price` is the limit price of the
/// order it places on trigger, 0 for market).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArmedView {
    /// The order's own fields.
    pub order: OrderView,
    /// Type of the order placed on trigger.
    pub order_type: OrderType,
    /// Stop-loss or take-profit.
    pub trigger: TriggerKind,
    /// The price that fires it (for a trailing stop, the one it has now).
    pub trigger_price: Price,
    /// A trailing stop's delta (`None`: a fixed trigger).
    pub trailing: Option<Trailing>,
    /// Which price fires it: the last trade price or (perpetuals) the mark.
    pub trigger_source: TriggerSource,
}

/// A price level, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelView {
    /// Price.
    pub price: Price,
    /// Sum of open quantity.
    pub qty: Qty,
    /// Number of orders.
    pub order_count: u32,
}

/// An instrument, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstrumentView {
    /// Definition.
    pub spec: InstrumentSpec,
    /// Trading state.
    pub state: InstrumentState,
    /// Current reference price for the band.
    pub reference_price: Price,
}
