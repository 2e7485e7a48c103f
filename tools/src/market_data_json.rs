//! Market-data messages and rebuilt books as JSON objects: what `matchd-md --json` prints, one
//! per line. As in [`crate::order_entry_json`]: `type` is the message's name in
//! docs/protocol.md, every other key one of its fields under its protocol name, a flags byte as
//! one boolean per bit, enum values by their protocol names, integers by the rule of
//! [`crate::json_value`].

use client::md_client::Book;
use engine::{InstrumentId, Side};
use protocol::{MdLevel, MdServerMessage};
use serde_json::{json, Value};

use crate::json_value::{int, protocol_name as name};
use crate::order_entry_json::spec;

/// One market-data message as a JSON object.
pub fn md_message(msg: &MdServerMessage) -> Value {
    match msg {
        MdServerMessage::Heartbeat => json!({ "type": "Heartbeat" }),
        MdServerMessage::Logout(l) => json!({ "type": "Logout", "reason": name(l.reason) }),
        MdServerMessage::SessionReject(r) => json!({
            "type": "SessionReject", "ref_template_id": int(r.ref_template_id), "reason": name(r.reason),
            "field_offset": r.field_offset.map(int), "client_order_id": int(r.client_order_id),
        }),
        MdServerMessage::SubscribeAccepted(a) => json!({
            "type": "MdSubscribeAccepted", "feed_epoch": int(a.feed_epoch),
            "heartbeat_interval_ms": int(a.heartbeat_interval_ms), "heartbeat_timeout_ms": int(a.heartbeat_timeout_ms),
            "snapshot_depth_max": int(a.snapshot_depth_max), "instruments": int(a.instruments),
            "order_by_order": a.order_by_order,
        }),
        MdServerMessage::SubscribeRejected(r) => json!({ "type": "MdSubscribeRejected", "reason": name(r.reason) }),
        MdServerMessage::Instrument(i) => json!({
            "type": "MdInstrument", "seq": int(i.seq), "instrument": int(i.spec.id), "state": name(i.state),
            "kind": name(i.kind), "perpetual": i.perpetual, "order_seq": int(i.order_seq), "spec": spec(&i.spec),
        }),
        MdServerMessage::InstrumentState(s) => json!({
            "type": "MdInstrumentState", "seq": int(s.seq), "instrument": int(s.instrument), "state": name(s.state),
        }),
        MdServerMessage::Trade(t) => json!({
            "type": "MdTrade", "seq": int(t.seq), "instrument": int(t.instrument), "aggressor": name(t.aggressor),
            "trade_id": int(t.trade_id), "price": int(t.price), "qty": int(t.qty), "timestamp_ns": int(t.timestamp_ns),
            "liquidation": t.liquidation,
        }),
        MdServerMessage::MarkPrice(m) => json!({
            "type": "MdMarkPrice", "seq": int(m.seq), "instrument": int(m.instrument), "mark_price": int(m.mark_price),
        }),
        MdServerMessage::Funding(f) => json!({
            "type": "MdFunding", "seq": int(f.seq), "instrument": int(f.instrument), "rate_ppm": int(f.rate_ppm),
            "mark_price": int(f.mark_price), "open_interest": int(f.open_interest),
            "next_funding_time_ns": int(f.next_funding_time_ns),
        }),
        MdServerMessage::OpenInterest(o) => json!({
            "type": "MdOpenInterest", "seq": int(o.seq), "instrument": int(o.instrument),
            "open_interest": int(o.open_interest),
        }),
        MdServerMessage::Level(l) => level("MdLevel", l),
        MdServerMessage::SnapshotLevel(l) => level("MdSnapshotLevel", l),
        MdServerMessage::TopOfBook(t) => json!({
            "type": "MdTopOfBook", "seq": int(t.seq), "instrument": int(t.instrument), "bid_price": int(t.bid_price),
            "bid_qty": int(t.bid_qty), "ask_price": int(t.ask_price), "ask_qty": int(t.ask_qty),
        }),
        _ => snapshot_and_order_message(msg),
    }
}

/// [`md_message`] for the snapshot ends and the order-by-order messages.
fn snapshot_and_order_message(msg: &MdServerMessage) -> Value {
    match msg {
        MdServerMessage::SnapshotOrder(o) => json!({
            "type": "MdSnapshotOrder", "seq": int(o.seq), "instrument": int(o.instrument), "side": name(o.side),
            "order_id": int(o.order_id), "price": int(o.price), "qty": int(o.qty),
        }),
        MdServerMessage::SnapshotEnd(e) => json!({
            "type": "MdSnapshotEnd", "seq": int(e.seq), "instrument": int(e.instrument), "state": name(e.state),
            "truncated": e.truncated, "orders_included": e.orders_included, "order_seq": int(e.order_seq),
            "feed_epoch": int(e.feed_epoch), "bid_levels": int(e.bid_levels), "ask_levels": int(e.ask_levels),
            "orders": int(e.orders), "mark_price": int(e.mark_price), "open_interest": int(e.open_interest),
            "funding_rate_ppm": int(e.funding_rate_ppm), "next_funding_time_ns": int(e.next_funding_time_ns),
        }),
        MdServerMessage::SnapshotRejected(r) => json!({
            "type": "MdSnapshotRejected", "instrument": int(r.instrument), "reason": name(r.reason),
        }),
        MdServerMessage::OrderAdded(o) => json!({
            "type": "MdOrderAdded", "order_seq": int(o.order_seq), "instrument": int(o.instrument),
            "side": name(o.side), "order_id": int(o.order_id), "price": int(o.price), "qty": int(o.qty),
        }),
        MdServerMessage::OrderExecuted(o) => json!({
            "type": "MdOrderExecuted", "order_seq": int(o.order_seq), "instrument": int(o.instrument),
            "side": name(o.side), "order_id": int(o.order_id), "trade_id": int(o.trade_id), "qty": int(o.qty),
            "leaves": int(o.leaves),
        }),
        MdServerMessage::OrderDeleted(o) => json!({
            "type": "MdOrderDeleted", "order_seq": int(o.order_seq), "instrument": int(o.instrument),
            "side": name(o.side), "reason": name(o.reason), "order_id": int(o.order_id), "qty": int(o.qty),
        }),
        MdServerMessage::OrderModified(o) => json!({
            "type": "MdOrderModified", "order_seq": int(o.order_seq), "instrument": int(o.instrument),
            "side": name(o.side), "kept_priority": o.kept_priority, "order_id": int(o.order_id),
            "price": int(o.price), "qty": int(o.qty),
        }),
        // Handled there (each function lists the other's variants, so both stay exhaustive).
        MdServerMessage::Heartbeat
        | MdServerMessage::Logout(_)
        | MdServerMessage::SessionReject(_)
        | MdServerMessage::SubscribeAccepted(_)
        | MdServerMessage::SubscribeRejected(_)
        | MdServerMessage::Instrument(_)
        | MdServerMessage::InstrumentState(_)
        | MdServerMessage::Trade(_)
        | MdServerMessage::MarkPrice(_)
        | MdServerMessage::Funding(_)
        | MdServerMessage::OpenInterest(_)
        | MdServerMessage::Level(_)
        | MdServerMessage::SnapshotLevel(_)
        | MdServerMessage::TopOfBook(_) => md_message(msg),
    }
}

fn level(kind: &str, l: &MdLevel) -> Value {
    json!({
        "type": kind, "seq": int(l.seq), "instrument": int(l.instrument), "side": name(l.side),
        "price": int(l.price), "qty": int(l.qty), "order_count": int(l.order_count),
    })
}

/// `matchd-md book`'s view of one instrument (not a protocol message): `type` `Book`, the `seq`
/// it reflects, and the top `depth` levels of each side, best first, as `{price, qty,
/// order_count}`.
pub fn book(instrument: InstrumentId, b: &Book, depth: usize) -> Value {
    let side = |s: Side| -> Vec<Value> {
        b.levels(s)
            .into_iter()
            .take(depth)
            .map(|(p, q, n)| json!({ "price": int(p), "qty": int(q), "order_count": int(n) }))
            .collect()
    };
    json!({
        "type": "Book", "instrument": int(instrument), "seq": int(b.seq), "bids": side(Side::Buy),
        "asks": side(Side::Sell),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{InstrumentSpec, InstrumentState};
    use protocol::{MdInstrument, MdInstrumentKind, MdOpenInterest};

    #[test]
    fn open_interest_and_the_perpetual_flag_by_their_protocol_names() {
        let oi = MdServerMessage::OpenInterest(MdOpenInterest { seq: 504, instrument: 3, open_interest: 737 });
        assert_eq!(
            md_message(&oi),
            json!({ "type": "MdOpenInterest", "seq": "504", "instrument": 3, "open_interest": "737" })
        );
        let spec = InstrumentSpec {
            id: 3,
            symbol: InstrumentSpec::symbol_from_str("BTC-PERP").unwrap(),
            base_asset: 2,
            quote_asset: 1,
            tick: 10,
            lot: 1,
            min_qty: 1,
            max_qty: 1_000,
            min_notional: 0,
            price_band_bps: 500,
            reference_price: 6_000_000,
            qty_scale: 1_000,
        };
        let added = |perpetual| {
            md_message(&MdServerMessage::Instrument(MdInstrument {
                seq: 1,
                order_seq: 0,
                kind: MdInstrumentKind::Added,
                state: InstrumentState::Halted,
                spec,
                perpetual,
            }))
        };
        assert_eq!(added(true)["perpetual"], json!(true));
        assert_eq!(added(false)["perpetual"], json!(false));
        assert_eq!(added(true)["type"], json!("MdInstrument"));
    }
}
