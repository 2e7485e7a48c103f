//! Writer configuration.

use crate::durability::SyncPolicy;
use crate::error::OpenError;
use crate::record::RECORD_HEADER_LEN;
use crate::segment::SEGMENT_HEADER_LEN;
pub use crate::segment::{validate_segment_size, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE, SEGMENT_SIZE_MULTIPLE};

/// Default segment size: 64 MiB, about 0.7 M records of 64 bytes.
pub const DEFAULT_SEGMENT_SIZE: u64 = 64 << 20;

/// What recovery does with a bad record found above the durable watermark
/// when valid-looking records follow it. See `docs/journal.md`, "Recovery".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryMode {
    /// Default. Below or at the persisted durable watermark any damage is
    /// corruption. Above it, the log ends at the first bad record, and the
    /// records after it (which were never reported durable: a power loss
    /// wrote back some unsynced pages and not others) are zeroed and counted
    /// in the report.
    #[default]
    TruncateAboveWatermark,
    /// Also refuse to open when a valid record follows a bad one above the
    /// watermark (the literal "bad record followed by valid ones" rule). A
    /// power loss during a sync then needs an operator.
    Strict,
    /// Operator repair: truncate at the first bad record even below the
    /// watermark, losing records that were reported durable. The report
    /// says so (`RecoveryReport::lost_durable`).
    ForceTruncate,
}

/// How much of the log is validated record by record when opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verify {
    /// Every record of every segment (default).
    #[default]
    Full,
    /// Segment headers and their chain for all segments; records only from
    /// the segment holding the durable watermark onward. For journals too
    /// large to read at every start; older damage is then found by readers.
    Tail,
}

/// Configuration of a [`crate::JournalWriter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    /// Size of each segment file in bytes: a multiple of
    /// [`SEGMENT_SIZE_MULTIPLE`] between [`MIN_SEGMENT_SIZE`] and
    /// [`MAX_SEGMENT_SIZE`] ([`validate_segment_size`]).
    pub segment_size: u64,
    /// When commits make records durable.
    pub sync_policy: SyncPolicy,
    /// What recovery does with damage above the durable watermark.
    pub recovery_mode: RecoveryMode,
    /// How much of the log recovery validates.
    pub verify: Verify,
    /// Write-fault every page of a pre-created segment on the helper thread
    /// so the appending thread takes no page faults on fresh pages.
    pub pretouch: bool,
    /// Create the journal directory if it is missing (otherwise a missing
    /// directory is an error).
    pub create_dir: bool,
    /// Replication: open with the log ending at this sequence, discarding every record after it
    /// even below the durable watermark (they are durable here but the replica set never
    /// committed them: a deposed leader's or a diverged follower's tail). The report names them
    /// as a [`crate::CorruptionKind::Discarded`] truncation. `None`: the log ends where it ends.
    pub truncate_after: Option<crate::Seq>,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            segment_size: DEFAULT_SEGMENT_SIZE,
            sync_policy: SyncPolicy::Batch,
            recovery_mode: RecoveryMode::default(),
            verify: Verify::default(),
            pretouch: true,
            create_dir: false,
            truncate_after: None,
        }
    }
}

impl JournalConfig {
    /// Largest payload a record can carry with this segment size.
    pub fn max_payload(&self) -> usize {
        self.segment_size as usize - SEGMENT_HEADER_LEN - RECORD_HEADER_LEN
    }

    pub(crate) fn validate(&self) -> Result<(), OpenError> {
        validate_segment_size(self.segment_size).map_err(OpenError::InvalidConfig)
    }
}
