//! Risk mode: accounts, balances, reservations and the admin commands that
//! move money (create, deposit, withdraw, suspend, fee schedules), plus the
//! account query. Every change to a balance goes through `reserve`,
//! `release_funds`, `credit` or `debit_reserved` so each one is recorded for
//! the command's coalesced `BalanceChanged` events.

use crate::account::Balance;
use crate::command::*;
use crate::engine::{Engine, Out};
use crate::event::*;
use crate::fee_schedule::FeeRates;
use crate::order_pool::NIL;
use crate::risk::OrderRisk;
use crate::types::*;

impl Engine {
    /// The account id is in range and, in risk mode, was created.
    #[inline]
    pub(crate) fn is_known_account(&self, account: AccountId) -> bool {
        match self.accounts.get(account as usize) {
            Some(a) => !self.config.risk_checks || a.exists,
            None => false,
        }
    }

    /// The account may place or amend orders.
    #[inline]
    pub(crate) fn trading_account(&self, account: AccountId) -> Result<&crate::account::Account, RejectReason> {
        let a = self.accounts.get(account as usize).ok_or(RejectReason::UnknownAccount)?;
        if self.config.risk_checks {
            if !a.exists {
                return Err(RejectReason::UnknownAccount);
            }
            if account == self.config.fee_account {
                return Err(RejectReason::SystemAccount);
            }
            if a.status == AccountStatus::Suspended {
                return Err(RejectReason::AccountSuspended);
            }
        }
        Ok(a)
    }

    pub(crate) fn open_account(&mut self, account: AccountId, tier: u8, status: AccountStatus) {
        let a = &mut self.accounts[account as usize];
        a.exists = true;
        a.tier = tier;
        a.status = status;
        a.balances = vec![Balance::default(); self.config.max_assets as usize].into_boxed_slice();
    }

    /// What an order must hold reserved: (asset, amount).
    #[inline]
    pub(crate) fn requirement(
        &self,
        ii: usize,
        side: Side,
        r: &OrderRisk,
        limit: Price,
        leaves: Qty,
    ) -> (AssetId, u64) {
        let spec = &self.instruments[ii].spec;
        if self.instruments[ii].perp != crate::instrument::NO_PERP {
            // A perpetual's orders hold margin (docs/futures.md, section 5), not spot funds.
            return (spec.quote_asset, 0);
        }
        match side {
            Side::Buy => (spec.quote_asset, r.buy_requirement(limit, leaves, spec.qty_scale)),
            Side::Sell => (spec.base_asset, leaves),
        }
    }

    /// Risk mode: re-sizes an amended order's reservation to what `leaves` at `limit` needs now,
    /// reserving the difference or releasing the surplus (a no-op without risk checks).
    pub(crate) fn resize_reservation(
        &mut self,
        ii: usize,
        account: AccountId,
        slot: crate::order_pool::Slot,
        side: Side,
        limit: Price,
        leaves: Qty,
    ) {
        if !self.config.risk_checks {
            return;
        }
        let r = self.risk[slot as usize];
        let (asset, need) = self.requirement(ii, side, &r, limit, leaves);
        self.set_reservation(account, slot, asset, need);
    }

    /// Risk mode: sets the reservation of the order in `slot` to `need` of `asset` (already
    /// computed and checked against the available balance by the caller's validation).
    ///
    /// One balance update whichever way the reservation moves, with no branch on the direction
    /// (amends move it up or down at random). A reservation that does not change touches
    /// nothing, so it emits no `BalanceChanged`, as `reserve`/`release_funds` of 0 did not.
    #[inline(always)]
    pub(crate) fn set_reservation(
        &mut self,
        account: AccountId,
        slot: crate::order_pool::Slot,
        asset: AssetId,
        need: u64,
    ) {
        let held = std::mem::replace(&mut self.risk[slot as usize].reserved, need);
        if need == held {
            return;
        }
        let b = self.touched_balance(account, asset, BalanceReason::Order);
        debug_assert!(b.available + held >= need, "reservation exceeds available");
        debug_assert!(b.reserved >= held, "release exceeds reserved");
        // available + held >= need (validated) and reserved >= held: neither wraps in the end.
        b.available = (b.available + held) - need;
        b.reserved = (b.reserved - held) + need;
    }

    /// Records that the balance of `account` in `asset` changes in this command, for the
    /// command's coalesced `BalanceChanged`.
    #[inline]
    pub(crate) fn touch(&mut self, account: AccountId, asset: AssetId, reason: BalanceReason) {
        self.touched_balance(account, asset, reason);
    }

    /// The balance of `account` in `asset`, recorded as changed by this command (see
    /// [`Self::touch`]). Every change to a balance takes it from here, so one lookup serves
    /// the change and its record.
    #[inline(always)]
    fn touched_balance(&mut self, account: AccountId, asset: AssetId, reason: BalanceReason) -> &mut Balance {
        let seq = self.last_seq;
        // The fee account moves on every trade; it is audited by query, not by events.
        let audited = account != self.config.fee_account;
        let b = &mut self.accounts[account as usize].balances[asset as usize];
        if audited {
            if b.touched_seq != seq {
                b.touched_seq = seq;
                b.touched_reason = reason as u8;
                self.touched.push((account, asset));
            } else if (reason as u8) > b.touched_reason && reason as u8 <= BalanceReason::Trade as u8 {
                b.touched_reason = reason as u8;
            }
        }
        b
    }

    /// Moves `amount` from available to reserved (the caller checked it is there).
    #[inline]
    pub(crate) fn reserve(&mut self, account: AccountId, asset: AssetId, amount: u64, reason: BalanceReason) {
        let b = self.touched_balance(account, asset, reason);
        debug_assert!(b.available >= amount, "reservation exceeds available");
        b.available -= amount;
        b.reserved += amount;
    }

    /// Moves `amount` from reserved back to available.
    #[inline]
    pub(crate) fn release_funds(&mut self, account: AccountId, asset: AssetId, amount: u64, reason: BalanceReason) {
        if amount == 0 {
            return;
        }
        let b = self.touched_balance(account, asset, reason);
        debug_assert!(b.reserved >= amount, "release exceeds reserved");
        b.reserved -= amount;
        b.available += amount;
    }

    /// Releases what an order that is ending still holds.
    #[inline]
    pub(crate) fn unreserve(&mut self, ii: usize, account: AccountId, side: Side, reserved: u64) {
        let spec = &self.instruments[ii].spec;
        let asset = if side == Side::Buy { spec.quote_asset } else { spec.base_asset };
        self.release_funds(account, asset, reserved, BalanceReason::Cancel);
    }

    #[inline]
    pub(crate) fn credit(&mut self, account: AccountId, asset: AssetId, amount: u64, reason: BalanceReason) {
        if amount == 0 {
            return;
        }
        let b = self.touched_balance(account, asset, reason);
        b.available = b.available.checked_add(amount).expect("balances are bounded by deposits");
    }

    #[inline]
    pub(crate) fn debit_reserved(&mut self, account: AccountId, asset: AssetId, amount: u64) {
        if amount == 0 {
            return;
        }
        let b = self.touched_balance(account, asset, BalanceReason::Trade);
        debug_assert!(b.reserved >= amount, "settlement exceeds the reservation");
        b.reserved -= amount;
    }

    pub(crate) fn emit_balance_changes<S: EventSink>(&mut self, out: &mut Out<'_, S>) {
        for i in 0..self.touched.len() {
            let (account, asset) = self.touched[i];
            let b = &self.accounts[account as usize].balances[asset as usize];
            out.emit(EventKind::BalanceChanged(BalanceChanged {
                account,
                asset,
                available: b.available,
                reserved: b.reserved,
                reason: BalanceReason::from_u8(b.touched_reason).unwrap_or(BalanceReason::Order),
            }));
        }
        self.touched.clear();
    }

    pub(crate) fn account_reject<S: EventSink>(
        &self,
        account: AccountId,
        command: CommandType,
        reason: RejectReason,
        out: &mut Out<'_, S>,
    ) {
        out.emit(EventKind::Rejected(Rejected {
            account,
            command,
            client_order_id: 0,
            order_id: 0,
            instrument: 0,
            reason,
        }));
    }

    /// Common checks of commands that target an account.
    pub(crate) fn check_target(&self, target: AccountId, must_exist: bool) -> Result<(), RejectReason> {
        if !self.config.risk_checks {
            return Err(RejectReason::AccountsDisabled);
        }
        let Some(a) = self.accounts.get(target as usize) else { return Err(RejectReason::UnknownAccount) };
        if must_exist && !a.exists {
            return Err(RejectReason::UnknownAccount);
        }
        if target == self.config.fee_account {
            return Err(RejectReason::SystemAccount);
        }
        Ok(())
    }

    pub(crate) fn create_account<S: EventSink>(&mut self, account: AccountId, c: &CreateAccount, out: &mut Out<'_, S>) {
        let check = self.check_target(c.target, false).and_then(|()| {
            if self.accounts[c.target as usize].exists {
                Err(RejectReason::AccountExists)
            } else if c.tier >= MAX_FEE_TIERS {
                Err(RejectReason::InvalidField)
            } else {
                Ok(())
            }
        });
        if let Err(reason) = check {
            return self.account_reject(account, CommandType::CreateAccount, reason, out);
        }
        self.open_account(c.target, c.tier, c.status);
        out.emit(EventKind::AccountUpdated(AccountUpdated {
            account,
            command: CommandType::CreateAccount,
            target: c.target,
            status: c.status,
            tier: c.tier,
        }));
    }

    pub(crate) fn set_account_status<S: EventSink>(
        &mut self,
        account: AccountId,
        c: &SetAccountStatus,
        out: &mut Out<'_, S>,
    ) {
        let check = self.check_target(c.target, true).and(if c.tier >= MAX_FEE_TIERS {
            Err(RejectReason::InvalidField)
        } else {
            Ok(())
        });
        if let Err(reason) = check {
            return self.account_reject(account, CommandType::SetAccountStatus, reason, out);
        }
        let a = &mut self.accounts[c.target as usize];
        a.status = c.status;
        a.tier = c.tier;
        out.emit(EventKind::AccountUpdated(AccountUpdated {
            account,
            command: CommandType::SetAccountStatus,
            target: c.target,
            status: c.status,
            tier: c.tier,
        }));
    }

    pub(crate) fn transfer<S: EventSink>(
        &mut self,
        account: AccountId,
        command: CommandType,
        t: &Transfer,
        out: &mut Out<'_, S>,
    ) {
        let check = self.check_target(t.target, true).and_then(|()| {
            if t.asset >= self.config.max_assets {
                return Err(RejectReason::UnknownAsset);
            }
            if t.amount == 0 {
                return Err(RejectReason::InvalidField);
            }
            if self.tx_ids.contains(&t.tx_id) {
                return Err(RejectReason::DuplicateTransaction);
            }
            let b = &self.accounts[t.target as usize].balances[t.asset as usize];
            match command {
                CommandType::Withdraw if t.amount > b.available => Err(RejectReason::InsufficientBalance),
                // A perpetual's insurance fund in deficit leaves the accounts holding more of the
                // margin asset than was paid in (docs/futures.md, section 9).
                CommandType::Withdraw if t.amount > self.supply[t.asset as usize] => {
                    Err(RejectReason::InsufficientBalance)
                }
                // The asset's total over all accounts must stay within u64: a
                // trade can move all of it into one balance.
                CommandType::Deposit if self.supply[t.asset as usize].checked_add(t.amount).is_none() => {
                    Err(RejectReason::InvalidField)
                }
                _ => Ok(()),
            }
        });
        if let Err(reason) = check {
            return self.account_reject(account, command, reason, out);
        }
        self.remember_transaction(t.tx_id);
        if command == CommandType::Deposit {
            self.supply[t.asset as usize] += t.amount;
            self.credit(t.target, t.asset, t.amount, BalanceReason::Deposit);
        } else {
            self.supply[t.asset as usize] -= t.amount;
            let b = &mut self.accounts[t.target as usize].balances[t.asset as usize];
            b.available -= t.amount;
            self.touch(t.target, t.asset, BalanceReason::Withdraw);
        }
        let available = self.accounts[t.target as usize].balances[t.asset as usize].available;
        out.emit(EventKind::TransferApplied(TransferApplied {
            account,
            command,
            target: t.target,
            asset: t.asset,
            amount: t.amount,
            tx_id: t.tx_id,
            available,
        }));
    }

    /// Remembers a transfer's id for duplicate detection, forgetting the oldest at the bound.
    pub(crate) fn remember_transaction(&mut self, tx_id: u64) {
        if self.tx_order.len() == self.config.max_transactions as usize {
            if let Some(old) = self.tx_order.pop_front() {
                self.tx_ids.remove(&old);
            }
        }
        self.tx_order.push_back(tx_id);
        self.tx_ids.insert(tx_id);
    }

    pub(crate) fn set_fee_schedule<S: EventSink>(
        &mut self,
        account: AccountId,
        c: &SetFeeSchedule,
        out: &mut Out<'_, S>,
    ) {
        let reason = if !self.config.risk_checks {
            Some(RejectReason::AccountsDisabled)
        } else if self.instrument_index(c.instrument).is_none() {
            Some(RejectReason::UnknownInstrument)
        } else if c.tier >= MAX_FEE_TIERS {
            Some(RejectReason::InvalidField)
        } else if !(0..PPM as i32).contains(&c.taker_ppm) || c.maker_ppm <= -(PPM as i32) || c.maker_ppm > c.taker_ppm {
            Some(RejectReason::InvalidFee)
        } else {
            None
        };
        if let Some(reason) = reason {
            return out.emit(EventKind::Rejected(Rejected {
                account,
                command: CommandType::SetFeeSchedule,
                client_order_id: 0,
                order_id: 0,
                instrument: c.instrument,
                reason,
            }));
        }
        let ii = self.instrument_index(c.instrument).expect("checked");
        self.instruments[ii].fees.set(c.tier, FeeRates { maker_ppm: c.maker_ppm, taker_ppm: c.taker_ppm });
        out.emit(EventKind::FeeScheduleSet(FeeScheduleSet { account, schedule: *c }));
    }

    /// Balances (assets with anything in them, by asset id) and open orders
    /// (by order id) of `target`, answered to the sender. Works without risk
    /// checks too (orders only). Who may ask about whom is the gateway's call.
    pub(crate) fn query_account<S: EventSink>(&mut self, account: AccountId, q: &QueryAccount, out: &mut Out<'_, S>) {
        if !self.is_known_account(q.target) {
            return self.account_reject(account, CommandType::QueryAccount, RejectReason::UnknownAccount, out);
        }
        let a = &self.accounts[q.target as usize];
        let mut balances = 0;
        for (asset, b) in a.balances.iter().enumerate() {
            if b.available != 0 || b.reserved != 0 {
                balances += 1;
                out.emit(EventKind::AccountBalance(AccountBalance {
                    account,
                    target: q.target,
                    asset: asset as AssetId,
                    available: b.available,
                    reserved: b.reserved,
                }));
            }
        }
        self.query_futures(account, q.target, out);
        let a = &self.accounts[q.target as usize];
        let mut orders = 0;
        let mut s = a.head;
        while s != NIL {
            orders += 1;
            out.emit(EventKind::OpenOrder(OpenOrder { account, order: self.view(s) }));
            s = self.orders.links(s).acct_next;
        }
        out.emit(EventKind::QueryDone(QueryDone {
            account,
            target: q.target,
            status: a.status,
            tier: a.tier,
            balances,
            orders,
        }));
    }

    /// An account's balance of one asset: (available, reserved). Zero when
    /// the account or asset does not exist.
    pub fn balance(&self, account: AccountId, asset: AssetId) -> (u64, u64) {
        self.accounts
            .get(account as usize)
            .and_then(|a| a.balances.get(asset as usize))
            .map_or((0, 0), |b| (b.available, b.reserved))
    }

    /// What a live order still holds reserved (risk mode), 0 otherwise.
    pub fn order_reserved(&self, order_id: OrderId) -> u64 {
        match self.index.by_id(&self.orders, order_id) {
            Some(s) if self.config.risk_checks => self.risk[s as usize].reserved,
            _ => 0,
        }
    }

    /// Whether an account exists (risk mode) or is in range (matching only).
    pub fn account_exists(&self, account: AccountId) -> bool {
        self.is_known_account(account)
    }

    /// An account's status and fee tier.
    pub fn account_status(&self, account: AccountId) -> Option<(AccountStatus, u8)> {
        self.accounts.get(account as usize).filter(|a| a.exists).map(|a| (a.status, a.tier))
    }
}
