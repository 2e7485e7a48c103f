//! Edge benchmark: REST order entry (throughput and latency through matchd-edge into matchd) and
//! WebSocket fan-out (1,000 subscribers on one instrument's trades: messages delivered per second
//! and the delay from the trade in matchd to its last subscriber). Prints one JSON line last.
//!
//! `cargo build --release -p matchd && cargo bench -p edge --bench edge [-- --orders N
//! --concurrency C --subscribers S --trades T --durability none|batch --quick]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use common::{ALICE, BOB};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

struct Args {
    orders: u64,
    concurrency: u64,
    subscribers: usize,
    trades: u64,
    durability: String,
}

fn args() -> Args {
    let mut a = Args { orders: 20_000, concurrency: 32, subscribers: 1000, trades: 500, durability: "batch".into() };
    let v: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < v.len() {
        let num = || v.get(i + 1).and_then(|s| s.parse::<u64>().ok()).expect("a number after the flag");
        match v[i].as_str() {
            "--orders" => a.orders = num(),
            "--concurrency" => a.concurrency = num(),
            "--subscribers" => a.subscribers = num() as usize,
            "--trades" => a.trades = num(),
            "--quick" => {
                (a.orders, a.trades) = (5000, 200);
                i += 1;
                continue;
            }
            "--durability" => a.durability = v.get(i + 1).cloned().expect("none, batch or interval"),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit on our own process with a valid pointer.
    unsafe {
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// IOC orders that never cross (they are accepted, then their remainder cancelled): nothing rests,
/// so the open-order limit never bites.
async fn rest_order_entry(st: &Arc<common::Stack>, a: &Args) -> (f64, Histogram<u64>) {
    let per_task = a.orders / a.concurrency;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..a.concurrency {
        let st = st.clone();
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new(3).unwrap();
            let (who, side, base) = if t % 2 == 0 { (ALICE, "BUY", 45_000) } else { (BOB, "SELL", 54_000) };
            for i in 0..per_task {
                let body = format!(
                    r#"{{"symbol":"BTC-USDT","side":"{side}","type":"LIMIT","timeInForce":"IOC","price":"{}.00","quantity":"0.0001"}}"#,
                    base + (i % 900)
                );
                let t0 = Instant::now();
                let (code, v) = st.signed(who, "POST", "/api/v3/order", "", &body).await;
                h.record(t0.elapsed().as_micros() as u64).unwrap();
                assert_eq!(code, 200, "{v}");
            }
            h
        }));
    }
    let mut h = Histogram::<u64>::new(3).unwrap();
    for t in tasks {
        h.add(t.await.unwrap()).unwrap();
    }
    let rate = (per_task * a.concurrency) as f64 / start.elapsed().as_secs_f64();
    (rate, h)
}

/// 1,000 subscribers of BTC-USDT@trade; `trades` trades made through the edge. Each subscriber
/// records (receive time - matchd's receive time of the taking order) per trade.
async fn fan_out(st: &Arc<common::Stack>, a: &Args) -> (f64, Histogram<u64>, u64) {
    let mut subs = Vec::new();
    for _ in 0..a.subscribers {
        subs.push(st.ws("BTC-USDT@trade").await);
    }
    let trades = a.trades.div_ceil(10) * 10;
    let mut readers = Vec::new();
    for mut ws in subs {
        readers.push(tokio::spawn(async move {
            let mut got: Vec<(u64, u64, u64)> = Vec::with_capacity(trades as usize);
            while (got.len() as u64) < trades {
                let Some(Ok(Message::Text(t))) = ws.next().await else { panic!("subscriber closed") };
                let at = now_ns();
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                let tid: u64 = v["data"]["t"].as_str().unwrap().parse().unwrap();
                let sent: u64 = v["data"]["Tns"].as_str().unwrap().parse().unwrap();
                got.push((tid, at.saturating_sub(sent), at));
            }
            got
        }));
    }
    // Rounds of ten resting sells swept by one buy: ten trades in one burst per round, exactly.
    let rounds = trades.div_ceil(10);
    for _ in 0..rounds {
        for _ in 0..10 {
            st.limit(ALICE, "SELL", "50000.00", "0.0001").await;
        }
        let body = r#"{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","timeInForce":"IOC","price":"50000.00","quantity":"0.001"}"#;
        let (code, v) = st.signed(BOB, "POST", "/api/v3/order", "", body).await;
        assert_eq!(code, 200, "{v}");
    }
    let mut last_delay: std::collections::HashMap<u64, u64> = Default::default();
    let (mut first_at, mut last_at, mut messages) = (u64::MAX, 0u64, 0u64);
    for r in readers {
        for (tid, delay, at) in r.await.unwrap() {
            let e = last_delay.entry(tid).or_default();
            *e = (*e).max(delay);
            first_at = first_at.min(at);
            last_at = last_at.max(at);
            messages += 1;
        }
    }
    let mut h = Histogram::<u64>::new(3).unwrap();
    for d in last_delay.values() {
        h.record(d / 1000).unwrap();
    }
    let secs = (last_at.saturating_sub(first_at)) as f64 / 1e9;
    (messages as f64 / secs.max(1e-9), h, messages)
}

#[tokio::main]
async fn main() {
    let a = args();
    raise_fd_limit();
    let limits = format!("max_ws_connections = {}\nsubscriber_queue_messages = 65536", a.subscribers + 16);
    let st = Arc::new(common::start_durability(&limits, &a.durability).await);
    let (rate, rest) = rest_order_entry(&st, &a).await;
    eprintln!(
        "REST order entry: {rate:.0} orders/s, p50 {} us, p99 {} us ({} orders, {} in flight)",
        rest.value_at_quantile(0.5),
        rest.value_at_quantile(0.99),
        rest.len(),
        a.concurrency
    );
    let (msgs_per_s, delay, messages) = fan_out(&st, &a).await;
    eprintln!(
        "fan-out: {} subscribers, {} trades, {messages} messages, {msgs_per_s:.0} messages/s; trade to last subscriber p50 {} us, p99 {} us",
        a.subscribers,
        delay.len(),
        delay.value_at_quantile(0.5),
        delay.value_at_quantile(0.99)
    );
    println!(
        "{}",
        json!({
            "bench": "edge", "durability": a.durability,
            "rest_orders": rest.len(), "rest_concurrency": a.concurrency,
            "rest_orders_per_s": rate.round(), "rest_p50_us": rest.value_at_quantile(0.5),
            "rest_p99_us": rest.value_at_quantile(0.99),
            "ws_subscribers": a.subscribers, "ws_trades": delay.len(), "ws_messages": messages,
            "ws_messages_per_s": msgs_per_s.round(),
            "ws_trade_to_last_subscriber_p50_us": delay.value_at_quantile(0.5),
            "ws_trade_to_last_subscriber_p99_us": delay.value_at_quantile(0.99),
        })
    );
}
