//! TLS on the order and market-data ports, against the real matchd binary with a CA and server
//! certificate made at test time (rcgen), and real TLS clients (rustls, through the client
//! library and by hand): a TLS session trades and logs out like a plaintext one; the feed arrives
//! over TLS; the server's last words (its shutdown logout) reach TLS clients; a plaintext client
//! on the TLS port and a client that does not trust the certificate fail without disturbing other
//! sessions; the login limits and the admin allowlist see the TLS client's own address; and the
//! gateway's internal port takes no connection the terminator did not announce.

mod e2e_common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use client::md_client::MdClient;
use client::{Client, ClientError, LoginParams};
use e2e_common::*;
use engine::{OrderRef, Side};
use protocol::{
    decode_frame, ExecReport, LoginRejectReason, LoginRejected, Logout, LogoutReason, MdServerMessage, MdSubscribe,
    ServerMessage,
};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};

/// A CA and a server certificate it signed (for `localhost` and 127.0.0.1), in PEM files.
struct Pki {
    ca_pem: String,
    chain_path: PathBuf,
    key_path: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let ca = new_ca("matchd e2e CA");
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        let (chain_path, key_path) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
        std::fs::write(&chain_path, cert.pem() + &ca.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        Pki { ca_pem: ca.pem(), chain_path, key_path }
    }

    /// TLS settings that trust this CA.
    fn trust(&self) -> Arc<rustls::ClientConfig> {
        client::tls_config(self.ca_pem.as_bytes()).unwrap()
    }

    /// The embedded default (matching only) with both TLS listeners on ephemeral ports.
    fn config(&self) -> ConfigText {
        let mut cfg = ConfigText::default();
        let before = cfg.0.clone();
        cfg.0 = cfg
            .0
            .replace("# tls_listen = \"127.0.0.1:7443\"", "tls_listen = \"127.0.0.1:0\"")
            .replace("# tls_listen = \"127.0.0.1:7444\"", "tls_listen = \"127.0.0.1:0\"")
            .replace(
                "# tls_cert_chain_path = \"/etc/matchd/tls/fullchain.pem\"",
                &format!("tls_cert_chain_path = {:?}", self.chain_path.to_str().unwrap()),
            )
            .replace(
                "# tls_private_key_path = \"/etc/matchd/tls/privkey.pem\"",
                &format!("tls_private_key_path = {:?}", self.key_path.to_str().unwrap()),
            );
        assert_eq!(
            cfg.0.lines().filter(|l| l.starts_with("tls_")).count(),
            4,
            "the default config's TLS examples moved"
        );
        assert_ne!(cfg.0, before);
        cfg
    }
}

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn start(dir: &Path, cfg: &ConfigText) -> Matchd {
    let m = Matchd::start_with(&dir.join("data"), cfg);
    assert!(m.tls_addr.is_some(), "matchd prints `matchd tls listen=`");
    assert!(m.md_tls_addr.is_some(), "matchd prints `matchd market-data-tls listen=`");
    m
}

/// A TCP connection to `to` from the loopback address `127.0.0.<host>`.
fn connect_from(host: u8, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)), 0).into()).unwrap();
    socket.connect_timeout(&to.into(), IO).unwrap();
    socket.into()
}

fn metric(m: &Matchd, sample: &str) -> u64 {
    let (status, body) = m.http_get("/metrics");
    assert_eq!(status, 200);
    body.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no sample {sample} in:\n{body}"))
}

/// Waits (generously: it only bounds a hang) until `sample` reads `want`.
fn await_metric(m: &Matchd, sample: &str, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(m, sample) != want {
        assert!(Instant::now() < deadline, "{sample} never became {want} (is {})", metric(m, sample));
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A TLS session driven by hand, to see exactly how the server ends it.
struct RawTls(rustls::StreamOwned<rustls::ClientConnection, TcpStream>);

impl RawTls {
    /// Connects from `127.0.0.<host>` and completes the handshake.
    fn connect(host: u8, to: SocketAddr, trust: Arc<rustls::ClientConfig>) -> RawTls {
        let mut tcp = connect_from(host, to);
        tcp.set_read_timeout(Some(IO)).unwrap();
        let mut conn = rustls::ClientConnection::new(trust, "localhost".try_into().unwrap()).unwrap();
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).expect("TLS handshake");
        }
        RawTls(rustls::StreamOwned::new(conn, tcp))
    }

    fn login(&mut self, p: &LoginParams<'_>) {
        let msg = protocol::ClientMessage::Login(protocol::Login {
            account: p.account,
            credential: protocol::Login::credential_from(p.credential).unwrap(),
            last_seen_seq: p.last_seen_seq,
            heartbeat_interval_ms: p.heartbeat_interval_ms,
            role: p.role,
            cancel_on_disconnect: p.cancel_on_disconnect,
        });
        let mut buf = [0u8; 256];
        let n = msg.encode(&mut buf).unwrap();
        self.0.write_all(&buf[..n]).unwrap();
        self.0.flush().unwrap();
    }

    /// Every message until the session ends, and whether it ended with the server's
    /// `close_notify` (a clean end, not a truncation).
    fn read_to_end(&mut self) -> (Vec<ServerMessage>, bool) {
        let mut bytes = Vec::new();
        let clean = loop {
            let mut chunk = [0u8; 4096];
            match self.0.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => break false,
                Err(e) => panic!("TLS read: {e}; got {bytes:?}"),
            }
        };
        let mut msgs = Vec::new();
        let mut rest = &bytes[..];
        while let Some((frame, n)) = decode_frame(rest).expect("server framing") {
            msgs.push(ServerMessage::decode_frame(&frame).expect("server message"));
            rest = &rest[n..];
        }
        assert!(rest.is_empty(), "a partial frame at the end: {rest:?}");
        (msgs, clean)
    }
}

#[test]
fn a_tls_session_trades_and_logs_out_like_a_plaintext_one() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let m = start(dir.path(), &pki.config());
    let mut alice = Client::connect_tls(m.tls_addr.unwrap(), "localhost", pki.trust(), IO).expect("TLS connect");
    alice.login(LoginParams::trader(ALICE.0, ALICE.1.as_bytes())).expect("login over TLS");

    // Place and cancel.
    let a = place(&mut alice, limit(1, Side::Buy, px(-100), lots(20)));
    alice.cancel(OrderRef::Engine(a.order_id)).unwrap();
    match next_report(&mut alice).1 {
        ExecReport::Cancelled(c) => assert_eq!(c.order_id, a.order_id),
        other => panic!("expected the cancel, got {other:?}"),
    }
    // A trade against a plaintext session: both get their fills.
    let mut bob = m.trader(BOB);
    place(&mut bob, limit(2, Side::Sell, px(0), lots(30)));
    alice.new_order(limit(3, Side::Buy, px(0), lots(30))).unwrap();
    let r = next_reports(&mut alice, 2);
    assert!(matches!(r[0], ExecReport::Accepted(a) if a.client_order_id == 3), "{r:?}");
    assert!(matches!(r[1], ExecReport::Fill(f) if f.qty == lots(30) && f.leaves_qty == 0), "{r:?}");
    assert!(matches!(next_report(&mut bob).1, ExecReport::Fill(f) if f.client_order_id == 2));

    let out = alice.logout_and_drain(IO).expect("logout");
    assert!(matches!(out.last(), Some(ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest }))), "{out:?}");
    assert_eq!(metric(&m, "matchd_tls_handshakes_total"), 1);
    await_metric(&m, "matchd_tls_connections", 0);
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn the_feed_and_the_shutdown_logout_arrive_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let m = start(dir.path(), &pki.config());
    let mut feed = MdClient::connect_tls(m.md_tls_addr.unwrap(), "127.0.0.1", pki.trust(), IO).expect("TLS connect");
    let accepted = feed.subscribe(MdSubscribe { heartbeat_interval_ms: 0, order_by_order: false }).unwrap();
    assert_eq!(accepted.instruments, 2);
    let mut trader = Client::connect_tls(m.tls_addr.unwrap(), "localhost", pki.trust(), IO).unwrap();
    trader.login(LoginParams::trader(ALICE.0, ALICE.1.as_bytes())).unwrap();
    place(&mut trader, limit(1, Side::Buy, px(-5), lots(40)));

    let deadline = Instant::now() + IO;
    loop {
        assert!(Instant::now() < deadline, "no top of book over TLS");
        match feed.recv(IO).expect("feed") {
            Some(MdServerMessage::TopOfBook(t)) if t.instrument == BTC => {
                assert_eq!((t.bid_price, t.bid_qty), (px(-5), lots(40)), "{t:?}");
                break;
            }
            _ => {}
        }
    }

    // Stopping: the publisher's last words to the session still reach it through the terminator.
    let pid = m.child.id();
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let out = read_until_closed(&mut trader);
    assert!(
        out.contains(&ServerMessage::Logout(Logout { reason: LogoutReason::ServerShutdown })),
        "the TLS session was not told the server is stopping: {out:?}"
    );
    let (status, log) = m.terminate_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("TLS terminator stopped"), "{log}");
}

#[test]
fn bad_tls_clients_fail_without_disturbing_other_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let m = start(dir.path(), &pki.config());
    let tls_addr = m.tls_addr.unwrap();
    let bystander = Bystander::start(&m, BOB, Duration::from_millis(20));
    let mut alice = Client::connect_tls(tls_addr, "localhost", pki.trust(), IO).unwrap();
    alice.login(LoginParams::trader(ALICE.0, ALICE.1.as_bytes())).unwrap();

    // A plaintext client on the TLS port: its login is not TLS, so it gets an alert and the end.
    let mut plain = Raw::from_stream(connect_from(1, tls_addr));
    plain.login(CAROL, 0);
    plain.stream.set_read_timeout(Some(IO)).unwrap();
    let mut answer = Vec::new();
    plain.stream.read_to_end(&mut answer).expect("the server closes the connection");
    assert!(answer.first() == Some(&0x15) || answer.is_empty(), "a TLS alert record or nothing: {answer:?}");

    // A client that does not trust the server's CA refuses the handshake.
    let stranger = client::tls_config(new_ca("another CA").pem().as_bytes()).unwrap();
    match Client::connect_tls(tls_addr, "localhost", stranger, IO) {
        Err(ClientError::Tls(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))) => {}
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }
    // So does one that expects another name.
    match Client::connect_tls(tls_addr, "exchange.example", pki.trust(), IO) {
        Err(ClientError::Tls(rustls::Error::InvalidCertificate(_))) => {}
        other => panic!("expected a name mismatch, got {other:?}"),
    }
    await_metric(&m, "matchd_tls_handshake_failures_total{cause=\"tls_error\"}", 3);

    // The TLS session and the plaintext one go on.
    let a = place(&mut alice, limit(7, Side::Buy, px(-50), lots(10)));
    alice.cancel(OrderRef::Engine(a.order_id)).unwrap();
    assert!(matches!(next_report(&mut alice).1, ExecReport::Cancelled(c) if c.order_id == a.order_id));
    let rounds = bystander.finish();
    assert!(rounds > 0);
    assert_eq!(metric(&m, "matchd_tls_handshakes_total"), 1);
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn the_login_limits_see_the_tls_clients_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let cfg = pki
        .config()
        .set("max_pending_logins_per_address", "2")
        .set("login_timeout_ms", "600000")
        .set("admin_allow", "[\"127.0.0.5/32\"]");
    let m = start(dir.path(), &cfg);
    let tls_addr = m.tls_addr.unwrap();

    // Admin logins are allowed from 127.0.0.5 only: the gateway sees each TLS client's address,
    // not the terminator's 127.0.0.1.
    let admin = LoginParams::admin(ADMIN.0, ADMIN.1.as_bytes());
    let mut refused = RawTls::connect(6, tls_addr, pki.trust());
    refused.login(&admin);
    let (got, clean) = refused.read_to_end();
    let rejected = LoginRejected {
        account: ADMIN.0,
        reason: LoginRejectReason::NotPermittedHere,
        highest_seq: 0,
        oldest_available_seq: 0,
        leader: None,
    };
    assert_eq!(got, [ServerMessage::LoginRejected(rejected)]);
    assert!(clean, "the session ends with the server's close_notify");
    let mut c = Client::from_tls_stream(connect_from(5, tls_addr), "localhost", pki.trust(), IO).unwrap();
    c.login(admin).expect("admin from the allowed address, over TLS");
    c.logout_and_drain(IO).unwrap();

    // Two idle TLS connections from 127.0.0.10 use that address's pre-login budget ...
    let _idle_a = RawTls::connect(10, tls_addr, pki.trust());
    let _idle_b = RawTls::connect(10, tls_addr, pki.trust());
    await_metric(&m, "matchd_pending_logins", 2);
    // ... so a third from there is refused, with an answer and a clean end ...
    let mut third = RawTls::connect(10, tls_addr, pki.trust());
    let (got, clean) = third.read_to_end();
    assert_eq!(got, [ServerMessage::Logout(Logout { reason: LogoutReason::ConnectionLimit })]);
    assert!(clean, "the session ends with the server's close_notify");
    // ... while a TLS client from another address logs in.
    let mut bob = Client::from_tls_stream(connect_from(11, tls_addr), "localhost", pki.trust(), IO).unwrap();
    bob.login(LoginParams::trader(BOB.0, BOB.1.as_bytes())).expect("another address has its own budget");
    assert_eq!(metric(&m, "matchd_prelogin_connections_closed_total{cause=\"refused\"}"), 1);
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn the_internal_port_takes_only_connections_the_terminator_announced() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let m = start(dir.path(), &pki.config());
    let log = m.stderr();
    let internal: SocketAddr = log
        .split("internal=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the internal listener's address is logged:\n{log}"));

    // A local process that finds the port is closed at once, even with a valid login.
    let mut sneaky = Raw::from_stream(TcpStream::connect(internal).unwrap());
    sneaky.login(ALICE, 0);
    assert_eq!(sneaky.recv_until_eof(IO), []);
    await_metric(&m, "matchd_tls_internal_unregistered_total", 1);
    // Alice can still log in (over TLS).
    let mut alice = Client::connect_tls(m.tls_addr.unwrap(), "localhost", pki.trust(), IO).unwrap();
    alice.login(LoginParams::trader(ALICE.0, ALICE.1.as_bytes())).unwrap();
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn unusable_certificate_files_are_named_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let check = |cfg: &ConfigText| {
        let path = dir.path().join("check.toml");
        std::fs::write(&path, &cfg.0).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_matchd"))
            .args(["--config", path.to_str().unwrap(), "check-config"])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    assert_eq!(check(&pki.config()).0, Some(0));

    std::fs::write(dir.path().join("garbage.pem"), "no certificate here\n").unwrap();
    let cfg = ConfigText(pki.config().0.replace("fullchain.pem", "garbage.pem"));
    let (code, err) = check(&cfg);
    assert_eq!(code, Some(2));
    assert!(err.contains("server.tls_cert_chain_path") && err.contains("garbage.pem"), "{err}");

    let cfg = ConfigText(pki.config().0.replace("privkey.pem", "missing.pem"));
    let (code, err) = check(&cfg);
    assert_eq!(code, Some(2));
    assert!(err.contains("server.tls_private_key_path") && err.contains("missing.pem"), "{err}");

    // A key that is not the certificate's.
    let other = KeyPair::generate().unwrap();
    std::fs::write(dir.path().join("other-key.pem"), other.serialize_pem()).unwrap();
    let cfg = ConfigText(pki.config().0.replace("privkey.pem", "other-key.pem"));
    let (code, err) = check(&cfg);
    assert_eq!(code, Some(2));
    assert!(err.contains("server.tls_private_key_path") && err.contains("other-key.pem"), "{err}");

    // A TLS listener without a certificate.
    let cfg = ConfigText(pki.config().0.replace("tls_cert_chain_path =", "# tls_cert_chain_path ="));
    let (code, err) = check(&cfg);
    assert_eq!(code, Some(2));
    assert!(err.contains("server.tls_cert_chain_path") && err.contains("must be set"), "{err}");
}
