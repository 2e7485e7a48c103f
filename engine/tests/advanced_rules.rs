//! Advanced orders (docs/matching.md, "Advanced orders"): good-till-date expiry on journaled
//! time, market orders by quote quantity, trigger amends. One test per rule, with the exact event
//! list of each command; the harness checks the book invariants after every command and
//! `expect_reject` proves a rejected command changed nothing.

mod common;

use common::*;
use engine::*;

const BUY: Side = Side::Buy;
const SELL: Side = Side::Sell;
const A: AccountId = 1;
const B: AccountId = 2;

use CancelReason as CR;
use RejectReason as RR;

/// The common spec without its minimum notional (so one lot rests): tick 10, lot 100, band 10%
/// around 10_000, notional = price * qty / 100.
fn spec0() -> InstrumentSpec {
    InstrumentSpec { min_notional: 0, ..spec(INST) }
}

fn harness() -> Harness {
    Harness::with(EngineConfig::small(), &[spec0()])
}

fn limit(cid: ClientOrderId, side: Side, tif: TimeInForce, price: Price, qty: Qty) -> NewOrder {
    NewOrder {
        client_order_id: cid,
        instrument: INST,
        side,
        order_type: OrderType::Limit,
        tif,
        stp: StpMode::None,
        price,
        qty,
    }
}

fn gtd(cid: ClientOrderId, side: Side, price: Price, qty: Qty, expire_time_ns: u64) -> CommandKind {
    let order = limit(cid, side, TimeInForce::Gtc, price, qty);
    CommandKind::NewAdvancedOrder(AdvancedOrder { expire_time_ns, ..AdvancedOrder::plain(order) })
}

fn quote_market(cid: ClientOrderId, side: Side, stp: StpMode, quote_qty: u64) -> CommandKind {
    let order =
        NewOrder { order_type: OrderType::Market, price: 0, qty: 0, stp, ..limit(cid, side, TimeInForce::Ioc, 0, 0) };
    CommandKind::NewAdvancedOrder(AdvancedOrder { quote_qty, ..AdvancedOrder::plain(order) })
}

fn rej_adv(account: AccountId, cid: ClientOrderId, reason: RejectReason) -> EventKind {
    ev_rej(account, CommandType::NewAdvancedOrder, cid, 0, INST, reason)
}

/// `Accepted` of a market IOC order of `qty` at time `ts`.
fn acc_market(account: AccountId, order_id: OrderId, cid: ClientOrderId, side: Side, qty: Qty) -> EventKind {
    ev_acc(account, order_id, cid, side, OrderType::Market, TimeInForce::Ioc, 0, qty)
}

fn at(ts: u64, e: EventKind) -> EventKind {
    match e {
        EventKind::Accepted(a) => EventKind::Accepted(Accepted { timestamp_ns: ts, ..a }),
        other => other,
    }
}

fn tick(h: &mut Harness, ts: u64) -> Vec<EventKind> {
    h.seq += 1;
    let cmd = Command { account: 0, timestamp_ns: ts, kind: CommandKind::TimeTick };
    let mut out = Vec::new();
    h.eng.apply(h.seq, &cmd, &mut out);
    h.log.push((h.seq, cmd));
    check_invariants(&h.eng);
    out.into_iter().map(|e| e.kind).collect()
}

// ----- good till date -------------------------------------------------------------

#[test]
fn a_gtd_order_rests_until_the_first_command_stamped_at_or_after_its_expiry() {
    let mut h = harness();
    let exp = TS + 100;
    assert_eq!(
        h.run(A, gtd(1, BUY, 9_990, 100, exp)),
        vec![ev_acc_gtc(A, 1, 1, BUY, 9_990, 100), ev_lc(BUY, 9_990, 100, 1)]
    );
    assert_eq!(h.eng.next_expiry_ns(), exp);
    // One nanosecond early: nothing expires.
    assert_eq!(
        h.run_ts(B, exp - 1, gtc(1, SELL, 10_100, 100)),
        vec![at(exp - 1, ev_acc_gtc(B, 2, 1, SELL, 10_100, 100)), ev_lc(SELL, 10_100, 100, 1)]
    );
    // At its time: a tick (the gateway's, while idle) expires it, before anything else.
    assert_eq!(tick(&mut h, exp), vec![ev_cx(A, 1, 1, BUY, 100, 0, CR::Expired), ev_lc(BUY, 9_990, 0, 0)]);
    assert_eq!(h.eng.next_expiry_ns(), u64::MAX);
    assert_eq!(h.eng.clock_ns(), exp);
    // A replay of the journal expires it at the same command.
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn expiries_go_earliest_first_then_by_order_id_ahead_of_the_commands_own_events() {
    let mut h = harness();
    h.run(A, gtd(1, BUY, 9_990, 100, TS + 20)); // id 1
    h.run(A, gtd(2, BUY, 9_980, 100, TS + 10)); // id 2
    h.run(B, gtd(1, SELL, 10_100, 100, TS + 10)); // id 3
    h.run(B, gtd(2, SELL, 10_200, 100, TS + 30)); // id 4: not yet
    let ev = h.run_ts(A, TS + 25, gtc(3, BUY, 9_900, 100));
    assert_eq!(
        ev,
        vec![
            ev_cx(A, 2, 2, BUY, 100, 0, CR::Expired),
            ev_lc(BUY, 9_980, 0, 0),
            ev_cx(B, 3, 1, SELL, 100, 0, CR::Expired),
            ev_lc(SELL, 10_100, 0, 0),
            ev_cx(A, 1, 1, BUY, 100, 0, CR::Expired),
            ev_lc(BUY, 9_990, 0, 0),
            at(TS + 25, ev_acc_gtc(A, 5, 3, BUY, 9_900, 100)),
            ev_lc(BUY, 9_900, 100, 1),
        ]
    );
    assert_eq!(h.eng.next_expiry_ns(), TS + 30);
}

#[test]
fn an_expiry_not_after_the_engines_time_is_refused_and_the_clock_never_goes_back() {
    let mut h = harness();
    h.expect_reject(A, gtd(1, BUY, 9_990, 100, TS), rej_adv(A, 1, RR::AlreadyExpired));
    h.expect_reject(A, gtd(1, BUY, 9_990, 100, TS - 1), rej_adv(A, 1, RR::AlreadyExpired));
    // A command stamped later moves the clock; one stamped earlier (a new leader whose clock is
    // behind) does not move it back, so an expiry between the two is already past.
    h.run_ts(B, TS + 50, gtc(1, SELL, 10_100, 100));
    let ev = h.run_ts(A, TS + 30, gtd(1, BUY, 9_990, 100, TS + 40));
    assert_eq!(ev, vec![rej_adv(A, 1, RR::AlreadyExpired)]);
    assert_eq!(h.eng.clock_ns(), TS + 50);
}

#[test]
fn options_that_do_not_go_together_are_invalid() {
    let mut h = harness();
    let ioc = limit(1, BUY, TimeInForce::Ioc, 9_990, 100);
    let expiring_ioc = AdvancedOrder { expire_time_ns: TS + 10, ..AdvancedOrder::plain(ioc) };
    h.expect_reject(A, CommandKind::NewAdvancedOrder(expiring_ioc), rej_adv(A, 1, RR::InvalidField));
    let quote_on_limit = AdvancedOrder { quote_qty: 10_000, ..AdvancedOrder::plain(ioc) };
    h.expect_reject(A, CommandKind::NewAdvancedOrder(quote_on_limit), rej_adv(A, 1, RR::InvalidField));
    let CommandKind::NewAdvancedOrder(q) = quote_market(1, BUY, StpMode::None, 10_000) else { unreachable!() };
    let with_qty = AdvancedOrder { order: NewOrder { qty: 100, ..q.order }, ..q };
    h.expect_reject(A, CommandKind::NewAdvancedOrder(with_qty), rej_adv(A, 1, RR::InvalidField));
    let with_expiry = AdvancedOrder { expire_time_ns: TS + 10, ..q };
    h.expect_reject(A, CommandKind::NewAdvancedOrder(with_expiry), rej_adv(A, 1, RR::InvalidField));
    let with_trigger = AdvancedOrder { trigger: Some((10_100, TriggerKind::StopLoss)), ..q };
    h.expect_reject(A, CommandKind::NewAdvancedOrder(with_trigger), rej_adv(A, 1, RR::InvalidField));
    let gtc_quote = AdvancedOrder { order: NewOrder { tif: TimeInForce::Gtc, ..q.order }, ..q };
    h.expect_reject(A, CommandKind::NewAdvancedOrder(gtc_quote), rej_adv(A, 1, RR::InvalidField));
}

#[test]
fn a_filled_gtd_order_leaves_nothing_to_expire() {
    let mut h = harness();
    h.run(A, gtd(1, BUY, 10_000, 100, TS + 10));
    h.run(B, gtc(1, SELL, 10_000, 100));
    assert!(h.eng.order(1).is_none());
    // The queued entry is a tombstone: the tick at its time expires nothing.
    assert_eq!(tick(&mut h, TS + 10), vec![]);
    assert_eq!(h.eng.next_expiry_ns(), u64::MAX);
    assert_eq!(h.eng.live_orders(), 0);
}

#[test]
fn an_amended_gtd_order_keeps_its_expiry() {
    let mut h = harness();
    h.run(A, gtd(1, BUY, 9_990, 200, TS + 10));
    h.run(A, amend(OrderRef::Client(1), Some(300), Some(9_980)));
    assert_eq!(tick(&mut h, TS + 10), vec![ev_cx(A, 1, 1, BUY, 300, 0, CR::Expired), ev_lc(BUY, 9_980, 0, 0)]);
}

#[test]
fn a_gtd_conditional_order_expires_armed_or_after_it_fired_and_rests() {
    let mut h = harness();
    let stop_limit = |cid, expire_time_ns| {
        let order = limit(cid, BUY, TimeInForce::Gtc, 10_050, 100);
        CommandKind::NewAdvancedOrder(AdvancedOrder {
            expire_time_ns,
            trigger: Some((10_050, TriggerKind::StopLoss)),
            ..AdvancedOrder::plain(order)
        })
    };
    // Armed, never fires: it expires from the trigger book (no market data).
    let ev = h.run(A, stop_limit(1, TS + 10));
    assert!(matches!(ev[..], [EventKind::Armed(_)]), "{ev:?}");
    assert_eq!(tick(&mut h, TS + 10), vec![ev_cx(A, 1, 1, BUY, 100, 0, CR::Expired)]);
    assert_eq!(h.eng.armed_count(), 0);
    // Armed, fires, rests at its limit: it still expires at its time.
    h.run_ts(A, TS + 11, stop_limit(2, TS + 20)); // id 2
    h.run_ts(B, TS + 11, gtc(1, SELL, 10_050, 100)); // id 3
    h.run_ts(A, TS + 11, gtc(3, BUY, 10_050, 100)); // id 4: trades at 10_050, fires 2, which rests
    assert_eq!(h.queue(BUY), vec![2]);
    assert_eq!(tick(&mut h, TS + 20), vec![ev_cx(A, 2, 2, BUY, 100, 0, CR::Expired), ev_lc(BUY, 10_050, 0, 0)]);
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn expiry_capacity_is_half_the_order_slots() {
    let config = EngineConfig { max_orders: 8, ..EngineConfig::small() };
    let mut h = Harness::with(config, &[spec0()]);
    for cid in 1..=4 {
        h.run(A, gtd(cid, BUY, 9_990, 100, TS + 10));
    }
    h.expect_reject(A, gtd(5, BUY, 9_990, 100, TS + 10), rej_adv(A, 5, RR::CapacityReached));
    // Plain orders still fit, and a slot freed by a cancel takes an expiring order again.
    h.run(A, gtc(5, BUY, 9_990, 100));
    h.run(A, cancel(OrderRef::Client(1)));
    let ev = h.run(A, gtd(6, BUY, 9_990, 100, TS + 10));
    assert!(matches!(ev[0], EventKind::Accepted(_)), "{ev:?}");
}

#[test]
fn the_expiry_queue_never_grows_past_its_room_under_churn() {
    // Many expiring orders placed and cancelled (tombstones): compaction in place keeps working.
    let config = EngineConfig { max_orders: 16, ..EngineConfig::small() };
    let mut h = Harness::with(config, &[spec0()]);
    for round in 0..200u64 {
        let cid = round + 1;
        h.run(A, gtd(cid, BUY, 9_990, 100, TS + 1_000 + round));
        if round % 3 != 0 {
            h.run(A, cancel(OrderRef::Client(cid)));
        }
        if h.eng.live_orders() == 8 {
            h.run(A, mass(None, None));
        }
    }
    let live = h.eng.live_orders();
    let ev = tick(&mut h, TS + 10_000);
    assert_eq!(ev.iter().filter(|e| matches!(e, EventKind::Cancelled(_))).count(), live as usize);
    assert_eq!(h.eng.live_orders(), 0);
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

// ----- quote quantity ---------------------------------------------------------------

#[test]
fn a_quote_buy_takes_whole_lots_while_the_budget_lasts() {
    let mut h = harness();
    h.run(B, gtc(1, SELL, 10_000, 100)); // 1: notional 10_000
    h.run(B, gtc(2, SELL, 10_010, 300)); // 2
                                         // 30_000: all of 1 (10_000), then 20_000 buys one lot at 10_010 (two would cost 20_020).
    let ev = h.run(A, quote_market(1, BUY, StpMode::None, 30_000));
    assert_eq!(
        ev,
        vec![
            acc_market(A, 3, 1, BUY, 200),
            ev_trade(1, 10_000, 100, BUY, (1, B, 1, 0), (3, A, 1, 100)),
            ev_lc(SELL, 10_000, 0, 0),
            ev_trade(2, 10_010, 100, BUY, (2, B, 2, 200), (3, A, 1, 0)),
            ev_lc(SELL, 10_010, 200, 1),
        ]
    );
}

#[test]
fn a_quote_sell_receives_at_most_its_quote_quantity() {
    let mut h = harness();
    h.run(B, gtc(1, BUY, 9_990, 500)); // 1
                                       // 15_000 / 99.90 per lot = 1.5 lots: one lot.
    let ev = h.run(A, quote_market(1, SELL, StpMode::None, 15_000));
    assert_eq!(
        ev,
        vec![
            acc_market(A, 2, 1, SELL, 100),
            ev_trade(1, 9_990, 100, SELL, (1, B, 1, 400), (2, A, 1, 0)),
            ev_lc(BUY, 9_990, 400, 1),
        ]
    );
}

#[test]
fn a_quote_order_that_would_trade_nothing_is_refused() {
    let mut h = harness();
    h.expect_reject(A, quote_market(1, BUY, StpMode::None, 1_000_000), rej_adv(A, 1, RR::NothingToFill));
    h.run(B, gtc(1, SELL, 10_000, 100));
    // 9_999 buys no whole lot at 10_000.
    h.expect_reject(A, quote_market(1, BUY, StpMode::None, 9_999), rej_adv(A, 1, RR::NothingToFill));
    // Outside the band (asks above 11_000) counts as nothing.
    let mut h = harness();
    h.run(B, gtc(1, SELL, 11_000, 100));
    h.run(B, gtc(2, SELL, 11_000, 100));
    h.run(B, gtc(3, SELL, 10_000, 100));
    h.run(A, gtc(1, BUY, 10_000, 100)); // the last price stays 10_000: band up to 11_000
    h.expect_reject(A, quote_market(2, BUY, StpMode::None, 10), rej_adv(A, 2, RR::NothingToFill));
    // Unknown instrument and account keep their own reasons.
    let CommandKind::NewAdvancedOrder(q) = quote_market(3, BUY, StpMode::None, 10_000) else { unreachable!() };
    let elsewhere = AdvancedOrder { order: NewOrder { instrument: 99, ..q.order }, ..q };
    h.expect_reject(
        A,
        CommandKind::NewAdvancedOrder(elsewhere),
        ev_rej(A, CommandType::NewAdvancedOrder, 3, 0, 99, RR::UnknownInstrument),
    );
}

#[test]
fn a_quote_order_stops_at_its_own_order_when_self_trade_prevention_cancels_the_taker() {
    let mut h = harness();
    h.run(B, gtc(1, SELL, 10_000, 100)); // 1
    h.run(A, gtc(1, SELL, 10_000, 100)); // 2: own
    h.run(B, gtc(2, SELL, 10_000, 100)); // 3
    let ev = h.run(A, quote_market(2, BUY, StpMode::CancelTaker, 100_000));
    assert_eq!(
        ev,
        vec![
            acc_market(A, 4, 2, BUY, 100),
            ev_trade(1, 10_000, 100, BUY, (1, B, 1, 0), (4, A, 2, 0)),
            ev_lc(SELL, 10_000, 200, 2),
        ]
    );
    // Cancel-maker skips own orders in the walk, as the match will cancel them.
    let ev = h.run(A, quote_market(3, BUY, StpMode::CancelMaker, 100_000));
    assert_eq!(ev[0], acc_market(A, 5, 3, BUY, 100));
}

#[test]
fn a_quote_buy_reserves_its_budget_not_its_quantity_at_the_worst_price() {
    let config = EngineConfig { risk_checks: true, fee_account: 0, ..EngineConfig::small() };
    let mut h = Harness::with(config, &[]);
    for acct in [A, B] {
        h.run(0, CommandKind::CreateAccount(CreateAccount { target: acct, tier: 0, status: AccountStatus::Active }));
    }
    h.run(0, CommandKind::AddInstrument(spec0()));
    h.run(0, CommandKind::Deposit(Transfer { target: A, asset: 2, amount: 20_010, tx_id: 1 }));
    h.run(0, CommandKind::Deposit(Transfer { target: B, asset: 1, amount: 1_000, tx_id: 2 }));
    h.run(B, gtc(1, SELL, 10_000, 100));
    h.run(B, gtc(2, SELL, 10_010, 100));
    // 200 at the worst price would need 20_020; the budget is 20_010, exactly the balance.
    let ev = h.run(A, quote_market(1, BUY, StpMode::None, 20_010));
    assert_eq!(ev[0], acc_market(A, 3, 1, BUY, 200));
    assert_eq!(ev.iter().filter(|e| matches!(e, EventKind::Trade(_))).count(), 2);
    let balances = |h: &mut Harness| {
        let ev = h.run(A, CommandKind::QueryAccount(QueryAccount { target: A }));
        ev.into_iter()
            .filter_map(|e| match e {
                EventKind::AccountBalance(b) => Some((b.asset, b.available, b.reserved)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(balances(&mut h), vec![(1, 200, 0)]);
}

// ----- trigger amends ---------------------------------------------------------------

fn stop_market(cid: ClientOrderId, side: Side, trigger_price: Price) -> CommandKind {
    let order = NewOrder { order_type: OrderType::Market, price: 0, ..limit(cid, side, TimeInForce::Ioc, 0, 100) };
    CommandKind::NewStopOrder(StopOrder { order, trigger_price, trigger: TriggerKind::StopLoss })
}

fn amend_trigger(r: OrderRef, trigger_price: Price) -> CommandKind {
    CommandKind::AmendTrigger(AmendTrigger { order: r, trigger_price })
}

#[test]
fn an_amended_trigger_goes_to_the_back_of_its_new_price() {
    let mut h = harness();
    h.run(A, stop_market(1, BUY, 10_100)); // 1
    h.run(B, stop_market(1, BUY, 10_050)); // 2
    h.run(B, stop_market(2, BUY, 10_100)); // 3
    assert_eq!(
        h.run(A, amend_trigger(OrderRef::Client(1), 10_050)),
        vec![EventKind::TriggerAmended(TriggerAmended {
            account: A,
            order_id: 1,
            client_order_id: 1,
            instrument: INST,
            side: BUY,
            trigger_price: 10_050,
        })]
    );
    let order: Vec<(OrderId, Price)> =
        h.eng.armed_orders(INST).iter().map(|a| (a.order.order_id, a.trigger_price)).collect();
    assert_eq!(order, vec![(2, 10_050), (1, 10_050), (3, 10_100)]);
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn trigger_amend_rejects() {
    let mut h = harness();
    h.run(A, stop_market(1, BUY, 10_100)); // 1
    h.run(A, gtc(2, BUY, 9_990, 100)); // 2
    let rej = |cid, id, inst, reason| ev_rej(A, CommandType::AmendTrigger, cid, id, inst, reason);
    h.expect_reject(A, amend_trigger(OrderRef::Client(2), 10_200), rej(2, 0, INST, RR::NotArmed));
    h.expect_reject(A, amend_trigger(OrderRef::Engine(9), 10_200), rej(0, 9, 0, RR::UnknownOrder));
    h.expect_reject(
        B,
        amend_trigger(OrderRef::Engine(1), 10_200),
        ev_rej(B, CommandType::AmendTrigger, 0, 1, 0, RR::NotYourOrder),
    );
    h.expect_reject(A, amend_trigger(OrderRef::Client(1), 10_105), rej(1, 0, INST, RR::PriceOffTick));
    h.expect_reject(A, amend_trigger(OrderRef::Client(1), 10_100), rej(1, 0, INST, RR::InvalidField));
    // A buy stop-loss fires at or above its trigger: 10_000 (the last price) would fire now.
    h.expect_reject(A, amend_trigger(OrderRef::Client(1), 10_000), rej(1, 0, INST, RR::WouldTriggerImmediately));
    h.run(0, set_state(INST, InstrumentState::Halted));
    h.expect_reject(A, amend_trigger(OrderRef::Client(1), 10_200), rej(1, 0, INST, RR::InstrumentNotTrading));
}

// ----- snapshots ----------------------------------------------------------------------

#[test]
fn a_snapshot_keeps_expiries_and_the_clock() {
    let mut h = harness();
    h.run(A, gtd(1, BUY, 9_990, 100, TS + 30)); // 1
    h.run(A, gtd(2, BUY, 9_980, 100, TS + 10)); // 2
    let order = limit(3, SELL, TimeInForce::Gtc, 10_200, 100);
    h.run(
        B,
        CommandKind::NewAdvancedOrder(AdvancedOrder {
            expire_time_ns: TS + 20,
            trigger: Some((9_900, TriggerKind::StopLoss)),
            ..AdvancedOrder::plain(order)
        }),
    ); // 3, armed
    h.run(A, cancel(OrderRef::Client(1))); // a tombstone in the queue
    h.run_ts(A, TS + 5, gtd(4, BUY, 9_970, 100, TS + 40)); // 4; clock TS + 5
    let snap = h.eng.snapshot();
    assert_eq!(snap.clock_ns, TS + 5);
    let keys: Vec<(u64, u64)> = snap.expiries.iter().map(|x| (x.expire_time_ns, x.order_id)).collect();
    assert_eq!(keys, vec![(TS + 10, 2), (TS + 20, 3), (TS + 40, 4)]);
    assert_eq!(snap.state_hash(), h.eng.state_hash());
    let mut restored = Engine::from_snapshot(&snap).expect("restores");
    assert_eq!(restored.state_hash(), h.eng.state_hash());
    // Both expire the same orders at the same tick.
    let cmd = Command { account: 0, timestamp_ns: TS + 25, kind: CommandKind::TimeTick };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    h.eng.apply(100, &cmd, &mut a);
    restored.apply(100, &cmd, &mut b);
    assert_eq!(a, b);
    assert_eq!(a.len(), 3, "order 2 (with its level) and armed order 3: {a:?}");
    assert_eq!(restored.state_hash(), h.eng.state_hash());
    // A state hash differs when only an expiry differs.
    let mut other = harness();
    other.run(A, gtd(1, BUY, 9_990, 100, TS + 31));
    let mut same = harness();
    same.run(A, gtd(1, BUY, 9_990, 100, TS + 30));
    assert_ne!(other.eng.state_hash(), same.eng.state_hash());
}

#[test]
fn a_snapshot_with_a_bad_expiry_is_refused() {
    let mut h = harness();
    h.run(A, gtd(1, BUY, 9_990, 100, TS + 30));
    let good = h.eng.snapshot();
    let mut s = good.clone();
    s.expiries[0].order_id = 77;
    assert!(Engine::from_snapshot(&s).is_err(), "an expiry of an order that is not live");
    let mut s = good.clone();
    s.expiries.push(s.expiries[0]);
    assert!(Engine::from_snapshot(&s).is_err(), "a repeated expiry");
    let mut s = good;
    s.expiries[0].expire_time_ns = 0;
    assert!(Engine::from_snapshot(&s).is_err(), "an expiry of 0");
}

// ----- icebergs -------------------------------------------------------------------------

fn iceberg(cid: ClientOrderId, side: Side, price: Price, qty: Qty, display_qty: Qty) -> CommandKind {
    let order = limit(cid, side, TimeInForce::Gtc, price, qty);
    CommandKind::NewAdvancedOrder(AdvancedOrder { display_qty, ..AdvancedOrder::plain(order) })
}

fn sliced(order_id: OrderId, side: Side, price: Price, visible_qty: Qty, kept_priority: bool) -> EventKind {
    EventKind::IcebergSliced(IcebergSliced { instrument: INST, order_id, side, price, visible_qty, kept_priority })
}

#[test]
fn an_iceberg_shows_one_slice_and_refreshes_it_at_the_back_of_its_level() {
    let mut h = harness();
    assert_eq!(
        h.run(A, iceberg(1, SELL, 10_000, 500, 200)),
        vec![ev_acc_gtc(A, 1, 1, SELL, 10_000, 500), sliced(1, SELL, 10_000, 200, false), ev_lc(SELL, 10_000, 200, 1)]
    );
    h.run(B, gtc(1, SELL, 10_000, 100)); // 2, behind the iceberg's first slice
    assert_eq!(h.levels(SELL), vec![(10_000, 300, 2)]);
    // A buy of 300: the slice (200), then order 2 (100); the next slice goes behind order 2.
    let ev = h.run(B, gtc(2, BUY, 10_000, 300));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(B, 3, 2, BUY, 10_000, 300),
            ev_trade(1, 10_000, 200, BUY, (1, A, 1, 300), (3, B, 2, 100)),
            sliced(1, SELL, 10_000, 200, false),
            ev_trade(2, 10_000, 100, BUY, (2, B, 1, 0), (3, B, 2, 0)),
            ev_lc(SELL, 10_000, 200, 1),
        ]
    );
    // A buy of 400 takes the second slice and, in the same pass, the third (the last 100).
    let ev = h.run(B, gtc(3, BUY, 10_000, 400));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(B, 4, 3, BUY, 10_000, 400),
            ev_trade(3, 10_000, 200, BUY, (1, A, 1, 100), (4, B, 3, 200)),
            sliced(1, SELL, 10_000, 100, false),
            ev_trade(4, 10_000, 100, BUY, (1, A, 1, 0), (4, B, 3, 100)),
            ev_lc(SELL, 10_000, 0, 0),
            ev_lc(BUY, 10_000, 100, 1),
        ]
    );
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn fill_or_kill_and_quote_walks_count_an_icebergs_hidden_quantity() {
    let mut h = harness();
    h.run(A, iceberg(1, SELL, 10_000, 500, 100));
    let fok = NewOrder { tif: TimeInForce::Fok, ..limit(1, BUY, TimeInForce::Fok, 10_000, 500) };
    let ev = h.run(B, CommandKind::NewOrder(fok));
    assert_eq!(ev.iter().filter(|e| matches!(e, EventKind::Trade(_))).count(), 5, "{ev:?}");
    assert!(h.eng.order(1).is_none());
}

#[test]
fn amending_an_iceberg_shrinks_its_hidden_part_first() {
    let mut h = harness();
    h.run(A, iceberg(1, BUY, 9_990, 1_000, 300));
    h.run(B, gtc(1, BUY, 9_990, 100)); // 2, behind it
                                       // 1,000 -> 400: hidden 700 -> 100; the slice of 300 keeps its place.
    let ev = h.run(A, amend(OrderRef::Client(1), Some(400), None));
    assert_eq!(
        ev,
        vec![ev_am(A, 1, 1, BUY, 9_990, 400, 400, true), sliced(1, BUY, 9_990, 300, true), ev_lc(BUY, 9_990, 400, 2),]
    );
    // 400 -> 200: below the slice, which shrinks to 200, still first.
    let ev = h.run(A, amend(OrderRef::Client(1), Some(200), None));
    assert_eq!(ev[1], sliced(1, BUY, 9_990, 200, true));
    assert_eq!(h.queue(BUY), vec![1, 2]);
    // Up to 900: a new slice of 300 at the back.
    let ev = h.run(A, amend(OrderRef::Client(1), Some(900), None));
    assert_eq!(ev[1], sliced(1, BUY, 9_990, 300, false));
    assert_eq!(h.queue(BUY), vec![2, 1]);
    assert_eq!(h.levels(BUY), vec![(9_990, 400, 2)]);
}

#[test]
fn iceberg_rejects() {
    let mut h = harness();
    h.expect_reject(A, iceberg(1, BUY, 9_990, 500, 150), rej_adv(A, 1, RR::QtyOffLot));
    h.expect_reject(A, iceberg(1, BUY, 9_990, 500, 500), rej_adv(A, 1, RR::InvalidField));
    let ioc = limit(1, BUY, TimeInForce::Ioc, 9_990, 500);
    h.expect_reject(
        A,
        CommandKind::NewAdvancedOrder(AdvancedOrder { display_qty: 100, ..AdvancedOrder::plain(ioc) }),
        rej_adv(A, 1, RR::InvalidField),
    );
    let gtc_order = limit(1, BUY, TimeInForce::Gtc, 9_990, 500);
    let stop = AdvancedOrder {
        display_qty: 100,
        trigger: Some((10_100, TriggerKind::StopLoss)),
        ..AdvancedOrder::plain(gtc_order)
    };
    h.expect_reject(A, CommandKind::NewAdvancedOrder(stop), rej_adv(A, 1, RR::InvalidField));
    let mut h = Harness::with(EngineConfig::small(), &[InstrumentSpec { min_qty: 200, ..spec0() }]);
    h.expect_reject(A, iceberg(1, BUY, 9_990, 500, 100), rej_adv(A, 1, RR::QtyOutOfRange));
}

#[test]
fn a_snapshot_keeps_icebergs_and_their_slices() {
    let mut h = harness();
    h.run(A, iceberg(1, SELL, 10_000, 500, 200)); // 1
    h.run(B, gtc(1, BUY, 10_000, 100)); // trades 100 of the slice: 100 shown
    h.run(A, iceberg(2, BUY, 9_990, 400, 100)); // 3
    let snap = h.eng.snapshot();
    let slices: Vec<(u64, u64, u64)> = snap.icebergs.iter().map(|x| (x.order_id, x.display_qty, x.visible)).collect();
    assert_eq!(slices, vec![(1, 200, 100), (3, 100, 100)]);
    assert_eq!(snap.state_hash(), h.eng.state_hash());
    let restored = Engine::from_snapshot(&snap).expect("restores");
    assert_eq!(restored.state_hash(), h.eng.state_hash());
    assert_eq!(restored.iceberg(1), Some((200, 100)));
    let mut bad = snap.clone();
    bad.icebergs[0].visible = 300;
    assert!(Engine::from_snapshot(&bad).is_err(), "a slice above the display quantity");
    let mut bad = snap.clone();
    bad.icebergs[1].order_id = 2;
    assert!(Engine::from_snapshot(&bad).is_err(), "an iceberg entry of an order that does not rest");
    let mut bad = snap;
    bad.icebergs.push(IcebergSnapshot { order_id: 99, display_qty: 100, visible: 100 });
    assert!(Engine::from_snapshot(&bad).is_err(), "an iceberg entry of no order at all");
}
