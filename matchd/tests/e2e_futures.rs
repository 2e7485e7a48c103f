//! Perpetual futures over the real binary: the admin adds a perpetual with Binance's brackets and
//! funds futures wallets; three traders go long against a maker on thin margin; the oracle's
//! session crashes the mark in steps, each step liquidating what it crosses (through the book
//! first, then the insurance fund takes the rest over); `kill -9` in the middle of the crash; the
//! restart resumes it, the remaining steps liquidate the rest, the oracle settles a funding, a
//! subscriber that connects then learns the perpetual's mark, open interest and funding from its
//! snapshot, and the restarted server's state equals a clean full replay of its journal.

mod e2e_common;

use std::time::{SystemTime, UNIX_EPOCH};

use client::md_client::{Applied, Book, MdFeed};
use e2e_common::*;
use engine::{
    InstrumentSpec, InstrumentState, NewOrder, OrderType, RiskTierSet, SetRiskTier, Side, StpMode, TimeInForce,
};
use protocol::{ExecReport, FuturesReport, MdServerMessage, MdSnapshotEnd, MdSubscribe};

const PERP: u32 = 10;
const USDT: u32 = 1;
const FUND: u32 = 900;
const ORACLE: (u32, &str) = (5, "oracle-e2e");
const MID: u64 = 6_000_000;

fn config() -> ConfigText {
    ConfigText::risk()
        .with_extra_traders()
        .with_trader(ORACLE.0, "oracle", ORACLE.1)
        .set("engine.max_transactions", &format!("1048576\ninsurance_account = {FUND}\noracle_account = {}", ORACLE.0))
}

fn perp_spec() -> InstrumentSpec {
    InstrumentSpec { quote_asset: USDT, ..engine::examples::btc_perp_spec(PERP) }
}

/// Reads `c`'s reports until one matches; returns every report read, the match last.
fn until(c: &mut client::Client, what: &str, mut pred: impl FnMut(&ExecReport) -> bool) -> Vec<ExecReport> {
    let mut seen = Vec::new();
    loop {
        let (_, r) = next_report(c);
        let done = pred(&r);
        assert!(done || !matches!(r, ExecReport::Rejected(_)), "{what}: {r:?} after {seen:?}");
        seen.push(r);
        if done {
            return seen;
        }
        assert!(seen.len() < 10_000, "{what}: never came; got {seen:?}");
    }
}

fn order(cid: u64, side: Side, price: u64, qty: u64) -> NewOrder {
    NewOrder {
        client_order_id: cid,
        instrument: PERP,
        side,
        order_type: if price == 0 { OrderType::Market } else { OrderType::Limit },
        tif: if price == 0 { TimeInForce::Ioc } else { TimeInForce::Gtc },
        stp: StpMode::None,
        price,
        qty,
    }
}

fn futures(r: &ExecReport) -> Option<&FuturesReport> {
    match r {
        ExecReport::Futures(f) => Some(f),
        _ => None,
    }
}

/// The oracle moves the mark; returns when its `MarkPriceSet` report is back (the command and
/// every liquidation it caused are applied then).
fn mark(oracle: &mut client::Client, price: u64) {
    oracle.set_mark_price(PERP, price).unwrap();
    until(
        oracle,
        "MarkPriceSet",
        |r| matches!(futures(r), Some(FuturesReport::MarkPriceSet(m)) if m.mark.mark_price == price),
    );
}

/// A new subscriber's snapshot of the perpetual: its `MdSnapshotEnd`, and the book it synced.
fn perp_snapshot(m: &Matchd) -> (MdSnapshotEnd, Book) {
    let mut feed = MdFeed::connect(m.addr, IO, MdSubscribe::default()).expect("subscribe");
    for _ in 0..10_000 {
        if let Some((MdServerMessage::SnapshotEnd(end), Ok(Applied::Synced))) = feed.step(IO).expect("feed") {
            if end.instrument == PERP {
                return (end, feed.books.book(PERP).expect("the perpetual's book").clone());
            }
        }
    }
    panic!("no snapshot of the perpetual");
}

/// `who`'s liquidation reports up to its `LiquidationDone`.
fn liquidated(c: &mut client::Client) -> Vec<ExecReport> {
    until(c, "LiquidationDone", |r| matches!(futures(r), Some(FuturesReport::LiquidationDone(_))))
}

#[test]
fn a_mark_crash_liquidates_through_the_book_and_the_fund_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = config();
    let m = Matchd::start_with(&data, &cfg);
    let mut admin = m.admin();

    // The perpetual, its brackets, trading; futures wallets.
    admin.add_perpetual(perp_spec()).unwrap();
    until(&mut admin, "InstrumentAdded", |r| matches!(r, ExecReport::InstrumentAdded(a) if a.perpetual));
    for (index, (n, l, r, a)) in
        [(5_000_000u64, 125u32, 4_000u32, 0u64), (25_000_000, 100, 5_000, 5_000), (100_000_000, 50, 10_000, 130_000)]
            .into_iter()
            .enumerate()
    {
        let t = SetRiskTier {
            instrument: PERP,
            index: index as u8,
            max_leverage: l,
            mmr_ppm: r,
            max_notional: n,
            maint_amount: a,
        };
        admin.set_risk_tier(t).unwrap();
        until(
            &mut admin,
            "RiskTierSet",
            |r| matches!(futures(r), Some(FuturesReport::RiskTierSet(RiskTierSet { tier, .. })) if tier.index == index as u8),
        );
    }
    admin.set_instrument_state(PERP, InstrumentState::Trading).unwrap();
    until(&mut admin, "InstrumentStateChanged", |r| matches!(r, ExecReport::InstrumentStateChanged(_)));
    // Thin margins: 100 lots (6,000.00 USDT of notional) on 400, 500 and 600 USDT.
    let deposits = [(FUND, 10_000_000), (BOB.0, 10_000_000), (ALICE.0, 40_000), (CAROL.0, 50_000), (DAVE.0, 60_000)];
    for (k, (account, amount)) in deposits.into_iter().enumerate() {
        admin.margin_deposit(account, USDT, amount, 7_000 + k as u64).unwrap();
        until(&mut admin, "TransferApplied", |r| matches!(r, ExecReport::TransferApplied(t) if t.target == account));
    }

    // Bob sells 300 at the mid; Alice, Carol and Dave each buy 100 at market.
    let mut bob = m.trader(BOB);
    let mut oracle = m.trader(ORACLE);
    bob.new_order(order(1, Side::Sell, MID, 300)).unwrap();
    until(&mut bob, "Accepted", |r| matches!(r, ExecReport::Accepted(_)));
    let mut longs: Vec<client::Client> = [ALICE, CAROL, DAVE].into_iter().map(|who| m.trader(who)).collect();
    for (k, c) in longs.iter_mut().enumerate() {
        c.new_order(order(10 + k as u64, Side::Buy, 0, 100)).unwrap();
        until(
            c,
            "PositionChanged",
            |r| matches!(futures(r), Some(FuturesReport::PositionChanged(p)) if p.position.size == 100),
        );
    }
    // A bid of Bob's that Alice's liquidation order will partly hit (her bankruptcy price is
    // 5,600,000: 40,000 of margin over 100 lots; the bid is at the edge of the 5% band).
    bob.new_order(order(2, Side::Buy, 5_700_000, 50)).unwrap();
    until(&mut bob, "Accepted", |r| matches!(r, ExecReport::Accepted(a) if a.client_order_id == 2));

    // The crash, 100,000 (1.7%) at a time: nothing until 5,600,000 crosses Alice's.
    for price in [5_900_000, 5_800_000, 5_700_000] {
        mark(&mut oracle, price);
    }
    mark(&mut oracle, 5_600_000);
    let alice = liquidated(&mut longs[0]);
    let liq = alice.iter().find_map(|r| match futures(r) {
        Some(FuturesReport::Liquidation(l)) => Some(*l),
        _ => None,
    });
    let liq = liq.expect("a Liquidation report");
    assert_eq!((liq.size, liq.bankruptcy_price), (100, 5_600_000), "{alice:?}");
    let through_book: u64 = alice
        .iter()
        .filter_map(|r| match r {
            ExecReport::Fill(f) if f.liquidation => Some(f.qty),
            _ => None,
        })
        .sum();
    assert_eq!(through_book, 50, "half through Bob's bid: {alice:?}");
    assert!(
        alice.iter().any(|r| matches!(futures(r), Some(FuturesReport::TakenOver(t)) if t.qty == 50)),
        "the fund takes the other half: {alice:?}"
    );

    // kill -9 in the middle of the crash.
    sync(&mut bob);
    let seen: Vec<u64> = longs.iter().map(|c| c.last_seen_seq()).collect();
    let oracle_seen = oracle.last_seen_seq();
    drop((admin, bob, longs, oracle));
    m.kill9();

    // The restart replays the journal; the crash goes on where it stopped.
    let m = Matchd::start_with(&data, &cfg);
    let mut oracle = m.trader_from(ORACLE, oracle_seen);
    let mut carol = m.trader_from(CAROL, seen[1]);
    let mut dave = m.trader_from(DAVE, seen[2]);
    mark(&mut oracle, 5_500_000);
    let carol_reports = liquidated(&mut carol);
    assert!(
        carol_reports.iter().any(|r| matches!(futures(r), Some(FuturesReport::Liquidation(_)))),
        "{carol_reports:?}"
    );
    mark(&mut oracle, 5_400_000);
    let dave_reports = liquidated(&mut dave);
    assert!(dave_reports.iter().any(|r| matches!(futures(r), Some(FuturesReport::TakenOver(_)))), "{dave_reports:?}");

    // The oracle settles a funding and announces the next in 8 hours; a subscriber that connects
    // now learns the mark, the open interest and that funding from its snapshot (the restarted
    // server's mirror was rebuilt from the journal), not at their next change.
    let now_ns = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let next_funding_time_ns = now_ns + 8 * 3_600 * 1_000_000_000;
    oracle.apply_funding(PERP, 100, next_funding_time_ns).unwrap();
    let settled =
        until(&mut oracle, "FundingApplied", |r| matches!(futures(r), Some(FuturesReport::FundingApplied(_))));
    let Some(FuturesReport::FundingApplied(funding)) = settled.last().and_then(futures) else { unreachable!() };
    assert_eq!((funding.funding.open_interest, funding.funding.mark_price), (250, 5_400_000), "{settled:?}");
    let (end, book) = perp_snapshot(&m);
    assert_eq!(
        (end.mark_price, end.open_interest, end.funding_rate_ppm, end.next_funding_time_ns),
        (5_400_000, 250, 100, next_funding_time_ns),
        "{end:?}"
    );
    assert_eq!(
        (book.mark_price, book.open_interest, book.funding),
        (Some(5_400_000), Some(250), Some((100, next_funding_time_ns)))
    );

    // The fund holds what it took over: 50 + 100 + 100 long.
    let mut admin = m.admin();
    admin.query_account(FUND).unwrap();
    let answer = until(&mut admin, "QueryDone", |r| matches!(r, ExecReport::QueryDone(_)));
    let fund_size = answer.iter().find_map(|r| match futures(r) {
        Some(FuturesReport::PositionReport(p)) => Some(p.position.size),
        _ => None,
    });
    assert_eq!(fund_size, Some(250), "{answer:?}");

    // The restarted server equals a full replay of its journal.
    drop((admin, oracle, carol, dave));
    let (status, log) = m.terminate_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    let stopped = state_hashes(&log, "stopped cleanly");
    assert!(!stopped.is_empty(), "{log}");
    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    let _ = std::fs::remove_dir_all(copy.join("snapshots"));
    let (status2, log2) = Matchd::start_with(&copy, &cfg).terminate_with_log();
    assert_eq!(status2.code(), Some(0), "{log2}");
    assert_eq!(state_hashes(&log2, "replay complete"), stopped, "restarted server vs a full replay");
}
