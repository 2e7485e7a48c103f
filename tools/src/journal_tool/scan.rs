//! Reading a matchd journal read-only: segment headers, the record walk (CRC and sequence
//! checked by `journal::JournalReader`, payloads decoded by `engine::command_codec`), and how
//! the log ends (clean, torn tail, or corruption), by the rule of the journal's recovery
//! (`docs/journal.md`): damage at or below the durable watermark is corruption, above it a torn
//! tail that the writer's next recovery cuts.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use engine::command_codec::{decode, decode_engine_config, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::{Command, EngineConfig, Seq};
use journal::segment::{parse_segment_file_name, segment_file_name, SEGMENT_HEADER_LEN};
use journal::{Corruption, JournalReader, ReadError};

use super::ToolError;

/// Where a matchd data directory keeps things.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// The data directory.
    pub root: PathBuf,
    /// `<root>/journal`.
    pub journal: PathBuf,
    /// `<root>/snapshots`.
    pub snapshots: PathBuf,
}

impl DataDir {
    /// Paths under `root`; the journal directory must exist.
    pub fn open(root: &Path) -> Result<DataDir, ToolError> {
        let d = DataDir {
            root: root.to_path_buf(),
            journal: root.join("journal"),
            snapshots: snapshot::snapshot_dir(root),
        };
        if !d.journal.is_dir() {
            return Err(ToolError::error(format!(
                "{}: no journal directory (is --data-dir a matchd data directory?)",
                d.journal.display()
            )));
        }
        Ok(d)
    }

    /// The file of the segment starting at `first`.
    pub fn segment_path(&self, first: Seq) -> PathBuf {
        self.journal.join(segment_file_name(first))
    }
}

/// A segment file and what its header says.
#[derive(Debug, Clone)]
pub struct SegmentInfo {
    /// First sequence (from the name).
    pub first_seq: Seq,
    /// The file.
    pub path: PathBuf,
    /// Its size on disk.
    pub file_bytes: u64,
    /// `segment_size` from a valid header, or why the header is invalid.
    pub segment_size: Result<u64, String>,
    /// The larger valid durable-watermark copy.
    pub watermark: Option<Seq>,
}

fn le_u32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}

fn le_u64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}

/// Parses the header fields the tool reports (the layout of `docs/journal.md`).
fn read_header(path: &Path, first: Seq) -> (Result<u64, String>, Option<Seq>) {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    let read = File::open(path).and_then(|mut f| f.read_exact(&mut h));
    if let Err(e) = read {
        return (Err(format!("cannot read the header: {e}")), None);
    }
    let watermark = [48usize, 64]
        .iter()
        .filter_map(|&o| {
            let w = le_u64(&h, o);
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&first.to_le_bytes());
            b[8..].copy_from_slice(&w.to_le_bytes());
            (le_u32(&h, o + 8) == crc32c::crc32c(&b)).then_some(w)
        })
        .max();
    let size = if &h[..8] != b"MATCHDJL" {
        Err("bad magic".to_string())
    } else if le_u32(&h, 40) != crc32c::crc32c(&h[..40]) {
        Err("header CRC mismatch".to_string())
    } else if le_u64(&h, 24) != first {
        Err(format!("header first_seq {} differs from the file name", le_u64(&h, 24)))
    } else {
        Ok(le_u64(&h, 16))
    };
    (size, watermark)
}

/// The segments of the journal, oldest first.
pub fn list_segments(jdir: &Path) -> Result<Vec<SegmentInfo>, ToolError> {
    let rd = std::fs::read_dir(jdir).map_err(|e| ToolError::error(format!("listing {}: {e}", jdir.display())))?;
    let mut v = Vec::new();
    for entry in rd.flatten() {
        let Some(first_seq) = entry.file_name().to_str().and_then(parse_segment_file_name) else { continue };
        let path = entry.path();
        let file_bytes = entry.metadata().map_or(0, |m| m.len());
        let (segment_size, watermark) = read_header(&path, first_seq);
        v.push(SegmentInfo { first_seq, path, file_bytes, segment_size, watermark });
    }
    v.sort_by_key(|s| s.first_seq);
    Ok(v)
}

/// A decoded record.
#[derive(Debug, Clone, Copy)]
pub enum Decoded {
    /// Type 2: the engine's capacities (the first record).
    Config(EngineConfig),
    /// Type 1: a command.
    Command(Command),
}

/// Where a record sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordAt {
    /// Its sequence number.
    pub seq: Seq,
    /// First sequence of its segment (names the file).
    pub segment_first_seq: Seq,
    /// Byte offset in the file.
    pub offset: u64,
    /// Bytes it occupies (header, payload, padding).
    pub padded_len: u64,
}

/// Whether a walk goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Next record.
    Continue,
    /// Stop here.
    Stop,
}

/// How a walk ended.
#[derive(Debug, Clone)]
pub struct WalkEnd {
    /// The first sequence not read.
    pub next_seq: Seq,
    /// The last record read.
    pub last: Option<RecordAt>,
    /// The reader stopped at damage.
    pub broken: Option<Corruption>,
    /// The callback asked to stop.
    pub stopped: bool,
}

fn read_error(jdir: &Path, e: ReadError) -> ToolError {
    match e {
        ReadError::Corruption(c) => ToolError::corrupt(c.to_string()),
        other => ToolError::error(format!("reading the journal in {}: {other}", jdir.display())),
    }
}

/// Reads records from `from` (0 = the first present) in order, decoding each, until the log
/// ends, damage, or `f` says stop. An undecodable payload or an unknown record type is
/// corruption (named by file, offset and sequence).
pub fn walk(
    data: &DataDir,
    from: Seq,
    mut f: impl FnMut(&RecordAt, Decoded) -> Result<Flow, ToolError>,
) -> Result<WalkEnd, ToolError> {
    let mut reader = JournalReader::open(&data.journal, from).map_err(|e| read_error(&data.journal, e))?;
    let mut end = WalkEnd { next_seq: reader.next_seq(), last: None, broken: None, stopped: false };
    loop {
        let rec = match reader.next() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(ReadError::Corruption(c)) => {
                end.broken = Some(*c);
                break;
            }
            Err(e) => return Err(read_error(&data.journal, e)),
        };
        let at = RecordAt {
            seq: rec.seq,
            segment_first_seq: rec.segment_first_seq,
            offset: rec.offset,
            padded_len: journal::record::padded_record_len(rec.payload.len()) as u64,
        };
        let where_ = || {
            format!("{} offset {} (sequence {})", data.segment_path(at.segment_first_seq).display(), at.offset, at.seq)
        };
        let decoded = match rec.record_type {
            RECORD_COMMAND => Decoded::Command(
                decode(rec.payload)
                    .map_err(|e| ToolError::corrupt(format!("{}: undecodable command: {e}", where_())))?,
            ),
            RECORD_ENGINE_CONFIG => Decoded::Config(
                decode_engine_config(rec.payload)
                    .map_err(|e| ToolError::corrupt(format!("{}: undecodable engine config record: {e}", where_())))?,
            ),
            t => return Err(ToolError::corrupt(format!("{}: unknown record type {t}", where_()))),
        };
        end.last = Some(at);
        end.next_seq = at.seq + 1;
        if f(&at, decoded)? == Flow::Stop {
            end.stopped = true;
            break;
        }
    }
    Ok(end)
}

/// How the log ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailKind {
    /// Every record valid, nothing after the last one.
    Clean,
    /// Damage above the durable watermark: a write cut by a crash or power loss, which the
    /// writer's recovery cuts at the next start.
    Torn,
    /// Damage at or below the durable watermark, or in the middle of the log.
    Corrupt,
}

/// The verdict on a journal's end.
#[derive(Debug, Clone)]
pub struct Tail {
    /// Clean, torn or corrupt.
    pub kind: TailKind,
    /// What and where (file, offset, sequence).
    pub detail: String,
    /// The durable watermark from the segment headers.
    pub watermark: Option<Seq>,
}

/// First 8-aligned offset from `from` in `bytes` holding a CRC-valid record with sequence
/// `>= min_seq`; returns its sequence.
fn valid_record_after(bytes: &[u8], from: usize, min_seq: Seq) -> Option<Seq> {
    let mut off = from.div_ceil(8) * 8;
    while off + 24 <= bytes.len() {
        let len = le_u32(bytes, off + 4) as usize;
        if len >= 24 && len != u32::MAX as usize && off + len <= bytes.len() {
            let seq = le_u64(bytes, off + 8);
            if seq >= min_seq && le_u32(bytes, off) == crc32c::crc32c(&bytes[off + 4..off + len]) {
                return Some(seq);
            }
        }
        off += 8;
    }
    None
}

fn read_from(path: &Path, offset: u64) -> Vec<u8> {
    let mut v = Vec::new();
    if let Ok(mut f) = File::open(path) {
        if f.seek(SeekFrom::Start(offset)).is_ok() {
            let _ = f.read_to_end(&mut v);
        }
    }
    v
}

/// Judges how a walk from the start of the log ended.
pub fn assess(data: &DataDir, segments: &[SegmentInfo], end: &WalkEnd) -> Tail {
    let watermark = segments.iter().filter_map(|s| s.watermark).max();
    let w = watermark.unwrap_or(0);
    let verdict = |s: Seq, what: String, tail_ok: bool| {
        let kind = if s <= w || !tail_ok { TailKind::Corrupt } else { TailKind::Torn };
        let note = match kind {
            TailKind::Torn => format!(
                "; above the durable watermark {w}: never acknowledged as durable, matchd's journal recovery cuts it at the next start"
            ),
            _ if s <= w => format!("; at or below the durable watermark {w}: acknowledged records are damaged (matchd refuses to start)"),
            _ => String::new(),
        };
        Tail { kind, detail: format!("{what}{note}"), watermark }
    };
    if let Some(c) = &end.broken {
        let bytes = read_from(&c.file, 0);
        let mut after = valid_record_after(&bytes, c.offset as usize + 8, c.seq);
        if after.is_none() {
            for s in segments.iter().filter(|s| data.segment_path(s.first_seq) != c.file && s.first_seq > c.seq) {
                after = valid_record_after(&read_from(&s.path, 0), SEGMENT_HEADER_LEN, c.seq);
                if after.is_some() {
                    break;
                }
            }
        }
        let follow = after.map_or(String::new(), |s| format!("; a valid record with sequence {s} follows"));
        return verdict(c.seq, format!("{c}{follow}"), true);
    }
    let s = end.next_seq;
    // The segment the log ended in, and where its data ends.
    let (cur_first, end_off) = match end.last {
        Some(at) => (at.segment_first_seq, at.offset + at.padded_len),
        None => (segments.first().map_or(0, |s| s.first_seq), SEGMENT_HEADER_LEN as u64),
    };
    let Some(cur) = segments.iter().find(|x| x.first_seq == cur_first) else {
        return Tail { kind: TailKind::Clean, detail: "empty journal".into(), watermark };
    };
    if let Some(next) = segments.iter().find(|x| x.first_seq > cur_first) {
        return verdict(
            s,
            format!(
                "{} ends at offset {end_off} (sequence {s}) but segment {} follows (records missing)",
                cur.path.display(),
                next.path.display()
            ),
            false,
        );
    }
    let tail = read_from(&cur.path, end_off);
    let marker = tail.len() >= 8 && le_u32(&tail, 4) == u32::MAX && tail[..4].iter().all(|&b| b == 0);
    let garbage = tail.iter().enumerate().position(|(i, &b)| b != 0 && !(marker && (4..8).contains(&i)));
    if let Some(i) = garbage {
        let off = end_off + (i as u64 / 8 * 8);
        return verdict(
            s,
            format!(
                "torn write in {} at offset {off} (sequence {s}): non-zero bytes after the last valid record",
                cur.path.display()
            ),
            true,
        );
    }
    if let Ok(size) = cur.segment_size {
        if cur.file_bytes < size {
            return verdict(
                s,
                format!(
                    "{} is truncated to {} of {size} bytes (log ends at offset {end_off}, sequence {s})",
                    cur.path.display(),
                    cur.file_bytes
                ),
                true,
            );
        }
    }
    if s <= w {
        return verdict(s, format!("the log ends at sequence {} but the durable watermark is {w}", s - 1), false);
    }
    Tail { kind: TailKind::Clean, detail: "clean".into(), watermark }
}
