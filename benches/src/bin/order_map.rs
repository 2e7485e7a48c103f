//! `order_map` benchmark: the market-data mirror's map of resting orders under the churn of a busy
//! book, side by side: `rustc_hash::FxHashMap` (hashbrown, what the mirror used) against
//! `matchd::md_order_map::OrderMap` (linear probing with backward-shift deletion).
//!
//! Each case fills the map with `n` orders, then changes it as a book does: an order leaves (any
//! live one, chosen at random), a new one comes with the next id, and one live order's value is
//! changed (a partial fill). Every change (the three steps) is timed on its own, so the tail shows
//! a whole-table pause, and the count of changes over 1 ms is printed beside it. The machine's
//! own interruptions land in both columns alike; the two maps alternate, three rounds each.
//!
//! `cargo run --release -p benches --bin order_map -- [--quick]`. One JSON line per case, then a
//! summary line.

use std::hint::black_box;
use std::time::Instant;

use benches::rng::BenchRng;
use benches::stats::{latency_histogram, percentiles_json};
use hdrhistogram::Histogram;
use matchd::md_order_map::OrderMap;
use rustc_hash::FxHashMap;

/// What a mirror keeps per resting order (the size of `md_books`' `Resting`).
#[derive(Clone, Copy)]
struct Resting {
    _price: u64,
    qty: u64,
    _prio: u64,
    _side: u64,
}

/// The operations the mirror needs, over both maps.
trait Map {
    fn name() -> &'static str;
    fn new() -> Self;
    fn insert(&mut self, id: u64, v: Resting);
    fn remove(&mut self, id: u64) -> Option<Resting>;
    fn get_mut(&mut self, id: u64) -> Option<&mut Resting>;
}

impl Map for FxHashMap<u64, Resting> {
    fn name() -> &'static str {
        "fx_hash_map"
    }
    fn new() -> Self {
        FxHashMap::default()
    }
    fn insert(&mut self, id: u64, v: Resting) {
        FxHashMap::insert(self, id, v);
    }
    fn remove(&mut self, id: u64) -> Option<Resting> {
        FxHashMap::remove(self, &id)
    }
    fn get_mut(&mut self, id: u64) -> Option<&mut Resting> {
        FxHashMap::get_mut(self, &id)
    }
}

/// hashbrown kept at most half full (reserving ahead whenever it passes half), where a removal
/// almost never has to leave a tombstone: the alternative to a map of our own.
struct FxHalfLoad(FxHashMap<u64, Resting>);

impl Map for FxHalfLoad {
    fn name() -> &'static str {
        "fx_half_load"
    }
    fn new() -> Self {
        FxHalfLoad(FxHashMap::default())
    }
    fn insert(&mut self, id: u64, v: Resting) {
        self.0.insert(id, v);
        if self.0.len() * 2 > self.0.capacity() {
            self.0.reserve(self.0.len());
        }
    }
    fn remove(&mut self, id: u64) -> Option<Resting> {
        self.0.remove(&id)
    }
    fn get_mut(&mut self, id: u64) -> Option<&mut Resting> {
        self.0.get_mut(&id)
    }
}

impl Map for OrderMap<Resting> {
    fn name() -> &'static str {
        "order_map"
    }
    fn new() -> Self {
        OrderMap::default()
    }
    fn insert(&mut self, id: u64, v: Resting) {
        OrderMap::insert(self, id, v);
    }
    fn remove(&mut self, id: u64) -> Option<Resting> {
        OrderMap::remove(self, id)
    }
    fn get_mut(&mut self, id: u64) -> Option<&mut Resting> {
        OrderMap::get_mut(self, id)
    }
}

/// One round: per-change latencies, and the changes over 1 ms.
fn round<M: Map>(live_orders: usize, changes: usize, seed: u64) -> (Histogram<u64>, u64) {
    let mut rng = BenchRng::new(seed);
    let mut m = M::new();
    let mut live: Vec<u64> = (1..=live_orders as u64).collect();
    let v = |id: u64| Resting { _price: id, qty: id, _prio: id, _side: 0 };
    for &id in &live {
        m.insert(id, v(id));
    }
    let mut h = latency_histogram();
    let mut over_1ms = 0;
    let first_new = live_orders as u64 + 1;
    for next in first_new..first_new + changes as u64 {
        let gone = rng.below(live.len() as u64) as usize;
        let filled = rng.below(live.len() as u64) as usize;
        let t = Instant::now();
        let id = live.swap_remove(gone);
        black_box(m.remove(id));
        m.insert(next, v(next));
        live.push(next);
        if let Some(o) = m.get_mut(live[filled]) {
            o.qty -= 1;
        }
        let ns = t.elapsed().as_nanos() as u64;
        h.record(ns.max(1)).expect("in the histogram's range");
        if ns > 1_000_000 {
            over_1ms += 1;
        }
    }
    (h, over_1ms)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let changes = if quick { 1_000_000 } else { 5_000_000 };
    let rounds = 3;
    let mut summary = Vec::new();
    for live_orders in [10_000usize, 100_000, 500_000] {
        // (map, latencies, changes over 1 ms), the maps alternating within each round.
        let mut cases = [
            (<FxHashMap<u64, Resting> as Map>::name(), latency_histogram(), 0),
            (FxHalfLoad::name(), latency_histogram(), 0),
            (<OrderMap<Resting> as Map>::name(), latency_histogram(), 0),
        ];
        for r in 0..rounds {
            let seed = 42 + r as u64;
            let results = [
                round::<FxHashMap<u64, Resting>>(live_orders, changes, seed),
                round::<FxHalfLoad>(live_orders, changes, seed),
                round::<OrderMap<Resting>>(live_orders, changes, seed),
            ];
            for (case, (h, over)) in cases.iter_mut().zip(results) {
                case.1.add(&h).expect("same bounds");
                case.2 += over;
            }
        }
        let mut fields = Vec::new();
        for (name, h, over) in &cases {
            println!(
                "{{\"bench\":\"order_map\",\"map\":\"{name}\",\"live_orders\":{live_orders},\"changes\":{},{},\"changes_over_1ms\":{over}}}",
                changes * rounds,
                percentiles_json(h)
            );
            fields.push(format!(
                "\"{name}_max_ns\":{},\"{name}_over_1ms\":{over},\"{name}_mean_ns\":{:.1}",
                h.max(),
                h.mean()
            ));
        }
        summary.push(format!("\"live_{live_orders}\":{{{}}}", fields.join(",")));
    }
    println!("{{\"bench\":\"order_map\",\"summary\":true,\"quick\":{quick},{}}}", summary.join(","));
}
