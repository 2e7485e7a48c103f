//! matchd's inter-thread ring: an LMAX-Disruptor-style, pre-allocated, single-producer ring
//! buffer with gated consumer stages.
//!
//! The input pipeline is `gateway (Producer) -> journaller (Consumer) -> matcher (Consumer gated
//! on the journaller)`; the producer is gated on the matcher, so it never overwrites a slot the
//! matcher has not released. The output ring `matcher -> publisher` is a plain [`spsc`]. Every
//! stage takes all available slots at once (batching) and waits with one [`WaitStrategy`] per
//! ring; [`Adaptive`] (spin, yield, park, woken by publish) is the default for 2-core machines.
//!
//! Sequences are `i64`, starting at [`INITIAL_SEQUENCE`] (`-1`); sequence `s` lives in slot
//! `s & (capacity - 1)`.
//!
//! Shutdown: dropping (or [`Producer::close`]-ing) the producer lets every stage drain what was
//! published, then their waits return [`RingError::Closed`]; [`HaltHandle::halt`] (or dropping a
//! consumer that has not drained) aborts: waiting stages get [`RingError::Halted`].
//!
//! ```
//! use ring::{spsc, RingBuilder, RingError, WaitStrategyKind};
//! use std::thread;
//!
//! #[derive(Default)]
//! struct Command { id: u64 }
//! #[derive(Default)]
//! struct Event { id: u64 }
//!
//! let wait = || "adaptive".parse::<WaitStrategyKind>().unwrap().build();
//! let mut input = RingBuilder::<Command, _>::new(1 << 12, wait());
//! let journaller = input.consumer(&[]);
//! input.consumer(&[journaller]); // the matcher only sees journalled commands
//! let (mut gateway, stages) = input.build();
//! let [mut journaller, mut matcher]: [_; 2] = stages.try_into().unwrap();
//! let (mut events, mut publisher) = spsc::<Event, _>(1 << 12, wait());
//!
//! let j = thread::spawn(move || loop {
//!     match journaller.wait() {
//!         Ok(batch) => {
//!             for seq in batch.clone() { let _record = journaller.get(seq).id; /* append */ }
//!             /* sync */
//!             journaller.release(*batch.end()); // durable: the matcher may now see them
//!         }
//!         Err(RingError::Closed) => break,
//!         Err(e) => panic!("{e}"),
//!     }
//! });
//! let m = thread::spawn(move || {
//!     while matcher.process(|cmd, _seq, _end_of_batch| {
//!         events.publish_with(|ev| ev.id = cmd.id).unwrap(); // blocks if the publisher lags
//!     }).is_ok() {}
//!     // `events` drops here: the publisher drains and sees Closed.
//! });
//! let p = thread::spawn(move || {
//!     let mut n = 0;
//!     while let Ok(k) = publisher.process(|_ev, _, _| {}) { n += k; }
//!     n
//! });
//! for id in 0..1000 {
//!     // A gateway decodes straight into the slot; `try_claim` returning `None` = stop reading.
//!     let seqs = gateway.claim(1).unwrap();
//!     gateway.slot_mut(*seqs.start()).id = id;
//!     gateway.publish(*seqs.end());
//! }
//! drop(gateway);
//! j.join().unwrap();
//! m.join().unwrap();
//! assert_eq!(p.join().unwrap(), 1000);
//! ```
#![warn(missing_docs)]

mod builder;
mod consumer;
mod error;
mod producer;
mod ring_buffer;
mod sequence;
mod sequence_barrier;
mod sequencer;
mod wait_strategy;

pub use builder::{spsc, ConsumerId, RingBuilder};
pub use consumer::Consumer;
pub use error::{RingError, UnknownWaitStrategy};
pub use producer::Producer;
pub use ring_buffer::RingBuffer;
pub use sequence::{Sequence, INITIAL_SEQUENCE};
pub use sequence_barrier::SequenceBarrier;
pub use sequencer::{HaltHandle, SingleProducerSequencer};
pub use wait_strategy::{Adaptive, AnyWaitStrategy, BusySpin, Sleeping, WaitStrategy, WaitStrategyKind, Yielding};
