//! Shared harness of the projector's tests: the `matchd-projector` binary as a child process, SQL
//! queries, a replay of the journal (the differential reference) and a synthetic journal writer.
//!
//! **No wall-clock budgets.** These tests run on busy 2-core machines: every wait is for a
//! condition (the checkpoint reaching the journal's end, a process exiting) and its deadline
//! ([`LONG_WAIT`]) only bounds a hang.
#![allow(dead_code)]

pub mod futures;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use engine::command_codec::{encode, encode_engine_config, MAX_COMMAND_BYTES, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::{Engine, Event, EventKind, Seq};
use journal::{JournalConfig, JournalReader, JournalWriter, SyncPolicy};
use projector::source::{Applied, Source};

/// Bounds a hang, never a speed.
pub const LONG_WAIT: Duration = Duration::from_secs(300);

/// SQL over tokio-postgres on a private current-thread runtime.
pub struct Db {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Db {
    /// Connects (retrying until [`LONG_WAIT`]: the server may be restarting).
    pub fn connect(url: &str) -> Db {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let deadline = Instant::now() + LONG_WAIT;
        loop {
            match rt.block_on(tokio_postgres::connect(url, tokio_postgres::NoTls)) {
                Ok((client, conn)) => {
                    rt.spawn(async move {
                        let _ = conn.await;
                    });
                    return Db { rt, client };
                }
                Err(e) => {
                    assert!(Instant::now() < deadline, "connect {url}: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// Rows of `sql`.
    pub fn query(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        self.rt.block_on(self.client.query(sql, &[])).unwrap_or_else(|e| panic!("{sql}: {}", pg_message(&e)))
    }

    /// The one `bigint` `sql` returns.
    pub fn int(&self, sql: &str) -> i64 {
        let rows = self.query(sql);
        assert_eq!(rows.len(), 1, "{sql}");
        rows[0].get::<_, Option<i64>>(0).unwrap_or(0)
    }

    /// Runs statements.
    pub fn exec(&self, sql: &str) {
        self.rt.block_on(self.client.batch_execute(sql)).unwrap_or_else(|e| panic!("{sql}: {}", pg_message(&e)));
    }

    /// Whether the projector has created its schema. A projector killed early (a busy machine
    /// can take longer than a test's pause to connect and migrate) has not; refinery applies each
    /// migration in one transaction, so the table and its two rows appear together.
    fn has_schema(&self) -> bool {
        self.int("SELECT (to_regclass('projector_checkpoint') IS NOT NULL)::int::bigint") != 0
    }

    /// The last record both table groups hold (0 before the schema exists).
    pub fn checkpoint(&self) -> u64 {
        if !self.has_schema() {
            return 0;
        }
        self.int("SELECT min(seq) FROM projector_checkpoint") as u64
    }

    /// Each table group's checkpoint: (current state, history); (0, 0) before the schema exists.
    pub fn group_checkpoints(&self) -> (u64, u64) {
        if !self.has_schema() {
            return (0, 0);
        }
        let seq = |id| self.int(&format!("SELECT seq FROM projector_checkpoint WHERE id = {id}")) as u64;
        (seq(1), seq(2))
    }

    /// Asserts both groups' checkpoints are at `seq` with the engine's state hash there.
    pub fn assert_checkpoints_at(&self, seq: u64, state_hash: u128) {
        let rows = self.query("SELECT seq, state_hash FROM projector_checkpoint ORDER BY id");
        assert_eq!(rows.len(), 2, "one checkpoint per table group");
        for r in rows {
            assert_eq!(r.get::<_, i64>(0) as u64, seq, "checkpoint");
            let hash: Vec<u8> = r.get(1);
            assert_eq!(hash, state_hash.to_be_bytes().to_vec(), "checkpoint hash = the journal's");
        }
    }

    /// Every user table's row count, for "nothing was written" checks.
    pub fn table_counts(&self) -> Vec<(String, i64)> {
        let names: Vec<String> = self
            .query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            .iter()
            .map(|r| r.get(0))
            .collect();
        names.into_iter().map(|n| (n.clone(), self.int(&format!("SELECT count(*) FROM {n}")))).collect()
    }
}

/// PostgreSQL's own message and code: tokio-postgres's `Display` says only "db error".
pub fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({}: {})", e, db.code().code(), db.message()),
        None => format!("{e:?}"),
    }
}

/// The `matchd-projector` binary as a child process.
pub struct Projector {
    pub child: Child,
    pub log: PathBuf,
    metrics: std::sync::mpsc::Receiver<std::net::SocketAddr>,
    metrics_addr: Option<std::net::SocketAddr>,
}

impl Projector {
    /// Starts it on `data_dir` into `url` with `extra` arguments; its stderr goes to `log`.
    pub fn start(data_dir: &Path, url: &str, log: &Path, extra: &[&str]) -> Projector {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_matchd-projector"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--database", url])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(file))
            .spawn()
            .expect("spawn matchd-projector");
        let mut child = child;
        let stdout = child.stdout.take().unwrap();
        let (tx, metrics) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("matchd-projector metrics listen=") {
                    let _ = tx.send(addr.trim().parse().unwrap());
                }
            }
        });
        Projector { child, log: log.to_path_buf(), metrics, metrics_addr: None }
    }

    /// Runs it to the journal's end (`--exit-at-end`): (exit code, its stderr).
    pub fn run_to_end(data_dir: &Path, url: &str, log: &Path, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["--exit-at-end"];
        args.extend_from_slice(extra);
        let mut p = Projector::start(data_dir, url, log, &args);
        let deadline = Instant::now() + LONG_WAIT;
        loop {
            if let Some(st) = p.child.try_wait().unwrap() {
                return (st.code().unwrap_or(-1), std::fs::read_to_string(log).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "matchd-projector did not finish");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The value of metric `name` on its `/metrics` (started with `--metrics-listen`).
    pub fn metric(&mut self, name: &str) -> f64 {
        use std::io::{Read, Write};
        let addr = *self
            .metrics_addr
            .get_or_insert_with(|| self.metrics.recv_timeout(LONG_WAIT).expect("a metrics listen line"));
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "GET /metrics HTTP/1.1\r\nHost: p\r\n\r\n").unwrap();
        let mut page = String::new();
        s.read_to_string(&mut page).unwrap();
        page.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("metric {name} missing:\n{page}"))
    }

    /// Waits until it is connected and projecting (`projector_up`); returns its reconnections
    /// so far.
    pub fn wait_connected(&mut self) -> f64 {
        wait_for("the projector to connect", || {
            self.assert_running();
            self.metric("projector_up") == 1.0
        });
        self.metric("projector_reconnects_total")
    }

    /// Waits until it has noticed a lost database (with or without rows to write) and is
    /// connected again: more reconnections than `reconnects_before`, and up.
    pub fn wait_reconnected(&mut self, reconnects_before: f64) {
        wait_for("the projector to reconnect", || {
            self.assert_running();
            self.metric("projector_reconnects_total") > reconnects_before && self.metric("projector_up") == 1.0
        });
    }

    /// SIGKILL, and reap it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Panics with its log if it exited.
    pub fn assert_running(&mut self) {
        if let Some(st) = self.child.try_wait().unwrap() {
            panic!("matchd-projector exited ({st}):\n{}", std::fs::read_to_string(&self.log).unwrap_or_default());
        }
    }
}

impl Drop for Projector {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The journal's last record (0 if empty).
pub fn journal_end(data_dir: &Path) -> Seq {
    let mut r = JournalReader::open(data_dir.join("journal"), 0).expect("open journal");
    while r.next().expect("read journal").is_some() {}
    r.next_seq() - 1
}

/// What a replay of the journal gives: the engine at its end and every event.
pub struct Replayed {
    pub source: Source,
    pub events: Vec<Event>,
    pub last_seq: Seq,
}

impl Replayed {
    /// The engine after `last_seq`.
    pub fn engine(&self) -> &Engine {
        self.source.engine().expect("an engine-config record")
    }
}

/// Replays the journal (the projector's own source, from record 1) to `upto` (or its end).
pub fn replay(data_dir: &Path, upto: Option<Seq>) -> Replayed {
    let mut s = Source::at_checkpoint(data_dir, 0, None).expect("open the journal");
    let mut events = Vec::new();
    let mut last_seq = 0;
    while upto.is_none_or(|u| last_seq < u) {
        match s.next(&mut events).expect("replay") {
            Some(Applied::Command(seq, _)) | Some(Applied::Other(seq)) => last_seq = seq,
            None => break,
        }
    }
    Replayed { source: s, events, last_seq }
}

/// Trades and their total quantity among `events`.
pub fn trade_totals(events: &[Event]) -> (i64, i64) {
    events.iter().fold((0, 0), |(n, q), e| match e.kind {
        EventKind::Trade(t) => (n + 1, q + t.qty as i64),
        _ => (n, q),
    })
}

/// Waits until `done` holds, panicking with `what` after [`LONG_WAIT`].
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + LONG_WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "waited {LONG_WAIT:?} for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Engine capacities of the synthetic journals (risk mode: balances, fees, transfers).
pub fn synth_config() -> engine::EngineConfig {
    engine::EngineConfig { risk_checks: true, ..engine::EngineConfig::small() }
}

/// A deterministic random flow for the synthetic journals: one instrument, four funded accounts,
/// then `n` commands (GTC and IOC orders around the reference price, stop-loss and take-profit
/// orders, cancels, deposits, withdrawals), stamped 1 ms apart from `t0_ns`.
pub fn synth_commands(seed: u64, n: usize, t0_ns: u64) -> Vec<engine::Command> {
    use engine::*;
    use rand_xoshiro::rand_core::{Rng, SeedableRng};
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut below = |n: u64| rng.next_u64() % n;
    let mut ts = t0_ns;
    let mut cmd = |account: u32, kind: CommandKind| {
        ts += 1_000_000;
        Command { account, timestamp_ns: ts, kind }
    };
    let spec = InstrumentSpec {
        id: 1,
        symbol: InstrumentSpec::symbol_from_str("BTC-USDT").unwrap(),
        base_asset: 1,
        quote_asset: 2,
        tick: 1,
        lot: 1,
        min_qty: 1,
        max_qty: 1_000,
        min_notional: 0,
        price_band_bps: 5_000,
        reference_price: 1_000,
        qty_scale: 1,
    };
    let mut v = vec![cmd(0, CommandKind::AddInstrument(spec))];
    let mut tx_id = 0;
    for a in 1..=4 {
        v.push(cmd(0, CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active })));
        for asset in [1, 2] {
            tx_id += 1;
            v.push(cmd(0, CommandKind::Deposit(Transfer { target: a, asset, amount: 10_000_000, tx_id })));
        }
    }
    let mut cid = 0u64;
    for _ in 0..n {
        let account = 1 + below(4) as u32;
        let side = if below(2) == 0 { Side::Buy } else { Side::Sell };
        let kind = match below(100) {
            65..=74 => {
                cid += 1;
                let market = below(2) == 0;
                let order = NewOrder {
                    client_order_id: cid,
                    instrument: 1,
                    side,
                    order_type: if market { OrderType::Market } else { OrderType::Limit },
                    tif: if market { TimeInForce::Ioc } else { TimeInForce::Gtc },
                    stp: StpMode::CancelTaker,
                    price: if market { 0 } else { 990 + below(21) },
                    qty: 1 + below(20),
                };
                let trigger = if below(2) == 0 { TriggerKind::StopLoss } else { TriggerKind::TakeProfit };
                CommandKind::NewStopOrder(StopOrder { order, trigger_price: 990 + below(21), trigger })
            }
            0..=64 => {
                cid += 1;
                let tif = if below(100) < 80 { TimeInForce::Gtc } else { TimeInForce::Ioc };
                CommandKind::NewOrder(NewOrder {
                    client_order_id: cid,
                    instrument: 1,
                    side,
                    order_type: OrderType::Limit,
                    tif,
                    stp: StpMode::CancelTaker,
                    price: 990 + below(21),
                    qty: 1 + below(20),
                })
            }
            75..=89 => CommandKind::Cancel(Cancel { order: OrderRef::Client(1 + below(cid.max(1))) }),
            90..=94 => {
                tx_id += 1;
                CommandKind::Deposit(Transfer {
                    target: account,
                    asset: 1 + below(2) as u32,
                    amount: 1 + below(1000),
                    tx_id,
                })
            }
            _ => {
                tx_id += 1;
                CommandKind::Withdraw(Transfer {
                    target: account,
                    asset: 1 + below(2) as u32,
                    amount: 1 + below(1000),
                    tx_id,
                })
            }
        };
        let sender = if matches!(kind, CommandKind::Deposit(_) | CommandKind::Withdraw(_)) { 0 } else { account };
        v.push(cmd(sender, kind));
    }
    v
}

/// Writes a journal into `<data_dir>/journal`: the engine-config record, then `commands`.
pub fn write_journal(data_dir: &Path, commands: &[engine::Command]) {
    write_journal_with(data_dir, &synth_config(), commands)
}

/// [`write_journal`] with engine configuration `engine_config`.
pub fn write_journal_with(data_dir: &Path, engine_config: &engine::EngineConfig, commands: &[engine::Command]) {
    let cfg = JournalConfig { create_dir: true, sync_policy: SyncPolicy::None, ..JournalConfig::default() };
    let (mut w, _) = JournalWriter::open(data_dir.join("journal"), cfg).expect("open journal");
    w.append(RECORD_ENGINE_CONFIG, &encode_engine_config(engine_config)).unwrap();
    let mut buf = [0u8; MAX_COMMAND_BYTES];
    for c in commands {
        let len = encode(c, &mut buf);
        w.append(RECORD_COMMAND, &buf[..len]).unwrap();
    }
    w.commit().unwrap();
    w.close().unwrap();
}

/// Counts and sums from SQL against the journal's events; the ledger adds up to the balances.
pub fn check_sql_invariants(db: &Db, events: &[engine::Event]) {
    use engine::EventKind as K;
    let (trades, qty) = trade_totals(events);
    assert!(trades > 0, "the flow traded");
    assert_eq!(db.int("SELECT count(*) FROM trades"), trades);
    assert_eq!(db.int("SELECT sum(qty)::bigint FROM trades"), qty);
    assert_eq!(db.int("SELECT max(trade_id) - min(trade_id) + 1 FROM trades"), trades, "no trade missing");
    assert_eq!(db.int("SELECT sum(trade_count)::bigint FROM candles"), trades);
    // Every trade fills its maker and its taker.
    assert_eq!(db.int("SELECT sum(filled_qty)::bigint FROM orders"), 2 * qty, "filled quantities");
    assert_eq!(
        db.int("SELECT count(*) FROM orders WHERE filled_qty + leaves_qty > qty OR (status = 'filled') <> (filled_qty = qty)"),
        0,
        "order quantities add up"
    );
    assert_eq!(db.int("SELECT sum(volume)::bigint FROM candles"), qty);
    let order_events = events
        .iter()
        .map(|e| match e.kind {
            K::Accepted(_) | K::Armed(_) | K::Triggered(_) | K::Cancelled(_) | K::Amended(_) => 1,
            K::Trade(_) => 2,
            _ => 0,
        })
        .sum::<i64>();
    assert_eq!(db.int("SELECT count(*) FROM order_events"), order_events);
    let count = |f: fn(&K) -> bool| events.iter().filter(|e| f(&e.kind)).count() as i64;
    assert_eq!(db.int("SELECT count(*) FROM orders"), count(|k| matches!(k, K::Accepted(_) | K::Armed(_))));
    assert_eq!(db.int("SELECT count(*) FROM balance_ledger"), count(|k| matches!(k, K::BalanceChanged(_))));
    assert_eq!(db.int("SELECT count(*) FROM rejections"), count(|k| matches!(k, K::Rejected(_))));
    assert_eq!(db.int("SELECT count(*) FROM transfers"), count(|k| matches!(k, K::TransferApplied(_))));
    // The ledger is a gapless chain per (account, asset) ending at the balance.
    assert_eq!(
        db.int(
            "SELECT count(*) FROM (SELECT available, available_delta, reserved, reserved_delta, \
             lag(available, 1, 0::bigint) OVER w AS pa, lag(reserved, 1, 0::bigint) OVER w AS pr \
             FROM balance_ledger WINDOW w AS (PARTITION BY account_id, asset_id ORDER BY seq, idx)) c \
             WHERE pa + available_delta <> available OR pr + reserved_delta <> reserved"
        ),
        0,
        "every ledger row follows the previous one"
    );
    assert_eq!(
        db.int(
            "SELECT count(*) FROM balances b LEFT JOIN (SELECT account_id, asset_id, sum(available_delta) AS a, \
             sum(reserved_delta) AS r FROM balance_ledger GROUP BY 1, 2) l USING (account_id, asset_id) \
             WHERE l.a IS DISTINCT FROM b.available OR l.r IS DISTINCT FROM b.reserved"
        ),
        0,
        "the ledger sums to the balances"
    );
}

/// The differential check of a finished projection against a replay of the journal.
pub fn check_against_replay(db: &Db, data: &std::path::Path) {
    let r = replay(data, None);
    let engine = r.engine();
    db.assert_checkpoints_at(r.last_seq, engine.state_hash());
    // Balances, both ways.
    let mut sql_balances = 0;
    for row in db.query("SELECT account_id, asset_id, available, reserved FROM balances") {
        let (a, s, av, re): (i32, i32, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!(engine.balance(a as u32, s as u32), (av as u64, re as u64), "balance of {a}/{s}");
        sql_balances += 1;
    }
    let cfg = engine.config();
    let engine_balances = (0..cfg.max_accounts)
        .filter(|&a| engine.account_exists(a))
        .flat_map(|a| (0..cfg.max_assets).map(move |s| (a, s)))
        .filter(|&(a, s)| engine.balance(a, s) != (0, 0))
        .count();
    assert_eq!(sql_balances, engine_balances);
    // Open orders.
    let mut open: Vec<(i64, i64, i64, i64)> = Vec::new();
    for id in engine.instrument_ids().collect::<Vec<_>>() {
        for side in [engine::Side::Buy, engine::Side::Sell] {
            for o in engine.book_orders(id, side) {
                open.push((o.order_id as i64, o.price as i64, o.qty as i64, o.leaves as i64));
            }
        }
    }
    open.sort_unstable();
    let sql_open: Vec<(i64, i64, i64, i64)> = db
        .query("SELECT order_id, price, qty, leaves_qty FROM orders WHERE status IN ('new', 'partially_filled') ORDER BY order_id")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(sql_open, open, "open orders");
    // Armed orders (the synthetic flows arm and fire some).
    assert!(
        r.events.iter().any(|e| matches!(e.kind, engine::EventKind::Triggered(_))),
        "the flow fired conditional orders"
    );
    let mut armed: Vec<(i64, i64, i64)> = engine
        .instrument_ids()
        .flat_map(|id| engine.armed_orders(id))
        .map(|a| (a.order.order_id as i64, a.order.price as i64, a.order.qty as i64))
        .collect();
    armed.sort_unstable();
    let sql_armed: Vec<(i64, i64, i64)> = db
        .query("SELECT order_id, price, qty FROM orders WHERE status = 'armed' ORDER BY order_id")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(sql_armed, armed, "armed orders");
    check_sql_invariants(db, &r.events);
}
