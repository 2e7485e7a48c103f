//! `matchd-edge --config edge.toml`: see docs/edge.md.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// matchd's REST and WebSocket edge.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Configuration file (TOML; see docs/edge.md).
    #[arg(long)]
    config: PathBuf,
    /// Override the configuration's `listen` address.
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    let mut cfg = match edge::config::Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("matchd-edge: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("matchd-edge: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(edge::server::serve(cfg, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("matchd-edge: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
