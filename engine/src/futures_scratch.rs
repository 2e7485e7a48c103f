//! Per-command bookkeeping of the futures side: what the command touched (for the coalesced
//! `PositionChanged`/`WalletChanged` events and the re-keys), the liquidation candidates, and
//! scratch space reused from command to command. None of it is state between commands except
//! `by_id`, which is derived from the perpetuals.

use crate::order_pool::Slot;
use crate::types::*;

#[derive(Debug, Default)]
pub(crate) struct FuturesScratch {
    /// The command touched futures state or moved a mark: the end-of-command step runs.
    pub active: bool,
    /// Positions changed by the command, in first-change order.
    pub touched_pos: Vec<(AccountId, u32)>,
    /// Futures wallets changed by the command, in first-change order.
    pub touched_wallet: Vec<AccountId>,
    /// Perpetuals whose open interest the command changed, in first-change order.
    pub oi_changed: Vec<u32>,
    /// Accounts to re-key before the next liquidation check.
    pub dirty: Vec<AccountId>,
    /// Accounts with a crossed key, popped from the index, not checked yet (sorted descending
    /// before each pick, so the smallest is last).
    pub candidates: Vec<AccountId>,
    /// Scratch account list (funding's holders in account order).
    pub accounts: Vec<AccountId>,
    /// Candidates found healthy: re-keyed at the end of the command.
    pub healthy: Vec<AccountId>,
    /// The account being liquidated (its closing fills neither return isolated margin nor
    /// call the fund; the liquidation does both at its end).
    pub liquidating: Option<AccountId>,
    /// Reduce-only orders to check at the end of the command.
    pub sweep: Vec<(OrderId, Slot)>,
    /// Positions whose reduce-only orders the sweep looked at.
    pub checked: Vec<(AccountId, u32)>,
    /// ADL ranking.
    pub ranking: Vec<(std::cmp::Reverse<i128>, AccountId)>,
    /// Perpetual indexes in instrument-id order (derived from `Engine::perps`).
    pub by_id: Vec<u32>,
}
