//! Per-account state inside the engine. Accounts are dense ids indexing a
//! pre-sized table; each holds an intrusive list of its live orders in
//! order-id order (for mass cancel, cancel-on-disconnect and queries), their
//! count (for the per-account limit) and, in risk mode, a dense balance
//! table (one entry per asset) allocated when the account is created.

use crate::order_pool::{Slot, NIL};
use crate::types::*;

/// One asset's balance. `available + reserved` is what the account owns;
/// `reserved` is exactly what its open orders could still spend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Balance {
    pub available: u64,
    pub reserved: u64,
    /// Sequence of the last command that changed it (to coalesce
    /// `BalanceChanged` events to one per command).
    pub touched_seq: Seq,
    /// Strongest reason within that command.
    pub touched_reason: u8,
}

#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub open_orders: u32,
    pub head: Slot,
    pub tail: Slot,
    /// Risk mode: created by a command (or the fee account).
    pub exists: bool,
    pub status: AccountStatus,
    pub tier: u8,
    /// Risk mode: `max_assets` entries once the account exists.
    pub balances: Box<[Balance]>,
}

impl Account {
    pub fn empty() -> Account {
        Account {
            open_orders: 0,
            head: NIL,
            tail: NIL,
            exists: false,
            status: AccountStatus::Active,
            tier: 0,
            balances: Box::new([]),
        }
    }
}
