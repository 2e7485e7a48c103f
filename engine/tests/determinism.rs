//! Determinism: the same commands give the same events and the same state
//! hash; different states give different hashes; the hash depends on the
//! logical state only, not on which pool slots the history happened to use.

mod common;

use common::{check_invariants, sym, Rng};
use engine::*;

const CFG: EngineConfig = EngineConfig {
    max_orders: 1 << 14,
    max_instruments: 8,
    max_accounts: 16,
    max_open_orders_per_account: 1000,
    risk_checks: false,
    max_assets: 16,
    fee_account: 0,
    max_transactions: 1024,
    insurance_account: engine::NO_ACCOUNT,
    oracle_account: engine::NO_ACCOUNT,
};

fn spec(id: InstrumentId) -> InstrumentSpec {
    InstrumentSpec {
        id,
        symbol: sym(&format!("D{id}")),
        base_asset: id,
        quote_asset: 0,
        tick: 1,
        lot: 1,
        min_qty: 1,
        max_qty: 1_000,
        min_notional: 0,
        price_band_bps: 1_000,
        reference_price: 1_000,
        qty_scale: 1,
    }
}

fn add(id: InstrumentId) -> Command {
    Command { account: 0, timestamp_ns: 0, kind: CommandKind::AddInstrument(spec(id)) }
}

/// A random stream over every command kind (valid and invalid values mixed),
/// blind to the engine's state: cancels and amends aim at recent ids.
fn stream(seed: u64, n: usize) -> Vec<Command> {
    let mut r = Rng::new(seed);
    let mut out: Vec<Command> = (1..=3).map(add).collect();
    let sides = [Side::Buy, Side::Sell];
    let tifs = [TimeInForce::Gtc, TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok, TimeInForce::PostOnly];
    let stps = [StpMode::None, StpMode::None, StpMode::CancelTaker, StpMode::CancelMaker, StpMode::CancelBoth];
    let mut issued = 0u64;
    for i in 0..n {
        let account = r.below(CFG.max_accounts as u64 + 1) as AccountId; // sometimes unknown
        let inst = 1 + r.below(4) as InstrumentId; // 4 is unknown
        let side = sides[r.below(2) as usize];
        let order_ref = |r: &mut Rng| {
            if r.below(3) == 0 {
                OrderRef::Client(r.below(40))
            } else {
                OrderRef::Engine(issued.saturating_sub(r.below(60)))
            }
        };
        let kind = match r.below(100) {
            0..=59 => {
                issued += 1;
                let market = r.below(8) == 0;
                let d = r.below(30) as i64 - 8;
                let price = if market {
                    0
                } else {
                    match side {
                        Side::Buy => (1_000 - d) as u64,
                        Side::Sell => (1_000 + d) as u64,
                    }
                };
                let tif = if market {
                    [TimeInForce::Ioc, TimeInForce::Fok][r.below(2) as usize]
                } else {
                    tifs[r.below(5) as usize]
                };
                CommandKind::NewOrder(NewOrder {
                    client_order_id: r.below(40),
                    instrument: inst,
                    side,
                    order_type: if market { OrderType::Market } else { OrderType::Limit },
                    tif,
                    stp: stps[r.below(5) as usize],
                    price,
                    qty: r.below(60),
                })
            }
            60..=74 => CommandKind::Cancel(Cancel { order: order_ref(&mut r) }),
            75..=94 => {
                let order = order_ref(&mut r);
                let new_qty = (r.below(3) > 0).then(|| r.below(80));
                let new_price = (r.below(2) > 0).then(|| 985 + r.below(30));
                CommandKind::Amend(Amend { order, new_qty, new_price })
            }
            95..=97 => CommandKind::MassCancel(MassCancel {
                instrument: (r.below(2) == 0).then_some(inst),
                side: (r.below(2) == 0).then_some(side),
            }),
            _ => {
                // Only instrument 3 is ever closed, so the others keep their books.
                let state = match r.below(10) {
                    0 if inst == 3 => InstrumentState::Closed,
                    0 => InstrumentState::Trading,
                    1..=3 => InstrumentState::Halted,
                    4 => InstrumentState::CancelOnly,
                    _ => InstrumentState::Trading,
                };
                CommandKind::SetInstrumentState(SetInstrumentState { instrument: inst, state })
            }
        };
        out.push(Command { account, timestamp_ns: 1_000 + i as u64, kind });
    }
    out
}

/// Applies a stream; returns every command's events and the final hash.
fn run(cmds: &[Command]) -> (Engine, Vec<Vec<Event>>) {
    let mut e = Engine::new(CFG);
    let mut all = Vec::with_capacity(cmds.len());
    for (i, c) in cmds.iter().enumerate() {
        let mut out = Vec::new();
        e.apply(i as u64 + 1, c, &mut out);
        all.push(out);
    }
    (e, all)
}

#[test]
fn same_stream_gives_same_events_and_hash() {
    for seed in 1..=6 {
        let cmds = stream(seed, 4_000);
        let (e1, ev1) = run(&cmds);
        let mut e2 = Engine::new(CFG);
        for (i, c) in cmds.iter().enumerate() {
            let mut out = Vec::new();
            e2.apply(i as u64 + 1, c, &mut out);
            assert_eq!(out, ev1[i], "seed {seed}, command {} {c:?}", i + 1);
        }
        check_invariants(&e1);
        assert_eq!(e1.state_hash(), e2.state_hash(), "seed {seed}");
        assert_eq!(e1.next_ids(), e2.next_ids());
        // The stream did real work.
        let trades = ev1.iter().flatten().filter(|e| matches!(e.kind, EventKind::Trade(_))).count();
        let rejects = ev1.iter().flatten().filter(|e| matches!(e.kind, EventKind::Rejected(_))).count();
        assert!(trades > 100 && rejects > 100, "seed {seed}: {trades} trades, {rejects} rejects");
        assert!(e1.live_orders() > 20, "seed {seed}: {} live", e1.live_orders());
    }
}

#[test]
fn hash_tracks_state_step_by_step() {
    // Two engines in lockstep agree after every command; the hash changes
    // whenever the events say the state changed.
    let cmds = stream(42, 1_500);
    let mut a = Engine::new(CFG);
    let mut b = Engine::new(CFG);
    let mut prev = a.state_hash();
    let mut changes = 0;
    for (i, c) in cmds.iter().enumerate() {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        a.apply(i as u64 + 1, c, &mut x);
        b.apply(i as u64 + 1, c, &mut y);
        assert_eq!(x, y);
        let h = a.state_hash();
        assert_eq!(h, b.state_hash(), "after command {}", i + 1);
        assert_ne!(h, prev, "last_seq is part of the state, so every command moves the hash");
        changes += 1;
        prev = h;
    }
    assert_eq!(changes, cmds.len());
}

#[test]
fn different_streams_give_different_hashes() {
    let mut hashes: Vec<u128> = (100..120).map(|seed| run(&stream(seed, 1_000)).0.state_hash()).collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(hashes.len(), 20);
    // One field of one resting order differs: different hash.
    let place = |qty| Command {
        account: 1,
        timestamp_ns: 0,
        kind: CommandKind::NewOrder(NewOrder {
            client_order_id: 1,
            instrument: 1,
            side: Side::Buy,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            price: 990,
            qty,
        }),
    };
    let h1 = run(&[add(1), place(10)]).0.state_hash();
    let h2 = run(&[add(1), place(11)]).0.state_hash();
    let h3 = run(&[add(1), place(10)]).0.state_hash();
    assert_ne!(h1, h2);
    assert_eq!(h1, h3);
}

/// Same logical state through different histories: every order is placed in
/// the same sequence (so ids, time priority and counters agree) but the
/// orders that end up cancelled are cancelled at different moments, so the
/// survivors sit in different pool slots and levels in different level slots.
#[test]
fn state_hash_is_independent_of_slot_reuse() {
    let mut r = Rng::new(7);
    let n = 300u64;
    // Non-crossing orders on two instruments; ids 1..=n in placement order.
    let orders: Vec<Command> = (0..n)
        .map(|i| {
            let side = if r.below(2) == 0 { Side::Buy } else { Side::Sell };
            let d = 1 + r.below(40);
            let price = if side == Side::Buy { 1_000 - d } else { 1_000 + d };
            Command {
                account: r.below(8) as AccountId,
                timestamp_ns: i,
                kind: CommandKind::NewOrder(NewOrder {
                    client_order_id: 1_000 + i,
                    instrument: 1 + (i % 2) as InstrumentId,
                    side,
                    order_type: OrderType::Limit,
                    tif: TimeInForce::Gtc,
                    stp: StpMode::None,
                    price,
                    qty: 1 + r.below(50),
                }),
            }
        })
        .collect();
    let doomed: Vec<bool> = (0..n).map(|_| r.below(3) == 0).collect();
    let cancel = |i: u64, c: &Command| Command {
        account: c.account,
        timestamp_ns: 0,
        kind: CommandKind::Cancel(Cancel { order: OrderRef::Engine(i + 1) }),
    };
    // X: place everything, then cancel the doomed ones (newest first).
    let mut x = vec![add(1), add(2)];
    x.extend(orders.iter().copied());
    for i in (0..n).rev().filter(|&i| doomed[i as usize]) {
        x.push(cancel(i, &orders[i as usize]));
    }
    // Y: cancel each doomed order right after placing it, so its slot is reused at once.
    let mut y = vec![add(1), add(2)];
    for (i, c) in orders.iter().enumerate() {
        y.push(*c);
        if doomed[i] {
            y.push(cancel(i as u64, c));
        }
    }
    assert_eq!(x.len(), y.len(), "same number of commands, so the same last_seq");
    let (ex, evx) = run(&x);
    let (ey, evy) = run(&y);
    // Every command was accepted / every cancel found its order.
    for ev in evx.iter().chain(evy.iter()) {
        assert!(!ev.iter().any(|e| matches!(e.kind, EventKind::Rejected(_))), "{ev:?}");
    }
    for inst in [1, 2] {
        for side in [Side::Buy, Side::Sell] {
            assert_eq!(ex.book_orders(inst, side), ey.book_orders(inst, side));
            assert_eq!(ex.levels(inst, side), ey.levels(inst, side));
        }
    }
    for a in 0..8 {
        assert_eq!(ex.account_orders(a), ey.account_orders(a));
    }
    assert_eq!(ex.next_ids(), ey.next_ids());
    assert!(ex.live_orders() > 100);
    assert_eq!(ex.state_hash(), ey.state_hash());

    // Sanity: the same comparison with one survivor different is caught.
    let mut z = y.clone();
    let last_kept = (0..n as usize).rev().find(|&i| !doomed[i]).unwrap();
    let pos = z.iter().position(|c| *c == orders[last_kept]).unwrap();
    if let CommandKind::NewOrder(ref mut o) = z[pos].kind {
        o.qty += 1;
    }
    assert_ne!(run(&z).0.state_hash(), ex.state_hash());
}

/// Two histories reaching the same book where the level of an order was
/// emptied and re-created (a different level slot) and an amend re-queued.
#[test]
fn state_hash_same_after_level_recreated() {
    let place = |cid, side, price, qty| Command {
        account: 1,
        timestamp_ns: 0,
        kind: CommandKind::NewOrder(NewOrder::limit_gtc(cid, 1, side, price, qty)),
    };
    let cancel =
        |id| Command { account: 1, timestamp_ns: 0, kind: CommandKind::Cancel(Cancel { order: OrderRef::Engine(id) }) };
    let amend = |id, q| Command {
        account: 1,
        timestamp_ns: 0,
        kind: CommandKind::Amend(Amend { order: OrderRef::Engine(id), new_qty: Some(q), new_price: None }),
    };
    // X: 1@990, 2@980, 3@990; cancel 1; amend 2 down to 5.
    let x = [
        add(1),
        place(1, Side::Buy, 990, 10),
        place(2, Side::Buy, 980, 10),
        place(3, Side::Buy, 990, 7),
        cancel(1),
        amend(2, 5),
    ];
    // Y: 1@980 (cancelled: level 980 emptied), 2@980 (level re-created in another slot), 3@990, amend 2 up then ...
    let y = [
        add(1),
        place(1, Side::Buy, 980, 3),
        cancel(1),
        place(2, Side::Buy, 980, 5),
        place(3, Side::Buy, 990, 7),
        amend(2, 5),
    ];
    let (ex, _) = run(&x);
    let (ey, evy) = run(&y);
    // In Y the last amend changes nothing (rejected), in X it is a decrease: both end at last_seq 6.
    assert!(matches!(evy[5][0].kind, EventKind::Rejected(Rejected { reason: RejectReason::InvalidField, .. })));
    assert_eq!(ex.book_orders(1, Side::Buy), ey.book_orders(1, Side::Buy));
    assert_eq!(ex.state_hash(), ey.state_hash());
}
