//! `replay --to SEQ|TIME`: the state at a point: an instrument's book, an account, or a summary.

use std::path::Path;

use engine::{CountingSink, Engine, Side};

use super::render::{side_name, state_name, stp_name, tif_name};
use super::replay::{bar, run as replay, start_at};
use super::scan::{walk, DataDir, Decoded, Flow};
use super::timefmt::{format_ns, parse_point, Point};
use super::{Out, ToolError, EXIT_OK};

/// The sequence of the last command stamped at or before `t` (stopping at the first one after
/// it, in sequence order), and whether any command is later.
fn seq_at_time(data: &DataDir, t: u64) -> Result<u64, ToolError> {
    let mut last = 0;
    let pb = bar(None, "finding the time");
    let end = walk(data, 0, |at, d| {
        if let Decoded::Command(c) = d {
            if c.timestamp_ns > t {
                return Ok(Flow::Stop);
            }
        }
        last = at.seq;
        Ok(Flow::Continue)
    })?;
    pb.finish_and_clear();
    if let Some(c) = end.broken {
        if !end.stopped {
            eprintln!("warning: the journal ends in damage: {c}");
        }
    }
    if last == 0 {
        return Err(ToolError::error(format!("no command is stamped at or before {}", format_ns(t))));
    }
    Ok(last)
}

pub fn run(
    root: &Path,
    to: &str,
    instrument: Option<u32>,
    account: Option<u32>,
    depth: usize,
    use_snapshots: bool,
) -> Result<i32, ToolError> {
    let data = DataDir::open(root)?;
    let target = match parse_point(to).map_err(ToolError::usage)? {
        Point::Seq(s) => s,
        Point::Time(t) => seq_at_time(&data, t)?,
    };
    let start = start_at(&data, target, use_snapshots)?;
    let from = match &start.snapshot {
        Some((p, s)) => format!("snapshot {} (seq {s})", p.display()),
        None => "the journal's beginning".to_string(),
    };
    let mut engine = start.engine;
    let pb = bar(Some(target.saturating_sub(engine.last_seq())), "replaying");
    let mut sink = CountingSink::default();
    let end = replay(&data, &mut engine, target, u64::MAX, &mut sink, &pb, |_, _, _, _| Ok(Flow::Continue))?;
    pb.finish_and_clear();
    if engine.last_seq() < target {
        let why = end.end.broken.map_or_else(|| "the journal ends there".to_string(), |c| c.to_string());
        return Err(ToolError::error(format!(
            "cannot reach sequence {target}: the state stops at {} ({why})",
            engine.last_seq()
        )));
    }
    eprintln!("replay: from {from}: {}", end.speed());
    let mut out = Out::stdout();
    out.line(&format!("state at sequence {} (from {from}, then {} commands)", engine.last_seq(), end.commands))?;
    out.line(&format!("state hash: {:032x}", engine.state_hash()))?;
    if let Some(i) = instrument {
        print_book(&mut out, &engine, i, depth)?;
    }
    if let Some(a) = account {
        print_account(&mut out, &engine, a)?;
    }
    if instrument.is_none() && account.is_none() {
        let (next_order, next_trade) = engine.next_ids();
        out.line(&format!(
            "live orders: {}; next order id {next_order}; next trade id {next_trade}; risk checks {}",
            engine.live_orders(),
            engine.risk_checks()
        ))?;
        for id in engine.instrument_ids().collect::<Vec<_>>() {
            let v = engine.instrument(id).expect("listed");
            let top =
                |side| engine.levels(id, side).first().map_or("-".to_string(), |l| format!("{} x {}", l.price, l.qty));
            out.line(&format!(
                "instrument {id} {} {}: bid {} / ask {} ({} / {} levels)",
                v.spec.symbol_str(),
                state_name(v.state),
                top(Side::Buy),
                top(Side::Sell),
                engine.levels(id, Side::Buy).len(),
                engine.levels(id, Side::Sell).len()
            ))?;
        }
    }
    out.finish()?;
    Ok(EXIT_OK)
}

fn print_book(out: &mut Out, engine: &Engine, id: u32, depth: usize) -> Result<(), ToolError> {
    let Some(v) = engine.instrument(id) else {
        return Err(ToolError::error(format!("instrument {id} does not exist at sequence {}", engine.last_seq())));
    };
    out.line(&format!(
        "instrument {id} {} state={} reference_price={} tick={} lot={}",
        v.spec.symbol_str(),
        state_name(v.state),
        v.reference_price,
        v.spec.tick,
        v.spec.lot
    ))?;
    for side in [Side::Sell, Side::Buy] {
        let levels = engine.levels(id, side);
        let orders = engine.book_orders(id, side);
        let name = if side == Side::Sell { "asks" } else { "bids" };
        out.line(&format!("  {name}: {} levels, {} orders (best first, {depth} shown)", levels.len(), orders.len()))?;
        let mut it = orders.iter().peekable();
        for l in levels.iter().take(depth) {
            out.line(&format!("    {:>14} qty {:>14} orders {:>6}", l.price, l.qty, l.order_count))?;
            while let Some(o) = it.next_if(|o| o.price == l.price) {
                out.line(&format!(
                    "      order {:>10} account {:>6} client_order_id {:>10} qty {:>12} leaves {:>12} {} stp={}",
                    o.order_id,
                    o.account,
                    o.client_order_id,
                    o.qty,
                    o.leaves,
                    tif_name(o.tif),
                    stp_name(o.stp)
                ))?;
            }
        }
    }
    Ok(())
}

fn print_account(out: &mut Out, engine: &Engine, a: u32) -> Result<(), ToolError> {
    let status = engine.account_status(a);
    out.line(&format!(
        "account {a}: {}",
        match status {
            Some((s, tier)) => format!("{s:?} tier {tier}"),
            None if engine.risk_checks() => "does not exist".to_string(),
            None => "(matching only: no balances)".to_string(),
        }
    ))?;
    if engine.risk_checks() {
        let assets = engine.config().max_assets;
        for asset in 0..assets {
            let (available, reserved) = engine.balance(a, asset);
            if available != 0 || reserved != 0 {
                out.line(&format!("  asset {asset:>4}: available {available:>20} reserved {reserved:>20}"))?;
            }
        }
    }
    let orders = engine.account_orders(a);
    out.line(&format!("  open orders: {}", orders.len()))?;
    for o in orders {
        out.line(&format!(
            "    order {:>10} instrument {:>4} {:<4} price {:>12} qty {:>12} leaves {:>12} client_order_id {} {}",
            o.order_id,
            o.instrument,
            side_name(o.side),
            o.price,
            o.qty,
            o.leaves,
            o.client_order_id,
            tif_name(o.tif)
        ))?;
    }
    Ok(())
}
