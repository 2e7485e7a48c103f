//! Segment pre-creation on a helper thread, so rollover is a pointer switch.
//!
//! The helper keeps one *spare* ready: a file named `spare-<id>.pre`,
//! allocated (posix_fallocate), mapped, optionally pre-faulted, with a header
//! whose `first_seq` is 0, synced, its directory entry synced. At rollover
//! the writer takes the spare, writes its real header (first sequence,
//! previous segment) into the mapping and goes on appending: no syscall. At the
//! next commit the writer renames the file to its segment name (which
//! depends on the sequence number where the rollover happened, unknown in
//! advance) and hands the directory fsync and the unmapping of the old
//! segment to the helper. Recovery adopts a spare whose header names a first
//! sequence if the rename was lost.
//!
//! Measured alternative: creating the next segment in `commit` once the
//! current one is half full costs one commit a few milliseconds per segment
//! (fallocate + header sync + directory sync + page faults); the helper
//! thread keeps that off the journaller entirely.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::error::StorageError;
use crate::segment::{raise_watermark, segment_file_name, spare_file_name, write_header, SEGMENT_HEADER_LEN};
use crate::storage::{SegmentMut, SegmentRead, Storage};

/// A pre-created segment.
pub(crate) struct Spare<Seg> {
    pub id: u64,
    pub seg: Seg,
}

/// Work handed from the writer to the helper.
pub(crate) enum Job<Seg> {
    /// Sync the directory after the writer renamed spares.
    SyncDir,
    /// Under the `none` policy: sync a retired segment's first `usize`
    /// bytes (so a later `sync_now`/`close` covers it), then unmap it.
    SyncDrop(Seg, usize),
    /// Sync the header of a retired segment (the writer raised its
    /// watermark), then unmap it.
    SyncHeaderDrop(Seg),
    /// Under `none`, where retired segments are no longer mapped: raise the
    /// durable watermark in the header of a segment the log has gone on past
    /// (records up to `watermark` are synced), and sync it.
    RaiseWatermark {
        /// The segment (names its file).
        first_seq: u64,
        /// Its size.
        size: u64,
        /// The watermark to record.
        watermark: u64,
    },
}

struct State<Seg> {
    spare: Option<Result<Spare<Seg>, StorageError>>,
    want_spare: bool,
    creating: bool,
    jobs: Vec<Job<Seg>>,
    next_id: u64,
    shutdown: bool,
    /// First failure of a directory or segment sync: poisons the writer.
    failure: Option<String>,
    /// `SyncDrop` jobs completed.
    sync_drops_done: u64,
}

struct Shared<Seg> {
    state: Mutex<State<Seg>>,
    cv: Condvar,
    /// Set while the writer waits for the spare being created.
    urgent: AtomicBool,
}

/// Creates, pre-faults and syncs a spare segment. Removes the file on
/// failure so nothing half-created is left behind.
pub(crate) fn create_spare<S: Storage>(
    storage: &S,
    id: u64,
    size: u64,
    pretouch: Option<&AtomicBool>,
) -> Result<Spare<S::Segment>, StorageError> {
    let name = spare_file_name(id);
    let mut seg = storage.create(&name, size)?;
    let prepared = (|| {
        write_header(seg.bytes_mut(), size, 0, 0, 0);
        // The header must be durable before the file can be used, so that a
        // spare never holds records behind an unreadable header.
        seg.sync(0, SEGMENT_HEADER_LEN)?;
        storage.sync_dir()
    })();
    if let Err(e) = prepared {
        drop(seg);
        let _ = storage.remove(&name);
        return Err(e);
    }
    if let Some(urgent) = pretouch {
        // Pre-fault every page now, on this thread, so the kernel's page
        // allocation and zeroing (a third of the appending thread's time
        // without this, measured) happen off the journaller. In chunks, to
        // stop early when the writer is already waiting for this spare: it
        // then faults the remaining pages itself rather than wait.
        let len = seg.bytes().len();
        let mut off = 0;
        while off < len && !urgent.load(Ordering::Relaxed) {
            seg.prefault(off, (off + PRETOUCH_CHUNK).min(len));
            off += PRETOUCH_CHUNK;
        }
    }
    Ok(Spare { id, seg })
}

/// Opens the segment starting at `first_seq` (renamed by the writer before
/// it handed this job over) and records `watermark` in its header.
fn raise_watermark_of<S: Storage>(storage: &S, first_seq: u64, size: u64, watermark: u64) -> Result<(), StorageError> {
    let mut seg = match storage.open_rw(&segment_file_name(first_seq), size) {
        Ok(seg) => seg,
        // Archived or deleted meanwhile (`matchd-journal prune`): nothing to record it in, and
        // nothing the log still needs.
        Err(StorageError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    raise_watermark(seg.bytes_mut(), first_seq, watermark);
    seg.sync(0, SEGMENT_HEADER_LEN)
}

/// Bytes pre-faulted between two checks of the writer's urgency (1 MiB:
/// about 0.3 ms of work).
const PRETOUCH_CHUNK: usize = 1 << 20;

/// Handle on the helper thread.
pub(crate) struct Prealloc<S: Storage> {
    shared: Arc<Shared<S::Segment>>,
    storage: Arc<S>,
    size: u64,
    thread: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic on the helper thread cannot leave the state inconsistent
    // (every field is valid at every await point), so recover the guard.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<S: Storage> Prealloc<S> {
    /// Starts the helper; it begins creating a spare at once.
    pub fn start(storage: Arc<S>, size: u64, pretouch: bool) -> Result<Self, StorageError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                spare: None,
                want_spare: true,
                creating: false,
                jobs: Vec::with_capacity(16),
                next_id: 0,
                shutdown: false,
                failure: None,
                sync_drops_done: 0,
            }),
            cv: Condvar::new(),
            urgent: AtomicBool::new(false),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            let storage = Arc::clone(&storage);
            std::thread::Builder::new()
                .name("journal-prealloc".into())
                .spawn(move || helper_loop(&*storage, &shared, size, pretouch))
                .map_err(|e| StorageError::from_io("spawning helper thread", "journal", e))?
        };
        Ok(Prealloc { shared, storage, size, thread: Some(thread) })
    }

    /// Takes the ready spare. If the helper is still creating it, waits; if
    /// it failed or was never asked, creates one on this thread (the slow
    /// path: a latency spike, but correct).
    /// The flag tells whether the caller had to wait for the helper or
    /// create the spare itself (a latency spike).
    pub fn take(&self) -> Result<(Spare<S::Segment>, bool), StorageError> {
        let mut st = lock(&self.shared.state);
        let mut waited = false;
        loop {
            match st.spare.take() {
                Some(Ok(spare)) => {
                    // The helper is woken at the next commit (a futex wake
                    // is a syscall; append must not make one).
                    st.want_spare = true;
                    return Ok((spare, waited));
                }
                Some(Err(_)) | None if !st.creating => {
                    // Retry synchronously: space may have been freed since.
                    let id = st.next_id;
                    st.next_id += 1;
                    st.want_spare = true;
                    drop(st);
                    // No pre-faulting: the writer is waiting.
                    return create_spare(&*self.storage, id, self.size, None).map(|s| (s, true));
                }
                _ => {
                    waited = true;
                    self.shared.urgent.store(true, Ordering::Relaxed);
                    st = self.shared.cv.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    /// Hands jobs to the helper and wakes it.
    pub fn submit(&self, jobs: &mut Vec<Job<S::Segment>>) {
        let mut st = lock(&self.shared.state);
        st.jobs.append(jobs);
        drop(st);
        self.shared.cv.notify_all();
    }

    /// First failure of a background directory or segment sync.
    pub fn failure(&self) -> Option<String> {
        lock(&self.shared.state).failure.clone()
    }

    /// Waits until `n` `SyncDrop` jobs have completed; returns the first
    /// background failure, if any.
    pub fn wait_sync_drops(&self, n: u64) -> Option<String> {
        let mut st = lock(&self.shared.state);
        while st.sync_drops_done < n && st.failure.is_none() {
            st = self.shared.cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st.failure.clone()
    }
}

impl<S: Storage> Drop for Prealloc<S> {
    fn drop(&mut self) {
        lock(&self.shared.state).shutdown = true;
        self.shared.cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn helper_loop<S: Storage>(storage: &S, shared: &Shared<S::Segment>, size: u64, pretouch: bool) {
    let mut jobs = Vec::with_capacity(16);
    loop {
        let create_id = {
            let mut st = lock(&shared.state);
            loop {
                let need_spare = st.want_spare && st.spare.is_none() && !st.shutdown;
                if !st.jobs.is_empty() || need_spare || st.shutdown {
                    break;
                }
                st = shared.cv.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            std::mem::swap(&mut jobs, &mut st.jobs);
            if st.shutdown && jobs.is_empty() {
                // Remove an unused spare: nothing was written to it.
                if let Some(Ok(spare)) = st.spare.take() {
                    drop(spare.seg);
                    let _ = storage.remove(&spare_file_name(spare.id));
                }
                return;
            }
            if st.want_spare && st.spare.is_none() && !st.shutdown && st.jobs.is_empty() {
                st.creating = true;
                st.want_spare = false;
                let id = st.next_id;
                st.next_id += 1;
                Some(id)
            } else {
                None
            }
        };

        // Directory sync before creating the next spare, so that renamed
        // segments are durable under their names first.
        let mut renamed = false;
        let mut failure = None;
        let mut sync_drops = 0;
        for job in jobs.drain(..) {
            match job {
                Job::SyncDir => renamed = true,
                Job::SyncDrop(mut seg, end) => {
                    if let Err(e) = seg.sync(0, end) {
                        failure.get_or_insert(e.to_string());
                    }
                    sync_drops += 1;
                }
                Job::SyncHeaderDrop(mut seg) => {
                    if let Err(e) = seg.sync(0, SEGMENT_HEADER_LEN) {
                        failure.get_or_insert(e.to_string());
                    }
                }
                Job::RaiseWatermark { first_seq, size, watermark } => {
                    if let Err(e) = raise_watermark_of(storage, first_seq, size, watermark) {
                        failure.get_or_insert(e.to_string());
                    }
                }
            }
        }
        if renamed {
            if let Err(e) = storage.sync_dir() {
                failure.get_or_insert(e.to_string());
            }
        }
        if failure.is_some() || sync_drops > 0 {
            let mut st = lock(&shared.state);
            if let Some(f) = failure {
                st.failure.get_or_insert(f);
            }
            st.sync_drops_done += sync_drops;
            drop(st);
            shared.cv.notify_all();
        }

        if let Some(id) = create_id {
            shared.urgent.store(false, Ordering::Relaxed);
            let result = create_spare(storage, id, size, pretouch.then_some(&shared.urgent));
            let mut st = lock(&shared.state);
            st.spare = Some(result);
            st.creating = false;
            drop(st);
            shared.cv.notify_all();
        }
    }
}
