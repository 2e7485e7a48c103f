//! The engine state as snapshot format 4 archived it, before trailing stops: read (and
//! converted) so that an upgrade keeps using the snapshots it has.
//!
//! The field list must stay exactly format 4's (rkyv archives fields in declaration order); a
//! format-4 state has no trailing stops, and its recorded state hash is still `state_hash()` of
//! the converted state (no trailing stops add nothing to the hash).

use rkyv::{Archive, Deserialize, Serialize};

use crate::snapshot::{
    AccountSnapshot, ArmedSnapshot, BalanceSnapshot, CredentialSnapshot, EngineSnapshot, ExpirySnapshot,
    IcebergSnapshot, InstrumentSnapshot, LevelSnapshot, OrderRiskSnapshot, OrderSnapshot,
};
use crate::snapshot_v5::ConfigSnapshotV5;

/// [`EngineSnapshot`] as format 4 archived it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct EngineSnapshotV4 {
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
    pub armed: Vec<ArmedSnapshot>,
    pub clock_ns: u64,
    pub expiries: Vec<ExpirySnapshot>,
    pub icebergs: Vec<IcebergSnapshot>,
}

impl From<EngineSnapshotV4> for EngineSnapshot {
    fn from(s: EngineSnapshotV4) -> EngineSnapshot {
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
            armed: s.armed,
            clock_ns: s.clock_ns,
            expiries: s.expiries,
            icebergs: s.icebergs,
            trailing: Vec::new(),
            trail_tracks: Vec::new(),
            pending: Vec::new(),
            list_members: Vec::new(),
            futures: Default::default(),
        }
    }
}

impl EngineSnapshotV4 {
    /// The format-4 form of a state without trailing stops (`None` if it has some): what a
    /// format-4 writer produced, for tests of the upgrade path.
    pub fn from_current(s: &EngineSnapshot) -> Option<EngineSnapshotV4> {
        if !s.trailing.is_empty() || !s.list_members.is_empty() {
            return None;
        }
        let config = ConfigSnapshotV5::from_current(s)?;
        let s = s.clone();
        Some(EngineSnapshotV4 {
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
            armed: s.armed,
            clock_ns: s.clock_ns,
            expiries: s.expiries,
            icebergs: s.icebergs,
        })
    }
}
