//! Durability policies: when appended records are made durable.

use std::fmt;
use std::str::FromStr;

/// When `commit` makes appended records durable.
///
/// | policy | on `commit` | survives process crash | survives power loss |
/// |---|---|---|---|
/// | `None` | nothing (page cache) | everything committed | nothing guaranteed |
/// | `Batch` | msync of the written range | everything committed | everything committed |
/// | `Interval` | msync if `ms` elapsed since the last one | everything committed | everything up to the last sync |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Page cache only: stores into the shared mapping survive a killed
    /// process, not a power loss. `commit` returns the written sequence.
    None,
    /// Group commit: every `commit` syncs what was appended since the last
    /// one and returns only when it is on stable storage.
    Batch,
    /// Sync at most every `ms` milliseconds; `commit` returns what is durable
    /// so far. `JournalWriter::sync_now` forces a sync.
    Interval {
        /// Minimum time between two syncs, in milliseconds.
        ms: u64,
    },
}

impl fmt::Display for SyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncPolicy::None => f.write_str("none"),
            SyncPolicy::Batch => f.write_str("batch"),
            SyncPolicy::Interval { ms } => write!(f, "interval:{ms}ms"),
        }
    }
}

/// Error parsing a [`SyncPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sync policy {0:?}: expected none, batch or interval:<ms>[ms]")]
pub struct ParsePolicyError(String);

impl FromStr for SyncPolicy {
    type Err = ParsePolicyError;

    /// Accepts `none`, `batch`, `interval:5`, `interval:5ms`, `interval=5`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParsePolicyError(s.to_string());
        match s {
            "none" => Ok(SyncPolicy::None),
            "batch" => Ok(SyncPolicy::Batch),
            _ => {
                let rest = s.strip_prefix("interval:").or_else(|| s.strip_prefix("interval=")).ok_or_else(err)?;
                let digits = rest.strip_suffix("ms").unwrap_or(rest);
                let ms = digits.parse().map_err(|_| err())?;
                Ok(SyncPolicy::Interval { ms })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trip() {
        for p in [SyncPolicy::None, SyncPolicy::Batch, SyncPolicy::Interval { ms: 7 }] {
            assert_eq!(p.to_string().parse::<SyncPolicy>().unwrap(), p);
        }
        assert_eq!("interval=1".parse(), Ok(SyncPolicy::Interval { ms: 1 }));
        assert!("sometimes".parse::<SyncPolicy>().is_err());
    }
}
