//! `matchd`: the matching process. With no arguments it runs on 127.0.0.1
//! with the embedded default config and data in `./matchd-data`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use gateway::credential::Credential;
use matchd::config::{Config, Durability, DEFAULT_CONFIG_TOML};
use matchd::pipeline::ServerError;
use matchd::recovery::RecoveryError;

#[derive(Parser)]
#[command(name = "matchd", version, about = "LMAX-style matching engine: gateway -> journal -> matcher -> publisher")]
struct Cli {
    /// Config file (TOML). Without it the embedded default is used (`matchd print-default-config`).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Overrides `data.dir`.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Overrides `server.listen` (port 0 picks a free port; the ready line says which).
    #[arg(long, global = true)]
    listen: Option<std::net::SocketAddr>,
    /// Overrides `journal.durability` (none, batch, interval).
    #[arg(long, global = true)]
    durability: Option<String>,
    /// Overrides `pipeline.wait_strategy` (adaptive, yielding, sleeping, busy-spin).
    #[arg(long, global = true)]
    wait_strategy: Option<String>,
    /// Overrides `metrics.listen` and sets `metrics.enabled = true` (port 0 picks a free
    /// port; matchd prints `matchd metrics listen=ADDR`).
    #[arg(long, global = true)]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Overrides `market_data.listen`: an extra listener for market-data subscriptions only
    /// (port 0 picks a free port; matchd prints `matchd market-data listen=ADDR`).
    #[arg(long, global = true)]
    market_data_listen: Option<std::net::SocketAddr>,
    /// For this start only: go on although acknowledged records are lost (a corrupt journal is
    /// cut at its first damage, snapshots beyond its end are set aside), logging the loss at
    /// error level. See docs/operations.md, "Corrupt journal".
    #[arg(long, global = true)]
    accept_data_loss: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (the default).
    Run,
    /// Print the embedded default configuration.
    PrintDefaultConfig,
    /// Validate the configuration (with overrides) and exit.
    CheckConfig,
    /// Create the exchange: the data directory and its journal with the initial records (engine
    /// capacities, instruments, and in risk mode fee schedules, accounts and deposits). Run once,
    /// before the first start, when the config says `data.create = "format"`; refuses if the data
    /// directory already holds a journal. Exit status: 0 formatted, 1 failed, 2 bad config,
    /// 3 the data directory already holds a journal (nothing changed).
    Format,
    /// Print a hashed credential line for the config file.
    HashCredential {
        /// The secret (up to 32 bytes), or `-` to read it from stdin: one line, its trailing
        /// newline removed (keeps the secret out of the shell history and `ps`).
        secret: String,
    },
}

fn load(cli: &Cli) -> Result<Config, String> {
    let mut cfg = match &cli.config {
        Some(p) => Config::from_file(p).map_err(|e| e.to_string())?,
        None => Config::default_config(),
    };
    if let Some(d) = &cli.data_dir {
        cfg.data.dir = d.clone();
    }
    if let Some(l) = cli.listen {
        cfg.server.listen = l;
    }
    if let Some(d) = &cli.durability {
        cfg.journal.durability = match d.as_str() {
            "none" => Durability::None,
            "batch" => Durability::Batch,
            "interval" => Durability::Interval,
            other => return Err(format!("--durability {other:?}: must be none, batch or interval")),
        };
    }
    if let Some(w) = &cli.wait_strategy {
        cfg.pipeline.wait_strategy = w.clone();
    }
    if let Some(l) = cli.metrics_listen {
        cfg.metrics.listen = l;
        cfg.metrics.enabled = true;
    }
    if let Some(l) = cli.market_data_listen {
        cfg.market_data.listen = Some(l);
    }
    cfg.journal.accept_data_loss = cli.accept_data_loss;
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// The secret `hash-credential` hashes: the argument, or with `-` the first line of stdin
/// without its line ending.
fn read_secret(arg: &str) -> Result<String, String> {
    if arg != "-" {
        return Ok(arg.to_string());
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| format!("reading the secret from stdin: {e}"))?;
    let secret = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    Ok(secret.to_string())
}

/// The command that formats the data directory this invocation names (for error messages).
fn format_command(cli: &Cli) -> String {
    // Quoted when a shell would split it.
    let word = |s: String| if s.contains(char::is_whitespace) { format!("'{s}'") } else { s };
    let mut cmd = word(std::env::args().next().unwrap_or_else(|| "matchd".into()));
    if let Some(c) = &cli.config {
        cmd.push_str(&format!(" --config {}", word(c.display().to_string())));
    }
    if let Some(d) = &cli.data_dir {
        cmd.push_str(&format!(" --data-dir {}", word(d.display().to_string())));
    }
    cmd + " format"
}

fn format(cli: &Cli) -> ExitCode {
    let cfg = match load(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("matchd: {e}");
            return ExitCode::from(2);
        }
    };
    match matchd::format::format(&cfg) {
        Ok(f) => {
            println!("{f}");
            ExitCode::SUCCESS
        }
        // Its own code, so scripts (systemd/install.sh) can tell "already done" from a failure.
        Err(e @ matchd::format::FormatError::JournalExists { .. }) => {
            eprintln!("matchd: format: {e}");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("matchd: format: {e}");
            ExitCode::from(1)
        }
    }
}

fn random_salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    // /dev/urandom: a salt only needs to be unique, and this needs no extra crate.
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut salt);
    }
    salt
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("MATCHD_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.cmd {
        Some(Cmd::PrintDefaultConfig) => {
            print!("{DEFAULT_CONFIG_TOML}");
            ExitCode::SUCCESS
        }
        Some(Cmd::Format) => format(&cli),
        Some(Cmd::HashCredential { ref secret }) => {
            let secret = match read_secret(secret) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("matchd: {e}");
                    return ExitCode::from(2);
                }
            };
            if secret.is_empty() || secret.len() > protocol::CREDENTIAL_LEN {
                eprintln!("matchd: a secret must be 1 to {} bytes", protocol::CREDENTIAL_LEN);
                return ExitCode::from(2);
            }
            println!("credential = \"{}\"", Credential::hash(secret.as_bytes(), &random_salt()));
            ExitCode::SUCCESS
        }
        Some(Cmd::CheckConfig) => match load(&cli) {
            Ok(_) => {
                println!("config OK");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("matchd: {e}");
                ExitCode::from(2)
            }
        },
        None | Some(Cmd::Run) => {
            let cfg = match load(&cli) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("matchd: {e}");
                    return ExitCode::from(2);
                }
            };
            let stop = Arc::new(AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
                if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
                    eprintln!("matchd: cannot install signal handler: {e}");
                    return ExitCode::from(1);
                }
            }
            let result = if cfg.replication.is_some() {
                matchd::replication::replica_node::run(cfg, stop)
            } else {
                matchd::pipeline::run(cfg, stop)
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("matchd: {e}");
                    if let ServerError::Recovery(RecoveryError::NotFormatted { .. }) = e {
                        eprintln!("matchd: to create a new exchange there, run once: {}", format_command(&cli));
                    }
                    ExitCode::from(1)
                }
            }
        }
    }
}
