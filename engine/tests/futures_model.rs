//! The reference model of USDT-margined perpetual futures (`futures_model/model.rs`, written
//! from docs/futures.md and nothing else) checked on its own: the tests below reproduce every
//! worked example of docs/futures.md with the same numbers, and a property test checks, after
//! every command of random flows, conservation, that a rejected command changed nothing, and
//! that no negative equity is left unhandled. The engine's differential test
//! (`futures_differential.rs`) feeds the engine and this model the same flows.

#![allow(dead_code)]

#[path = "futures_model/flows.rs"]
mod flows;
#[path = "futures_model/model.rs"]
mod model;

use std::collections::BTreeMap;

use flows::*;
use model::*;
use proptest::prelude::*;

// ===== Worked examples of docs/futures.md ====================================================

struct Ex {
    m: Model,
    tx: u64,
}

impl Ex {
    fn new() -> Ex {
        let mut x = Ex { m: Model::new(10, FUND, ORACLE), tx: 0 };
        x.ok(FCmd::AddPerpetual(btc_spec()));
        for (index, tier) in btc_tiers().into_iter().enumerate() {
            x.ok(FCmd::SetRiskTier { inst: BTC, index, tier });
        }
        x.ok(FCmd::SetTrading { inst: BTC, trading: true });
        x
    }

    fn run(&mut self, c: FCmd) -> Vec<FEvent> {
        let before = self.m.clone();
        let ev = self.m.apply(&c);
        if matches!(ev.as_slice(), [FEvent::Rejected(_)]) {
            assert_eq!(self.m, before, "a rejected command changed the model");
        }
        self.m.check_invariants();
        ev
    }

    fn ok(&mut self, c: FCmd) -> Vec<FEvent> {
        let ev = self.run(c);
        assert!(!ev.iter().any(|e| matches!(e, FEvent::Rejected(_))), "{c:?} → {ev:?}");
        ev
    }

    fn reject(&mut self, c: FCmd) -> FReject {
        match self.run(c).as_slice() {
            [FEvent::Rejected(r)] => *r,
            other => panic!("{c:?} accepted: {other:?}"),
        }
    }

    fn deposit(&mut self, account: AccountId, amount: Money) {
        self.tx += 1;
        self.ok(FCmd::Deposit { account, amount, tx_id: self.tx });
    }

    fn limit(&mut self, account: AccountId, side: Side, price: u64, qty: u64) -> Vec<FEvent> {
        self.ok(order(account, side, OrderKind::Limit { price, ioc: false }, qty, false))
    }

    fn mark(&mut self, mark: u64) -> Vec<FEvent> {
        self.ok(FCmd::SetMarkPrice { sender: ORACLE, inst: BTC, mark })
    }
}

fn order(account: AccountId, side: Side, kind: OrderKind, qty: u64, reduce_only: bool) -> FCmd {
    FCmd::NewOrder { account, inst: BTC, side, kind, qty, reduce_only, close_position: false }
}

fn trades(ev: &[FEvent]) -> Vec<(u64, u64, Money, Money)> {
    ev.iter()
        .filter_map(|e| match *e {
            FEvent::Trade { price, qty, maker_fee, taker_fee, .. } => Some((price, qty, maker_fee, taker_fee)),
            _ => None,
        })
        .collect()
}

/// Example 1 and 2: opening and increasing a long (cash rounding, fees, cost basis, entry price).
#[test]
fn example_open_and_increase() {
    let mut x = Ex::new();
    x.deposit(A, 1_000_000);
    x.deposit(B, 1_000_000);
    x.ok(FCmd::SetLeverage { account: A, inst: BTC, leverage: 10 });
    x.limit(B, Side::Sell, 6_000_000, 100);
    let ev = x.limit(A, Side::Buy, 6_000_000, 100);
    assert_eq!(trades(&ev), vec![(6_000_000, 100, 120, 300)]);
    let p = x.m.pos(A, BTC);
    assert_eq!((p.size, p.cost), (100, 600_000));
    assert_eq!(x.m.acct(A).wallet, 999_700);
    assert_eq!(x.m.initial_margin(A, BTC), 60_000);
    assert_eq!(x.m.maint_margin(A, BTC), 2_400);
    assert_eq!(x.m.available(A), 999_700 - 60_000);

    // Example 2: 37 more at 6,012,370 from a new maker C.
    x.deposit(C, 1_000_000);
    x.limit(C, Side::Sell, 6_012_370, 37);
    let ev = x.limit(A, Side::Buy, 6_012_370, 37);
    // 6,012,370 × 37 / 1000 = 222,457.69: the buyer pays 222,458, the seller gets 222,457.
    assert_eq!(trades(&ev), vec![(6_012_370, 37, 45, 112)]);
    let p = x.m.pos(A, BTC);
    assert_eq!((p.size, p.cost), (137, 822_458));
    assert_eq!(x.m.entry_price(A, BTC), 6_003_344); // ceil(822,458,000 / 137) = ceil(6,003,343.07)
    assert_eq!(x.m.pos(C, BTC).cost, 222_457);
    assert_eq!(x.m.fees(), 120 + 300 + 1 + 45 + 112);
    assert_eq!(x.m.acct(A).wallet, 1_000_000 - 300 - 112);
}

/// Example 3 and 4: partial close (basis removed rounded up for a long), then a flip.
#[test]
fn example_reduce_and_flip() {
    let mut x = Ex::new();
    for a in [A, B, C] {
        x.deposit(a, 1_000_000);
    }
    x.limit(B, Side::Sell, 6_000_000, 100);
    x.limit(A, Side::Buy, 6_000_000, 100);
    x.limit(C, Side::Sell, 6_012_370, 37);
    x.limit(A, Side::Buy, 6_012_370, 37);
    let w0 = x.m.acct(A).wallet;
    assert_eq!(w0, 999_588);

    // Example 3: A sells 50 to D's bid at 6,100,000.
    x.deposit(D, 1_000_000);
    x.limit(D, Side::Buy, 6_100_000, 50);
    let ev = x.ok(order(A, Side::Sell, OrderKind::Market, 50, false));
    assert_eq!(trades(&ev), vec![(6_100_000, 50, 61, 153)]);
    let p = x.m.pos(A, BTC);
    // removed = ceil(822,458 × 50 / 137) = ceil(300,167.15) = 300,168; proceeds 305,000.
    assert_eq!((p.size, p.cost, p.realised), (87, 522_290, 4_832));
    assert_eq!(x.m.acct(A).wallet, w0 + 4_832 - 153);

    // Example 4: A sells 120 at 6,090,000 to D: closes 87, opens a short of 33.
    x.limit(D, Side::Buy, 6_090_000, 120);
    let ev = x.ok(order(A, Side::Sell, OrderKind::Market, 120, false));
    assert_eq!(trades(&ev), vec![(6_090_000, 120, 147, 366)]);
    let p = x.m.pos(A, BTC);
    // Closing part: floor(6,090,000 × 87 / 1000) = 529,830 − 522,290 = 7,540 realised.
    // Opening part: 730,800 − 529,830 = 200,970 received for 33.
    assert_eq!((p.size, p.cost, p.realised), (-33, 200_970, 4_832 + 7_540));
    assert_eq!(x.m.entry_price(A, BTC), 6_090_000);
    assert_eq!(x.m.acct(A).wallet, w0 + 4_832 - 153 + 7_540 - 366);
}

/// Example 5: order margin, the margin check and the position limit.
#[test]
fn example_order_margin() {
    let mut x = Ex::new();
    x.deposit(A, 100_000);
    x.ok(FCmd::SetLeverage { account: A, inst: BTC, leverage: 20 });
    // A resting buy of 150 at 5,990,000: notional 898,500, IM 44,925, fee reserve 450.
    x.limit(A, Side::Buy, 5_990_000, 150);
    assert_eq!(x.m.available(A), 100_000 - 45_375);
    // A resting sell of 100 at 6,050,000 opens too (flat position): IM 30,250 + fee 303.
    x.limit(A, Side::Sell, 6_050_000, 100);
    assert_eq!(x.m.available(A), 100_000 - 45_375 - 30_553);
    // A buy of 10 at 6,010,000 (above the mark): the buy side's margin grows by 3,035 and the
    // order's open loss is 100.
    assert_eq!(x.m.order_need(A, BTC, Side::Buy, 10, 6_010_000 * 10), 3_035 + 100);
    // 60 more at 5,990,000 needs 18,149 of the 24,072 available; 90 more would need 27,224.
    assert_eq!(x.m.order_need(A, BTC, Side::Buy, 60, 5_990_000 * 60), 18_149);
    assert_eq!(x.m.order_need(A, BTC, Side::Buy, 90, 5_990_000 * 90), 27_224);
    let r = x.reject(order(A, Side::Buy, OrderKind::Limit { price: 5_990_000, ioc: false }, 90, false));
    assert_eq!(r, FReject::InsufficientMargin);
    x.limit(A, Side::Buy, 5_990_000, 60);
    assert_eq!(x.m.available(A), 24_072 - 18_149);
    // At 100x the cap is 250,000 USDT: 210 resting + 3,990 = 4,200 at the mark is 252,000 USDT.
    x.ok(FCmd::SetLeverage { account: A, inst: BTC, leverage: 100 });
    let r = x.reject(order(A, Side::Buy, OrderKind::Limit { price: 5_990_000, ioc: false }, 3_990, false));
    assert_eq!(r, FReject::PositionLimitExceeded);
    assert_eq!(x.reject(FCmd::SetLeverage { account: A, inst: BTC, leverage: 126 }), FReject::LeverageAboveTier);
}

/// Example 6: reduce-only orders never open and are trimmed when the position shrinks.
#[test]
fn example_reduce_only() {
    let mut x = Ex::new();
    for a in [A, B] {
        x.deposit(a, 1_000_000);
    }
    x.limit(B, Side::Sell, 6_000_000, 100);
    x.limit(A, Side::Buy, 6_000_000, 100);
    assert_eq!(
        x.reject(order(A, Side::Buy, OrderKind::Limit { price: 5_990_000, ioc: false }, 10, true)),
        FReject::ReduceOnlyWouldOpen
    );
    assert_eq!(
        x.reject(order(A, Side::Sell, OrderKind::Limit { price: 6_100_000, ioc: false }, 101, true)),
        FReject::ReduceOnlyWouldOpen
    );
    // Two reduce-only sells of 80 and 100 (each at most the position).
    x.ok(order(A, Side::Sell, OrderKind::Limit { price: 6_100_000, ioc: false }, 80, true)); // order 3
    x.ok(order(A, Side::Sell, OrderKind::Limit { price: 6_200_000, ioc: false }, 100, true)); // order 4
    assert_eq!(x.m.available(A), x.m.cross_equity(A) - 60_000 / 2, "reduce-only orders hold nothing");
    // A sells 70 at market to B's bid: the position is 30; order 3 is trimmed to 30, order 4 to 30.
    x.limit(B, Side::Buy, 5_990_000, 70);
    let ev = x.ok(order(A, Side::Sell, OrderKind::Market, 70, false));
    let trims: Vec<_> = ev.iter().filter(|e| matches!(e, FEvent::Trimmed { .. })).copied().collect();
    assert_eq!(
        trims,
        vec![
            FEvent::Trimmed { order_id: 3, account: A, inst: BTC, leaves: 30, cut: 50 },
            FEvent::Trimmed { order_id: 4, account: A, inst: BTC, leaves: 30, cut: 70 },
        ]
    );
    // A close-position order closes the remaining 30; both reduce-only orders are then cancelled.
    x.limit(B, Side::Buy, 5_980_000, 30);
    let ev = x.ok(FCmd::NewOrder {
        account: A,
        inst: BTC,
        side: Side::Sell,
        kind: OrderKind::Market,
        qty: 0,
        reduce_only: false,
        close_position: true,
    });
    assert!(ev.contains(&FEvent::Cancelled {
        order_id: 3,
        account: A,
        inst: BTC,
        qty: 30,
        reason: FCancelReason::ReduceOnly
    }));
    assert!(ev.contains(&FEvent::Cancelled {
        order_id: 4,
        account: A,
        inst: BTC,
        qty: 30,
        reason: FCancelReason::ReduceOnly
    }));
    assert_eq!(x.m.pos(A, BTC).size, 0);
    assert!(x.m.book(BTC).is_empty());
}

/// A funding of `rate_ppm` from `sender` at 00:00 UTC, 1 Jan 2026, announcing `next_ns`.
fn funding_at(sender: AccountId, rate_ppm: i128, next_ns: u64) -> FCmd {
    FCmd::ApplyFunding { sender, inst: BTC, rate_ppm, at_ns: 1_767_225_600_000_000_000, next_ns }
}

/// The same, announcing the next funding 8 hours later.
fn funding(sender: AccountId, rate_ppm: i128) -> FCmd {
    funding_at(sender, rate_ppm, 1_767_225_600_000_000_000 + 8 * 3_600_000_000_000)
}

/// Example 7: funding (payers round up, receivers down, residue to the insurance fund), and the
/// next funding time it announces (after the command's own time).
#[test]
fn example_funding() {
    let mut x = Ex::new();
    for a in [A, B, C] {
        x.deposit(a, 1_000_000);
    }
    assert_eq!(x.reject(funding(ORACLE, 100)), FReject::NoOpenInterest);
    x.limit(B, Side::Sell, 6_000_000, 70);
    x.limit(C, Side::Sell, 6_000_000, 67);
    x.ok(order(A, Side::Buy, OrderKind::Market, 137, false));
    x.mark(6_050_000);
    assert_eq!(x.reject(funding(A, 100)), FReject::NotOracle);
    let at = 1_767_225_600_000_000_000;
    for next in [at, at - 1] {
        assert_eq!(x.reject(funding_at(ORACLE, 100, next)), FReject::InvalidFundingTime);
    }
    assert_eq!(x.m.insts[&BTC].funding, (0, 0));
    let (wa, wb, wc, wf) = (x.m.acct(A).wallet, x.m.acct(B).wallet, x.m.acct(C).wallet, x.m.acct(FUND).wallet);
    let ev = x.ok(funding(ORACLE, 100));
    // A: 137 × 6,050,000 × 100 / 1e9 = 82.885 → pays 83; B: 42.35 → 42; C: 40.535 → 40.
    assert_eq!(
        ev[..4],
        [
            FEvent::FundingPayment { account: A, inst: BTC, amount: -83 },
            FEvent::FundingPayment { account: B, inst: BTC, amount: 42 },
            FEvent::FundingPayment { account: C, inst: BTC, amount: 40 },
            FEvent::FundingApplied {
                inst: BTC,
                rate_ppm: 100,
                mark: 6_050_000,
                open_interest: 137,
                paid: 83,
                received: 82,
                residue: 1,
                next_ns: at + 8 * 3_600_000_000_000,
            },
        ]
    );
    assert_eq!(x.m.insts[&BTC].funding, (100, at + 8 * 3_600_000_000_000));
    assert_eq!((x.m.acct(A).wallet, x.m.acct(B).wallet, x.m.acct(C).wallet), (wa - 83, wb + 42, wc + 40));
    assert_eq!(x.m.acct(FUND).wallet, wf + 1);
}

/// Sets up example 8/9: A long 1 BTC isolated at 20x from 6,000,000; B, C short.
fn liquidation_setup(fund: Money) -> Ex {
    let mut x = Ex::new();
    for a in [A, B, C, D] {
        x.deposit(a, 2_000_000);
    }
    if fund > 0 {
        x.deposit(FUND, fund);
    }
    x.ok(FCmd::SetMarginMode { account: A, inst: BTC, isolated: true });
    x.ok(FCmd::SetLeverage { account: A, inst: BTC, leverage: 20 });
    x.limit(B, Side::Sell, 6_000_000, 600);
    x.limit(C, Side::Sell, 6_000_000, 400);
    x.ok(order(A, Side::Buy, OrderKind::Market, 1_000, false));
    x
}

/// Example 8: isolated liquidation and bankruptcy prices, liquidation through the book, then
/// takeover by the insurance fund.
#[test]
fn example_isolated_liquidation_and_takeover() {
    let mut x = liquidation_setup(500_000);
    let p = x.m.pos(A, BTC);
    // IM moved into the isolated margin: 6,000,000 / 20 = 300,000, minus the taker fee 3,000.
    assert_eq!((p.size, p.cost, p.iso), (1_000, 6_000_000, 297_000));
    assert_eq!(x.m.liq_price(A, BTC), 5_726_634);
    assert_eq!(x.m.bankruptcy_price(A, BTC), 5_703_000);
    // D bids 600 at 5,710,000 and 200 at 5,705,000.
    x.limit(D, Side::Buy, 5_710_000, 600);
    x.limit(D, Side::Buy, 5_705_000, 200);
    x.mark(5_726_640);
    assert_eq!(x.m.pos(A, BTC).size, 1_000, "one tick above the liquidation price: nothing happens");
    let ev = x.mark(5_726_630);
    let liquidation_trade = |trade_id, price, qty, maker_order, maker_fee| FEvent::Trade {
        trade_id,
        inst: BTC,
        price,
        qty,
        taker_side: Side::Sell,
        maker_order,
        maker_account: D,
        taker_order: 0,
        taker_account: A,
        maker_fee,
        taker_fee: 0,
        liquidation: true,
    };
    // The book takes 800 (3,426,000 + 1,141,000), the fund 200 at 5,703,000 (1,140,600):
    // A's margin is 297,000 + 5,707,600 − 6,000,000 = 4,600, the clearance to the fund.
    assert_eq!(
        ev,
        vec![
            FEvent::MarkPriceSet { inst: BTC, mark: 5_726_630 },
            FEvent::Liquidation {
                account: A,
                inst: BTC,
                size: 1_000,
                mark: 5_726_630,
                liq_price: 5_726_634,
                bankruptcy_price: 5_703_000
            },
            liquidation_trade(3, 5_710_000, 600, 4, 686),
            liquidation_trade(4, 5_705_000, 200, 5, 229),
            FEvent::TakenOver { account: A, inst: BTC, qty: 200, price: 5_703_000 },
            FEvent::LiquidationDone { account: A, inst: BTC, clearance: 4_600 },
            FEvent::PositionChanged {
                account: D,
                inst: BTC,
                size: 800,
                cost: 4_567_000,
                entry_price: 5_708_750,
                realised_pnl: 0,
                isolated_margin: 0,
                liq_price: 3_222_786
            },
            FEvent::PositionChanged {
                account: A,
                inst: BTC,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: -292_400,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::PositionChanged {
                account: FUND,
                inst: BTC,
                size: 200,
                cost: 1_140_600,
                entry_price: 5_703_000,
                realised_pnl: 0,
                isolated_margin: 0,
                liq_price: 3_192_776
            },
            FEvent::WalletChanged { account: D, wallet: 1_999_085, spot: 0 },
            FEvent::WalletChanged { account: FUND, wallet: 504_600, spot: 0 },
        ]
    );
    let f = x.m.pos(FUND, BTC);
    assert_eq!((f.size, f.cost), (200, 1_140_600));
    assert_eq!(x.m.acct(FUND).wallet, 500_000 + 4_600);
    assert_eq!((x.m.pos(A, BTC).size, x.m.pos(A, BTC).iso), (0, 0));
}

/// Example 13: example 8's position with a close-position stop-loss on the mark at 5,740,000.
/// The mark that liquidates it in example 8 fires the stop first; its sale closes the position
/// before the liquidation check, which finds nothing left.
#[test]
fn example_mark_price_stop_before_liquidation() {
    let mut x = liquidation_setup(0);
    let stop = FCmd::NewStop {
        account: A,
        inst: BTC,
        side: Side::Sell,
        kind: OrderKind::Market,
        qty: 0,
        trigger_price: 5_740_000,
        take_profit: false,
        reduce_only: false,
        close_position: true,
    };
    // No mark from the oracle yet (the mark is the reference price).
    assert_eq!(x.reject(stop), FReject::NoMarkPrice);
    x.mark(6_001_000);
    let armed =
        FEvent::Armed { order_id: 4, account: A, inst: BTC, side: Side::Sell, qty: 1_000, trigger_price: 5_740_000 };
    assert_eq!(x.ok(stop), vec![armed]);
    x.limit(D, Side::Buy, 5_730_000, 1_000);
    let ev = x.mark(5_726_630);
    // Sold at 5,730,000: realised −270,000, taker fee 2,865; the isolated margin left, 24,135,
    // returns to the wallet (1,700,000).
    assert_eq!(
        ev,
        vec![
            FEvent::MarkPriceSet { inst: BTC, mark: 5_726_630 },
            FEvent::Triggered { order_id: 4, account: A, inst: BTC, trigger_price: 5_740_000, mark: 5_726_630 },
            FEvent::Trade {
                trade_id: 3,
                inst: BTC,
                price: 5_730_000,
                qty: 1_000,
                taker_side: Side::Sell,
                maker_order: 5,
                maker_account: D,
                taker_order: 4,
                taker_account: A,
                maker_fee: 1_146,
                taker_fee: 2_865,
                liquidation: false,
            },
            FEvent::PositionChanged {
                account: D,
                inst: BTC,
                size: 1_000,
                cost: 5_730_000,
                entry_price: 5_730_000,
                realised_pnl: 0,
                isolated_margin: 0,
                liq_price: 3_746_131
            },
            FEvent::PositionChanged {
                account: A,
                inst: BTC,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: -270_000,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::WalletChanged { account: D, wallet: 1_998_854, spot: 0 },
            FEvent::WalletChanged { account: A, wallet: 1_724_135, spot: 0 },
        ]
    );
}

/// Example 9: a gap (the mark jumps below the bankruptcy price), an empty insurance fund, ADL.
#[test]
fn example_gap_liquidation_and_adl() {
    let mut x = Ex::new();
    for (a, d) in [(A, 2_000_000), (B, 2_000_000), (C, 200_000)] {
        x.deposit(a, d);
    }
    x.ok(FCmd::SetMarginMode { account: A, inst: BTC, isolated: true });
    x.limit(B, Side::Sell, 6_000_000, 600);
    x.limit(C, Side::Sell, 6_000_000, 400);
    x.ok(order(A, Side::Buy, OrderKind::Market, 1_000, false));
    let ev = x.mark(5_700_000);
    // The mark is below A's bankruptcy price: nothing bids at 5,703,000 or above, and the empty
    // fund cannot hold the position (it would be under water at once): ADL, C first (same PnL
    // ratio as B, higher effective leverage).
    assert_eq!(
        ev,
        vec![
            FEvent::MarkPriceSet { inst: BTC, mark: 5_700_000 },
            FEvent::Liquidation {
                account: A,
                inst: BTC,
                size: 1_000,
                mark: 5_700_000,
                liq_price: 5_726_634,
                bankruptcy_price: 5_703_000
            },
            FEvent::AutoDeleveraged { account: A, counterparty: C, inst: BTC, qty: 400, price: 5_703_000 },
            FEvent::AutoDeleveraged { account: A, counterparty: B, inst: BTC, qty: 600, price: 5_703_000 },
            FEvent::LiquidationDone { account: A, inst: BTC, clearance: 0 },
            FEvent::PositionChanged {
                account: A,
                inst: BTC,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: -297_000,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::PositionChanged {
                account: C,
                inst: BTC,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: 118_800,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::PositionChanged {
                account: B,
                inst: BTC,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: 178_200,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::WalletChanged { account: C, wallet: 318_320, spot: 0 },
            FEvent::WalletChanged { account: B, wallet: 2_177_480, spot: 0 },
        ]
    );
}

/// Example 10: cross margin over two instruments: budgets, keys, re-budgeting, then a cross
/// liquidation (takeover of one position, ADL of the other).
#[test]
fn example_cross_two_instruments() {
    let mut x = Ex::new();
    x.ok(FCmd::AddPerpetual(PerpSpec { inst: ETH, reference_price: 300_000, ..btc_spec() }));
    for (index, tier) in btc_tiers().into_iter().enumerate() {
        x.ok(FCmd::SetRiskTier { inst: ETH, index, tier });
    }
    x.ok(FCmd::SetTrading { inst: ETH, trading: true });
    for (a, d) in [(A, 500_000), (B, 2_000_000), (D, 2_000_000)] {
        x.deposit(a, d);
    }
    x.limit(B, Side::Sell, 6_000_000, 1_000);
    x.ok(order(A, Side::Buy, OrderKind::Market, 1_000, false));
    assert_eq!(x.m.acct(A).wallet, 497_000);
    assert_eq!(
        (x.m.index_key(A, BTC), x.m.liq_price(A, BTC), x.m.bankruptcy_price(A, BTC)),
        (5_525_629, 5_525_629, 5_503_000)
    );
    x.ok(FCmd::NewOrder {
        account: D,
        inst: ETH,
        side: Side::Buy,
        kind: OrderKind::Limit { price: 300_000, ioc: false },
        qty: 10_000,
        reduce_only: false,
        close_position: false,
    });
    x.ok(FCmd::NewOrder {
        account: A,
        inst: ETH,
        side: Side::Sell,
        kind: OrderKind::Market,
        qty: 10_000,
        reduce_only: false,
        close_position: false,
    });
    assert_eq!(x.m.acct(A).wallet, 495_500);
    assert_eq!((x.m.maint_margin(A, BTC), x.m.maint_margin(A, ETH), x.m.surplus(A, BTC)), (25_000, 12_000, 458_500));
    assert_eq!((x.m.index_key(A, BTC), x.m.index_key(A, ETH)), (5_688_647, 314_811));
    assert_eq!((x.m.liq_price(A, BTC), x.m.liq_price(A, ETH)), (5_539_196, 345_668));
    // ETH +5%: the ETH key is crossed, the account is healthy (surplus 307,900): re-budgeted.
    let ev = x.ok(FCmd::SetMarkPrice { sender: ORACLE, inst: ETH, mark: 315_000 });
    assert_eq!(ev, vec![FEvent::MarkPriceSet { inst: ETH, mark: 315_000 }]);
    assert_eq!(x.m.surplus(A, BTC), 307_900);
    assert_eq!((x.m.index_key(A, BTC), x.m.index_key(A, ETH)), (5_794_251, 325_277));
    // BTC −5%: crossed again, still healthy (9,400): re-budgeted.
    x.mark(5_700_000);
    assert_eq!(x.m.surplus(A, BTC), 9_400);
    // BTC 5,690,000: surplus −550: every cross position of A is liquidated.
    let ev = x.mark(5_690_000);
    assert_eq!(
        ev,
        vec![
            FEvent::MarkPriceSet { inst: BTC, mark: 5_690_000 },
            FEvent::Liquidation {
                account: A,
                inst: BTC,
                size: 1_000,
                mark: 5_690_000,
                liq_price: 5_690_553,
                bankruptcy_price: 5_654_500
            },
            FEvent::TakenOver { account: A, inst: BTC, qty: 1_000, price: 5_654_500 },
            FEvent::Liquidation {
                account: A,
                inst: ETH,
                size: -10_000,
                mark: 315_000,
                liq_price: 313_745,
                bankruptcy_price: 315_000
            },
            FEvent::AutoDeleveraged { account: A, counterparty: D, inst: ETH, qty: 10_000, price: 315_000 },
            FEvent::LiquidationDone { account: A, inst: BTC, clearance: 0 },
            FEvent::PositionChanged {
                account: A,
                inst: BTC,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: -345_500,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::PositionChanged {
                account: FUND,
                inst: BTC,
                size: 1_000,
                cost: 5_654_500,
                entry_price: 5_654_500,
                realised_pnl: 0,
                isolated_margin: 0,
                liq_price: 5_677_890
            },
            FEvent::PositionChanged {
                account: A,
                inst: ETH,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: -150_000,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::PositionChanged {
                account: D,
                inst: ETH,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: 150_000,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::WalletChanged { account: A, wallet: 0, spot: 0 },
            FEvent::WalletChanged { account: D, wallet: 2_149_400, spot: 0 },
        ]
    );
}

/// Example 11: withdrawal limit, wallet transfer, and a principal deduction that liquidates.
#[test]
fn example_transfers() {
    let mut x = Ex::new();
    x.deposit(A, 1_000_000);
    x.deposit(B, 1_000_000);
    x.ok(FCmd::SetLeverage { account: A, inst: BTC, leverage: 10 });
    x.limit(B, Side::Sell, 6_000_000, 100);
    x.limit(A, Side::Buy, 6_000_000, 100);
    x.mark(6_100_000);
    assert_eq!((x.m.available(A), x.m.withdrawable(A)), (948_700, 938_700));
    assert_eq!(x.reject(FCmd::Withdraw { account: A, amount: 938_701, tx_id: 900 }), FReject::InsufficientMargin);
    x.ok(FCmd::WalletTransfer { account: A, amount: 938_700, to_futures: false });
    assert_eq!((x.m.acct(A).wallet, x.m.acct(A).spot), (61_000, 938_700));
    x.mark(5_900_000);
    assert_eq!((x.m.withdrawable(A), x.m.surplus(A, BTC)), (-8_000, 48_640));
    assert_eq!(x.reject(FCmd::AdminDebit { account: A, amount: 61_001, tx_id: 901 }), FReject::InsufficientBalance);
    let ev = x.ok(FCmd::AdminDebit { account: A, amount: 50_000, tx_id: 902 });
    // Surplus 11,000 + floor(−10,000 − 2,360) = −1,360: liquidated in the same command. The
    // empty fund would be at 1,000 − 2,360 after a takeover at 5,890,000: ADL against B.
    assert_eq!(
        ev,
        vec![
            FEvent::TransferApplied { account: A, kind: TransferKind::AdminDebit, amount: 50_000 },
            FEvent::Liquidation {
                account: A,
                inst: BTC,
                size: 100,
                mark: 5_900_000,
                liq_price: 5_913_664,
                bankruptcy_price: 5_890_000
            },
            FEvent::AutoDeleveraged { account: A, counterparty: B, inst: BTC, qty: 100, price: 5_890_000 },
            FEvent::LiquidationDone { account: A, inst: BTC, clearance: 0 },
            FEvent::PositionChanged {
                account: A,
                inst: BTC,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: -11_000,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::PositionChanged {
                account: B,
                inst: BTC,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: 11_000,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::WalletChanged { account: A, wallet: 0, spot: 938_700 },
            FEvent::WalletChanged { account: B, wallet: 1_010_880, spot: 0 },
        ]
    );
}

/// Example 12: a voluntary close below the bankruptcy price: the insurance fund pays the deficit.
#[test]
fn example_bankrupt_close() {
    let mut x = Ex::new();
    for (a, d) in [(A, 2_000_000), (B, 2_000_000), (D, 2_000_000), (FUND, 100_000)] {
        x.deposit(a, d);
    }
    x.ok(FCmd::SetMarginMode { account: A, inst: BTC, isolated: true });
    x.limit(B, Side::Sell, 6_000_000, 1_000);
    x.ok(order(A, Side::Buy, OrderKind::Market, 1_000, false));
    x.limit(D, Side::Buy, 5_700_000, 1_000);
    let ev = x.ok(order(A, Side::Sell, OrderKind::Market, 1_000, false));
    // Isolated margin 297,000 − 300,000 realised − 2,850 fee = −5,850: paid by the fund.
    assert_eq!(
        ev,
        vec![
            FEvent::Accepted { order_id: 4, account: A, inst: BTC, side: Side::Sell, price: 0, qty: 1_000 },
            FEvent::Trade {
                trade_id: 2,
                inst: BTC,
                price: 5_700_000,
                qty: 1_000,
                taker_side: Side::Sell,
                maker_order: 3,
                maker_account: D,
                taker_order: 4,
                taker_account: A,
                maker_fee: 1_140,
                taker_fee: 2_850,
                liquidation: false
            },
            FEvent::BankruptcyCovered { account: A, amount: 5_850 },
            FEvent::PositionChanged {
                account: D,
                inst: BTC,
                size: 1_000,
                cost: 5_700_000,
                entry_price: 5_700_000,
                realised_pnl: 0,
                isolated_margin: 0,
                liq_price: 3_716_005
            },
            FEvent::PositionChanged {
                account: A,
                inst: BTC,
                size: 0,
                cost: 0,
                entry_price: 0,
                realised_pnl: -300_000,
                isolated_margin: 0,
                liq_price: 0
            },
            FEvent::WalletChanged { account: D, wallet: 1_998_860, spot: 0 },
            FEvent::WalletChanged { account: FUND, wallet: 94_150, spot: 0 },
        ]
    );
}

/// Oracle commands: only from the oracle, never zero, within the band of the last mark.
#[test]
fn example_oracle_rejects() {
    let mut x = Ex::new();
    let mark = |sender, mark| FCmd::SetMarkPrice { sender, inst: BTC, mark };
    assert_eq!(x.reject(mark(A, 6_000_010)), FReject::NotOracle);
    assert_eq!(x.reject(mark(ORACLE, 0)), FReject::InvalidMarkPrice);
    assert_eq!(x.reject(mark(ORACLE, 6_300_001)), FReject::MarkOutsideBand);
    assert_eq!(x.reject(FCmd::SetMarkPrice { sender: ORACLE, inst: 7, mark: 1 }), FReject::UnknownInstrument);
    x.ok(mark(ORACLE, 6_300_000));
    assert_eq!(x.reject(funding(ORACLE, 1_000_000)), FReject::InvalidField);
    // The rate is checked before the time.
    assert_eq!(x.reject(funding_at(ORACLE, 1_000_000, 1)), FReject::InvalidField);
}

// ===== Property test =========================================================================

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// After every command of a random flow: conservation, the invariants of docs/futures.md, and
    /// a rejected command changed nothing.
    #[test]
    fn random_flows_keep_the_invariants(ops in prop::collection::vec(op(), 1..250)) {
        let mut m = prop_model();
        let mut tx = 0;
        for op in &ops {
            let cmd = to_cmd(&m, op, &mut tx);
            let before = m.clone();
            let ev = m.apply(&cmd);
            if matches!(ev.as_slice(), [FEvent::Rejected(_)]) {
                prop_assert_eq!(&m, &before, "rejected {:?} changed the model", cmd);
            }
            prop_assert!(!ev.iter().skip(1).any(|e| matches!(e, FEvent::Rejected(_))));
            m.check_invariants();
        }
    }

    /// The liquidation price is exact: the mark crosses it iff the margin surplus is ≤ 0.
    #[test]
    fn liquidation_price_is_the_exact_threshold(
        long in any::<bool>(),
        qty in 1i128..5_000,
        entry in 1_000_000u64..10_000_000,
        iso_ppm in 5_000i128..200_000,
        probe in -3_000i64..3_000,
    ) {
        let mut m = prop_model();
        let cost = if long { ceil_div(entry as i128 * qty, 1000) } else { floor_div(entry as i128 * qty, 1000) };
        let iso = cost * iso_ppm / PPM;
        let p = Pos { size: if long { qty } else { -qty }, cost, iso, isolated: true, ..Pos::default() };
        m.accts[0].pos.insert(BTC, p);
        let key = m.display_liq_price(0, BTC);
        let around = key.map_or(entry as i64, |k| k as i64) + probe;
        for mark in [around.max(1) as u64, (around + 1).max(1) as u64] {
            m.insts.get_mut(&BTC).unwrap().mark = mark;
            m.accts[0].pos.get_mut(&BTC).unwrap().key = key;
            prop_assert_eq!(m.crossed(0, BTC), m.surplus(0, BTC) <= 0, "mark {} key {:?}", mark, key);
        }
    }
}

/// The generator reaches the paths the property is about (it is not vacuous): trades,
/// liquidations through the book, takeovers, ADL, funding, trims, multi-instrument cross accounts.
#[test]
fn generator_covers_the_futures_rules() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<&'static str, u32> = BTreeMap::new();
    for _ in 0..128 {
        let ops = prop::collection::vec(op(), 1..250).new_tree(&mut runner).unwrap().current();
        let mut m = prop_model();
        let mut tx = 0;
        for op in &ops {
            let cmd = to_cmd(&m, op, &mut tx);
            for e in m.apply(&cmd) {
                let kind = match e {
                    FEvent::Trade { liquidation: true, .. } => "liquidation trade",
                    FEvent::Trade { .. } => "trade",
                    FEvent::Liquidation { .. } => "liquidation",
                    FEvent::TakenOver { .. } => "takeover",
                    FEvent::AutoDeleveraged { .. } => "adl",
                    FEvent::FundingPayment { .. } => "funding",
                    FEvent::Trimmed { .. } => "trim",
                    FEvent::Cancelled { reason: FCancelReason::Liquidation, .. } => "liquidation cancel",
                    FEvent::Triggered { .. } => "mark stop fired",
                    FEvent::Rejected(_) => "reject",
                    _ => continue,
                };
                *seen.entry(kind).or_default() += 1;
            }
            if (0..6).any(|a| m.cross_positions(a).count() > 1) {
                *seen.entry("two cross positions").or_default() += 1;
            }
        }
    }
    for kind in [
        "trade",
        "liquidation",
        "liquidation trade",
        "takeover",
        "adl",
        "funding",
        "trim",
        "reject",
        "two cross positions",
        "mark stop fired",
    ] {
        assert!(seen.get(kind).copied().unwrap_or(0) > 0, "never reached: {kind} ({seen:?})");
    }
}
