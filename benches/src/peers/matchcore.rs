//! Adapter for `matchcore` (a deterministic single-threaded order book
//! state machine: `BTreeMap` price index + slab levels), one `OrderBook` per
//! instrument.
//!
//! Known difference (matchcore 0.4.0 bug): once a limit order crosses, it is
//! matched with no limit price (`match_order(seq, side, None, qty)` in
//! `execution/submit.rs` and `execution/amend.rs`), so it can trade through
//! levels beyond its limit. The end state therefore differs from matchd's
//! and crossing orders do more work than in matchd.

use std::collections::HashMap;

use matchcore as mc;

use super::{is_buy, Book, BookSummary, PeerOp};

/// One `matchcore::OrderBook` per instrument.
pub struct Matchcore {
    books: Vec<mc::OrderBook>,
}

fn side(buy: bool) -> mc::Side {
    if buy {
        mc::Side::Buy
    } else {
        mc::Side::Sell
    }
}

impl Book for Matchcore {
    const NAME: &'static str = "matchcore";
    const VERSION: &'static str = "0.4.0";
    const LICENSE: &'static str = "MIT OR Apache-2.0";
    const NOTES: &'static str = "native IOC, market and amend (price change or qty increase loses priority, qty decrease keeps it, as in matchd); order ids are per-book sequence numbers (pre-mapped); no accounts, STP or price-band/lot validation; 0.4.0 matches a crossing limit order (or amend) without its limit price (match_order(.., None, ..): buy 20 @100 against asks 10@100, 10@105 fills both), so crossing orders sweep further than in matchd and end states differ";
    /// (instrument index, command).
    type Op = (u32, mc::Command);

    fn new(books: usize, _orders_hint: usize) -> Self {
        Self { books: (0..books).map(|i| mc::OrderBook::new(&format!("SYM{}", i + 1))).collect() }
    }

    fn prepare(books: usize, ops: &[PeerOp]) -> Vec<Self::Op> {
        // matchcore numbers commands 0, 1, 2.. per book and names an order
        // after the sequence number of its submit.
        let mut seq = vec![0u64; books];
        let mut ids: HashMap<u64, mc::OrderId> = HashMap::new();
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let b = op.book() as usize;
            let s = seq[b];
            seq[b] += 1;
            let meta = mc::CommandMeta { sequence_number: mc::SequenceNumber(s), timestamp: mc::Timestamp(s) };
            let kind = match *op {
                PeerOp::Limit { id, side: sd, price, qty, ioc, .. } => {
                    ids.insert(id, mc::OrderId(s));
                    let tif = if ioc { mc::TimeInForce::Ioc } else { mc::TimeInForce::Gtc };
                    mc::CommandKind::Submit(mc::SubmitCmd {
                        order: mc::NewOrder::Limit(mc::LimitOrder::new(
                            mc::Price(price),
                            mc::QuantityPolicy::Standard { quantity: mc::Quantity(qty) },
                            mc::OrderFlags::new(side(is_buy(sd)), false, tif),
                        )),
                    })
                }
                PeerOp::Market { side: sd, qty, .. } => mc::CommandKind::Submit(mc::SubmitCmd {
                    order: mc::NewOrder::Market(mc::MarketOrder::new(mc::Quantity(qty), side(is_buy(sd)), false)),
                }),
                PeerOp::Cancel { id, .. } => mc::CommandKind::Cancel(mc::CancelCmd {
                    order_id: ids.remove(&id).unwrap_or(mc::OrderId(u64::MAX)),
                    order_kind: mc::OrderKind::Limit,
                }),
                PeerOp::Amend { id, old_price, old_leaves, price, leaves, .. } => {
                    let mut patch = mc::LimitOrderPatch::new();
                    if price != old_price {
                        patch = patch.with_price(mc::Price(price));
                    }
                    if leaves != old_leaves {
                        patch =
                            patch.with_quantity_policy(mc::QuantityPolicy::Standard { quantity: mc::Quantity(leaves) });
                    }
                    mc::CommandKind::Amend(mc::AmendCmd {
                        order_id: ids.get(&id).copied().unwrap_or(mc::OrderId(u64::MAX)),
                        patch: mc::AmendPatch::Limit(patch),
                    })
                }
            };
            out.push((b as u32, mc::Command { meta, kind }));
        }
        out
    }

    #[inline]
    fn apply(&mut self, op: &Self::Op) {
        let outcome = self.books[op.0 as usize].execute(&op.1);
        std::hint::black_box(&outcome);
    }

    fn summary(&self, book: usize) -> BookSummary {
        let l2 = mc::Level2::from(&self.books[book]);
        BookSummary {
            best_bid: l2.best_bid_price().map(|p| p.0),
            best_ask: l2.best_ask_price().map(|p| p.0),
            bid_qty: l2.bid_levels().iter().map(|l| l.1 .0).sum(),
            ask_qty: l2.ask_levels().iter().map(|l| l.1 .0).sum(),
        }
    }
}
