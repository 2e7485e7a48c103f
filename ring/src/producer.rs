//! [`Producer`]: the single writer of a ring (the gateway, or the matcher on the output ring).

use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;

use crate::error::RingError;
use crate::ring_buffer::RingBuffer;
use crate::sequencer::{HaltHandle, SingleProducerSequencer};
use crate::wait_strategy::{AnyWaitStrategy, WaitStrategy};

/// The one producer of a ring: claims slots, fills them in place, publishes them. Not `Clone`
/// (single producer); `Send`, so it can be moved to its thread. Dropping it (or [`Producer::close`])
/// closes the ring: consumers drain what was published, then get [`RingError::Closed`].
///
/// ```
/// let mut b = ring::RingBuilder::<u64, _>::new(8, ring::BusySpin);
/// b.consumer(&[]);
/// let (mut producer, mut consumers) = b.build();
/// let seqs = producer.claim(2).unwrap();
/// for s in seqs.clone() {
///     *producer.slot_mut(s) = s as u64 * 10;
/// }
/// producer.publish(*seqs.end());
/// let got = consumers[0].wait().unwrap();
/// assert_eq!(got, 0..=1);
/// assert_eq!(*consumers[0].get(1), 10);
/// consumers[0].release(1);
/// ```
pub struct Producer<T, W: WaitStrategy = AnyWaitStrategy> {
    ring: Arc<RingBuffer<T>>,
    sequencer: SingleProducerSequencer<W>,
}

impl<T, W: WaitStrategy> Producer<T, W> {
    pub(crate) fn new(ring: Arc<RingBuffer<T>>, sequencer: SingleProducerSequencer<W>) -> Self {
        Self { ring, sequencer }
    }

    /// Number of slots.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Whether the slots are left out of forked children ([`crate::RingBuilder::dont_fork`]).
    pub fn slots_unforked(&self) -> bool {
        self.ring.is_unforked()
    }

    /// Claim the next `n` slots, waiting (with the ring's wait strategy) while the ring is full.
    /// The range may be filled through [`Producer::slot_mut`] in any order, then published.
    ///
    /// # Errors
    /// [`RingError::Halted`] if the ring is halted while waiting for space.
    ///
    /// # Panics
    /// If `n` is 0 or more than the capacity.
    #[inline]
    pub fn claim(&mut self, n: usize) -> Result<RangeInclusive<i64>, RingError> {
        self.sequencer.claim(n)
    }

    /// Claim the next `n` slots only if they are free now; `None` when the ring is full (the
    /// gateway's cue to stop reading sockets). A halted ring also ends up returning `None`: check
    /// [`Producer::is_halted`] when it does.
    ///
    /// # Panics
    /// If `n` is 0 or more than the capacity.
    #[inline]
    pub fn try_claim(&mut self, n: usize) -> Option<RangeInclusive<i64>> {
        self.sequencer.try_claim(n)
    }

    /// The slot of a claimed, not yet published `sequence`, to fill in place. It still holds
    /// whatever the previous lap left there.
    ///
    /// # Panics
    /// If `sequence` is not claimed-and-unpublished.
    #[inline]
    pub fn slot_mut(&mut self, sequence: i64) -> &mut T {
        assert!(
            sequence > self.sequencer.published() && sequence <= self.sequencer.claimed(),
            "slot_mut({sequence}) outside the claimed, unpublished range {}..={}",
            self.sequencer.published() + 1,
            self.sequencer.claimed()
        );
        // Why: `sequence` is claimed and unpublished, so (1) no consumer can see it: every
        // barrier is bounded by the cursor, which is below `sequence`; (2) its previous lap,
        // `sequence - capacity`, was released by every gating (last-stage) consumer, observed by
        // an `Acquire` load in `try_claim`/`claim`, and every other consumer is upstream of one of
        // those and so has released it too; their reads happen-before this write. The returned
        // borrow holds `&mut self`, so no second `&mut` to any slot nor a publish can coexist.
        // SAFETY: claimed, unpublished, previous lap released by all: this is the only access.
        unsafe { &mut *self.ring.slot(sequence) }
    }

    /// Make every claimed slot up to `hi` visible to the consumers and wake any parked one.
    ///
    /// # Panics
    /// If `hi` is not claimed or is already published.
    #[inline]
    pub fn publish(&mut self, hi: i64) {
        self.sequencer.publish(hi);
    }

    /// Claim one slot (waiting if full), let `fill` write it, publish it; returns its sequence.
    ///
    /// # Errors
    /// [`RingError::Halted`] if the ring is halted while waiting for space.
    #[inline]
    pub fn publish_with<F: FnOnce(&mut T)>(&mut self, fill: F) -> Result<i64, RingError> {
        let seq = *self.claim(1)?.end();
        fill(self.slot_mut(seq));
        self.publish(seq);
        Ok(seq)
    }

    /// Like [`Producer::publish_with`] but `None` (and `fill` not called) when the ring is full.
    #[inline]
    pub fn try_publish_with<F: FnOnce(&mut T)>(&mut self, fill: F) -> Option<i64> {
        let seq = *self.try_claim(1)?.end();
        fill(self.slot_mut(seq));
        self.publish(seq);
        Some(seq)
    }

    /// Highest published sequence (`-1` before the first publish).
    #[inline]
    pub fn cursor(&self) -> i64 {
        self.sequencer.published()
    }

    /// Highest claimed sequence.
    #[inline]
    pub fn claimed(&self) -> i64 {
        self.sequencer.claimed()
    }

    /// Slots a claim could take right now without waiting.
    pub fn free_slots(&self) -> usize {
        self.sequencer.free_slots()
    }

    /// Whether the ring was halted.
    pub fn is_halted(&self) -> bool {
        self.sequencer.shared.is_halted()
    }

    /// A handle that can halt this ring from any thread.
    pub fn halt_handle(&self) -> HaltHandle {
        HaltHandle::new(Arc::clone(&self.sequencer.shared))
    }

    /// The ring's wait strategy (e.g. to read [`crate::Adaptive::sleepers`]).
    pub fn wait_strategy(&self) -> &W {
        &self.sequencer.shared.wait
    }

    /// Close the ring (same as dropping the producer): claimed but unpublished slots are
    /// abandoned; consumers drain what was published, then get [`RingError::Closed`].
    pub fn close(self) {}
}

impl<T, W: WaitStrategy> Drop for Producer<T, W> {
    fn drop(&mut self) {
        // Everything published is already in the cursor; `close` stores the flag after it.
        self.sequencer.shared.close();
    }
}

impl<T, W: WaitStrategy> fmt::Debug for Producer<T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer").field("ring", &self.ring).field("sequencer", &self.sequencer).finish()
    }
}
