//! `replay` benchmark: how fast matchd rebuilds its state from the journal
//! at startup.
//!
//! Generates a realistic flow (`FlowGen`, exchange-core mix, 4 instruments,
//! ~4,000 resting orders, 200 accounts by default) and writes it into a real journal in a scratch
//! directory the way matchd does (the engine-config record first, then one
//! record per command). Then, each from a fresh reader (the journal's pages
//! are in the page cache, as after a restart on the same host):
//!
//! - `read`: reading records only (touching each payload's first byte);
//! - `read_decode`: reading and decoding commands (the journal read limit);
//! - `replay`: reading, decoding and applying through the engine (events into a `CountingSink`);
//! - `replay_reports`: as `replay`, events also numbered into `::matchd::reports::Reports`,
//!   as `::matchd::recovery::recover` does (matchd's startup), with matchd's default retention.
//!   Each account that gets a report costs its whole ring (100,000 x 128 B = 12.8 MB, written
//!   on allocation: `vec![[0u8; 128]; n]` is not lazily zeroed), hence 200 accounts by default
//!   (2,000 would need ~26 GB); `rss_mb` shows it;
//! - `replay_reports_small_ring`: the same with 1,024 reports retained per account, which
//!   isolates the cost of numbering and encoding reports from that of allocating the rings;
//! - `writer_open`: `JournalWriter::open`, which validates every record first (`Verify::Full`);
//! - `memcpy`: memory bandwidth of this machine (copy and read of a 256 MiB buffer), the
//!   physical limit of any replay.
//!
//! The replayed engines' `state_hash()` must equal that of an engine fed the
//! same commands with the same sequence numbers while the journal was written.
//! Prints one JSON line per case, then a summary line last: `cmds_per_sec` is
//! the `replay` rate (engine state rebuilt from the journal), `startup_cmds_per_sec`
//! the `replay_reports` one; both are checked against the 5 M commands/s target.
//!
//! `cargo run --release -p benches --bin replay -- [--quick] [--commands N] [--seed S] [--dir DIR]`

use std::path::{Path, PathBuf};
use std::time::Instant;

use ::matchd::reports::Reports;
use benches::flow::{self, FlowGen, FlowShape};
use engine::command_codec::{
    decode, decode_engine_config, encode, encode_engine_config, MAX_COMMAND_BYTES, RECORD_COMMAND, RECORD_ENGINE_CONFIG,
};
use engine::*;
use journal::record::padded_record_len;
use journal::{JournalConfig, JournalReader, JournalWriter, SyncPolicy};

const TARGET_CMDS_PER_SEC: f64 = 5e6;
/// Report retention of the `replay_reports_small_ring` case.
const SMALL_RING: u64 = 1024;

struct Args {
    quick: bool,
    commands: u64,
    seed: u64,
    accounts: u32,
    dir: PathBuf,
}

const USAGE: &str = "usage: replay [--quick] [--commands N] [--seed S] [--accounts N] [--dir DIR]";

fn args() -> Args {
    let mut quick = false;
    let mut commands = 0;
    let mut seed = 7;
    let mut dir = None;
    let mut accounts = 200;
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        match s.as_str() {
            "--quick" => quick = true,
            "--commands" => commands = it.next().and_then(|v| v.parse().ok()).expect(USAGE),
            "--seed" => seed = it.next().and_then(|v| v.parse().ok()).expect(USAGE),
            "--accounts" => accounts = it.next().and_then(|v| v.parse().ok()).expect(USAGE),
            "--dir" => dir = it.next().map(PathBuf::from),
            "--bench" => {}
            other => panic!("unknown argument {other}; {USAGE}"),
        }
    }
    if commands == 0 {
        commands = if quick { 2_000_000 } else { 10_000_000 };
    }
    let base = dir.unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"))
    });
    Args { quick, commands, seed, accounts, dir: base.join(format!("replay-bench-{}", std::process::id())) }
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

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// What writing the journal produced.
struct Written {
    /// Command records (the engine-config record excluded).
    commands: u64,
    /// Journal bytes of all records, headers and padding included.
    bytes: u64,
    /// State hash of an engine fed the commands with their journal sequence numbers.
    hash: u128,
    /// Live orders at the end.
    live_orders: u32,
    secs: f64,
}

/// Writes the engine-config record and `n` generated commands (plus the
/// instrument set-up) into a fresh journal in `dir`.
fn write_journal(dir: &Path, n: u64, seed: u64, shape: FlowShape) -> Written {
    let t = Instant::now();
    let _ = std::fs::remove_dir_all(dir);
    let jcfg = JournalConfig { create_dir: true, sync_policy: SyncPolicy::None, ..JournalConfig::default() };
    let (mut w, _) = JournalWriter::open(dir, jcfg).expect("open journal");
    let cfg = config();
    let cfg_bytes = encode_engine_config(&cfg);
    let config_seq = w.append(RECORD_ENGINE_CONFIG, &cfg_bytes).expect("append config");
    let mut bytes = padded_record_len(cfg_bytes.len()) as u64;
    let mut reference = Engine::new(cfg);
    reference.skip(config_seq);
    let mut sink = CountingSink::default();
    let mut buf = [0u8; MAX_COMMAND_BYTES];
    let mut commands = 0u64;
    let mut put = |c: &Command, w: &mut JournalWriter, reference: &mut Engine| {
        let len = encode(c, &mut buf);
        let seq = w.append(RECORD_COMMAND, &buf[..len]).expect("append");
        reference.apply(seq, c, &mut sink);
        bytes += padded_record_len(len) as u64;
        commands += 1;
        if commands & 1023 == 0 {
            w.commit().expect("commit");
        }
    };
    let mut g = FlowGen::new(seed, shape, cfg);
    for c in g.setup_commands() {
        put(&c, &mut w, &mut reference);
    }
    for _ in 0..n {
        let c = g.next(&flow::EXCHANGE_CORE);
        put(&c, &mut w, &mut reference);
    }
    w.commit().expect("commit");
    w.close().expect("close journal");
    assert_eq!(reference.live_orders() as usize, g.live_orders(), "reference engine diverged from the generator");
    Written {
        commands,
        bytes,
        hash: reference.state_hash(),
        live_orders: reference.live_orders(),
        secs: t.elapsed().as_secs_f64(),
    }
}

/// Reads every record from the start, calling `f(seq, record_type, payload)`.
/// Returns the records read.
#[inline(always)]
fn for_each_record(dir: &Path, mut f: impl FnMut(Seq, u8, &[u8])) -> u64 {
    let mut r = JournalReader::open(dir, 0).expect("open reader");
    let mut n = 0;
    while let Some(rec) = r.next().expect("read record") {
        f(rec.seq, rec.record_type, rec.payload);
        n += 1;
    }
    n
}

/// matchd's default report retention per account
/// (`server.retransmit_messages_per_account`).
fn retention() -> u64 {
    ::matchd::config::Config::default_config().server.retransmit_messages_per_account as u64
}

/// Feeds replayed events into the report streams, like matchd's startup.
struct ReportsSink<'a>(&'a mut Reports);

impl EventSink for ReportsSink<'_> {
    #[inline]
    fn emit(&mut self, event: Event) {
        self.0.record(&event, |_| {});
    }
}

/// Replays the journal into a fresh engine (events into `sink`), as
/// `::matchd::recovery::recover` does. Returns (engine, commands applied).
#[inline(always)]
fn replay_into<S: EventSink>(dir: &Path, sink: &mut S) -> (Engine, u64) {
    let mut engine: Option<Engine> = None;
    let mut commands = 0u64;
    for_each_record(dir, |seq, ty, payload| match (ty, engine.as_mut()) {
        (RECORD_ENGINE_CONFIG, None) => {
            let mut e = Engine::new(decode_engine_config(payload).expect("engine config record"));
            e.skip(seq);
            engine = Some(e);
        }
        (RECORD_COMMAND, Some(e)) => {
            let cmd = decode(payload).expect("decodable command");
            e.apply(seq, &cmd, sink);
            commands += 1;
        }
        (t, _) => panic!("unexpected record type {t} at seq {seq}"),
    });
    (engine.expect("journal has an engine config record"), commands)
}

/// One case's outcome.
struct Case {
    name: &'static str,
    records: u64,
    commands: u64,
    secs: f64,
    hash_ok: Option<bool>,
    /// Resident memory at the end of the case (before dropping its state).
    rss_mb: f64,
}

fn run_case(name: &'static str, dir: &Path, w: &Written) -> Case {
    let t = Instant::now();
    let (records, commands) = match name {
        "read" => {
            let mut x = 0u64;
            let n = for_each_record(dir, |_, ty, p| x = x.wrapping_add(ty as u64 + p[0] as u64));
            std::hint::black_box(x);
            (n, n - 1)
        }
        "read_decode" => {
            let mut x = 0u64;
            let n = for_each_record(dir, |_, ty, p| {
                if ty == RECORD_COMMAND {
                    x = x.wrapping_add(decode(p).expect("decodable command").timestamp_ns);
                }
            });
            std::hint::black_box(x);
            (n, n - 1)
        }
        "replay" => {
            let mut sink = CountingSink::default();
            let (e, c) = replay_into(dir, &mut sink);
            std::hint::black_box(sink);
            let secs = t.elapsed().as_secs_f64();
            let ok = e.state_hash() == w.hash;
            return Case { name, records: c + 1, commands: c, secs, hash_ok: Some(ok), rss_mb: rss_mb() };
        }
        "replay_reports" | "replay_reports_small_ring" => {
            let retained = if name == "replay_reports" { retention() } else { SMALL_RING };
            let mut reports = Reports::new(config().max_accounts, retained);
            let (e, c) = replay_into(dir, &mut ReportsSink(&mut reports));
            let secs = t.elapsed().as_secs_f64();
            let ok = e.state_hash() == w.hash;
            let rss = rss_mb();
            drop(reports);
            return Case { name, records: c + 1, commands: c, secs, hash_ok: Some(ok), rss_mb: rss };
        }
        "writer_open" => {
            let jcfg = JournalConfig { create_dir: false, sync_policy: SyncPolicy::None, ..JournalConfig::default() };
            let (wr, report) = JournalWriter::open(dir, jcfg).expect("reopen journal");
            let secs = t.elapsed().as_secs_f64();
            assert!(report.is_clean(), "journal not clean on reopen: {report:?}");
            let n = wr.written_seq();
            wr.close().expect("close");
            return Case { name, records: n, commands: n - 1, secs, hash_ok: None, rss_mb: rss_mb() };
        }
        _ => unreachable!("unknown case {name}"),
    };
    Case { name, records, commands, secs: t.elapsed().as_secs_f64(), hash_ok: None, rss_mb: rss_mb() }
}

/// (copy GB/s, read GB/s) of a 256 MiB buffer, best of `reps`.
fn memory_bandwidth(reps: usize) -> (f64, f64) {
    const LEN: usize = 256 << 20;
    let src: Vec<u8> = (0..LEN).map(|i| i as u8).collect();
    let mut dst = vec![1u8; LEN];
    let (mut copy, mut read) = (0f64, 0f64);
    for _ in 0..reps {
        let t = Instant::now();
        dst.copy_from_slice(std::hint::black_box(&src));
        copy = copy.max(LEN as f64 / t.elapsed().as_secs_f64() / 1e9);
        std::hint::black_box(&mut dst);
        let t = Instant::now();
        let words: &[u64] = bytes_as_u64(&src);
        let mut s = 0u64;
        for w in words {
            s = s.wrapping_add(*w);
        }
        std::hint::black_box(s);
        read = read.max(LEN as f64 / t.elapsed().as_secs_f64() / 1e9);
    }
    (copy, read)
}

/// Resident set size of this process, MB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn bytes_as_u64(b: &[u8]) -> &[u64] {
    // SAFETY: any bytes are valid u64s; align_to returns the aligned middle.
    let (_, mid, _) = unsafe { b.align_to::<u64>() };
    mid
}

fn median_case(mut cases: Vec<Case>) -> Case {
    cases.sort_by(|a, b| a.secs.partial_cmp(&b.secs).expect("finite"));
    let ok = cases.iter().all(|c| c.hash_ok != Some(false));
    let mut m = cases.swap_remove(cases.len() / 2);
    m.hash_ok = m.hash_ok.map(|_| ok);
    m
}

fn main() {
    let a = args();
    let load_start = load_average();
    eprintln!("replay bench: writing {} commands to {}", a.commands, a.dir.display());
    let shape = FlowShape { accounts: a.accounts, ..flow::EXCHANGE_CORE_SHAPE };
    let w = write_journal(&a.dir, a.commands, a.seed, shape);
    eprintln!(
        "wrote {} commands, {:.1} MB of records in {:.1} s; {} live orders",
        w.commands,
        w.bytes as f64 / 1e6,
        w.secs,
        w.live_orders
    );
    let runs = 3;
    let names = ["read", "read_decode", "replay", "replay_reports", "replay_reports_small_ring", "writer_open"];
    let mut results = Vec::new();
    for name in names {
        let c = median_case((0..runs).map(|_| run_case(name, &a.dir, &w)).collect());
        assert_eq!(c.commands, w.commands, "{name}: replayed {} of {} commands", c.commands, w.commands);
        let hash = c.hash_ok.map_or("null".to_string(), |ok| ok.to_string());
        println!(
            "{{\"bench\":\"replay\",\"case\":\"{}\",\"commands\":{},\"records\":{},\"journal_bytes\":{},\"runs\":{},\"secs\":{:.3},\"cmds_per_sec\":{:.0},\"journal_mb_per_sec\":{:.0},\"state_hash_match\":{},\"rss_mb\":{:.0},\"loadavg\":\"{}\"}}",
            c.name,
            c.commands,
            c.records,
            w.bytes,
            runs,
            c.secs,
            c.commands as f64 / c.secs,
            w.bytes as f64 / c.secs / 1e6,
            hash,
            c.rss_mb,
            load_average()
        );
        results.push(c);
    }
    let (copy_gbs, read_gbs) = memory_bandwidth(if a.quick { 4 } else { 8 });
    println!(
        "{{\"bench\":\"replay\",\"case\":\"memcpy\",\"buffer_mib\":256,\"copy_gb_per_sec\":{:.2},\"read_gb_per_sec\":{:.2},\"loadavg\":\"{}\"}}",
        copy_gbs,
        read_gbs,
        load_average()
    );
    let _ = std::fs::remove_dir_all(&a.dir);
    let rate = |n: &str| results.iter().find(|c| c.name == n).map_or(0.0, |c| c.commands as f64 / c.secs);
    let startup = rate("replay_reports");
    let replay = rate("replay");
    let hash_ok = results.iter().all(|c| c.hash_ok != Some(false));
    println!(
        "{{\"bench\":\"replay\",\"summary\":true,\"quick\":{},\"commands\":{},\"journal_bytes\":{},\"bytes_per_record\":{:.1},\"instruments\":{},\"accounts\":{},\"report_retention\":{},\"resting_orders\":{},\"cmds_per_sec\":{:.0},\"startup_cmds_per_sec\":{:.0},\"startup_small_ring_cmds_per_sec\":{:.0},\"read_decode_cmds_per_sec\":{:.0},\"read_records_per_sec\":{:.0},\"writer_open_records_per_sec\":{:.0},\"memcpy_gb_per_sec\":{:.2},\"mem_read_gb_per_sec\":{:.2},\"target_cmds_per_sec\":{:.0},\"meets_target\":{},\"startup_meets_target\":{},\"state_hash_match\":{},\"loadavg_start\":\"{}\",\"loadavg_end\":\"{}\"}}",
        a.quick,
        w.commands,
        w.bytes,
        w.bytes as f64 / (w.commands + 1) as f64,
        shape.instruments,
        shape.accounts,
        retention(),
        w.live_orders,
        replay,
        startup,
        rate("replay_reports_small_ring"),
        rate("read_decode"),
        rate("read"),
        rate("writer_open"),
        copy_gbs,
        read_gbs,
        TARGET_CMDS_PER_SEC,
        replay >= TARGET_CMDS_PER_SEC,
        startup >= TARGET_CMDS_PER_SEC,
        hash_ok,
        load_start,
        load_average()
    );
    assert!(hash_ok, "a replayed engine's state hash differs from the writer's");
}
