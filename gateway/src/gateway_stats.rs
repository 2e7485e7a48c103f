//! [`GatewayStats`]: the gateway's counters, read by the metrics and monitor threads.

use std::sync::atomic::AtomicU64;

use engine::CommandKind;

use crate::login::LoginRefusal;

/// Command types counted by the gateway (`matchd_commands_total{type=...}`).
pub const COMMAND_TYPES: [&str; 15] = [
    "new_order",
    "cancel",
    "amend",
    "mass_cancel",
    "admin",
    "new_stop_order",
    "new_advanced_order",
    "amend_trigger",
    "new_order_list",
    "set_leverage",
    "set_margin_mode",
    "adjust_isolated_margin",
    "wallet_transfer",
    "set_mark_price",
    "apply_funding",
];

/// Index into [`COMMAND_TYPES`]: admin commands (instruments, accounts, credentials, perpetuals
/// and their tiers, margin transfers) and the query count as "admin".
#[inline]
pub fn command_type_index(kind: &CommandKind) -> usize {
    match kind {
        CommandKind::NewOrder(_) => 0,
        CommandKind::Cancel(_) => 1,
        CommandKind::Amend(_) => 2,
        CommandKind::MassCancel(_) => 3,
        CommandKind::NewStopOrder(_) => 5,
        CommandKind::NewAdvancedOrder(_) => 6,
        CommandKind::AmendTrigger(_) => 7,
        CommandKind::NewOrderList(_) => 8,
        CommandKind::SetLeverage(_) => 9,
        CommandKind::SetMarginMode(_) => 10,
        CommandKind::AdjustIsolatedMargin(_) => 11,
        CommandKind::WalletTransfer(_) => 12,
        CommandKind::SetMarkPrice(_) => 13,
        CommandKind::ApplyFunding(_) => 14,
        CommandKind::AddInstrument(_)
        | CommandKind::SetInstrumentState(_)
        | CommandKind::CreateAccount(_)
        | CommandKind::Deposit(_)
        | CommandKind::Withdraw(_)
        | CommandKind::SetAccountStatus(_)
        | CommandKind::SetFeeSchedule(_)
        | CommandKind::QueryAccount(_)
        | CommandKind::SetCredential(_)
        | CommandKind::RevokeCredential(_)
        | CommandKind::StartEpoch(_)
        | CommandKind::TimeTick
        | CommandKind::AddPerpetual(_)
        | CommandKind::SetRiskTier(_)
        | CommandKind::MarginDeposit(_)
        | CommandKind::MarginWithdraw(_)
        | CommandKind::MarginDebit(_) => 4,
    }
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct GatewayStats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// `TimeTick`s journaled (an expiry was due while no command came).
    pub time_ticks: AtomicU64,
    /// Logins handed to the publisher.
    pub logins: AtomicU64,
    /// Logins refused by the gateway.
    pub login_rejects: AtomicU64,
    /// Logins refused by the gateway, by [`LoginRefusal::LABELS`].
    pub login_refusals: [AtomicU64; LoginRefusal::LABELS.len()],
    /// Connections refused because their address had `server.max_pending_logins_per_address`
    /// connections waiting to log in.
    pub prelogin_refused: AtomicU64,
    /// Connections waiting to log in closed to make room for a newer one (`server.max_pending_logins`).
    pub prelogin_evicted: AtomicU64,
    /// Connections to the internal (TLS terminator) listener without a registration, closed.
    pub internal_unregistered: AtomicU64,
    /// Connections waiting to log in now.
    pub pending_logins: AtomicU64,
    /// Commands published to the ring.
    pub commands: AtomicU64,
    /// Session-level rejects.
    pub session_rejects: AtomicU64,
    /// Times the ring was full (backpressure).
    pub ring_full: AtomicU64,
    /// Sessions currently connected.
    pub sessions: AtomicU64,
    /// Client commands by type ([`COMMAND_TYPES`]).
    pub commands_by_type: [AtomicU64; COMMAND_TYPES.len()],
    /// Mass cancels submitted for cancel-on-disconnect.
    pub cod_mass_cancels: AtomicU64,
    /// Input ring slots published so far (ring sequence + 1), internal commands included.
    pub input_published: AtomicU64,
}
