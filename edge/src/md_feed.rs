//! The market-data thread: one blocking connection to matchd's feed (the `client` crate), the
//! books rebuilt from it into [`Market`], every change published to the public [`Hub`].
//!
//! Publishing happens while the market lock is held, so a REST depth snapshot (taken under the
//! same lock) is exactly at some `lastUpdateId`: every update queued before it has `u` ≤ that id
//! and every one after it `u` > it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client::md_client::MdClient;
use client::ClientError;
use protocol::{MdInstrumentKind, MdServerMessage, MdSubscribe};

use crate::hub::{Cut, Hub, Message};
use crate::market::Market;

/// Connect, write and subscription-answer timeout.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait in one read (how often the stop flag is looked at).
const POLL: Duration = Duration::from_millis(100);
/// Pause between reconnection attempts.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// Runs the feed until `stop` is set, reconnecting as needed to the next of `addrs` in turn (every
/// node of a replica set publishes the same feed, followers included).
pub fn run(addrs: Vec<SocketAddr>, market: Arc<Mutex<Market>>, hub: Arc<Hub>, stop: Arc<AtomicBool>) {
    assert!(!addrs.is_empty(), "at least one market-data address");
    let mut next = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let addr = addrs[next % addrs.len()];
        next += 1;
        match session(addr, &market, &hub, &stop) {
            Ok(()) => return,
            Err(e) => tracing::warn!(%addr, error = %e, "market-data connection lost; reconnecting"),
        }
        {
            let mut m = lock(&market);
            m.connected = false;
            m.reset();
        }
        // Subscribers' books are on the old sequence numbers: they reconnect and resync.
        hub.cut_all(Cut::Resync);
        std::thread::sleep(RECONNECT_PAUSE);
    }
}

fn lock(m: &Mutex<Market>) -> std::sync::MutexGuard<'_, Market> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One connection: subscribe, then read and apply until an error or `stop`.
fn session(addr: SocketAddr, market: &Mutex<Market>, hub: &Hub, stop: &AtomicBool) -> Result<(), ClientError> {
    let mut c = MdClient::connect(addr, IO_TIMEOUT)?;
    let accepted = c.subscribe(MdSubscribe { heartbeat_interval_ms: 0, order_by_order: false })?;
    // Ready (for REST and the account sessions, which format with the instruments' scales) once
    // the whole directory has arrived.
    let mut directory_left = accepted.instruments;
    lock(market).connected = directory_left == 0;
    tracing::info!(%addr, "market data subscribed");
    while !stop.load(Ordering::Relaxed) {
        let Some(msg) = c.recv(POLL)? else { continue };
        let wanting = {
            let mut m = lock(market);
            if let MdServerMessage::Instrument(i) = &msg {
                if i.kind == MdInstrumentKind::Directory && directory_left > 0 {
                    directory_left -= 1;
                    m.connected = directory_left == 0;
                }
            }
            for (topic, text) in m.apply(&msg) {
                hub.publish(&topic, &Message::from(text));
            }
            m.books.wanting_snapshot()
        };
        for id in wanting {
            c.request_snapshot(id, 0, false)?;
        }
    }
    let _ = c.logout();
    Ok(())
}
