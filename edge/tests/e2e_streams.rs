//! The WebSocket streams against the real matchd: depth snapshot + diffs rebuild matchd's own
//! book exactly (Binance's algorithm), a private stream resumes after a reconnect without loss or
//! repeat, and a subscriber that does not read is cut off while another keeps everything.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use client::md_client::MdFeed;
use common::{next_json, start, Ws, ALICE, BOB};
use engine::Side;
use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// A book built by the documented client algorithm: price string → qty string per side.
#[derive(Default, Debug, PartialEq)]
struct LocalBook {
    bids: BTreeMap<String, String>,
    asks: BTreeMap<String, String>,
    last_u: u64,
}

impl LocalBook {
    fn from_snapshot(v: &Value) -> LocalBook {
        let side = |k: &str| -> BTreeMap<String, String> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|l| (l[0].as_str().unwrap().into(), l[1].as_str().unwrap().into()))
                .collect()
        };
        LocalBook { bids: side("bids"), asks: side("asks"), last_u: v["lastUpdateId"].as_u64().unwrap() }
    }

    /// Applies a depthUpdate: `Ok(false)` if it is older than the book, `Err` on a gap.
    fn apply(&mut self, d: &Value, first: bool) -> Result<bool, String> {
        let (big_u, u) = (d["U"].as_u64().unwrap(), d["u"].as_u64().unwrap());
        if u <= self.last_u {
            return Ok(false);
        }
        let ok = if first { big_u <= self.last_u + 1 } else { big_u == self.last_u + 1 };
        if !ok {
            return Err(format!("gap: book at {}, update U={big_u} u={u}", self.last_u));
        }
        for (k, side) in [("b", &mut self.bids), ("a", &mut self.asks)] {
            for l in d[k].as_array().unwrap() {
                let (p, q) = (l[0].as_str().unwrap().to_string(), l[1].as_str().unwrap().to_string());
                if q.bytes().all(|b| b == b'0' || b == b'.') {
                    side.remove(&p);
                } else {
                    side.insert(p, q);
                }
            }
        }
        self.last_u = u;
        Ok(true)
    }
}

/// matchd's own book (from its feed, through the client crate) in the edge's units.
fn matchd_levels(feed: &MdFeed) -> Option<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let b = feed.books.book(1).filter(|_| feed.books.is_synced(1))?;
    let f = |s: Side| {
        b.levels(s)
            .into_iter()
            .map(|(p, q, _)| (edge::units::format_decimal(p, 2), edge::units::format_decimal(q, 8)))
            .collect::<BTreeMap<_, _>>()
    };
    Some((f(Side::Buy), f(Side::Sell)))
}

async fn place_mix(st: &common::Stack, round: u32) {
    // Resting orders on both sides at spread-out prices, and some that cross and trade.
    for i in 0..10u32 {
        let bid = format!("{}.{:02}", 49_900 - (i * 7 + round) % 50, i);
        let ask = format!("{}.{:02}", 50_100 + (i * 5 + round) % 50, i);
        st.limit(ALICE, "BUY", &bid, "0.002").await;
        st.limit(BOB, "SELL", &ask, "0.003").await;
        if i % 3 == 0 {
            st.limit(BOB, "SELL", "49850.00", "0.001").await;
            st.limit(ALICE, "BUY", "50150.00", "0.001").await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_snapshot_and_diffs_rebuild_matchds_book() {
    let st = start("").await;
    place_mix(&st, 0).await;
    let mut ws = st.ws("BTC-USDT@depth").await;
    // Let the subscription take effect before the snapshot (any update it misses shows as a gap).
    let (_, snap) = st.get("/api/v3/depth?symbol=BTC-USDT&limit=5000").await;
    let mut book = LocalBook::from_snapshot(&snap);
    assert!(!book.bids.is_empty() && !book.asks.is_empty(), "{snap}");
    place_mix(&st, 1).await;
    let addr = st.matchd_addr;
    let mut feed = tokio::task::spawn_blocking(move || {
        let mut f = MdFeed::connect(addr, Duration::from_secs(30), Default::default()).unwrap();
        while matchd_levels(&f).is_none() {
            f.step(Duration::from_millis(50)).unwrap();
        }
        f
    })
    .await
    .unwrap();
    let want = matchd_levels(&feed).unwrap();
    let mut first = true;
    let deadline = std::time::Instant::now() + common::LONG_WAIT;
    while (book.bids.clone(), book.asks.clone()) != want {
        assert!(std::time::Instant::now() < deadline, "local book {book:?}\nmatchd's {want:?}");
        let m = next_json(&mut ws).await;
        if book.apply(&m["data"], first).unwrap() {
            first = false;
        }
    }
    // The snapshot now agrees too (same levels; its id is at or past the last update).
    let (_, snap) = st.get("/api/v3/depth?symbol=BTC-USDT&limit=5000").await;
    let again = LocalBook::from_snapshot(&snap);
    assert_eq!((again.bids, again.asks), want);
    assert!(again.last_u >= book.last_u);
    feed.client.close();
}

fn seq(v: &Value) -> u64 {
    v["seq"].as_str().unwrap().parse().unwrap()
}

async fn until_event(ws: &mut Ws, mut pred: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let mut got = Vec::new();
    loop {
        let m = next_json(ws).await;
        let done = pred(&m["data"]);
        got.push(m);
        if done {
            return got;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_stream_resumes_after_a_reconnect() {
    let st = start("private_history_events = 40").await;
    let mut ws = st.user_ws(ALICE, None).await;
    let first = st.limit(ALICE, "SELL", "50000.00", "0.01").await;
    let id1 = first["orderId"].as_str().unwrap().to_string();
    let seen = until_event(&mut ws, |d| d["x"] == "NEW" && d["i"] == id1.as_str()).await;
    let last = seq(seen.last().unwrap());
    drop(ws);
    // While alice is away: a new order of hers, and bob trades with it.
    let second = st.limit(ALICE, "SELL", "50001.00", "0.01").await;
    let id2 = second["orderId"].as_str().unwrap().to_string();
    st.limit(BOB, "BUY", "50001.00", "0.02").await;
    let mut ws = st.user_ws(ALICE, Some(last)).await;
    let mut seqs = Vec::new();
    let got = until_event(&mut ws, |d| d["x"] == "TRADE" && d["i"] == id2.as_str() && d["X"] == "FILLED").await;
    for m in &got {
        seqs.push(seq(m));
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > last, "{seqs:?} after {last}");
    assert!(got.iter().any(|m| m["data"]["x"] == "NEW" && m["data"]["i"] == id2.as_str()), "{got:?}");
    assert!(got.iter().any(|m| m["data"]["x"] == "TRADE" && m["data"]["i"] == id1.as_str()), "{got:?}");
    assert!(got.iter().any(|m| m["data"]["e"] == "balanceUpdate"), "{got:?}");
    // Live events follow the replay.
    let third = st.limit(ALICE, "BUY", "49000.00", "0.001").await;
    let id3 = third["orderId"].as_str().unwrap().to_string();
    until_event(&mut ws, |d| d["x"] == "NEW" && d["i"] == id3.as_str()).await;
    // Resuming from before the kept history is refused with its own error.
    for _ in 0..25 {
        st.limit(ALICE, "BUY", "49000.00", "0.001").await;
    }
    let q = common::signed_query(ALICE.1, &format!("apiKey={}&timestamp={}&fromSeq=1", ALICE.0, common::now_ms()), "");
    let e = tokio_tungstenite::connect_async(format!("ws://{}/ws/user?{q}", st.edge_addr)).await.unwrap_err();
    match e {
        tokio_tungstenite::tungstenite::Error::Http(r) => {
            assert_eq!(r.status(), 400);
            let body: Value = serde_json::from_slice(r.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["code"], -1132, "{body}");
        }
        other => panic!("{other}"),
    }
}

/// A WebSocket client whose socket buffers little, so the edge's queue fills when it does not read.
async fn slow_ws(addr: std::net::SocketAddr, streams: &str) -> Ws {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let tcp = sock.connect(addr).await.unwrap();
    let url = format!("ws://{addr}/ws?streams={streams}");
    tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp)).await.unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_is_cut_off_and_the_others_keep_everything() {
    let st = start("subscriber_queue_messages = 8\nsocket_send_buffer_bytes = 8192").await;
    let mut slow = slow_ws(st.edge_addr, "BTC-USDT@depth,BTC-USDT@bookTicker").await;
    let mut fast = st.ws("BTC-USDT@depth").await;
    let (_, snap) = st.get("/api/v3/depth?symbol=BTC-USDT&limit=5000").await;
    let reader = tokio::spawn(async move {
        let mut book = LocalBook::from_snapshot(&snap);
        let mut first = true;
        let mut updates = 0u64;
        while let Some(Ok(m)) = fast.next().await {
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if book.apply(&v["data"], first).expect("the fast subscriber never sees a gap") {
                first = false;
                updates += 1;
            }
            if v["data"]["b"].as_array().is_some_and(|b| b.iter().any(|l| l[0] == "45100.00")) {
                return updates;
            }
        }
        panic!("fast subscriber closed");
    });
    // Distinct price levels until the edge cuts the slow one off.
    let mut n = 0u32;
    while st.metric("edge_ws_slow_cutoffs_total").await < 1.0 {
        for _ in 0..20 {
            let price = format!("{}.{:02}", 45_500 + n / 100, n % 100);
            st.limit(ALICE, "BUY", &price, "0.0001").await;
            n += 1;
        }
        assert!(n < 40_000, "the slow subscriber was never cut off");
    }
    // The marker order: the fast subscriber sees every update up to it, without a gap.
    st.limit(ALICE, "BUY", "45100.00", "0.0001").await;
    let updates = tokio::time::timeout(common::LONG_WAIT, reader).await.unwrap().unwrap();
    assert!(updates >= u64::from(n), "{updates} updates for {n} orders");
    // The slow one, reading at last, finds the close frame after what was queued (or, if it took
    // longer than the edge's close grace to read, the end of the connection).
    loop {
        match tokio::time::timeout(common::LONG_WAIT, slow.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(u16::from(f.code), 1008);
                assert!(f.reason.contains("slow"), "{f:?}");
                break;
            }
            Some(Ok(Message::Close(None))) => panic!("a close frame without the reason"),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
}
