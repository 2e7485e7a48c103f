//! Recovery: open the journal and rebuild, exactly, what the running pipeline had — the engine,
//! every account's report numbering and the market-data mirror — from the newest usable snapshot
//! and the journal after it. A data directory without a journal is formatted first when the
//! config allows it ([`crate::format`]); what the config added since is entered after the replay
//! ([`crate::config_additions`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use engine::command_codec::{decode, decode_engine_config, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::{Engine, Event, EventSink};
use journal::{JournalReader, JournalWriter, SyncPolicy};

use crate::config::{Config, DataCreate, Durability};
use crate::config_additions::ConfigConflict;
use crate::format::{EnterError, FormatError};
use crate::md_books::MdBooks;
use crate::reports::Reports;

/// Why the journal could not be opened or replayed.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The data directory is unusable.
    #[error("data directory {dir}: {source}")]
    DataDir {
        /// Directory.
        dir: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// No journal, and the config says only `matchd format` creates one: a new exchange needs
    /// that step, an existing one is in another directory.
    #[error(
        "data directory {dir} holds no journal and the config says data.create = \"format\": if this is a \
         new exchange, create it once with `matchd format` (same --config and --data-dir as this start); \
         if the exchange already exists, data.dir (or --data-dir) names the wrong directory"
    )]
    NotFormatted {
        /// The data directory.
        dir: PathBuf,
    },
    /// A journal directory with no record in it: not made by `matchd format`.
    #[error(
        "journal in {dir} holds no records (a first start of an older matchd that was interrupted?): \
         move {dir} aside, then run `matchd format`"
    )]
    EmptyJournal {
        /// The journal directory.
        dir: PathBuf,
    },
    /// `data.create = "auto"` and formatting the data directory failed.
    #[error("formatting the data directory: {0}")]
    Format(#[from] FormatError),
    /// The config contradicts the journal.
    #[error(transparent)]
    ConfigConflict(#[from] ConfigConflict),
    /// Entering what the config added since the format failed.
    #[error("entering the config's new instruments and accounts: {0}")]
    ConfigAdditions(#[from] EnterError),
    /// The journal could not be opened (lock held, corruption, disk).
    #[error("journal in {dir}: {source}")]
    JournalOpen {
        /// Directory.
        dir: PathBuf,
        /// Cause.
        source: journal::OpenError,
    },
    /// Reading the journal for replay failed.
    #[error("journal replay: {0}")]
    Replay(String),
    /// Syncing the config's additions failed.
    #[error("journal write: {0}")]
    JournalWrite(#[from] journal::WriteError),
    /// The journal is corrupt, or acknowledged records are lost (nothing was changed).
    #[error(transparent)]
    Refused(#[from] crate::journal_guard::StartRefused),
}

/// Statistics of the startup replay.
#[derive(Debug, Clone, Copy)]
pub struct ReplayStats {
    /// Commands applied.
    pub commands: u64,
    /// Time taken.
    pub elapsed: Duration,
}

pub use crate::format::journal_dir;

pub(crate) fn sync_policy(cfg: &Config) -> SyncPolicy {
    match cfg.journal.durability {
        Durability::None => SyncPolicy::None,
        Durability::Batch => SyncPolicy::Batch,
        Durability::Interval => SyncPolicy::Interval { ms: cfg.journal.interval_ms },
    }
}

/// Feeds replayed events into the report streams and the market-data mirror (nothing is sent).
struct ReplaySink<'a>(&'a mut Reports, &'a mut MdBooks);

impl EventSink for ReplaySink<'_> {
    #[inline]
    fn emit(&mut self, event: Event) {
        self.0.record(&event, |_| {});
        self.1.on_event(&event);
    }
}

/// What [`recover`] rebuilds from the journal.
pub struct Recovered {
    /// The journal, open for appending.
    pub writer: JournalWriter,
    /// The engine after every journaled command.
    pub engine: Engine,
    /// Every account's report stream.
    pub reports: Reports,
    /// The market-data mirror of every book (sequence numbers from 0: a new feed epoch).
    pub md: MdBooks,
    /// Replay statistics.
    pub stats: ReplayStats,
    /// Replica sets: the state hash at the last multiple of `replication.state_hash_every` the
    /// replay passed.
    pub checkpoint: Option<(u64, u128)>,
}

/// Makes sure the data directory holds a journal: formats it under `data.create = "auto"`,
/// refuses under `"format"`.
fn ensure_formatted(cfg: &Config) -> Result<(), RecoveryError> {
    let data_dir = &cfg.data.dir;
    let present = crate::format::journal_present(data_dir)
        .map_err(|source| RecoveryError::DataDir { dir: data_dir.clone(), source })?;
    match (present, cfg.data.create) {
        (true, _) => Ok(()),
        (false, DataCreate::Format) => Err(RecoveryError::NotFormatted { dir: crate::format::absolute(data_dir) }),
        (false, DataCreate::Auto) => match crate::format::format(cfg) {
            Ok(f) => {
                tracing::info!(journal = %f.journal.display(), records = f.records,
                    "no journal: data directory formatted (data.create = \"auto\")");
                Ok(())
            }
            // Formatted by someone else since the check: use theirs.
            Err(FormatError::JournalExists { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        },
    }
}

/// Opens the journal and rebuilds engine and report numbering from it (formatting the data
/// directory first if it has no journal and the config allows it). Then enters, as the admin's
/// commands, the instruments and accounts the config lists and the journal lacks.
pub fn recover(cfg: &Config) -> Result<Recovered, RecoveryError> {
    let data_dir = &cfg.data.dir;
    ensure_formatted(cfg)?;
    let dir = journal_dir(data_dir);
    let jcfg = journal::JournalConfig {
        segment_size: cfg.journal.segment_bytes,
        sync_policy: sync_policy(cfg),
        create_dir: false,
        ..Default::default()
    };
    // Checks the snapshots against the journal's end before recovery changes anything.
    let (mut writer, report) = crate::journal_guard::open_journal(cfg, &dir, jcfg)?;
    if let Some(t) = &report.truncation {
        tracing::warn!(?t, last_good_seq = report.last_good_seq, "journal: torn tail truncated");
    }
    let started = Instant::now();
    let mut engine_cfg = cfg.engine_config();
    let mut reports = Reports::new(engine_cfg.max_accounts, cfg.server.retransmit_messages_per_account as u64);
    let mut md = if cfg.market_data.order_by_order { MdBooks::new() } else { MdBooks::new().without_orders() };
    let mut commands = 0u64;
    // Replica sets compare state hashes at multiples of this (the matcher goes on from here).
    let checkpoint_every = cfg.replication.as_ref().map_or(0, |r| r.state_hash_every);
    let mut checkpoint = None;
    let engine = if writer.written_seq() == 0 {
        return Err(RecoveryError::EmptyJournal { dir });
    } else {
        // The newest valid snapshot no newer than the journal (after a power loss the
        // journal may have lost an unsynced tail a snapshot saw), then the rest.
        let snap_dir = snapshot::snapshot_dir(data_dir);
        let outcome = snapshot::load_newest_valid_at_or_before(&snap_dir, writer.written_seq())
            .map_err(|e| RecoveryError::Replay(format!("listing snapshots: {e}")))?;
        for (path, err) in &outcome.skipped {
            tracing::warn!(path = %path.display(), "snapshot skipped, using an older one or the journal: {err}");
        }
        let (mut engine, from) = match outcome.loaded {
            Some(l) => {
                reports
                    .import_state(&l.publisher)
                    .map_err(|e| RecoveryError::Replay(format!("snapshot {}: report state: {e}", l.path.display())))?;
                tracing::info!(
                    seq = l.header.seq,
                    ms = l.elapsed.as_millis() as u64,
                    path = %l.path.display(),
                    "snapshot loaded; replaying the journal after it"
                );
                // The market-data mirror follows events; none before the snapshot are
                // replayed, so it starts from the restored books.
                md = MdBooks::from_engine(&l.engine);
                reports.route_oracle_reports_to(l.engine.config().oracle_account);
                if !cfg.market_data.order_by_order {
                    md = md.without_orders();
                }
                (Some(l.engine), l.header.seq + 1)
            }
            None => (None, report.first_seq),
        };
        let mut reader = JournalReader::open(&dir, from).map_err(|e| RecoveryError::Replay(e.to_string()))?;
        let last = writer.written_seq();
        while reader.next_seq() <= last {
            let rec = match reader.next() {
                Ok(Some(r)) => r,
                Ok(None) => {
                    return Err(RecoveryError::Replay(format!("journal ends at {} before {last}", reader.next_seq())))
                }
                Err(e) => return Err(RecoveryError::Replay(e.to_string())),
            };
            match (rec.record_type, engine.as_mut()) {
                (RECORD_ENGINE_CONFIG, None) => {
                    let jc = decode_engine_config(rec.payload)
                        .map_err(|e| RecoveryError::Replay(format!("engine config record at seq {}: {e}", rec.seq)))?;
                    if jc != engine_cfg {
                        tracing::warn!(journal = ?jc, config = ?engine_cfg, "engine capacities differ from the config file: the journal's win (replay must rebuild the same state)");
                    }
                    engine_cfg = jc;
                    reports.route_oracle_reports_to(jc.oracle_account);
                    let mut e = Engine::new(jc);
                    e.skip(rec.seq);
                    engine = Some(e);
                }
                (RECORD_COMMAND, Some(e)) => {
                    let cmd = decode(rec.payload).map_err(|err| {
                        RecoveryError::Replay(format!(
                            "undecodable command at seq {} (segment {}, offset {}): {err}",
                            rec.seq, rec.segment_first_seq, rec.offset
                        ))
                    })?;
                    e.apply(rec.seq, &cmd, &mut ReplaySink(&mut reports, &mut md));
                    commands += 1;
                    if checkpoint_every > 0 && rec.seq % checkpoint_every == 0 {
                        checkpoint = Some((rec.seq, e.state_hash()));
                    }
                }
                (t, _) => {
                    return Err(RecoveryError::Replay(format!(
                        "unexpected record type {t} at seq {} (segment {}, offset {})",
                        rec.seq, rec.segment_first_seq, rec.offset
                    )))
                }
            }
        }
        engine.ok_or_else(|| RecoveryError::Replay("journal has no engine config record".into()))?
    };
    let _ = engine_cfg;
    let mut engine = engine;
    commands += enter_config_additions(cfg, &mut writer, &mut engine, &mut ReplaySink(&mut reports, &mut md))?;
    md.start_epoch();
    Ok(Recovered {
        writer,
        engine,
        reports,
        md,
        stats: ReplayStats { commands, elapsed: started.elapsed() },
        checkpoint,
    })
}

/// Journals and applies what the config lists and the journal lacks (new instruments, accounts),
/// synced before anything else runs; returns how many commands that was.
fn enter_config_additions(
    cfg: &Config,
    writer: &mut JournalWriter,
    engine: &mut Engine,
    sink: &mut ReplaySink<'_>,
) -> Result<u64, RecoveryError> {
    let kinds = crate::config_additions::missing_commands(cfg, engine)?;
    if kinds.is_empty() {
        return Ok(0);
    }
    if cfg.replication.is_some() {
        // Only a leader may append, and recovery does not know yet who leads: in a replica set
        // instruments and accounts are added with admin commands (matchctl), or at format.
        tracing::warn!(
            missing = kinds.len(),
            "replication: the config lists instruments or accounts the journal lacks; a replica set does not enter              them at start: add them with matchctl (admin commands)"
        );
        return Ok(0);
    }
    let admin = crate::format::admin_account(cfg);
    let applied = crate::format::enter_admin_commands(writer, engine, sink, admin, kinds)?;
    writer.sync_now()?;
    assert_eq!(engine.last_seq(), writer.written_seq());
    Ok(applied)
}
