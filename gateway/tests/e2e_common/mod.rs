//! Shared harness for end-to-end tests: runs the real `matchd` binary on an
//! ephemeral loopback port with a temporary data directory.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gateway::client::{Client, LoginParams};
use gateway::protocol::ServerMessage;

/// Demo credentials from the embedded default config.
pub const ADMIN: (u32, &str) = (0, "admin-demo");
/// Demo trader.
pub const ALICE: (u32, &str) = (1, "alice-demo");
/// Demo trader.
pub const BOB: (u32, &str) = (2, "bob-demo");
/// BTC-USDT in the default config.
pub const BTC: u32 = 1;
/// ETH-USDT in the default config.
pub const ETH: u32 = 2;
/// One lot of BTC-USDT (0.00001 BTC).
pub const BTC_LOT: u64 = 1000;
/// BTC-USDT reference price (50,000.00).
pub const BTC_REF: u64 = 5_000_000;

pub const IO: Duration = Duration::from_secs(5);

/// A running matchd.
pub struct Matchd {
    pub child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    stderr_log: PathBuf,
}

impl Matchd {
    /// Starts matchd on `data_dir` with extra CLI args (e.g. a config file).
    pub fn start(data_dir: &Path, extra: &[&str]) -> Matchd {
        let stderr_log = data_dir.with_extension("stderr.log");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&stderr_log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_matchd"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn matchd");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if let Some(rest) = line.trim().strip_prefix("matchd ready listen=") {
                    let addr = rest.split_whitespace().next().unwrap().to_string();
                    let _ = tx.send(addr);
                }
                line.clear();
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                let mut s = String::new();
                let _ = std::fs::File::open(&stderr_log).and_then(|mut f| f.read_to_string(&mut s));
                panic!("matchd did not become ready; stderr:\n{s}");
            }
        };
        Matchd { child, addr, data_dir: data_dir.to_path_buf(), stderr_log }
    }

    /// What matchd logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// SIGKILL: no drain, no sync beyond what the policy already did.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM and wait; returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "matchd did not stop on SIGTERM:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A connected, logged-in trader client.
    pub fn trader(&self, who: (u32, &str)) -> Client {
        self.trader_from(who, 0)
    }

    /// A logged-in trader resuming after `last_seen_seq`.
    pub fn trader_from(&self, who: (u32, &str), last_seen_seq: u64) -> Client {
        let mut c = Client::connect(self.addr, IO).expect("connect");
        let mut p = LoginParams::trader(who.0, who.1.as_bytes());
        p.last_seen_seq = last_seen_seq;
        c.login(p).expect("login");
        c
    }

    /// A logged-in admin client.
    pub fn admin(&self) -> Client {
        let mut c = Client::connect(self.addr, IO).expect("connect");
        c.login(LoginParams::admin(ADMIN.0, ADMIN.1.as_bytes())).expect("admin login");
        c
    }
}

impl Drop for Matchd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Receives until `pred` matches (panics after `IO`), returning everything received.
pub fn recv_until(c: &mut Client, mut pred: impl FnMut(&ServerMessage) -> bool) -> Vec<ServerMessage> {
    let deadline = Instant::now() + IO;
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out; received so far: {got:#?}");
        if let Some(m) = c.recv(left).expect("recv") {
            let done = pred(&m);
            got.push(m);
            if done {
                return got;
            }
        }
    }
}

/// Reports only (drops heartbeats and other session messages).
pub fn reports(msgs: &[ServerMessage]) -> Vec<gateway::protocol::ExecReport> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMessage::Report { report, .. } => Some(*report),
            _ => None,
        })
        .collect()
}
