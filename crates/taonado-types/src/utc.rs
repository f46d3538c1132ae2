//! Unix seconds as UTC calendar times (proleptic Gregorian, civil-from-days), without a
//! time-zone database: the chain's timestamps are UTC.

/// The UTC calendar date and time of `unix`: (year, month, day, hour, minute, second).
pub fn utc_civil(unix: u64) -> (i64, i64, i64, u64, u64, u64) {
    let days = i64::try_from(unix / 86_400).unwrap_or(i64::MAX / 2);
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Unix seconds as ISO-8601 UTC: `2026-11-25T21:54:02Z`.
pub fn iso8601_utc(unix: u64) -> String {
    let (year, month, day, hour, minute, second) = utc_civil(unix);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_is_the_utc_civil_time() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601_utc(1_795_643_642), "2026-11-25T21:54:02Z");
    }
}
