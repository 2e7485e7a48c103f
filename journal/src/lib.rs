//! matchd's journal: a memory-mapped, checksummed, crash-safe log of opaque
//! records, written by one thread and read (tailed) by any number of
//! readers, in this process or others.
//!
//! - [`JournalWriter`]: `append` (no syscall, no allocation) then `commit`
//!   per [`SyncPolicy`]; recovery on open returns a [`RecoveryReport`].
//! - [`JournalReader`]: iterate from any sequence number, tail a live
//!   writer, zero-copy [`RecordView`]s.
//! - [`storage::Storage`]: the file system seam; [`sim::SimStorage`] is the
//!   power-loss test double.
//!
//! The on-disk format, the recovery rules and what each durability policy
//! survives are specified in `docs/journal.md`.
#![warn(missing_docs)]

pub mod config;
mod dir_lock;
pub mod durability;
pub mod error;
mod prealloc;
mod reader;
pub mod record;
mod recovery;
pub mod segment;
mod segment_name;
pub mod sim;
pub mod storage;
mod writer;

/// A record sequence number. The first record of a journal is 1; each next
/// record is previous + 1.
pub type Seq = u64;

pub use config::{JournalConfig, RecoveryMode, Verify};
pub use dir_lock::{lock_holder, DirLock, LOCK_FILE_NAME};
pub use durability::SyncPolicy;
pub use error::{Corruption, CorruptionKind, LockError, OpenError, ReadError, RecordFault, StorageError, WriteError};
pub use reader::JournalReader;
pub use record::RecordView;
pub use recovery::{check, check_with_storage, RecoveryReport, Truncation};
pub use storage::FileStorage;
pub use writer::{JournalWriter, OpenPlan};
