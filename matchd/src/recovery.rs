//! Recovery: open the journal and rebuild, exactly, what the running pipeline had — the engine,
//! every account's report numbering and the market-data mirror — from the newest usable snapshot
//! and the journal after it. A fresh journal gets the exchange's "initialize" records first.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engine::command_codec::{
    decode, decode_engine_config, encode, encode_engine_config, MAX_COMMAND_BYTES, RECORD_COMMAND, RECORD_ENGINE_CONFIG,
};
use engine::{Command, CommandKind, Engine, Event, EventSink};
use gateway::clock::now_ns;
use journal::{JournalReader, JournalWriter, SyncPolicy};

use crate::config::{Config, Durability, Role};
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
    /// Writing the initial records failed.
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

/// Files under the data directory.
pub fn journal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

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
}

/// Passes events on and remembers a rejection (of the initial commands, logged).
struct CheckRejects<'a, S> {
    inner: &'a mut S,
    rejected: Option<engine::Rejected>,
}

impl<S: EventSink> EventSink for CheckRejects<'_, S> {
    fn emit(&mut self, event: Event) {
        if let engine::EventKind::Rejected(r) = event.kind {
            self.rejected = Some(r);
        }
        self.inner.emit(event);
    }
}

/// Opens the journal and rebuilds engine and report numbering from it. On a
/// fresh journal, enters the engine capacities, the configured instruments
/// and, in risk mode, the configured fee schedules, accounts and deposits as
/// the first records (the exchange's "initialize" step).
pub fn recover(cfg: &Config) -> Result<Recovered, RecoveryError> {
    let data_dir = &cfg.data.dir;
    std::fs::create_dir_all(data_dir).map_err(|source| RecoveryError::DataDir { dir: data_dir.clone(), source })?;
    let dir = journal_dir(data_dir);
    let jcfg = journal::JournalConfig {
        segment_size: cfg.journal.segment_bytes,
        sync_policy: sync_policy(cfg),
        create_dir: true,
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
    let engine = if writer.written_seq() == 0 {
        tracing::info!(dir = %dir.display(), "new journal: entering engine capacities and configured instruments");
        let config_seq = writer.append(RECORD_ENGINE_CONFIG, &encode_engine_config(&engine_cfg))?;
        let mut engine = Engine::new(engine_cfg);
        engine.skip(config_seq);
        let admin = cfg.accounts.iter().find(|a| a.role == Role::Admin).map_or(0, |a| a.id);
        let mut buf = [0u8; MAX_COMMAND_BYTES];
        let mut sink = ReplaySink(&mut reports, &mut md);
        // Instruments, then (risk mode) fee schedules, accounts and initial deposits: admin
        // commands like any other, so a replay rebuilds them.
        let initial = cfg.instrument_specs().into_iter().map(CommandKind::AddInstrument);
        for kind in initial.chain(cfg.initial_account_commands()) {
            let cmd = Command { account: admin, timestamp_ns: now_ns(), kind };
            let n = encode(&cmd, &mut buf);
            let seq = writer.append(RECORD_COMMAND, &buf[..n])?;
            let mut events = CheckRejects { inner: &mut sink, rejected: None };
            engine.apply(seq, &cmd, &mut events);
            if let Some(r) = events.rejected {
                tracing::warn!(seq, command = ?cmd.kind, reason = ?r.reason, "initial command from the config was rejected");
            }
            commands += 1;
        }
        if !engine_cfg.risk_checks
            && (cfg.accounts.iter().any(|a| !a.deposits.is_empty() || a.tier != 0)
                || cfg.instruments.iter().any(|i| i.fee_schedule().is_some()))
        {
            tracing::warn!("engine.risk_checks is off: configured deposits, tiers and fees are not used");
        }
        writer.sync_now()?;
        engine
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
    md.start_epoch();
    Ok(Recovered { writer, engine, reports, md, stats: ReplayStats { commands, elapsed: started.elapsed() } })
}
