//! matchd's network gateway: the thread that accepts TCP connections (mio), runs the login
//! handshake, enforces the session limits (rate, heartbeats, roles) and decodes order-entry frames
//! straight into the input ring's pre-allocated slots, stamped with their receive time. It is the
//! ring's single producer; the journaller and matcher (in `matchd`) consume what it publishes, and
//! the publisher takes over writing to each session through the [`control_plane`]. TLS clients
//! reach it through the [`tls_terminator`] thread, which hands their plaintext over a loopback
//! connection (see [`internal_peers`]).
#![warn(missing_docs)]

pub mod clock;
mod connection;
pub mod control_plane;
pub mod credential;
pub mod gateway;
pub mod gateway_stats;
pub mod input_slot;
pub mod internal_peers;
pub mod leadership;
pub mod login;
pub mod login_throttle;
pub mod pending_logins;
pub mod rate_limit;
pub mod server_config;
pub mod tls_config;
pub mod tls_terminator;
mod tls_tunnel;
pub mod wake;

pub use gateway::{Gateway, InternalListener, Listeners, GATEWAY_WAKER_TOKEN};
pub use gateway_stats::GatewayStats;
pub use input_slot::InputSlot;
