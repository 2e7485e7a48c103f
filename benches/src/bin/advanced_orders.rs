//! Advanced orders in the matcher (issue #15): what good-till-date orders cost the flows that
//! expire none of them, what an expiry burst costs, and what a quote-quantity order costs beside
//! the same market order by quantity.
//!
//! - **Resting GTD orders**: the `feed-replay` flow (`book_flows.rs`, whose commands carry
//!   increasing timestamps, so every command moves the engine's clock and checks the expiry
//!   queue) timed on an engine without GTD orders and on the same engine with `--gtd` GTD orders
//!   of another account resting far from the price with expiries far in the future, and with as
//!   many far GTC orders; passes alternate; the figure is the GTD/GTC ratio of the best thread-CPU
//!   ns per command.
//! - **Expiry burst**: `--burst` GTD orders expiring at the same time, expired by one `TimeTick`:
//!   the tick's time and the cost per expired order.
//! - **Churn**: pairs of (GTD order, cancel) against pairs of (GTC order, cancel): the queue's
//!   tombstones and their compaction, per pair.
//! - **Quote quantity**: market buys by quote quantity against the same market buys by the
//!   quantity the walk computed, each sweeping `--levels` levels of a fresh book.
//! - **Icebergs**: a buy sweeping one level of 100 icebergs (10 lots each, showing 2: every one
//!   refreshes four times) against the same level of 100 plain orders: ns per trade.
//!
//! `cargo run --release -p benches --bin advanced_orders -- [--gtd 500000] [--burst 100000] [--runs 5]`
//! Prints one JSON line last.

use std::time::Instant;

use benches::book_flows::{self, FEED_REPLAY, INSTRUMENT};
use benches::flow::{instrument_spec, MID_TICKS};
use benches::stats::thread_cpu_ns;
use engine::*;

struct Args {
    gtd: usize,
    burst: usize,
    runs: usize,
    commands: usize,
    churn: usize,
    levels: usize,
}

fn parse_args() -> Args {
    let mut a = Args { gtd: 500_000, burst: 100_000, runs: 5, commands: 500_000, churn: 200_000, levels: 20 };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().and_then(|v| v.parse::<usize>().ok()).unwrap_or_else(|| panic!("{k} needs a number"));
        match k.as_str() {
            "--gtd" => a.gtd = v(),
            "--burst" => a.burst = v(),
            "--runs" => a.runs = v().max(1),
            "--commands" => a.commands = v(),
            "--churn" => a.churn = v(),
            "--levels" => a.levels = v().max(1),
            "-h" | "--help" => {
                println!("expiry [--gtd N] [--burst N] [--churn N] [--levels N] [--runs N] [--commands N]");
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// The account that rests the GTD orders (the flow trades as account 1).
const GTD_ACCOUNT: AccountId = 2;
/// Far in the future of every timestamp used here.
const FAR_NS: u64 = u64::MAX / 2;

fn limit(cid: ClientOrderId, side: Side, price: Price) -> NewOrder {
    NewOrder {
        client_order_id: cid,
        instrument: INSTRUMENT,
        side,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        stp: StpMode::None,
        price,
        qty: 1,
    }
}

fn gtd(cid: ClientOrderId, side: Side, price: Price, expire_time_ns: u64) -> CommandKind {
    CommandKind::NewAdvancedOrder(AdvancedOrder { expire_time_ns, ..AdvancedOrder::plain(limit(cid, side, price)) })
}

fn big_config(orders: usize) -> EngineConfig {
    let max_orders = (2 * orders + 1_000_000) as u32;
    EngineConfig {
        max_orders,
        max_instruments: 4,
        max_accounts: 16,
        max_open_orders_per_account: max_orders,
        ..EngineConfig::default()
    }
}

/// Best thread-CPU ns per command of the feed-replay flow on three engines: with nothing else
/// resting, with `a.gtd` far GTC orders of another account, with as many far GTD orders (expiring
/// far in the future). The GTD/GTC ratio is the expiry mechanism's cost; the GTC/none ratio what
/// the extra resting orders themselves cost.
fn resting_gtd(a: &Args) -> [f64; 3] {
    let flow = book_flows::generate(FEED_REPLAY, a.commands, 42);
    let base = book_flows::config(&FEED_REPLAY);
    let max_orders = base.max_orders + 2 * a.gtd as u32 + 1024;
    let config = EngineConfig { max_orders, max_open_orders_per_account: max_orders, ..base };
    let mut best = [f64::MAX; 3];
    for run in 0..a.runs {
        for (variant, best) in best.iter_mut().enumerate() {
            let mut e = Engine::new(config);
            let mut seq = 0;
            let mut sink = CountingSink::default();
            for c in &flow.warmup {
                seq += 1;
                e.apply(seq, c, &mut sink);
            }
            let n = if variant == 0 { 0 } else { a.gtd as u64 };
            for i in 0..n {
                // 50k-95k ticks from the mid on the passive side (inside the 10% band): never
                // traded by the flow, whose mid drifts by a few hundred ticks.
                let away = 50_000 + (i / 2) % 45_000;
                let (side, price) =
                    if i % 2 == 0 { (Side::Buy, MID_TICKS - away) } else { (Side::Sell, MID_TICKS + away) };
                let kind = if variant == 2 {
                    gtd(i + 1, side, price, FAR_NS - i)
                } else {
                    CommandKind::NewOrder(limit(i + 1, side, price))
                };
                seq += 1;
                e.apply(seq, &Command { account: GTD_ACCOUNT, timestamp_ns: 1, kind }, &mut sink);
            }
            let live = e.live_orders();
            assert!(live as u64 >= n, "every far order rests");
            let cpu0 = thread_cpu_ns();
            for c in &flow.measured {
                seq += 1;
                e.apply(seq, c, &mut sink);
            }
            let ns = (thread_cpu_ns() - cpu0) as f64 / flow.measured.len() as f64;
            eprintln!("run {run}: variant {} ({n} far orders): {ns:.1} ns/command", ["none", "gtc", "gtd"][variant]);
            *best = best.min(ns);
            std::hint::black_box(sink);
        }
    }
    best
}

/// `n` GTD orders on both sides, all expiring at `t`, then one tick at `t`: (ns, events).
fn burst_once(n: usize) -> (u64, u64) {
    let mut e = Engine::new(big_config(n));
    let mut sink = CountingSink::default();
    let mut seq = 0;
    seq += 1;
    e.apply(
        seq,
        &Command { account: 0, timestamp_ns: 1, kind: CommandKind::AddInstrument(instrument_spec(INSTRUMENT)) },
        &mut sink,
    );
    let t = 1_000_000;
    for i in 0..n as u64 {
        let (side, price) =
            if i % 2 == 0 { (Side::Buy, MID_TICKS - 1 - i % 5_000) } else { (Side::Sell, MID_TICKS + 1 + i % 5_000) };
        seq += 1;
        e.apply(seq, &Command { account: GTD_ACCOUNT, timestamp_ns: 2, kind: gtd(i + 1, side, price, t) }, &mut sink);
    }
    assert_eq!(e.live_orders() as usize, n);
    let mut events = CountingSink::default();
    seq += 1;
    let tick = Command { account: 0, timestamp_ns: t, kind: CommandKind::TimeTick };
    let start = Instant::now();
    e.apply(seq, &tick, &mut events);
    let ns = start.elapsed().as_nanos() as u64;
    assert_eq!(e.live_orders(), 0, "the tick expired every order");
    (ns, events.events)
}

/// ns per (order, cancel) pair, GTD or GTC, best of `runs`.
fn churn(a: &Args, expiring: bool) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..a.runs {
        // Room for 1,000 live orders: the GTD queue (twice the expiring capacity) fills with
        // tombstones and compacts many times over the run.
        let config = EngineConfig {
            max_orders: 2_048,
            max_instruments: 4,
            max_accounts: 16,
            max_open_orders_per_account: 2_048,
            ..EngineConfig::default()
        };
        let mut e = Engine::new(config);
        let mut sink = CountingSink::default();
        let mut seq = 1;
        e.apply(
            seq,
            &Command { account: 0, timestamp_ns: 1, kind: CommandKind::AddInstrument(instrument_spec(INSTRUMENT)) },
            &mut sink,
        );
        let cmds: Vec<Command> = (0..a.churn as u64)
            .flat_map(|i| {
                let cid = i + 1;
                let price = MID_TICKS - 1 - i % 100;
                let place = if expiring {
                    gtd(cid, Side::Buy, price, FAR_NS)
                } else {
                    CommandKind::NewOrder(limit(cid, Side::Buy, price))
                };
                let ts = 2 + i;
                [
                    Command { account: GTD_ACCOUNT, timestamp_ns: ts, kind: place },
                    Command {
                        account: GTD_ACCOUNT,
                        timestamp_ns: ts,
                        kind: CommandKind::Cancel(Cancel { order: OrderRef::Client(cid) }),
                    },
                ]
            })
            .collect();
        let cpu0 = thread_cpu_ns();
        for c in &cmds {
            seq += 1;
            e.apply(seq, c, &mut sink);
        }
        let ns = (thread_cpu_ns() - cpu0) as f64 / a.churn as f64;
        assert_eq!(e.live_orders(), 0);
        best = best.min(ns);
    }
    best
}

/// ns per market buy sweeping `levels` levels of 10 orders each, by quote quantity (`true`) or by
/// the same quantity, best of `runs` (each order on a freshly rebuilt book, the rebuild untimed).
fn quote_orders(a: &Args, by_quote: bool) -> (f64, Qty) {
    let spec = InstrumentSpec { price_band_bps: 5_000, ..instrument_spec(INSTRUMENT) };
    let rounds = 2_000u64;
    let mut best = f64::MAX;
    let mut bought = 0;
    for _ in 0..a.runs {
        let mut e = Engine::new(big_config(a.levels * 10 + 16));
        let mut sink = CountingSink::default();
        let mut seq = 1;
        e.apply(seq, &Command { account: 0, timestamp_ns: 1, kind: CommandKind::AddInstrument(spec) }, &mut sink);
        let mut total = 0u64;
        for r in 0..rounds {
            for l in 0..a.levels as u64 {
                for k in 0..10 {
                    seq += 1;
                    let cid = 1_000_000 + r * 10_000 + l * 10 + k;
                    let cmd = Command {
                        account: GTD_ACCOUNT,
                        timestamp_ns: 2,
                        kind: CommandKind::NewOrder(limit(cid, Side::Sell, MID_TICKS + l)),
                    };
                    e.apply(seq, &cmd, &mut sink);
                }
            }
            // The notional of every lot offered: buys them all.
            let qty = (a.levels * 10) as u64;
            let notional: u64 = (0..a.levels as u64).map(|l| (MID_TICKS + l) * 10).sum::<u64>() / spec.qty_scale.max(1)
                + 10 * a.levels as u64;
            let order = NewOrder {
                order_type: OrderType::Market,
                tif: TimeInForce::Ioc,
                price: 0,
                qty: if by_quote { 0 } else { qty },
                ..limit(r + 1, Side::Buy, 0)
            };
            let kind = if by_quote {
                CommandKind::NewAdvancedOrder(AdvancedOrder { quote_qty: notional, ..AdvancedOrder::plain(order) })
            } else {
                CommandKind::NewOrder(order)
            };
            seq += 1;
            let cmd = Command { account: 3, timestamp_ns: 2, kind };
            let cpu0 = thread_cpu_ns();
            e.apply(seq, &cmd, &mut sink);
            total += thread_cpu_ns() - cpu0;
            bought = qty - e.book_orders(INSTRUMENT, Side::Sell).iter().map(|o| o.leaves).sum::<u64>();
            e.apply(
                seq + 1,
                &Command {
                    account: GTD_ACCOUNT,
                    timestamp_ns: 2,
                    kind: CommandKind::MassCancel(MassCancel { instrument: None, side: None }),
                },
                &mut sink,
            );
            seq += 1;
        }
        best = best.min(total as f64 / rounds as f64);
    }
    (best, bought)
}

/// ns per trade of one buy sweeping a level of 100 orders of 10 lots (icebergs showing 2, or
/// plain), best of `runs` over 2,000 rebuilt levels each; and the trades per sweep.
fn iceberg_sweep(a: &Args, iceberg: bool) -> (f64, u64) {
    let rounds = 2_000u64;
    let mut best = f64::MAX;
    let mut trades = 0;
    for _ in 0..a.runs {
        let mut e = Engine::new(big_config(1_000));
        let mut sink = CountingSink::default();
        let mut seq = 1;
        e.apply(
            seq,
            &Command { account: 0, timestamp_ns: 1, kind: CommandKind::AddInstrument(instrument_spec(INSTRUMENT)) },
            &mut sink,
        );
        let (mut total_ns, mut total_trades) = (0u64, 0u64);
        for r in 0..rounds {
            for k in 0..100u64 {
                let order = NewOrder { qty: 10, ..limit(1_000_000 + r * 1_000 + k, Side::Sell, MID_TICKS + 1) };
                let kind = if iceberg {
                    CommandKind::NewAdvancedOrder(AdvancedOrder { display_qty: 2, ..AdvancedOrder::plain(order) })
                } else {
                    CommandKind::NewOrder(order)
                };
                seq += 1;
                e.apply(seq, &Command { account: GTD_ACCOUNT, timestamp_ns: 2, kind }, &mut sink);
            }
            let taker = NewOrder { qty: 1_000, tif: TimeInForce::Ioc, ..limit(r + 1, Side::Buy, MID_TICKS + 1) };
            let mut events = CountingSink::default();
            seq += 1;
            let cmd = Command { account: 3, timestamp_ns: 2, kind: CommandKind::NewOrder(taker) };
            let before = e.next_ids().1;
            let cpu0 = thread_cpu_ns();
            e.apply(seq, &cmd, &mut events);
            total_ns += thread_cpu_ns() - cpu0;
            total_trades += e.next_ids().1 - before;
            assert_eq!(e.live_orders(), 0, "the sweep took the whole level");
        }
        trades = total_trades / rounds;
        best = best.min(total_ns as f64 / total_trades as f64);
    }
    (best, trades)
}

fn main() {
    let a = parse_args();
    let [plain, with_gtc, with_gtd] = resting_gtd(&a);
    let ratio = with_gtd / with_gtc;
    println!(
        "flow feed-replay, {} commands: {plain:.1} ns/command alone, {with_gtc:.1} with {} far GTC orders, {with_gtd:.1} with as many far GTD orders: GTD/GTC {ratio:.3}x",
        a.commands, a.gtd
    );
    let mut bursts: Vec<(u64, u64)> = (0..a.runs).map(|_| burst_once(a.burst)).collect();
    bursts.sort();
    let (best, events) = bursts[0];
    let median = bursts[bursts.len() / 2].0;
    let per_expiry = best as f64 / a.burst as f64;
    println!(
        "one tick expiring {} orders: best {:.2} ms, median {:.2} ms, {per_expiry:.0} ns per expired order, {events} events",
        a.burst,
        best as f64 / 1e6,
        median as f64 / 1e6
    );
    let (gtc_pair, gtd_pair) = (churn(&a, false), churn(&a, true));
    println!(
        "churn: {gtc_pair:.1} ns per GTC order+cancel, {gtd_pair:.1} per GTD order+cancel ({:.3}x)",
        gtd_pair / gtc_pair
    );
    let ((by_qty, q1), (by_quote, q2)) = (quote_orders(&a, false), quote_orders(&a, true));
    assert_eq!(q1, q2, "the quote order buys what the quantity order buys");
    println!(
        "market buy sweeping {} levels ({} orders): {by_qty:.0} ns by quantity, {by_quote:.0} ns by quote quantity ({:.3}x)",
        a.levels,
        a.levels * 10,
        by_quote / by_qty
    );
    let ((plain_trade, plain_trades), (ice_trade, ice_trades)) = (iceberg_sweep(&a, false), iceberg_sweep(&a, true));
    println!(
        "sweep of one level of 100 orders: {plain_trade:.1} ns per trade plain ({plain_trades} trades), {ice_trade:.1} ns per trade against icebergs ({ice_trades} trades, {:.3}x per trade)",
        ice_trade / plain_trade
    );
    println!(
        "{{\"bench\":\"advanced_orders\",\"iceberg_ns_per_trade\":{ice_trade:.1},\"plain_ns_per_trade\":{plain_trade:.1},\"flow\":\"feed-replay\",\"commands\":{},\"far_orders\":{},\"ns_per_command_alone\":{plain:.1},\"ns_per_command_far_gtc\":{with_gtc:.1},\"ns_per_command_far_gtd\":{with_gtd:.1},\"gtd_over_gtc\":{ratio:.3},\"burst_orders\":{},\"burst_best_ms\":{:.3},\"burst_median_ms\":{:.3},\"ns_per_expiry\":{per_expiry:.0},\"burst_events\":{events},\"churn_gtc_ns_per_pair\":{gtc_pair:.1},\"churn_gtd_ns_per_pair\":{gtd_pair:.1},\"sweep_levels\":{},\"market_by_qty_ns\":{by_qty:.0},\"market_by_quote_ns\":{by_quote:.0}}}",
        a.commands,
        a.gtd,
        a.burst,
        best as f64 / 1e6,
        median as f64 / 1e6,
        a.levels
    );
}
