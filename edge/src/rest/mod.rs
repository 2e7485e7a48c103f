//! The REST API (Binance-like, JSON): public market endpoints, signed order entry and account
//! queries. Signed requests: see [`crate::auth`].

pub mod account;
pub mod lists;
pub mod orders;
pub mod public;

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Request;
use engine::{OrderRef, Side};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::account::{AccountHandle, OrderState, Request as AccountRequest};
use crate::error::ApiError;
use crate::market::Instrument;
use crate::state::{AppState, State};

/// A signed request: its account session, parameters (query) and body.
pub struct Signed<'a> {
    /// The account session.
    pub account: &'a AccountHandle,
    /// Query parameters.
    pub params: HashMap<String, String>,
    /// Raw body.
    pub body: Bytes,
}

/// Reads the body (bounded), checks the key, signature and timestamp.
pub async fn authenticate(state: &AppState, req: Request) -> Result<Signed<'_>, ApiError> {
    let (parts, body) = req.into_parts();
    let limit = state.limits.max_body_bytes;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| ApiError::BodyTooLarge(limit))?;
    let key = parts.headers.get("X-MBX-APIKEY").and_then(|v| v.to_str().ok());
    let query = parts.uri.query().unwrap_or("");
    let auth = state.keys.verify(key, query, &body, state.limits.max_recv_window_ms)?;
    let account = state.accounts.get(&auth.account).ok_or(ApiError::Unavailable)?;
    Ok(Signed { account, params: auth.params, body })
}

/// Sends a request to the account's session and waits for its answer.
pub async fn call<T>(
    state: &AppState,
    account: &AccountHandle,
    make: impl FnOnce(oneshot::Sender<Result<T, ApiError>>) -> AccountRequest,
) -> Result<T, ApiError> {
    if !account.connected.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError::Unavailable);
    }
    let (tx, rx) = oneshot::channel();
    account.tx.try_send(make(tx)).map_err(|e| match e {
        std::sync::mpsc::TrySendError::Full(_) => ApiError::Busy,
        std::sync::mpsc::TrySendError::Disconnected(_) => ApiError::Unavailable,
    })?;
    match tokio::time::timeout(Duration::from_millis(state.limits.request_timeout_ms), rx).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(ApiError::Unavailable),
        Err(_) => Err(ApiError::Timeout),
    }
}

/// A required parameter.
pub fn param<'p>(params: &'p HashMap<String, String>, name: &'static str) -> Result<&'p str, ApiError> {
    params.get(name).map(String::as_str).ok_or(ApiError::MissingParameter(name))
}

/// An id sent as a decimal string (`orderId`, `origClientOrderId`, ...).
pub fn parse_id(name: &'static str, v: &str) -> Result<u64, ApiError> {
    v.parse::<u64>().ok().filter(|v| *v > 0).ok_or_else(|| ApiError::BadParameter {
        name,
        msg: "must be a positive integer in a string (at most 18446744073709551615)".into(),
    })
}

/// The order a cancel/amend/query names: `orderId` or `origClientOrderId`.
pub fn order_ref(order_id: Option<&str>, cid: Option<&str>) -> Result<OrderRef, ApiError> {
    match (order_id, cid) {
        (Some(id), _) => Ok(OrderRef::Engine(parse_id("orderId", id)?)),
        (None, Some(c)) => Ok(OrderRef::Client(parse_id("origClientOrderId", c)?)),
        (None, None) => Err(ApiError::MissingParameter("orderId")),
    }
}

/// An order as the REST API shows it. A conditional order also has `stopPrice`; `isWorking` is
/// false while it is armed; a GTD order has `timeInForce` GTD and `goodTillDate`, a quote-quantity
/// order `origQuoteOrderQty`, a trailing stop `trailingDelta` (Binance's fields).
pub fn order_json(inst: Option<&Instrument>, o: &OrderState) -> Value {
    let price_of = |p: u64| inst.map_or(p.to_string(), |i| i.price(p));
    let price = price_of(o.price);
    let qty = |q: u64| inst.map_or(q.to_string(), |i| i.qty(q));
    let mut v = json!({
        "symbol": inst.map(|i| i.symbol.clone()),
        "orderId": o.order_id.to_string(),
        "clientOrderId": o.client_order_id.to_string(),
        "price": price,
        "origQty": qty(o.qty),
        "executedQty": qty(o.executed),
        "status": o.status,
        "timeInForce": o.tif_name(),
        "type": o.type_name(),
        "side": side_name(o.side),
        "isWorking": o.is_working(),
    });
    if let Some(s) = o.stop {
        v["stopPrice"] = Value::String(price_of(s.trigger_price));
    }
    if let Some(ms) = o.good_till_ms {
        v["goodTillDate"] = Value::from(ms);
    }
    if let Some(q) = o.quote_qty {
        // The quote asset's units are the instrument's price units.
        v["origQuoteOrderQty"] = Value::String(price_of(q));
    }
    if let Some(bips) = o.trailing_delta_bps {
        v["trailingDelta"] = Value::from(bips);
    }
    v
}

/// "BUY" / "SELL".
pub fn side_name(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// Shared state, for handlers' signatures.
pub type S = axum::extract::State<State>;
