//! [`SingleProducerSequencer`]: the claim/publish protocol of the one producer, and the state it
//! shares with every stage (cursor, wait strategy, close/halt flags).

use std::fmt;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::RingError;
use crate::sequence::{minimum_sequence, Sequence, INITIAL_SEQUENCE};
use crate::wait_strategy::WaitStrategy;

/// State shared by the producer and all consumers of one ring.
pub(crate) struct Shared<W> {
    /// Last published sequence; written only by the producer.
    pub(crate) cursor: Arc<Sequence>,
    pub(crate) wait: W,
    pub(crate) capacity: i64,
    /// Set (after the final publish) when the producer is closed or dropped.
    closed: AtomicBool,
    /// Set to abort every stage.
    halted: AtomicBool,
}

impl<W: WaitStrategy> Shared<W> {
    pub(crate) fn new(capacity: usize, wait: W) -> Self {
        Self {
            cursor: Arc::new(Sequence::default()),
            wait,
            capacity: i64::try_from(capacity).expect("capacity fits i64"),
            closed: AtomicBool::new(false),
            halted: AtomicBool::new(false),
        }
    }

    /// `Acquire`: pairs with the `Release` in [`Shared::close`], so a reader that sees `true` also
    /// sees the final cursor value.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn is_halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wait.signal();
    }

    pub(crate) fn halt(&self) {
        self.halted.store(true, Ordering::Release);
        self.wait.signal();
    }
}

/// Object-safe view of [`Shared`] for [`HaltHandle`].
trait Halt: Send + Sync {
    fn halt(&self);
    fn is_halted(&self) -> bool;
}

impl<W: WaitStrategy> Halt for Shared<W> {
    fn halt(&self) {
        Shared::halt(self)
    }
    fn is_halted(&self) -> bool {
        Shared::is_halted(self)
    }
}

/// A cloneable, type-erased handle that aborts a ring from any thread (shutdown on error, signal
/// handler thread). After [`HaltHandle::halt`], every stage that waits or next has to wait gets
/// [`RingError::Halted`].
#[derive(Clone)]
pub struct HaltHandle {
    inner: Arc<dyn Halt>,
}

impl HaltHandle {
    pub(crate) fn new<W: WaitStrategy>(shared: Arc<Shared<W>>) -> Self {
        Self { inner: shared }
    }

    /// Abort the ring and wake every waiting stage.
    pub fn halt(&self) {
        self.inner.halt();
    }

    /// Whether the ring has been halted.
    pub fn is_halted(&self) -> bool {
        self.inner.is_halted()
    }
}

impl fmt::Debug for HaltHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HaltHandle").field("halted", &self.is_halted()).finish()
    }
}

/// The single producer's claim bookkeeping. Owned by the [`crate::Producer`] (so by one thread):
/// its plain fields need no synchronisation; only the cursor it publishes and the gating
/// sequences it reads are shared.
pub struct SingleProducerSequencer<W> {
    pub(crate) shared: Arc<Shared<W>>,
    /// Sequences of the last consumers (those no other consumer depends on); the producer may not
    /// claim sequence `s` before all of them have released `s - capacity`.
    gating: Vec<Arc<Sequence>>,
    /// Highest sequence claimed so far.
    claimed: i64,
    /// Highest sequence published so far (the cursor's value, kept locally).
    published: i64,
    /// Last observed minimum of `gating` (LMAX's cached value), so a claim usually touches no
    /// shared cache line at all.
    cached_gate: i64,
}

impl<W: WaitStrategy> SingleProducerSequencer<W> {
    pub(crate) fn new(shared: Arc<Shared<W>>, gating: Vec<Arc<Sequence>>) -> Self {
        assert!(!gating.is_empty(), "a ring needs at least one consumer gating its producer");
        Self { shared, gating, claimed: INITIAL_SEQUENCE, published: INITIAL_SEQUENCE, cached_gate: INITIAL_SEQUENCE }
    }

    /// Number of slots.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.shared.capacity as usize
    }

    /// Highest claimed sequence.
    #[inline]
    pub fn claimed(&self) -> i64 {
        self.claimed
    }

    /// Highest published sequence (the cursor).
    #[inline]
    pub fn published(&self) -> i64 {
        self.published
    }

    #[inline]
    fn check_batch(&self, n: usize) -> i64 {
        assert!(n >= 1 && n <= self.capacity(), "claim of {n} slots on a ring of {}", self.capacity());
        n as i64
    }

    /// Claim the next `n` sequences if they are free now, without waiting; `None` when the ring
    /// has fewer than `n` free slots (or is halted and full).
    ///
    /// # Panics
    /// If `n` is 0 or more than the capacity.
    #[inline]
    pub fn try_claim(&mut self, n: usize) -> Option<RangeInclusive<i64>> {
        let hi = self.claimed + self.check_batch(n);
        // Slot of `hi` last held `hi - capacity`: every gating consumer must have released it.
        let wrap = hi - self.shared.capacity;
        if wrap > self.cached_gate {
            // `Acquire` loads: the consumers' reads of those slots happen-before our coming writes.
            self.cached_gate = minimum_sequence(&self.gating, self.claimed);
            if wrap > self.cached_gate {
                return None;
            }
        }
        let lo = self.claimed + 1;
        self.claimed = hi;
        Some(lo..=hi)
    }

    /// Claim the next `n` sequences, waiting with the ring's wait strategy while the ring is full
    /// (backpressure).
    ///
    /// # Errors
    /// [`RingError::Halted`] if the ring is halted while waiting.
    ///
    /// # Panics
    /// If `n` is 0 or more than the capacity.
    #[inline]
    pub fn claim(&mut self, n: usize) -> Result<RangeInclusive<i64>, RingError> {
        if let Some(range) = self.try_claim(n) {
            return Ok(range);
        }
        self.claim_slow(n)
    }

    #[cold]
    fn claim_slow(&mut self, n: usize) -> Result<RangeInclusive<i64>, RingError> {
        let wrap = self.claimed + n as i64 - self.shared.capacity;
        let (gating, shared, claimed) = (&self.gating, &self.shared, self.claimed);
        let mut gate = self.cached_gate;
        shared.wait.wait_until(|| {
            gate = minimum_sequence(gating, claimed);
            gate >= wrap || shared.is_halted()
        });
        self.cached_gate = gate;
        if gate < wrap {
            return Err(RingError::Halted);
        }
        Ok(self.try_claim(n).expect("slots became free"))
    }

    /// Publish every claimed sequence up to `hi`.
    ///
    /// # Panics
    /// If `hi` was not claimed or is already published.
    #[inline]
    pub fn publish(&mut self, hi: i64) {
        assert!(
            hi > self.published && hi <= self.claimed,
            "publish({hi}) outside the claimed, unpublished range {}..={}",
            self.published + 1,
            self.claimed
        );
        self.published = hi;
        // `Release`: the slot writes made since the claim happen-before any consumer's `Acquire`
        // load that observes `hi`.
        self.shared.cursor.set(hi);
        self.shared.wait.signal();
    }

    /// Slots that a claim could take right now without waiting (reads the gating sequences).
    pub fn free_slots(&self) -> usize {
        let gate = minimum_sequence(&self.gating, self.claimed);
        (self.shared.capacity - (self.claimed - gate)) as usize
    }
}

impl<W> fmt::Debug for SingleProducerSequencer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleProducerSequencer")
            .field("claimed", &self.claimed)
            .field("published", &self.published)
            .field("cached_gate", &self.cached_gate)
            .finish_non_exhaustive()
    }
}
