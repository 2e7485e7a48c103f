//! Signed order lists (Binance's newer order-list API): `POST /api/v3/orderList/oco`,
//! `/orderList/oto` and `/orderList/otoco` place one as matchd's `NewOrderList`, `DELETE
//! /api/v3/orderList` cancels one. matchd's shapes are narrower than Binance's: an OCO pair has at
//! most one limit leg and it is LIMIT_MAKER (post-only), the other conditional (STOP_LOSS(_LIMIT),
//! TAKE_PROFIT(_LIMIT)), or both are; a working order is LIMIT (GTC) or LIMIT_MAKER; the legs'
//! client order ids are `listClientOrderId` + k, so per-leg client order ids are refused.

use axum::extract::Request;
use axum::Json;
use engine::{ListLeg, OrderList, OrderRef, OrderType, Side, TimeInForce, TriggerKind};
use serde::Deserialize;
use serde_json::{json, Value};

use super::orders::{json_body, parse_side};
use super::{authenticate, call, order_json, param, parse_id, Signed, S};
use crate::account::{ListState, Request as AccountRequest, Shared};
use crate::error::ApiError;
use crate::market::Instrument;
use crate::order_type_name::contingency_type;
use crate::state::AppState;
use crate::units::parse_decimal;

/// One leg's fields as a body names them (`above*`, `pendingBelow*` ...), for the errors.
struct LegNames {
    kind: &'static str,
    price: &'static str,
    stop_price: &'static str,
    tif: &'static str,
}

/// One leg's fields as sent.
struct LegFields<'a> {
    kind: &'a str,
    price: Option<&'a str>,
    stop_price: Option<&'a str>,
    tif: Option<&'a str>,
}

/// Which leg types a place in a list takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LegUse {
    /// A leg of an OCO pair: LIMIT_MAKER or conditional.
    Pair,
    /// An OTO's pending leg: any order matchd places (LIMIT, MARKET, LIMIT_MAKER, conditional).
    Pending,
}

/// The body of `POST /api/v3/orderList/oco`: `above*` is the leg with the higher price, `below*`
/// the other (either may be the LIMIT_MAKER leg).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OcoBody {
    symbol: String,
    side: String,
    quantity: String,
    list_client_order_id: Option<String>,
    above_type: String,
    above_price: Option<String>,
    above_stop_price: Option<String>,
    above_time_in_force: Option<String>,
    above_client_order_id: Option<String>,
    below_type: String,
    below_price: Option<String>,
    below_stop_price: Option<String>,
    below_time_in_force: Option<String>,
    below_client_order_id: Option<String>,
}

/// The working order's fields (OTO, OTOCO), as sent.
struct WorkingFields<'a> {
    kind: &'a str,
    side: &'a str,
    price: &'a str,
    quantity: &'a str,
    tif: Option<&'a str>,
}

/// The working order's fields of a body (serde's `flatten` would not refuse unknown fields).
macro_rules! working_fields {
    ($b:expr) => {
        WorkingFields {
            kind: &$b.working_type,
            side: &$b.working_side,
            price: &$b.working_price,
            quantity: &$b.working_quantity,
            tif: $b.working_time_in_force.as_deref(),
        }
    };
}

/// The body of `POST /api/v3/orderList/oto`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OtoBody {
    symbol: String,
    list_client_order_id: Option<String>,
    working_type: String,
    working_side: String,
    working_price: String,
    working_quantity: String,
    working_time_in_force: Option<String>,
    working_client_order_id: Option<String>,
    pending_type: String,
    pending_side: String,
    pending_quantity: String,
    pending_price: Option<String>,
    pending_stop_price: Option<String>,
    pending_time_in_force: Option<String>,
    pending_client_order_id: Option<String>,
}

/// The body of `POST /api/v3/orderList/otoco`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OtocoBody {
    symbol: String,
    list_client_order_id: Option<String>,
    working_type: String,
    working_side: String,
    working_price: String,
    working_quantity: String,
    working_time_in_force: Option<String>,
    working_client_order_id: Option<String>,
    pending_side: String,
    pending_quantity: String,
    pending_above_type: String,
    pending_above_price: Option<String>,
    pending_above_stop_price: Option<String>,
    pending_above_time_in_force: Option<String>,
    pending_above_client_order_id: Option<String>,
    pending_below_type: String,
    pending_below_price: Option<String>,
    pending_below_stop_price: Option<String>,
    pending_below_time_in_force: Option<String>,
    pending_below_client_order_id: Option<String>,
}

fn bad(name: &'static str, msg: impl Into<String>) -> ApiError {
    ApiError::BadParameter { name, msg: msg.into() }
}

/// Per-leg client order ids: matchd numbers a list's legs from one id.
fn refuse_leg_ids(ids: &[(&'static str, &Option<String>)]) -> Result<(), ApiError> {
    match ids.iter().find(|(_, v)| v.is_some()) {
        Some((name, _)) => Err(bad(
            name,
            "not supported: matchd numbers a list's legs from listClientOrderId (leg k, working order first, is \
             listClientOrderId + k)",
        )),
        None => Ok(()),
    }
}

fn list_cid(v: Option<&str>) -> Result<u64, ApiError> {
    v.map_or(Ok(0), |c| parse_id("listClientOrderId", c))
}

fn decimal(name: &'static str, v: &str, decimals: u32) -> Result<u64, ApiError> {
    parse_decimal(v, decimals).map_err(|e| ApiError::units(name, e))
}

/// A positive price at the instrument's scale.
fn price(name: &'static str, v: Option<&str>, inst: &Instrument) -> Result<u64, ApiError> {
    match decimal(name, v.ok_or(ApiError::MissingParameter(name))?, inst.price_decimals)? {
        0 => Err(bad(name, "must be above zero")),
        p => Ok(p),
    }
}

/// A field the leg's type has no use for.
fn refuse_field(name: &'static str, v: Option<&str>, kind: &str) -> Result<(), ApiError> {
    match v {
        Some(_) => Err(bad(name, format!("a {kind} leg has no {name}"))),
        None => Ok(()),
    }
}

/// `*TimeInForce` of a limit leg that may also be IOC or FOK: required, GTC, IOC or FOK.
fn leg_tif(name: &'static str, v: Option<&str>) -> Result<TimeInForce, ApiError> {
    match v.ok_or(ApiError::MissingParameter(name))? {
        "GTC" => Ok(TimeInForce::Gtc),
        "IOC" => Ok(TimeInForce::Ioc),
        "FOK" => Ok(TimeInForce::Fok),
        _ => Err(bad(name, "must be GTC, IOC or FOK")),
    }
}

/// One leg as matchd places it.
fn parse_leg(f: &LegFields<'_>, n: &LegNames, inst: &Instrument, used: LegUse) -> Result<ListLeg, ApiError> {
    let trigger = match f.kind {
        "STOP_LOSS" | "STOP_LOSS_LIMIT" => Some(TriggerKind::StopLoss),
        "TAKE_PROFIT" | "TAKE_PROFIT_LIMIT" => Some(TriggerKind::TakeProfit),
        "LIMIT_MAKER" => None,
        "LIMIT" | "MARKET" if used == LegUse::Pending => None,
        _ if used == LegUse::Pair => {
            return Err(bad(
                n.kind,
                "must be LIMIT_MAKER, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT or TAKE_PROFIT_LIMIT",
            ))
        }
        _ => {
            return Err(bad(
                n.kind,
                "must be LIMIT, MARKET, LIMIT_MAKER, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT or TAKE_PROFIT_LIMIT",
            ))
        }
    };
    let trigger = match trigger {
        Some(kind) => Some((price(n.stop_price, f.stop_price, inst)?, kind)),
        None => {
            refuse_field(n.stop_price, f.stop_price, f.kind)?;
            None
        }
    };
    let leg = |order_type, tif, price| Ok(ListLeg { order_type, tif, price, trigger });
    match f.kind {
        "LIMIT_MAKER" => {
            refuse_field(n.tif, f.tif, f.kind)?;
            leg(OrderType::Limit, TimeInForce::PostOnly, price(n.price, f.price, inst)?)
        }
        "MARKET" | "STOP_LOSS" | "TAKE_PROFIT" => {
            refuse_field(n.price, f.price, f.kind)?;
            refuse_field(n.tif, f.tif, f.kind)?;
            leg(OrderType::Market, TimeInForce::Ioc, 0)
        }
        _ => leg(OrderType::Limit, leg_tif(n.tif, f.tif)?, price(n.price, f.price, inst)?),
    }
}

/// An OCO pair (`above`, `below`) as matchd's legs, below first: at most one LIMIT_MAKER.
fn parse_pair(
    above: (&LegFields<'_>, &LegNames),
    below: (&LegFields<'_>, &LegNames),
    inst: &Instrument,
) -> Result<[ListLeg; 2], ApiError> {
    if above.0.kind == "LIMIT_MAKER" && below.0.kind == "LIMIT_MAKER" {
        return Err(bad(
            below.1.kind,
            "an OCO has at most one LIMIT_MAKER leg: matchd's other leg is a STOP_LOSS(_LIMIT) or TAKE_PROFIT(_LIMIT)",
        ));
    }
    Ok([parse_leg(below.0, below.1, inst, LegUse::Pair)?, parse_leg(above.0, above.1, inst, LegUse::Pair)?])
}

/// The working order: LIMIT (GTC: it must be able to rest) or LIMIT_MAKER.
fn parse_working(w: &WorkingFields<'_>, inst: &Instrument) -> Result<(Side, TimeInForce, u64, u64), ApiError> {
    let tif = match (w.kind, w.tif) {
        ("LIMIT", Some("GTC")) => TimeInForce::Gtc,
        ("LIMIT", None) => return Err(ApiError::MissingParameter("workingTimeInForce")),
        ("LIMIT", Some(_)) => {
            return Err(bad("workingTimeInForce", "must be GTC: the working order rests until filled"))
        }
        ("LIMIT_MAKER", None) => TimeInForce::PostOnly,
        ("LIMIT_MAKER", Some(_)) => return Err(bad("workingTimeInForce", "a LIMIT_MAKER working order has none")),
        _ => return Err(bad("workingType", "must be LIMIT or LIMIT_MAKER")),
    };
    let side = parse_side(w.side).map_err(|_| bad("workingSide", "must be BUY or SELL"))?;
    let p = price("workingPrice", Some(w.price), inst)?;
    Ok((side, tif, p, decimal("workingQuantity", w.quantity, inst.qty_decimals)?))
}

fn parse_oco(b: &OcoBody, inst: &Instrument) -> Result<OrderList, ApiError> {
    refuse_leg_ids(&[
        ("aboveClientOrderId", &b.above_client_order_id),
        ("belowClientOrderId", &b.below_client_order_id),
    ])?;
    let above = LegFields {
        kind: &b.above_type,
        price: b.above_price.as_deref(),
        stop_price: b.above_stop_price.as_deref(),
        tif: b.above_time_in_force.as_deref(),
    };
    let below = LegFields {
        kind: &b.below_type,
        price: b.below_price.as_deref(),
        stop_price: b.below_stop_price.as_deref(),
        tif: b.below_time_in_force.as_deref(),
    };
    let above_names =
        LegNames { kind: "aboveType", price: "abovePrice", stop_price: "aboveStopPrice", tif: "aboveTimeInForce" };
    let below_names =
        LegNames { kind: "belowType", price: "belowPrice", stop_price: "belowStopPrice", tif: "belowTimeInForce" };
    let legs = parse_pair((&above, &above_names), (&below, &below_names), inst)?;
    let side = parse_side(&b.side)?;
    let qty = decimal("quantity", &b.quantity, inst.qty_decimals)?;
    Ok(OrderList::oco(list_cid(b.list_client_order_id.as_deref())?, inst.spec.id, side, qty, legs))
}

fn parse_oto(b: &OtoBody, inst: &Instrument) -> Result<OrderList, ApiError> {
    refuse_leg_ids(&[
        ("workingClientOrderId", &b.working_client_order_id),
        ("pendingClientOrderId", &b.pending_client_order_id),
    ])?;
    let working = parse_working(&working_fields!(b), inst)?;
    let fields = LegFields {
        kind: &b.pending_type,
        price: b.pending_price.as_deref(),
        stop_price: b.pending_stop_price.as_deref(),
        tif: b.pending_time_in_force.as_deref(),
    };
    let names = LegNames {
        kind: "pendingType",
        price: "pendingPrice",
        stop_price: "pendingStopPrice",
        tif: "pendingTimeInForce",
    };
    let pending = parse_leg(&fields, &names, inst, LegUse::Pending)?;
    let side = parse_side(&b.pending_side).map_err(|_| bad("pendingSide", "must be BUY or SELL"))?;
    let qty = decimal("pendingQuantity", &b.pending_quantity, inst.qty_decimals)?;
    Ok(OrderList::oto(list_cid(b.list_client_order_id.as_deref())?, inst.spec.id, working, side, qty, pending))
}

fn parse_otoco(b: &OtocoBody, inst: &Instrument) -> Result<OrderList, ApiError> {
    refuse_leg_ids(&[
        ("workingClientOrderId", &b.working_client_order_id),
        ("pendingAboveClientOrderId", &b.pending_above_client_order_id),
        ("pendingBelowClientOrderId", &b.pending_below_client_order_id),
    ])?;
    let working = parse_working(&working_fields!(b), inst)?;
    let above = LegFields {
        kind: &b.pending_above_type,
        price: b.pending_above_price.as_deref(),
        stop_price: b.pending_above_stop_price.as_deref(),
        tif: b.pending_above_time_in_force.as_deref(),
    };
    let below = LegFields {
        kind: &b.pending_below_type,
        price: b.pending_below_price.as_deref(),
        stop_price: b.pending_below_stop_price.as_deref(),
        tif: b.pending_below_time_in_force.as_deref(),
    };
    let above_names = LegNames {
        kind: "pendingAboveType",
        price: "pendingAbovePrice",
        stop_price: "pendingAboveStopPrice",
        tif: "pendingAboveTimeInForce",
    };
    let below_names = LegNames {
        kind: "pendingBelowType",
        price: "pendingBelowPrice",
        stop_price: "pendingBelowStopPrice",
        tif: "pendingBelowTimeInForce",
    };
    let legs = parse_pair((&above, &above_names), (&below, &below_names), inst)?;
    let side = parse_side(&b.pending_side).map_err(|_| bad("pendingSide", "must be BUY or SELL"))?;
    let qty = decimal("pendingQuantity", &b.pending_quantity, inst.qty_decimals)?;
    Ok(OrderList::otoco(list_cid(b.list_client_order_id.as_deref())?, inst.spec.id, working, side, qty, legs))
}

/// Waits until the session thread has recorded every report of the commands sent before it: a
/// query is answered after them (matchd answers an account's commands in order). Best effort:
/// without it the answer shows fewer `orderReports`.
async fn settle(state: &AppState, signed: &Signed<'_>) {
    let _ = call(state, signed.account, AccountRequest::Query).await;
}

/// Whether the list has nothing left to do: a leg was expired by it (an OCO's other leg, an OTO's
/// pending leg), an OTO's pending leg was placed, or every leg ended.
fn list_done(list: &ListState, sh: &Shared) -> bool {
    let legs: Vec<_> = list.leg_ids().map(|(id, _)| sh.order(OrderRef::Engine(id))).collect();
    let ended = |s: &str| matches!(s, "FILLED" | "CANCELED" | "EXPIRED");
    legs.iter().flatten().any(|o| o.status == "EXPIRED")
        || legs.iter().all(|o| o.is_some_and(|o| ended(o.status)))
        || (list.kind == engine::ListKind::Oto && legs.iter().all(Option::is_some))
}

/// Binance's order-list answer: the legs' ids (`orders`) and what the edge knows of each
/// (`orderReports`; a pending leg has none until placed).
fn list_json(inst: &Instrument, list: &ListState, sh: &Shared) -> Value {
    let done = list_done(list, sh);
    let orders: Vec<Value> = list
        .leg_ids()
        .map(|(id, cid)| json!({"symbol": inst.symbol, "orderId": id.to_string(), "clientOrderId": cid.to_string()}))
        .collect();
    let reports: Vec<Value> = list
        .leg_ids()
        .filter_map(|(id, _)| sh.order(OrderRef::Engine(id)))
        .map(|o| order_json(Some(inst), o))
        .collect();
    json!({
        "orderListId": list.list_id.to_string(),
        "contingencyType": contingency_type(list.kind),
        "listStatusType": if done { "ALL_DONE" } else { "EXEC_STARTED" },
        "listOrderStatus": if done { "ALL_DONE" } else { "EXECUTING" },
        "listClientOrderId": list.client_order_id.to_string(),
        "transactionTime": list.time_ms,
        "symbol": inst.symbol,
        "orders": orders,
        "orderReports": reports,
    })
}

/// Places `list` and answers once matchd has accepted it and the reports of the legs it placed at
/// once are recorded.
async fn place_list(
    state: &AppState,
    signed: &Signed<'_>,
    inst: &Instrument,
    list: OrderList,
) -> Result<Value, ApiError> {
    let placed = call(state, signed.account, |tx| AccountRequest::PlaceList(list, tx)).await?;
    settle(state, signed).await;
    let sh = signed.account.lock();
    Ok(list_json(inst, &placed, &sh))
}

/// One `POST /api/v3/orderList/...`: the signed body of type `B`, its instrument (`symbol` of
/// it), the list `parse` makes of it, placed.
async fn post_list<B: serde::de::DeserializeOwned>(
    state: std::sync::Arc<AppState>,
    req: Request,
    symbol: fn(&B) -> &str,
    parse: fn(&B, &Instrument) -> Result<OrderList, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let b: B = json_body(&signed.body)?;
    let inst = state.market().by_symbol(symbol(&b))?.clone();
    let list = parse(&b, &inst)?;
    Ok(Json(place_list(&state, &signed, &inst, list).await?))
}

/// `POST /api/v3/orderList/oco`.
pub async fn place_oco(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    post_list(state, req, |b: &OcoBody| &b.symbol, parse_oco).await
}

/// `POST /api/v3/orderList/oto`.
pub async fn place_oto(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    post_list(state, req, |b: &OtoBody| &b.symbol, parse_oto).await
}

/// `POST /api/v3/orderList/otoco`.
pub async fn place_otoco(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    post_list(state, req, |b: &OtocoBody| &b.symbol, parse_otoco).await
}

/// `DELETE /api/v3/orderList?symbol=..&orderListId=..` (or `listClientOrderId`): cancels the
/// list's first leg the edge knows to be live (else its first leg); matchd cancels the others
/// (EXPIRED). Answered with the list once those cancellations are recorded.
pub async fn cancel_list(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let inst = state.market().by_symbol(param(&signed.params, "symbol")?)?.clone();
    let r = match (signed.params.get("orderListId"), signed.params.get("listClientOrderId")) {
        (Some(id), _) => OrderRef::Engine(parse_id("orderListId", id)?),
        (None, Some(c)) => OrderRef::Client(parse_id("listClientOrderId", c)?),
        (None, None) => return Err(ApiError::MissingParameter("orderListId")),
    };
    let (list, target) = {
        let sh = signed.account.lock();
        let list = *sh.list(r).filter(|l| l.instrument == inst.spec.id).ok_or(ApiError::UnknownOrderList)?;
        let live = |id| sh.order(OrderRef::Engine(id)).is_some_and(|o| matches!(o.status, "NEW" | "PARTIALLY_FILLED"));
        let target = list.leg_ids().map(|(id, _)| id).find(|id| live(*id)).unwrap_or(list.list_id);
        (list, target)
    };
    match call(&state, signed.account, |tx| AccountRequest::Cancel(OrderRef::Engine(target), tx)).await {
        Err(ApiError::UnknownOrder) => return Err(ApiError::UnknownOrderList),
        r => r?,
    };
    settle(&state, &signed).await;
    let sh = signed.account.lock();
    Ok(Json(list_json(&inst, &list, &sh)))
}

#[cfg(test)]
mod tests {
    use super::super::orders::tests::btc_usdt;
    use super::*;

    fn oco(extra: &str) -> Result<OrderList, ApiError> {
        let body = format!(r#"{{"symbol":"BTC-USDT","side":"SELL","quantity":"0.002"{extra}}}"#);
        parse_oco(&serde_json::from_str::<OcoBody>(&body).unwrap(), &btc_usdt())
    }

    fn refused(r: Result<OrderList, ApiError>, field: &str, says: &str) {
        match &r {
            Err(ApiError::BadParameter { name, msg }) if *name == field && msg.contains(says) => {}
            _ => panic!("{field}: {r:?}"),
        }
    }

    #[test]
    fn an_oco_maps_limit_maker_to_a_post_only_leg_and_stops_to_conditional_legs_below_first() {
        let l = oco(r#","aboveType":"LIMIT_MAKER","abovePrice":"52000.00","belowType":"STOP_LOSS_LIMIT","belowPrice":"47900.00","belowStopPrice":"48000.00","belowTimeInForce":"GTC","listClientOrderId":"70""#)
            .unwrap();
        let stop = ListLeg {
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            price: 4_790_000,
            trigger: Some((4_800_000, TriggerKind::StopLoss)),
        };
        let maker =
            ListLeg { order_type: OrderType::Limit, tif: TimeInForce::PostOnly, price: 5_200_000, trigger: None };
        assert_eq!(l, OrderList::oco(70, 1, Side::Sell, 200_000, [stop, maker]));
        let l = oco(r#","aboveType":"TAKE_PROFIT","aboveStopPrice":"52000.00","belowType":"STOP_LOSS","belowStopPrice":"48000.00""#).unwrap();
        assert_eq!(l.leg(1).trigger, Some((5_200_000, TriggerKind::TakeProfit)));
        assert_eq!((l.leg(0).order_type, l.leg(0).tif), (OrderType::Market, TimeInForce::Ioc));
    }

    #[test]
    fn shapes_matchd_cannot_place_are_refused_naming_the_field() {
        let maker = r#","aboveType":"LIMIT_MAKER","abovePrice":"52000.00""#;
        refused(
            oco(&format!(r#"{maker},"belowType":"LIMIT_MAKER","belowPrice":"48000.00""#)),
            "belowType",
            "at most one LIMIT_MAKER",
        );
        refused(
            oco(&format!(r#"{maker},"belowType":"LIMIT","belowPrice":"48000.00""#)),
            "belowType",
            "must be LIMIT_MAKER",
        );
        refused(
            oco(&format!(r#"{maker},"belowType":"STOP_LOSS","belowPrice":"48000.00","belowStopPrice":"48000.00""#)),
            "belowPrice",
            "a STOP_LOSS leg has no",
        );
        let r = oco(&format!(
            r#"{maker},"belowType":"STOP_LOSS_LIMIT","belowPrice":"47000.00","belowStopPrice":"48000.00""#
        ));
        assert!(matches!(r, Err(ApiError::MissingParameter("belowTimeInForce"))), "{r:?}");
        refused(
            oco(&format!(r#"{maker},"belowType":"STOP_LOSS","belowStopPrice":"48000.00","belowClientOrderId":"5""#)),
            "belowClientOrderId",
            "listClientOrderId + k",
        );
        let r = oco(&format!(r#"{maker},"belowType":"STOP_LOSS""#));
        assert!(matches!(r, Err(ApiError::MissingParameter("belowStopPrice"))), "{r:?}");
    }
}
