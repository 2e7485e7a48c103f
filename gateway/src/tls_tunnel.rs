//! [`Tunnel`]: one TLS client and the plaintext loopback connection that carries its bytes to
//! the gateway. Bytes move both ways through two bounded buffers: a side that cannot take more
//! stops the other being read, so a slow client or a busy gateway pushes back through TCP as on a
//! direct connection, and neither direction can grow memory. Either side ending ends the other
//! cleanly: the client's end (its `close_notify` or EOF) becomes a half-close towards the gateway;
//! the gateway's end becomes a `close_notify` to the client after everything before it.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::net::TcpStream;
use rustls::ServerConnection;

use crate::login::Listener;

/// Bytes buffered per direction (besides rustls' own, which is capped at the same size).
pub(crate) const PIPE_BYTES: usize = 64 * 1024;

/// Why a tunnel had to be closed at once.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TunnelError {
    /// The client's bytes are not TLS, or the handshake failed (e.g. it does not trust the
    /// certificate). rustls has queued an alert for it.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The client's socket failed (reset).
    #[error("client socket: {0}")]
    ClientIo(io::Error),
}

/// How far a [`Tunnel::pump`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pumped {
    /// The handshake goes on; waiting for the client.
    Handshaking,
    /// The handshake is complete and there is no internal connection yet: open one.
    Handshaken,
    /// Both directions wait for their sockets.
    Open,
    /// Both sides ended and everything was delivered: close the tunnel.
    Finished,
}

/// A bounded byte buffer: bytes are appended at the end and taken from the start.
struct Pipe {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Pipe {
    fn new(capacity: usize) -> Self {
        Self { buf: vec![0u8; capacity].into_boxed_slice(), start: 0, end: 0 }
    }

    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start += n;
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
    }

    /// The free room at the end (the data is moved to the front first when that makes room).
    fn room(&mut self) -> &mut [u8] {
        if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        &mut self.buf[self.end..]
    }

    fn filled(&mut self, n: usize) {
        self.end += n;
        debug_assert!(self.end <= self.buf.len());
    }

    fn clear(&mut self) {
        (self.start, self.end) = (0, 0);
    }
}

/// One TLS client's tunnel to the gateway.
pub(crate) struct Tunnel {
    pub(crate) tls: ServerConnection,
    pub(crate) client: TcpStream,
    /// The client's address (registered with the gateway for the internal connection).
    pub(crate) peer: SocketAddr,
    /// The TLS listener it came to.
    pub(crate) listener: Listener,
    /// The plaintext connection to the gateway, once the handshake is complete.
    pub(crate) inner: Option<TcpStream>,
    /// Client -> gateway plaintext.
    up: Pipe,
    /// Gateway -> client plaintext.
    down: Pipe,
    /// The client's socket said EOF (or rustls saw `close_notify`): never read it again.
    client_read_done: bool,
    /// No more plaintext will come from the client.
    client_ended: bool,
    /// The gateway was told (write half closed) after everything the client sent.
    up_shut: bool,
    /// No more bytes will come from the gateway.
    inner_ended: bool,
    /// `close_notify` is queued after everything the gateway sent.
    close_sent: bool,
}

impl Tunnel {
    /// A tunnel for a client just accepted on `listener`.
    pub(crate) fn new(mut tls: ServerConnection, client: TcpStream, peer: SocketAddr, listener: Listener) -> Self {
        // rustls' outgoing buffer is bounded too: `writer().write` takes less when it is full.
        tls.set_buffer_limit(Some(PIPE_BYTES));
        Self {
            tls,
            client,
            peer,
            listener,
            inner: None,
            up: Pipe::new(PIPE_BYTES),
            down: Pipe::new(PIPE_BYTES),
            client_read_done: false,
            client_ended: false,
            up_shut: false,
            inner_ended: false,
            close_sent: false,
        }
    }

    /// One side has ended: the tunnel only finishes delivering what is left.
    pub(crate) fn is_closing(&self) -> bool {
        self.client_ended || self.inner_ended
    }

    /// The gateway's side ended and the client has been sent everything, `close_notify` last.
    pub(crate) fn is_delivered(&self) -> bool {
        self.close_sent && !self.tls.wants_write()
    }

    /// Moves bytes until no socket or buffer can take or give more.
    pub(crate) fn pump(&mut self) -> Result<Pumped, TunnelError> {
        loop {
            let mut moved = self.read_client()?;
            moved |= self.flush_client()?;
            if self.tls.is_handshaking() {
                if self.client_read_done {
                    // The client left in the middle of the handshake.
                    return Err(TunnelError::ClientIo(ErrorKind::UnexpectedEof.into()));
                }
                if moved {
                    continue;
                }
                return Ok(Pumped::Handshaking);
            }
            if self.inner.is_none() {
                return Ok(Pumped::Handshaken);
            }
            moved |= self.client_to_gateway()?;
            moved |= self.gateway_to_client()?;
            if !moved {
                break;
            }
        }
        if self.is_delivered() && self.client_ended {
            return Ok(Pumped::Finished);
        }
        Ok(Pumped::Open)
    }

    /// Sends whatever rustls has queued (an alert after a failure), without waiting.
    pub(crate) fn flush_alert(&mut self) {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.client) {
                Ok(n) if n > 0 => {}
                _ => return,
            }
        }
    }

    /// Reads TLS records from the client while the plaintext they carry has somewhere to go.
    fn read_client(&mut self) -> Result<bool, TunnelError> {
        if self.client_read_done {
            return Ok(false);
        }
        let state = self.tls.process_new_packets()?;
        // Plaintext still waiting in rustls goes to `up` first (rustls refuses to read more
        // while its plaintext buffer is full).
        if state.plaintext_bytes_to_read() > 0 || state.peer_has_closed() {
            return Ok(false);
        }
        if !self.tls.is_handshaking() && self.up.room().is_empty() {
            return Ok(false);
        }
        match self.tls.read_tls(&mut self.client) {
            Ok(n) => {
                self.client_read_done = n == 0;
                self.tls.process_new_packets()?;
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(TunnelError::ClientIo(e)),
        }
    }

    /// Writes queued TLS records to the client.
    fn flush_client(&mut self) -> Result<bool, TunnelError> {
        let mut moved = false;
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.client) {
                Ok(0) => break,
                Ok(_) => moved = true,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(TunnelError::ClientIo(e)),
            }
        }
        if moved && self.is_delivered() {
            // Everything is out: the client sees EOF after our close_notify.
            let _ = self.client.shutdown(Shutdown::Write);
        }
        Ok(moved)
    }

    /// Moves the client's plaintext out of rustls into `up` and on to the gateway; after the
    /// client's last byte, half-closes the internal connection so the gateway sees the end.
    fn client_to_gateway(&mut self) -> Result<bool, TunnelError> {
        let Some(inner) = self.inner.as_mut() else { return Ok(false) };
        let mut moved = false;
        while !self.client_ended {
            let room = self.up.room();
            if room.is_empty() {
                break;
            }
            match self.tls.reader().read(room) {
                // `close_notify`, or (UnexpectedEof) a TCP EOF without it: either way the client
                // is gone, as a direct connection's EOF would say.
                Ok(0) => self.client_ended = true,
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => self.client_ended = true,
                Ok(n) => self.up.filled(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(TunnelError::ClientIo(e)),
            }
            moved = true;
        }
        if self.inner_ended {
            // Nobody left to deliver to.
            self.up.clear();
        }
        while !self.up.is_empty() {
            match inner.write(self.up.data()) {
                Ok(n) if n > 0 => self.up.consume(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // The gateway closed (or reset) the connection.
                Ok(_) | Err(_) => {
                    self.inner_ended = true;
                    self.up.clear();
                }
            }
            moved = true;
        }
        if self.client_ended && self.up.is_empty() && !self.up_shut {
            let _ = inner.shutdown(Shutdown::Write);
            self.up_shut = true;
            moved = true;
        }
        Ok(moved)
    }

    /// Reads the gateway's bytes while rustls can take them, and ends the TLS session after the
    /// last one.
    fn gateway_to_client(&mut self) -> Result<bool, TunnelError> {
        let Some(inner) = self.inner.as_mut() else { return Ok(false) };
        let mut moved = false;
        loop {
            while !self.down.is_empty() {
                // Bounded by the buffer limit: 0 when rustls is full.
                let n = self.tls.writer().write(self.down.data()).map_err(TunnelError::ClientIo)?;
                if n == 0 {
                    break;
                }
                self.down.consume(n);
                moved = true;
            }
            if self.inner_ended || !self.down.is_empty() {
                break;
            }
            match inner.read(self.down.room()) {
                Ok(0) => self.inner_ended = true,
                Ok(n) => self.down.filled(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // A reset from the gateway's side ends the session like its EOF.
                Err(_) => self.inner_ended = true,
            }
            moved = true;
        }
        if self.inner_ended && self.down.is_empty() && !self.close_sent {
            self.tls.send_close_notify();
            self.close_sent = true;
            moved = true;
        }
        Ok(moved)
    }
}
