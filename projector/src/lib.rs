//! matchd's read side: `matchd-projector` follows matchd's journal and writes what a backend
//! reads all day (accounts, instruments, orders and their every change, trades, the balance
//! ledger, 1-minute candles; perpetuals' positions, futures wallets and their ledger, funding,
//! liquidations) into PostgreSQL, exactly once. It never slows matchd: it only reads
//! the journal's files (from matchd's data directory or a replica's), with its own engine.
//!
//! Layout, in the pipeline's direction: [`run`] (sessions, reconnects) wires [`follow`] (the
//! follower thread: [`source`] applies the journal to an engine, [`projection`] turns events
//! into [`rows`], batches cut by count and time) to [`writer`] (one transaction per batch, the
//! checkpoint in it); [`schema`] holds the migrations and the checkpoint; [`metrics`] serves
//! `/metrics`. Design, schema and queries: `docs/read-side.md`.
#![warn(missing_docs)]

pub mod follow;
pub mod labels;
pub mod metrics;
pub mod pg_harness;
pub mod projection;
pub mod rows;
pub mod run;
pub mod schema;
pub mod source;
pub mod writer;

pub use follow::Batching;
pub use run::{run, Options, RunError};
