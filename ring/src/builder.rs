//! [`RingBuilder`]: wires a ring's topology (which consumer runs after which) and hands out the
//! producer and consumer handles.

use std::fmt;
use std::sync::Arc;

use crate::consumer::Consumer;
use crate::producer::Producer;
use crate::ring_buffer::RingBuffer;
use crate::sequence::Sequence;
use crate::sequence_barrier::SequenceBarrier;
use crate::sequencer::{Shared, SingleProducerSequencer};
use crate::wait_strategy::WaitStrategy;

/// Names a consumer declared on a [`RingBuilder`]; its index in the `Vec` that
/// [`RingBuilder::build`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConsumerId(pub usize);

/// Declares the consumers of a single-producer ring, then builds it.
///
/// ```
/// use ring::{RingBuilder, WaitStrategyKind};
/// // gateway -> journaller -> matcher: the matcher only sees what the journaller released.
/// let mut b = RingBuilder::<[u64; 8], _>::new(1 << 10, WaitStrategyKind::Adaptive.build());
/// let journaller = b.consumer(&[]);
/// let _matcher = b.consumer(&[journaller]);
/// let (producer, consumers) = b.build();
/// let [journaller, matcher]: [_; 2] = consumers.try_into().unwrap();
/// # drop((producer, journaller, matcher));
/// ```
pub struct RingBuilder<T, W> {
    capacity: usize,
    wait: W,
    /// For each declared consumer, the consumers it runs after (empty: after the producer).
    dependencies: Vec<Vec<usize>>,
    dont_fork: bool,
    _slots: std::marker::PhantomData<fn() -> T>,
}

impl<T, W: WaitStrategy> RingBuilder<T, W> {
    /// A ring of `capacity` slots whose stages all wait with `wait`.
    ///
    /// # Panics
    /// If `capacity` is not a power of two.
    pub fn new(capacity: usize, wait: W) -> Self {
        assert!(capacity.is_power_of_two(), "ring capacity must be a power of two, got {capacity}");
        Self { capacity, wait, dependencies: Vec::new(), dont_fork: false, _slots: std::marker::PhantomData }
    }

    /// Put the slots in an anonymous mapping advised `MADV_DONTFORK`: a process that `fork()`s
    /// while the ring is in use (matchd's snapshot child) does not copy their page tables, and
    /// the child has no access to them.
    pub fn dont_fork(mut self) -> Self {
        self.dont_fork = true;
        self
    }

    /// Declare a consumer that may only read sequences every consumer in `after` has released
    /// (all of them: fan-in), or, with `after` empty, sequences the producer has published.
    ///
    /// # Panics
    /// If an id in `after` was not returned by this builder.
    pub fn consumer(&mut self, after: &[ConsumerId]) -> ConsumerId {
        let id = self.dependencies.len();
        for dep in after {
            assert!(dep.0 < id, "unknown consumer {dep:?}");
        }
        self.dependencies.push(after.iter().map(|d| d.0).collect());
        ConsumerId(id)
    }

    /// Build with every slot `T::default()`.
    ///
    /// # Panics
    /// If no consumer was declared.
    pub fn build(self) -> (Producer<T, W>, Vec<Consumer<T, W>>)
    where
        T: Default,
    {
        self.build_with(|_| T::default())
    }

    /// Build with slot `i` initialised to `factory(i)`. Returns the producer and the consumers
    /// in declaration order. The producer is gated on the last stages: the consumers no other
    /// consumer runs after.
    ///
    /// # Panics
    /// If no consumer was declared.
    pub fn build_with(self, factory: impl FnMut(usize) -> T) -> (Producer<T, W>, Vec<Consumer<T, W>>) {
        assert!(!self.dependencies.is_empty(), "a ring needs at least one consumer");
        let ring = Arc::new(RingBuffer::new(self.capacity, factory, self.dont_fork));
        let shared = Arc::new(Shared::new(self.capacity, self.wait));
        let sequences: Vec<Arc<Sequence>> =
            (0..self.dependencies.len()).map(|_| Arc::new(Sequence::default())).collect();
        let mut is_upstream = vec![false; sequences.len()];
        let consumers = self
            .dependencies
            .iter()
            .enumerate()
            .map(|(i, deps)| {
                let dependents = deps
                    .iter()
                    .map(|&d| {
                        is_upstream[d] = true;
                        Arc::clone(&sequences[d])
                    })
                    .collect();
                let barrier = SequenceBarrier::new(Arc::clone(&shared), dependents);
                Consumer::new(Arc::clone(&ring), barrier, Arc::clone(&sequences[i]))
            })
            .collect();
        let gating = sequences.iter().zip(&is_upstream).filter(|(_, &up)| !up).map(|(s, _)| Arc::clone(s)).collect();
        let producer = Producer::new(ring, SingleProducerSequencer::new(shared, gating));
        (producer, consumers)
    }
}

impl<T, W> fmt::Debug for RingBuilder<T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuilder")
            .field("capacity", &self.capacity)
            .field("dependencies", &self.dependencies)
            .finish_non_exhaustive()
    }
}

/// A one-producer, one-consumer ring (e.g. matcher -> publisher).
///
/// # Panics
/// If `capacity` is not a power of two.
pub fn spsc<T: Default, W: WaitStrategy>(capacity: usize, wait: W) -> (Producer<T, W>, Consumer<T, W>) {
    let mut builder = RingBuilder::new(capacity, wait);
    builder.consumer(&[]);
    let (producer, mut consumers) = builder.build();
    let consumer = consumers.pop().expect("one consumer");
    (producer, consumer)
}
