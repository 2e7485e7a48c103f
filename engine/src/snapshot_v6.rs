//! The engine state as snapshot format 6 archived it, before a perpetual remembered its last
//! announced funding (rate and next funding time): read (and converted) so that an upgrade keeps
//! using the snapshots it has.
//!
//! The field lists must stay exactly format 6's (rkyv archives fields in declaration order). A
//! format-6 state converts with no announced funding (rate 0, time 0): the state a replay of
//! the same journal rebuilds, since the fundings that release journaled carry no time and leave
//! the announced funding as it was. Its recorded state hash is still `state_hash()` of the
//! converted state (no announced funding adds nothing to the hash).

use rkyv::{Archive, Deserialize, Serialize};

use crate::snapshot::futures::{
    ArmedFlagsSnapshot, FuturesSnapshot, MarginSnapshot, PerpSnapshot, PositionSnapshot, RiskTierSnapshot,
};
use crate::snapshot::{
    AccountSnapshot, ArmedSnapshot, BalanceSnapshot, ConfigSnapshot, CredentialSnapshot, EngineSnapshot,
    ExpirySnapshot, IcebergSnapshot, InstrumentSnapshot, LevelSnapshot, ListMemberSnapshot, OrderRiskSnapshot,
    OrderSnapshot, PendingSnapshot, TrailTrackSnapshot, TrailingSnapshot,
};

/// [`PerpSnapshot`] as format 6 archived it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct PerpSnapshotV6 {
    pub instrument: u32,
    pub mark: u64,
    pub open_interest: u64,
    pub tiers: Vec<RiskTierSnapshot>,
}

/// [`FuturesSnapshot`] as format 6 archived it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct FuturesSnapshotV6 {
    pub perps: Vec<PerpSnapshotV6>,
    pub margin: Vec<MarginSnapshot>,
    pub positions: Vec<PositionSnapshot>,
    pub reduce_only: Vec<crate::types::OrderId>,
    pub armed_flags: Vec<ArmedFlagsSnapshot>,
}

impl From<FuturesSnapshotV6> for FuturesSnapshot {
    /// No announced funding: format 6 had none.
    fn from(f: FuturesSnapshotV6) -> FuturesSnapshot {
        let perps = f.perps.into_iter().map(|m| PerpSnapshot {
            instrument: m.instrument,
            mark: m.mark,
            open_interest: m.open_interest,
            tiers: m.tiers,
            funding_rate_ppm: 0,
            next_funding_time_ns: 0,
        });
        FuturesSnapshot {
            perps: perps.collect(),
            margin: f.margin,
            positions: f.positions,
            reduce_only: f.reduce_only,
            armed_flags: f.armed_flags,
        }
    }
}

/// [`EngineSnapshot`] as format 6 archived it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct EngineSnapshotV6 {
    pub config: ConfigSnapshot,
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
    pub futures: FuturesSnapshotV6,
}

impl From<EngineSnapshotV6> for EngineSnapshot {
    fn from(s: EngineSnapshotV6) -> EngineSnapshot {
        EngineSnapshot {
            config: s.config,
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
            futures: s.futures.into(),
        }
    }
}

impl EngineSnapshotV6 {
    /// The format-6 form of a state no funding with a next funding time has reached (`None`
    /// if one has): what a format-6 writer produced, for tests of the upgrade path.
    pub fn from_current(s: &EngineSnapshot) -> Option<EngineSnapshotV6> {
        if s.futures.perps.iter().any(|m| m.next_funding_time_ns != 0 || m.funding_rate_ppm != 0) {
            return None;
        }
        let s = s.clone();
        let f = s.futures;
        let perps = f.perps.into_iter().map(|m| PerpSnapshotV6 {
            instrument: m.instrument,
            mark: m.mark,
            open_interest: m.open_interest,
            tiers: m.tiers,
        });
        let futures = FuturesSnapshotV6 {
            perps: perps.collect(),
            margin: f.margin,
            positions: f.positions,
            reduce_only: f.reduce_only,
            armed_flags: f.armed_flags,
        };
        Some(EngineSnapshotV6 {
            config: s.config,
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
            futures,
        })
    }
}
