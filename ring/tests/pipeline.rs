//! Real threads through the two shapes matchd uses: 1P1C and 1P -> C1 -> C2 (C2 gated on C1, the
//! producer gated on C2). Every item must arrive exactly once, in order, with the content the
//! producer wrote for that sequence; C2 must never see a slot C1 has not handled; the producer must
//! never overwrite a slot whose previous lap the last stage has not handled.

mod common;

use std::sync::atomic::Ordering;
use std::thread;

use common::{check, fill, stamp, Slot};
use ring::{RingBuilder, RingError, WaitStrategy, WaitStrategyKind};

/// Producer: claims batches of varying size (1..=max_batch) or single slots, fills, publishes.
fn produce<W: WaitStrategy>(mut producer: ring::Producer<Slot, W>, items: i64, max_batch: usize, via_c2: bool) {
    let capacity = producer.capacity() as i64;
    let mut next = 0i64;
    let mut k = 0usize;
    while next < items {
        k += 1;
        let n = ((k % max_batch) + 1).min((items - next) as usize).min(capacity as usize);
        let range = producer.claim(n).expect("not halted");
        assert_eq!(*range.start(), next);
        for seq in range.clone() {
            fill(producer.slot_mut(seq), seq, capacity, via_c2);
        }
        producer.publish(*range.end());
        next = *range.end() + 1;
    }
    // Dropping closes the ring.
}

fn run_1p1c(kind: WaitStrategyKind, items: i64, capacity: usize) {
    let mut builder = RingBuilder::<Slot, _>::new(capacity, kind.build());
    builder.consumer(&[]);
    let (producer, mut consumers) = builder.build();
    let mut consumer = consumers.pop().unwrap();
    let handle = thread::spawn(move || {
        let mut expected = 0i64;
        let mut batches = 0u64;
        loop {
            match consumer.wait() {
                Ok(range) => {
                    batches += 1;
                    for seq in range.clone() {
                        let slot = consumer.get(seq);
                        check(slot, seq, expected);
                        stamp(&slot.c1_done, seq);
                        expected += 1;
                    }
                    consumer.release(*range.end());
                }
                Err(RingError::Closed) => break,
                Err(e) => panic!("consumer: {e}"),
            }
        }
        (expected, batches)
    });
    produce(producer, items, 16, false);
    let (seen, batches) = handle.join().unwrap();
    assert_eq!(seen, items, "every item exactly once");
    assert!(batches <= items as u64);
}

fn run_pipeline(kind: WaitStrategyKind, items: i64, capacity: usize) {
    let mut builder = RingBuilder::<Slot, _>::new(capacity, kind.build());
    let c1 = builder.consumer(&[]);
    builder.consumer(&[c1]);
    let (producer, consumers) = builder.build();
    let [mut first, mut second]: [_; 2] = consumers.try_into().unwrap();

    let journaller = thread::spawn(move || {
        let mut expected = 0i64;
        loop {
            match first.wait() {
                Ok(range) => {
                    // Release in two halves to exercise partial release.
                    let (lo, hi) = (*range.start(), *range.end());
                    let mid = lo + (hi - lo) / 2;
                    for seq in range {
                        let slot = first.get(seq);
                        check(slot, seq, expected);
                        assert_eq!(
                            slot.c2_done.load(Ordering::Relaxed),
                            if seq >= capacity as i64 { seq - capacity as i64 } else { -1 }
                        );
                        stamp(&slot.c1_done, seq);
                        expected += 1;
                        if seq == mid {
                            first.release(mid);
                        }
                    }
                    if hi > mid {
                        first.release(hi);
                    }
                }
                Err(RingError::Closed) => break,
                Err(e) => panic!("C1: {e}"),
            }
        }
        expected
    });
    let matcher = thread::spawn(move || {
        let mut expected = 0i64;
        loop {
            match second.process(|slot, seq, _end| {
                check(slot, seq, expected);
                assert_eq!(slot.c1_done.load(Ordering::Relaxed), seq, "C2 saw {seq} before C1 handled it");
                stamp(&slot.c2_done, seq);
                expected += 1;
            }) {
                Ok(n) => assert!(n >= 1),
                Err(RingError::Closed) => break,
                Err(e) => panic!("C2: {e}"),
            }
        }
        expected
    });
    produce(producer, items, 8, true);
    assert_eq!(journaller.join().unwrap(), items);
    assert_eq!(matcher.join().unwrap(), items);
}

#[test]
fn one_producer_one_consumer_millions_in_order() {
    run_1p1c(WaitStrategyKind::Adaptive, 3_000_000, 1024);
}

#[test]
fn one_producer_one_consumer_tiny_ring_backpressure() {
    // Capacity 4 with batches up to 4: the producer is full almost always.
    run_1p1c(WaitStrategyKind::Adaptive, 200_000, 4);
}

#[test]
fn pipeline_c2_gated_on_c1_millions_in_order() {
    run_pipeline(WaitStrategyKind::Adaptive, 2_000_000, 1024);
}

#[test]
fn pipeline_small_ring_backpressure() {
    run_pipeline(WaitStrategyKind::Adaptive, 100_000, 8);
}

#[test]
fn every_wait_strategy_runs_the_pipeline() {
    for kind in WaitStrategyKind::ALL {
        // Busy-spin with 3 threads on 2 cores only progresses at scheduler ticks (a full ring
        // spins a whole time slice): keep it to a couple of laps of a bigger ring.
        let (items, capacity) = if kind == WaitStrategyKind::BusySpin { (4_000, 1024) } else { (200_000, 64) };
        run_pipeline(kind, items, capacity);
        run_1p1c(kind, items, capacity);
    }
}

#[test]
fn fan_in_consumer_waits_for_both_upstreams() {
    let items = 200_000i64;
    let mut builder = RingBuilder::<Slot, _>::new(256, WaitStrategyKind::Adaptive.build());
    let a = builder.consumer(&[]);
    let b = builder.consumer(&[]);
    builder.consumer(&[a, b]);
    let (producer, consumers) = builder.build();
    let [mut ca, mut cb, mut cj]: [_; 3] = consumers.try_into().unwrap();
    let ta = thread::spawn(move || {
        let mut n = 0i64;
        while let Ok(k) = ca.process(|slot, seq, _| {
            check(slot, seq, n);
            stamp(&slot.c1_done, seq);
            n += 1;
        }) {
            assert!(k > 0);
        }
        n
    });
    let tb = thread::spawn(move || {
        let mut n = 0i64;
        while let Ok(k) = cb.process(|slot, seq, _| {
            check(slot, seq, n);
            stamp(&slot.c2_done, seq);
            n += 1;
        }) {
            assert!(k > 0);
        }
        n
    });
    let tj = thread::spawn(move || {
        let mut n = 0i64;
        while let Ok(k) = cj.process(|slot, seq, _| {
            check(slot, seq, n);
            assert_eq!(slot.c1_done.load(Ordering::Relaxed), seq);
            assert_eq!(slot.c2_done.load(Ordering::Relaxed), seq);
            n += 1;
        }) {
            assert!(k > 0);
        }
        n
    });
    let mut producer = producer;
    for i in 0..items {
        producer
            .publish_with(|slot| {
                slot.seq = i;
                slot.payload = common::payload(i);
            })
            .unwrap();
    }
    drop(producer);
    assert_eq!(ta.join().unwrap(), items);
    assert_eq!(tb.join().unwrap(), items);
    assert_eq!(tj.join().unwrap(), items);
}
