//! Adapter for `orderbook-rs` (a concurrent order book: lock-free price
//! levels from `pricelevel`, `crossbeam-skiplist` price maps, `DashMap` order
//! index; every call takes `&self`), one `OrderBook<()>` per instrument.

use orderbook_rs::{DefaultOrderBook, Id, Side, TimeInForce};
use pricelevel::{OrderUpdate, Price, Quantity};

use super::{is_buy, Book, BookSummary, PeerOp};

/// One `orderbook_rs::OrderBook<()>` per instrument.
pub struct OrderbookRs {
    books: Vec<DefaultOrderBook>,
}

/// An orderbook-rs call.
#[derive(Debug, Clone, Copy)]
pub enum OrderbookRsOp {
    /// `add_limit_order`.
    Limit { book: u32, id: Id, price: u128, qty: u64, side: Side, tif: TimeInForce },
    /// `submit_market_order`.
    Market { book: u32, id: Id, qty: u64, side: Side },
    /// `cancel_order`.
    Cancel { book: u32, id: Id },
    /// `update_order`.
    Update { book: u32, update: OrderUpdate },
}

fn side(buy: bool) -> Side {
    if buy {
        Side::Buy
    } else {
        Side::Sell
    }
}

impl Book for OrderbookRs {
    const NAME: &'static str = "orderbook-rs";
    const VERSION: &'static str = "0.15.3";
    const LICENSE: &'static str = "MIT";
    const NOTES: &'static str = "native IOC, market and update_order (UpdatePriceAndQuantity is cancel + re-add; UpdateQuantity keeps priority on a decrease, as in matchd); thread-safe API (&self, atomics, DashMap) used from one thread; reads the wall clock per order; no accounts, STP off, no validation configured";
    type Op = OrderbookRsOp;

    fn new(books: usize, _orders_hint: usize) -> Self {
        Self { books: (0..books).map(|i| DefaultOrderBook::new(&format!("SYM{}", i + 1))).collect() }
    }

    fn prepare(_books: usize, ops: &[PeerOp]) -> Vec<Self::Op> {
        ops.iter()
            .map(|op| match *op {
                PeerOp::Limit { book, id, side: sd, price, qty, ioc } => OrderbookRsOp::Limit {
                    book,
                    id: Id::Sequential(id),
                    price: price as u128,
                    qty,
                    side: side(is_buy(sd)),
                    tif: if ioc { TimeInForce::Ioc } else { TimeInForce::Gtc },
                },
                PeerOp::Market { book, id, side: sd, qty } => {
                    OrderbookRsOp::Market { book, id: Id::Sequential(id), qty, side: side(is_buy(sd)) }
                }
                PeerOp::Cancel { book, id } => OrderbookRsOp::Cancel { book, id: Id::Sequential(id) },
                PeerOp::Amend { book, id, old_price, price, leaves, .. } => {
                    let order_id = Id::Sequential(id);
                    let update = if price != old_price {
                        OrderUpdate::UpdatePriceAndQuantity {
                            order_id,
                            new_price: Price::new(price as u128),
                            new_quantity: Quantity::new(leaves),
                        }
                    } else {
                        OrderUpdate::UpdateQuantity { order_id, new_quantity: Quantity::new(leaves) }
                    };
                    OrderbookRsOp::Update { book, update }
                }
            })
            .collect()
    }

    #[inline]
    fn apply(&mut self, op: &Self::Op) {
        match *op {
            OrderbookRsOp::Limit { book, id, price, qty, side, tif } => {
                let r = self.books[book as usize].add_limit_order(id, price, qty, side, tif, None);
                std::hint::black_box(&r);
            }
            OrderbookRsOp::Market { book, id, qty, side } => {
                let r = self.books[book as usize].submit_market_order(id, qty, side);
                std::hint::black_box(&r);
            }
            OrderbookRsOp::Cancel { book, id } => {
                let r = self.books[book as usize].cancel_order(id);
                std::hint::black_box(&r);
            }
            OrderbookRsOp::Update { book, update } => {
                let r = self.books[book as usize].update_order(update);
                std::hint::black_box(&r);
            }
        }
    }

    fn summary(&self, book: usize) -> BookSummary {
        let b = &self.books[book];
        BookSummary {
            best_bid: b.best_bid().map(|p| p as u64),
            best_ask: b.best_ask().map(|p| p as u64),
            bid_qty: b.total_depth_at_levels(usize::MAX, Side::Buy).expect("depth"),
            ask_qty: b.total_depth_at_levels(usize::MAX, Side::Sell).expect("depth"),
        }
    }
}
