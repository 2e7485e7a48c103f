//! The load generator against a real matchd (the `matchd` binary of the matchd crate, found next
//! to the test executable's directory: `cargo test --workspace` builds it; alone, run
//! `cargo build -p matchd --bin matchd` first, or set `MATCHD_BIN`).

use std::time::Duration;

use ::matchd::config::{Config, DEFAULT_CONFIG_TOML};
use tools::loadgen::matchd::{self, Matchd};
use tools::loadgen::{self, report, Credentials, InstrumentParams, LoadgenConfig, Mix, Mode, Report};

fn start(first_account: u32, sessions: u32) -> (Matchd, Credentials) {
    let creds = Credentials::Range { from: first_account, prefix: "lg-".into() };
    let accounts: Vec<_> = (0..sessions).map(|i| creds.get(i).unwrap()).collect();
    let toml = matchd::config_toml(DEFAULT_CONFIG_TOML, &accounts, Some(1_000_000));
    let bin = matchd::locate_binary(None).unwrap_or_else(|e| panic!("{e}"));
    let m = Matchd::start(&bin, &toml, &["--durability", "batch"]).unwrap_or_else(|e| panic!("{e}"));
    (m, creds)
}

fn config(m: &Matchd, creds: Credentials, sessions: u32, mode: Mode, mix: Mix) -> LoadgenConfig {
    let insts = InstrumentParams::select(&Config::default_config(), &[1, 2]).unwrap();
    let mut cfg = LoadgenConfig::new(m.addr, sessions, creds, insts).with_total_depth(100);
    cfg.mode = mode;
    cfg.flow.mix = mix;
    cfg.duration = Duration::from_millis(1500);
    cfg.warmup = Duration::from_millis(300);
    cfg.seed = 42;
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
    let cfg = config(&m, creds, 3, Mode::Open { rate: 3_000.0 }, Mix::PASSIVE);
    let r = loadgen::run(&cfg).unwrap_or_else(|e| panic!("{e}\n{}", m.stderr()));
    assert_clean(&r);
    assert_eq!(r.rejects, 0, "a valid passive mix has no rejects: {}", r.summary());
    assert_eq!(r.fills, 0, "{}", r.summary());
    assert!(r.cancels > 0 && r.amends > 0 && r.new_orders > 0, "{}", r.summary());
    // Open loop: about rate * (warmup + duration) commands. On a busy 2-core machine the sender
    // may end a few scheduled orders short (`unsent`, counted in the latency as lateness), but
    // every order it sent was answered (`assert_clean` checks missing == 0).
    assert!((4_000..=6_500).contains(&r.sent), "{}", r.summary());
    assert!(r.unsent * 100 <= r.sent, "more than 1% of the schedule unsent: {}", r.summary());
    assert_json(&r, "open");
    assert_files(&r, "loadgen-open");
    // A second run on the same accounts (ids keep increasing, history is skipped at login).
    let r2 = loadgen::run(&cfg).unwrap();
    assert_clean(&r2);
    assert_eq!(r2.rejects, 0, "{}", r2.summary());
    assert!(m.stop(Duration::from_secs(20)), "matchd stops cleanly:\n{}", m.stderr());
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
    assert!(m.stop(Duration::from_secs(20)), "matchd stops cleanly:\n{}", m.stderr());
}
