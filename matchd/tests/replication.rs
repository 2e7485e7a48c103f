//! Replica sets end to end: a real etcd and real `matchd` processes on loopback.
//!
//! - Failover under load: the leader is killed with SIGKILL at seeded moments, cycle after cycle,
//!   while two traders trade through whichever node leads. Every report a trader saw (each one an
//!   acknowledgement) must be in the final history at the same sequence number, resends after each
//!   failover must continue exactly, and every node's journal must be byte-identical and replay
//!   to the same state hash. `MATCHD_REPLICATION_CYCLES` raises the number of cycles (long mode).
//! - A leader paused (SIGSTOP) past its lease acknowledges nothing when it resumes, and rejoins
//!   as a follower, its unacknowledged tail discarded.
//! - Followers killed and restarted from empty data directories catch up.
//! - Replication traffic delayed, stalled and cut by a proxy: no loss, no divergence.

mod e2e_common;
mod replica_common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client::{connect_leader, ClientError, LoginParams};
use e2e_common::{limit, ConfigText, ALICE, BOB, BTC_LOT, BTC_REF, LONG_WAIT};
use engine::Side;
use protocol::{ExecReport, ServerMessage};
use replica_common::{journal_digest, Proxy, ProxyMode, ReplicaSet};

/// Each test runs three matchd processes and an etcd; one test at a time keeps a 2-core machine
/// from running twelve.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// One attempt's I/O bound (a node that does not answer is skipped).
const ATTEMPT: Duration = Duration::from_secs(5);

/// A trader with commands in flight and no answer for this long leaves the session.
const SILENT_LEADER: Duration = Duration::from_secs(2);

/// Every report a trader saw, by sequence number.
type Seen = BTreeMap<u64, ExecReport>;

/// A trader that keeps trading through whichever node leads, reconnecting after failovers with
/// its last seen sequence, and records every report it sees (checking resends against them).
fn trader(
    who: (u32, &'static str),
    addrs: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    side: Side,
) -> std::thread::JoinHandle<(Seen, u64)> {
    std::thread::spawn(move || {
        let mut seen = Seen::new();
        let mut last_seen = 0u64;
        let mut cid = (who.0 as u64) << 40;
        let mut reconnects = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let nodes = addrs.lock().unwrap().clone();
            let mut p = LoginParams::trader(who.0, who.1.as_bytes());
            p.last_seen_seq = last_seen;
            let mut c = match connect_leader(&nodes, p, ATTEMPT, LONG_WAIT) {
                Ok(l) => l.client,
                Err(ClientError::LoginRejected { reason: protocol::LoginRejectReason::AlreadyLoggedIn, .. }) => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Err(e) => panic!("account {}: no leader to log in to: {e}", who.0),
            };
            reconnects += 1;
            let mut inflight = 0u32;
            let mut last_rx = Instant::now();
            'session: while !stop.load(Ordering::Relaxed) {
                // A leader that went silent (paused, cut off) is left as a real client would.
                if inflight > 0 && last_rx.elapsed() > SILENT_LEADER {
                    break 'session;
                }
                if inflight < 8 {
                    cid += 1;
                    // Crossing prices around the reference: fills, partial fills and resting orders.
                    let ticks = (cid % 7) as i64 - 3;
                    let price = (BTC_REF as i64 + ticks * 100) as u64;
                    if c.new_order(limit(cid, side, price, BTC_LOT * 10 * (1 + cid % 3))).is_err() {
                        break 'session;
                    }
                    inflight += 1;
                }
                loop {
                    match c.recv(Duration::from_millis(2)) {
                        Ok(Some(ServerMessage::Report { seq, report })) => {
                            last_rx = Instant::now();
                            if let Some(prev) = seen.insert(seq, report) {
                                assert_eq!(prev, report, "account {}: resent report {seq} differs", who.0);
                            }
                            assert!(seq <= last_seen + 1, "account {}: gap before {seq} (last {last_seen})", who.0);
                            last_seen = last_seen.max(seq);
                            if matches!(report, ExecReport::Accepted(_) | ExecReport::Rejected(_)) {
                                inflight = inflight.saturating_sub(1);
                            }
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(_) => break 'session,
                    }
                }
            }
        }
        (seen, reconnects)
    })
}

/// The whole retained history of an account, from the leader.
fn history(set: &ReplicaSet, who: (u32, &str)) -> Seen {
    let p = LoginParams::trader(who.0, who.1.as_bytes());
    let deadline = Instant::now() + LONG_WAIT;
    // A session can end under the reading: on a saturated machine a leader can lose its lease
    // spuriously and step down, closing its sessions. Then the whole history is read again from
    // whichever node leads next.
    'session: loop {
        let (mut c, accepted) = match connect_leader(&set.addrs(), p, ATTEMPT, LONG_WAIT) {
            Ok(l) => (l.client, l.accepted),
            Err(e) if Instant::now() < deadline => {
                eprintln!("history login: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => panic!("history login: {e}"),
        };
        let mut out = Seen::new();
        while out.len() < accepted.highest_seq as usize {
            match c.recv(e2e_common::IO) {
                Ok(Some(ServerMessage::Report { seq, report })) => {
                    out.insert(seq, report);
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("history of account {}: {} of {} reports", who.0, out.len(), accepted.highest_seq),
                Err(e) if Instant::now() < deadline => {
                    eprintln!("history of account {}: the session ended ({e}); reading it again", who.0);
                    continue 'session;
                }
                Err(e) => panic!("history of account {}: {e}", who.0),
            }
        }
        return out;
    }
}

/// Every report seen is in the history at its sequence, identical.
fn check_seen(who: (u32, &str), seen: &Seen, hist: &Seen) {
    assert!(!seen.is_empty(), "account {} saw no report", who.0);
    for (seq, r) in seen {
        assert_eq!(
            hist.get(seq),
            Some(r),
            "account {}: acknowledged report {seq} lost or changed after failover",
            who.0
        );
    }
}

/// All nodes hold the same journal and replay to the same state.
fn check_identical(set: &ReplicaSet) {
    let upto = set.wait_converged();
    let digests: Vec<(u32, (u128, u32, u64))> =
        set.nodes.iter().flatten().map(|n| (n.id, journal_digest(&n.data_dir, upto))).collect();
    for (id, d) in &digests {
        assert_eq!(d.2, upto, "node {id} journal ends early");
        assert_eq!(*d, digests[0].1, "node {id} differs from node {} at sequence {upto}", digests[0].0);
    }
    // Online too: every node's matcher logged the same state hash at the same checkpoint.
    set.wait_equal_checkpoints(upto - upto % 500);
}

fn base_config() -> ConfigText {
    ConfigText::default()
}

/// A tiny deterministic generator for the kill moments (no randomness in the flow itself).
fn next_rand(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn leader_killed_under_load_loses_nothing_acknowledged() {
    let _serial = serial();
    let cycles: u32 = std::env::var("MATCHD_REPLICATION_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let mut set = ReplicaSet::start(3, base_config(), |_| String::new());
    let addrs = Arc::new(Mutex::new(set.addrs()));
    let stop = Arc::new(AtomicBool::new(false));
    let alice = trader(ALICE, addrs.clone(), stop.clone(), Side::Buy);
    let bob = trader(BOB, addrs.clone(), stop.clone(), Side::Sell);
    let mut rng = 0x5eed_u64;
    for cycle in 0..cycles {
        let leader = set.wait_leader();
        // Let the traders get acknowledgements from this leader, then kill it at a seeded moment.
        set.wait_commit(leader, set.commit_seq(leader) + 200);
        std::thread::sleep(Duration::from_millis(next_rand(&mut rng) % 300));
        eprintln!("cycle {cycle}: killing leader {leader}");
        set.node_mut(leader).kill9();
        let new_leader = set.wait_leader();
        assert_ne!(new_leader, leader);
        set.restart(leader);
        set.node_mut(leader).wait_ready();
        *addrs.lock().unwrap() = set.addrs();
    }
    // A last stretch under the final leader, then stop and check.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (alice_seen, alice_sessions) = alice.join().unwrap();
    let (bob_seen, _) = bob.join().unwrap();
    assert!(alice_sessions > cycles as u64 / 2, "the traders followed the failovers ({alice_sessions} sessions)");
    check_seen(ALICE, &alice_seen, &history(&set, ALICE));
    check_seen(BOB, &bob_seen, &history(&set, BOB));
    check_identical(&set);
}

#[test]
fn a_paused_leader_acknowledges_nothing_and_rejoins() {
    let _serial = serial();
    let set = ReplicaSet::start(3, base_config(), |_| String::new());
    let addrs = Arc::new(Mutex::new(set.addrs()));
    let stop = Arc::new(AtomicBool::new(false));
    let alice = trader(ALICE, addrs.clone(), stop.clone(), Side::Buy);
    let bob = trader(BOB, addrs.clone(), stop.clone(), Side::Sell);
    let old = set.wait_leader();
    set.wait_commit(old, 300);
    let epoch = |id: u32| set.node(id).metric("matchd_replication_epoch").unwrap_or(0.0) as u64;
    let old_epoch = epoch(old);
    set.node(old).signal(libc::SIGSTOP);
    // Its lease (2 s) runs out; the others elect a leader and trade on.
    let deadline = Instant::now() + LONG_WAIT;
    let new = loop {
        let leaders: Vec<u32> =
            set.nodes.iter().flatten().filter(|n| n.id != old && n.is_leader()).map(|n| n.id).collect();
        if let [l] = leaders[..] {
            break l;
        }
        assert!(Instant::now() < deadline, "no new leader while {old} is paused\n{}", set.logs());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(epoch(new) > old_epoch, "the new leader leads a later epoch\n{}", set.logs());
    set.wait_commit(new, set.commit_seq(new) + 200);
    set.node(old).signal(libc::SIGCONT);
    // It must step down: it learns the later epoch and follows. (On a saturated machine a
    // leader can lose its lease spuriously and a later election may pick any node, the old
    // one included; what must never be is the old node leading its stale epoch.)
    let deadline = Instant::now() + LONG_WAIT;
    loop {
        let n = set.node(old);
        let rejoined = epoch(old) > old_epoch
            && (n.metric("matchd_replication_role{role=\"follower\"}") == Some(1.0)
                || (n.is_leader() && n.metric("matchd_replication_lease_valid") == Some(1.0)));
        if rejoined {
            break;
        }
        assert!(Instant::now() < deadline, "the resumed leader did not rejoin\n{}", set.logs());
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let (alice_seen, _) = alice.join().unwrap();
    let (bob_seen, _) = bob.join().unwrap();
    check_seen(ALICE, &alice_seen, &history(&set, ALICE));
    check_seen(BOB, &bob_seen, &history(&set, BOB));
    check_identical(&set);
    let leader = set.wait_leader();
    assert!(epoch(leader) >= epoch(new), "one leader, of the newest epoch\n{}", set.logs());
}

#[test]
fn followers_restarted_from_empty_data_dirs_catch_up() {
    let _serial = serial();
    let mut set = ReplicaSet::start(3, base_config(), |_| String::new());
    let addrs = Arc::new(Mutex::new(set.addrs()));
    let stop = Arc::new(AtomicBool::new(false));
    let alice = trader(ALICE, addrs.clone(), stop.clone(), Side::Buy);
    let bob = trader(BOB, addrs.clone(), stop.clone(), Side::Sell);
    let leader = set.wait_leader();
    for id in (1..=3).filter(|&i| i != leader) {
        set.wait_commit(leader, set.commit_seq(leader) + 300);
        set.node_mut(id).kill9();
        std::fs::remove_dir_all(set.data_dir(id)).unwrap();
        set.restart(id);
        set.node_mut(id).wait_ready();
        *addrs.lock().unwrap() = set.addrs();
    }
    stop.store(true, Ordering::Relaxed);
    let (alice_seen, _) = alice.join().unwrap();
    let (bob_seen, _) = bob.join().unwrap();
    check_seen(ALICE, &alice_seen, &history(&set, ALICE));
    check_seen(BOB, &bob_seen, &history(&set, BOB));
    check_identical(&set);
}

#[test]
fn delayed_stalled_and_cut_replication_loses_nothing() {
    let _serial = serial();
    // Node 3's replication traffic goes through a proxy (it advertises the proxy's address).
    let real = replica_common::free_port();
    let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), format!("127.0.0.1:{real}").parse().unwrap());
    let proxy_addr = proxy.addr;
    let mut set = ReplicaSet::start(3, base_config(), |id| {
        if id == 3 {
            format!("advertise = \"{proxy_addr}\"")
        } else {
            String::new()
        }
    });
    // Node 3 listens on the real port behind the proxy.
    let cfg3 = std::fs::read_to_string(set.config(3)).unwrap();
    let cfg3 =
        cfg3.replace("listen = \"127.0.0.1:0\"\nlease_ttl_s", &format!("listen = \"127.0.0.1:{real}\"\nlease_ttl_s"));
    std::fs::write(set.config(3), cfg3).unwrap();
    set.node_mut(3).terminate();
    set.restart(3);
    set.node_mut(3).wait_ready();
    let addrs = Arc::new(Mutex::new(set.addrs()));
    let stop = Arc::new(AtomicBool::new(false));
    let alice = trader(ALICE, addrs.clone(), stop.clone(), Side::Buy);
    let bob = trader(BOB, addrs.clone(), stop.clone(), Side::Sell);
    let mut rng = 0xfa17_u64;
    for round in 0..6 {
        let mode = [ProxyMode::Delay, ProxyMode::Stall, ProxyMode::Cut][round % 3];
        proxy.set(mode);
        std::thread::sleep(Duration::from_millis(300 + next_rand(&mut rng) % 700));
        proxy.set(ProxyMode::Pass);
        std::thread::sleep(Duration::from_millis(300));
        if round == 3 {
            // Also fail over while node 3's link is disturbed.
            let leader = set.wait_leader();
            set.node_mut(leader).kill9();
            set.wait_leader();
            set.restart(leader);
            set.node_mut(leader).wait_ready();
            *addrs.lock().unwrap() = set.addrs();
        }
    }
    proxy.set(ProxyMode::Pass);
    stop.store(true, Ordering::Relaxed);
    let (alice_seen, _) = alice.join().unwrap();
    let (bob_seen, _) = bob.join().unwrap();
    check_seen(ALICE, &alice_seen, &history(&set, ALICE));
    check_seen(BOB, &bob_seen, &history(&set, BOB));
    check_identical(&set);
}
