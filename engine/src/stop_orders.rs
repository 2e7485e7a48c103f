//! Conditional orders (stop-loss and take-profit, market or limit): armed in their instrument's
//! [`TriggerBook`](crate::trigger_book::TriggerBook), fired in sequence with the trades that
//! reach their trigger price (docs/matching.md, "Conditional orders"). A perpetual's orders that
//! watch the mark price sit in a second trigger book of the same shape and are fired by the
//! oracle's `SetMarkPrice` through the same loop (docs/futures.md, "Mark-price triggers").
//!
//! An armed order takes an ordinary order slot (so it counts against the account's and the
//! engine's order limits, is found by engine or client order id, and is covered by cancel, mass
//! cancel and cancel-on-disconnect like any live order) whose `level` is a level of the trigger
//! book. It reserves funds from arming, as a resting order does. When it fires it leaves the
//! trigger book and is placed like a new order that keeps its order id.

use crate::armed_table::ArmedEntry;
use crate::command::*;
use crate::engine::{cancelled, order_ref_ids, Engine, Out, PlaceOptions};
use crate::event::*;
use crate::order_pool::{Order, Slot, ARMED, CLOSE_POSITION, EXPIRES, LISTED, NIL, REDUCE_ONLY, TRAILING};
use crate::risk::OrderRisk;
use crate::trigger_book::fires;
use crate::types::*;

/// A conditional order's options (from a `NewAdvancedOrder`; none for a `NewStopOrder`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StopOptions {
    /// Good till date (0: none).
    pub expire_time_ns: u64,
    /// A trailing stop's delta (the trigger price given is then 0).
    pub trailing: Option<Trailing>,
    /// Perpetuals: reduce-only (its size is cut to the position when it fires).
    pub reduce_only: bool,
    /// Perpetuals: closes the whole position when it fires.
    pub close_position: bool,
    /// Perpetuals: the mark price fires it instead of the last trade price.
    pub source: TriggerSource,
}

impl Engine {
    /// `NewStopOrder` (or a conditional `NewAdvancedOrder`, `command`, with its expiry):
    /// validate as a `NewOrder` (steps 1-12), then the trigger, then funding.
    pub(crate) fn new_stop_order<S: EventSink>(
        &mut self,
        account: AccountId,
        ts: u64,
        s: &StopOrder,
        opts: StopOptions,
        command: CommandType,
        out: &mut Out<'_, S>,
    ) {
        let StopOptions { expire_time_ns, trailing, reduce_only, close_position, source } = opts;
        let o = &s.order;
        let ii = match self.validate_stop_order(account, s, expire_time_ns, trailing, source) {
            Ok(ii) => ii,
            Err(reason) => {
                return out.emit(EventKind::Rejected(Rejected {
                    account,
                    command,
                    client_order_id: o.client_order_id,
                    order_id: 0,
                    instrument: o.instrument,
                    reason,
                }))
            }
        };
        let order_id = self.next_order_id;
        self.next_order_id += 1;
        let slot = self.orders.alloc(Order {
            order_id,
            client_order_id: o.client_order_id,
            qty: o.qty,
            leaves: o.qty,
            account,
            instrument: o.instrument,
            side: o.side,
            tif: o.tif,
            stp: o.stp,
            flags: (if expire_time_ns != 0 { EXPIRES } else { 0 })
                | (if reduce_only || close_position { REDUCE_ONLY } else { 0 })
                | if close_position { CLOSE_POSITION } else { 0 },
            ..Order::EMPTY
        });
        if expire_time_ns != 0 {
            self.queue_expiry(expire_time_ns, order_id);
        }
        self.index.insert(&self.orders, slot);
        self.link_account(slot);
        let need = if self.config.risk_checks {
            let risk = self.stop_order_risk(ii, account);
            self.requirement(ii, o.side, &risk, self.stop_limit(ii, o), o.qty).1
        } else {
            0
        };
        self.arm_slot(ii, slot, o, (s.trigger_price, s.trigger, source), trailing, need, ts, out);
    }

    /// The limit a conditional order reserves for while armed: its own, or for a market order
    /// the instrument's market-order limit at arming (re-reserved at the then limit on trigger).
    pub(crate) fn stop_limit(&self, ii: usize, o: &NewOrder) -> Price {
        self.instruments[ii].order_limit(o.order_type, o.side, o.price)
    }

    pub(crate) fn stop_order_risk(&self, ii: usize, account: AccountId) -> OrderRisk {
        let rates = self.instruments[ii].fees.rates(self.accounts[account as usize].tier);
        OrderRisk::new(rates.maker_ppm, rates.taker_ppm)
    }

    /// Steps 1-12 of a new order, then the trigger price (on tick; for a mark-price trigger a
    /// mark set by the oracle; not already reached by the price it watches) or the trailing
    /// delta, the armed capacity and (risk mode) the reservation.
    fn validate_stop_order(
        &self,
        account: AccountId,
        s: &StopOrder,
        expire_time_ns: u64,
        trailing: Option<Trailing>,
        source: TriggerSource,
    ) -> Result<usize, RejectReason> {
        let o = &s.order;
        let ii = self.validate_new_order(account, o)?;
        self.validate_expiry(expire_time_ns)?;
        let inst = &self.instruments[ii];
        let rise = s.trigger.fires_on_rise(o.side);
        if let Some(t) = trailing {
            // The option combination already required a stop-loss trigger of price 0.
            self.validate_trailing(ii, rise, t)?;
        } else {
            if s.trigger_price == 0 || !inst.on_tick(s.trigger_price) {
                return Err(RejectReason::PriceOffTick);
            }
            if source == TriggerSource::MarkPrice && !self.has_mark(ii) {
                return Err(RejectReason::NoMarkPrice);
            }
            if fires(rise, s.trigger_price, self.trigger_reference(ii, source)) {
                return Err(RejectReason::WouldTriggerImmediately);
            }
        }
        if self.armed.len() + self.pending_armed >= self.armed_capacity() {
            return Err(RejectReason::CapacityReached);
        }
        if self.config.risk_checks {
            let risk = self.stop_order_risk(ii, account);
            let (asset, need) = self.requirement(ii, o.side, &risk, self.stop_limit(ii, o), o.qty);
            if self.accounts[account as usize].balances[asset as usize].available < need {
                return Err(RejectReason::InsufficientBalance);
            }
        }
        Ok(ii)
    }

    /// Arms a live slot (indexed, in its account's list) as the conditional order `o`, reserving
    /// `reserve` (risk mode; the caller checked it is available): `Armed` (a trailing stop's
    /// trigger price at arming), then the back of its trigger level (in the trigger book of its
    /// source) or trailing group.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn arm_slot<S: EventSink>(
        &mut self,
        ii: usize,
        slot: Slot,
        o: &NewOrder,
        (trigger_price, trigger, source): (Price, TriggerKind, TriggerSource),
        trailing: Option<Trailing>,
        reserve: u64,
        ts: u64,
        out: &mut Out<'_, S>,
    ) {
        let (account, order_id) = (self.orders.get(slot).account, self.orders.get(slot).order_id);
        let rise = trigger.fires_on_rise(o.side);
        let trigger_price = match trailing {
            Some(t) => self.initial_trail_trigger(ii, rise, t),
            None => trigger_price,
        };
        out.emit(EventKind::Armed(Armed {
            account,
            order_id,
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            order_type: o.order_type,
            tif: o.tif,
            trigger,
            price: o.price,
            qty: o.qty,
            trigger_price,
            trigger_source: source,
            timestamp_ns: ts,
        }));
        self.orders.get_mut(slot).flags |= ARMED;
        if self.config.risk_checks {
            let risk = self.stop_order_risk(ii, account);
            let asset = self.requirement(ii, o.side, &risk, 0, 0).0;
            if reserve != 0 {
                self.reserve(account, asset, reserve, BalanceReason::Order);
            }
            self.risk[slot as usize] = OrderRisk { reserved: reserve, ..risk };
        }
        // A trailing stop watches the last price (a mark-price one is refused before).
        debug_assert!(trailing.is_none() || source == TriggerSource::LastPrice);
        match trailing {
            Some(t) => self.attach_trailing(ii, slot, rise, t),
            None => self.attach_armed(ii, slot, trigger_price, rise, source),
        }
        self.armed.insert(ArmedEntry { slot, order_type: o.order_type, trigger, source, price: o.price });
    }

    /// Whether a perpetual's oracle has set a mark: its mark has moved from the spec's reference
    /// price, the placeholder it starts with. Derived from the mark, not kept as a flag, so a
    /// snapshot taken before mark-price triggers existed restores to the state a replay reaches.
    pub(crate) fn has_mark(&self, ii: usize) -> bool {
        self.perp_of(ii).is_some_and(|p| self.perps[p].mark != self.instruments[ii].spec.reference_price)
    }

    /// The price an order of `source` on instrument `ii` is checked against: the last trade
    /// price, or a perpetual's mark.
    #[inline]
    pub(crate) fn trigger_reference(&self, ii: usize, source: TriggerSource) -> Price {
        match (source, self.perp_of(ii)) {
            (TriggerSource::MarkPrice, Some(p)) => self.perps[p].mark,
            _ => self.instruments[ii].reference_price,
        }
    }

    /// Appends an armed slot to the back of its trigger level in the trigger book of `source`
    /// (no market data: armed orders are never public).
    fn attach_armed(&mut self, ii: usize, slot: Slot, trigger_price: Price, rise: bool, source: TriggerSource) {
        let side = self.instruments[ii].triggers_of_mut(source).side_mut(rise);
        let l = match side.find(trigger_price) {
            Some(l) => l,
            None => {
                let l = self.levels.alloc(trigger_price);
                side.insert(trigger_price, l);
                l
            }
        };
        self.append_to_level(slot, l);
    }

    /// Unlinks an armed slot from its trigger level, dropping the level if it empties; returns
    /// its table entry (removed) and trigger price. The slot itself stays allocated.
    fn detach_armed(&mut self, ii: usize, slot: Slot) -> (ArmedEntry, Price) {
        let o = *self.orders.get(slot);
        debug_assert!(o.is_armed());
        let entry = self.armed.remove(slot);
        if o.flags & TRAILING != 0 {
            return (entry, self.detach_trailing(ii, slot, entry.trigger.fires_on_rise(o.side)));
        }
        let trigger_price = self.levels.get(o.level).price;
        self.detach_from_level(slot);
        if self.levels.get(o.level).order_count == 0 {
            let rise = entry.trigger.fires_on_rise(o.side);
            self.instruments[ii].triggers_of_mut(entry.source).side_mut(rise).remove(trigger_price);
            self.levels.free(o.level);
        }
        (entry, trigger_price)
    }

    /// Moves an armed order to the back of the orders armed at `trigger_price` (same trigger
    /// book and side: its source, kind and side decide them, and they do not change).
    pub(crate) fn move_trigger(&mut self, slot: Slot, trigger_price: Price) {
        let o = *self.orders.get(slot);
        let ii = self.instrument_index(o.instrument).expect("armed order on a known instrument");
        let entry = *self.armed.get(slot);
        let rise = entry.trigger.fires_on_rise(o.side);
        let old_price = self.levels.get(o.level).price;
        self.detach_from_level(slot);
        if self.levels.get(o.level).order_count == 0 {
            self.instruments[ii].triggers_of_mut(entry.source).side_mut(rise).remove(old_price);
            self.levels.free(o.level);
        }
        self.attach_armed(ii, slot, trigger_price, rise, entry.source);
    }

    /// Cancels an armed order: `Cancelled` only (it was never in market data).
    pub(crate) fn cancel_armed<S: EventSink>(&mut self, slot: Slot, reason: CancelReason, out: &mut Out<'_, S>) {
        let o = *self.orders.get(slot);
        let ii = self.instrument_index(o.instrument).expect("armed order on a known instrument");
        self.detach_armed(ii, slot);
        out.emit(cancelled(&o, reason));
        self.release(slot);
    }

    /// Fires every armed order of the instrument whose trigger its last trade price has reached,
    /// one at a time: each is placed (and may trade, moving the price and firing more) before
    /// the next is chosen. Between two calls the price moves one way only (one taker's trades),
    /// so at most one side has orders to fire; they fire in the order the price passed them
    /// (trigger price, then arrival). The cascade is bounded by the armed orders there are.
    #[inline(always)]
    pub(crate) fn run_triggers<S: EventSink>(&mut self, ii: usize, ts: u64, out: &mut Out<'_, S>) {
        // The common case (nothing armed anywhere, no list to settle), tested where the caller
        // is: a call into the loop only to return cost ~13 instructions a new order (callgrind,
        // limit-cancel flow).
        if self.armed.len() == 0 && self.list_actions.is_empty() {
            return;
        }
        self.run_triggers_with(ii, false, ts, out);
    }

    /// `SetMarkPrice` on a trading perpetual: the same loop, where the orders of the mark-price
    /// trigger book that the new mark has reached come first (they were due from the start of
    /// the command, before any trade of it), one at a time in the same order (rise side lowest
    /// trigger first, then fall side highest first, arrival within a price); the last-price
    /// orders their trades reach fire in between, as in any cascade. The mark does not move
    /// during the loop, so every mark-price order it fires was due at its start: the cascade is
    /// still bounded by the armed orders there are.
    pub(crate) fn run_mark_triggers<S: EventSink>(&mut self, ii: usize, ts: u64, out: &mut Out<'_, S>) {
        debug_assert!(self.perp_of(ii).is_some(), "only a perpetual has a mark");
        self.run_triggers_with(ii, true, ts, out);
    }

    /// The firing loop of [`Self::run_triggers`]; `mark`: the mark-price trigger book too, first.
    /// (With nothing armed and no list to settle the loop returns at once: `run_triggers` tests
    /// that before calling.)
    fn run_triggers_with<S: EventSink>(&mut self, ii: usize, mark: bool, ts: u64, out: &mut Out<'_, S>) {
        // Trailing stops: a move up can make due only those that fire on a rise, a move down only
        // the others (a move the other way moves their peak, and a trigger stays a delta away
        // from its peak). So a side is checked once the price has moved its way since the price
        // at which nothing was due, and until nothing is (it may still have stops due after the
        // price turned: one fires at a time). While the price has not moved, none is checked.
        let mut prev = self.instruments[ii].triggers.trailing.checked_price;
        let mut moved = [false; 2]; // [rise, fall]
        loop {
            // Order lists first: an OCO leg that traded cancels the other before it could fire,
            // a working order that filled places its pending legs (which may trade or fire).
            if !self.list_actions.is_empty() {
                self.run_list_actions(ts, out);
            }
            if self.armed.len() == 0 {
                return;
            }
            let last = self.instruments[ii].reference_price;
            let trailing = !self.instruments[ii].triggers.trailing.is_empty();
            if trailing && last != prev {
                moved[(last < prev) as usize] = true;
                prev = last;
                self.observe_trailing(ii);
            }
            let by_mark = if mark { self.next_mark_to_fire(ii) } else { None };
            let next = by_mark.or_else(|| {
                [true, false]
                    .into_iter()
                    .find_map(|rise| self.next_to_fire(ii, rise, last, trailing && moved[!rise as usize]))
                    .map(|slot| (slot, last))
            });
            match next {
                Some((slot, price)) => self.fire(ii, slot, price, ts, out),
                None => {
                    self.instruments[ii].triggers.trailing.checked_price = last;
                    return;
                }
            }
        }
    }

    /// The armed order of side `rise` that fires first at `last`: the trigger book's best level's
    /// head or (if `trailing`: that side may have some due) a trailing group's head, whichever
    /// trigger the price passed first (at the same
    /// trigger price the fixed one: its place there is kept across trigger amends, which have no
    /// arrival order to compare with a trailing stop's).
    #[inline]
    fn next_to_fire(&self, ii: usize, rise: bool, last: Price, trailing: bool) -> Option<Slot> {
        let triggers = &self.instruments[ii].triggers;
        let fixed = triggers.side(rise).best().and_then(|l| {
            let level = self.levels.get(l);
            fires(rise, level.price, last).then_some((level.price, level.head))
        });
        if !trailing {
            return fixed.map(|(_, slot)| slot);
        }
        match (fixed, self.next_trailing(ii, rise, last)) {
            (Some(f), Some(t)) => Some(if t.0 != f.0 && self.fires_before(rise, t, f) { t.1 } else { f.1 }),
            (f, t) => f.or(t).map(|(_, slot)| slot),
        }
    }

    /// The head of the mark-price trigger book's best level that the perpetual's mark has
    /// reached, with the mark: the rise side first (only orders left due through a halt can
    /// make both sides due at once, and the order stays deterministic).
    #[inline]
    fn next_mark_to_fire(&self, ii: usize) -> Option<(Slot, Price)> {
        let mark = self.trigger_reference(ii, TriggerSource::MarkPrice);
        let book = &self.instruments[ii].mark_triggers;
        [true, false].into_iter().find_map(|rise| {
            let level = self.levels.get(book.side(rise).best()?);
            fires(rise, level.price, mark).then_some((level.head, mark))
        })
    }

    /// `Triggered` (with `last`, the price that reached its trigger: the last trade price or,
    /// for a mark-price trigger, the mark), then the order is placed with its armed order id
    /// (funding, FOK and post-only are checked now; a failure cancels it with the matching
    /// reason).
    fn fire<S: EventSink>(&mut self, ii: usize, slot: Slot, last: Price, ts: u64, out: &mut Out<'_, S>) {
        let o = *self.orders.get(slot);
        let (entry, trigger_price) = self.detach_armed(ii, slot);
        out.emit(EventKind::Triggered(Triggered {
            account: o.account,
            order_id: o.order_id,
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            order_type: entry.order_type,
            price: entry.price,
            qty: o.qty,
            trigger_price,
            last_price: last,
            trigger_source: entry.source,
            timestamp_ns: ts,
        }));
        // An order list's leg: the other leg is cancelled first (their reservation is shared).
        if o.flags & LISTED != 0 {
            self.listed_leg_fired(slot, ts, out);
        }
        // The order keeps its slot (its index entries and its place in its account's list) but
        // gives back what it reserved while armed: it is funded anew at the limit it has now.
        if self.config.risk_checks {
            let reserved = std::mem::take(&mut self.risk[slot as usize]).reserved;
            self.unreserve(ii, o.account, o.side, reserved);
        }
        let ord = self.orders.get_mut(slot);
        ord.flags &= !ARMED;
        ord.level = NIL;
        let order = NewOrder {
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            order_type: entry.order_type,
            tif: o.tif,
            stp: o.stp,
            price: entry.price,
            qty: o.qty,
        };
        let mut opts = PlaceOptions::NONE;
        let mut order = order;
        if let Some(p) = self.perp_of(ii) {
            // A reduce-only stop closes at most the position it finds; a close-position stop
            // closes all of it; with nothing to close it is cancelled.
            if o.flags & REDUCE_ONLY != 0 {
                let closable = crate::position::closable(self.pos(o.account, p).size, o.side);
                order.qty = if o.flags & CLOSE_POSITION != 0 { closable } else { o.qty.min(closable) };
                opts.reduce_only = true;
                if order.qty == 0 {
                    out.emit(crate::engine::cancelled(&o, CancelReason::ReduceOnly));
                    self.release(slot);
                    return;
                }
                self.orders.get_mut(slot).flags &= !CLOSE_POSITION;
            }
        }
        let placed = self.place_order(ii, o.account, ts, &order, opts, Some((o.order_id, slot)), out);
        debug_assert!(placed.is_ok(), "a triggered order is cancelled, never rejected");
    }

    /// Amends an armed order: its quantity and/or (stop-limit) limit price, re-reserving in risk
    /// mode. It keeps its trigger price and its place among the orders armed at that price.
    pub(crate) fn amend_armed<S: EventSink>(
        &mut self,
        account: AccountId,
        slot: Slot,
        a: &Amend,
        out: &mut Out<'_, S>,
    ) {
        let o = *self.orders.get(slot);
        let entry = *self.armed.get(slot);
        let ii = self.instrument_index(o.instrument).expect("armed order on a known instrument");
        let verdict = self.validate_armed_amend(account, slot, a);
        if verdict == Ok(true) {
            return self.cancel_armed(slot, CancelReason::User, out);
        }
        if let Err(reason) = verdict {
            let (client_order_id, order_id) = order_ref_ids(a.order);
            return out.emit(EventKind::Rejected(Rejected {
                account,
                command: CommandType::Amend,
                client_order_id,
                order_id,
                instrument: o.instrument,
                reason,
            }));
        }
        let new_qty = a.new_qty.unwrap_or(o.qty);
        let new_price = a.new_price.unwrap_or(entry.price);
        let limit = self.instruments[ii].order_limit(entry.order_type, o.side, new_price);
        self.resize_reservation(ii, account, slot, o.side, limit, new_qty);
        let level = self.levels.get_mut(o.level);
        level.total_qty = level.total_qty - o.qty + new_qty;
        let ord = self.orders.get_mut(slot);
        ord.qty = new_qty;
        ord.leaves = new_qty;
        self.armed.get_mut(slot).price = new_price;
        out.emit(EventKind::Amended(Amended {
            account,
            order_id: o.order_id,
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            price: new_price,
            qty: new_qty,
            leaves: new_qty,
            kept_priority: true,
        }));
    }

    /// The amend rules of a resting order, in the same order, for an armed one (`Ok(true)`: the
    /// amend is a cancel, a new quantity of 0): no price for a market order, the band and minimum
    /// notional at the limit price, funding for the new size.
    fn validate_armed_amend(&self, account: AccountId, slot: Slot, a: &Amend) -> Result<bool, RejectReason> {
        use RejectReason::*;
        let o = self.orders.get(slot);
        let entry = self.armed.get(slot);
        let ii = self.instrument_index(o.instrument).expect("armed order on a known instrument");
        let inst = &self.instruments[ii];
        if a.new_qty.is_none() && a.new_price.is_none() {
            return Err(InvalidField);
        }
        if inst.state != InstrumentState::Trading {
            return Err(InstrumentNotTrading);
        }
        if a.new_qty == Some(0) {
            return Ok(true);
        }
        if self.config.risk_checks && self.accounts[account as usize].status == AccountStatus::Suspended {
            return Err(AccountSuspended);
        }
        if a.new_price.is_some() && entry.order_type == OrderType::Market {
            return Err(InvalidField);
        }
        if let Some(p) = a.new_price {
            if p == 0 || !inst.on_tick(p) {
                return Err(PriceOffTick);
            }
        }
        if let Some(q) = a.new_qty {
            if !inst.on_lot(q) {
                return Err(QtyOffLot);
            }
            if q < inst.spec.min_qty || q > inst.spec.max_qty {
                return Err(QtyOutOfRange);
            }
        }
        let price = a.new_price.unwrap_or(entry.price);
        let qty = a.new_qty.unwrap_or(o.qty);
        if price == entry.price && qty == o.qty {
            return Err(InvalidField);
        }
        if entry.order_type == OrderType::Limit {
            if inst.below_min_notional(price, qty) {
                return Err(BelowMinNotional);
            }
            if !inst.in_band(price) {
                return Err(OutsidePriceBand);
            }
        }
        if self.config.risk_checks {
            let r = &self.risk[slot as usize];
            let limit = inst.order_limit(entry.order_type, o.side, price);
            let (asset, need) = self.requirement(ii, o.side, r, limit, qty);
            if need > r.reserved
                && need - r.reserved > self.accounts[account as usize].balances[asset as usize].available
            {
                return Err(InsufficientBalance);
            }
        }
        Ok(false)
    }

    /// Snapshot restore: arms a validated slot (already in the index) at the back of its trigger
    /// level in the trigger book of `source`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn restore_armed_order(
        &mut self,
        ii: usize,
        slot: Slot,
        trigger_price: Price,
        rise: bool,
        order_type: OrderType,
        (trigger, source): (TriggerKind, TriggerSource),
        price: Price,
    ) {
        self.attach_armed(ii, slot, trigger_price, rise, source);
        self.armed.insert(ArmedEntry { slot, order_type, trigger, source, price });
    }

    /// Cancels every armed order of an instrument (it closed): the trigger book's in firing
    /// priority, then the trailing stops group by group (oldest group first), oldest first,
    /// then (a perpetual) the mark-price trigger book's in firing priority.
    pub(crate) fn cancel_instrument_armed<S: EventSink>(&mut self, ii: usize, out: &mut Out<'_, S>) {
        self.cancel_trigger_book(ii, TriggerSource::LastPrice, out);
        for rise in [true, false] {
            while let Some(g) = self.instruments[ii].triggers.trailing.side(rise).groups.first() {
                let slot = self.levels.get(g.level).head;
                self.cancel_armed(slot, CancelReason::InstrumentState, out);
            }
        }
        self.cancel_trigger_book(ii, TriggerSource::MarkPrice, out);
    }

    /// Cancels the fixed triggers of one trigger book, rise side first, each side best first.
    fn cancel_trigger_book<S: EventSink>(&mut self, ii: usize, source: TriggerSource, out: &mut Out<'_, S>) {
        for rise in [true, false] {
            while let Some(l) = self.instruments[ii].triggers_of(source).side(rise).best() {
                let slot = self.levels.get(l).head;
                self.cancel_armed(slot, CancelReason::InstrumentState, out);
            }
        }
    }
}
