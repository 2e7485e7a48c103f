//! A blocking market-data client (`docs/protocol.md`, "Market data") and the documented client
//! algorithm that rebuilds books from the feed.
//!
//! - [`MdClient`]: the connection: `MdSubscribe`, `MdSnapshotRequest`, reading frames, heartbeats.
//! - [`BookBuilder`]: one instrument's book, rebuilt exactly from a snapshot and the deltas after
//!   it; [`BookBuilder::apply`] returns a [`Gap`] when a sequence number is missing (or the book
//!   disagrees with the server's top of book or a verification snapshot): then resync.
//! - [`FeedBooks`]: a [`BookBuilder`] per instrument, created from the directory and from new
//!   instruments; [`MdFeed`] runs the whole algorithm over an [`MdClient`].
//!
//! The algorithm, per instrument:
//! 1. Subscribe; learn the instruments from the `MdInstrument` directory.
//! 2. Buffer the instrument's deltas and send `MdSnapshotRequest`.
//! 3. On `MdSnapshotEnd` (after its `MdSnapshotLevel`s): the book is the snapshot, at its `seq`.
//!    Drop buffered deltas with `seq <= snapshot.seq`; the first one kept must be `seq + 1`.
//!    Apply the buffered rest, then every new delta.
//! 4. Every delta must carry the book's `seq + 1`; anything else is a gap: drop the book and go to
//!    2. (Likewise for `order_seq` with order-by-order.) After a reconnect (a new `feed_epoch`),
//!    every book goes back to 2.
//!
//! A new instrument (`MdInstrument` with kind `Added`, `seq` 1) starts with an empty book: no
//! snapshot is needed.
//!
//! ```no_run
//! use std::time::Duration;
//! use client::md_client::MdFeed;
//! use protocol::MdSubscribe;
//!
//! let mut feed = MdFeed::connect("127.0.0.1:7001", Duration::from_secs(5), MdSubscribe::default())?;
//! loop {
//!     feed.step(Duration::from_millis(100))?;
//!     if let Some(b) = feed.books.book(1).filter(|_| feed.books.is_synced(1)) {
//!         println!("best bid {:?} best ask {:?}", b.best(engine::Side::Buy), b.best(engine::Side::Sell));
//!     }
//! }
//! # Ok::<(), client::ClientError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{InstrumentId, InstrumentSpec, InstrumentState, OrderId, Price, Qty, Side};
use protocol::market_data::MD_MAX_MESSAGE_LEN;
use protocol::{
    ClientMessage, Logout, LogoutReason, MdInstrumentKind, MdServerMessage, MdSnapshotEnd, MdSnapshotRequest,
    MdSubscribe, MdSubscribeAccepted, MdTopOfBook,
};

use crate::connect::connect_stream;
use crate::error::ClientError;
use crate::frame_reader::{is_disconnect, is_timeout, Fill, FrameReader};
use crate::transport::{tls_handshake, Transport};

const READ_CHUNK: usize = 64 * 1024;

/// A blocking market-data connection.
#[derive(Debug)]
pub struct MdClient {
    stream: Transport,
    io_timeout: Duration,
    reader: FrameReader,
    accepted: Option<MdSubscribeAccepted>,
    heartbeat_interval: Option<Duration>,
    heartbeat_timeout: Option<Duration>,
    last_sent: Instant,
    last_received: Instant,
    closed: bool,
}

impl MdClient {
    /// Connects to `addr` (`server.listen` or `market_data.listen`); `timeout` bounds the connect,
    /// every write and the wait for the subscription answer.
    pub fn connect(addr: impl ToSocketAddrs, timeout: Duration) -> Result<MdClient, ClientError> {
        let timeout = timeout.max(Duration::from_millis(1));
        MdClient::from_stream(connect_stream(addr, timeout)?, timeout)
    }

    /// Connects to a TLS listener (`market_data.tls_listen`, or `server.tls_listen`) and completes
    /// the handshake, as [`crate::Client::connect_tls`] does; then as [`MdClient::connect`].
    pub fn connect_tls(
        addr: impl ToSocketAddrs,
        server_name: &str,
        tls: Arc<rustls::ClientConfig>,
        timeout: Duration,
    ) -> Result<MdClient, ClientError> {
        let timeout = timeout.max(Duration::from_millis(1));
        let tcp = connect_stream(addr, timeout)?;
        MdClient::from_transport(tls_handshake(tcp, server_name, tls, timeout)?, timeout)
    }

    /// Wraps a connected stream.
    pub fn from_stream(stream: TcpStream, timeout: Duration) -> Result<MdClient, ClientError> {
        MdClient::from_transport(Transport::Tcp(stream), timeout)
    }

    fn from_transport(stream: Transport, timeout: Duration) -> Result<MdClient, ClientError> {
        stream.tcp().set_nodelay(true)?;
        stream.tcp().set_write_timeout(Some(timeout))?;
        let now = Instant::now();
        Ok(MdClient {
            stream,
            io_timeout: timeout,
            reader: FrameReader::new(READ_CHUNK, MD_MAX_MESSAGE_LEN.max(protocol::DEFAULT_MAX_MESSAGE_LEN)),
            accepted: None,
            heartbeat_interval: None,
            heartbeat_timeout: None,
            last_sent: now,
            last_received: now,
            closed: false,
        })
    }

    /// The subscription answer, once subscribed.
    pub fn accepted(&self) -> Option<&MdSubscribeAccepted> {
        self.accepted.as_ref()
    }

    /// Subscribes and waits for `MdSubscribeAccepted` (the directory follows; read it with
    /// [`MdClient::recv`]).
    pub fn subscribe(&mut self, sub: MdSubscribe) -> Result<MdSubscribeAccepted, ClientError> {
        self.send(&ClientMessage::MdSubscribe(sub))?;
        let deadline = Instant::now() + self.io_timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ClientError::Timeout);
            }
            match self.recv(left)? {
                Some(MdServerMessage::SubscribeAccepted(a)) => {
                    self.accepted = Some(a);
                    let hb = if a.heartbeat_interval_ms == 0 { 1000 } else { a.heartbeat_interval_ms };
                    self.heartbeat_interval = Some(Duration::from_millis(hb.into()));
                    self.heartbeat_timeout =
                        (a.heartbeat_timeout_ms > 0).then(|| Duration::from_millis(a.heartbeat_timeout_ms.into()));
                    return Ok(a);
                }
                Some(MdServerMessage::SubscribeRejected(r)) => {
                    self.close();
                    return Err(ClientError::SubscribeRejected { reason: r.reason });
                }
                Some(MdServerMessage::Heartbeat) | None => {}
                Some(other) => {
                    self.close();
                    return Err(ClientError::Unexpected(format!("before the subscription answer: {other:?}")));
                }
            }
        }
    }

    /// Asks for a snapshot of `instrument` (`depth` levels per side, 0 = the server's maximum;
    /// `orders` also the resting orders, order-by-order subscriptions only).
    pub fn request_snapshot(&mut self, instrument: InstrumentId, depth: u32, orders: bool) -> Result<(), ClientError> {
        self.send(&ClientMessage::MdSnapshotRequest(MdSnapshotRequest { instrument, depth, orders }))
    }

    /// Sends one message.
    pub fn send(&mut self, msg: &ClientMessage) -> Result<(), ClientError> {
        if self.closed {
            return Err(ClientError::Closed);
        }
        let mut buf = [0u8; 256];
        let n = msg.encode(&mut buf).map_err(|e| ClientError::Unexpected(format!("encoding: {e}")))?;
        match self.stream.send_all(&buf[..n]) {
            Ok(()) => {
                self.last_sent = Instant::now();
                Ok(())
            }
            Err(e) if is_timeout(&e) => Err(ClientError::Timeout),
            Err(e) if is_disconnect(&e) => Err(ClientError::Closed),
            Err(e) => Err(ClientError::Io(e)),
        }
    }

    /// Sends `Logout(UserRequest)`.
    pub fn logout(&mut self) -> Result<(), ClientError> {
        self.send(&ClientMessage::Logout(Logout { reason: LogoutReason::UserRequest }))
    }

    /// Closes the connection.
    pub fn close(&mut self) {
        if !self.closed {
            self.stream.close();
            self.closed = true;
        }
    }

    /// Waits up to `timeout` for the next message; `Ok(None)` if none came. Sends a `Heartbeat`
    /// whenever nothing was sent for the heartbeat interval; gives up with
    /// [`ClientError::Timeout`] when the server was silent for the heartbeat timeout. The server's
    /// `Logout` is returned as a message; the connection then closes ([`ClientError::Closed`]).
    pub fn recv(&mut self, timeout: Duration) -> Result<Option<MdServerMessage>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.decode_buffered()? {
                return Ok(Some(m));
            }
            if self.closed {
                return Err(ClientError::Closed);
            }
            let now = Instant::now();
            let mut wait = deadline.saturating_duration_since(now);
            if let Some(interval) = self.heartbeat_interval {
                let due = self.last_sent + interval;
                if now >= due {
                    let _ = self.send(&ClientMessage::Heartbeat);
                    wait = wait.min(interval);
                } else {
                    wait = wait.min(due - now);
                }
            }
            if self.fill(wait.max(Duration::from_millis(1)))? > 0 {
                continue;
            }
            if let Some(silence) = self.heartbeat_timeout {
                if self.last_received.elapsed() >= silence {
                    self.close();
                    return Err(ClientError::Timeout);
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    fn decode_buffered(&mut self) -> Result<Option<MdServerMessage>, ClientError> {
        match self.reader.next(MdServerMessage::decode_frame) {
            Ok(decoded) => Ok(decoded.transpose()?),
            Err(e) => {
                self.close();
                Err(ClientError::Framing(e))
            }
        }
    }

    fn fill(&mut self, wait: Duration) -> Result<usize, ClientError> {
        match self.reader.fill(&mut self.stream, wait)? {
            Fill::Data(n) => {
                self.last_received = Instant::now();
                Ok(n)
            }
            Fill::Timeout => Ok(0),
            Fill::Closed => {
                self.closed = true;
                Ok(0)
            }
        }
    }
}

/// Which of an instrument's two streams a sequence number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Market by price: instrument, state, trades, levels, top of book, and perpetuals' marks,
    /// funding and open interest (`seq`).
    Price,
    /// Order by order (`order_seq`).
    Order,
}

/// The book cannot be trusted any more: resync it by snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Gap {
    /// A message's sequence number is not the book's + 1.
    #[error("instrument {instrument}: {stream:?} sequence gap, expected {expected}, got {got}")]
    Sequence {
        /// Instrument.
        instrument: InstrumentId,
        /// Which stream.
        stream: Stream,
        /// The book's sequence number + 1.
        expected: u64,
        /// The message's.
        got: u64,
    },
    /// The book disagrees with the server's top of book or with a snapshot at the same sequence.
    #[error("instrument {instrument}: book disagrees with the server at seq {seq}")]
    Inconsistent {
        /// Instrument.
        instrument: InstrumentId,
        /// Sequence number of the message that disagreed.
        seq: u64,
    },
}

/// What [`BookBuilder::apply`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Not about this book's state (or already reflected: dropped).
    Ignored,
    /// Kept until the snapshot arrives.
    Buffered,
    /// Applied to the live book.
    Delta,
    /// A snapshot completed: the book is live now.
    Synced,
    /// A snapshot arrived for a live book and matched it exactly.
    Verified,
}

/// A resting order in an order-by-order book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookOrder {
    /// Side.
    pub side: Side,
    /// Price.
    pub price: Price,
    /// Open quantity.
    pub qty: Qty,
}

/// One instrument's book as rebuilt from the feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    /// Bid levels: price → (qty, order count).
    pub bids: BTreeMap<Price, (Qty, u32)>,
    /// Ask levels.
    pub asks: BTreeMap<Price, (Qty, u32)>,
    /// Sequence number of the last message applied (market by price).
    pub seq: u64,
    /// Sequence number of the last order-by-order message applied.
    pub order_seq: u64,
    /// Trading state, when known.
    pub state: Option<InstrumentState>,
    /// The snapshot had more levels than it sent: only the levels down to its depth are known.
    pub truncated: bool,
    /// Order by order: resting orders by id (empty without).
    pub orders: HashMap<OrderId, BookOrder>,
    /// Order by order: each level's orders in time priority.
    pub queues: BTreeMap<(Side, Price), VecDeque<OrderId>>,
    /// The last trade's (price, qty).
    pub last_trade: Option<(Price, Qty)>,
    /// Perpetuals: the last mark price (from the snapshot, then `MdMarkPrice` and `MdFunding`).
    pub mark_price: Option<Price>,
    /// Perpetuals: the last funding settled, as (rate ppm, open interest then, the next funding
    /// time it announced in ns since the Unix epoch: 0 when none was given).
    pub last_funding: Option<(i32, Qty, u64)>,
    /// Perpetuals: the open interest (the sum of the long positions' sizes) as last published, by
    /// the snapshot, `MdOpenInterest` or `MdFunding`; `None` until one of them arrives.
    pub open_interest: Option<Qty>,
    /// Perpetuals: the last announced funding, as (rate ppm, next funding time ns since the Unix
    /// epoch): from the snapshot or an `MdFunding` that gave a next funding time; `None` before
    /// one (a snapshot from a server before the field never says).
    pub funding: Option<(i32, u64)>,
}

impl Book {
    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<Price, (Qty, u32)> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// One side's levels, best first: (price, qty, order count).
    pub fn levels(&self, side: Side) -> Vec<(Price, Qty, u32)> {
        match side {
            Side::Buy => self.bids.iter().rev().map(|(p, (q, c))| (*p, *q, *c)).collect(),
            Side::Sell => self.asks.iter().map(|(p, (q, c))| (*p, *q, *c)).collect(),
        }
    }

    /// The best level of a side: (price, qty).
    pub fn best(&self, side: Side) -> Option<(Price, Qty)> {
        match side {
            Side::Buy => self.bids.last_key_value().map(|(p, (q, _))| (*p, *q)),
            Side::Sell => self.asks.first_key_value().map(|(p, (q, _))| (*p, *q)),
        }
    }

    /// Order by order: one side's orders in priority order (best price, then time): (order id,
    /// price, open qty).
    pub fn orders_in_priority(&self, side: Side) -> Vec<(OrderId, Price, Qty)> {
        let levels: Vec<(&(Side, Price), &VecDeque<OrderId>)> = match side {
            Side::Buy => self.queues.range((Side::Buy, 0)..=(Side::Buy, Price::MAX)).rev().collect(),
            Side::Sell => self.queues.range((Side::Sell, 0)..=(Side::Sell, Price::MAX)).collect(),
        };
        levels
            .into_iter()
            .flat_map(|((_, p), q)| q.iter().map(move |id| (*id, *p)))
            .map(|(id, p)| (id, p, self.orders.get(&id).map_or(0, |o| o.qty)))
            .collect()
    }

    /// A perpetual's state from a snapshot's end: a perpetual's mark is never 0, so a 0 mark is
    /// spot or a server before the fields, which says nothing.
    fn take_perpetual_state(&mut self, end: &MdSnapshotEnd) {
        if end.mark_price == 0 {
            return;
        }
        self.mark_price = Some(end.mark_price);
        self.open_interest = Some(end.open_interest);
        if end.next_funding_time_ns != 0 {
            self.funding = Some((end.funding_rate_ppm, end.next_funding_time_ns));
        }
    }

    fn add_order(&mut self, id: OrderId, o: BookOrder) {
        self.orders.insert(id, o);
        self.queues.entry((o.side, o.price)).or_default().push_back(id);
    }

    fn remove_order(&mut self, id: OrderId) -> Option<BookOrder> {
        let o = self.orders.remove(&id)?;
        if let Some(q) = self.queues.get_mut(&(o.side, o.price)) {
            if let Some(pos) = q.iter().position(|x| *x == id) {
                q.remove(pos);
            }
            if q.is_empty() {
                self.queues.remove(&(o.side, o.price));
            }
        }
        Some(o)
    }
}

#[derive(Debug, Default)]
struct PendingSnapshot {
    levels: Vec<(Side, Price, Qty, u32)>,
    orders: Vec<(OrderId, BookOrder)>,
}

/// Rebuilds one instrument's book from a snapshot and the deltas after it. See the
/// [module docs](self) for the algorithm.
#[derive(Debug)]
pub struct BookBuilder {
    instrument: InstrumentId,
    with_orders: bool,
    live: bool,
    book: Book,
    buffer: Vec<MdServerMessage>,
    snapshot: PendingSnapshot,
    /// A snapshot was asked for and has not arrived.
    pub snapshot_requested: bool,
}

impl BookBuilder {
    /// A builder waiting for a snapshot (buffering deltas meanwhile). `with_orders`: keep the
    /// order-by-order book too (ask for snapshots with orders).
    pub fn new(instrument: InstrumentId, with_orders: bool) -> BookBuilder {
        BookBuilder {
            instrument,
            with_orders,
            live: false,
            book: Book::default(),
            buffer: Vec::new(),
            snapshot: PendingSnapshot::default(),
            snapshot_requested: false,
        }
    }

    /// A live builder for a new instrument (`MdInstrument` kind `Added`): an empty book at `seq`.
    pub fn new_instrument(instrument: InstrumentId, with_orders: bool, seq: u64, state: InstrumentState) -> Self {
        let mut b = BookBuilder::new(instrument, with_orders);
        b.live = true;
        b.book.seq = seq;
        b.book.state = Some(state);
        b
    }

    /// Instrument.
    pub fn instrument(&self) -> InstrumentId {
        self.instrument
    }

    /// Whether the book is live (synchronised by a snapshot and not broken since).
    pub fn is_synced(&self) -> bool {
        self.live
    }

    /// The book (meaningful when [`BookBuilder::is_synced`]).
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// Drops the book: back to buffering until the next snapshot (call after a [`Gap`], then ask
    /// for a snapshot).
    pub fn reset(&mut self) {
        self.live = false;
        self.book = Book::default();
        self.buffer.clear();
        self.snapshot = PendingSnapshot::default();
        self.snapshot_requested = false;
    }

    /// Applies one message about this instrument. `Err(Gap)`: the book is broken; call
    /// [`BookBuilder::reset`] and ask for a snapshot.
    pub fn apply(&mut self, msg: &MdServerMessage) -> Result<Applied, Gap> {
        match msg {
            MdServerMessage::SnapshotLevel(l) => {
                self.snapshot.levels.push((l.side, l.price, l.qty, l.order_count));
                Ok(Applied::Buffered)
            }
            MdServerMessage::SnapshotOrder(o) => {
                let order = BookOrder { side: o.side, price: o.price, qty: o.qty };
                self.snapshot.orders.push((o.order_id, order));
                Ok(Applied::Buffered)
            }
            MdServerMessage::SnapshotEnd(end) => self.snapshot_end(end),
            MdServerMessage::SnapshotRejected(_) => {
                self.snapshot = PendingSnapshot::default();
                self.snapshot_requested = false;
                Ok(Applied::Ignored)
            }
            MdServerMessage::Instrument(i) if i.kind == MdInstrumentKind::Directory => {
                if self.book.state.is_none() {
                    self.book.state = Some(i.state);
                }
                Ok(Applied::Ignored)
            }
            m => {
                if !self.live {
                    if sequence_of(m).is_some() {
                        self.buffer.push(*m);
                        return Ok(Applied::Buffered);
                    }
                    return Ok(Applied::Ignored);
                }
                self.delta(m)
            }
        }
    }

    fn snapshot_end(&mut self, end: &MdSnapshotEnd) -> Result<Applied, Gap> {
        let snap = std::mem::take(&mut self.snapshot);
        let mut book = Book { seq: end.seq, order_seq: end.order_seq, state: Some(end.state), ..Book::default() };
        book.truncated = end.truncated;
        for (side, price, qty, count) in snap.levels {
            book.side_mut(side).insert(price, (qty, count));
        }
        for (id, o) in snap.orders {
            book.add_order(id, o);
        }
        if self.live {
            // A fresh snapshot of a live book, in the stream at its exact point: must match.
            let same = book.seq == self.book.seq
                && book.bids == self.book.bids
                && book.asks == self.book.asks
                && (!end.orders_included
                    || (book.order_seq == self.book.order_seq
                        && book.orders == self.book.orders
                        && book.queues == self.book.queues));
            if !same {
                return Err(Gap::Inconsistent { instrument: self.instrument, seq: end.seq });
            }
            // At the book's own seq: its perpetual state is the server's (a live-added perpetual
            // learns its mark here before any `MdMarkPrice`).
            self.book.take_perpetual_state(end);
            self.snapshot_requested = false;
            return Ok(Applied::Verified);
        }
        if self.with_orders && !end.orders_included {
            // Not the snapshot this builder needs (e.g. one someone else asked for): keep waiting.
            return Ok(Applied::Ignored);
        }
        // A snapshot carries levels, orders and a perpetual's state: what the feed said besides
        // survives it, and so does the perpetual state when the snapshot has none (spot, or a
        // 48-byte block from a server before the fields).
        let (last_trade, mark_price, last_funding, open_interest, funding) = (
            self.book.last_trade,
            self.book.mark_price,
            self.book.last_funding,
            self.book.open_interest,
            self.book.funding,
        );
        self.book = Book { last_trade, mark_price, last_funding, open_interest, funding, ..book };
        self.book.take_perpetual_state(end);
        self.live = true;
        self.snapshot_requested = false;
        let buffered = std::mem::take(&mut self.buffer);
        for m in &buffered {
            self.delta(m)?;
        }
        Ok(Applied::Synced)
    }

    /// Applies a delta to the live book (dropping it if the book already reflects it).
    fn delta(&mut self, m: &MdServerMessage) -> Result<Applied, Gap> {
        let Some((stream, seq)) = sequence_of(m) else { return Ok(Applied::Ignored) };
        let have = match stream {
            Stream::Price => self.book.seq,
            Stream::Order => {
                if !self.with_orders {
                    return Ok(Applied::Ignored);
                }
                self.book.order_seq
            }
        };
        if seq <= have {
            return Ok(Applied::Ignored);
        }
        if seq != have + 1 {
            return Err(Gap::Sequence { instrument: self.instrument, stream, expected: have + 1, got: seq });
        }
        let b = &mut self.book;
        match m {
            MdServerMessage::Level(l) => {
                let side = b.side_mut(l.side);
                if l.qty == 0 {
                    side.remove(&l.price);
                } else {
                    side.insert(l.price, (l.qty, l.order_count));
                }
            }
            MdServerMessage::TopOfBook(t) if !b.truncated && !top_matches(b, t) => {
                return Err(Gap::Inconsistent { instrument: self.instrument, seq: t.seq });
            }
            MdServerMessage::Trade(t) => b.last_trade = Some((t.price, t.qty)),
            MdServerMessage::MarkPrice(m) => b.mark_price = Some(m.mark_price),
            MdServerMessage::Funding(f) => {
                b.mark_price = Some(f.mark_price);
                b.last_funding = Some((f.rate_ppm, f.open_interest, f.next_funding_time_ns));
                b.open_interest = Some(f.open_interest);
                // Only one that announced a next time is the funding a snapshot would carry.
                if f.next_funding_time_ns != 0 {
                    b.funding = Some((f.rate_ppm, f.next_funding_time_ns));
                }
            }
            MdServerMessage::OpenInterest(o) => b.open_interest = Some(o.open_interest),
            MdServerMessage::InstrumentState(s) => b.state = Some(s.state),
            MdServerMessage::Instrument(i) => b.state = Some(i.state),
            MdServerMessage::OrderAdded(o) => {
                b.add_order(o.order_id, BookOrder { side: o.side, price: o.price, qty: o.qty });
            }
            MdServerMessage::OrderExecuted(e) => {
                if e.leaves == 0 {
                    b.remove_order(e.order_id);
                } else if let Some(o) = b.orders.get_mut(&e.order_id) {
                    o.qty = e.leaves;
                }
            }
            MdServerMessage::OrderDeleted(d) => {
                b.remove_order(d.order_id);
            }
            MdServerMessage::OrderModified(m) => {
                if m.kept_priority {
                    if let Some(o) = b.orders.get_mut(&m.order_id) {
                        o.qty = m.qty;
                    }
                } else if b.remove_order(m.order_id).is_some() {
                    b.add_order(m.order_id, BookOrder { side: m.side, price: m.price, qty: m.qty });
                }
            }
            _ => {}
        }
        match stream {
            Stream::Price => b.seq = seq,
            Stream::Order => b.order_seq = seq,
        }
        Ok(Applied::Delta)
    }
}

fn top_matches(b: &Book, t: &MdTopOfBook) -> bool {
    let (bp, bq) = b.best(Side::Buy).unwrap_or((0, 0));
    let (ap, aq) = b.best(Side::Sell).unwrap_or((0, 0));
    (bp, bq, ap, aq) == (t.bid_price, t.bid_qty, t.ask_price, t.ask_qty)
}

/// The stream and sequence number of a delta (`None` for everything else: snapshots, directory
/// entries, session messages).
pub fn sequence_of(m: &MdServerMessage) -> Option<(Stream, u64)> {
    Some(match m {
        MdServerMessage::Instrument(i) if i.kind == MdInstrumentKind::Added => (Stream::Price, i.seq),
        MdServerMessage::InstrumentState(s) => (Stream::Price, s.seq),
        MdServerMessage::Trade(t) => (Stream::Price, t.seq),
        MdServerMessage::MarkPrice(m) => (Stream::Price, m.seq),
        MdServerMessage::Funding(f) => (Stream::Price, f.seq),
        MdServerMessage::OpenInterest(o) => (Stream::Price, o.seq),
        MdServerMessage::Level(l) => (Stream::Price, l.seq),
        MdServerMessage::TopOfBook(t) => (Stream::Price, t.seq),
        MdServerMessage::OrderAdded(o) => (Stream::Order, o.order_seq),
        MdServerMessage::OrderExecuted(o) => (Stream::Order, o.order_seq),
        MdServerMessage::OrderDeleted(o) => (Stream::Order, o.order_seq),
        MdServerMessage::OrderModified(o) => (Stream::Order, o.order_seq),
        _ => return None,
    })
}

/// Every instrument's [`BookBuilder`], fed with every message of a subscription.
#[derive(Debug, Default)]
pub struct FeedBooks {
    with_orders: bool,
    builders: BTreeMap<InstrumentId, BookBuilder>,
    specs: BTreeMap<InstrumentId, InstrumentSpec>,
    perpetuals: BTreeSet<InstrumentId>,
    /// Gaps (and inconsistencies) detected so far.
    pub gaps: u64,
    /// Snapshots applied (initial syncs and resyncs).
    pub syncs: u64,
    /// Live books confirmed by a snapshot.
    pub verified: u64,
}

impl FeedBooks {
    /// No instruments yet; `with_orders`: keep order-by-order books.
    pub fn new(with_orders: bool) -> Self {
        Self { with_orders, ..Self::default() }
    }

    /// Applies one message. A gap resets the instrument's builder (it then needs a snapshot, see
    /// [`FeedBooks::wanting_snapshot`]) and is returned.
    pub fn on_message(&mut self, msg: &MdServerMessage) -> Result<Applied, Gap> {
        if let MdServerMessage::Instrument(i) = msg {
            self.specs.insert(i.spec.id, i.spec);
            if i.perpetual {
                self.perpetuals.insert(i.spec.id);
            }
            if i.kind == MdInstrumentKind::Added && !self.builders.contains_key(&i.spec.id) {
                let b = BookBuilder::new_instrument(i.spec.id, self.with_orders, i.seq, i.state);
                self.builders.insert(i.spec.id, b);
                return Ok(Applied::Synced);
            }
            self.builders.entry(i.spec.id).or_insert_with(|| BookBuilder::new(i.spec.id, self.with_orders));
        }
        let Some(instrument) = msg.instrument() else { return Ok(Applied::Ignored) };
        let Some(b) = self.builders.get_mut(&instrument) else { return Ok(Applied::Ignored) };
        match b.apply(msg) {
            Ok(a) => {
                match a {
                    Applied::Synced => self.syncs += 1,
                    Applied::Verified => self.verified += 1,
                    _ => {}
                }
                Ok(a)
            }
            Err(g) => {
                self.gaps += 1;
                b.reset();
                Err(g)
            }
        }
    }

    /// Instruments whose book needs a snapshot that was not asked for yet; marks them asked.
    pub fn wanting_snapshot(&mut self) -> Vec<InstrumentId> {
        let mut out = Vec::new();
        for (id, b) in self.builders.iter_mut() {
            if !b.is_synced() && !b.snapshot_requested {
                b.snapshot_requested = true;
                out.push(*id);
            }
        }
        out
    }

    /// Forgets every book (after a reconnect: a new epoch).
    pub fn clear(&mut self) {
        self.builders.clear();
    }

    /// Whether an instrument's book is live.
    pub fn is_synced(&self, instrument: InstrumentId) -> bool {
        self.builders.get(&instrument).is_some_and(|b| b.is_synced())
    }

    /// Whether every known book is live.
    pub fn all_synced(&self) -> bool {
        self.builders.values().all(|b| b.is_synced())
    }

    /// An instrument's book.
    pub fn book(&self, instrument: InstrumentId) -> Option<&Book> {
        self.builders.get(&instrument).map(|b| b.book())
    }

    /// An instrument's builder.
    pub fn builder_mut(&mut self, instrument: InstrumentId) -> Option<&mut BookBuilder> {
        self.builders.get_mut(&instrument)
    }

    /// Known instruments.
    pub fn instruments(&self) -> Vec<InstrumentId> {
        self.builders.keys().copied().collect()
    }

    /// An instrument's definition.
    pub fn spec(&self, instrument: InstrumentId) -> Option<&InstrumentSpec> {
        self.specs.get(&instrument)
    }

    /// Whether an instrument is a perpetual (its `MdInstrument` said so).
    pub fn is_perpetual(&self, instrument: InstrumentId) -> bool {
        self.perpetuals.contains(&instrument)
    }
}

/// A message read by [`MdFeed::step`] and what applying it did.
pub type Stepped = (MdServerMessage, Result<Applied, Gap>);

/// The client algorithm over a connection: subscribe, sync every book by snapshot, apply deltas,
/// resync on a gap.
#[derive(Debug)]
pub struct MdFeed {
    /// The connection.
    pub client: MdClient,
    /// The books.
    pub books: FeedBooks,
    /// Levels per side to ask snapshots for (0 = the server's maximum).
    pub depth: u32,
}

impl MdFeed {
    /// Connects and subscribes (order-by-order books too if `sub.order_by_order`).
    pub fn connect(addr: impl ToSocketAddrs, timeout: Duration, sub: MdSubscribe) -> Result<MdFeed, ClientError> {
        let mut client = MdClient::connect(addr, timeout)?;
        let a = client.subscribe(sub)?;
        Ok(MdFeed { client, books: FeedBooks::new(a.order_by_order), depth: 0 })
    }

    /// Reads at most one message (waiting up to `timeout`), applies it, and asks for the
    /// snapshots books need. Returns the message and what it did (a gap is handled here: the
    /// book is reset and its snapshot requested).
    pub fn step(&mut self, timeout: Duration) -> Result<Option<Stepped>, ClientError> {
        self.step_filtered(timeout, |_| true)
    }

    /// [`MdFeed::step`], applying the message only if `keep` says so (tests use it to lose
    /// messages on purpose).
    pub fn step_filtered(
        &mut self,
        timeout: Duration,
        keep: impl FnOnce(&MdServerMessage) -> bool,
    ) -> Result<Option<Stepped>, ClientError> {
        let msg = self.client.recv(timeout)?;
        let out = match msg {
            Some(m) if keep(&m) => {
                let r = self.books.on_message(&m);
                Some((m, r))
            }
            Some(m) => Some((m, Ok(Applied::Ignored))),
            None => None,
        };
        self.request_snapshots()?;
        Ok(out)
    }

    /// Asks for the snapshots books are waiting for.
    pub fn request_snapshots(&mut self) -> Result<(), ClientError> {
        let orders = self.books.with_orders;
        for id in self.books.wanting_snapshot() {
            self.client.request_snapshot(id, self.depth, orders)?;
        }
        Ok(())
    }
}

fn side_name(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// One human-readable line for a market-data message (prices and quantities as the wire's
/// integers), e.g. `1 #42 LEVEL BUY 5000000 qty=20000 orders=2`.
pub fn describe(msg: &MdServerMessage) -> String {
    match msg {
        MdServerMessage::Heartbeat => "HEARTBEAT".into(),
        MdServerMessage::Logout(l) => format!("LOGOUT reason={:?}", l.reason),
        MdServerMessage::SessionReject(r) => {
            format!("SESSION REJECT template={} reason={:?}", r.ref_template_id, r.reason)
        }
        MdServerMessage::SubscribeAccepted(a) => format!(
            "SUBSCRIBED epoch={} instruments={} order_by_order={} heartbeat={}ms depth_max={}",
            a.feed_epoch, a.instruments, a.order_by_order, a.heartbeat_interval_ms, a.snapshot_depth_max
        ),
        MdServerMessage::SubscribeRejected(r) => format!("SUBSCRIBE REJECTED reason={:?}", r.reason),
        MdServerMessage::Instrument(i) => format!(
            "{} #{} INSTRUMENT {:?} {} state={:?} tick={} lot={} order_seq={}{}",
            i.spec.id,
            i.seq,
            i.kind,
            i.spec.symbol_str(),
            i.state,
            i.spec.tick,
            i.spec.lot,
            i.order_seq,
            if i.perpetual { " perpetual" } else { "" }
        ),
        MdServerMessage::InstrumentState(s) => format!("{} #{} STATE {:?}", s.instrument, s.seq, s.state),
        MdServerMessage::Trade(t) => format!(
            "{} #{} TRADE {} @ {} aggressor={} trade={}{}",
            t.instrument,
            t.seq,
            t.qty,
            t.price,
            side_name(t.aggressor),
            t.trade_id,
            if t.liquidation { " liquidation" } else { "" }
        ),
        MdServerMessage::MarkPrice(m) => format!("{} #{} MARK {}", m.instrument, m.seq, m.mark_price),
        MdServerMessage::Funding(f) => format!(
            "{} #{} FUNDING rate_ppm={} mark={} open_interest={} next_funding_time_ns={}",
            f.instrument, f.seq, f.rate_ppm, f.mark_price, f.open_interest, f.next_funding_time_ns
        ),
        MdServerMessage::OpenInterest(o) => format!("{} #{} OPEN INTEREST {}", o.instrument, o.seq, o.open_interest),
        MdServerMessage::Level(l) => {
            format!(
                "{} #{} LEVEL {} {} qty={} orders={}",
                l.instrument,
                l.seq,
                side_name(l.side),
                l.price,
                l.qty,
                l.order_count
            )
        }
        MdServerMessage::TopOfBook(t) => {
            format!("{} #{} TOP {} x {} | {} x {}", t.instrument, t.seq, t.bid_qty, t.bid_price, t.ask_price, t.ask_qty)
        }
        MdServerMessage::SnapshotLevel(l) => format!(
            "{} @{} SNAPSHOT LEVEL {} {} qty={} orders={}",
            l.instrument,
            l.seq,
            side_name(l.side),
            l.price,
            l.qty,
            l.order_count
        ),
        MdServerMessage::SnapshotOrder(o) => format!(
            "{} @{} SNAPSHOT ORDER {} order={} {} @ {}",
            o.instrument,
            o.seq,
            side_name(o.side),
            o.order_id,
            o.qty,
            o.price
        ),
        MdServerMessage::SnapshotEnd(e) if e.mark_price != 0 => format!(
            "{} @{} SNAPSHOT END order_seq={} bids={} asks={} orders={} truncated={} state={:?} mark={} \
             open_interest={} funding_rate_ppm={} next_funding_time_ns={}",
            e.instrument,
            e.seq,
            e.order_seq,
            e.bid_levels,
            e.ask_levels,
            e.orders,
            e.truncated,
            e.state,
            e.mark_price,
            e.open_interest,
            e.funding_rate_ppm,
            e.next_funding_time_ns
        ),
        MdServerMessage::SnapshotEnd(e) => format!(
            "{} @{} SNAPSHOT END order_seq={} bids={} asks={} orders={} truncated={} state={:?}",
            e.instrument, e.seq, e.order_seq, e.bid_levels, e.ask_levels, e.orders, e.truncated, e.state
        ),
        MdServerMessage::SnapshotRejected(r) => format!("{} SNAPSHOT REJECTED {:?}", r.instrument, r.reason),
        MdServerMessage::OrderAdded(o) => format!(
            "{} o#{} ADD order={} {} {} @ {}",
            o.instrument,
            o.order_seq,
            o.order_id,
            side_name(o.side),
            o.qty,
            o.price
        ),
        MdServerMessage::OrderExecuted(o) => format!(
            "{} o#{} EXECUTED order={} {} qty={} leaves={} trade={}",
            o.instrument,
            o.order_seq,
            o.order_id,
            side_name(o.side),
            o.qty,
            o.leaves,
            o.trade_id
        ),
        MdServerMessage::OrderDeleted(o) => format!(
            "{} o#{} DELETE order={} {} qty={} reason={:?}",
            o.instrument,
            o.order_seq,
            o.order_id,
            side_name(o.side),
            o.qty,
            o.reason
        ),
        MdServerMessage::OrderModified(o) => format!(
            "{} o#{} MODIFY order={} {} {} @ {} priority={}",
            o.instrument,
            o.order_seq,
            o.order_id,
            side_name(o.side),
            o.qty,
            o.price,
            if o.kept_priority { "kept" } else { "lost" }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{MdFunding, MdInstrument, MdLevel, MdMarkPrice, MdOpenInterest, MdSnapshotEnd, MdTrade};

    fn level(seq: u64, side: Side, price: Price, qty: Qty) -> MdServerMessage {
        MdServerMessage::Level(MdLevel { seq, instrument: 1, side, price, qty, order_count: 1 })
    }
    fn snap_level(seq: u64, side: Side, price: Price, qty: Qty) -> MdServerMessage {
        MdServerMessage::SnapshotLevel(MdLevel { seq, instrument: 1, side, price, qty, order_count: 1 })
    }
    fn end(seq: u64, bids: u32, asks: u32) -> MdServerMessage {
        MdServerMessage::SnapshotEnd(MdSnapshotEnd {
            seq,
            order_seq: 0,
            feed_epoch: 9,
            instrument: 1,
            state: InstrumentState::Trading,
            truncated: false,
            orders_included: false,
            bid_levels: bids,
            ask_levels: asks,
            orders: 0,
            mark_price: 0,
            open_interest: 0,
            funding_rate_ppm: 0,
            next_funding_time_ns: 0,
        })
    }
    fn top(seq: u64, bid: (Price, Qty), ask: (Price, Qty)) -> MdServerMessage {
        MdServerMessage::TopOfBook(MdTopOfBook {
            seq,
            instrument: 1,
            bid_price: bid.0,
            bid_qty: bid.1,
            ask_price: ask.0,
            ask_qty: ask.1,
        })
    }

    #[test]
    fn buffers_until_the_snapshot_then_drops_what_it_reflects() {
        let mut b = BookBuilder::new(1, false);
        // Deltas 5..=7 arrive before the snapshot taken at 6.
        assert_eq!(b.apply(&level(5, Side::Buy, 100, 1)), Ok(Applied::Buffered));
        assert_eq!(b.apply(&level(6, Side::Buy, 100, 2)), Ok(Applied::Buffered));
        assert_eq!(b.apply(&level(7, Side::Sell, 101, 3)), Ok(Applied::Buffered));
        assert_eq!(b.apply(&snap_level(6, Side::Buy, 100, 2)), Ok(Applied::Buffered));
        assert_eq!(b.apply(&snap_level(6, Side::Buy, 99, 4)), Ok(Applied::Buffered));
        assert_eq!(b.apply(&end(6, 2, 0)), Ok(Applied::Synced));
        assert!(b.is_synced());
        assert_eq!(b.book().seq, 7);
        assert_eq!(b.book().levels(Side::Buy), vec![(100, 2, 1), (99, 4, 1)]);
        assert_eq!(b.book().levels(Side::Sell), vec![(101, 3, 1)]);
        assert_eq!(b.apply(&top(8, (100, 2), (101, 3))), Ok(Applied::Delta));
        assert_eq!(b.apply(&level(9, Side::Buy, 100, 0)), Ok(Applied::Delta));
        assert_eq!(b.book().best(Side::Buy), Some((99, 4)));
        // Already reflected: dropped.
        assert_eq!(b.apply(&level(9, Side::Buy, 100, 7)), Ok(Applied::Ignored));
    }

    #[test]
    fn a_gap_is_reported_and_a_resync_recovers() {
        let mut f = FeedBooks::new(false);
        let spec = InstrumentSpec {
            id: 1,
            symbol: InstrumentSpec::symbol_from_str("A-B").unwrap(),
            base_asset: 1,
            quote_asset: 2,
            tick: 1,
            lot: 1,
            min_qty: 1,
            max_qty: 10,
            min_notional: 0,
            price_band_bps: 100,
            reference_price: 100,
            qty_scale: 1,
        };
        let dir = MdServerMessage::Instrument(MdInstrument {
            seq: 3,
            order_seq: 0,
            kind: MdInstrumentKind::Directory,
            state: InstrumentState::Trading,
            spec,
            perpetual: false,
        });
        assert_eq!(f.on_message(&dir), Ok(Applied::Ignored));
        assert_eq!(f.wanting_snapshot(), vec![1]);
        assert!(f.wanting_snapshot().is_empty());
        f.on_message(&snap_level(3, Side::Sell, 105, 1)).unwrap();
        assert_eq!(f.on_message(&end(3, 0, 1)), Ok(Applied::Synced));
        assert_eq!(f.on_message(&level(4, Side::Sell, 105, 2)), Ok(Applied::Delta));
        // 5 is lost.
        let trade = MdServerMessage::Trade(MdTrade {
            seq: 6,
            instrument: 1,
            trade_id: 1,
            price: 105,
            qty: 1,
            aggressor: Side::Buy,
            timestamp_ns: 0,
            liquidation: false,
        });
        assert_eq!(
            f.on_message(&trade),
            Err(Gap::Sequence { instrument: 1, stream: Stream::Price, expected: 5, got: 6 })
        );
        assert!(!f.is_synced(1));
        assert_eq!(f.wanting_snapshot(), vec![1]);
        f.on_message(&snap_level(6, Side::Sell, 105, 1)).unwrap();
        assert_eq!(f.on_message(&end(6, 0, 1)), Ok(Applied::Synced));
        assert_eq!(f.book(1).unwrap().levels(Side::Sell), vec![(105, 1, 1)]);
        // A wrong top of book is an inconsistency.
        assert!(matches!(f.on_message(&top(7, (0, 0), (105, 9))), Err(Gap::Inconsistent { .. })));
        assert_eq!(f.gaps, 2);
    }

    /// A perpetual's marks and funding are deltas of the market-by-price stream: they advance
    /// `seq` (a lost one is a gap) and are buffered like any delta while a resync waits.
    #[test]
    fn marks_and_funding_advance_the_price_stream() {
        let mut b = BookBuilder::new(1, false);
        assert_eq!(b.apply(&end(4, 0, 0)), Ok(Applied::Synced));
        let mark = |seq, mark_price| MdServerMessage::MarkPrice(MdMarkPrice { seq, instrument: 1, mark_price });
        assert_eq!(b.apply(&mark(5, 5_726_630)), Ok(Applied::Delta));
        let funding = MdServerMessage::Funding(MdFunding {
            seq: 6,
            instrument: 1,
            rate_ppm: 100,
            mark_price: 6_050_000,
            open_interest: 137,
            next_funding_time_ns: 1_767_254_400_000_000_000,
        });
        assert_eq!(b.apply(&funding), Ok(Applied::Delta));
        assert_eq!(
            (b.book().seq, b.book().mark_price, b.book().last_funding),
            (6, Some(6_050_000), Some((100, 137, 1_767_254_400_000_000_000)))
        );
        assert_eq!(
            describe(&funding),
            "1 #6 FUNDING rate_ppm=100 mark=6050000 open_interest=137 next_funding_time_ns=1767254400000000000"
        );
        assert_eq!(
            b.apply(&mark(8, 1)),
            Err(Gap::Sequence { instrument: 1, stream: Stream::Price, expected: 7, got: 8 })
        );
        b.reset();
        assert_eq!(b.apply(&mark(9, 6_000_000)), Ok(Applied::Buffered));
        assert_eq!(b.apply(&end(8, 0, 0)), Ok(Applied::Synced));
        assert_eq!((b.book().seq, b.book().mark_price), (9, Some(6_000_000)));
    }

    /// `MdOpenInterest` is a delta of the price stream (a lost one is a gap, a buffered one is
    /// applied after the snapshot); `MdFunding`'s open interest counts as the latest too.
    #[test]
    fn open_interest_advances_the_price_stream() {
        let oi =
            |seq, open_interest| MdServerMessage::OpenInterest(MdOpenInterest { seq, instrument: 1, open_interest });
        let mut b = BookBuilder::new(1, false);
        assert_eq!(b.apply(&oi(3, 50)), Ok(Applied::Buffered));
        assert_eq!(b.apply(&end(2, 0, 0)), Ok(Applied::Synced));
        assert_eq!((b.book().seq, b.book().open_interest), (3, Some(50)));
        assert_eq!(b.apply(&oi(3, 999)), Ok(Applied::Ignored));
        assert_eq!(b.apply(&oi(4, 737)), Ok(Applied::Delta));
        assert_eq!(b.book().open_interest, Some(737));
        let funding = MdServerMessage::Funding(MdFunding {
            seq: 5,
            instrument: 1,
            rate_ppm: -20,
            mark_price: 6_000_000,
            open_interest: 740,
            next_funding_time_ns: 0,
        });
        assert_eq!(b.apply(&funding), Ok(Applied::Delta));
        assert_eq!(b.book().open_interest, Some(740));
        assert_eq!(
            b.apply(&oi(7, 1)),
            Err(Gap::Sequence { instrument: 1, stream: Stream::Price, expected: 6, got: 7 })
        );
        b.reset();
        assert_eq!(b.apply(&oi(8, 745)), Ok(Applied::Buffered));
        assert_eq!(b.apply(&end(7, 0, 0)), Ok(Applied::Synced));
        assert_eq!((b.book().seq, b.book().open_interest), (8, Some(745)));
        assert_eq!(describe(&oi(8, 737)), "1 #8 OPEN INTEREST 737");
    }

    /// A perpetual's snapshot gives the book its mark, open interest and announced funding at
    /// once; deltas after it update them; a spot or older server's snapshot (mark 0) says nothing.
    #[test]
    fn a_snapshot_carries_the_perpetual_state() {
        const NEXT_NS: u64 = 1_767_254_400_000_000_000;
        let perp_end = |seq, mark_price, open_interest, rate, next| match end(seq, 0, 0) {
            MdServerMessage::SnapshotEnd(e) => MdServerMessage::SnapshotEnd(MdSnapshotEnd {
                mark_price,
                open_interest,
                funding_rate_ppm: rate,
                next_funding_time_ns: next,
                ..e
            }),
            _ => unreachable!(),
        };
        let mut b = BookBuilder::new(1, false);
        let oi = MdServerMessage::OpenInterest(MdOpenInterest { seq: 5, instrument: 1, open_interest: 740 });
        assert_eq!(b.apply(&oi), Ok(Applied::Buffered));
        assert_eq!(b.apply(&perp_end(4, 5_726_630, 737, 100, NEXT_NS)), Ok(Applied::Synced));
        let got = |b: &BookBuilder| (b.book().mark_price, b.book().open_interest, b.book().funding);
        assert_eq!(got(&b), (Some(5_726_630), Some(740), Some((100, NEXT_NS))), "the buffered delta after it");
        let funding = MdServerMessage::Funding(MdFunding {
            seq: 6,
            instrument: 1,
            rate_ppm: -30,
            mark_price: 5_730_000,
            open_interest: 740,
            next_funding_time_ns: NEXT_NS + 1,
        });
        assert_eq!(b.apply(&funding), Ok(Applied::Delta));
        assert_eq!(got(&b), (Some(5_730_000), Some(740), Some((-30, NEXT_NS + 1))));
        // A verification snapshot at the same seq, and a spot/older one that says nothing.
        assert_eq!(b.apply(&perp_end(6, 5_730_000, 740, -30, NEXT_NS + 1)), Ok(Applied::Verified));
        b.reset();
        assert_eq!(b.apply(&perp_end(9, 5_740_000, 10, 0, 0)), Ok(Applied::Synced));
        assert_eq!(got(&b), (Some(5_740_000), Some(10), None), "before any announced funding");
        assert_eq!(b.apply(&end(9, 0, 0)), Ok(Applied::Verified));
        assert_eq!(got(&b), (Some(5_740_000), Some(10), None));
        assert_eq!(
            describe(&perp_end(9, 5_740_000, 10, 100, NEXT_NS)),
            "1 @9 SNAPSHOT END order_seq=0 bids=0 asks=0 orders=0 truncated=false state=Trading mark=5740000 \
             open_interest=10 funding_rate_ppm=100 next_funding_time_ns=1767254400000000000"
        );
    }

    /// `MdInstrument`'s perpetual flag: [`FeedBooks::is_perpetual`] and the description say so.
    #[test]
    fn the_directory_says_which_instruments_are_perpetuals() {
        let spec = |id, symbol| InstrumentSpec {
            id,
            symbol: InstrumentSpec::symbol_from_str(symbol).unwrap(),
            base_asset: 2,
            quote_asset: 1,
            tick: 10,
            lot: 1,
            min_qty: 1,
            max_qty: 1_000,
            min_notional: 0,
            price_band_bps: 500,
            reference_price: 6_000_000,
            qty_scale: 1_000,
        };
        let instrument = |id, symbol, kind, perpetual| {
            MdServerMessage::Instrument(MdInstrument {
                seq: 1,
                order_seq: 0,
                kind,
                state: InstrumentState::Halted,
                spec: spec(id, symbol),
                perpetual,
            })
        };
        let mut f = FeedBooks::new(false);
        let spot = instrument(1, "BTC-USDT", MdInstrumentKind::Directory, false);
        let perp = instrument(3, "BTC-PERP", MdInstrumentKind::Directory, true);
        let added = instrument(4, "ETH-PERP", MdInstrumentKind::Added, true);
        for m in [&spot, &perp, &added] {
            f.on_message(m).unwrap();
        }
        assert_eq!([1, 3, 4, 5].map(|id| f.is_perpetual(id)), [false, true, true, false]);
        assert_eq!(
            describe(&perp),
            "3 #1 INSTRUMENT Directory BTC-PERP state=Halted tick=10 lot=1 order_seq=0 perpetual"
        );
        assert_eq!(describe(&spot), "1 #1 INSTRUMENT Directory BTC-USDT state=Halted tick=10 lot=1 order_seq=0");
    }
}
