//! Mark-price triggers on perpetuals (docs/futures.md, "Mark-price triggers"), with whole event
//! lists: arming against the mark, firing on mark moves both ways (stop-loss and take-profit,
//! market and limit), a stop-loss the mark fires closing a position before the liquidation check
//! of the same `SetMarkPrice` (docs/futures.md, example 13), the rejects, cancels and trigger
//! amends, halts and closing, expiry, reduce-only sizing, a cascade into last-price stops, and
//! snapshots.

mod futures_common;

use engine::*;
use futures_common::*;

const C: AccountId = 3;
const D: AccountId = 4;

use TriggerKind::{StopLoss, TakeProfit};

fn set_mark(mark_price: Price) -> CommandKind {
    CommandKind::SetMarkPrice(SetMarkPrice { instrument: BTC, mark_price })
}

/// A conditional `NewAdvancedOrder` that the mark fires.
fn by_mark(o: NewOrder, trigger: (Price, TriggerKind)) -> AdvancedOrder {
    AdvancedOrder { trigger: Some(trigger), trigger_source: TriggerSource::MarkPrice, ..AdvancedOrder::plain(o) }
}

fn new_stop(a: AdvancedOrder) -> CommandKind {
    CommandKind::NewAdvancedOrder(a)
}

/// Opens account `a` with `amount` in its futures wallet.
fn open_account(x: &mut Ex, a: AccountId, amount: u64, tx_id: u64) {
    x.ok(FEE, CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active }));
    x.ok(FEE, CommandKind::MarginDeposit(Transfer { target: a, asset: USDT, amount, tx_id }));
}

// ----- expected events ----------------------------------------------------------------------

fn armed(
    a: AccountId,
    order_id: OrderId,
    o: &NewOrder,
    (trigger_price, trigger): (Price, TriggerKind),
    ts: u64,
) -> EventKind {
    EventKind::Armed(Armed {
        account: a,
        order_id,
        client_order_id: o.client_order_id,
        instrument: BTC,
        side: o.side,
        order_type: o.order_type,
        tif: o.tif,
        trigger,
        price: o.price,
        qty: o.qty,
        trigger_price,
        trigger_source: TriggerSource::MarkPrice,
        timestamp_ns: ts,
    })
}

/// `Triggered` of `o` (the order it places) by the mark `mark`.
fn fired(a: AccountId, order_id: OrderId, o: &NewOrder, trigger_price: Price, mark: Price, ts: u64) -> EventKind {
    EventKind::Triggered(Triggered {
        account: a,
        order_id,
        client_order_id: o.client_order_id,
        instrument: BTC,
        side: o.side,
        order_type: o.order_type,
        price: o.price,
        qty: o.qty,
        trigger_price,
        last_price: mark,
        trigger_source: TriggerSource::MarkPrice,
        timestamp_ns: ts,
    })
}

fn marked(mark_price: Price) -> EventKind {
    EventKind::MarkPriceSet(MarkPriceSet { instrument: BTC, mark_price })
}

fn level(side: Side, price: Price, qty: Qty, order_count: u32) -> EventKind {
    EventKind::LevelChanged(LevelChanged { instrument: BTC, side, price, qty, order_count })
}

/// A trade of `qty` at `price`: (order id, account, client order id, leaves) of the maker and
/// the taker, and their fees.
fn trade(
    (trade_id, price, qty, taker_side): (TradeId, Price, Qty, Side),
    maker: (OrderId, AccountId, ClientOrderId, Qty),
    taker: (OrderId, AccountId, ClientOrderId, Qty),
    (maker_fee, taker_fee): (i64, i64),
    ts: u64,
) -> EventKind {
    EventKind::Trade(Trade {
        trade_id,
        instrument: BTC,
        price,
        qty,
        taker_side,
        maker_order_id: maker.0,
        maker_account: maker.1,
        maker_client_order_id: maker.2,
        maker_leaves: maker.3,
        taker_order_id: taker.0,
        taker_account: taker.1,
        taker_client_order_id: taker.2,
        taker_leaves: taker.3,
        timestamp_ns: ts,
        maker_fee,
        taker_fee,
    })
}

/// `PositionChanged`: (size, cost, entry price), (realised PnL, isolated margin, liquidation price).
fn position(
    a: AccountId,
    (size, cost, entry_price): (i64, i64, Price),
    (realised_pnl, isolated_margin, liq_price): (i64, i64, Price),
) -> EventKind {
    EventKind::PositionChanged(PositionChanged {
        account: a,
        instrument: BTC,
        size,
        cost,
        entry_price,
        realised_pnl,
        isolated_margin,
        liq_price,
    })
}

fn wallet(a: AccountId, w: i64) -> EventKind {
    EventKind::WalletChanged(WalletChanged { account: a, asset: USDT, wallet: w, spot: 0 })
}

fn open_interest(n: u64) -> EventKind {
    EventKind::OpenInterestChanged(OpenInterestChanged { instrument: BTC, open_interest: n })
}

fn cancelled(a: AccountId, order_id: OrderId, o: &NewOrder, qty: Qty, reason: CancelReason) -> EventKind {
    EventKind::Cancelled(Cancelled {
        account: a,
        order_id,
        client_order_id: o.client_order_id,
        instrument: BTC,
        side: o.side,
        cancelled_qty: qty,
        filled_qty: 0,
        reason,
    })
}

// ----- tests ---------------------------------------------------------------------------------

#[test]
fn a_mark_price_order_arms_against_the_mark_not_the_last_price() {
    let mut x = Ex::new();
    assert_eq!(x.ok(ORACLE, set_mark(6_010_000)), vec![marked(6_010_000)]);
    // Last price 6,000,000, mark 6,010,000. A sell stop-loss at 6,005,000 has been reached by
    // the last price, not by the mark: by the last price it is refused, by the mark it arms.
    let o = x.order(Side::Sell, 0, 10);
    let by_last = AdvancedOrder { trigger_source: TriggerSource::LastPrice, ..by_mark(o, (6_005_000, StopLoss)) };
    assert_eq!(x.reject(A, new_stop(by_last)), RejectReason::WouldTriggerImmediately);
    let ev = x.ok(A, new_stop(by_mark(o, (6_005_000, StopLoss))));
    assert_eq!(ev, vec![armed(A, 1, &o, (6_005_000, StopLoss), x.seq)]);
    // A buy stop-loss at 6,005,000 the other way round.
    let b = x.order(Side::Buy, 0, 10);
    assert_eq!(x.reject(A, new_stop(by_mark(b, (6_005_000, StopLoss)))), RejectReason::WouldTriggerImmediately);
    let by_last = AdvancedOrder { trigger_source: TriggerSource::LastPrice, ..by_mark(b, (6_005_000, StopLoss)) };
    let ev = x.ok(A, new_stop(by_last));
    assert!(matches!(ev[..], [EventKind::Armed(Armed { trigger_source: TriggerSource::LastPrice, .. })]), "{ev:?}");
    // The view lists the last-price book, then the mark-price one.
    let sources: Vec<_> = x.e.armed_orders(BTC).iter().map(|v| (v.order.order_id, v.trigger_source)).collect();
    assert_eq!(sources, vec![(2, TriggerSource::LastPrice), (1, TriggerSource::MarkPrice)]);
    // A mark of 6,005,000 fires the mark-price sell (no bid: its remainder is cancelled), not
    // the last-price buy at the same trigger: the last price has not moved.
    let ev = x.ok(ORACLE, set_mark(6_005_000));
    let want = vec![
        marked(6_005_000),
        fired(A, 1, &o, 6_005_000, 6_005_000, x.seq),
        cancelled(A, 1, &o, 10, CancelReason::ImmediateRemainder),
    ];
    assert_eq!(ev, want);
    assert_eq!(x.e.armed_count(), 1);
}

#[test]
fn the_mark_fires_stop_losses_and_take_profits_both_ways_market_and_limit() {
    let mut x = Ex::new();
    open_account(&mut x, C, 1_000_000, 3);
    x.ok(ORACLE, set_mark(6_010_000));
    // C makes the market: a bid at 5,940,000 and an ask at 6,060,000 (orders 1 and 2).
    let bid = x.order(Side::Buy, 5_940_000, 10);
    x.ok(C, CommandKind::NewOrder(bid));
    let ask = x.order(Side::Sell, 6_060_000, 10);
    x.ok(C, CommandKind::NewOrder(ask));
    // On a fall: A's stop-loss sell at market (3), B's take-profit buy limited at 5,930,000 (4).
    // On a rise: A's stop-loss buy at market (5), B's take-profit sell limited at 6,070,000 (6).
    let sl_sell = x.order(Side::Sell, 0, 10);
    let tp_buy = x.order(Side::Buy, 5_930_000, 10);
    let sl_buy = x.order(Side::Buy, 0, 10);
    let tp_sell = x.order(Side::Sell, 6_070_000, 10);
    for (id, (a, o, trigger)) in [
        (A, sl_sell, (5_950_000, StopLoss)),
        (B, tp_buy, (5_955_000, TakeProfit)),
        (A, sl_buy, (6_050_000, StopLoss)),
        (B, tp_sell, (6_055_000, TakeProfit)),
    ]
    .into_iter()
    .enumerate()
    {
        let ev = x.ok(a, new_stop(by_mark(o, trigger)));
        assert_eq!(ev, vec![armed(a, 3 + id as u64, &o, trigger, x.seq)]);
    }
    // The mark falls to 5,950,000: the fall side fires highest trigger first, so B's
    // take-profit (it rests: no ask at or below its limit), then A's stop-loss (it sells to C).
    let ev = x.ok(ORACLE, set_mark(5_950_000));
    let ts = x.seq;
    let want = vec![
        marked(5_950_000),
        fired(B, 4, &tp_buy, 5_955_000, 5_950_000, ts),
        level(Side::Buy, 5_930_000, 10, 1),
        fired(A, 3, &sl_sell, 5_950_000, 5_950_000, ts),
        trade(
            (1, 5_940_000, 10, Side::Sell),
            (1, C, bid.client_order_id, 0),
            (3, A, sl_sell.client_order_id, 0),
            (12, 30),
            ts,
        ),
        level(Side::Buy, 5_940_000, 0, 0),
        position(C, (10, 59_400, 5_940_000), (0, 0, 0)),
        position(A, (-10, 59_400, 5_940_000), (0, 0, 105_514_841)),
        wallet(C, 999_988),
        wallet(A, 999_970),
        open_interest(10),
    ];
    assert_eq!(ev, want);
    // The mark rises to 6,060,000: the rise side fires lowest trigger first, so A's stop-loss
    // (it buys from C, closing A's short), then B's take-profit (it rests at 6,070,000).
    let ev = x.ok(ORACLE, set_mark(6_060_000));
    let ts = x.seq;
    let want = vec![
        marked(6_060_000),
        fired(A, 5, &sl_buy, 6_050_000, 6_060_000, ts),
        trade(
            (2, 6_060_000, 10, Side::Buy),
            (2, C, ask.client_order_id, 0),
            (5, A, sl_buy.client_order_id, 0),
            (13, 31),
            ts,
        ),
        level(Side::Sell, 6_060_000, 0, 0),
        fired(B, 6, &tp_sell, 6_055_000, 6_060_000, ts),
        level(Side::Sell, 6_070_000, 10, 1),
        position(C, (0, 0, 0), (1_200, 0, 0)),
        position(A, (0, 0, 0), (-1_200, 0, 0)),
        wallet(C, 1_001_175),
        wallet(A, 998_739),
        open_interest(0),
    ];
    assert_eq!(ev, want);
    assert_eq!(x.e.armed_count(), 0);
}

/// docs/futures.md, example 13: example 8's position, with a close-position stop-loss on the
/// mark at 5,740,000. The mark that liquidates it in example 8 fires the stop first: the
/// position is closed through the book, and the liquidation check at the end of the same
/// command finds nothing to liquidate. Without the stop (one lower, not reached, instead: the
/// liquidation cancels it) the same mark liquidates.
#[test]
fn a_mark_stop_loss_closes_the_position_before_the_same_mark_would_liquidate_it() {
    for trigger_price in [5_740_000, 5_700_000] {
        let mut x = Ex::new();
        open_account(&mut x, D, 10_000_000, 3);
        x.ok(FEE, CommandKind::MarginDeposit(Transfer { target: A, asset: USDT, amount: 1_000_000, tx_id: 4 }));
        x.ok(A, CommandKind::SetMarginMode(SetMarginMode { instrument: BTC, mode: MarginMode::Isolated }));
        x.ok(A, CommandKind::SetLeverage(SetLeverage { instrument: BTC, leverage: 20 }));
        let ask = x.order(Side::Sell, 6_000_000, 1_000);
        x.ok(B, CommandKind::NewOrder(ask));
        let buy = x.order(Side::Buy, 0, 1_000);
        x.ok(A, CommandKind::NewOrder(buy));
        // Isolated margin 297,000, liquidation price 5,726,634 (example 8).
        let (p, _) = x.e.futures_position(A, BTC).unwrap();
        assert_eq!((p.isolated_margin, p.liq_price), (297_000, 5_726_634));
        x.ok(ORACLE, set_mark(6_001_000));
        let mut close = x.order(Side::Sell, 0, 0);
        close.qty = 0;
        let stop = AdvancedOrder { close_position: true, ..by_mark(close, (trigger_price, StopLoss)) };
        let ev = x.ok(A, new_stop(stop));
        let sized = NewOrder { qty: 1_000, ..close };
        assert_eq!(ev, vec![armed(A, 3, &sized, (trigger_price, StopLoss), x.seq)]);
        let bid = x.order(Side::Buy, 5_730_000, 1_000);
        x.ok(D, CommandKind::NewOrder(bid));
        let ev = x.ok(ORACLE, set_mark(5_726_630));
        let ts = x.seq;
        let d_position = position(D, (1_000, 5_730_000, 5_730_000), (0, 0, 0));
        let want = if trigger_price == 5_740_000 {
            // Sold at 5,730,000: realised −270,000, taker fee 2,865; the 24,135 left of the
            // isolated margin goes back to the wallet (1,700,000).
            vec![
                marked(5_726_630),
                fired(A, 3, &sized, 5_740_000, 5_726_630, ts),
                trade(
                    (2, 5_730_000, 1_000, Side::Sell),
                    (4, D, bid.client_order_id, 0),
                    (3, A, close.client_order_id, 0),
                    (1_146, 2_865),
                    ts,
                ),
                level(Side::Buy, 5_730_000, 0, 0),
                d_position,
                position(A, (0, 0, 0), (-270_000, 0, 0)),
                wallet(D, 9_998_854),
                wallet(A, 1_724_135),
            ]
        } else {
            // The stop waits below the mark: the liquidation cancels it, its order trades with
            // D's bid at no fee, and the whole isolated margin left (27,000) is the clearance.
            vec![
                marked(5_726_630),
                cancelled(A, 3, &sized, 1_000, CancelReason::Liquidation),
                EventKind::Liquidation(Liquidation {
                    account: A,
                    instrument: BTC,
                    size: 1_000,
                    mark_price: 5_726_630,
                    liq_price: 5_726_634,
                    bankruptcy_price: 5_703_000,
                }),
                trade((2, 5_730_000, 1_000, Side::Sell), (4, D, bid.client_order_id, 0), (0, A, 0, 0), (1_146, 0), ts),
                level(Side::Buy, 5_730_000, 0, 0),
                EventKind::LiquidationDone(LiquidationDone { account: A, instrument: BTC, clearance: 27_000 }),
                d_position,
                position(A, (0, 0, 0), (-270_000, 0, 0)),
                wallet(D, 9_998_854),
                wallet(FUND, 27_000),
            ]
        };
        assert_eq!(ev, want, "stop at {trigger_price}");
    }
}

#[test]
fn mark_price_orders_are_refused_with_their_own_reasons() {
    let mut x = Ex::new();
    let o = x.order(Side::Sell, 0, 10);
    // Before the oracle's first mark: the mark is still the spec's reference price.
    assert_eq!(x.reject(A, new_stop(by_mark(o, (5_900_000, StopLoss)))), RejectReason::NoMarkPrice);
    // The trigger price's own checks come first.
    assert_eq!(x.reject(A, new_stop(by_mark(o, (5_900_005, StopLoss)))), RejectReason::PriceOffTick);
    x.ok(ORACLE, set_mark(6_000_100));
    // Already reached by the mark.
    assert_eq!(x.reject(A, new_stop(by_mark(o, (6_000_100, StopLoss)))), RejectReason::WouldTriggerImmediately);
    let tp = x.order(Side::Buy, 0, 10);
    assert_eq!(x.reject(A, new_stop(by_mark(tp, (6_010_000, TakeProfit)))), RejectReason::WouldTriggerImmediately);
    // A spot instrument has no mark: as its other perpetual-only fields, `InvalidField`.
    let spot = NewOrder { instrument: SPOT, ..o };
    assert_eq!(x.reject(A, new_stop(by_mark(spot, (5_900_000, StopLoss)))), RejectReason::InvalidField);
    // A source with no trigger, or on a trailing stop (trailing stops follow the last price).
    let bare = AdvancedOrder { trigger: None, ..by_mark(o, (5_900_000, StopLoss)) };
    assert_eq!(x.reject(A, new_stop(bare)), RejectReason::InvalidField);
    let trailing =
        AdvancedOrder { trailing: Some(Trailing { delta: 10, unit: TrailUnit::Ticks }), ..by_mark(o, (0, StopLoss)) };
    assert_eq!(x.reject(A, new_stop(trailing)), RejectReason::InvalidField);
    // The mark moving back to the reference price is no mark again (the rule is the mark's
    // own value, so snapshots and replays agree).
    x.ok(ORACLE, set_mark(6_000_000));
    assert_eq!(x.reject(A, new_stop(by_mark(o, (5_900_000, StopLoss)))), RejectReason::NoMarkPrice);
    // `NewStopOrder` keeps the last price.
    let ev = x.ok(A, CommandKind::NewStopOrder(StopOrder { order: o, trigger_price: 5_900_000, trigger: StopLoss }));
    assert!(matches!(ev[..], [EventKind::Armed(Armed { trigger_source: TriggerSource::LastPrice, .. })]), "{ev:?}");
}

#[test]
fn a_mark_price_order_is_cancelled_amended_and_moved_like_any_armed_order() {
    let mut x = Ex::new();
    x.ok(ORACLE, set_mark(5_990_000));
    let o = x.order(Side::Sell, 5_890_000, 10);
    x.ok(A, new_stop(by_mark(o, (5_950_000, StopLoss))));
    let r = OrderRef::Client(o.client_order_id);
    // A trigger the last price (6,000,000) has not reached but the mark (5,990,000) has.
    let amend = |trigger_price| CommandKind::AmendTrigger(AmendTrigger { order: r, trigger_price });
    assert_eq!(x.reject(A, amend(5_995_000)), RejectReason::WouldTriggerImmediately);
    let ev = x.ok(A, amend(5_900_000));
    let moved = EventKind::TriggerAmended(TriggerAmended {
        account: A,
        order_id: 1,
        client_order_id: o.client_order_id,
        instrument: BTC,
        side: Side::Sell,
        trigger_price: 5_900_000,
    });
    assert_eq!(ev, vec![moved]);
    // Its quantity and limit, as any armed order's.
    let ev = x.ok(A, CommandKind::Amend(Amend { order: r, new_qty: Some(20), new_price: Some(5_880_000) }));
    let amended = EventKind::Amended(Amended {
        account: A,
        order_id: 1,
        client_order_id: o.client_order_id,
        instrument: BTC,
        side: Side::Sell,
        price: 5_880_000,
        qty: 20,
        leaves: 20,
        kept_priority: true,
    });
    assert_eq!(ev, vec![amended]);
    x.roundtrip();
    // A mark past the old trigger fires nothing now; the new one fires it (the limit order
    // rests: there is no bid).
    assert_eq!(x.ok(ORACLE, set_mark(5_940_000)), vec![marked(5_940_000)]);
    let ev = x.ok(ORACLE, set_mark(5_900_000));
    let placed = NewOrder { qty: 20, price: 5_880_000, ..o };
    let want =
        vec![marked(5_900_000), fired(A, 1, &placed, 5_900_000, 5_900_000, x.seq), level(Side::Sell, 5_880_000, 20, 1)];
    assert_eq!(ev, want);
    // Cancel and mass cancel reach armed mark-price orders as any live order.
    let a = x.order(Side::Sell, 0, 10);
    x.ok(A, new_stop(by_mark(a, (5_800_000, StopLoss))));
    let ev = x.ok(A, CommandKind::Cancel(Cancel { order: OrderRef::Client(a.client_order_id) }));
    assert_eq!(ev, vec![cancelled(A, 2, &a, 10, CancelReason::User)]);
    let b = x.order(Side::Buy, 0, 10);
    x.ok(A, new_stop(by_mark(b, (6_000_000, StopLoss))));
    let ev = x.ok(A, CommandKind::MassCancel(MassCancel { instrument: Some(BTC), side: None }));
    let resting = NewOrder { qty: 20, ..placed };
    let want = vec![
        cancelled(A, 1, &resting, 20, CancelReason::MassCancel),
        level(Side::Sell, 5_880_000, 0, 0),
        cancelled(A, 3, &b, 10, CancelReason::MassCancel),
        EventKind::MassCancelled(MassCancelled { account: A, count: 2 }),
    ];
    assert_eq!(ev, want);
    assert_eq!(x.e.armed_count(), 0);
}

#[test]
fn a_good_till_date_mark_price_order_expires_while_armed() {
    let mut x = Ex::new();
    x.ok(ORACLE, set_mark(6_010_000));
    let o = x.order(Side::Sell, 0, 10);
    let gtd = AdvancedOrder { expire_time_ns: x.seq + 3, ..by_mark(o, (5_900_000, StopLoss)) };
    x.ok(A, new_stop(gtd));
    x.roundtrip();
    assert_eq!(x.ok(ORACLE, set_mark(6_000_100)), vec![marked(6_000_100)]);
    let ev = x.ok(FEE, CommandKind::TimeTick);
    assert_eq!(ev, vec![cancelled(A, 1, &o, 10, CancelReason::Expired)]);
}

#[test]
fn a_halted_perpetual_fires_no_mark_price_order_and_closing_it_cancels_them() {
    let mut x = Ex::new();
    x.ok(ORACLE, set_mark(6_010_000));
    let o = x.order(Side::Sell, 0, 10);
    x.ok(A, new_stop(by_mark(o, (5_900_000, StopLoss))));
    let t = x.order(Side::Buy, 0, 10);
    x.ok(A, new_stop(by_mark(t, (6_100_000, StopLoss))));
    let state = |state| CommandKind::SetInstrumentState(SetInstrumentState { instrument: BTC, state });
    x.ok(FEE, state(InstrumentState::Halted));
    // The mark passes the trigger while halted: the order stays armed (no order is placed on a
    // halted perpetual), and a trigger amend is refused as for any armed order there.
    assert_eq!(x.ok(ORACLE, set_mark(5_890_000)), vec![marked(5_890_000)]);
    let amend = AmendTrigger { order: OrderRef::Client(o.client_order_id), trigger_price: 5_800_000 };
    assert_eq!(x.reject(A, CommandKind::AmendTrigger(amend)), RejectReason::InstrumentNotTrading);
    // A snapshot keeps it armed although the mark has passed it.
    x.roundtrip();
    x.ok(FEE, state(InstrumentState::Trading));
    x.roundtrip();
    // Trading again, the next mark that still reaches it fires it.
    let ev = x.ok(ORACLE, set_mark(5_880_000));
    let want = vec![
        marked(5_880_000),
        fired(A, 1, &o, 5_900_000, 5_880_000, x.seq),
        cancelled(A, 1, &o, 10, CancelReason::ImmediateRemainder),
    ];
    assert_eq!(ev, want);
    // No position and no resting order: the perpetual may close; its armed orders go with it.
    let ev = x.ok(FEE, state(InstrumentState::Closed));
    let want = vec![
        EventKind::InstrumentStateChanged(InstrumentStateChanged {
            account: FEE,
            instrument: BTC,
            state: InstrumentState::Closed,
        }),
        cancelled(A, 2, &t, 10, CancelReason::InstrumentState),
    ];
    assert_eq!(ev, want);
}

#[test]
fn reduce_only_and_close_position_mark_stops_take_the_position_they_find() {
    let mut x = Ex::new();
    x.ok(ORACLE, set_mark(6_010_000));
    let ask = x.order(Side::Sell, 6_000_000, 100);
    x.ok(B, CommandKind::NewOrder(ask));
    let buy = x.order(Side::Buy, 0, 100);
    x.ok(A, CommandKind::NewOrder(buy));
    // Long 100: a reduce-only stop of 80 (order 3) and a close-position one (order 4).
    let ro = x.order(Side::Sell, 0, 80);
    x.ok(A, new_stop(AdvancedOrder { reduce_only: true, ..by_mark(ro, (5_950_000, StopLoss)) }));
    let mut close = x.order(Side::Sell, 0, 0);
    close.qty = 0;
    x.ok(A, new_stop(AdvancedOrder { close_position: true, ..by_mark(close, (5_940_000, StopLoss)) }));
    x.roundtrip();
    // A sells 70 of it: 30 left.
    let bid = x.order(Side::Buy, 5_990_000, 70);
    x.ok(B, CommandKind::NewOrder(bid));
    let sell = x.order(Side::Sell, 0, 70);
    x.ok(A, CommandKind::NewOrder(sell));
    let bid = x.order(Side::Buy, 5_930_000, 100);
    x.ok(B, CommandKind::NewOrder(bid));
    // The mark fires the reduce-only stop first (higher trigger): it sells the 30 there are;
    // then the close-position stop finds nothing to close.
    let ev = x.ok(ORACLE, set_mark(5_940_000));
    let ts = x.seq;
    let closing = NewOrder { qty: 100, ..close };
    let want = vec![
        marked(5_940_000),
        fired(A, 3, &ro, 5_950_000, 5_940_000, ts),
        trade(
            (3, 5_930_000, 30, Side::Sell),
            (7, B, bid.client_order_id, 70),
            (3, A, ro.client_order_id, 0),
            (36, 89),
            ts,
        ),
        level(Side::Buy, 5_930_000, 70, 1),
        fired(A, 4, &closing, 5_940_000, 5_940_000, ts),
        cancelled(A, 4, &closing, 100, CancelReason::ReduceOnly),
        position(B, (0, 0, 0), (2_800, 0, 0)),
        position(A, (0, 0, 0), (-2_800, 0, 0)),
        wallet(B, 1_002_560),
        wallet(A, 996_601),
        open_interest(0),
    ];
    assert_eq!(ev, want);
}

#[test]
fn a_mark_stop_s_trades_fire_last_price_stops_in_the_same_command() {
    let mut x = Ex::new();
    open_account(&mut x, C, 1_000_000, 3);
    x.ok(ORACLE, set_mark(6_010_000));
    let bids = [x.order(Side::Buy, 5_990_000, 10), x.order(Side::Buy, 5_980_000, 10)];
    for b in bids {
        x.ok(C, CommandKind::NewOrder(b));
    }
    // A's mark-price stop (order 3) and B's last-price stop at 5,990,000 (order 4).
    let a = x.order(Side::Sell, 0, 10);
    x.ok(A, new_stop(by_mark(a, (5_995_000, StopLoss))));
    let b = x.order(Side::Sell, 0, 10);
    x.ok(B, CommandKind::NewStopOrder(StopOrder { order: b, trigger_price: 5_990_000, trigger: StopLoss }));
    let ev = x.ok(ORACLE, set_mark(5_995_000));
    let ts = x.seq;
    let b_fired = EventKind::Triggered(Triggered {
        trigger_source: TriggerSource::LastPrice,
        account: B,
        order_id: 4,
        client_order_id: b.client_order_id,
        instrument: BTC,
        side: Side::Sell,
        order_type: OrderType::Market,
        price: 0,
        qty: 10,
        trigger_price: 5_990_000,
        last_price: 5_990_000,
        timestamp_ns: ts,
    });
    let want = vec![
        marked(5_995_000),
        fired(A, 3, &a, 5_995_000, 5_995_000, ts),
        trade(
            (1, 5_990_000, 10, Side::Sell),
            (1, C, bids[0].client_order_id, 0),
            (3, A, a.client_order_id, 0),
            (12, 30),
            ts,
        ),
        level(Side::Buy, 5_990_000, 0, 0),
        b_fired,
        trade(
            (2, 5_980_000, 10, Side::Sell),
            (2, C, bids[1].client_order_id, 0),
            (4, B, b.client_order_id, 0),
            (12, 30),
            ts,
        ),
        level(Side::Buy, 5_980_000, 0, 0),
        position(C, (20, 119_700, 5_985_000), (0, 0, 0)),
        position(A, (-10, 59_900, 5_990_000), (0, 0, 105_564_642)),
        position(B, (-10, 59_800, 5_980_000), (0, 0, 105_554_682)),
        wallet(C, 999_976),
        wallet(A, 999_970),
        wallet(B, 999_970),
        open_interest(20),
    ];
    assert_eq!(ev, want);
}

#[test]
fn snapshots_keep_mark_price_orders_in_their_book_and_order() {
    let mut x = Ex::new();
    x.ok(ORACLE, set_mark(6_010_000));
    let last = x.order(Side::Sell, 0, 10);
    x.ok(A, CommandKind::NewStopOrder(StopOrder { order: last, trigger_price: 5_900_000, trigger: StopLoss }));
    let orders = [x.order(Side::Sell, 0, 10), x.order(Side::Sell, 0, 20), x.order(Side::Buy, 0, 30)];
    x.ok(A, new_stop(by_mark(orders[0], (5_900_000, StopLoss))));
    x.ok(B, new_stop(by_mark(orders[1], (5_900_000, StopLoss))));
    x.ok(B, new_stop(by_mark(orders[2], (6_100_000, StopLoss))));
    // Moved to the back of 5,900,000: A's order is now behind B's.
    let amend = AmendTrigger { order: OrderRef::Client(orders[0].client_order_id), trigger_price: 5_910_000 };
    x.ok(A, CommandKind::AmendTrigger(amend));
    let amend = AmendTrigger { order: OrderRef::Client(orders[0].client_order_id), trigger_price: 5_900_000 };
    x.ok(A, CommandKind::AmendTrigger(amend));
    let s = x.e.snapshot();
    // Listed last-price book first, then the mark-price one (rise side, then fall side in
    // arrival order), the source in bit 7 of the trigger byte.
    let listed: Vec<(u64, u8)> = s.armed.iter().map(|a| (a.order.order_id, a.trigger)).collect();
    assert_eq!(listed, vec![(1, 1), (4, 0x81), (3, 0x81), (2, 0x81)]);
    let before = x.e.armed_orders(BTC);
    x.roundtrip();
    assert_eq!(x.e.armed_orders(BTC), before);
    // The restored engine fires them in that order.
    let ev = x.ok(ORACLE, set_mark(5_900_000));
    let fired: Vec<OrderId> =
        ev.iter().filter_map(|e| if let EventKind::Triggered(t) = e { Some(t.order_id) } else { None }).collect();
    assert_eq!(fired, vec![3, 2]);
    // A snapshot with a mark-price order on a spot instrument is refused.
    let mut bad = x.e.snapshot();
    bad.armed[1].instrument = SPOT;
    match Engine::from_snapshot(&bad) {
        Err(SnapshotError::Inconsistent(m)) => assert!(m.contains("armed order 4:"), "{m}"),
        Ok(_) => panic!("a mark-price order on a spot instrument restored"),
    }
}
