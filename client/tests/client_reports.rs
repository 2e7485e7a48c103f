//! Client library, reports: order entry round trips, sequence checks, partial frames, bad server
//! data and `describe` (against an in-test fake server).

mod client_common;

use std::time::Duration;

use client::{describe, Client, ClientError, LoginParams};
use client_common::{accepted, buy, FakeServer};
use engine::*;
use protocol::*;

/// Bounds a hang, never a speed (see `client_common`).
const T: Duration = client_common::IO;

fn fill(seq_account: u32, order_id: u64, cid: u64, qty: u64, leaves: u64, liquidity: Liquidity) -> ExecReport {
    ExecReport::Fill(protocol::Fill {
        account: seq_account,
        order_id,
        client_order_id: cid,
        trade_id: 9,
        instrument: 1,
        side: Side::Buy,
        price: 5_000_000,
        qty,
        leaves_qty: leaves,
        liquidity,
        timestamp_ns: 1,
        fee: 0,
        liquidation: false,
    })
}

fn logged_in(server: &FakeServer, last_seen_seq: u64) -> Client {
    let mut c = Client::connect(server.addr, T).unwrap();
    c.login(LoginParams { last_seen_seq, ..LoginParams::trader(1, b"alice-demo") }).unwrap();
    c
}

#[test]
fn new_order_round_trip_and_recv_until() {
    let server = FakeServer::spawn(|c| {
        c.accept_login(0, 1000, 10_000);
        let ClientMessage::NewOrder(o) = c.expect_non_heartbeat() else { panic!("expected NewOrder") };
        assert_eq!(o, buy(77, 5_000_000, 150_000));
        c.report(1, accepted(1, 5, &o));
        c.send(&ServerMessage::Heartbeat);
        c.report(2, fill(1, 5, 77, 50_000, 100_000, Liquidity::Maker));
        let ClientMessage::Cancel(x) = c.expect_non_heartbeat() else { panic!("expected Cancel") };
        assert_eq!(x.order, OrderRef::Engine(5));
        let ClientMessage::Amend(a) = c.expect_non_heartbeat() else { panic!("expected Amend") };
        assert_eq!((a.order, a.new_qty, a.new_price), (OrderRef::Client(77), Some(100_000), None));
        let ClientMessage::MassCancel(m) = c.expect_non_heartbeat() else { panic!("expected MassCancel") };
        assert_eq!((m.instrument, m.side), (Some(1), Some(Side::Sell)));
        let ClientMessage::SetInstrumentState(s) = c.expect_non_heartbeat() else { panic!("expected state") };
        assert_eq!((s.instrument, s.state), (2, InstrumentState::Halted));
        c.wait_close();
    });
    let mut client = logged_in(&server, 0);
    client.set_next_client_order_id(77);
    let cid = client.next_client_order_id();
    assert_eq!((cid, client.next_client_order_id()), (77, 78));
    client.new_order(buy(cid, 5_000_000, 150_000)).unwrap();
    let mut others = Vec::new();
    let f =
        client.recv_until(|m| matches!(m, ServerMessage::Report { report: ExecReport::Fill(_), .. }), T, &mut others);
    let f = f.unwrap().unwrap();
    assert_eq!(f.seq(), Some(2));
    assert_eq!(others.len(), 2);
    assert!(matches!(others[0], ServerMessage::Report { seq: 1, report: ExecReport::Accepted(a) } if a.order_id == 5));
    assert_eq!(others[1], ServerMessage::Heartbeat);
    assert_eq!(client.last_seen_seq(), 2);
    assert_eq!(describe(&f), "#2 FILL order=5 cid=77 instrument=1 BUY 50000 @ 5000000 leaves=100000 trade=9 maker");
    client.cancel(OrderRef::Engine(5)).unwrap();
    client.amend(Amend { order: OrderRef::Client(77), new_qty: Some(100_000), new_price: None }).unwrap();
    client.mass_cancel(MassCancel { instrument: Some(1), side: Some(Side::Sell) }).unwrap();
    client.set_instrument_state(2, InstrumentState::Halted).unwrap();
    // Nothing more comes: recv_until times out with None.
    let mut more = Vec::new();
    assert_eq!(client.recv_until(|_| true, Duration::from_millis(50), &mut more).unwrap(), None);
    client.close();
    server.join();
}

#[test]
fn resends_after_login_continue_from_last_seen() {
    let server = FakeServer::spawn(|c| {
        let l = c.accept_login(45, 1000, 10_000);
        assert_eq!(l.last_seen_seq, 41);
        for seq in 42..=46 {
            c.report(seq, ExecReport::MassCancelled(MassCancelled { account: 1, count: seq as u32 }));
        }
        c.wait_close();
    });
    let mut client = logged_in(&server, 41);
    let mut got = Vec::new();
    let last = client.recv_until(|m| m.seq() == Some(46), T, &mut got).unwrap();
    got.extend(last);
    assert_eq!(got.iter().map(|m| m.seq().unwrap()).collect::<Vec<_>>(), vec![42, 43, 44, 45, 46]);
    assert_eq!(client.last_seen_seq(), 46);
    assert_eq!(describe(&got[0]), "#42 MASS CANCELLED count=42");
    client.close();
    server.join();
}

#[test]
fn sequence_gap_and_duplicate_are_detected() {
    let server = FakeServer::spawn(|c| {
        c.accept_login(0, 1000, 10_000);
        let mc = |n| ExecReport::MassCancelled(MassCancelled { account: 1, count: n });
        c.report(1, mc(1));
        c.report(3, mc(3)); // gap: 2 is missing
        c.report(2, mc(2));
        c.report(2, mc(2)); // duplicate
        c.report(3, mc(3));
    });
    let mut client = logged_in(&server, 0);
    assert_eq!(client.recv(T).unwrap().unwrap().seq(), Some(1));
    match client.recv(T) {
        Err(ClientError::SequenceGap { expected: 2, got: 3 }) => {}
        r => panic!("expected a gap, got {r:?}"),
    }
    assert_eq!(client.last_seen_seq(), 1, "a rejected report is not processed");
    assert_eq!(client.recv(T).unwrap().unwrap().seq(), Some(2));
    let e = client.recv(T).unwrap_err();
    assert!(matches!(e, ClientError::SequenceGap { expected: 3, got: 2 }), "{e:?}");
    assert_eq!(e.to_string(), "sequence gap: expected seq 3, got 2");
    assert_eq!(client.recv(T).unwrap().unwrap().seq(), Some(3));
    assert_eq!(client.last_seen_seq(), 3);
    server.join();
}

#[test]
fn frames_split_across_reads_byte_by_byte() {
    let order = buy(5, 5_000_000, 1000);
    let server = FakeServer::spawn(move |c| {
        let l = c.expect_login();
        let pause = Duration::from_millis(1);
        c.send_bytewise(
            &ServerMessage::LoginAccepted(LoginAccepted {
                account: l.account,
                next_seq: 1,
                highest_seq: 0,
                heartbeat_interval_ms: 1000,
                heartbeat_timeout_ms: 10_000,
                role: Role::Trader,
                cancel_on_disconnect: false,
            }),
            pause,
        );
        c.send_bytewise(&ServerMessage::Report { seq: 1, report: accepted(1, 88, &order) }, pause);
        c.send_bytewise(
            &ServerMessage::Report { seq: 2, report: fill(1, 88, 5, 1000, 0, Liquidity::Taker) },
            Duration::ZERO,
        );
        // Two frames in one write, the second cut in half.
        let mut b = vec![0u8; 512];
        let n1 = ServerMessage::Heartbeat.encode(&mut b).unwrap();
        let n2 = ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest }).encode(&mut b[n1..]).unwrap();
        c.write(&b[..n1 + 3]);
        std::thread::sleep(Duration::from_millis(20));
        c.write(&b[n1 + 3..n1 + n2]);
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    let a = client.login(LoginParams::trader(1, b"alice-demo")).unwrap();
    assert_eq!(a.next_seq, 1);
    let m = client.recv(T).unwrap().unwrap();
    assert_eq!(describe(&m), "#1 ACCEPTED order=88 cid=5 instrument=1 BUY Limit Gtc 1000 @ 5000000");
    let m = client.recv(T).unwrap().unwrap();
    assert_eq!(describe(&m), "#2 FILL order=88 cid=5 instrument=1 BUY 1000 @ 5000000 leaves=0 trade=9 taker");
    assert_eq!(client.recv(T).unwrap(), Some(ServerMessage::Heartbeat));
    assert_eq!(client.recv(T).unwrap(), Some(ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest })));
    assert!(matches!(client.recv(T), Err(ClientError::Closed)));
    server.join();
}

#[test]
fn undecodable_message_is_skipped_with_an_error() {
    let server = FakeServer::spawn(|c| {
        c.accept_login(0, 1000, 10_000);
        // Template 99 is unknown server -> client.
        c.write(&[0x08, 0x00, 0x00, 0x00, 99, 0x00, 0x44, 0x4d, 0x01, 0x00]);
        // OrderCancelled with reason 10 (out of range).
        let mut b = [0u8; 128];
        let r = ExecReport::Cancelled(Cancelled {
            account: 1,
            order_id: 1,
            client_order_id: 1,
            instrument: 1,
            side: Side::Sell,
            cancelled_qty: 1,
            filled_qty: 0,
            reason: CancelReason::User,
        });
        let n = r.encode(1, &mut b).unwrap();
        b[10 + 49] = 200;
        c.write(&b[..n]);
        c.report(1, r);
    });
    let mut client = logged_in(&server, 0);
    assert!(matches!(client.recv(T), Err(ClientError::Protocol(DecodeError::UnknownTemplate { template_id: 99 }))));
    let e = client.recv(T).unwrap_err();
    assert!(matches!(e, ClientError::Protocol(DecodeError::BadField { field: "reason", .. })), "{e:?}");
    assert_eq!(client.last_seen_seq(), 0);
    let m = client.recv(T).unwrap().unwrap();
    assert_eq!(describe(&m), "#1 CANCELLED order=1 cid=1 instrument=1 SELL cancelled=1 filled=0 reason=User");
    server.join();
}

#[test]
fn framing_error_is_fatal() {
    for bad in [&[0x03u8, 0x00][..], &[0xff, 0xff][..]] {
        let server = FakeServer::spawn(move |c| {
            c.accept_login(0, 1000, 10_000);
            c.write(bad);
            c.write(&[0u8; 64]);
        });
        let mut client = logged_in(&server, 0);
        assert!(matches!(client.recv(T), Err(ClientError::Framing(_))));
        assert!(matches!(client.recv(T), Err(ClientError::Closed)));
        server.join();
    }
}

#[test]
fn report_before_login_is_unexpected() {
    let server = FakeServer::spawn(|c| {
        c.expect_login();
        c.report(1, ExecReport::MassCancelled(MassCancelled { account: 1, count: 0 }));
    });
    let mut client = Client::connect(server.addr, T).unwrap();
    let e = client.login(LoginParams::trader(1, b"alice-demo")).unwrap_err();
    assert!(matches!(&e, ClientError::Unexpected(s) if s.contains("#1 MASS CANCELLED")), "{e:?}");
    server.join();
}

#[test]
fn describe_every_message() {
    let spec = InstrumentSpec {
        id: 3,
        symbol: InstrumentSpec::symbol_from_str("SOL-USDT").unwrap(),
        base_asset: 4,
        quote_asset: 1,
        tick: 1,
        lot: 1000,
        min_qty: 1000,
        max_qty: 10_000_000,
        min_notional: 100,
        price_band_bps: 1000,
        reference_price: 15_000,
        qty_scale: 100_000_000,
    };
    let r = |seq, report| ServerMessage::Report { seq, report };
    let cases: Vec<(ServerMessage, &str)> = vec![
        (
            ServerMessage::LoginAccepted(LoginAccepted {
                account: 1,
                next_seq: 4,
                highest_seq: 9,
                heartbeat_interval_ms: 1000,
                heartbeat_timeout_ms: 10_000,
                role: Role::Trader,
                cancel_on_disconnect: true,
            }),
            "LOGIN ACCEPTED account=1 role=Trader next_seq=4 highest_seq=9 heartbeat=1000ms timeout=10000ms \
             cancel_on_disconnect=on",
        ),
        (
            ServerMessage::LoginRejected(LoginRejected {
                account: 1,
                reason: LoginRejectReason::BadCredentials,
                highest_seq: 0,
                oldest_available_seq: 0,
                leader: None,
            }),
            "LOGIN REJECTED account=1 reason=BadCredentials highest_seq=0 oldest_available_seq=0",
        ),
        (
            ServerMessage::LoginRejected(LoginRejected {
                account: 1,
                reason: LoginRejectReason::NotLeader,
                highest_seq: 0,
                oldest_available_seq: 0,
                leader: Some("127.0.0.1:9001".parse().unwrap()),
            }),
            "LOGIN REJECTED account=1 reason=NotLeader highest_seq=0 oldest_available_seq=0 leader=127.0.0.1:9001",
        ),
        (ServerMessage::Heartbeat, "HEARTBEAT"),
        (
            ServerMessage::SessionReject(SessionReject {
                ref_template_id: 20,
                reason: SessionRejectReason::BadFieldValue,
                field_offset: Some(28),
                client_order_id: 1001,
            }),
            "SESSION REJECT template=20 reason=BadFieldValue field_offset=28 cid=1001",
        ),
        (
            r(
                5,
                ExecReport::Rejected(Rejected {
                    account: 1,
                    command: CommandType::NewOrder,
                    client_order_id: 1002,
                    order_id: 0,
                    instrument: 1,
                    reason: RejectReason::PriceOffTick,
                }),
            ),
            "#5 REJECTED NewOrder reason=PriceOffTick cid=1002 instrument=1",
        ),
        (
            r(
                6,
                ExecReport::Amended(Amended {
                    account: 1,
                    order_id: 88,
                    client_order_id: 1001,
                    instrument: 1,
                    side: Side::Buy,
                    price: 6_500_000,
                    qty: 100_000,
                    leaves: 50_000,
                    kept_priority: true,
                }),
            ),
            "#6 AMENDED order=88 cid=1001 instrument=1 BUY 100000 @ 6500000 leaves=50000 priority=kept",
        ),
        (
            r(
                7,
                ExecReport::SelfTradePrevented(SelfTradePrevented {
                    account: 1,
                    instrument: 1,
                    maker_order_id: 89,
                    taker_order_id: 90,
                    mode: StpMode::CancelTaker,
                    qty: 1000,
                }),
            ),
            "#7 SELF-TRADE PREVENTED instrument=1 maker_order=89 taker_order=90 qty=1000 mode=CancelTaker",
        ),
        (
            r(8, ExecReport::InstrumentAdded(InstrumentAdded { account: 0, spec, perpetual: false })),
            "#8 INSTRUMENT ADDED id=3 symbol=SOL-USDT base=4 quote=1 tick=1 lot=1000 min_qty=1000 \
             max_qty=10000000 min_notional=100 band_bps=1000 ref_price=15000 qty_scale=100000000",
        ),
        (
            r(
                9,
                ExecReport::InstrumentStateChanged(InstrumentStateChanged {
                    account: 0,
                    instrument: 3,
                    state: InstrumentState::CancelOnly,
                }),
            ),
            "#9 INSTRUMENT STATE instrument=3 state=CancelOnly",
        ),
        (
            r(
                10,
                ExecReport::Fill(Fill {
                    account: 1,
                    order_id: 88,
                    client_order_id: 1001,
                    trade_id: 9,
                    instrument: 1,
                    side: Side::Sell,
                    price: 5_000_000,
                    qty: 1000,
                    leaves_qty: 0,
                    liquidity: Liquidity::Maker,
                    timestamp_ns: 1,
                    fee: -5,
                    liquidation: false,
                }),
            ),
            "#10 FILL order=88 cid=1001 instrument=1 SELL 1000 @ 5000000 leaves=0 trade=9 maker fee=-5",
        ),
        (
            r(
                11,
                ExecReport::BalanceChanged(BalanceUpdate {
                    change: BalanceChanged {
                        account: 1,
                        asset: 2,
                        available: 900,
                        reserved: 100,
                        reason: BalanceReason::Trade,
                    },
                    command_seq: 77,
                }),
            ),
            "#11 BALANCE asset=2 available=900 reserved=100 reason=trade command_seq=77",
        ),
        (
            r(
                12,
                ExecReport::AccountUpdated(AccountUpdated {
                    account: 0,
                    command: CommandType::SetAccountStatus,
                    target: 5,
                    status: AccountStatus::Suspended,
                    tier: 2,
                }),
            ),
            "#12 ACCOUNT UPDATED SetAccountStatus account=5 status=Suspended tier=2",
        ),
        (
            r(
                13,
                ExecReport::TransferApplied(TransferApplied {
                    account: 0,
                    command: CommandType::Deposit,
                    target: 5,
                    asset: 1,
                    amount: 300,
                    tx_id: 42,
                    available: 1300,
                }),
            ),
            "#13 TRANSFER Deposit account=5 asset=1 amount=300 tx=42 available=1300",
        ),
        (
            r(
                14,
                ExecReport::FeeScheduleSet(FeeScheduleSet {
                    account: 0,
                    schedule: SetFeeSchedule { instrument: 3, tier: 1, maker_ppm: -100, taker_ppm: 400 },
                }),
            ),
            "#14 FEE SCHEDULE instrument=3 tier=1 maker_ppm=-100 taker_ppm=400",
        ),
        (
            r(
                15,
                ExecReport::AccountBalance(AccountBalance {
                    account: 0,
                    target: 5,
                    asset: 1,
                    available: 1300,
                    reserved: 7,
                }),
            ),
            "#15 ACCOUNT BALANCE account=5 asset=1 available=1300 reserved=7",
        ),
        (
            r(
                16,
                ExecReport::OpenOrder(OpenOrder {
                    account: 0,
                    order: OrderView {
                        order_id: 88,
                        client_order_id: 1001,
                        account: 5,
                        instrument: 1,
                        side: Side::Buy,
                        price: 4_900_000,
                        qty: 2000,
                        leaves: 1000,
                        tif: TimeInForce::PostOnly,
                        stp: StpMode::CancelMaker,
                    },
                }),
            ),
            "#16 OPEN ORDER account=5 order=88 cid=1001 instrument=1 BUY 2000 @ 4900000 leaves=1000 PostOnly \
             stp=CancelMaker",
        ),
        (
            r(
                17,
                ExecReport::QueryDone(QueryComplete {
                    done: QueryDone {
                        account: 0,
                        target: 5,
                        status: AccountStatus::Active,
                        tier: 0,
                        balances: 1,
                        orders: 1,
                    },
                    command_seq: 78,
                }),
            ),
            "#17 QUERY DONE account=5 status=Active tier=0 balances=1 orders=1 command_seq=78",
        ),
    ];
    for (m, want) in cases {
        assert_eq!(describe(&m), want);
    }
}

/// The typed futures senders put exactly their message on the wire.
#[test]
fn futures_senders_send_their_messages() {
    let tier = SetRiskTier {
        instrument: 3,
        index: 1,
        max_leverage: 100,
        mmr_ppm: 5_000,
        max_notional: 25_000_000,
        maint_amount: 5_000,
    };
    let t = |amount, tx_id| Transfer { target: 7, asset: 1, amount, tx_id };
    let spec = InstrumentSpec { symbol: InstrumentSpec::symbol_from_str("BTC-PERP").unwrap(), ..perp_spec() };
    let want = vec![
        ClientMessage::AddPerpetual(spec),
        ClientMessage::SetRiskTier(tier),
        ClientMessage::MarginDeposit(t(1_000, 1)),
        ClientMessage::MarginWithdraw(t(2_000, 2)),
        ClientMessage::MarginDebit(t(3_000, 3)),
        ClientMessage::SetLeverage(SetLeverage { instrument: 3, leverage: 10 }),
        ClientMessage::SetMarginMode(SetMarginMode { instrument: 3, mode: MarginMode::Isolated }),
        ClientMessage::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument: 3, delta: -5 }),
        ClientMessage::WalletTransfer(WalletTransfer { asset: 1, amount: 9, to_futures: true }),
        ClientMessage::SetMarkPrice(SetMarkPrice { instrument: 3, mark_price: 5_726_630 }),
        ClientMessage::ApplyFunding(ApplyFunding {
            instrument: 3,
            rate_ppm: -100,
            next_funding_time_ns: 1_767_254_400_000_000_000,
        }),
    ];
    let expected = want.clone();
    let server = FakeServer::spawn(move |c| {
        c.accept_login(0, 1000, 10_000);
        for m in &expected {
            assert_eq!(&c.expect_non_heartbeat(), m);
        }
        c.wait_close();
    });
    let mut client = logged_in(&server, 0);
    client.add_perpetual(spec).unwrap();
    client.set_risk_tier(tier).unwrap();
    client.margin_deposit(7, 1, 1_000, 1).unwrap();
    client.margin_withdraw(7, 1, 2_000, 2).unwrap();
    client.margin_debit(7, 1, 3_000, 3).unwrap();
    client.set_leverage(3, 10).unwrap();
    client.set_margin_mode(3, MarginMode::Isolated).unwrap();
    client.adjust_isolated_margin(3, -5).unwrap();
    client.wallet_transfer(1, 9, true).unwrap();
    client.set_mark_price(3, 5_726_630).unwrap();
    client.apply_funding(3, -100, 1_767_254_400_000_000_000).unwrap();
    client.close();
    server.join();
}

fn perp_spec() -> InstrumentSpec {
    InstrumentSpec { symbol: [0; 16], ..engine::examples::btc_perp_spec(3) }
}

/// Every futures report, the liquidation flag of a fill and the wallet-transfer balance reason
/// have their line.
#[test]
fn describe_every_futures_report() {
    let f = |seq, r| ServerMessage::Report { seq, report: ExecReport::Futures(r) };
    let position = PositionChanged {
        account: 7,
        instrument: 3,
        size: 87,
        cost: 522_290,
        entry_price: 6_003_334,
        realised_pnl: 4_832,
        isolated_margin: 0,
        liq_price: 0,
    };
    let tier = SetRiskTier {
        instrument: 3,
        index: 1,
        max_leverage: 100,
        mmr_ppm: 5_000,
        max_notional: 25_000_000,
        maint_amount: 5_000,
    };
    let cases: Vec<(ServerMessage, &str)> = vec![
        (
            f(1, FuturesReport::RiskTierSet(RiskTierSet { account: 0, tier })),
            "#1 RISK TIER instrument=3 index=1 max_notional=25000000 max_leverage=100 mmr_ppm=5000 maint_amount=5000",
        ),
        (f(2, FuturesReport::LeverageSet(LeverageSet { account: 7, instrument: 3, leverage: 10 })), "#2 LEVERAGE instrument=3 leverage=10"),
        (
            f(3, FuturesReport::MarginModeSet(MarginModeSet { account: 7, instrument: 3, mode: MarginMode::Isolated })),
            "#3 MARGIN MODE instrument=3 mode=isolated",
        ),
        (
            f(4, FuturesReport::IsolatedMarginAdjusted(IsolatedMarginAdjusted { account: 7, instrument: 3, delta: -5_000, isolated_margin: 292_000 })),
            "#4 ISOLATED MARGIN instrument=3 delta=-5000 isolated_margin=292000",
        ),
        (f(5, FuturesReport::FundingPayment(FundingPayment { account: 7, instrument: 3, amount: -83 })), "#5 FUNDING instrument=3 amount=-83"),
        (
            f(6, FuturesReport::Liquidation(Liquidation { account: 7, instrument: 3, size: 1_000, mark_price: 5_726_630, liq_price: 5_726_634, bankruptcy_price: 5_703_000 })),
            "#6 LIQUIDATION instrument=3 size=1000 mark=5726630 liq=5726634 bankruptcy=5703000",
        ),
        (f(7, FuturesReport::TakenOver(TakenOver { account: 7, instrument: 3, qty: 200, price: 5_703_000 })), "#7 TAKEN OVER instrument=3 200 @ 5703000"),
        (
            f(8, FuturesReport::AutoDeleveraged(Deleveraged { account: 7, instrument: 3, qty: 400, price: 5_703_000, role: AdlRole::Reduced })),
            "#8 AUTO-DELEVERAGED instrument=3 400 @ 5703000 reduced",
        ),
        (f(9, FuturesReport::LiquidationDone(LiquidationDone { account: 7, instrument: 3, clearance: 4_600 })), "#9 LIQUIDATION DONE instrument=3 clearance=4600"),
        (f(10, FuturesReport::BankruptcyCovered(BankruptcyCovered { account: 7, amount: 5_850 })), "#10 BANKRUPTCY COVERED amount=5850"),
        (
            f(11, FuturesReport::Trimmed(Trimmed { account: 7, order_id: 92, client_order_id: 1030, instrument: 3, side: Side::Sell, leaves: 30, cut: 50 })),
            "#11 TRIMMED order=92 cid=1030 instrument=3 SELL leaves=30 cut=50",
        ),
        (
            f(12, FuturesReport::PositionChanged(PositionUpdate { position, command_seq: 1310 })),
            "#12 POSITION instrument=3 size=87 cost=522290 entry=6003334 realised=4832 isolated=0 command_seq=1310",
        ),
        (
            f(13, FuturesReport::WalletChanged(WalletUpdate { wallet: WalletChanged { account: 7, asset: 1, wallet: -3, spot: 9 }, command_seq: 1310 })),
            "#13 WALLET asset=1 wallet=-3 spot=9 command_seq=1310",
        ),
        (
            f(14, FuturesReport::PositionReport(PositionReport { account: 7, position: PositionChanged { liq_price: 5_525_629, ..position }, mark_price: 6_100_000, upnl: 8_410, maint_margin: 2_123, leverage: 10, mode: MarginMode::Cross })),
            "#14 POSITION REPORT account=7 instrument=3 size=87 cost=522290 entry=6003334 realised=4832 isolated=0 liq=5525629 \
             mark=6100000 upnl=8410 maint_margin=2123 leverage=10 mode=cross",
        ),
        (
            f(15, FuturesReport::MarginReport(MarginReport { account: 7, target: 7, asset: 1, wallet: 1, equity: 2, available: 3, withdrawable: 4, position_margin: 5, order_margin: 6, maint_margin: 7 })),
            "#15 MARGIN REPORT account=7 asset=1 wallet=1 equity=2 available=3 withdrawable=4 position_margin=5 order_margin=6 \
             maint_margin=7",
        ),
        (
            f(16, FuturesReport::MarkPriceSet(MarkReport { account: 9, mark: MarkPriceSet { instrument: 3, mark_price: 5_726_630 } })),
            "#16 MARK instrument=3 mark=5726630",
        ),
        (
            f(17, FuturesReport::FundingApplied(FundingReport { account: 9, funding: FundingApplied { instrument: 3, rate_ppm: 100, mark_price: 6_050_000, open_interest: 137, paid: 83, received: 82, residue: 1, next_funding_time_ns: 1_767_254_400_000_000_000 } })),
            "#17 FUNDING APPLIED instrument=3 rate_ppm=100 mark=6050000 open_interest=137 paid=83 received=82 residue=1 \
             next_funding_time_ns=1767254400000000000",
        ),
        (
            ServerMessage::Report {
                seq: 18,
                report: ExecReport::Fill(Fill {
                    account: 7,
                    order_id: 0,
                    client_order_id: 0,
                    trade_id: 41,
                    instrument: 3,
                    side: Side::Sell,
                    price: 5_710_000,
                    qty: 600,
                    leaves_qty: 400,
                    liquidity: Liquidity::Taker,
                    timestamp_ns: 1,
                    fee: 0,
                    liquidation: true,
                }),
            },
            "#18 FILL order=0 cid=0 instrument=3 SELL 600 @ 5710000 leaves=400 trade=41 taker liquidation",
        ),
        (
            ServerMessage::Report {
                seq: 19,
                report: ExecReport::BalanceChanged(BalanceUpdate {
                    change: BalanceChanged { account: 7, asset: 1, available: 938_700, reserved: 0, reason: BalanceReason::WalletTransfer },
                    command_seq: 1311,
                }),
            },
            "#19 BALANCE asset=1 available=938700 reserved=0 reason=wallet-transfer command_seq=1311",
        ),
    ];
    for (m, want) in cases {
        assert_eq!(describe(&m), want);
    }
}
