//! The text each engine enum has in the read side's tables (`docs/read-side.md` lists them).

use engine::{BalanceReason, CancelReason, CommandType, InstrumentState, OrderType, RejectReason, Side, TimeInForce};

/// `buy` | `sell`.
pub fn side(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// `limit` | `market`.
pub fn order_type(t: OrderType) -> &'static str {
    match t {
        OrderType::Limit => "limit",
        OrderType::Market => "market",
    }
}

/// `gtc` | `ioc` | `fok` | `post_only`.
pub fn tif(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Gtc => "gtc",
        TimeInForce::Ioc => "ioc",
        TimeInForce::Fok => "fok",
        TimeInForce::PostOnly => "post_only",
    }
}

/// `user` | `immediate_remainder` | `self_trade` | `mass_cancel` | `instrument_state` |
/// `unfundable` | `fok_cannot_fill` | `post_only_would_take` (those three: a triggered order) |
/// `expired` (good-till-date) | `order_list` (another leg of its order list decided) |
/// `reduce_only` | `liquidation` (perpetuals).
pub fn cancel_reason(r: CancelReason) -> &'static str {
    match r {
        CancelReason::User => "user",
        CancelReason::ImmediateRemainder => "immediate_remainder",
        CancelReason::SelfTrade => "self_trade",
        CancelReason::MassCancel => "mass_cancel",
        CancelReason::InstrumentState => "instrument_state",
        CancelReason::Unfundable => "unfundable",
        CancelReason::FokCannotFill => "fok_cannot_fill",
        CancelReason::PostOnlyWouldTake => "post_only_would_take",
        CancelReason::Expired => "expired",
        CancelReason::OrderList => "order_list",
        CancelReason::ReduceOnly => "reduce_only",
        CancelReason::Liquidation => "liquidation",
    }
}

/// `order` | `cancel` | `trade` | `deposit` | `withdraw` | `wallet_transfer`.
pub fn balance_reason(r: BalanceReason) -> &'static str {
    match r {
        BalanceReason::Order => "order",
        BalanceReason::Cancel => "cancel",
        BalanceReason::Trade => "trade",
        BalanceReason::Deposit => "deposit",
        BalanceReason::Withdraw => "withdraw",
        BalanceReason::WalletTransfer => "wallet_transfer",
    }
}

/// `trading` | `halted` | `cancel_only` | `closed`.
pub fn instrument_state(s: InstrumentState) -> &'static str {
    match s {
        InstrumentState::Trading => "trading",
        InstrumentState::Halted => "halted",
        InstrumentState::CancelOnly => "cancel_only",
        InstrumentState::Closed => "closed",
    }
}

/// `cross` | `isolated`.
pub fn margin_mode(m: engine::MarginMode) -> &'static str {
    match m {
        engine::MarginMode::Cross => "cross",
        engine::MarginMode::Isolated => "isolated",
    }
}

/// `active` | `suspended`.
pub fn account_status(s: engine::AccountStatus) -> &'static str {
    match s {
        engine::AccountStatus::Active => "active",
        engine::AccountStatus::Suspended => "suspended",
    }
}

/// The command type in snake case (`new_order`, `withdraw` ...).
pub fn command(c: CommandType) -> &'static str {
    match c {
        CommandType::NewOrder => "new_order",
        CommandType::Cancel => "cancel",
        CommandType::Amend => "amend",
        CommandType::MassCancel => "mass_cancel",
        CommandType::AddInstrument => "add_instrument",
        CommandType::SetInstrumentState => "set_instrument_state",
        CommandType::CreateAccount => "create_account",
        CommandType::Deposit => "deposit",
        CommandType::Withdraw => "withdraw",
        CommandType::SetAccountStatus => "set_account_status",
        CommandType::SetFeeSchedule => "set_fee_schedule",
        CommandType::QueryAccount => "query_account",
        CommandType::SetCredential => "set_credential",
        CommandType::RevokeCredential => "revoke_credential",
        CommandType::NewStopOrder => "new_stop_order",
        CommandType::NewAdvancedOrder => "new_advanced_order",
        CommandType::AmendTrigger => "amend_trigger",
        CommandType::NewOrderList => "new_order_list",
        CommandType::AddPerpetual => "add_perpetual",
        CommandType::SetRiskTier => "set_risk_tier",
        CommandType::SetLeverage => "set_leverage",
        CommandType::SetMarginMode => "set_margin_mode",
        CommandType::AdjustIsolatedMargin => "adjust_isolated_margin",
        CommandType::MarginDeposit => "margin_deposit",
        CommandType::MarginWithdraw => "margin_withdraw",
        CommandType::MarginDebit => "margin_debit",
        CommandType::WalletTransfer => "wallet_transfer",
        CommandType::SetMarkPrice => "set_mark_price",
        CommandType::ApplyFunding => "apply_funding",
    }
}

/// The reject reason in snake case (`insufficient_balance` ...), from its Rust name.
pub fn reject_reason(r: RejectReason) -> &'static str {
    // One static string per reason, made once.
    static NAMES: std::sync::OnceLock<Vec<(RejectReason, &'static str)>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        RejectReason::ALL.iter().map(|&r| (r, &*Box::leak(snake(&format!("{r:?}")).into_boxed_str()))).collect()
    });
    names.iter().find(|(x, _)| *x == r).map_or("unknown", |(_, s)| s)
}

/// `PriceOffTick` -> `price_off_tick`.
fn snake(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_reasons_are_snake_case_and_distinct() {
        assert_eq!(reject_reason(RejectReason::InsufficientBalance), "insufficient_balance");
        assert_eq!(reject_reason(RejectReason::PriceOffTick), "price_off_tick");
        let mut all: Vec<_> = RejectReason::ALL.iter().map(|&r| reject_reason(r)).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), RejectReason::ALL.len());
        assert_eq!(reject_reason(RejectReason::ReduceOnlyWouldOpen), "reduce_only_would_open");
        assert_eq!(reject_reason(RejectReason::NotMarginAsset), "not_margin_asset");
        assert_eq!(reject_reason(RejectReason::InvalidFundingTime), "invalid_funding_time");
        assert_eq!(reject_reason(RejectReason::NoMarkPrice), "no_mark_price");
    }

    /// Every command type, cancel and balance reason has its own label.
    #[test]
    fn labels_are_distinct() {
        let commands: Vec<_> =
            (1..=u8::MAX).filter_map(protocol::execution::command_type_from_u8).map(command).collect();
        assert_eq!(commands.len(), 29);
        let cancels: Vec<_> = (1..=u8::MAX).filter_map(CancelReason::from_u8).map(cancel_reason).collect();
        assert_eq!(cancels.len(), 12);
        let balances: Vec<_> = (1..=u8::MAX).filter_map(BalanceReason::from_u8).map(balance_reason).collect();
        assert_eq!(balances.len(), 6);
        for mut labels in [commands, cancels, balances] {
            let n = labels.len();
            labels.sort_unstable();
            labels.dedup();
            assert_eq!(labels.len(), n);
        }
        assert_eq!(command(CommandType::ApplyFunding), "apply_funding");
        assert_eq!(cancel_reason(CancelReason::Liquidation), "liquidation");
    }
}
