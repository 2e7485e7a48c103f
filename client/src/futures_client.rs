//! Typed senders for the perpetual-futures commands (`docs/protocol.md`, "Perpetual futures"):
//! admin ones (a perpetual, its risk tiers, margin transfers), the account's own (leverage,
//! margin mode, isolated margin, wallet transfers) and the oracle's (marks, funding). Each sends
//! one message; the answers arrive through [`Client::recv`] like any report.

use engine::{
    AccountId, AdjustIsolatedMargin, ApplyFunding, AssetId, InstrumentId, InstrumentSpec, MarginMode, SetLeverage,
    SetMarginMode, SetMarkPrice, SetRiskTier, Transfer, WalletTransfer,
};
use protocol::ClientMessage;

use crate::error::ClientError;
use crate::order_client::Client;

impl Client {
    /// Admin: sends `AddPerpetual` (it starts halted, without risk tiers). The answer is
    /// `InstrumentAdded`.
    pub fn add_perpetual(&mut self, spec: InstrumentSpec) -> Result<(), ClientError> {
        self.send(&ClientMessage::AddPerpetual(spec))
    }

    /// Admin: sends `SetRiskTier` (appends tier `tier.index`). The answer is `RiskTierSet`.
    pub fn set_risk_tier(&mut self, tier: SetRiskTier) -> Result<(), ClientError> {
        self.send(&ClientMessage::SetRiskTier(tier))
    }

    /// Admin: sends `MarginDeposit` (credits `target`'s futures wallet; `tx_id` never used before).
    pub fn margin_deposit(
        &mut self,
        target: AccountId,
        asset: AssetId,
        amount: u64,
        tx_id: u64,
    ) -> Result<(), ClientError> {
        self.send(&ClientMessage::MarginDeposit(Transfer { target, asset, amount, tx_id }))
    }

    /// Admin: sends `MarginWithdraw` (at most the wallet's withdrawable amount).
    pub fn margin_withdraw(
        &mut self,
        target: AccountId,
        asset: AssetId,
        amount: u64,
        tx_id: u64,
    ) -> Result<(), ClientError> {
        self.send(&ClientMessage::MarginWithdraw(Transfer { target, asset, amount, tx_id }))
    }

    /// Admin: sends `MarginDebit` (a principal deduction, at most the wallet's balance; it may
    /// leave the account liquidatable).
    pub fn margin_debit(
        &mut self,
        target: AccountId,
        asset: AssetId,
        amount: u64,
        tx_id: u64,
    ) -> Result<(), ClientError> {
        self.send(&ClientMessage::MarginDebit(Transfer { target, asset, amount, tx_id }))
    }

    /// Sends `SetLeverage` for this session's account. The answer is `LeverageSet`.
    pub fn set_leverage(&mut self, instrument: InstrumentId, leverage: u32) -> Result<(), ClientError> {
        self.send(&ClientMessage::SetLeverage(SetLeverage { instrument, leverage }))
    }

    /// Sends `SetMarginMode` for this session's account (no position or order on the instrument).
    pub fn set_margin_mode(&mut self, instrument: InstrumentId, mode: MarginMode) -> Result<(), ClientError> {
        self.send(&ClientMessage::SetMarginMode(SetMarginMode { instrument, mode }))
    }

    /// Sends `AdjustIsolatedMargin`: `delta` > 0 moves margin from the wallet into the isolated
    /// position, < 0 back.
    pub fn adjust_isolated_margin(&mut self, instrument: InstrumentId, delta: i64) -> Result<(), ClientError> {
        self.send(&ClientMessage::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument, delta }))
    }

    /// Sends `WalletTransfer`: moves `amount` of `asset` from spot to the futures wallet
    /// (`to_futures`) or back.
    pub fn wallet_transfer(&mut self, asset: AssetId, amount: u64, to_futures: bool) -> Result<(), ClientError> {
        self.send(&ClientMessage::WalletTransfer(WalletTransfer { asset, amount, to_futures }))
    }

    /// The oracle: sends `SetMarkPrice`. The answer is `MarkPriceSet` (on the oracle's stream).
    pub fn set_mark_price(&mut self, instrument: InstrumentId, mark_price: u64) -> Result<(), ClientError> {
        self.send(&ClientMessage::SetMarkPrice(SetMarkPrice { instrument, mark_price }))
    }

    /// The oracle: sends `ApplyFunding` (`rate_ppm` > 0: longs pay shorts), announcing when it
    /// will settle the next funding (`next_funding_time_ns`, ns since the Unix epoch: after the
    /// server's receive time, else `CommandRejected` `InvalidFundingTime`; 0 is refused with
    /// `SessionReject` `BadFieldValue`). The answer is `FundingApplied`.
    pub fn apply_funding(
        &mut self,
        instrument: InstrumentId,
        rate_ppm: i32,
        next_funding_time_ns: u64,
    ) -> Result<(), ClientError> {
        self.send(&ClientMessage::ApplyFunding(ApplyFunding { instrument, rate_ppm, next_funding_time_ns }))
    }
}
