//! The end of every command that touched the futures side (docs/futures.md, section 8): touched
//! accounts are re-keyed, keys the marks have crossed are popped from the liquidation indexes,
//! and liquidatable units are liquidated one at a time, first by (account, instrument), until
//! none is left; then the reduce-only sweep and the coalesced position and wallet events.
//!
//! A liquidation cancels the unit's orders, sends an IOC liquidation order at the bankruptcy
//! price into the book, lets the insurance fund take over what the book did not absorb if the
//! fund stays solvent, and otherwise auto-deleverages the most profitable, most leveraged
//! opposite positions.

use std::cmp::Reverse;

use crate::engine::{Engine, Out, Taker};
use crate::event::*;
use crate::futures_margin::index_entry_live;
use crate::order_pool::NIL;
use crate::position::{closing_side, side_sign};
use crate::risk::OrderRisk;
use crate::risk_tier::{floor_div, trade_cash, PPM};
use crate::types::*;

/// A cascade liquidates at most this many units per command before it gives up on the rest
/// (each liquidation closes a position or moves it to the solvent fund, so a real cascade is
/// bounded by the positions; this only bounds a bug).
const MAX_LIQUIDATIONS_PER_COMMAND: u32 = 1 << 20;

impl Engine {
    /// Marks account `a` for a re-key before the next liquidation check.
    pub(crate) fn mark_dirty(&mut self, a: AccountId) {
        self.fut.active = true;
        let m = &mut self.margin[a as usize];
        if !m.dirty {
            m.dirty = true;
            self.fut.dirty.push(a);
        }
    }

    /// A position changed (its `PositionChanged` follows at the end of the command).
    pub(crate) fn touch_pos(&mut self, a: AccountId, p: usize) {
        self.mark_dirty(a);
        let seq = self.last_seq;
        let pos = self.pos_mut(a, p);
        if pos.touched_seq != seq {
            pos.touched_seq = seq;
            self.fut.touched_pos.push((a, p as u32));
        }
    }

    /// A futures wallet changed (its `WalletChanged` follows at the end of the command).
    pub(crate) fn touch_wallet(&mut self, a: AccountId) {
        self.mark_dirty(a);
        let seq = self.last_seq;
        let m = &mut self.margin[a as usize];
        if m.touched_seq != seq {
            m.touched_seq = seq;
            self.fut.touched_wallet.push(a);
        }
    }

    fn rekey_dirty(&mut self) {
        while let Some(a) = self.fut.dirty.pop() {
            self.margin[a as usize].dirty = false;
            self.rekey(a);
        }
    }

    /// The first position of `a`, by instrument id, whose isolated position or cross account
    /// is liquidatable (surplus ≤ 0).
    fn first_liquidatable(&self, a: AccountId) -> Option<usize> {
        let n = self.margin[a as usize].positions.len();
        self.fut
            .by_id
            .iter()
            .map(|&p| p as usize)
            .filter(|&p| p < n && self.margin[a as usize].positions[p].size != 0)
            .find(|&p| self.surplus(a, p) <= 0)
    }

    /// The end-of-command step (see the module doc).
    pub(crate) fn after_futures_command<S: EventSink>(&mut self, out: &mut Out<'_, S>) {
        let mut rounds = 0;
        loop {
            self.rekey_dirty();
            for p in 0..self.perps.len() {
                let (perps, margin) = (&mut self.perps, &mut self.margin);
                while let Some(a) = perps[p].pop_crossed(|long, k, acct| {
                    let pos = &mut margin[acct as usize].positions[p];
                    let live = index_entry_live(pos, long, k);
                    if live {
                        pos.indexed = 0;
                    }
                    live
                }) {
                    perps[p].live -= 1;
                    self.fut.candidates.push(a);
                }
            }
            let c = &mut self.fut.candidates;
            c.sort_unstable_by(|x, y| y.cmp(x));
            c.dedup();
            let Some(a) = c.pop() else { break };
            match self.first_liquidatable(a) {
                Some(p) if rounds < MAX_LIQUIDATIONS_PER_COMMAND => {
                    rounds += 1;
                    self.liquidate(a, p, out);
                    // Its trades moved last prices: the stops they reached fire now, and what
                    // those trade is re-keyed and checked in the next round.
                    for q in 0..self.perps.len() {
                        let ii = self.perps[q].ii as usize;
                        self.run_triggers(ii, self.clock_ns, out);
                    }
                }
                Some(_) => {
                    debug_assert!(false, "a cascade of {MAX_LIQUIDATIONS_PER_COMMAND} liquidations: a bug");
                    self.fut.healthy.push(a)
                }
                None => self.fut.healthy.push(a),
            }
        }
        // A healthy account met with a crossed key is re-budgeted at the current marks, so
        // none of its keys stays crossed.
        while let Some(a) = self.fut.healthy.pop() {
            self.rekey(a);
        }
        self.sweep_reduce_only(out);
        self.emit_futures_changes(out);
        self.fut.active = false;
    }

    /// Liquidates account `a`'s isolated position on `trigger`, or its whole cross account.
    fn liquidate<S: EventSink>(&mut self, a: AccountId, trigger: usize, out: &mut Out<'_, S>) {
        let isolated = self.pos(a, trigger).isolated;
        // 1. Its orders: isolated, those on the instrument; cross, those on every perpetual it
        // is in cross mode on; in order-id order (its order list's order).
        let mut s = self.accounts[a as usize].head;
        while s != NIL {
            let next = self.orders.links(s).acct_next;
            let o = *self.orders.get(s);
            let ii = self.instrument_index(o.instrument).expect("a live order's instrument");
            let cancel = match self.perp_of(ii) {
                Some(p) if isolated => p == trigger,
                Some(p) => !self.pos(a, p).isolated,
                None => false,
            };
            if cancel {
                self.cancel_resting(s, CancelReason::Liquidation, out);
            }
            s = next;
        }
        // 2-5. Each position to the book, the fund, or ADL.
        self.fut.liquidating = Some(a);
        if isolated {
            self.close_by_liquidation(a, trigger, out);
        } else {
            for k in 0..self.fut.by_id.len() {
                let p = self.fut.by_id[k] as usize;
                let pos = self.pos(a, p);
                if pos.size != 0 && !pos.isolated {
                    self.close_by_liquidation(a, p, out);
                }
            }
        }
        self.fut.liquidating = None;
        // 6. What is left of the margin goes to the fund, a deficit covered first.
        let fund = self.config.insurance_account;
        let clearance = if isolated {
            let iso = self.margin[a as usize].positions[trigger].iso;
            if iso < 0 {
                self.cover(a, -iso, Some(trigger), out);
            }
            std::mem::take(&mut self.margin[a as usize].positions[trigger].iso)
        } else if a != fund {
            let w = self.margin[a as usize].wallet;
            if w < 0 {
                self.cover(a, -w, None, out);
            }
            std::mem::take(&mut self.margin[a as usize].wallet)
        } else {
            0
        };
        if clearance != 0 {
            self.margin[fund as usize].wallet += clearance;
            self.touch_wallet(fund);
            if !isolated {
                self.touch_wallet(a);
            }
        }
        self.touch_pos(a, trigger);
        out.emit(EventKind::LiquidationDone(LiquidationDone {
            account: a,
            instrument: self.perps[trigger].id,
            clearance,
        }));
    }

    /// Liquidation order at the bankruptcy price, then takeover by the insurance fund, else ADL.
    fn close_by_liquidation<S: EventSink>(&mut self, a: AccountId, p: usize, out: &mut Out<'_, S>) {
        let pos = self.pos(a, p);
        if pos.size == 0 {
            return;
        }
        let bankruptcy_price = self.bankruptcy_price(a, p);
        let (ii, instrument) = (self.perps[p].ii as usize, self.perps[p].id);
        out.emit(EventKind::Liquidation(Liquidation {
            account: a,
            instrument,
            size: pos.size,
            mark_price: self.perps[p].mark,
            liq_price: self.display_liq_price(a, p),
            bankruptcy_price,
        }));
        let side = closing_side(pos.size);
        if self.instruments[ii].state == InstrumentState::Trading {
            let mut taker = Taker {
                order_id: 0,
                client_order_id: 0,
                account: a,
                side,
                stp: StpMode::None,
                limit: bankruptcy_price,
                leaves: pos.size.unsigned_abs(),
                timestamp_ns: self.clock_ns,
                risk: OrderRisk::default(),
            };
            self.match_taker(ii, &mut taker, out);
        }
        let rest = self.pos(a, p).size.unsigned_abs();
        if rest == 0 {
            return;
        }
        let fund = self.config.insurance_account;
        if a != fund && self.fund_can_take(p, side, rest, bankruptcy_price) {
            out.emit(EventKind::TakenOver(TakenOver { account: a, instrument, qty: rest, price: bankruptcy_price }));
            self.transfer_position(p, a, fund, side, rest, bankruptcy_price, out);
            return;
        }
        self.deleverage(a, p, side, rest, bankruptcy_price, out);
    }

    /// Whether the fund's margin surplus stays > 0 after taking `q` at `price`.
    fn fund_can_take(&self, p: usize, side_from: Side, q: Qty, price: Price) -> bool {
        let fund = self.config.insurance_account;
        let s = self.perp_scale(p);
        let mut taken = self.pos(fund, p);
        let side = side_from.opposite();
        let cash = trade_cash(side, price, q, s);
        // The fund's position and basis stay within the bounds a trader's do (section 1):
        // beyond them the position goes to ADL instead.
        let size_after = taken.size as i128 + if side == Side::Buy { q as i128 } else { -(q as i128) };
        if size_after.unsigned_abs() >= crate::risk_tier::MAX_PERP_VALUE as u128
            || taken.cost as i128 + cash > crate::risk_tier::MAX_FUTURES_WALLET as i128
        {
            return false;
        }
        let (realised, _) = taken.apply_fill(side, q, price, cash as i64, s);
        let m = &self.margin[fund as usize];
        let mut surplus = m.wallet as i128 + realised as i128;
        for (j, pos) in m.positions.iter().enumerate() {
            let pos = if j == p { &taken } else { pos };
            if pos.size != 0 {
                surplus += self.excess(j, pos);
            }
        }
        if p >= m.positions.len() && taken.size != 0 {
            surplus += self.excess(p, &taken);
        }
        surplus > 0
    }

    /// A position moving from one account to another at `price` without fees (takeover, ADL).
    #[allow(clippy::too_many_arguments)]
    fn transfer_position<S: EventSink>(
        &mut self,
        p: usize,
        from: AccountId,
        to: AccountId,
        side_from: Side,
        q: Qty,
        price: Price,
        out: &mut Out<'_, S>,
    ) {
        let s = self.perp_scale(p);
        let cash = |side: Side| trade_cash(side, price, q, s) as i64;
        self.credit_fees(cash(Side::Buy) - cash(Side::Sell));
        self.settle_position(from, p, side_from, q, price, cash(side_from), 0, out);
        let side_to = side_from.opposite();
        self.settle_position(to, p, side_to, q, price, cash(side_to), 0, out);
    }

    /// ADL: opposite positions by score (PnL ratio × effective leverage) descending, then
    /// account id. Ranking reads every holder of the perpetual: ADL happens only when the
    /// fund cannot take a position over.
    fn deleverage<S: EventSink>(
        &mut self,
        a: AccountId,
        p: usize,
        side_from: Side,
        mut rest: Qty,
        price: Price,
        out: &mut Out<'_, S>,
    ) {
        let mut ranked = std::mem::take(&mut self.fut.ranking);
        ranked.clear();
        for &c in &self.perps[p].holders {
            let pos = self.pos(c, p);
            if c != a && pos.size * side_sign(side_from) > 0 {
                ranked.push((Reverse(self.adl_score(c, p)), c));
            }
        }
        ranked.sort_unstable();
        let instrument = self.perps[p].id;
        for &(_, c) in &ranked {
            if rest == 0 {
                break;
            }
            let q = rest.min(self.pos(c, p).size.unsigned_abs());
            out.emit(EventKind::AutoDeleveraged(AutoDeleveraged {
                account: a,
                counterparty: c,
                instrument,
                qty: q,
                price,
            }));
            self.transfer_position(p, a, c, side_from, q, price, out);
            rest -= q;
        }
        debug_assert_eq!(rest, 0, "the opposite side always holds the bankrupt position's size");
        self.fut.ranking = ranked;
    }

    /// BitMEX's and Binance's ranking: PnL ratio × effective leverage when in profit, PnL ratio
    /// ÷ effective leverage when not (effective leverage = notional / equity), both in ppm.
    fn adl_score(&self, c: AccountId, p: usize) -> i128 {
        let pos = self.pos(c, p);
        let upnl = self.upnl(p, &pos);
        let pnl_ppm = floor_div(upnl * PPM, (pos.cost as i128).max(1));
        let equity = if pos.isolated { pos.iso as i128 + upnl } else { self.cross_equity(c) };
        let notional = floor_div(pos.size.unsigned_abs() as i128 * self.perps[p].mark as i128, self.perp_scale(p));
        let lev_ppm = floor_div(notional * PPM, equity.max(1)).max(1);
        if pnl_ppm > 0 {
            // Both can be large (a basis near 1, an equity near 1): saturate, the rank is kept.
            pnl_ppm.saturating_mul(lev_ppm)
        } else {
            floor_div(pnl_ppm * PPM, lev_ppm)
        }
    }

    /// The coalesced `PositionChanged` and `WalletChanged` events, in first-change order.
    fn emit_futures_changes<S: EventSink>(&mut self, out: &mut Out<'_, S>) {
        for k in 0..self.fut.touched_pos.len() {
            let (a, p) = self.fut.touched_pos[k];
            let ev = self.position_changed(a, p as usize);
            out.emit(EventKind::PositionChanged(ev));
        }
        let asset = self.margin_asset.unwrap_or(0);
        for k in 0..self.fut.touched_wallet.len() {
            let a = self.fut.touched_wallet[k];
            out.emit(EventKind::WalletChanged(WalletChanged {
                account: a,
                asset,
                wallet: self.margin[a as usize].wallet,
                spot: self.accounts[a as usize].balances.get(asset as usize).map_or(0, |b| b.available),
            }));
        }
        for k in 0..self.fut.oi_changed.len() {
            let m = &self.perps[self.fut.oi_changed[k] as usize];
            if m.open_interest != m.oi_before {
                out.emit(EventKind::OpenInterestChanged(OpenInterestChanged {
                    instrument: m.id,
                    open_interest: m.open_interest,
                }));
            }
        }
        self.fut.touched_pos.clear();
        self.fut.touched_wallet.clear();
        self.fut.oi_changed.clear();
    }

    /// A position as `PositionChanged` reports it.
    pub(crate) fn position_changed(&self, a: AccountId, p: usize) -> PositionChanged {
        let pos = self.pos(a, p);
        // The index key of an isolated position, or of a cross account's only position, is
        // its liquidation price exactly (docs/futures.md, section 11.6), and keys are fresh
        // once a command's end-of-command step re-keyed what it touched.
        let only = pos.size != 0 && (pos.isolated || self.cross_positions(a).nth(1).is_none());
        let liq_price = if only { pos.key } else { self.display_liq_price(a, p) };
        PositionChanged {
            account: a,
            instrument: self.perps[p].id,
            size: pos.size,
            cost: pos.cost,
            entry_price: pos.entry_price(self.perp_scale(p)),
            realised_pnl: pos.realised,
            isolated_margin: pos.iso,
            liq_price,
        }
    }
}
