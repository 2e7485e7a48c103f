//! Writing one table group's rows of one [`Batch`] in one transaction, on the group's own
//! session: the group's checkpoint row first (its row lock serialises writers, and a checkpoint
//! that moved means another writer: refuse), then the rows, then the commit. The current-state
//! group: one multi-row upsert per table (`INSERT ... SELECT * FROM unnest($1::bigint[], ...) ON
//! CONFLICT ...`, every column one array parameter, all sent at once: tokio-postgres pipelines
//! them), and the batch's new orders by binary `COPY` (they cannot conflict). The history group:
//! every table by binary `COPY`. Rows and checkpoint commit together or not at all: that is the
//! exactly-once guarantee, per group. The futures tables' statements are in [`futures`].

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement, Transaction};

use crate::rows::{Batch, OrderRow};
use crate::schema::Group;

/// Why a batch was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The database's checkpoint is not where this projector left it: another projector writes
    /// into the same database.
    #[error("the {group} tables' checkpoint moved under this projector (expected journal record {expected}): is another matchd-projector writing into this database?")]
    CheckpointMoved {
        /// The table group.
        group: &'static str,
        /// Where this projector left it.
        expected: u64,
    },
    /// A statement or the commit failed.
    #[error("writing journal records {first}..={last}: {source}")]
    Db {
        /// First record of the batch.
        first: u64,
        /// Last record.
        last: u64,
        /// Cause.
        source: tokio_postgres::Error,
    },
}

/// `INSERT INTO table (cols) SELECT * FROM unnest($1::t1[], ...) suffix`.
fn unnest_insert(table: &str, cols: &[(&str, &str)], suffix: &str) -> String {
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let arrays: Vec<String> = cols.iter().enumerate().map(|(i, c)| format!("${}::{}[]", i + 1, c.1)).collect();
    format!("INSERT INTO {table} ({}) SELECT * FROM unnest({}) {suffix}", names.join(", "), arrays.join(", "))
}

/// A group's statements, prepared once per connection. Each connection prepares only its own
/// group's: preparing an `INSERT` takes the lock it will write with, so a connection never
/// waits on the other group's tables.
pub struct Statements {
    checkpoint: Statement,
    /// The current-state group's upserts (`None` on the history group's connection).
    state: Option<StateStatements>,
}

/// The current-state group's upserts.
struct StateStatements {
    accounts: Statement,
    instruments: Statement,
    orders: Statement,
    balances: Statement,
    candles: Statement,
    futures: futures::FuturesStatements,
}

impl Statements {
    /// Prepares `group`'s statements on `client`.
    pub async fn prepare(client: &Client, group: Group) -> Result<Statements, tokio_postgres::Error> {
        let checkpoint = client
            .prepare("UPDATE projector_checkpoint SET seq = $1, state_hash = $2, ts_ns = $3 WHERE id = $4 AND seq = $5")
            .await?;
        let state = match group {
            Group::State => Some(StateStatements::prepare(client).await?),
            Group::History => None,
        };
        Ok(Statements { checkpoint, state })
    }
}

impl StateStatements {
    async fn prepare(client: &Client) -> Result<StateStatements, tokio_postgres::Error> {
        const B: &str = "bigint";
        const I: &str = "int";
        const T: &str = "text";
        let p = |sql: String| async move { client.prepare(&sql).await };
        Ok(StateStatements {
            accounts: p(unnest_insert(
                "accounts",
                &[("account_id", I), ("status", T), ("fee_tier", "smallint"), ("created_seq", B), ("updated_seq", B)],
                "ON CONFLICT (account_id) DO UPDATE SET status = EXCLUDED.status, fee_tier = EXCLUDED.fee_tier, \
                 updated_seq = EXCLUDED.updated_seq",
            ))
            .await?,
            instruments: p(unnest_insert(
                "instruments",
                &[
                    ("instrument_id", I), ("symbol", T), ("base_asset", I), ("quote_asset", I), ("tick", B), ("lot", B),
                    ("qty_scale", B), ("min_qty", B), ("max_qty", B), ("min_notional", B), ("price_band_bps", I),
                    ("reference_price", B), ("state", T), ("perpetual", "boolean"), ("added_seq", B),
                    ("updated_seq", B),
                ],
                "ON CONFLICT (instrument_id) DO UPDATE SET state = EXCLUDED.state, \
                 reference_price = EXCLUDED.reference_price, updated_seq = EXCLUDED.updated_seq",
            ))
            .await?,
            // Orders created before the batch (in the table already). The batch's new orders
            // are copied (`copy_rows`): no conflict check.
            orders: p(unnest_insert(
                "orders",
                &[
                    ("order_id", B), ("account_id", I), ("instrument_id", I), ("client_order_id", B), ("side", T),
                    ("order_type", T), ("tif", T), ("price", B), ("qty", B), ("filled_qty", B), ("leaves_qty", B),
                    ("status", T), ("cancel_reason", T), ("created_seq", B), ("created_ts_ns", B),
                    ("updated_seq", B), ("updated_ts_ns", B),
                ],
                "ON CONFLICT (order_id) DO UPDATE SET price = EXCLUDED.price, qty = EXCLUDED.qty, \
                 filled_qty = EXCLUDED.filled_qty, leaves_qty = EXCLUDED.leaves_qty, status = EXCLUDED.status, \
                 cancel_reason = EXCLUDED.cancel_reason, updated_seq = EXCLUDED.updated_seq, \
                 updated_ts_ns = EXCLUDED.updated_ts_ns",
            ))
            .await?,
            balances: p(unnest_insert(
                "balances",
                &[("account_id", I), ("asset_id", I), ("available", B), ("reserved", B), ("updated_seq", B)],
                "ON CONFLICT (account_id, asset_id) DO UPDATE SET available = EXCLUDED.available, \
                 reserved = EXCLUDED.reserved, updated_seq = EXCLUDED.updated_seq",
            ))
            .await?,
            // The bucket is computed in SQL from the minute number; a later batch's trades in the
            // same minute extend the candle (open and first trade stay).
            candles: client
                .prepare(
                    "INSERT INTO candles (instrument_id, bucket_start, open, high, low, close, volume, quote_volume, \
                     trade_count, first_trade_id, last_trade_id) \
                     SELECT i, to_timestamp(m * 60), o, h, l, c, v, q, n, f, z FROM unnest($1::int[], $2::bigint[], \
                     $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], \
                     $10::bigint[], $11::bigint[]) AS u(i, m, o, h, l, c, v, q, n, f, z) \
                     ON CONFLICT (instrument_id, bucket_start) DO UPDATE SET high = greatest(candles.high, EXCLUDED.high), \
                     low = least(candles.low, EXCLUDED.low), close = EXCLUDED.close, \
                     volume = candles.volume + EXCLUDED.volume, quote_volume = candles.quote_volume + EXCLUDED.quote_volume, \
                     trade_count = candles.trade_count + EXCLUDED.trade_count, last_trade_id = EXCLUDED.last_trade_id",
                )
                .await?,
            futures: futures::FuturesStatements::prepare(client).await?,
        })
    }
}

/// Column `$f` of every row of `$rows`, as one array parameter.
macro_rules! col {
    ($rows:expr, $f:ident) => {
        $rows.iter().map(|r| r.$f.clone()).collect::<Vec<_>>()
    };
}

/// One statement's parameters.
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The parameters of one statement, each a column array.
macro_rules! params {
    ($($e:expr),* $(,)?) => {
        &[$($e as &(dyn ToSql + Sync)),*]
    };
}

// After the macros: the child module uses them.
mod futures;

/// Executes one multi-row statement (nothing for no rows).
async fn exec(
    tx: &Transaction<'_>,
    table: &'static str,
    statement: &Statement,
    params: &[&(dyn ToSql + Sync)],
    rows: usize,
) -> Result<u64, tokio_postgres::Error> {
    if rows == 0 {
        return Ok(0);
    }
    tracing::trace!(table, rows, "insert");
    tx.execute(statement, params).await
}

type P<'a> = &'a (dyn ToSql + Sync);

const ORDER_COLS: &[(&str, Type)] = &[
    ("order_id", Type::INT8),
    ("account_id", Type::INT4),
    ("instrument_id", Type::INT4),
    ("client_order_id", Type::INT8),
    ("side", Type::TEXT),
    ("order_type", Type::TEXT),
    ("tif", Type::TEXT),
    ("price", Type::INT8),
    ("qty", Type::INT8),
    ("filled_qty", Type::INT8),
    ("leaves_qty", Type::INT8),
    ("status", Type::TEXT),
    ("cancel_reason", Type::TEXT),
    ("created_seq", Type::INT8),
    ("created_ts_ns", Type::INT8),
    ("updated_seq", Type::INT8),
    ("updated_ts_ns", Type::INT8),
];
const TRANSFER_COLS: &[(&str, Type)] = &[
    ("seq", Type::INT8),
    ("kind", Type::TEXT),
    ("account_id", Type::INT4),
    ("asset_id", Type::INT4),
    ("amount", Type::INT8),
    ("tx_id", Type::INT8),
    ("ts_ns", Type::INT8),
];
const REJECTION_COLS: &[(&str, Type)] = &[
    ("seq", Type::INT8),
    ("idx", Type::INT4),
    ("account_id", Type::INT4),
    ("command", Type::TEXT),
    ("client_order_id", Type::INT8),
    ("order_id", Type::INT8),
    ("instrument_id", Type::INT4),
    ("reason", Type::TEXT),
    ("ts_ns", Type::INT8),
];
const ORDER_EVENT_COLS: &[(&str, Type)] = &[
    ("seq", Type::INT8),
    ("idx", Type::INT4),
    ("order_id", Type::INT8),
    ("account_id", Type::INT4),
    ("kind", Type::TEXT),
    ("price", Type::INT8),
    ("qty", Type::INT8),
    ("filled_qty", Type::INT8),
    ("leaves_qty", Type::INT8),
    ("trade_id", Type::INT8),
    ("cancel_reason", Type::TEXT),
    ("ts_ns", Type::INT8),
];
const TRADE_COLS: &[(&str, Type)] = &[
    ("trade_id", Type::INT8),
    ("seq", Type::INT8),
    ("instrument_id", Type::INT4),
    ("price", Type::INT8),
    ("qty", Type::INT8),
    ("notional", Type::INT8),
    ("taker_side", Type::TEXT),
    ("maker_order_id", Type::INT8),
    ("maker_account_id", Type::INT4),
    ("taker_order_id", Type::INT8),
    ("taker_account_id", Type::INT4),
    ("maker_fee", Type::INT8),
    ("taker_fee", Type::INT8),
    ("ts_ns", Type::INT8),
    ("liquidation", Type::BOOL),
];
const LEDGER_COLS: &[(&str, Type)] = &[
    ("seq", Type::INT8),
    ("idx", Type::INT4),
    ("account_id", Type::INT4),
    ("asset_id", Type::INT4),
    ("reason", Type::TEXT),
    ("available_delta", Type::INT8),
    ("reserved_delta", Type::INT8),
    ("available", Type::INT8),
    ("reserved", Type::INT8),
    ("ts_ns", Type::INT8),
];

/// `COPY table (cols) FROM STDIN BINARY` of `rows` rows, row `i` given by `row(i)`.
async fn copy_rows<'r, const N: usize>(
    tx: &Transaction<'_>,
    table: &str,
    cols: &[(&str, Type)],
    rows: usize,
    row: impl Fn(usize) -> [P<'r>; N],
) -> Result<u64, tokio_postgres::Error> {
    assert_eq!(cols.len(), N, "one value per column");
    if rows == 0 {
        return Ok(0);
    }
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let types: Vec<Type> = cols.iter().map(|c| c.1.clone()).collect();
    let sink = tx.copy_in(&format!("COPY {table} ({}) FROM STDIN BINARY", names.join(", "))).await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
    for i in 0..rows {
        writer.as_mut().write(&row(i)).await?;
    }
    writer.finish().await
}

/// Writes `group`'s rows of `batch` and moves the group's checkpoint from `prev_seq` to
/// `batch.last_seq`, in one transaction. Returns `false` (nothing written) when the group has
/// the batch already (`prev_seq` at its end: the catch-up batch of the lagging group).
pub async fn write(
    client: &mut Client,
    st: &Statements,
    batch: &Batch,
    group: Group,
    prev_seq: u64,
) -> Result<bool, WriteError> {
    assert!(batch.last_seq >= batch.first_seq, "a batch holds at least one record");
    if prev_seq >= batch.last_seq {
        assert_eq!(prev_seq, batch.last_seq, "a group ahead of the other is caught up in one batch that ends at it");
        assert_eq!(batch.rows_of(group), 0, "the catch-up batch holds only the lagging group's rows");
        return Ok(false);
    }
    assert_eq!(batch.first_seq, prev_seq + 1, "batches follow the checkpoint without a gap");
    let (first, last) = (batch.first_seq, batch.last_seq);
    let db = |source| WriteError::Db { first, last, source };
    let tx = client.transaction().await.map_err(db)?;
    let hash = batch.state_hash.to_be_bytes().to_vec();
    let params: [&(dyn ToSql + Sync); 5] =
        [&(last as i64), &hash, &(batch.last_ts_ns as i64), &group.checkpoint_id(), &(prev_seq as i64)];
    let moved = tx.execute(&st.checkpoint, &params).await.map_err(db)?;
    if moved != 1 {
        return Err(WriteError::CheckpointMoved { group: group.name(), expected: prev_seq });
    }
    match group {
        Group::State => {
            let st = st.state.as_ref().expect("the state group's connection prepared its upserts");
            upsert_current_state(&tx, st, batch).await.map_err(db)?
        }
        Group::History => copy_append_only(&tx, batch).await.map_err(db)?,
    }
    tx.commit().await.map_err(db)?;
    Ok(true)
}

/// The current-state tables: one multi-row statement each, all in flight at once
/// (tokio-postgres pipelines them on the connection), then the batch's new orders by binary
/// COPY.
async fn upsert_current_state(
    tx: &Transaction<'_>,
    st: &StateStatements,
    batch: &Batch,
) -> Result<(), tokio_postgres::Error> {
    let accounts: Vec<_> = batch.accounts.values().collect();
    let a = (col!(accounts, account_id), col!(accounts, status), col!(accounts, fee_tier));
    let a2 = (col!(accounts, created_seq), col!(accounts, updated_seq));
    let instruments: Vec<_> = batch.instruments.values().collect();
    let i1 = (col!(instruments, instrument_id), col!(instruments, symbol), col!(instruments, base_asset));
    let i2 =
        (col!(instruments, quote_asset), col!(instruments, tick), col!(instruments, lot), col!(instruments, qty_scale));
    let i3 = (col!(instruments, min_qty), col!(instruments, max_qty), col!(instruments, min_notional));
    let i4 = (col!(instruments, price_band_bps), col!(instruments, reference_price), col!(instruments, state));
    let i5 = (col!(instruments, perpetual), col!(instruments, added_seq), col!(instruments, updated_seq));
    // Orders accepted before the batch are in the table; the batch's own are not (the group's
    // checkpoint is the record before the batch).
    let first = batch.first_seq as i64;
    let (new_orders, old_orders): (Vec<&OrderRow>, Vec<&OrderRow>) =
        batch.orders.values().partition(|o| o.created_seq >= first);
    let o = &old_orders;
    let o1 = (col!(o, order_id), col!(o, account_id), col!(o, instrument_id), col!(o, client_order_id));
    let o2 = (col!(o, side), col!(o, order_type), col!(o, tif), col!(o, price), col!(o, qty));
    let o3 = (col!(o, filled_qty), col!(o, leaves_qty), col!(o, status), col!(o, cancel_reason));
    let o4 = (col!(o, created_seq), col!(o, created_ts_ns), col!(o, updated_seq), col!(o, updated_ts_ns));
    let balances: Vec<_> = batch.balances.values().collect();
    let b1 = (col!(balances, account_id), col!(balances, asset_id), col!(balances, available));
    let b2 = (col!(balances, reserved), col!(balances, updated_seq));
    let candles: Vec<_> = batch.candles.values().collect();
    let c1 = (col!(candles, instrument_id), col!(candles, minute), col!(candles, open), col!(candles, high));
    let c2 = (col!(candles, low), col!(candles, close), col!(candles, volume), col!(candles, quote_volume));
    let c3 = (col!(candles, trade_count), col!(candles, first_trade_id), col!(candles, last_trade_id));
    let p0: Params<'_> = params![&a.0, &a.1, &a.2, &a2.0, &a2.1];
    let p1: Params<'_> = params![
        &i1.0, &i1.1, &i1.2, &i2.0, &i2.1, &i2.2, &i2.3, &i3.0, &i3.1, &i3.2, &i4.0, &i4.1, &i4.2, &i5.0, &i5.1, &i5.2
    ];
    let p_orders: Params<'_> = params![
        &o1.0, &o1.1, &o1.2, &o1.3, &o2.0, &o2.1, &o2.2, &o2.3, &o2.4, &o3.0, &o3.1, &o3.2, &o3.3, &o4.0, &o4.1, &o4.2,
        &o4.3
    ];
    let p5: Params<'_> = params![&b1.0, &b1.1, &b1.2, &b2.0, &b2.1];
    let p8: Params<'_> = params![&c1.0, &c1.1, &c1.2, &c1.3, &c2.0, &c2.1, &c2.2, &c2.3, &c3.0, &c3.1, &c3.2];
    tokio::try_join!(
        exec(tx, "accounts", &st.accounts, p0, accounts.len()),
        exec(tx, "instruments", &st.instruments, p1, instruments.len()),
        exec(tx, "orders", &st.orders, p_orders, old_orders.len()),
        exec(tx, "balances", &st.balances, p5, balances.len()),
        exec(tx, "candles", &st.candles, p8, candles.len()),
        futures::upsert(tx, &st.futures, &batch.futures),
    )?;
    copy_rows(tx, "orders", ORDER_COLS, new_orders.len(), |i| {
        let r = new_orders[i];
        [
            &r.order_id as P,
            &r.account_id,
            &r.instrument_id,
            &r.client_order_id,
            &r.side,
            &r.order_type,
            &r.tif,
            &r.price,
            &r.qty,
            &r.filled_qty,
            &r.leaves_qty,
            &r.status,
            &r.cancel_reason,
            &r.created_seq,
            &r.created_ts_ns,
            &r.updated_seq,
            &r.updated_ts_ns,
        ]
    })
    .await?;
    Ok(())
}

/// The history group: every append-only table by binary COPY (no set-returning function, no
/// materialisation).
async fn copy_append_only(tx: &Transaction<'_>, batch: &Batch) -> Result<(), tokio_postgres::Error> {
    let (ev, tr, l) = (&batch.order_events, &batch.trades, &batch.ledger);
    copy_rows(tx, "order_events", ORDER_EVENT_COLS, ev.len(), |i| {
        let r = &ev[i];
        [
            &r.seq as P,
            &r.idx,
            &r.order_id,
            &r.account_id,
            &r.kind,
            &r.price,
            &r.qty,
            &r.filled_qty,
            &r.leaves_qty,
            &r.trade_id,
            &r.cancel_reason,
            &r.ts_ns,
        ]
    })
    .await?;
    copy_rows(tx, "trades", TRADE_COLS, tr.len(), |i| {
        let r = &tr[i];
        [
            &r.trade_id as P,
            &r.seq,
            &r.instrument_id,
            &r.price,
            &r.qty,
            &r.notional,
            &r.taker_side,
            &r.maker_order_id,
            &r.maker_account_id,
            &r.taker_order_id,
            &r.taker_account_id,
            &r.maker_fee,
            &r.taker_fee,
            &r.ts_ns,
            &r.liquidation,
        ]
    })
    .await?;
    copy_rows(tx, "balance_ledger", LEDGER_COLS, l.len(), |i| {
        let r = &l[i];
        [
            &r.seq as P,
            &r.idx,
            &r.account_id,
            &r.asset_id,
            &r.reason,
            &r.available_delta,
            &r.reserved_delta,
            &r.available,
            &r.reserved,
            &r.ts_ns,
        ]
    })
    .await?;
    let x = &batch.transfers;
    copy_rows(tx, "transfers", TRANSFER_COLS, x.len(), |i| {
        let r = &x[i];
        [&r.seq as P, &r.kind, &r.account_id, &r.asset_id, &r.amount, &r.tx_id, &r.ts_ns]
    })
    .await?;
    let j = &batch.rejections;
    copy_rows(tx, "rejections", REJECTION_COLS, j.len(), |i| {
        let r = &j[i];
        [
            &r.seq as P,
            &r.idx,
            &r.account_id,
            &r.command,
            &r.client_order_id,
            &r.order_id,
            &r.instrument_id,
            &r.reason,
            &r.ts_ns,
        ]
    })
    .await?;
    futures::copy_history(tx, &batch.futures).await
}
