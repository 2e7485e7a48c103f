//! Engine events to rows: what each event means for the read side's tables.
//!
//! The projection keeps the little state the events do not carry: the live orders (an event
//! about an order carries only what changed, a row carries everything), every balance (the
//! ledger stores deltas) and each instrument's `qty_scale` (trade notionals). It is rebuilt from
//! the engine at a checkpoint ([`Projection::from_engine`]), so it is never persisted. Events it
//! does not project (levels, queries, fee schedules, credentials, and kinds added later) are
//! skipped, never an error. The futures side (positions, wallets, funding, liquidations) is in
//! [`futures`].

mod futures;

use std::collections::HashMap;

use engine::{
    AccountId, AssetId, Command, Engine, Event, EventKind, InstrumentId, OrderId, OrderType, Qty, Seq, Side,
    TimeInForce,
};

use crate::labels;
use crate::rows::*;

/// A value the read side cannot store exactly.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProjectError {
    /// An integer at or above 2^63 where the schema has a `bigint` (prices, quantities, amounts).
    #[error("journal record {seq}: {field} = {value} does not fit a bigint (2^63 - 1 at most); nothing of the batch was written")]
    OutOfRange {
        /// The command.
        seq: Seq,
        /// Which value.
        field: &'static str,
        /// The value.
        value: u64,
    },
    /// An event about an order the projection does not know as live: the journal and the
    /// engine disagree (a bug; the projector stops rather than write a wrong row).
    #[error("journal record {seq}: event about order {order_id}, which is not live")]
    UnknownOrder {
        /// The command.
        seq: Seq,
        /// The order.
        order_id: OrderId,
    },
}

/// A live order, as the rows need it.
#[derive(Debug, Clone, Copy)]
struct Live {
    account: AccountId,
    instrument: InstrumentId,
    client_order_id: u64,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    price: u64,
    qty: Qty,
    leaves: Qty,
    /// Filled over the order's life (a cancel zeroes `leaves`, not this).
    filled: Qty,
    created_seq: Seq,
    created_ts_ns: u64,
}

/// Checked `u64` to `bigint`.
fn big(seq: Seq, field: &'static str, value: u64) -> Result<Big, ProjectError> {
    Big::try_from(value).map_err(|_| ProjectError::OutOfRange { seq, field, value })
}

/// The same 64 bits as a `bigint` (opaque ids chosen outside the exchange).
fn bits(v: u64) -> Big {
    v as Big
}

/// State the rows need beyond the events (see the module docs).
#[derive(Debug, Default)]
pub struct Projection {
    live: HashMap<OrderId, Live>,
    balances: HashMap<(AccountId, AssetId), (u64, u64)>,
    qty_scale: HashMap<InstrumentId, u64>,
    futures: futures::FuturesState,
}

/// One command's row positions (`idx` of the append-only tables keyed by `(seq, idx)`).
#[derive(Default)]
struct Idx {
    order_events: i32,
    ledger: i32,
    rejections: i32,
}

impl Projection {
    /// The projection of `engine`'s state: its resting orders, balances and instruments.
    pub fn from_engine(engine: &Engine) -> Projection {
        let mut p = Projection { futures: futures::FuturesState::from_engine(engine), ..Projection::default() };
        let ids: Vec<InstrumentId> = engine.instrument_ids().collect();
        for id in ids {
            let Some(view) = engine.instrument(id) else { continue };
            p.qty_scale.insert(id, view.spec.qty_scale.max(1));
            for side in [Side::Buy, Side::Sell] {
                // Resting orders are limit orders; armed ones carry the type they fire as.
                let armed = engine.armed_orders(id).into_iter().filter(|a| a.order.side == side);
                let resting = engine.book_orders(id, side).into_iter().map(|o| (o, OrderType::Limit));
                for (o, order_type) in resting.chain(armed.map(|a| (a.order, a.order_type))) {
                    // The rows of these orders exist already; the creation fields only an insert
                    // uses are never read back for them.
                    p.live.insert(
                        o.order_id,
                        Live {
                            account: o.account,
                            instrument: o.instrument,
                            client_order_id: o.client_order_id,
                            side: o.side,
                            order_type,
                            tif: o.tif,
                            price: o.price,
                            qty: o.qty,
                            leaves: o.leaves,
                            filled: o.qty - o.leaves,
                            created_seq: 0,
                            created_ts_ns: 0,
                        },
                    );
                }
            }
        }
        // Order lists' pending legs: live, in no book (a cold path: the snapshot lists them).
        if engine.pending_legs() != 0 {
            for pending in engine.snapshot().pending {
                let o = pending.order;
                let (Some(side), Some(order_type), Some(tif)) = (
                    Side::from_u8(pending.side),
                    OrderType::from_u8(pending.order_type),
                    engine::TimeInForce::from_u8(o.tif),
                ) else {
                    continue;
                };
                p.live.insert(
                    o.order_id,
                    Live {
                        account: o.account,
                        instrument: pending.instrument,
                        client_order_id: o.client_order_id,
                        side,
                        order_type,
                        tif,
                        price: pending.price,
                        qty: o.qty,
                        leaves: o.leaves,
                        filled: 0,
                        created_seq: 0,
                        created_ts_ns: 0,
                    },
                );
            }
        }
        if engine.risk_checks() {
            let cfg = engine.config();
            for account in (0..cfg.max_accounts).filter(|&a| engine.account_exists(a)) {
                for asset in 0..cfg.max_assets {
                    let b = engine.balance(account, asset);
                    if b != (0, 0) {
                        p.balances.insert((account, asset), b);
                    }
                }
            }
        }
        assert_eq!(
            p.live.len() as u64,
            engine.live_orders() as u64,
            "every live order, resting, armed or pending, is listed"
        );
        p
    }

    /// Orders the projection holds as live (equals the engine's resting orders between commands).
    pub fn live_orders(&self) -> usize {
        self.live.len()
    }

    /// Whether the engine has a perpetual (as of the last command applied).
    pub fn has_perpetuals(&self) -> bool {
        self.futures.has_perpetuals()
    }

    /// Adds the rows of command `seq` (already applied to `engine`, which emitted `events`).
    pub fn apply(
        &mut self,
        engine: &Engine,
        seq: Seq,
        cmd: &Command,
        events: &[Event],
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        debug_assert!(events.iter().all(|e| e.seq == seq), "events carry their command's sequence");
        let ts = big(seq, "timestamp_ns", cmd.timestamp_ns)?;
        let mut idx = Idx::default();
        let at = futures::At { seq, seq_big: big(seq, "seq", seq)?, ts };
        self.futures.begin();
        for e in events {
            match &e.kind {
                EventKind::Accepted(a) => self.accepted(seq, ts, a, batch, &mut idx)?,
                EventKind::ListAccepted(l) => self.list_accepted(seq, ts, l, cmd, batch, &mut idx)?,
                EventKind::Armed(a) => self.armed(seq, ts, a, batch, &mut idx)?,
                EventKind::Triggered(t) => {
                    let live =
                        *self.live.get(&t.order_id).ok_or(ProjectError::UnknownOrder { seq, order_id: t.order_id })?;
                    self.order_changed(seq, ts, t.order_id, &live, "triggered", None, None, batch, &mut idx)?
                }
                EventKind::Trade(t) => self.trade(seq, ts, t, batch, &mut idx)?,
                EventKind::Cancelled(c) => self.cancelled(seq, ts, c, batch, &mut idx)?,
                EventKind::Amended(a) => self.amended(seq, ts, a, batch, &mut idx)?,
                EventKind::Trimmed(x) => self.trimmed(seq, ts, x, batch, &mut idx)?,
                EventKind::BalanceChanged(b) => self.balance(seq, ts, b, batch, &mut idx)?,
                EventKind::Rejected(r) => {
                    batch.rejections.push(RejectionRow {
                        seq: big(seq, "seq", seq)?,
                        idx: idx.rejections,
                        account_id: r.account as i32,
                        command: labels::command(r.command),
                        client_order_id: bits(r.client_order_id),
                        order_id: bits(r.order_id),
                        instrument_id: r.instrument as i32,
                        reason: labels::reject_reason(r.reason),
                        ts_ns: ts,
                    });
                    idx.rejections += 1;
                }
                EventKind::TransferApplied(t) => {
                    batch.transfers.push(TransferRow {
                        seq: big(seq, "seq", seq)?,
                        kind: labels::command(t.command),
                        account_id: t.target as i32,
                        asset_id: t.asset as i32,
                        amount: big(seq, "amount", t.amount)?,
                        tx_id: bits(t.tx_id),
                        ts_ns: ts,
                    });
                    self.futures.transfer(t, cmd);
                }
                EventKind::AccountUpdated(u) => {
                    let seq = big(seq, "seq", seq)?;
                    batch.accounts.insert(
                        u.target as i32,
                        AccountRow {
                            account_id: u.target as i32,
                            status: labels::account_status(u.status),
                            fee_tier: u.tier as i16,
                            created_seq: seq,
                            updated_seq: seq,
                        },
                    );
                }
                EventKind::InstrumentAdded(a) => {
                    self.qty_scale.insert(a.spec.id, a.spec.qty_scale.max(1));
                    if a.perpetual {
                        self.futures.perpetual_added(at, a.spec.id, a.spec.reference_price, batch)?;
                    }
                    self.instrument(engine, seq, a.spec.id, batch)?;
                }
                EventKind::InstrumentStateChanged(s) => self.instrument(engine, seq, s.instrument, batch)?,
                _ => self.futures_event(engine, at, &e.kind, batch)?,
            }
        }
        batch.events += events.len() as u64;
        Ok(())
    }

    /// The events only the futures side projects (anything else is skipped).
    fn futures_event(
        &mut self,
        engine: &Engine,
        at: futures::At,
        kind: &EventKind,
        batch: &mut Batch,
    ) -> Result<(), ProjectError> {
        let f = &mut self.futures;
        match kind {
            EventKind::RiskTierSet(t) => f.risk_tier_set(at, &t.tier, batch)?,
            EventKind::LeverageSet(l) => f.settings(at, (l.account, l.instrument), Some(l.leverage), None, batch)?,
            EventKind::MarginModeSet(m) => f.settings(at, (m.account, m.instrument), None, Some(m.mode), batch)?,
            EventKind::IsolatedMarginAdjusted(m) => f.isolated_adjusted(m.account, m.delta),
            EventKind::MarkPriceSet(m) => f.mark_set(at, m.instrument, m.mark_price, batch)?,
            EventKind::FundingPayment(p) => f.funding_payment(at, p, batch),
            EventKind::FundingApplied(a) => f.funding_applied(at, a, batch)?,
            EventKind::Liquidation(l) => f.liquidation(at, l, batch)?,
            EventKind::TakenOver(t) => f.taken_over(t, batch),
            EventKind::AutoDeleveraged(d) => f.deleveraged(at, d, batch)?,
            EventKind::LiquidationDone(d) => f.liquidation_done(d, batch),
            EventKind::BankruptcyCovered(c) => f.covered(c.amount),
            EventKind::PositionChanged(c) => f.position_changed(at, c, batch)?,
            EventKind::WalletChanged(w) => f.wallet_changed(engine, at, w, batch)?,
            EventKind::OpenInterestChanged(o) => f.open_interest(at, o.instrument, o.open_interest, batch)?,
            _ => {}
        }
        Ok(())
    }

    /// Registers a new live order (accepted or armed): nothing filled yet.
    fn new_live(
        &mut self,
        seq: Seq,
        ts: Big,
        order_id: OrderId,
        (account, instrument, client_order_id): (AccountId, InstrumentId, u64),
        (side, order_type, tif, price, qty): (Side, OrderType, engine::TimeInForce, u64, u64),
    ) -> Live {
        let live = Live {
            account,
            instrument,
            client_order_id,
            side,
            order_type,
            tif,
            price,
            qty,
            leaves: qty,
            filled: 0,
            created_seq: seq,
            created_ts_ns: ts as u64,
        };
        let prev = self.live.insert(order_id, live);
        assert!(prev.is_none(), "engine order ids are never reused");
        live
    }

    /// An order list: its pending legs are live orders from now on (their ids are taken), in no
    /// book; a row with status `pending` each, which their `Accepted` or `Armed` turns `new` or
    /// `armed` when their working order fills.
    fn list_accepted(
        &mut self,
        seq: Seq,
        ts: Big,
        l: &engine::ListAccepted,
        cmd: &Command,
        batch: &mut Batch,
        idx: &mut Idx,
    ) -> Result<(), ProjectError> {
        let engine::CommandKind::NewOrderList(list) = cmd.kind else { return Ok(()) };
        for (k, (o, _)) in list.orders().enumerate().skip(list.has_working() as usize) {
            if list.kind == engine::ListKind::Oco {
                break;
            }
            let order_id = l.list_id + k as u64;
            let live = self.new_live(
                seq,
                ts,
                order_id,
                (l.account, l.instrument, o.client_order_id),
                (o.side, o.order_type, o.tif, o.price, o.qty),
            );
            self.order_changed(seq, ts, order_id, &live, "pending", None, Some("pending"), batch, idx)?;
        }
        Ok(())
    }

    fn accepted(
        &mut self,
        seq: Seq,
        ts: Big,
        a: &engine::Accepted,
        batch: &mut Batch,
        idx: &mut Idx,
    ) -> Result<(), ProjectError> {
        // A pending list leg placed now: the same order, live since its list was accepted.
        if let Some(&live) = self.live.get(&a.order_id) {
            return self.order_changed(seq, ts, a.order_id, &live, "accepted", None, Some("new"), batch, idx);
        }
        let live = self.new_live(
            seq,
            ts,
            a.order_id,
            (a.account, a.instrument, a.client_order_id),
            (a.side, a.order_type, a.tif, a.price, a.qty),
        );
        self.order_changed(seq, ts, a.order_id, &live, "accepted", None, None, batch, idx)
    }

    /// A conditional order: a row with status `armed` (its trigger price is not projected yet: the
    /// armed order's reports carry it), which `Triggered` turns `new`.
    fn armed(
        &mut self,
        seq: Seq,
        ts: Big,
        a: &engine::Armed,
        batch: &mut Batch,
        idx: &mut Idx,
    ) -> Result<(), ProjectError> {
        if let Some(&live) = self.live.get(&a.order_id) {
            return self.order_changed(seq, ts, a.order_id, &live, "armed", None, Some("armed"), batch, idx);
        }
        let live = self.new_live(
            seq,
            ts,
            a.order_id,
            (a.account, a.instrument, a.client_order_id),
            (a.side, a.order_type, a.tif, a.price, a.qty),
        );
        self.order_changed(seq, ts, a.order_id, &live, "armed", None, Some("armed"), batch, idx)
    }

    fn trade(
        &mut self,
        seq: Seq,
        ts: Big,
        t: &engine::Trade,
        batch: &mut Batch,
        idx: &mut Idx,
    ) -> Result<(), ProjectError> {
        let scale = self.qty_scale.get(&t.instrument).copied().unwrap_or(1);
        let notional = (t.price as u128 * t.qty as u128 / scale as u128).min(u64::MAX as u128) as u64;
        let trade_id = big(seq, "trade_id", t.trade_id)?;
        let (price, qty) = (big(seq, "price", t.price)?, big(seq, "qty", t.qty)?);
        batch.trades.push(TradeRow {
            trade_id,
            seq: big(seq, "seq", seq)?,
            instrument_id: t.instrument as i32,
            price,
            qty,
            notional: big(seq, "notional", notional)?,
            taker_side: labels::side(t.taker_side),
            maker_order_id: big(seq, "order_id", t.maker_order_id)?,
            maker_account_id: t.maker_account as i32,
            taker_order_id: big(seq, "order_id", t.taker_order_id)?,
            taker_account_id: t.taker_account as i32,
            maker_fee: t.maker_fee,
            taker_fee: t.taker_fee,
            ts_ns: ts,
            liquidation: t.taker_order_id == 0,
        });
        self.futures.trade(t, batch);
        let minute = ts.div_euclid(60_000_000_000);
        let c = batch.candles.entry((t.instrument as i32, minute)).or_insert(CandleRow {
            instrument_id: t.instrument as i32,
            minute,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 0,
            quote_volume: 0,
            trade_count: 0,
            first_trade_id: trade_id,
            last_trade_id: trade_id,
        });
        c.high = c.high.max(price);
        c.low = c.low.min(price);
        c.close = price;
        c.volume = c.volume.saturating_add(qty);
        c.quote_volume = c.quote_volume.saturating_add(notional as Big);
        c.trade_count += 1;
        c.last_trade_id = trade_id;
        for (order_id, leaves) in [(t.maker_order_id, t.maker_leaves), (t.taker_order_id, t.taker_leaves)] {
            // A perpetual's liquidation order (id 0) is never a live order (docs/futures.md, 8).
            if order_id == 0 {
                continue;
            }
            let live = self.live.get_mut(&order_id).ok_or(ProjectError::UnknownOrder { seq, order_id })?;
            live.leaves = leaves;
            live.filled += t.qty;
            let live = *live;
            if leaves == 0 {
                self.live.remove(&order_id);
            }
            let status = if leaves == 0 { "filled" } else { "partially_filled" };
            self.order_changed(seq, ts, order_id, &live, "fill", Some(trade_id), Some(status), batch, idx)?;
        }
        Ok(())
    }

    fn cancelled(
        &mut self,
        seq: Seq,
        ts: Big,
        c: &engine::Cancelled,
        batch: &mut Batch,
        idx: &mut Idx,
    ) -> Result<(), ProjectError> {
        let mut live = self.live.remove(&c.order_id).ok_or(ProjectError::UnknownOrder { seq, order_id: c.order_id })?;
        debug_assert_eq!(live.leaves, c.cancelled_qty, "a cancel takes what was open");
        debug_assert_eq!(live.filled, c.filled_qty, "fills are counted as they happen");
        live.leaves = 0;
        let reason = labels::cancel_reason(c.reason);
        self.order_changed(seq, ts, c.order_id, &live, "cancelled", None, Some("cancelled"), batch, idx)?;
        let row = batch.orders.get_mut(&bits(c.order_id)).expect("order_changed wrote the row");
        row.cancel_reason = Some(reason);
        batch.order_events.last_mut().expect("order_changed wrote the event").cancel_reason = Some(reason);
        Ok(())
    }

    fn amended(
        &mut self,
        seq: Seq,
        ts: Big,
        a: &engine::Amended,
        batch: &mut Batch,
        idx: &mut Idx,
    ) -> Result<(), ProjectError> {
        let live = self.live.get_mut(&a.order_id).ok_or(ProjectError::UnknownOrder { seq, order_id: a.order_id })?;
        live.price = a.price;
        live.qty = a.qty;
        live.leaves = a.leaves;
        let live = *live;
        self.order_changed(seq, ts, a.order_id, &live, "amended", None, None, batch, idx)
    }

    /// A resting reduce-only order cut down to its owner's position (perpetuals): its open
    /// quantity, and so its total, shrink; it stays live.
    fn trimmed(
        &mut self,
        seq: Seq,
        ts: Big,
        x: &engine::Trimmed,
        batch: &mut Batch,
        idx: &mut Idx,
    ) -> Result<(), ProjectError> {
        let live = self.live.get_mut(&x.order_id).ok_or(ProjectError::UnknownOrder { seq, order_id: x.order_id })?;
        debug_assert_eq!(live.leaves, x.leaves + x.cut, "a trim cuts from what was open");
        live.leaves = x.leaves;
        live.qty = live.filled + x.leaves;
        let live = *live;
        self.order_changed(seq, ts, x.order_id, &live, "trimmed", None, None, batch, idx)
    }

    /// Writes the order's row (its state now) and one `order_events` row. `status` `None`:
    /// `new` before any fill, `partially_filled` after.
    #[allow(clippy::too_many_arguments)]
    fn order_changed(
        &self,
        seq: Seq,
        ts: Big,
        order_id: OrderId,
        live: &Live,
        kind: &'static str,
        trade_id: Option<Big>,
        status: Option<&'static str>,
        batch: &mut Batch,
        idx: &mut Idx,
    ) -> Result<(), ProjectError> {
        let filled = live.filled;
        let status = status.unwrap_or(if filled == 0 { "new" } else { "partially_filled" });
        let (order_id, seq_big) = (big(seq, "order_id", order_id)?, big(seq, "seq", seq)?);
        let (price, qty) = (big(seq, "price", live.price)?, big(seq, "qty", live.qty)?);
        let (filled_qty, leaves_qty) = (big(seq, "filled_qty", filled)?, big(seq, "leaves_qty", live.leaves)?);
        batch.order_events.push(OrderEventRow {
            seq: seq_big,
            idx: idx.order_events,
            order_id,
            account_id: live.account as i32,
            kind,
            price,
            qty,
            filled_qty,
            leaves_qty,
            trade_id,
            cancel_reason: None,
            ts_ns: ts,
        });
        idx.order_events += 1;
        batch.orders.insert(
            order_id,
            OrderRow {
                order_id,
                account_id: live.account as i32,
                instrument_id: live.instrument as i32,
                client_order_id: bits(live.client_order_id),
                side: labels::side(live.side),
                order_type: labels::order_type(live.order_type),
                tif: labels::tif(live.tif),
                price,
                qty,
                filled_qty,
                leaves_qty,
                status,
                cancel_reason: None,
                created_seq: big(seq, "created_seq", live.created_seq)?,
                created_ts_ns: big(seq, "created_ts_ns", live.created_ts_ns)?,
                updated_seq: seq_big,
                updated_ts_ns: ts,
            },
        );
        Ok(())
    }

    fn balance(
        &mut self,
        seq: Seq,
        ts: Big,
        b: &engine::BalanceChanged,
        batch: &mut Batch,
        idx: &mut Idx,
    ) -> Result<(), ProjectError> {
        let prev = self.balances.insert((b.account, b.asset), (b.available, b.reserved)).unwrap_or((0, 0));
        let (available, reserved) = (big(seq, "available", b.available)?, big(seq, "reserved", b.reserved)?);
        let (prev_available, prev_reserved) = (big(seq, "available", prev.0)?, big(seq, "reserved", prev.1)?);
        let seq_big = big(seq, "seq", seq)?;
        batch.ledger.push(LedgerRow {
            seq: seq_big,
            idx: idx.ledger,
            account_id: b.account as i32,
            asset_id: b.asset as i32,
            reason: labels::balance_reason(b.reason),
            available_delta: available - prev_available,
            reserved_delta: reserved - prev_reserved,
            available,
            reserved,
            ts_ns: ts,
        });
        idx.ledger += 1;
        batch.balances.insert(
            (b.account as i32, b.asset as i32),
            BalanceRow {
                account_id: b.account as i32,
                asset_id: b.asset as i32,
                available,
                reserved,
                updated_seq: seq_big,
            },
        );
        Ok(())
    }

    /// The instrument's row as the engine has it now.
    fn instrument(&self, engine: &Engine, seq: Seq, id: InstrumentId, batch: &mut Batch) -> Result<(), ProjectError> {
        let Some(v) = engine.instrument(id) else { return Ok(()) };
        let s = &v.spec;
        let seq = big(seq, "seq", seq)?;
        batch.instruments.insert(
            id as i32,
            InstrumentRow {
                instrument_id: id as i32,
                symbol: s.symbol_str().to_string(),
                base_asset: s.base_asset as i32,
                quote_asset: s.quote_asset as i32,
                tick: big(seq as u64, "tick", s.tick)?,
                lot: big(seq as u64, "lot", s.lot)?,
                qty_scale: big(seq as u64, "qty_scale", s.qty_scale)?,
                min_qty: big(seq as u64, "min_qty", s.min_qty)?,
                max_qty: big(seq as u64, "max_qty", s.max_qty)?,
                min_notional: big(seq as u64, "min_notional", s.min_notional)?,
                price_band_bps: s.price_band_bps as i32,
                reference_price: big(seq as u64, "reference_price", v.reference_price)?,
                state: labels::instrument_state(v.state),
                perpetual: self.futures.is_perpetual(id),
                added_seq: seq,
                updated_seq: seq,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use engine::*;

    use super::*;

    fn cmd(account: u32, ts: u64, kind: CommandKind) -> Command {
        Command { account, timestamp_ns: ts, kind }
    }

    fn order(cid: u64, side: Side, price: u64, qty: u64) -> CommandKind {
        CommandKind::NewOrder(NewOrder::limit_gtc(cid, 1, side, price, qty))
    }

    /// Applies `cmds` from sequence 1 into one batch.
    fn project(engine: &mut Engine, p: &mut Projection, cmds: &[Command]) -> Batch {
        let mut batch = Batch::new(engine.last_seq() + 1);
        for c in cmds {
            let seq = engine.last_seq() + 1;
            let mut events = Vec::new();
            engine.apply(seq, c, &mut events);
            p.apply(engine, seq, c, &events, &mut batch).unwrap();
            batch.last_seq = seq;
        }
        batch
    }

    fn setup() -> (Engine, Projection) {
        let mut engine = Engine::new(EngineConfig { risk_checks: true, ..EngineConfig::small() });
        let mut p = Projection::from_engine(&engine);
        let spec = InstrumentSpec {
            id: 1,
            symbol: InstrumentSpec::symbol_from_str("BTC-USDT").unwrap(),
            base_asset: 1,
            quote_asset: 2,
            tick: 1,
            lot: 1,
            min_qty: 1,
            max_qty: 1000,
            min_notional: 0,
            price_band_bps: 5000,
            reference_price: 100,
            qty_scale: 1,
        };
        let mut cmds = vec![cmd(0, 1, CommandKind::AddInstrument(spec))];
        for (a, tx) in [(1, 1), (2, 3)] {
            let status = AccountStatus::Active;
            cmds.push(cmd(0, 1, CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status })));
            cmds.push(cmd(0, 1, CommandKind::Deposit(Transfer { target: a, asset: 1, amount: 1000, tx_id: tx })));
            cmds.push(cmd(
                0,
                1,
                CommandKind::Deposit(Transfer { target: a, asset: 2, amount: 100_000, tx_id: tx + 1 }),
            ));
        }
        let b = project(&mut engine, &mut p, &cmds);
        assert_eq!((b.instruments.len(), b.accounts.len(), b.transfers.len(), b.balances.len()), (1, 2, 4, 4));
        (engine, p)
    }

    #[test]
    fn an_order_placed_filled_in_part_and_cancelled_in_one_batch_is_one_row_and_four_changes() {
        let (mut engine, mut p) = setup();
        let t = 120_000_000_000; // minute 2
        let b = project(
            &mut engine,
            &mut p,
            &[
                cmd(1, t, order(7, Side::Sell, 100, 10)),
                cmd(2, t + 1, order(8, Side::Buy, 100, 4)),
                cmd(1, t + 2, CommandKind::Cancel(Cancel { order: OrderRef::Client(7) })),
            ],
        );
        let sell = &b.orders[&1];
        assert_eq!(
            (sell.status, sell.filled_qty, sell.leaves_qty, sell.cancel_reason),
            ("cancelled", 4, 0, Some("user"))
        );
        assert_eq!((sell.created_seq, sell.updated_seq), (8, 10));
        assert_eq!(b.orders[&2].status, "filled");
        let kinds: Vec<_> = b.order_events.iter().map(|e| (e.seq, e.idx, e.order_id, e.kind)).collect();
        assert_eq!(
            kinds,
            [
                (8, 0, 1, "accepted"),
                (9, 0, 2, "accepted"),
                (9, 1, 1, "fill"),
                (9, 2, 2, "fill"),
                (10, 0, 1, "cancelled")
            ]
        );
        assert_eq!(b.trades.len(), 1);
        let c = &b.candles[&(1, 2)];
        assert_eq!((c.open, c.close, c.volume, c.quote_volume, c.trade_count), (100, 100, 4, 400, 1));
        // The ledger's deltas chain from the deposits.
        for l in &b.ledger {
            let before =
                b.ledger.iter().filter(|x| (x.account_id, x.asset_id) == (l.account_id, l.asset_id) && x.seq < l.seq);
            let (a, r) = before.fold((0, 0), |(a, r), x| (a + x.available_delta, r + x.reserved_delta));
            let deposit = if l.asset_id == 1 { 1000 } else { 100_000 };
            assert_eq!((deposit + a + l.available_delta, r + l.reserved_delta), (l.available, l.reserved), "{l:?}");
        }
        assert_eq!(p.live_orders(), 0);
    }

    #[test]
    fn a_projection_rebuilt_from_the_engine_continues_where_the_first_left_off() {
        let (mut engine, mut p) = setup();
        project(&mut engine, &mut p, &[cmd(1, 5, order(7, Side::Sell, 100, 10))]);
        let mut rebuilt = Projection::from_engine(&engine);
        assert_eq!(rebuilt.live_orders(), 1);
        let b = project(&mut engine, &mut rebuilt, &[cmd(2, 6, order(8, Side::Buy, 100, 4))]);
        let sell = &b.orders[&1];
        assert_eq!((sell.status, sell.filled_qty, sell.leaves_qty, sell.qty), ("partially_filled", 4, 6, 10));
        let ledger_of_seller_base = b.ledger.iter().find(|l| (l.account_id, l.asset_id) == (1, 1)).unwrap();
        assert_eq!(ledger_of_seller_base.reserved_delta, -4, "the rebuilt balances give the same deltas");
    }

    /// An OTO's pending leg is a `pending` row from the start; its working order's fill makes it
    /// `new`; a rebuilt projection knows it too; cancelling one leg cancels the other.
    #[test]
    fn order_lists_pending_legs_are_rows_from_the_start() {
        let (mut engine, mut p) = setup();
        let leg = ListLeg { order_type: OrderType::Limit, tif: TimeInForce::Gtc, price: 110, trigger: None };
        let oto = |cid| {
            CommandKind::NewOrderList(OrderList::oto(cid, 1, (Side::Buy, TimeInForce::Gtc, 90, 5), Side::Sell, 5, leg))
        };
        let b = project(&mut engine, &mut p, &[cmd(1, 5, oto(10))]);
        assert_eq!((b.orders[&1].status, b.orders[&2].status), ("new", "pending"));
        // A projection rebuilt from the engine (a restart) lists the pending leg as live.
        let mut rebuilt = Projection::from_engine(&engine);
        assert_eq!(rebuilt.live_orders(), 2);
        let b = project(&mut engine, &mut rebuilt, &[cmd(2, 6, order(8, Side::Sell, 90, 5))]);
        assert_eq!((b.orders[&1].status, b.orders[&2].status), ("filled", "new"));
        // Another OTO, cancelled by its pending leg: both rows end cancelled, one by its list.
        let b = project(
            &mut engine,
            &mut rebuilt,
            &[cmd(1, 7, oto(20)), cmd(1, 8, CommandKind::Cancel(Cancel { order: OrderRef::Client(21) }))],
        );
        let (working, pending) = (&b.orders[&4], &b.orders[&5]);
        assert_eq!((pending.status, pending.cancel_reason), ("cancelled", Some("user")));
        assert_eq!((working.status, working.cancel_reason), ("cancelled", Some("order_list")));
        assert_eq!(rebuilt.live_orders(), 1, "the first list's placed leg rests");
    }

    #[test]
    fn a_value_beyond_bigint_is_refused_with_its_field_and_sequence() {
        let (mut engine, mut p) = setup();
        let c = cmd(0, u64::MAX, CommandKind::QueryAccount(QueryAccount { target: 1 }));
        let seq = engine.last_seq() + 1;
        let mut events = Vec::new();
        engine.apply(seq, &c, &mut events);
        let err = p.apply(&engine, seq, &c, &events, &mut Batch::new(seq)).unwrap_err();
        assert_eq!(err, ProjectError::OutOfRange { seq, field: "timestamp_ns", value: u64::MAX });
    }
}
