//! A deliberately simple, independent reference model of USDT-margined perpetual futures, written
//! from docs/futures.md and nothing else (it uses no engine type): accounts with a spot and a
//! futures wallet, positions as plain values in a `BTreeMap`, resting orders in one plain `Vec`
//! per instrument matched by full scan (price, then order id), liquidation found by a full scan of
//! every account's margin surplus, ADL by a full sort, mark-price stops in a plain `Vec` searched
//! for the next to fire. It also keeps the engine's liquidation index keys, only to assert the
//! index's promise (every liquidatable account has a crossed key) and so the engine's keys can be
//! compared. `Model::apply(&FCmd) -> Vec<FEvent>` is the whole API: the
//! engine's differential property test will feed both the same commands and compare events.
//!
//! The tests below reproduce every worked example of docs/futures.md with the same numbers, and a
//! property test checks, after every command of random flows, conservation, that a rejected
//! command changes nothing, and that no negative equity is left unhandled.

// The engine's differential test will use the parts of the API these tests do not.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

// ===== Units and arithmetic ==================================================================

/// Account id (dense, `0..accounts`).
pub type AccountId = u32;
/// Instrument id.
pub type InstId = u32;
/// Quote (margin asset) minor units: every money amount, signed.
pub type Money = i128;

/// Rates are in millionths.
pub const PPM: i128 = 1_000_000;
/// Leverage of a position whose owner never sent `SetLeverage` (Binance's default).
pub const DEFAULT_LEVERAGE: u32 = 20;
/// Risk tiers per instrument.
pub const MAX_RISK_TIERS: usize = 16;

/// Floor division (toward −∞) by a positive divisor.
pub fn floor_div(a: i128, b: i128) -> i128 {
    assert!(b > 0, "divisor {b}");
    a.div_euclid(b)
}

/// Ceiling division (toward +∞) by a positive divisor.
pub fn ceil_div(a: i128, b: i128) -> i128 {
    assert!(b > 0, "divisor {b}");
    -(-a).div_euclid(b)
}

// ===== Commands and events ===================================================================

/// Side of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// Buy (long direction).
    Buy,
    /// Sell (short direction).
    Sell,
}

impl Side {
    pub fn sign(self) -> i128 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
    /// The side that reduces a position of this signed size.
    pub fn closing(size: i128) -> Side {
        if size > 0 {
            Side::Sell
        } else {
            Side::Buy
        }
    }
}

/// Limit (GTC rests, IOC does not) or market (IOC at the band limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// A limit order.
    Limit {
        /// Limit price.
        price: u64,
        /// Immediate or cancel (else good till cancelled).
        ioc: bool,
    },
    /// A market order (IOC up to the market-order limit price).
    Market,
}

/// One notional bracket of a perpetual (docs/futures.md, "Risk tiers").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// Upper bound of the bracket's position notional, quote minor units.
    pub max_notional: Money,
    /// Highest leverage allowed up to this notional.
    pub max_leverage: u32,
    /// Maintenance margin rate, ppm.
    pub mmr_ppm: i128,
    /// Maintenance amount (Binance's "cum"), quote minor units.
    pub maint_amount: Money,
}

/// What `AddPerpetual` carries (the spot `InstrumentSpec` fields a perpetual uses, plus the
/// tier-0 fee rates the engine sets with `SetFeeSchedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerpSpec {
    /// Instrument id.
    pub inst: InstId,
    /// Price tick.
    pub tick: u64,
    /// Quantity lot (one contract).
    pub lot: u64,
    /// Notional = price × qty / qty_scale.
    pub qty_scale: u64,
    /// Smallest order quantity.
    pub min_qty: u64,
    /// Largest order quantity.
    pub max_qty: u64,
    /// Smallest limit-order notional.
    pub min_notional: Money,
    /// Order band around the last trade price and mark band around the last mark, bps.
    pub band_bps: u64,
    /// First last-trade price and first mark price.
    pub reference_price: u64,
    /// Maker fee rate, ppm (negative: rebate).
    pub maker_ppm: i128,
    /// Taker fee rate, ppm.
    pub taker_ppm: i128,
}

/// A command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FCmd {
    /// Admin: add a perpetual (starts halted, without tiers).
    AddPerpetual(PerpSpec),
    /// Admin: append risk tier `index`.
    SetRiskTier { inst: InstId, index: usize, tier: Tier },
    /// Admin: trading or halted.
    SetTrading { inst: InstId, trading: bool },
    /// Admin: credit the futures wallet ("deposit approved").
    Deposit { account: AccountId, amount: Money, tx_id: u64 },
    /// Admin: credit the spot wallet (the engine's existing `Deposit`).
    SpotDeposit { account: AccountId, amount: Money, tx_id: u64 },
    /// Admin: debit the futures wallet, at most the withdrawable amount.
    Withdraw { account: AccountId, amount: Money, tx_id: u64 },
    /// Admin: principal deduction from the futures wallet, at most the wallet balance.
    AdminDebit { account: AccountId, amount: Money, tx_id: u64 },
    /// Account: move money between its spot and futures wallets.
    WalletTransfer { account: AccountId, amount: Money, to_futures: bool },
    /// Account: leverage on one instrument.
    SetLeverage { account: AccountId, inst: InstId, leverage: u32 },
    /// Account: cross or isolated on one instrument.
    SetMarginMode { account: AccountId, inst: InstId, isolated: bool },
    /// Account: add (> 0) or remove (< 0) isolated margin.
    AdjustIsolatedMargin { account: AccountId, inst: InstId, delta: Money },
    /// Account: place an order.
    NewOrder {
        account: AccountId,
        inst: InstId,
        side: Side,
        kind: OrderKind,
        qty: u64,
        reduce_only: bool,
        close_position: bool,
    },
    /// Account: cancel one order (resting or armed).
    Cancel { account: AccountId, order_id: u64 },
    /// Account: arm a stop-loss or take-profit, market or limit, that the mark price fires
    /// (docs/futures.md, "Mark-price triggers"; the model's stops all watch the mark).
    NewStop {
        account: AccountId,
        inst: InstId,
        side: Side,
        kind: OrderKind,
        qty: u64,
        trigger_price: u64,
        take_profit: bool,
        reduce_only: bool,
        close_position: bool,
    },
    /// Account: move an armed stop's trigger price.
    AmendTrigger { account: AccountId, order_id: u64, trigger_price: u64 },
    /// Oracle: a new mark price.
    SetMarkPrice { sender: AccountId, inst: InstId, mark: u64 },
    /// Oracle: settle funding at the current mark, sent at `at_ns` (the gateway's timestamp) and
    /// announcing the next funding at `next_ns` (0: not given, a previous release's record).
    ApplyFunding { sender: AccountId, inst: InstId, rate_ppm: i128, at_ns: u64, next_ns: u64 },
}

/// Why a command was refused (it changed nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FReject {
    /// Account id out of range.
    UnknownAccount,
    /// No such instrument.
    UnknownInstrument,
    /// The instrument is halted.
    InstrumentNotTrading,
    /// Inconsistent fields.
    InvalidField,
    /// Price zero or off the tick.
    PriceOffTick,
    /// Quantity zero or off the lot.
    QtyOffLot,
    /// Quantity outside min/max.
    QtyOutOfRange,
    /// Limit notional below the minimum.
    BelowMinNotional,
    /// Limit price outside the band around the last trade price.
    OutsidePriceBand,
    /// No live order with that id.
    UnknownOrder,
    /// Another account's order.
    NotYourOrder,
    /// Spot balance or futures wallet balance too small.
    InsufficientBalance,
    /// Transaction id already applied.
    DuplicateTransaction,
    /// Instrument id taken.
    InstrumentExists,
    /// Invalid perpetual spec.
    InvalidInstrument,
    /// Invalid or discontinuous risk tier.
    InvalidRiskTier,
    /// Halted ↔ trading not allowed (no tiers, or no change).
    InvalidStateTransition,
    /// Position or open orders prevent the change.
    PositionOpen,
    /// Leverage above tier 0's, or the position (with open orders) above the cap at that leverage.
    LeverageAboveTier,
    /// Free margin cannot cover it.
    InsufficientMargin,
    /// Worst-case position notional above the cap at the account's leverage.
    PositionLimitExceeded,
    /// A reduce-only or close-position order that would open or increase a position.
    ReduceOnlyWouldOpen,
    /// Mark price of zero.
    InvalidMarkPrice,
    /// Mark price too far from the previous mark.
    MarkOutsideBand,
    /// Funding on an instrument without open interest.
    NoOpenInterest,
    /// A next funding time not after the funding command.
    InvalidFundingTime,
    /// Mark price or funding from an account that is not the oracle.
    NotOracle,
    /// No isolated position to adjust.
    NoPosition,
    /// The insurance fund cannot do this (its positions are always cross).
    SystemAccount,
    /// A mark-price stop before the oracle has moved the mark from the reference price.
    NoMarkPrice,
    /// A stop whose condition already holds at the mark.
    WouldTriggerImmediately,
    /// A trigger amend of an order that is not armed.
    NotArmed,
}

/// Why an order left the book without trading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FCancelReason {
    /// Its owner cancelled it.
    User,
    /// IOC or market remainder.
    ImmediateRemainder,
    /// A reduce-only order whose position is gone or on its side.
    ReduceOnly,
    /// Its owner is being liquidated.
    Liquidation,
    /// A fired stop whose order fails the margin checks (F2, F3).
    Unfundable,
}

/// Which money command was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// Futures deposit.
    Deposit,
    /// Spot deposit.
    SpotDeposit,
    /// Futures withdrawal.
    Withdraw,
    /// Principal deduction.
    AdminDebit,
    /// Spot → futures.
    ToFutures,
    /// Futures → spot.
    ToSpot,
}

/// One output of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FEvent {
    /// The command was refused; nothing changed.
    Rejected(FReject),
    /// `AddPerpetual` applied.
    InstrumentAdded { inst: InstId },
    /// `SetRiskTier` applied.
    RiskTierSet { inst: InstId, index: usize },
    /// `SetTrading` applied.
    StateChanged { inst: InstId, trading: bool },
    /// A money command applied (`amount` as sent).
    TransferApplied { account: AccountId, kind: TransferKind, amount: Money },
    /// Leverage set.
    LeverageSet { account: AccountId, inst: InstId, leverage: u32 },
    /// Margin mode set.
    MarginModeSet { account: AccountId, inst: InstId, isolated: bool },
    /// Isolated margin added or removed.
    IsolatedMarginAdjusted { account: AccountId, inst: InstId, delta: Money, isolated_margin: Money },
    /// An order passed validation.
    Accepted { order_id: u64, account: AccountId, inst: InstId, side: Side, price: u64, qty: u64 },
    /// Two orders traded at the maker's price. `taker_order` 0 with `liquidation`: the taker is a
    /// liquidation order of `taker_account`. A negative `maker_fee` is a rebate.
    Trade {
        trade_id: u64,
        inst: InstId,
        price: u64,
        qty: u64,
        taker_side: Side,
        maker_order: u64,
        maker_account: AccountId,
        taker_order: u64,
        taker_account: AccountId,
        maker_fee: Money,
        taker_fee: Money,
        liquidation: bool,
    },
    /// A stop passed validation and waits for the mark.
    Armed { order_id: u64, account: AccountId, inst: InstId, side: Side, qty: u64, trigger_price: u64 },
    /// The mark reached an armed stop (`mark` is the price that reached it); its order follows.
    Triggered { order_id: u64, account: AccountId, inst: InstId, trigger_price: u64, mark: u64 },
    /// An armed stop's trigger price moved.
    TriggerAmended { order_id: u64, account: AccountId, inst: InstId, trigger_price: u64 },
    /// An order left the book without trading.
    Cancelled { order_id: u64, account: AccountId, inst: InstId, qty: u64, reason: FCancelReason },
    /// A resting reduce-only order was cut to its position's size.
    Trimmed { order_id: u64, account: AccountId, inst: InstId, leaves: u64, cut: u64 },
    /// A mark price was set.
    MarkPriceSet { inst: InstId, mark: u64 },
    /// One position's funding (received > 0, paid < 0).
    FundingPayment { account: AccountId, inst: InstId, amount: Money },
    /// Funding settled: `paid` by the payers, `received` by the receivers, `residue` = paid −
    /// received to the insurance fund; `open_interest` is the sum of the long sizes.
    FundingApplied {
        inst: InstId,
        rate_ppm: i128,
        mark: u64,
        open_interest: u64,
        paid: Money,
        received: Money,
        residue: Money,
        next_ns: u64,
    },
    /// A position is being liquidated (its orders were cancelled just before): `liq_price` as
    /// users see it (0: none), `bankruptcy_price` is the liquidation order's limit.
    Liquidation { account: AccountId, inst: InstId, size: i128, mark: u64, liq_price: u64, bankruptcy_price: u64 },
    /// The insurance fund took over what the book did not absorb.
    TakenOver { account: AccountId, inst: InstId, qty: u64, price: u64 },
    /// A counterparty's position was reduced against the bankrupt one.
    AutoDeleveraged { account: AccountId, counterparty: AccountId, inst: InstId, qty: u64, price: u64 },
    /// A liquidation finished: what was left of the margin went to the insurance fund.
    LiquidationDone { account: AccountId, inst: InstId, clearance: Money },
    /// The insurance fund paid an account's deficit.
    BankruptcyCovered { account: AccountId, amount: Money },
    /// A position after the command (coalesced, first-change order): `cost` is the basis (what a
    /// long paid, what a short received), `entry_price` is for display, `liq_price` 0 is none.
    PositionChanged {
        account: AccountId,
        inst: InstId,
        size: i128,
        cost: Money,
        entry_price: u64,
        realised_pnl: Money,
        isolated_margin: Money,
        liq_price: u64,
    },
    /// Wallets after the command (coalesced, first-change order): `wallet` is the futures (cross)
    /// wallet.
    WalletChanged { account: AccountId, wallet: Money, spot: Money },
}

// ===== State =================================================================================

/// A position (one-way mode) and the account's settings on its instrument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pos {
    /// Signed size in qty units: > 0 long, < 0 short.
    pub size: i128,
    /// Cost basis in quote units: what a long paid, what a short received (0 when flat).
    pub cost: Money,
    /// Realised PnL since the record exists.
    pub realised: Money,
    /// Isolated margin (0 in cross mode).
    pub iso: Money,
    /// Leverage set (0: the default).
    pub leverage: u32,
    /// Isolated mode.
    pub isolated: bool,
    /// Liquidation price index key (None: never), as of the last re-key.
    pub key: Option<u64>,
}

/// An account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acct {
    /// Spot wallet of the margin asset.
    pub spot: Money,
    /// Futures (cross) wallet.
    pub wallet: Money,
    /// Positions and settings per instrument.
    pub pos: BTreeMap<InstId, Pos>,
}

/// A resting order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: u64,
    pub account: AccountId,
    pub side: Side,
    pub price: u64,
    pub leaves: u64,
    pub reduce_only: bool,
}

/// An armed stop: in no book and holding no margin until the mark reaches its trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub id: u64,
    pub account: AccountId,
    pub side: Side,
    pub kind: OrderKind,
    /// Its quantity (a close-position stop's: the position when it armed).
    pub qty: u64,
    pub trigger_price: u64,
    /// Fires when the mark rises to the trigger (a buy stop-loss, a sell take-profit), else
    /// when it falls to it.
    pub rise: bool,
    pub reduce_only: bool,
    pub close_position: bool,
    /// Arrival order among the stops at one trigger price (a trigger amend is a new arrival).
    pub arrival: u64,
}

/// A perpetual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inst {
    pub spec: PerpSpec,
    pub tiers: Vec<Tier>,
    pub trading: bool,
    pub mark: u64,
    /// Last trade price (the order band's reference).
    pub last: u64,
    /// Resting orders of both sides, in no particular order.
    pub orders: Vec<Order>,
    /// The last funding that announced a next funding time: (rate, that time); (0, 0) before.
    pub funding: (i128, u64),
    /// Armed mark-price stops, in no particular order.
    pub stops: Vec<Stop>,
}

impl Inst {
    pub fn s(&self) -> i128 {
        self.spec.qty_scale as i128
    }

    pub fn leverage(&self, p: &Pos) -> u32 {
        if p.leverage != 0 {
            p.leverage
        } else {
            self.tiers.first().map_or(DEFAULT_LEVERAGE, |t| t.max_leverage.min(DEFAULT_LEVERAGE))
        }
    }

    /// The largest position notional allowed at leverage `l` (None: `l` above every tier).
    pub fn cap(&self, l: u32) -> Option<Money> {
        self.tiers.iter().filter(|t| t.max_leverage >= l).map(|t| t.max_notional).max()
    }

    /// Whether the oracle has set a mark: the mark has moved from the reference price it
    /// starts at (docs/futures.md, "Mark-price triggers").
    pub fn has_mark(&self) -> bool {
        self.mark != self.spec.reference_price
    }

    pub fn in_band(&self, price: u64) -> bool {
        (price as i128 - self.last as i128).abs() * 10_000 <= self.last as i128 * self.spec.band_bps as i128
    }

    pub fn market_limit(&self, side: Side) -> u64 {
        let (r, bps, tick) = (self.last as i128, self.spec.band_bps as i128, self.spec.tick as i128);
        let p = match side {
            Side::Buy => floor_div(r * (10_000 + bps), 10_000 * tick) * tick,
            Side::Sell => (ceil_div(r * (10_000 - bps).max(0), 10_000 * tick) * tick).max(tick),
        };
        p as u64
    }

    /// Maintenance margin × s × 1e6 (exact): the largest tier line at this notional.
    pub fn mm_num(&self, qty: i128, mark: u64) -> i128 {
        let n = qty * mark as i128; // notional × s
        self.tiers.iter().map(|t| n * t.mmr_ppm - self.s() * PPM * t.maint_amount).max().unwrap_or(0).max(0)
    }

    /// Unrealised PnL × s (exact).
    pub fn upnl_num(&self, p: &Pos, mark: u64) -> i128 {
        let signed_cost = if p.size > 0 { p.cost } else { -p.cost };
        p.size * mark as i128 - self.s() * signed_cost
    }

    pub fn upnl(&self, p: &Pos) -> Money {
        floor_div(self.upnl_num(p, self.mark), self.s())
    }

    /// floor(upnl − mm) at the mark: the position's contribution to its margin surplus.
    pub fn excess(&self, p: &Pos) -> Money {
        floor_div(self.upnl_num(p, self.mark) * PPM - self.mm_num(p.size.abs(), self.mark), self.s() * PPM)
    }

    pub fn maint_margin(&self, p: &Pos) -> Money {
        ceil_div(self.mm_num(p.size.abs(), self.mark), self.s() * PPM)
    }

    pub fn initial_margin(&self, p: &Pos) -> Money {
        ceil_div(p.size.abs() * self.mark as i128, self.s() * self.leverage(p) as i128)
    }

    pub fn notional_at_mark(&self, qty: i128) -> Money {
        ceil_div(qty * self.mark as i128, self.s())
    }

    pub fn entry_price(&self, p: &Pos) -> u64 {
        match p.size {
            0 => 0,
            z if z > 0 => ceil_div(p.cost * self.s(), z) as u64,
            z => floor_div(p.cost * self.s(), -z) as u64,
        }
    }

    /// Non-reduce-only open (leaves, Σ price × leaves) of `account` on `side`.
    pub fn open_side(&self, account: AccountId, side: Side) -> (i128, i128) {
        self.orders
            .iter()
            .filter(|o| o.account == account && o.side == side && !o.reduce_only)
            .fold((0, 0), |(q, n), o| (q + o.leaves as i128, n + o.price as i128 * o.leaves as i128))
    }

    /// Order margin of one side: IM and taker fee on the part that would open a position, the
    /// side's notional prorated by quantity (docs/futures.md, "Order margin").
    pub fn side_margin(&self, q: i128, n: i128, closable: i128, leverage: u32) -> Money {
        if q <= closable {
            return 0;
        }
        let opening = ceil_div(ceil_div(n, self.s()) * (q - closable), q);
        let fee = if self.spec.taker_ppm > 0 { ceil_div(opening * self.spec.taker_ppm, PPM) } else { 0 };
        ceil_div(opening, leverage as i128) + fee
    }

    /// Order margin of `account` here, with an extra order (side, qty, Σ price × qty) if given.
    pub fn order_margin(&self, account: AccountId, p: &Pos, extra: Option<(Side, i128, i128)>) -> Money {
        let l = self.leverage(p);
        [Side::Buy, Side::Sell]
            .into_iter()
            .map(|side| {
                let (mut q, mut n) = self.open_side(account, side);
                if let Some((_, eq, en)) = extra.filter(|e| e.0 == side) {
                    q += eq;
                    n += en;
                }
                self.side_margin(q, n, closable(p.size, side), l)
            })
            .sum()
    }

    /// What an order that cannot rest will fill: (qty, Σ price × qty) over the opposite orders
    /// crossing `limit`, best first, as the matching loop will take them.
    /// (qty, Σ price × qty, highest price reached or 0) of an order that cannot rest.
    pub fn walk(&self, side: Side, limit: u64, qty: u64) -> (i128, i128, u64) {
        let mut makers: Vec<&Order> = self
            .orders
            .iter()
            .filter(|o| o.side != side && if side == Side::Buy { o.price <= limit } else { o.price >= limit })
            .collect();
        makers.sort_by_key(|o| (if side == Side::Buy { o.price } else { u64::MAX - o.price }, o.id));
        let (mut left, mut n, mut top) = (qty as i128, 0, 0);
        for o in makers {
            if left == 0 {
                break;
            }
            let q = left.min(o.leaves as i128);
            n += q * o.price as i128;
            top = top.max(o.price);
            left -= q;
        }
        (qty as i128 - left, n, top)
    }

    /// Worst-case position size if every non-reduce-only order of one side filled.
    pub fn worst_size(&self, account: AccountId, size: i128, extra: Option<(Side, u64)>) -> i128 {
        let (mut b, _) = self.open_side(account, Side::Buy);
        let (mut s, _) = self.open_side(account, Side::Sell);
        match extra {
            Some((Side::Buy, q)) => b += q as i128,
            Some((Side::Sell, q)) => s += q as i128,
            None => {}
        }
        (size + b).max(s - size)
    }
}

/// Whether a stop that fires on a rise (`rise`) or a fall at `trigger_price` fires at `mark`.
pub fn fires(rise: bool, trigger_price: u64, mark: u64) -> bool {
    if rise {
        mark >= trigger_price
    } else {
        mark <= trigger_price
    }
}

/// What an order of `side` can close of a position of signed `size`.
pub fn closable(size: i128, side: Side) -> i128 {
    match side {
        Side::Buy => (-size).max(0),
        Side::Sell => size.max(0),
    }
}

/// Applies a fill of `q` at `price` costing/paying `cash` to a position; returns (realised PnL,
/// the cash of the part that opened or increased the position).
pub fn apply_fill(p: &mut Pos, side: Side, q: i128, price: u64, cash: Money, s: i128) -> (Money, Money) {
    let z = p.size;
    let q_close = if z * side.sign() < 0 { q.min(z.abs()) } else { 0 };
    let q_open = q - q_close;
    let cash_close = if q_close == q {
        cash
    } else if q_close == 0 {
        0
    } else {
        match side {
            Side::Sell => floor_div(price as i128 * q_close, s),
            Side::Buy => ceil_div(price as i128 * q_close, s),
        }
    };
    let cash_open = cash - cash_close;
    let mut realised = 0;
    if q_close > 0 {
        // The basis leaves rounded against the trader: a long's up, a short's down.
        let removed = if z > 0 { ceil_div(p.cost * q_close, z.abs()) } else { floor_div(p.cost * q_close, z.abs()) };
        realised = if z > 0 { cash_close - removed } else { removed - cash_close };
        p.cost -= removed;
        p.size += side.sign() * q_close;
        assert!(p.size != 0 || p.cost == 0, "a closed position keeps a basis");
    }
    if q_open > 0 {
        p.cost += cash_open;
        p.size += side.sign() * q_open;
    }
    p.realised += realised;
    (realised, cash_open)
}

/// A taker in the matching loop: an accepted order, or a liquidation order (id 0).
pub struct Taker {
    pub id: u64,
    pub account: AccountId,
    pub side: Side,
    pub limit: u64,
    pub leaves: u64,
    pub reduce_only: bool,
    pub liquidation: bool,
}

/// The reference model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub accounts: u32,
    pub fund: AccountId,
    pub oracle: AccountId,
    pub accts: Vec<Acct>,
    pub insts: BTreeMap<InstId, Inst>,
    /// The fee account's balance of the margin asset.
    pub fees: Money,
    pub next_order: u64,
    pub next_trade: u64,
    /// Stamps the stops' arrival order.
    pub next_arrival: u64,
    pub tx_ids: BTreeSet<u64>,
    /// Deposits − withdrawals − principal deductions, both wallets.
    pub net_deposits: Money,
    // Per command:
    pub ev: Vec<FEvent>,
    pub touched_pos: Vec<(AccountId, InstId)>,
    pub touched_wallet: Vec<AccountId>,
    pub dirty: BTreeSet<AccountId>,
    pub liquidating: Option<AccountId>,
}

impl Model {
    /// `accounts` accounts (ids `0..accounts`, the insurance fund among them); `oracle` may be any id.
    pub fn new(accounts: u32, fund: AccountId, oracle: AccountId) -> Model {
        assert!(fund < accounts);
        Model {
            accounts,
            fund,
            oracle,
            accts: vec![Acct::default(); accounts as usize],
            insts: BTreeMap::new(),
            fees: 0,
            next_order: 1,
            next_trade: 1,
            next_arrival: 0,
            tx_ids: BTreeSet::new(),
            net_deposits: 0,
            ev: Vec::new(),
            touched_pos: Vec::new(),
            touched_wallet: Vec::new(),
            dirty: BTreeSet::new(),
            liquidating: None,
        }
    }

    /// Applies one command; returns its events (exactly one `Rejected` if refused).
    pub fn apply(&mut self, cmd: &FCmd) -> Vec<FEvent> {
        self.ev.clear();
        self.touched_pos.clear();
        self.touched_wallet.clear();
        if let Err(r) = self.execute(cmd) {
            assert!(self.ev.is_empty() && self.dirty.is_empty(), "a rejected command did something");
            return vec![FEvent::Rejected(r)];
        }
        self.after_command();
        std::mem::take(&mut self.ev)
    }

    // ----- Read access ---------------------------------------------------------------------

    /// An account.
    pub fn acct(&self, a: AccountId) -> &Acct {
        &self.accts[a as usize]
    }

    /// A position (default if none).
    pub fn pos(&self, a: AccountId, i: InstId) -> Pos {
        self.accts[a as usize].pos.get(&i).cloned().unwrap_or_default()
    }

    /// The fee account's balance.
    pub fn fees(&self) -> Money {
        self.fees
    }

    /// Mark price.
    pub fn mark(&self, i: InstId) -> u64 {
        self.insts[&i].mark
    }

    /// Unrealised PnL at the mark, rounded down.
    pub fn upnl(&self, a: AccountId, i: InstId) -> Money {
        self.insts[&i].upnl(&self.pos(a, i))
    }

    /// Maintenance margin at the mark, rounded up.
    pub fn maint_margin(&self, a: AccountId, i: InstId) -> Money {
        self.insts[&i].maint_margin(&self.pos(a, i))
    }

    /// Initial margin at the mark, rounded up.
    pub fn initial_margin(&self, a: AccountId, i: InstId) -> Money {
        self.insts[&i].initial_margin(&self.pos(a, i))
    }

    /// Entry price (display).
    pub fn entry_price(&self, a: AccountId, i: InstId) -> u64 {
        self.insts[&i].entry_price(&self.pos(a, i))
    }

    /// Liquidation price as users see it, computed now (0: none).
    pub fn liq_price(&self, a: AccountId, i: InstId) -> u64 {
        self.display_liq_price(a, i).unwrap_or(0)
    }

    /// The liquidation index key stored for a position (0: none).
    pub fn index_key(&self, a: AccountId, i: InstId) -> u64 {
        self.pos(a, i).key.unwrap_or(0)
    }

    /// Bankruptcy price computed now.
    pub fn bankruptcy_price(&self, a: AccountId, i: InstId) -> u64 {
        self.bankruptcy(a, i)
    }

    /// Resting order ids of an instrument, by id, with their leaves.
    pub fn book(&self, i: InstId) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self.insts[&i].orders.iter().map(|o| (o.id, o.leaves)).collect();
        v.sort();
        v
    }

    /// Cross equity: wallet + Σ cross upnl (each rounded down).
    pub fn cross_equity(&self, a: AccountId) -> Money {
        self.accts[a as usize].wallet + self.cross_positions(a).map(|(i, p)| self.insts[&i].upnl(p)).sum::<Money>()
    }

    /// Margin surplus deciding liquidation: isolated `iso + floor(upnl − mm)`; cross
    /// `wallet + Σ floor(upnl − mm)` over the cross positions.
    pub fn surplus(&self, a: AccountId, i: InstId) -> Money {
        let p = self.pos(a, i);
        if p.isolated {
            p.iso + self.insts[&i].excess(&p)
        } else {
            self.accts[a as usize].wallet
                + self.cross_positions(a).map(|(j, q)| self.insts[&j].excess(q)).sum::<Money>()
        }
    }

    /// Available for new orders: cross equity − cross positions' IM − every order margin.
    pub fn available(&self, a: AccountId) -> Money {
        self.cross_equity(a) - self.margin_held(a)
    }

    /// Withdrawable: min(wallet, cross equity) − cross positions' IM − every order margin.
    pub fn withdrawable(&self, a: AccountId) -> Money {
        let w = self.accts[a as usize].wallet;
        w.min(self.cross_equity(a)) - self.margin_held(a)
    }

    pub fn margin_held(&self, a: AccountId) -> Money {
        let im: Money = self.cross_positions(a).map(|(i, p)| self.insts[&i].initial_margin(p)).sum();
        let om: Money = self.insts.values().map(|inst| inst.order_margin(a, &self.pos(a, inst.spec.inst), None)).sum();
        im + om
    }

    pub fn cross_positions(&self, a: AccountId) -> impl Iterator<Item = (InstId, &Pos)> {
        self.accts[a as usize].pos.iter().filter(|(_, p)| !p.isolated && p.size != 0).map(|(i, p)| (*i, p))
    }

    // ----- Command execution (validate everything, then change) ----------------------------

    pub fn execute(&mut self, cmd: &FCmd) -> Result<(), FReject> {
        match *cmd {
            FCmd::AddPerpetual(spec) => self.add_perpetual(spec),
            FCmd::SetRiskTier { inst, index, tier } => self.set_risk_tier(inst, index, tier),
            FCmd::SetTrading { inst, trading } => self.set_trading(inst, trading),
            FCmd::Deposit { account, amount, tx_id } => {
                self.transfer(account, amount, Some(tx_id), TransferKind::Deposit)
            }
            FCmd::SpotDeposit { account, amount, tx_id } => {
                self.transfer(account, amount, Some(tx_id), TransferKind::SpotDeposit)
            }
            FCmd::Withdraw { account, amount, tx_id } => {
                self.transfer(account, amount, Some(tx_id), TransferKind::Withdraw)
            }
            FCmd::AdminDebit { account, amount, tx_id } => {
                self.transfer(account, amount, Some(tx_id), TransferKind::AdminDebit)
            }
            FCmd::WalletTransfer { account, amount, to_futures } => {
                let kind = if to_futures { TransferKind::ToFutures } else { TransferKind::ToSpot };
                self.transfer(account, amount, None, kind)
            }
            FCmd::SetLeverage { account, inst, leverage } => self.set_leverage(account, inst, leverage),
            FCmd::SetMarginMode { account, inst, isolated } => self.set_margin_mode(account, inst, isolated),
            FCmd::AdjustIsolatedMargin { account, inst, delta } => self.adjust_isolated(account, inst, delta),
            FCmd::NewOrder { account, inst, side, kind, qty, reduce_only, close_position } => {
                self.new_order(account, inst, side, kind, qty, reduce_only, close_position)
            }
            FCmd::Cancel { account, order_id } => self.cancel(account, order_id),
            FCmd::NewStop {
                account,
                inst,
                side,
                kind,
                qty,
                trigger_price,
                take_profit,
                reduce_only,
                close_position,
            } => {
                let flags = (take_profit, reduce_only, close_position);
                self.new_stop(account, inst, side, kind, qty, trigger_price, flags)
            }
            FCmd::AmendTrigger { account, order_id, trigger_price } => {
                self.amend_trigger(account, order_id, trigger_price)
            }
            FCmd::SetMarkPrice { sender, inst, mark } => self.set_mark(sender, inst, mark),
            FCmd::ApplyFunding { sender, inst, rate_ppm, at_ns, next_ns } => {
                self.funding(sender, inst, rate_ppm, at_ns, next_ns)
            }
        }
    }

    pub fn check_account(&self, a: AccountId) -> Result<(), FReject> {
        if a < self.accounts {
            Ok(())
        } else {
            Err(FReject::UnknownAccount)
        }
    }

    pub fn inst(&self, i: InstId) -> Result<&Inst, FReject> {
        self.insts.get(&i).ok_or(FReject::UnknownInstrument)
    }

    pub fn add_perpetual(&mut self, s: PerpSpec) -> Result<(), FReject> {
        if self.insts.contains_key(&s.inst) {
            return Err(FReject::InstrumentExists);
        }
        let bad = s.tick == 0
            || s.lot == 0
            || s.qty_scale == 0
            || s.min_qty == 0
            || !s.min_qty.is_multiple_of(s.lot)
            || s.min_qty > s.max_qty
            || s.reference_price == 0
            || !s.reference_price.is_multiple_of(s.tick)
            || !(0..PPM).contains(&s.taker_ppm)
            || s.maker_ppm <= -PPM
            || s.maker_ppm > s.taker_ppm;
        if bad {
            return Err(FReject::InvalidInstrument);
        }
        let inst = Inst {
            spec: s,
            tiers: Vec::new(),
            trading: false,
            mark: s.reference_price,
            last: s.reference_price,
            orders: Vec::new(),
            funding: (0, 0),
            stops: Vec::new(),
        };
        self.insts.insert(s.inst, inst);
        self.ev.push(FEvent::InstrumentAdded { inst: s.inst });
        Ok(())
    }

    pub fn set_risk_tier(&mut self, i: InstId, index: usize, t: Tier) -> Result<(), FReject> {
        let inst = self.inst(i)?;
        let open = !inst.orders.is_empty() || self.accts.iter().any(|a| a.pos.get(&i).is_some_and(|p| p.size != 0));
        if open {
            return Err(FReject::PositionOpen);
        }
        let ok_alone = index == inst.tiers.len()
            && index < MAX_RISK_TIERS
            && t.max_leverage >= 1
            && t.max_notional > 0
            && t.max_notional <= 1 << 56
            && t.mmr_ppm > 0
            && t.mmr_ppm * (t.max_leverage as i128) < PPM;
        let continuous = match inst.tiers.last() {
            None => t.maint_amount == 0,
            Some(prev) => {
                let step = prev.max_notional * (t.mmr_ppm - prev.mmr_ppm);
                t.max_notional > prev.max_notional
                    && t.max_leverage <= prev.max_leverage
                    && t.mmr_ppm >= prev.mmr_ppm
                    && step % PPM == 0
                    && t.maint_amount == prev.maint_amount + step / PPM
            }
        };
        if !(ok_alone && continuous) {
            return Err(FReject::InvalidRiskTier);
        }
        self.insts.get_mut(&i).unwrap().tiers.push(t);
        self.ev.push(FEvent::RiskTierSet { inst: i, index });
        Ok(())
    }

    pub fn set_trading(&mut self, i: InstId, trading: bool) -> Result<(), FReject> {
        let inst = self.inst(i)?;
        if inst.trading == trading || (trading && inst.tiers.is_empty()) {
            return Err(FReject::InvalidStateTransition);
        }
        self.insts.get_mut(&i).unwrap().trading = trading;
        self.ev.push(FEvent::StateChanged { inst: i, trading });
        Ok(())
    }

    pub fn transfer(
        &mut self,
        a: AccountId,
        amount: Money,
        tx: Option<u64>,
        kind: TransferKind,
    ) -> Result<(), FReject> {
        self.check_account(a)?;
        if amount <= 0 {
            return Err(FReject::InvalidField);
        }
        if tx.is_some_and(|t| self.tx_ids.contains(&t)) {
            return Err(FReject::DuplicateTransaction);
        }
        let acct = &self.accts[a as usize];
        match kind {
            TransferKind::Withdraw | TransferKind::ToSpot if amount > self.withdrawable(a) => {
                return Err(FReject::InsufficientMargin)
            }
            TransferKind::AdminDebit if amount > acct.wallet.max(0) => return Err(FReject::InsufficientBalance),
            TransferKind::ToFutures if amount > acct.spot => return Err(FReject::InsufficientBalance),
            _ => {}
        }
        if let Some(t) = tx {
            self.tx_ids.insert(t);
        }
        let acct = &mut self.accts[a as usize];
        match kind {
            TransferKind::Deposit => acct.wallet += amount,
            TransferKind::SpotDeposit => acct.spot += amount,
            TransferKind::Withdraw | TransferKind::AdminDebit => acct.wallet -= amount,
            TransferKind::ToFutures => {
                acct.spot -= amount;
                acct.wallet += amount;
            }
            TransferKind::ToSpot => {
                acct.wallet -= amount;
                acct.spot += amount;
            }
        }
        match kind {
            TransferKind::Deposit | TransferKind::SpotDeposit => self.net_deposits += amount,
            TransferKind::Withdraw | TransferKind::AdminDebit => self.net_deposits -= amount,
            _ => {}
        }
        self.ev.push(FEvent::TransferApplied { account: a, kind, amount });
        self.touch_wallet(a);
        Ok(())
    }

    pub fn set_leverage(&mut self, a: AccountId, i: InstId, l: u32) -> Result<(), FReject> {
        self.check_account(a)?;
        let inst = self.inst(i)?;
        if l == 0 {
            return Err(FReject::InvalidField);
        }
        let p = self.pos(a, i);
        let cap = inst.cap(l).ok_or(FReject::LeverageAboveTier)?;
        if l > inst.tiers[0].max_leverage || inst.notional_at_mark(inst.worst_size(a, p.size, None)) > cap {
            return Err(FReject::LeverageAboveTier);
        }
        let old = inst.leverage(&p);
        // A lower leverage raises what the position and the orders hold: it must still fit.
        if l < old {
            let mut trial = self.clone();
            trial.accts[a as usize].pos.entry(i).or_default().leverage = l;
            let tp = trial.pos(a, i);
            let iso_short =
                tp.isolated && tp.size != 0 && tp.iso + inst.upnl(&tp).min(0) < trial.insts[&i].initial_margin(&tp);
            if iso_short || trial.available(a) < 0 {
                return Err(FReject::InsufficientMargin);
            }
        }
        self.accts[a as usize].pos.entry(i).or_default().leverage = l;
        self.ev.push(FEvent::LeverageSet { account: a, inst: i, leverage: l });
        Ok(())
    }

    pub fn set_margin_mode(&mut self, a: AccountId, i: InstId, isolated: bool) -> Result<(), FReject> {
        self.check_account(a)?;
        let inst = self.inst(i)?;
        if a == self.fund && isolated {
            return Err(FReject::SystemAccount);
        }
        let p = self.pos(a, i);
        if p.size != 0 || inst.orders.iter().any(|o| o.account == a) {
            return Err(FReject::PositionOpen);
        }
        if p.isolated == isolated {
            return Err(FReject::InvalidField);
        }
        self.accts[a as usize].pos.entry(i).or_default().isolated = isolated;
        self.ev.push(FEvent::MarginModeSet { account: a, inst: i, isolated });
        Ok(())
    }

    pub fn adjust_isolated(&mut self, a: AccountId, i: InstId, delta: Money) -> Result<(), FReject> {
        self.check_account(a)?;
        let inst = self.inst(i)?;
        let p = self.pos(a, i);
        if !p.isolated || p.size == 0 {
            return Err(FReject::NoPosition);
        }
        if delta == 0 {
            return Err(FReject::InvalidField);
        }
        let short = if delta > 0 {
            delta > self.available(a)
        } else {
            p.iso + delta + inst.upnl(&p).min(0) < inst.initial_margin(&p)
        };
        if short {
            return Err(FReject::InsufficientMargin);
        }
        let acct = &mut self.accts[a as usize];
        acct.wallet -= delta;
        let p = acct.pos.get_mut(&i).unwrap();
        p.iso += delta;
        let isolated_margin = p.iso;
        self.ev.push(FEvent::IsolatedMarginAdjusted { account: a, inst: i, delta, isolated_margin });
        self.touch_wallet(a);
        self.touch_pos(a, i);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn new_order(
        &mut self,
        a: AccountId,
        i: InstId,
        side: Side,
        kind: OrderKind,
        qty: u64,
        reduce_only: bool,
        close_position: bool,
    ) -> Result<(), FReject> {
        self.check_account(a)?;
        let inst = self.inst(i)?;
        if !inst.trading {
            return Err(FReject::InstrumentNotTrading);
        }
        let market = kind == OrderKind::Market;
        if close_position && (!market || qty != 0) {
            return Err(FReject::InvalidField);
        }
        let p = self.pos(a, i);
        let (qty, reduce_only) = if close_position {
            if closable(p.size, side) == 0 {
                return Err(FReject::ReduceOnlyWouldOpen);
            }
            (p.size.unsigned_abs() as u64, true)
        } else {
            (qty, reduce_only)
        };
        let (limit, gtc) = match kind {
            OrderKind::Limit { price, ioc } => {
                if price == 0 || !price.is_multiple_of(inst.spec.tick) {
                    return Err(FReject::PriceOffTick);
                }
                (price, !ioc)
            }
            OrderKind::Market => (inst.market_limit(side), false),
        };
        if qty == 0 || !qty.is_multiple_of(inst.spec.lot) {
            return Err(FReject::QtyOffLot);
        }
        if qty < inst.spec.min_qty || qty > inst.spec.max_qty {
            return Err(FReject::QtyOutOfRange);
        }
        if !market {
            if (limit as i128) * (qty as i128) < inst.spec.min_notional * inst.s() {
                return Err(FReject::BelowMinNotional);
            }
            if !inst.in_band(limit) {
                return Err(FReject::OutsidePriceBand);
            }
        }
        if !market && limit >= 1 << 48 {
            return Err(FReject::OutsidePriceBand);
        }
        if reduce_only && (qty as i128) > closable(p.size, side) {
            return Err(FReject::ReduceOnlyWouldOpen);
        }
        // An order that can rest is margined at its limit; one that cannot, on its walk.
        let (q, n, top) =
            if gtc { (qty as i128, limit as i128 * qty as i128, limit) } else { inst.walk(side, limit, qty) };
        // F2 at the higher of the mark and the highest price it trades at; sizes below 2^48.
        let size = if reduce_only { qty as i128 } else { inst.worst_size(a, p.size, Some((side, qty))) };
        let at = inst.mark.max(top) as i128;
        if size >= 1 << 48 || ceil_div(size * at, inst.s()) > inst.cap(inst.leverage(&p)).unwrap_or(0) {
            return Err(FReject::PositionLimitExceeded);
        }
        if !reduce_only {
            let need = self.order_need(a, i, side, q, n);
            if need > 0 && need > self.available(a) {
                return Err(FReject::InsufficientMargin);
            }
        }
        let id = self.next_order;
        self.next_order += 1;
        let price = if market { 0 } else { limit };
        self.ev.push(FEvent::Accepted { order_id: id, account: a, inst: i, side, price, qty });
        let mut t = Taker { id, account: a, side, limit, leaves: qty, reduce_only, liquidation: false };
        self.match_taker(i, &mut t);
        if t.leaves > 0 {
            let inst = self.insts.get_mut(&i).unwrap();
            if gtc {
                inst.orders.push(Order { id, account: a, side, price: limit, leaves: t.leaves, reduce_only });
            } else {
                let reason = FCancelReason::ImmediateRemainder;
                self.ev.push(FEvent::Cancelled { order_id: id, account: a, inst: i, qty: t.leaves, reason });
            }
        }
        Ok(())
    }

    /// What a new non-reduce-only order of `q` worth `n` (Σ price × qty) needs free: the growth
    /// of the order margin plus the immediate loss of its opening part against the mark.
    pub fn order_need(&self, a: AccountId, i: InstId, side: Side, q: i128, n: i128) -> Money {
        if q == 0 {
            return 0;
        }
        let inst = &self.insts[&i];
        let p = self.pos(a, i);
        let before = inst.order_margin(a, &p, None);
        let after = inst.order_margin(a, &p, Some((side, q, n)));
        let (open, _) = inst.open_side(a, side);
        let c = closable(p.size, side);
        let q_open = (open + q - c).max(0) - (open - c).max(0);
        let loss = (side.sign() * (n - inst.mark as i128 * q)).max(0);
        after - before + ceil_div(loss * q_open, q * inst.s())
    }

    pub fn cancel(&mut self, a: AccountId, id: u64) -> Result<(), FReject> {
        self.check_account(a)?;
        if let Some((i, owner)) = self.stop_owner(id) {
            if owner != a {
                return Err(FReject::NotYourOrder);
            }
            self.remove_stop(i, id, FCancelReason::User);
            return Ok(());
        }
        let (i, idx) = self
            .insts
            .iter()
            .find_map(|(i, inst)| inst.orders.iter().position(|o| o.id == id).map(|idx| (*i, idx)))
            .ok_or(FReject::UnknownOrder)?;
        if self.insts[&i].orders[idx].account != a {
            return Err(FReject::NotYourOrder);
        }
        self.remove_order(i, id, FCancelReason::User);
        Ok(())
    }

    /// The instrument and owner of armed stop `id`.
    pub fn stop_owner(&self, id: u64) -> Option<(InstId, AccountId)> {
        self.insts.iter().find_map(|(i, inst)| inst.stops.iter().find(|s| s.id == id).map(|s| (*i, s.account)))
    }

    /// Every armed stop as (id, owner), by id.
    pub fn stop_ids(&self) -> Vec<(u64, AccountId)> {
        let mut v: Vec<(u64, AccountId)> =
            self.insts.values().flat_map(|inst| inst.stops.iter().map(|s| (s.id, s.account))).collect();
        v.sort();
        v
    }

    pub fn remove_stop(&mut self, i: InstId, id: u64, reason: FCancelReason) {
        let inst = self.insts.get_mut(&i).unwrap();
        let idx = inst.stops.iter().position(|s| s.id == id).unwrap();
        let s = inst.stops.remove(idx);
        self.ev.push(FEvent::Cancelled { order_id: id, account: s.account, inst: i, qty: s.qty, reason });
    }

    /// A mark-price stop: the order's checks as `NewOrder`'s (a reduce-only or close-position
    /// stop first sized against the position: it could only open → `ReduceOnlyWouldOpen`), then
    /// the trigger price on the tick, a mark from the oracle, and not already reached by it. It
    /// holds no margin while armed: F2 and F3 run when it fires.
    #[allow(clippy::too_many_arguments)]
    pub fn new_stop(
        &mut self,
        a: AccountId,
        i: InstId,
        side: Side,
        kind: OrderKind,
        qty: u64,
        trigger_price: u64,
        (take_profit, reduce_only, close_position): (bool, bool, bool),
    ) -> Result<(), FReject> {
        self.check_account(a)?;
        let inst = self.inst(i)?;
        if !inst.trading {
            return Err(FReject::InstrumentNotTrading);
        }
        let market = kind == OrderKind::Market;
        let c = closable(self.pos(a, i).size, side);
        let qty = if close_position {
            if !market || qty != 0 {
                return Err(FReject::InvalidField);
            }
            if c == 0 {
                return Err(FReject::ReduceOnlyWouldOpen);
            }
            c as u64
        } else {
            qty
        };
        if reduce_only && qty as i128 > c {
            return Err(FReject::ReduceOnlyWouldOpen);
        }
        if let OrderKind::Limit { price, .. } = kind {
            if price == 0 || !price.is_multiple_of(inst.spec.tick) {
                return Err(FReject::PriceOffTick);
            }
        }
        if qty == 0 || !qty.is_multiple_of(inst.spec.lot) {
            return Err(FReject::QtyOffLot);
        }
        if qty < inst.spec.min_qty || qty > inst.spec.max_qty {
            return Err(FReject::QtyOutOfRange);
        }
        if let OrderKind::Limit { price, .. } = kind {
            if (price as i128) * (qty as i128) < inst.spec.min_notional * inst.s() {
                return Err(FReject::BelowMinNotional);
            }
            if !inst.in_band(price) {
                return Err(FReject::OutsidePriceBand);
            }
        }
        if trigger_price == 0 || !trigger_price.is_multiple_of(inst.spec.tick) {
            return Err(FReject::PriceOffTick);
        }
        if !inst.has_mark() {
            return Err(FReject::NoMarkPrice);
        }
        // A buy stop-loss and a sell take-profit fire on a rise, the others on a fall.
        let rise = take_profit == (side == Side::Sell);
        if fires(rise, trigger_price, inst.mark) {
            return Err(FReject::WouldTriggerImmediately);
        }
        let id = self.next_order;
        self.next_order += 1;
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.ev.push(FEvent::Armed { order_id: id, account: a, inst: i, side, qty, trigger_price });
        let stop = Stop { id, account: a, side, kind, qty, trigger_price, rise, reduce_only, close_position, arrival };
        self.insts.get_mut(&i).unwrap().stops.push(stop);
        Ok(())
    }

    /// Moves an armed stop to `trigger_price`, behind the stops already there.
    pub fn amend_trigger(&mut self, a: AccountId, id: u64, trigger_price: u64) -> Result<(), FReject> {
        self.check_account(a)?;
        let Some((i, owner)) = self.stop_owner(id) else {
            let resting = self.insts.values().flat_map(|inst| &inst.orders).find(|o| o.id == id);
            return Err(match resting {
                None => FReject::UnknownOrder,
                Some(o) if o.account != a => FReject::NotYourOrder,
                Some(_) => FReject::NotArmed,
            });
        };
        if owner != a {
            return Err(FReject::NotYourOrder);
        }
        let inst = &self.insts[&i];
        let s = inst.stops.iter().find(|s| s.id == id).unwrap();
        if !inst.trading {
            return Err(FReject::InstrumentNotTrading);
        }
        if trigger_price == 0 || !trigger_price.is_multiple_of(inst.spec.tick) {
            return Err(FReject::PriceOffTick);
        }
        if trigger_price == s.trigger_price {
            return Err(FReject::InvalidField);
        }
        if fires(s.rise, trigger_price, inst.mark) {
            return Err(FReject::WouldTriggerImmediately);
        }
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        let s = self.insts.get_mut(&i).unwrap().stops.iter_mut().find(|s| s.id == id).unwrap();
        s.trigger_price = trigger_price;
        s.arrival = arrival;
        self.ev.push(FEvent::TriggerAmended { order_id: id, account: a, inst: i, trigger_price });
        Ok(())
    }

    /// Fires, one at a time, the stops the mark has reached: those that fire on a rise lowest
    /// trigger first, then those that fire on a fall highest first, the earlier arrival first
    /// at one price. Each fired stop's order is placed (and trades) before the next is chosen.
    pub fn fire_stops(&mut self, i: InstId) {
        loop {
            let inst = &self.insts[&i];
            let due = |s: &&Stop| fires(s.rise, s.trigger_price, inst.mark);
            let next = inst
                .stops
                .iter()
                .filter(|s| s.rise)
                .filter(due)
                .min_by_key(|s| (s.trigger_price, s.arrival))
                .or_else(|| {
                    inst.stops
                        .iter()
                        .filter(|s| !s.rise)
                        .filter(due)
                        .min_by_key(|s| (Reverse(s.trigger_price), s.arrival))
                })
                .cloned();
            let Some(s) = next else { return };
            let mark = inst.mark;
            self.insts.get_mut(&i).unwrap().stops.retain(|x| x.id != s.id);
            self.ev.push(FEvent::Triggered {
                order_id: s.id,
                account: s.account,
                inst: i,
                trigger_price: s.trigger_price,
                mark,
            });
            self.place_fired(i, &s);
        }
    }

    /// A fired stop's order, placed as a new order with the stop's id and no `Accepted`: a
    /// reduce-only stop cut to the position it finds (a close-position one takes all of it;
    /// with nothing to close it is cancelled), then F2 and F3 (a failure cancels it), then
    /// matching, resting or cancelling the remainder.
    pub fn place_fired(&mut self, i: InstId, s: &Stop) {
        let c = closable(self.pos(s.account, i).size, s.side) as u64;
        let reduce_only = s.reduce_only || s.close_position;
        let qty = match (s.close_position, reduce_only) {
            (true, _) => c,
            (false, true) => s.qty.min(c),
            (false, false) => s.qty,
        };
        let cancel = |m: &mut Model, qty, reason| {
            m.ev.push(FEvent::Cancelled { order_id: s.id, account: s.account, inst: i, qty, reason })
        };
        if qty == 0 {
            return cancel(self, s.qty, FCancelReason::ReduceOnly);
        }
        let inst = &self.insts[&i];
        let (limit, gtc) = match s.kind {
            OrderKind::Limit { price, ioc } => (price, !ioc),
            OrderKind::Market => (inst.market_limit(s.side), false),
        };
        let limited = matches!(s.kind, OrderKind::Limit { .. });
        let p = self.pos(s.account, i);
        let (q, n, top) =
            if gtc { (qty as i128, limit as i128 * qty as i128, limit) } else { inst.walk(s.side, limit, qty) };
        // F2 at the higher of the mark and the highest price it trades at (as a new order).
        let size = if reduce_only { qty as i128 } else { inst.worst_size(s.account, p.size, Some((s.side, qty))) };
        let at = inst.mark.max(top) as i128;
        let over_cap = (limited && limit >= 1 << 48)
            || size >= 1 << 48
            || ceil_div(size * at, inst.s()) > inst.cap(inst.leverage(&p)).unwrap_or(0);
        let unfunded = !reduce_only && {
            let need = self.order_need(s.account, i, s.side, q, n);
            need > 0 && need > self.available(s.account)
        };
        if over_cap || unfunded {
            return cancel(self, qty, FCancelReason::Unfundable);
        }
        let (id, account, side) = (s.id, s.account, s.side);
        let mut t = Taker { id, account, side, limit, leaves: qty, reduce_only, liquidation: false };
        self.match_taker(i, &mut t);
        if t.leaves > 0 {
            if gtc {
                let o = Order { id, account, side, price: limit, leaves: t.leaves, reduce_only };
                self.insts.get_mut(&i).unwrap().orders.push(o);
            } else {
                cancel(self, t.leaves, FCancelReason::ImmediateRemainder);
            }
        }
    }

    pub fn remove_order(&mut self, i: InstId, id: u64, reason: FCancelReason) {
        let inst = self.insts.get_mut(&i).unwrap();
        let idx = inst.orders.iter().position(|o| o.id == id).unwrap();
        let o = inst.orders.remove(idx);
        self.ev.push(FEvent::Cancelled { order_id: id, account: o.account, inst: i, qty: o.leaves, reason });
    }

    pub fn set_mark(&mut self, sender: AccountId, i: InstId, mark: u64) -> Result<(), FReject> {
        if sender != self.oracle {
            return Err(FReject::NotOracle);
        }
        let inst = self.inst(i)?;
        if mark == 0 {
            return Err(FReject::InvalidMarkPrice);
        }
        let prev = inst.mark as i128;
        if (mark as i128 - prev).abs() * 10_000 > prev * inst.spec.band_bps as i128 {
            return Err(FReject::MarkOutsideBand);
        }
        self.insts.get_mut(&i).unwrap().mark = mark;
        self.ev.push(FEvent::MarkPriceSet { inst: i, mark });
        // The stops the new mark reaches fire now, before the liquidation check at the end of
        // the command; a halted perpetual fires none.
        if self.insts[&i].trading {
            self.fire_stops(i);
        }
        Ok(())
    }

    /// Funding at `rate`, sent at `at_ns`, announcing `next_ns` (docs/futures.md, section 7): the
    /// time must be after the command's; 0 is "not given" (a journal record of the release
    /// before the field), settled without a time and announcing nothing.
    pub fn funding(
        &mut self,
        sender: AccountId,
        i: InstId,
        rate: i128,
        at_ns: u64,
        next_ns: u64,
    ) -> Result<(), FReject> {
        if sender != self.oracle {
            return Err(FReject::NotOracle);
        }
        let inst = self.inst(i)?;
        if rate.abs() >= PPM {
            return Err(FReject::InvalidField);
        }
        if next_ns != 0 && next_ns <= at_ns {
            return Err(FReject::InvalidFundingTime);
        }
        let oi: i128 = self.accts.iter().filter_map(|a| a.pos.get(&i)).map(|p| p.size.max(0)).sum();
        if oi == 0 {
            return Err(FReject::NoOpenInterest);
        }
        let (mark, den) = (inst.mark as i128, inst.s() * PPM);
        let (mut paid, mut received) = (0, 0);
        for a in 0..self.accounts {
            let Some(p) = self.accts[a as usize].pos.get_mut(&i).filter(|p| p.size != 0) else { continue };
            let owed = p.size.abs() * mark * rate.abs();
            let pays = (rate > 0) == (p.size > 0);
            // Payers round up, receivers down: the residue (≥ 0) goes to the insurance fund.
            let amount = if rate == 0 {
                0
            } else if pays {
                -ceil_div(owed, den)
            } else {
                floor_div(owed, den)
            };
            if amount < 0 {
                paid -= amount;
            } else {
                received += amount;
            }
            let isolated = p.isolated;
            if isolated {
                p.iso += amount;
            } else {
                self.accts[a as usize].wallet += amount;
            }
            self.ev.push(FEvent::FundingPayment { account: a, inst: i, amount });
            match (amount, isolated) {
                (0, _) => {}
                (_, true) => self.touch_pos(a, i),
                (_, false) => self.touch_wallet(a),
            }
        }
        let residue = paid - received;
        assert!(residue >= 0);
        if residue > 0 {
            self.accts[self.fund as usize].wallet += residue;
            self.touch_wallet(self.fund);
        }
        self.ev.push(FEvent::FundingApplied {
            inst: i,
            rate_ppm: rate,
            mark: mark as u64,
            open_interest: oi as u64,
            paid,
            received,
            residue,
            next_ns,
        });
        if next_ns != 0 {
            self.insts.get_mut(&i).unwrap().funding = (rate, next_ns);
        }
        Ok(())
    }

    // ----- Matching and settlement ---------------------------------------------------------

    pub fn match_taker(&mut self, i: InstId, t: &mut Taker) {
        while t.leaves > 0 {
            let inst = &self.insts[&i];
            if t.reduce_only {
                assert!(t.leaves as i128 <= closable(self.pos(t.account, i).size, t.side));
            }
            let crosses = |o: &Order| match t.side {
                Side::Buy => o.price <= t.limit,
                Side::Sell => o.price >= t.limit,
            };
            let best = inst
                .orders
                .iter()
                .filter(|o| o.side != t.side && crosses(o))
                .min_by_key(|o| (if t.side == Side::Buy { o.price } else { u64::MAX - o.price }, o.id))
                .cloned();
            let Some(mut maker) = best else { break };
            if maker.reduce_only {
                let c = closable(self.pos(maker.account, i).size, maker.side) as u64;
                if maker.leaves > c {
                    if c == 0 {
                        self.remove_order(i, maker.id, FCancelReason::ReduceOnly);
                        continue;
                    }
                    self.trim(i, maker.id, c);
                    maker.leaves = c;
                }
            }
            let q = t.leaves.min(maker.leaves);
            self.trade(i, maker.price, q, &maker, t);
            let inst = self.insts.get_mut(&i).unwrap();
            let idx = inst.orders.iter().position(|o| o.id == maker.id).unwrap();
            inst.orders[idx].leaves -= q;
            if inst.orders[idx].leaves == 0 {
                inst.orders.remove(idx);
            }
            t.leaves -= q;
        }
    }

    pub fn trim(&mut self, i: InstId, id: u64, leaves: u64) {
        let inst = self.insts.get_mut(&i).unwrap();
        let o = inst.orders.iter_mut().find(|o| o.id == id).unwrap();
        let cut = o.leaves - leaves;
        o.leaves = leaves;
        self.ev.push(FEvent::Trimmed { order_id: id, account: o.account, inst: i, leaves, cut });
    }

    /// One trade at the maker's price: cash rounding (buyer up, seller down, residue to the fee
    /// account), fees, then the maker's and the taker's positions.
    pub fn trade(&mut self, i: InstId, price: u64, q: u64, maker: &Order, t: &Taker) {
        let inst = &self.insts[&i];
        let (s, pq) = (inst.s(), price as i128 * q as i128);
        let (cash_buy, cash_sell) = (ceil_div(pq, s), floor_div(pq, s));
        let cash = |side: Side| if side == Side::Buy { cash_buy } else { cash_sell };
        let (n_maker, n_taker) = (cash(maker.side), cash(t.side));
        let fee = |n: Money, r: i128| if r > 0 { ceil_div(n * r, PPM) } else { 0 };
        let taker_fee = if t.liquidation { 0 } else { fee(n_taker, inst.spec.taker_ppm) };
        let maker_fee = if inst.spec.maker_ppm >= 0 {
            fee(n_maker, inst.spec.maker_ppm)
        } else {
            -floor_div(n_maker * -inst.spec.maker_ppm, PPM).min(taker_fee)
        };
        self.fees += cash_buy - cash_sell + taker_fee + maker_fee;
        let trade_id = self.next_trade;
        self.next_trade += 1;
        self.ev.push(FEvent::Trade {
            trade_id,
            inst: i,
            price,
            qty: q,
            taker_side: t.side,
            maker_order: maker.id,
            maker_account: maker.account,
            taker_order: t.id,
            taker_account: t.account,
            maker_fee,
            taker_fee,
            liquidation: t.liquidation,
        });
        self.settle(maker.account, i, maker.side, q, price, n_maker, maker_fee);
        self.settle(t.account, i, t.side, q, price, n_taker, taker_fee);
        self.insts.get_mut(&i).unwrap().last = price;
    }

    /// A position moving from one account to another at `price` without fees (takeover, ADL).
    pub fn transfer_position(
        &mut self,
        i: InstId,
        from: AccountId,
        to: AccountId,
        side_from: Side,
        q: u64,
        price: u64,
    ) {
        let pq = price as i128 * q as i128;
        let s = self.insts[&i].s();
        let (cash_buy, cash_sell) = (ceil_div(pq, s), floor_div(pq, s));
        self.fees += cash_buy - cash_sell;
        let cash = |side: Side| if side == Side::Buy { cash_buy } else { cash_sell };
        self.settle(from, i, side_from, q, price, cash(side_from), 0);
        self.settle(to, i, side_from.opposite(), q, price, cash(side_from.opposite()), 0);
    }

    /// Settles one side of a fill: position, realised PnL and fee into the margin (isolated:
    /// the position's margin, which also receives the opening part's IM from the wallet).
    #[allow(clippy::too_many_arguments)]
    pub fn settle(&mut self, a: AccountId, i: InstId, side: Side, q: u64, price: u64, cash: Money, fee: Money) {
        let inst = &self.insts[&i];
        let (s, liquidating) = (inst.s(), self.liquidating == Some(a));
        let acct = &mut self.accts[a as usize];
        let wallet_before = acct.wallet;
        let p = acct.pos.entry(i).or_default();
        let (realised, cash_open) = apply_fill(p, side, q as i128, price, cash, s);
        let delta = realised - fee;
        let (isolated, closed) = (p.isolated, p.size == 0);
        if isolated {
            p.iso += delta;
            if cash_open > 0 {
                let moved = ceil_div(cash_open, inst.leverage(p) as i128).min(acct.wallet.max(0));
                acct.wallet -= moved;
                p.iso += moved;
            }
        } else {
            acct.wallet += delta;
        }
        self.touch_pos(a, i);
        if isolated && closed && !liquidating {
            // A closed isolated position returns its margin to the wallet; a deficit is the fund's.
            let iso = self.accts[a as usize].pos[&i].iso;
            if iso < 0 {
                self.cover(a, -iso, Some(i));
            }
            let acct = &mut self.accts[a as usize];
            acct.wallet += std::mem::take(&mut acct.pos.get_mut(&i).unwrap().iso);
        }
        let w = self.accts[a as usize].wallet;
        if w != wallet_before {
            self.touch_wallet(a);
        }
        if self.cross_positions(a).next().is_none() && w < 0 && !liquidating {
            self.cover(a, -w, None);
        }
    }

    /// The insurance fund pays an account's deficit (into its wallet, or its isolated margin on
    /// `iso_inst`). The fund's own deficit stays where it is: see the spec's open question.
    pub fn cover(&mut self, a: AccountId, amount: Money, iso_inst: Option<InstId>) {
        assert!(amount > 0);
        if a == self.fund {
            return;
        }
        self.accts[self.fund as usize].wallet -= amount;
        self.touch_wallet(self.fund);
        match iso_inst {
            Some(i) => {
                self.accts[a as usize].pos.get_mut(&i).unwrap().iso += amount;
                self.touch_pos(a, i);
            }
            None => {
                self.accts[a as usize].wallet += amount;
                self.touch_wallet(a);
            }
        }
        self.ev.push(FEvent::BankruptcyCovered { account: a, amount });
    }

    // ----- Liquidation ---------------------------------------------------------------------

    /// The mark at and beyond which `k + floor(upnl − mm) ≤ 0` for this position: the largest
    /// such mark for a long, the smallest for a short (None: no positive mark, or beyond u64).
    pub fn threshold(&self, i: InstId, p: &Pos, k: Money) -> Option<u64> {
        let inst = &self.insts[&i];
        let (q, c, s) = (p.size.abs(), p.cost, inst.s());
        let key = if p.size > 0 {
            // Largest M with q·M·(1e6 − r) < 1e6·s·(C − A + 1 − K), over the tier lines.
            inst.tiers
                .iter()
                .filter_map(|t| {
                    let big_t = PPM * s * (c - t.maint_amount + 1 - k);
                    (big_t > 0).then(|| floor_div(big_t - 1, q * (PPM - t.mmr_ppm)))
                })
                .filter(|m| *m >= 1)
                .max()
        } else {
            // Smallest M with q·M·(1e6 + r) > 1e6·s·(C + A − 1 + K).
            inst.tiers
                .iter()
                .map(|t| (floor_div(PPM * s * (c + t.maint_amount - 1 + k), q * (PPM + t.mmr_ppm)) + 1).max(1))
                .min()
        };
        key.filter(|m| *m <= u64::MAX as i128).map(|m| m as u64)
    }

    /// The liquidation price users see: the account's other cross positions held at their
    /// current marks (Binance's convention).
    pub fn display_liq_price(&self, a: AccountId, i: InstId) -> Option<u64> {
        let p = self.pos(a, i);
        if p.size == 0 {
            return None;
        }
        let k = if p.isolated {
            p.iso
        } else {
            self.accts[a as usize].wallet
                + self.cross_positions(a).filter(|(j, _)| *j != i).map(|(j, q)| self.insts[&j].excess(q)).sum::<Money>()
        };
        self.threshold(i, &p, k)
    }

    /// The liquidation index keys of an account's positions. Isolated: exact. Cross: the surplus
    /// `S` less one is split in proportion to the positions' maintenance margins into budgets `b`
    /// (rounded down, so Σ b ≤ S − 1), and a position is keyed where its own `floor(upnl − mm)`
    /// has fallen by more than its budget: no account with `S ≤ 0` can have every key uncrossed.
    pub fn index_keys(&self, a: AccountId) -> Vec<(InstId, Option<u64>)> {
        let acct = &self.accts[a as usize];
        let cross: Vec<(InstId, Money, Money)> = self
            .cross_positions(a)
            .map(|(i, p)| (i, self.insts[&i].excess(p), self.insts[&i].maint_margin(p)))
            .collect();
        let surplus = acct.wallet + cross.iter().map(|c| c.1).sum::<Money>();
        let mm_total: Money = cross.iter().map(|c| c.2).sum();
        acct.pos
            .iter()
            .map(|(&i, p)| {
                let key = if p.size == 0 {
                    None
                } else if p.isolated {
                    self.threshold(i, p, p.iso)
                } else {
                    let &(_, excess, mm) = cross.iter().find(|c| c.0 == i).unwrap();
                    let budget = floor_div((surplus - 1) * mm, mm_total);
                    self.threshold(i, p, budget + 1 - excess)
                };
                (i, key)
            })
            .collect()
    }

    pub fn crossed(&self, a: AccountId, i: InstId) -> bool {
        let p = self.pos(a, i);
        let m = self.insts[&i].mark;
        match p.key {
            None => false,
            Some(k) if p.size > 0 => m <= k,
            Some(k) => m >= k,
        }
    }

    /// The price at which the position's equity would be zero (others at their marks), rounded
    /// to the tick on the side that leaves the equity ≥ 0.
    pub fn bankruptcy(&self, a: AccountId, i: InstId) -> u64 {
        let inst = &self.insts[&i];
        let p = self.pos(a, i);
        let k = if p.isolated {
            p.iso
        } else {
            self.accts[a as usize].wallet
                + self.cross_positions(a).filter(|(j, _)| *j != i).map(|(j, q)| self.insts[&j].upnl(q)).sum::<Money>()
        };
        let (q, c, s, tick) = (p.size.abs(), p.cost, inst.s(), inst.spec.tick as i128);
        let price =
            if p.size > 0 { ceil_div(s * (c - k), q * tick) * tick } else { floor_div(s * (c + k), q * tick) * tick };
        price.clamp(tick, u64::MAX as i128 / tick * tick) as u64
    }

    pub fn rekey(&mut self, a: AccountId) {
        for (i, key) in self.index_keys(a) {
            self.accts[a as usize].pos.get_mut(&i).unwrap().key = key;
        }
    }

    pub fn rekey_dirty(&mut self) {
        for a in std::mem::take(&mut self.dirty) {
            self.rekey(a);
        }
    }

    /// Full scan: the first position, by account id then instrument id, whose isolated
    /// position or cross account is liquidatable (surplus ≤ 0). Keys play no part.
    pub fn first_liquidatable(&self) -> Option<(AccountId, InstId)> {
        self.accts.iter().enumerate().find_map(|(a, acct)| {
            let a = a as AccountId;
            acct.pos.iter().find(|(&i, p)| p.size != 0 && self.surplus(a, i) <= 0).map(|(&i, _)| (a, i))
        })
    }

    /// The index's promise (docs/futures.md, "The index"): with every touched account re-keyed,
    /// each liquidatable isolated position has its key crossed, and each liquidatable cross
    /// account has at least one cross position whose key is crossed.
    pub fn assert_index_complete(&self) {
        for (a, acct) in self.accts.iter().enumerate() {
            let a = a as AccountId;
            for (&i, p) in acct.pos.iter().filter(|(_, p)| p.size != 0 && p.isolated) {
                assert_eq!(self.surplus(a, i) <= 0, self.crossed(a, i), "account {a} isolated {i}: key {:?}", p.key);
            }
            let cross: Vec<InstId> = self.cross_positions(a).map(|(i, _)| i).collect();
            if let Some(&i) = cross.first() {
                if self.surplus(a, i) <= 0 {
                    assert!(cross.iter().any(|&j| self.crossed(a, j)), "account {a}: liquidatable, no key crossed");
                }
            }
        }
    }

    pub fn after_command(&mut self) {
        let mut rounds = 0;
        loop {
            self.rekey_dirty();
            self.assert_index_complete();
            let Some((a, i)) = self.first_liquidatable() else { break };
            rounds += 1;
            assert!(rounds < 10_000, "liquidation cascade does not end");
            self.liquidate(a, i);
        }
        // The engine met the healthy accounts with a crossed key in its index and re-budgeted them.
        let crossed: Vec<AccountId> =
            (0..self.accounts).filter(|&a| self.accts[a as usize].pos.keys().any(|&i| self.crossed(a, i))).collect();
        for a in crossed {
            self.rekey(a);
        }
        self.reduce_only_sweep();
        self.emit_coalesced();
    }

    pub fn liquidate(&mut self, a: AccountId, trigger: InstId) {
        let isolated = self.pos(a, trigger).isolated;
        let acct = &self.accts[a as usize];
        let cross_mode = |i: &InstId| !acct.pos.get(i).is_some_and(|p| p.isolated);
        let (close, cancel_on): (Vec<InstId>, Vec<InstId>) = if isolated {
            (vec![trigger], vec![trigger])
        } else {
            (self.cross_positions(a).map(|(i, _)| i).collect(), self.insts.keys().copied().filter(cross_mode).collect())
        };
        // Its resting orders and its armed stops, in order-id order.
        let mut orders: Vec<(u64, InstId, bool)> = cancel_on
            .iter()
            .flat_map(|i| {
                let resting = self.insts[i].orders.iter().filter(|o| o.account == a).map(|o| (o.id, *i, false));
                resting.chain(self.insts[i].stops.iter().filter(|s| s.account == a).map(|s| (s.id, *i, true)))
            })
            .collect();
        orders.sort();
        for (id, i, armed) in orders {
            if armed {
                self.remove_stop(i, id, FCancelReason::Liquidation);
            } else {
                self.remove_order(i, id, FCancelReason::Liquidation);
            }
        }
        self.liquidating = Some(a);
        for i in close {
            self.close_by_liquidation(a, i);
        }
        self.liquidating = None;
        let clearance = if isolated {
            let p = self.accts[a as usize].pos.get_mut(&trigger).unwrap();
            if p.iso < 0 {
                let d = -p.iso;
                self.cover(a, d, Some(trigger));
            }
            let p = self.accts[a as usize].pos.get_mut(&trigger).unwrap();
            std::mem::take(&mut p.iso)
        } else if a != self.fund {
            let w = self.accts[a as usize].wallet;
            if w < 0 {
                self.cover(a, -w, None);
            }
            std::mem::take(&mut self.accts[a as usize].wallet)
        } else {
            0
        };
        if clearance != 0 {
            self.accts[self.fund as usize].wallet += clearance;
            self.touch_wallet(self.fund);
            if !isolated {
                self.touch_wallet(a);
            }
        }
        self.touch_pos(a, trigger);
        self.ev.push(FEvent::LiquidationDone { account: a, inst: trigger, clearance });
    }

    /// Liquidation order at the bankruptcy price, then takeover by the insurance fund, else ADL.
    pub fn close_by_liquidation(&mut self, a: AccountId, i: InstId) {
        let p = self.pos(a, i);
        if p.size == 0 {
            return;
        }
        let pbk = self.bankruptcy(a, i);
        let inst = &self.insts[&i];
        self.ev.push(FEvent::Liquidation {
            account: a,
            inst: i,
            size: p.size,
            mark: inst.mark,
            liq_price: self.display_liq_price(a, i).unwrap_or(0),
            bankruptcy_price: pbk,
        });
        let side = Side::closing(p.size);
        if inst.trading {
            let leaves = p.size.unsigned_abs() as u64;
            let mut t = Taker { id: 0, account: a, side, limit: pbk, leaves, reduce_only: true, liquidation: true };
            self.match_taker(i, &mut t);
        }
        let rest = self.pos(a, i).size.unsigned_abs() as u64;
        if rest == 0 {
            return;
        }
        if a != self.fund && self.fund_can_take(i, side, rest, pbk) {
            self.ev.push(FEvent::TakenOver { account: a, inst: i, qty: rest, price: pbk });
            self.transfer_position(i, a, self.fund, side, rest, pbk);
            return;
        }
        self.deleverage(a, i, side, rest, pbk);
    }

    /// Whether the fund's margin surplus stays > 0 after taking `q` at `price`.
    pub fn fund_can_take(&self, i: InstId, side_from: Side, q: u64, price: u64) -> bool {
        let inst = &self.insts[&i];
        let mut f = self.accts[self.fund as usize].clone();
        let p = f.pos.entry(i).or_default();
        let side = side_from.opposite();
        let pq = price as i128 * q as i128;
        let cash = if side == Side::Buy { ceil_div(pq, inst.s()) } else { floor_div(pq, inst.s()) };
        let (realised, _) = apply_fill(p, side, q as i128, price, cash, inst.s());
        f.wallet += realised;
        let surplus =
            f.wallet + f.pos.iter().filter(|(_, p)| p.size != 0).map(|(j, p)| self.insts[j].excess(p)).sum::<Money>();
        surplus > 0
    }

    /// ADL: opposite positions by score (PnL ratio × effective leverage) descending, then account.
    pub fn deleverage(&mut self, a: AccountId, i: InstId, side_from: Side, mut rest: u64, price: u64) {
        let inst = &self.insts[&i];
        let mut ranked: Vec<(Reverse<i128>, AccountId)> = Vec::new();
        for (c, acct) in self.accts.iter().enumerate() {
            let c = c as AccountId;
            let Some(p) = acct.pos.get(&i).filter(|p| c != a && p.size * side_from.sign() > 0) else { continue };
            ranked.push((Reverse(self.adl_score(c, p, inst)), c));
        }
        ranked.sort();
        for (_, c) in ranked {
            if rest == 0 {
                break;
            }
            let q = rest.min(self.pos(c, i).size.unsigned_abs() as u64);
            self.ev.push(FEvent::AutoDeleveraged { account: a, counterparty: c, inst: i, qty: q, price });
            self.transfer_position(i, a, c, side_from, q, price);
            rest -= q;
        }
        assert_eq!(rest, 0, "the opposite side always holds the bankrupt position's size");
    }

    /// BitMEX's and Binance's ranking: PnL ratio × effective leverage when in profit, PnL ratio ÷
    /// effective leverage when not (effective leverage = notional / equity), both in ppm.
    pub fn adl_score(&self, c: AccountId, p: &Pos, inst: &Inst) -> i128 {
        let upnl = inst.upnl(p);
        let pnl_ppm = floor_div(upnl * PPM, p.cost.max(1));
        let equity = if p.isolated { p.iso + upnl } else { self.cross_equity(c) };
        let notional = floor_div(p.size.abs() * inst.mark as i128, inst.s());
        let lev_ppm = floor_div(notional * PPM, equity.max(1)).max(1);
        if pnl_ppm > 0 {
            pnl_ppm * lev_ppm
        } else {
            floor_div(pnl_ppm * PPM, lev_ppm)
        }
    }

    pub fn reduce_only_sweep(&mut self) {
        let mut ro: Vec<(u64, InstId)> = self
            .insts
            .iter()
            .flat_map(|(i, inst)| inst.orders.iter().filter(|o| o.reduce_only).map(|o| (o.id, *i)))
            .collect();
        ro.sort();
        for (id, i) in ro {
            let o = self.insts[&i].orders.iter().find(|o| o.id == id).unwrap().clone();
            let c = closable(self.pos(o.account, i).size, o.side) as u64;
            if o.leaves > c {
                if c == 0 {
                    self.remove_order(i, id, FCancelReason::ReduceOnly);
                } else {
                    self.trim(i, id, c);
                }
            }
        }
    }

    // ----- Coalesced events ----------------------------------------------------------------

    pub fn touch_pos(&mut self, a: AccountId, i: InstId) {
        self.dirty.insert(a);
        if !self.touched_pos.contains(&(a, i)) {
            self.touched_pos.push((a, i));
        }
    }

    pub fn touch_wallet(&mut self, a: AccountId) {
        self.dirty.insert(a);
        if !self.touched_wallet.contains(&a) {
            self.touched_wallet.push(a);
        }
    }

    pub fn emit_coalesced(&mut self) {
        for (a, i) in std::mem::take(&mut self.touched_pos) {
            let p = self.pos(a, i);
            let inst = &self.insts[&i];
            self.ev.push(FEvent::PositionChanged {
                account: a,
                inst: i,
                size: p.size,
                cost: p.cost,
                entry_price: inst.entry_price(&p),
                realised_pnl: p.realised,
                isolated_margin: p.iso,
                liq_price: self.display_liq_price(a, i).unwrap_or(0),
            });
        }
        for a in std::mem::take(&mut self.touched_wallet) {
            let acct = &self.accts[a as usize];
            self.ev.push(FEvent::WalletChanged { account: a, wallet: acct.wallet, spot: acct.spot });
        }
    }

    // ----- Invariants ----------------------------------------------------------------------

    /// Σ wallets (spot, futures, isolated, fund) + fees − Σ signed cost basis: equals the net
    /// deposits exactly (equivalently, with Σ size = 0, wallets + fees + Σ upnl at any one price).
    pub fn money(&self) -> Money {
        let mut m = self.fees;
        for acct in &self.accts {
            m += acct.spot + acct.wallet;
            for p in acct.pos.values() {
                m += p.iso - if p.size > 0 { p.cost } else { -p.cost };
            }
        }
        m
    }

    /// Panics with a description if an invariant of docs/futures.md does not hold.
    pub fn check_invariants(&self) {
        assert_eq!(self.money(), self.net_deposits, "conservation");
        for (&i, inst) in &self.insts {
            let net: i128 = self.accts.iter().filter_map(|a| a.pos.get(&i)).map(|p| p.size).sum();
            assert_eq!(net, 0, "instrument {i}: longs and shorts differ");
            for o in &inst.orders {
                if o.reduce_only {
                    assert!(o.leaves as i128 <= closable(self.pos(o.account, i).size, o.side), "reduce-only {o:?}");
                }
            }
        }
        for (a, acct) in self.accts.iter().enumerate() {
            let a = a as AccountId;
            let cross: Vec<InstId> = self.cross_positions(a).map(|(i, _)| i).collect();
            for (&i, p) in &acct.pos {
                assert!(p.size != 0 || (p.cost == 0 && p.iso == 0), "flat position keeps money: {a} {i} {p:?}");
                assert!(!self.crossed(a, i), "account {a} instrument {i}: liquidation left pending");
                if p.isolated || cross.len() <= 1 {
                    assert_eq!(p.key, self.display_liq_price(a, i), "account {a} instrument {i}: key");
                }
                if p.size != 0 {
                    assert!(self.surplus(a, i) > 0, "account {a} instrument {i}: surplus ≤ 0 left unhandled");
                }
            }
            if cross.is_empty() && a != self.fund {
                assert!(acct.wallet >= 0, "account {a}: negative wallet without positions");
            }
        }
    }
}
