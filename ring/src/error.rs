//! Why a blocking ring operation returned without a slot range.

use thiserror::Error;

/// The ring stopped: a wait, claim or poll cannot succeed any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RingError {
    /// Someone called `halt()` (or a consumer was dropped before it saw [`RingError::Closed`]): an
    /// abort, every waiting stage returns at once, published but unconsumed slots are abandoned.
    #[error("ring halted")]
    Halted,
    /// The producer was closed or dropped and this consumer has consumed and released everything
    /// that was published: a graceful end of stream.
    #[error("ring closed and fully drained")]
    Closed,
}

/// A wait-strategy name that is not one of `busy-spin`, `yielding`, `sleeping`, `adaptive`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown wait strategy {0:?} (expected busy-spin, yielding, sleeping or adaptive)")]
pub struct UnknownWaitStrategy(pub String);
