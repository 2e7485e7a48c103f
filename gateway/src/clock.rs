//! The only clock matchd reads: the gateway stamps each command with its
//! receive time before it is journaled, so the engine never reads one.

/// Nanoseconds since the Unix epoch (0 if the clock is before 1970).
#[inline]
pub fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
