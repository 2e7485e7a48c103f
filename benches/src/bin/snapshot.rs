//! `snapshot` benchmark: what taking a snapshot of a big book costs the matcher, and what the
//! rest costs off the matcher thread.
//!
//! Builds a risk-mode engine holding `--orders` resting orders (default 1,000,000) over
//! 4 instruments, ~2,000 price levels per side, 1,000 funded accounts, then measures:
//!
//! - `copy_fresh`: `Engine::snapshot()` into new vectors (allocation and page faults included);
//! - `copy_reused`: `Engine::snapshot_into()` into a recycled snapshot (no allocation): the
//!   pause a periodic snapshot costs the matcher;
//! - `hash`: `EngineSnapshot::state_hash()`, `serialize`: rkyv, `write`: file write + fsync +
//!   rename + directory fsync (both on the snapshot thread), `file_bytes`;
//! - `load_restore`: read, CRCs, rkyv validation, deserialize, `Engine::from_snapshot` and the
//!   state-hash check;
//! - `fork_pause`: matchd's default method: `fork()` in the matcher (copy-on-write), the child
//!   snapshots, serializes and writes; the parent's pause is the fork call (measured with only
//!   the engine resident, as in matchd, whose rings add to it), and `cow_slowdown`
//!   is the extra time the parent then spends applying 100,000 commands while its pages are
//!   shared (copy-on-write faults), against the same commands without a child.
//!
//! Prints one JSON line per measurement and a summary line last.
//!
//! `cargo run --release -p benches --bin snapshot -- [--orders N] [--dir DIR] [--no-fork]`

use std::path::PathBuf;
use std::time::Instant;

use engine::*;

const ACCOUNTS: u32 = 1_000;
const INSTRUMENTS: u32 = 4;
const LEVELS_PER_SIDE: u64 = 2_000;
const PAUSE_TARGET_MS: f64 = 10.0;

struct Args {
    orders: u64,
    dir: PathBuf,
    fork: bool,
    risk: bool,
}

fn args() -> Args {
    let usage = "usage: snapshot [--orders N] [--matching-only] [--dir DIR] [--no-fork] [--quick]";
    let mut orders = 1_000_000;
    let mut dir = None;
    let mut fork = true;
    let mut risk = true;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--orders" => orders = it.next().and_then(|v| v.parse().ok()).expect(usage),
            "--dir" => dir = it.next().map(PathBuf::from),
            "--no-fork" => fork = false,
            "--matching-only" => risk = false,
            "--quick" => orders = 200_000,
            "--bench" => {}
            other => panic!("unknown argument {other}; {usage}"),
        }
    }
    let base = dir.unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"))
    });
    Args { orders, dir: base.join(format!("snapshot-bench-{}", std::process::id())), fork, risk }
}

fn spec(id: InstrumentId) -> InstrumentSpec {
    InstrumentSpec {
        id,
        symbol: InstrumentSpec::symbol_from_str(&format!("SYM{id}-USDT")).expect("symbol"),
        base_asset: id,
        quote_asset: 0,
        tick: 1,
        lot: 1,
        min_qty: 1,
        max_qty: 1 << 40,
        min_notional: 0,
        price_band_bps: 5_000,
        reference_price: 100_000,
        qty_scale: 1,
    }
}

/// A risk-mode engine with `n` resting orders (none crossing), and the next sequence number.
fn build(n: u64, risk: bool) -> (Engine, Seq) {
    let cfg = EngineConfig {
        max_orders: (n as u32).max(1 << 16) + (1 << 16),
        max_instruments: 16,
        max_accounts: ACCOUNTS + 1,
        max_open_orders_per_account: u32::MAX,
        risk_checks: risk,
        max_assets: 8,
        fee_account: ACCOUNTS,
        max_transactions: 1 << 16,
        insurance_account: engine::NO_ACCOUNT,
        oracle_account: engine::NO_ACCOUNT,
    };
    let mut e = Engine::new(cfg);
    let mut seq = 1;
    e.skip(seq);
    let mut sink = CountingSink::default();
    let mut apply = |e: &mut Engine, account, kind| {
        seq += 1;
        e.apply(seq, &Command { account, timestamp_ns: seq, kind }, &mut sink);
    };
    for i in 1..=INSTRUMENTS {
        apply(&mut e, 0, CommandKind::AddInstrument(spec(i)));
        if !risk {
            continue;
        }
        apply(
            &mut e,
            0,
            CommandKind::SetFeeSchedule(SetFeeSchedule { instrument: i, tier: 0, maker_ppm: 100, taker_ppm: 500 }),
        );
    }
    let mut tx = 0;
    for a in (0..ACCOUNTS).filter(|_| risk) {
        apply(
            &mut e,
            0,
            CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active }),
        );
        for asset in 0..=INSTRUMENTS {
            tx += 1;
            let t = Transfer { target: a, asset, amount: 1 << 50, tx_id: tx };
            apply(&mut e, 0, CommandKind::Deposit(t));
        }
    }
    for k in 0..n {
        let side = if k % 2 == 0 { Side::Buy } else { Side::Sell };
        let level = (k / 2 * 7919) % LEVELS_PER_SIDE;
        let price = if side == Side::Buy { 99_999 - level } else { 100_001 + level };
        let o = NewOrder {
            client_order_id: k,
            instrument: 1 + (k % INSTRUMENTS as u64) as u32,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            price,
            qty: 1 + k % 1000,
        };
        apply(&mut e, (k % ACCOUNTS as u64) as u32, CommandKind::NewOrder(o));
    }
    assert_eq!(e.live_orders() as u64, n, "every order rests");
    (e, seq)
}

/// Commands that churn the book (cancel + replace), touching pages all over the pools.
fn churn(e: &mut Engine, seq: &mut Seq, count: u64, salt: u64) -> f64 {
    let live = e.live_orders() as u64;
    let mut sink = CountingSink::default();
    let t = Instant::now();
    for k in 0..count {
        *seq += 1;
        let id = 1 + (k * 104_729 + salt * 7) % live.max(1);
        let kind = if k % 2 == 0 {
            CommandKind::Amend(Amend {
                order: OrderRef::Engine(id),
                new_qty: Some(1 + (k + salt) % 999),
                new_price: None,
            })
        } else {
            CommandKind::QueryAccount(QueryAccount { target: (k % ACCOUNTS as u64) as u32 })
        };
        let account = e.order(id).map_or(0, |o| o.account);
        e.apply(*seq, &Command { account, timestamp_ns: *seq, kind }, &mut sink);
    }
    t.elapsed().as_secs_f64() * 1e3
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let a = args();
    let _ = std::fs::remove_dir_all(&a.dir);
    let t = Instant::now();
    let (mut e, mut seq) = build(a.orders, a.risk);
    println!(
        "{}",
        serde_json::json!({"case": "build", "orders": a.orders, "levels_per_side": LEVELS_PER_SIDE * INSTRUMENTS as u64,
            "secs": t.elapsed().as_secs_f64()})
    );

    // The pause: fresh vectors, then recycled ones.
    let mut fresh = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let s = e.snapshot();
        fresh.push(ms(t));
        drop(std::hint::black_box(s));
    }
    let mut reused_snap = e.snapshot();
    let mut reused = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        e.snapshot_into(&mut reused_snap);
        reused.push(ms(t));
    }
    let snap = reused_snap;
    println!("{}", serde_json::json!({"case": "copy_fresh", "ms": fresh}));
    println!("{}", serde_json::json!({"case": "copy_reused", "ms": reused}));

    // Off the matcher thread.
    let t = Instant::now();
    let hash = snap.state_hash();
    let hash_ms = ms(t);
    assert_eq!(hash, e.state_hash());
    let t = Instant::now();
    let payload = snapshot::encode_payload(&snap).expect("serialize");
    let serialize_ms = ms(t);
    drop(payload);
    let w = snapshot::write_snapshot(&a.dir, &snap, &[]).expect("write snapshot");
    let write_ms = w.write.as_secs_f64() * 1e3;
    let file_bytes = w.header.file_len();
    println!(
        "{}",
        serde_json::json!({"case": "write", "hash_ms": hash_ms, "serialize_ms": serialize_ms,
            "write_ms": write_ms, "file_bytes": file_bytes, "hash_plus_serialize_ms": w.serialize.as_secs_f64() * 1e3})
    );
    let t = Instant::now();
    let loaded = snapshot::load_snapshot(&w.path).expect("load");
    let load_ms = ms(t);
    assert_eq!(loaded.engine.state_hash(), e.state_hash());
    drop(loaded);
    println!("{}", serde_json::json!({"case": "load_restore", "ms": load_ms}));

    // The fork method (matchd's default), with only the engine in memory as in matchd's fork
    // mode (no copy kept).
    drop(snap);
    let mut fork_json = serde_json::Value::Null;
    if a.fork {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        };
        let (rss_kb, pte_kb) = (field("VmRSS:"), field("VmPTE:"));
        let base = median((0..3).map(|i| churn(&mut e, &mut seq, 100_000, i)).collect());
        let mut pauses = Vec::new();
        let mut slowdowns = Vec::new();
        let mut child_ms = Vec::new();
        for i in 0..3 {
            let dir = a.dir.join(format!("fork-{i}"));
            let t = Instant::now();
            let f = snapshot::fork_snapshot(&e, &dir).expect("fork");
            let fork_seq = f.seq;
            pauses.push(f.fork_pause.as_secs_f64() * 1e3);
            slowdowns.push(churn(&mut e, &mut seq, 100_000, 10 + i) - base);
            f.wait(std::time::Duration::from_secs(600)).expect("child wrote the engine part");
            snapshot::finish_snapshot(&dir, fork_seq, &[]).expect("finish");
            child_ms.push(ms(t));
        }
        fork_json = serde_json::json!({"rss_kb": rss_kb, "page_tables_kb": pte_kb, "fork_pause_ms": pauses, "cow_slowdown_ms_per_100k_commands": slowdowns,
            "churn_baseline_ms_per_100k_commands": base, "child_done_ms": child_ms});
        println!("{}", serde_json::json!({"case": "fork", "detail": fork_json}));
    }
    let _ = std::fs::remove_dir_all(&a.dir);
    let copy = median(reused.clone());
    println!(
        "{}",
        serde_json::json!({
            "bench": "snapshot", "orders": a.orders, "risk_checks": a.risk,
            "copy_reused_ms_median": copy, "copy_reused_ms_max": reused.iter().cloned().fold(0.0, f64::max),
            "copy_fresh_ms_median": median(fresh),
            "hash_ms": hash_ms, "serialize_ms": serialize_ms, "write_ms": write_ms, "file_bytes": file_bytes,
            "load_restore_ms": load_ms, "fork": fork_json,
            "pause_target_ms": PAUSE_TARGET_MS, "pause_ok": copy < PAUSE_TARGET_MS,
        })
    );
}
