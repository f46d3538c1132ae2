//! Fixed number and date formatting: the same value always gives the same text.

use taonado_types::utc_civil;

use crate::AxisFormat;

/// `v` with exactly `decimals` decimals; `n/a` for NaN or infinities; never `-0`.
pub fn fmt_fixed(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    }
}

/// `part / whole` as a percentage with one decimal (`n/a` when `whole` is 0).
pub fn fmt_percent(part: f64, whole: f64) -> String {
    if whole == 0.0 {
        return "n/a".to_owned();
    }
    format!("{}%", fmt_fixed(100.0 * part / whole, 1))
}

/// Unix seconds as the UTC date `YYYY-MM-DD`.
pub fn fmt_unix_date(unix: u64) -> String {
    let (y, m, d, ..) = utc_civil(unix);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Unix seconds as the UTC time `YYYY-MM-DD HH:MM`.
pub fn fmt_unix_time(unix: u64) -> String {
    let (y, m, d, h, min, _) = utc_civil(unix);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}")
}

/// A compact number: up to 4 decimals with trailing zeros trimmed, scientific outside
/// `1e-4..1e9`.
pub(crate) fn fmt_compact(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e9).contains(&a) {
        return format!("{v:.3e}");
    }
    let s = fmt_fixed(v, 4);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// An axis value as the axis format asks.
pub(crate) fn fmt_axis(v: f64, format: AxisFormat) -> String {
    match format {
        AxisFormat::Number => fmt_compact(v),
        AxisFormat::UnixDate | AxisFormat::UnixTime if !v.is_finite() || v < 0.0 => fmt_compact(v),
        // float→int `as` saturates; the values are unix seconds
        AxisFormat::UnixDate => fmt_unix_date(v as u64),
        AxisFormat::UnixTime => fmt_unix_time(v as u64),
    }
}
