//! Binance's names of order types, conditional ones included: the REST answers and the private
//! stream both use them (a module of its own so neither imports the other for it).

use engine::{ListKind, OrderType, TriggerKind};

/// Binance's order type name of an order of `order_type`, conditional when `trigger` is set.
pub fn type_name(order_type: OrderType, trigger: Option<TriggerKind>) -> &'static str {
    match (trigger, order_type) {
        (None, OrderType::Limit) => "LIMIT",
        (None, OrderType::Market) => "MARKET",
        (Some(TriggerKind::StopLoss), OrderType::Limit) => "STOP_LOSS_LIMIT",
        (Some(TriggerKind::StopLoss), OrderType::Market) => "STOP_LOSS",
        (Some(TriggerKind::TakeProfit), OrderType::Limit) => "TAKE_PROFIT_LIMIT",
        (Some(TriggerKind::TakeProfit), OrderType::Market) => "TAKE_PROFIT",
    }
}

/// Binance's `contingencyType` of an order list: OCO, or OTO for both one-triggers-the-other kinds
/// (Binance answers an OTOCO with OTO as well).
pub fn contingency_type(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Oco => "OCO",
        ListKind::Oto | ListKind::Otoco => "OTO",
    }
}
