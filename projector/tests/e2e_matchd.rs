//! The projector against a real matchd (the `matchd` binary of the matchd crate, found next to
//! the test executable's directory: `cargo test --workspace` builds it; alone, run
//! `cargo build -p matchd --bin matchd` first, or set `MATCHD_BIN`) and a real PostgreSQL:
//! random flows (orders, cancels, amends, fills from the load generator; deposits and
//! withdrawals from an admin session) while the projector is killed with SIGKILL at random
//! points, its connection is terminated, matchd takes a snapshot (restarts rebuild from it) and
//! PostgreSQL crashes twice; then exact equality of the read side with matchd's own
//! answers (`QueryAccount`) and with a replay of its journal.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use ::matchd::config::{Config, DEFAULT_CONFIG_TOML};
use client::{Client, LoginParams};
use common::*;
use protocol::{ExecReport, ServerMessage};
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use tools::loadgen::matchd::{self, Matchd};
use tools::loadgen::{self, Credentials, InstrumentParams, LoadgenConfig, Mix, Mode};

/// Bounds a hang (a login, an answer), never a speed.
const IO: Duration = Duration::from_secs(60);
const ADMIN: (u32, &str) = (0, "admin-demo");
const FIRST_ACCOUNT: u32 = 100;
const SESSIONS: u32 = 4;

/// Sends a command and reads until its answer (a `TransferApplied` or a reject).
fn admin_transfer(admin: &mut Client, deposit: bool, target: u32, asset: u32, amount: u64, tx_id: u64) {
    if deposit {
        admin.deposit(target, asset, amount, tx_id).unwrap();
    } else {
        admin.withdraw(target, asset, amount, tx_id).unwrap();
    }
    let mut others = Vec::new();
    let answer = admin
        .recv_until(
            |m| {
                matches!(
                    m,
                    ServerMessage::Report { report: ExecReport::TransferApplied(_) | ExecReport::Rejected(_), .. }
                )
            },
            IO,
            &mut others,
        )
        .unwrap();
    assert!(answer.is_some(), "no answer to a transfer");
}

/// `QueryAccount` over the protocol: balances (asset -> (available, reserved)) and open orders
/// (order id -> (price, qty, leaves)).
type AccountState = (BTreeMap<u32, (u64, u64)>, BTreeMap<u64, (u64, u64, u64)>);
fn query_account(admin: &mut Client, target: u32) -> AccountState {
    admin.query_account(target).unwrap();
    let (mut balances, mut orders) = (BTreeMap::new(), BTreeMap::new());
    loop {
        let m = admin.recv(IO).unwrap().expect("an answer to QueryAccount");
        let ServerMessage::Report { report, .. } = m else { continue };
        match report {
            ExecReport::AccountBalance(b) if b.target == target => {
                balances.insert(b.asset, (b.available, b.reserved));
            }
            ExecReport::OpenOrder(o) if o.order.account == target => {
                orders.insert(o.order.order_id, (o.order.price, o.order.qty, o.order.leaves));
            }
            ExecReport::QueryDone(d) if d.done.target == target => return (balances, orders),
            _ => {}
        }
    }
}

/// The same from SQL.
fn sql_account(db: &Db, target: u32) -> AccountState {
    let balances = db
        .query(&format!("SELECT asset_id, available, reserved FROM balances WHERE account_id = {target}"))
        .iter()
        .map(|r| (r.get::<_, i32>(0) as u32, (r.get::<_, i64>(1) as u64, r.get::<_, i64>(2) as u64)))
        .filter(|(_, b)| *b != (0, 0))
        .collect();
    let orders = db
        .query(&format!(
            "SELECT order_id, price, qty, leaves_qty FROM orders WHERE account_id = {target} \
             AND status IN ('new', 'partially_filled')"
        ))
        .iter()
        .map(|r| {
            let g = |i| r.get::<_, i64>(i) as u64;
            (g(0), (g(1), g(2), g(3)))
        })
        .collect();
    (balances, orders)
}

#[test]
fn a_live_matchd_is_projected_exactly_once_through_kills_and_a_postgres_crash() {
    let seed = std::env::var("PROJECTOR_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("seed {seed} (PROJECTOR_TEST_SEED={seed} repeats it)");
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut pg = projector::pg_harness::Postgres::start();
    pg.create_database("readside");
    let url = pg.url("readside");

    let creds = Credentials::Range { from: FIRST_ACCOUNT, prefix: "lg-".into() };
    let accounts: Vec<_> = (0..SESSIONS).map(|i| creds.get(i).unwrap()).collect();
    let toml = matchd::config_toml(DEFAULT_CONFIG_TOML, &accounts, Some(1_000_000))
        .replace("heartbeat_timeout_ms = 10000", "heartbeat_timeout_ms = 60000");
    let bin = matchd::locate_binary(None).unwrap_or_else(|e| panic!("{e}"));
    let m = Matchd::start(&bin, &toml, &["--durability", "batch"]).unwrap_or_else(|e| panic!("{e}"));
    let data = m.dir.join("data");
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("projector.log");
    // Exactly once in both commit modes: a PostgreSQL crash loses the last commits with `off`.
    let sync = if seed.is_multiple_of(2) { "off" } else { "on" };
    eprintln!("--synchronous-commit {sync}");
    let args = [
        "--batch-records",
        "300",
        "--batch-ms",
        "10",
        "--max-backoff-ms",
        "500",
        "--metrics-listen",
        "127.0.0.1:0",
        "--synchronous-commit",
        sync,
    ];
    let mut projector = Projector::start(&data, &url, &log, &args);

    // The order flow, in the background: every command kind the load generator has, a third of
    // the GTC orders crossing.
    let insts = InstrumentParams::select(&Config::default_config(), &[1, 2]).unwrap();
    let mut cfg = LoadgenConfig::new(m.addr, SESSIONS, creds, insts).with_total_depth(60);
    cfg.mode = Mode::Closed { window: 4 };
    cfg.flow.mix = Mix { cross_pct: 30, ..Mix::DEFAULT };
    cfg.duration = Duration::from_secs(4);
    cfg.warmup = Duration::ZERO;
    cfg.seed = seed;
    cfg.drain_timeout = Duration::from_secs(120);
    cfg.io_timeout = Duration::from_secs(120);
    let flow = std::thread::spawn(move || loadgen::run(&cfg));

    // Meanwhile: transfers, and the projector killed at random points; PostgreSQL crashes once.
    let mut admin = Client::connect(m.addr, IO).unwrap();
    admin.login(LoginParams::admin(ADMIN.0, ADMIN.1.as_bytes())).unwrap();
    let mut tx_id = 1_000_000;
    // Kills that fell between the two table groups' commits (their checkpoints differed).
    let mut split_kills = 0;
    for cycle in 0..6 {
        for _ in 0..5 {
            tx_id += 1;
            let target = FIRST_ACCOUNT + rng.next_u64() as u32 % SESSIONS;
            let amount = 1 + rng.next_u64() % 1_000_000;
            admin_transfer(&mut admin, rng.next_u64() % 2 == 0, target, 1 + rng.next_u64() as u32 % 3, amount, tx_id);
        }
        if cycle == 1 {
            // A matchd snapshot: later restarts rebuild the projector's engine from it.
            m.request_snapshot();
            wait_for("a matchd snapshot", || {
                std::fs::read_dir(data.join("snapshots"))
                    .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".snap")))
                    .unwrap_or(false)
            });
        }
        if cycle == 2 {
            // A lost connection (the server ends the projector's session), busy or idle: it
            // reconnects by itself.
            let db = Db::connect(&url);
            let reconnects = projector.wait_connected();
            std::thread::sleep(Duration::from_millis(rng.next_u64() % 300));
            db.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'readside' AND pid <> pg_backend_pid()");
            projector.wait_reconnected(reconnects);
        }
        // The first kill comes at once: the projector is still connecting or migrating (a
        // restart must finish the schema), and the checkpoints are read before it exists.
        let pause_ms = if cycle == 0 { 0 } else { 100 + rng.next_u64() % 500 };
        std::thread::sleep(Duration::from_millis(pause_ms));
        projector.assert_running();
        projector.kill9();
        let (state, history) = Db::connect(&url).group_checkpoints();
        split_kills += usize::from(state != history);
        if cycle == 3 {
            pg.crash_and_restart();
        }
        projector = Projector::start(&data, &url, &log, &args);
        if cycle == 4 {
            // A PostgreSQL crash under a running projector, busy or idle: it reconnects by itself.
            let reconnects = projector.wait_connected();
            std::thread::sleep(Duration::from_millis(rng.next_u64() % 300));
            pg.crash_and_restart();
            projector.wait_reconnected(reconnects);
        }
    }
    let report = flow.join().unwrap().expect("the load generator ran");
    assert!(report.sent > 0 && report.missing == 0, "{}", report.summary());

    // matchd's own answers, then the projector caught up with everything (queries included).
    let answers: Vec<AccountState> = (0..SESSIONS).map(|i| query_account(&mut admin, FIRST_ACCOUNT + i)).collect();
    let db = Db::connect(&url);
    wait_for("the projector to reach the journal's end", || {
        projector.assert_running();
        db.checkpoint() == journal_end(&data)
    });
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(&sql_account(&db, FIRST_ACCOUNT + i as u32), answer, "account {}", FIRST_ACCOUNT + i as u32);
    }
    // One more kill at a quiet point: the checkpoint is past matchd's snapshot now, so the
    // restart rebuilds the engine from it (and verifies the state hash there).
    projector.kill9();
    projector = Projector::start(&data, &url, &log, &args);
    wait_for("the restart to rebuild from matchd's snapshot", || {
        projector.assert_running();
        std::fs::read_to_string(&log).unwrap().contains("snapshot loaded; replaying the journal after it")
    });
    let end = db.checkpoint();
    // The lag metrics: nothing behind once the checkpoint is at the journal's end (the watcher
    // polls the journal's end every 200 ms).
    wait_for("the metrics to show no lag", || {
        projector.metric("projector_journal_seq") == end as f64
            && projector.metric("projector_committed_seq") == end as f64
    });
    assert_eq!(projector.metric("projector_lag_records"), 0.0);
    assert_eq!(projector.metric("projector_lag_seconds"), 0.0);
    assert_eq!(projector.metric("projector_up"), 1.0);
    let r = replay(&data, Some(end));
    db.assert_checkpoints_at(end, r.engine().state_hash());
    check_sql_invariants(&db, &r.events);
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("reconnecting"), "the projector lived through a PostgreSQL crash:\n{log_text}");
    eprintln!("{split_kills} of 6 kills fell between the two groups' commits");
    eprintln!(
        "projected {end} records: {} trades, {} orders, {} ledger rows; {}",
        db.int("SELECT count(*) FROM trades"),
        db.int("SELECT count(*) FROM orders"),
        db.int("SELECT count(*) FROM balance_ledger"),
        report.summary()
    );
}
