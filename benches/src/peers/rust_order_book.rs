//! Adapter for `rust-order-book` (`BTreeMap` of price -> `VecDeque` of ids,
//! orders in a `HashMap`), one `OrderBook` per instrument: the fastest Rust
//! crate of the outside benchmark that issue #14 quotes.

use std::collections::HashMap;

use rust_order_book as rob;

use super::{is_buy, Book, BookSummary, PeerOp};

/// One `rust_order_book::OrderBook` per instrument.
pub struct RustOrderBook {
    books: Vec<rob::OrderBook>,
}

/// A rust-order-book call, with the crate's own order ids.
#[derive(Debug, Clone, Copy)]
pub enum RobOp {
    /// `limit`.
    Limit(u32, rob::LimitOrderOptions),
    /// `market`.
    Market(u32, rob::MarketOrderOptions),
    /// `cancel`.
    Cancel(u32, rob::OrderId),
    /// `modify` with a new price and quantity (cancel and a new order with the next id).
    Modify(u32, rob::OrderId, rob::Price, rob::Quantity),
}

fn side(buy: bool) -> rob::Side {
    if buy {
        rob::Side::Buy
    } else {
        rob::Side::Sell
    }
}

impl Book for RustOrderBook {
    const NAME: &'static str = "rust-order-book";
    const VERSION: &'static str = "0.0.2";
    const LICENSE: &'static str = "MIT";
    const NOTES: &'static str = "native IOC, market and modify (modify is cancel + a new order with a new id, so a qty decrease loses priority, unlike matchd); order ids are per-book sequence numbers (pre-mapped); a cancel finds its order in the level's queue by a linear scan; every call returns a report with a Vec of fills; no accounts, STP or validation";
    type Op = RobOp;

    fn new(books: usize, _orders_hint: usize) -> Self {
        Self { books: (0..books).map(|i| rob::OrderBookBuilder::new(format!("SYM{}", i + 1)).build()).collect() }
    }

    fn prepare(books: usize, ops: &[PeerOp]) -> Vec<Self::Op> {
        // The crate numbers every limit and market order 0, 1, 2.. per book, and a modify
        // takes the next number for the replacement order.
        let mut next = vec![0u64; books];
        let mut ids: HashMap<u64, rob::OrderId> = HashMap::new();
        let mut take = |ids: &mut HashMap<u64, rob::OrderId>, b: usize, id: u64| {
            ids.insert(id, rob::OrderId(next[b]));
            next[b] += 1;
        };
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let b = op.book();
            out.push(match *op {
                PeerOp::Limit { id, side: sd, price, qty, ioc, .. } => {
                    take(&mut ids, b as usize, id);
                    let tif = if ioc { rob::TimeInForce::IOC } else { rob::TimeInForce::GTC };
                    RobOp::Limit(
                        b,
                        rob::LimitOrderOptions {
                            side: side(is_buy(sd)),
                            quantity: rob::Quantity(qty),
                            price: rob::Price(price),
                            time_in_force: Some(tif),
                            post_only: Some(false),
                        },
                    )
                }
                PeerOp::Market { id, side: sd, qty, .. } => {
                    take(&mut ids, b as usize, id);
                    RobOp::Market(b, rob::MarketOrderOptions { side: side(is_buy(sd)), quantity: rob::Quantity(qty) })
                }
                PeerOp::Cancel { id, .. } => RobOp::Cancel(b, ids[&id]),
                PeerOp::Amend { id, price, leaves, .. } => {
                    let old = ids[&id];
                    take(&mut ids, b as usize, id);
                    RobOp::Modify(b, old, rob::Price(price), rob::Quantity(leaves))
                }
            });
        }
        out
    }

    #[inline]
    fn apply(&mut self, op: &Self::Op) {
        let report = match *op {
            RobOp::Limit(b, o) => self.books[b as usize].limit(o),
            RobOp::Market(b, o) => self.books[b as usize].market(o),
            RobOp::Cancel(b, id) => self.books[b as usize].cancel(id),
            RobOp::Modify(b, id, price, qty) => self.books[b as usize].modify(id, Some(price), Some(qty)),
        };
        std::hint::black_box(report).ok();
    }

    fn summary(&self, book: usize) -> BookSummary {
        let d = self.books[book].depth(None);
        BookSummary {
            best_bid: d.bids.iter().map(|l| l.0.value()).max(),
            best_ask: d.asks.iter().map(|l| l.0.value()).min(),
            bid_qty: d.bids.iter().map(|l| l.1.value()).sum(),
            ask_qty: d.asks.iter().map(|l| l.1.value()).sum(),
        }
    }
}
