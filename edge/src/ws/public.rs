//! `/ws`: public streams. Subscribe with `?streams=BTC-USDT@depth,BTC-USDT@trade` or by sending
//! `{"method":"SUBSCRIBE","params":["BTC-USDT@bookTicker"],"id":1}` (also `UNSUBSCRIBE`,
//! `LIST_SUBSCRIPTIONS`). Messages are `{"stream": name, "data": event}`.

use std::collections::HashMap;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::State;

/// Stream kinds a symbol has.
pub const KINDS: &[&str] = &["depth", "trade", "bookTicker"];

#[derive(Deserialize)]
struct Command {
    method: String,
    #[serde(default)]
    params: Vec<String>,
    #[serde(default)]
    id: Value,
}

/// The upgrade: refused with 429 (`-1015`) when `limits.max_ws_connections` are open.
pub async fn upgrade(
    axum::extract::State(state): axum::extract::State<State>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let Ok(permit) = state.ws_slots.clone().try_acquire_owned() else {
        return ApiError::TooMany("too many WebSocket connections".into()).into_response();
    };
    let initial: Vec<String> = q
        .get("streams")
        .map(|s| s.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    if let Err(e) = check_streams(&state, &initial, 0) {
        return e.into_response();
    }
    // Subscribed before the upgrade answer: the client misses nothing published after it.
    let sub = state.public.connect();
    let id = sub.id;
    for s in &initial {
        state.public.subscribe(id, s);
    }
    ws.max_message_size(state.limits.max_ws_message_bytes).on_upgrade(move |socket| async move {
        let st = state.clone();
        let mut on_text = move |t: &str| Some(command(&st, id, t).to_string());
        super::pump(socket, sub, Vec::new(), &mut on_text).await;
        state.public.disconnect(id);
        drop(permit);
    })
}

fn check_streams(state: &State, streams: &[String], have: usize) -> Result<(), ApiError> {
    if have + streams.len() > state.limits.max_subscriptions_per_connection {
        return Err(ApiError::TooMany(format!(
            "at most {} subscriptions per connection",
            state.limits.max_subscriptions_per_connection
        )));
    }
    let m = state.market();
    for s in streams {
        let (symbol, kind) =
            s.split_once('@').filter(|(_, k)| KINDS.contains(k)).ok_or_else(|| ApiError::BadParameter {
                name: "params",
                msg: format!("unknown stream `{s}`: use SYMBOL@depth, SYMBOL@trade or SYMBOL@bookTicker"),
            })?;
        let _ = kind;
        m.by_symbol(symbol)?;
    }
    Ok(())
}

fn command(state: &State, id: u64, text: &str) -> Value {
    let cmd: Command = match serde_json::from_str(text) {
        Ok(c) => c,
        Err(e) => return json!({"id": null, "error": ApiError::MalformedJson(e.to_string()).json()}),
    };
    let result = match cmd.method.as_str() {
        "SUBSCRIBE" => {
            let have = state.public.topics(id);
            let new: Vec<String> = cmd.params.into_iter().filter(|p| !have.contains(p)).collect();
            check_streams(state, &new, have.len()).map(|()| {
                for s in &new {
                    state.public.subscribe(id, s);
                }
                Value::Null
            })
        }
        "UNSUBSCRIBE" => {
            for s in &cmd.params {
                state.public.unsubscribe(id, s);
            }
            Ok(Value::Null)
        }
        "LIST_SUBSCRIPTIONS" => Ok(json!(state.public.topics(id))),
        _ => Err(ApiError::BadParameter { name: "method", msg: "SUBSCRIBE, UNSUBSCRIBE or LIST_SUBSCRIPTIONS".into() }),
    };
    match result {
        Ok(r) => json!({"id": cmd.id, "result": r}),
        Err(e) => json!({"id": cmd.id, "error": e.json()}),
    }
}
