//! Test helper for the crash tests (`journal/tests/crash.rs`): opens the
//! journal in a directory and appends batches under the `batch` policy as
//! fast as it can, printing every durable watermark `commit` returns, one
//! per line, until it is killed (or reaches its record limit).
//!
//! Usage: journal_crash_child DIR SEED SEGMENT_SIZE MAX_PAYLOAD MAX_RECORDS

use std::io::Write;

use journal::sim::{test_payload, test_record_type, SimRng};
use journal::{JournalConfig, JournalWriter, SyncPolicy};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: journal_crash_child DIR SEED SEGMENT_SIZE MAX_PAYLOAD MAX_RECORDS");
        std::process::exit(2);
    }
    let num = |i: usize| -> u64 {
        args[i].parse().unwrap_or_else(|_| {
            eprintln!("bad number {:?}", args[i]);
            std::process::exit(2)
        })
    };
    let (seed, segment_size, max_payload, max_records) = (num(2), num(3), num(4) as usize, num(5));
    let config =
        JournalConfig { segment_size, sync_policy: SyncPolicy::Batch, create_dir: true, ..JournalConfig::default() };
    let (mut writer, report) = match JournalWriter::open(&args[1], config) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("open failed: {e}");
            std::process::exit(1);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(out, "open {}", report.last_good_seq);
    let _ = out.flush();
    let mut rng = SimRng::new(seed);
    let mut payload = Vec::with_capacity(max_payload);
    while writer.written_seq() < max_records {
        let n = 1 + rng.below(400);
        for _ in 0..n {
            let seq = writer.next_seq();
            test_payload(seq, max_payload, &mut payload);
            if let Err(e) = writer.append(test_record_type(seq), &payload) {
                eprintln!("append failed: {e}");
                std::process::exit(1);
            }
        }
        match writer.commit() {
            Ok(durable) => {
                // The parent relies on this line meaning "durable".
                let _ = writeln!(out, "{durable}");
                let _ = out.flush();
            }
            Err(e) => {
                eprintln!("commit failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
