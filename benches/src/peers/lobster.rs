//! Adapter for `lobster` (a small limit order book: `BTreeMap` of price ->
//! `Vec` queue, orders in an arena), one `OrderBook` per instrument.

use lobster as lb;

use super::{is_buy, Book, BookSummary, PeerOp};

/// One `lobster::OrderBook` per instrument.
pub struct Lobster {
    books: Vec<lb::OrderBook>,
}

/// A lobster call. IOC limits and amends have no lobster equivalent and are
/// emulated with two calls.
#[derive(Debug, Clone, Copy)]
pub enum LobsterOp {
    /// One `execute` call.
    Exec(u32, lb::OrderType),
    /// IOC limit: `Limit`, then `Cancel` of the remainder if any rested.
    Ioc(u32, lb::OrderType),
    /// Amend: `Cancel`, then `Limit` with the new price and open quantity.
    Replace(u32, lb::OrderType),
}

fn side(buy: bool) -> lb::Side {
    if buy {
        lb::Side::Bid
    } else {
        lb::Side::Ask
    }
}

impl Book for Lobster {
    const NAME: &'static str = "lobster";
    const VERSION: &'static str = "0.7.0";
    const LICENSE: &'static str = "ISC";
    const NOTES: &'static str = "no IOC: limit then cancel of the rested remainder (2 calls); no amend: cancel + new limit with the same id (a qty decrease loses priority, unlike matchd); fully filled makers are never removed from lobster's id map (its own leak); no accounts, STP or validation";
    type Op = LobsterOp;

    fn new(books: usize, orders_hint: usize) -> Self {
        let per_book = (orders_hint / books.max(1)).max(1024);
        Self { books: (0..books).map(|_| lb::OrderBook::new(per_book, 16, false)).collect() }
    }

    fn prepare(_books: usize, ops: &[PeerOp]) -> Vec<Self::Op> {
        ops.iter()
            .map(|op| match *op {
                PeerOp::Limit { book, id, side: sd, price, qty, ioc } => {
                    let o = lb::OrderType::Limit { id: id as u128, side: side(is_buy(sd)), qty, price };
                    if ioc {
                        LobsterOp::Ioc(book, o)
                    } else {
                        LobsterOp::Exec(book, o)
                    }
                }
                PeerOp::Market { book, id, side: sd, qty } => {
                    LobsterOp::Exec(book, lb::OrderType::Market { id: id as u128, side: side(is_buy(sd)), qty })
                }
                PeerOp::Cancel { book, id } => LobsterOp::Exec(book, lb::OrderType::Cancel { id: id as u128 }),
                PeerOp::Amend { book, id, side: sd, price, leaves, .. } => LobsterOp::Replace(
                    book,
                    lb::OrderType::Limit { id: id as u128, side: side(is_buy(sd)), qty: leaves, price },
                ),
            })
            .collect()
    }

    #[inline]
    fn apply(&mut self, op: &Self::Op) {
        match *op {
            LobsterOp::Exec(b, o) => {
                let ev = self.books[b as usize].execute(o);
                std::hint::black_box(&ev);
            }
            LobsterOp::Ioc(b, o) => {
                let book = &mut self.books[b as usize];
                let ev = book.execute(o);
                if let lb::OrderEvent::Placed { id } | lb::OrderEvent::PartiallyFilled { id, .. } = ev {
                    std::hint::black_box(book.execute(lb::OrderType::Cancel { id }));
                }
            }
            LobsterOp::Replace(b, o) => {
                let book = &mut self.books[b as usize];
                let lb::OrderType::Limit { id, .. } = o else { unreachable!("replace carries a limit") };
                std::hint::black_box(book.execute(lb::OrderType::Cancel { id }));
                std::hint::black_box(book.execute(o));
            }
        }
    }

    fn summary(&self, book: usize) -> BookSummary {
        let d = self.books[book].depth(1 << 20);
        BookSummary {
            best_bid: d.bids.iter().map(|l| l.price).max(),
            best_ask: d.asks.iter().map(|l| l.price).min(),
            bid_qty: d.bids.iter().map(|l| l.qty).sum(),
            ask_qty: d.asks.iter().map(|l| l.qty).sum(),
        }
    }
}
