//! Conditional orders in the matcher (issue #15): what armed stops cost the flows that trigger
//! none of them, and what a cascade costs.
//!
//! - **Resting stops**: the `feed-replay` flow (`book_flows.rs`) timed on an engine without armed
//!   orders and on the same engine with `--armed` stop-loss orders of another account armed far from
//!   the price (half buys above, half sells below, none reached), passes alternating; the figure is
//!   the ratio of the best thread-CPU ns per command (target ≤ 1.2).
//! - **Cascade**: `--cascade` sell stop-markets with triggers one tick apart below the last price,
//!   each above a resting bid one tick lower; one sell of one lot at the first bid fires the first
//!   stop, whose sale fires the next, and so on through all of them in one command. Time of that
//!   command, and per fired stop.
//!
//! `cargo run --release -p benches --bin stops -- [--armed 1000000] [--cascade 10000] [--runs 5]`
//! Prints one JSON line last.

use std::time::Instant;

use benches::book_flows::{self, FEED_REPLAY, INSTRUMENT};
use benches::flow::{instrument_spec, MID_TICKS};
use benches::stats::thread_cpu_ns;
use engine::*;

struct Args {
    armed: usize,
    cascade: usize,
    runs: usize,
    commands: usize,
}

fn parse_args() -> Args {
    let mut a = Args { armed: 1_000_000, cascade: 10_000, runs: 5, commands: 500_000 };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().and_then(|v| v.parse::<usize>().ok()).unwrap_or_else(|| panic!("{k} needs a number"));
        match k.as_str() {
            "--armed" => a.armed = v(),
            "--cascade" => a.cascade = v(),
            "--runs" => a.runs = v().max(1),
            "--commands" => a.commands = v(),
            "-h" | "--help" => {
                println!("stops [--armed N] [--cascade N] [--runs N] [--commands N]");
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// The account that arms the far stops (the flow trades as account 1).
const STOP_ACCOUNT: AccountId = 2;

fn stop_market(cid: ClientOrderId, instrument: InstrumentId, side: Side, trigger_price: Price) -> CommandKind {
    let order = NewOrder {
        client_order_id: cid,
        instrument,
        side,
        order_type: OrderType::Market,
        tif: TimeInForce::Ioc,
        stp: StpMode::None,
        price: 0,
        qty: 1,
    };
    CommandKind::NewStopOrder(StopOrder { order, trigger_price, trigger: TriggerKind::StopLoss })
}

/// A warmed engine for the flow, with `armed` far stops when asked.
fn warmed(flow: &book_flows::BookFlow, config: EngineConfig, armed: usize) -> (Engine, Seq) {
    let mut e = Engine::new(config);
    let mut seq = 0;
    let mut sink = CountingSink::default();
    for c in &flow.warmup {
        seq += 1;
        e.apply(seq, c, &mut sink);
    }
    for i in 0..armed as u64 {
        // Sells 200k-700k ticks below the mid, buys as far above: the flow's mid drifts by a few
        // hundred ticks at most.
        let (side, trigger) = if i % 2 == 0 {
            (Side::Sell, MID_TICKS - 200_000 - i / 2)
        } else {
            (Side::Buy, MID_TICKS + 200_000 + i / 2)
        };
        seq += 1;
        let cmd =
            Command { account: STOP_ACCOUNT, timestamp_ns: 1, kind: stop_market(i + 1, INSTRUMENT, side, trigger) };
        e.apply(seq, &cmd, &mut sink);
    }
    assert_eq!(e.armed_count() as usize, armed, "every far stop is armed");
    (e, seq)
}

#[inline(never)]
fn measured_pass(e: &mut Engine, seq: &mut Seq, cmds: &[Command], sink: &mut CountingSink) {
    for c in cmds {
        *seq += 1;
        e.apply(*seq, c, sink);
    }
}

/// Best thread-CPU ns per command over `runs` passes of each engine, alternating.
fn resting_stops(a: &Args) -> (f64, f64) {
    let flow = book_flows::generate(FEED_REPLAY, a.commands, 42);
    let base = book_flows::config(&FEED_REPLAY);
    // Room for the armed orders (at most a quarter of max_orders may be armed).
    let max_orders = base.max_orders + 4 * a.armed as u32 + 1024;
    let config = EngineConfig { max_orders, max_open_orders_per_account: max_orders, ..base };
    let (mut best_plain, mut best_armed) = (f64::MAX, f64::MAX);
    for run in 0..a.runs {
        for armed in [0, a.armed] {
            let (mut e, mut seq) = warmed(&flow, config, armed);
            let mut sink = CountingSink::default();
            let cpu0 = thread_cpu_ns();
            measured_pass(&mut e, &mut seq, &flow.measured, &mut sink);
            let ns = (thread_cpu_ns() - cpu0) as f64 / flow.measured.len() as f64;
            assert_eq!(e.armed_count() as usize, armed, "no far stop fired");
            eprintln!("run {run}: {} armed: {ns:.1} ns/command", armed);
            let best = if armed == 0 { &mut best_plain } else { &mut best_armed };
            *best = best.min(ns);
            std::hint::black_box(sink);
        }
    }
    (best_plain, best_armed)
}

/// One cascade of `n` stops: returns (ns for the command, events it emitted).
fn cascade_once(n: usize) -> (u64, u64) {
    let spec = InstrumentSpec { price_band_bps: 5_000, ..instrument_spec(1) };
    let max_orders = (4 * (2 * n + 16)) as u32;
    let config = EngineConfig {
        max_orders,
        max_instruments: 4,
        max_accounts: 16,
        max_open_orders_per_account: max_orders,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(config);
    let mut seq = 0;
    let mut sink = CountingSink::default();
    let mut run = |e: &mut Engine, account, kind, sink: &mut CountingSink| {
        seq += 1;
        e.apply(seq, &Command { account, timestamp_ns: 1, kind }, sink);
        seq
    };
    run(&mut e, 0, CommandKind::AddInstrument(spec), &mut sink);
    // Bids of one lot at every tick from 1 below the mid down; stops one tick above each.
    for i in 0..=n as u64 {
        let order = NewOrder {
            client_order_id: i + 1,
            instrument: spec.id,
            side: Side::Buy,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            price: MID_TICKS - 1 - i,
            qty: 1,
        };
        run(&mut e, 1, CommandKind::NewOrder(order), &mut sink);
    }
    for i in 0..n as u64 {
        run(&mut e, 2, stop_market(i + 1, spec.id, Side::Sell, MID_TICKS - 1 - i), &mut sink);
    }
    assert_eq!(e.armed_count() as usize, n);
    let taker = NewOrder {
        client_order_id: 1,
        instrument: spec.id,
        side: Side::Sell,
        order_type: OrderType::Limit,
        tif: TimeInForce::Ioc,
        stp: StpMode::None,
        price: MID_TICKS - 1,
        qty: 1,
    };
    let mut events = CountingSink::default();
    seq += 1;
    let cmd = Command { account: 3, timestamp_ns: 2, kind: CommandKind::NewOrder(taker) };
    let t = Instant::now();
    e.apply(seq, &cmd, &mut events);
    let ns = t.elapsed().as_nanos() as u64;
    assert_eq!(e.armed_count(), 0, "the cascade fired every stop");
    (ns, events.events)
}

fn main() {
    let a = parse_args();
    let (plain, armed) = resting_stops(&a);
    let ratio = armed / plain;
    println!(
        "flow feed-replay, {} commands: {plain:.1} ns/command without stops, {armed:.1} with {} armed: {ratio:.3}x",
        a.commands, a.armed
    );
    let mut cascades: Vec<(u64, u64)> = (0..a.runs).map(|_| cascade_once(a.cascade)).collect();
    cascades.sort();
    let (best, events) = cascades[0];
    let median = cascades[cascades.len() / 2].0;
    println!(
        "cascade of {} stops in one command: best {:.2} ms, median {:.2} ms, {:.0} ns per stop (best), {events} events",
        a.cascade,
        best as f64 / 1e6,
        median as f64 / 1e6,
        best as f64 / a.cascade as f64
    );
    println!(
        "{{\"bench\":\"stops\",\"flow\":\"feed-replay\",\"commands\":{},\"armed\":{},\"ns_per_command_without\":{plain:.1},\"ns_per_command_with\":{armed:.1},\"ratio\":{ratio:.3},\"cascade_stops\":{},\"cascade_best_ms\":{:.3},\"cascade_median_ms\":{:.3},\"cascade_ns_per_stop\":{:.0},\"cascade_events\":{events}}}",
        a.commands,
        a.armed,
        a.cascade,
        best as f64 / 1e6,
        median as f64 / 1e6,
        best as f64 / a.cascade as f64
    );
}
