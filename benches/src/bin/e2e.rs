//! `e2e` benchmark: the whole server over TCP. Starts the release `matchd` as a child (temporary
//! data directory, journal durability `batch`, one account per session), measures the loopback
//! TCP round-trip floor (a ping-pong of 64-byte messages: the physical limit of any round trip
//! here), then drives matchd with the load generator (`tools::loadgen`, in process) open loop at
//! each offered rate and once closed loop for maximum throughput. Prints one JSON line per case and
//! a summary JSON line last.
//!
//! ```text
//! cargo build --release -p matchd             # builds target/release/matchd
//! cargo run --release -p benches --bin e2e -- [--quick] [--rates 10000,100000,1000000]
//!     [--sessions 8] [--duration-s 10] [--warmup-s 2] [--window 256] [--mix default]
//!     [--durability batch] [--matchd PATH] [--out-dir DIR] [--seed 1] [--subscribers 0]
//! ```
//! `--subscribers N` connects N market-data subscribers (`client::md_client::MdFeed`, market by
//! price, every book synced by snapshot and rebuilt from the deltas) for the whole run, to measure
//! what the feed costs the order-entry path; their counts come as one more JSON line. With
//! `--subscriber-mode drain` they only read and discard the bytes (the server's cost without the
//! clients' decoding on the same cores).
//! A one-second closed-loop priming run (not reported) comes first, so the first case does not pay
//! for the server's cold start. The closed-loop case keeps `--window` commands in flight per
//! session: with `batch` durability one journal sync covers a whole batch, so throughput grows with
//! the commands in flight. `--quick` measures 2 s per case after 0.5 s of warm-up (the whole run
//! takes well under a minute); `--out-dir` writes each case's `.hgrm` and one PNG plot of all cases.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ::matchd::config::{Config, DEFAULT_CONFIG_TOML};
use benches::stats::latency_histogram;
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use tools::loadgen::matchd::{self, Matchd};
use tools::loadgen::{self, report, Credentials, InstrumentParams, LoadgenConfig, Mix, Mode};

struct Args {
    quick: bool,
    rates: Vec<f64>,
    sessions: u32,
    duration_s: Option<f64>,
    warmup_s: Option<f64>,
    window: u32,
    mix: String,
    durability: String,
    matchd: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    seed: u64,
    subscribers: u32,
    drain: bool,
}

const USAGE: &str = "usage: e2e [--quick] [--rates R1,R2,..] [--sessions N] [--duration-s S] [--warmup-s S] \
                     [--window W] [--mix MIX] [--durability none|batch|interval] [--matchd PATH] [--out-dir DIR] \
                     [--seed S] [--subscribers N] [--subscriber-mode books|drain]";

fn args() -> Args {
    let mut a = Args {
        quick: false,
        rates: vec![10_000.0, 100_000.0, 1_000_000.0],
        sessions: 8,
        duration_s: None,
        warmup_s: None,
        window: 256,
        mix: "default".into(),
        durability: "batch".into(),
        matchd: None,
        out_dir: None,
        seed: 1,
        subscribers: 0,
        drain: false,
    };
    let mut it = std::env::args().skip(1);
    fn val<T: std::str::FromStr>(it: &mut impl Iterator<Item = String>, flag: &str) -> T {
        it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{flag} needs a value; {USAGE}"))
    }
    while let Some(s) = it.next() {
        match s.as_str() {
            "--quick" => a.quick = true,
            "--rates" => {
                let v: String = val(&mut it, "--rates");
                a.rates = v.split(',').map(|r| r.trim().parse().unwrap_or_else(|_| panic!("--rates: {r:?}"))).collect();
            }
            "--sessions" => a.sessions = val(&mut it, "--sessions"),
            "--duration-s" => a.duration_s = Some(val(&mut it, "--duration-s")),
            "--warmup-s" => a.warmup_s = Some(val(&mut it, "--warmup-s")),
            "--window" => a.window = val(&mut it, "--window"),
            "--mix" => a.mix = val(&mut it, "--mix"),
            "--durability" => a.durability = val(&mut it, "--durability"),
            "--matchd" => a.matchd = Some(val(&mut it, "--matchd")),
            "--out-dir" => a.out_dir = Some(val(&mut it, "--out-dir")),
            "--seed" => a.seed = val(&mut it, "--seed"),
            "--subscribers" => a.subscribers = val(&mut it, "--subscribers"),
            "--subscriber-mode" => {
                let m: String = val(&mut it, "--subscriber-mode");
                a.drain = match m.as_str() {
                    "books" => false,
                    "drain" => true,
                    other => panic!("--subscriber-mode {other:?}; {USAGE}"),
                };
            }
            "--bench" => {}
            other => panic!("unknown argument {other}; {USAGE}"),
        }
    }
    a
}

/// Round trip of 64-byte messages over a loopback TCP connection (blocking reads, TCP_NODELAY).
fn loopback_floor(iterations: usize) -> std::io::Result<Histogram<u64>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut b = [0u8; 64];
        while s.read_exact(&mut b).is_ok() {
            s.write_all(&b)?;
        }
        Ok(())
    });
    let mut c = TcpStream::connect(addr)?;
    c.set_nodelay(true)?;
    let mut h = latency_histogram();
    let mut b = [7u8; 64];
    for i in 0..iterations + iterations / 10 {
        let t = Instant::now();
        c.write_all(&b)?;
        c.read_exact(&mut b)?;
        if i >= iterations / 10 {
            h.saturating_record(t.elapsed().as_nanos() as u64);
        }
    }
    drop(c);
    let _ = echo.join();
    Ok(h)
}

fn us(ns: u64) -> f64 {
    (ns as f64 / 10.0).round() / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// What one market-data subscriber saw.
#[derive(Debug, Default)]
struct SubscriberCounts {
    messages: u64,
    gaps: u64,
    synced: bool,
    cut: bool,
}

/// `n` subscribers following the feed (every book synced and maintained; with `drain`, bytes
/// read and discarded) until `stop`.
fn subscribers(
    addr: std::net::SocketAddr,
    n: u32,
    drain: bool,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<std::thread::JoinHandle<SubscriberCounts>> {
    use client::md_client::MdFeed;
    use protocol::{ClientMessage, MdSubscribe};
    (0..n)
        .map(|i| {
            let stop = stop.clone();
            if drain {
                let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("subscriber {i}: {e}"));
                let mut b = [0u8; 64];
                let n = ClientMessage::MdSubscribe(MdSubscribe::default()).encode(&mut b).expect("encode");
                s.write_all(&b[..n]).expect("subscribe");
                s.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
                return std::thread::spawn(move || {
                    let mut c = SubscriberCounts { synced: true, ..Default::default() };
                    let mut buf = vec![0u8; 256 * 1024];
                    let mut hb = [0u8; 16];
                    let hb_len = ClientMessage::Heartbeat.encode(&mut hb).expect("encode");
                    let mut last_hb = Instant::now();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        // The server logs out a subscriber silent for its heartbeat timeout.
                        if last_hb.elapsed() >= Duration::from_secs(1) {
                            last_hb = Instant::now();
                            let _ = s.write_all(&hb[..hb_len]);
                        }
                        match s.read(&mut buf) {
                            Ok(0) => {
                                c.cut = true;
                                break;
                            }
                            // Bytes, in this mode.
                            Ok(n) => c.messages += n as u64,
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) => {}
                            Err(_) => {
                                c.cut = true;
                                break;
                            }
                        }
                    }
                    c
                });
            }
            let mut feed = MdFeed::connect(addr, Duration::from_secs(5), MdSubscribe::default())
                .unwrap_or_else(|e| panic!("subscriber {i}: {e}"));
            std::thread::Builder::new()
                .name(format!("md-sub-{i}"))
                .spawn(move || {
                    let mut c = SubscriberCounts::default();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        match feed.step(Duration::from_millis(50)) {
                            Ok(Some(_)) => c.messages += 1,
                            Ok(None) => {}
                            Err(_) => {
                                c.cut = true;
                                break;
                            }
                        }
                    }
                    c.gaps = feed.books.gaps;
                    c.synced = feed.books.all_synced();
                    c
                })
                .expect("spawn subscriber")
        })
        .collect()
}

/// The case's JSON line: `bench`, `case`, then the load generator's fields.
fn case_line(case: &str, r: &loadgen::Report, subscribers: u32) -> Value {
    let mut m = Map::new();
    m.insert("bench".into(), json!("e2e"));
    m.insert("case".into(), json!(case));
    m.insert("subscribers".into(), json!(subscribers));
    if let Value::Object(fields) = r.json() {
        m.extend(fields.into_iter().filter(|(k, _)| k != "bench"));
    }
    m.insert("loadavg".into(), json!(load_average()));
    Value::Object(m)
}

fn main() {
    let a = args();
    let (duration, warmup) = if a.quick { (2.0, 0.5) } else { (10.0, 2.0) };
    let duration = Duration::from_secs_f64(a.duration_s.unwrap_or(duration));
    let warmup = Duration::from_secs_f64(a.warmup_s.unwrap_or(warmup));
    let mix = Mix::parse(&a.mix).unwrap_or_else(|e| panic!("--mix: {e}"));
    let bin = matchd::locate_binary(a.matchd.as_deref()).unwrap_or_else(|e| panic!("{e}"));
    if let Some(d) = &a.out_dir {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    }
    let started = Instant::now();

    // The physical floor: a loopback TCP ping-pong, measured in the same run.
    let floor = loopback_floor(if a.quick { 20_000 } else { 100_000 }).expect("loopback ping-pong");
    println!(
        "{}",
        json!({
            "bench": "e2e", "case": "loopback_floor", "msg_bytes": 64, "samples": floor.len(),
            "p50_us": us(floor.value_at_quantile(0.5)), "p90_us": us(floor.value_at_quantile(0.9)),
            "p99_us": us(floor.value_at_quantile(0.99)), "p999_us": us(floor.value_at_quantile(0.999)),
            "max_us": us(floor.max()), "loadavg": load_average(),
        })
    );

    let creds = Credentials::Range { from: 1000, prefix: "e2e-".into() };
    let accounts: Vec<_> = (0..a.sessions).map(|i| creds.get(i).expect("credential")).collect();
    let toml = matchd::config_toml(DEFAULT_CONFIG_TOML, &accounts, Some(10_000_000));
    let mut server = Matchd::start(&bin, &toml, &["--durability", &a.durability]).unwrap_or_else(|e| panic!("{e}"));
    let instruments = InstrumentParams::select(&Config::default_config(), &[1, 2]).expect("instruments");
    let subs_stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let subs = subscribers(server.addr, a.subscribers, a.drain, &subs_stop);
    let base = |mode| {
        let mut c = LoadgenConfig::new(server.addr, a.sessions, creds.clone(), instruments.clone());
        c.mode = mode;
        c.duration = duration;
        c.warmup = warmup;
        c.seed = a.seed;
        c.flow.mix = mix;
        c.max_inflight = if a.quick { 1 << 14 } else { 1 << 16 };
        c.drain_timeout = Duration::from_secs(if a.quick { 10 } else { 30 });
        c.with_total_depth(1000)
    };
    let mut cases: Vec<(String, Mode)> =
        a.rates.iter().map(|r| (format!("open_{r:.0}"), Mode::Open { rate: *r })).collect();
    cases.push((format!("closed_w{}", a.window), Mode::Closed { window: a.window }));

    // Prime the server (journal pages, caches, allocator) so the first case does not pay for it.
    let mut prime = base(Mode::Closed { window: 16 });
    prime.duration = Duration::from_secs(1);
    prime.warmup = Duration::ZERO;
    match loadgen::run(&prime) {
        Ok(r) => eprintln!("[prime] {}", r.summary().lines().next().unwrap_or("")),
        Err(e) => panic!("priming run: {e}\nmatchd stderr:\n{}", server.stderr()),
    }

    let mut summary = Vec::new();
    let mut hists = Vec::new();
    let mut clean = true;
    for (name, mode) in &cases {
        let r = match loadgen::run(&base(*mode)) {
            Ok(r) => r,
            Err(e) => panic!("case {name}: {e}\nmatchd stderr:\n{}", server.stderr()),
        };
        eprintln!("[{name}] {}", r.summary());
        clean &= r.is_clean();
        println!("{}", case_line(name, &r, a.subscribers));
        let j = r.json();
        summary.push(json!({
            "case": name, "offered_rate": j["offered_rate"], "achieved_rate": j["achieved_rate"],
            "p50_us": j["p50_us"], "p99_us": j["p99_us"], "p999_us": j["p999_us"], "max_us": j["max_us"],
            "rejects": j["rejects"], "missing": j["missing"],
        }));
        if let Some(d) = &a.out_dir {
            let p = d.join(format!("e2e_{name}.hgrm"));
            report::write_hgrm_file(&r.latency, &p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
        hists.push((name.clone(), r.latency));
    }
    subs_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let counts: Vec<SubscriberCounts> = subs.into_iter().map(|h| h.join().expect("subscriber")).collect();
    if !counts.is_empty() {
        println!(
            "{}",
            json!({
                "bench": "e2e", "case": "subscribers", "subscribers": counts.len(),
                "mode": if a.drain { "drain (messages = bytes)" } else { "books" },
                "messages_min": counts.iter().map(|c| c.messages).min(),
                "messages_max": counts.iter().map(|c| c.messages).max(),
                "gaps": counts.iter().map(|c| c.gaps).sum::<u64>(),
                "all_synced": counts.iter().all(|c| c.synced),
                "cut_off": counts.iter().filter(|c| c.cut).count(),
            })
        );
    }
    let stopped_cleanly = server.stop(Duration::from_secs(30));
    if let Some(d) = &a.out_dir {
        let p = d.join("e2e.png");
        let series: Vec<(String, &Histogram<u64>)> = hists.iter().map(|(n, h)| (n.clone(), h)).collect();
        let title = format!("matchd end to end, {} sessions, durability {}", a.sessions, a.durability);
        report::plot_png(&p, &title, &series).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    let max_throughput = summary.last().map(|s| s["achieved_rate"].clone()).unwrap_or(Value::Null);
    println!(
        "{}",
        json!({
            "bench": "e2e", "summary": true, "quick": a.quick, "sessions": a.sessions, "durability": a.durability,
            "subscribers": a.subscribers, "subscriber_mode": if a.drain { "drain" } else { "books" },
            "mix": a.mix, "duration_s": duration.as_secs_f64(), "warmup_s": warmup.as_secs_f64(),
            "loopback_p50_us": us(floor.value_at_quantile(0.5)), "loopback_p99_us": us(floor.value_at_quantile(0.99)),
            "max_throughput": max_throughput, "cases": summary, "all_clean": clean,
            "matchd_stopped_cleanly": stopped_cleanly, "elapsed_s": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            "loadavg": load_average(),
        })
    );
}
