//! The gateway's settings: the `[server]` section of matchd's config file (validated there).

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Order-entry listen address.
    pub listen: SocketAddr,
    /// Connections at once.
    pub max_connections: u32,
    /// Login deadline after connect.
    pub login_timeout_ms: u64,
    /// Silence after which a peer is logged out.
    pub heartbeat_timeout_ms: u64,
    /// Largest client frame.
    pub max_frame_bytes: u32,
    /// Per-session rate limit.
    pub max_messages_per_sec: u32,
    /// Per-session outbound buffer.
    pub outbound_buffer_bytes: u32,
    /// Messages kept per account for resend.
    pub retransmit_messages_per_account: u32,
    /// Default cancel-on-disconnect.
    pub cancel_on_disconnect_default: bool,
    /// A listener for admin sessions only (e.g. loopback or a management network). When set,
    /// admin sessions are refused on `listen`.
    #[serde(default)]
    pub admin_listen: Option<SocketAddr>,
    /// Without `admin_listen`: networks admin sessions may log in from on `listen`
    /// (default: loopback only).
    #[serde(default = "default_admin_allow")]
    pub admin_allow: Vec<IpNet>,
    /// Connections that have not logged in yet, at once (their own budget: they never take
    /// room from logged-in sessions). When full, the oldest waiting one is closed for a new one.
    #[serde(default = "default_max_pending_logins")]
    pub max_pending_logins: u32,
    /// Connections that have not logged in yet, per source address (IPv6: per /64); more are
    /// refused with `Logout(ConnectionLimit)`.
    #[serde(default = "default_max_pending_logins_per_address")]
    pub max_pending_logins_per_address: u32,
    /// Failed logins per account id per minute (burst of as many) before its logins are refused
    /// with `TooManyAttempts` without checking the credential.
    #[serde(default = "default_login_failures_per_account_per_minute")]
    pub login_failures_per_account_per_minute: u32,
    /// Failed logins per source address (IPv6: per /64) per minute, likewise.
    #[serde(default = "default_login_failures_per_address_per_minute")]
    pub login_failures_per_address_per_minute: u32,
    /// A second order-entry listener that speaks TLS (same protocol inside; `listen` stays
    /// plaintext). Needs `tls_cert_chain_path` and `tls_private_key_path`.
    #[serde(default)]
    pub tls_listen: Option<SocketAddr>,
    /// PEM certificate chain the TLS listeners present, the server's certificate first.
    #[serde(default)]
    pub tls_cert_chain_path: Option<PathBuf>,
    /// PEM private key of the chain's first certificate (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub tls_private_key_path: Option<PathBuf>,
}

fn default_admin_allow() -> Vec<IpNet> {
    vec!["127.0.0.0/8".parse().expect("literal"), "::1/128".parse().expect("literal")]
}

fn default_max_pending_logins() -> u32 {
    512
}

fn default_max_pending_logins_per_address() -> u32 {
    64
}

fn default_login_failures_per_account_per_minute() -> u32 {
    10
}

fn default_login_failures_per_address_per_minute() -> u32 {
    60
}

impl ServerConfig {
    /// Checks the login-protection settings; `Err((key, why))` names the first bad one.
    pub fn validate_login_limits(&self) -> Result<(), (&'static str, String)> {
        if self.max_pending_logins == 0 {
            return Err(("server.max_pending_logins", "must be at least 1".into()));
        }
        if self.max_pending_logins_per_address == 0 || self.max_pending_logins_per_address > self.max_pending_logins {
            return Err((
                "server.max_pending_logins_per_address",
                format!("must be 1..={} (server.max_pending_logins)", self.max_pending_logins),
            ));
        }
        if self.login_failures_per_account_per_minute == 0 {
            return Err(("server.login_failures_per_account_per_minute", "must be at least 1".into()));
        }
        if self.login_failures_per_address_per_minute == 0 {
            return Err(("server.login_failures_per_address_per_minute", "must be at least 1".into()));
        }
        if self.admin_listen.is_some_and(|a| a.port() != 0 && a == self.listen) {
            return Err(("server.admin_listen", "must differ from server.listen".into()));
        }
        Ok(())
    }
}
