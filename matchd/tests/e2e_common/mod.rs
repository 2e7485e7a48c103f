//! Shared harness for end-to-end tests: runs the real `matchd` binary on an
//! ephemeral loopback port with a temporary data directory.
//!
//! **Matching-only by default.** The embedded default config runs the engine in risk mode
//! (accounts, balances, fees), but most e2e tests check exact report sequences of the order flow,
//! written for a matching-only engine (risk mode adds `BalanceChanged` reports and
//! `InsufficientBalance` rejects). So every harness start uses `engine.risk_checks = false` unless
//! the test asks for risk mode: [`ConfigText::default`] and [`Matchd::start`] without a
//! `--config` argument both turn it off; [`ConfigText::risk`] is the embedded default as it is
//! (risk mode, alice and bob funded, demo fees).
//!
//! **No wall-clock budgets.** These tests run on busy 2-core CI machines, where a thread can wait
//! seconds for a core and an `fdatasync` seconds for the disk. So every wait here is for an event
//! (a report, a metric reaching a count, a line in the log) and its deadline ([`IO`],
//! [`LONG_WAIT`]) only bounds a hang; and every harness config gives an idle session a minute
//! before the server logs it out ([`ConfigText::harness_timeouts`]), so a test thread that was
//! not scheduled for a while keeps its sessions. Tests about those timeouts set them themselves.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use client::{Client, LoginParams};
use engine::{NewOrder, OrderRef, RejectReason, Side, TimeInForce};
use protocol::{decode_frame, ClientMessage, ExecReport, Login, LoginRejectReason, Role, ServerMessage};

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

/// Longest wait for one message, answer or connection event: bounds a hang, never a speed.
pub const IO: Duration = Duration::from_secs(30);
/// Longest wait for a whole phase (a start with a long replay, a snapshot written in the
/// background, a flow finishing): bounds a hang, never a speed.
pub const LONG_WAIT: Duration = Duration::from_secs(180);
/// Login and heartbeat timeouts of every harness config (see [`ConfigText::harness_timeouts`]).
pub const HARNESS_SESSION_TIMEOUT_MS: u64 = 60_000;

/// A running matchd.
pub struct Matchd {
    pub child: Child,
    pub addr: SocketAddr,
    /// The metrics endpoint (every harness run binds it on an ephemeral port).
    pub metrics_addr: SocketAddr,
    /// The market-data-only listener, when configured (`--market-data-listen`).
    pub md_addr: Option<SocketAddr>,
    /// The admin-only listener, when configured (`server.admin_listen`).
    pub admin_addr: Option<SocketAddr>,
    /// The TLS order listener, when configured (`server.tls_listen`).
    pub tls_addr: Option<SocketAddr>,
    /// The TLS market-data listener, when configured (`market_data.tls_listen`).
    pub md_tls_addr: Option<SocketAddr>,
    pub data_dir: PathBuf,
    stderr_log: PathBuf,
}

impl Matchd {
    /// Starts matchd on `data_dir` with extra CLI args (e.g. a config file). Without a
    /// `--config` argument it runs [`ConfigText::default`]: the embedded default config with
    /// `risk_checks = false` and small journal segments (written next to the data directory; see
    /// the module docs).
    pub fn start(data_dir: &Path, extra: &[&str]) -> Matchd {
        Matchd::start_env(data_dir, extra, &[])
    }

    /// [`Matchd::start`] with extra environment variables.
    pub fn start_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Matchd {
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        if !extra.contains(&"--config") {
            let path = data_dir.with_extension("toml");
            // Small segments: the shipped 256 MiB ones (and the spare one matchd pre-faults) load
            // the disk that the tests running in parallel share.
            std::fs::write(&path, ConfigText::default().0).unwrap();
            args.extend(["--config".to_string(), path.to_str().unwrap().to_string()]);
        }
        let stderr_log = data_dir.with_extension("stderr.log");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&stderr_log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_matchd"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
            .args(&args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn matchd");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            let mut metrics = String::new();
            let mut md = None;
            let mut admin = None;
            let mut tls = None;
            let mut md_tls = None;
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if let Some(rest) = line.trim().strip_prefix("matchd tls listen=") {
                    tls = Some(rest.split_whitespace().next().unwrap().to_string());
                }
                if let Some(rest) = line.trim().strip_prefix("matchd market-data-tls listen=") {
                    md_tls = Some(rest.split_whitespace().next().unwrap().to_string());
                }
                if let Some(rest) = line.trim().strip_prefix("matchd metrics listen=") {
                    metrics = rest.split_whitespace().next().unwrap().to_string();
                }
                if let Some(rest) = line.trim().strip_prefix("matchd market-data listen=") {
                    md = Some(rest.split_whitespace().next().unwrap().to_string());
                }
                if let Some(rest) = line.trim().strip_prefix("matchd admin listen=") {
                    admin = Some(rest.split_whitespace().next().unwrap().to_string());
                }
                if let Some(rest) = line.trim().strip_prefix("matchd ready listen=") {
                    let addr = rest.split_whitespace().next().unwrap().to_string();
                    let _ = tx.send((addr, metrics.clone(), md.clone(), admin.clone(), tls.clone(), md_tls.clone()));
                }
                line.clear();
            }
        });
        let (addr, metrics_addr, md_addr, admin_addr, tls_addr, md_tls_addr) = match rx.recv_timeout(LONG_WAIT) {
            Ok((a, m, md, admin, tls, md_tls)) => (
                a.parse().unwrap(),
                m.parse().expect("a `matchd metrics listen=` line before the ready line"),
                md.map(|s| s.parse().unwrap()),
                admin.map(|s| s.parse().unwrap()),
                tls.map(|s| s.parse().unwrap()),
                md_tls.map(|s| s.parse().unwrap()),
            ),
            Err(_) => {
                let _ = child.kill();
                let mut s = String::new();
                let _ = std::fs::File::open(&stderr_log).and_then(|mut f| f.read_to_string(&mut s));
                panic!("matchd did not become ready; stderr:\n{s}");
            }
        };
        Matchd {
            child,
            addr,
            metrics_addr,
            md_addr,
            admin_addr,
            tls_addr,
            md_tls_addr,
            data_dir: data_dir.to_path_buf(),
            stderr_log,
        }
    }

    /// `GET path` on the metrics endpoint: (status code, body).
    pub fn http_get(&self, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect_timeout(&self.metrics_addr, IO).expect("connect to metrics");
        s.set_read_timeout(Some(IO)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: matchd\r\n\r\n").unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read metrics response");
        let (head, body) = resp.split_once("\r\n\r\n").expect("HTTP response head");
        let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("status code");
        (status, body.to_string())
    }

    /// The value of the unlabelled metric `name` on the metrics endpoint now (panics if absent).
    pub fn metric(&self, name: &str) -> f64 {
        let (status, page) = self.http_get("/metrics");
        assert_eq!(status, 200, "GET /metrics: {page}");
        page.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("metric {name} missing:\n{page}"))
    }

    /// Polls `done` every 10 ms until it holds; panics after [`LONG_WAIT`] (a hang) with `what`
    /// and matchd's log.
    pub fn wait_for(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + LONG_WAIT;
        while !done() {
            assert!(Instant::now() < deadline, "waited {LONG_WAIT:?} for {what}; matchd's log:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(10));
        }
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
        let deadline = Instant::now() + LONG_WAIT;
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
    /// Retries while the server still holds the account's previous connection (a busy machine
    /// may not have processed its logout or EOF yet).
    pub fn trader_from(&self, who: (u32, &str), last_seen_seq: u64) -> Client {
        let mut p = LoginParams::trader(who.0, who.1.as_bytes());
        p.last_seen_seq = last_seen_seq;
        self.login_retrying(p)
    }

    /// A logged-in admin client (retrying like [`Matchd::trader_from`]).
    pub fn admin(&self) -> Client {
        self.login_retrying(LoginParams::admin(ADMIN.0, ADMIN.1.as_bytes()))
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
pub fn reports(msgs: &[ServerMessage]) -> Vec<protocol::ExecReport> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMessage::Report { report, .. } => Some(*report),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Custom configurations.

/// Extra trader accounts added by [`ConfigText::with_extra_traders`].
pub const CAROL: (u32, &str) = (3, "carol-demo");
/// Extra trader.
pub const DAVE: (u32, &str) = (4, "dave-demo");

/// A matchd config file: the embedded default (`matchd print-default-config`) with edits.
#[derive(Debug, Clone)]
pub struct ConfigText(pub String);

impl Default for ConfigText {
    /// The embedded default with small journal segments and **risk checks off** (matching only;
    /// see the module docs). [`ConfigText::risk`] keeps them on.
    fn default() -> Self {
        ConfigText::risk().matching_only()
    }
}

impl ConfigText {
    /// The embedded default exactly.
    pub fn embedded() -> Self {
        ConfigText(matchd::config::DEFAULT_CONFIG_TOML.to_string())
    }

    /// The embedded default with small journal segments (quick to preallocate and to copy) and
    /// the harness's session timeouts, in risk mode as shipped: alice and bob funded, demo fees on
    /// both instruments.
    pub fn risk() -> Self {
        ConfigText::embedded().set("segment_bytes", "4194304").harness_timeouts()
    }

    /// `login_timeout_ms` and `heartbeat_timeout_ms` of [`HARNESS_SESSION_TIMEOUT_MS`] instead of
    /// the shipped 5 s and 10 s: a test thread starved for seconds (or busy elsewhere, e.g.
    /// joining a flow) must not find its idle sessions logged out. A test of those timeouts sets
    /// them again after this.
    pub fn harness_timeouts(self) -> Self {
        let ms = HARNESS_SESSION_TIMEOUT_MS.to_string();
        self.set("login_timeout_ms", &ms).set("heartbeat_timeout_ms", &ms)
    }

    /// `engine.risk_checks = false`: matching only (no balances, no fees, any account trades).
    pub fn matching_only(self) -> Self {
        self.set("risk_checks", "false")
    }

    /// Replaces the line `key = ...` (the key must occur exactly once in the file); a key
    /// `section.key` (e.g. `market_data.outbound_buffer_bytes`) only within `[section]`.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        let (section, key) = match key.split_once('.') {
            Some((s, k)) => (Some(format!("[{s}]")), k),
            None => (None, key),
        };
        let prefix = format!("{key} = ");
        let mut found = 0;
        let mut in_section = section.is_none();
        let lines: Vec<String> = self
            .0
            .lines()
            .map(|l| {
                if let Some(s) = &section {
                    if l.starts_with('[') {
                        in_section = l.trim() == s;
                    }
                }
                if in_section && l.starts_with(&prefix) {
                    found += 1;
                    format!("{key} = {value}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        assert_eq!(found, 1, "config key {key} found {found} times");
        self.0 = lines.join("\n") + "\n";
        self
    }

    /// Adds a trader account (`matchd hash-credential SECRET` form).
    pub fn with_trader(self, id: u32, name: &str, secret: &str) -> Self {
        self.with_funded_trader(id, name, secret, &[])
    }

    /// Adds a trader account with initial deposits `(asset, amount)` (used in risk mode).
    pub fn with_funded_trader(mut self, id: u32, name: &str, secret: &str, deposits: &[(u32, u64)]) -> Self {
        let credential = gateway::credential::Credential::hash(secret.as_bytes(), format!("e2e-{name}").as_bytes());
        let deposits: Vec<String> =
            deposits.iter().map(|(asset, amount)| format!("{{ asset = {asset}, amount = {amount} }}")).collect();
        self.0.push_str(&format!(
            "\n[[accounts]]\nid = {id}\nname = \"{name}\"\nrole = \"trader\"\ncredential = \"{credential}\"\n\
             deposits = [{}]\n",
            deposits.join(", ")
        ));
        self
    }

    /// Adds carol (3) and dave (4).
    pub fn with_extra_traders(self) -> Self {
        self.with_trader(CAROL.0, "carol", CAROL.1).with_trader(DAVE.0, "dave", DAVE.1)
    }
}

impl Matchd {
    /// Starts matchd with a custom config (written next to the data directory).
    pub fn start_with(data_dir: &Path, cfg: &ConfigText) -> Matchd {
        let path = data_dir.with_extension("toml");
        std::fs::write(&path, &cfg.0).unwrap();
        Matchd::start(data_dir, &["--config", path.to_str().unwrap()])
    }

    /// Starts matchd with [`ConfigText::default`].
    pub fn start_default(data_dir: &Path) -> Matchd {
        Matchd::start_with(data_dir, &ConfigText::default())
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM and wait; returns the exit status and everything matchd logged.
    pub fn terminate_with_log(self) -> (std::process::ExitStatus, String) {
        let log = self.stderr_log.clone();
        let st = self.terminate();
        (st, std::fs::read_to_string(log).unwrap_or_default())
    }

    /// A connected client, not logged in.
    pub fn connect(&self) -> Client {
        Client::connect(self.addr, IO).expect("connect")
    }

    /// Connects and logs in with `p`.
    pub fn login(&self, p: LoginParams<'_>) -> Result<Client, client::ClientError> {
        let mut c = self.connect();
        c.login(p)?;
        Ok(c)
    }

    /// Logs in, retrying while the server still has the account's previous connection
    /// (`AlreadyLoggedIn` right after a disconnect: the server has not read the EOF yet).
    pub fn login_retrying(&self, p: LoginParams<'_>) -> Client {
        let deadline = Instant::now() + IO;
        loop {
            match self.login(p) {
                Ok(c) => return c,
                Err(client::ClientError::LoginRejected { reason: LoginRejectReason::AlreadyLoggedIn, .. })
                    if Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("login of account {}: {e}", p.account),
            }
        }
    }
}

/// Copies a data directory (journal, snapshots ...) recursively, without its `LOCK` file, so a
/// second matchd can start on the copy.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else if e.file_name() != "LOCK" {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Every `state_hash` logged on lines containing `what` ("replay complete", "stopped cleanly").
pub fn state_hashes(log: &str, what: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(what))
        .filter_map(|l| l.split("state_hash=").nth(1))
        .map(|h| h.split_whitespace().next().unwrap_or("").trim_matches('"').to_string())
        .collect()
}

// ---------------------------------------------------------------------------
// Orders.

/// A GTC limit order on BTC-USDT, STP none.
pub fn limit(cid: u64, side: Side, price: u64, qty: u64) -> NewOrder {
    NewOrder::limit_gtc(cid, BTC, side, price, qty)
}

/// [`limit`] with a time in force.
pub fn limit_tif(cid: u64, side: Side, price: u64, qty: u64, tif: TimeInForce) -> NewOrder {
    NewOrder { tif, ..limit(cid, side, price, qty) }
}

/// BTC price `ticks` cents away from the reference price.
pub fn px(ticks: i64) -> u64 {
    (BTC_REF as i64 + ticks) as u64
}

/// `n` lots of BTC.
pub fn lots(n: u64) -> u64 {
    n * BTC_LOT
}

// ---------------------------------------------------------------------------
// Receiving.

/// The account a logged-in client's reports must belong to.
pub fn account_of(c: &Client) -> u32 {
    c.session().expect("logged in").account
}

/// The next sequenced report (heartbeats skipped; any other session message panics), checking
/// that it belongs to the client's account.
pub fn next_report(c: &mut Client) -> (u64, ExecReport) {
    let acct = account_of(c);
    let deadline = Instant::now() + IO;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "account {acct}: timed out waiting for a report");
        match c.recv(left).unwrap_or_else(|e| panic!("account {acct}: recv: {e}")) {
            Some(ServerMessage::Report { seq, report }) => {
                assert_eq!(report.account(), acct, "account {acct} received another account's report: {report:?}");
                return (seq, report);
            }
            Some(ServerMessage::Heartbeat) | None => {}
            Some(other) => panic!("account {acct}: expected a report, got {other:?}"),
        }
    }
}

/// The next `n` reports, without their sequence numbers.
pub fn next_reports(c: &mut Client, n: usize) -> Vec<ExecReport> {
    (0..n).map(|_| next_report(c).1).collect()
}

/// The next session-level message other than a heartbeat (panics on a report).
pub fn next_session_msg(c: &mut Client) -> ServerMessage {
    let deadline = Instant::now() + IO;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out waiting for a session message");
        match c.recv(left).unwrap_or_else(|e| panic!("recv: {e}")) {
            Some(ServerMessage::Heartbeat) | None => {}
            Some(m @ ServerMessage::Report { .. }) => panic!("expected a session message, got {m:?}"),
            Some(m) => return m,
        }
    }
}

static MARKER: AtomicU64 = AtomicU64::new(1 << 62);

/// A barrier: sends a command that is refused and changes nothing (a cancel of a client order id
/// that is never used; on an admin session, a state change of an instrument that does not exist)
/// and returns every report that arrives before its `CommandRejected`. Reports of commands this
/// session sent earlier, and of other sessions' commands already answered, all come before it.
pub fn sync(c: &mut Client) -> Vec<ExecReport> {
    let marker = MARKER.fetch_add(1, Ordering::Relaxed);
    let admin = c.session().expect("logged in").role == Role::Admin;
    let marker_instrument = 0xF000_0000 | (marker as u32 & 0x0FFF_FFFF);
    if admin {
        c.set_instrument_state(marker_instrument, engine::InstrumentState::Halted).expect("send marker");
    } else {
        c.cancel(OrderRef::Client(marker)).expect("send marker");
    }
    let mut out = Vec::new();
    loop {
        match next_report(c).1 {
            ExecReport::Rejected(r) if !admin && r.client_order_id == marker => {
                assert_eq!(r.reason, RejectReason::UnknownOrder, "{r:?}");
                return out;
            }
            ExecReport::Rejected(r) if admin && r.instrument == marker_instrument => {
                assert_eq!(r.reason, RejectReason::UnknownInstrument, "{r:?}");
                return out;
            }
            other => out.push(other),
        }
    }
}

/// Asserts that nothing was reported to this client (up to a [`sync`] barrier).
pub fn assert_quiet(c: &mut Client) {
    let got = sync(c);
    assert!(got.is_empty(), "account {}: unexpected reports {got:#?}", account_of(c));
}

/// Reads until the connection closes; returns everything read (an error other than
/// `Closed` panics).
pub fn read_until_closed(c: &mut Client) -> Vec<ServerMessage> {
    let deadline = Instant::now() + IO;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "connection not closed; received {out:?}");
        match c.recv(left) {
            Ok(Some(m)) => out.push(m),
            Ok(None) => {}
            Err(client::ClientError::Closed) => return out,
            Err(e) => panic!("recv: {e}; received {out:?}"),
        }
    }
}

/// The order accepted in `r` (panics otherwise).
pub fn accepted(r: &ExecReport) -> engine::Accepted {
    match r {
        ExecReport::Accepted(a) => *a,
        other => panic!("expected OrderAccepted, got {other:?}"),
    }
}

/// Sends `o` and waits for its `OrderAccepted` (nothing may come before it).
pub fn place(c: &mut Client, o: NewOrder) -> engine::Accepted {
    c.new_order(o).unwrap();
    let a = accepted(&next_report(c).1);
    assert_eq!((a.client_order_id, a.price, a.qty, a.side), (o.client_order_id, o.price, o.qty, o.side));
    a
}

// ---------------------------------------------------------------------------
// Raw connections, for malformed input and silent clients.

/// A bare TCP connection speaking frames by hand.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects to matchd.
    pub fn connect(m: &Matchd) -> Raw {
        let stream = TcpStream::connect_timeout(&m.addr, IO).expect("connect");
        stream.set_nodelay(true).unwrap();
        Raw { stream, buf: Vec::new() }
    }

    /// Wraps a connection the test opened itself (e.g. from a chosen source address).
    pub fn from_stream(stream: TcpStream) -> Raw {
        Raw { stream, buf: Vec::new() }
    }

    /// Sends raw bytes.
    pub fn send_bytes(&mut self, b: &[u8]) {
        self.stream.write_all(b).expect("write");
    }

    /// Sends one message.
    pub fn send(&mut self, m: &ClientMessage) {
        let mut buf = [0u8; 256];
        let n = m.encode(&mut buf).unwrap();
        self.send_bytes(&buf[..n]);
    }

    /// Sends a trader login.
    pub fn login(&mut self, who: (u32, &str), heartbeat_interval_ms: u32) {
        let mut p = LoginParams::trader(who.0, who.1.as_bytes());
        p.heartbeat_interval_ms = heartbeat_interval_ms;
        self.login_with(&p);
    }

    /// Sends a login.
    pub fn login_with(&mut self, p: &LoginParams<'_>) {
        self.send(&ClientMessage::Login(Login {
            account: p.account,
            credential: Login::credential_from(p.credential).unwrap(),
            last_seen_seq: p.last_seen_seq,
            heartbeat_interval_ms: p.heartbeat_interval_ms,
            role: p.role,
            cancel_on_disconnect: p.cancel_on_disconnect,
        }));
    }

    /// The next message, `None` at EOF; panics after `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Option<ServerMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((frame, n)) = decode_frame(&self.buf).expect("server framing") {
                let m = ServerMessage::decode_frame(&frame).expect("server message");
                self.buf.drain(..n);
                return Some(m);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "raw: timed out; buffered {:?}", self.buf);
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    assert!(self.buf.is_empty(), "raw: EOF inside a frame: {:?}", self.buf);
                    return None;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("raw: read: {e}"),
            }
        }
    }

    /// Every message until EOF (heartbeats dropped).
    pub fn recv_until_eof(&mut self, timeout: Duration) -> Vec<ServerMessage> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while let Some(m) = self.recv(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)))
        {
            if m != ServerMessage::Heartbeat {
                out.push(m);
            }
        }
        out
    }
}

/// A client order stream that keeps another session busy in the background and checks every
/// answer, to show that misbehaving connections do not disturb it (each answer must come within
/// [`IO`]: a hang, not a speed).
pub struct Bystander {
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Bystander {
    /// Logs `who` in and, every `period`, places and cancels an order, checking both answers.
    pub fn start(m: &Matchd, who: (u32, &str), period: Duration) -> Bystander {
        let mut p = LoginParams::trader(who.0, who.1.as_bytes());
        p.heartbeat_interval_ms = 200;
        let mut c = m.login(p).expect("bystander login");
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let (s, r) = (stop.clone(), rounds.clone());
        let handle = std::thread::spawn(move || {
            let mut cid = 1;
            while !s.load(Ordering::Relaxed) {
                let a = place(&mut c, limit(cid, Side::Buy, px(-1000), lots(10)));
                c.cancel(OrderRef::Engine(a.order_id)).unwrap();
                match next_report(&mut c).1 {
                    ExecReport::Cancelled(x) if x.order_id == a.order_id => {}
                    other => panic!("bystander: {other:?}"),
                }
                r.fetch_add(1, Ordering::Relaxed);
                cid += 1;
                // Waits on the socket (answering heartbeats) rather than sleeping.
                let _ = c.recv_for(period).expect("bystander idle");
            }
        });
        Bystander { stop, rounds, handle: Some(handle) }
    }

    /// Waits for one more complete round (the session still works now), stops it, and returns
    /// the rounds completed; panics if it failed.
    pub fn finish(mut self) -> u64 {
        let before = self.rounds.load(Ordering::Relaxed);
        // A round is two answers and an idle period: each answer is bounded by IO already.
        let deadline = Instant::now() + 3 * IO;
        while self.rounds.load(Ordering::Relaxed) <= before && !self.handle.as_ref().unwrap().is_finished() {
            assert!(Instant::now() < deadline, "the bystander session stopped getting answers");
            std::thread::sleep(Duration::from_millis(5));
        }
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.take().unwrap().join() {
            Ok(()) => self.rounds.load(Ordering::Relaxed),
            Err(e) => std::panic::resume_unwind(e),
        }
    }
}

/// How many bytes the server may have queued for a client that never reads, on a connection from
/// [`connect_small_rcvbuf`], before it must have cut it off as a slow consumer: its outbound
/// buffer plus what the kernel holds for the connection, at most the send buffer's autotuning
/// ceiling on the server's side (`net.ipv4.tcp_wmem`, 4 MiB by default) and the doubled `rcvbuf`
/// on the client's. Twice that, for slack. Slow-consumer tests bound their flow by this many bytes
/// instead of by time: a busy machine only makes the flow slower, never longer in bytes.
pub fn unread_bytes_budget(outbound_buffer_bytes: u64, rcvbuf: i32) -> u64 {
    let send_buffer_max = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse::<u64>().ok())
        .unwrap_or(4 << 20);
    2 * (send_buffer_max + outbound_buffer_bytes + 2 * rcvbuf as u64)
}

/// A TCP connection whose receive buffer is set to `rcvbuf` bytes before connecting (so the
/// window it advertises stays small), as a slow client would have.
pub fn connect_small_rcvbuf(addr: SocketAddr, rcvbuf: i32) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(v4) = addr else { panic!("IPv4 loopback expected, got {addr}") };
    // SAFETY: plain socket syscalls on a descriptor this function owns; the sockaddr and the
    // option value outlive the calls that read them.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let v: libc::c_int = rcvbuf;
        let r = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &v as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(r, 0, "setsockopt: {}", std::io::Error::last_os_error());
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(v4.ip().octets()) },
            sin_zero: [0; 8],
        };
        let r = libc::connect(
            fd,
            &sa as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(r, 0, "connect: {}", std::io::Error::last_os_error());
        TcpStream::from_raw_fd(fd)
    }
}

/// Reads market data until a message matches `pred` (bounded by [`IO`] against a hang); returns
/// everything read, the matching message last.
pub fn md_until(
    c: &mut client::md_client::MdClient,
    mut pred: impl FnMut(&protocol::MdServerMessage) -> bool,
) -> Vec<protocol::MdServerMessage> {
    let deadline = Instant::now() + IO;
    let mut out = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "timed out; got {out:#?}");
        if let Some(msg) = c.recv(Duration::from_millis(50)).expect("md recv") {
            let done = pred(&msg);
            out.push(msg);
            if done {
                return out;
            }
        }
    }
}
