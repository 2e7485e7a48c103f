//! Regressions found by a review of the perpetual-futures code: each test drives the engine into
//! one case that panicked, wrapped or reported wrongly, and checks the specific answer it gives now.

use engine::*;

const FEE: AccountId = 0;
const A: AccountId = 1;
const B: AccountId = 2;
const C: AccountId = 3;
const D: AccountId = 4;
const S: AccountId = 5;
const FUND: AccountId = 9;
const ORACLE: AccountId = 100;
const USDT: AssetId = 1;
const BTC: InstrumentId = 1;

struct Ex {
    e: Engine,
    seq: u64,
    cid: u64,
    tx: u64,
}

fn btc_spec() -> InstrumentSpec {
    engine::examples::btc_perp_spec(BTC)
}

const BRACKETS: [(u64, u32, u32, u64); 3] = engine::examples::BINANCE_BTC_BRACKETS;

impl Ex {
    fn with(spec: InstrumentSpec, tiers: &[(u64, u32, u32, u64)], fees: Option<(i32, i32)>) -> Ex {
        let config = EngineConfig {
            risk_checks: true,
            insurance_account: FUND,
            oracle_account: ORACLE,
            ..EngineConfig::small()
        };
        let mut x = Ex { e: Engine::new(config), seq: 0, cid: 0, tx: 0 };
        for a in [A, B, C, D, S] {
            x.ok(FEE, CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active }));
        }
        x.ok(FEE, CommandKind::AddPerpetual(spec));
        if let Some((maker_ppm, taker_ppm)) = fees {
            x.ok(FEE, CommandKind::SetFeeSchedule(SetFeeSchedule { instrument: BTC, tier: 0, maker_ppm, taker_ppm }));
        }
        for t in engine::examples::risk_tiers(BTC, tiers) {
            x.ok(FEE, CommandKind::SetRiskTier(t));
        }
        let trading = SetInstrumentState { instrument: BTC, state: InstrumentState::Trading };
        x.ok(FEE, CommandKind::SetInstrumentState(trading));
        x
    }

    fn run(&mut self, account: AccountId, kind: CommandKind) -> Vec<EventKind> {
        self.seq += 1;
        let mut ev = Vec::new();
        self.e.apply(self.seq, &Command { account, timestamp_ns: self.seq, kind }, &mut ev);
        ev.into_iter().map(|e| e.kind).collect()
    }

    fn ok(&mut self, account: AccountId, kind: CommandKind) -> Vec<EventKind> {
        let ev = self.run(account, kind);
        assert!(!ev.iter().any(|e| matches!(e, EventKind::Rejected(_))), "{kind:?}: {ev:?}");
        ev
    }

    fn deposit(&mut self, a: AccountId, amount: u64) {
        self.tx += 1;
        self.ok(FEE, CommandKind::MarginDeposit(Transfer { target: a, asset: USDT, amount, tx_id: self.tx }));
    }

    fn withdraw(&mut self, a: AccountId, amount: u64) -> Vec<EventKind> {
        self.tx += 1;
        self.run(FEE, CommandKind::MarginWithdraw(Transfer { target: a, asset: USDT, amount, tx_id: self.tx }))
    }

    fn order(&mut self, side: Side, price: Price, qty: Qty) -> NewOrder {
        self.cid += 1;
        NewOrder {
            client_order_id: self.cid,
            instrument: BTC,
            side,
            order_type: if price == 0 { OrderType::Market } else { OrderType::Limit },
            tif: if price == 0 { TimeInForce::Ioc } else { TimeInForce::Gtc },
            stp: StpMode::None,
            price,
            qty,
        }
    }

    fn place(&mut self, a: AccountId, side: Side, price: Price, qty: Qty) -> Vec<EventKind> {
        let o = self.order(side, price, qty);
        self.ok(a, CommandKind::NewOrder(o))
    }

    fn mark(&mut self, mark_price: Price) -> Vec<EventKind> {
        self.ok(ORACLE, CommandKind::SetMarkPrice(SetMarkPrice { instrument: BTC, mark_price }))
    }
}

/// A spot deposit may make the supply reach u64::MAX (spot's only bound), but a WalletTransfer
/// may not take the futures wallet past the bound MarginDeposit keeps (it wrapped i64 before).
#[test]
fn wallet_transfer_beyond_the_wallet_bound_is_refused() {
    let mut x = Ex::with(btc_spec(), &BRACKETS, None);
    x.ok(FEE, CommandKind::Deposit(Transfer { target: A, asset: USDT, amount: u64::MAX, tx_id: 1 }));
    let w = WalletTransfer { asset: USDT, amount: i64::MAX as u64, to_futures: true };
    let ev = x.run(A, CommandKind::WalletTransfer(w));
    assert!(
        matches!(ev.as_slice(), [EventKind::Rejected(Rejected { reason: RejectReason::InvalidField, .. })]),
        "{ev:?}"
    );
    let bound = i64::MAX as u64 / 4;
    x.ok(A, CommandKind::WalletTransfer(WalletTransfer { amount: bound, ..w }));
    let ev = x.run(A, CommandKind::WalletTransfer(WalletTransfer { amount: 1, ..w }));
    assert!(matches!(ev.as_slice(), [EventKind::Rejected(_)]), "{ev:?}");
    assert_eq!(x.e.futures_wallet(A), bound as i64);
}

/// a deficit the fund covers from an empty fund leaves Σ wallets above the supply;
/// withdrawing them all underflows `supply` (u64).
#[test]
fn withdrawals_past_the_supply_wait_for_the_fund_deficit_to_be_paid() {
    let mut x = Ex::with(btc_spec(), &BRACKETS, None);
    x.deposit(A, 2_000_000);
    for a in [B, C, D, S] {
        x.deposit(a, 1_000_000);
    }
    let iso = SetMarginMode { instrument: BTC, mode: MarginMode::Isolated };
    x.ok(A, CommandKind::SetMarginMode(iso));
    x.place(S, Side::Sell, 6_000_000, 1000);
    x.place(A, Side::Buy, 0, 1000); // A: isolated 1,000 long, I = 300,000, bankruptcy 5,700,000
    x.place(D, Side::Sell, 5_700_000, 1);
    x.place(C, Side::Buy, 5_700_000, 1); // last trade 5,700,000
    x.place(B, Side::Buy, 5_690_000, 1000);
    let ev = x.place(A, Side::Sell, 0, 1000); // I = -10,000: covered by the empty fund
    assert!(ev.iter().any(|e| matches!(e, EventKind::BankruptcyCovered(_))), "{ev:?}");
    // Everybody flat again.
    x.place(B, Side::Sell, 5_690_000, 1000);
    x.place(S, Side::Buy, 5_690_000, 1000);
    x.place(D, Side::Buy, 5_700_000, 1);
    x.place(C, Side::Sell, 0, 1);
    for a in [S, B, C, D, A] {
        let w = x.e.futures_wallet(a) as u64;
        let ev = x.withdraw(a, w);
        if a != A {
            assert!(!ev.iter().any(|e| matches!(e, EventKind::Rejected(_))), "{ev:?}");
            continue;
        }
        // The accounts hold 10,000 more than was paid in: the last of it waits until the
        // operator pays the deficit into the fund (it underflowed the supply before).
        assert!(
            matches!(ev.as_slice(), [EventKind::Rejected(Rejected { reason: RejectReason::InsufficientBalance, .. })]),
            "{ev:?}"
        );
        assert_eq!(x.e.futures_wallet(FUND), -10_000);
        x.ok(FEE, CommandKind::MarginDeposit(Transfer { target: FUND, asset: USDT, amount: 10_000, tx_id: 900 }));
        let ev = x.withdraw(a, w);
        assert!(!ev.iter().any(|e| matches!(e, EventKind::Rejected(_))), "{ev:?}");
    }
}

/// docs/futures.md section 1 bounds a position below 2^48: an order whose worst case reaches
/// it is PositionLimitExceeded (it was accepted, and its snapshot then refused).
#[test]
fn a_position_reaching_2_pow_48_is_refused() {
    let max_qty = (1u64 << 48) - 1;
    let spec = InstrumentSpec { tick: 1, max_qty, reference_price: 1_000_000, qty_scale: 1_000_000, ..btc_spec() };
    let mut x = Ex::with(spec, &[(1 << 56, 20, 1_000, 0)], None);
    x.deposit(A, 1 << 56);
    x.deposit(B, 1 << 56);
    x.place(B, Side::Sell, 1_000_000, max_qty);
    x.place(A, Side::Buy, 0, max_qty);
    let o = x.order(Side::Buy, 1_000_000, 1);
    let ev = x.run(A, CommandKind::NewOrder(o));
    assert!(
        matches!(ev.last(), Some(EventKind::Rejected(Rejected { reason: RejectReason::PositionLimitExceeded, .. }))),
        "{ev:?}"
    );
    let (p, _) = x.e.futures_position(A, BTC).unwrap();
    assert_eq!(p.size, max_qty as i64);
    let restored = Engine::from_snapshot(&x.e.snapshot());
    assert!(restored.is_ok(), "{:?}", restored.err());
}

/// a trim lowers `leaves` but not `qty`, so `filled()` counts the cut as filled.
#[test]
fn a_trimmed_reduce_only_order_reports_its_cut_as_filled() {
    let mut x = Ex::with(btc_spec(), &BRACKETS, Some((200, 500)));
    x.deposit(A, 1_000_000);
    x.deposit(B, 1_000_000);
    x.place(B, Side::Sell, 6_000_000, 100);
    x.place(A, Side::Buy, 0, 100);
    let ro = x.order(Side::Sell, 6_100_000, 80);
    x.ok(A, CommandKind::NewAdvancedOrder(AdvancedOrder { reduce_only: true, ..AdvancedOrder::plain(ro) }));
    x.place(B, Side::Buy, 6_000_000, 70);
    let ev = x.place(A, Side::Sell, 0, 70);
    assert!(ev.iter().any(|e| matches!(e, EventKind::Trimmed(Trimmed { leaves: 30, cut: 50, .. }))), "{ev:?}");
    let ev = x.ok(A, CommandKind::Cancel(Cancel { order: OrderRef::Client(ro.client_order_id) }));
    let c = ev.iter().find_map(|e| if let EventKind::Cancelled(c) = e { Some(*c) } else { None }).unwrap();
    assert_eq!((c.cancelled_qty, c.filled_qty), (30, 0), "it never traded");
}

/// Order prices on a perpetual stay below 2^48 whatever the band (an order at 2^63 overflowed
/// the opening loss's i128 before).
#[test]
fn a_limit_at_or_above_2_pow_48_is_refused() {
    let spec = InstrumentSpec {
        tick: 1,
        max_qty: 1 << 40,
        reference_price: 1 << 47,
        qty_scale: 1_000_000_000_000,
        price_band_bps: u32::MAX,
        ..btc_spec()
    };
    let mut x = Ex::with(spec, &[(1 << 56, 20, 1_000, 0)], None);
    x.deposit(A, 1 << 50);
    for price in [1 << 63, 1 << 48] {
        let o = x.order(Side::Buy, price, 1 << 33);
        let ev = x.run(A, CommandKind::NewOrder(o));
        assert!(
            matches!(ev.last(), Some(EventKind::Rejected(Rejected { reason: RejectReason::OutsidePriceBand, .. }))),
            "{ev:?}"
        );
    }
}

/// F2 holds at the higher of the mark and the order's price: a sell resting at twice the mark
/// for the whole cap would make a fill's cash 2^57 above the cap (it wrapped i64 at the old cap).
#[test]
fn the_cap_holds_at_an_order_price_above_the_mark() {
    let spec = InstrumentSpec {
        tick: 1,
        max_qty: 1 << 47,
        reference_price: 1 << 20,
        qty_scale: 1,
        price_band_bps: 10_000,
        ..btc_spec()
    };
    let mut x = Ex::with(spec, &[(1 << 56, 100, 5_000, 0)], None);
    for a in [A, B, C] {
        x.deposit(a, 1 << 58);
        x.ok(a, CommandKind::SetLeverage(SetLeverage { instrument: BTC, leverage: 100 }));
    }
    x.place(B, Side::Sell, 1 << 20, 1 << 36); // notional at the mark 2^56 = the cap
    x.place(A, Side::Buy, 0, 1 << 36);
    let o = x.order(Side::Sell, 1 << 21, 1 << 36); // at the mark: within; at its price: 2^57
    let ev = x.run(C, CommandKind::NewOrder(o));
    assert!(
        matches!(ev.last(), Some(EventKind::Rejected(Rejected { reason: RejectReason::PositionLimitExceeded, .. }))),
        "{ev:?}"
    );
    // Half of it fits; a reduce-only order is held to the cap at its price as well.
    x.place(C, Side::Sell, 1 << 21, 1 << 35);
    let close = x.order(Side::Buy, 1 << 21, 1 << 35);
    x.ok(B, CommandKind::NewAdvancedOrder(AdvancedOrder { reduce_only: true, ..AdvancedOrder::plain(close) }));
    let (p, _) = x.e.futures_position(B, BTC).unwrap();
    assert_eq!(p.size, -(1 << 35));
    let far = x.order(Side::Sell, (1 << 21) - 1, 1 << 36);
    let ev = x.run(A, CommandKind::NewAdvancedOrder(AdvancedOrder { reduce_only: true, ..AdvancedOrder::plain(far) }));
    assert!(
        matches!(ev.last(), Some(EventKind::Rejected(Rejected { reason: RejectReason::PositionLimitExceeded, .. }))),
        "{ev:?}"
    );
}

/// Liquidation trades move the last trade price, and the stop-loss they cross fires in the same
/// command (it stayed armed before).
#[test]
fn liquidation_trades_fire_the_stops_they_cross() {
    let mut x = Ex::with(btc_spec(), &BRACKETS, Some((200, 500)));
    x.deposit(A, 2_000_000);
    x.deposit(B, 1_000_000);
    x.deposit(D, 10_000_000);
    x.deposit(S, 10_000_000);
    x.ok(A, CommandKind::SetMarginMode(SetMarginMode { instrument: BTC, mode: MarginMode::Isolated }));
    x.place(S, Side::Sell, 6_000_000, 1010);
    x.place(A, Side::Buy, 0, 1000); // example 8: liq 5,726,634
    x.place(B, Side::Buy, 0, 10);
    let sl = x.order(Side::Sell, 0, 10);
    let stop = AdvancedOrder {
        trigger: Some((5_720_000, TriggerKind::StopLoss)),
        reduce_only: true,
        ..AdvancedOrder::plain(sl)
    };
    x.ok(B, CommandKind::NewAdvancedOrder(stop));
    x.place(D, Side::Buy, 5_710_000, 600);
    x.place(D, Side::Buy, 5_705_000, 400);
    let ev = x.mark(5_726_630); // A liquidated: trades at 5,710,000 and 5,705,000
    assert!(ev.iter().any(|e| matches!(e, EventKind::Liquidation(_))), "{ev:?}");
    assert!(ev.iter().any(|e| matches!(e, EventKind::Triggered(_))), "B's stop at 5,720,000: {ev:?}");
}

/// A crossing amend runs the triggers once the amended order is back in its position's
/// aggregates: a stop that fires and fills it underflowed them before.
#[test]
fn a_stop_fired_by_a_crossing_amend_fills_the_amended_order() {
    let mut x = Ex::with(btc_spec(), &BRACKETS, Some((200, 500)));
    for a in [A, B, C] {
        x.deposit(a, 10_000_000);
    }
    x.place(C, Side::Buy, 6_010_000, 5);
    let sell = x.order(Side::Sell, 6_100_000, 20);
    x.ok(A, CommandKind::NewOrder(sell));
    let stop = x.order(Side::Buy, 0, 10);
    let stop = AdvancedOrder { trigger: Some((6_010_000, TriggerKind::StopLoss)), ..AdvancedOrder::plain(stop) };
    x.ok(B, CommandKind::NewAdvancedOrder(stop));
    // A's sell moves to 6,010,000: trades 5 with C (last 6,010,000), rests 15, B's stop fires
    // and buys 10 of them.
    let amend = Amend { order: OrderRef::Client(sell.client_order_id), new_qty: None, new_price: Some(6_010_000) };
    let ev = x.ok(A, CommandKind::Amend(amend));
    assert!(ev.iter().any(|e| matches!(e, EventKind::Triggered(_))), "{ev:?}");
    let (p, _) = x.e.futures_position(A, BTC).unwrap();
    assert_eq!(p.size, -15);
    let restored = Engine::from_snapshot(&x.e.snapshot());
    assert!(restored.is_ok(), "{:?}", restored.err());
}
