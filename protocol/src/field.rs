//! Reading typed fields out of a block: the header check every decoder starts with, enum and
//! flag bytes that refuse values outside their set, and the engine command-type byte.

use engine::CommandType;

use crate::error::DecodeError;
use crate::frame::{Header, Rd, SCHEMA_ID};

/// Checks the header against the frame and the template's known block length; returns the block.
pub(crate) fn check<'a>(h: &Header, body: &'a [u8], known_len: Option<usize>) -> Result<Rd<'a>, DecodeError> {
    let template_id = h.template_id;
    if h.schema_id != SCHEMA_ID {
        return Err(DecodeError::UnknownSchema { template_id, schema_id: h.schema_id });
    }
    if h.version == 0 {
        return Err(DecodeError::UnsupportedVersion { template_id, version: h.version });
    }
    let Some(min) = known_len else {
        return Err(DecodeError::UnknownTemplate { template_id });
    };
    if body.len() != h.block_length as usize {
        return Err(DecodeError::LengthMismatch { template_id, block_length: h.block_length, body_len: body.len() });
    }
    if body.len() < min {
        return Err(DecodeError::BlockTooShort { template_id, block_length: h.block_length, min: min as u16 });
    }
    Ok(Rd(body))
}

pub(crate) fn bad(template_id: u16, field: &'static str, offset: usize, value: u64) -> DecodeError {
    DecodeError::BadField { template_id, field, offset: offset as u16, value }
}

pub(crate) fn enum_at<T>(
    r: &Rd<'_>,
    template_id: u16,
    field: &'static str,
    offset: usize,
    from: impl Fn(u8) -> Option<T>,
) -> Result<T, DecodeError> {
    let v = r.u8(offset);
    from(v).ok_or(bad(template_id, field, offset, v as u64))
}

pub(crate) fn bool_from_u8(b: u8) -> Option<bool> {
    match b {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

pub(crate) fn flags_at(r: &Rd<'_>, template_id: u16, offset: usize, known: u8) -> Result<u8, DecodeError> {
    let v = r.u8(offset);
    if v & !known != 0 {
        return Err(bad(template_id, "flags", offset, v as u64));
    }
    Ok(v)
}

/// Wire byte of an engine [`CommandType`].
pub fn command_type_to_u8(c: CommandType) -> u8 {
    c as u8
}

/// Engine [`CommandType`] from its wire byte.
pub fn command_type_from_u8(b: u8) -> Option<CommandType> {
    Some(match b {
        1 => CommandType::NewOrder,
        2 => CommandType::Cancel,
        3 => CommandType::Amend,
        4 => CommandType::MassCancel,
        5 => CommandType::AddInstrument,
        6 => CommandType::SetInstrumentState,
        7 => CommandType::CreateAccount,
        8 => CommandType::Deposit,
        9 => CommandType::Withdraw,
        10 => CommandType::SetAccountStatus,
        11 => CommandType::SetFeeSchedule,
        12 => CommandType::QueryAccount,
        13 => CommandType::SetCredential,
        14 => CommandType::RevokeCredential,
        15 => CommandType::NewStopOrder,
        16 => CommandType::NewAdvancedOrder,
        17 => CommandType::AmendTrigger,
        18 => CommandType::NewOrderList,
        19 => CommandType::AddPerpetual,
        20 => CommandType::SetRiskTier,
        21 => CommandType::SetLeverage,
        22 => CommandType::SetMarginMode,
        23 => CommandType::AdjustIsolatedMargin,
        24 => CommandType::MarginDeposit,
        25 => CommandType::MarginWithdraw,
        26 => CommandType::MarginDebit,
        27 => CommandType::WalletTransfer,
        28 => CommandType::SetMarkPrice,
        29 => CommandType::ApplyFunding,
        _ => return None,
    })
}
