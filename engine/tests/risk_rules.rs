//! Risk mode: accounts, reservations, settlement, fees (docs/matching.md, "Risk mode").

use engine::*;

const BTC: AssetId = 1;
const USDT: AssetId = 2;
const FEE: AccountId = 63;
const ADMIN: AccountId = 0;
const INST: InstrumentId = 1;

fn cfg() -> EngineConfig {
    EngineConfig { risk_checks: true, max_assets: 4, fee_account: FEE, ..EngineConfig::small() }
}

struct T {
    e: Engine,
    seq: Seq,
    tx: u64,
}

impl T {
    /// qty_scale 10: notional = price * qty / 10, so rounding happens.
    fn new() -> T {
        let mut t = T { e: Engine::new(cfg()), seq: 0, tx: 0 };
        let spec = InstrumentSpec {
            id: INST,
            symbol: InstrumentSpec::symbol_from_str("BTC-USDT").unwrap(),
            base_asset: BTC,
            quote_asset: USDT,
            tick: 1,
            lot: 1,
            min_qty: 1,
            max_qty: 1_000_000,
            min_notional: 0,
            price_band_bps: 5000,
            reference_price: 100,
            qty_scale: 10,
        };
        t.ok(ADMIN, CommandKind::AddInstrument(spec));
        t
    }

    fn run(&mut self, account: AccountId, kind: CommandKind) -> Vec<EventKind> {
        self.seq += 1;
        let mut out = Vec::new();
        self.e.apply(self.seq, &Command { account, timestamp_ns: 7, kind }, &mut out);
        out.into_iter().map(|e| e.kind).collect()
    }

    fn ok(&mut self, account: AccountId, kind: CommandKind) -> Vec<EventKind> {
        let ev = self.run(account, kind);
        assert!(!ev.iter().any(|e| matches!(e, EventKind::Rejected(_))), "{ev:?}");
        ev
    }

    fn reject(&mut self, account: AccountId, kind: CommandKind) -> RejectReason {
        let before = self.balances();
        let ev = self.run(account, kind);
        assert_eq!(self.balances(), before, "a rejected command moved money");
        match ev.as_slice() {
            [EventKind::Rejected(r)] => r.reason,
            other => panic!("expected one reject, got {other:?}"),
        }
    }

    /// Every account's balance of every asset.
    fn balances(&self) -> Vec<(u64, u64)> {
        (0..64).flat_map(|a| (0..4).map(move |asset| (a, asset))).map(|(a, asset)| self.e.balance(a, asset)).collect()
    }

    fn open(&mut self, a: AccountId, btc: u64, usdt: u64) {
        self.ok(ADMIN, CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active }));
        for (asset, amount) in [(BTC, btc), (USDT, usdt)] {
            if amount > 0 {
                self.tx += 1;
                let tx_id = self.tx;
                self.ok(ADMIN, CommandKind::Deposit(Transfer { target: a, asset, amount, tx_id }));
            }
        }
    }

    fn order(
        &mut self,
        a: AccountId,
        cid: u64,
        side: Side,
        tif: TimeInForce,
        price: Price,
        qty: Qty,
    ) -> Vec<EventKind> {
        self.run(
            a,
            CommandKind::NewOrder(NewOrder {
                client_order_id: cid,
                instrument: INST,
                side,
                order_type: OrderType::Limit,
                tif,
                stp: StpMode::None,
                price,
                qty,
            }),
        )
    }

    fn bal(&self, a: AccountId, asset: AssetId) -> (u64, u64) {
        self.e.balance(a, asset)
    }

    /// Conservation: every asset's total over all accounts equals deposits - withdrawals.
    fn total(&self, asset: AssetId) -> u64 {
        (0..64)
            .map(|a| {
                let (av, re) = self.e.balance(a, asset);
                av + re
            })
            .sum()
    }
}

#[test]
fn unknown_unfunded_and_suspended_accounts_cannot_trade() {
    let mut t = T::new();
    assert!(matches!(
        t.order(5, 1, Side::Buy, TimeInForce::Gtc, 100, 10)[..],
        [EventKind::Rejected(Rejected { reason: RejectReason::UnknownAccount, .. })]
    ));
    t.open(5, 0, 99);
    // 100 * 10 / 10 = 100 quote needed, 99 available.
    assert!(matches!(
        t.order(5, 1, Side::Buy, TimeInForce::Gtc, 100, 10)[..],
        [EventKind::Rejected(Rejected { reason: RejectReason::InsufficientBalance, .. })]
    ));
    assert!(matches!(
        t.order(5, 2, Side::Sell, TimeInForce::Gtc, 100, 1)[..],
        [EventKind::Rejected(Rejected { reason: RejectReason::InsufficientBalance, .. })]
    ));
    assert_eq!(t.bal(5, USDT), (99, 0));
    t.ok(
        ADMIN,
        CommandKind::SetAccountStatus(SetAccountStatus { target: 5, status: AccountStatus::Suspended, tier: 0 }),
    );
    assert!(matches!(
        t.order(5, 3, Side::Buy, TimeInForce::Gtc, 10, 1)[..],
        [EventKind::Rejected(Rejected { reason: RejectReason::AccountSuspended, .. })]
    ));
    assert!(matches!(
        t.order(FEE, 3, Side::Buy, TimeInForce::Gtc, 10, 1)[..],
        [EventKind::Rejected(Rejected { reason: RejectReason::SystemAccount, .. })]
    ));
}

#[test]
fn reservation_settlement_fees_and_conservation() {
    let mut t = T::new();
    // Taker 0.2%, maker rebate 0.05%.
    t.ok(
        ADMIN,
        CommandKind::SetFeeSchedule(SetFeeSchedule { instrument: INST, tier: 0, maker_ppm: -500, taker_ppm: 2000 }),
    );
    t.open(1, 100, 0);
    t.open(2, 0, 100_000);
    // Maker sells 7 @ 101: reserves 7 BTC.
    t.order(1, 1, Side::Sell, TimeInForce::Gtc, 101, 7);
    assert_eq!(t.bal(1, BTC), (93, 7));
    // Taker buys 10 @ 105 limit: reserves ceil(105*10/10)=105 + ceil(105*0.002)=1 -> 106.
    let ev = t.order(2, 1, Side::Buy, TimeInForce::Gtc, 105, 10);
    let trade = ev.iter().find_map(|e| if let EventKind::Trade(tr) = e { Some(*tr) } else { None }).unwrap();
    // Fill 7 @ 101: cost ceil(707/10)=71, taker fee ceil(71*0.002)=1; seller proceeds floor(70.7)=70,
    // maker rebate floor(70*0.0005)=0 (capped by the taker fee anyway).
    assert_eq!((trade.qty, trade.price, trade.taker_fee, trade.maker_fee), (7, 101, 1, 0));
    assert_eq!(t.bal(1, BTC), (93, 0));
    assert_eq!(t.bal(1, USDT), (70, 0));
    // Buyer: paid 71 + 1 fee, got 7 BTC; 3 remain resting at 105.
    let (av, re) = t.bal(2, USDT);
    assert_eq!(av + re, 100_000 - 72);
    assert_eq!(t.bal(2, BTC), (7, 0));
    let order_id = match ev[0] {
        EventKind::Accepted(a) => a.order_id,
        _ => unreachable!(),
    };
    assert_eq!(t.e.order_reserved(order_id), re);
    // 3 more at 105 would cost ceil((315 - 3 overpaid tenths) / 10) = 32; the fee
    // already paid (1 on a cost of 71 at 0.2%) covers the next 32's fee (0.064): 32.
    assert_eq!(re, 32);
    // Fee account: 71 - 70 rounding + 1 taker fee.
    assert_eq!(t.bal(FEE, USDT), (2, 0));
    assert_eq!(t.total(USDT), 100_000);
    assert_eq!(t.total(BTC), 100);
    // Cancel releases everything the order held.
    t.ok(2, CommandKind::Cancel(Cancel { order: OrderRef::Client(1) }));
    assert_eq!(t.bal(2, USDT), (100_000 - 72, 0));
    // BalanceChanged events are coalesced per account and asset.
    let ev = t.order(1, 2, Side::Sell, TimeInForce::Gtc, 140, 1);
    let changes: Vec<_> = ev.iter().filter(|e| matches!(e, EventKind::BalanceChanged(_))).collect();
    assert_eq!(changes.len(), 1, "{ev:?}");
}

#[test]
fn price_improvement_is_released_on_the_fill() {
    let mut t = T::new();
    t.open(1, 100, 0);
    t.open(2, 0, 10_000);
    t.order(1, 1, Side::Sell, TimeInForce::Gtc, 90, 10);
    // Buy 10 @ 120 fills at 90: pays 90, nothing stays reserved.
    t.order(2, 1, Side::Buy, TimeInForce::Gtc, 120, 10);
    assert_eq!(t.bal(2, USDT), (10_000 - 90, 0));
    assert_eq!(t.bal(2, BTC), (10, 0));
}

#[test]
fn ioc_remainder_and_market_orders_release_their_reservation() {
    let mut t = T::new();
    t.open(1, 100, 0);
    t.open(2, 0, 10_000);
    t.order(1, 1, Side::Sell, TimeInForce::Gtc, 100, 3);
    t.order(2, 1, Side::Buy, TimeInForce::Ioc, 110, 10);
    assert_eq!(t.bal(2, USDT), (10_000 - 30, 0));
    let ev = t.run(
        2,
        CommandKind::NewOrder(NewOrder {
            client_order_id: 2,
            instrument: INST,
            side: Side::Buy,
            order_type: OrderType::Market,
            tif: TimeInForce::Ioc,
            stp: StpMode::None,
            price: 0,
            qty: 5,
        }),
    );
    assert!(ev.iter().any(|e| matches!(e, EventKind::Cancelled(_))), "{ev:?}");
    assert_eq!(t.bal(2, USDT), (10_000 - 30, 0));
}

#[test]
fn deposits_withdrawals_and_duplicates() {
    let mut t = T::new();
    t.open(3, 0, 500);
    let w = |amount, tx_id| CommandKind::Withdraw(Transfer { target: 3, asset: USDT, amount, tx_id });
    assert_eq!(t.reject(ADMIN, w(501, 100)), RejectReason::InsufficientBalance);
    t.ok(ADMIN, w(200, 100));
    assert_eq!(t.reject(ADMIN, w(1, 100)), RejectReason::DuplicateTransaction);
    assert_eq!(t.bal(3, USDT), (300, 0));
    assert_eq!(
        t.reject(ADMIN, CommandKind::Deposit(Transfer { target: 3, asset: 9, amount: 1, tx_id: 101 })),
        RejectReason::UnknownAsset
    );
    assert_eq!(
        t.reject(ADMIN, CommandKind::Deposit(Transfer { target: 9, asset: USDT, amount: 1, tx_id: 102 })),
        RejectReason::UnknownAccount
    );
    assert_eq!(
        t.reject(ADMIN, CommandKind::Withdraw(Transfer { target: FEE, asset: USDT, amount: 1, tx_id: 103 })),
        RejectReason::SystemAccount
    );
    assert_eq!(
        t.reject(
            ADMIN,
            CommandKind::CreateAccount(CreateAccount { target: 3, tier: 0, status: AccountStatus::Active })
        ),
        RejectReason::AccountExists
    );
    assert_eq!(
        t.reject(
            ADMIN,
            CommandKind::SetFeeSchedule(SetFeeSchedule { instrument: INST, tier: 0, maker_ppm: 300, taker_ppm: 200 })
        ),
        RejectReason::InvalidFee
    );
}

#[test]
fn matching_only_engine_refuses_account_commands() {
    let mut e = Engine::new(EngineConfig::small());
    let mut out = Vec::new();
    e.apply(
        1,
        &Command {
            account: 0,
            timestamp_ns: 0,
            kind: CommandKind::CreateAccount(CreateAccount { target: 1, tier: 0, status: AccountStatus::Active }),
        },
        &mut out,
    );
    assert!(matches!(out[0].kind, EventKind::Rejected(Rejected { reason: RejectReason::AccountsDisabled, .. })));
}

/// Conditional orders reserve from arming like a resting order, give it back on cancel, and are
/// re-funded at trigger time: a stop-market buy whose market-order limit rose past what the
/// account has is cancelled (`Unfundable`), nothing reserved after.
#[test]
fn armed_orders_reserve_and_a_trigger_that_cannot_be_funded_cancels() {
    let mut t = T::new();
    t.open(1, 0, 1_000);
    t.open(2, 5, 0);
    t.open(3, 0, 1_000);
    let stop = |cid, qty| {
        let order = NewOrder {
            client_order_id: cid,
            instrument: INST,
            side: Side::Buy,
            order_type: OrderType::Market,
            tif: TimeInForce::Ioc,
            stp: StpMode::None,
            price: 0,
            qty,
        };
        CommandKind::NewStopOrder(StopOrder { order, trigger_price: 110, trigger: TriggerKind::StopLoss })
    };
    // Market-order limit at the reference 100 with a 50% band: 150; 10 lots cost 150 * 10 / 10.
    t.ok(1, stop(1, 10));
    assert_eq!(t.e.balance(1, USDT), (850, 150));
    t.ok(1, CommandKind::Cancel(Cancel { order: OrderRef::Client(1) }));
    assert_eq!(t.e.balance(1, USDT), (1_000, 0));
    assert_eq!(t.reject(1, stop(2, 70)), RejectReason::InsufficientBalance);
    t.ok(1, stop(3, 60));
    assert_eq!(t.e.balance(1, USDT), (100, 900));
    // A trade at 140 fires it; the limit is now 210 and 60 lots need 1_260 > 1_000.
    let gtc = |cid, side, price| {
        CommandKind::NewOrder(NewOrder {
            client_order_id: cid,
            instrument: INST,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            price,
            qty: 1,
        })
    };
    t.ok(2, gtc(4, Side::Sell, 140));
    let ev = t.ok(3, gtc(5, Side::Buy, 140));
    let fired = ev.iter().position(|e| matches!(e, EventKind::Triggered(_))).expect("fired");
    assert!(
        matches!(
            ev[fired + 1],
            EventKind::Cancelled(Cancelled { account: 1, cancelled_qty: 60, reason: CancelReason::Unfundable, .. })
        ),
        "{ev:?}"
    );
    assert_eq!(t.e.balance(1, USDT), (1_000, 0));
    assert_eq!(t.e.live_orders(), 0);
    let snap = t.e.snapshot();
    assert_eq!(Engine::from_snapshot(&snap).expect("restore").state_hash(), t.e.state_hash());
}

/// A snapshot with armed orders restores their reservations (checked against the balances).
#[test]
fn armed_reservations_survive_a_snapshot() {
    let mut t = T::new();
    t.open(1, 50, 1_000);
    for (cid, side, trigger_price, trigger) in
        [(1, Side::Sell, 90, TriggerKind::StopLoss), (2, Side::Buy, 95, TriggerKind::TakeProfit)]
    {
        let order = NewOrder {
            client_order_id: cid,
            instrument: INST,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            price: 95,
            qty: 20,
        };
        t.ok(1, CommandKind::NewStopOrder(StopOrder { order, trigger_price, trigger }));
    }
    assert_eq!(t.e.balance(1, BTC), (30, 20));
    assert_eq!(t.e.balance(1, USDT), (810, 190));
    let snap = t.e.snapshot();
    let restored = Engine::from_snapshot(&snap).expect("restore");
    assert_eq!(restored.state_hash(), t.e.state_hash());
    let mut bad = snap.clone();
    bad.armed[0].risk.reserved -= 1;
    assert!(Engine::from_snapshot(&bad).is_err(), "a reservation that does not match the balance is refused");
}

/// docs/protocol.md, `BalanceChanged`: a reservation made and released within one command still
/// reports the balance (unchanged); an amend that leaves the reservation as it was reports none;
/// one that moves it reports the balance after the command, with reason `Order`.
#[test]
fn balance_reports_follow_the_reservation_not_the_net_change() {
    let balance_reports = |ev: &[EventKind]| -> Vec<BalanceChanged> {
        ev.iter()
            .filter_map(|e| match e {
                EventKind::BalanceChanged(b) => Some(*b),
                _ => None,
            })
            .collect()
    };
    let mut t = T::new();
    t.open(1, 100, 0);
    t.open(2, 0, 10_000);
    // An IOC with nothing to trade against: reserved, released, reported unchanged.
    let ev = t.order(2, 1, Side::Buy, TimeInForce::Ioc, 110, 10);
    let reports = balance_reports(&ev);
    assert_eq!(reports.len(), 1, "{ev:?}");
    assert_eq!((reports[0].account, reports[0].asset), (2, USDT));
    assert_eq!((reports[0].available, reports[0].reserved), (10_000, 0));
    assert_eq!(t.bal(2, USDT), (10_000, 0));

    // A resting sell moved to another price, same quantity: its reservation (the base) stays.
    t.order(1, 1, Side::Sell, TimeInForce::Gtc, 120, 3);
    assert_eq!(t.bal(1, BTC), (97, 3));
    let amend = |new_qty, new_price| CommandKind::Amend(Amend { order: OrderRef::Client(1), new_qty, new_price });
    let ev = t.ok(1, amend(None, Some(125)));
    assert!(balance_reports(&ev).is_empty(), "{ev:?}");
    assert_eq!(t.bal(1, BTC), (97, 3));

    // Its quantity down: the surplus is released and reported.
    let ev = t.ok(1, amend(Some(2), None));
    let reports = balance_reports(&ev);
    assert_eq!(reports.len(), 1, "{ev:?}");
    assert_eq!((reports[0].available, reports[0].reserved, reports[0].reason), (98, 2, BalanceReason::Order));

    // A resting buy moved to a dearer price: more quote reserved, reported.
    t.order(2, 2, Side::Buy, TimeInForce::Gtc, 100, 10);
    let before = t.bal(2, USDT);
    let ev = t.ok(2, CommandKind::Amend(Amend { order: OrderRef::Client(2), new_qty: None, new_price: Some(110) }));
    let reports = balance_reports(&ev);
    assert_eq!(reports.len(), 1, "{ev:?}");
    let after = t.bal(2, USDT);
    assert_eq!((reports[0].available, reports[0].reserved), after);
    assert!(after.1 > before.1 && after.0 + after.1 == before.0 + before.1, "{before:?} -> {after:?}");
}
