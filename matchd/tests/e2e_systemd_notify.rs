//! systemd integration over the real binary: `READY=1` once the ready line is
//! out, `WATCHDOG=1` pings while running, `STOPPING=1` on SIGTERM, both for a
//! socket path and for an abstract (`@name`) socket.

mod e2e_common;

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Instant;

use e2e_common::*;

/// Receives datagrams until one satisfies `pred`; returns everything received.
fn recv_until(sock: &UnixDatagram, what: &str, mut pred: impl FnMut(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + LONG_WAIT;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {what}; received {got:?}");
        sock.set_read_timeout(Some(left)).unwrap();
        let Ok(n) = sock.recv(&mut buf) else { continue };
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        let done = pred(&msg);
        got.push(msg);
        if done {
            return got;
        }
    }
}

/// Runs the whole lifecycle against `sock`, bound at `notify_socket`.
fn lifecycle(sock: &UnixDatagram, notify_socket: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_matchd"))
        .args(["--data-dir", dir.path().join("data").to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .env("NOTIFY_SOCKET", notify_socket)
        .env("WATCHDOG_USEC", "300000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());

    // READY=1 comes with (or after) a STATUS naming the order-entry address.
    let before = recv_until(sock, "READY=1", |m| m.lines().any(|l| l == "READY=1"));
    assert!(!before.iter().any(|m| m.contains("WATCHDOG=1")), "watchdog ping before READY: {before:?}");
    let ready_msg = before.last().unwrap().clone();
    // matchd printed and flushed its ready line before sending READY=1: it is
    // already in the pipe now.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while stdout.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            let _ = tx.send(line.trim().to_string());
            line.clear();
        }
    });
    let mut ready_line = None;
    // The line is in the pipe, but the reader thread may wait for a core: IO bounds a hang only.
    while let Ok(l) = rx.recv_timeout(IO) {
        if let Some(rest) = l.strip_prefix("matchd ready listen=") {
            ready_line = Some(rest.split_whitespace().next().unwrap().to_string());
            break;
        }
    }
    let addr = ready_line.expect("the ready line was printed before READY=1");
    // The first start enters the embedded default's instruments and (risk mode) its fee
    // schedules, accounts and deposits.
    let cfg = matchd::config::Config::default_config();
    let initial = cfg.instruments.len() + cfg.initial_account_commands().len();
    assert_eq!(initial, 13, "2 instruments, 2 fee schedules, 3 accounts, 6 deposits");
    assert!(
        ready_msg.contains(&format!("STATUS=replayed {initial} commands in"))
            && ready_msg.contains(&format!("listening on {addr}")),
        "{ready_msg:?}"
    );

    // Pings every 150 ms while idle and healthy.
    let mut pings = 0;
    recv_until(sock, "three WATCHDOG=1", |m| {
        pings += m.lines().filter(|l| *l == "WATCHDOG=1").count();
        pings >= 3
    });

    // SIGTERM: STOPPING=1, then a clean exit.
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    recv_until(sock, "STOPPING=1", |m| m.lines().any(|l| l == "STOPPING=1"));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn notify_socket_path_gets_ready_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    lifecycle(&sock, path.to_str().unwrap());
}

#[test]
fn abstract_notify_socket_works() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("matchd-e2e-notify-{}-{}", std::process::id(), gateway::clock::now_ns());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let sock = UnixDatagram::bind_addr(&addr).unwrap();
    lifecycle(&sock, &format!("@{name}"));
}

#[test]
fn without_notify_socket_nothing_changes() {
    // The harness runs every other e2e test without NOTIFY_SOCKET; one more check that a
    // bogus value is tolerated (logged, not fatal).
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_env(&dir.path().join("data"), &[], &[("NOTIFY_SOCKET", "not-a-socket")]);
    assert_eq!(m.terminate().code(), Some(0));
}
