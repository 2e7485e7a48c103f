//! Conditional orders through the real edge and the real matchd (risk mode): a STOP_LOSS_LIMIT
//! placed by signed REST is armed (NEW, not working, with its stopPrice in GET order and
//! openOrders, never in the public depth), another account's trade fires it, the private stream
//! carries the armed, triggered and fill events, and GET shows it FILLED; the specific refusals of
//! bad combinations and of a stop the last price has already reached; cancel of an armed order.

mod common;

use common::{get_order, post_order, refusal, s, start, until_event, wait_until, Stack, Ws, ALICE, BOB};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_loss_limit_armed_fired_by_another_accounts_trade() {
    let st = start("").await;
    let mut ws = st.user_ws(ALICE, None).await;

    // Bob bids 0.01 at 49,900.00. The last price is the reference, 50,000.00: alice's sell
    // stop-loss at 49,900.00 waits for a fall.
    st.limit(BOB, "BUY", "49900.00", "0.01").await;
    let body = r#"{"symbol":"BTC-USDT","side":"SELL","type":"STOP_LOSS_LIMIT","timeInForce":"GTC","quantity":"0.004","price":"49800.00","stopPrice":"49900.00"}"#;
    let (code, armed) = post_order(&st, ALICE, body).await;
    assert_eq!(code, 200, "{armed}");
    assert_eq!(
        (
            s(&armed, "status"),
            s(&armed, "type"),
            s(&armed, "stopPrice"),
            s(&armed, "price"),
            armed["isWorking"].clone()
        ),
        ("NEW".into(), "STOP_LOSS_LIMIT".into(), "49900.00".into(), "49800.00".into(), Value::Bool(false)),
    );
    let id = s(&armed, "orderId");
    let o = get_order(&st, &id).await;
    assert_eq!(
        (s(&o, "status"), s(&o, "stopPrice"), o["isWorking"].clone()),
        ("NEW".into(), "49900.00".into(), false.into())
    );
    let (code, open) = st.signed(ALICE, "GET", "/api/v3/openOrders", "symbol=BTC-USDT", "").await;
    assert_eq!(code, 200, "{open}");
    let open = open.as_array().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (s(&open[0], "orderId"), s(&open[0], "type"), s(&open[0], "stopPrice"), s(&open[0], "status")),
        (id.clone(), "STOP_LOSS_LIMIT".into(), "49900.00".into(), "NEW".into()),
    );
    assert_eq!(open[0]["isWorking"], false);

    // The public depth has bob's bid and nothing of the armed order (its limit would be an ask).
    wait_until("bob's bid in the depth", || async {
        let (_, d) = st.get("/api/v3/depth?symbol=BTC-USDT").await;
        d["bids"].as_array().is_some_and(|b| !b.is_empty())
    })
    .await;
    let (_, d) = st.get("/api/v3/depth?symbol=BTC-USDT").await;
    assert_eq!(d["bids"], serde_json::json!([["49900.00", "0.01000000"]]), "{d}");
    assert_eq!(d["asks"], serde_json::json!([]), "{d}");

    let ev = until_event(&mut ws, |d| d["i"] == id.as_str()).await;
    let a = ev.last().unwrap();
    assert_eq!(
        (s(a, "x"), s(a, "o"), s(a, "P"), s(a, "p"), s(a, "q"), a["w"].clone()),
        (
            "NEW".into(),
            "STOP_LOSS_LIMIT".into(),
            "49900.00".into(),
            "49800.00".into(),
            "0.00400000".into(),
            false.into()
        ),
    );

    // Bob sells 0.001 into his own bid at 49,900.00: the last price reaches alice's trigger, her
    // order fires and sells 0.004 to the rest of bob's bid (at the bid's price).
    let body = r#"{"symbol":"BTC-USDT","side":"SELL","type":"LIMIT","timeInForce":"IOC","quantity":"0.001","price":"49900.00"}"#;
    let (code, v) = post_order(&st, BOB, body).await;
    assert_eq!(code, 200, "{v}");
    let ev = until_event(&mut ws, |d| d["x"] == "TRADE" && d["i"] == id.as_str()).await;
    let trig = ev.iter().find(|d| d["x"] == "TRIGGERED").unwrap_or_else(|| panic!("no TRIGGERED in {ev:?}"));
    assert_eq!(
        (s(trig, "i"), s(trig, "o"), s(trig, "P"), s(trig, "lastPrice"), s(trig, "p"), s(trig, "q"), trig["w"].clone()),
        (
            id.clone(),
            "STOP_LOSS_LIMIT".into(),
            "49900.00".into(),
            "49900.00".into(),
            "49800.00".into(),
            "0.00400000".into(),
            true.into()
        ),
    );
    let fill = ev.last().unwrap();
    assert_eq!(
        (s(fill, "L"), s(fill, "l"), s(fill, "leaves"), s(fill, "X"), fill["maker"].clone()),
        ("49900.00".into(), "0.00400000".into(), "0.00000000".into(), "FILLED".into(), false.into()),
    );
    let o = get_order(&st, &id).await;
    assert_eq!(
        (s(&o, "status"), s(&o, "executedQty"), s(&o, "type"), s(&o, "stopPrice"), o["isWorking"].clone()),
        ("FILLED".into(), "0.00400000".into(), "STOP_LOSS_LIMIT".into(), "49900.00".into(), true.into()),
    );

    refusals(&st).await;
    cancel_armed(&st, &mut ws).await;
}

/// Bad combinations get specific errors; a stop the last price (49,900.00 now) has already
/// reached gets -2021.
async fn refusals(st: &Stack) {
    let order = |t: &str, extra: &str| {
        format!(r#"{{"symbol":"BTC-USDT","side":"SELL","type":"{t}","quantity":"0.004"{extra}}}"#)
    };
    let r =
        refusal(post_order(st, ALICE, &order("STOP_LOSS_LIMIT", r#","timeInForce":"GTC","price":"49000.00""#)).await);
    assert_eq!((r.0, r.1), (400, -1102), "{r:?}");
    assert!(r.2.contains("stopPrice"), "{r:?}");
    let r = refusal(post_order(st, ALICE, &order("STOP_LOSS", r#","price":"49000.00","stopPrice":"49000.00""#)).await);
    assert_eq!((r.0, r.1), (400, -1130), "{r:?}");
    assert!(r.2.contains("`price`") && r.2.contains("STOP_LOSS_LIMIT"), "{r:?}");
    let r = refusal(
        post_order(st, ALICE, &order("LIMIT", r#","timeInForce":"GTC","price":"51000.00","stopPrice":"51000.00""#))
            .await,
    );
    assert_eq!((r.0, r.1), (400, -1130), "{r:?}");
    assert!(r.2.contains("stopPrice"), "{r:?}");
    let r = refusal(
        post_order(st, ALICE, &order("TAKE_PROFIT_LIMIT", r#","price":"51000.00","stopPrice":"51000.00""#)).await,
    );
    assert_eq!((r.0, r.1), (400, -1102), "{r:?}");
    assert!(r.2.contains("timeInForce"), "{r:?}");
    let r = refusal(post_order(st, ALICE, &order("STOP_LOSS", r#","stopPrice":"0""#)).await);
    assert_eq!((r.0, r.1), (400, -1130), "{r:?}");
    let r = refusal(post_order(st, ALICE, &order("STOP_LOSS", r#","stopPrice":"49000.001""#)).await);
    assert_eq!((r.0, r.1), (400, -1111), "{r:?}");
    // A sell stop-loss fires on a fall to its stopPrice: at 50,000.00 it would fire at once.
    let r = refusal(post_order(st, ALICE, &order("STOP_LOSS", r#","stopPrice":"50000.00""#)).await);
    assert_eq!((r.0, r.1), (400, -2021), "{r:?}");
    assert!(r.2.contains("immediately trigger"), "{r:?}");
    // So would a sell take-profit below the last price; matchd's other reasons stay -2010.
    let r = refusal(post_order(st, ALICE, &order("TAKE_PROFIT", r#","stopPrice":"49000.00""#)).await);
    assert_eq!((r.0, r.1), (400, -2021), "{r:?}");
    let r = refusal(post_order(st, ALICE, &order("TAKE_PROFIT", r#","stopPrice":"51000.005""#)).await);
    assert_eq!((r.0, r.1), (400, -1111), "{r:?}");
    let r =
        refusal(post_order(st, ALICE, &order("TAKE_PROFIT", r#","timeInForce":"GTC","stopPrice":"51000.00""#)).await);
    assert_eq!((r.0, r.1), (400, -2010), "{r:?}");
    assert!(r.2.contains("InvalidField"), "{r:?}");
}

/// A TAKE_PROFIT_LIMIT is armed, cancelled by REST (CANCELED on GET and the private stream), and
/// no longer listed.
async fn cancel_armed(st: &Stack, ws: &mut Ws) {
    let body = r#"{"symbol":"BTC-USDT","side":"SELL","type":"TAKE_PROFIT_LIMIT","timeInForce":"GTC","quantity":"0.002","price":"51000.00","stopPrice":"51000.00","newClientOrderId":"777"}"#;
    let (code, armed) = post_order(st, ALICE, body).await;
    assert_eq!(code, 200, "{armed}");
    assert_eq!((s(&armed, "type"), s(&armed, "clientOrderId")), ("TAKE_PROFIT_LIMIT".into(), "777".into()));
    let id = s(&armed, "orderId");
    let (code, v) = st.signed(ALICE, "DELETE", "/api/v3/order", "symbol=BTC-USDT&origClientOrderId=777", "").await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        (s(&v, "orderId"), s(&v, "status"), s(&v, "stopPrice")),
        (id.clone(), "CANCELED".into(), "51000.00".into())
    );
    let ev = until_event(ws, |d| d["x"] == "CANCELED" && d["i"] == id.as_str()).await;
    assert_eq!(s(ev.last().unwrap(), "r"), "User");
    assert!(ev.iter().any(|d| d["x"] == "NEW" && d["i"] == id.as_str() && d["o"] == "TAKE_PROFIT_LIMIT"), "{ev:?}");
    let (_, open) = st.signed(ALICE, "GET", "/api/v3/openOrders", "", "").await;
    assert_eq!(open.as_array().unwrap().len(), 0, "{open}");
}
