//! An account's futures side: its futures wallet in the margin asset and its positions, one
//! per perpetual it has touched (docs/futures.md, section 3).

use crate::position::Position;
use crate::types::*;

#[derive(Debug, Clone, Default)]
pub(crate) struct MarginAccount {
    /// Futures (cross) wallet, signed: a liquidation can leave the insurance fund's negative.
    pub wallet: i64,
    /// By perpetual index; grows when the account first touches a perpetual.
    pub positions: Vec<Position>,
    /// Sequence of the last command that changed the wallet (coalesced `WalletChanged`).
    pub touched_seq: Seq,
    /// Queued for a re-key of its index keys at the end of the command.
    pub dirty: bool,
    /// Slots of its resting reduce-only orders (any perpetual), for the end-of-command sweep:
    /// it reads these, not the account's whole order list.
    pub reduce_only: Vec<crate::order_pool::Slot>,
}
