//! Helpers shared by the engine integration tests: command and event
//! builders, a harness that checks every event's `seq`, a "rejects change
//! nothing" check and the book invariants.
#![allow(dead_code)]

use std::collections::BTreeSet;

use engine::*;

/// xorshift64*: the tests' deterministic generator (enough to spread prices and pick commands;
/// the pinned hashes depend on its exact sequence).
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Below `n` (0 for `n` = 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Timestamp stamped on every harness command.
pub const TS: u64 = 1_700_000_000_000_000_000;
/// The instrument most unit tests trade.
pub const INST: InstrumentId = 1;

pub fn sym(s: &str) -> [u8; SYMBOL_MAX_BYTES] {
    InstrumentSpec::symbol_from_str(s).expect("valid symbol")
}

/// tick 10, lot 100, qty 100..=100_000, min notional 50_000 (= price * qty / 100),
/// band 10% around 10_000 (9_000..=11_000).
pub fn spec(id: InstrumentId) -> InstrumentSpec {
    InstrumentSpec {
        id,
        symbol: sym("BTC-USDT"),
        base_asset: 1,
        quote_asset: 2,
        tick: 10,
        lot: 100,
        min_qty: 100,
        max_qty: 100_000,
        min_notional: 50_000,
        price_band_bps: 1_000,
        reference_price: 10_000,
        qty_scale: 100,
    }
}

pub fn no(
    cid: ClientOrderId,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    stp: StpMode,
    price: Price,
    qty: Qty,
) -> CommandKind {
    CommandKind::NewOrder(NewOrder { client_order_id: cid, instrument: INST, side, order_type, tif, stp, price, qty })
}

/// GTC limit, no STP, on [`INST`].
pub fn gtc(cid: ClientOrderId, side: Side, price: Price, qty: Qty) -> CommandKind {
    no(cid, side, OrderType::Limit, TimeInForce::Gtc, StpMode::None, price, qty)
}

pub fn with_inst(k: CommandKind, instrument: InstrumentId) -> CommandKind {
    match k {
        CommandKind::NewOrder(o) => CommandKind::NewOrder(NewOrder { instrument, ..o }),
        other => other,
    }
}

pub fn cancel(r: OrderRef) -> CommandKind {
    CommandKind::Cancel(Cancel { order: r })
}

pub fn amend(r: OrderRef, new_qty: Option<Qty>, new_price: Option<Price>) -> CommandKind {
    CommandKind::Amend(Amend { order: r, new_qty, new_price })
}

pub fn mass(instrument: Option<InstrumentId>, side: Option<Side>) -> CommandKind {
    CommandKind::MassCancel(MassCancel { instrument, side })
}

pub fn set_state(instrument: InstrumentId, state: InstrumentState) -> CommandKind {
    CommandKind::SetInstrumentState(SetInstrumentState { instrument, state })
}

// ----- event builders (instrument INST, timestamp TS) ------------------------

#[allow(clippy::too_many_arguments)]
pub fn ev_acc(
    account: AccountId,
    order_id: OrderId,
    cid: ClientOrderId,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    price: Price,
    qty: Qty,
) -> EventKind {
    EventKind::Accepted(Accepted {
        account,
        order_id,
        client_order_id: cid,
        instrument: INST,
        side,
        order_type,
        tif,
        price,
        qty,
        timestamp_ns: TS,
    })
}

/// Accepted GTC limit.
pub fn ev_acc_gtc(
    account: AccountId,
    order_id: OrderId,
    cid: ClientOrderId,
    side: Side,
    price: Price,
    qty: Qty,
) -> EventKind {
    ev_acc(account, order_id, cid, side, OrderType::Limit, TimeInForce::Gtc, price, qty)
}

pub fn ev_rej(
    account: AccountId,
    command: CommandType,
    cid: ClientOrderId,
    order_id: OrderId,
    instrument: InstrumentId,
    reason: RejectReason,
) -> EventKind {
    EventKind::Rejected(Rejected { account, command, client_order_id: cid, order_id, instrument, reason })
}

/// Rejected new order on INST.
pub fn ev_rej_new(account: AccountId, cid: ClientOrderId, reason: RejectReason) -> EventKind {
    ev_rej(account, CommandType::NewOrder, cid, 0, INST, reason)
}

/// (order id, account, client order id, leaves after the trade)
pub type Party = (OrderId, AccountId, ClientOrderId, Qty);

pub fn ev_trade(trade_id: TradeId, price: Price, qty: Qty, taker_side: Side, maker: Party, taker: Party) -> EventKind {
    EventKind::Trade(Trade {
        trade_id,
        instrument: INST,
        price,
        qty,
        taker_side,
        maker_order_id: maker.0,
        maker_account: maker.1,
        maker_client_order_id: maker.2,
        maker_leaves: maker.3,
        taker_order_id: taker.0,
        taker_account: taker.1,
        taker_client_order_id: taker.2,
        taker_leaves: taker.3,
        timestamp_ns: TS,
        maker_fee: 0,
        taker_fee: 0,
    })
}

pub fn ev_cx(
    account: AccountId,
    order_id: OrderId,
    cid: ClientOrderId,
    side: Side,
    cancelled_qty: Qty,
    filled_qty: Qty,
    reason: CancelReason,
) -> EventKind {
    EventKind::Cancelled(Cancelled {
        account,
        order_id,
        client_order_id: cid,
        instrument: INST,
        side,
        cancelled_qty,
        filled_qty,
        reason,
    })
}

#[allow(clippy::too_many_arguments)]
pub fn ev_am(
    account: AccountId,
    order_id: OrderId,
    cid: ClientOrderId,
    side: Side,
    price: Price,
    qty: Qty,
    leaves: Qty,
    kept_priority: bool,
) -> EventKind {
    EventKind::Amended(Amended {
        account,
        order_id,
        client_order_id: cid,
        instrument: INST,
        side,
        price,
        qty,
        leaves,
        kept_priority,
    })
}

#[allow(clippy::too_many_arguments)]
pub fn ev_armed(
    account: AccountId,
    order_id: OrderId,
    cid: ClientOrderId,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    price: Price,
    qty: Qty,
    trigger_price: Price,
    trigger: TriggerKind,
) -> EventKind {
    EventKind::Armed(Armed {
        account,
        order_id,
        client_order_id: cid,
        instrument: INST,
        side,
        order_type,
        tif,
        trigger,
        price,
        qty,
        trigger_price,
        trigger_source: TriggerSource::LastPrice,
        timestamp_ns: TS,
    })
}

/// `Triggered` of a stop-market of 1_000.
pub fn ev_fired(
    account: AccountId,
    order_id: OrderId,
    cid: ClientOrderId,
    side: Side,
    trigger: Price,
    last: Price,
) -> EventKind {
    ev_fired_as(account, order_id, cid, side, (OrderType::Market, 0, 1_000), trigger, last)
}

/// `Triggered` of a stop whose order is `placed` = (type, limit price, qty).
pub fn ev_fired_as(
    account: AccountId,
    order_id: OrderId,
    cid: ClientOrderId,
    side: Side,
    placed: (OrderType, Price, Qty),
    trigger: Price,
    last: Price,
) -> EventKind {
    EventKind::Triggered(Triggered {
        account,
        order_id,
        client_order_id: cid,
        instrument: INST,
        side,
        order_type: placed.0,
        price: placed.1,
        qty: placed.2,
        trigger_price: trigger,
        last_price: last,
        trigger_source: TriggerSource::LastPrice,
        timestamp_ns: TS,
    })
}

/// `Armed` of a stop-loss market order of 1_000 (IOC).
pub fn ev_armed_market(
    account: AccountId,
    order_id: OrderId,
    cid: ClientOrderId,
    side: Side,
    trigger_price: Price,
) -> EventKind {
    ev_armed(
        account,
        order_id,
        cid,
        side,
        OrderType::Market,
        TimeInForce::Ioc,
        0,
        1_000,
        trigger_price,
        TriggerKind::StopLoss,
    )
}

/// The (order id, reason) of every `Cancelled` among `ev`, in order.
pub fn cancelled_ids(ev: &[EventKind]) -> Vec<(OrderId, CancelReason)> {
    ev.iter()
        .filter_map(|e| match e {
            EventKind::Cancelled(c) => Some((c.order_id, c.reason)),
            _ => None,
        })
        .collect()
}

pub fn ev_stp(account: AccountId, maker: OrderId, taker: OrderId, mode: StpMode, qty: Qty) -> EventKind {
    EventKind::SelfTradePrevented(SelfTradePrevented {
        account,
        instrument: INST,
        maker_order_id: maker,
        taker_order_id: taker,
        mode,
        qty,
    })
}

pub fn ev_lc(side: Side, price: Price, qty: Qty, order_count: u32) -> EventKind {
    EventKind::LevelChanged(LevelChanged { instrument: INST, side, price, qty, order_count })
}

pub fn ev_mc(account: AccountId, count: u32) -> EventKind {
    EventKind::MassCancelled(MassCancelled { account, count })
}

// ----- harness ---------------------------------------------------------------

/// An engine plus the log of commands applied to it (so that a rejected
/// command can be proven to change nothing by replaying the log).
pub struct Harness {
    pub eng: Engine,
    pub config: EngineConfig,
    pub seq: Seq,
    pub log: Vec<(Seq, Command)>,
}

impl Harness {
    /// An engine with [`EngineConfig::small`] and instrument [`INST`] from [`spec`].
    pub fn new() -> Self {
        Self::with(EngineConfig::small(), &[spec(INST)])
    }

    pub fn with(config: EngineConfig, specs: &[InstrumentSpec]) -> Self {
        let mut h = Harness { eng: Engine::new(config), config, seq: 0, log: Vec::new() };
        for s in specs {
            let ev = h.run(0, CommandKind::AddInstrument(*s));
            assert_eq!(
                ev,
                vec![EventKind::InstrumentAdded(InstrumentAdded { account: 0, spec: *s, perpetual: false })]
            );
        }
        h
    }

    /// Applies a command with timestamp [`TS`] and returns its events' kinds,
    /// after checking that every event carries the command's seq and the book
    /// invariants still hold.
    pub fn run(&mut self, account: AccountId, kind: CommandKind) -> Vec<EventKind> {
        self.run_ts(account, TS, kind)
    }

    pub fn run_ts(&mut self, account: AccountId, timestamp_ns: u64, kind: CommandKind) -> Vec<EventKind> {
        self.seq += 1;
        let cmd = Command { account, timestamp_ns, kind };
        let mut out = Vec::new();
        self.eng.apply(self.seq, &cmd, &mut out);
        self.log.push((self.seq, cmd));
        assert!(!out.is_empty(), "every command emits at least one event");
        for e in &out {
            assert_eq!(e.seq, self.seq, "event {e:?} must carry the command's seq");
        }
        check_invariants(&self.eng);
        out.into_iter().map(|e| e.kind).collect()
    }

    /// Replays the log into a fresh engine.
    pub fn replay(&self) -> Engine {
        let mut e = Engine::new(self.config);
        let mut sink = Vec::new();
        for (seq, cmd) in &self.log {
            e.apply(*seq, cmd, &mut sink);
        }
        e
    }

    /// Applies `kind`, asserts it emits exactly `expected` (one `Rejected`)
    /// and proves it changed nothing: an engine that received it and one that
    /// skipped it have the same state hash after both apply the same probe.
    pub fn expect_reject(&mut self, account: AccountId, kind: CommandKind, expected: EventKind) {
        assert!(matches!(expected, EventKind::Rejected(_)));
        let mut with = self.replay();
        let mut without = self.replay();
        assert_eq!(with.state_hash(), self.eng.state_hash(), "replay reproduces the state");
        let ev = self.run(account, kind);
        assert_eq!(ev, vec![expected]);
        let cmd = Command { account, timestamp_ns: TS, kind };
        let mut sink = Vec::new();
        with.apply(self.seq, &cmd, &mut sink);
        assert_eq!(sink.len(), 1);
        // Probe: the same command in both engines, at the same seq.
        let probe = Command { account: 0, timestamp_ns: TS, kind: cancel(OrderRef::Engine(u64::MAX)) };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        with.apply(self.seq + 1_000_000, &probe, &mut a);
        without.apply(self.seq + 1_000_000, &probe, &mut b);
        assert_eq!(a, b);
        assert_eq!(with.state_hash(), without.state_hash(), "a rejected command must change nothing");
        assert_eq!(with.next_ids(), without.next_ids());
        assert_eq!(with.live_orders(), without.live_orders());
    }

    pub fn levels(&self, side: Side) -> Vec<(Price, Qty, u32)> {
        self.eng.levels(INST, side).iter().map(|l| (l.price, l.qty, l.order_count)).collect()
    }

    /// Resting order ids of one side in priority order.
    pub fn queue(&self, side: Side) -> Vec<OrderId> {
        self.eng.book_orders(INST, side).iter().map(|o| o.order_id).collect()
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

/// The engine's own consistency, checked through its public views.
pub fn check_invariants(e: &Engine) {
    let mut in_books = 0u64;
    let mut accounts = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for inst in e.instrument_ids().collect::<Vec<_>>() {
        for side in [Side::Buy, Side::Sell] {
            let levels = e.levels(inst, side);
            let orders = e.book_orders(inst, side);
            // Levels strictly ordered best first.
            for w in levels.windows(2) {
                match side {
                    Side::Buy => assert!(w[0].price > w[1].price, "bids best first: {levels:?}"),
                    Side::Sell => assert!(w[0].price < w[1].price, "asks best first: {levels:?}"),
                }
            }
            // Orders grouped by level in level order; totals and counts match.
            let mut i = 0;
            for l in &levels {
                assert!(l.order_count > 0 && l.qty > 0, "empty level left in the book: {l:?}");
                let n = l.order_count as usize;
                assert!(i + n <= orders.len(), "level {l:?} counts more orders than the book has");
                let group = &orders[i..i + n];
                assert!(group.iter().all(|o| o.price == l.price), "level {l:?} orders: {group:?}");
                // An iceberg counts its visible slice only: 0 < slice <= min(display, leaves).
                let shown = |o: &OrderView| match e.iceberg(o.order_id) {
                    Some((display, visible)) => {
                        // (An amend may leave its quantity at or below its display quantity.)
                        assert!(visible > 0 && visible <= display.min(o.leaves), "iceberg {o:?}");
                        visible
                    }
                    None => o.leaves,
                };
                assert_eq!(group.iter().map(shown).sum::<Qty>(), l.qty, "level total at {}", l.price);
                // Time priority inside a level is not visible as ids (amends re-queue), so no id check.
                i += n;
            }
            assert_eq!(i, orders.len(), "orders outside any level");
            for o in &orders {
                assert!(o.leaves > 0, "resting order with zero leaves: {o:?}");
                assert!(o.leaves <= o.qty, "leaves > qty: {o:?}");
                assert_eq!(o.instrument, inst);
                assert_eq!(o.side, side);
                assert!(matches!(o.tif, TimeInForce::Gtc | TimeInForce::PostOnly), "only GTC/post-only rest: {o:?}");
                assert_eq!(e.order(o.order_id), Some(*o), "order(id) finds every resting order");
                assert!(e.account_orders(o.account).contains(o), "account_orders lists {o:?}");
                assert!(ids.insert(o.order_id), "order {} rests twice", o.order_id);
                accounts.insert(o.account);
            }
            in_books += orders.len() as u64;
        }
        let bid = e.levels(inst, Side::Buy).first().map(|l| l.price);
        let ask = e.levels(inst, Side::Sell).first().map(|l| l.price);
        if let (Some(b), Some(a)) = (bid, ask) {
            assert!(b < a, "crossed book on {inst}: bid {b} >= ask {a}");
        }
    }
    // Armed orders: never in a book, fire-ordered, none that the last price has reached.
    let mut armed = 0u64;
    for inst in e.instrument_ids().collect::<Vec<_>>() {
        let last = e.instrument(inst).expect("listed").reference_price;
        let v = e.armed_orders(inst);
        // The fixed triggers first, in firing order; then the trailing stops, by delta group.
        let fixed = v.iter().take_while(|a| a.trailing.is_none()).count();
        assert!(v[fixed..].iter().all(|a| a.trailing.is_some()), "trailing stops listed last: {v:?}");
        for w in v[..fixed].windows(2) {
            let rise = |a: &ArmedView| a.trigger.fires_on_rise(a.order.side);
            let ordered = match (rise(&w[0]), rise(&w[1])) {
                (true, true) => w[0].trigger_price <= w[1].trigger_price,
                (false, false) => w[0].trigger_price >= w[1].trigger_price,
                (a, b) => a && !b,
            };
            assert!(ordered, "armed orders in firing order: {v:?}");
        }
        for a in &v {
            let rise = a.trigger.fires_on_rise(a.order.side);
            assert!(
                if rise { last < a.trigger_price } else { last > a.trigger_price },
                "armed order {a:?} should have fired at last price {last}"
            );
            assert_eq!(a.order.leaves, a.order.qty, "an armed order has not filled");
            assert_eq!(e.order(a.order.order_id), Some(a.order), "order(id) finds every armed order");
            assert!(e.account_orders(a.order.account).contains(&a.order), "account_orders lists {a:?}");
            assert!(ids.insert(a.order.order_id), "order {} is live twice", a.order.order_id);
            accounts.insert(a.order.account);
        }
        armed += v.len() as u64;
    }
    assert_eq!(e.armed_count() as u64, armed, "armed_count() equals the armed orders listed");
    // Order lists: pending legs are live but in no book; a list with pending legs has its live
    // working order; every member is a live order of the list's account.
    let pending = e.pending_legs() as u64;
    let members = e.list_members();
    for m in &members {
        let o = e.order(m.order_id).expect("a list member is live");
        let first = members.iter().find(|x| x.list_id == m.list_id).expect("itself");
        assert_eq!(e.order(first.order_id).map(|f| f.account), Some(o.account), "one account per list");
        if m.role == 2 {
            assert!(
                members.iter().any(|x| x.list_id == m.list_id && x.role == 1),
                "pending leg {m:?} without its working order"
            );
        }
    }
    assert_eq!(members.iter().filter(|m| m.role == 2).count() as u64, pending);
    assert_eq!(
        e.live_orders() as u64,
        in_books + armed + pending,
        "live_orders() equals the orders in the books, armed and pending"
    );
    let mut listed = 0u64;
    for a in accounts {
        let v = e.account_orders(a);
        assert!(v.windows(2).all(|w| w[0].order_id < w[1].order_id), "account_orders in order-id order");
        listed += v.len() as u64;
    }
    assert_eq!(listed, in_books + armed + pending, "account lists hold exactly the live orders");
}
