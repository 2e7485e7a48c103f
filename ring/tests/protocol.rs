//! Deterministic, single-threaded checks of the claim / publish / wait / release protocol.

use std::str::FromStr;

use ring::{spsc, BusySpin, RingBuilder, RingError, WaitStrategyKind, Yielding};

#[test]
fn try_claim_returns_none_when_full_and_recovers_after_release() {
    let (mut p, mut c) = spsc::<u64, _>(8, BusySpin);
    assert_eq!(p.free_slots(), 8);
    for i in 0..8 {
        let r = p.try_claim(1).expect("free slot");
        assert_eq!(r, i..=i);
        *p.slot_mut(i) = i as u64;
        p.publish(i);
    }
    assert_eq!(p.try_claim(1), None, "full ring");
    assert_eq!(p.free_slots(), 0);
    assert_eq!(p.try_publish_with(|_| panic!("must not be called when full")), None);

    assert_eq!(c.wait().unwrap(), 0..=7);
    assert_eq!(p.try_claim(1), None, "taken but not released is still full");
    c.release(2);
    assert_eq!(p.free_slots(), 3);
    assert_eq!(p.try_claim(4), None, "not enough for a batch of 4");
    assert_eq!(p.try_claim(3), Some(8..=10));
    assert_eq!(p.try_claim(1), None);
    // Unreleased slots 3..=7 keep their content although 8..=10 are claimed.
    for s in 3..=7 {
        assert_eq!(*c.get(s), s as u64);
    }
    // Claimed slots show the previous lap's value until overwritten.
    assert_eq!(*p.slot_mut(8), 0);
}

#[test]
fn producer_is_gated_on_the_last_stage_not_the_first() {
    let mut b = RingBuilder::<u32, _>::new(4, Yielding::default());
    let c1 = b.consumer(&[]);
    b.consumer(&[c1]);
    let (mut p, consumers) = b.build();
    let [mut first, mut second]: [_; 2] = consumers.try_into().unwrap();
    let r = p.try_claim(4).unwrap();
    p.publish(*r.end());
    assert_eq!(first.wait().unwrap(), 0..=3);
    first.release(3);
    assert_eq!(p.try_claim(1), None, "C1 released everything but C2 has not");
    assert_eq!(second.wait().unwrap(), 0..=3);
    second.release(1);
    assert_eq!(p.try_claim(2), Some(4..=5));
}

#[test]
fn second_stage_never_sees_what_first_stage_has_not_released() {
    let mut b = RingBuilder::<u32, _>::new(16, BusySpin);
    let c1 = b.consumer(&[]);
    b.consumer(&[c1]);
    let (mut p, consumers) = b.build();
    let [mut first, mut second]: [_; 2] = consumers.try_into().unwrap();
    let r = p.claim(10).unwrap();
    p.publish(*r.end());
    assert_eq!(second.poll(), Ok(None), "published but not journalled");
    assert_eq!(first.wait().unwrap(), 0..=9);
    assert_eq!(second.poll(), Ok(None), "taken by C1 but not released");
    first.release(4);
    assert_eq!(second.poll(), Ok(Some(0..=4)));
    assert_eq!(second.wait().unwrap(), 0..=4, "unreleased range is returned again");
    second.release(4);
    assert_eq!(second.poll(), Ok(None));
    first.release(9);
    assert_eq!(second.wait().unwrap(), 5..=9);
}

#[test]
fn batches_take_everything_available() {
    let (mut p, mut c) = spsc::<u8, _>(64, BusySpin);
    for _ in 0..3 {
        p.publish_with(|s| *s = 7).unwrap();
    }
    let r = p.claim(5).unwrap();
    p.publish(*r.start() + 2); // publish part of a claim
    assert_eq!(c.wait().unwrap(), 0..=5);
    c.release(5);
    p.publish(7);
    assert_eq!(c.wait().unwrap(), 6..=7);
}

#[test]
fn close_drains_then_reports_closed_at_every_stage() {
    let mut b = RingBuilder::<u64, _>::new(8, BusySpin);
    let c1 = b.consumer(&[]);
    b.consumer(&[c1]);
    let (mut p, consumers) = b.build();
    let [mut first, mut second]: [_; 2] = consumers.try_into().unwrap();
    for i in 0..5 {
        p.publish_with(|s| *s = i).unwrap();
    }
    p.close();
    assert_eq!(first.process(|_, _, _| {}), Ok(5));
    assert_eq!(first.wait(), Err(RingError::Closed));
    assert_eq!(second.wait(), Ok(0..=4));
    second.release(4);
    assert_eq!(second.poll(), Err(RingError::Closed));
    assert_eq!(second.wait(), Err(RingError::Closed));
    assert!(!second.is_halted(), "draining consumers do not halt");
    drop(first);
    assert!(!second.is_halted());
}

#[test]
fn halt_stops_waiting_stages_and_a_full_producer() {
    let (mut p, mut c) = spsc::<u64, _>(2, BusySpin);
    let halt = p.halt_handle();
    p.publish_with(|s| *s = 1).unwrap();
    p.publish_with(|s| *s = 2).unwrap();
    halt.halt();
    assert!(halt.is_halted() && p.is_halted() && c.is_halted());
    assert_eq!(p.claim(1), Err(RingError::Halted), "full and halted");
    // Work already available is still handed out; waiting for more fails.
    assert_eq!(c.wait(), Ok(0..=1));
    c.release(1);
    assert_eq!(c.wait(), Err(RingError::Halted));
}

#[test]
fn dropping_an_undrained_consumer_halts_the_ring() {
    let (mut p, c) = spsc::<u64, _>(2, BusySpin);
    p.publish_with(|s| *s = 1).unwrap();
    drop(c);
    assert!(p.is_halted());
    p.publish_with(|s| *s = 2).unwrap();
    assert_eq!(p.claim(1), Err(RingError::Halted));
}

#[test]
fn factory_initialises_every_slot() {
    let mut b = RingBuilder::<usize, _>::new(4, BusySpin);
    b.consumer(&[]);
    let (mut p, _consumers) = b.build_with(|i| 100 + i);
    let r = p.claim(4).unwrap();
    for s in r {
        assert_eq!(*p.slot_mut(s), 100 + s as usize);
    }
}

#[test]
fn wait_strategy_kind_parses_and_prints() {
    for kind in WaitStrategyKind::ALL {
        assert_eq!(WaitStrategyKind::from_str(kind.name()), Ok(kind));
        assert_eq!(kind.to_string(), kind.name());
    }
    assert_eq!("adaptive".parse::<WaitStrategyKind>(), Ok(WaitStrategyKind::default()));
    let err = "spin".parse::<WaitStrategyKind>().unwrap_err();
    assert!(err.to_string().contains("unknown wait strategy"));
}

#[test]
#[should_panic(expected = "outside the claimed, unpublished range")]
fn slot_mut_of_a_published_sequence_panics() {
    let (mut p, _c) = spsc::<u8, _>(4, BusySpin);
    let s = p.publish_with(|_| {}).unwrap();
    p.slot_mut(s);
}

#[test]
#[should_panic(expected = "outside the claimed, unpublished range")]
fn slot_mut_of_an_unclaimed_sequence_panics() {
    let (mut p, _c) = spsc::<u8, _>(4, BusySpin);
    p.slot_mut(0);
}

#[test]
#[should_panic(expected = "outside the readable range")]
fn get_of_an_unpublished_sequence_panics() {
    let (mut p, mut c) = spsc::<u8, _>(4, BusySpin);
    p.publish_with(|_| {}).unwrap();
    c.wait().unwrap();
    c.get(1);
}

#[test]
#[should_panic(expected = "outside the readable range")]
fn get_of_a_released_sequence_panics() {
    let (mut p, mut c) = spsc::<u8, _>(4, BusySpin);
    p.publish_with(|_| {}).unwrap();
    c.wait().unwrap();
    c.release(0);
    c.get(0);
}

#[test]
#[should_panic(expected = "outside the readable range")]
fn release_beyond_available_panics() {
    let (mut p, mut c) = spsc::<u8, _>(4, BusySpin);
    p.publish_with(|_| {}).unwrap();
    c.wait().unwrap();
    c.release(1);
}

#[test]
#[should_panic(expected = "claim of 5 slots on a ring of 4")]
fn claim_larger_than_ring_panics() {
    let (mut p, _c) = spsc::<u8, _>(4, BusySpin);
    let _ = p.try_claim(5);
}

#[test]
#[should_panic(expected = "power of two")]
fn capacity_must_be_a_power_of_two() {
    let _ = spsc::<u8, _>(6, BusySpin);
}

#[test]
fn wait_unless_returns_when_interrupted_and_data_wins_over_the_interrupt() {
    for kind in WaitStrategyKind::ALL {
        let (mut p, mut c) = spsc::<u64, _>(8, kind.build());
        // Nothing available: the interrupt ends the wait.
        let mut checks = 0;
        let r = c.wait_unless(|| {
            checks += 1;
            checks > 3
        });
        assert_eq!(r, Ok(None), "{kind}");
        // Published data is returned even when the interrupt is already set.
        p.publish_with(|s| *s = 7).unwrap();
        assert_eq!(c.wait_unless(|| true), Ok(Some(0..=0)), "{kind}");
        assert_eq!(*c.get(0), 7);
        c.release(0);
        // A closed producer still ends the wait with Closed, not None.
        p.close();
        assert_eq!(c.wait_unless(|| false), Err(RingError::Closed), "{kind}");
    }
}

#[test]
fn dont_fork_slots_work_like_heap_slots_and_are_dropped_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    #[derive(Default)]
    struct Counted(u64, Option<Arc<AtomicUsize>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            if let Some(c) = &self.1 {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let mut b = RingBuilder::<Counted, _>::new(1024, BusySpin).dont_fork();
        b.consumer(&[]);
        let d = drops.clone();
        let (mut p, mut cs) = b.build_with(|i| Counted(i as u64, Some(d.clone())));
        assert!(p.slots_unforked());
        let mut c = cs.pop().unwrap();
        for lap in 0..3u64 {
            for i in 0..1024i64 {
                p.publish_with(|s| s.0 = lap * 10_000 + i as u64).unwrap();
            }
            let r = c.wait().unwrap();
            for s in r.clone() {
                assert_eq!(c.get(s).0, lap * 10_000 + (s as u64 % 1024));
            }
            c.release(*r.end());
        }
        // The slots sit in a mapping marked "dc" (don't copy on fork).
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        assert!(smaps.lines().any(|l| l.starts_with("VmFlags:") && l.split_whitespace().any(|f| f == "dc")));
        assert_eq!(drops.load(Ordering::Relaxed), 0);
    }
    assert_eq!(drops.load(Ordering::Relaxed), 1024, "every slot dropped exactly once");
    // Heap rings still work as before and say so.
    let (p, _c) = spsc::<u64, _>(8, BusySpin);
    assert!(!p.slots_unforked());
}
