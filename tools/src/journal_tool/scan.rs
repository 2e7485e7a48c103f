//! Reading a matchd journal read-only: segment headers, the record walk (records checked by
//! `journal::JournalReader`, payloads decoded by `engine::command_codec`), and how the log ends
//! (clean, torn tail, or corruption). Every check is the journal's own: headers by
//! `journal::segment::validate_segment_header`, records by the reader's decoder, and the
//! verdict by `journal::check`, the first half of the recovery matchd runs at start. The tool
//! therefore refuses exactly what matchd refuses.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use engine::command_codec::{decode, decode_engine_config, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::{Command, EngineConfig, Seq};
use journal::segment::{
    parse_segment_file_name, read_watermark, segment_file_name, validate_segment_header, SEGMENT_HEADER_LEN,
};
use journal::{Corruption, JournalConfig, JournalReader, OpenError, ReadError, RecoveryReport};

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

/// The header fields the tool reports, validated by the journal's own check.
fn read_header(path: &Path, first: Seq) -> (Result<u64, String>, Option<Seq>) {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    if let Err(e) = File::open(path).and_then(|mut f| f.read_exact(&mut h)) {
        return (Err(format!("cannot read the header: {e}")), None);
    }
    let size = validate_segment_header(&h, first).map(|hdr| hdr.segment_size).map_err(str::to_string);
    (size, read_watermark(&h, first))
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
    /// A writer holds the journal's lock (matchd is running): the tail is being written, and
    /// what looks torn there may be a record in progress.
    Live,
    /// Damage at or below the durable watermark, or in the middle of the log: matchd refuses to
    /// start.
    Corrupt,
}

/// The verdict on a journal's end.
#[derive(Debug, Clone)]
pub struct Tail {
    /// Clean, torn, live or corrupt.
    pub kind: TailKind,
    /// What and where (file, offset, sequence).
    pub detail: String,
    /// The durable watermark from the segment headers.
    pub watermark: Option<Seq>,
    /// The last sequence the journal holds once matchd's recovery ran (`None` when corrupt).
    pub last_seq: Option<Seq>,
}

/// The journal configuration matchd opens with, as far as recovery's decisions go (the
/// recovery mode and how much is verified; the segment size and durability do not change them).
fn recovery_config() -> JournalConfig {
    JournalConfig::default()
}

/// Judges the journal as matchd's recovery will: `journal::check`, which runs recovery's
/// analysis without changing anything.
pub fn judge(data: &DataDir) -> Result<Tail, ToolError> {
    let report = match journal::check(&data.journal, &recovery_config()) {
        Ok(r) => r,
        Err(OpenError::Corruption(c)) => {
            let detail = format!("{c}; matchd refuses to start (see docs/operations.md, \"Corrupt journal\")");
            return Ok(Tail { kind: TailKind::Corrupt, detail, watermark: Some(c.durable_watermark), last_seq: None });
        }
        Err(e) => return Err(ToolError::error(format!("checking the journal in {}: {e}", data.journal.display()))),
    };
    let watermark = Some(report.durable_watermark);
    let last_seq = Some(report.last_good_seq);
    let Some(t) = &report.truncation else {
        return Ok(Tail { kind: TailKind::Clean, detail: "clean".into(), watermark, last_seq });
    };
    let mut detail = format!(
        "{} in {} at offset {} (sequence {}); above the durable watermark {}: never acknowledged as durable, \
         matchd's journal recovery cuts it at the next start (the log then ends at sequence {}){}",
        t.kind,
        t.file.display(),
        t.offset,
        t.seq,
        report.durable_watermark,
        report.last_good_seq,
        cut_summary(&report),
    );
    let kind = match journal::lock_holder(&data.journal) {
        Some(pid) => {
            detail = format!("a writer (pid {pid}) holds the journal's lock, the tail is being written: {detail}");
            TailKind::Live
        }
        None => TailKind::Torn,
    };
    Ok(Tail { kind, detail, watermark, last_seq })
}

fn cut_summary(report: &RecoveryReport) -> String {
    let Some(t) = &report.truncation else { return String::new() };
    let mut s = String::new();
    if t.bytes_zeroed > 0 {
        s.push_str(&format!("; {} bytes zeroed", t.bytes_zeroed));
    }
    if t.discarded_records > 0 {
        s.push_str(&format!("; {} valid-looking records after it discarded", t.discarded_records));
    }
    let removed: Vec<String> = report
        .removed_files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .map(|p| p.display().to_string())
        .collect();
    if !removed.is_empty() {
        s.push_str(&format!("; segments removed: {}", removed.join(", ")));
    }
    s
}

/// The error for a walk that stopped at damage: a torn tail that matchd's recovery cuts
/// ([`super::EXIT_TORN_TAIL`]) or corruption ([`super::EXIT_CORRUPT`]), as [`judge`] decides.
pub fn damage_error(data: &DataDir, c: &Corruption) -> ToolError {
    match judge(data) {
        Ok(t) if matches!(t.kind, TailKind::Torn | TailKind::Live) => {
            ToolError { code: super::EXIT_TORN_TAIL, message: format!("the journal ends in a torn tail: {}", t.detail) }
        }
        Ok(t) if t.kind == TailKind::Corrupt => ToolError::corrupt(t.detail),
        _ => ToolError::corrupt(c.to_string()),
    }
}
