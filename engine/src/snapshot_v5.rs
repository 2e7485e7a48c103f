//! The engine state as snapshot format 5 archived it, before the perpetual futures: read (and
//! converted) so that an upgrade keeps using the snapshots it has. Also the engine config as
//! formats 1 to 5 archived it (before the insurance fund and oracle accounts), which every older
//! format's struct embeds.
//!
//! The field lists must stay exactly format 5's (rkyv archives fields in declaration order); a
//! format-5 state has no futures state and names no insurance or oracle account (matchd skipped
//! snapshots once a perpetual existed), and its recorded state hash is still `state_hash()` of
//! the converted state (no perpetuals add nothing to the hash).

use rkyv::{Archive, Deserialize, Serialize};

use crate::config::NO_ACCOUNT;
use crate::snapshot::futures::FuturesSnapshot;
use crate::snapshot::{
    AccountSnapshot, ArmedSnapshot, BalanceSnapshot, ConfigSnapshot, CredentialSnapshot, EngineSnapshot,
    ExpirySnapshot, IcebergSnapshot, InstrumentSnapshot, LevelSnapshot, ListMemberSnapshot, OrderRiskSnapshot,
    OrderSnapshot, PendingSnapshot, TrailTrackSnapshot, TrailingSnapshot,
};

/// [`ConfigSnapshot`] as formats 1 to 5 archived it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ConfigSnapshotV5 {
    pub max_orders: u32,
    pub max_instruments: u32,
    pub max_accounts: u32,
    pub max_open_orders_per_account: u32,
    pub risk_checks: bool,
    pub max_assets: u32,
    pub fee_account: u32,
    pub max_transactions: u32,
}

impl From<ConfigSnapshotV5> for ConfigSnapshot {
    /// No insurance fund and no oracle: those formats had neither.
    fn from(c: ConfigSnapshotV5) -> ConfigSnapshot {
        ConfigSnapshot {
            max_orders: c.max_orders,
            max_instruments: c.max_instruments,
            max_accounts: c.max_accounts,
            max_open_orders_per_account: c.max_open_orders_per_account,
            risk_checks: c.risk_checks,
            max_assets: c.max_assets,
            fee_account: c.fee_account,
            max_transactions: c.max_transactions,
            insurance_account: NO_ACCOUNT,
            oracle_account: NO_ACCOUNT,
        }
    }
}

impl ConfigSnapshotV5 {
    /// The config of a state an older format can hold (`None` if it has futures state or its
    /// config names an insurance fund or an oracle account): for tests of the upgrade path.
    pub fn from_current(s: &EngineSnapshot) -> Option<ConfigSnapshotV5> {
        let c = &s.config;
        if !s.futures.is_empty() || c.insurance_account != NO_ACCOUNT || c.oracle_account != NO_ACCOUNT {
            return None;
        }
        Some(ConfigSnapshotV5 {
            max_orders: c.max_orders,
            max_instruments: c.max_instruments,
            max_accounts: c.max_accounts,
            max_open_orders_per_account: c.max_open_orders_per_account,
            risk_checks: c.risk_checks,
            max_assets: c.max_assets,
            fee_account: c.fee_account,
            max_transactions: c.max_transactions,
        })
    }
}

/// [`EngineSnapshot`] as format 5 archived it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct EngineSnapshotV5 {
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
    pub trailing: Vec<TrailingSnapshot>,
    pub trail_tracks: Vec<TrailTrackSnapshot>,
    pub pending: Vec<PendingSnapshot>,
    pub list_members: Vec<ListMemberSnapshot>,
}

impl From<EngineSnapshotV5> for EngineSnapshot {
    fn from(s: EngineSnapshotV5) -> EngineSnapshot {
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
            trailing: s.trailing,
            trail_tracks: s.trail_tracks,
            pending: s.pending,
            list_members: s.list_members,
            futures: FuturesSnapshot::default(),
        }
    }
}

impl EngineSnapshotV5 {
    /// The format-5 form of a state without futures (`None` if it has some, or names an
    /// insurance or oracle account): what a format-5 writer produced, for tests of the upgrade
    /// path.
    pub fn from_current(s: &EngineSnapshot) -> Option<EngineSnapshotV5> {
        let config = ConfigSnapshotV5::from_current(s)?;
        let s = s.clone();
        Some(EngineSnapshotV5 {
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
            trailing: s.trailing,
            trail_tracks: s.trail_tracks,
            pending: s.pending,
            list_members: s.list_members,
        })
    }
}
