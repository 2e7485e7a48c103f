//! Clean shutdown and restart: sessions are logged out with `ServerShutdown`, the process exits 0,
//! a restart replays the journal (resting orders survive), and a client resuming from any
//! sequence number gets the original reports back, numbered as before.

mod e2e_common;

use client::{Client, ClientError, LoginParams};
use e2e_common::*;
use engine::{Amend, MassCancel, NewOrder, OrderRef, Side, StpMode, TimeInForce};
use protocol::{ExecReport, Liquidity, LoginRejectReason, Logout, LogoutReason, ServerMessage};

fn q(n: u64) -> u64 {
    n * 10 * BTC_LOT
}

/// Appends the next `n` reports of `c` to `into`.
fn record(c: &mut Client, n: usize, into: &mut Vec<(u64, ExecReport)>) {
    for _ in 0..n {
        into.push(next_report(c));
    }
}

/// Reads the history of `who` from `last_seen_seq`, logs out.
fn resume(m: &Matchd, who: (u32, &str), last_seen_seq: u64) -> (protocol::LoginAccepted, Vec<(u64, ExecReport)>) {
    let mut c = m.trader_from(who, last_seen_seq);
    let a = *c.session().unwrap();
    let mut out = Vec::new();
    while c.last_seen_seq() < a.highest_seq {
        out.push(next_report(&mut c));
    }
    let bye = c.logout_and_drain(IO).unwrap();
    assert_eq!(bye.last(), Some(&ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest })), "{bye:?}");
    (a, out)
}

#[test]
fn resend_after_restart_has_original_numbers_and_content() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let m = Matchd::start_default(&data);
    let mut alice = m.trader(ALICE);
    let mut bob = m.trader(BOB);

    // A bit of everything on Alice's stream, recorded as received live.
    let mut live: Vec<(u64, ExecReport)> = Vec::new();
    let a1 = place(&mut alice, limit(1, Side::Sell, BTC_REF, q(5)));
    live.push((1, ExecReport::Accepted(a1)));
    place(&mut bob, limit(1, Side::Buy, BTC_REF, q(2)));
    record(&mut alice, 1, &mut live); // fill
    alice.amend(Amend { order: OrderRef::Client(1), new_qty: Some(q(4)), new_price: None }).unwrap();
    record(&mut alice, 1, &mut live);
    alice.new_order(limit(2, Side::Buy, 0, q(1))).unwrap();
    record(&mut alice, 1, &mut live); // rejected
    alice.new_order(NewOrder { stp: StpMode::CancelTaker, ..limit(3, Side::Buy, BTC_REF, q(1)) }).unwrap();
    record(&mut alice, 3, &mut live); // accepted, STP, cancelled
    alice.new_order(limit_tif(4, Side::Buy, px(-100), q(1), TimeInForce::Ioc)).unwrap();
    record(&mut alice, 2, &mut live); // accepted, IOC remainder cancelled
    alice.new_order(limit(5, Side::Buy, px(-100), q(1))).unwrap();
    record(&mut alice, 1, &mut live);
    alice.mass_cancel(MassCancel { instrument: Some(BTC), side: Some(Side::Buy) }).unwrap();
    record(&mut alice, 2, &mut live);
    let highest = alice.last_seen_seq();
    assert_eq!(live.iter().map(|(s, _)| *s).collect::<Vec<_>>(), (1..=highest).collect::<Vec<_>>());
    assert_quiet(&mut alice);
    let highest = highest + 1; // assert_quiet's marker reject
    alice.logout_and_drain(IO).unwrap();
    drop(bob);
    assert_eq!(m.terminate().code(), Some(0));

    let m = Matchd::start_default(&data);
    // From 0: the whole history, original numbers, identical content (timestamps included).
    let (a, all) = resume(&m, ALICE, 0);
    assert_eq!((a.next_seq, a.highest_seq), (1, highest));
    assert_eq!(all.len() as u64, highest);
    assert_eq!(&all[..live.len()], &live[..]);
    assert!(matches!(all.last().unwrap().1, ExecReport::Rejected(r) if r.reason == engine::RejectReason::UnknownOrder));
    // From the middle: the rest, the same again.
    let (a, tail) = resume(&m, ALICE, 3);
    assert_eq!((a.next_seq, a.highest_seq), (4, highest));
    assert_eq!(&tail[..], &all[3..]);
    // Up to date: nothing resent.
    let (a, none) = resume(&m, ALICE, highest);
    assert_eq!((a.next_seq, a.highest_seq, none.len()), (highest + 1, highest, 0));
    // Ahead of the server: refused, with the server's highest.
    let mut p = LoginParams::trader(ALICE.0, ALICE.1.as_bytes());
    p.last_seen_seq = highest + 1;
    match m.login(p) {
        Err(ClientError::LoginRejected {
            reason: LoginRejectReason::SequenceAhead,
            highest_seq,
            oldest_available_seq,
            ..
        }) => {
            assert_eq!(
                (highest_seq, oldest_available_seq),
                (highest, 0),
                "oldest_available_seq: only for SequenceUnavailable"
            );
        }
        other => panic!("{other:?}"),
    }
    // An account with no history at all.
    let mut p = LoginParams::trader(BOB.0, BOB.1.as_bytes());
    p.last_seen_seq = 1_000;
    assert!(matches!(
        m.login(p),
        Err(ClientError::LoginRejected { reason: LoginRejectReason::SequenceAhead, highest_seq: 2, .. })
    ));
    // The rejected logins did not disturb anything: Alice still logs in normally.
    let (_, again) = resume(&m, ALICE, 0);
    assert_eq!(again, all);
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn sigterm_logs_sessions_out_and_restart_keeps_resting_orders() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let m = Matchd::start_default(&data);
    let mut alice = m.trader(ALICE);
    let mut bob = m.trader(BOB);
    let mut admin = m.admin();
    let a1 = place(&mut alice, limit(1, Side::Sell, px(100), q(3)));
    let a2 = place(&mut alice, limit(2, Side::Sell, px(200), q(4)));
    let b1 = place(&mut bob, limit(1, Side::Buy, px(-100), q(5)));
    let _ = next_reports(&mut admin, 2);
    // A connection that never logged in is simply closed.
    let mut raw = Raw::connect(&m);

    let (status, log) = m.terminate_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    let shutdown = ServerMessage::Logout(Logout { reason: LogoutReason::ServerShutdown });
    for c in [&mut alice, &mut bob, &mut admin] {
        let got: Vec<ServerMessage> =
            read_until_closed(c).into_iter().filter(|m| *m != ServerMessage::Heartbeat).collect();
        assert_eq!(got, vec![shutdown]);
    }
    assert_eq!(raw.recv_until_eof(IO), vec![]);
    let stopped = state_hashes(&log, "stopped cleanly");
    assert_eq!(stopped.len(), 1, "{log}");
    let (alice_seq, bob_seq) = (alice.last_seen_seq(), bob.last_seen_seq());

    // Restart: the replay reaches the state the server stopped with.
    let m = Matchd::start_default(&data);
    assert_eq!(state_hashes(&m.stderr(), "replay complete").last(), stopped.last());
    let mut alice = m.trader_from(ALICE, alice_seq);
    let mut bob = m.trader_from(BOB, bob_seq);
    // No report was produced by the shutdown itself (no cancel on disconnect).
    assert_eq!(alice.session().unwrap().highest_seq, alice_seq);
    assert_eq!(bob.session().unwrap().highest_seq, bob_seq);
    // The resting orders are still in the book with their priority: Bob sweeps Alice's asks.
    let b2 = place(&mut bob, limit(2, Side::Buy, px(200), q(5)));
    let f1 = next_report(&mut bob).1;
    let f2 = next_report(&mut bob).1;
    for (f, (price, qty, leaves)) in [f1, f2].into_iter().zip([(px(100), q(3), q(2)), (px(200), q(2), 0)]) {
        let ExecReport::Fill(f) = f else { panic!("{f:?}") };
        assert_eq!(
            (f.order_id, f.price, f.qty, f.leaves_qty, f.liquidity),
            (b2.order_id, price, qty, leaves, Liquidity::Taker)
        );
    }
    let ExecReport::Fill(m1) = next_report(&mut alice).1 else { panic!() };
    let ExecReport::Fill(m2) = next_report(&mut alice).1 else { panic!() };
    assert_eq!((m1.order_id, m1.qty, m1.leaves_qty), (a1.order_id, q(3), 0));
    assert_eq!((m2.order_id, m2.qty, m2.leaves_qty), (a2.order_id, q(2), q(2)));
    // And Bob's bid from before the restart is there too.
    bob.cancel(OrderRef::Engine(b1.order_id)).unwrap();
    assert!(
        matches!(next_report(&mut bob).1, ExecReport::Cancelled(c) if c.order_id == b1.order_id && c.cancelled_qty == q(5))
    );
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn reports_older_than_the_retained_window_are_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ConfigText::default().set("retransmit_messages_per_account", "5");
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);
    let mut alice = m.trader(ALICE);
    // 13 reports, one command at a time (see the ignored test below for bursts).
    let mut all = Vec::new();
    for cid in 1..=7 {
        all.push(ExecReport::Accepted(place(&mut alice, limit(cid, Side::Buy, px(-100 - cid as i64), q(1)))));
    }
    for cid in 1..=6 {
        alice.cancel(OrderRef::Client(cid)).unwrap();
        all.push(next_report(&mut alice).1);
    }
    assert_eq!(alice.last_seen_seq(), 13);
    alice.logout_and_drain(IO).unwrap();
    // The last 5 (9..=13) are retained: resuming after 7 would need 8.
    let mut p = LoginParams::trader(ALICE.0, ALICE.1.as_bytes());
    p.last_seen_seq = 7;
    match m.login(p) {
        Err(ClientError::LoginRejected {
            reason: LoginRejectReason::SequenceUnavailable,
            highest_seq,
            oldest_available_seq,
            ..
        }) => assert_eq!((highest_seq, oldest_available_seq), (13, 9)),
        other => panic!("{other:?}"),
    }
    // Accepting the gap: resume after oldest_available_seq - 1.
    let (a, resent) = resume(&m, ALICE, 8);
    assert_eq!((a.next_seq, a.highest_seq), (9, 13));
    assert_eq!(resent, (9..=13).zip(all[8..].iter().copied()).collect::<Vec<_>>());
    assert_eq!(m.terminate().code(), Some(0));
}

/// Repro: `retransmit_messages_per_account = 5`; Alice rests 6 orders (reading each answer) and
/// mass-cancels them: the 7 reports of that one command are numbered and retained before the
/// publisher copies any to her session, so 7 and 8 are evicted unsent and she gets
/// `Logout(SlowConsumer)` although she reads promptly; her next login from 6 then gets
/// `SequenceUnavailable`. The same happens with the default window (100,000) when one publisher
/// batch holds more reports for one account than the window (a lagging publisher can take up
/// to `output_ring_slots` = 262,144 events at once).
#[test]

fn a_burst_larger_than_the_retained_window_does_not_cut_off_a_prompt_reader() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ConfigText::default().set("retransmit_messages_per_account", "5");
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);
    let mut alice = m.trader(ALICE);
    for cid in 1..=6 {
        place(&mut alice, limit(cid, Side::Buy, px(-100 - cid as i64), q(1)));
    }
    alice.mass_cancel(MassCancel { instrument: None, side: None }).unwrap();
    let got = next_reports(&mut alice, 7);
    assert!(matches!(got[6], ExecReport::MassCancelled(c) if c.count == 6), "{got:?}");
    assert_eq!(m.terminate().code(), Some(0));
}
