//! Perpetual futures rules the reference model does not cover, with whole event lists: amends
//! of perpetual orders (margin re-checked, aggregates kept), `QueryAccount`'s position and
//! margin reports, and the rejects of commands the model never sends (spot instruments, stops
//! and lists on perpetuals, bad tiers and marks); the next funding time a funding announces.

use engine::*;

mod futures_common;

use futures_common::*;

#[test]
fn an_amend_re_runs_the_margin_check_and_keeps_the_order_margin_exact() {
    let mut x = Ex::new();
    // Example 5's numbers: leverage 20, a resting buy of 150 at 5,990,000 holds
    // ceil(898,500 / 20) + ceil(898,500 * 500 / 1e6) = 44,925 + 450 = 45,375.
    let o = x.order(Side::Buy, 5_990_000, 150);
    x.ok(A, CommandKind::NewOrder(o));
    assert_eq!(x.margin(A).order_margin, 45_375);
    // Down to 100 (in place): 29,950 + 300.
    let ev = x.ok(
        A,
        CommandKind::Amend(Amend { order: OrderRef::Client(o.client_order_id), new_qty: Some(100), new_price: None }),
    );
    assert!(matches!(ev[0], EventKind::Amended(Amended { qty: 100, leaves: 100, kept_priority: true, .. })), "{ev:?}");
    assert_eq!(x.margin(A).order_margin, 30_250);
    // A new price: 100 at 5,900,000 holds 29,500 + 295.
    x.ok(
        A,
        CommandKind::Amend(Amend {
            order: OrderRef::Client(o.client_order_id),
            new_qty: None,
            new_price: Some(5_900_000),
        }),
    );
    assert_eq!(x.margin(A).order_margin, 29_795);
    // Up to what the wallet cannot hold: 3,400 at 5,900,000 would hold 1,003,000 + 10,030.
    let big = Amend { order: OrderRef::Client(o.client_order_id), new_qty: Some(3_400), new_price: None };
    assert_eq!(x.reject(A, CommandKind::Amend(big)), RejectReason::InsufficientMargin);
    // Cancelled, it holds nothing.
    x.ok(A, CommandKind::Cancel(Cancel { order: OrderRef::Client(o.client_order_id) }));
    let m = x.margin(A);
    assert_eq!((m.order_margin, m.available, m.withdrawable), (0, 1_000_000, 1_000_000));
}

#[test]
fn an_amend_that_crosses_trades_and_the_rest_is_margined_at_its_new_price() {
    let mut x = Ex::new();
    let ask = x.order(Side::Sell, 6_010_000, 40);
    x.ok(B, CommandKind::NewOrder(ask));
    let bid = x.order(Side::Buy, 5_990_000, 100);
    x.ok(A, CommandKind::NewOrder(bid));
    let ev = x.ok(
        A,
        CommandKind::Amend(Amend {
            order: OrderRef::Client(bid.client_order_id),
            new_qty: None,
            new_price: Some(6_010_000),
        }),
    );
    assert!(ev.iter().any(|e| matches!(e, EventKind::Trade(t) if t.qty == 40 && t.price == 6_010_000)), "{ev:?}");
    // Long 40; the 60 left rest at 6,010,000: ceil(360,600 / 20) + ceil(360,600 * 500 / 1e6).
    let m = x.margin(A);
    assert_eq!(m.order_margin, 18_030 + 181);
    let (p, _) = x.e.futures_position(A, BTC).unwrap();
    assert_eq!((p.size, p.cost), (40, 240_400));
}

#[test]
fn a_reduce_only_amend_never_outgrows_the_position() {
    let mut x = Ex::new();
    let ask = x.order(Side::Sell, 6_000_000, 100);
    x.ok(B, CommandKind::NewOrder(ask));
    let buy = x.order(Side::Buy, 0, 100);
    x.ok(A, CommandKind::NewOrder(buy));
    let ro = x.order(Side::Sell, 6_100_000, 80);
    x.ok(A, CommandKind::NewAdvancedOrder(AdvancedOrder { reduce_only: true, ..AdvancedOrder::plain(ro) }));
    x.roundtrip();
    let up = Amend { order: OrderRef::Client(ro.client_order_id), new_qty: Some(101), new_price: None };
    assert_eq!(x.reject(A, CommandKind::Amend(up)), RejectReason::ReduceOnlyWouldOpen);
    let fits = Amend { order: OrderRef::Client(ro.client_order_id), new_qty: Some(100), new_price: None };
    x.ok(A, CommandKind::Amend(fits));
    // It holds no margin either way.
    assert_eq!(x.margin(A).order_margin, 0);
}

#[test]
fn query_reports_positions_and_margin() {
    let mut x = Ex::new();
    x.ok(A, CommandKind::SetLeverage(SetLeverage { instrument: BTC, leverage: 10 }));
    let ask = x.order(Side::Sell, 6_000_000, 100);
    x.ok(B, CommandKind::NewOrder(ask));
    let buy = x.order(Side::Buy, 0, 100);
    x.ok(A, CommandKind::NewOrder(buy));
    x.ok(ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: BTC, mark_price: 6_100_000 }));
    let ev = x.ok(A, CommandKind::QueryAccount(QueryAccount { target: A }));
    // Example 11: upnl 10,000, IM 61,000, available 948,700, withdrawable 938,700.
    let pos = ev.iter().find_map(|e| if let EventKind::PositionReport(p) = e { Some(*p) } else { None }).unwrap();
    assert_eq!((pos.position.size, pos.upnl, pos.leverage, pos.mode), (100, 10_000, 10, MarginMode::Cross));
    assert_eq!(pos.maint_margin, 2_440);
    let m = ev.iter().find_map(|e| if let EventKind::MarginReport(m) = e { Some(*m) } else { None }).unwrap();
    assert_eq!((m.wallet, m.equity, m.position_margin), (999_700, 1_009_700, 61_000));
    assert_eq!((m.available, m.withdrawable), (948_700, 938_700));
    assert!(matches!(ev.last(), Some(EventKind::QueryDone(_))));
}

#[test]
fn commands_the_model_never_sends_are_refused_with_their_own_reasons() {
    let mut x = Ex::new();
    // Futures commands on a spot instrument.
    let lev = SetLeverage { instrument: SPOT, leverage: 5 };
    assert_eq!(x.reject(A, CommandKind::SetLeverage(lev)), RejectReason::NotPerpetual);
    let mark = SetMarkPrice { instrument: SPOT, mark_price: 6_000_000 };
    assert_eq!(x.reject(ORACLE, CommandKind::SetMarkPrice(mark)), RejectReason::NotPerpetual);
    // Reduce-only on spot.
    let mut o = x.order(Side::Sell, 6_000_000, 1);
    o.instrument = SPOT;
    let ro = AdvancedOrder { reduce_only: true, ..AdvancedOrder::plain(o) };
    assert_eq!(x.reject(A, CommandKind::NewAdvancedOrder(ro)), RejectReason::InvalidField);
    // Icebergs and lists on a perpetual: spot only for now.
    let o = x.order(Side::Sell, 6_000_000, 10);
    let iceberg = AdvancedOrder { display_qty: 5, ..AdvancedOrder::plain(o) };
    assert_eq!(x.reject(A, CommandKind::NewAdvancedOrder(iceberg)), RejectReason::InvalidField);
    // A tier on a market with a position, a tier out of order.
    let tier = SetRiskTier {
        instrument: BTC,
        index: 3,
        max_leverage: 20,
        mmr_ppm: 25_000,
        max_notional: 200_000_000,
        maint_amount: 1_630_000,
    };
    let ask = x.order(Side::Sell, 6_000_000, 100);
    x.ok(B, CommandKind::NewOrder(ask));
    assert_eq!(x.reject(FEE, CommandKind::SetRiskTier(tier)), RejectReason::PositionOpen);
    // Marks: from another account, zero, too far; funding without a position.
    let m = SetMarkPrice { instrument: BTC, mark_price: 6_000_000 };
    assert_eq!(x.reject(A, CommandKind::SetMarkPrice(m)), RejectReason::NotOracle);
    assert_eq!(
        x.reject(ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { mark_price: 0, ..m })),
        RejectReason::InvalidMarkPrice
    );
    let far = SetMarkPrice { mark_price: 6_300_010, ..m };
    assert_eq!(x.reject(ORACLE, CommandKind::SetMarkPrice(far)), RejectReason::MarkOutsideBand);
    let funding = ApplyFunding { instrument: BTC, rate_ppm: 100, next_funding_time_ns: u64::MAX };
    assert_eq!(x.reject(ORACLE, CommandKind::ApplyFunding(funding)), RejectReason::NoOpenInterest);
    // Transfers: another asset, a wallet transfer beyond the spot balance.
    let t = Transfer { target: A, asset: 2, amount: 5, tx_id: 99 };
    assert_eq!(x.reject(FEE, CommandKind::MarginDeposit(t)), RejectReason::NotMarginAsset);
    let w = WalletTransfer { asset: USDT, amount: 1, to_futures: true };
    assert_eq!(x.reject(A, CommandKind::WalletTransfer(w)), RejectReason::InsufficientBalance);
    // The fee account has no futures wallet to credit.
    let t = Transfer { target: FEE, asset: USDT, amount: 5, tx_id: 100 };
    assert_eq!(x.reject(FEE, CommandKind::MarginDeposit(t)), RejectReason::SystemAccount);
}

#[test]
fn reduce_only_and_close_position_stops_fire_on_the_last_price_and_close_what_they_find() {
    let mut x = Ex::new();
    // A long 100 from B.
    let ask = x.order(Side::Sell, 6_000_000, 100);
    x.ok(B, CommandKind::NewOrder(ask));
    let buy = x.order(Side::Buy, 0, 100);
    x.ok(A, CommandKind::NewOrder(buy));
    // A reduce-only stop-loss for 150 is refused (it could only open); one for 60 arms, and a
    // close-position stop-loss (quantity 0) arms for the whole position.
    let mut sl = x.order(Side::Sell, 0, 150);
    let stop = |o: NewOrder, reduce_only, close_position| AdvancedOrder {
        trigger: Some((5_950_000, TriggerKind::StopLoss)),
        reduce_only,
        close_position,
        ..AdvancedOrder::plain(o)
    };
    assert_eq!(x.reject(A, CommandKind::NewAdvancedOrder(stop(sl, true, false))), RejectReason::ReduceOnlyWouldOpen);
    sl.qty = 60;
    let ev = x.ok(A, CommandKind::NewAdvancedOrder(stop(sl, true, false)));
    assert!(matches!(ev[0], EventKind::Armed(Armed { qty: 60, .. })), "{ev:?}");
    let mut close = x.order(Side::Sell, 0, 0);
    close.qty = 0;
    let ev = x.ok(A, CommandKind::NewAdvancedOrder(stop(close, false, true)));
    assert!(matches!(ev[0], EventKind::Armed(Armed { qty: 100, .. })), "{ev:?}");
    // Armed reduce-only and close-position stops survive a snapshot (their flags are state).
    x.roundtrip();
    // Bids for both, then a trade at 5,950,000 fires both stops, in arming order: the first sells
    // 60, the close-position one sells the 40 left; A is flat.
    let bid = x.order(Side::Buy, 5_950_000, 200);
    x.ok(B, CommandKind::NewOrder(bid));
    let hit = x.order(Side::Sell, 5_950_000, 1);
    let ev = x.ok(B, CommandKind::NewOrder(hit));
    let fired: Vec<_> = ev.iter().filter(|e| matches!(e, EventKind::Triggered(_))).collect();
    assert_eq!(fired.len(), 2, "{ev:?}");
    let sold: Vec<u64> = ev
        .iter()
        .filter_map(|e| match e {
            EventKind::Trade(t) if t.taker_account == A => Some(t.qty),
            _ => None,
        })
        .collect();
    assert_eq!(sold, vec![60, 40], "{ev:?}");
    assert_eq!(x.e.futures_position(A, BTC).unwrap().0.size, 0);
    // A close-position stop armed now has nothing to close: refused; one armed while long is
    // cancelled when it fires after the position is gone.
    let mut close = x.order(Side::Sell, 0, 0);
    close.qty = 0;
    assert_eq!(x.reject(A, CommandKind::NewAdvancedOrder(stop(close, false, true))), RejectReason::ReduceOnlyWouldOpen);
    x.ok(B, CommandKind::Cancel(Cancel { order: OrderRef::Client(bid.client_order_id) }));
    let ask = x.order(Side::Sell, 5_960_000, 10);
    x.ok(B, CommandKind::NewOrder(ask));
    let buy = x.order(Side::Buy, 0, 10);
    x.ok(A, CommandKind::NewOrder(buy));
    let mut close = x.order(Side::Sell, 0, 0);
    close.qty = 0;
    let armed = AdvancedOrder { trigger: Some((5_900_000, TriggerKind::StopLoss)), ..stop(close, false, true) };
    x.ok(A, CommandKind::NewAdvancedOrder(armed));
    let bid = x.order(Side::Buy, 5_920_000, 10);
    x.ok(B, CommandKind::NewOrder(bid));
    let sell = x.order(Side::Sell, 0, 10);
    x.ok(A, CommandKind::NewOrder(sell));
    assert_eq!(x.e.futures_position(A, BTC).unwrap().0.size, 0);
    let bid = x.order(Side::Buy, 5_900_000, 5);
    x.ok(B, CommandKind::NewOrder(bid));
    let hit = x.order(Side::Sell, 5_900_000, 1);
    let ev = x.ok(B, CommandKind::NewOrder(hit));
    assert!(
        ev.iter()
            .any(|e| matches!(e, EventKind::Cancelled(c) if c.account == A && c.reason == CancelReason::ReduceOnly)),
        "{ev:?}"
    );
}

/// `ApplyFunding` carries the oracle's next funding time (docs/futures.md, section 7): it must be
/// strictly after the command's gateway timestamp (`InvalidFundingTime`, nothing changes), it is
/// in `FundingApplied`, and the perpetual remembers it with the rate (snapshot and state hash).
/// Time 0 is "not given" (a journal record of the release before the field): settled as that
/// release did, leaving the announced funding as it was.
#[test]
fn funding_announces_the_next_funding_time_which_must_follow_the_command() {
    let mut x = Ex::new();
    // B sells 100 at 6,000,000 to A: A long 100, B short 100. Fees: A (taker) 300, B (maker) 120.
    let ask = x.order(Side::Sell, 6_000_000, 100);
    x.ok(B, CommandKind::NewOrder(ask));
    let buy = x.order(Side::Buy, 0, 100);
    x.ok(A, CommandKind::NewOrder(buy));
    assert_eq!(x.e.funding(BTC), Some((0, 0)));
    assert_eq!(x.e.funding(SPOT), None);

    // The next command's gateway timestamp is its sequence number: a time at it or before it
    // is refused, whatever the rate.
    let now = x.seq + 1;
    for next in [now, now - 1, 1] {
        let f = ApplyFunding { instrument: BTC, rate_ppm: 100, next_funding_time_ns: next };
        assert_eq!(x.reject(ORACLE, CommandKind::ApplyFunding(f)), RejectReason::InvalidFundingTime, "{next}");
    }
    // Other checks come first: the sender, the perpetual, the rate.
    let late = ApplyFunding { instrument: BTC, rate_ppm: 1_000_000, next_funding_time_ns: 1 };
    assert_eq!(x.reject(A, CommandKind::ApplyFunding(late)), RejectReason::NotOracle);
    assert_eq!(x.reject(ORACLE, CommandKind::ApplyFunding(late)), RejectReason::InvalidField);
    let spot = ApplyFunding { instrument: SPOT, ..late };
    assert_eq!(x.reject(ORACLE, CommandKind::ApplyFunding(spot)), RejectReason::NotPerpetual);
    assert_eq!(x.e.funding(BTC), Some((0, 0)));

    // 100 ppm of 100 × 6,000,000 / 1000: A pays 60, B receives 60; the time is announced.
    let next = 28_800_000_000_000;
    let f = ApplyFunding { instrument: BTC, rate_ppm: 100, next_funding_time_ns: next };
    let wallet = |account, wallet| EventKind::WalletChanged(WalletChanged { account, asset: USDT, wallet, spot: 0 });
    assert_eq!(
        x.ok(ORACLE, CommandKind::ApplyFunding(f)),
        vec![
            EventKind::FundingPayment(FundingPayment { account: A, instrument: BTC, amount: -60 }),
            EventKind::FundingPayment(FundingPayment { account: B, instrument: BTC, amount: 60 }),
            EventKind::FundingApplied(FundingApplied {
                instrument: BTC,
                rate_ppm: 100,
                mark_price: 6_000_000,
                open_interest: 100,
                paid: 60,
                received: 60,
                residue: 0,
                next_funding_time_ns: next,
            }),
            wallet(A, 999_640),
            wallet(B, 999_940),
        ]
    );
    assert_eq!(x.e.funding(BTC), Some((100, next)));
    // It is state: a snapshot keeps it, and it is in the hash.
    x.roundtrip();
    assert_eq!(x.e.funding(BTC), Some((100, next)));
    let hash = x.e.state_hash();
    let mut other = Engine::from_snapshot(&x.e.snapshot()).unwrap();
    let f = ApplyFunding { instrument: BTC, rate_ppm: 0, next_funding_time_ns: next + 1 };
    let mut ev = Vec::new();
    other.apply(
        x.seq + 1,
        &Command { account: ORACLE, timestamp_ns: x.seq + 1, kind: CommandKind::ApplyFunding(f) },
        &mut ev,
    );
    assert!(matches!(ev.as_slice(), [.., Event { kind: EventKind::FundingApplied(_), .. }]), "{ev:?}");
    assert_ne!(other.state_hash(), hash, "a new announced funding changes the hash");

    // No time (a previous release's journal record): settled, -20 ppm (shorts pay longs: B pays
    // ceil(12) = 12, A receives 12), announced funding unchanged.
    let old = ApplyFunding { instrument: BTC, rate_ppm: -20, next_funding_time_ns: 0 };
    let ev = x.ok(ORACLE, CommandKind::ApplyFunding(old));
    assert_eq!(
        ev,
        vec![
            EventKind::FundingPayment(FundingPayment { account: A, instrument: BTC, amount: 12 }),
            EventKind::FundingPayment(FundingPayment { account: B, instrument: BTC, amount: -12 }),
            EventKind::FundingApplied(FundingApplied {
                instrument: BTC,
                rate_ppm: -20,
                mark_price: 6_000_000,
                open_interest: 100,
                paid: 12,
                received: 12,
                residue: 0,
                next_funding_time_ns: 0,
            }),
            wallet(A, 999_652),
            wallet(B, 999_928),
        ]
    );
    assert_eq!(x.e.funding(BTC), Some((100, next)));
    x.roundtrip();
}
