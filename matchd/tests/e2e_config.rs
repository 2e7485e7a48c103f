//! The configuration's life cycle against the real `matchd` binary: `matchd format` creates an
//! exchange once and a start under `data.create = "format"` (or without the key) refuses an empty
//! data directory; `check-config` refuses nonsense values naming the key; instruments and
//! accounts added to the config after the format are journaled at the next start (and a changed
//! instrument definition refuses the start); the listeners are bound before the replay; and
//! `hash-credential -` reads the secret from stdin.

mod e2e_common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e_common::*;
use engine::{CommandType, NewOrder, Side};
use protocol::ExecReport;

/// How a finished `matchd` invocation ended.
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `matchd ARGS` to completion (stdin from `input`), output captured in files; a run still
/// going after a minute is killed and fails the test (only a hang takes that long).
fn run_matchd(dir: &Path, args: &[&str], input: Option<&str>) -> Finished {
    static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (out_path, err_path) = (dir.join(format!("run{n}.stdout")), dir.join(format!("run{n}.stderr")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_matchd"))
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn matchd");
    if let Some(text) = input {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    assert!(status.is_some(), "matchd {args:?} still running after a minute; stderr:\n{stderr}");
    Finished { code: status.unwrap().code(), stdout, stderr }
}

/// Writes `text` as `name` in `dir` and returns its path as a string.
fn write_config(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// The embedded default in risk mode with small segments, where only `matchd format` may
/// create the exchange.
fn format_only_config() -> String {
    let text = ConfigText::risk().0;
    // The key as this change introduces it; written in if absent so the text parses either way.
    match text.contains("create = \"auto\"") {
        true => text.replacen("create = \"auto\"", "create = \"format\"", 1),
        false => text.replacen("dir = \"./matchd-data\"", "dir = \"./matchd-data\"\ncreate = \"format\"", 1),
    }
}

/// `matchd --config CFG --data-dir DATA` with ephemeral ports, run to its exit.
fn start_expecting_exit(dir: &Path, cfg: &str, data: &Path) -> Finished {
    let data = data.to_str().unwrap();
    let args = ["--config", cfg, "--data-dir", data, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"];
    run_matchd(dir, &args, None)
}

/// Every file under `dir` with its contents, to show that nothing changed.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(tree(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Format.

#[test]
fn a_start_without_format_refuses_and_format_creates_the_exchange() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "prod.toml", &format_only_config());
    let data = tmp.path().join("data");

    // A missing data directory, then an empty one: refused, naming it and the command to run.
    for round in 0..2 {
        if round == 1 {
            std::fs::create_dir(&data).unwrap();
        }
        let r = start_expecting_exit(tmp.path(), &cfg, &data);
        assert_eq!(r.code, Some(1), "stderr:\n{}", r.stderr);
        assert!(r.stderr.contains(&format!("data directory {} holds no journal", data.display())), "{}", r.stderr);
        let command = format!("--config {cfg} --data-dir {} format", data.display());
        assert!(r.stderr.contains(&command), "no `{command}` in:\n{}", r.stderr);
        assert!(!r.stdout.contains("matchd ready"), "{}", r.stdout);
        assert!(!data.join("journal").exists(), "a refused start created the journal");
    }

    let f = run_matchd(tmp.path(), &["--config", &cfg, "--data-dir", data.to_str().unwrap(), "format"], None);
    assert_eq!(f.code, Some(0), "stderr:\n{}", f.stderr);
    assert!(f.stdout.contains(&format!("formatted {}", data.join("journal").display())), "{}", f.stdout);

    // Formatted with the config's deposits: alice's funded buy is accepted.
    for _ in 0..2 {
        let m = Matchd::start(&data, &["--config", &cfg]);
        let mut alice = m.trader(ALICE);
        alice.new_order(limit(1, Side::Buy, px(-100), lots(10))).unwrap();
        let got = sync(&mut alice);
        assert!(got.iter().any(|r| matches!(r, ExecReport::Accepted(a) if a.client_order_id == 1)), "{got:#?}");
        drop(alice);
        assert_eq!(m.terminate().code(), Some(0));
    }
}

#[test]
fn format_refuses_a_data_dir_that_holds_an_exchange() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "prod.toml", &format_only_config());
    let data = tmp.path().join("data");
    let format = ["--config", &cfg, "--data-dir", data.to_str().unwrap(), "format"];
    assert_eq!(run_matchd(tmp.path(), &format, None).code, Some(0));
    let before = tree(&data);
    let again = run_matchd(tmp.path(), &format, None);
    assert_eq!(again.code, Some(3), "stderr:\n{}", again.stderr);
    let journal = data.join("journal");
    assert!(again.stderr.contains(&format!("{} already holds a journal", journal.display())), "{}", again.stderr);
    assert_eq!(tree(&data), before, "a refused format changed the data directory");

    // Nor over an exchange created by an auto start (the embedded default's way).
    let dev = tmp.path().join("dev");
    Matchd::start_default(&dev).terminate();
    let dev_cfg = dev.with_extension("toml");
    let r = run_matchd(
        tmp.path(),
        &["--config", dev_cfg.to_str().unwrap(), "--data-dir", dev.to_str().unwrap(), "format"],
        None,
    );
    assert_eq!(r.code, Some(3), "stderr:\n{}", r.stderr);
    assert!(r.stderr.contains("already holds a journal"), "{}", r.stderr);
}

#[test]
fn a_config_that_does_not_say_needs_format() {
    let tmp = tempfile::tempdir().unwrap();
    let text = ConfigText::risk().0.replacen("create = \"auto\"\n", "", 1);
    assert!(!text.contains("create ="));
    let cfg = write_config(tmp.path(), "old-style.toml", &text);
    let data = tmp.path().join("data");
    let r = start_expecting_exit(tmp.path(), &cfg, &data);
    assert_eq!(r.code, Some(1), "stderr:\n{}", r.stderr);
    assert!(r.stderr.contains("holds no journal"), "{}", r.stderr);
    assert!(!data.join("journal").exists());
}

// ---------------------------------------------------------------------------
// check-config.

#[test]
fn check_config_refuses_nonsense_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let base = ConfigText::embedded().0;
    let btc_tick = "tick = 1                    # 0.01 USDT";
    // (text to replace, replacement, key the message must name): each passed before.
    let cases = [
        ("dir = \"./matchd-data\"", "dir = \"\"", "data.dir"),
        (btc_tick, "tick = 0", "instruments[0].tick"),
        (btc_tick, "tick = 3", "instruments[0].reference_price"),
        ("lot = 1000                  # 0.00001 BTC", "lot = 0", "instruments[0].lot"),
        ("min_qty = 1000\n", "min_qty = 1500\n", "instruments[0].min_qty"),
        ("max_qty = 10000000000       # 100 BTC", "max_qty = 10", "instruments[0].max_qty"),
        ("reference_price = 5000000   # 50,000.00 USDT", "reference_price = 0", "instruments[0].reference_price"),
        ("base_asset = 2\n", "base_asset = 1\n", "instruments[0].quote_asset"),
        ("base_asset = 2\n", "base_asset = 64\n", "instruments[0].base_asset"),
        ("symbol = \"ETH-USDT\"", "symbol = \"BTC-USDT\"", "instruments[1].symbol"),
        ("name = \"bob\"", "name = \"\"", "accounts[2].name"),
        ("login_timeout_ms = 5000", "login_timeout_ms = 0", "server.login_timeout_ms"),
        ("heartbeat_timeout_ms = 10000", "heartbeat_timeout_ms = 100000000000", "server.heartbeat_timeout_ms"),
        ("max_connections = 1024", "max_connections = 4000000000", "server.max_connections"),
        ("segment_bytes = 268435456", "segment_bytes = 2147483648", "journal.segment_bytes"),
        ("segment_bytes = 268435456", "segment_bytes = 1048577", "journal.segment_bytes"),
        ("pin = {}", "pin = { matcher = 5000 }", "pipeline.pin.matcher"),
        ("max_subscribers = 64\n", "max_subscribers = 0\nlisten = \"127.0.0.1:7002\"\n", "market_data.listen"),
    ];
    for (i, (from, to, key)) in cases.iter().enumerate() {
        assert!(base.contains(from), "{from}");
        let cfg = write_config(tmp.path(), &format!("bad{i}.toml"), &base.replacen(from, to, 1));
        let r = run_matchd(tmp.path(), &["--config", &cfg, "check-config"], None);
        assert_eq!(r.code, Some(2), "{to:?} was accepted: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(&format!("`{key}`")), "{to:?}: the message does not name `{key}`: {}", r.stderr);
    }
    // And the untouched default passes.
    let ok = run_matchd(tmp.path(), &["check-config"], None);
    assert_eq!((ok.code, ok.stdout.trim()), (Some(0), "config OK"), "{}", ok.stderr);
}

// ---------------------------------------------------------------------------
// Instruments and accounts added after the format.

/// A third instrument on a new asset (4): whole units, no fees.
const SOL: u32 = 3;
const SOL_ASSET: u32 = 4;
const USDT: u32 = 1;
const SOL_TOML: &str = "\n[[instruments]]\nid = 3\nsymbol = \"SOL-USDT\"\nbase_asset = 4\nquote_asset = 1\n\
    tick = 1\nlot = 1\nmin_qty = 1\nmax_qty = 1000000\nmin_notional = 1\nprice_band_bps = 1000\n\
    reference_price = 10000\nqty_scale = 1\n";
/// The transaction id of carol's deposit `j` (she is created after the format): documented as
/// 0xFFFF010000000000 + account * 65536 + j.
fn carol_tx(j: u64) -> u64 {
    0xFFFF_0100_0000_0000 + ((CAROL.0 as u64) << 16) + j
}

fn sol_order(cid: u64, side: Side, price: u64, qty: u64) -> NewOrder {
    NewOrder::limit_gtc(cid, SOL, side, price, qty)
}

/// An admin's whole report history: (instruments added with id SOL, carol's deposit tx ids).
fn admin_history(m: &Matchd) -> (usize, Vec<u64>) {
    let mut admin = m.admin();
    let highest = admin.session().unwrap().highest_seq;
    let (mut added, mut deposits) = (0, Vec::new());
    while admin.last_seen_seq() < highest {
        match next_report(&mut admin).1 {
            ExecReport::InstrumentAdded(a) if a.spec.id == SOL => added += 1,
            ExecReport::TransferApplied(t) if t.command == CommandType::Deposit && t.target == CAROL.0 => {
                deposits.push(t.tx_id)
            }
            _ => {}
        }
    }
    (added, deposits)
}

/// `QueryAccount(target)` on an admin session: asset -> (available, reserved).
fn balances(m: &Matchd, target: u32) -> std::collections::BTreeMap<u32, (u64, u64)> {
    let mut admin = m.admin();
    // Skip the history resent at login.
    let highest = admin.session().unwrap().highest_seq;
    while admin.last_seen_seq() < highest {
        next_report(&mut admin);
    }
    admin.query_account(target).unwrap();
    let mut out = std::collections::BTreeMap::new();
    loop {
        match next_report(&mut admin).1 {
            ExecReport::AccountBalance(b) => {
                out.insert(b.asset, (b.available, b.reserved));
            }
            ExecReport::QueryDone(_) => return out,
            other => panic!("query of {target}: unexpected {other:?}"),
        }
    }
}

#[test]
fn an_instrument_and_account_added_to_the_config_are_journaled_at_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    Matchd::start_with(&data, &ConfigText::risk()).terminate();

    // Added to the file: SOL-USDT, and carol funded with 1,000 SOL and 1,000,000 USDT units.
    let with_carol =
        ConfigText::risk().with_funded_trader(CAROL.0, "carol", CAROL.1, &[(SOL_ASSET, 1000), (USDT, 1_000_000)]);
    let with_sol = ConfigText(format!("{}{SOL_TOML}", with_carol.0));
    let m = Matchd::start_with(&data, &with_sol);
    assert_eq!(balances(&m, CAROL.0), [(USDT, (1_000_000, 0)), (SOL_ASSET, (1000, 0))].into());
    let mut carol = m.trader(CAROL);
    carol.new_order(sol_order(1, Side::Sell, 10_000, 10)).unwrap();
    let got = sync(&mut carol);
    assert!(got.iter().any(|r| matches!(r, ExecReport::Accepted(a) if a.instrument == SOL)), "{got:#?}");
    let mut alice = m.trader(ALICE);
    alice.new_order(sol_order(1, Side::Buy, 10_000, 10)).unwrap();
    let got = sync(&mut alice);
    assert!(got.iter().any(|r| matches!(r, ExecReport::Fill(f) if f.instrument == SOL)), "{got:#?}");
    drop((carol, alice));
    assert_eq!(m.terminate().code(), Some(0));

    // The journal has them now: without SOL in the file it still trades, and carol's deposits
    // (initial funding) are not entered again.
    let m = Matchd::start_with(&data, &with_carol);
    assert_eq!(balances(&m, CAROL.0), [(USDT, (1_000_000 + 100_000, 0)), (SOL_ASSET, (990, 0))].into());
    let mut alice = m.trader(ALICE);
    alice.new_order(sol_order(2, Side::Buy, 9_000, 5)).unwrap();
    let got = sync(&mut alice);
    assert!(got.iter().any(|r| matches!(r, ExecReport::Accepted(a) if a.instrument == SOL)), "{got:#?}");
    drop(alice);
    assert_eq!(m.terminate().code(), Some(0));

    // Back in the file, identical: nothing is added twice, after a snapshot or a full replay.
    std::fs::remove_dir_all(data.join("snapshots")).unwrap();
    let m = Matchd::start_with(&data, &with_sol);
    assert_eq!(admin_history(&m), (1, vec![carol_tx(0), carol_tx(1)]));
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn a_changed_instrument_definition_refuses_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    Matchd::start_default(&data).terminate();
    let base = ConfigText::default().0;

    let retick = base.replacen("tick = 1                    # 0.01 USDT", "tick = 5", 1);
    let cfg = write_config(tmp.path(), "retick.toml", &retick);
    let r = start_expecting_exit(tmp.path(), &cfg, &data);
    assert_eq!(r.code, Some(1), "stderr:\n{}", r.stderr);
    assert!(r.stderr.contains("`instruments[0]`") && r.stderr.contains("tick: config 5, journal 1"), "{}", r.stderr);

    let moved = base.replacen("id = 2\nsymbol = \"ETH-USDT\"", "id = 9\nsymbol = \"ETH-USDT\"", 1);
    let cfg = write_config(tmp.path(), "moved.toml", &moved);
    let r = start_expecting_exit(tmp.path(), &cfg, &data);
    assert_eq!(r.code, Some(1), "stderr:\n{}", r.stderr);
    assert!(
        r.stderr.contains("`instruments[1].symbol`") && r.stderr.contains("instrument 2 in the journal"),
        "{}",
        r.stderr
    );

    // The refusals changed nothing: the original config still starts.
    Matchd::start_default(&data).terminate();
}

// ---------------------------------------------------------------------------
// Listeners before the replay.

#[test]
fn a_busy_port_fails_before_the_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let m = Matchd::start_default(&data);
    let mut alice = m.trader(ALICE);
    for cid in 1..=200 {
        alice.new_order(limit(cid, Side::Buy, px(-1000 - cid as i64), lots(1))).unwrap();
    }
    sync(&mut alice);
    drop(alice);
    // SIGKILL: no shutdown snapshot, so a start would replay the whole journal.
    m.kill9();
    let cfg = data.with_extension("toml");
    let cfg = cfg.to_str().unwrap();

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().to_string();
    let fresh = tmp.path().join("fresh");
    for dir in [&data, &fresh] {
        let d = dir.to_str().unwrap();
        let r = run_matchd(
            tmp.path(),
            &["--config", cfg, "--data-dir", d, "--listen", &port, "--metrics-listen", "127.0.0.1:0"],
            None,
        );
        assert_eq!(r.code, Some(1), "stderr:\n{}", r.stderr);
        assert!(r.stderr.contains(&format!("cannot listen on {port}")), "{}", r.stderr);
        assert!(!r.stderr.contains("replay complete"), "replayed before binding:\n{}", r.stderr);
        assert!(!r.stderr.contains("formatted"), "formatted before binding:\n{}", r.stderr);
    }
    assert!(!fresh.join("journal").exists(), "a start that could not listen created a journal");
    drop(busy);
    // The journal is intact.
    Matchd::start(&data, &["--config", cfg]).terminate();
}

// ---------------------------------------------------------------------------
// hash-credential.

#[test]
fn hash_credential_dash_reads_the_secret_from_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    for input in ["correct horse\n", "correct horse\r\n", "correct horse"] {
        let r = run_matchd(tmp.path(), &["hash-credential", "-"], Some(input));
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let line = r.stdout.trim();
        let hashed = line.strip_prefix("credential = \"").and_then(|l| l.strip_suffix('"')).expect(line);
        let c = gateway::credential::Credential::parse(hashed).unwrap();
        assert!(c.verify(b"correct horse"), "{input:?} -> {line}");
        assert!(!c.verify(b"-"));
    }
    let empty = run_matchd(tmp.path(), &["hash-credential", "-"], Some(""));
    assert_eq!(empty.code, Some(2), "{}{}", empty.stdout, empty.stderr);
    let help = run_matchd(tmp.path(), &["hash-credential", "--help"], None);
    assert!(help.stdout.contains("stdin"), "{}", help.stdout);
}
