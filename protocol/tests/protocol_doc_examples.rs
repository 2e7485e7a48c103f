//! The hex examples in docs/protocol.md are generated here and checked against the document, so
//! they are exact. `MATCHD_PRINT_PROTOCOL_HEX=1 cargo test -p protocol --test protocol_doc_examples
//! -- --nocapture` prints them.

mod futures_examples;
mod protocol_common;

use engine::*;
use protocol::*;
use protocol_common::{client_from, server_from};

const ACCOUNT: u32 = 7;
const TS: u64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
/// Salt and hash of the credential examples: easy to find in the hex (not a real secret's hash).
const SALT: [u8; 16] = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f];
const HASH: [u8; 32] = [
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2,
    0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
];

fn btc_usdt() -> InstrumentSpec {
    InstrumentSpec {
        id: 1,
        symbol: InstrumentSpec::symbol_from_str("BTC-USDT").unwrap(),
        base_asset: 2,
        quote_asset: 1,
        tick: 1,
        lot: 1_000,
        min_qty: 1_000,
        max_qty: 10_000_000_000,
        min_notional: 500,
        price_band_bps: 1_000,
        reference_price: 6_500_000,
        qty_scale: 100_000_000,
    }
}

fn new_order() -> NewOrder {
    NewOrder {
        client_order_id: 1001,
        instrument: 1,
        side: Side::Buy,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        stp: StpMode::CancelTaker,
        price: 6_500_000,
        qty: 150_000,
    }
}

fn client_examples() -> Vec<(&'static str, ClientMessage)> {
    vec![
        (
            "Login",
            ClientMessage::Login(Login {
                account: ACCOUNT,
                credential: Login::credential_from(b"demo-secret-7").unwrap(),
                last_seen_seq: 41,
                heartbeat_interval_ms: 1000,
                role: Role::Trader,
                cancel_on_disconnect: CancelOnDisconnect::Enabled,
            }),
        ),
        ("Heartbeat", ClientMessage::Heartbeat),
        ("Logout (client)", ClientMessage::Logout(Logout { reason: LogoutReason::UserRequest })),
        ("NewOrder", ClientMessage::NewOrder(new_order())),
        ("Cancel", ClientMessage::Cancel(Cancel { order: OrderRef::Client(1001) })),
        ("Amend", ClientMessage::Amend(Amend { order: OrderRef::Engine(88), new_qty: Some(100_000), new_price: None })),
        ("MassCancel", ClientMessage::MassCancel(MassCancel { instrument: Some(1), side: Some(Side::Sell) })),
        (
            "NewStopOrder",
            ClientMessage::NewStopOrder(StopOrder {
                order: NewOrder {
                    client_order_id: 1002,
                    side: Side::Sell,
                    order_type: OrderType::Limit,
                    stp: StpMode::None,
                    price: 5_990_000,
                    ..new_order()
                },
                trigger_price: 6_000_000,
                trigger: TriggerKind::StopLoss,
            }),
        ),
        (
            "NewAdvancedOrder (good till date)",
            ClientMessage::NewAdvancedOrder(AdvancedOrder {
                order: NewOrder { client_order_id: 1004, ..new_order() },
                expire_time_ns: TS + 86_400 * 1_000_000_000,
                quote_qty: 0,
                trigger: None,
                display_qty: 0,
                trailing: None,
                reduce_only: false,
                close_position: false,
                trigger_source: TriggerSource::LastPrice,
            }),
        ),
        (
            "NewAdvancedOrder (quote quantity)",
            ClientMessage::NewAdvancedOrder(AdvancedOrder {
                order: NewOrder {
                    client_order_id: 1005,
                    order_type: OrderType::Market,
                    tif: TimeInForce::Ioc,
                    price: 0,
                    qty: 0,
                    ..new_order()
                },
                expire_time_ns: 0,
                quote_qty: 100_000,
                trigger: None,
                display_qty: 0,
                trailing: None,
                reduce_only: false,
                close_position: false,
                trigger_source: TriggerSource::LastPrice,
            }),
        ),
        (
            "NewAdvancedOrder (conditional, good till date)",
            ClientMessage::NewAdvancedOrder(AdvancedOrder {
                order: NewOrder {
                    client_order_id: 1006,
                    side: Side::Sell,
                    stp: StpMode::None,
                    price: 5_990_000,
                    ..new_order()
                },
                expire_time_ns: TS + 3_600 * 1_000_000_000,
                quote_qty: 0,
                trigger: Some((6_000_000, TriggerKind::StopLoss)),
                display_qty: 0,
                trailing: None,
                reduce_only: false,
                close_position: false,
                trigger_source: TriggerSource::LastPrice,
            }),
        ),
        (
            "NewAdvancedOrder (iceberg)",
            ClientMessage::NewAdvancedOrder(AdvancedOrder {
                display_qty: 50_000,
                ..AdvancedOrder::plain(NewOrder { client_order_id: 1007, ..new_order() })
            }),
        ),
        (
            "NewAdvancedOrder (trailing stop)",
            ClientMessage::NewAdvancedOrder(AdvancedOrder {
                trigger: Some((0, TriggerKind::StopLoss)),
                trailing: Some(Trailing { delta: 150, unit: TrailUnit::Bps }),
                ..AdvancedOrder::plain(NewOrder {
                    client_order_id: 1008,
                    side: Side::Sell,
                    order_type: OrderType::Market,
                    tif: TimeInForce::Ioc,
                    price: 0,
                    ..new_order()
                })
            }),
        ),
        (
            "AmendTrigger",
            ClientMessage::AmendTrigger(AmendTrigger { order: OrderRef::Client(1002), trigger_price: 5_950_000 }),
        ),
        (
            "NewOrderList (OCO)",
            ClientMessage::NewOrderList(OrderList::oco(
                1010,
                1,
                Side::Sell,
                150_000,
                [
                    ListLeg {
                        order_type: OrderType::Limit,
                        tif: TimeInForce::PostOnly,
                        price: 6_600_000,
                        trigger: None,
                    },
                    ListLeg {
                        order_type: OrderType::Market,
                        tif: TimeInForce::Ioc,
                        price: 0,
                        trigger: Some((6_300_000, TriggerKind::StopLoss)),
                    },
                ],
            )),
        ),
        (
            "NewOrderList (OTOCO)",
            ClientMessage::NewOrderList(OrderList::otoco(
                1020,
                1,
                (Side::Buy, TimeInForce::Gtc, 6_500_000, 150_000),
                Side::Sell,
                150_000,
                [
                    ListLeg {
                        order_type: OrderType::Limit,
                        tif: TimeInForce::PostOnly,
                        price: 6_800_000,
                        trigger: None,
                    },
                    ListLeg {
                        order_type: OrderType::Limit,
                        tif: TimeInForce::Gtc,
                        price: 6_190_000,
                        trigger: Some((6_200_000, TriggerKind::StopLoss)),
                    },
                ],
            )),
        ),
        ("AddInstrument", ClientMessage::AddInstrument(btc_usdt())),
        (
            "SetInstrumentState",
            ClientMessage::SetInstrumentState(SetInstrumentState { instrument: 1, state: InstrumentState::Halted }),
        ),
        (
            "CreateAccount",
            ClientMessage::CreateAccount(CreateAccount { target: ACCOUNT, tier: 1, status: AccountStatus::Active }),
        ),
        ("Deposit", ClientMessage::Deposit(Transfer { target: ACCOUNT, asset: 1, amount: 100_000_000, tx_id: 9001 })),
        ("Withdraw", ClientMessage::Withdraw(Transfer { target: ACCOUNT, asset: 2, amount: 50_000, tx_id: 9002 })),
        (
            "SetAccountStatus",
            ClientMessage::SetAccountStatus(SetAccountStatus {
                target: ACCOUNT,
                status: AccountStatus::Suspended,
                tier: 1,
            }),
        ),
        (
            "SetFeeSchedule",
            ClientMessage::SetFeeSchedule(SetFeeSchedule { instrument: 1, tier: 0, maker_ppm: -100, taker_ppm: 500 }),
        ),
        ("QueryAccount", ClientMessage::QueryAccount(QueryAccount { target: ACCOUNT })),
        ("SetCredential", ClientMessage::SetCredential(SetCredential { target: ACCOUNT, salt: SALT, hash: HASH })),
        ("RevokeCredential", ClientMessage::RevokeCredential(RevokeCredential { target: ACCOUNT })),
        ("MdSubscribe", ClientMessage::MdSubscribe(MdSubscribe { heartbeat_interval_ms: 1000, order_by_order: true })),
        (
            "MdSnapshotRequest",
            ClientMessage::MdSnapshotRequest(MdSnapshotRequest { instrument: 1, depth: 10, orders: true }),
        ),
    ]
}

/// Market-data examples: BTC-USDT (instrument 1) with sequence numbers in the hundreds.
fn md_examples() -> Vec<(&'static str, MdServerMessage)> {
    vec![
        (
            "MdSubscribeAccepted",
            MdServerMessage::SubscribeAccepted(MdSubscribeAccepted {
                feed_epoch: TS,
                heartbeat_interval_ms: 1000,
                heartbeat_timeout_ms: 10_000,
                snapshot_depth_max: 5000,
                instruments: 2,
                order_by_order: true,
            }),
        ),
        (
            "MdSubscribeRejected",
            MdServerMessage::SubscribeRejected(MdSubscribeRejected { reason: MdRejectReason::TooManySubscribers }),
        ),
        (
            "MdInstrument",
            MdServerMessage::Instrument(MdInstrument {
                seq: 311,
                order_seq: 180,
                kind: MdInstrumentKind::Directory,
                state: InstrumentState::Trading,
                spec: btc_usdt(),
                perpetual: false,
            }),
        ),
        (
            "MdInstrumentState",
            MdServerMessage::InstrumentState(MdInstrumentState {
                seq: 312,
                instrument: 1,
                state: InstrumentState::Halted,
            }),
        ),
        (
            "MdTrade",
            MdServerMessage::Trade(MdTrade {
                seq: 313,
                instrument: 1,
                trade_id: 5,
                price: 6_500_000,
                qty: 50_000,
                aggressor: Side::Sell,
                timestamp_ns: TS + 1_000,
                liquidation: false,
            }),
        ),
        (
            "MdLevel",
            MdServerMessage::Level(MdLevel {
                seq: 314,
                instrument: 1,
                side: Side::Buy,
                price: 6_500_000,
                qty: 100_000,
                order_count: 1,
            }),
        ),
        (
            "MdTopOfBook",
            MdServerMessage::TopOfBook(MdTopOfBook {
                seq: 315,
                instrument: 1,
                bid_price: 6_500_000,
                bid_qty: 100_000,
                ask_price: 6_510_000,
                ask_qty: 100_000,
            }),
        ),
        (
            "MdSnapshotLevel",
            MdServerMessage::SnapshotLevel(MdLevel {
                seq: 315,
                instrument: 1,
                side: Side::Sell,
                price: 6_510_000,
                qty: 100_000,
                order_count: 1,
            }),
        ),
        (
            "MdSnapshotOrder",
            MdServerMessage::SnapshotOrder(MdSnapshotOrder {
                seq: 315,
                instrument: 1,
                side: Side::Sell,
                order_id: 89,
                price: 6_510_000,
                qty: 100_000,
            }),
        ),
        (
            "MdSnapshotEnd",
            MdServerMessage::SnapshotEnd(MdSnapshotEnd {
                seq: 315,
                order_seq: 184,
                feed_epoch: TS,
                instrument: 1,
                state: InstrumentState::Trading,
                truncated: false,
                orders_included: true,
                bid_levels: 1,
                ask_levels: 1,
                orders: 2,
                // Spot: no perpetual state.
                mark_price: 0,
                open_interest: 0,
                funding_rate_ppm: 0,
                next_funding_time_ns: 0,
            }),
        ),
        (
            "MdSnapshotRejected",
            MdServerMessage::SnapshotRejected(MdSnapshotRejected {
                instrument: 9,
                reason: MdSnapshotRejectReason::UnknownInstrument,
            }),
        ),
        (
            "MdOrderAdded",
            MdServerMessage::OrderAdded(MdOrderAdded {
                order_seq: 181,
                instrument: 1,
                side: Side::Buy,
                order_id: 88,
                price: 6_500_000,
                qty: 150_000,
            }),
        ),
        (
            "MdOrderExecuted",
            MdServerMessage::OrderExecuted(MdOrderExecuted {
                order_seq: 182,
                instrument: 1,
                side: Side::Buy,
                order_id: 88,
                trade_id: 5,
                qty: 50_000,
                leaves: 100_000,
            }),
        ),
        (
            "MdOrderDeleted",
            MdServerMessage::OrderDeleted(MdOrderDeleted {
                order_seq: 183,
                instrument: 1,
                side: Side::Sell,
                order_id: 90,
                qty: 100_000,
                reason: MdDeleteReason::Cancelled,
            }),
        ),
        (
            "MdOrderModified",
            MdServerMessage::OrderModified(MdOrderModified {
                order_seq: 184,
                instrument: 1,
                side: Side::Sell,
                order_id: 89,
                price: 6_510_000,
                qty: 100_000,
                kept_priority: true,
            }),
        ),
    ]
}

fn server_examples() -> Vec<(&'static str, ServerMessage)> {
    let no = new_order();
    vec![
        (
            "LoginAccepted",
            ServerMessage::LoginAccepted(LoginAccepted {
                account: ACCOUNT,
                next_seq: 42,
                highest_seq: 45,
                heartbeat_interval_ms: 1000,
                heartbeat_timeout_ms: 10_000,
                role: Role::Trader,
                cancel_on_disconnect: true,
            }),
        ),
        (
            "LoginRejected",
            ServerMessage::LoginRejected(LoginRejected {
                account: ACCOUNT,
                reason: LoginRejectReason::SequenceAhead,
                highest_seq: 45,
                oldest_available_seq: 0,
                leader: None,
            }),
        ),
        ("Logout (server)", ServerMessage::Logout(Logout { reason: LogoutReason::HeartbeatTimeout })),
        (
            "SessionReject",
            ServerMessage::SessionReject(SessionReject {
                ref_template_id: template::NEW_ORDER,
                reason: SessionRejectReason::BadFieldValue,
                field_offset: Some(28),
                client_order_id: 1001,
            }),
        ),
        (
            "OrderAccepted",
            ServerMessage::Report {
                seq: 46,
                report: ExecReport::Accepted(Accepted {
                    account: ACCOUNT,
                    order_id: 88,
                    client_order_id: no.client_order_id,
                    instrument: 1,
                    side: no.side,
                    order_type: no.order_type,
                    tif: no.tif,
                    price: no.price,
                    qty: no.qty,
                    timestamp_ns: TS,
                }),
            },
        ),
        (
            "CommandRejected",
            ServerMessage::Report {
                seq: 47,
                report: ExecReport::Rejected(Rejected {
                    account: ACCOUNT,
                    command: CommandType::NewOrder,
                    client_order_id: 1002,
                    order_id: 0,
                    instrument: 1,
                    reason: RejectReason::PriceOffTick,
                }),
            },
        ),
        (
            "Fill",
            ServerMessage::Report {
                seq: 48,
                report: ExecReport::Fill(Fill {
                    account: ACCOUNT,
                    order_id: 88,
                    client_order_id: 1001,
                    trade_id: 5,
                    instrument: 1,
                    side: Side::Buy,
                    price: 6_500_000,
                    qty: 50_000,
                    leaves_qty: 100_000,
                    liquidity: Liquidity::Maker,
                    timestamp_ns: TS + 1_000,
                    fee: 1,
                    liquidation: false,
                }),
            },
        ),
        (
            "OrderCancelled",
            ServerMessage::Report {
                seq: 49,
                report: ExecReport::Cancelled(Cancelled {
                    account: ACCOUNT,
                    order_id: 88,
                    client_order_id: 1001,
                    instrument: 1,
                    side: Side::Buy,
                    cancelled_qty: 100_000,
                    filled_qty: 50_000,
                    reason: CancelReason::User,
                }),
            },
        ),
        (
            "OrderAmended",
            ServerMessage::Report {
                seq: 50,
                report: ExecReport::Amended(Amended {
                    account: ACCOUNT,
                    order_id: 89,
                    client_order_id: 1003,
                    instrument: 1,
                    side: Side::Sell,
                    price: 6_510_000,
                    qty: 100_000,
                    leaves: 100_000,
                    kept_priority: true,
                }),
            },
        ),
        (
            "SelfTradePrevented",
            ServerMessage::Report {
                seq: 51,
                report: ExecReport::SelfTradePrevented(SelfTradePrevented {
                    account: ACCOUNT,
                    instrument: 1,
                    maker_order_id: 89,
                    taker_order_id: 90,
                    mode: StpMode::CancelTaker,
                    qty: 100_000,
                }),
            },
        ),
        (
            "MassCancelled",
            ServerMessage::Report {
                seq: 52,
                report: ExecReport::MassCancelled(MassCancelled { account: ACCOUNT, count: 3 }),
            },
        ),
        (
            "OrderArmed",
            ServerMessage::Report {
                seq: 53,
                report: ExecReport::Armed(Armed {
                    account: ACCOUNT,
                    order_id: 90,
                    client_order_id: 1002,
                    instrument: 1,
                    side: Side::Sell,
                    order_type: OrderType::Limit,
                    tif: TimeInForce::Gtc,
                    trigger: TriggerKind::StopLoss,
                    price: 5_990_000,
                    qty: 150_000,
                    trigger_price: 6_000_000,
                    trigger_source: TriggerSource::LastPrice,
                    timestamp_ns: TS,
                }),
            },
        ),
        (
            "OrderTriggered",
            ServerMessage::Report {
                seq: 54,
                report: ExecReport::Triggered(Triggered {
                    account: ACCOUNT,
                    order_id: 90,
                    client_order_id: 1002,
                    instrument: 1,
                    side: Side::Sell,
                    order_type: OrderType::Limit,
                    price: 5_990_000,
                    qty: 150_000,
                    trigger_price: 6_000_000,
                    last_price: 5_999_000,
                    trigger_source: TriggerSource::LastPrice,
                    timestamp_ns: TS + 1_000,
                }),
            },
        ),
        (
            "OrderListAccepted",
            ServerMessage::Report {
                seq: 56,
                report: ExecReport::ListAccepted(ListAccepted {
                    account: ACCOUNT,
                    list_id: 95,
                    client_order_id: 1010,
                    instrument: 1,
                    kind: ListKind::Oco,
                    legs: 2,
                    timestamp_ns: TS,
                }),
            },
        ),
        (
            "OrderTriggerAmended",
            ServerMessage::Report {
                seq: 55,
                report: ExecReport::TriggerAmended(TriggerAmended {
                    account: ACCOUNT,
                    order_id: 90,
                    client_order_id: 1002,
                    instrument: 1,
                    side: Side::Sell,
                    trigger_price: 5_950_000,
                }),
            },
        ),
        (
            "InstrumentAdded",
            ServerMessage::Report {
                seq: 1,
                report: ExecReport::InstrumentAdded(InstrumentAdded { account: 0, spec: btc_usdt(), perpetual: false }),
            },
        ),
        (
            "InstrumentStateChanged",
            ServerMessage::Report {
                seq: 2,
                report: ExecReport::InstrumentStateChanged(InstrumentStateChanged {
                    account: 0,
                    instrument: 1,
                    state: InstrumentState::Halted,
                }),
            },
        ),
        (
            "BalanceChanged",
            ServerMessage::Report {
                seq: 53,
                report: ExecReport::BalanceChanged(BalanceUpdate {
                    change: BalanceChanged {
                        account: ACCOUNT,
                        asset: 1,
                        available: 99_990_246,
                        reserved: 6_503,
                        reason: BalanceReason::Trade,
                    },
                    command_seq: 1234,
                }),
            },
        ),
        (
            "AccountUpdated",
            ServerMessage::Report {
                seq: 3,
                report: ExecReport::AccountUpdated(AccountUpdated {
                    account: 0,
                    command: CommandType::CreateAccount,
                    target: ACCOUNT,
                    status: AccountStatus::Active,
                    tier: 1,
                }),
            },
        ),
        (
            "TransferApplied",
            ServerMessage::Report {
                seq: 4,
                report: ExecReport::TransferApplied(TransferApplied {
                    account: 0,
                    command: CommandType::Deposit,
                    target: ACCOUNT,
                    asset: 1,
                    amount: 100_000_000,
                    tx_id: 9001,
                    available: 100_000_000,
                }),
            },
        ),
        (
            "FeeScheduleSet",
            ServerMessage::Report {
                seq: 5,
                report: ExecReport::FeeScheduleSet(FeeScheduleSet {
                    account: 0,
                    schedule: SetFeeSchedule { instrument: 1, tier: 0, maker_ppm: -100, taker_ppm: 500 },
                }),
            },
        ),
        (
            "AccountBalance",
            ServerMessage::Report {
                seq: 54,
                report: ExecReport::AccountBalance(AccountBalance {
                    account: ACCOUNT,
                    target: ACCOUNT,
                    asset: 1,
                    available: 99_990_246,
                    reserved: 6_503,
                }),
            },
        ),
        (
            "OpenOrder",
            ServerMessage::Report {
                seq: 55,
                report: ExecReport::OpenOrder(OpenOrder {
                    account: ACCOUNT,
                    order: OrderView {
                        order_id: 88,
                        client_order_id: 1001,
                        account: ACCOUNT,
                        instrument: 1,
                        side: Side::Buy,
                        price: 6_500_000,
                        qty: 150_000,
                        leaves: 100_000,
                        tif: TimeInForce::Gtc,
                        stp: StpMode::CancelTaker,
                    },
                }),
            },
        ),
        (
            "QueryDone",
            ServerMessage::Report {
                seq: 56,
                report: ExecReport::QueryDone(QueryComplete {
                    done: QueryDone {
                        account: ACCOUNT,
                        target: ACCOUNT,
                        status: AccountStatus::Active,
                        tier: 1,
                        balances: 2,
                        orders: 1,
                    },
                    command_seq: 1240,
                }),
            },
        ),
        (
            "CredentialChanged",
            ServerMessage::Report {
                seq: 57,
                report: ExecReport::CredentialChanged(CredentialReport {
                    account: 0,
                    command: CommandType::SetCredential,
                    target: ACCOUNT,
                    fingerprint: credential_fingerprint(&HASH),
                }),
            },
        ),
    ]
}

#[test]
fn the_fingerprint_is_the_hash_prefix_in_hex() {
    assert_eq!(format!("{:016x}", credential_fingerprint(&HASH)), "a0a1a2a3a4a5a6a7");
}

/// The document's rendering: the prefix and header on one line, then the block 8 bytes a line,
/// each line labelled with its block offset.
fn render(bytes: &[u8]) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ");
    let mut s = format!("len+hdr  {}\n", hex(&bytes[..10]));
    for (i, chunk) in bytes[10..].chunks(8).enumerate() {
        s.push_str(&format!("+{:<3}     {}\n", i * 8, hex(chunk)));
    }
    s
}

fn all_examples() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, m) in client_examples().into_iter().chain(futures_examples::client_examples()) {
        let mut buf = [0u8; 256];
        let n = m.encode(&mut buf).unwrap();
        assert_eq!(client_from(&buf[..n]), Ok(m));
        out.push((name, buf[..n].to_vec()));
    }
    for (name, m) in server_examples().into_iter().chain(futures_examples::server_examples()) {
        let mut buf = [0u8; 256];
        let n = m.encode(&mut buf).unwrap();
        assert_eq!(server_from(&buf[..n]), Ok(m));
        out.push((name, buf[..n].to_vec()));
    }
    for (name, m) in md_examples().into_iter().chain(futures_examples::md_examples()) {
        let mut buf = [0u8; 256];
        let n = m.encode(&mut buf).unwrap();
        let (frame, used) = decode_frame(&buf[..n]).unwrap().unwrap();
        assert_eq!(used, n);
        assert_eq!(MdServerMessage::decode_frame(&frame), Ok(m));
        out.push((name, buf[..n].to_vec()));
    }
    out
}

#[test]
fn doc_hex_examples_are_exact() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md")).unwrap();
    let print = std::env::var_os("MATCHD_PRINT_PROTOCOL_HEX").is_some();
    let mut missing = Vec::new();
    for (name, bytes) in all_examples() {
        let r = render(&bytes);
        if print {
            println!("#### {name}\n```text\n{r}```\n");
        }
        if !doc.contains(&r) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "docs/protocol.md lacks the exact hex of {missing:?}");
}

// ---------------------------------------------------------------------------------------------
// Golden bytes for the TypeScript client (clients/typescript): every example above, plus variants
// and malformed frames, each with what this crate's decoder makes of it. The TypeScript codec
// tests (clients/typescript/test/codec.test.ts) decode and encode the same bytes and must agree, so
// the two codecs are checked against each other. `MATCHD_WRITE_TS_FIXTURES=1 cargo test -p protocol
// --test protocol_doc_examples` rewrites the file after a protocol change.

const TS_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../clients/typescript/test/fixtures/protocol.json");

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What the decoder of `direction` makes of `bytes`: `Ok` with the message's `Debug`, or the
/// error's kind, template id and (for a bad field) offset.
fn decoded(direction: &str, bytes: &[u8]) -> String {
    let frame = match decode_frame(bytes) {
        Ok(Some((f, n))) if n == bytes.len() => f,
        Ok(_) => return "{\"incomplete\": true}".to_string(),
        Err(FrameError::TooShort { .. }) => return "{\"frame_error\": \"TooShort\"}".to_string(),
        Err(FrameError::TooLarge { .. }) => return "{\"frame_error\": \"TooLarge\"}".to_string(),
    };
    let r = match direction {
        "server" => ServerMessage::decode_frame(&frame).map(|m| format!("{m:?}")),
        "md" => MdServerMessage::decode_frame(&frame).map(|m| format!("{m:?}")),
        _ => ClientMessage::decode_frame(&frame).map(|m| format!("{m:?}")),
    };
    match r {
        Ok(debug) => format!("{{\"ok\": {}}}", json_str(&debug)),
        Err(e) => {
            let kind = format!("{e:?}");
            let kind = kind.split([' ', '{']).next().unwrap_or("").to_string();
            let offset = e.field_offset().map_or("null".to_string(), |o| o.to_string());
            format!("{{\"error\": {}, \"template_id\": {}, \"offset\": {offset}}}", json_str(&kind), e.template_id())
        }
    }
}

/// `bytes` with the little-endian `u16` at `at` replaced.
fn with_u16(mut bytes: Vec<u8>, at: usize, v: u16) -> Vec<u8> {
    bytes[at..at + 2].copy_from_slice(&v.to_le_bytes());
    bytes
}

/// `bytes` with its block cut or grown (zero-filled) to `block_len`, prefix and header updated.
fn with_block_len(mut bytes: Vec<u8>, block_len: usize) -> Vec<u8> {
    bytes.resize(10 + block_len, 0);
    let bytes = with_u16(bytes, 0, (8 + block_len) as u16);
    with_u16(bytes, 2, block_len as u16)
}

fn encoded_server(m: ServerMessage) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = m.encode(&mut buf).unwrap();
    buf[..n].to_vec()
}

fn example(name: &str) -> Vec<u8> {
    all_examples().into_iter().find(|(n, _)| *n == name).map(|(_, b)| b).unwrap()
}

/// Variants the decoders accept or refuse, with the direction to decode them in.
fn variants() -> Vec<(String, &'static str, Vec<u8>)> {
    let set = |b: Vec<u8>, at: usize, v: u8| {
        let mut b = b;
        b[10 + at] = v;
        b
    };
    let not_leader = ServerMessage::LoginRejected(LoginRejected {
        account: ACCOUNT,
        reason: LoginRejectReason::NotLeader,
        highest_seq: 0,
        oldest_available_seq: 0,
        leader: Some("10.0.0.5:7001".parse().unwrap()),
    });
    let not_leader_v6 = ServerMessage::LoginRejected(LoginRejected {
        account: ACCOUNT,
        reason: LoginRejectReason::NotLeader,
        highest_seq: 0,
        oldest_available_seq: 0,
        leader: Some("[fd00::1:2]:7001".parse().unwrap()),
    });
    vec![
        ("Fill, 80-byte block (before fee)".into(), "server", with_block_len(example("Fill"), 80)),
        (
            "OrderAccepted, 72-byte block (a later version's field)".into(),
            "server",
            with_block_len(example("OrderAccepted"), 72),
        ),
        ("LoginRejected, version-1 24-byte block".into(), "server", with_block_len(example("LoginRejected"), 24)),
        ("LoginRejected NotLeader, IPv4 leader".into(), "server", encoded_server(not_leader)),
        ("LoginRejected NotLeader, IPv6 leader".into(), "server", encoded_server(not_leader_v6)),
        ("OrderAccepted, schema 0x1234".into(), "server", with_u16(example("OrderAccepted"), 6, 0x1234)),
        ("OrderAccepted, version 0".into(), "server", with_u16(example("OrderAccepted"), 8, 0)),
        ("template 59 (unknown)".into(), "server", with_u16(example("MassCancelled"), 4, 59)),
        ("MdTrade on the order-entry decoder".into(), "server", example("MdTrade")),
        ("OrderAccepted on the market-data decoder".into(), "md", example("OrderAccepted")),
        (
            "OrderAccepted, block_length disagrees with the frame".into(),
            "server",
            with_u16(example("OrderAccepted"), 2, 56),
        ),
        ("OrderAccepted, 56-byte block".into(), "server", with_block_len(example("OrderAccepted"), 56)),
        ("Fill, side 3".into(), "server", set(example("Fill"), 72, 3)),
        ("Fill, liquidity 0".into(), "server", set(example("Fill"), 73, 0)),
        ("CommandRejected, reason 99".into(), "server", with_u16(example("CommandRejected"), 10 + 32, 99)),
        ("CommandRejected, command 15".into(), "server", set(example("CommandRejected"), 34, 15)),
        ("CommandRejected, command 17".into(), "server", set(example("CommandRejected"), 34, 17)),
        ("CommandRejected, command 18".into(), "server", set(example("CommandRejected"), 34, 18)),
        ("OrderCancelled, reason 10".into(), "server", set(example("OrderCancelled"), 49, 10)),
        ("OrderTriggerAmended, side 0".into(), "server", set(example("OrderTriggerAmended"), 40, 0)),
        ("OrderTriggerAmended, 40-byte block".into(), "server", with_block_len(example("OrderTriggerAmended"), 40)),
        ("OrderAmended, kept_priority 2".into(), "server", set(example("OrderAmended"), 57, 2)),
        ("LoginAccepted, role 3".into(), "server", set(example("LoginAccepted"), 28, 3)),
        ("SessionReject, reason 11".into(), "server", set(example("SessionReject"), 12, 11)),
        ("CredentialChanged, command 12".into(), "server", set(example("CredentialChanged"), 24, 12)),
        ("MdSnapshotEnd, flags 4".into(), "md", set(example("MdSnapshotEnd"), 13, 4)),
        ("MdInstrument, kind 3".into(), "md", set(example("MdInstrument"), 13, 3)),
        ("MdInstrument, perpetual 2".into(), "md", set(example("MdInstrument"), 14, 2)),
        ("InstrumentAdded, perpetual 2 (read as nonzero)".into(), "server", set(example("InstrumentAdded"), 12, 2)),
        ("MdOrderDeleted, reason 0".into(), "md", set(example("MdOrderDeleted"), 13, 0)),
        ("MdTrade, flags 2".into(), "md", set(example("MdTrade"), 13, 2)),
        ("Fill, flags 2".into(), "server", set(example("Fill"), 74, 2)),
        ("MarginModeSet, mode 3".into(), "server", set(example("MarginModeSet"), 16, 3)),
        ("AutoDeleveraged, role 2 (reduced)".into(), "server", set(example("AutoDeleveraged"), 32, 2)),
        ("AutoDeleveraged, role 0".into(), "server", set(example("AutoDeleveraged"), 32, 0)),
        ("PositionReport, mode 0".into(), "server", set(example("PositionReport"), 96, 0)),
        ("CommandRejected, command 28".into(), "server", set(example("CommandRejected"), 34, 28)),
        ("CommandRejected, command 30".into(), "server", set(example("CommandRejected"), 34, 30)),
        ("OrderCancelled, reason 12".into(), "server", set(example("OrderCancelled"), 49, 12)),
        ("template 187 (unknown)".into(), "server", with_u16(example("MarkPriceSet"), 4, 187)),
        (
            "FundingApplied, 64-byte block (before next_funding_time_ns)".into(),
            "server",
            with_block_len(example("FundingApplied"), 64),
        ),
        (
            "MdFunding, 32-byte block (before next_funding_time_ns)".into(),
            "md",
            with_block_len(example("MdFunding"), 32),
        ),
        ("MdFunding, 31-byte block".into(), "md", with_block_len(example("MdFunding"), 31)),
        (
            "MdSnapshotEnd (perpetual), 48-byte block (before the perpetual's state)".into(),
            "md",
            with_block_len(example("MdSnapshotEnd (perpetual)"), 48),
        ),
        (
            "MdSnapshotEnd (perpetual), 72-byte block (next_funding_time_ns cut)".into(),
            "md",
            with_block_len(example("MdSnapshotEnd (perpetual)"), 72),
        ),
        ("MdSnapshotEnd, 47-byte block".into(), "md", with_block_len(example("MdSnapshotEnd"), 47)),
        ("frame length 7".into(), "server", vec![7, 0, 0, 0, 4, 0, 0x44, 0x4d, 2]),
        ("frame length 2000".into(), "server", with_u16(example("Heartbeat"), 0, 2000)),
    ]
}

fn ts_fixtures() -> String {
    let mut entries = Vec::new();
    let directed = client_examples()
        .into_iter()
        .chain(futures_examples::client_examples())
        .map(|(n, _)| (n, "client"))
        .chain(server_examples().into_iter().chain(futures_examples::server_examples()).map(|(n, _)| (n, "server")))
        .chain(md_examples().into_iter().chain(futures_examples::md_examples()).map(|(n, _)| (n, "md")));
    for (name, direction) in directed {
        let bytes = example(name);
        entries.push((name.to_string(), direction, bytes));
    }
    entries.extend(variants());
    let lines: Vec<String> = entries
        .iter()
        .map(|(name, direction, bytes)| {
            format!(
                "  {{\"name\": {}, \"direction\": \"{direction}\", \"hex\": \"{}\", \"rust\": {}}}",
                json_str(name),
                hex(bytes),
                decoded(direction, bytes)
            )
        })
        .collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}

#[test]
fn typescript_fixtures_are_current() {
    let want = ts_fixtures();
    if std::env::var_os("MATCHD_WRITE_TS_FIXTURES").is_some() {
        std::fs::write(TS_FIXTURES, &want).unwrap();
    }
    let have = std::fs::read_to_string(TS_FIXTURES).unwrap_or_default();
    assert!(
        have == want,
        "{TS_FIXTURES} is stale: run MATCHD_WRITE_TS_FIXTURES=1 cargo test -p protocol --test protocol_doc_examples"
    );
}
