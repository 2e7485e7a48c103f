//! Journal benchmark: append throughput for 64- and 256-byte records under
//! each durability policy, commit (sync) latency, and the raw sequential
//! write bandwidth of the same disk measured in the same run.
//!
//! Run: `cargo run --release -p benches --bin journal -- --quick [--dir DIR]`
//!
//! Prints one JSON line per case, then a summary line.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use journal::storage::{FileStorage, SegmentMut, Storage};
use journal::{JournalConfig, JournalWriter, SyncPolicy};

const BATCH: usize = 1000;
const SEGMENT_SIZE: u64 = 64 << 20;

struct Args {
    quick: bool,
    dir: PathBuf,
    /// Run only this case, e.g. `none:64` (for profiling).
    only: Option<String>,
    pretouch: bool,
}

fn parse_args() -> Args {
    let mut quick = false;
    let mut dir = None;
    let mut only = None;
    let mut pretouch = true;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--dir" => dir = it.next().map(PathBuf::from),
            "--only" => only = it.next(),
            "--no-pretouch" => pretouch = false,
            "-h" | "--help" => {
                eprintln!("usage: journal [--quick] [--dir DIR] [--only POLICY:BYTES] [--no-pretouch]");
                std::process::exit(0);
            }
            other => {
                eprintln!("unknown argument {other:?}; usage: journal [--quick] [--dir DIR]");
                std::process::exit(2);
            }
        }
    }
    let dir = dir.unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("target"))
            .join("journal-bench")
    });
    Args { quick, dir, only, pretouch }
}

struct CaseResult {
    records: u64,
    secs: f64,
    sync: Histogram<u64>,
    append_batch_max_ns: u64,
    slow_rollovers: u64,
}

fn run_case(dir: &Path, policy: SyncPolicy, record_bytes: usize, budget: Duration, pretouch: bool) -> CaseResult {
    let _ = fs::remove_dir_all(dir);
    let config = JournalConfig {
        segment_size: SEGMENT_SIZE,
        sync_policy: policy,
        create_dir: true,
        pretouch,
        ..JournalConfig::default()
    };
    let (mut w, _) = JournalWriter::open(dir, config).expect("open journal");
    // Let the helper pre-create the first spare before the clock starts.
    std::thread::sleep(Duration::from_millis(200));
    let payload: Vec<u8> = (0..record_bytes).map(|i| i as u8).collect();
    let mut sync = Histogram::<u64>::new(3).expect("histogram");
    let mut append_batch_max_ns = 0;
    // Cap the data written so page cache and disk use stay bounded.
    let max_records = (512u64 << 20) / (record_bytes as u64 + 24);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget && n < max_records {
        let t0 = Instant::now();
        for _ in 0..BATCH {
            w.append(1, &payload).expect("append");
        }
        let t1 = Instant::now();
        w.commit().expect("commit");
        let t2 = Instant::now();
        n += BATCH as u64;
        append_batch_max_ns = append_batch_max_ns.max((t1 - t0).as_nanos() as u64);
        let _ = sync.record((t2 - t1).as_nanos() as u64);
    }
    // Make everything durable before stopping the clock, whatever the policy
    // (for `none` this measures the page-cache rate, so it is excluded).
    if policy != SyncPolicy::None {
        w.sync_now().expect("final sync");
    }
    let secs = start.elapsed().as_secs_f64();
    let slow_rollovers = w.slow_rollovers();
    w.close().expect("close");
    let _ = fs::remove_dir_all(dir);
    CaseResult { records: n, secs, sync, append_batch_max_ns, slow_rollovers }
}

/// write(2) of 1 MiB chunks then one fdatasync, in the same directory.
fn disk_seq_write_mb_per_sec(dir: &Path, total: usize) -> f64 {
    fs::create_dir_all(dir).expect("bench dir");
    let path = dir.join("seq-write.bin");
    let chunk = vec![0x5au8; 1 << 20];
    let mut f = File::create(&path).expect("create");
    let start = Instant::now();
    for _ in 0..total / chunk.len() {
        f.write_all(&chunk).expect("write");
    }
    f.sync_data().expect("fdatasync");
    let secs = start.elapsed().as_secs_f64();
    drop(f);
    let _ = fs::remove_file(&path);
    total as f64 / secs / 1e6
}

/// What the helper thread does per segment (allocate, map, pre-fault,
/// sync header, sync directory): the cost rollover would pay inline.
fn segment_prepare_ms(dir: &Path) -> f64 {
    fs::create_dir_all(dir).expect("bench dir");
    let storage = FileStorage::open(dir).expect("storage");
    let name = "prepare-probe.pre";
    let _ = storage.remove(name);
    let start = Instant::now();
    let mut seg = storage.create(name, SEGMENT_SIZE).expect("create");
    let buf = seg.bytes_mut();
    let mut off = 0;
    while off < buf.len() {
        buf[off] = std::hint::black_box(buf[off]);
        off += 4096;
    }
    seg.sync(0, 4096).expect("sync");
    storage.sync_dir().expect("sync dir");
    let ms = start.elapsed().as_secs_f64() * 1e3;
    drop(seg);
    let _ = storage.remove(name);
    ms
}

/// Flushes all dirty data system-wide (sync(1)) and pauses briefly.
fn settle() {
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(Duration::from_millis(100));
}

fn policy_name(p: SyncPolicy) -> &'static str {
    match p {
        SyncPolicy::None => "none",
        SyncPolicy::Batch => "batch",
        SyncPolicy::Interval { .. } => "interval_1ms",
    }
}

fn main() {
    let args = parse_args();
    let budget = Duration::from_millis(if args.quick { 1500 } else { 5000 });
    fs::create_dir_all(&args.dir).expect("bench dir");
    let case_dir = args.dir.join("journal");

    let mut none_64 = 0.0;
    let mut batch_64 = 0.0;
    let mut batch_256_mb = 0.0;
    for policy in [SyncPolicy::None, SyncPolicy::Batch, SyncPolicy::Interval { ms: 1 }] {
        for record_bytes in [64usize, 256] {
            let name = format!("{}:{record_bytes}", policy_name(policy));
            if args.only.as_ref().is_some_and(|o| *o != name) {
                continue;
            }
            // Each case starts with no dirty pages left by the previous one
            // (their writeback would compete with this case's syncs).
            settle();
            let r = run_case(&case_dir, policy, record_bytes, budget, args.pretouch);
            let rps = r.records as f64 / r.secs;
            let mb = rps * record_bytes as f64 / 1e6;
            match (policy, record_bytes) {
                (SyncPolicy::None, 64) => none_64 = rps,
                (SyncPolicy::Batch, 64) => batch_64 = rps,
                (SyncPolicy::Batch, 256) => batch_256_mb = mb,
                _ => {}
            }
            println!(
                "{{\"bench\":\"journal\",\"policy\":\"{}\",\"record_bytes\":{},\"batch\":{},\
                 \"records\":{},\"records_per_sec\":{:.0},\"mb_per_sec\":{:.1},\"on_disk_mb_per_sec\":{:.1},\
                 \"sync_p50_ns\":{},\"sync_p99_ns\":{},\"sync_max_ns\":{},\
                 \"append_batch_max_ns\":{},\"slow_rollovers\":{}}}",
                policy_name(policy),
                record_bytes,
                BATCH,
                r.records,
                rps,
                mb,
                rps * journal::record::padded_record_len(record_bytes) as f64 / 1e6,
                r.sync.value_at_quantile(0.5),
                r.sync.value_at_quantile(0.99),
                r.sync.max(),
                r.append_batch_max_ns,
                r.slow_rollovers,
            );
        }
    }
    let _ = fs::remove_dir_all(&case_dir);
    settle();
    // Best of two: other work on the machine only ever slows it down.
    let seq_bytes = if args.quick { 256 << 20 } else { 1 << 30 };
    let disk_mb = (0..2).map(|_| disk_seq_write_mb_per_sec(&args.dir, seq_bytes)).fold(0.0, f64::max);
    let prepare_ms = segment_prepare_ms(&args.dir);

    println!(
        "{{\"bench\":\"journal\",\"summary\":true,\"none_64_records_per_sec\":{:.0},\
         \"batch_64_records_per_sec\":{:.0},\"batch_256_mb_per_sec\":{:.1},\
         \"disk_seq_write_mb_per_sec\":{:.1},\"batch_256_vs_disk\":{:.3},\
         \"segment_bytes\":{},\"segment_prepare_ms\":{:.2},\
         \"target_none_64\":10000000,\"target_batch_64\":2000000}}",
        none_64,
        batch_64,
        batch_256_mb,
        disk_mb,
        batch_256_mb / disk_mb,
        SEGMENT_SIZE,
        prepare_ms,
    );
}
