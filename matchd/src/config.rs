//! matchd's configuration: one TOML file (or the embedded default), every
//! key known (unknown keys are errors), every value validated at startup
//! with a precise message.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use gateway::credential::{Credential, CredentialError};
use serde::Deserialize;

/// The gateway's sections are its own types, re-exported so the whole config reads from here.
pub use gateway::login::Role;
pub use gateway::server_config::ServerConfig;

pub use crate::replication::settings::{AckMode, ReplicationConfig};

/// The embedded default configuration (`matchd print-default-config`).
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default_config.toml");

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// TOML syntax, unknown key or wrong type (the message names the key and line).
    #[error("config {origin}: {message}")]
    Parse {
        /// File name or "embedded default".
        origin: String,
        /// What the parser said.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("config: `{key}` {problem}")]
    Invalid {
        /// Dotted key.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The TLS certificate or key cannot be used (the message names the key and the file).
    #[error("config: {0}")]
    Tls(Box<gateway::tls_config::TlsSetupError>),
    /// A credential entry is malformed.
    #[error("config: account `{account}`: {source}")]
    Credential {
        /// Account name.
        account: String,
        /// What is wrong.
        source: CredentialError,
    },
}

// Boxed: the TLS error is large, and every `Result` carrying this enum would pay for it.
impl From<gateway::tls_config::TlsSetupError> for ConfigError {
    fn from(e: gateway::tls_config::TlsSetupError) -> Self {
        ConfigError::Tls(Box::new(e))
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Network and sessions.
    pub server: ServerConfig,
    /// Where data lives.
    pub data: DataConfig,
    /// Journal.
    pub journal: JournalConfig,
    /// Threads and rings.
    pub pipeline: PipelineConfig,
    /// Engine capacities.
    pub engine: EngineSection,
    /// Metrics endpoint and periodic statistics log (optional section: defaults below).
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Public market-data feed (optional section: defaults below).
    #[serde(default)]
    pub market_data: MarketDataConfig,
    /// Snapshots of the engine state (optional section: defaults below).
    #[serde(default)]
    pub snapshots: SnapshotConfig,
    /// Instruments entered on first start.
    #[serde(default)]
    pub instruments: Vec<InstrumentConfig>,
    /// Accounts and their credentials.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// A replica set (`docs/replication.md`); absent: this node runs alone.
    #[serde(default)]
    pub replication: Option<ReplicationConfig>,
}

/// `[data]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Data directory.
    pub dir: PathBuf,
    /// Who creates the exchange in a data directory without a journal. Absent: `format`.
    #[serde(default)]
    pub create: DataCreate,
}

/// `data.create`: whether a start may create a new exchange.
///
/// A start on an empty or mistyped data directory would otherwise open a brand-new exchange
/// (with the config's deposits) instead of the one the operator meant, and report success. So
/// unless a config says `auto`, only `matchd format` creates one, and a start without a journal
/// fails naming the directory. The embedded default (a laptop, tests) says `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataCreate {
    /// A start on a data directory without a journal formats it first (development).
    Auto,
    /// Only `matchd format` creates the journal; a start without one fails (production).
    #[default]
    Format,
}

/// Durability policy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// Page cache only.
    None,
    /// Sync after every batch.
    Batch,
    /// Sync at most every `interval_ms`.
    Interval,
}

/// `[journal]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalConfig {
    /// Segment file size.
    pub segment_bytes: u64,
    /// Policy.
    pub durability: Durability,
    /// For `interval`.
    pub interval_ms: u64,
    /// Set by the one-shot `--accept-data-loss` flag, never by the file: this start may cut a
    /// corrupt journal and set aside snapshots beyond its end (see `journal_guard`).
    #[serde(skip)]
    pub accept_data_loss: bool,
}

/// `[pipeline]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Input ring slots.
    pub input_ring_slots: u32,
    /// Output ring slots.
    pub output_ring_slots: u32,
    /// Wait strategy name.
    pub wait_strategy: String,
    /// Thread name -> core id.
    #[serde(default)]
    pub pin: BTreeMap<String, usize>,
}

/// `[snapshots]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotConfig {
    /// Take a snapshot at a clean shutdown, so the next start replays nothing.
    pub on_shutdown: bool,
    /// Also take one every this many commands (0 = only at shutdown and on SIGUSR1).
    pub every_commands: u64,
    /// And every this many seconds if any command arrived since the last one (0 = off): a
    /// quiet market still gets regular restart points. The time only decides when to ask;
    /// what is written depends on the journal alone.
    pub every_seconds: u64,
    /// Snapshots kept in `<data>/snapshots` (older ones are deleted; journal segments never are).
    pub keep: u32,
    /// Newest reports per account saved with a snapshot, so clients can still resume from a
    /// sequence at most this far behind after a restart from it. Equal to
    /// `server.retransmit_messages_per_account` by default, so a restart from a snapshot keeps
    /// the same resend window as a full replay (only reports that exist are written).
    pub reports_per_account: u32,
    /// How the matcher hands its state over while running: `fork` (the default: a child
    /// process writes it from a copy-on-write view; the matcher pauses for `fork()` only) or
    /// `copy` (the matcher copies the state into a buffer another thread writes; no second
    /// process, but the pause grows with the book: ~40 ms per million resting orders).
    pub method: SnapshotMethod,
    /// A snapshot child still running after this many seconds is killed (and the snapshot
    /// skipped): a stuck child must not hold memory or the next snapshot for ever.
    pub child_timeout_s: u64,
}

/// `snapshots.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotMethod {
    /// A forked child writes the state (Redis's way).
    Fork,
    /// The matcher copies the state for the writer thread.
    Copy,
}

impl Default for SnapshotConfig {
    /// The values the embedded default config documents.
    fn default() -> Self {
        Self {
            on_shutdown: true,
            every_commands: 10_000_000,
            every_seconds: 3600,
            keep: 3,
            reports_per_account: 100_000,
            method: SnapshotMethod::Fork,
            child_timeout_s: 600,
        }
    }
}

/// `[metrics]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `GET /metrics` (Prometheus text format) and `GET /healthz`.
    pub enabled: bool,
    /// Metrics listen address (port 0 picks a free port; matchd prints it).
    pub listen: SocketAddr,
    /// Seconds between INFO statistics lines in the log; 0 = never.
    pub log_interval_s: u64,
}

impl Default for MetricsConfig {
    /// The values the embedded default config documents.
    fn default() -> Self {
        Self { enabled: true, listen: SocketAddr::from(([127, 0, 0, 1], 9101)), log_interval_s: 10 }
    }
}

/// `[market_data]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketDataConfig {
    /// An extra listener that only takes market-data subscriptions (no logins). Absent: the feed
    /// is served on `server.listen` only, to connections that send `MdSubscribe` instead of
    /// `Login`. Port 0 picks a free port; matchd prints `matchd market-data listen=ADDR`.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// The same, over TLS (with `server.tls_cert_chain_path` and `server.tls_private_key_path`).
    /// matchd prints `matchd market-data-tls listen=ADDR`.
    #[serde(default)]
    pub tls_listen: Option<SocketAddr>,
    /// Subscribers at once (each also counts against `server.max_connections`); 0 = no feed.
    pub max_subscribers: u32,
    /// Per-subscriber outbound buffer; a subscriber that lets it fill is cut off (slow consumer)
    /// and resyncs by snapshot after reconnecting.
    pub outbound_buffer_bytes: u32,
    /// Most price levels per side a snapshot carries.
    pub snapshot_depth_max: u32,
    /// Offer order-by-order messages (and order snapshots) to subscribers that ask; off, the
    /// publisher keeps no per-order mirror.
    pub order_by_order: bool,
}

impl Default for MarketDataConfig {
    /// The values the embedded default config documents.
    fn default() -> Self {
        Self {
            listen: None,
            tls_listen: None,
            max_subscribers: 64,
            outbound_buffer_bytes: 4 << 20,
            snapshot_depth_max: 5000,
            order_by_order: true,
        }
    }
}

/// `[engine]`
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    /// See [`engine::EngineConfig`].
    pub max_orders: u32,
    /// See [`engine::EngineConfig`].
    pub max_instruments: u32,
    /// See [`engine::EngineConfig`].
    pub max_accounts: u32,
    /// See [`engine::EngineConfig`].
    pub max_open_orders_per_account: u32,
    /// See [`engine::EngineConfig`]: accounts, balances, fees.
    pub risk_checks: bool,
    /// See [`engine::EngineConfig`].
    pub max_assets: u32,
    /// See [`engine::EngineConfig`].
    pub fee_account: u32,
    /// See [`engine::EngineConfig`].
    pub max_transactions: u32,
    /// Perpetual futures (risk mode): the insurance fund's account, created with the engine like
    /// the fee account; absent: no perpetual can be added. Fixed when the journal is formatted.
    #[serde(default)]
    pub insurance_account: Option<u32>,
    /// Perpetual futures: the only account whose session may send mark prices and funding;
    /// absent: none may. Fixed when the journal is formatted.
    #[serde(default)]
    pub oracle_account: Option<u32>,
}

/// `[[instruments]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentConfig {
    /// Numeric id.
    pub id: u32,
    /// Symbol.
    pub symbol: String,
    /// Base asset id.
    pub base_asset: u32,
    /// Quote asset id.
    pub quote_asset: u32,
    /// Price tick.
    pub tick: u64,
    /// Quantity lot.
    pub lot: u64,
    /// Minimum quantity.
    pub min_qty: u64,
    /// Maximum quantity.
    pub max_qty: u64,
    /// Minimum notional.
    pub min_notional: u64,
    /// Price band.
    pub price_band_bps: u32,
    /// Initial reference price.
    pub reference_price: u64,
    /// Notional scale.
    pub qty_scale: u64,
    /// Risk mode: tier-0 maker fee rate, millionths of the notional (negative = rebate). With
    /// `taker_fee_ppm`, a `SetFeeSchedule` on the first start; a missing one of the two is 0.
    #[serde(default)]
    pub maker_fee_ppm: Option<i32>,
    /// Risk mode: tier-0 taker fee rate, millionths of the notional.
    #[serde(default)]
    pub taker_fee_ppm: Option<i32>,
}

impl InstrumentConfig {
    /// The tier-0 fee schedule to enter on the first start, if the instrument sets fees.
    pub fn fee_schedule(&self) -> Option<engine::SetFeeSchedule> {
        if self.maker_fee_ppm.is_none() && self.taker_fee_ppm.is_none() {
            return None;
        }
        Some(engine::SetFeeSchedule {
            instrument: self.id,
            tier: 0,
            maker_ppm: self.maker_fee_ppm.unwrap_or(0),
            taker_ppm: self.taker_fee_ppm.unwrap_or(0),
        })
    }
}

/// `[[accounts]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Account id (dense, below `engine.max_accounts`).
    pub id: u32,
    /// Name for logs.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Hashed credential (`matchd hash-credential`).
    pub credential: String,
    /// Risk mode: fee tier the account is created with (`< 8`).
    #[serde(default)]
    pub tier: u8,
    /// Risk mode: deposits made on the first start.
    #[serde(default)]
    pub deposits: Vec<DepositConfig>,
}

/// `[[accounts]] deposits = [{ asset = 1, amount = 100 }]`: an initial balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositConfig {
    /// Asset id (`< engine.max_assets`).
    pub asset: u32,
    /// Amount in the asset's minor units (`> 0`).
    pub amount: u64,
}

/// Transaction ids of the deposits entered from the configuration by `matchd format`:
/// `INITIAL_DEPOSIT_TX_BASE + i`, `i` counting every configured deposit from 0 in file order
/// (accounts in order, each account's deposits in order). External transfers should not use ids
/// from this value up.
pub const INITIAL_DEPOSIT_TX_BASE: u64 = 0xFFFF_0000_0000_0000;

/// Transaction ids of the deposits of an account the configuration adds after the format
/// (entered when matchd creates the account at a start): `LATER_DEPOSIT_TX_BASE + account *
/// 2^16 + j`, `j` the deposit's index in the account's `deposits`. An account is created once, so
/// its ids never repeat, and they lie above every format-time id (there are fewer than 2^40).
pub const LATER_DEPOSIT_TX_BASE: u64 = INITIAL_DEPOSIT_TX_BASE + (1 << 40);

/// The transaction id of deposit `index` of `account` created after the format.
pub fn later_deposit_tx_id(account: u32, index: usize) -> u64 {
    debug_assert!(index < MAX_DEPOSITS_PER_ACCOUNT);
    LATER_DEPOSIT_TX_BASE + ((account as u64) << 16) + index as u64
}

/// Pipeline thread names that may be pinned.
pub const PINNABLE_THREADS: [&str; 5] = ["gateway", "journaller", "matcher", "publisher", "tls"];

/// Longest login or heartbeat timeout accepted (one hour): deadlines are added to the clock.
const MAX_TIMEOUT_MS: u64 = 3_600_000;

/// Core ids a thread can be pinned to: a Linux CPU set holds 1024 CPUs.
const MAX_CORE_ID: usize = 1024;

/// Deposits one `[[accounts]]` entry may list: the index of each is part of its transaction id
/// when the account is created after the format ([`LATER_DEPOSIT_TX_BASE`]).
pub const MAX_DEPOSITS_PER_ACCOUNT: usize = 1 << 16;

fn invalid(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), problem: problem.into() }
}

/// `key`'s value must lie within `min..=max`; `note` follows the range in the message.
fn in_range(key: &str, value: u64, min: u64, max: u64, note: &str) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(key, format!("is {value}, must be within {min}..={max}{note}")))
    }
}

/// A tier-0 fee schedule from `[[instruments]]`; `key` makes the dotted key of a field.
fn validate_fees(key: &dyn Fn(&str) -> String, f: engine::SetFeeSchedule) -> Result<(), ConfigError> {
    let ppm = engine::PPM as i32;
    if !(0..ppm).contains(&f.taker_ppm) {
        return Err(invalid(
            &key("taker_fee_ppm"),
            format!("is {}, must be within 0..=999999 (millionths)", f.taker_ppm),
        ));
    }
    if f.maker_ppm <= -ppm || f.maker_ppm > f.taker_ppm {
        return Err(invalid(
            &key("maker_fee_ppm"),
            format!("is {}, must be within -999999..=taker_fee_ppm ({}; negative = rebate)", f.maker_ppm, f.taker_ppm),
        ));
    }
    Ok(())
}

impl Config {
    /// The embedded default.
    pub fn default_config() -> Config {
        Self::from_toml(DEFAULT_CONFIG_TOML, "embedded default").expect("the embedded default config is valid")
    }

    /// Reads and validates a file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let cfg: Config =
            toml::from_str(text).map_err(|e| ConfigError::Parse { origin: origin.into(), message: e.to_string() })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value; call again after applying CLI overrides. Each problem is reported
    /// with its dotted key (`instruments[1].tick`), so an operator can find the line.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_server()?;
        self.validate_data_and_journal()?;
        self.validate_pipeline()?;
        self.validate_snapshots()?;
        self.validate_metrics_and_market_data()?;
        self.validate_engine()?;
        self.validate_instruments()?;
        self.validate_accounts()?;
        self.validate_replication()
    }

    fn validate_replication(&self) -> Result<(), ConfigError> {
        let Some(r) = &self.replication else { return Ok(()) };
        r.validate().map_err(|(key, problem)| invalid(&key, problem))?;
        // A follower takes a whole `Records` frame at once.
        let need = crate::replication::wire::MAX_RECORDS_PER_FRAME as u32 * 2;
        if self.pipeline.input_ring_slots < need {
            return Err(invalid(
                "pipeline.input_ring_slots",
                format!("is {}: a replica set needs at least {need}", self.pipeline.input_ring_slots),
            ));
        }
        Ok(())
    }

    fn validate_server(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        // The gateway sizes its control queues from it; beyond the unit's LimitNOFILE it is a typo.
        in_range("server.max_connections", s.max_connections as u64, 1, 1 << 20, "")?;
        // Deadlines are added to `Instant::now()`: an absurd value would overflow it.
        in_range("server.login_timeout_ms", s.login_timeout_ms, 1, MAX_TIMEOUT_MS, "")?;
        in_range("server.heartbeat_timeout_ms", s.heartbeat_timeout_ms, 1000, MAX_TIMEOUT_MS, "")?;
        in_range(
            "server.max_frame_bytes",
            s.max_frame_bytes as u64,
            128,
            65_535,
            " (the largest v1 message is 114 bytes)",
        )?;
        in_range("server.max_messages_per_sec", s.max_messages_per_sec as u64, 1, u32::MAX as u64, "")?;
        in_range("server.outbound_buffer_bytes", s.outbound_buffer_bytes as u64, 65_536, 1 << 30, "")?;
        if let Err((key, why)) = s.validate_login_limits() {
            return Err(invalid(key, why));
        }
        // Each account that gets a report holds this many 128-byte slots.
        in_range(
            "server.retransmit_messages_per_account",
            s.retransmit_messages_per_account as u64,
            1,
            1 << 24,
            " (128 bytes each, per account with reports)",
        )
    }

    fn validate_data_and_journal(&self) -> Result<(), ConfigError> {
        if self.data.dir.as_os_str().is_empty() {
            return Err(invalid("data.dir", "is empty: name the directory for the journal and snapshots"));
        }
        let j = &self.journal;
        // The journal's own rule, so a value accepted here is never refused when the journal opens.
        if let Err(rule) = journal::config::validate_segment_size(j.segment_bytes) {
            return Err(invalid("journal.segment_bytes", format!("is {}: {rule}", j.segment_bytes)));
        }
        if j.durability == Durability::Interval {
            in_range("journal.interval_ms", j.interval_ms, 1, 60_000, " with durability = \"interval\"")?;
        }
        Ok(())
    }

    fn validate_pipeline(&self) -> Result<(), ConfigError> {
        let p = &self.pipeline;
        for (key, v) in
            [("pipeline.input_ring_slots", p.input_ring_slots), ("pipeline.output_ring_slots", p.output_ring_slots)]
        {
            if !v.is_power_of_two() || !(64..=(1 << 24)).contains(&v) {
                return Err(invalid(key, format!("is {v}, must be a power of two within 64..=16777216")));
            }
        }
        if !["adaptive", "yielding", "sleeping", "busy-spin"].contains(&p.wait_strategy.as_str()) {
            return Err(invalid(
                "pipeline.wait_strategy",
                format!("is {:?}, must be one of adaptive, yielding, sleeping, busy-spin", p.wait_strategy),
            ));
        }
        let mut cores = BTreeMap::new();
        for (name, &core) in &p.pin {
            let key = format!("pipeline.pin.{name}");
            if !PINNABLE_THREADS.contains(&name.as_str()) {
                return Err(invalid(&key, format!("unknown thread; pinnable: {PINNABLE_THREADS:?}")));
            }
            // A CPU set holds 1024 CPUs; a larger id cannot be pinned to.
            if core >= MAX_CORE_ID {
                return Err(invalid(&key, format!("is core {core}, must be below {MAX_CORE_ID}")));
            }
            // Two spinning threads on one core take turns at the scheduler's pace.
            if let Some(other) = cores.insert(core, name) {
                if p.wait_strategy == "busy-spin" {
                    return Err(invalid(
                        &key,
                        format!(
                            "is core {core}, like pipeline.pin.{other}: with wait_strategy = \"busy-spin\" each \
                             pinned thread needs a core of its own"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_snapshots(&self) -> Result<(), ConfigError> {
        let s = &self.snapshots;
        if s.keep == 0 {
            return Err(invalid("snapshots.keep", "must be at least 1"));
        }
        in_range("snapshots.child_timeout_s", s.child_timeout_s, 1, 86_400, "")?;
        in_range("snapshots.every_seconds", s.every_seconds, 0, 365 * 86_400, " (0 = off)")
    }

    fn validate_metrics_and_market_data(&self) -> Result<(), ConfigError> {
        let m = &self.metrics;
        if m.enabled && m.listen.port() != 0 && m.listen == self.server.listen {
            return Err(invalid("metrics.listen", format!("is {}, the same address as server.listen", m.listen)));
        }
        in_range("metrics.log_interval_s", m.log_interval_s, 0, 86_400, " (0 = never)")?;
        let md = &self.market_data;
        in_range("market_data.outbound_buffer_bytes", md.outbound_buffer_bytes as u64, 65_536, 1 << 30, "")?;
        in_range("market_data.snapshot_depth_max", md.snapshot_depth_max as u64, 1, 1_000_000, "")?;
        if let Some(l) = md.listen {
            if l.port() != 0 && (l == self.server.listen || (m.enabled && l == m.listen)) {
                return Err(invalid(
                    "market_data.listen",
                    format!("is {l}, the same address as server.listen or metrics.listen"),
                ));
            }
            if md.max_subscribers == 0 {
                return Err(invalid(
                    "market_data.listen",
                    format!("is {l}, but market_data.max_subscribers = 0 turns the feed off: remove one of the two"),
                ));
            }
        }
        self.validate_tls()?;
        Ok(())
    }

    fn validate_engine(&self) -> Result<(), ConfigError> {
        let e = &self.engine;
        in_range("engine.max_orders", e.max_orders as u64, 1, (1 << 31) - 2, "")?;
        in_range("engine.max_instruments", e.max_instruments as u64, 1, 1 << 24, "")?;
        in_range("engine.max_accounts", e.max_accounts as u64, 1, 1 << 24, "")?;
        in_range("engine.max_open_orders_per_account", e.max_open_orders_per_account as u64, 1, u32::MAX as u64, "")?;
        in_range("engine.max_assets", e.max_assets as u64, 1, 4096, "")?;
        if e.fee_account >= e.max_accounts {
            return Err(invalid("engine.fee_account", format!("{} must be below engine.max_accounts", e.fee_account)));
        }
        in_range("engine.max_transactions", e.max_transactions as u64, 1, u32::MAX as u64, "")?;
        self.validate_futures_accounts()
    }

    /// `engine.insurance_account` and `engine.oracle_account`: accounts (below `max_accounts`)
    /// distinct from the fee account and from each other, as the engine's config record requires.
    fn validate_futures_accounts(&self) -> Result<(), ConfigError> {
        let e = &self.engine;
        for (field, account) in
            [("engine.insurance_account", e.insurance_account), ("engine.oracle_account", e.oracle_account)]
        {
            let Some(a) = account else { continue };
            if a >= e.max_accounts {
                return Err(invalid(field, format!("{a} must be below engine.max_accounts")));
            }
            if a == e.fee_account {
                return Err(invalid(field, format!("{a} is engine.fee_account")));
            }
        }
        if let Some(a) = e.insurance_account {
            if !e.risk_checks {
                return Err(invalid("engine.insurance_account", "needs engine.risk_checks = true (it holds money)"));
            }
            if e.oracle_account == Some(a) {
                return Err(invalid("engine.oracle_account", format!("{a} is engine.insurance_account")));
            }
        }
        Ok(())
    }

    /// The checks the engine applies to `AddInstrument` (so a config it would reject never
    /// passes `check-config`), and unique ids and symbols.
    fn validate_instruments(&self) -> Result<(), ConfigError> {
        let e = &self.engine;
        let mut seen_id = std::collections::BTreeSet::new();
        let mut seen_symbol = BTreeMap::new();
        for (i, inst) in self.instruments.iter().enumerate() {
            let key = |field: &str| format!("instruments[{i}].{field}");
            if !seen_id.insert(inst.id) {
                return Err(invalid(&key("id"), format!("{} is used twice", inst.id)));
            }
            if inst.id >= e.max_instruments {
                return Err(invalid(&key("id"), format!("{} must be below engine.max_instruments", inst.id)));
            }
            if engine::InstrumentSpec::symbol_from_str(&inst.symbol).is_none() {
                return Err(invalid(&key("symbol"), "must be 1-16 printable ASCII characters"));
            }
            if let Some(first) = seen_symbol.insert(inst.symbol.as_str(), i) {
                return Err(invalid(&key("symbol"), format!("{:?} is also instruments[{first}]'s", inst.symbol)));
            }
            for (field, v) in [("tick", inst.tick), ("lot", inst.lot), ("qty_scale", inst.qty_scale)] {
                if v == 0 {
                    return Err(invalid(&key(field), "must be at least 1"));
                }
            }
            if inst.min_qty == 0 || !inst.min_qty.is_multiple_of(inst.lot) {
                return Err(invalid(
                    &key("min_qty"),
                    format!("is {}, must be a positive multiple of lot ({})", inst.min_qty, inst.lot),
                ));
            }
            if inst.max_qty < inst.min_qty {
                return Err(invalid(&key("max_qty"), format!("is {}, below min_qty ({})", inst.max_qty, inst.min_qty)));
            }
            if inst.reference_price == 0 || !inst.reference_price.is_multiple_of(inst.tick) {
                return Err(invalid(
                    &key("reference_price"),
                    format!("is {}, must be a positive multiple of tick ({})", inst.reference_price, inst.tick),
                ));
            }
            if e.risk_checks {
                for (field, asset) in [("base_asset", inst.base_asset), ("quote_asset", inst.quote_asset)] {
                    if asset >= e.max_assets {
                        return Err(invalid(&key(field), format!("{asset} must be below engine.max_assets")));
                    }
                }
                if inst.base_asset == inst.quote_asset {
                    return Err(invalid(
                        &key("quote_asset"),
                        format!("is {}, the same as base_asset", inst.quote_asset),
                    ));
                }
            }
            if let Some(f) = inst.fee_schedule() {
                validate_fees(&key, f)?;
            }
        }
        Ok(())
    }

    fn validate_accounts(&self) -> Result<(), ConfigError> {
        let e = &self.engine;
        let mut seen_acct = std::collections::BTreeSet::new();
        let mut seen_name = std::collections::BTreeSet::new();
        let mut supply = BTreeMap::new();
        for (i, a) in self.accounts.iter().enumerate() {
            let key = |field: &str| format!("accounts[{i}].{field}");
            if !seen_acct.insert(a.id) {
                return Err(invalid(&key("id"), format!("{} is used twice", a.id)));
            }
            if a.name.trim().is_empty() {
                return Err(invalid(&key("name"), "is empty: logs name the account by it"));
            }
            if !seen_name.insert(a.name.clone()) {
                return Err(invalid(&key("name"), format!("{:?} is used twice", a.name)));
            }
            if a.id >= e.max_accounts {
                return Err(invalid(&key("id"), format!("{} must be below engine.max_accounts", a.id)));
            }
            if a.id == e.fee_account {
                return Err(invalid(
                    &key("id"),
                    format!("{} is engine.fee_account (the fee account cannot log in or trade)", a.id),
                ));
            }
            if Some(a.id) == e.insurance_account {
                return Err(invalid(
                    &key("id"),
                    format!("{} is engine.insurance_account (the engine creates it; it cannot log in)", a.id),
                ));
            }
            if a.tier >= engine::MAX_FEE_TIERS {
                return Err(invalid(&key("tier"), format!("is {}, must be below {}", a.tier, engine::MAX_FEE_TIERS)));
            }
            if a.deposits.len() > MAX_DEPOSITS_PER_ACCOUNT {
                return Err(invalid(
                    &key("deposits"),
                    format!("has {} entries, at most {MAX_DEPOSITS_PER_ACCOUNT}", a.deposits.len()),
                ));
            }
            for (j, d) in a.deposits.iter().enumerate() {
                let dkey = |field: &str| format!("accounts[{i}].deposits[{j}].{field}");
                if d.asset >= e.max_assets {
                    return Err(invalid(&dkey("asset"), format!("{} must be below engine.max_assets", d.asset)));
                }
                if d.amount == 0 {
                    return Err(invalid(&dkey("amount"), "must be at least 1"));
                }
                let total = supply.entry(d.asset).or_insert(0u64);
                *total = total.checked_add(d.amount).ok_or_else(|| {
                    invalid(&dkey("amount"), format!("brings the deposits of asset {} over 2^64 - 1", d.asset))
                })?;
            }
            Credential::parse(&a.credential)
                .map_err(|source| ConfigError::Credential { account: a.name.clone(), source })?;
        }
        Ok(())
    }

    /// The TLS listeners need a certificate and key that load, and addresses of their own;
    /// certificate settings without a TLS listener are a mistake worth saying.
    fn validate_tls(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, problem: String| Err(ConfigError::Invalid { key: key.into(), problem });
        let s = &self.server;
        let tls_listeners =
            [("server.tls_listen", s.tls_listen), ("market_data.tls_listen", self.market_data.tls_listen)];
        let taken = [
            ("server.listen", Some(s.listen)),
            ("server.admin_listen", s.admin_listen),
            ("market_data.listen", self.market_data.listen),
            ("metrics.listen", self.metrics.enabled.then_some(self.metrics.listen)),
        ];
        for (key, addr) in tls_listeners {
            let Some(addr) = addr.filter(|a| a.port() != 0) else { continue };
            for (other, taken) in taken.iter().chain(&tls_listeners) {
                if *other != key && *taken == Some(addr) {
                    return bad(key, format!("is {addr}, the same address as {other}"));
                }
            }
        }
        let (cert, key) = (&s.tls_cert_chain_path, &s.tls_private_key_path);
        if tls_listeners.iter().all(|(_, a)| a.is_none()) {
            if cert.is_some() || key.is_some() {
                return bad(
                    "server.tls_cert_chain_path",
                    "and tls_private_key_path are set, but no TLS listener is (server.tls_listen, market_data.tls_listen)"
                        .into(),
                );
            }
            return Ok(());
        }
        match (cert, key) {
            (Some(cert), Some(key)) => {
                gateway::tls_config::load_server_config(cert, key)?;
                Ok(())
            }
            (None, _) => bad("server.tls_cert_chain_path", "must be set for the TLS listeners".into()),
            (_, None) => bad("server.tls_private_key_path", "must be set for the TLS listeners".into()),
        }
    }

    /// Engine capacities.
    pub fn engine_config(&self) -> engine::EngineConfig {
        engine::EngineConfig {
            max_orders: self.engine.max_orders,
            max_instruments: self.engine.max_instruments,
            max_accounts: self.engine.max_accounts,
            max_open_orders_per_account: self.engine.max_open_orders_per_account,
            risk_checks: self.engine.risk_checks,
            max_assets: self.engine.max_assets,
            fee_account: self.engine.fee_account,
            max_transactions: self.engine.max_transactions,
            insurance_account: self.engine.insurance_account.unwrap_or(engine::NO_ACCOUNT),
            oracle_account: self.engine.oracle_account.unwrap_or(engine::NO_ACCOUNT),
        }
    }

    /// The commands that enter the configuration's accounts on the first start in risk mode, in
    /// journal order (after the instruments): `SetFeeSchedule` for every instrument with fees,
    /// `CreateAccount` for every account (admins included, so they can be queried; tier from the
    /// config, active), then one `Deposit` per configured deposit (tx ids from
    /// [`INITIAL_DEPOSIT_TX_BASE`]). Empty without risk checks.
    pub fn initial_account_commands(&self) -> Vec<engine::CommandKind> {
        use engine::CommandKind;
        if !self.engine.risk_checks {
            return Vec::new();
        }
        let mut out: Vec<CommandKind> =
            self.instruments.iter().filter_map(|i| i.fee_schedule()).map(CommandKind::SetFeeSchedule).collect();
        for a in &self.accounts {
            out.push(CommandKind::CreateAccount(engine::CreateAccount {
                target: a.id,
                tier: a.tier,
                status: engine::AccountStatus::Active,
            }));
        }
        let mut tx_id = INITIAL_DEPOSIT_TX_BASE;
        for a in &self.accounts {
            for d in &a.deposits {
                out.push(CommandKind::Deposit(engine::Transfer {
                    target: a.id,
                    asset: d.asset,
                    amount: d.amount,
                    tx_id,
                }));
                tx_id += 1;
            }
        }
        out
    }

    /// The instruments as engine specs.
    pub fn instrument_specs(&self) -> Vec<engine::InstrumentSpec> {
        self.instruments
            .iter()
            .map(|i| engine::InstrumentSpec {
                id: i.id,
                symbol: engine::InstrumentSpec::symbol_from_str(&i.symbol).expect("validated"),
                base_asset: i.base_asset,
                quote_asset: i.quote_asset,
                tick: i.tick,
                lot: i.lot,
                min_qty: i.min_qty,
                max_qty: i.max_qty,
                min_notional: i.min_notional,
                price_band_bps: i.price_band_bps,
                reference_price: i.reference_price,
                qty_scale: i.qty_scale,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_credentials_match_docs() {
        let cfg = Config::default_config();
        for (name, secret) in [("admin", "admin-demo"), ("alice", "alice-demo"), ("bob", "bob-demo")] {
            let a = cfg.accounts.iter().find(|a| a.name == name).unwrap();
            assert!(gateway::credential::Credential::parse(&a.credential).unwrap().verify(secret.as_bytes()), "{name}");
        }
    }

    #[test]
    fn embedded_default_is_valid() {
        let c = Config::default_config();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:7001");
        assert_eq!(c.instruments.len(), 2);
        assert_eq!(c.accounts.iter().filter(|a| a.role == Role::Admin).count(), 1);
    }

    #[test]
    fn unknown_key_is_named() {
        let text = DEFAULT_CONFIG_TOML.replace("[server]\n", "[server]\nlisten_port = 1\n");
        let err = Config::from_toml(&text, "t.toml").unwrap_err().to_string();
        assert!(err.contains("listen_port"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let cases = [
            ("input_ring_slots = 65536", "input_ring_slots = 1000", "pipeline.input_ring_slots"),
            ("wait_strategy = \"adaptive\"", "wait_strategy = \"spin\"", "pipeline.wait_strategy"),
            ("durability = \"batch\"", "durability = \"sometimes\"", "durability"),
            ("segment_bytes = 268435456", "segment_bytes = 10", "journal.segment_bytes"),
            ("listen = \"127.0.0.1:7001\"", "listen = \"nowhere\"", "listen"),
            ("pin = {}", "pin = { blender = 1 }", "pipeline.pin.blender"),
        ];
        for (from, to, key) in cases {
            assert!(DEFAULT_CONFIG_TOML.contains(from), "{from}");
            let err = Config::from_toml(&DEFAULT_CONFIG_TOML.replace(from, to), "t.toml").unwrap_err().to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
    }

    /// `engine.insurance_account` and `engine.oracle_account`: optional, passed into the engine
    /// config (absent: `NO_ACCOUNT`), and checked like `engine.fee_account`.
    #[test]
    fn futures_accounts() {
        let default = Config::default_config().engine_config();
        assert_eq!((default.insurance_account, default.oracle_account), (engine::NO_ACCOUNT, engine::NO_ACCOUNT));
        let with = |insurance: &str, oracle: &str| {
            let keys = format!("max_transactions = 1048576\n{insurance}\n{oracle}");
            Config::from_toml(&DEFAULT_CONFIG_TOML.replace("max_transactions = 1048576", &keys), "t.toml")
        };
        let c = with("insurance_account = 65534", "oracle_account = 9").unwrap().engine_config();
        assert_eq!((c.insurance_account, c.oracle_account), (65534, 9));
        assert_eq!(with("", "oracle_account = 9").unwrap().engine_config().insurance_account, engine::NO_ACCOUNT);
        // The engine config record must take what the file passes.
        let record = engine::command_codec::encode_engine_config(&c);
        assert_eq!(engine::command_codec::decode_engine_config(&record), Ok(c));
        for (insurance, oracle, key, says) in [
            ("insurance_account = 65536", "", "engine.insurance_account", "below engine.max_accounts"),
            ("insurance_account = 65535", "", "engine.insurance_account", "engine.fee_account"),
            ("", "oracle_account = 70000", "engine.oracle_account", "below engine.max_accounts"),
            ("", "oracle_account = 65535", "engine.oracle_account", "engine.fee_account"),
            ("insurance_account = 9", "oracle_account = 9", "engine.oracle_account", "engine.insurance_account"),
            // An [[accounts]] entry (alice, 1) cannot be the fund: the engine creates it.
            ("insurance_account = 1", "", "accounts[1].id", "engine.insurance_account"),
        ] {
            let err = with(insurance, oracle).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains(says), "{insurance} {oracle}: {err}");
        }
        let no_risk = DEFAULT_CONFIG_TOML
            .replace("risk_checks = true", "risk_checks = false")
            .replace("max_transactions = 1048576", "max_transactions = 1048576\ninsurance_account = 65534");
        let err = Config::from_toml(&no_risk, "t.toml").unwrap_err().to_string();
        assert!(err.contains("engine.insurance_account") && err.contains("risk_checks"), "{err}");
    }

    #[test]
    fn segment_bytes_follow_the_journals_rule() {
        let with = |v: &str| DEFAULT_CONFIG_TOML.replace("segment_bytes = 268435456", &format!("segment_bytes = {v}"));
        // Exactly what the journal opens: 16 KiB..=1 GiB in whole pages.
        for ok in ["16384", "65536", "1073741824"] {
            assert!(Config::from_toml(&with(ok), "t.toml").is_ok(), "{ok}");
        }
        for bad in ["12288", "20000", "2147483648"] {
            let err = Config::from_toml(&with(bad), "t.toml").unwrap_err().to_string();
            assert!(err.contains("journal.segment_bytes") && err.contains("16384 (16 KiB)"), "{bad}: {err}");
        }
    }

    #[test]
    fn metrics_section() {
        // The embedded default documents exactly the built-in defaults, so a
        // config file without `[metrics]` behaves like one copied from it.
        assert_eq!(Config::default_config().metrics, MetricsConfig::default());
        let start = DEFAULT_CONFIG_TOML.find("[metrics]").unwrap();
        let end = start + DEFAULT_CONFIG_TOML[start..].find("\n[engine]").unwrap();
        let without = format!("{}{}", &DEFAULT_CONFIG_TOML[..start], &DEFAULT_CONFIG_TOML[end..]);
        assert_eq!(Config::from_toml(&without, "t.toml").unwrap().metrics, MetricsConfig::default());

        let cases = [
            ("log_interval_s = 10", "log_interval_s = 100000", "metrics.log_interval_s"),
            ("listen = \"127.0.0.1:9101\"", "listen = \"127.0.0.1:7001\"", "metrics.listen"),
            ("enabled = true", "enabled = 1", "enabled"),
            ("log_interval_s = 10", "log_every = 10", "log_every"),
        ];
        for (from, to, key) in cases {
            assert!(DEFAULT_CONFIG_TOML.contains(from), "{from}");
            let err = Config::from_toml(&DEFAULT_CONFIG_TOML.replace(from, to), "t.toml").unwrap_err().to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
        let port0 = DEFAULT_CONFIG_TOML.replace("listen = \"127.0.0.1:9101\"", "listen = \"127.0.0.1:0\"");
        assert_eq!(Config::from_toml(&port0, "t.toml").unwrap().metrics.listen.port(), 0);
    }

    #[test]
    fn market_data_section() {
        assert_eq!(Config::default_config().market_data, MarketDataConfig::default());
        let start = DEFAULT_CONFIG_TOML.find("[market_data]").unwrap();
        let end = start + DEFAULT_CONFIG_TOML[start..].find("\n[engine]").unwrap();
        let without = format!("{}{}", &DEFAULT_CONFIG_TOML[..start], &DEFAULT_CONFIG_TOML[end..]);
        assert_eq!(Config::from_toml(&without, "t.toml").unwrap().market_data, MarketDataConfig::default());
        let cases = [
            ("max_subscribers = 64", "max_subscribers = -1", "max_subscribers"),
            ("snapshot_depth_max = 5000", "snapshot_depth_max = 0", "market_data.snapshot_depth_max"),
            ("order_by_order = true", "order_by_order = 1", "order_by_order"),
            ("# listen = \"127.0.0.1:7002\"", "listen = \"127.0.0.1:7001\"", "market_data.listen"),
            ("# listen = \"127.0.0.1:7002\"", "listen = \"nowhere\"", "listen"),
            ("snapshot_depth_max = 5000", "snapshot_depth = 5000", "snapshot_depth"),
        ];
        for (from, to, key) in cases {
            assert!(DEFAULT_CONFIG_TOML.contains(from), "{from}");
            let err = Config::from_toml(&DEFAULT_CONFIG_TOML.replace(from, to), "t.toml").unwrap_err().to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
        // The outbound buffer key shares its name with the server's: replace it in its section.
        let (head, tail) = DEFAULT_CONFIG_TOML.split_at(start);
        let bad_buf =
            format!("{head}{}", tail.replacen("outbound_buffer_bytes = 4194304", "outbound_buffer_bytes = 100", 1));
        let err = Config::from_toml(&bad_buf, "t.toml").unwrap_err().to_string();
        assert!(err.contains("market_data.outbound_buffer_bytes"), "{err}");
        let on = DEFAULT_CONFIG_TOML.replace("# listen = \"127.0.0.1:7002\"", "listen = \"127.0.0.1:0\"");
        assert_eq!(Config::from_toml(&on, "t.toml").unwrap().market_data.listen.unwrap().port(), 0);
    }

    #[test]
    fn risk_keys_are_validated_and_named() {
        let alice = "{ asset = 1, amount = 100000000 },";
        let eth_fees = "maker_fee_ppm = 200\ntaker_fee_ppm = 500\n";
        assert!(DEFAULT_CONFIG_TOML.contains(alice) && DEFAULT_CONFIG_TOML.contains(eth_fees));
        let cases = [
            (alice, "{ asset = 64, amount = 1 },", "accounts[1].deposits[0].asset"),
            (alice, "{ asset = 1, amount = 0 },", "accounts[1].deposits[0].amount"),
            (alice, "{ asset = 1, amount = 1, memo = 2 },", "memo"),
            (alice, "{ asset = 1, amount = 18446744073709551615 },", "accounts[2].deposits[0].amount"),
            ("id = 2\nname = \"bob\"", "id = 65535\nname = \"bob\"", "accounts[2].id"),
            ("name = \"bob\"\n", "name = \"bob\"\ntier = 8\n", "accounts[2].tier"),
            (eth_fees, "maker_fee_ppm = 0\ntaker_fee_ppm = 1000000\n", "instruments[1].taker_fee_ppm"),
            (eth_fees, "maker_fee_ppm = 600\ntaker_fee_ppm = 500\n", "instruments[1].maker_fee_ppm"),
            (eth_fees, "maker_fee_ppm = -1000000\n", "instruments[1].maker_fee_ppm"),
            (eth_fees, "taker_fee_ppm = -1\n", "instruments[1].taker_fee_ppm"),
        ];
        for (from, to, key) in cases {
            let err = Config::from_toml(&DEFAULT_CONFIG_TOML.replacen(from, to, 1), "t.toml").unwrap_err().to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
        // A rebate, and a schedule with only a taker rate (maker 0).
        let ok = DEFAULT_CONFIG_TOML.replacen(eth_fees, "maker_fee_ppm = -100\ntaker_fee_ppm = 500\n", 1);
        assert_eq!(Config::from_toml(&ok, "t.toml").unwrap().instruments[1].fee_schedule().unwrap().maker_ppm, -100);
        let ok = DEFAULT_CONFIG_TOML.replacen(eth_fees, "taker_fee_ppm = 300\n", 1);
        let f = Config::from_toml(&ok, "t.toml").unwrap().instruments[1].fee_schedule().unwrap();
        assert_eq!((f.instrument, f.tier, f.maker_ppm, f.taker_ppm), (2, 0, 0, 300));
    }

    #[test]
    fn initial_account_commands_follow_the_config() {
        use engine::CommandKind;
        let c = Config::default_config();
        assert!(c.engine.risk_checks);
        let cmds = c.initial_account_commands();
        assert_eq!(cmds.len(), 2 + 3 + 6);
        assert!(
            matches!(cmds[0], CommandKind::SetFeeSchedule(f) if (f.instrument, f.maker_ppm, f.taker_ppm) == (1, 200, 500))
        );
        let created: Vec<u32> = cmds[2..5]
            .iter()
            .map(|k| match k {
                CommandKind::CreateAccount(a) => a.target,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(created, [0, 1, 2]);
        let deposits: Vec<(u32, u32, u64, u64)> = cmds[5..]
            .iter()
            .map(|k| match k {
                CommandKind::Deposit(t) => (t.target, t.asset, t.amount, t.tx_id - INITIAL_DEPOSIT_TX_BASE),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            deposits,
            [
                (1, 1, 100_000_000, 0),
                (1, 2, 1_000_000_000, 1),
                (1, 3, 10_000_000_000, 2),
                (2, 1, 100_000_000, 3),
                (2, 2, 1_000_000_000, 4),
                (2, 3, 10_000_000_000, 5)
            ]
        );
        // Matching only: nothing to enter.
        let off = DEFAULT_CONFIG_TOML.replace("risk_checks = true", "risk_checks = false");
        assert!(Config::from_toml(&off, "t.toml").unwrap().initial_account_commands().is_empty());
    }

    /// Values the checks let through before the audit, each refused now with its key named.
    #[test]
    fn nonsense_values_are_refused_naming_the_key() {
        let btc_tick = "tick = 1                    # 0.01 USDT";
        let cases = [
            ("dir = \"./matchd-data\"", "dir = \"\"", "data.dir"),
            ("create = \"auto\"", "create = \"sometimes\"", "create"),
            (btc_tick, "tick = 0", "instruments[0].tick"),
            (btc_tick, "tick = 3", "instruments[0].reference_price"),
            ("lot = 1000                  # 0.00001 BTC", "lot = 0", "instruments[0].lot"),
            ("min_qty = 1000\n", "min_qty = 1500\n", "instruments[0].min_qty"),
            ("min_qty = 1000\n", "min_qty = 0\n", "instruments[0].min_qty"),
            ("max_qty = 10000000000       # 100 BTC", "max_qty = 10", "instruments[0].max_qty"),
            ("reference_price = 5000000   # 50,000.00 USDT", "reference_price = 0", "instruments[0].reference_price"),
            ("qty_scale = 100000000\nmaker_fee_ppm = 200         # 0.02 %", "qty_scale = 0", "instruments[0].qty_scale"),
            ("base_asset = 2\n", "base_asset = 1\n", "instruments[0].quote_asset"),
            ("base_asset = 2\n", "base_asset = 64\n", "instruments[0].base_asset"),
            ("symbol = \"ETH-USDT\"", "symbol = \"BTC-USDT\"", "instruments[1].symbol"),
            ("name = \"bob\"", "name = \"\"", "accounts[2].name"),
            ("login_timeout_ms = 5000", "login_timeout_ms = 0", "server.login_timeout_ms"),
            ("login_timeout_ms = 5000", "login_timeout_ms = 18446744073709551615", "server.login_timeout_ms"),
            ("heartbeat_timeout_ms = 10000", "heartbeat_timeout_ms = 100000000000", "server.heartbeat_timeout_ms"),
            ("max_connections = 1024", "max_connections = 4000000000", "server.max_connections"),
            (
                "retransmit_messages_per_account = 100000",
                "retransmit_messages_per_account = 4000000000",
                "server.retransmit_messages_per_account",
            ),
            ("segment_bytes = 268435456", "segment_bytes = 2147483648", "journal.segment_bytes"),
            ("segment_bytes = 268435456", "segment_bytes = 1048577", "journal.segment_bytes"),
            ("durability = \"batch\"\ninterval_ms = 2", "durability = \"interval\"\ninterval_ms = 3600000", "journal.interval_ms"),
            ("pin = {}", "pin = { matcher = 5000 }", "pipeline.pin.matcher"),
            (
                "wait_strategy = \"adaptive\"\n# Pin threads to cores (bare metal). Empty = no pinning.\n# Example: pin = { gateway = 2, journaller = 3, matcher = 4, publisher = 5 }\npin = {}",
                "wait_strategy = \"busy-spin\"\npin = { matcher = 2, publisher = 2 }",
                "pipeline.pin.publisher",
            ),
            ("child_timeout_s = 600", "child_timeout_s = 18446744073709551615", "snapshots.child_timeout_s"),
            ("max_subscribers = 64\n", "max_subscribers = 0\nlisten = \"127.0.0.1:7002\"\n", "market_data.listen"),
        ];
        for (from, to, key) in cases {
            assert!(DEFAULT_CONFIG_TOML.contains(from), "{from}");
            let text = DEFAULT_CONFIG_TOML.replacen(from, to, 1);
            let err = Config::from_toml(&text, "t.toml").unwrap_err().to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
        // Two threads on one core are fine when they do not spin.
        let shared = DEFAULT_CONFIG_TOML.replacen("pin = {}", "pin = { matcher = 1, publisher = 1 }", 1);
        assert_eq!(Config::from_toml(&shared, "t.toml").unwrap().pipeline.pin.len(), 2);
    }

    #[test]
    fn data_create_defaults_to_format() {
        assert_eq!(Config::default_config().data.create, DataCreate::Auto);
        let without = DEFAULT_CONFIG_TOML.replacen("create = \"auto\"\n", "", 1);
        assert_ne!(without, DEFAULT_CONFIG_TOML);
        assert_eq!(Config::from_toml(&without, "t.toml").unwrap().data.create, DataCreate::Format);
        let format = DEFAULT_CONFIG_TOML.replacen("create = \"auto\"", "create = \"format\"", 1);
        assert_eq!(Config::from_toml(&format, "t.toml").unwrap().data.create, DataCreate::Format);
    }

    #[test]
    fn duplicate_account_rejected() {
        let text = DEFAULT_CONFIG_TOML.replace("id = 2\nname = \"bob\"", "id = 1\nname = \"bob\"");
        let err = Config::from_toml(&text, "t.toml").unwrap_err().to_string();
        assert!(err.contains("accounts[2].id"), "{err}");
    }
}
