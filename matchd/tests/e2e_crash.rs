//! Crash recovery: matchd is SIGKILLed under load (durability `batch`) several times; after each
//! restart every client resumes from the last sequence number it saw and must get exactly the
//! reports it missed, every order it saw accepted must still be accounted for, and the state the
//! restarted server ends with must equal a clean replay of the same journal.

mod e2e_common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use client::{Client, ClientError, LoginParams};
use e2e_common::*;
use engine::{CancelReason, MassCancel, MassCancelled, NewOrder, OrderRef, Side, TimeInForce};
use protocol::ExecReport;

const KILL_CYCLES: usize = 3;
/// Commands a client may have sent without an answer yet.
const WINDOW: usize = 8;

/// Small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one client has seen, across all server lifetimes.
struct Account {
    who: (u32, &'static str),
    /// Every report received, in order: (seq, report).
    seen: Vec<(u64, ExecReport)>,
    next_cid: u64,
    rng: Rng,
    /// Reports that were resends after each restart.
    resent: Vec<u64>,
    /// Live order ids, kept up to date as reports arrive (to pick orders to cancel).
    live: BTreeSet<u64>,
}

impl Account {
    fn record(&mut self, seq: u64, r: ExecReport) {
        match r {
            ExecReport::Accepted(a) => {
                self.live.insert(a.order_id);
            }
            ExecReport::Fill(f) if f.leaves_qty == 0 => {
                self.live.remove(&f.order_id);
            }
            ExecReport::Cancelled(c) => {
                self.live.remove(&c.order_id);
            }
            _ => {}
        }
        self.seen.push((seq, r));
    }

    fn last_seq(&self) -> u64 {
        self.seen.last().map_or(0, |(s, _)| *s)
    }

    /// Live orders (order id -> open quantity) according to the reports seen.
    fn live_orders(&self) -> BTreeMap<u64, (engine::Accepted, u64)> {
        let mut live = BTreeMap::new();
        for (_, r) in &self.seen {
            match r {
                ExecReport::Accepted(a) => {
                    live.insert(a.order_id, (*a, a.qty));
                }
                ExecReport::Fill(f) => {
                    let e = live.get_mut(&f.order_id).unwrap_or_else(|| panic!("fill of an unknown order: {f:?}"));
                    assert_eq!(e.1 - f.qty, f.leaves_qty, "{f:?}");
                    e.1 = f.leaves_qty;
                    if f.leaves_qty == 0 {
                        live.remove(&f.order_id);
                    }
                }
                ExecReport::Cancelled(c) => {
                    let (_, leaves) =
                        live.remove(&c.order_id).unwrap_or_else(|| panic!("cancel of an unknown order: {c:?}"));
                    assert_eq!(leaves, c.cancelled_qty, "{c:?}");
                }
                _ => {}
            }
        }
        live
    }
}

/// Runs one client for one server lifetime: log in with the last sequence seen, check the
/// resend, then trade until the connection dies.
/// `trading` counts the clients past their login and resend: the kill waits for all of them, as
/// a client still connecting or logging in when the server dies fails there, not as a test of
/// recovery.
fn run_client(
    addr: std::net::SocketAddr,
    mut acct: Account,
    progress: Arc<AtomicU64>,
    trading: Arc<AtomicU64>,
) -> Account {
    let last = acct.last_seq();
    let mut c = Client::connect(addr, IO).expect("connect");
    let mut p = LoginParams::trader(acct.who.0, acct.who.1.as_bytes());
    p.last_seen_seq = last;
    let a = c.login(p).unwrap_or_else(|e| panic!("account {}: login after {last}: {e}", acct.who.0));
    assert_eq!(a.next_seq, last + 1);
    assert!(a.highest_seq >= last, "{a:?}");
    // The resend: exactly highest - last reports, numbered last+1..=highest (the client
    // library refuses any gap or duplicate).
    while c.last_seen_seq() < a.highest_seq {
        let (seq, r) = next_report(&mut c);
        acct.record(seq, r);
    }
    acct.resent.push(a.highest_seq - last);
    trading.fetch_add(1, Ordering::Relaxed);

    let mut unanswered = 0usize;
    loop {
        // Keep up to WINDOW commands in flight.
        let mut send_err = None;
        while unanswered < WINDOW && send_err.is_none() {
            let roll = acct.rng.below(10);
            let res = if roll == 0 && !acct.live.is_empty() {
                let n = acct.rng.below(acct.live.len() as u64) as usize;
                let pick = *acct.live.iter().nth(n).unwrap();
                c.cancel(OrderRef::Engine(pick))
            } else {
                let cid = acct.next_cid;
                acct.next_cid += 1;
                let side = if acct.rng.below(2) == 0 { Side::Buy } else { Side::Sell };
                let ticks = acct.rng.below(41) as i64 - 20;
                let qty = (1 + acct.rng.below(5)) * 10 * BTC_LOT;
                let tif = if roll == 1 { TimeInForce::Ioc } else { TimeInForce::Gtc };
                c.new_order(NewOrder { tif, ..limit(cid, side, px(ticks * 10), qty) })
            };
            match res {
                Ok(()) => unanswered += 1,
                Err(e) => send_err = Some(e),
            }
        }
        if let Some(e) = send_err {
            assert!(matches!(e, ClientError::Closed | ClientError::Io(_)), "account {}: send: {e}", acct.who.0);
            return acct;
        }
        match c.recv(Duration::from_millis(200)) {
            Ok(Some(protocol::ServerMessage::Report { seq, report })) => {
                assert_eq!(report.account(), acct.who.0, "{report:?}");
                let answer = match report {
                    ExecReport::Accepted(_) | ExecReport::Rejected(_) => true,
                    ExecReport::Cancelled(x) => x.reason == CancelReason::User,
                    _ => false,
                };
                if answer {
                    // (An answer to a command of an earlier server lifetime would come as a
                    // resend, before this loop.)
                    unanswered = unanswered.checked_sub(1).expect("more answers than commands sent");
                }
                acct.record(seq, report);
                progress.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(protocol::ServerMessage::Heartbeat)) | Ok(None) => {}
            Ok(Some(other)) => panic!("account {}: unexpected {other:?}", acct.who.0),
            Err(ClientError::Closed) | Err(ClientError::Io(_)) => return acct,
            Err(e) => panic!("account {}: {e}", acct.who.0),
        }
    }
}

/// The account's whole history as a fresh client (last_seen_seq 0) receives it.
fn history(m: &Matchd, who: (u32, &str)) -> Vec<(u64, ExecReport)> {
    let mut c = m.trader(who);
    let highest = c.session().unwrap().highest_seq;
    let mut out = Vec::new();
    while c.last_seen_seq() < highest {
        out.push(next_report(&mut c));
    }
    c.logout_and_drain(IO).unwrap();
    out
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    let seed = std::env::var("E2E_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    println!("seed {seed} (E2E_SEED to replay)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // 1 MiB segments: the load rolls over segments, so kills land around rollovers too.
    let cfg = ConfigText::default().set("segment_bytes", "1048576").set("durability", "\"batch\"").with_extra_traders();

    let mut accounts: Vec<Account> = [ALICE, BOB, CAROL, DAVE]
        .into_iter()
        .enumerate()
        .map(|(i, who)| Account {
            who,
            seen: Vec::new(),
            next_cid: 1,
            rng: Rng(seed.wrapping_mul(i as u64 + 7) | 1),
            resent: Vec::new(),
            live: BTreeSet::new(),
        })
        .collect();

    for cycle in 0..KILL_CYCLES {
        let m = Matchd::start_with(&data, &cfg);
        let progress = Arc::new(AtomicU64::new(0));
        let trading = Arc::new(AtomicU64::new(0));
        let clients = accounts.len() as u64;
        let handles: Vec<_> = accounts
            .drain(..)
            .map(|acct| {
                let (addr, progress, trading) = (m.addr, progress.clone(), trading.clone());
                std::thread::spawn(move || run_client(addr, acct, progress, trading))
            })
            .collect();
        // Kill at a random moment once the clients are trading (the pause only picks the moment;
        // nothing waits on it).
        m.wait_for(&format!("every client trading and 100 reports in cycle {cycle}"), || {
            trading.load(Ordering::Relaxed) == clients && progress.load(Ordering::Relaxed) >= 100
        });
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        let before = progress.load(Ordering::Relaxed);
        m.kill9();
        accounts = handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect();
        println!(
            "cycle {cycle}: killed after {before} reports; last seqs {:?}; resent on login {:?}",
            accounts.iter().map(Account::last_seq).collect::<Vec<_>>(),
            accounts.iter().map(|a| *a.resent.last().unwrap()).collect::<Vec<_>>()
        );
    }

    // Last restart: each client resumes once more (checking the resend), then checks that every
    // order it saw accepted and not yet done is live: a mass cancel finds exactly those.
    let m = Matchd::start_with(&data, &cfg);
    let mut finals = Vec::new();
    for mut acct in accounts.drain(..) {
        let mut c = m.trader_from(acct.who, acct.last_seq());
        let a = *c.session().unwrap();
        assert_eq!(a.next_seq, acct.last_seq() + 1);
        while c.last_seen_seq() < a.highest_seq {
            let (seq, r) = next_report(&mut c);
            acct.record(seq, r);
        }
        let live = acct.live_orders();
        c.mass_cancel(MassCancel { instrument: None, side: None }).unwrap();
        let mut want: Vec<ExecReport> = live
            .values()
            .map(|(a, leaves)| {
                ExecReport::Cancelled(engine::Cancelled {
                    account: a.account,
                    order_id: a.order_id,
                    client_order_id: a.client_order_id,
                    instrument: a.instrument,
                    side: a.side,
                    cancelled_qty: *leaves,
                    filled_qty: a.qty - leaves,
                    reason: CancelReason::MassCancel,
                })
            })
            .collect();
        want.push(ExecReport::MassCancelled(MassCancelled { account: acct.who.0, count: live.len() as u32 }));
        for w in want {
            let (seq, r) = next_report(&mut c);
            assert_eq!(r, w, "account {}", acct.who.0);
            acct.record(seq, r);
        }
        println!("account {}: {} reports, {} orders live at the end", acct.who.0, acct.last_seq(), live.len());
        c.logout_and_drain(IO).unwrap();
        finals.push(acct);
    }
    let segments = std::fs::read_dir(data.join("journal"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".seg"))
        .count();
    println!("journal segments: {segments}");
    let (status, log) = m.terminate_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    let replayed = state_hashes(&log, "replay complete");
    assert_eq!(replayed.len(), KILL_CYCLES + 1, "one replay per start:\n{log}");
    let stopped = state_hashes(&log, "stopped cleanly");
    assert_eq!(stopped.len(), 1, "{log}");

    // A clean replay of a copy of the journal reaches the same state and the same reports.
    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    let m2 = Matchd::start_with(&copy, &cfg);
    for acct in &finals {
        // Everything the client saw live or resent, before and after the kills, is what the
        // journal replays: same numbers, same content.
        assert_eq!(history(&m2, acct.who), acct.seen, "account {}", acct.who.0);
    }
    let (status2, log2) = m2.terminate_with_log();
    assert_eq!(status2.code(), Some(0));
    assert_eq!(state_hashes(&log2, "replay complete"), stopped, "restarted server vs clean replay");
}
