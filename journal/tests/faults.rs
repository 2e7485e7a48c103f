//! Fault injection on real files: truncation at random offsets, random bit
//! flips, zeroed ranges, missing segments, torn tails. Damage to a record
//! above the durable watermark is a torn tail: truncated and reported. At or
//! below it: the writer refuses to open, naming file, offset and sequence.

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use common::{Loc, MAX_PAYLOAD};
use journal::segment::segment_file_name;
use journal::sim::SimRng;
use journal::{
    Corruption, CorruptionKind, JournalConfig, JournalWriter, OpenError, RecoveryMode, RecoveryReport, SyncPolicy,
};

const SEGMENT: u64 = 16 * 1024;
/// Records committed durably (the persisted watermark).
const N: u64 = 400;
/// Records committed after them but never synced (above the watermark).
const M: u64 = 150;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    locs: Vec<Loc>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let (mut w, _) = JournalWriter::open(&path, common::config(SEGMENT, SyncPolicy::Batch)).unwrap();
    common::append_derived(&mut w, N, MAX_PAYLOAD);
    assert_eq!(w.close().unwrap(), N);
    // An interval that never elapses: commit renames segments but syncs nothing.
    let lazy = common::config(SEGMENT, SyncPolicy::Interval { ms: 3_600_000 });
    let (mut w, _) = JournalWriter::open(&path, lazy).unwrap();
    common::append_derived(&mut w, M, MAX_PAYLOAD);
    assert_eq!(w.commit().unwrap(), N);
    drop(w);
    let locs = common::layout(&path);
    assert_eq!(locs.len() as u64, N + M);
    Fixture { _dir: dir, path, locs }
}

impl Fixture {
    fn copy(&self) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        common::copy_dir(&self.path, d.path());
        d
    }
    fn seg_path(dir: &Path, loc: &Loc) -> PathBuf {
        dir.join(segment_file_name(loc.segment_first_seq))
    }
}

fn open(dir: &Path, mode: RecoveryMode) -> Result<RecoveryReport, OpenError> {
    let config = JournalConfig { recovery_mode: mode, ..common::config(SEGMENT, SyncPolicy::Batch) };
    JournalWriter::open(dir, config).map(|(w, r)| {
        drop(w);
        r
    })
}

fn corruption(r: Result<RecoveryReport, OpenError>) -> Corruption {
    match r {
        Err(OpenError::Corruption(c)) => *c,
        other => panic!("expected corruption, got {other:?}"),
    }
}

/// Damage to record `loc` at `offset` (>= the record's start): checks the
/// outcome the rule prescribes, then that the repaired journal reads back
/// exactly and reopens clean.
fn check_record_damage(dir: &Path, loc: &Loc, exact_offset: bool) {
    let file = Fixture::seg_path(dir, loc);
    let result = open(dir, RecoveryMode::default());
    if loc.seq <= N {
        let c = corruption(result);
        assert_eq!(c.seq, loc.seq, "{c}");
        assert_eq!(c.file, file, "{c}");
        assert_eq!(c.durable_watermark, N);
        if exact_offset {
            assert_eq!(c.offset, loc.offset, "{c}");
        } else {
            assert!(c.offset >= loc.offset, "{c}");
        }
        // Refusing leaves the files untouched: a second attempt says the same.
        assert_eq!(corruption(open(dir, RecoveryMode::default())), c);
    } else {
        let report = result.unwrap();
        let t = report.truncation.clone().expect("truncation reported");
        assert_eq!(report.last_good_seq, loc.seq - 1, "{report:?}");
        assert_eq!(t.seq, loc.seq);
        assert_eq!(t.file, file);
        if exact_offset {
            assert_eq!(t.offset, loc.offset);
        }
        assert!(t.bytes_zeroed > 0 || t.offset == loc.offset);
        assert_eq!(common::verify_dir(dir, MAX_PAYLOAD), loc.seq - 1);
        let again = open(dir, RecoveryMode::default()).unwrap();
        assert!(again.is_clean(), "{again:?}");
        assert_eq!(again.last_good_seq, loc.seq - 1);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), SEGMENT);
    }
}

fn write_at(path: &Path, offset: u64, bytes: &[u8]) {
    let f = OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, offset).unwrap();
}

fn read_at(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let f = OpenOptions::new().read(true).open(path).unwrap();
    let mut b = vec![0; len];
    f.read_exact_at(&mut b, offset).unwrap();
    b
}

#[test]
fn undamaged_fixture_opens_clean() {
    let fx = fixture();
    let d = fx.copy();
    let report = open(d.path(), RecoveryMode::default()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.durable_watermark, N);
    assert_eq!(report.last_good_seq, N + M);
}

#[test]
fn random_bit_flips_are_detected() {
    let fx = fixture();
    let mut rng = SimRng::new(7);
    for _ in 0..60 {
        let loc = fx.locs[rng.below(fx.locs.len() as u64) as usize];
        let d = fx.copy();
        let file = Fixture::seg_path(d.path(), &loc);
        // Any byte of the record: header, payload or padding.
        let off = loc.offset + rng.below(loc.padded);
        let mut b = read_at(&file, off, 1);
        b[0] ^= 1 << rng.below(8);
        write_at(&file, off, &b);
        check_record_damage(d.path(), &loc, true);
    }
}

#[test]
fn truncation_at_random_offsets() {
    let fx = fixture();
    let mut rng = SimRng::new(8);
    for _ in 0..40 {
        let loc = fx.locs[rng.below(fx.locs.len() as u64) as usize];
        let d = fx.copy();
        let file = Fixture::seg_path(d.path(), &loc);
        let cut = loc.offset + 1 + rng.below(loc.padded - 1);
        OpenOptions::new().write(true).open(&file).unwrap().set_len(cut).unwrap();
        check_record_damage(d.path(), &loc, true);
    }
}

#[test]
fn zeroed_ranges() {
    let fx = fixture();
    let mut rng = SimRng::new(9);
    for _ in 0..40 {
        let loc = fx.locs[rng.below(fx.locs.len() as u64) as usize];
        let d = fx.copy();
        let file = Fixture::seg_path(d.path(), &loc);
        // Start in the checksum/length words so the record surely changes.
        let start = loc.offset + rng.below(8);
        let len = (loc.offset + 8 - start + rng.below(3000)).min(SEGMENT - start);
        write_at(&file, start, &vec![0; len as usize]);
        check_record_damage(d.path(), &loc, false);
    }
}

#[test]
fn missing_segment_in_the_middle_is_corruption() {
    let fx = fixture();
    let mut firsts: Vec<u64> = fx.locs.iter().map(|l| l.segment_first_seq).collect();
    firsts.dedup();
    assert!(firsts.len() >= 4, "fixture too small: {firsts:?}");
    let missing = firsts[1];
    let d = fx.copy();
    std::fs::remove_file(d.path().join(segment_file_name(missing))).unwrap();
    let c = corruption(open(d.path(), RecoveryMode::default()));
    assert_eq!(c.seq, missing);
    assert_eq!(c.file, d.path().join(segment_file_name(missing)));
    assert!(matches!(c.kind, CorruptionKind::MissingSegment { .. }), "{c}");
    assert!(c.to_string().contains(&segment_file_name(missing)));
}

#[test]
fn log_ending_below_watermark_is_corruption() {
    let fx = fixture();
    // Cut the segment holding record N cleanly before record N-5 and remove
    // every later segment: the log now ends, cleanly, below the watermark.
    let d = fx.copy();
    let cut = fx.locs[(N - 6) as usize];
    for f in fx.locs.iter().map(|l| l.segment_first_seq).filter(|&f| f > cut.segment_first_seq) {
        let _ = std::fs::remove_file(d.path().join(segment_file_name(f)));
    }
    let file = Fixture::seg_path(d.path(), &cut);
    OpenOptions::new().write(true).open(&file).unwrap().set_len(cut.offset).unwrap();
    let c = corruption(open(d.path(), RecoveryMode::default()));
    assert_eq!((c.seq, c.offset, c.file.clone()), (cut.seq, cut.offset, file));
    assert!(matches!(c.kind, CorruptionKind::LostDurableRecords { watermark: N }), "{c}");
}

#[test]
fn damaged_segment_header_is_corruption() {
    let fx = fixture();
    let loc = fx.locs[0];
    let d = fx.copy();
    let file = Fixture::seg_path(d.path(), &loc);
    write_at(&file, 20, &[0xAB]);
    let c = corruption(open(d.path(), RecoveryMode::default()));
    assert_eq!((c.file.clone(), c.offset, c.seq), (file, 0, 1));
    assert!(matches!(c.kind, CorruptionKind::BadSegmentHeader(_)));
}

#[test]
fn torn_tail_of_a_killed_writer_is_truncated() {
    let fx = fixture();
    let last = *fx.locs.last().unwrap();
    let d = fx.copy();
    let file = Fixture::seg_path(d.path(), &last);
    // A record whose payload and checksum were stored but not its length.
    let at = last.offset + last.padded;
    write_at(&file, at, &[0x11, 0x22, 0x33, 0x44]);
    write_at(&file, at + 24, &[0x55; 40]);
    let report = open(d.path(), RecoveryMode::default()).unwrap();
    let t = report.truncation.clone().unwrap();
    assert_eq!(report.last_good_seq, N + M);
    assert_eq!((t.file, t.offset, t.seq), (file.clone(), at, N + M + 1));
    assert_eq!(t.kind, CorruptionKind::GarbageAfterEnd);
    assert_eq!(t.bytes_zeroed, 24 + 40);
    assert!(read_at(&file, at, 64).iter().all(|&b| b == 0));
}

#[test]
fn hole_above_watermark_followed_by_valid_records() {
    let fx = fixture();
    let loc = fx.locs[(N + 10) as usize];
    // Default: truncated, the valid records after the hole counted.
    let d = fx.copy();
    write_at(&Fixture::seg_path(d.path(), &loc), loc.offset + 30, &[0xFF]);
    let report = open(d.path(), RecoveryMode::default()).unwrap();
    let t = report.truncation.unwrap();
    assert_eq!(t.seq, loc.seq);
    assert_eq!(t.discarded_records, N + M - loc.seq);
    // Strict: refused.
    let d = fx.copy();
    write_at(&Fixture::seg_path(d.path(), &loc), loc.offset + 30, &[0xFF]);
    let c = corruption(open(d.path(), RecoveryMode::Strict));
    assert_eq!((c.seq, c.offset, c.valid_after), (loc.seq, loc.offset, Some(loc.seq + 1)));
}

#[test]
fn force_truncate_repairs_below_watermark() {
    let fx = fixture();
    let loc = fx.locs[100];
    let d = fx.copy();
    write_at(&Fixture::seg_path(d.path(), &loc), loc.offset + 30, &[0xFF]);
    let c = corruption(open(d.path(), RecoveryMode::default()));
    assert_eq!(c.valid_after, Some(loc.seq + 1));
    let report = open(d.path(), RecoveryMode::ForceTruncate).unwrap();
    assert!(report.lost_durable);
    assert_eq!(report.last_good_seq, loc.seq - 1);
    assert_eq!(common::verify_dir(d.path(), MAX_PAYLOAD), loc.seq - 1);
}

#[test]
fn tail_verification_leaves_old_damage_to_readers() {
    let fx = fixture();
    let loc = fx.locs[5]; // first segment, far below the watermark's segment
    let d = fx.copy();
    write_at(&Fixture::seg_path(d.path(), &loc), loc.offset + 30, &[0xFF]);
    let tail_only = JournalConfig { verify: journal::Verify::Tail, ..common::config(SEGMENT, SyncPolicy::Batch) };
    let (w, report) = JournalWriter::open(d.path(), tail_only).unwrap();
    assert!(report.is_clean());
    drop(w);
    // Full verification (the default) refuses; a reader reports the spot.
    assert_eq!(corruption(open(d.path(), RecoveryMode::default())).seq, loc.seq);
    let mut r = journal::JournalReader::open(d.path(), 1).unwrap();
    let err = loop {
        match r.next() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("damage not reported"),
            Err(e) => break e,
        }
    };
    match err {
        journal::ReadError::Corruption(c) => assert_eq!((c.seq, c.offset), (loc.seq, loc.offset)),
        other => panic!("unexpected {other}"),
    }
}

/// Random damage anywhere (headers included), through the storage double:
/// recovery and readers never panic, and whatever they accept is correct.
#[test]
fn random_damage_never_panics_or_returns_garbage() {
    use journal::sim::SimStorage;
    for seed in 0..300u64 {
        let mut rng = SimRng::new(seed);
        let disk = SimStorage::new();
        let config = common::config(SEGMENT, SyncPolicy::Batch);
        let (mut w, _) = JournalWriter::open_with_storage(disk.clone(), config.clone()).unwrap();
        for _ in 0..1 + rng.below(6) {
            common::append_derived(&mut w, 1 + rng.below(80), MAX_PAYLOAD);
            w.commit().unwrap();
        }
        drop(w);
        let names = disk.file_names();
        for _ in 0..1 + rng.below(4) {
            let name = &names[rng.below(names.len() as u64) as usize];
            let mut bytes = disk.read_file(name).unwrap();
            if bytes.is_empty() {
                continue;
            }
            let at = if rng.coin() { rng.below(256) } else { rng.below(bytes.len() as u64) } as usize;
            let at = at.min(bytes.len() - 1);
            match rng.below(3) {
                0 => bytes[at] ^= 1 << rng.below(8),
                1 => {
                    let end = (at + 1 + rng.below(600) as usize).min(bytes.len());
                    for b in &mut bytes[at..end] {
                        *b = rng.next_u64() as u8;
                    }
                }
                _ => bytes.truncate(at),
            }
            disk.write_file(name, bytes);
        }
        match JournalWriter::open_with_storage(disk.clone(), config) {
            Ok((w, report)) => {
                drop(w);
                let r = journal::JournalReader::open_with_storage(disk.clone(), 1).unwrap();
                assert_eq!(common::verify_reader(r, 1, MAX_PAYLOAD), report.last_good_seq, "seed {seed}");
            }
            Err(OpenError::Corruption(_)) => {}
            Err(e) => panic!("seed {seed}: unexpected {e}"),
        }
    }
}
