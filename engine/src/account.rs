//! Per-account state inside the engine. Accounts are dense ids indexing a
//! pre-sized table; each holds an intrusive list of its live orders in
//! order-id order (for mass cancel, cancel-on-disconnect and queries) and
//! their count (for the per-account limit).

use crate::order_pool::{Slot, NIL};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Account {
    pub open_orders: u32,
    pub head: Slot,
    pub tail: Slot,
}

impl Account {
    pub const EMPTY: Account = Account { open_orders: 0, head: NIL, tail: NIL };
}
