//! Conditional orders in the matcher (issue #15): what armed stops cost the flows that trigger
//! none of them, and what a cascade costs.
//!
//! - **Resting stops**: the `feed-replay` flow (`book_flows.rs`) timed on an engine without armed
//!   orders and on the same engine with `--armed` stop-loss orders of another account armed far from
//!   the price (half buys above, half sells below, none reached), passes alternating; the figure is
//!   the ratio of the best thread-CPU ns per command (target ≤ 1.2).
//! - **Resting trailing stops**: the same flow with `--trailing` trailing stops of another account
//!   in `--groups` distinct deltas per side (halves of sells and buys; deltas of 200,000 ticks and
//!   more, so none fires), armed at even intervals during the warm-up, so their peak tracks hold
//!   many runs; each of the flow's price moves updates the tracks and checks every group.
//! - **Trailing cascade**: `--cascade` trailing sell stop-markets of one tick, armed at the mid
//!   above bids one tick apart; one sale at the first bid fires them all in one command.
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
    trailing: usize,
    groups: usize,
    cascade: usize,
    runs: usize,
    commands: usize,
}

fn parse_args() -> Args {
    let mut a = Args { armed: 1_000_000, trailing: 1_000_000, groups: 16, cascade: 10_000, runs: 5, commands: 500_000 };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().and_then(|v| v.parse::<usize>().ok()).unwrap_or_else(|| panic!("{k} needs a number"));
        match k.as_str() {
            "--armed" => a.armed = v(),
            "--trailing" => a.trailing = v(),
            "--groups" => a.groups = v().clamp(1, 64),
            "--cascade" => a.cascade = v(),
            "--runs" => a.runs = v().max(1),
            "--commands" => a.commands = v(),
            "-h" | "--help" => {
                println!("stops [--armed N] [--trailing N] [--groups G] [--cascade N] [--runs N] [--commands N]");
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// The account that arms the far stops (the flow trades as account 1).
const STOP_ACCOUNT: AccountId = 2;

/// A market IOC sell or buy of one lot: the order every stop here places.
fn market_order(cid: ClientOrderId, instrument: InstrumentId, side: Side) -> NewOrder {
    NewOrder {
        client_order_id: cid,
        instrument,
        side,
        order_type: OrderType::Market,
        tif: TimeInForce::Ioc,
        stp: StpMode::None,
        price: 0,
        qty: 1,
    }
}

fn stop_market(cid: ClientOrderId, instrument: InstrumentId, side: Side, trigger_price: Price) -> CommandKind {
    let order = market_order(cid, instrument, side);
    CommandKind::NewStopOrder(StopOrder { order, trigger_price, trigger: TriggerKind::StopLoss })
}

fn trailing_stop(cid: ClientOrderId, instrument: InstrumentId, side: Side, delta: u32) -> CommandKind {
    CommandKind::NewAdvancedOrder(AdvancedOrder {
        trigger: Some((0, TriggerKind::StopLoss)),
        trailing: Some(Trailing { delta, unit: TrailUnit::Ticks }),
        ..AdvancedOrder::plain(market_order(cid, instrument, side))
    })
}

/// What the measured engine has armed besides the flow's own orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Armed {
    Nothing,
    /// Fixed stops far from the price.
    Far(usize),
    /// Trailing stops with deltas too wide to fire, in this many groups per side.
    Trailing(usize, usize),
}

/// A warmed engine for the flow, with the far stops or trailing stops asked for.
fn warmed(flow: &book_flows::BookFlow, config: EngineConfig, what: Armed) -> (Engine, Seq) {
    let mut e = Engine::new(config);
    let mut seq = 0;
    let mut sink = CountingSink::default();
    let (trailing, groups) = match what {
        Armed::Trailing(n, g) => (n, g as u64),
        _ => (0, 1),
    };
    // Trailing stops armed at even intervals of the warm-up: their tracks see its price moves.
    let every = (flow.warmup.len() / trailing.max(1)).max(1);
    let mut armed_trailing = 0u64;
    for (k, c) in flow.warmup.iter().enumerate() {
        seq += 1;
        e.apply(seq, c, &mut sink);
        while (armed_trailing as usize) < trailing && (k % every == 0 || k + 1 == flow.warmup.len()) {
            let i = armed_trailing;
            let side = if i.is_multiple_of(2) { Side::Sell } else { Side::Buy };
            let delta = 200_000 + ((i / 2) % groups) as u32;
            seq += 1;
            let cmd =
                Command { account: STOP_ACCOUNT, timestamp_ns: 1, kind: trailing_stop(i + 1, INSTRUMENT, side, delta) };
            e.apply(seq, &cmd, &mut sink);
            armed_trailing += 1;
            if k + 1 != flow.warmup.len() {
                break;
            }
        }
    }
    let armed = if let Armed::Far(n) = what { n } else { 0 };
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
    assert_eq!(e.armed_count() as usize, armed + trailing, "every stop is armed");
    (e, seq)
}

#[inline(never)]
fn measured_pass(e: &mut Engine, seq: &mut Seq, cmds: &[Command], sink: &mut CountingSink) {
    for c in cmds {
        *seq += 1;
        e.apply(*seq, c, sink);
    }
}

/// Best thread-CPU ns per command over `runs` passes of each engine (nothing armed, far stops,
/// trailing stops), alternating.
fn resting_stops(a: &Args) -> [f64; 3] {
    let flow = book_flows::generate(FEED_REPLAY, a.commands, 42);
    let base = book_flows::config(&FEED_REPLAY);
    // Room for the armed orders (at most a quarter of max_orders may be armed).
    let max_orders = base.max_orders + 4 * a.armed.max(a.trailing) as u32 + 1024;
    let config = EngineConfig { max_orders, max_open_orders_per_account: max_orders, ..base };
    let mut best = [f64::MAX; 3];
    for run in 0..a.runs {
        for (k, what) in
            [Armed::Nothing, Armed::Far(a.armed), Armed::Trailing(a.trailing, a.groups)].into_iter().enumerate()
        {
            let (mut e, mut seq) = warmed(&flow, config, what);
            let armed = e.armed_count();
            let mut sink = CountingSink::default();
            let cpu0 = thread_cpu_ns();
            measured_pass(&mut e, &mut seq, &flow.measured, &mut sink);
            let ns = (thread_cpu_ns() - cpu0) as f64 / flow.measured.len() as f64;
            assert_eq!(e.armed_count(), armed, "no armed order fired");
            eprintln!("run {run}: {what:?}: {ns:.1} ns/command");
            best[k] = best[k].min(ns);
            std::hint::black_box(sink);
        }
    }
    best
}

/// One cascade of `n` stops (trailing ones of one tick if `trailing`): returns (ns for the
/// command, events it emitted).
fn cascade_once(n: usize, trailing: bool) -> (u64, u64) {
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
        // A trailing stop of one tick armed at the mid has the first stop's trigger: all of
        // them fire on the first sale, one after another.
        let kind = if trailing {
            trailing_stop(i + 1, spec.id, Side::Sell, 1)
        } else {
            stop_market(i + 1, spec.id, Side::Sell, MID_TICKS - 1 - i)
        };
        run(&mut e, 2, kind, &mut sink);
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

fn cascades(a: &Args, trailing: bool) -> (u64, u64, u64) {
    let mut v: Vec<(u64, u64)> = (0..a.runs).map(|_| cascade_once(a.cascade, trailing)).collect();
    v.sort();
    (v[0].0, v[v.len() / 2].0, v[0].1)
}

fn main() {
    let a = parse_args();
    let [plain, armed, trailing] = resting_stops(&a);
    let (ratio, trailing_ratio) = (armed / plain, trailing / plain);
    println!(
        "flow feed-replay, {} commands: {plain:.1} ns/command with nothing armed, {armed:.1} with {} far stops ({ratio:.3}x), {trailing:.1} with {} trailing stops in {} deltas per side ({trailing_ratio:.3}x)",
        a.commands, a.armed, a.trailing, a.groups
    );
    let (best, median, events) = cascades(&a, false);
    let (t_best, t_median, t_events) = cascades(&a, true);
    for (what, best, median, events) in
        [("stops", best, median, events), ("trailing stops", t_best, t_median, t_events)]
    {
        println!(
            "cascade of {} {what} in one command: best {:.2} ms, median {:.2} ms, {:.0} ns per stop (best), {events} events",
            a.cascade,
            best as f64 / 1e6,
            median as f64 / 1e6,
            best as f64 / a.cascade as f64
        );
    }
    println!(
        "{{\"bench\":\"stops\",\"flow\":\"feed-replay\",\"commands\":{},\"armed\":{},\"ns_per_command_without\":{plain:.1},\"ns_per_command_with\":{armed:.1},\"ratio\":{ratio:.3},\"trailing\":{},\"trailing_groups_per_side\":{},\"ns_per_command_with_trailing\":{trailing:.1},\"trailing_ratio\":{trailing_ratio:.3},\"cascade_stops\":{},\"cascade_best_ms\":{:.3},\"cascade_median_ms\":{:.3},\"cascade_ns_per_stop\":{:.0},\"cascade_events\":{events},\"trailing_cascade_best_ms\":{:.3},\"trailing_cascade_ns_per_stop\":{:.0}}}",
        a.commands,
        a.armed,
        a.trailing,
        a.groups,
        a.cascade,
        best as f64 / 1e6,
        median as f64 / 1e6,
        best as f64 / a.cascade as f64,
        t_best as f64 / 1e6,
        t_best as f64 / a.cascade as f64
    );
}
