//! matchd's Rust client libraries, on `std::net` (and rustls for TLS): [`Client`] for order
//! entry (login, orders, sequenced reports with resend on reconnect) and [`md_client`] for the
//! public market-data feed (with a book builder), each over plain TCP or TLS ([`tls_config`],
//! [`Client::connect_tls`]); [`credential`] hashes an API secret for `SetCredential`. [`Client`]
//! has typed senders for the perpetual-futures commands too ([`Client::set_leverage`] ...). They speak the wire format of the `protocol` crate
//! (`docs/protocol.md`) and depend on nothing of the server.
#![warn(missing_docs)]

mod connect;
pub mod credential;
pub mod error;
mod frame_reader;
mod futures_client;
mod futures_describe;
pub mod leader;
pub mod md_client;
pub mod order_client;
mod transport;

pub use credential::{credential_hash, SecretError};
pub use error::ClientError;
pub use leader::{connect_leader, LeaderSession};
pub use order_client::{describe, Client, LoginParams};
pub use transport::tls_config;
