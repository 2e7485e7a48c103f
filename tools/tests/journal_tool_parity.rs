//! `matchd-journal verify` gives matchd's verdict: on damaged copies of real journals its exit
//! code and message match what recovery does (the journal crate's `JournalWriter::open`, which
//! matchd runs, for a flip in every header byte; the real `matchd` binary for a flipped reserved
//! byte, a deleted last segment and a snapshot beyond the journal's end). The matchd cases are
//! skipped, with a note, when the binary cannot be found (`cargo build -p matchd` builds it).

mod journal_tool_common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use journal::{JournalConfig, JournalWriter, OpenError};
use journal_tool_common::*;
use tools::loadgen::matchd::{config_toml, locate_binary, set_key};

const SEG: u64 = 16 * 1024;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn flip(path: &Path, at: u64, mask: u8) {
    let mut b = std::fs::read(path).unwrap();
    b[at as usize] ^= mask;
    std::fs::write(path, b).unwrap();
}

/// What recovery does on `data`'s journal, on a copy: "refuses: <message>", "cuts" or "clean".
fn recovery_verdict(data: &Path) -> String {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&data.join("journal"), copy.path());
    match JournalWriter::open(copy.path(), JournalConfig::default()) {
        Err(OpenError::Corruption(c)) => {
            // The message names the original files, as the tool's does.
            let text = c.to_string().replace(&*copy.path().to_string_lossy(), &data.join("journal").to_string_lossy());
            format!("refuses: {text}")
        }
        Err(e) => panic!("open: {e}"),
        Ok((_, r)) if r.truncation.is_some() => "cuts".to_string(),
        Ok(_) => "clean".to_string(),
    }
}

/// The same verdict read from `verify`'s exit code and output.
fn verify_verdict(data: &Path) -> String {
    let r = tool(data, &["verify"]);
    match r.code {
        0 => "clean".to_string(),
        3 => "cuts".to_string(),
        1 => {
            let line = r.stdout.lines().find_map(|l| l.strip_prefix("FAILED: journal corrupt: "));
            let line = line.unwrap_or_else(|| panic!("no journal verdict:\n{}{}", r.stdout, r.stderr));
            format!("refuses: {}", line.split("; matchd refuses to start").next().unwrap())
        }
        c => panic!("verify exit {c}:\n{}{}", r.stdout, r.stderr),
    }
}

#[test]
fn verify_and_recovery_agree_on_a_flip_in_every_header_byte() {
    let dir = tempfile::tempdir().unwrap();
    let fx = dir.path().join("fx");
    write_journal(&fx, false, 1_200, SEG, &[], 21);
    let segs = segments(&fx);
    assert!(segs.len() >= 4, "several segments");
    // The second segment: its header, and a record in its middle (acknowledged: below the
    // durable watermark).
    let seg = segs[1].clone();
    let recs = records_in(&seg);
    let (off, _) = recs[recs.len() / 2];
    let spots: Vec<u64> = (0..128).chain(off..off + 24).collect();
    let mut refused = 0;
    for (i, at) in spots.into_iter().enumerate() {
        let d = dir.path().join(format!("c{i}"));
        copy_dir(&fx, &d);
        flip(&d.join("journal").join(seg.file_name().unwrap()), at, if i % 2 == 0 { 0x01 } else { 0x80 });
        let want = recovery_verdict(&d);
        assert_eq!(verify_verdict(&d), want, "byte {at} of {}", seg.display());
        refused += usize::from(want.starts_with("refuses"));
        std::fs::remove_dir_all(&d).unwrap();
    }
    // All but the watermark copies (the other copy holds).
    assert!(refused >= 152 - 24, "refused {refused}");
}

/// How a matchd start on `data` ended: `Err(stderr)` if it exited (with its code), `Ok(stderr)`
/// if it became ready (then it is stopped).
/// The config without its `[[instruments]]`: the test journals define their own, and matchd
/// refuses a config whose instruments differ from the journal's.
fn without_instruments(toml: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in toml.lines() {
        if line.starts_with('[') {
            skipping = line.trim() == "[[instruments]]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn start_matchd(bin: &Path, data: &Path, extra: &[&str]) -> Result<String, (i32, String)> {
    let cfg = data.with_extension("toml");
    std::fs::write(
        &cfg,
        without_instruments(&set_key(
            &config_toml(matchd::config::DEFAULT_CONFIG_TOML, &[], None),
            "segment_bytes",
            "16384",
        )),
    )
    .unwrap();
    let log = data.with_extension("log");
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(&cfg)
        .arg("--data-dir")
        .arg(data)
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .expect("spawn matchd");
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
            return Err((st.code().unwrap_or(-1), std::fs::read_to_string(&log).unwrap()));
        }
        if rx.try_recv().is_ok() {
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            child.wait().unwrap();
            return Ok(std::fs::read_to_string(&log).unwrap());
        }
        assert!(Instant::now() < deadline, "matchd neither started nor exited");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn matchd_binary() -> Option<PathBuf> {
    match locate_binary(None) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("skipping: {e}");
            None
        }
    }
}

#[test]
fn a_flipped_reserved_byte_fails_verify_and_stops_matchd_alike() {
    let Some(bin) = matchd_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_journal(&data, false, 1_200, SEG, &[], 22);
    let seg = segments(&data)[1].clone();
    let (off, seq) = records_in(&seg)[5];
    flip(&seg, off + 19, 0x20);
    let r = tool(&data, &["verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let verdict = verify_verdict(&data);
    let text = verdict.strip_prefix("refuses: ").unwrap();
    assert!(text.contains("non-zero reserved header bytes") && text.contains(&format!("sequence {seq}")), "{text}");
    let (code, log) = start_matchd(&bin, &data, &[]).expect_err("matchd refuses");
    assert_eq!(code, 1, "{log}");
    assert!(log.contains(text), "matchd gives verify's message:\n{text}\n---\n{log}");
}

#[test]
fn a_deleted_last_segment_fails_verify_and_stops_matchd_alike() {
    let Some(bin) = matchd_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let made = write_journal(&data, false, 1_200, SEG, &[], 23);
    let last = made.commands.last().unwrap().0;
    let segs = segments(&data);
    let gone = segs.last().unwrap().clone();
    let first_gone: u64 = gone.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    std::fs::remove_file(&gone).unwrap();
    let verdict = verify_verdict(&data);
    let text = verdict.strip_prefix("refuses: ").unwrap_or_else(|| panic!("verify: {verdict}"));
    assert!(text.contains(&*gone.to_string_lossy()), "names the missing file: {text}");
    assert!(text.contains(&*segs[segs.len() - 2].file_name().unwrap().to_string_lossy()), "and the last one: {text}");
    assert!(text.contains(&format!("records {first_gone}..={last}")), "and the lost sequences: {text}");
    let (code, log) = start_matchd(&bin, &data, &[]).expect_err("matchd refuses");
    assert_eq!(code, 1, "{log}");
    assert!(log.contains(text), "matchd gives verify's message:\n{text}\n---\n{log}");
    assert!(log.contains("--accept-data-loss"), "{log}");
    assert_eq!(segments(&data).len(), segs.len() - 1, "nothing was changed");
    assert!(snapshot::list_snapshots(&data.join("snapshots")).unwrap().is_empty(), "no snapshot over the evidence");
}

#[test]
fn a_snapshot_beyond_the_journals_end_is_lost_data_unless_durability_is_none() {
    let Some(bin) = matchd_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let made = write_journal(&data, false, 1_200, SEG, &[1_100], 24);
    let snap = made.snapshots[0].1.clone();
    // A journal that ends, as recovery sees it, before the snapshot: the image a power loss leaves
    // under durability "none" (headers never synced past 700, the segments from 1000 on gone).
    for s in segments(&data) {
        if records_in(&s).last().is_some_and(|&(_, seq)| seq >= 1_000) {
            std::fs::remove_file(&s).unwrap();
        } else {
            set_watermark(&s, 700);
        }
    }
    // Under batch (matchd's default): lost acknowledged records, for verify and for matchd.
    let r = tool(&data, &["verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let lost = r.stdout.lines().find(|l| l.contains("beyond the journal's end")).expect("the loss").to_string();
    assert!(lost.contains(&*snap.to_string_lossy()) && lost.contains("sequence 1100"), "{lost}");
    assert_eq!(tool(&data, &["inspect"]).code, 1);
    let (code, log) = start_matchd(&bin, &data, &[]).expect_err("matchd refuses");
    assert_eq!(code, 1, "{log}");
    let text = lost.strip_prefix("FAILED: ").unwrap();
    assert!(log.contains(text), "matchd gives verify's message:\n{text}\n---\n{log}");
    assert!(snap.exists(), "the evidence is untouched");

    // Under none, a power loss explains it: verify reports the torn tail, matchd starts and sets
    // the snapshot aside.
    let none = dir.path().join("none");
    copy_dir(&data, &none);
    let r = tool(&none, &["verify", "--durability", "none"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("sets it aside"), "{}", r.stdout);
    let log = start_matchd(&bin, &none, &["--durability", "none"]).expect("matchd starts");
    assert!(log.contains("set aside"), "{log}");
    assert!(snapshot::list_snapshots(&none.join("snapshots")).unwrap().iter().all(|e| e.seq <= 1_000), "{log}");

    // The override: batch, but the operator accepts the loss for this start.
    let log = start_matchd(&bin, &data, &["--accept-data-loss"]).expect("matchd starts");
    assert!(log.contains("ERROR") && log.contains("ACCEPTING DATA LOSS"), "{log}");
    assert!(log.contains(&*snap.to_string_lossy()), "names what is lost: {log}");
    assert!(!snap.exists(), "set aside");
    let kept = std::fs::read_dir(data.join("snapshots")).unwrap().filter_map(|e| e.ok()).any(|e| {
        e.file_name().to_string_lossy().starts_with(&*snap.file_name().unwrap().to_string_lossy())
            && e.file_name().to_string_lossy().contains("beyond-journal-end")
    });
    assert!(kept, "kept as evidence");
    // The next start needs no override.
    start_matchd(&bin, &data, &[]).expect("a normal start");
}
