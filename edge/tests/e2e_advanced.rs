//! Advanced orders through the real edge and the real matchd (risk mode): a LIMIT and a
//! STOP_LOSS_LIMIT with `timeInForce` GTD expire while the market is idle, seen as EXPIRED on the
//! private stream and in GET order; a MARKET buy by `quoteOrderQty` walks two ask levels and fills;
//! bad combinations get the documented codes, matchd's refusals of a past `goodTillDate` (-5040)
//! and of a `quoteOrderQty` that buys nothing (-2010) theirs.

mod common;

use common::{get_order, now_ms, post_order, refusal, s, start, until_event, Stack, Ws, ALICE, BOB};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_till_date_quote_order_qty_and_their_refusals() {
    let st = start("").await;
    let mut ws = st.user_ws(ALICE, None).await;
    gtd_orders_expire(&st, &mut ws).await;
    quote_order_qty_market_buy(&st, &mut ws).await;
    refusals(&st).await;
}

/// A LIMIT GTD and a STOP_LOSS_LIMIT GTD, 10 s ahead (time enough to place both, two signed
/// round trips, on a busy machine; one stamped after its time would be refused): nothing else
/// happens on the market, and both end EXPIRED (the gateway's time tick expires them).
async fn gtd_orders_expire(st: &Stack, ws: &mut Ws) {
    let gtd = now_ms() + 10_000;
    let body = format!(
        r#"{{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","timeInForce":"GTD","goodTillDate":{gtd},"quantity":"0.002","price":"49000.00"}}"#
    );
    let (code, limit) = post_order(st, ALICE, &body).await;
    assert_eq!(code, 200, "{limit}");
    assert_eq!(
        (s(&limit, "status"), s(&limit, "type"), s(&limit, "timeInForce"), limit["goodTillDate"].clone()),
        ("NEW".into(), "LIMIT".into(), "GTD".into(), Value::from(gtd)),
    );
    // A sell stop-loss at 49,500.00 waits for a fall from the last price, 50,000.00.
    let body = format!(
        r#"{{"symbol":"BTC-USDT","side":"SELL","type":"STOP_LOSS_LIMIT","timeInForce":"GTD","goodTillDate":{gtd},"quantity":"0.002","price":"49400.00","stopPrice":"49500.00"}}"#
    );
    let (code, stop) = post_order(st, ALICE, &body).await;
    assert_eq!(code, 200, "{stop}");
    assert_eq!(
        (s(&stop, "status"), s(&stop, "timeInForce"), s(&stop, "stopPrice"), stop["isWorking"].clone()),
        ("NEW".into(), "GTD".into(), "49500.00".into(), false.into()),
    );
    let (limit_id, stop_id) = (s(&limit, "orderId"), s(&stop, "orderId"));

    // The NEW events say GTD; then both expire, with no command from anyone.
    let mut expired = Vec::new();
    let ev = until_event(ws, |d| {
        if d["x"] == "EXPIRED" {
            expired.push(s(d, "i"));
        }
        expired.len() == 2
    })
    .await;
    expired.sort();
    let mut want = vec![limit_id.clone(), stop_id.clone()];
    want.sort();
    assert_eq!(expired, want, "{ev:?}");
    let new_limit = ev.iter().find(|d| d["x"] == "NEW" && d["i"] == limit_id.as_str()).expect("NEW of the limit");
    assert_eq!((s(new_limit, "f"), new_limit["gtd"].clone()), ("GTD".into(), Value::from(gtd)));
    let new_stop = ev.iter().find(|d| d["x"] == "NEW" && d["i"] == stop_id.as_str()).expect("NEW of the stop");
    assert_eq!((s(new_stop, "o"), s(new_stop, "f")), ("STOP_LOSS_LIMIT".into(), "GTD".into()));
    for d in ev.iter().filter(|d| d["x"] == "EXPIRED") {
        assert_eq!(
            (s(d, "r"), s(d, "cancelled"), s(d, "z")),
            ("Expired".into(), "0.00200000".into(), "0.00000000".into())
        );
    }
    // Expired at or after its time (the edge, matchd and this test share the clock).
    assert!(now_ms() >= gtd);

    for id in [&limit_id, &stop_id] {
        let o = get_order(st, id).await;
        assert_eq!(
            (s(&o, "status"), s(&o, "timeInForce"), o["goodTillDate"].clone(), s(&o, "executedQty")),
            ("EXPIRED".into(), "GTD".into(), Value::from(gtd), "0.00000000".into()),
        );
    }
    let (_, open) = st.signed(ALICE, "GET", "/api/v3/openOrders", "", "").await;
    assert_eq!(open.as_array().map(Vec::len), Some(0), "{open}");
}

/// Bob asks 0.002 at 50,010.00 and 0.003 at 50,020.00; alice buys for 200.00 USDT: all of the
/// first level (100.02) and the whole lots the rest (99.98) pays for at the second, 0.00199.
async fn quote_order_qty_market_buy(st: &Stack, ws: &mut Ws) {
    st.limit(BOB, "SELL", "50010.00", "0.002").await;
    st.limit(BOB, "SELL", "50020.00", "0.003").await;
    let body = r#"{"symbol":"BTC-USDT","side":"BUY","type":"MARKET","quoteOrderQty":"200.00"}"#;
    let (code, o) = post_order(st, ALICE, body).await;
    assert_eq!(code, 200, "{o}");
    assert_eq!(
        (s(&o, "type"), s(&o, "timeInForce"), s(&o, "origQty"), s(&o, "origQuoteOrderQty")),
        ("MARKET".into(), "IOC".into(), "0.00399000".into(), "200.00".into()),
    );
    let id = s(&o, "orderId");
    let ev = until_event(ws, |d| d["x"] == "TRADE" && d["i"] == id.as_str() && d["X"] == "FILLED").await;
    let fills: Vec<_> =
        ev.iter().filter(|d| d["x"] == "TRADE" && d["i"] == id.as_str()).map(|d| (s(d, "L"), s(d, "l"))).collect();
    assert_eq!(
        fills,
        vec![("50010.00".to_string(), "0.00200000".to_string()), ("50020.00".to_string(), "0.00199000".to_string())]
    );
    let o = get_order(st, &id).await;
    assert_eq!(
        (s(&o, "status"), s(&o, "executedQty"), s(&o, "origQuoteOrderQty")),
        ("FILLED".into(), "0.00399000".into(), "200.00".into())
    );
}

/// Bad combinations are refused by the edge with -1102 / -1130 / -1111; a `goodTillDate` matchd's
/// clock has passed with -5040; a `quoteOrderQty` below one lot at the best ask (bob's 0.00101 at
/// 50,020.00 is left) with -2010.
async fn refusals(st: &Stack) {
    let order = |t: &str, extra: &str| format!(r#"{{"symbol":"BTC-USDT","side":"BUY","type":"{t}"{extra}}}"#);
    let soon = now_ms() + 600_000;
    let cases = [
        (order("LIMIT", r#","timeInForce":"GTD","quantity":"0.002","price":"49000.00""#), 400, -1102, "goodTillDate"),
        (
            order(
                "LIMIT",
                &format!(r#","timeInForce":"GTC","goodTillDate":{soon},"quantity":"0.002","price":"49000.00""#),
            ),
            400,
            -1130,
            "goodTillDate",
        ),
        (
            order("MARKET", &format!(r#","timeInForce":"GTD","goodTillDate":{soon},"quantity":"0.002""#)),
            400,
            -1130,
            "GTD",
        ),
        (
            order(
                "STOP_LOSS",
                &format!(r#","timeInForce":"GTD","goodTillDate":{soon},"quantity":"0.002","stopPrice":"51000.00""#),
            ),
            400,
            -1130,
            "GTD",
        ),
        (
            order("LIMIT", r#","timeInForce":"GTD","goodTillDate":0,"quantity":"0.002","price":"49000.00""#),
            400,
            -1130,
            "goodTillDate",
        ),
        (
            order("LIMIT", r#","timeInForce":"GTC","quoteOrderQty":"100.00","price":"49000.00""#),
            400,
            -1130,
            "quoteOrderQty",
        ),
        (order("MARKET", r#","quoteOrderQty":"100.00","quantity":"0.002""#), 400, -1130, "not both"),
        (order("MARKET", ""), 400, -1102, "quantity"),
        (order("MARKET", r#","quoteOrderQty":"0""#), 400, -1130, "above zero"),
        (order("MARKET", r#","quoteOrderQty":"1.001""#), 400, -1111, "quoteOrderQty"),
        (
            order("LIMIT", r#","timeInForce":"GTD","goodTillDate":"soon","quantity":"0.002","price":"49000.00""#),
            400,
            -1104,
            "invalid type",
        ),
        // matchd's refusals.
        (
            order(
                "LIMIT",
                &format!(
                    r#","timeInForce":"GTD","goodTillDate":{},"quantity":"0.002","price":"49000.00""#,
                    now_ms() - 60_000
                ),
            ),
            400,
            -5040,
            "goodTillDate",
        ),
        (order("MARKET", r#","quoteOrderQty":"0.01""#), 400, -2010, "NothingToFill"),
    ];
    for (body, status, code, says) in cases {
        let r = refusal(post_order(st, ALICE, &body).await);
        assert_eq!((r.0, r.1), (status, code), "{body}: {r:?}");
        assert!(r.2.contains(says), "{body}: {r:?}");
    }
}
