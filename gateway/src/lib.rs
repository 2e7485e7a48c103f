//! matchd: configuration, wire protocol, network, pipeline; the `matchd` binary is `src/main.rs`.
#![warn(missing_docs)]

pub mod account_stream;
pub mod client;
pub mod clock;
pub mod config;
pub mod control;
pub mod credential;
mod frame_reader;
pub mod gateway_thread;
pub mod journaller;
pub mod matcher;
pub mod md_client;
pub mod md_feed;
pub mod metrics;
pub mod monitor;
pub mod protocol;
pub mod publisher;
pub mod sd_notify;
pub mod server;
pub mod slots;
pub mod snapshotter;
pub mod unforked_buffer;
