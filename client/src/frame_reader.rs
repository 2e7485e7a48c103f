//! [`FrameReader`]: the client libraries' read side. Buffers bytes from a blocking stream (TCP or TLS) and
//! splits off whole length-prefixed frames (`docs/protocol.md`, "Framing"), for the order-entry
//! client ([`crate::order_client`]) and the market-data client ([`crate::md_client`]) alike.

use std::io;
use std::time::Duration;

use protocol::{decode_frame_max, Frame, FrameError};

use crate::transport::Transport;

/// What one [`FrameReader::fill`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// This many bytes arrived.
    Data(usize),
    /// Nothing arrived within the wait (or the read was interrupted).
    Timeout,
    /// The peer closed the connection or it broke.
    Closed,
}

/// A read buffer and the position of the first unconsumed byte.
#[derive(Debug)]
pub(crate) struct FrameReader {
    buf: Vec<u8>,
    pos: usize,
    read_chunk: usize,
    max_message_len: usize,
}

impl FrameReader {
    /// Reads `read_chunk` bytes at a time; frames longer than `max_message_len` are an error.
    pub(crate) fn new(read_chunk: usize, max_message_len: usize) -> Self {
        Self { buf: Vec::with_capacity(read_chunk * 2), pos: 0, read_chunk, max_message_len }
    }

    /// Splits the next whole frame off the buffer and decodes it with `decode`: `Ok(None)` until
    /// a whole frame is buffered; `Err` if the bytes are not a valid frame (the stream is then
    /// unusable).
    pub(crate) fn next<T>(&mut self, decode: impl FnOnce(&Frame<'_>) -> T) -> Result<Option<T>, FrameError> {
        let buf = self.buf.get(self.pos..).unwrap_or(&[]);
        let Some((frame, n)) = decode_frame_max(buf, self.max_message_len)? else { return Ok(None) };
        let decoded = decode(&frame);
        self.pos += n;
        if self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        Ok(Some(decoded))
    }

    /// One read of at most `wait` from `stream` into the buffer.
    pub(crate) fn fill(&mut self, stream: &mut Transport, wait: Duration) -> io::Result<Fill> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let start = self.buf.len();
        self.buf.resize(start + self.read_chunk, 0);
        let r = stream.read_within(self.buf.get_mut(start..).unwrap_or(&mut []), wait);
        self.buf.truncate(start + *r.as_ref().unwrap_or(&0));
        match r {
            Ok(0) => Ok(Fill::Closed),
            Ok(n) => Ok(Fill::Data(n)),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => Ok(Fill::Timeout),
            Err(e) if is_disconnect(&e) => Ok(Fill::Closed),
            Err(e) => Err(e),
        }
    }
}

/// A read or write timed out.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// The connection is gone.
pub(crate) fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::NotConnected
    )
}
