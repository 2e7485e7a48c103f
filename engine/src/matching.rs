//! The matching loop: a taker sweeps the opposite side in price-time
//! priority, trading at each maker's price, with self-trade prevention.

use crate::engine::{Engine, Out, Taker, TakerEnd};
use crate::event::*;
use crate::instrument::NO_PERP;
use crate::order_book::crosses;
use crate::order_pool::{Slot, ICEBERG, LISTED, NIL, REDUCE_ONLY};
use crate::risk::rebate;
use crate::types::*;

impl Engine {
    /// Matches `taker` against the opposite side of instrument `ii` until it
    /// is filled, nothing more crosses its limit, or self-trade prevention
    /// ends it. Emits trades, maker cancels and one `LevelChanged` per level
    /// touched. The caller decides what happens to the remainder.
    #[inline(always)]
    pub(crate) fn match_taker<S: EventSink>(&mut self, ii: usize, taker: &mut Taker, out: &mut Out<'_, S>) -> TakerEnd {
        let maker_side = taker.side.opposite();
        let instrument = self.instruments[ii].spec.id;
        let perp = self.instruments[ii].perp;
        let big_book = self.prefetch_pays();
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
                let mut maker = *self.orders.get(s);
                let mut next = self.orders.links(s).next;
                if big_book {
                    // The next maker's lines and this one's neighbours (if it fills, it is
                    // unlinked) load while this trade is worked out.
                    if next != NIL {
                        self.orders.prefetch_order(next);
                        self.orders.prefetch_links(next);
                    }
                    self.prefetch_unlink(s, maker.order_id);
                    self.index.prefetch_client(maker.account, maker.client_order_id);
                }
                if perp != NO_PERP && maker.flags & REDUCE_ONLY != 0 {
                    // A reduce-only maker never outgrows its owner's position (docs/futures.md).
                    maker.leaves = self.fit_reduce_only(perp as usize, s, out);
                    touched = true;
                    if maker.leaves == 0 {
                        self.release(s);
                        s = next;
                        continue;
                    }
                }
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
                    // An iceberg trades its visible slice only; the hidden rest comes back as the
                    // next slice, at the back of the level.
                    let iceberg = maker.flags & ICEBERG != 0;
                    let shown = if iceberg { self.visible_qty(s, &maker) } else { maker.leaves };
                    let q = taker.leaves.min(shown);
                    let maker_leaves = maker.leaves - q;
                    taker.leaves -= q;
                    self.levels.get_mut(l).total_qty -= q;
                    let trade_id = self.next_trade_id;
                    self.next_trade_id += 1;
                    let (maker_fee, taker_fee) = if !self.config.risk_checks {
                        (0, 0)
                    } else if perp != NO_PERP {
                        self.perp_fees(perp as usize, s, maker_side, taker, level_price, q)
                    } else {
                        self.settle(ii, s, maker_side, maker.account, maker_leaves, taker, level_price, q)
                    };
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
                        maker_fee,
                        taker_fee,
                    }));
                    if perp != NO_PERP && self.config.risk_checks {
                        // After the trade event: a deficit it leaves is covered after it.
                        self.settle_perp(perp as usize, &maker, taker, level_price, q, (maker_fee, taker_fee), out);
                    }
                    touched = true;
                    self.instruments[ii].reference_price = level_price;
                    if maker.flags & LISTED != 0 {
                        self.listed_maker_traded(s);
                    }
                    if maker_leaves == 0 {
                        // Leaves (and an iceberg's slice) are already zero, so the level total is
                        // untouched here.
                        self.orders.get_mut(s).leaves = 0;
                        if iceberg {
                            self.icebergs.get_mut(s).visible = 0;
                        }
                        self.detach_from_level(s);
                        self.release(s);
                    } else {
                        self.orders.get_mut(s).leaves = maker_leaves;
                        // A slice that traded out is replaced at the back of the level, and this
                        // pass reaches it there if the taker gets that far (so a level is one
                        // pass, with one `LevelChanged`, wherever the iceberg was).
                        if iceberg && self.iceberg_traded(ii, s, l, q, out) && next == NIL {
                            next = s;
                        }
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

    /// An iceberg maker traded `q` of its slice: the slice shrinks, and one that traded out is
    /// replaced by the next at the back of level `l` (`IcebergSliced`). Returns whether it was.
    #[cold]
    #[inline(never)]
    fn iceberg_traded<S: EventSink>(&mut self, ii: usize, s: Slot, l: u32, q: Qty, out: &mut Out<'_, S>) -> bool {
        let e = self.icebergs.get_mut(s);
        e.visible -= q;
        if e.visible != 0 {
            return false;
        }
        self.detach_from_level(s);
        self.append_to_level(s, l);
        self.emit_iceberg_slice(ii, s, false, out);
        true
    }

    /// Settles one trade of `qty` at `price` between the resting order in
    /// `slot` and the taker (risk mode): both sides' balances and
    /// reservations, fees, the maker rebate, the fee account, and the buyer's
    /// price improvement. Returns (maker fee net of rebate, taker fee).
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &mut self,
        ii: usize,
        slot: crate::order_pool::Slot,
        maker_side: Side,
        maker_account: AccountId,
        maker_leaves: Qty,
        taker: &mut Taker,
        price: Price,
        qty: Qty,
    ) -> (i64, i64) {
        let spec = self.instruments[ii].spec;
        let (base, quote, scale) = (spec.base_asset, spec.quote_asset, spec.qty_scale);
        let mut mr = self.risk[slot as usize];
        let maker_buys = maker_side == Side::Buy;
        let ((cost, fee_b), (proceeds, fee_s)) = if maker_buys {
            (
                mr.settle_buy(price, qty, scale, mr.maker_ppm),
                taker.risk.settle_sell(price, qty, scale, taker.risk.taker_ppm),
            )
        } else {
            (
                taker.risk.settle_buy(price, qty, scale, taker.risk.taker_ppm),
                mr.settle_sell(price, qty, scale, mr.maker_ppm),
            )
        };
        let (maker_charged, taker_fee, maker_notional) =
            if maker_buys { (fee_b, fee_s, cost) } else { (fee_s, fee_b, proceeds) };
        let reb = rebate(maker_notional, mr.maker_ppm, taker_fee);
        let (buyer, seller) = if maker_buys { (maker_account, taker.account) } else { (taker.account, maker_account) };

        // Buyer: pays cost + fee out of its reservation, receives the base.
        self.debit_reserved(buyer, quote, cost + fee_b);
        self.credit(buyer, base, qty, BalanceReason::Trade);
        // Seller: delivers the base out of its reservation, receives proceeds net of its fee.
        self.debit_reserved(seller, base, qty);
        self.credit(seller, quote, proceeds - fee_s, BalanceReason::Trade);
        self.credit(maker_account, quote, reb, BalanceReason::Trade);
        // The fee account collects fees and rounding remainders, pays the
        // rebate (capped by this trade's taker fee). Cumulative rounding can
        // make one trade's remainder -1; the account's total cannot go below 0.
        let delta = cost as i128 - proceeds as i128 + fee_b as i128 + fee_s as i128 - reb as i128;
        let fee_acct = &mut self.accounts[self.config.fee_account as usize].balances[quote as usize];
        let new = fee_acct.available as i128 + delta;
        debug_assert!(new >= 0, "fee account went negative");
        fee_acct.available = new.max(0) as u64;

        // Reservations: the seller's shrinks by the base it delivered; the
        // buyer's by what it paid, and then down to what its remaining
        // quantity could still cost at its limit (price improvement released).
        let (buyer_risk, buyer_limit, buyer_leaves) =
            if maker_buys { (&mut mr, price, maker_leaves) } else { (&mut taker.risk, taker.limit, taker.leaves) };
        buyer_risk.reserved -= cost + fee_b;
        let need = buyer_risk.buy_requirement(buyer_limit, buyer_leaves, scale);
        let surplus = buyer_risk.reserved.saturating_sub(need);
        buyer_risk.reserved -= surplus;
        if maker_buys {
            taker.risk.reserved -= qty;
        } else {
            mr.reserved -= qty;
        }
        self.release_funds(buyer, quote, surplus, BalanceReason::Trade);
        self.risk[slot as usize] = mr;
        (maker_charged as i64 - reb as i64, taker_fee as i64)
    }
}
