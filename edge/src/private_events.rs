//! The private stream's events, made from matchd's execution reports (human units, ids as strings,
//! `seq` = matchd's report sequence number: resume after it).

use engine::{CancelReason, InstrumentId, Side, TimeInForce, TriggerKind};
use protocol::ExecReport;
use serde_json::{json, Value};

use crate::market::Market;
use crate::order_type_name::{contingency_type, type_name};
use crate::units::{format_decimal, format_signed};

fn side(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// Price and quantity formatters of an instrument (raw integers if the edge does not know it).
fn fmt(m: &Market, id: InstrumentId) -> (String, u32, u32) {
    m.by_id(id).map_or((id.to_string(), 0, 0), |i| (i.symbol.clone(), i.price_decimals, i.qty_decimals))
}

/// What the edge knows about a report's order that the report does not carry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Known {
    /// A fired order's trigger kind, from its `OrderArmed` (`OrderTriggered` does not repeat it):
    /// with it the event's `o` is Binance's conditional type name.
    pub trigger: Option<TriggerKind>,
    /// A new order's good-till-date time (ms), from the placement that sent it: with it the
    /// event's `f` is GTD and `gtd` the time (Binance futures' field).
    pub good_till_ms: Option<u64>,
    /// A new trailing stop's `trailingDelta` (BIPS), from the placement that sent it: the event's
    /// `d` (Binance's field).
    pub trailing_delta_bps: Option<u32>,
}

/// `f`: Binance's time in force (GTD when the order has an expiry).
fn tif_name(tif: TimeInForce, good_till_ms: Option<u64>) -> String {
    match good_till_ms {
        Some(_) => "GTD".into(),
        None => format!("{tif:?}").to_uppercase(),
    }
}

/// The `NEW` event of an accepted or armed order, with `gtd` when it has an expiry and `d` when it
/// trails.
fn new_event(mut v: Value, known: Known) -> Value {
    if let Some(ms) = known.good_till_ms {
        v["gtd"] = Value::from(ms);
    }
    if let Some(bips) = known.trailing_delta_bps {
        v["d"] = Value::from(bips);
    }
    v
}

/// The JSON event of a report, or `None` for reports the private stream does not carry (query
/// answers: they go to the REST caller).
pub fn event_json(seq: u64, report: &ExecReport, m: &Market, known: Known) -> Option<String> {
    let data: Value = match report {
        ExecReport::Accepted(a) => {
            let (s, pd, qd) = fmt(m, a.instrument);
            new_event(
                json!({"e": "executionReport", "x": "NEW", "s": s, "i": a.order_id.to_string(),
                "c": a.client_order_id.to_string(), "S": side(a.side), "o": format!("{:?}", a.order_type).to_uppercase(),
                "f": tif_name(a.tif, known.good_till_ms), "p": format_decimal(a.price, pd), "q": format_decimal(a.qty, qd),
                "w": true}),
                known,
            )
        }
        ExecReport::Armed(a) => {
            let (s, pd, qd) = fmt(m, a.instrument);
            new_event(
                json!({"e": "executionReport", "x": "NEW", "s": s, "i": a.order_id.to_string(),
                "c": a.client_order_id.to_string(), "S": side(a.side), "o": type_name(a.order_type, Some(a.trigger)),
                "f": tif_name(a.tif, known.good_till_ms), "p": format_decimal(a.price, pd), "q": format_decimal(a.qty, qd),
                "P": format_decimal(a.trigger_price, pd), "w": false}),
                known,
            )
        }
        ExecReport::Triggered(t) => {
            let (s, pd, qd) = fmt(m, t.instrument);
            json!({"e": "executionReport", "x": "TRIGGERED", "s": s, "i": t.order_id.to_string(),
                "c": t.client_order_id.to_string(), "S": side(t.side), "o": type_name(t.order_type, known.trigger),
                "p": format_decimal(t.price, pd),
                "q": format_decimal(t.qty, qd), "P": format_decimal(t.trigger_price, pd),
                "lastPrice": format_decimal(t.last_price, pd), "w": true, "T": t.timestamp_ns / 1_000_000})
        }
        ExecReport::Rejected(r) => json!({"e": "executionReport", "x": "REJECTED", "s": fmt(m, r.instrument).0,
            "i": r.order_id.to_string(), "c": r.client_order_id.to_string(),
            "command": format!("{:?}", r.command), "r": format!("{:?}", r.reason)}),
        ExecReport::Fill(f) => {
            let (s, pd, qd) = fmt(m, f.instrument);
            let quote_decimals = m.by_id(f.instrument).map_or(0, |i| m.assets().get(i.spec.quote_asset).decimals);
            json!({"e": "executionReport", "x": "TRADE", "s": s, "i": f.order_id.to_string(),
                "c": f.client_order_id.to_string(), "S": side(f.side), "t": f.trade_id.to_string(),
                "L": format_decimal(f.price, pd), "l": format_decimal(f.qty, qd),
                "leaves": format_decimal(f.leaves_qty, qd),
                "X": if f.leaves_qty == 0 { "FILLED" } else { "PARTIALLY_FILLED" },
                "maker": f.liquidity == protocol::Liquidity::Maker, "n": format_signed(f.fee, quote_decimals),
                "T": f.timestamp_ns / 1_000_000})
        }
        ExecReport::Cancelled(c) => {
            let (s, _, qd) = fmt(m, c.instrument);
            // Binance's execution type of an order whose good-till-date time passed, or that its
            // order list cancelled.
            let x = match c.reason {
                CancelReason::Expired | CancelReason::OrderList => "EXPIRED",
                _ => "CANCELED",
            };
            json!({"e": "executionReport", "x": x, "s": s, "i": c.order_id.to_string(),
                "c": c.client_order_id.to_string(), "S": side(c.side),
                "cancelled": format_decimal(c.cancelled_qty, qd), "z": format_decimal(c.filled_qty, qd),
                "r": format!("{:?}", c.reason)})
        }
        ExecReport::ListAccepted(l) => json!({"e": "listStatus", "s": fmt(m, l.instrument).0,
            "g": l.list_id.to_string(), "c": contingency_type(l.kind), "l": "EXEC_STARTED", "L": "EXECUTING",
            "C": l.client_order_id.to_string(), "legs": l.legs, "T": l.timestamp_ns / 1_000_000}),
        ExecReport::Amended(a) => {
            let (s, pd, qd) = fmt(m, a.instrument);
            json!({"e": "executionReport", "x": "AMENDED", "s": s, "i": a.order_id.to_string(),
                "c": a.client_order_id.to_string(), "S": side(a.side), "p": format_decimal(a.price, pd),
                "q": format_decimal(a.qty, qd), "leaves": format_decimal(a.leaves, qd), "keptPriority": a.kept_priority})
        }
        ExecReport::SelfTradePrevented(s) => json!({"e": "selfTradePrevented", "s": fmt(m, s.instrument).0,
            "maker": s.maker_order_id.to_string(), "taker": s.taker_order_id.to_string()}),
        ExecReport::MassCancelled(c) => json!({"e": "massCancelled", "count": c.count}),
        ExecReport::BalanceChanged(b) => {
            let a = m.assets().get(b.change.asset);
            json!({"e": "balanceUpdate", "a": a.name, "free": format_decimal(b.change.available, a.decimals),
                "locked": format_decimal(b.change.reserved, a.decimals), "reason": format!("{:?}", b.change.reason)})
        }
        _ => return None,
    };
    Some(json!({"seq": seq.to_string(), "data": data}).to_string())
}
