//! [`RingBuffer`]: the pre-allocated, power-of-two array of slots the stages pass around.

use std::cell::UnsafeCell;
use std::fmt;

/// The slots of a ring: `capacity` values of `T`, allocated once at build time and reused forever.
/// Sequence `s` lives in slot `s & (capacity - 1)`.
///
/// Slots are only reachable through a [`crate::Producer`] (mutably, between claim and publish)
/// and [`crate::Consumer`]s (shared, between the moment their barrier shows the slot and their
/// release); those handles enforce the protocol that makes the `UnsafeCell` access sound.
pub struct RingBuffer<T> {
    slots: Box<[UnsafeCell<T>]>,
    mask: usize,
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

impl<T> RingBuffer<T> {
    /// `capacity` slots initialised by `factory(index)`.
    ///
    /// # Panics
    /// If `capacity` is not a power of two (1 is allowed) or exceeds `i64::MAX`.
    pub(crate) fn new(capacity: usize, mut factory: impl FnMut(usize) -> T) -> Self {
        assert!(capacity.is_power_of_two(), "ring capacity must be a power of two, got {capacity}");
        assert!(i64::try_from(capacity).is_ok(), "ring capacity too large");
        let slots = (0..capacity).map(|i| UnsafeCell::new(factory(i))).collect();
        Self { slots, mask: capacity - 1 }
    }

    /// Number of slots.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Raw pointer to the slot holding `sequence`. Dereferencing it is up to the caller, who must
    /// hold the right to access that sequence under the protocol described on the `Sync` impl.
    #[inline]
    pub(crate) fn slot(&self, sequence: i64) -> *mut T {
        debug_assert!(sequence >= 0);
        // Sequences are non-negative when used here, so the cast keeps the low bits we mask.
        let index = (sequence as usize) & self.mask;
        // SAFETY: `index <= mask < slots.len()`.
        unsafe { self.slots.get_unchecked(index) }.get()
    }
}

impl<T> fmt::Debug for RingBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuffer").field("capacity", &self.capacity()).finish_non_exhaustive()
    }
}
