//! [`InternalPeers`]: who is behind each loopback connection the TLS terminator opens to the
//! gateway's internal listener. The gateway's login limits count per source address and admin
//! logins are checked against an address allowlist, so a TLS client must be judged by its own
//! address, not by the terminator's 127.0.0.1. The terminator binds its side of each internal
//! connection first, registers "source port -> (client address, listener)" here, and only then
//! connects; the gateway takes the registration for the port of each connection it accepts, and
//! closes a connection nobody registered (another local process cannot use the internal port to
//! dodge the limits).
//!
//! No waker is needed: the registration is pushed before `connect(2)`, so it is in the queue by
//! the time the gateway can accept the connection, and the connection is what wakes the gateway.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use crate::login::Listener;

/// A registration older than this is dropped: its connection never came (the connect failed, or
/// matchd is stopping). Generous, so a gateway busy with a full ring still finds it.
pub const REGISTRATION_TTL: Duration = Duration::from_secs(60);

/// One TLS client's internal connection, as the terminator announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerRegistration {
    /// The port the terminator bound its side of the internal connection to.
    pub source_port: u16,
    /// The TLS client's address.
    pub peer: SocketAddr,
    /// The TLS listener it came to: [`Listener::Orders`] or [`Listener::MarketData`].
    pub listener: Listener,
}

/// Terminator -> gateway: a bounded lock-free queue of registrations.
#[derive(Debug)]
pub struct InternalPeers {
    queue: ArrayQueue<PeerRegistration>,
}

impl InternalPeers {
    /// Room for `capacity` registrations not yet taken by the gateway.
    pub fn new(capacity: usize) -> Self {
        Self { queue: ArrayQueue::new(capacity.max(1)) }
    }

    /// The terminator announces a connection it is about to open; `false` when the queue is full
    /// (the gateway is not keeping up: the terminator refuses the client).
    pub fn register(&self, r: PeerRegistration) -> bool {
        debug_assert!(matches!(r.listener, Listener::Orders | Listener::MarketData));
        self.queue.push(r).is_ok()
    }
}

/// The gateway's side: registrations taken from the queue, by source port, until their
/// connection is accepted or they expire.
#[derive(Debug)]
pub(crate) struct PeerTable {
    by_port: HashMap<u16, (SocketAddr, Listener, Instant)>,
}

impl PeerTable {
    pub(crate) fn new() -> Self {
        Self { by_port: HashMap::new() }
    }

    /// The registration of the connection from `source_port`, if the terminator made one.
    pub(crate) fn take(
        &mut self,
        peers: &InternalPeers,
        source_port: u16,
        now: Instant,
    ) -> Option<(SocketAddr, Listener)> {
        // A later registration of the same port replaces an earlier one: the kernel only reuses a
        // port after the terminator closed the socket that had it.
        while let Some(r) = peers.queue.pop() {
            self.by_port.insert(r.source_port, (r.peer, r.listener, now));
        }
        debug_assert!(self.by_port.len() <= u16::MAX as usize + 1);
        self.by_port.remove(&source_port).map(|(peer, listener, _)| (peer, listener))
    }

    /// Drops registrations whose connection never came.
    pub(crate) fn expire(&mut self, now: Instant) {
        self.by_port.retain(|_, (_, _, at)| now.saturating_duration_since(*at) < REGISTRATION_TTL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_is_taken_once_by_its_port_and_expires() {
        let peers = InternalPeers::new(2);
        let client: SocketAddr = "192.0.2.7:50000".parse().unwrap();
        assert!(peers.register(PeerRegistration { source_port: 41000, peer: client, listener: Listener::Orders }));
        assert!(peers.register(PeerRegistration { source_port: 41001, peer: client, listener: Listener::MarketData }));
        assert!(!peers.register(PeerRegistration { source_port: 41002, peer: client, listener: Listener::Orders }));
        let mut table = PeerTable::new();
        let t0 = Instant::now();
        assert_eq!(table.take(&peers, 41001, t0), Some((client, Listener::MarketData)));
        assert_eq!(table.take(&peers, 41001, t0), None, "taken once");
        assert_eq!(table.take(&peers, 9999, t0), None, "never registered");
        table.expire(t0 + REGISTRATION_TTL);
        assert_eq!(table.take(&peers, 41000, t0), None, "expired");
    }
}
