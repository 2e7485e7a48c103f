//! The futures side of a snapshot (format 6 on): each perpetual's mark, risk tiers, open
//! interest and (format 7 on) last announced funding, every futures wallet and position record in use (liquidation keys included: they
//! are state, docs/futures.md section 8), and which resting orders are reduce-only; and the
//! checks that restore it.
//!
//! What is derived is not trusted: open interest and each position's resting-order count and
//! open aggregates are stored (the snapshot's own `state_hash()` needs them) and recomputed from
//! the positions and the resting orders on restore, and a snapshot whose stored values disagree
//! is refused. The liquidation index, the holders, the margin asset (the perpetuals' common quote
//! asset) and the perpetuals' instrument-id order are not stored: the index is rebuilt from the
//! keys (after every command every non-zero key is in it, and none is crossed), the holders from
//! the sizes. A resting perpetual order reserves nothing; its risk slot keeps its rates and, in
//! `settled`, its price.

use rkyv::{Archive, Deserialize, Serialize};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::command::SetRiskTier;
use crate::config::{EngineConfig, NO_ACCOUNT};
use crate::engine::Engine;
use crate::instrument::NO_PERP;
use crate::margin_account::MarginAccount;
use crate::order_pool::{Slot, ARMED, CLOSE_POSITION, EXPIRES, ICEBERG, LISTED, NIL, REDUCE_ONLY};
use crate::perp_market::{PerpMarket, MAX_PERPETUALS};
use crate::position::{closable, side_ix, OpenSide, Position, INDEXED_LONG, INDEXED_SHORT};
use crate::risk_tier::{MAX_PERP_QTY_SCALE, MAX_PERP_VALUE, MAX_RISK_TIERS, PPM};
use crate::snapshot::{bad, plausible_rates, EngineSnapshot, OrderRiskSnapshot, OrderSnapshot, SnapshotError};
use crate::state_hash::funding_words;
use crate::types::*;

/// The futures side of the engine state. Empty in formats before 6 (they had no perpetuals).
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
pub struct FuturesSnapshot {
    /// Perpetuals in the order they were added (their instruments' order): a position's `perp`
    /// is an index into this list.
    pub perps: Vec<PerpSnapshot>,
    /// Accounts with a futures wallet ≠ 0 or a position record in use, ascending by id; each
    /// followed by its [`MarginSnapshot::positions`] entries in `positions`.
    pub margin: Vec<MarginSnapshot>,
    /// Position records in use (see [`PositionSnapshot`]), per account ascending by perpetual.
    pub positions: Vec<PositionSnapshot>,
    /// Resting reduce-only orders, by order id.
    pub reduce_only: Vec<OrderId>,
    /// Armed orders on perpetuals with a reduce-only or close-position flag, by order id.
    pub armed_flags: Vec<ArmedFlagsSnapshot>,
}

/// An armed perpetual order's reduce-only (64) and close-position (128) flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ArmedFlagsSnapshot {
    pub order_id: u64,
    pub flags: u8,
}

/// One perpetual's futures state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct PerpSnapshot {
    pub instrument: u32,
    pub mark: u64,
    /// Σ long sizes (checked against the positions on restore).
    pub open_interest: u64,
    /// In order (each valid after the ones before it, as `SetRiskTier` requires).
    pub tiers: Vec<RiskTierSnapshot>,
    /// Format 7 on: the rate of the last funding that gave a next funding time (0 before one,
    /// and in older formats).
    pub funding_rate_ppm: i32,
    /// Format 7 on: that funding's next funding time, ns since the Unix epoch (0: none yet).
    pub next_funding_time_ns: u64,
}

/// One risk tier (see `SetRiskTier`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RiskTierSnapshot {
    pub max_notional: u64,
    pub max_leverage: u32,
    pub mmr_ppm: u32,
    pub maint_amount: u64,
}

/// An account's futures wallet; its position records follow in [`FuturesSnapshot::positions`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct MarginSnapshot {
    pub account: u32,
    /// Signed: the insurance fund's may be negative.
    pub wallet: i64,
    /// Number of entries in [`FuturesSnapshot::positions`].
    pub positions: u32,
}

/// One side's non-reduce-only resting orders: open quantity and Σ price × leaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct OpenSideSnapshot {
    pub qty: u64,
    pub notional: u128,
}

/// A position record in use: a position, or settings, or resting orders (a record that holds
/// nothing is the same state as none, and is not listed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct PositionSnapshot {
    /// Index into [`FuturesSnapshot::perps`].
    pub perp: u32,
    /// Signed size in qty units: > 0 long, < 0 short.
    pub size: i64,
    /// Cost basis (0 when flat).
    pub cost: i64,
    pub realised: i64,
    /// Isolated margin (0 in cross mode).
    pub iso: i64,
    /// Leverage set (0: the default).
    pub leverage: u32,
    pub isolated: bool,
    /// Liquidation index key as of the last re-key (0: none): the index is rebuilt from these.
    pub key: u64,
    /// Non-reduce-only resting orders, [buy, sell] (checked against the orders on restore).
    pub open: [OpenSideSnapshot; 2],
    /// Resting orders, reduce-only included (checked against the orders on restore).
    pub orders: u32,
}

impl PositionSnapshot {
    fn from_position(perp: u32, p: &Position) -> Self {
        let open = p.open.map(|o| OpenSideSnapshot { qty: o.qty, notional: o.notional });
        PositionSnapshot {
            perp,
            size: p.size,
            cost: p.cost,
            realised: p.realised,
            iso: p.iso,
            leverage: p.leverage,
            isolated: p.isolated,
            key: p.key,
            open,
            orders: p.orders,
        }
    }

    fn to_position(self) -> Position {
        Position {
            size: self.size,
            cost: self.cost,
            realised: self.realised,
            iso: self.iso,
            leverage: self.leverage,
            isolated: self.isolated,
            key: self.key,
            open: self.open.map(|o| OpenSide { qty: o.qty, notional: o.notional }),
            orders: self.orders,
            ..Position::default()
        }
    }
}

impl FuturesSnapshot {
    /// Whether there is no futures state at all.
    pub fn is_empty(&self) -> bool {
        self.perps.is_empty()
            && self.margin.is_empty()
            && self.positions.is_empty()
            && self.reduce_only.is_empty()
            && self.armed_flags.is_empty()
    }

    /// Empties every vector, keeping their capacity.
    pub fn clear(&mut self) {
        self.perps.clear();
        self.margin.clear();
        self.positions.clear();
        self.reduce_only.clear();
        self.armed_flags.clear();
    }

    /// What `Engine::futures_hash_words` takes of the state this restores to, from the snapshot
    /// alone: nothing without perpetuals, else a marker, each perpetual's mark, tiers and last
    /// announced funding, and every listed account's wallet and position records. `margin_asset`: the first
    /// perpetual's quote asset.
    pub(crate) fn hash_words(&self, margin_asset: AssetId, put: &mut impl FnMut(u64)) {
        const MARKER: u64 = u64::from_le_bytes(*b"FUTURES!");
        if self.perps.is_empty() {
            return;
        }
        for v in [MARKER, self.perps.len() as u64, margin_asset as u64] {
            put(v);
        }
        for m in &self.perps {
            for v in [m.instrument as u64, m.mark, m.open_interest, m.tiers.len() as u64] {
                put(v);
            }
            for t in &m.tiers {
                for v in [t.max_notional, t.max_leverage as u64, t.mmr_ppm as u64, t.maint_amount] {
                    put(v);
                }
            }
            for v in funding_words(m.funding_rate_ppm, m.next_funding_time_ns) {
                put(v);
            }
        }
        let mut b = 0usize;
        for m in &self.margin {
            for v in [m.account as u64, m.wallet as u64, m.positions as u64] {
                put(v);
            }
            for q in self.positions.iter().skip(b).take(m.positions as usize) {
                for v in [q.perp as u64, q.size as u64, q.cost as u64, q.realised as u64, q.iso as u64] {
                    put(v);
                }
                for v in [((q.leverage as u64) << 1) | q.isolated as u64, q.key, q.orders as u64] {
                    put(v);
                }
                for side in q.open {
                    for v in [side.qty, side.notional as u64, (side.notional >> 64) as u64] {
                        put(v);
                    }
                }
            }
            b += m.positions as usize;
        }
        put(self.armed_flags.len() as u64);
        for f in &self.armed_flags {
            put(f.order_id);
            put(f.flags as u64);
        }
    }
}

/// The [`crate::order_pool::Order::flags`] of the resting orders on perpetuals, which the state
/// hash takes (a perpetual's orders may be reduce-only), rebuilt from a snapshot's lists.
pub(crate) struct PerpOrderFlags {
    perps: FxHashSet<InstrumentId>,
    flags: FxHashMap<OrderId, u8>,
}

impl PerpOrderFlags {
    /// `None` without perpetuals.
    pub fn of(s: &EngineSnapshot) -> Option<PerpOrderFlags> {
        if s.futures.perps.is_empty() {
            return None;
        }
        let mut flags: FxHashMap<OrderId, u8> = FxHashMap::default();
        let ids = s.expiries.iter().map(|x| (x.order_id, EXPIRES));
        let ids = ids.chain(s.icebergs.iter().map(|x| (x.order_id, ICEBERG)));
        let ids = ids.chain(s.list_members.iter().map(|m| (m.order_id, LISTED)));
        for (id, flag) in ids.chain(s.futures.reduce_only.iter().map(|&id| (id, REDUCE_ONLY))) {
            *flags.entry(id).or_default() |= flag;
        }
        Some(PerpOrderFlags { perps: s.futures.perps.iter().map(|m| m.instrument).collect(), flags })
    }

    /// Whether `instrument` is a perpetual.
    pub fn is_perp(&self, instrument: InstrumentId) -> bool {
        self.perps.contains(&instrument)
    }

    /// The flags of a resting order.
    pub fn get(&self, order_id: OrderId) -> u8 {
        self.flags.get(&order_id).copied().unwrap_or(0)
    }
}

impl EngineSnapshot {
    /// The asset the perpetuals settle in: the first perpetual's quote asset (`None` without
    /// perpetuals or when its instrument is not listed).
    pub(crate) fn margin_asset(&self) -> Option<AssetId> {
        let first = self.futures.perps.first()?.instrument;
        self.instruments.iter().find(|i| i.spec.id == first).map(|i| i.spec.quote_asset)
    }
}

impl Engine {
    /// Copies the futures side into `out` (see [`FuturesSnapshot`]), reusing its vectors.
    /// What the state hash takes of the futures side: nothing without perpetuals (so older
    /// states hash as before), else what [`FuturesSnapshot::hash_words`] takes
    /// of the snapshot of it (each perpetual's mark, tiers and last announced funding, every
    /// account's futures wallet and non-empty position records, index keys included: they are
    /// state, docs/futures.md, "The index"). One writer, so a snapshot's recorded hash and the
    /// engine's cannot drift apart.
    pub(crate) fn futures_hash_words(&self) -> Vec<u64> {
        let mut w = Vec::new();
        if self.perps.is_empty() {
            return w;
        }
        let mut f = FuturesSnapshot::default();
        self.futures_snapshot_into(&mut f);
        f.hash_words(self.margin_asset.unwrap_or(0), &mut |v| w.push(v));
        w
    }

    pub(crate) fn futures_snapshot_into(&self, out: &mut FuturesSnapshot) {
        out.clear();
        if self.perps.is_empty() {
            return;
        }
        for m in &self.perps {
            let tiers = m.tiers.as_slice().iter().map(|t| RiskTierSnapshot {
                max_notional: t.max_notional,
                max_leverage: t.max_leverage,
                mmr_ppm: t.mmr_ppm,
                maint_amount: t.maint_amount,
            });
            out.perps.push(PerpSnapshot {
                instrument: m.id,
                mark: m.mark,
                open_interest: m.open_interest,
                tiers: tiers.collect(),
                funding_rate_ppm: m.funding_rate_ppm,
                next_funding_time_ns: m.next_funding_time_ns,
            });
        }
        for (a, m) in self.margin.iter().enumerate() {
            let before = out.positions.len();
            for (p, pos) in m.positions.iter().enumerate().filter(|(_, p)| !p.is_blank()) {
                out.positions.push(PositionSnapshot::from_position(p as u32, pos));
            }
            let positions = (out.positions.len() - before) as u32;
            if m.wallet != 0 || positions != 0 {
                out.margin.push(MarginSnapshot { account: a as u32, wallet: m.wallet, positions });
            }
        }
        // Reduce-only orders rest only on perpetuals: their books are walked, no other.
        for m in &self.perps {
            let inst = &self.instruments[m.ii as usize];
            for side in [Side::Buy, Side::Sell] {
                for l in inst.book.side(side).iter_best_first() {
                    let mut s = self.levels.get(l).head;
                    while s != NIL {
                        let o = self.orders.get(s);
                        if o.flags & REDUCE_ONLY != 0 {
                            out.reduce_only.push(o.order_id);
                        }
                        s = self.orders.links(s).next;
                    }
                }
            }
        }
        out.reduce_only.sort_unstable();
        self.armed_perp_flags(|order_id, flags| out.armed_flags.push(ArmedFlagsSnapshot { order_id, flags }));
        out.armed_flags.sort_unstable_by_key(|f| f.order_id);
    }

    /// Each armed order on a perpetual with a reduce-only or close-position flag: (order id,
    /// those flags), in no order. Such an order needs a position, so only accounts with
    /// position records are walked.
    pub(crate) fn armed_perp_flags(&self, mut f: impl FnMut(OrderId, u8)) {
        for (a, m) in self.margin.iter().enumerate() {
            if m.positions.is_empty() {
                continue;
            }
            let mut s = self.accounts[a].head;
            while s != NIL {
                let o = self.orders.get(s);
                if o.flags & ARMED != 0 && o.flags & (REDUCE_ONLY | CLOSE_POSITION) != 0 {
                    f(o.order_id, o.flags & (REDUCE_ONLY | CLOSE_POSITION));
                }
                s = self.orders.links(s).acct_next;
            }
        }
    }
}

/// Restores the futures side, in two steps around the instruments' and orders' restore: the
/// perpetuals are known before (which instruments are perpetuals, how their orders hold risk),
/// the rest is restored and checked after (see the module doc).
pub(crate) struct FuturesRestore<'a> {
    f: &'a FuturesSnapshot,
    /// Instrument id -> perpetual index.
    by_instrument: FxHashMap<InstrumentId, u32>,
    /// Perpetual index -> its instrument's position, once that instrument is restored.
    ii: Vec<u32>,
    margin_asset: Option<AssetId>,
    reduce_only: FxHashSet<OrderId>,
    /// Resting orders found flagged reduce-only.
    flagged: usize,
    /// (account, perpetual) -> its resting orders: count and the non-reduce-only aggregates.
    resting: FxHashMap<(AccountId, u32), (u32, [OpenSide; 2])>,
}

impl<'a> FuturesRestore<'a> {
    /// Validates the perpetuals' list (risk mode with an insurance fund, at most
    /// `MAX_PERPETUALS`, each a listed instrument once, with a perpetual's spec bounds and the
    /// common quote asset) and the reduce-only list's order.
    pub fn new(config: &EngineConfig, s: &'a EngineSnapshot) -> Result<Self, SnapshotError> {
        let f = &s.futures;
        let mut r = FuturesRestore {
            f,
            by_instrument: FxHashMap::default(),
            ii: vec![NO_PERP; f.perps.len().min(MAX_PERPETUALS + 1)],
            margin_asset: None,
            reduce_only: FxHashSet::default(),
            flagged: 0,
            resting: FxHashMap::default(),
        };
        if f.perps.is_empty() {
            if !f.is_empty() {
                return bad("futures wallets, positions or reduce-only orders without a perpetual".into());
            }
            return Ok(r);
        }
        if !config.risk_checks || config.insurance_account == NO_ACCOUNT {
            return bad("perpetuals without risk checks or without an insurance fund account".into());
        }
        if f.perps.len() > MAX_PERPETUALS {
            return bad(format!("{} perpetuals exceed {MAX_PERPETUALS}", f.perps.len()));
        }
        let specs: FxHashMap<InstrumentId, &crate::snapshot::SpecSnapshot> =
            s.instruments.iter().map(|i| (i.spec.id, &i.spec)).collect();
        for (p, m) in f.perps.iter().enumerate() {
            let id = m.instrument;
            let Some(spec) = specs.get(&id) else {
                return bad(format!("perpetual {p}: instrument {id} is not listed"));
            };
            if r.by_instrument.insert(id, p as u32).is_some() {
                return bad(format!("instrument {id} is listed as two perpetuals"));
            }
            let asset = *r.margin_asset.get_or_insert(spec.quote_asset);
            let bounded = spec.qty_scale <= MAX_PERP_QTY_SCALE
                && spec.reference_price < MAX_PERP_VALUE
                && spec.max_qty < MAX_PERP_VALUE;
            if !bounded || spec.quote_asset != asset {
                return bad(format!("perpetual {id}: spec out of a perpetual's bounds or not quoted in {asset}"));
            }
        }
        r.reduce_only.extend(f.reduce_only.iter().copied());
        if r.reduce_only.len() != f.reduce_only.len() || !f.reduce_only.is_sorted() {
            return bad("reduce-only orders repeated or out of order".into());
        }
        Ok(r)
    }

    /// Instrument `id` was restored at position `ii`: its [`crate::instrument::Instrument::perp`].
    pub fn instrument_added(&mut self, id: InstrumentId, ii: usize) -> u32 {
        match self.by_instrument.get(&id) {
            Some(&p) => {
                self.ii[p as usize] = ii as u32;
                p
            }
            None => NO_PERP,
        }
    }

    /// A resting order on perpetual `p`: its risk slot (plausible rates, its price in `settled`,
    /// nothing reserved or settled), its reduce-only flag, and what it adds to its owner's
    /// position record.
    #[allow(clippy::too_many_arguments)]
    pub fn rest_order(
        &mut self,
        e: &mut Engine,
        p: u32,
        slot: Slot,
        o: &OrderSnapshot,
        side: Side,
        price: Price,
        r: &OrderRiskSnapshot,
    ) -> Result<(), SnapshotError> {
        let id = o.order_id;
        let unsettled = r.reserved == 0 && r.frac == 0 && r.fee_paid == 0 && r.fee_frac == 0;
        if !plausible_rates(r.maker_ppm, r.taker_ppm) || !unsettled || r.settled != price {
            return bad(format!("perpetual order {id}: risk state {r:?} is not its rates and its price {price}"));
        }
        e.risk[slot as usize] = r.to_risk();
        let (count, open) = self.resting.entry((o.account, p)).or_default();
        *count += 1;
        if self.reduce_only.contains(&id) {
            e.orders.get_mut(slot).flags |= REDUCE_ONLY;
            self.flagged += 1;
            return Ok(());
        }
        let open = &mut open[side_ix(side)];
        let qty = open.qty.checked_add(o.leaves);
        let notional = open.notional.checked_add(price as u128 * o.leaves as u128);
        let (Some(qty), Some(notional)) = (qty, notional) else {
            return bad(format!("account {}: open orders on perpetual {p} overflow", o.account));
        };
        *open = OpenSide { qty, notional };
        Ok(())
    }

    /// What the futures side holds of `asset` beyond the spot balances (the margin asset's
    /// conservation, docs/futures.md section 11): Σ wallets + Σ isolated margins − Σ signed
    /// bases (a long's basis counts negative, a short's positive).
    pub fn money(&self, asset: AssetId) -> i128 {
        if self.margin_asset != Some(asset) {
            return 0;
        }
        let wallets: i128 = self.f.margin.iter().map(|m| m.wallet as i128).sum();
        let positions: i128 = self
            .f
            .positions
            .iter()
            .map(|q| q.iso as i128 - if q.size > 0 { q.cost as i128 } else { -(q.cost as i128) })
            .sum();
        wallets + positions
    }

    /// Restores the perpetuals, wallets and positions (after the instruments, orders and
    /// accounts) and checks them against what they derive from.
    pub fn finish(self, e: &mut Engine, s: &EngineSnapshot) -> Result<(), SnapshotError> {
        if self.f.perps.is_empty() {
            return Ok(());
        }
        restore_perps(e, self.f, &self.ii)?;
        restore_margin(e, self.f)?;
        check_open_interest(e, self.f)?;
        check_aggregates(e, self.resting)?;
        check_keys(e)?;
        if self.flagged != self.f.reduce_only.len() {
            return bad(format!(
                "{} reduce-only orders listed, {} of them rest on a perpetual",
                self.f.reduce_only.len(),
                self.flagged
            ));
        }
        check_reduce_only(e, &self.f.reduce_only)?;
        restore_armed_flags(e, &self.f.armed_flags)?;
        check_spot_only(e, s)?;
        e.margin_asset = self.margin_asset;
        e.rebuild_perp_order();
        Ok(())
    }
}

/// The perpetuals: in their instruments' order, a mark within bounds, tiers each valid after
/// the ones before (as `SetRiskTier` checks them), tiers before trading, and a last funding as
/// `ApplyFunding` accepts it (none at all without a next funding time).
fn restore_perps(e: &mut Engine, f: &FuturesSnapshot, ii: &[u32]) -> Result<(), SnapshotError> {
    let mut prev: Option<u32> = None;
    for (p, m) in f.perps.iter().enumerate() {
        let id = m.instrument;
        let ii = ii[p];
        if ii == NO_PERP || prev.is_some_and(|x| x >= ii) {
            return bad(format!("perpetual {id}: listed out of its instruments' order"));
        }
        prev = Some(ii);
        if m.mark == 0 || m.mark >= MAX_PERP_VALUE {
            return bad(format!("perpetual {id}: mark {} out of range", m.mark));
        }
        let funding_ok = if m.next_funding_time_ns == 0 {
            m.funding_rate_ppm == 0
        } else {
            (m.funding_rate_ppm as i128).abs() < PPM
        };
        if !funding_ok {
            return bad(format!(
                "perpetual {id}: funding rate {} with next funding time {}",
                m.funding_rate_ppm, m.next_funding_time_ns
            ));
        }
        let mut market = PerpMarket::new(ii, id, m.mark);
        market.funding_rate_ppm = m.funding_rate_ppm;
        market.next_funding_time_ns = m.next_funding_time_ns;
        for (k, t) in m.tiers.iter().enumerate() {
            let c = SetRiskTier {
                instrument: id,
                index: k.min(MAX_RISK_TIERS) as u8,
                max_leverage: t.max_leverage,
                mmr_ppm: t.mmr_ppm,
                max_notional: t.max_notional,
                maint_amount: t.maint_amount,
            };
            if k >= MAX_RISK_TIERS || !market.tiers.accepts(&c) {
                return bad(format!("perpetual {id}: risk tier {k} {t:?} does not follow the ones before"));
            }
            market.tiers.push(&c);
        }
        if e.instruments[ii as usize].state == InstrumentState::Trading && market.tiers.is_empty() {
            return bad(format!("perpetual {id}: trading without a risk tier"));
        }
        e.perps.push(market);
    }
    Ok(())
}

/// The wallets and position records (accounts ascending, existing; records ascending by
/// perpetual, in use, plausible), and the holders and the liquidation index derived from them.
fn restore_margin(e: &mut Engine, f: &FuturesSnapshot) -> Result<(), SnapshotError> {
    let n_perps = e.perps.len();
    let (mut b, mut prev) = (0usize, None::<AccountId>);
    for m in &f.margin {
        let a = m.account;
        if a >= e.config.max_accounts || prev.is_some_and(|x| x >= a) || !e.accounts[a as usize].exists {
            return bad(format!("futures account {a}: out of range, out of order or not an account"));
        }
        prev = Some(a);
        let Some(list) = f.positions.get(b..b.saturating_add(m.positions as usize)) else {
            return bad(format!("futures account {a}: positions past the end of the list"));
        };
        b += list.len();
        if m.wallet == 0 && list.is_empty() {
            return bad(format!("futures account {a}: listed with nothing in it"));
        }
        e.margin[a as usize] = MarginAccount { wallet: m.wallet, ..MarginAccount::default() };
        if !list.is_empty() {
            e.margin[a as usize].positions = vec![Position::default(); n_perps];
        }
        let mut prev_p: Option<usize> = None;
        for q in list {
            let p = q.perp as usize;
            if p >= n_perps || prev_p.is_some_and(|x| x >= p) {
                return bad(format!("account {a}: perpetual index {p} out of range or out of order"));
            }
            prev_p = Some(p);
            let pos = q.to_position();
            check_position(e, a, p, &pos)?;
            e.margin[a as usize].positions[p] = pos;
            let (perps, margin) = (&mut e.perps, &mut e.margin);
            let rec = &mut margin[a as usize].positions[p];
            if pos.size != 0 {
                perps[p].add_holder(a, rec);
            }
            if pos.key != 0 {
                // After every command every non-zero key is in the index, none crossed.
                perps[p].index(pos.size > 0, pos.key, a);
                perps[p].live += 1;
                rec.indexed = if pos.size > 0 { INDEXED_LONG } else { INDEXED_SHORT };
            }
        }
    }
    if b != f.positions.len() {
        return bad(format!("{} positions listed, {b} belong to futures accounts", f.positions.len()));
    }
    Ok(())
}

/// One position record's own plausibility: in use, a size within a perpetual's bounds, a flat
/// one without basis, isolated margin or key, isolated margin only in isolated mode (never the
/// insurance fund's), a leverage its tiers allow.
fn check_position(e: &Engine, a: AccountId, p: usize, pos: &Position) -> Result<(), SnapshotError> {
    let id = e.perps[p].id;
    let flat_ok = pos.size != 0 || (pos.cost == 0 && pos.iso == 0 && pos.key == 0);
    let mode_ok = (pos.isolated || pos.iso == 0) && !(pos.isolated && a == e.config.insurance_account);
    let ok = !pos.is_blank()
        && pos.size.unsigned_abs() < MAX_PERP_VALUE
        && pos.cost >= 0
        && flat_ok
        && mode_ok
        && pos.leverage <= e.perps[p].tiers.max_leverage();
    if ok {
        Ok(())
    } else {
        bad(format!("account {a} perpetual {id}: implausible position {pos:?}"))
    }
}

/// Per perpetual, the sizes sum to 0 and the longs to the stored open interest.
fn check_open_interest(e: &mut Engine, f: &FuturesSnapshot) -> Result<(), SnapshotError> {
    for (p, m) in f.perps.iter().enumerate() {
        let (mut longs, mut net) = (0i128, 0i128);
        for &a in &e.perps[p].holders {
            let size = e.margin[a as usize].positions[p].size as i128;
            net += size;
            longs += size.max(0);
        }
        if net != 0 {
            return bad(format!("perpetual {}: longs and shorts differ by {net}", m.instrument));
        }
        if longs != m.open_interest as i128 {
            return bad(format!(
                "perpetual {}: open interest {} but the longs hold {longs}",
                m.instrument, m.open_interest
            ));
        }
        e.perps[p].open_interest = m.open_interest;
    }
    Ok(())
}

/// Each position record's resting-order count and open aggregates are those of its resting
/// orders, and every resting perpetual order has a record.
fn check_aggregates(
    e: &Engine,
    mut resting: FxHashMap<(AccountId, u32), (u32, [OpenSide; 2])>,
) -> Result<(), SnapshotError> {
    for (a, m) in e.margin.iter().enumerate() {
        for (p, pos) in m.positions.iter().enumerate() {
            let found = resting.remove(&(a as AccountId, p as u32)).unwrap_or_default();
            if (pos.orders, pos.open) != found {
                return bad(format!(
                    "account {a} perpetual {}: {} orders open {:?} recorded, its resting orders make {} open {:?}",
                    e.perps[p].id, pos.orders, pos.open, found.0, found.1
                ));
            }
        }
    }
    if let Some(&(a, p)) = resting.keys().min() {
        return bad(format!("account {a}: resting orders on perpetual {p} without a position record"));
    }
    Ok(())
}

/// No key is crossed by its mark (after every command none is, docs/futures.md section 8), and
/// the key of an isolated position or of an account's only cross position is exactly its
/// liquidation price.
fn check_keys(e: &Engine) -> Result<(), SnapshotError> {
    for (a, m) in e.margin.iter().enumerate() {
        let a = a as AccountId;
        if m.positions.is_empty() {
            continue;
        }
        let cross = e.cross_positions(a).count();
        for (p, pos) in m.positions.iter().enumerate().filter(|(_, q)| q.size != 0) {
            let (id, mark) = (e.perps[p].id, e.perps[p].mark);
            let crossed = pos.key != 0 && if pos.size > 0 { mark <= pos.key } else { mark >= pos.key };
            if crossed {
                return bad(format!("account {a} perpetual {id}: key {} crossed by the mark {mark}", pos.key));
            }
            if pos.isolated || cross == 1 {
                let liq = e.display_liq_price(a, p);
                if pos.key != liq {
                    return bad(format!(
                        "account {a} perpetual {id}: key {} is not its liquidation price {liq}",
                        pos.key
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The armed perpetual orders' flags (ascending ids, each an armed order on a perpetual,
/// close-position only with reduce-only).
fn restore_armed_flags(e: &mut Engine, list: &[ArmedFlagsSnapshot]) -> Result<(), SnapshotError> {
    let mut prev: Option<OrderId> = None;
    for f in list {
        let id = f.order_id;
        let slot = e.index.by_id(&e.orders, id);
        let on_perp = |slot: Slot| {
            let o = e.orders.get(slot);
            o.flags & ARMED != 0 && e.instrument_index(o.instrument).and_then(|ii| e.perp_of(ii)).is_some()
        };
        let flags_ok = f.flags & !(REDUCE_ONLY | CLOSE_POSITION) == 0 && f.flags & REDUCE_ONLY != 0;
        match slot {
            Some(slot) if prev.is_none_or(|p| p < id) && flags_ok && on_perp(slot) => {
                e.orders.get_mut(slot).flags |= f.flags;
            }
            _ => {
                return bad(format!(
                    "armed order flags {f:?}: not an armed perpetual order, out of order, or bad flags"
                ))
            }
        }
        prev = Some(id);
    }
    Ok(())
}

/// Every reduce-only order's leaves are at most what its owner can close; each is listed with
/// its owner, whose positions' reduce-only bounds are its largest.
fn check_reduce_only(e: &mut Engine, ids: &[OrderId]) -> Result<(), SnapshotError> {
    for &id in ids {
        let Some(o) = e.index.by_id(&e.orders, id).map(|slot| e.orders.get(slot)) else {
            return bad(format!("reduce-only order {id} is not live"));
        };
        let Some(p) = e.instrument_index(o.instrument).and_then(|ii| e.perp_of(ii)) else {
            return bad(format!("reduce-only order {id} is not on a perpetual"));
        };
        let c = closable(e.pos(o.account, p).size, o.side);
        if o.leaves > c {
            return bad(format!("reduce-only order {id}: leaves {} but its owner can close {c}", o.leaves));
        }
        let (account, side, leaves) = (o.account, o.side, o.leaves);
        let slot = e.index.by_id(&e.orders, id).expect("found above");
        let m = &mut e.margin[account as usize];
        e.ro_next[slot as usize] = std::mem::replace(&mut m.reduce_only.0, slot);
        let bound = &mut m.positions[p].ro_bound[side_ix(side)];
        *bound = (*bound).max(leaves);
    }
    Ok(())
}

/// Conditional, iceberg and list orders are spot only: none is on a perpetual.
fn check_spot_only(e: &Engine, s: &EngineSnapshot) -> Result<(), SnapshotError> {
    let on_perp = |id: InstrumentId| e.instrument_index(id).is_some_and(|ii| e.perp_of(ii).is_some());
    let order_on_perp = |order_id: OrderId| {
        e.index.by_id(&e.orders, order_id).is_some_and(|slot| on_perp(e.orders.get(slot).instrument))
    };
    let pending = s.pending.iter().map(|p| (p.order.order_id, on_perp(p.instrument)));
    let icebergs = s.icebergs.iter().map(|x| (x.order_id, order_on_perp(x.order_id)));
    let members = s.list_members.iter().map(|m| (m.order_id, order_on_perp(m.order_id)));
    if let Some((id, _)) = pending.chain(icebergs).chain(members).find(|x| x.1) {
        return bad(format!("order {id}: an iceberg or list order on a perpetual"));
    }
    Ok(())
}
