//! Commands: the only input of the state machine. Each one is journaled
//! before it is applied, so a command must carry everything the engine needs
//! (including the time, stamped by the gateway): replaying the same commands
//! rebuilds the same state and the same events.

use crate::types::*;

/// One command as it sits in a ring slot and in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    /// The account that sent it (for admin commands, the admin's account id).
    pub account: AccountId,
    /// Gateway receive time, nanoseconds since the Unix epoch. The engine
    /// never reads a clock; it only copies this into events.
    pub timestamp_ns: u64,
    /// What to do.
    pub kind: CommandKind,
}

/// The command body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// Place an order.
    NewOrder(NewOrder),
    /// Cancel one order.
    Cancel(Cancel),
    /// Change an order's quantity and/or price.
    Amend(Amend),
    /// Cancel many of an account's orders.
    MassCancel(MassCancel),
    /// Admin: add an instrument.
    AddInstrument(InstrumentSpec),
    /// Admin: change an instrument's trading state.
    SetInstrumentState(SetInstrumentState),
    /// Admin (risk mode): open an account.
    CreateAccount(CreateAccount),
    /// Admin (risk mode): credit an account.
    Deposit(Transfer),
    /// Admin (risk mode): debit an account's available balance.
    Withdraw(Transfer),
    /// Admin (risk mode): suspend or resume an account, set its fee tier.
    SetAccountStatus(SetAccountStatus),
    /// Admin (risk mode): set an instrument's fee rates for one tier.
    SetFeeSchedule(SetFeeSchedule),
    /// An account's balances and open orders (the sender's own; admins any).
    QueryAccount(QueryAccount),
    /// Admin: give an account an API secret (create or rotate), as its salted hash.
    SetCredential(SetCredential),
    /// Admin: revoke an account's API secret (its logins are refused from then on).
    RevokeCredential(RevokeCredential),
    /// Place a conditional (stop-loss or take-profit) order: armed until the instrument's last
    /// trade price reaches its trigger price, then placed like a `NewOrder` (docs/matching.md).
    NewStopOrder(StopOrder),
    /// Place an order with options a `NewOrder` has no room for: an expiry time (GTD), a quote
    /// quantity (market orders), a trigger (conditional); see [`AdvancedOrder`].
    NewAdvancedOrder(AdvancedOrder),
    /// Move an armed conditional order's trigger price.
    AmendTrigger(AmendTrigger),
    /// Place an order list (OCO, OTO, OTOCO) atomically: every leg or none
    /// (docs/matching.md, "Order lists").
    NewOrderList(OrderList),
    /// Admin: adds a USDT-margined perpetual (docs/futures.md, section 2). Same fields as
    /// [`CommandKind::AddInstrument`]; it starts halted and without risk tiers.
    AddPerpetual(InstrumentSpec),
    /// Admin: appends a risk tier (leverage bracket) to a perpetual with no position or order.
    SetRiskTier(SetRiskTier),
    /// The account: its leverage on one perpetual.
    SetLeverage(SetLeverage),
    /// The account: cross or isolated margin on one perpetual (no position or order there).
    SetMarginMode(SetMarginMode),
    /// The account: adds margin to (delta > 0) or removes it from (< 0) an isolated position.
    AdjustIsolatedMargin(AdjustIsolatedMargin),
    /// Admin: credits a futures wallet ("deposit approved").
    MarginDeposit(Transfer),
    /// Admin: debits a futures wallet, at most its withdrawable amount.
    MarginWithdraw(Transfer),
    /// Admin: a principal deduction from a futures wallet, at most its balance (it may leave the
    /// account liquidatable, and the same command then liquidates it).
    MarginDebit(Transfer),
    /// The account: moves money between its spot balance and its futures wallet.
    WalletTransfer(WalletTransfer),
    /// The oracle: a new mark price of a perpetual (liquidations follow in the same command).
    SetMarkPrice(SetMarkPrice),
    /// The oracle: settles funding on a perpetual at its current mark.
    ApplyFunding(ApplyFunding),
    /// The gateway's clock, journaled while the market is idle and an order's expiry time has
    /// passed: expiries happen at the first command stamped at or after them, so without
    /// commands none would (docs/matching.md, "Expiry"). Changes nothing else.
    TimeTick,
    /// Replication: a leader's first record in its epoch. Changes no state but the sequence (the
    /// engine ignores it); it is in the journal so every replica's log says which leader wrote
    /// which records (the epoch history that failover compares).
    StartEpoch(StartEpoch),
}

/// The first record a replica-set leader writes after winning `epoch` (see `docs/replication.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartEpoch {
    /// The epoch won in etcd's compare-and-swap (strictly increasing, 1 for the first leader).
    pub epoch: u64,
    /// The winner's node id.
    pub node: u32,
}

/// Open an account (risk mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateAccount {
    /// The new account's id.
    pub target: AccountId,
    /// Its fee tier (`< MAX_FEE_TIERS`).
    pub tier: u8,
    /// Whether it may trade.
    pub status: AccountStatus,
}

/// A deposit or withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// Account credited or debited.
    pub target: AccountId,
    /// Asset.
    pub asset: AssetId,
    /// Amount in the asset's minor units (> 0).
    pub amount: u64,
    /// External transaction id: a repeated id is rejected (`DuplicateTransaction`), never applied twice.
    pub tx_id: u64,
}

/// Suspend or resume an account and set its fee tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetAccountStatus {
    /// Account.
    pub target: AccountId,
    /// New status.
    pub status: AccountStatus,
    /// New fee tier (`< MAX_FEE_TIERS`).
    pub tier: u8,
}

/// Fee rates of one instrument for one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetFeeSchedule {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Tier (`< MAX_FEE_TIERS`); tier 0 applies to accounts whose tier has no schedule.
    pub tier: u8,
    /// Maker rate; negative is a rebate. Must not exceed the taker rate.
    pub maker_ppm: FeePpm,
    /// Taker rate, `0 ..< 1_000_000`.
    pub taker_ppm: FeePpm,
}

/// Ask for an account's balances and open orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryAccount {
    /// Account asked about.
    pub target: AccountId,
}

/// Bytes of a credential's salt.
pub const CREDENTIAL_SALT_BYTES: usize = 16;
/// Bytes of a credential's hash: SHA-256 of `salt || secret`.
pub const CREDENTIAL_HASH_BYTES: usize = 32;

/// Give an account an API secret, or replace the one it has. The client hashes the secret, so
/// neither the server nor the journal ever holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetCredential {
    /// The account.
    pub target: AccountId,
    /// Random salt, chosen by the client.
    pub salt: [u8; CREDENTIAL_SALT_BYTES],
    /// SHA-256 of `salt || secret`.
    pub hash: [u8; CREDENTIAL_HASH_BYTES],
}

/// Revoke an account's API secret: the config file's credential no longer applies either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokeCredential {
    /// The account.
    pub target: AccountId,
}

/// Place an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrder {
    /// Client's id for it; unique among the account's live orders.
    pub client_order_id: ClientOrderId,
    /// Instrument to trade.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    pub order_type: OrderType,
    /// Time in force. Market orders must be IOC or FOK.
    pub tif: TimeInForce,
    /// Self-trade prevention mode (applies when this order takes).
    pub stp: StpMode,
    /// Limit price; must be 0 for market orders.
    pub price: Price,
    /// Quantity.
    pub qty: Qty,
}

impl NewOrder {
    /// A good-till-cancelled limit order without self-trade prevention: the plainest order.
    pub fn limit_gtc(
        client_order_id: ClientOrderId,
        instrument: InstrumentId,
        side: Side,
        price: Price,
        qty: Qty,
    ) -> Self {
        NewOrder {
            client_order_id,
            instrument,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            price,
            qty,
        }
    }
}

/// A conditional order: `order` is what is placed when the last trade price of its instrument
/// reaches `trigger_price` (always the last price: mark-price triggers are `NewAdvancedOrder`s) (a stop-market or take-profit order when `order` is a market order,
/// a stop-limit or take-profit-limit when it is a limit order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopOrder {
    /// The order to place on trigger; its client order id names the armed order too.
    pub order: NewOrder,
    /// Last-trade price that fires it, a positive multiple of the tick.
    pub trigger_price: Price,
    /// Which way the price must move (with `order.side`, see [`TriggerKind::fires_on_rise`]).
    pub trigger: TriggerKind,
}

/// A new order with options. Each option is off at 0 (a `NewAdvancedOrder` with every option
/// off places exactly what a `NewOrder` would).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvancedOrder {
    /// The order (for a quote-quantity order, `qty` is 0 and `order_type` market).
    pub order: NewOrder,
    /// Good till date: the order (resting or armed) is cancelled with reason `Expired` by the
    /// first command stamped at or after this time (nanoseconds since the Unix epoch, the
    /// gateway's clock). Only for orders that can rest (limit GTC or post-only) or are
    /// conditional. 0: no expiry.
    pub expire_time_ns: u64,
    /// Market orders by quote quantity: trade at most this much notional (quote minor units,
    /// before fees); the engine turns it into a quantity by walking the book. 0: `order.qty` is
    /// the quantity.
    pub quote_qty: u64,
    /// Conditional: the trigger price and kind (as [`StopOrder`]); `None`: placed now.
    pub trigger: Option<(Price, TriggerKind)>,
    /// Iceberg: while it rests, the book and market data show at most this much of it; each
    /// slice, once traded, is replaced by the next at the back of its level. 0: all shown.
    pub display_qty: Qty,
    /// Trailing stop: with a stop-loss `trigger` whose price is 0, the trigger follows the best
    /// last trade price since arming (the highest for a sell, the lowest for a buy) at this
    /// distance, and fires when the price comes back by it. `None`: a fixed trigger.
    pub trailing: Option<Trailing>,
    /// Perpetuals only: the order may only reduce its owner's position, never open or increase
    /// it (docs/futures.md, section 5). It holds no margin, and it is trimmed or cancelled
    /// when the position shrinks below it.
    pub reduce_only: bool,
    /// Perpetuals only: a market order with `qty` 0 that closes the whole position (its
    /// quantity is the position's size when it is placed). Implies `reduce_only`.
    pub close_position: bool,
    /// Perpetuals only, with a fixed `trigger`: which price reaching the trigger price fires it,
    /// the last trade price (the default) or the perpetual's mark price (Binance's
    /// `workingType: MARK_PRICE`; docs/futures.md, "Mark-price triggers").
    pub trigger_source: TriggerSource,
}

impl AdvancedOrder {
    /// A plain order with no options.
    pub fn plain(order: NewOrder) -> Self {
        Self {
            order,
            expire_time_ns: 0,
            quote_qty: 0,
            trigger: None,
            display_qty: 0,
            trailing: None,
            reduce_only: false,
            close_position: false,
            trigger_source: TriggerSource::LastPrice,
        }
    }
}

/// One contingent leg of an [`OrderList`]: a limit order (`trigger` `None`) or a conditional one.
/// Its side and quantity are the list's `side` and `qty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLeg {
    /// Limit or market (market only with a trigger).
    pub order_type: OrderType,
    /// Its time in force.
    pub tif: TimeInForce,
    /// Limit price (0 for market).
    pub price: Price,
    /// A conditional leg's trigger price and kind.
    pub trigger: Option<(Price, TriggerKind)>,
}

/// An order list: OCO (`legs` both), OTO (`working` then `legs[0]`), OTOCO (`working` then both
/// `legs` as an OCO). Leg `k` in that order (working first) has client order id
/// `client_order_id + k` and engine order id `list id + k`, where the list id is the first leg's
/// engine order id. Stored flat (see [`OrderList::leg`]): a `Command` has 96 bytes for its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderList {
    /// OCO, OTO or OTOCO.
    pub kind: ListKind,
    /// The first leg's client order id; the others follow it.
    pub client_order_id: ClientOrderId,
    /// Every leg's instrument.
    pub instrument: InstrumentId,
    /// Every leg's self-trade prevention mode.
    pub stp: StpMode,
    /// OTO and OTOCO: the working order's side (a limit order, GTC or post-only).
    pub working_side: Side,
    /// OTO and OTOCO: its time in force.
    pub working_tif: TimeInForce,
    /// OTO and OTOCO: its limit price.
    pub working_price: Price,
    /// OTO and OTOCO: its quantity.
    pub working_qty: Qty,
    /// The contingent legs' side.
    pub side: Side,
    /// The contingent legs' quantity.
    pub qty: Qty,
    /// First contingent leg: type, time in force, price, trigger price, trigger kind (0: none).
    pub leg0_type: OrderType,
    #[allow(missing_docs)]
    pub leg0_tif: TimeInForce,
    #[allow(missing_docs)]
    pub leg0_price: Price,
    #[allow(missing_docs)]
    pub leg0_trigger_price: Price,
    #[allow(missing_docs)]
    pub leg0_trigger: Option<TriggerKind>,
    /// Second contingent leg (OCO and OTOCO), likewise.
    pub leg1_type: OrderType,
    #[allow(missing_docs)]
    pub leg1_tif: TimeInForce,
    #[allow(missing_docs)]
    pub leg1_price: Price,
    #[allow(missing_docs)]
    pub leg1_trigger_price: Price,
    #[allow(missing_docs)]
    pub leg1_trigger: Option<TriggerKind>,
}

impl OrderList {
    /// An OCO list of `legs`.
    pub fn oco(
        client_order_id: ClientOrderId,
        instrument: InstrumentId,
        side: Side,
        qty: Qty,
        legs: [ListLeg; 2],
    ) -> Self {
        Self::with(ListKind::Oco, client_order_id, instrument, None, side, qty, legs[0], Some(legs[1]))
    }

    /// An OTO list: `working` (`side`, `tif`, `price`, `qty`), then `pending`.
    pub fn oto(
        client_order_id: ClientOrderId,
        instrument: InstrumentId,
        working: (Side, TimeInForce, Price, Qty),
        side: Side,
        qty: Qty,
        pending: ListLeg,
    ) -> Self {
        Self::with(ListKind::Oto, client_order_id, instrument, Some(working), side, qty, pending, None)
    }

    /// An OTOCO list: `working`, then the pending pair `legs`.
    pub fn otoco(
        client_order_id: ClientOrderId,
        instrument: InstrumentId,
        working: (Side, TimeInForce, Price, Qty),
        side: Side,
        qty: Qty,
        legs: [ListLeg; 2],
    ) -> Self {
        Self::with(ListKind::Otoco, client_order_id, instrument, Some(working), side, qty, legs[0], Some(legs[1]))
    }

    #[allow(clippy::too_many_arguments)]
    fn with(
        kind: ListKind,
        client_order_id: ClientOrderId,
        instrument: InstrumentId,
        working: Option<(Side, TimeInForce, Price, Qty)>,
        side: Side,
        qty: Qty,
        leg0: ListLeg,
        leg1: Option<ListLeg>,
    ) -> Self {
        let (working_side, working_tif, working_price, working_qty) =
            working.unwrap_or((Side::Buy, TimeInForce::Gtc, 0, 0));
        let leg1 =
            leg1.unwrap_or(ListLeg { order_type: OrderType::Limit, tif: TimeInForce::Gtc, price: 0, trigger: None });
        OrderList {
            kind,
            client_order_id,
            instrument,
            stp: StpMode::None,
            working_side,
            working_tif,
            working_price,
            working_qty,
            side,
            qty,
            leg0_type: leg0.order_type,
            leg0_tif: leg0.tif,
            leg0_price: leg0.price,
            leg0_trigger_price: leg0.trigger.map_or(0, |t| t.0),
            leg0_trigger: leg0.trigger.map(|t| t.1),
            leg1_type: leg1.order_type,
            leg1_tif: leg1.tif,
            leg1_price: leg1.price,
            leg1_trigger_price: leg1.trigger.map_or(0, |t| t.0),
            leg1_trigger: leg1.trigger.map(|t| t.1),
        }
    }

    /// Whether it has a working order (OTO, OTOCO).
    pub fn has_working(&self) -> bool {
        self.kind != ListKind::Oco
    }

    /// Its contingent legs (1 for OTO, else 2).
    pub fn contingent_legs(&self) -> usize {
        if self.kind == ListKind::Oto {
            1
        } else {
            2
        }
    }

    /// Contingent leg `k` (0 or 1).
    pub fn leg(&self, k: usize) -> ListLeg {
        let (order_type, tif, price, trigger_price, trigger) = if k == 0 {
            (self.leg0_type, self.leg0_tif, self.leg0_price, self.leg0_trigger_price, self.leg0_trigger)
        } else {
            (self.leg1_type, self.leg1_tif, self.leg1_price, self.leg1_trigger_price, self.leg1_trigger)
        };
        ListLeg { order_type, tif, price, trigger: trigger.map(|t| (trigger_price, t)) }
    }

    /// All its legs in order (working first), each as the `NewOrder` it places and its trigger.
    pub fn orders(&self) -> impl Iterator<Item = (NewOrder, Option<(Price, TriggerKind)>)> + '_ {
        let working = self.has_working().then(|| {
            let o = NewOrder {
                client_order_id: self.client_order_id,
                instrument: self.instrument,
                side: self.working_side,
                order_type: OrderType::Limit,
                tif: self.working_tif,
                stp: self.stp,
                price: self.working_price,
                qty: self.working_qty,
            };
            (o, None)
        });
        let first = self.has_working() as u64;
        working.into_iter().chain((0..self.contingent_legs()).map(move |k| {
            let leg = self.leg(k);
            let o = NewOrder {
                client_order_id: self.client_order_id.wrapping_add(first + k as u64),
                instrument: self.instrument,
                side: self.side,
                order_type: leg.order_type,
                tif: leg.tif,
                stp: self.stp,
                price: leg.price,
                qty: self.qty,
            };
            (o, leg.trigger)
        }))
    }
}

/// Which order a cancel or amend means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRef {
    /// By the engine's order id.
    Engine(OrderId),
    /// By the client order id (among the sending account's live orders).
    Client(ClientOrderId),
}

/// Cancel one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancel {
    /// The order.
    pub order: OrderRef,
}

/// Change an order. A pure quantity decrease keeps time priority; a price
/// change or a quantity increase sends the order to the back of its (new)
/// level, and a new price that crosses the book trades like a new order.
/// A new quantity at or below what is already filled cancels the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amend {
    /// The order.
    pub order: OrderRef,
    /// New total quantity (filled + leaves), or `None` to keep it.
    pub new_qty: Option<Qty>,
    /// New price, or `None` to keep it.
    pub new_price: Option<Price>,
}

/// Move an armed conditional order's trigger price. It goes to the back of the orders armed at
/// the new price (a new arrival there); everything else about it stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmendTrigger {
    /// The armed order.
    pub order: OrderRef,
    /// New trigger price: on tick, not already reached by the last trade price.
    pub trigger_price: Price,
}

/// Cancel the sending account's live orders, optionally only on one
/// instrument and/or one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MassCancel {
    /// Only this instrument, or all.
    pub instrument: Option<InstrumentId>,
    /// Only this side, or both.
    pub side: Option<Side>,
}

/// Maximum length of an instrument symbol in bytes.
pub const SYMBOL_MAX_BYTES: usize = 16;

/// Everything that defines an instrument; added by an admin command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstrumentSpec {
    /// Numeric id, `< EngineConfig::max_instruments`.
    pub id: InstrumentId,
    /// Symbol, ASCII, NUL-padded (e.g. `BTC-USDT`).
    pub symbol: [u8; SYMBOL_MAX_BYTES],
    /// Asset bought/sold.
    pub base_asset: AssetId,
    /// Asset prices are quoted and paid in.
    pub quote_asset: AssetId,
    /// Prices must be positive multiples of this.
    pub tick: Price,
    /// Quantities must be positive multiples of this.
    pub lot: Qty,
    /// Smallest order quantity.
    pub min_qty: Qty,
    /// Largest order quantity.
    pub max_qty: Qty,
    /// Smallest order notional, in quote minor units (market orders are not checked).
    pub min_notional: u64,
    /// Maximum deviation of an order price from the reference price, in basis points.
    pub price_band_bps: u32,
    /// Reference price until the first trade.
    pub reference_price: Price,
    /// Quantity units per price unit of notional: notional = price * qty / qty_scale.
    /// E.g. qty in satoshi (1e-8 BTC) and price in cents per BTC gives qty_scale = 1e8
    /// and a notional in cents.
    pub qty_scale: u64,
}

impl InstrumentSpec {
    /// The symbol as a string (up to the first NUL).
    pub fn symbol_str(&self) -> &str {
        let end = self.symbol.iter().position(|&b| b == 0).unwrap_or(SYMBOL_MAX_BYTES);
        std::str::from_utf8(&self.symbol[..end]).unwrap_or("?")
    }

    /// Packs `s` into a symbol field; `None` if too long, empty or not printable ASCII.
    pub fn symbol_from_str(s: &str) -> Option<[u8; SYMBOL_MAX_BYTES]> {
        let b = s.as_bytes();
        if b.is_empty() || b.len() > SYMBOL_MAX_BYTES || !b.iter().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        let mut out = [0u8; SYMBOL_MAX_BYTES];
        out[..b.len()].copy_from_slice(b);
        Some(out)
    }
}

/// Change an instrument's trading state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetInstrumentState {
    /// The instrument.
    pub instrument: InstrumentId,
    /// The new state.
    pub state: InstrumentState,
}

/// Appends risk tier `index` to a perpetual (Binance's leverage bracket): positions of notional
/// up to `max_notional` may use leverage up to `max_leverage`, and their maintenance margin is
/// `notional * mmr_ppm / 1e6 - maint_amount` (docs/futures.md, "Risk tiers").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetRiskTier {
    /// The perpetual.
    pub instrument: InstrumentId,
    /// The tier's index: the number of tiers so far.
    pub index: u8,
    /// Highest leverage in this tier (whole multiples).
    pub max_leverage: u32,
    /// Maintenance margin rate, ppm.
    pub mmr_ppm: u32,
    /// Upper bound of the tier's position notional, quote minor units.
    pub max_notional: u64,
    /// Maintenance amount (Binance's `cum`), quote minor units: 0 for tier 0, and continuous.
    pub maint_amount: u64,
}

/// Sets the sender's leverage on a perpetual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetLeverage {
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Whole multiples, 1 up to tier 0's maximum.
    pub leverage: u32,
}

/// Sets the sender's margin mode on a perpetual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetMarginMode {
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Cross or isolated.
    pub mode: MarginMode,
}

/// Moves margin between the sender's futures wallet and its isolated position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdjustIsolatedMargin {
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Quote minor units: > 0 adds to the position, < 0 removes from it.
    pub delta: i64,
}

/// Moves money between the sender's spot balance and its futures wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletTransfer {
    /// The margin asset.
    pub asset: AssetId,
    /// Minor units, > 0.
    pub amount: u64,
    /// Spot to futures (else futures to spot).
    pub to_futures: bool,
}

/// A perpetual's new mark price, from the oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetMarkPrice {
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Price units; need not be on the tick.
    pub mark_price: Price,
}

/// A funding settlement, from the oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyFunding {
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Funding rate, ppm: longs pay shorts when > 0, shorts pay longs when < 0.
    pub rate_ppm: i32,
    /// When the oracle will settle the next funding, nanoseconds since the Unix epoch: strictly
    /// after the command's gateway timestamp (`InvalidFundingTime`). 0 means "not given": only a
    /// journal record written before the field existed holds it (the protocol refuses 0), and
    /// the engine then settles as that release did (docs/futures.md, section 7).
    pub next_funding_time_ns: u64,
}
