//! The order port as an attacker sees it: failed logins are throttled per account and per source
//! address (an unknown account exactly like a known one), idle unauthenticated sockets cannot
//! lock traders out (they have their own budget, per address and in total, and every refusal is
//! answered), and admin sessions log in only where the operator allows. Real matchd binary,
//! real sockets; clients from several loopback addresses (127.0.0.0/8 is all loopback on Linux).

mod e2e_common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};

use client::{Client, ClientError, LoginParams};
use e2e_common::*;
use protocol::{LoginRejectReason, LoginRejected, Logout, LogoutReason, Role, ServerMessage};

fn login_rejected(account: u32, reason: LoginRejectReason) -> ServerMessage {
    ServerMessage::LoginRejected(LoginRejected {
        account,
        reason,
        highest_seq: 0,
        oldest_available_seq: 0,
        leader: None,
    })
}

/// A TCP connection to `to` from the loopback address `127.0.0.<host>`.
fn connect_from(host: u8, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)), 0);
    socket.bind(&from.into()).unwrap();
    socket.connect_timeout(&to.into(), IO).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Logs in over `stream`; returns the client or the login's failure.
fn login_over(stream: TcpStream, who: (u32, &str), role: Role) -> Result<Client, ClientError> {
    let mut c = Client::from_stream(stream, IO)?;
    c.login(LoginParams { role, ..LoginParams::trader(who.0, who.1.as_bytes()) })?;
    Ok(c)
}

/// Everything a raw login gets until the server closes.
fn raw_login_from(host: u8, m: &Matchd, who: (u32, &str), role: Role) -> Vec<ServerMessage> {
    let mut raw = Raw::from_stream(connect_from(host, m.addr));
    raw.login_with(&LoginParams { role, ..LoginParams::trader(who.0, who.1.as_bytes()) });
    raw.recv_until_eof(IO)
}

fn metric(m: &Matchd, sample: &str) -> u64 {
    let (status, body) = m.http_get("/metrics");
    assert_eq!(status, 200);
    body.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no sample {sample} in:\n{body}"))
}

#[test]
fn failed_logins_are_throttled_per_account_and_unknown_accounts_look_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ConfigText::default()
        .set("login_failures_per_account_per_minute", "3")
        .set("login_failures_per_address_per_minute", "1000");
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);
    // A known account and an unknown one get the same answers, in the same order.
    for account in [ALICE.0, 4242] {
        for _ in 0..3 {
            let got = raw_login_from(1, &m, (account, "a-guess"), Role::Trader);
            assert_eq!(got, [login_rejected(account, LoginRejectReason::BadCredentials)]);
        }
        let got = raw_login_from(1, &m, (account, "another-guess"), Role::Trader);
        assert_eq!(got, [login_rejected(account, LoginRejectReason::TooManyAttempts)]);
    }
    // Throttled means the secret is not even checked: the right one is refused too ...
    let got = raw_login_from(1, &m, ALICE, Role::Trader);
    assert_eq!(got, [login_rejected(ALICE.0, LoginRejectReason::TooManyAttempts)]);
    // ... from any address, while other accounts are unaffected.
    let got = raw_login_from(2, &m, ALICE, Role::Trader);
    assert_eq!(got, [login_rejected(ALICE.0, LoginRejectReason::TooManyAttempts)]);
    let bob = login_over(connect_from(1, m.addr), BOB, Role::Trader).expect("bob logs in");
    drop(bob);
    // The server's metrics keep the reasons the wire does not tell.
    let refusals = "matchd_gateway_login_refusals_total";
    assert_eq!(metric(&m, &format!("{refusals}{{reason=\"bad_secret\"}}")), 3);
    assert_eq!(metric(&m, &format!("{refusals}{{reason=\"unknown_account\"}}")), 3);
    assert_eq!(metric(&m, &format!("{refusals}{{reason=\"throttled_account\"}}")), 4);
    let log = m.stderr();
    assert!(log.contains("budget spent, throttling"), "a log line says an account is being throttled:\n{log}");
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn failed_logins_are_throttled_per_source_address() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ConfigText::default()
        .set("login_failures_per_account_per_minute", "1000")
        .set("login_failures_per_address_per_minute", "4");
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);
    // Spraying guesses over many accounts from one address spends that address's budget.
    for account in 100..104 {
        let got = raw_login_from(3, &m, (account, "guess"), Role::Trader);
        assert_eq!(got, [login_rejected(account, LoginRejectReason::BadCredentials)]);
    }
    let got = raw_login_from(3, &m, BOB, Role::Trader);
    assert_eq!(got, [login_rejected(BOB.0, LoginRejectReason::TooManyAttempts)]);
    // Bob from his own address is fine.
    login_over(connect_from(4, m.addr), BOB, Role::Trader).expect("bob from another address");
    assert_eq!(metric(&m, "matchd_gateway_login_refusals_total{reason=\"throttled_address\"}"), 1);
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn idle_unauthenticated_sockets_cannot_lock_a_trader_out() {
    let dir = tempfile::tempdir().unwrap();
    // The old failure: idle sockets counted against the same budget as logged-in sessions, so a
    // few idle sockets (here: max_connections of them) kept every trader out, silently.
    let cfg = ConfigText::default()
        .set("max_connections", "8")
        .set("max_pending_logins", "8")
        .set("max_pending_logins_per_address", "2")
        .set("login_timeout_ms", "600000");
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);

    // One address may hold only its share: the third idle socket from 127.0.0.10 is refused,
    // with an answer.
    let _idle_a = connect_from(10, m.addr);
    let _idle_b = connect_from(10, m.addr);
    let mut refused = Raw::from_stream(connect_from(10, m.addr));
    assert_eq!(refused.recv_until_eof(IO), [ServerMessage::Logout(Logout { reason: LogoutReason::ConnectionLimit })]);

    // Attackers on many addresses fill the whole budget, and keep refilling it; a trader who
    // connects and logs in promptly still gets in every time, and logged-in sessions stay.
    let mut attackers = Vec::new();
    let mut sessions = Vec::new();
    for round in 0..6u8 {
        for host in 20..24u8 {
            attackers.push(connect_from(host + 10 * (round % 2), m.addr));
            attackers.push(connect_from(host + 10 * (round % 2), m.addr));
        }
        let who = if round % 2 == 0 { ALICE } else { BOB };
        let c = login_over(connect_from(50 + round, m.addr), who, Role::Trader)
            .unwrap_or_else(|e| panic!("round {round}: the trader's login failed: {e}"));
        sessions.push(c);
        if sessions.len() == 2 {
            // Both stay logged in while the flood goes on; then they make room for the next round.
            for mut c in sessions.drain(..) {
                c.heartbeat().expect("a logged-in session is untouched by the flood");
                c.logout_and_drain(IO).expect("clean logout");
            }
        }
    }
    assert!(metric(&m, "matchd_prelogin_connections_closed_total{cause=\"evicted\"}") > 0);
    assert!(metric(&m, "matchd_prelogin_connections_closed_total{cause=\"refused\"}") >= 1);
    drop(attackers);
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn admin_sessions_only_where_the_operator_allows() {
    // Without an admin listener: admin sessions on the order port from loopback only.
    let dir = tempfile::tempdir().unwrap();
    let cfg = ConfigText::default().set("admin_allow", "[\"127.0.0.5/32\"]");
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);
    let got = raw_login_from(6, &m, ADMIN, Role::Admin);
    assert_eq!(got, [login_rejected(ADMIN.0, LoginRejectReason::NotPermittedHere)]);
    login_over(connect_from(5, m.addr), ADMIN, Role::Admin).expect("admin from an allowed address");
    assert_eq!(m.terminate().code(), Some(0));

    // With one: admin sessions there only, and trading sessions never there.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ConfigText::default();
    cfg.0 = cfg.0.replace("# admin_listen = \"127.0.0.1:7003\"", "admin_listen = \"127.0.0.1:0\"");
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);
    let admin_addr = m.admin_addr.expect("matchd prints `matchd admin listen=`");
    let got = raw_login_from(1, &m, ADMIN, Role::Admin);
    assert_eq!(got, [login_rejected(ADMIN.0, LoginRejectReason::NotPermittedHere)]);
    let mut admin = login_over(connect_from(1, admin_addr), ADMIN, Role::Admin).expect("admin on the admin port");
    admin.heartbeat().unwrap();
    let trader = login_over(connect_from(1, admin_addr), ALICE, Role::Trader);
    assert!(
        matches!(trader, Err(ClientError::LoginRejected { reason: LoginRejectReason::NotPermittedHere, .. })),
        "{trader:?}"
    );
    login_over(connect_from(1, m.addr), ALICE, Role::Trader).expect("traders on the order port");
    assert_eq!(m.terminate().code(), Some(0));
}
