//! A blocking client for the matchd protocol (`docs/protocol.md`), on `std::net` only.
//!
//! ```no_run
//! use std::time::Duration;
//! use client::{Client, LoginParams};
//! use engine::{NewOrder, OrderType, Side, StpMode, TimeInForce};
//!
//! let mut c = Client::connect("127.0.0.1:7001", Duration::from_secs(5))?;
//! c.login(LoginParams::trader(1, b"alice-demo"))?;
//! let cid = c.next_client_order_id();
//! c.new_order(NewOrder {
//!     client_order_id: cid, instrument: 1, side: Side::Buy, order_type: OrderType::Limit,
//!     tif: TimeInForce::Gtc, stp: StpMode::None, price: 5_000_000, qty: 100_000,
//! })?;
//! while let Some(msg) = c.recv(Duration::from_millis(500))? {
//!     println!("{}", client::describe(&msg));
//! }
//! c.logout_and_drain(Duration::from_secs(1))?;
//! # Ok::<(), client::ClientError>(())
//! ```
//!
//! The client keeps a read buffer and splits frames with [`protocol::decode_frame`]; it checks that every
//! sequenced report's `seq` is the previous one + 1 ([`ClientError::SequenceGap`] otherwise) and
//! tracks the highest one processed ([`Client::last_seen_seq`]), which is what to log in with after
//! a reconnect. While [`Client::recv`] waits it sends a `Heartbeat` whenever the client has sent
//! nothing for the session's heartbeat interval, and it gives up with [`ClientError::Timeout`] when
//! the server has been silent for the session's heartbeat timeout. Nothing the server sends can make
//! it panic.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use engine::{
    AccountId, AccountStatus, Amend, AssetId, BalanceReason, Cancel, ClientOrderId, CommandType, CreateAccount,
    InstrumentId, InstrumentSpec, InstrumentState, MassCancel, NewOrder, OrderRef, OrderType, QueryAccount,
    RevokeCredential, SetAccountStatus, SetCredential, SetFeeSchedule, Side, TimeInForce, Transfer,
    CREDENTIAL_HASH_BYTES, CREDENTIAL_SALT_BYTES,
};
use protocol::execution::ExecReport;
use protocol::{
    CancelOnDisconnect, ClientMessage, Login, LoginAccepted, Logout, LogoutReason, Role, ServerMessage,
    DEFAULT_MAX_MESSAGE_LEN,
};

use crate::connect::connect_stream;
use crate::error::ClientError;
use crate::frame_reader::{is_disconnect, is_timeout, Fill, FrameReader};
use crate::transport::{tls_handshake, Transport};

/// Heartbeat interval assumed when the server reports 0 (the protocol's default).
const DEFAULT_HEARTBEAT_MS: u32 = 1000;
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Room for any client message (every version-1 message is at most 128 bytes).
const WRITE_BUF: usize = 256;

/// What [`Client::login`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginParams<'a> {
    /// Account id (the admin's account id for [`Role::Admin`]).
    pub account: u32,
    /// The secret, at most [`protocol::CREDENTIAL_LEN`] bytes (NUL-padded on the wire).
    pub credential: &'a [u8],
    /// Trader or admin.
    pub role: Role,
    /// Last sequence number processed on this account's stream (0 = none: the server resends the
    /// whole retained history).
    pub last_seen_seq: u64,
    /// Requested heartbeat interval, ms (0 = the server's default); the server clamps it.
    pub heartbeat_interval_ms: u32,
    /// Cancel the account's orders if the session ends other than by our `Logout`.
    pub cancel_on_disconnect: CancelOnDisconnect,
}

impl<'a> LoginParams<'a> {
    /// A trader login: `last_seen_seq` 0, the server's default heartbeat and cancel-on-disconnect.
    pub fn trader(account: u32, credential: &'a [u8]) -> LoginParams<'a> {
        LoginParams {
            account,
            credential,
            role: Role::Trader,
            last_seen_seq: 0,
            heartbeat_interval_ms: 0,
            cancel_on_disconnect: CancelOnDisconnect::Default,
        }
    }

    /// An admin login, otherwise as [`LoginParams::trader`].
    pub fn admin(account: u32, credential: &'a [u8]) -> LoginParams<'a> {
        LoginParams { role: Role::Admin, ..LoginParams::trader(account, credential) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Connected, no login accepted yet.
    Connected,
    /// Login accepted.
    LoggedIn,
    /// The server's `Logout` was returned by `recv`; the next `recv` says `Closed`.
    LogoutReceived,
    /// Closed or unusable.
    Closed,
}

/// A blocking client session. See the [module docs](self).
#[derive(Debug)]
pub struct Client {
    stream: Transport,
    peer: SocketAddr,
    io_timeout: Duration,
    reader: FrameReader,
    state: State,
    session: Option<LoginAccepted>,
    last_seen_seq: u64,
    heartbeat_interval: Option<Duration>,
    heartbeat_timeout: Option<Duration>,
    last_sent: Instant,
    last_received: Instant,
    next_cid: ClientOrderId,
}

impl Client {
    /// Connects to `addr` (each resolved address in turn), each attempt bounded by `timeout`, which
    /// also bounds every write and the wait for the login answer.
    pub fn connect(addr: impl ToSocketAddrs, timeout: Duration) -> Result<Client, ClientError> {
        let timeout = timeout.max(Duration::from_millis(1));
        Client::from_stream(connect_stream(addr, timeout)?, timeout)
    }

    /// Connects to a TLS listener (`server.tls_listen`) at `addr` and completes the handshake,
    /// checking the server's certificate against `tls` (see [`crate::tls_config`]) for
    /// `server_name` (the name or IP address the certificate is issued to); then as
    /// [`Client::connect`].
    pub fn connect_tls(
        addr: impl ToSocketAddrs,
        server_name: &str,
        tls: Arc<rustls::ClientConfig>,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let timeout = timeout.max(Duration::from_millis(1));
        Client::from_tls_stream(connect_stream(addr, timeout)?, server_name, tls, timeout)
    }

    /// [`Client::connect_tls`] on an already connected socket (e.g. from a chosen source address).
    pub fn from_tls_stream(
        tcp: TcpStream,
        server_name: &str,
        tls: Arc<rustls::ClientConfig>,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let timeout = timeout.max(Duration::from_millis(1));
        tcp.set_nodelay(true)?;
        Client::from_transport(tls_handshake(tcp, server_name, tls, timeout)?, timeout)
    }

    /// Wraps an already connected stream (`timeout` as for [`Client::connect`]).
    pub fn from_stream(stream: TcpStream, timeout: Duration) -> Result<Client, ClientError> {
        Client::from_transport(Transport::Tcp(stream), timeout)
    }

    fn from_transport(stream: Transport, timeout: Duration) -> Result<Client, ClientError> {
        let timeout = timeout.max(Duration::from_millis(1));
        stream.tcp().set_nodelay(true)?;
        stream.tcp().set_write_timeout(Some(timeout))?;
        let peer = stream.tcp().peer_addr()?;
        let now = Instant::now();
        let micros = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(1);
        Ok(Client {
            stream,
            peer,
            io_timeout: timeout,
            reader: FrameReader::new(READ_CHUNK, DEFAULT_MAX_MESSAGE_LEN),
            state: State::Connected,
            session: None,
            last_seen_seq: 0,
            heartbeat_interval: None,
            heartbeat_timeout: None,
            last_sent: now,
            last_received: now,
            next_cid: micros.max(1),
        })
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The `LoginAccepted` of this session, once logged in.
    pub fn session(&self) -> Option<&LoginAccepted> {
        self.session.as_ref()
    }

    /// Whether a login was accepted and the session has not ended.
    pub fn is_logged_in(&self) -> bool {
        self.state == State::LoggedIn
    }

    /// Highest report `seq` processed (the login's `last_seen_seq` until a report arrives): log in
    /// with it after a reconnect.
    pub fn last_seen_seq(&self) -> u64 {
        self.last_seen_seq
    }

    /// A fresh client order id: strictly increasing, starting from the wall clock in microseconds
    /// when the client was created (so ids are not reused across runs), unless
    /// [`Client::set_next_client_order_id`] says otherwise.
    pub fn next_client_order_id(&mut self) -> ClientOrderId {
        let id = self.next_cid;
        self.next_cid = self.next_cid.wrapping_add(1).max(1);
        id
    }

    /// Sets the id [`Client::next_client_order_id`] returns next.
    pub fn set_next_client_order_id(&mut self, id: ClientOrderId) {
        self.next_cid = id;
    }

    /// Logs in and waits (up to the connect timeout) for the answer. Reports that follow
    /// `LoginAccepted` (resends of `next_seq..=highest_seq`, then live ones) are read with
    /// [`Client::recv`].
    pub fn login(&mut self, p: LoginParams<'_>) -> Result<LoginAccepted, ClientError> {
        let credential =
            Login::credential_from(p.credential).ok_or(ClientError::CredentialTooLong { len: p.credential.len() })?;
        if self.state != State::Connected {
            return Err(ClientError::Unexpected(format!("login in state {:?}", self.state)));
        }
        self.send(&ClientMessage::Login(Login {
            account: p.account,
            credential,
            last_seen_seq: p.last_seen_seq,
            heartbeat_interval_ms: p.heartbeat_interval_ms,
            role: p.role,
            cancel_on_disconnect: p.cancel_on_disconnect,
        }))?;
        let deadline = Instant::now() + self.io_timeout;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(ClientError::Timeout);
            }
            let Some(msg) = self.recv(deadline - now)? else {
                return Err(ClientError::Timeout);
            };
            match msg {
                ServerMessage::LoginAccepted(a) => {
                    self.state = State::LoggedIn;
                    self.session = Some(a);
                    // The server resends from `next_seq` (= last_seen_seq + 1 by the protocol).
                    self.last_seen_seq = a.next_seq.saturating_sub(1);
                    let hb = if a.heartbeat_interval_ms == 0 { DEFAULT_HEARTBEAT_MS } else { a.heartbeat_interval_ms };
                    self.heartbeat_interval = Some(Duration::from_millis(hb.into()));
                    self.heartbeat_timeout =
                        (a.heartbeat_timeout_ms > 0).then(|| Duration::from_millis(a.heartbeat_timeout_ms.into()));
                    self.last_received = Instant::now();
                    return Ok(a);
                }
                ServerMessage::LoginRejected(r) => {
                    self.close();
                    return Err(ClientError::LoginRejected {
                        reason: r.reason,
                        highest_seq: r.highest_seq,
                        oldest_available_seq: r.oldest_available_seq,
                        leader: r.leader,
                    });
                }
                ServerMessage::Heartbeat => {}
                other => {
                    self.close();
                    return Err(ClientError::Unexpected(format!("before the login answer: {}", describe(&other))));
                }
            }
        }
    }

    /// Sends one message.
    pub fn send(&mut self, msg: &ClientMessage) -> Result<(), ClientError> {
        let mut buf = [0u8; WRITE_BUF];
        let n = msg.encode(&mut buf).map_err(|e| ClientError::Unexpected(format!("encoding: {e}")))?;
        self.send_bytes(buf.get(..n).unwrap_or(&[]))
    }

    /// Sends raw bytes as they are (for tests that send malformed data).
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        if self.state == State::Closed {
            return Err(ClientError::Closed);
        }
        match self.stream.send_all(bytes) {
            Ok(()) => {
                self.last_sent = Instant::now();
                Ok(())
            }
            Err(e) if is_timeout(&e) => Err(ClientError::Timeout),
            // Not closed here: what the server sent before closing can still be read with `recv`.
            Err(e) if is_disconnect(&e) => Err(ClientError::Closed),
            Err(e) => Err(ClientError::Io(e)),
        }
    }

    /// Sends `NewOrder`.
    pub fn new_order(&mut self, order: NewOrder) -> Result<(), ClientError> {
        self.send(&ClientMessage::NewOrder(order))
    }

    /// Sends `NewStopOrder` (a stop-loss or take-profit order, armed until its trigger).
    pub fn stop_order(&mut self, order: engine::StopOrder) -> Result<(), ClientError> {
        self.send(&ClientMessage::NewStopOrder(order))
    }

    /// Sends `NewAdvancedOrder` (good-till-date, quote quantity, conditional with expiry, iceberg,
    /// trailing stop: `trailing: Some(Trailing { .. })` with `trigger: Some((0, StopLoss))`).
    pub fn advanced_order(&mut self, order: engine::AdvancedOrder) -> Result<(), ClientError> {
        self.send(&ClientMessage::NewAdvancedOrder(order))
    }

    /// Sends `NewOrderList` (OCO, OTO, OTOCO). Its legs take the client order ids
    /// `list.client_order_id`, `+ 1` ..: if that is the next id [`Client::next_client_order_id`]
    /// would give, those ids are skipped there.
    pub fn order_list(&mut self, list: engine::OrderList) -> Result<(), ClientError> {
        let legs = list.orders().count() as u64;
        if list.client_order_id == self.next_cid {
            self.next_cid = self.next_cid.wrapping_add(legs).max(1);
        }
        self.send(&ClientMessage::NewOrderList(list))
    }

    /// Sends `AmendTrigger`: moves an armed order's trigger price.
    pub fn amend_trigger(&mut self, order: OrderRef, trigger_price: u64) -> Result<(), ClientError> {
        self.send(&ClientMessage::AmendTrigger(engine::AmendTrigger { order, trigger_price }))
    }

    /// Sends a limit GTC `NewOrder` with the next client order id (STP none); returns that id.
    pub fn limit_order(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        price: u64,
        qty: u64,
    ) -> Result<ClientOrderId, ClientError> {
        let client_order_id = self.next_client_order_id();
        self.new_order(NewOrder {
            client_order_id,
            instrument,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            stp: engine::StpMode::None,
            price,
            qty,
        })?;
        Ok(client_order_id)
    }

    /// Sends `Cancel` for one order (by engine or client order id).
    pub fn cancel(&mut self, order: OrderRef) -> Result<(), ClientError> {
        self.send(&ClientMessage::Cancel(Cancel { order }))
    }

    /// Sends `Amend` (`new_qty` is the new total quantity, filled included).
    pub fn amend(&mut self, amend: Amend) -> Result<(), ClientError> {
        self.send(&ClientMessage::Amend(amend))
    }

    /// Sends `MassCancel`.
    pub fn mass_cancel(&mut self, mass_cancel: MassCancel) -> Result<(), ClientError> {
        self.send(&ClientMessage::MassCancel(mass_cancel))
    }

    /// Admin: sends `AddInstrument`.
    pub fn add_instrument(&mut self, spec: InstrumentSpec) -> Result<(), ClientError> {
        self.send(&ClientMessage::AddInstrument(spec))
    }

    /// Admin: sends `SetInstrumentState`.
    pub fn set_instrument_state(
        &mut self,
        instrument: InstrumentId,
        state: InstrumentState,
    ) -> Result<(), ClientError> {
        self.send(&ClientMessage::SetInstrumentState(engine::SetInstrumentState { instrument, state }))
    }

    /// Admin: sends `CreateAccount` (risk mode).
    pub fn create_account(&mut self, target: AccountId, tier: u8, status: AccountStatus) -> Result<(), ClientError> {
        self.send(&ClientMessage::CreateAccount(CreateAccount { target, tier, status }))
    }

    /// Admin: sends `Deposit` (`tx_id` must never have been used for a transfer).
    pub fn deposit(&mut self, target: AccountId, asset: AssetId, amount: u64, tx_id: u64) -> Result<(), ClientError> {
        self.send(&ClientMessage::Deposit(Transfer { target, asset, amount, tx_id }))
    }

    /// Admin: sends `Withdraw` (`tx_id` must never have been used for a transfer).
    pub fn withdraw(&mut self, target: AccountId, asset: AssetId, amount: u64, tx_id: u64) -> Result<(), ClientError> {
        self.send(&ClientMessage::Withdraw(Transfer { target, asset, amount, tx_id }))
    }

    /// Admin: sends `SetAccountStatus` (suspend or resume, and the fee tier).
    pub fn set_account_status(
        &mut self,
        target: AccountId,
        status: AccountStatus,
        tier: u8,
    ) -> Result<(), ClientError> {
        self.send(&ClientMessage::SetAccountStatus(SetAccountStatus { target, status, tier }))
    }

    /// Admin: sends `SetFeeSchedule`.
    pub fn set_fee_schedule(&mut self, schedule: SetFeeSchedule) -> Result<(), ClientError> {
        self.send(&ClientMessage::SetFeeSchedule(schedule))
    }

    /// Admin: sends `SetCredential`: `target`'s API secret becomes the one whose
    /// `SHA-256(salt || secret)` is `hash` (see [`crate::credential_hash`]; use a fresh random salt).
    /// The answer is `CredentialChanged` with the hash's fingerprint, or `CommandRejected`.
    pub fn set_credential(
        &mut self,
        target: AccountId,
        salt: [u8; CREDENTIAL_SALT_BYTES],
        hash: [u8; CREDENTIAL_HASH_BYTES],
    ) -> Result<(), ClientError> {
        self.send(&ClientMessage::SetCredential(SetCredential { target, salt, hash }))
    }

    /// Admin: sends `RevokeCredential`: `target`'s logins are refused and its live session ends.
    pub fn revoke_credential(&mut self, target: AccountId) -> Result<(), ClientError> {
        self.send(&ClientMessage::RevokeCredential(RevokeCredential { target }))
    }

    /// Sends `QueryAccount` (a trader session may only ask about its own account). The answer is
    /// `AccountBalance` reports, `OpenOrder` reports, then `QueryDone`.
    pub fn query_account(&mut self, target: AccountId) -> Result<(), ClientError> {
        self.send(&ClientMessage::QueryAccount(QueryAccount { target }))
    }

    /// Sends `Heartbeat` (done automatically by [`Client::recv`] when idle).
    pub fn heartbeat(&mut self) -> Result<(), ClientError> {
        self.send(&ClientMessage::Heartbeat)
    }

    /// Sends `Logout(UserRequest)`; the server answers with its own `Logout` after what it still
    /// had queued, then closes (read them with [`Client::recv`], or use
    /// [`Client::logout_and_drain`]).
    pub fn logout(&mut self) -> Result<(), ClientError> {
        self.send(&ClientMessage::Logout(Logout { reason: LogoutReason::UserRequest }))
    }

    /// [`Client::logout`], then reads until the server's `Logout`, the connection closes or
    /// `timeout` passes; returns everything read (the server's `Logout` last, if it came).
    pub fn logout_and_drain(&mut self, timeout: Duration) -> Result<Vec<ServerMessage>, ClientError> {
        self.logout()?;
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(out);
            }
            match self.recv(deadline - now) {
                Ok(Some(m)) => {
                    let done = matches!(m, ServerMessage::Logout(_));
                    out.push(m);
                    if done {
                        self.close();
                        return Ok(out);
                    }
                }
                Ok(None) => return Ok(out),
                Err(ClientError::Closed) => return Ok(out),
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits up to `timeout` for the next server message; `Ok(None)` if none came in time.
    ///
    /// Every message is returned, heartbeats included. A report whose `seq` is not
    /// [`Client::last_seen_seq`] + 1 gives [`ClientError::SequenceGap`] (and is dropped); otherwise
    /// it becomes the new `last_seen_seq`. The server's `Logout` is returned as a message; the call
    /// after it returns [`ClientError::Closed`]. While waiting, a `Heartbeat` is sent whenever
    /// nothing has been sent for the session's heartbeat interval.
    pub fn recv(&mut self, timeout: Duration) -> Result<Option<ServerMessage>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.state {
                State::Closed => return Err(ClientError::Closed),
                State::LogoutReceived => {
                    self.close();
                    return Err(ClientError::Closed);
                }
                State::Connected | State::LoggedIn => {}
            }
            if let Some(msg) = self.decode_buffered()? {
                return self.process(msg).map(Some);
            }
            let now = Instant::now();
            let mut wait = deadline.saturating_duration_since(now);
            if self.state == State::LoggedIn {
                if let Some(interval) = self.heartbeat_interval {
                    let due = self.last_sent + interval;
                    if now >= due {
                        // A failed write shows up on the read below (EOF or reset).
                        let _ = self.send(&ClientMessage::Heartbeat);
                        wait = wait.min(interval);
                    } else {
                        wait = wait.min(due - now);
                    }
                }
                if let Some(silence) = self.heartbeat_timeout {
                    wait = wait.min((self.last_received + silence).saturating_duration_since(now));
                }
            }
            if self.fill(wait.max(Duration::from_millis(1)))? > 0 {
                continue;
            }
            // Nothing arrived: give up on a server silent for the heartbeat timeout (judged after a
            // read, so data already waiting in the socket always counts).
            if self.state == State::LoggedIn {
                if let Some(silence) = self.heartbeat_timeout {
                    if self.last_received.elapsed() >= silence {
                        self.close();
                        return Err(ClientError::Timeout);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// Reads until a message satisfies `pred` and returns it; every other message read meanwhile
    /// is appended to `others`. `Ok(None)` if `timeout` passes first.
    pub fn recv_until(
        &mut self,
        mut pred: impl FnMut(&ServerMessage) -> bool,
        timeout: Duration,
        others: &mut Vec<ServerMessage>,
    ) -> Result<Option<ServerMessage>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(msg) = self.recv(deadline.saturating_duration_since(Instant::now()))? else {
                return Ok(None);
            };
            if pred(&msg) {
                return Ok(Some(msg));
            }
            others.push(msg);
        }
    }

    /// Reads every message that arrives within `timeout`. An error discards what was read; use
    /// [`Client::recv_until`] with a `never` predicate to keep it.
    pub fn recv_for(&mut self, timeout: Duration) -> Result<Vec<ServerMessage>, ClientError> {
        let mut out = Vec::new();
        self.recv_until(|_| false, timeout, &mut out)?;
        Ok(out)
    }

    /// Closes the connection (without a `Logout`: the server sees a disconnect).
    pub fn close(&mut self) {
        if self.state != State::Closed {
            self.stream.close();
            self.state = State::Closed;
        }
    }

    /// Splits the next whole frame off the read buffer.
    fn decode_buffered(&mut self) -> Result<Option<ServerMessage>, ClientError> {
        match self.reader.next(ServerMessage::decode_frame) {
            Ok(decoded) => Ok(decoded.transpose()?),
            Err(e) => {
                self.close();
                Err(ClientError::Framing(e))
            }
        }
    }

    /// Sequence check and session bookkeeping for one decoded message.
    fn process(&mut self, msg: ServerMessage) -> Result<ServerMessage, ClientError> {
        match msg {
            ServerMessage::Report { seq, .. } => {
                if self.state != State::LoggedIn {
                    return Err(ClientError::Unexpected(format!("before login: {}", describe(&msg))));
                }
                let expected = self.last_seen_seq.wrapping_add(1);
                if seq != expected {
                    return Err(ClientError::SequenceGap { expected, got: seq });
                }
                self.last_seen_seq = seq;
            }
            ServerMessage::Logout(_) => self.state = State::LogoutReceived,
            ServerMessage::LoginAccepted(_)
            | ServerMessage::LoginRejected(_)
            | ServerMessage::Heartbeat
            | ServerMessage::SessionReject(_) => {}
        }
        Ok(msg)
    }

    /// One read of at most `wait`; returns the bytes read (0 on timeout). EOF closes the client.
    fn fill(&mut self, wait: Duration) -> Result<usize, ClientError> {
        match self.reader.fill(&mut self.stream, wait)? {
            Fill::Data(n) => {
                self.last_received = Instant::now();
                Ok(n)
            }
            Fill::Timeout => Ok(0),
            Fill::Closed => {
                self.close();
                Err(ClientError::Closed)
            }
        }
    }
}

fn side_name(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// One human-readable line for a server message (prices and quantities as the wire's integers,
/// enums by name), e.g. `#12 FILL order=5 cid=3 instrument=1 BUY 50000 @ 5000000 leaves=0 trade=9
/// maker fee=-50` (zero fees and ids are left out).
pub fn describe(msg: &ServerMessage) -> String {
    match msg {
        ServerMessage::LoginAccepted(a) => format!(
            "LOGIN ACCEPTED account={} role={:?} next_seq={} highest_seq={} heartbeat={}ms timeout={}ms \
             cancel_on_disconnect={}",
            a.account,
            a.role,
            a.next_seq,
            a.highest_seq,
            a.heartbeat_interval_ms,
            a.heartbeat_timeout_ms,
            on_off(a.cancel_on_disconnect)
        ),
        ServerMessage::LoginRejected(r) => format!(
            "LOGIN REJECTED account={} reason={:?} highest_seq={} oldest_available_seq={}{}",
            r.account,
            r.reason,
            r.highest_seq,
            r.oldest_available_seq,
            r.leader.map(|a| format!(" leader={a}")).unwrap_or_default()
        ),
        ServerMessage::Heartbeat => "HEARTBEAT".to_string(),
        ServerMessage::Logout(l) => format!("LOGOUT reason={:?}", l.reason),
        ServerMessage::SessionReject(r) => {
            let mut s = format!("SESSION REJECT template={} reason={:?}", r.ref_template_id, r.reason);
            if let Some(off) = r.field_offset {
                s.push_str(&format!(" field_offset={off}"));
            }
            if r.client_order_id != 0 {
                s.push_str(&format!(" cid={}", r.client_order_id));
            }
            s
        }
        ServerMessage::Report { seq, report } => format!("#{seq} {}", describe_report(report)),
    }
}

fn balance_reason_name(r: BalanceReason) -> &'static str {
    match r {
        BalanceReason::Order => "order",
        BalanceReason::Cancel => "cancel",
        BalanceReason::Trade => "trade",
        BalanceReason::Deposit => "deposit",
        BalanceReason::Withdraw => "withdraw",
        BalanceReason::WalletTransfer => "wallet-transfer",
    }
}

fn describe_report(report: &ExecReport) -> String {
    match report {
        ExecReport::ListAccepted(l) => format!(
            "LIST_ACCEPTED list={} cid={} instrument={} {:?} legs={}",
            l.list_id, l.client_order_id, l.instrument, l.kind, l.legs
        ),
        ExecReport::Armed(a) => format!(
            "ARMED order={} cid={} instrument={} {} {:?} {:?} {:?} {} @ {} trigger={}",
            a.order_id,
            a.client_order_id,
            a.instrument,
            side_name(a.side),
            a.trigger,
            a.order_type,
            a.tif,
            a.qty,
            a.price,
            a.trigger_price
        ),
        ExecReport::Triggered(t) => format!(
            "TRIGGERED order={} cid={} instrument={} {} trigger={} last={}",
            t.order_id,
            t.client_order_id,
            t.instrument,
            side_name(t.side),
            t.trigger_price,
            t.last_price
        ),
        ExecReport::TriggerAmended(t) => format!(
            "TRIGGER_AMENDED order={} cid={} instrument={} {} trigger={}",
            t.order_id,
            t.client_order_id,
            t.instrument,
            side_name(t.side),
            t.trigger_price
        ),
        ExecReport::Accepted(a) => format!(
            "ACCEPTED order={} cid={} instrument={} {} {:?} {:?} {} @ {}",
            a.order_id,
            a.client_order_id,
            a.instrument,
            side_name(a.side),
            a.order_type,
            a.tif,
            a.qty,
            a.price
        ),
        ExecReport::Rejected(r) => {
            let mut s = format!("REJECTED {:?} reason={:?}", r.command, r.reason);
            if r.client_order_id != 0 {
                s.push_str(&format!(" cid={}", r.client_order_id));
            }
            if r.order_id != 0 {
                s.push_str(&format!(" order={}", r.order_id));
            }
            if r.instrument != 0 {
                s.push_str(&format!(" instrument={}", r.instrument));
            }
            s
        }
        ExecReport::Fill(f) => {
            let mut s = format!(
                "FILL order={} cid={} instrument={} {} {} @ {} leaves={} trade={} {}",
                f.order_id,
                f.client_order_id,
                f.instrument,
                side_name(f.side),
                f.qty,
                f.price,
                f.leaves_qty,
                f.trade_id,
                match f.liquidity {
                    protocol::Liquidity::Maker => "maker",
                    protocol::Liquidity::Taker => "taker",
                }
            );
            if f.fee != 0 {
                s.push_str(&format!(" fee={}", f.fee));
            }
            if f.liquidation {
                s.push_str(" liquidation");
            }
            s
        }
        ExecReport::Cancelled(c) => format!(
            "CANCELLED order={} cid={} instrument={} {} cancelled={} filled={} reason={:?}",
            c.order_id,
            c.client_order_id,
            c.instrument,
            side_name(c.side),
            c.cancelled_qty,
            c.filled_qty,
            c.reason
        ),
        ExecReport::Amended(a) => format!(
            "AMENDED order={} cid={} instrument={} {} {} @ {} leaves={} priority={}",
            a.order_id,
            a.client_order_id,
            a.instrument,
            side_name(a.side),
            a.qty,
            a.price,
            a.leaves,
            if a.kept_priority { "kept" } else { "lost" }
        ),
        ExecReport::SelfTradePrevented(s) => format!(
            "SELF-TRADE PREVENTED instrument={} maker_order={} taker_order={} qty={} mode={:?}",
            s.instrument, s.maker_order_id, s.taker_order_id, s.qty, s.mode
        ),
        ExecReport::MassCancelled(m) => format!("MASS CANCELLED count={}", m.count),
        ExecReport::InstrumentAdded(a) => {
            let s = &a.spec;
            format!(
                "INSTRUMENT ADDED id={} symbol={} base={} quote={} tick={} lot={} min_qty={} max_qty={} \
                 min_notional={} band_bps={} ref_price={} qty_scale={}",
                s.id,
                s.symbol_str(),
                s.base_asset,
                s.quote_asset,
                s.tick,
                s.lot,
                s.min_qty,
                s.max_qty,
                s.min_notional,
                s.price_band_bps,
                s.reference_price,
                s.qty_scale
            )
        }
        ExecReport::InstrumentStateChanged(c) => {
            format!("INSTRUMENT STATE instrument={} state={:?}", c.instrument, c.state)
        }
        ExecReport::BalanceChanged(b) => format!(
            "BALANCE asset={} available={} reserved={} reason={} command_seq={}",
            b.change.asset,
            b.change.available,
            b.change.reserved,
            balance_reason_name(b.change.reason),
            b.command_seq
        ),
        ExecReport::AccountUpdated(a) => {
            format!("ACCOUNT UPDATED {:?} account={} status={:?} tier={}", a.command, a.target, a.status, a.tier)
        }
        ExecReport::TransferApplied(t) => format!(
            "TRANSFER {:?} account={} asset={} amount={} tx={} available={}",
            t.command, t.target, t.asset, t.amount, t.tx_id, t.available
        ),
        ExecReport::FeeScheduleSet(f) => format!(
            "FEE SCHEDULE instrument={} tier={} maker_ppm={} taker_ppm={}",
            f.schedule.instrument, f.schedule.tier, f.schedule.maker_ppm, f.schedule.taker_ppm
        ),
        ExecReport::AccountBalance(b) => format!(
            "ACCOUNT BALANCE account={} asset={} available={} reserved={}",
            b.target, b.asset, b.available, b.reserved
        ),
        ExecReport::OpenOrder(o) => {
            let o = &o.order;
            format!(
                "OPEN ORDER account={} order={} cid={} instrument={} {} {} @ {} leaves={} {:?} stp={:?}",
                o.account,
                o.order_id,
                o.client_order_id,
                o.instrument,
                side_name(o.side),
                o.qty,
                o.price,
                o.leaves,
                o.tif,
                o.stp
            )
        }
        ExecReport::QueryDone(q) => format!(
            "QUERY DONE account={} status={:?} tier={} balances={} orders={} command_seq={}",
            q.done.target, q.done.status, q.done.tier, q.done.balances, q.done.orders, q.command_seq
        ),
        ExecReport::CredentialChanged(c) => match c.command {
            CommandType::RevokeCredential => format!("CREDENTIAL REVOKED account={}", c.target),
            _ => format!("CREDENTIAL SET account={} fingerprint={:016x}", c.target, c.fingerprint),
        },
        ExecReport::Futures(f) => crate::futures_describe::describe_futures(f),
    }
}
