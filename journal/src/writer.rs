//! The journal writer: append without syncing, commit per the durability
//! policy, roll over to pre-created segments.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::JournalConfig;
use crate::dir_lock::DirLock;
use crate::durability::SyncPolicy;
use crate::error::{OpenError, StorageError, WriteError};
use crate::prealloc::{Job, Prealloc, Spare};
use crate::record::{encode, padded_record_len, publish_u32, END_OF_SEGMENT, OFF_LEN};
use crate::recovery::{analyze, apply, Plan, RecoveryReport};
use crate::segment::{
    raise_watermark, segment_file_name, spare_file_name, write_header, write_watermark, SEGMENT_HEADER_LEN,
};
use crate::storage::{FileStorage, SegmentMut, Storage};
use crate::Seq;

/// The segment being appended to.
struct Active<Seg> {
    seg: Seg,
    first_seq: Seq,
    size: usize,
    /// Next write offset.
    off: usize,
    /// Watermark slot to write next (alternates, see `segment.rs`).
    slot: usize,
}

/// Appends records to a journal directory. One per directory (enforced by
/// a lock file when opened with [`JournalWriter::open`]).
///
/// The journaller thread calls [`append`](Self::append) for each command of
/// a batch, then [`commit`](Self::commit) once. `append` neither allocates
/// nor makes a system call; `commit` syncs per the [`SyncPolicy`].
pub struct JournalWriter<S: Storage = FileStorage> {
    storage: Arc<S>,
    config: JournalConfig,
    current: Active<S::Segment>,
    /// Segments rolled away from whose tail is not yet synced.
    retired: Vec<Active<S::Segment>>,
    /// Spares rolled into (spare id, first sequence), renamed at the next commit.
    renames: Vec<(u64, Seq)>,
    /// Under `none`: segments rolled away from (first sequence, size), no
    /// longer mapped, whose headers do not yet record that the log went on
    /// past them; marked by the helper after the next sync.
    unmarked: Vec<(Seq, u64)>,
    /// Work for the helper thread, handed over at the next commit.
    jobs: Vec<Job<S::Segment>>,
    written: Seq,
    /// Durable per the policy (what `commit` returns).
    durable: Seq,
    /// Durable on stable storage: the only value ever stored in headers,
    /// so that recovery's rule means the same under every policy.
    synced: Seq,
    /// Watermark value last stored in the current header.
    header_watermark: Seq,
    last_sync: Instant,
    interval: Duration,
    poisoned: Option<String>,
    slow_rollovers: u64,
    /// `SyncDrop` jobs handed to the helper (policy `none`).
    sync_drops_submitted: u64,
    // Drop order: the helper joins before the lock is released.
    prealloc: Prealloc<S>,
    _lock: Option<DirLock>,
}

/// A journal locked for writing whose recovery has been worked out but not
/// yet carried out: nothing on disk has changed. The caller looks at
/// [`OpenPlan::report`] (matchd checks its snapshots against the end the
/// log will have) and then either [`OpenPlan::execute`]s it or drops it,
/// which releases the lock and leaves every file as it was.
pub struct OpenPlan<S: Storage = FileStorage> {
    storage: S,
    config: JournalConfig,
    plan: Plan<S::ReadSegment>,
    lock: Option<DirLock>,
}

impl<S: Storage> OpenPlan<S> {
    /// What recovery found and will do: the report
    /// [`OpenPlan::execute`] returns.
    pub fn report(&self) -> &RecoveryReport {
        &self.plan.report
    }

    /// Carries out the recovery and opens the writer.
    pub fn execute(self) -> Result<(JournalWriter<S>, RecoveryReport), OpenError> {
        let OpenPlan { storage, config, plan, lock } = self;
        let (mut writer, report) = JournalWriter::start(storage, config, plan)?;
        writer._lock = lock;
        Ok((writer, report))
    }
}

impl JournalWriter<FileStorage> {
    /// Opens (or creates) the journal in `dir` for writing: takes the
    /// directory lock, runs recovery, and returns what recovery did.
    pub fn open(dir: impl AsRef<Path>, config: JournalConfig) -> Result<(Self, RecoveryReport), OpenError> {
        Self::plan_open(dir, config)?.execute()
    }

    /// The first half of [`JournalWriter::open`]: takes the directory lock
    /// and works out the recovery, changing nothing yet. Refuses on
    /// corruption exactly as `open` does.
    pub fn plan_open(dir: impl AsRef<Path>, config: JournalConfig) -> Result<OpenPlan, OpenError> {
        config.validate()?;
        let dir = dir.as_ref();
        ensure_dir(dir, config.create_dir)?;
        let lock = DirLock::acquire(dir)?;
        let mut plan = Self::plan_open_with_storage(FileStorage::open(dir)?, config)?;
        plan.lock = Some(lock);
        Ok(plan)
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        self.storage.dir()
    }
}

fn ensure_dir(dir: &Path, create: bool) -> Result<(), OpenError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(OpenError::NotADirectory { dir: dir.to_path_buf() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !create {
                return Err(OpenError::DirMissing { dir: dir.to_path_buf() });
            }
            std::fs::create_dir_all(dir).map_err(|e| StorageError::from_io("creating directory", dir, e))?;
            // Make the new directory's entry durable in its parent.
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::File::open(parent)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| StorageError::from_io("syncing directory", parent, e))?;
            }
            Ok(())
        }
        Err(e) => Err(StorageError::from_io("inspecting directory", dir, e).into()),
    }
}

impl<S: Storage> JournalWriter<S> {
    /// Opens the journal on any [`Storage`] (no directory lock: the caller
    /// guarantees a single writer). Used with the test double.
    pub fn open_with_storage(storage: S, config: JournalConfig) -> Result<(Self, RecoveryReport), OpenError> {
        Self::plan_open_with_storage(storage, config)?.execute()
    }

    /// [`JournalWriter::plan_open`] on any [`Storage`] (no directory lock).
    pub fn plan_open_with_storage(storage: S, config: JournalConfig) -> Result<OpenPlan<S>, OpenError> {
        config.validate()?;
        let plan = analyze(&storage, &config)?;
        Ok(OpenPlan { storage, config, plan, lock: None })
    }

    fn start(
        storage: S,
        config: JournalConfig,
        plan: Plan<S::ReadSegment>,
    ) -> Result<(Self, RecoveryReport), OpenError> {
        let storage = Arc::new(storage);
        let recovered = apply(&*storage, plan)?;
        let last_good = recovered.next_seq - 1;
        let prealloc = Prealloc::start(Arc::clone(&storage), config.segment_size, config.pretouch)?;
        let current = match recovered.tail {
            // A sealed tail (its successor never reached the disk) gets its
            // successor now, so the log never ends in a sealed segment.
            Some(t) if t.write_off < t.size => {
                Active { seg: t.seg, first_seq: t.first_seq, size: t.size, off: t.write_off, slot: 0 }
            }
            tail => {
                // Empty journal or sealed tail: a new segment, created like any other.
                let prev_first_seq = tail.map_or(0, |t| t.first_seq);
                let (spare, _) = prealloc.take()?;
                let id = spare.id;
                let mut active = promote(spare, recovered.next_seq, prev_first_seq, last_good, config.segment_size);
                active.seg.sync(0, SEGMENT_HEADER_LEN)?;
                storage.rename(&spare_file_name(id), &segment_file_name(recovered.next_seq))?;
                storage.sync_dir()?;
                active
            }
        };
        let interval = match config.sync_policy {
            SyncPolicy::Interval { ms } => Duration::from_millis(ms),
            _ => Duration::ZERO,
        };
        let writer = JournalWriter {
            storage,
            config,
            current,
            retired: Vec::with_capacity(8),
            renames: Vec::with_capacity(8),
            unmarked: Vec::with_capacity(8),
            jobs: Vec::with_capacity(16),
            written: last_good,
            durable: last_good,
            synced: last_good,
            header_watermark: last_good,
            last_sync: Instant::now(),
            interval,
            poisoned: None,
            slow_rollovers: 0,
            sync_drops_submitted: 0,
            prealloc,
            _lock: None,
        };
        Ok((writer, recovered.report))
    }

    /// Appends one record without syncing; returns its sequence number.
    ///
    /// Neither allocates nor makes a system call (rollover switches to a
    /// segment the helper thread pre-created). On error nothing was appended.
    #[inline]
    pub fn append(&mut self, record_type: u8, payload: &[u8]) -> Result<Seq, WriteError> {
        if let Some(cause) = &self.poisoned {
            return Err(WriteError::Poisoned(cause.clone()));
        }
        let padded = padded_record_len(payload.len());
        if self.current.off + padded > self.current.size {
            self.rollover(payload.len())?;
        }
        let seq = self.written + 1;
        let off = self.current.off;
        encode(&mut self.current.seg.bytes_mut()[off..off + padded], seq, record_type, payload);
        self.current.off = off + padded;
        self.written = seq;
        Ok(seq)
    }

    #[cold]
    #[inline(never)]
    fn rollover(&mut self, payload_len: usize) -> Result<(), WriteError> {
        let max = self.config.max_payload();
        if payload_len > max {
            return Err(WriteError::PayloadTooLarge { len: payload_len, max });
        }
        let first_seq = self.written + 1;
        let (spare, slow) = self.prealloc.take().map_err(WriteError::Rollover)?;
        self.slow_rollovers += u64::from(slow);
        let id = spare.id;
        let next = promote(
            spare,
            first_seq,
            self.current.first_seq,
            // Already true on disk.
            self.synced,
            self.config.segment_size,
        );
        // Tell tailing readers to move on (see `record::END_OF_SEGMENT`).
        let old = &mut self.current;
        if old.off + OFF_LEN + 4 <= old.size {
            let at = old.off + OFF_LEN;
            publish_u32(&mut old.seg.bytes_mut()[at..at + 4], END_OF_SEGMENT);
        }
        let old = std::mem::replace(&mut self.current, next);
        self.header_watermark = self.synced;
        // Pushes stay within the reserved capacity unless one batch spans
        // more segments than that, which only tiny segments make possible.
        self.retired.push(old);
        self.renames.push((id, first_seq));
        Ok(())
    }

    /// Makes what was appended durable per the policy and returns the
    /// durable watermark (see [`SyncPolicy`]). On a sync failure returns
    /// the error and poisons the writer.
    pub fn commit(&mut self) -> Result<Seq, WriteError> {
        self.check()?;
        let result = match self.config.sync_policy {
            SyncPolicy::None => {
                // The page cache is this policy's durability. The header
                // keeps the synced watermark: after a power loss recovery
                // then cuts back to what reached the disk instead of
                // refusing to start.
                self.durable = self.written;
                while let Some(r) = self.retired.pop() {
                    // The helper syncs it in the background, so that a later
                    // `sync_now` or `close` only has to wait for it.
                    let end = (r.off + OFF_LEN + 4).min(r.size);
                    self.unmarked.push((r.first_seq, r.size as u64));
                    self.jobs.push(Job::SyncDrop(r.seg, end));
                    self.sync_drops_submitted += 1;
                }
                Ok(self.durable)
            }
            SyncPolicy::Batch => self.sync_inner(),
            SyncPolicy::Interval { .. } => {
                if self.written > self.synced && self.last_sync.elapsed() >= self.interval {
                    self.sync_inner()
                } else {
                    Ok(self.durable)
                }
            }
        };
        let handed = self.hand_over();
        let durable = result?;
        handed.map(|()| durable)
    }

    /// Syncs now whatever the policy (forces an `interval` sync); returns
    /// the durable watermark.
    pub fn sync_now(&mut self) -> Result<Seq, WriteError> {
        self.check()?;
        let r = self.sync_inner();
        let handed = self.hand_over();
        let durable = r?;
        handed.map(|()| durable)
    }

    /// Under `interval`, syncs if the interval has elapsed and something is
    /// unsynced; for a journaller that goes idle. Returns the watermark.
    pub fn sync_if_due(&mut self) -> Result<Seq, WriteError> {
        let interval = matches!(self.config.sync_policy, SyncPolicy::Interval { .. });
        if interval && self.written > self.synced && self.last_sync.elapsed() >= self.interval {
            self.sync_now()
        } else {
            self.check()?;
            Ok(self.durable)
        }
    }

    /// Syncs everything, records the exact watermark in the header, and
    /// closes. Dropping a writer without `close` is a crash as far as the
    /// disk is concerned (recovery handles it).
    pub fn close(mut self) -> Result<Seq, WriteError> {
        self.check()?;
        self.sync_inner()?;
        if self.header_watermark != self.synced {
            self.store_watermark(self.synced);
            let r = self.current.seg.sync(0, SEGMENT_HEADER_LEN);
            self.poison_on_err(r)?;
        }
        self.hand_over()?;
        Ok(self.durable)
    }

    /// Sequence number of the last appended record (0 if none).
    pub fn written_seq(&self) -> Seq {
        self.written
    }

    /// Durable watermark: last sequence made durable per the policy.
    pub fn durable_seq(&self) -> Seq {
        self.durable
    }

    /// Sequence number the next append will get.
    pub fn next_seq(&self) -> Seq {
        self.written + 1
    }

    /// True once a failure has poisoned the writer.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    /// Rollovers that found no pre-created segment ready and had to wait
    /// for the helper or create one synchronously (a latency spike each).
    pub fn slow_rollovers(&self) -> u64 {
        self.slow_rollovers
    }

    /// Path of the segment being appended to.
    pub fn current_segment_path(&self) -> PathBuf {
        self.storage.path_of(&segment_file_name(self.current.first_seq))
    }

    /// Largest payload a record can carry.
    pub fn max_payload(&self) -> usize {
        self.config.max_payload()
    }

    fn check(&mut self) -> Result<(), WriteError> {
        if self.poisoned.is_none() {
            if let Some(f) = self.prealloc.failure() {
                self.poisoned = Some(f);
            }
        }
        match &self.poisoned {
            Some(cause) => Err(WriteError::Poisoned(cause.clone())),
            None => Ok(()),
        }
    }

    fn poison_on_err(&mut self, r: Result<(), StorageError>) -> Result<(), WriteError> {
        r.map_err(|e| {
            self.poisoned.get_or_insert_with(|| e.to_string());
            WriteError::SyncFailed(e)
        })
    }

    /// Stores `w` into the current segment's header (one slot, alternating).
    fn store_watermark(&mut self, w: Seq) {
        let c = &mut self.current;
        write_watermark(c.seg.bytes_mut(), c.slot, c.first_seq, w);
        c.slot ^= 1;
        self.header_watermark = w;
    }

    fn sync_inner(&mut self) -> Result<Seq, WriteError> {
        let target = self.written;
        if target == self.synced && self.header_watermark == self.synced {
            return Ok(self.durable);
        }
        // The header gets the watermark established by the previous sync:
        // it is already true on disk, so the header can be written in the
        // same sync as the new records (one flush per commit). The header
        // thus lags one commit behind; `close` writes the exact value.
        if self.header_watermark != self.synced {
            self.store_watermark(self.synced);
        }
        if self.sync_drops_submitted > 0 {
            // Segments the `none` policy retired are synced by the helper.
            self.prealloc.submit(&mut self.jobs);
            if let Some(cause) = self.prealloc.wait_sync_drops(self.sync_drops_submitted) {
                self.poisoned.get_or_insert_with(|| cause.clone());
                return Err(WriteError::Poisoned(cause));
            }
        }
        for i in 0..self.retired.len() {
            // Up to and including the end-of-segment marker.
            let end = (self.retired[i].off + OFF_LEN + 4).min(self.retired[i].size);
            let r = self.retired[i].seg.sync(0, end);
            self.poison_on_err(r)?;
        }
        let end = self.current.off.max(SEGMENT_HEADER_LEN);
        let r = self.current.seg.sync(0, end);
        self.poison_on_err(r)?;
        // Every segment rolled away from now has a durable successor holding
        // records up to `target`: say so in its header. Without it, deleting
        // the last segment would leave a log that ends cleanly, with only
        // older, smaller watermarks to compare against. The store is made
        // here, before the commit returns (no syscall; in the page cache it
        // survives a killed process); the header's sync, which only a power
        // loss needs, is the helper's, off the commit's latency.
        for mut r in self.retired.drain(..) {
            raise_watermark(r.seg.bytes_mut(), r.first_seq, target);
            self.jobs.push(Job::SyncHeaderDrop(r.seg));
        }
        for (first_seq, size) in self.unmarked.drain(..) {
            self.jobs.push(Job::RaiseWatermark { first_seq, size, watermark: target });
        }
        self.synced = target;
        self.durable = self.durable.max(target);
        self.last_sync = Instant::now();
        Ok(self.durable)
    }

    /// Renames segments rolled into since the last commit to their final
    /// names, so readers can find them as soon as this commit returns (a
    /// rename is cheap; the directory fsync after it, which is not, and the
    /// unmapping of retired segments go to the helper thread). Only at
    /// commit: append makes no system call.
    fn hand_over(&mut self) -> Result<(), WriteError> {
        if self.renames.is_empty() && self.jobs.is_empty() {
            return Ok(());
        }
        let mut result = Ok(());
        for i in 0..self.renames.len() {
            let (id, first_seq) = self.renames[i];
            let r = self.storage.rename(&spare_file_name(id), &segment_file_name(first_seq));
            if let Err(e) = r {
                // The spare would be adopted by recovery, but a reader cannot
                // find it: treat like a failed sync.
                self.poisoned.get_or_insert_with(|| e.to_string());
                result = Err(WriteError::SyncFailed(e));
                break;
            }
        }
        if !self.renames.is_empty() {
            self.renames.clear();
            self.jobs.push(Job::SyncDir);
        }
        self.prealloc.submit(&mut self.jobs);
        result
    }
}

/// Turns a spare into the active segment starting at `first_seq`: writes
/// its header into the mapping (synced with the first commit).
fn promote<Seg: SegmentMut>(
    spare: Spare<Seg>,
    first_seq: Seq,
    prev_first_seq: Seq,
    watermark: Seq,
    size: u64,
) -> Active<Seg> {
    let mut seg = spare.seg;
    write_header(seg.bytes_mut(), size, first_seq, prev_first_seq, watermark);
    Active { seg, first_seq, size: size as usize, off: SEGMENT_HEADER_LEN, slot: 0 }
}
