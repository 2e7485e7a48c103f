//! Client library, session layer: login, logout, heartbeats, timeouts, closes (against an in-test
//! fake server). Timing checks only use bounds a busy machine cannot break: a timeout must not
//! fire early (measured from instants it cannot precede), counts of heartbeats are bounded by the
//! time that actually passed, and waits for events are bounded by [`T`], which only bounds a hang.

mod client_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use client::{Client, ClientError, LoginParams};
use client_common::FakeServer;
use protocol::*;

const T: Duration = client_common::IO;

#[test]
fn login_accepted_sends_every_field() {
    let server = FakeServer::spawn(|c| {
        let l = c.accept_login(45, 500, 10_000);
        assert_eq!(l.account, 7);
        assert_eq!(&l.credential[..13], b"demo-secret-7");
        assert!(l.credential[13..].iter().all(|&b| b == 0), "NUL padded");
        assert_eq!(l.role, Role::Trader);
        assert_eq!(l.last_seen_seq, 41);
        assert_eq!(l.heartbeat_interval_ms, 250);
        assert_eq!(l.cancel_on_disconnect, CancelOnDisconnect::Enabled);
        assert_eq!(c.expect_non_heartbeat(), ClientMessage::Logout(Logout { reason: LogoutReason::UserRequest }));
        c.send(&ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest }));
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    assert!(!client.is_logged_in());
    let a = client
        .login(LoginParams {
            account: 7,
            credential: b"demo-secret-7",
            role: Role::Trader,
            last_seen_seq: 41,
            heartbeat_interval_ms: 250,
            cancel_on_disconnect: CancelOnDisconnect::Enabled,
        })
        .unwrap();
    assert_eq!((a.account, a.next_seq, a.highest_seq, a.heartbeat_interval_ms), (7, 42, 45, 500));
    assert!(a.cancel_on_disconnect);
    assert!(client.is_logged_in());
    assert_eq!(client.session(), Some(&a));
    assert_eq!(client.last_seen_seq(), 41);
    let got = client.logout_and_drain(T).unwrap();
    assert_eq!(got, vec![ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest })]);
    assert!(matches!(client.recv(T), Err(ClientError::Closed)));
    server.join();
}

#[test]
fn login_rejected_is_an_error_with_its_details() {
    let server = FakeServer::spawn(|c| {
        let l = c.expect_login();
        c.send(&ServerMessage::LoginRejected(LoginRejected {
            account: l.account,
            reason: LoginRejectReason::SequenceUnavailable,
            highest_seq: 500_000,
            oldest_available_seq: 400_001,
            leader: None,
        }));
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    let err = client.login(LoginParams::trader(1, b"alice-demo")).unwrap_err();
    match err {
        ClientError::LoginRejected { reason, highest_seq, oldest_available_seq, .. } => {
            assert_eq!(reason, LoginRejectReason::SequenceUnavailable);
            assert_eq!((highest_seq, oldest_available_seq), (500_000, 400_001));
        }
        e => panic!("unexpected {e:?}"),
    }
    assert!(err_to_string_mentions(&client.login(LoginParams::trader(1, b"x")).unwrap_err(), "login in state"));
    assert!(matches!(client.recv(Duration::from_millis(10)), Err(ClientError::Closed)));
    server.join();
}

fn err_to_string_mentions(e: &ClientError, s: &str) -> bool {
    e.to_string().contains(s)
}

#[test]
fn admin_login_and_credential_limit() {
    let server = FakeServer::spawn(|c| {
        let l = c.accept_login(0, 1000, 10_000);
        assert_eq!((l.account, l.role), (0, Role::Admin));
        assert_eq!(&l.credential[..], &[b'k'; CREDENTIAL_LEN][..]);
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    let too_long = [b'k'; CREDENTIAL_LEN + 1];
    assert!(matches!(
        client.login(LoginParams::admin(0, &too_long)),
        Err(ClientError::CredentialTooLong { len }) if len == CREDENTIAL_LEN + 1
    ));
    let a = client.login(LoginParams::admin(0, &too_long[..CREDENTIAL_LEN])).unwrap();
    assert_eq!(a.role, Role::Admin);
    server.join();
}

#[test]
fn login_without_answer_times_out() {
    let server = FakeServer::spawn(|c| {
        c.expect_login();
        // Never answers; stays connected until the client gives up (a client that ignored its
        // timeout would see the connection close instead, after T of silence).
        c.wait_close();
    });
    let mut client = Client::connect(server.addr, Duration::from_millis(200)).unwrap();
    let t0 = Instant::now();
    let r = client.login(LoginParams::trader(1, b"alice-demo"));
    assert!(matches!(r, Err(ClientError::Timeout)), "{r:?}");
    assert!(t0.elapsed() >= Duration::from_millis(200), "gave up early: {:?}", t0.elapsed());
    drop(client);
    server.join();
}

#[test]
fn logout_before_login_answer_is_unexpected() {
    let server = FakeServer::spawn(|c| {
        c.expect_login();
        c.send(&ServerMessage::Logout(Logout { reason: LogoutReason::LoginTimeout }));
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    let e = client.login(LoginParams::trader(1, b"alice-demo")).unwrap_err();
    assert!(matches!(&e, ClientError::Unexpected(s) if s.contains("LOGOUT reason=LoginTimeout")), "{e:?}");
    server.join();
}

#[test]
fn connect_refused_is_io_error() {
    // Bound, never listening, without SO_REUSEADDR: the port stays refused. A listener bound and
    // dropped would free it for a parallel test's fake server, which this connect would reach.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    assert!(matches!(Client::connect(addr, T), Err(ClientError::Io(_))));
}

#[test]
fn recv_times_out_with_none() {
    // A minute's heartbeat interval and two of timeout: a recv that waited for either instead of
    // its own timeout would take far longer than the generous bound below.
    let server = FakeServer::spawn(|c| {
        c.accept_login(0, 60_000, 120_000);
        // Stay silent until the client leaves.
        c.wait_close();
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    client.login(LoginParams::trader(1, b"alice-demo")).unwrap();
    for ms in [0u64, 1, 150] {
        let t0 = Instant::now();
        assert_eq!(client.recv(Duration::from_millis(ms)).unwrap(), None);
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(ms) && took < Duration::from_millis(ms) + T, "{ms}: {took:?}");
    }
    client.close();
    assert!(matches!(client.recv(T), Err(ClientError::Closed)));
    assert!(matches!(client.heartbeat(), Err(ClientError::Closed)));
    server.join();
}

#[test]
fn heartbeats_are_sent_when_idle_and_not_when_busy() {
    const INTERVAL: Duration = Duration::from_millis(100);
    // The server's view: when each idle-phase heartbeat arrived, and how many came while busy.
    let idle_beats = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let seen = idle_beats.clone();
    let server = FakeServer::spawn(move |c| {
        c.accept_login(0, INTERVAL.as_millis() as u32, 60_000);
        // Phase 1 (idle) until the first Cancel, phase 2 (busy) until the Logout.
        let mut idle = Vec::new();
        loop {
            match c.expect() {
                ClientMessage::Heartbeat => {
                    idle.push(Instant::now());
                    seen.fetch_add(1, Ordering::Relaxed);
                }
                ClientMessage::Cancel(_) => break,
                m => panic!("unexpected {m:?}"),
            }
        }
        let mut busy = 0usize;
        loop {
            match c.expect() {
                ClientMessage::Heartbeat => busy += 1,
                ClientMessage::Cancel(_) => {}
                ClientMessage::Logout(_) => break,
                m => panic!("unexpected {m:?}"),
            }
        }
        c.send(&ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest }));
        tx.send((idle, busy)).unwrap();
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    let before_login = Instant::now();
    client.login(LoginParams { heartbeat_interval_ms: 100, ..LoginParams::trader(1, b"alice-demo") }).unwrap();
    // Phase 1: the client only waits in recv until the server has seen three heartbeats (a client
    // that sends one and stops would hang here until T).
    let deadline = Instant::now() + T;
    while idle_beats.load(Ordering::Relaxed) < 3 {
        assert!(Instant::now() < deadline, "no repeated heartbeats while idle");
        assert_eq!(client.recv(Duration::from_millis(50)).unwrap(), None);
    }
    let idle_for = before_login.elapsed();
    // Phase 2: a cancel at least every 30 ms, so no heartbeat is due. Each step is timed from
    // before its send to the end of its wait: only a step a busy machine stretched to the interval
    // or beyond may add heartbeats (one per interval it lasted, and one more).
    let mut allowed = 0u128;
    for _ in 0..10 {
        let t = Instant::now();
        client.cancel(engine::OrderRef::Client(1)).unwrap();
        assert_eq!(client.recv(Duration::from_millis(30)).unwrap(), None);
        let span = t.elapsed();
        if span >= INTERVAL {
            allowed += span.as_millis() / INTERVAL.as_millis() + 1;
        }
    }
    let out = client.logout_and_drain(T).unwrap();
    assert_eq!(out.last(), Some(&ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest })));
    server.join();
    let (idle, busy) = rx.recv().unwrap();
    // Idle: never before an interval of silence, so at most one per interval that passed.
    assert!(idle[0] >= before_login + INTERVAL, "first heartbeat {:?} after the login", idle[0] - before_login);
    assert!(
        idle.len() as u128 * INTERVAL.as_millis() <= idle_for.as_millis() + 1,
        "{} heartbeats in {idle_for:?}",
        idle.len()
    );
    // Busy: none, unless the machine stalled the client for an interval.
    assert!(busy as u128 <= allowed, "{busy} heartbeats while sending every 30 ms (allowed {allowed})");
}

#[test]
fn server_heartbeats_are_returned_and_keep_the_session_alive() {
    const TIMEOUT: Duration = Duration::from_millis(1000);
    let (tx, rx) = mpsc::channel();
    let server = FakeServer::spawn(move |c| {
        let (_, accepted_at) = c.accept_login_at(0, 100, TIMEOUT.as_millis() as u32);
        // Just before each message was written (the LoginAccepted, then the heartbeats): the
        // client cannot have received it earlier.
        let mut sent = vec![accepted_at];
        // Just after each heartbeat was written: the client could read it by then.
        let mut written = Vec::new();
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(100));
            sent.push(Instant::now());
            c.send(&ServerMessage::Heartbeat);
            written.push(Instant::now());
        }
        tx.send((sent, written)).unwrap();
        // Then silence until the client gives up and closes.
        c.wait_close();
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    client.login(LoginParams::trader(1, b"alice-demo")).unwrap();
    let mut beats = 0;
    let err = loop {
        match client.recv(T) {
            Ok(Some(ServerMessage::Heartbeat)) => beats += 1,
            Ok(m) => panic!("unexpected {m:?}"),
            Err(e) => break e,
        }
    };
    let gave_up = Instant::now();
    assert!(matches!(err, ClientError::Timeout), "{err:?}");
    assert!(matches!(client.recv(T), Err(ClientError::Closed)));
    server.join();
    let (sent, written) = rx.recv().unwrap();
    // Not before a whole timeout of silence after the last heartbeat it received was written.
    let silence = gave_up - sent[beats];
    assert!(silence >= TIMEOUT, "gave up {silence:?} after heartbeat {beats} was written");
    // Each heartbeat kept the session alive: all six came through, unless a busy machine held the
    // fake server back for a whole timeout between two of them (then the client was right to go).
    // Each gap runs from before one message's write to after the next one's, so it is never
    // shorter than the silence the client saw: a stall around a write only lengthens it.
    let longest_gap = sent.iter().zip(&written).map(|(s, w)| *w - *s).max().unwrap();
    if longest_gap < TIMEOUT {
        assert_eq!(beats, 6);
    } else {
        eprintln!("the fake server stalled {longest_gap:?}: {beats} heartbeats before the timeout");
    }
}

#[test]
fn server_logout_is_a_message_then_closed() {
    let server = FakeServer::spawn(|c| {
        c.accept_login(0, 1000, 10_000);
        c.send(&ServerMessage::Logout(Logout { reason: LogoutReason::ServerShutdown }));
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    client.login(LoginParams::trader(1, b"alice-demo")).unwrap();
    assert_eq!(client.recv(T).unwrap(), Some(ServerMessage::Logout(Logout { reason: LogoutReason::ServerShutdown })));
    assert!(!client.is_logged_in());
    assert!(matches!(client.recv(T), Err(ClientError::Closed)));
    assert!(matches!(client.recv(T), Err(ClientError::Closed)));
    server.join();
}

#[test]
fn disconnect_without_logout_is_closed() {
    let server = FakeServer::spawn(|c| {
        c.accept_login(0, 1000, 10_000);
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    client.login(LoginParams::trader(1, b"alice-demo")).unwrap();
    server.join();
    assert!(matches!(client.recv(T), Err(ClientError::Closed)));
    assert!(matches!(client.new_order(client_common::buy(1, 5_000_000, 1000)), Err(ClientError::Closed)));
}

#[test]
fn send_bytes_sends_raw_data_and_session_reject_is_returned() {
    let garbage = [0x10, 0x00, 0x08, 0x00, 0x14, 0x00, 0x44, 0x4d, 0x01, 0x00, 1, 2, 3, 4, 5, 6, 7, 8];
    let server = FakeServer::spawn(move |c| {
        c.accept_login(0, 1000, 10_000);
        assert_eq!(c.recv_raw(garbage.len(), T), garbage);
        c.send(&ServerMessage::SessionReject(SessionReject {
            ref_template_id: 20,
            reason: SessionRejectReason::BadLength,
            field_offset: None,
            client_order_id: 0,
        }));
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    client.login(LoginParams::trader(1, b"alice-demo")).unwrap();
    client.send_bytes(&garbage).unwrap();
    let m = client.recv(T).unwrap().unwrap();
    assert_eq!(client::describe(&m), "SESSION REJECT template=20 reason=BadLength");
    server.join();
}
