//! Power-loss test double: an in-memory [`Storage`] that keeps, for every
//! file, the last *synced* image next to the page cache, and can produce
//! the disk as a power loss would leave it.
//!
//! At [`SimStorage::crash`]: each 4 KiB page that differs from its synced
//! image is independently lost, written back whole, or torn (each 512-byte
//! sector old or new); directory operations since the last directory sync
//! survive as a random prefix (journalling file systems commit them in
//! order); a file whose size was never synced may come back empty. This is
//! the model of TigerBeetle's and redb's storage doubles. It is for tests;
//! production code uses [`crate::FileStorage`].

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::StorageError;
use crate::storage::{SegmentMut, SegmentRead, Storage};

const PAGE: usize = 4096;
const SECTOR: usize = 512;

/// Small deterministic PRNG (SplitMix64) so crash images replay by seed.
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A fair coin.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
}

#[derive(Debug)]
struct SimFile {
    /// What survives a crash for sure.
    durable: Vec<u8>,
    /// Page cache; `None` while a writable mapping has it checked out.
    cache: Option<Vec<u8>>,
}

#[derive(Debug)]
enum DirOp {
    Link(String, u64),
    Unlink(String),
    Rename(String, String),
}

#[derive(Debug, Default)]
struct Disk {
    files: HashMap<u64, SimFile>,
    dir: BTreeMap<String, u64>,
    durable_dir: BTreeMap<String, u64>,
    log: Vec<DirOp>,
    next_inode: u64,
    free_space: Option<u64>,
    fail_syncs: bool,
    syncs: u64,
}

/// The in-memory storage double. Clones share the same disk.
#[derive(Debug, Clone, Default)]
pub struct SimStorage {
    disk: Arc<Mutex<Disk>>,
}

fn lock(disk: &Mutex<Disk>) -> MutexGuard<'_, Disk> {
    disk.lock().unwrap_or_else(|p| p.into_inner())
}

fn io_err(op: &'static str, name: &str, errno: i32) -> StorageError {
    StorageError::from_io(op, sim_path(name), io::Error::from_raw_os_error(errno))
}

fn sim_path(name: &str) -> PathBuf {
    PathBuf::from(format!("sim:/{name}"))
}

impl SimStorage {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits the space available to new allocations (`None`: unlimited).
    pub fn set_free_space(&self, bytes: Option<u64>) {
        lock(&self.disk).free_space = bytes;
    }

    /// Makes every later sync (file or directory) fail with EIO.
    pub fn set_fail_syncs(&self, fail: bool) {
        lock(&self.disk).fail_syncs = fail;
    }

    /// Number of successful syncs so far.
    pub fn sync_count(&self) -> u64 {
        lock(&self.disk).syncs
    }

    /// Names in the (page-cache) directory.
    pub fn file_names(&self) -> Vec<String> {
        lock(&self.disk).dir.keys().cloned().collect()
    }

    /// Copy of a file's page-cache contents.
    pub fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        let d = lock(&self.disk);
        let inode = d.dir.get(name)?;
        d.files.get(inode)?.cache.clone()
    }

    /// Replaces a file's contents, durably (for fault injection).
    pub fn write_file(&self, name: &str, bytes: Vec<u8>) -> bool {
        let mut d = lock(&self.disk);
        let Some(&inode) = d.dir.get(name) else {
            return false;
        };
        match d.files.get_mut(&inode) {
            Some(f) if f.cache.is_some() => {
                f.durable = bytes.clone();
                f.cache = Some(bytes);
                true
            }
            _ => false,
        }
    }

    /// The disk as a power loss at this instant would leave it, chosen by
    /// `seed`. Every writable mapping must have been dropped (drop the
    /// writer without `close` to model the crash).
    pub fn crash(&self, seed: u64) -> SimStorage {
        let d = lock(&self.disk);
        let mut rng = SimRng::new(seed);
        let mut dir = d.durable_dir.clone();
        let keep_ops = rng.below(d.log.len() as u64 + 1) as usize;
        for op in &d.log[..keep_ops] {
            match op {
                DirOp::Link(name, inode) => {
                    dir.insert(name.clone(), *inode);
                }
                DirOp::Unlink(name) => {
                    dir.remove(name);
                }
                DirOp::Rename(from, to) => {
                    if let Some(inode) = dir.remove(from) {
                        dir.insert(to.clone(), inode);
                    }
                }
            }
        }
        let mut files = HashMap::new();
        for &inode in dir.values() {
            let Some(f) = d.files.get(&inode) else { continue };
            let Some(cache) = f.cache.as_ref() else {
                panic!("SimStorage::crash while a segment is still mapped writable");
            };
            let mut img = f.durable.clone();
            if img.len() < cache.len() && (!img.is_empty() || rng.coin()) {
                // The allocation reached the disk (zeros) or, for a file
                // never synced, maybe not.
                img.resize(cache.len(), 0);
            }
            let n = img.len().min(cache.len());
            let mut page = 0;
            while page < n {
                let end = (page + PAGE).min(n);
                if img[page..end] != cache[page..end] {
                    match rng.below(4) {
                        0 => {}
                        1 => img[page..end].copy_from_slice(&cache[page..end]),
                        _ => {
                            let mut s = page;
                            while s < end {
                                let se = (s + SECTOR).min(end);
                                if rng.coin() {
                                    img[s..se].copy_from_slice(&cache[s..se]);
                                }
                                s = se;
                            }
                        }
                    }
                }
                page = end;
            }
            files.insert(inode, SimFile { durable: img.clone(), cache: Some(img) });
        }
        SimStorage {
            disk: Arc::new(Mutex::new(Disk {
                files,
                durable_dir: dir.clone(),
                dir,
                log: Vec::new(),
                next_inode: d.next_inode,
                free_space: d.free_space,
                fail_syncs: false,
                syncs: 0,
            })),
        }
    }
}

impl Storage for SimStorage {
    type Segment = SimSegment;
    type ReadSegment = SimReadSegment;

    fn path_of(&self, name: &str) -> PathBuf {
        sim_path(name)
    }

    fn list(&self) -> Result<Vec<String>, StorageError> {
        Ok(self.file_names())
    }

    fn create(&self, name: &str, size: u64) -> Result<SimSegment, StorageError> {
        let mut d = lock(&self.disk);
        if d.dir.contains_key(name) {
            return Err(io_err("creating segment", name, libc::EEXIST));
        }
        if let Some(free) = d.free_space {
            if free < size {
                return Err(io_err("allocating segment", name, libc::ENOSPC));
            }
            d.free_space = Some(free - size);
        }
        let inode = d.next_inode;
        d.next_inode += 1;
        d.files.insert(inode, SimFile { durable: Vec::new(), cache: None });
        d.dir.insert(name.to_string(), inode);
        d.log.push(DirOp::Link(name.to_string(), inode));
        Ok(SimSegment { disk: Arc::clone(&self.disk), inode, name: name.to_string(), buf: vec![0; size as usize] })
    }

    fn open_rw(&self, name: &str, size: u64) -> Result<SimSegment, StorageError> {
        let mut d = lock(&self.disk);
        let inode = *d.dir.get(name).ok_or_else(|| io_err("opening segment", name, libc::ENOENT))?;
        let mut buf = d
            .files
            .get_mut(&inode)
            .and_then(|f| f.cache.take())
            .ok_or_else(|| io_err("opening segment", name, libc::EBUSY))?;
        if (buf.len() as u64) < size {
            let grow = size - buf.len() as u64;
            if let Some(free) = d.free_space {
                if free < grow {
                    if let Some(f) = d.files.get_mut(&inode) {
                        f.cache = Some(buf);
                    }
                    return Err(io_err("re-extending segment", name, libc::ENOSPC));
                }
                d.free_space = Some(free - grow);
            }
            buf.resize(size as usize, 0);
        }
        Ok(SimSegment { disk: Arc::clone(&self.disk), inode, name: name.to_string(), buf })
    }

    fn open_ro(&self, name: &str) -> Result<SimReadSegment, StorageError> {
        let d = lock(&self.disk);
        let inode = d.dir.get(name).ok_or_else(|| io_err("opening segment", name, libc::ENOENT))?;
        let buf = d
            .files
            .get(inode)
            .and_then(|f| f.cache.clone())
            .ok_or_else(|| io_err("opening segment", name, libc::EBUSY))?;
        Ok(SimReadSegment { buf })
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), StorageError> {
        let mut d = lock(&self.disk);
        let inode = d.dir.remove(from).ok_or_else(|| io_err("renaming", from, libc::ENOENT))?;
        d.dir.insert(to.to_string(), inode);
        d.log.push(DirOp::Rename(from.to_string(), to.to_string()));
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<(), StorageError> {
        let mut d = lock(&self.disk);
        let inode = d.dir.remove(name).ok_or_else(|| io_err("removing", name, libc::ENOENT))?;
        if let (Some(free), Some(f)) = (d.free_space, d.files.get(&inode)) {
            let len = f.cache.as_ref().map_or(0, |c| c.len() as u64);
            d.free_space = Some(free + len);
        }
        d.log.push(DirOp::Unlink(name.to_string()));
        Ok(())
    }

    fn sync_dir(&self) -> Result<(), StorageError> {
        let mut d = lock(&self.disk);
        if d.fail_syncs {
            return Err(io_err("syncing directory", "", libc::EIO));
        }
        d.durable_dir = d.dir.clone();
        d.log.clear();
        d.syncs += 1;
        Ok(())
    }
}

/// A writable "mapping" of a simulated file (owns the page cache while alive).
#[derive(Debug)]
pub struct SimSegment {
    disk: Arc<Mutex<Disk>>,
    inode: u64,
    name: String,
    buf: Vec<u8>,
}

impl SegmentRead for SimSegment {
    fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

impl SegmentMut for SimSegment {
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    fn sync(&mut self, start: usize, end: usize) -> Result<(), StorageError> {
        let mut d = lock(&self.disk);
        if d.fail_syncs {
            return Err(io_err("syncing", &self.name, libc::EIO));
        }
        let start = start / PAGE * PAGE;
        let end = end.min(self.buf.len()).div_ceil(PAGE) * PAGE;
        let end = end.min(self.buf.len());
        if let Some(f) = d.files.get_mut(&self.inode) {
            if f.durable.len() < self.buf.len() {
                // A data sync also persists the file size.
                f.durable.resize(self.buf.len(), 0);
            }
            if start < end {
                f.durable[start..end].copy_from_slice(&self.buf[start..end]);
            }
        }
        d.syncs += 1;
        Ok(())
    }
}

impl Drop for SimSegment {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if let Some(f) = lock(&self.disk).files.get_mut(&self.inode) {
            f.cache = Some(buf);
        }
    }
}

/// A read-only snapshot of a simulated file.
#[derive(Debug)]
pub struct SimReadSegment {
    buf: Vec<u8>,
}

impl SegmentRead for SimReadSegment {
    fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

/// Deterministic test payload for `seq`: length in `0..=max_len`, content
/// derived from `seq`, so a reader can check every byte without a model.
pub fn test_payload(seq: crate::Seq, max_len: usize, out: &mut Vec<u8>) {
    let mut rng = SimRng::new(seq ^ 0x005E_ED0F_5EED);
    let len = rng.below(max_len as u64 + 1) as usize;
    out.clear();
    while out.len() < len {
        let word = rng.next_u64().to_le_bytes();
        let take = (len - out.len()).min(8);
        out.extend_from_slice(&word[..take]);
    }
}

/// Deterministic record type for `seq` (see [`test_payload`]).
pub fn test_record_type(seq: crate::Seq) -> u8 {
    (seq.wrapping_mul(0x9E37_79B9) >> 7) as u8
}
