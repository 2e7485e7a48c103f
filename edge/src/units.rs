//! Human units: decimal strings <-> matchd's integer fixed-point values, by integer arithmetic only.
//!
//! A value with `decimals` decimal places is the integer `value × 10^decimals`: "0.001" BTC at 8
//! decimals is 100000. Never through a float: 0.1 + 0.2 is not 0.3 in binary, and a u64 holds more
//! digits than an f64.

/// Most decimal places a scale may have (10^19 > u64::MAX).
pub const MAX_DECIMALS: u32 = 19;

/// Why a decimal string is not a value at this scale.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    /// Not a plain non-negative decimal (digits, at most one '.', no sign or exponent): send e.g. "0.015".
    #[error("`{0}` is not a decimal number (digits with an optional '.', no sign or exponent)")]
    Malformed(String),
    /// More decimal places than the scale has: round it to the instrument's precision.
    #[error("`{value}` has more than {decimals} decimal places")]
    TooManyDecimals {
        /// The value as sent.
        value: String,
        /// Decimal places allowed.
        decimals: u32,
    },
    /// Too large for a 64-bit fixed-point value.
    #[error("`{0}` is too large")]
    Overflow(String),
}

/// 10^decimals (`decimals` ≤ [`MAX_DECIMALS`]).
pub fn pow10(decimals: u32) -> u64 {
    debug_assert!(decimals <= MAX_DECIMALS);
    10u64.pow(decimals.min(MAX_DECIMALS))
}

/// The number of decimals of a power-of-ten scale (`qty_scale` 100000000 → 8); `None` otherwise.
pub fn decimals_of_scale(scale: u64) -> Option<u32> {
    (0..=MAX_DECIMALS).find(|&d| pow10(d) == scale)
}

/// Parses `s` as a value with `decimals` decimal places.
pub fn parse_decimal(s: &str, decimals: u32) -> Result<u64, UnitsError> {
    let malformed = || UnitsError::Malformed(s.chars().take(40).collect());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || s.len() > 64 {
        return Err(malformed());
    }
    // Trailing zeros beyond the scale carry no precision ("1.50" at 1 decimal is fine).
    let frac = frac.trim_end_matches('0');
    if frac.len() as u32 > decimals {
        return Err(UnitsError::TooManyDecimals { value: s.chars().take(40).collect(), decimals });
    }
    let overflow = || UnitsError::Overflow(s.chars().take(40).collect());
    let mut v: u64 = 0;
    for b in int.bytes() {
        v = v.checked_mul(10).and_then(|v| v.checked_add(u64::from(b - b'0'))).ok_or_else(overflow)?;
    }
    v = v.checked_mul(pow10(decimals)).ok_or_else(overflow)?;
    let mut f: u64 = 0;
    for b in frac.bytes() {
        f = f * 10 + u64::from(b - b'0');
    }
    f *= pow10(decimals - frac.len() as u32);
    v.checked_add(f).ok_or_else(overflow)
}

/// Formats `v` with exactly `decimals` decimal places ("0.00100000").
pub fn format_decimal(v: u64, decimals: u32) -> String {
    if decimals == 0 {
        return v.to_string();
    }
    let p = pow10(decimals);
    format!("{}.{:0width$}", v / p, v % p, width = decimals as usize)
}

/// Formats a signed amount (a fee or rebate) with `decimals` places.
pub fn format_signed(v: i64, decimals: u32) -> String {
    let s = format_decimal(v.unsigned_abs(), decimals);
    if v < 0 {
        format!("-{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        assert_eq!(parse_decimal("50000.01", 2), Ok(5_000_001));
        assert_eq!(parse_decimal("0.001", 8), Ok(100_000));
        assert_eq!(parse_decimal("1", 8), Ok(100_000_000));
        assert_eq!(parse_decimal(".5", 1), Ok(5));
        assert_eq!(parse_decimal("1.50", 1), Ok(15));
        assert_eq!(parse_decimal("2.", 2), Ok(200));
        assert!(matches!(parse_decimal("0.001", 2), Err(UnitsError::TooManyDecimals { .. })));
        for bad in ["", ".", "-1", "1e5", "1.2.3", " 1", "0x10", "+1", "1,5"] {
            assert!(matches!(parse_decimal(bad, 2), Err(UnitsError::Malformed(_))), "{bad}");
        }
        assert!(matches!(parse_decimal("184467440737095516.16", 2), Err(UnitsError::Overflow(_))));
        assert_eq!(parse_decimal("184467440737095516.15", 2), Ok(u64::MAX));
        assert_eq!(format_decimal(100_000, 8), "0.00100000");
        assert_eq!(format_decimal(5_000_001, 2), "50000.01");
        assert_eq!(format_decimal(7, 0), "7");
        assert_eq!(format_signed(-1, 2), "-0.01");
        assert_eq!(decimals_of_scale(100_000_000), Some(8));
        assert_eq!(decimals_of_scale(3), None);
    }
}
