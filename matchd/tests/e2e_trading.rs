//! Trading over the wire against the real matchd binary: every answer is checked field by field.
//! Each test runs its own matchd, so order ids and trade ids start at 1.

mod e2e_common;

use client::Client;
use e2e_common::*;
use engine::{
    Amend, Amended, CancelReason, Cancelled, CommandType, InstrumentSpec, InstrumentState, InstrumentStateChanged,
    MassCancel, MassCancelled, NewOrder, OrderRef, OrderType, RejectReason, Rejected, SelfTradePrevented, Side,
    StpMode, TimeInForce,
};
use protocol::{ExecReport, Fill, Liquidity, ServerMessage, SessionReject, SessionRejectReason};

/// Ten lots (0.0001 BTC): one lot at the reference price is below the minimum notional.
fn q(n: u64) -> u64 {
    n * 10 * BTC_LOT
}

const P: u64 = BTC_REF;

fn fill(r: ExecReport) -> Fill {
    match r {
        ExecReport::Fill(f) => f,
        other => panic!("expected Fill, got {other:?}"),
    }
}

/// Checks a fill against (order, trade id, price, qty, leaves, liquidity); account, instrument,
/// side and client order id come from the order's `OrderAccepted`.
fn assert_fill(r: ExecReport, a: &engine::Accepted, trade_id: u64, price: u64, qty: u64, leaves: u64, liq: Liquidity) {
    let f = fill(r);
    let want = Fill {
        account: a.account,
        order_id: a.order_id,
        client_order_id: a.client_order_id,
        trade_id,
        instrument: a.instrument,
        side: a.side,
        price,
        qty,
        leaves_qty: leaves,
        liquidity: liq,
        timestamp_ns: f.timestamp_ns,
        fee: 0,
        liquidation: false,
    };
    assert_eq!(f, want);
    assert!(f.timestamp_ns > 1_600_000_000_000_000_000, "{f:?}");
}

fn cancelled(a: &engine::Accepted, cancelled_qty: u64, filled_qty: u64, reason: CancelReason) -> ExecReport {
    ExecReport::Cancelled(Cancelled {
        account: a.account,
        order_id: a.order_id,
        client_order_id: a.client_order_id,
        instrument: a.instrument,
        side: a.side,
        cancelled_qty,
        filled_qty,
        reason,
    })
}

fn rejected(
    account: u32,
    command: CommandType,
    cid: u64,
    order_id: u64,
    instrument: u32,
    reason: RejectReason,
) -> ExecReport {
    ExecReport::Rejected(Rejected { account, command, client_order_id: cid, order_id, instrument, reason })
}

fn amended(a: &engine::Accepted, price: u64, qty: u64, leaves: u64, kept_priority: bool) -> ExecReport {
    ExecReport::Amended(Amended {
        account: a.account,
        order_id: a.order_id,
        client_order_id: a.client_order_id,
        instrument: a.instrument,
        side: a.side,
        price,
        qty,
        leaves,
        kept_priority,
    })
}

fn stp_order(cid: u64, side: Side, price: u64, qty: u64, stp: StpMode) -> NewOrder {
    NewOrder { stp, ..limit(cid, side, price, qty) }
}

fn start() -> (tempfile::TempDir, Matchd, Client, Client) {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_default(&dir.path().join("data"));
    let alice = m.trader(ALICE);
    let bob = m.trader(BOB);
    (dir, m, alice, bob)
}

fn finish(mut m: Matchd, mut clients: Vec<Client>) {
    for c in clients.iter_mut() {
        assert_quiet(c);
    }
    assert!(m.is_running());
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn partial_fills_on_both_sides_report_leaves() {
    let (_d, m, mut alice, mut bob) = start();
    let a1 = place(&mut alice, limit(1, Side::Sell, P, q(10)));
    assert_eq!(
        (a1.order_id, a1.account, a1.instrument, a1.order_type, a1.tif),
        (1, 1, BTC, OrderType::Limit, TimeInForce::Gtc)
    );

    // Bob takes 4 of Alice's 10.
    let b1 = place(&mut bob, limit(1, Side::Buy, P, q(4)));
    assert_fill(next_report(&mut bob).1, &b1, 1, P, q(4), 0, Liquidity::Taker);
    assert_fill(next_report(&mut alice).1, &a1, 1, P, q(4), q(6), Liquidity::Maker);

    // Bob wants 10 more: takes Alice's last 6 at her price, 4 rest at his.
    let b2 = place(&mut bob, limit(2, Side::Buy, px(100), q(10)));
    assert_fill(next_report(&mut bob).1, &b2, 2, P, q(6), q(4), Liquidity::Taker);
    assert_fill(next_report(&mut alice).1, &a1, 2, P, q(6), 0, Liquidity::Maker);

    // Alice sells 3 into Bob's resting remainder, at Bob's price.
    let a2 = place(&mut alice, limit(2, Side::Sell, px(50), q(3)));
    assert_fill(next_report(&mut alice).1, &a2, 3, px(100), q(3), 0, Liquidity::Taker);
    assert_fill(next_report(&mut bob).1, &b2, 3, px(100), q(3), q(1), Liquidity::Maker);

    bob.cancel(OrderRef::Client(2)).unwrap();
    assert_eq!(next_report(&mut bob).1, cancelled(&b2, q(1), q(9), CancelReason::User));
    // a1 is done: it cannot be cancelled any more.
    alice.cancel(OrderRef::Engine(a1.order_id)).unwrap();
    assert_eq!(
        next_report(&mut alice).1,
        rejected(1, CommandType::Cancel, 0, a1.order_id, 0, RejectReason::UnknownOrder)
    );
    finish(m, vec![alice, bob]);
}

#[test]
fn cancel_by_order_id_and_by_client_order_id() {
    let (_d, m, mut alice, mut bob) = start();
    let a1 = place(&mut alice, limit(11, Side::Buy, px(-100), q(5)));
    let a2 = place(&mut alice, limit(12, Side::Buy, px(-200), q(5)));

    alice.cancel(OrderRef::Engine(a1.order_id)).unwrap();
    assert_eq!(next_report(&mut alice).1, cancelled(&a1, q(5), 0, CancelReason::User));
    alice.cancel(OrderRef::Client(12)).unwrap();
    assert_eq!(next_report(&mut alice).1, cancelled(&a2, q(5), 0, CancelReason::User));

    // Both gone: cancelling again is refused, echoing the reference used.
    alice.cancel(OrderRef::Client(12)).unwrap();
    assert_eq!(next_report(&mut alice).1, rejected(1, CommandType::Cancel, 12, 0, 0, RejectReason::UnknownOrder));
    alice.cancel(OrderRef::Engine(a1.order_id)).unwrap();
    assert_eq!(
        next_report(&mut alice).1,
        rejected(1, CommandType::Cancel, 0, a1.order_id, 0, RejectReason::UnknownOrder)
    );

    // A partly filled order: the cancel reports the open and the filled quantity.
    let a3 = place(&mut alice, limit(13, Side::Sell, P, q(5)));
    let b1 = place(&mut bob, limit(1, Side::Buy, P, q(2)));
    assert_fill(next_report(&mut bob).1, &b1, 1, P, q(2), 0, Liquidity::Taker);
    assert_fill(next_report(&mut alice).1, &a3, 1, P, q(2), q(3), Liquidity::Maker);
    alice.cancel(OrderRef::Client(13)).unwrap();
    assert_eq!(next_report(&mut alice).1, cancelled(&a3, q(3), q(2), CancelReason::User));
    // The cancelled quantity is really gone: Bob's next buy rests.
    let b2 = place(&mut bob, limit(2, Side::Buy, P, q(2)));
    bob.cancel(OrderRef::Engine(b2.order_id)).unwrap();
    assert_eq!(next_report(&mut bob).1, cancelled(&b2, q(2), 0, CancelReason::User));
    finish(m, vec![alice, bob]);
}

#[test]
fn amend_quantity_down_keeps_priority_price_change_loses_it() {
    let (_d, m, mut alice, mut bob) = start();
    let s1 = place(&mut alice, limit(1, Side::Sell, P, q(5)));
    let s2 = place(&mut alice, limit(2, Side::Sell, P, q(5)));

    // Quantity down: priority kept.
    alice.amend(Amend { order: OrderRef::Engine(s1.order_id), new_qty: Some(q(3)), new_price: None }).unwrap();
    assert_eq!(next_report(&mut alice).1, amended(&s1, P, q(3), q(3), true));
    let b1 = place(&mut bob, limit(1, Side::Buy, P, q(4)));
    assert_fill(next_report(&mut bob).1, &b1, 1, P, q(3), q(1), Liquidity::Taker);
    assert_fill(next_report(&mut bob).1, &b1, 2, P, q(1), 0, Liquidity::Taker);
    assert_fill(next_report(&mut alice).1, &s1, 1, P, q(3), 0, Liquidity::Maker);
    assert_fill(next_report(&mut alice).1, &s2, 2, P, q(1), q(4), Liquidity::Maker);

    // s3 rests behind s2; s2 moves away and back: it is now behind s3.
    let s3 = place(&mut alice, limit(3, Side::Sell, P, q(2)));
    alice.amend(Amend { order: OrderRef::Client(2), new_qty: None, new_price: Some(px(10)) }).unwrap();
    assert_eq!(next_report(&mut alice).1, amended(&s2, px(10), q(5), q(4), false));
    alice.amend(Amend { order: OrderRef::Client(2), new_qty: None, new_price: Some(P) }).unwrap();
    assert_eq!(next_report(&mut alice).1, amended(&s2, P, q(5), q(4), false));
    let b2 = place(&mut bob, limit(2, Side::Buy, P, q(1)));
    assert_fill(next_report(&mut bob).1, &b2, 3, P, q(1), 0, Liquidity::Taker);
    assert_fill(next_report(&mut alice).1, &s3, 3, P, q(1), q(1), Liquidity::Maker);

    // Quantity up (total, filled included): priority lost.
    alice.amend(Amend { order: OrderRef::Engine(s3.order_id), new_qty: Some(q(4)), new_price: None }).unwrap();
    assert_eq!(next_report(&mut alice).1, amended(&s3, P, q(4), q(3), false));

    // A new price that crosses trades at once, like a new order.
    let b3 = place(&mut bob, limit(3, Side::Buy, px(-50), q(2)));
    alice.amend(Amend { order: OrderRef::Client(2), new_qty: None, new_price: Some(px(-50)) }).unwrap();
    assert_eq!(next_report(&mut alice).1, amended(&s2, px(-50), q(5), q(4), false));
    assert_fill(next_report(&mut alice).1, &s2, 4, px(-50), q(2), q(2), Liquidity::Taker);
    assert_fill(next_report(&mut bob).1, &b3, 4, px(-50), q(2), 0, Liquidity::Maker);

    // Nothing changes: refused. At or below the filled quantity: cancelled.
    alice.amend(Amend { order: OrderRef::Client(2), new_qty: None, new_price: Some(px(-50)) }).unwrap();
    assert_eq!(next_report(&mut alice).1, rejected(1, CommandType::Amend, 2, 0, BTC, RejectReason::InvalidField));
    alice.amend(Amend { order: OrderRef::Client(2), new_qty: Some(q(3)), new_price: None }).unwrap();
    assert_eq!(next_report(&mut alice).1, cancelled(&s2, q(2), q(3), CancelReason::User));
    alice.amend(Amend { order: OrderRef::Client(77), new_qty: Some(q(3)), new_price: None }).unwrap();
    assert_eq!(next_report(&mut alice).1, rejected(1, CommandType::Amend, 77, 0, 0, RejectReason::UnknownOrder));
    finish(m, vec![alice, bob]);
}

#[test]
fn ioc_remainder_is_cancelled_and_fok_fills_completely_or_not_at_all() {
    let (_d, m, mut alice, mut bob) = start();
    let a1 = place(&mut alice, limit(1, Side::Sell, P, q(2)));
    let b1 = place(&mut bob, limit_tif(1, Side::Buy, P, q(5), TimeInForce::Ioc));
    assert_eq!(b1.tif, TimeInForce::Ioc);
    assert_fill(next_report(&mut bob).1, &b1, 1, P, q(2), q(3), Liquidity::Taker);
    assert_eq!(next_report(&mut bob).1, cancelled(&b1, q(3), q(2), CancelReason::ImmediateRemainder));
    assert_fill(next_report(&mut alice).1, &a1, 1, P, q(2), 0, Liquidity::Maker);

    // IOC with nothing to take: accepted, then cancelled whole.
    let b2 = place(&mut bob, limit_tif(2, Side::Buy, P, q(1), TimeInForce::Ioc));
    assert_eq!(next_report(&mut bob).1, cancelled(&b2, q(1), 0, CancelReason::ImmediateRemainder));

    // FOK larger than the book: rejected, nothing trades.
    let a2 = place(&mut alice, limit(2, Side::Sell, P, q(3)));
    bob.new_order(limit_tif(3, Side::Buy, px(10), q(5), TimeInForce::Fok)).unwrap();
    assert_eq!(next_report(&mut bob).1, rejected(2, CommandType::NewOrder, 3, 0, BTC, RejectReason::FokCannotFill));
    assert_quiet(&mut alice);
    // FOK the book can fill: filled.
    let b4 = place(&mut bob, limit_tif(4, Side::Buy, px(10), q(3), TimeInForce::Fok));
    assert_fill(next_report(&mut bob).1, &b4, 2, P, q(3), 0, Liquidity::Taker);
    assert_fill(next_report(&mut alice).1, &a2, 2, P, q(3), 0, Liquidity::Maker);
    finish(m, vec![alice, bob]);
}

#[test]
fn post_only_is_rejected_when_it_would_take() {
    let (_d, m, mut alice, mut bob) = start();
    let _a1 = place(&mut alice, limit(1, Side::Sell, P, q(3)));
    bob.new_order(limit_tif(1, Side::Buy, P, q(1), TimeInForce::PostOnly)).unwrap();
    assert_eq!(next_report(&mut bob).1, rejected(2, CommandType::NewOrder, 1, 0, BTC, RejectReason::PostOnlyWouldTake));
    assert_quiet(&mut alice);
    // One tick below the best ask: it rests, and a seller trades with it as maker.
    let b2 = place(&mut bob, limit_tif(2, Side::Buy, px(-1), q(1), TimeInForce::PostOnly));
    assert_eq!(b2.tif, TimeInForce::PostOnly);
    let a2 = place(&mut alice, limit_tif(2, Side::Sell, px(-1), q(1), TimeInForce::Ioc));
    assert_fill(next_report(&mut alice).1, &a2, 1, px(-1), q(1), 0, Liquidity::Taker);
    assert_fill(next_report(&mut bob).1, &b2, 1, px(-1), q(1), 0, Liquidity::Maker);
    finish(m, vec![alice, bob]);
}

#[test]
fn self_trade_prevention_each_mode() {
    let (_d, m, mut alice, mut bob) = start();
    let stp = |maker: &engine::Accepted, taker: &engine::Accepted, qty, mode| {
        ExecReport::SelfTradePrevented(SelfTradePrevented {
            account: 1,
            instrument: BTC,
            maker_order_id: maker.order_id,
            taker_order_id: taker.order_id,
            mode,
            qty,
        })
    };
    let s1 = place(&mut alice, limit(1, Side::Sell, P, q(2)));

    // CancelTaker: the incoming order goes, the resting one stays.
    let t1 = place(&mut alice, stp_order(2, Side::Buy, P, q(3), StpMode::CancelTaker));
    assert_eq!(next_report(&mut alice).1, stp(&s1, &t1, q(2), StpMode::CancelTaker));
    assert_eq!(next_report(&mut alice).1, cancelled(&t1, q(3), 0, CancelReason::SelfTrade));

    // CancelMaker: s1 goes, matching goes on against Bob's order behind it, the rest rests.
    let b1 = place(&mut bob, limit(1, Side::Sell, P, q(2)));
    let t2 = place(&mut alice, stp_order(3, Side::Buy, P, q(3), StpMode::CancelMaker));
    assert_eq!(next_report(&mut alice).1, stp(&s1, &t2, q(2), StpMode::CancelMaker));
    assert_eq!(next_report(&mut alice).1, cancelled(&s1, q(2), 0, CancelReason::SelfTrade));
    assert_fill(next_report(&mut alice).1, &t2, 1, P, q(2), q(1), Liquidity::Taker);
    assert_fill(next_report(&mut bob).1, &b1, 1, P, q(2), 0, Liquidity::Maker);

    // CancelBoth: t2 (now resting) and the incoming order both go.
    let t3 = place(&mut alice, stp_order(4, Side::Sell, P, q(1), StpMode::CancelBoth));
    assert_eq!(next_report(&mut alice).1, stp(&t2, &t3, q(1), StpMode::CancelBoth));
    assert_eq!(next_report(&mut alice).1, cancelled(&t2, q(1), q(2), CancelReason::SelfTrade));
    assert_eq!(next_report(&mut alice).1, cancelled(&t3, q(1), 0, CancelReason::SelfTrade));

    // None: Alice trades with herself, both fills on her stream (maker first).
    let s5 = place(&mut alice, limit(5, Side::Sell, P, q(2)));
    let t6 = place(&mut alice, stp_order(6, Side::Buy, P, q(2), StpMode::None));
    assert_fill(next_report(&mut alice).1, &s5, 2, P, q(2), 0, Liquidity::Maker);
    assert_fill(next_report(&mut alice).1, &t6, 2, P, q(2), 0, Liquidity::Taker);

    // The book is empty now: a mass cancel finds nothing.
    alice.mass_cancel(MassCancel { instrument: None, side: None }).unwrap();
    assert_eq!(next_report(&mut alice).1, ExecReport::MassCancelled(MassCancelled { account: 1, count: 0 }));
    finish(m, vec![alice, bob]);
}

#[test]
fn mass_cancel_by_instrument_and_side() {
    let (_d, m, mut alice, mut bob) = start();
    let bob1 = place(&mut bob, limit(1, Side::Buy, px(-100), q(1)));
    let b1 = place(&mut alice, limit(1, Side::Buy, px(-100), q(1)));
    let b2 = place(&mut alice, limit(2, Side::Buy, px(-200), q(2)));
    let s1 = place(&mut alice, limit(3, Side::Sell, px(100), q(3)));
    let e1 = place(&mut alice, NewOrder { instrument: ETH, ..limit(4, Side::Buy, 300_000, 100_000) });

    alice.mass_cancel(MassCancel { instrument: Some(BTC), side: Some(Side::Buy) }).unwrap();
    assert_eq!(
        next_reports(&mut alice, 3),
        vec![
            cancelled(&b1, q(1), 0, CancelReason::MassCancel),
            cancelled(&b2, q(2), 0, CancelReason::MassCancel),
            ExecReport::MassCancelled(MassCancelled { account: 1, count: 2 }),
        ]
    );
    alice.mass_cancel(MassCancel { instrument: None, side: None }).unwrap();
    assert_eq!(
        next_reports(&mut alice, 3),
        vec![
            cancelled(&s1, q(3), 0, CancelReason::MassCancel),
            cancelled(&e1, 100_000, 0, CancelReason::MassCancel),
            ExecReport::MassCancelled(MassCancelled { account: 1, count: 2 }),
        ]
    );
    alice.mass_cancel(MassCancel { instrument: None, side: None }).unwrap();
    assert_eq!(next_report(&mut alice).1, ExecReport::MassCancelled(MassCancelled { account: 1, count: 0 }));
    alice.mass_cancel(MassCancel { instrument: Some(999), side: None }).unwrap();
    assert_eq!(
        next_report(&mut alice).1,
        rejected(1, CommandType::MassCancel, 0, 0, 999, RejectReason::UnknownInstrument)
    );

    // Bob's order was not touched.
    assert_quiet(&mut bob);
    bob.cancel(OrderRef::Engine(bob1.order_id)).unwrap();
    assert_eq!(next_report(&mut bob).1, cancelled(&bob1, q(1), 0, CancelReason::User));
    finish(m, vec![alice, bob]);
}

fn sol_spec() -> InstrumentSpec {
    InstrumentSpec {
        id: 3,
        symbol: InstrumentSpec::symbol_from_str("SOL-USDT").unwrap(),
        base_asset: 4,
        quote_asset: 1,
        tick: 100,
        lot: 1000,
        min_qty: 1000,
        max_qty: 1_000_000_000,
        min_notional: 100,
        price_band_bps: 1000,
        reference_price: 1_000_000,
        qty_scale: 100_000_000,
    }
}

#[test]
fn reject_codes_for_invalid_orders() {
    let (_d, m, mut alice, bob) = start();
    let mut admin = m.admin();
    let _history = next_reports(&mut admin, 2); // the configured instruments
    admin.add_instrument(sol_spec()).unwrap();
    assert!(matches!(next_report(&mut admin).1, ExecReport::InstrumentAdded(a) if a.spec == sol_spec()));

    fn reject(alice: &mut Client, o: NewOrder, reason: RejectReason) {
        alice.new_order(o).unwrap();
        assert_eq!(
            next_report(alice).1,
            rejected(1, CommandType::NewOrder, o.client_order_id, 0, o.instrument, reason),
            "{o:?}"
        );
    }
    reject(
        &mut alice,
        NewOrder { instrument: 3, ..limit(1, Side::Buy, 1_000_050, 10_000) },
        RejectReason::PriceOffTick,
    );
    reject(&mut alice, limit(2, Side::Buy, 0, q(1)), RejectReason::PriceOffTick);
    reject(&mut alice, limit(3, Side::Buy, P, q(1) + 500), RejectReason::QtyOffLot);
    reject(&mut alice, limit(4, Side::Buy, P, 0), RejectReason::QtyOffLot);
    reject(&mut alice, NewOrder { instrument: 77, ..limit(5, Side::Buy, P, q(1)) }, RejectReason::UnknownInstrument);
    reject(&mut alice, limit(6, Side::Buy, P, BTC_LOT), RejectReason::BelowMinNotional);
    reject(&mut alice, limit(7, Side::Buy, P * 12 / 10, q(1)), RejectReason::OutsidePriceBand);
    reject(
        &mut alice,
        NewOrder { order_type: OrderType::Market, ..limit_tif(8, Side::Buy, 0, q(1), TimeInForce::Gtc) },
        RejectReason::InvalidField,
    );

    // Duplicate client order id while the first is live; reusable once it is gone.
    let a10 = place(&mut alice, limit(10, Side::Buy, px(-100), q(1)));
    reject(&mut alice, limit(10, Side::Buy, px(-200), q(2)), RejectReason::DuplicateClientOrderId);
    alice.cancel(OrderRef::Client(10)).unwrap();
    assert_eq!(next_report(&mut alice).1, cancelled(&a10, q(1), 0, CancelReason::User));
    let again = place(&mut alice, limit(10, Side::Buy, px(-200), q(2)));
    assert!(again.order_id > a10.order_id);
    // On the new instrument, a price on the tick is fine.
    place(&mut alice, NewOrder { instrument: 3, ..limit(11, Side::Buy, 1_000_100, 10_000) });
    finish(m, vec![alice, bob, admin]);
}

#[test]
fn accounts_cannot_touch_or_see_each_others_orders() {
    let (_d, m, mut alice, mut bob) = start();
    let a1 = place(&mut alice, limit(7, Side::Sell, P, q(4)));
    // Bob's own order with the same client order id: ids are per account.
    let b7 = place(&mut bob, limit(7, Side::Buy, px(-500), q(1)));

    // Another account's live order is answered exactly like an id that does not exist, so the
    // answer cannot tell which engine order ids are live (the server's metrics keep the reason).
    bob.cancel(OrderRef::Engine(a1.order_id)).unwrap();
    assert_eq!(
        next_report(&mut bob).1,
        rejected(2, CommandType::Cancel, 0, a1.order_id, 0, RejectReason::UnknownOrder)
    );
    let never = a1.order_id + 1_000_000;
    bob.cancel(OrderRef::Engine(never)).unwrap();
    assert_eq!(next_report(&mut bob).1, rejected(2, CommandType::Cancel, 0, never, 0, RejectReason::UnknownOrder));
    bob.amend(Amend { order: OrderRef::Engine(a1.order_id), new_qty: Some(q(1)), new_price: None }).unwrap();
    assert_eq!(next_report(&mut bob).1, rejected(2, CommandType::Amend, 0, a1.order_id, 0, RejectReason::UnknownOrder));
    // By client order id Bob can only ever name his own orders.
    bob.amend(Amend { order: OrderRef::Client(7), new_qty: Some(q(2)), new_price: None }).unwrap();
    assert_eq!(next_report(&mut bob).1, amended(&b7, px(-500), q(2), q(2), false));
    bob.cancel(OrderRef::Client(7)).unwrap();
    assert_eq!(next_report(&mut bob).1, cancelled(&b7, q(2), 0, CancelReason::User));
    bob.cancel(OrderRef::Client(7)).unwrap();
    assert_eq!(next_report(&mut bob).1, rejected(2, CommandType::Cancel, 7, 0, 0, RejectReason::UnknownOrder));
    bob.amend(Amend { order: OrderRef::Client(7), new_qty: Some(q(1)), new_price: None }).unwrap();
    assert_eq!(next_report(&mut bob).1, rejected(2, CommandType::Amend, 7, 0, 0, RejectReason::UnknownOrder));
    bob.mass_cancel(MassCancel { instrument: None, side: None }).unwrap();
    assert_eq!(next_report(&mut bob).1, ExecReport::MassCancelled(MassCancelled { account: 2, count: 0 }));

    // Alice heard nothing of all that, and her order is intact.
    assert_quiet(&mut alice);
    let b2 = place(&mut bob, limit(8, Side::Buy, P, q(4)));
    assert_fill(next_report(&mut bob).1, &b2, 1, P, q(4), 0, Liquidity::Taker);
    assert_fill(next_report(&mut alice).1, &a1, 1, P, q(4), 0, Liquidity::Maker);
    // (next_report checks that every report a session receives carries its own account.)
    finish(m, vec![alice, bob]);
}

#[test]
fn admin_adds_and_halts_an_instrument_and_roles_are_enforced() {
    let (_d, m, mut alice, bob) = start();
    let mut admin = m.admin();
    let history = next_reports(&mut admin, 2);
    let symbols: Vec<String> = history
        .iter()
        .map(|r| match r {
            ExecReport::InstrumentAdded(a) => a.spec.symbol_str().to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(symbols, ["BTC-USDT", "ETH-USDT"]);

    admin.add_instrument(sol_spec()).unwrap();
    assert_eq!(
        next_report(&mut admin).1,
        ExecReport::InstrumentAdded(engine::InstrumentAdded { account: 0, spec: sol_spec(), perpetual: false })
    );
    let sol = |cid, price, qty| NewOrder { instrument: 3, ..limit(cid, Side::Buy, price, qty) };
    let a1 = place(&mut alice, sol(1, 1_000_000, 10_000));

    admin.set_instrument_state(3, InstrumentState::Halted).unwrap();
    assert_eq!(
        next_report(&mut admin).1,
        ExecReport::InstrumentStateChanged(InstrumentStateChanged {
            account: 0,
            instrument: 3,
            state: InstrumentState::Halted
        })
    );
    alice.new_order(sol(2, 1_000_000, 10_000)).unwrap();
    assert_eq!(
        next_report(&mut alice).1,
        rejected(1, CommandType::NewOrder, 2, 0, 3, RejectReason::InstrumentNotTrading)
    );
    alice.amend(Amend { order: OrderRef::Engine(a1.order_id), new_qty: Some(5_000), new_price: None }).unwrap();
    assert_eq!(
        next_report(&mut alice).1,
        rejected(1, CommandType::Amend, 0, a1.order_id, 3, RejectReason::InstrumentNotTrading)
    );
    alice.cancel(OrderRef::Client(1)).unwrap();
    assert_eq!(next_report(&mut alice).1, cancelled(&a1, 10_000, 0, CancelReason::User));

    // Admin command errors are reported on the admin's stream.
    admin.add_instrument(sol_spec()).unwrap();
    assert_eq!(
        next_report(&mut admin).1,
        rejected(0, CommandType::AddInstrument, 0, 0, 3, RejectReason::InstrumentExists)
    );
    admin.set_instrument_state(3, InstrumentState::Halted).unwrap();
    assert_eq!(
        next_report(&mut admin).1,
        rejected(0, CommandType::SetInstrumentState, 0, 0, 3, RejectReason::InvalidStateTransition)
    );

    // Roles: order entry on the admin session, administration on a trader session.
    admin.new_order(limit(99, Side::Buy, P, q(1))).unwrap();
    let not_permitted = |template, cid| {
        ServerMessage::SessionReject(SessionReject {
            ref_template_id: template,
            reason: SessionRejectReason::NotPermitted,
            field_offset: None,
            client_order_id: cid,
        })
    };
    assert_eq!(next_session_msg(&mut admin), not_permitted(20, 99));
    alice.add_instrument(InstrumentSpec { id: 4, ..sol_spec() }).unwrap();
    assert_eq!(next_session_msg(&mut alice), not_permitted(60, 0));
    alice.set_instrument_state(3, InstrumentState::Trading).unwrap();
    assert_eq!(next_session_msg(&mut alice), not_permitted(61, 0));

    // Both sessions go on; trading resumes on the admin's word only.
    admin.set_instrument_state(3, InstrumentState::Trading).unwrap();
    assert_eq!(
        next_report(&mut admin).1,
        ExecReport::InstrumentStateChanged(InstrumentStateChanged {
            account: 0,
            instrument: 3,
            state: InstrumentState::Trading
        })
    );
    place(&mut alice, sol(3, 1_000_000, 10_000));
    finish(m, vec![alice, bob, admin]);
}
