//! matchd, the process: the pipeline's wiring ([`pipeline`]), its stages ([`journaller`],
//! [`matcher`], [`publisher`] with the market-data feed, [`snapshotter`]), recovery from the journal
//! ([`recovery`]), the config file ([`config`]), and the operator's side (metrics, monitor,
//! systemd notify). The network gateway, the wire protocol and the engine are crates of their own;
//! the `matchd` binary is `src/main.rs`.
#![warn(missing_docs)]

pub mod account_stream;
pub mod config;
pub mod config_additions;
pub mod event_counters;
pub mod format;
pub mod histogram;
pub mod journal_guard;
pub mod journaller;
pub mod matcher;
pub mod md_books;
pub mod md_feed;
pub mod md_order_map;
pub mod metrics;
pub mod monitor;
pub mod output_slot;
pub mod pending_latency;
pub mod pipeline;
pub mod publisher;
pub mod recovery;
pub mod replication;
pub mod reports;
pub mod sd_notify;
pub mod snapshotter;
pub mod stats;
pub mod unforked_buffer;
