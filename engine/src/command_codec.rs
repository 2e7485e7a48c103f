//! Fixed little-endian encoding of [`Command`]s: the journal's record payload
//! (documented byte by byte in `docs/journal.md`). Decoding validates every
//! byte (length, enums, reserved fields) and never panics, because journal
//! files come from disk and may be damaged or hand-edited.

use crate::command::*;
use crate::types::*;

/// Largest encoded command.
pub const MAX_COMMAND_BYTES: usize = 104;
/// Bytes of the common prefix (kind, reserved, account, timestamp).
pub const COMMAND_HEADER_BYTES: usize = 16;
/// Length of an `ApplyFunding` record as the release before `next_funding_time_ns` wrote it
/// (32 since): still decoded, with the time 0 ("not given"), and how a command with time 0 is
/// still encoded.
pub const APPLY_FUNDING_V1_BYTES: usize = 24;

/// Command kind byte at offset 0.
pub mod kind {
    /// [`crate::CommandKind::NewOrder`]
    pub const NEW_ORDER: u8 = 1;
    /// [`crate::CommandKind::Cancel`]
    pub const CANCEL: u8 = 2;
    /// [`crate::CommandKind::Amend`]
    pub const AMEND: u8 = 3;
    /// [`crate::CommandKind::MassCancel`]
    pub const MASS_CANCEL: u8 = 4;
    /// [`crate::CommandKind::AddInstrument`]
    pub const ADD_INSTRUMENT: u8 = 5;
    /// [`crate::CommandKind::SetInstrumentState`]
    pub const SET_INSTRUMENT_STATE: u8 = 6;
    /// [`crate::CommandKind::CreateAccount`]
    pub const CREATE_ACCOUNT: u8 = 7;
    /// [`crate::CommandKind::Deposit`]
    pub const DEPOSIT: u8 = 8;
    /// [`crate::CommandKind::Withdraw`]
    pub const WITHDRAW: u8 = 9;
    /// [`crate::CommandKind::SetAccountStatus`]
    pub const SET_ACCOUNT_STATUS: u8 = 10;
    /// [`crate::CommandKind::SetFeeSchedule`]
    pub const SET_FEE_SCHEDULE: u8 = 11;
    /// [`crate::CommandKind::QueryAccount`]
    pub const QUERY_ACCOUNT: u8 = 12;
    /// [`crate::CommandKind::SetCredential`]
    pub const SET_CREDENTIAL: u8 = 13;
    /// [`crate::CommandKind::RevokeCredential`]
    pub const REVOKE_CREDENTIAL: u8 = 14;
    /// [`crate::CommandKind::StartEpoch`]
    pub const START_EPOCH: u8 = 15;
    /// [`crate::CommandKind::NewStopOrder`]
    pub const NEW_STOP_ORDER: u8 = 16;
    /// [`crate::CommandKind::NewAdvancedOrder`]
    pub const NEW_ADVANCED_ORDER: u8 = 17;
    /// [`crate::CommandKind::AmendTrigger`]
    pub const AMEND_TRIGGER: u8 = 18;
    /// [`crate::CommandKind::TimeTick`]
    pub const TIME_TICK: u8 = 19;
    /// [`crate::CommandKind::NewOrderList`]
    pub const NEW_ORDER_LIST: u8 = 20;
    /// [`crate::CommandKind::AddPerpetual`]
    pub const ADD_PERPETUAL: u8 = 21;
    /// [`crate::CommandKind::SetRiskTier`]
    pub const SET_RISK_TIER: u8 = 22;
    /// [`crate::CommandKind::SetLeverage`]
    pub const SET_LEVERAGE: u8 = 23;
    /// [`crate::CommandKind::SetMarginMode`]
    pub const SET_MARGIN_MODE: u8 = 24;
    /// [`crate::CommandKind::AdjustIsolatedMargin`]
    pub const ADJUST_ISOLATED_MARGIN: u8 = 25;
    /// [`crate::CommandKind::MarginDeposit`]
    pub const MARGIN_DEPOSIT: u8 = 26;
    /// [`crate::CommandKind::MarginWithdraw`]
    pub const MARGIN_WITHDRAW: u8 = 27;
    /// [`crate::CommandKind::MarginDebit`]
    pub const MARGIN_DEBIT: u8 = 28;
    /// [`crate::CommandKind::WalletTransfer`]
    pub const WALLET_TRANSFER: u8 = 29;
    /// [`crate::CommandKind::SetMarkPrice`]
    pub const SET_MARK_PRICE: u8 = 30;
    /// [`crate::CommandKind::ApplyFunding`]
    pub const APPLY_FUNDING: u8 = 31;
    /// The highest kind this code knows: every byte above it is [`super::CodecError::UnknownKind`].
    pub const LAST: u8 = APPLY_FUNDING;
}

const REF_ENGINE: u8 = 1;
const REF_CLIENT: u8 = 2;
const AMEND_HAS_QTY: u8 = 1;
const AMEND_HAS_PRICE: u8 = 2;
const MASS_CANCEL_HAS_INSTRUMENT: u8 = 1;

/// Why bytes are not a valid command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Shorter than the header or than the kind's fixed length, or longer.
    #[error("command of kind {kind} has {len} bytes, expected {expected}")]
    BadLength {
        /// Kind byte (0 if too short to tell).
        kind: u8,
        /// Bytes given.
        len: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// Unknown command kind.
    #[error("unknown command kind {0}")]
    UnknownKind(u8),
    /// A field holds a value outside its enum.
    #[error("field `{field}` has invalid value {value}")]
    BadField {
        /// Field name.
        field: &'static str,
        /// Value found.
        value: u64,
    },
    /// A reserved byte is not zero.
    #[error("reserved byte at offset {0} is not zero")]
    ReservedNotZero(usize),
}

/// Encoded length of a command.
pub fn encoded_len(cmd: &Command) -> usize {
    match cmd.kind {
        // "Not given" is written as the previous release wrote every funding, so each command has
        // one encoding and a decoded record re-encodes to its own bytes.
        CommandKind::ApplyFunding(ApplyFunding { next_funding_time_ns: 0, .. }) => APPLY_FUNDING_V1_BYTES,
        _ => body_len(kind_of(cmd)),
    }
}

fn kind_of(cmd: &Command) -> u8 {
    match cmd.kind {
        CommandKind::NewOrder(_) => kind::NEW_ORDER,
        CommandKind::Cancel(_) => kind::CANCEL,
        CommandKind::Amend(_) => kind::AMEND,
        CommandKind::MassCancel(_) => kind::MASS_CANCEL,
        CommandKind::AddInstrument(_) => kind::ADD_INSTRUMENT,
        CommandKind::SetInstrumentState(_) => kind::SET_INSTRUMENT_STATE,
        CommandKind::CreateAccount(_) => kind::CREATE_ACCOUNT,
        CommandKind::Deposit(_) => kind::DEPOSIT,
        CommandKind::Withdraw(_) => kind::WITHDRAW,
        CommandKind::SetAccountStatus(_) => kind::SET_ACCOUNT_STATUS,
        CommandKind::SetFeeSchedule(_) => kind::SET_FEE_SCHEDULE,
        CommandKind::QueryAccount(_) => kind::QUERY_ACCOUNT,
        CommandKind::SetCredential(_) => kind::SET_CREDENTIAL,
        CommandKind::RevokeCredential(_) => kind::REVOKE_CREDENTIAL,
        CommandKind::StartEpoch(_) => kind::START_EPOCH,
        CommandKind::NewStopOrder(_) => kind::NEW_STOP_ORDER,
        CommandKind::NewAdvancedOrder(_) => kind::NEW_ADVANCED_ORDER,
        CommandKind::AmendTrigger(_) => kind::AMEND_TRIGGER,
        CommandKind::TimeTick => kind::TIME_TICK,
        CommandKind::NewOrderList(_) => kind::NEW_ORDER_LIST,
        CommandKind::AddPerpetual(_) => kind::ADD_PERPETUAL,
        CommandKind::SetRiskTier(_) => kind::SET_RISK_TIER,
        CommandKind::SetLeverage(_) => kind::SET_LEVERAGE,
        CommandKind::SetMarginMode(_) => kind::SET_MARGIN_MODE,
        CommandKind::AdjustIsolatedMargin(_) => kind::ADJUST_ISOLATED_MARGIN,
        CommandKind::MarginDeposit(_) => kind::MARGIN_DEPOSIT,
        CommandKind::MarginWithdraw(_) => kind::MARGIN_WITHDRAW,
        CommandKind::MarginDebit(_) => kind::MARGIN_DEBIT,
        CommandKind::WalletTransfer(_) => kind::WALLET_TRANSFER,
        CommandKind::SetMarkPrice(_) => kind::SET_MARK_PRICE,
        CommandKind::ApplyFunding(_) => kind::APPLY_FUNDING,
    }
}

fn body_len(k: u8) -> usize {
    match k {
        kind::NEW_ORDER => 48,
        kind::CANCEL => 32,
        kind::AMEND => 48,
        kind::MASS_CANCEL => 24,
        kind::ADD_INSTRUMENT | kind::ADD_PERPETUAL => 104,
        kind::SET_INSTRUMENT_STATE => 24,
        kind::CREATE_ACCOUNT => 24,
        kind::DEPOSIT | kind::WITHDRAW => 40,
        kind::MARGIN_DEPOSIT | kind::MARGIN_WITHDRAW | kind::MARGIN_DEBIT => 40,
        kind::SET_RISK_TIER => 48,
        kind::SET_LEVERAGE | kind::SET_MARGIN_MODE => 24,
        kind::ADJUST_ISOLATED_MARGIN | kind::WALLET_TRANSFER | kind::SET_MARK_PRICE | kind::APPLY_FUNDING => 32,
        kind::SET_ACCOUNT_STATUS => 24,
        kind::SET_FEE_SCHEDULE => 32,
        kind::QUERY_ACCOUNT => 24,
        kind::SET_CREDENTIAL => 72,
        kind::REVOKE_CREDENTIAL => 24,
        kind::START_EPOCH => 32,
        kind::NEW_STOP_ORDER => 64,
        kind::NEW_ADVANCED_ORDER => 88,
        kind::AMEND_TRIGGER => 40,
        kind::TIME_TICK => 16,
        kind::NEW_ORDER_LIST => 96,
        _ => 0,
    }
}

struct W<'a>(&'a mut [u8]);
impl W<'_> {
    #[inline]
    fn u8(&mut self, at: usize, v: u8) {
        self.0[at] = v;
    }
    #[inline]
    fn u32(&mut self, at: usize, v: u32) {
        self.0[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn u64(&mut self, at: usize, v: u64) {
        self.0[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
}

fn put_new_order(w: &mut W<'_>, o: &NewOrder) {
    w.u64(16, o.client_order_id);
    w.u32(24, o.instrument);
    w.u8(28, o.side.as_u8());
    w.u8(29, o.order_type.as_u8());
    w.u8(30, o.tif.as_u8());
    w.u8(31, o.stp.as_u8());
    w.u64(32, o.price);
    w.u64(40, o.qty);
}

fn new_order(r: &R<'_>) -> Result<NewOrder, CodecError> {
    Ok(NewOrder {
        client_order_id: r.u64(16),
        instrument: r.u32(24),
        side: r.en(28, "side", Side::from_u8)?,
        order_type: r.en(29, "order_type", OrderType::from_u8)?,
        tif: r.en(30, "tif", TimeInForce::from_u8)?,
        stp: r.en(31, "stp", StpMode::from_u8)?,
        price: r.u64(32),
        qty: r.u64(40),
    })
}

/// Layout (docs/journal.md): 16 client order id, 24 instrument, 28 kind, 29 stp, 30 working side,
/// 31 working tif, 32 working price, 40 working qty, 48 side, 49-51 leg 0 type/tif/trigger,
/// 52-54 leg 1 type/tif/trigger, 55 reserved, 56 qty, 64 leg 0 price, 72 leg 0 trigger price,
/// 80 leg 1 price, 88 leg 1 trigger price. The parts a kind has no use for (an OCO's working
/// order, an OTO's second leg) are zero.
fn put_order_list(w: &mut W<'_>, l: &OrderList) {
    w.u64(16, l.client_order_id);
    w.u32(24, l.instrument);
    w.u8(28, l.kind.as_u8());
    w.u8(29, l.stp.as_u8());
    if l.has_working() {
        w.u8(30, l.working_side.as_u8());
        w.u8(31, l.working_tif.as_u8());
        w.u64(32, l.working_price);
        w.u64(40, l.working_qty);
    }
    w.u8(48, l.side.as_u8());
    w.u64(56, l.qty);
    for k in 0..l.contingent_legs() {
        let leg = l.leg(k);
        w.u8(49 + 3 * k, leg.order_type.as_u8());
        w.u8(50 + 3 * k, leg.tif.as_u8());
        let (trigger_price, trigger) = leg.trigger.map_or((0, 0), |(p, t)| (p, t.as_u8()));
        w.u8(51 + 3 * k, trigger);
        w.u64(64 + 16 * k, leg.price);
        w.u64(72 + 16 * k, trigger_price);
    }
}

fn order_list(r: &R<'_>) -> Result<OrderList, CodecError> {
    let kind = r.en(28, "list_kind", ListKind::from_u8)?;
    r.zero(55, 56)?;
    let working = if kind == ListKind::Oco {
        r.zero(30, 48)?;
        None
    } else {
        Some((r.en(30, "side", Side::from_u8)?, r.en(31, "tif", TimeInForce::from_u8)?, r.u64(32), r.u64(40)))
    };
    let legs = if kind == ListKind::Oto { 1 } else { 2 };
    if legs == 1 {
        r.zero(52, 55)?;
        r.zero(80, 96)?;
    }
    let mut leg = [ListLeg { order_type: OrderType::Limit, tif: TimeInForce::Gtc, price: 0, trigger: None }; 2];
    for (k, l) in leg.iter_mut().enumerate().take(legs) {
        let trigger_price = r.u64(72 + 16 * k);
        let trigger = match r.u8(51 + 3 * k) {
            0 if trigger_price == 0 => None,
            0 => return Err(CodecError::ReservedNotZero(72 + 16 * k)),
            _ => Some((trigger_price, r.en(51 + 3 * k, "trigger", TriggerKind::from_u8)?)),
        };
        *l = ListLeg {
            order_type: r.en(49 + 3 * k, "order_type", OrderType::from_u8)?,
            tif: r.en(50 + 3 * k, "tif", TimeInForce::from_u8)?,
            price: r.u64(64 + 16 * k),
            trigger,
        };
    }
    let (cid, instrument, side, qty) = (r.u64(16), r.u32(24), r.en(48, "side", Side::from_u8)?, r.u64(56));
    let mut l = match kind {
        ListKind::Oco => OrderList::oco(cid, instrument, side, qty, leg),
        ListKind::Oto => OrderList::oto(cid, instrument, working.expect("OTO"), side, qty, leg[0]),
        ListKind::Otoco => OrderList::otoco(cid, instrument, working.expect("OTOCO"), side, qty, leg),
    };
    l.stp = r.en(29, "stp", StpMode::from_u8)?;
    Ok(l)
}

/// Layout (docs/journal.md): 16 id, 20 base asset, 24 quote asset, 28 price band, 32 tick, 40 lot,
/// 48 min qty, 56 max qty, 64 min notional, 72 reference price, 80 qty scale, 88 symbol.
/// `AddInstrument` and `AddPerpetual` share it.
fn put_spec(w: &mut W<'_>, s: &InstrumentSpec) {
    w.u32(16, s.id);
    w.u32(20, s.base_asset);
    w.u32(24, s.quote_asset);
    w.u32(28, s.price_band_bps);
    w.u64(32, s.tick);
    w.u64(40, s.lot);
    w.u64(48, s.min_qty);
    w.u64(56, s.max_qty);
    w.u64(64, s.min_notional);
    w.u64(72, s.reference_price);
    w.u64(80, s.qty_scale);
    w.0[88..104].copy_from_slice(&s.symbol);
}

fn spec(r: &R<'_>) -> InstrumentSpec {
    let mut symbol = [0u8; SYMBOL_MAX_BYTES];
    symbol.copy_from_slice(&r.0[88..104]);
    InstrumentSpec {
        id: r.u32(16),
        symbol,
        base_asset: r.u32(20),
        quote_asset: r.u32(24),
        price_band_bps: r.u32(28),
        tick: r.u64(32),
        lot: r.u64(40),
        min_qty: r.u64(48),
        max_qty: r.u64(56),
        min_notional: r.u64(64),
        reference_price: r.u64(72),
        qty_scale: r.u64(80),
    }
}

/// Layout: 16 target, 20 asset, 24 amount, 32 tx id; the spot and the futures transfers share it.
fn put_transfer(w: &mut W<'_>, t: &Transfer) {
    w.u32(16, t.target);
    w.u32(20, t.asset);
    w.u64(24, t.amount);
    w.u64(32, t.tx_id);
}

fn transfer(r: &R<'_>) -> Transfer {
    Transfer { target: r.u32(16), asset: r.u32(20), amount: r.u64(24), tx_id: r.u64(32) }
}

/// Layout: 16 instrument, 20 index, 21-23 reserved, 24 max leverage, 28 mmr ppm, 32 max notional,
/// 40 maint amount.
fn put_risk_tier(w: &mut W<'_>, t: &SetRiskTier) {
    w.u32(16, t.instrument);
    w.u8(20, t.index);
    w.u32(24, t.max_leverage);
    w.u32(28, t.mmr_ppm);
    w.u64(32, t.max_notional);
    w.u64(40, t.maint_amount);
}

fn risk_tier(r: &R<'_>) -> Result<SetRiskTier, CodecError> {
    r.zero(21, 24)?;
    Ok(SetRiskTier {
        instrument: r.u32(16),
        index: r.u8(20),
        max_leverage: r.u32(24),
        mmr_ppm: r.u32(28),
        max_notional: r.u64(32),
        maint_amount: r.u64(40),
    })
}

/// Encodes `cmd` into the front of `buf` and returns the length written.
/// `buf` must hold [`MAX_COMMAND_BYTES`]; unused bytes in the written range are zero.
pub fn encode(cmd: &Command, buf: &mut [u8]) -> usize {
    let k = kind_of(cmd);
    let len = encoded_len(cmd);
    let b = &mut buf[..len];
    b.fill(0);
    let mut w = W(b);
    w.u8(0, k);
    w.u32(4, cmd.account);
    w.u64(8, cmd.timestamp_ns);
    match &cmd.kind {
        CommandKind::NewOrder(o) => put_new_order(&mut w, o),
        CommandKind::NewStopOrder(s) => {
            // A NewOrder's layout, then the trigger: a reader of plain orders shares the offsets.
            put_new_order(&mut w, &s.order);
            w.u64(48, s.trigger_price);
            w.u8(56, s.trigger.as_u8());
        }
        CommandKind::NewAdvancedOrder(a) => {
            put_new_order(&mut w, &a.order);
            w.u64(48, a.expire_time_ns);
            w.u64(56, a.quote_qty);
            // Byte 72: the trigger kind, with the source in bit 7 (the record has no spare byte).
            let (price, kind) = a.trigger.map_or((0, 0), |(price, trigger)| (price, trigger.as_u8()));
            w.u64(64, price);
            w.u8(72, a.trigger_source.with_kind(kind));
            if let Some(t) = a.trailing {
                w.u8(73, t.unit.as_u8());
                w.u32(76, t.delta);
            }
            w.u64(80, a.display_qty);
            w.u8(74, a.reduce_only as u8);
            w.u8(75, a.close_position as u8);
        }
        CommandKind::AmendTrigger(a) => {
            let (rk, id) = ref_parts(a.order);
            w.u8(16, rk);
            w.u64(24, id);
            w.u64(32, a.trigger_price);
        }
        CommandKind::TimeTick => {}
        CommandKind::NewOrderList(l) => put_order_list(&mut w, l),
        CommandKind::AddPerpetual(s) => put_spec(&mut w, s),
        CommandKind::SetRiskTier(t) => put_risk_tier(&mut w, t),
        CommandKind::SetLeverage(l) => {
            w.u32(16, l.instrument);
            w.u32(20, l.leverage);
        }
        CommandKind::SetMarginMode(m) => {
            w.u32(16, m.instrument);
            w.u8(20, m.mode.as_u8());
        }
        CommandKind::AdjustIsolatedMargin(a) => {
            w.u32(16, a.instrument);
            w.u64(24, a.delta as u64);
        }
        CommandKind::MarginDeposit(t) | CommandKind::MarginWithdraw(t) | CommandKind::MarginDebit(t) => {
            put_transfer(&mut w, t)
        }
        CommandKind::WalletTransfer(t) => {
            w.u32(16, t.asset);
            w.u8(20, t.to_futures as u8);
            w.u64(24, t.amount);
        }
        CommandKind::SetMarkPrice(m) => {
            w.u32(16, m.instrument);
            w.u64(24, m.mark_price);
        }
        CommandKind::ApplyFunding(f) => {
            w.u32(16, f.instrument);
            w.u32(20, f.rate_ppm as u32);
            if f.next_funding_time_ns != 0 {
                w.u64(24, f.next_funding_time_ns);
            }
        }
        CommandKind::Cancel(c) => {
            let (rk, id) = ref_parts(c.order);
            w.u8(16, rk);
            w.u64(24, id);
        }
        CommandKind::Amend(a) => {
            let (rk, id) = ref_parts(a.order);
            w.u8(16, rk);
            let flags = (a.new_qty.is_some() as u8 * AMEND_HAS_QTY) | (a.new_price.is_some() as u8 * AMEND_HAS_PRICE);
            w.u8(17, flags);
            w.u64(24, id);
            w.u64(32, a.new_qty.unwrap_or(0));
            w.u64(40, a.new_price.unwrap_or(0));
        }
        CommandKind::MassCancel(m) => {
            // An explicit flag, not a sentinel id: every u32 is a valid instrument id to ask for.
            w.u32(16, m.instrument.unwrap_or(0));
            w.u8(20, m.side.map_or(0, Side::as_u8));
            w.u8(21, m.instrument.is_some() as u8 * MASS_CANCEL_HAS_INSTRUMENT);
        }
        CommandKind::AddInstrument(s) => put_spec(&mut w, s),
        CommandKind::SetInstrumentState(s) => {
            w.u32(16, s.instrument);
            w.u8(20, s.state.as_u8());
        }
        CommandKind::CreateAccount(c) => {
            w.u32(16, c.target);
            w.u8(20, c.tier);
            w.u8(21, c.status.as_u8());
        }
        CommandKind::Deposit(t) | CommandKind::Withdraw(t) => put_transfer(&mut w, t),
        CommandKind::SetAccountStatus(c) => {
            w.u32(16, c.target);
            w.u8(20, c.status.as_u8());
            w.u8(21, c.tier);
        }
        CommandKind::SetFeeSchedule(f) => {
            w.u32(16, f.instrument);
            w.u8(20, f.tier);
            w.u32(24, f.maker_ppm as u32);
            w.u32(28, f.taker_ppm as u32);
        }
        CommandKind::QueryAccount(q) => {
            w.u32(16, q.target);
        }
        CommandKind::SetCredential(c) => {
            w.u32(16, c.target);
            w.0[24..40].copy_from_slice(&c.salt);
            w.0[40..72].copy_from_slice(&c.hash);
        }
        CommandKind::RevokeCredential(c) => {
            w.u32(16, c.target);
        }
        CommandKind::StartEpoch(c) => {
            w.u64(16, c.epoch);
            w.u32(24, c.node);
        }
    }
    len
}

fn ref_parts(r: OrderRef) -> (u8, u64) {
    match r {
        OrderRef::Engine(id) => (REF_ENGINE, id),
        OrderRef::Client(cid) => (REF_CLIENT, cid),
    }
}

struct R<'a>(&'a [u8]);
impl R<'_> {
    #[inline]
    fn u8(&self, at: usize) -> u8 {
        self.0[at]
    }
    #[inline]
    fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.0[at..at + 4].try_into().expect("4 bytes"))
    }
    #[inline]
    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.0[at..at + 8].try_into().expect("8 bytes"))
    }
    fn zero(&self, from: usize, to: usize) -> Result<(), CodecError> {
        match self.0[from..to].iter().position(|&b| b != 0) {
            Some(i) => Err(CodecError::ReservedNotZero(from + i)),
            None => Ok(()),
        }
    }
    fn en<T>(&self, at: usize, field: &'static str, f: impl Fn(u8) -> Option<T>) -> Result<T, CodecError> {
        let v = self.u8(at);
        f(v).ok_or(CodecError::BadField { field, value: v as u64 })
    }
}

/// Decodes one command; the slice must be exactly the encoded length.
pub fn decode(buf: &[u8]) -> Result<Command, CodecError> {
    if buf.len() < COMMAND_HEADER_BYTES {
        return Err(CodecError::BadLength {
            kind: buf.first().copied().unwrap_or(0),
            len: buf.len(),
            expected: COMMAND_HEADER_BYTES,
        });
    }
    let k = buf[0];
    let expected = body_len(k);
    if expected == 0 {
        return Err(CodecError::UnknownKind(k));
    }
    // The previous release wrote `ApplyFunding` without its next funding time: its journals
    // must still replay (the time reads as 0, "not given").
    let legacy = k == kind::APPLY_FUNDING && buf.len() == APPLY_FUNDING_V1_BYTES;
    if buf.len() != expected && !legacy {
        return Err(CodecError::BadLength { kind: k, len: buf.len(), expected });
    }
    let r = R(buf);
    r.zero(1, 4)?;
    let account = r.u32(4);
    let timestamp_ns = r.u64(8);
    let kind = match k {
        kind::NEW_ORDER => CommandKind::NewOrder(new_order(&r)?),
        kind::NEW_STOP_ORDER => {
            r.zero(57, 64)?;
            CommandKind::NewStopOrder(StopOrder {
                order: new_order(&r)?,
                trigger_price: r.u64(48),
                trigger: r.en(56, "trigger", TriggerKind::from_u8)?,
            })
        }
        kind::NEW_ADVANCED_ORDER => {
            let trigger_price = r.u64(64);
            let trailing = match (r.u8(73), r.u32(76)) {
                (0, 0) => None,
                (0, _) => return Err(CodecError::ReservedNotZero(76)),
                (_, delta) => Some(Trailing { delta, unit: r.en(73, "trail_unit", TrailUnit::from_u8)? }),
            };
            let (kind, trigger_source) = TriggerSource::split(r.u8(72));
            let trigger = match kind {
                0 if trigger_price == 0 => None,
                0 => return Err(CodecError::ReservedNotZero(64)),
                k => Some((
                    trigger_price,
                    TriggerKind::from_u8(k).ok_or(CodecError::BadField { field: "trigger", value: k as u64 })?,
                )),
            };
            CommandKind::NewAdvancedOrder(AdvancedOrder {
                order: new_order(&r)?,
                expire_time_ns: r.u64(48),
                quote_qty: r.u64(56),
                trigger,
                display_qty: r.u64(80),
                trailing,
                reduce_only: r.en(74, "reduce_only", bool_of)?,
                close_position: r.en(75, "close_position", bool_of)?,
                trigger_source,
            })
        }
        kind::AMEND_TRIGGER => {
            r.zero(17, 24)?;
            CommandKind::AmendTrigger(AmendTrigger { order: order_ref(&r)?, trigger_price: r.u64(32) })
        }
        kind::TIME_TICK => CommandKind::TimeTick,
        kind::NEW_ORDER_LIST => CommandKind::NewOrderList(order_list(&r)?),
        kind::CANCEL => {
            r.zero(17, 24)?;
            CommandKind::Cancel(Cancel { order: order_ref(&r)? })
        }
        kind::AMEND => {
            let flags = r.u8(17);
            if flags & !(AMEND_HAS_QTY | AMEND_HAS_PRICE) != 0 {
                return Err(CodecError::BadField { field: "amend_flags", value: flags as u64 });
            }
            r.zero(18, 24)?;
            let qty = r.u64(32);
            let price = r.u64(40);
            if flags & AMEND_HAS_QTY == 0 && qty != 0 {
                return Err(CodecError::ReservedNotZero(32));
            }
            if flags & AMEND_HAS_PRICE == 0 && price != 0 {
                return Err(CodecError::ReservedNotZero(40));
            }
            CommandKind::Amend(Amend {
                order: order_ref(&r)?,
                new_qty: (flags & AMEND_HAS_QTY != 0).then_some(qty),
                new_price: (flags & AMEND_HAS_PRICE != 0).then_some(price),
            })
        }
        kind::MASS_CANCEL => {
            r.zero(22, 24)?;
            let flags = r.u8(21);
            if flags & !MASS_CANCEL_HAS_INSTRUMENT != 0 {
                return Err(CodecError::BadField { field: "mass_cancel_flags", value: flags as u64 });
            }
            let inst = r.u32(16);
            if flags == 0 && inst != 0 {
                return Err(CodecError::ReservedNotZero(16));
            }
            let side = match r.u8(20) {
                0 => None,
                _ => Some(r.en(20, "side", Side::from_u8)?),
            };
            CommandKind::MassCancel(MassCancel { instrument: (flags != 0).then_some(inst), side })
        }
        kind::ADD_INSTRUMENT => CommandKind::AddInstrument(spec(&r)),
        kind::SET_INSTRUMENT_STATE => {
            r.zero(21, 24)?;
            CommandKind::SetInstrumentState(SetInstrumentState {
                instrument: r.u32(16),
                state: r.en(20, "state", InstrumentState::from_u8)?,
            })
        }
        kind::CREATE_ACCOUNT => {
            r.zero(22, 24)?;
            CommandKind::CreateAccount(CreateAccount {
                target: r.u32(16),
                tier: r.u8(20),
                status: r.en(21, "status", AccountStatus::from_u8)?,
            })
        }
        kind::DEPOSIT => CommandKind::Deposit(transfer(&r)),
        kind::WITHDRAW => CommandKind::Withdraw(transfer(&r)),
        kind::SET_ACCOUNT_STATUS => {
            r.zero(22, 24)?;
            CommandKind::SetAccountStatus(SetAccountStatus {
                target: r.u32(16),
                status: r.en(20, "status", AccountStatus::from_u8)?,
                tier: r.u8(21),
            })
        }
        kind::SET_FEE_SCHEDULE => {
            r.zero(21, 24)?;
            CommandKind::SetFeeSchedule(SetFeeSchedule {
                instrument: r.u32(16),
                tier: r.u8(20),
                maker_ppm: r.u32(24) as i32,
                taker_ppm: r.u32(28) as i32,
            })
        }
        kind::QUERY_ACCOUNT => {
            r.zero(20, 24)?;
            CommandKind::QueryAccount(QueryAccount { target: r.u32(16) })
        }
        kind::SET_CREDENTIAL => {
            r.zero(20, 24)?;
            let mut salt = [0u8; CREDENTIAL_SALT_BYTES];
            salt.copy_from_slice(&buf[24..40]);
            let mut hash = [0u8; CREDENTIAL_HASH_BYTES];
            hash.copy_from_slice(&buf[40..72]);
            CommandKind::SetCredential(SetCredential { target: r.u32(16), salt, hash })
        }
        kind::REVOKE_CREDENTIAL => {
            r.zero(20, 24)?;
            CommandKind::RevokeCredential(RevokeCredential { target: r.u32(16) })
        }
        kind::START_EPOCH => {
            r.zero(28, 32)?;
            CommandKind::StartEpoch(StartEpoch { epoch: r.u64(16), node: r.u32(24) })
        }
        k if k >= kind::ADD_PERPETUAL => futures_kind(k, &r)?,
        other => return Err(CodecError::UnknownKind(other)),
    };
    Ok(Command { account, timestamp_ns, kind })
}

/// The perpetual-futures kinds (docs/futures.md, section 12), whose layouts docs/journal.md lists.
fn futures_kind(k: u8, r: &R<'_>) -> Result<CommandKind, CodecError> {
    Ok(match k {
        kind::ADD_PERPETUAL => CommandKind::AddPerpetual(spec(r)),
        kind::SET_RISK_TIER => CommandKind::SetRiskTier(risk_tier(r)?),
        kind::SET_LEVERAGE => CommandKind::SetLeverage(SetLeverage { instrument: r.u32(16), leverage: r.u32(20) }),
        kind::SET_MARGIN_MODE => {
            r.zero(21, 24)?;
            CommandKind::SetMarginMode(SetMarginMode {
                instrument: r.u32(16),
                mode: r.en(20, "margin_mode", MarginMode::from_u8)?,
            })
        }
        kind::ADJUST_ISOLATED_MARGIN => {
            r.zero(20, 24)?;
            CommandKind::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument: r.u32(16), delta: r.u64(24) as i64 })
        }
        kind::MARGIN_DEPOSIT => CommandKind::MarginDeposit(transfer(r)),
        kind::MARGIN_WITHDRAW => CommandKind::MarginWithdraw(transfer(r)),
        kind::MARGIN_DEBIT => CommandKind::MarginDebit(transfer(r)),
        kind::WALLET_TRANSFER => {
            r.zero(21, 24)?;
            CommandKind::WalletTransfer(WalletTransfer {
                asset: r.u32(16),
                amount: r.u64(24),
                to_futures: r.en(20, "to_futures", bool_of)?,
            })
        }
        kind::SET_MARK_PRICE => {
            r.zero(20, 24)?;
            CommandKind::SetMarkPrice(SetMarkPrice { instrument: r.u32(16), mark_price: r.u64(24) })
        }
        kind::APPLY_FUNDING => {
            // Absent from the previous release's 24-byte record: 0, "not given", which is only
            // ever written that way (a 32-byte record holding 0 is damage).
            let next_funding_time_ns = if r.0.len() == APPLY_FUNDING_V1_BYTES { 0 } else { r.u64(24) };
            if r.0.len() != APPLY_FUNDING_V1_BYTES && next_funding_time_ns == 0 {
                return Err(CodecError::BadField { field: "next_funding_time_ns", value: 0 });
            }
            CommandKind::ApplyFunding(ApplyFunding {
                instrument: r.u32(16),
                rate_ppm: r.u32(20) as i32,
                next_funding_time_ns,
            })
        }
        other => return Err(CodecError::UnknownKind(other)),
    })
}

/// A flag byte: 0 or 1, anything else is damage.
fn bool_of(b: u8) -> Option<bool> {
    match b {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

fn order_ref(r: &R<'_>) -> Result<OrderRef, CodecError> {
    let id = r.u64(24);
    match r.u8(16) {
        REF_ENGINE => Ok(OrderRef::Engine(id)),
        REF_CLIENT => Ok(OrderRef::Client(id)),
        v => Err(CodecError::BadField { field: "order_ref_kind", value: v as u64 }),
    }
}

/// Journal record type of an encoded [`Command`].
pub const RECORD_COMMAND: u8 = 1;
/// Journal record type of the engine's capacities: the first record of every
/// journal, so a replay builds the engine exactly as it ran (capacities
/// decide `CapacityReached`/`TooManyOpenOrders` rejects, so they are state).
pub const RECORD_ENGINE_CONFIG: u8 = 2;
/// Encoded length of an engine config record (format version 3; version 2 records are
/// [`ENGINE_CONFIG_V2_BYTES`] long and still decode).
pub const ENGINE_CONFIG_BYTES: usize = 48;
/// Length of a version-2 engine config record, from journals written before perpetuals.
pub const ENGINE_CONFIG_V2_BYTES: usize = 40;
/// Format version of the engine config record this code writes: 3 added the insurance and oracle
/// accounts at 36 and 40.
const ENGINE_CONFIG_VERSION: u32 = 3;
const ENGINE_CONFIG_V2: u32 = 2;
const CONFIG_FLAG_RISK: u32 = 1;

/// Encodes the engine's capacities for [`RECORD_ENGINE_CONFIG`].
pub fn encode_engine_config(c: &crate::EngineConfig) -> [u8; ENGINE_CONFIG_BYTES] {
    let mut b = [0u8; ENGINE_CONFIG_BYTES];
    let mut w = W(&mut b);
    w.u32(0, ENGINE_CONFIG_VERSION);
    w.u32(4, c.max_orders);
    w.u32(8, c.max_instruments);
    w.u32(12, c.max_accounts);
    w.u32(16, c.max_open_orders_per_account);
    w.u32(20, if c.risk_checks { CONFIG_FLAG_RISK } else { 0 });
    w.u32(24, c.max_assets);
    w.u32(28, c.fee_account);
    w.u32(32, c.max_transactions);
    w.u32(36, c.insurance_account);
    w.u32(40, c.oracle_account);
    b
}

/// Decodes a [`RECORD_ENGINE_CONFIG`] payload: version 3 ([`ENGINE_CONFIG_BYTES`]), or version 2
/// ([`ENGINE_CONFIG_V2_BYTES`], which names no insurance or oracle account).
pub fn decode_engine_config(buf: &[u8]) -> Result<crate::EngineConfig, CodecError> {
    let version = match buf.get(0..4) {
        Some(v) => u32::from_le_bytes(v.try_into().expect("4 bytes")),
        None => return Err(CodecError::BadLength { kind: 0, len: buf.len(), expected: ENGINE_CONFIG_BYTES }),
    };
    let expected = match version {
        ENGINE_CONFIG_V2 => ENGINE_CONFIG_V2_BYTES,
        ENGINE_CONFIG_VERSION => ENGINE_CONFIG_BYTES,
        _ => return Err(CodecError::BadField { field: "engine_config_version", value: version as u64 }),
    };
    if buf.len() != expected {
        return Err(CodecError::BadLength { kind: 0, len: buf.len(), expected });
    }
    let r = R(buf);
    let (insurance_account, oracle_account) = if version == ENGINE_CONFIG_V2 {
        r.zero(36, 40)?;
        (crate::NO_ACCOUNT, crate::NO_ACCOUNT)
    } else {
        r.zero(44, 48)?;
        (r.u32(36), r.u32(40))
    };
    let flags = r.u32(20);
    if flags & !CONFIG_FLAG_RISK != 0 {
        return Err(CodecError::BadField { field: "engine_config_flags", value: flags as u64 });
    }
    let c = crate::EngineConfig {
        max_orders: r.u32(4),
        max_instruments: r.u32(8),
        max_accounts: r.u32(12),
        max_open_orders_per_account: r.u32(16),
        risk_checks: flags & CONFIG_FLAG_RISK != 0,
        max_assets: r.u32(24),
        fee_account: r.u32(28),
        max_transactions: r.u32(32),
        insurance_account,
        oracle_account,
    };
    check_engine_config(&c)?;
    Ok(c)
}

/// The checks a decoded config must pass before an engine is built from it: capacities the
/// engine's tables need, and special accounts that exist and are distinct.
fn check_engine_config(c: &crate::EngineConfig) -> Result<(), CodecError> {
    let bad = |field, value: u32| Err(CodecError::BadField { field, value: value as u64 });
    if c.max_orders == 0 || c.max_orders == u32::MAX {
        return bad("max_orders", c.max_orders);
    }
    if c.max_instruments == 0 || c.max_instruments == u32::MAX {
        return bad("max_instruments", c.max_instruments);
    }
    if c.risk_checks && (c.max_assets == 0 || c.fee_account >= c.max_accounts) {
        return bad("fee_account", c.fee_account);
    }
    // The insurance fund is a risk-mode account like the fee account; the oracle only sends.
    let fund = c.insurance_account;
    if fund != crate::NO_ACCOUNT && (!c.risk_checks || fund >= c.max_accounts || fund == c.fee_account) {
        return bad("insurance_account", fund);
    }
    let oracle = c.oracle_account;
    if oracle != crate::NO_ACCOUNT
        && (oracle >= c.max_accounts || (c.risk_checks && oracle == c.fee_account) || oracle == fund)
    {
        return bad("oracle_account", oracle);
    }
    Ok(())
}
