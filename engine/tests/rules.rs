//! One test (or a few) per rule of docs/matching.md, asserting the exact
//! event sequence of each command. The harness also checks, for every
//! command, that each event carries the command's seq and that the book
//! invariants hold; `expect_reject` proves a rejected command changed nothing.

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

/// Places a GTC limit that must rest untouched; returns its order id.
fn rest(h: &mut Harness, acct: AccountId, cid: ClientOrderId, side: Side, price: Price, qty: Qty) -> OrderId {
    rest_with(h, acct, cid, side, price, qty, StpMode::None)
}

fn rest_with(
    h: &mut Harness,
    acct: AccountId,
    cid: ClientOrderId,
    side: Side,
    price: Price,
    qty: Qty,
    stp: StpMode,
) -> OrderId {
    let id = h.eng.next_ids().0;
    let before = h.eng.levels(INST, side).into_iter().find(|l| l.price == price);
    let (q, n) = before.map_or((0, 0), |l| (l.qty, l.order_count));
    let ev = h.run(acct, no(cid, side, OrderType::Limit, TimeInForce::Gtc, stp, price, qty));
    assert_eq!(ev, vec![ev_acc_gtc(acct, id, cid, side, price, qty), ev_lc(side, price, q + qty, n + 1)]);
    id
}

fn ioc(cid: ClientOrderId, side: Side, price: Price, qty: Qty) -> CommandKind {
    no(cid, side, OrderType::Limit, TimeInForce::Ioc, StpMode::None, price, qty)
}

fn fok(cid: ClientOrderId, side: Side, stp: StpMode, price: Price, qty: Qty) -> CommandKind {
    no(cid, side, OrderType::Limit, TimeInForce::Fok, stp, price, qty)
}

fn market(cid: ClientOrderId, side: Side, qty: Qty) -> CommandKind {
    no(cid, side, OrderType::Market, TimeInForce::Ioc, StpMode::None, 0, qty)
}

fn post(cid: ClientOrderId, side: Side, price: Price, qty: Qty) -> CommandKind {
    no(cid, side, OrderType::Limit, TimeInForce::PostOnly, StpMode::None, price, qty)
}

fn gtc_stp(cid: ClientOrderId, side: Side, stp: StpMode, price: Price, qty: Qty) -> CommandKind {
    no(cid, side, OrderType::Limit, TimeInForce::Gtc, stp, price, qty)
}

fn rej_cancel(acct: AccountId, cid: ClientOrderId, oid: OrderId, reason: RejectReason) -> EventKind {
    ev_rej(acct, CommandType::Cancel, cid, oid, 0, reason)
}

fn rej_amend(acct: AccountId, cid: ClientOrderId, oid: OrderId, inst: InstrumentId, reason: RejectReason) -> EventKind {
    ev_rej(acct, CommandType::Amend, cid, oid, inst, reason)
}

fn eid(id: OrderId) -> OrderRef {
    OrderRef::Engine(id)
}

fn cid(id: ClientOrderId) -> OrderRef {
    OrderRef::Client(id)
}

fn reference_price(h: &Harness) -> Price {
    h.eng.instrument(INST).unwrap().reference_price
}

// ===== NewOrder validation ===================================================

#[test]
fn reject_unknown_account_first() {
    let mut h = Harness::new();
    let max = h.config.max_accounts;
    // Also unknown instrument and invalid values: the account check wins.
    let bad = CommandKind::NewOrder(NewOrder {
        client_order_id: 5,
        instrument: 99,
        side: BUY,
        order_type: OrderType::Market,
        tif: TimeInForce::Gtc,
        stp: StpMode::None,
        price: 3,
        qty: 0,
    });
    h.expect_reject(max, bad, ev_rej(max, CommandType::NewOrder, 5, 0, 99, RR::UnknownAccount));
    h.expect_reject(u32::MAX, gtc(6, BUY, 10_000, 1000), ev_rej_new(u32::MAX, 6, RR::UnknownAccount));
    // The last valid account id is accepted.
    rest(&mut h, max - 1, 1, BUY, 10_000, 1000);
}

#[test]
fn reject_unknown_instrument() {
    let mut h = Harness::new();
    let k = with_inst(gtc(1, BUY, 10_000, 1000), 2);
    h.expect_reject(A, k, ev_rej(A, CommandType::NewOrder, 1, 0, 2, RR::UnknownInstrument));
    let k = with_inst(gtc(1, BUY, 10_000, 1000), u32::MAX);
    h.expect_reject(A, k, ev_rej(A, CommandType::NewOrder, 1, 0, u32::MAX, RR::UnknownInstrument));
    assert_eq!(h.eng.next_ids(), (1, 1), "rejects consume no order id");
}

#[test]
fn reject_market_invalid_fields() {
    let mut h = Harness::new();
    rest(&mut h, B, 1, SELL, 10_000, 1000);
    let m = |tif, price| no(7, BUY, OrderType::Market, tif, StpMode::None, price, 100);
    h.expect_reject(A, m(TimeInForce::Ioc, 10_000), ev_rej_new(A, 7, RR::InvalidField));
    h.expect_reject(A, m(TimeInForce::Gtc, 0), ev_rej_new(A, 7, RR::InvalidField));
    h.expect_reject(A, m(TimeInForce::PostOnly, 0), ev_rej_new(A, 7, RR::InvalidField));
    // InvalidField (4) before QtyOffLot (6).
    let k = no(7, BUY, OrderType::Market, TimeInForce::Ioc, StpMode::None, 5, 150);
    h.expect_reject(A, k, ev_rej_new(A, 7, RR::InvalidField));
    // Market IOC and FOK with price 0 are fine.
    let ev = h.run(A, m(TimeInForce::Fok, 0));
    assert_eq!(ev[0], ev_acc(A, 2, 7, BUY, OrderType::Market, TimeInForce::Fok, 0, 100));
}

#[test]
fn reject_price_off_tick() {
    let mut h = Harness::new();
    h.expect_reject(A, gtc(1, BUY, 0, 1000), ev_rej_new(A, 1, RR::PriceOffTick));
    h.expect_reject(A, gtc(1, BUY, 10_005, 1000), ev_rej_new(A, 1, RR::PriceOffTick));
    h.expect_reject(A, ioc(1, SELL, 9_999, 1000), ev_rej_new(A, 1, RR::PriceOffTick));
    // PriceOffTick (5) before QtyOffLot (6).
    h.expect_reject(A, gtc(1, BUY, 10_001, 150), ev_rej_new(A, 1, RR::PriceOffTick));
}

#[test]
fn reject_qty_off_lot() {
    let mut h = Harness::new();
    h.expect_reject(A, gtc(1, BUY, 10_000, 0), ev_rej_new(A, 1, RR::QtyOffLot));
    h.expect_reject(A, gtc(1, BUY, 10_000, 1050), ev_rej_new(A, 1, RR::QtyOffLot));
    h.expect_reject(A, market(1, BUY, 0), ev_rej_new(A, 1, RR::QtyOffLot));
    // QtyOffLot (6) before OutsidePriceBand (9).
    h.expect_reject(A, gtc(1, BUY, 20_000, 150), ev_rej_new(A, 1, RR::QtyOffLot));
}

#[test]
fn reject_qty_out_of_range() {
    let mut s = spec(INST);
    s.min_qty = 700;
    s.max_qty = 2000;
    let mut h = Harness::with(EngineConfig::small(), &[s]);
    h.expect_reject(A, gtc(1, BUY, 10_000, 600), ev_rej_new(A, 1, RR::QtyOutOfRange));
    h.expect_reject(A, gtc(1, BUY, 10_000, 2100), ev_rej_new(A, 1, RR::QtyOutOfRange));
    h.expect_reject(A, market(1, SELL, 100), ev_rej_new(A, 1, RR::QtyOutOfRange));
    // QtyOutOfRange (7) before BelowMinNotional (8) and band (9).
    h.expect_reject(A, gtc(1, BUY, 20_000, 100), ev_rej_new(A, 1, RR::QtyOutOfRange));
    rest(&mut h, A, 1, BUY, 10_000, 700);
    rest(&mut h, A, 2, BUY, 10_000, 2000);
}

#[test]
fn reject_below_min_notional_limit_only() {
    let mut h = Harness::new();
    // 10_000 * 400 / 100 = 40_000 < 50_000.
    h.expect_reject(A, gtc(1, BUY, 10_000, 400), ev_rej_new(A, 1, RR::BelowMinNotional));
    h.expect_reject(A, ioc(1, SELL, 10_000, 400), ev_rej_new(A, 1, RR::BelowMinNotional));
    // Notional truncates: 9_990 * 500 / 100 = 49_950.
    h.expect_reject(A, gtc(1, BUY, 9_990, 500), ev_rej_new(A, 1, RR::BelowMinNotional));
    // BelowMinNotional (8) before OutsidePriceBand (9).
    h.expect_reject(A, gtc(1, BUY, 11_010, 100), ev_rej_new(A, 1, RR::BelowMinNotional));
    // Exactly the minimum is fine.
    let id = rest(&mut h, A, 1, BUY, 10_000, 500);
    // Market orders are not checked for notional.
    let ev = h.run(B, market(9, SELL, 100));
    assert_eq!(
        ev,
        vec![
            ev_acc(B, 2, 9, SELL, OrderType::Market, TimeInForce::Ioc, 0, 100),
            ev_trade(1, 10_000, 100, SELL, (id, A, 1, 400), (2, B, 9, 0)),
            ev_lc(BUY, 10_000, 400, 1),
        ]
    );
}

#[test]
fn reject_outside_price_band_edges_inclusive() {
    let mut h = Harness::new();
    // ref 10_000, 1_000 bps: 9_000..=11_000.
    h.expect_reject(A, gtc(1, BUY, 11_010, 1000), ev_rej_new(A, 1, RR::OutsidePriceBand));
    h.expect_reject(A, gtc(1, SELL, 8_990, 1000), ev_rej_new(A, 1, RR::OutsidePriceBand));
    h.expect_reject(A, fok(1, BUY, StpMode::None, 50_000, 1000), ev_rej_new(A, 1, RR::OutsidePriceBand));
    rest(&mut h, A, 1, SELL, 11_000, 1000);
    rest(&mut h, A, 2, BUY, 9_000, 1000);
}

#[test]
fn reject_band_zero_bps_allows_only_reference() {
    let mut s = spec(INST);
    s.price_band_bps = 0;
    let mut h = Harness::with(EngineConfig::small(), &[s]);
    h.expect_reject(A, gtc(1, BUY, 9_990, 1000), ev_rej_new(A, 1, RR::OutsidePriceBand));
    h.expect_reject(A, gtc(1, SELL, 10_010, 1000), ev_rej_new(A, 1, RR::OutsidePriceBand));
    rest(&mut h, A, 1, BUY, 10_000, 1000);
}

#[test]
fn reject_duplicate_client_order_id_while_live_only() {
    let mut h = Harness::new();
    let id1 = rest(&mut h, A, 7, BUY, 9_900, 1000);
    // Same cid, same account: rejected whatever the order type.
    h.expect_reject(A, gtc(7, SELL, 10_100, 1000), ev_rej_new(A, 7, RR::DuplicateClientOrderId));
    h.expect_reject(A, market(7, SELL, 100), ev_rej_new(A, 7, RR::DuplicateClientOrderId));
    // DuplicateClientOrderId (10) before TooManyOpenOrders/Capacity/FOK/post-only.
    h.expect_reject(A, fok(7, SELL, StpMode::None, 9_000, 5000), ev_rej_new(A, 7, RR::DuplicateClientOrderId));
    // Band (9) before duplicate (10).
    h.expect_reject(A, gtc(7, SELL, 20_000, 1000), ev_rej_new(A, 7, RR::OutsidePriceBand));
    // Another account may use the same cid.
    let id2 = rest(&mut h, B, 7, BUY, 9_900, 1000);
    // Cancelled: the cid is free again.
    assert_eq!(h.run(A, cancel(cid(7))), vec![ev_cx(A, id1, 7, BUY, 1000, 0, CR::User), ev_lc(BUY, 9_900, 1000, 1)]);
    let id3 = rest(&mut h, A, 7, SELL, 10_100, 1000);
    // Fully filled: free again too.
    let ev = h.run(C, gtc(1, BUY, 10_100, 1000));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(C, id3 + 1, 1, BUY, 10_100, 1000),
            ev_trade(1, 10_100, 1000, BUY, (id3, A, 7, 0), (id3 + 1, C, 1, 0)),
            ev_lc(SELL, 10_100, 0, 0),
        ]
    );
    let id5 = rest(&mut h, A, 7, SELL, 10_200, 1000);
    assert!(id5 > id2);
    // An IOC that does not rest never blocks its cid.
    let ev = h.run(B, ioc(8, SELL, 10_000, 1000));
    assert_eq!(ev.last(), Some(&ev_cx(B, id5 + 1, 8, SELL, 1000, 0, CR::ImmediateRemainder)));
    rest(&mut h, B, 8, SELL, 10_300, 1000);
}

#[test]
fn reject_too_many_open_orders_per_account() {
    let cfg = EngineConfig {
        max_orders: 100,
        max_instruments: 4,
        max_accounts: 4,
        max_open_orders_per_account: 2,
        ..EngineConfig::default()
    };
    let mut h = Harness::with(cfg, &[spec(INST)]);
    rest(&mut h, A, 1, BUY, 9_900, 1000);
    let id2 = rest(&mut h, A, 2, BUY, 9_800, 1000);
    // Checked for every order, even one that would not rest.
    h.expect_reject(A, gtc(3, BUY, 9_700, 1000), ev_rej_new(A, 3, RR::TooManyOpenOrders));
    h.expect_reject(A, ioc(3, SELL, 9_900, 1000), ev_rej_new(A, 3, RR::TooManyOpenOrders));
    h.expect_reject(A, market(3, SELL, 100), ev_rej_new(A, 3, RR::TooManyOpenOrders));
    // Other accounts are not affected.
    rest(&mut h, B, 1, BUY, 9_700, 1000);
    // A cancel frees one.
    h.run(A, cancel(eid(id2)));
    rest(&mut h, A, 3, BUY, 9_700, 1000);
}

#[test]
fn reject_capacity_reached() {
    let cfg = EngineConfig {
        max_orders: 3,
        max_instruments: 4,
        max_accounts: 4,
        max_open_orders_per_account: 2,
        ..EngineConfig::default()
    };
    let mut h = Harness::with(cfg, &[spec(INST)]);
    rest(&mut h, A, 1, BUY, 9_900, 1000);
    let id2 = rest(&mut h, B, 1, BUY, 9_800, 1000);
    rest(&mut h, C, 1, SELL, 10_100, 1000);
    assert_eq!(h.eng.live_orders(), 3);
    h.expect_reject(C, gtc(2, SELL, 10_200, 1000), ev_rej_new(C, 2, RR::CapacityReached));
    // Even a taker that would fill completely.
    h.expect_reject(C, ioc(2, SELL, 9_900, 1000), ev_rej_new(C, 2, RR::CapacityReached));
    h.expect_reject(A, gtc(2, BUY, 9_700, 1000), ev_rej_new(A, 2, RR::CapacityReached));
    // FokCannotFill (13) comes after CapacityReached (12).
    h.expect_reject(C, fok(2, SELL, StpMode::None, 9_000, 90_000), ev_rej_new(C, 2, RR::CapacityReached));
    h.run(B, cancel(eid(id2)));
    rest(&mut h, C, 2, SELL, 10_200, 1000);
}

#[test]
fn reject_too_many_before_capacity() {
    let cfg = EngineConfig {
        max_orders: 2,
        max_instruments: 4,
        max_accounts: 4,
        max_open_orders_per_account: 2,
        ..EngineConfig::default()
    };
    let mut h = Harness::with(cfg, &[spec(INST)]);
    rest(&mut h, A, 1, BUY, 9_900, 1000);
    rest(&mut h, A, 2, BUY, 9_800, 1000);
    h.expect_reject(A, gtc(3, BUY, 9_700, 1000), ev_rej_new(A, 3, RR::TooManyOpenOrders));
    h.expect_reject(B, gtc(3, BUY, 9_700, 1000), ev_rej_new(B, 3, RR::CapacityReached));
}

// ===== Matching ===============================================================

#[test]
fn price_time_priority_and_trade_at_maker_price() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, B, 1, SELL, 10_000, 1000);
    let o2 = rest(&mut h, C, 1, SELL, 10_000, 1000);
    let o3 = rest(&mut h, B, 2, SELL, 10_000, 1000);
    let o4 = rest(&mut h, C, 2, SELL, 9_990, 1000);
    assert_eq!(h.levels(SELL), vec![(9_990, 1000, 1), (10_000, 3000, 3)]);
    assert_eq!(h.queue(SELL), vec![o4, o1, o2, o3]);
    // Buy limit 10_050: trades at the makers' prices, best price first, then time.
    let ev = h.run(A, gtc(9, BUY, 10_050, 3500));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(A, 5, 9, BUY, 10_050, 3500),
            ev_trade(1, 9_990, 1000, BUY, (o4, C, 2, 0), (5, A, 9, 2500)),
            ev_lc(SELL, 9_990, 0, 0),
            ev_trade(2, 10_000, 1000, BUY, (o1, B, 1, 0), (5, A, 9, 1500)),
            ev_trade(3, 10_000, 1000, BUY, (o2, C, 1, 0), (5, A, 9, 500)),
            ev_trade(4, 10_000, 500, BUY, (o3, B, 2, 500), (5, A, 9, 0)),
            ev_lc(SELL, 10_000, 500, 1),
        ]
    );
    assert_eq!(h.queue(SELL), vec![o3]);
    assert_eq!(h.eng.order(o3).unwrap().leaves, 500);
    assert_eq!(h.eng.order(5), None);
    assert!(h.levels(BUY).is_empty());
    assert_eq!(h.eng.next_ids(), (6, 5));
    // A sell taker trades at the (higher) bid price.
    let b1 = rest(&mut h, B, 3, BUY, 9_950, 1000);
    let ev = h.run(C, gtc(3, SELL, 9_900, 600));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(C, 7, 3, SELL, 9_900, 600),
            ev_trade(5, 9_950, 600, SELL, (b1, B, 3, 400), (7, C, 3, 0)),
            ev_lc(BUY, 9_950, 400, 1),
        ]
    );
    assert_eq!(reference_price(&h), 9_950);
}

#[test]
fn sweep_across_levels_limit_stops_and_remainder_rests() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, B, 1, SELL, 10_000, 1000);
    let o2 = rest(&mut h, B, 2, SELL, 10_010, 1000);
    let o3 = rest(&mut h, B, 3, SELL, 10_020, 1000);
    let ev = h.run(A, gtc(1, BUY, 10_010, 2500));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(A, 4, 1, BUY, 10_010, 2500),
            ev_trade(1, 10_000, 1000, BUY, (o1, B, 1, 0), (4, A, 1, 1500)),
            ev_lc(SELL, 10_000, 0, 0),
            ev_trade(2, 10_010, 1000, BUY, (o2, B, 2, 0), (4, A, 1, 500)),
            ev_lc(SELL, 10_010, 0, 0),
            ev_lc(BUY, 10_010, 500, 1),
        ]
    );
    assert_eq!(h.levels(SELL), vec![(10_020, 1000, 1)]);
    assert_eq!(h.levels(BUY), vec![(10_010, 500, 1)]);
    let v = h.eng.order(4).unwrap();
    assert_eq!((v.qty, v.leaves, v.price, v.account, v.client_order_id), (2500, 500, 10_010, A, 1));
    assert_eq!(h.queue(SELL), vec![o3]);
    assert_eq!(reference_price(&h), 10_010, "reference is the last trade's price");
}

#[test]
fn ioc_remainder_cancelled() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, B, 1, SELL, 10_000, 1000);
    let ev = h.run(A, ioc(1, BUY, 10_000, 1500));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 2, 1, BUY, OrderType::Limit, TimeInForce::Ioc, 10_000, 1500),
            ev_trade(1, 10_000, 1000, BUY, (o1, B, 1, 0), (2, A, 1, 500)),
            ev_lc(SELL, 10_000, 0, 0),
            ev_cx(A, 2, 1, BUY, 500, 1000, CR::ImmediateRemainder),
        ]
    );
    // Nothing crossing: accepted (an id is used) then cancelled whole.
    let ev = h.run(A, ioc(2, SELL, 10_000, 1000));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 3, 2, SELL, OrderType::Limit, TimeInForce::Ioc, 10_000, 1000),
            ev_cx(A, 3, 2, SELL, 1000, 0, CR::ImmediateRemainder),
        ]
    );
    assert_eq!(h.eng.live_orders(), 0);
    // Fully filled IOC: no cancel.
    let o4 = rest(&mut h, B, 2, BUY, 10_000, 1000);
    let ev = h.run(A, ioc(3, SELL, 9_990, 1000));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 5, 3, SELL, OrderType::Limit, TimeInForce::Ioc, 9_990, 1000),
            ev_trade(2, 10_000, 1000, SELL, (o4, B, 2, 0), (5, A, 3, 0)),
            ev_lc(BUY, 10_000, 0, 0),
        ]
    );
}

#[test]
fn market_buy_bounded_by_band_with_floor_rounding() {
    let mut s = spec(INST);
    s.price_band_bps = 1_005; // 10.05%
    let mut h = Harness::with(EngineConfig::small(), &[s]);
    let a1 = rest(&mut h, B, 1, SELL, 10_450, 1000);
    let a2 = rest(&mut h, B, 2, SELL, 10_460, 1000);
    // Move the reference to 9_500 with a trade.
    let b = rest(&mut h, C, 1, BUY, 9_500, 1000);
    let ev = h.run(B, ioc(3, SELL, 9_500, 1000));
    assert_eq!(ev[1], ev_trade(1, 9_500, 1000, SELL, (b, C, 1, 0), (4, B, 3, 0)));
    assert_eq!(reference_price(&h), 9_500);
    // Buy limit = floor(9_500 * 11_005 / 10_000 / 10) * 10 = floor(10_454.75 / 10) * 10 = 10_450.
    let ev = h.run(A, market(1, BUY, 2500));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 5, 1, BUY, OrderType::Market, TimeInForce::Ioc, 0, 2500),
            ev_trade(2, 10_450, 1000, BUY, (a1, B, 1, 0), (5, A, 1, 1500)),
            ev_lc(SELL, 10_450, 0, 0),
            ev_cx(A, 5, 1, BUY, 1500, 1000, CR::ImmediateRemainder),
        ]
    );
    assert_eq!(h.queue(SELL), vec![a2]);
    assert_eq!(reference_price(&h), 10_450);
    // The band followed: limit now floor(10_450 * 1.1005) = 11_500.225 -> 11_500, so 10_460 is reachable.
    let ev = h.run(A, market(2, BUY, 1000));
    assert_eq!(ev[1], ev_trade(3, 10_460, 1000, BUY, (a2, B, 2, 0), (6, A, 2, 0)));
}

#[test]
fn market_sell_bounded_by_band_with_ceil_rounding() {
    let mut s = spec(INST);
    s.price_band_bps = 1_005;
    let mut h = Harness::with(EngineConfig::small(), &[s]);
    let b1 = rest(&mut h, B, 1, BUY, 9_450, 1000);
    let b2 = rest(&mut h, B, 2, BUY, 9_440, 1000);
    // Move the reference to 10_500.
    let a = rest(&mut h, C, 1, SELL, 10_500, 1000);
    h.run(B, ioc(3, BUY, 10_500, 1000));
    assert_eq!(h.eng.order(a), None);
    assert_eq!(reference_price(&h), 10_500);
    // Sell limit = ceil(10_500 * 8_995 / 10_000 / 10) * 10 = ceil(944.475) * 10 = 9_450.
    let ev = h.run(A, no(1, SELL, OrderType::Market, TimeInForce::Ioc, StpMode::None, 0, 3000));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 5, 1, SELL, OrderType::Market, TimeInForce::Ioc, 0, 3000),
            ev_trade(2, 9_450, 1000, SELL, (b1, B, 1, 0), (5, A, 1, 2000)),
            ev_lc(BUY, 9_450, 0, 0),
            ev_cx(A, 5, 1, SELL, 2000, 1000, CR::ImmediateRemainder),
        ]
    );
    assert_eq!(h.queue(BUY), vec![b2]);
}

#[test]
fn market_sell_limit_saturates_at_one_tick() {
    let mut s = spec(INST);
    s.price_band_bps = 20_000; // ref * (10_000 - bps) saturates at 0 -> limit = tick
    s.min_notional = 0;
    let mut h = Harness::with(EngineConfig::small(), &[s]);
    let b1 = rest(&mut h, B, 1, BUY, 10, 1000);
    let ev = h.run(A, market(1, SELL, 1000));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 2, 1, SELL, OrderType::Market, TimeInForce::Ioc, 0, 1000),
            ev_trade(1, 10, 1000, SELL, (b1, B, 1, 0), (2, A, 1, 0)),
            ev_lc(BUY, 10, 0, 0),
        ]
    );
    // Market with an empty opposite side: accepted then cancelled whole.
    let ev = h.run(A, market(2, BUY, 300));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 3, 2, BUY, OrderType::Market, TimeInForce::Ioc, 0, 300),
            ev_cx(A, 3, 2, BUY, 300, 0, CR::ImmediateRemainder),
        ]
    );
}

#[test]
fn market_fok_uses_market_limit() {
    let mut h = Harness::new();
    let a1 = rest(&mut h, B, 1, SELL, 11_000, 1000);
    let fokm = |cid, qty| no(cid, BUY, OrderType::Market, TimeInForce::Fok, StpMode::None, 0, qty);
    h.expect_reject(A, fokm(1, 1100), ev_rej_new(A, 1, RR::FokCannotFill));
    let ev = h.run(A, fokm(1, 1000));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 2, 1, BUY, OrderType::Market, TimeInForce::Fok, 0, 1000),
            ev_trade(1, 11_000, 1000, BUY, (a1, B, 1, 0), (2, A, 1, 0)),
            ev_lc(SELL, 11_000, 0, 0),
        ]
    );
}

#[test]
fn fok_all_or_nothing() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, B, 1, SELL, 10_000, 1000);
    let o2 = rest(&mut h, C, 1, SELL, 10_010, 1000);
    rest(&mut h, B, 2, SELL, 10_020, 1000);
    // Beyond what crosses its limit: rejected before any fill.
    h.expect_reject(A, fok(1, BUY, StpMode::None, 10_010, 2100), ev_rej_new(A, 1, RR::FokCannotFill));
    h.expect_reject(A, fok(1, BUY, StpMode::None, 10_000, 1100), ev_rej_new(A, 1, RR::FokCannotFill));
    assert_eq!(h.eng.next_ids(), (4, 1));
    // Exactly fillable across two levels.
    let ev = h.run(A, fok(1, BUY, StpMode::None, 10_010, 2000));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 4, 1, BUY, OrderType::Limit, TimeInForce::Fok, 10_010, 2000),
            ev_trade(1, 10_000, 1000, BUY, (o1, B, 1, 0), (4, A, 1, 1000)),
            ev_lc(SELL, 10_000, 0, 0),
            ev_trade(2, 10_010, 1000, BUY, (o2, C, 1, 0), (4, A, 1, 0)),
            ev_lc(SELL, 10_010, 0, 0),
        ]
    );
}

#[test]
fn fok_with_stp_cancel_taker_stops_the_walk() {
    let mut h = Harness::new();
    let own = rest(&mut h, A, 1, SELL, 10_000, 1000);
    let other = rest(&mut h, B, 1, SELL, 10_000, 1000);
    // The own order comes first: CancelTaker ends the walk with 0 fillable.
    h.expect_reject(A, fok(2, BUY, StpMode::CancelTaker, 10_000, 1000), ev_rej_new(A, 2, RR::FokCannotFill));
    h.expect_reject(A, fok(2, BUY, StpMode::CancelBoth, 10_000, 1000), ev_rej_new(A, 2, RR::FokCannotFill));
    // With STP off, the own order counts and trades.
    let ev = h.run(A, fok(2, BUY, StpMode::None, 10_000, 2000));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 3, 2, BUY, OrderType::Limit, TimeInForce::Fok, 10_000, 2000),
            ev_trade(1, 10_000, 1000, BUY, (own, A, 1, 0), (3, A, 2, 1000)),
            ev_trade(2, 10_000, 1000, BUY, (other, B, 1, 0), (3, A, 2, 0)),
            ev_lc(SELL, 10_000, 0, 0),
        ]
    );
}

#[test]
fn fok_with_stp_cancel_maker_skips_own_orders() {
    let mut h = Harness::new();
    let own = rest(&mut h, A, 1, SELL, 10_000, 1000);
    let other = rest(&mut h, B, 1, SELL, 10_000, 1000);
    // Own order contributes nothing: 1_000 fillable.
    h.expect_reject(A, fok(2, BUY, StpMode::CancelMaker, 10_000, 1500), ev_rej_new(A, 2, RR::FokCannotFill));
    let ev = h.run(A, fok(2, BUY, StpMode::CancelMaker, 10_000, 1000));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 3, 2, BUY, OrderType::Limit, TimeInForce::Fok, 10_000, 1000),
            ev_stp(A, own, 3, StpMode::CancelMaker, 1000),
            ev_cx(A, own, 1, SELL, 1000, 0, CR::SelfTrade),
            ev_trade(1, 10_000, 1000, BUY, (other, B, 1, 0), (3, A, 2, 0)),
            ev_lc(SELL, 10_000, 0, 0),
        ]
    );
}

#[test]
fn fok_with_stp_cancel_both_fills_before_own_order() {
    let mut h = Harness::new();
    let other = rest(&mut h, B, 1, SELL, 10_000, 1000);
    let own = rest(&mut h, A, 1, SELL, 10_010, 1000);
    rest(&mut h, B, 2, SELL, 10_010, 1000);
    // 1_000 before the own order; the walk ends there.
    h.expect_reject(A, fok(2, BUY, StpMode::CancelBoth, 10_010, 1500), ev_rej_new(A, 2, RR::FokCannotFill));
    let ev = h.run(A, fok(2, BUY, StpMode::CancelBoth, 10_010, 1000));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 4, 2, BUY, OrderType::Limit, TimeInForce::Fok, 10_010, 1000),
            ev_trade(1, 10_000, 1000, BUY, (other, B, 1, 0), (4, A, 2, 0)),
            ev_lc(SELL, 10_000, 0, 0),
        ]
    );
    assert!(h.eng.order(own).is_some());
}

#[test]
fn post_only_rejected_if_it_would_take() {
    let mut h = Harness::new();
    rest(&mut h, B, 1, SELL, 10_000, 1000);
    rest(&mut h, B, 2, BUY, 9_900, 1000);
    h.expect_reject(A, post(1, BUY, 10_000, 1000), ev_rej_new(A, 1, RR::PostOnlyWouldTake));
    h.expect_reject(A, post(1, BUY, 10_500, 1000), ev_rej_new(A, 1, RR::PostOnlyWouldTake));
    h.expect_reject(A, post(1, SELL, 9_900, 1000), ev_rej_new(A, 1, RR::PostOnlyWouldTake));
    // Crossing one's own order is still taking, whatever the STP mode.
    let k = no(3, SELL, OrderType::Limit, TimeInForce::PostOnly, StpMode::CancelMaker, 9_800, 1000);
    h.expect_reject(B, k, ev_rej_new(B, 3, RR::PostOnlyWouldTake));
    let ev = h.run(A, post(1, BUY, 9_990, 1000));
    assert_eq!(
        ev,
        vec![ev_acc(A, 3, 1, BUY, OrderType::Limit, TimeInForce::PostOnly, 9_990, 1000), ev_lc(BUY, 9_990, 1000, 1),]
    );
    assert_eq!(h.eng.order(3).unwrap().tif, TimeInForce::PostOnly);
    // Empty opposite side: rests.
    let ev = h.run(A, post(2, SELL, 10_050, 1000));
    assert_eq!(ev[1], ev_lc(SELL, 10_050, 1000, 1));
    assert_eq!(h.levels(SELL), vec![(10_000, 1000, 1), (10_050, 1000, 1)]);
}

// ===== Self-trade prevention ==================================================

/// Asks at 10_000: B 500 (id 1), A 1_000 (id 2), B 1_000 (id 3).
fn stp_book() -> Harness {
    let mut h = Harness::new();
    rest(&mut h, B, 1, SELL, 10_000, 500);
    rest(&mut h, A, 1, SELL, 10_000, 1000);
    rest(&mut h, B, 2, SELL, 10_000, 1000);
    h
}

#[test]
fn stp_none_trades_with_own_order() {
    let mut h = stp_book();
    let ev = h.run(A, gtc_stp(9, BUY, StpMode::None, 10_000, 2000));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(A, 4, 9, BUY, 10_000, 2000),
            ev_trade(1, 10_000, 500, BUY, (1, B, 1, 0), (4, A, 9, 1500)),
            ev_trade(2, 10_000, 1000, BUY, (2, A, 1, 0), (4, A, 9, 500)),
            ev_trade(3, 10_000, 500, BUY, (3, B, 2, 500), (4, A, 9, 0)),
            ev_lc(SELL, 10_000, 500, 1),
        ]
    );
}

#[test]
fn stp_cancel_taker() {
    let mut h = stp_book();
    let ev = h.run(A, gtc_stp(9, BUY, StpMode::CancelTaker, 10_000, 2000));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(A, 4, 9, BUY, 10_000, 2000),
            ev_trade(1, 10_000, 500, BUY, (1, B, 1, 0), (4, A, 9, 1500)),
            ev_stp(A, 2, 4, StpMode::CancelTaker, 1000),
            ev_lc(SELL, 10_000, 2000, 2),
            ev_cx(A, 4, 9, BUY, 1500, 500, CR::SelfTrade),
        ]
    );
    assert_eq!(h.queue(SELL), vec![2, 3]);
    assert!(h.levels(BUY).is_empty());
}

#[test]
fn stp_cancel_taker_on_untouched_level_emits_no_level_change() {
    let mut h = Harness::new();
    rest(&mut h, A, 1, SELL, 10_000, 1000);
    let ev = h.run(A, no(2, BUY, OrderType::Market, TimeInForce::Ioc, StpMode::CancelTaker, 0, 300));
    assert_eq!(
        ev,
        vec![
            ev_acc(A, 2, 2, BUY, OrderType::Market, TimeInForce::Ioc, 0, 300),
            ev_stp(A, 1, 2, StpMode::CancelTaker, 300),
            ev_cx(A, 2, 2, BUY, 300, 0, CR::SelfTrade),
        ]
    );
}

#[test]
fn stp_cancel_maker() {
    let mut h = stp_book();
    let ev = h.run(A, gtc_stp(9, BUY, StpMode::CancelMaker, 10_000, 2000));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(A, 4, 9, BUY, 10_000, 2000),
            ev_trade(1, 10_000, 500, BUY, (1, B, 1, 0), (4, A, 9, 1500)),
            ev_stp(A, 2, 4, StpMode::CancelMaker, 1000),
            ev_cx(A, 2, 1, SELL, 1000, 0, CR::SelfTrade),
            ev_trade(2, 10_000, 1000, BUY, (3, B, 2, 0), (4, A, 9, 500)),
            ev_lc(SELL, 10_000, 0, 0),
            ev_lc(BUY, 10_000, 500, 1),
        ]
    );
    assert_eq!(h.eng.order(4).unwrap().leaves, 500);
}

#[test]
fn stp_cancel_both() {
    let mut h = stp_book();
    let ev = h.run(A, gtc_stp(9, BUY, StpMode::CancelBoth, 10_000, 2000));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(A, 4, 9, BUY, 10_000, 2000),
            ev_trade(1, 10_000, 500, BUY, (1, B, 1, 0), (4, A, 9, 1500)),
            ev_stp(A, 2, 4, StpMode::CancelBoth, 1000),
            ev_cx(A, 2, 1, SELL, 1000, 0, CR::SelfTrade),
            ev_lc(SELL, 10_000, 1000, 1),
            ev_cx(A, 4, 9, BUY, 1500, 500, CR::SelfTrade),
        ]
    );
    assert_eq!(h.queue(SELL), vec![3]);
}

#[test]
fn stp_maker_partially_filled_reports_its_filled_qty() {
    let mut h = Harness::new();
    let own = rest(&mut h, A, 1, SELL, 10_000, 1000);
    h.run(B, market(1, BUY, 400));
    assert_eq!(h.eng.order(own).unwrap().leaves, 600);
    let ev = h.run(A, gtc_stp(2, BUY, StpMode::CancelMaker, 10_000, 700));
    assert_eq!(
        ev,
        vec![
            ev_acc_gtc(A, 3, 2, BUY, 10_000, 700),
            ev_stp(A, own, 3, StpMode::CancelMaker, 600),
            ev_cx(A, own, 1, SELL, 600, 400, CR::SelfTrade),
            ev_lc(SELL, 10_000, 0, 0),
            ev_lc(BUY, 10_000, 700, 1),
        ]
    );
}

// ===== Cancel =================================================================

#[test]
fn cancel_by_engine_id_and_client_id() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, A, 11, BUY, 10_000, 1000);
    let o2 = rest(&mut h, A, 12, BUY, 10_000, 2000);
    assert_eq!(h.run(A, cancel(eid(o1))), vec![ev_cx(A, o1, 11, BUY, 1000, 0, CR::User), ev_lc(BUY, 10_000, 2000, 1)]);
    assert_eq!(h.run(A, cancel(cid(12))), vec![ev_cx(A, o2, 12, BUY, 2000, 0, CR::User), ev_lc(BUY, 10_000, 0, 0)]);
    assert!(h.levels(BUY).is_empty());
    assert_eq!(h.eng.order(o1), None);
    assert!(h.eng.account_orders(A).is_empty());
    // Partially filled order reports its filled quantity.
    let o3 = rest(&mut h, A, 13, SELL, 10_000, 1000);
    h.run(B, market(1, BUY, 300));
    assert_eq!(h.run(A, cancel(eid(o3))), vec![ev_cx(A, o3, 13, SELL, 700, 300, CR::User), ev_lc(SELL, 10_000, 0, 0)]);
}

#[test]
fn cancel_rejects() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, A, 11, BUY, 10_000, 1000);
    h.expect_reject(B, cancel(eid(o1)), rej_cancel(B, 0, o1, RR::NotYourOrder));
    // By client id: looked up among the sender's orders only.
    h.expect_reject(B, cancel(cid(11)), rej_cancel(B, 11, 0, RR::UnknownOrder));
    h.expect_reject(A, cancel(eid(99)), rej_cancel(A, 0, 99, RR::UnknownOrder));
    h.expect_reject(A, cancel(eid(0)), rej_cancel(A, 0, 0, RR::UnknownOrder));
    h.expect_reject(A, cancel(cid(12)), rej_cancel(A, 12, 0, RR::UnknownOrder));
    let max = h.config.max_accounts;
    h.expect_reject(max, cancel(eid(o1)), rej_cancel(max, 0, o1, RR::UnknownAccount));
    // No longer live: cancelled, filled, or an IOC that never rested.
    h.run(A, cancel(eid(o1)));
    h.expect_reject(A, cancel(eid(o1)), rej_cancel(A, 0, o1, RR::UnknownOrder));
    h.expect_reject(A, cancel(cid(11)), rej_cancel(A, 11, 0, RR::UnknownOrder));
    let o2 = rest(&mut h, A, 14, SELL, 10_000, 1000);
    h.run(B, ioc(1, BUY, 10_000, 1000));
    h.expect_reject(A, cancel(eid(o2)), rej_cancel(A, 0, o2, RR::UnknownOrder));
    h.expect_reject(B, cancel(eid(o2 + 1)), rej_cancel(B, 0, o2 + 1, RR::UnknownOrder));
}

// ===== Amend ==================================================================

#[test]
fn amend_qty_decrease_keeps_priority() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, A, 1, BUY, 10_000, 1000);
    let o2 = rest(&mut h, B, 1, BUY, 10_000, 1000);
    let ev = h.run(A, amend(eid(o1), Some(600), None));
    assert_eq!(ev, vec![ev_am(A, o1, 1, BUY, 10_000, 600, 600, true), ev_lc(BUY, 10_000, 1600, 2)]);
    assert_eq!(h.queue(BUY), vec![o1, o2]);
    // With new_price equal to the current price, still a pure decrease.
    let ev = h.run(A, amend(cid(1), Some(500), Some(10_000)));
    assert_eq!(ev, vec![ev_am(A, o1, 1, BUY, 10_000, 500, 500, true), ev_lc(BUY, 10_000, 1500, 2)]);
    // o1 is still first.
    let ev = h.run(C, ioc(1, SELL, 10_000, 500));
    assert_eq!(ev[1], ev_trade(1, 10_000, 500, SELL, (o1, A, 1, 0), (3, C, 1, 0)));
}

#[test]
fn amend_partially_filled_qty_is_total_qty() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, A, 1, SELL, 10_000, 1000);
    h.run(B, market(1, BUY, 400));
    let ev = h.run(A, amend(eid(o1), Some(800), None));
    assert_eq!(ev, vec![ev_am(A, o1, 1, SELL, 10_000, 800, 400, true), ev_lc(SELL, 10_000, 400, 1)]);
    let v = h.eng.order(o1).unwrap();
    assert_eq!((v.qty, v.leaves), (800, 400));
    let ev = h.run(A, amend(eid(o1), Some(1500), None));
    assert_eq!(ev, vec![ev_am(A, o1, 1, SELL, 10_000, 1500, 1100, false), ev_lc(SELL, 10_000, 1100, 1)]);
}

#[test]
fn amend_qty_increase_loses_priority() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, A, 1, BUY, 10_000, 1000);
    let o2 = rest(&mut h, B, 1, BUY, 10_000, 1000);
    let ev = h.run(A, amend(eid(o1), Some(1500), None));
    assert_eq!(ev, vec![ev_am(A, o1, 1, BUY, 10_000, 1500, 1500, false), ev_lc(BUY, 10_000, 2500, 2)]);
    assert_eq!(h.queue(BUY), vec![o2, o1]);
    // Sole order at its level: it stays there.
    let o3 = rest(&mut h, C, 1, SELL, 10_100, 1000);
    let ev = h.run(C, amend(eid(o3), Some(2000), None));
    assert_eq!(ev, vec![ev_am(C, o3, 1, SELL, 10_100, 2000, 2000, false), ev_lc(SELL, 10_100, 2000, 1)]);
}

#[test]
fn amend_price_change_loses_priority() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, A, 1, BUY, 10_000, 1000);
    let o2 = rest(&mut h, B, 1, BUY, 10_000, 1000);
    let o3 = rest(&mut h, C, 1, BUY, 9_990, 1000);
    let ev = h.run(A, amend(eid(o1), None, Some(9_990)));
    assert_eq!(
        ev,
        vec![ev_am(A, o1, 1, BUY, 9_990, 1000, 1000, false), ev_lc(BUY, 10_000, 1000, 1), ev_lc(BUY, 9_990, 2000, 2),]
    );
    assert_eq!(h.queue(BUY), vec![o2, o3, o1]);
    // Price and qty together; the old level disappears.
    let ev = h.run(B, amend(eid(o2), Some(700), Some(9_980)));
    assert_eq!(
        ev,
        vec![ev_am(B, o2, 1, BUY, 9_980, 700, 700, false), ev_lc(BUY, 10_000, 0, 0), ev_lc(BUY, 9_980, 700, 1)]
    );
    assert_eq!(h.levels(BUY), vec![(9_990, 2000, 2), (9_980, 700, 1)]);
    // Moving back to the price it left does not restore priority.
    let ev = h.run(A, amend(eid(o1), None, Some(9_980)));
    assert_eq!(ev.len(), 3);
    assert_eq!(h.queue(BUY), vec![o3, o2, o1]);
}

#[test]
fn amend_price_that_crosses_trades_at_maker_price() {
    let mut h = Harness::new();
    let a1 = rest(&mut h, B, 1, SELL, 10_010, 500);
    let a2 = rest(&mut h, B, 2, SELL, 10_020, 1000);
    let o1 = rest(&mut h, A, 1, BUY, 10_000, 1000);
    let o2 = rest(&mut h, C, 1, BUY, 10_000, 1000);
    let ev = h.run(A, amend(eid(o1), None, Some(10_030)));
    assert_eq!(
        ev,
        vec![
            ev_am(A, o1, 1, BUY, 10_030, 1000, 1000, false),
            ev_lc(BUY, 10_000, 1000, 1),
            ev_trade(1, 10_010, 500, BUY, (a1, B, 1, 0), (o1, A, 1, 500)),
            ev_lc(SELL, 10_010, 0, 0),
            ev_trade(2, 10_020, 500, BUY, (a2, B, 2, 500), (o1, A, 1, 0)),
            ev_lc(SELL, 10_020, 500, 1),
        ]
    );
    // Fully filled by its amend: gone, no further event.
    assert_eq!(h.eng.order(o1), None);
    assert!(h.eng.account_orders(A).is_empty());
    assert_eq!(reference_price(&h), 10_020);
    // Partial fill: the remainder rests at the new price; its qty stays the amended total.
    let ev = h.run(C, amend(eid(o2), Some(1500), Some(10_020)));
    assert_eq!(
        ev,
        vec![
            ev_am(C, o2, 1, BUY, 10_020, 1500, 1500, false),
            ev_lc(BUY, 10_000, 0, 0),
            ev_trade(3, 10_020, 500, BUY, (a2, B, 2, 0), (o2, C, 1, 1000)),
            ev_lc(SELL, 10_020, 0, 0),
            ev_lc(BUY, 10_020, 1000, 1),
        ]
    );
    let v = h.eng.order(o2).unwrap();
    assert_eq!((v.price, v.qty, v.leaves), (10_020, 1500, 1000));
    // Its later cancel reports the fills over its whole life.
    assert_eq!(h.run(C, cancel(eid(o2))), vec![ev_cx(C, o2, 1, BUY, 1000, 500, CR::User), ev_lc(BUY, 10_020, 0, 0)]);
}

#[test]
fn amend_price_cross_applies_its_own_stp_mode() {
    let mut h = Harness::new();
    let own_ask = rest(&mut h, A, 1, SELL, 10_010, 1000);
    let bid = rest_with(&mut h, A, 2, BUY, 10_000, 1000, StpMode::CancelTaker);
    let ev = h.run(A, amend(eid(bid), None, Some(10_010)));
    assert_eq!(
        ev,
        vec![
            ev_am(A, bid, 2, BUY, 10_010, 1000, 1000, false),
            ev_lc(BUY, 10_000, 0, 0),
            ev_stp(A, own_ask, bid, StpMode::CancelTaker, 1000),
            ev_cx(A, bid, 2, BUY, 1000, 0, CR::SelfTrade),
        ]
    );
    assert_eq!(h.eng.order(bid), None);
    assert_eq!(h.eng.account_orders(A).len(), 1);
    // CancelMaker: the maker goes, the amended order rests.
    let bid2 = rest_with(&mut h, A, 3, BUY, 10_000, 1000, StpMode::CancelMaker);
    let ev = h.run(A, amend(eid(bid2), None, Some(10_010)));
    assert_eq!(
        ev,
        vec![
            ev_am(A, bid2, 3, BUY, 10_010, 1000, 1000, false),
            ev_lc(BUY, 10_000, 0, 0),
            ev_stp(A, own_ask, bid2, StpMode::CancelMaker, 1000),
            ev_cx(A, own_ask, 1, SELL, 1000, 0, CR::SelfTrade),
            ev_lc(SELL, 10_010, 0, 0),
            ev_lc(BUY, 10_010, 1000, 1),
        ]
    );
}

#[test]
fn amend_to_at_most_filled_cancels() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, A, 1, SELL, 10_000, 1000);
    rest(&mut h, A, 2, SELL, 10_000, 1000);
    h.run(B, market(1, BUY, 400));
    // 350 is off-lot but step 4 (<= filled) comes before the lot check.
    let ev = h.run(A, amend(eid(o1), Some(350), Some(10_005)));
    assert_eq!(ev, vec![ev_cx(A, o1, 1, SELL, 600, 400, CR::User), ev_lc(SELL, 10_000, 1000, 1)]);
    // Exactly the filled qty, and zero.
    let o3 = rest(&mut h, A, 3, SELL, 10_010, 1000);
    let ev = h.run(A, amend(cid(3), Some(0), None));
    assert_eq!(ev, vec![ev_cx(A, o3, 3, SELL, 1000, 0, CR::User), ev_lc(SELL, 10_010, 0, 0)]);
    let o4 = rest(&mut h, A, 4, BUY, 9_000, 1000);
    // Market: no notional check (9_000 * 300 / 100 is below the minimum); limit 9_000.
    h.run(B, market(2, SELL, 300));
    let ev = h.run(A, amend(eid(o4), Some(300), None));
    assert_eq!(ev, vec![ev_cx(A, o4, 4, BUY, 700, 300, CR::User), ev_lc(BUY, 9_000, 0, 0)]);
}

#[test]
fn amend_validation() {
    let mut h = Harness::new();
    let o1 = rest(&mut h, A, 1, BUY, 10_000, 1000);
    let p1 = rest_with(&mut h, A, 2, BUY, 9_900, 1000, StpMode::None);
    let ask = rest(&mut h, B, 1, SELL, 10_100, 1000);
    let max = h.config.max_accounts;
    let r = |reason| rej_amend(A, 0, o1, INST, reason);
    h.expect_reject(max, amend(eid(o1), Some(500), None), rej_amend(max, 0, o1, 0, RR::UnknownAccount));
    h.expect_reject(A, amend(eid(77), Some(500), None), rej_amend(A, 0, 77, 0, RR::UnknownOrder));
    h.expect_reject(A, amend(cid(77), Some(500), None), rej_amend(A, 77, 0, 0, RR::UnknownOrder));
    h.expect_reject(B, amend(eid(o1), Some(500), None), rej_amend(B, 0, o1, 0, RR::NotYourOrder));
    h.expect_reject(B, amend(cid(2), Some(500), None), rej_amend(B, 2, 0, 0, RR::UnknownOrder));
    h.expect_reject(A, amend(eid(o1), None, None), r(RR::InvalidField));
    h.expect_reject(A, amend(eid(o1), None, Some(10_005)), r(RR::PriceOffTick));
    h.expect_reject(A, amend(eid(o1), None, Some(0)), r(RR::PriceOffTick));
    // PriceOffTick before QtyOffLot.
    h.expect_reject(A, amend(eid(o1), Some(1050), Some(10_005)), r(RR::PriceOffTick));
    h.expect_reject(A, amend(eid(o1), Some(1050), None), r(RR::QtyOffLot));
    h.expect_reject(A, amend(eid(o1), Some(100_100), None), r(RR::QtyOutOfRange));
    // Nothing changes.
    h.expect_reject(A, amend(eid(o1), Some(1000), None), r(RR::InvalidField));
    h.expect_reject(A, amend(eid(o1), None, Some(10_000)), r(RR::InvalidField));
    h.expect_reject(A, amend(cid(1), Some(1000), Some(10_000)), rej_amend(A, 1, 0, INST, RR::InvalidField));
    // 10_000 * 400 / 100 = 40_000 < 50_000, also when the price moves.
    h.expect_reject(A, amend(eid(o1), Some(400), None), r(RR::BelowMinNotional));
    h.expect_reject(A, amend(eid(o1), None, Some(4_000)), r(RR::BelowMinNotional));
    // BelowMinNotional before OutsidePriceBand.
    h.expect_reject(A, amend(eid(o1), Some(200), Some(20_000)), r(RR::BelowMinNotional));
    h.expect_reject(A, amend(eid(o1), None, Some(11_010)), r(RR::OutsidePriceBand));
    h.expect_reject(A, amend(eid(o1), None, Some(8_990)), r(RR::OutsidePriceBand));
    // Post-only: a new price crossing the opposite best.
    let po = h.eng.next_ids().0;
    h.run(A, post(3, BUY, 9_950, 1000));
    let rp = |reason| rej_amend(A, 0, po, INST, reason);
    h.expect_reject(A, amend(eid(po), None, Some(10_100)), rp(RR::PostOnlyWouldTake));
    h.expect_reject(A, amend(eid(po), Some(2000), Some(10_200)), rp(RR::PostOnlyWouldTake));
    // Below the ask it is fine, and a GTC may cross.
    let ev = h.run(A, amend(eid(po), None, Some(10_090)));
    assert_eq!(ev[0], ev_am(A, po, 3, BUY, 10_090, 1000, 1000, false));
    let ev = h.run(A, amend(eid(p1), None, Some(10_100)));
    assert_eq!(ev[2], ev_trade(1, 10_100, 1000, BUY, (ask, B, 1, 0), (p1, A, 2, 0)));
}

#[test]
fn amend_band_checked_only_when_price_changes() {
    let mut h = Harness::new();
    let low = rest(&mut h, A, 1, BUY, 9_000, 1000);
    // Reference to 10_100: 9_000 is now outside the band (1_100 * 10_000 > 10_100 * 1_000).
    rest(&mut h, B, 1, SELL, 10_100, 1000);
    h.run(C, ioc(1, BUY, 10_100, 1000));
    assert_eq!(reference_price(&h), 10_100);
    let ev = h.run(A, amend(eid(low), Some(800), None));
    assert_eq!(ev, vec![ev_am(A, low, 1, BUY, 9_000, 800, 800, true), ev_lc(BUY, 9_000, 800, 1)]);
    let ev = h.run(A, amend(eid(low), Some(900), None));
    assert_eq!(ev, vec![ev_am(A, low, 1, BUY, 9_000, 900, 900, false), ev_lc(BUY, 9_000, 900, 1)]);
    h.expect_reject(A, amend(eid(low), None, Some(9_080)), rej_amend(A, 0, low, INST, RR::OutsidePriceBand));
    let ev = h.run(A, amend(eid(low), None, Some(9_090)));
    assert_eq!(ev[0], ev_am(A, low, 1, BUY, 9_090, 900, 900, false));
}

// ===== Mass cancel ============================================================

#[test]
fn mass_cancel_filters_and_order() {
    let inst2 = 2;
    let mut s2 = spec(inst2);
    s2.symbol = sym("ETH-USDT");
    let lc2 = |side, price, qty, n| {
        EventKind::LevelChanged(LevelChanged { instrument: inst2, side, price, qty, order_count: n })
    };
    let cx2 = |oid, cid, side, q| {
        EventKind::Cancelled(Cancelled {
            account: A,
            order_id: oid,
            client_order_id: cid,
            instrument: inst2,
            side,
            cancelled_qty: q,
            filled_qty: 0,
            reason: CR::MassCancel,
        })
    };
    let setup = || {
        let mut h = Harness::with(EngineConfig::small(), &[spec(INST), s2]);
        rest(&mut h, A, 1, BUY, 10_000, 1000); // 1
        rest(&mut h, A, 2, SELL, 10_100, 1000); // 2
        let ev = h.run(A, with_inst(gtc(3, BUY, 10_000, 1000), inst2)); // 3
        assert_eq!(ev[1], lc2(BUY, 10_000, 1000, 1));
        rest(&mut h, B, 1, BUY, 10_000, 1000); // 4
        rest(&mut h, A, 4, BUY, 9_990, 1000); // 5
        let ev = h.run(A, with_inst(gtc(5, SELL, 10_100, 1000), inst2)); // 6
        assert_eq!(ev.len(), 2);
        // Re-queue order 1 behind B's: mass cancel still goes by order id.
        h.run(A, amend(eid(1), Some(1100), None));
        assert_eq!(h.queue(BUY), vec![4, 1, 5]);
        h
    };
    let mc = |inst, side| mass(inst, side);

    let mut h = setup();
    let ev = h.run(A, mc(None, None));
    assert_eq!(
        ev,
        vec![
            ev_cx(A, 1, 1, BUY, 1100, 0, CR::MassCancel),
            ev_lc(BUY, 10_000, 1000, 1),
            ev_cx(A, 2, 2, SELL, 1000, 0, CR::MassCancel),
            ev_lc(SELL, 10_100, 0, 0),
            cx2(3, 3, BUY, 1000),
            lc2(BUY, 10_000, 0, 0),
            ev_cx(A, 5, 4, BUY, 1000, 0, CR::MassCancel),
            ev_lc(BUY, 9_990, 0, 0),
            cx2(6, 5, SELL, 1000),
            lc2(SELL, 10_100, 0, 0),
            ev_mc(A, 5),
        ]
    );
    assert_eq!(h.queue(BUY), vec![4]);
    // Nothing left: count 0.
    assert_eq!(h.run(A, mc(None, None)), vec![ev_mc(A, 0)]);

    let mut h = setup();
    let ev = h.run(A, mc(Some(inst2), None));
    assert_eq!(
        ev,
        vec![cx2(3, 3, BUY, 1000), lc2(BUY, 10_000, 0, 0), cx2(6, 5, SELL, 1000), lc2(SELL, 10_100, 0, 0), ev_mc(A, 2)]
    );

    let mut h = setup();
    let ev = h.run(A, mc(None, Some(BUY)));
    assert_eq!(
        ev,
        vec![
            ev_cx(A, 1, 1, BUY, 1100, 0, CR::MassCancel),
            ev_lc(BUY, 10_000, 1000, 1),
            cx2(3, 3, BUY, 1000),
            lc2(BUY, 10_000, 0, 0),
            ev_cx(A, 5, 4, BUY, 1000, 0, CR::MassCancel),
            ev_lc(BUY, 9_990, 0, 0),
            ev_mc(A, 3),
        ]
    );

    let mut h = setup();
    let ev = h.run(A, mc(Some(INST), Some(SELL)));
    assert_eq!(ev, vec![ev_cx(A, 2, 2, SELL, 1000, 0, CR::MassCancel), ev_lc(SELL, 10_100, 0, 0), ev_mc(A, 1)]);

    let mut h = setup();
    let rej = |acct, inst, reason| ev_rej(acct, CommandType::MassCancel, 0, 0, inst, reason);
    h.expect_reject(A, mc(Some(9), None), rej(A, 9, RR::UnknownInstrument));
    let max = h.config.max_accounts;
    h.expect_reject(max, mc(Some(9), None), rej(max, 9, RR::UnknownAccount));
    h.expect_reject(max, mc(None, None), rej(max, 0, RR::UnknownAccount));
    // Another account with no orders.
    assert_eq!(h.run(C, mc(None, None)), vec![ev_mc(C, 0)]);
}

// ===== Instrument states ======================================================

#[test]
fn halted_and_cancel_only_reject_new_and_amend_allow_cancel() {
    for state in [InstrumentState::Halted, InstrumentState::CancelOnly] {
        let mut h = Harness::new();
        let o1 = rest(&mut h, A, 1, BUY, 10_000, 1000);
        let o2 = rest(&mut h, A, 2, BUY, 9_990, 1000);
        rest(&mut h, B, 1, BUY, 9_980, 1000);
        let ev = h.run(0, set_state(INST, state));
        assert_eq!(
            ev,
            vec![EventKind::InstrumentStateChanged(InstrumentStateChanged { account: 0, instrument: INST, state })]
        );
        assert_eq!(h.eng.instrument(INST).unwrap().state, state);
        assert_eq!(h.eng.live_orders(), 3, "resting orders are kept");
        h.expect_reject(C, gtc(1, SELL, 10_000, 1000), ev_rej_new(C, 1, RR::InstrumentNotTrading));
        h.expect_reject(C, market(1, SELL, 100), ev_rej_new(C, 1, RR::InstrumentNotTrading));
        // InstrumentNotTrading (3) before InvalidField (4).
        let bad = no(1, SELL, OrderType::Market, TimeInForce::Gtc, StpMode::None, 5, 100);
        h.expect_reject(C, bad, ev_rej_new(C, 1, RR::InstrumentNotTrading));
        h.expect_reject(A, amend(eid(o1), Some(500), None), rej_amend(A, 0, o1, INST, RR::InstrumentNotTrading));
        // Even an amend that would cancel.
        h.expect_reject(A, amend(eid(o1), Some(0), None), rej_amend(A, 0, o1, INST, RR::InstrumentNotTrading));
        // InvalidField (2) comes before InstrumentNotTrading (3).
        h.expect_reject(A, amend(eid(o1), None, None), rej_amend(A, 0, o1, INST, RR::InvalidField));
        assert_eq!(h.run(A, cancel(eid(o1))), vec![ev_cx(A, o1, 1, BUY, 1000, 0, CR::User), ev_lc(BUY, 10_000, 0, 0)]);
        assert_eq!(
            h.run(A, mass(Some(INST), None)),
            vec![ev_cx(A, o2, 2, BUY, 1000, 0, CR::MassCancel), ev_lc(BUY, 9_990, 0, 0), ev_mc(A, 1)]
        );
        // Back to trading.
        h.run(0, set_state(INST, InstrumentState::Trading));
        let ev = h.run(C, gtc(1, SELL, 9_980, 1000));
        assert_eq!(ev[1], ev_trade(1, 9_980, 1000, SELL, (3, B, 1, 0), (4, C, 1, 0)));
    }
}

#[test]
fn closing_cancels_every_resting_order_in_documented_order() {
    let mut h = Harness::new();
    rest(&mut h, A, 1, BUY, 9_990, 1000); // 1
    rest(&mut h, B, 1, BUY, 10_000, 1000); // 2
    rest(&mut h, C, 1, BUY, 9_990, 2000); // 3
    rest(&mut h, A, 2, SELL, 10_020, 1000); // 4
    rest(&mut h, B, 2, SELL, 10_010, 1000); // 5
    rest(&mut h, C, 2, SELL, 10_010, 500); // 6
                                           // Partial fill on 2 and re-queue of 1 behind 3.
    h.run(A, market(3, SELL, 400)); // 7
    h.run(A, amend(eid(1), Some(1500), None));
    let ev = h.run(0, set_state(INST, InstrumentState::Closed));
    let cx = |acct, oid, cid, side, q, f| ev_cx(acct, oid, cid, side, q, f, CR::InstrumentState);
    assert_eq!(
        ev,
        vec![
            EventKind::InstrumentStateChanged(InstrumentStateChanged {
                account: 0,
                instrument: INST,
                state: InstrumentState::Closed
            }),
            cx(B, 2, 1, BUY, 600, 400),
            ev_lc(BUY, 10_000, 0, 0),
            cx(C, 3, 1, BUY, 2000, 0),
            cx(A, 1, 1, BUY, 1500, 0),
            ev_lc(BUY, 9_990, 0, 0),
            cx(B, 5, 2, SELL, 1000, 0),
            cx(C, 6, 2, SELL, 500, 0),
            ev_lc(SELL, 10_010, 0, 0),
            cx(A, 4, 2, SELL, 1000, 0),
            ev_lc(SELL, 10_020, 0, 0),
        ]
    );
    assert_eq!(h.eng.live_orders(), 0);
    assert!(h.eng.account_orders(A).is_empty());
    // Final.
    let rej = |state, reason| (set_state(INST, state), ev_rej(0, CommandType::SetInstrumentState, 0, 0, INST, reason));
    for state in
        [InstrumentState::Trading, InstrumentState::Halted, InstrumentState::CancelOnly, InstrumentState::Closed]
    {
        let (k, e) = rej(state, RR::InvalidStateTransition);
        h.expect_reject(0, k, e);
    }
    h.expect_reject(A, gtc(9, BUY, 10_000, 1000), ev_rej_new(A, 9, RR::InstrumentNotTrading));
    h.expect_reject(A, cancel(eid(1)), rej_cancel(A, 0, 1, RR::UnknownOrder));
    assert_eq!(h.run(A, mass(Some(INST), None)), vec![ev_mc(A, 0)]);
    // An empty book closes with the state change only.
    let mut h2 = Harness::new();
    let ev = h2.run(0, set_state(INST, InstrumentState::Closed));
    assert_eq!(ev.len(), 1);
}

#[test]
fn set_instrument_state_rejects() {
    let mut h = Harness::new();
    let rej = |inst, reason| ev_rej(0, CommandType::SetInstrumentState, 0, 0, inst, reason);
    h.expect_reject(0, set_state(5, InstrumentState::Halted), rej(5, RR::UnknownInstrument));
    h.expect_reject(0, set_state(INST, InstrumentState::Trading), rej(INST, RR::InvalidStateTransition));
    h.run(0, set_state(INST, InstrumentState::Halted));
    h.expect_reject(0, set_state(INST, InstrumentState::Halted), rej(INST, RR::InvalidStateTransition));
    h.run(0, set_state(INST, InstrumentState::CancelOnly));
    h.run(0, set_state(INST, InstrumentState::Halted));
    h.run(0, set_state(INST, InstrumentState::Closed));
    assert_eq!(h.eng.instrument(INST).unwrap().state, InstrumentState::Closed);
}

// ===== AddInstrument ==========================================================

#[test]
fn add_instrument_validation() {
    let mut h = Harness::new(); // small(): max_instruments 64; INST exists.
    let rej = |id, reason| ev_rej(0, CommandType::AddInstrument, 0, 0, id, reason);
    let base = spec(2);
    let mut cases: Vec<(&str, InstrumentSpec)> = Vec::new();
    let mut m = |name, f: &dyn Fn(&mut InstrumentSpec)| {
        let mut s = base;
        f(&mut s);
        cases.push((name, s));
    };
    m("empty symbol", &|s| s.symbol = [0; SYMBOL_MAX_BYTES]);
    m("leading NUL", &|s| s.symbol = *b"\0BC\0\0\0\0\0\0\0\0\0\0\0\0\0");
    m("DEL byte", &|s| s.symbol[2] = 0x7f);
    m("non-ASCII", &|s| s.symbol[0] = 0xC3);
    m("control byte", &|s| s.symbol[1] = b'\n');
    m("tick 0", &|s| s.tick = 0);
    m("lot 0", &|s| s.lot = 0);
    m("qty_scale 0", &|s| s.qty_scale = 0);
    m("min_qty 0", &|s| s.min_qty = 0);
    m("min_qty off lot", &|s| s.min_qty = 150);
    m("min > max", &|s| s.max_qty = 50);
    m("reference 0", &|s| s.reference_price = 0);
    m("reference off tick", &|s| s.reference_price = 10_005);
    for (name, s) in cases {
        eprintln!("case {name}");
        h.expect_reject(0, CommandKind::AddInstrument(s), rej(2, RR::InvalidInstrument));
    }
    // Id bound first, then existence, then the rest.
    let max = h.config.max_instruments;
    h.expect_reject(0, CommandKind::AddInstrument(spec(max)), rej(max, RR::InvalidInstrument));
    let mut s = spec(INST);
    s.tick = 0;
    h.expect_reject(0, CommandKind::AddInstrument(s), rej(INST, RR::InstrumentExists));
    h.expect_reject(0, CommandKind::AddInstrument(spec(INST)), rej(INST, RR::InstrumentExists));
    // Valid edge values: 16-char symbol, min == max, zero band and notional, id max-1.
    let mut s = spec(max - 1);
    s.symbol = *b"ABCDEFGHIJKLMNOP";
    s.min_qty = 300;
    s.max_qty = 300;
    s.price_band_bps = 0;
    s.min_notional = 0;
    let ev = h.run(7, CommandKind::AddInstrument(s));
    assert_eq!(ev, vec![EventKind::InstrumentAdded(InstrumentAdded { account: 7, spec: s, perpetual: false })]);
    let v = h.eng.instrument(max - 1).unwrap();
    assert_eq!((v.spec, v.state, v.reference_price), (s, InstrumentState::Trading, 10_000));
    assert_eq!(h.eng.instrument_ids().collect::<Vec<_>>(), vec![INST, max - 1]);
}

#[test]
fn ten_thousand_instruments_in_one_engine() {
    const N: u32 = 10_001;
    let cfg = EngineConfig {
        max_orders: 1024,
        max_instruments: N,
        max_accounts: 8,
        max_open_orders_per_account: 100,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(cfg);
    let mut out = Vec::new();
    let mut seq = 0;
    for id in 0..N {
        let mut s = spec(id);
        s.symbol = sym(&format!("S{id}-USDT"));
        s.reference_price = 10_000 + 10 * (id as u64 % 7);
        seq += 1;
        out.clear();
        e.apply(seq, &Command { account: 0, timestamp_ns: TS, kind: CommandKind::AddInstrument(s) }, &mut out);
        assert_eq!(
            out,
            vec![Event {
                seq,
                kind: EventKind::InstrumentAdded(InstrumentAdded { account: 0, spec: s, perpetual: false })
            }]
        );
    }
    assert_eq!(e.instrument_ids().count(), N as usize);
    let last = N - 1;
    let p = e.instrument(last).unwrap().reference_price;
    assert_eq!(p, 10_000 + 10 * (last as u64 % 7));
    seq += 1;
    out.clear();
    e.apply(seq, &Command { account: 1, timestamp_ns: TS, kind: with_inst(gtc(1, SELL, p, 1000), last) }, &mut out);
    assert_eq!(out.len(), 2);
    seq += 1;
    out.clear();
    e.apply(seq, &Command { account: 2, timestamp_ns: TS, kind: with_inst(gtc(1, BUY, p, 600), last) }, &mut out);
    let t = Trade {
        trade_id: 1,
        instrument: last,
        price: p,
        qty: 600,
        taker_side: BUY,
        maker_order_id: 1,
        maker_account: 1,
        maker_client_order_id: 1,
        maker_leaves: 400,
        taker_order_id: 2,
        taker_account: 2,
        taker_client_order_id: 1,
        taker_leaves: 0,
        timestamp_ns: TS,
        maker_fee: 0,
        taker_fee: 0,
    };
    let lc = LevelChanged { instrument: last, side: SELL, price: p, qty: 400, order_count: 1 };
    assert_eq!(out.iter().map(|e| e.kind).collect::<Vec<_>>()[1..], [EventKind::Trade(t), EventKind::LevelChanged(lc)]);
    assert!(out.iter().all(|ev| ev.seq == seq));
    assert_eq!(e.levels(last, SELL), vec![LevelView { price: p, qty: 400, order_count: 1 }]);
    assert!(e.levels(last - 1, SELL).is_empty());
    // An instrument id at the bound is refused.
    seq += 1;
    out.clear();
    e.apply(seq, &Command { account: 0, timestamp_ns: TS, kind: CommandKind::AddInstrument(spec(N)) }, &mut out);
    assert!(matches!(out[0].kind, EventKind::Rejected(Rejected { reason: RR::InvalidInstrument, .. })));
}

// ===== Reference price, seq, timestamps =======================================

#[test]
fn reference_price_follows_last_trade_and_band_follows_it() {
    let mut h = Harness::new();
    assert_eq!(reference_price(&h), 10_000);
    // 11_050 is outside the band around 10_000.
    h.expect_reject(A, gtc(1, BUY, 11_050, 1000), ev_rej_new(A, 1, RR::OutsidePriceBand));
    // A resting order or a cancel does not move it.
    rest(&mut h, B, 1, SELL, 10_050, 1000);
    rest(&mut h, B, 2, SELL, 10_100, 1000);
    assert_eq!(reference_price(&h), 10_000);
    // A sweep: the last trade's price.
    h.run(C, ioc(1, BUY, 10_100, 1500));
    assert_eq!(reference_price(&h), 10_100);
    // Band now 9_090..=11_110.
    rest(&mut h, A, 1, BUY, 9_090, 1000);
    h.expect_reject(A, gtc(2, BUY, 9_080, 1000), ev_rej_new(A, 2, RR::OutsidePriceBand));
    rest(&mut h, A, 2, SELL, 11_110, 1000);
    h.expect_reject(A, gtc(3, SELL, 11_120, 1000), ev_rej_new(A, 3, RR::OutsidePriceBand));
    // Reference price is per instrument and the spec's stays as added.
    assert_eq!(h.eng.instrument(INST).unwrap().spec.reference_price, 10_000);
}

#[test]
fn every_event_carries_its_command_seq_and_timestamp() {
    let mut e = Engine::new(EngineConfig::small());
    let mut out = Vec::new();
    let cmd = |account, ts, kind| Command { account, timestamp_ns: ts, kind };
    e.apply(10, &cmd(0, 1, CommandKind::AddInstrument(spec(INST))), &mut out);
    e.apply(11, &cmd(B, 2, gtc(1, SELL, 10_000, 1000)), &mut out);
    e.apply(12, &cmd(B, 3, gtc(2, SELL, 10_010, 1000)), &mut out);
    // Gaps in seq are allowed; every event of a command carries its seq.
    out.clear();
    e.apply(20, &cmd(A, 777, ioc(1, BUY, 10_010, 2500)), &mut out);
    assert_eq!(out.len(), 6);
    assert!(out.iter().all(|ev| ev.seq == 20), "{out:?}");
    match (out[0].kind, out[1].kind) {
        (EventKind::Accepted(a), EventKind::Trade(t)) => {
            assert_eq!((a.timestamp_ns, t.timestamp_ns), (777, 777), "events copy the taking command's time");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(e.last_seq(), 20);
    out.clear();
    e.apply(21, &cmd(A, 5, cancel(eid(42))), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].seq, 21);
    out.clear();
    e.apply(22, &cmd(A, 5, mass(None, None)), &mut out);
    assert_eq!(out, vec![Event { seq: 22, kind: ev_mc(A, 0) }]);
}
