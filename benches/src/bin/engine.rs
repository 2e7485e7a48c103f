//! `engine` benchmark: the matching core alone, single-threaded, on
//! pre-generated realistic flows. Prints one JSON line per case, the
//! exchange-core mix last.
//!
//! Before that last line, one line per peer order book from the package
//! registry (`impl`: matchcore, orderbook-rs, lobster, rust-order-book; see
//! `benches/src/peers/`) per mix, fed the same flow and timed in
//! alternation with matchd; the last line repeats the exchange-core ratios.
//!
//! Then the three flows of issue #14 (`benches::book_flows`: one
//! instrument, one account, limits and cancels by client id, 100k and 500k
//! resting orders and a feed-like shallow book), each beside the peers.
//!
//! `cargo run --release -p benches --bin engine -- [--quick] [--commands N] [--seed S] [--no-peers] [--book-flows] [--flow NAME] [--runs N] [--lookahead N] [--spacing N] [--command-ahead N]`
//! (`--flow exchange-core`: only the matching-only exchange-core line; `--flow
//! exchange-core-accounts`: only the same with accounts on; `--book-flows`: only
//! the three book flows, `--book-flows --flow NAME` one of them; `--lookahead N`: a
//! `Prefetcher` of N stages (at most 3), as the matcher runs 3, the default; 2 with `--spacing 1`
//! is the matcher before its third stage; 0 never prefetches; `--spacing N`: its stages N
//! commands apart (1 to 7), the first stage `stages × N` commands ahead of the one applied; 3,
//! the matcher's, by default; 1 is the matcher before its stages were spaced out;
//! `--command-ahead N`: its command stage N commands ahead, 0 none; the matcher's by default.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use benches::alloc_counter::{self, CountingAlloc};
use benches::book_flows;
use benches::class_times::{ClassTimes, CommandClass};
use benches::flow::{self, FlowGen, FlowShape, Mix};
use benches::input_cache;
use benches::peers;
use benches::stats::{latency_histogram, percentiles_json, thread_cpu_ns, timer_overhead_ns};
use engine::*;
use hdrhistogram::Histogram;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[derive(Clone)]
struct Args {
    quick: bool,
    commands: usize,
    seed: u64,
    peers: bool,
    /// Only the issue-14 book flows (`--book-flows`), for quick comparisons.
    book_flows_only: bool,
    /// Timed passes per flow (0: 3 with --quick, else 5).
    runs: usize,
    /// `--flow NAME`: of the issue-14 flows, only this one; `--flow exchange-core`: only the
    /// matching-only exchange-core mix; `--flow exchange-core-accounts`: only that mix with
    /// accounts on.
    flow: Option<String>,
}

fn args() -> Args {
    let mut a = Args { quick: false, commands: 0, seed: 42, peers: true, book_flows_only: false, runs: 0, flow: None };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        match s.as_str() {
            "--quick" => a.quick = true,
            "--commands" => a.commands = it.next().and_then(|v| v.parse().ok()).expect("--commands N"),
            "--seed" => a.seed = it.next().and_then(|v| v.parse().ok()).expect("--seed S"),
            "--no-peers" => a.peers = false,
            "--book-flows" => a.book_flows_only = true,
            "--flow" => a.flow = Some(it.next().expect("--flow NAME")),
            "--runs" => a.runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--lookahead" => {
                let n = it.next().and_then(|v| v.parse().ok()).expect("--lookahead N");
                LOOKAHEAD.store(n, Ordering::Relaxed);
            }
            "--spacing" => {
                let n = it.next().and_then(|v| v.parse().ok()).expect("--spacing N");
                SPACING.store(n, Ordering::Relaxed);
            }
            "--command-ahead" => {
                let n = it.next().and_then(|v| v.parse().ok()).expect("--command-ahead N");
                COMMAND_AHEAD_OPT.store(n, Ordering::Relaxed);
            }
            "--bench" => {}
            other => panic!("unknown argument {other}; usage: engine [--quick] [--commands N] [--seed S] [--no-peers] [--book-flows] [--flow NAME] [--runs N] [--lookahead N] [--spacing N] [--command-ahead N]"),
        }
    }
    if a.runs == 0 {
        a.runs = if a.quick { 3 } else { 5 };
    }
    if a.commands == 0 {
        a.commands = if a.quick { 1_000_000 } else { 5_000_000 };
    }
    a
}

/// Capacities for the flows; other fields (added as the engine grows) keep
/// their defaults, hence the possibly needless update.
#[allow(clippy::needless_update)]
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
    config: EngineConfig,
    warmup: Vec<Command>,
    measured: Vec<Command>,
    trade_cmd_pct: f64,
    resting: usize,
    expected_hash: u128,
    /// Instruments the flow trades (ids 1..=n).
    instruments: u32,
}

fn generate(mix: &Mix, shape: FlowShape, n: usize, seed: u64) -> Flow {
    generate_with(config(), mix, shape, n, seed)
}

/// The same flow with accounts, balances and fees on: every account funded,
/// every order reserved, every trade settled with a fee and a rebate.
fn risk_config() -> EngineConfig {
    EngineConfig { risk_checks: true, max_accounts: 4096, fee_account: 4095, ..config() }
}

fn generate_with(config: EngineConfig, mix: &Mix, shape: FlowShape, n: usize, seed: u64) -> Flow {
    let mut g = FlowGen::new(seed, shape, config);
    let mut warmup = g.setup_commands();
    let target = shape.orders_per_book * shape.instruments as usize;
    while g.live_orders() < target || warmup.len() < 50_000 {
        warmup.push(g.next(mix));
    }
    let (t0, c0) = (g.trading_cmds, g.cmds);
    let measured: Vec<Command> = (0..n).map(|_| g.next(mix)).collect();
    let trade_cmd_pct = 100.0 * (g.trading_cmds - t0) as f64 / (g.cmds - c0) as f64;
    Flow {
        config,
        warmup,
        measured,
        trade_cmd_pct,
        resting: g.live_orders(),
        expected_hash: g.state_hash(),
        instruments: shape.instruments,
    }
}

fn warmed_engine(f: &Flow) -> (Engine, Seq) {
    let mut e = Engine::new(f.config);
    let mut sink = CountingSink::default();
    let mut seq = 0;
    for c in &f.warmup {
        seq += 1;
        e.apply(seq, c, &mut sink);
    }
    (e, seq)
}

/// The timed loop, kept out of line so a profiler (`valgrind --tool=callgrind
/// --toggle-collect=*measured_pass*`) can count it alone.
#[inline(never)]
fn measured_pass(e: &mut Engine, seq: &mut Seq, cmds: &[Command], sink: &mut CountingSink) {
    let (mut prefetcher, book) = matcher_prefetcher(e);
    if prefetcher.stages() == 0 && prefetcher.command_ahead() == 0 {
        for c in cmds {
            *seq += 1;
            e.apply(*seq, c, sink);
        }
        return;
    }
    for (i, c) in cmds.iter().enumerate() {
        prefetcher.before(e, i as u64, book, |k| cmds.get(i + k));
        *seq += 1;
        e.apply(*seq, c, sink);
    }
}

/// The `Prefetcher` the matcher would run over a batch on `e`: `LOOKAHEAD` stages `SPACING`
/// commands apart and its command stage `COMMAND_AHEAD_OPT` ahead, and whether its book stages
/// run: while the book outgrows the caches (asked once a pass, as the matcher asks once a batch).
fn matcher_prefetcher(e: &Engine) -> (Prefetcher, bool) {
    (bench_prefetcher(), e.prefetch_pays())
}

/// The `Prefetcher` the options ask for.
fn bench_prefetcher() -> Prefetcher {
    let p = Prefetcher::with_spacing(LOOKAHEAD.load(Ordering::Relaxed), SPACING.load(Ordering::Relaxed));
    match COMMAND_AHEAD_OPT.load(Ordering::Relaxed) {
        usize::MAX => p,
        n => p.with_command_ahead(n),
    }
}

/// Where the bench's command stage runs (`--command-ahead N`; 0: none); `usize::MAX`: the
/// matcher's.
static COMMAND_AHEAD_OPT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Commands between the bench's prefetch stages (`--spacing N`): the matcher's by default; 1 is
/// the matcher before its stages were spaced out.
static SPACING: AtomicUsize = AtomicUsize::new(PREFETCH_SPACING);

/// The stages of the bench's `Prefetcher` (`--lookahead N`; 0: no prefetching at all), the first
/// running `SPACING` times that many commands ahead. The matcher's by default.
static LOOKAHEAD: AtomicUsize = AtomicUsize::new(PREFETCH_STAGES);

/// Median of `runs` timed passes over the measured commands, in commands/s.
fn throughput(f: &Flow, runs: usize) -> (f64, u64) {
    let (median, _, _, allocs) = throughput_median_best(f, runs);
    (median, allocs)
}

/// Median and best of `runs` timed passes, in commands/s, the best pass by
/// thread CPU time, and the allocations of the last pass. The best pass is
/// the least disturbed one on a shared machine; CPU time leaves out the time
/// the thread waited for a core.
fn throughput_median_best(f: &Flow, runs: usize) -> (f64, f64, f64, u64) {
    let mut rates = Vec::with_capacity(runs);
    let mut cpu_rates = Vec::with_capacity(runs);
    let mut allocs = 0;
    for _ in 0..runs {
        let (mut e, mut seq) = warmed_engine(f);
        let mut sink = CountingSink::default();
        input_cache::warm(&f.measured);
        let a0 = alloc_counter::allocations();
        let (t, cpu0) = (Instant::now(), thread_cpu_ns());
        measured_pass(&mut e, &mut seq, &f.measured, &mut sink);
        let (dt, cpu) = (t.elapsed(), thread_cpu_ns() - cpu0);
        allocs = alloc_counter::allocations() - a0;
        cpu_rates.push(f.measured.len() as f64 / (cpu.max(1) as f64 / 1e9));
        assert_eq!(e.state_hash(), f.expected_hash, "measured engine diverged from the generator's");
        rates.push(f.measured.len() as f64 / dt.as_secs_f64());
        std::hint::black_box(sink);
    }
    rates.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let best_cpu = cpu_rates.iter().copied().fold(0.0, f64::max);
    (rates[rates.len() / 2], rates[rates.len() - 1], best_cpu, allocs)
}

/// Per-command latency (timer included) overall and per command type.
fn latency(f: &Flow) -> (Histogram<u64>, [Histogram<u64>; 4]) {
    let (all, per, _) = latency_by_class(f);
    (all, per)
}

/// [`latency`], and the time summed by what each command did ([`ClassTimes`]).
fn latency_by_class(f: &Flow) -> (Histogram<u64>, [Histogram<u64>; 4], ClassTimes) {
    let (mut e, mut seq) = warmed_engine(f);
    let mut sink = CountingSink::default();
    let mut all = latency_histogram();
    let mut per: [Histogram<u64>; 4] = std::array::from_fn(|_| latency_histogram());
    let mut classes = ClassTimes::default();
    let (mut prefetcher, book) = matcher_prefetcher(&e);
    for (i, c) in f.measured.iter().enumerate() {
        prefetcher.before(&e, i as u64, book, |k| f.measured.get(i + k));
        seq += 1;
        let trades = sink.trades;
        let t = Instant::now();
        e.apply(seq, c, &mut sink);
        let ns = t.elapsed().as_nanos() as u64;
        all.record(ns.max(1)).expect("in range");
        per[kind_index(c)].record(ns.max(1)).expect("in range");
        classes.record(CommandClass::of(matches!(c.kind, CommandKind::Cancel(_)), sink.trades - trades), ns);
    }
    (all, per, classes)
}

/// `extra` is appended to the JSON object (`,"k":v` pairs or empty).
fn run_mix(f: &Flow, mix: &Mix, a: &Args, timer_ns: u64, extra: &str) -> Histogram<u64> {
    let (rate, allocs) = throughput(f, a.runs);
    let (all, per) = latency(f);
    println!(
        "{{\"bench\":\"engine\",\"mix\":\"{}\",\"accounts\":{},\"instruments\":{},\"commands\":{},\"cmds_per_sec\":{:.0},{},\"new_p50_ns\":{},\"cancel_p50_ns\":{},\"cancel_p99_ns\":{},\"amend_p50_ns\":{},\"trade_cmd_pct\":{:.2},\"resting_orders\":{},\"steady_state_allocations\":{},\"timer_overhead_ns\":{}{}}}",
        mix.name,
        f.config.risk_checks,
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
        timer_ns,
        extra
    );
    per[1].clone()
}

/// Median of a non-empty sample.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    v[v.len() / 2]
}

/// Times matchd and every peer order book on the same flow, alternating
/// passes so machine noise hits all alike. matchd runs the original
/// commands (accounts, validation, events into a `CountingSink`); the peers
/// run the same flow translated into their calls (see `benches::peers`),
/// without the commands matchd rejected. Every pass reads its input once
/// untimed first ([`input_cache`]), so no side's stream is colder for running
/// after another, and every side's loop starts the lines of the input
/// `--command-ahead` ahead, as matchd's `Prefetcher` does. Prints one line per
/// peer and returns `(peer, matchd/peer)` ratios.
fn peer_comparison(f: &Flow, mix: &Mix, a: &Args) -> Vec<(&'static str, f64)> {
    let pf = peers::translate(f.config, &f.warmup, &f.measured, f.instruments as usize);
    let all = peers::all(&pf, 2 * f.resting);
    let runs = a.runs;
    let mut ours = Vec::new();
    let mut theirs: Vec<Vec<peers::PeerPass>> = all.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        ours.push(throughput(f, 1).0);
        for (p, out) in all.iter().zip(theirs.iter_mut()) {
            out.push(p.pass(&pf.expected, bench_prefetcher().command_ahead()));
        }
    }
    let ours = median(ours);
    let mut ratios = Vec::new();
    for (p, passes) in all.iter().zip(theirs) {
        let rate = median(passes.iter().map(|x| x.ops_per_sec).collect());
        let allocs = passes.iter().map(|x| x.allocations).max().unwrap_or(0);
        let differing = passes.iter().map(|x| x.books_differing).max().unwrap_or(0);
        let ratio = ours / rate;
        println!(
            "{{\"bench\":\"engine\",\"mix\":\"{}\",\"impl\":\"{}\",\"version\":\"{}\",\"license\":\"{}\",\"instruments\":{},\"commands\":{},\"peer_ops\":{},\"rejected_by_matchd\":{},\"runs\":{},\"cmds_per_sec\":{:.0},\"matchd_cmds_per_sec\":{:.0},\"ratio_matchd_over_peer\":{:.2},\"peer_allocations_per_cmd\":{:.2},\"same_end_state\":{},\"books_differing\":{},\"notes\":\"{}\"}}",
            mix.name,
            p.name(),
            p.version(),
            p.license(),
            f.instruments,
            f.measured.len(),
            pf.measured.len(),
            pf.rejected,
            runs,
            rate,
            ours,
            ratio,
            allocs as f64 / pf.measured.len() as f64,
            differing == 0,
            differing,
            p.notes()
        );
        ratios.push((p.name(), ratio));
    }
    ratios
}

/// Hundreds of thousands of resting orders, thousands per level: cancels
/// must stay as cheap as in a shallow book (with the matcher's prefetch stages, `--lookahead`).
/// Also reports memory.
#[allow(clippy::needless_update)]
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
    // As `latency` does: the prefetch stages run untimed.
    let (mut prefetcher, book) = matcher_prefetcher(&e);
    let t_all = Instant::now();
    for (i, c) in measured.iter().enumerate() {
        prefetcher.before(&e, i as u64, book, |k| measured.get(i + k));
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

/// The issue-14 flows: matchd's throughput and latency, then every peer on
/// the same flow, passes alternating.
fn book_flows(a: &Args, timer_ns: u64) {
    for shape in [book_flows::LIMIT_CANCEL_100K, book_flows::DEEP_500K, book_flows::FEED_REPLAY] {
        if a.flow.as_ref().is_some_and(|name| name != shape.name) {
            continue;
        }
        let b = book_flows::generate(shape, a.commands, a.seed);
        let f = Flow {
            config: b.config,
            warmup: b.warmup,
            measured: b.measured,
            trade_cmd_pct: b.trade_cmd_pct,
            resting: b.resting,
            expected_hash: b.expected_hash,
            instruments: 1,
        };
        let (rate, best, best_cpu, allocs) = throughput_median_best(&f, a.runs);
        let (all, per, classes) = latency_by_class(&f);
        println!(
            "{{\"bench\":\"engine\",\"mix\":\"{}\",\"accounts\":false,\"instruments\":1,\"commands\":{},\"cmds_per_sec\":{:.0},\"ns_per_op\":{:.1},\"best_ns_per_op\":{:.1},\"best_cpu_ns_per_op\":{:.1},{},\"new_p50_ns\":{},\"cancel_p50_ns\":{},{},\"trade_cmd_pct\":{:.2},\"resting_orders\":{},\"steady_state_allocations\":{},\"timer_overhead_ns\":{},\"lookahead\":{},\"spacing\":{},\"command_ahead\":{}}}",
            shape.name,
            f.measured.len(),
            rate,
            1e9 / rate,
            1e9 / best,
            1e9 / best_cpu,
            percentiles_json(&all),
            per[0].value_at_quantile(0.5),
            per[1].value_at_quantile(0.5),
            classes.json(),
            f.trade_cmd_pct,
            f.resting,
            allocs,
            timer_ns,
            LOOKAHEAD.load(Ordering::Relaxed),
            SPACING.load(Ordering::Relaxed),
            bench_prefetcher().command_ahead()
        );
        if a.peers {
            let mix = Mix {
                name: shape.name,
                amend_pct: 0,
                ioc_pct: 0,
                market_pct: 0,
                cancel_pct: shape.cancel_pct,
                cross_pct: shape.cross_pct,
            };
            peer_comparison(&f, &mix, a);
        }
    }
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
    if a.book_flows_only {
        book_flows(&a, timer_ns);
        return;
    }
    if a.flow.as_deref() == Some("exchange-core") {
        // The matching-only exchange-core line alone, for quick before/after comparisons.
        let ec = generate(&flow::EXCHANGE_CORE, flow::EXCHANGE_CORE_SHAPE, a.commands, a.seed);
        run_mix(&ec, &flow::EXCHANGE_CORE, &a, timer_ns, "");
        return;
    }
    if a.flow.as_deref() == Some("exchange-core-accounts") {
        // The same with accounts on (balances, reservations, fees) alone: the risk path's A/B.
        let risk = generate_with(risk_config(), &flow::EXCHANGE_CORE, flow::EXCHANGE_CORE_SHAPE, a.commands, a.seed);
        run_mix(&risk, &flow::EXCHANGE_CORE, &a, timer_ns, "");
        return;
    }
    let ih = generate(&flow::INSERT_HEAVY, flow::EXCHANGE_CORE_SHAPE, a.commands, a.seed);
    run_mix(&ih, &flow::INSERT_HEAVY, &a, timer_ns, "");
    let ec_args = a.clone();
    // Shallow cancel latency comes from the exchange-core flow, measured last.
    let shallow = {
        let f = generate(&flow::EXCHANGE_CORE, flow::EXCHANGE_CORE_SHAPE, 200_000, a.seed + 1);
        latency(&f).1[1].clone()
    };
    deep_book(&ec_args, &shallow, timer_ns);
    let ec = generate(&flow::EXCHANGE_CORE, flow::EXCHANGE_CORE_SHAPE, a.commands, a.seed);
    let mut extra = String::new();
    if a.peers {
        peer_comparison(&ih, &flow::INSERT_HEAVY, &a);
        drop(ih);
        for (name, ratio) in peer_comparison(&ec, &flow::EXCHANGE_CORE, &a) {
            extra.push_str(&format!(",\"ratio_matchd_over_{}\":{:.2}", name.replace('-', "_"), ratio));
        }
    }
    book_flows(&a, timer_ns);
    // Accounts on: the same exchange-core flow with funded accounts, fees and
    // rebates; its line comes before the matching-only one (which stays last)
    // and the ratio is measured side by side, alternating passes.
    let risk = generate_with(risk_config(), &flow::EXCHANGE_CORE, flow::EXCHANGE_CORE_SHAPE, a.commands, a.seed);
    let runs = a.runs;
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        on.push(throughput(&risk, 1).0);
        off.push(throughput(&ec, 1).0);
    }
    let (on, off) = (median(on), median(off));
    run_mix(&risk, &flow::EXCHANGE_CORE, &ec_args, timer_ns, &format!(",\"vs_matching_only\":{:.3}", on / off));
    extra.push_str(&format!(",\"accounts_on_cmds_per_sec\":{on:.0},\"accounts_on_ratio\":{:.3}", on / off));
    run_mix(&ec, &flow::EXCHANGE_CORE, &ec_args, timer_ns, &extra);
}
