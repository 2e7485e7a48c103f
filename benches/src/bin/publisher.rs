//! `publisher` benchmark: the publisher thread's work per engine event, side by side: the
//! market-data mirror with no subscriber (order by order, and levels only), the mirror with
//! encoding for subscribers, and numbering/encoding execution reports (what every event costs
//! anyway). Events come from the engine applying a realistic flow (`FlowGen`, exchange-core mix,
//! 4 instruments, 2,000 accounts), collected first so only the publisher's work is timed. Each
//! case runs 3 times, alternating; the medians are reported. One JSON line per case, a summary
//! line last.
//!
//! `cargo run --release -p benches --bin publisher -- [--quick] [--commands N] [--seed S]`

use std::time::Instant;

use ::matchd::md_books::MdBooks;
use ::matchd::reports::Reports;
use benches::flow::{self, FlowGen};
use engine::*;

struct Collect(Vec<Event>);

impl EventSink for Collect {
    fn emit(&mut self, e: Event) {
        self.0.push(e);
    }
}

#[allow(clippy::needless_update)]
fn config() -> EngineConfig {
    EngineConfig {
        max_orders: 1 << 20,
        max_instruments: 64,
        max_accounts: 4096,
        risk_checks: false,
        ..EngineConfig::default()
    }
}

/// Time per event of `f` over `events`, in ns.
fn per_event(events: &[Event], f: &mut dyn FnMut(&Event, usize)) -> f64 {
    let t = Instant::now();
    for (i, ev) in events.iter().enumerate() {
        f(ev, i);
    }
    t.elapsed().as_nanos() as f64 / events.len().max(1) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The publisher flushes market data once per batch of events; 1,024 is a typical batch.
const BATCH: usize = 1024;

fn main() {
    let usage = "usage: publisher [--quick] [--commands N] [--seed S]";
    let (mut commands, mut seed) = (2_000_000u64, 42u64);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => commands = 300_000,
            "--commands" => commands = it.next().and_then(|v| v.parse().ok()).expect(usage),
            "--seed" => seed = it.next().and_then(|v| v.parse().ok()).expect(usage),
            "--bench" => {}
            _ => panic!("{usage}"),
        }
    }
    let mut g = FlowGen::new(seed, flow::EXCHANGE_CORE_SHAPE, config());
    let mut e = Engine::new(config());
    let mut sink = Collect(Vec::new());
    let mut seq = 0;
    for c in g.setup_commands().into_iter().chain((0..commands).map(|_| g.next(&flow::EXCHANGE_CORE))) {
        seq += 1;
        e.apply(seq, &c, &mut sink);
    }
    let events = sink.0;

    let mut results: [Vec<f64>; 4] = Default::default();
    for _ in 0..3 {
        let mut md = MdBooks::new();
        results[0].push(per_event(&events, &mut |ev, i| {
            md.on_event(ev);
            if i % BATCH == BATCH - 1 {
                md.flush();
            }
        }));
        let mut md = MdBooks::new().without_orders();
        results[1].push(per_event(&events, &mut |ev, i| {
            md.on_event(ev);
            if i % BATCH == BATCH - 1 {
                md.flush();
            }
        }));
        let mut md = MdBooks::new();
        md.set_outputs(true, true);
        results[2].push(per_event(&events, &mut |ev, i| {
            md.on_event(ev);
            if i % BATCH == BATCH - 1 {
                md.flush();
                md.clear_output();
            }
        }));
        let mut reports = Reports::new(4096, 1024);
        results[3].push(per_event(&events, &mut |ev, _| reports.record(ev, |_| {})));
    }
    let names = ["md_mirror", "md_mirror_levels_only", "md_mirror_encoded", "execution_reports"];
    let medians: Vec<f64> = results.iter().map(|r| median(r.clone())).collect();
    for (name, (r, m)) in names.iter().zip(results.iter().zip(&medians)) {
        println!("{}", serde_json::json!({"case": name, "ns_per_event": r, "median_ns_per_event": m}));
    }
    println!(
        "{}",
        serde_json::json!({"bench": "publisher", "commands": commands, "events": events.len(),
            "md_mirror_ns": medians[0], "md_levels_only_ns": medians[1], "md_encoded_ns": medians[2],
            "execution_reports_ns": medians[3], "md_mirror_over_reports": medians[0] / medians[3],
            "md_encoded_over_reports": medians[2] / medians[3]})
    );
}
