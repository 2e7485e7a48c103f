//! [`UnforkedBuffer`]: a zero-filled byte buffer in an anonymous mapping of its own, left out of
//! forked children.
//!
//! A snapshot child (`snapshots.method = "fork"`) needs only the engine, but `fork()` copies the
//! page tables of every private page the process has touched, and the matcher pauses for that
//! copy. The publisher's per-account report windows are the largest such memory besides the
//! engine (up to `retransmit_messages_per_account` x 128 B per active account: 12.8 MB each by
//! default), so they live here, marked `MADV_DONTFORK`: the child has no mapping there at all
//! (it never reads them), and the fork does not copy their page tables. The kernel zero-fills
//! the mapping lazily, so only pages written to become resident. Should the kernel refuse a
//! mapping (address space or `vm.max_map_count` exhausted), the buffer falls back to an ordinary
//! heap allocation: the fork then copies it, nothing else changes.

use std::io;
use std::ops::{Deref, DerefMut};

use memmap2::{Advice, MmapMut, MmapOptions};

/// A fixed-size, zero-filled byte buffer outside forked children's memory.
#[derive(Debug, Default)]
pub struct UnforkedBuffer {
    storage: Storage,
}

#[derive(Debug, Default)]
enum Storage {
    /// Length 0 (a mapping cannot be empty).
    #[default]
    Empty,
    /// The normal case.
    Mapped(MmapMut),
    /// The kernel refused the mapping.
    Heap(Box<[u8]>),
}

impl UnforkedBuffer {
    /// An empty buffer (no mapping).
    pub const fn empty() -> Self {
        Self { storage: Storage::Empty }
    }

    /// `len` zero bytes in a new anonymous mapping advised `MADV_DONTFORK`, or on the heap if
    /// the kernel refuses the mapping.
    pub fn zeroed(len: usize) -> Self {
        if len == 0 {
            return Self::empty();
        }
        let storage = match Self::map(len) {
            Ok(map) => Storage::Mapped(map),
            Err(_) => Storage::Heap(vec![0u8; len].into_boxed_slice()),
        };
        Self { storage }
    }

    fn map(len: usize) -> io::Result<MmapMut> {
        let map = MmapOptions::new().len(len).map_anon()?;
        map.advise(Advice::DontFork)?;
        Ok(map)
    }

    /// Whether it is left out of forked children (false when empty or on the heap).
    pub fn is_unforked(&self) -> bool {
        matches!(self.storage, Storage::Mapped(_))
    }
}

impl Deref for UnforkedBuffer {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match &self.storage {
            Storage::Empty => &[],
            Storage::Mapped(m) => m,
            Storage::Heap(b) => b,
        }
    }
}

impl DerefMut for UnforkedBuffer {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.storage {
            Storage::Empty => &mut [],
            Storage::Mapped(m) => m,
            Storage::Heap(b) => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_writable_and_absent_from_a_forked_child() {
        let mut b = UnforkedBuffer::zeroed(1 << 20);
        assert!(b.is_unforked());
        assert_eq!(b.len(), 1 << 20);
        assert!(b.iter().all(|&x| x == 0));
        b[12345] = 7;
        assert_eq!(b[12345], 7);
        assert!(UnforkedBuffer::zeroed(0).is_empty());
        // The mapping is marked: /proc/self/smaps lists "dc" (don't copy) in its VmFlags.
        let start = format!("{:x}-", b.as_ptr() as usize);
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let entry = smaps.split_inclusive('\n').skip_while(|l| !l.starts_with(&start)).collect::<String>();
        let flags = entry.lines().find(|l| l.starts_with("VmFlags:")).expect("VmFlags");
        assert!(flags.split_whitespace().any(|f| f == "dc"), "{flags}");
    }
}
