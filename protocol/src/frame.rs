//! Framing: a little-endian `u16` length prefix, then an 8-byte header, then the block.
//!
//! ```text
//! offset 0  u16 length        bytes after this field (header + block), at least 8
//! offset 2  u16 block_length  bytes of the block
//! offset 4  u16 template_id
//! offset 6  u16 schema_id     SCHEMA_ID
//! offset 8  u16 version       VERSION
//! offset 10 block
//! ```

use crate::error::{EncodeError, FrameError};

/// Schema id carried in every header (`0x4D44`, the bytes `44 4D` on the wire).
pub const SCHEMA_ID: u16 = 0x4D44;
/// Schema version this code encodes. Decoders accept any version `>= 1` (fields are only appended).
/// Version 2: `LoginRejectReason::NotLeader` and the leader's address in `LoginRejected`.
pub const VERSION: u16 = 2;

/// Bytes of the length prefix.
pub const LENGTH_PREFIX_LEN: usize = 2;
/// Bytes of the message header.
pub const HEADER_LEN: usize = 8;
/// Default limit on a whole message (length prefix included) that [`decode_frame`] accepts; the
/// server's limit is configurable (`server.max_frame_bytes`), see [`decode_frame_max`].
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 1024;
/// Every version-1 message (length prefix included) fits in this many bytes, so a message-size
/// limit must be at least this (checked at compile time for every block).
pub const MIN_MESSAGE_LIMIT: usize = 128;
/// Largest message the `u16` length prefix can describe.
pub const ABSOLUTE_MAX_MESSAGE_LEN: usize = LENGTH_PREFIX_LEN + u16::MAX as usize;

const _: () = assert!(MIN_MESSAGE_LIMIT <= DEFAULT_MAX_MESSAGE_LEN);
const _: () = assert!(DEFAULT_MAX_MESSAGE_LEN <= ABSOLUTE_MAX_MESSAGE_LEN);
const _: () = assert!(HEADER_LEN == 4 * core::mem::size_of::<u16>());

/// The SBE-style message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Bytes of the block that follows.
    pub block_length: u16,
    /// Which message.
    pub template_id: u16,
    /// [`SCHEMA_ID`].
    pub schema_id: u16,
    /// Schema version the sender encoded with.
    pub version: u16,
}

impl Header {
    /// A version-1 header for `template_id` with a block of `block_length` bytes.
    pub const fn new(template_id: u16, block_length: u16) -> Header {
        Header { block_length, template_id, schema_id: SCHEMA_ID, version: VERSION }
    }

    /// Reads a header.
    pub fn from_bytes(b: &[u8; HEADER_LEN]) -> Header {
        let r = Rd(b);
        Header { block_length: r.u16(0), template_id: r.u16(2), schema_id: r.u16(4), version: r.u16(6) }
    }

    /// Writes a header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        let mut w = Wr(&mut b);
        w.u16(0, self.block_length);
        w.u16(2, self.template_id);
        w.u16(4, self.schema_id);
        w.u16(6, self.version);
        b
    }
}

/// One frame, borrowed from the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header.
    pub header: Header,
    /// Everything after the header (the block, as far as the length prefix says).
    pub body: &'a [u8],
}

/// Splits the first frame off `buf`, accepting messages up to [`DEFAULT_MAX_MESSAGE_LEN`]; see
/// [`decode_frame_max`].
#[inline]
pub fn decode_frame(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    decode_frame_max(buf, DEFAULT_MAX_MESSAGE_LEN)
}

/// Splits the first frame off `buf`, accepting whole messages (length prefix included) up to
/// `max_message_len` bytes.
///
/// - `Ok(None)`: `buf` holds less than a whole frame; read more bytes and call again.
/// - `Ok(Some((frame, n)))`: a frame; it used the first `n` bytes of `buf`.
/// - `Err(_)`: the length prefix is impossible; the stream cannot be resynchronised. The error is
///   reported as soon as the prefix is readable, before the rest of the frame arrives.
///
/// Only the length prefix is checked here; the header is checked by [`super::ClientMessage::decode`]
/// and [`super::ServerMessage::decode`].
#[inline]
pub fn decode_frame_max(buf: &[u8], max_message_len: usize) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    let Some(&[lo, hi]) = buf.first_chunk::<LENGTH_PREFIX_LEN>() else {
        return Ok(None);
    };
    let len = u16::from_le_bytes([lo, hi]) as usize;
    if len < HEADER_LEN {
        return Err(FrameError::TooShort { len });
    }
    let total = LENGTH_PREFIX_LEN + len;
    if total > max_message_len {
        return Err(FrameError::TooLarge { message_len: total, max: max_message_len });
    }
    let Some(frame) = buf.get(LENGTH_PREFIX_LEN..total) else {
        return Ok(None);
    };
    let (Some(header), Some(body)) = (frame.first_chunk::<HEADER_LEN>(), frame.get(HEADER_LEN..)) else {
        return Ok(None); // unreachable: len >= HEADER_LEN
    };
    Ok(Some((Frame { header: Header::from_bytes(header), body }, total)))
}

/// Bounds-checked little-endian reads from a block. The decoders check the block length against
/// the layout first, so a read is never out of range; if one were, it would read zeros rather than
/// panic.
#[derive(Clone, Copy)]
pub(crate) struct Rd<'a>(pub(crate) &'a [u8]);

impl<'a> Rd<'a> {
    #[inline]
    pub(crate) fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut a = [0u8; N];
        if let Some(s) = self.0.get(at..at.saturating_add(N)) {
            a.copy_from_slice(s);
        }
        a
    }
    #[inline]
    pub(crate) fn u8(&self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }
    #[inline]
    pub(crate) fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.bytes(at))
    }
    #[inline]
    pub(crate) fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.bytes(at))
    }
    #[inline]
    pub(crate) fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.bytes(at))
    }
    #[inline]
    pub(crate) fn i32(&self, at: usize) -> i32 {
        i32::from_le_bytes(self.bytes(at))
    }
    #[inline]
    pub(crate) fn i64(&self, at: usize) -> i64 {
        i64::from_le_bytes(self.bytes(at))
    }
    /// The block from `at` on (empty if out of range).
    #[inline]
    pub(crate) fn from(&self, at: usize) -> Rd<'a> {
        Rd(self.0.get(at..).unwrap_or(&[]))
    }
}

/// Bounds-checked little-endian writes into a block (out-of-range writes are dropped; encoders
/// size the block from the layout first, so none is).
pub(crate) struct Wr<'a>(pub(crate) &'a mut [u8]);

impl Wr<'_> {
    #[inline]
    pub(crate) fn bytes(&mut self, at: usize, v: &[u8]) {
        if let Some(s) = self.0.get_mut(at..at.saturating_add(v.len())) {
            s.copy_from_slice(v);
        }
    }
    #[inline]
    pub(crate) fn u8(&mut self, at: usize, v: u8) {
        if let Some(b) = self.0.get_mut(at) {
            *b = v;
        }
    }
    #[inline]
    pub(crate) fn u16(&mut self, at: usize, v: u16) {
        self.bytes(at, &v.to_le_bytes());
    }
    #[inline]
    pub(crate) fn u32(&mut self, at: usize, v: u32) {
        self.bytes(at, &v.to_le_bytes());
    }
    #[inline]
    pub(crate) fn u64(&mut self, at: usize, v: u64) {
        self.bytes(at, &v.to_le_bytes());
    }
    #[inline]
    pub(crate) fn i32(&mut self, at: usize, v: i32) {
        self.bytes(at, &v.to_le_bytes());
    }
    #[inline]
    pub(crate) fn i64(&mut self, at: usize, v: i64) {
        self.bytes(at, &v.to_le_bytes());
    }
    /// The block from `at` on.
    #[inline]
    pub(crate) fn from(&mut self, at: usize) -> Wr<'_> {
        Wr(self.0.get_mut(at..).unwrap_or(&mut []))
    }
}

/// Writes a whole message (prefix, header, zeroed block filled by `fill`) into the front of `buf`
/// and returns its length.
#[inline]
pub(crate) fn encode_message(
    template_id: u16,
    block_len: usize,
    buf: &mut [u8],
    fill: impl FnOnce(&mut Wr<'_>),
) -> Result<usize, EncodeError> {
    let total = LENGTH_PREFIX_LEN + HEADER_LEN + block_len;
    let available = buf.len();
    let Some(out) = buf.get_mut(..total) else {
        return Err(EncodeError::BufferTooSmall { needed: total, available });
    };
    out.fill(0);
    let mut w = Wr(out);
    w.u16(0, (HEADER_LEN + block_len) as u16);
    w.bytes(LENGTH_PREFIX_LEN, &Header::new(template_id, block_len as u16).to_bytes());
    fill(&mut w.from(LENGTH_PREFIX_LEN + HEADER_LEN));
    Ok(total)
}

/// Appends a message of `len` bytes written by `encode` to `out`, within its spare capacity
/// (never reallocates).
#[inline]
pub(crate) fn append_to_vec(
    out: &mut Vec<u8>,
    len: usize,
    encode: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
) -> Result<usize, EncodeError> {
    let start = out.len();
    let available = out.capacity() - start;
    if available < len {
        return Err(EncodeError::BufferTooSmall { needed: len, available });
    }
    out.resize(start + len, 0);
    let r = encode(out.get_mut(start..).unwrap_or(&mut []));
    match r {
        Ok(n) => out.truncate(start + n),
        Err(_) => out.truncate(start),
    }
    r
}
