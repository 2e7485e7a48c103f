//! Client library, session layer: login, logout, heartbeats, timeouts, closes (against an in-test
//! fake server).

mod client_common;

use std::time::{Duration, Instant};

use client::{Client, ClientError, LoginParams};
use client_common::FakeServer;
use protocol::*;

const T: Duration = Duration::from_secs(5);

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
        }));
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    let err = client.login(LoginParams::trader(1, b"alice-demo")).unwrap_err();
    match err {
        ClientError::LoginRejected { reason, highest_seq, oldest_available_seq } => {
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
        std::thread::sleep(Duration::from_millis(600));
    });
    let mut client = Client::connect(server.addr, Duration::from_millis(200)).unwrap();
    let t0 = Instant::now();
    assert!(matches!(client.login(LoginParams::trader(1, b"alice-demo")), Err(ClientError::Timeout)));
    assert!(t0.elapsed() >= Duration::from_millis(190) && t0.elapsed() < Duration::from_secs(3));
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
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    assert!(matches!(Client::connect(addr, T), Err(ClientError::Io(_))));
}

#[test]
fn recv_times_out_with_none() {
    let server = FakeServer::spawn(|c| {
        c.accept_login(0, 10_000, 60_000);
        // Stay silent until the client leaves.
        while c.recv(Duration::from_secs(5)).is_some() {}
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    client.login(LoginParams::trader(1, b"alice-demo")).unwrap();
    for ms in [0u64, 1, 150] {
        let t0 = Instant::now();
        assert_eq!(client.recv(Duration::from_millis(ms)).unwrap(), None);
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(ms) && took < Duration::from_millis(ms + 1000), "{ms}: {took:?}");
    }
    client.close();
    assert!(matches!(client.recv(T), Err(ClientError::Closed)));
    assert!(matches!(client.heartbeat(), Err(ClientError::Closed)));
    server.join();
}

#[test]
fn heartbeats_are_sent_when_idle_and_not_when_busy() {
    let server = FakeServer::spawn(|c| {
        c.accept_login(0, 100, 10_000);
        let t0 = Instant::now();
        // Phase 1: the client only waits in recv for ~550 ms: a heartbeat about every 100 ms.
        let mut beats = Vec::new();
        while let Some(m) = c.recv(Duration::from_millis(400)) {
            match m {
                ClientMessage::Heartbeat => beats.push(t0.elapsed()),
                ClientMessage::Cancel(_) => break, // phase 2 starts
                m => panic!("unexpected {m:?}"),
            }
        }
        assert!((3..=7).contains(&beats.len()), "heartbeats while idle: {beats:?}");
        assert!(beats[0] >= Duration::from_millis(90), "first heartbeat too early: {beats:?}");
        // Phase 2: the client sends a cancel every 30 ms for ~300 ms: no heartbeat needed.
        let mut heartbeats = 0;
        while let Some(m) = c.recv(Duration::from_millis(400)) {
            match m {
                ClientMessage::Heartbeat => heartbeats += 1,
                ClientMessage::Cancel(_) => {}
                ClientMessage::Logout(_) => break,
                m => panic!("unexpected {m:?}"),
            }
        }
        assert_eq!(heartbeats, 0);
        c.send(&ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest }));
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    client.login(LoginParams { heartbeat_interval_ms: 100, ..LoginParams::trader(1, b"alice-demo") }).unwrap();
    assert_eq!(client.recv(Duration::from_millis(550)).unwrap(), None);
    for _ in 0..10 {
        client.cancel(engine::OrderRef::Client(1)).unwrap();
        assert_eq!(client.recv(Duration::from_millis(30)).unwrap(), None);
    }
    let out = client.logout_and_drain(T).unwrap();
    assert_eq!(out.last(), Some(&ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest })));
    server.join();
}

#[test]
fn server_heartbeats_are_returned_and_keep_the_session_alive() {
    let server = FakeServer::spawn(|c| {
        c.accept_login(0, 100, 300);
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(100));
            c.send(&ServerMessage::Heartbeat);
        }
        // Then silence: the client must give up after its 300 ms heartbeat timeout.
        std::thread::sleep(Duration::from_millis(1500));
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    client.login(LoginParams::trader(1, b"alice-demo")).unwrap();
    let mut beats = 0;
    let t0 = Instant::now();
    let err = loop {
        match client.recv(Duration::from_secs(3)) {
            Ok(Some(ServerMessage::Heartbeat)) => beats += 1,
            Ok(m) => panic!("unexpected {m:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(beats, 6);
    assert!(matches!(err, ClientError::Timeout), "{err:?}");
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(850) && took < Duration::from_millis(4000), "{took:?}");
    assert!(matches!(client.recv(T), Err(ClientError::Closed)));
    server.join();
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
