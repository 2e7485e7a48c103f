//! Times: command timestamps are nanoseconds since the Unix epoch (UTC). Printed as RFC 3339
//! with nanoseconds; parsed from RFC 3339-like text, a date, or `@<ns>`.

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2024-01-02T03:04:05.123456789Z`.
pub fn format_ns(ns: u64) -> String {
    let secs = (ns / 1_000_000_000) as i64;
    let nanos = ns % 1_000_000_000;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z", s / 3600, s / 60 % 60, s % 60)
}

/// Parses `2024-01-02T03:04:05[.fraction][Z]` (a space may replace the `T`), `2024-01-02`
/// (midnight UTC) or `@<nanoseconds since the epoch>`. Times are UTC.
pub fn parse_time(s: &str) -> Result<u64, String> {
    let bad = || format!("cannot parse time {s:?}: use 2024-01-02T03:04:05.5Z, 2024-01-02 or @<ns since epoch>");
    let s = s.trim();
    if let Some(ns) = s.strip_prefix('@') {
        return ns.parse().map_err(|_| bad());
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (dp.next(), dp.next(), dp.next(), dp.next()) else { return Err(bad()) };
    let (y, m, d): (i64, u32, u32) =
        (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    if !(1970..=2500).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    let mut nanos = 0u64;
    if let Some(t) = time {
        let (hms, frac) = match t.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (t, None),
        };
        let mut tp = hms.split(':');
        let h: i64 = tp.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let mi: i64 = tp.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let se: i64 = tp.next().map_or(Some(0), |v| v.parse().ok()).ok_or_else(bad)?;
        if tp.next().is_some() || h > 23 || mi > 59 || se > 60 {
            return Err(bad());
        }
        secs += h * 3600 + mi * 60 + se;
        if let Some(f) = frac {
            if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            nanos = f.parse::<u64>().map_err(|_| bad())? * 10u64.pow(9 - f.len() as u32);
        }
    }
    Ok(secs as u64 * 1_000_000_000 + nanos)
}

/// A point in the journal: a sequence number or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// A sequence number.
    Seq(u64),
    /// Nanoseconds since the epoch (command timestamps).
    Time(u64),
}

/// A bare integer is a sequence number; anything else is a time ([`parse_time`]).
pub fn parse_point(s: &str) -> Result<Point, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map(Point::Seq).map_err(|_| format!("sequence number {s:?} out of range"));
    }
    parse_time(s).map(Point::Time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let ns = 1_700_000_000_123_456_789;
        assert_eq!(format_ns(ns), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(parse_time("2023-11-14T22:13:20.123456789Z"), Ok(ns));
        assert_eq!(parse_time("2023-11-14 22:13:20.5"), Ok(1_700_000_000_500_000_000));
        assert_eq!(parse_time("2023-11-14"), Ok(1_699_920_000_000_000_000));
        assert_eq!(parse_time("@42"), Ok(42));
        assert_eq!(format_ns(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(parse_time("2024-02-29T00:00:00Z").map(format_ns), Ok("2024-02-29T00:00:00.000000000Z".into()));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_point("17"), Ok(Point::Seq(17)));
        assert_eq!(parse_point("@17"), Ok(Point::Time(17)));
    }
}
