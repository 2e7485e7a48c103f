//! Recovery on open for writing: find the last valid record, decide whether
//! damage after it is a torn tail (truncate and report) or corruption
//! (refuse), then repair the tail.
//!
//! The rule (`docs/journal.md`, "Recovery"): the log is the longest run of
//! records, from the first segment on, each CRC-valid and numbered one more
//! than the previous, across segments chained by name and header. The first point where
//! that run breaks is the *break point*, expecting sequence `s`. Let `W` be
//! the durable watermark persisted in the segment headers.
//!
//! - `s <= W`: a record that was reported durable is damaged or missing:
//!   corruption, refuse to open (unless [`RecoveryMode::ForceTruncate`]).
//! - `s > W`: nothing at or after the break was ever reported durable. A
//!   power loss legitimately leaves such records missing, torn, or present
//!   after a hole (pages written back out of order), so the log ends at the
//!   break: the rest of that segment is zeroed, later segments are removed,
//!   and the report says what was dropped, including how many valid-looking
//!   records the scan-ahead found after the break (under
//!   [`RecoveryMode::Strict`] any such record makes it corruption instead).
//!
//! Segment headers are written once, synced before the file gets its
//! segment name, and sit inside one 512-byte sector; a damaged header of a
//! named segment therefore cannot come from a crash and is always corruption.
//!
//! Two phases: [`analyze`] reads and decides (changing nothing), [`apply`]
//! repairs. [`check`] runs the first phase alone, so the operator's tools
//! give the verdict the writer will act on, from the same code.

use std::path::{Path, PathBuf};

use crate::config::{JournalConfig, RecoveryMode, Verify};
use crate::error::{Corruption, CorruptionKind, OpenError};
use crate::record::{
    decode, publish_u32, read_u32, read_u64, Slot, END_OF_SEGMENT, OFF_LEN, RECORD_ALIGN, RECORD_HEADER_LEN,
};
use crate::segment::{
    is_spare_file_name, parse_header, parse_segment_file_name, read_watermark, segment_file_name,
    validate_segment_header, write_watermark, SegmentHeader, SEGMENT_HEADER_LEN,
};
use crate::storage::{FileStorage, SegmentMut, SegmentRead, Storage};
use crate::Seq;

/// What recovery found and did when a journal was opened for writing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Sequence of the first record kept (the next sequence if none).
    pub first_seq: Seq,
    /// Sequence of the last valid record kept (first_seq - 1 if none).
    pub last_good_seq: Seq,
    /// Durable watermark read from the segment headers.
    pub durable_watermark: Seq,
    /// The torn or damaged tail that was cut off, if any.
    pub truncation: Option<Truncation>,
    /// Files removed: segments after the truncation point and unused or
    /// half-created spare segments.
    pub removed_files: Vec<PathBuf>,
    /// Spare segments that were in use but not yet renamed: (from, to).
    pub renamed_files: Vec<(PathBuf, PathBuf)>,
    /// Only with [`RecoveryMode::ForceTruncate`]: records at or below the
    /// durable watermark were lost.
    pub lost_durable: bool,
}

impl RecoveryReport {
    /// True when nothing was truncated and no durable record was lost.
    pub fn is_clean(&self) -> bool {
        self.truncation.is_none() && !self.lost_durable
    }
}

/// A torn or damaged tail removed by recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// The segment file where the log now ends (for a missing segment, the
    /// name it should have had).
    pub file: PathBuf,
    /// Offset of the damage in that file.
    pub offset: u64,
    /// Non-zero bytes overwritten with zeros in that file.
    pub bytes_zeroed: u64,
    /// Sequence number the damaged position should have held.
    pub seq: Seq,
    /// What was found there.
    pub kind: CorruptionKind,
    /// Valid-looking records found after the damage and discarded with it
    /// (never reported durable: above the watermark).
    pub discarded_records: u64,
}

/// Where the writer continues after recovery.
pub(crate) struct Tail<Seg> {
    pub seg: Seg,
    pub first_seq: Seq,
    pub size: usize,
    /// Write offset; equals `size` when the segment is sealed by an
    /// end-of-segment marker.
    pub write_off: usize,
}

pub(crate) struct Recovered<Seg> {
    pub report: RecoveryReport,
    pub tail: Option<Tail<Seg>>,
    pub next_seq: Seq,
}

struct Entry<R> {
    /// Current file name.
    name: String,
    /// Name to rename to (adopted spare).
    target: Option<String>,
    first: Seq,
    ro: R,
    header: SegmentHeader,
    walk: Option<WalkEnd>,
}

impl<R> Entry<R> {
    fn final_name(&self) -> &str {
        self.target.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Clone, Copy)]
struct WalkEnd {
    end_off: usize,
    next_seq: Seq,
    sealed: bool,
    /// No room for another record: the writer's next record went to a successor.
    full: bool,
}

struct Break {
    idx: usize,
    /// Offset of the damage (0: the segment itself is the problem).
    offset: usize,
    /// End of the valid records before the damage.
    valid_end: usize,
    seq: Seq,
    kind: CorruptionKind,
    /// File to name in messages when not the entry's (missing segment).
    file: Option<String>,
}

/// Offset of the first non-zero byte of `buf[from..to]`.
fn first_nonzero(buf: &[u8], from: usize, to: usize) -> Option<usize> {
    let to = to.min(buf.len());
    if from >= to {
        return None;
    }
    let region = &buf[from..to];
    // Whole chunks first: an OR-fold vectorizes, a byte-wise `position`
    // does not, and a segment tail can be tens of MiB of zeros.
    let mut base = 0;
    for chunk in region.chunks(4096) {
        if chunk.iter().fold(0u8, |a, &b| a | b) != 0 {
            return chunk.iter().position(|&b| b != 0).map(|p| from + base + p);
        }
        base += chunk.len();
    }
    None
}

/// End (exclusive) of the last non-zero byte of `buf[from..to]`.
fn last_nonzero_end(buf: &[u8], from: usize, to: usize) -> Option<usize> {
    let to = to.min(buf.len());
    if from >= to {
        return None;
    }
    let region = &buf[from..to];
    let mut end = region.len();
    for chunk in region.rchunks(4096) {
        if chunk.iter().fold(0u8, |a, &b| a | b) != 0 {
            let p = chunk.iter().rposition(|&b| b != 0)?;
            return Some(from + end - chunk.len() + p + 1);
        }
        end -= chunk.len();
    }
    None
}

enum Walked {
    End(WalkEnd),
    Broken { offset: usize, valid_end: usize, seq: Seq, kind: CorruptionKind },
}

/// Validates every record of a segment, starting at its first sequence.
fn walk_segment<R: SegmentRead>(e: &Entry<R>) -> Walked {
    let buf = e.ro.bytes();
    let limit = e.header.segment_size as usize;
    let mut off = SEGMENT_HEADER_LEN;
    let mut expected = e.first;
    loop {
        match decode(buf, limit, off, Some(expected), e.first) {
            Slot::Record(_, padded) => {
                off += padded;
                // Saturating: a crafted sequence near u64::MAX must not panic.
                expected = expected.saturating_add(1);
            }
            Slot::Invalid(fault) => {
                return Walked::Broken {
                    offset: off,
                    valid_end: off,
                    seq: expected,
                    kind: CorruptionKind::BadRecord(fault),
                }
            }
            slot @ (Slot::Empty | Slot::NoRoom | Slot::EndOfSegment) => {
                let sealed = matches!(slot, Slot::EndOfSegment);
                let full = matches!(slot, Slot::NoRoom);
                // After the last record everything must be zero (the marker
                // itself excepted): fresh segments are zero and recovery
                // zeroes what it cuts. Anything else is a torn record or damage.
                let check_from = if sealed { off + 8 } else { off };
                if let Some(g) = first_nonzero(buf, check_from, limit) {
                    return Walked::Broken {
                        offset: g & !(RECORD_ALIGN - 1),
                        valid_end: off,
                        seq: expected,
                        kind: CorruptionKind::GarbageAfterEnd,
                    };
                }
                return Walked::End(WalkEnd { end_off: off, next_seq: expected, sealed, full });
            }
        }
    }
}

/// Counts CRC-valid records with a plausible sequence after the break
/// (same segment after the bad point, then later segments), and the first.
fn scan_ahead<R: SegmentRead>(entries: &[Entry<R>], brk: &Break) -> (u64, Option<Seq>) {
    let remaining: usize = entries[brk.idx..].iter().map(|e| e.ro.bytes().len()).sum();
    let max_seq = brk.seq.saturating_add((remaining / RECORD_HEADER_LEN) as u64 + 1);
    let mut count = 0;
    let mut first = None;
    for (j, e) in entries.iter().enumerate().skip(brk.idx) {
        let buf = e.ro.bytes();
        let limit = (e.header.segment_size as usize).min(buf.len());
        let mut off = if j == brk.idx && brk.offset >= SEGMENT_HEADER_LEN {
            brk.offset + RECORD_ALIGN
        } else {
            SEGMENT_HEADER_LEN
        };
        while off + RECORD_HEADER_LEN <= limit {
            let len = read_u32(buf, off + 4) as usize;
            if len >= RECORD_HEADER_LEN && len <= limit - off {
                let seq = read_u64(buf, off + 8);
                if seq >= brk.seq && seq <= max_seq {
                    if let Slot::Record(v, padded) = decode(buf, limit, off, None, e.first) {
                        count += 1;
                        first.get_or_insert(v.seq);
                        off += padded;
                        continue;
                    }
                }
            }
            off += RECORD_ALIGN;
        }
    }
    (count, first)
}

fn corruption<S: Storage, R>(
    storage: &S,
    entries: &[Entry<R>],
    brk: &Break,
    watermark: Seq,
    valid_after: Option<Seq>,
) -> Corruption {
    let name = brk.file.clone().unwrap_or_else(|| entries[brk.idx].name.clone());
    Corruption {
        file: storage.path_of(&name),
        offset: brk.offset as u64,
        seq: brk.seq,
        kind: brk.kind.clone(),
        durable_watermark: watermark,
        valid_after,
    }
}

/// What [`analyze`] found and decided: the report the writer will return and
/// the changes that [`apply`] makes to get there.
pub(crate) struct Plan<R> {
    /// The report, as it will be after [`apply`].
    pub report: RecoveryReport,
    entries: Vec<Entry<R>>,
    strays: Vec<String>,
    watermark: Seq,
    /// Entries from this index on are removed.
    keep: usize,
    /// The torn tail to zero.
    zero: Option<ZeroRange>,
    next_seq: Seq,
}

/// What the journal in `dir` holds and what opening it for writing would
/// do, changing nothing: `Err(OpenError::Corruption)` exactly when
/// [`crate::JournalWriter::open`] with the same `config` refuses, otherwise
/// the [`RecoveryReport`] it would return (the truncation it would make and
/// the files it would remove or rename). Takes no lock: on a journal a
/// writer is appending to, the tail may read as torn.
pub fn check(dir: impl AsRef<Path>, config: &JournalConfig) -> Result<RecoveryReport, OpenError> {
    let dir = dir.as_ref();
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(OpenError::NotADirectory { dir: dir.to_path_buf() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OpenError::DirMissing { dir: dir.to_path_buf() })
        }
        Err(e) => return Err(crate::StorageError::from_io("inspecting directory", dir, e).into()),
    }
    check_with_storage(&FileStorage::open(dir)?, config)
}

/// [`check`] on any [`Storage`].
pub fn check_with_storage<S: Storage>(storage: &S, config: &JournalConfig) -> Result<RecoveryReport, OpenError> {
    Ok(analyze(storage, config)?.report)
}

/// Segments in log order, and names of spare files to remove.
type Listed<R> = (Vec<Entry<R>>, Vec<String>);

/// (entry index, from, to): the bytes of a torn tail to zero.
type ZeroRange = (usize, usize, usize);

/// The `.seg` files (validated headers) and adopted spares, in log order,
/// and the spare files to remove.
fn list_entries<S: Storage>(storage: &S) -> Result<Listed<S::ReadSegment>, OpenError> {
    let mut entries: Vec<Entry<S::ReadSegment>> = Vec::new();
    let mut strays: Vec<String> = Vec::new();
    for name in &storage.list()? {
        if let Some(first) = parse_segment_file_name(name) {
            let ro = storage.open_ro(name)?;
            // first_seq 0 (a spare whose promotion never reached the disk
            // although its rename did) passes here: the walk handles it.
            let header = validate_segment_header(ro.bytes(), first).map_err(|why| Corruption {
                file: storage.path_of(name),
                offset: 0,
                seq: first,
                kind: CorruptionKind::BadSegmentHeader(why),
                durable_watermark: 0,
                valid_after: None,
            })?;
            entries.push(Entry { name: name.clone(), target: None, first, ro, header, walk: None });
        } else if is_spare_file_name(name) {
            let ro = storage.open_ro(name)?;
            match parse_header(ro.bytes()) {
                // In use (promoted) but the rename to its segment name was
                // lost: adopt it under that name.
                Ok(h) if h.first_seq != 0 => entries.push(Entry {
                    name: name.clone(),
                    target: Some(segment_file_name(h.first_seq)),
                    first: h.first_seq,
                    ro,
                    header: h,
                    walk: None,
                }),
                // Unused or half-created (the header is synced before a
                // spare is used, so it never held records): remove.
                _ => strays.push(name.clone()),
            }
        }
    }
    entries.sort_by_key(|e| e.first);
    for pair in entries.windows(2) {
        if pair[0].first == pair[1].first {
            let spare = if pair[0].target.is_some() { &pair[0] } else { &pair[1] };
            return Err(Corruption {
                file: storage.path_of(&spare.name),
                offset: 0,
                seq: spare.first,
                kind: CorruptionKind::SpareConflict,
                durable_watermark: 0,
                valid_after: None,
            }
            .into());
        }
    }
    debug_assert!(entries.windows(2).all(|p| p[0].first < p[1].first));
    Ok((entries, strays))
}

/// The durable watermark: the largest valid copy in any header. A header
/// with no valid copy is corruption (both copies sit in one sector).
fn durable_watermark<S: Storage>(storage: &S, entries: &[Entry<S::ReadSegment>]) -> Result<Seq, OpenError> {
    let mut watermark: Seq = 0;
    for e in entries {
        match read_watermark(e.ro.bytes(), e.header.first_seq) {
            Some(w) => watermark = watermark.max(w),
            None => {
                return Err(Corruption {
                    file: storage.path_of(&e.name),
                    offset: crate::segment::WATERMARK_SLOTS[0] as u64,
                    seq: e.first,
                    kind: CorruptionKind::BadWatermark,
                    durable_watermark: 0,
                    valid_after: None,
                }
                .into())
            }
        }
    }
    Ok(watermark)
}

/// Whether entry `i` breaks the chain: a header that never reached the
/// disk, a predecessor the header names that is not there, or a first
/// sequence that does not continue the previous segment's records
/// (`expected`, `None` when that segment was not walked).
fn chain_break<R>(entries: &[Entry<R>], i: usize, expected: Option<Seq>) -> Option<Break> {
    let e = &entries[i];
    let seq_here = expected.unwrap_or(e.first);
    let at_segment = |kind, seq, file| Break { idx: i, offset: 0, valid_end: 0, seq, kind, file };
    if e.header.first_seq == 0 {
        let kind = CorruptionKind::BadSegmentHeader("segment was renamed but its header never reached the disk");
        return Some(at_segment(kind, seq_here, None));
    }
    if i > 0 && e.header.prev_first_seq != entries[i - 1].first {
        // The header chain names a predecessor that is not there.
        let missing = expected.unwrap_or(e.header.prev_first_seq);
        let kind = CorruptionKind::MissingSegment { next_present: e.first };
        return Some(at_segment(kind, seq_here, Some(segment_file_name(missing))));
    }
    let exp = expected?;
    if e.first > exp {
        // The chain is intact, so the previous segment lost records at its
        // end: the break is there.
        let prev = i - 1;
        let end = entries[prev].walk.map_or(SEGMENT_HEADER_LEN, |w| w.end_off);
        let kind = CorruptionKind::SegmentEndsEarly { next_segment_first: e.first };
        return Some(Break { idx: prev, offset: end, valid_end: end, seq: exp, kind, file: None });
    }
    if e.first < exp {
        return Some(at_segment(CorruptionKind::OverlappingSegment, exp, None));
    }
    None
}

/// Walks the log to its first break, if any; records where each walked
/// segment ends. Returns the break and the sequence expected next.
fn walk_log<R: SegmentRead>(entries: &mut [Entry<R>], watermark: Seq, verify: Verify) -> (Option<Break>, Option<Seq>) {
    let walk_start = match verify {
        Verify::Full => 0,
        Verify::Tail => entries.iter().rposition(|e| e.first <= watermark.max(1)).unwrap_or(0).saturating_sub(1),
    };
    let mut expected: Option<Seq> = None;
    for i in 0..entries.len() {
        if let Some(b) = chain_break(entries, i, expected) {
            return (Some(b), expected);
        }
        if i >= walk_start || i + 1 == entries.len() {
            match walk_segment(&entries[i]) {
                Walked::End(w) => {
                    entries[i].walk = Some(w);
                    expected = Some(w.next_seq);
                }
                Walked::Broken { offset, valid_end, seq, kind } => {
                    return (Some(Break { idx: i, offset, valid_end, seq, kind, file: None }), expected);
                }
            }
        } else {
            expected = None;
        }
    }
    (None, expected)
}

/// A log that walks cleanly to its end can still have lost its end: the
/// last segment is sealed (the writer went on in a successor that is not
/// there), or the headers say records up to a later watermark were durable
/// (named as a missing successor when the last segment is full, since the
/// next record can only be in one).
fn end_break<R>(entries: &[Entry<R>], next_seq: Seq, watermark: Seq) -> Option<Break> {
    let last = entries.len().checked_sub(1)?;
    let walk = entries[last].walk?;
    if walk.sealed || (walk.full && watermark >= next_seq) {
        // One past the last entry: the missing successor, which is all the
        // log is missing (nothing present is cut).
        return Some(Break {
            idx: entries.len(),
            offset: 0,
            valid_end: 0,
            seq: next_seq,
            kind: CorruptionKind::SuccessorMissing { last_present: entries[last].first },
            file: Some(segment_file_name(next_seq)),
        });
    }
    (watermark >= next_seq).then_some(Break {
        idx: last,
        offset: walk.end_off,
        valid_end: walk.end_off,
        seq: next_seq,
        kind: CorruptionKind::LostDurableRecords { watermark },
        file: None,
    })
}

/// Where the log ends after a break: refuses (corruption) or returns
/// (entries kept, bytes to zero, next sequence) and fills in the truncation.
fn decide<S: Storage>(
    storage: &S,
    entries: &mut [Entry<S::ReadSegment>],
    b: &Break,
    watermark: Seq,
    mode: RecoveryMode,
    report: &mut RecoveryReport,
) -> Result<(usize, Option<ZeroRange>), OpenError> {
    let lost_durable = b.seq <= watermark;
    let (found, first_found) = scan_ahead(entries, b);
    let discard = matches!(b.kind, CorruptionKind::Discarded { .. });
    let refuse = !discard
        && match mode {
            RecoveryMode::TruncateAboveWatermark => lost_durable,
            RecoveryMode::Strict => lost_durable || found > 0,
            RecoveryMode::ForceTruncate => false,
        };
    if refuse {
        return Err(corruption(storage, entries, b, watermark, first_found).into());
    }
    report.lost_durable = lost_durable;
    let mut bytes_zeroed = 0;
    let mut zero = None;
    let keep;
    if b.offset >= SEGMENT_HEADER_LEN {
        // Damage inside segment b.idx: keep it up to the last good record.
        keep = b.idx + 1;
        let e = &entries[b.idx];
        let limit = e.header.segment_size as usize;
        if let Some(end) = last_nonzero_end(e.ro.bytes(), b.offset, limit) {
            bytes_zeroed = (end - b.offset) as u64;
            zero = Some((b.idx, b.offset, end));
        }
        entries[b.idx].walk = Some(WalkEnd { end_off: b.valid_end, next_seq: b.seq, sealed: false, full: false });
    } else {
        // The segment itself is the problem: the log ends with the previous one.
        keep = b.idx;
        if let Some(prev) = keep.checked_sub(1) {
            if entries[prev].walk.is_none() {
                // Only possible with Verify::Tail; validate it now.
                match walk_segment(&entries[prev]) {
                    Walked::End(w) => entries[prev].walk = Some(w),
                    Walked::Broken { offset, seq, kind, .. } => {
                        let pb = Break { idx: prev, offset, valid_end: offset, seq, kind, file: None };
                        return Err(corruption(storage, entries, &pb, watermark, None).into());
                    }
                }
            }
        }
    }
    report.truncation = Some(Truncation {
        file: storage.path_of(b.file.as_deref().unwrap_or_else(|| entries[b.idx].final_name())),
        offset: b.offset as u64,
        bytes_zeroed,
        seq: b.seq,
        kind: b.kind.clone(),
        discarded_records: found,
    });
    Ok((keep, zero))
}

/// The break a requested truncation makes ([`JournalConfig::truncate_after`]): at the record after
/// `keep_through` if the log (up to its own break, if any) reaches past it; else the log's own.
fn discard_break<R: SegmentRead>(
    entries: &[Entry<R>],
    brk: Option<Break>,
    next_seq: Seq,
    keep_through: Seq,
) -> Option<Break> {
    let end = brk.as_ref().map_or(next_seq, |b| b.seq);
    let cut = keep_through.saturating_add(1);
    if cut >= end {
        return brk;
    }
    let kind = CorruptionKind::Discarded { keep_through };
    // The last segment starting at or before the cut (the first one if the cut is before the log).
    let idx = entries.iter().rposition(|e| e.first <= cut).unwrap_or(0);
    let e = &entries[idx];
    if e.first >= cut {
        // The whole segment goes: the log ends with the previous one.
        return Some(Break { idx, offset: 0, valid_end: 0, seq: cut.max(1), kind, file: None });
    }
    let buf = e.ro.bytes();
    let limit = e.header.segment_size as usize;
    let mut off = SEGMENT_HEADER_LEN;
    let mut expected = e.first;
    while expected < cut {
        match decode(buf, limit, off, Some(expected), e.first) {
            Slot::Record(_, padded) => {
                off += padded;
                expected += 1;
            }
            // The walk found the log valid up to `end > cut`, so this cannot happen; keep the
            // log's own verdict rather than guess.
            _ => return brk,
        }
    }
    Some(Break { idx, offset: off, valid_end: off, seq: cut, kind, file: None })
}

/// Reads the journal in `storage` and decides what recovery does, changing
/// nothing. Refuses on corruption (and then nothing is ever changed).
pub(crate) fn analyze<S: Storage>(storage: &S, config: &JournalConfig) -> Result<Plan<S::ReadSegment>, OpenError> {
    let (mut entries, strays) = list_entries(storage)?;
    let watermark = durable_watermark(storage, &entries)?;
    let (brk, expected) = walk_log(&mut entries, watermark, config.verify);
    let mut next_seq = match (entries.last(), expected) {
        (_, Some(n)) => n,
        (Some(e), None) => e.first,
        (None, None) => 1,
    };
    let brk = brk.or_else(|| end_break(&entries, next_seq, watermark));
    let brk = match config.truncate_after {
        Some(keep_through) => discard_break(&entries, brk, next_seq, keep_through),
        None => brk,
    };

    let mut report = RecoveryReport { durable_watermark: watermark, ..RecoveryReport::default() };
    let (keep, zero) = match &brk {
        None => (entries.len(), None),
        Some(b) => {
            next_seq = b.seq;
            decide(storage, &mut entries, b, watermark, config.recovery_mode, &mut report)?
        }
    };
    // Newest first, so an interrupted recovery leaves a prefix the next one
    // cuts the same way.
    report.removed_files = entries[keep..].iter().rev().map(|e| storage.path_of(&e.name)).collect();
    report.removed_files.extend(strays.iter().map(|n| storage.path_of(n)));
    report.renamed_files = entries[..keep]
        .iter()
        .filter_map(|e| e.target.as_ref().map(|t| (storage.path_of(&e.name), storage.path_of(t))))
        .collect();
    report.first_seq = entries[..keep].first().map_or(next_seq, |e| e.first);
    report.last_good_seq = next_seq - 1;
    debug_assert!(keep <= entries.len());
    debug_assert!(report.truncation.is_some() || keep == entries.len());
    Ok(Plan { report, entries, strays, watermark, keep, zero, next_seq })
}

/// Carries out a [`Plan`]: removes what is cut off, zeroes the torn tail,
/// adopts renamed spares, removes strays, then makes what is kept durable
/// and returns where the writer continues.
pub(crate) fn apply<S: Storage>(storage: &S, plan: Plan<S::ReadSegment>) -> Result<Recovered<S::Segment>, OpenError> {
    let Plan { report, mut entries, strays, watermark, keep, zero, next_seq } = plan;
    let mut dir_changed = false;
    for e in entries[keep..].iter().rev() {
        storage.remove(&e.name)?;
        dir_changed = true;
    }
    for name in &strays {
        storage.remove(name)?;
        dir_changed = true;
    }
    entries.truncate(keep);
    for e in &entries {
        if let Some(target) = &e.target {
            storage.rename(&e.name, target)?;
            dir_changed = true;
        }
    }
    if dir_changed {
        storage.sync_dir()?;
    }
    let last_good = next_seq - 1;
    debug_assert_eq!(report.last_good_seq, last_good);
    let Some(last) = entries.len().checked_sub(1) else {
        return Ok(Recovered { report, tail: None, next_seq });
    };
    if report.lost_durable {
        lower_watermarks(storage, &entries[..last], last_good)?;
    }
    let tail_seg = make_kept_durable(storage, &entries, zero, watermark, last_good)?;
    restore_markers(storage, &entries)?;
    let mut seg = match tail_seg {
        Some(s) => s,
        None => storage.open_rw(entries[last].final_name(), entries[last].header.segment_size)?,
    };
    let e = &entries[last];
    if watermark != last_good {
        // Exact watermark: everything kept is durable now.
        for slot in 0..2 {
            write_watermark(seg.bytes_mut(), slot, e.first, last_good);
        }
        seg.sync(0, SEGMENT_HEADER_LEN).map_err(OpenError::Storage)?;
    }
    let size = e.header.segment_size as usize;
    let walk = e.walk.unwrap_or(WalkEnd { end_off: size, next_seq, sealed: true, full: false });
    Ok(Recovered {
        report,
        tail: Some(Tail { seg, first_seq: e.first, size, write_off: if walk.sealed { size } else { walk.end_off } }),
        next_seq,
    })
}

/// After an operator's forced truncation below the watermark, no kept
/// header may still promise records that are gone, or every later open
/// would refuse again.
fn lower_watermarks<S: Storage>(
    storage: &S,
    entries: &[Entry<S::ReadSegment>],
    last_good: Seq,
) -> Result<(), OpenError> {
    for e in entries {
        if read_watermark(e.ro.bytes(), e.first).is_some_and(|w| w > last_good) {
            let mut seg = storage.open_rw(e.final_name(), e.header.segment_size)?;
            for slot in 0..2 {
                write_watermark(seg.bytes_mut(), slot, e.first, last_good);
            }
            seg.sync(0, SEGMENT_HEADER_LEN).map_err(OpenError::Storage)?;
        }
    }
    Ok(())
}

/// Zeroes the torn tail and syncs everything kept above the old watermark
/// (after a process crash it may sit only in the page cache) before it is
/// built upon. Returns the last segment's writable mapping if it opened it.
fn make_kept_durable<S: Storage>(
    storage: &S,
    entries: &[Entry<S::ReadSegment>],
    zero: Option<ZeroRange>,
    watermark: Seq,
    last_good: Seq,
) -> Result<Option<S::Segment>, OpenError> {
    let last = entries.len() - 1;
    let first_unsynced = entries.iter().rposition(|e| e.first <= watermark + 1).unwrap_or(0);
    let start = zero.map_or(first_unsynced, |(zi, _, _)| zi.min(first_unsynced));
    let mut tail_seg = None;
    for (i, e) in entries.iter().enumerate().skip(start) {
        let size = e.header.segment_size;
        let mut seg = storage.open_rw(e.final_name(), size)?;
        let end = e.walk.map_or(size as usize, |w| w.end_off);
        if let Some((zi, from, to)) = zero {
            if zi == i {
                seg.bytes_mut()[from..to].fill(0);
                seg.sync(from, to).map_err(OpenError::Storage)?;
            }
        }
        if last_good > watermark {
            seg.sync(0, end).map_err(OpenError::Storage)?;
        }
        if i == last {
            tail_seg = Some(seg);
        }
    }
    Ok(tail_seg)
}

/// A segment the log continues past must end with the end-of-segment
/// marker, or tailing readers would wait at its end forever. A power loss
/// can drop the marker while keeping the next segment; put it back.
fn restore_markers<S: Storage>(storage: &S, entries: &[Entry<S::ReadSegment>]) -> Result<(), OpenError> {
    let Some((_, continued)) = entries.split_last() else {
        return Ok(());
    };
    for e in continued {
        if let Some(w) = e.walk {
            if !w.sealed && w.end_off + OFF_LEN + 4 <= e.header.segment_size as usize {
                let mut seg = storage.open_rw(e.final_name(), e.header.segment_size)?;
                let at = w.end_off + OFF_LEN;
                publish_u32(&mut seg.bytes_mut()[at..at + 4], END_OF_SEGMENT);
                seg.sync(at, at + 4).map_err(OpenError::Storage)?;
            }
        }
    }
    Ok(())
}
