//! `export`: replay and write orders (accepted, cancelled, amended, trimmed), trades, balance
//! changes, or perpetuals' positions and futures wallets as CSV or JSON lines, for loading into a warehouse. JSON follows [`crate::json_value`]: ids,
//! sequence numbers, prices, quantities, fees and balances are decimal strings (the same digits
//! as the CSV), account, instrument and asset ids numbers.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use engine::{Command, Event, EventKind};
use serde_json::{json, Value};

use super::render::{order_type_name, side_name, tif_name};
use super::replay::{bar, run as replay, start_at};
use super::scan::{damage_error, walk, DataDir, Decoded, Flow};
use super::timefmt::{format_ns, parse_point, Point};
use super::{Format, ToolError, What, EXIT_OK};
use crate::json_value::int;

const ORDER_COLUMNS: &[&str] = &[
    "seq",
    "time",
    "event",
    "account",
    "order_id",
    "client_order_id",
    "instrument",
    "side",
    "type",
    "tif",
    "price",
    "qty",
    "leaves",
    "filled",
    "reason",
];
const TRADE_COLUMNS: &[&str] = &[
    "seq",
    "time",
    "trade_id",
    "instrument",
    "price",
    "qty",
    "taker_side",
    "maker_order_id",
    "maker_account",
    "taker_order_id",
    "taker_account",
    "maker_fee",
    "taker_fee",
];
const BALANCE_COLUMNS: &[&str] = &["seq", "time", "account", "asset", "available", "reserved", "reason"];
const POSITION_COLUMNS: &[&str] = &[
    "seq",
    "time",
    "account",
    "instrument",
    "size",
    "cost",
    "entry_price",
    "realised_pnl",
    "isolated_margin",
    "liq_price",
];
const WALLET_COLUMNS: &[&str] = &["seq", "time", "account", "asset", "wallet", "spot"];

/// One output row, as ordered (column, value) pairs.
fn rows(what: What, seq: u64, cmd: &Command, ev: &Event) -> Option<Vec<(&'static str, Value)>> {
    let time = json!(format_ns(cmd.timestamp_ns));
    let head = |v: &mut Vec<(&'static str, Value)>| {
        v.push(("seq", int(seq)));
        v.push(("time", time.clone()));
    };
    let mut v = Vec::with_capacity(16);
    match (what, &ev.kind) {
        (What::Orders, EventKind::Accepted(a)) => {
            head(&mut v);
            v.extend([
                ("event", json!("accepted")),
                ("account", int(a.account)),
                ("order_id", int(a.order_id)),
                ("client_order_id", int(a.client_order_id)),
                ("instrument", int(a.instrument)),
                ("side", json!(side_name(a.side))),
                ("type", json!(order_type_name(a.order_type))),
                ("tif", json!(tif_name(a.tif))),
                ("price", int(a.price)),
                ("qty", int(a.qty)),
                ("leaves", int(a.qty)),
                ("filled", int(0u64)),
                ("reason", json!("")),
            ]);
        }
        (What::Orders, EventKind::Cancelled(c)) => {
            head(&mut v);
            v.extend([
                ("event", json!("cancelled")),
                ("account", int(c.account)),
                ("order_id", int(c.order_id)),
                ("client_order_id", int(c.client_order_id)),
                ("instrument", int(c.instrument)),
                ("side", json!(side_name(c.side))),
                ("type", json!("")),
                ("tif", json!("")),
                ("price", json!("")),
                ("qty", int(c.cancelled_qty.saturating_add(c.filled_qty))),
                ("leaves", int(0u64)),
                ("filled", int(c.filled_qty)),
                ("reason", json!(format!("{:?}", c.reason))),
            ]);
        }
        (What::Orders, EventKind::Amended(a)) => {
            head(&mut v);
            v.extend([
                ("event", json!("amended")),
                ("account", int(a.account)),
                ("order_id", int(a.order_id)),
                ("client_order_id", int(a.client_order_id)),
                ("instrument", int(a.instrument)),
                ("side", json!(side_name(a.side))),
                ("type", json!("")),
                ("tif", json!("")),
                ("price", int(a.price)),
                ("qty", int(a.qty)),
                ("leaves", int(a.leaves)),
                ("filled", int(a.qty.saturating_sub(a.leaves))),
                ("reason", json!(if a.kept_priority { "kept_priority" } else { "lost_priority" })),
            ]);
        }
        (What::Trades, EventKind::Trade(t)) => {
            head(&mut v);
            v.extend([
                ("trade_id", int(t.trade_id)),
                ("instrument", int(t.instrument)),
                ("price", int(t.price)),
                ("qty", int(t.qty)),
                ("taker_side", json!(side_name(t.taker_side))),
                ("maker_order_id", int(t.maker_order_id)),
                ("maker_account", int(t.maker_account)),
                ("taker_order_id", int(t.taker_order_id)),
                ("taker_account", int(t.taker_account)),
                ("maker_fee", int(t.maker_fee)),
                ("taker_fee", int(t.taker_fee)),
            ]);
        }
        (What::Orders, EventKind::Trimmed(t)) => {
            head(&mut v);
            v.extend([
                ("event", json!("trimmed")),
                ("account", int(t.account)),
                ("order_id", int(t.order_id)),
                ("client_order_id", int(t.client_order_id)),
                ("instrument", int(t.instrument)),
                ("side", json!(side_name(t.side))),
                ("type", json!("")),
                ("tif", json!("")),
                ("price", json!("")),
                ("qty", json!("")),
                ("leaves", int(t.leaves)),
                ("filled", json!("")),
                ("reason", json!(format!("reduce_only cut={}", t.cut))),
            ]);
        }
        (What::Positions, EventKind::PositionChanged(p)) => {
            head(&mut v);
            v.extend([
                ("account", int(p.account)),
                ("instrument", int(p.instrument)),
                ("size", int(p.size)),
                ("cost", int(p.cost)),
                ("entry_price", int(p.entry_price)),
                ("realised_pnl", int(p.realised_pnl)),
                ("isolated_margin", int(p.isolated_margin)),
                ("liq_price", int(p.liq_price)),
            ]);
        }
        (What::Wallets, EventKind::WalletChanged(w)) => {
            head(&mut v);
            v.extend([
                ("account", int(w.account)),
                ("asset", int(w.asset)),
                ("wallet", int(w.wallet)),
                ("spot", int(w.spot)),
            ]);
        }
        (What::Balances, EventKind::BalanceChanged(b)) => {
            head(&mut v);
            v.extend([
                ("account", int(b.account)),
                ("asset", int(b.asset)),
                ("available", int(b.available)),
                ("reserved", int(b.reserved)),
                ("reason", json!(format!("{:?}", b.reason).to_lowercase())),
            ]);
        }
        _ => return None,
    }
    Some(v)
}

fn csv_field(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Resolves a `--from`/`--to` point to a sequence number (times by a scan of the journal).
fn resolve(data: &DataDir, p: Option<&str>, is_from: bool) -> Result<Option<u64>, ToolError> {
    let Some(p) = p else { return Ok(None) };
    match parse_point(p).map_err(ToolError::usage)? {
        Point::Seq(s) => Ok(Some(s)),
        Point::Time(t) => {
            // from: the first command stamped at or after t; to: the last at or before t.
            let mut found = None;
            walk(data, 0, |at, d| {
                if let Decoded::Command(c) = d {
                    if is_from && c.timestamp_ns >= t {
                        found = Some(at.seq);
                        return Ok(Flow::Stop);
                    }
                    if !is_from {
                        if c.timestamp_ns > t {
                            return Ok(Flow::Stop);
                        }
                        found = Some(at.seq);
                    }
                }
                Ok(Flow::Continue)
            })?;
            Ok(Some(found.unwrap_or(if is_from { u64::MAX } else { 0 })))
        }
    }
}

pub fn run(
    root: &Path,
    what: What,
    format: Format,
    from: Option<String>,
    to: Option<String>,
    output: Option<PathBuf>,
    use_snapshots: bool,
) -> Result<i32, ToolError> {
    let data = DataDir::open(root)?;
    let from = resolve(&data, from.as_deref(), true)?.unwrap_or(0);
    let to = resolve(&data, to.as_deref(), false)?.unwrap_or(u64::MAX);
    let sink: Box<dyn Write> = match &output {
        Some(p) => Box::new(File::create(p).map_err(|e| ToolError::error(format!("creating {}: {e}", p.display())))?),
        None => Box::new(std::io::stdout()),
    };
    let mut w = BufWriter::with_capacity(1 << 16, sink);
    let columns = match what {
        What::Orders => ORDER_COLUMNS,
        What::Trades => TRADE_COLUMNS,
        What::Balances => BALANCE_COLUMNS,
        What::Positions => POSITION_COLUMNS,
        What::Wallets => WALLET_COLUMNS,
    };
    if format == Format::Csv {
        writeln!(w, "{}", columns.join(","))?;
    }
    // Events before `from` are not written, so the newest snapshot before it is a fine start.
    let start = start_at(&data, from.saturating_sub(1).max(1), use_snapshots)?;
    let mut engine = start.engine;
    let mut events: Vec<Event> = Vec::with_capacity(1024);
    let mut written = 0u64;
    let mut io_err = None;
    let pb = bar(None, "exporting");
    let end = replay(&data, &mut engine, to, u64::MAX, &mut events, &pb, |_, seq, cmd, ev| {
        if seq >= from {
            for e in ev.iter() {
                let Some(row) = rows(what, seq, cmd, e) else { continue };
                let r = match format {
                    Format::Csv => {
                        let line: Vec<String> = row.iter().map(|(_, v)| csv_field(v)).collect();
                        writeln!(w, "{}", line.join(","))
                    }
                    Format::Jsonl => {
                        let obj: serde_json::Map<String, Value> =
                            row.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                        writeln!(w, "{}", Value::Object(obj))
                    }
                };
                if let Err(e) = r {
                    io_err = Some(e);
                    return Ok(Flow::Stop);
                }
                written += 1;
            }
        }
        ev.clear();
        Ok(Flow::Continue)
    })?;
    pb.finish_and_clear();
    if let Some(e) = io_err {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
        return Ok(EXIT_OK);
    }
    match w.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    eprintln!("export: {written} rows; replayed {}", end.speed());
    if let Some(c) = end.end.broken {
        // Everything before the damage was written; the exit code says how the journal ends.
        if to == u64::MAX || engine.last_seq() < to {
            return Err(damage_error(&data, &c));
        }
    }
    Ok(EXIT_OK)
}
