//! `matchd-projector`: follows matchd's journal into PostgreSQL (see `docs/read-side.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use projector::metrics::Metrics;
use projector::{Batching, Options};

/// Follows matchd's journal and writes the read side into PostgreSQL, exactly once.
#[derive(Debug, Parser)]
#[command(name = "matchd-projector", version)]
struct Args {
    /// matchd's data directory (or a replica's): its `journal/` and `snapshots/` are read, never written.
    #[arg(long)]
    data_dir: PathBuf,
    /// PostgreSQL connection string, e.g. "host=127.0.0.1 port=5432 user=matchd dbname=matchd".
    #[arg(long)]
    database: String,
    /// A batch (one transaction) is committed once it holds this many journal records.
    #[arg(long, default_value_t = 20_000)]
    batch_records: u64,
    /// ... or once it is this old, or the journal has nothing newer, when the database is free.
    #[arg(long, default_value_t = 100)]
    batch_ms: u64,
    /// Sleep between polls of a journal with nothing new.
    #[arg(long, default_value_t = 1)]
    idle_poll_ms: u64,
    /// `synchronous_commit` of the projector's sessions (off stays exactly-once; see docs/read-side.md).
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    synchronous_commit: String,
    /// Serve Prometheus metrics on this address (`GET /metrics`); port 0 picks one.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Exit once the journal's end is projected (batch jobs, benchmarks) instead of following it.
    #[arg(long)]
    exit_at_end: bool,
    /// Longest wait between reconnection attempts, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    max_backoff_ms: u64,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let opts = Options {
        data_dir: args.data_dir,
        database_url: args.database,
        batching: Batching {
            max_records: args.batch_records.max(1),
            linger: Duration::from_millis(args.batch_ms),
            idle_poll: Duration::from_millis(args.idle_poll_ms.max(1)),
            exit_at_end: args.exit_at_end,
        },
        synchronous_commit: args.synchronous_commit == "on",
        max_backoff: Duration::from_millis(args.max_backoff_ms.max(100)),
    };
    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = args.metrics_listen {
        match projector::metrics::serve(addr, metrics.clone()) {
            // Tests and scripts read the bound port from this line.
            Ok(bound) => println!("matchd-projector metrics listen={bound}"),
            Err(e) => {
                eprintln!("matchd-projector: metrics listen {addr}: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let outcome = rt.block_on(async {
        let signal_stop = stop.clone();
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            signal_stop.store(true, Ordering::Relaxed);
        });
        projector::run(&opts, metrics.clone(), stop).await
    });
    match outcome {
        Ok(()) => {
            let m = &metrics;
            println!(
                "matchd-projector done committed_seq={} records={} events={} rows={} batches={}",
                m.committed_seq.load(Ordering::Relaxed),
                m.records_total.load(Ordering::Relaxed),
                m.events_total.load(Ordering::Relaxed),
                m.rows_total.load(Ordering::Relaxed),
                m.batches_total.load(Ordering::Relaxed)
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("matchd-projector: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
