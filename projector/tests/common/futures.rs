//! The futures side of the tests: a deterministic random perpetual flow for synthetic journals
//! (thin margins, marks that crash, funding, transfers, isolated positions: liquidations through
//! the book, takeovers and auto-deleveraging), and the differential check of the futures tables
//! against a replay of the journal.
#![allow(dead_code)]

use std::collections::BTreeSet;

use engine::*;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

use super::{replay, Db};

/// The perpetual of the flows.
pub const PERP: InstrumentId = 1;
/// Its margin asset.
pub const USDT: AssetId = 2;
/// The insurance fund and the oracle of [`futures_config`].
pub const FUND: AccountId = 9;
pub const ORACLE: AccountId = 8;
const MID: u64 = 6_000_000;

/// Engine capacities and special accounts of the synthetic futures journals.
pub fn futures_config() -> EngineConfig {
    EngineConfig { risk_checks: true, insurance_account: FUND, oracle_account: ORACLE, ..EngineConfig::small() }
}

/// BTC-PERP of docs/futures.md's examples: prices in cents, qty in 0.001 BTC.
pub fn perp_spec() -> InstrumentSpec {
    InstrumentSpec { base_asset: 1, quote_asset: USDT, ..engine::examples::btc_perp_spec(PERP) }
}

/// Binance's first three BTCUSDT brackets (docs/futures.md, section 2).
pub fn tiers() -> Vec<SetRiskTier> {
    engine::examples::risk_tiers(PERP, &engine::examples::BINANCE_BTC_BRACKETS)
}

/// `ApplyFunding` in one place: the next funding eight hours (of gateway nanoseconds) ahead.
pub fn funding(instrument: InstrumentId, rate_ppm: i32, at_ns: u64) -> CommandKind {
    let next_funding_time_ns = at_ns + 8 * 3_600_000_000_000;
    CommandKind::ApplyFunding(ApplyFunding { instrument, rate_ppm, next_funding_time_ns })
}

/// The traders of the flow: (account, margin deposit, leverage, isolated). 1 and 2 make markets
/// on deep wallets; 3 and 4 trade cross on thin ones, 5 and 6 isolated.
const TRADERS: [(AccountId, u64, u32, bool); 6] = [
    (1, 50_000_000, 20, false),
    (2, 50_000_000, 10, false),
    (3, 80_000, 50, false),
    (4, 120_000, 40, false),
    (5, 300_000, 20, true),
    (6, 100_000, 50, true),
];

/// Commands applied to an engine as they are made (the flow's ending reads its state).
struct Flow {
    engine: Engine,
    commands: Vec<Command>,
    ts: u64,
    events: Vec<Event>,
    tx_id: u64,
}

impl Flow {
    fn push(&mut self, account: AccountId, kind: CommandKind) {
        self.ts += 1_000_000;
        let c = Command { account, timestamp_ns: self.ts, kind };
        self.events.clear();
        self.engine.apply(self.engine.last_seq() + 1, &c, &mut self.events);
        self.commands.push(c);
    }

    fn tx(&mut self) -> u64 {
        self.tx_id += 1;
        self.tx_id
    }

    fn order(&mut self, account: AccountId, cid: u64, side: Side, price: u64, qty: u64) {
        let (order_type, tif) =
            if price == 0 { (OrderType::Market, TimeInForce::Ioc) } else { (OrderType::Limit, TimeInForce::Gtc) };
        let o = NewOrder {
            client_order_id: cid,
            instrument: PERP,
            side,
            order_type,
            tif,
            stp: StpMode::CancelTaker,
            price,
            qty,
        };
        self.push(account, CommandKind::NewOrder(o));
    }

    fn last_price(&self) -> u64 {
        self.engine.instrument(PERP).unwrap().reference_price
    }
}

/// The set-up, then `n` random commands stamped 1 ms apart from `t0_ns`, then an ending that
/// makes the rare paths certain: bankrupt voluntary closes (the fund covers a cross wallet and
/// an isolated margin) and, with the fund's wallet debited to 0 and the book emptied, mark
/// crashes whose liquidations the fund cannot take over (auto-deleveraging). `fund` is the
/// insurance fund's first deposit.
pub fn futures_commands(seed: u64, n: usize, t0_ns: u64, fund: u64) -> Vec<Command> {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut below = move |n: u64| rng.next_u64() % n.max(1);
    let mut f =
        Flow { engine: Engine::new(futures_config()), commands: Vec::new(), ts: t0_ns, events: Vec::new(), tx_id: 0 };
    f.push(0, CommandKind::AddPerpetual(perp_spec()));
    for t in tiers() {
        f.push(0, CommandKind::SetRiskTier(t));
    }
    f.push(
        0,
        CommandKind::SetFeeSchedule(SetFeeSchedule { instrument: PERP, tier: 0, maker_ppm: 200, taker_ppm: 500 }),
    );
    f.push(
        0,
        CommandKind::SetFeeSchedule(SetFeeSchedule { instrument: PERP, tier: 1, maker_ppm: -100, taker_ppm: 500 }),
    );
    f.push(
        0,
        CommandKind::SetInstrumentState(SetInstrumentState { instrument: PERP, state: InstrumentState::Trading }),
    );
    let ending = [(11, 150_000, 50, false), (12, 150_000, 50, true)];
    for (a, margin, leverage, isolated) in TRADERS.into_iter().chain(ending) {
        let tier = u8::from(a == 2);
        f.push(0, CommandKind::CreateAccount(CreateAccount { target: a, tier, status: AccountStatus::Active }));
        let tx = f.tx();
        f.push(0, CommandKind::Deposit(Transfer { target: a, asset: USDT, amount: 1_000_000, tx_id: tx }));
        let tx = f.tx();
        f.push(0, CommandKind::MarginDeposit(Transfer { target: a, asset: USDT, amount: margin, tx_id: tx }));
        f.push(a, CommandKind::SetLeverage(SetLeverage { instrument: PERP, leverage }));
        if isolated {
            f.push(a, CommandKind::SetMarginMode(SetMarginMode { instrument: PERP, mode: MarginMode::Isolated }));
        }
    }
    if fund > 0 {
        let tx = f.tx();
        f.push(0, CommandKind::MarginDeposit(Transfer { target: FUND, asset: USDT, amount: fund, tx_id: tx }));
    }
    let mut mark = MID;
    let mut cid = [0u64; 13];
    for _ in 0..n {
        let a = 1 + below(6) as AccountId;
        let side = if below(2) == 0 { Side::Buy } else { Side::Sell };
        match below(100) {
            // Makers quote around the mark.
            0..=39 => {
                let m = 1 + below(2) as AccountId;
                cid[m as usize] += 1;
                let off = (below(30) + 1) * 10;
                let price = if side == Side::Buy { mark - off } else { mark + off };
                f.order(m, cid[m as usize], side, price / 10 * 10, 10 + below(50));
            }
            // Anyone takes.
            40..=64 => {
                cid[a as usize] += 1;
                f.order(a, cid[a as usize], side, 0, 5 + below(40));
            }
            65..=74 => {
                let m = 1 + below(2) as usize;
                f.push(m as AccountId, CommandKind::Cancel(Cancel { order: OrderRef::Client(1 + below(cid[m])) }));
            }
            // The mark: a walk back toward the middle, now and then a 4.5% jump.
            75..=84 => {
                let jump = below(5) == 0;
                let step = if jump { mark * 45 / 1000 } else { mark * below(15) / 1000 };
                let up = if mark > MID * 103 / 100 {
                    false
                } else if mark < MID * 97 / 100 {
                    true
                } else {
                    below(2) == 0
                };
                mark = if up { mark + step } else { mark - step };
                f.push(ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: PERP, mark_price: mark }));
            }
            85..=88 => {
                let at_ns = f.ts + 1_000_000;
                f.push(ORACLE, funding(PERP, below(601) as i32 - 300, at_ns))
            }
            89..=91 => {
                let to_futures = below(2) == 0;
                let t = WalletTransfer { asset: USDT, amount: 1 + below(20_000), to_futures };
                f.push(a, CommandKind::WalletTransfer(t));
            }
            92..=93 => {
                let t = Transfer { target: a, asset: USDT, amount: 1 + below(10_000), tx_id: f.tx() };
                f.push(0, if below(2) == 0 { CommandKind::MarginWithdraw(t) } else { CommandKind::MarginDebit(t) });
            }
            94..=96 => {
                let who = 5 + below(2) as AccountId;
                let delta = below(20_000) as i64 - 8_000;
                f.push(who, CommandKind::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument: PERP, delta }));
            }
            _ => {
                // Thin accounts are topped up, so they trade (and fall) again.
                let t = Transfer { target: 3 + below(4) as AccountId, asset: USDT, amount: 50_000, tx_id: f.tx() };
                f.push(0, CommandKind::MarginDeposit(t));
            }
        }
    }
    ending_with_covers_and_adl(&mut f, &mut cid);
    f.commands
}

/// See [`futures_commands`].
fn ending_with_covers_and_adl(f: &mut Flow, cid: &mut [u64; 13]) {
    let mass_cancel = CommandKind::MassCancel(MassCancel { instrument: None, side: None });
    let mut next = |a: AccountId| {
        cid[a as usize] += 1;
        cid[a as usize]
    };
    // Bankrupt voluntary closes: 11 (cross) and 12 (isolated) buy 1,000 at the mark and sell
    // into a lone bid 4.5% lower, a loss beyond their margin: the fund covers it.
    for a in [11, 12] {
        for m in [1, 2] {
            f.push(m, mass_cancel);
        }
        let mark = f.engine.mark_price(PERP).unwrap();
        let c = next(1);
        f.order(1, c, Side::Sell, mark / 10 * 10 + 10, 1_000);
        let c = next(a);
        f.order(a, c, Side::Buy, 0, 1_000);
        let low = f.last_price() * 955 / 1000 / 10 * 10;
        let c = next(2);
        f.order(2, c, Side::Buy, low, 1_000);
        let c = next(a);
        f.order(a, c, Side::Sell, 0, 1_000);
    }
    // Auto-deleveraging: 3 goes long on thin margin, the book empties, the fund's wallet is
    // debited to 0, and the mark falls past 3's bankruptcy price.
    let tx = f.tx();
    f.push(0, CommandKind::MarginDeposit(Transfer { target: 3, asset: USDT, amount: 150_000, tx_id: tx }));
    let mark = f.engine.mark_price(PERP).unwrap();
    let c = next(1);
    f.order(1, c, Side::Sell, mark / 10 * 10 + 10, 1_000);
    let c = next(3);
    f.order(3, c, Side::Buy, 0, 1_000);
    for m in [1, 2] {
        f.push(m, mass_cancel);
    }
    let w = f.engine.futures_wallet(FUND);
    if w > 0 {
        let tx = f.tx();
        f.push(0, CommandKind::MarginDebit(Transfer { target: FUND, asset: USDT, amount: w as u64, tx_id: tx }));
    }
    let mut mark = f.engine.mark_price(PERP).unwrap();
    for _ in 0..3 {
        mark = mark * 951 / 1000;
        f.push(ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: PERP, mark_price: mark }));
    }
}

/// Asserts the futures tables equal a replay of the journal in `data` (and hang together).
pub fn check_futures_against_replay(db: &Db, data: &std::path::Path) {
    let r = replay(data, None);
    let engine = r.engine();
    db.assert_checkpoints_at(r.last_seq, engine.state_hash());
    let snap = engine.snapshot().futures;
    check_instruments(db, engine, &snap);
    check_positions(db, engine, &snap);
    check_wallets(db, engine);
    check_ledger(db, &r.events);
    check_funding_and_liquidations(db, &r.events);
}

fn check_instruments(db: &Db, engine: &Engine, snap: &FuturesSnapshot) {
    for p in &snap.perps {
        let id = p.instrument;
        assert_eq!(db.int(&format!("SELECT perpetual::int::bigint FROM instruments WHERE instrument_id = {id}")), 1);
        let row = db.query(&format!("SELECT mark_price, open_interest FROM perpetuals WHERE instrument_id = {id}"));
        let (mark, oi): (i64, i64) = (row[0].get(0), row[0].get(1));
        assert_eq!((mark as u64, oi as u64), (engine.mark_price(id).unwrap(), p.open_interest), "perpetual {id}");
        let sql_tiers: Vec<(i64, i32, i32, i64)> = db
            .query(&format!(
                "SELECT max_notional, max_leverage, mmr_ppm, maint_amount FROM risk_tiers WHERE instrument_id = {id} ORDER BY tier"
            ))
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        let tiers: Vec<(i64, i32, i32, i64)> = p
            .tiers
            .iter()
            .map(|t| (t.max_notional as i64, t.max_leverage as i32, t.mmr_ppm as i32, t.maint_amount as i64))
            .collect();
        assert_eq!(sql_tiers, tiers, "risk tiers of {id}");
    }
    assert_eq!(db.int("SELECT count(*) FROM instruments WHERE perpetual"), snap.perps.len() as i64);
}

/// (size, cost, entry, realised, isolated margin, liq price, leverage, mode) per (account, perpetual).
type PositionState = (i64, i64, i64, i64, i64, i64, i32, String);

/// Every position record the engine has, as the `positions` table should hold it.
pub fn engine_positions(engine: &Engine, snap: &FuturesSnapshot) -> Vec<((u32, u32), PositionState)> {
    let mut out = Vec::new();
    let mut records = snap.positions.iter();
    for m in &snap.margin {
        for rec in records.by_ref().take(m.positions as usize) {
            let perp = &snap.perps[rec.perp as usize];
            let (c, _) = engine.futures_position(m.account, perp.instrument).unwrap();
            let default = perp.tiers.first().map_or(0, |t| t.max_leverage).clamp(1, 20);
            let leverage = if rec.leverage != 0 { rec.leverage } else { default };
            let mode = if rec.isolated { "isolated" } else { "cross" };
            let state = (
                c.size,
                c.cost,
                c.entry_price as i64,
                c.realised_pnl,
                c.isolated_margin,
                c.liq_price as i64,
                leverage as i32,
                mode.to_string(),
            );
            out.push(((m.account, perp.instrument), state));
        }
    }
    out
}

/// The `positions` table.
pub fn sql_positions(db: &Db) -> Vec<((u32, u32), PositionState)> {
    db.query(
        "SELECT account_id, instrument_id, size, cost, entry_price, realised_pnl, isolated_margin, liq_price, \
         leverage, margin_mode FROM positions ORDER BY account_id, instrument_id",
    )
    .iter()
    .map(|r| {
        let key = (r.get::<_, i32>(0) as u32, r.get::<_, i32>(1) as u32);
        (key, (r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7), r.get(8), r.get(9)))
    })
    .collect()
}

fn check_positions(db: &Db, engine: &Engine, snap: &FuturesSnapshot) {
    let want = engine_positions(engine, snap);
    let keys: BTreeSet<(u32, u32)> = want.iter().map(|(k, _)| *k).collect();
    let got = sql_positions(db);
    // A record the engine no longer lists holds nothing (a flat position, default settings).
    let extra: Vec<_> = got.iter().filter(|(k, _)| !keys.contains(k)).collect();
    for (k, s) in &extra {
        assert_eq!((s.0, s.1, s.4), (0, 0, 0), "a record only SQL has is flat: {k:?} {s:?}");
    }
    let got: Vec<_> = got.into_iter().filter(|(k, _)| keys.contains(k)).collect();
    assert_eq!(got, want, "positions");
    // The history's last row of each position is its row (the liquidation price aside: it also
    // moves with the wallet, without a PositionChanged).
    assert_eq!(
        db.int(
            "SELECT count(*) FROM positions p JOIN LATERAL (SELECT * FROM position_history h \
             WHERE h.account_id = p.account_id AND h.instrument_id = p.instrument_id ORDER BY seq DESC LIMIT 1) h ON true \
             WHERE (h.size, h.cost, h.entry_price, h.realised_pnl, h.isolated_margin) \
             IS DISTINCT FROM (p.size, p.cost, p.entry_price, p.realised_pnl, p.isolated_margin)"
        ),
        0,
        "the last history row of each position is its row"
    );
}

fn check_wallets(db: &Db, engine: &Engine) {
    let cfg = engine.config();
    let want: Vec<(i32, i64)> =
        (0..cfg.max_accounts).map(|a| (a as i32, engine.futures_wallet(a))).filter(|&(_, w)| w != 0).collect();
    let got: Vec<(i32, i64)> = db
        .query("SELECT account_id, wallet FROM futures_wallets WHERE wallet <> 0 ORDER BY account_id")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(got, want, "futures wallets");
}

fn check_ledger(db: &Db, events: &[Event]) {
    let count = |f: fn(&EventKind) -> bool| events.iter().filter(|e| f(&e.kind)).count() as i64;
    assert_eq!(db.int("SELECT count(*) FROM futures_ledger"), count(|k| matches!(k, EventKind::WalletChanged(_))));
    assert_eq!(db.int("SELECT count(*) FROM position_history"), count(|k| matches!(k, EventKind::PositionChanged(_))));
    // A gapless chain per wallet that ends at the wallet, and the parts add up to each delta.
    assert_eq!(
        db.int(
            "SELECT count(*) FROM (SELECT wallet, wallet_delta, lag(wallet, 1, 0::bigint) OVER w AS prev \
             FROM futures_ledger WINDOW w AS (PARTITION BY account_id, asset_id ORDER BY seq)) c \
             WHERE prev + wallet_delta <> wallet"
        ),
        0,
        "every ledger row follows the previous one"
    );
    assert_eq!(
        db.int(
            "SELECT count(*) FROM futures_wallets w LEFT JOIN (SELECT account_id, asset_id, sum(wallet_delta) AS s \
             FROM futures_ledger GROUP BY 1, 2) l USING (account_id, asset_id) WHERE l.s IS DISTINCT FROM w.wallet"
        ),
        0,
        "the ledger sums to the wallets"
    );
    assert_eq!(
        db.int(
            "SELECT count(*) FROM futures_ledger WHERE wallet_delta <> realised_pnl - fee + funding + transfer \
             + isolated_margin + insurance + other"
        ),
        0
    );
    // What the events itemise is exact: a wallet of an account that never had an isolated
    // position moves by its parts alone, except by a cover it received (the one flow the events
    // do not place).
    let mut covered: Vec<(i64, i64)> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::BankruptcyCovered(c) => Some((c.account as i64, e.seq as i64)),
            _ => None,
        })
        .collect();
    covered.sort_unstable();
    let rows: Vec<(i64, i64, i64)> = db
        .query(
            "SELECT account_id::bigint, seq, other FROM futures_ledger l WHERE other <> 0 AND NOT EXISTS \
             (SELECT 1 FROM positions p WHERE p.account_id = l.account_id AND p.margin_mode = 'isolated')",
        )
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    for (a, seq, other) in rows {
        assert!(covered.binary_search(&(a, seq)).is_ok(), "account {a} at {seq}: {other} not itemised");
    }
    assert!(db.int("SELECT count(*) FROM futures_ledger WHERE fee <> 0") > 0, "fees are itemised");
    assert!(db.int("SELECT count(*) FROM futures_ledger WHERE realised_pnl <> 0") > 0, "PnL is itemised");
}

fn check_funding_and_liquidations(db: &Db, events: &[Event]) {
    let count = |f: fn(&EventKind) -> bool| events.iter().filter(|e| f(&e.kind)).count() as i64;
    assert_eq!(db.int("SELECT count(*) FROM funding"), count(|k| matches!(k, EventKind::FundingApplied(_))));
    assert_eq!(db.int("SELECT count(*) FROM funding_payments"), count(|k| matches!(k, EventKind::FundingPayment(_))));
    assert_eq!(
        db.int(
            "SELECT count(*) FROM funding f JOIN (SELECT instrument_id, seq, sum(-least(amount, 0)) AS paid, \
             sum(greatest(amount, 0)) AS received FROM funding_payments GROUP BY 1, 2) p USING (instrument_id, seq) \
             WHERE (p.paid, p.received) IS DISTINCT FROM (f.paid::numeric, f.received::numeric) \
             OR f.residue <> f.paid - f.received"
        ),
        0,
        "the payments add up to their settlement"
    );
    assert_eq!(db.int("SELECT count(*) FROM mark_prices"), count(|k| matches!(k, EventKind::MarkPriceSet(_))));
    assert_eq!(db.int("SELECT count(*) FROM liquidations"), count(|k| matches!(k, EventKind::Liquidation(_))));
    assert_eq!(db.int("SELECT count(*) FROM auto_deleveraging"), count(|k| matches!(k, EventKind::AutoDeleveraged(_))));
    assert_eq!(
        db.int("SELECT count(*) FROM liquidations WHERE book_qty + taken_over_qty + adl_qty <> abs(size)"),
        0,
        "every liquidated position is closed through the book, the fund or ADL"
    );
    let liquidation_trades =
        events.iter().filter(|e| matches!(e.kind, EventKind::Trade(t) if t.taker_order_id == 0)).count() as i64;
    assert_eq!(db.int("SELECT count(*) FROM trades WHERE liquidation"), liquidation_trades);
    assert_eq!(
        db.int("SELECT coalesce(sum(book_qty), 0)::bigint FROM liquidations"),
        db.int("SELECT coalesce(sum(qty), 0)::bigint FROM trades WHERE liquidation"),
        "book quantities are the liquidation trades'"
    );
    let clearances: i64 = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::LiquidationDone(d) => Some(d.clearance),
            _ => None,
        })
        .sum();
    assert_eq!(db.int("SELECT coalesce(sum(clearance), 0)::bigint FROM liquidations"), clearances);
}
