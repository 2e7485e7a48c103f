//! [`Sequence`]: a cache-padded atomic counter naming the last slot a stage has finished with.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use crossbeam_utils::CachePadded;

/// The value of every sequence before anything has been published or consumed.
pub const INITIAL_SEQUENCE: i64 = -1;

/// A monotonically increasing position in a ring: the producer's cursor (last published slot) or a
/// consumer's progress (last slot it released). Padded to its own cache line(s) so that the
/// producer's and each consumer's counters never false-share.
///
/// Ordering contract: [`Sequence::set`] is a `Release` store made *after* the owner finished all its
/// accesses to the slots up to the new value, and [`Sequence::get`] is an `Acquire` load. So a thread
/// that reads value `v` also sees every slot write (producer) or is ordered after every slot read
/// (consumer) the owner made for sequences `<= v`. That pairing is what makes the plain, non-atomic
/// slot accesses of the ring data-race free.
pub struct Sequence {
    value: CachePadded<AtomicI64>,
}

impl Sequence {
    /// A sequence starting at `initial` (normally [`INITIAL_SEQUENCE`]).
    pub fn new(initial: i64) -> Self {
        Self { value: CachePadded::new(AtomicI64::new(initial)) }
    }

    /// Current value, `Acquire`: pairs with the owner's `Release` in [`Sequence::set`].
    #[inline]
    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Acquire)
    }

    /// Current value without synchronising; only for the owning thread (which wrote it) or for
    /// monitoring, never to decide that a slot may be touched.
    #[inline]
    pub fn get_relaxed(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }

    /// Advance to `value`, `Release`: every slot access the owner made before this call
    /// happens-before anything another thread does after an [`Sequence::get`] that returns `value`
    /// (or more). Only the owning stage may call this.
    #[inline]
    pub fn set(&self, value: i64) {
        self.value.store(value, Ordering::Release);
    }
}

impl Default for Sequence {
    fn default() -> Self {
        Self::new(INITIAL_SEQUENCE)
    }
}

impl fmt::Debug for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sequence").field(&self.get_relaxed()).finish()
    }
}

/// The smallest value among `sequences`, or `default` when there are none.
#[inline]
pub(crate) fn minimum_sequence(sequences: &[std::sync::Arc<Sequence>], default: i64) -> i64 {
    let mut min = default;
    for s in sequences {
        min = min.min(s.get());
    }
    min
}
