//! Random futures flows for the reference model's property tests and the engine's differential
//! test: a two-perpetual market (BTC and ETH with Binance's first three BTCUSDT brackets) and a
//! generator of commands, mostly valid, some not.

use proptest::prelude::*;

use super::model::*;

pub const BTC: InstId = 1;
pub const ETH: InstId = 2;
pub const FUND: AccountId = 9;
pub const ORACLE: AccountId = 100;
/// Traders.
pub const A: AccountId = 0;
pub const B: AccountId = 1;
pub const C: AccountId = 2;
pub const D: AccountId = 3;

/// BTC-PERP of the examples: prices in USDT cents, qty in 0.001 BTC (qty_scale 1000), tick 10,
/// band 5%, mark 60,000.00, fees 0.02%/0.05%, Binance's first three BTCUSDT brackets.
pub fn btc_spec() -> PerpSpec {
    PerpSpec {
        inst: BTC,
        tick: 10,
        lot: 1,
        qty_scale: 1000,
        min_qty: 1,
        max_qty: 100_000,
        min_notional: 0,
        band_bps: 500,
        reference_price: 6_000_000,
        maker_ppm: 200,
        taker_ppm: 500,
    }
}

pub fn btc_tiers() -> [Tier; 3] {
    [
        Tier { max_notional: 5_000_000, max_leverage: 125, mmr_ppm: 4_000, maint_amount: 0 },
        Tier { max_notional: 25_000_000, max_leverage: 100, mmr_ppm: 5_000, maint_amount: 5_000 },
        Tier { max_notional: 100_000_000, max_leverage: 50, mmr_ppm: 10_000, maint_amount: 130_000 },
    ]
}

pub fn prop_model() -> Model {
    let mut m = Model::new(6, 5, ORACLE);
    for (id, reference) in [(BTC, 6_000_000u64), (ETH, 300_000)] {
        let spec = PerpSpec { inst: id, reference_price: reference, band_bps: 300, ..btc_spec() };
        assert!(!matches!(m.apply(&FCmd::AddPerpetual(spec))[0], FEvent::Rejected(_)));
        for (index, tier) in btc_tiers().into_iter().enumerate() {
            let tier = if id == ETH {
                Tier { max_notional: tier.max_notional / 10, maint_amount: tier.maint_amount / 10, ..tier }
            } else {
                tier
            };
            assert!(!matches!(m.apply(&FCmd::SetRiskTier { inst: id, index, tier })[0], FEvent::Rejected(_)));
        }
        assert!(!matches!(m.apply(&FCmd::SetTrading { inst: id, trading: true })[0], FEvent::Rejected(_)));
    }
    m
}

#[derive(Debug, Clone)]
pub enum Op {
    Deposit(u32, u32),
    Withdraw(u32, u32),
    Debit(u32, u32),
    Transfer(u32, u32, bool),
    Leverage(u32, bool, u32),
    Mode(u32, bool, bool),
    Iso(u32, bool, i32),
    /// account, eth, sell, offset from the last trade price (bps), size (tenths of a BTC-worth), reduce-only, ioc
    Limit(u32, bool, bool, i32, u16, bool, bool),
    Market(u32, bool, bool, u16, bool),
    Close(u32, bool, bool),
    Cancel(u32, u8),
    Mark(bool, i32, bool),
    /// eth, rate (ppm), from the oracle, the gateway's timestamp, the next funding time (see
    /// [`next_funding`]).
    Funding(bool, i32, bool, u32, u8),
    /// A mark-price stop: account, eth, sell, take-profit, trigger distance from the mark in
    /// bps on the side it waits for (negative: already reached), size, 0 plain / 1 reduce-only
    /// / 2 close-position, a stop-limit's limit offset from the trigger (bps) or market.
    Stop(u32, bool, bool, bool, i32, u16, u8, Option<i32>),
    /// Moves the `k`-th armed stop (by id) to a distance from the mark as `Stop`'s; sent by its
    /// owner, or by `u32`'s account when `k` is a multiple of 7.
    AmendTrigger(u32, u16, i32),
    /// Its owner cancels the `k`-th armed stop.
    CancelStop(u16),
}

pub fn op() -> impl Strategy<Value = Op> {
    let acct = 0u32..6; // 5 is the insurance fund
    let lev = prop::sample::select(vec![0u32, 1, 5, 10, 20, 50, 75, 100, 125, 130]);
    prop_oneof![
        3 => (0u32..5, 1u32..2_000_000).prop_map(|(a, x)| Op::Deposit(a, x)),
        1 => (5u32..6, 1u32..200_000).prop_map(|(a, x)| Op::Deposit(a, x)),
        1 => (acct.clone(), 1u32..300_000).prop_map(|(a, x)| Op::Withdraw(a, x)),
        1 => (acct.clone(), 1u32..100_000).prop_map(|(a, x)| Op::Debit(a, x)),
        1 => (acct.clone(), 1u32..100_000, any::<bool>()).prop_map(|(a, x, t)| Op::Transfer(a, x, t)),
        2 => (acct.clone(), any::<bool>(), lev).prop_map(|(a, i, l)| Op::Leverage(a, i, l)),
        1 => (acct.clone(), any::<bool>(), any::<bool>()).prop_map(|(a, i, m)| Op::Mode(a, i, m)),
        1 => (acct.clone(), any::<bool>(), -50_000i32..50_000).prop_map(|(a, i, d)| Op::Iso(a, i, d)),
        12 => (acct.clone(), any::<bool>(), any::<bool>(), -150i32..150, 1u16..200, prop::bool::weighted(0.15), any::<bool>())
            .prop_map(|(a, i, s, off, q, ro, ioc)| Op::Limit(a, i, s, off, q, ro, ioc)),
        4 => (acct.clone(), any::<bool>(), any::<bool>(), 1u16..200, prop::bool::weighted(0.15))
            .prop_map(|(a, i, s, q, ro)| Op::Market(a, i, s, q, ro)),
        1 => (acct.clone(), any::<bool>(), any::<bool>()).prop_map(|(a, i, s)| Op::Close(a, i, s)),
        1 => (acct.clone(), any::<u8>()).prop_map(|(a, k)| Op::Cancel(a, k)),
        6 => (any::<bool>(), -320i32..320, prop::bool::weighted(0.95)).prop_map(|(i, bps, o)| Op::Mark(i, bps, o)),
        1 => (any::<bool>(), -3_000i32..3_000, prop::bool::weighted(0.95), 1u32..u32::MAX, any::<u8>())
            .prop_map(|(i, r, o, at, next)| Op::Funding(i, r, o, at, next)),
        3 => (
            (acct.clone(), any::<bool>(), any::<bool>(), any::<bool>()),
            (-20i32..250, 1u16..200, 0u8..3, prop::option::weighted(0.3, -100i32..100)),
        )
            .prop_map(|((a, i, s, tp), (off, q, mode, limit))| Op::Stop(a, i, s, tp, off, q, mode, limit)),
        1 => (acct, any::<u16>(), -20i32..250).prop_map(|(a, k, off)| Op::AmendTrigger(a, k, off)),
        1 => any::<u16>().prop_map(Op::CancelStop),
    ]
}

/// The next funding time of a funding sent at `at_ns`, mostly valid (8 hours later): `pick` 0 is
/// "not given" (a previous release's record), 1 the command's own time and 2 a time before it
/// (both refused).
pub fn next_funding(at_ns: u64, pick: u8) -> u64 {
    match pick % 16 {
        0 => 0,
        1 => at_ns,
        2 => at_ns - 1,
        _ => at_ns + 8 * 3_600_000_000_000,
    }
}

/// Mostly valid reduce-only orders: on the closing side, at most the position (the generator
/// still sends some that would open, to reach the reject).
pub fn reduce_only_fit(m: &Model, a: AccountId, i: InstId, ro: bool, qty: u64, sell: bool) -> (u64, bool) {
    let z = m.pos(a, i).size;
    if !ro || z == 0 || qty.is_multiple_of(5) {
        return (qty, sell);
    }
    (qty.min(z.unsigned_abs() as u64), z > 0)
}

/// A trigger price `off` bps from the mark of `i` on the side a stop of that direction waits for
/// (above the mark for one that fires on a rise), on the tick.
pub fn trigger_from_mark(m: &Model, i: InstId, rise: bool, off: i32) -> u64 {
    let mk = m.mark(i) as i64;
    let d = mk * off as i64 / 10_000;
    ((if rise { mk + d } else { mk - d }) / 10 * 10).max(10) as u64
}

pub fn to_cmd(m: &Model, op: &Op, tx: &mut u64) -> FCmd {
    let inst = |eth: bool| if eth { ETH } else { BTC };
    let side = |sell: bool| if sell { Side::Sell } else { Side::Buy };
    // ETH is 1/20 of BTC's price: 20 times the quantity is the same notional.
    let size = |eth: bool, q: u16| q as u64 * if eth { 20 } else { 1 };
    let mut next_tx = || {
        *tx += 1;
        *tx
    };
    let new = |a, i, s, kind, qty, reduce_only, close_position| FCmd::NewOrder {
        account: a,
        inst: inst(i),
        side: side(s),
        kind,
        qty,
        reduce_only,
        close_position,
    };
    match *op {
        Op::Deposit(a, x) => FCmd::Deposit { account: a, amount: x as Money, tx_id: next_tx() },
        Op::Withdraw(a, x) => FCmd::Withdraw { account: a, amount: x as Money, tx_id: next_tx() },
        Op::Debit(a, x) => FCmd::AdminDebit { account: a, amount: x as Money, tx_id: next_tx() },
        Op::Transfer(a, x, t) => FCmd::WalletTransfer { account: a, amount: x as Money, to_futures: t },
        Op::Leverage(a, i, l) => FCmd::SetLeverage { account: a, inst: inst(i), leverage: l },
        Op::Mode(a, i, iso) => FCmd::SetMarginMode { account: a, inst: inst(i), isolated: iso },
        Op::Iso(a, i, d) => FCmd::AdjustIsolatedMargin { account: a, inst: inst(i), delta: d as Money },
        Op::Limit(a, i, s, off, q, ro, ioc) => {
            let last = m.insts[&inst(i)].last as i64;
            let price = ((last + last * off as i64 / 10_000) / 10 * 10).max(10) as u64;
            let (qty, s) = reduce_only_fit(m, a, inst(i), ro, size(i, q), s);
            new(a, i, s, OrderKind::Limit { price, ioc }, qty, ro, false)
        }
        Op::Market(a, i, s, q, ro) => {
            let (qty, s) = reduce_only_fit(m, a, inst(i), ro, size(i, q), s);
            new(a, i, s, OrderKind::Market, qty, ro, false)
        }
        Op::Close(a, i, s) => new(a, i, s, OrderKind::Market, 0, false, true),
        Op::Cancel(a, k) => FCmd::Cancel { account: a, order_id: (k as u64) % m.next_order.max(1) + 1 },
        Op::Mark(i, bps, oracle) => {
            let mk = m.mark(inst(i)) as i64;
            let mark = (mk + mk * bps as i64 / 10_000).max(0) as u64;
            FCmd::SetMarkPrice { sender: if oracle { ORACLE } else { 0 }, inst: inst(i), mark }
        }
        Op::Funding(i, r, oracle, at, next) => FCmd::ApplyFunding {
            sender: if oracle { ORACLE } else { 1 },
            inst: inst(i),
            rate_ppm: r as i128,
            at_ns: at as u64,
            next_ns: next_funding(at as u64, next),
        },
        Op::Stop(a, i, s, take_profit, off, q, mode, limit) => {
            let (qty, s) = match mode {
                1 => reduce_only_fit(m, a, inst(i), true, size(i, q), s),
                // A close-position stop on the closing side, if there is a position.
                2 => {
                    let z = m.pos(a, inst(i)).size;
                    (0, if z == 0 { s } else { z > 0 })
                }
                _ => (size(i, q), s),
            };
            let rise = take_profit == s;
            let trigger_price = trigger_from_mark(m, inst(i), rise, off);
            let kind = match limit {
                None => OrderKind::Market,
                Some(bps) => {
                    let t = trigger_price as i64;
                    OrderKind::Limit { price: ((t + t * bps as i64 / 10_000) / 10 * 10).max(10) as u64, ioc: false }
                }
            };
            let kind = if mode == 2 { OrderKind::Market } else { kind };
            FCmd::NewStop {
                account: a,
                inst: inst(i),
                side: side(s),
                kind,
                qty,
                trigger_price,
                take_profit,
                reduce_only: mode == 1,
                close_position: mode == 2,
            }
        }
        Op::AmendTrigger(a, k, off) => {
            let stops = m.stop_ids();
            if stops.is_empty() {
                return FCmd::AmendTrigger {
                    account: a,
                    order_id: k as u64 % m.next_order.max(1) + 1,
                    trigger_price: 10,
                };
            }
            let (id, owner) = stops[k as usize % stops.len()];
            let account = if k.is_multiple_of(7) { a } else { owner };
            let (i, rise) = m
                .insts
                .iter()
                .find_map(|(i, inst)| inst.stops.iter().find(|s| s.id == id).map(|s| (*i, s.rise)))
                .expect("listed");
            FCmd::AmendTrigger { account, order_id: id, trigger_price: trigger_from_mark(m, i, rise, off) }
        }
        Op::CancelStop(k) => {
            let stops = m.stop_ids();
            match stops.get(k as usize % stops.len().max(1)) {
                Some(&(order_id, account)) => FCmd::Cancel { account, order_id },
                None => FCmd::Cancel { account: 0, order_id: k as u64 % m.next_order.max(1) + 1 },
            }
        }
    }
}
