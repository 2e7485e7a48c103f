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
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_orders: 1 << 20,
            max_instruments: 1 << 14,
            max_accounts: 1 << 16,
            max_open_orders_per_account: 10_000,
        }
    }
}

impl EngineConfig {
    /// A small engine for tests.
    pub fn small() -> Self {
        Self { max_orders: 4096, max_instruments: 64, max_accounts: 64, max_open_orders_per_account: 1000 }
    }
}
