//! The journal encoding of commands: round trips, robustness against
//! arbitrary bytes, and the exact error for each corrupted field.

use engine::command_codec::*;
use engine::*;
use proptest::prelude::*;

fn side_s() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn order_type_s() -> impl Strategy<Value = OrderType> {
    prop_oneof![Just(OrderType::Limit), Just(OrderType::Market)]
}

fn tif_s() -> impl Strategy<Value = TimeInForce> {
    prop_oneof![Just(TimeInForce::Gtc), Just(TimeInForce::Ioc), Just(TimeInForce::Fok), Just(TimeInForce::PostOnly)]
}

fn stp_s() -> impl Strategy<Value = StpMode> {
    prop_oneof![Just(StpMode::None), Just(StpMode::CancelTaker), Just(StpMode::CancelMaker), Just(StpMode::CancelBoth)]
}

fn state_s() -> impl Strategy<Value = InstrumentState> {
    prop_oneof![
        Just(InstrumentState::Trading),
        Just(InstrumentState::Halted),
        Just(InstrumentState::CancelOnly),
        Just(InstrumentState::Closed)
    ]
}

fn order_ref_s() -> impl Strategy<Value = OrderRef> {
    prop_oneof![any::<u64>().prop_map(OrderRef::Engine), any::<u64>().prop_map(OrderRef::Client)]
}

/// Any u64, with the edge values well represented.
fn u64_s() -> impl Strategy<Value = u64> {
    prop_oneof![3 => any::<u64>(), 1 => Just(0u64), 1 => Just(u64::MAX), 1 => 0u64..1000]
}

fn spec_s() -> impl Strategy<Value = InstrumentSpec> {
    (
        (any::<u32>(), any::<[u8; SYMBOL_MAX_BYTES]>(), any::<u32>(), any::<u32>(), any::<u32>()),
        (u64_s(), u64_s(), u64_s(), u64_s(), u64_s(), u64_s(), u64_s()),
    )
        .prop_map(
            |((id, symbol, base_asset, quote_asset, price_band_bps), (tick, lot, min_qty, max_qty, mn, rp, qs))| {
                InstrumentSpec {
                    id,
                    symbol,
                    base_asset,
                    quote_asset,
                    tick,
                    lot,
                    min_qty,
                    max_qty,
                    min_notional: mn,
                    price_band_bps,
                    reference_price: rp,
                    qty_scale: qs,
                }
            },
        )
}

fn kind_s() -> impl Strategy<Value = CommandKind> {
    prop_oneof![
        (u64_s(), any::<u32>(), side_s(), order_type_s(), tif_s(), stp_s(), u64_s(), u64_s()).prop_map(
            |(client_order_id, instrument, side, order_type, tif, stp, price, qty)| {
                CommandKind::NewOrder(NewOrder { client_order_id, instrument, side, order_type, tif, stp, price, qty })
            }
        ),
        order_ref_s().prop_map(|order| CommandKind::Cancel(Cancel { order })),
        (order_ref_s(), proptest::option::of(u64_s()), proptest::option::of(u64_s()))
            .prop_map(|(order, new_qty, new_price)| CommandKind::Amend(Amend { order, new_qty, new_price })),
        (proptest::option::of(any::<u32>()), proptest::option::of(side_s()))
            .prop_map(|(instrument, side)| CommandKind::MassCancel(MassCancel { instrument, side })),
        spec_s().prop_map(CommandKind::AddInstrument),
        (any::<u32>(), state_s())
            .prop_map(|(instrument, state)| CommandKind::SetInstrumentState(SetInstrumentState { instrument, state })),
        (any::<u32>(), any::<u8>(), account_status_s())
            .prop_map(|(target, tier, status)| CommandKind::CreateAccount(CreateAccount { target, tier, status })),
        (any::<u32>(), any::<u32>(), u64_s(), u64_s(), any::<bool>()).prop_map(
            |(target, asset, amount, tx_id, dep)| {
                let t = Transfer { target, asset, amount, tx_id };
                if dep {
                    CommandKind::Deposit(t)
                } else {
                    CommandKind::Withdraw(t)
                }
            }
        ),
        (any::<u32>(), account_status_s(), any::<u8>()).prop_map(|(target, status, tier)| {
            CommandKind::SetAccountStatus(SetAccountStatus { target, status, tier })
        }),
        (any::<u32>(), any::<u8>(), any::<i32>(), any::<i32>()).prop_map(|(instrument, tier, maker_ppm, taker_ppm)| {
            CommandKind::SetFeeSchedule(SetFeeSchedule { instrument, tier, maker_ppm, taker_ppm })
        }),
        any::<u32>().prop_map(|target| CommandKind::QueryAccount(QueryAccount { target })),
        (any::<u32>(), any::<[u8; 16]>(), any::<[u8; 32]>())
            .prop_map(|(target, salt, hash)| CommandKind::SetCredential(SetCredential { target, salt, hash })),
        any::<u32>().prop_map(|target| CommandKind::RevokeCredential(RevokeCredential { target })),
        (any::<u64>(), any::<u32>()).prop_map(|(epoch, node)| CommandKind::StartEpoch(StartEpoch { epoch, node })),
        (
            (u64_s(), any::<u32>(), side_s(), order_type_s(), tif_s(), stp_s(), u64_s(), u64_s()),
            (u64_s(), prop_oneof![Just(TriggerKind::StopLoss), Just(TriggerKind::TakeProfit)])
        )
            .prop_map(
                |((client_order_id, instrument, side, order_type, tif, stp, price, qty), (trigger_price, trigger))| {
                    let order = NewOrder { client_order_id, instrument, side, order_type, tif, stp, price, qty };
                    CommandKind::NewStopOrder(StopOrder { order, trigger_price, trigger })
                }
            ),
        (
            (u64_s(), any::<u32>(), side_s(), order_type_s(), tif_s(), stp_s(), u64_s(), u64_s()),
            (
                u64_s(),
                u64_s(),
                proptest::option::of((
                    u64_s(),
                    prop_oneof![Just(TriggerKind::StopLoss), Just(TriggerKind::TakeProfit)]
                )),
                u64_s(),
                proptest::option::of((any::<u32>(), prop_oneof![Just(TrailUnit::Ticks), Just(TrailUnit::Bps)])),
                (any::<bool>(), any::<bool>(), any::<bool>())
            )
        )
            .prop_map(
                |(
                    (client_order_id, instrument, side, order_type, tif, stp, price, qty),
                    (expire_time_ns, quote_qty, trigger, display_qty, trailing, (reduce_only, close_position, mark)),
                )| {
                    let order = NewOrder { client_order_id, instrument, side, order_type, tif, stp, price, qty };
                    CommandKind::NewAdvancedOrder(AdvancedOrder {
                        order,
                        expire_time_ns,
                        quote_qty,
                        trigger,
                        display_qty,
                        trailing: trailing.map(|(delta, unit)| Trailing { delta, unit }),
                        reduce_only,
                        close_position,
                        // With or without a trigger: the codec carries what the engine refuses.
                        trigger_source: if mark { TriggerSource::MarkPrice } else { TriggerSource::LastPrice },
                    })
                }
            ),
        (
            (0u8..3, u64_s(), any::<u32>(), stp_s(), (side_s(), tif_s(), u64_s(), u64_s())),
            (side_s(), u64_s(), leg_s(), leg_s())
        )
            .prop_map(|((kind, cid, instrument, stp, working), (side, qty, l0, l1))| {
                let mut l = match kind {
                    0 => OrderList::oco(cid, instrument, side, qty, [l0, l1]),
                    1 => OrderList::oto(cid, instrument, working, side, qty, l0),
                    _ => OrderList::otoco(cid, instrument, working, side, qty, [l0, l1]),
                };
                l.stp = stp;
                CommandKind::NewOrderList(l)
            }),
        (order_ref_s(), u64_s())
            .prop_map(|(order, trigger_price)| CommandKind::AmendTrigger(AmendTrigger { order, trigger_price })),
        Just(CommandKind::TimeTick),
        futures_kind_s(),
    ]
}

fn transfer_s() -> impl Strategy<Value = Transfer> {
    (any::<u32>(), any::<u32>(), u64_s(), u64_s()).prop_map(|(target, asset, amount, tx_id)| Transfer {
        target,
        asset,
        amount,
        tx_id,
    })
}

/// Any i64, with the edge values well represented.
fn i64_s() -> impl Strategy<Value = i64> {
    prop_oneof![3 => any::<i64>(), 1 => Just(0i64), 1 => Just(i64::MIN), 1 => Just(i64::MAX), 1 => -1000i64..1000]
}

/// The perpetual-futures commands (docs/futures.md, section 12).
fn futures_kind_s() -> impl Strategy<Value = CommandKind> {
    prop_oneof![
        spec_s().prop_map(CommandKind::AddPerpetual),
        ((any::<u32>(), any::<u8>(), any::<u32>(), any::<u32>()), (u64_s(), u64_s())).prop_map(
            |((instrument, index, max_leverage, mmr_ppm), (max_notional, maint_amount))| {
                CommandKind::SetRiskTier(SetRiskTier {
                    instrument,
                    index,
                    max_leverage,
                    mmr_ppm,
                    max_notional,
                    maint_amount,
                })
            }
        ),
        (any::<u32>(), any::<u32>())
            .prop_map(|(instrument, leverage)| CommandKind::SetLeverage(SetLeverage { instrument, leverage })),
        (any::<u32>(), prop_oneof![Just(MarginMode::Cross), Just(MarginMode::Isolated)])
            .prop_map(|(instrument, mode)| CommandKind::SetMarginMode(SetMarginMode { instrument, mode })),
        (any::<u32>(), i64_s()).prop_map(|(instrument, delta)| {
            CommandKind::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument, delta })
        }),
        transfer_s().prop_map(CommandKind::MarginDeposit),
        transfer_s().prop_map(CommandKind::MarginWithdraw),
        transfer_s().prop_map(CommandKind::MarginDebit),
        (any::<u32>(), u64_s(), any::<bool>()).prop_map(|(asset, amount, to_futures)| {
            CommandKind::WalletTransfer(WalletTransfer { asset, amount, to_futures })
        }),
        (any::<u32>(), u64_s())
            .prop_map(|(instrument, mark_price)| CommandKind::SetMarkPrice(SetMarkPrice { instrument, mark_price })),
        (any::<u32>(), any::<i32>(), u64_s()).prop_map(|(instrument, rate_ppm, next_funding_time_ns)| {
            CommandKind::ApplyFunding(ApplyFunding { instrument, rate_ppm, next_funding_time_ns })
        }),
    ]
}

fn leg_s() -> impl Strategy<Value = ListLeg> {
    (
        order_type_s(),
        tif_s(),
        u64_s(),
        proptest::option::of((u64_s(), prop_oneof![Just(TriggerKind::StopLoss), Just(TriggerKind::TakeProfit)])),
    )
        .prop_map(|(order_type, tif, price, trigger)| ListLeg { order_type, tif, price, trigger })
}

fn account_status_s() -> impl Strategy<Value = AccountStatus> {
    prop_oneof![Just(AccountStatus::Active), Just(AccountStatus::Suspended)]
}

fn cmd_s() -> impl Strategy<Value = Command> {
    (any::<u32>(), any::<u64>(), kind_s()).prop_map(|(account, timestamp_ns, kind)| Command {
        account,
        timestamp_ns,
        kind,
    })
}

fn enc(cmd: &Command) -> Vec<u8> {
    let mut buf = [0u8; MAX_COMMAND_BYTES];
    let n = encode(cmd, &mut buf);
    buf[..n].to_vec()
}

fn kind_byte(k: &CommandKind) -> u8 {
    match k {
        CommandKind::NewOrder(_) => kind::NEW_ORDER,
        CommandKind::NewStopOrder(_) => kind::NEW_STOP_ORDER,
        CommandKind::Cancel(_) => kind::CANCEL,
        CommandKind::Amend(_) => kind::AMEND,
        CommandKind::MassCancel(_) => kind::MASS_CANCEL,
        CommandKind::AddInstrument(_) => kind::ADD_INSTRUMENT,
        CommandKind::SetInstrumentState(_) => kind::SET_INSTRUMENT_STATE,
        CommandKind::CreateAccount(_) => kind::CREATE_ACCOUNT,
        CommandKind::Deposit(_) => kind::DEPOSIT,
        CommandKind::Withdraw(_) => kind::WITHDRAW,
        CommandKind::SetAccountStatus(_) => kind::SET_ACCOUNT_STATUS,
        CommandKind::SetFeeSchedule(_) => kind::SET_FEE_SCHEDULE,
        CommandKind::QueryAccount(_) => kind::QUERY_ACCOUNT,
        CommandKind::SetCredential(_) => kind::SET_CREDENTIAL,
        CommandKind::RevokeCredential(_) => kind::REVOKE_CREDENTIAL,
        CommandKind::StartEpoch(_) => kind::START_EPOCH,
        CommandKind::NewAdvancedOrder(_) => kind::NEW_ADVANCED_ORDER,
        CommandKind::AmendTrigger(_) => kind::AMEND_TRIGGER,
        CommandKind::TimeTick => kind::TIME_TICK,
        CommandKind::NewOrderList(_) => kind::NEW_ORDER_LIST,
        CommandKind::AddPerpetual(_) => kind::ADD_PERPETUAL,
        CommandKind::SetRiskTier(_) => kind::SET_RISK_TIER,
        CommandKind::SetLeverage(_) => kind::SET_LEVERAGE,
        CommandKind::SetMarginMode(_) => kind::SET_MARGIN_MODE,
        CommandKind::AdjustIsolatedMargin(_) => kind::ADJUST_ISOLATED_MARGIN,
        CommandKind::MarginDeposit(_) => kind::MARGIN_DEPOSIT,
        CommandKind::MarginWithdraw(_) => kind::MARGIN_WITHDRAW,
        CommandKind::MarginDebit(_) => kind::MARGIN_DEBIT,
        CommandKind::WalletTransfer(_) => kind::WALLET_TRANSFER,
        CommandKind::SetMarkPrice(_) => kind::SET_MARK_PRICE,
        CommandKind::ApplyFunding(_) => kind::APPLY_FUNDING,
    }
}

/// The expected encoded length per kind byte.
fn expected_len(k: u8) -> usize {
    match k {
        kind::NEW_ORDER => 48,
        kind::CANCEL => 32,
        kind::AMEND => 48,
        kind::MASS_CANCEL => 24,
        kind::ADD_INSTRUMENT => 104,
        kind::SET_INSTRUMENT_STATE => 24,
        kind::CREATE_ACCOUNT => 24,
        kind::DEPOSIT | kind::WITHDRAW => 40,
        kind::SET_ACCOUNT_STATUS => 24,
        kind::SET_FEE_SCHEDULE => 32,
        kind::QUERY_ACCOUNT => 24,
        kind::SET_CREDENTIAL => 72,
        kind::REVOKE_CREDENTIAL => 24,
        kind::START_EPOCH => 32,
        kind::NEW_STOP_ORDER => 64,
        kind::NEW_ADVANCED_ORDER => 88,
        kind::AMEND_TRIGGER => 40,
        kind::TIME_TICK => 16,
        kind::NEW_ORDER_LIST => 96,
        kind::ADD_PERPETUAL => 104,
        kind::SET_RISK_TIER => 48,
        kind::SET_LEVERAGE | kind::SET_MARGIN_MODE => 24,
        kind::ADJUST_ISOLATED_MARGIN | kind::WALLET_TRANSFER | kind::SET_MARK_PRICE | kind::APPLY_FUNDING => 32,
        kind::MARGIN_DEPOSIT | kind::MARGIN_WITHDRAW | kind::MARGIN_DEBIT => 40,
        _ => unreachable!(),
    }
}

/// The expected encoded length of a command: its kind's, except a funding without a next funding
/// time, which is written in the previous release's 24-byte form.
fn expected_len_of(cmd: &Command) -> usize {
    match cmd.kind {
        CommandKind::ApplyFunding(ApplyFunding { next_funding_time_ns: 0, .. }) => APPLY_FUNDING_V1_BYTES,
        ref k => expected_len(kind_byte(k)),
    }
}

/// Decoding `bytes` must not panic; whatever it accepts re-encodes to the same bytes.
fn decode_is_total_and_canonical(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(cmd) = decode(bytes) {
        prop_assert_eq!(enc(&cmd), bytes.to_vec(), "accepted bytes must be the canonical encoding of {:?}", cmd);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(cmd in cmd_s(), junk in any::<u8>()) {
        // Encoding overwrites the whole range it reports, whatever the buffer held.
        let mut buf = [junk; MAX_COMMAND_BYTES];
        let n = encode(&cmd, &mut buf);
        prop_assert_eq!(n, encoded_len(&cmd));
        prop_assert_eq!(n, expected_len_of(&cmd));
        prop_assert!(n <= MAX_COMMAND_BYTES);
        prop_assert_eq!(&buf[..n], &enc(&cmd)[..]);
        prop_assert_eq!(buf[0], kind_byte(&cmd.kind));
        prop_assert_eq!(&buf[4..8], &cmd.account.to_le_bytes());
        prop_assert_eq!(&buf[8..16], &cmd.timestamp_ns.to_le_bytes());
        prop_assert_eq!(decode(&buf[..n]), Ok(cmd));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..=2 * MAX_COMMAND_BYTES)) {
        decode_is_total_and_canonical(&bytes)?;
    }

    /// Random bodies of the right length for a real kind reach the field checks.
    #[test]
    fn random_bodies_of_valid_length(k in 1u8..=31, body in any::<[u8; MAX_COMMAND_BYTES]>(), zero_reserved in any::<bool>()) {
        let mut bytes = body[..expected_len(k)].to_vec();
        bytes[0] = k;
        if zero_reserved {
            bytes[1..4].fill(0);
        }
        decode_is_total_and_canonical(&bytes)?;
    }

    /// One byte of a valid encoding changed: decode never panics, and either
    /// rejects or yields a command that encodes back to the changed bytes.
    #[test]
    fn single_byte_corruption(cmd in cmd_s(), at in any::<prop::sample::Index>(), v in any::<u8>()) {
        let mut bytes = enc(&cmd);
        let i = at.index(bytes.len());
        bytes[i] = v;
        decode_is_total_and_canonical(&bytes)?;
    }

    #[test]
    fn wrong_length_rejected(cmd in cmd_s(), extra in 1usize..16, shorter in any::<bool>()) {
        let mut bytes = enc(&cmd);
        let n = bytes.len();
        let k = bytes[0];
        // A funding has two valid lengths (the previous release's 24 bytes, and 32); the error
        // names the current one.
        let (n, valid) = if k == kind::APPLY_FUNDING { (32, vec![24, 32]) } else { (n, vec![n]) };
        let len = if shorter { bytes.len().saturating_sub(extra).max(COMMAND_HEADER_BYTES) } else { bytes.len() + extra };
        prop_assume!(!valid.contains(&len));
        if shorter {
            // A header-only command (a time tick) has nothing to cut.
            prop_assume!(n > COMMAND_HEADER_BYTES);
            bytes.truncate(len);
            prop_assert_eq!(decode(&bytes), Err(CodecError::BadLength { kind: k, len, expected: n }));
        } else {
            bytes.resize(len, 0);
            prop_assert_eq!(decode(&bytes), Err(CodecError::BadLength { kind: k, len, expected: n }));
        }
    }

    #[test]
    fn header_reserved_bytes_rejected(cmd in cmd_s(), off in 1usize..4, v in 1u8..=255) {
        let mut bytes = enc(&cmd);
        bytes[off] = v;
        prop_assert_eq!(decode(&bytes), Err(CodecError::ReservedNotZero(off)));
    }

    #[test]
    fn unknown_kind_rejected(k in prop_oneof![Just(0u8), 32u8..=255], len in 16usize..=MAX_COMMAND_BYTES + 8) {
        let mut bytes = vec![0u8; len];
        bytes[0] = k;
        prop_assert_eq!(decode(&bytes), Err(CodecError::UnknownKind(k)));
    }

    #[test]
    fn shorter_than_header_rejected(bytes in prop::collection::vec(any::<u8>(), 0..COMMAND_HEADER_BYTES)) {
        let kind = bytes.first().copied().unwrap_or(0);
        let len = bytes.len();
        prop_assert_eq!(decode(&bytes), Err(CodecError::BadLength { kind, len, expected: COMMAND_HEADER_BYTES }));
    }

    #[test]
    fn new_order_enum_fields_rejected(
        cmd in cmd_s().prop_filter("new order", |c| matches!(c.kind, CommandKind::NewOrder(_))),
        which in 0usize..4,
        v in any::<u8>(),
    ) {
        let (off, field, valid): (usize, &str, &[u8]) = [
            (28, "side", &[1u8, 2][..]),
            (29, "order_type", &[1, 2][..]),
            (30, "tif", &[1, 2, 3, 4][..]),
            (31, "stp", &[0, 1, 2, 3][..]),
        ][which];
        let mut bytes = enc(&cmd);
        bytes[off] = v;
        if valid.contains(&v) {
            prop_assert!(decode(&bytes).is_ok());
        } else {
            prop_assert_eq!(decode(&bytes), Err(CodecError::BadField { field, value: v as u64 }));
        }
    }

    #[test]
    fn cancel_fields_rejected(order in order_ref_s(), off in 16usize..24, v in 1u8..=255) {
        let cmd = Command { account: 3, timestamp_ns: 9, kind: CommandKind::Cancel(Cancel { order }) };
        let mut bytes = enc(&cmd);
        bytes[off] = v;
        let want = match off {
            16 if v == 1 || v == 2 => None,
            16 => Some(CodecError::BadField { field: "order_ref_kind", value: v as u64 }),
            _ => Some(CodecError::ReservedNotZero(off)),
        };
        match want {
            Some(e) => prop_assert_eq!(decode(&bytes), Err(e)),
            None => prop_assert!(decode(&bytes).is_ok()),
        }
    }

    #[test]
    fn amend_fields_rejected(order in order_ref_s(), off in 16usize..24, v in 1u8..=255) {
        let a = Amend { order, new_qty: Some(5), new_price: None };
        let cmd = Command { account: 3, timestamp_ns: 9, kind: CommandKind::Amend(a) };
        let mut bytes = enc(&cmd);
        bytes[off] = v;
        let want = match off {
            16 if v == 1 || v == 2 => None,
            16 => Some(CodecError::BadField { field: "order_ref_kind", value: v as u64 }),
            // Flags: bit 0 = qty present, bit 1 = price present (price 0 is then Some(0)).
            17 if v == 1 || v == 3 => None,
            // Clearing the qty bit leaves its value (5) in a field that must then be zero.
            17 if v == 2 => Some(CodecError::ReservedNotZero(32)),
            17 => Some(CodecError::BadField { field: "amend_flags", value: v as u64 }),
            _ => Some(CodecError::ReservedNotZero(off)),
        };
        match want {
            Some(e) => prop_assert_eq!(decode(&bytes), Err(e)),
            None => prop_assert!(decode(&bytes).is_ok()),
        }
    }

    /// An absent amend value must be encoded as zeros; any other byte there is refused
    /// (reported at the start of the 8-byte field).
    #[test]
    fn amend_absent_value_must_be_zero(order in order_ref_s(), j in 0usize..8, v in 1u8..=255, qty_absent in any::<bool>()) {
        let a = if qty_absent {
            Amend { order, new_qty: None, new_price: Some(7) }
        } else {
            Amend { order, new_qty: Some(7), new_price: None }
        };
        let mut bytes = enc(&Command { account: 1, timestamp_ns: 2, kind: CommandKind::Amend(a) });
        let field = if qty_absent { 32 } else { 40 };
        bytes[field + j] = v;
        prop_assert_eq!(decode(&bytes), Err(CodecError::ReservedNotZero(field)));
    }

    #[test]
    fn mass_cancel_and_state_fields_rejected(state_cmd in any::<bool>(), off in 20usize..24, v in 1u8..=255) {
        let kind = if state_cmd {
            CommandKind::SetInstrumentState(SetInstrumentState { instrument: 4, state: InstrumentState::Halted })
        } else {
            CommandKind::MassCancel(MassCancel { instrument: Some(4), side: None })
        };
        let mut bytes = enc(&Command { account: 1, timestamp_ns: 2, kind });
        bytes[off] = v;
        let want = match (off, state_cmd) {
            (20, true) if v <= 4 => None,
            (20, true) => Some(CodecError::BadField { field: "state", value: v as u64 }),
            (20, false) if v <= 2 => None,
            (20, false) => Some(CodecError::BadField { field: "side", value: v as u64 }),
            // The has-instrument flag: 1 is what it already holds.
            (21, false) if v == 1 => None,
            (21, false) => Some(CodecError::BadField { field: "mass_cancel_flags", value: v as u64 }),
            _ => Some(CodecError::ReservedNotZero(off)),
        };
        match want {
            Some(e) => prop_assert_eq!(decode(&bytes), Err(e)),
            None => prop_assert!(decode(&bytes).is_ok()),
        }
    }
}

/// The credential commands' reserved bytes (20..24) must be zero; salt and hash are opaque.
#[test]
fn credential_commands_encoding_and_reserved_bytes() {
    let set = SetCredential { target: 0x0A0B_0C0D, salt: [0x11; 16], hash: [0x22; 32] };
    let cmd = Command { account: 1, timestamp_ns: 2, kind: CommandKind::SetCredential(set) };
    let b = enc(&cmd);
    assert_eq!(b.len(), 72);
    assert_eq!((b[0], &b[16..20]), (13, &0x0A0B_0C0Du32.to_le_bytes()[..]));
    assert_eq!((&b[20..24], &b[24..40], &b[40..72]), (&[0u8; 4][..], &[0x11u8; 16][..], &[0x22u8; 32][..]));
    let revoke =
        Command { account: 1, timestamp_ns: 2, kind: CommandKind::RevokeCredential(RevokeCredential { target: 9 }) };
    let r = enc(&revoke);
    assert_eq!((r.len(), r[0], &r[16..20]), (24, 14, &9u32.to_le_bytes()[..]));
    for (bytes, c) in [(b, cmd), (r, revoke)] {
        assert_eq!(decode(&bytes), Ok(c));
        for off in 20..24 {
            let mut bad = bytes.clone();
            bad[off] = 1;
            assert_eq!(decode(&bad), Err(CodecError::ReservedNotZero(off)));
        }
    }
}

#[test]
fn known_encoding_of_a_new_order() {
    let cmd = Command {
        account: 0x0102_0304,
        timestamp_ns: 0x1122_3344_5566_7788,
        kind: CommandKind::NewOrder(NewOrder {
            client_order_id: 0xAABB,
            instrument: 7,
            side: Side::Sell,
            order_type: OrderType::Limit,
            tif: TimeInForce::PostOnly,
            stp: StpMode::CancelBoth,
            price: 1000,
            qty: 3,
        }),
    };
    let mut want = vec![1u8, 0, 0, 0, 4, 3, 2, 1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11];
    want.extend_from_slice(&0xAABBu64.to_le_bytes());
    want.extend_from_slice(&7u32.to_le_bytes());
    want.extend_from_slice(&[2, 1, 4, 3]);
    want.extend_from_slice(&1000u64.to_le_bytes());
    want.extend_from_slice(&3u64.to_le_bytes());
    assert_eq!(enc(&cmd), want);
    assert_eq!(decode(&want), Ok(cmd));
}

#[test]
fn mass_cancel_all_and_amend_flags_encoding() {
    let all = Command {
        account: 1,
        timestamp_ns: 2,
        kind: CommandKind::MassCancel(MassCancel { instrument: None, side: None }),
    };
    let b = enc(&all);
    assert_eq!(&b[16..20], &0u32.to_le_bytes());
    assert_eq!((b[20], b[21]), (0, 0));
    // "All instruments" with a non-zero id is malformed, not silently "all".
    let mut bad = b.clone();
    bad[16] = 5;
    assert_eq!(decode(&bad), Err(CodecError::ReservedNotZero(16)));
    let a = Amend { order: OrderRef::Client(9), new_qty: None, new_price: Some(0) };
    let b = enc(&Command { account: 1, timestamp_ns: 2, kind: CommandKind::Amend(a) });
    assert_eq!((b[16], b[17]), (2, 2));
    assert_eq!(decode(&b).unwrap().kind, CommandKind::Amend(a));
}

/// Regression: `MassCancel { instrument: Some(u32::MAX) }` once encoded like "all
/// instruments", so the live engine rejected it (UnknownInstrument) while a replay would
/// cancel every order of the account. The has-instrument flag keeps them apart.
#[test]
fn mass_cancel_instrument_u32_max_round_trips() {
    let cmd = Command {
        account: 1,
        timestamp_ns: 2,
        kind: CommandKind::MassCancel(MassCancel { instrument: Some(u32::MAX), side: None }),
    };
    assert_eq!(decode(&enc(&cmd)), Ok(cmd));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// `NewAdvancedOrder` bytes 74 and 75 (reserved before perpetuals) hold reduce-only and
    /// close-position: 0 or 1, anything else is damage.
    #[test]
    fn advanced_order_flag_bytes(
        cmd in cmd_s().prop_filter("advanced order", |c| matches!(c.kind, CommandKind::NewAdvancedOrder(_))),
        off in 74usize..76,
        v in any::<u8>(),
    ) {
        let mut bytes = enc(&cmd);
        bytes[off] = v;
        let field = if off == 74 { "reduce_only" } else { "close_position" };
        match decode(&bytes) {
            Ok(Command { kind: CommandKind::NewAdvancedOrder(a), .. }) => {
                prop_assert!(v <= 1);
                prop_assert_eq!(if off == 74 { a.reduce_only } else { a.close_position }, v == 1);
            }
            other => prop_assert_eq!(other, Err(CodecError::BadField { field, value: v as u64 })),
        }
    }

    /// Every reserved byte of a futures command is checked, and every enum or flag byte refuses
    /// values outside its set.
    #[test]
    // From 3: 2 is a margin mode (isolated), which the margin-mode case must not draw.
    fn futures_reserved_and_enum_bytes_rejected(which in 0usize..5, j in 0usize..4, v in 3u8..=255) {
        let kind = [
            CommandKind::SetRiskTier(SetRiskTier {
                instrument: 1,
                index: 0,
                max_leverage: 125,
                mmr_ppm: 4_000,
                max_notional: 5_000_000,
                maint_amount: 0,
            }),
            CommandKind::SetMarginMode(SetMarginMode { instrument: 1, mode: MarginMode::Isolated }),
            CommandKind::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument: 1, delta: -5 }),
            CommandKind::WalletTransfer(WalletTransfer { asset: 1, amount: 7, to_futures: true }),
            CommandKind::SetMarkPrice(SetMarkPrice { instrument: 1, mark_price: 6_000_000 }),
        ][which];
        let mut bytes = enc(&Command { account: 1, timestamp_ns: 2, kind });
        // (the byte changed, what decoding must say)
        let (off, want) = match (which, j) {
            // The risk tier's index is at 20, any value; 21-23 are reserved.
            (0, _) => (21 + j % 3, CodecError::ReservedNotZero(21 + j % 3)),
            (1, 0) => (20, CodecError::BadField { field: "margin_mode", value: v as u64 }),
            (3, 0) => (20, CodecError::BadField { field: "to_futures", value: v as u64 }),
            _ => (20 + j, CodecError::ReservedNotZero(20 + j)),
        };
        bytes[off] = v;
        prop_assert_eq!(decode(&bytes), Err(want));
    }
}

/// The futures layouts of docs/journal.md, byte for byte (signed fields in two's complement).
#[test]
fn known_encoding_of_futures_commands() {
    let tier = SetRiskTier {
        instrument: 3,
        index: 1,
        max_leverage: 100,
        mmr_ppm: 5_000,
        max_notional: 25_000_000,
        maint_amount: 5_000,
    };
    let b = enc(&Command { account: 0, timestamp_ns: 9, kind: CommandKind::SetRiskTier(tier) });
    assert_eq!((b.len(), b[0], &b[16..20], b[20], &b[21..24]), (48, 22, &3u32.to_le_bytes()[..], 1, &[0u8; 3][..]));
    assert_eq!((&b[24..28], &b[28..32]), (&100u32.to_le_bytes()[..], &5_000u32.to_le_bytes()[..]));
    assert_eq!((&b[32..40], &b[40..48]), (&25_000_000u64.to_le_bytes()[..], &5_000u64.to_le_bytes()[..]));

    let adjust = AdjustIsolatedMargin { instrument: 3, delta: -2 };
    let b = enc(&Command { account: 7, timestamp_ns: 9, kind: CommandKind::AdjustIsolatedMargin(adjust) });
    assert_eq!(
        (b.len(), b[0], &b[20..24], &b[24..32]),
        (32, 25, &[0u8; 4][..], &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..])
    );

    let next = 1_767_254_400_000_000_000u64;
    let funding = ApplyFunding { instrument: 3, rate_ppm: -100, next_funding_time_ns: next };
    let b = enc(&Command { account: 9, timestamp_ns: 9, kind: CommandKind::ApplyFunding(funding) });
    assert_eq!(
        (b.len(), b[0], &b[16..20], &b[20..24], &b[24..32]),
        (32, 31, &3u32.to_le_bytes()[..], &(-100i32).to_le_bytes()[..], &next.to_le_bytes()[..])
    );

    let wt = WalletTransfer { asset: 1, amount: 500, to_futures: false };
    let b = enc(&Command { account: 7, timestamp_ns: 9, kind: CommandKind::WalletTransfer(wt) });
    assert_eq!(
        (b.len(), b[0], &b[16..20], b[20], &b[24..32]),
        (32, 29, &1u32.to_le_bytes()[..], 0, &500u64.to_le_bytes()[..])
    );

    // The three futures transfers share the spot transfers' layout, under their own kinds.
    let t = Transfer { target: 7, asset: 1, amount: 100, tx_id: 42 };
    let deposit = enc(&Command { account: 0, timestamp_ns: 9, kind: CommandKind::Deposit(t) });
    for (k, kind) in
        [(26, CommandKind::MarginDeposit(t)), (27, CommandKind::MarginWithdraw(t)), (28, CommandKind::MarginDebit(t))]
    {
        let b = enc(&Command { account: 0, timestamp_ns: 9, kind });
        assert_eq!((b[0], &b[1..]), (k, &deposit[1..]));
    }
    // And the perpetual's spec the spot instrument's.
    let spec = engine::examples::btc_perp_spec(5);
    let spot = enc(&Command { account: 0, timestamp_ns: 9, kind: CommandKind::AddInstrument(spec) });
    let perp = enc(&Command { account: 0, timestamp_ns: 9, kind: CommandKind::AddPerpetual(spec) });
    assert_eq!((spot[0], perp[0], &perp[1..]), (5, 21, &spot[1..]));
}

/// The previous release wrote `ApplyFunding` in 24 bytes, without the next funding time: such a
/// record (as that release's encoder laid it out, byte by byte) still decodes, with the time 0
/// ("not given"), and a command with time 0 encodes back to exactly those bytes. A 32-byte record
/// with time 0 is damage, as is any other length.
#[test]
fn previous_release_funding_record_decodes_with_no_time() {
    let mut old = [0u8; 24];
    old[0] = 31;
    old[4..8].copy_from_slice(&100u32.to_le_bytes());
    old[8..16].copy_from_slice(&1_767_225_600_000_000_000u64.to_le_bytes());
    old[16..20].copy_from_slice(&3u32.to_le_bytes());
    old[20..24].copy_from_slice(&(-100i32).to_le_bytes());
    let cmd = decode(&old).expect("a previous release's record");
    let funding = ApplyFunding { instrument: 3, rate_ppm: -100, next_funding_time_ns: 0 };
    let want =
        Command { account: 100, timestamp_ns: 1_767_225_600_000_000_000, kind: CommandKind::ApplyFunding(funding) };
    assert_eq!(cmd, want);
    assert_eq!((encoded_len(&cmd), enc(&cmd)), (APPLY_FUNDING_V1_BYTES, old.to_vec()));

    let mut zero_time = old.to_vec();
    zero_time.resize(32, 0);
    assert_eq!(decode(&zero_time), Err(CodecError::BadField { field: "next_funding_time_ns", value: 0 }));
    zero_time[24] = 1;
    assert!(
        matches!(decode(&zero_time), Ok(Command { kind: CommandKind::ApplyFunding(f), .. }) if f.next_funding_time_ns == 1)
    );
    for len in [16, 23, 25, 31, 33, 40] {
        let mut b = zero_time.clone();
        b.resize(len, 0);
        assert_eq!(decode(&b), Err(CodecError::BadLength { kind: 31, len, expected: 32 }));
    }
}

/// A journal written before perpetuals: its advanced orders (bytes 74-75 zero) decode as neither
/// reduce-only nor close-position.
#[test]
fn pre_futures_advanced_order_decodes_without_flags() {
    let order = NewOrder {
        client_order_id: 1,
        instrument: 1,
        side: Side::Buy,
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        stp: StpMode::None,
        price: 100,
        qty: 1,
    };
    let mut a = AdvancedOrder::plain(order);
    a.expire_time_ns = 77;
    let b = enc(&Command { account: 1, timestamp_ns: 2, kind: CommandKind::NewAdvancedOrder(a) });
    assert_eq!(&b[74..76], &[0, 0]);
    let both = AdvancedOrder { reduce_only: true, close_position: true, ..a };
    let f = enc(&Command { account: 1, timestamp_ns: 2, kind: CommandKind::NewAdvancedOrder(both) });
    assert_eq!((&f[..74], &f[74..76], &f[76..]), (&b[..74], &[1u8, 1][..], &b[76..]));
}

/// The trigger source rides in bit 7 of byte 72 (the trigger kind's byte; the record has no
/// spare byte): a last-price order's record is the one written before mark-price triggers, a
/// mark-price one differs in that bit only, and a source without a trigger still round-trips.
#[test]
fn mark_price_trigger_source_is_bit_7_of_the_trigger_byte() {
    let order = NewOrder {
        client_order_id: 1,
        instrument: 1,
        side: Side::Sell,
        order_type: OrderType::Market,
        tif: TimeInForce::Ioc,
        stp: StpMode::None,
        price: 0,
        qty: 5,
    };
    let stop = AdvancedOrder { trigger: Some((5_900_000, TriggerKind::StopLoss)), ..AdvancedOrder::plain(order) };
    let last = enc(&Command { account: 1, timestamp_ns: 2, kind: CommandKind::NewAdvancedOrder(stop) });
    assert_eq!(last[72], 1);
    let by_mark = AdvancedOrder { trigger_source: TriggerSource::MarkPrice, ..stop };
    let cmd = Command { account: 1, timestamp_ns: 2, kind: CommandKind::NewAdvancedOrder(by_mark) };
    let mark = enc(&cmd);
    assert_eq!((&mark[..72], mark[72], &mark[73..]), (&last[..72], 0x81, &last[73..]));
    assert_eq!(decode(&mark).unwrap(), cmd);
    let bare = AdvancedOrder { trigger: None, ..by_mark };
    let cmd = Command { account: 1, timestamp_ns: 2, kind: CommandKind::NewAdvancedOrder(bare) };
    let b = enc(&cmd);
    assert_eq!((b[72], &b[64..72]), (0x80, &[0u8; 8][..]));
    assert_eq!(decode(&b).unwrap(), cmd);
    // An unknown kind under the bit is refused as any bad trigger byte.
    let mut bad = mark.clone();
    bad[72] = 0x83;
    assert!(decode(&bad).is_err());
}

fn futures_config() -> EngineConfig {
    EngineConfig { insurance_account: 9, oracle_account: 10, ..EngineConfig::small() }
}

fn small_risk() -> EngineConfig {
    EngineConfig { risk_checks: true, max_assets: 4, fee_account: 0, ..EngineConfig::small() }
}

#[test]
fn engine_config_v3_round_trips_the_special_accounts() {
    for c in [
        EngineConfig { risk_checks: true, max_assets: 4, ..futures_config() },
        small_risk(),
        EngineConfig::small(),
        EngineConfig::default(),
        EngineConfig { oracle_account: 3, ..EngineConfig::small() },
    ] {
        let b = encode_engine_config(&c);
        assert_eq!((b.len(), &b[0..4], &b[44..48]), (ENGINE_CONFIG_BYTES, &3u32.to_le_bytes()[..], &[0u8; 4][..]));
        assert_eq!(
            (&b[36..40], &b[40..44]),
            (&c.insurance_account.to_le_bytes()[..], &c.oracle_account.to_le_bytes()[..])
        );
        assert_eq!(decode_engine_config(&b), Ok(c));
    }
}

/// A version-2 record (40 bytes, 36-40 reserved): journals formatted before perpetuals still open,
/// with neither an insurance nor an oracle account.
#[test]
fn engine_config_v2_still_decodes() {
    let c = small_risk();
    let v3 = encode_engine_config(&c);
    let mut v2 = v3[..ENGINE_CONFIG_V2_BYTES].to_vec();
    v2[0..4].copy_from_slice(&2u32.to_le_bytes());
    v2[36..40].fill(0);
    assert_eq!(decode_engine_config(&v2), Ok(c));
    let mut bad = v2.clone();
    bad[38] = 1;
    assert_eq!(decode_engine_config(&bad), Err(CodecError::ReservedNotZero(38)));
    // Each version has its own length.
    assert_eq!(
        decode_engine_config(&v3[..ENGINE_CONFIG_V2_BYTES]),
        Err(CodecError::BadLength { kind: 0, len: ENGINE_CONFIG_V2_BYTES, expected: ENGINE_CONFIG_BYTES })
    );
    let mut long_v2 = v3.to_vec();
    long_v2[0..4].copy_from_slice(&2u32.to_le_bytes());
    assert_eq!(
        decode_engine_config(&long_v2),
        Err(CodecError::BadLength { kind: 0, len: ENGINE_CONFIG_BYTES, expected: ENGINE_CONFIG_V2_BYTES })
    );
}

#[test]
fn engine_config_damage_rejected() {
    let c = EngineConfig { risk_checks: true, max_assets: 4, ..futures_config() };
    let good = encode_engine_config(&c);
    for (at, v, want) in [
        (0, 4u8, CodecError::BadField { field: "engine_config_version", value: 4 }),
        (0, 1, CodecError::BadField { field: "engine_config_version", value: 1 }),
        (45, 1, CodecError::ReservedNotZero(45)),
        // The insurance fund: past max_accounts, or the fee account.
        (36, 200, CodecError::BadField { field: "insurance_account", value: 200 }),
        (36, 0, CodecError::BadField { field: "insurance_account", value: 0 }),
        // The oracle: past max_accounts, the fee account, or the insurance fund.
        (40, 200, CodecError::BadField { field: "oracle_account", value: 200 }),
        (40, 0, CodecError::BadField { field: "oracle_account", value: 0 }),
        (40, 9, CodecError::BadField { field: "oracle_account", value: 9 }),
    ] {
        let mut b = good;
        b[at] = v;
        assert_eq!(decode_engine_config(&b), Err(want), "byte {at} = {v}");
    }
    // An insurance fund outside risk mode (it holds money) is refused.
    let no_risk = encode_engine_config(&EngineConfig { insurance_account: 9, ..EngineConfig::small() });
    assert_eq!(decode_engine_config(&no_risk), Err(CodecError::BadField { field: "insurance_account", value: 9 }));
    for len in [0, 3, 4, 39, 41, 47, 49] {
        let mut b = good.to_vec();
        b.resize(len, 0);
        assert!(decode_engine_config(&b).is_err(), "{len} bytes");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary engine config bytes never panic, and what decodes re-encodes canonically (a
    /// version-2 record as the version-3 record of the same config).
    #[test]
    fn engine_config_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64), v2 in any::<bool>()) {
        let mut bytes = bytes;
        if bytes.len() >= 4 {
            bytes[0..4].copy_from_slice(&(if v2 { 2u32 } else { 3 }).to_le_bytes());
        }
        if let Ok(c) = decode_engine_config(&bytes) {
            let re = encode_engine_config(&c);
            prop_assert_eq!(&re[4..36], &bytes[4..36]);
            prop_assert_eq!(decode_engine_config(&re), Ok(c));
        }
    }
}
