//! Pinned state hashes and event digests of seeded flows, computed on the
//! engine before the book's data structures were rebuilt for speed (issue
//! #14). Replay and snapshots compare `state_hash()` across versions, so a
//! faster book must give byte-identical events and the same hashes.
//!
//! The flows cover what a new book layout can get wrong: prices near and far
//! from the reference (outside any window around it), ticks other than 1,
//! levels emptied and recreated, deep levels, sweeps over many levels, STP,
//! amends, cancels by engine and client id, mass cancels, halts and closes,
//! and risk mode.

mod common;

use common::Rng;

use engine::*;
use xxhash_rust::xxh3::Xxh3;

/// How a flow spreads its prices and which commands it mixes.
#[derive(Clone, Copy)]
struct Shape {
    risk: bool,
    accounts: u32,
    instruments: u32,
    tick: u64,
    reference_ticks: u64,
    /// Most orders land within this many ticks of the reference.
    near_ticks: u64,
    /// One order in `far_every` lands up to `far_ticks` away.
    far_every: u64,
    far_ticks: u64,
    /// Percent of commands that are admin noise (states, mass cancels).
    admin_pct: u64,
    max_orders: u32,
}

fn config(s: &Shape) -> EngineConfig {
    EngineConfig {
        max_orders: s.max_orders,
        max_instruments: 8,
        max_accounts: s.accounts + 2,
        max_open_orders_per_account: s.max_orders,
        risk_checks: s.risk,
        max_assets: 16,
        fee_account: s.accounts + 1,
        max_transactions: 4096,
        insurance_account: engine::NO_ACCOUNT,
        oracle_account: engine::NO_ACCOUNT,
    }
}

fn spec(s: &Shape, id: InstrumentId) -> InstrumentSpec {
    InstrumentSpec {
        id,
        symbol: InstrumentSpec::symbol_from_str(&format!("P{id}")).expect("valid"),
        base_asset: 2 * id,
        quote_asset: 2 * id + 1,
        tick: s.tick,
        lot: 1,
        min_qty: 1,
        max_qty: 1_000_000,
        min_notional: 0,
        // Wide band so far prices are accepted.
        price_band_bps: 9_000,
        reference_price: s.reference_ticks * s.tick,
        qty_scale: 1,
    }
}

fn admin(kind: CommandKind) -> Command {
    Command { account: 0, timestamp_ns: 0, kind }
}

fn setup(s: &Shape) -> Vec<Command> {
    let mut v: Vec<Command> = (1..=s.instruments).map(|i| admin(CommandKind::AddInstrument(spec(s, i)))).collect();
    if s.risk {
        let mut tx_id = 0;
        for i in 1..=s.instruments {
            let f = SetFeeSchedule { instrument: i, tier: 0, maker_ppm: -100, taker_ppm: 500 };
            v.push(admin(CommandKind::SetFeeSchedule(f)));
        }
        for a in 1..=s.accounts {
            v.push(admin(CommandKind::CreateAccount(CreateAccount {
                target: a,
                tier: 0,
                status: AccountStatus::Active,
            })));
            for asset in 0..16 {
                tx_id += 1;
                v.push(admin(CommandKind::Deposit(Transfer { target: a, asset, amount: 1 << 40, tx_id })));
            }
        }
    }
    v
}

fn price(r: &mut Rng, s: &Shape, side: Side, crossing: bool) -> Price {
    let off = if r.below(s.far_every) == 0 { r.below(s.far_ticks) } else { r.below(s.near_ticks) };
    let ticks = match (side, crossing) {
        (Side::Buy, false) | (Side::Sell, true) => s.reference_ticks.saturating_sub(off + 1).max(1),
        (Side::Sell, false) | (Side::Buy, true) => s.reference_ticks + off + 1,
    };
    ticks * s.tick
}

fn stream(seed: u64, s: &Shape, n: usize) -> Vec<Command> {
    let mut r = Rng::new(seed);
    let mut out = setup(s);
    let stps =
        [StpMode::None, StpMode::None, StpMode::None, StpMode::CancelTaker, StpMode::CancelMaker, StpMode::CancelBoth];
    let mut next_cid = 1u64;
    let mut issued = 0u64;
    for i in 0..n {
        let account = 1 + r.below(s.accounts as u64) as AccountId;
        let inst = 1 + r.below(s.instruments as u64) as InstrumentId;
        let side = if r.below(2) == 0 { Side::Buy } else { Side::Sell };
        let recent_ref = |r: &mut Rng, next_cid: u64, issued: u64| {
            if r.below(2) == 0 {
                OrderRef::Client(next_cid.saturating_sub(1 + r.below(400)))
            } else {
                OrderRef::Engine(issued.saturating_sub(r.below(400)))
            }
        };
        let roll = r.below(100);
        let kind = if roll < s.admin_pct {
            match r.below(6) {
                0 => CommandKind::MassCancel(MassCancel {
                    instrument: (r.below(2) == 0).then_some(inst),
                    side: (r.below(2) == 0).then_some(side),
                }),
                1 => CommandKind::SetInstrumentState(SetInstrumentState {
                    instrument: inst,
                    state: InstrumentState::Halted,
                }),
                2 if inst == s.instruments && s.instruments > 1 && r.below(20) == 0 => {
                    CommandKind::SetInstrumentState(SetInstrumentState {
                        instrument: inst,
                        state: InstrumentState::Closed,
                    })
                }
                _ => CommandKind::SetInstrumentState(SetInstrumentState {
                    instrument: inst,
                    state: InstrumentState::Trading,
                }),
            }
        } else if roll < 55 {
            let crossing = r.below(10) == 0;
            let market = r.below(40) == 0;
            let tif = match r.below(20) {
                0 => TimeInForce::Ioc,
                1 => TimeInForce::Fok,
                2 => TimeInForce::PostOnly,
                _ => TimeInForce::Gtc,
            };
            let (order_type, tif, px) = if market {
                (OrderType::Market, TimeInForce::Ioc, 0)
            } else {
                (OrderType::Limit, tif, price(&mut r, s, side, crossing))
            };
            issued += 1;
            let cid = if r.below(50) == 0 { next_cid.saturating_sub(r.below(5)) } else { next_cid };
            next_cid += 1;
            let qty = if crossing { 1 + r.below(400) } else { 1 + r.below(50) };
            CommandKind::NewOrder(NewOrder {
                client_order_id: cid,
                instrument: inst,
                side,
                order_type,
                tif,
                stp: stps[r.below(stps.len() as u64) as usize],
                price: px,
                qty,
            })
        } else if roll < 85 {
            CommandKind::Cancel(Cancel { order: recent_ref(&mut r, next_cid, issued) })
        } else {
            let order = recent_ref(&mut r, next_cid, issued);
            let new_qty = (r.below(2) == 0).then(|| r.below(60));
            let crossing = r.below(8) == 0;
            let new_price = (r.below(2) == 0).then(|| price(&mut r, s, side, crossing));
            CommandKind::Amend(Amend { order, new_qty, new_price })
        };
        // Orders on other accounts' behalf are rejected (NotYourOrder): keep some.
        out.push(Command { account, timestamp_ns: 1_000 + i as u64, kind });
    }
    out
}

/// Runs a flow; returns the state hash every `every` commands, the final hash
/// and a digest of every event.
fn run(cmds: &[Command], cfg: EngineConfig, every: usize) -> (Vec<u128>, u128) {
    let mut e = Engine::new(cfg);
    let mut events = Vec::new();
    let mut digest = Xxh3::new();
    let mut hashes = Vec::new();
    for (i, c) in cmds.iter().enumerate() {
        events.clear();
        e.apply(i as u64 + 1, c, &mut events);
        for ev in &events {
            digest.update(format!("{ev:?}").as_bytes());
        }
        if (i + 1) % every == 0 {
            hashes.push(e.state_hash());
        }
    }
    hashes.push(e.state_hash());
    let (orders, trades) = e.next_ids();
    println!("{} live orders, {orders} order ids, {trades} trade ids", e.live_orders());
    (hashes, digest.digest128())
}

/// A digest of the hash checkpoints, so each pinned flow is one line.
fn fold(hashes: &[u128]) -> u128 {
    let mut h = Xxh3::new();
    for x in hashes {
        h.update(&x.to_le_bytes());
    }
    h.digest128()
}

fn check(name: &str, seed: u64, s: Shape, n: usize, want_final: u128, want_checkpoints: u128, want_events: u128) {
    let cmds = stream(seed, &s, n);
    let (hashes, events) = run(&cmds, config(&s), 97);
    let got = (*hashes.last().expect("final"), fold(&hashes), events);
    println!("{name}: final {:#x}, checkpoints {:#x}, events {:#x}", got.0, got.1, got.2);
    assert_eq!(got, (want_final, want_checkpoints, want_events), "{name}: hashes changed");
}

const NEAR: Shape = Shape {
    risk: false,
    accounts: 6,
    instruments: 3,
    tick: 1,
    reference_ticks: 10_000,
    near_ticks: 40,
    far_every: 50,
    far_ticks: 8_000,
    admin_pct: 2,
    max_orders: 1 << 14,
};

#[test]
fn near_and_far_prices() {
    check(
        "near_and_far",
        1,
        NEAR,
        30_000,
        0x372ad8b00a65d933d5b3ceae2441298a,
        0x7ae6d855c4c9bf4bfaecb51445bd134,
        0x33bdabce25766d5d1d55953c41acbb9f,
    );
}

#[test]
fn tick_five_wide_spread_one_account() {
    let s = Shape { accounts: 1, instruments: 1, tick: 5, near_ticks: 3_000, far_every: 10, ..NEAR };
    check(
        "tick_five_wide",
        2,
        s,
        30_000,
        0x9fe48e4e17ffe8c7982c2062f6df3f17,
        0x153da5a74ef3ca51191ed497f5e398ab,
        0xa62202046cdbbc630d32df42e6d7d211,
    );
}

#[test]
fn deep_narrow_book() {
    let s = Shape { accounts: 40, instruments: 2, near_ticks: 6, far_every: 1_000, admin_pct: 0, ..NEAR };
    check(
        "deep_narrow",
        3,
        s,
        40_000,
        0x13fdec8095333f33a4040decd31c8f3e,
        0xd2b0c21b9e15a22806366bd02e90a990,
        0x1c80cf940cb1921000ff7adb234df824,
    );
}

#[test]
fn risk_mode() {
    let s = Shape { risk: true, accounts: 8, ..NEAR };
    check(
        "risk_mode",
        4,
        s,
        20_000,
        0xded27777fa1646a56bd513aeaa021173,
        0x2f89d778a60c97c3d74cdc5650d7fda3,
        0x7b475446998e5349dd7a4e6f6a1b12cd,
    );
}

#[test]
fn low_reference_price() {
    // Prices near 1 tick: the bottom of the price range.
    let s = Shape { reference_ticks: 30, near_ticks: 25, far_every: 5, far_ticks: 29, ..NEAR };
    check(
        "low_reference",
        5,
        s,
        20_000,
        0x7ae67dee8e1e634b4cef05643bedcc96,
        0x3b1deada4e49fa425b8dc6987f9ce62,
        0xfac9e6a89bae847f115b3d4e4996faec,
    );
}
