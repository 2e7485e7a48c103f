//! The state machine: validates each command (a rejected command changes
//! nothing), then applies it. Matching itself lives in `matching.rs`.
//!
//! The steps of a new order and of a cancel (`validate_new_order`, `match_taker`,
//! `attach_to_level`, `cancel_resting`, `detach_from_level`, ...) are `#[inline(always)]`:
//! as calls, their prologues, epilogues and reloads of `self`'s fields were ~13% of the
//! instructions of a command (callgrind, BENCHMARKS.md "Inlining the command path"). `release`
//! and `place_order`, with many callers, stay calls: inlining them grew the code and saved nothing.

use crate::account::Account;
use crate::armed_table::ArmedTable;
use crate::command::*;
use crate::config::EngineConfig;
use crate::credential_table::CredentialTable;
use crate::event::*;
use crate::expiry_queue::ExpiryQueue;
use crate::futures_scratch::FuturesScratch;
use crate::iceberg_table::{IcebergEntry, IcebergTable};
use crate::instrument::Instrument;
use crate::list_table::{ListAction, ListTable};
use crate::margin_account::MarginAccount;
use crate::order_book::{crosses, OrderBook};
use crate::order_guess::OrderGuess;
use crate::order_index::OrderIndex;
use crate::order_pool::{Order, OrderPool, Slot, ARMED, EXPIRES, ICEBERG, LISTED, NIL, PENDING, REDUCE_ONLY};
use crate::perp_market::PerpMarket;
use crate::price_level::LevelPool;
use crate::risk::OrderRisk;
use crate::trail_table::TrailTable;
use crate::trigger_book::TriggerBook;
use crate::types::*;
pub use crate::view::{ArmedView, InstrumentView, LevelView, OrderView};

/// Resting orders from which prefetching pays ([`Engine::prefetch_pays`]): 32,768 orders' slots
/// and links (64 bytes each) fill a 2 MiB L2, so a smaller book is mostly cache-resident, and
/// there the prefetches were measured to cost more than they saved (BENCHMARKS.md, "Lookahead
/// prefetch").
pub const PREFETCH_MIN_LIVE_ORDERS: u32 = 1 << 15;

/// Marks an instrument id with no instrument in `Engine::instrument_slot`.
const NO_INSTRUMENT: u32 = u32::MAX;

/// The matching engine's whole state.
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) orders: OrderPool,
    pub(crate) levels: LevelPool,
    pub(crate) index: OrderIndex,
    pub(crate) accounts: Vec<Account>,
    /// Instruments in the order they were added.
    pub(crate) instruments: Vec<Instrument>,
    /// Instrument id -> position in `instruments` (or [`NO_INSTRUMENT`]).
    pub(crate) instrument_slot: Vec<u32>,
    pub(crate) next_order_id: OrderId,
    pub(crate) next_trade_id: TradeId,
    /// Sequence of the last command applied.
    pub(crate) last_seq: Seq,
    /// Risk mode: risk state per order slot (empty otherwise).
    pub(crate) risk: Vec<OrderRisk>,
    /// Next slot in its account's list of resting reduce-only perpetual orders, by slot
    /// (`MarginAccount::reduce_only` is the head; sized with `risk`).
    pub(crate) ro_next: Vec<Slot>,
    /// Risk mode: (account, asset) balances changed by the current command,
    /// in first-touch order, for the coalesced `BalanceChanged` events.
    pub(crate) touched: Vec<(AccountId, AssetId)>,
    /// Risk mode: deposit/withdrawal ids applied, oldest first (bounded).
    pub(crate) tx_order: std::collections::VecDeque<u64>,
    pub(crate) tx_ids: std::collections::HashSet<u64, rustc_hash::FxBuildHasher>,
    /// Risk mode: per asset, deposits - withdrawals = the sum of every
    /// account's balance (trades only move it). Deposits keep it within u64,
    /// so no single balance can overflow when a trade credits it.
    pub(crate) supply: Vec<u64>,
    /// Journaled API credentials (admin commands only; see `credentials.rs`).
    pub(crate) credentials: CredentialTable,
    /// Armed conditional orders' extra fields (see `stop_orders.rs`).
    pub(crate) armed: ArmedTable,
    /// Armed trailing stops' deltas and arming epochs (see `trailing_stops.rs`).
    pub(crate) trails: TrailTable,
    /// Order lists' members (see `order_lists.rs`).
    pub(crate) lists: ListTable,
    /// What list members' fates left to do once the current matching pass is over (at most one
    /// per list member).
    pub(crate) list_actions: Vec<ListAction>,
    /// Pending list legs that are conditional: each will take an armed order's place when its
    /// working order fills, so the armed capacity counts them already.
    pub(crate) pending_armed: u32,
    /// The engine's time: the latest command timestamp applied (never decreases, so a leader
    /// whose clock is behind its predecessor's cannot move it back). Expiries and the GTD
    /// check read it; nothing reads a clock.
    pub(crate) clock_ns: u64,
    /// Good-till-date orders by expiry time (see `advanced_orders.rs`).
    pub(crate) expiry: ExpiryQueue,
    /// Resting iceberg orders' display quantities and visible slices.
    pub(crate) icebergs: IcebergTable,
    /// Perpetuals' futures state, in the order they were added (see `futures_commands.rs`).
    pub(crate) perps: Vec<PerpMarket>,
    /// Risk mode: every account's futures wallet and positions, by account id.
    pub(crate) margin: Vec<MarginAccount>,
    /// The asset every perpetual settles in (the first perpetual's quote asset).
    pub(crate) margin_asset: Option<AssetId>,
    /// Per-command futures bookkeeping (see `futures_scratch.rs`).
    pub(crate) fut: FuturesScratch,
}

// A command and an event are copied through ring slots on every order: credential commands,
// whose salt and hash are the largest admin payload after an instrument spec, must not grow them.
const _: () = assert!(std::mem::size_of::<Command>() == 112);
const _: () = assert!(std::mem::size_of::<Event>() == 120);

/// What `validate_amend` decides: apply to `(slot, reservation)` (the reservation to set, for a
/// spot order in risk mode), treat as a cancel (`None`), or reject (reason, instrument).
type AmendVerdict = Result<Option<(Slot, Option<(AssetId, u64)>)>, (RejectReason, InstrumentId)>;

/// The taker side of a match in progress: an incoming order, or a resting
/// order whose amended price makes it cross.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Taker {
    pub order_id: OrderId,
    pub client_order_id: ClientOrderId,
    pub account: AccountId,
    pub side: Side,
    pub stp: StpMode,
    pub limit: Price,
    pub leaves: Qty,
    pub timestamp_ns: u64,
    /// Risk mode: the taker's reservation and settlement state.
    pub risk: OrderRisk,
}

/// How `place_order` places an order beyond its `NewOrder` fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlaceOptions {
    /// GTD expiry of the order if it rests (0: none). A triggered order keeps the one it was
    /// armed with instead.
    pub expire_time_ns: u64,
    /// The taker's limit instead of the order's own (a quote-quantity market order stops at
    /// the last price its quantity was computed for).
    pub limit: Option<Price>,
    /// A quote-quantity order's budget (0: none). A buy reserves at most the budget and the
    /// taker fee on it, not its quantity at its (worst) limit: settlement rounds cumulatively,
    /// so its fills cost at most the budget and their fees at most the fee on the budget.
    pub quote_budget: u64,
    /// Iceberg display quantity if it rests (0: not an iceberg).
    pub display_qty: Qty,
    /// Perpetuals: a reduce-only order (docs/futures.md, section 5).
    pub reduce_only: bool,
}

impl PlaceOptions {
    pub const NONE: PlaceOptions =
        PlaceOptions { expire_time_ns: 0, limit: None, quote_budget: 0, display_qty: 0, reduce_only: false };

    /// The [`Order::flags`] a new order resting with these options gets.
    #[inline]
    fn resting_flags(&self) -> u8 {
        (if self.expire_time_ns != 0 { EXPIRES } else { 0 })
            | (if self.display_qty != 0 { ICEBERG } else { 0 })
            | if self.reduce_only { REDUCE_ONLY } else { 0 }
    }
}

/// How a matching pass ended for the taker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TakerEnd {
    /// Filled, or nothing more crosses: the caller rests or cancels the remainder.
    Done,
    /// Self-trade prevention cancelled the taker's remainder.
    CancelledBySelfTrade,
}

impl Engine {
    /// An empty engine with all capacity allocated up front.
    pub fn new(config: EngineConfig) -> Self {
        assert!(config.max_orders > 0 && config.max_orders < NIL, "max_orders out of range");
        assert!(config.max_instruments > 0 && config.max_instruments < NO_INSTRUMENT);
        let risk = config.risk_checks;
        assert!(
            !risk || (config.fee_account < config.max_accounts && config.max_assets > 0),
            "fee account out of range"
        );
        let mut e = Self {
            config,
            orders: OrderPool::with_capacity(config.max_orders),
            levels: LevelPool::with_capacity(config.max_orders),
            index: OrderIndex::with_capacity(config.max_orders, config.max_accounts),
            accounts: (0..config.max_accounts).map(|_| Account::empty()).collect(),
            instruments: Vec::with_capacity(config.max_instruments.min(1 << 16) as usize),
            instrument_slot: vec![NO_INSTRUMENT; config.max_instruments as usize],
            next_order_id: 1,
            next_trade_id: 1,
            last_seq: 0,
            risk: if risk {
                crate::huge_pages::vec_filled(OrderRisk::default(), config.max_orders as usize)
            } else {
                Vec::new()
            },
            ro_next: if risk { crate::huge_pages::vec_filled(NIL, config.max_orders as usize) } else { Vec::new() },
            touched: Vec::with_capacity(if risk { 4096 } else { 0 }),
            tx_order: std::collections::VecDeque::with_capacity(if risk {
                config.max_transactions as usize
            } else {
                0
            }),
            tx_ids: std::collections::HashSet::with_capacity_and_hasher(
                if risk { config.max_transactions as usize } else { 0 },
                rustc_hash::FxBuildHasher,
            ),
            supply: vec![0; if risk { config.max_assets as usize } else { 0 }],
            credentials: CredentialTable::new(),
            armed: ArmedTable::for_orders(config.max_orders),
            trails: TrailTable::for_orders(config.max_orders),
            lists: ListTable::for_orders(config.max_orders),
            // Grows (rarely) with the lists settled in one pass, bounded by the list members.
            list_actions: Vec::with_capacity(64),
            pending_armed: 0,
            clock_ns: 0,
            expiry: ExpiryQueue::for_orders(config.max_orders),
            icebergs: IcebergTable::for_orders(config.max_orders),
            perps: Vec::new(),
            margin: if risk { vec![MarginAccount::default(); config.max_accounts as usize] } else { Vec::new() },
            margin_asset: None,
            fut: FuturesScratch::default(),
        };
        if risk {
            e.open_account(config.fee_account, 0, AccountStatus::Active);
            let fund = config.insurance_account;
            if fund != crate::config::NO_ACCOUNT {
                assert!(fund < config.max_accounts && fund != config.fee_account, "insurance account out of range");
                e.open_account(fund, 0, AccountStatus::Active);
            }
        }
        e
    }

    /// Whether accounts, balances and fees are on.
    #[inline]
    pub fn risk_checks(&self) -> bool {
        self.config.risk_checks
    }

    /// The capacities it was built with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Sequence number of the last command applied (0 before any).
    pub fn last_seq(&self) -> Seq {
        self.last_seq
    }

    /// Notes that journal sequence `seq` holds a record that is not a command
    /// (the engine-config record), so engine and journal sequence numbers stay equal.
    pub fn skip(&mut self, seq: Seq) {
        assert!(seq > self.last_seq, "sequence numbers must increase");
        self.last_seq = seq;
    }

    /// Applies one journaled command. Sequence numbers must increase.
    pub fn apply<S: EventSink>(&mut self, seq: Seq, cmd: &Command, sink: &mut S) {
        debug_assert!(seq > self.last_seq, "commands must be applied in sequence order");
        self.last_seq = seq;
        let mut out = Out { seq, sink };
        if cmd.timestamp_ns > self.clock_ns {
            self.clock_ns = cmd.timestamp_ns;
            if self.expiry.next_due_ns() <= self.clock_ns {
                self.expire_due(&mut out);
            }
        }
        match &cmd.kind {
            CommandKind::NewOrder(o) => self.new_order(cmd.account, cmd.timestamp_ns, o, &mut out),
            CommandKind::NewStopOrder(s) => self.new_stop_order(
                cmd.account,
                cmd.timestamp_ns,
                s,
                Default::default(),
                CommandType::NewStopOrder,
                &mut out,
            ),
            CommandKind::NewAdvancedOrder(a) => self.new_advanced_order(cmd.account, cmd.timestamp_ns, a, &mut out),
            CommandKind::AmendTrigger(a) => self.amend_trigger(cmd.account, a, &mut out),
            CommandKind::NewOrderList(l) => self.new_order_list(cmd.account, cmd.timestamp_ns, l, &mut out),
            // The clock moved (above): that is all a tick does.
            CommandKind::TimeTick => {}
            CommandKind::Cancel(c) => self.cancel(cmd.account, c, &mut out),
            CommandKind::Amend(a) => self.amend(cmd.account, cmd.timestamp_ns, a, &mut out),
            CommandKind::MassCancel(m) => self.mass_cancel(cmd.account, m, &mut out),
            CommandKind::AddInstrument(spec) => self.add_instrument(cmd.account, spec, &mut out),
            CommandKind::SetInstrumentState(s) => self.set_instrument_state(cmd.account, s, &mut out),
            CommandKind::CreateAccount(c) => self.create_account(cmd.account, c, &mut out),
            CommandKind::Deposit(t) => self.transfer(cmd.account, CommandType::Deposit, t, &mut out),
            CommandKind::Withdraw(t) => self.transfer(cmd.account, CommandType::Withdraw, t, &mut out),
            CommandKind::SetAccountStatus(c) => self.set_account_status(cmd.account, c, &mut out),
            CommandKind::SetFeeSchedule(c) => self.set_fee_schedule(cmd.account, c, &mut out),
            CommandKind::QueryAccount(q) => self.query_account(cmd.account, q, &mut out),
            CommandKind::SetCredential(c) => self.set_credential(cmd.account, c, &mut out),
            CommandKind::RevokeCredential(c) => self.revoke_credential(cmd.account, c, &mut out),
            // Replication bookkeeping: only the sequence moves (above), no event.
            CommandKind::StartEpoch(_) => {}
            _ => self.futures_command(cmd, &mut out),
        }
        // What cancels left for an order list's other members (those of trades ran already).
        if !self.list_actions.is_empty() {
            self.run_list_actions(cmd.timestamp_ns, &mut out);
        }
        if self.fut.active {
            self.after_futures_command(&mut out);
        }
        if !self.touched.is_empty() {
            self.emit_balance_changes(&mut out);
        }
    }

    /// Starts the cache misses that applying `cmd` will take first: the index lines a cancel or
    /// an amend looks its order up in, and those a new order's duplicate check and insert read.
    /// The first stage of a [`crate::Prefetcher`], for a command three times
    /// [`crate::PREFETCH_SPACING`] ahead of the one applied; the second, [`Self::prefetch_order`],
    /// twice that spacing ahead, when these lines have arrived; the third,
    /// [`Self::prefetch_neighbours`], one spacing ahead. The matcher runs them within each batch the
    /// journal released, while [`Self::prefetch_pays`], so that the lines arrive while the
    /// commands before are applied. None changes any state or output.
    #[inline]
    pub fn prefetch_index(&self, cmd: &Command) {
        let (CommandKind::Cancel(Cancel { order }) | CommandKind::Amend(Amend { order, .. })) = &cmd.kind else {
            if let CommandKind::NewOrder(o) = &cmd.kind {
                self.index.prefetch_client(cmd.account, o.client_order_id);
            }
            return;
        };
        match *order {
            OrderRef::Client(cid) => self.index.prefetch_client(cmd.account, cid),
            OrderRef::Engine(id) => self.index.prefetch_id(id),
        }
    }

    /// The second stage of [`Self::prefetch_index`], [`crate::PREFETCH_SPACING`] commands
    /// nearer: the order slot and links a cancel or an amend will most likely find (read from the
    /// index line the first stage fetched; a wrong guess costs only the prefetch). Returns the
    /// guess, for the third.
    #[inline]
    pub fn prefetch_order(&self, cmd: &Command) -> OrderGuess {
        let (CommandKind::Cancel(Cancel { order }) | CommandKind::Amend(Amend { order, .. })) = &cmd.kind else {
            return OrderGuess::NONE;
        };
        let slot = match *order {
            OrderRef::Client(cid) => self.index.likely_client(cmd.account, cid),
            OrderRef::Engine(id) => self.index.likely_id(id),
        };
        if slot != NIL {
            self.orders.prefetch_order(slot);
            self.orders.prefetch_links(slot);
        }
        OrderGuess(slot)
    }

    /// The third stage, [`crate::PREFETCH_SPACING`] commands nearer than [`Self::prefetch_order`]
    /// that guessed `guess`: the lines that unlinking that order rewrites (its neighbours' links, its
    /// id's ring place, its chain link), read from the order and links the second stage fetched.
    /// Without it they are started only when the cancel begins, and their misses are its wait.
    /// A stale guess (any slot number the index held) costs only the prefetches.
    #[inline]
    pub fn prefetch_neighbours(&self, guess: OrderGuess) {
        let slot = guess.0;
        if (slot as usize) < self.orders.capacity() {
            self.prefetch_unlink(slot, self.orders.get(slot).order_id);
        }
    }

    /// Whether the resting orders outgrow the caches (at least [`PREFETCH_MIN_LIVE_ORDERS`]), so
    /// that [`Self::prefetch_index`] and [`Self::prefetch_order`] pay: a caller asks once per
    /// batch and calls them only then (on a small book the calls cost more than they save).
    #[inline]
    pub fn prefetch_pays(&self) -> bool {
        self.orders.live() >= PREFETCH_MIN_LIVE_ORDERS
    }

    /// Starts the lines that unlinking `slot` rewrites (its four neighbours' links) and its id's
    /// ring place, all at once instead of one miss after another.
    #[inline]
    pub(crate) fn prefetch_unlink(&self, slot: Slot, order_id: OrderId) {
        let k = self.orders.links(slot);
        for n in [k.prev, k.next, k.acct_prev, k.acct_next] {
            // A NIL neighbour would point the hint far past the table, costing a failed page walk.
            if n != NIL {
                self.orders.prefetch_links(n);
            }
        }
        self.index.prefetch_id(order_id);
        self.index.prefetch_link(slot);
    }

    // ----- lookups ---------------------------------------------------------

    #[inline]
    pub(crate) fn instrument_index(&self, id: InstrumentId) -> Option<usize> {
        match self.instrument_slot.get(id as usize) {
            Some(&i) if i != NO_INSTRUMENT => Some(i as usize),
            _ => None,
        }
    }

    /// Finds a live order for `account` (an unknown account first, as for every account
    /// command): `Err` is the reject reason.
    #[inline(always)]
    pub(crate) fn lookup(&self, account: AccountId, r: OrderRef) -> Result<Slot, RejectReason> {
        if !self.is_known_account(account) {
            return Err(RejectReason::UnknownAccount);
        }
        match r {
            OrderRef::Engine(id) => {
                let slot = self.index.by_id(&self.orders, id).ok_or(RejectReason::UnknownOrder)?;
                if self.orders.get(slot).account != account {
                    return Err(RejectReason::NotYourOrder);
                }
                Ok(slot)
            }
            OrderRef::Client(cid) => self.index.by_client(&self.orders, account, cid).ok_or(RejectReason::UnknownOrder),
        }
    }

    // ----- new order -------------------------------------------------------

    fn new_order<S: EventSink>(&mut self, account: AccountId, ts: u64, o: &NewOrder, out: &mut Out<'_, S>) {
        let reject = |out: &mut Out<'_, S>, instrument, reason| {
            out.emit(EventKind::Rejected(Rejected {
                account,
                command: CommandType::NewOrder,
                client_order_id: o.client_order_id,
                order_id: 0,
                instrument,
                reason,
            }))
        };
        let ii = match self.validate_new_order(account, o) {
            Ok(ii) => ii,
            Err(reason) => return reject(out, o.instrument, reason),
        };
        if let Err(reason) = self.place_order(ii, account, ts, o, PlaceOptions::NONE, None, out) {
            reject(out, o.instrument, reason);
        }
        self.run_triggers(ii, ts, out);
    }

    /// Places a validated order (steps 13-15 of docs/matching.md, then execution). A new order
    /// (`triggered` is `None`) gets the next order id and `Accepted`, and a failed step 13-15 is
    /// returned for the caller's `Rejected`. A triggered order (`Some((id, slot))`) keeps the id
    /// and the slot it was armed with (so its place in its account's order-id-ordered list), holding
    /// no reservation yet; a failed step cancels it (`Cancelled` with the matching reason), and
    /// the slot is released unless the order rests.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn place_order<S: EventSink>(
        &mut self,
        ii: usize,
        account: AccountId,
        ts: u64,
        o: &NewOrder,
        opts: PlaceOptions,
        triggered: Option<(OrderId, Slot)>,
        out: &mut Out<'_, S>,
    ) -> Result<(), RejectReason> {
        let fail = |e: &mut Engine, out: &mut Out<'_, S>, reason: RejectReason, cancel: CancelReason| match triggered {
            None => Err(reason),
            Some((order_id, slot)) => {
                out.emit(EventKind::Cancelled(Cancelled {
                    account,
                    order_id,
                    client_order_id: o.client_order_id,
                    instrument: o.instrument,
                    side: o.side,
                    cancelled_qty: o.qty,
                    filled_qty: 0,
                    reason: cancel,
                }));
                e.release(slot);
                Ok(())
            }
        };
        let inst = &self.instruments[ii];
        let limit = opts.limit.unwrap_or_else(|| inst.order_limit(o.order_type, o.side, o.price));
        let mut taker = Taker {
            order_id: 0,
            client_order_id: o.client_order_id,
            account,
            side: o.side,
            stp: o.stp,
            limit,
            leaves: o.qty,
            timestamp_ns: ts,
            risk: OrderRisk::default(),
        };
        // Funding is checked before FOK and post-only (docs/matching.md, step 13).
        let mut reservation = None;
        let perp = self.perp_of(ii);
        if self.config.risk_checks {
            let rates = inst.fees.rates(self.accounts[account as usize].tier);
            taker.risk = OrderRisk::new(rates.maker_ppm, rates.taker_ppm);
        }
        if let (true, Some(p)) = (self.config.risk_checks, perp) {
            let rests = o.order_type == OrderType::Limit && matches!(o.tif, TimeInForce::Gtc | TimeInForce::PostOnly);
            // Prices on a perpetual stay below 2^48 (docs/futures.md, section 1) so every
            // product fits; the band alone does not bound them (its width and the last price are free).
            let checked = if o.order_type == OrderType::Limit && o.price >= crate::risk_tier::MAX_PERP_VALUE {
                Err(RejectReason::OutsidePriceBand)
            } else {
                self.check_perp_order(ii, p, account, o.side, limit, o.qty, rests, opts.reduce_only)
            };
            if let Err(reason) = checked {
                let cancel = if reason == RejectReason::ReduceOnlyWouldOpen {
                    CancelReason::ReduceOnly
                } else {
                    CancelReason::Unfundable
                };
                return fail(self, out, reason, cancel);
            }
        } else if self.config.risk_checks {
            let (asset, mut need) = self.requirement(ii, o.side, &taker.risk, limit, o.qty);
            if opts.quote_budget != 0 && o.side == Side::Buy {
                need = need.min(taker.risk.buy_requirement(1, opts.quote_budget, 1));
            }
            if self.accounts[account as usize].balances[asset as usize].available < need {
                return fail(self, out, RejectReason::InsufficientBalance, CancelReason::Unfundable);
            }
            reservation = Some((asset, need));
        }
        match o.tif {
            TimeInForce::Fok if self.fillable(ii, &taker, o.qty) < o.qty => {
                return fail(self, out, RejectReason::FokCannotFill, CancelReason::FokCannotFill)
            }
            TimeInForce::PostOnly if self.would_take(ii, o.side, limit) => {
                return fail(self, out, RejectReason::PostOnlyWouldTake, CancelReason::PostOnlyWouldTake)
            }
            _ => {}
        }

        let order_id = match triggered {
            Some((order_id, _)) => order_id,
            None => {
                let order_id = self.next_order_id;
                self.next_order_id += 1;
                emit_accepted(account, order_id, o, ts, out);
                order_id
            }
        };
        taker.order_id = order_id;
        if let Some((asset, need)) = reservation {
            self.reserve(account, asset, need, BalanceReason::Order);
            taker.risk.reserved = need;
        }
        let end = self.match_taker(ii, &mut taker, out);
        let rests = taker.leaves > 0
            && end == TakerEnd::Done
            && o.order_type == OrderType::Limit
            && matches!(o.tif, TimeInForce::Gtc | TimeInForce::PostOnly);
        if !rests && reservation.is_some() {
            self.unreserve(ii, account, o.side, taker.risk.reserved);
        }
        let cancel_reason = match (end, o.tif, o.order_type) {
            _ if taker.leaves == 0 => None,
            (TakerEnd::CancelledBySelfTrade, _, _) => Some(CancelReason::SelfTrade),
            (TakerEnd::Done, TimeInForce::Gtc | TimeInForce::PostOnly, OrderType::Limit) => {
                let order = Order {
                    order_id,
                    client_order_id: o.client_order_id,
                    qty: o.qty,
                    leaves: taker.leaves,
                    account,
                    instrument: o.instrument,
                    side: o.side,
                    tif: o.tif,
                    stp: o.stp,
                    ..Order::EMPTY
                };
                let slot = match triggered {
                    // Same keys, so its index entries and account-list place stay; so does its
                    // expiry (queued when it was armed).
                    Some((_, slot)) => {
                        let flags = self.orders.get(slot).flags & (EXPIRES | LISTED | REDUCE_ONLY);
                        *self.orders.get_mut(slot) = Order { flags, ..order };
                        slot
                    }
                    None => {
                        let flags = opts.resting_flags();
                        let slot = self.orders.alloc(Order { flags, ..order });
                        self.index.insert(&self.orders, slot);
                        self.link_account(slot);
                        if flags != 0 {
                            self.rest_extras(slot, order_id, opts);
                        }
                        slot
                    }
                };
                if self.config.risk_checks {
                    self.risk[slot as usize] = taker.risk;
                }
                self.attach_to_level(ii, slot, o.price, out);
                if let (true, Some(p)) = (self.config.risk_checks, perp) {
                    self.perp_order_rested(p, slot, o.price);
                }
                return Ok(());
            }
            (TakerEnd::Done, _, _) => Some(CancelReason::ImmediateRemainder),
        };
        if let Some(reason) = cancel_reason {
            out.emit(EventKind::Cancelled(Cancelled {
                account,
                order_id,
                client_order_id: o.client_order_id,
                instrument: o.instrument,
                side: o.side,
                cancelled_qty: taker.leaves,
                filled_qty: o.qty - taker.leaves,
                reason,
            }));
        }
        if let Some((_, slot)) = triggered {
            // What it leaves behind (an order list's working order that filled) reads its leaves.
            self.orders.get_mut(slot).leaves = taker.leaves;
            self.release(slot);
        }
        Ok(())
    }

    /// Checks 1-12 of docs/matching.md; returns the instrument's position.
    #[inline(always)]
    pub(crate) fn validate_new_order(&self, account: AccountId, o: &NewOrder) -> Result<usize, RejectReason> {
        use RejectReason::*;
        let acct = self.trading_account(account)?;
        let ii = self.instrument_index(o.instrument).ok_or(UnknownInstrument)?;
        let inst = &self.instruments[ii];
        if inst.state != InstrumentState::Trading {
            return Err(InstrumentNotTrading);
        }
        let is_market = o.order_type == OrderType::Market;
        if is_market && (o.price != 0 || matches!(o.tif, TimeInForce::Gtc | TimeInForce::PostOnly)) {
            return Err(InvalidField);
        }
        let spec = &inst.spec;
        if !is_market && (o.price == 0 || !inst.on_tick(o.price)) {
            return Err(PriceOffTick);
        }
        if o.qty == 0 || !inst.on_lot(o.qty) {
            return Err(QtyOffLot);
        }
        if o.qty < spec.min_qty || o.qty > spec.max_qty {
            return Err(QtyOutOfRange);
        }
        if !is_market {
            if inst.below_min_notional(o.price, o.qty) {
                return Err(BelowMinNotional);
            }
            if !inst.in_band(o.price) {
                return Err(OutsidePriceBand);
            }
        }
        if self.index.by_client(&self.orders, account, o.client_order_id).is_some() {
            return Err(DuplicateClientOrderId);
        }
        if acct.open_orders >= self.config.max_open_orders_per_account {
            return Err(TooManyOpenOrders);
        }
        if self.orders.is_full() {
            return Err(CapacityReached);
        }
        Ok(ii)
    }

    /// Whether a post-only order at `price` would take.
    pub(crate) fn would_take(&self, ii: usize, side: Side, price: Price) -> bool {
        let book = &self.instruments[ii].book;
        match book.side(side.opposite()).best() {
            Some(l) => crosses(side, price, self.levels.get(l).price),
            None => false,
        }
    }

    /// Quantity a FOK taker could fill, walking at most until `wanted`.
    fn fillable(&self, ii: usize, taker: &Taker, wanted: Qty) -> Qty {
        let side = self.instruments[ii].book.side(taker.side.opposite());
        let mut total: Qty = 0;
        for l in side.iter_best_first() {
            let level = self.levels.get(l);
            if !crosses(taker.side, taker.limit, level.price) {
                break;
            }
            let mut s = level.head;
            while s != NIL {
                let o = self.orders.get(s);
                if o.account == taker.account && taker.stp != StpMode::None {
                    if taker.stp != StpMode::CancelMaker {
                        return total;
                    }
                } else {
                    total = total.saturating_add(o.leaves);
                    if total >= wanted {
                        return total;
                    }
                }
                s = self.orders.links(s).next;
            }
        }
        total
    }

    // ----- cancel ------------------------------------------------------------

    fn cancel<S: EventSink>(&mut self, account: AccountId, c: &Cancel, out: &mut Out<'_, S>) {
        let found = self.lookup(account, c.order);
        match found {
            Ok(slot) => self.cancel_resting(slot, CancelReason::User, out),
            Err(reason) => {
                let (client_order_id, order_id) = order_ref_ids(c.order);
                out.emit(EventKind::Rejected(Rejected {
                    account,
                    command: CommandType::Cancel,
                    client_order_id,
                    order_id,
                    instrument: 0,
                    reason,
                }))
            }
        }
    }

    /// Removes a resting order from its level and everywhere else, emitting
    /// `Cancelled` then `LevelChanged`.
    #[inline(always)]
    pub(crate) fn cancel_resting<S: EventSink>(&mut self, slot: Slot, reason: CancelReason, out: &mut Out<'_, S>) {
        let o = *self.orders.get(slot);
        if o.is_armed() {
            return self.cancel_armed(slot, reason, out);
        }
        if o.flags & PENDING != 0 {
            return self.cancel_unplaced(slot, reason, out);
        }
        if self.prefetch_pays() {
            self.prefetch_unlink(slot, o.order_id);
        }
        let ii = self.instrument_index(o.instrument).expect("resting order on a known instrument");
        self.detach_from_level(slot);
        out.emit(cancelled(&o, reason));
        self.emit_level_and_drop_if_empty(ii, o.side, o.level, out);
        self.release(slot);
    }

    // ----- amend -------------------------------------------------------------

    fn amend<S: EventSink>(&mut self, account: AccountId, ts: u64, a: &Amend, out: &mut Out<'_, S>) {
        // One lookup serves the armed test and the validation (amends are on the hot path).
        let found = self.lookup(account, a.order);
        let flags = found.map_or(0, |slot| self.orders.get(slot).flags);
        let verdict = match found {
            // An OCO leg or a pending leg: its list decides its fate.
            Ok(slot) if flags & LISTED != 0 && self.is_contingent_leg(slot) => {
                Err((RejectReason::OrderListLeg, self.orders.get(slot).instrument))
            }
            Ok(slot) if flags & ARMED != 0 => return self.amend_armed(account, slot, a, out),
            _ => self.validate_amend(account, a, found),
        };
        let (slot, reservation) = match verdict {
            Ok(Some(valid)) => valid,
            Ok(None) => {
                // Amend to at most the filled quantity: a cancel.
                let slot = found.expect("validated");
                return self.cancel_resting(slot, CancelReason::User, out);
            }
            Err((reason, instrument)) => {
                let (client_order_id, order_id) = order_ref_ids(a.order);
                return out.emit(EventKind::Rejected(Rejected {
                    account,
                    command: CommandType::Amend,
                    client_order_id,
                    order_id,
                    instrument,
                    reason,
                }));
            }
        };
        let o = *self.orders.get(slot);
        let ii = self.instrument_index(o.instrument).expect("resting order on a known instrument");
        let matched = match self.perp_of(ii) {
            Some(p) if self.config.risk_checks => {
                // Out of its position's aggregates while it moves; back in if it rests after.
                let old_price = self.levels.get(o.level).price;
                self.perp_order_gone(p, slot, &o, old_price);
                self.risk[slot as usize].settled = 0;
                let matched = self.amend_resting(account, ts, a, slot, reservation, out);
                if self.index.by_id(&self.orders, o.order_id) == Some(slot) {
                    let price = self.levels.get(self.orders.get(slot).level).price;
                    self.perp_order_rested(p, slot, price);
                }
                matched
            }
            _ => self.amend_resting(account, ts, a, slot, reservation, out),
        };
        // Only once the amended order is settled (back in its position's aggregates): a stop
        // its trades fire may trade with it.
        if matched {
            self.run_triggers(ii, ts, out);
        }
    }

    /// Applies a validated amend to the resting order in `slot`, with the reservation its
    /// validation computed (spot orders in risk mode). Returns whether it moved to a new price,
    /// where it may have traded (the caller then runs the triggers).
    fn amend_resting<S: EventSink>(
        &mut self,
        account: AccountId,
        ts: u64,
        a: &Amend,
        slot: Slot,
        reservation: Option<(AssetId, u64)>,
        out: &mut Out<'_, S>,
    ) -> bool {
        let o = *self.orders.get(slot);
        let old_price = self.levels.get(o.level).price;
        let ii = self.instrument_index(o.instrument).expect("resting order on a known instrument");
        let new_price = a.new_price.unwrap_or(old_price);
        let new_qty = a.new_qty.unwrap_or(o.qty);
        let new_leaves = new_qty - o.filled();
        if let Some((asset, need)) = reservation {
            self.set_reservation(account, slot, asset, need);
        }
        let amended = |kept_priority| {
            EventKind::Amended(Amended {
                account,
                order_id: o.order_id,
                client_order_id: o.client_order_id,
                instrument: o.instrument,
                side: o.side,
                price: new_price,
                qty: new_qty,
                leaves: new_leaves,
                kept_priority,
            })
        };
        if new_price == old_price {
            if new_qty < o.qty {
                // Decrease in place: keeps priority. An iceberg's hidden part shrinks first.
                let delta = if o.flags & ICEBERG != 0 {
                    let e = self.icebergs.get_mut(slot);
                    let visible = e.visible.min(new_leaves);
                    std::mem::replace(&mut e.visible, visible) - visible
                } else {
                    o.qty - new_qty
                };
                let ord = self.orders.get_mut(slot);
                ord.qty = new_qty;
                ord.leaves = new_leaves;
                self.levels.get_mut(o.level).total_qty -= delta;
                out.emit(amended(true));
                if o.flags & ICEBERG != 0 {
                    self.emit_iceberg_slice(ii, slot, true, out);
                }
                self.emit_level(ii, o.side, o.level, out);
            } else {
                // Increase: to the back of the same level.
                self.detach_from_level(slot);
                let ord = self.orders.get_mut(slot);
                ord.qty = new_qty;
                ord.leaves = new_leaves;
                out.emit(amended(false));
                self.attach_to_level(ii, slot, old_price, out);
            }
            return false;
        }
        // New price: leave the old level, then behave like an incoming GTC order.
        self.detach_from_level(slot);
        {
            let ord = self.orders.get_mut(slot);
            ord.qty = new_qty;
            ord.leaves = new_leaves;
        }
        out.emit(amended(false));
        self.emit_level_and_drop_if_empty(ii, o.side, o.level, out);
        let mut taker = Taker {
            order_id: o.order_id,
            client_order_id: o.client_order_id,
            account,
            side: o.side,
            stp: o.stp,
            limit: new_price,
            leaves: new_leaves,
            timestamp_ns: ts,
            risk: self.risk.get(slot as usize).copied().unwrap_or_default(),
        };
        let end = self.match_taker(ii, &mut taker, out);
        self.orders.get_mut(slot).leaves = taker.leaves;
        if self.config.risk_checks {
            self.risk[slot as usize] = taker.risk;
        }
        if taker.leaves == 0 {
            self.release(slot);
        } else if end == TakerEnd::CancelledBySelfTrade {
            let ord = *self.orders.get(slot);
            out.emit(EventKind::Cancelled(Cancelled {
                account,
                order_id: ord.order_id,
                client_order_id: ord.client_order_id,
                instrument: ord.instrument,
                side: ord.side,
                cancelled_qty: ord.leaves,
                filled_qty: ord.filled(),
                reason: CancelReason::SelfTrade,
            }));
            self.release(slot);
        } else {
            self.attach_to_level(ii, slot, new_price, out);
        }
        true
    }

    /// `Ok(Some((slot, reservation)))`: apply, and in risk mode on a spot instrument set the
    /// order's reservation to `reservation` (computed once, here); `Ok(None)`: the amend is a
    /// cancel; `Err`: reject. `found` is the order's lookup (`UnknownAccount` first, as for every
    /// account command).
    fn validate_amend(&self, account: AccountId, a: &Amend, found: Result<Slot, RejectReason>) -> AmendVerdict {
        use RejectReason::*;
        let slot = found.map_err(|r| (r, 0))?;
        let o = self.orders.get(slot);
        let err = |r| Err((r, o.instrument));
        if a.new_qty.is_none() && a.new_price.is_none() {
            return err(InvalidField);
        }
        let ii = self.instrument_index(o.instrument).expect("resting order on a known instrument");
        let inst = &self.instruments[ii];
        if inst.state != InstrumentState::Trading {
            return err(InstrumentNotTrading);
        }
        if matches!(a.new_qty, Some(q) if q <= o.filled()) {
            return Ok(None);
        }
        if self.config.risk_checks && self.accounts[account as usize].status == AccountStatus::Suspended {
            return err(AccountSuspended);
        }
        let spec = &inst.spec;
        if let Some(p) = a.new_price {
            if p == 0 || p % spec.tick != 0 {
                return err(PriceOffTick);
            }
        }
        if let Some(q) = a.new_qty {
            if q % spec.lot != 0 {
                return err(QtyOffLot);
            }
            if q < spec.min_qty || q > spec.max_qty {
                return err(QtyOutOfRange);
            }
        }
        let old_price = self.levels.get(o.level).price;
        let price = a.new_price.unwrap_or(old_price);
        let qty = a.new_qty.unwrap_or(o.qty);
        if price == old_price && qty == o.qty {
            return err(InvalidField);
        }
        if inst.below_min_notional(price, qty) {
            return err(BelowMinNotional);
        }
        if price != old_price {
            if !inst.in_band(price) {
                return err(OutsidePriceBand);
            }
            if o.tif == TimeInForce::PostOnly && self.would_take(ii, o.side, price) {
                return err(PostOnlyWouldTake);
            }
        }
        if let (true, Some(p)) = (self.config.risk_checks, self.perp_of(ii)) {
            self.check_perp_amend(ii, p, slot, price, qty - o.filled()).map_err(|r| (r, o.instrument))?;
        } else if self.config.risk_checks {
            let r = &self.risk[slot as usize];
            let (asset, need) = self.requirement(ii, o.side, r, price, qty - o.filled());
            // One comparison, not two: `need - reserved > available` only when `need > reserved`
            // (a sum past u64::MAX exceeds any need, as the difference would).
            let available = self.accounts[account as usize].balances[asset as usize].available;
            if need > r.reserved.saturating_add(available) {
                return err(InsufficientBalance);
            }
            return Ok(Some((slot, Some((asset, need)))));
        }
        Ok(Some((slot, None)))
    }

    // ----- mass cancel -------------------------------------------------------

    fn mass_cancel<S: EventSink>(&mut self, account: AccountId, m: &MassCancel, out: &mut Out<'_, S>) {
        let reason = if !self.is_known_account(account) {
            Some(RejectReason::UnknownAccount)
        } else if matches!(m.instrument, Some(i) if self.instrument_index(i).is_none()) {
            Some(RejectReason::UnknownInstrument)
        } else {
            None
        };
        if let Some(reason) = reason {
            return out.emit(EventKind::Rejected(Rejected {
                account,
                command: CommandType::MassCancel,
                client_order_id: 0,
                order_id: 0,
                instrument: m.instrument.unwrap_or(0),
                reason,
            }));
        }
        let count = self.cancel_account_orders(account, m.instrument, m.side, CancelReason::MassCancel, out);
        out.emit(EventKind::MassCancelled(MassCancelled { account, count }));
    }

    /// Cancels an account's live orders matching the filters, in order-id
    /// order. Also used for cancel-on-disconnect.
    pub(crate) fn cancel_account_orders<S: EventSink>(
        &mut self,
        account: AccountId,
        instrument: Option<InstrumentId>,
        side: Option<Side>,
        reason: CancelReason,
        out: &mut Out<'_, S>,
    ) -> u32 {
        let mut count = 0;
        let mut s = self.accounts[account as usize].head;
        while s != NIL {
            let o = *self.orders.get(s);
            let next = self.orders.links(s).acct_next;
            if instrument.is_none_or(|i| i == o.instrument) && side.is_none_or(|sd| sd == o.side) {
                self.cancel_resting(s, reason, out);
                count += 1;
            }
            s = next;
        }
        count
    }

    // ----- instruments -------------------------------------------------------

    fn add_instrument<S: EventSink>(&mut self, account: AccountId, spec: &InstrumentSpec, out: &mut Out<'_, S>) {
        if let Err(reason) = self.validate_spec(spec) {
            return out.emit(EventKind::Rejected(Rejected {
                account,
                command: CommandType::AddInstrument,
                client_order_id: 0,
                order_id: 0,
                instrument: spec.id,
                reason,
            }));
        }
        self.push_instrument(spec, InstrumentState::Trading);
        out.emit(EventKind::InstrumentAdded(InstrumentAdded { account, spec: *spec, perpetual: false }));
    }

    /// The checks of a new instrument's spec, spot or perpetual.
    pub(crate) fn validate_spec(&self, spec: &InstrumentSpec) -> Result<(), RejectReason> {
        use RejectReason::*;
        if spec.id >= self.config.max_instruments {
            return Err(InvalidInstrument);
        }
        if self.instrument_index(spec.id).is_some() {
            return Err(InstrumentExists);
        }
        if InstrumentSpec::symbol_from_str(spec.symbol_str()) != Some(spec.symbol)
            || spec.tick == 0
            || spec.lot == 0
            || spec.qty_scale == 0
            || spec.min_qty == 0
            || !spec.min_qty.is_multiple_of(spec.lot)
            || spec.min_qty > spec.max_qty
            || spec.reference_price == 0
            || !spec.reference_price.is_multiple_of(spec.tick)
            || (self.config.risk_checks
                && (spec.base_asset >= self.config.max_assets
                    || spec.quote_asset >= self.config.max_assets
                    || spec.base_asset == spec.quote_asset))
        {
            return Err(InvalidInstrument);
        }
        Ok(())
    }

    /// Adds a validated instrument; returns its position.
    pub(crate) fn push_instrument(&mut self, spec: &InstrumentSpec, state: InstrumentState) -> usize {
        let ii = self.instruments.len();
        self.instrument_slot[spec.id as usize] = ii as u32;
        self.instruments.push(Instrument {
            spec: *spec,
            state,
            reference_price: spec.reference_price,
            book: OrderBook::new(spec.tick),
            triggers: TriggerBook::new(spec.tick),
            mark_triggers: TriggerBook::new(spec.tick),
            fees: Default::default(),
            perp: crate::instrument::NO_PERP,
        });
        ii
    }

    fn set_instrument_state<S: EventSink>(&mut self, account: AccountId, s: &SetInstrumentState, out: &mut Out<'_, S>) {
        let reason = match self.instrument_index(s.instrument) {
            None => Some(RejectReason::UnknownInstrument),
            Some(ii) => {
                let cur = self.instruments[ii].state;
                (cur == InstrumentState::Closed || cur == s.state || !self.perp_state_allowed(ii, s.state))
                    .then_some(RejectReason::InvalidStateTransition)
            }
        };
        if let Some(reason) = reason {
            return out.emit(EventKind::Rejected(Rejected {
                account,
                command: CommandType::SetInstrumentState,
                client_order_id: 0,
                order_id: 0,
                instrument: s.instrument,
                reason,
            }));
        }
        let ii = self.instrument_index(s.instrument).expect("checked");
        self.instruments[ii].state = s.state;
        out.emit(EventKind::InstrumentStateChanged(InstrumentStateChanged {
            account,
            instrument: s.instrument,
            state: s.state,
        }));
        if s.state == InstrumentState::Closed {
            for side in [Side::Buy, Side::Sell] {
                while let Some(l) = self.instruments[ii].book.side(side).best() {
                    let mut slot = self.levels.get(l).head;
                    while slot != NIL {
                        let o = *self.orders.get(slot);
                        let next = self.orders.links(slot).next;
                        self.detach_from_level(slot);
                        out.emit(cancelled(&o, CancelReason::InstrumentState));
                        self.release(slot);
                        slot = next;
                    }
                    self.emit_level_and_drop_if_empty(ii, side, l, out);
                }
            }
            self.cancel_instrument_armed(ii, out);
        }
    }

    // ----- book plumbing -----------------------------------------------------

    /// Appends a slot to the back of the level at `price` (creating the
    /// level if needed) and emits `LevelChanged`.
    #[inline(always)]
    pub(crate) fn attach_to_level<S: EventSink>(&mut self, ii: usize, slot: Slot, price: Price, out: &mut Out<'_, S>) {
        let side = self.orders.get(slot).side;
        let book_side = self.instruments[ii].book.side_mut(side);
        let l = match book_side.find(price) {
            Some(l) => l,
            None => {
                let l = self.levels.alloc(price);
                book_side.insert(price, l);
                l
            }
        };
        self.append_to_level(slot, l);
        if self.orders.get(slot).flags & ICEBERG != 0 {
            self.emit_iceberg_slice(ii, slot, false, out);
        }
        self.emit_level(ii, side, l, out);
    }

    /// `IcebergSliced` for a resting iceberg's current slice.
    pub(crate) fn emit_iceberg_slice<S: EventSink>(
        &self,
        ii: usize,
        slot: Slot,
        kept_priority: bool,
        out: &mut Out<'_, S>,
    ) {
        let o = self.orders.get(slot);
        out.emit(EventKind::IcebergSliced(IcebergSliced {
            instrument: self.instruments[ii].spec.id,
            order_id: o.order_id,
            side: o.side,
            price: self.levels.get(o.level).price,
            visible_qty: self.icebergs.get(slot).visible,
            kept_priority,
        }));
    }

    /// What a resting order adds to its level: its leaves, or an iceberg's visible slice.
    #[inline]
    pub(crate) fn visible_qty(&self, slot: Slot, o: &Order) -> Qty {
        if o.flags & ICEBERG != 0 {
            self.iceberg_visible(slot)
        } else {
            o.leaves
        }
    }

    // Icebergs are rare: their table lookups stay out of the plain orders' inlined paths.
    #[cold]
    #[inline(never)]
    fn iceberg_visible(&self, slot: Slot) -> Qty {
        self.icebergs.get(slot).visible
    }

    #[cold]
    #[inline(never)]
    fn new_iceberg_slice(&mut self, slot: Slot, leaves: Qty) -> Qty {
        let e = self.icebergs.get_mut(slot);
        e.visible = e.display_qty.min(leaves);
        e.visible
    }

    /// A new resting order's expiry and iceberg entry (its first slice is cut when it joins its
    /// level).
    #[cold]
    #[inline(never)]
    fn rest_extras(&mut self, slot: Slot, order_id: OrderId, opts: PlaceOptions) {
        if opts.expire_time_ns != 0 {
            self.queue_expiry(opts.expire_time_ns, order_id);
        }
        if opts.display_qty != 0 {
            self.icebergs.insert(IcebergEntry { slot, display_qty: opts.display_qty, visible: 0 });
        }
    }

    /// What a released order with [`EXPIRES`], [`ICEBERG`] or [`LISTED`] leaves behind.
    #[cold]
    #[inline(never)]
    fn release_extras(&mut self, slot: Slot, o: &Order) {
        let flags = o.flags;
        if flags & LISTED != 0 {
            self.listed_order_left(slot, o);
        }
        if flags & EXPIRES != 0 {
            self.expiry.forget_one();
        }
        if flags & ICEBERG != 0 {
            self.icebergs.remove(slot);
        }
    }

    /// Appends a slot to the back of level `l`'s queue (of the order book or a trigger book). An
    /// iceberg joins with a new slice: the back of the queue is where every new slice goes.
    // Inlined as before icebergs: as a call it cost ~11 instructions per resting order
    // (callgrind, feed-replay flow).
    #[inline(always)]
    pub(crate) fn append_to_level(&mut self, slot: Slot, l: u32) {
        let o = self.orders.get(slot);
        let leaves = if o.flags & ICEBERG != 0 { self.new_iceberg_slice(slot, o.leaves) } else { o.leaves };
        let level = self.levels.get_mut(l);
        let tail = level.tail;
        level.tail = slot;
        if tail == NIL {
            level.head = slot;
        }
        level.order_count += 1;
        level.total_qty += leaves;
        if tail != NIL {
            self.orders.links_mut(tail).next = slot;
        }
        let links = self.orders.links_mut(slot);
        links.prev = tail;
        links.next = NIL;
        self.orders.get_mut(slot).level = l;
    }

    /// Unlinks a slot from its level's queue (the level stays, possibly empty).
    #[inline(always)]
    pub(crate) fn detach_from_level(&mut self, slot: Slot) {
        let o = *self.orders.get(slot);
        let k = *self.orders.links(slot);
        // Stores and selects, no branches: whether an order has neighbours or heads its level
        // is data, not a pattern a predictor learns.
        self.orders.links_or_scratch_mut(k.prev).next = k.next;
        self.orders.links_or_scratch_mut(k.next).prev = k.prev;
        let level = self.levels.get_mut(o.level);
        level.head = if level.head == slot { k.next } else { level.head };
        level.tail = if level.tail == slot { k.prev } else { level.tail };
        let visible = self.visible_qty(slot, &o);
        let level = self.levels.get_mut(o.level);
        level.order_count -= 1;
        level.total_qty -= visible;
    }

    /// Emits the level's current aggregate; drops it from the book if empty.
    #[inline(always)]
    pub(crate) fn emit_level_and_drop_if_empty<S: EventSink>(
        &mut self,
        ii: usize,
        side: Side,
        l: u32,
        out: &mut Out<'_, S>,
    ) {
        self.emit_level(ii, side, l, out);
        let level = self.levels.get(l);
        if level.order_count == 0 {
            debug_assert_eq!(level.total_qty, 0);
            let price = level.price;
            self.instruments[ii].book.side_mut(side).remove(price);
            self.levels.free(l);
        }
    }

    #[inline]
    pub(crate) fn emit_level<S: EventSink>(&self, ii: usize, side: Side, l: u32, out: &mut Out<'_, S>) {
        let level = self.levels.get(l);
        out.emit(EventKind::LevelChanged(LevelChanged {
            instrument: self.instruments[ii].spec.id,
            side,
            price: level.price,
            qty: level.total_qty,
            order_count: level.order_count,
        }));
    }

    /// Appends a new live order to its account's list.
    #[inline(always)]
    pub(crate) fn link_account(&mut self, slot: Slot) {
        let account = self.orders.get(slot).account as usize;
        let acct = &mut self.accounts[account];
        let tail = acct.tail;
        acct.tail = slot;
        if tail == NIL {
            acct.head = slot;
        } else {
            self.orders.links_mut(tail).acct_next = slot;
        }
        acct.open_orders += 1;
        let links = self.orders.links_mut(slot);
        links.acct_prev = tail;
        links.acct_next = NIL;
    }

    /// Frees a slot that is no longer in any level: unlinks it from its
    /// account and the index.
    pub(crate) fn release(&mut self, slot: Slot) {
        let o = *self.orders.get(slot);
        if self.config.risk_checks {
            let r = std::mem::take(&mut self.risk[slot as usize]);
            let ii = self.instrument_index(o.instrument).expect("resting order on a known instrument");
            match self.perp_of(ii) {
                // A perpetual order's risk slot holds its resting price (it reserves nothing);
                // 0 for one that is not in its position's aggregates (armed, or out of them
                // while an amend moves it).
                Some(_) if r.settled == 0 => {}
                Some(p) => self.perp_order_gone(p, slot, &o, r.settled),
                None => self.unreserve(ii, o.account, o.side, r.reserved),
            }
        }
        let k = *self.orders.links(slot);
        // As in `detach_from_level`: selects, not branches on data.
        self.orders.links_or_scratch_mut(k.acct_prev).acct_next = k.acct_next;
        self.orders.links_or_scratch_mut(k.acct_next).acct_prev = k.acct_prev;
        let acct = &mut self.accounts[o.account as usize];
        acct.head = if acct.head == slot { k.acct_next } else { acct.head };
        acct.tail = if acct.tail == slot { k.acct_prev } else { acct.tail };
        acct.open_orders -= 1;
        if o.flags & (EXPIRES | ICEBERG | LISTED) != 0 {
            self.release_extras(slot, &o);
        }
        self.index.remove(&self.orders, slot);
        self.orders.free(slot);
    }

    // ----- inspection (tests, tools, snapshots) ------------------------------

    /// An instrument by id.
    pub fn instrument(&self, id: InstrumentId) -> Option<InstrumentView> {
        self.instrument_index(id).map(|ii| {
            let i = &self.instruments[ii];
            InstrumentView { spec: i.spec, state: i.state, reference_price: i.reference_price }
        })
    }

    /// All instrument ids, in the order they were added.
    pub fn instrument_ids(&self) -> impl Iterator<Item = InstrumentId> + '_ {
        self.instruments.iter().map(|i| i.spec.id)
    }

    /// Levels of one side, best first.
    pub fn levels(&self, instrument: InstrumentId, side: Side) -> Vec<LevelView> {
        let Some(ii) = self.instrument_index(instrument) else { return Vec::new() };
        self.instruments[ii]
            .book
            .side(side)
            .iter_best_first()
            .map(|l| {
                let lv = self.levels.get(l);
                LevelView { price: lv.price, qty: lv.total_qty, order_count: lv.order_count }
            })
            .collect()
    }

    /// Resting orders of one side in priority order (best price, then time).
    pub fn book_orders(&self, instrument: InstrumentId, side: Side) -> Vec<OrderView> {
        let Some(ii) = self.instrument_index(instrument) else { return Vec::new() };
        let mut v = Vec::new();
        for l in self.instruments[ii].book.side(side).iter_best_first() {
            let mut s = self.levels.get(l).head;
            while s != NIL {
                v.push(self.view(s));
                s = self.orders.links(s).next;
            }
        }
        v
    }

    /// A live order by engine id.
    pub fn order(&self, order_id: OrderId) -> Option<OrderView> {
        self.index.by_id(&self.orders, order_id).map(|s| self.view(s))
    }

    /// An account's live orders in order-id order.
    pub fn account_orders(&self, account: AccountId) -> Vec<OrderView> {
        let mut v = Vec::new();
        let Some(a) = self.accounts.get(account as usize) else { return v };
        let mut s = a.head;
        while s != NIL {
            v.push(self.view(s));
            s = self.orders.links(s).acct_next;
        }
        v
    }

    /// Number of live orders: resting in a book or armed.
    pub fn live_orders(&self) -> u32 {
        self.orders.live()
    }

    /// Number of armed conditional orders.
    pub fn armed_count(&self) -> u32 {
        self.armed.len()
    }

    /// An instrument's armed orders in firing priority: those that fire on a rise (lowest
    /// trigger first), then those that fire on a fall (highest first); arrival order within a
    /// trigger price; then its trailing stops (rise, then fall; by delta group, oldest group
    /// first; arrival order within a group); then (a perpetual) the mark-price triggers, in
    /// the same order as the first.
    pub fn armed_orders(&self, instrument: InstrumentId) -> Vec<ArmedView> {
        let Some(ii) = self.instrument_index(instrument) else { return Vec::new() };
        let mut v = Vec::new();
        self.armed_views(ii, TriggerSource::LastPrice, &mut v);
        // Then the trailing stops, in snapshot order, at the trigger price they have now.
        for rise in [true, false] {
            for g in &self.instruments[ii].triggers.trailing.side(rise).groups {
                let mut s = self.levels.get(g.level).head;
                while s != NIL {
                    let entry = self.armed.get(s);
                    v.push(ArmedView {
                        order: self.view(s),
                        order_type: entry.order_type,
                        trigger: entry.trigger,
                        trigger_price: self.trail_trigger(ii, s, rise),
                        trailing: Some(self.trails.get(s).trailing),
                        trigger_source: entry.source,
                    });
                    s = self.orders.links(s).next;
                }
            }
        }
        self.armed_views(ii, TriggerSource::MarkPrice, &mut v);
        v
    }

    /// The fixed triggers of one of an instrument's trigger books, in firing priority.
    fn armed_views(&self, ii: usize, source: TriggerSource, v: &mut Vec<ArmedView>) {
        for rise in [true, false] {
            for l in self.instruments[ii].triggers_of(source).side(rise).iter_best_first() {
                let level = self.levels.get(l);
                let mut s = level.head;
                while s != NIL {
                    let entry = self.armed.get(s);
                    v.push(ArmedView {
                        order: self.view(s),
                        order_type: entry.order_type,
                        trigger: entry.trigger,
                        trigger_price: level.price,
                        trailing: None,
                        trigger_source: source,
                    });
                    s = self.orders.links(s).next;
                }
            }
        }
    }

    /// The next engine order id and trade id to be assigned.
    pub fn next_ids(&self) -> (OrderId, TradeId) {
        (self.next_order_id, self.next_trade_id)
    }

    pub(crate) fn view(&self, s: Slot) -> OrderView {
        let o = self.orders.get(s);
        OrderView {
            order_id: o.order_id,
            client_order_id: o.client_order_id,
            account: o.account,
            instrument: o.instrument,
            side: o.side,
            price: if o.is_armed() {
                self.armed.get(s).price
            } else if o.flags & PENDING != 0 {
                self.pending_price(s)
            } else {
                self.levels.get(o.level).price
            },
            qty: o.qty,
            leaves: o.leaves,
            tif: o.tif,
            stp: o.stp,
        }
    }
}

/// `Cancelled` of live order `o` (its leaves cancelled, what it filled so far).
#[inline]
pub(crate) fn cancelled(o: &Order, reason: CancelReason) -> EventKind {
    EventKind::Cancelled(Cancelled {
        account: o.account,
        order_id: o.order_id,
        client_order_id: o.client_order_id,
        instrument: o.instrument,
        side: o.side,
        cancelled_qty: o.leaves,
        filled_qty: o.filled(),
        reason,
    })
}

/// `Accepted` of a new order (or of an order list's leg placed now).
#[inline]
pub(crate) fn emit_accepted<S: EventSink>(
    account: AccountId,
    order_id: OrderId,
    o: &NewOrder,
    ts: u64,
    out: &mut Out<'_, S>,
) {
    out.emit(EventKind::Accepted(Accepted {
        account,
        order_id,
        client_order_id: o.client_order_id,
        instrument: o.instrument,
        side: o.side,
        order_type: o.order_type,
        tif: o.tif,
        price: o.price,
        qty: o.qty,
        timestamp_ns: ts,
    }));
}

/// (client_order_id, order_id) of an order reference, for rejects.
pub(crate) fn order_ref_ids(r: OrderRef) -> (ClientOrderId, OrderId) {
    match r {
        OrderRef::Engine(id) => (0, id),
        OrderRef::Client(cid) => (cid, 0),
    }
}

/// The sink plus the sequence number every event of this command carries.
pub(crate) struct Out<'a, S: EventSink> {
    pub seq: Seq,
    pub sink: &'a mut S,
}

impl<S: EventSink> Out<'_, S> {
    #[inline]
    pub fn emit(&mut self, kind: EventKind) {
        self.sink.emit(Event { seq: self.seq, kind });
    }
}
