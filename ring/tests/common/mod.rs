//! Shared slot type for the multi-threaded tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};

use ring::INITIAL_SEQUENCE;

/// A test slot. The producer writes `seq`/`payload`; each consumer stage stamps the sequence it
/// handled into its own marker (interior mutability through `&Slot`), so later stages can check
/// earlier ones ran first and the producer can check the last stage finished a slot's previous lap
/// before overwriting it.
pub struct Slot {
    pub seq: i64,
    pub payload: u64,
    pub c1_done: AtomicI64,
    pub c2_done: AtomicI64,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            seq: INITIAL_SEQUENCE,
            payload: 0,
            c1_done: AtomicI64::new(INITIAL_SEQUENCE),
            c2_done: AtomicI64::new(INITIAL_SEQUENCE),
        }
    }
}

pub fn payload(seq: i64) -> u64 {
    (seq as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF
}

/// Producer side: check the slot's previous lap was fully consumed (by the stage stamping
/// `last_marker`), then fill it for `seq`.
pub fn fill(slot: &mut Slot, seq: i64, capacity: i64, last_stage_is_c2: bool) {
    let previous = seq - capacity;
    if previous >= 0 {
        assert_eq!(slot.seq, previous, "slot of {seq} held {} instead of the previous lap", slot.seq);
        assert_eq!(*slot.c1_done.get_mut(), previous, "producer overwrote {previous}, not yet consumed by C1");
        if last_stage_is_c2 {
            assert_eq!(*slot.c2_done.get_mut(), previous, "producer overwrote {previous}, not yet consumed by C2");
        }
    }
    slot.seq = seq;
    slot.payload = payload(seq);
}

/// Consumer side: check content, stamp the marker.
pub fn check(slot: &Slot, seq: i64, expected: i64) {
    assert_eq!(seq, expected, "sequence out of order");
    assert_eq!(slot.seq, seq, "slot content belongs to another sequence");
    assert_eq!(slot.payload, payload(seq), "torn or stale payload");
}

pub fn stamp(marker: &AtomicI64, seq: i64) {
    marker.store(seq, Ordering::Relaxed);
}
