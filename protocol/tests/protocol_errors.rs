//! The decoder on hostile input: never panics, and every violation has its own error.

mod protocol_common;

use engine::*;
use proptest::prelude::*;
use protocol::layout;
use protocol::template as t;
use protocol::*;
use protocol_common::*;

const CLIENT_TEMPLATES: [u16; 34] = [
    1, 4, 5, 20, 21, 22, 23, 24, 25, 26, 27, 60, 61, 80, 81, 82, 83, 84, 85, 86, 87, 100, 101, 150, 151, 152, 153, 154,
    155, 156, 157, 158, 159, 160,
];
const SERVER_TEMPLATES: [u16; 43] = [
    2, 3, 4, 5, 6, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 70, 71, 90, 91, 92, 93, 94, 95, 96, 97, 170, 171, 172,
    173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186,
];

fn decode_everything(bytes: &[u8]) {
    let mut rest = bytes;
    while let Ok(Some((frame, n))) = decode_frame(rest) {
        let _ = ClientMessage::decode_frame(&frame);
        let _ = ServerMessage::decode_frame(&frame);
        rest = &rest[n..];
    }
}

fn with_header(template_id: u16, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((body.len() + 8) as u16).to_le_bytes());
    v.extend_from_slice(&Header::new(template_id, body.len() as u16).to_bytes());
    v.extend_from_slice(body);
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        decode_everything(&bytes);
        let _ = decode_frame_max(&bytes, 0);
        let _ = decode_frame_max(&bytes, usize::MAX);
    }

    /// Random blocks under valid headers reach every field decoder.
    #[test]
    fn arbitrary_blocks_never_panic(tid in proptest::sample::select([&CLIENT_TEMPLATES[..], &SERVER_TEMPLATES[..], &[0, 7, 19, 28, 51, 62, 72, 88, 89, 98, 99, 149, 161, 169, 187, 199, 65535]].concat()), body in proptest::collection::vec(any::<u8>(), 0..160)) {
        let bytes = with_header(tid, &body);
        let (frame, n) = decode_frame(&bytes).unwrap().unwrap();
        prop_assert_eq!(n, bytes.len());
        for r in [ClientMessage::decode_frame(&frame).err(), ServerMessage::decode_frame(&frame).err()].into_iter().flatten() {
            let sr = r.to_session_reject(frame.body);
            prop_assert_eq!(sr.ref_template_id, tid);
        }
    }

    /// Every strict prefix of a message asks for more bytes.
    #[test]
    fn truncated_frames_need_more(m in client_message(), s in server_message()) {
        for bytes in [enc_client(&m), enc_server(&s)] {
            for cut in 0..bytes.len() {
                prop_assert_eq!(decode_frame(&bytes[..cut]), Ok(None));
            }
            let (_, n) = decode_frame(&bytes).unwrap().unwrap();
            prop_assert_eq!(n, bytes.len());
        }
    }

}

/// Unknown templates are refused by name, in each direction. Exhaustive over every template id
/// (a sampled version missed the market-data ids 100/101 for a whole session), for an empty block
/// and one long enough for any known template.
#[test]
fn unknown_template() {
    for tid in 0..=u16::MAX {
        for body in [&[][..], &[0u8; 120][..]] {
            let bytes = with_header(tid, body);
            let (frame, _) = decode_frame(&bytes).unwrap().unwrap();
            let client = ClientMessage::decode_frame(&frame);
            let server = ServerMessage::decode_frame(&frame);
            let unknown = DecodeError::UnknownTemplate { template_id: tid };
            assert_eq!(
                CLIENT_TEMPLATES.contains(&tid),
                client.as_ref().err() != Some(&unknown),
                "client template {tid}: {client:?}"
            );
            assert_eq!(
                SERVER_TEMPLATES.contains(&tid),
                server.as_ref().err() != Some(&unknown),
                "server template {tid}: {server:?}"
            );
        }
    }
}

#[test]
fn oversized_length_is_refused_at_once() {
    // Only the prefix has arrived: the error is immediate.
    for len in [DEFAULT_MAX_MESSAGE_LEN - 1, 4000, u16::MAX as usize] {
        let prefix = (len as u16).to_le_bytes();
        assert_eq!(
            decode_frame(&prefix),
            Err(FrameError::TooLarge { message_len: len + 2, max: DEFAULT_MAX_MESSAGE_LEN })
        );
    }
    // Exactly at the limit is fine.
    let at_limit = ((DEFAULT_MAX_MESSAGE_LEN - 2) as u16).to_le_bytes();
    assert_eq!(decode_frame(&at_limit), Ok(None));
    // A configured limit.
    assert_eq!(decode_frame_max(&[200, 0], 128), Err(FrameError::TooLarge { message_len: 202, max: 128 }));
    assert_eq!(decode_frame_max(&[126, 0], 128), Ok(None));
    let e = FrameError::TooLarge { message_len: 5000, max: 1024 };
    assert_eq!(e.reject_reason(), SessionRejectReason::TooLarge);
    assert_eq!(e.to_session_reject().ref_template_id, 0);
}

#[test]
fn length_below_header_is_refused() {
    for len in 0u16..8 {
        assert_eq!(decode_frame(&len.to_le_bytes()), Err(FrameError::TooShort { len: len as usize }));
    }
    assert_eq!(FrameError::TooShort { len: 3 }.reject_reason(), SessionRejectReason::BadLength);
    assert_eq!(decode_frame(&[]), Ok(None));
    assert_eq!(decode_frame(&[8]), Ok(None));
}

#[test]
fn schema_version_and_block_length_checks() {
    let m = ClientMessage::Heartbeat;
    let good = enc_client(&m);
    assert_eq!(good, vec![8, 0, 0, 0, 4, 0, 0x44, 0x4d, 2, 0]);
    let mut bad_schema = good.clone();
    bad_schema[6] = 0x45;
    assert_eq!(client_from(&bad_schema), Err(DecodeError::UnknownSchema { template_id: 4, schema_id: 0x4d45 }));
    assert_eq!(server_from(&bad_schema), Err(DecodeError::UnknownSchema { template_id: 4, schema_id: 0x4d45 }));
    assert_eq!(client_from(&bad_schema).unwrap_err().reject_reason(), SessionRejectReason::UnknownSchema);
    let mut v0 = good.clone();
    v0[8] = 0;
    assert_eq!(client_from(&v0), Err(DecodeError::UnsupportedVersion { template_id: 4, version: 0 }));
    assert_eq!(client_from(&v0).unwrap_err().reject_reason(), SessionRejectReason::UnsupportedVersion);
    let mut v9 = good.clone();
    v9[8] = 9;
    assert_eq!(client_from(&v9), Ok(m));

    // Block length disagreeing with the frame length.
    let mut nb = enc_client(&ClientMessage::NewOrder(NewOrder {
        client_order_id: 1,
        instrument: 1,
        side: Side::Buy,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        stp: StpMode::None,
        price: 1,
        qty: 1,
    }));
    nb[2] = 40;
    assert_eq!(
        client_from(&nb),
        Err(DecodeError::LengthMismatch { template_id: t::NEW_ORDER, block_length: 40, body_len: 32 })
    );
    nb[2] = 16;
    assert_eq!(
        client_from(&nb),
        Err(DecodeError::LengthMismatch { template_id: t::NEW_ORDER, block_length: 16, body_len: 32 })
    );
    let e = client_from(&nb).unwrap_err();
    assert_eq!(e.reject_reason(), SessionRejectReason::BadLength);
    // Consistent but short.
    let short = with_header(t::NEW_ORDER, &[0u8; 31]);
    assert_eq!(
        client_from(&short),
        Err(DecodeError::BlockTooShort { template_id: t::NEW_ORDER, block_length: 31, min: 32 })
    );
    // Direction: a server template sent to the server.
    let fill = with_header(t::FILL, &[0u8; layout::fill::BLOCK_LEN]);
    assert_eq!(client_from(&fill), Err(DecodeError::UnknownTemplate { template_id: t::FILL }));
    assert_eq!(client_from(&fill).unwrap_err().reject_reason(), SessionRejectReason::UnknownTemplate);
}

/// Checks every value of a one-byte enum field: accepted iff `valid(v)`, else `BadField` at `offset`.
fn check_enum_field(bytes: &[u8], client: bool, offset: usize, valid: impl Fn(u8) -> bool) {
    let tid = u16::from_le_bytes([bytes[4], bytes[5]]);
    for v in 0..=255u8 {
        let mut b = bytes.to_vec();
        b[10 + offset] = v;
        let r = if client { client_from(&b).map(|_| ()) } else { server_from(&b).map(|_| ()) };
        if valid(v) {
            assert_eq!(r, Ok(()), "template {tid} offset {offset} value {v}");
        } else {
            match r {
                Err(e @ DecodeError::BadField { template_id, offset: o, value, .. }) => {
                    assert_eq!((template_id, o as usize, value), (tid, offset, v as u64));
                    assert_eq!(e.reject_reason(), SessionRejectReason::BadFieldValue);
                    assert_eq!(e.field_offset(), Some(offset as u16));
                    let sr = e.to_session_reject(&b[10..]);
                    assert_eq!(sr.field_offset, Some(offset as u16));
                }
                other => panic!("template {tid} offset {offset} value {v}: {other:?}"),
            }
        }
    }
}

fn sample_spec() -> InstrumentSpec {
    InstrumentSpec {
        id: 1,
        symbol: InstrumentSpec::symbol_from_str("BTC-USDT").unwrap(),
        base_asset: 1,
        quote_asset: 2,
        tick: 1,
        lot: 1,
        min_qty: 1,
        max_qty: 100,
        min_notional: 0,
        price_band_bps: 100,
        reference_price: 100,
        qty_scale: 1,
    }
}

#[test]
fn every_enum_field_out_of_range_is_refused() {
    let in_range = |lo: u8, hi: u8| move |v: u8| (lo..=hi).contains(&v);
    let login = ClientMessage::Login(Login {
        account: 1,
        credential: [0; 32],
        last_seen_seq: 0,
        heartbeat_interval_ms: 1000,
        role: Role::Trader,
        cancel_on_disconnect: CancelOnDisconnect::Default,
    });
    let b = enc_client(&login);
    check_enum_field(&b, true, layout::login::ROLE, in_range(1, 2));
    check_enum_field(&b, true, layout::login::CANCEL_ON_DISCONNECT, in_range(0, 2));
    let b = enc_client(&ClientMessage::Logout(Logout { reason: LogoutReason::UserRequest }));
    check_enum_field(&b, true, layout::logout::REASON, in_range(1, 8));
    let no = NewOrder {
        client_order_id: 1,
        instrument: 1,
        side: Side::Buy,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        stp: StpMode::None,
        price: 1,
        qty: 1,
    };
    let b = enc_client(&ClientMessage::NewOrder(no));
    check_enum_field(&b, true, layout::new_order::SIDE, in_range(1, 2));
    check_enum_field(&b, true, layout::new_order::ORDER_TYPE, in_range(1, 2));
    check_enum_field(&b, true, layout::new_order::TIF, in_range(1, 4));
    check_enum_field(&b, true, layout::new_order::STP, in_range(0, 3));
    let stop = StopOrder { order: no, trigger_price: 5, trigger: TriggerKind::StopLoss };
    let b = enc_client(&ClientMessage::NewStopOrder(stop));
    check_enum_field(&b, true, layout::new_stop_order::SIDE, in_range(1, 2));
    check_enum_field(&b, true, layout::new_stop_order::ORDER_TYPE, in_range(1, 2));
    check_enum_field(&b, true, layout::new_stop_order::TIF, in_range(1, 4));
    check_enum_field(&b, true, layout::new_stop_order::STP, in_range(0, 3));
    check_enum_field(&b, true, layout::new_stop_order::TRIGGER, in_range(1, 2));
    let adv = AdvancedOrder {
        order: no,
        expire_time_ns: 9,
        quote_qty: 0,
        trigger: Some((5, TriggerKind::StopLoss)),
        display_qty: 0,
        trailing: None,
        reduce_only: false,
        close_position: false,
        trigger_source: TriggerSource::LastPrice,
    };
    let b = enc_client(&ClientMessage::NewAdvancedOrder(adv));
    check_enum_field(&b, true, layout::new_advanced_order::TRIGGER_SOURCE, in_range(0, 1));
    check_enum_field(&b, true, layout::new_advanced_order::SIDE, in_range(1, 2));
    check_enum_field(&b, true, layout::new_advanced_order::TIF, in_range(1, 4));
    // 0 (no trigger) is refused here only because the trigger price is not 0.
    check_enum_field(&b, true, layout::new_advanced_order::TRIGGER, in_range(1, 2));
    let b = enc_client(&ClientMessage::NewAdvancedOrder(AdvancedOrder { trigger: None, ..adv }));
    check_enum_field(&b, true, layout::new_advanced_order::TRIGGER, in_range(0, 2));
    // Perpetuals: bit 0 reduce-only, bit 1 close-position.
    check_enum_field(&b, true, layout::new_advanced_order::FLAGS, in_range(0, 3));
    let leg = |trigger| ListLeg { order_type: OrderType::Limit, tif: TimeInForce::Gtc, price: 9, trigger };
    let list = OrderList::otoco(
        7,
        1,
        (Side::Buy, TimeInForce::Gtc, 9, 9),
        Side::Sell,
        9,
        [leg(None), leg(Some((8, TriggerKind::StopLoss)))],
    );
    let b = enc_client(&ClientMessage::NewOrderList(list));
    check_enum_field(&b, true, layout::new_order_list::KIND, in_range(1, 3));
    check_enum_field(&b, true, layout::new_order_list::STP, in_range(0, 3));
    check_enum_field(&b, true, layout::new_order_list::WORKING_SIDE, in_range(1, 2));
    check_enum_field(&b, true, layout::new_order_list::WORKING_TIF, in_range(1, 4));
    check_enum_field(&b, true, layout::new_order_list::SIDE, in_range(1, 2));
    check_enum_field(&b, true, layout::new_order_list::LEG0_TYPE, in_range(1, 2));
    check_enum_field(&b, true, layout::new_order_list::LEG1_TIF, in_range(1, 4));
    check_enum_field(&b, true, layout::new_order_list::LEG1_TRIGGER, in_range(0, 2));
    let b = enc_client(&ClientMessage::AmendTrigger(AmendTrigger { order: OrderRef::Client(5), trigger_price: 9 }));
    check_enum_field(&b, true, layout::amend_trigger::REF_KIND, in_range(1, 2));
    let b = enc_client(&ClientMessage::Cancel(Cancel { order: OrderRef::Engine(5) }));
    check_enum_field(&b, true, layout::cancel::REF_KIND, in_range(1, 2));
    let b = enc_client(&ClientMessage::Amend(Amend { order: OrderRef::Engine(5), new_qty: Some(1), new_price: None }));
    check_enum_field(&b, true, layout::amend::REF_KIND, in_range(1, 2));
    check_enum_field(&b, true, layout::amend::FLAGS, in_range(0, 3));
    let b = enc_client(&ClientMessage::MassCancel(MassCancel { instrument: None, side: None }));
    check_enum_field(&b, true, layout::mass_cancel::SIDE, in_range(0, 2));
    check_enum_field(&b, true, layout::mass_cancel::FLAGS, in_range(0, 1));
    let b = enc_client(&ClientMessage::SetInstrumentState(SetInstrumentState {
        instrument: 1,
        state: InstrumentState::Halted,
    }));
    check_enum_field(&b, true, layout::set_instrument_state::STATE, in_range(1, 4));

    let b = enc_server(&ServerMessage::LoginAccepted(LoginAccepted {
        account: 1,
        next_seq: 1,
        highest_seq: 0,
        heartbeat_interval_ms: 1000,
        heartbeat_timeout_ms: 10000,
        role: Role::Admin,
        cancel_on_disconnect: true,
    }));
    check_enum_field(&b, false, layout::login_accepted::ROLE, in_range(1, 2));
    check_enum_field(&b, false, layout::login_accepted::CANCEL_ON_DISCONNECT, in_range(0, 1));
    let b = enc_server(&ServerMessage::LoginRejected(LoginRejected {
        account: 1,
        reason: LoginRejectReason::NotReady,
        highest_seq: 0,
        oldest_available_seq: 0,
        leader: None,
    }));
    check_enum_field(&b, false, layout::login_rejected::REASON, in_range(1, 10));
    let b = enc_server(&ServerMessage::Logout(Logout { reason: LogoutReason::ServerShutdown }));
    check_enum_field(&b, false, layout::logout::REASON, in_range(1, 8));
    let b = enc_server(&ServerMessage::SessionReject(SessionReject {
        ref_template_id: 20,
        reason: SessionRejectReason::RateLimited,
        field_offset: None,
        client_order_id: 9,
    }));
    check_enum_field(&b, false, layout::session_reject::REASON, in_range(1, 10));

    let rep = |report: ExecReport| enc_server(&ServerMessage::Report { seq: 1, report });
    let b = rep(ExecReport::Accepted(Accepted {
        account: 1,
        order_id: 1,
        client_order_id: 1,
        instrument: 1,
        side: Side::Sell,
        order_type: OrderType::Limit,
        tif: TimeInForce::Ioc,
        price: 1,
        qty: 1,
        timestamp_ns: 1,
    }));
    check_enum_field(&b, false, layout::order_accepted::SIDE, in_range(1, 2));
    check_enum_field(&b, false, layout::order_accepted::ORDER_TYPE, in_range(1, 2));
    check_enum_field(&b, false, layout::order_accepted::TIF, in_range(1, 4));
    let b = rep(ExecReport::Armed(Armed {
        account: 1,
        order_id: 1,
        client_order_id: 1,
        instrument: 1,
        side: Side::Sell,
        order_type: OrderType::Market,
        tif: TimeInForce::Ioc,
        trigger: TriggerKind::TakeProfit,
        price: 0,
        qty: 1,
        trigger_price: 7,
        trigger_source: TriggerSource::LastPrice,
        timestamp_ns: 1,
    }));
    check_enum_field(&b, false, layout::order_armed::SIDE, in_range(1, 2));
    check_enum_field(&b, false, layout::order_armed::ORDER_TYPE, in_range(1, 2));
    check_enum_field(&b, false, layout::order_armed::TIF, in_range(1, 4));
    check_enum_field(&b, false, layout::order_armed::TRIGGER, in_range(1, 2));
    check_enum_field(&b, false, layout::order_armed::TRIGGER_SOURCE, in_range(0, 1));
    let b = rep(ExecReport::Triggered(Triggered {
        account: 1,
        order_id: 1,
        client_order_id: 1,
        instrument: 1,
        side: Side::Sell,
        order_type: OrderType::Limit,
        price: 6,
        qty: 1,
        trigger_price: 7,
        last_price: 7,
        trigger_source: TriggerSource::LastPrice,
        timestamp_ns: 1,
    }));
    check_enum_field(&b, false, layout::order_triggered::SIDE, in_range(1, 2));
    check_enum_field(&b, false, layout::order_triggered::ORDER_TYPE, in_range(1, 2));
    check_enum_field(&b, false, layout::order_triggered::TRIGGER_SOURCE, in_range(0, 1));
    let b = rep(ExecReport::Rejected(Rejected {
        account: 1,
        command: CommandType::Amend,
        client_order_id: 0,
        order_id: 3,
        instrument: 0,
        reason: RejectReason::UnknownOrder,
    }));
    check_enum_field(&b, false, layout::command_rejected::COMMAND, in_range(1, 29));
    // The u16 reject reason: low byte swept with a zero high byte, then a non-zero high byte.
    // Every engine reject code is valid on the wire, and nothing beyond.
    check_enum_field(&b, false, layout::command_rejected::REASON, in_range(1, RejectReason::ALL.len() as u8));
    let mut hi = b.clone();
    hi[10 + layout::command_rejected::REASON + 1] = 1;
    assert!(matches!(server_from(&hi), Err(DecodeError::BadField { offset: 32, value: 265, .. })));
    let b = rep(ExecReport::Fill(Fill {
        account: 1,
        order_id: 1,
        client_order_id: 1,
        trade_id: 1,
        instrument: 1,
        side: Side::Buy,
        price: 1,
        qty: 1,
        leaves_qty: 0,
        liquidity: Liquidity::Maker,
        timestamp_ns: 1,
        fee: -3,
        liquidation: false,
    }));
    check_enum_field(&b, false, layout::fill::SIDE, in_range(1, 2));
    check_enum_field(&b, false, layout::fill::LIQUIDITY, in_range(1, 2));
    // Bit 0: a liquidation's trade; the other bits are not defined.
    check_enum_field(&b, false, layout::fill::FLAGS, in_range(0, 1));
    let b = rep(ExecReport::Cancelled(Cancelled {
        account: 1,
        order_id: 1,
        client_order_id: 1,
        instrument: 1,
        side: Side::Buy,
        cancelled_qty: 1,
        filled_qty: 0,
        reason: CancelReason::User,
    }));
    check_enum_field(&b, false, layout::order_cancelled::SIDE, in_range(1, 2));
    check_enum_field(&b, false, layout::order_cancelled::REASON, in_range(1, 12));
    let b = rep(ExecReport::Amended(Amended {
        account: 1,
        order_id: 1,
        client_order_id: 1,
        instrument: 1,
        side: Side::Buy,
        price: 1,
        qty: 1,
        leaves: 1,
        kept_priority: true,
    }));
    check_enum_field(&b, false, layout::order_amended::SIDE, in_range(1, 2));
    check_enum_field(&b, false, layout::order_amended::KEPT_PRIORITY, in_range(0, 1));
    let b = rep(ExecReport::SelfTradePrevented(SelfTradePrevented {
        account: 1,
        instrument: 1,
        maker_order_id: 1,
        taker_order_id: 2,
        mode: StpMode::CancelBoth,
        qty: 1,
    }));
    check_enum_field(&b, false, layout::self_trade_prevented::MODE, in_range(0, 3));
    let b = rep(ExecReport::InstrumentStateChanged(InstrumentStateChanged {
        account: 1,
        instrument: 1,
        state: InstrumentState::Closed,
    }));
    check_enum_field(&b, false, layout::instrument_state_changed::STATE, in_range(1, 4));
    // MassCancelled and InstrumentAdded have no enum fields.
    let _ = rep(ExecReport::MassCancelled(MassCancelled { account: 1, count: 2 }));
    let _ = rep(ExecReport::InstrumentAdded(InstrumentAdded { account: 1, spec: sample_spec(), perpetual: false }));

    // Accounts (80-99).
    let b =
        enc_client(&ClientMessage::CreateAccount(CreateAccount { target: 5, tier: 1, status: AccountStatus::Active }));
    check_enum_field(&b, true, layout::create_account::STATUS, in_range(1, 2));
    let b = enc_client(&ClientMessage::SetAccountStatus(SetAccountStatus {
        target: 5,
        status: AccountStatus::Suspended,
        tier: 0,
    }));
    check_enum_field(&b, true, layout::set_account_status::STATUS, in_range(1, 2));
    // Tiers, amounts, fee rates and ids are the engine's to check: any byte decodes.
    check_enum_field(&b, true, layout::set_account_status::TIER, |_| true);
    let b = rep(ExecReport::BalanceChanged(BalanceUpdate {
        change: BalanceChanged { account: 1, asset: 2, available: 3, reserved: 4, reason: BalanceReason::Deposit },
        command_seq: 9,
    }));
    check_enum_field(&b, false, layout::balance_changed::REASON, in_range(1, 6));
    let b = rep(ExecReport::AccountUpdated(AccountUpdated {
        account: 0,
        command: CommandType::CreateAccount,
        target: 5,
        status: AccountStatus::Active,
        tier: 0,
    }));
    check_enum_field(&b, false, layout::account_updated::COMMAND, in_range(1, 29));
    check_enum_field(&b, false, layout::account_updated::STATUS, in_range(1, 2));
    let b = rep(ExecReport::TransferApplied(TransferApplied {
        account: 0,
        command: CommandType::Withdraw,
        target: 5,
        asset: 1,
        amount: 10,
        tx_id: 11,
        available: 12,
    }));
    check_enum_field(&b, false, layout::transfer_applied::COMMAND, in_range(1, 29));
    let b = rep(ExecReport::OpenOrder(OpenOrder {
        account: 0,
        order: OrderView {
            order_id: 1,
            client_order_id: 2,
            account: 5,
            instrument: 1,
            side: Side::Sell,
            price: 10,
            qty: 2,
            leaves: 1,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
        },
    }));
    check_enum_field(&b, false, layout::open_order::SIDE, in_range(1, 2));
    check_enum_field(&b, false, layout::open_order::TIF, in_range(1, 4));
    check_enum_field(&b, false, layout::open_order::STP, in_range(0, 3));
    let b = rep(ExecReport::QueryDone(QueryComplete {
        done: QueryDone { account: 0, target: 5, status: AccountStatus::Suspended, tier: 3, balances: 2, orders: 1 },
        command_seq: 10,
    }));
    check_enum_field(&b, false, layout::query_done::STATUS, in_range(1, 2));
    // CredentialChanged answers only the two credential commands.
    let b = rep(ExecReport::CredentialChanged(CredentialReport {
        account: 0,
        command: CommandType::SetCredential,
        target: 5,
        fingerprint: 0x0102_0304_0506_0708,
    }));
    check_enum_field(&b, false, layout::credential_changed::COMMAND, in_range(13, 14));
    futures_enum_fields();
    // Deposit/Withdraw, SetFeeSchedule, QueryAccount, SetCredential, RevokeCredential,
    // FeeScheduleSet and AccountBalance have no enum fields (salt and hash are opaque bytes).
    let t = Transfer { target: 5, asset: 1, amount: 10, tx_id: 11 };
    for m in [
        ClientMessage::Deposit(t),
        ClientMessage::Withdraw(t),
        ClientMessage::SetFeeSchedule(SetFeeSchedule { instrument: 1, tier: 0, maker_ppm: -1, taker_ppm: 2 }),
        ClientMessage::QueryAccount(QueryAccount { target: 5 }),
        ClientMessage::SetCredential(SetCredential { target: 5, salt: [0xFF; 16], hash: [0x80; 32] }),
        ClientMessage::RevokeCredential(RevokeCredential { target: 5 }),
    ] {
        assert_eq!(client_from(&enc_client(&m)), Ok(m));
    }
}

/// The perpetual-futures templates' enum and flag bytes (150-186).
fn futures_enum_fields() {
    let in_range = |lo: u8, hi: u8| move |v: u8| (lo..=hi).contains(&v);
    let b = enc_client(&ClientMessage::SetMarginMode(SetMarginMode { instrument: 1, mode: MarginMode::Isolated }));
    check_enum_field(&b, true, layout::set_margin_mode::MODE, in_range(1, 2));
    let b = enc_client(&ClientMessage::WalletTransfer(WalletTransfer { asset: 1, amount: 5, to_futures: true }));
    check_enum_field(&b, true, layout::wallet_transfer::TO_FUTURES, in_range(0, 1));
    let rep = |r: FuturesReport| enc_server(&ServerMessage::Report { seq: 1, report: ExecReport::Futures(r) });
    let b = rep(FuturesReport::MarginModeSet(MarginModeSet { account: 1, instrument: 1, mode: MarginMode::Cross }));
    check_enum_field(&b, false, layout::margin_mode_set::MODE, in_range(1, 2));
    let b = rep(FuturesReport::AutoDeleveraged(Deleveraged {
        account: 1,
        instrument: 1,
        qty: 1,
        price: 1,
        role: AdlRole::Reduced,
    }));
    check_enum_field(&b, false, layout::auto_deleveraged::ROLE, in_range(1, 2));
    let b = rep(FuturesReport::Trimmed(Trimmed {
        account: 1,
        order_id: 1,
        client_order_id: 1,
        instrument: 1,
        side: Side::Sell,
        leaves: 1,
        cut: 1,
    }));
    check_enum_field(&b, false, layout::order_trimmed::SIDE, in_range(1, 2));
    let position = PositionChanged {
        account: 1,
        instrument: 1,
        size: 1,
        cost: 1,
        entry_price: 1,
        realised_pnl: 0,
        isolated_margin: 0,
        liq_price: 0,
    };
    let b = rep(FuturesReport::PositionReport(PositionReport {
        account: 1,
        position,
        mark_price: 1,
        upnl: 0,
        maint_margin: 0,
        leverage: 20,
        mode: MarginMode::Isolated,
    }));
    check_enum_field(&b, false, layout::position_report::MODE, in_range(1, 2));
    // The transfer reports name the futures commands too.
    let b = rep_transfer(CommandType::WalletTransfer);
    check_enum_field(&b, false, layout::transfer_applied::COMMAND, in_range(1, 29));
}

fn rep_transfer(command: CommandType) -> Vec<u8> {
    let e = TransferApplied { account: 1, command, target: 1, asset: 1, amount: 1, tx_id: 0, available: 0 };
    enc_server(&ServerMessage::Report { seq: 1, report: ExecReport::TransferApplied(e) })
}

#[test]
fn session_reject_echoes_client_order_id() {
    let mut body = [0u8; 32];
    body[..8].copy_from_slice(&77u64.to_le_bytes());
    body[28] = 9; // bad side
    let e = ClientMessage::decode(&Header::new(t::NEW_ORDER, 32), &body).unwrap_err();
    let sr = e.to_session_reject(&body);
    assert_eq!(
        sr,
        SessionReject {
            ref_template_id: t::NEW_ORDER,
            reason: SessionRejectReason::BadFieldValue,
            field_offset: Some(28),
            client_order_id: 77
        }
    );
    // Cancel by client order id, and by engine order id (not echoed).
    let mut c = [0u8; 16];
    c[..8].copy_from_slice(&55u64.to_le_bytes());
    c[8] = 2;
    assert_eq!(SessionReject::refuse(t::CANCEL, &c, SessionRejectReason::RateLimited).client_order_id, 55);
    c[8] = 1;
    assert_eq!(SessionReject::refuse(t::CANCEL, &c, SessionRejectReason::RateLimited).client_order_id, 0);
    // Too short to read: 0.
    assert_eq!(SessionReject::refuse(t::NEW_ORDER, &[1, 2, 3], SessionRejectReason::NotLoggedIn).client_order_id, 0);
}

#[test]
fn to_command_and_class() {
    let no = NewOrder {
        client_order_id: 1,
        instrument: 2,
        side: Side::Buy,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        stp: StpMode::CancelMaker,
        price: 10,
        qty: 3,
    };
    let m = ClientMessage::NewOrder(no);
    assert_eq!(m.class(), MessageClass::OrderEntry);
    assert_eq!(m.to_command(7, 99), Some(Command { account: 7, timestamp_ns: 99, kind: CommandKind::NewOrder(no) }));
    let a = ClientMessage::AddInstrument(sample_spec());
    assert_eq!(a.class(), MessageClass::Admin);
    assert_eq!(a.to_command(0, 1).unwrap().kind, CommandKind::AddInstrument(sample_spec()));
    assert_eq!(ClientMessage::Heartbeat.to_command(1, 1), None);
    assert_eq!(ClientMessage::Heartbeat.class(), MessageClass::Session);

    // Account administration is admin-class; the query is its own class (the gateway lets a
    // trader ask about its own account only).
    let t = Transfer { target: 5, asset: 1, amount: 10, tx_id: 11 };
    let fees = SetFeeSchedule { instrument: 1, tier: 0, maker_ppm: 100, taker_ppm: 200 };
    let create = CreateAccount { target: 5, tier: 0, status: AccountStatus::Active };
    let status = SetAccountStatus { target: 5, status: AccountStatus::Suspended, tier: 1 };
    for (m, kind) in [
        (ClientMessage::CreateAccount(create), CommandKind::CreateAccount(create)),
        (ClientMessage::Deposit(t), CommandKind::Deposit(t)),
        (ClientMessage::Withdraw(t), CommandKind::Withdraw(t)),
        (ClientMessage::SetAccountStatus(status), CommandKind::SetAccountStatus(status)),
        (ClientMessage::SetFeeSchedule(fees), CommandKind::SetFeeSchedule(fees)),
    ] {
        assert_eq!(m.class(), MessageClass::Admin, "{m:?}");
        assert_eq!(m.to_command(0, 3), Some(Command { account: 0, timestamp_ns: 3, kind }));
    }
    // Credentials: admin-class too (a trader cannot set or revoke anyone's secret, its own included).
    let set = SetCredential { target: 5, salt: [1; 16], hash: [2; 32] };
    let revoke = RevokeCredential { target: 5 };
    for (m, kind) in [
        (ClientMessage::SetCredential(set), CommandKind::SetCredential(set)),
        (ClientMessage::RevokeCredential(revoke), CommandKind::RevokeCredential(revoke)),
    ] {
        assert_eq!(m.class(), MessageClass::Admin, "{m:?}");
        assert_eq!(m.to_command(0, 3), Some(Command { account: 0, timestamp_ns: 3, kind }));
    }
    // Perpetuals: the venue's commands are admin-class, the account's own order-entry class
    // (trader sessions), marks and funding the oracle's.
    let tier = SetRiskTier {
        instrument: 3,
        index: 0,
        max_leverage: 125,
        mmr_ppm: 4_000,
        max_notional: 5_000_000,
        maint_amount: 0,
    };
    let lev = SetLeverage { instrument: 3, leverage: 10 };
    let mode = SetMarginMode { instrument: 3, mode: MarginMode::Isolated };
    let adj = AdjustIsolatedMargin { instrument: 3, delta: -5 };
    let wt = WalletTransfer { asset: 1, amount: 9, to_futures: false };
    let mark = SetMarkPrice { instrument: 3, mark_price: 6_000_000 };
    let funding = ApplyFunding { instrument: 3, rate_ppm: -100, next_funding_time_ns: 1_767_254_400_000_000_000 };
    for (m, kind, class) in [
        (ClientMessage::AddPerpetual(sample_spec()), CommandKind::AddPerpetual(sample_spec()), MessageClass::Admin),
        (ClientMessage::SetRiskTier(tier), CommandKind::SetRiskTier(tier), MessageClass::Admin),
        (ClientMessage::MarginDeposit(t), CommandKind::MarginDeposit(t), MessageClass::Admin),
        (ClientMessage::MarginWithdraw(t), CommandKind::MarginWithdraw(t), MessageClass::Admin),
        (ClientMessage::MarginDebit(t), CommandKind::MarginDebit(t), MessageClass::Admin),
        (ClientMessage::SetLeverage(lev), CommandKind::SetLeverage(lev), MessageClass::OrderEntry),
        (ClientMessage::SetMarginMode(mode), CommandKind::SetMarginMode(mode), MessageClass::OrderEntry),
        (ClientMessage::AdjustIsolatedMargin(adj), CommandKind::AdjustIsolatedMargin(adj), MessageClass::OrderEntry),
        (ClientMessage::WalletTransfer(wt), CommandKind::WalletTransfer(wt), MessageClass::OrderEntry),
        (ClientMessage::SetMarkPrice(mark), CommandKind::SetMarkPrice(mark), MessageClass::Oracle),
        (ClientMessage::ApplyFunding(funding), CommandKind::ApplyFunding(funding), MessageClass::Oracle),
    ] {
        assert_eq!(m.class(), class, "{m:?}");
        assert_eq!(m.to_command(4, 3), Some(Command { account: 4, timestamp_ns: 3, kind }));
        assert_eq!(client_from(&enc_client(&m)), Ok(m));
    }
    let q = ClientMessage::QueryAccount(QueryAccount { target: 5 });
    assert_eq!(q.class(), MessageClass::Query);
    assert_eq!(q.to_command(5, 4).unwrap().kind, CommandKind::QueryAccount(QueryAccount { target: 5 }));
}
