//! proptest strategies for every protocol message (shared by the protocol_* tests).
#![allow(dead_code)]

use engine::*;
use proptest::prelude::*;
use protocol::execution::command_type_from_u8;
use protocol::*;

pub fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}
pub fn order_type() -> impl Strategy<Value = OrderType> {
    prop_oneof![Just(OrderType::Limit), Just(OrderType::Market)]
}
pub fn tif() -> impl Strategy<Value = TimeInForce> {
    (1u8..=4).prop_map(|b| TimeInForce::from_u8(b).unwrap())
}
pub fn stp() -> impl Strategy<Value = StpMode> {
    (0u8..=3).prop_map(|b| StpMode::from_u8(b).unwrap())
}
pub fn state() -> impl Strategy<Value = InstrumentState> {
    (1u8..=4).prop_map(|b| InstrumentState::from_u8(b).unwrap())
}
pub fn order_ref() -> impl Strategy<Value = OrderRef> {
    prop_oneof![any::<u64>().prop_map(OrderRef::Engine), any::<u64>().prop_map(OrderRef::Client)]
}
pub fn reject_reason() -> impl Strategy<Value = RejectReason> {
    proptest::sample::select(RejectReason::ALL.to_vec())
}
pub fn command_type() -> impl Strategy<Value = CommandType> {
    (1u8..=29).prop_map(|b| command_type_from_u8(b).unwrap())
}
pub fn account_status() -> impl Strategy<Value = AccountStatus> {
    (1u8..=2).prop_map(|b| AccountStatus::from_u8(b).unwrap())
}
pub fn balance_reason() -> impl Strategy<Value = BalanceReason> {
    (1u8..=6).prop_map(|b| BalanceReason::from_u8(b).unwrap())
}
pub fn transfer() -> impl Strategy<Value = Transfer> {
    (any::<u32>(), any::<u32>(), any::<u64>(), any::<u64>()).prop_map(|(target, asset, amount, tx_id)| Transfer {
        target,
        asset,
        amount,
        tx_id,
    })
}
pub fn fee_schedule() -> impl Strategy<Value = SetFeeSchedule> {
    (any::<u32>(), any::<u8>(), any::<i32>(), any::<i32>())
        .prop_map(|(instrument, tier, maker_ppm, taker_ppm)| SetFeeSchedule { instrument, tier, maker_ppm, taker_ppm })
}
pub fn order_view() -> impl Strategy<Value = OrderView> {
    (
        (any::<u64>(), any::<u64>(), any::<u32>(), any::<u32>()),
        (side(), any::<u64>(), any::<u64>(), any::<u64>(), tif(), stp()),
    )
        .prop_map(|((order_id, client_order_id, account, instrument), (side, price, qty, leaves, tif, stp))| {
            OrderView { order_id, client_order_id, account, instrument, side, price, qty, leaves, tif, stp }
        })
}
pub fn cancel_reason() -> impl Strategy<Value = CancelReason> {
    (1u8..=12).prop_map(|b| CancelReason::from_u8(b).unwrap())
}
fn sel<T: Copy + core::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all.to_vec())
}

pub fn spec() -> impl Strategy<Value = InstrumentSpec> {
    (
        (any::<u32>(), any::<[u8; 16]>(), any::<u32>(), any::<u32>()),
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
        (any::<u64>(), any::<u32>(), any::<u64>(), any::<u64>()),
    )
        .prop_map(
            |(
                (id, symbol, base_asset, quote_asset),
                (tick, lot, min_qty, max_qty),
                (min_notional, price_band_bps, reference_price, qty_scale),
            )| InstrumentSpec {
                id,
                symbol,
                base_asset,
                quote_asset,
                tick,
                lot,
                min_qty,
                max_qty,
                min_notional,
                price_band_bps,
                reference_price,
                qty_scale,
            },
        )
}

pub fn login() -> impl Strategy<Value = Login> {
    (any::<u32>(), any::<[u8; 32]>(), any::<u64>(), any::<u32>(), sel(Role::ALL), sel(CancelOnDisconnect::ALL))
        .prop_map(|(account, credential, last_seen_seq, heartbeat_interval_ms, role, cancel_on_disconnect)| Login {
            account,
            credential,
            last_seen_seq,
            heartbeat_interval_ms,
            role,
            cancel_on_disconnect,
        })
}

pub fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        login().prop_map(ClientMessage::Login),
        Just(ClientMessage::Heartbeat),
        sel(LogoutReason::ALL).prop_map(|reason| ClientMessage::Logout(Logout { reason })),
        (any::<u64>(), any::<u32>(), side(), order_type(), tif(), stp(), any::<u64>(), any::<u64>()).prop_map(
            |(client_order_id, instrument, side, order_type, tif, stp, price, qty)| {
                ClientMessage::NewOrder(NewOrder {
                    client_order_id,
                    instrument,
                    side,
                    order_type,
                    tif,
                    stp,
                    price,
                    qty,
                })
            }
        ),
        order_ref().prop_map(|order| ClientMessage::Cancel(Cancel { order })),
        (order_ref(), any::<Option<u64>>(), any::<Option<u64>>())
            .prop_map(|(order, new_qty, new_price)| ClientMessage::Amend(Amend { order, new_qty, new_price })),
        (any::<Option<u32>>(), proptest::option::of(side()))
            .prop_map(|(instrument, side)| ClientMessage::MassCancel(MassCancel { instrument, side })),
        spec().prop_map(ClientMessage::AddInstrument),
        (any::<u32>(), state()).prop_map(|(instrument, state)| ClientMessage::SetInstrumentState(SetInstrumentState {
            instrument,
            state
        })),
        (any::<u32>(), any::<u8>(), account_status())
            .prop_map(|(target, tier, status)| ClientMessage::CreateAccount(CreateAccount { target, tier, status })),
        transfer().prop_map(ClientMessage::Deposit),
        transfer().prop_map(ClientMessage::Withdraw),
        (any::<u32>(), account_status(), any::<u8>()).prop_map(|(target, status, tier)| {
            ClientMessage::SetAccountStatus(SetAccountStatus { target, status, tier })
        }),
        fee_schedule().prop_map(ClientMessage::SetFeeSchedule),
        any::<u32>().prop_map(|target| ClientMessage::QueryAccount(QueryAccount { target })),
        (any::<u32>(), any::<[u8; 16]>(), any::<[u8; 32]>())
            .prop_map(|(target, salt, hash)| ClientMessage::SetCredential(SetCredential { target, salt, hash })),
        any::<u32>().prop_map(|target| ClientMessage::RevokeCredential(RevokeCredential { target })),
        (any::<u32>(), any::<bool>()).prop_map(|(heartbeat_interval_ms, order_by_order)| {
            ClientMessage::MdSubscribe(MdSubscribe { heartbeat_interval_ms, order_by_order })
        }),
        (any::<u32>(), any::<u32>(), any::<bool>()).prop_map(|(instrument, depth, orders)| {
            ClientMessage::MdSnapshotRequest(MdSnapshotRequest { instrument, depth, orders })
        }),
        futures_client_message(),
    ]
}

pub fn margin_mode() -> impl Strategy<Value = MarginMode> {
    prop_oneof![Just(MarginMode::Cross), Just(MarginMode::Isolated)]
}

pub fn risk_tier() -> impl Strategy<Value = SetRiskTier> {
    (any::<u32>(), any::<u8>(), any::<u32>(), any::<u32>(), any::<u64>(), any::<u64>()).prop_map(
        |(instrument, index, max_leverage, mmr_ppm, max_notional, maint_amount)| SetRiskTier {
            instrument,
            index,
            max_leverage,
            mmr_ppm,
            max_notional,
            maint_amount,
        },
    )
}

/// The perpetual-futures commands (templates 150-160) and an advanced order with its flags and
/// trigger source.
pub fn futures_client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        spec().prop_map(ClientMessage::AddPerpetual),
        risk_tier().prop_map(ClientMessage::SetRiskTier),
        transfer().prop_map(ClientMessage::MarginDeposit),
        transfer().prop_map(ClientMessage::MarginWithdraw),
        transfer().prop_map(ClientMessage::MarginDebit),
        (any::<u32>(), any::<u32>())
            .prop_map(|(instrument, leverage)| ClientMessage::SetLeverage(SetLeverage { instrument, leverage })),
        (any::<u32>(), margin_mode())
            .prop_map(|(instrument, mode)| ClientMessage::SetMarginMode(SetMarginMode { instrument, mode })),
        (any::<u32>(), any::<i64>()).prop_map(|(instrument, delta)| {
            ClientMessage::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument, delta })
        }),
        (any::<u32>(), any::<u64>(), any::<bool>()).prop_map(|(asset, amount, to_futures)| {
            ClientMessage::WalletTransfer(WalletTransfer { asset, amount, to_futures })
        }),
        (any::<u32>(), any::<u64>())
            .prop_map(|(instrument, mark_price)| ClientMessage::SetMarkPrice(SetMarkPrice { instrument, mark_price })),
        // The protocol refuses a next funding time of 0 (`BadFieldValue`): a valid message has one.
        (any::<u32>(), any::<i32>(), 1u64..).prop_map(|(instrument, rate_ppm, next_funding_time_ns)| {
            ClientMessage::ApplyFunding(ApplyFunding { instrument, rate_ppm, next_funding_time_ns })
        }),
        (
            (any::<u64>(), any::<u32>(), side(), order_type(), tif(), stp(), any::<u64>()),
            (any::<bool>(), any::<bool>(), proptest::option::of(1..u64::MAX), any::<bool>())
        )
            .prop_map(
                |(
                    (client_order_id, instrument, side, order_type, tif, stp, qty),
                    (reduce_only, close_position, trigger_price, mark),
                )| {
                    let order = NewOrder { client_order_id, instrument, side, order_type, tif, stp, price: 0, qty };
                    ClientMessage::NewAdvancedOrder(AdvancedOrder {
                        reduce_only,
                        close_position,
                        trigger: trigger_price.map(|p| (p, TriggerKind::StopLoss)),
                        trigger_source: if mark { TriggerSource::MarkPrice } else { TriggerSource::LastPrice },
                        ..AdvancedOrder::plain(order)
                    })
                }
            ),
    ]
}

fn md_level() -> impl Strategy<Value = MdLevel> {
    (any::<u64>(), any::<u32>(), side(), any::<u64>(), any::<u64>(), any::<u32>()).prop_map(
        |(seq, instrument, side, price, qty, order_count)| MdLevel { seq, instrument, side, price, qty, order_count },
    )
}

/// Every server → subscriber message.
pub fn md_server_message() -> impl Strategy<Value = MdServerMessage> {
    prop_oneof![
        Just(MdServerMessage::Heartbeat),
        sel(LogoutReason::ALL).prop_map(|reason| MdServerMessage::Logout(Logout { reason })),
        (any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>()).prop_map(
            |(
                feed_epoch,
                heartbeat_interval_ms,
                heartbeat_timeout_ms,
                snapshot_depth_max,
                instruments,
                order_by_order,
            )| {
                MdServerMessage::SubscribeAccepted(MdSubscribeAccepted {
                    feed_epoch,
                    heartbeat_interval_ms,
                    heartbeat_timeout_ms,
                    snapshot_depth_max,
                    instruments,
                    order_by_order,
                })
            }
        ),
        sel(MdRejectReason::ALL).prop_map(|reason| MdServerMessage::SubscribeRejected(MdSubscribeRejected { reason })),
        (any::<u64>(), any::<u64>(), sel(MdInstrumentKind::ALL), state(), spec(), any::<bool>()).prop_map(
            |(seq, order_seq, kind, state, spec, perpetual)| MdServerMessage::Instrument(MdInstrument {
                seq,
                order_seq,
                kind,
                state,
                spec,
                perpetual
            })
        ),
        (any::<u64>(), any::<u32>(), state()).prop_map(|(seq, instrument, state)| {
            MdServerMessage::InstrumentState(MdInstrumentState { seq, instrument, state })
        }),
        (any::<u64>(), any::<u32>(), any::<u64>(), any::<u64>(), any::<u64>(), side(), any::<u64>()).prop_map(
            |(seq, instrument, trade_id, price, qty, aggressor, timestamp_ns)| MdServerMessage::Trade(MdTrade {
                seq,
                instrument,
                trade_id,
                price,
                qty,
                aggressor,
                timestamp_ns,
                liquidation: seq % 2 == 0,
            })
        ),
        (any::<u64>(), any::<u32>(), any::<u64>()).prop_map(|(seq, instrument, mark_price)| {
            MdServerMessage::MarkPrice(MdMarkPrice { seq, instrument, mark_price })
        }),
        (any::<u64>(), any::<u32>(), any::<i32>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(seq, instrument, rate_ppm, mark_price, open_interest, next_funding_time_ns)| {
                MdServerMessage::Funding(MdFunding {
                    seq,
                    instrument,
                    rate_ppm,
                    mark_price,
                    open_interest,
                    next_funding_time_ns,
                })
            }
        ),
        (any::<u64>(), any::<u32>(), any::<u64>()).prop_map(|(seq, instrument, open_interest)| {
            MdServerMessage::OpenInterest(MdOpenInterest { seq, instrument, open_interest })
        }),
        md_level().prop_map(MdServerMessage::Level),
        md_level().prop_map(MdServerMessage::SnapshotLevel),
        (any::<u64>(), any::<u32>(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(seq, instrument, bid_price, bid_qty, ask_price, ask_qty)| MdServerMessage::TopOfBook(MdTopOfBook {
                seq,
                instrument,
                bid_price,
                bid_qty,
                ask_price,
                ask_qty
            })
        ),
        (any::<u64>(), any::<u32>(), side(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(seq, instrument, side, order_id, price, qty)| MdServerMessage::SnapshotOrder(MdSnapshotOrder {
                seq,
                instrument,
                side,
                order_id,
                price,
                qty
            })
        ),
        (
            (any::<u64>(), any::<u64>(), any::<u64>(), any::<u32>(), state()),
            (any::<bool>(), any::<bool>(), any::<u32>(), any::<u32>(), any::<u32>()),
            (any::<u64>(), any::<u64>(), any::<i32>(), any::<u64>())
        )
            .prop_map(
                |(
                    (seq, order_seq, feed_epoch, instrument, state),
                    (truncated, orders_included, bid_levels, ask_levels, orders),
                    (mark_price, open_interest, funding_rate_ppm, next_funding_time_ns),
                )| MdServerMessage::SnapshotEnd(MdSnapshotEnd {
                    seq,
                    order_seq,
                    feed_epoch,
                    instrument,
                    state,
                    truncated,
                    orders_included,
                    bid_levels,
                    ask_levels,
                    orders,
                    mark_price,
                    open_interest,
                    funding_rate_ppm,
                    next_funding_time_ns
                })
            ),
        (any::<u32>(), sel(MdSnapshotRejectReason::ALL)).prop_map(|(instrument, reason)| {
            MdServerMessage::SnapshotRejected(MdSnapshotRejected { instrument, reason })
        }),
        (any::<u64>(), any::<u32>(), side(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(order_seq, instrument, side, order_id, price, qty)| MdServerMessage::OrderAdded(MdOrderAdded {
                order_seq,
                instrument,
                side,
                order_id,
                price,
                qty
            })
        ),
        (any::<u64>(), any::<u32>(), side(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(order_seq, instrument, side, order_id, trade_id, qty, leaves)| {
                MdServerMessage::OrderExecuted(MdOrderExecuted {
                    order_seq,
                    instrument,
                    side,
                    order_id,
                    trade_id,
                    qty,
                    leaves,
                })
            }
        ),
        (any::<u64>(), any::<u32>(), side(), any::<u64>(), any::<u64>(), sel(MdDeleteReason::ALL)).prop_map(
            |(order_seq, instrument, side, order_id, qty, reason)| MdServerMessage::OrderDeleted(MdOrderDeleted {
                order_seq,
                instrument,
                side,
                order_id,
                qty,
                reason
            })
        ),
        (any::<u64>(), any::<u32>(), side(), any::<u64>(), any::<u64>(), any::<u64>(), any::<bool>()).prop_map(
            |(order_seq, instrument, side, order_id, price, qty, kept_priority)| {
                MdServerMessage::OrderModified(MdOrderModified {
                    order_seq,
                    instrument,
                    side,
                    order_id,
                    price,
                    qty,
                    kept_priority,
                })
            }
        ),
    ]
}

pub fn exec_report() -> impl Strategy<Value = ExecReport> {
    prop_oneof![
        (
            (any::<u32>(), any::<u64>(), any::<u64>(), any::<u32>()),
            (side(), order_type(), tif()),
            (any::<u64>(), any::<u64>(), any::<u64>())
        )
            .prop_map(
                |(
                    (account, order_id, client_order_id, instrument),
                    (side, order_type, tif),
                    (price, qty, timestamp_ns),
                )| ExecReport::Accepted(Accepted {
                    account,
                    order_id,
                    client_order_id,
                    instrument,
                    side,
                    order_type,
                    tif,
                    price,
                    qty,
                    timestamp_ns
                })
            ),
        (any::<u32>(), command_type(), any::<u64>(), any::<u64>(), any::<u32>(), reject_reason()).prop_map(
            |(account, command, client_order_id, order_id, instrument, reason)| ExecReport::Rejected(Rejected {
                account,
                command,
                client_order_id,
                order_id,
                instrument,
                reason
            })
        ),
        (
            (any::<u32>(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u32>()),
            (side(), any::<u64>(), any::<u64>(), any::<u64>(), sel(Liquidity::ALL), any::<u64>()),
            any::<i64>()
        )
            .prop_map(
                |(
                    (account, order_id, client_order_id, trade_id, instrument),
                    (side, price, qty, leaves_qty, liquidity, timestamp_ns),
                    fee,
                )| ExecReport::Fill(Fill {
                    account,
                    order_id,
                    client_order_id,
                    trade_id,
                    instrument,
                    side,
                    price,
                    qty,
                    leaves_qty,
                    liquidity,
                    timestamp_ns,
                    fee,
                    liquidation: trade_id % 2 == 0,
                })
            ),
        (
            (any::<u32>(), any::<u64>(), any::<u64>(), any::<u32>()),
            (side(), any::<u64>(), any::<u64>(), cancel_reason())
        )
            .prop_map(
                |((account, order_id, client_order_id, instrument), (side, cancelled_qty, filled_qty, reason))| {
                    ExecReport::Cancelled(Cancelled {
                        account,
                        order_id,
                        client_order_id,
                        instrument,
                        side,
                        cancelled_qty,
                        filled_qty,
                        reason,
                    })
                }
            ),
        (
            (any::<u32>(), any::<u64>(), any::<u64>(), any::<u32>()),
            (side(), any::<u64>(), any::<u64>(), any::<u64>(), any::<bool>())
        )
            .prop_map(
                |((account, order_id, client_order_id, instrument), (side, price, qty, leaves, kept_priority))| {
                    ExecReport::Amended(Amended {
                        account,
                        order_id,
                        client_order_id,
                        instrument,
                        side,
                        price,
                        qty,
                        leaves,
                        kept_priority,
                    })
                }
            ),
        (any::<u32>(), any::<u32>(), any::<u64>(), any::<u64>(), stp(), any::<u64>()).prop_map(
            |(account, instrument, maker_order_id, taker_order_id, mode, qty)| {
                ExecReport::SelfTradePrevented(SelfTradePrevented {
                    account,
                    instrument,
                    maker_order_id,
                    taker_order_id,
                    mode,
                    qty,
                })
            }
        ),
        (any::<u32>(), any::<u32>())
            .prop_map(|(account, count)| ExecReport::MassCancelled(MassCancelled { account, count })),
        (any::<u32>(), spec(), any::<bool>()).prop_map(|(account, spec, perpetual)| {
            ExecReport::InstrumentAdded(InstrumentAdded { account, spec, perpetual })
        }),
        (any::<u32>(), any::<u32>(), state()).prop_map(|(account, instrument, state)| {
            ExecReport::InstrumentStateChanged(InstrumentStateChanged { account, instrument, state })
        }),
        account_report(),
        futures_report().prop_map(ExecReport::Futures),
    ]
}

pub fn position(account: AccountId) -> impl Strategy<Value = PositionChanged> {
    ((any::<u32>(), any::<i64>(), any::<i64>()), (any::<u64>(), any::<i64>(), any::<i64>(), any::<u64>())).prop_map(
        move |((instrument, size, cost), (entry_price, realised_pnl, isolated_margin, liq_price))| PositionChanged {
            account,
            instrument,
            size,
            cost,
            entry_price,
            realised_pnl,
            isolated_margin,
            liq_price,
        },
    )
}

/// The futures reports (templates 170-186).
pub fn futures_report() -> impl Strategy<Value = FuturesReport> {
    let a = any::<u32>;
    let i = any::<i64>;
    prop_oneof![
        (a(), risk_tier()).prop_map(|(account, tier)| FuturesReport::RiskTierSet(RiskTierSet { account, tier })),
        (a(), a(), a()).prop_map(|(account, instrument, leverage)| {
            FuturesReport::LeverageSet(LeverageSet { account, instrument, leverage })
        }),
        (a(), a(), margin_mode()).prop_map(|(account, instrument, mode)| FuturesReport::MarginModeSet(MarginModeSet {
            account,
            instrument,
            mode
        })),
        (a(), a(), i(), i()).prop_map(|(account, instrument, delta, isolated_margin)| {
            FuturesReport::IsolatedMarginAdjusted(IsolatedMarginAdjusted {
                account,
                instrument,
                delta,
                isolated_margin,
            })
        }),
        (a(), a(), i()).prop_map(|(account, instrument, amount)| {
            FuturesReport::FundingPayment(FundingPayment { account, instrument, amount })
        }),
        (a(), a(), i(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(account, instrument, size, mark_price, liq_price, bankruptcy_price)| {
                FuturesReport::Liquidation(Liquidation {
                    account,
                    instrument,
                    size,
                    mark_price,
                    liq_price,
                    bankruptcy_price,
                })
            }
        ),
        (a(), a(), any::<u64>(), any::<u64>()).prop_map(|(account, instrument, qty, price)| {
            FuturesReport::TakenOver(TakenOver { account, instrument, qty, price })
        }),
        (a(), a(), any::<u64>(), any::<u64>(), sel(AdlRole::ALL)).prop_map(
            |(account, instrument, qty, price, role)| {
                FuturesReport::AutoDeleveraged(Deleveraged { account, instrument, qty, price, role })
            }
        ),
        (a(), a(), i()).prop_map(|(account, instrument, clearance)| {
            FuturesReport::LiquidationDone(LiquidationDone { account, instrument, clearance })
        }),
        (a(), i())
            .prop_map(|(account, amount)| FuturesReport::BankruptcyCovered(BankruptcyCovered { account, amount })),
        ((a(), any::<u64>(), any::<u64>(), a()), (side(), any::<u64>(), any::<u64>())).prop_map(
            |((account, order_id, client_order_id, instrument), (side, leaves, cut))| {
                FuturesReport::Trimmed(Trimmed { account, order_id, client_order_id, instrument, side, leaves, cut })
            }
        ),
        (a().prop_flat_map(position), any::<u64>()).prop_map(|(position, command_seq)| {
            FuturesReport::PositionChanged(PositionUpdate { position, command_seq })
        }),
        ((a(), a(), i(), any::<u64>()), any::<u64>()).prop_map(|((account, asset, wallet, spot), command_seq)| {
            FuturesReport::WalletChanged(WalletUpdate {
                wallet: WalletChanged { account, asset, wallet, spot },
                command_seq,
            })
        }),
        ((a(), a().prop_flat_map(position)), (any::<u64>(), i(), i(), a(), margin_mode())).prop_map(
            |((account, position), (mark_price, upnl, maint_margin, leverage, mode))| {
                FuturesReport::PositionReport(PositionReport {
                    account,
                    position,
                    mark_price,
                    upnl,
                    maint_margin,
                    leverage,
                    mode,
                })
            }
        ),
        ((a(), a(), a()), (i(), i(), i(), i()), (i(), i(), i())).prop_map(
            |(
                (account, target, asset),
                (wallet, equity, available, withdrawable),
                (position_margin, order_margin, maint_margin),
            )| {
                FuturesReport::MarginReport(MarginReport {
                    account,
                    target,
                    asset,
                    wallet,
                    equity,
                    available,
                    withdrawable,
                    position_margin,
                    order_margin,
                    maint_margin,
                })
            }
        ),
        (a(), a(), any::<u64>()).prop_map(|(account, instrument, mark_price)| {
            FuturesReport::MarkPriceSet(MarkReport { account, mark: MarkPriceSet { instrument, mark_price } })
        }),
        ((a(), a(), any::<i32>(), any::<u64>()), (any::<u64>(), any::<u64>(), i(), i(), i())).prop_map(
            |(
                (account, instrument, rate_ppm, next_funding_time_ns),
                (mark_price, open_interest, paid, received, residue),
            )| {
                let funding = FundingApplied {
                    instrument,
                    rate_ppm,
                    mark_price,
                    open_interest,
                    paid,
                    received,
                    residue,
                    next_funding_time_ns,
                };
                FuturesReport::FundingApplied(FundingReport { account, funding })
            }
        ),
    ]
}

/// The account reports (templates 90-96).
pub fn account_report() -> impl Strategy<Value = ExecReport> {
    prop_oneof![
        ((any::<u32>(), any::<u32>(), any::<u64>(), any::<u64>()), balance_reason(), any::<u64>()).prop_map(
            |((account, asset, available, reserved), reason, command_seq)| {
                ExecReport::BalanceChanged(BalanceUpdate {
                    change: BalanceChanged { account, asset, available, reserved, reason },
                    command_seq,
                })
            }
        ),
        (any::<u32>(), command_type(), any::<u32>(), account_status(), any::<u8>()).prop_map(
            |(account, command, target, status, tier)| {
                ExecReport::AccountUpdated(AccountUpdated { account, command, target, status, tier })
            }
        ),
        (any::<u32>(), command_type(), transfer(), any::<u64>()).prop_map(|(account, command, t, available)| {
            ExecReport::TransferApplied(TransferApplied {
                account,
                command,
                target: t.target,
                asset: t.asset,
                amount: t.amount,
                tx_id: t.tx_id,
                available,
            })
        }),
        (any::<u32>(), fee_schedule())
            .prop_map(|(account, schedule)| ExecReport::FeeScheduleSet(FeeScheduleSet { account, schedule })),
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u64>(), any::<u64>()).prop_map(
            |(account, target, asset, available, reserved)| {
                ExecReport::AccountBalance(AccountBalance { account, target, asset, available, reserved })
            }
        ),
        (any::<u32>(), order_view()).prop_map(|(account, order)| ExecReport::OpenOrder(OpenOrder { account, order })),
        ((any::<u32>(), any::<u32>(), account_status(), any::<u8>()), (any::<u32>(), any::<u32>(), any::<u64>()))
            .prop_map(|((account, target, status, tier), (balances, orders, command_seq))| {
                ExecReport::QueryDone(QueryComplete {
                    done: QueryDone { account, target, status, tier, balances, orders },
                    command_seq,
                })
            }),
        (any::<u32>(), any::<bool>(), any::<u32>(), any::<u64>()).prop_map(|(account, set, target, fingerprint)| {
            let command = if set { CommandType::SetCredential } else { CommandType::RevokeCredential };
            ExecReport::CredentialChanged(CredentialReport { account, command, target, fingerprint })
        }),
    ]
}

pub fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (any::<u32>(), any::<u64>(), any::<u64>(), any::<u32>(), any::<u32>(), sel(Role::ALL), any::<bool>()).prop_map(
            |(
                account,
                next_seq,
                highest_seq,
                heartbeat_interval_ms,
                heartbeat_timeout_ms,
                role,
                cancel_on_disconnect,
            )| {
                ServerMessage::LoginAccepted(LoginAccepted {
                    account,
                    next_seq,
                    highest_seq,
                    heartbeat_interval_ms,
                    heartbeat_timeout_ms,
                    role,
                    cancel_on_disconnect,
                })
            }
        ),
        (any::<u32>(), sel(LoginRejectReason::ALL), any::<u64>(), any::<u64>(), any::<Option<(u32, u16)>>()).prop_map(
            |(account, reason, highest_seq, oldest_available_seq, leader)| {
                ServerMessage::LoginRejected(LoginRejected {
                    account,
                    reason,
                    highest_seq,
                    oldest_available_seq,
                    // Port 0 reads as "not known".
                    leader: leader.map(|(ip, port)| std::net::SocketAddr::from((ip.to_be_bytes(), port.max(1)))),
                })
            }
        ),
        Just(ServerMessage::Heartbeat),
        sel(LogoutReason::ALL).prop_map(|reason| ServerMessage::Logout(Logout { reason })),
        (any::<u16>(), sel(SessionRejectReason::ALL), proptest::option::of(0u16..0xFFFF), any::<u64>()).prop_map(
            |(ref_template_id, reason, field_offset, client_order_id)| ServerMessage::SessionReject(SessionReject {
                ref_template_id,
                reason,
                field_offset,
                client_order_id
            })
        ),
        (any::<u64>(), exec_report()).prop_map(|(seq, report)| ServerMessage::Report { seq, report }),
    ]
}

/// Encodes a client message into a fresh vector.
pub fn enc_client(m: &ClientMessage) -> Vec<u8> {
    let mut buf = vec![0u8; DEFAULT_MAX_MESSAGE_LEN];
    let n = m.encode(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Encodes a server message into a fresh vector.
pub fn enc_server(m: &ServerMessage) -> Vec<u8> {
    let mut buf = vec![0u8; DEFAULT_MAX_MESSAGE_LEN];
    let n = m.encode(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Rewrites a message's length prefix and block length after its block was resized.
pub fn fix_lengths(msg: &mut [u8]) {
    let len = (msg.len() - 2) as u16;
    msg[0..2].copy_from_slice(&len.to_le_bytes());
    msg[2..4].copy_from_slice(&(len - 8).to_le_bytes());
}

pub fn client_from(bytes: &[u8]) -> Result<ClientMessage, DecodeError> {
    let (frame, n) = decode_frame(bytes).unwrap().unwrap();
    assert_eq!(n, bytes.len());
    ClientMessage::decode_frame(&frame)
}

pub fn server_from(bytes: &[u8]) -> Result<ServerMessage, DecodeError> {
    let (frame, n) = decode_frame(bytes).unwrap().unwrap();
    assert_eq!(n, bytes.len());
    ServerMessage::decode_frame(&frame)
}
