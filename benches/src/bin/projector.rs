//! The read side's projection rate: a journal of generated flow (risk mode: balances, fees,
//! trades) projected into a local PostgreSQL by the projector (`projector::run`, as the
//! `matchd-projector` binary runs it), batched, then the same flow one transaction per command
//! (what a write-per-order backend does) for the ratio. PostgreSQL runs with its default
//! settings (`fsync=on`, `synchronous_commit=on`) in a temporary cluster on this machine.
//!
//! `cargo run --release -p benches --bin projector -- [--commands N] [--baseline-commands N]
//! [--batch-records N] [--batch-ms MS] [--mix insert-heavy|exchange-core] [--seed S]`; prints
//! its figures as one JSON line last.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use benches::flow::{self, FlowGen, FlowShape, Mix};
use engine::command_codec::{encode, encode_engine_config, MAX_COMMAND_BYTES, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::EngineConfig;
use journal::{JournalConfig, JournalWriter, SyncPolicy};
use projector::metrics::Metrics;
use projector::pg_harness::Postgres;
use projector::{Batching, Options};

const USAGE: &str = "usage: projector [--commands N] [--baseline-commands N] [--batch-records N] [--batch-ms MS] \
                     [--mix insert-heavy|exchange-core] [--seed S] [--accounts N] [--pg-setting NAME=VALUE]... [--print-pg-log] \
                     [--sql STATEMENTS] [--synchronous-commit on|off] [--skip-per-command]";

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
    records: u64,
    events: u64,
    rows: u64,
    batches: u64,
    /// Per table group: current state, history.
    write_secs: [f64; 2],
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
    let started = Instant::now();
    rt.block_on(projector::run(&opts, metrics.clone(), Arc::new(AtomicBool::new(false)))).expect("projection");
    let secs = started.elapsed().as_secs_f64();
    Case {
        secs,
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
    let per_command = if a.skip_per_command {
        Case { secs: 1.0, records: 0, events: 0, rows: 0, batches: 0, write_secs: [0.0; 2] }
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
        "{{\"bench\":\"projector\",\"mix\":\"{}\",\"commands\":{},\"records\":{},\"events\":{},\"rows\":{},\"batches\":{},\"secs\":{:.3},\"events_per_sec\":{:.0},\"records_per_sec\":{:.0},\"rows_per_sec\":{:.0},\"batch_records\":{},\"batch_ms\":{},\"per_command_records\":{},\"per_command_events_per_sec\":{:.0},\"per_command_rows_per_sec\":{:.0},\"batched_over_per_command\":{:.1},\"write_secs_state\":{:.2},\"write_secs_history\":{:.2},\"postgres\":\"fsync=on {}\",\"projector_synchronous_commit\":{},\"loadavg\":\"{}\"}}",
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
        load_average()
    );
}
