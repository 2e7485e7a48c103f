//! Signed account queries: balances (`GET /api/v3/account`) and open orders
//! (`GET /api/v3/openOrders`), answered by matchd's `QueryAccount`. matchd lists armed conditional
//! orders among the open orders without their trigger; the edge adds it from the `OrderArmed`
//! report it kept.

use axum::extract::Request;
use axum::Json;
use engine::OrderRef;
use serde_json::{json, Value};

use super::{authenticate, call, side_name, S};
use crate::account::{OrderState, Request as AccountRequest};
use crate::error::ApiError;
use crate::units::format_decimal;

/// `GET /api/v3/account`: `{"accountId", "balances": [{"asset","free","locked"}]}`.
pub async fn account(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let q = call(&state, signed.account, AccountRequest::Query).await?;
    let m = state.market();
    let balances: Vec<Value> = q
        .balances
        .iter()
        .map(|b| {
            let a = m.assets().get(b.asset);
            json!({"asset": a.name, "free": format_decimal(b.available, a.decimals),
                "locked": format_decimal(b.reserved, a.decimals)})
        })
        .collect();
    Ok(Json(json!({"accountId": signed.account.account.to_string(), "balances": balances})))
}

/// `GET /api/v3/openOrders[?symbol=..]`.
pub async fn open_orders(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let only = match signed.params.get("symbol") {
        Some(s) => Some(state.market().by_symbol(s)?.spec.id),
        None => None,
    };
    let q = call(&state, signed.account, AccountRequest::Query).await?;
    // The edge's record of each order, taken before (not under) the market's lock.
    let known: Vec<Option<OrderState>> = {
        let sh = signed.account.lock();
        q.orders.iter().map(|o| sh.order(OrderRef::Engine(o.order_id)).cloned()).collect()
    };
    let m = state.market();
    let orders: Vec<Value> = q
        .orders
        .iter()
        .zip(&known)
        .filter(|(o, _)| only.is_none_or(|id| id == o.instrument))
        .map(|(o, known)| {
            let i = m.by_id(o.instrument);
            let price = |p: u64| i.map_or(p.to_string(), |i| i.price(p));
            let qty = |v: u64| i.map_or(v.to_string(), |i| i.qty(v));
            let mut v = json!({"symbol": i.map(|i| i.symbol.clone()), "orderId": o.order_id.to_string(),
                "clientOrderId": o.client_order_id.to_string(), "side": side_name(o.side), "price": price(o.price),
                "origQty": qty(o.qty), "executedQty": qty(o.qty.saturating_sub(o.leaves)), "leavesQty": qty(o.leaves),
                "timeInForce": format!("{:?}", o.tif).to_uppercase(), "status": if o.leaves < o.qty { "PARTIALLY_FILLED" } else { "NEW" }});
            // Type and trigger as the edge saw them (absent for an order older than its memory).
            if let Some(k) = known {
                v["type"] = k.type_name().into();
                v["isWorking"] = k.is_working().into();
                if let Some(s) = k.stop {
                    v["stopPrice"] = price(s.trigger_price).into();
                }
                if let Some(bips) = k.trailing_delta_bps {
                    v["trailingDelta"] = bips.into();
                }
            }
            v
        })
        .collect();
    Ok(Json(Value::Array(orders)))
}
