//! Perpetual futures (`docs/futures.md`; `docs/protocol.md`, "Perpetual futures"): the commands
//! (templates 150-160) and their sequenced reports (170-186). The blocks decode straight into the
//! engine's command structs; the decoder checks the enums and flags, the engine the values.
//!
//! Who may send what: `AddPerpetual`, `SetRiskTier` and the three margin transfers are admin
//! commands; `SetLeverage`, `SetMarginMode`, `AdjustIsolatedMargin` and `WalletTransfer` act on
//! the sender's own account (trader sessions); `SetMarkPrice` and `ApplyFunding` come from the
//! configured oracle account only.
//!
//! Reports go to one stream each: the event's account (the admin for `RiskTierSet`, the asker
//! for `PositionReport` and `MarginReport`), the oracle account for `MarkPriceSet` and
//! `FundingApplied` (whose engine events name no account), and both accounts for an
//! `AutoDeleveraged`, each told only its own side.

use engine::{
    AccountId, AdjustIsolatedMargin, ApplyFunding, BankruptcyCovered, Event, EventKind, FundingApplied, FundingPayment,
    InstrumentId, IsolatedMarginAdjusted, LeverageSet, Liquidation, LiquidationDone, MarginMode, MarginModeSet,
    MarginReport, MarkPriceSet, PositionChanged, PositionReport, Price, Qty, RiskTierSet, Seq, SetLeverage,
    SetMarginMode, SetMarkPrice, SetRiskTier, Side, TakenOver, Trimmed, WalletChanged, WalletTransfer,
};

use crate::error::DecodeError;
use crate::field::{bad, bool_from_u8, enum_at};
use crate::frame::{Rd, Wr};
use crate::layout;
use crate::template;

wire_enum!(
    /// Which side of an auto-deleveraging an `AutoDeleveraged` report tells its account about.
    AdlRole {
        /// This account's bankrupt position was closed against an opposite one.
        Liquidated = 1,
        /// This account's position was reduced against a bankrupt one.
        Reduced = 2,
    }
);

/// `AutoDeleveraged` (177): one account's side of an auto-deleveraging. Like a `Fill`, it never
/// names the other account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deleveraged {
    /// The account whose stream carries it.
    pub account: AccountId,
    /// The perpetual.
    pub instrument: InstrumentId,
    /// Quantity closed.
    pub qty: Qty,
    /// At the bankrupt position's bankruptcy price.
    pub price: Price,
    /// This account's side.
    pub role: AdlRole,
}

/// `PositionChanged` (181): the engine event and the journal sequence number of its command
/// (positions are coalesced per command, as balances are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionUpdate {
    /// The position (its `account` owns the stream).
    pub position: PositionChanged,
    /// Journal sequence number of the command.
    pub command_seq: Seq,
}

/// `WalletChanged` (182): the engine event and the journal sequence number of its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletUpdate {
    /// The wallet (its `account` owns the stream).
    pub wallet: WalletChanged,
    /// Journal sequence number of the command.
    pub command_seq: Seq,
}

/// `MarkPriceSet` (185): a mark price was applied, reported to the oracle account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkReport {
    /// The oracle account (owns the stream).
    pub account: AccountId,
    /// The engine event.
    pub mark: MarkPriceSet,
}

/// `FundingApplied` (186): a funding settlement finished, reported to the oracle account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundingReport {
    /// The oracle account (owns the stream).
    pub account: AccountId,
    /// The engine event.
    pub funding: FundingApplied,
}

/// Calls `f(account, report)` for every report a futures event yields, in stream order (any other
/// event yields none: the caller routes only futures events here). `oracle_account` gets the
/// `MarkPriceSet` and `FundingApplied` reports (their engine events name no account; `NO_ACCOUNT`:
/// nobody gets them).
#[inline]
pub(crate) fn futures_reports(event: &Event, oracle_account: AccountId, f: &mut impl FnMut(AccountId, &FuturesReport)) {
    let mut one = |r: FuturesReport| f(r.account(), &r);
    match event.kind {
        EventKind::RiskTierSet(e) => one(FuturesReport::RiskTierSet(e)),
        EventKind::LeverageSet(e) => one(FuturesReport::LeverageSet(e)),
        EventKind::MarginModeSet(e) => one(FuturesReport::MarginModeSet(e)),
        EventKind::IsolatedMarginAdjusted(e) => one(FuturesReport::IsolatedMarginAdjusted(e)),
        EventKind::FundingPayment(e) => one(FuturesReport::FundingPayment(e)),
        EventKind::Liquidation(e) => one(FuturesReport::Liquidation(e)),
        EventKind::TakenOver(e) => one(FuturesReport::TakenOver(e)),
        EventKind::AutoDeleveraged(e) => {
            // The bankrupt side first, as a trade's maker fill comes before its taker's.
            let side =
                |account, role| Deleveraged { account, instrument: e.instrument, qty: e.qty, price: e.price, role };
            one(FuturesReport::AutoDeleveraged(side(e.account, AdlRole::Liquidated)));
            one(FuturesReport::AutoDeleveraged(side(e.counterparty, AdlRole::Reduced)));
        }
        EventKind::LiquidationDone(e) => one(FuturesReport::LiquidationDone(e)),
        EventKind::BankruptcyCovered(e) => one(FuturesReport::BankruptcyCovered(e)),
        EventKind::Trimmed(e) => one(FuturesReport::Trimmed(e)),
        EventKind::PositionChanged(position) => {
            one(FuturesReport::PositionChanged(PositionUpdate { position, command_seq: event.seq }))
        }
        EventKind::WalletChanged(wallet) => {
            one(FuturesReport::WalletChanged(WalletUpdate { wallet, command_seq: event.seq }))
        }
        EventKind::PositionReport(e) => one(FuturesReport::PositionReport(e)),
        EventKind::MarginReport(e) => one(FuturesReport::MarginReport(e)),
        EventKind::MarkPriceSet(mark) => one(FuturesReport::MarkPriceSet(MarkReport { account: oracle_account, mark })),
        EventKind::FundingApplied(funding) => {
            one(FuturesReport::FundingApplied(FundingReport { account: oracle_account, funding }))
        }
        _ => {}
    }
}

pub(crate) fn write_risk_tier(t: &SetRiskTier, w: &mut Wr<'_>) {
    use layout::set_risk_tier::*;
    w.u64(MAX_NOTIONAL, t.max_notional);
    w.u64(MAINT_AMOUNT, t.maint_amount);
    w.u32(INSTRUMENT, t.instrument);
    w.u32(MAX_LEVERAGE, t.max_leverage);
    w.u32(MMR_PPM, t.mmr_ppm);
    w.u8(INDEX, t.index);
}

pub(crate) fn read_risk_tier(r: &Rd<'_>) -> SetRiskTier {
    use layout::set_risk_tier::*;
    SetRiskTier {
        instrument: r.u32(INSTRUMENT),
        index: r.u8(INDEX),
        max_leverage: r.u32(MAX_LEVERAGE),
        mmr_ppm: r.u32(MMR_PPM),
        max_notional: r.u64(MAX_NOTIONAL),
        maint_amount: r.u64(MAINT_AMOUNT),
    }
}

pub(crate) fn write_set_leverage(m: &SetLeverage, w: &mut Wr<'_>) {
    use layout::set_leverage::*;
    w.u32(INSTRUMENT, m.instrument);
    w.u32(LEVERAGE, m.leverage);
}

pub(crate) fn read_set_leverage(r: &Rd<'_>) -> SetLeverage {
    use layout::set_leverage::*;
    SetLeverage { instrument: r.u32(INSTRUMENT), leverage: r.u32(LEVERAGE) }
}

pub(crate) fn write_set_margin_mode(m: &SetMarginMode, w: &mut Wr<'_>) {
    use layout::set_margin_mode::*;
    w.u32(INSTRUMENT, m.instrument);
    w.u8(MODE, m.mode.as_u8());
}

pub(crate) fn read_set_margin_mode(r: &Rd<'_>) -> Result<SetMarginMode, DecodeError> {
    use layout::set_margin_mode::*;
    let mode = enum_at(r, template::SET_MARGIN_MODE, "mode", MODE, MarginMode::from_u8)?;
    Ok(SetMarginMode { instrument: r.u32(INSTRUMENT), mode })
}

pub(crate) fn write_adjust_isolated_margin(m: &AdjustIsolatedMargin, w: &mut Wr<'_>) {
    use layout::adjust_isolated_margin::*;
    w.i64(DELTA, m.delta);
    w.u32(INSTRUMENT, m.instrument);
}

pub(crate) fn read_adjust_isolated_margin(r: &Rd<'_>) -> AdjustIsolatedMargin {
    use layout::adjust_isolated_margin::*;
    AdjustIsolatedMargin { instrument: r.u32(INSTRUMENT), delta: r.i64(DELTA) }
}

pub(crate) fn write_wallet_transfer(m: &WalletTransfer, w: &mut Wr<'_>) {
    use layout::wallet_transfer::*;
    w.u64(AMOUNT, m.amount);
    w.u32(ASSET, m.asset);
    w.u8(TO_FUTURES, m.to_futures as u8);
}

pub(crate) fn read_wallet_transfer(r: &Rd<'_>) -> Result<WalletTransfer, DecodeError> {
    use layout::wallet_transfer::*;
    let to_futures = enum_at(r, template::WALLET_TRANSFER, "to_futures", TO_FUTURES, bool_from_u8)?;
    Ok(WalletTransfer { asset: r.u32(ASSET), amount: r.u64(AMOUNT), to_futures })
}

pub(crate) fn write_set_mark_price(m: &SetMarkPrice, w: &mut Wr<'_>) {
    use layout::set_mark_price::*;
    w.u64(MARK_PRICE, m.mark_price);
    w.u32(INSTRUMENT, m.instrument);
}

pub(crate) fn read_set_mark_price(r: &Rd<'_>) -> SetMarkPrice {
    use layout::set_mark_price::*;
    SetMarkPrice { instrument: r.u32(INSTRUMENT), mark_price: r.u64(MARK_PRICE) }
}

pub(crate) fn write_apply_funding(m: &ApplyFunding, w: &mut Wr<'_>) {
    use layout::apply_funding::*;
    w.u32(INSTRUMENT, m.instrument);
    w.i32(RATE_PPM, m.rate_ppm);
    w.u64(NEXT_FUNDING_TIME_NS, m.next_funding_time_ns);
}

/// A next funding time of 0 is refused here (`BadFieldValue`): the engine reads 0 as "not
/// given", which only a journal record of the release before the field may say.
pub(crate) fn read_apply_funding(r: &Rd<'_>) -> Result<ApplyFunding, DecodeError> {
    use layout::apply_funding::*;
    let next_funding_time_ns = r.u64(NEXT_FUNDING_TIME_NS);
    if next_funding_time_ns == 0 {
        return Err(bad(template::APPLY_FUNDING, "next_funding_time_ns", NEXT_FUNDING_TIME_NS, 0));
    }
    Ok(ApplyFunding { instrument: r.u32(INSTRUMENT), rate_ppm: r.i32(RATE_PPM), next_funding_time_ns })
}

/// A sequenced futures report (templates 170-186), to the account [`FuturesReport::account`]
/// names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuturesReport {
    /// `RiskTierSet` (170), to the admin.
    RiskTierSet(RiskTierSet),
    /// `LeverageSet` (171).
    LeverageSet(LeverageSet),
    /// `MarginModeSet` (172).
    MarginModeSet(MarginModeSet),
    /// `IsolatedMarginAdjusted` (173).
    IsolatedMarginAdjusted(IsolatedMarginAdjusted),
    /// `FundingPayment` (174).
    FundingPayment(FundingPayment),
    /// `Liquidation` (175).
    Liquidation(Liquidation),
    /// `TakenOver` (176).
    TakenOver(TakenOver),
    /// `AutoDeleveraged` (177), one per side.
    AutoDeleveraged(Deleveraged),
    /// `LiquidationDone` (178).
    LiquidationDone(LiquidationDone),
    /// `BankruptcyCovered` (179).
    BankruptcyCovered(BankruptcyCovered),
    /// `OrderTrimmed` (180).
    Trimmed(Trimmed),
    /// `PositionChanged` (181).
    PositionChanged(PositionUpdate),
    /// `WalletChanged` (182).
    WalletChanged(WalletUpdate),
    /// `PositionReport` (183), to the asker.
    PositionReport(PositionReport),
    /// `MarginReport` (184), to the asker.
    MarginReport(MarginReport),
    /// `MarkPriceSet` (185), to the oracle.
    MarkPriceSet(MarkReport),
    /// `FundingApplied` (186), to the oracle.
    FundingApplied(FundingReport),
}

impl FuturesReport {
    /// The account whose stream carries it.
    pub fn account(&self) -> AccountId {
        match self {
            FuturesReport::RiskTierSet(e) => e.account,
            FuturesReport::LeverageSet(e) => e.account,
            FuturesReport::MarginModeSet(e) => e.account,
            FuturesReport::IsolatedMarginAdjusted(e) => e.account,
            FuturesReport::FundingPayment(e) => e.account,
            FuturesReport::Liquidation(e) => e.account,
            FuturesReport::TakenOver(e) => e.account,
            FuturesReport::AutoDeleveraged(e) => e.account,
            FuturesReport::LiquidationDone(e) => e.account,
            FuturesReport::BankruptcyCovered(e) => e.account,
            FuturesReport::Trimmed(e) => e.account,
            FuturesReport::PositionChanged(e) => e.position.account,
            FuturesReport::WalletChanged(e) => e.wallet.account,
            FuturesReport::PositionReport(e) => e.account,
            FuturesReport::MarginReport(e) => e.account,
            FuturesReport::MarkPriceSet(e) => e.account,
            FuturesReport::FundingApplied(e) => e.account,
        }
    }

    /// Template id.
    pub fn template_id(&self) -> u16 {
        match self {
            FuturesReport::RiskTierSet(_) => template::RISK_TIER_SET,
            FuturesReport::LeverageSet(_) => template::LEVERAGE_SET,
            FuturesReport::MarginModeSet(_) => template::MARGIN_MODE_SET,
            FuturesReport::IsolatedMarginAdjusted(_) => template::ISOLATED_MARGIN_ADJUSTED,
            FuturesReport::FundingPayment(_) => template::FUNDING_PAYMENT,
            FuturesReport::Liquidation(_) => template::LIQUIDATION,
            FuturesReport::TakenOver(_) => template::TAKEN_OVER,
            FuturesReport::AutoDeleveraged(_) => template::AUTO_DELEVERAGED,
            FuturesReport::LiquidationDone(_) => template::LIQUIDATION_DONE,
            FuturesReport::BankruptcyCovered(_) => template::BANKRUPTCY_COVERED,
            FuturesReport::Trimmed(_) => template::ORDER_TRIMMED,
            FuturesReport::PositionChanged(_) => template::POSITION_CHANGED,
            FuturesReport::WalletChanged(_) => template::WALLET_CHANGED,
            FuturesReport::PositionReport(_) => template::POSITION_REPORT,
            FuturesReport::MarginReport(_) => template::MARGIN_REPORT,
            FuturesReport::MarkPriceSet(_) => template::MARK_PRICE_SET,
            FuturesReport::FundingApplied(_) => template::FUNDING_APPLIED,
        }
    }

    /// Writes the block, `(seq, account)` prefix included.
    pub(crate) fn write(&self, seq: u64, w: &mut Wr<'_>) {
        w.u64(layout::report::SEQ, seq);
        w.u32(layout::report::ACCOUNT, self.account());
        match self {
            FuturesReport::RiskTierSet(e) => {
                use layout::risk_tier_set::*;
                let t = &e.tier;
                w.u32(INSTRUMENT, t.instrument);
                w.u64(MAX_NOTIONAL, t.max_notional);
                w.u64(MAINT_AMOUNT, t.maint_amount);
                w.u32(MAX_LEVERAGE, t.max_leverage);
                w.u32(MMR_PPM, t.mmr_ppm);
                w.u8(INDEX, t.index);
            }
            FuturesReport::LeverageSet(e) => {
                use layout::leverage_set::*;
                w.u32(INSTRUMENT, e.instrument);
                w.u32(LEVERAGE, e.leverage);
            }
            FuturesReport::MarginModeSet(e) => {
                use layout::margin_mode_set::*;
                w.u32(INSTRUMENT, e.instrument);
                w.u8(MODE, e.mode.as_u8());
            }
            FuturesReport::IsolatedMarginAdjusted(e) => {
                use layout::isolated_margin_adjusted::*;
                w.u32(INSTRUMENT, e.instrument);
                w.i64(DELTA, e.delta);
                w.i64(ISOLATED_MARGIN, e.isolated_margin);
            }
            FuturesReport::FundingPayment(e) => {
                use layout::funding_payment::*;
                w.u32(INSTRUMENT, e.instrument);
                w.i64(AMOUNT, e.amount);
            }
            FuturesReport::Liquidation(e) => {
                use layout::liquidation::*;
                w.u32(INSTRUMENT, e.instrument);
                w.i64(SIZE, e.size);
                w.u64(MARK_PRICE, e.mark_price);
                w.u64(LIQ_PRICE, e.liq_price);
                w.u64(BANKRUPTCY_PRICE, e.bankruptcy_price);
            }
            FuturesReport::TakenOver(e) => {
                use layout::taken_over::*;
                w.u32(INSTRUMENT, e.instrument);
                w.u64(QTY, e.qty);
                w.u64(PRICE, e.price);
            }
            FuturesReport::AutoDeleveraged(e) => {
                use layout::auto_deleveraged::*;
                w.u32(INSTRUMENT, e.instrument);
                w.u64(QTY, e.qty);
                w.u64(PRICE, e.price);
                w.u8(ROLE, e.role.as_u8());
            }
            FuturesReport::LiquidationDone(e) => {
                use layout::liquidation_done::*;
                w.u32(INSTRUMENT, e.instrument);
                w.i64(CLEARANCE, e.clearance);
            }
            FuturesReport::BankruptcyCovered(e) => w.i64(layout::bankruptcy_covered::AMOUNT, e.amount),
            FuturesReport::Trimmed(e) => {
                use layout::order_trimmed::*;
                w.u32(INSTRUMENT, e.instrument);
                w.u64(ORDER_ID, e.order_id);
                w.u64(CLIENT_ORDER_ID, e.client_order_id);
                w.u64(LEAVES_QTY, e.leaves);
                w.u64(CUT_QTY, e.cut);
                w.u8(SIDE, e.side.as_u8());
            }
            FuturesReport::PositionChanged(e) => write_position_changed(e, w),
            FuturesReport::WalletChanged(e) => {
                use layout::wallet_changed::*;
                w.u32(ASSET, e.wallet.asset);
                w.i64(WALLET, e.wallet.wallet);
                w.u64(SPOT, e.wallet.spot);
                w.u64(COMMAND_SEQ, e.command_seq);
            }
            FuturesReport::PositionReport(e) => write_position_report(e, w),
            FuturesReport::MarginReport(e) => write_margin_report(e, w),
            FuturesReport::MarkPriceSet(e) => {
                use layout::mark_price_set::*;
                w.u32(INSTRUMENT, e.mark.instrument);
                w.u64(MARK_PRICE, e.mark.mark_price);
            }
            FuturesReport::FundingApplied(e) => write_funding_applied(e, w),
        }
    }
}

fn write_position_changed(e: &PositionUpdate, w: &mut Wr<'_>) {
    use layout::position_changed::*;
    let p = &e.position;
    w.u32(INSTRUMENT, p.instrument);
    w.i64(SIZE, p.size);
    w.i64(COST, p.cost);
    w.u64(ENTRY_PRICE, p.entry_price);
    w.i64(REALISED_PNL, p.realised_pnl);
    w.i64(ISOLATED_MARGIN, p.isolated_margin);
    w.u64(LIQ_PRICE, p.liq_price);
    w.u64(COMMAND_SEQ, e.command_seq);
}

fn write_position_report(e: &PositionReport, w: &mut Wr<'_>) {
    use layout::position_report::*;
    let p = &e.position;
    w.u32(TARGET, p.account);
    w.u32(INSTRUMENT, p.instrument);
    w.u32(LEVERAGE, e.leverage);
    w.i64(SIZE, p.size);
    w.i64(COST, p.cost);
    w.u64(ENTRY_PRICE, p.entry_price);
    w.i64(REALISED_PNL, p.realised_pnl);
    w.i64(ISOLATED_MARGIN, p.isolated_margin);
    w.u64(LIQ_PRICE, p.liq_price);
    w.u64(MARK_PRICE, e.mark_price);
    w.i64(UPNL, e.upnl);
    w.i64(MAINT_MARGIN, e.maint_margin);
    w.u8(MODE, e.mode.as_u8());
}

fn write_margin_report(e: &MarginReport, w: &mut Wr<'_>) {
    use layout::margin_report::*;
    w.u32(TARGET, e.target);
    w.u32(ASSET, e.asset);
    w.i64(WALLET, e.wallet);
    w.i64(EQUITY, e.equity);
    w.i64(AVAILABLE, e.available);
    w.i64(WITHDRAWABLE, e.withdrawable);
    w.i64(POSITION_MARGIN, e.position_margin);
    w.i64(ORDER_MARGIN, e.order_margin);
    w.i64(MAINT_MARGIN, e.maint_margin);
}

fn write_funding_applied(e: &FundingReport, w: &mut Wr<'_>) {
    use layout::funding_applied::*;
    let f = &e.funding;
    w.u32(INSTRUMENT, f.instrument);
    w.u64(MARK_PRICE, f.mark_price);
    w.u64(OPEN_INTEREST, f.open_interest);
    w.i64(PAID, f.paid);
    w.i64(RECEIVED, f.received);
    w.i64(RESIDUE, f.residue);
    w.i32(RATE_PPM, f.rate_ppm);
    w.u64(NEXT_FUNDING_TIME_NS, f.next_funding_time_ns);
}

/// Reads a futures report block whose length was checked (`None`: not a futures report
/// template).
pub(crate) fn read_report(t: u16, r: &Rd<'_>) -> Option<Result<FuturesReport, DecodeError>> {
    let account = r.u32(layout::report::ACCOUNT);
    Some(Ok(match t {
        template::RISK_TIER_SET => {
            use layout::risk_tier_set::*;
            let tier = SetRiskTier {
                instrument: r.u32(INSTRUMENT),
                index: r.u8(INDEX),
                max_leverage: r.u32(MAX_LEVERAGE),
                mmr_ppm: r.u32(MMR_PPM),
                max_notional: r.u64(MAX_NOTIONAL),
                maint_amount: r.u64(MAINT_AMOUNT),
            };
            FuturesReport::RiskTierSet(RiskTierSet { account, tier })
        }
        template::LEVERAGE_SET => {
            use layout::leverage_set::*;
            FuturesReport::LeverageSet(LeverageSet {
                account,
                instrument: r.u32(INSTRUMENT),
                leverage: r.u32(LEVERAGE),
            })
        }
        template::MARGIN_MODE_SET => {
            use layout::margin_mode_set::*;
            let mode = match enum_at(r, t, "mode", MODE, MarginMode::from_u8) {
                Ok(m) => m,
                Err(e) => return Some(Err(e)),
            };
            FuturesReport::MarginModeSet(MarginModeSet { account, instrument: r.u32(INSTRUMENT), mode })
        }
        template::ISOLATED_MARGIN_ADJUSTED => {
            use layout::isolated_margin_adjusted::*;
            FuturesReport::IsolatedMarginAdjusted(IsolatedMarginAdjusted {
                account,
                instrument: r.u32(INSTRUMENT),
                delta: r.i64(DELTA),
                isolated_margin: r.i64(ISOLATED_MARGIN),
            })
        }
        template::FUNDING_PAYMENT => {
            use layout::funding_payment::*;
            FuturesReport::FundingPayment(FundingPayment {
                account,
                instrument: r.u32(INSTRUMENT),
                amount: r.i64(AMOUNT),
            })
        }
        template::LIQUIDATION => {
            use layout::liquidation::*;
            FuturesReport::Liquidation(Liquidation {
                account,
                instrument: r.u32(INSTRUMENT),
                size: r.i64(SIZE),
                mark_price: r.u64(MARK_PRICE),
                liq_price: r.u64(LIQ_PRICE),
                bankruptcy_price: r.u64(BANKRUPTCY_PRICE),
            })
        }
        template::TAKEN_OVER => {
            use layout::taken_over::*;
            FuturesReport::TakenOver(TakenOver {
                account,
                instrument: r.u32(INSTRUMENT),
                qty: r.u64(QTY),
                price: r.u64(PRICE),
            })
        }
        template::AUTO_DELEVERAGED => return Some(read_deleveraged(account, r).map(FuturesReport::AutoDeleveraged)),
        template::LIQUIDATION_DONE => {
            use layout::liquidation_done::*;
            FuturesReport::LiquidationDone(LiquidationDone {
                account,
                instrument: r.u32(INSTRUMENT),
                clearance: r.i64(CLEARANCE),
            })
        }
        template::BANKRUPTCY_COVERED => FuturesReport::BankruptcyCovered(BankruptcyCovered {
            account,
            amount: r.i64(layout::bankruptcy_covered::AMOUNT),
        }),
        template::ORDER_TRIMMED => return Some(read_trimmed(account, r).map(FuturesReport::Trimmed)),
        template::POSITION_CHANGED => FuturesReport::PositionChanged(read_position_changed(account, r)),
        template::WALLET_CHANGED => {
            use layout::wallet_changed::*;
            let wallet = WalletChanged { account, asset: r.u32(ASSET), wallet: r.i64(WALLET), spot: r.u64(SPOT) };
            FuturesReport::WalletChanged(WalletUpdate { wallet, command_seq: r.u64(COMMAND_SEQ) })
        }
        template::POSITION_REPORT => return Some(read_position_report(account, r).map(FuturesReport::PositionReport)),
        template::MARGIN_REPORT => FuturesReport::MarginReport(read_margin_report(account, r)),
        template::MARK_PRICE_SET => {
            use layout::mark_price_set::*;
            let mark = MarkPriceSet { instrument: r.u32(INSTRUMENT), mark_price: r.u64(MARK_PRICE) };
            FuturesReport::MarkPriceSet(MarkReport { account, mark })
        }
        template::FUNDING_APPLIED => FuturesReport::FundingApplied(read_funding_applied(account, r)),
        _ => return None,
    }))
}

fn read_deleveraged(account: AccountId, r: &Rd<'_>) -> Result<Deleveraged, DecodeError> {
    use layout::auto_deleveraged::*;
    let role = enum_at(r, template::AUTO_DELEVERAGED, "role", ROLE, AdlRole::from_u8)?;
    Ok(Deleveraged { account, instrument: r.u32(INSTRUMENT), qty: r.u64(QTY), price: r.u64(PRICE), role })
}

fn read_trimmed(account: AccountId, r: &Rd<'_>) -> Result<Trimmed, DecodeError> {
    use layout::order_trimmed::*;
    Ok(Trimmed {
        account,
        order_id: r.u64(ORDER_ID),
        client_order_id: r.u64(CLIENT_ORDER_ID),
        instrument: r.u32(INSTRUMENT),
        side: enum_at(r, template::ORDER_TRIMMED, "side", SIDE, Side::from_u8)?,
        leaves: r.u64(LEAVES_QTY),
        cut: r.u64(CUT_QTY),
    })
}

fn read_position_changed(account: AccountId, r: &Rd<'_>) -> PositionUpdate {
    use layout::position_changed::*;
    PositionUpdate {
        position: PositionChanged {
            account,
            instrument: r.u32(INSTRUMENT),
            size: r.i64(SIZE),
            cost: r.i64(COST),
            entry_price: r.u64(ENTRY_PRICE),
            realised_pnl: r.i64(REALISED_PNL),
            isolated_margin: r.i64(ISOLATED_MARGIN),
            liq_price: r.u64(LIQ_PRICE),
        },
        command_seq: r.u64(COMMAND_SEQ),
    }
}

fn read_position_report(account: AccountId, r: &Rd<'_>) -> Result<PositionReport, DecodeError> {
    use layout::position_report::*;
    Ok(PositionReport {
        account,
        position: PositionChanged {
            account: r.u32(TARGET),
            instrument: r.u32(INSTRUMENT),
            size: r.i64(SIZE),
            cost: r.i64(COST),
            entry_price: r.u64(ENTRY_PRICE),
            realised_pnl: r.i64(REALISED_PNL),
            isolated_margin: r.i64(ISOLATED_MARGIN),
            liq_price: r.u64(LIQ_PRICE),
        },
        mark_price: r.u64(MARK_PRICE),
        upnl: r.i64(UPNL),
        maint_margin: r.i64(MAINT_MARGIN),
        leverage: r.u32(LEVERAGE),
        mode: enum_at(r, template::POSITION_REPORT, "mode", MODE, MarginMode::from_u8)?,
    })
}

fn read_margin_report(account: AccountId, r: &Rd<'_>) -> MarginReport {
    use layout::margin_report::*;
    MarginReport {
        account,
        target: r.u32(TARGET),
        asset: r.u32(ASSET),
        wallet: r.i64(WALLET),
        equity: r.i64(EQUITY),
        available: r.i64(AVAILABLE),
        withdrawable: r.i64(WITHDRAWABLE),
        position_margin: r.i64(POSITION_MARGIN),
        order_margin: r.i64(ORDER_MARGIN),
        maint_margin: r.i64(MAINT_MARGIN),
    }
}

fn read_funding_applied(account: AccountId, r: &Rd<'_>) -> FundingReport {
    use layout::funding_applied::*;
    FundingReport {
        account,
        funding: FundingApplied {
            instrument: r.u32(INSTRUMENT),
            rate_ppm: r.i32(RATE_PPM),
            mark_price: r.u64(MARK_PRICE),
            open_interest: r.u64(OPEN_INTEREST),
            paid: r.i64(PAID),
            received: r.i64(RECEIVED),
            residue: r.i64(RESIDUE),
            // Absent (0) in a block that ends before it: reads beyond the block give zeros.
            next_funding_time_ns: r.u64(NEXT_FUNDING_TIME_NS),
        },
    }
}

/// Block length of a futures report template, `None` if `template_id` is not one.
pub(crate) fn report_block_len(template_id: u16) -> Option<usize> {
    use layout::*;
    Some(match template_id {
        template::RISK_TIER_SET => risk_tier_set::BLOCK_LEN,
        template::LEVERAGE_SET => leverage_set::BLOCK_LEN,
        template::MARGIN_MODE_SET => margin_mode_set::BLOCK_LEN,
        template::ISOLATED_MARGIN_ADJUSTED => isolated_margin_adjusted::BLOCK_LEN,
        template::FUNDING_PAYMENT => funding_payment::BLOCK_LEN,
        template::LIQUIDATION => liquidation::BLOCK_LEN,
        template::TAKEN_OVER => taken_over::BLOCK_LEN,
        template::AUTO_DELEVERAGED => auto_deleveraged::BLOCK_LEN,
        template::LIQUIDATION_DONE => liquidation_done::BLOCK_LEN,
        template::BANKRUPTCY_COVERED => bankruptcy_covered::BLOCK_LEN,
        template::ORDER_TRIMMED => order_trimmed::BLOCK_LEN,
        template::POSITION_CHANGED => position_changed::BLOCK_LEN,
        template::WALLET_CHANGED => wallet_changed::BLOCK_LEN,
        template::POSITION_REPORT => position_report::BLOCK_LEN,
        template::MARGIN_REPORT => margin_report::BLOCK_LEN,
        template::MARK_PRICE_SET => mark_price_set::BLOCK_LEN,
        template::FUNDING_APPLIED => funding_applied::BLOCK_LEN,
        _ => return None,
    })
}

// Every futures report shares the (seq, account) prefix.
const _: () = {
    use layout::*;
    macro_rules! prefix {
        ($($m:ident),*) => { $(assert!($m::SEQ == report::SEQ && $m::ACCOUNT == report::ACCOUNT);)* };
    }
    prefix!(
        risk_tier_set,
        leverage_set,
        margin_mode_set,
        isolated_margin_adjusted,
        funding_payment,
        liquidation,
        taken_over,
        auto_deleveraged,
        liquidation_done,
        bankruptcy_covered,
        order_trimmed,
        position_changed,
        wallet_changed,
        position_report,
        margin_report,
        mark_price_set,
        funding_applied
    );
};
