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
//!   schedules, the account query, and their reports (balances, query answers); and (both modes)
//!   the credential commands that set or revoke an account's API secret.
//! - [`futures`]: perpetual futures (templates 150-199): the admin, account and oracle commands
//!   and their reports (positions, wallets, liquidations, funding).
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
mod field;
pub mod frame;
pub mod futures;
pub mod layout;
pub mod market_data;
pub mod order_entry;
pub mod session;
pub mod template;

pub use account::{credential_fingerprint, BalanceUpdate, CredentialReport, QueryComplete};
pub use codec::{ClientMessage, MessageClass, ServerMessage};
pub use error::{DecodeError, EncodeError, FrameError};
pub use execution::{execution_reports, wire_reject_reason, ExecReport, Fill, Liquidity};
pub use frame::{
    decode_frame, decode_frame_max, Frame, Header, DEFAULT_MAX_MESSAGE_LEN, HEADER_LEN, LENGTH_PREFIX_LEN,
    MIN_MESSAGE_LIMIT, SCHEMA_ID, VERSION,
};
pub use futures::{AdlRole, Deleveraged, FundingReport, FuturesReport, MarkReport, PositionUpdate, WalletUpdate};
pub use market_data::{
    MdDeleteReason, MdFunding, MdInstrument, MdInstrumentKind, MdInstrumentState, MdLevel, MdMarkPrice, MdOpenInterest,
    MdOrderAdded, MdOrderDeleted, MdOrderExecuted, MdOrderModified, MdRejectReason, MdServerMessage, MdSnapshotEnd,
    MdSnapshotOrder, MdSnapshotRejectReason, MdSnapshotRejected, MdSnapshotRequest, MdSubscribe, MdSubscribeAccepted,
    MdSubscribeRejected, MdTopOfBook, MdTrade,
};
pub use session::{
    CancelOnDisconnect, Login, LoginAccepted, LoginRejectReason, LoginRejected, Logout, LogoutReason, Role,
    SessionReject, SessionRejectReason, CREDENTIAL_LEN,
};
