//! matchd snapshot files: the engine's logical state ([`engine::EngineSnapshot`]) at a sequence
//! number, so a restart replays only the journal after it.
//!
//! A snapshot is `<data_dir>/snapshots/snapshot-<20-digit seq>.snap`:
//!
//! ```text
//! offset size field
//!      0    8 magic            b"MATCHDSN"
//!      8    4 format_version   6 (1 to 5 are still read: see below)
//!     12    4 header_len       128 (the payload starts here)
//!     16    8 seq              sequence of the last command the state includes
//!     24   16 state_hash       Engine::state_hash() of the state (u128 LE)
//!     40    8 payload_len      bytes of the rkyv payload
//!     48    4 payload_crc      CRC-32C of the payload
//!     52    4 publisher_crc    CRC-32C of the publisher section's bytes
//!     56    8 publisher_len    bytes of the publisher section
//!     64    8 created_unix_ns  wall-clock time the file was written (informational)
//!     72   48 reserved         zero
//!    120    4 header_crc       CRC-32C of bytes 0..120
//!    124    4 reserved         zero
//!    128    n payload          rkyv archive of EngineSnapshot (validated with bytecheck on load)
//!  128+n    8 publisher_len    again (length prefix of the section)
//!  136+n    4 publisher_crc    again
//!  140+n    4 reserved         zero
//!  144+n    m publisher bytes  opaque to this crate (the gateway's report numbering)
//! ```
//!
//! Files are written to a temporary name, fsynced, renamed and the directory fsynced, so a
//! crash leaves either the complete file or none. Loading checks, in order: the name, the
//! header CRC, the length, both CRCs, the rkyv validation, the restore validation
//! ([`engine::Engine::from_snapshot`]) and the recorded state hash against the restored engine's
//! own; [`load_newest_valid`] skips (and reports) a snapshot that fails any of them and falls
//! back to older ones. Format-1 files (before the journaled credentials), format-2 files
//! (before the armed conditional orders), format-3 files (before good-till-date orders),
//! format-4 files (before trailing stops), format-5 files (before perpetual futures) and format-6
//! files (before a perpetual's announced funding) are still read and converted ([`OLDEST_READABLE_FORMAT_VERSION`]); other versions are skipped. See
//! `docs/snapshots.md`.
#![warn(missing_docs)]

mod fork;
pub use fork::{fork_snapshot, ForkedSnapshot};

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use engine::{Engine, EngineSnapshot, Seq, SnapshotError};
use rkyv::rancor;
use rkyv::util::AlignedVec;

/// Magic bytes at the start of a snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"MATCHDSN";
/// Format version written by this crate. 2 added the journaled credentials to the engine state,
/// 3 the armed conditional orders, 4 the good-till-date expiries and the engine's clock, 5 the
/// trailing stops and order lists, 6 the perpetual futures (and the insurance fund and oracle
/// accounts in the engine config), 7 each perpetual's last announced funding (rate and next
/// funding time).
pub const SNAPSHOT_FORMAT_VERSION: u32 = 7;
/// The oldest format version read. A format-1 archive ([`engine::EngineSnapshotV1`], no
/// credentials) is converted on load, so an upgrade keeps its snapshots: the journal before them
/// may have been pruned. Any other version is refused at the header ("unsupported format
/// version") and skipped like a damaged file.
pub const OLDEST_READABLE_FORMAT_VERSION: u32 = 1;
/// Header bytes before the payload.
pub const SNAPSHOT_HEADER_LEN: usize = 128;
/// Bytes of the publisher section's own prefix (length, CRC, reserved).
pub const PUBLISHER_PREFIX_LEN: usize = 16;
/// Name of the snapshot directory inside a data directory.
pub const SNAPSHOT_DIR_NAME: &str = "snapshots";
const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".snap";
const TMP_SUFFIX: &str = ".snap.tmp";
const DIGITS: usize = 20;

const OFF_VERSION: usize = 8;
const OFF_HEADER_LEN: usize = 12;
const OFF_SEQ: usize = 16;
const OFF_HASH: usize = 24;
const OFF_PAYLOAD_LEN: usize = 40;
const OFF_PAYLOAD_CRC: usize = 48;
const OFF_PUBLISHER_CRC: usize = 52;
const OFF_PUBLISHER_LEN: usize = 56;
const OFF_CREATED: usize = 64;
const OFF_HEADER_CRC: usize = 120;

/// `<data_dir>/snapshots`.
pub fn snapshot_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(SNAPSHOT_DIR_NAME)
}

/// `snapshot-<seq, 20 digits>.snap`.
pub fn snapshot_file_name(seq: Seq) -> String {
    format!("{PREFIX}{seq:0DIGITS$}{SUFFIX}")
}

/// The sequence number in a snapshot file name, if it is one.
pub fn parse_snapshot_file_name(name: &str) -> Option<Seq> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Why a snapshot file cannot be written, read or used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotFileError {
    /// A file system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The name is not `snapshot-<20 digits>.snap`.
    #[error("{0}: not a snapshot file name")]
    BadName(PathBuf),
    /// The header is damaged or of another format.
    #[error("{path}: bad snapshot header: {what}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: &'static str,
    },
    /// The file is shorter or longer than its header says.
    #[error("{path}: file has {actual} bytes, its header says {expected} (truncated or extended)")]
    BadLength {
        /// The file.
        path: PathBuf,
        /// Bytes the header implies.
        expected: u64,
        /// Bytes found.
        actual: u64,
    },
    /// A checksum does not match.
    #[error("{path}: {section} CRC32C mismatch at offset {offset} (stored {stored:#010x}, computed {computed:#010x})")]
    Crc {
        /// The file.
        path: PathBuf,
        /// `payload` or `publisher section`.
        section: &'static str,
        /// Where the section starts.
        offset: u64,
        /// Stored CRC.
        stored: u32,
        /// Computed CRC.
        computed: u32,
    },
    /// The payload is not a valid archive (rkyv/bytecheck validation).
    #[error("{path}: payload at offset 128 is not a valid snapshot archive: {message}")]
    Archive {
        /// The file.
        path: PathBuf,
        /// The validator's message.
        message: String,
    },
    /// Serializing failed (e.g. the archive would exceed rkyv's 32-bit offsets).
    #[error("serializing the snapshot at sequence {seq}: {message}")]
    Serialize {
        /// The snapshot's sequence number.
        seq: Seq,
        /// rkyv's message.
        message: String,
    },
    /// The name, the header and the state disagree on the sequence number.
    #[error("{path}: sequence numbers disagree (name {name}, header {header}, state {state})")]
    SeqMismatch {
        /// The file.
        path: PathBuf,
        /// From the file name.
        name: Seq,
        /// From the header.
        header: Seq,
        /// The state's `last_seq`.
        state: Seq,
    },
    /// The state is not a consistent engine state.
    #[error("{path} (sequence {seq}): {source}")]
    Restore {
        /// The file.
        path: PathBuf,
        /// Its sequence number.
        seq: Seq,
        /// What the restore validation found.
        source: SnapshotError,
    },
    /// The restored engine's state hash is not the one recorded.
    #[error("{path} (sequence {seq}): state hash {computed:032x} of the restored engine differs from the recorded {recorded:032x}")]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// Its sequence number.
        seq: Seq,
        /// From the header.
        recorded: u128,
        /// Of the restored engine.
        computed: u128,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SnapshotFileError + 'a {
    move |source| SnapshotFileError::Io { op, path: path.to_path_buf(), source }
}

/// A parsed, checked snapshot header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// Format version: [`SNAPSHOT_FORMAT_VERSION`] for files this crate writes, as low as
    /// [`OLDEST_READABLE_FORMAT_VERSION`] for files it reads.
    pub format_version: u32,
    /// Sequence of the last command the state includes.
    pub seq: Seq,
    /// `Engine::state_hash()` of the state.
    pub state_hash: u128,
    /// Bytes of the rkyv payload.
    pub payload_len: u64,
    /// CRC-32C of the payload.
    pub payload_crc: u32,
    /// Bytes of the publisher section (its data, without the prefix).
    pub publisher_len: u64,
    /// CRC-32C of the publisher section's data.
    pub publisher_crc: u32,
    /// When it was written (ns since the Unix epoch).
    pub created_unix_ns: u64,
}

impl SnapshotHeader {
    /// Total file size the header implies.
    pub fn file_len(&self) -> u64 {
        (SNAPSHOT_HEADER_LEN + PUBLISHER_PREFIX_LEN) as u64 + self.payload_len + self.publisher_len
    }

    fn encode(&self) -> [u8; SNAPSHOT_HEADER_LEN] {
        let mut h = [0u8; SNAPSHOT_HEADER_LEN];
        h[..8].copy_from_slice(&SNAPSHOT_MAGIC);
        h[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&self.format_version.to_le_bytes());
        h[OFF_HEADER_LEN..OFF_HEADER_LEN + 4].copy_from_slice(&(SNAPSHOT_HEADER_LEN as u32).to_le_bytes());
        h[OFF_SEQ..OFF_SEQ + 8].copy_from_slice(&self.seq.to_le_bytes());
        h[OFF_HASH..OFF_HASH + 16].copy_from_slice(&self.state_hash.to_le_bytes());
        h[OFF_PAYLOAD_LEN..OFF_PAYLOAD_LEN + 8].copy_from_slice(&self.payload_len.to_le_bytes());
        h[OFF_PAYLOAD_CRC..OFF_PAYLOAD_CRC + 4].copy_from_slice(&self.payload_crc.to_le_bytes());
        h[OFF_PUBLISHER_CRC..OFF_PUBLISHER_CRC + 4].copy_from_slice(&self.publisher_crc.to_le_bytes());
        h[OFF_PUBLISHER_LEN..OFF_PUBLISHER_LEN + 8].copy_from_slice(&self.publisher_len.to_le_bytes());
        h[OFF_CREATED..OFF_CREATED + 8].copy_from_slice(&self.created_unix_ns.to_le_bytes());
        let crc = crc32c::crc32c(&h[..OFF_HEADER_CRC]);
        h[OFF_HEADER_CRC..OFF_HEADER_CRC + 4].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Parses and checks a header (magic, version, length, CRC, reserved bytes).
    pub fn decode(h: &[u8]) -> Result<SnapshotHeader, &'static str> {
        if h.len() < SNAPSHOT_HEADER_LEN {
            return Err("file shorter than the header");
        }
        let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().expect("8 bytes"));
        if h[..8] != SNAPSHOT_MAGIC {
            return Err("bad magic (not a matchd snapshot)");
        }
        if u32_at(OFF_HEADER_CRC) != crc32c::crc32c(&h[..OFF_HEADER_CRC]) {
            return Err("header CRC mismatch");
        }
        let format_version = u32_at(OFF_VERSION);
        if !(OLDEST_READABLE_FORMAT_VERSION..=SNAPSHOT_FORMAT_VERSION).contains(&format_version) {
            return Err("unsupported format version");
        }
        if u32_at(OFF_HEADER_LEN) as usize != SNAPSHOT_HEADER_LEN {
            return Err("unsupported header length");
        }
        if h[72..OFF_HEADER_CRC].iter().chain(&h[124..128]).any(|&b| b != 0) {
            return Err("non-zero reserved bytes");
        }
        let header = SnapshotHeader {
            format_version,
            seq: u64_at(OFF_SEQ),
            state_hash: u128::from_le_bytes(h[OFF_HASH..OFF_HASH + 16].try_into().expect("16 bytes")),
            payload_len: u64_at(OFF_PAYLOAD_LEN),
            payload_crc: u32_at(OFF_PAYLOAD_CRC),
            publisher_len: u64_at(OFF_PUBLISHER_LEN),
            publisher_crc: u32_at(OFF_PUBLISHER_CRC),
            created_unix_ns: u64_at(OFF_CREATED),
        };
        if header.payload_len > 1 << 40 || header.publisher_len > 1 << 40 {
            return Err("section length out of range");
        }
        Ok(header)
    }
}

/// What [`write_snapshot`] wrote, with its timings.
#[derive(Debug, Clone)]
pub struct WrittenSnapshot {
    /// The final path.
    pub path: PathBuf,
    /// Its header.
    pub header: SnapshotHeader,
    /// Time to compute the state hash and serialize (rkyv) the payload.
    pub serialize: Duration,
    /// Time to write, fsync, rename and fsync the directory.
    pub write: Duration,
}

/// Serializes a snapshot to its rkyv payload.
pub fn encode_payload(snap: &EngineSnapshot) -> Result<AlignedVec, SnapshotFileError> {
    rkyv::to_bytes::<rancor::Error>(snap)
        .map_err(|e| SnapshotFileError::Serialize { seq: snap.last_seq, message: e.to_string() })
}

/// The engine half of a snapshot, written by [`write_engine_part`] and not yet visible.
#[derive(Debug, Clone)]
pub struct EnginePart {
    /// The temporary file (`snapshot-<seq>.snap.tmp`).
    pub tmp: PathBuf,
    /// Its header so far (no publisher section yet).
    pub header: SnapshotHeader,
    /// Time to compute the state hash and serialize (rkyv) the payload.
    pub serialize: Duration,
}

/// Writes `snapshot-<seq>.snap` into `dir` (created if missing): serialized, stamped with
/// `snap.state_hash()`, written to a temporary file, fsynced, renamed, directory fsynced.
/// `publisher` is an opaque section stored (and checksummed) with it. Meant for a thread other
/// than the matcher: it takes the time of a serialization and a file write.
pub fn write_snapshot(
    dir: &Path,
    snap: &EngineSnapshot,
    publisher: &[u8],
) -> Result<WrittenSnapshot, SnapshotFileError> {
    let part = write_engine_part(dir, snap)?;
    let mut written = finish_snapshot(dir, part.header.seq, publisher)?;
    written.serialize = part.serialize;
    Ok(written)
}

/// The first half of [`write_snapshot`]: hashes and serializes `snap` and writes the header
/// (with an empty publisher section) and the payload to `snapshot-<seq>.snap.tmp`, not synced.
/// [`finish_snapshot`] (possibly in another process: see [`fork_snapshot`]) adds the publisher
/// section and makes the file durable and visible. A crash in between leaves only the temporary
/// file, which [`prune`] deletes.
pub fn write_engine_part(dir: &Path, snap: &EngineSnapshot) -> Result<EnginePart, SnapshotFileError> {
    let started = Instant::now();
    let state_hash = snap.state_hash();
    let payload = encode_payload(snap)?;
    let serialize = started.elapsed();
    let header = SnapshotHeader {
        format_version: SNAPSHOT_FORMAT_VERSION,
        seq: snap.last_seq,
        state_hash,
        payload_len: payload.len() as u64,
        payload_crc: crc32c::crc32c(&payload),
        publisher_len: 0,
        publisher_crc: crc32c::crc32c(&[]),
        created_unix_ns: 0,
    };
    fs::create_dir_all(dir).map_err(io_err("creating snapshot directory", dir))?;
    let tmp = dir.join(format!("{}.tmp", snapshot_file_name(snap.last_seq)));
    let result = (|| {
        let mut f =
            OpenOptions::new().write(true).create(true).truncate(true).open(&tmp).map_err(io_err("creating", &tmp))?;
        for part in [&header.encode()[..], &payload] {
            f.write_all(part).map_err(io_err("writing", &tmp))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    Ok(EnginePart { tmp, header, serialize })
}

/// The second half of [`write_snapshot`]: takes the temporary file [`write_engine_part`] wrote
/// for `seq`, checks its header and length, appends the publisher section, rewrites the header,
/// fsyncs, renames it into place and fsyncs the directory. The temporary file is deleted if
/// anything fails.
pub fn finish_snapshot(dir: &Path, seq: Seq, publisher: &[u8]) -> Result<WrittenSnapshot, SnapshotFileError> {
    use std::os::unix::fs::FileExt;
    let started = Instant::now();
    let name = snapshot_file_name(seq);
    let path = dir.join(&name);
    let tmp = dir.join(format!("{name}.tmp"));
    let result = (|| {
        let f = OpenOptions::new().read(true).write(true).open(&tmp).map_err(io_err("opening", &tmp))?;
        let mut h = [0u8; SNAPSHOT_HEADER_LEN];
        f.read_exact_at(&mut h, 0).map_err(io_err("reading", &tmp))?;
        let bad = |what| SnapshotFileError::BadHeader { path: tmp.clone(), what };
        let mut header = SnapshotHeader::decode(&h).map_err(bad)?;
        if header.seq != seq || header.publisher_len != 0 || header.format_version != SNAPSHOT_FORMAT_VERSION {
            return Err(bad("not the engine part of this snapshot"));
        }
        let expected = SNAPSHOT_HEADER_LEN as u64 + header.payload_len;
        let actual = f.metadata().map_err(io_err("reading metadata of", &tmp))?.len();
        if actual != expected {
            return Err(SnapshotFileError::BadLength { path: tmp.clone(), expected, actual });
        }
        header.publisher_len = publisher.len() as u64;
        header.publisher_crc = crc32c::crc32c(publisher);
        header.created_unix_ns = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let mut prefix = [0u8; PUBLISHER_PREFIX_LEN];
        prefix[..8].copy_from_slice(&header.publisher_len.to_le_bytes());
        prefix[8..12].copy_from_slice(&header.publisher_crc.to_le_bytes());
        f.write_all_at(&prefix, expected).map_err(io_err("writing", &tmp))?;
        f.write_all_at(publisher, expected + PUBLISHER_PREFIX_LEN as u64).map_err(io_err("writing", &tmp))?;
        f.write_all_at(&header.encode(), 0).map_err(io_err("writing", &tmp))?;
        f.sync_all().map_err(io_err("fsync of", &tmp))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(io_err("renaming into place", &path))?;
        sync_dir(dir)?;
        Ok(header)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    let header = result?;
    Ok(WrittenSnapshot { path, header, serialize: Duration::ZERO, write: started.elapsed() })
}

fn sync_dir(dir: &Path) -> Result<(), SnapshotFileError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("fsync of directory", dir))
}

fn name_seq(path: &Path) -> Result<Seq, SnapshotFileError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_snapshot_file_name)
        .ok_or_else(|| SnapshotFileError::BadName(path.to_path_buf()))
}

/// Reads and checks a file's header, its length and both CRCs; returns the header, the payload
/// (aligned for rkyv) and the publisher section. Does not decode the payload.
pub fn read_checked(path: &Path) -> Result<(SnapshotHeader, AlignedVec, Vec<u8>), SnapshotFileError> {
    let name = name_seq(path)?;
    let mut f = File::open(path).map_err(io_err("opening", path))?;
    let actual = f.metadata().map_err(io_err("reading metadata of", path))?.len();
    let mut h = [0u8; SNAPSHOT_HEADER_LEN];
    if actual < SNAPSHOT_HEADER_LEN as u64 {
        return Err(SnapshotFileError::BadHeader { path: path.to_path_buf(), what: "file shorter than the header" });
    }
    f.read_exact(&mut h).map_err(io_err("reading", path))?;
    let header =
        SnapshotHeader::decode(&h).map_err(|what| SnapshotFileError::BadHeader { path: path.to_path_buf(), what })?;
    if header.seq != name {
        return Err(SnapshotFileError::SeqMismatch { path: path.to_path_buf(), name, header: header.seq, state: 0 });
    }
    if header.file_len() != actual {
        return Err(SnapshotFileError::BadLength { path: path.to_path_buf(), expected: header.file_len(), actual });
    }
    let mut payload = AlignedVec::<16>::with_capacity(header.payload_len as usize);
    payload.resize(header.payload_len as usize, 0);
    f.read_exact(&mut payload).map_err(io_err("reading", path))?;
    let computed = crc32c::crc32c(&payload);
    if computed != header.payload_crc {
        return Err(SnapshotFileError::Crc {
            path: path.to_path_buf(),
            section: "payload",
            offset: SNAPSHOT_HEADER_LEN as u64,
            stored: header.payload_crc,
            computed,
        });
    }
    let mut prefix = [0u8; PUBLISHER_PREFIX_LEN];
    f.read_exact(&mut prefix).map_err(io_err("reading", path))?;
    let mut publisher = vec![0u8; header.publisher_len as usize];
    f.read_exact(&mut publisher).map_err(io_err("reading", path))?;
    let offset = SNAPSHOT_HEADER_LEN as u64 + header.payload_len;
    if prefix[..8] != header.publisher_len.to_le_bytes() || prefix[12..].iter().any(|&b| b != 0) {
        return Err(SnapshotFileError::BadHeader { path: path.to_path_buf(), what: "publisher section prefix" });
    }
    let stored = u32::from_le_bytes(prefix[8..12].try_into().expect("4 bytes"));
    let computed = crc32c::crc32c(&publisher);
    if stored != header.publisher_crc || computed != stored {
        return Err(SnapshotFileError::Crc {
            path: path.to_path_buf(),
            section: "publisher section",
            offset,
            stored,
            computed,
        });
    }
    Ok((header, payload, publisher))
}

/// Reads a snapshot file: header, CRCs and rkyv validation (bytecheck) of the payload, then
/// deserializes it. Returns the state and the publisher section. Does not restore an engine:
/// see [`load_snapshot`] for the full check.
pub fn read_snapshot(path: &Path) -> Result<(EngineSnapshot, Vec<u8>), SnapshotFileError> {
    read_snapshot_with_header(path).map(|(_, s, p)| (s, p))
}

/// [`read_snapshot`], with the header.
pub fn read_snapshot_with_header(path: &Path) -> Result<(SnapshotHeader, EngineSnapshot, Vec<u8>), SnapshotFileError> {
    let (header, payload, publisher) = read_checked(path)?;
    let archive_err =
        |e: rancor::Error| SnapshotFileError::Archive { path: path.to_path_buf(), message: e.to_string() };
    let snap = match header.format_version {
        1 => rkyv::from_bytes::<engine::EngineSnapshotV1, rancor::Error>(&payload).map_err(archive_err)?.into(),
        2 => rkyv::from_bytes::<engine::EngineSnapshotV2, rancor::Error>(&payload).map_err(archive_err)?.into(),
        3 => rkyv::from_bytes::<engine::EngineSnapshotV3, rancor::Error>(&payload).map_err(archive_err)?.into(),
        4 => rkyv::from_bytes::<engine::EngineSnapshotV4, rancor::Error>(&payload).map_err(archive_err)?.into(),
        5 => rkyv::from_bytes::<engine::EngineSnapshotV5, rancor::Error>(&payload).map_err(archive_err)?.into(),
        6 => rkyv::from_bytes::<engine::EngineSnapshotV6, rancor::Error>(&payload).map_err(archive_err)?.into(),
        _ => rkyv::from_bytes::<EngineSnapshot, rancor::Error>(&payload).map_err(archive_err)?,
    };
    if snap.last_seq != header.seq {
        return Err(SnapshotFileError::SeqMismatch {
            path: path.to_path_buf(),
            name: header.seq,
            header: header.seq,
            state: snap.last_seq,
        });
    }
    Ok((header, snap, publisher))
}

/// A snapshot restored and fully checked.
pub struct Loaded {
    /// The file.
    pub path: PathBuf,
    /// Its header (`seq`, `state_hash` ...).
    pub header: SnapshotHeader,
    /// The engine, at `header.seq`: apply journal records from `header.seq + 1`.
    pub engine: Engine,
    /// The publisher section.
    pub publisher: Vec<u8>,
    /// Time to read, validate, deserialize and restore.
    pub elapsed: Duration,
}

/// Reads a snapshot and restores the engine: every check of [`read_snapshot`], then
/// [`Engine::from_snapshot`]'s validation, then the restored engine's `state_hash()` against the
/// header's.
pub fn load_snapshot(path: &Path) -> Result<Loaded, SnapshotFileError> {
    let started = Instant::now();
    let (header, snap, publisher) = read_snapshot_with_header(path)?;
    let engine = Engine::from_snapshot(&snap).map_err(|source| SnapshotFileError::Restore {
        path: path.to_path_buf(),
        seq: header.seq,
        source,
    })?;
    let computed = engine.state_hash();
    if computed != header.state_hash {
        return Err(SnapshotFileError::HashMismatch {
            path: path.to_path_buf(),
            seq: header.seq,
            recorded: header.state_hash,
            computed,
        });
    }
    Ok(Loaded { path: path.to_path_buf(), header, engine, publisher, elapsed: started.elapsed() })
}

/// A snapshot file found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotEntry {
    /// Sequence number from its name.
    pub seq: Seq,
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// The snapshot files in `dir`, newest (highest sequence) first. A missing directory has none.
pub fn list_snapshots(dir: &Path) -> Result<Vec<SnapshotEntry>, SnapshotFileError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("listing", dir)(e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(io_err("listing", dir))?;
        let name = entry.file_name();
        let Some(seq) = name.to_str().and_then(parse_snapshot_file_name) else { continue };
        let bytes = entry.metadata().map_or(0, |m| m.len());
        out.push(SnapshotEntry { seq, path: entry.path(), bytes });
    }
    out.sort_by_key(|e| std::cmp::Reverse(e.seq));
    Ok(out)
}

/// What [`load_newest_valid`] found.
pub struct LoadOutcome {
    /// The newest snapshot that passed every check, if any.
    pub loaded: Option<Loaded>,
    /// Newer snapshots that failed, newest first, with the reason: report them.
    pub skipped: Vec<(PathBuf, SnapshotFileError)>,
}

/// Restores the newest snapshot in `dir` that passes every check of [`load_snapshot`],
/// skipping (and reporting) damaged ones. `Err` only if the directory cannot be listed.
pub fn load_newest_valid(dir: &Path) -> Result<LoadOutcome, SnapshotFileError> {
    load_newest_valid_at_or_before(dir, Seq::MAX)
}

/// [`load_newest_valid`] among snapshots at or before `max_seq`. A restart passes the journal's
/// last sequence: a snapshot beyond it (the journal lost its unsynced tail in a power loss, but
/// the snapshot reached the disk) must not be used, since the journal will reuse those sequence
/// numbers for other commands.
pub fn load_newest_valid_at_or_before(dir: &Path, max_seq: Seq) -> Result<LoadOutcome, SnapshotFileError> {
    let mut skipped = Vec::new();
    for e in list_snapshots(dir)?.into_iter().filter(|e| e.seq <= max_seq) {
        match load_snapshot(&e.path) {
            Ok(loaded) => return Ok(LoadOutcome { loaded: Some(loaded), skipped }),
            Err(err) => skipped.push((e.path, err)),
        }
    }
    Ok(LoadOutcome { loaded: None, skipped })
}

/// What [`plan_prune`] decided.
#[derive(Debug, Default)]
pub struct PrunePlan {
    /// The newest `keep_n` valid snapshots (fully checked), newest first.
    pub keep: Vec<SnapshotEntry>,
    /// Snapshot files older than the oldest kept one (valid or not) and leftover temporary
    /// files: what [`prune`] deletes.
    pub delete: Vec<PathBuf>,
    /// Invalid snapshots newer than the oldest kept one: left alone (evidence), reported.
    pub invalid: Vec<(PathBuf, String)>,
}

impl PrunePlan {
    /// Sequence of the oldest kept snapshot: journal segments wholly at or before it are no
    /// longer needed for a restart (see [`journal_segments_before`]).
    pub fn oldest_kept_seq(&self) -> Option<Seq> {
        self.keep.last().map(|e| e.seq)
    }
}

/// Decides which snapshots to keep: the newest `keep_n` (at least 1) that pass every check of
/// [`load_snapshot`]. If fewer than `keep_n` are valid, nothing is deleted but temporary files.
pub fn plan_prune(dir: &Path, keep_n: usize) -> Result<PrunePlan, SnapshotFileError> {
    let keep_n = keep_n.max(1);
    let mut plan = PrunePlan::default();
    let entries = list_snapshots(dir)?;
    let mut rest = Vec::new();
    for e in entries {
        if plan.keep.len() == keep_n {
            rest.push(e.path);
            continue;
        }
        match load_snapshot(&e.path) {
            Ok(_) => plan.keep.push(e),
            Err(err) => plan.invalid.push((e.path, err.to_string())),
        }
    }
    if plan.keep.len() == keep_n {
        plan.delete = rest;
    } else {
        // Not enough valid snapshots: every invalid one stays too.
    }
    if let Ok(rd) = fs::read_dir(dir) {
        for entry in rd.flatten() {
            if entry.file_name().to_str().is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(TMP_SUFFIX)) {
                plan.delete.push(entry.path());
            }
        }
    }
    Ok(plan)
}

/// Executes a plan: deletes `plan.delete` and fsyncs the directory.
pub fn execute_prune(dir: &Path, plan: &PrunePlan) -> Result<(), SnapshotFileError> {
    for p in &plan.delete {
        match fs::remove_file(p) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("deleting", p)(e)),
        }
    }
    if !plan.delete.is_empty() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Keeps the newest `keep_n` valid snapshots in `dir` and deletes older ones ([`plan_prune`]
/// then [`execute_prune`]). Returns the plan carried out.
pub fn prune(dir: &Path, keep_n: usize) -> Result<PrunePlan, SnapshotFileError> {
    let plan = plan_prune(dir, keep_n)?;
    execute_prune(dir, &plan)?;
    Ok(plan)
}

/// A journal segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    /// Its first sequence number (from the name).
    pub first_seq: Seq,
    /// The file.
    pub path: PathBuf,
}

/// Journal segments in `journal_dir` holding only records at or before `seq` (a segment is
/// wholly before when the next segment starts at or before `seq + 1`; the last segment never
/// is), oldest first. A restart from a snapshot at `seq` does not read them. Nothing is deleted
/// here: archiving or deleting them is an operator's explicit decision (`matchd-journal prune`).
pub fn journal_segments_before(journal_dir: &Path, seq: Seq) -> Result<Vec<SegmentFile>, SnapshotFileError> {
    let rd = match fs::read_dir(journal_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("listing", journal_dir)(e)),
    };
    let mut segs: Vec<SegmentFile> = rd
        .flatten()
        .filter_map(|e| {
            let first_seq = e.file_name().to_str().and_then(journal::segment::parse_segment_file_name)?;
            Some(SegmentFile { first_seq, path: e.path() })
        })
        .collect();
    segs.sort_by_key(|s| s.first_seq);
    let n = segs.windows(2).take_while(|w| w[1].first_seq <= seq.saturating_add(1)).count();
    segs.truncate(n);
    Ok(segs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_and_parse() {
        assert_eq!(snapshot_file_name(42), "snapshot-00000000000000000042.snap");
        assert_eq!(parse_snapshot_file_name(&snapshot_file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_snapshot_file_name("snapshot-42.snap"), None);
        assert_eq!(parse_snapshot_file_name("snapshot-00000000000000000042.snap.tmp"), None);
        assert!(snapshot_file_name(9) < snapshot_file_name(10));
    }

    #[test]
    fn header_round_trip() {
        let h = SnapshotHeader {
            format_version: SNAPSHOT_FORMAT_VERSION,
            seq: 7,
            state_hash: 0x0123_4567_89ab_cdef_0011_2233_4455_6677,
            payload_len: 1000,
            payload_crc: 5,
            publisher_len: 3,
            publisher_crc: 9,
            created_unix_ns: 11,
        };
        let mut b = h.encode();
        assert_eq!(SnapshotHeader::decode(&b), Ok(h));
        b[20] ^= 1;
        assert_eq!(SnapshotHeader::decode(&b), Err("header CRC mismatch"));
    }
}
