//! matchd's Rust client libraries, on `std::net` only: [`Client`] for order entry (login,
//! orders, sequenced reports with resend on reconnect) and [`md_client`] for the public
//! market-data feed (with a book builder); [`credential`] hashes an API secret for `SetCredential`. They speak the wire format of the `protocol` crate
//! (`docs/protocol.md`) and depend on nothing of the server.
#![warn(missing_docs)]

mod connect;
pub mod credential;
pub mod error;
mod frame_reader;
pub mod md_client;
pub mod order_client;

pub use credential::{credential_hash, SecretError};
pub use error::ClientError;
pub use order_client::{describe, Client, LoginParams};
