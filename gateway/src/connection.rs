//! One client connection as the gateway sees it: its socket and read buffer, where it is in the
//! session's life, and its rate limit.

use std::io::Write;
use std::net::IpAddr;
use std::time::Instant;

use mio::net::TcpStream;
use protocol::{LogoutReason, Role, ServerMessage};

use crate::control_plane::SessionId;
use crate::login::Listener;
use crate::rate_limit::TokenBucket;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Connected; only `Login` (or `MdSubscribe`) may come, before the deadline.
    AwaitingLogin {
        /// The login deadline (`server.login_timeout_ms` after accept).
        deadline: Instant,
    },
    /// Handed to the publisher; frames wait in the buffer until it answers.
    LoginPending {
        /// The account logging in.
        account: u32,
        /// Its role.
        role: Role,
        /// Cancel-on-disconnect in force.
        cod: bool,
    },
    /// Logged in: frames are decoded into the input ring.
    Active {
        /// The authenticated account (every command carries it, never the wire's).
        account: u32,
        /// Its role.
        role: Role,
        /// Cancel-on-disconnect in force.
        cod: bool,
    },
    /// A market-data subscriber, handed to the publisher (which writes to it); the gateway reads
    /// its heartbeats and snapshot requests.
    Subscriber,
}

/// A connection's gateway-side state.
pub(crate) struct Conn {
    pub(crate) id: SessionId,
    pub(crate) stream: TcpStream,
    /// The client's IP address (IPv4-mapped ones as IPv4; for TLS clients, the client's, not the
    /// terminator's). The login limits count it per `login_throttle::address_key`.
    pub(crate) peer: IpAddr,
    /// The listener it came in on.
    pub(crate) listener: Listener,
    /// Bytes read and not yet processed are `buf[..len]`.
    pub(crate) buf: Box<[u8]>,
    pub(crate) len: usize,
    pub(crate) state: State,
    pub(crate) last_rx: Instant,
    pub(crate) rate: TokenBucket,
    /// The ring was full: stop reading until it has room.
    pub(crate) blocked: bool,
}

/// How a connection ends, as far as the gateway is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// EOF or socket error.
    Disconnected,
    /// The client sent Logout.
    UserLogout,
    /// Server-initiated with this reason.
    Server(LogoutReason),
}

/// Best-effort write of one small frame by the gateway (only before the publisher owns the
/// connection).
pub(crate) fn write_direct(stream: &mut TcpStream, msg: &ServerMessage) {
    let mut buf = [0u8; 128];
    if let Ok(n) = msg.encode(&mut buf) {
        let _ = stream.write(&buf[..n]);
    }
}

/// A second handle on the same socket for the publisher (a dup'd descriptor).
pub(crate) fn clone_for_writing(stream: &TcpStream) -> std::io::Result<std::net::TcpStream> {
    use std::os::fd::AsFd;
    let fd = stream.as_fd().try_clone_to_owned()?;
    Ok(std::net::TcpStream::from(fd))
}
