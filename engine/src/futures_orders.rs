//! Orders and fills on perpetuals (docs/futures.md, sections 3 and 5): the margin check that
//! replaces spot's reservation, the resting orders' aggregates that order margin is computed
//! from, reduce-only orders, and the settlement of a fill into positions and wallets.

use crate::command::{AdvancedOrder, StopOrder};
use crate::engine::{Engine, Out, PlaceOptions, Taker};
use crate::event::*;
use crate::order_pool::{Order, Slot, NIL, REDUCE_ONLY};
use crate::position::{closable, side_ix, Position};
use crate::risk_tier::MAX_PERP_VALUE;
use crate::risk_tier::{ceil_div, floor_div, trade_cash, PPM};
use crate::stop_orders::StopOptions;
use crate::types::*;

impl Engine {
    /// `NewAdvancedOrder` on a perpetual, or with a perpetual's flags: steps 1–3 of a new order,
    /// then the options a perpetual takes (GTD, reduce-only, close-position, stops on the last
    /// trade price or the mark; iceberg and quote-quantity orders are spot only for now), then the order as
    /// `NewOrder`, or a stop as `NewStopOrder`. Returns the instrument's position once placed,
    /// `None` for a stop (armed, or refused with its own event).
    pub(crate) fn new_perp_order<S: EventSink>(
        &mut self,
        account: AccountId,
        ts: u64,
        a: &AdvancedOrder,
        out: &mut Out<'_, S>,
    ) -> Result<Option<usize>, RejectReason> {
        self.trading_account(account)?;
        let ii = self.instrument_index(a.order.instrument).ok_or(RejectReason::UnknownInstrument)?;
        if self.instruments[ii].state != InstrumentState::Trading {
            return Err(RejectReason::InstrumentNotTrading);
        }
        let Some(p) = self.perp_of(ii) else { return Err(RejectReason::InvalidField) };
        if a.display_qty != 0 || a.quote_qty != 0 {
            return Err(RejectReason::InvalidField);
        }
        let mut order = a.order;
        let closable = closable(self.pos(account, p).size, order.side);
        if a.close_position {
            if order.order_type != OrderType::Market || order.qty != 0 {
                return Err(RejectReason::InvalidField);
            }
            order.qty = closable;
            if order.qty == 0 {
                return Err(RejectReason::ReduceOnlyWouldOpen);
            }
        }
        if let Some((trigger_price, trigger)) = a.trigger {
            // Reduce-only at arming too: a stop that could only open is refused now.
            if a.reduce_only && order.qty > closable {
                return Err(RejectReason::ReduceOnlyWouldOpen);
            }
            let stop = StopOrder { order, trigger_price, trigger };
            let opts = StopOptions {
                expire_time_ns: a.expire_time_ns,
                trailing: a.trailing,
                reduce_only: a.reduce_only,
                close_position: a.close_position,
                source: a.trigger_source,
            };
            self.new_stop_order(account, ts, &stop, opts, CommandType::NewAdvancedOrder, out);
            return Ok(None);
        }
        self.validate_new_order(account, &order)?;
        self.validate_expiry(a.expire_time_ns)?;
        let opts = PlaceOptions {
            expire_time_ns: a.expire_time_ns,
            reduce_only: a.reduce_only || a.close_position,
            ..PlaceOptions::NONE
        };
        self.place_order(ii, account, ts, &order, opts, None, out)?;
        Ok(Some(ii))
    }

    /// The margin checks of an amend of the resting perpetual order in `slot` to `price` and
    /// `leaves`: a reduce-only order must still fit its position; another one is checked as
    /// a new order of its new size would be, with its old size taken out first. An amend
    /// that only shrinks the order passes (it holds less).
    pub(crate) fn check_perp_amend(
        &self,
        ii: usize,
        p: usize,
        slot: Slot,
        price: Price,
        leaves: Qty,
    ) -> Result<(), RejectReason> {
        let o = *self.orders.get(slot);
        let old_price = self.levels.get(o.level).price;
        let mut pos = self.pos(o.account, p);
        if price >= MAX_PERP_VALUE {
            return Err(RejectReason::OutsidePriceBand);
        }
        let reduce_only = o.flags & REDUCE_ONLY != 0;
        if reduce_only && leaves > closable(pos.size, o.side) {
            return Err(RejectReason::ReduceOnlyWouldOpen);
        }
        if price == old_price && leaves <= o.leaves {
            return Ok(());
        }
        // It rests at its new price unless it crosses: then it is margined on its walk.
        let (q, n, top) = if crate::order_book::crosses(o.side, price, self.best_opposite(ii, o.side)) {
            self.walk(ii, o.side, price, leaves)
        } else {
            (leaves, price as u128 * leaves as u128, price)
        };
        if reduce_only {
            let fits = self.within_cap(p, &pos, leaves as i128, top);
            return if fits { Ok(()) } else { Err(RejectReason::PositionLimitExceeded) };
        }
        let before = self.order_margin(o.account, p, &pos);
        let side = &mut pos.open[side_ix(o.side)];
        side.qty -= o.leaves;
        side.notional -= old_price as u128 * o.leaves as u128;
        if !self.within_cap(p, &pos, self.worst_size(&pos, Some((o.side, leaves))), top) {
            return Err(RejectReason::PositionLimitExceeded);
        }
        let need =
            self.order_need_on(o.account, p, &pos, o.side, q, n) + self.order_margin(o.account, p, &pos) - before;
        if need > 0 && need > self.available(o.account) {
            return Err(RejectReason::InsufficientMargin);
        }
        Ok(())
    }

    /// The best opposite price for a `side` order (0 or u64::MAX when empty, so nothing crosses).
    fn best_opposite(&self, ii: usize, side: Side) -> Price {
        match self.instruments[ii].book.side(side.opposite()).best() {
            Some(l) => self.levels.get(l).price,
            None if side == Side::Buy => Price::MAX,
            None => 0,
        }
    }

    /// Checks F1–F3 of docs/futures.md for a new order on perpetual `p` (its limit already
    /// resolved; `rests` when it can rest).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_perp_order(
        &self,
        ii: usize,
        p: usize,
        account: AccountId,
        side: Side,
        limit: Price,
        qty: Qty,
        rests: bool,
        reduce_only: bool,
    ) -> Result<(), RejectReason> {
        let pos = self.pos(account, p);
        if reduce_only && qty > closable(pos.size, side) {
            return Err(RejectReason::ReduceOnlyWouldOpen);
        }
        // An order that can rest is margined at its limit; one that cannot, on its walk.
        let (q, n, top) =
            if rests { (qty, limit as u128 * qty as u128, limit) } else { self.walk(ii, side, limit, qty) };
        let size = if reduce_only { qty as i128 } else { self.worst_size(&pos, Some((side, qty))) };
        if !self.within_cap(p, &pos, size, top) {
            return Err(RejectReason::PositionLimitExceeded);
        }
        if reduce_only {
            return Ok(());
        }
        if !self.order_fits(account, p, side, q, n) {
            return Err(RejectReason::InsufficientMargin);
        }
        Ok(())
    }

    /// What an order that cannot rest will fill: (qty, Σ price × qty, the highest price it
    /// reaches, 0 if none) over the opposite levels crossing `limit`, best first, as the
    /// matching loop will take them.
    fn walk(&self, ii: usize, side: Side, limit: Price, qty: Qty) -> (Qty, u128, Price) {
        let (mut left, mut n, mut top) = (qty, 0u128, 0);
        for l in self.instruments[ii].book.side(side.opposite()).iter_best_first() {
            let level = self.levels.get(l);
            if left == 0 || !crate::order_book::crosses(side, limit, level.price) {
                break;
            }
            let q = left.min(level.total_qty);
            n += q as u128 * level.price as u128;
            top = top.max(level.price);
            left -= q;
        }
        (qty - left, n, top)
    }

    /// F2 (docs/futures.md, section 5) of `qty` of an order that trades at prices up to `top`:
    /// the notional at the higher of the mark and `top` of `size` (the worst-case position, or
    /// a reduce-only order's own quantity) within the cap at the leverage in force, and the
    /// size below 2^48, so every fill's cash and every basis stays within i64.
    fn within_cap(&self, p: usize, pos: &Position, size: i128, top: Price) -> bool {
        let cap = self.perps[p].tiers.cap(self.leverage(p, pos)).unwrap_or(0);
        let at = self.perps[p].mark.max(top) as i128;
        size < MAX_PERP_VALUE as i128 && ceil_div(size * at, self.perp_scale(p)) <= cap as i128
    }

    /// A perpetual order came to rest at `price` with `leaves`: its position record counts it.
    pub(crate) fn perp_order_rested(&mut self, p: usize, slot: Slot, price: Price) {
        let o = *self.orders.get(slot);
        // Perpetual orders reserve nothing; their risk slot keeps their price for the
        // aggregates when they leave (their level may be gone by then).
        self.risk[slot as usize].settled = price;
        let pos = self.pos_mut(o.account, p);
        pos.orders += 1;
        if o.flags & REDUCE_ONLY == 0 {
            let side = &mut pos.open[side_ix(o.side)];
            side.qty += o.leaves;
            side.notional += price as u128 * o.leaves as u128;
        } else {
            let bound = &mut pos.ro_bound[side_ix(o.side)];
            *bound = (*bound).max(o.leaves);
            let head = &mut self.margin[o.account as usize].reduce_only.0;
            self.ro_next[slot as usize] = std::mem::replace(head, slot);
        }
    }

    /// The slots of account `a`'s resting reduce-only orders, in no order.
    fn reduce_only_slots(&self, a: AccountId) -> impl Iterator<Item = Slot> + '_ {
        let first = self.margin[a as usize].reduce_only.0;
        std::iter::successors((first != NIL).then_some(first), |&s| {
            let next = self.ro_next[s as usize];
            (next != NIL).then_some(next)
        })
    }

    /// A resting perpetual order's leaves shrank by `q` (a fill or an amend down).
    pub(crate) fn perp_order_shrank(&mut self, p: usize, o: &Order, price: Price, q: Qty) {
        if o.flags & REDUCE_ONLY == 0 {
            let side = &mut self.pos_mut(o.account, p).open[side_ix(o.side)];
            side.qty -= q;
            side.notional -= price as u128 * q as u128;
        }
    }

    /// A perpetual order left (its slot is being released with these leaves).
    pub(crate) fn perp_order_gone(&mut self, p: usize, slot: Slot, o: &Order, price: Price) {
        self.perp_order_shrank(p, o, price, o.leaves);
        self.pos_mut(o.account, p).orders -= 1;
        if o.flags & REDUCE_ONLY != 0 {
            let next = self.ro_next[slot as usize];
            let head = &mut self.margin[o.account as usize].reduce_only.0;
            if *head == slot {
                *head = next;
            } else {
                let mut s = *head;
                while s != NIL && self.ro_next[s as usize] != slot {
                    s = self.ro_next[s as usize];
                }
                debug_assert!(s != NIL, "a resting reduce-only order is in its account's list");
                if s != NIL {
                    self.ro_next[s as usize] = next;
                }
            }
            self.ro_next[slot as usize] = NIL;
        }
    }

    /// A reduce-only maker met by the matching loop (or the sweep) whose leaves exceed what its
    /// owner can close: cut to that (`Trimmed`, priority kept) or, with nothing to close,
    /// cancelled. Returns the leaves it keeps (0: gone; the caller then releases the slot).
    pub(crate) fn fit_reduce_only<S: EventSink>(&mut self, p: usize, slot: Slot, out: &mut Out<'_, S>) -> Qty {
        let o = *self.orders.get(slot);
        let c = closable(self.pos(o.account, p).size, o.side);
        if o.leaves <= c {
            return o.leaves;
        }
        if c == 0 {
            self.detach_from_level(slot);
            out.emit(crate::engine::cancelled(&o, CancelReason::ReduceOnly));
            return 0;
        }
        let cut = o.leaves - c;
        // The cut never traded: the order's quantity shrinks with its leaves, so what it
        // reports filled stays what it filled.
        let order = self.orders.get_mut(slot);
        order.leaves = c;
        order.qty -= cut;
        self.levels.get_mut(o.level).total_qty -= cut;
        out.emit(EventKind::Trimmed(Trimmed {
            account: o.account,
            order_id: o.order_id,
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            leaves: c,
            cut,
        }));
        c
    }

    /// Fees of a fill of `q` at `price` (section 1, per fill): (maker fee, negative for a
    /// rebate, taker fee). A liquidation order (order id 0) pays none, so its maker gets no
    /// rebate.
    pub(crate) fn perp_fees(
        &self,
        p: usize,
        maker_slot: Slot,
        maker_side: Side,
        taker: &Taker,
        price: Price,
        q: Qty,
    ) -> (i64, i64) {
        let s = self.perp_scale(p);
        let (n_maker, n_taker) = (trade_cash(maker_side, price, q, s), trade_cash(taker.side, price, q, s));
        let fee = |n: i128, r: FeePpm| if r > 0 { ceil_div(n * r as i128, PPM) } else { 0 };
        let taker_fee = if taker.order_id == 0 { 0 } else { fee(n_taker, taker.risk.taker_ppm) };
        let maker_ppm = self.risk[maker_slot as usize].maker_ppm;
        let maker_fee = if maker_ppm >= 0 {
            fee(n_maker, maker_ppm)
        } else {
            -floor_div(n_maker * -(maker_ppm as i128), PPM).min(taker_fee)
        };
        (maker_fee as i64, taker_fee as i64)
    }

    /// Settles a fill on perpetual `p` after its `Trade`: cash rounding (buyer up, seller down,
    /// the difference to the fee account), fees, then the maker's and the taker's positions.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn settle_perp<S: EventSink>(
        &mut self,
        p: usize,
        maker: &Order,
        taker: &Taker,
        price: Price,
        q: Qty,
        (maker_fee, taker_fee): (i64, i64),
        out: &mut Out<'_, S>,
    ) {
        let s = self.perp_scale(p);
        let cash = |side: Side| trade_cash(side, price, q, s) as i64;
        self.credit_fees(cash(Side::Buy) - cash(Side::Sell) + taker_fee + maker_fee);
        if maker.flags & REDUCE_ONLY == 0 {
            self.perp_order_shrank(p, maker, price, q);
        }
        self.settle_position(maker.account, p, maker.side, q, price, cash(maker.side), maker_fee, out);
        self.settle_position(taker.account, p, taker.side, q, price, cash(taker.side), taker_fee, out);
    }

    /// The fee account's share of a futures fill or transfer (never negative: rebates are
    /// capped by the same fill's taker fee).
    pub(crate) fn credit_fees(&mut self, amount: i64) {
        debug_assert!(amount >= 0);
        let Some(asset) = self.margin_asset else { return };
        let b = &mut self.accounts[self.config.fee_account as usize].balances[asset as usize];
        b.available = b.available.saturating_add(amount.max(0) as u64);
    }

    /// Settles one side of a fill: position, realised PnL and fee into the margin (isolated:
    /// the position's margin, which also receives the opening part's IM from the wallet).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn settle_position<S: EventSink>(
        &mut self,
        a: AccountId,
        p: usize,
        side: Side,
        q: Qty,
        price: Price,
        cash: i64,
        fee: i64,
        out: &mut Out<'_, S>,
    ) {
        let s = self.perp_scale(p);
        let liquidating = self.fut.liquidating == Some(a);
        let wallet_before = self.margin[a as usize].wallet;
        let pos = *self.pos_mut(a, p);
        let mut next = pos;
        let (realised, cash_open) = next.apply_fill(side, q, price, cash, s);
        let delta = realised - fee;
        let leverage = self.leverage(p, &next);
        let m = &mut self.margin[a as usize];
        if next.isolated {
            next.iso += delta;
            if cash_open > 0 {
                let moved = ceil_div(cash_open as i128, leverage as i128).min(m.wallet.max(0) as i128) as i64;
                m.wallet -= moved;
                next.iso += moved;
            }
        } else {
            m.wallet += delta;
        }
        m.positions[p] = next;
        self.position_resized(p, a, pos.size, next.size);
        self.touch_pos(a, p);
        if closable(next.size, Side::Buy) < closable(pos.size, Side::Buy)
            || closable(next.size, Side::Sell) < closable(pos.size, Side::Sell)
        {
            // What its reduce-only orders may close shrank: the end-of-command sweep looks.
            self.pos_mut(a, p).shrank_seq = self.last_seq;
        }
        if next.isolated && next.size == 0 && !liquidating {
            // A closed isolated position returns its margin to the wallet; a deficit is the fund's.
            if next.iso < 0 {
                self.cover(a, -next.iso, Some(p), out);
            }
            let m = &mut self.margin[a as usize];
            m.wallet += std::mem::take(&mut m.positions[p].iso);
        }
        let w = self.margin[a as usize].wallet;
        if w != wallet_before {
            self.touch_wallet(a);
        }
        if w < 0 && !liquidating && self.cross_positions(a).next().is_none() {
            self.cover(a, -w, None, out);
        }
    }

    /// Open interest and holders follow a size change.
    pub(crate) fn position_resized(&mut self, p: usize, a: AccountId, before: i64, after: i64) {
        let m = &mut self.perps[p];
        if before.max(0) != after.max(0) {
            if m.oi_seq != self.last_seq {
                m.oi_seq = self.last_seq;
                m.oi_before = m.open_interest;
                self.fut.oi_changed.push(p as u32);
            }
            m.open_interest = m.open_interest - before.max(0) as u64 + after.max(0) as u64;
        }
        match (before != 0, after != 0) {
            (false, true) => m.add_holder(a, &mut self.margin[a as usize].positions[p]),
            (true, false) => {
                if let Some((moved, ix)) = m.remove_holder(&self.margin[a as usize].positions[p]) {
                    self.margin[moved as usize].positions[p].holder_ix = ix;
                }
            }
            _ => {}
        }
    }

    /// The insurance fund pays an account's deficit (into its wallet, or into its isolated
    /// margin on `iso`). The fund's own deficit stays where it is (docs/futures.md, open
    /// question 2).
    pub(crate) fn cover<S: EventSink>(&mut self, a: AccountId, amount: i64, iso: Option<usize>, out: &mut Out<'_, S>) {
        debug_assert!(amount > 0);
        let fund = self.config.insurance_account;
        if a == fund {
            return;
        }
        self.margin[fund as usize].wallet -= amount;
        self.touch_wallet(fund);
        match iso {
            Some(p) => {
                self.margin[a as usize].positions[p].iso += amount;
                self.touch_pos(a, p);
            }
            None => {
                self.margin[a as usize].wallet += amount;
                self.touch_wallet(a);
            }
        }
        out.emit(EventKind::BankruptcyCovered(BankruptcyCovered { account: a, amount }));
    }

    /// At the end of a command: every resting reduce-only order on a position that changed,
    /// whose leaves now exceed what its owner can close, is trimmed or cancelled, in
    /// increasing order id.
    pub(crate) fn sweep_reduce_only<S: EventSink>(&mut self, out: &mut Out<'_, S>) {
        let mut found = std::mem::take(&mut self.fut.sweep);
        found.clear();
        let mut checked = std::mem::take(&mut self.fut.checked);
        checked.clear();
        for &(a, p) in &self.fut.touched_pos {
            let pos = self.pos(a, p as usize);
            // Only a side whose closable quantity fell below its largest reduce-only order
            // can hold one to cut.
            let over = |side| closable(pos.size, side) < pos.ro_bound[side_ix(side)];
            if pos.shrank_seq != self.last_seq || !(over(Side::Buy) || over(Side::Sell)) {
                continue;
            }
            checked.push((a, p));
            let id = self.perps[p as usize].id;
            for s in self.reduce_only_slots(a) {
                let o = self.orders.get(s);
                if o.instrument == id {
                    found.push((o.order_id, s));
                }
            }
        }
        found.sort_unstable();
        for &(_, s) in &found {
            let o = *self.orders.get(s);
            let p = self.perps_by_instrument(o.instrument);
            let l = o.level;
            if self.fit_reduce_only(p, s, out) == 0 {
                let ii = self.perps[p].ii as usize;
                self.emit_level_and_drop_if_empty(ii, o.side, l, out);
                self.release(s);
            } else if self.orders.get(s).leaves != o.leaves {
                let ii = self.perps[p].ii as usize;
                self.emit_level(ii, o.side, l, out);
            }
        }
        self.fut.sweep = found;
        // The checked positions' bounds are exact again.
        for &(a, p) in &checked {
            let id = self.perps[p as usize].id;
            let mut bound = [0; 2];
            for s in self.reduce_only_slots(a) {
                let o = self.orders.get(s);
                if o.instrument == id {
                    bound[side_ix(o.side)] = bound[side_ix(o.side)].max(o.leaves);
                }
            }
            self.margin[a as usize].positions[p as usize].ro_bound = bound;
        }
        self.fut.checked = checked;
    }

    /// The perpetual index of a perpetual instrument id.
    pub(crate) fn perps_by_instrument(&self, id: InstrumentId) -> usize {
        let ii = self.instrument_index(id).expect("a live order's instrument");
        self.perp_of(ii).expect("a perpetual")
    }
}
