//! One human-readable line per perpetual-futures report (for [`crate::describe`]): amounts as
//! the wire's signed integers, enums by name, zero optional fields left out.

use engine::{MarginMode, Side};
use protocol::{AdlRole, FuturesReport};

fn side(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

fn mode(m: MarginMode) -> &'static str {
    match m {
        MarginMode::Cross => "cross",
        MarginMode::Isolated => "isolated",
    }
}

/// ` liq=P` when a liquidation price is shown, else nothing.
fn liq(price: u64) -> String {
    if price == 0 {
        String::new()
    } else {
        format!(" liq={price}")
    }
}

/// The line for one futures report (without its `#seq`).
pub(crate) fn describe_futures(report: &FuturesReport) -> String {
    match report {
        FuturesReport::RiskTierSet(t) => {
            let t = &t.tier;
            format!(
                "RISK TIER instrument={} index={} max_notional={} max_leverage={} mmr_ppm={} maint_amount={}",
                t.instrument, t.index, t.max_notional, t.max_leverage, t.mmr_ppm, t.maint_amount
            )
        }
        FuturesReport::LeverageSet(l) => format!("LEVERAGE instrument={} leverage={}", l.instrument, l.leverage),
        FuturesReport::MarginModeSet(m) => format!("MARGIN MODE instrument={} mode={}", m.instrument, mode(m.mode)),
        FuturesReport::IsolatedMarginAdjusted(a) => format!(
            "ISOLATED MARGIN instrument={} delta={} isolated_margin={}",
            a.instrument, a.delta, a.isolated_margin
        ),
        FuturesReport::FundingPayment(f) => format!("FUNDING instrument={} amount={}", f.instrument, f.amount),
        FuturesReport::Liquidation(l) => format!(
            "LIQUIDATION instrument={} size={} mark={}{} bankruptcy={}",
            l.instrument,
            l.size,
            l.mark_price,
            liq(l.liq_price),
            l.bankruptcy_price
        ),
        FuturesReport::TakenOver(t) => format!("TAKEN OVER instrument={} {} @ {}", t.instrument, t.qty, t.price),
        FuturesReport::AutoDeleveraged(d) => format!(
            "AUTO-DELEVERAGED instrument={} {} @ {} {}",
            d.instrument,
            d.qty,
            d.price,
            match d.role {
                AdlRole::Liquidated => "liquidated",
                AdlRole::Reduced => "reduced",
            }
        ),
        FuturesReport::LiquidationDone(d) => {
            format!("LIQUIDATION DONE instrument={} clearance={}", d.instrument, d.clearance)
        }
        FuturesReport::BankruptcyCovered(b) => format!("BANKRUPTCY COVERED amount={}", b.amount),
        FuturesReport::Trimmed(t) => format!(
            "TRIMMED order={} cid={} instrument={} {} leaves={} cut={}",
            t.order_id,
            t.client_order_id,
            t.instrument,
            side(t.side),
            t.leaves,
            t.cut
        ),
        FuturesReport::PositionChanged(p) => {
            let q = &p.position;
            format!(
                "POSITION instrument={} size={} cost={} entry={} realised={} isolated={}{} command_seq={}",
                q.instrument,
                q.size,
                q.cost,
                q.entry_price,
                q.realised_pnl,
                q.isolated_margin,
                liq(q.liq_price),
                p.command_seq
            )
        }
        FuturesReport::WalletChanged(w) => format!(
            "WALLET asset={} wallet={} spot={} command_seq={}",
            w.wallet.asset, w.wallet.wallet, w.wallet.spot, w.command_seq
        ),
        FuturesReport::PositionReport(r) => {
            let q = &r.position;
            format!(
                "POSITION REPORT account={} instrument={} size={} cost={} entry={} realised={} isolated={}{} mark={} \
                 upnl={} maint_margin={} leverage={} mode={}",
                q.account,
                q.instrument,
                q.size,
                q.cost,
                q.entry_price,
                q.realised_pnl,
                q.isolated_margin,
                liq(q.liq_price),
                r.mark_price,
                r.upnl,
                r.maint_margin,
                r.leverage,
                mode(r.mode)
            )
        }
        FuturesReport::MarginReport(m) => format!(
            "MARGIN REPORT account={} asset={} wallet={} equity={} available={} withdrawable={} position_margin={} \
             order_margin={} maint_margin={}",
            m.target,
            m.asset,
            m.wallet,
            m.equity,
            m.available,
            m.withdrawable,
            m.position_margin,
            m.order_margin,
            m.maint_margin
        ),
        FuturesReport::MarkPriceSet(m) => format!("MARK instrument={} mark={}", m.mark.instrument, m.mark.mark_price),
        FuturesReport::FundingApplied(f) => {
            let f = &f.funding;
            format!(
                "FUNDING APPLIED instrument={} rate_ppm={} mark={} open_interest={} paid={} received={} residue={} \
                 next_funding_time_ns={}",
                f.instrument,
                f.rate_ppm,
                f.mark_price,
                f.open_interest,
                f.paid,
                f.received,
                f.residue,
                f.next_funding_time_ns
            )
        }
    }
}
