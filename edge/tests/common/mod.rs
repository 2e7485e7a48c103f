//! Shared harness of the edge's end-to-end tests: the real `matchd` binary (risk mode, the
//! embedded default config: alice and bob funded) and the real `matchd-edge` binary as child
//! processes on loopback, and small signed HTTP / WebSocket clients.
//!
//! No wall-clock budgets: every wait is for an event, bounded by [`LONG_WAIT`] only against a hang.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// Bounds a hang, never a speed.
pub const LONG_WAIT: Duration = Duration::from_secs(120);

/// API keys of the test configuration: (key, secret, account).
pub const ALICE: (&str, &str, u32) = ("alice-key", "alice-secret-0123456789", 1);
/// Bob's key.
pub const BOB: (&str, &str, u32) = ("bob-key", "bob-secret-0123456789ab", 2);

/// The `matchd` binary: `$MATCHD_BIN`, else beside this test's directory (`target/<profile>/`,
/// where `cargo test --workspace` and `cargo build -p matchd` put it).
pub fn matchd_binary() -> PathBuf {
    let mut tried = Vec::new();
    if let Some(p) = std::env::var_os("MATCHD_BIN") {
        tried.push(PathBuf::from(p));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(up) = exe.parent().and_then(Path::parent) {
            tried.push(up.join("matchd"));
        }
    }
    tried.iter().find(|p| p.is_file()).cloned().unwrap_or_else(|| {
        panic!("matchd binary not found (tried {tried:?}): run `cargo build -p matchd` first (scripts/test.sh builds the workspace)")
    })
}

/// A child process killed on drop.
pub struct Proc {
    /// The child.
    pub child: Child,
    /// Its log.
    pub log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// What it logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Spawns `cmd`, waits for a stdout line starting with `prefix`, returns the address after it.
pub fn spawn_and_wait(mut cmd: Command, log: PathBuf, prefix: &'static str) -> (Proc, SocketAddr) {
    let err = std::fs::File::create(&log).unwrap();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::from(err)).stdin(Stdio::null()).spawn().expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(prefix) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let p = Proc { child, log };
    match rx.recv_timeout(LONG_WAIT) {
        Ok(a) => (p, a.parse().unwrap()),
        Err(_) => panic!("no `{prefix}` line; log:\n{}", p.log()),
    }
}

/// A running matchd + edge pair.
pub struct Stack {
    /// matchd.
    pub matchd: Proc,
    /// matchd's order-entry (and market-data) address.
    pub matchd_addr: SocketAddr,
    /// The edge.
    pub edge: Proc,
    /// The edge's HTTP address.
    pub edge_addr: SocketAddr,
    /// Temporary directory.
    pub dir: tempfile::TempDir,
    /// HTTP client.
    pub http: reqwest::Client,
}

/// Starts matchd (risk mode, the embedded default config) and the edge with `limits` (TOML lines
/// for the `[limits]` table), and waits until the edge serves BTC-USDT's book and both accounts.
pub async fn start(limits: &str) -> Stack {
    start_durability(limits, "batch").await
}

/// [`start`] with matchd's `journal.durability` set (`none`, `batch`, `interval`).
pub async fn start_durability(limits: &str, durability: &str) -> Stack {
    start_full(limits, durability, "127.0.0.1:0").await
}

/// [`start`] with matchd's durability and order-entry listen address.
pub async fn start_full(limits: &str, durability: &str, matchd_listen: &str) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let cfg = matchd::config::DEFAULT_CONFIG_TOML
        .replace("durability = \"batch\"", &format!("durability = \"{durability}\""))
        // Small journal segments: a test writes little, and several run at once.
        .replace("segment_bytes = 268435456", "segment_bytes = 16777216")
        .replace("heartbeat_timeout_ms = 10000", "heartbeat_timeout_ms = 60000")
        .replace("login_timeout_ms = 5000", "login_timeout_ms = 60000");
    let mcfg = dir.path().join("matchd.toml");
    std::fs::write(&mcfg, cfg).unwrap();
    let (matchd, matchd_addr) = start_matchd(dir.path(), matchd_listen);
    let ecfg = dir.path().join("edge.toml");
    std::fs::write(&ecfg, edge_config(matchd_addr, limits)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_matchd-edge"));
    cmd.arg("--config").arg(&ecfg);
    let (edge, edge_addr) = spawn_and_wait(cmd, dir.path().join("edge.log"), "matchd-edge listen=");
    let s = Stack { matchd, matchd_addr, edge, edge_addr, dir, http: reqwest::Client::new() };
    s.wait_ready().await;
    s
}

/// Starts matchd on `dir`'s config and data directory (written by [`start_full`]).
pub fn start_matchd(dir: &Path, listen: &str) -> (Proc, SocketAddr) {
    let mut cmd = Command::new(matchd_binary());
    cmd.arg("--config").arg(dir.join("matchd.toml")).arg("--data-dir").arg(dir.join("data"));
    cmd.args(["--listen", listen, "--metrics-listen", "127.0.0.1:0"]);
    spawn_and_wait(cmd, dir.join("matchd.log"), "matchd ready listen=")
}

/// The edge configuration of the tests.
pub fn edge_config(matchd: SocketAddr, limits: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
matchd = ["{matchd}"]

[limits]
{limits}

[[assets]]
id = 1
name = "USDT"
decimals = 2
[[assets]]
id = 2
name = "BTC"
decimals = 8
[[assets]]
id = 3
name = "ETH"
decimals = 8

[[api_keys]]
api_key = "{}"
secret = "{}"
account = 1
matchd_credential = "alice-demo"

[[api_keys]]
api_key = "{}"
secret = "{}"
account = 2
matchd_credential = "bob-demo"
"#,
        ALICE.0, ALICE.1, BOB.0, BOB.1
    )
}

/// Wall clock, ms (for request timestamps).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Polls `done` every 20 ms until it holds; panics after [`LONG_WAIT`].
pub async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + LONG_WAIT;
    while !done().await {
        assert!(Instant::now() < deadline, "waited {LONG_WAIT:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Stack {
    /// `http://addr`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.edge_addr)
    }

    /// Waits until the edge serves BTC-USDT's book and both accounts.
    pub async fn wait_ready(&self) {
        wait_until("the edge's BTC-USDT book and account sessions", || async {
            let (st, _) = self.get("/api/v3/depth?symbol=BTC-USDT").await;
            if st != 200 {
                return false;
            }
            let (a, _) = self.signed(ALICE, "GET", "/api/v3/account", "", "").await;
            let (b, _) = self.signed(BOB, "GET", "/api/v3/account", "", "").await;
            a == 200 && b == 200
        })
        .await;
    }

    /// A public GET: (status, JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).send().await.expect("GET");
        let st = r.status().as_u16();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    /// A signed request: `params` (without timestamp/signature) go in the query, `body` is JSON text.
    pub async fn signed(
        &self,
        who: (&str, &str, u32),
        method: &str,
        path: &str,
        params: &str,
        body: &str,
    ) -> (u16, Value) {
        // The widest window the edge allows: a busy machine can hold a request back for longer
        // than the default 5 s between its timestamp and the edge's check.
        let q = if params.is_empty() {
            format!("recvWindow={RECV_WINDOW_MS}&timestamp={}", now_ms())
        } else {
            format!("{params}&recvWindow={RECV_WINDOW_MS}&timestamp={}", now_ms())
        };
        self.raw(who.0, method, path, &signed_query(who.1, &q, body), body).await
    }

    /// A request with exactly this key, query and body.
    pub async fn raw(&self, key: &str, method: &str, path: &str, query: &str, body: &str) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = self
            .http
            .request(m, format!("{}?{query}", self.url(path)))
            .header("X-MBX-APIKEY", key)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        let st = r.status().as_u16();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    /// Places a limit GTC order; returns the answer (panics unless 200).
    pub async fn limit(&self, who: (&str, &str, u32), side: &str, price: &str, qty: &str) -> Value {
        let body = format!(
            r#"{{"symbol":"BTC-USDT","side":"{side}","type":"LIMIT","timeInForce":"GTC","price":"{price}","quantity":"{qty}"}}"#
        );
        let (st, v) = self.signed(who, "POST", "/api/v3/order", "", &body).await;
        assert_eq!(st, 200, "{v}");
        v
    }

    /// A public WebSocket on `/ws?streams=..`.
    pub async fn ws(&self, streams: &str) -> Ws {
        let (s, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws?streams={streams}", self.edge_addr))
            .await
            .expect("ws connect");
        s
    }

    /// Alice's or Bob's private stream, resuming after `from_seq`.
    pub async fn user_ws(&self, who: (&str, &str, u32), from_seq: Option<u64>) -> Ws {
        let mut q = format!("apiKey={}&recvWindow={RECV_WINDOW_MS}&timestamp={}", who.0, now_ms());
        if let Some(f) = from_seq {
            q.push_str(&format!("&fromSeq={f}"));
        }
        let url = format!("ws://{}/ws/user?{}", self.edge_addr, signed_query(who.1, &q, ""));
        tokio_tungstenite::connect_async(url).await.expect("user ws connect").0
    }

    /// A value of the edge's `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.http.get(self.url("/metrics")).send().await.unwrap().text().await.unwrap();
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("metric {name} missing:\n{text}"))
    }
}

/// The `recvWindow` of the harness's signed requests: the edge's `max_recv_window_ms` default.
pub const RECV_WINDOW_MS: u64 = 60_000;

/// `query&signature=hex(HMAC-SHA256(secret, query + body))`.
pub fn signed_query(secret: &str, query: &str, body: &str) -> String {
    let mut payload = query.as_bytes().to_vec();
    payload.extend_from_slice(body.as_bytes());
    format!("{query}&signature={}", edge::auth::sign(secret, &payload))
}

/// A WebSocket client.
pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text message as JSON (panics on close or after [`LONG_WAIT`]).
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(LONG_WAIT, ws.next()).await.expect("a message in time");
        match m {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
            Some(Ok(Message::Close(c))) => panic!("closed: {c:?}"),
            Some(Ok(_)) => {}
            other => panic!("websocket ended: {other:?}"),
        }
    }
}

/// Sends a JSON text.
pub async fn send_json(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// A string field of a JSON answer (panics naming the field and the answer).
pub fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_else(|| panic!("`{k}` in {v}")).to_string()
}

/// Private-stream events up to and including the first whose `data` satisfies `pred`.
pub async fn until_event(ws: &mut Ws, mut pred: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let mut got = Vec::new();
    loop {
        let m = next_json(ws).await;
        let done = pred(&m["data"]);
        got.push(m["data"].clone());
        if done {
            return got;
        }
    }
}

/// A signed `POST /api/v3/order`.
pub async fn post_order(st: &Stack, who: (&str, &str, u32), body: &str) -> (u16, Value) {
    st.signed(who, "POST", "/api/v3/order", "", body).await
}

/// Alice's signed `GET /api/v3/order` of one order id (must answer 200).
pub async fn get_order(st: &Stack, id: &str) -> Value {
    let (code, o) = st.signed(ALICE, "GET", "/api/v3/order", &format!("symbol=BTC-USDT&orderId={id}"), "").await;
    assert_eq!(code, 200, "{o}");
    o
}

/// The refusal's (status, code, msg).
pub fn refusal((code, v): (u16, Value)) -> (u16, i64, String) {
    (code, v["code"].as_i64().unwrap_or_else(|| panic!("{v}")), s(&v, "msg"))
}
