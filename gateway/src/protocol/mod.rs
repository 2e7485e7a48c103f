//! matchd wire protocol, version 1 (specified byte by byte in `docs/protocol.md`).
//!
//! One TCP connection carries one session. Every message is a *frame*: a little-endian `u16`
//! length prefix (the bytes that follow it), an 8-byte SBE-style [`Header`] (block length,
//! template id, schema id, version) and a fixed-layout little-endian block. New fields are only
//! ever appended to a block, so a decoder accepts a block longer than the one it knows (ignoring
//! the tail) and rejects a shorter one; an incompatible change gets a new template id.
//!
//! Layers:
//! - [`frame`]: the length prefix and header ([`decode_frame`], [`Header`], [`Frame`]).
//! - [`layout`]: the offset of every field of every block, checked at compile time.
//! - [`session`]: login, heartbeats, logout, session-level rejects (in the spirit of SoupBinTCP).
//! - [`order_entry`]: new order, cancel, amend, mass cancel (in the spirit of OUCH); they decode
//!   straight into the engine's command structs.
//! - [`execution`]: sequenced execution reports and [`execution_reports`], the allocation-free
//!   mapping from engine [`engine::Event`]s to per-account reports.
//! - [`admin`]: instrument administration and its reports.
//! - [`account`]: spot accounts (risk mode): account administration, deposits, withdrawals, fee
//!   schedules, the account query, and their reports (balances, query answers).
//! - [`market_data`]: the public market-data feed (templates 100-149): subscription, snapshots,
//!   per-instrument sequenced trades, level deltas, top of book and order-by-order messages, and
//!   [`market_data::MdServerMessage`], the server → subscriber direction.
//! - [`codec`]: the two directions, [`ClientMessage`] (client → server) and [`ServerMessage`]
//!   (server → client), each with a zero-allocation decoder and encoder.
//!
//! Nothing here allocates, panics on any input, or uses `unsafe`.

/// Declares a one-byte wire enum with `from_u8`, `as_u8` and `ALL`.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $n:expr),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name { $($(#[$vm])* $v = $n),+ }
        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// Decodes the wire byte; `None` for an unknown value.
            #[inline]
            pub fn from_u8(b: u8) -> Option<Self> {
                match b { $($n => Some(Self::$v),)+ _ => None }
            }
            /// The wire byte.
            #[inline]
            pub fn as_u8(self) -> u8 { self as u8 }
        }
    };
}

pub mod account;
pub mod admin;
pub mod codec;
pub mod error;
pub mod execution;
pub mod frame;
pub mod layout;
pub mod market_data;
pub mod order_entry;
pub mod session;

pub use account::{BalanceUpdate, QueryComplete};
pub use codec::{ClientMessage, MessageClass, ServerMessage};
pub use error::{DecodeError, EncodeError, FrameError};
pub use execution::{execution_reports, ExecReport, Fill, Liquidity};
pub use frame::{
    decode_frame, decode_frame_max, Frame, Header, DEFAULT_MAX_MESSAGE_LEN, HEADER_LEN, LENGTH_PREFIX_LEN,
    MIN_MESSAGE_LIMIT,
};
pub use market_data::{
    MdDeleteReason, MdInstrument, MdInstrumentKind, MdInstrumentState, MdLevel, MdOrderAdded, MdOrderDeleted,
    MdOrderExecuted, MdOrderModified, MdRejectReason, MdServerMessage, MdSnapshotEnd, MdSnapshotOrder,
    MdSnapshotRejectReason, MdSnapshotRejected, MdSnapshotRequest, MdSubscribe, MdSubscribeAccepted,
    MdSubscribeRejected, MdTopOfBook, MdTrade,
};
pub use session::{
    CancelOnDisconnect, Login, LoginAccepted, LoginRejectReason, LoginRejected, Logout, LogoutReason, Role,
    SessionReject, SessionRejectReason, CREDENTIAL_LEN,
};

/// Schema id carried in every header (`0x4D44`, the bytes `44 4D` on the wire).
pub const SCHEMA_ID: u16 = 0x4D44;
/// Schema version this code encodes. Decoders accept any version `>= 1` (fields are only appended).
pub const VERSION: u16 = 1;

/// Template ids, grouped in reserved ranges (see `docs/protocol.md`).
pub mod template {
    /// Session layer: `1..=19`.
    pub const SESSION_RANGE: core::ops::RangeInclusive<u16> = 1..=19;
    /// Order entry (client → server): `20..=39`.
    pub const ORDER_ENTRY_RANGE: core::ops::RangeInclusive<u16> = 20..=39;
    /// Execution reports (server → client, sequenced): `40..=59`.
    pub const EXECUTION_RANGE: core::ops::RangeInclusive<u16> = 40..=59;
    /// Administration (both directions): `60..=79`.
    pub const ADMIN_RANGE: core::ops::RangeInclusive<u16> = 60..=79;
    /// Accounts (balances, deposits, withdrawals, fees): `80..=99`; 80-89 client → server, 90-99
    /// server → client (sequenced).
    pub const ACCOUNTS_RANGE: core::ops::RangeInclusive<u16> = 80..=99;
    /// Reserved for market data: `100..=149`.
    pub const MARKET_DATA_RANGE: core::ops::RangeInclusive<u16> = 100..=149;

    /// Client → server: log in.
    pub const LOGIN: u16 = 1;
    /// Server → client: login accepted.
    pub const LOGIN_ACCEPTED: u16 = 2;
    /// Server → client: login rejected.
    pub const LOGIN_REJECTED: u16 = 3;
    /// Both directions: heartbeat.
    pub const HEARTBEAT: u16 = 4;
    /// Both directions: logout.
    pub const LOGOUT: u16 = 5;
    /// Server → client: a message was refused at the session level.
    pub const SESSION_REJECT: u16 = 6;

    /// Client → server: new order.
    pub const NEW_ORDER: u16 = 20;
    /// Client → server: cancel one order.
    pub const CANCEL: u16 = 21;
    /// Client → server: amend one order.
    pub const AMEND: u16 = 22;
    /// Client → server: mass cancel.
    pub const MASS_CANCEL: u16 = 23;

    /// Server → client: order accepted.
    pub const ORDER_ACCEPTED: u16 = 40;
    /// Server → client: command rejected (any command, admin ones included).
    pub const COMMAND_REJECTED: u16 = 41;
    /// Server → client: fill.
    pub const FILL: u16 = 42;
    /// Server → client: order cancelled.
    pub const ORDER_CANCELLED: u16 = 43;
    /// Server → client: order amended.
    pub const ORDER_AMENDED: u16 = 44;
    /// Server → client: self-trade prevented.
    pub const SELF_TRADE_PREVENTED: u16 = 45;
    /// Server → client: mass cancel done.
    pub const MASS_CANCELLED: u16 = 46;

    /// Admin client → server: add an instrument.
    pub const ADD_INSTRUMENT: u16 = 60;
    /// Admin client → server: change an instrument's state.
    pub const SET_INSTRUMENT_STATE: u16 = 61;
    /// Server → admin client: instrument added.
    pub const INSTRUMENT_ADDED: u16 = 70;
    /// Server → admin client: instrument state changed.
    pub const INSTRUMENT_STATE_CHANGED: u16 = 71;

    /// Admin client → server: open an account.
    pub const CREATE_ACCOUNT: u16 = 80;
    /// Admin client → server: credit an account.
    pub const DEPOSIT: u16 = 81;
    /// Admin client → server: debit an account's available balance.
    pub const WITHDRAW: u16 = 82;
    /// Admin client → server: suspend or resume an account, set its fee tier.
    pub const SET_ACCOUNT_STATUS: u16 = 83;
    /// Admin client → server: set an instrument's fee rates for one tier.
    pub const SET_FEE_SCHEDULE: u16 = 84;
    /// Trader (own account) or admin (any account) → server: balances and open orders.
    pub const QUERY_ACCOUNT: u16 = 85;
    /// Server → owner: an account's balance of one asset changed.
    pub const BALANCE_CHANGED: u16 = 90;
    /// Server → admin client: an account was opened or its status/tier changed.
    pub const ACCOUNT_UPDATED: u16 = 91;
    /// Server → admin client: a deposit or withdrawal was applied.
    pub const TRANSFER_APPLIED: u16 = 92;
    /// Server → admin client: fee rates set.
    pub const FEE_SCHEDULE_SET: u16 = 93;
    /// Server → asker: query answer, one balance.
    pub const ACCOUNT_BALANCE: u16 = 94;
    /// Server → asker: query answer, one open order.
    pub const OPEN_ORDER: u16 = 95;
    /// Server → asker: query answer complete.
    pub const QUERY_DONE: u16 = 96;

    /// Market data, subscriber → server: subscribe to the feed (instead of `Login`).
    pub const MD_SUBSCRIBE: u16 = 100;
    /// Market data, subscriber → server: ask for a snapshot of one book.
    pub const MD_SNAPSHOT_REQUEST: u16 = 101;
    /// Market data, server → subscriber: subscription accepted.
    pub const MD_SUBSCRIBE_ACCEPTED: u16 = 110;
    /// Market data, server → subscriber: subscription refused (the server closes).
    pub const MD_SUBSCRIBE_REJECTED: u16 = 111;
    /// Market data: an instrument (directory entry at subscription, or newly added).
    pub const MD_INSTRUMENT: u16 = 120;
    /// Market data: an instrument's trading state changed.
    pub const MD_INSTRUMENT_STATE: u16 = 121;
    /// Market data: a trade.
    pub const MD_TRADE: u16 = 122;
    /// Market data: a price level's aggregate changed.
    pub const MD_LEVEL: u16 = 123;
    /// Market data: the best bid or ask changed.
    pub const MD_TOP_OF_BOOK: u16 = 124;
    /// Market data: one price level of a snapshot.
    pub const MD_SNAPSHOT_LEVEL: u16 = 130;
    /// Market data: one resting order of a snapshot.
    pub const MD_SNAPSHOT_ORDER: u16 = 131;
    /// Market data: a snapshot is complete.
    pub const MD_SNAPSHOT_END: u16 = 132;
    /// Market data: a snapshot request was refused.
    pub const MD_SNAPSHOT_REJECTED: u16 = 133;
    /// Market data (order by order): an order rests on the book.
    pub const MD_ORDER_ADDED: u16 = 140;
    /// Market data (order by order): a resting order traded.
    pub const MD_ORDER_EXECUTED: u16 = 141;
    /// Market data (order by order): a resting order left the book without trading.
    pub const MD_ORDER_DELETED: u16 = 142;
    /// Market data (order by order): a resting order's quantity changed in place.
    pub const MD_ORDER_MODIFIED: u16 = 143;
}
