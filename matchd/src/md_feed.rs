//! The public market-data feed's subscribers: their connections, bounded buffers, and the fan-out
//! of each batch the publisher flushes from [`MdBooks`] (`docs/protocol.md`, "Market data"). The
//! bytes of a batch are encoded once and copied into each subscriber's buffer; a subscriber whose
//! buffer overflows is cut off, and the others stay exact.

use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gateway::control_plane::{SessionId, SubscribeRequest};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use protocol::{
    Logout, LogoutReason, MdRejectReason, MdServerMessage, MdSnapshotRejectReason, MdSnapshotRejected,
    MdSnapshotRequest, MdSubscribeAccepted, MdSubscribeRejected, SessionReject,
};

use crate::md_books::{push, MdBooks};

/// Tokens of subscriber connections in the publisher's poll start here.
pub const MD_TOKEN_BASE: usize = 1 << 40;
/// How long a closing subscriber may take to flush before it is cut.
const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// Bytes always kept free in a subscriber's buffer for its `Logout`.
const LOGOUT_ROOM: usize = 32;

/// Market-data settings (`[market_data]`).
#[derive(Debug, Clone, Copy)]
pub struct MdSettings {
    /// Subscribers at once (0 = no feed).
    pub max_subscribers: usize,
    /// Per-subscriber outbound buffer.
    pub outbound_buffer_bytes: usize,
    /// Most levels per side in a snapshot.
    pub snapshot_depth_max: u32,
    /// Order-by-order messages offered.
    pub order_by_order: bool,
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct MdStats {
    /// Subscribers now.
    pub subscribers: AtomicU64,
    /// Feed messages encoded (once per message, whatever the number of subscribers).
    pub messages: AtomicU64,
    /// Bytes queued to subscribers.
    pub bytes: AtomicU64,
    /// Subscribers cut off as slow consumers.
    pub slow_consumers: AtomicU64,
    /// Snapshots sent.
    pub snapshots: AtomicU64,
    /// Subscriptions refused.
    pub rejects: AtomicU64,
}

struct Subscriber {
    id: SessionId,
    stream: TcpStream,
    out: Vec<u8>,
    sent: usize,
    order_by_order: bool,
    heartbeat: Duration,
    last_tx: Instant,
    /// Ending: no more feed data; flush, then close (at the deadline at the latest).
    closing: Option<(LogoutReason, Instant)>,
}

/// The subscribers: their connections, bounded buffers and the fan-out of each flush.
pub struct Subscribers {
    settings: MdSettings,
    feed_epoch: u64,
    subs: Vec<Option<Subscriber>>,
    free: Vec<usize>,
    count: usize,
    stats: std::sync::Arc<MdStats>,
    registry: Registry,
}

impl Subscribers {
    /// No subscribers; `feed_epoch` identifies this run; connections are registered (writable)
    /// with `registry`, the publisher's poll, under tokens from [`MD_TOKEN_BASE`].
    pub fn new(settings: MdSettings, feed_epoch: u64, stats: std::sync::Arc<MdStats>, registry: Registry) -> Self {
        Self { settings, feed_epoch, subs: Vec::new(), free: Vec::new(), count: 0, stats, registry }
    }

    /// This run's feed epoch.
    pub fn feed_epoch(&self) -> u64 {
        self.feed_epoch
    }

    /// Subscribers now.
    pub fn len(&self) -> usize {
        self.count
    }

    /// No subscribers.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn find(&self, session: SessionId) -> Option<usize> {
        self.subs.iter().position(|s| matches!(s, Some(s) if s.id == session))
    }

    /// Whether `session` is a subscriber.
    pub fn contains(&self, session: SessionId) -> bool {
        self.find(session).is_some()
    }

    /// Whether some subscriber has unsent bytes.
    pub fn backlog(&self) -> bool {
        self.subs.iter().flatten().any(|s| s.sent < s.out.len())
    }

    fn update_outputs(&self, books: &mut MdBooks) {
        let live = self.subs.iter().flatten().filter(|s| s.closing.is_none());
        let (mut l2, mut all) = (false, false);
        for s in live {
            if s.order_by_order {
                all = true;
            } else {
                l2 = true;
            }
        }
        books.set_outputs(l2, all);
        self.stats.subscribers.store(self.count as u64, Ordering::Relaxed);
    }

    /// Accepts or refuses a subscription; on acceptance queues `MdSubscribeAccepted` and the
    /// directory. Call after [`MdBooks::flush`].
    pub fn subscribe(&mut self, req: SubscribeRequest, books: &mut MdBooks) {
        let SubscribeRequest { session, stream: mut std_stream, heartbeat_interval_ms, heartbeat_timeout_ms, .. } = req;
        if self.count >= self.settings.max_subscribers {
            self.stats.rejects.fetch_add(1, Ordering::Relaxed);
            tracing::info!(session, "market data subscription refused: max_subscribers reached");
            let msg =
                MdServerMessage::SubscribeRejected(MdSubscribeRejected { reason: MdRejectReason::TooManySubscribers });
            let mut buf = [0u8; 64];
            if let Ok(n) = msg.encode(&mut buf) {
                let _ = std_stream.set_write_timeout(Some(Duration::from_millis(200)));
                let _ = std_stream.write_all(&buf[..n]);
            }
            let _ = std_stream.shutdown(Shutdown::Both);
            return;
        }
        if std_stream.set_nonblocking(true).is_err() {
            let _ = std_stream.shutdown(Shutdown::Both);
            return;
        }
        let idx = self.free.pop().unwrap_or_else(|| {
            self.subs.push(None);
            self.subs.len() - 1
        });
        let mut stream = TcpStream::from_std(std_stream);
        if self.registry.register(&mut stream, Token(MD_TOKEN_BASE + idx), Interest::WRITABLE).is_err() {
            self.free.push(idx);
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        let order_by_order = req.order_by_order && self.settings.order_by_order;
        let mut out = Vec::with_capacity(self.settings.outbound_buffer_bytes);
        let accepted = MdSubscribeAccepted {
            feed_epoch: self.feed_epoch,
            heartbeat_interval_ms,
            heartbeat_timeout_ms,
            snapshot_depth_max: self.settings.snapshot_depth_max,
            instruments: books.instrument_count() as u32,
            order_by_order,
        };
        push(&mut out, &MdServerMessage::SubscribeAccepted(accepted));
        books.directory(&mut out);
        self.subs[idx] = Some(Subscriber {
            id: session,
            stream,
            out,
            sent: 0,
            order_by_order,
            heartbeat: Duration::from_millis(heartbeat_interval_ms as u64),
            last_tx: Instant::now(),
            closing: None,
        });
        self.count += 1;
        tracing::info!(session, order_by_order, subscribers = self.count, "market data subscriber");
        self.update_outputs(books);
        self.write_out(idx, books);
    }

    /// Answers a snapshot request. Call after [`MdBooks::flush`].
    pub fn snapshot(&mut self, session: SessionId, req: MdSnapshotRequest, books: &mut MdBooks) {
        let Some(idx) = self.find(session) else { return };
        let Some(Some(s)) = self.subs.get_mut(idx) else { return };
        if s.closing.is_some() {
            return;
        }
        let room = self.settings.outbound_buffer_bytes.saturating_sub(s.out.len() - s.sent + LOGOUT_ROOM);
        let result = if req.orders && !s.order_by_order {
            Err(MdSnapshotRejectReason::OrdersNotSubscribed)
        } else {
            if s.sent > 0 {
                s.out.drain(..s.sent);
                s.sent = 0;
            }
            books.snapshot(&req, self.settings.snapshot_depth_max, self.feed_epoch, room, &mut s.out)
        };
        match result {
            Ok(()) => {
                self.stats.snapshots.fetch_add(1, Ordering::Relaxed);
            }
            Err(reason) => {
                let m = MdServerMessage::SnapshotRejected(MdSnapshotRejected { instrument: req.instrument, reason });
                if s.out.len() - s.sent + m.encoded_len() + LOGOUT_ROOM > self.settings.outbound_buffer_bytes {
                    return self.cut(idx, books);
                }
                push(&mut s.out, &m);
            }
        }
        self.write_out(idx, books);
    }

    /// Queues a session-level reject for a subscriber.
    pub fn session_reject(&mut self, session: SessionId, reject: SessionReject, books: &mut MdBooks) {
        let Some(idx) = self.find(session) else { return };
        let Some(Some(s)) = self.subs.get_mut(idx) else { return };
        let m = MdServerMessage::SessionReject(reject);
        if s.out.len() - s.sent + m.encoded_len() + LOGOUT_ROOM > self.settings.outbound_buffer_bytes {
            return self.cut(idx, books);
        }
        push(&mut s.out, &m);
        self.write_out(idx, books);
    }

    /// Copies the messages encoded since the last call to every subscriber and writes what the
    /// sockets take; cuts off subscribers whose buffer would overflow. Call after
    /// [`MdBooks::flush`].
    pub fn fan_out(&mut self, books: &mut MdBooks) {
        let (l2, all) = books.output();
        if l2.is_empty() && all.is_empty() {
            books.clear_output();
            return;
        }
        let mut slow = Vec::new();
        let cap = self.settings.outbound_buffer_bytes;
        let mut bytes = 0u64;
        for (idx, s) in self.subs.iter_mut().enumerate() {
            let Some(s) = s else { continue };
            if s.closing.is_some() {
                continue;
            }
            let data = if s.order_by_order { all } else { l2 };
            if data.is_empty() {
                continue;
            }
            bytes += data.len() as u64;
            if s.sent == s.out.len() {
                // Nothing queued: write straight from the batch, keep only the rest.
                s.out.clear();
                s.sent = 0;
                let mut done = 0;
                while done < data.len() {
                    match s.stream.write(&data[done..]) {
                        Ok(0) => break,
                        Ok(n) => {
                            done += n;
                            s.last_tx = Instant::now();
                        }
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                // Kept even when it overflows (a cut subscriber is then closed right after): the
                // socket may have taken part of a frame, and its Logout must follow whole frames.
                s.out.extend_from_slice(&data[done..]);
                if s.out.len() + LOGOUT_ROOM > cap {
                    slow.push(idx);
                }
            } else {
                if s.sent > 0 {
                    s.out.drain(..s.sent);
                    s.sent = 0;
                }
                if s.out.len() + data.len() + LOGOUT_ROOM > cap {
                    slow.push(idx);
                    continue;
                }
                s.out.extend_from_slice(data);
                write_some(s);
            }
        }
        let n = books.clear_output();
        self.stats.messages.fetch_add(n, Ordering::Relaxed);
        self.stats.bytes.fetch_add(bytes, Ordering::Relaxed);
        for idx in slow {
            self.cut(idx, books);
        }
    }

    /// A slow consumer: stop feeding it, queue `Logout(SlowConsumer)`, close after a grace.
    fn cut(&mut self, idx: usize, books: &mut MdBooks) {
        let Some(Some(s)) = self.subs.get_mut(idx) else { return };
        self.stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(session = s.id, "market data slow consumer: outbound buffer full, disconnecting");
        self.begin_close(idx, LogoutReason::SlowConsumer, books);
    }

    fn begin_close(&mut self, idx: usize, reason: LogoutReason, books: &mut MdBooks) {
        let Some(Some(s)) = self.subs.get_mut(idx) else { return };
        if s.closing.is_none() {
            s.closing = Some((reason, Instant::now() + CLOSE_GRACE));
            // Always room: LOGOUT_ROOM is kept free for it.
            if s.sent > 0 {
                s.out.drain(..s.sent);
                s.sent = 0;
            }
            push(&mut s.out, &MdServerMessage::Logout(Logout { reason }));
        }
        self.update_outputs(books);
        self.write_out(idx, books);
    }

    /// The server ends `session`'s subscription with `Logout(reason)`.
    pub fn logout(&mut self, session: SessionId, reason: LogoutReason, books: &mut MdBooks) {
        if let Some(idx) = self.find(session) {
            self.begin_close(idx, reason, books);
        }
    }

    /// The connection is gone: forget it.
    pub fn closed(&mut self, session: SessionId, books: &mut MdBooks) {
        if let Some(idx) = self.find(session) {
            self.drop_sub(idx, books);
        }
    }

    /// Writes queued bytes (on a writable event, or after queueing).
    pub fn pump(&mut self, token: Token, books: &mut MdBooks) {
        let Some(idx) = token.0.checked_sub(MD_TOKEN_BASE) else { return };
        self.write_out(idx, books);
    }

    fn write_out(&mut self, idx: usize, books: &mut MdBooks) {
        let Some(Some(s)) = self.subs.get_mut(idx) else { return };
        if !write_some(s) {
            self.drop_sub(idx, books);
            return;
        }
        if s.closing.is_some() && s.sent == s.out.len() {
            self.drop_sub(idx, books);
        }
    }

    fn drop_sub(&mut self, idx: usize, books: &mut MdBooks) {
        if let Some(mut s) = self.subs.get_mut(idx).and_then(Option::take) {
            let _ = self.registry.deregister(&mut s.stream);
            let _ = s.stream.shutdown(Shutdown::Both);
            tracing::info!(session = s.id, reason = ?s.closing.map(|c| c.0), "market data subscription ended");
            self.free.push(idx);
            self.count -= 1;
        }
        self.update_outputs(books);
    }

    /// Heartbeats and closing deadlines.
    pub fn timers(&mut self, now: Instant, books: &mut MdBooks) {
        for idx in 0..self.subs.len() {
            let Some(Some(s)) = self.subs.get_mut(idx) else { continue };
            if let Some((_, deadline)) = s.closing {
                if now >= deadline {
                    self.drop_sub(idx, books);
                }
                continue;
            }
            if now.duration_since(s.last_tx) >= s.heartbeat && s.out.len() == s.sent {
                push(&mut s.out, &MdServerMessage::Heartbeat);
                self.write_out(idx, books);
            }
        }
    }

    /// Server shutdown: `Logout(ServerShutdown)` to everyone, a last write, close.
    pub fn shutdown(&mut self, books: &mut MdBooks) {
        for idx in 0..self.subs.len() {
            if self.subs[idx].is_some() {
                self.begin_close(idx, LogoutReason::ServerShutdown, books);
                if let Some(Some(s)) = self.subs.get_mut(idx) {
                    let _ = s.stream.write(&s.out[s.sent..]);
                }
                self.drop_sub(idx, books);
            }
        }
    }
}

/// Writes the unsent part of a subscriber's buffer; false if the connection failed.
fn write_some(s: &mut Subscriber) -> bool {
    while s.sent < s.out.len() {
        match s.stream.write(&s.out[s.sent..]) {
            Ok(0) => return false,
            Ok(n) => {
                s.sent += n;
                s.last_tx = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    if s.sent == s.out.len() {
        s.out.clear();
        s.sent = 0;
    }
    true
}
