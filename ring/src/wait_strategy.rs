//! How a stage waits for a sequence it depends on: [`WaitStrategy`] and its implementations.
//!
//! Every stage of a ring (the producer waiting for free slots, each consumer waiting for published
//! or upstream-released slots) waits through the ring's single strategy, and every stage calls
//! [`WaitStrategy::signal`] after advancing its own sequence. Strategies that never block make
//! `signal` free; [`Adaptive`] makes it cost one fence and one load unless a thread is parked.

use std::fmt;
use std::hint;
use std::str::FromStr;
use std::sync::atomic::{fence, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::error::UnknownWaitStrategy;

/// A policy for waiting until a condition on sequences becomes true.
pub trait WaitStrategy: Send + Sync + 'static {
    /// Return once `ready()` returns true. `ready` only loads sequences (and run-state flags) and may
    /// be called any number of times, possibly while an internal lock is held.
    fn wait_until<F: FnMut() -> bool>(&self, ready: F);

    /// Wake threads blocked in [`WaitStrategy::wait_until`] so they re-evaluate their condition.
    /// Called after every sequence advance (publish, release) and after close/halt, once per batch.
    fn signal(&self);
}

/// Spin on the condition with a CPU pause hint. Lowest latency; burns a whole core while waiting.
/// Only right when every waiting thread has a core of its own (not on a 2-core machine with more
/// than 2 ring threads).
#[derive(Debug, Default, Clone, Copy)]
pub struct BusySpin;

impl WaitStrategy for BusySpin {
    #[inline]
    fn wait_until<F: FnMut() -> bool>(&self, mut ready: F) {
        while !ready() {
            hint::spin_loop();
        }
    }

    #[inline]
    fn signal(&self) {}
}

/// Optionally spin a little, then `sched_yield` between checks. Good latency when runnable threads
/// barely outnumber cores; still keeps the core busy (the scheduler sees a runnable thread) when
/// idle. The default spins 0 times: with 3 ring threads on 2 cores, spinning only delays the thread
/// being waited for (measured: a 1P->C1->C2 pipeline ran ~2x faster with 0 spins than with 10).
#[derive(Debug, Clone, Copy)]
pub struct Yielding {
    spins: u32,
}

impl Yielding {
    /// Spin `spins` checks before starting to yield.
    pub fn new(spins: u32) -> Self {
        Self { spins }
    }
}

impl Default for Yielding {
    fn default() -> Self {
        Self::new(0)
    }
}

impl WaitStrategy for Yielding {
    #[inline]
    fn wait_until<F: FnMut() -> bool>(&self, mut ready: F) {
        for _ in 0..self.spins {
            if ready() {
                return;
            }
            hint::spin_loop();
        }
        while !ready() {
            thread::yield_now();
        }
    }

    #[inline]
    fn signal(&self) {}
}

/// Spin, yield, then sleep a fixed interval between checks (LMAX's SleepingWaitStrategy). Nearly
/// free when idle, but a waiter notices new work only at its next wake-up (tens of microseconds);
/// publishers never pay a syscall.
#[derive(Debug, Clone, Copy)]
pub struct Sleeping {
    spins: u32,
    yields: u32,
    sleep: Duration,
}

impl Sleeping {
    /// Spin `spins` checks, yield `yields` times, then sleep `sleep` between checks.
    pub fn new(spins: u32, yields: u32, sleep: Duration) -> Self {
        Self { spins, yields, sleep }
    }
}

impl Default for Sleeping {
    fn default() -> Self {
        Self::new(100, 100, Duration::from_micros(50))
    }
}

impl WaitStrategy for Sleeping {
    fn wait_until<F: FnMut() -> bool>(&self, mut ready: F) {
        for _ in 0..self.spins {
            if ready() {
                return;
            }
            hint::spin_loop();
        }
        for _ in 0..self.yields {
            if ready() {
                return;
            }
            thread::yield_now();
        }
        while !ready() {
            thread::sleep(self.sleep);
        }
    }

    #[inline]
    fn signal(&self) {}
}

/// The default: spin briefly, yield a few times, then park on a condition variable until a
/// [`WaitStrategy::signal`] (or a long backstop timeout) wakes it. An idle stage costs no CPU, a
/// busy pipeline never makes a syscall, and a publisher pays the wake-up syscall only when some
/// thread is actually parked (a `sleepers` count). Right for matchd's 2-core machines running 4+
/// ring threads.
///
/// No lost wake-ups: a waiter increments `sleepers`, issues a `SeqCst` fence and re-checks its
/// condition while holding the mutex; a signaller has already stored its sequence, issues a `SeqCst`
/// fence and then loads `sleepers`. The two fences forbid the store-buffering outcome in which
/// the waiter misses the new sequence *and* the signaller misses the sleeper. If the signaller
/// sees a sleeper it takes the mutex, which it can only get once that waiter is inside
/// `Condvar::wait` (the waiter held it from the increment until the wait released it atomically),
/// so the following `notify_all` reaches it.
pub struct Adaptive {
    spins: u32,
    yields: u32,
    park_timeout: Duration,
    sleepers: CachePadded<AtomicUsize>,
    lock: Mutex<()>,
    cond: Condvar,
}

impl Adaptive {
    /// Spin `spins` checks, yield `yields` times, then park; `park_timeout` is only a backstop
    /// (wake-ups come from `signal`), keep it long.
    pub fn new(spins: u32, yields: u32, park_timeout: Duration) -> Self {
        Self {
            spins,
            yields,
            park_timeout,
            sleepers: CachePadded::new(AtomicUsize::new(0)),
            lock: Mutex::new(()),
            cond: Condvar::new(),
        }
    }

    /// How many threads are parked right now (monitoring and tests).
    pub fn sleepers(&self) -> usize {
        self.sleepers.load(Ordering::SeqCst)
    }

    #[cold]
    fn park_until<F: FnMut() -> bool>(&self, ready: &mut F) {
        loop {
            let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.sleepers.fetch_add(1, Ordering::SeqCst);
            // Pairs with the fence in `signal`; see the type-level comment.
            fence(Ordering::SeqCst);
            if ready() {
                self.sleepers.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            let (guard, _timed_out) =
                self.cond.wait_timeout(guard, self.park_timeout).unwrap_or_else(PoisonError::into_inner);
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
            drop(guard);
            if ready() {
                return;
            }
        }
    }
}

impl Default for Adaptive {
    fn default() -> Self {
        Self::new(100, 20, Duration::from_millis(100))
    }
}

impl fmt::Debug for Adaptive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adaptive")
            .field("spins", &self.spins)
            .field("yields", &self.yields)
            .field("park_timeout", &self.park_timeout)
            .field("sleepers", &self.sleepers())
            .finish()
    }
}

impl WaitStrategy for Adaptive {
    #[inline]
    fn wait_until<F: FnMut() -> bool>(&self, mut ready: F) {
        for _ in 0..self.spins {
            if ready() {
                return;
            }
            hint::spin_loop();
        }
        for _ in 0..self.yields {
            if ready() {
                return;
            }
            thread::yield_now();
        }
        self.park_until(&mut ready);
    }

    #[inline]
    fn signal(&self) {
        // The caller's sequence store (Release) precedes this fence; see the type-level comment.
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::Relaxed) != 0 {
            drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
            self.cond.notify_all();
        }
    }
}

/// A wait strategy chosen at run time (from configuration), dispatching with a `match` that
/// only runs on the waiting path and in `signal`.
#[derive(Debug)]
// One per ring, stored inline in the shared state: boxing `Adaptive` would only add a pointer chase
// to every `signal`.
#[allow(clippy::large_enum_variant)]
pub enum AnyWaitStrategy {
    /// [`BusySpin`].
    BusySpin(BusySpin),
    /// [`Yielding`].
    Yielding(Yielding),
    /// [`Sleeping`].
    Sleeping(Sleeping),
    /// [`Adaptive`].
    Adaptive(Adaptive),
}

impl Default for AnyWaitStrategy {
    fn default() -> Self {
        WaitStrategyKind::default().build()
    }
}

impl WaitStrategy for AnyWaitStrategy {
    #[inline]
    fn wait_until<F: FnMut() -> bool>(&self, ready: F) {
        match self {
            Self::BusySpin(w) => w.wait_until(ready),
            Self::Yielding(w) => w.wait_until(ready),
            Self::Sleeping(w) => w.wait_until(ready),
            Self::Adaptive(w) => w.wait_until(ready),
        }
    }

    #[inline]
    fn signal(&self) {
        if let Self::Adaptive(w) = self {
            w.signal();
        }
    }
}

/// The configurable names of the wait strategies: `busy-spin`, `yielding`, `sleeping`, `adaptive`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitStrategyKind {
    /// [`BusySpin`].
    BusySpin,
    /// [`Yielding`].
    Yielding,
    /// [`Sleeping`].
    Sleeping,
    /// [`Adaptive`], the default.
    #[default]
    Adaptive,
}

impl WaitStrategyKind {
    /// Every kind, in configuration-name order.
    pub const ALL: [WaitStrategyKind; 4] = [Self::BusySpin, Self::Yielding, Self::Sleeping, Self::Adaptive];

    /// The configuration name.
    pub fn name(self) -> &'static str {
        match self {
            Self::BusySpin => "busy-spin",
            Self::Yielding => "yielding",
            Self::Sleeping => "sleeping",
            Self::Adaptive => "adaptive",
        }
    }

    /// This kind with default parameters.
    pub fn build(self) -> AnyWaitStrategy {
        match self {
            Self::BusySpin => AnyWaitStrategy::BusySpin(BusySpin),
            Self::Yielding => AnyWaitStrategy::Yielding(Yielding::default()),
            Self::Sleeping => AnyWaitStrategy::Sleeping(Sleeping::default()),
            Self::Adaptive => AnyWaitStrategy::Adaptive(Adaptive::default()),
        }
    }
}

impl fmt::Display for WaitStrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WaitStrategyKind {
    type Err = UnknownWaitStrategy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| UnknownWaitStrategy(s.to_owned()))
    }
}
