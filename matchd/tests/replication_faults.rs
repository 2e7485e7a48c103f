//! Replica sets under bad input and faults, each with a specific error and nothing applied:
//! etcd unreachable at start, two processes with one node id, a follower whose config has other
//! engine capacities, a follower whose journal is another exchange's; and a two-node set, which
//! must work (its quorum is both nodes, so the survivor of a failover has every acknowledged
//! record).

mod e2e_common;
mod replica_common;

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use client::{connect_leader, LoginParams};
use e2e_common::{limit, lots, place, px, ConfigText, ALICE, IO, LONG_WAIT};
use engine::Side;
use replica_common::{replication_section, Etcd, Node, ReplicaSet};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn node_config(dir: &std::path::Path, name: &str, section: &str) -> std::path::PathBuf {
    let cfg = ConfigText::default()
        .set("data.dir", &format!("\"{}\"", dir.join(name).display()))
        .set("server.listen", "\"127.0.0.1:0\"")
        .set("metrics.listen", "\"127.0.0.1:0\"");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, cfg.0 + section).unwrap();
    path
}

/// Runs matchd to its exit; returns (exit code, stderr).
fn run_to_exit(config: &std::path::Path) -> (Option<i32>, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_matchd")).arg("--config").arg(config).stdin(Stdio::null()).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn wait_exit(node: &mut Node) -> std::process::ExitStatus {
    let deadline = Instant::now() + LONG_WAIT;
    loop {
        if let Some(st) = node.child.try_wait().unwrap() {
            return st;
        }
        assert!(Instant::now() < deadline, "node {} still runs:\n{}", node.id, node.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn etcd_unreachable_at_start_names_the_endpoints() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    // A port bound (without SO_REUSEADDR) but never listening: connections to it are refused, and
    // while `held` lives no other socket (an etcd of a parallel test, an outgoing connection)
    // can take it, as one could a port that was bound and freed.
    let held = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    held.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
    let port = held.local_addr().unwrap().as_socket().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let cfg = node_config(dir.path(), "n1", &replication_section(&endpoint, "u", 1, 3, "127.0.0.1:0", ""));
    let (code, stderr) = run_to_exit(&cfg);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("etcd unreachable at {endpoint}")), "{stderr}");
    assert!(!dir.path().join("n1").join("journal").exists(), "nothing was created");
}

#[test]
fn a_second_process_with_the_same_node_id_is_refused() {
    let _s = serial();
    let etcd = Etcd::start();
    let dir = tempfile::tempdir().unwrap();
    // One node of three: it waits for an election quorum, holding its member key.
    let a = node_config(dir.path(), "a", &replication_section(&etcd.endpoint, "dup", 1, 3, "127.0.0.1:0", ""));
    let mut first = Node::spawn(1, &dir.path().join("a"), &a);
    let deadline = Instant::now() + LONG_WAIT;
    while !first.stderr().contains("joined the replica set") {
        assert!(Instant::now() < deadline, "{}", first.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    let b = node_config(dir.path(), "b", &replication_section(&etcd.endpoint, "dup", 1, 3, "127.0.0.1:0", ""));
    let (code, stderr) = run_to_exit(&b);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("node id 1 is already taken by a live process"), "{stderr}");
    assert!(first.running(), "the first process is unaffected");
}

#[test]
fn a_follower_with_other_engine_capacities_is_refused() {
    let _s = serial();
    let set = ReplicaSet::start(3, ConfigText::default(), |_| String::new());
    let leader = set.wait_leader();
    let dir = tempfile::tempdir().unwrap();
    // A fourth process claiming a free id of a 4-node set would be another cluster; instead node
    // ids are fixed: replace a follower with one whose [engine] differs.
    let victim = (1..=3).find(|&i| i != leader).unwrap();
    let mut set = set;
    set.node_mut(victim).kill9();
    let text = std::fs::read_to_string(set.config(victim)).unwrap();
    let changed = text.replacen("max_orders = ", "max_orders = 1", 1);
    assert_ne!(changed, text, "the config has engine.max_orders");
    std::fs::write(set.config(victim), changed).unwrap();
    std::fs::remove_dir_all(set.data_dir(victim)).unwrap();
    set.restart(victim);
    let st = wait_exit(set.node_mut(victim));
    assert!(!st.success());
    let log = set.node(victim).stderr();
    assert!(log.contains("EngineConfigMismatch"), "{log}");
    assert!(!set.data_dir(victim).join("journal").exists(), "nothing was written");
    let _ = dir;
}

#[test]
fn a_follower_with_another_exchanges_journal_is_refused_not_truncated() {
    let _s = serial();
    let mut set = ReplicaSet::start(3, ConfigText::default(), |_| String::new());
    let leader = set.wait_leader();
    let victim = (1..=3).find(|&i| i != leader).unwrap();
    set.node_mut(victim).kill9();
    // Another exchange: same engine capacities, its own format records (other instruments).
    std::fs::remove_dir_all(set.data_dir(victim)).unwrap();
    let other = ConfigText::default().set("data.dir", &format!("\"{}\"", set.data_dir(victim).display()));
    let other = ConfigText(other.0.replacen("reference_price = 5000000", "reference_price = 4200000", 1));
    let other_cfg = set.dir.path().join("other.toml");
    std::fs::write(&other_cfg, other.0).unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_matchd")).arg("--config").arg(&other_cfg).arg("format").output().unwrap();
    assert!(st.status.success(), "{st:?}");
    let before = replica_common::journal_digest(&set.data_dir(victim), u64::MAX);
    set.restart(victim);
    let st = wait_exit(set.node_mut(victim));
    assert!(!st.success());
    let log = set.node(victim).stderr();
    assert!(log.contains("Diverged"), "{log}");
    assert_eq!(replica_common::journal_digest(&set.data_dir(victim), u64::MAX), before, "its journal is untouched");
}

#[test]
fn a_two_node_set_fails_over_without_loss() {
    let _s = serial();
    let mut set = ReplicaSet::start(2, ConfigText::default(), |_| String::new());
    let leader = set.wait_leader();
    let p = LoginParams::trader(ALICE.0, ALICE.1.as_bytes());
    let mut c = connect_leader(&set.addrs(), p, IO, LONG_WAIT).unwrap().client;
    let a = place(&mut c, limit(1, Side::Buy, px(-1), lots(10)));
    let last_seen = c.last_seen_seq();
    drop(c);
    set.node_mut(leader).kill9();
    // The survivor leads (an election needs one node of two), but acknowledges nothing until
    // the other is back: its quorum is both.
    let survivor = set.wait_leader();
    assert_ne!(survivor, leader);
    set.restart(leader);
    set.node_mut(leader).wait_ready();
    let mut p = LoginParams::trader(ALICE.0, ALICE.1.as_bytes());
    p.last_seen_seq = last_seen;
    let l = connect_leader(&set.addrs(), p, IO, LONG_WAIT).unwrap();
    let (mut c, accepted) = (l.client, l.accepted);
    assert_eq!(accepted.highest_seq, last_seen, "the acknowledged order is there, nothing else");
    let b = place(&mut c, limit(2, Side::Buy, px(-2), lots(10)));
    assert!(b.order_id > a.order_id);
}

#[test]
fn a_leader_that_loses_etcd_stops_acknowledging_when_its_lease_may_have_expired() {
    let _s = serial();
    let set = ReplicaSet::start(3, ConfigText::default(), |_| String::new());
    set.wait_leader();
    let p = LoginParams::trader(ALICE.0, ALICE.1.as_bytes());
    let mut c = connect_leader(&set.addrs(), p, IO, LONG_WAIT).unwrap().client;
    place(&mut c, limit(1, Side::Buy, px(-1), lots(10)));
    set.etcd.signal(libc::SIGSTOP);
    // The lease (2 s) is surely gone from the leader's point of view after this: it renewed at
    // the latest when etcd was stopped.
    std::thread::sleep(Duration::from_secs(4));
    c.new_order(limit(2, Side::Buy, px(-2), lots(10))).unwrap();
    // Everything received counts, also when the leader closes the session as it steps down.
    let mut quiet = Vec::new();
    if let Err(e) = c.recv_until(|_| false, Duration::from_secs(2), &mut quiet) {
        eprintln!("the session ended: {e}");
    }
    assert!(
        !quiet.iter().any(|m| matches!(m, protocol::ServerMessage::Report { .. })),
        "acknowledged without a lease: {quiet:?}"
    );
    set.etcd.signal(libc::SIGCONT);
    drop(c);
    // Back: a leader (the same after renewing, or a new one) acknowledges again; the order sent
    // meanwhile is either applied once or, on a deposed leader, never.
    let p = LoginParams::trader(ALICE.0, ALICE.1.as_bytes());
    let deadline = Instant::now() + LONG_WAIT;
    let mut cid = 3;
    loop {
        let mut c = match connect_leader(&set.addrs(), p, IO, LONG_WAIT) {
            Ok(l) => l.client,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        cid += 1;
        c.new_order(limit(cid, Side::Buy, px(-3), lots(10))).unwrap();
        let got = c.recv_for(Duration::from_secs(3)).unwrap_or_default();
        if got.iter().any(|m| matches!(m, protocol::ServerMessage::Report { report: protocol::ExecReport::Accepted(a), .. } if a.client_order_id == cid)) {
            break;
        }
        assert!(Instant::now() < deadline, "no acknowledgement after etcd came back\n{}", set.logs());
    }
}
