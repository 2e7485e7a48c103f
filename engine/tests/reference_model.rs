//! Differential test: random command streams go through the engine and
//! through a deliberately naive reference model written from
//! docs/matching.md (a `Vec` of resting orders per instrument, sorts and
//! linear scans). Every event must match, in order; after every command the
//! engine's books, orders, accounts, instruments and id counters must equal
//! the model's, and the engine's own invariants must hold.

mod common;

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use engine::*;
use proptest::prelude::*;

// ===== The reference model ====================================================

#[derive(Debug, Clone, Copy)]
struct MOrder {
    id: OrderId,
    cid: ClientOrderId,
    acct: AccountId,
    inst: InstrumentId,
    side: Side,
    price: Price,
    qty: Qty,
    leaves: Qty,
    tif: TimeInForce,
    stp: StpMode,
    /// Time priority: a larger value is later.
    time: u64,
    /// Good-till-date expiry (0: none).
    expire: u64,
    /// Iceberg display quantity (0: not an iceberg) and the open part of its current slice.
    display: Qty,
    visible: Qty,
}

impl MOrder {
    /// What it adds to its level.
    fn shown(&self) -> Qty {
        if self.display > 0 {
            self.visible
        } else {
            self.leaves
        }
    }
}

fn iceberg_sliced(o: &MOrder, kept_priority: bool) -> EventKind {
    EventKind::IcebergSliced(IcebergSliced {
        instrument: o.inst,
        order_id: o.id,
        side: o.side,
        price: o.price,
        visible_qty: o.visible,
        kept_priority,
    })
}

struct MInst {
    spec: InstrumentSpec,
    state: InstrumentState,
    reference: Price,
    /// Resting orders of both sides, in no particular order.
    orders: Vec<MOrder>,
    /// Armed conditional orders, in no particular order.
    armed: Vec<MArmed>,
    /// Trailing deltas per side (`true`: fires on a rise) in the order their groups were made:
    /// a delta's group is made when a trailing stop arms with no other of that delta and side
    /// live (the engine's order for closing).
    trail_groups: Vec<(bool, Trailing)>,
    /// Order lists' pending legs (live, in no book): the order (`o.price` its limit) and what it
    /// places, in no particular order.
    pending: Vec<MPending>,
}

#[derive(Debug, Clone, Copy)]
struct MPending {
    o: MOrder,
    order_type: OrderType,
    trigger: Option<(Price, TriggerKind)>,
}

/// An order list: its id (its first leg's order id), kind, and live members with their part
/// (1 working, 2 pending, 3 contingent), by order id.
#[derive(Debug, Clone)]
struct MList {
    id: OrderId,
    kind: ListKind,
    members: Vec<(OrderId, u8)>,
}

/// An armed conditional order: `o.price` is the limit of the order it places (0 for market),
/// `o.time` its arrival.
#[derive(Debug, Clone, Copy)]
struct MArmed {
    o: MOrder,
    order_type: OrderType,
    trigger: TriggerKind,
    /// The fixed trigger (0 for a trailing stop: see [`MArmed::trigger_price`]).
    trigger_price: Price,
    /// A trailing stop's delta and the best last price since it armed (highest for a sell).
    trailing: Option<(Trailing, Price)>,
}

impl MArmed {
    /// Its trigger now: fixed, or the trailing delta away from its best price, rounded away
    /// from that price to the tick.
    fn trigger_price(&self, tick: Price) -> Price {
        let Some((t, peak)) = self.trailing else { return self.trigger_price };
        let (p, d) = (peak as u128, t.delta as u128);
        let exact_up = match t.unit {
            TrailUnit::Ticks => p + d * tick as u128,
            TrailUnit::Bps => (p * (10_000 + d)).div_ceil(10_000),
        };
        let exact_down = match t.unit {
            TrailUnit::Ticks => p.saturating_sub(d * tick as u128),
            TrailUnit::Bps => p * (10_000 - d) / 10_000,
        };
        let tick = tick as u128;
        let v = if self.rise() { exact_up.div_ceil(tick) * tick } else { exact_down - exact_down % tick };
        v.min(u64::MAX as u128 / tick * tick) as Price
    }

    fn rise(&self) -> bool {
        matches!(
            (self.trigger, self.o.side),
            (TriggerKind::StopLoss, Side::Buy) | (TriggerKind::TakeProfit, Side::Sell)
        )
    }
}

struct Model {
    cfg: EngineConfig,
    insts: BTreeMap<InstrumentId, MInst>,
    next_oid: OrderId,
    next_tid: TradeId,
    clock: u64,
    /// The engine's time: the latest command timestamp (expiries and the GTD check read it).
    now: u64,
    lists: Vec<MList>,
    /// Events of the current command already looked at for what they do to order lists.
    ev_cursor: usize,
}

/// The taker side of a match.
struct MTaker {
    id: OrderId,
    cid: ClientOrderId,
    acct: AccountId,
    side: Side,
    stp: StpMode,
    limit: Price,
    leaves: Qty,
    ts: u64,
}

fn crosses(side: Side, limit: Price, resting: Price) -> bool {
    match side {
        Side::Buy => resting <= limit,
        Side::Sell => resting >= limit,
    }
}

fn opposite(s: Side) -> Side {
    match s {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

fn symbol_ok(sym: &[u8; SYMBOL_MAX_BYTES]) -> bool {
    let n = sym.iter().position(|&b| b == 0).unwrap_or(SYMBOL_MAX_BYTES);
    n > 0 && sym[..n].iter().all(|&b| (0x21..=0x7e).contains(&b)) && sym[n..].iter().all(|&b| b == 0)
}

impl MInst {
    /// One side in priority order: best price first, then time.
    fn sorted(&self, side: Side) -> Vec<MOrder> {
        let mut v: Vec<MOrder> = self.orders.iter().filter(|o| o.side == side).copied().collect();
        v.sort_by(|a, b| {
            let by_price = match side {
                Side::Buy => b.price.cmp(&a.price),
                Side::Sell => a.price.cmp(&b.price),
            };
            by_price.then(a.time.cmp(&b.time))
        });
        v
    }

    fn best(&self, side: Side) -> Option<Price> {
        self.sorted(side).first().map(|o| o.price)
    }

    fn level_event(&self, side: Side, price: Price) -> EventKind {
        let at: Vec<&MOrder> = self.orders.iter().filter(|o| o.side == side && o.price == price).collect();
        EventKind::LevelChanged(LevelChanged {
            instrument: self.spec.id,
            side,
            price,
            qty: at.iter().map(|o| o.shown()).sum(),
            order_count: at.len() as u32,
        })
    }

    /// Armed orders in firing priority: rise-firing by trigger ascending, then fall-firing by
    /// trigger descending; at one trigger price the fixed triggers first, then arrival order.
    fn armed_sorted(&self) -> Vec<MArmed> {
        let mut v = self.armed.clone();
        let tick = self.spec.tick;
        v.sort_by_key(|a| {
            let p = a.trigger_price(tick);
            let key = if a.rise() { p } else { u64::MAX - p };
            (!a.rise(), key, a.trailing.is_some(), a.o.time)
        });
        v
    }

    /// Armed orders in the order closing the instrument cancels them (and the engine lists
    /// them): the fixed triggers in
    /// firing priority, then the trailing stops side by side (rise first), group by group in
    /// the order the groups were made, arrival order within a group.
    fn armed_closing_order(&self) -> Vec<MArmed> {
        let mut v: Vec<MArmed> = self.armed_sorted().into_iter().filter(|a| a.trailing.is_none()).collect();
        for rise in [true, false] {
            for &(r, t) in &self.trail_groups {
                if r != rise {
                    continue;
                }
                let mut g: Vec<MArmed> = self
                    .armed
                    .iter()
                    .filter(|a| a.rise() == rise && a.trailing.map(|x| x.0) == Some(t))
                    .copied()
                    .collect();
                g.sort_by_key(|a| a.o.time);
                v.extend(g);
            }
        }
        v
    }

    fn remove(&mut self, id: OrderId) -> MOrder {
        let i = self.orders.iter().position(|o| o.id == id).expect("order present");
        self.orders.remove(i)
    }

    fn notional(&self, price: Price, qty: Qty) -> u128 {
        price as u128 * qty as u128 / self.spec.qty_scale as u128
    }

    fn in_band(&self, price: Price) -> bool {
        let r = self.reference as u128;
        (price as u128).abs_diff(r) * 10_000 <= r * self.spec.price_band_bps as u128
    }

    fn market_limit(&self, side: Side) -> Price {
        let r = self.reference as u128;
        let bps = self.spec.price_band_bps as u128;
        let tick = self.spec.tick as u128;
        match side {
            Side::Buy => {
                let p = r * (10_000 + bps) / (10_000 * tick) * tick;
                p.min(u64::MAX as u128 / tick * tick) as Price
            }
            Side::Sell => {
                let num = r * 10_000u128.saturating_sub(bps);
                let p = num.div_ceil(10_000 * tick) * tick;
                p.max(tick) as Price
            }
        }
    }
}

fn cancelled(o: &MOrder, reason: CancelReason) -> EventKind {
    EventKind::Cancelled(Cancelled {
        account: o.acct,
        order_id: o.id,
        client_order_id: o.cid,
        instrument: o.inst,
        side: o.side,
        cancelled_qty: o.leaves,
        filled_qty: o.qty - o.leaves,
        reason,
    })
}

impl Model {
    fn new(cfg: EngineConfig) -> Self {
        Model {
            cfg,
            insts: BTreeMap::new(),
            next_oid: 1,
            next_tid: 1,
            clock: 0,
            now: 0,
            lists: Vec::new(),
            ev_cursor: 0,
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Every live order, resting or armed, by order id.
    fn all_live(&self) -> Vec<MOrder> {
        let mut v: Vec<MOrder> = self
            .insts
            .values()
            .flat_map(|i| {
                i.orders.iter().copied().chain(i.armed.iter().map(|a| a.o)).chain(i.pending.iter().map(|p| p.o))
            })
            .collect();
        v.sort_by_key(|o| o.id);
        v
    }

    fn live_count(&self) -> usize {
        self.all_live().len()
    }

    fn find_id(&self, id: OrderId) -> Option<MOrder> {
        self.all_live().into_iter().find(|o| o.id == id)
    }

    fn find_cid(&self, acct: AccountId, cid: ClientOrderId) -> Option<MOrder> {
        self.all_live().into_iter().find(|o| o.acct == acct && o.cid == cid)
    }

    fn find_armed(&self, id: OrderId) -> Option<MArmed> {
        self.insts.values().flat_map(|i| i.armed.iter()).find(|a| a.o.id == id).copied()
    }

    /// Armed orders and pending conditional list legs (which will be armed).
    fn armed_taken(&self) -> usize {
        self.insts.values().map(|i| i.armed.len() + i.pending.iter().filter(|p| p.trigger.is_some()).count()).sum()
    }

    fn armed_capacity(&self) -> usize {
        (self.cfg.max_orders / 4).max(1) as usize
    }

    fn lookup(&self, acct: AccountId, r: OrderRef) -> Result<MOrder, RejectReason> {
        match r {
            OrderRef::Engine(id) => {
                let o = self.find_id(id).ok_or(RejectReason::UnknownOrder)?;
                if o.acct != acct {
                    return Err(RejectReason::NotYourOrder);
                }
                Ok(o)
            }
            OrderRef::Client(cid) => self.find_cid(acct, cid).ok_or(RejectReason::UnknownOrder),
        }
    }

    fn apply(&mut self, cmd: &Command) -> Vec<EventKind> {
        let mut ev = Vec::new();
        self.ev_cursor = 0;
        if cmd.timestamp_ns > self.now {
            self.now = cmd.timestamp_ns;
            // Every live order whose expiry has come, earliest first, then by order id.
            let mut due: Vec<MOrder> =
                self.all_live().into_iter().filter(|o| o.expire != 0 && o.expire <= self.now).collect();
            due.sort_by_key(|o| (o.expire, o.id));
            for o in due {
                self.cancel_resting(o, CancelReason::Expired, &mut ev);
            }
        }
        match cmd.kind {
            CommandKind::NewOrder(o) => self.new_order(cmd.account, cmd.timestamp_ns, &o, &mut ev),
            CommandKind::NewStopOrder(s) => {
                self.new_stop(cmd.account, cmd.timestamp_ns, &s, 0, None, CommandType::NewStopOrder, &mut ev)
            }
            CommandKind::NewAdvancedOrder(a) => self.new_advanced(cmd.account, cmd.timestamp_ns, &a, &mut ev),
            CommandKind::AmendTrigger(a) => self.amend_trigger(cmd.account, &a, &mut ev),
            CommandKind::NewOrderList(l) => self.new_list(cmd.account, cmd.timestamp_ns, &l, &mut ev),
            CommandKind::TimeTick => {}
            CommandKind::Cancel(c) => self.cancel(cmd.account, &c, &mut ev),
            CommandKind::Amend(a) => {
                let inst = self.lookup(cmd.account, a.order).ok().map(|o| o.inst);
                self.amend(cmd.account, cmd.timestamp_ns, &a, &mut ev);
                // An amend that trades moves the last price (a no-op otherwise).
                if let Some(inst) = inst {
                    self.fire_triggers(inst, cmd.timestamp_ns, &mut ev);
                }
            }
            CommandKind::MassCancel(m) => self.mass_cancel(cmd.account, &m, &mut ev),
            CommandKind::AddInstrument(s) => self.add_instrument(cmd.account, &s, &mut ev),
            CommandKind::SetInstrumentState(s) => self.set_state(cmd.account, &s, &mut ev),
            // This model is matching-only: the generator never sends account commands
            // (risk mode has its own model test).
            other => unreachable!("account command in the matching-only model: {other:?}"),
        }
        // What cancels did to order lists (trades were settled before triggers fired).
        self.settle_lists(cmd.timestamp_ns, &mut ev);
        ev
    }

    // ----- NewOrder ----------------------------------------------------------

    fn validate_new(&self, acct: AccountId, o: &NewOrder) -> Result<Price, RejectReason> {
        self.validate_basic(acct, o)?;
        let inst = &self.insts[&o.instrument];
        let limit = if o.order_type == OrderType::Market { inst.market_limit(o.side) } else { o.price };
        self.fok_and_post_only(acct, o, limit)?;
        Ok(limit)
    }

    /// Steps 1-12.
    fn validate_basic(&self, acct: AccountId, o: &NewOrder) -> Result<(), RejectReason> {
        use RejectReason::*;
        if acct >= self.cfg.max_accounts {
            return Err(UnknownAccount);
        }
        let inst = self.insts.get(&o.instrument).ok_or(UnknownInstrument)?;
        if inst.state != InstrumentState::Trading {
            return Err(InstrumentNotTrading);
        }
        let market = o.order_type == OrderType::Market;
        if market && (o.price != 0 || o.tif == TimeInForce::Gtc || o.tif == TimeInForce::PostOnly) {
            return Err(InvalidField);
        }
        let s = &inst.spec;
        if !market && (o.price == 0 || !o.price.is_multiple_of(s.tick)) {
            return Err(PriceOffTick);
        }
        if o.qty == 0 || !o.qty.is_multiple_of(s.lot) {
            return Err(QtyOffLot);
        }
        if o.qty < s.min_qty || o.qty > s.max_qty {
            return Err(QtyOutOfRange);
        }
        if !market && inst.notional(o.price, o.qty) < s.min_notional as u128 {
            return Err(BelowMinNotional);
        }
        if !market && !inst.in_band(o.price) {
            return Err(OutsidePriceBand);
        }
        if self.find_cid(acct, o.client_order_id).is_some() {
            return Err(DuplicateClientOrderId);
        }
        let acct_live = self.all_live().iter().filter(|x| x.acct == acct).count();
        if acct_live >= self.cfg.max_open_orders_per_account as usize {
            return Err(TooManyOpenOrders);
        }
        if self.live_count() >= self.cfg.max_orders as usize {
            return Err(CapacityReached);
        }
        Ok(())
    }

    /// Steps 14 and 15 (a triggered order is checked by them too, when it fires).
    fn fok_and_post_only(&self, acct: AccountId, o: &NewOrder, limit: Price) -> Result<(), RejectReason> {
        use RejectReason::*;
        let inst = &self.insts[&o.instrument];
        if o.tif == TimeInForce::Fok {
            // Walk resting opposite orders in priority order while they cross.
            let mut fillable: Qty = 0;
            for m in inst.sorted(opposite(o.side)) {
                if !crosses(o.side, limit, m.price) {
                    break;
                }
                if m.acct == acct && o.stp != StpMode::None {
                    if o.stp == StpMode::CancelMaker {
                        continue;
                    }
                    break;
                }
                fillable += m.leaves;
            }
            if fillable < o.qty {
                return Err(FokCannotFill);
            }
        }
        if o.tif == TimeInForce::PostOnly {
            if let Some(p) = inst.best(opposite(o.side)) {
                if crosses(o.side, o.price, p) {
                    return Err(PostOnlyWouldTake);
                }
            }
        }
        Ok(())
    }

    fn new_order(&mut self, acct: AccountId, ts: u64, o: &NewOrder, ev: &mut Vec<EventKind>) {
        let limit = match self.validate_new(acct, o) {
            Ok(l) => l,
            Err(reason) => {
                ev.push(EventKind::Rejected(Rejected {
                    account: acct,
                    command: CommandType::NewOrder,
                    client_order_id: o.client_order_id,
                    order_id: 0,
                    instrument: o.instrument,
                    reason,
                }));
                return;
            }
        };
        self.accept_and_execute(acct, ts, o, limit, 0, 0, ev);
    }

    /// Matching, then resting (with `expire`) or cancelling the remainder, of an order with id `id`.
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &mut self,
        acct: AccountId,
        ts: u64,
        o: &NewOrder,
        id: OrderId,
        limit: Price,
        expire: u64,
        display: Qty,
        ev: &mut Vec<EventKind>,
    ) {
        let mut t = MTaker { id, cid: o.client_order_id, acct, side: o.side, stp: o.stp, limit, leaves: o.qty, ts };
        let stp_cancelled = self.match_taker(o.instrument, &mut t, ev);
        if t.leaves == 0 {
            return;
        }
        let mut me = MOrder {
            id,
            cid: o.client_order_id,
            acct,
            inst: o.instrument,
            side: o.side,
            price: o.price,
            qty: o.qty,
            leaves: t.leaves,
            tif: o.tif,
            stp: o.stp,
            time: 0,
            expire,
            display,
            visible: 0,
        };
        if stp_cancelled {
            ev.push(cancelled(&me, CancelReason::SelfTrade));
            return;
        }
        match (o.order_type, o.tif) {
            (OrderType::Limit, TimeInForce::Gtc | TimeInForce::PostOnly) => {
                me.time = self.tick();
                me.visible = me.display.min(me.leaves);
                let inst = self.insts.get_mut(&o.instrument).unwrap();
                inst.orders.push(me);
                if me.display > 0 {
                    ev.push(iceberg_sliced(&me, false));
                }
                ev.push(inst.level_event(me.side, me.price));
            }
            (_, TimeInForce::Fok) => panic!("model: a FOK order passed the fillable check but did not fill"),
            _ => ev.push(cancelled(&me, CancelReason::ImmediateRemainder)),
        }
    }

    /// The matching loop; returns whether STP cancelled the taker's remainder.
    fn match_taker(&mut self, inst_id: InstrumentId, t: &mut MTaker, ev: &mut Vec<EventKind>) -> bool {
        let next_tid = &mut self.next_tid;
        let clock = &mut self.clock;
        let inst = self.insts.get_mut(&inst_id).unwrap();
        let maker_side = opposite(t.side);
        while t.leaves > 0 {
            let Some(price) = inst.best(maker_side) else { break };
            if !crosses(t.side, t.limit, price) {
                break;
            }
            // The level's queue; an iceberg whose slice trades out goes to its back with the next
            // slice, and this pass reaches it there.
            let mut makers: std::collections::VecDeque<OrderId> =
                inst.sorted(maker_side).into_iter().filter(|m| m.price == price).map(|m| m.id).collect();
            let mut touched = false;
            let mut taker_cancelled = false;
            while let Some(mid) = makers.pop_front() {
                if t.leaves == 0 {
                    break;
                }
                let m = *inst.orders.iter().find(|x| x.id == mid).unwrap();
                if m.acct == t.acct && t.stp != StpMode::None {
                    ev.push(EventKind::SelfTradePrevented(SelfTradePrevented {
                        account: t.acct,
                        instrument: inst_id,
                        maker_order_id: m.id,
                        taker_order_id: t.id,
                        mode: t.stp,
                        qty: t.leaves.min(m.leaves),
                    }));
                    if t.stp == StpMode::CancelTaker {
                        taker_cancelled = true;
                        break;
                    }
                    let m = inst.remove(m.id);
                    ev.push(cancelled(&m, CancelReason::SelfTrade));
                    touched = true;
                    if t.stp == StpMode::CancelBoth {
                        taker_cancelled = true;
                        break;
                    }
                } else {
                    let q = t.leaves.min(m.shown());
                    t.leaves -= q;
                    let mo = inst.orders.iter_mut().find(|x| x.id == m.id).unwrap();
                    mo.leaves -= q;
                    let maker_leaves = mo.leaves;
                    let mut refreshed = None;
                    if mo.display > 0 {
                        mo.visible -= q;
                        if mo.visible == 0 && maker_leaves > 0 {
                            *clock += 1;
                            mo.time = *clock;
                            mo.visible = mo.display.min(maker_leaves);
                            refreshed = Some(*mo);
                        }
                    }
                    if maker_leaves == 0 {
                        inst.remove(m.id);
                    }
                    ev.push(EventKind::Trade(Trade {
                        trade_id: *next_tid,
                        instrument: inst_id,
                        price,
                        qty: q,
                        taker_side: t.side,
                        maker_order_id: m.id,
                        maker_account: m.acct,
                        maker_client_order_id: m.cid,
                        maker_leaves,
                        taker_order_id: t.id,
                        taker_account: t.acct,
                        taker_client_order_id: t.cid,
                        taker_leaves: t.leaves,
                        timestamp_ns: t.ts,
                        maker_fee: 0,
                        taker_fee: 0,
                    }));
                    *next_tid += 1;
                    inst.reference = price;
                    touched = true;
                    if let Some(r) = refreshed {
                        ev.push(iceberg_sliced(&r, false));
                        makers.push_back(r.id);
                    }
                }
            }
            if touched {
                ev.push(inst.level_event(maker_side, price));
            }
            if taker_cancelled {
                return true;
            }
        }
        false
    }

    // ----- Cancel / Amend / MassCancel ---------------------------------------

    fn cancel(&mut self, acct: AccountId, c: &Cancel, ev: &mut Vec<EventKind>) {
        let found =
            if acct >= self.cfg.max_accounts { Err(RejectReason::UnknownAccount) } else { self.lookup(acct, c.order) };
        match found {
            Ok(o) => self.cancel_resting(o, CancelReason::User, ev),
            Err(reason) => ev.push(self.reject_ref(acct, CommandType::Cancel, c.order, 0, reason)),
        }
    }

    fn reject_ref(
        &self,
        acct: AccountId,
        ct: CommandType,
        r: OrderRef,
        inst: InstrumentId,
        reason: RejectReason,
    ) -> EventKind {
        let (client_order_id, order_id) = match r {
            OrderRef::Engine(id) => (0, id),
            OrderRef::Client(cid) => (cid, 0),
        };
        EventKind::Rejected(Rejected {
            account: acct,
            command: ct,
            client_order_id,
            order_id,
            instrument: inst,
            reason,
        })
    }

    fn cancel_resting(&mut self, o: MOrder, reason: CancelReason, ev: &mut Vec<EventKind>) {
        let inst = self.insts.get_mut(&o.inst).unwrap();
        if inst.pending.iter().any(|p| p.o.id == o.id) {
            inst.pending.retain(|p| p.o.id != o.id);
            return ev.push(cancelled(&o, reason));
        }
        if inst.armed.iter().any(|a| a.o.id == o.id) {
            // Armed: never in market data.
            inst.armed.retain(|a| a.o.id != o.id);
            return ev.push(cancelled(&o, reason));
        }
        let o = inst.remove(o.id);
        ev.push(cancelled(&o, reason));
        ev.push(inst.level_event(o.side, o.price));
    }

    fn amend(&mut self, acct: AccountId, ts: u64, a: &Amend, ev: &mut Vec<EventKind>) {
        use RejectReason::*;
        if acct >= self.cfg.max_accounts {
            return ev.push(self.reject_ref(acct, CommandType::Amend, a.order, 0, UnknownAccount));
        }
        let o = match self.lookup(acct, a.order) {
            Ok(o) => o,
            Err(r) => return ev.push(self.reject_ref(acct, CommandType::Amend, a.order, 0, r)),
        };
        if self.list_of(o.id).is_some_and(|(_, role)| role != 1) {
            return ev.push(self.reject_ref(acct, CommandType::Amend, a.order, o.inst, OrderListLeg));
        }
        if let Some(armed) = self.find_armed(o.id) {
            return self.amend_armed(acct, a, armed, ev);
        }
        let rej = |r| self.reject_ref(acct, CommandType::Amend, a.order, o.inst, r);
        let inst = &self.insts[&o.inst];
        let s = inst.spec;
        let filled = o.qty - o.leaves;
        let check = || -> Result<bool, RejectReason> {
            if a.new_qty.is_none() && a.new_price.is_none() {
                return Err(InvalidField);
            }
            if inst.state != InstrumentState::Trading {
                return Err(InstrumentNotTrading);
            }
            if let Some(q) = a.new_qty {
                if q <= filled {
                    return Ok(true); // a cancel
                }
            }
            if let Some(p) = a.new_price {
                if p == 0 || !p.is_multiple_of(s.tick) {
                    return Err(PriceOffTick);
                }
            }
            if let Some(q) = a.new_qty {
                if q == 0 || !q.is_multiple_of(s.lot) {
                    return Err(QtyOffLot);
                }
                if q < s.min_qty || q > s.max_qty {
                    return Err(QtyOutOfRange);
                }
            }
            let price = a.new_price.unwrap_or(o.price);
            let qty = a.new_qty.unwrap_or(o.qty);
            if price == o.price && qty == o.qty {
                return Err(InvalidField);
            }
            if inst.notional(price, qty) < s.min_notional as u128 {
                return Err(BelowMinNotional);
            }
            if price != o.price && !inst.in_band(price) {
                return Err(OutsidePriceBand);
            }
            if price != o.price && o.tif == TimeInForce::PostOnly {
                if let Some(b) = inst.best(opposite(o.side)) {
                    if crosses(o.side, price, b) {
                        return Err(PostOnlyWouldTake);
                    }
                }
            }
            Ok(false)
        };
        match check() {
            Err(r) => return ev.push(rej(r)),
            Ok(true) => return self.cancel_resting(o, CancelReason::User, ev),
            Ok(false) => {}
        }
        let price = a.new_price.unwrap_or(o.price);
        let qty = a.new_qty.unwrap_or(o.qty);
        let leaves = qty - filled;
        let amended = |kept_priority| {
            EventKind::Amended(Amended {
                account: acct,
                order_id: o.id,
                client_order_id: o.cid,
                instrument: o.inst,
                side: o.side,
                price,
                qty,
                leaves,
                kept_priority,
            })
        };
        let time = self.tick();
        let inst = self.insts.get_mut(&o.inst).unwrap();
        if price == o.price {
            let kept = qty < o.qty;
            let m = inst.orders.iter_mut().find(|x| x.id == o.id).unwrap();
            m.qty = qty;
            m.leaves = leaves;
            // An iceberg: a shrink comes out of the hidden part first; a new slice otherwise.
            m.visible = if kept { m.visible.min(leaves) } else { m.display.min(leaves) };
            if !kept {
                m.time = time;
            }
            let m = *m;
            ev.push(amended(kept));
            if m.display > 0 {
                ev.push(iceberg_sliced(&m, kept));
            }
            ev.push(inst.level_event(o.side, price));
            return;
        }
        let mut m = inst.remove(o.id);
        ev.push(amended(false));
        ev.push(inst.level_event(o.side, o.price));
        let mut t = MTaker { id: o.id, cid: o.cid, acct, side: o.side, stp: o.stp, limit: price, leaves, ts };
        let stp_cancelled = self.match_taker(o.inst, &mut t, ev);
        m.price = price;
        m.qty = qty;
        m.leaves = t.leaves;
        if t.leaves == 0 {
            return;
        }
        if stp_cancelled {
            ev.push(cancelled(&m, CancelReason::SelfTrade));
            return;
        }
        m.time = self.tick();
        m.visible = m.display.min(m.leaves);
        let inst = self.insts.get_mut(&o.inst).unwrap();
        inst.orders.push(m);
        if m.display > 0 {
            ev.push(iceberg_sliced(&m, false));
        }
        ev.push(inst.level_event(m.side, m.price));
    }

    // ----- conditional orders ------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn new_stop(
        &mut self,
        acct: AccountId,
        ts: u64,
        s: &StopOrder,
        expire: u64,
        trailing: Option<Trailing>,
        command: CommandType,
        ev: &mut Vec<EventKind>,
    ) {
        use RejectReason::*;
        let o = &s.order;
        let rise =
            matches!((s.trigger, o.side), (TriggerKind::StopLoss, Side::Buy) | (TriggerKind::TakeProfit, Side::Sell));
        let verdict = self.validate_basic(acct, o).and_then(|_| self.validate_expiry(expire)).and_then(|_| {
            let inst = &self.insts[&o.instrument];
            if let Some(t) = trailing {
                if t.delta == 0 || (t.unit == TrailUnit::Bps && t.delta > MAX_TRAIL_BPS) {
                    return Err(InvalidField);
                }
                let groups: BTreeSet<Trailing> =
                    inst.armed.iter().filter(|a| a.rise() == rise).filter_map(|a| a.trailing.map(|x| x.0)).collect();
                if !groups.contains(&t) && groups.len() >= 64 {
                    return Err(CapacityReached);
                }
            } else {
                if s.trigger_price == 0 || !s.trigger_price.is_multiple_of(inst.spec.tick) {
                    return Err(PriceOffTick);
                }
                let fires_now =
                    if rise { inst.reference >= s.trigger_price } else { inst.reference <= s.trigger_price };
                if fires_now {
                    return Err(WouldTriggerImmediately);
                }
            }
            if self.armed_taken() >= self.armed_capacity() {
                return Err(CapacityReached);
            }
            Ok(())
        });
        if let Err(reason) = verdict {
            return ev.push(EventKind::Rejected(Rejected {
                account: acct,
                command,
                client_order_id: o.client_order_id,
                order_id: 0,
                instrument: o.instrument,
                reason,
            }));
        }
        let id = self.next_oid;
        self.next_oid += 1;
        let reference = self.insts[&o.instrument].reference;
        let m = MOrder { expire, ..self.morder(acct, id, o) };
        let a = MArmed {
            o: m,
            order_type: o.order_type,
            trigger: s.trigger,
            trigger_price: s.trigger_price,
            trailing: trailing.map(|t| (t, reference)),
        };
        ev.push(EventKind::Armed(Armed {
            account: acct,
            order_id: id,
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            order_type: o.order_type,
            tif: o.tif,
            trigger: s.trigger,
            price: o.price,
            qty: o.qty,
            trigger_price: a.trigger_price(self.insts[&o.instrument].spec.tick),
            trigger_source: TriggerSource::LastPrice,
            timestamp_ns: ts,
        }));
        let inst = self.insts.get_mut(&o.instrument).unwrap();
        if let Some(t) = trailing {
            let live = inst.armed.iter().any(|x| x.rise() == rise && x.trailing.map(|y| y.0) == Some(t));
            if !live {
                inst.trail_groups.retain(|&g| g != (rise, t));
                inst.trail_groups.push((rise, t));
            }
        }
        inst.armed.push(a);
    }

    /// Fires, one at a time, the armed order first in priority whose trigger the last price
    /// has reached (a full scan each time), placing it as an order that keeps its id.
    fn fire_triggers(&mut self, inst_id: InstrumentId, ts: u64, ev: &mut Vec<EventKind>) {
        loop {
            self.settle_lists(ts, ev);
            let inst = self.insts.get_mut(&inst_id).unwrap();
            let last = inst.reference;
            for a in inst.armed.iter_mut() {
                let rise = a.rise();
                if let Some((_, peak)) = &mut a.trailing {
                    *peak = if rise { (*peak).min(last) } else { (*peak).max(last) };
                }
            }
            let tick = inst.spec.tick;
            let next = inst.armed_sorted().into_iter().find(|a| {
                if a.rise() {
                    last >= a.trigger_price(tick)
                } else {
                    last <= a.trigger_price(tick)
                }
            });
            let Some(a) = next else { return };
            let inst = self.insts.get_mut(&inst_id).unwrap();
            inst.armed.retain(|x| x.o.id != a.o.id);
            ev.push(EventKind::Triggered(Triggered {
                account: a.o.acct,
                order_id: a.o.id,
                client_order_id: a.o.cid,
                instrument: inst_id,
                side: a.o.side,
                order_type: a.order_type,
                price: a.o.price,
                qty: a.o.qty,
                trigger_price: a.trigger_price(tick),
                last_price: last,
                trigger_source: TriggerSource::LastPrice,
                timestamp_ns: ts,
            }));
            // An order list's leg: the other is cancelled before this one is placed.
            if let Some((li, _)) = self.list_of(a.o.id) {
                let others: Vec<OrderId> =
                    self.lists[li].members.iter().map(|m| m.0).filter(|&id| id != a.o.id).collect();
                self.lists.remove(li);
                for id in others {
                    if let Some(o) = self.find_id(id) {
                        self.cancel_resting(o, CancelReason::OrderList, ev);
                    }
                }
                // Those cancels were the list's doing: nothing more to look at in them.
                self.ev_cursor = ev.len();
            }
            let inst = self.insts.get_mut(&inst_id).unwrap();
            let o = NewOrder {
                client_order_id: a.o.cid,
                instrument: inst_id,
                side: a.o.side,
                order_type: a.order_type,
                tif: a.o.tif,
                stp: a.o.stp,
                price: a.o.price,
                qty: a.o.qty,
            };
            let limit = if a.order_type == OrderType::Market { inst.market_limit(a.o.side) } else { a.o.price };
            match self.fok_and_post_only(a.o.acct, &o, limit) {
                Ok(()) => self.execute(a.o.acct, ts, &o, a.o.id, limit, a.o.expire, 0, ev),
                Err(r) => {
                    let reason = match r {
                        RejectReason::FokCannotFill => CancelReason::FokCannotFill,
                        _ => CancelReason::PostOnlyWouldTake,
                    };
                    ev.push(cancelled(&a.o, reason));
                }
            }
        }
    }

    fn amend_armed(&mut self, acct: AccountId, a: &Amend, armed: MArmed, ev: &mut Vec<EventKind>) {
        use RejectReason::*;
        let o = armed.o;
        let inst = &self.insts[&o.inst];
        let s = inst.spec;
        let check = || -> Result<bool, RejectReason> {
            if a.new_qty.is_none() && a.new_price.is_none() {
                return Err(InvalidField);
            }
            if inst.state != InstrumentState::Trading {
                return Err(InstrumentNotTrading);
            }
            if a.new_qty == Some(0) {
                return Ok(true);
            }
            if a.new_price.is_some() && armed.order_type == OrderType::Market {
                return Err(InvalidField);
            }
            if let Some(p) = a.new_price {
                if p == 0 || !p.is_multiple_of(s.tick) {
                    return Err(PriceOffTick);
                }
            }
            if let Some(q) = a.new_qty {
                if !q.is_multiple_of(s.lot) {
                    return Err(QtyOffLot);
                }
                if q < s.min_qty || q > s.max_qty {
                    return Err(QtyOutOfRange);
                }
            }
            let price = a.new_price.unwrap_or(o.price);
            let qty = a.new_qty.unwrap_or(o.qty);
            if price == o.price && qty == o.qty {
                return Err(InvalidField);
            }
            if armed.order_type == OrderType::Limit {
                if inst.notional(price, qty) < s.min_notional as u128 {
                    return Err(BelowMinNotional);
                }
                if !inst.in_band(price) {
                    return Err(OutsidePriceBand);
                }
            }
            Ok(false)
        };
        match check() {
            Err(r) => ev.push(self.reject_ref(acct, CommandType::Amend, a.order, o.inst, r)),
            Ok(true) => self.cancel_resting(o, CancelReason::User, ev),
            Ok(false) => {
                let price = a.new_price.unwrap_or(o.price);
                let qty = a.new_qty.unwrap_or(o.qty);
                let inst = self.insts.get_mut(&o.inst).unwrap();
                let m = inst.armed.iter_mut().find(|x| x.o.id == o.id).unwrap();
                m.o.price = price;
                m.o.qty = qty;
                m.o.leaves = qty;
                ev.push(EventKind::Amended(Amended {
                    account: acct,
                    order_id: o.id,
                    client_order_id: o.cid,
                    instrument: o.inst,
                    side: o.side,
                    price,
                    qty,
                    leaves: qty,
                    kept_priority: true,
                }));
            }
        }
    }

    // ----- advanced orders ---------------------------------------------------

    /// Expiry after the engine's time, within `max_orders / 2` live expiring orders.
    fn validate_expiry(&self, expire: u64) -> Result<(), RejectReason> {
        if expire == 0 {
            return Ok(());
        }
        if expire <= self.now {
            return Err(RejectReason::AlreadyExpired);
        }
        let expiring = self.all_live().iter().filter(|o| o.expire != 0).count();
        if expiring >= (self.cfg.max_orders / 2).max(1) as usize {
            return Err(RejectReason::CapacityReached);
        }
        Ok(())
    }

    fn new_advanced(&mut self, acct: AccountId, ts: u64, a: &AdvancedOrder, ev: &mut Vec<EventKind>) {
        use RejectReason::*;
        let reject = |ev: &mut Vec<EventKind>, reason| {
            ev.push(EventKind::Rejected(Rejected {
                account: acct,
                command: CommandType::NewAdvancedOrder,
                client_order_id: a.order.client_order_id,
                order_id: 0,
                instrument: a.order.instrument,
                reason,
            }))
        };
        let o = a.order;
        let quote = a.quote_qty != 0;
        let resting = o.order_type == OrderType::Limit && matches!(o.tif, TimeInForce::Gtc | TimeInForce::PostOnly);
        if quote
            && (o.order_type != OrderType::Market
                || o.qty != 0
                || !matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok)
                || a.trigger.is_some()
                || a.expire_time_ns != 0)
        {
            return reject(ev, InvalidField);
        }
        if a.expire_time_ns != 0 && !resting && a.trigger.is_none() {
            return reject(ev, InvalidField);
        }
        if a.display_qty != 0 && (!resting || a.trigger.is_some()) {
            return reject(ev, InvalidField);
        }
        if a.trailing.is_some() && a.trigger != Some((0, TriggerKind::StopLoss)) {
            return reject(ev, InvalidField);
        }
        if let Some((trigger_price, trigger)) = a.trigger {
            let s = StopOrder { order: o, trigger_price, trigger };
            return self.new_stop(acct, ts, &s, a.expire_time_ns, a.trailing, CommandType::NewAdvancedOrder, ev);
        }
        let mut o = o;
        let mut limit = None;
        if quote {
            match self.quote_qty(acct, &o, a.quote_qty) {
                Ok((q, l)) => {
                    o.qty = q;
                    limit = Some(l);
                }
                Err(r) => return reject(ev, r),
            }
        }
        let verdict =
            self.validate_basic(acct, &o).and_then(|_| self.validate_expiry(a.expire_time_ns)).and_then(|_| {
                let inst = &self.insts[&o.instrument];
                let d = a.display_qty;
                if d != 0 {
                    if !d.is_multiple_of(inst.spec.lot) {
                        return Err(QtyOffLot);
                    }
                    if d < inst.spec.min_qty {
                        return Err(QtyOutOfRange);
                    }
                    if d >= o.qty {
                        return Err(InvalidField);
                    }
                    let icebergs = self.insts.values().flat_map(|i| i.orders.iter()).filter(|x| x.display > 0).count();
                    if icebergs >= (self.cfg.max_orders / 4).max(1) as usize {
                        return Err(CapacityReached);
                    }
                }
                let limit = limit.unwrap_or(if o.order_type == OrderType::Market {
                    inst.market_limit(o.side)
                } else {
                    o.price
                });
                self.fok_and_post_only(acct, &o, limit)?;
                Ok(limit)
            });
        let limit = match verdict {
            Ok(l) => l,
            Err(r) => return reject(ev, r),
        };
        self.accept_and_execute(acct, ts, &o, limit, a.expire_time_ns, a.display_qty, ev);
    }

    /// A validated new order: `Accepted` with the next order id, its execution, then the
    /// triggers its trades reached.
    #[allow(clippy::too_many_arguments)]
    fn accept_and_execute(
        &mut self,
        acct: AccountId,
        ts: u64,
        o: &NewOrder,
        limit: Price,
        expire: u64,
        display: Qty,
        ev: &mut Vec<EventKind>,
    ) {
        let id = self.next_oid;
        self.next_oid += 1;
        self.push_accepted(acct, id, o, ts, ev);
        self.execute(acct, ts, o, id, limit, expire, display, ev);
        self.fire_triggers(o.instrument, ts, ev);
    }

    /// The quantity a quote-quantity order buys or sells, and the last price it reaches: whole
    /// lots per maker, in priority order within the market band, while the budget (notional
    /// rounded up per maker) lasts; an own order ends the walk unless STP cancels makers.
    fn quote_qty(&self, acct: AccountId, o: &NewOrder, budget: u64) -> Result<(Qty, Price), RejectReason> {
        use RejectReason::*;
        if acct >= self.cfg.max_accounts {
            return Err(UnknownAccount);
        }
        let inst = self.insts.get(&o.instrument).ok_or(UnknownInstrument)?;
        if inst.state != InstrumentState::Trading {
            return Err(InstrumentNotTrading);
        }
        let s = inst.spec;
        let band = inst.market_limit(o.side);
        let (mut left, mut qty, mut last) = (budget as u128, 0u64, 0u64);
        for m in inst.sorted(opposite(o.side)) {
            if !crosses(o.side, band, m.price) {
                break;
            }
            if m.acct == acct && o.stp != StpMode::None {
                if o.stp == StpMode::CancelMaker {
                    continue;
                }
                break;
            }
            let lots = left * s.qty_scale as u128 / m.price as u128 / s.lot as u128;
            let q = ((lots * s.lot as u128).min(u64::MAX as u128) as u64).min(m.leaves);
            if q == 0 {
                break;
            }
            qty = qty.saturating_add(q);
            last = m.price;
            left -= (m.price as u128 * q as u128).div_ceil(s.qty_scale as u128).min(left);
            if q < m.leaves || qty > s.max_qty {
                break;
            }
        }
        if qty == 0 {
            return Err(NothingToFill);
        }
        Ok((qty, last))
    }

    fn amend_trigger(&mut self, acct: AccountId, a: &AmendTrigger, ev: &mut Vec<EventKind>) {
        use RejectReason::*;
        let found = if acct >= self.cfg.max_accounts { Err(UnknownAccount) } else { self.lookup(acct, a.order) };
        let inst_of = found.map_or(0, |o| o.inst);
        let verdict = found.and_then(|o| {
            let armed = self.find_armed(o.id).ok_or(NotArmed)?;
            let inst = &self.insts[&o.inst];
            if inst.state != InstrumentState::Trading {
                return Err(InstrumentNotTrading);
            }
            if a.trigger_price == 0 || !a.trigger_price.is_multiple_of(inst.spec.tick) {
                return Err(PriceOffTick);
            }
            if armed.trailing.is_some() || a.trigger_price == armed.trigger_price {
                return Err(InvalidField);
            }
            let fires_now =
                if armed.rise() { inst.reference >= a.trigger_price } else { inst.reference <= a.trigger_price };
            if fires_now {
                return Err(WouldTriggerImmediately);
            }
            Ok(armed)
        });
        let armed = match verdict {
            Ok(x) => x,
            Err(r) => return ev.push(self.reject_ref(acct, CommandType::AmendTrigger, a.order, inst_of, r)),
        };
        let time = self.tick();
        let inst = self.insts.get_mut(&armed.o.inst).unwrap();
        let x = inst.armed.iter_mut().find(|x| x.o.id == armed.o.id).unwrap();
        x.trigger_price = a.trigger_price;
        x.o.time = time;
        ev.push(EventKind::TriggerAmended(TriggerAmended {
            account: acct,
            order_id: armed.o.id,
            client_order_id: armed.o.cid,
            instrument: armed.o.inst,
            side: armed.o.side,
            trigger_price: a.trigger_price,
        }));
    }

    fn mass_cancel(&mut self, acct: AccountId, m: &MassCancel, ev: &mut Vec<EventKind>) {
        let reason = if acct >= self.cfg.max_accounts {
            Some(RejectReason::UnknownAccount)
        } else if matches!(m.instrument, Some(i) if !self.insts.contains_key(&i)) {
            Some(RejectReason::UnknownInstrument)
        } else {
            None
        };
        if let Some(reason) = reason {
            return ev.push(EventKind::Rejected(Rejected {
                account: acct,
                command: CommandType::MassCancel,
                client_order_id: 0,
                order_id: 0,
                instrument: m.instrument.unwrap_or(0),
                reason,
            }));
        }
        let targets: Vec<MOrder> = self
            .all_live()
            .into_iter()
            .filter(|o| o.acct == acct)
            .filter(|o| m.instrument.is_none_or(|i| i == o.inst))
            .filter(|o| m.side.is_none_or(|s| s == o.side))
            .collect();
        for o in &targets {
            self.cancel_resting(*o, CancelReason::MassCancel, ev);
        }
        ev.push(EventKind::MassCancelled(MassCancelled { account: acct, count: targets.len() as u32 }));
    }

    // ----- instruments -------------------------------------------------------

    fn add_instrument(&mut self, acct: AccountId, s: &InstrumentSpec, ev: &mut Vec<EventKind>) {
        let invalid = !symbol_ok(&s.symbol)
            || s.tick == 0
            || s.lot == 0
            || s.qty_scale == 0
            || s.min_qty == 0
            || !s.min_qty.is_multiple_of(s.lot)
            || s.min_qty > s.max_qty
            || s.reference_price == 0
            || !s.reference_price.is_multiple_of(s.tick);
        let reason = if s.id >= self.cfg.max_instruments {
            Some(RejectReason::InvalidInstrument)
        } else if self.insts.contains_key(&s.id) {
            Some(RejectReason::InstrumentExists)
        } else if invalid {
            Some(RejectReason::InvalidInstrument)
        } else {
            None
        };
        if let Some(reason) = reason {
            return ev.push(EventKind::Rejected(Rejected {
                account: acct,
                command: CommandType::AddInstrument,
                client_order_id: 0,
                order_id: 0,
                instrument: s.id,
                reason,
            }));
        }
        self.insts.insert(
            s.id,
            MInst {
                spec: *s,
                state: InstrumentState::Trading,
                reference: s.reference_price,
                orders: Vec::new(),
                armed: Vec::new(),
                trail_groups: Vec::new(),
                pending: Vec::new(),
            },
        );
        ev.push(EventKind::InstrumentAdded(InstrumentAdded { account: acct, spec: *s, perpetual: false }));
    }

    fn set_state(&mut self, acct: AccountId, s: &SetInstrumentState, ev: &mut Vec<EventKind>) {
        let reason = match self.insts.get(&s.instrument) {
            None => Some(RejectReason::UnknownInstrument),
            Some(i) if i.state == InstrumentState::Closed || i.state == s.state => {
                Some(RejectReason::InvalidStateTransition)
            }
            Some(_) => None,
        };
        if let Some(reason) = reason {
            return ev.push(EventKind::Rejected(Rejected {
                account: acct,
                command: CommandType::SetInstrumentState,
                client_order_id: 0,
                order_id: 0,
                instrument: s.instrument,
                reason,
            }));
        }
        let inst = self.insts.get_mut(&s.instrument).unwrap();
        inst.state = s.state;
        ev.push(EventKind::InstrumentStateChanged(InstrumentStateChanged {
            account: acct,
            instrument: s.instrument,
            state: s.state,
        }));
        if s.state == InstrumentState::Closed {
            for side in [Side::Buy, Side::Sell] {
                let sorted = inst.sorted(side);
                for (i, o) in sorted.iter().enumerate() {
                    inst.remove(o.id);
                    ev.push(cancelled(o, CancelReason::InstrumentState));
                    let last_of_level = sorted.get(i + 1).is_none_or(|n| n.price != o.price);
                    if last_of_level {
                        ev.push(EventKind::LevelChanged(LevelChanged {
                            instrument: s.instrument,
                            side,
                            price: o.price,
                            qty: 0,
                            order_count: 0,
                        }));
                    }
                }
            }
            for a in inst.armed_closing_order() {
                ev.push(cancelled(&a.o, CancelReason::InstrumentState));
            }
            inst.armed.clear();
        }
    }
}

// ===== Order lists ==============================================================

type MTrigger = Option<(Price, TriggerKind)>;
/// A leg being placed: its order, trigger and part (1 working, 2 pending, 3 contingent).
type MLeg = (NewOrder, MTrigger, u8);

impl Model {
    /// The list a live order belongs to (index into `lists`) and its part there.
    fn list_of(&self, id: OrderId) -> Option<(usize, u8)> {
        self.lists.iter().enumerate().find_map(|(i, l)| l.members.iter().find(|m| m.0 == id).map(|m| (i, m.1)))
    }

    fn new_list(&mut self, acct: AccountId, ts: u64, l: &OrderList, ev: &mut Vec<EventKind>) {
        let legs: Vec<MLeg> = l
            .orders()
            .enumerate()
            .map(|(k, (o, t))| {
                let role = match (l.kind, k) {
                    (ListKind::Oco, _) => 3,
                    (_, 0) => 1,
                    _ => 2,
                };
                (o, t, role)
            })
            .collect();
        if let Err(reason) = self.validate_list(acct, l, &legs) {
            return ev.push(EventKind::Rejected(Rejected {
                account: acct,
                command: CommandType::NewOrderList,
                client_order_id: l.client_order_id,
                order_id: 0,
                instrument: l.instrument,
                reason,
            }));
        }
        let list_id = self.next_oid;
        ev.push(EventKind::ListAccepted(ListAccepted {
            account: acct,
            list_id,
            client_order_id: l.client_order_id,
            instrument: l.instrument,
            kind: l.kind,
            legs: legs.len() as u8,
            timestamp_ns: ts,
        }));
        self.next_oid += legs.len() as u64;
        let ids: Vec<OrderId> = (0..legs.len() as u64).map(|k| list_id + k).collect();
        self.lists.push(MList {
            id: list_id,
            kind: l.kind,
            members: ids.iter().zip(&legs).map(|(&id, g)| (id, g.2)).collect(),
        });
        // Pending legs wait, live, in no book.
        for (&id, &(o, trigger, role)) in ids.iter().zip(&legs) {
            if role == 2 {
                let m = self.morder(acct, id, &o);
                self.insts.get_mut(&l.instrument).unwrap().pending.push(MPending {
                    o: m,
                    order_type: o.order_type,
                    trigger,
                });
            }
        }
        if l.kind == ListKind::Oco {
            self.place_pair(acct, ts, [(ids[0], legs[0].0, legs[0].1), (ids[1], legs[1].0, legs[1].1)], ev);
        } else {
            let o = legs[0].0;
            self.push_accepted(acct, ids[0], &o, ts, ev);
            self.execute(acct, ts, &o, ids[0], o.price, 0, 0, ev);
        }
        self.fire_triggers(l.instrument, ts, ev);
    }

    fn morder(&mut self, acct: AccountId, id: OrderId, o: &NewOrder) -> MOrder {
        let time = self.tick();
        MOrder {
            id,
            cid: o.client_order_id,
            acct,
            inst: o.instrument,
            side: o.side,
            price: o.price,
            qty: o.qty,
            leaves: o.qty,
            tif: o.tif,
            stp: o.stp,
            time,
            expire: 0,
            display: 0,
            visible: 0,
        }
    }

    fn push_accepted(&self, acct: AccountId, id: OrderId, o: &NewOrder, ts: u64, ev: &mut Vec<EventKind>) {
        ev.push(EventKind::Accepted(Accepted {
            account: acct,
            order_id: id,
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            order_type: o.order_type,
            tif: o.tif,
            price: o.price,
            qty: o.qty,
            timestamp_ns: ts,
        }));
    }

    /// docs/matching.md "Order lists": the shape, each leg's steps 1-12 and trigger, then room
    /// for all of them, then post-only.
    fn validate_list(&self, acct: AccountId, l: &OrderList, legs: &[MLeg]) -> Result<(), RejectReason> {
        use RejectReason::*;
        if l.kind != ListKind::Oco && !matches!(l.working_tif, TimeInForce::Gtc | TimeInForce::PostOnly) {
            return Err(InvalidField);
        }
        if l.kind != ListKind::Oto {
            let pair = [l.leg(0), l.leg(1)];
            let limits = pair.iter().filter(|g| g.trigger.is_none()).count();
            let limit_ok = pair
                .iter()
                .all(|g| g.trigger.is_some() || (g.order_type == OrderType::Limit && g.tif == TimeInForce::PostOnly));
            if limits > 1 || !limit_ok {
                return Err(InvalidField);
            }
        }
        if l.client_order_id.checked_add(legs.len() as u64 - 1).is_none() {
            return Err(InvalidField);
        }
        for (o, trigger, role) in legs {
            self.validate_basic(acct, o)?;
            if let Some((tp, kind)) = trigger {
                let inst = &self.insts[&o.instrument];
                if *tp == 0 || !tp.is_multiple_of(inst.spec.tick) {
                    return Err(PriceOffTick);
                }
                let rise = matches!(
                    (kind, o.side),
                    (TriggerKind::StopLoss, Side::Buy) | (TriggerKind::TakeProfit, Side::Sell)
                );
                let reached = if rise { inst.reference >= *tp } else { inst.reference <= *tp };
                if *role != 2 && reached {
                    return Err(WouldTriggerImmediately);
                }
            }
        }
        let n = legs.len();
        let acct_live = self.all_live().iter().filter(|x| x.acct == acct).count();
        if acct_live + n > self.cfg.max_open_orders_per_account as usize {
            return Err(TooManyOpenOrders);
        }
        let listed: usize = self.lists.iter().map(|l| l.members.len()).sum();
        // Pending conditional legs hold an armed place from the start.
        let conditional = legs.iter().filter(|g| g.1.is_some()).count();
        if self.live_count() + n > self.cfg.max_orders as usize
            || listed + n > (self.cfg.max_orders / 2).max(1) as usize
            || self.armed_taken() + conditional > self.armed_capacity()
        {
            return Err(CapacityReached);
        }
        for (o, trigger, role) in legs {
            if *role != 2 && trigger.is_none() && o.tif == TimeInForce::PostOnly {
                let inst = &self.insts[&o.instrument];
                if inst.best(opposite(o.side)).is_some_and(|p| crosses(o.side, o.price, p)) {
                    return Err(PostOnlyWouldTake);
                }
            }
        }
        Ok(())
    }

    /// An OCO's legs (or an activated OTOCO pair's), in leg order. A leg that cannot be placed
    /// takes the other with it: never placed if it was the first, as a list action otherwise.
    fn place_pair(
        &mut self,
        acct: AccountId,
        ts: u64,
        legs: [(OrderId, NewOrder, MTrigger); 2],
        ev: &mut Vec<EventKind>,
    ) {
        for (k, (id, o, trigger)) in legs.iter().enumerate() {
            if !self.place_leg(acct, ts, *id, o, *trigger, ev) && k == 0 {
                let m = self.morder(acct, legs[1].0, &legs[1].1);
                ev.push(cancelled(&m, CancelReason::OrderList));
                if let Some((li, _)) = self.list_of(legs[1].0) {
                    self.lists.remove(li);
                }
                return;
            }
        }
    }

    /// Places one leg on its id: armed, or accepted and matched (FOK, post-only checked now, a
    /// failure cancelling it). Returns whether it is live (or traded) afterwards.
    fn place_leg(
        &mut self,
        acct: AccountId,
        ts: u64,
        id: OrderId,
        o: &NewOrder,
        trigger: Option<(Price, TriggerKind)>,
        ev: &mut Vec<EventKind>,
    ) -> bool {
        if let Some((trigger_price, kind)) = trigger {
            ev.push(EventKind::Armed(Armed {
                account: acct,
                order_id: id,
                client_order_id: o.client_order_id,
                instrument: o.instrument,
                side: o.side,
                order_type: o.order_type,
                tif: o.tif,
                trigger: kind,
                price: o.price,
                qty: o.qty,
                trigger_price,
                trigger_source: TriggerSource::LastPrice,
                timestamp_ns: ts,
            }));
            let m = self.morder(acct, id, o);
            let a = MArmed { o: m, order_type: o.order_type, trigger: kind, trigger_price, trailing: None };
            self.insts.get_mut(&o.instrument).unwrap().armed.push(a);
            return true;
        }
        self.push_accepted(acct, id, o, ts, ev);
        let limit =
            if o.order_type == OrderType::Market { self.insts[&o.instrument].market_limit(o.side) } else { o.price };
        if let Err(r) = self.fok_and_post_only(acct, o, limit) {
            let reason = if r == RejectReason::FokCannotFill {
                CancelReason::FokCannotFill
            } else {
                CancelReason::PostOnlyWouldTake
            };
            let m = self.morder(acct, id, o);
            ev.push(cancelled(&m, reason));
            return false;
        }
        self.execute(acct, ts, o, id, limit, 0, 0, ev);
        true
    }

    /// Looks at the command's events not yet seen, in order, for what they do to order lists
    /// (as the engine queues it), then does it; what that does is looked at in turn.
    fn settle_lists(&mut self, ts: u64, ev: &mut Vec<EventKind>) {
        loop {
            let mut actions: Vec<(OrderId, bool)> = Vec::new();
            while self.ev_cursor < ev.len() {
                let e = ev[self.ev_cursor];
                self.ev_cursor += 1;
                match e {
                    EventKind::Trade(t) => {
                        if let Some((li, role)) = self.list_of(t.maker_order_id) {
                            if role == 3 {
                                self.leave(li, t.maker_order_id, false, &mut actions);
                            } else if role == 1 && t.maker_leaves == 0 {
                                self.leave(li, t.maker_order_id, true, &mut actions);
                            }
                        }
                        if let Some((li, role)) = self.list_of(t.taker_order_id) {
                            if role == 1 && t.taker_leaves == 0 {
                                self.leave(li, t.taker_order_id, true, &mut actions);
                            }
                        }
                    }
                    EventKind::Cancelled(c) if c.reason != CancelReason::OrderList => {
                        if let Some((li, _)) = self.list_of(c.order_id) {
                            self.leave(li, c.order_id, false, &mut actions);
                        }
                    }
                    _ => {}
                }
            }
            if actions.is_empty() {
                return;
            }
            for (id, activate) in actions {
                if activate {
                    self.activate(id, ts, ev);
                } else if let Some(o) = self.find_id(id) {
                    if let Some((li, _)) = self.list_of(id) {
                        self.lists[li].members.retain(|m| m.0 != id);
                        if self.lists[li].members.is_empty() {
                            self.lists.remove(li);
                        }
                    }
                    let before = ev.len();
                    self.cancel_resting(o, CancelReason::OrderList, ev);
                    debug_assert!(ev.len() > before);
                }
            }
        }
    }

    /// `id` leaves list `li`; every other member gets `activate` or a cancel.
    fn leave(&mut self, li: usize, id: OrderId, activate: bool, actions: &mut Vec<(OrderId, bool)>) {
        let l = &mut self.lists[li];
        l.members.retain(|m| m.0 != id);
        actions.extend(l.members.iter().map(|m| (m.0, activate)));
        if l.members.is_empty() {
            self.lists.remove(li);
        }
    }

    fn activate(&mut self, id: OrderId, ts: u64, ev: &mut Vec<EventKind>) {
        let Some(p) = self.insts.values().flat_map(|i| i.pending.iter()).find(|p| p.o.id == id).copied() else {
            return;
        };
        let (li, _) = self.list_of(id).expect("a pending leg is listed");
        let others: Vec<OrderId> = self.lists[li].members.iter().map(|m| m.0).filter(|&x| x != id).collect();
        let order = |p: &MPending| NewOrder {
            client_order_id: p.o.cid,
            instrument: p.o.inst,
            side: p.o.side,
            order_type: p.order_type,
            tif: p.o.tif,
            stp: p.o.stp,
            price: p.o.price,
            qty: p.o.qty,
        };
        if others.is_empty() {
            // An OTO's leg: an ordinary order from now on.
            self.lists.remove(li);
            self.insts.get_mut(&p.o.inst).unwrap().pending.retain(|x| x.o.id != id);
            self.place_leg(p.o.acct, ts, id, &order(&p), p.trigger, ev);
            return;
        }
        let other = others[0];
        let q = *self.insts[&p.o.inst].pending.iter().find(|x| x.o.id == other).expect("the pair is pending");
        for m in self.lists[li].members.iter_mut() {
            m.1 = 3;
        }
        self.insts.get_mut(&p.o.inst).unwrap().pending.retain(|x| x.o.id != id && x.o.id != other);
        let (a, b) = if p.o.id < q.o.id { (p, q) } else { (q, p) };
        self.place_pair(p.o.acct, ts, [(a.o.id, order(&a), a.trigger), (b.o.id, order(&b), b.trigger)], ev);
    }
}

// ===== Comparing engine and model state =======================================

fn view(o: &MOrder) -> OrderView {
    OrderView {
        order_id: o.id,
        client_order_id: o.cid,
        account: o.acct,
        instrument: o.inst,
        side: o.side,
        price: o.price,
        qty: o.qty,
        leaves: o.leaves,
        tif: o.tif,
        stp: o.stp,
    }
}

fn compare_state(e: &Engine, m: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.next_ids(), (m.next_oid, m.next_tid));
    prop_assert_eq!(e.live_orders() as usize, m.live_count());
    prop_assert_eq!(e.instrument_ids().count(), m.insts.len());
    for (id, mi) in &m.insts {
        let v = e.instrument(*id).expect("instrument known to the engine");
        prop_assert_eq!((v.spec, v.state, v.reference_price), (mi.spec, mi.state, mi.reference), "instrument {}", id);
        for side in [Side::Buy, Side::Sell] {
            let want: Vec<OrderView> = mi.sorted(side).iter().map(view).collect();
            prop_assert_eq!(e.book_orders(*id, side), want, "book {} {:?}", id, side);
        }
        let want: Vec<ArmedView> = mi
            .armed_closing_order()
            .iter()
            .map(|a| ArmedView {
                order: view(&a.o),
                order_type: a.order_type,
                trigger: a.trigger,
                trigger_price: a.trigger_price(mi.spec.tick),
                trailing: a.trailing.map(|t| t.0),
                trigger_source: TriggerSource::LastPrice,
            })
            .collect();
        prop_assert_eq!(e.armed_orders(*id), want, "armed orders of {}", id);
    }
    let mut want: Vec<(OrderId, OrderId, u8, u8)> = m
        .lists
        .iter()
        .flat_map(|l| l.members.iter().map(move |&(id, role)| (id, l.id, role, l.kind.as_u8())))
        .collect();
    want.sort();
    let got: Vec<(OrderId, OrderId, u8, u8)> =
        e.list_members().iter().map(|x| (x.order_id, x.list_id, x.role, x.kind)).collect();
    prop_assert_eq!(got, want, "order list members");
    for acct in 0..m.cfg.max_accounts {
        let want: Vec<OrderView> = m.all_live().iter().filter(|o| o.acct == acct).map(view).collect();
        prop_assert_eq!(e.account_orders(acct), want, "account {}", acct);
    }
    for o in m.all_live() {
        prop_assert_eq!(e.order(o.id), Some(view(&o)));
    }
    Ok(())
}

// ===== Random command streams =================================================

const MAX_ACCOUNTS: u32 = 4;
const MAX_INSTRUMENTS: u32 = 16;
/// Instrument ids the generator names: three added at start, 13 and 14 added
/// later (maybe), 16 out of range.
const INST_IDS: [InstrumentId; 6] = [10, 11, 12, 13, 14, 16];

fn base_spec(id: InstrumentId) -> InstrumentSpec {
    let s = |tick, lot, min_qty, max_qty, min_notional, bps, reference, qty_scale| InstrumentSpec {
        id,
        symbol: InstrumentSpec::symbol_from_str(&format!("I{id}")).unwrap(),
        base_asset: id,
        quote_asset: 1,
        tick,
        lot,
        min_qty,
        max_qty,
        min_notional,
        price_band_bps: bps,
        reference_price: reference,
        qty_scale,
    };
    match id {
        // Dense: tick 1, lot 1, band 10% around 100.
        10 => s(1, 1, 1, 50, 0, 1_000, 100, 1),
        // Coarse tick/lot, min qty above lot, notional floor, narrow band (±6 ticks).
        11 => s(5, 10, 20, 300, 30_000, 300, 1_000, 1),
        // Band > 100%: the market sell limit saturates at one tick.
        12 => s(1, 1, 1, 20, 0, 20_000, 10, 1),
        _ => s(2, 5, 5, 100, 50, 500, 200, 10),
    }
}

#[derive(Debug, Clone, Copy)]
enum Px {
    /// Ticks away from the instrument's current reference price, on the
    /// passive side (below it for a buy, above for a sell); negative crosses.
    Off(i8),
    /// A raw price (zero, off-tick, far away).
    Raw(u64),
}

#[derive(Debug, Clone, Copy)]
enum Q {
    Lots(u8),
    Raw(u64),
}

#[derive(Debug, Clone, Copy)]
enum Target {
    /// The n-th live order (mod count), by engine or client id, from its owner or another account.
    Live { n: u16, by_client: bool, other: Option<u8> },
    /// A raw engine id near the ids in use.
    Engine(u8),
    /// A raw client id.
    Client(u8),
}

#[derive(Debug, Clone, Copy)]
enum Op {
    New {
        acct: u8,
        inst: u8,
        cid: u8,
        buy: bool,
        market: bool,
        tif: u8,
        stp: u8,
        px: Px,
        qty: Q,
    },
    Cancel {
        acct: u8,
        target: Target,
    },
    Amend {
        acct: u8,
        target: Target,
        qty: Option<Q>,
        px: Option<Px>,
    },
    Mass {
        acct: u8,
        inst: Option<u8>,
        side: Option<bool>,
    },
    /// `heal`: resume trading on an instrument that is halted or cancel-only, if any.
    State {
        inst: u8,
        state: u8,
        heal: bool,
    },
    Add {
        variant: u8,
        inst: u8,
    },
    /// A conditional order: `trig` ticks from the reference on the side where it does not fire
    /// yet (0 or less: it would fire now), or a raw trigger price.
    Stop {
        acct: u8,
        inst: u8,
        cid: u8,
        buy: bool,
        market: bool,
        tif: u8,
        take_profit: bool,
        trig: Px,
        px: Px,
        qty: Q,
    },
    /// A `NewAdvancedOrder`: `kind` 0 a good-till-date limit, 1 a quote-quantity market order,
    /// 2 a good-till-date conditional order, 3 a bad combination, 4 an iceberg, 5 a trailing
    /// stop, 6 a bad trailing stop. `expire` is in ns from the
    /// engine's time (0 or less: already expired); `quote` in lots at the reference price.
    Adv {
        acct: u8,
        inst: u8,
        cid: u8,
        buy: bool,
        kind: u8,
        tif: u8,
        stp: u8,
        expire: i8,
        px: Px,
        qty: Q,
        quote: u8,
    },
    /// Move a (maybe) armed order's trigger price.
    AmendTrig {
        acct: u8,
        target: Target,
        trig: Px,
    },
    /// The gateway's clock advanced `dt` ns with no command: a `TimeTick`.
    Tick {
        dt: u8,
    },
    /// A `NewOrderList`: `kind` 0 OCO, 1 OTO, 2 OTOCO, 3 a bad shape. The contingent legs are on
    /// side `buy` (a limit `k0` ticks on its passive side, a stop `k1` ticks the other way, or
    /// both stops); the working order on `!buy`, `kw` ticks passive (negative: it crosses).
    List {
        acct: u8,
        inst: u8,
        cid: u8,
        kind: u8,
        buy: bool,
        shape: u8,
        k: (i8, i8, i8),
        qty: Q,
    },
}

fn acct_s() -> impl Strategy<Value = u8> {
    prop_oneof![30 => 0u8..4, 1 => Just(4u8)]
}

fn inst_s() -> impl Strategy<Value = u8> {
    prop_oneof![40 => 0u8..3, 2 => Just(3u8), 1 => 4u8..6]
}

fn px_s() -> impl Strategy<Value = Px> {
    prop_oneof![
        20 => (-3i8..=10).prop_map(Px::Off),
        1 => prop_oneof![Just(0u64), 1u64..2_000, Just(u64::MAX)].prop_map(Px::Raw),
    ]
}

fn qty_s() -> impl Strategy<Value = Q> {
    prop_oneof![
        20 => (1u8..=8).prop_map(Q::Lots),
        3 => (0u8..=40).prop_map(Q::Lots),
        1 => prop_oneof![Just(0u64), 1u64..400, Just(u64::MAX)].prop_map(Q::Raw),
    ]
}

fn target_s() -> impl Strategy<Value = Target> {
    prop_oneof![
        8 => (any::<u16>(), any::<bool>(), prop_oneof![6 => Just(None), 1 => (0u8..5).prop_map(Some)])
            .prop_map(|(n, by_client, other)| Target::Live { n, by_client, other }),
        1 => any::<u8>().prop_map(Target::Engine),
        1 => (0u8..8).prop_map(Target::Client),
    ]
}

fn op_s() -> impl Strategy<Value = Op> {
    let new = (
        acct_s(),
        inst_s(),
        1u8..16,
        any::<bool>(),
        prop_oneof![6 => Just(false), 1 => Just(true)],
        0u8..10,
        0u8..10,
        px_s(),
        qty_s(),
    )
        .prop_map(|(acct, inst, cid, buy, market, tif, stp, px, qty)| Op::New {
            acct,
            inst,
            cid,
            buy,
            market,
            tif,
            stp,
            px,
            qty,
        });
    let cancel = (acct_s(), target_s()).prop_map(|(acct, target)| Op::Cancel { acct, target });
    let amend = (
        acct_s(),
        target_s(),
        prop_oneof![2 => Just(None), 3 => qty_s().prop_map(Some)],
        prop_oneof![2 => Just(None), 3 => px_s().prop_map(Some)],
    )
        .prop_map(|(acct, target, qty, px)| Op::Amend { acct, target, qty, px });
    let mass = (
        acct_s(),
        prop_oneof![Just(None), inst_s().prop_map(Some)],
        prop_oneof![Just(None), any::<bool>().prop_map(Some)],
    )
        .prop_map(|(acct, inst, side)| Op::Mass { acct, inst, side });
    let state = (inst_s(), prop_oneof![8 => Just(1u8), 2 => Just(2u8), 2 => Just(3u8), 1 => Just(4u8), 1 => Just(9u8)])
        .prop_flat_map(|(inst, state)| any::<bool>().prop_map(move |heal| Op::State { inst, state, heal }));
    let add_inst = prop_oneof![3 => Just(3u8), 1 => Just(4u8), 1 => Just(5u8), 2 => 0u8..3];
    let add = (0u8..16, add_inst).prop_map(|(variant, inst)| Op::Add { variant, inst });
    let stop = (
        (acct_s(), inst_s(), 1u8..16, any::<bool>(), prop_oneof![2 => Just(true), 3 => Just(false)]),
        (0u8..10, any::<bool>(), prop_oneof![12 => (-1i8..=6).prop_map(Px::Off), 1 => px_s()], px_s(), qty_s()),
    )
        .prop_map(|((acct, inst, cid, buy, market), (tif, take_profit, trig, px, qty))| Op::Stop {
            acct,
            inst,
            cid,
            buy,
            market,
            tif,
            take_profit,
            trig,
            px,
            qty,
        });
    let adv = (
        (
            acct_s(),
            inst_s(),
            1u8..16,
            any::<bool>(),
            prop_oneof![5 => 0u8..3, 1 => Just(3u8), 4 => Just(4u8), 4 => Just(5u8), 1 => Just(6u8)],
            0u8..10,
            0u8..10,
        ),
        (prop_oneof![1 => -2i8..=0, 8 => 1i8..40], px_s(), qty_s(), prop_oneof![1 => Just(0u8), 6 => 1u8..60]),
    )
        .prop_map(|((acct, inst, cid, buy, kind, tif, stp), (expire, px, qty, quote))| Op::Adv {
            acct,
            inst,
            cid,
            buy,
            kind,
            tif,
            stp,
            expire,
            px,
            qty,
            quote,
        });
    let amend_trig = (acct_s(), target_s(), prop_oneof![8 => (-1i8..=6).prop_map(Px::Off), 1 => px_s()])
        .prop_map(|(acct, target, trig)| Op::AmendTrig { acct, target, trig });
    let tick = (1u8..20).prop_map(|dt| Op::Tick { dt });
    let list = (
        (acct_s(), inst_s(), 1u8..16, prop_oneof![6 => 0u8..3, 1 => Just(3u8)], any::<bool>(), 0u8..8),
        ((-2i8..6), (-1i8..6), (-3i8..4)),
        qty_s(),
    )
        .prop_map(|((acct, inst, cid, kind, buy, shape), k, qty)| Op::List {
            acct,
            inst,
            cid,
            kind,
            buy,
            shape,
            k,
            qty,
        });
    prop_oneof![
        70 => new, 6 => cancel, 12 => amend, 1 => mass, 2 => state, 1 => add, 14 => stop,
        14 => adv, 4 => amend_trig, 4 => tick, 10 => list,
    ]
}

/// An OTO's pending limit leg may be any limit order: a GTC one here.
fn maker_as_gtc(l: ListLeg) -> ListLeg {
    ListLeg { tif: TimeInForce::Gtc, ..l }
}

/// Turns an op into a command, using the model's state to aim at real orders
/// and at prices around the current reference.
fn resolve(op: &Op, m: &Model) -> Command {
    let side = |buy: bool| if buy { Side::Buy } else { Side::Sell };
    let inst_id = |i: u8| INST_IDS[i as usize % INST_IDS.len()];
    let spec_of = |id: InstrumentId| m.insts.get(&id).map(|i| (i.spec, i.reference)).unwrap_or((base_spec(id), 100));
    let price = |px: Px, id: InstrumentId, side: Side| match px {
        Px::Off(k) => {
            let (s, r) = spec_of(id);
            let k = if side == Side::Buy { -(k as i128) } else { k as i128 };
            let p = r as i128 + k * s.tick as i128;
            if p <= 0 {
                s.tick
            } else {
                p as u64
            }
        }
        Px::Raw(v) => v,
    };
    let qty = |q: Q, id: InstrumentId| match q {
        Q::Lots(n) => n as u64 * spec_of(id).0.lot,
        Q::Raw(v) => v,
    };
    let live = m.all_live();
    let target = |acct: u8, t: Target| -> (AccountId, OrderRef, InstrumentId, Side) {
        match t {
            Target::Live { n, by_client, other } if !live.is_empty() => {
                let o = live[n as usize % live.len()];
                let a = other.map_or(o.acct, |x| x as AccountId);
                (a, if by_client { OrderRef::Client(o.cid) } else { OrderRef::Engine(o.id) }, o.inst, o.side)
            }
            Target::Live { n, .. } => (acct as AccountId, OrderRef::Engine(n as u64 % 8), 10, Side::Buy),
            Target::Engine(k) => {
                let id = (m.next_oid + 2).saturating_sub(k as u64 % 24);
                let (inst, side) = m.find_id(id).map_or((10, Side::Sell), |o| (o.inst, o.side));
                (acct as AccountId, OrderRef::Engine(id), inst, side)
            }
            Target::Client(c) => {
                let (inst, side) =
                    m.find_cid(acct as AccountId, c as u64).map_or((10, Side::Buy), |o| (o.inst, o.side));
                (acct as AccountId, OrderRef::Client(c as u64), inst, side)
            }
        }
    };
    let tif_of = |t: u8| match t {
        0..=4 => TimeInForce::Gtc,
        5 | 6 => TimeInForce::Ioc,
        7 => TimeInForce::Fok,
        _ => TimeInForce::PostOnly,
    };
    let stp_of = |s: u8| match s {
        0..=3 => StpMode::None,
        4 | 5 => StpMode::CancelTaker,
        6 | 7 => StpMode::CancelMaker,
        _ => StpMode::CancelBoth,
    };
    let (account, kind) = match *op {
        Op::New { acct, inst, cid, buy, market, tif, stp, px, qty: q } => {
            let id = inst_id(inst);
            let (order_type, tif, price) = if market {
                // Mostly valid market orders; sometimes a GTC/post-only or a price.
                let tif = match tif {
                    0..=4 => TimeInForce::Ioc,
                    5..=7 => TimeInForce::Fok,
                    t => tif_of(t.wrapping_mul(3)),
                };
                let p = match px {
                    Px::Raw(v) => v,
                    Px::Off(_) => 0,
                };
                (OrderType::Market, tif, p)
            } else {
                (OrderType::Limit, tif_of(tif), price(px, id, side(buy)))
            };
            let o = NewOrder {
                client_order_id: cid as u64,
                instrument: id,
                side: side(buy),
                order_type,
                tif,
                stp: stp_of(stp),
                price,
                qty: qty(q, id),
            };
            (acct as AccountId, CommandKind::NewOrder(o))
        }
        Op::Stop { acct, inst, cid, buy, market, tif, take_profit, trig, px, qty: q } => {
            let id = inst_id(inst);
            let sd = side(buy);
            let trigger = if take_profit { TriggerKind::TakeProfit } else { TriggerKind::StopLoss };
            let rise =
                matches!((trigger, sd), (TriggerKind::StopLoss, Side::Buy) | (TriggerKind::TakeProfit, Side::Sell));
            let (s, r) = spec_of(id);
            let trigger_price = match trig {
                Px::Off(k) => {
                    let p = r as i128 + if rise { k as i128 } else { -(k as i128) } * s.tick as i128;
                    p.max(s.tick as i128) as u64
                }
                Px::Raw(v) => v,
            };
            let (order_type, tif, price) = if market {
                (OrderType::Market, if tif < 8 { TimeInForce::Ioc } else { TimeInForce::Fok }, 0)
            } else {
                (OrderType::Limit, tif_of(tif), price(px, id, sd))
            };
            let o = NewOrder {
                client_order_id: cid as u64,
                instrument: id,
                side: sd,
                order_type,
                tif,
                stp: StpMode::None,
                price,
                qty: qty(q, id),
            };
            (acct as AccountId, CommandKind::NewStopOrder(StopOrder { order: o, trigger_price, trigger }))
        }
        Op::Adv { acct, inst, cid, buy, kind, tif, stp, expire, px, qty: q, quote } => {
            let id = inst_id(inst);
            let sd = side(buy);
            let (s, r) = spec_of(id);
            let expire_time_ns = (m.now as i64 + expire as i64).max(0) as u64;
            let limit = |tif| NewOrder {
                client_order_id: cid as u64,
                instrument: id,
                side: sd,
                order_type: OrderType::Limit,
                tif,
                stp: stp_of(stp),
                price: price(px, id, sd),
                qty: qty(q, id),
            };
            let plain = AdvancedOrder::plain;
            let a = match kind {
                // Mostly GTC, sometimes post-only, IOC (invalid with an expiry).
                0 => AdvancedOrder { expire_time_ns, ..plain(limit(tif_of(tif))) },
                1 => {
                    let order = NewOrder {
                        order_type: OrderType::Market,
                        tif: if tif < 7 { TimeInForce::Ioc } else { TimeInForce::Fok },
                        price: 0,
                        qty: 0,
                        ..limit(TimeInForce::Ioc)
                    };
                    let quote_qty = (quote as u128 * s.lot as u128 * r as u128 / s.qty_scale as u128) as u64;
                    AdvancedOrder { quote_qty, ..plain(order) }
                }
                2 => {
                    let trigger = if tif % 2 == 0 { TriggerKind::StopLoss } else { TriggerKind::TakeProfit };
                    let rise = matches!(
                        (trigger, sd),
                        (TriggerKind::StopLoss, Side::Buy) | (TriggerKind::TakeProfit, Side::Sell)
                    );
                    let k = 1 + (quote % 5) as i128;
                    let trigger_price = (r as i128 + if rise { k } else { -k } * s.tick as i128).max(s.tick as i128);
                    AdvancedOrder {
                        expire_time_ns,
                        trigger: Some((trigger_price as u64, trigger)),
                        ..plain(limit(TimeInForce::Gtc))
                    }
                }
                // An iceberg showing 1-4 lots (sometimes off the lot; sometimes all of it, or
                // with an expiry too).
                4 => {
                    let display_qty = (1 + quote as u64 % 4) * s.lot + u64::from(quote % 7 == 0);
                    let expire_time_ns = if quote % 3 == 0 { expire_time_ns } else { 0 };
                    AdvancedOrder { display_qty, expire_time_ns, ..plain(limit(tif_of(tif))) }
                }
                // A trailing stop-loss: 1-4 ticks or 10-130 bps (a few ticks at these prices),
                // market or limit (a limit near the reference), sometimes good till date.
                5 => {
                    let trailing = if stp % 2 == 0 {
                        Trailing { delta: 1 + (quote % 4) as u32, unit: TrailUnit::Ticks }
                    } else {
                        Trailing { delta: 10 + 40 * (quote % 4) as u32, unit: TrailUnit::Bps }
                    };
                    let order = if tif < 5 {
                        NewOrder {
                            order_type: OrderType::Market,
                            tif: TimeInForce::Ioc,
                            price: 0,
                            ..limit(TimeInForce::Ioc)
                        }
                    } else {
                        limit(TimeInForce::Gtc)
                    };
                    let expire_time_ns = if quote % 3 == 0 { expire_time_ns } else { 0 };
                    AdvancedOrder {
                        trigger: Some((0, TriggerKind::StopLoss)),
                        trailing: Some(trailing),
                        expire_time_ns,
                        ..plain(order)
                    }
                }
                // Bad trailing stops: a zero delta, too many bps, a take-profit, a trigger price,
                // no trigger.
                6 => {
                    let (trigger, delta, unit) = match tif % 5 {
                        0 => (Some((0, TriggerKind::StopLoss)), 0, TrailUnit::Ticks),
                        1 => (Some((0, TriggerKind::StopLoss)), MAX_TRAIL_BPS + 1, TrailUnit::Bps),
                        2 => (Some((0, TriggerKind::TakeProfit)), 2, TrailUnit::Ticks),
                        3 => (Some((r, TriggerKind::StopLoss)), 2, TrailUnit::Ticks),
                        _ => (None, 2, TrailUnit::Ticks),
                    };
                    AdvancedOrder {
                        trigger,
                        trailing: Some(Trailing { delta, unit }),
                        ..plain(limit(TimeInForce::Gtc))
                    }
                }
                // Bad combinations: a quote quantity on a limit order, or with a quantity; an
                // expiry on an IOC order.
                _ => match tif % 3 {
                    0 => AdvancedOrder { quote_qty: 100, ..plain(limit(TimeInForce::Ioc)) },
                    1 => AdvancedOrder {
                        quote_qty: 100,
                        ..plain(NewOrder { order_type: OrderType::Market, price: 0, ..limit(TimeInForce::Ioc) })
                    },
                    _ => AdvancedOrder { expire_time_ns: m.now + 10, ..plain(limit(TimeInForce::Ioc)) },
                },
            };
            (acct as AccountId, CommandKind::NewAdvancedOrder(a))
        }
        Op::List { acct, inst, cid, kind, buy, shape, k: (k0, k1, kw), qty: q } => {
            let id = inst_id(inst);
            let sd = side(buy);
            let (s, r) = spec_of(id);
            let at = |k: i8, passive_for: Side| {
                let k = if passive_for == Side::Buy { -(k as i128) } else { k as i128 };
                (r as i128 + k * s.tick as i128).max(s.tick as i128) as u64
            };
            let qty = qty(q, id);
            // A limit leg rests on its side's passive side; a stop leg fires on a move against it
            // (a sell stop below the price, a buy stop above).
            let maker =
                ListLeg { order_type: OrderType::Limit, tif: TimeInForce::PostOnly, price: at(k0, sd), trigger: None };
            let stop_price = at(k1, sd.opposite());
            let stop = if shape % 2 == 0 {
                ListLeg {
                    order_type: OrderType::Market,
                    tif: TimeInForce::Ioc,
                    price: 0,
                    trigger: Some((stop_price, TriggerKind::StopLoss)),
                }
            } else {
                let limit = at(k1 + 1, sd.opposite());
                ListLeg {
                    order_type: OrderType::Limit,
                    tif: TimeInForce::Gtc,
                    price: limit,
                    trigger: Some((stop_price, TriggerKind::StopLoss)),
                }
            };
            let take_profit = ListLeg {
                order_type: OrderType::Market,
                tif: TimeInForce::Ioc,
                price: 0,
                trigger: Some((at(k0.max(1), sd), TriggerKind::TakeProfit)),
            };
            let pair = match shape % 4 {
                0 | 1 => [maker, stop],
                2 => [stop, maker],
                _ => [take_profit, stop],
            };
            let wtif = if shape >= 6 { TimeInForce::PostOnly } else { TimeInForce::Gtc };
            let working = (sd.opposite(), wtif, at(kw, sd.opposite()), qty);
            let cid = cid as u64;
            let mut l = match kind {
                0 => OrderList::oco(cid, id, sd, qty, pair),
                1 => OrderList::oto(
                    cid,
                    id,
                    working,
                    sd,
                    qty,
                    if shape % 3 == 0 { maker_as_gtc(maker) } else { pair[1] },
                ),
                2 => OrderList::otoco(cid, id, working, sd, qty, pair),
                // Bad shapes: two limit legs; an IOC working order.
                _ if shape % 2 == 0 => OrderList::oco(cid, id, sd, qty, [maker, maker]),
                _ => OrderList::oto(cid, id, (sd.opposite(), TimeInForce::Ioc, r, qty), sd, qty, maker),
            };
            l.stp = stp_of(shape);
            (acct as AccountId, CommandKind::NewOrderList(l))
        }
        Op::AmendTrig { acct, target: t, trig } => {
            let (a, r, inst, sd) = target(acct, t);
            let armed = match r {
                OrderRef::Engine(id) => m.find_armed(id),
                OrderRef::Client(c) => m.find_cid(a, c).and_then(|o| m.find_armed(o.id)),
            };
            let (s, reference) = spec_of(inst);
            let trigger_price = match (trig, armed) {
                (Px::Off(k), Some(x)) => {
                    let p = reference as i128 + if x.rise() { k as i128 } else { -(k as i128) } * s.tick as i128;
                    p.max(s.tick as i128) as u64
                }
                (Px::Off(k), None) => price(Px::Off(k), inst, sd),
                (Px::Raw(v), _) => v,
            };
            (a, CommandKind::AmendTrigger(AmendTrigger { order: r, trigger_price }))
        }
        Op::Tick { dt } => {
            return Command { account: 0, timestamp_ns: m.now + dt as u64, kind: CommandKind::TimeTick };
        }
        Op::Cancel { acct, target: t } => {
            let (a, r, _, _) = target(acct, t);
            (a, CommandKind::Cancel(Cancel { order: r }))
        }
        Op::Amend { acct, target: t, qty: q, px } => {
            let (a, r, inst, sd) = target(acct, t);
            let amend = Amend { order: r, new_qty: q.map(|q| qty(q, inst)), new_price: px.map(|p| price(p, inst, sd)) };
            (a, CommandKind::Amend(amend))
        }
        Op::Mass { acct, inst, side: s } => (
            acct as AccountId,
            CommandKind::MassCancel(MassCancel { instrument: inst.map(inst_id), side: s.map(side) }),
        ),
        Op::State { inst, state, heal } => {
            let paused =
                m.insts.values().find(|i| matches!(i.state, InstrumentState::Halted | InstrumentState::CancelOnly));
            let (instrument, state) = match paused {
                Some(i) if heal => (i.spec.id, InstrumentState::Trading),
                _ => (inst_id(inst), InstrumentState::from_u8(state).unwrap_or(InstrumentState::Trading)),
            };
            (0, CommandKind::SetInstrumentState(SetInstrumentState { instrument, state }))
        }
        Op::Add { variant, inst } => {
            let mut s = base_spec(inst_id(inst));
            match variant {
                0 => s.tick = 0,
                1 => s.lot = 0,
                2 => s.qty_scale = 0,
                3 => s.min_qty = 0,
                4 => s.min_qty = s.lot + 1,
                5 => s.max_qty = s.min_qty - 1,
                6 => s.reference_price = 0,
                7 => s.reference_price = s.tick * 100 + 1,
                8 => s.symbol = [0; SYMBOL_MAX_BYTES],
                9 => s.symbol[1] = 0x7f,
                10 => s.symbol[5] = b'X', // bytes after the NUL terminator
                _ => {}
            }
            (0, CommandKind::AddInstrument(s))
        }
    };
    Command { account, timestamp_ns: m.now.max(1_000 + m.clock), kind }
}

fn run_stream(cfg: EngineConfig, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut eng = Engine::new(cfg);
    let mut model = Model::new(cfg);
    let mut log: Vec<Command> = Vec::new();
    let mut step = |cmd: Command, model: &mut Model| -> Result<(), TestCaseError> {
        log.push(cmd);
        let seq = log.len() as u64;
        let mut got = Vec::new();
        eng.apply(seq, &cmd, &mut got);
        prop_assert!(got.iter().all(|e| e.seq == seq), "events must carry seq {}: {:?}", seq, got);
        let got: Vec<EventKind> = got.into_iter().map(|e| e.kind).collect();
        let want = model.apply(&cmd);
        prop_assert_eq!(&got, &want, "command #{} {:?}\nhistory: {:#?}", seq, cmd, log);
        common::check_invariants(&eng);
        compare_state(&eng, model)
    };
    for id in [10, 11, 12] {
        step(Command { account: 0, timestamp_ns: 1, kind: CommandKind::AddInstrument(base_spec(id)) }, &mut model)?;
    }
    for op in ops {
        let cmd = resolve(op, &model);
        step(cmd, &mut model)?;
    }
    Ok(())
}

fn config_s() -> impl Strategy<Value = EngineConfig> {
    (prop_oneof![Just(14u32), Just(4096)], prop_oneof![Just(5u32), Just(1000)]).prop_map(|(max_orders, per_acct)| {
        EngineConfig {
            max_orders,
            max_instruments: MAX_INSTRUMENTS,
            max_accounts: MAX_ACCOUNTS,
            max_open_orders_per_account: per_acct,
            ..EngineConfig::default()
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_reference_model(cfg in config_s(), ops in prop::collection::vec(op_s(), 1..300)) {
        run_stream(cfg, &ops)?;
    }
}

/// The generator reaches the interesting paths (so the property is not
/// vacuous): count event kinds and reject reasons over a fixed set of streams.
#[test]
fn generator_covers_the_rules() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen_reasons = std::collections::BTreeSet::new();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let cfg = config_s().new_tree(&mut runner).unwrap().current();
        let ops = prop::collection::vec(op_s(), 300).new_tree(&mut runner).unwrap().current();
        let mut model = Model::new(cfg);
        for id in [10, 11, 12] {
            model.apply(&Command { account: 0, timestamp_ns: 1, kind: CommandKind::AddInstrument(base_spec(id)) });
        }
        let mut trailing_ids = std::collections::BTreeMap::new();
        let mut list_legs = std::collections::BTreeMap::new();
        for op in &ops {
            let cmd = resolve(op, &model);
            let is_trailing =
                matches!(cmd.kind, CommandKind::NewAdvancedOrder(AdvancedOrder { trailing: Some(_), .. }));
            for e in model.apply(&cmd) {
                match e {
                    EventKind::ListAccepted(l) => {
                        seen.insert("ListAccepted".to_string());
                        let first_pending = if l.kind == ListKind::Oco { u64::MAX } else { l.list_id + 1 };
                        for id in l.list_id..l.list_id + l.legs as u64 {
                            list_legs.insert(id, id >= first_pending);
                        }
                    }
                    EventKind::Accepted(a) if list_legs.get(&a.order_id) == Some(&true) => {
                        seen.insert("list leg placed on fill".to_string());
                    }
                    EventKind::Armed(a) if list_legs.get(&a.order_id) == Some(&true) => {
                        seen.insert("list leg armed on fill".to_string());
                    }
                    EventKind::Triggered(t) if list_legs.contains_key(&t.order_id) => {
                        seen.insert("list leg fired".to_string());
                    }
                    EventKind::Armed(a) if is_trailing => {
                        trailing_ids.insert(a.order_id, a.trigger_price);
                        seen.insert("trailing Armed".to_string());
                    }
                    EventKind::Triggered(t) if trailing_ids.contains_key(&t.order_id) => {
                        let moved = trailing_ids[&t.order_id] != t.trigger_price;
                        seen.insert(format!("trailing Triggered moved={moved}"));
                    }
                    EventKind::Rejected(r) => {
                        seen_reasons.insert(r.reason);
                    }
                    EventKind::Cancelled(c) => {
                        seen.insert(format!("cancel {:?}", c.reason));
                    }
                    EventKind::SelfTradePrevented(s) => {
                        seen.insert(format!("stp {:?}", s.mode));
                    }
                    EventKind::Amended(a) => {
                        seen.insert(format!("amended kept={}", a.kept_priority));
                    }
                    EventKind::Trade(t) if t.taker_order_id < model.next_oid - 1 => {
                        seen.insert("trade by amend".to_string());
                    }
                    other => {
                        let name = format!("{other:?}");
                        seen.insert(name[..name.find('(').unwrap()].to_string());
                    }
                }
            }
        }
    }
    // Reasons 20.. belong to risk mode (accounts and balances), covered by the risk model test.
    let matching_only = RejectReason::ALL.iter().filter(|r| {
        r.code() <= RejectReason::InvalidStateTransition.code()
            || matches!(
                **r,
                RejectReason::WouldTriggerImmediately
                    | RejectReason::NothingToFill
                    | RejectReason::AlreadyExpired
                    | RejectReason::NotArmed
            )
    });
    let missing: Vec<_> = matching_only.filter(|r| !seen_reasons.contains(r)).collect();
    assert!(missing.is_empty(), "reject reasons never generated: {missing:?}");
    for want in [
        "Trade",
        "trade by amend",
        "MassCancelled",
        "InstrumentAdded",
        "InstrumentStateChanged",
        "cancel User",
        "cancel ImmediateRemainder",
        "cancel SelfTrade",
        "cancel MassCancel",
        "cancel InstrumentState",
        "stp CancelTaker",
        "stp CancelMaker",
        "stp CancelBoth",
        "amended kept=true",
        "amended kept=false",
        "Armed",
        "Triggered",
        "TriggerAmended",
        "cancel Expired",
        "IcebergSliced",
        "trailing Armed",
        "trailing Triggered moved=false",
        "trailing Triggered moved=true",
        "ListAccepted",
        "cancel OrderList",
        "list leg placed on fill",
        "list leg armed on fill",
        "list leg fired",
    ] {
        assert!(seen.contains(want), "generator never produced {want}: {seen:?}");
    }
}
