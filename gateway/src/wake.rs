//! [`Wake`]: wakes a thread asleep in `mio::Poll::poll` when another thread has work for it.

use std::sync::atomic::{fence, AtomicBool, Ordering};

/// Wakes a thread that sleeps in `mio::Poll::poll` when another thread has
/// work for it, paying the eventfd write only when it actually sleeps.
pub struct Wake {
    sleeping: AtomicBool,
    waker: mio::Waker,
}

impl Wake {
    /// Wraps a waker registered with the sleeper's poll.
    pub fn new(waker: mio::Waker) -> Self {
        Self { sleeping: AtomicBool::new(false), waker }
    }

    /// The sleeper calls this before re-checking for work and sleeping.
    #[inline]
    pub fn about_to_sleep(&self) {
        self.sleeping.store(true, Ordering::Relaxed);
        // Pairs with the fence in `notify`: either the sleeper's re-check sees
        // the producer's work, or the producer sees `sleeping` (Dekker).
        fence(Ordering::SeqCst);
    }

    /// The sleeper calls this when it wakes or finds work.
    #[inline]
    pub fn awake(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// A producer calls this after making work visible.
    #[inline]
    pub fn notify(&self) {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) {
            // A failed wake only delays the sleeper to its poll timeout.
            let _ = self.waker.wake();
        }
    }
}
