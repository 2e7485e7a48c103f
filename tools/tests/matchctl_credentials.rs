//! `matchctl set-credential` and `revoke-credential`: the secret it prints is the one whose salted
//! hash it sends (checked with the gateway's own `Credential::verify`, against a fake server), and
//! against the real `matchd` (skipped, with a note, when the binary cannot be found: `cargo test
//! --workspace` builds it) the printed secret logs in at once and a revoked account cannot.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use client::{Client, ClientError, LoginParams};
use engine::{CommandType, CredentialChanged, RevokeCredential};
use gateway::credential::Credential;
use protocol::*;
use tools::loadgen::matchd::{config_toml, locate_binary, small_segments, Matchd};

fn matchctl(addr: SocketAddr, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_matchctl"))
        // A generous answer deadline (the default is 5 s): it only bounds a hang on a busy machine.
        .args(["--addr", &addr.to_string(), "--wait-ms", "300", "--timeout-ms", "60000"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The value of `key=` on the line starting with `prefix`.
fn field(out: &str, prefix: &str, key: &str) -> Option<String> {
    let line = out.lines().find(|l| l.starts_with(prefix))?;
    line.split_whitespace().find_map(|w| w.strip_prefix(key)).map(str::to_string)
}

/// A fake server: accepts an admin login, takes one message, answers `CredentialChanged`, then
/// the logout. Returns the address and the message it got.
fn fake_server() -> (SocketAddr, std::thread::JoinHandle<ClientMessage>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        let mut recv = |stream: &mut std::net::TcpStream| loop {
            if let Some((frame, n)) = decode_frame(&buf).unwrap() {
                let m = ClientMessage::decode_frame(&frame).unwrap();
                buf.drain(..n);
                if m != ClientMessage::Heartbeat {
                    return m;
                }
                continue;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "matchctl closed early");
            buf.extend_from_slice(&chunk[..n]);
        };
        let send = |stream: &mut std::net::TcpStream, m: &ServerMessage| {
            let mut b = [0u8; 256];
            let n = m.encode(&mut b).unwrap();
            stream.write_all(&b[..n]).unwrap();
        };
        let ClientMessage::Login(l) = recv(&mut stream) else { panic!("expected Login") };
        assert_eq!((l.account, l.role), (0, Role::Admin), "credential commands log in as the admin");
        send(
            &mut stream,
            &ServerMessage::LoginAccepted(LoginAccepted {
                account: 0,
                next_seq: 1,
                highest_seq: 0,
                heartbeat_interval_ms: 1000,
                heartbeat_timeout_ms: 10_000,
                role: Role::Admin,
                cancel_on_disconnect: false,
            }),
        );
        let got = recv(&mut stream);
        let (command, target, salt, hash) = match got {
            ClientMessage::SetCredential(c) => (CommandType::SetCredential, c.target, c.salt, c.hash),
            ClientMessage::RevokeCredential(c) => (CommandType::RevokeCredential, c.target, [0; 16], [0; 32]),
            other => panic!("unexpected {other:?}"),
        };
        let e = CredentialChanged { account: 0, command, target, salt, hash };
        send(
            &mut stream,
            &ServerMessage::Report { seq: 1, report: ExecReport::CredentialChanged(CredentialReport::of(&e)) },
        );
        assert!(matches!(recv(&mut stream), ClientMessage::Logout(_)));
        send(&mut stream, &ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest }));
        got
    });
    (addr, h)
}

#[test]
fn the_printed_secret_is_the_one_whose_hash_is_sent() {
    let (addr, server) = fake_server();
    let out = matchctl(addr, &["set-credential", "--target", "7"], "");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    let ClientMessage::SetCredential(c) = server.join().unwrap() else { panic!("expected SetCredential") };
    assert_eq!(c.target, 7);
    let secret = field(&stdout, "SECRET", "secret=").expect(&stdout);
    assert!(secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()), "16 random bytes in hex: {secret}");
    // The gateway's own check accepts it, and nothing else.
    let stored = Credential::from_parts(&c.salt, c.hash);
    assert!(stored.verify(secret.as_bytes()));
    assert!(!stored.verify(b"anything-else"));
    assert_ne!(c.salt, [0; 16], "a random salt");
    let fingerprint = format!("{:016x}", credential_fingerprint(&c.hash));
    assert_eq!(field(&stdout, "SECRET", "fingerprint=").as_deref(), Some(fingerprint.as_str()), "{stdout}");
    assert!(stdout.contains(&format!("CREDENTIAL SET account=7 fingerprint={fingerprint}")), "{stdout}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&secret), "the secret goes to stdout only");

    // --secret-stdin: that secret, not printed back.
    let (addr, server) = fake_server();
    let out = matchctl(addr, &["set-credential", "--target", "7", "--secret-stdin"], "my own secret\n");
    assert!(out.status.success(), "{out:?}");
    let ClientMessage::SetCredential(c) = server.join().unwrap() else { panic!("expected SetCredential") };
    assert!(Credential::from_parts(&c.salt, c.hash).verify(b"my own secret"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("my own secret"));

    // A secret a login cannot carry is a usage error: nothing is sent.
    let unused = TcpListener::bind("127.0.0.1:0").unwrap();
    let out =
        matchctl(unused.local_addr().unwrap(), &["set-credential", "--target", "7", "--secret-stdin"], &"x".repeat(33));
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    let (addr, server) = fake_server();
    let out = matchctl(addr, &["revoke-credential", "--target", "7"], "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(server.join().unwrap(), ClientMessage::RevokeCredential(RevokeCredential { target: 7 }));
    assert!(String::from_utf8_lossy(&out.stdout).contains("CREDENTIAL REVOKED account=7"), "{out:?}");
}

fn login(addr: SocketAddr, account: u32, secret: &str) -> Result<Client, ClientError> {
    let mut c = Client::connect(addr, Duration::from_secs(60))?;
    c.login(LoginParams::trader(account, secret.as_bytes()))?;
    Ok(c)
}

#[test]
fn a_printed_secret_logs_in_to_the_real_matchd_at_once() {
    let bin = match locate_binary(None) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    let toml = small_segments(&config_toml(::matchd::config::DEFAULT_CONFIG_TOML, &[], None));
    let mut m = Matchd::start(&bin, &toml, &[]).expect("start matchd");
    let out = matchctl(m.addr, &["create-account", "--target", "9"], "");
    assert!(out.status.success(), "{out:?}");
    let mut secrets = Vec::new();
    for target in [9, 1] {
        let out = matchctl(m.addr, &["set-credential", "--target", &target.to_string()], "");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success() && stdout.contains("CREDENTIAL SET"), "{out:?}");
        let secret = field(&stdout, "SECRET", "secret=").expect(&stdout);
        drop(login(m.addr, target, &secret).unwrap_or_else(|e| panic!("{target}: {e}")));
        secrets.push(secret);
    }
    let bad = |r: Result<Client, ClientError>| {
        matches!(r, Err(ClientError::LoginRejected { reason: LoginRejectReason::BadCredentials, .. }))
    };
    // Alice's configured secret no longer works; after a revoke, neither does account 9's new one.
    assert!(bad(login(m.addr, 1, "alice-demo")));
    let out = matchctl(m.addr, &["revoke-credential", "--target", "9"], "");
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("CREDENTIAL REVOKED"), "{out:?}");
    assert!(bad(login(m.addr, 9, &secrets[0])), "a revoked account's login is refused");
    assert!(m.stop(Duration::from_secs(30)), "clean stop:\n{}", m.stderr());
}
