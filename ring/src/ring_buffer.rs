//! [`RingBuffer`]: the pre-allocated, power-of-two array of slots the stages pass around.

use std::cell::UnsafeCell;
use std::fmt;
use std::ptr::NonNull;

/// The slots of a ring: `capacity` values of `T`, allocated once at build time and reused forever.
/// Sequence `s` lives in slot `s & (capacity - 1)`.
///
/// Slots are only reachable through a [`crate::Producer`] (mutably, between claim and publish)
/// and [`crate::Consumer`]s (shared, between the moment their barrier shows the slot and their
/// release); those handles enforce the protocol that makes the `UnsafeCell` access sound.
pub struct RingBuffer<T> {
    /// The first slot; `mask + 1` initialised slots follow, owned by `memory`.
    base: NonNull<UnsafeCell<T>>,
    mask: usize,
    memory: SlotMemory<T>,
}

/// Where the slots live.
enum SlotMemory<T> {
    /// An ordinary allocation.
    Heap(#[allow(dead_code)] Box<[UnsafeCell<T>]>),
    /// An anonymous mapping of its own, advised `MADV_DONTFORK` (see [`RingBuffer::new`]).
    Mapped(#[allow(dead_code)] memmap2::MmapMut),
}

// Why: the ring hands out `&mut T` to exactly one thread (the single producer, for sequences it
// has claimed and not yet published, whose previous lap every consumer has released) and `&T` to
// consumer threads (for sequences published and not yet released by that consumer). The producer's
// `Release` store of the cursor / a consumer's `Release` store of its sequence, paired with the
// other side's `Acquire` load before touching the slot, order every write before every read of a
// lap and every read before the next lap's write, so no access ever races. `T` crosses threads by
// value semantics (written on one, read on others), hence `Send`; several consumers read the same
// slot at once through `&T`, hence `Sync`.
// SAFETY: slot accesses are ordered by the sequences as argued above, so none ever races.
unsafe impl<T: Send + Sync> Sync for RingBuffer<T> {}
// SAFETY: the ring owns its slots (through `memory`) like a `Box<[T]>` would; moving it to
// another thread moves that ownership, which is sound when `T: Send`.
unsafe impl<T: Send> Send for RingBuffer<T> {}

impl<T> RingBuffer<T> {
    /// `capacity` slots initialised by `factory(index)`. With `dont_fork`, the slots live in an
    /// anonymous mapping of their own advised `MADV_DONTFORK`: a child process forked while the
    /// ring is in use (matchd's snapshot child) gets no copy of them, so `fork()` does not spend
    /// time copying their page tables. Falls back to the heap if the kernel refuses the mapping.
    ///
    /// # Panics
    /// If `capacity` is not a power of two (1 is allowed) or exceeds `i64::MAX`.
    pub(crate) fn new(capacity: usize, mut factory: impl FnMut(usize) -> T, dont_fork: bool) -> Self {
        assert!(capacity.is_power_of_two(), "ring capacity must be a power of two, got {capacity}");
        assert!(i64::try_from(capacity).is_ok(), "ring capacity too large");
        if dont_fork {
            if let Some(ring) = Self::mapped(capacity, &mut factory) {
                return ring;
            }
        }
        let mut slots: Box<[UnsafeCell<T>]> = (0..capacity).map(|i| UnsafeCell::new(factory(i))).collect();
        let base = NonNull::new(slots.as_mut_ptr()).expect("a boxed slice pointer is never null");
        Self { base, mask: capacity - 1, memory: SlotMemory::Heap(slots) }
    }

    /// The slots in their own `MADV_DONTFORK` mapping; `None` if that cannot be had (then the
    /// heap serves).
    fn mapped(capacity: usize, factory: &mut impl FnMut(usize) -> T) -> Option<Self> {
        let bytes = capacity.checked_mul(std::mem::size_of::<T>())?;
        // Mappings are page aligned; a zero-sized or over-aligned `T` stays on the heap.
        if bytes == 0 || std::mem::align_of::<T>() > 4096 {
            return None;
        }
        let mut map = memmap2::MmapOptions::new().len(bytes).map_anon().ok()?;
        map.advise(memmap2::Advice::DontFork).ok()?;
        let base = map.as_mut_ptr().cast::<UnsafeCell<T>>();
        for i in 0..capacity {
            // SAFETY: the mapping holds `capacity` slots of `T` (`bytes` above), is page
            // aligned (so aligned for `T`), and slot `i` is written exactly once before any
            // read. Should `factory` panic, the slots written so far are leaked, not dropped.
            unsafe { base.add(i).write(UnsafeCell::new(factory(i))) };
        }
        let base = NonNull::new(base)?;
        Some(Self { base, mask: capacity - 1, memory: SlotMemory::Mapped(map) })
    }

    /// Number of slots.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Whether the slots are left out of forked children (see [`RingBuffer::new`]).
    pub fn is_unforked(&self) -> bool {
        matches!(self.memory, SlotMemory::Mapped(_))
    }

    /// Raw pointer to the slot holding `sequence`. Dereferencing it is up to the caller, who must
    /// hold the right to access that sequence under the protocol described on the `Sync` impl.
    #[inline]
    pub(crate) fn slot(&self, sequence: i64) -> *mut T {
        debug_assert!(sequence >= 0);
        // Sequences are non-negative when used here, so the cast keeps the low bits we mask.
        let index = (sequence as usize) & self.mask;
        // SAFETY: `index <= mask`, and `base` points at `mask + 1` initialised slots.
        unsafe { (*self.base.as_ptr().add(index)).get() }
    }
}

impl<T> Drop for RingBuffer<T> {
    fn drop(&mut self) {
        if let SlotMemory::Mapped(_) = self.memory {
            for i in 0..=self.mask {
                // SAFETY: every slot of a mapped ring was initialised in `mapped` and is dropped
                // exactly once, here; the mapping itself is unmapped afterwards (field drop).
                unsafe { std::ptr::drop_in_place(self.base.as_ptr().add(i)) };
            }
        }
    }
}

impl<T> fmt::Debug for RingBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuffer").field("capacity", &self.capacity()).finish_non_exhaustive()
    }
}
