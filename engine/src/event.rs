//! Events: the only output of the state machine. Each carries the sequence
//! number of the command that caused it. The engine emits them into an
//! [`EventSink`] in a deterministic order.

use crate::types::*;

/// One engine output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Sequence number of the command that caused this event.
    pub seq: Seq,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A new order passed validation and entered the book (or is about to take).
    Accepted(Accepted),
    /// A command was refused; it changed nothing.
    Rejected(Rejected),
    /// Two orders traded.
    Trade(Trade),
    /// An order (or its remainder) left the book without trading.
    Cancelled(Cancelled),
    /// An order's quantity and/or price changed.
    Amended(Amended),
    /// A match between two orders of one account was prevented.
    SelfTradePrevented(SelfTradePrevented),
    /// A mass cancel finished.
    MassCancelled(MassCancelled),
    /// The aggregate quantity at a price level changed (0 = level gone).
    LevelChanged(LevelChanged),
    /// An instrument was added.
    InstrumentAdded(InstrumentAdded),
    /// An instrument's trading state changed.
    InstrumentStateChanged(InstrumentStateChanged),
    /// An account's balance of one asset changed (risk mode; coalesced per command).
    BalanceChanged(BalanceChanged),
    /// An admin account command succeeded.
    AccountUpdated(AccountUpdated),
    /// A deposit or withdrawal was applied.
    TransferApplied(TransferApplied),
    /// Fee rates changed.
    FeeScheduleSet(FeeScheduleSet),
    /// Query answer: one balance.
    AccountBalance(AccountBalance),
    /// Query answer: one open order.
    OpenOrder(OpenOrder),
    /// Query answer complete.
    QueryDone(QueryDone),
    /// An account's API secret was set or revoked.
    CredentialChanged(CredentialChanged),
    /// A conditional order passed validation and is armed (not in the book, not in market data).
    Armed(Armed),
    /// An armed order's trigger price was reached: it is placed now (its trades, resting or
    /// cancellation follow, as for a new order).
    Triggered(Triggered),
    /// An armed order's trigger price was moved (`AmendTrigger`).
    TriggerAmended(TriggerAmended),
    /// Market data only: an iceberg order's visible slice, whenever it changes other than by a
    /// trade (it rests, a traded-out slice is replaced at the back of the level, an amend).
    IcebergSliced(IcebergSliced),
    /// An order list passed validation; its legs' own events follow (`Accepted` or `Armed` for
    /// those placed now; pending legs have none until their working order fills).
    ListAccepted(ListAccepted),
    /// A risk tier was appended to a perpetual.
    RiskTierSet(RiskTierSet),
    /// An account's leverage on a perpetual changed.
    LeverageSet(LeverageSet),
    /// An account's margin mode on a perpetual changed.
    MarginModeSet(MarginModeSet),
    /// Margin moved between a futures wallet and an isolated position.
    IsolatedMarginAdjusted(IsolatedMarginAdjusted),
    /// A perpetual's mark price changed (also market data).
    MarkPriceSet(MarkPriceSet),
    /// One position's funding payment (after it, `FundingApplied`).
    FundingPayment(FundingPayment),
    /// A funding settlement finished (also market data).
    FundingApplied(FundingApplied),
    /// A position is being liquidated (its orders were cancelled just before). A liquidation
    /// order's trades follow, with taker order id 0.
    Liquidation(Liquidation),
    /// The insurance fund took over what the book did not absorb of a liquidated position.
    TakenOver(TakenOver),
    /// An opposite position was reduced against a bankrupt one (auto-deleveraging).
    AutoDeleveraged(AutoDeleveraged),
    /// A liquidation finished: what was left of the margin went to the insurance fund.
    LiquidationDone(LiquidationDone),
    /// The insurance fund paid an account's deficit.
    BankruptcyCovered(BankruptcyCovered),
    /// A resting reduce-only order was cut down to its owner's position.
    Trimmed(Trimmed),
    /// A position after the command (one per position changed, after every other event).
    PositionChanged(PositionChanged),
    /// A futures wallet after the command (one per account changed, after the positions).
    WalletChanged(WalletChanged),
    /// A perpetual's open interest after a command that changed it (market data; after the
    /// coalesced position and wallet events).
    OpenInterestChanged(OpenInterestChanged),
    /// Query answer: one position (perpetuals).
    PositionReport(PositionReport),
    /// Query answer: the futures wallet and its margin figures.
    MarginReport(MarginReport),
}

/// A risk tier was appended to a perpetual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskTierSet {
    /// The admin who sent it.
    pub account: AccountId,
    /// The tier as applied.
    pub tier: crate::command::SetRiskTier,
}

/// An account's leverage on a perpetual changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeverageSet {
    /// The account.
    pub account: AccountId,
    /// The perpetual.
    pub instrument: InstrumentId,
    /// The new leverage.
    pub leverage: u32,
}

/// An account's margin mode on a perpetual changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginModeSet {
    /// The account.
    pub account: AccountId,
    /// The perpetual.
    pub instrument: InstrumentId,
    /// The new mode.
    pub mode: MarginMode,
}

/// Margin moved between a futures wallet and an isolated position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsolatedMarginAdjusted {
    /// The account.
    pub account: AccountId,
    /// The perpetual.
    pub instrument: InstrumentId,
    /// As sent: > 0 into the position.
    pub delta: i64,
    /// The position's isolated margin after it.
    pub isolated_margin: i64,
}

/// A perpetual's mark price changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkPriceSet {
    /// The perpetual.
    pub instrument: InstrumentId,
    /// The new mark.
    pub mark_price: Price,
}

/// One position's funding: `amount` > 0 received, < 0 paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundingPayment {
    /// The account.
    pub account: AccountId,
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Quote minor units, signed.
    pub amount: i64,
}

/// A funding settlement finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundingApplied {
    /// The perpetual.
    pub instrument: InstrumentId,
    /// The rate applied, ppm.
    pub rate_ppm: i32,
    /// The mark it was applied at.
    pub mark_price: Price,
    /// The sum of the long positions' sizes.
    pub open_interest: Qty,
    /// What the payers paid.
    pub paid: i64,
    /// What the receivers received.
    pub received: i64,
    /// `paid - received`, to the insurance fund (rounding only).
    pub residue: i64,
    /// The command's next funding time, nanoseconds since the Unix epoch (0: not given, a
    /// command replayed from a journal of the release before the field).
    pub next_funding_time_ns: u64,
}

/// A position is being liquidated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liquidation {
    /// The account.
    pub account: AccountId,
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Its signed size.
    pub size: i64,
    /// The mark when it was liquidated.
    pub mark_price: Price,
    /// Its liquidation price as users saw it (0: none).
    pub liq_price: Price,
    /// Its bankruptcy price: the liquidation order's limit and the takeover/ADL price.
    pub bankruptcy_price: Price,
}

/// The insurance fund took over the rest of a liquidated position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenOver {
    /// The liquidated account.
    pub account: AccountId,
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Quantity taken over.
    pub qty: Qty,
    /// At the bankruptcy price.
    pub price: Price,
}

/// An opposite position was reduced against a bankrupt one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoDeleveraged {
    /// The liquidated account.
    pub account: AccountId,
    /// The account whose position was reduced.
    pub counterparty: AccountId,
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Quantity.
    pub qty: Qty,
    /// At the bankruptcy price.
    pub price: Price,
}

/// A liquidation finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidationDone {
    /// The account.
    pub account: AccountId,
    /// The perpetual whose position (isolated) or account (cross) was liquidated.
    pub instrument: InstrumentId,
    /// What was left of its margin, to the insurance fund.
    pub clearance: i64,
}

/// The insurance fund paid an account's deficit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankruptcyCovered {
    /// The account.
    pub account: AccountId,
    /// Quote minor units, > 0.
    pub amount: i64,
}

/// A resting reduce-only order was cut down to its owner's position (it keeps its priority).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    /// Owner.
    pub account: AccountId,
    /// Engine order id.
    pub order_id: OrderId,
    /// Client order id.
    pub client_order_id: ClientOrderId,
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Its side.
    pub side: Side,
    /// Leaves after the cut.
    pub leaves: Qty,
    /// Quantity cut.
    pub cut: Qty,
}

/// A position after the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionChanged {
    /// The account.
    pub account: AccountId,
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Signed size: > 0 long, < 0 short.
    pub size: i64,
    /// Cost basis: what a long paid, what a short received (0 when flat).
    pub cost: i64,
    /// Entry price, for display (rounded against the holder).
    pub entry_price: Price,
    /// Realised PnL, cumulative.
    pub realised_pnl: i64,
    /// Isolated margin (0 in cross mode).
    pub isolated_margin: i64,
    /// Liquidation price at the current marks (0: none).
    pub liq_price: Price,
}

/// A futures wallet after the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletChanged {
    /// The account.
    pub account: AccountId,
    /// The margin asset.
    pub asset: AssetId,
    /// The futures (cross) wallet, signed.
    pub wallet: i64,
    /// The spot balance of the margin asset (available).
    pub spot: u64,
}

/// A perpetual's open interest changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenInterestChanged {
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Σ long sizes (= Σ short sizes), qty units.
    pub open_interest: Qty,
}

/// Query answer: one position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionReport {
    /// Who asked.
    pub account: AccountId,
    /// The position as [`PositionChanged`] reports it (its `account` is the target).
    pub position: PositionChanged,
    /// The current mark.
    pub mark_price: Price,
    /// Unrealised PnL at the mark, rounded down.
    pub upnl: i64,
    /// Maintenance margin at the mark, rounded up.
    pub maint_margin: i64,
    /// Leverage in force.
    pub leverage: u32,
    /// Margin mode.
    pub mode: MarginMode,
}

/// Query answer: a futures wallet and its margin figures (docs/futures.md, section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginReport {
    /// Who asked.
    pub account: AccountId,
    /// Account asked about.
    pub target: AccountId,
    /// The margin asset.
    pub asset: AssetId,
    /// Futures wallet.
    pub wallet: i64,
    /// Cross equity: wallet + the cross positions' unrealised PnL.
    pub equity: i64,
    /// What new orders may use.
    pub available: i64,
    /// What may leave the futures wallet.
    pub withdrawable: i64,
    /// Initial margin of the cross positions.
    pub position_margin: i64,
    /// Order margin, every instrument.
    pub order_margin: i64,
    /// Maintenance margin of the cross positions.
    pub maint_margin: i64,
}

/// An order list was accepted: legs `list_id`, `list_id + 1` .. (engine order ids) with client
/// order ids `client_order_id`, `+ 1` .., working order first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListAccepted {
    /// Owner.
    pub account: AccountId,
    /// The list's id: its first leg's engine order id.
    pub list_id: OrderId,
    /// The first leg's client order id.
    pub client_order_id: ClientOrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// OCO, OTO or OTOCO.
    pub kind: ListKind,
    /// Number of legs (2 or 3).
    pub legs: u8,
    /// Gateway receive time of the command.
    pub timestamp_ns: u64,
}

/// An iceberg order shows a new or changed slice (its hidden quantity is never in market data).
/// It comes before the `LevelChanged` of its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcebergSliced {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Engine order id.
    pub order_id: OrderId,
    /// Side.
    pub side: Side,
    /// Its price.
    pub price: Price,
    /// The open quantity of the slice now shown.
    pub visible_qty: Qty,
    /// `false`: the slice is at the back of its level (a new slice, or an amend that lost
    /// priority); `true`: it kept its place (an amend that only shrank it).
    pub kept_priority: bool,
}

/// An armed order's trigger price was moved; it is now the last armed at that price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerAmended {
    /// Owner.
    pub account: AccountId,
    /// Engine order id.
    pub order_id: OrderId,
    /// Client's id.
    pub client_order_id: ClientOrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// The new trigger price.
    pub trigger_price: Price,
}

/// A conditional order was accepted and armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Armed {
    /// Owner.
    pub account: AccountId,
    /// Engine order id (kept when it triggers).
    pub order_id: OrderId,
    /// Client's id.
    pub client_order_id: ClientOrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Type of the order placed on trigger.
    pub order_type: OrderType,
    /// Its time in force.
    pub tif: TimeInForce,
    /// Stop-loss or take-profit.
    pub trigger: TriggerKind,
    /// Limit price of the order placed on trigger (0 for market).
    pub price: Price,
    /// Quantity.
    pub qty: Qty,
    /// The price that fires it (the last trade price, or for a mark-price trigger the mark).
    pub trigger_price: Price,
    /// Which price it watches.
    pub trigger_source: TriggerSource,
    /// Gateway receive time of the command.
    pub timestamp_ns: u64,
}

/// An armed order fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Triggered {
    /// Owner.
    pub account: AccountId,
    /// Engine order id.
    pub order_id: OrderId,
    /// Client's id.
    pub client_order_id: ClientOrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Type of the order placed now.
    pub order_type: OrderType,
    /// Its limit price (0 for market).
    pub price: Price,
    /// Its quantity.
    pub qty: Qty,
    /// Its trigger price.
    pub trigger_price: Price,
    /// The price that reached it: the instrument's last trade price, or for a mark-price
    /// trigger the perpetual's mark.
    pub last_price: Price,
    /// Which price fired it (so which one `last_price` is).
    pub trigger_source: TriggerSource,
    /// Gateway receive time of the command whose trade (or mark) fired it.
    pub timestamp_ns: u64,
}

/// A new order was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Owner.
    pub account: AccountId,
    /// Engine order id assigned.
    pub order_id: OrderId,
    /// Client's id.
    pub client_order_id: ClientOrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Time in force.
    pub tif: TimeInForce,
    /// Limit price (0 for market orders).
    pub price: Price,
    /// Quantity.
    pub qty: Qty,
    /// Gateway receive time of the command.
    pub timestamp_ns: u64,
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum RejectReason {
    /// No instrument with that id.
    UnknownInstrument = 1,
    /// The instrument's state does not allow this command.
    InstrumentNotTrading = 2,
    /// Price is zero or not a multiple of the tick.
    PriceOffTick = 3,
    /// Quantity is zero or not a multiple of the lot.
    QtyOffLot = 4,
    /// Quantity below the minimum or above the maximum.
    QtyOutOfRange = 5,
    /// Notional below the instrument's minimum.
    BelowMinNotional = 6,
    /// Price too far from the reference price.
    OutsidePriceBand = 7,
    /// The account already has a live order with this client order id.
    DuplicateClientOrderId = 8,
    /// No live order with that id.
    UnknownOrder = 9,
    /// The order belongs to another account.
    NotYourOrder = 10,
    /// A post-only order would have taken liquidity.
    PostOnlyWouldTake = 11,
    /// A fill-or-kill order could not be filled completely.
    FokCannotFill = 12,
    /// The engine's order capacity is exhausted.
    CapacityReached = 13,
    /// The account has too many open orders.
    TooManyOpenOrders = 14,
    /// Inconsistent or unsupported field combination (e.g. a market order with a price,
    /// a market GTC, an amend that changes nothing).
    InvalidField = 15,
    /// Account id out of range or unknown.
    UnknownAccount = 16,
    /// An instrument with this id already exists.
    InstrumentExists = 17,
    /// The instrument definition is invalid (zero tick/lot, min > max, id out of range, ...).
    InvalidInstrument = 18,
    /// The state change is not allowed (e.g. reopening a closed instrument, or no change).
    InvalidStateTransition = 19,
    /// The account's available balance cannot fund this (order reservation or withdrawal).
    InsufficientBalance = 20,
    /// The account is suspended: no new orders or amends.
    AccountSuspended = 21,
    /// An account with this id already exists.
    AccountExists = 22,
    /// Asset id out of range.
    UnknownAsset = 23,
    /// This deposit/withdrawal transaction id was already applied.
    DuplicateTransaction = 24,
    /// Fee rates out of range (taker `0..1_000_000`, maker `> -1_000_000` and not above taker).
    InvalidFee = 25,
    /// The engine runs without risk checks: account commands are not available.
    AccountsDisabled = 26,
    /// The fee account cannot trade or be changed by commands.
    SystemAccount = 27,
    /// A conditional order whose trigger condition already holds at the last trade price.
    WouldTriggerImmediately = 28,
    /// A quote-quantity market order that would trade nothing: no liquidity within the price
    /// band, or a budget below one lot at the best price.
    NothingToFill = 29,
    /// A good-till-date order whose expiry time is not after the engine's time.
    AlreadyExpired = 30,
    /// A trigger amend of an order that is not an armed conditional order.
    NotArmed = 31,
    /// An amend of a leg of an order list that is contingent on another (an OCO leg, a pending
    /// leg): cancel the list and place another.
    OrderListLeg = 32,
    /// A futures command on a spot instrument.
    NotPerpetual = 33,
    /// A risk tier out of order, discontinuous, or whose maintenance rate times its leverage
    /// reaches 100%.
    InvalidRiskTier = 34,
    /// A position or open order prevents it (tier change, margin-mode change).
    PositionOpen = 35,
    /// Leverage above tier 0's, or the position with its orders above the cap at that leverage.
    LeverageAboveTier = 36,
    /// The worst-case position would exceed the cap at the account's leverage.
    PositionLimitExceeded = 37,
    /// Free margin cannot cover it.
    InsufficientMargin = 38,
    /// A reduce-only or close-position order that would open or increase a position.
    ReduceOnlyWouldOpen = 39,
    /// A mark price of 0.
    InvalidMarkPrice = 40,
    /// A mark price further than the price band from the previous mark.
    MarkOutsideBand = 41,
    /// Funding on a perpetual with no position.
    NoOpenInterest = 42,
    /// A mark price or funding from an account that is not the oracle.
    NotOracle = 43,
    /// No isolated position to adjust.
    NoPosition = 44,
    /// A futures transfer in an asset no perpetual settles in.
    NotMarginAsset = 45,
    /// A funding whose next funding time is 0 or not after the command's gateway timestamp.
    InvalidFundingTime = 46,
    /// A mark-price trigger on a perpetual whose oracle has not set a mark yet (its mark is
    /// still the spec's reference price).
    NoMarkPrice = 47,
}

impl RejectReason {
    /// All reasons, for tables and tests.
    pub const ALL: [RejectReason; 47] = [
        Self::UnknownInstrument,
        Self::InstrumentNotTrading,
        Self::PriceOffTick,
        Self::QtyOffLot,
        Self::QtyOutOfRange,
        Self::BelowMinNotional,
        Self::OutsidePriceBand,
        Self::DuplicateClientOrderId,
        Self::UnknownOrder,
        Self::NotYourOrder,
        Self::PostOnlyWouldTake,
        Self::FokCannotFill,
        Self::CapacityReached,
        Self::TooManyOpenOrders,
        Self::InvalidField,
        Self::UnknownAccount,
        Self::InstrumentExists,
        Self::InvalidInstrument,
        Self::InvalidStateTransition,
        Self::InsufficientBalance,
        Self::AccountSuspended,
        Self::AccountExists,
        Self::UnknownAsset,
        Self::DuplicateTransaction,
        Self::InvalidFee,
        Self::AccountsDisabled,
        Self::SystemAccount,
        Self::WouldTriggerImmediately,
        Self::NothingToFill,
        Self::AlreadyExpired,
        Self::NotArmed,
        Self::OrderListLeg,
        Self::NotPerpetual,
        Self::InvalidRiskTier,
        Self::PositionOpen,
        Self::LeverageAboveTier,
        Self::PositionLimitExceeded,
        Self::InsufficientMargin,
        Self::ReduceOnlyWouldOpen,
        Self::InvalidMarkPrice,
        Self::MarkOutsideBand,
        Self::NoOpenInterest,
        Self::NotOracle,
        Self::NoPosition,
        Self::NotMarginAsset,
        Self::InvalidFundingTime,
        Self::NoMarkPrice,
    ];

    /// Wire code.
    pub fn code(self) -> u16 {
        self as u16
    }

    /// From a wire code.
    pub fn from_code(c: u16) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.code() == c)
    }
}

/// What kind of command a rejection answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CommandType {
    /// [`crate::CommandKind::NewOrder`].
    NewOrder = 1,
    /// [`crate::CommandKind::Cancel`].
    Cancel = 2,
    /// [`crate::CommandKind::Amend`].
    Amend = 3,
    /// [`crate::CommandKind::MassCancel`].
    MassCancel = 4,
    /// [`crate::CommandKind::AddInstrument`].
    AddInstrument = 5,
    /// [`crate::CommandKind::SetInstrumentState`].
    SetInstrumentState = 6,
    /// [`crate::CommandKind::CreateAccount`].
    CreateAccount = 7,
    /// [`crate::CommandKind::Deposit`].
    Deposit = 8,
    /// [`crate::CommandKind::Withdraw`].
    Withdraw = 9,
    /// [`crate::CommandKind::SetAccountStatus`].
    SetAccountStatus = 10,
    /// [`crate::CommandKind::SetFeeSchedule`].
    SetFeeSchedule = 11,
    /// [`crate::CommandKind::QueryAccount`].
    QueryAccount = 12,
    /// [`crate::CommandKind::SetCredential`].
    SetCredential = 13,
    /// [`crate::CommandKind::RevokeCredential`].
    RevokeCredential = 14,
    /// [`crate::CommandKind::NewStopOrder`].
    NewStopOrder = 15,
    /// [`crate::CommandKind::NewAdvancedOrder`].
    NewAdvancedOrder = 16,
    /// [`crate::CommandKind::AmendTrigger`].
    AmendTrigger = 17,
    /// [`crate::CommandKind::NewOrderList`].
    NewOrderList = 18,
    /// [`crate::CommandKind::AddPerpetual`].
    AddPerpetual = 19,
    /// [`crate::CommandKind::SetRiskTier`].
    SetRiskTier = 20,
    /// [`crate::CommandKind::SetLeverage`].
    SetLeverage = 21,
    /// [`crate::CommandKind::SetMarginMode`].
    SetMarginMode = 22,
    /// [`crate::CommandKind::AdjustIsolatedMargin`].
    AdjustIsolatedMargin = 23,
    /// [`crate::CommandKind::MarginDeposit`].
    MarginDeposit = 24,
    /// [`crate::CommandKind::MarginWithdraw`].
    MarginWithdraw = 25,
    /// [`crate::CommandKind::MarginDebit`].
    MarginDebit = 26,
    /// [`crate::CommandKind::WalletTransfer`].
    WalletTransfer = 27,
    /// [`crate::CommandKind::SetMarkPrice`].
    SetMarkPrice = 28,
    /// [`crate::CommandKind::ApplyFunding`].
    ApplyFunding = 29,
}

/// A command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// Sender.
    pub account: AccountId,
    /// Which command.
    pub command: CommandType,
    /// Client order id of the new order, or of the target when cancelling or
    /// amending by client order id; 0 otherwise.
    pub client_order_id: ClientOrderId,
    /// Engine order id targeted by a cancel/amend by engine id; 0 otherwise.
    pub order_id: OrderId,
    /// Instrument, when known from the command; 0 otherwise.
    pub instrument: InstrumentId,
    /// Why.
    pub reason: RejectReason,
}

/// Two orders traded, at the maker's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    /// Engine trade id.
    pub trade_id: TradeId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Price (the resting order's).
    pub price: Price,
    /// Quantity.
    pub qty: Qty,
    /// Side of the taker (aggressor).
    pub taker_side: Side,
    /// Resting order.
    pub maker_order_id: OrderId,
    /// Its owner.
    pub maker_account: AccountId,
    /// Its client id.
    pub maker_client_order_id: ClientOrderId,
    /// Its quantity left after this trade.
    pub maker_leaves: Qty,
    /// Incoming order.
    pub taker_order_id: OrderId,
    /// Its owner.
    pub taker_account: AccountId,
    /// Its client id.
    pub taker_client_order_id: ClientOrderId,
    /// Its quantity left after this trade.
    pub taker_leaves: Qty,
    /// Gateway receive time of the taking command.
    pub timestamp_ns: u64,
    /// Fee the maker paid, in the quote asset (negative: a rebate it got; 0 without risk checks).
    pub maker_fee: i64,
    /// Fee the taker paid, in the quote asset.
    pub taker_fee: i64,
}

/// Why an order left the book without trading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CancelReason {
    /// Its owner cancelled it (or amended it to at most its filled quantity).
    User = 1,
    /// Remainder of an IOC or market order.
    ImmediateRemainder = 2,
    /// Self-trade prevention.
    SelfTrade = 3,
    /// A mass cancel.
    MassCancel = 4,
    /// The instrument was closed.
    InstrumentState = 5,
    /// A triggered order's reservation could not be funded at trigger time (risk mode).
    Unfundable = 6,
    /// A triggered fill-or-kill order could not be filled completely.
    FokCannotFill = 7,
    /// A triggered post-only order would have taken.
    PostOnlyWouldTake = 8,
    /// Its good-till-date expiry time passed.
    Expired = 9,
    /// Another leg of its order list traded, fired or was cancelled (or, for a pending leg, its
    /// working order was cancelled).
    OrderList = 10,
    /// A reduce-only order whose position is gone or now on its side.
    ReduceOnly = 11,
    /// Its owner's position or account is being liquidated.
    Liquidation = 12,
}

impl CancelReason {
    /// From the wire byte.
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::User,
            2 => Self::ImmediateRemainder,
            3 => Self::SelfTrade,
            4 => Self::MassCancel,
            5 => Self::InstrumentState,
            6 => Self::Unfundable,
            7 => Self::FokCannotFill,
            8 => Self::PostOnlyWouldTake,
            9 => Self::Expired,
            10 => Self::OrderList,
            11 => Self::ReduceOnly,
            12 => Self::Liquidation,
            _ => return None,
        })
    }
}

/// An order (or its remainder) was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled {
    /// Owner.
    pub account: AccountId,
    /// Engine order id.
    pub order_id: OrderId,
    /// Client's id.
    pub client_order_id: ClientOrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Quantity that was still open and is now cancelled.
    pub cancelled_qty: Qty,
    /// Quantity filled over the order's life.
    pub filled_qty: Qty,
    /// Why.
    pub reason: CancelReason,
}

/// An order was amended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amended {
    /// Owner.
    pub account: AccountId,
    /// Engine order id (unchanged by an amend).
    pub order_id: OrderId,
    /// Client's id.
    pub client_order_id: ClientOrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Price now.
    pub price: Price,
    /// Total quantity now (filled + leaves).
    pub qty: Qty,
    /// Open quantity now.
    pub leaves: Qty,
    /// Whether the order kept its time priority.
    pub kept_priority: bool,
}

/// A match between two orders of one account was prevented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfTradePrevented {
    /// The account owning both orders.
    pub account: AccountId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// The resting order.
    pub maker_order_id: OrderId,
    /// The incoming order.
    pub taker_order_id: OrderId,
    /// The taker's mode that decided what was cancelled.
    pub mode: StpMode,
    /// Quantity that would have traded.
    pub qty: Qty,
}

/// A mass cancel finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MassCancelled {
    /// Account.
    pub account: AccountId,
    /// Orders cancelled.
    pub count: u32,
}

/// Aggregate quantity at a price level changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelChanged {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side of the level.
    pub side: Side,
    /// Price of the level.
    pub price: Price,
    /// New total open quantity at the level (0 = level gone).
    pub qty: Qty,
    /// Orders at the level.
    pub order_count: u32,
}

/// An instrument was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstrumentAdded {
    /// Admin account that added it.
    pub account: AccountId,
    /// Its definition.
    pub spec: crate::InstrumentSpec,
    /// A perpetual (`AddPerpetual`; it starts halted), else spot.
    pub perpetual: bool,
}

/// An instrument's trading state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstrumentStateChanged {
    /// Admin account that changed it.
    pub account: AccountId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// New state.
    pub state: InstrumentState,
}

/// An account's balance of one asset after a command (risk mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceChanged {
    /// Owner.
    pub account: AccountId,
    /// Asset.
    pub asset: AssetId,
    /// Available now.
    pub available: u64,
    /// Reserved by open orders now.
    pub reserved: u64,
    /// Why (the strongest reason within the command).
    pub reason: crate::types::BalanceReason,
}

/// An admin account command succeeded: the account's state now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountUpdated {
    /// Admin that sent the command.
    pub account: AccountId,
    /// Which command.
    pub command: CommandType,
    /// The account changed.
    pub target: AccountId,
    /// Its status now.
    pub status: crate::types::AccountStatus,
    /// Its fee tier now.
    pub tier: u8,
}

/// A deposit or withdrawal was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferApplied {
    /// Admin that sent it.
    pub account: AccountId,
    /// [`CommandType::Deposit`] or [`CommandType::Withdraw`].
    pub command: CommandType,
    /// Account credited or debited.
    pub target: AccountId,
    /// Asset.
    pub asset: AssetId,
    /// Amount.
    pub amount: u64,
    /// External transaction id.
    pub tx_id: u64,
    /// The target's available balance after it.
    pub available: u64,
}

/// Fee rates were set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeScheduleSet {
    /// Admin that sent it.
    pub account: AccountId,
    /// The schedule.
    pub schedule: crate::command::SetFeeSchedule,
}

/// Query answer: one asset's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountBalance {
    /// Who asked.
    pub account: AccountId,
    /// Account asked about.
    pub target: AccountId,
    /// Asset.
    pub asset: AssetId,
    /// Available.
    pub available: u64,
    /// Reserved.
    pub reserved: u64,
}

/// Query answer: one open order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOrder {
    /// Who asked.
    pub account: AccountId,
    /// The order.
    pub order: crate::view::OrderView,
}

/// Query answer complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryDone {
    /// Who asked.
    pub account: AccountId,
    /// Account asked about.
    pub target: AccountId,
    /// Its status.
    pub status: crate::types::AccountStatus,
    /// Its fee tier.
    pub tier: u8,
    /// Balances sent.
    pub balances: u32,
    /// Orders sent.
    pub orders: u32,
}

/// An account's API secret was set or revoked. Carries the salt and hash so the gateway can check
/// logins against them at once (the publisher passes them on); the admin's report shows only a
/// fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialChanged {
    /// Admin that sent the command.
    pub account: AccountId,
    /// [`CommandType::SetCredential`] or [`CommandType::RevokeCredential`].
    pub command: CommandType,
    /// The account whose secret changed.
    pub target: AccountId,
    /// The salt (zero for a revocation).
    pub salt: [u8; crate::command::CREDENTIAL_SALT_BYTES],
    /// SHA-256 of `salt || secret` (zero for a revocation).
    pub hash: [u8; crate::command::CREDENTIAL_HASH_BYTES],
}

/// Where the engine puts its events. Implementations must not fail: the
/// engine has already changed its state when it emits.
pub trait EventSink {
    /// Takes one event.
    fn emit(&mut self, event: Event);
}

impl EventSink for Vec<Event> {
    #[inline]
    fn emit(&mut self, event: Event) {
        self.push(event);
    }
}

/// A sink that only counts events (benchmarks).
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingSink {
    /// Events seen.
    pub events: u64,
    /// Trades seen.
    pub trades: u64,
}

impl EventSink for CountingSink {
    #[inline]
    fn emit(&mut self, event: Event) {
        self.events += 1;
        if matches!(event.kind, EventKind::Trade(_)) {
            self.trades += 1;
        }
    }
}
