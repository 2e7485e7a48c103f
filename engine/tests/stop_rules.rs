//! Conditional orders (docs/matching.md, "Conditional orders"): one test per rule, with the exact
//! event list of each command. The harness checks the book and armed-order invariants after
//! every command; `expect_reject` proves a rejected command changed nothing.

mod common;

use common::*;
use engine::*;

const BUY: Side = Side::Buy;
const SELL: Side = Side::Sell;
const A: AccountId = 1;
const B: AccountId = 2;
const C: AccountId = 3;

use CancelReason as CR;
use RejectReason as RR;
use TriggerKind::{StopLoss, TakeProfit};

#[allow(clippy::too_many_arguments)]
fn stop(
    cid: ClientOrderId,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    price: Price,
    qty: Qty,
    trigger_price: Price,
    trigger: TriggerKind,
) -> CommandKind {
    let order =
        NewOrder { client_order_id: cid, instrument: INST, side, order_type, tif, stp: StpMode::None, price, qty };
    CommandKind::NewStopOrder(StopOrder { order, trigger_price, trigger })
}

/// A stop-market (IOC market order on trigger).
fn stop_market(cid: ClientOrderId, side: Side, qty: Qty, trigger_price: Price, trigger: TriggerKind) -> CommandKind {
    stop(cid, side, OrderType::Market, TimeInForce::Ioc, 0, qty, trigger_price, trigger)
}

/// Arms a stop-market that must be accepted; returns its order id.
fn arm(
    h: &mut Harness,
    acct: AccountId,
    cid: ClientOrderId,
    side: Side,
    qty: Qty,
    trigger_price: Price,
    trigger: TriggerKind,
) -> OrderId {
    let id = h.eng.next_ids().0;
    let ev = h.run(acct, stop_market(cid, side, qty, trigger_price, trigger));
    assert_eq!(
        ev,
        vec![ev_armed(acct, id, cid, side, OrderType::Market, TimeInForce::Ioc, 0, qty, trigger_price, trigger)]
    );
    id
}

/// Places a GTC limit that rests untouched; returns its order id.
fn rest(h: &mut Harness, acct: AccountId, cid: ClientOrderId, side: Side, price: Price, qty: Qty) -> OrderId {
    let id = h.eng.next_ids().0;
    let ev = h.run(acct, gtc(cid, side, price, qty));
    assert!(matches!(ev[..], [EventKind::Accepted(_), EventKind::LevelChanged(_)]), "{ev:?}");
    id
}

fn ioc(cid: ClientOrderId, side: Side, price: Price, qty: Qty) -> CommandKind {
    no(cid, side, OrderType::Limit, TimeInForce::Ioc, StpMode::None, price, qty)
}

#[test]
fn an_armed_order_is_live_but_not_in_the_book_or_market_data() {
    let mut h = Harness::new();
    let id = arm(&mut h, B, 7, SELL, 1_000, 9_900, StopLoss);
    assert!(h.levels(SELL).is_empty() && h.levels(BUY).is_empty());
    assert_eq!(h.eng.live_orders(), 1);
    assert_eq!(h.eng.armed_count(), 1);
    let armed = h.eng.armed_orders(INST);
    assert_eq!(armed.len(), 1);
    assert_eq!((armed[0].order.order_id, armed[0].trigger_price, armed[0].trigger), (id, 9_900, StopLoss));
    assert_eq!(h.eng.account_orders(B).len(), 1);
}

#[test]
fn a_trigger_the_last_price_has_already_reached_is_rejected() {
    let mut h = Harness::new();
    // Last price 10_000 (the reference price): a sell stop-loss at or above it, a buy stop-loss
    // at or below it, and the take-profits the other way round would fire at once.
    for (cid, side, trigger_price, trigger) in [
        (1, SELL, 10_000, StopLoss),
        (2, SELL, 10_500, StopLoss),
        (3, BUY, 10_000, StopLoss),
        (4, BUY, 9_500, StopLoss),
        (5, BUY, 10_500, TakeProfit),
        (6, SELL, 9_500, TakeProfit),
    ] {
        let cmd = stop_market(cid, side, 1_000, trigger_price, trigger);
        let rej = ev_rej(A, CommandType::NewStopOrder, cid, 0, INST, RR::WouldTriggerImmediately);
        h.expect_reject(A, cmd, rej);
    }
}

#[test]
fn a_bad_trigger_price_or_order_is_rejected_with_the_new_order_reason() {
    let mut h = Harness::new();
    let rej = |cid, reason| ev_rej(A, CommandType::NewStopOrder, cid, 0, INST, reason);
    h.expect_reject(A, stop_market(1, SELL, 1_000, 0, StopLoss), rej(1, RR::PriceOffTick));
    h.expect_reject(A, stop_market(2, SELL, 1_000, 9_905, StopLoss), rej(2, RR::PriceOffTick));
    h.expect_reject(A, stop_market(3, SELL, 1_050, 9_900, StopLoss), rej(3, RR::QtyOffLot));
    // Steps 1-12 of a new order: a market order with GTC, a limit outside the band.
    let gtc_market = stop(4, SELL, OrderType::Market, TimeInForce::Gtc, 0, 1_000, 9_900, StopLoss);
    h.expect_reject(A, gtc_market, rej(4, RR::InvalidField));
    let far = stop(5, SELL, OrderType::Limit, TimeInForce::Gtc, 8_000, 1_000, 9_900, StopLoss);
    h.expect_reject(A, far, rej(5, RR::OutsidePriceBand));
    // A client order id is unique among live orders, armed or resting, both ways.
    rest(&mut h, A, 10, BUY, 9_000, 1_000);
    h.expect_reject(A, stop_market(10, SELL, 1_000, 9_900, StopLoss), rej(10, RR::DuplicateClientOrderId));
    arm(&mut h, A, 11, SELL, 1_000, 9_900, StopLoss);
    h.expect_reject(A, gtc(11, BUY, 9_000, 1_000), ev_rej_new(A, 11, RR::DuplicateClientOrderId));
}

#[test]
fn a_trade_at_the_trigger_fires_a_stop_and_its_trades_follow_in_the_same_command() {
    let mut h = Harness::new();
    let bid1 = rest(&mut h, A, 1, BUY, 9_900, 1_000);
    let bid2 = rest(&mut h, A, 2, BUY, 9_800, 1_000);
    let stop_id = arm(&mut h, B, 3, SELL, 1_000, 9_900, StopLoss);
    let taker = h.eng.next_ids().0;
    let ev = h.run(C, ioc(4, SELL, 9_900, 1_000));
    assert_eq!(
        ev,
        vec![
            ev_acc(C, taker, 4, SELL, OrderType::Limit, TimeInForce::Ioc, 9_900, 1_000),
            ev_trade(1, 9_900, 1_000, SELL, (bid1, A, 1, 0), (taker, C, 4, 0)),
            ev_lc(BUY, 9_900, 0, 0),
            ev_fired(B, stop_id, 3, SELL, 9_900, 9_900),
            ev_trade(2, 9_800, 1_000, SELL, (bid2, A, 2, 0), (stop_id, B, 3, 0)),
            ev_lc(BUY, 9_800, 0, 0),
        ]
    );
    assert_eq!(h.eng.armed_count(), 0);
    assert_eq!(h.eng.live_orders(), 0);
}

#[test]
fn a_cascade_fires_in_trigger_order_then_arrival_order_within_one_command() {
    let mut h = Harness::new();
    let bid1 = rest(&mut h, A, 1, BUY, 9_900, 1_000);
    let bid2 = rest(&mut h, A, 2, BUY, 9_800, 1_000);
    // Armed out of firing order: 9_800 first, then two at 9_900 (arrival order between them).
    let s98 = arm(&mut h, B, 10, SELL, 1_000, 9_800, StopLoss);
    let s99a = arm(&mut h, B, 11, SELL, 1_000, 9_900, StopLoss);
    let s99b = arm(&mut h, C, 12, SELL, 1_000, 9_900, StopLoss);
    let taker = h.eng.next_ids().0;
    let ev = h.run(C, ioc(4, SELL, 9_900, 1_000));
    assert_eq!(
        ev,
        vec![
            ev_acc(C, taker, 4, SELL, OrderType::Limit, TimeInForce::Ioc, 9_900, 1_000),
            ev_trade(1, 9_900, 1_000, SELL, (bid1, A, 1, 0), (taker, C, 4, 0)),
            ev_lc(BUY, 9_900, 0, 0),
            // Last 9_900 fires both 9_900 stops, the older first; the first sells into 9_800 ...
            ev_fired(B, s99a, 11, SELL, 9_900, 9_900),
            ev_trade(2, 9_800, 1_000, SELL, (bid2, A, 2, 0), (s99a, B, 11, 0)),
            ev_lc(BUY, 9_800, 0, 0),
            // ... the second finds no bid left; then last 9_800 fires the 9_800 stop.
            ev_fired(C, s99b, 12, SELL, 9_900, 9_800),
            ev_cx(C, s99b, 12, SELL, 1_000, 0, CR::ImmediateRemainder),
            ev_fired(B, s98, 10, SELL, 9_800, 9_800),
            ev_cx(B, s98, 10, SELL, 1_000, 0, CR::ImmediateRemainder),
        ]
    );
    assert_eq!(h.eng.live_orders(), 0);
}

#[test]
fn take_profits_fire_the_other_way_and_a_stop_limit_rests_what_it_cannot_fill() {
    let mut h = Harness::new();
    let ask = rest(&mut h, A, 1, SELL, 9_800, 1_000);
    // A buy take-profit-limit at 9_800 fires when the price falls to 9_800; it buys at most 9_800.
    let tp = h.eng.next_ids().0;
    let ev = h.run(B, stop(2, BUY, OrderType::Limit, TimeInForce::Gtc, 9_800, 1_000, 9_800, TakeProfit));
    assert_eq!(ev, vec![ev_armed(B, tp, 2, BUY, OrderType::Limit, TimeInForce::Gtc, 9_800, 1_000, 9_800, TakeProfit)]);
    // C's buy takes A's ask at 9_800: last 9_800. The take-profit then finds no ask left and
    // rests at its limit, above A's older bid at 9_700.
    let bid = rest(&mut h, A, 3, BUY, 9_700, 1_000);
    let taker = h.eng.next_ids().0;
    let ev = h.run(C, gtc(4, BUY, 9_800, 1_000));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(C, taker, 4, BUY, 9_800, 1_000),
            ev_trade(1, 9_800, 1_000, BUY, (ask, A, 1, 0), (taker, C, 4, 0)),
            ev_lc(SELL, 9_800, 0, 0),
            ev_fired_as(B, tp, 2, BUY, (OrderType::Limit, 9_800, 1_000), 9_800, 9_800),
            ev_lc(BUY, 9_800, 1_000, 1),
        ]
    );
    assert_eq!(h.eng.armed_count(), 0);
    assert_eq!(h.queue(BUY), vec![tp, bid]);
}

#[test]
fn cancel_mass_cancel_and_closing_cover_armed_orders_without_market_data() {
    let mut h = Harness::new();
    let s1 = arm(&mut h, B, 1, SELL, 1_000, 9_900, StopLoss);
    let s2 = arm(&mut h, B, 2, BUY, 1_000, 10_100, StopLoss);
    let s3 = arm(&mut h, B, 3, BUY, 1_000, 10_200, StopLoss);
    assert_eq!(h.run(B, cancel(OrderRef::Client(1))), vec![ev_cx(B, s1, 1, SELL, 1_000, 0, CR::User)]);
    assert_eq!(
        h.run(B, mass(None, Some(BUY))),
        vec![
            ev_cx(B, s2, 2, BUY, 1_000, 0, CR::MassCancel),
            ev_cx(B, s3, 3, BUY, 1_000, 0, CR::MassCancel),
            ev_mc(B, 2)
        ]
    );
    let s4 = arm(&mut h, C, 4, SELL, 1_000, 9_000, StopLoss);
    let s5 = arm(&mut h, C, 5, BUY, 1_000, 10_500, StopLoss);
    let ev = h.run(0, set_state(INST, InstrumentState::Closed));
    assert_eq!(
        ev,
        vec![
            EventKind::InstrumentStateChanged(InstrumentStateChanged {
                account: 0,
                instrument: INST,
                state: InstrumentState::Closed
            }),
            ev_cx(C, s5, 5, BUY, 1_000, 0, CR::InstrumentState),
            ev_cx(C, s4, 4, SELL, 1_000, 0, CR::InstrumentState),
        ]
    );
    assert_eq!(h.eng.live_orders(), 0);
}

#[test]
fn an_armed_order_is_amended_in_place_and_a_market_stop_has_no_price() {
    let mut h = Harness::new();
    let sl = h.eng.next_ids().0;
    h.run(B, stop(1, SELL, OrderType::Limit, TimeInForce::Gtc, 9_800, 1_000, 9_900, StopLoss));
    let sm = arm(&mut h, B, 2, SELL, 1_000, 9_900, StopLoss);
    assert_eq!(
        h.run(B, amend(OrderRef::Client(1), Some(2_000), Some(9_700))),
        vec![ev_am(B, sl, 1, SELL, 9_700, 2_000, 2_000, true)]
    );
    let rej = ev_rej(B, CommandType::Amend, 2, 0, INST, RR::InvalidField);
    h.expect_reject(B, amend(OrderRef::Client(2), None, Some(9_700)), rej);
    let rej = ev_rej(B, CommandType::Amend, 0, sm, INST, RR::QtyOffLot);
    h.expect_reject(B, amend(OrderRef::Engine(sm), Some(1_050), None), rej);
    let armed = h.eng.armed_orders(INST);
    assert_eq!(
        armed.iter().map(|a| (a.order.order_id, a.order.price, a.order.qty)).collect::<Vec<_>>(),
        vec![(sl, 9_700, 2_000), (sm, 0, 1_000)]
    );
    // Another account cannot touch it (the engine says NotYourOrder; the wire, UnknownOrder).
    let rej = ev_rej(A, CommandType::Cancel, 0, sl, 0, RR::NotYourOrder);
    h.expect_reject(A, cancel(OrderRef::Engine(sl)), rej);
}

#[test]
fn a_triggered_fill_or_kill_that_cannot_fill_is_cancelled_not_rejected() {
    let mut h = Harness::new();
    let bid = rest(&mut h, A, 1, BUY, 9_900, 1_000);
    let fok = h.eng.next_ids().0;
    h.run(B, stop(2, SELL, OrderType::Limit, TimeInForce::Fok, 9_800, 5_000, 9_900, StopLoss));
    let taker = h.eng.next_ids().0;
    let ev = h.run(C, ioc(3, SELL, 9_900, 1_000));
    assert_eq!(
        ev,
        vec![
            ev_acc(C, taker, 3, SELL, OrderType::Limit, TimeInForce::Ioc, 9_900, 1_000),
            ev_trade(1, 9_900, 1_000, SELL, (bid, A, 1, 0), (taker, C, 3, 0)),
            ev_lc(BUY, 9_900, 0, 0),
            ev_fired_as(B, fok, 2, SELL, (OrderType::Limit, 9_800, 5_000), 9_900, 9_900),
            ev_cx(B, fok, 2, SELL, 5_000, 0, CR::FokCannotFill),
        ]
    );
}

#[test]
fn armed_orders_survive_replay_and_snapshots_with_the_same_state_hash() {
    let mut h = Harness::new();
    rest(&mut h, A, 1, BUY, 9_900, 1_000);
    arm(&mut h, B, 2, SELL, 1_000, 9_500, StopLoss);
    arm(&mut h, B, 3, SELL, 1_000, 9_500, StopLoss);
    arm(&mut h, C, 4, BUY, 1_000, 10_400, StopLoss);
    h.run(C, stop(5, BUY, OrderType::Limit, TimeInForce::Gtc, 9_200, 1_000, 9_300, TakeProfit));
    let snap = h.eng.snapshot();
    assert_eq!(snap.armed.len(), 4);
    assert_eq!(snap.state_hash(), h.eng.state_hash(), "the snapshot hashes like the engine");
    let restored = Engine::from_snapshot(&snap).expect("restore");
    assert_eq!(restored.state_hash(), h.eng.state_hash());
    assert_eq!(restored.armed_orders(INST), h.eng.armed_orders(INST));
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
    // The restored engine fires like the original.
    let mut a = h.eng.snapshot();
    let mut b = restored;
    let cmd = Command {
        account: A,
        timestamp_ns: TS,
        kind: no(9, SELL, OrderType::Market, TimeInForce::Ioc, StpMode::None, 0, 1_000),
    };
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    let mut orig = Engine::from_snapshot(&a).expect("restore");
    orig.apply(h.seq + 1, &cmd, &mut ea);
    b.apply(h.seq + 1, &cmd, &mut eb);
    assert_eq!(ea, eb);
    assert_eq!(orig.state_hash(), b.state_hash());
    a.clear();
    // A damaged armed list is refused, not trusted.
    let mut bad = h.eng.snapshot();
    bad.armed[0].trigger_price = 9_905;
    assert!(Engine::from_snapshot(&bad).is_err());
    let mut bad = h.eng.snapshot();
    bad.armed.swap(0, 2);
    assert!(Engine::from_snapshot(&bad).is_err());
    let mut bad = h.eng.snapshot();
    // A buy take-profit at 10_000 fires when the price falls to 10_000: at the last price.
    bad.armed[0].trigger_price = 10_000;
    bad.armed[0].trigger = TriggerKind::TakeProfit.as_u8();
    assert!(Engine::from_snapshot(&bad).is_err());
}
