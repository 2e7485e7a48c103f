//! Perpetual futures in the matcher (issue #16): what margin costs a flow, and what liquidation
//! costs a mark move.
//!
//! - **Futures mix**: `--commands` pre-generated commands on one perpetual with margin on
//!   (resting and crossing limit orders, market and reduce-only orders, cancels and amends by
//!   client id, mark moves, funding) by `--traders` accounts, timed in thread CPU after a
//!   warm-up of as many; beside it, the same orders, cancels and amends on a spot instrument
//!   with risk checks on (the peer: the same engine's spot path), passes alternating. Figures:
//!   commands/s, ns per command, their ratio, and per-command latency percentiles of the
//!   futures mix.
//! - **Liquidating mark move**: `--positions` accounts each long one lot against one market
//!   maker, `--thin` of them on thin margin; one mark move of 1.67% crosses exactly the thin
//!   ones' liquidation prices: the cost of that one command (the fund takes each position over).
//! - **Quiet mark moves**: mark moves that cross no key, with 1,000, then 10,000, then
//!   `--positions` positions open: ns per move (the cost must not grow with the positions).
//!
//! `cargo run --release -p benches --bin futures -- [--commands 1000000] [--positions 100000]
//! [--thin 1000] [--runs 5]`. Prints one JSON line last.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use benches::stats::{latency_histogram, percentiles_json, thread_cpu_ns, timer_overhead_ns};
use engine::*;

const FEE: AccountId = 0;
const FUND: AccountId = 1;
const ORACLE: AccountId = 2;
const MAKER: AccountId = 3;
const FIRST: AccountId = 4;
const USDT: AssetId = 1;
const BASE: AssetId = 2;
const PERP: InstrumentId = 1;
const SPOT: InstrumentId = 2;
const MID: Price = 6_000_000;

struct Args {
    commands: usize,
    traders: u32,
    positions: u32,
    thin: u32,
    runs: usize,
}

fn parse_args() -> Args {
    let mut a = Args { commands: 1_000_000, traders: 64, positions: 100_000, thin: 1_000, runs: 5 };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or_else(|| panic!("{k} needs a number"));
        match k.as_str() {
            "--commands" => a.commands = v() as usize,
            "--traders" => a.traders = v().max(2) as u32,
            "--positions" => a.positions = v().max(1_000) as u32,
            "--thin" => a.thin = v() as u32,
            "--runs" => a.runs = v().max(1) as usize,
            "-h" | "--help" => {
                println!("futures [--commands N] [--traders N] [--positions N] [--thin N] [--runs N]");
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    a.thin = a.thin.min(a.positions);
    a
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn spec(id: InstrumentId, symbol: &str) -> InstrumentSpec {
    InstrumentSpec {
        id,
        symbol: InstrumentSpec::symbol_from_str(symbol).expect("symbol"),
        base_asset: BASE,
        quote_asset: USDT,
        tick: 10,
        lot: 1,
        min_qty: 1,
        max_qty: 1_000_000_000,
        min_notional: 0,
        price_band_bps: 500,
        reference_price: MID,
        qty_scale: 1000,
    }
}

/// An engine with a perpetual (Binance's first BTCUSDT brackets, with a last bracket wide
/// enough for the market maker) and a spot instrument, `accounts` traders funded on both.
struct Market {
    e: Engine,
    seq: u64,
}

impl Market {
    fn new(accounts: u32, trader_margin: u64) -> Market {
        let config = EngineConfig {
            risk_checks: true,
            max_accounts: FIRST + accounts + 1,
            max_orders: 1 << 20,
            max_open_orders_per_account: 1 << 20,
            max_instruments: 4,
            max_assets: 4,
            max_transactions: 1 << 20,
            insurance_account: FUND,
            oracle_account: ORACLE,
            fee_account: FEE,
        };
        let mut m = Market { e: Engine::new(config), seq: 0 };
        m.admin(CommandKind::AddPerpetual(spec(PERP, "BTC-PERP")));
        m.admin(CommandKind::AddInstrument(spec(SPOT, "BTC-USDT")));
        for inst in [PERP, SPOT] {
            m.admin(CommandKind::SetFeeSchedule(SetFeeSchedule {
                instrument: inst,
                tier: 0,
                maker_ppm: -100,
                taker_ppm: 500,
            }));
        }
        // Binance's first brackets, and a last one wide enough for the market maker.
        let wide = (1_000_000_000_000, 10, 50_000, 4_130_000);
        let [b0, b1, b2] = engine::examples::BINANCE_BTC_BRACKETS;
        for t in engine::examples::risk_tiers(PERP, &[b0, b1, b2, wide]) {
            m.admin(CommandKind::SetRiskTier(t));
        }
        m.admin(CommandKind::SetInstrumentState(SetInstrumentState {
            instrument: PERP,
            state: InstrumentState::Trading,
        }));
        let mut tx = 0;
        let mut deposit = |m: &mut Market, kind: fn(Transfer) -> CommandKind, target, asset, amount| {
            tx += 1;
            m.admin(kind(Transfer { target, asset, amount, tx_id: tx }));
        };
        deposit(&mut m, CommandKind::MarginDeposit, FUND, USDT, 1 << 50);
        for a in (MAKER..FIRST + accounts).chain([ORACLE]) {
            m.admin(CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active }));
            let margin = if a == MAKER { 1 << 50 } else { trader_margin };
            deposit(&mut m, CommandKind::MarginDeposit, a, USDT, margin);
            deposit(&mut m, CommandKind::Deposit, a, USDT, 1 << 40);
            deposit(&mut m, CommandKind::Deposit, a, BASE, 1 << 40);
        }
        m
    }

    fn apply(&mut self, account: AccountId, kind: CommandKind, out: &mut Vec<Event>) {
        self.seq += 1;
        out.clear();
        self.e.apply(self.seq, &Command { account, timestamp_ns: self.seq, kind }, out);
    }

    fn admin(&mut self, kind: CommandKind) {
        let mut out = Vec::new();
        self.apply(FEE, kind, &mut out);
        assert!(!out.iter().any(|e| matches!(e.kind, EventKind::Rejected(_))), "setup: {kind:?}: {out:?}");
    }
}

/// The futures mix on `inst` (the perpetual, or the spot instrument without the mark and
/// funding commands). Every resting order is cancelled by its owner once, 1 to 4,000 commands
/// after it was sent (unless it traded first), so the book stays at a steady depth.
fn mix(n: usize, traders: u32, inst: InstrumentId, seed: u64) -> Vec<(AccountId, CommandKind)> {
    let mut r = Rng(seed);
    let mut cid = 0u64;
    let mut v = Vec::with_capacity(n);
    // (due index, owner, client order id) of the cancels to come.
    let mut cancels: BinaryHeap<Reverse<(usize, AccountId, u64)>> = BinaryHeap::new();
    while v.len() < n {
        if let Some(&Reverse((due, owner, c))) = cancels.peek() {
            if due <= v.len() {
                cancels.pop();
                v.push((owner, CommandKind::Cancel(Cancel { order: OrderRef::Client(c) })));
                continue;
            }
        }
        let account = FIRST + r.below(traders as u64) as AccountId;
        let side = if r.below(2) == 0 { Side::Buy } else { Side::Sell };
        cid += 1;
        let order = |order_type, tif, price, qty| NewOrder {
            client_order_id: cid,
            instrument: inst,
            side,
            order_type,
            tif,
            stp: StpMode::None,
            price,
            qty,
        };
        let passive = |r: &mut Rng| match side {
            Side::Buy => MID - 10 * (1 + r.below(100)),
            Side::Sell => MID + 10 * (1 + r.below(100)),
        };
        let later = |r: &mut Rng, len: usize| len + 1 + r.below(4_000) as usize;
        let kind = match r.below(100) {
            0..=54 => {
                cancels.push(Reverse((later(&mut r, v.len()), account, cid)));
                CommandKind::NewOrder(order(OrderType::Limit, TimeInForce::Gtc, passive(&mut r), 1 + r.below(20)))
            }
            55..=69 => {
                let p = if side == Side::Buy { MID + 300 } else { MID - 300 };
                CommandKind::NewOrder(order(OrderType::Limit, TimeInForce::Ioc, p, 1 + r.below(10)))
            }
            70..=72 => CommandKind::NewOrder(order(OrderType::Market, TimeInForce::Ioc, 0, 1 + r.below(5))),
            73..=75 if inst == PERP => {
                cancels.push(Reverse((later(&mut r, v.len()), account, cid)));
                let o = order(OrderType::Limit, TimeInForce::Gtc, passive(&mut r), 1 + r.below(5));
                CommandKind::NewAdvancedOrder(AdvancedOrder { reduce_only: true, ..AdvancedOrder::plain(o) })
            }
            76..=89 => {
                // An amend of one of the account's recent orders (gone ones are rejected).
                let target = OrderRef::Client(cid.saturating_sub(1 + r.below(50)));
                CommandKind::Amend(Amend { order: target, new_qty: Some(1 + r.below(20)), new_price: None })
            }
            90..=97 if inst == PERP => {
                let mark_price = (MID as i64 + (r.below(401) as i64 - 200) * 10) as Price;
                v.push((ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: PERP, mark_price })));
                continue;
            }
            // Funding settles every holder: on a venue it comes every few hours, here one
            // command in 10,000.
            98 if inst == PERP && r.below(50) == 0 => {
                let rate_ppm = r.below(201) as i32 - 100;
                // Timestamps are sequence numbers here: any later time is valid.
                let next_funding_time_ns = u64::MAX;
                let f = ApplyFunding { instrument: PERP, rate_ppm, next_funding_time_ns };
                v.push((ORACLE, CommandKind::ApplyFunding(f)));
                continue;
            }
            _ => continue,
        };
        v.push((account, kind));
    }
    v
}

/// Best thread-CPU ns per command of each flow over `runs` alternating passes (each on a
/// fresh market warmed up by `warm`), and the perpetual's per-command latency histogram.
fn mixes(a: &Args) -> (f64, f64, hdrhistogram::Histogram<u64>, u64, u64) {
    // One flow per instrument: its first half warms the market up, its second half is timed
    // (client order ids and cancels run on from the warm-up).
    let split = |mut v: Vec<(AccountId, CommandKind)>| {
        let timed = v.split_off(v.len() / 2);
        (v, timed)
    };
    let (warm_perp, perp) = split(mix(2 * a.commands, a.traders, PERP, 7));
    let (warm_spot, spot) = split(mix(2 * a.commands, a.traders, SPOT, 7));
    let (mut best_perp, mut best_spot) = (f64::MAX, f64::MAX);
    let mut out = Vec::with_capacity(1 << 16);
    let mut hist = latency_histogram();
    let (mut trades, mut rejects) = (0, 0);
    for run in 0..a.runs {
        for (flow, warm, best) in [(&perp, &warm_perp, &mut best_perp), (&spot, &warm_spot, &mut best_spot)] {
            let mut m = Market::new(a.traders, 1 << 40);
            for (acct, kind) in warm {
                m.apply(*acct, *kind, &mut out);
            }
            let t0 = thread_cpu_ns();
            for (acct, kind) in flow {
                m.apply(*acct, *kind, &mut out);
            }
            let ns = (thread_cpu_ns() - t0) as f64 / flow.len() as f64;
            *best = best.min(ns);
            if run == 0 && std::ptr::eq(flow, &perp) {
                // A second pass for latency (timing each command costs a clock read).
                let mut m = Market::new(a.traders, 1 << 40);
                for (acct, kind) in warm {
                    m.apply(*acct, *kind, &mut out);
                }
                for (acct, kind) in flow {
                    let t = Instant::now();
                    m.apply(*acct, *kind, &mut out);
                    hist.record(t.elapsed().as_nanos().max(1) as u64).expect("in range");
                    trades += out.iter().filter(|e| matches!(e.kind, EventKind::Trade(_))).count() as u64;
                    rejects += out.iter().filter(|e| matches!(e.kind, EventKind::Rejected(_))).count() as u64;
                }
            }
        }
    }
    (best_perp, best_spot, hist, trades, rejects)
}

/// A market with `positions` traders each long one lot from the maker at the mid, the first
/// `thin` of them on thin margin at 100x.
fn positions_market(positions: u32, thin: u32) -> Market {
    let mut m = Market::new(positions, 10_000);
    let mut out = Vec::new();
    let ask = NewOrder {
        client_order_id: 1,
        instrument: PERP,
        side: Side::Sell,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        stp: StpMode::None,
        price: MID,
        qty: positions as u64,
    };
    // At 10x the last bracket (up to 1e12 of notional) is open to the maker.
    m.apply(MAKER, CommandKind::SetLeverage(SetLeverage { instrument: PERP, leverage: 10 }), &mut out);
    m.apply(MAKER, CommandKind::NewOrder(ask), &mut out);
    assert!(!out.iter().any(|e| matches!(e.kind, EventKind::Rejected(_))), "the maker's ask: {out:?}");
    for k in 0..positions {
        let a = FIRST + k;
        if k < thin {
            m.apply(a, CommandKind::SetLeverage(SetLeverage { instrument: PERP, leverage: 100 }), &mut out);
            m.apply(
                FEE,
                CommandKind::MarginWithdraw(Transfer {
                    target: a,
                    asset: USDT,
                    amount: 9_900,
                    tx_id: (1 << 50) + k as u64,
                }),
                &mut out,
            );
        }
        let buy = NewOrder {
            client_order_id: 1,
            side: Side::Buy,
            order_type: OrderType::Market,
            tif: TimeInForce::Ioc,
            price: 0,
            qty: 1,
            ..ask
        };
        m.apply(a, CommandKind::NewOrder(buy), &mut out);
        assert!(out.iter().any(|e| matches!(e.kind, EventKind::Trade(_))), "trader {a} did not buy: {out:?}");
    }
    m
}

/// (best ns of the liquidating mark move, liquidations in it).
fn liquidating_move(a: &Args) -> (u64, u64) {
    let mut best = u64::MAX;
    let mut liquidated = 0;
    let mut out = Vec::with_capacity(1 << 20);
    for _ in 0..a.runs {
        let mut m = positions_market(a.positions, a.thin);
        let mv = CommandKind::SetMarkPrice(SetMarkPrice { instrument: PERP, mark_price: 5_900_000 });
        let t0 = thread_cpu_ns();
        m.apply(ORACLE, mv, &mut out);
        best = best.min(thread_cpu_ns() - t0);
        liquidated = out.iter().filter(|e| matches!(e.kind, EventKind::Liquidation(_))).count() as u64;
    }
    (best, liquidated)
}

/// ns per mark move that crosses no key, with `positions` open.
fn quiet_moves(positions: u32, runs: usize) -> f64 {
    let mut m = positions_market(positions, 0);
    let mut out = Vec::with_capacity(1 << 10);
    let moves = 20_000;
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t0 = thread_cpu_ns();
        for k in 0..moves {
            let mark_price = MID - 1_000 + (k % 2) * 2_000;
            m.apply(ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: PERP, mark_price }), &mut out);
            debug_assert!(!out.iter().any(|e| matches!(e.kind, EventKind::Liquidation(_))));
        }
        best = best.min((thread_cpu_ns() - t0) as f64 / moves as f64);
    }
    best
}

fn main() {
    let a = parse_args();
    let (perp, spot, hist, trades, rejects) = mixes(&a);
    let overhead = timer_overhead_ns();
    println!(
        "futures mix, {} commands, {} traders: {perp:.1} ns/command ({:.2}M commands/s) with margin; spot with risk checks {spot:.1} ns ({:.3}x); per command p50 {} p99 {} p99.9 {} ns (timer floor {overhead} ns); {trades} trades, {rejects} rejects (cancels and amends of orders that traded first, reduce-only orders that would open)",
        a.commands,
        a.traders,
        1e3 / perp,
        perp / spot,
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999),
    );
    let (liq_ns, liquidated) = liquidating_move(&a);
    println!(
        "mark move liquidating {liquidated} of {} positions: {:.2} ms, {:.0} ns per liquidation",
        a.positions,
        liq_ns as f64 / 1e6,
        liq_ns as f64 / liquidated.max(1) as f64
    );
    let quiet: Vec<(u32, f64)> =
        [1_000, 10_000, a.positions].into_iter().map(|n| (n, quiet_moves(n, a.runs))).collect();
    for (n, ns) in &quiet {
        println!("mark move liquidating none, {n} positions: {ns:.1} ns");
    }
    let quiet_json: Vec<String> = quiet.iter().map(|(n, ns)| format!("{{\"positions\":{n},\"ns\":{ns:.1}}}")).collect();
    println!(
        "{{\"bench\":\"futures\",\"commands\":{},\"traders\":{},\"perp_ns_per_command\":{perp:.1},\"perp_commands_per_s\":{:.0},\"spot_ns_per_command\":{spot:.1},\"perp_vs_spot\":{:.3},\"trades\":{trades},\"rejects\":{rejects},{},\"timer_floor_ns\":{overhead},\"positions\":{},\"liquidated\":{liquidated},\"liquidating_move_ms\":{:.3},\"ns_per_liquidation\":{:.0},\"quiet_moves\":[{}]}}",
        a.commands,
        a.traders,
        1e9 / perp,
        perp / spot,
        percentiles_json(&hist),
        a.positions,
        liq_ns as f64 / 1e6,
        liq_ns as f64 / liquidated.max(1) as f64,
        quiet_json.join(",")
    );
}
