//! Snapshot files: a full round trip through the file; damaged snapshots (bit flip anywhere,
//! truncation, wrong recorded hash, inconsistent state with a valid CRC) are skipped in favour
//! of an older valid one, and reported; retention; journal segments before a snapshot.

use std::path::Path;
use std::time::Duration;

use engine::*;
use snapshot::*;

fn spec(id: InstrumentId) -> InstrumentSpec {
    InstrumentSpec {
        id,
        symbol: InstrumentSpec::symbol_from_str("BTC-USDT").expect("symbol"),
        base_asset: 1,
        quote_asset: 0,
        tick: 10,
        lot: 1,
        min_qty: 1,
        max_qty: 1_000_000,
        min_notional: 0,
        price_band_bps: 5_000,
        reference_price: 10_000,
        qty_scale: 100,
    }
}

fn cfg() -> EngineConfig {
    EngineConfig { risk_checks: true, fee_account: 9, max_accounts: 10, max_assets: 2, ..EngineConfig::small() }
}

/// An engine with accounts, balances, resting orders and trades; returns the commands too.
fn busy_engine(n: u64) -> (Engine, Vec<(Seq, Command)>) {
    let mut e = Engine::new(cfg());
    let mut log = Vec::new();
    let mut seq = 1; // 1 is the engine-config record in a journal
    e.skip(1);
    let mut put = |e: &mut Engine, account, kind| {
        seq += 1;
        let c = Command { account, timestamp_ns: seq * 1000, kind };
        e.apply(seq, &c, &mut Vec::new());
        log.push((seq, c));
    };
    put(&mut e, 0, CommandKind::AddInstrument(spec(1)));
    for a in 1..=4 {
        put(&mut e, 0, CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active }));
        for asset in 0..2 {
            let t = Transfer { target: a, asset, amount: 1 << 40, tx_id: (a * 10 + asset) as u64 };
            put(&mut e, 0, CommandKind::Deposit(t));
        }
    }
    put(
        &mut e,
        0,
        CommandKind::SetFeeSchedule(SetFeeSchedule { instrument: 1, tier: 0, maker_ppm: -100, taker_ppm: 700 }),
    );
    for i in 0..n {
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let off = (i * 7919 % 23) * 10;
        let price = if side == Side::Buy { 9_900 - off + (i % 5) * 30 } else { 10_100 + off - (i % 5) * 30 };
        let o = NewOrder {
            client_order_id: i,
            instrument: 1,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            price,
            qty: 1 + i % 17,
        };
        put(&mut e, 1 + (i % 4) as AccountId, CommandKind::NewOrder(o));
    }
    (e, log)
}

fn flip(path: &Path, offset: u64) {
    let mut b = std::fs::read(path).expect("read");
    b[offset as usize] ^= 0x10;
    std::fs::write(path, b).expect("write");
}

#[test]
fn a_snapshot_round_trips_through_its_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, _) = busy_engine(300);
    assert!(e.live_orders() > 50);
    let snap = e.snapshot();
    let publisher = b"report numbers go here".to_vec();
    let w = write_snapshot(dir.path(), &snap, &publisher).expect("write");
    assert_eq!(w.path, dir.path().join(snapshot_file_name(e.last_seq())));
    assert_eq!(w.header.state_hash, e.state_hash());
    assert_eq!(std::fs::metadata(&w.path).expect("stat").len(), w.header.file_len());
    let (back, pubs) = read_snapshot(&w.path).expect("read");
    assert_eq!(back, snap);
    assert_eq!(pubs, publisher);
    let loaded = load_snapshot(&w.path).expect("load");
    assert_eq!(loaded.engine.state_hash(), e.state_hash());
    assert_eq!(loaded.header.seq, e.last_seq());
    // An empty publisher section too, and no temporary file left behind.
    let w2 = write_snapshot(dir.path(), &Engine::new(cfg()).snapshot(), &[]).expect("write empty");
    assert!(read_snapshot(&w2.path).expect("read").1.is_empty());
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(names.iter().all(|n| n.ends_with(".snap")), "{names:?}");
    let listed: Vec<Seq> = list_snapshots(dir.path()).unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(listed, vec![e.last_seq(), 0]);
}

const BTC_PERP: InstrumentId = 2;
const FUND: AccountId = 8;
const ORACLE: AccountId = 7;

/// An engine with a perpetual: margin deposits, cross and isolated positions, resting and
/// reduce-only orders, a mark price.
fn futures_engine() -> Engine {
    let config = EngineConfig { insurance_account: FUND, oracle_account: ORACLE, ..cfg() };
    let mut e = Engine::new(config);
    let mut seq = 1;
    e.skip(1);
    let mut put = |e: &mut Engine, account, kind| {
        seq += 1;
        let mut ev = Vec::new();
        e.apply(seq, &Command { account, timestamp_ns: seq * 1000, kind }, &mut ev);
        assert!(!ev.iter().any(|x| matches!(x.kind, EventKind::Rejected(_))), "{ev:?}");
    };
    let spec = InstrumentSpec {
        id: BTC_PERP,
        symbol: InstrumentSpec::symbol_from_str("BTC-PERP").expect("symbol"),
        qty_scale: 1000,
        reference_price: 6_000_000,
        max_qty: 100_000,
        ..spec(BTC_PERP)
    };
    put(&mut e, 0, CommandKind::AddPerpetual(spec));
    let fees = SetFeeSchedule { instrument: BTC_PERP, tier: 0, maker_ppm: 200, taker_ppm: 500 };
    put(&mut e, 0, CommandKind::SetFeeSchedule(fees));
    for (index, (max_notional, max_leverage, mmr_ppm, maint_amount)) in
        [(5_000_000, 125, 4_000, 0), (25_000_000, 100, 5_000, 5_000)].into_iter().enumerate()
    {
        let t =
            SetRiskTier { instrument: BTC_PERP, index: index as u8, max_leverage, mmr_ppm, max_notional, maint_amount };
        put(&mut e, 0, CommandKind::SetRiskTier(t));
    }
    let trading = SetInstrumentState { instrument: BTC_PERP, state: InstrumentState::Trading };
    put(&mut e, 0, CommandKind::SetInstrumentState(trading));
    for a in 1..=4 {
        put(&mut e, 0, CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active }));
        let t = Transfer { target: a, asset: 0, amount: 5_000_000, tx_id: 100 + a as u64 };
        put(&mut e, 0, CommandKind::MarginDeposit(t));
    }
    put(&mut e, 4, CommandKind::SetMarginMode(SetMarginMode { instrument: BTC_PERP, mode: MarginMode::Isolated }));
    let order = |cid, side, price, qty| NewOrder::limit_gtc(cid, BTC_PERP, side, price, qty);
    put(&mut e, 1, CommandKind::NewOrder(order(1, Side::Buy, 5_990_000, 10)));
    put(&mut e, 2, CommandKind::NewOrder(order(2, Side::Sell, 5_990_000, 4)));
    put(&mut e, 4, CommandKind::NewOrder(order(3, Side::Sell, 5_990_000, 3)));
    put(&mut e, 3, CommandKind::NewOrder(order(4, Side::Sell, 6_010_000, 5)));
    let ro = AdvancedOrder { reduce_only: true, ..AdvancedOrder::plain(order(5, Side::Sell, 6_020_000, 2)) };
    put(&mut e, 1, CommandKind::NewAdvancedOrder(ro));
    put(&mut e, ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: BTC_PERP, mark_price: 6_030_000 }));
    e
}

/// Format 6 on carries the futures state, format 7 each perpetual's announced funding: the file
/// restores it, and the engine goes on like the original (a mark move, trades against the
/// restored book, a liquidation by the index).
#[test]
fn a_futures_snapshot_round_trips_through_its_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut e = futures_engine();
    let mut seq = e.last_seq() + 1;
    let next = 28_800_000_000_000;
    let funding = ApplyFunding { instrument: BTC_PERP, rate_ppm: -150, next_funding_time_ns: next };
    let c = Command { account: ORACLE, timestamp_ns: seq * 1000, kind: CommandKind::ApplyFunding(funding) };
    let mut ev = Vec::new();
    e.apply(seq, &c, &mut ev);
    assert!(!ev.iter().any(|x| matches!(x.kind, EventKind::Rejected(_))), "{ev:?}");
    let snap = e.snapshot();
    assert!(!snap.futures.positions.is_empty() && !snap.futures.reduce_only.is_empty(), "{:?}", snap.futures);
    let w = write_snapshot(dir.path(), &snap, b"p").expect("write");
    assert_eq!(w.header.format_version, SNAPSHOT_FORMAT_VERSION);
    let mut r = load_snapshot(&w.path).expect("load").engine;
    assert_eq!(r.state_hash(), e.state_hash());
    assert_eq!(r.config(), e.config());
    assert_eq!(r.funding(BTC_PERP), Some((-150, next)));
    let mut liquidated = false;
    for (account, kind) in [
        (ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: BTC_PERP, mark_price: 6_000_000 })),
        (
            2,
            CommandKind::NewOrder(NewOrder {
                client_order_id: 9,
                instrument: BTC_PERP,
                side: Side::Buy,
                order_type: OrderType::Market,
                tif: TimeInForce::Ioc,
                stp: StpMode::None,
                price: 0,
                qty: 6,
            }),
        ),
        (ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: BTC_PERP, mark_price: 6_250_000 })),
        (ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: BTC_PERP, mark_price: 6_500_000 })),
        (ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: BTC_PERP, mark_price: 6_800_000 })),
    ] {
        seq += 1;
        let c = Command { account, timestamp_ns: seq * 1000, kind };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        e.apply(seq, &c, &mut a);
        r.apply(seq, &c, &mut b);
        assert_eq!(a, b, "seq {seq}");
        liquidated |= a.iter().any(|x| matches!(x.kind, EventKind::Liquidation(_)));
    }
    assert!(liquidated, "the mark moves should liquidate someone");
    assert_eq!(r.state_hash(), e.state_hash());
}

#[test]
fn the_restored_engine_continues_like_the_original() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut e, _) = busy_engine(200);
    let w = write_snapshot(dir.path(), &e.snapshot(), &[]).expect("write");
    let mut r = load_snapshot(&w.path).expect("load").engine;
    let mut seq = e.last_seq();
    for i in 0..200u64 {
        seq += 1;
        let kind = if i % 3 == 0 {
            CommandKind::Cancel(Cancel { order: OrderRef::Engine(1 + i * 7 % 200) })
        } else {
            CommandKind::NewOrder(NewOrder {
                client_order_id: 10_000 + i,
                instrument: 1,
                side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                order_type: OrderType::Limit,
                tif: TimeInForce::Ioc,
                stp: StpMode::CancelMaker,
                price: if i % 2 == 0 { 10_300 } else { 9_700 },
                qty: 5 + i % 9,
            })
        };
        let c = Command { account: 1 + (i % 4) as AccountId, timestamp_ns: 5, kind };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        e.apply(seq, &c, &mut a);
        r.apply(seq, &c, &mut b);
        assert_eq!(a, b, "seq {seq}");
    }
    assert_eq!(r.state_hash(), e.state_hash());
}

/// A file of an older format (1 to 6) as an older release wrote it, built by hand from the
/// documented layout: header, rkyv archive of that format's state, publisher section.
fn old_format_file(dir: &Path, snap: &EngineSnapshot, publisher: &[u8], version: u32) -> std::path::PathBuf {
    let payload = match version {
        1 => rkyv::to_bytes::<rkyv::rancor::Error>(&EngineSnapshotV1::from_current(snap).expect("no credentials")),
        2 => rkyv::to_bytes::<rkyv::rancor::Error>(&EngineSnapshotV2::from_current(snap).expect("nothing armed")),
        3 => rkyv::to_bytes::<rkyv::rancor::Error>(&EngineSnapshotV3::from_current(snap).expect("no expiries")),
        4 => rkyv::to_bytes::<rkyv::rancor::Error>(&EngineSnapshotV4::from_current(snap).expect("no trailing stops")),
        5 => rkyv::to_bytes::<rkyv::rancor::Error>(&EngineSnapshotV5::from_current(snap).expect("no futures")),
        _ => rkyv::to_bytes::<rkyv::rancor::Error>(&EngineSnapshotV6::from_current(snap).expect("no funding times")),
    }
    .unwrap();
    let mut h = [0u8; 128];
    h[..8].copy_from_slice(b"MATCHDSN");
    h[8..12].copy_from_slice(&version.to_le_bytes());
    h[12..16].copy_from_slice(&128u32.to_le_bytes());
    h[16..24].copy_from_slice(&snap.last_seq.to_le_bytes());
    h[24..40].copy_from_slice(&snap.state_hash().to_le_bytes());
    h[40..48].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    h[48..52].copy_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
    h[52..56].copy_from_slice(&crc32c::crc32c(publisher).to_le_bytes());
    h[56..64].copy_from_slice(&(publisher.len() as u64).to_le_bytes());
    let crc = crc32c::crc32c(&h[..120]);
    h[120..124].copy_from_slice(&crc.to_le_bytes());
    let mut file = h.to_vec();
    file.extend_from_slice(&payload);
    file.extend_from_slice(&(publisher.len() as u64).to_le_bytes());
    file.extend_from_slice(&crc32c::crc32c(publisher).to_le_bytes());
    file.extend_from_slice(&[0; 4]);
    file.extend_from_slice(publisher);
    let path = dir.join(snapshot_file_name(snap.last_seq));
    std::fs::write(&path, file).unwrap();
    path
}

/// Format 2 added the journaled credentials to the state, format 3 the armed conditional orders,
/// format 4 the expiries, the icebergs and the engine's clock, format 5 the trailing stops,
/// format 6 the perpetual futures (and the insurance fund and oracle accounts in the config),
/// format 7 each perpetual's announced funding. Files of formats 1-6 (without those lists in their archives) are still read, so an upgrade keeps
/// using its snapshots (the journal before them may be pruned): the state hash of a state without
/// them did not change. (Before format 4 their clock is 0: the next command sets it.)
#[test]
fn a_snapshot_of_a_previous_format_is_still_read() {
    assert_eq!((OLDEST_READABLE_FORMAT_VERSION, SNAPSHOT_FORMAT_VERSION), (1, 7));
    for version in [1, 2, 3, 4, 5, 6] {
        read_old_format(version);
    }
}

/// A format-6 file of a futures state (perpetuals, positions, no announced funding: format 6 had
/// none) still loads, its recorded state hash verifies, and a funding goes on from it as from
/// the original.
#[test]
fn a_format_6_futures_snapshot_is_still_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut e = futures_engine();
    let snap = e.snapshot();
    assert!(!snap.futures.perps.is_empty() && !snap.futures.positions.is_empty());
    old_format_file(dir.path(), &snap, b"", 6);
    let out = load_newest_valid(dir.path()).expect("load");
    let loaded = out.loaded.expect("the format-6 file is used");
    assert_eq!(loaded.header.format_version, 6);
    assert_eq!((loaded.engine.snapshot(), loaded.engine.funding(BTC_PERP)), (snap, Some((0, 0))));
    let mut r = loaded.engine;
    let seq = e.last_seq() + 1;
    let funding = ApplyFunding { instrument: BTC_PERP, rate_ppm: 100, next_funding_time_ns: seq * 1000 + 1 };
    let c = Command { account: ORACLE, timestamp_ns: seq * 1000, kind: CommandKind::ApplyFunding(funding) };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    e.apply(seq, &c, &mut a);
    r.apply(seq, &c, &mut b);
    assert_eq!(a, b);
    assert_eq!((r.state_hash(), r.funding(BTC_PERP)), (e.state_hash(), Some((100, seq * 1000 + 1))));
}

fn read_old_format(version: u32) {
    let (mut e, _) = busy_engine(40);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = old_format_file(dir.path(), &e.snapshot(), b"old reports", version);
    let out = load_newest_valid(dir.path()).expect("load");
    assert!(out.skipped.is_empty(), "{:?}", out.skipped.iter().map(|s| s.1.to_string()).collect::<Vec<_>>());
    let loaded = out.loaded.expect("the old-format file is used");
    assert_eq!((loaded.path, loaded.header.format_version), (path, version));
    assert_eq!(loaded.engine.state_hash(), e.state_hash());
    let clock_ns = if version >= 4 { e.clock_ns() } else { 0 };
    assert_eq!(loaded.engine.snapshot(), EngineSnapshot { clock_ns, ..e.snapshot() });
    assert_eq!(loaded.publisher, b"old reports");
    // The engine goes on from it like the original; what it writes next is the current format.
    let mut restored = loaded.engine;
    let set = SetCredential { target: 3, salt: [5; 16], hash: [6; 32] };
    let cmd = Command { account: 0, timestamp_ns: 1, kind: CommandKind::SetCredential(set) };
    let seq = e.last_seq() + 1;
    for engine in [&mut e, &mut restored] {
        engine.apply(seq, &cmd, &mut Vec::new());
    }
    assert_eq!(restored.state_hash(), e.state_hash());
    let w = write_snapshot(dir.path(), &restored.snapshot(), b"").expect("write");
    assert_eq!(w.header.format_version, SNAPSHOT_FORMAT_VERSION);
    let newer = load_snapshot(&w.path).expect("the current format loads");
    assert_eq!(newer.engine.credential(3), Some(AccountCredential::Set { salt: [5; 16], hash: [6; 32] }));
}

/// A format this build does not know (a newer release's, after a downgrade) is skipped with a
/// clear reason, for an older snapshot or the journal.
#[test]
fn a_snapshot_of_an_unknown_format_is_skipped() {
    let (e, _) = busy_engine(20);
    let dir = tempfile::tempdir().expect("tempdir");
    let w = write_snapshot(dir.path(), &e.snapshot(), b"p").expect("write");
    for version in [0u32, SNAPSHOT_FORMAT_VERSION + 1] {
        let mut b = std::fs::read(&w.path).unwrap();
        b[8..12].copy_from_slice(&version.to_le_bytes());
        let crc = crc32c::crc32c(&b[..120]);
        b[120..124].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&w.path, &b).unwrap();
        let out = load_newest_valid(dir.path()).expect("load");
        assert!(out.loaded.is_none(), "format {version} must not be used");
        assert!(
            matches!(out.skipped[0].1, SnapshotFileError::BadHeader { what: "unsupported format version", .. }),
            "{}",
            out.skipped[0].1
        );
    }
}

#[test]
fn damaged_snapshots_are_skipped_for_an_older_valid_one() {
    let (mut e, _) = busy_engine(150);
    let older = e.snapshot();
    let mut seq = e.last_seq();
    for i in 0..50 {
        seq += 1;
        let c = Command {
            account: 1,
            timestamp_ns: 1,
            kind: CommandKind::Cancel(Cancel { order: OrderRef::Engine(1 + i * 2) }),
        };
        e.apply(seq, &c, &mut Vec::new());
    }
    let newer = e.snapshot();
    let (older_seq, newer_seq) = (older.last_seq, newer.last_seq);

    // Each way of damaging the newer file: (name, damage).
    type Damage = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Damage)> = vec![
        ("header bit flip", Box::new(|p: &Path| flip(p, 30))),
        ("payload bit flip", Box::new(|p: &Path| flip(p, 128 + 1000))),
        (
            "last payload byte",
            Box::new(|p: &Path| {
                let len = std::fs::metadata(p).unwrap().len();
                flip(p, len - 16 - 3 - 1)
            }),
        ),
        (
            "publisher bit flip",
            Box::new(|p: &Path| {
                let len = std::fs::metadata(p).unwrap().len();
                flip(p, len - 1)
            }),
        ),
        (
            "truncated",
            Box::new(|p: &Path| {
                let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                let len = f.metadata().unwrap().len();
                f.set_len(len / 2).unwrap();
            }),
        ),
        ("empty", Box::new(|p: &Path| std::fs::write(p, b"").unwrap())),
    ];
    for (what, damage) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        write_snapshot(dir.path(), &older, b"old").expect("write older");
        let w = write_snapshot(dir.path(), &newer, b"new").expect("write newer");
        damage(&w.path);
        let out = load_newest_valid(dir.path()).expect("load");
        let loaded = out.loaded.unwrap_or_else(|| panic!("{what}: nothing loaded"));
        assert_eq!(loaded.header.seq, older_seq, "{what}");
        assert_eq!(loaded.publisher, b"old");
        assert_eq!(out.skipped.len(), 1, "{what}");
        assert_eq!(out.skipped[0].0, w.path, "{what}");
        eprintln!("{what}: {}", out.skipped[0].1);
    }

    // A wrong recorded hash, with a valid header CRC: rewrite the header.
    let dir = tempfile::tempdir().expect("tempdir");
    write_snapshot(dir.path(), &older, &[]).expect("write older");
    let w = write_snapshot(dir.path(), &newer, &[]).expect("write newer");
    let mut b = std::fs::read(&w.path).unwrap();
    b[24] ^= 1;
    let crc = crc32c::crc32c(&b[..120]);
    b[120..124].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&w.path, &b).unwrap();
    let out = load_newest_valid(dir.path()).expect("load");
    assert_eq!(out.loaded.expect("older").header.seq, older_seq);
    assert!(matches!(out.skipped[0].1, SnapshotFileError::HashMismatch { .. }), "{}", out.skipped[0].1);

    // An inconsistent state behind valid CRCs: written by the library itself.
    let dir = tempfile::tempdir().expect("tempdir");
    write_snapshot(dir.path(), &older, &[]).expect("write older");
    let mut bad = newer.clone();
    bad.levels[0].total_qty += 1;
    write_snapshot(dir.path(), &bad, &[]).expect("write bad");
    let out = load_newest_valid(dir.path()).expect("load");
    assert_eq!(out.loaded.expect("older").header.seq, older_seq);
    assert!(matches!(out.skipped[0].1, SnapshotFileError::Restore { .. }), "{}", out.skipped[0].1);

    // Beyond the journal's end: not used.
    let dir = tempfile::tempdir().expect("tempdir");
    write_snapshot(dir.path(), &older, &[]).expect("write older");
    write_snapshot(dir.path(), &newer, &[]).expect("write newer");
    let out = load_newest_valid_at_or_before(dir.path(), newer_seq - 1).expect("load");
    assert_eq!(out.loaded.expect("older").header.seq, older_seq);
    // All damaged: nothing, everything reported.
    let out = load_newest_valid_at_or_before(dir.path(), older_seq - 1).expect("load");
    assert!(out.loaded.is_none() && out.skipped.is_empty());
    assert!(load_newest_valid(&dir.path().join("missing")).expect("no dir").loaded.is_none());
}

#[test]
fn prune_keeps_the_newest_valid_and_lists_old_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snaps = dir.path().join("snapshots");
    let mut e = Engine::new(cfg());
    e.skip(1);
    let mut seqs = Vec::new();
    for k in 0..5u64 {
        e.skip(100 * (k + 1));
        seqs.push(write_snapshot(&snaps, &e.snapshot(), &[]).expect("write").header.seq);
    }
    // The newest is damaged: it is neither kept nor deleted.
    let newest = snaps.join(snapshot_file_name(500));
    flip(&newest, 200);
    std::fs::write(snaps.join("snapshot-00000000000000000999.snap.tmp"), b"partial").unwrap();
    let plan = plan_prune(&snaps, 2).expect("plan");
    assert_eq!(plan.keep.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![400, 300]);
    assert_eq!(plan.invalid.len(), 1);
    assert_eq!(plan.delete.len(), 3, "{:?}", plan.delete);
    assert_eq!(plan.oldest_kept_seq(), Some(300));
    assert_eq!(list_snapshots(&snaps).unwrap().len(), 5, "planning deletes nothing");
    prune(&snaps, 2).expect("prune");
    let left: Vec<Seq> = list_snapshots(&snaps).unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(left, vec![500, 400, 300]);

    // Segments: 1..=99, 100..=299, 300..=301, 302.. -> before 300: the first two.
    let jdir = dir.path().join("journal");
    std::fs::create_dir_all(&jdir).unwrap();
    for first in [1u64, 100, 300, 302] {
        std::fs::write(jdir.join(journal::segment::segment_file_name(first)), b"").unwrap();
    }
    let firsts = |s| journal_segments_before(&jdir, s).unwrap().iter().map(|s| s.first_seq).collect::<Vec<_>>();
    assert_eq!(firsts(300), vec![1, 100]);
    assert_eq!(firsts(299), vec![1, 100]);
    assert_eq!(firsts(298), vec![1]);
    assert_eq!(firsts(301), vec![1, 100, 300]);
    assert_eq!(firsts(1_000_000), vec![1, 100, 300], "the last segment is never listed");
}

#[test]
fn a_forked_child_writes_the_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut e, _) = busy_engine(200);
    let want = e.state_hash();
    let seq = e.last_seq();
    let f = fork_snapshot(&e, dir.path()).expect("fork");
    // The parent goes on changing its state meanwhile: the child saw the state at the fork.
    e.skip(e.last_seq() + 10);
    // Bounds a hang, not a speed: a busy machine can stretch the fork's page-table copy.
    assert!(f.fork_pause.as_secs() < 60);
    assert_eq!(f.seq, seq);
    f.wait(Duration::from_secs(60)).expect("child wrote the engine part");
    assert!(load_newest_valid(dir.path()).expect("load").loaded.is_none(), "not visible before it is finished");
    finish_snapshot(dir.path(), seq, b"pub").expect("finish");
    let out = load_newest_valid(dir.path()).expect("load");
    let loaded = out.loaded.expect("loaded");
    assert_eq!(loaded.engine.state_hash(), want);
    assert_eq!(loaded.publisher, b"pub");
    // A failure is reported with the child's message.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = fork_snapshot(&e, &file).expect("fork").wait(Duration::from_secs(60)).expect_err("cannot write");
    assert!(err.contains("not-a-dir"), "{err}");
}

#[test]
fn a_child_past_its_deadline_is_killed_and_leaves_nothing_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, _) = busy_engine(20_000);
    // The child needs milliseconds; a parent descheduled for all of them (a busy machine) sees
    // it finished, and then the next fork is tried, in a clean directory.
    let mut tries = 0;
    let (pid, err) = loop {
        let f = fork_snapshot(&e, dir.path()).expect("fork");
        let pid = f.pid();
        match f.wait(Duration::ZERO) {
            Err(err) => break (pid, err),
            Ok(_) if tries < 20 => {
                tries += 1;
                for entry in std::fs::read_dir(dir.path()).unwrap() {
                    let path = entry.unwrap().path();
                    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                }
            }
            Ok(_) => panic!("the child finished before every one of {tries} zero deadlines"),
        }
    };
    assert!(err.contains("killed"), "{err}");
    // Reaped: no zombie left behind.
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "child {pid} not reaped");
    assert!(finish_snapshot(dir.path(), e.last_seq(), &[]).is_err(), "a partial engine part is not finished");
    assert!(load_newest_valid(dir.path()).expect("load").loaded.is_none());
    prune(dir.path(), 1).expect("prune");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "prune removes the temporary file");
}

#[test]
fn finishing_checks_the_engine_part() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, _) = busy_engine(50);
    // Nothing to finish.
    assert!(matches!(finish_snapshot(dir.path(), e.last_seq(), &[]), Err(SnapshotFileError::Io { .. })));
    // A truncated engine part is refused and removed.
    let part = write_engine_part(dir.path(), &e.snapshot()).expect("part");
    let len = std::fs::metadata(&part.tmp).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&part.tmp).unwrap().set_len(len - 1).unwrap();
    let err = finish_snapshot(dir.path(), e.last_seq(), &[]).expect_err("truncated");
    assert!(matches!(err, SnapshotFileError::BadLength { .. }), "{err}");
    assert!(!part.tmp.exists());
    // Another sequence's part is refused.
    let part = write_engine_part(dir.path(), &e.snapshot()).expect("part");
    let other = dir.path().join(format!("{}.tmp", snapshot_file_name(e.last_seq() + 1)));
    std::fs::rename(&part.tmp, &other).unwrap();
    let err = finish_snapshot(dir.path(), e.last_seq() + 1, &[]).expect_err("wrong seq");
    assert!(matches!(err, SnapshotFileError::BadHeader { .. }), "{err}");
    // Finishing twice: the second has no part left.
    write_engine_part(dir.path(), &e.snapshot()).expect("part");
    finish_snapshot(dir.path(), e.last_seq(), b"x").expect("finish");
    assert!(finish_snapshot(dir.path(), e.last_seq(), b"x").is_err());
    assert_eq!(load_snapshot(&dir.path().join(snapshot_file_name(e.last_seq()))).expect("load").publisher, b"x");
}
