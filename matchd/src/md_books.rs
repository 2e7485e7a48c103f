//! The publisher's mirror of every book for the public market-data feed: price levels from
//! `LevelChanged`, resting orders from `Accepted`/`Trade`/`Cancelled`/`Amended`, the
//! per-instrument sequence numbers, the per-batch coalescing of level deltas and the encoding of
//! feed messages (`docs/protocol.md`, "Market data").
//!
//! [`MdBooks`] is built by the startup replay and then owned by the publisher thread, which
//! answers snapshots from it without touching the matcher. Per event it only maintains the mirror:
//! a level change is recorded in a small per-batch map of touched `(instrument, side, price)` →
//! last aggregate, applied to the mirror (and, with subscribers, encoded as one `MdLevel` per
//! level, in first-touch order) when the publisher flushes, at the end of each batch. Messages are
//! encoded only while someone subscribes (`md_feed::Subscribers` says who).

use std::collections::BTreeMap;

use engine::{Event, EventKind, InstrumentId, InstrumentSpec, InstrumentState, OrderId, Price, Qty, Side, TradeId};
use protocol::market_data::MD_MAX_MESSAGE_LEN;
use protocol::{
    MdDeleteReason, MdFunding, MdInstrument, MdInstrumentKind, MdInstrumentState, MdLevel, MdMarkPrice, MdOpenInterest,
    MdOrderAdded, MdOrderDeleted, MdOrderExecuted, MdOrderModified, MdServerMessage, MdSnapshotEnd, MdSnapshotOrder,
    MdSnapshotRejectReason, MdSnapshotRequest, MdTopOfBook, MdTrade,
};
use rustc_hash::FxHashMap;

use crate::md_order_map::OrderMap;

/// Touched levels kept before the publisher must flush (bounds the per-batch map).
pub const COALESCE_MAX_LEVELS: usize = 4096;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Level {
    qty: Qty,
    count: u32,
}

#[derive(Debug, Clone, Copy)]
struct Resting {
    side: Side,
    price: Price,
    qty: Qty,
    /// Time priority within its level: lower is earlier.
    prio: u64,
    /// An iceberg: `qty` is its visible slice (its `IcebergSliced` events say what to show).
    iceberg: bool,
}

/// One instrument's mirror and sequence numbers.
struct Book {
    spec: InstrumentSpec,
    state: InstrumentState,
    /// Added with `AddPerpetual` (`MdInstrument` says so in the directory and when added).
    perpetual: bool,
    /// A perpetual's state as of now, for `MdSnapshotEnd` (all 0 for spot): a subscriber that
    /// asks for a snapshot learns them without waiting for the next change (a funding can be
    /// hours away). The mark starts at the reference price, as the engine's does.
    mark_price: Price,
    open_interest: Qty,
    /// The last announced funding (one that gave a next funding time): (rate ppm, next
    /// funding time ns), (0, 0) before one, as the engine keeps it.
    funding: (i32, u64),
    /// Market-by-price stream: messages sent so far in this epoch.
    seq: u64,
    /// Order-by-order stream.
    order_seq: u64,
    bids: BTreeMap<Price, Level>,
    asks: BTreeMap<Price, Level>,
    /// Last top of book (bid price, bid qty, ask price, ask qty).
    top: (Price, Qty, Price, Qty),
    orders: OrderMap<Resting>,
    next_prio: u64,
    /// In the current batch's list of touched books.
    touched: bool,
}

impl Book {
    fn new(spec: InstrumentSpec, perpetual: bool) -> Self {
        Self {
            spec,
            state: InstrumentState::Trading,
            perpetual,
            mark_price: if perpetual { spec.reference_price } else { 0 },
            open_interest: 0,
            funding: (0, 0),
            seq: 0,
            order_seq: 0,
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            top: (0, 0, 0, 0),
            orders: OrderMap::default(),
            next_prio: 0,
            touched: false,
        }
    }

    fn side(&mut self, side: Side) -> &mut BTreeMap<Price, Level> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    fn compute_top(&self) -> (Price, Qty, Price, Qty) {
        let (bp, bq) = self.bids.last_key_value().map_or((0, 0), |(p, l)| (*p, l.qty));
        let (ap, aq) = self.asks.first_key_value().map_or((0, 0), |(p, l)| (*p, l.qty));
        (bp, bq, ap, aq)
    }
}

/// A level change waiting for the flush.
#[derive(Debug, Clone, Copy)]
struct Pending {
    book: u32,
    side: Side,
    price: Price,
    level: Level,
}

/// The order of the command being applied that may still come to rest.
#[derive(Debug, Clone, Copy)]
struct Taker {
    command_seq: u64,
    order_id: OrderId,
    book: u32,
    side: Side,
    price: Price,
    leaves: Qty,
    /// An iceberg's first slice (`IcebergSliced` comes before the `LevelChanged` it rests with).
    slice: Option<Qty>,
}

/// Where encoded messages go while subscribers exist.
#[derive(Default)]
struct Out {
    /// Some subscriber takes market-by-price only.
    l2: bool,
    /// Some subscriber takes everything (order by order too).
    all: bool,
    buf_l2: Vec<u8>,
    buf_all: Vec<u8>,
    messages: u64,
}

impl Out {
    #[inline]
    fn wants(&self, order_by_order_msg: bool) -> bool {
        self.all || (self.l2 && !order_by_order_msg)
    }

    #[inline]
    fn emit(&mut self, msg: &MdServerMessage, order_by_order_msg: bool) {
        if !self.wants(order_by_order_msg) {
            return;
        }
        let mut b = [0u8; MD_MAX_MESSAGE_LEN];
        let Ok(n) = msg.encode(&mut b) else { return };
        let bytes = &b[..n];
        if self.all {
            self.buf_all.extend_from_slice(bytes);
        }
        if self.l2 && !order_by_order_msg {
            self.buf_l2.extend_from_slice(bytes);
        }
        self.messages += 1;
    }
}

/// Every instrument's mirror, sequence numbers and the feed encoder. See the [module docs](self).
pub struct MdBooks {
    index: FxHashMap<InstrumentId, u32>,
    books: Vec<Book>,
    touched: FxHashMap<(u32, Side, Price), u32>,
    pending: Vec<Pending>,
    touched_books: Vec<u32>,
    taker: Option<Taker>,
    out: Out,
    /// Keep the resting orders (order-by-order messages and snapshots).
    track_orders: bool,
    /// The last instrument looked up and its book (most events hit the same one).
    last: (InstrumentId, u32),
}

impl Default for MdBooks {
    fn default() -> Self {
        Self::new()
    }
}

impl MdBooks {
    /// Instruments mirrored.
    pub fn instrument_count(&self) -> usize {
        self.books.len()
    }

    /// No instruments yet.
    pub fn new() -> Self {
        Self {
            index: FxHashMap::default(),
            books: Vec::new(),
            touched: FxHashMap::default(),
            pending: Vec::with_capacity(COALESCE_MAX_LEVELS),
            touched_books: Vec::new(),
            taker: None,
            out: Out::default(),
            track_orders: true,
            last: (0, u32::MAX),
        }
    }

    /// Without the resting orders (`market_data.order_by_order = false`): no order-by-order
    /// messages, no order snapshots, less work per event.
    pub fn without_orders(mut self) -> Self {
        self.track_orders = false;
        for b in &mut self.books {
            b.orders = OrderMap::default();
        }
        self
    }

    /// The mirror of an engine's books as they are now (for a start from an engine snapshot
    /// instead of a full replay): the same state following the engine's events from the start
    /// would have built, sequence numbers at 0.
    pub fn from_engine(engine: &engine::Engine) -> Self {
        let mut md = MdBooks::new();
        for id in engine.instrument_ids() {
            let Some(view) = engine.instrument(id) else { continue };
            // Only a perpetual has a mark price.
            let mark = engine.mark_price(id);
            let mut b = Book::new(view.spec, mark.is_some());
            b.state = view.state;
            b.mark_price = mark.unwrap_or(0);
            b.open_interest = engine.open_interest(id).unwrap_or(0);
            b.funding = engine.funding(id).unwrap_or((0, 0));
            for side in [Side::Buy, Side::Sell] {
                for l in engine.levels(id, side) {
                    b.side(side).insert(l.price, Level { qty: l.qty, count: l.order_count });
                }
                for o in engine.book_orders(id, side) {
                    let prio = b.next_prio;
                    b.next_prio += 1;
                    // An iceberg shows its slice, as its events would have built it.
                    let (qty, iceberg) = match engine.iceberg(o.order_id) {
                        Some((_, visible)) => (visible, true),
                        None => (o.leaves, false),
                    };
                    b.orders.insert(o.order_id, Resting { side, price: o.price, qty, prio, iceberg });
                }
            }
            b.top = b.compute_top();
            md.index.insert(id, md.books.len() as u32);
            md.books.push(b);
        }
        md
    }

    /// Starts a new feed epoch: flushes, and numbers every stream from 0 again (after the
    /// startup replay).
    pub fn start_epoch(&mut self) {
        self.flush();
        for b in &mut self.books {
            b.seq = 0;
            b.order_seq = 0;
        }
    }

    /// Instrument ids, in the order they were added.
    pub fn instruments(&self) -> impl Iterator<Item = InstrumentId> + '_ {
        self.books.iter().map(|b| b.spec.id)
    }

    /// One side's levels of the mirror, best first: (price, qty, order count). Flushes first.
    pub fn levels(&mut self, instrument: InstrumentId, side: Side) -> Vec<(Price, Qty, u32)> {
        self.flush();
        let Some(&i) = self.index.get(&instrument) else { return Vec::new() };
        let b = &self.books[i as usize];
        match side {
            Side::Buy => b.bids.iter().rev().map(|(p, l)| (*p, l.qty, l.count)).collect(),
            Side::Sell => b.asks.iter().map(|(p, l)| (*p, l.qty, l.count)).collect(),
        }
    }

    /// Which messages to encode from now on: `l2` for market-by-price-only subscribers, `all`
    /// for order-by-order ones. Both false: nothing is encoded (the mirror is still kept).
    pub fn set_outputs(&mut self, l2: bool, all: bool) {
        self.out.l2 = l2;
        self.out.all = all;
    }

    /// Whether a flush has anything to do.
    #[inline]
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    #[inline]
    fn book_of(&mut self, instrument: InstrumentId) -> Option<u32> {
        if self.last.0 == instrument && self.last.1 != u32::MAX {
            return Some(self.last.1);
        }
        let bi = self.index.get(&instrument).copied()?;
        self.last = (instrument, bi);
        Some(bi)
    }

    /// An iceberg shows a new or changed slice: the first one of an order being placed is added
    /// when it rests (the `LevelChanged` that follows); an amended one is modified in place; the
    /// next slice of one whose slice traded out is added at the back of its level.
    fn on_iceberg_slice(&mut self, seq: u64, x: &engine::IcebergSliced) {
        if let Some(t) = self.taker.as_mut() {
            if t.command_seq == seq && t.order_id == x.order_id {
                t.slice = Some(x.visible_qty);
                return;
            }
        }
        let Some(bi) = self.book_of(x.instrument) else { return };
        let b = &mut self.books[bi as usize];
        b.order_seq += 1;
        if let Some(o) = b.orders.get_mut(x.order_id) {
            o.qty = x.visible_qty;
            if !x.kept_priority {
                o.prio = b.next_prio;
                b.next_prio += 1;
            }
            let m = MdOrderModified {
                order_seq: b.order_seq,
                instrument: x.instrument,
                side: o.side,
                order_id: x.order_id,
                price: o.price,
                qty: x.visible_qty,
                kept_priority: x.kept_priority,
            };
            self.out.emit(&MdServerMessage::OrderModified(m), true);
            return;
        }
        let prio = b.next_prio;
        b.next_prio += 1;
        b.orders.insert(x.order_id, Resting { side: x.side, price: x.price, qty: x.visible_qty, prio, iceberg: true });
        let m = MdOrderAdded {
            order_seq: b.order_seq,
            instrument: x.instrument,
            side: x.side,
            order_id: x.order_id,
            price: x.price,
            qty: x.visible_qty,
        };
        self.out.emit(&MdServerMessage::OrderAdded(m), true);
    }

    /// A resting reduce-only order cut down to its owner's position: it keeps its priority, like
    /// an amend down (an iceberg shows at most what is left).
    fn on_trimmed(&mut self, x: &engine::Trimmed) {
        let Some(bi) = self.book_of(x.instrument) else { return };
        let b = &mut self.books[bi as usize];
        let Some(o) = b.orders.get_mut(x.order_id) else { return };
        let shown = if o.iceberg { o.qty.min(x.leaves) } else { x.leaves };
        if shown == o.qty {
            return;
        }
        o.qty = shown;
        b.order_seq += 1;
        let m = MdOrderModified {
            order_seq: b.order_seq,
            instrument: x.instrument,
            side: o.side,
            order_id: x.order_id,
            price: o.price,
            qty: shown,
            kept_priority: true,
        };
        self.out.emit(&MdServerMessage::OrderModified(m), true);
    }

    /// Follows one engine event.
    #[inline]
    pub fn on_event(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::LevelChanged(l) => {
                let Some(bi) = self.book_of(l.instrument) else { return };
                let level = Level { qty: l.qty, count: l.order_count };
                match self.touched.get(&(bi, l.side, l.price)) {
                    Some(&p) => self.pending[p as usize].level = level,
                    None => {
                        self.touched.insert((bi, l.side, l.price), self.pending.len() as u32);
                        self.pending.push(Pending { book: bi, side: l.side, price: l.price, level });
                        let b = &mut self.books[bi as usize];
                        if !b.touched {
                            b.touched = true;
                            self.touched_books.push(bi);
                        }
                    }
                }
                // The order being applied rests: its own side, at its price.
                if let Some(t) = self.taker {
                    if t.command_seq == ev.seq && t.book == bi && t.side == l.side && t.price == l.price && t.leaves > 0
                    {
                        self.taker = None;
                        let b = &mut self.books[bi as usize];
                        let prio = b.next_prio;
                        b.next_prio += 1;
                        let (qty, iceberg) = match t.slice {
                            Some(visible) => (visible, true),
                            None => (t.leaves, false),
                        };
                        b.orders.insert(t.order_id, Resting { side: t.side, price: t.price, qty, prio, iceberg });
                        b.order_seq += 1;
                        let m = MdOrderAdded {
                            order_seq: b.order_seq,
                            instrument: l.instrument,
                            side: t.side,
                            order_id: t.order_id,
                            price: t.price,
                            qty,
                        };
                        self.out.emit(&MdServerMessage::OrderAdded(m), true);
                    }
                }
                if self.pending.len() >= COALESCE_MAX_LEVELS {
                    self.flush();
                }
            }
            EventKind::Trade(t) => {
                let Some(bi) = self.book_of(t.instrument) else { return };
                let b = &mut self.books[bi as usize];
                b.seq += 1;
                let m = MdTrade {
                    seq: b.seq,
                    instrument: t.instrument,
                    trade_id: t.trade_id,
                    price: t.price,
                    qty: t.qty,
                    aggressor: t.taker_side,
                    timestamp_ns: t.timestamp_ns,
                    // A liquidation order has no id (docs/futures.md, section 8).
                    liquidation: t.taker_order_id == 0,
                };
                self.out.emit(&MdServerMessage::Trade(m), false);
                if !self.track_orders {
                    return;
                }
                if let Some(o) = b.orders.get_mut(t.maker_order_id) {
                    // An iceberg trades from its visible slice (its hidden rest never shows): a
                    // slice that reaches 0 is executed out, and its next slice comes as a new
                    // order (`IcebergSliced`) at the back of the level.
                    o.qty = if o.iceberg { o.qty.saturating_sub(t.qty) } else { t.maker_leaves };
                    let (side, shown) = (o.side, o.qty);
                    if shown == 0 {
                        b.orders.remove(t.maker_order_id);
                    }
                    b.order_seq += 1;
                    let m = executed(b.order_seq, t.instrument, side, t.maker_order_id, t.trade_id, t.qty, shown);
                    self.out.emit(&MdServerMessage::OrderExecuted(m), true);
                }
                if let Some(tk) = self.taker.as_mut() {
                    if tk.order_id == t.taker_order_id {
                        tk.leaves = t.taker_leaves;
                    }
                }
            }
            EventKind::Accepted(a) if self.track_orders => {
                self.taker = self.book_of(a.instrument).map(|bi| Taker {
                    command_seq: ev.seq,
                    slice: None,
                    order_id: a.order_id,
                    book: bi,
                    side: a.side,
                    price: a.price,
                    leaves: a.qty,
                });
            }
            // A fired conditional order matches like a new one from here (armed orders are never
            // in market data; its `Accepted` was an `Armed`).
            EventKind::Triggered(t) if self.track_orders => {
                self.taker = self.book_of(t.instrument).map(|bi| Taker {
                    command_seq: ev.seq,
                    slice: None,
                    order_id: t.order_id,
                    book: bi,
                    side: t.side,
                    price: t.price,
                    leaves: t.qty,
                });
            }
            EventKind::Cancelled(c) if self.track_orders => {
                let Some(bi) = self.book_of(c.instrument) else { return };
                let b = &mut self.books[bi as usize];
                if let Some(o) = b.orders.remove(c.order_id) {
                    b.order_seq += 1;
                    let m = MdOrderDeleted {
                        order_seq: b.order_seq,
                        instrument: c.instrument,
                        side: o.side,
                        order_id: c.order_id,
                        qty: o.qty,
                        reason: MdDeleteReason::Cancelled,
                    };
                    self.out.emit(&MdServerMessage::OrderDeleted(m), true);
                } else if matches!(self.taker, Some(t) if t.order_id == c.order_id) {
                    self.taker = None;
                }
            }
            EventKind::Amended(a) if self.track_orders => {
                let Some(bi) = self.book_of(a.instrument) else { return };
                let b = &mut self.books[bi as usize];
                let Some(o) = b.orders.get_mut(a.order_id) else { return };
                if o.price != a.price {
                    // It leaves its level and matches as a taker at the new price.
                    let old = *o;
                    b.orders.remove(a.order_id);
                    b.order_seq += 1;
                    let m = MdOrderDeleted {
                        order_seq: b.order_seq,
                        instrument: a.instrument,
                        side: old.side,
                        order_id: a.order_id,
                        qty: old.qty,
                        reason: MdDeleteReason::PriceAmended,
                    };
                    self.out.emit(&MdServerMessage::OrderDeleted(m), true);
                    self.taker = Some(Taker {
                        command_seq: ev.seq,
                        slice: None,
                        order_id: a.order_id,
                        book: bi,
                        side: a.side,
                        price: a.price,
                        leaves: a.leaves,
                    });
                } else if o.iceberg {
                    // Its `IcebergSliced` follows with what it shows now.
                } else {
                    o.qty = a.leaves;
                    if !a.kept_priority {
                        o.prio = b.next_prio;
                        b.next_prio += 1;
                    }
                    b.order_seq += 1;
                    let m = MdOrderModified {
                        order_seq: b.order_seq,
                        instrument: a.instrument,
                        side: o.side,
                        order_id: a.order_id,
                        price: a.price,
                        qty: a.leaves,
                        kept_priority: a.kept_priority,
                    };
                    self.out.emit(&MdServerMessage::OrderModified(m), true);
                }
            }
            EventKind::IcebergSliced(x) if self.track_orders => self.on_iceberg_slice(ev.seq, x),
            EventKind::Trimmed(x) if self.track_orders => self.on_trimmed(x),
            EventKind::InstrumentAdded(a) => {
                if self.index.contains_key(&a.spec.id) {
                    return;
                }
                self.index.insert(a.spec.id, self.books.len() as u32);
                let mut b = Book::new(a.spec, a.perpetual);
                b.seq = 1;
                let m = MdInstrument {
                    seq: 1,
                    order_seq: 0,
                    kind: MdInstrumentKind::Added,
                    state: b.state,
                    spec: a.spec,
                    perpetual: a.perpetual,
                };
                self.books.push(b);
                self.out.emit(&MdServerMessage::Instrument(m), false);
            }
            EventKind::MarkPriceSet(m) => {
                let Some(bi) = self.book_of(m.instrument) else { return };
                let b = &mut self.books[bi as usize];
                b.seq += 1;
                b.mark_price = m.mark_price;
                let msg = MdMarkPrice { seq: b.seq, instrument: m.instrument, mark_price: m.mark_price };
                self.out.emit(&MdServerMessage::MarkPrice(msg), false);
            }
            EventKind::FundingApplied(f) => {
                let Some(bi) = self.book_of(f.instrument) else { return };
                let b = &mut self.books[bi as usize];
                b.seq += 1;
                // Only a funding that announced a next time is kept, as the engine keeps it (one
                // replayed from a journal before the field settles without one).
                if f.next_funding_time_ns != 0 {
                    b.funding = (f.rate_ppm, f.next_funding_time_ns);
                }
                let msg = MdFunding {
                    seq: b.seq,
                    instrument: f.instrument,
                    rate_ppm: f.rate_ppm,
                    mark_price: f.mark_price,
                    open_interest: f.open_interest,
                    next_funding_time_ns: f.next_funding_time_ns,
                };
                self.out.emit(&MdServerMessage::Funding(msg), false);
            }
            EventKind::OpenInterestChanged(o) => {
                let Some(bi) = self.book_of(o.instrument) else { return };
                let b = &mut self.books[bi as usize];
                b.seq += 1;
                b.open_interest = o.open_interest;
                let msg = MdOpenInterest { seq: b.seq, instrument: o.instrument, open_interest: o.open_interest };
                self.out.emit(&MdServerMessage::OpenInterest(msg), false);
            }
            EventKind::InstrumentStateChanged(s) => {
                let Some(bi) = self.book_of(s.instrument) else { return };
                let b = &mut self.books[bi as usize];
                b.state = s.state;
                b.seq += 1;
                let m = MdInstrumentState { seq: b.seq, instrument: s.instrument, state: s.state };
                self.out.emit(&MdServerMessage::InstrumentState(m), false);
            }
            _ => {}
        }
    }

    /// Applies the batch's coalesced level changes to the mirror, numbering (and, with
    /// subscribers, encoding) one `MdLevel` per touched level in first-touch order, then one
    /// `MdTopOfBook` per book whose best bid or ask changed.
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        for p in self.pending.drain(..) {
            let b = &mut self.books[p.book as usize];
            let side = b.side(p.side);
            if p.level.qty == 0 {
                side.remove(&p.price);
            } else {
                side.insert(p.price, p.level);
            }
            b.seq += 1;
            let m = MdLevel {
                seq: b.seq,
                instrument: b.spec.id,
                side: p.side,
                price: p.price,
                qty: p.level.qty,
                order_count: p.level.count,
            };
            self.out.emit(&MdServerMessage::Level(m), false);
        }
        self.touched.clear();
        for bi in self.touched_books.drain(..) {
            let b = &mut self.books[bi as usize];
            b.touched = false;
            let top = b.compute_top();
            if top != b.top {
                b.top = top;
                b.seq += 1;
                let m = MdTopOfBook {
                    seq: b.seq,
                    instrument: b.spec.id,
                    bid_price: top.0,
                    bid_qty: top.1,
                    ask_price: top.2,
                    ask_qty: top.3,
                };
                self.out.emit(&MdServerMessage::TopOfBook(m), false);
            }
        }
    }

    /// Encodes the directory (one `MdInstrument` per instrument) into `out`.
    pub(crate) fn directory(&self, out: &mut Vec<u8>) {
        for b in &self.books {
            let m = MdInstrument {
                seq: b.seq,
                order_seq: b.order_seq,
                kind: MdInstrumentKind::Directory,
                state: b.state,
                spec: b.spec,
                perpetual: b.perpetual,
            };
            push(out, &MdServerMessage::Instrument(m));
        }
    }

    /// Encodes a snapshot of one book into `out` if it fits in `room` bytes. Call after
    /// [`MdBooks::flush`].
    pub(crate) fn snapshot(
        &self,
        req: &MdSnapshotRequest,
        depth_max: u32,
        feed_epoch: u64,
        room: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), MdSnapshotRejectReason> {
        let Some(&bi) = self.index.get(&req.instrument) else {
            return Err(MdSnapshotRejectReason::UnknownInstrument);
        };
        let b = &self.books[bi as usize];
        let depth = if req.depth == 0 || req.depth > depth_max { depth_max } else { req.depth } as usize;
        let bids: Vec<(&Price, &Level)> = b.bids.iter().rev().take(depth).collect();
        let asks: Vec<(&Price, &Level)> = b.asks.iter().take(depth).collect();
        let mut orders: Vec<(OrderId, Resting)> = Vec::new();
        if req.orders {
            let worst_bid = bids.last().map(|(p, _)| **p);
            let worst_ask = asks.last().map(|(p, _)| **p);
            orders = b
                .orders
                .iter()
                .filter(|(_, o)| match o.side {
                    Side::Buy => worst_bid.is_some_and(|w| o.price >= w),
                    Side::Sell => worst_ask.is_some_and(|w| o.price <= w),
                })
                .map(|(id, o)| (id, *o))
                .collect();
            orders.sort_by(|(_, x), (_, y)| {
                let price = match x.side {
                    Side::Buy => y.price.cmp(&x.price),
                    Side::Sell => x.price.cmp(&y.price),
                };
                x.side.cmp(&y.side).then(price).then(x.prio.cmp(&y.prio))
            });
        }
        const FRAME: usize = 10;
        let need = (bids.len() + asks.len()) * (FRAME + protocol::layout::md_level::BLOCK_LEN)
            + orders.len() * (FRAME + protocol::layout::md_snapshot_order::BLOCK_LEN)
            + FRAME
            + protocol::layout::md_snapshot_end::BLOCK_LEN;
        if need > room {
            return Err(MdSnapshotRejectReason::TooLarge);
        }
        for (side, levels) in [(Side::Buy, &bids), (Side::Sell, &asks)] {
            for (p, l) in levels.iter() {
                let m =
                    MdLevel { seq: b.seq, instrument: b.spec.id, side, price: **p, qty: l.qty, order_count: l.count };
                push(out, &MdServerMessage::SnapshotLevel(m));
            }
        }
        for (id, o) in &orders {
            let m = MdSnapshotOrder {
                seq: b.seq,
                instrument: b.spec.id,
                side: o.side,
                order_id: *id,
                price: o.price,
                qty: o.qty,
            };
            push(out, &MdServerMessage::SnapshotOrder(m));
        }
        let end = MdSnapshotEnd {
            seq: b.seq,
            order_seq: b.order_seq,
            feed_epoch,
            instrument: b.spec.id,
            state: b.state,
            truncated: b.bids.len() > depth || b.asks.len() > depth,
            orders_included: req.orders,
            bid_levels: bids.len() as u32,
            ask_levels: asks.len() as u32,
            orders: orders.len() as u32,
            mark_price: b.mark_price,
            open_interest: b.open_interest,
            funding_rate_ppm: b.funding.0,
            next_funding_time_ns: b.funding.1,
        };
        push(out, &MdServerMessage::SnapshotEnd(end));
        Ok(())
    }

    /// The encoded bytes of the messages since the last [`MdBooks::clear_output`]: (market by
    /// price only, everything).
    pub(crate) fn output(&self) -> (&[u8], &[u8]) {
        (&self.out.buf_l2, &self.out.buf_all)
    }

    /// Drops the encoded output (after it was sent); returns how many messages it held.
    pub fn clear_output(&mut self) -> u64 {
        self.out.buf_l2.clear();
        self.out.buf_all.clear();
        std::mem::take(&mut self.out.messages)
    }
}

fn executed(
    order_seq: u64,
    instrument: InstrumentId,
    side: Side,
    order_id: OrderId,
    trade_id: TradeId,
    qty: Qty,
    leaves: Qty,
) -> MdOrderExecuted {
    MdOrderExecuted { order_seq, instrument, side, order_id, trade_id, qty, leaves }
}

/// Appends one message to a vector (growing it).
pub(crate) fn push(out: &mut Vec<u8>, msg: &MdServerMessage) {
    let mut b = [0u8; MD_MAX_MESSAGE_LEN];
    if let Ok(n) = msg.encode(&mut b) {
        out.extend_from_slice(&b[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{AccountId, Engine, EngineConfig, EventSink};

    struct Both<'a>(&'a mut MdBooks);
    impl EventSink for Both<'_> {
        fn emit(&mut self, e: Event) {
            self.0.on_event(&e);
        }
    }

    /// A unit-tick, unit-lot instrument with no band limit in practice.
    fn test_spec(id: InstrumentId, reference_price: Price) -> InstrumentSpec {
        InstrumentSpec {
            id,
            symbol: InstrumentSpec::symbol_from_str("X-Y").unwrap(),
            base_asset: 1,
            quote_asset: 2,
            tick: 1,
            lot: 1,
            min_qty: 1,
            max_qty: 1_000_000,
            min_notional: 0,
            price_band_bps: 10_000,
            reference_price,
            qty_scale: 1,
        }
    }

    /// An engine after `n` random commands (new orders and cancels by 100 accounts on two
    /// instruments, with amends), and every event it emitted.
    fn random_flow(n: u64) -> (Engine, Vec<Event>) {
        struct Collect(Vec<Event>);
        impl EventSink for Collect {
            fn emit(&mut self, e: Event) {
                self.0.push(e);
            }
        }
        let mut e = Engine::new(EngineConfig { risk_checks: false, ..EngineConfig::default() });
        let mut events = Collect(Vec::new());
        let spec = |id| test_spec(id, 10_000);
        let mut seq = 0;
        for id in 1..=2 {
            seq += 1;
            let cmd =
                engine::Command { account: 0, timestamp_ns: 1, kind: engine::CommandKind::AddInstrument(spec(id)) };
            e.apply(seq, &cmd, &mut events);
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for i in 0..n {
            seq += 1;
            let account = 1 + rnd(100) as u32;
            let roll = rnd(10);
            let kind = if roll < 6 {
                let side = if rnd(2) == 0 { Side::Buy } else { Side::Sell };
                let off = rnd(200) as i64 - 100 + if side == Side::Buy { -20 } else { 20 };
                engine::CommandKind::NewOrder(engine::NewOrder {
                    client_order_id: i,
                    instrument: 1 + rnd(2) as u32,
                    side,
                    order_type: engine::OrderType::Limit,
                    tif: engine::TimeInForce::Gtc,
                    stp: engine::StpMode::from_u8(rnd(4) as u8).unwrap(),
                    price: (10_000 + off) as u64,
                    qty: 1 + rnd(10),
                })
            } else if roll < 8 {
                engine::CommandKind::Amend(engine::Amend {
                    order: engine::OrderRef::Engine(1 + rnd(i + 1)),
                    new_qty: (rnd(2) == 0).then(|| 1 + rnd(12)),
                    new_price: (rnd(2) == 0).then(|| 9_900 + rnd(200)),
                })
            } else {
                engine::CommandKind::Cancel(engine::Cancel { order: engine::OrderRef::Engine(1 + rnd(i + 1)) })
            };
            e.apply(seq, &engine::Command { account, timestamp_ns: 1, kind }, &mut events);
        }
        (e, events.0)
    }

    #[test]
    fn the_mirror_built_from_events_equals_the_one_built_from_the_engine() {
        let (e, events) = random_flow(20_000);
        let mut from_events = MdBooks::new();
        for (i, ev) in events.iter().enumerate() {
            from_events.on_event(ev);
            if i % 100 == 99 {
                from_events.flush();
            }
        }
        from_events.start_epoch();
        let from_engine = MdBooks::from_engine(&e);
        for id in [1, 2] {
            let req = MdSnapshotRequest { instrument: id, depth: 0, orders: true };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            from_events.snapshot(&req, 1_000_000, 9, usize::MAX, &mut a).unwrap();
            from_engine.snapshot(&req, 1_000_000, 9, usize::MAX, &mut b).unwrap();
            assert!(a.len() > 1000, "{}", a.len());
            assert!(a == b, "instrument {id}: the two mirrors differ");
            let levels: Vec<(Price, Qty, u32)> =
                e.levels(id, Side::Sell).iter().map(|l| (l.price, l.qty, l.order_count)).collect();
            assert_eq!(from_events.levels(id, Side::Sell), levels);
        }
        // A perpetual after trades, a mark and a funding (its state is in the snapshot's end),
        // beside a spot book.
        let mut f = PerpFlow::new();
        f.order(1, 1, Side::Sell, 6_000_000, 100);
        f.order(2, 2, Side::Buy, 6_000_000, 60);
        f.apply(
            ORACLE,
            engine::CommandKind::SetMarkPrice(engine::SetMarkPrice { instrument: PERP, mark_price: 6_020_000 }),
        );
        let funding =
            engine::ApplyFunding { instrument: PERP, rate_ppm: 250, next_funding_time_ns: 28_800_000_000_000 };
        f.apply(ORACLE, engine::CommandKind::ApplyFunding(funding));
        f.order(1, 3, Side::Buy, 5_990_000, 20);
        f.md.start_epoch();
        let from_engine = MdBooks::from_engine(&f.e);
        for id in [PERP, SPOT] {
            let req = MdSnapshotRequest { instrument: id, depth: 0, orders: true };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            f.md.snapshot(&req, 1_000_000, 9, usize::MAX, &mut a).unwrap();
            from_engine.snapshot(&req, 1_000_000, 9, usize::MAX, &mut b).unwrap();
            assert_eq!(decode_all(&a), decode_all(&b), "instrument {id}");
        }
        assert_eq!(snapshot_end(&from_engine, PERP).funding_rate_ppm, 250);
    }

    #[test]
    fn coalesces_a_mass_cancel_into_one_level_message() {
        let mut e = Engine::new(EngineConfig { risk_checks: false, ..EngineConfig::default() });
        let mut md = MdBooks::new();
        md.set_outputs(true, false);
        let spec = test_spec(1, 100);
        let mut seq = 0;
        let mut apply = |e: &mut Engine, md: &mut MdBooks, kind| {
            seq += 1;
            e.apply(seq, &engine::Command { account: 1, timestamp_ns: 1, kind }, &mut Both(md));
        };
        apply(&mut e, &mut md, engine::CommandKind::AddInstrument(spec));
        for i in 0..5 {
            let o = engine::NewOrder {
                client_order_id: i + 1,
                instrument: 1,
                side: Side::Buy,
                order_type: engine::OrderType::Limit,
                tif: engine::TimeInForce::Gtc,
                stp: engine::StpMode::None,
                price: 100,
                qty: 10,
            };
            apply(&mut e, &mut md, engine::CommandKind::NewOrder(o));
        }
        md.flush();
        md.clear_output();
        apply(&mut e, &mut md, engine::CommandKind::MassCancel(engine::MassCancel { instrument: None, side: None }));
        md.flush();
        let (l2, _) = md.output();
        let mut msgs = Vec::new();
        let mut buf = l2;
        while let Some((f, n)) = protocol::decode_frame(buf).unwrap() {
            msgs.push(MdServerMessage::decode_frame(&f).unwrap());
            buf = &buf[n..];
        }
        // Five LevelChanged events for one level: one MdLevel, then the top of book.
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(matches!(msgs[0], MdServerMessage::Level(l) if l.qty == 0 && l.price == 100));
        assert!(matches!(msgs[1], MdServerMessage::TopOfBook(t) if t.bid_price == 0));
        assert!(md.levels(1, Side::Buy).is_empty());
    }

    fn decode_all(mut buf: &[u8]) -> Vec<MdServerMessage> {
        let mut msgs = Vec::new();
        while let Some((f, n)) = protocol::decode_frame(buf).unwrap() {
            msgs.push(MdServerMessage::decode_frame(&f).unwrap());
            buf = &buf[n..];
        }
        msgs
    }

    /// The `MdInstrument` directory entries: (instrument, perpetual).
    fn directory_flags(md: &MdBooks) -> Vec<(InstrumentId, bool)> {
        let mut out = Vec::new();
        md.directory(&mut out);
        decode_all(&out)
            .into_iter()
            .map(|m| match m {
                MdServerMessage::Instrument(i) => (i.spec.id, i.perpetual),
                other => panic!("not a directory entry: {other:?}"),
            })
            .collect()
    }

    const PERP: InstrumentId = 1;
    const SPOT: InstrumentId = 2;
    const ORACLE: AccountId = 100;

    /// A real engine in risk mode with a perpetual (`PERP`, trading) beside a spot instrument
    /// (`SPOT`), accounts 1 and 2 with margin, and the mirror following every event.
    struct PerpFlow {
        e: Engine,
        md: MdBooks,
        seq: u64,
    }

    impl PerpFlow {
        fn new() -> Self {
            let config = EngineConfig {
                risk_checks: true,
                insurance_account: 9,
                oracle_account: ORACLE,
                ..EngineConfig::small()
            };
            let mut f = PerpFlow { e: Engine::new(config), md: MdBooks::new(), seq: 0 };
            f.md.set_outputs(true, false);
            let perp = InstrumentSpec { tick: 10, qty_scale: 1000, price_band_bps: 500, ..test_spec(PERP, 6_000_000) };
            let tier = engine::SetRiskTier {
                instrument: PERP,
                index: 0,
                max_leverage: 125,
                mmr_ppm: 4_000,
                max_notional: 5_000_000,
                maint_amount: 0,
            };
            let trading = engine::SetInstrumentState { instrument: PERP, state: InstrumentState::Trading };
            f.apply(0, engine::CommandKind::AddPerpetual(perp));
            f.apply(0, engine::CommandKind::SetRiskTier(tier));
            f.apply(0, engine::CommandKind::SetInstrumentState(trading));
            f.apply(0, engine::CommandKind::AddInstrument(test_spec(SPOT, 100)));
            for (a, tx_id) in [(1, 1), (2, 2)] {
                let status = engine::AccountStatus::Active;
                let create = engine::CreateAccount { target: a, tier: 0, status };
                f.apply(0, engine::CommandKind::CreateAccount(create));
                let t = engine::Transfer { target: a, asset: 2, amount: 1_000_000, tx_id };
                f.apply(0, engine::CommandKind::MarginDeposit(t));
            }
            f
        }

        /// Applies one command (it must not be refused) and flushes the mirror.
        fn apply(&mut self, account: AccountId, kind: engine::CommandKind) {
            self.seq += 1;
            let mut events = Vec::new();
            self.e.apply(self.seq, &engine::Command { account, timestamp_ns: self.seq, kind }, &mut events);
            assert!(!events.iter().any(|ev| matches!(ev.kind, EventKind::Rejected(_))), "{kind:?}: {events:?}");
            for ev in &events {
                self.md.on_event(ev);
            }
            self.md.flush();
        }

        /// A GTC limit order on the perpetual.
        fn order(&mut self, account: AccountId, cid: u64, side: Side, price: Price, qty: Qty) {
            let o = engine::NewOrder {
                client_order_id: cid,
                instrument: PERP,
                side,
                order_type: engine::OrderType::Limit,
                tif: engine::TimeInForce::Gtc,
                stp: engine::StpMode::None,
                price,
                qty,
            };
            self.apply(account, engine::CommandKind::NewOrder(o));
        }
    }

    /// The `MdSnapshotEnd` of a full snapshot of `instrument`.
    fn snapshot_end(md: &MdBooks, instrument: InstrumentId) -> MdSnapshotEnd {
        let mut out = Vec::new();
        md.snapshot(&MdSnapshotRequest { instrument, depth: 0, orders: true }, 1_000, 9, usize::MAX, &mut out).unwrap();
        match decode_all(&out).pop() {
            Some(MdServerMessage::SnapshotEnd(end)) => end,
            other => panic!("no snapshot end: {other:?}"),
        }
    }

    /// The perpetual's state as of a snapshot: the mark starts at the reference price, then
    /// follows the oracle's marks; the funding is the last announced one; the open interest
    /// follows the trades. A spot book has none; a mirror rebuilt from the engine says the same.
    #[test]
    fn a_perpetual_snapshot_carries_its_mark_funding_and_open_interest() {
        const NEXT_FUNDING_TIME_NS: u64 = 1_767_254_400_000_000_000;
        let mut f = PerpFlow::new();
        let perp =
            |end: MdSnapshotEnd| (end.mark_price, end.open_interest, end.funding_rate_ppm, end.next_funding_time_ns);
        assert_eq!(perp(snapshot_end(&f.md, PERP)), (6_000_000, 0, 0, 0), "before any mark, funding or trade");
        f.order(1, 1, Side::Sell, 6_000_000, 100);
        f.order(2, 2, Side::Buy, 6_000_000, 60);
        f.apply(
            ORACLE,
            engine::CommandKind::SetMarkPrice(engine::SetMarkPrice { instrument: PERP, mark_price: 6_010_000 }),
        );
        let funding =
            engine::ApplyFunding { instrument: PERP, rate_ppm: -150, next_funding_time_ns: NEXT_FUNDING_TIME_NS };
        f.apply(ORACLE, engine::CommandKind::ApplyFunding(funding));
        // A funding replayed from a journal before the time (0) leaves the announced one.
        let old = EventKind::FundingApplied(engine::FundingApplied {
            instrument: PERP,
            rate_ppm: 7,
            mark_price: 6_010_000,
            open_interest: 60,
            paid: 0,
            received: 0,
            residue: 0,
            next_funding_time_ns: 0,
        });
        let mut replayed = MdBooks::from_engine(&f.e);
        replayed.on_event(&Event { seq: 99, kind: old });
        f.order(2, 3, Side::Buy, 6_000_000, 30);
        let end = snapshot_end(&f.md, PERP);
        assert_eq!(perp(end), (6_010_000, 90, -150, NEXT_FUNDING_TIME_NS));
        assert_eq!(perp(snapshot_end(&replayed, PERP)), (6_010_000, 60, -150, NEXT_FUNDING_TIME_NS));
        assert_eq!(perp(snapshot_end(&f.md, SPOT)), (0, 0, 0, 0));
        let rebuilt = MdBooks::from_engine(&f.e);
        assert_eq!(snapshot_end(&rebuilt, PERP), MdSnapshotEnd { seq: 0, order_seq: 0, ..end });
        assert_eq!(perp(snapshot_end(&rebuilt, SPOT)), (0, 0, 0, 0));
    }

    /// The flow below: the mirror flags the perpetual in its `MdInstrument`s (added, the
    /// directory, and a mirror rebuilt from the engine), and each command that opens or closes
    /// positions publishes one `MdOpenInterest` in the price stream, numbered after the
    /// command's trade.
    #[test]
    fn open_interest_and_the_perpetual_flag_reach_market_data() {
        let mut f = PerpFlow::new();
        let (l2, _) = f.md.output();
        let added: Vec<_> = decode_all(l2)
            .into_iter()
            .filter_map(|m| match m {
                MdServerMessage::Instrument(i) => Some((i.spec.id, i.kind, i.seq, i.perpetual)),
                _ => None,
            })
            .collect();
        assert_eq!(added, vec![(PERP, MdInstrumentKind::Added, 1, true), (SPOT, MdInstrumentKind::Added, 1, false)]);
        f.md.clear_output();

        let order = |cid, side, price, qty| engine::NewOrder {
            client_order_id: cid,
            instrument: PERP,
            side,
            order_type: engine::OrderType::Limit,
            tif: engine::TimeInForce::Gtc,
            stp: engine::StpMode::None,
            price,
            qty,
        };
        // 1 rests a sell of 100; 2 takes 60 (open interest 60), then 30 (90); 1 bids 50 below and
        // 2 sells into it, both reducing (40).
        for (account, o) in [
            (1, order(1, Side::Sell, 6_000_000, 100)),
            (2, order(2, Side::Buy, 6_000_000, 60)),
            (2, order(3, Side::Buy, 6_000_000, 30)),
            (1, order(4, Side::Buy, 5_990_000, 50)),
            (2, order(5, Side::Sell, 5_990_000, 50)),
        ] {
            f.apply(account, engine::CommandKind::NewOrder(o));
        }
        let (l2, _) = f.md.output();
        let stream = decode_all(l2);
        let seqs: Vec<u64> = stream.iter().filter_map(sequence).collect();
        assert_eq!(seqs.len(), stream.len(), "only the perpetual's price stream: {stream:?}");
        assert!(stream.iter().all(|m| m.instrument() == Some(PERP)), "{stream:?}");
        let first = seqs[0];
        assert_eq!(seqs, (first..first + seqs.len() as u64).collect::<Vec<_>>(), "no gap: {stream:?}");
        // Each one right after its command's trade (the level deltas follow at the flush).
        let oi: Vec<_> = stream
            .windows(2)
            .filter_map(|w| match w {
                [MdServerMessage::Trade(t), MdServerMessage::OpenInterest(o)] => Some((t.qty, o.open_interest)),
                [_, MdServerMessage::OpenInterest(o)] => panic!("not after a trade: {o:?}"),
                _ => None,
            })
            .collect();
        assert_eq!(oi, vec![(60, 60), (30, 90), (50, 40)]);

        assert_eq!(directory_flags(&f.md), vec![(PERP, true), (SPOT, false)]);
        assert_eq!(directory_flags(&MdBooks::from_engine(&f.e)), vec![(PERP, true), (SPOT, false)]);
    }

    /// The market-by-price sequence number of a feed message.
    fn sequence(m: &MdServerMessage) -> Option<u64> {
        Some(match m {
            MdServerMessage::Instrument(i) => i.seq,
            MdServerMessage::InstrumentState(x) => x.seq,
            MdServerMessage::Trade(x) => x.seq,
            MdServerMessage::MarkPrice(x) => x.seq,
            MdServerMessage::Funding(x) => x.seq,
            MdServerMessage::OpenInterest(x) => x.seq,
            MdServerMessage::Level(x) => x.seq,
            MdServerMessage::TopOfBook(x) => x.seq,
            _ => return None,
        })
    }

    /// Perpetuals' events (synthetic here: the engine's futures semantics come separately): a mark
    /// and a funding advance the price stream, a liquidation order's trade is flagged, and a
    /// reduce-only order's trim is an in-place modification that keeps its priority.
    #[test]
    fn marks_funding_liquidation_trades_and_trims() {
        let mut e = Engine::new(EngineConfig { risk_checks: false, ..EngineConfig::default() });
        let mut md = MdBooks::new();
        md.set_outputs(true, true);
        let rest = engine::NewOrder {
            client_order_id: 1,
            instrument: 1,
            side: Side::Buy,
            order_type: engine::OrderType::Limit,
            tif: engine::TimeInForce::Gtc,
            stp: engine::StpMode::None,
            price: 100,
            qty: 10,
        };
        for (seq, kind) in
            [(1, engine::CommandKind::AddInstrument(test_spec(1, 100))), (2, engine::CommandKind::NewOrder(rest))]
        {
            e.apply(seq, &engine::Command { account: 1, timestamp_ns: 1, kind }, &mut Both(&mut md));
        }
        md.flush();
        md.clear_output();
        let trimmed = engine::Trimmed {
            account: 1,
            order_id: 1,
            client_order_id: 1,
            instrument: 1,
            side: Side::Buy,
            leaves: 6,
            cut: 4,
        };
        let trade = engine::Trade {
            trade_id: 7,
            instrument: 1,
            price: 100,
            qty: 2,
            taker_side: Side::Sell,
            maker_order_id: 1,
            maker_account: 1,
            maker_client_order_id: 1,
            maker_leaves: 4,
            taker_order_id: 0,
            taker_account: 2,
            taker_client_order_id: 0,
            taker_leaves: 0,
            timestamp_ns: 5,
            maker_fee: 0,
            taker_fee: 0,
        };
        let funding = engine::FundingApplied {
            instrument: 1,
            rate_ppm: 100,
            mark_price: 101,
            open_interest: 6,
            paid: 1,
            received: 1,
            residue: 0,
            next_funding_time_ns: 28_800_000_000_000,
        };
        for kind in [
            EventKind::MarkPriceSet(engine::MarkPriceSet { instrument: 1, mark_price: 99 }),
            EventKind::Trimmed(trimmed),
            EventKind::Trade(trade),
            EventKind::FundingApplied(funding),
        ] {
            md.on_event(&Event { seq: 3, kind });
        }
        let (l2, all) = md.output();
        let decode = |mut buf: &[u8]| {
            let mut msgs = Vec::new();
            while let Some((f, n)) = protocol::decode_frame(buf).unwrap() {
                msgs.push(MdServerMessage::decode_frame(&f).unwrap());
                buf = &buf[n..];
            }
            msgs
        };
        let price_stream: Vec<_> = decode(l2)
            .into_iter()
            .filter_map(|m| match m {
                MdServerMessage::MarkPrice(x) => Some((x.seq, "mark", x.mark_price)),
                MdServerMessage::Trade(x) if x.liquidation => Some((x.seq, "liquidation trade", x.qty)),
                MdServerMessage::Funding(x) => {
                    assert_eq!((x.rate_ppm, x.mark_price, x.next_funding_time_ns), (100, 101, 28_800_000_000_000));
                    Some((x.seq, "funding", x.open_interest))
                }
                _ => None,
            })
            .collect();
        let first = price_stream[0].0;
        assert_eq!(
            price_stream,
            vec![(first, "mark", 99), (first + 1, "liquidation trade", 2), (first + 2, "funding", 6)]
        );
        let orders: Vec<_> = decode(all)
            .into_iter()
            .filter_map(|m| match m {
                MdServerMessage::OrderModified(x) => Some(("modified", x.qty, x.kept_priority)),
                MdServerMessage::OrderExecuted(x) => Some(("executed", x.leaves, true)),
                _ => None,
            })
            .collect();
        assert_eq!(orders, vec![("modified", 6, true), ("executed", 4, true)]);
    }
}
