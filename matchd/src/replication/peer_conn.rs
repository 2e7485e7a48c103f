//! [`PeerConn`]: one non-blocking replication connection with its input and output buffers.
//! Reads append to `inbuf` (bounded by the wire's largest frame); writes drain `outbuf` until the
//! socket would block. Nothing here blocks.

use std::io::{ErrorKind, Read, Write};

use mio::net::TcpStream;

use super::wire::MAX_FRAME_BYTES;

/// How a read or write went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoState {
    /// The connection is open.
    Open,
    /// The peer closed it, or it failed.
    Closed,
}

/// A replication connection.
pub struct PeerConn {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes received and not yet decoded.
    pub inbuf: Vec<u8>,
    /// Bytes to send.
    pub outbuf: Vec<u8>,
    /// How far `outbuf` has been written.
    out_pos: usize,
}

impl PeerConn {
    /// Wraps a connected (or connecting) socket.
    pub fn new(stream: TcpStream) -> PeerConn {
        let _ = stream.set_nodelay(true);
        PeerConn { stream, inbuf: Vec::with_capacity(64 << 10), outbuf: Vec::with_capacity(256 << 10), out_pos: 0 }
    }

    /// Reads what the socket has (stopping when a whole frame and more is buffered, so one peer
    /// cannot make the buffer grow without bound).
    pub fn read_available(&mut self) -> IoState {
        let mut chunk = [0u8; 64 << 10];
        while self.inbuf.len() < MAX_FRAME_BYTES + 4 {
            match self.stream.read(&mut chunk) {
                Ok(0) => return IoState::Closed,
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return IoState::Open,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return IoState::Closed,
            }
        }
        IoState::Open
    }

    /// Removes `n` decoded bytes from the front of `inbuf`.
    pub fn consume(&mut self, n: usize) {
        self.inbuf.drain(..n);
    }

    /// Bytes queued and not yet written.
    pub fn pending_out(&self) -> usize {
        self.outbuf.len() - self.out_pos
    }

    /// Writes what it can of `outbuf`.
    pub fn flush(&mut self) -> IoState {
        while self.out_pos < self.outbuf.len() {
            match self.stream.write(&self.outbuf[self.out_pos..]) {
                Ok(0) => return IoState::Closed,
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return IoState::Closed,
            }
        }
        if self.out_pos == self.outbuf.len() {
            self.outbuf.clear();
            self.out_pos = 0;
        } else if self.out_pos > (1 << 20) {
            // Keep the buffer from creeping: drop what was written.
            self.outbuf.drain(..self.out_pos);
            self.out_pos = 0;
        }
        IoState::Open
    }

    /// Whether the non-blocking connect failed (refused, unreachable).
    pub fn connect_error(&self) -> Option<std::io::Error> {
        match self.stream.take_error() {
            Ok(Some(e)) => Some(e),
            Ok(None) => None,
            Err(e) => Some(e),
        }
    }
}
