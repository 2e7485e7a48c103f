//! Signed order entry through the real edge and the real matchd: place, look up, partial fill,
//! amend, cancel, balances, and account isolation (enforced by matchd).

mod common;

use common::{s, start, ALICE, BOB};
use serde_json::Value;

fn balance(acct: &Value, asset: &str) -> (String, String) {
    let b = acct["balances"].as_array().unwrap().iter().find(|b| b["asset"] == asset).unwrap();
    (s(b, "free"), s(b, "locked"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_order_flow_with_human_units() {
    let st = start("").await;
    let (code, info) = st.get("/api/v3/exchangeInfo").await;
    assert_eq!(code, 200);
    let btc = info["symbols"].as_array().unwrap().iter().find(|s| s["symbol"] == "BTC-USDT").unwrap().clone();
    assert_eq!((s(&btc, "tickSize"), s(&btc, "stepSize")), ("0.01".into(), "0.00001000".into()));

    let (_, before) = st.signed(ALICE, "GET", "/api/v3/account", "", "").await;
    assert_eq!(balance(&before, "USDT"), ("1000000.00".into(), "0.00".into()));

    // Alice sells 0.01 BTC at 50,000.00; the order rests.
    let sell = st.limit(ALICE, "SELL", "50000.00", "0.01").await;
    assert_eq!(
        (s(&sell, "status"), s(&sell, "price"), s(&sell, "origQty")),
        ("NEW".into(), "50000.00".into(), "0.01000000".into())
    );
    let id = s(&sell, "orderId");
    let (code, open) = st.signed(ALICE, "GET", "/api/v3/openOrders", "symbol=BTC-USDT", "").await;
    assert_eq!(code, 200);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(s(&open[0], "orderId"), id);

    // Bob buys 0.004 of it.
    let body = r#"{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","timeInForce":"IOC","price":"50000.00","quantity":"0.004"}"#;
    let (code, v) = st.signed(BOB, "POST", "/api/v3/order", "", body).await;
    assert_eq!(code, 200, "{v}");
    common::wait_until("alice's order partly filled", || async {
        let (_, o) = st.signed(ALICE, "GET", "/api/v3/order", &format!("symbol=BTC-USDT&orderId={id}"), "").await;
        o["status"] == "PARTIALLY_FILLED" && o["executedQty"] == "0.00400000"
    })
    .await;

    // Bob cannot see or cancel alice's order: the edge knows only bob's orders, and matchd refuses
    // a cancel of another account's order.
    let (code, v) = st.signed(BOB, "GET", "/api/v3/order", &format!("symbol=BTC-USDT&orderId={id}"), "").await;
    assert_eq!((code, v["code"].as_i64()), (404, Some(-2013)), "{v}");
    let (code, v) = st.signed(BOB, "DELETE", "/api/v3/order", &format!("symbol=BTC-USDT&orderId={id}"), "").await;
    assert!((code, &v["code"]) == (404, &(-2013).into()) || (code, &v["code"]) == (400, &(-2011).into()), "{code} {v}");

    // Amend to a total of 0.005 (0.001 left), then cancel.
    let body = format!(r#"{{"symbol":"BTC-USDT","orderId":"{id}","quantity":"0.005"}}"#);
    let (code, v) = st.signed(ALICE, "PUT", "/api/v3/order", "", &body).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(s(&v, "origQty"), "0.00500000");
    let (code, v) = st.signed(ALICE, "DELETE", "/api/v3/order", &format!("symbol=BTC-USDT&orderId={id}"), "").await;
    assert_eq!(code, 200, "{v}");
    assert_eq!((s(&v, "status"), s(&v, "executedQty")), ("CANCELED".into(), "0.00400000".into()));
    let (_, open) = st.signed(ALICE, "GET", "/api/v3/openOrders", "", "").await;
    assert_eq!(open.as_array().unwrap().len(), 0, "{open}");

    // Alice sold 0.004 BTC for 200.00 USDT, less the maker fee (0.02 %: 0.04).
    let (_, after) = st.signed(ALICE, "GET", "/api/v3/account", "", "").await;
    assert_eq!(balance(&after, "USDT"), ("1000199.96".into(), "0.00".into()));
    assert_eq!(balance(&after, "BTC"), ("9.99600000".into(), "0.00000000".into()));
}
