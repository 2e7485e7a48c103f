//! The gateway's settings: the `[server]` section of matchd's config file (validated there).

use std::net::SocketAddr;

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
}
