//! The perpetual-futures examples of docs/protocol.md ("Perpetual futures"), in the numbers of
//! docs/futures.md: BTC-PERP (instrument 3) with prices in USDT cents, quantities in 0.001 BTC
//! (`qty_scale` 1000, lot 1), tick 10, band 5 %, and Binance's BTCUSDT brackets.

use engine::*;
use protocol::*;

/// The trader of the examples (as in the rest of docs/protocol.md).
const ACCOUNT: u32 = 7;
/// The oracle account of the examples.
pub const ORACLE: u32 = 9;
/// The next funding time the examples' funding announces: 2026-01-01T08:00:00Z in ns.
pub const NEXT_FUNDING_TIME_NS: u64 = 1_767_254_400_000_000_000;

pub fn btc_perp() -> InstrumentSpec {
    engine::examples::btc_perp_spec(3)
}

/// Binance's second BTCUSDT bracket (docs/futures.md, section 2).
fn tier_1() -> SetRiskTier {
    SetRiskTier {
        instrument: 3,
        index: 1,
        max_leverage: 100,
        mmr_ppm: 5_000,
        max_notional: 25_000_000,
        maint_amount: 5_000,
    }
}

fn perp_order(client_order_id: u64, order_type: OrderType, tif: TimeInForce, price: u64, qty: u64) -> NewOrder {
    NewOrder {
        client_order_id,
        instrument: 3,
        side: Side::Sell,
        order_type,
        tif,
        stp: StpMode::CancelTaker,
        price,
        qty,
    }
}

pub fn client_examples() -> Vec<(&'static str, ClientMessage)> {
    let transfer = |amount, tx_id| Transfer { target: ACCOUNT, asset: 1, amount, tx_id };
    vec![
        ("AddPerpetual", ClientMessage::AddPerpetual(btc_perp())),
        ("SetRiskTier", ClientMessage::SetRiskTier(tier_1())),
        ("MarginDeposit", ClientMessage::MarginDeposit(transfer(1_000_000, 9101))),
        ("MarginWithdraw", ClientMessage::MarginWithdraw(transfer(938_700, 9102))),
        ("MarginDebit", ClientMessage::MarginDebit(transfer(50_000, 9103))),
        ("SetLeverage", ClientMessage::SetLeverage(SetLeverage { instrument: 3, leverage: 10 })),
        ("SetMarginMode", ClientMessage::SetMarginMode(SetMarginMode { instrument: 3, mode: MarginMode::Isolated })),
        (
            "AdjustIsolatedMargin",
            ClientMessage::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument: 3, delta: -5_000 }),
        ),
        (
            "WalletTransfer",
            ClientMessage::WalletTransfer(WalletTransfer { asset: 1, amount: 938_700, to_futures: false }),
        ),
        ("SetMarkPrice", ClientMessage::SetMarkPrice(SetMarkPrice { instrument: 3, mark_price: 5_726_630 })),
        (
            "ApplyFunding",
            ClientMessage::ApplyFunding(ApplyFunding {
                instrument: 3,
                rate_ppm: 100,
                next_funding_time_ns: NEXT_FUNDING_TIME_NS,
            }),
        ),
        (
            "NewAdvancedOrder (reduce-only)",
            ClientMessage::NewAdvancedOrder(AdvancedOrder {
                reduce_only: true,
                ..AdvancedOrder::plain(perp_order(1030, OrderType::Limit, TimeInForce::Gtc, 6_100_000, 80))
            }),
        ),
        (
            "NewAdvancedOrder (close position)",
            ClientMessage::NewAdvancedOrder(AdvancedOrder {
                close_position: true,
                ..AdvancedOrder::plain(perp_order(1031, OrderType::Market, TimeInForce::Ioc, 0, 0))
            }),
        ),
        (
            "NewAdvancedOrder (mark-price stop-loss)",
            ClientMessage::NewAdvancedOrder(AdvancedOrder {
                trigger: Some((5_800_000, TriggerKind::StopLoss)),
                close_position: true,
                trigger_source: TriggerSource::MarkPrice,
                ..AdvancedOrder::plain(perp_order(1032, OrderType::Market, TimeInForce::Ioc, 0, 0))
            }),
        ),
    ]
}

fn report(seq: u64, r: FuturesReport) -> ServerMessage {
    ServerMessage::Report { seq, report: ExecReport::Futures(r) }
}

/// Example 3's position (docs/futures.md): long 87 at a basis of 522,290 after a reduce; its
/// wallet is 1,000,000 deposited, minus fees 300, 112 and 153, plus 4,832 realised.
fn position() -> PositionChanged {
    PositionChanged {
        account: ACCOUNT,
        instrument: 3,
        size: 87,
        cost: 522_290,
        entry_price: 6_003_334,
        realised_pnl: 4_832,
        isolated_margin: 0,
        liq_price: 0,
    }
}

pub fn server_examples() -> Vec<(&'static str, ServerMessage)> {
    let deleveraged =
        Deleveraged { account: ACCOUNT, instrument: 3, qty: 400, price: 5_703_000, role: AdlRole::Liquidated };
    vec![
        (
            "InstrumentAdded (perpetual)",
            ServerMessage::Report {
                seq: 5,
                report: ExecReport::InstrumentAdded(InstrumentAdded { account: 0, spec: btc_perp(), perpetual: true }),
            },
        ),
        ("RiskTierSet", report(6, FuturesReport::RiskTierSet(RiskTierSet { account: 0, tier: tier_1() }))),
        (
            "LeverageSet",
            report(60, FuturesReport::LeverageSet(LeverageSet { account: ACCOUNT, instrument: 3, leverage: 10 })),
        ),
        (
            "MarginModeSet",
            report(
                61,
                FuturesReport::MarginModeSet(MarginModeSet {
                    account: ACCOUNT,
                    instrument: 3,
                    mode: MarginMode::Isolated,
                }),
            ),
        ),
        (
            "IsolatedMarginAdjusted",
            report(
                62,
                FuturesReport::IsolatedMarginAdjusted(IsolatedMarginAdjusted {
                    account: ACCOUNT,
                    instrument: 3,
                    delta: -5_000,
                    isolated_margin: 292_000,
                }),
            ),
        ),
        (
            "FundingPayment",
            report(63, FuturesReport::FundingPayment(FundingPayment { account: ACCOUNT, instrument: 3, amount: -83 })),
        ),
        (
            "Liquidation",
            report(
                64,
                FuturesReport::Liquidation(Liquidation {
                    account: ACCOUNT,
                    instrument: 3,
                    size: 1_000,
                    mark_price: 5_726_630,
                    liq_price: 5_726_634,
                    bankruptcy_price: 5_703_000,
                }),
            ),
        ),
        (
            "Fill (liquidation)",
            ServerMessage::Report {
                seq: 65,
                report: ExecReport::Fill(Fill {
                    account: ACCOUNT,
                    order_id: 0,
                    client_order_id: 0,
                    trade_id: 41,
                    instrument: 3,
                    side: Side::Sell,
                    price: 5_710_000,
                    qty: 600,
                    leaves_qty: 400,
                    liquidity: Liquidity::Taker,
                    timestamp_ns: super::TS + 2_000,
                    fee: 0,
                    liquidation: true,
                }),
            },
        ),
        (
            "TakenOver",
            report(
                66,
                FuturesReport::TakenOver(TakenOver { account: ACCOUNT, instrument: 3, qty: 200, price: 5_703_000 }),
            ),
        ),
        ("AutoDeleveraged", report(67, FuturesReport::AutoDeleveraged(deleveraged))),
        (
            "LiquidationDone",
            report(
                68,
                FuturesReport::LiquidationDone(LiquidationDone { account: ACCOUNT, instrument: 3, clearance: 4_600 }),
            ),
        ),
        (
            "BankruptcyCovered",
            report(69, FuturesReport::BankruptcyCovered(BankruptcyCovered { account: ACCOUNT, amount: 5_850 })),
        ),
        (
            "OrderTrimmed",
            report(
                70,
                FuturesReport::Trimmed(Trimmed {
                    account: ACCOUNT,
                    order_id: 92,
                    client_order_id: 1030,
                    instrument: 3,
                    side: Side::Sell,
                    leaves: 30,
                    cut: 50,
                }),
            ),
        ),
        (
            "OrderArmed (mark price)",
            ServerMessage::Report {
                seq: 58,
                report: ExecReport::Armed(Armed {
                    account: ACCOUNT,
                    order_id: 93,
                    client_order_id: 1032,
                    instrument: 3,
                    side: Side::Sell,
                    order_type: OrderType::Market,
                    tif: TimeInForce::Ioc,
                    trigger: TriggerKind::StopLoss,
                    price: 0,
                    qty: 87,
                    trigger_price: 5_800_000,
                    trigger_source: TriggerSource::MarkPrice,
                    timestamp_ns: super::TS,
                }),
            },
        ),
        (
            "OrderTriggered (mark price)",
            ServerMessage::Report {
                seq: 59,
                report: ExecReport::Triggered(Triggered {
                    account: ACCOUNT,
                    order_id: 93,
                    client_order_id: 1032,
                    instrument: 3,
                    side: Side::Sell,
                    order_type: OrderType::Market,
                    price: 0,
                    qty: 87,
                    trigger_price: 5_800_000,
                    last_price: 5_795_000,
                    trigger_source: TriggerSource::MarkPrice,
                    timestamp_ns: super::TS + 1_000,
                }),
            },
        ),
        (
            "PositionChanged",
            report(71, FuturesReport::PositionChanged(PositionUpdate { position: position(), command_seq: 1310 })),
        ),
        (
            "WalletChanged",
            report(
                72,
                FuturesReport::WalletChanged(WalletUpdate {
                    wallet: WalletChanged { account: ACCOUNT, asset: 1, wallet: 1_004_267, spot: 0 },
                    command_seq: 1310,
                }),
            ),
        ),
        (
            "PositionReport",
            report(
                73,
                FuturesReport::PositionReport(PositionReport {
                    account: ACCOUNT,
                    position: position(),
                    mark_price: 6_100_000,
                    upnl: 8_410,
                    maint_margin: 2_123,
                    leverage: 10,
                    mode: MarginMode::Cross,
                }),
            ),
        ),
        (
            "MarginReport",
            report(
                74,
                FuturesReport::MarginReport(MarginReport {
                    account: ACCOUNT,
                    target: ACCOUNT,
                    asset: 1,
                    wallet: 1_004_267,
                    equity: 1_012_677,
                    available: 959_607,
                    withdrawable: 951_197,
                    position_margin: 53_070,
                    order_margin: 0,
                    maint_margin: 2_123,
                }),
            ),
        ),
        (
            "TransferApplied (MarginDeposit)",
            ServerMessage::Report {
                seq: 7,
                report: ExecReport::TransferApplied(TransferApplied {
                    account: 0,
                    command: CommandType::MarginDeposit,
                    target: ACCOUNT,
                    asset: 1,
                    amount: 1_000_000,
                    tx_id: 9101,
                    available: 0,
                }),
            },
        ),
        (
            "MarkPriceSet",
            report(
                3,
                FuturesReport::MarkPriceSet(MarkReport {
                    account: ORACLE,
                    mark: MarkPriceSet { instrument: 3, mark_price: 5_726_630 },
                }),
            ),
        ),
        (
            "FundingApplied",
            report(
                4,
                FuturesReport::FundingApplied(FundingReport {
                    account: ORACLE,
                    funding: FundingApplied {
                        instrument: 3,
                        rate_ppm: 100,
                        mark_price: 6_050_000,
                        open_interest: 137,
                        paid: 83,
                        received: 82,
                        residue: 1,
                        next_funding_time_ns: NEXT_FUNDING_TIME_NS,
                    },
                }),
            ),
        ),
    ]
}

pub fn md_examples() -> Vec<(&'static str, MdServerMessage)> {
    vec![
        (
            "MdInstrument (perpetual, added)",
            MdServerMessage::Instrument(MdInstrument {
                seq: 1,
                order_seq: 0,
                kind: MdInstrumentKind::Added,
                state: InstrumentState::Halted,
                spec: btc_perp(),
                perpetual: true,
            }),
        ),
        ("MdMarkPrice", MdServerMessage::MarkPrice(MdMarkPrice { seq: 501, instrument: 3, mark_price: 5_726_630 })),
        (
            "MdFunding",
            MdServerMessage::Funding(MdFunding {
                seq: 502,
                instrument: 3,
                rate_ppm: 100,
                mark_price: 6_050_000,
                open_interest: 137,
                next_funding_time_ns: NEXT_FUNDING_TIME_NS,
            }),
        ),
        (
            "MdTrade (liquidation)",
            MdServerMessage::Trade(MdTrade {
                seq: 503,
                instrument: 3,
                trade_id: 41,
                price: 5_710_000,
                qty: 600,
                aggressor: Side::Sell,
                timestamp_ns: super::TS + 2_000,
                liquidation: true,
            }),
        ),
        (
            "MdOpenInterest",
            MdServerMessage::OpenInterest(MdOpenInterest { seq: 504, instrument: 3, open_interest: 737 }),
        ),
        (
            "MdSnapshotEnd (perpetual)",
            MdServerMessage::SnapshotEnd(MdSnapshotEnd {
                seq: 504,
                order_seq: 212,
                feed_epoch: super::TS,
                instrument: 3,
                state: InstrumentState::Trading,
                truncated: false,
                orders_included: false,
                bid_levels: 1,
                ask_levels: 1,
                orders: 0,
                mark_price: 5_726_630,
                open_interest: 737,
                funding_rate_ppm: 100,
                next_funding_time_ns: NEXT_FUNDING_TIME_NS,
            }),
        ),
    ]
}
