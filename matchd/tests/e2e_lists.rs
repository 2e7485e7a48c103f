//! Order lists over the real binary: an OCO whose maker leg trades cancels its stop leg; an
//! OTOCO survives `kill -9` with its pair pending, and the working order's fill after the
//! restart places the pair; the restarted server equals a full replay.

mod e2e_common;

use e2e_common::*;
use engine::{CancelReason, ListKind, ListLeg, OrderList, OrderType, Side, TimeInForce, TriggerKind};
use protocol::ExecReport;

/// `n` units of 10 lots (above the minimum notional at these prices).
fn q(n: u64) -> u64 {
    n * 10 * BTC_LOT
}

fn maker(price: u64) -> ListLeg {
    ListLeg { order_type: OrderType::Limit, tif: TimeInForce::PostOnly, price, trigger: None }
}

fn stop(trigger_price: u64) -> ListLeg {
    ListLeg {
        order_type: OrderType::Market,
        tif: TimeInForce::Ioc,
        price: 0,
        trigger: Some((trigger_price, TriggerKind::StopLoss)),
    }
}

#[test]
fn an_oco_over_tcp_and_an_otoco_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let m = Matchd::start_default(&data);
    let mut alice = m.trader(ALICE);
    let mut bob = m.trader(BOB);

    // An OCO: sell one unit 3 ticks up as a maker, or at market once the price falls 5 ticks.
    alice.order_list(OrderList::oco(100, BTC, Side::Sell, q(1), [maker(px(3)), stop(px(-5))])).unwrap();
    let list_id = match next_report(&mut alice).1 {
        ExecReport::ListAccepted(l) => {
            assert_eq!((l.kind, l.legs, l.client_order_id), (ListKind::Oco, 2, 100));
            l.list_id
        }
        other => panic!("expected OrderListAccepted, got {other:?}"),
    };
    let reports = next_reports(&mut alice, 2);
    assert!(matches!(reports[0], ExecReport::Accepted(a) if a.order_id == list_id && a.tif == TimeInForce::PostOnly));
    assert!(matches!(reports[1], ExecReport::Armed(a) if a.order_id == list_id + 1 && a.trigger_price == px(-5)));
    // Bob takes the maker leg: Alice gets the fill, then the stop leg's cancel.
    place(&mut bob, limit_tif(1, Side::Buy, px(3), q(1), TimeInForce::Ioc));
    let reports = next_reports(&mut alice, 2);
    assert!(matches!(reports[0], ExecReport::Fill(f) if f.order_id == list_id), "{reports:?}");
    assert!(
        matches!(reports[1], ExecReport::Cancelled(c) if c.order_id == list_id + 1 && c.reason == CancelReason::OrderList),
        "{reports:?}"
    );
    // A plain order may not take a list leg's client order id while it lives; now it may.
    place(&mut alice, limit(101, Side::Sell, px(20), q(1)));
    assert!(m.metric("matchd_commands_total{type=\"new_order_list\"}") == 1.0);

    // An OTOCO: buy one unit 2 ticks down, then protect it. It waits, pending, through a crash.
    let otoco = OrderList::otoco(
        200,
        BTC,
        (Side::Buy, TimeInForce::Gtc, px(-2), q(1)),
        Side::Sell,
        q(1),
        [maker(px(6)), stop(px(-8))],
    );
    alice.order_list(otoco).unwrap();
    let otoco_id = match next_report(&mut alice).1 {
        ExecReport::ListAccepted(l) => l.list_id,
        other => panic!("expected OrderListAccepted, got {other:?}"),
    };
    assert!(matches!(next_report(&mut alice).1, ExecReport::Accepted(a) if a.order_id == otoco_id));
    sync(&mut bob);
    let seen = (alice.last_seen_seq(), bob.last_seen_seq());
    drop((alice, bob));
    m.kill9();

    let m = Matchd::start_default(&data);
    let mut alice = m.trader_from(ALICE, seen.0);
    let mut bob = m.trader_from(BOB, seen.1);
    // Bob sells into the working order: it fills, and the pair is placed as an OCO.
    place(&mut bob, limit_tif(2, Side::Sell, px(-2), q(1), TimeInForce::Ioc));
    let reports = next_reports(&mut alice, 3);
    assert!(matches!(reports[0], ExecReport::Fill(f) if f.order_id == otoco_id), "{reports:?}");
    assert!(
        matches!(reports[1], ExecReport::Accepted(a) if a.order_id == otoco_id + 1 && a.price == px(6)),
        "{reports:?}"
    );
    assert!(matches!(reports[2], ExecReport::Armed(a) if a.order_id == otoco_id + 2), "{reports:?}");

    drop((alice, bob));
    let (status, log) = m.terminate_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    let stopped = state_hashes(&log, "stopped cleanly");
    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    let _ = std::fs::remove_dir_all(copy.join("snapshots"));
    let (status2, log2) = Matchd::start_default(&copy).terminate_with_log();
    assert_eq!(status2.code(), Some(0));
    assert_eq!(state_hashes(&log2, "replay complete"), stopped, "restarted server vs a full replay");
}
