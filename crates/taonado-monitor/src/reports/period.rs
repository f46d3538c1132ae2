//! Report periods: `[from, to)` in unix seconds, UTC calendar days, weeks and months.

use taonado_report::fmt_unix_date;
use taonado_types::{unix_from_civil, utc_civil};

use super::{PeriodArgs, ReportError, ReportKind};

const DAY: u64 = 86_400;

/// The span a report covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: u64,
    /// Exclusive.
    pub to: u64,
    /// `2026-12-07`, `week 2026-11-30..2026-12-06`, `2026-12`, `30 days 2026-11-07..2026-12-06`.
    pub label: String,
    /// Seconds per bucket of the report's time series (an hour for a day, else a day).
    pub bucket: u64,
}

fn bad(msg: String) -> ReportError {
    ReportError::Period(msg)
}

/// `YYYY-MM-DD` as the unix seconds of that day's 00:00 UTC.
pub fn parse_date(s: &str) -> Result<u64, ReportError> {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<i64>().ok())
            .flatten()
    };
    let parsed = match parts.as_slice() {
        [y, m, d] => num(y, 4)
            .zip(num(m, 2))
            .zip(num(d, 2))
            .and_then(|((y, m), d)| unix_from_civil(y, m, d)),
        _ => None,
    };
    parsed.ok_or_else(|| {
        bad(format!(
            "`{s}` is not a date: use YYYY-MM-DD (a real UTC calendar day, 1970 or later)"
        ))
    })
}

/// `YYYY-MM` as (year, month).
pub fn parse_month(s: &str) -> Result<(i64, i64), ReportError> {
    let err = || bad(format!("`{s}` is not a month: use YYYY-MM"));
    let (y, m) = s.split_once('-').ok_or_else(err)?;
    if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())) {
        return Err(err());
    }
    let (y, m) = (
        y.parse::<i64>().map_err(|_| err())?,
        m.parse::<i64>().map_err(|_| err())?,
    );
    unix_from_civil(y, m, 1).ok_or_else(err)?;
    Ok((y, m))
}

fn month_bounds(y: i64, m: i64) -> Option<(u64, u64)> {
    let from = unix_from_civil(y, m, 1)?;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Some((from, unix_from_civil(ny, nm, 1)?))
}

impl Period {
    /// The period of `kind` that `args` names; without a date or month, the one holding
    /// the newest stored block (`latest`), or `now` on an empty store.
    pub fn resolve(
        kind: ReportKind,
        args: &PeriodArgs,
        latest: Option<u64>,
        now: u64,
    ) -> Result<Self, ReportError> {
        let anchor_default = latest.unwrap_or(now);
        if args.days.is_some() && !matches!(kind, ReportKind::Gas | ReportKind::Mining) {
            return Err(bad(format!(
                "--days applies to `report gas` and `report mining`, not `report {}`: use --date or --month",
                kind.name()
            )));
        }
        if args.month.is_some() && !matches!(kind, ReportKind::Monthly | ReportKind::Ops) {
            return Err(bad(format!(
                "--month applies to `report monthly` and `report ops`, not `report {}`: use --date",
                kind.name()
            )));
        }
        if args.date.is_some() && args.month.is_some() {
            return Err(bad("give --date or --month, not both".to_owned()));
        }
        let date = args.date.as_deref().map(parse_date).transpose()?;
        let period = match kind {
            ReportKind::Daily => {
                let from = date.unwrap_or(anchor_default - anchor_default % DAY);
                Self {
                    from,
                    to: from + DAY,
                    label: fmt_unix_date(from),
                    bucket: 3600,
                }
            }
            ReportKind::Weekly => {
                let day = date.unwrap_or(anchor_default - anchor_default % DAY);
                // 1970-01-01 was a Thursday: days since a Monday = (days + 3) % 7
                let from = day - ((day / DAY + 3) % 7) * DAY;
                let to = from + 7 * DAY;
                Self {
                    from,
                    to,
                    label: format!("week {}..{}", fmt_unix_date(from), fmt_unix_date(to - DAY)),
                    bucket: DAY,
                }
            }
            ReportKind::Monthly | ReportKind::Ops => {
                let (y, m) = match (&args.month, date) {
                    (Some(month), _) => parse_month(month)?,
                    (None, Some(d)) => {
                        let (y, m, ..) = utc_civil(d);
                        (y, m)
                    }
                    (None, None) => {
                        let (y, m, ..) = utc_civil(anchor_default);
                        (y, m)
                    }
                };
                let (from, to) = month_bounds(y, m)
                    .ok_or_else(|| bad(format!("{y:04}-{m:02} is out of range")))?;
                Self {
                    from,
                    to,
                    label: format!("{y:04}-{m:02}"),
                    bucket: DAY,
                }
            }
            ReportKind::Gas | ReportKind::Mining => {
                let days = u64::from(args.days.unwrap_or(30));
                if !(1..=3660).contains(&days) {
                    return Err(bad(format!("--days {days} is out of range: use 1 to 3660")));
                }
                // whole days, the last one holding the anchor
                let end = match date {
                    Some(d) => d + DAY,
                    None => anchor_default - anchor_default % DAY + DAY,
                };
                let from = end.saturating_sub(days * DAY);
                Self {
                    from,
                    to: end,
                    label: format!(
                        "{days} days {}..{}",
                        fmt_unix_date(from),
                        fmt_unix_date(end - DAY)
                    ),
                    bucket: if days == 1 { 3600 } else { DAY },
                }
            }
        };
        if period.from > now {
            return Err(bad(format!(
                "the period {} has not started yet (today is {}): pick a past or current period",
                period.label,
                fmt_unix_date(now)
            )));
        }
        Ok(period)
    }

    /// The bucket start of `t`.
    pub fn bucket_of(&self, t: u64) -> u64 {
        t - t % self.bucket
    }

    /// Every bucket start of the period.
    pub fn buckets(&self) -> Vec<u64> {
        (0..)
            .map(|i| self.from + i * self.bucket)
            .take_while(|&b| b < self.to)
            .collect()
    }
}
