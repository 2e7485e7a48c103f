//! One writer per journal directory, enforced with `flock` on a lock file.
//!
//! `flock` locks belong to the open file description, so a second writer in
//! the same process is refused just like one in another process, and the
//! kernel drops the lock when the holder dies (no stale lock after kill -9).
//! A child forked while the lock is held shares it until it execs or exits
//! (the lock file is opened close-on-exec, as std does for every file).

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{LockError, StorageError};

/// Name of the lock file inside a journal directory.
pub const LOCK_FILE_NAME: &str = "LOCK";

/// A held directory lock; released on drop.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the exclusive lock on `dir`, failing at once if it is held.
    pub fn acquire(dir: &Path) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StorageError::from_io("creating lock file", &path, e))?;
        // SAFETY: plain FFI call on a descriptor we own; touches no memory.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            return Err(match err.raw_os_error() {
                Some(libc::EWOULDBLOCK) => LockError::AlreadyLocked { dir: dir.to_path_buf(), lock_file: path },
                _ => StorageError::from_io("locking", &path, err).into(),
            });
        }
        Ok(DirLock { _file: file, path })
    }

    /// Path of the lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
