//! The TLS terminator: a thread (mio + rustls) that accepts TLS connections on the TLS order and
//! market-data listeners, completes each handshake, and carries the client's plaintext to the
//! gateway over a loopback TCP connection to the gateway's internal listener.
//!
//! Why a separate thread and a loopback hop: the gateway thread reads each connection and the
//! publisher thread writes it through a second descriptor of the same socket, but a TLS session
//! is one state machine for both directions; splitting it across those threads would need a
//! lock on the order path. Behind the terminator the gateway and publisher see an ordinary
//! plaintext connection, and the plaintext listeners are untouched. The gateway still judges the
//! client by its own address and listener: the terminator registers them for the internal
//! connection's source port before connecting ([`crate::internal_peers`]).
//!
//! The handshakes have the same budget as the gateway's connections waiting to log in
//! (`server.max_pending_logins`, per address `server.max_pending_logins_per_address`, and the
//! `server.login_timeout_ms` deadline), so a flood of TLS handshakes costs the terminator no more
//! than a flood of idle plaintext sockets costs the gateway.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rustls::ServerConnection;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::internal_peers::{InternalPeers, PeerRegistration};
use crate::login::Listener;
use crate::login_throttle::address_key;
use crate::pending_logins::PendingLogins;
use crate::tls_tunnel::{Pumped, Tunnel, TunnelError};

const ORDERS_TOKEN: Token = Token(usize::MAX - 1);
const MARKET_DATA_TOKEN: Token = Token(usize::MAX - 2);
const TIMER_PERIOD: Duration = Duration::from_millis(50);
/// After one side of a tunnel ended, how long the other may take to finish.
const CLOSE_LINGER: Duration = Duration::from_secs(5);
/// At shutdown, how long the terminator keeps delivering the server's last words (logouts).
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// The TLS listeners, bound by the wiring before any thread starts.
pub struct TlsListeners {
    /// `server.tls_listen`: trading sessions (and market data) over TLS.
    pub orders: Option<TcpListener>,
    /// `market_data.tls_listen`: market-data subscriptions only, over TLS.
    pub market_data: Option<TcpListener>,
}

/// What the terminator needs besides its listeners.
pub struct TlsSettings {
    /// Certificate, key and protocol versions (see [`crate::tls_config`]).
    pub server_config: Arc<rustls::ServerConfig>,
    /// The gateway's internal plaintext listener (loopback).
    pub internal_addr: SocketAddr,
    /// A handshake not complete by then is closed (`server.login_timeout_ms`).
    pub handshake_timeout_ms: u64,
    /// Handshakes at once (`server.max_pending_logins`).
    pub max_handshakes: u32,
    /// Handshakes at once per source address (`server.max_pending_logins_per_address`).
    pub max_handshakes_per_address: u32,
    /// The queue the gateway takes the internal connections' registrations from.
    pub peers: Arc<InternalPeers>,
}

/// Why a connection on a TLS listener never reached the gateway (`matchd_tls_handshake_failures_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// Not TLS, or the handshake failed (e.g. the client does not trust the certificate).
    TlsError,
    /// Not complete within `server.login_timeout_ms`.
    Timeout,
    /// The client closed or reset the connection during the handshake.
    Closed,
    /// Its address had `server.max_pending_logins_per_address` handshakes going on.
    Refused,
    /// The oldest handshake, closed to make room (`server.max_pending_logins`).
    Evicted,
    /// The gateway could not be reached (internal connection or registration failed).
    Internal,
}

impl HandshakeFailure {
    /// Metric labels, indexed by [`HandshakeFailure::index`].
    pub const LABELS: [&'static str; 6] = ["tls_error", "timeout", "closed", "refused", "evicted", "internal"];

    /// Index into [`HandshakeFailure::LABELS`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The terminator's counters, read by the metrics thread.
#[derive(Debug, Default)]
pub struct TlsStats {
    /// TCP connections accepted on the TLS listeners.
    pub connections: AtomicU64,
    /// Handshakes completed (each became a tunnel to the gateway).
    pub handshakes: AtomicU64,
    /// Connections that never reached the gateway, by [`HandshakeFailure::LABELS`].
    pub handshake_failures: [AtomicU64; HandshakeFailure::LABELS.len()],
    /// TLS connections open now (handshaking or tunnelled).
    pub open: AtomicU64,
}

/// The TLS terminator stage.
pub struct TlsTerminator {
    poll: Poll,
    listeners: TlsListeners,
    settings: TlsSettings,
    /// Tunnel `i` has tokens `2i` (client) and `2i + 1` (internal connection).
    tunnels: Vec<Option<Slot>>,
    free: Vec<usize>,
    handshakes: PendingLogins,
    stop: Arc<AtomicBool>,
    stats: Arc<TlsStats>,
}

/// A tunnel and the terminator's bookkeeping for it.
struct Slot {
    tunnel: Tunnel,
    /// The handshake deadline, then (once a side ended) the close deadline.
    deadline: Option<Instant>,
    /// Counted in `handshakes` (the handshake is not complete).
    handshaking: bool,
}

impl TlsTerminator {
    /// A terminator on bound listeners.
    pub fn new(
        mut listeners: TlsListeners,
        settings: TlsSettings,
        stop: Arc<AtomicBool>,
        stats: Arc<TlsStats>,
    ) -> std::io::Result<Self> {
        let poll = Poll::new()?;
        if let Some(l) = listeners.orders.as_mut() {
            poll.registry().register(l, ORDERS_TOKEN, Interest::READABLE)?;
        }
        if let Some(l) = listeners.market_data.as_mut() {
            poll.registry().register(l, MARKET_DATA_TOKEN, Interest::READABLE)?;
        }
        let handshakes =
            PendingLogins::new(settings.max_handshakes as usize, settings.max_handshakes_per_address as usize);
        Ok(Self { poll, listeners, settings, tunnels: Vec::new(), free: Vec::new(), handshakes, stop, stats })
    }

    /// Runs until `stop` is set, then delivers what the server still sends (bounded by
    /// [`DRAIN_LIMIT`]) and closes every connection.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut last_timers = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            if !self.poll_once(&mut events) {
                return;
            }
            let now = Instant::now();
            if now.duration_since(last_timers) >= TIMER_PERIOD {
                last_timers = now;
                self.timers(now);
            }
        }
        self.drain(&mut events);
    }

    /// Waits for and handles one round of events; `false` if polling failed.
    fn poll_once(&mut self, events: &mut Events) -> bool {
        if let Err(e) = self.poll.poll(events, Some(TIMER_PERIOD)) {
            if e.kind() != ErrorKind::Interrupted {
                tracing::error!("TLS terminator poll failed: {e}");
                return false;
            }
        }
        for ev in events.iter() {
            match ev.token() {
                ORDERS_TOKEN => self.accept_all(Listener::Orders),
                MARKET_DATA_TOKEN => self.accept_all(Listener::MarketData),
                Token(t) => self.pump(t / 2),
            }
        }
        true
    }

    /// Stops accepting, drops handshakes, and lets the tunnels deliver the server's last bytes
    /// (the gateway and publisher have closed their ends by now).
    fn drain(&mut self, events: &mut Events) {
        self.listeners = TlsListeners { orders: None, market_data: None };
        for idx in 0..self.tunnels.len() {
            if matches!(&self.tunnels[idx], Some(s) if s.handshaking) {
                self.close(idx);
            }
        }
        let deadline = Instant::now() + DRAIN_LIMIT;
        while Instant::now() < deadline && self.tunnels.iter().any(Option::is_some) {
            if !self.poll_once(events) {
                break;
            }
            for idx in 0..self.tunnels.len() {
                // The client's answer to our close_notify is not waited for at shutdown.
                if matches!(&self.tunnels[idx], Some(s) if s.tunnel.is_delivered()) {
                    self.close(idx);
                }
            }
        }
        for idx in 0..self.tunnels.len() {
            self.close(idx);
        }
        tracing::info!("TLS terminator stopped");
    }

    fn accept_all(&mut self, listener: Listener) {
        loop {
            let accepted = match listener {
                Listener::Orders => self.listeners.orders.as_ref().map(TcpListener::accept),
                Listener::MarketData => self.listeners.market_data.as_ref().map(TcpListener::accept),
                Listener::Admin => None,
            };
            match accepted {
                None => return,
                Some(Ok((stream, peer))) => self.admit(stream, peer, listener),
                Some(Err(e)) if e.kind() == ErrorKind::WouldBlock => return,
                Some(Err(e)) if e.kind() == ErrorKind::Interrupted => {}
                Some(Err(e)) => {
                    // EMFILE and friends: keep serving the open tunnels.
                    tracing::warn!("TLS accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Takes a new connection into the handshake budget (per address, then in total, evicting
    /// the oldest handshake when full) and starts its handshake.
    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr, listener: Listener) {
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        let address = address_key(peer.ip());
        if self.handshakes.at_address(address) >= self.handshakes.max_per_address() {
            tracing::debug!(%peer, "TLS connection refused: server.max_pending_logins_per_address handshakes");
            self.count_failure(HandshakeFailure::Refused);
            return;
        }
        if self.handshakes.is_full() {
            if let Some(oldest) = self.oldest_handshake() {
                self.count_failure(HandshakeFailure::Evicted);
                self.close(oldest);
            }
        }
        let tls = match ServerConnection::new(self.settings.server_config.clone()) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(%peer, "cannot start a TLS session: {e}");
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let idx = self.free.pop().unwrap_or_else(|| {
            self.tunnels.push(None);
            self.tunnels.len() - 1
        });
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.poll.registry().register(&mut stream, Token(2 * idx), interest) {
            tracing::warn!(%peer, "cannot register TLS connection: {e}");
            self.free.push(idx);
            return;
        }
        let deadline = Instant::now() + Duration::from_millis(self.settings.handshake_timeout_ms);
        self.tunnels[idx] = Some(Slot {
            tunnel: Tunnel::new(tls, stream, peer, listener),
            deadline: Some(deadline),
            handshaking: true,
        });
        self.handshakes.add(address);
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%peer, ?listener, "TLS connection accepted");
        // Bytes may already be waiting (edge-triggered).
        self.pump(idx);
    }

    /// The handshake that has gone on longest.
    fn oldest_handshake(&self) -> Option<usize> {
        self.tunnels
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Some(Slot { handshaking: true, deadline: Some(d), .. }) => Some((i, *d)),
                _ => None,
            })
            .min_by_key(|&(_, d)| d)
            .map(|(i, _)| i)
    }

    /// Moves a tunnel's bytes; opens its internal connection when the handshake completes and
    /// closes it when it is finished or failed.
    fn pump(&mut self, idx: usize) {
        loop {
            let Some(Some(slot)) = self.tunnels.get_mut(idx) else { return };
            match slot.tunnel.pump() {
                Ok(Pumped::Handshaking) => return,
                Ok(Pumped::Handshaken) => {
                    self.handshake_done(idx);
                    if let Err(e) = self.open_internal(idx) {
                        tracing::warn!("cannot reach the gateway for a TLS client: {e}");
                        self.count_failure(HandshakeFailure::Internal);
                        return self.close(idx);
                    }
                    self.stats.handshakes.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Pumped::Open) => {
                    if slot.tunnel.is_closing() && slot.deadline.is_none() {
                        slot.deadline = Some(Instant::now() + CLOSE_LINGER);
                    }
                    return;
                }
                Ok(Pumped::Finished) => return self.close(idx),
                Err(e) => return self.fail(idx, e),
            }
        }
    }

    fn fail(&mut self, idx: usize, e: TunnelError) {
        let Some(Some(slot)) = self.tunnels.get_mut(idx) else { return };
        slot.tunnel.flush_alert();
        let peer = slot.tunnel.peer;
        if slot.handshaking {
            let cause = match e {
                TunnelError::Tls(_) => HandshakeFailure::TlsError,
                TunnelError::ClientIo(_) => HandshakeFailure::Closed,
            };
            tracing::debug!(%peer, "TLS handshake failed: {e}");
            self.count_failure(cause);
        } else {
            tracing::debug!(%peer, "TLS session ended: {e}");
        }
        self.close(idx);
    }

    /// The handshake is complete: the connection leaves the handshake budget.
    fn handshake_done(&mut self, idx: usize) {
        let Some(Some(slot)) = self.tunnels.get_mut(idx) else { return };
        debug_assert!(slot.handshaking);
        slot.handshaking = false;
        slot.deadline = None;
        let address = address_key(slot.tunnel.peer.ip());
        self.handshakes.remove(address);
    }

    /// Opens the loopback connection to the gateway: bind, register the source port with the
    /// client's address, then connect (non-blocking; the gateway may be busy).
    fn open_internal(&mut self, idx: usize) -> std::io::Result<()> {
        let Some(Some(slot)) = self.tunnels.get_mut(idx) else { return Ok(()) };
        let internal = self.settings.internal_addr;
        let socket = Socket::new(Domain::for_address(internal), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        socket.set_tcp_nodelay(true)?;
        socket.bind(&SockAddr::from(SocketAddr::new(internal.ip(), 0)))?;
        let source_port = socket
            .local_addr()?
            .as_socket()
            .map(|a| a.port())
            .ok_or_else(|| std::io::Error::other("internal socket has no IP address"))?;
        let registration = PeerRegistration { source_port, peer: slot.tunnel.peer, listener: slot.tunnel.listener };
        if !self.settings.peers.register(registration) {
            return Err(std::io::Error::other("the gateway's registration queue is full"));
        }
        match socket.connect(&SockAddr::from(internal)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let mut inner = TcpStream::from_std(std::net::TcpStream::from(socket));
        let interest = Interest::READABLE | Interest::WRITABLE;
        self.poll.registry().register(&mut inner, Token(2 * idx + 1), interest)?;
        slot.tunnel.inner = Some(inner);
        Ok(())
    }

    /// Closes handshakes past their deadline and tunnels that took too long to finish closing.
    fn timers(&mut self, now: Instant) {
        for idx in 0..self.tunnels.len() {
            let Some(Some(slot)) = self.tunnels.get(idx) else { continue };
            if slot.deadline.is_some_and(|d| now >= d) {
                if slot.handshaking {
                    tracing::debug!(peer = %slot.tunnel.peer, "TLS handshake timed out");
                    self.count_failure(HandshakeFailure::Timeout);
                }
                self.close(idx);
            }
        }
    }

    fn count_failure(&self, cause: HandshakeFailure) {
        self.stats.handshake_failures[cause.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Closes both sockets of a tunnel (dropping them).
    fn close(&mut self, idx: usize) {
        let Some(mut slot) = self.tunnels.get_mut(idx).and_then(Option::take) else { return };
        if slot.handshaking {
            let address: IpAddr = address_key(slot.tunnel.peer.ip());
            self.handshakes.remove(address);
        }
        let _ = self.poll.registry().deregister(&mut slot.tunnel.client);
        if let Some(inner) = slot.tunnel.inner.as_mut() {
            let _ = self.poll.registry().deregister(inner);
        }
        self.free.push(idx);
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::HandshakeFailure;

    #[test]
    fn every_failure_has_its_own_label() {
        use HandshakeFailure::*;
        let labels: Vec<_> =
            [TlsError, Timeout, Closed, Refused, Evicted, Internal].map(|f| HandshakeFailure::LABELS[f.index()]).into();
        assert_eq!(labels, HandshakeFailure::LABELS);
    }
}
