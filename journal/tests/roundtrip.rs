//! Round-trip property tests on real files: random payload sizes across
//! segment boundaries, reopen, read everything back, read from a random
//! starting sequence.

mod common;

use journal::sim::SimRng;
use journal::{JournalConfig, JournalReader, JournalWriter, SyncPolicy};
use proptest::prelude::*;

fn payload(seq: u64, len: usize) -> Vec<u8> {
    let mut rng = SimRng::new(seq);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

fn policy(i: u8) -> SyncPolicy {
    match i % 3 {
        0 => SyncPolicy::None,
        1 => SyncPolicy::Batch,
        _ => SyncPolicy::Interval { ms: 1 },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_across_segments_and_reopen(
        sizes in prop::collection::vec(0usize..=1024, 1..400),
        split in 0.0f64..1.0,
        start in 0.0f64..1.0,
        policy_idx in 0u8..3,
        commit_every in 1usize..64,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = JournalConfig {
            segment_size: 64 * 1024,
            sync_policy: policy(policy_idx),
            ..JournalConfig::default()
        };
        let n = sizes.len();
        let split = ((n as f64) * split) as usize;
        let types: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();

        // First part, then close and reopen (recovery must find it clean),
        // then the rest, then drop without close (a process exit).
        for (lo, hi, close) in [(0, split, true), (split, n, false)] {
            let (mut w, report) = JournalWriter::open(dir.path(), config.clone()).unwrap();
            prop_assert_eq!(report.last_good_seq, lo as u64);
            prop_assert!(report.truncation.is_none());
            for i in lo..hi {
                let seq = (i + 1) as u64;
                prop_assert_eq!(w.append(types[i], &payload(seq, sizes[i])).unwrap(), seq);
                if (i + 1) % commit_every == 0 {
                    w.commit().unwrap();
                }
            }
            w.commit().unwrap();
            prop_assert_eq!(w.written_seq(), hi as u64);
            if close {
                prop_assert_eq!(w.close().unwrap(), hi as u64);
            }
        }

        let (w, report) = JournalWriter::open(dir.path(), config.clone()).unwrap();
        prop_assert_eq!(report.last_good_seq, n as u64);
        prop_assert!(report.is_clean(), "{:?}", report);
        drop(w);

        let from = 1 + ((n as f64) * start) as u64;
        for first in [1, from] {
            let mut r = JournalReader::open(dir.path(), first).unwrap();
            let mut expect = first;
            while let Some(rec) = r.next().unwrap() {
                let i = (rec.seq - 1) as usize;
                prop_assert_eq!(rec.seq, expect);
                prop_assert_eq!(rec.record_type, types[i]);
                prop_assert_eq!(rec.payload, &payload(rec.seq, sizes[i])[..]);
                expect += 1;
            }
            prop_assert_eq!(expect, n as u64 + 1);
        }
    }
}

#[test]
fn reader_positions_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(16 * 1024, SyncPolicy::Batch);
    let (mut w, _) = JournalWriter::open(dir.path(), config).unwrap();
    common::append_derived(&mut w, 500, common::MAX_PAYLOAD);
    w.commit().unwrap();
    // Positioned one past the end: nothing yet, then tails.
    let mut r = JournalReader::open(dir.path(), 501).unwrap();
    assert!(r.next().unwrap().is_none());
    common::append_derived(&mut w, 1, common::MAX_PAYLOAD);
    w.commit().unwrap();
    assert_eq!(r.next().unwrap().unwrap().seq, 501);
    assert!(matches!(
        JournalReader::open(dir.path(), 600),
        Err(journal::ReadError::BeyondEnd { requested: 600, next: 502 })
    ));
    // 0 = from the first record present.
    assert_eq!(JournalReader::open(dir.path(), 0).unwrap().next_seq(), 1);
    assert!(matches!(JournalReader::open(dir.path().join("nope"), 1), Err(journal::ReadError::DirMissing { .. })));
}
