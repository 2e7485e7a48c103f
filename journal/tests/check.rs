//! `journal::check` (what the operator's tools report) against `JournalWriter::open` (what
//! recovery does) on damaged copies of one journal: the same verdict, from the same code, for a
//! bit flipped in every byte of a record header and of a segment header; readers refuse the
//! records recovery refuses; deleting the last segments of a journal whose records were
//! reported durable is refused, naming the missing file and the lost sequences.

mod common;

use std::path::{Path, PathBuf};

use common::{Loc, MAX_PAYLOAD};
use journal::segment::segment_file_name;
use journal::{CorruptionKind, JournalConfig, JournalReader, JournalWriter, OpenError, RecoveryReport, SyncPolicy};

const SEGMENT: u64 = 16 * 1024;
/// Records, committed in batches of 7 under `batch`, the writer then dropped (a crash: no
/// `close`, so the headers hold only what the commits wrote).
const N: u64 = 500;

fn config() -> JournalConfig {
    common::config(SEGMENT, SyncPolicy::Batch)
}

fn fixture() -> (tempfile::TempDir, Vec<Loc>) {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), config()).unwrap();
    for _ in 0..N / 7 + 1 {
        common::append_derived(&mut w, 7, MAX_PAYLOAD);
        w.commit().unwrap();
    }
    drop(w);
    let locs = common::layout(dir.path());
    (dir, locs)
}

fn copy(from: &Path) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    common::copy_dir(from, d.path());
    d
}

/// Every file of the directory with its bytes, to show a check changed nothing.
fn image(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    v.sort();
    v
}

fn open(dir: &Path) -> Result<RecoveryReport, OpenError> {
    JournalWriter::open(dir, config()).map(|(w, r)| {
        drop(w);
        r
    })
}

/// The verdicts compared: `Err` with the corruption's text, or the whole report.
fn verdict(r: Result<RecoveryReport, OpenError>) -> Result<RecoveryReport, String> {
    r.map_err(|e| e.to_string())
}

fn flip(path: &Path, at: u64, mask: u8) {
    let mut b = std::fs::read(path).unwrap();
    b[at as usize] ^= mask;
    std::fs::write(path, b).unwrap();
}

/// Reads the whole journal; `Err` with the first error.
fn read_all(dir: &Path) -> Result<u64, String> {
    let mut r = JournalReader::open(dir, 1).map_err(|e| e.to_string())?;
    let mut n = 0;
    while r.next().map_err(|e| e.to_string())?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[test]
fn check_and_open_agree_on_a_flip_in_every_header_byte() {
    let (fx, locs) = fixture();
    let mut firsts: Vec<u64> = locs.iter().map(|l| l.segment_first_seq).collect();
    firsts.dedup();
    assert!(firsts.len() >= 4, "several segments: {firsts:?}");
    // A record in the middle of the second segment (far below the watermark), and the second
    // segment's header.
    let rec = *locs.iter().find(|l| l.segment_first_seq == firsts[1] && l.seq > firsts[1] + 3).unwrap();
    let rec_file = fx.path().join(segment_file_name(rec.segment_first_seq));
    let mut spots: Vec<(PathBuf, u64)> = (0..24).map(|i| (rec_file.clone(), rec.offset + i)).collect();
    spots.extend((0..128).map(|i| (rec_file.clone(), i)));
    let mut refused = 0;
    for (file, at) in spots {
        for mask in [0x01u8, 0x80] {
            let d = copy(fx.path());
            let file = d.path().join(file.file_name().unwrap());
            flip(&file, at, mask);
            let before = image(d.path());
            let checked = verdict(journal::check(d.path(), &config()));
            assert_eq!(image(d.path()), before, "check changed nothing (byte {at} of {})", file.display());
            let opened = verdict(open(d.path()));
            assert_eq!(checked, opened, "byte {at} mask {mask:#x} of {}", file.display());
            if let Err(why) = &checked {
                refused += 1;
                assert!(why.contains(&*file.to_string_lossy()), "names the file: {why}");
                // Record damage: a reader stops at the same record.
                if at >= rec.offset {
                    let read = read_all(d.path()).expect_err("the reader refuses what recovery refuses");
                    assert!(read.contains(&format!("offset {}", rec.offset)), "{read}");
                }
            }
        }
    }
    // Every byte of a record header is checked (CRC, or zero for the reserved ones); in the
    // segment header only the two copies of the watermark may take a flip (the other copy holds).
    assert!(refused >= 2 * (24 + 128 - 2 * 12), "refused {refused}");
}

#[test]
fn a_reserved_byte_flip_is_refused_by_readers_as_by_recovery() {
    let (fx, locs) = fixture();
    let rec = locs[40];
    let d = copy(fx.path());
    let file = d.path().join(segment_file_name(rec.segment_first_seq));
    flip(&file, rec.offset + 20, 0x04);
    let c = match open(d.path()) {
        Err(OpenError::Corruption(c)) => c,
        other => panic!("expected corruption, got {other:?}"),
    };
    assert_eq!((c.seq, c.offset), (rec.seq, rec.offset), "{c}");
    let read = read_all(d.path()).unwrap_err();
    assert!(
        read.contains("non-zero reserved header bytes") && read.contains(&format!("sequence {}", rec.seq)),
        "{read}"
    );
}

#[test]
fn deleting_the_last_segments_is_refused_naming_file_and_sequences() {
    let (fx, locs) = fixture();
    let last = locs.last().unwrap().seq;
    let mut firsts: Vec<u64> = locs.iter().map(|l| l.segment_first_seq).collect();
    firsts.dedup();
    for deleted in 1..=2 {
        let d = copy(fx.path());
        for &f in &firsts[firsts.len() - deleted..] {
            std::fs::remove_file(d.path().join(segment_file_name(f))).unwrap();
        }
        let missing = firsts[firsts.len() - deleted];
        let before = image(d.path());
        let c = match open(d.path()) {
            Err(OpenError::Corruption(c)) => c,
            other => panic!("deleting {deleted} segment(s): expected corruption, got {other:?}"),
        };
        assert_eq!(image(d.path()), before, "refusing changes nothing");
        assert_eq!(c.seq, missing, "{c}");
        assert_eq!(c.file, d.path().join(segment_file_name(missing)), "{c}");
        assert!(c.durable_watermark >= missing && c.durable_watermark <= last, "{c}");
        let text = c.to_string();
        assert!(
            text.contains(&segment_file_name(firsts[firsts.len() - deleted - 1])),
            "names the last present: {text}"
        );
        assert!(text.contains(&format!("records {missing}..={}", c.durable_watermark)), "{text}");
        assert!(matches!(c.kind, CorruptionKind::SuccessorMissing { .. }), "{text}");
        assert_eq!(journal::check(d.path(), &config()).unwrap_err().to_string(), c.to_string());
    }
}

#[test]
fn a_sealed_end_above_the_watermark_is_cut_once_and_then_clean() {
    // The image of a power loss during a rollover: the old segment's end-of-segment marker
    // reached the disk, its successor never did, and nothing in it was acknowledged.
    let dir = tempfile::tempdir().unwrap();
    let lazy = common::config(SEGMENT, SyncPolicy::Interval { ms: 3_600_000 });
    let (mut w, _) = JournalWriter::open(dir.path(), config()).unwrap();
    common::append_derived(&mut w, 10, MAX_PAYLOAD);
    w.close().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), lazy).unwrap();
    common::append_derived(&mut w, 600, MAX_PAYLOAD);
    w.commit().unwrap();
    drop(w);
    let locs = common::layout(dir.path());
    let mut firsts: Vec<u64> = locs.iter().map(|l| l.segment_first_seq).collect();
    firsts.dedup();
    assert!(firsts.len() >= 3);
    let missing = *firsts.last().unwrap();
    std::fs::remove_file(dir.path().join(segment_file_name(missing))).unwrap();
    let checked = journal::check(dir.path(), &config()).unwrap();
    let report = open(dir.path()).unwrap();
    assert_eq!(checked, report);
    let t = report.truncation.expect("reported");
    assert_eq!((t.seq, t.file.clone()), (missing, dir.path().join(segment_file_name(missing))));
    assert!(matches!(t.kind, CorruptionKind::SuccessorMissing { .. }));
    assert_eq!(report.last_good_seq, missing - 1);
    // The writer went on in a new successor at once: the next open is clean, not cut again.
    assert!(open(dir.path()).unwrap().is_clean());
    assert_eq!(common::verify_dir(dir.path(), MAX_PAYLOAD), missing - 1);
}

#[test]
fn when_commit_returns_the_segment_rolled_away_from_records_its_successor() {
    // The proof a deleted last segment leaves behind must not wait for a helper thread: a kill
    // right after the acknowledgement would lose it.
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), config()).unwrap();
    let mut rolled = 0;
    while rolled < 3 {
        let before = w.current_segment_path();
        common::append_derived(&mut w, 1, MAX_PAYLOAD);
        let durable = w.commit().unwrap();
        if w.current_segment_path() != before {
            rolled += 1;
            // Read through the page cache while the writer (and its helper) still run.
            let header = std::fs::read(&before).unwrap();
            let first: u64 = before.file_stem().unwrap().to_str().unwrap().parse().unwrap();
            let w_old = journal::segment::read_watermark(&header[..128], first);
            assert_eq!(w_old, Some(durable), "{}", before.display());
        }
    }
    drop(w);
}
