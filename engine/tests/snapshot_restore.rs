//! Snapshots: for random command streams, in matching-only and risk modes, snapshots taken at
//! random points restore to engines that behave exactly like the original: the same events for
//! every later command and the same `state_hash()` at the end. Also: a restored engine's
//! snapshot equals the one it came from (slot assignment is not part of the state),
//! `EngineSnapshot::state_hash` equals the engine's, the rkyv round trip is lossless and its
//! validation rejects damaged bytes, and `from_snapshot` rejects (never panics on) damaged
//! snapshots. The same for perpetual futures, driven by the futures model's random flows
//! (`futures_model/`): every damaged futures part is refused with its reason; and a format-5
//! snapshot (before the futures) still restores.

mod common;

use common::Rng;

#[path = "futures_model/engine_pair.rs"]
mod engine_pair;
#[path = "futures_model/flows.rs"]
#[allow(dead_code)]
mod flows;
#[path = "futures_model/model.rs"]
mod model;

use engine::*;

const ADMIN: AccountId = 0;
const FEE: AccountId = 15;
const INSTRUMENTS: [InstrumentId; 3] = [1, 2, 5];

fn cfg(risk: bool) -> EngineConfig {
    EngineConfig {
        max_orders: 300,
        max_instruments: 8,
        max_accounts: 16,
        max_open_orders_per_account: 40,
        risk_checks: risk,
        max_assets: 4,
        fee_account: FEE,
        max_transactions: 8,
        insurance_account: engine::NO_ACCOUNT,
        oracle_account: engine::NO_ACCOUNT,
    }
}

fn spec(id: InstrumentId) -> InstrumentSpec {
    InstrumentSpec {
        id,
        symbol: InstrumentSpec::symbol_from_str(&format!("I{id}-Q")).expect("symbol"),
        base_asset: id % 3 + 1,
        quote_asset: 0,
        tick: 5,
        lot: 10,
        min_qty: 10,
        max_qty: 5_000,
        min_notional: 0,
        price_band_bps: 2_000,
        reference_price: 1_000,
        qty_scale: 7,
    }
}

/// Generates one command aimed at the engine's current state.
fn gen(r: &mut Rng, e: &Engine, risk: bool, tx: &mut u64) -> Command {
    let account = 1 + r.below(7) as AccountId;
    let inst = INSTRUMENTS[r.below(3) as usize];
    let side = if r.chance(50) { Side::Buy } else { Side::Sell };
    let reference = e.instrument(inst).map_or(1_000, |v| v.reference_price);
    let live = |r: &mut Rng| -> Option<OrderView> {
        let i = INSTRUMENTS[r.below(3) as usize];
        let mut v = e.book_orders(i, Side::Buy);
        v.extend(e.book_orders(i, Side::Sell));
        if v.is_empty() {
            None
        } else {
            let k = r.below(v.len() as u64) as usize;
            Some(v[k])
        }
    };
    let price = |r: &mut Rng, side: Side| {
        let off = r.below(24) as i64 - 8;
        let off = if side == Side::Buy { -off } else { off };
        ((reference as i64 + off * 5).max(5) as u64) / 5 * 5
    };
    let roll = r.below(100);
    // Without risk checks the account commands' share goes to new orders.
    let roll = if !risk && (84..=96).contains(&roll) { roll - 84 } else { roll };
    let kind = match roll {
        0..=49 => {
            let (order_type, tif) = match r.below(20) {
                0..=11 => (OrderType::Limit, TimeInForce::Gtc),
                12 | 13 => (OrderType::Limit, TimeInForce::Ioc),
                14 => (OrderType::Limit, TimeInForce::Fok),
                15 | 16 => (OrderType::Limit, TimeInForce::PostOnly),
                17 | 18 => (OrderType::Market, TimeInForce::Ioc),
                _ => (OrderType::Market, TimeInForce::Fok),
            };
            let stp = StpMode::from_u8(r.below(4) as u8).expect("stp");
            let p = if order_type == OrderType::Market { 0 } else { price(r, side) };
            CommandKind::NewOrder(NewOrder {
                client_order_id: r.below(60),
                instrument: inst,
                side,
                order_type,
                tif,
                stp,
                price: p,
                qty: (1 + r.below(40)) * 10,
            })
        }
        50..=61 => match live(r) {
            Some(o) if r.chance(90) => {
                let order =
                    if r.chance(50) { OrderRef::Engine(o.order_id) } else { OrderRef::Client(o.client_order_id) };
                return Command { account: o.account, timestamp_ns: 0, kind: CommandKind::Cancel(Cancel { order }) };
            }
            _ => CommandKind::Cancel(Cancel { order: OrderRef::Engine(r.below(400)) }),
        },
        62..=79 => match live(r) {
            Some(o) => {
                let new_qty = r.chance(60).then(|| (1 + r.below(50)) * 10);
                let new_price = r.chance(60).then(|| price(r, o.side));
                let order =
                    if r.chance(70) { OrderRef::Engine(o.order_id) } else { OrderRef::Client(o.client_order_id) };
                return Command {
                    account: o.account,
                    timestamp_ns: 7,
                    kind: CommandKind::Amend(Amend { order, new_qty, new_price }),
                };
            }
            None => CommandKind::Amend(Amend { order: OrderRef::Engine(1), new_qty: Some(10), new_price: None }),
        },
        80..=81 if r.chance(40) => CommandKind::MassCancel(MassCancel {
            instrument: r.chance(50).then_some(inst),
            side: r.chance(50).then_some(side),
        }),
        82..=83 => {
            // Halts are short: a halted instrument is resumed by the next state command.
            let halted = INSTRUMENTS.iter().copied().find(|&i| {
                e.instrument(i)
                    .is_some_and(|v| matches!(v.state, InstrumentState::Halted | InstrumentState::CancelOnly))
            });
            let (instrument, state) = match halted {
                Some(i) if r.chance(90) => (i, InstrumentState::Trading),
                _ => match r.below(20) {
                    0..=2 => (inst, InstrumentState::Trading),
                    3..=10 => (inst, InstrumentState::Halted),
                    11..=18 => (inst, InstrumentState::CancelOnly),
                    // Closing is for good: only the third instrument is ever closed.
                    _ => (INSTRUMENTS[2], if r.chance(15) { InstrumentState::Closed } else { InstrumentState::Halted }),
                },
            };
            return admin(CommandKind::SetInstrumentState(SetInstrumentState { instrument, state }));
        }
        84..=91 if risk => {
            *tx += 1;
            let tx_id = if r.chance(10) { tx.saturating_sub(r.below(12)) } else { *tx };
            let t = Transfer { target: account, asset: r.below(5) as AssetId, amount: 1 + r.below(400_000), tx_id };
            return admin(if r.chance(75) { CommandKind::Deposit(t) } else { CommandKind::Withdraw(t) });
        }
        92..=93 if risk => {
            let status = if r.chance(90) { AccountStatus::Active } else { AccountStatus::Suspended };
            return admin(CommandKind::SetAccountStatus(SetAccountStatus {
                target: account,
                status,
                tier: r.below(3) as u8,
            }));
        }
        94..=95 if risk => {
            let taker_ppm = r.below(5_000) as i32;
            let maker_ppm = taker_ppm - r.below(8_000) as i32;
            return admin(CommandKind::SetFeeSchedule(SetFeeSchedule {
                instrument: inst,
                tier: r.below(3) as u8,
                maker_ppm,
                taker_ppm,
            }));
        }
        96 if risk => {
            return admin(CommandKind::CreateAccount(CreateAccount {
                target: 1 + r.below(10) as AccountId,
                tier: r.below(3) as u8,
                status: AccountStatus::Active,
            }))
        }
        97 => {
            // Credentials: set, rotate and revoke, some for accounts that do not exist (rejected).
            let target = r.below(12) as AccountId;
            return admin(if r.chance(30) {
                CommandKind::RevokeCredential(RevokeCredential { target })
            } else {
                let (salt, hash) = (r.below(256) as u8, r.below(256) as u8);
                CommandKind::SetCredential(SetCredential { target, salt: [salt; 16], hash: [hash; 32] })
            });
        }
        80..=81 => CommandKind::NewOrder(NewOrder {
            client_order_id: 100 + r.below(1000),
            instrument: inst,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            price: price(r, side),
            qty: (1 + r.below(40)) * 10,
        }),
        // Order lists: OCO, OTO, OTOCO around the reference (sells protected by a take-profit
        // above and a stop below; buys the other way).
        98 | 99 if r.chance(40) => {
            let off = |r: &mut Rng, up: bool| {
                let k = 5 * (1 + r.below(6));
                if up {
                    reference + k
                } else {
                    reference.saturating_sub(k).max(5)
                }
            };
            let sell = side == Side::Sell;
            let maker = ListLeg {
                order_type: OrderType::Limit,
                tif: TimeInForce::PostOnly,
                price: off(r, sell),
                trigger: None,
            };
            let stop = ListLeg {
                order_type: OrderType::Market,
                tif: TimeInForce::Ioc,
                price: 0,
                trigger: Some((off(r, !sell), TriggerKind::StopLoss)),
            };
            let qty = (1 + r.below(10)) * 10;
            let working = (side.opposite(), TimeInForce::Gtc, price(r, side.opposite()), qty);
            let cid = 3_000 + r.below(1000) * 3;
            let l = match r.below(3) {
                0 => OrderList::oco(cid, inst, side, qty, [maker, stop]),
                1 => OrderList::oto(cid, inst, working, side, qty, stop),
                _ => OrderList::otoco(cid, inst, working, side, qty, [maker, stop]),
            };
            CommandKind::NewOrderList(l)
        }
        // Conditional orders: trailing stops (ticks or bps, market or limit) and fixed stops.
        98 | 99 => {
            let order = NewOrder {
                client_order_id: 2_000 + r.below(1000),
                instrument: inst,
                side,
                order_type: OrderType::Market,
                tif: TimeInForce::Ioc,
                stp: StpMode::None,
                price: 0,
                qty: (1 + r.below(10)) * 10,
            };
            let order = if r.chance(50) {
                NewOrder { order_type: OrderType::Limit, tif: TimeInForce::Gtc, price: price(r, side), ..order }
            } else {
                order
            };
            if roll == 98 {
                let trailing = if r.chance(50) {
                    Trailing { delta: 1 + r.below(4) as u32, unit: TrailUnit::Ticks }
                } else {
                    Trailing { delta: 10 + r.below(100) as u32, unit: TrailUnit::Bps }
                };
                CommandKind::NewAdvancedOrder(AdvancedOrder {
                    trigger: Some((0, TriggerKind::StopLoss)),
                    trailing: Some(trailing),
                    ..AdvancedOrder::plain(order)
                })
            } else {
                let trigger = if r.chance(50) { TriggerKind::StopLoss } else { TriggerKind::TakeProfit };
                let rise = trigger.fires_on_rise(side);
                let k = 5 * (1 + r.below(6));
                let trigger_price = if rise { reference + k } else { reference.saturating_sub(k).max(5) };
                CommandKind::NewStopOrder(StopOrder { order, trigger_price, trigger })
            }
        }
        _ => CommandKind::QueryAccount(QueryAccount { target: account }),
    };
    Command { account, timestamp_ns: 1_000 + r.below(1000), kind }
}

fn admin(kind: CommandKind) -> Command {
    Command { account: ADMIN, timestamp_ns: 1, kind }
}

fn setup(risk: bool) -> Vec<Command> {
    let mut v: Vec<Command> = INSTRUMENTS.iter().map(|&i| admin(CommandKind::AddInstrument(spec(i)))).collect();
    if risk {
        for target in 1..=6 {
            v.push(admin(CommandKind::CreateAccount(CreateAccount {
                target,
                tier: (target % 3) as u8,
                status: AccountStatus::Active,
            })));
        }
        for (tier, maker_ppm, taker_ppm) in [(0, 1_000, 2_500), (1, -300, 700), (2, 0, 0)] {
            for &instrument in &INSTRUMENTS[..2] {
                v.push(admin(CommandKind::SetFeeSchedule(SetFeeSchedule { instrument, tier, maker_ppm, taker_ppm })));
            }
        }
        let mut tx = 1_000_000;
        for target in 1..=6 {
            for asset in 0..4 {
                tx += 1;
                v.push(admin(CommandKind::Deposit(Transfer { target, asset, amount: 5_000_000, tx_id: tx })));
            }
        }
    }
    v
}

/// Restores `e`'s snapshot and checks what can be checked at once.
fn restore(e: &Engine) -> Engine {
    let snap = e.snapshot();
    assert_eq!(snap.state_hash(), e.state_hash(), "EngineSnapshot::state_hash differs from the engine's");
    let r = Engine::from_snapshot(&snap).unwrap_or_else(|err| panic!("restore at seq {}: {err}", e.last_seq()));
    assert_eq!(r.state_hash(), e.state_hash(), "restored hash at seq {}", e.last_seq());
    assert_eq!(r.snapshot(), snap, "a restored engine's snapshot differs at seq {}", e.last_seq());
    let mut reused = EngineSnapshot::default();
    r.snapshot_into(&mut reused);
    r.snapshot_into(&mut reused);
    assert_eq!(reused, snap, "snapshot_into reusing a snapshot");
    assert_eq!(r.next_ids(), e.next_ids());
    assert_eq!(r.live_orders(), e.live_orders());
    for a in 0..16 {
        assert_eq!(r.account_orders(a), e.account_orders(a), "account {a} orders (order-id order)");
        assert_eq!(r.futures_wallet(a), e.futures_wallet(a), "account {a} futures wallet");
    }
    r
}

fn run(seed: u64, risk: bool, n: usize) {
    let mut r = Rng::new(seed);
    let mut e = Engine::new(cfg(risk));
    let mut seq = 0;
    let mut restored: Vec<Engine> = Vec::new();
    let setup = setup(risk);
    let total = setup.len() + n;
    let mut tx = 0u64;
    let mut most_live = 0;
    let points: Vec<usize> = (0..4).map(|_| r.below(total as u64) as usize).collect();
    for i in 0..total {
        if points.contains(&i) || (i == 0 && seed.is_multiple_of(2)) {
            restored.push(restore(&e));
        }
        let cmd = if i < setup.len() { setup[i] } else { gen(&mut r, &e, risk, &mut tx) };
        // Gaps in the sequence, as after the engine-config record.
        seq += 1 + (i % 3 == 0) as u64;
        let mut want = Vec::new();
        e.apply(seq, &cmd, &mut want);
        most_live = most_live.max(e.live_orders());
        for (k, x) in restored.iter_mut().enumerate() {
            let mut got = Vec::new();
            x.apply(seq, &cmd, &mut got);
            assert_eq!(got, want, "seed {seed} risk {risk}: restored engine {k} diverged at seq {seq} on {cmd:?}");
        }
    }
    restored.push(restore(&e));
    assert!(most_live >= 10, "seed {seed}: the stream should leave orders resting ({most_live})");
    for x in &restored {
        let (a, b) = (x.snapshot(), e.snapshot());
        assert_eq!(a.trail_tracks, b.trail_tracks, "seed {seed}: tracks");
        assert_eq!(a.trailing, b.trailing, "seed {seed}: trailing");
        assert_eq!(a.armed, b.armed, "seed {seed}: armed");
        assert_eq!(a, b, "seed {seed}: snapshot");
        assert_eq!(x.state_hash(), e.state_hash(), "seed {seed}: final hash");
    }
    // The rkyv round trip, validated.
    let snap = e.snapshot();
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&snap).expect("serialize");
    let back = rkyv::from_bytes::<EngineSnapshot, rkyv::rancor::Error>(&bytes).expect("validate + deserialize");
    assert_eq!(back, snap);
    assert_eq!(Engine::from_snapshot(&back).expect("restore").state_hash(), e.state_hash());
}

#[test]
fn restored_engines_match_the_original_matching_only() {
    for seed in 0..40 {
        run(seed, false, 700);
    }
}

#[test]
fn restored_engines_match_the_original_risk_mode() {
    for seed in 100..140 {
        run(seed, true, 700);
    }
}

#[test]
fn empty_and_fresh_engines_round_trip() {
    for risk in [false, true] {
        let e = Engine::new(cfg(risk));
        let r = restore(&e);
        assert_eq!(r.config(), e.config());
    }
}

/// Builds a busy risk-mode engine and returns it.
fn busy(seed: u64, risk: bool) -> Engine {
    let mut r = Rng::new(seed);
    let mut e = Engine::new(cfg(risk));
    let mut tx = 0;
    let mut seq = 0;
    for c in setup(risk) {
        seq += 1;
        e.apply(seq, &c, &mut Vec::new());
    }
    for _ in 0..600 {
        let c = gen(&mut r, &e, risk, &mut tx);
        seq += 1;
        e.apply(seq, &c, &mut Vec::new());
    }
    e
}

#[test]
fn damaged_snapshots_are_rejected_not_panicking() {
    for risk in [false, true] {
        // Seeds whose end state has resting, fixed-trigger and trailing orders and order lists.
        let e = busy(if risk { 3 } else { 42 }, risk);
        let snap = e.snapshot();
        assert!(snap.orders.len() > 10, "needs resting orders ({})", snap.orders.len());
        assert!(
            !snap.trailing.is_empty() && snap.armed.len() > snap.trailing.len(),
            "needs armed orders of both kinds"
        );
        let mut r = Rng::new(99);
        let mut rejected = 0;
        for k in 0..3000 {
            let mut s = snap.clone();
            mutate(&mut s, &mut r);
            // Must not panic; either rejected or a consistent (different) state.
            match Engine::from_snapshot(&s) {
                Err(_) => rejected += 1,
                Ok(x) => {
                    assert_eq!(x.snapshot().state_hash(), x.state_hash(), "mutation {k}");
                }
            }
        }
        assert!(rejected > 1500, "risk {risk}: only {rejected} of 3000 damaged snapshots rejected");
    }
}

fn mutate(s: &mut EngineSnapshot, r: &mut Rng) {
    let pick = |r: &mut Rng, n: usize| r.below(n as u64) as usize;
    let v = match r.below(3) {
        0 => 0,
        1 => r.next(),
        _ => r.below(8),
    };
    match r.below(29) {
        0 if !s.orders.is_empty() => {
            let i = pick(r, s.orders.len());
            s.orders[i].leaves = v
        }
        1 if !s.orders.is_empty() => {
            let i = pick(r, s.orders.len());
            s.orders[i].order_id = v
        }
        2 if !s.orders.is_empty() => {
            let i = pick(r, s.orders.len());
            s.orders[i].account = v as u32
        }
        3 if !s.orders.is_empty() => {
            let i = pick(r, s.orders.len());
            s.orders[i].tif = v as u8
        }
        4 if !s.levels.is_empty() => {
            let i = pick(r, s.levels.len());
            s.levels[i].price = v
        }
        5 if !s.levels.is_empty() => {
            let i = pick(r, s.levels.len());
            s.levels[i].order_count = v as u32
        }
        6 if !s.levels.is_empty() => {
            let i = pick(r, s.levels.len());
            s.levels[i].total_qty = v
        }
        7 if !s.instruments.is_empty() => {
            let i = pick(r, s.instruments.len());
            s.instruments[i].bid_levels = v as u32
        }
        8 if !s.instruments.is_empty() => {
            let i = pick(r, s.instruments.len());
            s.instruments[i].spec.tick = v
        }
        9 if !s.instruments.is_empty() => {
            let i = pick(r, s.instruments.len());
            s.instruments[i].spec.id = v as u32
        }
        10 if !s.accounts.is_empty() => {
            let i = pick(r, s.accounts.len());
            s.accounts[i].open_orders = v as u32
        }
        11 if !s.accounts.is_empty() => {
            let i = pick(r, s.accounts.len());
            s.accounts[i].id = v as u32
        }
        12 if !s.balances.is_empty() => {
            let i = pick(r, s.balances.len());
            s.balances[i].reserved = v
        }
        13 if !s.balances.is_empty() => {
            let i = pick(r, s.balances.len());
            s.balances[i].available = v
        }
        14 if !s.order_risk.is_empty() => {
            let i = pick(r, s.order_risk.len());
            s.order_risk[i].reserved = v
        }
        15 if !s.order_risk.is_empty() => {
            let i = pick(r, s.order_risk.len());
            s.order_risk[i].frac = v
        }
        // Capacities only shrink here: a huge one is a (valid) huge allocation.
        16 => s.config.max_orders = (s.orders.len() as u64).min(v) as u32,
        17 => s.next_order_id = v,
        18 if !s.orders.is_empty() => {
            let i = pick(r, s.orders.len());
            s.orders.remove(i);
        }
        19 if !s.orders.is_empty() => {
            let i = pick(r, s.orders.len());
            let o = s.orders[i];
            s.orders.push(o);
        }
        20 => s.tx_ids.push(s.tx_ids.first().copied().unwrap_or(v)),
        21 if !s.trailing.is_empty() => {
            let i = pick(r, s.trailing.len());
            s.trailing[i].epoch = v
        }
        22 if !s.trailing.is_empty() => {
            let i = pick(r, s.trailing.len());
            s.trailing[i].delta = v as u32
        }
        23 if !s.trailing.is_empty() => {
            let i = pick(r, s.trailing.len());
            s.trailing.swap(0, i)
        }
        24 if !s.trail_tracks.is_empty() => {
            let t = pick(r, s.trail_tracks.len());
            let i = pick(r, s.trail_tracks[t].entries.len());
            s.trail_tracks[t].entries[i].peak = v
        }
        25 if !s.trail_tracks.is_empty() => {
            let t = pick(r, s.trail_tracks.len());
            let i = pick(r, s.trail_tracks[t].entries.len());
            s.trail_tracks[t].entries[i].orders = v as u32
        }
        26 if !s.armed.is_empty() => {
            let i = pick(r, s.armed.len());
            s.armed[i].trigger_price = v
        }
        27 if !s.list_members.is_empty() => {
            let i = pick(r, s.list_members.len());
            match r.below(3) {
                0 => s.list_members[i].role = v as u8,
                1 => s.list_members[i].list_id = v,
                _ => s.list_members[i].kind = v as u8,
            }
        }
        _ => s.supply.push(v),
    }
}

#[test]
fn rkyv_validation_rejects_damaged_bytes() {
    let snap = busy(3, true).snapshot();
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&snap).expect("serialize");
    let mut r = Rng::new(5);
    let mut rejected = 0;
    for _ in 0..2000 {
        let mut b = rkyv::util::AlignedVec::<16>::new();
        let len = bytes.len();
        match r.below(3) {
            // Truncation: the root moves, pointers leave the buffer.
            0 => b.extend_from_slice(&bytes[..r.below(len as u64) as usize]),
            _ => {
                b.extend_from_slice(&bytes);
                let i = r.below(len as u64) as usize;
                b[i] ^= 1 << r.below(8);
            }
        }
        match rkyv::from_bytes::<EngineSnapshot, rkyv::rancor::Error>(&b) {
            Err(_) => rejected += 1,
            // A flip inside plain data validates; the restore checks catch what matters (but a
            // flipped capacity would be a real, huge allocation: the file CRC guards those).
            Ok(s) if s.config == snap.config => drop(Engine::from_snapshot(&s)),
            Ok(_) => {}
        }
    }
    assert!(rejected > 0);
}

// ===== Perpetual futures =====================================================================

use engine_pair::Pair;
use proptest::strategy::{Strategy, ValueTree};

/// `n` random futures flows (the differential test's generator), the same on every run.
fn futures_flows(n: usize) -> Vec<Vec<flows::Op>> {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let flow = proptest::collection::vec(flows::op(), 150..250);
    (0..n).map(|_| flow.new_tree(&mut runner).expect("a flow").current()).collect()
}

/// What the futures snapshots taken met (so the checks are not vacuous).
#[derive(Debug, Default)]
struct Reached {
    positions: usize,
    isolated: usize,
    keyed: usize,
    resting: usize,
    reduce_only: usize,
    liquidations: usize,
    /// Perpetuals with an announced funding (rate and next funding time).
    announced: usize,
}

impl Reached {
    fn note(&mut self, s: &EngineSnapshot) {
        let f = &s.futures;
        self.positions += f.positions.iter().filter(|q| q.size != 0).count();
        self.isolated += f.positions.iter().filter(|q| q.isolated && q.size != 0).count();
        self.keyed += f.positions.iter().filter(|q| q.key != 0).count();
        self.resting += f.positions.iter().map(|q| q.orders as usize).sum::<usize>();
        self.reduce_only += f.reduce_only.len();
        self.announced += f.perps.iter().filter(|m| m.next_funding_time_ns != 0).count();
    }
}

/// The engine after `ops` (the same history, so the same state, index included).
fn replay(ops: &[flows::Op]) -> Pair {
    let mut pair = Pair::new();
    let mut tx = 0;
    for op in ops {
        let cmd = flows::to_cmd(&pair.model, op, &mut tx);
        pair.step_raw(&cmd);
    }
    pair
}

/// Oracle mark moves down, then up, on both perpetuals, to cross the keys in reach: the
/// restored engine's liquidation index must find exactly the accounts the original's finds
/// (the flow's own commands rarely cross a key the snapshot holds before they touch its
/// account). Returns the liquidations seen.
fn sweep_marks(original: &mut Engine, restored: &mut Engine, mut seq: u64, flow: u64) -> usize {
    let mut liquidations = 0;
    for (instrument, bps, steps) in
        [(flows::BTC, -290i64, 6), (flows::ETH, -290, 6), (flows::BTC, 290, 12), (flows::ETH, 290, 12)]
    {
        for _ in 0..steps {
            let mark = original.mark_price(instrument).expect("a perpetual") as i64;
            let mark_price = (mark + mark * bps / 10_000) as u64;
            let kind = CommandKind::SetMarkPrice(SetMarkPrice { instrument, mark_price });
            let c = Command { account: engine_pair::ORACLE_E, timestamp_ns: seq, kind };
            seq += 1;
            let (mut want, mut got) = (Vec::new(), Vec::new());
            original.apply(seq, &c, &mut want);
            restored.apply(seq, &c, &mut got);
            assert_eq!(got, want, "flow {flow}: restored engine diverged on a mark move at seq {seq}");
            liquidations += want.iter().filter(|e| matches!(e.kind, EventKind::Liquidation(_))).count();
        }
    }
    assert_eq!(restored.state_hash(), original.state_hash(), "flow {flow}: after the mark moves");
    liquidations
}

/// One flow: snapshots at a few random points (and after the setup) restore to engines that emit
/// exactly the original's events for every later command and end with its state hash.
fn run_futures(ops: &[flows::Op], seed: u64, reached: &mut Reached) {
    let mut r = Rng::new(seed);
    let mut pair = Pair::new();
    let mut restored = vec![restore(&pair.engine)];
    let points: Vec<usize> = (0..4).map(|_| r.below(ops.len() as u64) as usize).collect();
    let mut tx = 0;
    for (i, op) in ops.iter().enumerate() {
        if points.contains(&i) {
            reached.note(&pair.engine.snapshot());
            restored.push(restore(&pair.engine));
            let mut twin = replay(&ops[..i]);
            let mut copy = Engine::from_snapshot(&pair.engine.snapshot()).expect("restores");
            reached.liquidations += sweep_marks(&mut twin.engine, &mut copy, twin.seq, seed);
        }
        let cmd = flows::to_cmd(&pair.model, op, &mut tx);
        let (c, want, _) = pair.step_raw(&cmd);
        for (k, x) in restored.iter_mut().enumerate() {
            let mut got = Vec::new();
            x.apply(pair.seq, &c, &mut got);
            assert_eq!(got, want, "flow {seed}: restored engine {k} diverged at seq {} on {c:?}", pair.seq);
        }
    }
    restored.push(restore(&pair.engine));
    let end = pair.engine.snapshot();
    for x in &restored {
        assert_eq!(x.snapshot(), end, "flow {seed}: snapshot at the end");
        assert_eq!(x.state_hash(), pair.engine.state_hash(), "flow {seed}: final hash");
    }
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&end).expect("serialize");
    let back = rkyv::from_bytes::<EngineSnapshot, rkyv::rancor::Error>(&bytes).expect("validate + deserialize");
    assert_eq!(back, end, "flow {seed}: rkyv round trip");
}

#[test]
fn restored_futures_engines_match_the_original() {
    let mut reached = Reached::default();
    for (k, ops) in futures_flows(40).iter().enumerate() {
        run_futures(ops, 500 + k as u64, &mut reached);
    }
    let Reached { positions, isolated, keyed, resting, reduce_only, liquidations, announced } = reached;
    assert!(
        positions > 20
            && isolated > 0
            && keyed > 20
            && resting > 20
            && reduce_only > 0
            && liquidations > 20
            && announced > 10,
        "the snapshots should hold positions, isolated ones, keys, resting and reduce-only orders, announced \
         fundings, and the mark moves after them liquidate: {reached:?}",
        reached = (positions, isolated, keyed, resting, reduce_only, liquidations, announced)
    );
}

/// A futures engine whose snapshot has an isolated position, an account whose only cross
/// position is open, a flat position record in use, resting orders and a reduce-only order.
fn busy_futures() -> Engine {
    for ops in futures_flows(60) {
        let mut pair = Pair::new();
        let mut tx = 0;
        for op in &ops {
            let cmd = flows::to_cmd(&pair.model, op, &mut tx);
            pair.step_raw(&cmd);
            let s = pair.engine.snapshot();
            if find(&s, Find::Isolated).is_some()
                && find(&s, Find::OnlyCross).is_some()
                && find(&s, Find::FlatRecord).is_some()
                && find(&s, Find::OpenOrders).is_some()
                && !s.futures.reduce_only.is_empty()
            {
                return pair.engine;
            }
        }
    }
    panic!("no flow reached a state with every kind of futures record");
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Find {
    Isolated,
    OnlyCross,
    FlatRecord,
    OpenOrders,
    Long,
}

/// The index in `positions` of a position record of the kind asked for.
fn find(s: &EngineSnapshot, what: Find) -> Option<usize> {
    let f = &s.futures;
    let mut b = 0;
    for m in &f.margin {
        let range = b..b + m.positions as usize;
        b = range.end;
        let cross = f.positions[range.clone()].iter().filter(|q| !q.isolated && q.size != 0).count();
        for i in range {
            let q = &f.positions[i];
            let hit = match what {
                Find::Isolated => q.isolated && q.size != 0,
                Find::OnlyCross => !q.isolated && q.size != 0 && cross == 1 && q.key != 0,
                Find::FlatRecord => q.size == 0,
                Find::OpenOrders => q.open[0].qty != 0 || q.open[1].qty != 0,
                Find::Long => q.size > 0 && q.key != 0,
            };
            if hit {
                return Some(i);
            }
        }
    }
    None
}

/// Restores `s`, which must be refused with a message containing `why`.
fn refused(s: &EngineSnapshot, why: &str, what: &str) {
    match Engine::from_snapshot(s) {
        Ok(_) => panic!("{what}: restored"),
        Err(SnapshotError::Inconsistent(m)) => assert!(m.contains(why), "{what}: refused for {m:?}, not {why:?}"),
    }
}

#[test]
fn damaged_futures_parts_are_refused() {
    let e = busy_futures();
    let good = e.snapshot();
    assert_eq!(Engine::from_snapshot(&good).expect("the snapshot restores").state_hash(), e.state_hash());
    let at = |what| find(&good, what).expect("a record of each kind");
    let mut cases: Vec<(&str, &str, EngineSnapshot)> = Vec::new();
    let mut case = |what, why, f: &dyn Fn(&mut EngineSnapshot)| {
        let mut s = good.clone();
        f(&mut s);
        cases.push((what, why, s));
    };
    let (iso, only, flat, open) = (at(Find::Isolated), at(Find::OnlyCross), at(Find::FlatRecord), at(Find::OpenOrders));
    case("isolated key moved", "is not its liquidation price", &|s| s.futures.positions[iso].key += 10);
    case("only cross key moved", "is not its liquidation price", &|s| {
        // Away from the mark, so that it is not crossed: the check at hand is the exact price.
        let q = &mut s.futures.positions[only];
        q.key = if q.size > 0 { q.key / 2 } else { q.key * 2 };
    });
    case("key on a flat record", "implausible position", &|s| s.futures.positions[flat].key = 1);
    if let Some(long) = find(&good, Find::Long) {
        case("crossed key", "crossed by the mark", &|s| {
            let p = s.futures.positions[long].perp as usize;
            s.futures.positions[long].key = s.futures.perps[p].mark;
        });
    }
    case("open quantity", "its resting orders make", &|s| s.futures.positions[open].open[0].qty += 1);
    case("open notional", "its resting orders make", &|s| s.futures.positions[open].open[1].notional += 1);
    case("order count", "its resting orders make", &|s| s.futures.positions[open].orders += 1);
    case("perpetual index out of range", "out of range or out of order", &|s| {
        let n = s.futures.perps.len() as u32;
        let last = s.futures.positions.len() - 1;
        s.futures.positions[last].perp = n;
    });
    case("positions past the end", "positions past the end", &|s| s.futures.margin[0].positions = u32::MAX);
    case("an account that does not exist", "not an account", &|s| {
        s.futures.margin.last_mut().expect("a futures account").account = 127
    });
    case("open interest", "open interest", &|s| s.futures.perps[0].open_interest += 1);
    case("a size", "longs and shorts differ", &|s| s.futures.positions[iso].size += 1);
    case("a wallet", "balances and futures sum to", &|s| s.futures.margin[0].wallet += 1);
    case("a mark of 0", "mark 0 out of range", &|s| s.futures.perps[0].mark = 0);
    case("a discontinuous tier", "does not follow", &|s| s.futures.perps[0].tiers[1].maint_amount += 1);
    case("a perpetual listed twice", "two perpetuals", &|s| {
        let p = s.futures.perps[0].clone();
        s.futures.perps.push(p);
    });
    case("an unknown instrument", "is not listed", &|s| s.futures.perps[1].instrument = 7);
    case("a funding rate without a funding time", "funding rate 5 with next funding time 0", &|s| {
        s.futures.perps[0].funding_rate_ppm = 5;
        s.futures.perps[0].next_funding_time_ns = 0;
    });
    case("a funding rate of 100%", "funding rate -1000000", &|s| {
        s.futures.perps[0].funding_rate_ppm = -1_000_000;
        s.futures.perps[0].next_funding_time_ns = 1;
    });
    case("a reduce-only order that is not", "reduce-only orders listed", &|s| s.futures.reduce_only.push(u64::MAX));
    case("reduce-only orders forgotten", "its resting orders make", &|s| {
        // A forgotten flag counts the order in its side's aggregate.
        s.futures.reduce_only.clear();
    });
    case("no insurance fund", "without an insurance fund", &|s| s.config.insurance_account = NO_ACCOUNT);
    case("a perpetual order's price", "is not its rates and its price", &|s| {
        let p = s.instruments.iter().position(|i| i.spec.id == flows::BTC).expect("BTC");
        let before: usize = s.instruments[..p].iter().map(|i| i.bid_levels as usize + i.ask_levels as usize).sum();
        let first_order: usize = s.levels[..before].iter().map(|l| l.order_count as usize).sum();
        s.order_risk[first_order].settled += 10;
    });
    case("futures state without perpetuals", "without a perpetual", &|s| s.futures.perps.clear());
    for (what, why, s) in &cases {
        refused(s, why, what);
    }
}

#[test]
fn damaged_futures_snapshots_are_rejected_not_panicking() {
    let good = busy_futures().snapshot();
    let mut r = Rng::new(7);
    let mut rejected = 0;
    for k in 0..3000 {
        let mut s = good.clone();
        mutate_futures(&mut s, &mut r);
        match Engine::from_snapshot(&s) {
            Err(_) => rejected += 1,
            Ok(x) => assert_eq!(x.snapshot().state_hash(), x.state_hash(), "mutation {k}"),
        }
    }
    assert!(rejected > 2000, "only {rejected} of 3000 damaged futures snapshots rejected");
}

fn mutate_futures(s: &mut EngineSnapshot, r: &mut Rng) {
    let f = &mut s.futures;
    let pick = |r: &mut Rng, n: usize| r.below(n as u64) as usize;
    let v = match r.below(3) {
        0 => 0,
        1 => r.next(),
        _ => r.below(8),
    };
    let (p, q, m) = (pick(r, f.perps.len()), pick(r, f.positions.len()), pick(r, f.margin.len()));
    match r.below(17) {
        0 => f.positions[q].size = v as i64,
        1 => f.positions[q].cost = v as i64,
        2 => f.positions[q].iso = v as i64,
        3 => f.positions[q].key = v,
        4 => f.positions[q].perp = v as u32,
        5 => f.positions[q].leverage = v as u32,
        6 => f.positions[q].isolated ^= true,
        7 => f.positions[q].orders = v as u32,
        8 => f.positions[q].open[pick(r, 2)].qty = v,
        9 => f.margin[m].account = v as u32,
        10 => f.margin[m].positions = v as u32,
        11 => f.margin[m].wallet = v as i64,
        12 => f.perps[p].mark = v,
        13 => f.perps[p].open_interest = v,
        14 => {
            let t = pick(r, f.perps[p].tiers.len());
            f.perps[p].tiers[t].max_leverage = v as u32
        }
        15 => f.reduce_only.push(v),
        _ => f.perps[p].funding_rate_ppm = v as i32,
    }
}

#[test]
fn a_format_5_snapshot_still_restores() {
    // A spot state (what format 5 could hold): archived as format 5, read back and converted.
    let e = busy(3, true);
    let snap = e.snapshot();
    let v5 = EngineSnapshotV5::from_current(&snap).expect("no futures state");
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&v5).expect("serialize");
    let read = rkyv::from_bytes::<EngineSnapshotV5, rkyv::rancor::Error>(&bytes).expect("validate + deserialize");
    let back = EngineSnapshot::from(read);
    assert_eq!(back, snap);
    assert_eq!(back.config.insurance_account, NO_ACCOUNT);
    assert_eq!(back.state_hash(), e.state_hash(), "a format-5 state hashes as before");
    assert_eq!(Engine::from_snapshot(&back).expect("restores").state_hash(), e.state_hash());
    // Format 5 cannot hold futures state, nor a config naming the fund or the oracle.
    let futures = busy_futures().snapshot();
    assert!(EngineSnapshotV5::from_current(&futures).is_none());
    let named = EngineSnapshot { config: ConfigSnapshot { oracle_account: 3, ..snap.config }, ..snap.clone() };
    assert!(EngineSnapshotV5::from_current(&named).is_none());
    assert!(EngineSnapshotV4::from_current(&named).is_none());
}

#[test]
fn a_format_6_snapshot_still_restores() {
    // A futures state no funding announced a time in (what format 6 could hold): archived as
    // format 6, read back and converted, it is the same state and hashes as before.
    let mut snap = busy_futures().snapshot();
    for m in &mut snap.futures.perps {
        (m.funding_rate_ppm, m.next_funding_time_ns) = (0, 0);
    }
    let e = Engine::from_snapshot(&snap).expect("restores");
    let v6 = EngineSnapshotV6::from_current(&snap).expect("no announced funding");
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&v6).expect("serialize");
    let read = rkyv::from_bytes::<EngineSnapshotV6, rkyv::rancor::Error>(&bytes).expect("validate + deserialize");
    let back = EngineSnapshot::from(read);
    assert_eq!(back, snap);
    assert!(!back.futures.perps.is_empty());
    assert_eq!(back.state_hash(), e.state_hash(), "a format-6 state hashes as before");
    assert_eq!(Engine::from_snapshot(&back).expect("restores").state_hash(), e.state_hash());
    // Format 6 cannot hold an announced funding.
    let mut announced = snap.clone();
    announced.futures.perps[0].next_funding_time_ns = 1;
    assert!(EngineSnapshotV6::from_current(&announced).is_none());
    assert_ne!(announced.state_hash(), snap.state_hash(), "an announced funding is in the hash");
}

#[test]
fn the_insurance_fund_and_oracle_accounts_are_restored() {
    let e = Pair::new().engine;
    let r = restore(&e);
    assert_eq!(r.config(), e.config());
    assert!(r.config().insurance_account != NO_ACCOUNT && r.config().oracle_account != NO_ACCOUNT);
    let mut s = e.snapshot();
    s.config.insurance_account = s.config.fee_account;
    refused(&s, "insurance fund account", "the fee account as the fund");
}
