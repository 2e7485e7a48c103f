//! [`Consumer`]: one event-processing stage (journaller, matcher, publisher).

use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;

use crate::error::RingError;
use crate::ring_buffer::RingBuffer;
use crate::sequence::{Sequence, INITIAL_SEQUENCE};
use crate::sequence_barrier::SequenceBarrier;
use crate::sequencer::HaltHandle;
use crate::wait_strategy::{AnyWaitStrategy, WaitStrategy};

/// One consumer stage of a ring. It takes every available sequence at once
/// ([`Consumer::wait`] returns the whole `lo..=hi` batch), reads the slots by reference with
/// [`Consumer::get`], and [`Consumer::release`]s them when done, which lets downstream stages
/// (and finally the producer) pass them. Releasing can be partial, e.g. only what was made durable.
///
/// Dropping a consumer that has not yet consumed everything the (closed) producer published halts
/// the ring, so a dead stage never leaves the others blocked forever.
pub struct Consumer<T, W: WaitStrategy = AnyWaitStrategy> {
    ring: Arc<RingBuffer<T>>,
    barrier: SequenceBarrier<W>,
    /// This stage's progress: last released sequence. Read by downstream barriers and the producer.
    sequence: Arc<Sequence>,
    /// Local copy of `sequence`.
    released: i64,
    /// Highest sequence the barrier showed us; slots in `released + 1..=available` are readable.
    available: i64,
}

impl<T, W: WaitStrategy> Consumer<T, W> {
    pub(crate) fn new(ring: Arc<RingBuffer<T>>, barrier: SequenceBarrier<W>, sequence: Arc<Sequence>) -> Self {
        Self { ring, barrier, sequence, released: INITIAL_SEQUENCE, available: INITIAL_SEQUENCE }
    }

    /// Wait (with the ring's wait strategy) for at least one unreleased sequence and return all
    /// of them: `released + 1 ..= highest available`.
    ///
    /// # Errors
    /// [`RingError::Closed`] once the producer is closed and everything it published has been
    /// released by this stage; [`RingError::Halted`] if the ring is halted while waiting.
    #[inline]
    pub fn wait(&mut self) -> Result<RangeInclusive<i64>, RingError> {
        let next = self.released + 1;
        self.available = self.barrier.wait_for(next)?;
        Ok(next..=self.available)
    }

    /// [`Consumer::wait`] that returns `Ok(None)` once `interrupt()` is true while nothing is
    /// available (see [`SequenceBarrier::wait_for_unless`] for how promptly).
    ///
    /// # Errors
    /// As [`Consumer::wait`].
    #[inline]
    pub fn wait_unless<F: FnMut() -> bool>(&mut self, interrupt: F) -> Result<Option<RangeInclusive<i64>>, RingError> {
        let next = self.released + 1;
        match self.barrier.wait_for_unless(next, interrupt)? {
            Some(available) => {
                self.available = available;
                Ok(Some(next..=available))
            }
            None => Ok(None),
        }
    }

    /// Like [`Consumer::wait`] without waiting: `Ok(None)` when nothing new is available.
    ///
    /// # Errors
    /// As [`Consumer::wait`].
    #[inline]
    pub fn poll(&mut self) -> Result<Option<RangeInclusive<i64>>, RingError> {
        let next = self.released + 1;
        let available = self.barrier.available();
        if available >= next {
            self.available = available;
            return Ok(Some(next..=available));
        }
        match self.barrier.stop_reason(available) {
            Some(reason) => Err(reason),
            None => Ok(None),
        }
    }

    /// The slot holding `sequence`, which must lie in the last range returned by
    /// [`Consumer::wait`]/[`Consumer::poll`] and not be released yet.
    ///
    /// # Panics
    /// If `sequence` is outside `released + 1 ..= available`.
    #[inline]
    pub fn get(&self, sequence: i64) -> &T {
        assert!(
            sequence > self.released && sequence <= self.available,
            "get({sequence}) outside the readable range {}..={}",
            self.released + 1,
            self.available
        );
        // Why: `sequence <= available`, a value our barrier returned from an `Acquire` load of
        // the cursor or of upstream sequences, so the producer's writes to this slot (made before
        // its `Release` publish) happen-before this read. The producer cannot start the next lap
        // of this slot (`sequence + capacity`) until every gating consumer has released
        // `sequence`; gating consumers are this stage or downstream of it, and downstream stages
        // cannot pass our sequence, which stays below `sequence` until `release(&mut self)`, which
        // the returned borrow of `&self` prevents. Other consumers only take shared references.
        // SAFETY: published, not yet released by this stage: no write can race this shared read.
        unsafe { &*self.ring.slot(sequence) }
    }

    /// Mark every sequence up to `upto` as done, letting downstream stages and the producer pass
    /// it, and wake any parked one.
    ///
    /// # Panics
    /// If `upto` is not in `released + 1 ..= available`.
    #[inline]
    pub fn release(&mut self, upto: i64) {
        assert!(
            upto > self.released && upto <= self.available,
            "release({upto}) outside the readable range {}..={}",
            self.released + 1,
            self.available
        );
        self.released = upto;
        // `Release`: our reads of these slots happen-before a downstream stage's or the producer's
        // `Acquire` load that observes `upto`, hence before the producer rewrites them.
        self.sequence.set(upto);
        self.barrier.shared().wait.signal();
    }

    /// Wait for a batch, call `handler(slot, sequence, end_of_batch)` on each slot, release the
    /// batch; returns how many slots were handled.
    ///
    /// # Errors
    /// As [`Consumer::wait`].
    #[inline]
    pub fn process<F: FnMut(&T, i64, bool)>(&mut self, mut handler: F) -> Result<usize, RingError> {
        let range = self.wait()?;
        let (lo, hi) = (*range.start(), *range.end());
        for seq in range {
            handler(self.get(seq), seq, seq == hi);
        }
        self.release(hi);
        Ok((hi - lo + 1) as usize)
    }

    /// Last released sequence (`-1` before the first release).
    #[inline]
    pub fn sequence(&self) -> i64 {
        self.released
    }

    /// Whether the ring was halted.
    pub fn is_halted(&self) -> bool {
        self.barrier.shared().is_halted()
    }

    /// A handle that can halt this ring from any thread.
    pub fn halt_handle(&self) -> HaltHandle {
        HaltHandle::new(Arc::clone(self.barrier.shared()))
    }

    /// The ring's wait strategy (e.g. to read [`crate::Adaptive::sleepers`]).
    pub fn wait_strategy(&self) -> &W {
        &self.barrier.shared().wait
    }
}

impl<T, W: WaitStrategy> Drop for Consumer<T, W> {
    fn drop(&mut self) {
        let shared = self.barrier.shared();
        let drained = shared.is_closed() && self.released >= shared.cursor.get();
        if !drained {
            shared.halt();
        }
    }
}

impl<T, W: WaitStrategy> fmt::Debug for Consumer<T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("released", &self.released)
            .field("available", &self.available)
            .field("barrier", &self.barrier)
            .finish_non_exhaustive()
    }
}
