//! Execution reports (server → client, sequenced per account) and the mapping from engine events.
//!
//! Every report block starts with the account's outbound sequence number (`u64` at offset 0) and
//! the account id (`u32` at offset 8). The publisher numbers reports per account, from 1, in the
//! order [`execution_reports`] yields them while it walks the engine's events in order; since the
//! engine is deterministic, replaying the journal yields the same numbers, so a client that logs in
//! again with the last sequence it saw gets exactly the messages it missed.

use engine::{
    Accepted, AccountBalance, AccountId, AccountUpdated, Amended, Armed, CancelReason, Cancelled, ClientOrderId, Event,
    EventKind, FeeScheduleSet, InstrumentAdded, InstrumentId, InstrumentStateChanged, ListAccepted, ListKind,
    MassCancelled, OpenOrder, OrderId, OrderType, Price, Qty, RejectReason, Rejected, SelfTradePrevented, Side,
    StpMode, TimeInForce, TradeId, TransferApplied, TriggerAmended, TriggerKind, TriggerSource, Triggered,
};

use crate::account::{self, BalanceUpdate, CredentialReport, QueryComplete};
use crate::error::{DecodeError, EncodeError};
use crate::field::{bad, bool_from_u8, enum_at, flags_at};
use crate::frame::{append_to_vec, encode_message, Rd, Wr, HEADER_LEN, LENGTH_PREFIX_LEN};
use crate::futures::{self, FuturesReport};
use crate::{admin, layout, template};

wire_enum!(
    /// Whether a fill added or removed liquidity.
    Liquidity {
        /// The order was resting (maker).
        Maker = 1,
        /// The order was incoming (taker, aggressor).
        Taker = 2,
    }
);

/// One side of a trade, as seen by one order's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fill {
    /// Owner of the order.
    pub account: AccountId,
    /// Engine order id.
    pub order_id: OrderId,
    /// Client order id.
    pub client_order_id: ClientOrderId,
    /// Engine trade id (the same in both fills of one trade).
    pub trade_id: TradeId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side of this order.
    pub side: Side,
    /// Trade price (the maker's).
    pub price: Price,
    /// Quantity traded.
    pub qty: Qty,
    /// Quantity of this order still open after the trade.
    pub leaves_qty: Qty,
    /// Maker or taker.
    pub liquidity: Liquidity,
    /// Gateway receive time of the taking command, ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// Fee this order paid on the fill, in the quote asset's minor units; negative for a maker
    /// rebate; 0 without risk checks (and when decoded from a block without the field).
    pub fee: i64,
    /// The trade was a liquidation order's (perpetuals: its taker is the liquidated account, with
    /// order id 0).
    pub liquidation: bool,
}

/// `Fill` flag: the trade was a liquidation order's.
pub const FILL_FLAG_LIQUIDATION: u8 = 1;

/// A sequenced server → client report (its sequence number travels beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecReport {
    /// `OrderAccepted` (40).
    Accepted(Accepted),
    /// `CommandRejected` (41), for any command (admin ones included).
    Rejected(Rejected),
    /// `Fill` (42).
    Fill(Fill),
    /// `OrderCancelled` (43).
    Cancelled(Cancelled),
    /// `OrderAmended` (44).
    Amended(Amended),
    /// `SelfTradePrevented` (45).
    SelfTradePrevented(SelfTradePrevented),
    /// `MassCancelled` (46).
    MassCancelled(MassCancelled),
    /// `OrderArmed` (47).
    Armed(Armed),
    /// `OrderTriggered` (48).
    Triggered(Triggered),
    /// `OrderTriggerAmended` (49).
    TriggerAmended(TriggerAmended),
    /// `OrderListAccepted` (50).
    ListAccepted(ListAccepted),
    /// `InstrumentAdded` (70), to the admin account.
    InstrumentAdded(InstrumentAdded),
    /// `InstrumentStateChanged` (71), to the admin account.
    InstrumentStateChanged(InstrumentStateChanged),
    /// `BalanceChanged` (90), to the account whose balance changed.
    BalanceChanged(BalanceUpdate),
    /// `AccountUpdated` (91), to the admin account.
    AccountUpdated(AccountUpdated),
    /// `TransferApplied` (92), to the admin account.
    TransferApplied(TransferApplied),
    /// `FeeScheduleSet` (93), to the admin account.
    FeeScheduleSet(FeeScheduleSet),
    /// `AccountBalance` (94), to the account that asked.
    AccountBalance(AccountBalance),
    /// `OpenOrder` (95), to the account that asked.
    OpenOrder(OpenOrder),
    /// `QueryDone` (96), to the account that asked.
    QueryDone(QueryComplete),
    /// `CredentialChanged` (97), to the admin account.
    CredentialChanged(CredentialReport),
    /// Perpetual futures (170-186).
    Futures(FuturesReport),
}

/// The reject reason a client is told for the engine's `reason`. `NotYourOrder` would tell an
/// account whether another account's engine order id is live, so the wire says `UnknownOrder` for
/// both; the engine's own reason stays in the journal, the replay tool and the server's metrics
/// (`matchd_rejects_total{reason="not_your_order"}`).
#[inline]
pub fn wire_reject_reason(reason: RejectReason) -> RejectReason {
    match reason {
        RejectReason::NotYourOrder => RejectReason::UnknownOrder,
        other => other,
    }
}

/// Calls `f(account, report)` for every report `event` yields, in the order the per-account
/// sequence numbers must follow. Allocation-free. `oracle_account` is the engine's
/// (`EngineConfig::oracle_account`): it gets the `MarkPriceSet` and `FundingApplied` reports,
/// whose events name no account (`engine::NO_ACCOUNT`: nobody does).
///
/// - `Trade` yields two fills: the maker's first, then the taker's (both to one account for a
///   trade between two orders of the same account, which STP mode `None` allows).
/// - `LevelChanged` yields nothing (market data).
/// - `Rejected` yields one report with the reason [`wire_reject_reason`] gives.
/// - `CredentialChanged` yields one report to the admin with a fingerprint in place of the hash.
/// - `AutoDeleveraged` yields two reports: the bankrupt account's, then the counterparty's, each
///   without the other's id.
/// - every other event yields one report to the event's account; `BalanceChanged` and `QueryDone`
///   carry the event's command sequence number.
#[inline]
pub fn execution_reports(event: &Event, oracle_account: AccountId, mut f: impl FnMut(AccountId, &ExecReport)) {
    match event.kind {
        EventKind::Accepted(e) => f(e.account, &ExecReport::Accepted(e)),
        EventKind::Rejected(e) => {
            f(e.account, &ExecReport::Rejected(Rejected { reason: wire_reject_reason(e.reason), ..e }))
        }
        EventKind::Trade(t) => {
            let maker = Fill {
                account: t.maker_account,
                order_id: t.maker_order_id,
                client_order_id: t.maker_client_order_id,
                trade_id: t.trade_id,
                instrument: t.instrument,
                side: t.taker_side.opposite(),
                price: t.price,
                qty: t.qty,
                leaves_qty: t.maker_leaves,
                liquidity: Liquidity::Maker,
                timestamp_ns: t.timestamp_ns,
                fee: t.maker_fee,
                // A liquidation order has no id (docs/futures.md, section 8).
                liquidation: t.taker_order_id == 0,
            };
            f(maker.account, &ExecReport::Fill(maker));
            let taker = Fill {
                account: t.taker_account,
                order_id: t.taker_order_id,
                client_order_id: t.taker_client_order_id,
                side: t.taker_side,
                leaves_qty: t.taker_leaves,
                liquidity: Liquidity::Taker,
                fee: t.taker_fee,
                ..maker
            };
            f(taker.account, &ExecReport::Fill(taker));
        }
        EventKind::Cancelled(e) => f(e.account, &ExecReport::Cancelled(e)),
        EventKind::Amended(e) => f(e.account, &ExecReport::Amended(e)),
        EventKind::SelfTradePrevented(e) => f(e.account, &ExecReport::SelfTradePrevented(e)),
        EventKind::MassCancelled(e) => f(e.account, &ExecReport::MassCancelled(e)),
        EventKind::LevelChanged(_) | EventKind::IcebergSliced(_) => {}
        EventKind::InstrumentAdded(e) => f(e.account, &ExecReport::InstrumentAdded(e)),
        EventKind::InstrumentStateChanged(e) => f(e.account, &ExecReport::InstrumentStateChanged(e)),
        EventKind::BalanceChanged(change) => {
            f(change.account, &ExecReport::BalanceChanged(BalanceUpdate { change, command_seq: event.seq }))
        }
        EventKind::AccountUpdated(e) => f(e.account, &ExecReport::AccountUpdated(e)),
        EventKind::TransferApplied(e) => f(e.account, &ExecReport::TransferApplied(e)),
        EventKind::FeeScheduleSet(e) => f(e.account, &ExecReport::FeeScheduleSet(e)),
        EventKind::AccountBalance(e) => f(e.account, &ExecReport::AccountBalance(e)),
        EventKind::OpenOrder(e) => f(e.account, &ExecReport::OpenOrder(e)),
        EventKind::QueryDone(done) => {
            f(done.account, &ExecReport::QueryDone(QueryComplete { done, command_seq: event.seq }))
        }
        EventKind::CredentialChanged(e) => f(e.account, &ExecReport::CredentialChanged(CredentialReport::of(&e))),
        EventKind::Armed(e) => f(e.account, &ExecReport::Armed(e)),
        EventKind::Triggered(e) => f(e.account, &ExecReport::Triggered(e)),
        EventKind::TriggerAmended(e) => f(e.account, &ExecReport::TriggerAmended(e)),
        EventKind::ListAccepted(e) => f(e.account, &ExecReport::ListAccepted(e)),
        EventKind::RiskTierSet(_)
        | EventKind::LeverageSet(_)
        | EventKind::MarginModeSet(_)
        | EventKind::IsolatedMarginAdjusted(_)
        | EventKind::MarkPriceSet(_)
        | EventKind::FundingPayment(_)
        | EventKind::FundingApplied(_)
        | EventKind::Liquidation(_)
        | EventKind::TakenOver(_)
        | EventKind::AutoDeleveraged(_)
        | EventKind::LiquidationDone(_)
        | EventKind::BankruptcyCovered(_)
        | EventKind::Trimmed(_)
        | EventKind::PositionChanged(_)
        | EventKind::WalletChanged(_)
        | EventKind::PositionReport(_)
        | EventKind::MarginReport(_) => {
            futures::futures_reports(event, oracle_account, &mut |account, r| f(account, &ExecReport::Futures(*r)))
        }
        // Market data only.
        EventKind::OpenInterestChanged(_) => {}
    }
}

// Every report shares the (seq, account) prefix.
const _: () = {
    use layout::*;
    macro_rules! prefix {
        ($($m:ident),*) => { $(assert!($m::SEQ == report::SEQ && $m::ACCOUNT == report::ACCOUNT);)* };
    }
    prefix!(
        order_accepted,
        command_rejected,
        fill,
        order_cancelled,
        order_amended,
        self_trade_prevented,
        mass_cancelled,
        order_armed,
        order_triggered,
        order_trigger_amended,
        instrument_added,
        instrument_state_changed,
        balance_changed,
        account_updated,
        transfer_applied,
        fee_schedule_set,
        account_balance,
        open_order,
        query_done,
        credential_changed
    );
};

pub use crate::field::{command_type_from_u8, command_type_to_u8};

impl ExecReport {
    /// The account whose stream carries this report.
    pub fn account(&self) -> AccountId {
        match self {
            ExecReport::Accepted(e) => e.account,
            ExecReport::Rejected(e) => e.account,
            ExecReport::Fill(e) => e.account,
            ExecReport::Cancelled(e) => e.account,
            ExecReport::Amended(e) => e.account,
            ExecReport::SelfTradePrevented(e) => e.account,
            ExecReport::MassCancelled(e) => e.account,
            ExecReport::Armed(e) => e.account,
            ExecReport::Triggered(e) => e.account,
            ExecReport::TriggerAmended(e) => e.account,
            ExecReport::ListAccepted(e) => e.account,
            ExecReport::InstrumentAdded(e) => e.account,
            ExecReport::InstrumentStateChanged(e) => e.account,
            ExecReport::BalanceChanged(e) => e.change.account,
            ExecReport::AccountUpdated(e) => e.account,
            ExecReport::TransferApplied(e) => e.account,
            ExecReport::FeeScheduleSet(e) => e.account,
            ExecReport::AccountBalance(e) => e.account,
            ExecReport::OpenOrder(e) => e.account,
            ExecReport::QueryDone(e) => e.done.account,
            ExecReport::CredentialChanged(e) => e.account,
            ExecReport::Futures(e) => e.account(),
        }
    }

    /// Template id.
    pub fn template_id(&self) -> u16 {
        match self {
            ExecReport::Accepted(_) => template::ORDER_ACCEPTED,
            ExecReport::Rejected(_) => template::COMMAND_REJECTED,
            ExecReport::Fill(_) => template::FILL,
            ExecReport::Cancelled(_) => template::ORDER_CANCELLED,
            ExecReport::Amended(_) => template::ORDER_AMENDED,
            ExecReport::SelfTradePrevented(_) => template::SELF_TRADE_PREVENTED,
            ExecReport::MassCancelled(_) => template::MASS_CANCELLED,
            ExecReport::Armed(_) => template::ORDER_ARMED,
            ExecReport::Triggered(_) => template::ORDER_TRIGGERED,
            ExecReport::TriggerAmended(_) => template::ORDER_TRIGGER_AMENDED,
            ExecReport::ListAccepted(_) => template::ORDER_LIST_ACCEPTED,
            ExecReport::InstrumentAdded(_) => template::INSTRUMENT_ADDED,
            ExecReport::InstrumentStateChanged(_) => template::INSTRUMENT_STATE_CHANGED,
            ExecReport::BalanceChanged(_) => template::BALANCE_CHANGED,
            ExecReport::AccountUpdated(_) => template::ACCOUNT_UPDATED,
            ExecReport::TransferApplied(_) => template::TRANSFER_APPLIED,
            ExecReport::FeeScheduleSet(_) => template::FEE_SCHEDULE_SET,
            ExecReport::AccountBalance(_) => template::ACCOUNT_BALANCE,
            ExecReport::OpenOrder(_) => template::OPEN_ORDER,
            ExecReport::QueryDone(_) => template::QUERY_DONE,
            ExecReport::CredentialChanged(_) => template::CREDENTIAL_CHANGED,
            ExecReport::Futures(e) => e.template_id(),
        }
    }

    /// Block length (version 1).
    pub fn block_len(&self) -> usize {
        report_block_len(self.template_id()).unwrap_or(0)
    }

    /// Bytes of the whole encoded message (length prefix included).
    pub fn encoded_len(&self) -> usize {
        LENGTH_PREFIX_LEN + HEADER_LEN + self.block_len()
    }

    /// Encodes the report as message number `seq` of its account into the front of `buf`;
    /// returns the bytes written.
    pub fn encode(&self, seq: u64, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_message(self.template_id(), self.block_len(), buf, |w| self.write(seq, w))
    }

    /// Appends the encoded report to `out` within its spare capacity (never reallocates).
    pub fn encode_into_vec(&self, seq: u64, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        append_to_vec(out, self.encoded_len(), |b| self.encode(seq, b))
    }

    fn write(&self, seq: u64, w: &mut Wr<'_>) {
        match self {
            ExecReport::Accepted(e) => {
                use layout::order_accepted::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(INSTRUMENT, e.instrument);
                w.u64(ORDER_ID, e.order_id);
                w.u64(CLIENT_ORDER_ID, e.client_order_id);
                w.u64(PRICE, e.price);
                w.u64(QTY, e.qty);
                w.u64(TIMESTAMP_NS, e.timestamp_ns);
                w.u8(SIDE, e.side.as_u8());
                w.u8(ORDER_TYPE, e.order_type.as_u8());
                w.u8(TIF, e.tif.as_u8());
            }
            ExecReport::Rejected(e) => {
                use layout::command_rejected::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(INSTRUMENT, e.instrument);
                w.u64(CLIENT_ORDER_ID, e.client_order_id);
                w.u64(ORDER_ID, e.order_id);
                w.u16(REASON, e.reason.code());
                w.u8(COMMAND, command_type_to_u8(e.command));
            }
            ExecReport::Fill(e) => {
                use layout::fill::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(INSTRUMENT, e.instrument);
                w.u64(ORDER_ID, e.order_id);
                w.u64(CLIENT_ORDER_ID, e.client_order_id);
                w.u64(TRADE_ID, e.trade_id);
                w.u64(PRICE, e.price);
                w.u64(QTY, e.qty);
                w.u64(LEAVES_QTY, e.leaves_qty);
                w.u64(TIMESTAMP_NS, e.timestamp_ns);
                w.u8(SIDE, e.side.as_u8());
                w.u8(LIQUIDITY, e.liquidity.as_u8());
                w.u8(FLAGS, if e.liquidation { FILL_FLAG_LIQUIDATION } else { 0 });
                w.i64(FEE, e.fee);
            }
            ExecReport::Cancelled(e) => {
                use layout::order_cancelled::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(INSTRUMENT, e.instrument);
                w.u64(ORDER_ID, e.order_id);
                w.u64(CLIENT_ORDER_ID, e.client_order_id);
                w.u64(CANCELLED_QTY, e.cancelled_qty);
                w.u64(FILLED_QTY, e.filled_qty);
                w.u8(SIDE, e.side.as_u8());
                w.u8(REASON, e.reason as u8);
            }
            ExecReport::Amended(e) => {
                use layout::order_amended::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(INSTRUMENT, e.instrument);
                w.u64(ORDER_ID, e.order_id);
                w.u64(CLIENT_ORDER_ID, e.client_order_id);
                w.u64(PRICE, e.price);
                w.u64(QTY, e.qty);
                w.u64(LEAVES_QTY, e.leaves);
                w.u8(SIDE, e.side.as_u8());
                w.u8(KEPT_PRIORITY, e.kept_priority as u8);
            }
            ExecReport::SelfTradePrevented(e) => {
                use layout::self_trade_prevented::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(INSTRUMENT, e.instrument);
                w.u64(MAKER_ORDER_ID, e.maker_order_id);
                w.u64(TAKER_ORDER_ID, e.taker_order_id);
                w.u64(QTY, e.qty);
                w.u8(MODE, e.mode.as_u8());
            }
            ExecReport::MassCancelled(e) => {
                use layout::mass_cancelled::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(COUNT, e.count);
            }
            ExecReport::Armed(e) => {
                use layout::order_armed::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(INSTRUMENT, e.instrument);
                w.u64(ORDER_ID, e.order_id);
                w.u64(CLIENT_ORDER_ID, e.client_order_id);
                w.u64(PRICE, e.price);
                w.u64(QTY, e.qty);
                w.u64(TRIGGER_PRICE, e.trigger_price);
                w.u64(TIMESTAMP_NS, e.timestamp_ns);
                w.u8(SIDE, e.side.as_u8());
                w.u8(ORDER_TYPE, e.order_type.as_u8());
                w.u8(TIF, e.tif.as_u8());
                w.u8(TRIGGER, e.trigger.as_u8());
                w.u8(TRIGGER_SOURCE, e.trigger_source.as_u8());
            }
            ExecReport::Triggered(e) => {
                use layout::order_triggered::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(INSTRUMENT, e.instrument);
                w.u64(ORDER_ID, e.order_id);
                w.u64(CLIENT_ORDER_ID, e.client_order_id);
                w.u64(PRICE, e.price);
                w.u64(QTY, e.qty);
                w.u64(TRIGGER_PRICE, e.trigger_price);
                w.u64(LAST_PRICE, e.last_price);
                w.u64(TIMESTAMP_NS, e.timestamp_ns);
                w.u8(SIDE, e.side.as_u8());
                w.u8(ORDER_TYPE, e.order_type.as_u8());
                w.u8(TRIGGER_SOURCE, e.trigger_source.as_u8());
            }
            ExecReport::TriggerAmended(e) => {
                use layout::order_trigger_amended::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(INSTRUMENT, e.instrument);
                w.u64(ORDER_ID, e.order_id);
                w.u64(CLIENT_ORDER_ID, e.client_order_id);
                w.u64(TRIGGER_PRICE, e.trigger_price);
                w.u8(SIDE, e.side.as_u8());
            }
            ExecReport::ListAccepted(e) => {
                use layout::order_list_accepted::*;
                w.u64(SEQ, seq);
                w.u32(ACCOUNT, e.account);
                w.u32(INSTRUMENT, e.instrument);
                w.u64(LIST_ID, e.list_id);
                w.u64(CLIENT_ORDER_ID, e.client_order_id);
                w.u64(TIMESTAMP_NS, e.timestamp_ns);
                w.u8(KIND, e.kind.as_u8());
                w.u8(LEGS, e.legs);
            }
            ExecReport::InstrumentAdded(e) => admin::write_instrument_added(seq, e, w),
            ExecReport::InstrumentStateChanged(e) => admin::write_state_changed(seq, e, w),
            ExecReport::BalanceChanged(e) => account::write_balance_changed(seq, e, w),
            ExecReport::AccountUpdated(e) => account::write_account_updated(seq, e, w),
            ExecReport::TransferApplied(e) => account::write_transfer_applied(seq, e, w),
            ExecReport::FeeScheduleSet(e) => account::write_fee_schedule_set(seq, e, w),
            ExecReport::AccountBalance(e) => account::write_account_balance(seq, e, w),
            ExecReport::OpenOrder(e) => account::write_open_order(seq, e, w),
            ExecReport::QueryDone(e) => account::write_query_done(seq, e, w),
            ExecReport::CredentialChanged(e) => account::write_credential_changed(seq, e, w),
            ExecReport::Futures(e) => e.write(seq, w),
        }
    }

    /// Reads a report block whose length was checked against [`report_block_len`]; returns the
    /// sequence number and the report.
    pub(crate) fn read(template_id: u16, r: &Rd<'_>) -> Result<(u64, ExecReport), DecodeError> {
        let t = template_id;
        let seq = r.u64(layout::report::SEQ);
        let report = match t {
            template::ORDER_ACCEPTED => {
                use layout::order_accepted::*;
                ExecReport::Accepted(Accepted {
                    account: r.u32(ACCOUNT),
                    order_id: r.u64(ORDER_ID),
                    client_order_id: r.u64(CLIENT_ORDER_ID),
                    instrument: r.u32(INSTRUMENT),
                    side: enum_at(r, t, "side", SIDE, Side::from_u8)?,
                    order_type: enum_at(r, t, "order_type", ORDER_TYPE, OrderType::from_u8)?,
                    tif: enum_at(r, t, "tif", TIF, TimeInForce::from_u8)?,
                    price: r.u64(PRICE),
                    qty: r.u64(QTY),
                    timestamp_ns: r.u64(TIMESTAMP_NS),
                })
            }
            template::COMMAND_REJECTED => {
                use layout::command_rejected::*;
                let code = r.u16(REASON);
                ExecReport::Rejected(Rejected {
                    account: r.u32(ACCOUNT),
                    command: enum_at(r, t, "command", COMMAND, command_type_from_u8)?,
                    client_order_id: r.u64(CLIENT_ORDER_ID),
                    order_id: r.u64(ORDER_ID),
                    instrument: r.u32(INSTRUMENT),
                    reason: RejectReason::from_code(code).ok_or(bad(t, "reason", REASON, code as u64))?,
                })
            }
            template::FILL => {
                use layout::fill::*;
                ExecReport::Fill(Fill {
                    account: r.u32(ACCOUNT),
                    order_id: r.u64(ORDER_ID),
                    client_order_id: r.u64(CLIENT_ORDER_ID),
                    trade_id: r.u64(TRADE_ID),
                    instrument: r.u32(INSTRUMENT),
                    side: enum_at(r, t, "side", SIDE, Side::from_u8)?,
                    price: r.u64(PRICE),
                    qty: r.u64(QTY),
                    leaves_qty: r.u64(LEAVES_QTY),
                    liquidity: enum_at(r, t, "liquidity", LIQUIDITY, Liquidity::from_u8)?,
                    timestamp_ns: r.u64(TIMESTAMP_NS),
                    // Absent (0) in a block that ends before it: reads beyond the block give zeros.
                    fee: r.i64(FEE),
                    liquidation: flags_at(r, t, FLAGS, FILL_FLAG_LIQUIDATION)? & FILL_FLAG_LIQUIDATION != 0,
                })
            }
            template::ORDER_CANCELLED => {
                use layout::order_cancelled::*;
                ExecReport::Cancelled(Cancelled {
                    account: r.u32(ACCOUNT),
                    order_id: r.u64(ORDER_ID),
                    client_order_id: r.u64(CLIENT_ORDER_ID),
                    instrument: r.u32(INSTRUMENT),
                    side: enum_at(r, t, "side", SIDE, Side::from_u8)?,
                    cancelled_qty: r.u64(CANCELLED_QTY),
                    filled_qty: r.u64(FILLED_QTY),
                    reason: enum_at(r, t, "reason", REASON, CancelReason::from_u8)?,
                })
            }
            template::ORDER_AMENDED => {
                use layout::order_amended::*;
                ExecReport::Amended(Amended {
                    account: r.u32(ACCOUNT),
                    order_id: r.u64(ORDER_ID),
                    client_order_id: r.u64(CLIENT_ORDER_ID),
                    instrument: r.u32(INSTRUMENT),
                    side: enum_at(r, t, "side", SIDE, Side::from_u8)?,
                    price: r.u64(PRICE),
                    qty: r.u64(QTY),
                    leaves: r.u64(LEAVES_QTY),
                    kept_priority: enum_at(r, t, "kept_priority", KEPT_PRIORITY, bool_from_u8)?,
                })
            }
            template::SELF_TRADE_PREVENTED => {
                use layout::self_trade_prevented::*;
                ExecReport::SelfTradePrevented(SelfTradePrevented {
                    account: r.u32(ACCOUNT),
                    instrument: r.u32(INSTRUMENT),
                    maker_order_id: r.u64(MAKER_ORDER_ID),
                    taker_order_id: r.u64(TAKER_ORDER_ID),
                    mode: enum_at(r, t, "mode", MODE, StpMode::from_u8)?,
                    qty: r.u64(QTY),
                })
            }
            template::MASS_CANCELLED => {
                use layout::mass_cancelled::*;
                ExecReport::MassCancelled(MassCancelled { account: r.u32(ACCOUNT), count: r.u32(COUNT) })
            }
            template::ORDER_ARMED => {
                use layout::order_armed::*;
                ExecReport::Armed(Armed {
                    account: r.u32(ACCOUNT),
                    order_id: r.u64(ORDER_ID),
                    client_order_id: r.u64(CLIENT_ORDER_ID),
                    instrument: r.u32(INSTRUMENT),
                    side: enum_at(r, t, "side", SIDE, Side::from_u8)?,
                    order_type: enum_at(r, t, "order_type", ORDER_TYPE, OrderType::from_u8)?,
                    tif: enum_at(r, t, "tif", TIF, TimeInForce::from_u8)?,
                    trigger: enum_at(r, t, "trigger", TRIGGER, TriggerKind::from_u8)?,
                    price: r.u64(PRICE),
                    qty: r.u64(QTY),
                    trigger_price: r.u64(TRIGGER_PRICE),
                    trigger_source: enum_at(r, t, "trigger_source", TRIGGER_SOURCE, TriggerSource::from_u8)?,
                    timestamp_ns: r.u64(TIMESTAMP_NS),
                })
            }
            template::ORDER_TRIGGERED => {
                use layout::order_triggered::*;
                ExecReport::Triggered(Triggered {
                    account: r.u32(ACCOUNT),
                    order_id: r.u64(ORDER_ID),
                    client_order_id: r.u64(CLIENT_ORDER_ID),
                    instrument: r.u32(INSTRUMENT),
                    side: enum_at(r, t, "side", SIDE, Side::from_u8)?,
                    order_type: enum_at(r, t, "order_type", ORDER_TYPE, OrderType::from_u8)?,
                    price: r.u64(PRICE),
                    qty: r.u64(QTY),
                    trigger_price: r.u64(TRIGGER_PRICE),
                    last_price: r.u64(LAST_PRICE),
                    trigger_source: enum_at(r, t, "trigger_source", TRIGGER_SOURCE, TriggerSource::from_u8)?,
                    timestamp_ns: r.u64(TIMESTAMP_NS),
                })
            }
            template::ORDER_TRIGGER_AMENDED => {
                use layout::order_trigger_amended::*;
                ExecReport::TriggerAmended(TriggerAmended {
                    account: r.u32(ACCOUNT),
                    order_id: r.u64(ORDER_ID),
                    client_order_id: r.u64(CLIENT_ORDER_ID),
                    instrument: r.u32(INSTRUMENT),
                    side: enum_at(r, t, "side", SIDE, Side::from_u8)?,
                    trigger_price: r.u64(TRIGGER_PRICE),
                })
            }
            template::ORDER_LIST_ACCEPTED => {
                use layout::order_list_accepted::*;
                ExecReport::ListAccepted(ListAccepted {
                    account: r.u32(ACCOUNT),
                    list_id: r.u64(LIST_ID),
                    client_order_id: r.u64(CLIENT_ORDER_ID),
                    instrument: r.u32(INSTRUMENT),
                    kind: enum_at(r, t, "kind", KIND, ListKind::from_u8)?,
                    legs: r.u8(LEGS),
                    timestamp_ns: r.u64(TIMESTAMP_NS),
                })
            }
            template::INSTRUMENT_ADDED => ExecReport::InstrumentAdded(admin::read_instrument_added(r)),
            template::INSTRUMENT_STATE_CHANGED => ExecReport::InstrumentStateChanged(admin::read_state_changed(r)?),
            template::BALANCE_CHANGED => ExecReport::BalanceChanged(account::read_balance_changed(r)?),
            template::ACCOUNT_UPDATED => ExecReport::AccountUpdated(account::read_account_updated(r)?),
            template::TRANSFER_APPLIED => ExecReport::TransferApplied(account::read_transfer_applied(r)?),
            template::FEE_SCHEDULE_SET => ExecReport::FeeScheduleSet(account::read_fee_schedule_set(r)),
            template::ACCOUNT_BALANCE => ExecReport::AccountBalance(account::read_account_balance(r)),
            template::OPEN_ORDER => ExecReport::OpenOrder(account::read_open_order(r)?),
            template::QUERY_DONE => ExecReport::QueryDone(account::read_query_done(r)?),
            template::CREDENTIAL_CHANGED => ExecReport::CredentialChanged(account::read_credential_changed(r)?),
            _ => match futures::read_report(t, r) {
                Some(report) => ExecReport::Futures(report?),
                None => return Err(DecodeError::UnknownTemplate { template_id }),
            },
        };
        Ok((seq, report))
    }
}

/// The shortest block a decoder accepts for a report template: its block length, except for a
/// template whose block grew by appended fields (`Fill` without `fee`, `FundingApplied` without
/// `next_funding_time_ns`), where a block of the original length is read with those fields
/// absent.
pub fn report_min_block_len(template_id: u16) -> Option<usize> {
    match template_id {
        template::FILL => Some(layout::fill::FEE),
        template::FUNDING_APPLIED => Some(layout::funding_applied::NEXT_FUNDING_TIME_NS),
        t => report_block_len(t),
    }
}

/// Block length of a report template as this code encodes it, `None` if `template_id` is not a
/// report.
pub fn report_block_len(template_id: u16) -> Option<usize> {
    Some(match template_id {
        template::ORDER_ACCEPTED => layout::order_accepted::BLOCK_LEN,
        template::COMMAND_REJECTED => layout::command_rejected::BLOCK_LEN,
        template::FILL => layout::fill::BLOCK_LEN,
        template::ORDER_CANCELLED => layout::order_cancelled::BLOCK_LEN,
        template::ORDER_AMENDED => layout::order_amended::BLOCK_LEN,
        template::SELF_TRADE_PREVENTED => layout::self_trade_prevented::BLOCK_LEN,
        template::MASS_CANCELLED => layout::mass_cancelled::BLOCK_LEN,
        template::ORDER_ARMED => layout::order_armed::BLOCK_LEN,
        template::ORDER_TRIGGERED => layout::order_triggered::BLOCK_LEN,
        template::ORDER_TRIGGER_AMENDED => layout::order_trigger_amended::BLOCK_LEN,
        template::ORDER_LIST_ACCEPTED => layout::order_list_accepted::BLOCK_LEN,
        template::INSTRUMENT_ADDED => layout::instrument_added::BLOCK_LEN,
        template::INSTRUMENT_STATE_CHANGED => layout::instrument_state_changed::BLOCK_LEN,
        template::BALANCE_CHANGED => layout::balance_changed::BLOCK_LEN,
        template::ACCOUNT_UPDATED => layout::account_updated::BLOCK_LEN,
        template::TRANSFER_APPLIED => layout::transfer_applied::BLOCK_LEN,
        template::FEE_SCHEDULE_SET => layout::fee_schedule_set::BLOCK_LEN,
        template::ACCOUNT_BALANCE => layout::account_balance::BLOCK_LEN,
        template::OPEN_ORDER => layout::open_order::BLOCK_LEN,
        template::QUERY_DONE => layout::query_done::BLOCK_LEN,
        template::CREDENTIAL_CHANGED => layout::credential_changed::BLOCK_LEN,
        t => return futures::report_block_len(t),
    })
}
