//! Identifiers and small enums shared by commands, events and state.
//!
//! Prices and quantities are unsigned integers in minor units, never floats:
//! a [`Price`] is in the instrument's price units (a multiple of its tick), a
//! [`Qty`] is in base-asset minor units (a multiple of its lot). The notional
//! of `qty` at `price` is `price * qty / qty_scale` quote minor units (see
//! [`crate::InstrumentSpec::qty_scale`]).

/// An account (a trading participant). Dense small integers: the engine
/// indexes tables by them, so they are bounded by `EngineConfig::max_accounts`.
pub type AccountId = u32;
/// An instrument (a symbol such as BTC-USDT), bounded by `EngineConfig::max_instruments`.
pub type InstrumentId = u32;
/// An asset (BTC, USDT ...).
pub type AssetId = u32;
/// Engine-assigned order id: unique, increasing, never reused.
pub type OrderId = u64;
/// Client-assigned order id, unique among one account's live orders.
pub type ClientOrderId = u64;
/// Engine-assigned trade id: unique, increasing.
pub type TradeId = u64;
/// A price in the instrument's price units (a multiple of its tick).
pub type Price = u64;
/// A quantity in base-asset minor units (a multiple of the instrument's lot).
pub type Qty = u64;
/// Sequence number of a journaled command (1-based, contiguous).
pub type Seq = u64;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $n:expr),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name { $($(#[$vm])* $v = $n),+ }
        impl $name {
            /// Decodes the wire/journal byte; `None` for an unknown value.
            #[inline]
            pub fn from_u8(b: u8) -> Option<Self> {
                match b { $($n => Some(Self::$v),)+ _ => None }
            }
            /// The wire/journal byte.
            #[inline]
            pub fn as_u8(self) -> u8 { self as u8 }
        }
    };
}

wire_enum!(
    /// Side of an order.
    Side { /// Buy (bid).
        Buy = 1, /// Sell (ask).
        Sell = 2 }
);

impl Side {
    /// The side this side trades against.
    #[inline]
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

wire_enum!(
    /// Order type.
    OrderType { /// Has a limit price.
        Limit = 1, /// No price: sweeps the book up to the instrument's price band; remainder cancelled.
        Market = 2 }
);

wire_enum!(
    /// Time in force.
    TimeInForce {
        /// Good till cancelled: the remainder rests.
        Gtc = 1,
        /// Immediate or cancel: the remainder is cancelled.
        Ioc = 2,
        /// Fill or kill: filled completely at once or rejected, decided before any fill.
        Fok = 3,
        /// Post-only (maker only): rejected if any part would take.
        PostOnly = 4 }
);

wire_enum!(
    /// Self-trade prevention mode; the taker's mode decides.
    StpMode {
        /// Self-trades are allowed.
        None = 0,
        /// Cancel the taker's remainder; the maker stays.
        CancelTaker = 1,
        /// Cancel the resting (maker) order and keep matching.
        CancelMaker = 2,
        /// Cancel both the maker and the taker's remainder.
        CancelBoth = 3 }
);

wire_enum!(
    /// What a conditional order's trigger price means (Binance's STOP_LOSS and TAKE_PROFIT).
    /// A buy stop-loss and a sell take-profit trigger when the last trade price rises to the
    /// trigger price or above; a sell stop-loss and a buy take-profit when it falls to it or below.
    TriggerKind {
        /// Stop-loss: triggers on a move against a position (a buy when the price rises to it).
        StopLoss = 1,
        /// Take-profit: triggers on a move in favour (a buy when the price falls to it).
        TakeProfit = 2 }
);

impl TriggerKind {
    /// Whether an order of `side` with this trigger fires when the last price rises to the
    /// trigger price (`true`) or falls to it (`false`).
    #[inline]
    pub fn fires_on_rise(self, side: Side) -> bool {
        matches!((self, side), (TriggerKind::StopLoss, Side::Buy) | (TriggerKind::TakeProfit, Side::Sell))
    }
}

wire_enum!(
    /// Which price a conditional order's trigger watches (Binance's `workingType`).
    #[derive(Default)]
    TriggerSource {
        /// The instrument's last trade price (every instrument; the only source of `NewStopOrder`).
        #[default]
        LastPrice = 0,
        /// A perpetual's mark price, set by the oracle (docs/futures.md, "Mark-price triggers").
        MarkPrice = 1 }
);

impl TriggerSource {
    /// Bit 7 of a trigger byte (the journal's `NewAdvancedOrder` byte 72, a snapshot's armed
    /// order): set for a mark-price trigger, clear for a last-price one (and in every record
    /// written before mark-price triggers). Bits 0-6 are the [`TriggerKind`] byte (0: none).
    pub const MARK_BIT: u8 = 0x80;

    /// A trigger byte: `kind` (a [`TriggerKind`] byte, or 0 for none) with this source's bit.
    #[inline]
    pub fn with_kind(self, kind: u8) -> u8 {
        debug_assert!(kind & Self::MARK_BIT == 0);
        kind | if self == TriggerSource::MarkPrice { Self::MARK_BIT } else { 0 }
    }

    /// Splits a trigger byte into its kind byte and its source.
    #[inline]
    pub fn split(byte: u8) -> (u8, TriggerSource) {
        let source = if byte & Self::MARK_BIT != 0 { TriggerSource::MarkPrice } else { TriggerSource::LastPrice };
        (byte & !Self::MARK_BIT, source)
    }
}

wire_enum!(
    /// The shape of an order list.
    ListKind {
        /// One cancels the other: two contingent legs; when one trades or fires, or is cancelled,
        /// the other is cancelled.
        Oco = 1,
        /// One triggers the other: a working order, and a pending leg placed once the working
        /// order is completely filled.
        Oto = 2,
        /// One triggers an OCO: a working order, and a pending pair placed as an OCO once the
        /// working order is completely filled.
        Otoco = 3 }
);

wire_enum!(
    /// Unit of a trailing stop's delta.
    TrailUnit {
        /// Whole ticks of the instrument.
        Ticks = 1,
        /// Basis points (1/10,000) of the best price since arming.
        Bps = 2 }
);

/// Largest trailing delta in basis points: the trigger must stay a positive price.
pub const MAX_TRAIL_BPS: u32 = 5_000;

/// A trailing stop's distance from the best price since arming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Trailing {
    /// The distance, in `unit`s (at least 1; at most [`MAX_TRAIL_BPS`] basis points).
    pub delta: u32,
    /// Ticks or basis points.
    pub unit: TrailUnit,
}

impl Trailing {
    /// The trigger price of a trailing stop whose best price since arming is `peak`: for one that
    /// fires on a rise (a buy: `peak` is the lowest price) `peak` plus the delta, rounded up to
    /// the tick; for one that fires on a fall (a sell: the highest price) `peak` minus the delta,
    /// rounded down (0 when the delta reaches 0: it can no longer fire). The rounding puts the
    /// trigger never nearer than the delta, so an order fires no sooner than its owner asked.
    pub fn trigger_price(self, rise: bool, peak: Price, tick: Price) -> Price {
        let (peak, tick) = (peak as u128, tick as u128);
        let delta = self.delta as u128;
        let exact = match (self.unit, rise) {
            (TrailUnit::Ticks, true) => peak + delta * tick,
            (TrailUnit::Ticks, false) => peak.saturating_sub(delta * tick),
            (TrailUnit::Bps, true) => (peak * (10_000 + delta)).div_ceil(10_000),
            (TrailUnit::Bps, false) => peak * (10_000 - delta.min(10_000)) / 10_000,
        };
        let on_tick = if rise { exact.div_ceil(tick) * tick } else { exact / tick * tick };
        on_tick.min(Price::MAX as u128 / tick * tick) as Price
    }
}

wire_enum!(
    /// Trading state of an instrument.
    InstrumentState {
        /// Normal trading.
        Trading = 1,
        /// New orders and amends rejected; cancels allowed; resting orders kept.
        Halted = 2,
        /// Only cancels (and mass cancels) accepted.
        CancelOnly = 3,
        /// Closed: all resting orders were cancelled; everything but cancels is rejected.
        Closed = 4 }
);

wire_enum!(
    /// Trading status of an account (risk mode only).
    AccountStatus {
        /// May place orders.
        Active = 1,
        /// No new orders or amends; cancels allowed.
        Suspended = 2 }
);

wire_enum!(
    /// Why a balance changed (coalesced per account, asset and command; the
    /// strongest reason wins: trade over cancel over order).
    BalanceReason {
        /// Funds reserved or re-sized by placing or amending an order.
        Order = 1,
        /// Reservation released by a cancel, an expiry or an order's end.
        Cancel = 2,
        /// Settlement of a trade (fees and price improvement included).
        Trade = 3,
        /// Deposit.
        Deposit = 4,
        /// Withdrawal.
        Withdraw = 5,
        /// A transfer between the spot balance and the futures wallet.
        WalletTransfer = 6 }
);

wire_enum!(
    /// How a perpetual position is margined (docs/futures.md, section 4).
    MarginMode {
        /// Shares the account's futures wallet with its other cross positions.
        Cross = 1,
        /// Has its own margin; its liquidation touches nothing else.
        Isolated = 2 }
);

/// Fee rate in millionths of the notional (1 basis point = 100). Negative
/// for a maker rebate.
pub type FeePpm = i32;
/// One million: the denominator of [`FeePpm`].
pub const PPM: u64 = 1_000_000;
/// Fee tiers per instrument (tier 0 is the default schedule).
pub const MAX_FEE_TIERS: u8 = 8;
