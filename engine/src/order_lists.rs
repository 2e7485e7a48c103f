//! Order lists (docs/matching.md, "Order lists"): OCO, OTO and OTOCO, placed atomically and
//! kept in sequence with the trades that decide them.
//!
//! Every leg is a live order from the start (an order slot, an order id, its client order id
//! taken), so cancel, mass cancel and cancel-on-disconnect find them all. A list's members form a
//! ring in the [`ListTable`](crate::list_table::ListTable). What one member's fate does to the
//! others is not done in the middle of a matching pass: it is queued as a
//! [`ListAction`](crate::list_table::ListAction) and carried out once the pass is over, before
//! any armed order fires (`run_triggers`), so the cascade stays one deterministic loop.
//!
//! - An OCO leg that trades (even partly) or fires cancels the other; one cancelled (any reason)
//!   cancels the other.
//! - A working order that fills completely activates its pending leg (OTO) or pair (OTOCO, which
//!   then is an OCO); one cancelled cancels them.
//! - A pending leg cancelled cancels its working order (and its pair).
//!
//! Risk mode: an OCO's legs share one reservation (only one of them can execute): its limit leg
//! (or its first) holds what the dearer leg needs, the other holds none; when a leg fires, the
//! other is cancelled first, so its reservation is free for the fired one. Pending legs reserve
//! nothing: they are funded when they are placed, like a fired conditional order.

use crate::command::*;
use crate::engine::{cancelled, emit_accepted, Engine, Out, PlaceOptions};
use crate::event::*;
use crate::list_table::{ListAction, ListEntry, ListRole};
use crate::order_pool::{Order, Slot, LISTED, NIL, PENDING};
use crate::trigger_book::fires;
use crate::types::*;

/// One leg of a list being placed: its order, its trigger, its role.
#[derive(Clone, Copy)]
struct Leg {
    order: NewOrder,
    trigger: Option<(Price, TriggerKind)>,
    role: ListRole,
}

fn legs_of(l: &OrderList) -> ([Leg; 3], usize) {
    let mut it = l.orders().enumerate().map(|(k, (order, trigger))| {
        let role = match (l.kind, k) {
            (ListKind::Oco, _) => ListRole::Contingent,
            (_, 0) => ListRole::Working,
            _ => ListRole::Pending,
        };
        Leg { order, trigger, role }
    });
    let first = it.next().expect("a list has legs");
    let mut legs = [first; 3];
    let mut n = 1;
    for leg in it {
        legs[n] = leg;
        n += 1;
    }
    (legs, n)
}

impl Engine {
    /// `NewOrderList`: validate every leg, then place them all (docs/matching.md).
    pub(crate) fn new_order_list<S: EventSink>(
        &mut self,
        account: AccountId,
        ts: u64,
        l: &OrderList,
        out: &mut Out<'_, S>,
    ) {
        let (legs, n) = legs_of(l);
        let legs = &legs[..n];
        let ii = match self.validate_order_list(account, l, legs) {
            Ok(ii) => ii,
            Err(reason) => {
                return out.emit(EventKind::Rejected(Rejected {
                    account,
                    command: CommandType::NewOrderList,
                    client_order_id: l.client_order_id,
                    order_id: 0,
                    instrument: l.instrument,
                    reason,
                }))
            }
        };
        let list_id = self.next_order_id;
        out.emit(EventKind::ListAccepted(ListAccepted {
            account,
            list_id,
            client_order_id: l.client_order_id,
            instrument: l.instrument,
            kind: l.kind,
            legs: n as u8,
            timestamp_ns: ts,
        }));
        // Every leg's slot first (ids, index, account list in id order, the ring), then each is
        // placed: the members must exist before any of them can trade.
        let mut slots = [NIL; 3];
        for (k, leg) in legs.iter().enumerate() {
            let order_id = self.next_order_id;
            self.next_order_id += 1;
            let o = &leg.order;
            let pending = if leg.role == ListRole::Pending { PENDING } else { 0 };
            slots[k] = self.orders.alloc(Order {
                order_id,
                client_order_id: o.client_order_id,
                qty: o.qty,
                leaves: o.qty,
                account,
                instrument: o.instrument,
                side: o.side,
                tif: o.tif,
                stp: o.stp,
                flags: LISTED | pending,
                ..Order::EMPTY
            });
            self.index.insert(&self.orders, slots[k]);
            self.link_account(slots[k]);
        }
        for (k, leg) in legs.iter().enumerate() {
            let (trigger_price, trigger) = leg.trigger.map_or((0, None), |(p, t)| (p, Some(t)));
            if leg.role == ListRole::Pending && trigger.is_some() {
                self.pending_armed += 1;
            }
            self.lists.insert(ListEntry {
                slot: slots[k],
                list_id,
                next: slots[(k + 1) % n],
                role: leg.role,
                kind: l.kind,
                order_type: leg.order.order_type,
                trigger,
                price: leg.order.price,
                trigger_price,
            });
        }
        match l.kind {
            ListKind::Oco => self.place_contingent_pair(ii, [slots[0], slots[1]], [legs[0], legs[1]], ts, out),
            ListKind::Oto | ListKind::Otoco => {
                let o = legs[0].order;
                emit_accepted(account, list_id, &o, ts, out);
                let placed = self.place_order(ii, account, ts, &o, PlaceOptions::NONE, Some((list_id, slots[0])), out);
                debug_assert!(placed.is_ok(), "a validated working order is placed");
            }
        }
        self.run_triggers(ii, ts, out);
    }

    /// Places the two legs of an OCO (a new one, or an OTOCO's activated pair) on live slots, in
    /// leg order; the holder of the shared reservation (the limit leg, else the first) holds it,
    /// the other (always conditional) nothing. A leg that cannot be placed (at activation:
    /// funding, post-only) is cancelled and takes the other with it: never placed if it was the
    /// first, through its list otherwise.
    fn place_contingent_pair<S: EventSink>(
        &mut self,
        ii: usize,
        slots: [Slot; 2],
        legs: [Leg; 2],
        ts: u64,
        out: &mut Out<'_, S>,
    ) {
        let account = self.orders.get(slots[0]).account;
        let holder = if legs[1].trigger.is_none() { 1 } else { 0 };
        let shared = self.pair_requirement(ii, account, &legs);
        for k in 0..2 {
            let id = self.orders.get(slots[k]).order_id;
            self.place_leg(ii, slots[k], &legs[k], if k == holder { shared } else { 0 }, ts, out);
            if self.index.by_id(&self.orders, id) != Some(slots[k]) {
                if k == 0 {
                    self.cancel_unplaced(slots[1], CancelReason::OrderList, out);
                }
                return;
            }
        }
    }

    /// What an OCO's two legs reserve together: the dearer leg's requirement (risk mode; 0
    /// otherwise). Same side, same quantity: for a sell, the quantity.
    fn pair_requirement(&self, ii: usize, account: AccountId, legs: &[Leg; 2]) -> u64 {
        if !self.config.risk_checks {
            return 0;
        }
        legs.iter().map(|leg| self.leg_requirement(ii, account, leg).1).max().unwrap_or(0)
    }

    /// A leg's own requirement: at its limit, or for a market leg at the market-order limit now.
    fn leg_requirement(&self, ii: usize, account: AccountId, leg: &Leg) -> (AssetId, u64) {
        let risk = self.stop_order_risk(ii, account);
        self.requirement(ii, leg.order.side, &risk, self.stop_limit(ii, &leg.order), leg.order.qty)
    }

    /// Places one contingent leg on its live slot, holding `reserve`: arms a conditional one;
    /// rests a limit one (post-only, so it never takes) with its own reservation topped up to
    /// `reserve`. A leg that cannot be funded is cancelled (`Unfundable`).
    fn place_leg<S: EventSink>(
        &mut self,
        ii: usize,
        slot: Slot,
        leg: &Leg,
        reserve: u64,
        ts: u64,
        out: &mut Out<'_, S>,
    ) {
        let (account, order_id) = (self.orders.get(slot).account, self.orders.get(slot).order_id);
        let o = leg.order;
        if let Some(trigger) = leg.trigger {
            if self.config.risk_checks {
                let asset = self.leg_requirement(ii, account, leg).0;
                if self.accounts[account as usize].balances[asset as usize].available < reserve {
                    return self.cancel_unplaced(slot, CancelReason::Unfundable, out);
                }
            }
            // List legs watch the last price (order lists are spot only).
            let trigger = (trigger.0, trigger.1, TriggerSource::LastPrice);
            return self.arm_slot(ii, slot, &o, trigger, None, reserve, ts, out);
        }
        emit_accepted(account, order_id, &o, ts, out);
        let placed = self.place_order(ii, account, ts, &o, PlaceOptions::NONE, Some((order_id, slot)), out);
        debug_assert!(placed.is_ok(), "a placed leg is cancelled, never rejected");
        // Resting (post-only never trades at once): top its reservation up to the pair's.
        if self.config.risk_checks && self.index.by_id(&self.orders, order_id) == Some(slot) {
            let held = self.risk[slot as usize].reserved;
            let extra = reserve.saturating_sub(held);
            let asset = self.leg_requirement(ii, account, leg).0;
            if extra > self.accounts[account as usize].balances[asset as usize].available {
                return self.cancel_resting(slot, CancelReason::Unfundable, out);
            }
            if extra != 0 {
                self.reserve(account, asset, extra, BalanceReason::Order);
                self.risk[slot as usize].reserved += extra;
            }
        }
    }

    /// Cancels a live slot that is in no book and armed nowhere (a pending leg, or a leg whose
    /// placement failed before it was): `Cancelled`, then released.
    pub(crate) fn cancel_unplaced<S: EventSink>(&mut self, slot: Slot, reason: CancelReason, out: &mut Out<'_, S>) {
        let o = *self.orders.get(slot);
        out.emit(cancelled(&o, reason));
        self.release(slot);
    }

    /// The list rules (docs/matching.md, "Order lists"), then each leg's own: steps 1-12 of a
    /// new order, a conditional leg's trigger, capacities for all the legs together, funding of
    /// what is placed now, post-only.
    fn validate_order_list(&self, account: AccountId, l: &OrderList, legs: &[Leg]) -> Result<usize, RejectReason> {
        use RejectReason::*;
        check_list_shape(l)?;
        if l.client_order_id.checked_add(legs.len() as u64 - 1).is_none() {
            return Err(InvalidField);
        }
        let mut ii = 0;
        for leg in legs {
            ii = self.validate_new_order(account, &leg.order)?;
            if self.perp_of(ii).is_some() {
                return Err(InvalidField);
            }
            if let Some((trigger_price, trigger)) = leg.trigger {
                let inst = &self.instruments[ii];
                if trigger_price == 0 || !inst.on_tick(trigger_price) {
                    return Err(PriceOffTick);
                }
                // A pending leg's trigger may be reached by the time it is placed: it then fires.
                let rise = trigger.fires_on_rise(leg.order.side);
                if leg.role != ListRole::Pending && fires(rise, trigger_price, inst.reference_price) {
                    return Err(WouldTriggerImmediately);
                }
            }
        }
        let n = legs.len() as u32;
        if self.accounts[account as usize].open_orders + n > self.config.max_open_orders_per_account {
            return Err(TooManyOpenOrders);
        }
        // Pending conditional legs count against the armed capacity from now on (see
        // `pending_armed`): none can find it full when its working order fills.
        let conditional = legs.iter().filter(|g| g.trigger.is_some()).count() as u32;
        if self.orders.live() + n > self.config.max_orders
            || self.lists.len() + n > self.lists_capacity()
            || self.armed.len() + self.pending_armed + conditional > self.armed_capacity()
        {
            return Err(CapacityReached);
        }
        if self.config.risk_checks {
            let (asset, need) = match l.kind {
                ListKind::Oco => (
                    self.leg_requirement(ii, account, &legs[0]).0,
                    self.pair_requirement(ii, account, &[legs[0], legs[1]]),
                ),
                _ => self.leg_requirement(ii, account, &legs[0]),
            };
            if self.accounts[account as usize].balances[asset as usize].available < need {
                return Err(InsufficientBalance);
            }
        }
        // Post-only legs placed now must not take.
        for leg in legs.iter().filter(|g| g.role != ListRole::Pending && g.trigger.is_none()) {
            if leg.order.tif == TimeInForce::PostOnly && self.would_take(ii, leg.order.side, leg.order.price) {
                return Err(PostOnlyWouldTake);
            }
        }
        Ok(ii)
    }

    // ----- what one member's fate does to the others ------------------------------------

    /// A listed order leaves (its slot is being released): it leaves its ring, and the others are
    /// queued: activated if it was a working order that filled, cancelled otherwise.
    #[cold]
    #[inline(never)]
    pub(crate) fn listed_order_left(&mut self, slot: Slot, o: &Order) {
        let e = self.unlink_member(slot);
        let activate = e.role == ListRole::Working && o.leaves == 0;
        self.queue_others(e.next, slot, activate);
    }

    /// An OCO leg traded as a maker: it leaves its list (it is an ordinary order from now on)
    /// and the other leg is queued for cancelling.
    #[cold]
    #[inline(never)]
    pub(crate) fn listed_maker_traded(&mut self, slot: Slot) {
        if self.lists.get(slot).role != ListRole::Contingent {
            return;
        }
        self.leave_list(slot);
    }

    /// A listed conditional leg fires: it leaves its list, and the other leg is cancelled now,
    /// before the fired order is funded and placed (so their shared reservation is free).
    pub(crate) fn listed_leg_fired<S: EventSink>(&mut self, slot: Slot, ts: u64, out: &mut Out<'_, S>) {
        self.leave_list(slot);
        self.run_list_actions(ts, out);
    }

    fn leave_list(&mut self, slot: Slot) {
        let e = self.unlink_member(slot);
        self.orders.get_mut(slot).flags &= !LISTED;
        self.queue_others(e.next, slot, false);
    }

    /// Removes `slot` from its ring; returns its entry (`next` is where the others start, or
    /// itself if it was alone).
    fn unlink_member(&mut self, slot: Slot) -> ListEntry {
        let e = self.take_entry(slot);
        if e.next != slot {
            let mut p = e.next;
            while self.lists.get(p).next != slot {
                p = self.lists.get(p).next;
            }
            self.lists.get_mut(p).next = e.next;
        }
        e
    }

    /// Removes a member's entry; a pending conditional leg gives back its armed place.
    fn take_entry(&mut self, slot: Slot) -> ListEntry {
        let e = self.lists.remove(slot);
        if e.role == ListRole::Pending && e.trigger.is_some() {
            self.pending_armed -= 1;
        }
        e
    }

    /// Queues every member of the ring that `first` is in (unless that is `gone` itself, alone),
    /// in order-id order.
    fn queue_others(&mut self, first: Slot, gone: Slot, activate: bool) {
        if first == gone {
            return;
        }
        let mut ids = [OrderId::MAX; 3];
        let mut s = first;
        for id in ids.iter_mut() {
            *id = self.orders.get(s).order_id;
            s = self.lists.get(s).next;
            if s == first {
                break;
            }
        }
        ids.sort_unstable();
        for &id in ids.iter().take_while(|&&id| id != OrderId::MAX) {
            let action = if activate { ListAction::Activate(id) } else { ListAction::Cancel(id) };
            debug_assert!(self.list_actions.len() < self.lists_capacity() as usize, "one per list member at most");
            self.list_actions.push(action);
        }
    }

    /// Carries out the queued list actions, oldest first (cancelling or placing orders may
    /// queue more, which run in turn).
    pub(crate) fn run_list_actions<S: EventSink>(&mut self, ts: u64, out: &mut Out<'_, S>) {
        let mut i = 0;
        while i < self.list_actions.len() {
            let action = self.list_actions[i];
            i += 1;
            match action {
                ListAction::Cancel(id) => self.cancel_member(id, out),
                ListAction::Activate(id) => self.activate(id, ts, out),
            }
        }
        self.list_actions.clear();
    }

    /// Cancels a list member that is still live (reason `OrderList`): out of its list first, so
    /// its cancel queues nothing more.
    fn cancel_member<S: EventSink>(&mut self, id: OrderId, out: &mut Out<'_, S>) {
        let Some(slot) = self.index.by_id(&self.orders, id) else { return };
        let flags = self.orders.get(slot).flags;
        if flags & LISTED != 0 {
            self.unlink_member(slot);
        }
        self.orders.get_mut(slot).flags &= !(LISTED | PENDING);
        if flags & PENDING != 0 {
            self.cancel_unplaced(slot, CancelReason::OrderList, out);
        } else {
            self.cancel_resting(slot, CancelReason::OrderList, out);
        }
    }

    /// Places a pending leg whose working order filled: an OTO's alone (an ordinary order from
    /// then on), an OTOCO's pair as an OCO.
    fn activate<S: EventSink>(&mut self, id: OrderId, ts: u64, out: &mut Out<'_, S>) {
        let Some(slot) = self.index.by_id(&self.orders, id) else { return };
        if self.orders.get(slot).flags & PENDING == 0 {
            return; // its pair's activation placed it already
        }
        let o = *self.orders.get(slot);
        let ii = self.instrument_index(o.instrument).expect("listed order on a known instrument");
        let e = *self.lists.get(slot);
        if e.next == slot {
            // An OTO's pending leg: an ordinary order now.
            self.take_entry(slot);
            self.orders.get_mut(slot).flags &= !(LISTED | PENDING);
            let leg = self.pending_leg(slot, &e);
            return self.place_activated(ii, slot, &leg, ts, out);
        }
        let other = e.next;
        let e1 = *self.lists.get(other);
        let legs = [self.pending_leg(slot, &e), self.pending_leg(other, &e1)];
        for s in [slot, other] {
            let e = self.lists.get_mut(s);
            if e.trigger.is_some() {
                self.pending_armed -= 1;
            }
            e.role = ListRole::Contingent;
            self.orders.get_mut(s).flags &= !PENDING;
        }
        // In leg order (the lower order id first), as a new OCO's.
        let (slots, legs) = if o.order_id < self.orders.get(other).order_id {
            ([slot, other], legs)
        } else {
            ([other, slot], [legs[1], legs[0]])
        };
        self.place_contingent_pair(ii, slots, legs, ts, out);
    }

    fn pending_leg(&self, slot: Slot, e: &ListEntry) -> Leg {
        let o = self.orders.get(slot);
        let order = NewOrder {
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            order_type: e.order_type,
            tif: o.tif,
            stp: o.stp,
            price: e.price,
            qty: o.qty,
        };
        Leg { order, trigger: e.trigger.map(|t| (e.trigger_price, t)), role: ListRole::Contingent }
    }

    /// An OTO's pending leg, placed: armed (funded at its own requirement) or as a new order
    /// (`Accepted`, then funded, FOK, post-only, matched like a fired order).
    fn place_activated<S: EventSink>(&mut self, ii: usize, slot: Slot, leg: &Leg, ts: u64, out: &mut Out<'_, S>) {
        let account = self.orders.get(slot).account;
        if leg.trigger.is_some() {
            let need = if self.config.risk_checks { self.leg_requirement(ii, account, leg).1 } else { 0 };
            return self.place_leg(ii, slot, leg, need, ts, out);
        }
        let order_id = self.orders.get(slot).order_id;
        emit_accepted(account, order_id, &leg.order, ts, out);
        let placed = self.place_order(ii, account, ts, &leg.order, PlaceOptions::NONE, Some((order_id, slot)), out);
        debug_assert!(placed.is_ok(), "an activated leg is cancelled, never rejected");
    }

    /// The most list members engine-wide.
    pub(crate) fn lists_capacity(&self) -> u32 {
        crate::list_table::ListTable::capacity_for(self.config.max_orders)
    }

    /// The most armed orders engine-wide.
    pub(crate) fn armed_capacity(&self) -> u32 {
        crate::armed_table::ArmedTable::capacity_for(self.config.max_orders)
    }

    /// A pending leg's order fields for views (its price).
    pub(crate) fn pending_price(&self, slot: Slot) -> Price {
        self.lists.get(slot).price
    }

    /// Whether an amend of this live order is refused because it is an OCO or pending leg.
    #[inline]
    pub(crate) fn is_contingent_leg(&self, slot: Slot) -> bool {
        self.orders.get(slot).flags & LISTED != 0 && self.lists.get(slot).role != ListRole::Working
    }

    /// Number of pending legs (live orders in no book and armed nowhere).
    pub fn pending_legs(&self) -> u32 {
        if self.lists.len() == 0 {
            return 0;
        }
        self.lists.iter().filter(|e| e.role == ListRole::Pending).count() as u32
    }

    /// Every order list member, by order id: its list, its part (1 working, 2 pending, 3 an OCO
    /// leg) and the list's kind.
    pub fn list_members(&self) -> Vec<crate::snapshot::ListMemberSnapshot> {
        let (mut pending, mut members) = (Vec::new(), Vec::new());
        self.list_snapshots(&mut pending, &mut members);
        members
    }
}

/// Which lists are well formed (`InvalidField` otherwise): a working order is a limit GTC or
/// post-only order; an OCO's (or OTOCO pair's) legs are at most one limit leg, post-only, and
/// conditional ones; an OTO's pending leg is any order a `NewOrder` or `NewStopOrder` could be.
fn check_list_shape(l: &OrderList) -> Result<(), RejectReason> {
    let bad = Err(RejectReason::InvalidField);
    if l.has_working() && !matches!(l.working_tif, TimeInForce::Gtc | TimeInForce::PostOnly) {
        return bad;
    }
    if l.kind != ListKind::Oto {
        let legs = [l.leg(0), l.leg(1)];
        let limits = legs.iter().filter(|g| g.trigger.is_none()).count();
        let limit_ok = legs
            .iter()
            .all(|g| g.trigger.is_some() || (g.order_type == OrderType::Limit && g.tif == TimeInForce::PostOnly));
        if limits > 1 || !limit_ok {
            return bad;
        }
    }
    Ok(())
}
