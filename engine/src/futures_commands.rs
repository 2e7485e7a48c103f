//! The futures commands (docs/futures.md, sections 2, 4, 6, 7 and 9): perpetuals and their risk
//! tiers, leverage and margin modes, isolated margin, futures transfers, and the oracle's mark
//! prices and funding. Each validates everything first (a rejected command changes nothing),
//! then applies; liquidations they cause follow at the end of the command
//! (`liquidation.rs`).

use crate::command::*;
use crate::engine::{Engine, Out};
use crate::event::*;
use crate::perp_market::{PerpMarket, MAX_PERPETUALS};
use crate::risk_tier::{ceil_div, floor_div, MAX_FUTURES_WALLET, MAX_PERP_QTY_SCALE, MAX_PERP_VALUE, PPM};
use crate::types::*;

impl Engine {
    pub(crate) fn futures_command<S: EventSink>(&mut self, cmd: &Command, out: &mut Out<'_, S>) {
        let a = cmd.account;
        let (command, instrument, result) = match &cmd.kind {
            CommandKind::AddPerpetual(spec) => (CommandType::AddPerpetual, spec.id, self.add_perpetual(a, spec, out)),
            CommandKind::SetRiskTier(t) => (CommandType::SetRiskTier, t.instrument, self.set_risk_tier(a, t, out)),
            CommandKind::SetLeverage(l) => (CommandType::SetLeverage, l.instrument, self.set_leverage(a, l, out)),
            CommandKind::SetMarginMode(m) => {
                (CommandType::SetMarginMode, m.instrument, self.set_margin_mode(a, m, out))
            }
            CommandKind::AdjustIsolatedMargin(m) => {
                (CommandType::AdjustIsolatedMargin, m.instrument, self.adjust_isolated_margin(a, m, out))
            }
            CommandKind::MarginDeposit(t) => {
                (CommandType::MarginDeposit, 0, self.margin_transfer(a, CommandType::MarginDeposit, t, out))
            }
            CommandKind::MarginWithdraw(t) => {
                (CommandType::MarginWithdraw, 0, self.margin_transfer(a, CommandType::MarginWithdraw, t, out))
            }
            CommandKind::MarginDebit(t) => {
                (CommandType::MarginDebit, 0, self.margin_transfer(a, CommandType::MarginDebit, t, out))
            }
            CommandKind::WalletTransfer(t) => (CommandType::WalletTransfer, 0, self.wallet_transfer(a, t, out)),
            CommandKind::SetMarkPrice(m) => {
                (CommandType::SetMarkPrice, m.instrument, self.set_mark_price(a, m, cmd.timestamp_ns, out))
            }
            CommandKind::ApplyFunding(f) => {
                (CommandType::ApplyFunding, f.instrument, self.apply_funding(a, cmd.timestamp_ns, f, out))
            }
            _ => unreachable!("spot commands are applied by Engine::apply"),
        };
        if let Err(reason) = result {
            out.emit(EventKind::Rejected(Rejected {
                account: a,
                command,
                client_order_id: 0,
                order_id: 0,
                instrument,
                reason,
            }));
        }
    }

    /// The perpetual an account or oracle command names: `UnknownInstrument`, `NotPerpetual`.
    fn perp_named(&self, id: InstrumentId) -> Result<usize, RejectReason> {
        let ii = self.instrument_index(id).ok_or(RejectReason::UnknownInstrument)?;
        self.perp_of(ii).ok_or(RejectReason::NotPerpetual)
    }

    /// An account that may change its own futures settings.
    fn futures_account(&self, a: AccountId) -> Result<(), RejectReason> {
        if !self.config.risk_checks {
            return Err(RejectReason::AccountsDisabled);
        }
        self.trading_account(a).map(|_| ())
    }

    fn add_perpetual<S: EventSink>(
        &mut self,
        account: AccountId,
        spec: &InstrumentSpec,
        out: &mut Out<'_, S>,
    ) -> Result<(), RejectReason> {
        use RejectReason::*;
        if !self.config.risk_checks {
            return Err(AccountsDisabled);
        }
        self.validate_spec(spec)?;
        let bad = self.config.insurance_account == crate::config::NO_ACCOUNT
            || spec.qty_scale > MAX_PERP_QTY_SCALE
            || spec.reference_price >= MAX_PERP_VALUE
            || spec.max_qty >= MAX_PERP_VALUE
            || self.margin_asset.is_some_and(|m| m != spec.quote_asset);
        if bad {
            return Err(InvalidInstrument);
        }
        if self.perps.len() == MAX_PERPETUALS {
            return Err(CapacityReached);
        }
        let p = self.perps.len();
        let ii = self.push_instrument(spec, InstrumentState::Halted);
        self.instruments[ii].perp = p as u32;
        self.perps.push(PerpMarket::new(ii as u32, spec.id, spec.reference_price));
        self.margin_asset = Some(spec.quote_asset);
        self.rebuild_perp_order();
        out.emit(EventKind::InstrumentAdded(InstrumentAdded { account, spec: *spec, perpetual: true }));
        Ok(())
    }

    /// Perpetual indexes in instrument-id order (the order liquidation visits them in).
    pub(crate) fn rebuild_perp_order(&mut self) {
        let mut by_id: Vec<u32> = (0..self.perps.len() as u32).collect();
        by_id.sort_by_key(|&p| self.perps[p as usize].id);
        self.fut.by_id = by_id;
    }

    fn set_risk_tier<S: EventSink>(
        &mut self,
        account: AccountId,
        t: &SetRiskTier,
        out: &mut Out<'_, S>,
    ) -> Result<(), RejectReason> {
        let p = self.perp_named(t.instrument)?;
        if !self.perp_is_empty(p) {
            return Err(RejectReason::PositionOpen);
        }
        if !self.perps[p].tiers.accepts(t) {
            return Err(RejectReason::InvalidRiskTier);
        }
        self.perps[p].tiers.push(t);
        out.emit(EventKind::RiskTierSet(RiskTierSet { account, tier: *t }));
        Ok(())
    }

    /// No position and no resting order on perpetual `p` (its tiers may change, it may close).
    fn perp_is_empty(&self, p: usize) -> bool {
        let book = &self.instruments[self.perps[p].ii as usize].book;
        self.perps[p].holders.is_empty()
            && book.side(Side::Buy).best().is_none()
            && book.side(Side::Sell).best().is_none()
    }

    /// `SetInstrumentState` on a perpetual: trading needs a risk tier, and closing one with a
    /// position or an order is refused (delisting with settlement is not built).
    pub(crate) fn perp_state_allowed(&self, ii: usize, state: InstrumentState) -> bool {
        let Some(p) = self.perp_of(ii) else { return true };
        match state {
            InstrumentState::Trading => !self.perps[p].tiers.is_empty(),
            InstrumentState::Closed => self.perp_is_empty(p),
            _ => true,
        }
    }

    fn set_leverage<S: EventSink>(
        &mut self,
        a: AccountId,
        c: &SetLeverage,
        out: &mut Out<'_, S>,
    ) -> Result<(), RejectReason> {
        self.futures_account(a)?;
        let p = self.perp_named(c.instrument)?;
        let l = c.leverage;
        if l == 0 {
            return Err(RejectReason::InvalidField);
        }
        let pos = self.pos(a, p);
        let tiers = &self.perps[p].tiers;
        let cap = tiers.cap(l).ok_or(RejectReason::LeverageAboveTier)?;
        if l > tiers.max_leverage() || self.notional_at_mark(p, self.worst_size(&pos, None)) > cap as i128 {
            return Err(RejectReason::LeverageAboveTier);
        }
        let old = self.leverage(p, &pos);
        // A lower leverage raises what the position and the orders hold: it must still fit.
        self.pos_mut(a, p).leverage = l;
        if l < old {
            let now = self.pos(a, p);
            let iso_short = now.isolated
                && now.size != 0
                && (now.iso as i128) + self.upnl(p, &now).min(0) < self.initial_margin(p, &now);
            if iso_short || self.available(a) < 0 {
                self.pos_mut(a, p).leverage = pos.leverage;
                return Err(RejectReason::InsufficientMargin);
            }
        }
        out.emit(EventKind::LeverageSet(LeverageSet { account: a, instrument: c.instrument, leverage: l }));
        Ok(())
    }

    fn set_margin_mode<S: EventSink>(
        &mut self,
        a: AccountId,
        c: &SetMarginMode,
        out: &mut Out<'_, S>,
    ) -> Result<(), RejectReason> {
        self.futures_account(a)?;
        let p = self.perp_named(c.instrument)?;
        let isolated = c.mode == MarginMode::Isolated;
        if a == self.config.insurance_account && isolated {
            return Err(RejectReason::SystemAccount);
        }
        let pos = self.pos(a, p);
        if pos.size != 0 || pos.orders != 0 {
            return Err(RejectReason::PositionOpen);
        }
        if pos.isolated == isolated {
            return Err(RejectReason::InvalidField);
        }
        self.pos_mut(a, p).isolated = isolated;
        out.emit(EventKind::MarginModeSet(MarginModeSet { account: a, instrument: c.instrument, mode: c.mode }));
        Ok(())
    }

    fn adjust_isolated_margin<S: EventSink>(
        &mut self,
        a: AccountId,
        c: &AdjustIsolatedMargin,
        out: &mut Out<'_, S>,
    ) -> Result<(), RejectReason> {
        self.futures_account(a)?;
        let p = self.perp_named(c.instrument)?;
        let pos = self.pos(a, p);
        if !pos.isolated || pos.size == 0 {
            return Err(RejectReason::NoPosition);
        }
        if c.delta == 0 || c.delta == i64::MIN {
            return Err(RejectReason::InvalidField);
        }
        let short = if c.delta > 0 {
            c.delta as i128 > self.available(a)
        } else {
            pos.iso as i128 + c.delta as i128 + self.upnl(p, &pos).min(0) < self.initial_margin(p, &pos)
        };
        if short {
            return Err(RejectReason::InsufficientMargin);
        }
        self.margin[a as usize].wallet -= c.delta;
        let iso = {
            let pos = self.pos_mut(a, p);
            pos.iso += c.delta;
            pos.iso
        };
        out.emit(EventKind::IsolatedMarginAdjusted(IsolatedMarginAdjusted {
            account: a,
            instrument: c.instrument,
            delta: c.delta,
            isolated_margin: iso,
        }));
        self.touch_wallet(a);
        self.touch_pos(a, p);
        Ok(())
    }

    /// The margin asset check of a futures transfer: `UnknownAsset`, `NotMarginAsset`.
    fn margin_asset_named(&self, asset: AssetId) -> Result<(), RejectReason> {
        if asset >= self.config.max_assets {
            return Err(RejectReason::UnknownAsset);
        }
        if self.margin_asset != Some(asset) {
            return Err(RejectReason::NotMarginAsset);
        }
        Ok(())
    }

    fn margin_transfer<S: EventSink>(
        &mut self,
        account: AccountId,
        command: CommandType,
        t: &Transfer,
        out: &mut Out<'_, S>,
    ) -> Result<(), RejectReason> {
        self.check_target(t.target, true)?;
        self.margin_asset_named(t.asset)?;
        if t.amount == 0 || t.amount > i64::MAX as u64 {
            return Err(RejectReason::InvalidField);
        }
        if self.tx_ids.contains(&t.tx_id) {
            return Err(RejectReason::DuplicateTransaction);
        }
        let amount = t.amount as i64;
        let w = self.margin[t.target as usize].wallet;
        match command {
            CommandType::MarginWithdraw if amount as i128 > self.withdrawable(t.target) => {
                return Err(RejectReason::InsufficientMargin)
            }
            CommandType::MarginDebit if amount > w.max(0) => return Err(RejectReason::InsufficientBalance),
            // Every wallet, isolated margin and basis stays within i64 (docs/futures.md, section 1).
            CommandType::MarginDeposit
                if self.supply[t.asset as usize].checked_add(t.amount).is_none_or(|s| s > MAX_FUTURES_WALLET) =>
            {
                return Err(RejectReason::InvalidField)
            }
            // While the fund is in deficit the accounts hold more than was paid in: the last
            // of it leaves once the operator has paid the deficit into the fund (section 9).
            CommandType::MarginWithdraw | CommandType::MarginDebit if t.amount > self.supply[t.asset as usize] => {
                return Err(RejectReason::InsufficientBalance)
            }
            _ => {}
        }
        self.remember_transaction(t.tx_id);
        if command == CommandType::MarginDeposit {
            self.supply[t.asset as usize] += t.amount;
            self.margin[t.target as usize].wallet += amount;
        } else {
            self.supply[t.asset as usize] -= t.amount;
            self.margin[t.target as usize].wallet -= amount;
        }
        out.emit(EventKind::TransferApplied(TransferApplied {
            account,
            command,
            target: t.target,
            asset: t.asset,
            amount: t.amount,
            tx_id: t.tx_id,
            available: self.margin[t.target as usize].wallet.max(0) as u64,
        }));
        self.touch_wallet(t.target);
        Ok(())
    }

    fn wallet_transfer<S: EventSink>(
        &mut self,
        a: AccountId,
        t: &WalletTransfer,
        out: &mut Out<'_, S>,
    ) -> Result<(), RejectReason> {
        self.futures_account(a)?;
        self.margin_asset_named(t.asset)?;
        if t.amount == 0 || t.amount > i64::MAX as u64 {
            return Err(RejectReason::InvalidField);
        }
        let spot = self.accounts[a as usize].balances[t.asset as usize].available;
        if t.to_futures && t.amount > spot {
            return Err(RejectReason::InsufficientBalance);
        }
        // Every wallet stays within the bound MarginDeposit keeps (docs/futures.md, section 1).
        if t.to_futures && self.margin[a as usize].wallet as i128 + t.amount as i128 > MAX_FUTURES_WALLET as i128 {
            return Err(RejectReason::InvalidField);
        }
        if !t.to_futures && t.amount as i128 > self.withdrawable(a) {
            return Err(RejectReason::InsufficientMargin);
        }
        let amount = t.amount as i64;
        if t.to_futures {
            self.accounts[a as usize].balances[t.asset as usize].available -= t.amount;
            self.margin[a as usize].wallet += amount;
        } else {
            self.margin[a as usize].wallet -= amount;
            self.accounts[a as usize].balances[t.asset as usize].available += t.amount;
        }
        self.touch(a, t.asset, BalanceReason::WalletTransfer);
        out.emit(EventKind::TransferApplied(TransferApplied {
            account: a,
            command: CommandType::WalletTransfer,
            target: a,
            asset: t.asset,
            amount: t.amount,
            tx_id: 0,
            available: self.accounts[a as usize].balances[t.asset as usize].available,
        }));
        self.touch_wallet(a);
        Ok(())
    }

    /// The oracle's mark: checked, set, then (the perpetual trading) the mark-price stops it
    /// reaches fire, through the same loop as trades fire stops (their orders trade, and those
    /// trades fire last-price stops). Liquidations run after all of it, at the end of the
    /// command: a stop-loss the mark fired has closed or cut its position before the
    /// liquidation check looks at it.
    fn set_mark_price<S: EventSink>(
        &mut self,
        sender: AccountId,
        c: &SetMarkPrice,
        ts: u64,
        out: &mut Out<'_, S>,
    ) -> Result<(), RejectReason> {
        if sender != self.config.oracle_account || !self.config.risk_checks {
            return Err(RejectReason::NotOracle);
        }
        let p = self.perp_named(c.instrument)?;
        if c.mark_price == 0 || c.mark_price >= MAX_PERP_VALUE {
            return Err(RejectReason::InvalidMarkPrice);
        }
        let prev = self.perps[p].mark as u128;
        let bps = self.instruments[self.perps[p].ii as usize].spec.price_band_bps as u128;
        if (c.mark_price as u128).abs_diff(prev) * 10_000 > prev * bps {
            return Err(RejectReason::MarkOutsideBand);
        }
        self.perps[p].mark = c.mark_price;
        out.emit(EventKind::MarkPriceSet(MarkPriceSet { instrument: c.instrument, mark_price: c.mark_price }));
        // Liquidations the move causes run at the end of the command.
        self.fut.active = true;
        let ii = self.perps[p].ii as usize;
        // A halted perpetual places no order: its mark-price stops wait for a mark that still
        // reaches them once it trades again (as last-price stops wait for a trade).
        if self.instruments[ii].state == InstrumentState::Trading {
            self.run_mark_triggers(ii, ts, out);
        }
        Ok(())
    }

    /// `now_ns`: the command's gateway timestamp, which the next funding time must follow.
    fn apply_funding<S: EventSink>(
        &mut self,
        sender: AccountId,
        now_ns: u64,
        c: &ApplyFunding,
        out: &mut Out<'_, S>,
    ) -> Result<(), RejectReason> {
        if sender != self.config.oracle_account || !self.config.risk_checks {
            return Err(RejectReason::NotOracle);
        }
        let p = self.perp_named(c.instrument)?;
        let rate = c.rate_ppm as i128;
        if rate.abs() >= PPM {
            return Err(RejectReason::InvalidField);
        }
        // 0 is "not given": only a journal record of the release before the field holds it (the
        // protocol refuses 0), and that release settled without a time, so the replay must too.
        let given = c.next_funding_time_ns != 0;
        if given && c.next_funding_time_ns <= now_ns {
            return Err(RejectReason::InvalidFundingTime);
        }
        if self.perps[p].holders.is_empty() {
            return Err(RejectReason::NoOpenInterest);
        }
        let (mark, den) = (self.perps[p].mark as i128, self.perp_scale(p) * PPM);
        let (mut paid, mut received) = (0i64, 0i64);
        // Holders in increasing account id (the holder list has no order).
        let mut holders = std::mem::take(&mut self.fut.accounts);
        holders.clear();
        holders.extend_from_slice(&self.perps[p].holders);
        holders.sort_unstable();
        for &a in &holders {
            let pos = self.pos(a, p);
            let owed = pos.size.unsigned_abs() as i128 * mark * rate.abs();
            let pays = (rate > 0) == (pos.size > 0);
            // Payers round up, receivers down: the residue (≥ 0) goes to the insurance fund.
            let amount = if rate == 0 {
                0
            } else if pays {
                -ceil_div(owed, den) as i64
            } else {
                floor_div(owed, den) as i64
            };
            if amount < 0 {
                paid -= amount;
            } else {
                received += amount;
            }
            if pos.isolated {
                self.pos_mut(a, p).iso += amount;
            } else {
                self.margin[a as usize].wallet += amount;
            }
            out.emit(EventKind::FundingPayment(FundingPayment { account: a, instrument: c.instrument, amount }));
            match (amount, pos.isolated) {
                (0, _) => {}
                (_, true) => self.touch_pos(a, p),
                (_, false) => self.touch_wallet(a),
            }
        }
        self.fut.accounts = holders;
        let residue = paid - received;
        debug_assert!(residue >= 0);
        if residue > 0 {
            let fund = self.config.insurance_account;
            self.margin[fund as usize].wallet += residue;
            self.touch_wallet(fund);
        }
        out.emit(EventKind::FundingApplied(FundingApplied {
            instrument: c.instrument,
            rate_ppm: c.rate_ppm,
            mark_price: mark as Price,
            open_interest: self.perps[p].open_interest,
            paid,
            received,
            residue,
            next_funding_time_ns: c.next_funding_time_ns,
        }));
        if given {
            self.perps[p].funding_rate_ppm = c.rate_ppm;
            self.perps[p].next_funding_time_ns = c.next_funding_time_ns;
        }
        debug_assert!(self.perps[p].next_funding_time_ns != 0 || self.perps[p].funding_rate_ppm == 0);
        self.fut.active = true;
        Ok(())
    }
}
