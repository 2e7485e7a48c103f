//! Snapshots: an owned, compact copy of the engine's **logical** state, and
//! the engine rebuilt from one.
//!
//! [`Engine::snapshot`] walks the state in the canonical order that
//! `state_hash()` uses (books best level first, orders in time priority), so
//! which pool slot an order happened to occupy is not recorded: slots do not
//! affect behaviour (orders are identified by their sequential ids, levels
//! keep FIFO order, account lists are in order-id order). The copy is a few
//! flat vectors, filled on the matcher thread; [`Engine::snapshot_into`]
//! reuses the vectors of a previous snapshot so that a periodic snapshot
//! neither allocates nor page-faults.
//!
//! [`Engine::from_snapshot`] rebuilds pools, levels, the index and the
//! account lists, and validates everything it reads (it never panics on bad
//! input): an inconsistent snapshot is a [`SnapshotError`].
//!
//! The structs derive `rkyv` (`Archive`, `Serialize`, `Deserialize`, with
//! `bytecheck` validation of the archived form); the file format around them
//! lives in the `snapshot` crate (`docs/snapshots.md`).

use rkyv::{Archive, Deserialize, Serialize};
use rustc_hash::FxHashMap;
use xxhash_rust::xxh3::Xxh3;

use crate::account::Balance;
use crate::command::{InstrumentSpec, CREDENTIAL_HASH_BYTES, CREDENTIAL_SALT_BYTES};
use crate::config::EngineConfig;
use crate::credential_table::AccountCredential;
use crate::engine::Engine;
use crate::fee_schedule::{FeeRates, FeeSchedule};
use crate::instrument::Instrument;
use crate::list_table::ListRole;
use crate::order_book::OrderBook;
use crate::order_pool::{Order, Slot, NIL};
use crate::risk::OrderRisk;
// The futures part of a snapshot is this module's child: it uses the parent's types (errors,
// orders, the snapshot itself) and the parent holds and restores it.
pub(crate) mod futures;

use self::futures::{FuturesRestore, FuturesSnapshot, PerpOrderFlags};
use crate::state_hash::{credential_words, expiry_hash_words, iceberg_hash_words};
use crate::types::*;

/// Engine capacities, as in [`EngineConfig`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ConfigSnapshot {
    pub max_orders: u32,
    pub max_instruments: u32,
    pub max_accounts: u32,
    pub max_open_orders_per_account: u32,
    pub risk_checks: bool,
    pub max_assets: u32,
    pub fee_account: u32,
    pub max_transactions: u32,
    /// Format 6 on ([`crate::NO_ACCOUNT`] in older formats, which had no perpetuals).
    pub insurance_account: u32,
    /// Format 6 on, as `insurance_account`.
    pub oracle_account: u32,
}

impl From<EngineConfig> for ConfigSnapshot {
    fn from(c: EngineConfig) -> Self {
        Self {
            max_orders: c.max_orders,
            max_instruments: c.max_instruments,
            max_accounts: c.max_accounts,
            max_open_orders_per_account: c.max_open_orders_per_account,
            risk_checks: c.risk_checks,
            max_assets: c.max_assets,
            fee_account: c.fee_account,
            max_transactions: c.max_transactions,
            insurance_account: c.insurance_account,
            oracle_account: c.oracle_account,
        }
    }
}

impl ConfigSnapshot {
    /// The engine config, if it is one `Engine::new` accepts (the checks of
    /// the journal's engine-config record).
    pub fn to_config(&self) -> Result<EngineConfig, SnapshotError> {
        let c = EngineConfig {
            max_orders: self.max_orders,
            max_instruments: self.max_instruments,
            max_accounts: self.max_accounts,
            max_open_orders_per_account: self.max_open_orders_per_account,
            risk_checks: self.risk_checks,
            max_assets: self.max_assets,
            fee_account: self.fee_account,
            max_transactions: self.max_transactions,
            insurance_account: self.insurance_account,
            oracle_account: self.oracle_account,
        };
        if c.max_orders == 0 || c.max_orders == NIL {
            return bad(format!("max_orders {} out of range", c.max_orders));
        }
        if c.max_instruments == 0 || c.max_instruments == u32::MAX {
            return bad(format!("max_instruments {} out of range", c.max_instruments));
        }
        if c.risk_checks && (c.max_assets == 0 || c.fee_account >= c.max_accounts) {
            return bad(format!("fee account {} / max_assets {} out of range", c.fee_account, c.max_assets));
        }
        // (`Engine::new` opens the insurance fund's account in risk mode.)
        let fund = c.insurance_account;
        if c.risk_checks && fund != crate::NO_ACCOUNT && (fund >= c.max_accounts || fund == c.fee_account) {
            return bad(format!("insurance fund account {fund} out of range or the fee account"));
        }
        // Far beyond any real configuration, but bounded so a damaged value cannot ask for
        // terabytes (the engine allocates every capacity up front).
        if c.max_orders > MAX_RESTORE_ORDERS
            || c.max_instruments > 1 << 24
            || c.max_accounts > 1 << 24
            || c.max_assets > 1 << 16
            || c.max_transactions > MAX_RESTORE_ORDERS
        {
            return bad(format!("capacities out of range: {c:?}"));
        }
        Ok(c)
    }
}

/// Largest `max_orders` (and `max_transactions`) a snapshot may restore: 2^28 order slots are
/// ~30 GB of engine tables.
pub const MAX_RESTORE_ORDERS: u32 = 1 << 28;

/// An instrument's definition ([`InstrumentSpec`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct SpecSnapshot {
    pub id: u32,
    pub symbol: [u8; 16],
    pub base_asset: u32,
    pub quote_asset: u32,
    pub tick: u64,
    pub lot: u64,
    pub min_qty: u64,
    pub max_qty: u64,
    pub min_notional: u64,
    pub price_band_bps: u32,
    pub reference_price: u64,
    pub qty_scale: u64,
}

impl From<InstrumentSpec> for SpecSnapshot {
    fn from(s: InstrumentSpec) -> Self {
        Self {
            id: s.id,
            symbol: s.symbol,
            base_asset: s.base_asset,
            quote_asset: s.quote_asset,
            tick: s.tick,
            lot: s.lot,
            min_qty: s.min_qty,
            max_qty: s.max_qty,
            min_notional: s.min_notional,
            price_band_bps: s.price_band_bps,
            reference_price: s.reference_price,
            qty_scale: s.qty_scale,
        }
    }
}

impl SpecSnapshot {
    /// As an [`InstrumentSpec`].
    pub fn to_spec(&self) -> InstrumentSpec {
        InstrumentSpec {
            id: self.id,
            symbol: self.symbol,
            base_asset: self.base_asset,
            quote_asset: self.quote_asset,
            tick: self.tick,
            lot: self.lot,
            min_qty: self.min_qty,
            max_qty: self.max_qty,
            min_notional: self.min_notional,
            price_band_bps: self.price_band_bps,
            reference_price: self.reference_price,
            qty_scale: self.qty_scale,
        }
    }
}

/// One tier's fee rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct FeeTierSnapshot {
    pub tier: u8,
    pub maker_ppm: i32,
    pub taker_ppm: i32,
}

/// An instrument: its levels follow in [`EngineSnapshot::levels`], bids
/// (best first) then asks (best first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct InstrumentSnapshot {
    pub spec: SpecSnapshot,
    /// [`InstrumentState`] byte.
    pub state: u8,
    pub reference_price: u64,
    /// Tiers that have a schedule, ascending.
    pub fees: Vec<FeeTierSnapshot>,
    pub bid_levels: u32,
    pub ask_levels: u32,
}

/// A price level: its orders follow in [`EngineSnapshot::orders`], oldest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct LevelSnapshot {
    pub price: u64,
    pub total_qty: u64,
    pub order_count: u32,
}

/// A resting order (instrument, side and price come from its level).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct OrderSnapshot {
    pub order_id: u64,
    pub client_order_id: u64,
    pub qty: u64,
    pub leaves: u64,
    pub account: u32,
    /// [`TimeInForce`] byte.
    pub tif: u8,
    /// [`StpMode`] byte.
    pub stp: u8,
}

/// An armed conditional order (see `stop_orders.rs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ArmedSnapshot {
    pub instrument: u32,
    /// [`Side`] byte.
    pub side: u8,
    /// [`OrderType`] byte of the order placed on trigger.
    pub order_type: u8,
    /// [`TriggerKind`] byte, with [`TriggerSource::MARK_BIT`] for a mark-price trigger (a
    /// perpetual's; the bit is new in format 6, clear in every file written before mark-price
    /// triggers, so their format is unchanged).
    pub trigger: u8,
    pub trigger_price: u64,
    /// Limit price of the order placed on trigger (0 for market).
    pub price: u64,
    /// `leaves` equals `qty` (nothing fills while armed).
    pub order: OrderSnapshot,
    /// Risk mode: its reservation (zero otherwise).
    pub risk: OrderRiskSnapshot,
}

impl ArmedSnapshot {
    /// What the state hash takes of one armed order (the engine's hash and a snapshot's walk the
    /// same list, see `Engine::for_each_armed`); `risk`: with its risk state.
    pub(crate) fn hash_words(&self, risk: bool) -> impl Iterator<Item = u64> {
        let o = &self.order;
        let flags = ((self.side as u64) << 32)
            | ((self.order_type as u64) << 24)
            | ((self.trigger as u64) << 16)
            | ((o.tif as u64) << 8)
            | o.stp as u64;
        let head = [self.instrument as u64, o.order_id, o.client_order_id, o.account as u64, o.qty, flags];
        let r = self.risk;
        let tail = risk.then_some([
            r.reserved,
            r.settled,
            r.frac,
            r.fee_paid,
            r.fee_frac as u64,
            ((r.maker_ppm as u32 as u64) << 32) | r.taker_ppm as u32 as u64,
        ]);
        head.into_iter().chain([self.trigger_price, self.price]).chain(tail.into_iter().flatten())
    }
}

/// Risk mode: an order's reservation and settlement state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct OrderRiskSnapshot {
    pub reserved: u64,
    pub settled: u64,
    pub frac: u64,
    pub fee_paid: u64,
    pub fee_frac: u32,
    pub maker_ppm: i32,
    pub taker_ppm: i32,
}

impl From<OrderRisk> for OrderRiskSnapshot {
    fn from(r: OrderRisk) -> Self {
        Self {
            reserved: r.reserved,
            settled: r.settled,
            frac: r.frac,
            fee_paid: r.fee_paid,
            fee_frac: r.fee_frac,
            maker_ppm: r.maker_ppm,
            taker_ppm: r.taker_ppm,
        }
    }
}

impl OrderRiskSnapshot {
    pub(crate) fn to_risk(self) -> OrderRisk {
        OrderRisk {
            reserved: self.reserved,
            settled: self.settled,
            frac: self.frac,
            fee_paid: self.fee_paid,
            fee_frac: self.fee_frac,
            maker_ppm: self.maker_ppm,
            taker_ppm: self.taker_ppm,
        }
    }
}

/// An account that exists (risk mode) or has live orders; its non-zero
/// balances follow in [`EngineSnapshot::balances`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AccountSnapshot {
    pub id: u32,
    pub exists: bool,
    /// [`AccountStatus`] byte.
    pub status: u8,
    pub tier: u8,
    /// Live orders (checked against the orders on restore).
    pub open_orders: u32,
    /// Number of entries in [`EngineSnapshot::balances`].
    pub balances: u32,
}

/// A non-zero balance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BalanceSnapshot {
    pub asset: u32,
    pub available: u64,
    pub reserved: u64,
}

/// A journaled credential (see `Engine::credential`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct CredentialSnapshot {
    pub account: u32,
    /// Revoked (salt and hash are zero) or set.
    pub revoked: bool,
    pub salt: [u8; CREDENTIAL_SALT_BYTES],
    pub hash: [u8; CREDENTIAL_HASH_BYTES],
}

/// The engine's whole logical state, in flat vectors.
///
/// Layout: `instruments` in the order they were added; for each, its bid
/// levels best first then its ask levels best first, consecutively in
/// `levels`; for each level, its orders oldest first, consecutively in
/// `orders` (and, in risk mode, their risk state at the same index in
/// `order_risk`). `accounts` ascending by id, each followed by its
/// `balances` entries (ascending asset). `tx_ids` oldest first. `credentials` ascending by account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct EngineSnapshot {
    pub config: ConfigSnapshot,
    /// Sequence of the last command applied: the snapshot is the state after it.
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
    /// Risk mode: per asset, deposits minus withdrawals.
    pub supply: Vec<u64>,
    /// Journaled API credentials.
    pub credentials: Vec<CredentialSnapshot>,
    /// Armed conditional orders: per instrument in `instruments` order, the orders that fire on
    /// a rise (lowest trigger first), then on a fall (highest first); arrival order within a
    /// trigger price; then its trailing stops (see `trailing`); then a perpetual's mark-price
    /// triggers (rise, then fall, as the first). Format 3 on; empty in older formats (they had
    /// none).
    pub armed: Vec<ArmedSnapshot>,
    /// The engine's time: the latest command timestamp applied. Format 4 on; 0 in older
    /// formats (nothing read it then; the next command sets it).
    pub clock_ns: u64,
    /// Good-till-date orders (resting or armed), by expiry time then order id. Format 4 on.
    pub expiries: Vec<ExpirySnapshot>,
    /// Resting iceberg orders, by order id (their level totals count the visible slices).
    /// Format 4 on.
    pub icebergs: Vec<IcebergSnapshot>,
    /// Trailing stops, in the order `armed` lists them (their `trigger_price` there is the one
    /// they have now): per instrument, those that fire on a rise, then on a fall; group by group
    /// (a group: one delta), oldest group first; arrival order within a group. Format 5 on.
    pub trailing: Vec<TrailingSnapshot>,
    /// The peak tracks of the sides that have trailing stops (instrument order, rise first).
    /// Format 5 on.
    pub trail_tracks: Vec<TrailTrackSnapshot>,
    /// Order lists' pending legs (in no book, armed nowhere), by order id. Format 5 on.
    pub pending: Vec<PendingSnapshot>,
    /// Every order list member (resting, armed or pending), by order id: its list and part.
    /// Format 5 on.
    pub list_members: Vec<ListMemberSnapshot>,
    /// Perpetuals, futures wallets and positions, reduce-only orders. Format 6 on.
    pub futures: FuturesSnapshot,
}

/// An order list's pending leg: the order and what it places once its working order fills.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct PendingSnapshot {
    pub instrument: u32,
    pub side: u8,
    pub order_type: u8,
    /// 0: none, else the trigger kind.
    pub trigger: u8,
    pub price: u64,
    pub trigger_price: u64,
    /// `leaves` equals `qty`.
    pub order: OrderSnapshot,
}

/// One order list member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ListMemberSnapshot {
    pub order_id: u64,
    pub list_id: u64,
    /// 1 working, 2 pending, 3 contingent (an OCO's leg).
    pub role: u8,
    /// 1 OCO, 2 OTO, 3 OTOCO.
    pub kind: u8,
}

impl PendingSnapshot {
    /// What the state hash takes of it.
    pub(crate) fn hash_words(&self) -> [u64; 9] {
        let o = &self.order;
        let flags = ((self.side as u64) << 32)
            | ((self.order_type as u64) << 24)
            | ((self.trigger as u64) << 16)
            | ((o.tif as u64) << 8)
            | o.stp as u64;
        [
            self.instrument as u64,
            o.order_id,
            o.client_order_id,
            o.account as u64,
            o.qty,
            flags,
            self.price,
            self.trigger_price,
            o.leaves,
        ]
    }
}

impl ListMemberSnapshot {
    /// What the state hash takes of it.
    pub(crate) fn hash_words(&self) -> [u64; 3] {
        [self.order_id, self.list_id, ((self.kind as u64) << 8) | self.role as u64]
    }
}

/// An armed trailing stop's delta and arming epoch (its order is in [`EngineSnapshot::armed`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct TrailingSnapshot {
    pub order_id: u64,
    pub delta: u32,
    pub unit: u8,
    pub epoch: u64,
}

/// One side's best prices since each arming epoch (see `trailing_book.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct TrailTrackSnapshot {
    pub instrument: u32,
    pub rise: bool,
    pub next_epoch: u64,
    /// Oldest first.
    pub entries: Vec<TrackEntrySnapshot>,
}

/// One run of a peak track.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct TrackEntrySnapshot {
    pub epoch: u64,
    pub peak: u64,
    pub orders: u32,
}

impl TrailingSnapshot {
    /// What the state hash takes of it (after its armed order's words).
    pub(crate) fn hash_words(&self) -> [u64; 3] {
        [self.order_id, ((self.unit as u64) << 32) | self.delta as u64, self.epoch]
    }
}

impl TrailTrackSnapshot {
    /// What the state hash takes of it.
    pub(crate) fn hash_words(&self) -> impl Iterator<Item = u64> + '_ {
        [self.instrument as u64, self.rise as u64, self.next_epoch, self.entries.len() as u64]
            .into_iter()
            .chain(self.entries.iter().flat_map(|e| [e.epoch, e.peak, e.orders as u64]))
    }
}

/// One resting iceberg order's display quantity and current slice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct IcebergSnapshot {
    pub order_id: u64,
    pub display_qty: u64,
    pub visible: u64,
}

/// One good-till-date order's expiry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ExpirySnapshot {
    pub expire_time_ns: u64,
    pub order_id: u64,
}

/// Why a snapshot cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The snapshot is not a consistent engine state.
    #[error("inconsistent snapshot: {0}")]
    Inconsistent(String),
}

pub(crate) fn bad<T>(what: String) -> Result<T, SnapshotError> {
    Err(SnapshotError::Inconsistent(what))
}

/// Fee rates a fee schedule can hold (a rebate no larger than the taker fee).
pub(crate) fn plausible_rates(maker_ppm: i32, taker_ppm: i32) -> bool {
    (0..PPM as i32).contains(&taker_ppm) && maker_ppm > -(PPM as i32) && maker_ppm <= taker_ppm
}

impl EngineSnapshot {
    /// Empties every vector, keeping their capacity.
    pub fn clear(&mut self) {
        self.instruments.clear();
        self.levels.clear();
        self.orders.clear();
        self.order_risk.clear();
        self.accounts.clear();
        self.balances.clear();
        self.tx_ids.clear();
        self.supply.clear();
        self.credentials.clear();
        self.armed.clear();
        self.expiries.clear();
        self.icebergs.clear();
        self.trailing.clear();
        self.trail_tracks.clear();
        self.pending.clear();
        self.list_members.clear();
        self.futures.clear();
    }

    /// The sequence number the snapshot was taken at.
    pub fn seq(&self) -> Seq {
        self.last_seq
    }

    /// Computes the same digest as [`Engine::state_hash`] of the engine this
    /// snapshot restores to, from the snapshot alone (so a writer thread can
    /// stamp a snapshot file without an engine). Restore then checks it
    /// against the rebuilt engine's own hash.
    pub fn state_hash(&self) -> u128 {
        let mut h = Xxh3::new();
        let mut put = |v: u64| h.update(&v.to_le_bytes());
        put(self.last_seq);
        put(self.next_order_id);
        put(self.next_trade_id);
        // Offsets of each instrument's levels and orders (they are stored in
        // insertion order; the hash walks instruments by id).
        let mut starts = Vec::with_capacity(self.instruments.len());
        let (mut lv, mut ord) = (0usize, 0usize);
        for inst in &self.instruments {
            starts.push((lv, ord));
            let n = inst.bid_levels as usize + inst.ask_levels as usize;
            for l in self.levels.iter().skip(lv).take(n) {
                ord += l.order_count as usize;
            }
            lv += n;
        }
        let mut by_id: Vec<usize> = (0..self.instruments.len()).collect();
        by_id.sort_by_key(|&i| self.instruments[i].spec.id);
        let risk = self.config.risk_checks;
        let perp_flags = PerpOrderFlags::of(self);
        for i in by_id {
            let inst = &self.instruments[i];
            let s = &inst.spec;
            let flags = perp_flags.as_ref().filter(|f| f.is_perp(s.id));
            put(s.id as u64);
            for v in [s.base_asset as u64, s.quote_asset as u64, s.price_band_bps as u64, s.tick, s.lot] {
                put(v);
            }
            for v in [s.min_qty, s.max_qty, s.min_notional, s.reference_price, s.qty_scale] {
                put(v);
            }
            put(u64::from_le_bytes(s.symbol[..8].try_into().expect("8")));
            put(u64::from_le_bytes(s.symbol[8..].try_into().expect("8")));
            put(inst.state as u64);
            put(inst.reference_price);
            for f in &inst.fees {
                put(f.tier as u64);
                put(((f.maker_ppm as u32 as u64) << 32) | f.taker_ppm as u32 as u64);
            }
            let (mut lv, mut ord) = starts[i];
            for (side, n) in [(Side::Buy, inst.bid_levels), (Side::Sell, inst.ask_levels)] {
                put(n as u64);
                for _ in 0..n {
                    let Some(level) = self.levels.get(lv) else { return 0 };
                    lv += 1;
                    put(level.price);
                    put(level.total_qty);
                    put(level.order_count as u64);
                    for _ in 0..level.order_count {
                        let Some(o) = self.orders.get(ord) else { return 0 };
                        for v in [o.order_id, o.client_order_id, o.account as u64, o.qty, o.leaves] {
                            put(v);
                        }
                        put(((side.as_u8() as u64) << 16) | ((o.tif as u64) << 8) | o.stp as u64);
                        if let Some(f) = flags {
                            put(f.get(o.order_id) as u64);
                        }
                        if risk {
                            let r = self.order_risk.get(ord).copied().unwrap_or_default();
                            for v in [r.reserved, r.settled, r.frac, r.fee_paid, r.fee_frac as u64] {
                                put(v);
                            }
                            put(((r.maker_ppm as u32 as u64) << 32) | r.taker_ppm as u32 as u64);
                        }
                        ord += 1;
                    }
                }
            }
        }
        put(risk as u64);
        let mut b = 0usize;
        for a in &self.accounts {
            put(a.id as u64);
            put(a.open_orders as u64);
            put(((a.exists as u64) << 16) | ((a.status as u64) << 8) | a.tier as u64);
            for bal in self.balances.iter().skip(b).take(a.balances as usize) {
                put(bal.asset as u64);
                put(bal.available);
                put(bal.reserved);
            }
            b += a.balances as usize;
        }
        put(self.tx_ids.len() as u64);
        for &tx in &self.tx_ids {
            put(tx);
        }
        // As `Engine::state_hash`: nothing for an empty list.
        if !self.credentials.is_empty() {
            put(self.credentials.len() as u64);
        }
        for c in &self.credentials {
            for v in credential_words(c.account, c.revoked, &c.salt, &c.hash) {
                put(v);
            }
        }
        if !self.armed.is_empty() {
            put(self.armed.len() as u64);
        }
        for a in &self.armed {
            for v in a.hash_words(risk) {
                put(v);
            }
        }
        for v in expiry_hash_words(self.clock_ns, self.expiries.iter().map(|x| (x.expire_time_ns, x.order_id)))
            .iter()
            .flatten()
        {
            put(*v);
        }
        let icebergs = self.icebergs.iter().map(|x| (x.order_id, x.display_qty, x.visible));
        for v in iceberg_hash_words(icebergs).iter().flatten() {
            put(*v);
        }
        // As `Engine::state_hash`: nothing when there are no trailing stops.
        for t in &self.trailing {
            for v in t.hash_words() {
                put(v);
            }
        }
        for t in &self.trail_tracks {
            for v in t.hash_words() {
                put(v);
            }
        }
        // As `Engine::state_hash`: nothing when there are no order lists.
        for p in &self.pending {
            for v in p.hash_words() {
                put(v);
            }
        }
        for m in &self.list_members {
            for v in m.hash_words() {
                put(v);
            }
        }
        // As `Engine::state_hash`: nothing without perpetuals.
        self.futures.hash_words(self.margin_asset().unwrap_or(0), &mut put);
        h.digest128()
    }
}

impl Engine {
    /// An owned copy of the logical state (see [`EngineSnapshot`]).
    pub fn snapshot(&self) -> EngineSnapshot {
        let mut s = EngineSnapshot::default();
        self.snapshot_into(&mut s);
        s
    }

    /// Like [`Engine::snapshot`], into `out`, reusing its vectors' capacity:
    /// with a recycled snapshot this allocates nothing (the pause is the
    /// copy alone).
    pub fn snapshot_into(&self, out: &mut EngineSnapshot) {
        // Orders and their risk state are overwritten in place below (not cleared), so a
        // recycled snapshot's memory is neither zeroed nor faulted in again.
        // Armed orders are live too, but listed apart (`armed`), not in a book level.
        let live = (self.orders.live() - self.armed.len() - self.pending_legs()) as usize;
        let risk = self.config.risk_checks;
        let (orders, order_risk) = (std::mem::take(&mut out.orders), std::mem::take(&mut out.order_risk));
        out.clear();
        out.orders = orders;
        out.order_risk = order_risk;
        out.orders.truncate(live);
        out.orders.resize(live, OrderSnapshot::default());
        out.order_risk.truncate(if risk { live } else { 0 });
        out.order_risk.resize(if risk { live } else { 0 }, OrderRiskSnapshot::default());
        out.config = self.config.into();
        out.last_seq = self.last_seq;
        out.next_order_id = self.next_order_id;
        out.next_trade_id = self.next_trade_id;
        out.instruments.reserve(self.instruments.len());
        // Each level's queue goes to a known place (levels are listed with their counts), so
        // the queues are walked several at a time: their pointer chases are independent and
        // overlap in the memory system, where one walk at a time waits for every cache miss.
        let mut queues: Vec<(Slot, usize)> = Vec::new();
        let mut pos = 0usize;
        for inst in &self.instruments {
            let mut counts = [0u32; 2];
            for (k, side) in [Side::Buy, Side::Sell].into_iter().enumerate() {
                let book_side = inst.book.side(side);
                out.levels.reserve(book_side.len());
                for l in book_side.iter_best_first() {
                    let level = self.levels.get(l);
                    out.levels.push(LevelSnapshot {
                        price: level.price,
                        total_qty: level.total_qty,
                        order_count: level.order_count,
                    });
                    queues.push((level.head, pos));
                    pos += level.order_count as usize;
                    counts[k] += 1;
                }
            }
            let fees = inst
                .fees
                .tiers()
                .iter()
                .enumerate()
                .filter_map(|(tier, r)| {
                    r.map(|r| FeeTierSnapshot { tier: tier as u8, maker_ppm: r.maker_ppm, taker_ppm: r.taker_ppm })
                })
                .collect();
            out.instruments.push(InstrumentSnapshot {
                spec: inst.spec.into(),
                state: inst.state.as_u8(),
                reference_price: inst.reference_price,
                fees,
                bid_levels: counts[0],
                ask_levels: counts[1],
            });
        }
        debug_assert_eq!(pos, live, "level counts add up to the live orders");
        self.copy_queues(&queues, out);
        for (id, a) in self.accounts.iter().enumerate() {
            if !a.exists && a.open_orders == 0 {
                continue;
            }
            let before = out.balances.len();
            for (asset, b) in a.balances.iter().enumerate() {
                if b.available != 0 || b.reserved != 0 {
                    out.balances.push(BalanceSnapshot {
                        asset: asset as u32,
                        available: b.available,
                        reserved: b.reserved,
                    });
                }
            }
            out.accounts.push(AccountSnapshot {
                id: id as u32,
                exists: a.exists,
                status: a.status.as_u8(),
                tier: a.tier,
                open_orders: a.open_orders,
                balances: (out.balances.len() - before) as u32,
            });
        }
        out.tx_ids.extend(self.tx_order.iter().copied());
        out.supply.extend_from_slice(&self.supply);
        out.credentials.extend(self.credentials.iter().map(|(&account, &c)| match c {
            AccountCredential::Set { salt, hash } => CredentialSnapshot { account, revoked: false, salt, hash },
            AccountCredential::Revoked => CredentialSnapshot { account, revoked: true, ..Default::default() },
        }));
        self.for_each_armed(|a| out.armed.push(a), |t| out.trailing.push(t));
        self.for_each_trail_track(|t| out.trail_tracks.push(t));
        self.list_snapshots(&mut out.pending, &mut out.list_members);
        out.clock_ns = self.clock_ns;
        let (index, orders) = (&self.index, &self.orders);
        out.expiries.extend(
            self.expiry
                .entries(|id| index.by_id(orders, id).is_some())
                .map(|(expire_time_ns, order_id)| ExpirySnapshot { expire_time_ns, order_id }),
        );
        out.expiries.sort_unstable_by_key(|x| (x.expire_time_ns, x.order_id));
        out.icebergs.extend(self.icebergs.iter().map(|x| IcebergSnapshot {
            order_id: self.orders.get(x.slot).order_id,
            display_qty: x.display_qty,
            visible: x.visible,
        }));
        out.icebergs.sort_unstable_by_key(|x| x.order_id);
        self.futures_snapshot_into(&mut out.futures);
    }

    /// Every armed order in snapshot order (see [`EngineSnapshot::armed`]), and each trailing
    /// stop's extra fields (see [`EngineSnapshot::trailing`]).
    pub(crate) fn for_each_armed(&self, mut f: impl FnMut(ArmedSnapshot), mut t: impl FnMut(TrailingSnapshot)) {
        if self.armed.len() == 0 {
            return;
        }
        for (ii, inst) in self.instruments.iter().enumerate() {
            self.for_each_fixed_trigger(&inst.triggers, &mut f);
            for rise in [true, false] {
                for g in &inst.triggers.trailing.side(rise).groups {
                    let mut slot = self.levels.get(g.level).head;
                    while slot != NIL {
                        f(self.armed_snapshot(slot, self.trail_trigger(ii, slot, rise)));
                        let e = self.trails.get(slot);
                        t(TrailingSnapshot {
                            order_id: self.orders.get(slot).order_id,
                            delta: e.trailing.delta,
                            unit: e.trailing.unit.as_u8(),
                            epoch: e.epoch,
                        });
                        slot = self.orders.links(slot).next;
                    }
                }
            }
            self.for_each_fixed_trigger(&inst.mark_triggers, &mut f);
        }
    }

    /// The fixed triggers of one trigger book in snapshot order: rise side lowest first, fall
    /// side highest first, arrival order within a price.
    fn for_each_fixed_trigger(&self, book: &crate::trigger_book::TriggerBook, f: &mut impl FnMut(ArmedSnapshot)) {
        for rise in [true, false] {
            for l in book.side(rise).iter_best_first() {
                let level = self.levels.get(l);
                let mut slot = level.head;
                while slot != NIL {
                    f(self.armed_snapshot(slot, level.price));
                    slot = self.orders.links(slot).next;
                }
            }
        }
    }

    fn armed_snapshot(&self, slot: Slot, trigger_price: Price) -> ArmedSnapshot {
        let o = self.orders.get(slot);
        let entry = self.armed.get(slot);
        ArmedSnapshot {
            instrument: o.instrument,
            side: o.side.as_u8(),
            order_type: entry.order_type.as_u8(),
            trigger: entry.source.with_kind(entry.trigger.as_u8()),
            trigger_price,
            price: entry.price,
            order: OrderSnapshot {
                order_id: o.order_id,
                client_order_id: o.client_order_id,
                qty: o.qty,
                leaves: o.leaves,
                account: o.account,
                tif: o.tif.as_u8(),
                stp: o.stp.as_u8(),
            },
            risk: self.risk.get(slot as usize).copied().unwrap_or_default().into(),
        }
    }

    /// Pending legs and list members, by order id (see [`EngineSnapshot::pending`]).
    pub(crate) fn list_snapshots(&self, pending: &mut Vec<PendingSnapshot>, members: &mut Vec<ListMemberSnapshot>) {
        if self.lists.len() == 0 {
            return;
        }
        for e in self.lists.iter() {
            let o = self.orders.get(e.slot);
            members.push(ListMemberSnapshot {
                order_id: o.order_id,
                list_id: e.list_id,
                role: e.role as u8,
                kind: e.kind.as_u8(),
            });
            if e.role == ListRole::Pending {
                pending.push(PendingSnapshot {
                    instrument: o.instrument,
                    side: o.side.as_u8(),
                    order_type: e.order_type.as_u8(),
                    trigger: e.trigger.map_or(0, |t| t.as_u8()),
                    price: e.price,
                    trigger_price: e.trigger_price,
                    order: OrderSnapshot {
                        order_id: o.order_id,
                        client_order_id: o.client_order_id,
                        qty: o.qty,
                        leaves: o.leaves,
                        account: o.account,
                        tif: o.tif.as_u8(),
                        stp: o.stp.as_u8(),
                    },
                });
            }
        }
        pending.sort_unstable_by_key(|p| p.order.order_id);
        members.sort_unstable_by_key(|m| m.order_id);
    }

    /// The peak track of every side with trailing stops (see [`EngineSnapshot::trail_tracks`]).
    pub(crate) fn for_each_trail_track(&self, mut f: impl FnMut(TrailTrackSnapshot)) {
        if self.trails.len() == 0 {
            return;
        }
        for inst in &self.instruments {
            for rise in [true, false] {
                let side = inst.triggers.trailing.side(rise);
                if side.groups.is_empty() {
                    continue;
                }
                f(TrailTrackSnapshot {
                    instrument: inst.spec.id,
                    rise,
                    next_epoch: side.track.next_epoch(),
                    entries: side
                        .track
                        .entries()
                        .map(|e| TrackEntrySnapshot { epoch: e.epoch, peak: e.peak, orders: e.orders })
                        .collect(),
                });
            }
        }
    }

    /// Copies the orders of each level queue `(head slot, output position)` into `out`, keeping
    /// [`WALKS`] queues in flight at once.
    fn copy_queues(&self, queues: &[(Slot, usize)], out: &mut EngineSnapshot) {
        const WALKS: usize = 16;
        let risk = self.config.risk_checks;
        let mut cur = [(NIL, 0usize); WALKS];
        let mut next_queue = 0;
        let mut active = 0;
        for c in cur.iter_mut() {
            if next_queue < queues.len() {
                *c = queues[next_queue];
                next_queue += 1;
                active += 1;
            }
        }
        while active > 0 {
            for c in cur.iter_mut() {
                let (s, p) = *c;
                if s == NIL {
                    continue;
                }
                let o = self.orders.get(s);
                if let Some(dst) = out.orders.get_mut(p) {
                    *dst = OrderSnapshot {
                        order_id: o.order_id,
                        client_order_id: o.client_order_id,
                        qty: o.qty,
                        leaves: o.leaves,
                        account: o.account,
                        tif: o.tif.as_u8(),
                        stp: o.stp.as_u8(),
                    };
                }
                if risk {
                    if let Some(dst) = out.order_risk.get_mut(p) {
                        *dst = self.risk[s as usize].into();
                    }
                }
                let next = self.orders.links(s).next;
                *c = (next, p + 1);
                if next == NIL {
                    if next_queue < queues.len() {
                        *c = queues[next_queue];
                        next_queue += 1;
                    } else {
                        active -= 1;
                    }
                }
            }
        }
    }

    /// Rebuilds an engine from a snapshot, validating it: capacities, ids
    /// unique and below the counters, level order, totals and counts,
    /// accounts referenced exist, per-account and engine limits, and in risk
    /// mode reservations against balances and balances against supply.
    /// Never panics on bad input.
    pub fn from_snapshot(s: &EngineSnapshot) -> Result<Engine, SnapshotError> {
        let config = s.config.to_config()?;
        let risk = config.risk_checks;
        let live = s.orders.len() + s.armed.len() + s.pending.len();
        if live > config.max_orders as usize {
            return bad(format!("{live} orders exceed max_orders {}", config.max_orders));
        }
        if s.instruments.len() > config.max_instruments as usize {
            return bad(format!("{} instruments exceed max_instruments", s.instruments.len()));
        }
        if risk && s.order_risk.len() != s.orders.len() {
            return bad(format!("{} order risk entries for {} orders", s.order_risk.len(), s.orders.len()));
        }
        if !risk && !s.order_risk.is_empty() {
            return bad("order risk entries without risk checks".into());
        }
        let assets = if risk { config.max_assets as usize } else { 0 };
        if s.supply.len() != assets {
            return bad(format!("{} supply entries, expected {assets}", s.supply.len()));
        }
        if s.tx_ids.len() > if risk { config.max_transactions as usize } else { 0 } {
            return bad(format!("{} transaction ids exceed the capacity", s.tx_ids.len()));
        }
        if s.next_order_id == 0 || s.next_trade_id == 0 {
            return bad("id counters must start at 1".into());
        }
        let mut e = Engine::new(config);
        e.last_seq = s.last_seq;
        e.next_order_id = s.next_order_id;
        e.next_trade_id = s.next_trade_id;

        // Icebergs by order id, for the level walk below (each must be a resting order).
        if s.icebergs.len() > crate::iceberg_table::IcebergTable::capacity_for(config.max_orders) as usize {
            return bad(format!("{} icebergs exceed the iceberg capacity", s.icebergs.len()));
        }
        let icebergs: FxHashMap<OrderId, IcebergSnapshot> = s.icebergs.iter().map(|x| (x.order_id, *x)).collect();
        if icebergs.len() != s.icebergs.len() || !s.icebergs.is_sorted_by_key(|x| x.order_id) {
            return bad("iceberg entries repeated or out of order".into());
        }

        // Which instruments are perpetuals (their orders hold no reservation).
        let mut fut = FuturesRestore::new(&config, s)?;

        // OCO legs: a resting one may hold its pair's (larger) shared reservation.
        let oco_legs: rustc_hash::FxHashSet<OrderId> =
            s.list_members.iter().filter(|m| m.role == ListRole::Contingent as u8).map(|m| m.order_id).collect();

        // Instruments, levels, orders.
        let (mut lv, mut ord) = (0usize, 0usize);
        let mut by_order_id: Vec<(OrderId, u32)> = Vec::with_capacity(s.orders.len());
        // (account, asset) -> sum of the reservations of its orders.
        let mut reserved: FxHashMap<(AccountId, AssetId), u128> = FxHashMap::default();
        for inst in &s.instruments {
            let spec = inst.spec.to_spec();
            check_spec(&config, &spec)?;
            let id = spec.id;
            if e.instrument_index(id).is_some() {
                return bad(format!("instrument {id} appears twice"));
            }
            let state = InstrumentState::from_u8(inst.state)
                .ok_or_else(|| SnapshotError::Inconsistent(format!("instrument {id}: bad state {}", inst.state)))?;
            if inst.reference_price == 0 {
                return bad(format!("instrument {id}: reference price 0"));
            }
            let mut fees = FeeSchedule::default();
            let mut last_tier = None;
            for f in &inst.fees {
                let ok_rates = plausible_rates(f.maker_ppm, f.taker_ppm);
                if f.tier >= MAX_FEE_TIERS || last_tier.is_some_and(|t| t >= f.tier) || !ok_rates {
                    return bad(format!("instrument {id}: bad fee tier {f:?}"));
                }
                last_tier = Some(f.tier);
                fees.set(f.tier, FeeRates { maker_ppm: f.maker_ppm, taker_ppm: f.taker_ppm });
            }
            let ii = e.instruments.len();
            e.instrument_slot[id as usize] = ii as u32;
            let perp = fut.instrument_added(id, ii);
            e.instruments.push(Instrument {
                spec,
                state,
                reference_price: inst.reference_price,
                book: OrderBook::new(spec.tick),
                triggers: crate::trigger_book::TriggerBook::new(spec.tick),
                mark_triggers: crate::trigger_book::TriggerBook::new(spec.tick),
                fees,
                perp,
            });
            let mut best = [None::<Price>; 2];
            for (k, (side, n)) in [(Side::Buy, inst.bid_levels), (Side::Sell, inst.ask_levels)].into_iter().enumerate()
            {
                let n = n as usize;
                let Some(levels) = s.levels.get(lv..lv.saturating_add(n)) else {
                    return bad(format!("instrument {id}: {n} {side:?} levels past the end of the level list"));
                };
                lv += n;
                let mut refs = Vec::with_capacity(n.min(s.levels.len()));
                let mut prev: Option<Price> = None;
                for level in levels {
                    let price = level.price;
                    let ordered = match (prev, side) {
                        (None, _) => true,
                        (Some(p), Side::Buy) => price < p,
                        (Some(p), Side::Sell) => price > p,
                    };
                    if price == 0 || !ordered || !price.is_multiple_of(spec.tick) {
                        return bad(format!("instrument {id}: {side:?} level at {price} out of order"));
                    }
                    prev = Some(price);
                    let count = level.order_count as usize;
                    let Some(orders) = s.orders.get(ord..ord.saturating_add(count)) else {
                        return bad(format!("instrument {id}: level {price} runs past the end of the order list"));
                    };
                    if count == 0 {
                        return bad(format!("instrument {id}: empty level at {price}"));
                    }
                    let l = e.levels.alloc(price);
                    refs.push((price, l));
                    let mut total: u64 = 0;
                    for (j, o) in orders.iter().enumerate() {
                        let slot = restore_order(&mut e, o, id, side, l)?;
                        let shown = match icebergs.get(&o.order_id) {
                            None => o.leaves,
                            Some(x) => restore_iceberg(&mut e, ii, slot, o, x)?,
                        };
                        total = total
                            .checked_add(shown)
                            .ok_or_else(|| SnapshotError::Inconsistent(format!("level {price}: total overflows")))?;
                        if risk && perp != crate::instrument::NO_PERP {
                            let r = s.order_risk[ord + j];
                            fut.rest_order(&mut e, perp, slot, o, side, price, &r)?;
                        } else if risk {
                            let r = s.order_risk[ord + j];
                            let shared = oco_legs.contains(&o.order_id);
                            let (asset, need) = check_order_risk(&e, ii, side, price, o, &r, shared)?;
                            e.risk[slot as usize] = r.to_risk();
                            *reserved.entry((o.account, asset)).or_default() += need as u128;
                        }
                        by_order_id.push((o.order_id, slot));
                    }
                    ord += count;
                    if total != level.total_qty {
                        return bad(format!(
                            "instrument {id}: level {price} total {} but its orders hold {total}",
                            level.total_qty
                        ));
                    }
                    let lvl = e.levels.get_mut(l);
                    lvl.total_qty = total;
                }
                best[k] = refs.first().map(|r| r.0);
                e.instruments[ii].book.side_mut(side).set_best_first(&refs);
            }
            if let [Some(bid), Some(ask)] = best {
                if bid >= ask {
                    return bad(format!("instrument {id}: crossed book (bid {bid} >= ask {ask})"));
                }
            }
        }
        if lv != s.levels.len() || ord != s.orders.len() {
            return bad(format!(
                "{} levels and {} orders listed, {lv} and {ord} belong to instruments",
                s.levels.len(),
                s.orders.len()
            ));
        }
        if e.icebergs.len() as usize != s.icebergs.len() {
            return bad(format!(
                "{} iceberg entries, {} of them for resting orders",
                s.icebergs.len(),
                e.icebergs.len()
            ));
        }
        restore_trail_tracks(&mut e, &s.trail_tracks)?;
        restore_armed(&mut e, s, &mut by_order_id, &mut reserved)?;
        restore_pending(&mut e, &s.pending, &mut by_order_id)?;
        restore_lists(&mut e, s)?;

        // Accounts and balances.
        let mut b = 0usize;
        let mut prev_id: Option<u32> = None;
        let mut listed = vec![false; config.max_accounts as usize];
        let mut totals = vec![0u128; assets];
        for a in &s.accounts {
            let id = a.id;
            if id >= config.max_accounts || prev_id.is_some_and(|p| p >= id) {
                return bad(format!("account {id} out of range or out of order"));
            }
            prev_id = Some(id);
            let status = AccountStatus::from_u8(a.status)
                .ok_or_else(|| SnapshotError::Inconsistent(format!("account {id}: bad status {}", a.status)))?;
            if a.tier >= MAX_FEE_TIERS {
                return bad(format!("account {id}: bad tier {}", a.tier));
            }
            if a.exists != risk {
                return bad(format!("account {id}: exists = {} with risk checks {risk}", a.exists));
            }
            if !a.exists && (a.balances != 0 || a.open_orders == 0) {
                return bad(format!("account {id} does not exist but has balances or no orders"));
            }
            if a.open_orders > config.max_open_orders_per_account {
                return bad(format!("account {id}: {} open orders exceed the limit", a.open_orders));
            }
            let Some(bals) = s.balances.get(b..b.saturating_add(a.balances as usize)) else {
                return bad(format!("account {id}: balances past the end of the list"));
            };
            b += a.balances as usize;
            listed[id as usize] = true;
            if a.exists {
                e.open_account(id, a.tier, status);
            } else {
                let acct = &mut e.accounts[id as usize];
                acct.status = status;
                acct.tier = a.tier;
            }
            let mut prev_asset: Option<u32> = None;
            for bal in bals {
                let asset = bal.asset;
                if asset as usize >= assets || prev_asset.is_some_and(|p| p >= asset) {
                    return bad(format!("account {id}: asset {asset} out of range or out of order"));
                }
                prev_asset = Some(asset);
                if bal.available == 0 && bal.reserved == 0 {
                    return bad(format!("account {id}: zero balance of asset {asset} listed"));
                }
                let held = reserved.remove(&(id, asset)).unwrap_or(0);
                if held != bal.reserved as u128 {
                    return bad(format!(
                        "account {id} asset {asset}: reserved {} but its orders hold {held}",
                        bal.reserved
                    ));
                }
                totals[asset as usize] += bal.available as u128 + bal.reserved as u128;
                e.accounts[id as usize].balances[asset as usize] =
                    Balance { available: bal.available, reserved: bal.reserved, touched_seq: 0, touched_reason: 0 };
            }
        }
        if b != s.balances.len() {
            return bad(format!("{} balances listed, {b} belong to accounts", s.balances.len()));
        }
        if let Some((&(account, asset), &held)) = reserved.iter().find(|(_, &v)| v != 0) {
            return bad(format!("account {account} asset {asset}: orders hold {held} but no balance is listed"));
        }
        if risk {
            let fund = config.insurance_account;
            for (what, id) in [("fee", config.fee_account), ("insurance fund", fund)] {
                if id != crate::NO_ACCOUNT && !s.accounts.iter().any(|a| a.id == id && a.exists) {
                    return bad(format!("{what} account {id} missing"));
                }
            }
            for (asset, (&supply, &total)) in s.supply.iter().zip(&totals).enumerate() {
                // The margin asset is also in futures wallets, isolated margins and bases.
                let total = total as i128 + fut.money(asset as AssetId);
                if supply as i128 != total {
                    return bad(format!("asset {asset}: supply {supply} but balances and futures sum to {total}"));
                }
            }
        }
        e.supply.copy_from_slice(&s.supply);

        // Account lists, in order-id order.
        by_order_id.sort_unstable_by_key(|&(id, _)| id);
        for &(_, slot) in &by_order_id {
            let account = e.orders.get(slot).account;
            if !listed[account as usize] {
                return bad(format!("order {} of account {account}, which is not listed", e.orders.get(slot).order_id));
            }
            e.link_account(slot);
        }
        for a in &s.accounts {
            if e.accounts[a.id as usize].open_orders != a.open_orders {
                return bad(format!(
                    "account {}: {} open orders recorded, {} found",
                    a.id, a.open_orders, e.accounts[a.id as usize].open_orders
                ));
            }
        }

        // Deposit/withdrawal ids.
        for &tx in &s.tx_ids {
            if !e.tx_ids.insert(tx) {
                return bad(format!("transaction id {tx} appears twice"));
            }
            e.tx_order.push_back(tx);
        }
        restore_credentials(&mut e, &s.credentials)?;
        restore_expiries(&mut e, s.clock_ns, &s.expiries)?;
        fut.finish(&mut e, s)?;
        Ok(e)
    }
}

/// Validates the journaled credentials (ascending accounts in range that, in risk mode, exist and
/// are not the fee account, as the commands require; a revoked entry has no salt or hash) and
/// enters them.
fn restore_credentials(e: &mut Engine, credentials: &[CredentialSnapshot]) -> Result<(), SnapshotError> {
    let mut prev: Option<u32> = None;
    for c in credentials {
        let id = c.account;
        if id >= e.config.max_accounts || prev.is_some_and(|p| p >= id) {
            return bad(format!("credential of account {id} out of range or out of order"));
        }
        prev = Some(id);
        if e.config.risk_checks && (!e.accounts[id as usize].exists || id == e.config.fee_account) {
            return bad(format!("credential of account {id}, which does not exist or is the fee account"));
        }
        let credential = if c.revoked {
            if c.salt != [0; CREDENTIAL_SALT_BYTES] || c.hash != [0; CREDENTIAL_HASH_BYTES] {
                return bad(format!("revoked credential of account {id} has a salt or hash"));
            }
            AccountCredential::Revoked
        } else {
            AccountCredential::Set { salt: c.salt, hash: c.hash }
        };
        e.credentials.insert(id, credential);
    }
    debug_assert_eq!(e.credentials.len(), credentials.len());
    Ok(())
}

/// The checks `AddInstrument` applies (a spec that fails them could divide
/// by zero later).
fn check_spec(config: &EngineConfig, spec: &InstrumentSpec) -> Result<(), SnapshotError> {
    let ok = spec.id < config.max_instruments
        && InstrumentSpec::symbol_from_str(spec.symbol_str()) == Some(spec.symbol)
        && spec.tick != 0
        && spec.lot != 0
        && spec.qty_scale != 0
        && spec.min_qty != 0
        && spec.min_qty.is_multiple_of(spec.lot)
        && spec.min_qty <= spec.max_qty
        && spec.reference_price != 0
        && spec.reference_price.is_multiple_of(spec.tick)
        && (!config.risk_checks
            || (spec.base_asset < config.max_assets
                && spec.quote_asset < config.max_assets
                && spec.base_asset != spec.quote_asset));
    if ok {
        Ok(())
    } else {
        bad(format!("instrument {}: invalid spec", spec.id))
    }
}

/// Validates a resting order's iceberg entry (a display quantity on the lot; a slice of
/// `0 < visible <= min(display, leaves)`), marks the slot and enters it;
/// returns what the order adds to its level.
fn restore_iceberg(
    e: &mut Engine,
    ii: usize,
    slot: Slot,
    o: &OrderSnapshot,
    x: &IcebergSnapshot,
) -> Result<Qty, SnapshotError> {
    let inst = &e.instruments[ii];
    // (An amend may have left its quantity at or below its display quantity.)
    let display_ok = x.display_qty > 0 && inst.on_lot(x.display_qty);
    if !display_ok || x.visible == 0 || x.visible > x.display_qty.min(o.leaves) {
        return bad(format!(
            "iceberg {}: display {} slice {} of leaves {}",
            o.order_id, x.display_qty, x.visible, o.leaves
        ));
    }
    e.orders.get_mut(slot).flags |= crate::order_pool::ICEBERG;
    e.icebergs.insert(crate::iceberg_table::IcebergEntry { slot, display_qty: x.display_qty, visible: x.visible });
    Ok(x.visible)
}

/// Validates the expiries (distinct live orders, ascending by time then id, within the
/// capacity) and queues them.
fn restore_expiries(e: &mut Engine, clock_ns: u64, expiries: &[ExpirySnapshot]) -> Result<(), SnapshotError> {
    e.clock_ns = clock_ns;
    if expiries.len() > (e.config.max_orders / crate::expiry_queue::EXPIRING_PER_ORDER_CAPACITY).max(1) as usize {
        return bad(format!("{} expiring orders exceed the capacity", expiries.len()));
    }
    let mut prev: Option<(u64, u64)> = None;
    for x in expiries {
        let key = (x.expire_time_ns, x.order_id);
        if x.expire_time_ns == 0 || prev.is_some_and(|p| p >= key) {
            return bad(format!("expiry of order {} is 0 or out of order", x.order_id));
        }
        prev = Some(key);
        let Some(slot) = e.index.by_id(&e.orders, x.order_id) else {
            return bad(format!("expiry of order {}, which is not live", x.order_id));
        };
        // Ascending keys make a repeated order id impossible only per time: check the flag.
        let o = e.orders.get_mut(slot);
        if o.flags & crate::order_pool::EXPIRES != 0 {
            return bad(format!("order {} has two expiries", x.order_id));
        }
        o.flags |= crate::order_pool::EXPIRES;
        e.queue_expiry(x.expire_time_ns, x.order_id);
    }
    Ok(())
}

/// Validates the peak tracks (known instruments in order, rise before fall, runs with orders,
/// epochs ascending below the next, peaks strictly monotonic) and restores them.
fn restore_trail_tracks(e: &mut Engine, tracks: &[TrailTrackSnapshot]) -> Result<(), SnapshotError> {
    let mut prev: Option<(usize, bool)> = None;
    for t in tracks {
        let Some(ii) = e.instrument_index(t.instrument) else {
            return bad(format!("peak track of unknown instrument {}", t.instrument));
        };
        let key = (ii, !t.rise);
        if prev.is_some_and(|p| p >= key) {
            return bad(format!("peak track of instrument {} out of order", t.instrument));
        }
        prev = Some(key);
        let track = &mut e.instruments[ii].triggers.trailing.side_mut(t.rise).track;
        let mut last: Option<&TrackEntrySnapshot> = None;
        for x in &t.entries {
            let ordered = last.is_none_or(|l| l.epoch < x.epoch && track.in_order(l.peak, x.peak));
            if !ordered || x.orders == 0 || x.peak == 0 || x.epoch >= t.next_epoch {
                return bad(format!("peak track of instrument {}: run {} inconsistent", t.instrument, x.epoch));
            }
            last = Some(x);
        }
        if t.entries.is_empty() {
            return bad(format!("peak track of instrument {} has no runs", t.instrument));
        }
        let entries = t.entries.iter().map(|x| crate::trailing_book::TrackEntry {
            epoch: x.epoch,
            peak: x.peak,
            orders: x.orders,
        });
        track.restore(entries, t.next_epoch);
    }
    Ok(())
}

/// Checks that the orders armed in each run of every peak track are the ones the track counts
/// (after every trailing stop is restored).
fn check_trail_counts(e: &Engine) -> Result<(), SnapshotError> {
    let mut counted: FxHashMap<(usize, bool, u64), u32> = FxHashMap::default();
    for t in e.trails.iter() {
        let o = e.orders.get(t.slot);
        let ii = e.instrument_index(o.instrument).expect("restored on a known instrument");
        let rise = e.armed.get(t.slot).trigger.fires_on_rise(o.side);
        let track = &e.instruments[ii].triggers.trailing.side(rise).track;
        let run = track.entries().take_while(|x| x.epoch <= t.epoch).last().map_or(u64::MAX, |x| x.epoch);
        *counted.entry((ii, rise, run)).or_default() += 1;
    }
    for (ii, inst) in e.instruments.iter().enumerate() {
        for rise in [true, false] {
            let side = inst.triggers.trailing.side(rise);
            if side.groups.is_empty() && !side.track.is_empty() {
                return bad(format!("peak track of instrument {} without trailing stops", inst.spec.id));
            }
            for x in side.track.entries() {
                if counted.remove(&(ii, rise, x.epoch)) != Some(x.orders) {
                    return bad(format!("peak track of instrument {}: run {} miscounted", inst.spec.id, x.epoch));
                }
            }
        }
    }
    if !counted.is_empty() {
        return bad("trailing stops armed in no run of their peak track".into());
    }
    Ok(())
}

/// Validates the armed orders and arms them (in the listed order, which is their priority).
fn restore_armed(
    e: &mut Engine,
    s: &EngineSnapshot,
    by_order_id: &mut Vec<(OrderId, u32)>,
    reserved: &mut FxHashMap<(AccountId, AssetId), u128>,
) -> Result<(), SnapshotError> {
    let risk = e.config.risk_checks;
    let armed = &s.armed;
    if armed.len() > crate::armed_table::ArmedTable::capacity_for(e.config.max_orders) as usize {
        return bad(format!("{} armed orders exceed the armed capacity", armed.len()));
    }
    let trailing: FxHashMap<OrderId, TrailingSnapshot> = s.trailing.iter().map(|t| (t.order_id, *t)).collect();
    if trailing.len() != s.trailing.len() {
        return bad("a trailing stop is listed twice".into());
    }
    let mut trailing_left = s.trailing.iter();
    // The perpetuals (restored later, with the futures side): a mark-price trigger is on one.
    let perps: rustc_hash::FxHashSet<InstrumentId> = s.futures.perps.iter().map(|m| m.instrument).collect();
    let mut prev: Option<(usize, u8, Price)> = None;
    for a in armed {
        let o = &a.order;
        let id = o.order_id;
        let Some(ii) = e.instrument_index(a.instrument) else {
            return bad(format!("armed order {id}: unknown instrument {}", a.instrument));
        };
        let (kind, source) = TriggerSource::split(a.trigger);
        let (Some(side), Some(order_type), Some(trigger), Some(tif), Some(stp)) = (
            Side::from_u8(a.side),
            OrderType::from_u8(a.order_type),
            TriggerKind::from_u8(kind),
            TimeInForce::from_u8(o.tif),
            StpMode::from_u8(o.stp),
        ) else {
            return bad(format!("armed order {id}: bad side, type, trigger, time in force or STP byte"));
        };
        let inst = &e.instruments[ii];
        let price_ok = match order_type {
            OrderType::Limit => a.price != 0 && inst.on_tick(a.price),
            OrderType::Market => a.price == 0 && matches!(tif, TimeInForce::Ioc | TimeInForce::Fok),
        };
        let rise = trigger.fires_on_rise(side);
        let trail = trailing.get(&id).copied();
        // A last-price trigger is never reached between commands (a trade that reaches it fires
        // it). A mark-price one may be: a halted perpetual's mark moves and fires nothing, so
        // it is only checked to be fixed and on a perpetual.
        let source_ok = match source {
            TriggerSource::LastPrice => !crate::trigger_book::fires(rise, a.trigger_price, inst.reference_price),
            TriggerSource::MarkPrice => trail.is_none() && perps.contains(&a.instrument),
        };
        // (A trailing stop's trigger may be 0: a delta larger than its peak. It is checked
        // against its peak once it is attached.)
        let trigger_ok = (trail.is_some() || (a.trigger_price != 0 && inst.on_tick(a.trigger_price))) && source_ok;
        // Listed by instrument position; rise before fall; fixed triggers best first, then the
        // trailing stops (in `trailing`'s order: their group order is checked as they attach),
        // then the mark-price triggers as the fixed ones.
        let by_price = if rise { a.trigger_price } else { u64::MAX - a.trigger_price };
        let key = match (trail, source) {
            (None, TriggerSource::LastPrice) => (ii, !rise as u8, by_price),
            (Some(_), _) => (ii, 2 + !rise as u8, 0),
            (None, TriggerSource::MarkPrice) => (ii, 4 + !rise as u8, by_price),
        };
        let in_list_order = trail.is_none_or(|t| trailing_left.next() == Some(&t));
        let ordered = in_list_order && prev.is_none_or(|p| p <= key);
        if !price_ok || !trigger_ok || !ordered || o.leaves != o.qty || o.qty == 0 {
            return bad(format!("armed order {id}: inconsistent or out of order"));
        }
        prev = Some(key);
        let slot = alloc_unfilled(e, "armed order", o, a.instrument, side, (tif, stp), crate::order_pool::ARMED)?;
        if risk {
            let r = a.risk;
            if r.settled != 0 || r.frac != 0 || r.fee_paid != 0 || r.fee_frac != 0 {
                return bad(format!("armed order {id}: settled before it fired"));
            }
            let spec = &e.instruments[ii].spec;
            let asset = if side == Side::Buy { spec.quote_asset } else { spec.base_asset };
            e.risk[slot as usize] = r.to_risk();
            *reserved.entry((o.account, asset)).or_default() += r.reserved as u128;
        }
        e.index.insert(&e.orders, slot);
        match trail {
            None => e.restore_armed_order(ii, slot, a.trigger_price, rise, order_type, (trigger, source), a.price),
            Some(t) => restore_trailing(e, ii, slot, rise, a, &t, (order_type, trigger))?,
        }
        by_order_id.push((id, slot));
    }
    if trailing_left.next().is_some() {
        return bad("a trailing stop whose order is not armed".into());
    }
    check_trail_counts(e)?;
    for ii in 0..e.instruments.len() {
        e.refresh_trailing(ii);
    }
    Ok(())
}

/// Allots the slot of an order that has not traded (armed, or a pending leg): its id below the
/// next, its account in range, a free slot, its order id and client order id not yet taken.
fn alloc_unfilled(
    e: &mut Engine,
    what: &str,
    o: &OrderSnapshot,
    instrument: InstrumentId,
    side: Side,
    (tif, stp): (TimeInForce, StpMode),
    flags: u8,
) -> Result<Slot, SnapshotError> {
    let id = o.order_id;
    if id == 0 || id >= e.next_order_id || o.account >= e.config.max_accounts || e.orders.is_full() {
        return bad(format!("{what} {id}: id, account or capacity out of range"));
    }
    if e.index.by_id(&e.orders, id).is_some() || e.index.by_client(&e.orders, o.account, o.client_order_id).is_some() {
        return bad(format!("{what} {id}: order id or client order id appears twice"));
    }
    Ok(e.orders.alloc(Order {
        order_id: id,
        client_order_id: o.client_order_id,
        qty: o.qty,
        leaves: o.qty,
        account: o.account,
        instrument,
        side,
        tif,
        stp,
        flags,
        ..Order::EMPTY
    }))
}

/// Validates the pending legs (as armed orders: ids, accounts, enums, prices) and allots their
/// slots (flagged pending; their list entries come with the members).
fn restore_pending(
    e: &mut Engine,
    pending: &[PendingSnapshot],
    by_order_id: &mut Vec<(OrderId, u32)>,
) -> Result<(), SnapshotError> {
    let mut prev = 0;
    for p in pending {
        let o = &p.order;
        let id = o.order_id;
        let Some(ii) = e.instrument_index(p.instrument) else {
            return bad(format!("pending leg {id}: unknown instrument {}", p.instrument));
        };
        let (Some(side), Some(order_type), Some(tif), Some(stp)) = (
            Side::from_u8(p.side),
            OrderType::from_u8(p.order_type),
            TimeInForce::from_u8(o.tif),
            StpMode::from_u8(o.stp),
        ) else {
            return bad(format!("pending leg {id}: bad side, type, time in force or STP byte"));
        };
        let inst = &e.instruments[ii];
        let trigger_ok = match (p.trigger, TriggerKind::from_u8(p.trigger)) {
            (0, _) => p.trigger_price == 0,
            (_, Some(_)) => p.trigger_price != 0 && inst.on_tick(p.trigger_price),
            _ => false,
        };
        let price_ok = match order_type {
            OrderType::Limit => p.price != 0 && inst.on_tick(p.price),
            OrderType::Market => p.price == 0 && matches!(tif, TimeInForce::Ioc | TimeInForce::Fok),
        };
        if id <= prev || id >= e.next_order_id || !trigger_ok || !price_ok || o.leaves != o.qty || o.qty == 0 {
            return bad(format!("pending leg {id}: inconsistent or out of order"));
        }
        prev = id;
        let slot = alloc_unfilled(e, "pending leg", o, p.instrument, side, (tif, stp), crate::order_pool::PENDING)?;
        e.index.insert(&e.orders, slot);
        by_order_id.push((id, slot));
    }
    Ok(())
}

/// Validates the list members (live orders, by order id, each list one of the shapes a command
/// ends with: OCO legs, an OTO's working and pending leg, an OTOCO's working and pending pair,
/// or its activated pair; every pending leg listed) and links their rings.
fn restore_lists(e: &mut Engine, s: &EngineSnapshot) -> Result<(), SnapshotError> {
    use crate::list_table::{ListEntry, ListRole};
    use crate::order_pool::{ARMED, LISTED, PENDING};
    if s.list_members.len() > crate::list_table::ListTable::capacity_for(e.config.max_orders) as usize {
        return bad(format!("{} list members exceed the capacity", s.list_members.len()));
    }
    let pending: FxHashMap<OrderId, PendingSnapshot> = s.pending.iter().map(|p| (p.order.order_id, *p)).collect();
    let mut groups: std::collections::BTreeMap<OrderId, Vec<(Slot, ListRole, ListKind)>> = Default::default();
    let mut prev = 0;
    for m in &s.list_members {
        let (Some(role), Some(kind)) = (ListRole::from_u8(m.role), ListKind::from_u8(m.kind)) else {
            return bad(format!("list member {}: bad role or kind", m.order_id));
        };
        let Some(slot) = e.index.by_id(&e.orders, m.order_id).filter(|_| m.order_id > prev) else {
            return bad(format!("list member {}: not a live order, or out of order", m.order_id));
        };
        prev = m.order_id;
        let flags = e.orders.get(slot).flags;
        let placed_ok = match role {
            ListRole::Pending => flags & PENDING != 0,
            ListRole::Working => flags & (PENDING | ARMED) == 0,
            ListRole::Contingent => flags & PENDING == 0,
        };
        if !placed_ok || m.list_id > m.order_id {
            return bad(format!("list member {}: role {role:?} does not fit the order", m.order_id));
        }
        groups.entry(m.list_id).or_default().push((slot, role, kind));
    }
    let listed_pending = s.list_members.iter().filter(|m| m.role == ListRole::Pending as u8).count();
    if listed_pending != s.pending.len() {
        return bad("a pending leg outside any list".into());
    }
    for (list_id, members) in &groups {
        use ListRole::*;
        let roles: Vec<ListRole> = members.iter().map(|m| m.1).collect();
        let kind = members[0].2;
        let shape_ok = members.iter().all(|m| m.2 == kind)
            && match kind {
                ListKind::Oco => roles == [Contingent, Contingent],
                ListKind::Oto => roles == [Working, Pending],
                ListKind::Otoco => roles == [Working, Pending, Pending] || roles == [Contingent, Contingent],
            }
            && e.orders.get(members[0].0).order_id >= *list_id;
        if !shape_ok {
            return bad(format!("order list {list_id}: {kind:?} of {roles:?}"));
        }
        let n = members.len();
        for (k, &(slot, role, kind)) in members.iter().enumerate() {
            let o = *e.orders.get(slot);
            let (order_type, trigger, price, trigger_price) = match pending.get(&o.order_id) {
                Some(p) => (
                    OrderType::from_u8(p.order_type).expect("validated"),
                    TriggerKind::from_u8(p.trigger),
                    p.price,
                    p.trigger_price,
                ),
                None => (OrderType::Limit, None, 0, 0),
            };
            e.orders.get_mut(slot).flags |= LISTED;
            if role == ListRole::Pending && trigger.is_some() {
                e.pending_armed += 1;
            }
            e.lists.insert(ListEntry {
                slot,
                list_id: *list_id,
                next: members[(k + 1) % n].0,
                role,
                kind,
                order_type,
                trigger,
                price,
                trigger_price,
            });
        }
    }
    if e.armed.len() + e.pending_armed > crate::armed_table::ArmedTable::capacity_for(e.config.max_orders) {
        return bad("armed orders and pending conditional legs exceed the armed capacity".into());
    }
    Ok(())
}

/// Validates one trailing stop (a stop-loss; its delta; its epoch within its side's track; its
/// place in its group; its listed trigger price the one it has) and arms it.
fn restore_trailing(
    e: &mut Engine,
    ii: usize,
    slot: Slot,
    rise: bool,
    a: &ArmedSnapshot,
    t: &TrailingSnapshot,
    (order_type, trigger): (OrderType, TriggerKind),
) -> Result<(), SnapshotError> {
    let id = t.order_id;
    let Some(unit) = TrailUnit::from_u8(t.unit) else {
        return bad(format!("trailing stop {id}: bad unit {}", t.unit));
    };
    let trailing = Trailing { delta: t.delta, unit };
    let delta_ok = t.delta != 0 && (unit != TrailUnit::Bps || t.delta <= MAX_TRAIL_BPS);
    let track = &e.instruments[ii].triggers.trailing.side(rise).track;
    let first_epoch = track.entries().next().map(|x| x.epoch);
    let epoch_ok = first_epoch.is_some_and(|f| f <= t.epoch) && t.epoch < track.next_epoch();
    if trigger != TriggerKind::StopLoss || !delta_ok || !epoch_ok {
        return bad(format!("trailing stop {id}: trigger kind, delta or epoch inconsistent"));
    }
    // `restore_armed_order`'s table entry, then the group (not the trigger book).
    let source = TriggerSource::LastPrice;
    e.armed.insert(crate::armed_table::ArmedEntry { slot, order_type, trigger, source, price: a.price });
    if !e.restore_trailing(ii, slot, rise, trailing, t.epoch) {
        return bad(format!("trailing stop {id}: out of its group's order or too many groups"));
    }
    if e.trail_trigger(ii, slot, rise) != a.trigger_price {
        return bad(format!("trailing stop {id}: listed trigger {} is not its own", a.trigger_price));
    }
    Ok(())
}

/// Validates one resting order and puts it at the back of level `l`.
fn restore_order(
    e: &mut Engine,
    o: &OrderSnapshot,
    instrument: InstrumentId,
    side: Side,
    l: u32,
) -> Result<u32, SnapshotError> {
    let id = o.order_id;
    let tif = TimeInForce::from_u8(o.tif).filter(|t| matches!(t, TimeInForce::Gtc | TimeInForce::PostOnly));
    let (Some(tif), Some(stp)) = (tif, StpMode::from_u8(o.stp)) else {
        return bad(format!("order {id}: bad time in force {} or STP mode {}", o.tif, o.stp));
    };
    if id == 0 || id >= e.next_order_id {
        return bad(format!("order {id}: id not below the next order id {}", e.next_order_id));
    }
    if o.leaves == 0 || o.leaves > o.qty {
        return bad(format!("order {id}: leaves {} of qty {}", o.leaves, o.qty));
    }
    if o.account >= e.config.max_accounts {
        return bad(format!("order {id}: account {} out of range", o.account));
    }
    if e.orders.is_full() {
        return bad("more orders than order slots".into());
    }
    if e.index.by_id(&e.orders, id).is_some() {
        return bad(format!("order id {id} appears twice"));
    }
    if e.index.by_client(&e.orders, o.account, o.client_order_id).is_some() {
        return bad(format!("account {}: client order id {} appears twice", o.account, o.client_order_id));
    }
    let level = e.levels.get(l);
    let tail = level.tail;
    let slot = e.orders.alloc(Order {
        order_id: id,
        client_order_id: o.client_order_id,
        qty: o.qty,
        leaves: o.leaves,
        account: o.account,
        instrument,
        level: l,
        side,
        tif,
        stp,
        flags: 0,
    });
    e.orders.links_mut(slot).prev = tail;
    if tail != NIL {
        e.orders.links_mut(tail).next = slot;
    }
    let level = e.levels.get_mut(l);
    if level.head == NIL {
        level.head = slot;
    }
    level.tail = slot;
    level.order_count += 1;
    e.index.insert(&e.orders, slot);
    Ok(slot)
}

/// Checks an order's risk state against what it must hold: a sell exactly
/// its leaves of the base asset, a buy exactly the requirement of its leaves
/// at its price (what the engine re-establishes after every fill and amend); an OCO leg
/// (`shared`) at least that, holding its pair's reservation. Returns (asset, reservation).
fn check_order_risk(
    e: &Engine,
    ii: usize,
    side: Side,
    price: Price,
    o: &OrderSnapshot,
    r: &OrderRiskSnapshot,
    shared: bool,
) -> Result<(AssetId, u64), SnapshotError> {
    let spec = &e.instruments[ii].spec;
    let id = o.order_id;
    let rates_ok = plausible_rates(r.maker_ppm, r.taker_ppm);
    let fracs_ok = r.frac < spec.qty_scale
        && (r.fee_frac as u64) < PPM
        && (r.settled != 0 || r.frac == 0)
        && (r.fee_paid != 0 || r.fee_frac == 0);
    if !rates_ok || !fracs_ok {
        return bad(format!("order {id}: implausible risk state {r:?}"));
    }
    let (asset, need) = match side {
        Side::Sell => (spec.base_asset, o.leaves),
        Side::Buy => {
            // Keeps the requirement's u128 arithmetic far from overflow.
            if (price as u128 * o.leaves as u128) >> 100 != 0 {
                return bad(format!("order {id}: notional out of range"));
            }
            (spec.quote_asset, r.to_risk().buy_requirement(price, o.leaves, spec.qty_scale))
        }
    };
    if r.reserved != need && !(shared && r.reserved > need) {
        return bad(format!("order {id}: reserves {} but must hold {need}", r.reserved));
    }
    Ok((asset, r.reserved))
}
