//! Slow consumer: a client that stops reading while its reports pile up is cut off once its
//! outbound buffer (`outbound_buffer_bytes`, here the minimum 64 KiB) overflows; other sessions
//! keep getting their reports promptly meanwhile; the cut-off client recovers everything by
//! logging in again with the last sequence number it processed.

mod e2e_common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use client::{Client, ClientError, LoginParams};
use e2e_common::*;
use engine::{MassCancel, NewOrder, Side, TimeInForce};
use protocol::{ClientMessage, ExecReport, Liquidity, Logout, LogoutReason, ServerMessage};

/// Ten lots: the smallest order above the minimum notional.
const UNIT: u64 = 10 * BTC_LOT;
/// Alice's resting orders per round, all taken by one IOC of Bob's.
const BATCH: u64 = 200;
/// The receive buffer Alice's connection asks for (the kernel doubles it).
const SMALL_RCVBUF: i32 = 4096;
/// `server.outbound_buffer_bytes` in these tests (the minimum).
const OUTBOUND_BYTES: u64 = 65_536;
/// What the slow reader reads before it stalls.
const READ_FIRST_BYTES: usize = 256 * 1024;

/// The most rounds of Alice's flood before the server must have cut her off: each round queues
/// `BATCH` `OrderAccepted` and `BATCH` `Fill` reports for her (`accepted` and `fill` give their
/// sizes), and the server may hold [`unread_bytes_budget`] of them at most, plus `read_bytes`
/// that her side read before it stalled.
fn flood_rounds_max(accepted: ExecReport, fill: ExecReport, read_bytes: u64) -> u64 {
    let per_round = BATCH * (accepted.encoded_len() + fill.encoded_len()) as u64;
    (unread_bytes_budget(OUTBOUND_BYTES, SMALL_RCVBUF) + read_bytes) / per_round + 1
}

/// Carol rests, Dave takes, on ETH (away from the BTC flood), counting completed rounds in
/// `rounds` until `stop`; every answer must come (within the harness's hang bound).
fn carol_and_dave(m: &Matchd, stop: Arc<AtomicBool>, rounds: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    let mut carol = m.trader(CAROL);
    let mut dave = m.trader(DAVE);
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let cid = rounds.load(Ordering::Relaxed) + 1;
            let eth = |side, tif| NewOrder { instrument: ETH, tif, ..limit(cid, side, 300_000, 100_000) };
            let c = place(&mut carol, eth(Side::Sell, TimeInForce::Gtc));
            let d = place(&mut dave, eth(Side::Buy, TimeInForce::Ioc));
            let ExecReport::Fill(fd) = next_report(&mut dave).1 else { panic!("dave") };
            let ExecReport::Fill(fc) = next_report(&mut carol).1 else { panic!("carol") };
            assert_eq!((fd.order_id, fd.leaves_qty, fd.liquidity), (d.order_id, 0, Liquidity::Taker));
            assert_eq!(
                (fc.order_id, fc.leaves_qty, fc.liquidity, fc.trade_id),
                (c.order_id, 0, Liquidity::Maker, fd.trade_id)
            );
            rounds.fetch_add(1, Ordering::Relaxed);
        }
    })
}

#[test]
fn slow_consumer_is_cut_off_others_are_not_and_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg =
        ConfigText::default().set("server.outbound_buffer_bytes", &OUTBOUND_BYTES.to_string()).with_extra_traders();
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);

    // Alice reads nothing from now on, through a small receive window.
    let mut alice = Client::from_stream(connect_small_rcvbuf(m.addr, SMALL_RCVBUF), IO).unwrap();
    alice.login(LoginParams::trader(ALICE.0, ALICE.1.as_bytes())).unwrap();
    let mut bob = m.trader(BOB);
    let stop = Arc::new(AtomicBool::new(false));
    let others_rounds = Arc::new(AtomicU64::new(0));
    let others = carol_and_dave(&m, stop.clone(), others_rounds.clone());

    // Each round: Alice rests BATCH sells (BATCH OrderAccepted for her), Bob takes them with one
    // IOC (BATCH fills for her); now and then Alice mass-cancels what is left. Bounded by the
    // bytes queued for her, not by time (see `flood_rounds_max`).
    let mut rounds_max = u64::MAX;
    let mut bob_fills: BTreeMap<u64, u64> = BTreeMap::new(); // trade id -> qty
    let mut cid = 0u64;
    let mut rounds = 0;
    let cut = loop {
        assert!(rounds < rounds_max, "Alice was never cut off after {rounds} rounds");
        let mut burst = Vec::new();
        for _ in 0..BATCH {
            cid += 1;
            burst.extend(encode(&ClientMessage::NewOrder(limit(cid, Side::Sell, BTC_REF, UNIT))));
        }
        if rounds % 4 == 3 {
            burst.extend(encode(&ClientMessage::MassCancel(MassCancel { instrument: None, side: None })));
        }
        let sent = alice.send_bytes(&burst);
        rounds += 1;
        let b = place(&mut bob, limit_tif(rounds, Side::Buy, BTC_REF, BATCH * UNIT, TimeInForce::Ioc));
        loop {
            match next_report(&mut bob).1 {
                ExecReport::Fill(f) => {
                    assert_eq!(f.order_id, b.order_id);
                    rounds_max = rounds_max.min(flood_rounds_max(ExecReport::Accepted(b), ExecReport::Fill(f), 0));
                    bob_fills.insert(f.trade_id, f.qty);
                    if f.leaves_qty == 0 {
                        break;
                    }
                }
                ExecReport::Cancelled(c) if c.order_id == b.order_id => break,
                other => panic!("bob: {other:?}"),
            }
        }
        if sent.is_err() || m.stderr().contains("slow consumer") {
            break rounds;
        }
    };
    println!("Alice cut off after {cut} rounds (at most {rounds_max})");
    let log = m.stderr();
    let line = log.lines().find(|l| l.contains("slow consumer")).expect("slow consumer logged");
    assert!(line.contains("account=1"), "{line}");

    // Carol and Dave kept trading all along: every answer came (a publisher blocked on Alice's
    // socket would have stalled Bob's answers above too), and they go on after the cut.
    let after_cut = others_rounds.load(Ordering::Relaxed);
    m.wait_for("Carol and Dave trading on after the cut", || {
        others_rounds.load(Ordering::Relaxed) >= after_cut + 3 || others.is_finished()
    });
    stop.store(true, Ordering::Relaxed);
    others.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    println!("carol/dave: {} rounds ({after_cut} before the cut was seen)", others_rounds.load(Ordering::Relaxed));

    // Alice reads what reached her socket: whole reports in sequence (the client library checks
    // the numbering), then the Logout if it fitted, then the end of the connection.
    let mut seen: Vec<(u64, ExecReport)> = Vec::new();
    let mut logout = None;
    loop {
        match alice.recv(IO) {
            Ok(Some(ServerMessage::Report { seq, report })) => {
                assert!(logout.is_none(), "report after the Logout");
                seen.push((seq, report));
            }
            Ok(Some(ServerMessage::Heartbeat)) => {}
            Ok(Some(ServerMessage::Logout(l))) => logout = Some(l),
            Ok(Some(other)) => panic!("{other:?}"),
            Ok(None) => panic!("connection not closed"),
            Err(ClientError::Closed) => break,
            Err(e) => panic!("alice's stream after the cut-off: {e} (after seq {})", alice.last_seen_seq()),
        }
    }
    if let Some(l) = logout {
        assert_eq!(l, Logout { reason: LogoutReason::SlowConsumer });
    }
    let last = alice.last_seen_seq();
    println!("alice read {} reports before the cut ({:?})", seen.len(), logout);

    // Recovery: everything after `last`, in order, then live again.
    let mut p = LoginParams::trader(ALICE.0, ALICE.1.as_bytes());
    p.last_seen_seq = last;
    let mut alice = m.login_retrying(p);
    let a = *alice.session().unwrap();
    assert_eq!(a.next_seq, last + 1);
    assert!(a.highest_seq > last, "nothing was pending when Alice was cut off? {a:?}");
    while alice.last_seen_seq() < a.highest_seq {
        seen.push(next_report(&mut alice));
    }
    assert_eq!(seen.iter().map(|(s, _)| *s).collect::<Vec<_>>(), (1..=a.highest_seq).collect::<Vec<_>>());

    // Her stream accounts for every trade Bob made, and every order she placed is done or live.
    let mut live: BTreeMap<u64, u64> = BTreeMap::new();
    let mut her_fills: BTreeMap<u64, u64> = BTreeMap::new();
    let mut placed = 0;
    for (_, r) in &seen {
        match r {
            ExecReport::Accepted(x) => {
                placed += 1;
                live.insert(x.order_id, x.qty);
            }
            ExecReport::Fill(f) => {
                assert_eq!(f.liquidity, Liquidity::Maker);
                her_fills.insert(f.trade_id, f.qty);
                let l = live.get_mut(&f.order_id).unwrap();
                *l -= f.qty;
                assert_eq!(*l, f.leaves_qty);
                if *l == 0 {
                    live.remove(&f.order_id);
                }
            }
            ExecReport::Cancelled(c) => assert_eq!(live.remove(&c.order_id), Some(c.cancelled_qty)),
            ExecReport::MassCancelled(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(placed, cid, "every order Alice sent was accepted");
    assert_eq!(her_fills, bob_fills);
    alice.mass_cancel(MassCancel { instrument: None, side: None }).unwrap();
    let n = live.len();
    let got = next_reports(&mut alice, n + 1);
    assert!(matches!(got[n], ExecReport::MassCancelled(mc) if mc.count as usize == n), "{got:?}");
    assert_quiet(&mut alice);
    assert_eq!(m.terminate().code(), Some(0));
}

fn encode(msg: &ClientMessage) -> Vec<u8> {
    let mut v = vec![0u8; 256];
    let n = msg.encode(&mut v).unwrap();
    v.truncate(n);
    v
}

/// A client that reads a little, slowly, then stalls is cut off too; what it reads must be a clean
/// stream: whole reports in sequence, then at most a `Logout(SlowConsumer)`, and at worst one
/// truncated frame at the very end (the connection closing mid-frame), never a torn frame
/// followed by more bytes.
#[test]
fn slow_reader_gets_a_clean_stream_up_to_the_cut() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let cfg = ConfigText::default().set("server.outbound_buffer_bytes", &OUTBOUND_BYTES.to_string());
    let m = Matchd::start_with(&dir.path().join("data"), &cfg);

    let stream = connect_small_rcvbuf(m.addr, SMALL_RCVBUF);
    let mut reader = stream.try_clone().unwrap();
    let mut alice = Client::from_stream(stream, IO).unwrap();
    alice.login(LoginParams::trader(ALICE.0, ALICE.1.as_bytes())).unwrap();
    // From here on a thread reads Alice's socket raw: 512 bytes a millisecond for the first
    // READ_FIRST_BYTES, then nothing until the test saw the cut, then everything. The test writes
    // through the client.
    let cut_seen = Arc::new(AtomicBool::new(false));
    let cut = cut_seen.clone();
    let slow = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 512];
        reader.set_read_timeout(Some(IO)).unwrap();
        while bytes.len() < READ_FIRST_BYTES {
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => return bytes,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        while !cut.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = reader.read_to_end(&mut bytes);
        bytes
    });
    let mut bob = m.trader(BOB);
    let mut rounds_max = u64::MAX;
    let mut cid = 0u64;
    let mut rounds = 0;
    loop {
        assert!(rounds < rounds_max, "Alice was never cut off after {rounds} rounds");
        let mut burst = Vec::new();
        for _ in 0..BATCH {
            cid += 1;
            burst.extend(encode(&ClientMessage::NewOrder(limit(cid, Side::Sell, BTC_REF, UNIT))));
        }
        let sent = alice.send_bytes(&burst);
        rounds += 1;
        let b = place(&mut bob, limit_tif(rounds, Side::Buy, BTC_REF, BATCH * UNIT, TimeInForce::Ioc));
        loop {
            match next_report(&mut bob).1 {
                ExecReport::Fill(f) => {
                    let max = flood_rounds_max(ExecReport::Accepted(b), ExecReport::Fill(f), READ_FIRST_BYTES as u64);
                    rounds_max = rounds_max.min(max);
                    if f.leaves_qty == 0 {
                        break;
                    }
                }
                ExecReport::Cancelled(c) if c.order_id == b.order_id => break,
                other => panic!("bob: {other:?}"),
            }
        }
        if sent.is_err() || m.stderr().contains("slow consumer") {
            break;
        }
    }
    cut_seen.store(true, Ordering::Relaxed);
    let bytes = slow.join().unwrap();
    // Parse what arrived.
    let mut pos = 0;
    let mut next_seq = 1;
    let mut logout = None;
    while let Some((frame, n)) = protocol::decode_frame(&bytes[pos..]).expect("framing") {
        let msg = ServerMessage::decode_frame(&frame)
            .unwrap_or_else(|e| panic!("undecodable frame at byte {pos} after seq {}: {e}", next_seq - 1));
        match msg {
            ServerMessage::Report { seq, .. } => {
                assert!(logout.is_none(), "report after the Logout");
                assert_eq!(seq, next_seq, "at byte {pos}");
                next_seq += 1;
            }
            ServerMessage::Logout(l) => logout = Some(l),
            ServerMessage::LoginAccepted(_) | ServerMessage::Heartbeat => {}
            other => panic!("{other:?}"),
        }
        pos += n;
    }
    println!(
        "slow reader: {} bytes, {} reports, {} trailing bytes, {logout:?}, {rounds} rounds",
        bytes.len(),
        next_seq - 1,
        bytes.len() - pos
    );
    if let Some(l) = logout {
        assert_eq!(l, Logout { reason: LogoutReason::SlowConsumer });
        assert_eq!(pos, bytes.len(), "bytes after the Logout");
    }
    // Recovery from the last whole report.
    let mut p = LoginParams::trader(ALICE.0, ALICE.1.as_bytes());
    p.last_seen_seq = next_seq - 1;
    let mut alice = m.login_retrying(p);
    let a = *alice.session().unwrap();
    while alice.last_seen_seq() < a.highest_seq {
        next_report(&mut alice);
    }
    assert_quiet(&mut alice);
    assert_eq!(m.terminate().code(), Some(0));
}
