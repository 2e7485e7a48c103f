//! `matchd format`: creates an exchange in a data directory — the journal with its initial
//! records (engine capacities, the configured instruments, and in risk mode their fee schedules,
//! the accounts and their deposits). The journal is written under another name and renamed into
//! place once synced, so a data directory holds a complete journal or none; and a directory that
//! holds one is never formatted again.

use std::path::{Path, PathBuf};

use engine::command_codec::{encode, encode_engine_config, MAX_COMMAND_BYTES, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::{Command, CommandKind, Engine, Event, EventSink};
use gateway::clock::now_ns;
use journal::{JournalWriter, SyncPolicy};

use crate::config::{Config, Role};

/// The journal's directory under the data directory.
pub fn journal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

/// Name of the journal directory while `format` writes it (inside the data directory).
const FORMAT_TMP_NAME: &str = "journal.format";

/// Why `format` did not create an exchange.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The data directory already holds an exchange: nothing was changed.
    #[error(
        "{journal} already holds a journal: refusing to format over an existing exchange (to start a new \
         one instead, stop matchd and move {data} aside first)"
    )]
    JournalExists {
        /// The journal directory.
        journal: PathBuf,
        /// The data directory.
        data: PathBuf,
    },
    /// Snapshots without a journal: a damaged or half-deleted exchange, not an empty directory.
    #[error(
        "{snapshots} holds snapshots but {data} has no journal: refusing to format (a new journal would \
         meet an old exchange's snapshots); move {data} aside or restore its journal"
    )]
    SnapshotsExist {
        /// The snapshot directory.
        snapshots: PathBuf,
        /// The data directory.
        data: PathBuf,
    },
    /// The data directory cannot be created, read or locked.
    #[error("data directory {dir}: {what}: {source}")]
    DataDir {
        /// Directory.
        dir: PathBuf,
        /// What was being done.
        what: &'static str,
        /// OS error.
        source: std::io::Error,
    },
    /// Another `format` (or an auto-formatting start) holds the data directory's lock.
    #[error("data directory {dir}: {source}")]
    Locked {
        /// Directory.
        dir: PathBuf,
        /// Cause.
        source: journal::LockError,
    },
    /// The new journal could not be created.
    #[error("new journal in {dir}: {source}")]
    JournalOpen {
        /// Directory.
        dir: PathBuf,
        /// Cause.
        source: journal::OpenError,
    },
    /// Writing or syncing the initial records failed (nothing was renamed into place).
    #[error(transparent)]
    Enter(#[from] EnterError),
}

/// Why [`enter_admin_commands`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum EnterError {
    /// The journal write failed.
    #[error("journal write: {0}")]
    Write(#[from] journal::WriteError),
    /// The engine refused a command the config asked for (the config's checks missed a case).
    #[error("the engine rejected {command} (journal sequence {seq}): {reason:?}")]
    Rejected {
        /// The command, as debug text.
        command: String,
        /// Its journal sequence.
        seq: u64,
        /// Why.
        reason: engine::RejectReason,
    },
}

/// What `format` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatted {
    /// The journal directory now in place.
    pub journal: PathBuf,
    /// Records written: the engine capacities and one per command.
    pub records: u64,
    /// Instruments entered.
    pub instruments: usize,
    /// Risk mode: fee schedules entered.
    pub fee_schedules: usize,
    /// Risk mode: accounts created.
    pub accounts: usize,
    /// Risk mode: deposits entered.
    pub deposits: usize,
}

impl std::fmt::Display for Formatted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "formatted {}: engine capacities, {} instruments, {} fee schedules, {} accounts, {} deposits ({} records)",
            self.journal.display(),
            self.instruments,
            self.fee_schedules,
            self.accounts,
            self.deposits,
            self.records
        )
    }
}

/// Whether the data directory holds an exchange: a journal directory with anything in it
/// (an empty one, e.g. made by hand, counts as none).
pub fn journal_present(data_dir: &Path) -> std::io::Result<bool> {
    dir_has_entries(&journal_dir(data_dir))
}

fn dir_has_entries(dir: &Path) -> std::io::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        // A file where the directory should be is "something there", never formatted over.
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(true),
        Err(e) => Err(e),
    }
}

/// Creates `cfg.data.dir` (if missing) and the exchange's journal in it with the initial records;
/// refuses if the directory already holds a journal or snapshots. Whatever `journal.durability`
/// says, the records are synced before the journal is renamed into place.
pub fn format(cfg: &Config) -> Result<Formatted, FormatError> {
    let data = cfg.data.dir.clone();
    let io_err = |what: &'static str| {
        let dir = data.clone();
        move |source| FormatError::DataDir { dir, what, source }
    };
    create_dir_durably(&data).map_err(io_err("creating it"))?;
    // Serialises formats of one directory (two `matchd format`s, or one and an auto start).
    let _lock = journal::DirLock::acquire(&data).map_err(|source| FormatError::Locked { dir: data.clone(), source })?;
    let journal = journal_dir(&data);
    if journal_present(&data).map_err(io_err("reading it"))? {
        return Err(FormatError::JournalExists { journal: absolute(&journal), data: absolute(&data) });
    }
    let snapshots = snapshot::snapshot_dir(&data);
    if dir_has_entries(&snapshots).map_err(io_err("reading it"))? {
        return Err(FormatError::SnapshotsExist { snapshots: absolute(&snapshots), data: absolute(&data) });
    }
    let tmp = data.join(FORMAT_TMP_NAME);
    // Left by a format that was interrupted: it never became the journal.
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err("removing an interrupted format's journal.format"))?;
    }
    let written = write_initial_journal(cfg, &tmp)?;
    // `rename` replaces an empty directory, and is atomic: the journal appears complete or not at all.
    std::fs::rename(&tmp, &journal).map_err(io_err("renaming journal.format to journal"))?;
    sync_dir(&data).map_err(io_err("syncing it"))?;
    debug_assert!(journal_present(&data).unwrap_or(false));
    Ok(Formatted { journal, ..written })
}

/// Writes the initial records into a new journal in `dir` and syncs them.
fn write_initial_journal(cfg: &Config, dir: &Path) -> Result<Formatted, FormatError> {
    let jcfg = journal::JournalConfig {
        segment_size: cfg.journal.segment_bytes,
        sync_policy: SyncPolicy::Batch,
        create_dir: true,
        ..Default::default()
    };
    let (mut writer, _) =
        JournalWriter::open(dir, jcfg).map_err(|source| FormatError::JournalOpen { dir: dir.into(), source })?;
    assert_eq!(writer.written_seq(), 0, "a new journal directory holds no records");
    let engine_cfg = cfg.engine_config();
    let config_seq =
        writer.append(RECORD_ENGINE_CONFIG, &encode_engine_config(&engine_cfg)).map_err(EnterError::from)?;
    let mut engine = Engine::new(engine_cfg);
    engine.skip(config_seq);
    let instruments: Vec<CommandKind> = cfg.instrument_specs().into_iter().map(CommandKind::AddInstrument).collect();
    let account_commands = cfg.initial_account_commands();
    let count = |want: fn(&CommandKind) -> bool| account_commands.iter().filter(|k| want(k)).count();
    let fee_schedules = count(|k| matches!(k, CommandKind::SetFeeSchedule(_)));
    let accounts = count(|k| matches!(k, CommandKind::CreateAccount(_)));
    let deposits = count(|k| matches!(k, CommandKind::Deposit(_)));
    let (n_instruments, n_accounts) = (instruments.len(), account_commands.len());
    assert_eq!(fee_schedules + accounts + deposits, n_accounts);
    // Instruments, then (risk mode) fee schedules, accounts and initial deposits: admin commands
    // like any other, so a replay rebuilds them.
    let kinds = instruments.into_iter().chain(account_commands);
    enter_admin_commands(&mut writer, &mut engine, &mut NoSink, admin_account(cfg), kinds)?;
    if !engine_cfg.risk_checks
        && (cfg.accounts.iter().any(|a| !a.deposits.is_empty() || a.tier != 0)
            || cfg.instruments.iter().any(|i| i.fee_schedule().is_some()))
    {
        tracing::warn!("engine.risk_checks is off: configured deposits, tiers and fees are not used");
    }
    writer.sync_now().map_err(EnterError::from)?;
    let records = writer.close().map_err(EnterError::from)?;
    assert_eq!(records, 1 + (n_instruments + n_accounts) as u64);
    Ok(Formatted { journal: dir.into(), records, instruments: n_instruments, fee_schedules, accounts, deposits })
}

/// The account the config's commands are sent as: the first admin (0 without one).
pub fn admin_account(cfg: &Config) -> u32 {
    cfg.accounts.iter().find(|a| a.role == Role::Admin).map_or(0, |a| a.id)
}

/// Appends each command as `admin`'s, applies it to `engine` (events to `sink`), and stops at the
/// first one the engine rejects; returns how many were applied. The caller syncs.
pub fn enter_admin_commands<S: EventSink>(
    writer: &mut JournalWriter,
    engine: &mut Engine,
    sink: &mut S,
    admin: u32,
    kinds: impl IntoIterator<Item = CommandKind>,
) -> Result<u64, EnterError> {
    let mut buf = [0u8; MAX_COMMAND_BYTES];
    let mut applied = 0;
    for kind in kinds {
        let cmd = Command { account: admin, timestamp_ns: now_ns(), kind };
        let n = encode(&cmd, &mut buf);
        let seq = writer.append(RECORD_COMMAND, &buf[..n])?;
        let mut events = CheckRejects { inner: sink, rejected: None };
        engine.apply(seq, &cmd, &mut events);
        if let Some(reason) = events.rejected {
            return Err(EnterError::Rejected { command: format!("{:?}", cmd.kind), seq, reason });
        }
        applied += 1;
    }
    debug_assert_eq!(engine.last_seq(), writer.written_seq());
    Ok(applied)
}

/// Passes events on and remembers a rejection.
struct CheckRejects<'a, S> {
    inner: &'a mut S,
    rejected: Option<engine::RejectReason>,
}

impl<S: EventSink> EventSink for CheckRejects<'_, S> {
    fn emit(&mut self, event: Event) {
        if let engine::EventKind::Rejected(r) = event.kind {
            self.rejected = Some(r.reason);
        }
        self.inner.emit(event);
    }
}

/// Format's engine only checks the commands: nobody is listening to its events.
struct NoSink;

impl EventSink for NoSink {
    fn emit(&mut self, _: Event) {}
}

/// `create_dir_all`, and the new directory's entry synced in its parent.
fn create_dir_durably(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// `path` made absolute for messages (a relative data directory depends on the working directory).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(data: &Path) -> Config {
        let mut cfg = Config::default_config();
        cfg.data.dir = data.to_path_buf();
        cfg.journal.segment_bytes = 1 << 20;
        cfg
    }

    #[test]
    fn format_writes_the_initial_records_once() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = config(&tmp.path().join("a/b"));
        let f = format(&cfg).unwrap();
        assert_eq!((f.instruments, f.fee_schedules, f.accounts, f.deposits), (2, 2, 3, 6));
        assert_eq!(f.records, 1 + 2 + 11);
        assert!(journal_present(&cfg.data.dir).unwrap());
        assert!(!cfg.data.dir.join(FORMAT_TMP_NAME).exists());
        assert!(matches!(format(&cfg), Err(FormatError::JournalExists { .. })));
    }

    #[test]
    fn an_empty_journal_directory_or_an_interrupted_format_is_no_exchange() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = config(tmp.path());
        std::fs::create_dir(journal_dir(tmp.path())).unwrap();
        std::fs::create_dir(tmp.path().join(FORMAT_TMP_NAME)).unwrap();
        std::fs::write(tmp.path().join(FORMAT_TMP_NAME).join("00000000000000000001.seg"), b"half").unwrap();
        assert!(!journal_present(tmp.path()).unwrap());
        assert_eq!(format(&cfg).unwrap().records, 14);
        assert!(!tmp.path().join(FORMAT_TMP_NAME).exists());
    }

    #[test]
    fn snapshots_without_a_journal_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let snaps = snapshot::snapshot_dir(tmp.path());
        std::fs::create_dir_all(&snaps).unwrap();
        std::fs::write(snaps.join("snapshot-00000000000000000100.snap"), b"old").unwrap();
        let err = format(&config(tmp.path())).unwrap_err();
        assert!(matches!(err, FormatError::SnapshotsExist { .. }), "{err}");
        assert!(!journal_dir(tmp.path()).exists());
    }
}
