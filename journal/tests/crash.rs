//! Crash tests with real processes: a child appends under the `batch`
//! policy and prints every durable watermark; the parent kills it with
//! SIGKILL at random moments (including during its startup recovery and
//! rollovers), then reopens the journal and checks that every record the
//! child reported durable is there, in order, with the right content, and
//! nothing partial. Meanwhile a reader in the parent tails the child's
//! journal across processes and checks every record it sees.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use journal::sim::SimRng;
use journal::{JournalReader, JournalWriter, LockError, OpenError, SyncPolicy};

const SEGMENT: u64 = 256 * 1024;
const MAX_PAYLOAD: usize = 300;
const ITERATIONS: usize = 24;

#[test]
fn sigkill_at_random_moments_loses_nothing_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    // The child may be killed before it gets to create the directory.
    std::fs::create_dir(&path).unwrap();
    let exe = env!("CARGO_BIN_EXE_journal_crash_child");
    let mut rng = SimRng::new(0xC0FFEE);
    let config = common::config(SEGMENT, SyncPolicy::Batch);
    let mut reported_max = 0u64;
    let mut truncations = 0;
    let mut tailed_total = 0;
    let started = Instant::now();

    for iter in 0..ITERATIONS {
        let mut child = Command::new(exe)
            .arg(&path)
            .arg(iter.to_string())
            .arg(SEGMENT.to_string())
            .arg(MAX_PAYLOAD.to_string())
            .arg("3000000")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Lines as they come, so the parent can wait for the child's `open` line (printed once it
        // holds the lock); the channel closes at the child's exit.
        let (line_tx, line_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = line_tx.send(line);
            }
        });
        let mut lines = Vec::new();

        // A reader in this process tails the child's journal while it runs.
        let stop = Arc::new(AtomicBool::new(false));
        let tail = {
            let stop = Arc::clone(&stop);
            let path = path.clone();
            std::thread::spawn(move || {
                let mut seen = 0u64;
                let Ok(mut r) = JournalReader::open(&path, 1) else {
                    return seen;
                };
                while !stop.load(Ordering::Relaxed) {
                    match r.next().unwrap() {
                        Some(rec) => {
                            common::check_record(rec.seq, rec.record_type, rec.payload, MAX_PAYLOAD);
                            seen = rec.seq;
                        }
                        None => std::thread::sleep(Duration::from_micros(200)),
                    }
                }
                seen
            })
        };

        // Kill at a random moment: sometimes during startup/recovery.
        let delay = if iter % 5 == 0 { rng.below(15) } else { 20 + rng.below(250) };
        std::thread::sleep(Duration::from_millis(delay));
        if iter == 3 {
            // While the child holds the directory, a second writer is refused
            // with an error naming the directory. The delay alone does not
            // mean the child has started (a busy machine may not have run it
            // yet): wait for its `open` line; the bound only catches a hang.
            let first = line_rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("no `open` line from the child: {e}"));
            assert!(first.starts_with("open "), "{first}");
            lines.push(first);
            match JournalWriter::open(&path, config.clone()) {
                Err(OpenError::Lock(LockError::AlreadyLocked { dir, .. })) => assert_eq!(dir, path),
                Err(e) => panic!("unexpected error {e}"),
                Ok(_) => panic!("second writer was allowed"),
            }
        }
        if iter == 1 {
            // One kill at least comes after a durable report, however slowly a busy machine ran
            // the child through its start and first fdatasync (the bound only catches a hang).
            loop {
                let line = line_rx
                    .recv_timeout(Duration::from_secs(60))
                    .unwrap_or_else(|e| panic!("no durable line from the child: {e}"));
                let durable = !line.starts_with("open ");
                lines.push(line);
                if durable {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        let tailed = tail.join().unwrap();
        lines.extend(line_rx.iter());

        for line in &lines {
            if let Some(last_good) = line.strip_prefix("open ") {
                // The child's own recovery found everything reported before.
                assert!(last_good.parse::<u64>().unwrap() >= reported_max, "iteration {iter}");
            } else {
                let durable: u64 = line.parse().unwrap();
                assert!(durable >= reported_max);
                reported_max = durable;
            }
        }

        let (w, report) = JournalWriter::open(&path, config.clone()).unwrap();
        assert!(
            report.last_good_seq >= reported_max,
            "iteration {iter}: recovered {} < reported durable {reported_max}: {report:?}",
            report.last_good_seq
        );
        assert!(report.last_good_seq >= tailed);
        truncations += usize::from(report.truncation.is_some());
        tailed_total += tailed;
        drop(w);
        let last = common::verify_dir(&path, MAX_PAYLOAD);
        assert_eq!(last, report.last_good_seq);
        // Nothing partial: the log ends cleanly where recovery said.
        let (w, again) = JournalWriter::open(&path, config.clone()).unwrap();
        assert!(again.is_clean(), "{again:?}");
        assert_eq!(again.last_good_seq, last);
        drop(w);
    }
    assert!(reported_max > 0, "the child never reported a durable record");
    eprintln!(
        "{ITERATIONS} kills, {reported_max} records durable, {truncations} torn tails \
         truncated, {tailed_total} records tailed, {:?}",
        started.elapsed()
    );
}
