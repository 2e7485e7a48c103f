//! The futures side against a real matchd and a real PostgreSQL (the `matchd` binary as in
//! `e2e_matchd.rs`): the admin adds a perpetual with Binance's brackets and funds futures wallets
//! (the insurance fund's too); traders set leverage and isolated margin, move money between spot
//! and futures, go long against a maker; the oracle applies funding and crashes the mark until
//! a cross and an isolated long are liquidated (through the maker's bid, then by the fund); the
//! admin withdraws and debits; the projector is killed with SIGKILL in the middle. Then the
//! read side's positions and futures wallets equal matchd's own answers (`QueryAccount`:
//! `PositionReport`, `MarginReport`), and every futures table equals a replay of the journal.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use ::matchd::config::DEFAULT_CONFIG_TOML;
use client::{Client, LoginParams};
use common::futures::{check_futures_against_replay, sql_positions, tiers};
use common::*;
use engine::{InstrumentSpec, InstrumentState, MarginMode, NewOrder, OrderType, Side, StpMode, TimeInForce};
use protocol::{ExecReport, FuturesReport, ServerMessage};
use tools::loadgen::matchd::{self, set_key, Matchd};
use tools::loadgen::Credentials;

/// Bounds a hang (a login, an answer), never a speed.
const IO: Duration = Duration::from_secs(60);
const ADMIN: (u32, &str) = (0, "admin-demo");
const PERP: u32 = 10;
const USDT: u32 = 1;
const FUND: u32 = 900;
/// Accounts 100..=104: a maker, a thin cross long, an isolated long, a cross trader, the oracle.
const MAKER: u32 = 100;
const THIN: u32 = 101;
const ISOLATED: u32 = 102;
const CROSS: u32 = 103;
const ORACLE: u32 = 104;
const MID: u64 = 6_000_000;

fn perp_spec() -> InstrumentSpec {
    InstrumentSpec { quote_asset: USDT, ..engine::examples::btc_perp_spec(PERP) }
}

fn login(addr: std::net::SocketAddr, account: u32, secret: &str, admin: bool) -> Client {
    let mut c = Client::connect(addr, IO).unwrap();
    let p = if admin {
        LoginParams::admin(account, secret.as_bytes())
    } else {
        LoginParams::trader(account, secret.as_bytes())
    };
    c.login(p).unwrap();
    c
}

/// Reads `c`'s reports until one matches (a reject on the way fails the test).
fn until(c: &mut Client, what: &str, mut pred: impl FnMut(&ExecReport) -> bool) -> Vec<ExecReport> {
    let mut seen = Vec::new();
    loop {
        let m = c.recv(IO).unwrap().unwrap_or_else(|| panic!("{what}: no answer after {seen:?}"));
        let ServerMessage::Report { report, .. } = m else { continue };
        let done = pred(&report);
        assert!(done || !matches!(report, ExecReport::Rejected(_)), "{what}: {report:?} after {seen:?}");
        seen.push(report);
        if done {
            return seen;
        }
    }
}

fn futures(r: &ExecReport) -> Option<&FuturesReport> {
    match r {
        ExecReport::Futures(f) => Some(f),
        _ => None,
    }
}

fn order(cid: u64, side: Side, price: u64, qty: u64) -> NewOrder {
    let (order_type, tif) =
        if price == 0 { (OrderType::Market, TimeInForce::Ioc) } else { (OrderType::Limit, TimeInForce::Gtc) };
    NewOrder { client_order_id: cid, instrument: PERP, side, order_type, tif, stp: StpMode::None, price, qty }
}

fn transferred(admin: &mut Client, target: u32) {
    until(admin, "TransferApplied", |r| matches!(r, ExecReport::TransferApplied(t) if t.target == target));
}

/// (size, cost, entry, realised, isolated margin, liq price, leverage, mode) per perpetual, and
/// the futures wallet, as matchd answers `QueryAccount`.
type FuturesAnswer = (BTreeMap<u32, (i64, i64, i64, i64, i64, i64, i32, String)>, i64);

/// Unrealised PnL at the mark per perpetual.
type Upnl = BTreeMap<u32, i64>;

/// [`FuturesAnswer`] and each position's unrealised PnL at the mark.
fn query_futures(admin: &mut Client, target: u32) -> (FuturesAnswer, Upnl) {
    admin.query_account(target).unwrap();
    let (mut positions, mut wallet, mut upnl) = (BTreeMap::new(), 0, BTreeMap::new());
    for r in until(admin, "QueryDone", |r| matches!(r, ExecReport::QueryDone(d) if d.done.target == target)) {
        match futures(&r) {
            Some(FuturesReport::PositionReport(p)) if p.position.account == target => {
                let c = p.position;
                let mode = if p.mode == MarginMode::Isolated { "isolated" } else { "cross" };
                let state = (
                    c.size,
                    c.cost,
                    c.entry_price as i64,
                    c.realised_pnl,
                    c.isolated_margin,
                    c.liq_price as i64,
                    p.leverage as i32,
                    mode.to_string(),
                );
                positions.insert(c.instrument, state);
                upnl.insert(c.instrument, p.upnl);
            }
            Some(FuturesReport::MarginReport(m)) if m.target == target => wallet = m.wallet,
            _ => {}
        }
    }
    ((positions, wallet), upnl)
}

/// Unrealised PnL at the mark, as "Queries a backend runs" computes it.
fn sql_upnl(db: &Db, target: u32) -> Upnl {
    db.query(&format!(
        "SELECT p.instrument_id, floor((p.size::numeric * f.mark_price - i.qty_scale::numeric * p.cost * sign(p.size)) \
         / i.qty_scale)::bigint FROM positions p JOIN instruments i USING (instrument_id) \
         JOIN perpetuals f USING (instrument_id) WHERE p.account_id = {target} AND p.size <> 0"
    ))
    .iter()
    .map(|r| (r.get::<_, i32>(0) as u32, r.get(1)))
    .collect()
}

/// The same from SQL: the non-flat positions (QueryAccount reports only those) and the wallet.
fn sql_futures(db: &Db, target: u32) -> FuturesAnswer {
    let positions = sql_positions(db)
        .into_iter()
        .filter(|((a, _), s)| *a == target && s.0 != 0)
        .map(|((_, i), s)| (i, s))
        .collect();
    let wallet =
        db.int(&format!("SELECT wallet FROM futures_wallets WHERE account_id = {target} AND asset_id = {USDT}"));
    (positions, wallet)
}

#[test]
fn a_live_matchd_futures_flow_is_projected_and_equals_its_own_answers() {
    let pg = projector::pg_harness::Postgres::start();
    pg.create_database("readside");
    let url = pg.url("readside");
    let creds = Credentials::Range { from: MAKER, prefix: "lg-".into() };
    let accounts: Vec<_> = (0..5).map(|i| creds.get(i).unwrap()).collect();
    let toml = matchd::config_toml(DEFAULT_CONFIG_TOML, &accounts, None)
        .replace("heartbeat_timeout_ms = 10000", "heartbeat_timeout_ms = 60000");
    let toml =
        set_key(&toml, "max_transactions", &format!("1048576\ninsurance_account = {FUND}\noracle_account = {ORACLE}"));
    let bin = matchd::locate_binary(None).unwrap_or_else(|e| panic!("{e}"));
    let m = Matchd::start(&bin, &toml, &["--durability", "batch"]).unwrap_or_else(|e| panic!("{e}"));
    let data = m.dir.join("data");
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("projector.log");
    let args = ["--batch-records", "5", "--batch-ms", "1"];
    let mut projector = Projector::start(&data, &url, &log, &args);
    let trader = |a: u32| login(m.addr, a, &format!("lg-{a}"), false);

    // The perpetual, its brackets, trading; futures wallets.
    let mut admin = login(m.addr, ADMIN.0, ADMIN.1, true);
    admin.add_perpetual(perp_spec()).unwrap();
    until(&mut admin, "InstrumentAdded", |r| matches!(r, ExecReport::InstrumentAdded(a) if a.perpetual));
    for t in tiers() {
        admin.set_risk_tier(engine::SetRiskTier { instrument: PERP, ..t }).unwrap();
        until(&mut admin, "RiskTierSet", |r| matches!(futures(r), Some(FuturesReport::RiskTierSet(_))));
    }
    let fees = engine::SetFeeSchedule { instrument: PERP, tier: 0, maker_ppm: 200, taker_ppm: 500 };
    admin.set_fee_schedule(fees).unwrap();
    until(&mut admin, "FeeScheduleSet", |r| matches!(r, ExecReport::FeeScheduleSet(_)));
    admin.set_instrument_state(PERP, InstrumentState::Trading).unwrap();
    until(&mut admin, "InstrumentStateChanged", |r| matches!(r, ExecReport::InstrumentStateChanged(_)));
    let deposits = [(FUND, 10_000_000), (MAKER, 10_000_000), (THIN, 40_000), (ISOLATED, 60_000), (CROSS, 500_000)];
    for (k, (account, amount)) in deposits.into_iter().enumerate() {
        admin.margin_deposit(account, USDT, amount, 7_000 + k as u64).unwrap();
        transferred(&mut admin, account);
    }

    // Settings and a transfer from spot.
    let mut isolated = trader(ISOLATED);
    isolated.set_margin_mode(PERP, MarginMode::Isolated).unwrap();
    until(&mut isolated, "MarginModeSet", |r| matches!(futures(r), Some(FuturesReport::MarginModeSet(_))));
    isolated.set_leverage(PERP, 25).unwrap();
    until(&mut isolated, "LeverageSet", |r| matches!(futures(r), Some(FuturesReport::LeverageSet(_))));
    let mut cross = trader(CROSS);
    cross.set_leverage(PERP, 10).unwrap();
    until(&mut cross, "LeverageSet", |r| matches!(futures(r), Some(FuturesReport::LeverageSet(_))));
    cross.wallet_transfer(USDT, 100_000, true).unwrap();
    until(&mut cross, "TransferApplied", |r| matches!(r, ExecReport::TransferApplied(_)));

    // The maker sells 300 at the mid; three longs buy 100 each at market.
    let mut maker = trader(MAKER);
    maker.new_order(order(1, Side::Sell, MID, 300)).unwrap();
    until(&mut maker, "Accepted", |r| matches!(r, ExecReport::Accepted(_)));
    let mut thin = trader(THIN);
    for (c, cid) in [(&mut thin, 10), (&mut isolated, 11), (&mut cross, 12)] {
        c.new_order(order(cid, Side::Buy, 0, 100)).unwrap();
        until(
            c,
            "PositionChanged",
            |r| matches!(futures(r), Some(FuturesReport::PositionChanged(p)) if p.position.size == 100),
        );
    }
    isolated.adjust_isolated_margin(PERP, 5_000).unwrap();
    until(&mut isolated, "IsolatedMarginAdjusted", |r| {
        matches!(futures(r), Some(FuturesReport::IsolatedMarginAdjusted(_)))
    });

    // The oracle: funding (the longs pay), then a crash in 1.7% steps; the maker's bid takes half
    // of the thin long's liquidation, the fund the rest.
    let mut oracle = trader(ORACLE);
    // The next funding far ahead of the gateway's clock (it must be after the receive time).
    oracle.apply_funding(PERP, 100, u64::MAX >> 1).unwrap();
    until(&mut oracle, "FundingApplied", |r| matches!(futures(r), Some(FuturesReport::FundingApplied(_))));
    maker.new_order(order(2, Side::Buy, 5_700_000, 50)).unwrap();
    until(&mut maker, "Accepted", |r| matches!(r, ExecReport::Accepted(a) if a.client_order_id == 2));
    // A kill in the middle: the restart rebuilds the futures state at its checkpoint.
    projector.kill9();
    projector = Projector::start(&data, &url, &log, &args);
    for mark in [5_900_000, 5_800_000, 5_700_000, 5_600_000, 5_500_000, 5_400_000] {
        oracle.set_mark_price(PERP, mark).unwrap();
        until(&mut oracle, "MarkPriceSet", |r| matches!(futures(r), Some(FuturesReport::MarkPriceSet(_))));
    }
    cross.wallet_transfer(USDT, 20_000, false).unwrap();
    until(&mut cross, "TransferApplied", |r| matches!(r, ExecReport::TransferApplied(_)));
    admin.margin_withdraw(CROSS, USDT, 10_000, 7_100).unwrap();
    transferred(&mut admin, CROSS);
    admin.margin_debit(MAKER, USDT, 1_000, 7_101).unwrap();
    transferred(&mut admin, MAKER);

    // matchd's answers, then the read side at the journal's end.
    let answers: Vec<(u32, (FuturesAnswer, Upnl))> =
        [FUND, MAKER, THIN, ISOLATED, CROSS].into_iter().map(|a| (a, query_futures(&mut admin, a))).collect();
    let db = Db::connect(&url);
    wait_for("the projector to reach the journal's end", || {
        projector.assert_running();
        db.checkpoint() == journal_end(&data)
    });
    for (a, (answer, upnl)) in &answers {
        assert_eq!(&sql_futures(&db, *a), answer, "account {a}");
        assert_eq!(&sql_upnl(&db, *a), upnl, "account {a}'s unrealised PnL");
    }
    assert!(!answers[0].1 .0 .0.is_empty(), "the fund took a position over: {answers:?}");
    assert_eq!(db.int("SELECT count(*) FROM liquidations"), 2, "the thin and the isolated long");
    assert!(db.int("SELECT count(*) FROM trades WHERE liquidation") > 0, "through the maker's bid");
    check_futures_against_replay(&db, &data);
    let reasons: Vec<String> =
        db.query("SELECT DISTINCT reason FROM futures_ledger ORDER BY 1").iter().map(|r| r.get(0)).collect();
    eprintln!("ledger reasons: {reasons:?}");
    for r in [
        "funding",
        "isolated_margin",
        "liquidation",
        "margin_debit",
        "margin_deposit",
        "margin_withdraw",
        "takeover",
        "trade",
        "wallet_transfer",
    ] {
        assert!(reasons.iter().any(|x| x == r), "a {r} row: {reasons:?}");
    }
    drop((admin, maker, thin, isolated, cross, oracle));
}
