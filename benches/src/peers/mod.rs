//! Thin adapters over order-book crates from the Rust package registry, fed
//! the same order flow as matchd's engine, for the `engine` bench's peer
//! comparison.
//!
//! The flow is first run through a fresh matchd [`Engine`] (untimed) and
//! translated into a peer-neutral [`PeerOp`] stream: engine order ids become
//! the ids of the ops, amends carry the resulting open quantity (matchd's
//! `new_qty` counts filled quantity too, the peers' quantities do not), and
//! commands matchd rejects are dropped. Each adapter then pre-translates that
//! stream into its own crate's calls ([`Book::prepare`], untimed), so the
//! timed loop ([`Book::apply`]) holds nothing but the peer's own work plus an
//! enum match.
//!
//! After the run, [`Book::summary`] reads each book's best prices and total
//! resting quantity so the harness can tell whether the peer ended in the
//! same state as matchd (see the semantic notes on each adapter).

use std::collections::HashMap;

use engine::*;

pub mod lobster;
pub mod matchcore;
pub mod orderbook_rs;
pub mod rust_order_book;

/// One order-book operation in peer-neutral form. `book` is the instrument
/// index (0-based), `id` matchd's engine order id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerOp {
    /// A limit order: GTC (rests) or IOC (remainder cancelled).
    Limit {
        /// Instrument index.
        book: u32,
        /// Order id.
        id: u64,
        /// Side.
        side: Side,
        /// Limit price in ticks.
        price: u64,
        /// Quantity in lots.
        qty: u64,
        /// Immediate-or-cancel.
        ioc: bool,
    },
    /// A market order (IOC).
    Market {
        /// Instrument index.
        book: u32,
        /// Order id.
        id: u64,
        /// Side.
        side: Side,
        /// Quantity in lots.
        qty: u64,
    },
    /// Cancel a resting order (also what an amend to `new_qty <= filled` is).
    Cancel {
        /// Instrument index.
        book: u32,
        /// Order id.
        id: u64,
    },
    /// Change a resting order's price and/or open quantity.
    Amend {
        /// Instrument index.
        book: u32,
        /// Order id.
        id: u64,
        /// Side.
        side: Side,
        /// Price before.
        old_price: u64,
        /// Open quantity before.
        old_leaves: u64,
        /// New price.
        price: u64,
        /// New open quantity (> 0).
        leaves: u64,
    },
}

impl PeerOp {
    /// Instrument index of the op.
    pub fn book(&self) -> u32 {
        match *self {
            PeerOp::Limit { book, .. }
            | PeerOp::Market { book, .. }
            | PeerOp::Cancel { book, .. }
            | PeerOp::Amend { book, .. } => book,
        }
    }
}

/// Best prices and total resting quantity of one book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BookSummary {
    /// Best bid price.
    pub best_bid: Option<u64>,
    /// Best ask price.
    pub best_ask: Option<u64>,
    /// Resting bid quantity.
    pub bid_qty: u64,
    /// Resting ask quantity.
    pub ask_qty: u64,
}

/// A peer order book (one instance holds every instrument's book).
pub trait Book: Sized {
    /// Name printed in the JSON line (`impl`).
    const NAME: &'static str;
    /// Crate version the adapter was written against.
    const VERSION: &'static str;
    /// Licence of the crate.
    const LICENSE: &'static str;
    /// How the adapter maps matchd's semantics onto the crate.
    const NOTES: &'static str;
    /// The crate's own call, ready to issue (cloned untimed to bring it into the cache).
    type Op: Clone;

    /// Empty books for `books` instruments, sized for about `orders_hint`
    /// resting orders in all.
    fn new(books: usize, orders_hint: usize) -> Self;

    /// Translates a whole op stream (warm-up then measured, in order) into
    /// the crate's calls, one per op. Untimed.
    fn prepare(books: usize, ops: &[PeerOp]) -> Vec<Self::Op>;

    /// Issues one call; the result is consumed inside the adapter.
    fn apply(&mut self, op: &Self::Op);

    /// Book state after the run.
    fn summary(&self, book: usize) -> BookSummary;
}

/// The flow in peer-neutral form, with matchd's end state to compare to.
pub struct PeerFlow {
    /// Ops applied (untimed) before the measured ones.
    pub warmup: Vec<PeerOp>,
    /// Timed ops.
    pub measured: Vec<PeerOp>,
    /// Measured commands matchd rejected (dropped from the peer stream).
    pub rejected: usize,
    /// matchd's book state after warm-up and measured commands.
    pub expected: Vec<BookSummary>,
    /// Instruments.
    pub books: usize,
}

/// Runs `warmup` then `measured` through a fresh engine with `config`,
/// translating each command into a [`PeerOp`]. Commands other than new
/// orders, cancels and amends (instrument set-up) are applied but not
/// translated.
pub fn translate(config: EngineConfig, warmup: &[Command], measured: &[Command], books: usize) -> PeerFlow {
    let mut e = Engine::new(config);
    let mut events: Vec<Event> = Vec::new();
    let mut seq = 0;
    let mut rejected = 0;
    // (account, client order id) -> engine id of the latest order accepted
    // with it: a client id is unique among live orders, so for a live order
    // the latest is the one.
    let mut by_client: HashMap<(AccountId, ClientOrderId), OrderId> = HashMap::new();
    let mut one = |e: &mut Engine, c: &Command, out: &mut Vec<PeerOp>| -> bool {
        seq += 1;
        events.clear();
        let engine_id = |r: OrderRef| match r {
            OrderRef::Engine(id) => Some(id),
            OrderRef::Client(cid) => by_client.get(&(c.account, cid)).copied(),
        };
        // State before the command, for cancels and amends.
        let target = match c.kind {
            CommandKind::Amend(Amend { order, .. }) | CommandKind::Cancel(Cancel { order }) => engine_id(order),
            _ => None,
        };
        let before = target.and_then(|id| e.order(id)).filter(|o| o.account == c.account);
        e.apply(seq, c, &mut events);
        if events.iter().any(|ev| matches!(ev.kind, EventKind::Rejected(_))) {
            return false;
        }
        match c.kind {
            CommandKind::NewOrder(n) => {
                let id = events
                    .iter()
                    .find_map(|ev| match ev.kind {
                        EventKind::Accepted(a) => Some(a.order_id),
                        _ => None,
                    })
                    .expect("an accepted order has an Accepted event");
                by_client.insert((c.account, n.client_order_id), id);
                let book = n.instrument - 1;
                out.push(match n.order_type {
                    OrderType::Market => PeerOp::Market { book, id, side: n.side, qty: n.qty },
                    _ => {
                        assert!(matches!(n.tif, TimeInForce::Gtc | TimeInForce::Ioc), "flow uses GTC and IOC only");
                        PeerOp::Limit {
                            book,
                            id,
                            side: n.side,
                            price: n.price,
                            qty: n.qty,
                            ioc: n.tif == TimeInForce::Ioc,
                        }
                    }
                });
            }
            CommandKind::Cancel(_) => {
                let b = before.expect("an accepted cancel targets a live order");
                out.push(PeerOp::Cancel { book: b.instrument - 1, id: b.order_id });
            }
            CommandKind::Amend(a) => {
                let b = before.expect("an accepted amend targets a live order");
                let book = b.instrument - 1;
                let id = b.order_id;
                let filled = b.qty - b.leaves;
                let new_total = a.new_qty.unwrap_or(b.qty);
                if new_total <= filled {
                    out.push(PeerOp::Cancel { book, id });
                } else {
                    out.push(PeerOp::Amend {
                        book,
                        id,
                        side: b.side,
                        old_price: b.price,
                        old_leaves: b.leaves,
                        price: a.new_price.unwrap_or(b.price),
                        leaves: new_total - filled,
                    });
                }
            }
            // Admin and account commands: peers create their books up front
            // and have no accounts.
            _ => {}
        }
        true
    };
    let mut w = Vec::with_capacity(warmup.len());
    for c in warmup {
        one(&mut e, c, &mut w);
    }
    let mut m = Vec::with_capacity(measured.len());
    for c in measured {
        if !one(&mut e, c, &mut m) {
            rejected += 1;
        }
    }
    let expected = (0..books).map(|b| engine_summary(&e, b as u32 + 1)).collect();
    PeerFlow { warmup: w, measured: m, rejected, expected, books }
}

/// matchd's book state for `instrument`.
pub fn engine_summary(e: &Engine, instrument: InstrumentId) -> BookSummary {
    let bids = e.levels(instrument, Side::Buy);
    let asks = e.levels(instrument, Side::Sell);
    BookSummary {
        best_bid: bids.iter().map(|l| l.price).max(),
        best_ask: asks.iter().map(|l| l.price).min(),
        bid_qty: bids.iter().map(|l| l.qty).sum(),
        ask_qty: asks.iter().map(|l| l.qty).sum(),
    }
}

/// One timed pass of a peer.
pub struct PeerPass {
    /// Measured ops per second.
    pub ops_per_sec: f64,
    /// Allocation calls during the measured ops (needs the counting allocator).
    pub allocations: u64,
    /// Books whose end state differs from matchd's.
    pub books_differing: usize,
}

/// A peer's calls, translated once, replayable through fresh books.
pub struct Prepared<B: Book> {
    ops: Vec<B::Op>,
    warm: usize,
    books: usize,
    orders_hint: usize,
}

impl<B: Book> Prepared<B> {
    /// Translates `flow` for `B` (untimed).
    pub fn new(flow: &PeerFlow, orders_hint: usize) -> Self {
        let mut all: Vec<PeerOp> = Vec::with_capacity(flow.warmup.len() + flow.measured.len());
        all.extend_from_slice(&flow.warmup);
        all.extend_from_slice(&flow.measured);
        let ops = B::prepare(flow.books, &all);
        assert_eq!(ops.len(), all.len(), "{}: prepare must give one call per op", B::NAME);
        Self { ops, warm: flow.warmup.len(), books: flow.books, orders_hint }
    }

    /// Fresh books, warm-up applied untimed, then the measured ops timed, each with the lines of
    /// the op `command_ahead` after it started first (0: none), as matchd's pass runs its
    /// `Prefetcher`'s command stage: every side streams its input with the same help.
    pub fn pass(&self, expected: &[BookSummary], command_ahead: usize) -> PeerPass {
        let (warm, measured) = self.ops.split_at(self.warm);
        let mut b = B::new(self.books, self.orders_hint);
        for op in warm {
            b.apply(op);
        }
        crate::input_cache::warm(measured);
        let a0 = crate::alloc_counter::allocations();
        let t = std::time::Instant::now();
        for (i, op) in measured.iter().enumerate() {
            if command_ahead > 0 {
                if let Some(next) = measured.get(i + command_ahead) {
                    engine::prefetch_lines_of(next);
                }
            }
            b.apply(op);
        }
        let dt = t.elapsed();
        let allocations = crate::alloc_counter::allocations() - a0;
        let books_differing = (0..self.books).filter(|&i| b.summary(i) != expected[i]).count();
        std::hint::black_box(&b);
        PeerPass { ops_per_sec: measured.len() as f64 / dt.as_secs_f64(), allocations, books_differing }
    }
}

/// A prepared peer, type-erased so a harness can interleave several.
pub trait Peer {
    /// [`Book::NAME`].
    fn name(&self) -> &'static str;
    /// [`Book::VERSION`].
    fn version(&self) -> &'static str;
    /// [`Book::LICENSE`].
    fn license(&self) -> &'static str;
    /// [`Book::NOTES`].
    fn notes(&self) -> &'static str;
    /// [`Prepared::pass`].
    fn pass(&self, expected: &[BookSummary], command_ahead: usize) -> PeerPass;
}

impl<B: Book> Peer for Prepared<B> {
    fn name(&self) -> &'static str {
        B::NAME
    }
    fn version(&self) -> &'static str {
        B::VERSION
    }
    fn license(&self) -> &'static str {
        B::LICENSE
    }
    fn notes(&self) -> &'static str {
        B::NOTES
    }
    fn pass(&self, expected: &[BookSummary], command_ahead: usize) -> PeerPass {
        Prepared::pass(self, expected, command_ahead)
    }
}

/// Every adapter, prepared for `flow`.
pub fn all(flow: &PeerFlow, orders_hint: usize) -> Vec<Box<dyn Peer>> {
    vec![
        Box::new(Prepared::<matchcore::Matchcore>::new(flow, orders_hint)),
        Box::new(Prepared::<orderbook_rs::OrderbookRs>::new(flow, orders_hint)),
        Box::new(Prepared::<lobster::Lobster>::new(flow, orders_hint)),
        Box::new(Prepared::<rust_order_book::RustOrderBook>::new(flow, orders_hint)),
    ]
}

/// Peer side of matchd's [`Side`].
pub(crate) fn is_buy(side: Side) -> bool {
    side == Side::Buy
}
