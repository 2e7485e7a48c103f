//! Order-entry server messages as JSON objects: what `matchctl --json` prints, one per line.
//! `type` is the message's name in docs/protocol.md, every other key one of its fields under its
//! protocol name (reserved bytes left out), enum values by their protocol names, integers by
//! the rule of [`crate::json_value`]. Reports carry `seq` and `account` first.

use engine::InstrumentSpec;
use protocol::{ExecReport, LoginRejected, ServerMessage};
use serde_json::{json, Map, Value};

use crate::futures_json::futures_report_fields;
use crate::json_value::{int, protocol_name as name, tif};

/// One server message as a JSON object.
pub fn server_message(msg: &ServerMessage) -> Value {
    match msg {
        ServerMessage::LoginAccepted(a) => json!({
            "type": "LoginAccepted",
            "account": int(a.account),
            "role": name(a.role),
            "next_seq": int(a.next_seq),
            "highest_seq": int(a.highest_seq),
            "heartbeat_interval_ms": int(a.heartbeat_interval_ms),
            "heartbeat_timeout_ms": int(a.heartbeat_timeout_ms),
            "cancel_on_disconnect": a.cancel_on_disconnect,
        }),
        ServerMessage::LoginRejected(r) => login_rejected(r),
        ServerMessage::Heartbeat => json!({ "type": "Heartbeat" }),
        ServerMessage::Logout(l) => json!({ "type": "Logout", "reason": name(l.reason) }),
        ServerMessage::SessionReject(r) => json!({
            "type": "SessionReject",
            "ref_template_id": int(r.ref_template_id),
            "reason": name(r.reason),
            "field_offset": r.field_offset.map(int),
            "client_order_id": int(r.client_order_id),
        }),
        ServerMessage::Report { seq, report } => report_json(*seq, report),
    }
}

/// A `LoginRejected` (the client library hands it over as an error, not a message).
pub fn login_rejected(r: &LoginRejected) -> Value {
    json!({
        "type": "LoginRejected",
        "account": int(r.account),
        "reason": name(r.reason),
        "highest_seq": int(r.highest_seq),
        "oldest_available_seq": int(r.oldest_available_seq),
    })
}

/// The instrument spec block (`AddInstrument`, embedded in `InstrumentAdded` and `MdInstrument`).
pub fn spec(s: &InstrumentSpec) -> Value {
    json!({
        "id": int(s.id),
        "base_asset": int(s.base_asset),
        "quote_asset": int(s.quote_asset),
        "price_band_bps": int(s.price_band_bps),
        "symbol": s.symbol_str(),
        "tick": int(s.tick),
        "lot": int(s.lot),
        "min_qty": int(s.min_qty),
        "max_qty": int(s.max_qty),
        "min_notional": int(s.min_notional),
        "reference_price": int(s.reference_price),
        "qty_scale": int(s.qty_scale),
    })
}

/// `{type, seq, account}` followed by the report's own fields.
fn report_json(seq: u64, report: &ExecReport) -> Value {
    let (kind, account, fields) = report_fields(report);
    let mut obj = Map::new();
    obj.insert("type".into(), kind.into());
    obj.insert("seq".into(), int(seq));
    obj.insert("account".into(), int(account));
    if let Value::Object(fields) = fields {
        obj.extend(fields);
    }
    Value::Object(obj)
}

/// The report's protocol name, the account it was sent to, and its other fields.
fn report_fields(report: &ExecReport) -> (&'static str, u32, Value) {
    match report {
        ExecReport::Accepted(a) => (
            "OrderAccepted",
            a.account,
            json!({
                "instrument": int(a.instrument), "order_id": int(a.order_id),
                "client_order_id": int(a.client_order_id), "price": int(a.price), "qty": int(a.qty),
                "timestamp_ns": int(a.timestamp_ns), "side": name(a.side), "order_type": name(a.order_type),
                "tif": tif(a.tif),
            }),
        ),
        ExecReport::Rejected(r) => (
            "CommandRejected",
            r.account,
            json!({
                "instrument": int(r.instrument), "client_order_id": int(r.client_order_id),
                "order_id": int(r.order_id), "reason": name(r.reason), "command": name(r.command),
            }),
        ),
        ExecReport::Fill(f) => (
            "Fill",
            f.account,
            json!({
                "instrument": int(f.instrument), "order_id": int(f.order_id),
                "client_order_id": int(f.client_order_id), "trade_id": int(f.trade_id), "price": int(f.price),
                "qty": int(f.qty), "leaves_qty": int(f.leaves_qty), "timestamp_ns": int(f.timestamp_ns),
                "side": name(f.side), "liquidity": name(f.liquidity), "fee": int(f.fee),
                "liquidation": f.liquidation,
            }),
        ),
        ExecReport::Cancelled(c) => (
            "OrderCancelled",
            c.account,
            json!({
                "instrument": int(c.instrument), "order_id": int(c.order_id),
                "client_order_id": int(c.client_order_id), "cancelled_qty": int(c.cancelled_qty),
                "filled_qty": int(c.filled_qty), "side": name(c.side), "reason": name(c.reason),
            }),
        ),
        ExecReport::Amended(a) => (
            "OrderAmended",
            a.account,
            json!({
                "instrument": int(a.instrument), "order_id": int(a.order_id),
                "client_order_id": int(a.client_order_id), "price": int(a.price), "qty": int(a.qty),
                "leaves_qty": int(a.leaves), "side": name(a.side), "kept_priority": a.kept_priority,
            }),
        ),
        ExecReport::SelfTradePrevented(s) => (
            "SelfTradePrevented",
            s.account,
            json!({
                "instrument": int(s.instrument), "maker_order_id": int(s.maker_order_id),
                "taker_order_id": int(s.taker_order_id), "qty": int(s.qty), "mode": name(s.mode),
            }),
        ),
        ExecReport::MassCancelled(m) => ("MassCancelled", m.account, json!({ "count": int(m.count) })),
        ExecReport::Armed(a) => (
            "OrderArmed",
            a.account,
            json!({
                "instrument": int(a.instrument), "order_id": int(a.order_id),
                "client_order_id": int(a.client_order_id), "price": int(a.price), "qty": int(a.qty),
                "trigger_price": int(a.trigger_price), "timestamp_ns": int(a.timestamp_ns), "side": name(a.side),
                "order_type": name(a.order_type), "tif": tif(a.tif), "trigger": name(a.trigger),
                "trigger_source": name(a.trigger_source),
            }),
        ),
        ExecReport::Triggered(t) => (
            "OrderTriggered",
            t.account,
            json!({
                "instrument": int(t.instrument), "order_id": int(t.order_id),
                "client_order_id": int(t.client_order_id), "price": int(t.price), "qty": int(t.qty),
                "trigger_price": int(t.trigger_price), "last_price": int(t.last_price),
                "timestamp_ns": int(t.timestamp_ns), "side": name(t.side), "order_type": name(t.order_type),
                "trigger_source": name(t.trigger_source),
            }),
        ),
        ExecReport::TriggerAmended(t) => (
            "OrderTriggerAmended",
            t.account,
            json!({
                "instrument": int(t.instrument), "order_id": int(t.order_id),
                "client_order_id": int(t.client_order_id), "trigger_price": int(t.trigger_price),
                "side": name(t.side),
            }),
        ),
        ExecReport::ListAccepted(l) => (
            "OrderListAccepted",
            l.account,
            json!({
                "instrument": int(l.instrument), "list_id": int(l.list_id),
                "client_order_id": int(l.client_order_id), "kind": name(l.kind), "legs": int(l.legs),
                "timestamp_ns": int(l.timestamp_ns),
            }),
        ),
        ExecReport::InstrumentAdded(_)
        | ExecReport::InstrumentStateChanged(_)
        | ExecReport::BalanceChanged(_)
        | ExecReport::AccountUpdated(_)
        | ExecReport::TransferApplied(_)
        | ExecReport::FeeScheduleSet(_)
        | ExecReport::AccountBalance(_)
        | ExecReport::OpenOrder(_)
        | ExecReport::QueryDone(_)
        | ExecReport::CredentialChanged(_) => account_report_fields(report),
        ExecReport::Futures(f) => futures_report_fields(f),
    }
}

/// [`report_fields`] for the administration and account reports.
fn account_report_fields(report: &ExecReport) -> (&'static str, u32, Value) {
    match report {
        ExecReport::InstrumentAdded(a) => ("InstrumentAdded", a.account, json!({ "spec": spec(&a.spec) })),
        ExecReport::InstrumentStateChanged(c) => {
            ("InstrumentStateChanged", c.account, json!({ "instrument": int(c.instrument), "state": name(c.state) }))
        }
        ExecReport::BalanceChanged(b) => (
            "BalanceChanged",
            b.change.account,
            json!({
                "asset": int(b.change.asset), "available": int(b.change.available),
                "reserved_amount": int(b.change.reserved), "command_seq": int(b.command_seq),
                "reason": name(b.change.reason),
            }),
        ),
        ExecReport::AccountUpdated(a) => (
            "AccountUpdated",
            a.account,
            json!({
                "target": int(a.target), "command": name(a.command), "status": name(a.status), "tier": int(a.tier),
            }),
        ),
        ExecReport::TransferApplied(t) => (
            "TransferApplied",
            t.account,
            json!({
                "target": int(t.target), "amount": int(t.amount), "tx_id": int(t.tx_id),
                "available": int(t.available), "asset": int(t.asset), "command": name(t.command),
            }),
        ),
        ExecReport::FeeScheduleSet(f) => (
            "FeeScheduleSet",
            f.account,
            json!({
                "instrument": int(f.schedule.instrument), "maker_ppm": int(f.schedule.maker_ppm),
                "taker_ppm": int(f.schedule.taker_ppm), "tier": int(f.schedule.tier),
            }),
        ),
        ExecReport::CredentialChanged(c) => (
            "CredentialChanged",
            c.account,
            // A fingerprint is an id, not a number: hex, as matchctl prints it.
            json!({ "target": int(c.target), "command": name(c.command), "fingerprint": format!("{:016x}", c.fingerprint) }),
        ),
        ExecReport::AccountBalance(b) => (
            "AccountBalance",
            b.account,
            json!({
                "target": int(b.target), "available": int(b.available), "reserved_amount": int(b.reserved),
                "asset": int(b.asset),
            }),
        ),
        ExecReport::OpenOrder(o) => {
            let v = &o.order;
            let fields = json!({
                "target": int(v.account), "order_id": int(v.order_id), "client_order_id": int(v.client_order_id),
                "price": int(v.price), "qty": int(v.qty), "leaves_qty": int(v.leaves),
                "instrument": int(v.instrument), "side": name(v.side), "tif": tif(v.tif), "stp": name(v.stp),
            });
            ("OpenOrder", o.account, fields)
        }
        ExecReport::QueryDone(q) => (
            "QueryDone",
            q.done.account,
            json!({
                "target": int(q.done.target), "command_seq": int(q.command_seq), "balances": int(q.done.balances),
                "orders": int(q.done.orders), "status": name(q.done.status), "tier": int(q.done.tier),
            }),
        ),
        // Handled there (each function lists the other's variants, so both stay exhaustive).
        ExecReport::Accepted(_)
        | ExecReport::Rejected(_)
        | ExecReport::Fill(_)
        | ExecReport::Cancelled(_)
        | ExecReport::Amended(_)
        | ExecReport::SelfTradePrevented(_)
        | ExecReport::MassCancelled(_)
        | ExecReport::Armed(_)
        | ExecReport::Triggered(_)
        | ExecReport::TriggerAmended(_)
        | ExecReport::ListAccepted(_)
        | ExecReport::Futures(_) => report_fields(report),
    }
}
