//! Administration: sent on a session logged in with [`super::Role::Admin`]. `AddInstrument` and
//! `SetInstrumentState` become engine commands; the engine's `InstrumentAdded`,
//! `InstrumentStateChanged` (and `Rejected` for admin commands) come back as sequenced reports on
//! the admin account's stream (see [`super::ExecReport`]).

use engine::{InstrumentAdded, InstrumentSpec, InstrumentState, InstrumentStateChanged, SetInstrumentState};

use crate::error::DecodeError;
use crate::field::enum_at;
use crate::frame::{Rd, Wr};
use crate::layout;
use crate::template;

/// Writes an [`InstrumentSpec`] block (layout [`layout::instrument_spec`]).
pub(crate) fn write_spec(s: &InstrumentSpec, w: &mut Wr<'_>) {
    use layout::instrument_spec::*;
    w.u32(ID, s.id);
    w.u32(BASE_ASSET, s.base_asset);
    w.u32(QUOTE_ASSET, s.quote_asset);
    w.u32(PRICE_BAND_BPS, s.price_band_bps);
    w.bytes(SYMBOL, &s.symbol);
    w.u64(TICK, s.tick);
    w.u64(LOT, s.lot);
    w.u64(MIN_QTY, s.min_qty);
    w.u64(MAX_QTY, s.max_qty);
    w.u64(MIN_NOTIONAL, s.min_notional);
    w.u64(REFERENCE_PRICE, s.reference_price);
    w.u64(QTY_SCALE, s.qty_scale);
}

/// Reads an [`InstrumentSpec`] block. The engine validates the values.
pub(crate) fn read_spec(r: &Rd<'_>) -> InstrumentSpec {
    use layout::instrument_spec::*;
    InstrumentSpec {
        id: r.u32(ID),
        symbol: r.bytes(SYMBOL),
        base_asset: r.u32(BASE_ASSET),
        quote_asset: r.u32(QUOTE_ASSET),
        tick: r.u64(TICK),
        lot: r.u64(LOT),
        min_qty: r.u64(MIN_QTY),
        max_qty: r.u64(MAX_QTY),
        min_notional: r.u64(MIN_NOTIONAL),
        price_band_bps: r.u32(PRICE_BAND_BPS),
        reference_price: r.u64(REFERENCE_PRICE),
        qty_scale: r.u64(QTY_SCALE),
    }
}

pub(crate) fn write_set_state(s: &SetInstrumentState, w: &mut Wr<'_>) {
    use layout::set_instrument_state::*;
    w.u32(INSTRUMENT, s.instrument);
    w.u8(STATE, s.state.as_u8());
}

pub(crate) fn read_set_state(r: &Rd<'_>) -> Result<SetInstrumentState, DecodeError> {
    use layout::set_instrument_state::*;
    let state = enum_at(r, template::SET_INSTRUMENT_STATE, "state", STATE, InstrumentState::from_u8)?;
    Ok(SetInstrumentState { instrument: r.u32(INSTRUMENT), state })
}

pub(crate) fn write_instrument_added(seq: u64, e: &InstrumentAdded, w: &mut Wr<'_>) {
    use layout::instrument_added::*;
    w.u64(SEQ, seq);
    w.u32(ACCOUNT, e.account);
    w.u8(PERPETUAL, e.perpetual as u8);
    write_spec(&e.spec, &mut w.from(SPEC));
}

pub(crate) fn read_instrument_added(r: &Rd<'_>) -> InstrumentAdded {
    use layout::instrument_added::*;
    InstrumentAdded { account: r.u32(ACCOUNT), spec: read_spec(&r.from(SPEC)), perpetual: r.u8(PERPETUAL) != 0 }
}

pub(crate) fn write_state_changed(seq: u64, e: &InstrumentStateChanged, w: &mut Wr<'_>) {
    use layout::instrument_state_changed::*;
    w.u64(SEQ, seq);
    w.u32(ACCOUNT, e.account);
    w.u32(INSTRUMENT, e.instrument);
    w.u8(STATE, e.state.as_u8());
}

pub(crate) fn read_state_changed(r: &Rd<'_>) -> Result<InstrumentStateChanged, DecodeError> {
    use layout::instrument_state_changed::*;
    let state = enum_at(r, template::INSTRUMENT_STATE_CHANGED, "state", STATE, InstrumentState::from_u8)?;
    Ok(InstrumentStateChanged { account: r.u32(ACCOUNT), instrument: r.u32(INSTRUMENT), state })
}
