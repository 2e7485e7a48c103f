//! Conditional orders over the real binary: a stop-loss armed over TCP fires when another
//! account's trade reaches it, in the same command, with its reports in order; armed orders survive
//! `kill -9` (the journal replays them, so the restarted server has the clean replay's state hash)
//! and still fire after the restart. (That armed orders never reach market data is the engine's
//! rule, tested in engine/tests/stop_rules.rs: they emit no `LevelChanged`.)

mod e2e_common;

use e2e_common::*;
use engine::{CancelReason, NewOrder, OrderType, Side, StopOrder, TimeInForce, TriggerKind};
use protocol::ExecReport;

/// `n` units of 10 lots (0.0001 BTC: above the minimum notional at these prices).
fn q(n: u64) -> u64 {
    n * 10 * BTC_LOT
}

/// A stop-market (IOC) of `qty` on BTC-USDT.
fn stop_market(cid: u64, side: Side, qty: u64, trigger_price: u64) -> StopOrder {
    let order = NewOrder { order_type: OrderType::Market, tif: TimeInForce::Ioc, price: 0, ..limit(cid, side, 0, qty) };
    StopOrder { order, trigger_price, trigger: TriggerKind::StopLoss }
}

/// Arms `s` and returns its engine order id (its `OrderArmed` must be the next report).
fn arm(c: &mut client::Client, s: StopOrder) -> u64 {
    c.stop_order(s).unwrap();
    match next_report(c).1 {
        ExecReport::Armed(a) => {
            assert_eq!(
                (a.client_order_id, a.trigger_price, a.qty),
                (s.order.client_order_id, s.trigger_price, s.order.qty)
            );
            a.order_id
        }
        other => panic!("expected OrderArmed, got {other:?}"),
    }
}

#[test]
fn a_stop_fires_on_another_accounts_trade_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let m = Matchd::start_default(&data);
    let mut alice = m.trader(ALICE);
    let mut bob = m.trader(BOB);

    // Bob's bids at the reference and 1 tick below; Alice's sell stop-loss just below the
    // reference, and a second one further down that only a later trade reaches.
    place(&mut bob, limit(1, Side::Buy, px(0), q(2)));
    place(&mut bob, limit(2, Side::Buy, px(-1), q(2)));
    let stop1 = arm(&mut alice, stop_market(10, Side::Sell, q(2), px(-1)));
    let stop2 = arm(&mut alice, stop_market(11, Side::Sell, q(1), px(-50)));
    // A trigger the last price already reached is refused.
    alice.stop_order(stop_market(12, Side::Sell, q(1), px(0))).unwrap();
    match next_report(&mut alice).1 {
        ExecReport::Rejected(r) => assert_eq!(r.reason, engine::RejectReason::WouldTriggerImmediately),
        other => panic!("expected a reject, got {other:?}"),
    }

    // The gateway counts them by type (two armed, one refused by the engine: all three entered).
    m.wait_for("three new_stop_order commands counted", || {
        m.metric("matchd_commands_total{type=\"new_stop_order\"}") == 3.0
    });

    // Alice sells into Bob's best bid (the last price stays at the reference): nothing fires.
    place(&mut alice, limit_tif(20, Side::Sell, px(0), q(1), TimeInForce::Ioc));
    assert!(matches!(next_report(&mut alice).1, ExecReport::Fill(f) if f.order_id != stop1));
    assert_quiet(&mut alice);

    // kill -9 with both stops armed; the restart replays them.
    let alice_seen = alice.last_seen_seq();
    drop((alice, bob));
    m.kill9();
    let m = Matchd::start_default(&data);
    let mut alice = m.trader_from(ALICE, alice_seen);
    let mut bob = m.trader(BOB);
    sync(&mut bob);

    // Bob sells through his own bids: a trade at px(-1) fires stop 1, which sells the rest of
    // bid 2... there is none left after Bob's own sale, so it is cancelled as an IOC remainder.
    bob.new_order(limit_tif(3, Side::Sell, px(-1), q(3), TimeInForce::Ioc)).unwrap();
    let mine: Vec<ExecReport> = sync(&mut alice);
    let want_first = ExecReport::Triggered(engine::Triggered {
        account: ALICE.0,
        order_id: stop1,
        client_order_id: 10,
        instrument: BTC,
        side: Side::Sell,
        order_type: OrderType::Market,
        price: 0,
        qty: q(2),
        trigger_price: px(-1),
        last_price: px(-1),
        trigger_source: engine::TriggerSource::LastPrice,
        timestamp_ns: match mine.first() {
            Some(ExecReport::Triggered(t)) => t.timestamp_ns,
            other => panic!("expected OrderTriggered first, got {other:?}"),
        },
    });
    assert_eq!(mine[0], want_first);
    assert!(
        matches!(mine[1], ExecReport::Cancelled(c) if c.order_id == stop1 && c.reason == CancelReason::ImmediateRemainder && c.cancelled_qty == q(2)),
        "{mine:?}"
    );
    assert_eq!(mine.len(), 2, "stop 2 (at px(-50)) stays armed: {mine:?}");

    // Stop 2 is still armed after the restart: Bob trades down to it and it fires.
    sync(&mut bob);
    place(&mut bob, limit(4, Side::Buy, px(-50), q(1)));
    bob.new_order(limit_tif(5, Side::Sell, px(-50), q(1), TimeInForce::Ioc)).unwrap();
    let mine = sync(&mut alice);
    assert!(matches!(mine.first(), Some(ExecReport::Triggered(t)) if t.order_id == stop2), "{mine:?}");

    // The restarted server's state is the clean replay's.
    drop((alice, bob));
    let (status, log) = m.terminate_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    let stopped = state_hashes(&log, "stopped cleanly");
    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    let m2 = Matchd::start_default(&copy);
    let (status2, log2) = m2.terminate_with_log();
    assert_eq!(status2.code(), Some(0));
    assert_eq!(state_hashes(&log2, "replay complete"), stopped, "restarted server vs clean replay");
}
