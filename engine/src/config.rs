//! Capacities of the engine. Everything is bounded and pre-sized at
//! construction so that steady-state commands never allocate.

/// Engine capacities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Resting orders across all books (order slots are pre-allocated).
    pub max_orders: u32,
    /// Instrument ids must be below this.
    pub max_instruments: u32,
    /// Account ids must be below this.
    pub max_accounts: u32,
    /// Resting orders one account may have across all instruments.
    pub max_open_orders_per_account: u32,
    /// Risk mode: accounts must be created, orders must be funded, trades
    /// settle balances and charge fees. Off: matching only (any account id
    /// below `max_accounts` trades, no balances).
    pub risk_checks: bool,
    /// Asset ids must be below this (risk mode; balances are a dense table per account).
    pub max_assets: u32,
    /// The account fees are paid into (risk mode); created with the engine.
    pub fee_account: u32,
    /// Deposit/withdrawal transaction ids remembered for duplicate detection (oldest forgotten first).
    pub max_transactions: u32,
    /// Perpetuals (risk mode): the insurance fund's account, created with the engine. It takes
    /// over what liquidations leave and collects their clearances ([`NO_ACCOUNT`]: no
    /// perpetuals can be added).
    pub insurance_account: u32,
    /// Perpetuals: the only account that may send mark prices and funding ([`NO_ACCOUNT`]: none).
    pub oracle_account: u32,
}

/// An [`EngineConfig`] account setting that names no account.
pub const NO_ACCOUNT: u32 = u32::MAX;

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_orders: 1 << 20,
            max_instruments: 1 << 14,
            max_accounts: 1 << 16,
            max_open_orders_per_account: 10_000,
            risk_checks: false,
            max_assets: 64,
            fee_account: 0,
            max_transactions: 1 << 20,
            insurance_account: NO_ACCOUNT,
            oracle_account: NO_ACCOUNT,
        }
    }
}

impl EngineConfig {
    /// A small engine for tests.
    pub fn small() -> Self {
        Self {
            max_orders: 4096,
            max_instruments: 64,
            max_accounts: 64,
            max_open_orders_per_account: 1000,
            risk_checks: false,
            max_assets: 16,
            fee_account: 0,
            max_transactions: 4096,
            insurance_account: NO_ACCOUNT,
            oracle_account: NO_ACCOUNT,
        }
    }
}
