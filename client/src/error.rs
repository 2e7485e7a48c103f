//! [`ClientError`]: what can go wrong on a client session, order entry and market data alike.

use std::io;

use protocol::{DecodeError, FrameError, LoginRejectReason, CREDENTIAL_LEN};

/// Everything that can go wrong on a client session.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TLS handshake failed: e.g. the server's certificate is not signed by a trusted CA or
    /// not valid for the server name, or the server does not speak TLS on this port.
    #[error("TLS: {0}")]
    Tls(rustls::Error),
    /// The TLS settings cannot be used (no CA certificate, a malformed server name).
    #[error("TLS setup: {0}")]
    TlsSetup(String),
    /// A socket error (connect refused, reset ...).
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// Connecting or logging in took too long, or the server was silent for longer than the
    /// session's heartbeat timeout.
    #[error("timed out")]
    Timeout,
    /// The connection is closed (by the server, after its `Logout`, or after a fatal error).
    #[error("connection closed")]
    Closed,
    /// The server sent a well-framed message this client cannot decode (the frame was skipped;
    /// the protocol says to log out and reconnect).
    #[error("malformed message from the server: {0}")]
    Protocol(#[from] DecodeError),
    /// The server's byte stream cannot be split into frames; the connection is unusable.
    #[error("framing error from the server: {0}")]
    Framing(#[from] FrameError),
    /// The server answered the login with `LoginRejected` (and closes the connection).
    #[error("login rejected: {reason:?} (highest_seq {highest_seq}, oldest_available_seq {oldest_available_seq})")]
    LoginRejected {
        /// Why.
        reason: LoginRejectReason,
        /// The account's highest sequence number (for `SequenceAhead` / `SequenceUnavailable`).
        highest_seq: u64,
        /// Oldest sequence number still available (for `SequenceUnavailable`).
        oldest_available_seq: u64,
        /// For `NotLeader`: the replica set's leader, when the node knows it.
        leader: Option<std::net::SocketAddr>,
    },
    /// A report's `seq` was not the previous one + 1 (a gap or a duplicate): a server bug. The
    /// report was not processed and [`Client::last_seen_seq`] is unchanged: log out and log in
    /// again with it.
    #[error("sequence gap: expected seq {expected}, got {got}")]
    SequenceGap {
        /// `last_seen_seq + 1`.
        expected: u64,
        /// The report's `seq`.
        got: u64,
    },
    /// The credential is longer than the protocol's [`CREDENTIAL_LEN`] bytes (nothing was sent).
    #[error("credential of {len} bytes is longer than {CREDENTIAL_LEN}")]
    CredentialTooLong {
        /// Its length.
        len: usize,
    },
    /// A message that makes no sense at this point (e.g. a report before the login answer).
    #[error("unexpected: {0}")]
    Unexpected(String),
    /// The server refused a market-data subscription (`MdSubscribeRejected`) and closes the
    /// connection.
    #[error("market data subscription rejected: {reason:?}")]
    SubscribeRejected {
        /// Why.
        reason: protocol::MdRejectReason,
    },
}
