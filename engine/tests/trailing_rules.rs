//! Trailing stops (docs/matching.md, "Trailing stops"): one test per rule, with the exact event
//! list of each command. The harness checks the book and armed-order invariants (no armed order
//! the last price has reached) after every command; `expect_reject` proves a rejected command
//! changed nothing. Prices: tick 10 around 10_000 (see `common::spec`).

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

fn market(cid: ClientOrderId, side: Side, qty: Qty) -> NewOrder {
    NewOrder {
        client_order_id: cid,
        instrument: INST,
        side,
        order_type: OrderType::Market,
        tif: TimeInForce::Ioc,
        stp: StpMode::None,
        price: 0,
        qty,
    }
}

fn trailing_order(order: NewOrder, delta: u32, unit: TrailUnit) -> CommandKind {
    CommandKind::NewAdvancedOrder(AdvancedOrder {
        trigger: Some((0, TriggerKind::StopLoss)),
        trailing: Some(Trailing { delta, unit }),
        ..AdvancedOrder::plain(order)
    })
}

/// A trailing stop-market of 1_000.
fn trailing(cid: ClientOrderId, side: Side, delta: u32, unit: TrailUnit) -> CommandKind {
    trailing_order(market(cid, side, 1_000), delta, unit)
}

/// Arms a trailing stop-market that must be accepted with `trigger_price`; returns its id.
fn arm(
    h: &mut Harness,
    acct: AccountId,
    cid: ClientOrderId,
    side: Side,
    delta: u32,
    unit: TrailUnit,
    trigger_price: Price,
) -> OrderId {
    let id = h.eng.next_ids().0;
    assert_eq!(
        h.run(acct, trailing(cid, side, delta, unit)),
        vec![ev_armed_market(acct, id, cid, side, trigger_price)]
    );
    id
}

/// Moves the last trade price to `price`: C rests `qty` there and B takes it (IOC).
fn trade_at(h: &mut Harness, price: Price, qty: Qty) -> Vec<EventKind> {
    let maker_side = if price >= h.eng.instrument(INST).unwrap().reference_price { SELL } else { BUY };
    let cid = h.eng.next_ids().0 + 10_000;
    h.run(C, gtc(cid, maker_side, price, qty));
    let ev =
        h.run(B, no(cid + 1, maker_side.opposite(), OrderType::Limit, TimeInForce::Ioc, StpMode::None, price, qty));
    assert_eq!(h.eng.instrument(INST).unwrap().reference_price, price);
    ev
}

fn triggers(h: &Harness) -> Vec<(OrderId, Price)> {
    h.eng.armed_orders(INST).iter().map(|a| (a.order.order_id, a.trigger_price)).collect()
}

#[test]
fn a_trailing_sell_follows_the_highest_price_and_fires_when_the_price_falls_back_by_the_delta() {
    let mut h = Harness::new();
    // Armed at the reference 10_000: 3 ticks of 10 below it.
    let s = arm(&mut h, A, 1, SELL, 3, TrailUnit::Ticks, 9_970);
    trade_at(&mut h, 10_050, 1_000);
    assert_eq!(triggers(&h), vec![(s, 10_020)], "a new high lifts the trigger");
    trade_at(&mut h, 10_030, 1_000);
    assert_eq!(triggers(&h), vec![(s, 10_020)], "a lower price leaves it");
    // A bid for the stop to sell into, then a trade at the trigger.
    let bid = h.eng.next_ids().0;
    h.run(C, gtc(50, BUY, 10_000, 1_000));
    let maker = h.eng.next_ids().0;
    h.run(C, gtc(51, BUY, 10_020, 1_000));
    let taker = h.eng.next_ids().0;
    let ev = h.run(B, no(52, SELL, OrderType::Limit, TimeInForce::Ioc, StpMode::None, 10_020, 1_000));
    assert_eq!(
        ev,
        vec![
            ev_acc(B, taker, 52, SELL, OrderType::Limit, TimeInForce::Ioc, 10_020, 1_000),
            ev_trade(3, 10_020, 1_000, SELL, (maker, C, 51, 0), (taker, B, 52, 0)),
            ev_lc(BUY, 10_020, 0, 0),
            ev_fired(A, s, 1, SELL, 10_020, 10_020),
            ev_trade(4, 10_000, 1_000, SELL, (bid, C, 50, 0), (s, A, 1, 0)),
            ev_lc(BUY, 10_000, 0, 0),
        ]
    );
    assert_eq!(h.eng.armed_count(), 0);
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn a_trailing_buy_follows_the_lowest_price_and_basis_points_round_away_from_it() {
    let mut h = Harness::new();
    // 150 bps above 10_000 is exactly 10_150.
    let s = arm(&mut h, A, 1, BUY, 150, TrailUnit::Bps, 10_150);
    trade_at(&mut h, 9_910, 1_000);
    // 9_910 * 1.015 = 10_058.65: rounded up to the tick, away from the low.
    assert_eq!(triggers(&h), vec![(s, 10_060)]);
    trade_at(&mut h, 10_050, 1_000);
    assert_eq!(triggers(&h), vec![(s, 10_060)], "10_050 does not reach 10_060");
    let ask = h.eng.next_ids().0;
    h.run(C, gtc(60, SELL, 10_100, 1_000));
    let maker = h.eng.next_ids().0;
    h.run(C, gtc(61, SELL, 10_060, 1_000));
    let taker = h.eng.next_ids().0;
    let ev = h.run(B, no(62, BUY, OrderType::Limit, TimeInForce::Ioc, StpMode::None, 10_060, 1_000));
    assert_eq!(
        ev,
        vec![
            ev_acc(B, taker, 62, BUY, OrderType::Limit, TimeInForce::Ioc, 10_060, 1_000),
            ev_trade(3, 10_060, 1_000, BUY, (maker, C, 61, 0), (taker, B, 62, 0)),
            ev_lc(SELL, 10_060, 0, 0),
            ev_fired(A, s, 1, BUY, 10_060, 10_060),
            ev_trade(4, 10_100, 1_000, BUY, (ask, C, 60, 0), (s, A, 1, 0)),
            ev_lc(SELL, 10_100, 0, 0),
        ]
    );
    assert_eq!(h.eng.armed_count(), 0);
}

#[test]
fn the_trigger_price_passed_first_fires_first_and_a_fixed_trigger_goes_before_a_trailing_one_at_the_same_price() {
    let mut h = Harness::new();
    let t3 = arm(&mut h, A, 1, SELL, 3, TrailUnit::Ticks, 9_970); // trigger 9_970
    let t1 = arm(&mut h, A, 2, SELL, 1, TrailUnit::Ticks, 9_990); // trigger 9_990
    let t3b = arm(&mut h, B, 3, SELL, 3, TrailUnit::Ticks, 9_970); // the 3-tick group's second
                                                                   // A fixed stop at 9_970, armed after the trailing ones.
    let fixed = h.eng.next_ids().0;
    let stop = StopOrder { order: market(4, SELL, 1_000), trigger_price: 9_970, trigger: TriggerKind::StopLoss };
    h.run(B, CommandKind::NewStopOrder(stop));
    // Listed: the fixed triggers, then group by group (the 3-tick group was made first).
    assert_eq!(triggers(&h), vec![(fixed, 9_970), (t3, 9_970), (t3b, 9_970), (t1, 9_990)]);
    // One sell sweeps the bids down to 9_960: every trigger is reached; none has a bid left.
    h.run(C, gtc(50, BUY, 9_990, 1_000));
    h.run(C, gtc(51, BUY, 9_960, 1_000));
    let ev = h.run(B, no(52, SELL, OrderType::Market, TimeInForce::Ioc, StpMode::None, 0, 2_000));
    let fired: Vec<(OrderId, Price, Price)> = ev
        .iter()
        .filter_map(|e| match e {
            EventKind::Triggered(t) => Some((t.order_id, t.trigger_price, t.last_price)),
            _ => None,
        })
        .collect();
    // Highest trigger first (9_990), then 9_970: the fixed one, then the trailing by arrival.
    assert_eq!(fired, vec![(t1, 9_990, 9_960), (fixed, 9_970, 9_960), (t3, 9_970, 9_960), (t3b, 9_970, 9_960)]);
    assert_eq!(h.eng.armed_count(), 0);
}

#[test]
fn orders_armed_after_a_high_trail_from_their_own_arming_price() {
    let mut h = Harness::new();
    let first = arm(&mut h, A, 1, SELL, 10, TrailUnit::Ticks, 9_900);
    trade_at(&mut h, 10_100, 1_000);
    trade_at(&mut h, 10_050, 1_000);
    // Armed at 10_050, below the first's high of 10_100; the same delta, so the same group.
    let second = arm(&mut h, A, 2, SELL, 10, TrailUnit::Ticks, 9_950);
    assert_eq!(triggers(&h), vec![(first, 10_000), (second, 9_950)]);
    trade_at(&mut h, 10_070, 1_000);
    assert_eq!(triggers(&h), vec![(first, 10_000), (second, 9_970)], "only the newer one's high moved");
    trade_at(&mut h, 10_200, 1_000);
    assert_eq!(triggers(&h), vec![(first, 10_100), (second, 10_100)], "one new high for both");
    // Cancel the older: the newer keeps its trigger.
    h.run(A, cancel(OrderRef::Engine(first)));
    assert_eq!(triggers(&h), vec![(second, 10_100)]);
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn bad_trailing_stops_are_rejected_and_change_nothing() {
    let mut h = Harness::new();
    let rej = |cid, reason| ev_rej(A, CommandType::NewAdvancedOrder, cid, 0, INST, reason);
    h.expect_reject(A, trailing(1, SELL, 0, TrailUnit::Ticks), rej(1, RR::InvalidField));
    h.expect_reject(A, trailing(2, SELL, MAX_TRAIL_BPS + 1, TrailUnit::Bps), rej(2, RR::InvalidField));
    let with = |cid, trigger| {
        CommandKind::NewAdvancedOrder(AdvancedOrder {
            trigger,
            trailing: Some(Trailing { delta: 2, unit: TrailUnit::Ticks }),
            ..AdvancedOrder::plain(market(cid, SELL, 1_000))
        })
    };
    // A take-profit, a trigger price of its own, no trigger at all.
    h.expect_reject(A, with(3, Some((0, TriggerKind::TakeProfit))), rej(3, RR::InvalidField));
    h.expect_reject(A, with(4, Some((9_900, TriggerKind::StopLoss))), rej(4, RR::InvalidField));
    h.expect_reject(A, with(5, None), rej(5, RR::InvalidField));
    // The new-order rules still apply first: a quantity off the lot.
    let off_lot = trailing_order(market(6, SELL, 1_050), 2, TrailUnit::Ticks);
    h.expect_reject(A, off_lot, rej(6, RR::QtyOffLot));
    // A trailing stop has no fixed trigger to amend.
    let s = arm(&mut h, A, 7, SELL, 2, TrailUnit::Ticks, 9_980);
    let amend = CommandKind::AmendTrigger(AmendTrigger { order: OrderRef::Engine(s), trigger_price: 9_900 });
    h.expect_reject(A, amend, ev_rej(A, CommandType::AmendTrigger, 0, s, INST, RR::InvalidField));
}

#[test]
fn each_side_holds_at_most_64_distinct_deltas() {
    let config = EngineConfig { max_orders: 1_024, max_open_orders_per_account: 1_024, ..EngineConfig::small() };
    let mut h = Harness::with(config, &[spec(INST)]);
    for d in 1..=64u32 {
        h.run(A, trailing(d as u64, SELL, d, TrailUnit::Ticks));
    }
    h.expect_reject(
        A,
        trailing(100, SELL, 65, TrailUnit::Ticks),
        ev_rej(A, CommandType::NewAdvancedOrder, 100, 0, INST, RR::CapacityReached),
    );
    // An existing delta, the other unit's group of the same number, or the other side: room.
    assert!(matches!(h.run(A, trailing(101, SELL, 64, TrailUnit::Ticks))[..], [EventKind::Armed(_)]));
    assert!(matches!(h.run(A, trailing(102, BUY, 65, TrailUnit::Ticks))[..], [EventKind::Armed(_)]));
    h.expect_reject(
        A,
        trailing(103, SELL, 64, TrailUnit::Bps),
        ev_rej(A, CommandType::NewAdvancedOrder, 103, 0, INST, RR::CapacityReached),
    );
    // Once a group empties, its place is free again.
    let first = h.eng.armed_orders(INST).iter().find(|a| a.order.client_order_id == 1).unwrap().order.order_id;
    h.run(A, cancel(OrderRef::Engine(first)));
    assert!(matches!(h.run(A, trailing(104, SELL, 64, TrailUnit::Bps))[..], [EventKind::Armed(_)]));
}

#[test]
fn cancel_amend_expiry_and_closing_cover_trailing_stops() {
    let mut h = Harness::new();
    let s1 = arm(&mut h, A, 1, SELL, 2, TrailUnit::Ticks, 9_980);
    // Amend: the quantity, in place.
    let ev = h.run(A, CommandKind::Amend(Amend { order: OrderRef::Client(1), new_qty: Some(2_000), new_price: None }));
    assert_eq!(ev, vec![ev_am(A, s1, 1, SELL, 0, 2_000, 2_000, true)]);
    assert_eq!(triggers(&h), vec![(s1, 9_980)]);
    // Good till date.
    let id = h.eng.next_ids().0;
    let gtd = CommandKind::NewAdvancedOrder(AdvancedOrder {
        trigger: Some((0, TriggerKind::StopLoss)),
        trailing: Some(Trailing { delta: 5, unit: TrailUnit::Ticks }),
        expire_time_ns: TS + 100,
        ..AdvancedOrder::plain(market(2, BUY, 1_000))
    });
    assert_eq!(h.run(A, gtd), vec![ev_armed_market(A, id, 2, BUY, 10_050)]);
    let ev = h.run_ts(B, TS + 100, cancel(OrderRef::Engine(u64::MAX)));
    assert_eq!(ev[0], ev_cx(A, id, 2, BUY, 1_000, 0, CR::Expired));
    // Closing the instrument: the fixed triggers, then the trailing stops by group.
    let s3 = arm(&mut h, B, 3, SELL, 7, TrailUnit::Ticks, 9_930);
    let s4 = arm(&mut h, B, 4, SELL, 2, TrailUnit::Ticks, 9_980);
    let fixed = h.eng.next_ids().0;
    let stop = StopOrder { order: market(5, SELL, 1_000), trigger_price: 9_500, trigger: TriggerKind::StopLoss };
    h.run(B, CommandKind::NewStopOrder(stop));
    let close =
        CommandKind::SetInstrumentState(SetInstrumentState { instrument: INST, state: InstrumentState::Closed });
    let ev = h.run(0, close);
    let cancelled: Vec<OrderId> = cancelled_ids(&ev).into_iter().map(|c| c.0).collect();
    assert_eq!(cancelled, vec![fixed, s1, s4, s3]);
    assert_eq!(h.eng.armed_count(), 0);
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
}

#[test]
fn trailing_stops_survive_snapshots_and_replay_and_a_damaged_snapshot_is_refused() {
    let mut h = Harness::new();
    arm(&mut h, A, 1, SELL, 20, TrailUnit::Ticks, 9_800);
    trade_at(&mut h, 10_100, 1_000);
    arm(&mut h, A, 2, SELL, 5, TrailUnit::Ticks, 10_050);
    // 1% below 10_100 is 9_999, rounded down to 9_990.
    arm(&mut h, A, 3, SELL, 100, TrailUnit::Bps, 9_990);
    trade_at(&mut h, 10_060, 1_000);
    arm(&mut h, B, 4, SELL, 2, TrailUnit::Ticks, 10_040);
    arm(&mut h, B, 5, BUY, 3, TrailUnit::Ticks, 10_090);
    let snap = h.eng.snapshot();
    assert_eq!((snap.armed.len(), snap.trailing.len(), snap.trail_tracks.len()), (5, 5, 2));
    assert_eq!(snap.state_hash(), h.eng.state_hash());
    let restored = Engine::from_snapshot(&snap).expect("restore");
    assert_eq!(restored.state_hash(), h.eng.state_hash());
    assert_eq!(restored.armed_orders(INST), h.eng.armed_orders(INST));
    assert_eq!(h.replay().state_hash(), h.eng.state_hash());
    // Both fire alike on a rise then a fall.
    let mut orig = Engine::from_snapshot(&snap).expect("restore");
    let mut copy = restored;
    let cmds = [
        (C, gtc(90, SELL, 10_150, 1_000)),
        (B, no(91, BUY, OrderType::Market, TimeInForce::Ioc, StpMode::None, 0, 1_000)),
        (C, gtc(92, BUY, 10_000, 5_000)),
        (B, no(93, SELL, OrderType::Limit, TimeInForce::Ioc, StpMode::None, 10_000, 1_000)),
    ];
    for (i, (acct, kind)) in cmds.into_iter().enumerate() {
        let cmd = Command { account: acct, timestamp_ns: TS, kind };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        orig.apply(h.seq + 1 + i as u64, &cmd, &mut a);
        copy.apply(h.seq + 1 + i as u64, &cmd, &mut b);
        assert_eq!(a, b);
    }
    assert_eq!(orig.state_hash(), copy.state_hash());
    assert!(orig.armed_count() < 5, "the moves fired some");
    // Damage is refused: a trigger that is not the order's own, an epoch outside its track, two
    // orders of one group out of arrival order, a run's order count, a track out of order.
    let refuse = |f: &dyn Fn(&mut EngineSnapshot)| {
        let mut bad = snap.clone();
        f(&mut bad);
        assert!(Engine::from_snapshot(&bad).is_err(), "{bad:?}");
    };
    refuse(&|s| s.armed[0].trigger_price += 10);
    refuse(&|s| s.trailing[0].epoch = 99);
    refuse(&|s| {
        s.armed.swap(0, 1);
        s.trailing.swap(0, 1);
    });
    refuse(&|s| s.trail_tracks[0].entries[0].orders += 1);
    refuse(&|s| s.trail_tracks.swap(0, 1));
    refuse(&|s| s.trailing[0].unit = 9);
}
