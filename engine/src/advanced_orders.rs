//! Orders with options (`NewAdvancedOrder`): good-till-date expiry, market orders by quote
//! quantity, conditional orders with an expiry; the trigger amend; and expiry itself
//! (docs/matching.md, "Advanced orders").
//!
//! Expiry is driven by journaled time only: the engine's clock is the latest command timestamp
//! (the gateway's stamp), and each command first expires every order whose time has come, in
//! expiry-time then order-id order, under its own sequence number. While the market is idle the
//! gateway journals a `TimeTick` once an expiry is due, so orders expire within the tick period
//! without any command. A replay sees the same commands, so the same expiries.

use crate::command::*;
use crate::engine::{order_ref_ids, Engine, Out, PlaceOptions};
use crate::event::*;
use crate::order_book::crosses;
use crate::order_pool::{EXPIRES, NIL};
use crate::stop_orders::StopOptions;
use crate::trigger_book::fires;
use crate::types::*;

impl Engine {
    /// `NewAdvancedOrder`: the options' own rules, then the order's (as `NewOrder` or
    /// `NewStopOrder`, whose steps and reasons it shares).
    pub(crate) fn new_advanced_order<S: EventSink>(
        &mut self,
        account: AccountId,
        ts: u64,
        a: &AdvancedOrder,
        out: &mut Out<'_, S>,
    ) {
        let reject = |out: &mut Out<'_, S>, reason| {
            out.emit(EventKind::Rejected(Rejected {
                account,
                command: CommandType::NewAdvancedOrder,
                client_order_id: a.order.client_order_id,
                order_id: 0,
                instrument: a.order.instrument,
                reason,
            }))
        };
        if let Err(reason) = check_option_combination(a) {
            return reject(out, reason);
        }
        let perp = self.instrument_index(a.order.instrument).and_then(|ii| self.perp_of(ii)).is_some();
        let perp_only = a.reduce_only || a.close_position || a.trigger_source != TriggerSource::LastPrice;
        if perp || perp_only {
            return match self.new_perp_order(account, ts, a, out) {
                Ok(Some(ii)) => self.run_triggers(ii, ts, out),
                Ok(None) => {}
                Err(reason) => reject(out, reason),
            };
        }
        if let Some((trigger_price, trigger)) = a.trigger {
            let stop = StopOrder { order: a.order, trigger_price, trigger };
            let opts = StopOptions { expire_time_ns: a.expire_time_ns, trailing: a.trailing, ..StopOptions::default() };
            return self.new_stop_order(account, ts, &stop, opts, CommandType::NewAdvancedOrder, out);
        }
        let mut order = a.order;
        let mut opts = PlaceOptions {
            expire_time_ns: a.expire_time_ns,
            limit: None,
            quote_budget: a.quote_qty,
            display_qty: a.display_qty,
            reduce_only: false,
        };
        if a.quote_qty != 0 {
            match self.quote_order_qty(account, &order, a.quote_qty) {
                Ok((qty, limit)) => {
                    order.qty = qty;
                    opts.limit = Some(limit);
                }
                Err(reason) => return reject(out, reason),
            }
        }
        let ii = match self.validate_new_order(account, &order).and_then(|ii| {
            self.validate_expiry(a.expire_time_ns)?;
            self.validate_display(ii, &order, a.display_qty)?;
            Ok(ii)
        }) {
            Ok(ii) => ii,
            Err(reason) => return reject(out, reason),
        };
        if let Err(reason) = self.place_order(ii, account, ts, &order, opts, None, out) {
            return reject(out, reason);
        }
        self.run_triggers(ii, ts, out);
    }

    /// The expiry rules shared by resting and conditional orders: after the engine's time, and
    /// room in the expiry queue. 0 (no expiry) always passes.
    pub(crate) fn validate_expiry(&self, expire_time_ns: u64) -> Result<(), RejectReason> {
        if expire_time_ns == 0 {
            return Ok(());
        }
        if expire_time_ns <= self.clock_ns {
            return Err(RejectReason::AlreadyExpired);
        }
        if self.expiry.is_full() {
            return Err(RejectReason::CapacityReached);
        }
        Ok(())
    }

    /// An iceberg's display quantity (0 passes): on the lot, within the quantity range, below
    /// the order's quantity (else it is not an iceberg), and room in the iceberg table.
    fn validate_display(&self, ii: usize, o: &NewOrder, display_qty: Qty) -> Result<(), RejectReason> {
        if display_qty == 0 {
            return Ok(());
        }
        let inst = &self.instruments[ii];
        if !inst.on_lot(display_qty) {
            return Err(RejectReason::QtyOffLot);
        }
        if display_qty < inst.spec.min_qty {
            return Err(RejectReason::QtyOutOfRange);
        }
        if display_qty >= o.qty {
            return Err(RejectReason::InvalidField);
        }
        if self.icebergs.is_full() {
            return Err(RejectReason::CapacityReached);
        }
        Ok(())
    }

    /// Queues a live order's expiry (its slot has [`EXPIRES`] set).
    pub(crate) fn queue_expiry(&mut self, expire_time_ns: u64, order_id: OrderId) {
        let (index, orders) = (&self.index, &self.orders);
        self.expiry.push(expire_time_ns, order_id, |id| index.by_id(orders, id).is_some());
    }

    /// The quantity a quote-quantity market order trades and the price its walk stops at: the
    /// opposite side is walked best first within the market order's price band, as the order
    /// will match (self-trade prevention included: an own order ends the walk unless the mode
    /// cancels makers, whose orders are then skipped), taking from each maker the whole lots
    /// whose notional, rounded up, the remaining budget covers. So the order's notional never
    /// exceeds `quote_qty` (docs/matching.md). Steps 1-3 of a new order are checked first, so a
    /// bad account or instrument gets its own reason, not `NothingToFill`.
    fn quote_order_qty(&self, account: AccountId, o: &NewOrder, quote_qty: u64) -> Result<(Qty, Price), RejectReason> {
        self.trading_account(account)?;
        let ii = self.instrument_index(o.instrument).ok_or(RejectReason::UnknownInstrument)?;
        let inst = &self.instruments[ii];
        if inst.state != InstrumentState::Trading {
            return Err(RejectReason::InstrumentNotTrading);
        }
        let spec = &inst.spec;
        let band_limit = inst.order_limit(OrderType::Market, o.side, 0);
        let (mut budget, mut qty, mut last_price) = (quote_qty as u128, 0u64, 0);
        'levels: for l in inst.book.side(o.side.opposite()).iter_best_first() {
            let level = self.levels.get(l);
            if !crosses(o.side, band_limit, level.price) {
                break;
            }
            let price = level.price as u128;
            // Whole lots the budget buys at this price: notional(q) = ceil(price * q / scale).
            let lots_affordable = |budget: u128| budget * spec.qty_scale as u128 / price / spec.lot as u128;
            let mut s = level.head;
            while s != NIL {
                let maker = self.orders.get(s);
                if maker.account == account && o.stp != StpMode::None {
                    if o.stp != StpMode::CancelMaker {
                        break 'levels;
                    }
                } else {
                    let cap_qty = (lots_affordable(budget) * spec.lot as u128).min(u64::MAX as u128) as u64;
                    let q = cap_qty.min(maker.leaves);
                    if q == 0 {
                        break 'levels;
                    }
                    qty = qty.saturating_add(q);
                    last_price = level.price;
                    budget -= (price * q as u128).div_ceil(spec.qty_scale as u128).min(budget);
                    if q < maker.leaves || qty > spec.max_qty {
                        break 'levels;
                    }
                }
                s = self.orders.links(s).next;
            }
        }
        if qty == 0 {
            return Err(RejectReason::NothingToFill);
        }
        Ok((qty, last_price))
    }

    /// Cancels, with reason `Expired`, every order whose expiry time is at or before the
    /// engine's clock, earliest first (ties: lower order id first).
    pub(crate) fn expire_due<S: EventSink>(&mut self, out: &mut Out<'_, S>) {
        while let Some((_, order_id)) = self.expiry.pop_due(self.clock_ns) {
            // An order that already left is a tombstone.
            if let Some(slot) = self.index.by_id(&self.orders, order_id) {
                debug_assert!(self.orders.get(slot).flags & EXPIRES != 0);
                self.cancel_resting(slot, CancelReason::Expired, out);
            }
        }
    }

    /// The earliest expiry time queued (`u64::MAX`: none), for the gateway's time ticks. It may
    /// be an order that already left: a tick then expires nothing, and the next call is later.
    pub fn next_expiry_ns(&self) -> u64 {
        self.expiry.next_due_ns()
    }

    /// A resting iceberg order's (display quantity, visible slice); `None` for any other order.
    pub fn iceberg(&self, order_id: OrderId) -> Option<(Qty, Qty)> {
        let slot = self.index.by_id(&self.orders, order_id)?;
        (self.orders.get(slot).flags & crate::order_pool::ICEBERG != 0).then(|| {
            let e = self.icebergs.get(slot);
            (e.display_qty, e.visible)
        })
    }

    /// The engine's time: the latest command timestamp applied.
    pub fn clock_ns(&self) -> u64 {
        self.clock_ns
    }

    /// `AmendTrigger`: moves an armed order to the back of its new trigger price.
    pub(crate) fn amend_trigger<S: EventSink>(&mut self, account: AccountId, a: &AmendTrigger, out: &mut Out<'_, S>) {
        let found = self.lookup(account, a.order);
        let verdict = found.and_then(|slot| self.validate_trigger_amend(account, slot, a.trigger_price).map(|()| slot));
        let slot = match verdict {
            Ok(slot) => slot,
            Err(reason) => {
                let (client_order_id, order_id) = order_ref_ids(a.order);
                let instrument = found.map_or(0, |s| self.orders.get(s).instrument);
                return out.emit(EventKind::Rejected(Rejected {
                    account,
                    command: CommandType::AmendTrigger,
                    client_order_id,
                    order_id,
                    instrument,
                    reason,
                }));
            }
        };
        let o = *self.orders.get(slot);
        self.move_trigger(slot, a.trigger_price);
        out.emit(EventKind::TriggerAmended(TriggerAmended {
            account,
            order_id: o.order_id,
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            trigger_price: a.trigger_price,
        }));
    }

    /// Armed, its instrument trading, the account allowed to amend, the new trigger on tick,
    /// different and not already reached.
    fn validate_trigger_amend(
        &self,
        account: AccountId,
        slot: crate::order_pool::Slot,
        trigger_price: Price,
    ) -> Result<(), RejectReason> {
        use RejectReason::*;
        let o = self.orders.get(slot);
        if !o.is_armed() {
            return Err(NotArmed);
        }
        let ii = self.instrument_index(o.instrument).expect("armed order on a known instrument");
        let inst = &self.instruments[ii];
        if inst.state != InstrumentState::Trading {
            return Err(InstrumentNotTrading);
        }
        if self.config.risk_checks && self.accounts[account as usize].status == AccountStatus::Suspended {
            return Err(AccountSuspended);
        }
        if trigger_price == 0 || !inst.on_tick(trigger_price) {
            return Err(PriceOffTick);
        }
        // A trailing stop's trigger follows the price: there is no fixed trigger to move.
        if o.flags & crate::order_pool::TRAILING != 0 || trigger_price == self.levels.get(o.level).price {
            return Err(InvalidField);
        }
        let entry = self.armed.get(slot);
        let rise = entry.trigger.fires_on_rise(o.side);
        // A mark-price trigger against the mark (which exists: it was armed against it).
        if fires(rise, trigger_price, self.trigger_reference(ii, entry.source)) {
            return Err(WouldTriggerImmediately);
        }
        Ok(())
    }
}

/// Which options go together (`InvalidField` otherwise): a quote quantity only on a market
/// IOC/FOK order whose own quantity is 0, with no trigger and no expiry; an expiry only on an
/// order that can rest (limit GTC or post-only) or a conditional one; a display quantity only on
/// an order that can rest, not conditional; a trailing delta only on a stop-loss trigger whose
/// price is 0 (the trailing computes it); a mark-price source only with a trigger, and not on a
/// trailing stop (trailing stops follow the last price only).
fn check_option_combination(a: &AdvancedOrder) -> Result<(), RejectReason> {
    let o = &a.order;
    if a.quote_qty != 0
        && (o.order_type != OrderType::Market
            || o.qty != 0
            || !matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok)
            || a.trigger.is_some()
            || a.expire_time_ns != 0)
    {
        return Err(RejectReason::InvalidField);
    }
    let can_rest = o.order_type == OrderType::Limit && matches!(o.tif, TimeInForce::Gtc | TimeInForce::PostOnly);
    if a.expire_time_ns != 0 && !can_rest && a.trigger.is_none() {
        return Err(RejectReason::InvalidField);
    }
    if a.display_qty != 0 && (!can_rest || a.trigger.is_some()) {
        return Err(RejectReason::InvalidField);
    }
    if a.trailing.is_some() && !matches!(a.trigger, Some((0, TriggerKind::StopLoss))) {
        return Err(RejectReason::InvalidField);
    }
    if a.trigger_source != TriggerSource::LastPrice && (a.trigger.is_none() || a.trailing.is_some()) {
        return Err(RejectReason::InvalidField);
    }
    Ok(())
}
