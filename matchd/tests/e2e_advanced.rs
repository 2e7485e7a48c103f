//! Advanced orders over the real binary: a good-till-date order expires while nobody sends
//! anything (the gateway journals a `TimeTick` once its time has passed), and one whose time
//! passes while the server is down expires right after the restart; market orders by quote
//! quantity and trigger amends round-trip over TCP; a trailing stop's moved trigger survives a
//! snapshot and `kill -9`; the restarted server has the clean replay's state hash.

mod e2e_common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e_common::*;
use engine::{
    AdvancedOrder, CancelReason, NewOrder, OrderRef, OrderType, RejectReason, Side, StopOrder, TimeInForce, TrailUnit,
    Trailing, TriggerKind,
};
use protocol::ExecReport;

/// `n` units of 10 lots (above the minimum notional at these prices).
fn q(n: u64) -> u64 {
    n * 10 * BTC_LOT
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn gtd(cid: u64, side: Side, price: u64, qty: u64, expire_time_ns: u64) -> AdvancedOrder {
    AdvancedOrder { expire_time_ns, ..AdvancedOrder::plain(limit(cid, side, price, qty)) }
}

/// Sends `a` and returns its `OrderAccepted` (the next report).
fn accept(c: &mut client::Client, a: AdvancedOrder) -> engine::Accepted {
    c.advanced_order(a).unwrap();
    accepted(&next_report(c).1)
}

/// The next report, which must be `Cancelled` with reason `Expired` for `order_id`. Nothing is
/// sent meanwhile: only the gateway's time tick can make it happen.
fn expect_expired(c: &mut client::Client, order_id: u64) {
    match next_report(c).1 {
        ExecReport::Cancelled(x) => {
            assert_eq!((x.order_id, x.reason), (order_id, CancelReason::Expired), "{x:?}")
        }
        other => panic!("expected the expiry of {order_id}, got {other:?}"),
    }
}

/// How far ahead a good-till-date order that must expire during the test is set: time for the
/// steps that must come before its expiry, which a busy machine can stretch to seconds.
const EXPIRY_SLACK_NS: u64 = 5_000_000_000;

#[test]
fn a_gtd_order_expires_while_the_market_is_idle_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let m = Matchd::start_default(&data);
    let mut alice = m.trader(ALICE);

    // `later` goes first so that nothing but the expiry can follow `soon`'s acceptance; `soon`'s
    // time leaves seconds for its own round trip on a busy machine (stamped after its time, it
    // would be refused as already expired).
    let later = accept(&mut alice, gtd(2, Side::Buy, px(-2), q(1), now_ns() + 3_600_000_000_000));
    let soon = accept(&mut alice, gtd(1, Side::Buy, px(-1), q(1), now_ns() + EXPIRY_SLACK_NS));
    expect_expired(&mut alice, soon.order_id);
    assert!(m.metric("matchd_time_ticks_total") >= 1.0);
    assert!(m.metric("matchd_commands_total{type=\"new_advanced_order\"}") == 2.0);

    // An order whose time passes while the server is down expires after the restart, again
    // with nothing sent (the replayed engine tells the new gateway when to tick).
    // The slack lets the acceptance and the kill come before this time on a busy machine.
    let expire_at = now_ns() + EXPIRY_SLACK_NS;
    let down = accept(&mut alice, gtd(3, Side::Buy, px(-3), q(1), expire_at));
    let seen = alice.last_seen_seq();
    drop(alice);
    m.kill9();
    while now_ns() < expire_at + 200_000_000 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let m = Matchd::start_default(&data);
    let mut alice = m.trader_from(ALICE, seen);
    expect_expired(&mut alice, down.order_id);

    // The far one is still live: a user cancel finds it.
    alice.cancel(OrderRef::Engine(later.order_id)).unwrap();
    assert!(matches!(next_report(&mut alice).1, ExecReport::Cancelled(c) if c.reason == CancelReason::User));

    drop(alice);
    let (status, log) = m.terminate_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    let stopped = state_hashes(&log, "stopped cleanly");
    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    let (status2, log2) = Matchd::start_default(&copy).terminate_with_log();
    assert_eq!(status2.code(), Some(0));
    assert_eq!(state_hashes(&log2, "replay complete"), stopped, "restarted server vs clean replay");
}

#[test]
fn quote_quantity_orders_and_trigger_amends_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_default(&dir.path().join("data"));
    let mut alice = m.trader(ALICE);
    let mut bob = m.trader(BOB);

    // Bob offers one unit at the reference and one a tick above.
    place(&mut bob, limit(1, Side::Sell, px(0), q(1)));
    place(&mut bob, limit(2, Side::Sell, px(1), q(1)));
    // Alice spends the notional of one unit at each price, less one: all of the first, and the
    // whole lots the rest buys of the second.
    let notional = |price: u64, qty: u64| (price as u128 * qty as u128 / 100_000_000) as u64;
    let budget = notional(px(0), q(1)) + notional(px(1), q(1)) - 1;
    let market =
        NewOrder { order_type: OrderType::Market, tif: TimeInForce::Ioc, price: 0, ..limit(10, Side::Buy, 0, 0) };
    let a = accept(&mut alice, AdvancedOrder { quote_qty: budget, ..AdvancedOrder::plain(market) });
    assert!(a.qty > q(1) && a.qty < q(2), "bought {} of {}", a.qty, q(2));
    let fills: Vec<_> = sync(&mut alice)
        .into_iter()
        .filter_map(|r| match r {
            ExecReport::Fill(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(fills.iter().map(|f| f.qty).sum::<u64>(), a.qty);
    let spent: u64 = fills.iter().map(|f| notional(f.price, f.qty)).sum();
    assert!(spent <= budget, "spent {spent} of {budget}");

    // A budget that buys nothing is refused with its own reason.
    alice
        .advanced_order(AdvancedOrder {
            quote_qty: 1,
            ..AdvancedOrder::plain(NewOrder { client_order_id: 11, ..market })
        })
        .unwrap();
    assert!(matches!(next_report(&mut alice).1, ExecReport::Rejected(r) if r.reason == RejectReason::NothingToFill));

    // A stop-loss sell armed far below; its trigger moves up, keeping it armed.
    let order = NewOrder {
        client_order_id: 20,
        order_type: OrderType::Market,
        tif: TimeInForce::Ioc,
        price: 0,
        ..limit(20, Side::Sell, 0, q(1))
    };
    alice.stop_order(StopOrder { order, trigger_price: px(-50), trigger: TriggerKind::StopLoss }).unwrap();
    let armed = match next_report(&mut alice).1 {
        ExecReport::Armed(x) => x,
        other => panic!("expected OrderArmed, got {other:?}"),
    };
    alice.amend_trigger(OrderRef::Client(20), px(-10)).unwrap();
    match next_report(&mut alice).1 {
        ExecReport::TriggerAmended(t) => assert_eq!((t.order_id, t.trigger_price), (armed.order_id, px(-10))),
        other => panic!("expected OrderTriggerAmended, got {other:?}"),
    }
    // Amending the trigger of a resting order is refused.
    sync(&mut bob); // Bob's fills
    let resting = place(&mut bob, limit(3, Side::Buy, px(-20), q(1)));
    bob.amend_trigger(OrderRef::Engine(resting.order_id), px(-30)).unwrap();
    assert!(matches!(next_report(&mut bob).1, ExecReport::Rejected(r) if r.reason == RejectReason::NotArmed));
}

#[test]
fn market_data_shows_an_icebergs_slices_and_never_its_hidden_quantity() {
    use protocol::{MdServerMessage as Md, MdSubscribe};
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_default(&dir.path().join("data"));
    let mut sub = client::md_client::MdClient::connect(m.addr, IO).unwrap();
    sub.subscribe(MdSubscribe { heartbeat_interval_ms: 0, order_by_order: true }).unwrap();
    let mut alice = m.trader(ALICE);
    let mut bob = m.trader(BOB);

    // Alice offers 5 units, showing 2 at a time.
    let ice = AdvancedOrder { display_qty: q(2), ..AdvancedOrder::plain(limit(1, Side::Sell, px(5), q(5))) };
    let id = accept(&mut alice, ice).order_id;
    let seen = md_until(&mut sub, |msg| matches!(msg, Md::Level(l) if l.price == px(5)));
    assert!(seen.iter().any(|msg| matches!(msg, Md::OrderAdded(a) if a.order_id == id && a.qty == q(2))), "{seen:#?}");
    assert!(matches!(seen.last(), Some(Md::Level(l)) if l.qty == q(2) && l.order_count == 1), "{seen:#?}");

    // Bob buys 3 units: the first slice (2), then 1 of the next, which took its place at the back.
    place(&mut bob, limit_tif(1, Side::Buy, px(5), q(3), TimeInForce::Ioc));
    let seen = md_until(&mut sub, |msg| matches!(msg, Md::Level(l) if l.price == px(5)));
    let mine: Vec<(&str, u64, u64)> = seen
        .iter()
        .filter_map(|msg| match msg {
            Md::OrderAdded(a) if a.order_id == id => Some(("added", a.qty, 0)),
            Md::OrderExecuted(x) if x.order_id == id => Some(("executed", x.qty, x.leaves)),
            _ => None,
        })
        .collect();
    assert_eq!(mine, vec![("executed", q(2), 0), ("added", q(2), 0), ("executed", q(1), q(1))], "{seen:#?}");
    assert!(matches!(seen.last(), Some(Md::Level(l)) if l.qty == q(1)), "{seen:#?}");
    // Nothing in the feed ever showed more than a slice of it.
    let most = seen.iter().filter_map(|msg| match msg {
        Md::Level(l) if l.price == px(5) => Some(l.qty),
        Md::OrderAdded(a) if a.order_id == id => Some(a.qty),
        Md::OrderExecuted(x) if x.order_id == id => Some(x.leaves),
        _ => None,
    });
    assert!(most.max().unwrap_or(0) <= q(2));
    // Alice's own reports carry the whole order.
    let fills: Vec<u64> = sync(&mut alice)
        .into_iter()
        .filter_map(|r| match r {
            ExecReport::Fill(f) => Some(f.leaves_qty),
            _ => None,
        })
        .collect();
    assert_eq!(fills, vec![q(3), q(2)]);
}

fn snapshot_files(data: &std::path::Path) -> usize {
    std::fs::read_dir(data.join("snapshots"))
        .map(|rd| rd.filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "snap")).count())
        .unwrap_or(0)
}

#[test]
fn a_trailing_stops_moved_trigger_survives_a_snapshot_and_kill_9_then_fires() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = ConfigText::default().set("every_commands", "0").set("on_shutdown", "false");
    let m = Matchd::start_with(&data, &cfg);
    let mut alice = m.trader(ALICE);
    let mut bob = m.trader(BOB);

    // Alice: a trailing market sell, 5 ticks below the best price since it armed.
    let order =
        NewOrder { order_type: OrderType::Market, tif: TimeInForce::Ioc, price: 0, ..limit(1, Side::Sell, 0, q(1)) };
    let trailing = AdvancedOrder {
        trigger: Some((0, TriggerKind::StopLoss)),
        trailing: Some(Trailing { delta: 5, unit: TrailUnit::Ticks }),
        ..AdvancedOrder::plain(order)
    };
    alice.advanced_order(trailing).unwrap();
    let armed = match next_report(&mut alice).1 {
        ExecReport::Armed(x) => x,
        other => panic!("expected OrderArmed, got {other:?}"),
    };
    assert_eq!(armed.trigger_price, px(-5), "armed at the reference");
    // A trade 3 ticks up lifts its trigger to 2 ticks up.
    place(&mut bob, limit(2, Side::Sell, px(3), q(1)));
    place(&mut alice, limit_tif(3, Side::Buy, px(3), q(1), TimeInForce::Ioc));
    sync(&mut alice);

    // A snapshot now holds the moved trigger (SIGUSR1 asks for one); then the host dies.
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(m.child.id() as i32, libc::SIGUSR1) };
    m.wait_for("a snapshot", || snapshot_files(&data) >= 1);
    sync(&mut bob);
    let seen = (alice.last_seen_seq(), bob.last_seen_seq());
    drop((alice, bob));
    m.kill9();

    let m = Matchd::start_with(&data, &cfg);
    let mut alice = m.trader_from(ALICE, seen.0);
    let mut bob = m.trader_from(BOB, seen.1);
    // Bids at 2 ticks down (the moved trigger) and 10 down. Bob sells into the first: the last
    // price reaches 2 ticks down, which only the moved trigger (not the armed one, 5 down) fires.
    let near = place(&mut bob, limit(4, Side::Buy, px(-2), q(1)));
    let far = place(&mut bob, limit(5, Side::Buy, px(-10), q(1)));
    place(&mut bob, limit_tif(6, Side::Sell, px(-2), q(1), TimeInForce::Ioc));
    match next_report(&mut alice).1 {
        ExecReport::Triggered(t) => {
            assert_eq!((t.order_id, t.trigger_price, t.last_price), (armed.order_id, px(-2), px(-2)), "{t:?}")
        }
        other => panic!("expected OrderTriggered, got {other:?}"),
    }
    match next_report(&mut alice).1 {
        ExecReport::Fill(f) => assert_eq!((f.order_id, f.price, f.qty), (armed.order_id, px(-10), q(1))),
        other => panic!("expected the stop's fill, got {other:?}"),
    }
    assert!(near.order_id < far.order_id);

    drop((alice, bob));
    let (status, log) = m.terminate_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("snapshot loaded"), "the restart used the snapshot: {log}");
    let stopped = state_hashes(&log, "stopped cleanly");
    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    std::fs::remove_dir_all(copy.join("snapshots")).unwrap();
    let (status2, log2) = Matchd::start_with(&copy, &cfg).terminate_with_log();
    assert_eq!(status2.code(), Some(0));
    assert_eq!(state_hashes(&log2, "replay complete"), stopped, "restarted server vs a full replay");
}
