//! [`SequenceBarrier`]: what a consumer waits on, i.e. the sequences it may not pass.

use std::fmt;
use std::sync::Arc;

use crate::error::RingError;
use crate::sequence::{minimum_sequence, Sequence};
use crate::sequencer::Shared;
use crate::wait_strategy::WaitStrategy;

/// The gate in front of one consumer: the producer's cursor for a first-stage consumer, or the
/// sequences of the upstream consumers it runs after (the matcher's barrier is the journaller's
/// sequence). Upstream sequences never exceed the cursor, so their minimum is the bound.
pub struct SequenceBarrier<W> {
    shared: Arc<Shared<W>>,
    dependents: Vec<Arc<Sequence>>,
}

impl<W: WaitStrategy> SequenceBarrier<W> {
    /// A barrier on `dependents` (empty = the cursor itself).
    pub(crate) fn new(shared: Arc<Shared<W>>, dependents: Vec<Arc<Sequence>>) -> Self {
        let dependents = if dependents.is_empty() { vec![Arc::clone(&shared.cursor)] } else { dependents };
        Self { shared, dependents }
    }

    /// Highest sequence this consumer may read now. `Acquire` loads: everything written into slots
    /// up to the returned value (by the producer), and every upstream read of them, happens-before
    /// the caller's subsequent accesses.
    #[inline]
    pub fn available(&self) -> i64 {
        minimum_sequence(&self.dependents, i64::MAX)
    }

    /// Wait until `sequence` is available and return the highest available sequence (`>=
    /// sequence`: the whole batch).
    ///
    /// # Errors
    /// [`RingError::Halted`] if the ring is halted while waiting; [`RingError::Closed`] if the
    /// producer is closed and the upstream stages have passed its last sequence, which is below
    /// `sequence` (nothing more will ever come).
    #[inline]
    pub fn wait_for(&self, sequence: i64) -> Result<i64, RingError> {
        let available = self.available();
        if available >= sequence {
            return Ok(available);
        }
        self.wait_for_slow(sequence)
    }

    /// [`SequenceBarrier::wait_for`] that also gives up, returning `Ok(None)`, once `interrupt()`
    /// is true: how a stage that is idle still answers a request from outside the ring (the
    /// matcher's snapshot on SIGUSR1). `interrupt` is checked whenever the wait strategy re-checks
    /// the sequences: every spin or yield, and for a parked [`crate::Adaptive`] waiter at least
    /// once per park timeout (100 ms by default), so a request is seen that late at worst.
    ///
    /// # Errors
    /// As [`SequenceBarrier::wait_for`].
    #[inline]
    pub fn wait_for_unless<F: FnMut() -> bool>(
        &self,
        sequence: i64,
        mut interrupt: F,
    ) -> Result<Option<i64>, RingError> {
        let available = self.available();
        if available >= sequence {
            return Ok(Some(available));
        }
        let mut available = i64::MIN;
        let mut stop = None;
        let mut interrupted = false;
        self.shared.wait.wait_until(|| {
            available = self.available();
            if available >= sequence {
                return true;
            }
            stop = self.stop_reason(available);
            interrupted = interrupt();
            stop.is_some() || interrupted
        });
        match stop {
            _ if available >= sequence => Ok(Some(available)),
            Some(reason) => Err(reason),
            None => {
                debug_assert!(interrupted);
                Ok(None)
            }
        }
    }

    #[cold]
    fn wait_for_slow(&self, sequence: i64) -> Result<i64, RingError> {
        let mut available = i64::MIN;
        let mut stop = None;
        self.shared.wait.wait_until(|| {
            available = self.available();
            if available >= sequence {
                return true;
            }
            stop = self.stop_reason(available);
            stop.is_some()
        });
        match stop {
            Some(reason) if available < sequence => Err(reason),
            _ => Ok(available),
        }
    }

    /// Why waiting past `available` is pointless, if it is.
    #[inline]
    pub(crate) fn stop_reason(&self, available: i64) -> Option<RingError> {
        if self.shared.is_halted() {
            Some(RingError::Halted)
        } else if self.shared.is_closed() && available >= self.shared.cursor.get() {
            // The `Acquire` load of `closed` makes the cursor load return the final cursor, and
            // our dependents already reached it: the caller has consumed everything.
            Some(RingError::Closed)
        } else {
            None
        }
    }
}

impl<W> fmt::Debug for SequenceBarrier<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SequenceBarrier").field("dependents", &self.dependents).finish_non_exhaustive()
    }
}

impl<W> SequenceBarrier<W> {
    pub(crate) fn shared(&self) -> &Arc<Shared<W>> {
        &self.shared
    }
}
