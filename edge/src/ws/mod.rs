//! WebSocket streams: public market streams (`/ws`) and the private account stream (`/ws/user`).
//! Both pump one [`crate::hub::Subscription`] into the socket; the hub cuts off a connection whose
//! queue fills, and the pump then closes it with code 1008 and the reason.

pub mod private;
pub mod public;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};

use crate::hub::{Cut, Subscription};

/// Close code for a connection the edge cut off (policy violation: too slow, or resync).
pub const CLOSE_CUT: u16 = 1008;

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
                None => return,
            },
            why = &mut sub.cut => {
                let reason = match why {
                    Ok(Cut::SlowConsumer) => "slow consumer: queue full",
                    Ok(Cut::Resync) => "market data reconnected: resync",
                    Err(_) => "closed",
                };
                close(&mut sink, reason).await;
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

async fn close(sink: &mut SplitSink<WebSocket, WsMessage>, reason: &'static str) {
    let frame = CloseFrame { code: CLOSE_CUT, reason: Utf8Bytes::from_static(reason) };
    let _ = sink.send(WsMessage::Close(Some(frame))).await;
}
