//! The projector's input: matchd's journal, read (never written) from its data directory, applied
//! to the projector's own engine. The same journal gives the same commands, hence the same events
//! and the same rows; the engine's `state_hash()` proves the journal is the one the checkpoint
//! was made from.

use std::path::{Path, PathBuf};

use engine::command_codec::{decode, decode_engine_config, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::{Command, Engine, Event, Seq};
use journal::JournalReader;

/// Why the projector's engine could not be brought to the checkpoint, or the journal read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The database holds rows the journal does not: it was restored from a later backup, or the
    /// projector points at another (or older) journal. Nothing was written.
    #[error(
        "the database is ahead of the journal: its checkpoint is journal record {checkpoint}, but the journal in \
         {dir} ends at record {journal_end}; point --data-dir at the journal the database was projected from \
         (or a replica that has caught up), or project into an empty database"
    )]
    DatabaseAhead {
        /// The database's checkpoint.
        checkpoint: Seq,
        /// The journal's last record.
        journal_end: Seq,
        /// The journal directory.
        dir: PathBuf,
    },
    /// The journal at the checkpoint is not the journal the database was projected from (another
    /// exchange's data directory, or a journal rewritten since). Nothing was written.
    #[error(
        "the journal in {dir} does not match the database: at journal record {seq} the database's checkpoint \
         has state hash {checkpoint:032x}, the journal replayed to there gives {journal:032x}; point --data-dir at \
         the journal the database was projected from, or project into an empty database"
    )]
    StateHashMismatch {
        /// The checkpoint.
        seq: Seq,
        /// The hash the database recorded.
        checkpoint: u128,
        /// The hash of the journal replayed to `seq`.
        journal: u128,
        /// The journal directory.
        dir: PathBuf,
    },
    /// The journal no longer starts at record 1 and no snapshot at or before the checkpoint
    /// exists: the history between is gone.
    #[error(
        "the journal in {dir} starts at record {first} and no usable snapshot at or before journal record \
         {checkpoint} exists in {snapshots}: the projector needs every record after its checkpoint (an empty \
         database needs the journal from record 1)"
    )]
    HistoryMissing {
        /// The checkpoint (0: an empty database).
        checkpoint: Seq,
        /// The journal's first record.
        first: Seq,
        /// The journal directory.
        dir: PathBuf,
        /// The snapshot directory.
        snapshots: PathBuf,
    },
    /// The journal could not be read (missing directory, corruption, I/O).
    #[error("reading the journal in {dir}: {source}")]
    Journal {
        /// The journal directory.
        dir: PathBuf,
        /// Cause.
        source: journal::ReadError,
    },
    /// A record could not be decoded.
    #[error("journal record {seq}: {what}")]
    Record {
        /// The record.
        seq: Seq,
        /// What is wrong.
        what: String,
    },
    /// The snapshot directory could not be listed.
    #[error("snapshots: {0}")]
    Snapshot(String),
}

/// One journal record applied.
#[derive(Debug, Clone, Copy)]
pub enum Applied {
    /// A command (its events are in the caller's vector).
    Command(Seq, Command),
    /// A record that is not a command (the engine-config record, kinds added later): it only
    /// advances the sequence.
    Other(Seq),
}

/// The journal and the engine that follows it.
pub struct Source {
    reader: JournalReader,
    engine: Option<Engine>,
    dir: PathBuf,
}

/// `<data_dir>/journal`, as matchd lays it out.
pub fn journal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

impl Source {
    /// The engine at `checkpoint` (0: before the first record), from the newest snapshot at or
    /// before it and the journal after that, its state hash checked against `checkpoint_hash`.
    pub fn at_checkpoint(
        data_dir: &Path,
        checkpoint: Seq,
        checkpoint_hash: Option<u128>,
    ) -> Result<Source, SourceError> {
        let dir = journal_dir(data_dir);
        let mut source = Source::open_base(data_dir, checkpoint)?;
        source.replay_to(checkpoint)?;
        let engine_seq = source.engine.as_ref().map_or(0, |e| e.last_seq());
        assert_eq!(engine_seq, checkpoint, "replay_to stops at the checkpoint");
        if let (Some(want), Some(engine)) = (checkpoint_hash, source.engine.as_ref()) {
            let journal = engine.state_hash();
            if journal != want {
                return Err(SourceError::StateHashMismatch { seq: checkpoint, checkpoint: want, journal, dir });
            }
        }
        Ok(source)
    }

    /// The journal positioned after the newest snapshot at or before `checkpoint` (the engine
    /// restored from it), or at the journal's first record (no engine yet).
    fn open_base(data_dir: &Path, checkpoint: Seq) -> Result<Source, SourceError> {
        let dir = journal_dir(data_dir);
        let snapshots = snapshot::snapshot_dir(data_dir);
        let loaded = if checkpoint == 0 {
            None
        } else {
            let outcome = snapshot::load_newest_valid_at_or_before(&snapshots, checkpoint)
                .map_err(|e| SourceError::Snapshot(e.to_string()))?;
            for (path, err) in &outcome.skipped {
                tracing::warn!(path = %path.display(), "snapshot skipped, using an older one or the journal: {err}");
            }
            outcome.loaded
        };
        let journal_err = |source| SourceError::Journal { dir: dir.clone(), source };
        let (engine, from) = match loaded {
            Some(l) => {
                tracing::info!(seq = l.header.seq, path = %l.path.display(), "snapshot loaded; replaying the journal after it");
                (Some(l.engine), l.header.seq + 1)
            }
            None => (None, 1),
        };
        let reader = match JournalReader::open(&dir, from) {
            Ok(r) => r,
            Err(journal::ReadError::BeforeStart { first, .. }) => {
                return Err(SourceError::HistoryMissing { checkpoint, first, dir, snapshots })
            }
            Err(journal::ReadError::BeyondEnd { next, .. }) => {
                return Err(SourceError::DatabaseAhead { checkpoint, journal_end: next.saturating_sub(1), dir })
            }
            Err(e) => return Err(journal_err(e)),
        };
        Ok(Source { reader, engine, dir })
    }

    /// Applies records up to and including `checkpoint`, discarding their events.
    fn replay_to(&mut self, checkpoint: Seq) -> Result<(), SourceError> {
        let mut events = Vec::new();
        while self.reader.next_seq() <= checkpoint {
            events.clear();
            if self.next(&mut events)?.is_none() {
                let journal_end = self.reader.next_seq() - 1;
                return Err(SourceError::DatabaseAhead { checkpoint, journal_end, dir: self.dir.clone() });
            }
        }
        Ok(())
    }

    /// The engine (once the engine-config record was read).
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sequence number of the next record.
    pub fn next_seq(&self) -> Seq {
        self.reader.next_seq()
    }

    /// Applies the next record, its events appended to `events`; `None` if the writer has not
    /// written it yet.
    pub fn next(&mut self, events: &mut Vec<Event>) -> Result<Option<Applied>, SourceError> {
        let rec = match self.reader.next() {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(None),
            Err(source) => return Err(SourceError::Journal { dir: self.dir.clone(), source }),
        };
        let seq = rec.seq;
        match (rec.record_type, self.engine.as_mut()) {
            (RECORD_ENGINE_CONFIG, None) => {
                let cfg = decode_engine_config(rec.payload)
                    .map_err(|e| SourceError::Record { seq, what: format!("engine config record: {e}") })?;
                let mut e = Engine::new(cfg);
                e.skip(seq);
                self.engine = Some(e);
                Ok(Some(Applied::Other(seq)))
            }
            (RECORD_COMMAND, Some(engine)) => {
                let cmd = decode(rec.payload)
                    .map_err(|e| SourceError::Record { seq, what: format!("undecodable command: {e}") })?;
                engine.apply(seq, &cmd, events);
                Ok(Some(Applied::Command(seq, cmd)))
            }
            (_, None) => Err(SourceError::Record {
                seq,
                what: format!("record type {} before the engine-config record", rec.record_type),
            }),
            (t, Some(engine)) => {
                // A kind this projector does not know (e.g. a later replication marker): it
                // changes no state this engine has; the state hash at the next restart checks it.
                tracing::debug!(seq, record_type = t, "journal record skipped");
                engine.skip(seq);
                Ok(Some(Applied::Other(seq)))
            }
        }
    }
}
