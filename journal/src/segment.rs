//! Segment files: naming and the 128-byte segment header.
//!
//! ```text
//! offset size field
//!      0    8 magic            b"MATCHDJL"
//!      8    4 format_version   1
//!     12    4 header_len       128 (records start here)
//!     16    8 segment_size     file size in bytes
//!     24    8 first_seq        sequence of the first record; 0 = spare not yet in use
//!     32    8 prev_first_seq   first_seq of the previous segment (0 = none)
//!     40    4 header_crc       CRC32C over bytes 0..40
//!     44    4 reserved         zero
//!     48    8 watermark_a      durable watermark, copy A
//!     56    4 watermark_a_crc  CRC32C over first_seq (8 bytes LE) then watermark_a (8 bytes LE)
//!     60    4 reserved         zero
//!     64    8 watermark_b      durable watermark, copy B
//!     72    4 watermark_b_crc  as for A
//!     76   52 reserved         zero
//! ```
//!
//! The watermark is kept twice and updated alternately, so a writer killed
//! between the two stores of one update leaves the other copy intact.

use std::mem::{offset_of, size_of};

use crate::record::{read_u32, read_u64};
pub use crate::segment_name::{parse_segment_file_name, segment_file_name, SEGMENT_SUFFIX};
use crate::Seq;

/// Smallest segment size accepted.
pub const MIN_SEGMENT_SIZE: u64 = 16 * 1024;
/// Largest segment size accepted (offsets stay well inside u32 record lengths).
pub const MAX_SEGMENT_SIZE: u64 = 1 << 30;
/// Segment sizes are multiples of this (whole pages: the writer maps and
/// syncs segments by page).
pub const SEGMENT_SIZE_MULTIPLE: u64 = 4096;

/// Checks a segment size against the one rule every part applies: the
/// writer's configuration, matchd's config file and the header of every
/// segment read back. The error says the rule.
pub fn validate_segment_size(size: u64) -> Result<(), String> {
    if (MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&size) && size % SEGMENT_SIZE_MULTIPLE == 0 {
        return Ok(());
    }
    Err(format!(
        "segment size {size} must be a multiple of {SEGMENT_SIZE_MULTIPLE} between {MIN_SEGMENT_SIZE} (16 KiB) and \
         {MAX_SEGMENT_SIZE} (1 GiB)"
    ))
}

/// Magic bytes at the start of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"MATCHDJL";
/// On-disk format version written by this crate.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the segment header; the first record starts here.
pub const SEGMENT_HEADER_LEN: usize = 128;
/// Prefix and suffix of spare (pre-created, not yet named) segment files.
pub(crate) const SPARE_PREFIX: &str = "spare-";
pub(crate) const SPARE_SUFFIX: &str = ".pre";

const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_HEADER_LEN: usize = 12;
const OFF_SEGMENT_SIZE: usize = 16;
const OFF_FIRST_SEQ: usize = 24;
const OFF_PREV_FIRST_SEQ: usize = 32;
const OFF_HEADER_CRC: usize = 40;
/// Offsets of the two watermark copies (u64 then its u32 CRC).
pub(crate) const WATERMARK_SLOTS: [usize; 2] = [48, 64];
/// Reserved (always zero) ranges of the header: after the header CRC, after
/// watermark A, after watermark B.
const RESERVED: [(usize, usize); 3] = [(44, 48), (60, 64), (76, SEGMENT_HEADER_LEN)];

#[repr(C)]
#[allow(dead_code)]
struct SegmentHeaderLayout {
    magic: [u8; 8],
    format_version: u32,
    header_len: u32,
    segment_size: u64,
    first_seq: u64,
    prev_first_seq: u64,
    header_crc: u32,
    reserved0: u32,
    watermark_a: u64,
    watermark_a_crc: u32,
    reserved1: u32,
    watermark_b: u64,
    watermark_b_crc: u32,
    reserved2: [u8; 52],
}

const _: () = assert!(size_of::<SegmentHeaderLayout>() == SEGMENT_HEADER_LEN);
const _: () = assert!(offset_of!(SegmentHeaderLayout, magic) == OFF_MAGIC);
const _: () = assert!(offset_of!(SegmentHeaderLayout, format_version) == OFF_VERSION);
const _: () = assert!(offset_of!(SegmentHeaderLayout, header_len) == OFF_HEADER_LEN);
const _: () = assert!(offset_of!(SegmentHeaderLayout, segment_size) == OFF_SEGMENT_SIZE);
const _: () = assert!(offset_of!(SegmentHeaderLayout, first_seq) == OFF_FIRST_SEQ);
const _: () = assert!(offset_of!(SegmentHeaderLayout, prev_first_seq) == OFF_PREV_FIRST_SEQ);
const _: () = assert!(offset_of!(SegmentHeaderLayout, header_crc) == OFF_HEADER_CRC);
const _: () = assert!(offset_of!(SegmentHeaderLayout, watermark_a) == WATERMARK_SLOTS[0]);
const _: () = assert!(offset_of!(SegmentHeaderLayout, watermark_b) == WATERMARK_SLOTS[1]);
// The header must sit in the first 512-byte sector: recovery relies on
// sector-atomic writes so power loss cannot tear it.
const _: () = assert!(SEGMENT_HEADER_LEN <= 512);
const _: () = assert!(SEGMENT_HEADER_LEN % crate::record::RECORD_ALIGN == 0);

/// A parsed, validated segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Size of the segment file in bytes.
    pub segment_size: u64,
    /// Sequence number of the first record (0 = unused spare).
    pub first_seq: Seq,
    /// First sequence number of the previous segment (0 = none).
    pub prev_first_seq: Seq,
}

pub(crate) fn spare_file_name(id: u64) -> String {
    format!("{SPARE_PREFIX}{id}{SPARE_SUFFIX}")
}

pub(crate) fn is_spare_file_name(name: &str) -> bool {
    name.starts_with(SPARE_PREFIX) && name.ends_with(SPARE_SUFFIX)
}

/// Writes a complete header (both watermark slots set to `watermark`).
pub(crate) fn write_header(buf: &mut [u8], segment_size: u64, first_seq: Seq, prev_first_seq: Seq, watermark: Seq) {
    let h = &mut buf[..SEGMENT_HEADER_LEN];
    h.fill(0);
    h[OFF_MAGIC..OFF_MAGIC + 8].copy_from_slice(&SEGMENT_MAGIC);
    h[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[OFF_HEADER_LEN..OFF_HEADER_LEN + 4].copy_from_slice(&(SEGMENT_HEADER_LEN as u32).to_le_bytes());
    h[OFF_SEGMENT_SIZE..OFF_SEGMENT_SIZE + 8].copy_from_slice(&segment_size.to_le_bytes());
    h[OFF_FIRST_SEQ..OFF_FIRST_SEQ + 8].copy_from_slice(&first_seq.to_le_bytes());
    h[OFF_PREV_FIRST_SEQ..OFF_PREV_FIRST_SEQ + 8].copy_from_slice(&prev_first_seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[..OFF_HEADER_CRC]);
    h[OFF_HEADER_CRC..OFF_HEADER_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    for slot in 0..2 {
        write_watermark(h, slot, first_seq, watermark);
    }
}

fn watermark_crc(first_seq: Seq, watermark: Seq) -> u32 {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&first_seq.to_le_bytes());
    b[8..].copy_from_slice(&watermark.to_le_bytes());
    crc32c::crc32c(&b)
}

/// Writes one watermark copy. `first_seq` binds the copy to its segment.
pub(crate) fn write_watermark(buf: &mut [u8], slot: usize, first_seq: Seq, watermark: Seq) {
    let off = WATERMARK_SLOTS[slot];
    buf[off..off + 8].copy_from_slice(&watermark.to_le_bytes());
    buf[off + 8..off + 12].copy_from_slice(&watermark_crc(first_seq, watermark).to_le_bytes());
}

/// Raises the watermark of a segment that is no longer written to (the
/// writer records in its predecessor how far the log is durable, so that a
/// log whose last segments were deleted still knows it lost records).
/// Overwrites the lower (or an invalid) copy and keeps the higher one, so a
/// process killed between the stores still leaves a valid copy.
pub(crate) fn raise_watermark(buf: &mut [u8], first_seq: Seq, watermark: Seq) {
    let copy = |slot: usize| {
        let off = WATERMARK_SLOTS[slot];
        let w = read_u64(buf, off);
        (read_u32(buf, off + 8) == watermark_crc(first_seq, w)).then_some(w)
    };
    if copy(0).max(copy(1)).is_some_and(|w| w >= watermark) {
        return;
    }
    let slot = if copy(0) <= copy(1) { 0 } else { 1 };
    write_watermark(buf, slot, first_seq, watermark);
}

/// Largest valid watermark copy, checked against `first_seq` (taken from
/// the file name, so a damaged static header does not hide the watermark).
/// `None` if neither copy is valid.
pub fn read_watermark(buf: &[u8], first_seq: Seq) -> Option<Seq> {
    if buf.len() < SEGMENT_HEADER_LEN {
        return None;
    }
    WATERMARK_SLOTS
        .iter()
        .filter_map(|&off| {
            let w = read_u64(buf, off);
            (read_u32(buf, off + 8) == watermark_crc(first_seq, w)).then_some(w)
        })
        .max()
}

/// Validates the header of the file named for `name_first_seq`: the check
/// recovery makes of every `.seg` file, and the one the operator's tools
/// report. A `first_seq` of 0 is accepted here (a spare renamed before its
/// header reached the disk): the log walk decides what that means.
pub fn validate_segment_header(buf: &[u8], name_first_seq: Seq) -> Result<SegmentHeader, &'static str> {
    let header = parse_header(buf)?;
    if header.first_seq != name_first_seq && header.first_seq != 0 {
        return Err("first sequence differs from the file name");
    }
    Ok(header)
}

/// Parses and validates the static part of a segment header.
pub(crate) fn parse_header(buf: &[u8]) -> Result<SegmentHeader, &'static str> {
    if buf.len() < SEGMENT_HEADER_LEN {
        return Err("file shorter than the segment header");
    }
    if buf[OFF_MAGIC..OFF_MAGIC + 8] != SEGMENT_MAGIC {
        return Err("bad magic");
    }
    if read_u32(buf, OFF_HEADER_CRC) != crc32c::crc32c(&buf[..OFF_HEADER_CRC]) {
        return Err("header CRC mismatch");
    }
    if read_u32(buf, OFF_VERSION) != FORMAT_VERSION {
        return Err("unsupported format version");
    }
    if read_u32(buf, OFF_HEADER_LEN) as usize != SEGMENT_HEADER_LEN {
        return Err("unsupported header length");
    }
    let segment_size = read_u64(buf, OFF_SEGMENT_SIZE);
    if validate_segment_size(segment_size).is_err() {
        return Err("segment size out of range");
    }
    // Outside the header CRC and never written non-zero: anything else is
    // damage, refused like a flipped reserved byte of a record.
    if RESERVED.iter().any(|&(from, to)| buf[from..to].iter().any(|&b| b != 0)) {
        return Err("non-zero reserved header bytes");
    }
    Ok(SegmentHeader {
        segment_size,
        first_seq: read_u64(buf, OFF_FIRST_SEQ),
        prev_first_seq: read_u64(buf, OFF_PREV_FIRST_SEQ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_and_parse() {
        assert_eq!(segment_file_name(1), "00000000000000000001.seg");
        assert_eq!(parse_segment_file_name(&segment_file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_segment_file_name("1.seg"), None);
        assert_eq!(parse_segment_file_name(&segment_file_name(0)), None);
        assert!(segment_file_name(9) < segment_file_name(10));
    }

    #[test]
    fn header_round_trip_and_watermark_slots() {
        let mut buf = vec![0u8; 4096];
        write_header(&mut buf, 65536, 5, 1, 3);
        let h = parse_header(&buf).unwrap();
        assert_eq!((h.segment_size, h.first_seq, h.prev_first_seq), (65536, 5, 1));
        assert_eq!(read_watermark(&buf, 5), Some(3));
        write_watermark(&mut buf, 1, 5, 9);
        assert_eq!(read_watermark(&buf, 5), Some(9));
        buf[WATERMARK_SLOTS[1]] ^= 0xff;
        assert_eq!(read_watermark(&buf, 5), Some(3));
        buf[30] ^= 1;
        assert!(parse_header(&buf).is_err());
    }

    #[test]
    fn reserved_header_bytes_must_be_zero() {
        let mut buf = vec![0u8; 4096];
        write_header(&mut buf, 65536, 5, 1, 3);
        for &(from, to) in &RESERVED {
            for at in from..to {
                let mut b = buf.clone();
                b[at] = 0x10;
                assert_eq!(parse_header(&b), Err("non-zero reserved header bytes"), "byte {at}");
            }
        }
    }

    #[test]
    fn raising_keeps_the_higher_copy() {
        let mut buf = vec![0u8; 4096];
        write_header(&mut buf, 65536, 5, 1, 3);
        raise_watermark(&mut buf, 5, 9);
        assert_eq!(read_watermark(&buf, 5), Some(9));
        raise_watermark(&mut buf, 5, 12);
        assert_eq!(read_watermark(&buf, 5), Some(12));
        // The lower copy (3) was overwritten: the previous value 9 is still there.
        let copies: Vec<u64> = WATERMARK_SLOTS.iter().map(|&o| read_u64(&buf, o)).collect();
        assert_eq!(copies, vec![9, 12]);
        raise_watermark(&mut buf, 5, 7);
        assert_eq!(read_watermark(&buf, 5), Some(12), "never lowered");
    }
}
