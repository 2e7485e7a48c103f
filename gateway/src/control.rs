//! Messages between the gateway thread (which owns reading) and the
//! publisher thread (which owns writing to logged-in sessions). Rare,
//! session-level traffic: a bounded lock-free queue each way, never on the
//! per-order path.

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_queue::ArrayQueue;

use crate::protocol::{LogoutReason, Role, SessionReject};

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
    MdSubscribe(crate::md_feed::SubscribeRequest),
    /// A subscriber asks for a snapshot.
    MdSnapshot {
        /// Connection.
        session: SessionId,
        /// The request.
        request: crate::protocol::MdSnapshotRequest,
    },
}

impl std::fmt::Debug for crate::md_feed::SubscribeRequest {
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

/// Wakes a thread that sleeps in `mio::Poll::poll` when another thread has
/// work for it, paying the eventfd write only when it actually sleeps.
pub struct Wake {
    sleeping: AtomicBool,
    waker: mio::Waker,
}

impl Wake {
    /// Wraps a waker registered with the sleeper's poll.
    pub fn new(waker: mio::Waker) -> Self {
        Self { sleeping: AtomicBool::new(false), waker }
    }

    /// The sleeper calls this before re-checking for work and sleeping.
    #[inline]
    pub fn about_to_sleep(&self) {
        self.sleeping.store(true, Ordering::Relaxed);
        // Pairs with the fence in `notify`: either the sleeper's re-check sees
        // the producer's work, or the producer sees `sleeping` (Dekker).
        fence(Ordering::SeqCst);
    }

    /// The sleeper calls this when it wakes or finds work.
    #[inline]
    pub fn awake(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// A producer calls this after making work visible.
    #[inline]
    pub fn notify(&self) {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) {
            // A failed wake only delays the sleeper to its poll timeout.
            let _ = self.waker.wake();
        }
    }
}

/// The queues and wakers shared by the gateway and publisher threads.
pub struct ControlPlane {
    /// Gateway -> publisher.
    pub to_publisher: ArrayQueue<Control>,
    /// Publisher -> gateway.
    pub to_gateway: ArrayQueue<LoginOutcome>,
    /// Wakes the publisher.
    pub publisher_wake: Wake,
    /// Wakes the gateway.
    pub gateway_wake: Wake,
}

impl ControlPlane {
    /// Queues sized for `sessions` connections.
    pub fn new(sessions: usize, publisher_waker: mio::Waker, gateway_waker: mio::Waker) -> Arc<Self> {
        Arc::new(Self {
            to_publisher: ArrayQueue::new(sessions.max(64) * 4),
            to_gateway: ArrayQueue::new(sessions.max(64) * 2),
            publisher_wake: Wake::new(publisher_waker),
            gateway_wake: Wake::new(gateway_waker),
        })
    }
}
