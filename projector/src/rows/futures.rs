//! The futures side's rows of one batch (schema version 4): current-state tables keyed like their
//! primary key (a row changed many times in one batch is written once, in its last state), history
//! tables as vectors in journal order.

use std::collections::HashMap;

use super::Big;
use crate::schema::Group;

/// `risk_tiers`: one tier (appended, never changed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct RiskTierRow {
    pub instrument_id: i32,
    pub tier: i16,
    pub max_notional: Big,
    pub max_leverage: i32,
    pub mmr_ppm: i32,
    pub maint_amount: Big,
    pub set_seq: Big,
}

/// `perpetuals`: a perpetual's mark and open interest after the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PerpetualRow {
    pub instrument_id: i32,
    pub mark_price: Big,
    pub open_interest: Big,
    pub updated_seq: Big,
    pub updated_ts_ns: Big,
}

/// `positions`: a position record after the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PositionRow {
    pub account_id: i32,
    pub instrument_id: i32,
    pub size: Big,
    pub cost: Big,
    pub entry_price: Big,
    pub realised_pnl: Big,
    pub isolated_margin: Big,
    pub liq_price: Big,
    pub leverage: i32,
    pub margin_mode: &'static str,
    pub updated_seq: Big,
    pub updated_ts_ns: Big,
}

/// `futures_wallets`: a futures wallet after the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct WalletRow {
    pub account_id: i32,
    pub asset_id: i32,
    pub wallet: Big,
    pub updated_seq: Big,
    pub updated_ts_ns: Big,
}

/// `position_history`: one `PositionChanged`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PositionHistoryRow {
    pub account_id: i32,
    pub instrument_id: i32,
    pub seq: Big,
    pub size: Big,
    pub cost: Big,
    pub entry_price: Big,
    pub realised_pnl: Big,
    pub isolated_margin: Big,
    pub liq_price: Big,
    pub ts_ns: Big,
}

/// `futures_ledger`: one `WalletChanged`, its delta split into what the command's events itemise.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct FuturesLedgerRow {
    pub account_id: i32,
    pub asset_id: i32,
    pub seq: Big,
    pub reason: &'static str,
    pub wallet_delta: Big,
    pub wallet: Big,
    pub realised_pnl: Big,
    pub fee: Big,
    pub funding: Big,
    pub transfer: Big,
    pub isolated_margin: Big,
    pub insurance: Big,
    pub other: Big,
    pub ts_ns: Big,
}

/// `funding`: one `FundingApplied`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct FundingRow {
    pub instrument_id: i32,
    pub seq: Big,
    pub rate_ppm: i32,
    pub mark_price: Big,
    pub open_interest: Big,
    pub paid: Big,
    pub received: Big,
    pub residue: Big,
    pub next_funding_time_ns: Big,
    pub ts_ns: Big,
}

/// `funding_payments`: one `FundingPayment`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct FundingPaymentRow {
    pub account_id: i32,
    pub instrument_id: i32,
    pub seq: Big,
    pub amount: Big,
    pub ts_ns: Big,
}

/// `liquidations`: one `Liquidation`, with the quantities and clearance the events after it give.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LiquidationRow {
    pub account_id: i32,
    pub seq: Big,
    pub idx: i32,
    pub instrument_id: i32,
    pub size: Big,
    pub mark_price: Big,
    pub liq_price: Big,
    pub bankruptcy_price: Big,
    pub book_qty: Big,
    pub taken_over_qty: Big,
    pub adl_qty: Big,
    pub clearance: Big,
    pub ts_ns: Big,
}

/// `auto_deleveraging`: one `AutoDeleveraged`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct AdlRow {
    pub account_id: i32,
    pub seq: Big,
    pub idx: i32,
    pub liquidated_account_id: i32,
    pub instrument_id: i32,
    pub qty: Big,
    pub price: Big,
    pub ts_ns: Big,
}

/// `mark_prices`: one `MarkPriceSet`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct MarkPriceRow {
    pub instrument_id: i32,
    pub seq: Big,
    pub mark_price: Big,
    pub ts_ns: Big,
}

/// The futures tables' rows of one batch.
#[derive(Debug, Default)]
#[allow(missing_docs)]
pub struct FuturesRows {
    pub risk_tiers: Vec<RiskTierRow>,
    pub perpetuals: HashMap<i32, PerpetualRow>,
    pub positions: HashMap<(i32, i32), PositionRow>,
    pub wallets: HashMap<(i32, i32), WalletRow>,
    pub position_history: Vec<PositionHistoryRow>,
    pub ledger: Vec<FuturesLedgerRow>,
    pub funding: Vec<FundingRow>,
    pub funding_payments: Vec<FundingPaymentRow>,
    pub liquidations: Vec<LiquidationRow>,
    pub adl: Vec<AdlRow>,
    pub mark_prices: Vec<MarkPriceRow>,
}

impl FuturesRows {
    /// Rows written into `group`'s tables.
    pub fn rows_of(&self, group: Group) -> usize {
        match group {
            Group::State => self.risk_tiers.len() + self.perpetuals.len() + self.positions.len() + self.wallets.len(),
            Group::History => {
                self.position_history.len()
                    + self.ledger.len()
                    + self.funding.len()
                    + self.funding_payments.len()
                    + self.liquidations.len()
                    + self.adl.len()
                    + self.mark_prices.len()
            }
        }
    }

    /// Drops `group`'s rows.
    pub fn clear(&mut self, group: Group) {
        match group {
            Group::State => {
                self.risk_tiers.clear();
                self.perpetuals.clear();
                self.positions.clear();
                self.wallets.clear();
            }
            Group::History => {
                self.position_history.clear();
                self.ledger.clear();
                self.funding.clear();
                self.funding_payments.clear();
                self.liquidations.clear();
                self.adl.clear();
                self.mark_prices.clear();
            }
        }
    }
}
