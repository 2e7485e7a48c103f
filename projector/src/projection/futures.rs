//! The futures side of the projection (schema version 4): perpetuals, risk tiers, positions and
//! their history, futures wallets and their ledger, funding, liquidations and auto-deleveraging.
//!
//! What the rows need beyond the events is kept here: each perpetual's mark, open interest and
//! default leverage, each position record (a `PositionChanged` carries no leverage or margin mode,
//! `LeverageSet`/`MarginModeSet` carry nothing else), each futures wallet (the ledger stores
//! deltas), and, within one command, what its events itemise of each wallet it moves. It is
//! rebuilt from the engine's snapshot at a checkpoint ([`FuturesState::from_engine`]).
//!
//! **The ledger's parts** (`docs/read-side.md`, "The futures wallet ledger"). The engine coalesces
//! a command's changes of a wallet into one `WalletChanged` with the balance after; the delta is
//! exact. The parts are what the command's events say went into or out of *this wallet*: realised
//! PnL and fees of cross positions (an isolated position's settle into its own margin), funding of
//! cross positions, transfers, isolated-margin adjustments, and the insurance fund's flows
//! (clearances, covers, funding residue). The rest is `other`: margin moved into an isolated
//! position when it opens or grows and back when it closes, and a cover credited to a wallet (the
//! events do not say which wallet or position a cover went to).

use std::collections::{BTreeMap, HashMap};

use engine::{
    AccountId, Command, CommandKind, CommandType, Engine, FundingApplied, InstrumentId, Liquidation, MarginMode,
    PositionChanged, Seq, Trade, TransferApplied, WalletChanged,
};

use super::{big, ProjectError};
use crate::labels;
use crate::rows::futures::*;
use crate::rows::{Batch, Big};

/// The leverage of an account that never set one: 20, capped by tier 0's maximum (1 before any
/// tier), as the engine's `RiskTiers::leverage`.
fn default_leverage(tier0_max_leverage: u32) -> u32 {
    tier0_max_leverage.clamp(1, 20)
}

/// A perpetual as its rows need it.
#[derive(Debug, Clone, Copy)]
struct Perp {
    mark: u64,
    open_interest: u64,
    default_leverage: u32,
}

/// A position record as its row needs it.
#[derive(Debug, Clone, Copy, Default)]
struct Pos {
    size: i64,
    cost: i64,
    entry_price: u64,
    realised: i64,
    iso: i64,
    liq_price: u64,
    /// 0: the default.
    leverage_set: u32,
    isolated: bool,
}

/// Why a wallet moved, weakest first: a ledger row names the strongest cause among the command's
/// events about the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Why {
    #[default]
    Other,
    Insurance,
    Trade,
    Funding,
    IsolatedMargin,
    WalletTransfer,
    MarginDebit,
    MarginWithdraw,
    MarginDeposit,
    Takeover,
    Adl,
    Liquidation,
}

impl Why {
    fn label(self) -> &'static str {
        match self {
            Why::Other => "other",
            Why::Insurance => "insurance",
            Why::Trade => "trade",
            Why::Funding => "funding",
            Why::IsolatedMargin => "isolated_margin",
            Why::WalletTransfer => "wallet_transfer",
            Why::MarginDebit => "margin_debit",
            Why::MarginWithdraw => "margin_withdraw",
            Why::MarginDeposit => "margin_deposit",
            Why::Takeover => "takeover",
            Why::Adl => "adl",
            Why::Liquidation => "liquidation",
        }
    }
}

/// What one command's events itemise of one account's futures wallet.
#[derive(Debug, Clone, Copy, Default)]
struct Parts {
    realised: i64,
    fee: i64,
    funding: i64,
    transfer: i64,
    isolated: i64,
    insurance: i64,
    why: Why,
}

impl Parts {
    fn because(&mut self, why: Why) -> &mut Parts {
        self.why = self.why.max(why);
        self
    }

    /// Their sum: the part of the wallet's delta the events explain.
    fn itemised(&self) -> i64 {
        [self.realised, -self.fee, self.funding, self.transfer, self.isolated, self.insurance]
            .into_iter()
            .fold(0i64, i64::saturating_add)
    }
}

/// The futures side's state (see the module docs).
#[derive(Debug, Default)]
pub(super) struct FuturesState {
    perps: HashMap<InstrumentId, Perp>,
    /// Ordered so that an account's records are one range.
    positions: BTreeMap<(AccountId, InstrumentId), Pos>,
    wallets: HashMap<AccountId, i64>,
    fund: AccountId,
    /// The current command's parts per account (cleared at the next command).
    parts: BTreeMap<AccountId, Parts>,
    /// The current command's liquidations: (account, instrument) and the row's index in the batch.
    liquidating: Vec<((AccountId, InstrumentId), usize)>,
    /// The current command's next `idx` in `auto_deleveraging`.
    adl_idx: i32,
}

/// One command's row context.
#[derive(Clone, Copy)]
pub(super) struct At {
    pub seq: Seq,
    pub seq_big: Big,
    pub ts: Big,
}

impl FuturesState {
    /// The futures state of `engine` (its snapshot's futures part, a cold path; nothing without
    /// a perpetual).
    pub(super) fn from_engine(engine: &Engine) -> FuturesState {
        let mut f = FuturesState { fund: engine.config().insurance_account, ..FuturesState::default() };
        if !engine.instrument_ids().any(|id| engine.mark_price(id).is_some()) {
            return f;
        }
        let snap = engine.snapshot().futures;
        let ids: Vec<InstrumentId> = snap.perps.iter().map(|p| p.instrument).collect();
        for p in &snap.perps {
            let tier0 = p.tiers.first().map_or(0, |t| t.max_leverage);
            let perp = Perp { mark: p.mark, open_interest: p.open_interest, default_leverage: default_leverage(tier0) };
            f.perps.insert(p.instrument, perp);
        }
        let mut records = snap.positions.iter();
        for m in &snap.margin {
            f.wallets.insert(m.account, m.wallet);
            for r in records.by_ref().take(m.positions as usize) {
                let id = ids[r.perp as usize];
                let (pc, _) = engine.futures_position(m.account, id).expect("a snapshot's record is the engine's");
                let mut pos = Pos { leverage_set: r.leverage, isolated: r.isolated, ..Pos::default() };
                pos.take(&pc);
                f.positions.insert((m.account, id), pos);
            }
        }
        debug_assert_eq!(f.perps.len(), ids.len());
        f
    }

    /// Whether any perpetual exists.
    pub(super) fn has_perpetuals(&self) -> bool {
        !self.perps.is_empty()
    }

    /// Whether `id` is a perpetual.
    pub(super) fn is_perpetual(&self, id: InstrumentId) -> bool {
        self.perps.contains_key(&id)
    }

    /// A new command: the previous one's per-command bookkeeping goes.
    pub(super) fn begin(&mut self) {
        if !self.parts.is_empty() {
            self.parts.clear();
        }
        self.liquidating.clear();
        self.adl_idx = 0;
    }

    fn isolated(&self, a: AccountId, id: InstrumentId) -> bool {
        self.positions.get(&(a, id)).is_some_and(|p| p.isolated)
    }

    fn parts(&mut self, a: AccountId) -> &mut Parts {
        self.parts.entry(a).or_default()
    }

    /// The current command's liquidation row of `(a, id)`.
    fn liquidation_row<'b>(
        &self,
        a: AccountId,
        id: InstrumentId,
        batch: &'b mut Batch,
    ) -> Option<&'b mut LiquidationRow> {
        let &(_, i) = self.liquidating.iter().rev().find(|(k, _)| *k == (a, id))?;
        batch.futures.liquidations.get_mut(i)
    }

    fn perpetual_row(&self, at: At, id: InstrumentId, batch: &mut Batch) -> Result<(), ProjectError> {
        let p = self.perps[&id];
        batch.futures.perpetuals.insert(
            id as i32,
            PerpetualRow {
                instrument_id: id as i32,
                mark_price: big(at.seq, "mark_price", p.mark)?,
                open_interest: big(at.seq, "open_interest", p.open_interest)?,
                updated_seq: at.seq_big,
                updated_ts_ns: at.ts,
            },
        );
        Ok(())
    }

    fn position_row(&self, at: At, (a, id): (AccountId, InstrumentId), batch: &mut Batch) -> Result<(), ProjectError> {
        let p = self.positions.get(&(a, id)).copied().unwrap_or_default();
        let default = self.perps.get(&id).map_or(1, |x| x.default_leverage);
        let leverage = if p.leverage_set != 0 { p.leverage_set } else { default };
        let mode = if p.isolated { MarginMode::Isolated } else { MarginMode::Cross };
        batch.futures.positions.insert(
            (a as i32, id as i32),
            PositionRow {
                account_id: a as i32,
                instrument_id: id as i32,
                size: p.size,
                cost: p.cost,
                entry_price: big(at.seq, "entry_price", p.entry_price)?,
                realised_pnl: p.realised,
                isolated_margin: p.iso,
                liq_price: big(at.seq, "liq_price", p.liq_price)?,
                leverage: i32::try_from(leverage).unwrap_or(i32::MAX),
                margin_mode: labels::margin_mode(mode),
                updated_seq: at.seq_big,
                updated_ts_ns: at.ts,
            },
        );
        Ok(())
    }

    /// `InstrumentAdded` of a perpetual: its mark starts at the reference price.
    pub(super) fn perpetual_added(
        &mut self,
        at: At,
        id: InstrumentId,
        reference_price: u64,
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        self.perps.insert(id, Perp { mark: reference_price, open_interest: 0, default_leverage: default_leverage(0) });
        self.perpetual_row(at, id, batch)
    }

    /// `RiskTierSet`: a row; tier 0 sets the default leverage of the records that never set one.
    pub(super) fn risk_tier_set(
        &mut self,
        at: At,
        t: &engine::SetRiskTier,
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        batch.futures.risk_tiers.push(RiskTierRow {
            instrument_id: t.instrument as i32,
            tier: t.index as i16,
            max_notional: big(at.seq, "max_notional", t.max_notional)?,
            max_leverage: i32::try_from(t.max_leverage).unwrap_or(i32::MAX),
            mmr_ppm: i32::try_from(t.mmr_ppm).unwrap_or(i32::MAX),
            maint_amount: big(at.seq, "maint_amount", t.maint_amount)?,
            set_seq: at.seq_big,
        });
        if t.index == 0 {
            if let Some(p) = self.perps.get_mut(&t.instrument) {
                p.default_leverage = default_leverage(t.max_leverage);
            }
            // Records with settings only (tiers change on an empty market): a cold path.
            let keys: Vec<_> = self
                .positions
                .iter()
                .filter(|(k, p)| k.1 == t.instrument && p.leverage_set == 0)
                .map(|(k, _)| *k)
                .collect();
            for k in keys {
                self.position_row(at, k, batch)?;
            }
        }
        Ok(())
    }

    /// `LeverageSet` / `MarginModeSet`: the record's settings.
    pub(super) fn settings(
        &mut self,
        at: At,
        key: (AccountId, InstrumentId),
        leverage: Option<u32>,
        mode: Option<MarginMode>,
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        let p = self.positions.entry(key).or_default();
        if let Some(l) = leverage {
            p.leverage_set = l;
        }
        if let Some(m) = mode {
            p.isolated = m == MarginMode::Isolated;
        }
        self.position_row(at, key, batch)
    }

    /// `IsolatedMarginAdjusted`: out of the wallet into the position (< 0: back).
    pub(super) fn isolated_adjusted(&mut self, a: AccountId, delta: i64) {
        let p = self.parts(a).because(Why::IsolatedMargin);
        p.isolated = p.isolated.saturating_sub(delta);
    }

    /// `MarkPriceSet`: the time series and the perpetual's row.
    pub(super) fn mark_set(
        &mut self,
        at: At,
        id: InstrumentId,
        mark: u64,
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        let mark_price = big(at.seq, "mark_price", mark)?;
        batch.futures.mark_prices.push(MarkPriceRow {
            instrument_id: id as i32,
            seq: at.seq_big,
            mark_price,
            ts_ns: at.ts,
        });
        if let Some(p) = self.perps.get_mut(&id) {
            p.mark = mark;
            self.perpetual_row(at, id, batch)?;
        }
        Ok(())
    }

    /// `OpenInterestChanged`.
    pub(super) fn open_interest(
        &mut self,
        at: At,
        id: InstrumentId,
        oi: u64,
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        if let Some(p) = self.perps.get_mut(&id) {
            p.open_interest = oi;
            self.perpetual_row(at, id, batch)?;
        }
        Ok(())
    }

    /// `FundingPayment`: a row; a cross position's goes into the wallet.
    pub(super) fn funding_payment(&mut self, at: At, f: &engine::FundingPayment, batch: &mut Batch) {
        batch.futures.funding_payments.push(FundingPaymentRow {
            account_id: f.account as i32,
            instrument_id: f.instrument as i32,
            seq: at.seq_big,
            amount: f.amount,
            ts_ns: at.ts,
        });
        let cross = !self.isolated(f.account, f.instrument);
        let p = self.parts(f.account).because(Why::Funding);
        if cross {
            p.funding = p.funding.saturating_add(f.amount);
        }
    }

    /// `FundingApplied`: a row; the residue goes to the insurance fund's wallet.
    pub(super) fn funding_applied(
        &mut self,
        at: At,
        f: &FundingApplied,
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        batch.futures.funding.push(FundingRow {
            instrument_id: f.instrument as i32,
            seq: at.seq_big,
            rate_ppm: f.rate_ppm,
            mark_price: big(at.seq, "mark_price", f.mark_price)?,
            open_interest: big(at.seq, "open_interest", f.open_interest)?,
            paid: f.paid,
            received: f.received,
            residue: f.residue,
            next_funding_time_ns: big(at.seq, "next_funding_time_ns", f.next_funding_time_ns)?,
            ts_ns: at.ts,
        });
        if f.residue != 0 {
            let fund = self.fund;
            let p = self.parts(fund).because(Why::Funding);
            p.insurance = p.insurance.saturating_add(f.residue);
        }
        Ok(())
    }

    /// A trade on a perpetual: cross positions pay their fees from the wallet; a liquidation
    /// order's trade (taker order id 0) closes part of its liquidation through the book.
    pub(super) fn trade(&mut self, t: &Trade, batch: &mut Batch) {
        if !self.perps.contains_key(&t.instrument) {
            return;
        }
        for (a, fee) in [(t.maker_account, t.maker_fee), (t.taker_account, t.taker_fee)] {
            let cross = !self.isolated(a, t.instrument);
            let p = self.parts(a).because(Why::Trade);
            if cross {
                p.fee = p.fee.saturating_add(fee);
            }
        }
        if t.taker_order_id == 0 {
            if let Some(row) = self.liquidation_row(t.taker_account, t.instrument, batch) {
                row.book_qty = row.book_qty.saturating_add(t.qty as Big);
            }
        }
    }

    /// `TransferApplied` of a futures transfer: into (> 0) or out of the target's wallet.
    pub(super) fn transfer(&mut self, t: &TransferApplied, cmd: &Command) {
        let amount = i64::try_from(t.amount).unwrap_or(i64::MAX);
        let (signed, why) = match t.command {
            CommandType::MarginDeposit => (amount, Why::MarginDeposit),
            CommandType::MarginWithdraw => (-amount, Why::MarginWithdraw),
            CommandType::MarginDebit => (-amount, Why::MarginDebit),
            CommandType::WalletTransfer => match cmd.kind {
                CommandKind::WalletTransfer(w) if w.to_futures => (amount, Why::WalletTransfer),
                _ => (-amount, Why::WalletTransfer),
            },
            _ => return,
        };
        let p = self.parts(t.target).because(why);
        p.transfer = p.transfer.saturating_add(signed);
    }

    /// `Liquidation`: a row, completed by the events that follow it.
    pub(super) fn liquidation(&mut self, at: At, l: &Liquidation, batch: &mut Batch) -> Result<(), ProjectError> {
        let v = &mut batch.futures.liquidations;
        let idx = self.liquidating.len() as i32;
        self.liquidating.push(((l.account, l.instrument), v.len()));
        v.push(LiquidationRow {
            account_id: l.account as i32,
            seq: at.seq_big,
            idx,
            instrument_id: l.instrument as i32,
            size: l.size,
            mark_price: big(at.seq, "mark_price", l.mark_price)?,
            liq_price: big(at.seq, "liq_price", l.liq_price)?,
            bankruptcy_price: big(at.seq, "bankruptcy_price", l.bankruptcy_price)?,
            book_qty: 0,
            taken_over_qty: 0,
            adl_qty: 0,
            clearance: 0,
            ts_ns: at.ts,
        });
        self.parts(l.account).because(Why::Liquidation);
        Ok(())
    }

    /// `TakenOver`: the insurance fund took over the rest of a liquidated position.
    pub(super) fn taken_over(&mut self, t: &engine::TakenOver, batch: &mut Batch) {
        if let Some(row) = self.liquidation_row(t.account, t.instrument, batch) {
            row.taken_over_qty = row.taken_over_qty.saturating_add(t.qty as Big);
        }
        let fund = self.fund;
        self.parts(fund).because(Why::Takeover);
    }

    /// `AutoDeleveraged`: a row for the counterparty; the liquidation's ADL quantity.
    pub(super) fn deleveraged(
        &mut self,
        at: At,
        d: &engine::AutoDeleveraged,
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        batch.futures.adl.push(AdlRow {
            account_id: d.counterparty as i32,
            seq: at.seq_big,
            idx: self.adl_idx,
            liquidated_account_id: d.account as i32,
            instrument_id: d.instrument as i32,
            qty: big(at.seq, "qty", d.qty)?,
            price: big(at.seq, "price", d.price)?,
            ts_ns: at.ts,
        });
        self.adl_idx += 1;
        if let Some(row) = self.liquidation_row(d.account, d.instrument, batch) {
            row.adl_qty = row.adl_qty.saturating_add(d.qty as Big);
        }
        self.parts(d.counterparty).because(Why::Adl);
        Ok(())
    }

    /// `LiquidationDone`: the clearance leaves the liquidated margin (a cross account's wallet, or
    /// an isolated position's margin) for the insurance fund's wallet.
    pub(super) fn liquidation_done(&mut self, d: &engine::LiquidationDone, batch: &mut Batch) {
        if let Some(row) = self.liquidation_row(d.account, d.instrument, batch) {
            row.clearance = d.clearance;
        }
        if d.clearance == 0 {
            return;
        }
        let (fund, cross) = (self.fund, !self.isolated(d.account, d.instrument));
        let p = self.parts(fund).because(Why::Insurance);
        p.insurance = p.insurance.saturating_add(d.clearance);
        if cross && d.account != fund {
            let p = self.parts(d.account);
            p.insurance = p.insurance.saturating_sub(d.clearance);
        }
    }

    /// `BankruptcyCovered`: the insurance fund's wallet pays (the receiving side is `other`).
    pub(super) fn covered(&mut self, amount: i64) {
        let fund = self.fund;
        let p = self.parts(fund).because(Why::Insurance);
        p.insurance = p.insurance.saturating_sub(amount);
    }

    /// `PositionChanged`: a history row and the record's row; a cross position's realised PnL
    /// went into the wallet.
    pub(super) fn position_changed(
        &mut self,
        at: At,
        c: &PositionChanged,
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        let key = (c.account, c.instrument);
        let pos = self.positions.entry(key).or_default();
        let realised = c.realised_pnl.saturating_sub(pos.realised);
        let cross = !pos.isolated;
        pos.take(c);
        if cross && realised != 0 {
            let p = self.parts(c.account);
            p.realised = p.realised.saturating_add(realised);
        }
        batch.futures.position_history.push(PositionHistoryRow {
            account_id: c.account as i32,
            instrument_id: c.instrument as i32,
            seq: at.seq_big,
            size: c.size,
            cost: c.cost,
            entry_price: big(at.seq, "entry_price", c.entry_price)?,
            realised_pnl: c.realised_pnl,
            isolated_margin: c.isolated_margin,
            liq_price: big(at.seq, "liq_price", c.liq_price)?,
            ts_ns: at.ts,
        });
        self.position_row(at, key, batch)
    }

    /// `WalletChanged`: a ledger row and the wallet's row. A cross position's liquidation price
    /// moves with the wallet without a `PositionChanged`: the account's cross positions' rows are
    /// refreshed from the engine (the state after this command).
    pub(super) fn wallet_changed(
        &mut self,
        engine: &Engine,
        at: At,
        w: &WalletChanged,
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        let prev = self.wallets.insert(w.account, w.wallet).unwrap_or(0);
        let delta = w.wallet.saturating_sub(prev);
        let parts = self.parts.remove(&w.account).unwrap_or_default();
        batch.futures.ledger.push(FuturesLedgerRow {
            account_id: w.account as i32,
            asset_id: w.asset as i32,
            seq: at.seq_big,
            reason: parts.why.label(),
            wallet_delta: delta,
            wallet: w.wallet,
            realised_pnl: parts.realised,
            fee: parts.fee,
            funding: parts.funding,
            transfer: parts.transfer,
            isolated_margin: parts.isolated,
            insurance: parts.insurance,
            other: delta.saturating_sub(parts.itemised()),
            ts_ns: at.ts,
        });
        let key = (w.account as i32, w.asset as i32);
        batch.futures.wallets.insert(
            key,
            WalletRow {
                account_id: key.0,
                asset_id: key.1,
                wallet: w.wallet,
                updated_seq: at.seq_big,
                updated_ts_ns: at.ts,
            },
        );
        let mut moved = Vec::new();
        for (&(a, id), pos) in self.positions.range_mut((w.account, 0)..=(w.account, InstrumentId::MAX)) {
            if pos.size == 0 || pos.isolated {
                continue;
            }
            if let Some((c, _)) = engine.futures_position(a, id) {
                if c.liq_price != pos.liq_price {
                    pos.liq_price = c.liq_price;
                    moved.push((a, id));
                }
            }
        }
        for k in moved {
            self.position_row(at, k, batch)?;
        }
        Ok(())
    }
}

impl Pos {
    /// The position fields of `c` (settings stay).
    fn take(&mut self, c: &PositionChanged) {
        self.size = c.size;
        self.cost = c.cost;
        self.entry_price = c.entry_price;
        self.realised = c.realised_pnl;
        self.iso = c.isolated_margin;
        self.liq_price = c.liq_price;
    }
}

#[cfg(test)]
mod tests {
    use engine::*;

    use crate::projection::Projection;
    use crate::rows::Batch;

    const PERP: InstrumentId = 1;
    const USDT: AssetId = 2;
    const FUND: AccountId = 9;

    /// Applies `cmds` (sender, kind) into one batch.
    fn project(engine: &mut Engine, p: &mut Projection, cmds: &[(AccountId, CommandKind)]) -> Batch {
        let mut batch = Batch::new(engine.last_seq() + 1);
        for (account, kind) in cmds {
            let c = Command { account: *account, timestamp_ns: 1, kind: *kind };
            let seq = engine.last_seq() + 1;
            let mut events = Vec::new();
            engine.apply(seq, &c, &mut events);
            assert!(!events.iter().any(|e| matches!(e.kind, EventKind::Rejected(_))), "{c:?}: {events:?}");
            p.apply(engine, seq, &c, &events, &mut batch).unwrap();
            batch.last_seq = seq;
        }
        batch
    }

    fn order(side: Side, price: u64, qty: u64) -> CommandKind {
        let (order_type, tif) =
            if price == 0 { (OrderType::Market, TimeInForce::Ioc) } else { (OrderType::Limit, TimeInForce::Gtc) };
        let o = NewOrder {
            client_order_id: price + qty,
            instrument: PERP,
            side,
            order_type,
            tif,
            stp: StpMode::None,
            price,
            qty,
        };
        CommandKind::NewOrder(o)
    }

    /// docs/futures.md, example 8: an isolated long liquidated through the book (800), the rest
    /// taken over by the fund (200), clearance 4,600. The ledger places each amount.
    #[test]
    fn an_isolated_liquidation_is_itemised_in_the_ledger_and_its_row() {
        let cfg =
            EngineConfig { risk_checks: true, insurance_account: FUND, oracle_account: 8, ..EngineConfig::small() };
        let mut engine = Engine::new(cfg);
        let mut p = Projection::from_engine(&engine);
        let spec = InstrumentSpec { base_asset: 1, quote_asset: USDT, ..engine::examples::btc_perp_spec(PERP) };
        let tier = |index, max_notional, max_leverage, mmr_ppm, maint_amount| {
            CommandKind::SetRiskTier(SetRiskTier {
                instrument: PERP,
                index,
                max_leverage,
                mmr_ppm,
                max_notional,
                maint_amount,
            })
        };
        let deposit =
            |target, amount, tx_id| CommandKind::MarginDeposit(Transfer { target, asset: USDT, amount, tx_id });
        let create =
            |target| CommandKind::CreateAccount(CreateAccount { target, tier: 0, status: AccountStatus::Active });
        let setup = [
            (0, CommandKind::AddPerpetual(spec)),
            (0, tier(0, 5_000_000, 125, 4_000, 0)),
            (0, tier(1, 25_000_000, 100, 5_000, 5_000)),
            (0, tier(2, 100_000_000, 50, 10_000, 130_000)),
            (
                0,
                CommandKind::SetFeeSchedule(SetFeeSchedule {
                    instrument: PERP,
                    tier: 0,
                    maker_ppm: 200,
                    taker_ppm: 500,
                }),
            ),
            (
                0,
                CommandKind::SetInstrumentState(SetInstrumentState {
                    instrument: PERP,
                    state: InstrumentState::Trading,
                }),
            ),
            (0, create(1)),
            (0, create(2)),
            (0, deposit(1, 2_000_000, 1)),
            (0, deposit(2, 100_000_000, 2)),
            (0, deposit(FUND, 500_000, 3)),
            (1, CommandKind::SetMarginMode(SetMarginMode { instrument: PERP, mode: MarginMode::Isolated })),
        ];
        let b = project(&mut engine, &mut p, &setup);
        assert_eq!(b.futures.risk_tiers.len(), 3);
        assert_eq!((b.instruments[&1].perpetual, b.futures.perpetuals[&1].mark_price), (true, 6_000_000));
        let a = &b.futures.positions[&(1, 1)];
        assert_eq!((a.margin_mode, a.leverage, a.size), ("isolated", 20, 0), "settings only, the default leverage");

        // A buys 1,000: the IM of 300,000 leaves the wallet for the position (`other`), the fee
        // is the position's.
        let b =
            project(&mut engine, &mut p, &[(2, order(Side::Sell, 6_000_000, 1_000)), (1, order(Side::Buy, 0, 1_000))]);
        let row = b.futures.ledger.iter().find(|l| l.account_id == 1).unwrap();
        assert_eq!((row.reason, row.wallet_delta, row.fee, row.other), ("trade", -300_000, 0, -300_000));
        let maker = b.futures.ledger.iter().find(|l| l.account_id == 2).unwrap();
        assert_eq!((maker.fee, maker.realised_pnl, maker.other, maker.wallet_delta), (1_200, 0, 0, -1_200));
        assert_eq!(b.futures.positions[&(1, 1)].isolated_margin, 297_000);

        // The mark crash: through D's bids, then the fund.
        let mark = |m| (8, CommandKind::SetMarkPrice(SetMarkPrice { instrument: PERP, mark_price: m }));
        let b = project(
            &mut engine,
            &mut p,
            &[
                (2, order(Side::Buy, 5_710_000, 600)),
                (2, order(Side::Buy, 5_705_000, 200)),
                mark(5_726_640),
                mark(5_726_630),
            ],
        );
        let l = &b.futures.liquidations[..];
        assert_eq!(l.len(), 1);
        let l = &l[0];
        assert_eq!((l.size, l.liq_price, l.bankruptcy_price), (1_000, 5_726_634, 5_703_000));
        assert_eq!((l.book_qty, l.taken_over_qty, l.adl_qty, l.clearance), (800, 200, 0, 4_600));
        assert_eq!(b.trades.iter().filter(|t| t.liquidation).count(), 2);
        let fund = b.futures.ledger.iter().find(|r| r.account_id == FUND as i32).unwrap();
        assert_eq!((fund.reason, fund.insurance, fund.other, fund.wallet_delta), ("takeover", 4_600, 0, 4_600));
        assert!(!b.futures.ledger.iter().any(|r| r.account_id == 1), "an isolated clearance leaves no wallet");
        let a = &b.futures.positions[&(1, 1)];
        assert_eq!((a.size, a.isolated_margin), (0, 0));
        assert_eq!(b.futures.positions[&(FUND as i32, 1)].size, 200);
        assert_eq!(b.futures.perpetuals[&1].open_interest, 200, "D bought 800 back: D short 200, the fund long 200");
        // A projection rebuilt from the engine (a restart) knows the same state.
        let rebuilt = Projection::from_engine(&engine);
        assert_eq!(format!("{:?}", rebuilt.futures.positions), format!("{:?}", p.futures.positions));
        assert_eq!(rebuilt.futures.wallets.get(&FUND), p.futures.wallets.get(&FUND));
    }
}
