//! The edge's configuration file (TOML): where matchd is, what to listen on, limits, asset
//! decimals and the API keys (each mapped to a matchd account and that account's own credential).

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read: check the path and permissions.
    #[error("reading {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML or a key has the wrong type: the message names it.
    #[error("parsing the configuration: {0}")]
    Parse(#[from] toml::de::Error),
    /// A value is out of range or inconsistent: the message says which.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// HTTP/WebSocket listener, e.g. "127.0.0.1:8080" (port 0 picks a free port).
    pub listen: SocketAddr,
    /// matchd order-entry addresses: one node, or every node of a replica set (the edge follows
    /// the leader).
    pub matchd: Vec<SocketAddr>,
    /// matchd market-data address (`market_data.listen`, or `server.listen`); default: the `matchd`
    /// nodes in turn.
    #[serde(default)]
    pub market_data: Option<SocketAddr>,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
    /// Asset names and decimal places (balances; an instrument's prices use its quote asset's).
    #[serde(default)]
    pub assets: Vec<AssetConfig>,
    /// API keys.
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
}

/// Limits on what clients may use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Largest `recvWindow` a request may ask for, ms.
    pub max_recv_window_ms: u64,
    /// WebSocket connections at once (public and private together).
    pub max_ws_connections: usize,
    /// Streams one public WebSocket connection may subscribe to.
    pub max_subscriptions_per_connection: usize,
    /// Messages queued per WebSocket subscriber; a subscriber that lets it fill is cut off.
    pub subscriber_queue_messages: usize,
    /// Kernel send buffer of each accepted connection, bytes (0 = the OS default, which grows to
    /// several MB): what a non-reading WebSocket client can absorb beyond its queue before the
    /// queue fills and it is cut off.
    pub socket_send_buffer_bytes: usize,
    /// Largest message a WebSocket client may send, bytes.
    pub max_ws_message_bytes: usize,
    /// Private events kept per account for resume.
    pub private_history_events: usize,
    /// Orders remembered per account for `GET /api/v3/order` (the oldest are forgotten first).
    pub orders_remembered: usize,
    /// Requests queued per account session before the edge answers "busy".
    pub account_queue_requests: usize,
    /// How long a REST request waits for matchd's answer, ms.
    pub request_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024,
            max_recv_window_ms: 60_000,
            max_ws_connections: 10_000,
            max_subscriptions_per_connection: 64,
            subscriber_queue_messages: 4096,
            socket_send_buffer_bytes: 0,
            max_ws_message_bytes: 4096,
            private_history_events: 10_000,
            orders_remembered: 100_000,
            account_queue_requests: 4096,
            request_timeout_ms: 10_000,
        }
    }
}

/// One asset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetConfig {
    /// matchd's asset id.
    pub id: u32,
    /// Display name, e.g. "USDT".
    pub name: String,
    /// Decimal places of its minor unit (USDT in cents: 2).
    pub decimals: u32,
}

/// One API key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// The key clients send in `X-MBX-APIKEY`.
    pub api_key: String,
    /// The HMAC-SHA256 secret clients sign with.
    pub secret: String,
    /// The matchd account the key trades for.
    pub account: u32,
    /// That account's matchd credential (the edge logs in as the account itself, so matchd checks
    /// every order's account).
    pub matchd_credential: String,
}

impl Config {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Config::parse(&text)
    }

    /// Parses and checks a configuration text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text)?;
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.matchd.is_empty() {
            return bad("`matchd` needs at least one address".into());
        }
        for a in &self.assets {
            if a.decimals > crate::units::MAX_DECIMALS {
                return bad(format!("asset {}: decimals {} > {}", a.id, a.decimals, crate::units::MAX_DECIMALS));
            }
        }
        let mut keys: Vec<&str> = self.api_keys.iter().map(|k| k.api_key.as_str()).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return bad("an api_key appears twice".into());
        }
        for k in &self.api_keys {
            if k.api_key.is_empty() || k.secret.len() < 16 {
                return bad(format!("api key `{}`: empty key or secret shorter than 16 bytes", k.api_key));
            }
            if k.matchd_credential.len() > protocol::CREDENTIAL_LEN {
                return bad(format!(
                    "api key `{}`: matchd_credential longer than {} bytes",
                    k.api_key,
                    protocol::CREDENTIAL_LEN
                ));
            }
        }
        for k in &self.api_keys {
            if self.api_keys.iter().any(|o| o.account == k.account && o.matchd_credential != k.matchd_credential) {
                return bad(format!("account {}: keys with different matchd credentials", k.account));
            }
        }
        let l = &self.limits;
        if l.subscriber_queue_messages == 0 || l.account_queue_requests == 0 || l.private_history_events == 0 {
            return bad("limits: queue sizes must be at least 1".into());
        }
        Ok(())
    }

    /// The market-data addresses to try in turn: `market_data`, else every `matchd` node.
    pub fn market_data_addrs(&self) -> Vec<SocketAddr> {
        self.market_data.map_or_else(|| self.matchd.clone(), |a| vec![a])
    }
}
