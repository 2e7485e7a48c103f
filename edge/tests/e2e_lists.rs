//! Order lists through the real edge and the real matchd (risk mode), Binance's newer order-list
//! API: an OCO (LIMIT_MAKER above, STOP_LOSS below) answered with both legs; bob's trade with the
//! maker leg expires the stop leg (status EXPIRED, as Binance); DELETE of a list cancels one leg
//! and expires the other; an OTO answered with its working order alone, whose pending order
//! appears (NEW, the next client order id) once bob fills the working order; and the shapes
//! matchd cannot place, refused naming the field.

mod common;

use common::{get_order, refusal, s, start, until_event, Stack, Ws, ALICE, BOB};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oco_and_oto_lists_through_the_edge() {
    let st = start("").await;
    let mut ws = st.user_ws(ALICE, None).await;
    oco_leg_trade_expires_the_other(&st, &mut ws).await;
    cancel_list_cancels_one_leg_and_expires_the_other(&st).await;
    oto_places_its_pending_order_once_the_working_order_fills(&st, &mut ws).await;
    refusals(&st).await;
}

async fn post_list(st: &Stack, kind: &str, body: &str) -> (u16, Value) {
    st.signed(ALICE, "POST", &format!("/api/v3/orderList/{kind}"), "", body).await
}

const OCO: &str = r#"{"symbol":"BTC-USDT","side":"SELL","quantity":"0.002","aboveType":"LIMIT_MAKER","abovePrice":"50500.00","belowType":"STOP_LOSS","belowStopPrice":"49500.00"}"#;

/// The legs' (type, status) in the answer's `orderReports`.
fn reports(list: &Value) -> Vec<(String, String)> {
    list["orderReports"].as_array().unwrap().iter().map(|o| (s(o, "type"), s(o, "status"))).collect()
}

async fn oco_leg_trade_expires_the_other(st: &Stack, ws: &mut Ws) {
    let (code, list) = post_list(st, "oco", OCO).await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(
        (s(&list, "contingencyType"), s(&list, "listStatusType"), s(&list, "listOrderStatus")),
        ("OCO".into(), "EXEC_STARTED".into(), "EXECUTING".into()),
    );
    let list_id: u64 = s(&list, "orderListId").parse().unwrap();
    let cid: u64 = s(&list, "listClientOrderId").parse().unwrap();
    let orders = list["orders"].as_array().unwrap();
    let ids: Vec<(String, String)> = orders.iter().map(|o| (s(o, "orderId"), s(o, "clientOrderId"))).collect();
    assert_eq!(
        ids,
        vec![(list_id.to_string(), cid.to_string()), ((list_id + 1).to_string(), (cid + 1).to_string())],
        "below first, then above: {list}"
    );
    // The STOP_LOSS leg armed, the LIMIT_MAKER leg resting post-only.
    assert_eq!(reports(&list), vec![("STOP_LOSS".into(), "NEW".into()), ("LIMIT".into(), "NEW".into())], "{list}");
    let maker = &list["orderReports"][1];
    assert_eq!((s(maker, "timeInForce"), s(maker, "price")), ("POSTONLY".into(), "50500.00".into()), "{list}");
    assert_eq!(s(&list["orderReports"][0], "stopPrice"), "49500.00", "{list}");

    // Bob takes half the maker leg: the stop leg expires.
    let body = r#"{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","timeInForce":"IOC","quantity":"0.001","price":"50500.00"}"#;
    let (code, v) = st.signed(BOB, "POST", "/api/v3/order", "", body).await;
    assert_eq!(code, 200, "{v}");
    let stop_id = list_id.to_string();
    let ev = until_event(ws, |d| d["x"] == "EXPIRED").await;
    let trade = ev.iter().find(|d| d["x"] == "TRADE").unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!((s(trade, "i"), s(trade, "X")), ((list_id + 1).to_string(), "PARTIALLY_FILLED".into()));
    let expired = ev.last().unwrap();
    assert_eq!((s(expired, "i"), s(expired, "r")), (stop_id.clone(), "OrderList".into()), "{ev:?}");
    assert!(ev.iter().any(|d| d["e"] == "listStatus" && d["g"] == stop_id.as_str()), "{ev:?}");
    assert_eq!(s(&get_order(st, &stop_id).await, "status"), "EXPIRED");
    assert_eq!(s(&get_order(st, &(list_id + 1).to_string()).await, "status"), "PARTIALLY_FILLED");
}

async fn cancel_list_cancels_one_leg_and_expires_the_other(st: &Stack) {
    let (code, list) = post_list(st, "oco", OCO).await;
    assert_eq!(code, 200, "{list}");
    let q = format!("symbol=BTC-USDT&orderListId={}", s(&list, "orderListId"));
    let (code, done) = st.signed(ALICE, "DELETE", "/api/v3/orderList", &q, "").await;
    assert_eq!(code, 200, "{done}");
    assert_eq!(
        (s(&done, "listStatusType"), reports(&done)),
        ("ALL_DONE".into(), vec![("STOP_LOSS".into(), "CANCELED".into()), ("LIMIT".into(), "EXPIRED".into())]),
        "{done}"
    );
    // Nothing left to cancel.
    let r = refusal(st.signed(ALICE, "DELETE", "/api/v3/orderList", &q, "").await);
    assert_eq!((r.0, r.1), (404, -2011), "{r:?}");
}

async fn oto_places_its_pending_order_once_the_working_order_fills(st: &Stack, ws: &mut Ws) {
    let body = r#"{"symbol":"BTC-USDT","listClientOrderId":"9000","workingType":"LIMIT","workingTimeInForce":"GTC","workingSide":"BUY","workingPrice":"49900.00","workingQuantity":"0.002","pendingType":"LIMIT","pendingTimeInForce":"GTC","pendingSide":"SELL","pendingPrice":"50800.00","pendingQuantity":"0.002"}"#;
    let (code, list) = post_list(st, "oto", body).await;
    assert_eq!(code, 200, "{list}");
    assert_eq!((s(&list, "contingencyType"), s(&list, "listClientOrderId")), ("OTO".into(), "9000".into()));
    assert_eq!(list["orders"].as_array().unwrap().len(), 2, "{list}");
    assert_eq!(reports(&list), vec![("LIMIT".into(), "NEW".into())], "only the working order is placed: {list}");
    let pending_id = (s(&list, "orderListId").parse::<u64>().unwrap() + 1).to_string();

    let body = r#"{"symbol":"BTC-USDT","side":"SELL","type":"LIMIT","timeInForce":"IOC","quantity":"0.002","price":"49900.00"}"#;
    let (code, v) = st.signed(BOB, "POST", "/api/v3/order", "", body).await;
    assert_eq!(code, 200, "{v}");
    let ev = until_event(ws, |d| d["x"] == "NEW" && d["c"] == "9001").await;
    let fill = ev.iter().find(|d| d["x"] == "TRADE" && d["c"] == "9000").unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!(s(fill, "X"), "FILLED");
    let placed = ev.last().unwrap();
    assert_eq!(
        (s(placed, "i"), s(placed, "S"), s(placed, "p"), s(placed, "o")),
        (pending_id.clone(), "SELL".into(), "50800.00".into(), "LIMIT".into())
    );
    let o = get_order(st, &pending_id).await;
    assert_eq!(
        (s(&o, "status"), s(&o, "clientOrderId"), s(&o, "origQty")),
        ("NEW".into(), "9001".into(), "0.00200000".into())
    );
}

/// Shapes matchd cannot place: -1130 naming the field, before anything reaches matchd.
async fn refusals(st: &Stack) {
    let oco = |below: &str| {
        format!(
            r#"{{"symbol":"BTC-USDT","side":"SELL","quantity":"0.002","aboveType":"LIMIT_MAKER","abovePrice":"50500.00",{below}}}"#
        )
    };
    let cases = [
        ("oco", oco(r#""belowType":"LIMIT_MAKER","belowPrice":"49000.00""#), "belowType"),
        ("oco", oco(r#""belowType":"LIMIT","belowPrice":"49000.00","belowTimeInForce":"GTC""#), "belowType"),
        ("oco", oco(r#""belowType":"STOP_LOSS","belowStopPrice":"49000.00","belowClientOrderId":"7""#), "belowClientOrderId"),
        (
            "oto",
            r#"{"symbol":"BTC-USDT","workingType":"LIMIT","workingTimeInForce":"IOC","workingSide":"BUY","workingPrice":"49900.00","workingQuantity":"0.002","pendingType":"MARKET","pendingSide":"SELL","pendingQuantity":"0.002"}"#.to_string(),
            "workingTimeInForce",
        ),
        (
            "oto",
            r#"{"symbol":"BTC-USDT","workingType":"MARKET","workingSide":"BUY","workingPrice":"49900.00","workingQuantity":"0.002","pendingType":"MARKET","pendingSide":"SELL","pendingQuantity":"0.002"}"#.to_string(),
            "workingType",
        ),
    ];
    for (kind, body, field) in cases {
        let r = refusal(post_list(st, kind, &body).await);
        assert_eq!((r.0, r.1), (400, -1130), "{body}: {r:?}");
        assert!(r.2.contains(field), "{body}: {r:?}");
    }
}
