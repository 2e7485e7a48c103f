//! The matching loop: a taker sweeps the opposite side in price-time
//! priority, trading at each maker's price, with self-trade prevention.

use crate::engine::{Engine, Out, Taker, TakerEnd};
use crate::event::*;
use crate::order_book::crosses;
use crate::order_pool::NIL;
use crate::types::*;

impl Engine {
    /// Matches `taker` against the opposite side of instrument `ii` until it
    /// is filled, nothing more crosses its limit, or self-trade prevention
    /// ends it. Emits trades, maker cancels and one `LevelChanged` per level
    /// touched. The caller decides what happens to the remainder.
    pub(crate) fn match_taker<S: EventSink>(&mut self, ii: usize, taker: &mut Taker, out: &mut Out<'_, S>) -> TakerEnd {
        let maker_side = taker.side.opposite();
        let instrument = self.instruments[ii].spec.id;
        while taker.leaves > 0 {
            let Some(l) = self.instruments[ii].book.side(maker_side).best() else { break };
            let level_price = self.levels.get(l).price;
            if !crosses(taker.side, taker.limit, level_price) {
                break;
            }
            let mut touched = false;
            let mut end = TakerEnd::Done;
            let mut s = self.levels.get(l).head;
            while s != NIL && taker.leaves > 0 {
                let maker = *self.orders.get(s);
                let next = maker.next;
                if maker.account == taker.account && taker.stp != StpMode::None {
                    out.emit(EventKind::SelfTradePrevented(SelfTradePrevented {
                        account: taker.account,
                        instrument,
                        maker_order_id: maker.order_id,
                        taker_order_id: taker.order_id,
                        mode: taker.stp,
                        qty: taker.leaves.min(maker.leaves),
                    }));
                    if taker.stp == StpMode::CancelTaker {
                        end = TakerEnd::CancelledBySelfTrade;
                        break;
                    }
                    self.detach_from_level(s);
                    out.emit(EventKind::Cancelled(Cancelled {
                        account: maker.account,
                        order_id: maker.order_id,
                        client_order_id: maker.client_order_id,
                        instrument,
                        side: maker_side,
                        cancelled_qty: maker.leaves,
                        filled_qty: maker.filled(),
                        reason: CancelReason::SelfTrade,
                    }));
                    self.release(s);
                    touched = true;
                    if taker.stp == StpMode::CancelBoth {
                        end = TakerEnd::CancelledBySelfTrade;
                        break;
                    }
                } else {
                    let q = taker.leaves.min(maker.leaves);
                    let maker_leaves = maker.leaves - q;
                    taker.leaves -= q;
                    self.levels.get_mut(l).total_qty -= q;
                    let trade_id = self.next_trade_id;
                    self.next_trade_id += 1;
                    out.emit(EventKind::Trade(Trade {
                        trade_id,
                        instrument,
                        price: level_price,
                        qty: q,
                        taker_side: taker.side,
                        maker_order_id: maker.order_id,
                        maker_account: maker.account,
                        maker_client_order_id: maker.client_order_id,
                        maker_leaves,
                        taker_order_id: taker.order_id,
                        taker_account: taker.account,
                        taker_client_order_id: taker.client_order_id,
                        taker_leaves: taker.leaves,
                        timestamp_ns: taker.timestamp_ns,
                    }));
                    touched = true;
                    self.instruments[ii].reference_price = level_price;
                    if maker_leaves == 0 {
                        // Leaves are already zero, so the level total is untouched here.
                        self.orders.get_mut(s).leaves = 0;
                        self.detach_from_level(s);
                        self.release(s);
                    } else {
                        self.orders.get_mut(s).leaves = maker_leaves;
                    }
                }
                s = next;
            }
            if touched {
                self.emit_level_and_drop_if_empty(ii, maker_side, l, out);
            }
            if end != TakerEnd::Done {
                return end;
            }
        }
        TakerEnd::Done
    }
}
