//! Snapshots with the real binary: a clean restart loads the shutdown snapshot and replays
//! nothing; a crash after a periodic snapshot restores the same state as a full replay; a
//! damaged snapshot is skipped in favour of an older one or the journal; report numbering
//! continues across all of them. SIGUSR1 snapshots with either method (a forked child or a
//! copy); a `kill -9` while a forked child writes leaves no child holding the journal, the
//! sockets or memory, and the restart proceeds.

mod e2e_common;

use std::path::Path;
use std::time::{Duration, Instant};

use e2e_common::*;
use engine::Side;
use protocol::ExecReport;

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
            matches!(m, protocol::ServerMessage::Report { report: ExecReport::Accepted(_), .. })
        });
        bob.new_order(limit(100 + i, Side::Buy, px(i as i64), lots(10))).unwrap();
        recv_until(&mut bob, |m| matches!(m, protocol::ServerMessage::Report { report: ExecReport::Fill(_), .. }));
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
    // Snapshots are written in the background (a child process, niced): wait for one.
    m.wait_for("a periodic snapshot", || !snapshots(&data).is_empty());
    m.kill9();

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

/// Waits for a new snapshot file after SIGUSR1; returns the metrics page then.
fn sigusr1_snapshot(m: &Matchd, before: usize) -> String {
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(m.child.id() as i32, libc::SIGUSR1) };
    let deadline = Instant::now() + LONG_WAIT;
    loop {
        let (_, metrics) = m.http_get("/metrics");
        if snapshots(&m.data_dir).len() > before && metric(&metrics, "matchd_snapshots_written_total") >= 1.0 {
            return metrics;
        }
        assert!(Instant::now() < deadline, "no snapshot after SIGUSR1:\n{}", m.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn metric(page: &str, name: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing"))
}

#[test]
fn sigusr1_takes_a_snapshot_with_either_method_and_a_restart_loads_it() {
    for method in ["fork", "copy"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let cfg = ConfigText::risk().set("on_shutdown", "false").set("method", &format!("\"{method}\""));
        let m = Matchd::start_with(&data, &cfg);
        let last = trade(&m, 4);
        let metrics = sigusr1_snapshot(&m, 0);
        assert_eq!(metric(&metrics, "matchd_snapshots_written_total"), 1.0, "{method}");
        assert_eq!(metric(&metrics, "matchd_snapshots_failed_total"), 0.0, "{method}");
        let pause = metric(&metrics, "matchd_snapshot_last_pause_seconds");
        assert!(pause > 0.0 && pause <= metric(&metrics, "matchd_snapshot_pause_max_seconds"), "{method}: {pause}");
        let (st, log) = m.terminate_with_log();
        assert_eq!(st.code(), Some(0));
        assert!(log.contains(&format!("method={}", if method == "fork" { "Fork" } else { "Copy" })), "{log}");
        let stopped = state_hashes(&log, "stopped cleanly");
        assert_eq!(snapshots(&data).len(), 1, "{method}: no shutdown snapshot, only the SIGUSR1 one");
        assert!(!std::fs::read_dir(data.join("snapshots")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")));

        let m = Matchd::start_with(&data, &cfg);
        let alice = m.trader_from(ALICE, last);
        assert_eq!(alice.session().unwrap().highest_seq, last, "{method}: numbering restored");
        drop(alice);
        let (_, log) = m.terminate_with_log();
        assert!(log.contains("snapshot loaded"), "{method}: {log}");
        assert_eq!(state_hashes(&log, "replay complete").last(), stopped.last(), "{method}");
    }
}

#[test]
fn the_timer_takes_snapshots_only_when_something_changed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = ConfigText::risk().set("every_commands", "0").set("every_seconds", "1").set("on_shutdown", "false");
    let m = Matchd::start_with(&data, &cfg);
    trade(&m, 2);
    let written = || metric(&m.http_get("/metrics").1, "matchd_snapshots_written_total");
    // Snapshots follow the trades; then the count must settle: nothing changes, nothing is taken
    // (a timer that ignored that would add one every second and never settle).
    // (Settled means: unchanged for three ticks of the timer; the deadline only bounds a hang.)
    let deadline = Instant::now() + LONG_WAIT;
    let (mut last, mut since) = (written(), Instant::now());
    while last == 0.0 || since.elapsed() < Duration::from_secs(3) {
        assert!(Instant::now() < deadline, "snapshots never settled at a count ({last}):\n{}", m.stderr());
        std::thread::sleep(Duration::from_millis(100));
        let now = written();
        if now != last {
            (last, since) = (now, Instant::now());
        }
    }
    // One more command: the next tick takes one more.
    let mut alice = m.trader(ALICE);
    alice.new_order(limit(77, Side::Sell, px(500), lots(20))).unwrap();
    sync(&mut alice);
    m.wait_for("a snapshot after a change", || written() > last);
    drop(alice);
    let (st, _) = m.terminate_with_log();
    assert_eq!(st.code(), Some(0));
}

/// Living processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if ppid == Some(pid) && alive(child) {
            out.push(child);
        }
    }
    out
}

/// A process's state letter (`R`, `S`, `T` stopped, `Z` zombie ...), None once it is gone.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn alive(pid: u32) -> bool {
    proc_state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

/// What a living process has open: the targets of `/proc/PID/fd/*` (None once it has ended).
fn open_files(pid: u32) -> Option<Vec<String>> {
    if !alive(pid) {
        return None;
    }
    let rd = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(rd.flatten().filter_map(|e| std::fs::read_link(e.path()).ok()).map(|p| p.display().to_string()).collect())
}

#[test]
fn kill9_while_a_forked_child_writes_leaves_nothing_in_the_way_of_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = ConfigText::default()
        .set("on_shutdown", "false")
        .set("every_commands", "0")
        .set("max_open_orders_per_account", "500000");
    // A book big enough that the child takes a while (a debug build serializes slowly):
    // written straight into the journal after a first start created it.
    let m = Matchd::start_with(&data, &cfg);
    assert_eq!(m.terminate().code(), Some(0));
    let orders = 400_000u64;
    {
        let jcfg = journal::JournalConfig { segment_size: 4 << 20, ..Default::default() };
        let (mut w, _) = journal::JournalWriter::open(data.join("journal"), jcfg).expect("journal");
        let mut buf = [0u8; 256];
        for i in 0..orders {
            let side = if i % 2 == 0 { Side::Sell } else { Side::Buy };
            let ticks = 1 + (i % 3000) as i64;
            let price = if side == Side::Sell { px(ticks) } else { px(-ticks) };
            let cmd = engine::Command {
                account: ALICE.0,
                timestamp_ns: 1_000 + i,
                kind: engine::CommandKind::NewOrder(limit(i + 1, side, price, lots(3))),
            };
            let n = engine::command_codec::encode(&cmd, &mut buf);
            w.append(engine::command_codec::RECORD_COMMAND, &buf[..n]).expect("append");
        }
        w.commit().expect("commit");
    }
    let m = Matchd::start_with(&data, &cfg);
    let pid = m.child.id();
    // (The log file sits next to the data directory, with the same name as a prefix.)
    let inside = format!("{}/", data.display());
    let held = |files: &[String]| -> Vec<String> {
        files.iter().filter(|f| f.starts_with(&inside) || f.starts_with("socket:")).cloned().collect()
    };
    // Catch a child while it writes, check what it holds, and stop it (SIGSTOP) so that only
    // its parent's death can end it. A child that finishes before it is caught is retried.
    // Snapshots ended so far (each attempt's, caught or not, must end before the next SIGUSR1).
    let ended = || m.metric("matchd_snapshots_written_total") + m.metric("matchd_snapshots_failed_total");
    let mut caught = None;
    for attempt in 0..5 {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe { libc::kill(pid as i32, libc::SIGUSR1) };
        let deadline = Instant::now() + LONG_WAIT;
        let child = loop {
            if let Some(&c) = children_of(pid).first() {
                break c;
            }
            assert!(Instant::now() < deadline, "no snapshot child appeared:\n{}", m.stderr());
            std::thread::sleep(Duration::from_millis(1));
        };
        // The child keeps only stdio and its error pipe: not the journal, its lock, the
        // snapshot directory or any socket (it closes them right after the fork).
        let deadline = Instant::now() + IO;
        let mut last_held = Vec::new();
        let clean = loop {
            let Some(files) = open_files(child) else {
                assert!(last_held.is_empty(), "the snapshot child held {last_held:?} until it ended");
                break None;
            };
            last_held = held(&files);
            if last_held.is_empty() {
                break Some(files);
            }
            assert!(Instant::now() < deadline, "the snapshot child holds {last_held:?}");
            std::thread::sleep(Duration::from_millis(1));
        };
        let Some(files) = clean else {
            // Finished before it was looked at: let the writer account for it, then try again.
            m.wait_for("the uncaught snapshot to end", || ended() > attempt as f64);
            continue;
        };
        assert!(files.len() <= 4, "stdio and the error pipe only: {files:?}");
        // SAFETY: kill(2) with a pid we just saw as matchd's child (not yet reaped: the pid
        // is not reused); at worst it signals a zombie.
        unsafe { libc::kill(child as i32, libc::SIGSTOP) };
        let deadline = Instant::now() + IO;
        while proc_state(child).is_some_and(|s| s != 'T' && s != 'Z') && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if proc_state(child) == Some('T') {
            caught = Some(child);
            break;
        }
        // Finished in between: let the writer reap it and account for it, then try again.
        m.wait_for("the uncaught snapshot to end", || ended() > attempt as f64);
    }
    let child = caught.unwrap_or_else(|| panic!("a snapshot child caught while writing: {}", m.stderr()));
    m.kill9();
    // The stopped child dies with its parent instead of lingering.
    let deadline = Instant::now() + IO;
    // (A zombie waiting for its new parent to reap it is dead.)
    while alive(child) {
        if Instant::now() >= deadline {
            // SAFETY: as above; cleans up before failing.
            unsafe { libc::kill(child as i32, libc::SIGKILL) };
            panic!("snapshot child {child} outlived its parent");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // The restart is not refused (journal lock) and replays everything.
    let m = Matchd::start_with(&data, &cfg);
    let (st, log) = m.terminate_with_log();
    assert_eq!(st.code(), Some(0), "{log}");
    let line = replay_line(&log);
    let replayed: u64 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("commands=")?.parse().ok())
        .unwrap_or_else(|| panic!("replay line: {line}"));
    assert!(replayed > orders, "the whole journal is replayed: {line}");
}

/// A seeded random order flow from alice and bob (crossing limit orders, cancels and amends
/// by client order id, some rejected), `n` commands in all, responses drained as it goes.
fn random_flow(m: &Matchd, seed: u64, n: u64) {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |below: u64| {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % below
    };
    let mut clients = [m.trader(ALICE), m.trader(BOB)];
    let mut sent = [0u64; 2];
    for i in 0..n {
        let who = next(2) as usize;
        let c = &mut clients[who];
        let cid = 10_000_000 + i;
        match next(10) {
            0..=5 => {
                let side = if next(2) == 0 { Side::Buy } else { Side::Sell };
                let ticks = next(40) as i64 - 20;
                c.new_order(limit(cid, side, px(ticks), lots(2 + next(5)))).unwrap();
            }
            6 | 7 => c.cancel(engine::OrderRef::Client(10_000_000 + next(i + 1))).unwrap(),
            _ => c
                .amend(engine::Amend {
                    order: engine::OrderRef::Client(10_000_000 + next(i + 1)),
                    new_qty: Some(lots(1 + next(6))),
                    new_price: None,
                })
                .unwrap(),
        }
        sent[who] += 1;
        // Keep the outbound buffers small: drain now and then.
        if i % 200 == 199 {
            for c in &mut clients {
                sync(c);
            }
        }
    }
    for c in &mut clients {
        sync(c);
    }
    assert!(sent.iter().all(|&s| s > n / 4), "both traders sent: {sent:?}");
}

#[test]
fn random_flow_with_periodic_snapshots_restarts_like_a_full_replay() {
    for (method, seed) in [("fork", 11), ("copy", 12)] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let cfg = ConfigText::risk()
            .set("every_commands", "300")
            .set("on_shutdown", "false")
            .set("method", &format!("\"{method}\""));
        let m = Matchd::start_with(&data, &cfg);
        random_flow(&m, seed, 1_500);
        m.wait_for(&format!("{method}: two periodic snapshots"), || snapshots(&data).len() >= 2);
        m.kill9();

        let full = dir.path().join("full");
        copy_dir(&data, &full);
        std::fs::remove_dir_all(full.join("snapshots")).unwrap();
        let (_, log) = Matchd::start_with(&full, &cfg).terminate_with_log();
        let want = state_hashes(&log, "replay complete").last().unwrap().clone();

        let (_, log) = Matchd::start_with(&data, &cfg).terminate_with_log();
        assert!(log.contains("snapshot loaded"), "{method}: {log}");
        assert_eq!(state_hashes(&log, "replay complete").last(), Some(&want), "{method}: snapshot + tail == full");
    }
}
