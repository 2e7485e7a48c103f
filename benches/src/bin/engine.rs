//! `engine` benchmark: the matching core alone, single-threaded, on
//! pre-generated realistic flows. Prints one JSON line per case, the
//! exchange-core mix last.
//!
//! `cargo run --release -p benches --bin engine -- [--quick] [--commands N] [--seed S]`

use std::time::Instant;

use benches::alloc_counter::{self, CountingAlloc};
use benches::flow::{self, FlowGen, FlowShape, Mix};
use benches::stats::{latency_histogram, percentiles_json, timer_overhead_ns};
use engine::*;
use hdrhistogram::Histogram;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

struct Args {
    quick: bool,
    commands: usize,
    seed: u64,
}

fn args() -> Args {
    let mut a = Args { quick: false, commands: 0, seed: 42 };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        match s.as_str() {
            "--quick" => a.quick = true,
            "--commands" => a.commands = it.next().and_then(|v| v.parse().ok()).expect("--commands N"),
            "--seed" => a.seed = it.next().and_then(|v| v.parse().ok()).expect("--seed S"),
            "--bench" => {}
            other => panic!("unknown argument {other}; usage: engine [--quick] [--commands N] [--seed S]"),
        }
    }
    if a.commands == 0 {
        a.commands = if a.quick { 1_000_000 } else { 5_000_000 };
    }
    a
}

fn config() -> EngineConfig {
    EngineConfig {
        max_orders: 1 << 16,
        max_instruments: 64,
        max_accounts: 4096,
        max_open_orders_per_account: 10_000,
        ..EngineConfig::default()
    }
}

/// Which histogram a command's latency goes to.
fn kind_index(c: &Command) -> usize {
    match c.kind {
        CommandKind::NewOrder(_) => 0,
        CommandKind::Cancel(_) => 1,
        CommandKind::Amend(_) => 2,
        _ => 3,
    }
}

struct Flow {
    warmup: Vec<Command>,
    measured: Vec<Command>,
    trade_cmd_pct: f64,
    resting: usize,
    expected_hash: u128,
}

fn generate(mix: &Mix, shape: FlowShape, n: usize, seed: u64) -> Flow {
    let mut g = FlowGen::new(seed, shape, config());
    let mut warmup = g.setup_commands();
    let target = shape.orders_per_book * shape.instruments as usize;
    while g.live_orders() < target || warmup.len() < 50_000 {
        warmup.push(g.next(mix));
    }
    let (t0, c0) = (g.trading_cmds, g.cmds);
    let measured: Vec<Command> = (0..n).map(|_| g.next(mix)).collect();
    let trade_cmd_pct = 100.0 * (g.trading_cmds - t0) as f64 / (g.cmds - c0) as f64;
    Flow { warmup, measured, trade_cmd_pct, resting: g.live_orders(), expected_hash: g.state_hash() }
}

fn warmed_engine(f: &Flow) -> (Engine, Seq) {
    let mut e = Engine::new(config());
    let mut sink = CountingSink::default();
    let mut seq = 0;
    for c in &f.warmup {
        seq += 1;
        e.apply(seq, c, &mut sink);
    }
    (e, seq)
}

/// Median of `runs` timed passes over the measured commands, in commands/s.
fn throughput(f: &Flow, runs: usize) -> (f64, u64) {
    let mut rates = Vec::new();
    let mut allocs = 0;
    for _ in 0..runs {
        let (mut e, mut seq) = warmed_engine(f);
        let mut sink = CountingSink::default();
        let a0 = alloc_counter::allocations();
        let t = Instant::now();
        for c in &f.measured {
            seq += 1;
            e.apply(seq, c, &mut sink);
        }
        let dt = t.elapsed();
        allocs = alloc_counter::allocations() - a0;
        assert_eq!(e.state_hash(), f.expected_hash, "measured engine diverged from the generator's");
        rates.push(f.measured.len() as f64 / dt.as_secs_f64());
        std::hint::black_box(sink);
    }
    rates.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    (rates[rates.len() / 2], allocs)
}

/// Per-command latency (timer included) overall and per command type.
fn latency(f: &Flow) -> (Histogram<u64>, [Histogram<u64>; 4]) {
    let (mut e, mut seq) = warmed_engine(f);
    let mut sink = CountingSink::default();
    let mut all = latency_histogram();
    let mut per: [Histogram<u64>; 4] = std::array::from_fn(|_| latency_histogram());
    for c in &f.measured {
        seq += 1;
        let t = Instant::now();
        e.apply(seq, c, &mut sink);
        let ns = t.elapsed().as_nanos() as u64;
        all.record(ns.max(1)).expect("in range");
        per[kind_index(c)].record(ns.max(1)).expect("in range");
    }
    (all, per)
}

fn run_mix(mix: &Mix, a: &Args, timer_ns: u64) -> Histogram<u64> {
    let f = generate(mix, flow::EXCHANGE_CORE_SHAPE, a.commands, a.seed);
    let (rate, allocs) = throughput(&f, if a.quick { 3 } else { 5 });
    let (all, per) = latency(&f);
    println!(
        "{{\"bench\":\"engine\",\"mix\":\"{}\",\"accounts\":false,\"instruments\":{},\"commands\":{},\"cmds_per_sec\":{:.0},{},\"new_p50_ns\":{},\"cancel_p50_ns\":{},\"cancel_p99_ns\":{},\"amend_p50_ns\":{},\"trade_cmd_pct\":{:.2},\"resting_orders\":{},\"steady_state_allocations\":{},\"timer_overhead_ns\":{}}}",
        mix.name,
        flow::EXCHANGE_CORE_SHAPE.instruments,
        f.measured.len(),
        rate,
        percentiles_json(&all),
        per[0].value_at_quantile(0.5),
        per[1].value_at_quantile(0.5),
        per[1].value_at_quantile(0.99),
        per[2].value_at_quantile(0.5),
        f.trade_cmd_pct,
        f.resting,
        allocs,
        timer_ns
    );
    per[1].clone()
}

/// Hundreds of thousands of resting orders, thousands per level: cancels
/// must stay as cheap as in a shallow book. Also reports memory.
fn deep_book(a: &Args, shallow_cancel: &Histogram<u64>, timer_ns: u64) {
    let levels_per_side: u64 = 50;
    let per_level: u64 = if a.quick { 2000 } else { 3000 };
    let resting = (2 * levels_per_side * per_level) as u32;
    let cfg = EngineConfig {
        max_orders: resting + resting / 16,
        max_instruments: 4,
        max_accounts: 4096,
        max_open_orders_per_account: resting,
        ..EngineConfig::default()
    };
    let shape =
        FlowShape { instruments: 1, accounts: 2000, orders_per_book: resting as usize, price_slots: 50, max_lots: 100 };
    let mut g = FlowGen::new(a.seed, shape, cfg);
    let mut build = g.setup_commands();
    for i in 0..per_level {
        for l in 1..=levels_per_side {
            let acct = 1 + ((i * 97 + l) % 2000) as u32;
            build.push(g.place(acct, 1, Side::Buy, flow::MID_TICKS - l, 1 + (i % 50)));
            build.push(g.place(acct, 1, Side::Sell, flow::MID_TICKS + l, 1 + (i % 50)));
        }
    }
    // Measured: cancel a random resting order, then place one at a random level.
    let ops = if a.quick { 200_000 } else { 1_000_000 };
    let mut measured = Vec::with_capacity(ops);
    for i in 0..ops / 2 {
        measured.push(g.cancel_random(0).expect("deep book is not empty"));
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let l = 1 + g.below(levels_per_side);
        let price = if side == Side::Buy { flow::MID_TICKS - l } else { flow::MID_TICKS + l };
        measured.push(g.place(1 + (i % 2000) as u32, 1, side, price, 10));
    }

    let before = alloc_counter::bytes_in_use();
    let mut e = Engine::new(cfg);
    let mut sink = CountingSink::default();
    let mut seq = 0;
    for c in &build {
        seq += 1;
        e.apply(seq, c, &mut sink);
    }
    let engine_bytes = alloc_counter::bytes_in_use() - before;
    let live = e.live_orders();
    let mut cancels = latency_histogram();
    let mut places = latency_histogram();
    let t_all = Instant::now();
    for c in &measured {
        seq += 1;
        let t = Instant::now();
        e.apply(seq, c, &mut sink);
        let ns = (t.elapsed().as_nanos() as u64).max(1);
        match c.kind {
            CommandKind::Cancel(_) => cancels.record(ns).expect("in range"),
            _ => places.record(ns).expect("in range"),
        }
    }
    let rate = measured.len() as f64 / t_all.elapsed().as_secs_f64();
    assert_eq!(e.state_hash(), g.state_hash(), "deep-book engine diverged");
    println!(
        "{{\"bench\":\"engine\",\"mix\":\"deep-book\",\"resting_orders\":{},\"levels\":{},\"orders_per_level\":{},\"cmds_per_sec\":{:.0},\"cancel_p50_ns\":{},\"cancel_p99_ns\":{},\"cancel_p999_ns\":{},\"place_p50_ns\":{},\"place_p99_ns\":{},\"shallow_cancel_p50_ns\":{},\"shallow_cancel_p99_ns\":{},\"deep_vs_shallow_cancel_p50\":{:.2},\"engine_heap_bytes\":{},\"order_capacity\":{},\"bytes_per_resting_order\":{:.1},\"timer_overhead_ns\":{}}}",
        live,
        2 * levels_per_side,
        per_level,
        rate,
        cancels.value_at_quantile(0.5),
        cancels.value_at_quantile(0.99),
        cancels.value_at_quantile(0.999),
        places.value_at_quantile(0.5),
        places.value_at_quantile(0.99),
        shallow_cancel.value_at_quantile(0.5),
        shallow_cancel.value_at_quantile(0.99),
        cancels.value_at_quantile(0.5) as f64 / shallow_cancel.value_at_quantile(0.5).max(1) as f64,
        engine_bytes,
        cfg.max_orders,
        engine_bytes as f64 / live as f64,
        timer_ns
    );
}

fn main() {
    let a = args();
    let timer_ns = timer_overhead_ns();
    eprintln!(
        "engine bench: {} commands per mix, seed {}, size_of::<Command>() = {}",
        a.commands,
        a.seed,
        std::mem::size_of::<Command>()
    );
    run_mix(&flow::INSERT_HEAVY, &a, timer_ns);
    let mut ec_args = Args { ..a };
    ec_args.quick = a.quick;
    // Shallow cancel latency comes from the exchange-core flow, measured last.
    let shallow = {
        let f = generate(&flow::EXCHANGE_CORE, flow::EXCHANGE_CORE_SHAPE, 200_000, a.seed + 1);
        latency(&f).1[1].clone()
    };
    deep_book(&ec_args, &shallow, timer_ns);
    run_mix(&flow::EXCHANGE_CORE, &ec_args, timer_ns);
}
