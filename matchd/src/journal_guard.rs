//! The start's guard against losing acknowledged records silently: before recovery changes
//! anything, the end the journal will have is compared with the snapshots, and a journal that
//! lost records it had reported durable stops the start with an error naming the files and
//! sequences, unless the operator passed `--accept-data-loss` for this one start.
//!
//! A snapshot is taken by the matcher, which only sees records the journaller released, and
//! under `batch` and `interval` the journaller releases a record only once it is synced. So a
//! snapshot beyond the journal's end means synced (acknowledged) records are gone: a segment
//! deleted or damaged. Only under `none` (records released from the page cache) can a power loss
//! legitimately take from the journal a tail a snapshot saw. `matchd-journal verify` gives the
//! same verdict from the same functions.

use std::fmt;
use std::path::{Path, PathBuf};

use journal::{JournalConfig, JournalWriter, OpenError, RecoveryMode, RecoveryReport};
use snapshot::{SnapshotEntry, SnapshotFileError};

use crate::config::{Config, Durability};

/// Why this start must not go on (nothing on disk was changed).
#[derive(Debug, thiserror::Error)]
pub enum StartRefused {
    /// The journal is corrupt (acknowledged records damaged or missing), or cannot be opened.
    #[error("journal in {dir}: {source}{}", corruption_hint(source))]
    Journal {
        /// The journal directory.
        dir: PathBuf,
        /// What recovery found.
        source: OpenError,
    },
    /// Snapshots record a state beyond the journal's end: acknowledged records are lost.
    #[error("{0}")]
    SnapshotsBeyondEnd(SnapshotsBeyondEnd),
    /// The snapshot directory cannot be read.
    #[error("snapshots: {0}")]
    Snapshots(#[from] SnapshotFileError),
    /// A snapshot beyond the end could not be set aside (after the loss was accepted).
    #[error("setting aside snapshot {path}: {source}")]
    SetAside {
        /// The snapshot.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

fn corruption_hint(e: &OpenError) -> &'static str {
    match e {
        OpenError::Corruption(_) => {
            ". Nothing was changed. See docs/operations.md, \"Corrupt journal\" (`matchd-journal verify`); to \
             start anyway, cutting the journal there and losing those records, run matchd once with \
             --accept-data-loss"
        }
        _ => "",
    }
}

/// Snapshots beyond the journal's end that the durability policy does not explain.
#[derive(Debug, Clone)]
pub struct SnapshotsBeyondEnd {
    /// The last sequence the journal holds (after recovery).
    pub journal_last_seq: u64,
    /// The snapshots beyond it, newest first.
    pub snapshots: Vec<SnapshotEntry>,
    /// The configured durability.
    pub durability: Durability,
}

impl fmt::Display for SnapshotsBeyondEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let newest = self.snapshots.first().map_or(self.journal_last_seq, |e| e.seq);
        let files: Vec<String> = self.snapshots.iter().map(|e| e.path.display().to_string()).collect();
        write!(
            f,
            "snapshot(s) {} record the state at sequence {newest}, beyond the journal's end at sequence {}: with \
             journal.durability = \"{}\" every record a snapshot saw had been synced and acknowledged, so records \
             {}..={newest} are lost (a journal segment deleted, truncated or restored from an older copy?). \
             Nothing was changed. See docs/operations.md, \"Corrupt journal\"; to start anyway from sequence {}, \
             losing them, run matchd once with --accept-data-loss",
            files.join(", "),
            self.journal_last_seq,
            durability_name(self.durability),
            self.journal_last_seq + 1,
            self.journal_last_seq,
        )
    }
}

/// The config-file name of a durability policy.
pub fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::None => "none",
        Durability::Batch => "batch",
        Durability::Interval => "interval",
    }
}

/// How the snapshots relate to the journal's end.
#[derive(Debug, Clone)]
pub enum SnapshotJudgement {
    /// No snapshot beyond the journal's end.
    Consistent,
    /// Snapshots beyond the end, explained by `durability = "none"` (a power loss took the
    /// journal's unsynced tail): matchd sets them aside and starts from the journal's end.
    Explained(Vec<SnapshotEntry>),
    /// Acknowledged records are lost.
    Lost(SnapshotsBeyondEnd),
}

/// Judges the snapshots in `snap_dir` against a journal ending at `journal_last_seq`.
pub fn judge_snapshots(
    snap_dir: &Path,
    journal_last_seq: u64,
    durability: Durability,
) -> Result<SnapshotJudgement, SnapshotFileError> {
    // Any snapshot file counts, valid or not: it is renamed into place only once complete, so
    // its name alone proves the journal once reached that sequence.
    let beyond: Vec<SnapshotEntry> =
        snapshot::list_snapshots(snap_dir)?.into_iter().filter(|e| e.seq > journal_last_seq).collect();
    debug_assert!(beyond.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    Ok(match (beyond.is_empty(), durability) {
        (true, _) => SnapshotJudgement::Consistent,
        (false, Durability::None) => SnapshotJudgement::Explained(beyond),
        (false, _) => SnapshotJudgement::Lost(SnapshotsBeyondEnd { journal_last_seq, snapshots: beyond, durability }),
    })
}

/// Renames snapshots beyond the journal's end out of the way (`<name>.beyond-journal-end-<seq>`),
/// kept as evidence: the journal will reuse their sequence numbers for other commands, so a later
/// start must never load them, and a new snapshot must not overwrite them.
pub fn set_aside(snapshots: &[SnapshotEntry], journal_last_seq: u64) -> Result<Vec<PathBuf>, StartRefused> {
    let mut moved = Vec::with_capacity(snapshots.len());
    for e in snapshots {
        let err = |source| StartRefused::SetAside { path: e.path.clone(), source };
        let base = format!("{}.beyond-journal-end-{journal_last_seq}", e.path.display());
        let mut to = PathBuf::from(&base);
        let mut n = 1;
        while to.exists() {
            to = PathBuf::from(format!("{base}.{n}"));
            n += 1;
        }
        std::fs::rename(&e.path, &to).map_err(err)?;
        if let Some(dir) = e.path.parent() {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(err)?;
        }
        moved.push(to);
    }
    Ok(moved)
}

/// Opens the journal for matchd: works out the recovery, checks the snapshots against the end it
/// leaves, and only then lets recovery change anything. With `journal.accept_data_loss` (the
/// `--accept-data-loss` flag) a corrupt journal is cut at its first damage and snapshots beyond
/// the end are set aside, each loss logged at error level.
pub fn open_journal(
    cfg: &Config,
    dir: &Path,
    mut jcfg: JournalConfig,
) -> Result<(JournalWriter, RecoveryReport), StartRefused> {
    let accept = cfg.journal.accept_data_loss;
    if accept {
        jcfg.recovery_mode = RecoveryMode::ForceTruncate;
    }
    let journal_err = |source| StartRefused::Journal { dir: dir.to_path_buf(), source };
    let plan = JournalWriter::plan_open(dir, jcfg).map_err(journal_err)?;
    let last_seq = plan.report().last_good_seq;
    let snap_dir = snapshot::snapshot_dir(&cfg.data.dir);
    match judge_snapshots(&snap_dir, last_seq, cfg.journal.durability)? {
        SnapshotJudgement::Consistent => {}
        SnapshotJudgement::Explained(beyond) => {
            let moved = set_aside(&beyond, last_seq)?;
            tracing::warn!(
                journal_last_seq = last_seq,
                set_aside = ?moved,
                "snapshots beyond the journal's end (durability = \"none\": a power loss took the journal's unsynced \
                 tail); they were set aside and the journal's end is the state"
            );
        }
        SnapshotJudgement::Lost(lost) if accept => {
            tracing::error!("ACCEPTING DATA LOSS (--accept-data-loss): {lost}");
            let moved = set_aside(&lost.snapshots, last_seq)?;
            tracing::error!(set_aside = ?moved, "snapshots beyond the journal's end were set aside as evidence");
        }
        SnapshotJudgement::Lost(lost) => return Err(StartRefused::SnapshotsBeyondEnd(lost)),
    }
    let (writer, report) = plan.execute().map_err(journal_err)?;
    if report.lost_durable {
        log_accepted_journal_loss(&report);
    } else if accept {
        tracing::info!("--accept-data-loss: the journal lost no acknowledged record");
    }
    Ok((writer, report))
}

fn log_accepted_journal_loss(report: &RecoveryReport) {
    let Some(t) = &report.truncation else { return };
    tracing::error!(
        file = %t.file.display(),
        offset = t.offset,
        damage = %t.kind,
        durable_watermark = report.durable_watermark,
        discarded_records = t.discarded_records,
        removed_files = ?report.removed_files,
        "ACCEPTING DATA LOSS (--accept-data-loss): the journal was cut at sequence {}; records {}..={} had been \
         acknowledged and are lost; matchd continues from sequence {}",
        t.seq,
        t.seq,
        report.durable_watermark,
        report.last_good_seq,
    );
}
