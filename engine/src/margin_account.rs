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
    /// First slot of its resting reduce-only orders (any perpetual), linked through
    /// `Engine::ro_next`, for the end-of-command sweep: it reads these, not the account's whole
    /// order list. Linked through a table sized once, a list that grows allocates nothing.
    pub reduce_only: ReduceOnlyHead,
}

/// [`MarginAccount::reduce_only`]: a slot, or `NIL` for an empty list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReduceOnlyHead(pub crate::order_pool::Slot);

impl Default for ReduceOnlyHead {
    fn default() -> Self {
        ReduceOnlyHead(crate::order_pool::NIL)
    }
}
