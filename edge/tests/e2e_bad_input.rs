//! Every bad input gets its specific error, and the edge keeps serving the others.

mod common;

use common::{next_json, send_json, signed_query, start, ALICE};
use serde_json::json;

const ORDER: &str =
    r#"{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","price":"49000.00","quantity":"0.001"}"#;

fn order_with(field: &str, value: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(ORDER).unwrap();
    v[field] = value.into();
    v.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_specific_errors() {
    let st = start("max_ws_connections = 4\nmax_subscriptions_per_connection = 2\nmax_body_bytes = 1024").await;
    let post = "/api/v3/order";
    let check = |(code, v): (u16, serde_json::Value), want_status: u16, want_code: i64| {
        assert_eq!((code, v["code"].as_i64()), (want_status, Some(want_code)), "{v}");
        assert!(v["msg"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    };
    // Keys, signatures, timestamps.
    let q = signed_query(ALICE.1, &format!("timestamp={}", common::now_ms()), ORDER);
    check(st.raw("nobody", "POST", post, &q, ORDER).await, 401, -2015);
    check(st.raw(ALICE.0, "POST", post, &q, &order_with("side", "SELL")).await, 401, -1022);
    let wrong_secret = signed_query("not-alices-secret-000", &format!("timestamp={}", common::now_ms()), ORDER);
    check(st.raw(ALICE.0, "POST", post, &wrong_secret, ORDER).await, 401, -1022);
    let stale = signed_query(ALICE.1, &format!("timestamp={}", common::now_ms() - 120_000), ORDER);
    check(st.raw(ALICE.0, "POST", post, &stale, ORDER).await, 401, -1021);
    let window = signed_query(ALICE.1, &format!("recvWindow=999999999&timestamp={}", common::now_ms()), ORDER);
    check(st.raw(ALICE.0, "POST", post, &window, ORDER).await, 400, -1130);
    check(st.raw(ALICE.0, "POST", post, &format!("timestamp={}", common::now_ms()), ORDER).await, 400, -1102);
    // Bodies.
    check(st.signed(ALICE, "POST", post, "", "{\"symbol\":").await, 400, -1104);
    check(st.signed(ALICE, "POST", post, "", r#"{"symbol":"BTC-USDT","surprise":1}"#).await, 400, -1104);
    let big = format!(r#"{{"symbol":"{}"}}"#, "X".repeat(2000));
    check(st.signed(ALICE, "POST", post, "", &big).await, 413, -1106);
    // Values.
    check(st.signed(ALICE, "POST", post, "", &order_with("symbol", "DOGE-USDT")).await, 400, -1121);
    check(st.signed(ALICE, "POST", post, "", &order_with("price", "49000.001")).await, 400, -1111);
    check(st.signed(ALICE, "POST", post, "", &order_with("quantity", "0.000000001")).await, 400, -1111);
    check(st.signed(ALICE, "POST", post, "", &order_with("price", "4.9e4")).await, 400, -1130);
    check(st.signed(ALICE, "POST", post, "", &order_with("side", "HOLD")).await, 400, -1130);
    check(st.signed(ALICE, "POST", post, "", &order_with("newClientOrderId", "abc")).await, 400, -1130);
    let no_price = r#"{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.001"}"#;
    check(st.signed(ALICE, "POST", post, "", no_price).await, 400, -1102);
    // matchd's own refusal, with its reason.
    let (code, v) = st.signed(ALICE, "POST", post, "", &order_with("price", "1000.00")).await;
    assert_eq!((code, v["code"].as_i64()), (400, Some(-2010)), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("OutsidePriceBand"), "{v}");
    check(st.signed(ALICE, "DELETE", post, "symbol=BTC-USDT&orderId=999999", "").await, 404, -2013);
    check(st.signed(ALICE, "GET", post, "symbol=BTC-USDT&orderId=x", "").await, 400, -1130);
    // Public endpoints.
    check(st.get("/api/v3/depth?symbol=NOPE").await, 400, -1121);
    check(st.get("/api/v3/depth").await, 400, -1102);
    check(st.get("/api/v3/depth?symbol=BTC-USDT&limit=0").await, 400, -1130);
    check(st.get("/api/v3/nothing").await, 404, -1404);
    // After all that, a good order still goes through.
    st.limit(ALICE, "BUY", "49000.00", "0.001").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_floods_get_specific_errors() {
    let st = start("max_ws_connections = 4\nmax_subscriptions_per_connection = 2").await;
    // An unknown stream at connect time is refused before the upgrade.
    let e = tokio_tungstenite::connect_async(format!("ws://{}/ws?streams=NOPE@depth", st.edge_addr)).await.unwrap_err();
    assert!(e.to_string().contains("400"), "{e}");
    let mut ws = st.ws("BTC-USDT@trade").await;
    send_json(&mut ws, json!({"method": "SUBSCRIBE", "params": ["NOPE@trade"], "id": 1})).await;
    let r = next_json(&mut ws).await;
    assert_eq!((r["id"].as_i64(), r["error"]["code"].as_i64()), (Some(1), Some(-1121)), "{r}");
    send_json(&mut ws, json!({"method": "SUBSCRIBE", "params": ["BTC-USDT@depth", "ETH-USDT@depth"], "id": 2})).await;
    let r = next_json(&mut ws).await;
    assert_eq!(r["error"]["code"].as_i64(), Some(-1015), "{r}");
    ws.send(tokio_tungstenite::tungstenite::Message::Text("{nope".into())).await.unwrap();
    let r = next_json(&mut ws).await;
    assert_eq!(r["error"]["code"].as_i64(), Some(-1104), "{r}");
    send_json(&mut ws, json!({"method": "SUBSCRIBE", "params": ["BTC-USDT@depth"], "id": 3})).await;
    let r = next_json(&mut ws).await;
    assert_eq!((r["id"].as_i64(), &r["result"]), (Some(3), &serde_json::Value::Null), "{r}");
    // The connection limit: 4 in all; the fifth is refused with 429, and a slot frees on close.
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(st.ws("BTC-USDT@trade").await);
    }
    let e = tokio_tungstenite::connect_async(format!("ws://{}/ws", st.edge_addr)).await.unwrap_err();
    assert!(e.to_string().contains("429"), "{e}");
    drop(others.pop());
    common::wait_until("a WebSocket slot to free", || async {
        tokio_tungstenite::connect_async(format!("ws://{}/ws", st.edge_addr)).await.is_ok()
    })
    .await;
    // The private stream checks its signature and timestamp before the upgrade.
    drop(others.pop());
    let q = format!("apiKey={}&timestamp={}", ALICE.0, common::now_ms());
    let forged = signed_query("not-alices-secret-000", &q, "");
    let e = tokio_tungstenite::connect_async(format!("ws://{}/ws/user?{forged}", st.edge_addr)).await.unwrap_err();
    assert!(e.to_string().contains("401"), "{e}");
    let stale = signed_query(ALICE.1, &format!("apiKey={}&timestamp=1000", ALICE.0), "");
    let e = tokio_tungstenite::connect_async(format!("ws://{}/ws/user?{stale}", st.edge_addr)).await.unwrap_err();
    assert!(e.to_string().contains("401"), "{e}");
    // The first connection is unaffected: it still gets trades.
    st.limit(ALICE, "SELL", "50000.00", "0.001").await;
    st.limit(common::BOB, "BUY", "50000.00", "0.001").await;
    loop {
        let m = next_json(&mut ws).await;
        if m["stream"] == "BTC-USDT@trade" {
            assert_eq!((m["data"]["p"].as_str(), m["data"]["q"].as_str()), (Some("50000.00"), Some("0.00100000")));
            break;
        }
    }
}

use futures_util::SinkExt;
