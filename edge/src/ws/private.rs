//! `/ws/user`: one account's private stream (order updates, fills, balance changes), signed like a
//! REST request: `/ws/user?apiKey=K&timestamp=T[&fromSeq=N]&signature=S` (the signature over the
//! query before `&signature=`). With `fromSeq` the stream first replays the kept events with a
//! `seq` above it (resume after a reconnect), then goes live; without it, live only.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::RequestExt;

use crate::account::account_topic;
use crate::auth::parse_query;
use crate::error::ApiError;
use crate::state::State;

/// The upgrade: the signature and timestamp are checked before it.
pub async fn upgrade(axum::extract::State(state): axum::extract::State<State>, req: Request) -> Response {
    match prepare(state, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn prepare(state: State, mut req: Request) -> Result<Response, ApiError> {
    let query = req.uri().query().unwrap_or("").to_string();
    let params = parse_query(&query)?;
    let header_key = req.headers().get("X-MBX-APIKEY").and_then(|v| v.to_str().ok()).map(str::to_string);
    let key = params.get("apiKey").cloned().or(header_key);
    let auth = state.keys.verify(key.as_deref(), &query, b"", state.limits.max_recv_window_ms)?;
    let from_seq = match auth.params.get("fromSeq") {
        None => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| ApiError::BadParameter {
            name: "fromSeq",
            msg: "must be an integer (the last seq received)".into(),
        })?),
    };
    let account = auth.account;
    if !state.accounts.contains_key(&account) {
        return Err(ApiError::Unavailable);
    }
    let ws: WebSocketUpgrade = req
        .extract_parts()
        .await
        .map_err(|_| ApiError::BadParameter { name: "upgrade", msg: "not a WebSocket request".into() })?;
    let permit = state
        .ws_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::TooMany("too many WebSocket connections".into()))?;
    // Registered before the upgrade answer: an event published after the client sees the
    // handshake complete is always delivered. Replay and registration happen under the
    // account's lock (the session thread publishes under it too), so nothing is lost or doubled.
    let sub = state.private.connect();
    let id = sub.id;
    let replay = {
        let sh = state.accounts[&account].lock();
        let replay = match from_seq {
            Some(from) => sh.events_after(from)?,
            None => Vec::new(),
        };
        state.private.subscribe(id, &account_topic(account));
        replay
    };
    Ok(ws.max_message_size(state.limits.max_ws_message_bytes).on_upgrade(move |socket| async move {
        let mut ignore = |_: &str| None;
        super::pump(socket, sub, replay, &mut ignore).await;
        state.private.disconnect(id);
        drop(permit);
    }))
}
