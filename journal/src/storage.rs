//! The storage the journal runs on: a directory of fixed-size, mapped files.
//!
//! The writer, recovery and readers are generic over [`Storage`] so the
//! power-loss test double ([`crate::sim::SimStorage`]) can stand in for the
//! file system. Production uses [`FileStorage`].

use std::fs::{self, File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use memmap2::{Advice, Mmap, MmapMut, MmapOptions};

use crate::error::StorageError;

/// A directory of segment files.
pub trait Storage: Send + Sync + 'static {
    /// A writable mapping of one file.
    type Segment: SegmentMut;
    /// A read-only mapping of one file.
    type ReadSegment: SegmentRead;

    /// Full path of `name`, for error messages and reports.
    fn path_of(&self, name: &str) -> PathBuf;
    /// Names of the files in the directory.
    fn list(&self) -> Result<Vec<String>, StorageError>;
    /// Creates `name` (which must not exist) with `size` bytes of allocated,
    /// zeroed blocks and maps it. Leaves no file behind on failure.
    fn create(&self, name: &str, size: u64) -> Result<Self::Segment, StorageError>;
    /// Maps an existing file for writing, first extending it with allocated
    /// zeroed blocks to `size` bytes if it is shorter.
    fn open_rw(&self, name: &str, size: u64) -> Result<Self::Segment, StorageError>;
    /// Maps an existing file read-only, at its current length.
    fn open_ro(&self, name: &str) -> Result<Self::ReadSegment, StorageError>;
    /// Renames a file within the directory.
    fn rename(&self, from: &str, to: &str) -> Result<(), StorageError>;
    /// Removes a file.
    fn remove(&self, name: &str) -> Result<(), StorageError>;
    /// Makes creations, renames and removals durable (fsync of the directory).
    fn sync_dir(&self) -> Result<(), StorageError>;
}

/// Read access to a mapped file.
pub trait SegmentRead: Send {
    /// The file's bytes.
    fn bytes(&self) -> &[u8];
}

/// Write access to a mapped file.
pub trait SegmentMut: SegmentRead {
    /// The file's bytes, writable.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Makes `start..end` durable (msync MS_SYNC of the covering pages).
    fn sync(&mut self, start: usize, end: usize) -> Result<(), StorageError>;

    /// Pre-faults the pages of `start..end` writable, so later stores there
    /// take no page fault. Contents are unchanged. Best effort.
    fn prefault(&mut self, start: usize, end: usize) {
        let buf = self.bytes_mut();
        let end = end.min(buf.len());
        let mut off = start.next_multiple_of(PAGE);
        while off < end {
            // A read-modify-write the compiler cannot drop: faults the page
            // in writable without changing it.
            buf[off] = std::hint::black_box(buf[off]);
            off += PAGE;
        }
    }
}

const PAGE: usize = 4096;

/// [`Storage`] on a real directory: `posix_fallocate`d files mapped with
/// memmap2.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    dir_handle: File,
}

impl FileStorage {
    /// Opens an existing directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StorageError> {
        let dir = dir.as_ref().to_path_buf();
        let dir_handle = File::open(&dir).map_err(|e| StorageError::from_io("opening directory", &dir, e))?;
        Ok(FileStorage { dir, dir_handle })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Allocates real blocks for `0..size` (not a sparse `set_len`: a sparse
/// mapped file takes SIGBUS when a page fault finds the disk full).
fn allocate(file: &File, size: u64) -> std::io::Result<()> {
    let len = libc::off_t::try_from(size).map_err(|_| std::io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: plain FFI call on a file descriptor we own for the duration of
    // the call; posix_fallocate touches no memory of ours.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    // posix_fallocate returns the error number instead of setting errno.
    match rc {
        0 => Ok(()),
        e => Err(std::io::Error::from_raw_os_error(e)),
    }
}

impl Storage for FileStorage {
    type Segment = FileSegment;
    type ReadSegment = FileReadSegment;

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn list(&self) -> Result<Vec<String>, StorageError> {
        let err = |e| StorageError::from_io("listing directory", &self.dir, e);
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(err)? {
            let entry = entry.map_err(err)?;
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn create(&self, name: &str, size: u64) -> Result<FileSegment, StorageError> {
        let path = self.path_of(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| StorageError::from_io("creating segment", &path, e))?;
        let mapped = allocate(&file, size)
            .map_err(|e| StorageError::from_io("allocating segment", &path, e))
            .and_then(|()| map_rw(&file, size, &path));
        match mapped {
            Ok(map) => Ok(FileSegment { file, map, path }),
            Err(e) => {
                // Leave nothing half-created behind; the original error is
                // the one worth reporting.
                drop(file);
                let _ = fs::remove_file(&path);
                Err(e)
            }
        }
    }

    fn open_rw(&self, name: &str, size: u64) -> Result<FileSegment, StorageError> {
        let path = self.path_of(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::from_io("opening segment", &path, e))?;
        let len = file.metadata().map_err(|e| StorageError::from_io("reading metadata of", &path, e))?.len();
        if len < size {
            allocate(&file, size).map_err(|e| StorageError::from_io("re-extending segment", &path, e))?;
        }
        let map = map_rw(&file, size, &path)?;
        Ok(FileSegment { file, map, path })
    }

    fn open_ro(&self, name: &str) -> Result<FileReadSegment, StorageError> {
        let path = self.path_of(name);
        let file = File::open(&path).map_err(|e| StorageError::from_io("opening segment", &path, e))?;
        let len = file.metadata().map_err(|e| StorageError::from_io("reading metadata of", &path, e))?.len();
        let map = if len == 0 {
            None
        } else {
            // SAFETY: memmap2 requires the file not be truncated while mapped (access would SIGBUS);
            // journal files are preallocated at their final size and never shrunk by this crate
            // (only an operator damaging files could, which no mapping can guard against).
            let mapped = unsafe { MmapOptions::new().map(&file) };
            Some(mapped.map_err(|e| StorageError::from_io("mapping segment", &path, e))?)
        };
        Ok(FileReadSegment { map })
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), StorageError> {
        fs::rename(self.path_of(from), self.path_of(to))
            .map_err(|e| StorageError::from_io("renaming", self.path_of(from), e))
    }

    fn remove(&self, name: &str) -> Result<(), StorageError> {
        fs::remove_file(self.path_of(name)).map_err(|e| StorageError::from_io("removing", self.path_of(name), e))
    }

    fn sync_dir(&self) -> Result<(), StorageError> {
        self.dir_handle.sync_all().map_err(|e| StorageError::from_io("syncing directory", &self.dir, e))
    }
}

fn map_rw(file: &File, size: u64, path: &Path) -> Result<MmapMut, StorageError> {
    let len = usize::try_from(size)
        .map_err(|_| StorageError::from_io("mapping segment", path, std::io::Error::from_raw_os_error(libc::EFBIG)))?;
    // SAFETY: see `open_ro`: the file has just been allocated to at least
    // `size` bytes and this crate never shrinks it. We are the only writer
    // (directory lock); readers map it read-only.
    unsafe { MmapOptions::new().len(len).map_mut(file) }.map_err(|e| StorageError::from_io("mapping segment", path, e))
}

/// A writable mapping of a segment file.
#[derive(Debug)]
pub struct FileSegment {
    // Kept open so the mapping's file cannot be confused with a later one of
    // the same name; also documents ownership.
    #[allow(dead_code)]
    file: File,
    map: MmapMut,
    path: PathBuf,
}

impl SegmentRead for FileSegment {
    #[inline]
    fn bytes(&self) -> &[u8] {
        &self.map
    }
}

impl SegmentMut for FileSegment {
    #[inline]
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map
    }

    fn sync(&mut self, start: usize, end: usize) -> Result<(), StorageError> {
        let end = end.min(self.map.len());
        if start >= end {
            return Ok(());
        }
        // msync(MS_SYNC) of the range: a ranged data sync on Linux (memmap2
        // aligns the start down to a page).
        self.map.flush_range(start, end - start).map_err(|e| StorageError::from_io("syncing", &self.path, e))
    }

    fn prefault(&mut self, start: usize, end: usize) {
        let end = end.min(self.map.len());
        let start = start / PAGE * PAGE;
        if start >= end {
            return;
        }
        // One madvise(MADV_POPULATE_WRITE) does in the kernel what touching
        // each page does with a trap per page: about twice as fast, measured
        // (20 ms against 36 ms for 64 MiB). Linux >= 5.14; else fall back.
        if self.map.advise_range(Advice::PopulateWrite, start, end - start).is_err() {
            let buf = &mut self.map[..];
            let mut off = start;
            while off < end {
                buf[off] = std::hint::black_box(buf[off]);
                off += PAGE;
            }
        }
    }
}

/// A read-only mapping of a segment file.
#[derive(Debug)]
pub struct FileReadSegment {
    map: Option<Mmap>,
}

impl SegmentRead for FileReadSegment {
    #[inline]
    fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}
