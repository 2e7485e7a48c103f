//! One writer per journal directory, enforced with `flock` on a lock file.
//!
//! `flock` locks belong to the open file description, so a second writer in
//! the same process is refused just like one in another process, and the
//! kernel drops the lock when the holder dies (no stale lock after kill -9).
//! A child forked while the lock is held shares it until it execs or exits
//! (the lock file is opened close-on-exec, as std does for every file).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::MetadataExt;
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

/// The pid of the process holding the writer's lock on `dir`, if any, found in `/proc/locks`
/// without touching the lock (trying it, even shared, could make a writer starting at that
/// moment fail). For read-only tools: a held lock means the log's tail is being written.
/// `None` also when the lock file or `/proc/locks` cannot be read.
pub fn lock_holder(dir: &Path) -> Option<u32> {
    let meta = std::fs::metadata(dir.join(LOCK_FILE_NAME)).ok()?;
    let (major, minor) = (libc::major(meta.dev()), libc::minor(meta.dev()));
    let table = std::fs::read_to_string("/proc/locks").ok()?;
    table.lines().find_map(|line| holder_in_line(line, major, minor, meta.ino()))
}

/// One `/proc/locks` line: `1: FLOCK  ADVISORY  WRITE 14120 fe:00:10019343 0 EOF` (device
/// numbers in hex, inode in decimal); waiters (`1: -> FLOCK ...`) do not hold the lock.
fn holder_in_line(line: &str, major: u32, minor: u32, ino: u64) -> Option<u32> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 6 || f[1] != "FLOCK" {
        return None;
    }
    let mut dev = f[5].split(':');
    let (maj, min, inode) = (dev.next()?, dev.next()?, dev.next()?);
    let same = u32::from_str_radix(maj, 16).ok()? == major
        && u32::from_str_radix(min, 16).ok()? == minor
        && inode.parse::<u64>().ok()? == ino;
    same.then(|| f[4].parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_found_and_only_while_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        assert_eq!(lock_holder(dir.path()), Some(std::process::id()));
        drop(lock);
        assert_eq!(lock_holder(dir.path()), None);
    }

    #[test]
    fn waiters_and_other_files_are_not_holders() {
        assert_eq!(
            holder_in_line("1: FLOCK  ADVISORY  WRITE 14120 fe:00:10019343 0 EOF", 254, 0, 10019343),
            Some(14120)
        );
        assert_eq!(holder_in_line("1: FLOCK  ADVISORY  WRITE 14120 fe:00:10019343 0 EOF", 254, 0, 7), None);
        assert_eq!(holder_in_line("1: -> FLOCK  ADVISORY  WRITE 9 fe:00:10019343 0 EOF", 254, 0, 10019343), None);
        assert_eq!(holder_in_line("2: POSIX  ADVISORY  WRITE 9 fe:00:10019343 0 EOF", 254, 0, 10019343), None);
    }
}
