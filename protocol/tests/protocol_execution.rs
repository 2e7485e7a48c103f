//! Engine events → execution reports: the mapping, the per-account numbering, and the wire.

mod protocol_common;

use engine::*;
use protocol::*;
use protocol_common::server_from;

const ADMIN: AccountId = 0;
const A: AccountId = 1;
const B: AccountId = 2;

fn spec() -> InstrumentSpec {
    InstrumentSpec {
        id: 1,
        symbol: InstrumentSpec::symbol_from_str("BTC-USDT").unwrap(),
        base_asset: 1,
        quote_asset: 2,
        tick: 10,
        lot: 1,
        min_qty: 1,
        max_qty: 1_000_000,
        min_notional: 0,
        price_band_bps: 5_000,
        reference_price: 10_000,
        qty_scale: 1,
    }
}

fn order(cl: u64, side: Side, price: u64, qty: u64, stp: StpMode) -> ClientMessage {
    ClientMessage::NewOrder(NewOrder {
        client_order_id: cl,
        instrument: 1,
        side,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        stp,
        price,
        qty,
    })
}

/// Runs client messages through the engine and returns every (account, seq, report), numbered
/// per account from 1 as the publisher does.
fn run(msgs: &[(AccountId, ClientMessage)]) -> (Vec<Event>, Vec<(AccountId, u64, ExecReport)>) {
    let mut engine = Engine::new(EngineConfig::small());
    let mut events = Vec::new();
    for (i, (account, m)) in msgs.iter().enumerate() {
        // Through the wire first: the server sees exactly what the client encoded.
        let mut buf = [0u8; 256];
        let n = m.encode(&mut buf).unwrap();
        let (frame, used) = decode_frame(&buf[..n]).unwrap().unwrap();
        assert_eq!(used, n);
        let decoded = ClientMessage::decode_frame(&frame).unwrap();
        let cmd = decoded.to_command(*account, 1_000 + i as u64).unwrap();
        engine.apply(i as u64 + 1, &cmd, &mut events);
    }
    let mut next = [1u64; 8];
    let mut out = Vec::new();
    for e in &events {
        execution_reports(e, NO_ACCOUNT, |acct, r| {
            assert_eq!(r.account(), acct);
            let seq = next[acct as usize];
            next[acct as usize] += 1;
            out.push((acct, seq, *r));
        });
    }
    (events, out)
}

#[test]
fn reports_from_engine_events_roundtrip_and_are_numbered_per_account() {
    let msgs = vec![
        (ADMIN, ClientMessage::AddInstrument(spec())),
        (A, order(11, Side::Sell, 10_000, 5, StpMode::None)),
        (A, order(12, Side::Sell, 10_010, 5, StpMode::None)),
        (B, order(21, Side::Buy, 10_010, 7, StpMode::None)), // takes 5 @ 10000 and 2 @ 10010
        (A, ClientMessage::Amend(Amend { order: OrderRef::Client(12), new_qty: Some(4), new_price: None })),
        (A, order(13, Side::Buy, 9_000, 1, StpMode::None)),
        (A, order(14, Side::Sell, 9_000, 1, StpMode::CancelTaker)), // self-trade prevented
        (A, order(15, Side::Buy, 10_010, 1, StpMode::None)),        // same-account trade with 12
        (B, ClientMessage::Cancel(Cancel { order: OrderRef::Client(999) })), // rejected
        (A, ClientMessage::MassCancel(MassCancel { instrument: Some(1), side: None })),
        (
            ADMIN,
            ClientMessage::SetInstrumentState(SetInstrumentState { instrument: 1, state: InstrumentState::Halted }),
        ),
        (
            ADMIN,
            ClientMessage::SetInstrumentState(SetInstrumentState { instrument: 1, state: InstrumentState::Halted }),
        ),
    ];
    let (events, reports) = run(&msgs);

    // Every report goes over the wire and back unchanged.
    for (_, seq, r) in &reports {
        let mut buf = [0u8; 256];
        let n = r.encode(*seq, &mut buf).unwrap();
        assert_eq!(server_from(&buf[..n]), Ok(ServerMessage::Report { seq: *seq, report: *r }));
    }

    // Sequence numbers per account are 1, 2, 3 ... in report order.
    for acct in [ADMIN, A, B] {
        let seqs: Vec<u64> = reports.iter().filter(|x| x.0 == acct).map(|x| x.1).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "account {acct}");
        assert!(!seqs.is_empty());
    }

    // Each trade yields the maker's fill then the taker's.
    let trades: Vec<Trade> =
        events.iter().filter_map(|e| if let EventKind::Trade(t) = e.kind { Some(t) } else { None }).collect();
    let fills: Vec<Fill> =
        reports.iter().filter_map(|x| if let ExecReport::Fill(f) = x.2 { Some(f) } else { None }).collect();
    assert_eq!(trades.len(), 3);
    assert_eq!(fills.len(), 6);
    for (t, pair) in trades.iter().zip(fills.chunks(2)) {
        let (m, k) = (pair[0], pair[1]);
        assert_eq!(
            (m.liquidity, m.account, m.order_id, m.leaves_qty),
            (Liquidity::Maker, t.maker_account, t.maker_order_id, t.maker_leaves)
        );
        assert_eq!(
            (k.liquidity, k.account, k.order_id, k.leaves_qty),
            (Liquidity::Taker, t.taker_account, t.taker_order_id, t.taker_leaves)
        );
        assert_eq!(m.side, t.taker_side.opposite());
        assert_eq!(k.side, t.taker_side);
        for f in pair {
            assert_eq!(
                (f.trade_id, f.price, f.qty, f.instrument, f.timestamp_ns),
                (t.trade_id, t.price, t.qty, t.instrument, t.timestamp_ns)
            );
        }
    }
    // The same-account trade sends both fills to A.
    assert_eq!((fills[4].account, fills[5].account), (A, A));

    // Every kind of report appeared.
    let has = |f: fn(&ExecReport) -> bool| reports.iter().any(|x| f(&x.2));
    assert!(has(|r| matches!(r, ExecReport::Accepted(_))));
    assert!(has(|r| matches!(r, ExecReport::Amended(_))));
    assert!(has(|r| matches!(r, ExecReport::SelfTradePrevented(_))));
    assert!(has(|r| matches!(r, ExecReport::Cancelled(c) if c.reason == CancelReason::SelfTrade)));
    assert!(has(|r| matches!(r, ExecReport::Cancelled(c) if c.reason == CancelReason::MassCancel)));
    assert!(has(|r| matches!(r, ExecReport::MassCancelled(_))));
    assert!(has(
        |r| matches!(r, ExecReport::Rejected(x) if x.account == B && x.reason == RejectReason::UnknownOrder && x.client_order_id == 999)
    ));
    assert!(has(|r| matches!(r, ExecReport::InstrumentAdded(x) if x.account == ADMIN)));
    assert!(has(|r| matches!(r, ExecReport::InstrumentStateChanged(x) if x.account == ADMIN)));
    assert!(has(
        |r| matches!(r, ExecReport::Rejected(x) if x.account == ADMIN && x.command == CommandType::SetInstrumentState)
    ));

    // LevelChanged yields nothing.
    let lc = events.iter().find(|e| matches!(e.kind, EventKind::LevelChanged(_))).unwrap();
    execution_reports(lc, NO_ACCOUNT, |_, _| panic!("LevelChanged is market data"));

    // Replaying the same commands gives the same numbered reports (the recovery guarantee).
    let (_, again) = run(&msgs);
    assert_eq!(again, reports);
}

/// Risk mode: account commands through the wire, then their reports (and the fees on fills) come
/// back to the right streams, numbered per account, and replay identically.
#[test]
fn account_reports_go_to_owner_admin_and_asker() {
    let mut cfg = EngineConfig::small();
    cfg.risk_checks = true;
    cfg.fee_account = 63;
    let t = |target, asset, amount, tx_id| Transfer { target, asset, amount, tx_id };
    let msgs = vec![
        (ADMIN, ClientMessage::AddInstrument(spec())),
        (
            ADMIN,
            ClientMessage::SetFeeSchedule(SetFeeSchedule { instrument: 1, tier: 0, maker_ppm: -100, taker_ppm: 500 }),
        ),
        (ADMIN, ClientMessage::CreateAccount(CreateAccount { target: A, tier: 0, status: AccountStatus::Active })),
        (ADMIN, ClientMessage::CreateAccount(CreateAccount { target: B, tier: 0, status: AccountStatus::Active })),
        (ADMIN, ClientMessage::Deposit(t(A, 1, 100, 1))), // A: base asset 1
        (ADMIN, ClientMessage::Deposit(t(B, 2, 1_000_000, 2))), // B: quote asset 2
        (ADMIN, ClientMessage::Deposit(t(B, 2, 5, 2))),   // duplicate tx id: rejected
        (A, order(11, Side::Sell, 10_000, 5, StpMode::None)),
        (B, order(21, Side::Buy, 10_000, 3, StpMode::None)),
        (B, ClientMessage::QueryAccount(QueryAccount { target: B })),
        (ADMIN, ClientMessage::QueryAccount(QueryAccount { target: 63 })),
        (ADMIN, ClientMessage::Withdraw(t(A, 1, 1, 3))),
        (
            ADMIN,
            ClientMessage::SetAccountStatus(SetAccountStatus { target: A, status: AccountStatus::Suspended, tier: 1 }),
        ),
    ];
    let (events, reports) = {
        let mut engine = Engine::new(cfg);
        let mut events = Vec::new();
        for (i, (account, m)) in msgs.iter().enumerate() {
            let mut buf = [0u8; 256];
            let n = m.encode(&mut buf).unwrap();
            let (frame, _) = decode_frame(&buf[..n]).unwrap().unwrap();
            let cmd = ClientMessage::decode_frame(&frame).unwrap().to_command(*account, 1_000 + i as u64).unwrap();
            engine.apply(i as u64 + 1, &cmd, &mut events);
        }
        let mut next = [1u64; 64];
        let mut out = Vec::new();
        for e in &events {
            execution_reports(e, NO_ACCOUNT, |acct, r| {
                assert_eq!(r.account(), acct);
                let seq = next[acct as usize];
                next[acct as usize] += 1;
                out.push((acct, seq, *r, e.seq));
            });
        }
        (events, out)
    };
    for (_, seq, r, _) in &reports {
        let mut buf = [0u8; 256];
        let n = r.encode(*seq, &mut buf).unwrap();
        assert_eq!(server_from(&buf[..n]), Ok(ServerMessage::Report { seq: *seq, report: *r }));
    }
    // The fee account gets no reports; every balance change goes to its owner, with its command.
    assert!(reports.iter().all(|x| x.0 != 63));
    let balances: Vec<_> = reports
        .iter()
        .filter_map(|(acct, _, r, cmd_seq)| match r {
            ExecReport::BalanceChanged(b) => {
                assert_eq!((b.change.account, b.command_seq), (*acct, *cmd_seq));
                Some((*acct, b.command_seq, b.change.asset, b.change.available, b.change.reserved, b.change.reason))
            }
            _ => None,
        })
        .collect();
    assert!(balances.contains(&(A, 5, 1, 100, 0, BalanceReason::Deposit)));
    assert!(balances.contains(&(B, 6, 2, 1_000_000, 0, BalanceReason::Deposit)));
    assert!(balances.contains(&(A, 12, 1, 94, 2, BalanceReason::Withdraw)), "{balances:?}");
    // Trade 3 @ 10000 (qty_scale 1): B pays 30000 + ceil(30000 * 500 / 1e6) = 15 fee; A gets
    // 30000 plus the rebate floor(30000 * 100 / 1e6) = 3.
    let fills: Vec<Fill> =
        reports.iter().filter_map(|x| if let ExecReport::Fill(f) = x.2 { Some(f) } else { None }).collect();
    assert_eq!(
        fills.iter().map(|f| (f.account, f.liquidity, f.fee)).collect::<Vec<_>>(),
        vec![(A, Liquidity::Maker, -3), (B, Liquidity::Taker, 15)]
    );
    assert!(balances.contains(&(A, 9, 2, 30_003, 0, BalanceReason::Trade)), "{balances:?}");
    assert!(balances.contains(&(B, 9, 2, 1_000_000 - 30_015, 0, BalanceReason::Trade)), "{balances:?}");
    // Admin reports.
    let admin: Vec<ExecReport> = reports.iter().filter(|x| x.0 == ADMIN).map(|x| x.2).collect();
    assert!(admin.iter().any(|r| matches!(r, ExecReport::FeeScheduleSet(f) if f.schedule.maker_ppm == -100)));
    assert_eq!(admin.iter().filter(|r| matches!(r, ExecReport::AccountUpdated(_))).count(), 3);
    assert_eq!(admin.iter().filter(|r| matches!(r, ExecReport::TransferApplied(_))).count(), 3);
    assert!(admin.iter().any(|r| matches!(r, ExecReport::Rejected(x)
        if x.command == CommandType::Deposit && x.reason == RejectReason::DuplicateTransaction)));
    // Queries answer the asker: B's own (2 balances, no orders), the admin's of the fee account
    // (its quote fees: 15 - 3 = 12).
    let query = |asker: AccountId| -> Vec<ExecReport> {
        reports
            .iter()
            .filter(|x| {
                x.0 == asker
                    && matches!(
                        x.2,
                        ExecReport::AccountBalance(_) | ExecReport::OpenOrder(_) | ExecReport::QueryDone(_)
                    )
            })
            .map(|x| x.2)
            .collect()
    };
    let b = query(B);
    assert!(
        matches!(b.last(), Some(ExecReport::QueryDone(q)) if q.done.target == B && q.done.balances == 2 && q.done.orders == 0 && q.command_seq == 10)
    );
    assert!(b.contains(&ExecReport::AccountBalance(AccountBalance {
        account: B,
        target: B,
        asset: 1,
        available: 3,
        reserved: 0
    })));
    let fee = query(ADMIN);
    assert_eq!(fee.len(), 2, "{fee:?}");
    assert_eq!(
        fee[0],
        ExecReport::AccountBalance(AccountBalance { account: ADMIN, target: 63, asset: 2, available: 12, reserved: 0 })
    );
    // A's resting remainder is an open order in A's query... A did not ask; events are complete.
    assert!(events
        .iter()
        .any(|e| matches!(e.kind, EventKind::AccountUpdated(u) if u.status == AccountStatus::Suspended)));
}

fn ev(seq: u64, kind: EventKind) -> Event {
    Event { seq, kind }
}

/// Every report of `event` with `ORACLE` as the oracle account, checked to cross the wire intact.
fn futures_reports_of(event: &Event) -> Vec<(AccountId, ExecReport)> {
    let mut out = Vec::new();
    execution_reports(event, ORACLE, |acct, r| {
        assert_eq!(r.account(), acct);
        let mut buf = [0u8; 256];
        let n = r.encode(77, &mut buf).unwrap();
        assert_eq!(server_from(&buf[..n]), Ok(ServerMessage::Report { seq: 77, report: *r }));
        out.push((acct, *r));
    });
    out
}

const ORACLE: AccountId = 9;

/// The futures events (docs/futures.md, section 12) each reach the right stream: the event's
/// account, the oracle for marks and funding, both sides of an auto-deleveraging.
#[test]
fn futures_events_reach_their_accounts() {
    let position = PositionChanged {
        account: A,
        instrument: 3,
        size: -5,
        cost: 10,
        entry_price: 2,
        realised_pnl: -1,
        isolated_margin: 0,
        liq_price: 0,
    };
    let one = |kind: EventKind| {
        let r = futures_reports_of(&ev(41, kind));
        assert_eq!(r.len(), 1, "{kind:?}");
        r[0]
    };
    let tier = SetRiskTier {
        instrument: 3,
        index: 0,
        max_leverage: 125,
        mmr_ppm: 4_000,
        max_notional: 5_000_000,
        maint_amount: 0,
    };
    assert_eq!(one(EventKind::RiskTierSet(RiskTierSet { account: ADMIN, tier })).0, ADMIN);
    assert_eq!(one(EventKind::LeverageSet(LeverageSet { account: A, instrument: 3, leverage: 10 })).0, A);
    let (acct, r) = one(EventKind::PositionChanged(position));
    assert_eq!(
        (acct, r),
        (A, ExecReport::Futures(FuturesReport::PositionChanged(PositionUpdate { position, command_seq: 41 })))
    );
    let wallet = WalletChanged { account: B, asset: 2, wallet: -7, spot: 3 };
    assert_eq!(
        one(EventKind::WalletChanged(wallet)).1,
        ExecReport::Futures(FuturesReport::WalletChanged(WalletUpdate { wallet, command_seq: 41 }))
    );
    // Marks and funding name no account: the oracle's stream gets them.
    let mark = MarkPriceSet { instrument: 3, mark_price: 6_000_000 };
    assert_eq!(
        one(EventKind::MarkPriceSet(mark)),
        (ORACLE, ExecReport::Futures(FuturesReport::MarkPriceSet(MarkReport { account: ORACLE, mark })))
    );
    let funding = FundingApplied {
        instrument: 3,
        rate_ppm: -100,
        mark_price: 6_000_000,
        open_interest: 137,
        paid: 83,
        received: 82,
        residue: 1,
        next_funding_time_ns: 1_767_254_400_000_000_000,
    };
    assert_eq!(one(EventKind::FundingApplied(funding)).0, ORACLE);
    // Both sides of an auto-deleveraging, the bankrupt one first, neither told the other's id.
    let adl = AutoDeleveraged { account: A, counterparty: B, instrument: 3, qty: 400, price: 5_703_000 };
    let both = futures_reports_of(&ev(41, EventKind::AutoDeleveraged(adl)));
    let side = |account, role| {
        ExecReport::Futures(FuturesReport::AutoDeleveraged(Deleveraged {
            account,
            instrument: 3,
            qty: 400,
            price: 5_703_000,
            role,
        }))
    };
    assert_eq!(both, vec![(A, side(A, AdlRole::Liquidated)), (B, side(B, AdlRole::Reduced))]);
    for kind in [
        EventKind::MarginModeSet(MarginModeSet { account: A, instrument: 3, mode: MarginMode::Isolated }),
        EventKind::IsolatedMarginAdjusted(IsolatedMarginAdjusted {
            account: A,
            instrument: 3,
            delta: -5,
            isolated_margin: 10,
        }),
        EventKind::FundingPayment(FundingPayment { account: A, instrument: 3, amount: -83 }),
        EventKind::Liquidation(Liquidation {
            account: A,
            instrument: 3,
            size: 1_000,
            mark_price: 5_726_630,
            liq_price: 5_726_634,
            bankruptcy_price: 5_703_000,
        }),
        EventKind::TakenOver(TakenOver { account: A, instrument: 3, qty: 200, price: 5_703_000 }),
        EventKind::LiquidationDone(LiquidationDone { account: A, instrument: 3, clearance: 4_600 }),
        EventKind::BankruptcyCovered(BankruptcyCovered { account: A, amount: 5_850 }),
        EventKind::Trimmed(Trimmed {
            account: A,
            order_id: 3,
            client_order_id: 30,
            instrument: 3,
            side: Side::Sell,
            leaves: 30,
            cut: 50,
        }),
        EventKind::PositionReport(PositionReport {
            account: A,
            position,
            mark_price: 1,
            upnl: -2,
            maint_margin: 3,
            leverage: 20,
            mode: MarginMode::Cross,
        }),
        EventKind::MarginReport(MarginReport {
            account: A,
            target: A,
            asset: 2,
            wallet: 1,
            equity: 2,
            available: 3,
            withdrawable: 4,
            position_margin: 5,
            order_margin: 6,
            maint_margin: 7,
        }),
    ] {
        assert_eq!(one(kind).0, A, "{kind:?}");
    }
    // Without an oracle account nobody gets marks and funding.
    execution_reports(&ev(1, EventKind::MarkPriceSet(mark)), NO_ACCOUNT, |acct, _| assert_eq!(acct, NO_ACCOUNT));
}

/// A liquidation order's trade (taker order id 0) marks both fills.
#[test]
fn liquidation_trades_are_flagged_on_both_fills() {
    let trade = |taker_order_id| Trade {
        trade_id: 8,
        instrument: 3,
        price: 5_710_000,
        qty: 600,
        taker_side: Side::Sell,
        maker_order_id: 4,
        maker_account: B,
        maker_client_order_id: 40,
        maker_leaves: 0,
        taker_order_id,
        taker_account: A,
        taker_client_order_id: 0,
        taker_leaves: 400,
        timestamp_ns: 5,
        maker_fee: 686,
        taker_fee: 0,
    };
    for (taker_order_id, liquidation) in [(0, true), (12, false)] {
        let fills = futures_reports_of(&ev(1, EventKind::Trade(trade(taker_order_id))));
        assert_eq!(fills.len(), 2);
        for (_, r) in fills {
            assert!(matches!(r, ExecReport::Fill(f) if f.liquidation == liquidation), "{r:?}");
        }
    }
}
