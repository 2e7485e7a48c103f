//! Margin figures of futures accounts at the current marks (docs/futures.md, section 4):
//! equity, initial, order and maintenance margin, available and withdrawable amounts, the
//! margin surplus that decides liquidation, and the liquidation and bankruptcy prices. All are
//! computed from the account's positions (at most one per perpetual), never by a scan of other
//! accounts.

use crate::engine::Engine;
use crate::position::{closable, side_ix, Position, INDEXED_LONG, INDEXED_SHORT};
use crate::risk_tier::{ceil_div, floor_div, upnl_num, PPM};
use crate::types::*;

impl Engine {
    /// The perpetual index of instrument position `ii`, if it is a perpetual.
    #[inline]
    pub(crate) fn perp_of(&self, ii: usize) -> Option<usize> {
        let p = self.instruments[ii].perp;
        (p != crate::instrument::NO_PERP).then_some(p as usize)
    }

    /// `qty_scale` of perpetual `p`.
    #[inline]
    pub(crate) fn perp_scale(&self, p: usize) -> i128 {
        self.instruments[self.perps[p].ii as usize].spec.qty_scale as i128
    }

    /// Account `a`'s position on perpetual `p` (flat and default if it never had one).
    #[inline]
    pub(crate) fn pos(&self, a: AccountId, p: usize) -> Position {
        self.margin.get(a as usize).and_then(|m| m.positions.get(p)).copied().unwrap_or_default()
    }

    /// Account `a`'s position record on perpetual `p`, created if needed.
    pub(crate) fn pos_mut(&mut self, a: AccountId, p: usize) -> &mut Position {
        let m = &mut self.margin[a as usize];
        if m.positions.len() <= p {
            m.positions.resize(self.perps.len().max(p + 1), Position::default());
        }
        &mut m.positions[p]
    }

    /// Leverage in force.
    #[inline]
    pub(crate) fn leverage(&self, p: usize, pos: &Position) -> u32 {
        self.perps[p].tiers.leverage(pos.leverage)
    }

    /// Unrealised PnL at the mark, rounded down.
    pub(crate) fn upnl(&self, p: usize, pos: &Position) -> i128 {
        let s = self.perp_scale(p);
        floor_div(upnl_num(pos.size, pos.cost, self.perps[p].mark, s), s)
    }

    /// `floor(upnl − mm)` at the mark: the position's part of its margin surplus.
    pub(crate) fn excess(&self, p: usize, pos: &Position) -> i128 {
        let (s, mark) = (self.perp_scale(p), self.perps[p].mark);
        let mm = self.perps[p].tiers.mm_num(pos.size.unsigned_abs() as i128, mark, s);
        floor_div(upnl_num(pos.size, pos.cost, mark, s) * PPM - mm, s * PPM)
    }

    /// Maintenance margin at the mark, rounded up.
    pub(crate) fn maint_margin(&self, p: usize, pos: &Position) -> i128 {
        let s = self.perp_scale(p);
        ceil_div(self.perps[p].tiers.mm_num(pos.size.unsigned_abs() as i128, self.perps[p].mark, s), s * PPM)
    }

    /// Initial margin at the mark and the leverage in force, rounded up.
    pub(crate) fn initial_margin(&self, p: usize, pos: &Position) -> i128 {
        let s = self.perp_scale(p);
        ceil_div(pos.size.unsigned_abs() as i128 * self.perps[p].mark as i128, s * self.leverage(p, pos) as i128)
    }

    /// Notional of `qty` at the mark, rounded up.
    pub(crate) fn notional_at_mark(&self, p: usize, qty: i128) -> i128 {
        ceil_div(qty * self.perps[p].mark as i128, self.perp_scale(p))
    }

    /// Cross positions of `a` (size ≠ 0): (perpetual, position).
    pub(crate) fn cross_positions(&self, a: AccountId) -> impl Iterator<Item = (usize, &Position)> + '_ {
        self.margin[a as usize].positions.iter().enumerate().filter(|(_, q)| !q.isolated && q.size != 0)
    }

    /// Cross equity: wallet + Σ cross upnl (each rounded down).
    pub(crate) fn cross_equity(&self, a: AccountId) -> i128 {
        self.margin[a as usize].wallet as i128 + self.cross_positions(a).map(|(p, q)| self.upnl(p, q)).sum::<i128>()
    }

    /// Margin surplus deciding liquidation: isolated `iso + floor(upnl − mm)`; cross
    /// `wallet + Σ floor(upnl − mm)` over the cross positions.
    pub(crate) fn surplus(&self, a: AccountId, p: usize) -> i128 {
        let pos = self.pos(a, p);
        if pos.isolated {
            pos.iso as i128 + self.excess(p, &pos)
        } else {
            self.margin[a as usize].wallet as i128
                + self.cross_positions(a).map(|(j, q)| self.excess(j, q)).sum::<i128>()
        }
    }

    /// Order margin of one side: IM and taker fee on the part that would open a position, the
    /// side's notional prorated by quantity (docs/futures.md, "Order margin").
    fn side_margin(&self, p: usize, q: u128, n: u128, closable: u64, leverage: u32, taker_ppm: FeePpm) -> i128 {
        let (q, n, c) = (q as i128, n as i128, closable as i128);
        if q <= c {
            return 0;
        }
        let s = self.perp_scale(p);
        let opening = ceil_div(ceil_div(n, s) * (q - c), q);
        let fee = if taker_ppm > 0 { ceil_div(opening * taker_ppm as i128, PPM) } else { 0 };
        ceil_div(opening, leverage as i128) + fee
    }

    /// The taker rate `a` pays on perpetual `p` (its fee tier's).
    pub(crate) fn taker_ppm(&self, a: AccountId, p: usize) -> FeePpm {
        let ii = self.perps[p].ii as usize;
        self.instruments[ii].fees.rates(self.accounts[a as usize].tier).taker_ppm
    }

    /// Order margin of `a` on `p`: both sides'.
    pub(crate) fn order_margin(&self, a: AccountId, p: usize, pos: &Position) -> i128 {
        self.side_margin_of(a, p, pos, Side::Buy, 0, 0) + self.side_margin_of(a, p, pos, Side::Sell, 0, 0)
    }

    /// Σ cross IM + Σ every order margin of `a`, less the order margin of `skip`'s side of
    /// its position there (`None`: nothing left out).
    fn margin_held(&self, a: AccountId, skip: Option<(usize, Side)>) -> i128 {
        let m = &self.margin[a as usize];
        let mut held = 0;
        for (p, pos) in m.positions.iter().enumerate() {
            if pos.size != 0 && !pos.isolated {
                held += self.initial_margin(p, pos);
            }
            if pos.open[0].qty != 0 || pos.open[1].qty != 0 {
                held += match skip {
                    Some((sp, side)) if sp == p => self.side_margin_of(a, p, pos, side.opposite(), 0, 0),
                    _ => self.order_margin(a, p, pos),
                };
            }
        }
        held
    }

    /// Available for new orders: cross equity − cross IM − every order margin.
    pub(crate) fn available(&self, a: AccountId) -> i128 {
        self.cross_equity(a) - self.margin_held(a, None)
    }

    /// Withdrawable: min(wallet, cross equity) − cross IM − every order margin.
    pub(crate) fn withdrawable(&self, a: AccountId) -> i128 {
        (self.margin[a as usize].wallet as i128).min(self.cross_equity(a)) - self.margin_held(a, None)
    }

    /// The order margin of `side` of `pos` with an extra `q` worth `n` added.
    fn side_margin_of(&self, a: AccountId, p: usize, pos: &Position, side: Side, q: u64, n: u128) -> i128 {
        let o = pos.open[side_ix(side)];
        let (l, taker) = (self.leverage(p, pos), self.taker_ppm(a, p));
        self.side_margin(p, o.qty as u128 + q as u128, o.notional + n, closable(pos.size, side), l, taker)
    }

    /// The immediate loss against the mark of the part of a new order (`q` worth `n`) that
    /// would open a position, rounded up.
    fn opening_loss(&self, p: usize, pos: &Position, side: Side, q: u64, n: u128) -> i128 {
        let open = pos.open[side_ix(side)].qty as i128;
        let c = closable(pos.size, side) as i128;
        let q_open = (open + q as i128 - c).max(0) - (open - c).max(0);
        let sign = if side == Side::Buy { 1 } else { -1 };
        let loss = (sign * (n as i128 - self.perps[p].mark as i128 * q as i128)).max(0);
        ceil_div(loss * q_open, q as i128 * self.perp_scale(p))
    }

    /// Whether a new non-reduce-only order of `q` worth `n` (Σ price × qty) passes F3: what it
    /// needs (the growth of its side's order margin plus the immediate loss of its opening
    /// part) is at most 0 or at most what is available. With `x` its side's margin after plus
    /// the loss and `before` its side's margin now, need = x − before and available =
    /// (available with that side left out) − before, so the common case (x fits what is
    /// available without that side) is decided without computing `before`.
    pub(crate) fn order_fits(&self, a: AccountId, p: usize, side: Side, q: u64, n: u128) -> bool {
        if q == 0 {
            return true;
        }
        let pos = self.pos(a, p);
        let x = self.side_margin_of(a, p, &pos, side, q, n) + self.opening_loss(p, &pos, side, q, n);
        let fits = x <= self.cross_equity(a) - self.margin_held(a, Some((p, side)))
            || x <= self.side_margin_of(a, p, &pos, side, 0, 0);
        debug_assert_eq!(fits, {
            let need = self.order_need_on(a, p, &pos, side, q, n);
            need <= 0 || need <= self.available(a)
        });
        fits
    }

    /// What a new non-reduce-only order of `q` worth `n` (Σ price × qty) needs free on
    /// position `pos`: the growth of its side's order margin plus the immediate loss of its
    /// opening part against the mark.
    pub(crate) fn order_need_on(&self, a: AccountId, p: usize, pos: &Position, side: Side, q: u64, n: u128) -> i128 {
        if q == 0 {
            return 0;
        }
        // The order margin of the other side does not change: only this side's is computed.
        self.side_margin_of(a, p, pos, side, q, n) - self.side_margin_of(a, p, pos, side, 0, 0)
            + self.opening_loss(p, pos, side, q, n)
    }

    /// Worst-case size if every non-reduce-only order of one side filled, with an extra order.
    pub(crate) fn worst_size(&self, pos: &Position, extra: Option<(Side, u64)>) -> i128 {
        let mut b = pos.open[0].qty as i128;
        let mut s = pos.open[1].qty as i128;
        match extra {
            Some((Side::Buy, q)) => b += q as i128,
            Some((Side::Sell, q)) => s += q as i128,
            None => {}
        }
        (pos.size as i128 + b).max(s - pos.size as i128)
    }

    /// The liquidation price users see: the account's other cross positions held at their
    /// current marks (0: none).
    pub(crate) fn display_liq_price(&self, a: AccountId, p: usize) -> Price {
        let pos = self.pos(a, p);
        if pos.size == 0 {
            return 0;
        }
        let k = self.margin_beside(a, p, &pos, |j, q| self.excess(j, q));
        self.perps[p].tiers.threshold(pos.size, pos.cost, k, self.perp_scale(p))
    }

    /// What stands behind position `p` of `a` besides itself: its isolated margin, or the
    /// wallet plus `part` of each other cross position (held at its current mark).
    fn margin_beside(&self, a: AccountId, p: usize, pos: &Position, part: impl Fn(usize, &Position) -> i128) -> i128 {
        if pos.isolated {
            return pos.iso as i128;
        }
        let others: i128 = self.cross_positions(a).filter(|(j, _)| *j != p).map(|(j, q)| part(j, q)).sum();
        self.margin[a as usize].wallet as i128 + others
    }

    /// The price at which the position's equity would be zero (others at their marks), rounded
    /// to the tick on the side that leaves the equity ≥ 0.
    pub(crate) fn bankruptcy_price(&self, a: AccountId, p: usize) -> Price {
        let pos = self.pos(a, p);
        let k = self.margin_beside(a, p, &pos, |j, q| self.upnl(j, q));
        let ii = self.perps[p].ii as usize;
        let tick = self.instruments[ii].spec.tick as i128;
        let (q, c, s) = (pos.size.unsigned_abs() as i128, pos.cost as i128, self.perp_scale(p));
        let price =
            if pos.size > 0 { ceil_div(s * (c - k), q * tick) * tick } else { floor_div(s * (c + k), q * tick) * tick };
        price.clamp(tick, u64::MAX as i128 / tick * tick) as Price
    }

    /// The perpetual of `a`'s only cross position, if it has exactly one and its maintenance
    /// margin is positive (tiers set, mark above 0: tier 0's line is `notional × rate`).
    fn single_cross(&self, a: AccountId) -> Option<usize> {
        let mut cross = self.cross_positions(a).map(|(p, _)| p);
        let p = cross.next()?;
        let m = &self.perps[p];
        (cross.next().is_none() && m.mark > 0 && !m.tiers.is_empty()).then_some(p)
    }

    /// Re-keys account `a` in the liquidation indexes. Isolated: exactly its liquidation price.
    /// Cross: the surplus `S` less one is split in proportion to the positions' maintenance
    /// margins into budgets (rounded down, so Σ b ≤ S − 1), and a position is keyed where its
    /// own `floor(upnl − mm)` has fallen by more than its budget, so no account with `S ≤ 0`
    /// can have every key uncrossed (docs/futures.md, "Budget keys").
    pub(crate) fn rekey(&mut self, a: AccountId) {
        let n = self.margin[a as usize].positions.len();
        let wallet = self.margin[a as usize].wallet as i128;
        let single = self.single_cross(a);
        let (mut surplus, mut mm_total) = (wallet, 0i128);
        if single.is_none() {
            for (p, q) in self.cross_positions(a) {
                surplus += self.excess(p, q);
                mm_total += self.maint_margin(p, q);
            }
        }
        for p in 0..n {
            let pos = self.margin[a as usize].positions[p];
            let s = self.perp_scale(p);
            let key = if pos.size == 0 {
                0
            } else if pos.isolated {
                self.perps[p].tiers.threshold(pos.size, pos.cost, pos.iso as i128, s)
            } else if single == Some(p) {
                // The only cross position's budget is all of S − 1 (mm > 0), so its key is
                // where wallet + floor(upnl − mm) reaches 0: `budget + 1 − excess` = wallet.
                debug_assert_eq!(wallet, {
                    let (excess, mm) = (self.excess(p, &pos), self.maint_margin(p, &pos));
                    floor_div((wallet + excess - 1) * mm, mm) + 1 - excess
                });
                self.perps[p].tiers.threshold(pos.size, pos.cost, wallet, s)
            } else {
                let (excess, mm) = (self.excess(p, &pos), self.maint_margin(p, &pos));
                let budget = floor_div((surplus - 1) * mm, mm_total.max(1));
                self.perps[p].tiers.threshold(pos.size, pos.cost, budget + 1 - excess, s)
            };
            let heap = match (key, pos.size > 0) {
                (0, _) => 0,
                (_, true) => INDEXED_LONG,
                (_, false) => INDEXED_SHORT,
            };
            if key == pos.key && heap == pos.indexed {
                continue;
            }
            let market = &mut self.perps[p];
            market.index(pos.size > 0, key, a);
            market.live = market.live + (heap != 0) as u32 - (pos.indexed != 0) as u32;
            let rec = &mut self.margin[a as usize].positions[p];
            rec.key = key;
            rec.indexed = heap;
            let (perps, margin) = (&mut self.perps, &self.margin);
            let live = perps[p].live as usize;
            perps[p].compact(live, |long, k, acct| index_entry_live(&margin[acct as usize].positions[p], long, k));
        }
    }
}

impl Engine {
    /// `QueryAccount`'s futures part: a `PositionReport` per open position (instrument-id
    /// order), then a `MarginReport` if the account has a futures wallet or a position record.
    pub(crate) fn query_futures<S: crate::EventSink>(
        &self,
        account: AccountId,
        target: AccountId,
        out: &mut crate::engine::Out<'_, S>,
    ) {
        let Some(m) = self.margin.get(target as usize) else { return };
        if m.wallet == 0 && m.positions.iter().all(|p| p.is_blank()) {
            return;
        }
        for &p in &self.fut.by_id {
            let p = p as usize;
            let Some(pos) = m.positions.get(p).filter(|pos| pos.size != 0) else { continue };
            out.emit(crate::EventKind::PositionReport(crate::PositionReport {
                account,
                position: self.position_changed(target, p),
                mark_price: self.perps[p].mark,
                upnl: self.upnl(p, pos) as i64,
                maint_margin: self.maint_margin(p, pos) as i64,
                leverage: self.leverage(p, pos),
                mode: if pos.isolated { MarginMode::Isolated } else { MarginMode::Cross },
            }));
        }
        let (mut im, mut om, mut mm) = (0i128, 0i128, 0i128);
        for (p, pos) in m.positions.iter().enumerate() {
            if pos.size != 0 && !pos.isolated {
                im += self.initial_margin(p, pos);
                mm += self.maint_margin(p, pos);
            }
            om += self.order_margin(target, p, pos);
        }
        out.emit(crate::EventKind::MarginReport(crate::MarginReport {
            account,
            target,
            asset: self.margin_asset.unwrap_or(0),
            wallet: m.wallet,
            equity: self.cross_equity(target) as i64,
            available: self.available(target) as i64,
            withdrawable: self.withdrawable(target) as i64,
            position_margin: im as i64,
            order_margin: om as i64,
            maint_margin: mm as i64,
        }));
    }

    /// Inspection: `account`'s position on perpetual `instrument` as `PositionChanged` reports
    /// it, with its liquidation index key (0: none). `None` for no record or no perpetual.
    pub fn futures_position(
        &self,
        account: AccountId,
        instrument: InstrumentId,
    ) -> Option<(crate::PositionChanged, Price)> {
        let p = self.instrument_index(instrument).and_then(|ii| self.perp_of(ii))?;
        let pos = self.margin.get(account as usize)?.positions.get(p)?;
        Some((self.position_changed(account, p), pos.key))
    }

    /// Inspection: `account`'s futures wallet (0 without risk checks).
    pub fn futures_wallet(&self, account: AccountId) -> i64 {
        self.margin.get(account as usize).map_or(0, |m| m.wallet)
    }

    /// Whether [`Engine::snapshot`] captures the whole state: always, since snapshot format 6
    /// carries the futures state (wallets, positions with their keys, marks, tiers).
    pub fn snapshot_complete(&self) -> bool {
        true
    }

    /// Inspection: a perpetual's mark price.
    pub fn mark_price(&self, instrument: InstrumentId) -> Option<Price> {
        let p = self.instrument_index(instrument).and_then(|ii| self.perp_of(ii))?;
        Some(self.perps[p].mark)
    }

    /// Inspection: a perpetual's open interest (the sum of the long positions' sizes).
    pub fn open_interest(&self, instrument: InstrumentId) -> Option<Qty> {
        let p = self.instrument_index(instrument).and_then(|ii| self.perp_of(ii))?;
        Some(self.perps[p].open_interest)
    }

    /// Inspection: a perpetual's last funding that gave a next funding time, as (rate ppm,
    /// next funding time ns); (0, 0) before one.
    pub fn funding(&self, instrument: InstrumentId) -> Option<(i32, u64)> {
        let p = self.instrument_index(instrument).and_then(|ii| self.perp_of(ii))?;
        Some((self.perps[p].funding_rate_ppm, self.perps[p].next_funding_time_ns))
    }
}

/// Whether a liquidation index entry `(k, account)` of the long (or short) heap is its
/// position's current, unpopped key.
#[inline]
pub(crate) fn index_entry_live(pos: &Position, long: bool, k: u64) -> bool {
    pos.indexed == if long { INDEXED_LONG } else { INDEXED_SHORT } && pos.key == k
}
