//! Signed order entry: place (`POST`), amend (`PUT`), cancel (`DELETE`) and look up (`GET`)
//! `/api/v3/order`. Prices and quantities are decimal strings at the instrument's scales.

use axum::extract::Request;
use axum::Json;
use engine::{Amend, NewOrder, OrderRef, OrderType, Side, StpMode, TimeInForce};
use serde::Deserialize;
use serde_json::Value;

use super::{authenticate, call, order_json, order_ref, param, parse_id, S};
use crate::account::Request as AccountRequest;
use crate::error::ApiError;
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

fn parse_type_tif(t: &str, tif: Option<&str>) -> Result<(OrderType, TimeInForce), ApiError> {
    let order_type = match t {
        "LIMIT" => OrderType::Limit,
        "MARKET" => OrderType::Market,
        _ => return Err(ApiError::BadParameter { name: "type", msg: "must be LIMIT or MARKET".into() }),
    };
    let tif = match (order_type, tif) {
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
    };
    Ok((order_type, tif))
}

/// `POST /api/v3/order`: places an order; answers once matchd accepted it (status NEW; fills
/// follow on the private stream and in `GET /api/v3/order`).
pub async fn place(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let b: PlaceBody = json_body(&signed.body)?;
    let (order_type, tif) = parse_type_tif(&b.order_type, b.time_in_force.as_deref())?;
    let side = parse_side(&b.side)?;
    let inst = state.market().by_symbol(&b.symbol)?.clone();
    let qty = parse_decimal(&b.quantity, inst.qty_decimals).map_err(|e| ApiError::units("quantity", e))?;
    let price = match (order_type, b.price.as_deref()) {
        (OrderType::Limit, None) => return Err(ApiError::MissingParameter("price")),
        (OrderType::Limit, Some(p)) => {
            parse_decimal(p, inst.price_decimals).map_err(|e| ApiError::units("price", e))?
        }
        (OrderType::Market, None) => 0,
        (OrderType::Market, Some(_)) => {
            return Err(ApiError::BadParameter { name: "price", msg: "a MARKET order has no price".into() })
        }
    };
    let client_order_id = match b.new_client_order_id.as_deref() {
        Some(c) => parse_id("newClientOrderId", c)?,
        None => 0,
    };
    let order =
        NewOrder { client_order_id, instrument: inst.spec.id, side, order_type, tif, stp: StpMode::None, price, qty };
    let o = call(&state, signed.account, |tx| AccountRequest::Place(order, tx)).await?;
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
