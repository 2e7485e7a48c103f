//! The control plane: messages between the gateway thread (which owns reading) and the
//! publisher thread (which owns writing to logged-in sessions and subscribers). Rare,
//! session-level traffic: a bounded lock-free queue each way, never on the
//! per-order path.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crossbeam_queue::ArrayQueue;
use engine::AccountCredential;
use protocol::{LogoutReason, MdSnapshotRequest, Role, SessionReject};

use crate::wake::Wake;

/// Identifies a connection across both threads (never reused).
pub type SessionId = u64;

/// Gateway -> publisher.
#[derive(Debug)]
pub enum Control {
    /// Credentials are valid: answer the login (sequence checks, replay) and
    /// take over writing to this connection.
    Login {
        /// Connection.
        session: SessionId,
        /// Authenticated account.
        account: u32,
        /// Its role.
        role: Role,
        /// A clone of the connection for writing.
        stream: std::net::TcpStream,
        /// Highest report sequence the client has seen.
        last_seen_seq: u64,
        /// Heartbeat interval in force.
        heartbeat_interval_ms: u32,
        /// Heartbeat timeout in force (reported to the client).
        heartbeat_timeout_ms: u32,
        /// Cancel-on-disconnect in force.
        cancel_on_disconnect: bool,
        /// Input ring sequence the gateway had claimed when it read this
        /// login: reports of every command before it (e.g. from the account's
        /// previous connection) are numbered before the login is answered.
        after_input_seq: i64,
    },
    /// The server ends the session: write `Logout(reason)`, flush, close.
    Logout {
        /// Connection.
        session: SessionId,
        /// Why.
        reason: LogoutReason,
    },
    /// Write an unsequenced session-level reject.
    SessionReject {
        /// Connection.
        session: SessionId,
        /// The reject.
        reject: SessionReject,
    },
    /// The connection is gone (the gateway saw EOF or an error): forget it.
    Closed {
        /// Connection.
        session: SessionId,
    },
    /// A market-data subscription (`MdSubscribe` instead of a login): accept or refuse it and
    /// take over writing to this connection.
    MdSubscribe(SubscribeRequest),
    /// A subscriber asks for a snapshot.
    MdSnapshot {
        /// Connection.
        session: SessionId,
        /// The request.
        request: MdSnapshotRequest,
    },
}

/// What a subscription hand-over carries (see [`Control::MdSubscribe`]).
pub struct SubscribeRequest {
    /// Connection.
    pub session: SessionId,
    /// A clone of the connection for writing.
    pub stream: std::net::TcpStream,
    /// Heartbeat interval in force.
    pub heartbeat_interval_ms: u32,
    /// Heartbeat timeout in force.
    pub heartbeat_timeout_ms: u32,
    /// Order-by-order asked for.
    pub order_by_order: bool,
}

impl std::fmt::Debug for SubscribeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscribeRequest")
            .field("session", &self.session)
            .field("heartbeat_interval_ms", &self.heartbeat_interval_ms)
            .field("order_by_order", &self.order_by_order)
            .finish()
    }
}

/// Publisher -> gateway: how a login handed over with [`Control::Login`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginOutcome {
    /// Connection.
    pub session: SessionId,
    /// Accepted (the gateway starts reading orders) or rejected (it closes).
    pub accepted: bool,
}

/// Publisher -> gateway: an account's credential changed in the engine (`CredentialChanged`, in
/// journal order); the gateway checks logins against it from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialUpdate {
    /// The account.
    pub account: u32,
    /// Its credential now.
    pub credential: AccountCredential,
}

/// Credential updates the queue holds. They come from admin commands, so the gateway drains them
/// long before this many pile up; if it ever falls that far behind, the publisher keeps the rest
/// in order and retries (an update is never dropped).
pub const CREDENTIAL_QUEUE_LEN: usize = 256;

/// The queues and wakers shared by the gateway and publisher threads.
pub struct ControlPlane {
    /// Gateway -> publisher.
    pub to_publisher: ArrayQueue<Control>,
    /// Publisher -> gateway.
    pub to_gateway: ArrayQueue<LoginOutcome>,
    /// Publisher -> gateway: credential changes, in journal order.
    pub credentials: ArrayQueue<CredentialUpdate>,
    /// Wakes the publisher.
    pub publisher_wake: Wake,
    /// Wakes the gateway.
    pub gateway_wake: Wake,
    /// Matcher -> gateway: the engine's earliest queued expiry (ns since the Unix epoch,
    /// `u64::MAX`: none). Once the gateway's clock passes it, the gateway journals a
    /// `TimeTick`, so a good-till-date order expires while the market is idle too.
    pub next_expiry_ns: AtomicU64,
}

impl ControlPlane {
    /// Queues sized for `sessions` connections.
    pub fn new(sessions: usize, publisher_waker: mio::Waker, gateway_waker: mio::Waker) -> Arc<Self> {
        Arc::new(Self {
            to_publisher: ArrayQueue::new(sessions.max(64) * 4),
            to_gateway: ArrayQueue::new(sessions.max(64) * 2),
            credentials: ArrayQueue::new(CREDENTIAL_QUEUE_LEN),
            publisher_wake: Wake::new(publisher_waker),
            gateway_wake: Wake::new(gateway_waker),
            next_expiry_ns: AtomicU64::new(u64::MAX),
        })
    }
}
