//! Market data against the real matchd binary over loopback: subscribers that follow the feed
//! while random order flow runs rebuild every book exactly (checked against fresh snapshots during
//! the run, and at the end against the engine rebuilt from the journal, level by level and order by
//! order); a lost message is detected as a gap and the resync recovers an exact book; a subscriber
//! that never reads is cut off without disturbing the others; halts, resumes and new instruments
//! reach the feed; a restart starts a new feed epoch with the books restored.

mod e2e_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use client::md_client::{Applied, FeedBooks, Gap, MdClient, MdFeed};
use client::ClientError;
use e2e_common::*;
use engine::command_codec::{decode, decode_engine_config, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::{
    Amend, Engine, EventSink, InstrumentSpec, InstrumentState, MassCancel, NewOrder, OrderRef, OrderType, Side,
    StpMode, TimeInForce,
};
use protocol::{
    ClientMessage, LogoutReason, MdInstrumentKind, MdRejectReason, MdServerMessage, MdSubscribe, ServerMessage,
    SessionRejectReason,
};

/// A new instrument added by the admin during a run.
const NEW: u32 = 3;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (instrument, reference price, price step, order quantity unit).
#[derive(Clone, Copy)]
struct Market {
    instrument: u32,
    reference: u64,
    step: u64,
    unit: u64,
}

const BTC_MKT: Market = Market { instrument: BTC, reference: BTC_REF, step: 100, unit: 10 * BTC_LOT };
const ETH_MKT: Market = Market { instrument: ETH, reference: 300_000, step: 10, unit: 100_000 };
const NEW_MKT: Market = Market { instrument: NEW, reference: 1_000_000, step: 50, unit: 1_000 };

fn new_spec() -> InstrumentSpec {
    InstrumentSpec {
        id: NEW,
        symbol: InstrumentSpec::symbol_from_str("SOL-USDT").unwrap(),
        base_asset: 4,
        quote_asset: 1,
        tick: 1,
        lot: 1_000,
        min_qty: 1_000,
        max_qty: 1_000_000_000,
        min_notional: 1,
        price_band_bps: 1_000,
        reference_price: NEW_MKT.reference,
        qty_scale: 100_000_000,
    }
}

/// Random crossing and resting orders (every self-trade prevention mode), IOCs, market orders,
/// cancels, amends (quantity and price) and mass cancels by `who` on `markets`; waits for every
/// answer now and then (rejects are fine: halts). Logs in resuming after `last_seen_seq` (so a
/// long test never asks for reports older than the retained window) and returns the last
/// sequence it saw, to resume from next time.
fn trader(
    m: &Matchd,
    who: (u32, &'static str),
    last_seen_seq: u64,
    markets: Vec<Market>,
    commands: usize,
    seed: u64,
) -> JoinHandle<u64> {
    let mut c = m.trader_from(who, last_seen_seq);
    std::thread::spawn(move || {
        let mut rng = Rng(seed | 1);
        let mut cids: Vec<(u64, Market)> = Vec::new();
        let mut next_cid = 1u64;
        for i in 0..commands {
            let mk = markets[rng.below(markets.len() as u64) as usize];
            let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
            // Around the reference: buys mostly below, sells mostly above, often crossing.
            let off = rng.below(21) as i64 - 10 + if side == Side::Buy { -3 } else { 3 };
            let price = (mk.reference as i64 + off * mk.step as i64) as u64;
            let qty = mk.unit * (1 + rng.below(5));
            let roll = rng.below(100);
            let msg = if roll < 50 || cids.is_empty() {
                let tif = if roll < 42 { TimeInForce::Gtc } else { TimeInForce::Ioc };
                let market = roll == 49;
                let stp = StpMode::from_u8(rng.below(4) as u8).unwrap();
                let cid = next_cid;
                next_cid += 1;
                cids.push((cid, mk));
                if cids.len() > 64 {
                    cids.remove(0);
                }
                let order = NewOrder {
                    client_order_id: cid,
                    instrument: mk.instrument,
                    side,
                    order_type: if market { OrderType::Market } else { OrderType::Limit },
                    tif,
                    stp,
                    price: if market { 0 } else { price },
                    qty,
                };
                // Some GTC orders are icebergs showing one unit: the feed must show their slices
                // only, refreshed at the back of the level, never their hidden quantity.
                if tif == TimeInForce::Gtc && !market && qty > mk.unit && roll.is_multiple_of(3) {
                    ClientMessage::NewAdvancedOrder(engine::AdvancedOrder {
                        display_qty: mk.unit,
                        ..engine::AdvancedOrder::plain(order)
                    })
                } else {
                    ClientMessage::NewOrder(order)
                }
            } else if roll < 70 {
                let (cid, _) = cids[rng.below(cids.len() as u64) as usize];
                ClientMessage::Cancel(engine::Cancel { order: OrderRef::Client(cid) })
            } else if roll < 97 {
                let (cid, mk) = cids[rng.below(cids.len() as u64) as usize];
                let new_price = (rng.below(2) == 0).then(|| {
                    let off = rng.below(21) as i64 - 10;
                    (mk.reference as i64 + off * mk.step as i64) as u64
                });
                let new_qty = (new_price.is_none() || rng.below(2) == 0).then(|| mk.unit * (1 + rng.below(6)));
                ClientMessage::Amend(Amend { order: OrderRef::Client(cid), new_qty, new_price })
            } else {
                ClientMessage::MassCancel(MassCancel { instrument: Some(mk.instrument), side: None })
            };
            c.send(&msg).expect("send");
            if i % 20 == 19 {
                sync(&mut c);
            }
        }
        sync(&mut c);
        let _ = c.logout_and_drain(IO);
        c.last_seen_seq()
    })
}

/// What a following subscriber ends with.
struct Followed {
    books: FeedBooks,
    /// Verification snapshots that matched the live book.
    verified: u64,
    /// Messages deliberately dropped.
    dropped: u64,
    /// Gaps seen.
    gaps: Vec<Gap>,
    /// Every instrument state message seen: (instrument, state).
    states: Vec<(u32, InstrumentState)>,
    /// New instruments seen (kind Added).
    added: Vec<u32>,
    /// Trades seen per instrument.
    trades: BTreeMap<u32, u64>,
    /// Feed messages read.
    messages: u64,
}

/// Follows the feed until matchd shuts down. While running it asks for a verification snapshot
/// of a random instrument every `verify_every` messages (counted, not timed: the number of checks
/// follows the flow, whatever the machine's speed); `drop_every`: every that many-th level delta
/// is not applied (a lost message). When `finish` is set it asks for a final snapshot of every
/// instrument, reports `done` once all of them matched, and reads on until the server's `Logout`.
fn follow(
    addr: std::net::SocketAddr,
    order_by_order: bool,
    verify_every: Option<u64>,
    drop_every: Option<u64>,
    finish: Arc<AtomicBool>,
    done: mpsc::Sender<()>,
) -> JoinHandle<Followed> {
    let mut feed =
        MdFeed::connect(addr, IO, MdSubscribe { heartbeat_interval_ms: 200, order_by_order }).expect("subscribe");
    std::thread::spawn(move || {
        let mut f = Followed {
            books: FeedBooks::new(false),
            verified: 0,
            dropped: 0,
            gaps: Vec::new(),
            states: Vec::new(),
            added: Vec::new(),
            trades: BTreeMap::new(),
            messages: 0,
        };
        let mut rng = Rng(0x5eed ^ order_by_order as u64);
        let mut since_verify = 0u64;
        let mut levels_seen = 0u64;
        let mut final_asked: Option<BTreeMap<u32, bool>> = None;
        let mut reported = false;
        loop {
            let step = feed.step_filtered(Duration::from_millis(20), |m| {
                if let (MdServerMessage::Level(_), Some(n)) = (m, drop_every) {
                    levels_seen += 1;
                    if levels_seen.is_multiple_of(n) {
                        f.dropped += 1;
                        return false;
                    }
                }
                true
            });
            let got = match step {
                Ok(g) => g,
                Err(ClientError::Closed) => break,
                Err(e) => panic!("subscriber: {e}"),
            };
            if let Some((msg, result)) = got {
                since_verify += 1;
                f.messages += 1;
                match &msg {
                    MdServerMessage::Logout(l) => {
                        assert_eq!(l.reason, LogoutReason::ServerShutdown);
                    }
                    MdServerMessage::InstrumentState(s) => f.states.push((s.instrument, s.state)),
                    MdServerMessage::Instrument(i) if i.kind == MdInstrumentKind::Added => f.added.push(i.spec.id),
                    MdServerMessage::Trade(t) => *f.trades.entry(t.instrument).or_default() += 1,
                    _ => {}
                }
                match result {
                    Ok(Applied::Verified) => {
                        f.verified += 1;
                        if let (Some(asked), MdServerMessage::SnapshotEnd(e)) = (final_asked.as_mut(), &msg) {
                            asked.insert(e.instrument, true);
                        }
                    }
                    Ok(_) => {}
                    Err(g) => f.gaps.push(g),
                }
            }
            if finish.load(Ordering::Relaxed) && feed.books.all_synced() {
                match &final_asked {
                    None => {
                        let mut asked = BTreeMap::new();
                        for id in feed.books.instruments() {
                            feed.client.request_snapshot(id, 0, order_by_order).expect("final snapshot");
                            asked.insert(id, false);
                        }
                        final_asked = Some(asked);
                    }
                    Some(asked) if !reported && asked.values().all(|v| *v) => {
                        reported = true;
                        let _ = done.send(());
                    }
                    _ => {}
                }
            } else if verify_every.is_some_and(|n| since_verify >= n) && final_asked.is_none() {
                since_verify = 0;
                let ids = feed.books.instruments();
                if !ids.is_empty() {
                    let id = ids[rng.below(ids.len() as u64) as usize];
                    if feed.books.is_synced(id) {
                        feed.client.request_snapshot(id, 0, order_by_order).expect("verification snapshot");
                    }
                }
            }
        }
        f.books = std::mem::take(&mut feed.books);
        f
    })
}

/// The engine rebuilt from the data directory's journal, with the `engine` and `journal` crates.
fn replay(data_dir: &Path) -> Engine {
    struct Nothing;
    impl EventSink for Nothing {
        fn emit(&mut self, _: engine::Event) {}
    }
    let mut reader = journal::JournalReader::open(data_dir.join("journal"), 1).expect("journal");
    let mut engine: Option<Engine> = None;
    while let Some(rec) = reader.next().expect("journal record") {
        match rec.record_type {
            RECORD_ENGINE_CONFIG => {
                let mut e = Engine::new(decode_engine_config(rec.payload).unwrap());
                e.skip(rec.seq);
                engine = Some(e);
            }
            RECORD_COMMAND => {
                let cmd = decode(rec.payload).unwrap();
                engine.as_mut().expect("config first").apply(rec.seq, &cmd, &mut Nothing);
            }
            t => panic!("record type {t}"),
        }
    }
    engine.expect("an engine config record")
}

/// Every book of `f` equals the engine's, level by level (and order by order with `orders`);
/// returns the number of resting orders compared.
fn assert_books_exact(f: &FeedBooks, e: &Engine, orders: bool) -> usize {
    let mut compared = 0;
    let ids: Vec<u32> = e.instrument_ids().collect();
    assert_eq!(f.instruments(), ids, "instruments");
    for id in ids {
        assert!(f.is_synced(id), "instrument {id} not synced");
        let b = f.book(id).unwrap();
        assert_eq!(b.state, Some(e.instrument(id).unwrap().state), "instrument {id} state");
        for side in [Side::Buy, Side::Sell] {
            let want: Vec<(u64, u64, u32)> =
                e.levels(id, side).iter().map(|l| (l.price, l.qty, l.order_count)).collect();
            assert_eq!(b.levels(side), want, "instrument {id} {side:?} levels");
            if orders {
                // An iceberg shows its visible slice.
                let shown = |o: &engine::OrderView| e.iceberg(o.order_id).map_or(o.leaves, |(_, visible)| visible);
                let want: Vec<(u64, u64, u64)> =
                    e.book_orders(id, side).iter().map(|o| (o.order_id, o.price, shown(o))).collect();
                assert_eq!(b.orders_in_priority(side), want, "instrument {id} {side:?} orders");
                compared += want.len();
            }
        }
    }
    compared
}

/// Feed messages between verification snapshots of the order-by-order subscriber.
const L3_VERIFY_EVERY: u64 = 200;
/// Feed messages between verification snapshots of the market-by-price subscriber.
const L2_VERIFY_EVERY: u64 = 100;

fn start(dir: &tempfile::TempDir, cfg: ConfigText) -> Matchd {
    Matchd::start_with(&dir.path().join("data"), &cfg.with_extra_traders())
}

#[test]
fn subscribers_rebuild_every_book_exactly_under_random_flow() {
    let dir = tempfile::tempdir().unwrap();
    let m = start(&dir, ConfigText::default());
    let finish = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = mpsc::channel();
    let l3 = follow(m.addr, true, Some(L3_VERIFY_EVERY), None, finish.clone(), done_tx.clone());
    let l2 = follow(m.addr, false, Some(L2_VERIFY_EVERY), None, finish.clone(), done_tx.clone());

    let markets = vec![BTC_MKT, ETH_MKT];
    let traders: Vec<_> = [(ALICE, 11), (BOB, 22), (CAROL, 33), (DAVE, 44)]
        .into_iter()
        .map(|(who, seed)| trader(&m, who, 0, markets.clone(), 1200, seed))
        .collect();

    // Meanwhile: halt and resume BTC, add an instrument, and let two traders use it. The halt is
    // placed in the flow by counts of reports (every command gets at least one), not by sleeps;
    // should the flow end first on a starved test thread, the halt simply lands after it.
    let mut admin = m.admin();
    let reports = || m.metric("matchd_reports_total");
    let flow_done = |ts: &[JoinHandle<u64>]| ts.iter().all(|t| t.is_finished());
    m.wait_for("1,000 reports of the flow", || reports() >= 1_000.0 || flow_done(&traders));
    admin.set_instrument_state(BTC, InstrumentState::Halted).unwrap();
    sync(&mut admin);
    let halted_at = reports();
    m.wait_for("500 reports while BTC is halted", || reports() >= halted_at + 500.0 || flow_done(&traders));
    admin.set_instrument_state(BTC, InstrumentState::Trading).unwrap();
    admin.add_instrument(new_spec()).unwrap();
    sync(&mut admin);
    let seen: Vec<u64> = traders.into_iter().map(|t| t.join().expect("trader")).collect();
    let late: Vec<_> = [(ALICE, seen[0], 55), (BOB, seen[1], 66)]
        .into_iter()
        .map(|(who, last, seed)| trader(&m, who, last, vec![NEW_MKT, BTC_MKT], 300, seed))
        .collect();
    for t in late {
        t.join().expect("late trader");
    }

    // The final snapshots match the live books of both subscribers.
    finish.store(true, Ordering::Relaxed);
    for _ in 0..2 {
        done_rx.recv_timeout(LONG_WAIT).expect("subscriber final snapshots");
    }
    let (status, log) = m.terminate_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    let l3 = l3.join().expect("l3 subscriber");
    let l2 = l2.join().expect("l2 subscriber");

    let e = replay(&dir.path().join("data"));
    for f in [&l3, &l2] {
        assert!(f.gaps.is_empty(), "gaps: {:?}", f.gaps);
        assert!(f.verified > 3 + 10, "verified {}", f.verified);
        assert_eq!(f.added, vec![NEW]);
        assert_eq!(f.states, vec![(BTC, InstrumentState::Halted), (BTC, InstrumentState::Trading)]);
        assert!(f.trades.get(&BTC).copied().unwrap_or(0) > 50, "{:?}", f.trades);
        assert!(f.trades.get(&NEW).copied().unwrap_or(0) > 5, "{:?}", f.trades);
    }
    let orders = assert_books_exact(&l3.books, &e, true);
    assert!(orders > 10, "only {orders} resting orders at the end");
    assert_books_exact(&l2.books, &e, false);
    eprintln!(
        "l3: {} messages, verified {} snapshots, {} resting orders exact; l2: {} messages, verified {}; trades {:?}",
        l3.messages, l3.verified, orders, l2.messages, l2.verified, l3.trades
    );

    // The server's own mirror, rebuilt by its startup replay, agrees too.
    let mut cfg = matchd::config::Config::from_toml(&ConfigText::default().with_extra_traders().0, "test").unwrap();
    cfg.data.dir = dir.path().join("data");
    let mut rec = matchd::recovery::recover(&cfg).expect("recover");
    for id in e.instrument_ids().collect::<Vec<_>>() {
        for side in [Side::Buy, Side::Sell] {
            let want: Vec<(u64, u64, u32)> =
                e.levels(id, side).iter().map(|l| (l.price, l.qty, l.order_count)).collect();
            assert_eq!(rec.md.levels(id, side), want, "server mirror {id} {side:?}");
        }
    }
}

#[test]
fn a_lost_message_is_a_gap_and_the_resync_gives_an_exact_book() {
    let dir = tempfile::tempdir().unwrap();
    let m = start(&dir, ConfigText::default());
    let finish = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = mpsc::channel();
    // Loses every 97th level delta; verifies rarely.
    let lossy = follow(m.addr, true, None, Some(97), finish.clone(), done_tx.clone());
    let traders: Vec<_> = [(ALICE, 7), (BOB, 8)]
        .into_iter()
        .map(|(who, seed)| trader(&m, who, 0, vec![BTC_MKT, ETH_MKT], 800, seed))
        .collect();
    for t in traders {
        t.join().expect("trader");
    }
    finish.store(true, Ordering::Relaxed);
    done_rx.recv_timeout(LONG_WAIT).expect("final snapshots");
    assert_eq!(m.terminate().code(), Some(0));
    let f = lossy.join().expect("subscriber");
    assert!(f.dropped >= 2, "dropped {}", f.dropped);
    // A loss shows up as a gap (on the next message of that instrument's stream), each gap is
    // followed by a resync, and the books end exact.
    assert!(!f.gaps.is_empty(), "dropped {} but no gap", f.dropped);
    assert!(f.gaps.iter().all(|g| matches!(g, Gap::Sequence { .. })), "{:?}", f.gaps);
    assert!(f.books.syncs >= 2 + f.gaps.len() as u64, "syncs {} gaps {}", f.books.syncs, f.gaps.len());
    assert_books_exact(&f.books, &replay(&dir.path().join("data")), true);
}

/// The receive buffer the never-reading subscriber asks for (the kernel doubles it).
const SMALL_RCVBUF: i32 = 4096;

#[test]
fn a_subscriber_that_never_reads_is_cut_off_and_others_stay_exact() {
    const OUTBOUND_BYTES: u64 = 65_536;
    let dir = tempfile::tempdir().unwrap();
    // Durability "none": the flow needed to fill the kernel's buffers is long, and this test is
    // about the feed, not the disk (a busy disk makes every batch's fdatasync slow).
    let cfg = ConfigText::default()
        .set("market_data.outbound_buffer_bytes", &OUTBOUND_BYTES.to_string())
        .set("durability", "\"none\"");
    let m = start(&dir, cfg);
    // The slow one subscribes through a small receive window and never reads again.
    let mut slow = MdClient::from_stream(connect_small_rcvbuf(m.addr, SMALL_RCVBUF), IO).unwrap();
    slow.subscribe(MdSubscribe { heartbeat_interval_ms: 0, order_by_order: true }).unwrap();
    let finish = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = mpsc::channel();
    let good = follow(m.addr, true, Some(L3_VERIFY_EVERY), None, finish.clone(), done_tx);

    // Rounds of flow until the server cuts the slow one off, bounded by the bytes it was offered
    // (both subscribers get the same order-by-order feed: half of matchd_md_bytes_total), not by
    // time: a loaded machine makes the rounds slower and coalesces more level changes per batch,
    // so it may take more rounds. The traders resume from their last sequence each round.
    let budget = unread_bytes_budget(OUTBOUND_BYTES, SMALL_RCVBUF);
    let mut last_seen = [0u64; 2];
    let mut rounds = 0;
    loop {
        // Alive but not reading: a heartbeat each round keeps the server's heartbeat timeout out
        // of it (writing needs no reading), so only its full buffer can end it.
        let _ = slow.send(&ClientMessage::Heartbeat);
        let t: Vec<_> = [(ALICE, last_seen[0], 100 + rounds), (BOB, last_seen[1], 200 + rounds)]
            .into_iter()
            .map(|(who, last, seed)| trader(&m, who, last, vec![BTC_MKT, ETH_MKT], 400, seed))
            .collect();
        for (i, t) in t.into_iter().enumerate() {
            last_seen[i] = t.join().unwrap();
        }
        rounds += 1;
        if m.metric("matchd_md_slow_consumer_disconnects_total") >= 1.0 {
            break;
        }
        assert_eq!(m.metric("matchd_md_subscribers"), 2.0, "a subscriber left without a slow-consumer cut");
        let offered = m.metric("matchd_md_bytes_total") / 2.0;
        assert!(
            offered <= budget as f64,
            "the slow subscriber was offered {offered} bytes in {rounds} rounds and is still not cut off \
             (budget {budget})"
        );
    }
    eprintln!(
        "cut off after {rounds} rounds, {} feed bytes offered to each subscriber",
        m.metric("matchd_md_bytes_total") / 2.0
    );
    assert_eq!(m.metric("matchd_md_slow_consumer_disconnects_total"), 1.0);
    // It was told why (as far as its buffer reached) and closed.
    let mut saw_logout = None;
    loop {
        match slow.recv(IO) {
            Ok(Some(MdServerMessage::Logout(l))) => saw_logout = Some(l.reason),
            Ok(Some(_)) | Ok(None) => {}
            Err(ClientError::Closed) => break,
            Err(e) => panic!("slow subscriber: {e}"),
        }
    }
    assert!(matches!(saw_logout, None | Some(LogoutReason::SlowConsumer)), "{saw_logout:?}");

    // A fresh subscription resyncs by snapshot; the follower never had a gap.
    let mut again = MdFeed::connect(m.addr, IO, MdSubscribe::default()).unwrap();
    let deadline = Instant::now() + IO;
    while !again.books.all_synced() || again.books.instruments().is_empty() {
        assert!(Instant::now() < deadline, "resubscription did not sync");
        again.step(Duration::from_millis(20)).unwrap();
    }
    finish.store(true, Ordering::Relaxed);
    done_rx.recv_timeout(LONG_WAIT).expect("final snapshots");
    assert_eq!(m.terminate().code(), Some(0));
    let f = good.join().unwrap();
    assert!(f.gaps.is_empty(), "{:?}", f.gaps);
    let e = replay(&dir.path().join("data"));
    assert_books_exact(&f.books, &e, true);
    assert_books_exact(&again.books, &e, false);
}

#[test]
fn halts_resumes_new_instruments_and_a_restart_reach_the_feed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let m = Matchd::start_default(&data);
    let mut sub = MdClient::connect(m.addr, IO).unwrap();
    let a = sub.subscribe(MdSubscribe { heartbeat_interval_ms: 0, order_by_order: false }).unwrap();
    assert_eq!(a.instruments, 2);
    assert!(!a.order_by_order);
    let dir_msgs = md_until(&mut sub, |m| matches!(m, MdServerMessage::Instrument(i) if i.spec.id == ETH));
    let ids: Vec<u32> = dir_msgs
        .iter()
        .filter_map(|m| match m {
            MdServerMessage::Instrument(i) => {
                assert_eq!((i.kind, i.seq, i.state), (MdInstrumentKind::Directory, 0, InstrumentState::Trading));
                Some(i.spec.id)
            }
            _ => None,
        })
        .collect();
    assert_eq!(ids, vec![BTC, ETH]);

    let mut admin = m.admin();
    admin.set_instrument_state(BTC, InstrumentState::Halted).unwrap();
    admin.set_instrument_state(BTC, InstrumentState::Trading).unwrap();
    admin.add_instrument(new_spec()).unwrap();
    sync(&mut admin);
    let mut alice = m.trader(ALICE);
    let mut bob = m.trader(BOB);
    let on_new = |cid, side, tif| NewOrder { instrument: NEW, tif, ..limit(cid, side, 1_000_000, 5_000) };
    place(&mut alice, on_new(1, Side::Sell, TimeInForce::Gtc));
    place(&mut bob, on_new(1, Side::Buy, TimeInForce::Ioc));
    sync(&mut alice); // her fill
    place(&mut alice, limit(2, Side::Buy, px(-10), lots(20)));
    sync(&mut alice);

    let got = md_until(&mut sub, |m| matches!(m, MdServerMessage::TopOfBook(t) if t.instrument == BTC));
    let feed: Vec<String> = got
        .iter()
        .filter(|m| !matches!(m, MdServerMessage::Heartbeat))
        .map(|m| match m {
            MdServerMessage::InstrumentState(s) => format!("{} state {:?} #{}", s.instrument, s.state, s.seq),
            MdServerMessage::Instrument(i) => format!("{} {:?} #{}", i.spec.id, i.kind, i.seq),
            MdServerMessage::Trade(t) => {
                format!("{} trade {:?} {}@{} #{}", t.instrument, t.aggressor, t.qty, t.price, t.seq)
            }
            MdServerMessage::Level(l) => {
                format!("{} level {:?} {}@{} n={} #{}", l.instrument, l.side, l.qty, l.price, l.order_count, l.seq)
            }
            MdServerMessage::TopOfBook(t) => {
                format!("{} top {}x{} {}x{} #{}", t.instrument, t.bid_qty, t.bid_price, t.ask_qty, t.ask_price, t.seq)
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        feed,
        vec![
            "1 state Halted #1",
            "1 state Trading #2",
            "3 Added #1",
            // Alice's sell rests; Bob's IOC takes it (the trade first, then the batch's levels).
            "3 level Sell 5000@1000000 n=1 #2",
            "3 top 0x0 5000x1000000 #3",
            "3 trade Buy 5000@1000000 #4",
            "3 level Sell 0@1000000 n=0 #5",
            "3 top 0x0 0x0 #6",
            "1 level Buy 20000@4999990 n=1 #3",
            "1 top 20000x4999990 0x0 #4",
        ],
        "{got:#?}"
    );

    // A subscription on the order-entry session is refused; a trading message on the feed too.
    alice.send(&ClientMessage::MdSubscribe(MdSubscribe::default())).unwrap();
    let r = recv_until(&mut alice, |m| matches!(m, ServerMessage::SessionReject(_)));
    assert!(matches!(r.last(), Some(ServerMessage::SessionReject(s)) if s.reason == SessionRejectReason::NotPermitted));
    sub.send(&ClientMessage::NewOrder(limit(9, Side::Buy, px(-10), lots(20)))).unwrap();
    let r = md_until(&mut sub, |m| matches!(m, MdServerMessage::SessionReject(_)));
    assert!(
        matches!(r.last(), Some(MdServerMessage::SessionReject(s)) if s.reason == SessionRejectReason::NotPermitted)
    );
    sub.request_snapshot(77, 0, false).unwrap();
    let r = md_until(&mut sub, |m| matches!(m, MdServerMessage::SnapshotRejected(_)));
    assert!(matches!(r.last(), Some(MdServerMessage::SnapshotRejected(s)) if s.instrument == 77));
    sub.request_snapshot(BTC, 0, true).unwrap();
    let r = md_until(&mut sub, |m| matches!(m, MdServerMessage::SnapshotRejected(_)));
    assert!(matches!(r.last(), Some(MdServerMessage::SnapshotRejected(s))
        if s.reason == protocol::MdSnapshotRejectReason::OrdersNotSubscribed));

    // Restart: a new feed epoch, the directory has the new instrument, the books are restored.
    let epoch = a.feed_epoch;
    drop(alice);
    drop(bob);
    drop(admin);
    assert_eq!(m.terminate().code(), Some(0));
    let r = md_until(&mut sub, |m| matches!(m, MdServerMessage::Logout(_)));
    assert!(matches!(r.last(), Some(MdServerMessage::Logout(l)) if l.reason == LogoutReason::ServerShutdown));
    let m = Matchd::start_default(&data);
    let mut feed = MdFeed::connect(m.addr, IO, MdSubscribe { heartbeat_interval_ms: 0, order_by_order: true }).unwrap();
    let accepted = *feed.client.accepted().unwrap();
    assert_ne!(accepted.feed_epoch, epoch);
    assert_eq!(accepted.instruments, 3);
    let deadline = Instant::now() + IO;
    while feed.books.instruments().len() < 3 || !feed.books.all_synced() {
        assert!(Instant::now() < deadline, "not synced after the restart");
        feed.step(Duration::from_millis(20)).unwrap();
    }
    let btc = feed.books.book(BTC).unwrap();
    assert_eq!(btc.levels(Side::Buy), vec![(px(-10), lots(20), 1)]);
    assert_eq!(btc.orders_in_priority(Side::Buy), vec![(3, px(-10), lots(20))]);
    assert_eq!(feed.books.spec(NEW).unwrap().symbol_str(), "SOL-USDT");
    assert!(feed.books.book(NEW).unwrap().bids.is_empty() && feed.books.book(NEW).unwrap().asks.is_empty());
    feed.client.logout().unwrap();
    let r = md_until(&mut feed.client, |m| matches!(m, MdServerMessage::Logout(_)));
    assert!(matches!(r.last(), Some(MdServerMessage::Logout(l)) if l.reason == LogoutReason::UserRequest));
    assert_eq!(m.terminate().code(), Some(0));
}

#[test]
fn subscriber_limit_and_the_market_data_listener() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ConfigText::default().set("max_subscribers", "1");
    let path = dir.path().join("cfg.toml");
    std::fs::write(&path, &cfg.0).unwrap();
    let m = Matchd::start(
        &dir.path().join("data"),
        &["--config", path.to_str().unwrap(), "--market-data-listen", "127.0.0.1:0"],
    );
    let md_addr = m.md_addr.expect("a market-data listener");
    let mut first = MdClient::connect(md_addr, IO).unwrap();
    first.subscribe(MdSubscribe::default()).unwrap();
    // The second is over the limit, on either port.
    for addr in [m.addr, md_addr] {
        let mut second = MdClient::connect(addr, IO).unwrap();
        match second.subscribe(MdSubscribe::default()) {
            Err(ClientError::SubscribeRejected { reason }) => assert_eq!(reason, MdRejectReason::TooManySubscribers),
            other => panic!("{other:?}"),
        }
    }
    // The market-data listener takes no logins.
    let mut c = client::Client::connect(md_addr, IO).unwrap();
    let err = c.login(client::LoginParams::trader(ALICE.0, ALICE.1.as_bytes())).unwrap_err();
    assert!(matches!(err, ClientError::Unexpected(ref s) if s.contains("NotPermitted")), "{err}");
    // Leaving frees the place.
    first.logout().unwrap();
    md_until(&mut first, |m| matches!(m, MdServerMessage::Logout(_)));
    let deadline = Instant::now() + IO;
    let _again = loop {
        let mut again = MdClient::connect(m.addr, IO).unwrap();
        match again.subscribe(MdSubscribe::default()) {
            Ok(_) => break again,
            Err(ClientError::SubscribeRejected { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(m.metric("matchd_md_subscribers"), 1.0);
    assert_eq!(m.metric("matchd_md_subscribe_rejects_total"), 2.0);
    assert_eq!(m.terminate().code(), Some(0));
}
