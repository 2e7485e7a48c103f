//! Signed order entry: place (`POST`), amend (`PUT`), cancel (`DELETE`) and look up (`GET`)
//! `/api/v3/order`. Prices and quantities are decimal strings at the instrument's scales. Binance's
//! conditional types (STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT, with
//! `stopPrice`) become matchd's `NewStopOrder`.

use axum::extract::Request;
use axum::Json;
use engine::{Amend, NewOrder, OrderRef, OrderType, Side, StopOrder, StpMode, TimeInForce, TriggerKind};
use serde::Deserialize;
use serde_json::Value;

use super::{authenticate, call, order_json, order_ref, param, parse_id, S};
use crate::account::Request as AccountRequest;
use crate::error::ApiError;
use crate::market::Instrument;
use crate::units::parse_decimal;

/// The body of `POST /api/v3/order`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PlaceBody {
    symbol: String,
    side: String,
    #[serde(rename = "type")]
    order_type: String,
    time_in_force: Option<String>,
    quantity: String,
    price: Option<String>,
    stop_price: Option<String>,
    new_client_order_id: Option<String>,
}

/// The body of `PUT /api/v3/order`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AmendBody {
    symbol: String,
    order_id: Option<String>,
    orig_client_order_id: Option<String>,
    quantity: Option<String>,
    price: Option<String>,
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

fn parse_side(s: &str) -> Result<Side, ApiError> {
    match s {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        _ => Err(ApiError::BadParameter { name: "side", msg: "must be BUY or SELL".into() }),
    }
}

/// The `type` parameter: the order placed (now, or when it fires) and, for Binance's
/// conditional types, its trigger.
fn parse_type(t: &str) -> Result<(OrderType, Option<TriggerKind>), ApiError> {
    Ok(match t {
        "LIMIT" => (OrderType::Limit, None),
        "MARKET" => (OrderType::Market, None),
        "STOP_LOSS" => (OrderType::Market, Some(TriggerKind::StopLoss)),
        "STOP_LOSS_LIMIT" => (OrderType::Limit, Some(TriggerKind::StopLoss)),
        "TAKE_PROFIT" => (OrderType::Market, Some(TriggerKind::TakeProfit)),
        "TAKE_PROFIT_LIMIT" => (OrderType::Limit, Some(TriggerKind::TakeProfit)),
        _ => {
            return Err(ApiError::BadParameter {
                name: "type",
                msg: "must be LIMIT, MARKET, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT or TAKE_PROFIT_LIMIT".into(),
            })
        }
    })
}

fn parse_tif(order_type: OrderType, tif: Option<&str>) -> Result<TimeInForce, ApiError> {
    Ok(match (order_type, tif) {
        (OrderType::Market, None) => TimeInForce::Ioc,
        (OrderType::Limit, None) => return Err(ApiError::MissingParameter("timeInForce")),
        (_, Some("GTC")) => TimeInForce::Gtc,
        (_, Some("IOC")) => TimeInForce::Ioc,
        (_, Some("FOK")) => TimeInForce::Fok,
        (_, Some("POST_ONLY")) => TimeInForce::PostOnly,
        (_, Some(_)) => {
            return Err(ApiError::BadParameter {
                name: "timeInForce",
                msg: "must be GTC, IOC, FOK or POST_ONLY".into(),
            })
        }
    })
}

/// `price`: required by the limit types, refused by the market ones (a market stop fires as a
/// market order: the `_LIMIT` type takes a price).
fn parse_price(
    type_name: &str,
    order_type: OrderType,
    price: Option<&str>,
    inst: &Instrument,
) -> Result<u64, ApiError> {
    match (order_type, price) {
        (OrderType::Limit, None) => Err(ApiError::MissingParameter("price")),
        (OrderType::Limit, Some(p)) => parse_decimal(p, inst.price_decimals).map_err(|e| ApiError::units("price", e)),
        (OrderType::Market, None) => Ok(0),
        (OrderType::Market, Some(_)) if type_name == "MARKET" => {
            Err(ApiError::BadParameter { name: "price", msg: "a MARKET order has no price".into() })
        }
        (OrderType::Market, Some(_)) => Err(ApiError::BadParameter {
            name: "price",
            msg: format!(
                "a {type_name} order becomes a market order when it fires and has no price (use {type_name}_LIMIT)"
            ),
        }),
    }
}

/// `stopPrice`: required by the conditional types (a positive price at the instrument's scale),
/// refused by the others.
fn parse_stop_price(
    trigger: Option<TriggerKind>,
    stop: Option<&str>,
    inst: &Instrument,
) -> Result<Option<u64>, ApiError> {
    match (trigger, stop) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(ApiError::BadParameter {
            name: "stopPrice",
            msg: "only STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT and TAKE_PROFIT_LIMIT orders have a stopPrice".into(),
        }),
        (Some(_), None) => Err(ApiError::MissingParameter("stopPrice")),
        (Some(_), Some(p)) => {
            match parse_decimal(p, inst.price_decimals).map_err(|e| ApiError::units("stopPrice", e))? {
                0 => Err(ApiError::BadParameter { name: "stopPrice", msg: "must be above zero".into() }),
                v => Ok(Some(v)),
            }
        }
    }
}

/// What a `POST /api/v3/order` body asks matchd for.
enum Placement {
    /// A `NewOrder`.
    Order(NewOrder),
    /// A `NewStopOrder`.
    Stop(StopOrder),
}

fn parse_place(b: &PlaceBody, inst: &Instrument) -> Result<Placement, ApiError> {
    let (order_type, trigger) = parse_type(&b.order_type)?;
    let tif = parse_tif(order_type, b.time_in_force.as_deref())?;
    let side = parse_side(&b.side)?;
    let qty = parse_decimal(&b.quantity, inst.qty_decimals).map_err(|e| ApiError::units("quantity", e))?;
    let price = parse_price(&b.order_type, order_type, b.price.as_deref(), inst)?;
    let stop_price = parse_stop_price(trigger, b.stop_price.as_deref(), inst)?;
    let client_order_id = match b.new_client_order_id.as_deref() {
        Some(c) => parse_id("newClientOrderId", c)?,
        None => 0,
    };
    let order =
        NewOrder { client_order_id, instrument: inst.spec.id, side, order_type, tif, stp: StpMode::None, price, qty };
    Ok(match (trigger, stop_price) {
        (Some(trigger), Some(trigger_price)) => Placement::Stop(StopOrder { order, trigger_price, trigger }),
        _ => Placement::Order(order),
    })
}

/// `POST /api/v3/order`: places an order; answers once matchd accepted it (status NEW; fills
/// follow on the private stream and in `GET /api/v3/order`). A conditional order is answered once
/// armed (status NEW, `isWorking` false); matchd refuses one whose `stopPrice` the last trade price
/// has already reached (-2021).
pub async fn place(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let b: PlaceBody = json_body(&signed.body)?;
    let inst = state.market().by_symbol(&b.symbol)?.clone();
    let o = match parse_place(&b, &inst)? {
        Placement::Order(order) => call(&state, signed.account, |tx| AccountRequest::Place(order, tx)).await?,
        Placement::Stop(stop) => call(&state, signed.account, |tx| AccountRequest::PlaceStop(stop, tx)).await?,
    };
    Ok(Json(order_json(Some(&inst), &o)))
}

/// `PUT /api/v3/order`: changes an order's price and/or total quantity.
pub async fn amend(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let b: AmendBody = json_body(&signed.body)?;
    let inst = state.market().by_symbol(&b.symbol)?.clone();
    let order = order_ref(b.order_id.as_deref(), b.orig_client_order_id.as_deref())?;
    let new_qty = b
        .quantity
        .as_deref()
        .map(|q| parse_decimal(q, inst.qty_decimals).map_err(|e| ApiError::units("quantity", e)))
        .transpose()?;
    let new_price = b
        .price
        .as_deref()
        .map(|p| parse_decimal(p, inst.price_decimals).map_err(|e| ApiError::units("price", e)))
        .transpose()?;
    if new_qty.is_none() && new_price.is_none() {
        return Err(ApiError::MissingParameter("quantity"));
    }
    let a = Amend { order, new_qty, new_price };
    let o = call(&state, signed.account, |tx| AccountRequest::Amend(a, tx)).await?;
    Ok(Json(order_json(Some(&inst), &o)))
}

/// `DELETE /api/v3/order?symbol=..&orderId=..` (or `origClientOrderId`).
pub async fn cancel(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let inst = state.market().by_symbol(param(&signed.params, "symbol")?)?.clone();
    let order = params_ref(&signed.params)?;
    let o = call(&state, signed.account, |tx| AccountRequest::Cancel(order, tx)).await?;
    Ok(Json(order_json(Some(&inst), &o)))
}

/// `GET /api/v3/order?symbol=..&orderId=..`: the order as the edge last saw it (orders placed
/// before the edge started are known from matchd's resend of the account's history).
pub async fn get_order(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let inst = state.market().by_symbol(param(&signed.params, "symbol")?)?.clone();
    let order = params_ref(&signed.params)?;
    let o = signed.account.lock().order(order).cloned().ok_or(ApiError::UnknownOrder)?;
    if o.instrument != inst.spec.id {
        return Err(ApiError::UnknownOrder);
    }
    Ok(Json(order_json(Some(&inst), &o)))
}

fn params_ref(p: &std::collections::HashMap<String, String>) -> Result<OrderRef, ApiError> {
    order_ref(p.get("orderId").map(String::as_str), p.get("origClientOrderId").map(String::as_str))
}
