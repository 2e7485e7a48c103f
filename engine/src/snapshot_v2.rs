//! The engine state as snapshot format 2 archived it, before armed conditional orders: read (and
//! converted) so that an upgrade keeps using the snapshots it has, as with format 1.
//!
//! The field list must stay exactly format 2's (rkyv archives fields in declaration order); a
//! format-2 state has no armed orders, and its recorded state hash is still `state_hash()` of the
//! converted state (no armed orders add nothing to the hash).

use rkyv::{Archive, Deserialize, Serialize};

use crate::snapshot::{
    AccountSnapshot, BalanceSnapshot, CredentialSnapshot, EngineSnapshot, InstrumentSnapshot, LevelSnapshot,
    OrderRiskSnapshot, OrderSnapshot,
};
use crate::snapshot_v5::ConfigSnapshotV5;

/// [`EngineSnapshot`] as format 2 archived it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct EngineSnapshotV2 {
    pub config: ConfigSnapshotV5,
    pub last_seq: u64,
    pub next_order_id: u64,
    pub next_trade_id: u64,
    pub instruments: Vec<InstrumentSnapshot>,
    pub levels: Vec<LevelSnapshot>,
    pub orders: Vec<OrderSnapshot>,
    pub order_risk: Vec<OrderRiskSnapshot>,
    pub accounts: Vec<AccountSnapshot>,
    pub balances: Vec<BalanceSnapshot>,
    pub tx_ids: Vec<u64>,
    pub supply: Vec<u64>,
    pub credentials: Vec<CredentialSnapshot>,
}

impl From<EngineSnapshotV2> for EngineSnapshot {
    fn from(s: EngineSnapshotV2) -> EngineSnapshot {
        EngineSnapshot {
            config: s.config.into(),
            last_seq: s.last_seq,
            next_order_id: s.next_order_id,
            next_trade_id: s.next_trade_id,
            instruments: s.instruments,
            levels: s.levels,
            orders: s.orders,
            order_risk: s.order_risk,
            accounts: s.accounts,
            balances: s.balances,
            tx_ids: s.tx_ids,
            supply: s.supply,
            credentials: s.credentials,
            armed: Vec::new(),
            clock_ns: 0,
            expiries: Vec::new(),
            icebergs: Vec::new(),
            trailing: Vec::new(),
            trail_tracks: Vec::new(),
            pending: Vec::new(),
            list_members: Vec::new(),
            futures: Default::default(),
        }
    }
}

impl EngineSnapshotV2 {
    /// The format-2 form of a state without armed orders (`None` if it has some): what a
    /// format-2 writer produced, for tests of the upgrade path.
    pub fn from_current(s: &EngineSnapshot) -> Option<EngineSnapshotV2> {
        if !s.armed.is_empty() || !s.expiries.is_empty() || !s.icebergs.is_empty() {
            return None;
        }
        let config = ConfigSnapshotV5::from_current(s)?;
        let s = s.clone();
        Some(EngineSnapshotV2 {
            config,
            last_seq: s.last_seq,
            next_order_id: s.next_order_id,
            next_trade_id: s.next_trade_id,
            instruments: s.instruments,
            levels: s.levels,
            orders: s.orders,
            order_risk: s.order_risk,
            accounts: s.accounts,
            balances: s.balances,
            tx_ids: s.tx_ids,
            supply: s.supply,
            credentials: s.credentials,
        })
    }
}
