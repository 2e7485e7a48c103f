//! Record layout: a fixed 24-byte header followed by the payload, padded to
//! 8 bytes. All integers little-endian. See `docs/journal.md`.
//!
//! ```text
//! offset size field
//!      0    4 crc32c       CRC32C (Castagnoli) over bytes 4..24 of the header, then the payload
//!      4    4 record_len   header + payload, unpadded (>= 24); 0 = nothing written here;
//!                          0xFFFF_FFFF = end-of-segment marker. Stored last (publication).
//!      8    8 seq          sequence number, previous + 1, first record of a journal = 1
//!     16    1 record_type  opaque to the journal
//!     17    7 reserved     zero
//!     24    n payload      then zero padding to the next multiple of 8
//! ```

use std::mem::{offset_of, size_of};
use std::sync::atomic::{fence, AtomicU32, Ordering};

use crate::error::RecordFault;
use crate::Seq;

/// Size of the record header in bytes.
pub const RECORD_HEADER_LEN: usize = 24;
/// Records start at offsets that are multiples of this.
pub const RECORD_ALIGN: usize = 8;
/// `record_len` value marking the end of a segment: the writer rolled over
/// to the next segment here. Lets a tailing reader know to move on without
/// polling the directory.
pub const END_OF_SEGMENT: u32 = u32::MAX;

pub(crate) const OFF_CRC: usize = 0;
pub(crate) const OFF_LEN: usize = 4;
pub(crate) const OFF_SEQ: usize = 8;
pub(crate) const OFF_TYPE: usize = 16;
pub(crate) const OFF_RESERVED: usize = 17;

/// The header as a C struct, only to check the hand-written offsets above at
/// compile time (the code reads and writes bytes, never this struct, so the
/// on-disk format does not depend on the compiler's layout or endianness).
#[repr(C)]
#[allow(dead_code)]
struct RecordHeaderLayout {
    crc32c: u32,
    record_len: u32,
    seq: u64,
    record_type: u8,
    reserved: [u8; 7],
}

const _: () = assert!(size_of::<RecordHeaderLayout>() == RECORD_HEADER_LEN);
const _: () = assert!(offset_of!(RecordHeaderLayout, crc32c) == OFF_CRC);
const _: () = assert!(offset_of!(RecordHeaderLayout, record_len) == OFF_LEN);
const _: () = assert!(offset_of!(RecordHeaderLayout, seq) == OFF_SEQ);
const _: () = assert!(offset_of!(RecordHeaderLayout, record_type) == OFF_TYPE);
const _: () = assert!(offset_of!(RecordHeaderLayout, reserved) == OFF_RESERVED);
const _: () = assert!(RECORD_HEADER_LEN % RECORD_ALIGN == 0);
// The length field is published with a 4-byte atomic store: it must be
// 4-aligned whenever the record is 8-aligned.
const _: () = assert!(OFF_LEN % 4 == 0);

/// A record read in place from a mapped segment (zero-copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// Sequence number.
    pub seq: Seq,
    /// Record type (opaque to the journal).
    pub record_type: u8,
    /// Payload bytes, borrowed from the mapping.
    pub payload: &'a [u8],
    /// First sequence number of the segment holding the record (names the file).
    pub segment_first_seq: Seq,
    /// Byte offset of the record header within its segment file.
    pub offset: u64,
}

/// Bytes a record with `payload_len` bytes of payload occupies, padding included.
#[inline]
pub const fn padded_record_len(payload_len: usize) -> usize {
    (RECORD_HEADER_LEN + payload_len + RECORD_ALIGN - 1) & !(RECORD_ALIGN - 1)
}

/// CRC32C over header bytes 4..24 (as they will be stored) and the payload.
#[inline]
pub(crate) fn record_crc(record_len: u32, seq: Seq, record_type: u8, payload: &[u8]) -> u32 {
    let mut h = [0u8; RECORD_HEADER_LEN - OFF_LEN];
    h[0..4].copy_from_slice(&record_len.to_le_bytes());
    h[4..12].copy_from_slice(&seq.to_le_bytes());
    h[12] = record_type;
    crc32c::crc32c_append(crc32c::crc32c(&h), payload)
}

/// Writes one record into `buf` (exactly `padded_record_len(payload.len())`
/// bytes of a zeroed region). The length field is written last with a
/// release store, so a reader that sees a non-zero length (acquire) sees the
/// whole record, in this process or another one mapping the same file.
#[inline]
pub(crate) fn encode(buf: &mut [u8], seq: Seq, record_type: u8, payload: &[u8]) {
    let record_len = (RECORD_HEADER_LEN + payload.len()) as u32;
    let crc = record_crc(record_len, seq, record_type, payload);
    buf[RECORD_HEADER_LEN..RECORD_HEADER_LEN + payload.len()].copy_from_slice(payload);
    buf[OFF_SEQ..OFF_SEQ + 8].copy_from_slice(&seq.to_le_bytes());
    buf[OFF_TYPE] = record_type;
    buf[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    publish_u32(&mut buf[OFF_LEN..OFF_LEN + 4], record_len);
}

/// Stores a little-endian u32 with release ordering.
#[inline]
pub(crate) fn publish_u32(dst: &mut [u8], value: u32) {
    let ptr = dst.as_mut_ptr();
    if dst.len() >= 4 && (ptr as usize) % 4 == 0 {
        // SAFETY: `ptr` is from a live `&mut [u8]` of >= 4 bytes (valid, and no other Rust reference
        // aliases it during this call) and 4-aligned (checked above); readers in other mappings only
        // ever load it atomically.
        let atomic = unsafe { AtomicU32::from_ptr(ptr.cast::<u32>()) };
        atomic.store(value.to_le(), Ordering::Release);
    } else {
        // Unaligned buffers only occur with test doubles backed by plain
        // byte vectors, which no other thread reads concurrently.
        fence(Ordering::Release);
        dst[..4].copy_from_slice(&value.to_le_bytes());
    }
}

/// Loads the little-endian u32 at `off` with acquire semantics (see
/// [`encode`]). Returns `None` if it lies outside `buf`.
#[inline]
pub(crate) fn load_u32_acquire(buf: &[u8], off: usize) -> Option<u32> {
    let bytes = buf.get(off..off.checked_add(4)?)?;
    let ptr = bytes.as_ptr();
    let value = if (ptr as usize) % 4 == 0 {
        // SAFETY: 4 readable, 4-aligned bytes borrowed from `buf` for this call; a relaxed load of a
        // lock-free 4-byte atomic is allowed on read-only memory another process writes through its
        // own mapping (std::sync::atomic, "Atomic accesses to read-only memory"); we never store.
        let atomic = unsafe { AtomicU32::from_ptr(ptr as *mut u32) };
        u32::from_le(atomic.load(Ordering::Relaxed))
    } else {
        u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    };
    fence(Ordering::Acquire);
    Some(value)
}

#[inline]
pub(crate) fn read_u32(buf: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[off..off + 4]);
    u32::from_le_bytes(b)
}

#[inline]
pub(crate) fn read_u64(buf: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[off..off + 8]);
    u64::from_le_bytes(b)
}

/// What lies at a record position.
#[derive(Debug)]
pub(crate) enum Slot<'a> {
    /// `record_len` is 0: nothing written here (yet).
    Empty,
    /// The writer rolled over to the next segment here.
    EndOfSegment,
    /// No room for another record header before `limit`.
    NoRoom,
    /// A valid record.
    Record(RecordView<'a>, usize),
    /// A record that fails validation.
    Invalid(RecordFault),
}

/// Decodes and validates the record at `off`.
///
/// `limit` is the segment size from its header; `buf` may be shorter (a
/// truncated file). `expected` is the sequence the record must carry
/// (`None` accepts any, for the scan-ahead). On success returns the padded
/// length too.
///
/// This is the one definition of a valid record: recovery, readers and the
/// operator's tools all call it, so a record one of them accepts none of
/// them refuses. The reserved bytes and the padding are outside the CRC;
/// checking them here is what makes a bit flipped there corruption for
/// every reader, not only for recovery.
pub(crate) fn decode(buf: &[u8], limit: usize, off: usize, expected: Option<Seq>, segment_first_seq: Seq) -> Slot<'_> {
    if off + OFF_LEN + 4 > limit {
        return Slot::NoRoom;
    }
    let record_len = match load_u32_acquire(buf, off + OFF_LEN) {
        Some(l) => l,
        // The file ends before the header: nothing was ever written there
        // as far as this file shows.
        None => return Slot::Empty,
    };
    // The marker fits where a record header does not (8 bytes suffice).
    match record_len {
        END_OF_SEGMENT => return Slot::EndOfSegment,
        0 if off + RECORD_HEADER_LEN > limit => return Slot::NoRoom,
        0 => return Slot::Empty,
        _ => {}
    }
    let len = record_len as usize;
    if len < RECORD_HEADER_LEN || len > limit - off {
        return Slot::Invalid(RecordFault::BadLength(record_len));
    }
    let padded = (len + RECORD_ALIGN - 1) & !(RECORD_ALIGN - 1);
    let padded = padded.min(limit - off);
    if off + padded > buf.len() {
        return Slot::Invalid(RecordFault::PastEndOfFile);
    }
    let rec = &buf[off..off + padded];
    let stored = read_u32(rec, OFF_CRC);
    let seq = read_u64(rec, OFF_SEQ);
    let record_type = rec[OFF_TYPE];
    let payload = &rec[RECORD_HEADER_LEN..len];
    let computed = record_crc(record_len, seq, record_type, payload);
    if stored != computed {
        return Slot::Invalid(RecordFault::CrcMismatch { stored, computed });
    }
    if rec[OFF_RESERVED..RECORD_HEADER_LEN].iter().any(|&b| b != 0) {
        return Slot::Invalid(RecordFault::NonZeroReserved);
    }
    if rec[len..].iter().any(|&b| b != 0) {
        return Slot::Invalid(RecordFault::NonZeroPadding);
    }
    if let Some(expected) = expected {
        if seq != expected {
            return Slot::Invalid(RecordFault::SeqMismatch { found: seq, expected });
        }
    }
    Slot::Record(RecordView { seq, record_type, payload, segment_first_seq, offset: off as u64 }, padded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let mut buf = vec![0u8; 256];
        let payload = b"hello journal";
        let n = padded_record_len(payload.len());
        encode(&mut buf[..n], 7, 3, payload);
        match decode(&buf, 256, 0, Some(7), 1) {
            Slot::Record(v, len) => {
                assert_eq!(len, n);
                assert_eq!(v.seq, 7);
                assert_eq!(v.record_type, 3);
                assert_eq!(v.payload, payload);
            }
            other => panic!("unexpected {other:?}"),
        }
        buf[30] ^= 1;
        assert!(matches!(decode(&buf, 256, 0, Some(7), 1), Slot::Invalid(RecordFault::CrcMismatch { .. })));
    }

    #[test]
    fn crc_is_standard_crc32c() {
        // The check value documented in docs/journal.md for other readers.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        let payload = [1u8, 2, 3];
        let mut hdr = [0u8; 20];
        hdr[0..4].copy_from_slice(&27u32.to_le_bytes());
        hdr[4..12].copy_from_slice(&5u64.to_le_bytes());
        hdr[12] = 9;
        let mut whole = hdr.to_vec();
        whole.extend_from_slice(&payload);
        assert_eq!(record_crc(27, 5, 9, &payload), crc32c::crc32c(&whole));
    }

    #[test]
    fn padded_lengths() {
        assert_eq!(padded_record_len(0), 24);
        assert_eq!(padded_record_len(1), 32);
        assert_eq!(padded_record_len(8), 32);
        assert_eq!(padded_record_len(64), 88);
    }
}
