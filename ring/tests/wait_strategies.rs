//! Each wait strategy wakes and stops correctly; the adaptive one parks when idle and is woken by
//! publish / release / halt. Wake-ups are checked functionally: the park backstop timeout is an
//! hour, so only a real signal can wake the parked thread before the test's generous deadline.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ring::{spsc, Adaptive, RingError, Sleeping, WaitStrategy, WaitStrategyKind, Yielding};

const DEADLINE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn wait_for_sleepers<T, W: WaitStrategy>(sleepers: impl Fn() -> usize, _hint: Option<&ring::Producer<T, W>>) {
    for _ in 0..60_000 {
        if sleepers() >= 1 {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
    panic!("no thread parked");
}

/// CPU time consumed by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid pointer to a timespec; CLOCK_THREAD_CPUTIME_ID is supported on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn adaptive_publish_wakes_a_parked_consumer() {
    let (mut p, mut c) = spsc::<u64, _>(16, Adaptive::new(10, 2, HOUR));
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        for round in 0..3u64 {
            let r = c.wait().unwrap();
            let v = *c.get(*r.start());
            c.release(*r.end());
            tx.send((round, v)).unwrap();
        }
        c
    });
    for round in 0..3u64 {
        wait_for_sleepers(|| p.wait_strategy().sleepers(), Some(&p));
        p.publish_with(|s| *s = 40 + round).unwrap();
        assert_eq!(rx.recv_timeout(DEADLINE).expect("parked consumer was not woken"), (round, 40 + round));
    }
    let _c = t.join().unwrap();
}

#[test]
fn adaptive_release_wakes_a_producer_parked_on_a_full_ring() {
    let (mut p, mut c) = spsc::<u64, _>(4, Adaptive::new(10, 2, HOUR));
    let r = p.claim(4).unwrap();
    p.publish(*r.end());
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        let r = p.claim(1).unwrap(); // blocks: ring full
        tx.send(r).unwrap();
        p
    });
    wait_for_sleepers(|| c.wait_strategy().sleepers(), None::<&ring::Producer<u64, Adaptive>>);
    assert!(rx.try_recv().is_err(), "claim returned while full");
    assert_eq!(c.wait().unwrap(), 0..=3);
    c.release(0);
    assert_eq!(rx.recv_timeout(DEADLINE).expect("parked producer was not woken"), 4..=4);
    let _p = t.join().unwrap();
}

#[test]
fn adaptive_upstream_release_wakes_a_parked_second_stage() {
    let mut b = ring::RingBuilder::<u64, _>::new(8, Adaptive::new(10, 2, HOUR));
    let c1 = b.consumer(&[]);
    b.consumer(&[c1]);
    let (mut p, consumers) = b.build();
    let [mut first, mut second]: [_; 2] = consumers.try_into().unwrap();
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        let r = second.wait().unwrap();
        tx.send(r.clone()).unwrap();
        second.release(*r.end());
        second
    });
    p.publish_with(|s| *s = 1).unwrap();
    wait_for_sleepers(|| p.wait_strategy().sleepers(), Some(&p));
    assert!(rx.try_recv().is_err(), "C2 passed C1");
    assert_eq!(first.wait().unwrap(), 0..=0);
    first.release(0);
    assert_eq!(rx.recv_timeout(DEADLINE).expect("C2 not woken by C1's release"), 0..=0);
    let _second = t.join().unwrap();
}

#[test]
fn halt_wakes_a_parked_consumer_for_every_strategy() {
    for kind in WaitStrategyKind::ALL {
        let wait = match kind {
            WaitStrategyKind::Adaptive => ring::AnyWaitStrategy::Adaptive(Adaptive::new(10, 2, HOUR)),
            other => other.build(),
        };
        let (p, mut c) = spsc::<u64, _>(8, wait);
        let halt = p.halt_handle();
        let t = thread::spawn(move || c.wait());
        if kind == WaitStrategyKind::Adaptive {
            wait_for_sleepers(
                || match p.wait_strategy() {
                    ring::AnyWaitStrategy::Adaptive(a) => a.sleepers(),
                    _ => unreachable!(),
                },
                Some(&p),
            );
        } else {
            thread::sleep(Duration::from_millis(20));
        }
        halt.halt();
        assert_eq!(t.join().unwrap(), Err(RingError::Halted), "{kind}");
        drop(p);
    }
}

#[test]
fn closing_wakes_a_parked_consumer_with_closed() {
    let (mut p, mut c) = spsc::<u64, _>(8, Adaptive::new(10, 2, HOUR));
    let t = thread::spawn(move || {
        let r = c.wait().unwrap();
        c.release(*r.end());
        c.wait()
    });
    p.publish_with(|s| *s = 1).unwrap();
    wait_for_sleepers(|| p.wait_strategy().sleepers(), Some(&p));
    drop(p);
    assert_eq!(t.join().unwrap(), Err(RingError::Closed));
}

#[test]
fn idle_adaptive_consumer_burns_no_cpu() {
    let (mut p, mut c) = spsc::<u64, _>(8, Adaptive::default());
    let t = thread::spawn(move || {
        let before = thread_cpu_time();
        let r = c.wait().unwrap();
        let spent = thread_cpu_time() - before;
        c.release(*r.end());
        spent
    });
    // Idle for 400 ms, then publish.
    thread::sleep(Duration::from_millis(400));
    p.publish_with(|s| *s = 1).unwrap();
    let spent = t.join().unwrap();
    // A spinning or yielding waiter would use close to the whole 400 ms.
    assert!(spent < Duration::from_millis(100), "idle wait used {spent:?} of CPU");
}

#[test]
fn sleeping_and_yielding_deliver_across_threads() {
    fn run<W: WaitStrategy>(w: W) {
        let (mut p, mut c) = spsc::<u64, _>(4, w);
        let t = thread::spawn(move || {
            let mut sum = 0u64;
            while let Ok(n) = c.process(|v, _, _| sum += *v) {
                assert!(n > 0);
            }
            sum
        });
        for i in 0..10_000u64 {
            p.publish_with(|s| *s = i).unwrap();
        }
        drop(p);
        assert_eq!(t.join().unwrap(), (0..10_000u64).sum::<u64>());
    }
    run(Sleeping::new(10, 10, Duration::from_micros(20)));
    run(Yielding::new(10));
}
