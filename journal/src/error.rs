//! Error types, one enum per concern.
//!
//! Every failure the journal can meet on disk is a value of one of these
//! types; nothing in this crate panics on bad disk content.

use std::io;
use std::path::PathBuf;

use crate::Seq;

/// A failed operation on the storage under the journal (files, mappings,
/// the directory).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `fallocate` (or another allocation) found the device full.
    #[error("no space left on device while {op} {path}")]
    NoSpace {
        /// What was being done.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
    },
    /// The directory or file may not be written (EACCES, EPERM, EROFS).
    #[error("permission denied while {op} {path}: {source}")]
    PermissionDenied {
        /// What was being done.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error (tells EROFS from EACCES).
        #[source]
        source: io::Error,
    },
    /// The file or directory does not exist.
    #[error("{path} not found while {op}")]
    NotFound {
        /// What was being done.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
    },
    /// Any other I/O failure.
    #[error("I/O error while {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl StorageError {
    /// Classifies an `io::Error` so callers can match on the cases operators
    /// care about (full disk, permissions) without parsing messages.
    pub fn from_io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        match source.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => StorageError::NoSpace { op, path },
            Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => {
                StorageError::PermissionDenied { op, path, source }
            }
            Some(libc::ENOENT) => StorageError::NotFound { op, path },
            _ => StorageError::Io { op, path, source },
        }
    }

    /// True when the device was full.
    pub fn is_no_space(&self) -> bool {
        matches!(self, StorageError::NoSpace { .. })
    }
}

/// Failure to take the one-writer-per-directory lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another writer (in this or another process) holds the lock.
    #[error(
        "journal directory {dir} is already open for writing by another writer \
         (lock file {lock_file} is held)"
    )]
    AlreadyLocked {
        /// The journal directory.
        dir: PathBuf,
        /// The lock file inside it.
        lock_file: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a record failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordFault {
    /// The length field is below the header size or runs past the segment.
    #[error("record length {0} is out of range")]
    BadLength(u32),
    /// The record runs past the end of the file (the file is shorter than
    /// its header says).
    #[error("record runs past the end of the file")]
    PastEndOfFile,
    /// The checksum does not match the header and payload.
    #[error("CRC32C mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    CrcMismatch {
        /// The CRC stored in the record.
        stored: u32,
        /// The CRC computed over the bytes found.
        computed: u32,
    },
    /// The record is intact but carries the wrong sequence number.
    #[error("sequence number {found} where {expected} was expected")]
    SeqMismatch {
        /// The sequence number found.
        found: Seq,
        /// The sequence number expected (previous + 1).
        expected: Seq,
    },
    /// The alignment padding after the payload is not zero.
    #[error("non-zero alignment padding after the payload")]
    NonZeroPadding,
    /// The reserved header bytes are not zero.
    #[error("non-zero reserved header bytes")]
    NonZeroReserved,
}

/// What kind of corruption recovery or a reader found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorruptionKind {
    /// A record fails validation.
    #[error("bad record: {0}")]
    BadRecord(RecordFault),
    /// A segment header fails validation.
    #[error("bad segment header: {0}")]
    BadSegmentHeader(&'static str),
    /// A segment in the middle of the log is missing.
    #[error("segment missing (the next segment present starts at sequence {next_present})")]
    MissingSegment {
        /// First sequence of the segment found after the gap.
        next_present: Seq,
    },
    /// A segment's records end before the next segment's first sequence:
    /// records at its end are missing.
    #[error("segment ends before the next segment's first sequence {next_segment_first}")]
    SegmentEndsEarly {
        /// First sequence of the next segment.
        next_segment_first: Seq,
    },
    /// Two segments claim overlapping sequence ranges.
    #[error("segment overlaps the previous one")]
    OverlappingSegment,
    /// The log ends cleanly, but before the persisted durable watermark.
    #[error("log ends before the durable watermark {watermark}: durable records are lost")]
    LostDurableRecords {
        /// The durable watermark read from the segment headers.
        watermark: Seq,
    },
    /// The last segment present ends where the writer went on in a next
    /// segment (an end-of-segment marker, or no room for another record
    /// while the headers say later records were durable), and that segment
    /// is not there (deleted, or its creation was cut by a power loss).
    #[error(
        "segment {} is the last one present and ends where the writer moved on to the next segment \
         (it is sealed with an end-of-segment marker, or full), but that segment is missing",
        crate::segment_name::segment_file_name(*.last_present)
    )]
    SuccessorMissing {
        /// First sequence of the sealed segment (names its file).
        last_present: Seq,
    },
    /// Non-zero bytes after the last record of a segment that the log
    /// continues past.
    #[error("unexpected non-zero bytes after the last record of the segment")]
    GarbageAfterEnd,
    /// Both copies of the durable watermark in a segment header are damaged.
    #[error("both durable-watermark slots of the segment header are damaged")]
    BadWatermark,
    /// A promoted spare segment claims a name that already exists.
    #[error("spare segment claims first sequence of an existing segment")]
    SpareConflict,
    /// Not damage: records after `keep_through` discarded on request
    /// ([`crate::JournalConfig::truncate_after`]), because the replica set never committed them.
    #[error("records after sequence {keep_through} discarded: the replica set never committed them")]
    Discarded {
        /// The last record kept.
        keep_through: Seq,
    },
}

/// Corruption found in the journal: startup must stop here.
///
/// Names the file, byte offset and sequence number concerned, as the issue
/// requires, so an operator can inspect the spot with a hex dump.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "journal corruption in {file} at offset {offset} (sequence {seq}): {kind}{}{}",
    match .valid_after { Some(s) => format!("; a valid record with sequence {s} follows"), None => String::new() },
    if .durable_watermark >= .seq && *.seq > 0 {
        format!(
            "; records {}..={} were reported durable (acknowledged) and are lost or damaged",
            .seq,
            .durable_watermark
        )
    } else {
        String::new()
    }
)]
pub struct Corruption {
    /// The segment file (for a missing segment: the name it should have).
    pub file: PathBuf,
    /// Byte offset within `file`.
    pub offset: u64,
    /// The sequence number expected at that point.
    pub seq: Seq,
    /// What is wrong.
    pub kind: CorruptionKind,
    /// The durable watermark persisted in the segment headers.
    pub durable_watermark: Seq,
    /// First valid record found after the bad point by the scan-ahead.
    pub valid_after: Option<Seq>,
}

/// Failure to open a journal for writing.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The configuration is unusable.
    #[error("invalid journal configuration: {0}")]
    InvalidConfig(String),
    /// The journal directory does not exist (and `create_dir` is off).
    #[error("journal directory {dir} does not exist")]
    DirMissing {
        /// The directory.
        dir: PathBuf,
    },
    /// The journal path exists but is not a directory.
    #[error("journal path {dir} is not a directory")]
    NotADirectory {
        /// The path.
        dir: PathBuf,
    },
    /// Another writer holds the directory.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A file operation failed (full disk, permissions, I/O).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The journal is corrupt; it was left untouched.
    #[error(transparent)]
    Corruption(Box<Corruption>),
}

impl From<Corruption> for OpenError {
    fn from(c: Corruption) -> Self {
        OpenError::Corruption(Box::new(c))
    }
}

/// Failure of `append`, `commit` or `sync_now`.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The payload cannot fit in a segment of the configured size.
    #[error("payload of {len} bytes exceeds the maximum of {max} bytes for this segment size")]
    PayloadTooLarge {
        /// Payload length given.
        len: usize,
        /// Largest payload a segment can hold.
        max: usize,
    },
    /// A sync failed. The writer is now poisoned: the kernel may have dropped
    /// the dirty pages, so a retry could report success for lost data.
    #[error("journal sync failed; the writer is poisoned and refuses all further calls: {0}")]
    SyncFailed(#[source] StorageError),
    /// An earlier failure poisoned the writer; reopen the journal (recovery
    /// finds out what reached the disk).
    #[error("journal writer is poisoned by an earlier failure ({0}); reopen the journal")]
    Poisoned(String),
    /// The next segment could not be created (full disk, permissions). The
    /// record was not appended and the writer is unchanged: a retry after
    /// freeing space may succeed.
    #[error("could not roll over to a new journal segment: {0}")]
    Rollover(#[source] StorageError),
}

/// Failure of a reader.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The journal directory does not exist.
    #[error("journal directory {dir} does not exist")]
    DirMissing {
        /// The directory.
        dir: PathBuf,
    },
    /// A file operation failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The journal is corrupt at this point.
    #[error(transparent)]
    Corruption(Box<Corruption>),
    /// The sequence asked for precedes the first record kept.
    #[error("sequence {requested} precedes the first record in the journal ({first})")]
    BeforeStart {
        /// Sequence asked for.
        requested: Seq,
        /// First sequence present.
        first: Seq,
    },
    /// The sequence asked for is past the end of the log.
    #[error("sequence {requested} is past the end of the journal (next to be written: {next})")]
    BeyondEnd {
        /// Sequence asked for.
        requested: Seq,
        /// The next sequence the writer will write.
        next: Seq,
    },
}

impl From<Corruption> for ReadError {
    fn from(c: Corruption) -> Self {
        ReadError::Corruption(Box::new(c))
    }
}
