//! Order entry (client → server), in the spirit of OUCH. The blocks decode straight into the
//! engine's command structs ([`engine::NewOrder`], [`engine::Cancel`], [`engine::Amend`],
//! [`engine::MassCancel`]); the engine validates the values (tick, lot, band ...), the decoder
//! only the enums and flags.

use engine::{
    AdvancedOrder, Amend, AmendTrigger, Cancel, ListKind, ListLeg, MassCancel, NewOrder, OrderList, OrderRef,
    OrderType, Side, StopOrder, StpMode, TimeInForce, TrailUnit, Trailing, TriggerKind, TriggerSource,
};

use crate::error::DecodeError;
use crate::field::{bad, enum_at, flags_at};
use crate::frame::{Rd, Wr};
use crate::layout;
use crate::template;

/// `REF_KIND`: the reference is an engine order id.
pub const REF_ENGINE: u8 = 1;
/// `REF_KIND`: the reference is a client order id (among the account's live orders).
pub const REF_CLIENT: u8 = 2;
/// `Amend` flag: `NEW_QTY` is present.
pub const AMEND_HAS_QTY: u8 = 1;
/// `Amend` flag: `NEW_PRICE` is present.
pub const AMEND_HAS_PRICE: u8 = 2;
/// `MassCancel` flag: only the named instrument.
pub const MASS_CANCEL_HAS_INSTRUMENT: u8 = 1;
/// `MassCancel` side value: both sides.
pub const SIDE_BOTH: u8 = 0;

fn ref_parts(r: OrderRef) -> (u8, u64) {
    match r {
        OrderRef::Engine(id) => (REF_ENGINE, id),
        OrderRef::Client(id) => (REF_CLIENT, id),
    }
}

fn read_ref(r: &Rd<'_>, template_id: u16, kind_at: usize, value_at: usize) -> Result<OrderRef, DecodeError> {
    let v = r.u64(value_at);
    match r.u8(kind_at) {
        REF_ENGINE => Ok(OrderRef::Engine(v)),
        REF_CLIENT => Ok(OrderRef::Client(v)),
        k => Err(bad(template_id, "ref_kind", kind_at, k as u64)),
    }
}

pub(crate) fn write_new_order(o: &NewOrder, w: &mut Wr<'_>) {
    use layout::new_order::*;
    w.u64(CLIENT_ORDER_ID, o.client_order_id);
    w.u64(PRICE, o.price);
    w.u64(QTY, o.qty);
    w.u32(INSTRUMENT, o.instrument);
    w.u8(SIDE, o.side.as_u8());
    w.u8(ORDER_TYPE, o.order_type.as_u8());
    w.u8(TIF, o.tif.as_u8());
    w.u8(STP, o.stp.as_u8());
}

pub(crate) fn read_new_order(r: &Rd<'_>) -> Result<NewOrder, DecodeError> {
    read_order_fields(r, template::NEW_ORDER)
}

/// The `NewOrder` fields of a `NewOrder` or `NewStopOrder` block (errors name template `t`).
fn read_order_fields(r: &Rd<'_>, t: u16) -> Result<NewOrder, DecodeError> {
    use layout::new_order::*;
    Ok(NewOrder {
        client_order_id: r.u64(CLIENT_ORDER_ID),
        instrument: r.u32(INSTRUMENT),
        side: enum_at(r, t, "side", SIDE, Side::from_u8)?,
        order_type: enum_at(r, t, "order_type", ORDER_TYPE, OrderType::from_u8)?,
        tif: enum_at(r, t, "tif", TIF, TimeInForce::from_u8)?,
        stp: enum_at(r, t, "stp", STP, StpMode::from_u8)?,
        price: r.u64(PRICE),
        qty: r.u64(QTY),
    })
}

// The two blocks share their first 32 bytes, so one writer and reader serve both.
const _: () = {
    use layout::{new_order as n, new_stop_order as s};
    assert!(n::CLIENT_ORDER_ID == s::CLIENT_ORDER_ID && n::PRICE == s::PRICE && n::QTY == s::QTY);
    assert!(n::INSTRUMENT == s::INSTRUMENT && n::SIDE == s::SIDE && n::ORDER_TYPE == s::ORDER_TYPE);
    assert!(n::TIF == s::TIF && n::STP == s::STP && n::BLOCK_LEN == s::TRIGGER_PRICE);
};

pub(crate) fn write_stop_order(s: &StopOrder, w: &mut Wr<'_>) {
    use layout::new_stop_order::*;
    write_new_order(&s.order, w);
    w.u64(TRIGGER_PRICE, s.trigger_price);
    w.u8(TRIGGER, s.trigger.as_u8());
}

pub(crate) fn read_stop_order(r: &Rd<'_>) -> Result<StopOrder, DecodeError> {
    use layout::new_stop_order::*;
    let t = template::NEW_STOP_ORDER;
    let order = read_order_fields(r, t)?;
    Ok(StopOrder {
        order,
        trigger_price: r.u64(TRIGGER_PRICE),
        trigger: enum_at(r, t, "trigger", TRIGGER, TriggerKind::from_u8)?,
    })
}

// `NewAdvancedOrder` shares them too.
const _: () = {
    use layout::{new_advanced_order as a, new_order as n};
    assert!(n::CLIENT_ORDER_ID == a::CLIENT_ORDER_ID && n::PRICE == a::PRICE && n::QTY == a::QTY);
    assert!(n::INSTRUMENT == a::INSTRUMENT && n::SIDE == a::SIDE && n::ORDER_TYPE == a::ORDER_TYPE);
    assert!(n::TIF == a::TIF && n::STP == a::STP && n::BLOCK_LEN == a::EXPIRE_TIME_NS);
};

/// `NewAdvancedOrder.TRIGGER`: no trigger (the order is placed now).
pub const TRIGGER_NONE: u8 = 0;
/// `NewAdvancedOrder.TRAIL_UNIT`: no trailing (the trigger price is fixed).
pub const TRAIL_UNIT_NONE: u8 = 0;
/// `NewAdvancedOrder.FLAGS`: reduce-only (perpetuals).
pub const ADVANCED_FLAG_REDUCE_ONLY: u8 = 1;
/// `NewAdvancedOrder.FLAGS`: close-position (perpetuals).
pub const ADVANCED_FLAG_CLOSE_POSITION: u8 = 2;

pub(crate) fn write_advanced_order(a: &AdvancedOrder, w: &mut Wr<'_>) {
    use layout::new_advanced_order::*;
    write_new_order(&a.order, w);
    w.u64(EXPIRE_TIME_NS, a.expire_time_ns);
    w.u64(QUOTE_QTY, a.quote_qty);
    let (price, trigger) = a.trigger.map_or((0, TRIGGER_NONE), |(p, k)| (p, k.as_u8()));
    w.u64(TRIGGER_PRICE, price);
    w.u8(TRIGGER, trigger);
    let (unit, delta) = a.trailing.map_or((TRAIL_UNIT_NONE, 0), |t| (t.unit.as_u8(), t.delta));
    w.u8(TRAIL_UNIT, unit);
    w.u32(TRAIL_DELTA, delta);
    w.u64(DISPLAY_QTY, a.display_qty);
    let flags =
        (a.reduce_only as u8 * ADVANCED_FLAG_REDUCE_ONLY) | (a.close_position as u8 * ADVANCED_FLAG_CLOSE_POSITION);
    w.u8(FLAGS, flags);
    w.u8(TRIGGER_SOURCE, a.trigger_source.as_u8());
}

pub(crate) fn read_advanced_order(r: &Rd<'_>) -> Result<AdvancedOrder, DecodeError> {
    use layout::new_advanced_order::*;
    let t = template::NEW_ADVANCED_ORDER;
    let order = read_order_fields(r, t)?;
    let trigger_price = r.u64(TRIGGER_PRICE);
    let trigger = match r.u8(TRIGGER) {
        TRIGGER_NONE if trigger_price == 0 => None,
        // A trigger price without a trigger kind: the kind is what is missing.
        TRIGGER_NONE => return Err(bad(t, "trigger", TRIGGER, TRIGGER_NONE as u64)),
        _ => Some((trigger_price, enum_at(r, t, "trigger", TRIGGER, TriggerKind::from_u8)?)),
    };
    let delta = r.u32(TRAIL_DELTA);
    let trailing = match r.u8(TRAIL_UNIT) {
        TRAIL_UNIT_NONE if delta == 0 => None,
        // A delta without a unit: the unit is what is missing.
        TRAIL_UNIT_NONE => return Err(bad(t, "trail_unit", TRAIL_UNIT, TRAIL_UNIT_NONE as u64)),
        _ => Some(Trailing { delta, unit: enum_at(r, t, "trail_unit", TRAIL_UNIT, TrailUnit::from_u8)? }),
    };
    let flags = flags_at(r, t, FLAGS, ADVANCED_FLAG_REDUCE_ONLY | ADVANCED_FLAG_CLOSE_POSITION)?;
    Ok(AdvancedOrder {
        order,
        expire_time_ns: r.u64(EXPIRE_TIME_NS),
        quote_qty: r.u64(QUOTE_QTY),
        trigger,
        display_qty: r.u64(DISPLAY_QTY),
        trailing,
        reduce_only: flags & ADVANCED_FLAG_REDUCE_ONLY != 0,
        close_position: flags & ADVANCED_FLAG_CLOSE_POSITION != 0,
        trigger_source: enum_at(r, t, "trigger_source", TRIGGER_SOURCE, TriggerSource::from_u8)?,
    })
}

pub(crate) fn write_order_list(l: &OrderList, w: &mut Wr<'_>) {
    use layout::new_order_list::*;
    w.u64(CLIENT_ORDER_ID, l.client_order_id);
    w.u32(INSTRUMENT, l.instrument);
    w.u8(KIND, l.kind.as_u8());
    w.u8(STP, l.stp.as_u8());
    if l.has_working() {
        w.u8(WORKING_SIDE, l.working_side.as_u8());
        w.u8(WORKING_TIF, l.working_tif.as_u8());
        w.u64(WORKING_PRICE, l.working_price);
        w.u64(WORKING_QTY, l.working_qty);
    }
    w.u8(SIDE, l.side.as_u8());
    w.u64(QTY, l.qty);
    let at = [
        (LEG0_TYPE, LEG0_TIF, LEG0_TRIGGER, LEG0_PRICE, LEG0_TRIGGER_PRICE),
        (LEG1_TYPE, LEG1_TIF, LEG1_TRIGGER, LEG1_PRICE, LEG1_TRIGGER_PRICE),
    ];
    for (k, &(ty, tif, trigger, price, trigger_price)) in at.iter().enumerate().take(l.contingent_legs()) {
        let leg = l.leg(k);
        w.u8(ty, leg.order_type.as_u8());
        w.u8(tif, leg.tif.as_u8());
        let (p, t) = leg.trigger.map_or((0, TRIGGER_NONE), |(p, t)| (p, t.as_u8()));
        w.u8(trigger, t);
        w.u64(price, leg.price);
        w.u64(trigger_price, p);
    }
}

pub(crate) fn read_order_list(r: &Rd<'_>) -> Result<OrderList, DecodeError> {
    use layout::new_order_list::*;
    let t = template::NEW_ORDER_LIST;
    let kind = enum_at(r, t, "kind", KIND, ListKind::from_u8)?;
    let at = [
        (LEG0_TYPE, LEG0_TIF, LEG0_TRIGGER, LEG0_PRICE, LEG0_TRIGGER_PRICE),
        (LEG1_TYPE, LEG1_TIF, LEG1_TRIGGER, LEG1_PRICE, LEG1_TRIGGER_PRICE),
    ];
    let mut legs = [ListLeg { order_type: OrderType::Limit, tif: TimeInForce::Gtc, price: 0, trigger: None }; 2];
    let n = if kind == ListKind::Oto { 1 } else { 2 };
    for (k, &(ty, tif, trigger, price, trigger_price)) in at.iter().enumerate().take(n) {
        let trigger = match r.u8(trigger) {
            TRIGGER_NONE => None,
            _ => Some((r.u64(trigger_price), enum_at(r, t, "leg_trigger", trigger, TriggerKind::from_u8)?)),
        };
        legs[k] = ListLeg {
            order_type: enum_at(r, t, "leg_type", ty, OrderType::from_u8)?,
            tif: enum_at(r, t, "leg_tif", tif, TimeInForce::from_u8)?,
            price: r.u64(price),
            trigger,
        };
    }
    let working = || -> Result<_, DecodeError> {
        Ok((
            enum_at(r, t, "working_side", WORKING_SIDE, Side::from_u8)?,
            enum_at(r, t, "working_tif", WORKING_TIF, TimeInForce::from_u8)?,
            r.u64(WORKING_PRICE),
            r.u64(WORKING_QTY),
        ))
    };
    let (cid, instrument, qty) = (r.u64(CLIENT_ORDER_ID), r.u32(INSTRUMENT), r.u64(QTY));
    let side = enum_at(r, t, "side", SIDE, Side::from_u8)?;
    let mut l = match kind {
        ListKind::Oco => OrderList::oco(cid, instrument, side, qty, legs),
        ListKind::Oto => OrderList::oto(cid, instrument, working()?, side, qty, legs[0]),
        ListKind::Otoco => OrderList::otoco(cid, instrument, working()?, side, qty, legs),
    };
    l.stp = enum_at(r, t, "stp", STP, StpMode::from_u8)?;
    Ok(l)
}

pub(crate) fn write_amend_trigger(a: &AmendTrigger, w: &mut Wr<'_>) {
    use layout::amend_trigger::*;
    let (kind, v) = ref_parts(a.order);
    w.u64(ORDER_REF, v);
    w.u64(TRIGGER_PRICE, a.trigger_price);
    w.u8(REF_KIND, kind);
}

pub(crate) fn read_amend_trigger(r: &Rd<'_>) -> Result<AmendTrigger, DecodeError> {
    use layout::amend_trigger::*;
    Ok(AmendTrigger {
        order: read_ref(r, template::AMEND_TRIGGER, REF_KIND, ORDER_REF)?,
        trigger_price: r.u64(TRIGGER_PRICE),
    })
}

pub(crate) fn write_cancel(c: &Cancel, w: &mut Wr<'_>) {
    use layout::cancel::*;
    let (kind, v) = ref_parts(c.order);
    w.u64(ORDER_REF, v);
    w.u8(REF_KIND, kind);
}

pub(crate) fn read_cancel(r: &Rd<'_>) -> Result<Cancel, DecodeError> {
    use layout::cancel::*;
    Ok(Cancel { order: read_ref(r, template::CANCEL, REF_KIND, ORDER_REF)? })
}

pub(crate) fn write_amend(a: &Amend, w: &mut Wr<'_>) {
    use layout::amend::*;
    let (kind, v) = ref_parts(a.order);
    w.u64(ORDER_REF, v);
    w.u64(NEW_QTY, a.new_qty.unwrap_or(0));
    w.u64(NEW_PRICE, a.new_price.unwrap_or(0));
    w.u8(REF_KIND, kind);
    let flags =
        if a.new_qty.is_some() { AMEND_HAS_QTY } else { 0 } | if a.new_price.is_some() { AMEND_HAS_PRICE } else { 0 };
    w.u8(FLAGS, flags);
}

pub(crate) fn read_amend(r: &Rd<'_>) -> Result<Amend, DecodeError> {
    use layout::amend::*;
    let t = template::AMEND;
    let order = read_ref(r, t, REF_KIND, ORDER_REF)?;
    let flags = flags_at(r, t, FLAGS, AMEND_HAS_QTY | AMEND_HAS_PRICE)?;
    Ok(Amend {
        order,
        new_qty: (flags & AMEND_HAS_QTY != 0).then(|| r.u64(NEW_QTY)),
        new_price: (flags & AMEND_HAS_PRICE != 0).then(|| r.u64(NEW_PRICE)),
    })
}

pub(crate) fn write_mass_cancel(m: &MassCancel, w: &mut Wr<'_>) {
    use layout::mass_cancel::*;
    w.u32(INSTRUMENT, m.instrument.unwrap_or(0));
    w.u8(SIDE, m.side.map_or(SIDE_BOTH, Side::as_u8));
    w.u8(FLAGS, if m.instrument.is_some() { MASS_CANCEL_HAS_INSTRUMENT } else { 0 });
}

pub(crate) fn read_mass_cancel(r: &Rd<'_>) -> Result<MassCancel, DecodeError> {
    use layout::mass_cancel::*;
    let t = template::MASS_CANCEL;
    let side = match r.u8(SIDE) {
        SIDE_BOTH => None,
        s => Some(Side::from_u8(s).ok_or(bad(t, "side", SIDE, s as u64))?),
    };
    let flags = flags_at(r, t, FLAGS, MASS_CANCEL_HAS_INSTRUMENT)?;
    Ok(MassCancel { instrument: (flags & MASS_CANCEL_HAS_INSTRUMENT != 0).then(|| r.u32(INSTRUMENT)), side })
}

/// Best-effort client order id of a (possibly malformed) order-entry block, for
/// `SessionReject::client_order_id`: the `NewOrder`'s own id, or the target of a `Cancel`/`Amend`
/// by client order id; 0 when absent or unreadable.
pub fn peek_client_order_id(template_id: u16, body: &[u8]) -> u64 {
    let r = Rd(body);
    let (need, kind_at, value_at) = match template_id {
        template::NEW_ORDER_LIST => {
            let at = layout::new_order_list::CLIENT_ORDER_ID;
            return if body.len() >= at + 8 { r.u64(at) } else { 0 };
        }
        template::NEW_ORDER | template::NEW_STOP_ORDER | template::NEW_ADVANCED_ORDER => {
            let at = layout::new_order::CLIENT_ORDER_ID;
            return if body.len() >= at + 8 { r.u64(at) } else { 0 };
        }
        template::CANCEL => (layout::cancel::BLOCK_LEN, layout::cancel::REF_KIND, layout::cancel::ORDER_REF),
        template::AMEND => (layout::amend::BLOCK_LEN, layout::amend::REF_KIND, layout::amend::ORDER_REF),
        template::AMEND_TRIGGER => {
            (layout::amend_trigger::BLOCK_LEN, layout::amend_trigger::REF_KIND, layout::amend_trigger::ORDER_REF)
        }
        _ => return 0,
    };
    if body.len() >= need && r.u8(kind_at) == REF_CLIENT {
        r.u64(value_at)
    } else {
        0
    }
}
