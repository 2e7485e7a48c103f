//! The futures tables' statements (schema version 4), in the same transactions as the rest of
//! their groups: the current-state tables by one multi-row upsert each (`unnest`), the history
//! by binary `COPY`.

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement, Transaction};

use super::{copy_rows, exec, unnest_insert, Params, P};
use crate::rows::futures::FuturesRows;

/// The current-state group's futures statements.
pub(super) struct FuturesStatements {
    risk_tiers: Statement,
    perpetuals: Statement,
    positions: Statement,
    wallets: Statement,
}

impl FuturesStatements {
    pub(super) async fn prepare(client: &Client) -> Result<FuturesStatements, tokio_postgres::Error> {
        const B: &str = "bigint";
        const I: &str = "int";
        const T: &str = "text";
        let p = |sql: String| async move { client.prepare(&sql).await };
        Ok(FuturesStatements {
            // Tiers are appended, never changed: a conflict would be a bug, and stops the projector.
            risk_tiers: p(unnest_insert(
                "risk_tiers",
                &[
                    ("instrument_id", I),
                    ("tier", "smallint"),
                    ("max_notional", B),
                    ("max_leverage", I),
                    ("mmr_ppm", I),
                    ("maint_amount", B),
                    ("set_seq", B),
                ],
                "",
            ))
            .await?,
            perpetuals: p(unnest_insert(
                "perpetuals",
                &[
                    ("instrument_id", I),
                    ("mark_price", B),
                    ("open_interest", B),
                    ("updated_seq", B),
                    ("updated_ts_ns", B),
                ],
                "ON CONFLICT (instrument_id) DO UPDATE SET mark_price = EXCLUDED.mark_price, \
                 open_interest = EXCLUDED.open_interest, updated_seq = EXCLUDED.updated_seq, \
                 updated_ts_ns = EXCLUDED.updated_ts_ns",
            ))
            .await?,
            positions: p(unnest_insert(
                "positions",
                &[
                    ("account_id", I),
                    ("instrument_id", I),
                    ("size", B),
                    ("cost", B),
                    ("entry_price", B),
                    ("realised_pnl", B),
                    ("isolated_margin", B),
                    ("liq_price", B),
                    ("leverage", I),
                    ("margin_mode", T),
                    ("updated_seq", B),
                    ("updated_ts_ns", B),
                ],
                "ON CONFLICT (account_id, instrument_id) DO UPDATE SET size = EXCLUDED.size, cost = EXCLUDED.cost, \
                 entry_price = EXCLUDED.entry_price, realised_pnl = EXCLUDED.realised_pnl, \
                 isolated_margin = EXCLUDED.isolated_margin, liq_price = EXCLUDED.liq_price, \
                 leverage = EXCLUDED.leverage, margin_mode = EXCLUDED.margin_mode, \
                 updated_seq = EXCLUDED.updated_seq, updated_ts_ns = EXCLUDED.updated_ts_ns",
            ))
            .await?,
            wallets: p(unnest_insert(
                "futures_wallets",
                &[("account_id", I), ("asset_id", I), ("wallet", B), ("updated_seq", B), ("updated_ts_ns", B)],
                "ON CONFLICT (account_id, asset_id) DO UPDATE SET wallet = EXCLUDED.wallet, \
                 updated_seq = EXCLUDED.updated_seq, updated_ts_ns = EXCLUDED.updated_ts_ns",
            ))
            .await?,
        })
    }
}

/// The current-state futures tables: one statement each, all in flight at once.
pub(super) async fn upsert(
    tx: &Transaction<'_>,
    st: &FuturesStatements,
    f: &FuturesRows,
) -> Result<(), tokio_postgres::Error> {
    let t = &f.risk_tiers;
    let t1 = (col!(t, instrument_id), col!(t, tier), col!(t, max_notional), col!(t, max_leverage));
    let t2 = (col!(t, mmr_ppm), col!(t, maint_amount), col!(t, set_seq));
    let perps: Vec<_> = f.perpetuals.values().collect();
    let m = (col!(perps, instrument_id), col!(perps, mark_price), col!(perps, open_interest));
    let m2 = (col!(perps, updated_seq), col!(perps, updated_ts_ns));
    let pos: Vec<_> = f.positions.values().collect();
    let p1 = (col!(pos, account_id), col!(pos, instrument_id), col!(pos, size), col!(pos, cost));
    let p2 = (col!(pos, entry_price), col!(pos, realised_pnl), col!(pos, isolated_margin), col!(pos, liq_price));
    let p3 = (col!(pos, leverage), col!(pos, margin_mode), col!(pos, updated_seq), col!(pos, updated_ts_ns));
    let w: Vec<_> = f.wallets.values().collect();
    let w1 = (col!(w, account_id), col!(w, asset_id), col!(w, wallet), col!(w, updated_seq), col!(w, updated_ts_ns));
    let pt: Params<'_> = params![&t1.0, &t1.1, &t1.2, &t1.3, &t2.0, &t2.1, &t2.2];
    let pm: Params<'_> = params![&m.0, &m.1, &m.2, &m2.0, &m2.1];
    let pp: Params<'_> = params![&p1.0, &p1.1, &p1.2, &p1.3, &p2.0, &p2.1, &p2.2, &p2.3, &p3.0, &p3.1, &p3.2, &p3.3];
    let pw: Params<'_> = params![&w1.0, &w1.1, &w1.2, &w1.3, &w1.4];
    tokio::try_join!(
        exec(tx, "risk_tiers", &st.risk_tiers, pt, t.len()),
        exec(tx, "perpetuals", &st.perpetuals, pm, perps.len()),
        exec(tx, "positions", &st.positions, pp, pos.len()),
        exec(tx, "futures_wallets", &st.wallets, pw, w.len()),
    )?;
    Ok(())
}

const POSITION_HISTORY_COLS: &[(&str, Type)] = &[
    ("account_id", Type::INT4),
    ("instrument_id", Type::INT4),
    ("seq", Type::INT8),
    ("size", Type::INT8),
    ("cost", Type::INT8),
    ("entry_price", Type::INT8),
    ("realised_pnl", Type::INT8),
    ("isolated_margin", Type::INT8),
    ("liq_price", Type::INT8),
    ("ts_ns", Type::INT8),
];
const LEDGER_COLS: &[(&str, Type)] = &[
    ("account_id", Type::INT4),
    ("asset_id", Type::INT4),
    ("seq", Type::INT8),
    ("reason", Type::TEXT),
    ("wallet_delta", Type::INT8),
    ("wallet", Type::INT8),
    ("realised_pnl", Type::INT8),
    ("fee", Type::INT8),
    ("funding", Type::INT8),
    ("transfer", Type::INT8),
    ("isolated_margin", Type::INT8),
    ("insurance", Type::INT8),
    ("other", Type::INT8),
    ("ts_ns", Type::INT8),
];
const FUNDING_COLS: &[(&str, Type)] = &[
    ("instrument_id", Type::INT4),
    ("seq", Type::INT8),
    ("rate_ppm", Type::INT4),
    ("mark_price", Type::INT8),
    ("open_interest", Type::INT8),
    ("paid", Type::INT8),
    ("received", Type::INT8),
    ("residue", Type::INT8),
    ("next_funding_time_ns", Type::INT8),
    ("ts_ns", Type::INT8),
];
const FUNDING_PAYMENT_COLS: &[(&str, Type)] = &[
    ("account_id", Type::INT4),
    ("instrument_id", Type::INT4),
    ("seq", Type::INT8),
    ("amount", Type::INT8),
    ("ts_ns", Type::INT8),
];
const LIQUIDATION_COLS: &[(&str, Type)] = &[
    ("account_id", Type::INT4),
    ("seq", Type::INT8),
    ("idx", Type::INT4),
    ("instrument_id", Type::INT4),
    ("size", Type::INT8),
    ("mark_price", Type::INT8),
    ("liq_price", Type::INT8),
    ("bankruptcy_price", Type::INT8),
    ("book_qty", Type::INT8),
    ("taken_over_qty", Type::INT8),
    ("adl_qty", Type::INT8),
    ("clearance", Type::INT8),
    ("ts_ns", Type::INT8),
];
const ADL_COLS: &[(&str, Type)] = &[
    ("account_id", Type::INT4),
    ("seq", Type::INT8),
    ("idx", Type::INT4),
    ("liquidated_account_id", Type::INT4),
    ("instrument_id", Type::INT4),
    ("qty", Type::INT8),
    ("price", Type::INT8),
    ("ts_ns", Type::INT8),
];
const MARK_PRICE_COLS: &[(&str, Type)] =
    &[("instrument_id", Type::INT4), ("seq", Type::INT8), ("mark_price", Type::INT8), ("ts_ns", Type::INT8)];

/// The futures history tables, by binary COPY.
pub(super) async fn copy_history(tx: &Transaction<'_>, f: &FuturesRows) -> Result<(), tokio_postgres::Error> {
    let h = &f.position_history;
    copy_rows(tx, "position_history", POSITION_HISTORY_COLS, h.len(), |i| {
        let r = &h[i];
        [
            &r.account_id as P,
            &r.instrument_id,
            &r.seq,
            &r.size,
            &r.cost,
            &r.entry_price,
            &r.realised_pnl,
            &r.isolated_margin,
            &r.liq_price,
            &r.ts_ns,
        ]
    })
    .await?;
    let l = &f.ledger;
    copy_rows(tx, "futures_ledger", LEDGER_COLS, l.len(), |i| {
        let r = &l[i];
        [
            &r.account_id as P,
            &r.asset_id,
            &r.seq,
            &r.reason,
            &r.wallet_delta,
            &r.wallet,
            &r.realised_pnl,
            &r.fee,
            &r.funding,
            &r.transfer,
            &r.isolated_margin,
            &r.insurance,
            &r.other,
            &r.ts_ns,
        ]
    })
    .await?;
    let fu = &f.funding;
    copy_rows(tx, "funding", FUNDING_COLS, fu.len(), |i| {
        let r = &fu[i];
        [
            &r.instrument_id as P,
            &r.seq,
            &r.rate_ppm,
            &r.mark_price,
            &r.open_interest,
            &r.paid,
            &r.received,
            &r.residue,
            &r.next_funding_time_ns,
            &r.ts_ns,
        ]
    })
    .await?;
    let fp = &f.funding_payments;
    copy_rows(tx, "funding_payments", FUNDING_PAYMENT_COLS, fp.len(), |i| {
        let r = &fp[i];
        [&r.account_id as P, &r.instrument_id, &r.seq, &r.amount, &r.ts_ns]
    })
    .await?;
    let lq = &f.liquidations;
    copy_rows(tx, "liquidations", LIQUIDATION_COLS, lq.len(), |i| {
        let r = &lq[i];
        [
            &r.account_id as P,
            &r.seq,
            &r.idx,
            &r.instrument_id,
            &r.size,
            &r.mark_price,
            &r.liq_price,
            &r.bankruptcy_price,
            &r.book_qty,
            &r.taken_over_qty,
            &r.adl_qty,
            &r.clearance,
            &r.ts_ns,
        ]
    })
    .await?;
    let a = &f.adl;
    copy_rows(tx, "auto_deleveraging", ADL_COLS, a.len(), |i| {
        let r = &a[i];
        [&r.account_id as P, &r.seq, &r.idx, &r.liquidated_account_id, &r.instrument_id, &r.qty, &r.price, &r.ts_ns]
    })
    .await?;
    let mp = &f.mark_prices;
    copy_rows(tx, "mark_prices", MARK_PRICE_COLS, mp.len(), |i| {
        let r = &mp[i];
        [&r.instrument_id as P, &r.seq, &r.mark_price, &r.ts_ns]
    })
    .await?;
    Ok(())
}
