//! `JournalConfig::truncate_after`: a replica discards a tail the replica set never committed,
//! even below its own durable watermark, at any point (inside a segment, at a segment's first
//! record, everything), and the journal then opens cleanly and continues at the next sequence
//! with the same records before the cut.

use journal::{CorruptionKind, JournalConfig, JournalReader, JournalWriter, SyncPolicy};

const SEGMENT: u64 = 16 * 1024;
const N: u64 = 700;

fn config() -> JournalConfig {
    JournalConfig { segment_size: SEGMENT, sync_policy: SyncPolicy::Batch, create_dir: true, ..Default::default() }
}

fn payload(seq: u64) -> Vec<u8> {
    (0..(seq % 90 + 10)).map(|i| (seq as u8).wrapping_mul(31).wrapping_add(i as u8)).collect()
}

fn written() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = JournalWriter::open(dir.path(), config()).unwrap();
    for seq in 1..=N {
        assert_eq!(w.append(1, &payload(seq)).unwrap(), seq);
    }
    w.close().unwrap();
    dir
}

fn segment_firsts(dir: &std::path::Path) -> Vec<u64> {
    let mut v: Vec<u64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| journal::segment::parse_segment_file_name(e.unwrap().file_name().to_str()?))
        .collect();
    v.sort_unstable();
    v
}

fn check_cut(keep_through: u64) {
    let dir = written();
    let cfg = JournalConfig { truncate_after: Some(keep_through), ..config() };
    let (mut w, report) = JournalWriter::open(dir.path(), cfg).unwrap();
    assert_eq!(report.last_good_seq, keep_through, "cut at {keep_through}");
    let t = report.truncation.clone().expect("a truncation is reported");
    assert_eq!(t.kind, CorruptionKind::Discarded { keep_through });
    assert_eq!(t.seq, keep_through + 1);
    assert_eq!(w.written_seq(), keep_through);
    // Continues with new records where the cut was.
    for seq in keep_through + 1..=keep_through + 5 {
        assert_eq!(w.append(2, &[7u8; 16]).unwrap(), seq);
    }
    w.close().unwrap();
    // Reopens cleanly (no watermark above the log), and reads old records then the new ones.
    let (w, report) = JournalWriter::open(dir.path(), config()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(w.written_seq(), keep_through + 5);
    drop(w);
    let mut r = JournalReader::open(dir.path(), 0).unwrap();
    for seq in 1..=keep_through + 5 {
        let rec = r.next().unwrap().expect("record present");
        assert_eq!(rec.seq, seq);
        if seq <= keep_through {
            assert_eq!(rec.record_type, 1);
            assert_eq!(rec.payload, &payload(seq)[..]);
        } else {
            assert_eq!(rec.record_type, 2);
        }
    }
    assert!(r.next().unwrap().is_none());
}

#[test]
fn cut_inside_a_segment() {
    check_cut(N - 37);
    check_cut(N - 1);
}

#[test]
fn cut_at_a_segment_boundary_and_everything() {
    let dir = written();
    let firsts = segment_firsts(dir.path());
    assert!(firsts.len() >= 3, "the fixture spans segments: {firsts:?}");
    check_cut(firsts[1] - 1);
    check_cut(firsts[2]);
    check_cut(0);
}

#[test]
fn a_cut_at_or_past_the_end_changes_nothing() {
    let dir = written();
    let cfg = JournalConfig { truncate_after: Some(N + 10), ..config() };
    let (w, report) = JournalWriter::open(dir.path(), cfg).unwrap();
    assert!(report.is_clean());
    assert_eq!(w.written_seq(), N);
}
