//! The read side's projection rate: a journal of generated flow (risk mode: balances, fees,
//! trades) projected into a local PostgreSQL by the projector (`projector::run`, as the
//! `matchd-projector` binary runs it), batched, then the same flow one transaction per command
//! (what a write-per-order backend does) for the ratio. PostgreSQL runs with its default
//! settings (`fsync=on`, `synchronous_commit=on`) in a temporary cluster on this machine.
//!
//! `cargo run --release -p benches --bin projector -- [--commands N] [--baseline-commands N]
//! [--batch-records N] [--batch-ms MS] [--mix insert-heavy|exchange-core] [--seed S]`; prints
//! its figures as one JSON line last.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::flow::{self, FlowGen, FlowShape, Mix};
use benches::proc_cpu::Sampler;
use engine::command_codec::{encode, encode_engine_config, MAX_COMMAND_BYTES, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::EngineConfig;
use journal::{JournalConfig, JournalWriter, SyncPolicy};
use projector::metrics::Metrics;
use projector::pg_harness::Postgres;
use projector::{Batching, Options};

const USAGE: &str = "usage: projector [--commands N] [--baseline-commands N] [--batch-records N] [--batch-ms MS] \
                     [--mix insert-heavy|exchange-core] [--seed S] [--accounts N] [--pg-setting NAME=VALUE]... [--print-pg-log] \
                     [--sql STATEMENTS] [--synchronous-commit on|off] [--skip-per-command] [--table-stats]";

struct Args {
    commands: u64,
    baseline_commands: u64,
    batch_records: u64,
    batch_ms: u64,
    mix: Mix,
    seed: u64,
    accounts: u32,
    pg_settings: Vec<String>,
    keep_log: bool,
    /// Run after the migrations, before projecting (try a schema variant: `DROP INDEX ...`).
    sql: String,
    synchronous_commit: bool,
    skip_per_command: bool,
    /// Print each table's rows and sizes after the batched run.
    table_stats: bool,
}

fn args() -> Args {
    let mut a = Args {
        commands: 1_000_000,
        baseline_commands: 20_000,
        batch_records: 20_000,
        batch_ms: 100,
        mix: flow::INSERT_HEAVY,
        seed: 7,
        accounts: 1_000,
        pg_settings: Vec::new(),
        keep_log: false,
        sql: String::new(),
        synchronous_commit: true,
        skip_per_command: false,
        table_stats: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        let mut num = || it.next().and_then(|v| v.parse::<u64>().ok()).expect(USAGE);
        match s.as_str() {
            "--commands" => a.commands = num(),
            "--baseline-commands" => a.baseline_commands = num(),
            "--batch-records" => a.batch_records = num(),
            "--batch-ms" => a.batch_ms = num(),
            "--seed" => a.seed = num(),
            "--accounts" => a.accounts = num() as u32,
            "--mix" => {
                a.mix = match it.next().as_deref() {
                    Some("insert-heavy") => flow::INSERT_HEAVY,
                    Some("exchange-core") => flow::EXCHANGE_CORE,
                    _ => panic!("{USAGE}"),
                }
            }
            "--pg-setting" => a.pg_settings.push(it.next().expect(USAGE)),
            "--print-pg-log" => a.keep_log = true,
            "--sql" => a.sql = it.next().expect(USAGE),
            "--synchronous-commit" => a.synchronous_commit = it.next().expect(USAGE) == "on",
            "--skip-per-command" => a.skip_per_command = true,
            "--table-stats" => a.table_stats = true,
            "--bench" => {}
            other => panic!("unknown argument {other}; {USAGE}"),
        }
    }
    a
}

/// Risk mode (balances, fees, the ledger), sized for the flow.
fn config() -> EngineConfig {
    EngineConfig {
        max_orders: 1 << 18,
        max_instruments: 64,
        max_accounts: 4096,
        max_open_orders_per_account: 10_000,
        risk_checks: true,
        ..EngineConfig::default()
    }
}

/// Writes `<data_dir>/journal`: the engine config, the flow's setup, then `n` commands stamped
/// 10 µs apart (100,000 commands per second of gateway time: realistic candles).
fn write_journal(data_dir: &Path, n: u64, a: &Args) -> u64 {
    let jcfg = JournalConfig { create_dir: true, sync_policy: SyncPolicy::None, ..JournalConfig::default() };
    let (mut w, _) = JournalWriter::open(data_dir.join("journal"), jcfg).expect("open journal");
    w.append(RECORD_ENGINE_CONFIG, &encode_engine_config(&config())).expect("append config");
    let shape = FlowShape { accounts: a.accounts, ..flow::EXCHANGE_CORE_SHAPE };
    let mut g = FlowGen::new(a.seed, shape, config());
    let mut buf = [0u8; MAX_COMMAND_BYTES];
    let t0 = 1_767_225_600_000_000_000u64;
    let mut i = 0u64;
    let mut put = |mut c: engine::Command, w: &mut JournalWriter| {
        i += 1;
        c.timestamp_ns = t0 + i * 10_000;
        let len = encode(&c, &mut buf);
        w.append(RECORD_COMMAND, &buf[..len]).expect("append");
        if i.is_multiple_of(4096) {
            w.commit().expect("commit");
        }
    };
    for c in g.setup_commands() {
        put(c, &mut w);
    }
    for _ in 0..n {
        let c = g.next(&a.mix);
        put(c, &mut w);
    }
    w.commit().expect("commit");
    w.close().expect("close")
}

struct Case {
    secs: f64,
    /// CPU seconds: the projector's threads, PostgreSQL's processes (all of them), and each
    /// of the projector's sessions' backends by `application_name` (largest first).
    cpu: Cpu,
    records: u64,
    events: u64,
    rows: u64,
    batches: u64,
    /// Per table group: current state, history.
    write_secs: [f64; 2],
}

/// Where the CPU went during one projection.
#[derive(Default)]
struct Cpu {
    projector_secs: f64,
    postgres_secs: f64,
    /// (who, CPU seconds): the projector's threads by name, PostgreSQL's busiest processes (a
    /// session's backend by its `application_name`).
    top: Vec<(String, f64)>,
    /// WAL written, bytes.
    wal_bytes: u64,
}

/// `application_name` of each backend of database `db`, polled while the projection runs (the
/// backends are gone when it ends).
fn watch_backends(url: String, db: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<HashMap<u32, String>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let mut names = HashMap::new();
            let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await else { return names };
            tokio::spawn(conn);
            while !stop.load(Relaxed) {
                let q =
                    "SELECT pid, application_name FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()";
                if let Ok(rows) = client.query(q, &[&db]).await {
                    for r in rows {
                        let (pid, name): (i32, String) = (r.get(0), r.get(1));
                        names.insert(pid as u32, name);
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            names
        })
    })
}

/// The server's current WAL position, in bytes.
fn wal_lsn(rt: &tokio::runtime::Runtime, url: &str) -> u64 {
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        let row =
            client.query_one("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint", &[]).await.expect("lsn");
        row.get::<_, i64>(0) as u64
    })
}

/// Per table: rows inserted, updated (of which heap-only), heap and index size; then the total.
fn table_stats(rt: &tokio::runtime::Runtime, url: &str) -> String {
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        let q =
            "SELECT relname::text, n_tup_ins, n_tup_upd, n_tup_hot_upd, pg_table_size(relid), pg_indexes_size(relid) \
                 FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC";
        let rows = client.query(q, &[]).await.expect("table stats");
        let mut out = String::from("table: inserted, updated (heap-only), heap MB, indexes MB\n");
        for r in rows {
            let (name, ins, upd, hot, heap, idx): (String, i64, i64, i64, i64, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5));
            let mb = |b: i64| b as f64 / 1048576.0;
            out += &format!("  {name}: {ins}, {upd} ({hot}), {:.1}, {:.1}\n", mb(heap), mb(idx));
        }
        out
    })
}

/// Projects `data_dir` into a new database `db` to the journal's end.
fn project(pg: &Postgres, db: &str, data_dir: &Path, batching: Batching, a: &Args) -> Case {
    pg.create_database(db);
    let opts = Options {
        data_dir: data_dir.to_path_buf(),
        database_url: pg.url(db),
        batching,
        synchronous_commit: a.synchronous_commit,
        max_backoff: Duration::from_secs(1),
    };
    let metrics = Arc::new(Metrics::default());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    if !a.sql.is_empty() {
        rt.block_on(async {
            let (mut client, conn) =
                tokio_postgres::connect(&opts.database_url, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(conn);
            projector::schema::migrate(&mut client).await.expect("migrate");
            client.batch_execute(&a.sql).await.expect("--sql");
        });
    }
    let wal_before = wal_lsn(&rt, &opts.database_url);
    let watching = Arc::new(AtomicBool::new(false));
    let names = watch_backends(opts.database_url.clone(), db.to_string(), watching.clone());
    let sampler = Sampler::start(pg.pid());
    let started = Instant::now();
    rt.block_on(projector::run(&opts, metrics.clone(), Arc::new(AtomicBool::new(false)))).expect("projection");
    let secs = started.elapsed().as_secs_f64();
    let usage = sampler.finish();
    watching.store(true, Relaxed);
    let names = names.join().unwrap_or_default();
    let wal_bytes = wal_lsn(&rt, &opts.database_url) - wal_before;
    if a.table_stats {
        eprint!("{db}: {}", table_stats(&rt, &opts.database_url));
    }
    let mut top: Vec<(String, f64)> =
        usage.threads.iter().map(|u| (format!("projector thread {}", u.name), u.cpu_secs)).collect();
    for u in usage.children.iter().take(6) {
        let who = names.get(&u.id).filter(|n| !n.is_empty()).cloned().unwrap_or_else(|| u.name.clone());
        top.push((format!("postgres {who}"), u.cpu_secs));
    }
    top.sort_by(|x, y| y.1.total_cmp(&x.1));
    let cpu = Cpu { projector_secs: usage.own_secs(), postgres_secs: usage.tree_secs(), top, wal_bytes };
    Case {
        secs,
        cpu,
        records: metrics.records_total.load(Relaxed),
        events: metrics.events_total.load(Relaxed),
        rows: metrics.rows_total.load(Relaxed),
        batches: metrics.batches_total.load(Relaxed),
        write_secs: metrics.write_micros_total.each_ref().map(|m| m.load(Relaxed) as f64 / 1e6),
    }
}

/// The 1, 5 and 15 minute load averages (a busy machine measures less).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let a = args();
    let tmp = tempfile::tempdir().expect("temp dir");
    let (full, small) = (tmp.path().join("full"), tmp.path().join("small"));
    let t = Instant::now();
    let last = write_journal(&full, a.commands, &a);
    write_journal(&small, a.baseline_commands, &a);
    eprintln!("projector bench: journals written ({last} records) in {:.1} s", t.elapsed().as_secs_f64());
    let settings: Vec<&str> = a.pg_settings.iter().map(|s| s.as_str()).collect();
    let pg = Postgres::start_with(&settings);
    pg.stop_on_panic();
    let batched = Batching {
        max_records: a.batch_records,
        linger: Duration::from_millis(a.batch_ms),
        idle_poll: Duration::from_millis(1),
        exit_at_end: true,
    };
    let b = project(&pg, "batched", &full, batched, &a);
    eprintln!(
        "batched: {} records, {} events, {} rows in {} batches, {:.2} s (writing: state {:.2} s, history {:.2} s): {:.0} events/s",
        b.records,
        b.events,
        b.rows,
        b.batches,
        b.secs,
        b.write_secs[0],
        b.write_secs[1],
        b.events as f64 / b.secs
    );
    eprintln!(
        "batched CPU: projector {:.1} s, PostgreSQL {:.1} s ({:.2} cores of {:.1} s; {:.2} µs per event); WAL {:.0} MB ({:.0} bytes per row)",
        b.cpu.projector_secs,
        b.cpu.postgres_secs,
        (b.cpu.projector_secs + b.cpu.postgres_secs) / b.secs,
        b.secs,
        (b.cpu.projector_secs + b.cpu.postgres_secs) * 1e6 / b.events.max(1) as f64,
        b.cpu.wal_bytes as f64 / 1048576.0,
        b.cpu.wal_bytes as f64 / b.rows.max(1) as f64
    );
    for (who, secs) in &b.cpu.top {
        eprintln!("  {secs:6.1} s  {who}");
    }
    let per_command = if a.skip_per_command {
        Case { secs: 1.0, cpu: Cpu::default(), records: 0, events: 0, rows: 0, batches: 0, write_secs: [0.0; 2] }
    } else {
        project(&pg, "per_command", &small, Batching { max_records: 1, ..batched }, &a)
    };
    eprintln!(
        "one transaction per command: {} records, {} events, {:.2} s: {:.0} events/s",
        per_command.records,
        per_command.events,
        per_command.secs,
        per_command.events as f64 / per_command.secs
    );
    if a.keep_log {
        eprintln!("{}", pg.log());
    }
    let rate = |c: &Case, n: u64| n as f64 / c.secs;
    println!(
        "{{\"bench\":\"projector\",\"mix\":\"{}\",\"commands\":{},\"records\":{},\"events\":{},\"rows\":{},\"batches\":{},\"secs\":{:.3},\"events_per_sec\":{:.0},\"records_per_sec\":{:.0},\"rows_per_sec\":{:.0},\"batch_records\":{},\"batch_ms\":{},\"per_command_records\":{},\"per_command_events_per_sec\":{:.0},\"per_command_rows_per_sec\":{:.0},\"batched_over_per_command\":{:.1},\"write_secs_state\":{:.2},\"write_secs_history\":{:.2},\"postgres\":\"fsync=on {}\",\"projector_synchronous_commit\":{},\"cpu_secs_projector\":{:.1},\"cpu_secs_postgres\":{:.1},\"wal_bytes\":{},\"loadavg\":\"{}\"}}",
        a.mix.name,
        a.commands,
        b.records,
        b.events,
        b.rows,
        b.batches,
        b.secs,
        rate(&b, b.events),
        rate(&b, b.records),
        rate(&b, b.rows),
        a.batch_records,
        a.batch_ms,
        per_command.records,
        rate(&per_command, per_command.events),
        rate(&per_command, per_command.rows),
        rate(&b, b.events) / rate(&per_command, per_command.events).max(1.0),
        b.write_secs[0],
        b.write_secs[1],
        a.pg_settings.join(" "),
        a.synchronous_commit,
        b.cpu.projector_secs,
        b.cpu.postgres_secs,
        b.cpu.wal_bytes,
        load_average()
    );
}
