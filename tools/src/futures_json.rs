//! The perpetual-futures reports (templates 170-186) as JSON fields, for
//! [`crate::order_entry_json`]: the protocol name, the account whose stream carries the report,
//! and its other fields under their docs/protocol.md names, by the rule of [`crate::json_value`].

use protocol::FuturesReport;
use serde_json::{json, Value};

use crate::json_value::{int, protocol_name as name};

/// The position fields `PositionChanged` and `PositionReport` share.
fn position(p: &engine::PositionChanged) -> Value {
    json!({
        "instrument": int(p.instrument), "size": int(p.size), "cost": int(p.cost),
        "entry_price": int(p.entry_price), "realised_pnl": int(p.realised_pnl),
        "isolated_margin": int(p.isolated_margin), "liq_price": int(p.liq_price),
    })
}

/// `a` with `b`'s keys added.
fn merged(mut a: Value, b: Value) -> Value {
    if let (Value::Object(a), Value::Object(b)) = (&mut a, b) {
        a.extend(b);
    }
    a
}

/// The report's protocol name, the account it was sent to, and its other fields.
pub fn futures_report_fields(report: &FuturesReport) -> (&'static str, u32, Value) {
    let account = report.account();
    let (kind, fields) = match report {
        FuturesReport::RiskTierSet(t) => {
            let t = &t.tier;
            let fields = json!({
                "instrument": int(t.instrument), "max_notional": int(t.max_notional),
                "maint_amount": int(t.maint_amount), "max_leverage": int(t.max_leverage),
                "mmr_ppm": int(t.mmr_ppm), "index": int(t.index),
            });
            ("RiskTierSet", fields)
        }
        FuturesReport::LeverageSet(l) => {
            ("LeverageSet", json!({ "instrument": int(l.instrument), "leverage": int(l.leverage) }))
        }
        FuturesReport::MarginModeSet(m) => {
            ("MarginModeSet", json!({ "instrument": int(m.instrument), "mode": name(m.mode) }))
        }
        FuturesReport::IsolatedMarginAdjusted(a) => (
            "IsolatedMarginAdjusted",
            json!({ "instrument": int(a.instrument), "delta": int(a.delta), "isolated_margin": int(a.isolated_margin) }),
        ),
        FuturesReport::FundingPayment(f) => {
            ("FundingPayment", json!({ "instrument": int(f.instrument), "amount": int(f.amount) }))
        }
        FuturesReport::Liquidation(l) => (
            "Liquidation",
            json!({
                "instrument": int(l.instrument), "size": int(l.size), "mark_price": int(l.mark_price),
                "liq_price": int(l.liq_price), "bankruptcy_price": int(l.bankruptcy_price),
            }),
        ),
        FuturesReport::TakenOver(t) => {
            ("TakenOver", json!({ "instrument": int(t.instrument), "qty": int(t.qty), "price": int(t.price) }))
        }
        FuturesReport::AutoDeleveraged(d) => (
            "AutoDeleveraged",
            json!({ "instrument": int(d.instrument), "qty": int(d.qty), "price": int(d.price), "role": name(d.role) }),
        ),
        FuturesReport::LiquidationDone(d) => {
            ("LiquidationDone", json!({ "instrument": int(d.instrument), "clearance": int(d.clearance) }))
        }
        FuturesReport::BankruptcyCovered(b) => ("BankruptcyCovered", json!({ "amount": int(b.amount) })),
        FuturesReport::Trimmed(t) => (
            "OrderTrimmed",
            json!({
                "instrument": int(t.instrument), "order_id": int(t.order_id),
                "client_order_id": int(t.client_order_id), "leaves_qty": int(t.leaves), "cut_qty": int(t.cut),
                "side": name(t.side),
            }),
        ),
        FuturesReport::PositionChanged(p) => {
            ("PositionChanged", merged(position(&p.position), json!({ "command_seq": int(p.command_seq) })))
        }
        FuturesReport::WalletChanged(w) => (
            "WalletChanged",
            json!({
                "asset": int(w.wallet.asset), "wallet": int(w.wallet.wallet), "spot": int(w.wallet.spot),
                "command_seq": int(w.command_seq),
            }),
        ),
        FuturesReport::PositionReport(r) => {
            let extra = json!({
                "target": int(r.position.account), "leverage": int(r.leverage), "mark_price": int(r.mark_price),
                "upnl": int(r.upnl), "maint_margin": int(r.maint_margin), "mode": name(r.mode),
            });
            ("PositionReport", merged(position(&r.position), extra))
        }
        FuturesReport::MarginReport(m) => (
            "MarginReport",
            json!({
                "target": int(m.target), "asset": int(m.asset), "wallet": int(m.wallet), "equity": int(m.equity),
                "available": int(m.available), "withdrawable": int(m.withdrawable),
                "position_margin": int(m.position_margin), "order_margin": int(m.order_margin),
                "maint_margin": int(m.maint_margin),
            }),
        ),
        FuturesReport::MarkPriceSet(m) => {
            ("MarkPriceSet", json!({ "instrument": int(m.mark.instrument), "mark_price": int(m.mark.mark_price) }))
        }
        FuturesReport::FundingApplied(f) => {
            let f = &f.funding;
            let fields = json!({
                "instrument": int(f.instrument), "mark_price": int(f.mark_price),
                "open_interest": int(f.open_interest), "paid": int(f.paid), "received": int(f.received),
                "residue": int(f.residue), "rate_ppm": int(f.rate_ppm),
                "next_funding_time_ns": int(f.next_funding_time_ns),
            });
            ("FundingApplied", fields)
        }
    };
    (kind, account, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::*;
    use protocol::*;

    /// One report of each kind.
    fn every_report() -> Vec<FuturesReport> {
        let position = PositionChanged {
            account: 7,
            instrument: 3,
            size: -5,
            cost: 10,
            entry_price: 2,
            realised_pnl: 1,
            isolated_margin: 0,
            liq_price: 0,
        };
        let tier = SetRiskTier {
            instrument: 3,
            index: 0,
            max_leverage: 125,
            mmr_ppm: 4_000,
            max_notional: 5_000_000,
            maint_amount: 0,
        };
        let funding = FundingApplied {
            instrument: 3,
            rate_ppm: 100,
            mark_price: 1,
            open_interest: 2,
            paid: 3,
            received: 2,
            residue: 1,
            next_funding_time_ns: 4,
        };
        vec![
            FuturesReport::RiskTierSet(RiskTierSet { account: 0, tier }),
            FuturesReport::LeverageSet(LeverageSet { account: 7, instrument: 3, leverage: 10 }),
            FuturesReport::MarginModeSet(MarginModeSet { account: 7, instrument: 3, mode: MarginMode::Cross }),
            FuturesReport::IsolatedMarginAdjusted(IsolatedMarginAdjusted {
                account: 7,
                instrument: 3,
                delta: -1,
                isolated_margin: 2,
            }),
            FuturesReport::FundingPayment(FundingPayment { account: 7, instrument: 3, amount: -83 }),
            FuturesReport::Liquidation(Liquidation {
                account: 7,
                instrument: 3,
                size: 1,
                mark_price: 2,
                liq_price: 3,
                bankruptcy_price: 4,
            }),
            FuturesReport::TakenOver(TakenOver { account: 7, instrument: 3, qty: 1, price: 2 }),
            FuturesReport::AutoDeleveraged(Deleveraged {
                account: 7,
                instrument: 3,
                qty: 1,
                price: 2,
                role: AdlRole::Reduced,
            }),
            FuturesReport::LiquidationDone(LiquidationDone { account: 7, instrument: 3, clearance: 0 }),
            FuturesReport::BankruptcyCovered(BankruptcyCovered { account: 7, amount: 5 }),
            FuturesReport::Trimmed(Trimmed {
                account: 7,
                order_id: 1,
                client_order_id: 2,
                instrument: 3,
                side: Side::Buy,
                leaves: 1,
                cut: 1,
            }),
            FuturesReport::PositionChanged(PositionUpdate { position, command_seq: 9 }),
            FuturesReport::WalletChanged(WalletUpdate {
                wallet: WalletChanged { account: 7, asset: 1, wallet: -1, spot: 2 },
                command_seq: 9,
            }),
            FuturesReport::PositionReport(PositionReport {
                account: 7,
                position,
                mark_price: 1,
                upnl: -2,
                maint_margin: 3,
                leverage: 20,
                mode: MarginMode::Isolated,
            }),
            FuturesReport::MarginReport(MarginReport {
                account: 7,
                target: 7,
                asset: 1,
                wallet: 1,
                equity: 2,
                available: 3,
                withdrawable: 4,
                position_margin: 5,
                order_margin: 6,
                maint_margin: 7,
            }),
            FuturesReport::MarkPriceSet(MarkReport { account: 9, mark: MarkPriceSet { instrument: 3, mark_price: 1 } }),
            FuturesReport::FundingApplied(FundingReport { account: 9, funding }),
        ]
    }

    /// The `type` of each report is its name in docs/protocol.md, 64-bit values are strings, and
    /// every block field but the reserved bytes has its key.
    #[test]
    fn futures_reports_are_named_as_the_protocol_doc_says() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md")).unwrap();
        let mut names = Vec::new();
        for r in every_report() {
            let (kind, account, fields) = futures_report_fields(&r);
            assert_eq!(account, r.account());
            assert!(doc.contains(&format!("### {kind} (")) || doc.contains(&format!(" and {kind} (")), "{kind}");
            let fields = fields.as_object().unwrap();
            assert!(fields.values().all(|v| !v.is_null()), "{kind}: {fields:?}");
            names.push(kind);
        }
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
        let (_, _, f) = futures_report_fields(&every_report()[11]);
        assert_eq!(
            (f["size"].as_str(), f["command_seq"].as_str(), f["instrument"].as_u64()),
            (Some("-5"), Some("9"), Some(3))
        );
    }
}
