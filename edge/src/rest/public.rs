//! Public endpoints: ping, time, instruments, the depth snapshot, and the demo page.

use std::collections::HashMap;

use axum::extract::Query;
use axum::response::Html;
use axum::Json;
use serde_json::{json, Value};

use super::S;
use crate::error::ApiError;

/// Largest `limit` of a depth snapshot.
pub const MAX_DEPTH_LIMIT: usize = 5000;

/// The live order book page.
pub async fn page() -> Html<&'static str> {
    Html(include_str!("../../static/index.html"))
}

/// `{}`.
pub async fn ping() -> Json<Value> {
    Json(json!({}))
}

/// `{"serverTime": ms}`.
pub async fn time() -> Json<Value> {
    Json(json!({"serverTime": crate::auth::now_ms()}))
}

/// Instruments with their scales and filters.
pub async fn exchange_info(axum::extract::State(state): S) -> Json<Value> {
    let m = state.market();
    let symbols: Vec<Value> = m.instruments().map(|i| m.instrument_json(i)).collect();
    Json(json!({"serverTime": crate::auth::now_ms(), "symbols": symbols}))
}

/// `GET /api/v3/depth?symbol=BTC-USDT&limit=100`.
pub async fn depth(
    axum::extract::State(state): S,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let symbol = super::param(&q, "symbol")?;
    let limit = match q.get("limit") {
        None => 100,
        Some(l) => l.parse::<usize>().ok().filter(|l| (1..=MAX_DEPTH_LIMIT).contains(l)).ok_or_else(|| {
            ApiError::BadParameter { name: "limit", msg: format!("must be an integer from 1 to {MAX_DEPTH_LIMIT}") }
        })?,
    };
    Ok(Json(state.market().depth(symbol, limit)?))
}

/// Prometheus text: WebSocket connections, messages queued, slow subscribers cut off.
pub async fn metrics(axum::extract::State(state): S) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let (p, q) = (&state.public, &state.private);
    format!(
        "# TYPE edge_ws_connections gauge\nedge_ws_connections {}\n\
         # TYPE edge_ws_messages_queued_total counter\nedge_ws_messages_queued_total {}\n\
         # TYPE edge_ws_slow_cutoffs_total counter\nedge_ws_slow_cutoffs_total {}\n\
         # TYPE edge_market_data_connected gauge\nedge_market_data_connected {}\n",
        p.connections() + q.connections(),
        p.delivered.load(Relaxed) + q.delivered.load(Relaxed),
        p.slow_cutoffs.load(Relaxed) + q.slow_cutoffs.load(Relaxed),
        u8::from(state.market().connected),
    )
}
