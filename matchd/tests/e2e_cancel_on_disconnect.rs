//! Cancel on disconnect: a session that ends other than by the client's `Logout` has its
//! account's orders cancelled when it asked for it (or the server's default says so); the
//! `OrderCancelled(MassCancel)` and `MassCancelled` reports reach the client on its next login.

mod e2e_common;

use client::{Client, LoginParams};
use e2e_common::*;
use engine::{CancelReason, Cancelled, MassCancel, MassCancelled, Side};
use protocol::{CancelOnDisconnect, ClientMessage, ExecReport, Logout, LogoutReason, ServerMessage};

fn q(n: u64) -> u64 {
    n * 10 * BTC_LOT
}

fn params(cod: CancelOnDisconnect) -> LoginParams<'static> {
    let mut p = LoginParams::trader(ALICE.0, ALICE.1.as_bytes());
    p.cancel_on_disconnect = cod;
    p
}

/// Rests three orders on Alice's account.
fn rest_three(c: &mut Client) -> Vec<engine::Accepted> {
    let base = c.last_seen_seq() * 10 + 1;
    (0..3u64).map(|i| place(c, limit(base + i, Side::Buy, px(-100 - 10 * i as i64), q(i + 1)))).collect()
}

fn mass_cancelled(orders: &[engine::Accepted]) -> Vec<ExecReport> {
    let mut v: Vec<ExecReport> = orders
        .iter()
        .map(|a| {
            ExecReport::Cancelled(Cancelled {
                account: a.account,
                order_id: a.order_id,
                client_order_id: a.client_order_id,
                instrument: a.instrument,
                side: a.side,
                cancelled_qty: a.qty,
                filled_qty: 0,
                reason: CancelReason::MassCancel,
            })
        })
        .collect();
    v.push(ExecReport::MassCancelled(MassCancelled { account: orders[0].account, count: orders.len() as u32 }));
    v
}

/// Logs Alice in again from `last` and returns the resent reports (`next_seq..=highest_seq`).
fn resend(m: &Matchd, last: u64) -> (Client, Vec<ExecReport>) {
    let mut p = params(CancelOnDisconnect::Disabled);
    p.last_seen_seq = last;
    let mut c = m.login_retrying(p);
    let highest = c.session().unwrap().highest_seq;
    let mut got = Vec::new();
    while c.last_seen_seq() < highest {
        got.push(next_report(&mut c).1);
    }
    (c, got)
}

/// The orders are still live: a mass cancel finds exactly them.
fn assert_still_live(c: &mut Client, orders: &[engine::Accepted]) {
    c.mass_cancel(MassCancel { instrument: None, side: None }).unwrap();
    assert_eq!(next_reports(c, orders.len() + 1), mass_cancelled(orders));
}

#[test]
fn enabled_cancels_on_connection_loss() {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_default(&dir.path().join("data"));
    let mut c = m.login(params(CancelOnDisconnect::Enabled)).unwrap();
    assert!(c.session().unwrap().cancel_on_disconnect);
    let orders = rest_three(&mut c);
    let last = c.last_seen_seq();
    c.close(); // the TCP connection drops, no Logout
    let (mut c, got) = resend(&m, last);
    assert_eq!(got, mass_cancelled(&orders));
    // Nothing else is left to cancel.
    c.mass_cancel(MassCancel { instrument: None, side: None }).unwrap();
    assert_eq!(next_report(&mut c).1, ExecReport::MassCancelled(MassCancelled { account: 1, count: 0 }));
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn disabled_keeps_orders_on_connection_loss() {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_default(&dir.path().join("data"));
    let mut c = m.login(params(CancelOnDisconnect::Disabled)).unwrap();
    assert!(!c.session().unwrap().cancel_on_disconnect);
    let orders = rest_three(&mut c);
    let last = c.last_seen_seq();
    c.close();
    let (mut c, got) = resend(&m, last);
    assert_eq!(got, vec![]);
    assert_still_live(&mut c, &orders);
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn client_logout_does_not_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_default(&dir.path().join("data"));
    let mut c = m.login(params(CancelOnDisconnect::Enabled)).unwrap();
    let orders = rest_three(&mut c);
    let last = c.last_seen_seq();
    let bye = c.logout_and_drain(IO).unwrap();
    assert_eq!(bye, vec![ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest })]);
    let (mut c, got) = resend(&m, last);
    assert_eq!(got, vec![]);
    assert_still_live(&mut c, &orders);
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn server_default_applies_when_the_login_says_default() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ConfigText::default().set("cancel_on_disconnect_default", "true");
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);
    let mut c = m.login(params(CancelOnDisconnect::Default)).unwrap();
    assert!(c.session().unwrap().cancel_on_disconnect);
    let orders = rest_three(&mut c);
    let last = c.last_seen_seq();
    drop(c);
    let (mut c, got) = resend(&m, last);
    assert_eq!(got, mass_cancelled(&orders));
    let last = c.last_seen_seq();
    c.logout_and_drain(IO).unwrap();
    // The login's explicit Disabled overrides the default.
    let mut c = m.login_retrying(LoginParams { last_seen_seq: last, ..params(CancelOnDisconnect::Disabled) });
    assert!(!c.session().unwrap().cancel_on_disconnect);
    let orders = rest_three(&mut c);
    let last = c.last_seen_seq();
    drop(c);
    let (mut c, got) = resend(&m, last);
    assert_eq!(got, vec![]);
    assert_still_live(&mut c, &orders);
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn heartbeat_timeout_counts_as_a_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    // Five seconds: the login's answer and the order must reach the server within it, which a
    // busy machine can stretch well past a second.
    let cfg = ConfigText::default().set("heartbeat_timeout_ms", "5000");
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);
    let mut raw = Raw::connect(&m);
    raw.login_with(&params(CancelOnDisconnect::Enabled));
    assert!(matches!(raw.recv(IO), Some(ServerMessage::LoginAccepted(a)) if a.cancel_on_disconnect));
    let order = limit(1, Side::Buy, px(-100), q(1));
    raw.send(&ClientMessage::NewOrder(order));
    // Then silence: the server logs the session out after the timeout.
    let got = raw.recv_until_eof(IO);
    let a = match got.first() {
        Some(ServerMessage::Report { seq: 1, report: ExecReport::Accepted(a) }) => *a,
        other => panic!("{other:?} in {got:?}"),
    };
    assert_eq!(&got[1..], &[ServerMessage::Logout(Logout { reason: LogoutReason::HeartbeatTimeout })]);
    let (_c, resent) = resend(&m, 1);
    assert_eq!(resent, mass_cancelled(&[a]));
    assert_eq!(m.terminate().code(), Some(0));
}
