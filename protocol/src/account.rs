//! Spot accounts (the engine's risk mode, `docs/matching.md`): account administration, deposits,
//! withdrawals and fee schedules (admin sessions), the account query (a trader for its own account,
//! an admin for any), and their sequenced reports. The blocks decode straight into the engine's
//! command structs; the decoder checks only the enums, the engine the values.
//!
//! Credentials (both modes): `SetCredential` and `RevokeCredential` (admin sessions) carry an
//! account's salted secret hash, never the secret; their `CredentialChanged` report shows only a
//! fingerprint of the hash.
//!
//! Reports go to one stream each: `BalanceChanged` to the account whose balance changed;
//! `AccountUpdated`, `TransferApplied`, `FeeScheduleSet` and `CredentialChanged` to the admin that
//! sent the command; `AccountBalance`, `OpenOrder` and `QueryDone` to the account that asked.

use engine::{
    AccountBalance, AccountId, AccountStatus, AccountUpdated, BalanceChanged, BalanceReason, CommandType,
    CreateAccount, CredentialChanged, FeeScheduleSet, OpenOrder, OrderView, QueryAccount, QueryDone, RevokeCredential,
    Seq, SetAccountStatus, SetCredential, SetFeeSchedule, Side, StpMode, TimeInForce, Transfer, TransferApplied,
    CREDENTIAL_HASH_BYTES,
};

use crate::error::DecodeError;
use crate::field::command_type_from_u8;
use crate::field::enum_at;
use crate::frame::{Rd, Wr};
use crate::layout;
use crate::template;

/// `BalanceChanged` (90): the engine event and the journal sequence number of the command that
/// caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceUpdate {
    /// The change (its `account` owns the stream).
    pub change: BalanceChanged,
    /// Journal sequence number of the command.
    pub command_seq: Seq,
}

/// `QueryDone` (96): the engine event and the journal sequence number of the query (the answer
/// is the account's state right after that command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryComplete {
    /// The summary (its `account` is the asker).
    pub done: QueryDone,
    /// Journal sequence number of the query.
    pub command_seq: Seq,
}

/// `CredentialChanged` (97): an account's API secret was set or revoked. The admin sees a
/// fingerprint of the new hash, not the hash: the report stream is retained and resent, and the
/// hash with its salt would let anyone who reads it test guesses offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialReport {
    /// Admin that sent the command (owns the stream).
    pub account: AccountId,
    /// [`CommandType::SetCredential`] or [`CommandType::RevokeCredential`].
    pub command: CommandType,
    /// The account whose secret changed.
    pub target: AccountId,
    /// [`credential_fingerprint`] of the new hash; 0 for a revocation.
    pub fingerprint: u64,
}

impl CredentialReport {
    /// The report of an engine event.
    pub fn of(e: &CredentialChanged) -> CredentialReport {
        let fingerprint = match e.command {
            CommandType::SetCredential => credential_fingerprint(&e.hash),
            _ => 0,
        };
        CredentialReport { account: e.account, command: e.command, target: e.target, fingerprint }
    }
}

/// A credential hash's fingerprint: its first 8 bytes read big-endian, so that printed as 16 hex
/// digits it is the start of the hash's hex form (what `matchd hash-credential` prints).
pub fn credential_fingerprint(hash: &[u8; CREDENTIAL_HASH_BYTES]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(first)
}

pub(crate) fn write_set_credential(c: &SetCredential, w: &mut Wr<'_>) {
    use layout::set_credential::*;
    w.u32(TARGET, c.target);
    w.bytes(SALT, &c.salt);
    w.bytes(HASH, &c.hash);
}

pub(crate) fn read_set_credential(r: &Rd<'_>) -> SetCredential {
    use layout::set_credential::*;
    SetCredential { target: r.u32(TARGET), salt: r.bytes(SALT), hash: r.bytes(HASH) }
}

pub(crate) fn write_revoke_credential(c: &RevokeCredential, w: &mut Wr<'_>) {
    w.u32(layout::revoke_credential::TARGET, c.target);
}

pub(crate) fn read_revoke_credential(r: &Rd<'_>) -> RevokeCredential {
    RevokeCredential { target: r.u32(layout::revoke_credential::TARGET) }
}

pub(crate) fn write_credential_changed(seq: u64, e: &CredentialReport, w: &mut Wr<'_>) {
    use layout::credential_changed::*;
    w.u64(SEQ, seq);
    w.u32(ACCOUNT, e.account);
    w.u32(TARGET, e.target);
    w.u64(FINGERPRINT, e.fingerprint);
    w.u8(COMMAND, e.command as u8);
}

pub(crate) fn read_credential_changed(r: &Rd<'_>) -> Result<CredentialReport, DecodeError> {
    use layout::credential_changed::*;
    let command = enum_at(r, template::CREDENTIAL_CHANGED, "command", COMMAND, |b| {
        command_type_from_u8(b).filter(|c| matches!(c, CommandType::SetCredential | CommandType::RevokeCredential))
    })?;
    Ok(CredentialReport { account: r.u32(ACCOUNT), command, target: r.u32(TARGET), fingerprint: r.u64(FINGERPRINT) })
}

pub(crate) fn write_create_account(c: &CreateAccount, w: &mut Wr<'_>) {
    use layout::create_account::*;
    w.u32(TARGET, c.target);
    w.u8(STATUS, c.status.as_u8());
    w.u8(TIER, c.tier);
}

pub(crate) fn read_create_account(r: &Rd<'_>) -> Result<CreateAccount, DecodeError> {
    use layout::create_account::*;
    let status = enum_at(r, template::CREATE_ACCOUNT, "status", STATUS, AccountStatus::from_u8)?;
    Ok(CreateAccount { target: r.u32(TARGET), tier: r.u8(TIER), status })
}

pub(crate) fn write_transfer(t: &Transfer, w: &mut Wr<'_>) {
    use layout::transfer::*;
    w.u64(AMOUNT, t.amount);
    w.u64(TX_ID, t.tx_id);
    w.u32(TARGET, t.target);
    w.u32(ASSET, t.asset);
}

pub(crate) fn read_transfer(r: &Rd<'_>) -> Transfer {
    use layout::transfer::*;
    Transfer { target: r.u32(TARGET), asset: r.u32(ASSET), amount: r.u64(AMOUNT), tx_id: r.u64(TX_ID) }
}

pub(crate) fn write_set_account_status(c: &SetAccountStatus, w: &mut Wr<'_>) {
    use layout::set_account_status::*;
    w.u32(TARGET, c.target);
    w.u8(STATUS, c.status.as_u8());
    w.u8(TIER, c.tier);
}

pub(crate) fn read_set_account_status(r: &Rd<'_>) -> Result<SetAccountStatus, DecodeError> {
    use layout::set_account_status::*;
    let status = enum_at(r, template::SET_ACCOUNT_STATUS, "status", STATUS, AccountStatus::from_u8)?;
    Ok(SetAccountStatus { target: r.u32(TARGET), status, tier: r.u8(TIER) })
}

fn write_fee_fields(s: &SetFeeSchedule, w: &mut Wr<'_>, at: [usize; 4]) {
    w.u32(at[0], s.instrument);
    w.i32(at[1], s.maker_ppm);
    w.i32(at[2], s.taker_ppm);
    w.u8(at[3], s.tier);
}

fn read_fee_fields(r: &Rd<'_>, at: [usize; 4]) -> SetFeeSchedule {
    SetFeeSchedule { instrument: r.u32(at[0]), maker_ppm: r.i32(at[1]), taker_ppm: r.i32(at[2]), tier: r.u8(at[3]) }
}

const FEE_REQUEST: [usize; 4] = {
    use layout::set_fee_schedule::*;
    [INSTRUMENT, MAKER_PPM, TAKER_PPM, TIER]
};

const FEE_REPORT: [usize; 4] = {
    use layout::fee_schedule_set::*;
    [INSTRUMENT, MAKER_PPM, TAKER_PPM, TIER]
};

pub(crate) fn write_set_fee_schedule(s: &SetFeeSchedule, w: &mut Wr<'_>) {
    write_fee_fields(s, w, FEE_REQUEST);
}

pub(crate) fn read_set_fee_schedule(r: &Rd<'_>) -> SetFeeSchedule {
    read_fee_fields(r, FEE_REQUEST)
}

pub(crate) fn write_query_account(q: &QueryAccount, w: &mut Wr<'_>) {
    w.u32(layout::query_account::TARGET, q.target);
}

pub(crate) fn read_query_account(r: &Rd<'_>) -> QueryAccount {
    QueryAccount { target: r.u32(layout::query_account::TARGET) }
}

pub(crate) fn write_balance_changed(seq: u64, e: &BalanceUpdate, w: &mut Wr<'_>) {
    use layout::balance_changed::*;
    w.u64(SEQ, seq);
    w.u32(ACCOUNT, e.change.account);
    w.u32(ASSET, e.change.asset);
    w.u64(AVAILABLE, e.change.available);
    w.u64(RESERVED_AMOUNT, e.change.reserved);
    w.u64(COMMAND_SEQ, e.command_seq);
    w.u8(REASON, e.change.reason.as_u8());
}

pub(crate) fn read_balance_changed(r: &Rd<'_>) -> Result<BalanceUpdate, DecodeError> {
    use layout::balance_changed::*;
    let reason = enum_at(r, template::BALANCE_CHANGED, "reason", REASON, BalanceReason::from_u8)?;
    Ok(BalanceUpdate {
        change: BalanceChanged {
            account: r.u32(ACCOUNT),
            asset: r.u32(ASSET),
            available: r.u64(AVAILABLE),
            reserved: r.u64(RESERVED_AMOUNT),
            reason,
        },
        command_seq: r.u64(COMMAND_SEQ),
    })
}

pub(crate) fn write_account_updated(seq: u64, e: &AccountUpdated, w: &mut Wr<'_>) {
    use layout::account_updated::*;
    w.u64(SEQ, seq);
    w.u32(ACCOUNT, e.account);
    w.u32(TARGET, e.target);
    w.u8(COMMAND, e.command as u8);
    w.u8(STATUS, e.status.as_u8());
    w.u8(TIER, e.tier);
}

pub(crate) fn read_account_updated(r: &Rd<'_>) -> Result<AccountUpdated, DecodeError> {
    use layout::account_updated::*;
    let t = template::ACCOUNT_UPDATED;
    Ok(AccountUpdated {
        account: r.u32(ACCOUNT),
        command: enum_at(r, t, "command", COMMAND, command_type_from_u8)?,
        target: r.u32(TARGET),
        status: enum_at(r, t, "status", STATUS, AccountStatus::from_u8)?,
        tier: r.u8(TIER),
    })
}

pub(crate) fn write_transfer_applied(seq: u64, e: &TransferApplied, w: &mut Wr<'_>) {
    use layout::transfer_applied::*;
    w.u64(SEQ, seq);
    w.u32(ACCOUNT, e.account);
    w.u32(TARGET, e.target);
    w.u64(AMOUNT, e.amount);
    w.u64(TX_ID, e.tx_id);
    w.u64(AVAILABLE, e.available);
    w.u32(ASSET, e.asset);
    w.u8(COMMAND, e.command as u8);
}

pub(crate) fn read_transfer_applied(r: &Rd<'_>) -> Result<TransferApplied, DecodeError> {
    use layout::transfer_applied::*;
    Ok(TransferApplied {
        account: r.u32(ACCOUNT),
        command: enum_at(r, template::TRANSFER_APPLIED, "command", COMMAND, command_type_from_u8)?,
        target: r.u32(TARGET),
        asset: r.u32(ASSET),
        amount: r.u64(AMOUNT),
        tx_id: r.u64(TX_ID),
        available: r.u64(AVAILABLE),
    })
}

pub(crate) fn write_fee_schedule_set(seq: u64, e: &FeeScheduleSet, w: &mut Wr<'_>) {
    use layout::fee_schedule_set::*;
    w.u64(SEQ, seq);
    w.u32(ACCOUNT, e.account);
    write_fee_fields(&e.schedule, w, FEE_REPORT);
}

pub(crate) fn read_fee_schedule_set(r: &Rd<'_>) -> FeeScheduleSet {
    FeeScheduleSet { account: r.u32(layout::fee_schedule_set::ACCOUNT), schedule: read_fee_fields(r, FEE_REPORT) }
}

pub(crate) fn write_account_balance(seq: u64, e: &AccountBalance, w: &mut Wr<'_>) {
    use layout::account_balance::*;
    w.u64(SEQ, seq);
    w.u32(ACCOUNT, e.account);
    w.u32(TARGET, e.target);
    w.u64(AVAILABLE, e.available);
    w.u64(RESERVED_AMOUNT, e.reserved);
    w.u32(ASSET, e.asset);
}

pub(crate) fn read_account_balance(r: &Rd<'_>) -> AccountBalance {
    use layout::account_balance::*;
    AccountBalance {
        account: r.u32(ACCOUNT),
        target: r.u32(TARGET),
        asset: r.u32(ASSET),
        available: r.u64(AVAILABLE),
        reserved: r.u64(RESERVED_AMOUNT),
    }
}

pub(crate) fn write_open_order(seq: u64, e: &OpenOrder, w: &mut Wr<'_>) {
    use layout::open_order::*;
    let o = &e.order;
    w.u64(SEQ, seq);
    w.u32(ACCOUNT, e.account);
    w.u32(TARGET, o.account);
    w.u64(ORDER_ID, o.order_id);
    w.u64(CLIENT_ORDER_ID, o.client_order_id);
    w.u64(PRICE, o.price);
    w.u64(QTY, o.qty);
    w.u64(LEAVES_QTY, o.leaves);
    w.u32(INSTRUMENT, o.instrument);
    w.u8(SIDE, o.side.as_u8());
    w.u8(TIF, o.tif.as_u8());
    w.u8(STP, o.stp.as_u8());
}

pub(crate) fn read_open_order(r: &Rd<'_>) -> Result<OpenOrder, DecodeError> {
    use layout::open_order::*;
    let t = template::OPEN_ORDER;
    Ok(OpenOrder {
        account: r.u32(ACCOUNT),
        order: OrderView {
            order_id: r.u64(ORDER_ID),
            client_order_id: r.u64(CLIENT_ORDER_ID),
            account: r.u32(TARGET),
            instrument: r.u32(INSTRUMENT),
            side: enum_at(r, t, "side", SIDE, Side::from_u8)?,
            price: r.u64(PRICE),
            qty: r.u64(QTY),
            leaves: r.u64(LEAVES_QTY),
            tif: enum_at(r, t, "tif", TIF, TimeInForce::from_u8)?,
            stp: enum_at(r, t, "stp", STP, StpMode::from_u8)?,
        },
    })
}

pub(crate) fn write_query_done(seq: u64, e: &QueryComplete, w: &mut Wr<'_>) {
    use layout::query_done::*;
    w.u64(SEQ, seq);
    w.u32(ACCOUNT, e.done.account);
    w.u32(TARGET, e.done.target);
    w.u64(COMMAND_SEQ, e.command_seq);
    w.u32(BALANCES, e.done.balances);
    w.u32(ORDERS, e.done.orders);
    w.u8(STATUS, e.done.status.as_u8());
    w.u8(TIER, e.done.tier);
}

pub(crate) fn read_query_done(r: &Rd<'_>) -> Result<QueryComplete, DecodeError> {
    use layout::query_done::*;
    let status = enum_at(r, template::QUERY_DONE, "status", STATUS, AccountStatus::from_u8)?;
    Ok(QueryComplete {
        done: QueryDone {
            account: r.u32(ACCOUNT),
            target: r.u32(TARGET),
            status,
            tier: r.u8(TIER),
            balances: r.u32(BALANCES),
            orders: r.u32(ORDERS),
        },
        command_seq: r.u64(COMMAND_SEQ),
    })
}
