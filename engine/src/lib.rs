//! The business logic of matchd: a pure, deterministic state machine that
//! matches every symbol in memory.
//!
//! No I/O, no threads, no clock, no randomness. It takes one journaled
//! command at a time ([`Engine::apply`]) and emits [`Event`]s into an
//! [`EventSink`]. The rules are specified in `docs/matching.md`.
//!
//! Layout: [`types`] and [`command`]/[`event`] are the vocabulary;
//! `order_pool`, `price_level`, `book_side` (with its `level_bitmap`),
//! `order_book`, `order_index` and `account` are the pre-sized state
//! (`huge_pages` backs the large tables); `engine` validates and dispatches,
//! `matching` crosses orders; [`command_codec`] is the fixed little-endian
//! journal encoding of commands.
#![warn(missing_docs)]

mod account;
mod account_commands;
mod advanced_orders;
mod armed_table;
mod book_side;
pub mod command;
pub mod command_codec;
mod config;
mod credential_table;
mod credentials;
mod engine;
pub mod event;
pub mod examples;
mod expiry_queue;
mod fee_schedule;
mod futures_commands;
mod futures_margin;
mod futures_orders;
mod futures_scratch;
mod huge_pages;
mod iceberg_table;
mod instrument;
mod level_bitmap;
mod liquidation;
mod list_table;
mod margin_account;
mod matching;
mod order_book;
mod order_guess;
mod order_index;
mod order_lists;
mod order_pool;
mod perp_market;
mod position;
mod prefetch;
mod prefetcher;
mod price_level;
mod risk;
mod risk_tier;
mod slot_chunks;
mod slot_table;
mod snapshot;
mod snapshot_v1;
mod snapshot_v2;
mod snapshot_v3;
mod snapshot_v4;
mod snapshot_v5;
mod snapshot_v6;
mod state_hash;
mod stop_orders;
mod trail_table;
mod trailing_book;
mod trailing_stops;
mod trigger_book;
pub mod types;
mod view;

pub use command::*;
pub use config::{EngineConfig, NO_ACCOUNT};
pub use credential_table::AccountCredential;
pub use engine::{Engine, PREFETCH_MIN_LIVE_ORDERS};
pub use event::*;
pub use order_guess::OrderGuess;
pub use prefetch::prefetch_lines_of;
pub use prefetcher::{Prefetcher, COMMAND_AHEAD, MAX_PREFETCH_SPACING, PREFETCH_SPACING, PREFETCH_STAGES};
pub use snapshot::futures::{
    ArmedFlagsSnapshot, FuturesSnapshot, MarginSnapshot, OpenSideSnapshot, PerpSnapshot, PositionSnapshot,
    RiskTierSnapshot,
};
pub use snapshot::{
    AccountSnapshot, ArchivedEngineSnapshot, ArmedSnapshot, BalanceSnapshot, ConfigSnapshot, CredentialSnapshot,
    EngineSnapshot, ExpirySnapshot, FeeTierSnapshot, IcebergSnapshot, InstrumentSnapshot, LevelSnapshot,
    ListMemberSnapshot, OrderRiskSnapshot, OrderSnapshot, PendingSnapshot, SnapshotError, SpecSnapshot,
    TrackEntrySnapshot, TrailTrackSnapshot, TrailingSnapshot, MAX_RESTORE_ORDERS,
};
pub use snapshot_v1::{ArchivedEngineSnapshotV1, EngineSnapshotV1};
pub use snapshot_v2::{ArchivedEngineSnapshotV2, EngineSnapshotV2};
pub use snapshot_v3::{ArchivedEngineSnapshotV3, EngineSnapshotV3};
pub use snapshot_v4::{ArchivedEngineSnapshotV4, EngineSnapshotV4};
pub use snapshot_v5::{ArchivedEngineSnapshotV5, ConfigSnapshotV5, EngineSnapshotV5};
pub use snapshot_v6::{ArchivedEngineSnapshotV6, EngineSnapshotV6, FuturesSnapshotV6, PerpSnapshotV6};
pub use types::*;
pub use view::{ArmedView, InstrumentView, LevelView, OrderView};
