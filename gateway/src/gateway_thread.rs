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
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{Command, CommandKind, MassCancel};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use ring::Producer;

use crate::clock::now_ns;
use crate::config::ServerConfig;
use crate::control::{Control, ControlPlane, SessionId};
use crate::credential::Credential;
use crate::protocol::frame::decode_frame_max;
use crate::protocol::{
    CancelOnDisconnect, ClientMessage, LoginRejectReason, LoginRejected, Logout, LogoutReason, MessageClass, Role,
    ServerMessage, SessionReject, SessionRejectReason,
};
use crate::publisher::role_matches;
use crate::slots::InputSlot;

const LISTENER: Token = Token(usize::MAX - 2);
/// The market-data-only listener (`market_data.listen`).
const MD_LISTENER: Token = Token(usize::MAX - 4);
/// Token of the gateway's waker.
pub const GATEWAY_WAKER_TOKEN: Token = Token(usize::MAX - 3);
/// Read buffer per connection: many frames per read, bounded.
const READ_BUF_BYTES: usize = 64 * 1024;
const TIMER_PERIOD: Duration = Duration::from_millis(50);

/// An account the gateway can authenticate.
#[derive(Debug, Clone)]
pub struct AccountAuth {
    /// Configured role.
    pub role: crate::config::Role,
    /// Stored credential.
    pub credential: Credential,
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct GatewayStats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Logins handed to the publisher.
    pub logins: AtomicU64,
    /// Logins refused by the gateway.
    pub login_rejects: AtomicU64,
    /// Commands published to the ring.
    pub commands: AtomicU64,
    /// Session-level rejects.
    pub session_rejects: AtomicU64,
    /// Times the ring was full (backpressure).
    pub ring_full: AtomicU64,
    /// Sessions currently connected.
    pub sessions: AtomicU64,
    /// Client commands by type (`metrics::COMMAND_TYPES`).
    pub commands_by_type: [AtomicU64; 5],
    /// Mass cancels submitted for cancel-on-disconnect.
    pub cod_mass_cancels: AtomicU64,
    /// Input ring slots published so far (ring sequence + 1), internal commands included.
    pub input_published: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitingLogin {
        deadline: Instant,
    },
    /// Handed to the publisher; frames wait in the buffer until it answers.
    LoginPending {
        account: u32,
        role: Role,
        cod: bool,
    },
    Active {
        account: u32,
        role: Role,
        cod: bool,
    },
    /// A market-data subscriber, handed to the publisher (which writes to it); the gateway reads
    /// its heartbeats and snapshot requests.
    Subscriber,
}

struct Conn {
    id: SessionId,
    stream: TcpStream,
    buf: Box<[u8]>,
    len: usize,
    state: State,
    last_rx: Instant,
    /// Token bucket for the rate limit.
    tokens: u64,
    refilled: Instant,
    /// The ring was full: stop reading until it has room.
    blocked: bool,
    /// Accepted on the market-data listener: only `MdSubscribe` may open the session.
    md_only: bool,
}

/// How a connection ends, as far as the gateway is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// EOF or socket error.
    Disconnected,
    /// The client sent Logout.
    UserLogout,
    /// Server-initiated with this reason.
    Server(LogoutReason),
}

/// The gateway stage.
pub struct Gateway {
    poll: Poll,
    listener: TcpListener,
    md_listener: Option<TcpListener>,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    accounts: HashMap<u32, AccountAuth>,
    settings: ServerConfig,
    producer: Producer<InputSlot>,
    control: Arc<ControlPlane>,
    /// Commands the gateway makes itself (cancel-on-disconnect) waiting for ring space.
    internal: VecDeque<Command>,
    next_session: SessionId,
    open: usize,
    stop: Arc<AtomicBool>,
    stats: Arc<GatewayStats>,
}

impl Gateway {
    /// A gateway on a bound listener.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        poll: Poll,
        mut listener: TcpListener,
        mut md_listener: Option<TcpListener>,
        accounts: HashMap<u32, AccountAuth>,
        settings: ServerConfig,
        producer: Producer<InputSlot>,
        control: Arc<ControlPlane>,
        stop: Arc<AtomicBool>,
        stats: Arc<GatewayStats>,
    ) -> std::io::Result<Self> {
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        if let Some(l) = md_listener.as_mut() {
            poll.registry().register(l, MD_LISTENER, Interest::READABLE)?;
        }
        Ok(Self {
            poll,
            listener,
            md_listener,
            conns: Vec::new(),
            free: Vec::new(),
            accounts,
            settings,
            producer,
            control,
            internal: VecDeque::new(),
            next_session: 1,
            open: 0,
            stop,
            stats,
        })
    }

    /// Runs until `stop` is set (then closes the ring so the other stages
    /// drain and stop) or the ring is halted by a failing stage.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut last_timers = Instant::now();
        while !self.stop.load(Ordering::Relaxed) && !self.producer.is_halted() {
            let busy = !self.internal.is_empty() || self.conns.iter().flatten().any(|c| c.blocked);
            let timeout = if busy { Duration::from_micros(100) } else { TIMER_PERIOD };
            self.control.gateway_wake.about_to_sleep();
            let outcomes_waiting = !self.control.to_gateway.is_empty();
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
                    LISTENER => self.accept_all(false),
                    MD_LISTENER => self.accept_all(true),
                    GATEWAY_WAKER_TOKEN => {}
                    Token(idx) => self.read_conn(idx),
                }
            }
            while let Some(o) = self.control.to_gateway.pop() {
                self.on_login_outcome(o.session, o.accepted);
            }
            if busy {
                self.drain_internal();
                for idx in 0..self.conns.len() {
                    if matches!(&self.conns[idx], Some(c) if c.blocked) && self.producer.free_slots() > 0 {
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

    fn accept_all(&mut self, md_only: bool) {
        loop {
            let accepted = match (md_only, self.md_listener.as_ref()) {
                (false, _) => self.listener.accept(),
                (true, Some(l)) => l.accept(),
                (true, None) => return,
            };
            match accepted {
                Ok((mut stream, peer)) => {
                    if self.open >= self.settings.max_connections as usize {
                        tracing::warn!(%peer, "connection refused: max_connections reached");
                        let _ = stream.shutdown(Shutdown::Both);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    let idx = self.free.pop().unwrap_or_else(|| {
                        self.conns.push(None);
                        self.conns.len() - 1
                    });
                    if let Err(e) = self.poll.registry().register(&mut stream, Token(idx), Interest::READABLE) {
                        tracing::warn!(%peer, "cannot register connection: {e}");
                        self.free.push(idx);
                        continue;
                    }
                    let now = Instant::now();
                    let id = self.next_session;
                    self.next_session += 1;
                    self.conns[idx] = Some(Conn {
                        id,
                        stream,
                        buf: vec![0u8; READ_BUF_BYTES].into_boxed_slice(),
                        len: 0,
                        state: State::AwaitingLogin {
                            deadline: now + Duration::from_millis(self.settings.login_timeout_ms),
                        },
                        last_rx: now,
                        tokens: self.settings.max_messages_per_sec as u64,
                        refilled: now,
                        blocked: false,
                        md_only,
                    });
                    self.open += 1;
                    self.stats.connections.fetch_add(1, Ordering::Relaxed);
                    self.stats.sessions.store(self.open as u64, Ordering::Relaxed);
                    tracing::debug!(%peer, session = id, "connection accepted");
                    // Bytes may already be waiting (edge-triggered).
                    self.read_conn(idx);
                }
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
            // A login is judged against the latest outcomes: the publisher posts
            // a rejection here before the client can read it and come back.
            while let Some(o) = self.control.to_gateway.pop() {
                self.on_login_outcome(o.session, o.accepted);
            }
        }
        let timestamp_ns = now_ns();
        let max_frame = self.settings.max_frame_bytes as usize;
        let mut pos = 0;
        let mut last_claimed: Option<i64> = None;
        let mut end: Option<End> = None;
        let mut claimed_count = 0u64;
        let mut by_type = [0u64; 5];
        // Taken out of the table while it is processed, so the rest of the
        // table (other sessions of the same account) can be consulted.
        let Some(mut conn) = self.conns.get_mut(idx).and_then(Option::take) else { return };
        {
            let c = &mut conn;
            // Refill the rate-limit bucket once per batch.
            let now = Instant::now();
            let rate = self.settings.max_messages_per_sec as u64;
            let elapsed_ns = now.duration_since(c.refilled).as_nanos() as u64;
            let add = elapsed_ns.saturating_mul(rate) / 1_000_000_000;
            if add > 0 {
                c.tokens = (c.tokens + add).min(rate);
                c.refilled = now;
            }
            while pos < c.len {
                let frame = match decode_frame_max(&c.buf[pos..c.len], max_frame) {
                    Ok(None) => break,
                    Ok(Some((frame, used))) => (frame, used),
                    Err(fe) => {
                        let reject = fe.to_session_reject();
                        self.stats.session_rejects.fetch_add(1, Ordering::Relaxed);
                        end = Some(protocol_error(&self.control, c.id, c.state, &mut c.stream, reject));
                        break;
                    }
                };
                let (frame, used) = frame;
                let msg = ClientMessage::decode_frame(&frame);
                match c.state {
                    State::AwaitingLogin { .. } => {
                        let login = match msg {
                            Ok(ClientMessage::MdSubscribe(sub)) => {
                                pos += used;
                                let write_half = match clone_for_writing(&c.stream) {
                                    Ok(s) => s,
                                    Err(e) => {
                                        tracing::warn!("cannot clone connection: {e}");
                                        end = Some(End::Disconnected);
                                        break;
                                    }
                                };
                                let timeout_ms = self.settings.heartbeat_timeout_ms;
                                let hb = heartbeat_in_force(sub.heartbeat_interval_ms, timeout_ms);
                                let handoff = Control::MdSubscribe(crate::md_feed::SubscribeRequest {
                                    session: c.id,
                                    stream: write_half,
                                    heartbeat_interval_ms: hb,
                                    heartbeat_timeout_ms: timeout_ms.min(u32::MAX as u64) as u32,
                                    order_by_order: sub.order_by_order,
                                });
                                if let Err(Control::MdSubscribe(req)) = self.control.to_publisher.push(handoff) {
                                    let mut w = req.stream;
                                    let m = crate::protocol::MdServerMessage::SubscribeRejected(
                                        crate::protocol::MdSubscribeRejected {
                                            reason: crate::protocol::MdRejectReason::NotReady,
                                        },
                                    );
                                    let mut buf = [0u8; 64];
                                    if let Ok(n) = m.encode(&mut buf) {
                                        let _ = w.write(&buf[..n]);
                                    }
                                    end = Some(End::Server(LogoutReason::UserRequest));
                                    break;
                                }
                                self.control.publisher_wake.notify();
                                c.state = State::Subscriber;
                                continue;
                            }
                            Ok(ClientMessage::Login(_)) if c.md_only => {
                                let r = SessionReject::refuse(
                                    frame.header.template_id,
                                    frame.body,
                                    SessionRejectReason::NotPermitted,
                                );
                                write_direct(&mut c.stream, &ServerMessage::SessionReject(r));
                                end = Some(End::Server(LogoutReason::ProtocolError));
                                break;
                            }
                            Ok(ClientMessage::Login(l)) => l,
                            Ok(_) => {
                                let r = SessionReject::refuse(
                                    frame.header.template_id,
                                    frame.body,
                                    SessionRejectReason::NotLoggedIn,
                                );
                                write_direct(&mut c.stream, &ServerMessage::SessionReject(r));
                                end = Some(End::Server(LogoutReason::ProtocolError));
                                break;
                            }
                            Err(e) => {
                                write_direct(
                                    &mut c.stream,
                                    &ServerMessage::SessionReject(e.to_session_reject(frame.body)),
                                );
                                end = Some(End::Server(LogoutReason::ProtocolError));
                                break;
                            }
                        };
                        pos += used;
                        let reject = match self.accounts.get(&login.account) {
                            None => Some(LoginRejectReason::UnknownAccount),
                            Some(a) => {
                                let secret_len =
                                    login.credential.iter().position(|&b| b == 0).unwrap_or(login.credential.len());
                                let ok = a.credential.verify(&login.credential[..secret_len]);
                                if !ok || !role_matches(a.role, login.role) {
                                    Some(LoginRejectReason::BadCredentials)
                                } else if self_has_session(&self.conns, idx, login.account) {
                                    Some(LoginRejectReason::AlreadyLoggedIn)
                                } else {
                                    None
                                }
                            }
                        };
                        if let Some(reason) = reject {
                            self.stats.login_rejects.fetch_add(1, Ordering::Relaxed);
                            tracing::info!(session = c.id, account = login.account, ?reason, "login rejected");
                            let m = ServerMessage::LoginRejected(LoginRejected {
                                account: login.account,
                                reason,
                                highest_seq: 0,
                                oldest_available_seq: 0,
                            });
                            write_direct(&mut c.stream, &m);
                            end = Some(End::Server(LogoutReason::UserRequest));
                            break;
                        }
                        let write_half = match clone_for_writing(&c.stream) {
                            Ok(s) => s,
                            Err(e) => {
                                tracing::warn!("cannot clone connection: {e}");
                                end = Some(End::Disconnected);
                                break;
                            }
                        };
                        let timeout_ms = self.settings.heartbeat_timeout_ms;
                        let hb = heartbeat_in_force(login.heartbeat_interval_ms, timeout_ms);
                        let cod = match login.cancel_on_disconnect {
                            CancelOnDisconnect::Default => self.settings.cancel_on_disconnect_default,
                            CancelOnDisconnect::Enabled => true,
                            CancelOnDisconnect::Disabled => false,
                        };
                        let handoff = Control::Login {
                            session: c.id,
                            account: login.account,
                            role: login.role,
                            stream: write_half,
                            last_seen_seq: login.last_seen_seq,
                            heartbeat_interval_ms: hb,
                            heartbeat_timeout_ms: timeout_ms.min(u32::MAX as u64) as u32,
                            cancel_on_disconnect: cod,
                            after_input_seq: self.producer.claimed(),
                        };
                        if self.control.to_publisher.push(handoff).is_err() {
                            write_direct(
                                &mut c.stream,
                                &ServerMessage::LoginRejected(LoginRejected {
                                    account: login.account,
                                    reason: LoginRejectReason::NotReady,
                                    highest_seq: 0,
                                    oldest_available_seq: 0,
                                }),
                            );
                            end = Some(End::Server(LogoutReason::UserRequest));
                            break;
                        }
                        self.control.publisher_wake.notify();
                        self.stats.logins.fetch_add(1, Ordering::Relaxed);
                        c.state = State::LoginPending { account: login.account, role: login.role, cod };
                        // Frames after the login wait for the publisher's answer.
                        break;
                    }
                    State::LoginPending { .. } => break,
                    State::Subscriber => {
                        pos += used;
                        let refuse = |reason| SessionReject::refuse(frame.header.template_id, frame.body, reason);
                        let reject = match msg {
                            Err(e) => Some(e.to_session_reject(frame.body)),
                            Ok(ClientMessage::Heartbeat) => None,
                            Ok(ClientMessage::Logout(_)) => {
                                end = Some(End::UserLogout);
                                break;
                            }
                            Ok(ClientMessage::MdSnapshotRequest(_)) if c.tokens == 0 => {
                                Some(refuse(SessionRejectReason::RateLimited))
                            }
                            Ok(ClientMessage::MdSnapshotRequest(request)) => {
                                c.tokens -= 1;
                                if !send_control(&self.control, Control::MdSnapshot { session: c.id, request }) {
                                    end = Some(End::Server(LogoutReason::SlowConsumer));
                                    break;
                                }
                                None
                            }
                            Ok(ClientMessage::Login(_) | ClientMessage::MdSubscribe(_)) => {
                                Some(refuse(SessionRejectReason::UnexpectedMessage))
                            }
                            Ok(_) => Some(refuse(SessionRejectReason::NotPermitted)),
                        };
                        if let Some(reject) = reject {
                            self.stats.session_rejects.fetch_add(1, Ordering::Relaxed);
                            if !send_control(&self.control, Control::SessionReject { session: c.id, reject }) {
                                end = Some(End::Server(LogoutReason::SlowConsumer));
                                break;
                            }
                        }
                    }
                    State::Active { account, role, .. } => {
                        let msg = match msg {
                            Ok(m) => m,
                            Err(e) => {
                                pos += used;
                                self.stats.session_rejects.fetch_add(1, Ordering::Relaxed);
                                if !send_control(
                                    &self.control,
                                    Control::SessionReject { session: c.id, reject: e.to_session_reject(frame.body) },
                                ) {
                                    end = Some(End::Server(LogoutReason::SlowConsumer));
                                    break;
                                }
                                continue;
                            }
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
                        };
                        let refuse = |reason| SessionReject::refuse(frame.header.template_id, frame.body, reason);
                        let reject = match msg {
                            _ if !permitted => Some(refuse(SessionRejectReason::NotPermitted)),
                            ClientMessage::Login(_) => Some(refuse(SessionRejectReason::UnexpectedMessage)),
                            ClientMessage::Heartbeat => {
                                pos += used;
                                continue;
                            }
                            ClientMessage::Logout(_) => {
                                pos += used;
                                end = Some(End::UserLogout);
                                break;
                            }
                            _ if c.tokens == 0 => Some(refuse(SessionRejectReason::RateLimited)),
                            _ => None,
                        };
                        if let Some(reject) = reject {
                            pos += used;
                            self.stats.session_rejects.fetch_add(1, Ordering::Relaxed);
                            if !send_control(&self.control, Control::SessionReject { session: c.id, reject }) {
                                end = Some(End::Server(LogoutReason::SlowConsumer));
                                break;
                            }
                            continue;
                        }
                        let Some(cmd) = msg.to_command(account, timestamp_ns) else {
                            pos += used;
                            continue;
                        };
                        let Some(r) = self.producer.try_claim(1) else {
                            // Ring full: leave this frame in the buffer and stop reading.
                            self.stats.ring_full.fetch_add(1, Ordering::Relaxed);
                            c.blocked = true;
                            break;
                        };
                        let s = *r.end();
                        self.producer.slot_mut(s).cmd = cmd;
                        last_claimed = Some(s);
                        claimed_count += 1;
                        by_type[crate::metrics::command_type_index(&cmd.kind)] += 1;
                        c.tokens -= 1;
                        pos += used;
                    }
                }
            }
            if pos > 0 {
                c.buf.copy_within(pos..c.len, 0);
                c.len -= pos;
            }
        }
        self.conns[idx] = Some(conn);
        if let Some(hi) = last_claimed {
            self.producer.publish(hi);
            self.stats.commands.fetch_add(claimed_count, Ordering::Relaxed);
            self.stats.input_published.store(hi as u64 + 1, Ordering::Relaxed);
            for (counter, n) in self.stats.commands_by_type.iter().zip(by_type) {
                if n > 0 {
                    counter.fetch_add(n, Ordering::Relaxed);
                }
            }
        }
        if let Some(e) = end {
            self.end(idx, e);
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

    fn timers(&mut self, now: Instant) {
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
            let _ = self.poll.registry().deregister(&mut c.stream);
            if !matches!(c.state, State::Active { .. } | State::LoginPending { .. } | State::Subscriber) {
                let _ = c.stream.shutdown(Shutdown::Both);
            }
            self.free.push(idx);
            self.open -= 1;
            self.stats.sessions.store(self.open as u64, Ordering::Relaxed);
        }
    }

    fn drain_internal(&mut self) {
        while let Some(cmd) = self.internal.front().copied() {
            let Some(r) = self.producer.try_claim(1) else { return };
            let s = *r.end();
            self.producer.slot_mut(s).cmd = cmd;
            self.producer.publish(s);
            self.internal.pop_front();
            self.stats.input_published.store(s as u64 + 1, Ordering::Relaxed);
            self.stats.cod_mass_cancels.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A framing error: the stream cannot be resynchronised, so the session ends.
fn protocol_error(
    control: &ControlPlane,
    session: SessionId,
    state: State,
    stream: &mut TcpStream,
    reject: SessionReject,
) -> End {
    match state {
        State::Active { .. } => {
            send_control(control, Control::SessionReject { session, reject });
        }
        _ => {
            write_direct(stream, &ServerMessage::SessionReject(reject));
            write_direct(stream, &ServerMessage::Logout(Logout { reason: LogoutReason::ProtocolError }));
        }
    }
    End::Server(LogoutReason::ProtocolError)
}

/// The heartbeat interval granted for a requested one (0 = the default, 1 s). The default is
/// clamped too: an interval of more than half the timeout would get a client that only listens
/// timed out.
fn heartbeat_in_force(requested_ms: u32, timeout_ms: u64) -> u32 {
    let hb = match requested_ms {
        0 => 1000,
        v => v as u64,
    };
    hb.clamp(100, timeout_ms / 2) as u32
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

/// Best-effort write of one small frame by the gateway (only before the
/// publisher owns the connection).
fn write_direct(stream: &mut TcpStream, msg: &ServerMessage) {
    let mut buf = [0u8; 128];
    if let Ok(n) = msg.encode(&mut buf) {
        let _ = stream.write(&buf[..n]);
    }
}

/// A second handle on the same socket for the publisher (a dup'd descriptor).
fn clone_for_writing(stream: &TcpStream) -> std::io::Result<std::net::TcpStream> {
    use std::os::fd::AsFd;
    let fd = stream.as_fd().try_clone_to_owned()?;
    Ok(std::net::TcpStream::from(fd))
}
