//! The load generator against a real matchd (the `matchd` binary of the matchd crate, found next
//! to the test executable's directory: `cargo test --workspace` builds it; alone, run
//! `cargo build -p matchd --bin matchd` first, or set `MATCHD_BIN`).
//!
//! A busy 2-core machine may run the sender late and the server slowly: the checks are on counts
//! (everything sent was answered, what was not sent is accounted for), and every timeout only
//! bounds a hang.

use std::time::Duration;

/// Bounds a hang (a drain, a login, a clean stop), never a speed.
const HANG: Duration = Duration::from_secs(120);
/// The open-loop test's schedule: commands per second, for warm-up plus window.
const OPEN_RATE: f64 = 3_000.0;
const WARMUP: Duration = Duration::from_millis(300);
const WINDOW: Duration = Duration::from_millis(1500);

use ::matchd::config::{Config, DEFAULT_CONFIG_TOML};
use tools::loadgen::matchd::{self, Matchd};
use tools::loadgen::{self, report, Credentials, InstrumentParams, LoadgenConfig, Mix, Mode, Report};

fn start(first_account: u32, sessions: u32) -> (Matchd, Credentials) {
    let creds = Credentials::Range { from: first_account, prefix: "lg-".into() };
    let accounts: Vec<_> = (0..sessions).map(|i| creds.get(i).unwrap()).collect();
    let toml = matchd::config_toml(DEFAULT_CONFIG_TOML, &accounts, Some(1_000_000));
    // A minute of silence before the server logs a session out: nothing sends heartbeats while the
    // run drains, which a busy machine can make last longer than the shipped 10 s.
    let shipped = "heartbeat_timeout_ms = 10000";
    assert_eq!(toml.matches(shipped).count(), 1, "{toml}");
    let toml = toml.replace(shipped, "heartbeat_timeout_ms = 60000");
    let toml = matchd::small_segments(&toml);
    let bin = matchd::locate_binary(None).unwrap_or_else(|e| panic!("{e}"));
    let m = Matchd::start(&bin, &toml, &["--durability", "batch"]).unwrap_or_else(|e| panic!("{e}"));
    (m, creds)
}

fn config(m: &Matchd, creds: Credentials, sessions: u32, mode: Mode, mix: Mix) -> LoadgenConfig {
    let insts = InstrumentParams::select(&Config::default_config(), &[1, 2]).unwrap();
    let mut cfg = LoadgenConfig::new(m.addr, sessions, creds, insts).with_total_depth(100);
    cfg.mode = mode;
    cfg.flow.mix = mix;
    cfg.duration = WINDOW;
    cfg.warmup = WARMUP;
    cfg.seed = 42;
    cfg.drain_timeout = HANG;
    cfg.io_timeout = HANG;
    cfg
}

fn assert_clean(r: &Report) {
    let s = r.summary();
    eprintln!("{s}\n{}", r.json_line());
    assert!(r.sent > 0, "{s}");
    assert_eq!(r.missing, 0, "every command answered: {s}");
    assert_eq!(r.answered, r.sent, "{s}");
    assert_eq!((r.unmatched, r.seq_gaps, r.decode_errors, r.disconnects), (0, 0, 0, 0), "{s}");
    assert!(r.is_clean());
    assert_eq!(r.clean_logouts as u32, r.sessions, "every session logged out cleanly: {s}");
    assert!(!r.latency.is_empty() && r.latency.len() <= r.sent, "{s}");
    // The generated accounts are funded (risk mode, as in the default config): no order bounces.
    for reason in ["InsufficientBalance", "UnknownAccount", "AccountSuspended"] {
        assert!(!r.rejects_by_reason.contains_key(reason), "{s}");
    }
}

fn assert_json(r: &Report, mode: &str) {
    let line = r.json_line();
    assert!(!line.contains('\n'));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["bench"], "loadgen");
    assert_eq!(v["mode"], mode);
    for k in ["sessions", "offered_rate", "achieved_rate", "p50_us", "p90_us", "p99_us", "p999_us", "p9999_us"] {
        assert!(v[k].is_number(), "{k} in {line}");
    }
    for k in ["max_us", "rejects", "duration_s"] {
        assert!(v[k].is_number(), "{k} in {line}");
    }
    assert!(v["p50_us"].as_f64().unwrap() > 0.0 && v["p50_us"].as_f64() <= v["max_us"].as_f64(), "{line}");
    assert!(v["achieved_rate"].as_f64().unwrap() > 0.0, "{line}");
}

fn assert_files(r: &Report, tag: &str) {
    let dir = matchd::temp_dir(tag);
    std::fs::create_dir_all(&dir).unwrap();
    let hgrm = dir.join("lat.hgrm");
    report::write_hgrm_file(&r.latency, &hgrm).unwrap();
    let rows = report::parse_hgrm(&std::fs::read_to_string(&hgrm).unwrap());
    assert!(rows.len() > 10, "{rows:?}");
    assert_eq!(rows.last().unwrap().2, r.latency.len(), "the last row counts every sample");
    assert!(rows.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1), "monotonic: {rows:?}");
    let png = dir.join("lat.png");
    report::plot_png(&png, "test", &[("run".to_string(), &r.latency)]).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} bytes", bytes.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn open_loop_passive_mix_is_clean_with_no_rejects() {
    let (mut m, creds) = start(100, 3);
    let cfg = config(&m, creds, 3, Mode::Open { rate: OPEN_RATE }, Mix::PASSIVE);
    let r = loadgen::run(&cfg).unwrap_or_else(|e| panic!("{e}\n{}", m.stderr()));
    assert_clean(&r);
    assert_eq!(r.rejects, 0, "a valid passive mix has no rejects: {}", r.summary());
    assert_eq!(r.fills, 0, "{}", r.summary());
    assert!(r.cancels > 0 && r.amends > 0 && r.new_orders > 0, "{}", r.summary());
    // Open loop: rate * (warmup + duration) commands scheduled, each either sent or, when a busy
    // machine ran the sender late at the very end, reported `unsent` (its lateness counts in the
    // latency); every command sent was answered (`assert_clean` checks missing == 0).
    let scheduled = (OPEN_RATE * (WARMUP + WINDOW).as_secs_f64()).ceil() as u64;
    assert_eq!(r.sent + r.unsent, scheduled, "{}", r.summary());
    assert_json(&r, "open");
    assert_files(&r, "loadgen-open");
    // A second run on the same accounts (ids keep increasing, history is skipped at login).
    let r2 = loadgen::run(&cfg).unwrap();
    assert_clean(&r2);
    assert_eq!(r2.rejects, 0, "{}", r2.summary());
    assert!(m.stop(HANG), "matchd stops cleanly:\n{}", m.stderr());
}

#[test]
fn closed_loop_mixed_flow_trades_and_answers_everything() {
    let (mut m, creds) = start(200, 2);
    let cfg = config(&m, creds, 2, Mode::Closed { window: 8 }, Mix::DEFAULT);
    let r = loadgen::run(&cfg).unwrap_or_else(|e| panic!("{e}\n{}", m.stderr()));
    assert_clean(&r);
    assert!(r.fills > 0, "the default mix trades: {}", r.summary());
    assert!(!r.fill_latency.is_empty(), "{}", r.summary());
    // Only market outcomes may be refused: nothing the generator sent was invalid.
    for reason in r.rejects_by_reason.keys() {
        assert!(
            ["UnknownOrder", "FokCannotFill", "PostOnlyWouldTake"].contains(&reason.as_str()),
            "unexpected reject {reason}: {}",
            r.summary()
        );
    }
    assert_json(&r, "closed");
    assert_files(&r, "loadgen-closed");
    assert!(m.stop(HANG), "matchd stops cleanly:\n{}", m.stderr());
}
