//! WebSocket streams: public market streams (`/ws`) and the private account stream (`/ws/user`).
//! Both pump one [`crate::hub::Subscription`] into the socket; the hub cuts off a connection whose
//! queue fills, and the pump then closes it with code 1008 and the reason.

pub mod private;
pub mod public;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};

use crate::hub::{Cut, Subscription};

/// Close code for a connection the edge cut off (policy violation: too slow, or resync).
pub const CLOSE_CUT: u16 = 1008;

/// How long a connection the edge closes may take to receive the close frame (after what was
/// queued before it) and answer it. Dropping the socket at once could reset the connection before
/// the client read the frame, and the client would not learn why.
pub const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// What the pump does with a text message from the client: `Some(reply)` to answer.
pub type OnText<'a> = dyn FnMut(&str) -> Option<String> + Send + 'a;

/// Sends `replay`, then the subscription's messages, until either side closes or the hub cuts
/// the connection off. Client texts go to `on_text`.
pub async fn pump(socket: WebSocket, mut sub: Subscription, replay: Vec<Utf8Bytes>, on_text: &mut OnText<'_>) {
    let (mut sink, mut incoming) = socket.split();
    for m in replay {
        if sink.send(WsMessage::Text(m)).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            m = sub.rx.recv() => match m {
                Some(text) => if sink.send(WsMessage::Text(text)).await.is_err() { return },
                // The hub dropped the connection; it said why first (if it cut it off).
                None => {
                    close(sink, incoming, reason(sub.cut.try_recv().ok())).await;
                    return;
                }
            },
            why = &mut sub.cut => {
                close(sink, incoming, reason(why.ok())).await;
                return;
            }
            m = incoming.next() => match m {
                Some(Ok(WsMessage::Text(t))) => {
                    if let Some(reply) = on_text(t.as_str()) {
                        if sink.send(WsMessage::Text(reply.into())).await.is_err() { return }
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

fn reason(why: Option<Cut>) -> &'static str {
    match why {
        Some(Cut::SlowConsumer) => "slow consumer: queue full",
        Some(Cut::Resync) => "market data reconnected: resync",
        None => "closed",
    }
}

/// Sends the close frame and waits (at most [`CLOSE_GRACE`]) for the client's answer.
async fn close(mut sink: SplitSink<WebSocket, WsMessage>, mut incoming: SplitStream<WebSocket>, reason: &'static str) {
    let frame = CloseFrame { code: CLOSE_CUT, reason: Utf8Bytes::from_static(reason) };
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        if sink.send(WsMessage::Close(Some(frame))).await.is_err() {
            return;
        }
        while let Some(Ok(m)) = incoming.next().await {
            if matches!(m, WsMessage::Close(_)) {
                return;
            }
        }
    })
    .await;
}
