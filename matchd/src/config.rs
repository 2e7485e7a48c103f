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
    Tls(#[from] gateway::tls_config::TlsSetupError),
    /// A credential entry is malformed.
    #[error("config: account `{account}`: {source}")]
    Credential {
        /// Account name.
        account: String,
        /// What is wrong.
        source: CredentialError,
    },
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
}

/// `[data]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Data directory.
    pub dir: PathBuf,
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

/// Transaction ids of the deposits entered from the configuration on the first start:
/// `INITIAL_DEPOSIT_TX_BASE + i`, `i` counting every configured deposit from 0 in file order
/// (accounts in order, each account's deposits in order). External transfers should not use ids
/// from this value up.
pub const INITIAL_DEPOSIT_TX_BASE: u64 = 0xFFFF_0000_0000_0000;

/// Pipeline thread names that may be pinned.
pub const PINNABLE_THREADS: [&str; 5] = ["gateway", "journaller", "matcher", "publisher", "tls"];

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

    /// Checks every value; call again after applying CLI overrides.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, problem: String| Err(ConfigError::Invalid { key: key.into(), problem });
        let s = &self.server;
        if s.max_connections == 0 {
            return bad("server.max_connections", "must be at least 1".into());
        }
        if s.login_timeout_ms == 0 || s.heartbeat_timeout_ms < 1000 {
            return bad(
                "server.heartbeat_timeout_ms",
                "must be at least 1000 (and login_timeout_ms at least 1)".into(),
            );
        }
        if !(128..=65_535).contains(&s.max_frame_bytes) {
            return bad(
                "server.max_frame_bytes",
                format!("is {}, must be within 128..=65535 (the largest v1 message is 114 bytes)", s.max_frame_bytes),
            );
        }
        if s.max_messages_per_sec == 0 {
            return bad("server.max_messages_per_sec", "must be at least 1".into());
        }
        if s.outbound_buffer_bytes < 65_536 {
            return bad("server.outbound_buffer_bytes", "must be at least 65536".into());
        }
        if let Err((key, why)) = s.validate_login_limits() {
            return bad(key, why);
        }
        if s.retransmit_messages_per_account == 0 {
            return bad("server.retransmit_messages_per_account", "must be at least 1".into());
        }
        let j = &self.journal;
        if j.segment_bytes < (1 << 20) || j.segment_bytes > (1 << 40) {
            return bad("journal.segment_bytes", format!("is {}, must be within 1 MiB..=1 TiB", j.segment_bytes));
        }
        if j.durability == Durability::Interval && j.interval_ms == 0 {
            return bad("journal.interval_ms", "must be at least 1 with durability = \"interval\"".into());
        }
        let p = &self.pipeline;
        for (key, v) in
            [("pipeline.input_ring_slots", p.input_ring_slots), ("pipeline.output_ring_slots", p.output_ring_slots)]
        {
            if !v.is_power_of_two() || !(64..=(1 << 24)).contains(&v) {
                return bad(key, format!("is {v}, must be a power of two within 64..=16777216"));
            }
        }
        if !["adaptive", "yielding", "sleeping", "busy-spin"].contains(&p.wait_strategy.as_str()) {
            return bad(
                "pipeline.wait_strategy",
                format!("is {:?}, must be one of adaptive, yielding, sleeping, busy-spin", p.wait_strategy),
            );
        }
        for name in p.pin.keys() {
            if !PINNABLE_THREADS.contains(&name.as_str()) {
                return bad(&format!("pipeline.pin.{name}"), format!("unknown thread; pinnable: {PINNABLE_THREADS:?}"));
            }
        }
        if self.snapshots.keep == 0 {
            return bad("snapshots.keep", "must be at least 1".into());
        }
        if self.snapshots.child_timeout_s == 0 {
            return bad("snapshots.child_timeout_s", "must be at least 1".into());
        }
        let m = &self.metrics;
        if m.enabled && m.listen.port() != 0 && m.listen == self.server.listen {
            return bad("metrics.listen", format!("is {}, the same address as server.listen", m.listen));
        }
        if m.log_interval_s > 86_400 {
            return bad(
                "metrics.log_interval_s",
                format!("is {}, must be within 0..=86400 (0 = never)", m.log_interval_s),
            );
        }
        let md = &self.market_data;
        if !(65_536..=(1 << 30)).contains(&md.outbound_buffer_bytes) {
            return bad(
                "market_data.outbound_buffer_bytes",
                format!("is {}, must be within 65536..=1073741824", md.outbound_buffer_bytes),
            );
        }
        if !(1..=1_000_000).contains(&md.snapshot_depth_max) {
            return bad(
                "market_data.snapshot_depth_max",
                format!("is {}, must be within 1..=1000000", md.snapshot_depth_max),
            );
        }
        if let Some(l) = md.listen {
            if l.port() != 0 && (l == self.server.listen || (m.enabled && l == m.listen)) {
                return bad(
                    "market_data.listen",
                    format!("is {l}, the same address as server.listen or metrics.listen"),
                );
            }
        }
        self.validate_tls()?;
        let e = &self.engine;
        if e.max_orders == 0 || e.max_orders >= u32::MAX / 2 {
            return bad("engine.max_orders", "must be within 1..2^31".into());
        }
        if e.max_instruments == 0 || e.max_instruments > (1 << 24) {
            return bad("engine.max_instruments", "must be within 1..=2^24".into());
        }
        if e.max_accounts == 0 || e.max_accounts > (1 << 24) {
            return bad("engine.max_accounts", "must be within 1..=2^24".into());
        }
        if e.max_open_orders_per_account == 0 {
            return bad("engine.max_open_orders_per_account", "must be at least 1".into());
        }
        if e.max_assets == 0 || e.max_assets > 4096 {
            return bad("engine.max_assets", "must be within 1..=4096".into());
        }
        if e.fee_account >= e.max_accounts {
            return bad("engine.fee_account", format!("{} must be below engine.max_accounts", e.fee_account));
        }
        if e.max_transactions == 0 {
            return bad("engine.max_transactions", "must be at least 1".into());
        }
        let mut seen_inst = std::collections::BTreeSet::new();
        for (i, inst) in self.instruments.iter().enumerate() {
            let key = format!("instruments[{i}]");
            if !seen_inst.insert(inst.id) {
                return bad(&format!("{key}.id"), format!("{} is used twice", inst.id));
            }
            if inst.id >= e.max_instruments {
                return bad(&format!("{key}.id"), format!("{} must be below engine.max_instruments", inst.id));
            }
            if engine::InstrumentSpec::symbol_from_str(&inst.symbol).is_none() {
                return bad(&format!("{key}.symbol"), "must be 1-16 printable ASCII characters".into());
            }
            if let Some(f) = inst.fee_schedule() {
                let ppm = engine::PPM as i32;
                if !(0..ppm).contains(&f.taker_ppm) {
                    return bad(
                        &format!("{key}.taker_fee_ppm"),
                        format!("is {}, must be within 0..=999999 (millionths)", f.taker_ppm),
                    );
                }
                if f.maker_ppm <= -ppm || f.maker_ppm > f.taker_ppm {
                    return bad(
                        &format!("{key}.maker_fee_ppm"),
                        format!(
                            "is {}, must be within -999999..=taker_fee_ppm ({}; negative = rebate)",
                            f.maker_ppm, f.taker_ppm
                        ),
                    );
                }
            }
            // The engine re-validates the rest when the AddInstrument command is applied.
        }
        let mut seen_acct = std::collections::BTreeSet::new();
        let mut seen_name = std::collections::BTreeSet::new();
        let mut supply = std::collections::BTreeMap::new();
        for (i, a) in self.accounts.iter().enumerate() {
            let key = format!("accounts[{i}]");
            if !seen_acct.insert(a.id) {
                return bad(&format!("{key}.id"), format!("{} is used twice", a.id));
            }
            if !seen_name.insert(a.name.clone()) {
                return bad(&format!("{key}.name"), format!("{:?} is used twice", a.name));
            }
            if a.id >= e.max_accounts {
                return bad(&format!("{key}.id"), format!("{} must be below engine.max_accounts", a.id));
            }
            if a.id == e.fee_account {
                return bad(
                    &format!("{key}.id"),
                    format!("{} is engine.fee_account (the fee account cannot log in or trade)", a.id),
                );
            }
            if a.tier >= engine::MAX_FEE_TIERS {
                return bad(&format!("{key}.tier"), format!("is {}, must be below {}", a.tier, engine::MAX_FEE_TIERS));
            }
            for (j, d) in a.deposits.iter().enumerate() {
                let dkey = format!("{key}.deposits[{j}]");
                if d.asset >= e.max_assets {
                    return bad(&format!("{dkey}.asset"), format!("{} must be below engine.max_assets", d.asset));
                }
                if d.amount == 0 {
                    return bad(&format!("{dkey}.amount"), "must be at least 1".into());
                }
                let total = supply.entry(d.asset).or_insert(0u64);
                *total = match total.checked_add(d.amount) {
                    Some(t) => t,
                    None => {
                        return bad(
                            &format!("{dkey}.amount"),
                            format!("brings the deposits of asset {} over 2^64 - 1", d.asset),
                        )
                    }
                };
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

    #[test]
    fn duplicate_account_rejected() {
        let text = DEFAULT_CONFIG_TOML.replace("id = 2\nname = \"bob\"", "id = 1\nname = \"bob\"");
        let err = Config::from_toml(&text, "t.toml").unwrap_err().to_string();
        assert!(err.contains("accounts[2].id"), "{err}");
    }
}
