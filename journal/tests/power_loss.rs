//! Power-loss simulation: the writer runs on the in-memory storage double,
//! which at a simulated crash keeps the synced image plus a random subset
//! of unsynced 4 KiB pages, torn at 512-byte granularity, and a random
//! prefix of unsynced directory operations. Hundreds of seeded runs, each
//! with several crash/recover rounds, assert that no record reported durable
//! is lost and that nothing but valid, correct records is ever returned.

mod common;

use journal::sim::{SimRng, SimStorage};
use journal::{JournalConfig, JournalReader, JournalWriter, OpenError, RecoveryMode, SyncPolicy};

const MAX_PAYLOAD: usize = 600;

struct Outcome {
    truncations: u64,
    discarded_after_hole: u64,
    corruption_reports: u64,
}

/// One seeded run: `rounds` of (recover, verify, write, crash).
fn run(seed: u64, policy: SyncPolicy, mode: RecoveryMode, out: &mut Outcome) {
    let mut rng = SimRng::new(seed);
    let config = JournalConfig {
        segment_size: 16 * 1024,
        sync_policy: policy,
        recovery_mode: mode,
        pretouch: rng.coin(),
        ..JournalConfig::default()
    };
    let mut disk = SimStorage::new();
    let mut durable = 0u64;
    let mut written = 0u64;
    for round in 0..4 {
        let opened = JournalWriter::open_with_storage(disk.clone(), config.clone());
        let (w, report) = match opened {
            Ok(x) => x,
            Err(OpenError::Corruption(c)) if mode == RecoveryMode::Strict => {
                // Strict mode refuses a hole followed by valid records even
                // above the watermark; it must never be below it.
                assert!(c.seq > durable, "seed {seed} round {round}: {c}");
                assert!(c.valid_after.is_some(), "seed {seed}: {c}");
                out.corruption_reports += 1;
                return;
            }
            Err(e) => panic!("seed {seed} round {round}: recovery failed after power loss: {e}"),
        };
        assert!(
            report.last_good_seq >= durable,
            "seed {seed} round {round}: lost durable records: {} < {durable}: {report:?}",
            report.last_good_seq
        );
        assert!(report.last_good_seq <= written, "seed {seed}: records from nowhere");
        assert!(!report.lost_durable);
        if let Some(t) = &report.truncation {
            out.truncations += 1;
            out.discarded_after_hole += t.discarded_records;
            assert!(t.seq > report.durable_watermark);
        }
        if std::env::var("JDEBUG").is_ok() {
            eprintln!("seed {seed} round {round}: {report:?} files {:?}", disk.file_names());
        }
        drop(w);
        // Everything readable is valid and correct, and ends where recovery said.
        let r = JournalReader::open_with_storage(disk.clone(), 1).unwrap();
        let last = common::verify_reader(r, 1, MAX_PAYLOAD);
        assert_eq!(last, report.last_good_seq, "seed {seed} round {round}");
        durable = last; // recovery synced what it kept
        written = last;

        let (mut w, _) = JournalWriter::open_with_storage(disk.clone(), config.clone()).unwrap();
        let batches = 1 + rng.below(12);
        for _ in 0..batches {
            common::append_derived(&mut w, 1 + rng.below(60), MAX_PAYLOAD);
            written = w.written_seq();
            let d = match rng.below(8) {
                0 => w.sync_now().unwrap(),
                1 => continue, // appended, never committed
                _ => w.commit().unwrap(),
            };
            assert!(d >= durable);
            durable = d;
        }
        if rng.below(10) == 0 {
            // A clean close now and then: the watermark becomes exact.
            durable = w.close().unwrap();
        } else {
            drop(w); // power fails: nothing more reaches the disk
        }
        disk = disk.crash(rng.next_u64());
    }
}

#[test]
fn power_loss_batch_policy() {
    let mut out = Outcome { truncations: 0, discarded_after_hole: 0, corruption_reports: 0 };
    let only: Option<u64> = std::env::var("JSEED").ok().and_then(|s| s.parse().ok());
    for seed in 0..300 {
        if only.is_some_and(|o| o != seed) {
            continue;
        }
        run(seed, SyncPolicy::Batch, RecoveryMode::default(), &mut out);
    }
    eprintln!(
        "batch: {} truncated tails, {} valid-looking records discarded after holes",
        out.truncations, out.discarded_after_hole
    );
    // The model must actually produce torn tails and holes, or it tests nothing.
    assert!(out.truncations > 50);
    assert!(out.discarded_after_hole > 0);
}

#[test]
fn power_loss_interval_policy() {
    let mut out = Outcome { truncations: 0, discarded_after_hole: 0, corruption_reports: 0 };
    for seed in 1000..1200 {
        run(seed, SyncPolicy::Interval { ms: 0 }, RecoveryMode::default(), &mut out);
    }
    assert!(out.truncations > 20);
}

#[test]
fn power_loss_strict_mode_only_refuses_above_watermark() {
    let mut out = Outcome { truncations: 0, discarded_after_hole: 0, corruption_reports: 0 };
    for seed in 2000..2150 {
        run(seed, SyncPolicy::Batch, RecoveryMode::Strict, &mut out);
    }
    eprintln!("strict: {} refusals", out.corruption_reports);
}

/// `none` promises nothing across a power loss, and its headers only record
/// what was synced (at open and close): recovery cuts back to a correct
/// prefix, never refuses, never returns garbage.
#[test]
fn power_loss_none_policy_never_returns_garbage() {
    let (mut ok, mut refused) = (0, 0);
    for seed in 3000..3100 {
        let mut rng = SimRng::new(seed);
        let config =
            JournalConfig { segment_size: 16 * 1024, sync_policy: SyncPolicy::None, ..JournalConfig::default() };
        let disk = SimStorage::new();
        let (mut w, _) = JournalWriter::open_with_storage(disk.clone(), config.clone()).unwrap();
        // `sync_now` and `close` are the only syncs under `none`; what they
        // return must survive, including segments rolled away from earlier.
        let mut synced = 0;
        for _ in 0..1 + rng.below(10) {
            common::append_derived(&mut w, 1 + rng.below(80), MAX_PAYLOAD);
            w.commit().unwrap();
            if rng.below(4) == 0 {
                synced = w.sync_now().unwrap();
            }
        }
        if rng.coin() {
            synced = w.close().unwrap();
        } else {
            drop(w);
        }
        let disk = disk.crash(rng.next_u64());
        match JournalWriter::open_with_storage(disk.clone(), config) {
            Ok((w, report)) => {
                drop(w);
                let r = JournalReader::open_with_storage(disk, 1).unwrap();
                assert_eq!(common::verify_reader(r, 1, MAX_PAYLOAD), report.last_good_seq);
                assert!(report.last_good_seq >= synced, "seed {seed}: {report:?} < {synced}");
                ok += 1;
            }
            Err(e) => {
                refused += 1;
                eprintln!("seed {seed}: {e}");
            }
        }
    }
    eprintln!("none: {ok} recovered, {refused} refused");
    assert_eq!(refused, 0);
}
