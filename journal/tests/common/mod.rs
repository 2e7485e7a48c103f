//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use journal::record::padded_record_len;
use journal::sim::{test_payload, test_record_type};
use journal::storage::Storage;
use journal::{JournalConfig, JournalReader, JournalWriter, Seq, SyncPolicy};

pub const MAX_PAYLOAD: usize = 200;

pub fn config(segment_size: u64, sync_policy: SyncPolicy) -> JournalConfig {
    JournalConfig { segment_size, sync_policy, ..JournalConfig::default() }
}

/// Appends `n` derived records (content a function of the sequence).
pub fn append_derived<S: Storage>(w: &mut JournalWriter<S>, n: u64, max_payload: usize) {
    let mut buf = Vec::new();
    for _ in 0..n {
        let seq = w.next_seq();
        test_payload(seq, max_payload, &mut buf);
        assert_eq!(w.append(test_record_type(seq), &buf).unwrap(), seq);
    }
}

/// Checks one record against its derivation.
pub fn check_record(seq: Seq, record_type: u8, payload: &[u8], max_payload: usize) {
    let mut want = Vec::new();
    test_payload(seq, max_payload, &mut want);
    assert_eq!(record_type, test_record_type(seq), "type of record {seq}");
    assert_eq!(payload, &want[..], "payload of record {seq}");
}

/// Reads the whole journal from `from`, checking contiguity and content;
/// returns the last sequence read (from - 1 if none).
pub fn verify_reader<S: Storage>(mut r: JournalReader<S>, from: Seq, max_payload: usize) -> Seq {
    let mut expect = from;
    while let Some(rec) = r.next().unwrap() {
        assert_eq!(rec.seq, expect);
        check_record(rec.seq, rec.record_type, rec.payload, max_payload);
        expect += 1;
    }
    expect - 1
}

pub fn verify_dir(dir: &Path, max_payload: usize) -> Seq {
    verify_reader(JournalReader::open(dir, 1).unwrap(), 1, max_payload)
}

/// Where a record lives.
#[derive(Debug, Clone, Copy)]
pub struct Loc {
    pub seq: Seq,
    pub segment_first_seq: Seq,
    pub offset: u64,
    pub padded: u64,
}

pub fn layout(dir: &Path) -> Vec<Loc> {
    let mut r = JournalReader::open(dir, 1).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next().unwrap() {
        out.push(Loc {
            seq: rec.seq,
            segment_first_seq: rec.segment_first_seq,
            offset: rec.offset,
            padded: padded_record_len(rec.payload.len()) as u64,
        });
    }
    out
}

pub fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}
