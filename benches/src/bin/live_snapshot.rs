//! `live_snapshot` benchmark: the matcher's pause for a snapshot in the real, release `matchd`
//! holding a big book, with each method side by side (`snapshots.method = "fork"`, the default,
//! and `"copy"`), as `matchd_snapshot_last_pause_seconds` reports it.
//!
//! Writes `--orders` resting limit orders (default 1,000,000; 1,000 accounts, 8,000 price levels
//! on BTC-USDT, matching only) straight into the journal of a fresh data directory, starts matchd
//! on it (replay), then asks for `--rounds` snapshots with SIGUSR1 per method, waiting for each to
//! be written. Also prints matchd's resident memory and page-table size, which the fork pause
//! scales with. `--quick`: 200,000 orders. One JSON line per case, a summary line last.
//!
//! ```text
//! cargo build --release -p matchd --bin matchd
//! cargo run --release -p benches --bin live_snapshot -- [--quick] [--orders N] [--rounds R] [--matchd PATH] \
//!     [--set key=value ...]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ::matchd::config::DEFAULT_CONFIG_TOML;
use engine::{Command, CommandKind, NewOrder, OrderType, Side, StpMode, TimeInForce};
use tools::loadgen::matchd::{self, Matchd};

const PAUSE_TARGET_MS: f64 = 10.0;
const ACCOUNTS: u64 = 1_000;
const LEVELS_PER_SIDE: u64 = 4_000;
/// BTC-USDT in the default config: reference price and lot.
const BTC: u32 = 1;
const BTC_REF: u64 = 5_000_000;
const BTC_LOT: u64 = 1_000;

struct Args {
    orders: u64,
    /// `--set key=value`: more config changes (e.g. `retransmit_messages_per_account=1000`).
    set: Vec<(String, String)>,
    rounds: usize,
    matchd: Option<PathBuf>,
}

fn args() -> Args {
    let usage = "usage: live_snapshot [--quick] [--orders N] [--rounds R] [--matchd PATH] [--set key=value ...]";
    let mut a = Args { orders: 1_000_000, set: Vec::new(), rounds: 3, matchd: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{usage}"));
        match flag.as_str() {
            "--orders" => a.orders = val().parse().expect("--orders N"),
            "--quick" => {
                a.orders = 200_000;
                a.rounds = 3;
            }
            "--rounds" => a.rounds = val().parse().expect("--rounds R"),
            "--matchd" => a.matchd = Some(PathBuf::from(val())),
            "--set" => {
                let kv = val();
                let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("{usage}"));
                a.set.push((k.to_string(), v.to_string()));
            }
            _ => panic!("{usage}"),
        }
    }
    a
}

fn config(method: &str, orders: u64, extra: &[(String, String)]) -> String {
    let mut toml = DEFAULT_CONFIG_TOML.to_string();
    for (key, value) in [
        ("risk_checks", "false".to_string()),
        ("every_commands", "0".to_string()),
        ("on_shutdown", "false".to_string()),
        ("method", format!("\"{method}\"")),
        ("max_orders", orders.next_power_of_two().max(1 << 20).to_string()),
        ("max_open_orders_per_account", (orders / ACCOUNTS + 1).to_string()),
        ("log_interval_s", "0".to_string()),
    ] {
        toml = matchd::set_key(&toml, key, &value);
    }
    for (k, v) in extra {
        toml = matchd::set_key(&toml, k, v);
    }
    toml
}

fn segment_bytes(toml: &str) -> u64 {
    toml.lines()
        .find_map(|l| l.trim().strip_prefix("segment_bytes")?.trim_start().strip_prefix('=')?.trim().parse().ok())
        .expect("segment_bytes in the default config")
}

/// Appends the resting book to the journal matchd created.
fn write_book(data: &std::path::Path, orders: u64, segment_size: u64) {
    let cfg = journal::JournalConfig { segment_size, ..Default::default() };
    let (mut w, _) = journal::JournalWriter::open(data.join("journal"), cfg).expect("open the journal");
    let mut buf = [0u8; 256];
    for i in 0..orders {
        let side = if i % 2 == 0 { Side::Sell } else { Side::Buy };
        let ticks = 1 + (i / 2) % LEVELS_PER_SIDE;
        let price_ticks = if side == Side::Sell { BTC_REF + ticks } else { BTC_REF - ticks };
        let order = NewOrder {
            client_order_id: i + 1,
            instrument: BTC,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            price: price_ticks,
            qty: 3 * BTC_LOT,
        };
        let cmd =
            Command { account: 1 + (i % ACCOUNTS) as u32, timestamp_ns: 1_000 + i, kind: CommandKind::NewOrder(order) };
        let n = engine::command_codec::encode(&cmd, &mut buf);
        w.append(engine::command_codec::RECORD_COMMAND, &buf[..n]).expect("append");
        if i % 65_536 == 0 {
            w.commit().expect("commit");
        }
    }
    w.commit().expect("commit");
}

fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Resident memory by kind of mapping, in MB: what `fork()` copies page tables for (private
/// anonymous memory) and what it does not (shared file mappings: the journal), and the largest
/// private mappings.
fn rss_breakdown(pid: u32) -> serde_json::Value {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let (mut private_kb, mut shared_kb) = (0u64, 0u64);
    let mut largest: Vec<(u64, String)> = Vec::new();
    let mut current = (String::new(), false);
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if first.contains('-') && first.chars().next().is_some_and(|c| c.is_ascii_hexdigit()) && !first.ends_with(':') {
            let perms = f.next().unwrap_or("");
            let name = line.split_whitespace().nth(5).unwrap_or("[anon]").to_string();
            current = (format!("{first} {perms} {name}"), perms.ends_with('s'));
        } else if first == "Rss:" {
            let kb: u64 = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            if current.1 {
                shared_kb += kb;
            } else {
                private_kb += kb;
                largest.push((kb, current.0.clone()));
            }
        }
    }
    largest.sort_by_key(|x| std::cmp::Reverse(x.0));
    largest.truncate(16);
    serde_json::json!({"private_mb": private_kb / 1024, "shared_mb": shared_kb / 1024,
        "largest_private": largest.iter().map(|(kb, m)| format!("{} MB {m}", kb / 1024)).collect::<Vec<_>>()})
}

/// SIGUSR1 `rounds` times, each after the previous snapshot is written; the pauses in ms.
fn pauses(m: &Matchd, rounds: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for _ in 0..rounds {
        let before = m.metric("matchd_snapshots_written_total").expect("metric");
        m.request_snapshot();
        let deadline = Instant::now() + Duration::from_secs(600);
        while m.metric("matchd_snapshots_written_total").expect("metric") <= before {
            assert!(Instant::now() < deadline, "no snapshot written:\n{}", m.stderr());
            assert_eq!(m.metric("matchd_snapshots_failed_total").expect("metric"), 0.0, "{}", m.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
        out.push(m.metric("matchd_snapshot_last_pause_seconds").expect("metric") * 1e3);
    }
    out
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let a = args();
    let bin = matchd::locate_binary(a.matchd.as_deref()).unwrap_or_else(|e| panic!("{e}"));
    let dir = matchd::temp_dir("live-snapshot");
    let fork_cfg = config("fork", a.orders, &a.set);
    {
        let mut m = Matchd::start_in(&bin, &dir, &fork_cfg, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(m.stop(Duration::from_secs(60)), "first start:\n{}", m.stderr());
    }
    let t = Instant::now();
    write_book(&dir.join("data"), a.orders, segment_bytes(&fork_cfg));
    println!(
        "{}",
        serde_json::json!({"case": "journal_written", "orders": a.orders, "secs": t.elapsed().as_secs_f64()})
    );

    let mut results = serde_json::Map::new();
    for method in ["fork", "copy"] {
        let cfg = config(method, a.orders, &a.set);
        let mut m = Matchd::start_in(&bin, &dir, &cfg, &[]).unwrap_or_else(|e| panic!("{e}"));
        let pid = m.pid();
        let (rss_kb, pte_kb) = (proc_status_kb(pid, "VmRSS:"), proc_status_kb(pid, "VmPTE:"));
        let p = pauses(&m, a.rounds);
        let line = serde_json::json!({"case": method, "pause_ms": p, "pause_ms_median": median(&p),
            "rss_mb": rss_kb.map(|k| k / 1024), "page_tables_kb": pte_kb,
            "replay_s": m.metric("matchd_replay_duration_seconds").ok(), "rss": rss_breakdown(pid)});
        println!("{line}");
        results.insert(method.to_string(), line);
        assert!(m.stop(Duration::from_secs(120)), "stop:\n{}", m.stderr());
    }
    let _ = std::fs::remove_dir_all(&dir);
    let fork = median(
        results["fork"]["pause_ms"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_f64())
            .collect::<Vec<_>>()
            .as_slice(),
    );
    let copy = median(
        results["copy"]["pause_ms"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_f64())
            .collect::<Vec<_>>()
            .as_slice(),
    );
    println!(
        "{}",
        serde_json::json!({"bench": "live_snapshot", "orders": a.orders, "fork_pause_ms_median": fork,
            "copy_pause_ms_median": copy, "copy_over_fork": copy / fork, "pause_target_ms": PAUSE_TARGET_MS,
            "pause_ok": fork < PAUSE_TARGET_MS})
    );
}
