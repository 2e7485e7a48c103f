//! The gateway thread: a mio event loop that accepts connections, runs the
//! login handshake, decodes order-entry frames straight into input ring
//! slots (stamped with the receive time), and enforces the session limits.
//! It never blocks on the ring: a full ring stops it reading sockets
//! (backpressure reaches clients through TCP), it never drops a command.
//!
//! Before a login is handed to the publisher the gateway writes to the
//! connection itself (login rejects, pre-login session rejects); after that
//! only the publisher writes, so frames never interleave.

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{Command, CommandKind, MassCancel};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use protocol::{
    decode_frame_max, ClientMessage, Frame, Login, LoginRejectReason, LoginRejected, Logout, LogoutReason,
    MdRejectReason, MdServerMessage, MdSubscribe, MdSubscribeRejected, MessageClass, Role, ServerMessage,
    SessionReject, SessionRejectReason,
};
use ring::Producer;

use crate::clock::now_ns;
use crate::connection::{clone_for_writing, write_direct, Conn, End, State};
use crate::control_plane::{Control, ControlPlane, SessionId, SubscribeRequest};
use crate::gateway_stats::{command_type_index, GatewayStats, COMMAND_TYPES};
use crate::input_slot::InputSlot;
use crate::internal_peers::{InternalPeers, PeerTable};
use crate::leadership::Leadership;
use crate::login::{
    cancel_on_disconnect_in_force, heartbeat_in_force, AccountAuth, Authenticator, Listener, LoginPolicy, LoginRefusal,
};
use crate::login_throttle::{canonical_ip, LoginThrottle};
use crate::pending_logins::PendingLogins;
use crate::rate_limit::TokenBucket;
use crate::server_config::ServerConfig;

const LISTENER: Token = Token(usize::MAX - 2);
/// The market-data-only listener (`market_data.listen`).
const MD_LISTENER: Token = Token(usize::MAX - 4);
/// The admin-only listener (`server.admin_listen`).
const ADMIN_LISTENER: Token = Token(usize::MAX - 5);
/// The internal listener the TLS terminator connects to.
const INTERNAL_LISTENER: Token = Token(usize::MAX - 6);
/// Token of the gateway's waker.
pub const GATEWAY_WAKER_TOKEN: Token = Token(usize::MAX - 3);
/// Read buffer per connection: many frames per read, bounded.
const READ_BUF_BYTES: usize = 64 * 1024;
const TIMER_PERIOD: Duration = Duration::from_millis(50);

/// What handling one frame did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The frame was consumed; go on with the next.
    Next,
    /// The frame was consumed; stop here (a login waits for the publisher's answer).
    Pause,
    /// The frame stays in the buffer; stop here (waiting for the login answer or ring space).
    Hold,
    /// End the connection (what is left in its buffer no longer matters).
    End(End),
}

/// The slots one [`Gateway::process`] call claimed, published together at its end.
struct Batch {
    /// Receive time stamped into every command of the batch.
    timestamp_ns: u64,
    last_claimed: Option<i64>,
    claimed: u64,
    by_type: [u64; COMMAND_TYPES.len()],
}

/// The sockets the gateway accepts on, bound by the wiring before any thread starts.
pub struct Listeners {
    /// `server.listen`.
    pub orders: TcpListener,
    /// `market_data.listen`, if the feed has its own listener.
    pub market_data: Option<TcpListener>,
    /// `server.admin_listen`, if admins have their own listener.
    pub admin: Option<TcpListener>,
    /// The loopback listener the TLS terminator connects to, if TLS is on.
    pub internal: Option<InternalListener>,
}

/// The loopback listener that takes the TLS terminator's plaintext connections, and the queue
/// that says which client and listener each one stands for ([`crate::internal_peers`]).
pub struct InternalListener {
    /// Bound on 127.0.0.1 with an ephemeral port.
    pub listener: TcpListener,
    /// The terminator's registrations.
    pub peers: Arc<InternalPeers>,
}

/// The gateway stage.
pub struct Gateway {
    poll: Poll,
    listeners: Listeners,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    auth: Authenticator,
    policy: LoginPolicy,
    throttle: LoginThrottle,
    pending: PendingLogins,
    /// Registrations of the TLS terminator's connections, by source port.
    internal_peers: PeerTable,
    settings: ServerConfig,
    /// The input ring's producer: `None` on a replica-set follower until it leads.
    producer: Option<Producer<InputSlot>>,
    /// In a replica set: where the producer arrives from, and who leads meanwhile.
    leadership: Option<Arc<Leadership>>,
    control: Arc<ControlPlane>,
    /// Commands the gateway makes itself (cancel-on-disconnect) waiting for ring space.
    internal: VecDeque<Command>,
    next_session: SessionId,
    open: usize,
    stop: Arc<AtomicBool>,
    stats: Arc<GatewayStats>,
    /// `engine.oracle_account`: the only account whose session may send mark prices and
    /// funding (`None`: no session may).
    oracle_account: Option<u32>,
}

impl Gateway {
    /// A gateway on bound listeners. `oracle_account` is the engine's (the journal's engine
    /// config): its session alone may send `SetMarkPrice` and `ApplyFunding`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        poll: Poll,
        mut listeners: Listeners,
        accounts: HashMap<u32, AccountAuth>,
        oracle_account: Option<u32>,
        settings: ServerConfig,
        producer: Option<Producer<InputSlot>>,
        leadership: Option<Arc<Leadership>>,
        control: Arc<ControlPlane>,
        stop: Arc<AtomicBool>,
        stats: Arc<GatewayStats>,
    ) -> std::io::Result<Self> {
        assert!(producer.is_some() || leadership.is_some(), "a gateway without a producer waits for leadership");
        poll.registry().register(&mut listeners.orders, LISTENER, Interest::READABLE)?;
        if let Some(l) = listeners.market_data.as_mut() {
            poll.registry().register(l, MD_LISTENER, Interest::READABLE)?;
        }
        if let Some(l) = listeners.admin.as_mut() {
            poll.registry().register(l, ADMIN_LISTENER, Interest::READABLE)?;
        }
        if let Some(l) = listeners.internal.as_mut() {
            poll.registry().register(&mut l.listener, INTERNAL_LISTENER, Interest::READABLE)?;
        }
        let policy =
            LoginPolicy { admin_listener: listeners.admin.is_some(), admin_allow: settings.admin_allow.clone() };
        Ok(Self {
            poll,
            listeners,
            conns: Vec::new(),
            free: Vec::new(),
            auth: Authenticator::new(accounts),
            policy,
            throttle: LoginThrottle::new(
                settings.login_failures_per_account_per_minute,
                settings.login_failures_per_address_per_minute,
            ),
            pending: PendingLogins::new(
                settings.max_pending_logins as usize,
                settings.max_pending_logins_per_address as usize,
            ),
            internal_peers: PeerTable::new(),
            settings,
            producer,
            leadership,
            control,
            internal: VecDeque::new(),
            next_session: 1,
            open: 0,
            stop,
            stats,
            oracle_account,
        })
    }

    /// Runs until `stop` is set (then closes the ring so the other stages
    /// drain and stop) or the ring is halted by a failing stage.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut last_timers = Instant::now();
        while !self.stop.load(Ordering::Relaxed) && !self.producer.as_ref().is_some_and(|p| p.is_halted()) {
            if self.producer.is_none() {
                self.producer = self.leadership.as_ref().and_then(|l| l.take());
                if self.producer.is_some() {
                    tracing::info!("this node leads: the gateway takes orders");
                }
            }
            let busy = !self.internal.is_empty() || self.conns.iter().flatten().any(|c| c.blocked);
            let timeout = if busy { Duration::from_micros(100) } else { TIMER_PERIOD };
            self.control.gateway_wake.about_to_sleep();
            let outcomes_waiting = !self.control.to_gateway.is_empty() || !self.control.credentials.is_empty();
            let res = self.poll.poll(&mut events, Some(if outcomes_waiting { Duration::ZERO } else { timeout }));
            self.control.gateway_wake.awake();
            if let Err(e) = res {
                if e.kind() != ErrorKind::Interrupted {
                    tracing::error!("gateway poll failed: {e}");
                    break;
                }
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept_all(Listener::Orders),
                    MD_LISTENER => self.accept_all(Listener::MarketData),
                    ADMIN_LISTENER => self.accept_all(Listener::Admin),
                    INTERNAL_LISTENER => self.accept_internal(),
                    GATEWAY_WAKER_TOKEN => {}
                    Token(idx) => self.read_conn(idx),
                }
            }
            while let Some(o) = self.control.to_gateway.pop() {
                self.on_login_outcome(o.session, o.accepted);
            }
            self.apply_credential_updates();
            if busy {
                self.drain_internal();
                for idx in 0..self.conns.len() {
                    let room = self.producer.as_ref().is_some_and(|p| p.free_slots() > 0);
                    if matches!(&self.conns[idx], Some(c) if c.blocked) && room {
                        if let Some(c) = self.conns[idx].as_mut() {
                            c.blocked = false;
                        }
                        self.process(idx);
                        self.read_conn(idx);
                    }
                }
            }
            let now = Instant::now();
            if now.duration_since(last_timers) >= TIMER_PERIOD {
                last_timers = now;
                self.timers(now);
            }
        }
        tracing::info!("gateway stopping: no new connections or commands");
        // Dropping the producer closes the ring: the journaller and matcher
        // drain what was published, then the publisher logs sessions out.
    }

    fn accept_all(&mut self, listener: Listener) {
        loop {
            let accepted = match listener {
                Listener::Orders => self.listeners.orders.accept(),
                Listener::MarketData => match self.listeners.market_data.as_ref() {
                    Some(l) => l.accept(),
                    None => return,
                },
                Listener::Admin => match self.listeners.admin.as_ref() {
                    Some(l) => l.accept(),
                    None => return,
                },
            };
            match accepted {
                Ok((stream, peer)) => self.admit(stream, peer, listener),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    // EMFILE and friends: keep serving existing sessions.
                    tracing::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Accepts the TLS terminator's connections: each is admitted as if it came straight from the
    /// TLS client's address to the listener the client chose. One nobody registered (another local
    /// process) is closed at once, so the internal port is no way around the login limits.
    fn accept_internal(&mut self) {
        loop {
            let Some(internal) = self.listeners.internal.as_ref() else { return };
            match internal.listener.accept() {
                Ok((stream, from)) => {
                    let registered = self.internal_peers.take(&internal.peers, from.port(), Instant::now());
                    match registered {
                        Some((peer, listener)) if from.ip().is_loopback() => self.admit(stream, peer, listener),
                        _ => {
                            self.stats.internal_unregistered.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%from, "internal connection without a TLS registration: closed");
                            let _ = stream.shutdown(Shutdown::Both);
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!("internal accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Takes a new connection into the pre-login budget: refused (with `Logout(ConnectionLimit)`)
    /// when its address has too many connections waiting to log in; when the budget is full, the
    /// oldest waiting connection is closed to make room, so a flood of idle sockets cannot keep a
    /// prompt login out. Logged-in sessions have their own budget and are never touched.
    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr, listener: Listener) {
        let address = canonical_ip(peer.ip());
        if self.pending.at_address(address) >= self.pending.max_per_address() {
            self.stats.prelogin_refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, "connection refused: server.max_pending_logins_per_address reached");
            write_direct(&mut stream, &ServerMessage::Logout(Logout { reason: LogoutReason::ConnectionLimit }));
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        if self.pending.is_full() {
            if let Some(oldest) = self.oldest_awaiting_login() {
                self.stats.prelogin_evicted.fetch_add(1, Ordering::Relaxed);
                if let Some(Some(c)) = self.conns.get_mut(oldest) {
                    tracing::debug!(session = c.id, "closing the oldest connection waiting to log in: budget full");
                    write_direct(
                        &mut c.stream,
                        &ServerMessage::Logout(Logout { reason: LogoutReason::ConnectionLimit }),
                    );
                }
                self.end(oldest, End::Server(LogoutReason::ConnectionLimit));
            }
        }
        let _ = stream.set_nodelay(true);
        let idx = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.conns.len() - 1
        });
        if let Err(e) = self.poll.registry().register(&mut stream, Token(idx), Interest::READABLE) {
            tracing::warn!(%peer, "cannot register connection: {e}");
            self.free.push(idx);
            return;
        }
        let now = Instant::now();
        let id = self.next_session;
        self.next_session += 1;
        self.conns[idx] = Some(Conn {
            id,
            stream,
            peer: address,
            listener,
            buf: vec![0u8; READ_BUF_BYTES].into_boxed_slice(),
            len: 0,
            state: State::AwaitingLogin { deadline: now + Duration::from_millis(self.settings.login_timeout_ms) },
            last_rx: now,
            rate: TokenBucket::full(self.settings.max_messages_per_sec as u64, now),
            blocked: false,
        });
        self.pending.add(address);
        self.open += 1;
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        self.stats.sessions.store(self.open as u64, Ordering::Relaxed);
        self.stats.pending_logins.store(self.pending.total() as u64, Ordering::Relaxed);
        tracing::debug!(%peer, session = id, "connection accepted");
        // Bytes may already be waiting (edge-triggered).
        self.read_conn(idx);
    }

    /// The connection that has waited longest to log in (the earliest login deadline).
    fn oldest_awaiting_login(&self) -> Option<usize> {
        self.conns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Some(Conn { state: State::AwaitingLogin { deadline }, .. }) => Some((i, *deadline)),
                _ => None,
            })
            .min_by_key(|&(_, deadline)| deadline)
            .map(|(i, _)| i)
    }

    /// Reads until the socket would block, processing frames as they come.
    fn read_conn(&mut self, idx: usize) {
        loop {
            let Some(Some(c)) = self.conns.get_mut(idx) else { return };
            if c.blocked || matches!(c.state, State::LoginPending { .. }) {
                return;
            }
            if c.len == c.buf.len() {
                // A full buffer holds at least one whole frame (frames are
                // smaller than the buffer), so processing always frees room.
                self.process(idx);
                continue;
            }
            let (len, cap) = (c.len, c.buf.len());
            match c.stream.read(&mut c.buf[len..cap]) {
                Ok(0) => return self.end(idx, End::Disconnected),
                Ok(n) => {
                    c.len += n;
                    c.last_rx = Instant::now();
                    self.process(idx);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.end(idx, End::Disconnected),
            }
        }
    }

    /// Decodes and handles every complete frame in the connection's buffer.
    fn process(&mut self, idx: usize) {
        if matches!(&self.conns.get(idx), Some(Some(c)) if matches!(c.state, State::AwaitingLogin { .. })) {
            // A login is judged against the latest outcomes and credentials: the publisher posts
            // a rejection or a credential change here before the client can read its answer.
            while let Some(o) = self.control.to_gateway.pop() {
                self.on_login_outcome(o.session, o.accepted);
            }
            self.apply_credential_updates();
        }
        // Taken out of the table while it is processed, so the rest of the table (other sessions
        // of the same account) can be consulted; its buffer is taken out of it (an empty boxed
        // slice does not allocate) so frames can borrow it while the handlers change the rest.
        let Some(mut conn) = self.conns.get_mut(idx).and_then(Option::take) else { return };
        let buf = std::mem::take(&mut conn.buf);
        let was_awaiting_login = matches!(conn.state, State::AwaitingLogin { .. });
        conn.rate.refill(self.settings.max_messages_per_sec as u64, Instant::now());
        let mut batch =
            Batch { timestamp_ns: now_ns(), last_claimed: None, claimed: 0, by_type: [0; COMMAND_TYPES.len()] };
        let mut pos = 0;
        let mut end: Option<End> = None;
        while pos < conn.len {
            let (frame, used) = match decode_frame_max(&buf[pos..conn.len], self.settings.max_frame_bytes as usize) {
                Ok(None) => break,
                Ok(Some(f)) => f,
                Err(fe) => {
                    self.stats.session_rejects.fetch_add(1, Ordering::Relaxed);
                    end = Some(protocol_error(&self.control, &mut conn, fe.to_session_reject()));
                    break;
                }
            };
            let step = match conn.state {
                State::AwaitingLogin { .. } => self.on_login_frame(idx, &mut conn, &frame),
                State::LoginPending { .. } => Step::Hold,
                State::Subscriber => self.on_subscriber_frame(&mut conn, &frame),
                State::Active { account, role, .. } => {
                    self.on_trading_frame(&mut conn, account, role, &frame, &mut batch)
                }
            };
            match step {
                Step::Next => pos += used,
                Step::Pause => {
                    pos += used;
                    break;
                }
                Step::Hold => break,
                Step::End(e) => {
                    end = Some(e);
                    break;
                }
            }
        }
        debug_assert!(pos <= conn.len);
        conn.buf = buf;
        if pos > 0 {
            conn.buf.copy_within(pos..conn.len, 0);
            conn.len -= pos;
        }
        if was_awaiting_login && !matches!(conn.state, State::AwaitingLogin { .. }) {
            // Handed to the publisher: from now on it counts against the session budget.
            self.leave_pending(conn.peer);
        }
        self.conns[idx] = Some(conn);
        self.publish(&batch);
        if let Some(e) = end {
            self.end(idx, e);
        }
    }

    /// A frame before the session is open: `Login`, or `MdSubscribe` for a subscriber.
    fn on_login_frame(&mut self, idx: usize, c: &mut Conn, frame: &Frame<'_>) -> Step {
        let refuse = |reason| SessionReject::refuse(frame.header.template_id, frame.body, reason);
        let login = match ClientMessage::decode_frame(frame) {
            Ok(ClientMessage::MdSubscribe(sub)) => return self.hand_over_subscriber(c, sub),
            Ok(ClientMessage::Login(_)) if c.listener == Listener::MarketData => {
                write_direct(&mut c.stream, &ServerMessage::SessionReject(refuse(SessionRejectReason::NotPermitted)));
                return Step::End(End::Server(LogoutReason::ProtocolError));
            }
            Ok(ClientMessage::Login(l)) => l,
            Ok(_) => {
                write_direct(&mut c.stream, &ServerMessage::SessionReject(refuse(SessionRejectReason::NotLoggedIn)));
                return Step::End(End::Server(LogoutReason::ProtocolError));
            }
            Err(e) => {
                write_direct(&mut c.stream, &ServerMessage::SessionReject(e.to_session_reject(frame.body)));
                return Step::End(End::Server(LogoutReason::ProtocolError));
            }
        };
        if let Err(refusal) = self.judge_login(idx, c, &login) {
            self.stats.login_rejects.fetch_add(1, Ordering::Relaxed);
            self.stats.login_refusals[refusal.index()].fetch_add(1, Ordering::Relaxed);
            tracing::info!(session = c.id, account = login.account, peer = %c.peer, ?refusal, "login rejected");
            let answer = match refusal {
                // Only a version-2 client knows `NotLeader`; an older one is told to retry.
                LoginRefusal::NotLeader if frame.header.version >= 2 => ServerMessage::LoginRejected(LoginRejected {
                    account: login.account,
                    reason: LoginRejectReason::NotLeader,
                    highest_seq: 0,
                    oldest_available_seq: 0,
                    leader: self.leadership.as_ref().and_then(|l| l.leader()),
                }),
                LoginRefusal::NotLeader => login_rejected(login.account, LoginRejectReason::NotReady),
                _ => login_rejected(login.account, refusal.wire_reason()),
            };
            write_direct(&mut c.stream, &answer);
            return Step::End(End::Server(LogoutReason::UserRequest));
        }
        self.hand_over_login(c, &login)
    }

    /// Decides a login, cheapest and least revealing checks first: where this role may log in
    /// from (says nothing about the account), the failed-login budgets (an unknown account id is
    /// throttled like a known one), the credential (same work whether or not the account exists;
    /// a failure spends both budgets), then the session limits, which only the account's owner
    /// gets to see.
    fn judge_login(&mut self, idx: usize, c: &Conn, login: &Login) -> Result<(), LoginRefusal> {
        if !self.policy.permits(login.role, c.listener, c.peer) {
            return Err(LoginRefusal::NotPermittedHere);
        }
        // Before the credential: a follower sends every client to the leader, which checks it.
        if self.producer.is_none() {
            return Err(LoginRefusal::NotLeader);
        }
        let now = Instant::now();
        self.throttle.check(login.account, c.peer, now).map_err(LoginRefusal::Throttled)?;
        if let Err(refusal) = self.auth.check(login) {
            debug_assert!(refusal.is_guess());
            for scope in self.throttle.record_failure(login.account, c.peer, now).into_iter().flatten() {
                // Once per budget spent, not per refused attempt: the log stays readable under attack.
                tracing::warn!(account = login.account, peer = %c.peer, ?scope, "failed logins: budget spent, throttling");
            }
            return Err(refusal);
        }
        if self_has_session(&self.conns, idx, login.account) {
            return Err(LoginRefusal::AlreadyLoggedIn);
        }
        if self.open - self.pending.total() >= self.settings.max_connections as usize {
            return Err(LoginRefusal::TooManySessions);
        }
        Ok(())
    }

    /// Credentials are good: the publisher answers the login and writes to the session from now on.
    fn hand_over_login(&mut self, c: &mut Conn, login: &Login) -> Step {
        let write_half = match clone_for_writing(&c.stream) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot clone connection: {e}");
                return Step::End(End::Disconnected);
            }
        };
        let timeout_ms = self.settings.heartbeat_timeout_ms;
        let cod = cancel_on_disconnect_in_force(login.cancel_on_disconnect, self.settings.cancel_on_disconnect_default);
        let handoff = Control::Login {
            session: c.id,
            account: login.account,
            role: login.role,
            stream: write_half,
            last_seen_seq: login.last_seen_seq,
            heartbeat_interval_ms: heartbeat_in_force(login.heartbeat_interval_ms, timeout_ms),
            heartbeat_timeout_ms: timeout_ms.min(u32::MAX as u64) as u32,
            cancel_on_disconnect: cod,
            after_input_seq: self.producer.as_ref().map_or(-1, |p| p.claimed()),
        };
        if self.control.to_publisher.push(handoff).is_err() {
            self.stats.login_rejects.fetch_add(1, Ordering::Relaxed);
            self.stats.login_refusals[LoginRefusal::NotReady.index()].fetch_add(1, Ordering::Relaxed);
            write_direct(&mut c.stream, &login_rejected(login.account, LoginRefusal::NotReady.wire_reason()));
            return Step::End(End::Server(LogoutReason::UserRequest));
        }
        self.control.publisher_wake.notify();
        self.stats.logins.fetch_add(1, Ordering::Relaxed);
        c.state = State::LoginPending { account: login.account, role: login.role, cod };
        // Frames after the login wait for the publisher's answer.
        Step::Pause
    }

    /// `MdSubscribe` instead of a login: the publisher accepts or refuses it and writes to it.
    fn hand_over_subscriber(&mut self, c: &mut Conn, sub: MdSubscribe) -> Step {
        let write_half = match clone_for_writing(&c.stream) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot clone connection: {e}");
                return Step::End(End::Disconnected);
            }
        };
        let timeout_ms = self.settings.heartbeat_timeout_ms;
        let handoff = Control::MdSubscribe(SubscribeRequest {
            session: c.id,
            stream: write_half,
            heartbeat_interval_ms: heartbeat_in_force(sub.heartbeat_interval_ms, timeout_ms),
            heartbeat_timeout_ms: timeout_ms.min(u32::MAX as u64) as u32,
            order_by_order: sub.order_by_order,
        });
        if let Err(Control::MdSubscribe(req)) = self.control.to_publisher.push(handoff) {
            let mut w = req.stream;
            let m = MdServerMessage::SubscribeRejected(MdSubscribeRejected { reason: MdRejectReason::NotReady });
            let mut buf = [0u8; 64];
            if let Ok(n) = m.encode(&mut buf) {
                let _ = w.write(&buf[..n]);
            }
            return Step::End(End::Server(LogoutReason::UserRequest));
        }
        self.control.publisher_wake.notify();
        c.state = State::Subscriber;
        Step::Next
    }

    /// A subscriber's frame: heartbeats, snapshot requests (rate limited) and its logout.
    fn on_subscriber_frame(&mut self, c: &mut Conn, frame: &Frame<'_>) -> Step {
        let refuse = |reason| SessionReject::refuse(frame.header.template_id, frame.body, reason);
        let reject = match ClientMessage::decode_frame(frame) {
            Err(e) => e.to_session_reject(frame.body),
            Ok(ClientMessage::Heartbeat) => return Step::Next,
            Ok(ClientMessage::Logout(_)) => return Step::End(End::UserLogout),
            Ok(ClientMessage::MdSnapshotRequest(request)) => {
                if !c.rate.try_take() {
                    refuse(SessionRejectReason::RateLimited)
                } else if send_control(&self.control, Control::MdSnapshot { session: c.id, request }) {
                    return Step::Next;
                } else {
                    return Step::End(End::Server(LogoutReason::SlowConsumer));
                }
            }
            Ok(ClientMessage::Login(_) | ClientMessage::MdSubscribe(_)) => {
                refuse(SessionRejectReason::UnexpectedMessage)
            }
            Ok(_) => refuse(SessionRejectReason::NotPermitted),
        };
        self.session_reject(c, reject)
    }

    /// A logged-in session's frame: checked against its role and rate limit, then decoded
    /// straight into an input ring slot.
    fn on_trading_frame(
        &mut self,
        c: &mut Conn,
        account: u32,
        role: Role,
        frame: &Frame<'_>,
        batch: &mut Batch,
    ) -> Step {
        let msg = match ClientMessage::decode_frame(frame) {
            Ok(m) => m,
            Err(e) => return self.session_reject(c, e.to_session_reject(frame.body)),
        };
        let permitted = match msg.class() {
            MessageClass::Session => true,
            MessageClass::OrderEntry => role == Role::Trader,
            MessageClass::Admin => role == Role::Admin,
            // Traders may ask about their own account only; admins about any.
            MessageClass::Query => match msg {
                ClientMessage::QueryAccount(q) => role == Role::Admin || q.target == account,
                _ => false,
            },
            // A trading session cannot turn into a subscription.
            MessageClass::MarketData => false,
            // Marks and funding move every position's margin: the oracle's session only, whatever
            // its role (the engine refuses any other sender too, `NotOracle`).
            MessageClass::Oracle => self.oracle_account == Some(account),
        };
        let refuse = |reason| SessionReject::refuse(frame.header.template_id, frame.body, reason);
        let reject = match msg {
            _ if !permitted => refuse(SessionRejectReason::NotPermitted),
            ClientMessage::Login(_) => refuse(SessionRejectReason::UnexpectedMessage),
            ClientMessage::Heartbeat => return Step::Next,
            ClientMessage::Logout(_) => return Step::End(End::UserLogout),
            _ if c.rate.is_empty() => refuse(SessionRejectReason::RateLimited),
            _ => {
                let Some(cmd) = msg.to_command(account, batch.timestamp_ns) else { return Step::Next };
                let Some(producer) = self.producer.as_mut() else {
                    // Logins are refused without a producer; a session cannot outlive it.
                    return Step::End(End::Server(LogoutReason::ServerShutdown));
                };
                let Some(r) = producer.try_claim(1) else {
                    // Ring full: leave this frame in the buffer and stop reading.
                    self.stats.ring_full.fetch_add(1, Ordering::Relaxed);
                    c.blocked = true;
                    return Step::Hold;
                };
                let s = *r.end();
                producer.slot_mut(s).cmd = cmd;
                batch.last_claimed = Some(s);
                batch.claimed += 1;
                batch.by_type[command_type_index(&cmd.kind)] += 1;
                let took = c.rate.try_take();
                debug_assert!(took, "checked non-empty above");
                return Step::Next;
            }
        };
        self.session_reject(c, reject)
    }

    /// Sends a session-level reject through the publisher (which owns writing); a publisher that
    /// cannot take it ends the session.
    fn session_reject(&mut self, c: &Conn, reject: SessionReject) -> Step {
        self.stats.session_rejects.fetch_add(1, Ordering::Relaxed);
        if send_control(&self.control, Control::SessionReject { session: c.id, reject }) {
            Step::Next
        } else {
            Step::End(End::Server(LogoutReason::SlowConsumer))
        }
    }

    /// Makes the batch's claimed slots visible to the journaller, one publish for all of them.
    fn publish(&mut self, batch: &Batch) {
        let Some(hi) = batch.last_claimed else { return };
        let Some(producer) = self.producer.as_mut() else { return };
        producer.publish(hi);
        self.stats.commands.fetch_add(batch.claimed, Ordering::Relaxed);
        self.stats.input_published.store(hi as u64 + 1, Ordering::Relaxed);
        for (counter, n) in self.stats.commands_by_type.iter().zip(batch.by_type) {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    fn on_login_outcome(&mut self, session: SessionId, accepted: bool) {
        let Some(idx) = self.conns.iter().position(|c| matches!(c, Some(c) if c.id == session)) else { return };
        let Some(c) = self.conns[idx].as_mut() else { return };
        let State::LoginPending { account, role, cod } = c.state else { return };
        if accepted {
            c.state = State::Active { account, role, cod };
            c.last_rx = Instant::now();
            self.process(idx);
            self.read_conn(idx);
        } else {
            // The publisher answered and closed; just forget the connection.
            c.state = State::Active { account, role, cod: false };
            self.forget(idx);
        }
    }

    /// Applies the credential changes the publisher passed on, in journal order; a revoked
    /// account's session (live, or logging in with the old secret) ends.
    fn apply_credential_updates(&mut self) {
        while let Some(u) = self.control.credentials.pop() {
            if !self.auth.apply(u.account, u.credential) {
                continue;
            }
            for idx in 0..self.conns.len() {
                let holds = matches!(&self.conns[idx], Some(c) if matches!(c.state,
                    State::Active { account, .. } | State::LoginPending { account, .. } if account == u.account));
                if holds {
                    tracing::info!(account = u.account, "credential revoked: ending the account's session");
                    self.end(idx, End::Server(LogoutReason::CredentialRevoked));
                }
            }
        }
    }

    fn timers(&mut self, now: Instant) {
        self.internal_peers.expire(now);
        self.time_tick();
        let hb_timeout = Duration::from_millis(self.settings.heartbeat_timeout_ms);
        for idx in 0..self.conns.len() {
            let Some(Some(c)) = self.conns.get_mut(idx) else { continue };
            match c.state {
                State::AwaitingLogin { deadline } if now >= deadline => {
                    tracing::info!(session = c.id, "no login in time; closing");
                    write_direct(&mut c.stream, &ServerMessage::Logout(Logout { reason: LogoutReason::LoginTimeout }));
                    self.end(idx, End::Server(LogoutReason::LoginTimeout));
                }
                State::Active { .. } | State::Subscriber
                    if now.duration_since(c.last_rx) > hb_timeout && !c.blocked =>
                {
                    tracing::info!(session = c.id, "heartbeat timeout");
                    self.end(idx, End::Server(LogoutReason::HeartbeatTimeout));
                }
                _ => {}
            }
        }
    }

    /// Ends a connection: tells the publisher, submits cancel-on-disconnect.
    fn end(&mut self, idx: usize, how: End) {
        let Some(Some(c)) = self.conns.get_mut(idx) else { return };
        match c.state {
            State::AwaitingLogin { .. } => {}
            State::LoginPending { .. } => {
                send_control(&self.control, Control::Closed { session: c.id });
            }
            State::Subscriber => {
                let control = match how {
                    End::Disconnected => Control::Closed { session: c.id },
                    End::UserLogout => Control::Logout { session: c.id, reason: LogoutReason::UserRequest },
                    End::Server(reason) => Control::Logout { session: c.id, reason },
                };
                send_control(&self.control, control);
            }
            State::Active { account, cod, .. } => {
                let control = match how {
                    End::Disconnected => Control::Closed { session: c.id },
                    End::UserLogout => Control::Logout { session: c.id, reason: LogoutReason::UserRequest },
                    End::Server(reason) => Control::Logout { session: c.id, reason },
                };
                send_control(&self.control, control);
                if cod && how != End::UserLogout {
                    tracing::info!(session = c.id, account, "cancel on disconnect");
                    self.internal.push_back(Command {
                        account,
                        timestamp_ns: now_ns(),
                        kind: CommandKind::MassCancel(MassCancel { instrument: None, side: None }),
                    });
                    self.drain_internal();
                }
            }
        }
        self.forget(idx);
    }

    /// Drops the gateway's handle on a connection. A logged-in one stays open
    /// through the publisher's handle until it has written its last bytes.
    fn forget(&mut self, idx: usize) {
        if let Some(mut c) = self.conns.get_mut(idx).and_then(Option::take) {
            if matches!(c.state, State::AwaitingLogin { .. }) {
                self.leave_pending(c.peer);
            }
            let _ = self.poll.registry().deregister(&mut c.stream);
            if !matches!(c.state, State::Active { .. } | State::LoginPending { .. } | State::Subscriber) {
                let _ = c.stream.shutdown(Shutdown::Both);
            }
            self.free.push(idx);
            self.open -= 1;
            self.stats.sessions.store(self.open as u64, Ordering::Relaxed);
        }
    }

    fn leave_pending(&mut self, address: IpAddr) {
        self.pending.remove(address);
        self.stats.pending_logins.store(self.pending.total() as u64, Ordering::Relaxed);
    }

    /// Journals a `TimeTick` when an order's expiry time has passed and nothing is queued to
    /// carry the time to the engine (any command would). At most one per timer period: a tick
    /// the matcher has not applied yet is simply followed by another that expires nothing.
    fn time_tick(&mut self) {
        if self.producer.is_none() || !self.internal.is_empty() {
            return;
        }
        let now = now_ns();
        if now < self.control.next_expiry_ns.load(Ordering::Relaxed) {
            return;
        }
        self.internal.push_back(Command { account: 0, timestamp_ns: now, kind: CommandKind::TimeTick });
        self.stats.time_ticks.fetch_add(1, Ordering::Relaxed);
        self.drain_internal();
    }

    fn drain_internal(&mut self) {
        let Some(producer) = self.producer.as_mut() else { return };
        while let Some(cmd) = self.internal.front().copied() {
            let Some(r) = producer.try_claim(1) else { return };
            let s = *r.end();
            producer.slot_mut(s).cmd = cmd;
            producer.publish(s);
            self.internal.pop_front();
            self.stats.input_published.store(s as u64 + 1, Ordering::Relaxed);
            if !matches!(cmd.kind, CommandKind::TimeTick) {
                self.stats.cod_mass_cancels.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A framing error: the stream cannot be resynchronised, so the session ends.
fn protocol_error(control: &ControlPlane, c: &mut Conn, reject: SessionReject) -> End {
    match c.state {
        State::Active { .. } => {
            send_control(control, Control::SessionReject { session: c.id, reject });
        }
        _ => {
            write_direct(&mut c.stream, &ServerMessage::SessionReject(reject));
            write_direct(&mut c.stream, &ServerMessage::Logout(Logout { reason: LogoutReason::ProtocolError }));
        }
    }
    End::Server(LogoutReason::ProtocolError)
}

/// The answer to a login the gateway refuses itself.
fn login_rejected(account: u32, reason: LoginRejectReason) -> ServerMessage {
    ServerMessage::LoginRejected(LoginRejected {
        account,
        reason,
        highest_seq: 0,
        oldest_available_seq: 0,
        leader: None,
    })
}

/// Whether another connection of `account` is logged in or logging in.
fn self_has_session(conns: &[Option<Conn>], except: usize, account: u32) -> bool {
    conns.iter().enumerate().any(|(i, c)| {
        i != except
            && matches!(c, Some(c) if matches!(c.state,
                State::LoginPending { account: a, .. } | State::Active { account: a, .. } if a == account))
    })
}

fn send_control(control: &ControlPlane, c: Control) -> bool {
    let ok = control.to_publisher.push(c).is_ok();
    control.publisher_wake.notify();
    ok
}
