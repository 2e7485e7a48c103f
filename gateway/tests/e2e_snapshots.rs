//! Snapshots with the real binary: a clean restart loads the shutdown snapshot and replays
//! nothing; a crash after a periodic snapshot restores the same state as a full replay; a
//! damaged snapshot is skipped in favour of an older one or the journal; report numbering
//! continues across all of them.

mod e2e_common;

use std::path::Path;

use e2e_common::*;
use engine::Side;
use gateway::protocol::ExecReport;

fn snapshots(data: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(data.join("snapshots"))
        .map(|rd| {
            rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "snap")).collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Alice rests `n` asks, bob takes them one by one; returns alice's last seen sequence.
fn trade(m: &Matchd, n: u64) -> u64 {
    let mut alice = m.trader(ALICE);
    let mut bob = m.trader(BOB);
    for i in 0..n {
        alice.new_order(limit(100 + i, Side::Sell, px(i as i64), lots(20))).unwrap();
        // (The first login also resends the deposits' balance reports.)
        recv_until(&mut alice, |m| {
            matches!(m, gateway::protocol::ServerMessage::Report { report: ExecReport::Accepted(_), .. })
        });
        bob.new_order(limit(100 + i, Side::Buy, px(i as i64), lots(10))).unwrap();
        recv_until(&mut bob, |m| {
            matches!(m, gateway::protocol::ServerMessage::Report { report: ExecReport::Fill(_), .. })
        });
    }
    sync(&mut alice);
    let last = alice.last_seen_seq();
    let _ = alice.logout_and_drain(IO);
    let _ = bob.logout_and_drain(IO);
    last
}

fn replay_line(log: &str) -> String {
    log.lines().rev().find(|l| l.contains("replay complete")).unwrap_or_default().to_string()
}

#[test]
fn clean_restart_loads_the_shutdown_snapshot_and_continues_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = ConfigText::risk();
    let m = Matchd::start_with(&data, &cfg);
    let last = trade(&m, 5);
    let (st, log) = m.terminate_with_log();
    assert_eq!(st.code(), Some(0));
    let stopped = state_hashes(&log, "stopped cleanly");
    assert_eq!(snapshots(&data).len(), 1, "a shutdown snapshot: {log}");

    let m = Matchd::start_with(&data, &cfg);
    let mut alice = m.trader_from(ALICE, last);
    assert_eq!(alice.session().unwrap().highest_seq, last, "numbering restored from the snapshot");
    alice.new_order(limit(900, Side::Sell, px(50), lots(20))).unwrap();
    let (seq, r) = next_report(&mut alice);
    assert!(matches!(r, ExecReport::Accepted(_)));
    assert!(seq > last, "new reports continue the numbering: {seq} after {last}");
    // A client far behind still gets its history from the snapshot's saved reports.
    drop(alice);
    let (_, log) = m.terminate_with_log();
    assert!(log.contains("snapshot loaded"), "{log}");
    let line = replay_line(&log);
    assert!(line.contains("commands=0"), "nothing to replay after a shutdown snapshot: {line}");
    assert_eq!(state_hashes(&log, "replay complete").last(), stopped.last());
}

#[test]
fn crash_after_a_periodic_snapshot_equals_a_full_replay_and_a_bad_snapshot_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = ConfigText::risk().set("every_commands", "8").set("on_shutdown", "false");
    let m = Matchd::start_with(&data, &cfg);
    trade(&m, 12);
    m.kill9();
    assert!(!snapshots(&data).is_empty(), "periodic snapshots were taken");

    // Reference: the same journal replayed without any snapshot.
    let full = dir.path().join("full");
    copy_dir(&data, &full);
    std::fs::remove_dir_all(full.join("snapshots")).unwrap();
    let r = Matchd::start_with(&full, &cfg);
    let (_, log) = r.terminate_with_log();
    let want = state_hashes(&log, "replay complete").last().unwrap().clone();

    let m = Matchd::start_with(&data, &cfg);
    let (_, log) = m.terminate_with_log();
    assert!(log.contains("snapshot loaded"), "{log}");
    assert_eq!(state_hashes(&log, "replay complete").last(), Some(&want), "snapshot + tail == full replay");

    // Damage the newest snapshot: it is reported and skipped; the state is still the same.
    let newest = snapshots(&data).pop().unwrap();
    let mut bytes = std::fs::read(&newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&newest, bytes).unwrap();
    let m = Matchd::start_with(&data, &cfg);
    let (_, log) = m.terminate_with_log();
    assert!(log.contains("snapshot skipped"), "{log}");
    assert_eq!(state_hashes(&log, "replay complete").last(), Some(&want));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else if e.file_name() != "LOCK" {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}
