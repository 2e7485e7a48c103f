//! Field offsets of the perpetual-futures blocks (`docs/protocol.md`, "Perpetual futures"):
//! commands 150-160, reports 170-186, market data 125-127. Checked at compile time like every
//! other layout.

use super::tiles;

layout!(
    /// `SetRiskTier` (template 151).
    set_risk_tier = 32 {
        /// `u64` upper bound of the tier's position notional, quote minor units.
        MAX_NOTIONAL: 0, 8;
        /// `u64` maintenance amount (Binance's `cum`), quote minor units.
        MAINT_AMOUNT: 8, 8;
        /// `u32` the perpetual.
        INSTRUMENT: 16, 4;
        /// `u32` highest leverage in the tier.
        MAX_LEVERAGE: 20, 4;
        /// `u32` maintenance margin rate, ppm.
        MMR_PPM: 24, 4;
        /// `u8` the tier's index (the number of tiers so far).
        INDEX: 28, 1;
        /// Reserved (zero).
        RESERVED: 29, 3;
    }
);

layout!(
    /// `SetLeverage` (template 155).
    set_leverage = 8 {
        /// `u32` the perpetual.
        INSTRUMENT: 0, 4;
        /// `u32` leverage, whole multiples.
        LEVERAGE: 4, 4;
    }
);

layout!(
    /// `SetMarginMode` (template 156).
    set_margin_mode = 8 {
        /// `u32` the perpetual.
        INSTRUMENT: 0, 4;
        /// `u8` 1 = cross, 2 = isolated.
        MODE: 4, 1;
        /// Reserved (zero).
        RESERVED: 5, 3;
    }
);

layout!(
    /// `AdjustIsolatedMargin` (template 157).
    adjust_isolated_margin = 16 {
        /// `i64` quote minor units: > 0 into the position, < 0 out of it.
        DELTA: 0, 8;
        /// `u32` the perpetual.
        INSTRUMENT: 8, 4;
        /// Reserved (zero).
        RESERVED: 12, 4;
    }
);

layout!(
    /// `WalletTransfer` (template 158).
    wallet_transfer = 16 {
        /// `u64` amount, minor units of the asset.
        AMOUNT: 0, 8;
        /// `u32` the margin asset.
        ASSET: 8, 4;
        /// `u8` 1 = spot to futures, 0 = futures to spot.
        TO_FUTURES: 12, 1;
        /// Reserved (zero).
        RESERVED: 13, 3;
    }
);

layout!(
    /// `SetMarkPrice` (template 159).
    set_mark_price = 16 {
        /// `u64` the new mark price.
        MARK_PRICE: 0, 8;
        /// `u32` the perpetual.
        INSTRUMENT: 8, 4;
        /// Reserved (zero).
        RESERVED: 12, 4;
    }
);

layout!(
    /// `ApplyFunding` (template 160).
    apply_funding = 16 {
        /// `u32` the perpetual.
        INSTRUMENT: 0, 4;
        /// `i32` funding rate, ppm: > 0 longs pay shorts.
        RATE_PPM: 4, 4;
        /// `u64` the next funding time, ns since the Unix epoch (0 is refused).
        NEXT_FUNDING_TIME_NS: 8, 8;
    }
);

layout!(
    /// `RiskTierSet` (template 170).
    risk_tier_set = 48 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` admin account that sent the command.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `u64` max notional.
        MAX_NOTIONAL: 16, 8;
        /// `u64` maintenance amount.
        MAINT_AMOUNT: 24, 8;
        /// `u32` max leverage.
        MAX_LEVERAGE: 32, 4;
        /// `u32` maintenance margin rate, ppm.
        MMR_PPM: 36, 4;
        /// `u8` tier index.
        INDEX: 40, 1;
        /// Reserved (zero).
        RESERVED: 41, 7;
    }
);

layout!(
    /// `LeverageSet` (template 171).
    leverage_set = 24 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `u32` the new leverage.
        LEVERAGE: 16, 4;
        /// Reserved (zero).
        RESERVED: 20, 4;
    }
);

layout!(
    /// `MarginModeSet` (template 172).
    margin_mode_set = 24 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `u8` the new mode.
        MODE: 16, 1;
        /// Reserved (zero).
        RESERVED: 17, 7;
    }
);

layout!(
    /// `IsolatedMarginAdjusted` (template 173).
    isolated_margin_adjusted = 32 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `i64` as sent.
        DELTA: 16, 8;
        /// `i64` the position's isolated margin after it.
        ISOLATED_MARGIN: 24, 8;
    }
);

layout!(
    /// `FundingPayment` (template 174).
    funding_payment = 24 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `i64` > 0 received, < 0 paid.
        AMOUNT: 16, 8;
    }
);

layout!(
    /// `Liquidation` (template 175).
    liquidation = 48 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the liquidated account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `i64` the position's signed size.
        SIZE: 16, 8;
        /// `u64` the mark when it was liquidated.
        MARK_PRICE: 24, 8;
        /// `u64` its liquidation price (0: none).
        LIQ_PRICE: 32, 8;
        /// `u64` its bankruptcy price.
        BANKRUPTCY_PRICE: 40, 8;
    }
);

layout!(
    /// `TakenOver` (template 176).
    taken_over = 32 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the liquidated account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `u64` quantity the insurance fund took over.
        QTY: 16, 8;
        /// `u64` at the bankruptcy price.
        PRICE: 24, 8;
    }
);

layout!(
    /// `AutoDeleveraged` (template 177).
    auto_deleveraged = 40 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `u64` quantity.
        QTY: 16, 8;
        /// `u64` at the bankrupt position's bankruptcy price.
        PRICE: 24, 8;
        /// `u8` 1 = this account's bankrupt position was closed, 2 = this account's position was
        /// reduced against a bankrupt one.
        ROLE: 32, 1;
        /// Reserved (zero).
        RESERVED: 33, 7;
    }
);

layout!(
    /// `LiquidationDone` (template 178).
    liquidation_done = 24 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the liquidated account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual (cross: the one whose position stood for the account).
        INSTRUMENT: 12, 4;
        /// `i64` what was left of its margin, to the insurance fund.
        CLEARANCE: 16, 8;
    }
);

layout!(
    /// `BankruptcyCovered` (template 179).
    bankruptcy_covered = 24 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// Reserved (zero).
        RESERVED: 12, 4;
        /// `i64` what the insurance fund paid.
        AMOUNT: 16, 8;
    }
);

layout!(
    /// `OrderTrimmed` (template 180).
    order_trimmed = 56 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` owner.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` client order id.
        CLIENT_ORDER_ID: 24, 8;
        /// `u64` open quantity after the cut.
        LEAVES_QTY: 32, 8;
        /// `u64` quantity cut.
        CUT_QTY: 40, 8;
        /// `u8` side.
        SIDE: 48, 1;
        /// Reserved (zero).
        RESERVED: 49, 7;
    }
);

layout!(
    /// `PositionChanged` (template 181).
    position_changed = 72 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `i64` signed size.
        SIZE: 16, 8;
        /// `i64` cost basis.
        COST: 24, 8;
        /// `u64` entry price.
        ENTRY_PRICE: 32, 8;
        /// `i64` realised PnL, cumulative.
        REALISED_PNL: 40, 8;
        /// `i64` isolated margin.
        ISOLATED_MARGIN: 48, 8;
        /// `u64` liquidation price (0: none).
        LIQ_PRICE: 56, 8;
        /// `u64` journal sequence number of the command that changed it.
        COMMAND_SEQ: 64, 8;
    }
);

layout!(
    /// `WalletChanged` (template 182).
    wallet_changed = 40 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` the margin asset.
        ASSET: 12, 4;
        /// `i64` the futures wallet.
        WALLET: 16, 8;
        /// `u64` the spot balance of the asset (available).
        SPOT: 24, 8;
        /// `u64` journal sequence number of the command that changed it.
        COMMAND_SEQ: 32, 8;
    }
);

layout!(
    /// `PositionReport` (template 183).
    position_report = 104 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the account that asked.
        ACCOUNT: 8, 4;
        /// `u32` the position's owner (the account asked about).
        TARGET: 12, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 16, 4;
        /// `u32` leverage in force.
        LEVERAGE: 20, 4;
        /// `i64` signed size.
        SIZE: 24, 8;
        /// `i64` cost basis.
        COST: 32, 8;
        /// `u64` entry price.
        ENTRY_PRICE: 40, 8;
        /// `i64` realised PnL.
        REALISED_PNL: 48, 8;
        /// `i64` isolated margin.
        ISOLATED_MARGIN: 56, 8;
        /// `u64` liquidation price (0: none).
        LIQ_PRICE: 64, 8;
        /// `u64` the current mark.
        MARK_PRICE: 72, 8;
        /// `i64` unrealised PnL at the mark, rounded down.
        UPNL: 80, 8;
        /// `i64` maintenance margin at the mark, rounded up.
        MAINT_MARGIN: 88, 8;
        /// `u8` margin mode.
        MODE: 96, 1;
        /// Reserved (zero).
        RESERVED: 97, 7;
    }
);

layout!(
    /// `MarginReport` (template 184).
    margin_report = 80 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the account that asked.
        ACCOUNT: 8, 4;
        /// `u32` the account asked about.
        TARGET: 12, 4;
        /// `u32` the margin asset.
        ASSET: 16, 4;
        /// Reserved (zero).
        RESERVED: 20, 4;
        /// `i64` futures wallet.
        WALLET: 24, 8;
        /// `i64` cross equity.
        EQUITY: 32, 8;
        /// `i64` available for new orders.
        AVAILABLE: 40, 8;
        /// `i64` withdrawable.
        WITHDRAWABLE: 48, 8;
        /// `i64` initial margin of the cross positions.
        POSITION_MARGIN: 56, 8;
        /// `i64` order margin.
        ORDER_MARGIN: 64, 8;
        /// `i64` maintenance margin of the cross positions.
        MAINT_MARGIN: 72, 8;
    }
);

layout!(
    /// `MarkPriceSet` (template 185).
    mark_price_set = 24 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the oracle account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `u64` the new mark.
        MARK_PRICE: 16, 8;
    }
);

layout!(
    /// `FundingApplied` (template 186).
    funding_applied = 72 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the oracle account.
        ACCOUNT: 8, 4;
        /// `u32` the perpetual.
        INSTRUMENT: 12, 4;
        /// `u64` the mark it was applied at.
        MARK_PRICE: 16, 8;
        /// `u64` open interest: the sum of the long positions' sizes.
        OPEN_INTEREST: 24, 8;
        /// `i64` what the payers paid.
        PAID: 32, 8;
        /// `i64` what the receivers received.
        RECEIVED: 40, 8;
        /// `i64` `paid - received`, to the insurance fund.
        RESIDUE: 48, 8;
        /// `i32` the rate applied, ppm.
        RATE_PPM: 56, 4;
        /// Reserved (zero).
        RESERVED: 60, 4;
        /// `u64` the next funding time, ns since the Unix epoch (appended: absent, 0, in a
        /// 64-byte block of a server before it; 0 also for a funding journaled without one).
        NEXT_FUNDING_TIME_NS: 64, 8;
    }
);

layout!(
    /// `MdMarkPrice` (template 125).
    md_mark_price = 24 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the perpetual.
        INSTRUMENT: 8, 4;
        /// Reserved (zero).
        RESERVED: 12, 4;
        /// `u64` the new mark.
        MARK_PRICE: 16, 8;
    }
);

layout!(
    /// `MdFunding` (template 126).
    md_funding = 40 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the perpetual.
        INSTRUMENT: 8, 4;
        /// `i32` the rate applied, ppm.
        RATE_PPM: 12, 4;
        /// `u64` the mark it was applied at.
        MARK_PRICE: 16, 8;
        /// `u64` open interest.
        OPEN_INTEREST: 24, 8;
        /// `u64` the next funding time, ns since the Unix epoch (appended: absent, 0, in a
        /// 32-byte block of a server before it; 0 also for a funding journaled without one).
        NEXT_FUNDING_TIME_NS: 32, 8;
    }
);

layout!(
    /// `MdOpenInterest` (template 127).
    md_open_interest = 24 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the perpetual.
        INSTRUMENT: 8, 4;
        /// Reserved (zero).
        RESERVED: 12, 4;
        /// `u64` open interest: the sum of the long positions' sizes.
        OPEN_INTEREST: 16, 8;
    }
);
