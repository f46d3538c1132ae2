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

/// Unix seconds of 00:00 UTC on a calendar date (days-from-civil); `None` for a date that
/// does not exist (month 13, 31 April, 29 February of a common year) or is before 1970.
pub fn unix_from_civil(year: i64, month: i64, day: i64) -> Option<u64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days).ok()?.checked_mul(86_400)
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

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(unix_from_civil(1970, 1, 1), Some(0));
        assert_eq!(unix_from_civil(2000, 2, 29), Some(951_782_400));
        assert_eq!(unix_from_civil(2026, 2, 29), None);
        assert_eq!(unix_from_civil(2026, 4, 31), None);
        assert_eq!(unix_from_civil(2026, 13, 1), None);
        assert_eq!(unix_from_civil(1969, 12, 31), None);
        for day in (0..80_000u64).step_by(7) {
            let (y, m, d, ..) = utc_civil(day * 86_400);
            assert_eq!(unix_from_civil(y, m, d), Some(day * 86_400));
        }
    }
}
