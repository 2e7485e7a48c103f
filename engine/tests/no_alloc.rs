//! Steady state allocates nothing: after a warm-up that grows the books, a
//! further 100k commands of the same realistic flow (places, cancels, amends,
//! trades, IOC, FOK, market orders, self-trade prevention) make zero heap
//! allocations, counted by a global allocator on this test's thread.
//!
//! This file holds a single test so that no other test runs concurrently in
//! the binary; counting is per-thread anyway.

mod alloc_counter;

use std::sync::atomic::Ordering;

use alloc_counter::{counting, ALLOCS};
use engine::*;

const INSTRUMENTS: u32 = 4;
const ACCOUNTS: u32 = 8;
const TARGET_PER_BOOK: usize = 1_000;
const FAIR: Price = 100_000;
const MEASURED: u64 = 100_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Live order ids per instrument, kept with no allocation after construction
/// (fixed capacities; `pos` is indexed by order id).
struct Live {
    ids: Vec<Vec<OrderId>>,
    pos: Vec<u32>,
}

impl Live {
    fn new(max_ids: usize) -> Self {
        Live { ids: (0..INSTRUMENTS).map(|_| Vec::with_capacity(1 << 14)).collect(), pos: vec![u32::MAX; max_ids] }
    }
    fn add(&mut self, inst: InstrumentId, id: OrderId) {
        let v = &mut self.ids[inst as usize];
        assert!(v.len() < v.capacity(), "tracking capacity");
        self.pos[id as usize] = v.len() as u32;
        v.push(id);
    }
    fn remove(&mut self, inst: InstrumentId, id: OrderId) {
        let p = self.pos[id as usize];
        if p == u32::MAX {
            return;
        }
        let v = &mut self.ids[inst as usize];
        let last = *v.last().unwrap();
        v.swap_remove(p as usize);
        if last != id {
            self.pos[last as usize] = p;
        }
        self.pos[id as usize] = u32::MAX;
    }
    fn total(&self) -> usize {
        self.ids.iter().map(Vec::len).sum()
    }
}

/// Kinds of generated commands, for attributing allocations.
const OPS: [&str; 9] = ["gtc", "cross", "ioc", "market", "fok", "cancel-id", "cancel-cid", "amend-qty", "amend-px"];

struct Flow {
    rng: Rng,
    next_cid: u64,
}

impl Flow {
    /// One command of the flow; chooses against the engine's current state
    /// through allocation-free lookups only.
    fn next(&mut self, e: &Engine, live: &Live) -> (usize, Command) {
        let r = &mut self.rng;
        let inst = r.below(INSTRUMENTS as u64) as InstrumentId;
        let n = live.ids[inst as usize].len();
        let account = r.below(ACCOUNTS as u64) as AccountId;
        let side = if r.below(2) == 0 { Side::Buy } else { Side::Sell };
        let stp = match r.below(8) {
            0 | 3 => StpMode::CancelTaker,
            1 | 4 => StpMode::CancelMaker,
            2 => StpMode::CancelBoth,
            _ => StpMode::None,
        };
        let passive = |r: &mut Rng, side: Side| match side {
            Side::Buy => FAIR - 1 - r.below(60),
            Side::Sell => FAIR + 1 + r.below(60),
        };
        // More places while the book is below target, more cancels above.
        let place_pct = if n < TARGET_PER_BOOK { 60 } else { 35 };
        let roll = r.below(100);
        let op = if n == 0 || roll < place_pct {
            match r.below(20) {
                0..=13 => 0,
                14 | 15 => 1,
                16 | 17 => 2,
                18 => 3,
                _ => 4,
            }
        } else {
            match r.below(10) {
                0..=4 => 5,
                5 => 6,
                6 | 7 => 7,
                _ => 8,
            }
        };
        self.next_cid += 1;
        let new = |tif, order_type, price, qty| {
            CommandKind::NewOrder(NewOrder {
                client_order_id: self.next_cid,
                instrument: inst,
                side,
                order_type,
                tif,
                stp,
                price,
                qty,
            })
        };
        let cross = |r: &mut Rng| match side {
            Side::Buy => FAIR + r.below(5),
            Side::Sell => FAIR - r.below(5),
        };
        let (account, kind) = match op {
            0 => (account, new(TimeInForce::Gtc, OrderType::Limit, passive(r, side), 1 + r.below(100))),
            1 => (account, new(TimeInForce::Gtc, OrderType::Limit, cross(r), 1 + r.below(150))),
            2 => (account, new(TimeInForce::Ioc, OrderType::Limit, cross(r), 1 + r.below(150))),
            3 => (account, new(TimeInForce::Ioc, OrderType::Market, 0, 1 + r.below(100))),
            4 => (account, new(TimeInForce::Fok, OrderType::Limit, cross(r), 1 + r.below(200))),
            _ => {
                let id = live.ids[inst as usize][r.below(n as u64) as usize];
                let o = e.order(id).expect("tracked orders are live");
                let kind = match op {
                    5 => CommandKind::Cancel(Cancel { order: OrderRef::Engine(id) }),
                    6 => CommandKind::Cancel(Cancel { order: OrderRef::Client(o.client_order_id) }),
                    7 => {
                        let q = if r.below(2) == 0 { (o.qty / 2).max(1) } else { o.qty + 1 + r.below(50) };
                        CommandKind::Amend(Amend { order: OrderRef::Engine(id), new_qty: Some(q), new_price: None })
                    }
                    _ => {
                        // Mostly a passive move; sometimes across the spread.
                        let p = if r.below(10) == 0 { cross_for(r, o.side) } else { passive(r, o.side) };
                        let p = if p == o.price { p - 1 } else { p };
                        CommandKind::Amend(Amend {
                            order: OrderRef::Client(o.client_order_id),
                            new_qty: None,
                            new_price: Some(p),
                        })
                    }
                };
                (o.account, kind)
            }
        };
        (op, Command { account, timestamp_ns: self.next_cid, kind })
    }
}

fn cross_for(r: &mut Rng, side: Side) -> Price {
    match side {
        Side::Buy => FAIR + r.below(5),
        Side::Sell => FAIR - r.below(5),
    }
}

/// Keeps `live` in step with the engine from one command's events.
fn track(e: &Engine, events: &[Event], live: &mut Live) {
    for ev in events {
        match ev.kind {
            EventKind::Accepted(a) if e.order(a.order_id).is_some() => live.add(a.instrument, a.order_id),
            EventKind::Trade(t) => {
                for id in [t.maker_order_id, t.taker_order_id] {
                    if e.order(id).is_none() {
                        live.remove(t.instrument, id);
                    }
                }
            }
            EventKind::Cancelled(c) if e.order(c.order_id).is_none() => live.remove(c.instrument, c.order_id),
            _ => {}
        }
    }
}

#[test]
fn steady_state_commands_do_not_allocate() {
    let cfg = EngineConfig {
        max_orders: 1 << 15,
        max_instruments: INSTRUMENTS,
        max_accounts: ACCOUNTS,
        max_open_orders_per_account: 10_000,
        ..EngineConfig::default()
    };
    // The counter works: one allocation on this thread is seen.
    let c0 = ALLOCS.load(Ordering::Relaxed);
    counting(true);
    let probe: Vec<u64> = std::hint::black_box(Vec::with_capacity(3));
    counting(false);
    drop(probe);
    assert_eq!(ALLOCS.load(Ordering::Relaxed) - c0, 1);

    let mut e = Engine::new(cfg);
    let mut out: Vec<Event> = Vec::with_capacity(1 << 16);
    let mut seq = 0;
    for id in 0..INSTRUMENTS {
        let spec = InstrumentSpec {
            id,
            symbol: InstrumentSpec::symbol_from_str("NA-USD").unwrap(),
            base_asset: id + 1,
            quote_asset: 0,
            tick: 1,
            lot: 1,
            min_qty: 1,
            max_qty: 1_000_000,
            min_notional: 0,
            price_band_bps: 1_000,
            reference_price: FAIR,
            qty_scale: 1,
        };
        seq += 1;
        e.apply(seq, &Command { account: 0, timestamp_ns: 0, kind: CommandKind::AddInstrument(spec) }, &mut out);
    }
    let warmup_min = 150_000u64;
    let mut live = Live::new((warmup_min * 2 + MEASURED * 2) as usize);
    let mut flow = Flow { rng: Rng(0x1234_5678_9ABC_DEF1), next_cid: 0 };

    let mut step = |e: &mut Engine, live: &mut Live, out: &mut Vec<Event>, seq: &mut u64| -> usize {
        let (op, cmd) = flow.next(e, live);
        *seq += 1;
        out.clear();
        e.apply(*seq, &cmd, out);
        track(e, out, live);
        op
    };

    // Warm up: grow every book to its target and keep trading for a while so
    // every structure has reached its steady-state size.
    let mut warm = 0u64;
    while warm < warmup_min || live.ids.iter().any(|v| v.len() < TARGET_PER_BOOK * 9 / 10) {
        step(&mut e, &mut live, &mut out, &mut seq);
        warm += 1;
        assert!(warm < 2_000_000, "books never reached their target");
    }
    assert_eq!(e.live_orders() as usize, live.total(), "tracking matches the engine");

    // A book side keeps its levels in a Vec that starts at 64 entries and grows
    // the first time a side is deeper than ever before (BookSide::insert). The
    // flow spans up to 65 price levels per side, which a side may first reach at
    // any time; so stretch every side once past that depth, then cancel.
    for inst in 0..INSTRUMENTS {
        for side in [Side::Buy, Side::Sell] {
            let first = e.next_ids().0;
            for k in 0..80 {
                let price = if side == Side::Buy { FAIR - 61 - k } else { FAIR + 61 + k };
                let o = NewOrder {
                    client_order_id: u64::MAX - k,
                    instrument: inst,
                    side,
                    order_type: OrderType::Limit,
                    tif: TimeInForce::Gtc,
                    stp: StpMode::None,
                    price,
                    qty: 1,
                };
                seq += 1;
                out.clear();
                e.apply(seq, &Command { account: 0, timestamp_ns: 0, kind: CommandKind::NewOrder(o) }, &mut out);
                assert_eq!(out.len(), 2, "{out:?}");
            }
            assert!(e.levels(inst, side).len() > 80);
            for id in first..first + 80 {
                seq += 1;
                out.clear();
                let c = CommandKind::Cancel(Cancel { order: OrderRef::Engine(id) });
                e.apply(seq, &Command { account: 0, timestamp_ns: 0, kind: c }, &mut out);
                assert_eq!(out.len(), 2, "{out:?}");
            }
        }
    }
    assert_eq!(e.live_orders() as usize, live.total());
    let deepest = (0..INSTRUMENTS).flat_map(|i| [Side::Buy, Side::Sell].map(|s| e.levels(i, s).len())).max().unwrap();

    // Measure.
    let mut per_op = [0u64; OPS.len()];
    let mut count_op = [0u64; OPS.len()];
    let mut kinds = [0u64; 4]; // trades, self-trade preventions, amends, rejects
    let mut min_live = usize::MAX;
    let start = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..MEASURED {
        counting(true);
        let before = ALLOCS.load(Ordering::Relaxed);
        let op = step(&mut e, &mut live, &mut out, &mut seq);
        let after = ALLOCS.load(Ordering::Relaxed);
        counting(false);
        per_op[op] += after - before;
        count_op[op] += 1;
        for ev in &out {
            match ev.kind {
                EventKind::Trade(_) => kinds[0] += 1,
                EventKind::SelfTradePrevented(_) => kinds[1] += 1,
                EventKind::Amended(_) => kinds[2] += 1,
                EventKind::Rejected(_) => kinds[3] += 1,
                _ => {}
            }
        }
        min_live = min_live.min(live.ids.iter().map(Vec::len).min().unwrap());
    }
    let total = ALLOCS.load(Ordering::Relaxed) - start;
    let report: Vec<String> = OPS
        .iter()
        .zip(per_op.iter().zip(count_op.iter()))
        .map(|(n, (a, c))| format!("{n}: {a} allocs / {c} cmds"))
        .collect();
    // The flow really exercised the engine at depth.
    assert!(min_live >= TARGET_PER_BOOK / 2, "books stayed deep: min {min_live}");
    assert!(count_op.iter().all(|&c| c > 1_000), "{report:?}");
    assert!(kinds[0] > 10_000 && kinds[1] > 300 && kinds[2] > 10_000, "trades/STP/amends: {kinds:?}");
    assert!(deepest > 50, "the flow spreads over many levels: {deepest}");
    assert_eq!(total, 0, "heap allocations in steady state: {report:?} (warm-up {warm} commands)");
}
