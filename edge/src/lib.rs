//! matchd-edge: a separate process in front of matchd that speaks what browsers and web backends
//! speak. It connects to matchd with the binary protocol (the `client` crate, on dedicated threads)
//! and serves a Binance-like signed REST API, public WebSocket streams (depth as snapshot +
//! sequenced diffs, trades, book ticker) and a private stream per account with resume.
//! See docs/edge.md.
#![warn(missing_docs)]

pub mod account;
pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod hub;
pub mod market;
pub mod md_feed;
pub mod order_type_name;
pub mod private_events;
pub mod rest;
pub mod server;
pub mod state;
pub mod units;
pub mod ws;
