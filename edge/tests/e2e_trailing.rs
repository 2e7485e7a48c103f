//! Trailing stops through the real edge and the real matchd (risk mode): a STOP_LOSS with
//! `trailingDelta` (Binance's BIPS) and no `stopPrice` is armed 1 % under the last price, bob's
//! trades move the price up (its trigger follows, unreported) and then down to the new trigger,
//! where it fires; the private stream's NEW and TRIGGERED events and GET order carry the exact
//! triggers and the delta. The combinations matchd cannot do are refused by the edge (-1130).

mod common;

use common::{get_order, post_order, refusal, s, start, until_event, Stack, Ws, ALICE, BOB};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_stop_follows_the_price_up_and_fires_on_the_fall() {
    let st = start("").await;
    let mut ws = st.user_ws(ALICE, None).await;
    trailing_stop_fires(&st, &mut ws).await;
    refusals(&st).await;
}

/// Bob trades 0.001 with himself at `price`: the last trade price becomes `price`.
async fn bob_trades_at(st: &Stack, price: &str) {
    st.limit(BOB, "BUY", price, "0.001").await;
    let body = format!(
        r#"{{"symbol":"BTC-USDT","side":"SELL","type":"LIMIT","timeInForce":"IOC","quantity":"0.001","price":"{price}"}}"#
    );
    let (code, v) = post_order(st, BOB, &body).await;
    assert_eq!(code, 200, "{v}");
}

/// Armed at the reference price, 50,000.00, with 100 BIPS: trigger 49,500.00. Up to 50,500.00:
/// trigger 49,995.00. Trades at 50,000.00 and 49,995.01 leave it armed; one at 49,995.00 fires
/// it into the rest of bob's bid.
async fn trailing_stop_fires(st: &Stack, ws: &mut Ws) {
    let body = r#"{"symbol":"BTC-USDT","side":"SELL","type":"STOP_LOSS","quantity":"0.002","trailingDelta":100}"#;
    let (code, armed) = post_order(st, ALICE, body).await;
    assert_eq!(code, 200, "{armed}");
    assert_eq!(
        (
            s(&armed, "status"),
            s(&armed, "type"),
            s(&armed, "stopPrice"),
            armed["trailingDelta"].clone(),
            armed["isWorking"].clone()
        ),
        ("NEW".into(), "STOP_LOSS".into(), "49500.00".into(), Value::from(100), false.into()),
    );
    let id = s(&armed, "orderId");
    let (code, open) = st.signed(ALICE, "GET", "/api/v3/openOrders", "symbol=BTC-USDT", "").await;
    assert_eq!(code, 200, "{open}");
    assert_eq!(
        (s(&open[0], "orderId"), s(&open[0], "stopPrice"), open[0]["trailingDelta"].clone()),
        (id.clone(), "49500.00".into(), Value::from(100)),
        "{open}"
    );

    for price in ["50500.00", "50000.00", "49995.01"] {
        bob_trades_at(st, price).await;
    }
    st.limit(BOB, "BUY", "49995.00", "0.01").await;
    let body = r#"{"symbol":"BTC-USDT","side":"SELL","type":"LIMIT","timeInForce":"IOC","quantity":"0.001","price":"49995.00"}"#;
    let (code, v) = post_order(st, BOB, body).await;
    assert_eq!(code, 200, "{v}");

    let ev = until_event(ws, |d| d["x"] == "TRADE" && d["i"] == id.as_str()).await;
    let new = ev.iter().find(|d| d["x"] == "NEW" && d["i"] == id.as_str()).unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!(
        (s(new, "o"), s(new, "P"), new["d"].clone(), new["w"].clone()),
        ("STOP_LOSS".into(), "49500.00".into(), Value::from(100), false.into()),
    );
    // Fired by the trade at 49,995.00 (the lastPrice), at the trigger it had followed up to.
    let trig = ev.iter().find(|d| d["x"] == "TRIGGERED").unwrap_or_else(|| panic!("no TRIGGERED in {ev:?}"));
    assert_eq!(
        (s(trig, "i"), s(trig, "o"), s(trig, "P"), s(trig, "lastPrice"), trig["w"].clone()),
        (id.clone(), "STOP_LOSS".into(), "49995.00".into(), "49995.00".into(), true.into()),
    );
    let fill = ev.last().unwrap();
    assert_eq!((s(fill, "L"), s(fill, "l"), s(fill, "X")), ("49995.00".into(), "0.00200000".into(), "FILLED".into()));
    let o = get_order(st, &id).await;
    assert_eq!(
        (s(&o, "status"), s(&o, "stopPrice"), o["trailingDelta"].clone(), o["isWorking"].clone()),
        ("FILLED".into(), "49995.00".into(), Value::from(100), true.into()),
    );
}

/// `trailingDelta` on other types, with `stopPrice` (Binance's activation price, which matchd
/// lacks), or outside 1..5000 BIPS: -1130 naming it.
async fn refusals(st: &Stack) {
    let order = |t: &str, extra: &str| {
        format!(r#"{{"symbol":"BTC-USDT","side":"SELL","type":"{t}","quantity":"0.002"{extra}}}"#)
    };
    let cases = [
        (order("STOP_LOSS", r#","trailingDelta":100,"stopPrice":"51000.00""#), "activation price"),
        (
            order(
                "STOP_LOSS_LIMIT",
                r#","timeInForce":"GTC","price":"49000.00","stopPrice":"49500.00","trailingDelta":100"#,
            ),
            "activation price",
        ),
        (order("TAKE_PROFIT", r#","trailingDelta":100"#), "only STOP_LOSS and STOP_LOSS_LIMIT"),
        (order("LIMIT", r#","timeInForce":"GTC","price":"51000.00","trailingDelta":100"#), "only STOP_LOSS"),
        (order("MARKET", r#","trailingDelta":100"#), "only STOP_LOSS"),
        (order("STOP_LOSS", r#","trailingDelta":0"#), "1 to 5000 BIPS"),
        (order("STOP_LOSS", r#","trailingDelta":5001"#), "1 to 5000 BIPS"),
    ];
    for (body, says) in cases {
        let r = refusal(post_order(st, ALICE, &body).await);
        assert_eq!((r.0, r.1), (400, -1130), "{body}: {r:?}");
        assert!(r.2.contains("trailingDelta") && r.2.contains(says), "{body}: {r:?}");
    }
    let r = refusal(post_order(st, ALICE, &order("STOP_LOSS", r#","trailingDelta":"100""#)).await);
    assert_eq!((r.0, r.1), (400, -1104), "{r:?}");
}
