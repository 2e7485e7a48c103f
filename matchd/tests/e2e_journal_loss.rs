//! Lost acknowledged records stop matchd instead of being lost silently, with the real binary:
//! a journal whose last segment was deleted after a `kill -9`, and a snapshot beyond the journal's
//! end under `batch` durability, refuse to start with an error naming the files and sequences and
//! change nothing; `durability = "none"` explains a snapshot beyond the end (a power loss) and
//! starts; `--accept-data-loss` starts once, logging the loss at error level and keeping the
//! evidence. Segments of 16 KiB, so a few hundred orders span several.

mod e2e_common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e_common::*;
use engine::Side;
use protocol::ExecReport;

fn cfg(durability: &str) -> ConfigText {
    ConfigText::default().set("segment_bytes", "16384").set("durability", &format!("\"{durability}\""))
}

/// Alice rests `n` asks, sent without waiting, and sees every one accepted.
fn rest_asks(m: &Matchd, n: u64) {
    let mut alice = m.trader(ALICE);
    for i in 0..n {
        alice.new_order(limit(1 + i, Side::Sell, px(100 + (i % 200) as i64), lots(20))).unwrap();
    }
    let got = sync(&mut alice);
    let accepted = got.iter().filter(|r| matches!(r, ExecReport::Accepted(_))).count();
    assert_eq!(accepted as u64, n, "{:?}", got.iter().find(|r| !matches!(r, ExecReport::Accepted(_))));
}

fn segments(data: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v
}

fn first_seq(seg: &Path) -> u64 {
    seg.file_stem().unwrap().to_str().unwrap().parse().unwrap()
}

fn snapshot_files(data: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(data.join("snapshots")).map(|rd| rd.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    v.sort();
    v
}

/// Every file under `dir` with its bytes.
fn image(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(image(&p));
        } else {
            v.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    v.sort();
    v
}

/// Starts matchd on `data` with `cfg` and expects it to refuse: returns its exit code and log.
/// Panics at once if it becomes ready instead.
fn refused(data: &Path, cfg: &ConfigText, extra: &[&str]) -> (i32, String) {
    let path = data.with_extension("toml");
    std::fs::write(&path, &cfg.0).unwrap();
    let log = data.with_extension("refused.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_matchd"))
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(&path)
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("matchd ready") {
                let _ = tx.send(());
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return (st.code().unwrap_or(-1), std::fs::read_to_string(&log).unwrap());
        }
        if rx.try_recv().is_ok() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("matchd started: {}", std::fs::read_to_string(&log).unwrap());
        }
        assert!(Instant::now() < deadline, "matchd neither started nor exited");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_deleted_last_segment_stops_matchd_until_the_loss_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = cfg("batch");
    let m = Matchd::start_with(&data, &cfg);
    rest_asks(&m, 700);
    m.kill9();
    let segs = segments(&data);
    assert!(segs.len() >= 3, "several segments: {segs:?}");
    let gone = segs.last().unwrap().clone();
    std::fs::remove_file(&gone).unwrap();
    let before = image(&data);

    let (code, log) = refused(&data, &cfg, &[]);
    assert_eq!(code, 1, "{log}");
    let seg_name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    assert!(log.contains(&*gone.to_string_lossy()), "names the missing segment: {log}");
    assert!(log.contains(&seg_name(&segs[segs.len() - 2])), "and the last one present: {log}");
    assert!(log.contains(&format!("records {}..=", first_seq(&gone))), "and the lost sequences: {log}");
    assert!(log.contains("--accept-data-loss"), "and the way out: {log}");
    assert_eq!(image(&data), before, "nothing was changed, no snapshot written");

    // The operator accepts the loss for one start: loud, and the log says what is lost.
    let path = data.with_extension("toml");
    let m = Matchd::start(&data, &["--config", path.to_str().unwrap(), "--accept-data-loss"]);
    let log = m.stderr();
    assert!(log.contains("ERROR") && log.contains("ACCEPTING DATA LOSS"), "{log}");
    assert!(log.contains(&format!("cut at sequence {}", first_seq(&gone))), "{log}");
    let mut alice = m.trader(ALICE);
    alice.new_order(limit(9_999, Side::Sell, px(500), lots(20))).unwrap();
    assert!(matches!(next_report(&mut alice).1, ExecReport::Accepted(_)));
    drop(alice);
    assert_eq!(m.terminate().code(), Some(0));
    // Then it is an ordinary journal again.
    let m = Matchd::start_with(&data, &cfg);
    let (st, log) = m.terminate_with_log();
    assert_eq!(st.code(), Some(0), "{log}");
    // (The log file holds every start: the loss was accepted once.)
    assert_eq!(log.matches("ACCEPTING DATA LOSS").count(), 1, "{log}");
}

#[test]
fn a_snapshot_beyond_the_journals_end_stops_matchd_under_batch_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Under "none" the journal lives in the page cache: a snapshot can outlive records that a
    // power loss takes. The same image, with the segment deleted after a kill -9.
    let m = Matchd::start_with(&data, &cfg("none"));
    rest_asks(&m, 700);
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(m.child.id() as i32, libc::SIGUSR1) };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !snapshot_files(&data).iter().any(|p| p.extension().is_some_and(|x| x == "snap")) {
        assert!(Instant::now() < deadline, "no snapshot written: {}", m.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
    m.kill9();
    let snap = snapshot_files(&data).pop().unwrap();
    std::fs::remove_file(segments(&data).pop().unwrap()).unwrap();
    let before = image(&data);

    // Configured for batch now: every record a snapshot saw was acknowledged as synced.
    let (code, log) = refused(&data, &cfg("batch"), &[]);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains(&*snap.to_string_lossy()) && log.contains("beyond the journal's end"), "{log}");
    assert!(log.contains("journal.durability = \"batch\""), "{log}");
    assert_eq!(image(&data), before, "nothing was changed");

    // Under none, a power loss explains it: matchd starts from the journal's end and keeps the
    // snapshot aside, where no later start loads it.
    let none = dir.path().join("none");
    copy_dir(&data, &none);
    let m = Matchd::start_with(&none, &cfg("none"));
    let (st, log) = m.terminate_with_log();
    assert_eq!(st.code(), Some(0), "{log}");
    assert!(log.contains("set aside") && !log.contains("ERROR"), "{log}");
    let aside = none.join("snapshots").join(snap.file_name().unwrap());
    assert!(!aside.exists(), "{log}");

    // Under batch with the override: starts, loudly.
    let path = data.with_extension("toml");
    let m = Matchd::start(&data, &["--config", path.to_str().unwrap(), "--accept-data-loss"]);
    let (st, log) = m.terminate_with_log();
    assert_eq!(st.code(), Some(0), "{log}");
    assert!(log.contains("ERROR") && log.contains("ACCEPTING DATA LOSS"), "{log}");
    assert!(log.contains(&*snap.to_string_lossy()), "{log}");
    let kept = snapshot_files(&data)
        .iter()
        .any(|p| p.to_string_lossy().starts_with(&*snap.to_string_lossy()) && p.to_string_lossy().contains("beyond"));
    assert!(kept, "the snapshot is kept as evidence: {:?}", snapshot_files(&data));
}
