//! Order lists (docs/matching.md, "Order lists"): OCO, OTO, OTOCO. One test per rule, with the
//! exact event list of each command; the harness checks the book invariants after every command
//! and `expect_reject` proves a rejected command changed nothing. Prices: tick 10 around 10_000
//! (`common::spec`), quantities in lots of 100 (1_000 is above the minimum notional).

mod common;

use common::*;
use engine::*;

const BUY: Side = Side::Buy;
const SELL: Side = Side::Sell;
const A: AccountId = 1;
const B: AccountId = 2;

use CancelReason as CR;
use RejectReason as RR;
use TriggerKind::StopLoss;

fn maker_leg(price: Price) -> ListLeg {
    ListLeg { order_type: OrderType::Limit, tif: TimeInForce::PostOnly, price, trigger: None }
}

fn stop_leg(trigger_price: Price) -> ListLeg {
    ListLeg { order_type: OrderType::Market, tif: TimeInForce::Ioc, price: 0, trigger: Some((trigger_price, StopLoss)) }
}

fn limit_leg(price: Price) -> ListLeg {
    ListLeg { order_type: OrderType::Limit, tif: TimeInForce::Gtc, price, trigger: None }
}

/// The classic take-profit/stop-loss OCO of a long: sell 1_000 at 10_200 (maker) or at market
/// once the price falls to 9_800.
fn oco_sell(cid: ClientOrderId) -> CommandKind {
    CommandKind::NewOrderList(OrderList::oco(cid, INST, SELL, 1_000, [maker_leg(10_200), stop_leg(9_800)]))
}

fn listed(account: AccountId, list_id: OrderId, cid: ClientOrderId, kind: ListKind, legs: u8) -> EventKind {
    EventKind::ListAccepted(ListAccepted {
        account,
        list_id,
        client_order_id: cid,
        instrument: INST,
        kind,
        legs,
        timestamp_ns: TS,
    })
}

fn ioc(cid: ClientOrderId, side: Side, price: Price, qty: Qty) -> CommandKind {
    no(cid, side, OrderType::Limit, TimeInForce::Ioc, StpMode::None, price, qty)
}

#[test]
fn an_oco_places_both_legs_and_a_fill_of_one_cancels_the_other() {
    let mut h = Harness::new();
    let id = h.eng.next_ids().0;
    assert_eq!(
        h.run(A, oco_sell(10)),
        vec![
            listed(A, id, 10, ListKind::Oco, 2),
            ev_acc(A, id, 10, SELL, OrderType::Limit, TimeInForce::PostOnly, 10_200, 1_000),
            ev_lc(SELL, 10_200, 1_000, 1),
            ev_armed_market(A, id + 1, 11, SELL, 9_800),
        ]
    );
    assert_eq!(
        h.eng.list_members().iter().map(|m| (m.order_id, m.list_id, m.role)).collect::<Vec<_>>(),
        vec![(id, id, 3), (id + 1, id, 3)]
    );
    // B takes part of the maker leg: the stop leg is cancelled after the pass.
    let taker = h.eng.next_ids().0;
    assert_eq!(
        h.run(B, ioc(1, BUY, 10_200, 600)),
        vec![
            ev_acc(B, taker, 1, BUY, OrderType::Limit, TimeInForce::Ioc, 10_200, 600),
            ev_trade(1, 10_200, 600, BUY, (id, A, 10, 400), (taker, B, 1, 0)),
            ev_lc(SELL, 10_200, 400, 1),
            ev_cx(A, id + 1, 11, SELL, 1_000, 0, CR::OrderList),
        ]
    );
    // The maker leg rests on as an ordinary order.
    assert!(h.eng.list_members().is_empty());
    assert_eq!(h.eng.armed_count(), 0);
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn an_oco_stop_leg_that_fires_cancels_the_maker_leg_before_it_trades() {
    let mut h = Harness::new();
    let id = h.eng.next_ids().0;
    h.run(A, oco_sell(10));
    let bid = h.eng.next_ids().0;
    h.run(B, gtc(1, BUY, 9_800, 1_000));
    let bid2 = h.eng.next_ids().0;
    h.run(B, gtc(2, BUY, 9_700, 1_000));
    let taker = h.eng.next_ids().0;
    assert_eq!(
        h.run(B, ioc(3, SELL, 9_800, 1_000)),
        vec![
            ev_acc(B, taker, 3, SELL, OrderType::Limit, TimeInForce::Ioc, 9_800, 1_000),
            ev_trade(1, 9_800, 1_000, SELL, (bid, B, 1, 0), (taker, B, 3, 0)),
            ev_lc(BUY, 9_800, 0, 0),
            EventKind::Triggered(Triggered {
                account: A,
                order_id: id + 1,
                client_order_id: 11,
                instrument: INST,
                side: SELL,
                order_type: OrderType::Market,
                price: 0,
                qty: 1_000,
                trigger_price: 9_800,
                last_price: 9_800,
                trigger_source: TriggerSource::LastPrice,
                timestamp_ns: TS,
            }),
            ev_cx(A, id, 10, SELL, 1_000, 0, CR::OrderList),
            ev_lc(SELL, 10_200, 0, 0),
            ev_trade(2, 9_700, 1_000, SELL, (bid2, B, 2, 0), (id + 1, A, 11, 0)),
            ev_lc(BUY, 9_700, 0, 0),
        ]
    );
    assert_eq!(h.eng.live_orders(), 0);
}

#[test]
fn cancelling_one_leg_cancels_the_list_and_amending_a_contingent_leg_is_refused() {
    let mut h = Harness::new();
    let id = h.eng.next_ids().0;
    h.run(A, oco_sell(10));
    h.expect_reject(
        A,
        amend(OrderRef::Client(10), Some(500), None),
        ev_rej(A, CommandType::Amend, 10, 0, INST, RR::OrderListLeg),
    );
    assert_eq!(
        h.run(A, cancel(OrderRef::Engine(id + 1))),
        vec![
            ev_cx(A, id + 1, 11, SELL, 1_000, 0, CR::User),
            ev_cx(A, id, 10, SELL, 1_000, 0, CR::OrderList),
            ev_lc(SELL, 10_200, 0, 0)
        ]
    );
    assert_eq!(h.eng.live_orders(), 0);
    // A mass cancel takes every leg itself; the list then has nothing left to do.
    let id = h.eng.next_ids().0;
    h.run(A, oco_sell(20));
    let ev = h.run(A, mass(None, None));
    let cancelled = cancelled_ids(&ev);
    assert_eq!(cancelled, vec![(id, CR::MassCancel), (id + 1, CR::MassCancel)]);
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn an_oto_places_its_pending_leg_when_the_working_order_fills_completely() {
    let mut h = Harness::new();
    let id = h.eng.next_ids().0;
    // Buy 1_200 at 9_900; once bought, sell 1_000 at 10_300.
    let oto = OrderList::oto(30, INST, (BUY, TimeInForce::Gtc, 9_900, 1_200), SELL, 1_000, limit_leg(10_300));
    assert_eq!(
        h.run(A, CommandKind::NewOrderList(oto)),
        vec![
            listed(A, id, 30, ListKind::Oto, 2),
            ev_acc(A, id, 30, BUY, OrderType::Limit, TimeInForce::Gtc, 9_900, 1_200),
            ev_lc(BUY, 9_900, 1_200, 1),
        ]
    );
    // The pending leg is live (its ids are taken) but in no book.
    assert_eq!(h.eng.pending_legs(), 1);
    assert_eq!(
        h.eng.account_orders(A).iter().map(|o| (o.order_id, o.price)).collect::<Vec<_>>(),
        vec![(id, 9_900), (id + 1, 10_300)]
    );
    h.expect_reject(
        A,
        gtc(31, SELL, 10_500, 1_000),
        ev_rej(A, CommandType::NewOrder, 31, 0, INST, RR::DuplicateClientOrderId),
    );
    // A partial fill changes nothing; the rest fills it and the pending leg is placed.
    let t1 = h.eng.next_ids().0;
    h.run(B, ioc(1, SELL, 9_900, 600));
    assert_eq!(h.eng.pending_legs(), 1);
    let t2 = h.eng.next_ids().0;
    assert_eq!(
        h.run(B, ioc(2, SELL, 9_900, 600)),
        vec![
            ev_acc(B, t2, 2, SELL, OrderType::Limit, TimeInForce::Ioc, 9_900, 600),
            ev_trade(2, 9_900, 600, SELL, (id, A, 30, 0), (t2, B, 2, 0)),
            ev_lc(BUY, 9_900, 0, 0),
            ev_acc(A, id + 1, 31, SELL, OrderType::Limit, TimeInForce::Gtc, 10_300, 1_000),
            ev_lc(SELL, 10_300, 1_000, 1),
        ]
    );
    assert!(t1 < t2);
    assert_eq!(h.eng.pending_legs(), 0);
    assert!(h.eng.list_members().is_empty(), "an activated OTO leg is an ordinary order");
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn cancelling_a_working_order_or_a_pending_leg_cancels_the_other() {
    let mut h = Harness::new();
    let oto = |cid| OrderList::oto(cid, INST, (BUY, TimeInForce::Gtc, 9_900, 1_000), SELL, 1_000, limit_leg(10_300));
    let id = h.eng.next_ids().0;
    h.run(A, CommandKind::NewOrderList(oto(40)));
    assert_eq!(
        h.run(A, cancel(OrderRef::Engine(id))),
        vec![
            ev_cx(A, id, 40, BUY, 1_000, 0, CR::User),
            ev_lc(BUY, 9_900, 0, 0),
            ev_cx(A, id + 1, 41, SELL, 1_000, 0, CR::OrderList)
        ]
    );
    let id = h.eng.next_ids().0;
    h.run(A, CommandKind::NewOrderList(oto(50)));
    assert_eq!(
        h.run(A, cancel(OrderRef::Client(51))),
        vec![
            ev_cx(A, id + 1, 51, SELL, 1_000, 0, CR::User),
            ev_cx(A, id, 50, BUY, 1_000, 0, CR::OrderList),
            ev_lc(BUY, 9_900, 0, 0)
        ]
    );
    // Amending the working order is allowed (it is an ordinary resting order); its pending leg
    // still waits for it.
    let id = h.eng.next_ids().0;
    h.run(A, CommandKind::NewOrderList(oto(60)));
    let ev = h.run(A, amend(OrderRef::Engine(id), Some(2_000), None));
    assert!(matches!(ev[0], EventKind::Amended(_)), "{ev:?}");
    assert_eq!(h.eng.pending_legs(), 1);
    h.expect_reject(
        A,
        amend(OrderRef::Engine(id + 1), Some(500), None),
        ev_rej(A, CommandType::Amend, 0, id + 1, INST, RR::OrderListLeg),
    );
    // Closing the instrument cancels the working order, which cancels the pending leg.
    let ev = h.run(0, set_state(INST, InstrumentState::Closed));
    let cancelled = cancelled_ids(&ev);
    assert_eq!(cancelled, vec![(id, CR::InstrumentState), (id + 1, CR::OrderList)]);
    assert_eq!(h.eng.live_orders(), 0);
}

#[test]
fn an_otoco_places_its_pair_as_an_oco_once_the_working_order_fills() {
    let mut h = Harness::new();
    let id = h.eng.next_ids().0;
    // Buy 1_000 at 10_000 (it takes an ask at once), then protect them: sell at 10_300 or stop
    // out at 9_700.
    let ask = h.eng.next_ids().0;
    h.run(B, gtc(1, SELL, 10_000, 1_000));
    let id = id + 1;
    let otoco = OrderList::otoco(
        70,
        INST,
        (BUY, TimeInForce::Gtc, 10_000, 1_000),
        SELL,
        1_000,
        [maker_leg(10_300), stop_leg(9_700)],
    );
    assert_eq!(
        h.run(A, CommandKind::NewOrderList(otoco)),
        vec![
            listed(A, id, 70, ListKind::Otoco, 3),
            ev_acc(A, id, 70, BUY, OrderType::Limit, TimeInForce::Gtc, 10_000, 1_000),
            ev_trade(1, 10_000, 1_000, BUY, (ask, B, 1, 0), (id, A, 70, 0)),
            ev_lc(SELL, 10_000, 0, 0),
            ev_acc(A, id + 1, 71, SELL, OrderType::Limit, TimeInForce::PostOnly, 10_300, 1_000),
            ev_lc(SELL, 10_300, 1_000, 1),
            ev_armed_market(A, id + 2, 72, SELL, 9_700),
        ]
    );
    let members: Vec<(OrderId, OrderId, u8, u8)> =
        h.eng.list_members().iter().map(|m| (m.order_id, m.list_id, m.role, m.kind)).collect();
    assert_eq!(members, vec![(id + 1, id, 3, 3), (id + 2, id, 3, 3)], "the pair is an OCO now");
    // The maker leg trades: the stop leg goes.
    let t = h.eng.next_ids().0;
    let ev = h.run(B, ioc(2, BUY, 10_300, 1_000));
    assert_eq!(ev[3], ev_cx(A, id + 2, 72, SELL, 1_000, 0, CR::OrderList));
    assert!(t > id);
    assert_eq!(h.eng.live_orders(), 0);
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn bad_lists_are_rejected_whole_and_change_nothing() {
    let mut h = Harness::new();
    let rej = |cid, reason| ev_rej(A, CommandType::NewOrderList, cid, 0, INST, reason);
    let list = |l: OrderList| CommandKind::NewOrderList(l);
    // Two limit legs; a GTC (not post-only) limit leg; an IOC working order.
    h.expect_reject(
        A,
        list(OrderList::oco(1, INST, SELL, 1_000, [maker_leg(10_200), maker_leg(10_300)])),
        rej(1, RR::InvalidField),
    );
    h.expect_reject(
        A,
        list(OrderList::oco(2, INST, SELL, 1_000, [limit_leg(10_200), stop_leg(9_800)])),
        rej(2, RR::InvalidField),
    );
    let ioc_working = OrderList::oto(3, INST, (BUY, TimeInForce::Ioc, 9_900, 1_000), SELL, 1_000, limit_leg(10_300));
    h.expect_reject(A, list(ioc_working), rej(3, RR::InvalidField));
    // A leg's own rules: a stop the price has reached, a maker leg that would take, a leg off
    // the tick.
    h.expect_reject(
        A,
        list(OrderList::oco(4, INST, SELL, 1_000, [maker_leg(10_200), stop_leg(10_000)])),
        rej(4, RR::WouldTriggerImmediately),
    );
    h.run(B, gtc(1, BUY, 10_100, 1_000));
    h.expect_reject(
        A,
        list(OrderList::oco(5, INST, SELL, 1_000, [maker_leg(10_100), stop_leg(9_800)])),
        rej(5, RR::PostOnlyWouldTake),
    );
    h.expect_reject(
        A,
        list(OrderList::oco(6, INST, SELL, 1_000, [maker_leg(10_205), stop_leg(9_800)])),
        rej(6, RR::PriceOffTick),
    );
    // A taken client order id among the legs (the second leg's).
    h.run(A, gtc(8, SELL, 10_500, 1_000));
    h.expect_reject(
        A,
        list(OrderList::oco(7, INST, SELL, 1_000, [maker_leg(10_200), stop_leg(9_800)])),
        rej(7, RR::DuplicateClientOrderId),
    );
}

#[test]
fn lists_survive_snapshots_and_replay() {
    let mut h = Harness::new();
    h.run(A, oco_sell(10));
    let oto = OrderList::oto(30, INST, (BUY, TimeInForce::Gtc, 9_900, 1_000), SELL, 1_000, stop_leg_sell_limit());
    h.run(A, CommandKind::NewOrderList(oto));
    let otoco = OrderList::otoco(
        70,
        INST,
        (BUY, TimeInForce::PostOnly, 9_800, 1_000),
        SELL,
        1_000,
        [maker_leg(10_300), stop_leg(9_500)],
    );
    h.run(B, CommandKind::NewOrderList(otoco));
    let snap = h.eng.snapshot();
    assert_eq!((snap.pending.len(), snap.list_members.len()), (3, 7));
    assert_eq!(snap.state_hash(), h.eng.state_hash());
    let restored = Engine::from_snapshot(&snap).expect("restore");
    assert_eq!(restored.state_hash(), h.eng.state_hash());
    assert_eq!(restored.snapshot(), snap);
    // Both go on alike: a sweep down fills both working orders and fires what it reaches.
    let mut orig = Engine::from_snapshot(&snap).expect("restore");
    let mut copy = restored;
    let cmds = [(B, gtc(90, SELL, 9_800, 2_000)), (0, set_state(INST, InstrumentState::Closed))];
    for (i, (acct, kind)) in cmds.into_iter().enumerate() {
        let cmd = Command { account: acct, timestamp_ns: TS, kind };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        orig.apply(h.seq + 1 + i as u64, &cmd, &mut a);
        copy.apply(h.seq + 1 + i as u64, &cmd, &mut b);
        assert_eq!(a, b);
    }
    assert_eq!(orig.state_hash(), copy.state_hash());
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
    // Damage is refused.
    let refuse = |f: &dyn Fn(&mut EngineSnapshot)| {
        let mut bad = snap.clone();
        f(&mut bad);
        assert!(Engine::from_snapshot(&bad).is_err(), "{bad:?}");
    };
    refuse(&|s| s.list_members[0].role = 2);
    refuse(&|s| s.list_members[1].kind = 2);
    refuse(&|s| {
        s.list_members.pop();
    });
    refuse(&|s| {
        s.pending.pop();
    });
    refuse(&|s| s.pending[0].trigger = 7);
}

/// A sell stop-limit leg (trigger 9_500, limit 9_400).
fn stop_leg_sell_limit() -> ListLeg {
    ListLeg { order_type: OrderType::Limit, tif: TimeInForce::Gtc, price: 9_400, trigger: Some((9_500, StopLoss)) }
}

/// Risk mode: an OCO's legs share one reservation, so a holder of 1_000 can protect all of it
/// with a take-profit and a stop; when the stop fires, the maker leg's reservation is released
/// first and the stop is funded from it.
#[test]
fn an_oco_reserves_once_for_both_legs_and_a_fired_leg_is_funded_from_the_other() {
    let config = EngineConfig { risk_checks: true, max_assets: 4, fee_account: 63, ..EngineConfig::small() };
    let mut h = Harness::with(config, &[spec(INST)]);
    for (acct, asset, amount) in [(A, 1, 1_000), (B, 2, 100_000_000), (B, 1, 10_000)] {
        h.run(0, CommandKind::CreateAccount(CreateAccount { target: acct, tier: 0, status: AccountStatus::Active }));
        let tx_id = (acct as u64) * 10 + asset as u64;
        h.run(0, CommandKind::Deposit(Transfer { target: acct, asset, amount, tx_id }));
    }
    // Every BTC of A's: one reservation for both legs.
    let id = h.eng.next_ids().0;
    let ev = h.run(A, oco_sell(10));
    assert!(!ev.iter().any(|e| matches!(e, EventKind::Rejected(_))), "{ev:?}");
    assert_eq!(h.eng.balance(A, 1), (0, 1_000));
    // A plain sell now finds nothing available.
    let ev = h.run(A, gtc(20, SELL, 10_500, 1_000));
    assert!(matches!(ev[..], [EventKind::Rejected(Rejected { reason: RR::InsufficientBalance, .. })]), "{ev:?}");
    // The stop fires: the maker leg goes (its reservation with it), the stop sells A's 1_000.
    h.run(B, gtc(1, BUY, 9_800, 1_000));
    h.run(B, gtc(2, BUY, 9_700, 1_000));
    let ev = h.run(B, ioc(3, SELL, 9_800, 1_000));
    let order: Vec<String> = ev
        .iter()
        .filter_map(|e| match e {
            EventKind::Triggered(t) => Some(format!("fired {}", t.order_id)),
            EventKind::Cancelled(c) => Some(format!("cancelled {} {:?}", c.order_id, c.reason)),
            EventKind::Trade(t) if t.taker_order_id == id + 1 => Some(format!("sold {}", t.qty)),
            _ => None,
        })
        .collect();
    assert_eq!(order, vec![format!("fired {}", id + 1), format!("cancelled {id} OrderList"), "sold 1000".to_string()]);
    assert_eq!(h.eng.balance(A, 1), (0, 0));
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}
