//! The futures side allocates nothing in steady state either: after a warm-up, a further
//! 100k commands of a perpetual flow (resting and crossing orders, market and reduce-only
//! orders, stop-losses and take-profits on the mark price and their trigger amends, cancels,
//! amends, mark moves that fire stops and liquidate thin accounts, funding, deposits) make zero
//! heap allocations on this thread.
//!
//! The warm-up is long (two million commands) because the flow's book, its two trigger books
//! and each account's list of reduce-only orders grow to a high-water mark first; growing to
//! it allocates (with the mark-price stops in the flow, a million commands no longer reached
//! the reduce-only lists' high-water mark).
//!
//! One test per file, as no_alloc.rs: counting is per thread, and nothing else runs here.

mod alloc_counter;

use std::sync::atomic::Ordering;

use alloc_counter::{counting, ALLOCS};
use engine::*;

const FEE: AccountId = 0;
const FUND: AccountId = 1;
const ORACLE: AccountId = 2;
const FIRST: AccountId = 3;
const TRADERS: u32 = 24;
const USDT: AssetId = 1;
const BTC: InstrumentId = 1;
const MID: Price = 6_000_000;
const WARM_UP: u64 = 500_000;
const MEASURED: u64 = 100_000;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// A funding of -100..=100 ppm; those of a multiple of 10 ppm announce a next funding time
/// before the command (time 1: every command's timestamp is its sequence, ≥ 1), which is refused.
fn funding(r: &mut Rng) -> ApplyFunding {
    let rate_ppm = r.below(201) as i32 - 100;
    let next_funding_time_ns = if rate_ppm % 10 == 0 { 1 } else { 1 << 62 };
    ApplyFunding { instrument: BTC, rate_ppm, next_funding_time_ns }
}

struct Flow {
    rng: Rng,
    cid: u64,
    tx: u64,
    mark: Price,
}

impl Flow {
    fn next(&mut self) -> (AccountId, CommandKind) {
        let r = &mut self.rng;
        let account = FIRST + r.below(TRADERS as u64) as AccountId;
        let side = if r.below(2) == 0 { Side::Buy } else { Side::Sell };
        self.cid += 1;
        let order = |cid, order_type, tif, price, qty| NewOrder {
            client_order_id: cid,
            instrument: BTC,
            side,
            order_type,
            tif,
            stp: StpMode::None,
            price,
            qty,
        };
        let passive = |r: &mut Rng| match side {
            Side::Buy => self.mark - 10 * (1 + r.below(60)),
            Side::Sell => self.mark + 10 * (1 + r.below(60)),
        };
        let roll = r.below(100);
        let kind = match roll {
            0..=26 => {
                CommandKind::NewOrder(order(self.cid, OrderType::Limit, TimeInForce::Gtc, passive(r), 1 + r.below(40)))
            }
            27..=29 => {
                // A stop on the mark, 1 to 100 ticks away on the side it waits for: market or
                // limit, stop-loss or take-profit, some market ones reduce-only.
                let take_profit = r.below(2) == 0;
                let rise = take_profit == (side == Side::Sell);
                let away = 10 * (1 + r.below(100));
                let trigger_price = if rise { self.mark + away } else { self.mark - away };
                let trigger = if take_profit { TriggerKind::TakeProfit } else { TriggerKind::StopLoss };
                let (o, reduce_only) = match r.below(8) {
                    0 => (order(self.cid, OrderType::Market, TimeInForce::Ioc, 0, 1 + r.below(20)), true),
                    1..=3 => (order(self.cid, OrderType::Market, TimeInForce::Ioc, 0, 1 + r.below(20)), false),
                    _ => (order(self.cid, OrderType::Limit, TimeInForce::Gtc, trigger_price, 1 + r.below(20)), false),
                };
                CommandKind::NewAdvancedOrder(AdvancedOrder {
                    trigger: Some((trigger_price, trigger)),
                    trigger_source: TriggerSource::MarkPrice,
                    reduce_only,
                    ..AdvancedOrder::plain(o)
                })
            }
            30..=49 => {
                let p = if side == Side::Buy { self.mark + 200 } else { self.mark - 200 };
                CommandKind::NewOrder(order(self.cid, OrderType::Limit, TimeInForce::Ioc, p, 1 + r.below(40)))
            }
            50..=54 => CommandKind::NewOrder(order(self.cid, OrderType::Market, TimeInForce::Ioc, 0, 1 + r.below(20))),
            55..=57 => {
                let o = order(self.cid, OrderType::Limit, TimeInForce::Gtc, passive(r), 1 + r.below(20));
                CommandKind::NewAdvancedOrder(AdvancedOrder { reduce_only: true, ..AdvancedOrder::plain(o) })
            }
            58..=84 => {
                let cid = self.cid.saturating_sub(1 + r.below(1_000));
                CommandKind::Cancel(Cancel { order: OrderRef::Client(cid) })
            }
            85..=88 => {
                let cid = self.cid.saturating_sub(1 + r.below(1_000));
                let order = OrderRef::Client(cid);
                CommandKind::Amend(Amend { order, new_qty: Some(1 + r.below(40)), new_price: None })
            }
            89 => {
                let cid = self.cid.saturating_sub(1 + r.below(200));
                let trigger_price = passive(r);
                CommandKind::AmendTrigger(AmendTrigger { order: OrderRef::Client(cid), trigger_price })
            }
            90..=96 => {
                // A walk of the mark, pulled back toward the middle.
                let step = (r.below(41) as i64 - 20 + (MID as i64 - self.mark as i64) / 200_000) * 500;
                self.mark = (self.mark as i64 + step) as Price / 10 * 10;
                return (ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: BTC, mark_price: self.mark }));
            }
            97 => return (ORACLE, CommandKind::ApplyFunding(funding(r))),
            _ if r.below(30) != 0 => return (ORACLE, CommandKind::ApplyFunding(funding(r))),
            _ => {
                // Rare top-ups: liquidated traders come back with thin margins.
                self.tx += 1;
                let amount = 20_000 + r.below(100_000);
                return (
                    FEE,
                    CommandKind::MarginDeposit(Transfer { target: account, asset: USDT, amount, tx_id: self.tx }),
                );
            }
        };
        (account, kind)
    }
}

/// Applies one command as `account`, its events into the buffer.
type Apply<'a> = dyn FnMut(&mut Engine, AccountId, CommandKind, &mut Vec<Event>) + 'a;

#[test]
fn futures_steady_state_allocates_nothing() {
    let config = EngineConfig {
        risk_checks: true,
        insurance_account: FUND,
        oracle_account: ORACLE,
        max_transactions: 1 << 16,
        max_orders: 1 << 16,
        max_open_orders_per_account: 1 << 16,
        ..EngineConfig::small()
    };
    let mut e = Engine::new(config);
    let mut seq = 0;
    let mut out = Vec::with_capacity(1 << 16);
    let mut apply = |e: &mut Engine, account, kind, out: &mut Vec<Event>| {
        seq += 1;
        out.clear();
        e.apply(seq, &Command { account, timestamp_ns: seq, kind }, out);
    };
    let setup = |e: &mut Engine, apply: &mut Apply<'_>, out: &mut Vec<Event>| {
        for a in FIRST..FIRST + TRADERS {
            apply(
                e,
                FEE,
                CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active }),
                out,
            );
        }
        let high = |e: &mut Engine, apply: &mut Apply<'_>, out: &mut Vec<Event>| {
            // Half the traders at 100x: thin margins that mark moves liquidate.
            for a in (FIRST..FIRST + TRADERS).step_by(2) {
                apply(e, a, CommandKind::SetLeverage(SetLeverage { instrument: BTC, leverage: 100 }), out);
            }
        };
        let spec = InstrumentSpec { quote_asset: USDT, ..engine::examples::btc_perp_spec(BTC) };
        apply(e, FEE, CommandKind::AddPerpetual(spec), out);
        let fees = SetFeeSchedule { instrument: BTC, tier: 0, maker_ppm: -100, taker_ppm: 500 };
        apply(e, FEE, CommandKind::SetFeeSchedule(fees), out);
        for t in engine::examples::risk_tiers(BTC, &engine::examples::BINANCE_BTC_BRACKETS) {
            apply(e, FEE, CommandKind::SetRiskTier(t), out);
        }
        apply(
            e,
            FEE,
            CommandKind::SetInstrumentState(SetInstrumentState { instrument: BTC, state: InstrumentState::Trading }),
            out,
        );
        apply(
            e,
            FEE,
            CommandKind::MarginDeposit(Transfer { target: FUND, asset: USDT, amount: 50_000_000, tx_id: 1 << 40 }),
            out,
        );
        for a in FIRST..FIRST + TRADERS {
            let t = Transfer { target: a, asset: USDT, amount: 300_000, tx_id: (1 << 41) + a as u64 };
            apply(e, FEE, CommandKind::MarginDeposit(t), out);
        }
        high(e, apply, out);
    };
    setup(&mut e, &mut apply, &mut out);
    let mut flow = Flow { rng: Rng(0x9E37_79B9_7F4A_7C15), cid: 0, tx: 0, mark: MID };
    let (mut trades, mut liquidations, mut fired) = (0u64, 0u64, 0u64);
    for k in 0..WARM_UP + MEASURED {
        let (account, kind) = flow.next();
        if k == WARM_UP {
            ALLOCS.store(0, Ordering::Relaxed);
            counting(true);
        }
        apply(&mut e, account, kind, &mut out);
        for ev in &out {
            match ev.kind {
                EventKind::Trade(_) => trades += 1,
                EventKind::Liquidation(_) => liquidations += 1,
                EventKind::Triggered(_) if k >= WARM_UP => fired += 1,
                _ => {}
            }
        }
    }
    counting(false);
    let allocs = ALLOCS.load(Ordering::Relaxed);
    assert!(
        trades > 10_000 && liquidations >= 5 && fired >= 1_000,
        "the flow trades, liquidates and fires stops: {trades} trades, {liquidations} liquidations, \
         {fired} stops fired after warm-up"
    );
    assert_eq!(allocs, 0, "{allocs} allocations in {MEASURED} futures commands after warm-up");
}
