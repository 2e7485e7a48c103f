//! Session layer: login, heartbeats, logout and session-level rejects (in the spirit of
//! SoupBinTCP). None of these messages is sequenced.

use crate::error::{DecodeError, FrameError};
use crate::field::{bool_from_u8, enum_at};
use crate::frame::{Rd, Wr};
use crate::layout;
use crate::template;

/// Bytes of the login credential.
pub const CREDENTIAL_LEN: usize = 32;
/// `SessionReject::field_offset` on the wire when there is no field.
pub const NO_FIELD_OFFSET: u16 = 0xFFFF;

wire_enum!(
    /// What a session may do; the credential must be valid for the role.
    Role {
        /// Order entry for one account.
        Trader = 1,
        /// Instrument administration.
        Admin = 2,
    }
);

wire_enum!(
    /// Whether the server cancels the account's live orders when the session ends other than by a
    /// client `Logout`.
    CancelOnDisconnect {
        /// The server's configured default (`server.cancel_on_disconnect_default`).
        Default = 0,
        /// Cancel.
        Enabled = 1,
        /// Do not cancel.
        Disabled = 2,
    }
);

wire_enum!(
    /// Why a login was refused. The server closes the connection after `LoginRejected`.
    LoginRejectReason {
        /// The credential is not valid for this account and role, or there is no such account (the
        /// server answers both the same way, so the answer never tells which accounts exist).
        BadCredentials = 1,
        /// Reserved: no longer sent (an unknown account is answered with `BadCredentials`).
        UnknownAccount = 2,
        /// The account already has a session (one session per account).
        AlreadyLoggedIn = 3,
        /// `last_seen_seq` is above the account's highest sequence number.
        SequenceAhead = 4,
        /// The server is starting or recovering; retry later.
        NotReady = 5,
        /// The server has no room for another session.
        TooManySessions = 6,
        /// Messages after `last_seen_seq` are no longer kept for resend (`oldest_available_seq`
        /// says from where they are).
        SequenceUnavailable = 7,
        /// Too many failed logins for this account or from this address recently: the server did
        /// not check the credential. Retry after a while (`server.login_failures_per_*_per_minute`).
        TooManyAttempts = 8,
        /// This role may not log in on this listener or from this address (admin logins are
        /// accepted only on the admin listener, or from `server.admin_allow` addresses).
        NotPermittedHere = 9,
        /// (Version 2.) This node of a replica set is not the leader: `leader` names the leader's
        /// order-entry address when it is known; log in there. A version-1 login is answered
        /// `NotReady` instead.
        NotLeader = 10,
    }
);

wire_enum!(
    /// Why a session ends (both directions).
    LogoutReason {
        /// The sender asked to end the session.
        UserRequest = 1,
        /// The peer was silent for longer than the heartbeat timeout.
        HeartbeatTimeout = 2,
        /// The client read too slowly; the server's output queue for it overflowed.
        SlowConsumer = 3,
        /// A framing error or other protocol violation.
        ProtocolError = 4,
        /// The server is shutting down.
        ServerShutdown = 5,
        /// No `Login` arrived in time after the connection was opened.
        LoginTimeout = 6,
        /// The server's limits for connections that have not logged in yet were reached (this one
        /// was refused, or was the oldest waiting and made room for a newer one): reconnect and
        /// log in promptly.
        ConnectionLimit = 7,
        /// An admin revoked the account's API secret (`RevokeCredential`): the session ends and
        /// logins are refused until a new secret is set.
        CredentialRevoked = 8,
    }
);

wire_enum!(
    /// Why one message was refused at the session level (it never reached the engine).
    SessionRejectReason {
        /// The template id is unknown in this direction.
        UnknownTemplate = 1,
        /// The block length is below the template's, or disagrees with the frame length, or the
        /// frame length is below the header's.
        BadLength = 2,
        /// A field holds a value outside its enum or flag set (`field_offset` says which).
        BadFieldValue = 3,
        /// Only `Login` is allowed before the login is accepted.
        NotLoggedIn = 4,
        /// The session exceeded its message rate.
        RateLimited = 5,
        /// The frame length exceeds the maximum.
        TooLarge = 6,
        /// The schema id is not this protocol's.
        UnknownSchema = 7,
        /// The schema version is not supported.
        UnsupportedVersion = 8,
        /// The session's role may not send this message (order entry on an admin session or
        /// administration on a trader session).
        NotPermitted = 9,
        /// A message that makes no sense now (e.g. a second `Login`).
        UnexpectedMessage = 10,
    }
);

/// Client → server: the first message of every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Login {
    /// The account to trade (or, for [`Role::Admin`], the admin's account id).
    pub account: u32,
    /// Secret for this account and role, NUL-padded.
    pub credential: [u8; CREDENTIAL_LEN],
    /// The last sequence number the client has seen for this account (0 = none). The server
    /// resends every message after it.
    pub last_seen_seq: u64,
    /// Requested heartbeat interval in ms (0 = the server's default).
    pub heartbeat_interval_ms: u32,
    /// Requested role.
    pub role: Role,
    /// Cancel the account's live orders if the session ends other than by a client `Logout`.
    pub cancel_on_disconnect: CancelOnDisconnect,
}

/// Server → client: the login succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginAccepted {
    /// The account.
    pub account: u32,
    /// Sequence number of the next sequenced message on this session (`last_seen_seq + 1`).
    pub next_seq: u64,
    /// The account's highest sequence number when the login was accepted: messages
    /// `next_seq..=highest_seq` are replayed first, then new ones follow.
    pub highest_seq: u64,
    /// Heartbeat interval in ms, both directions.
    pub heartbeat_interval_ms: u32,
    /// The server ends the session after this much silence from the client, in ms.
    pub heartbeat_timeout_ms: u32,
    /// The role granted.
    pub role: Role,
    /// Whether cancel-on-disconnect is on.
    pub cancel_on_disconnect: bool,
}

/// Server → client: the login failed; the server closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginRejected {
    /// Account from the login.
    pub account: u32,
    /// Why.
    pub reason: LoginRejectReason,
    /// The account's highest sequence number, for `SequenceAhead` and `SequenceUnavailable`;
    /// else 0.
    pub highest_seq: u64,
    /// The oldest sequence number the server can resend, for `SequenceUnavailable`; else 0.
    pub oldest_available_seq: u64,
    /// For `NotLeader`: the leader's order-entry address, when known (version 2).
    pub leader: Option<std::net::SocketAddr>,
}

/// Both directions: the session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Logout {
    /// Why.
    pub reason: LogoutReason,
}

/// Server → client: one message was refused before reaching the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionReject {
    /// Template id of the refused message (0 for a framing error).
    pub ref_template_id: u16,
    /// Why.
    pub reason: SessionRejectReason,
    /// Offset of the bad field in the refused block, for `BadFieldValue`.
    pub field_offset: Option<u16>,
    /// Client order id of the refused `NewOrder` (or of the target of a `Cancel`/`Amend` by client
    /// order id) when it could be read; else 0.
    pub client_order_id: u64,
}

impl Login {
    pub(crate) fn write(&self, w: &mut Wr<'_>) {
        use layout::login::*;
        w.u64(LAST_SEEN_SEQ, self.last_seen_seq);
        w.u32(ACCOUNT, self.account);
        w.u32(HEARTBEAT_INTERVAL_MS, self.heartbeat_interval_ms);
        w.u8(ROLE, self.role.as_u8());
        w.u8(CANCEL_ON_DISCONNECT, self.cancel_on_disconnect.as_u8());
        w.bytes(CREDENTIAL, &self.credential);
    }

    pub(crate) fn read(r: &Rd<'_>) -> Result<Login, DecodeError> {
        use layout::login::*;
        let t = template::LOGIN;
        let role = enum_at(r, t, "role", ROLE, Role::from_u8)?;
        let cod = enum_at(r, t, "cancel_on_disconnect", CANCEL_ON_DISCONNECT, CancelOnDisconnect::from_u8)?;
        Ok(Login {
            account: r.u32(ACCOUNT),
            credential: r.bytes(CREDENTIAL),
            last_seen_seq: r.u64(LAST_SEEN_SEQ),
            heartbeat_interval_ms: r.u32(HEARTBEAT_INTERVAL_MS),
            role,
            cancel_on_disconnect: cod,
        })
    }

    /// Packs a secret into a credential field; `None` if longer than [`CREDENTIAL_LEN`].
    pub fn credential_from(secret: &[u8]) -> Option<[u8; CREDENTIAL_LEN]> {
        let mut c = [0u8; CREDENTIAL_LEN];
        c.get_mut(..secret.len())?.copy_from_slice(secret);
        Some(c)
    }
}

impl LoginAccepted {
    pub(crate) fn write(&self, w: &mut Wr<'_>) {
        use layout::login_accepted::*;
        w.u64(NEXT_SEQ, self.next_seq);
        w.u64(HIGHEST_SEQ, self.highest_seq);
        w.u32(ACCOUNT, self.account);
        w.u32(HEARTBEAT_INTERVAL_MS, self.heartbeat_interval_ms);
        w.u32(HEARTBEAT_TIMEOUT_MS, self.heartbeat_timeout_ms);
        w.u8(ROLE, self.role.as_u8());
        w.u8(CANCEL_ON_DISCONNECT, self.cancel_on_disconnect as u8);
    }

    pub(crate) fn read(r: &Rd<'_>) -> Result<LoginAccepted, DecodeError> {
        use layout::login_accepted::*;
        let t = template::LOGIN_ACCEPTED;
        let role = enum_at(r, t, "role", ROLE, Role::from_u8)?;
        let cod = enum_at(r, t, "cancel_on_disconnect", CANCEL_ON_DISCONNECT, bool_from_u8)?;
        Ok(LoginAccepted {
            account: r.u32(ACCOUNT),
            next_seq: r.u64(NEXT_SEQ),
            highest_seq: r.u64(HIGHEST_SEQ),
            heartbeat_interval_ms: r.u32(HEARTBEAT_INTERVAL_MS),
            heartbeat_timeout_ms: r.u32(HEARTBEAT_TIMEOUT_MS),
            role,
            cancel_on_disconnect: cod,
        })
    }
}

impl LoginRejected {
    pub(crate) fn write(&self, w: &mut Wr<'_>) {
        use layout::login_rejected::*;
        w.u64(HIGHEST_SEQ, self.highest_seq);
        w.u64(OLDEST_AVAILABLE_SEQ, self.oldest_available_seq);
        w.u32(ACCOUNT, self.account);
        w.u8(REASON, self.reason.as_u8());
        if let Some(addr) = self.leader {
            let ip = match addr.ip() {
                std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                std::net::IpAddr::V6(v6) => v6,
            };
            w.bytes(LEADER_ADDR, &ip.octets());
            w.u16(LEADER_PORT, addr.port());
        }
    }

    pub(crate) fn read(r: &Rd<'_>) -> Result<LoginRejected, DecodeError> {
        use layout::login_rejected::*;
        let reason = enum_at(r, template::LOGIN_REJECTED, "reason", REASON, LoginRejectReason::from_u8)?;
        // A version-1 block ends before the leader's address.
        let leader = (r.0.len() >= BLOCK_LEN).then(|| {
            let ip = std::net::Ipv6Addr::from(r.bytes::<16>(LEADER_ADDR));
            let ip = ip.to_ipv4_mapped().map_or(std::net::IpAddr::V6(ip), std::net::IpAddr::V4);
            std::net::SocketAddr::new(ip, r.u16(LEADER_PORT))
        });
        Ok(LoginRejected {
            account: r.u32(ACCOUNT),
            reason,
            highest_seq: r.u64(HIGHEST_SEQ),
            oldest_available_seq: r.u64(OLDEST_AVAILABLE_SEQ),
            leader: leader.filter(|a| a.port() != 0),
        })
    }
}

impl Logout {
    pub(crate) fn write(&self, w: &mut Wr<'_>) {
        w.u8(layout::logout::REASON, self.reason.as_u8());
    }

    pub(crate) fn read(r: &Rd<'_>) -> Result<Logout, DecodeError> {
        let reason = enum_at(r, template::LOGOUT, "reason", layout::logout::REASON, LogoutReason::from_u8)?;
        Ok(Logout { reason })
    }
}

impl SessionReject {
    pub(crate) fn write(&self, w: &mut Wr<'_>) {
        use layout::session_reject::*;
        w.u64(CLIENT_ORDER_ID, self.client_order_id);
        w.u16(REF_TEMPLATE_ID, self.ref_template_id);
        w.u16(FIELD_OFFSET, self.field_offset.unwrap_or(NO_FIELD_OFFSET));
        w.u8(REASON, self.reason.as_u8());
    }

    pub(crate) fn read(r: &Rd<'_>) -> Result<SessionReject, DecodeError> {
        use layout::session_reject::*;
        let reason = enum_at(r, template::SESSION_REJECT, "reason", REASON, SessionRejectReason::from_u8)?;
        let off = r.u16(FIELD_OFFSET);
        Ok(SessionReject {
            ref_template_id: r.u16(REF_TEMPLATE_ID),
            reason,
            field_offset: if off == NO_FIELD_OFFSET { None } else { Some(off) },
            client_order_id: r.u64(CLIENT_ORDER_ID),
        })
    }

    /// A reject for a well-formed message refused by session policy (`NotLoggedIn`,
    /// `RateLimited`, `NotPermitted`, `UnexpectedMessage`); `body` is its block.
    pub fn refuse(ref_template_id: u16, body: &[u8], reason: SessionRejectReason) -> SessionReject {
        SessionReject {
            ref_template_id,
            reason,
            field_offset: None,
            client_order_id: crate::order_entry::peek_client_order_id(ref_template_id, body),
        }
    }
}

// How a refused frame or message is reported to the peer: the session layer owns the mapping
// from decoding errors to `SessionReject`s.
impl FrameError {
    /// The session-reject reason that reports this error.
    pub fn reject_reason(&self) -> SessionRejectReason {
        match self {
            FrameError::TooShort { .. } => SessionRejectReason::BadLength,
            FrameError::TooLarge { .. } => SessionRejectReason::TooLarge,
        }
    }

    /// The `SessionReject` the server sends before closing the connection.
    pub fn to_session_reject(&self) -> SessionReject {
        SessionReject { ref_template_id: 0, reason: self.reject_reason(), field_offset: None, client_order_id: 0 }
    }
}

impl DecodeError {
    /// The session-reject reason that reports this error.
    pub fn reject_reason(&self) -> SessionRejectReason {
        match self {
            DecodeError::UnknownSchema { .. } => SessionRejectReason::UnknownSchema,
            DecodeError::UnsupportedVersion { .. } => SessionRejectReason::UnsupportedVersion,
            DecodeError::UnknownTemplate { .. } => SessionRejectReason::UnknownTemplate,
            DecodeError::LengthMismatch { .. } | DecodeError::BlockTooShort { .. } => SessionRejectReason::BadLength,
            DecodeError::BadField { .. } => SessionRejectReason::BadFieldValue,
        }
    }

    /// Offset of the bad field in the block, for [`DecodeError::BadField`].
    pub fn field_offset(&self) -> Option<u16> {
        match *self {
            DecodeError::BadField { offset, .. } => Some(offset),
            _ => None,
        }
    }

    /// The `SessionReject` that reports this error. `body` is the refused block; its client order
    /// id is echoed when the template is `NewOrder` and the block holds one.
    pub fn to_session_reject(&self, body: &[u8]) -> SessionReject {
        let template_id = self.template_id();
        SessionReject {
            ref_template_id: template_id,
            reason: self.reject_reason(),
            field_offset: self.field_offset(),
            client_order_id: crate::order_entry::peek_client_order_id(template_id, body),
        }
    }
}
