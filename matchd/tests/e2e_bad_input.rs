//! Bad input and authentication: every refusal is answered exactly as `docs/protocol.md` says,
//! fatal errors close the connection, non-fatal ones leave the session usable, and meanwhile
//! another session (Bob, the bystander) keeps trading and the server never dies.

mod e2e_common;

use std::time::{Duration, Instant};

use client::{Client, ClientError, LoginParams};
use e2e_common::*;
use engine::{Amend, Cancel, MassCancel, NewOrder, OrderRef, Side};
use protocol::{
    ClientMessage, ExecReport, LoginAccepted, LoginRejectReason, LoginRejected, Logout, LogoutReason, Role,
    ServerMessage, SessionReject, SessionRejectReason,
};

fn q(n: u64) -> u64 {
    n * 10 * BTC_LOT
}

fn start(cfg: ConfigText) -> (tempfile::TempDir, Matchd, Bystander) {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);
    let b = Bystander::start(&m, BOB, Duration::from_millis(300));
    (dir, m, b)
}

/// The bystander got every answer (each within the harness's hang bound) and still does; matchd
/// is alive and stops cleanly.
fn finish(mut m: Matchd, b: Bystander) {
    let rounds = b.finish();
    assert!(rounds >= 1, "the bystander never completed a round");
    assert!(m.is_running(), "matchd died:\n{}", m.stderr());
    assert_eq!(m.terminate().code(), Some(0));
}

fn enc(m: &ClientMessage) -> Vec<u8> {
    let mut v = vec![0u8; 256];
    let n = m.encode(&mut v).unwrap();
    v.truncate(n);
    v
}

/// Block offset `off` of an encoded message (after the 2-byte length and 8-byte header).
const B: usize = 10;

fn reject(template: u16, reason: SessionRejectReason, field_offset: Option<u16>, cid: u64) -> ServerMessage {
    ServerMessage::SessionReject(SessionReject {
        ref_template_id: template,
        reason,
        field_offset,
        client_order_id: cid,
    })
}

fn login_rejected(account: u32, reason: LoginRejectReason) -> ServerMessage {
    ServerMessage::LoginRejected(LoginRejected {
        account,
        reason,
        highest_seq: 0,
        oldest_available_seq: 0,
        leader: None,
    })
}

fn logout(reason: LogoutReason) -> ServerMessage {
    ServerMessage::Logout(Logout { reason })
}

/// A raw login with `secret` for `account` in `role`; returns everything until EOF.
fn raw_login(m: &Matchd, account: u32, secret: &str, role: Role) -> Vec<ServerMessage> {
    let mut raw = Raw::connect(m);
    raw.login_with(&LoginParams { role, ..LoginParams::trader(account, secret.as_bytes()) });
    raw.recv_until_eof(IO)
}

#[test]
fn login_failures_are_answered_then_closed() {
    let (_d, m, b) = start(ConfigText::default());
    assert_eq!(raw_login(&m, 1, "alice-wrong", Role::Trader), [login_rejected(1, LoginRejectReason::BadCredentials)]);
    assert_eq!(raw_login(&m, 42, "whoever", Role::Trader), [login_rejected(42, LoginRejectReason::BadCredentials)]);
    // A valid secret with the wrong role is a bad credential, both ways round.
    assert_eq!(raw_login(&m, 1, ALICE.1, Role::Admin), [login_rejected(1, LoginRejectReason::BadCredentials)]);
    assert_eq!(raw_login(&m, 0, ADMIN.1, Role::Trader), [login_rejected(0, LoginRejectReason::BadCredentials)]);

    // One session per account: the second is refused, the first is unaffected.
    let mut alice = m.trader(ALICE);
    assert_eq!(raw_login(&m, 1, ALICE.1, Role::Trader), [login_rejected(1, LoginRejectReason::AlreadyLoggedIn)]);
    assert!(matches!(
        m.login(LoginParams::trader(BOB.0, BOB.1.as_bytes())),
        Err(ClientError::LoginRejected { reason: LoginRejectReason::AlreadyLoggedIn, .. })
    ));
    place(&mut alice, limit(1, Side::Buy, px(-100), q(1)));

    // A login that does not decode (role 7 at offset 16): refused and closed.
    let mut bytes = enc(&ClientMessage::Login(protocol::Login {
        account: 1,
        credential: protocol::Login::credential_from(b"x").unwrap(),
        last_seen_seq: 0,
        heartbeat_interval_ms: 0,
        role: Role::Trader,
        cancel_on_disconnect: protocol::CancelOnDisconnect::Default,
    }));
    bytes[B + 16] = 7;
    let mut raw = Raw::connect(&m);
    raw.send_bytes(&bytes);
    assert_eq!(raw.recv_until_eof(IO), [reject(1, SessionRejectReason::BadFieldValue, Some(16), 0)]);
    assert_quiet(&mut alice);
    finish(m, b);
}

#[test]
fn messages_before_login_are_refused_and_the_connection_closed() {
    let (_d, m, b) = start(ConfigText::default());
    let mut raw = Raw::connect(&m);
    raw.send(&ClientMessage::NewOrder(limit(77, Side::Buy, px(-100), q(1))));
    assert_eq!(raw.recv_until_eof(IO), [reject(20, SessionRejectReason::NotLoggedIn, None, 77)]);
    let mut raw = Raw::connect(&m);
    raw.send(&ClientMessage::Heartbeat);
    assert_eq!(raw.recv_until_eof(IO), [reject(4, SessionRejectReason::NotLoggedIn, None, 0)]);
    finish(m, b);
}

#[test]
fn no_login_in_time_is_logged_out() {
    // Six seconds: the bystander's own login must come within it on a busy machine.
    const LOGIN_TIMEOUT_MS: u64 = 6000;
    let (_d, m, b) = start(ConfigText::default().set("login_timeout_ms", &LOGIN_TIMEOUT_MS.to_string()));
    let t = Instant::now();
    let mut raw = Raw::connect(&m);
    assert_eq!(raw.recv_until_eof(IO), [logout(LogoutReason::LoginTimeout)]);
    assert!(t.elapsed() >= Duration::from_millis(LOGIN_TIMEOUT_MS), "{:?}", t.elapsed());
    finish(m, b);
}

#[test]
fn framing_errors_are_fatal() {
    let (_d, m, b) = start(ConfigText::default());
    // Before login: a length prefix beyond max_frame_bytes (1024), reported as soon as it arrives.
    let mut raw = Raw::connect(&m);
    raw.send_bytes(&[0xff, 0xff]);
    assert_eq!(
        raw.recv_until_eof(IO),
        [reject(0, SessionRejectReason::TooLarge, None, 0), logout(LogoutReason::ProtocolError)]
    );
    // A length shorter than the header.
    let mut raw = Raw::connect(&m);
    raw.send_bytes(&[0x03, 0x00, 1, 2, 3]);
    assert_eq!(
        raw.recv_until_eof(IO),
        [reject(0, SessionRejectReason::BadLength, None, 0), logout(LogoutReason::ProtocolError)]
    );
    // Garbage after a login: the same, through the logged-in session.
    let mut alice = m.trader(ALICE);
    alice.send_bytes(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let got: Vec<ServerMessage> =
        read_until_closed(&mut alice).into_iter().filter(|m| *m != ServerMessage::Heartbeat).collect();
    // "GE" = 0x4547 = 17735 bytes: too large.
    assert_eq!(got, [reject(0, SessionRejectReason::TooLarge, None, 0), logout(LogoutReason::ProtocolError)]);
    // Alice can log in again.
    let mut alice = m.login_retrying(LoginParams::trader(ALICE.0, ALICE.1.as_bytes()));
    place(&mut alice, limit(1, Side::Buy, px(-100), q(1)));
    finish(m, b);
}

#[test]
fn malformed_messages_after_login_are_refused_and_the_session_goes_on() {
    let (_d, m, b) = start(ConfigText::default());
    let mut alice = m.trader(ALICE);
    let order = limit(5, Side::Buy, px(-100), q(1));
    let new_order = enc(&ClientMessage::NewOrder(order));
    let check = |alice: &mut Client, bytes: Vec<u8>, want: ServerMessage| {
        alice.send_bytes(&bytes).unwrap();
        assert_eq!(next_session_msg(alice), want, "after sending {bytes:02x?}");
    };
    use SessionRejectReason::*;

    // Unknown template, and a server-to-client template sent by the client.
    check(&mut alice, vec![8, 0, 0, 0, 99, 0, 0x44, 0x4d, 1, 0], reject(99, UnknownTemplate, None, 0));
    let mut v = vec![0u8; 74];
    v[..10].copy_from_slice(&[72, 0, 64, 0, 40, 0, 0x44, 0x4d, 1, 0]);
    check(&mut alice, v, reject(40, UnknownTemplate, None, 0));
    // Block length disagreeing with the frame length, and a block shorter than the template's.
    let mut v = new_order.clone();
    v[2] = 31;
    check(&mut alice, v, reject(20, BadLength, None, 5));
    let mut v = new_order[..B + 16].to_vec();
    v[0] = 24;
    v[2] = 16;
    check(&mut alice, v, reject(20, BadLength, None, 5));
    // Unknown schema, version 0.
    let mut v = new_order.clone();
    v[6] = 0x12;
    check(&mut alice, v, reject(20, UnknownSchema, None, 5));
    let mut v = new_order.clone();
    v[8] = 0;
    check(&mut alice, v, reject(20, UnsupportedVersion, None, 5));
    // Enum and flag fields out of range, with their offsets.
    for (off, val) in [(28, 9u8), (29, 0), (30, 5), (31, 4)] {
        let mut v = new_order.clone();
        v[B + off] = val;
        check(&mut alice, v, reject(20, BadFieldValue, Some(off as u16), 5));
    }
    let mut v = enc(&ClientMessage::Cancel(Cancel { order: OrderRef::Client(5) }));
    v[B + 8] = 3;
    check(&mut alice, v, reject(21, BadFieldValue, Some(8), 0));
    let mut v = enc(&ClientMessage::Amend(Amend { order: OrderRef::Client(5), new_qty: Some(q(2)), new_price: None }));
    v[B + 25] = 0b101;
    check(&mut alice, v, reject(22, BadFieldValue, Some(25), 5));
    let mut v = enc(&ClientMessage::MassCancel(MassCancel { instrument: None, side: None }));
    v[B + 4] = 3;
    check(&mut alice, v.clone(), reject(23, BadFieldValue, Some(4), 0));
    v[B + 4] = 0;
    v[B + 5] = 2;
    check(&mut alice, v, reject(23, BadFieldValue, Some(5), 0));
    // A second login.
    let login = protocol::Login {
        account: 1,
        credential: protocol::Login::credential_from(ALICE.1.as_bytes()).unwrap(),
        last_seen_seq: 0,
        heartbeat_interval_ms: 0,
        role: Role::Trader,
        cancel_on_disconnect: protocol::CancelOnDisconnect::Default,
    };
    check(&mut alice, enc(&ClientMessage::Login(login)), reject(1, UnexpectedMessage, None, 0));

    // None of it reached the engine; the session works: a valid order, and one with a longer
    // block (a later schema version's appended field), which is accepted.
    assert_quiet(&mut alice);
    place(&mut alice, order);
    let mut v = enc(&ClientMessage::NewOrder(NewOrder { client_order_id: 6, ..order }));
    v.extend_from_slice(&[0xAB; 8]);
    v[0] += 8;
    v[2] += 8;
    v[8] = 2;
    alice.send_bytes(&v).unwrap();
    assert_eq!(accepted(&next_report(&mut alice).1).client_order_id, 6);
    assert_quiet(&mut alice);
    finish(m, b);
}

#[test]
fn silent_client_is_logged_out_after_the_heartbeat_timeout() {
    // Four seconds: the listening clients below send a heartbeat every 200 ms, which leaves them
    // 3.8 s of slack for a busy machine to schedule them.
    const TIMEOUT_MS: u32 = 4000;
    let (_d, m, b) = start(ConfigText::default().set("heartbeat_timeout_ms", &TIMEOUT_MS.to_string()));
    // A client asking for a 60 s interval gets it clamped to half the timeout.
    let mut raw = Raw::connect(&m);
    // Before the login is sent: the server's silence clock cannot start earlier, so the lower
    // bound below holds however long this thread waits for a core after the send.
    let t = Instant::now();
    raw.login(ALICE, 60_000);
    let got = raw.recv_until_eof(IO);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        matches!(
            got[0],
            ServerMessage::LoginAccepted(LoginAccepted { heartbeat_interval_ms, heartbeat_timeout_ms, .. })
                if (heartbeat_interval_ms, heartbeat_timeout_ms) == (TIMEOUT_MS / 2, TIMEOUT_MS)
        ),
        "{got:?}"
    );
    assert_eq!(got[1], logout(LogoutReason::HeartbeatTimeout));
    assert!(t.elapsed() >= Duration::from_millis(TIMEOUT_MS.into()), "{:?}", t.elapsed());

    // The default interval in force leaves room for a heartbeat within the timeout (both ways).
    let mut raw = Raw::connect(&m);
    raw.login_with(&LoginParams::admin(ADMIN.0, ADMIN.1.as_bytes()));
    match raw.recv(IO) {
        Some(ServerMessage::LoginAccepted(a)) => {
            assert!(a.heartbeat_interval_ms * 2 <= a.heartbeat_timeout_ms, "{a:?}")
        }
        other => panic!("{other:?}"),
    }
    drop(raw);
    // A client that only listens is not timed out: its heartbeats count. It asks for 200 ms
    // rather than the default (half the timeout here), which would leave a test thread starved
    // on a busy machine only two seconds. Listening for twice the timeout shows its heartbeats kept
    // it alive.
    let mut p = LoginParams::admin(ADMIN.0, ADMIN.1.as_bytes());
    p.heartbeat_interval_ms = 200;
    let mut admin = m.login_retrying(p);
    let a = *admin.session().unwrap();
    assert_eq!((a.heartbeat_interval_ms, a.heartbeat_timeout_ms), (200, TIMEOUT_MS), "{a:?}");
    let idle = admin.recv_for(Duration::from_millis(2 * u64::from(TIMEOUT_MS))).expect("idle admin session stays up");
    assert!(idle.iter().all(|m| matches!(m, ServerMessage::Heartbeat | ServerMessage::Report { .. })), "{idle:?}");
    assert_quiet(&mut admin);
    finish(m, b);
}

#[test]
fn messages_over_the_rate_limit_are_refused() {
    const RATE: u64 = 20;
    const BURST: u64 = 200;
    let (_d, m, b) = start(ConfigText::default().set("max_messages_per_sec", &RATE.to_string()));
    let mut alice = m.trader(ALICE);
    let mut burst = Vec::new();
    for cid in 1..=BURST {
        burst.extend(enc(&ClientMessage::NewOrder(limit(cid, Side::Buy, px(-100), q(1)))));
    }
    let sent_at = Instant::now();
    alice.send_bytes(&burst).unwrap();
    let (mut ok, mut limited) = (Vec::new(), Vec::new());
    while ok.len() + limited.len() < BURST as usize {
        match alice.recv(IO).unwrap() {
            Some(ServerMessage::Report { report: ExecReport::Accepted(a), .. }) => ok.push(a.client_order_id),
            Some(ServerMessage::SessionReject(r)) => {
                assert_eq!((r.ref_template_id, r.reason, r.field_offset), (20, SessionRejectReason::RateLimited, None));
                limited.push(r.client_order_id);
            }
            Some(ServerMessage::Heartbeat) => {}
            other => panic!("{other:?}"),
        }
    }
    // The bucket starts full, and refills at RATE a second at most while the server works through
    // the burst (however long a busy machine makes that: the time until the last answer bounds it).
    let refill_max = (sent_at.elapsed().as_secs_f64() * RATE as f64).ceil() as usize + 1;
    assert_eq!(&ok[..RATE as usize], &(1..=RATE).collect::<Vec<_>>()[..], "the bucket starts full");
    assert!(ok.len() <= RATE as usize + refill_max, "{} let through, at most {RATE} + {refill_max}", ok.len());
    assert!(!limited.is_empty(), "nothing was rate limited");
    let mut all: Vec<u64> = ok.iter().chain(&limited).copied().collect();
    all.sort();
    assert_eq!(all, (1..=BURST).collect::<Vec<_>>());
    // The bucket refills: a refused order can be sent again and goes through.
    let retry = limited[0];
    let deadline = Instant::now() + IO;
    'retry: loop {
        alice.new_order(limit(retry, Side::Buy, px(-100), q(1))).unwrap();
        loop {
            match alice.recv(IO).unwrap() {
                Some(ServerMessage::Report { report: ExecReport::Accepted(a), .. }) if a.client_order_id == retry => {
                    break 'retry
                }
                Some(ServerMessage::SessionReject(r)) if r.reason == SessionRejectReason::RateLimited => {
                    assert_eq!(r.client_order_id, retry);
                    assert!(Instant::now() < deadline, "the rate limit never let the order through");
                    // Wait a token's worth (1/20 s) on the socket, then try again.
                    let idle = alice.recv_for(Duration::from_millis(50)).unwrap();
                    assert!(idle.iter().all(|m| *m == ServerMessage::Heartbeat), "{idle:?}");
                    continue 'retry;
                }
                Some(ServerMessage::Heartbeat) => {}
                other => panic!("{other:?}"),
            }
        }
    }
    finish(m, b);
}

#[test]
fn logins_beyond_max_connections_are_refused_and_idle_sockets_do_not_count() {
    let (_d, m, b) = start(ConfigText::default().set("max_connections", "3").with_extra_traders());
    // Connections that have not logged in have their own budget: they take no session's place.
    let idle: Vec<Raw> = (0..5).map(|_| Raw::connect(&m)).collect();
    // The bystander (bob), alice and the admin: three sessions.
    let mut alice = m.login(LoginParams::trader(ALICE.0, ALICE.1.as_bytes())).expect("alice");
    let mut raw2 = Raw::connect(&m);
    raw2.login_with(&LoginParams::admin(ADMIN.0, ADMIN.1.as_bytes()));
    assert!(matches!(raw2.recv(IO), Some(ServerMessage::LoginAccepted(a)) if a.account == 0));
    // A fourth is refused, with an answer.
    assert!(matches!(
        m.login(LoginParams::trader(CAROL.0, CAROL.1.as_bytes())),
        Err(ClientError::LoginRejected { reason: LoginRejectReason::TooManySessions, .. })
    ));
    place(&mut alice, limit(1, Side::Buy, px(-100), q(1)));
    // Once alice has gone, there is room again.
    alice.logout_and_drain(IO).unwrap();
    let deadline = Instant::now() + IO * 4;
    let mut carol = loop {
        match m.login(LoginParams::trader(CAROL.0, CAROL.1.as_bytes())) {
            Ok(c) => break c,
            Err(ClientError::LoginRejected { reason: LoginRejectReason::TooManySessions, .. })
                if Instant::now() < deadline => {}
            Err(e) => panic!("{e}"),
        }
    };
    place(&mut carol, limit(2, Side::Buy, px(-100), q(1)));
    drop(idle);
    finish(m, b);
}
