//! The demo page in headless Chromium (Debian's `chromium`, driven over the DevTools protocol):
//! it loads, syncs the book, and shows the trades made through matchd; a screenshot is saved to
//! `target/edge-browser.png`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use base64::Engine as _;
use common::{start, ALICE, BOB, LONG_WAIT};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// One DevTools session on a page.
struct Cdp {
    ws: common::Ws,
    next_id: u64,
}

impl Cdp {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.ws
            .send(Message::Text(json!({"id": id, "method": method, "params": params}).to_string().into()))
            .await
            .unwrap();
        loop {
            let m = tokio::time::timeout(LONG_WAIT, self.ws.next()).await.expect("DevTools answer").unwrap().unwrap();
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    async fn eval(&mut self, expr: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({"expression": expr, "returnByValue": true})).await;
        r["result"]["value"].clone()
    }

    async fn wait_for(&mut self, what: &str, expr: &str) {
        let deadline = Instant::now() + LONG_WAIT;
        while self.eval(expr).await != json!(true) {
            let dom = self.eval("document.body ? document.body.innerText : ''").await;
            assert!(Instant::now() < deadline, "waited for {what}; page shows:\n{dom}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// Chromium, killed on drop.
struct Browser(std::process::Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn open_page(profile: &std::path::Path) -> (Browser, Cdp) {
    let mut child = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .args(["--remote-debugging-port=0", "--window-size=1100,700"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium (Debian package `chromium`; scripts/install-test-deps.sh installs it)");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let browser = Browser(child);
    let browser_url = rx.recv_timeout(LONG_WAIT).expect("chromium's DevTools line");
    let http = browser_url.trim_start_matches("ws://").split('/').next().unwrap().to_string();
    let deadline = Instant::now() + LONG_WAIT;
    let page_url = loop {
        let targets: Value = match reqwest::get(format!("http://{http}/json/list")).await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        let found = targets.as_array().and_then(|t| {
            t.iter().find(|t| t["type"] == "page").and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_string))
        });
        if let Some(u) = found {
            break u;
        }
        assert!(Instant::now() < deadline, "no page target in chromium");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let (ws, _) = tokio_tungstenite::connect_async(page_url).await.expect("DevTools page socket");
    (browser, Cdp { ws, next_id: 0 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_book_and_the_trades() {
    let st = start("").await;
    st.limit(ALICE, "BUY", "49321.00", "0.0042").await;
    let profile = st.dir.path().join("chromium-profile");
    let (_browser, mut cdp) = open_page(&profile).await;
    cdp.call("Page.navigate", json!({"url": st.url("/?symbol=BTC-USDT")})).await;
    cdp.wait_for("the page to go live", "document.getElementById('status')?.textContent === 'live'").await;
    cdp.wait_for("the resting bid", "document.getElementById('bids').innerText.includes('49321.00')").await;
    // Trades through matchd after the page loaded: they reach it only over the WebSocket.
    st.limit(BOB, "SELL", "50123.45", "0.00234").await;
    st.limit(ALICE, "BUY", "50123.45", "0.00234").await;
    st.limit(ALICE, "SELL", "50200.00", "0.001").await;
    cdp.wait_for(
        "the trade row",
        "[...document.querySelectorAll('#trades tr')].some(r => r.innerText.includes('50123.45') && r.innerText.includes('0.00234000') && r.innerText.includes('BUY'))",
    )
    .await;
    cdp.wait_for(
        "the book after the trade",
        "document.getElementById('asks').innerText.includes('50200.00') && !document.getElementById('asks').innerText.includes('50123.45')",
    )
    .await;
    let shot = cdp.call("Page.captureScreenshot", json!({"format": "png"})).await;
    let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("edge-browser.png"), png).unwrap();
}
