//! Segment file names: the first sequence number, zero-padded so names sort in sequence order.

use crate::Seq;

/// Suffix of segment files.
pub const SEGMENT_SUFFIX: &str = ".seg";
/// Digits in a segment file name: enough for any u64, so names sort.
const NAME_DIGITS: usize = 20;

/// File name of the segment whose first record is `first_seq`.
pub fn segment_file_name(first_seq: Seq) -> String {
    format!("{first_seq:0width$}{SEGMENT_SUFFIX}", width = NAME_DIGITS)
}

/// First sequence number encoded in a segment file name, if it is one.
pub fn parse_segment_file_name(name: &str) -> Option<Seq> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Sequence numbers start at 1: a file named 0 is not a segment.
    digits.parse().ok().filter(|&seq| seq != 0)
}
