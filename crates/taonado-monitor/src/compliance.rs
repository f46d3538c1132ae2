//! `taonado compliance` and `mixer privacy` as library entry points, over the rules of
//! [`crate::rules::compliance`]: one pass of the transaction monitoring ([`scan`]), the
//! monthly report ([`report`]), the check of one's own
//! deposit before a withdrawal ([`privacy`]), and the retention policy and purge
//! ([`set_retention`], [`purge`]). Everything reads and writes the store only; nothing calls
//! a third party. The same database gives the same report: no clock enters it.

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;
use taonado_deployment::ProtocolContracts;
use taonado_store::compliance::{ComplianceFlag, PoolWithdrawal, PurgeCounts, RetentionPolicy};
use taonado_store::{SelfWithdrawal, Store};

use crate::error::{MonitorError, Result};
use crate::rules::compliance::{
    COMPLIANCE_RULES, ComplianceInput, ComplianceSettings, NONE_KEY, PoolAnonymity, analyze,
    evaluate_store, parse_retention, pool_anonymity, volume,
};
use crate::units::tao;
use taonado_report::{Document, Plot, PlotKind, Series, fmt_fixed};

/// A calendar month, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Month {
    pub year: i64,
    pub month: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Month {
    /// `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Self> {
        let (y, m) = text.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i64 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        ((1970..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// The month holding unix time `t`.
    pub fn of(t: u64) -> Self {
        let (year, month, ..) = taonado_types::utc_civil(t);
        Self {
            year,
            month: u32::try_from(month).unwrap_or(1),
        }
    }

    /// `[start, end)` in unix seconds.
    pub fn range(self) -> (u64, u64) {
        let start = days_from_civil(self.year, self.month, 1);
        let (ny, nm) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        let end = days_from_civil(ny, nm, 1);
        let secs = |d: i64| u64::try_from(d * 86_400).unwrap_or(0);
        (secs(start), secs(end))
    }

    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// What `compliance report` covers.
#[derive(Clone, Debug)]
pub struct ReportPlan {
    pub network: String,
    /// Only `monthly` exists.
    pub period: String,
    /// `YYYY-MM`; `None`: the month of `now`.
    pub month: Option<String>,
    pub contracts: ProtocolContracts,
    pub settings: ComplianceSettings,
    /// Unix seconds: refuses future months and sets the retention floor of new flags.
    pub now: u64,
}

/// One rule's flags in the period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleCount {
    pub rule: &'static str,
    pub flags: u64,
    pub max_score: f64,
}

/// One pool in the period, and its anonymity at the period's end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolReport {
    #[serde(flatten)]
    pub anonymity: PoolAnonymity,
    pub period_deposits: u64,
    pub period_withdrawals: u64,
    /// TAO deposited and withdrawn in the period (pools the deployment names).
    pub volume_in_tao: Option<String>,
    pub volume_out_tao: Option<String>,
}

/// The monthly compliance report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComplianceReport {
    pub network: String,
    pub period: String,
    pub month: String,
    pub from: String,
    pub to: String,
    /// The last indexed block the report reads.
    pub checkpoint: Option<u64>,
    pub deposits: u64,
    pub withdrawals: u64,
    pub volume_in_tao: String,
    pub volume_out_tao: String,
    pub rules: Vec<RuleCount>,
    pub pools: Vec<PoolReport>,
    pub flags: Vec<ComplianceFlag>,
}

/// What `compliance monitor` scans.
#[derive(Clone, Debug)]
pub struct ScanPlan {
    pub contracts: ProtocolContracts,
    pub settings: ComplianceSettings,
    /// Unix seconds: the retention floor of new flags.
    pub now: u64,
    /// List the flags whose block time is at or after this (unix seconds).
    pub since: u64,
}

/// One pass of the transaction monitoring: the rules evaluated over everything indexed,
/// what that added, and the flags of the window asked for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScanReport {
    /// The last indexed block the rules read.
    pub checkpoint: Option<u64>,
    /// Flags this pass recorded (0 when the monitor's own rounds already had them).
    pub new_flags: u64,
    pub since: String,
    pub rules: Vec<RuleCount>,
    pub flags: Vec<ComplianceFlag>,
}

/// `compliance monitor`: evaluates the compliance rules over the store now (recording new
/// flags, as every round of `taonado monitor` does) and lists the flags since `plan.since`.
pub fn scan(store: &Store, plan: &ScanPlan) -> Result<ScanReport> {
    let new_flags = evaluate_store(store, &plan.contracts, &plan.settings, plan.now)?;
    let flags = store.compliance_flags(plan.since, u64::MAX)?;
    Ok(ScanReport {
        checkpoint: store.checkpoint()?.map(|c| c.number),
        new_flags,
        since: taonado_types::iso8601_utc(plan.since),
        rules: rule_counts(&flags),
        flags,
    })
}

/// Flags and the highest score, per rule, in [`COMPLIANCE_RULES`] order.
fn rule_counts(flags: &[ComplianceFlag]) -> Vec<RuleCount> {
    COMPLIANCE_RULES
        .iter()
        .map(|rule| {
            let of: Vec<&ComplianceFlag> = flags.iter().filter(|f| f.rule == *rule).collect();
            RuleCount {
                rule,
                flags: of.len() as u64,
                max_score: of.iter().map(|f| f.score).fold(0.0, f64::max),
            }
        })
        .collect()
}

fn usage(message: impl Into<String>) -> MonitorError {
    MonitorError::ComplianceUsage(message.into())
}

/// The month of `plan`, checked: `monthly` only, `YYYY-MM`, not after `now`'s month.
pub fn report_month(plan: &ReportPlan) -> Result<Month> {
    if plan.period != "monthly" {
        return Err(usage(format!(
            "unknown period `{}`: the compliance report is `--period monthly`",
            plan.period
        )));
    }
    let current = Month::of(plan.now);
    let month = match &plan.month {
        None => current,
        Some(text) => Month::parse(text).ok_or_else(|| {
            usage(format!(
                "--month `{text}` is not a month: write YYYY-MM, e.g. 2026-11"
            ))
        })?,
    };
    if (month.year, month.month) > (current.year, current.month) {
        return Err(usage(format!(
            "--month {} is in the future (this is {}): pick a month that has begun",
            month.label(),
            current.label()
        )));
    }
    Ok(month)
}

/// Evaluates the rules over the store (recording new flags), then reports `plan`'s month.
pub fn report(store: &Store, plan: &ReportPlan) -> Result<ComplianceReport> {
    let month = report_month(plan)?;
    evaluate_store(store, &plan.contracts, &plan.settings, plan.now)?;
    let (from, to) = month.range();
    let activity = store.mixer_activity()?;
    let all_flags = store.compliance_flags(0, to)?;
    let flags: Vec<ComplianceFlag> = all_flags
        .iter()
        .filter(|f| f.timestamp >= from)
        .cloned()
        .collect();
    let rules = rule_counts(&flags);
    let in_period = |t: u64| t >= from && t < to;
    let pools: Vec<PoolReport> = pool_anonymity(&activity, &all_flags, &plan.contracts, to)
        .into_iter()
        .map(|anonymity| {
            let period_deposits = activity
                .deposits
                .iter()
                .filter(|d| d.pool == anonymity.pool && in_period(d.timestamp))
                .count() as u64;
            let period_withdrawals = activity
                .withdrawals
                .iter()
                .filter(|w| w.pool == anonymity.pool && in_period(w.timestamp))
                .count() as u64;
            let amount = anonymity.amount.clone();
            PoolReport {
                volume_in_tao: volume(amount.as_ref(), period_deposits).map(tao),
                volume_out_tao: volume(amount.as_ref(), period_withdrawals).map(tao),
                anonymity,
                period_deposits,
                period_withdrawals,
            }
        })
        .collect();
    let sum = |f: &dyn Fn(&PoolReport) -> (Option<&String>, u64)| {
        pools.iter().fold(U256::ZERO, |acc, p| {
            let (amount, n) = f(p);
            acc.saturating_add(volume(amount, n).unwrap_or_default())
        })
    };
    Ok(ComplianceReport {
        network: plan.network.clone(),
        period: plan.period.clone(),
        month: month.label(),
        from: taonado_types::iso8601_utc(from),
        to: taonado_types::iso8601_utc(to),
        checkpoint: store.checkpoint()?.map(|c| c.number),
        deposits: pools.iter().map(|p| p.period_deposits).sum(),
        withdrawals: pools.iter().map(|p| p.period_withdrawals).sum(),
        volume_in_tao: tao(sum(&|p| (p.anonymity.amount.as_ref(), p.period_deposits))),
        volume_out_tao: tao(sum(&|p| {
            (p.anonymity.amount.as_ref(), p.period_withdrawals)
        })),
        rules,
        pools,
        flags,
    })
}

impl ComplianceReport {
    /// The report as a document: markdown, self-contained HTML (with its plots) and JSON
    /// come from it, each a pure function of the data.
    pub fn document(&self) -> Document {
        let mut doc = Document::new(
            format!("Compliance report: {} {}", self.period, self.month),
            format!(
                "network {}, indexed up to block {}, {} to {} (UTC)",
                self.network,
                self.checkpoint
                    .map_or_else(|| "-".to_owned(), |b| b.to_string()),
                self.from,
                self.to
            ),
        );
        doc.section("Summary").key_values([
            ("deposits", self.deposits.to_string()),
            ("deposited (TAO)", self.volume_in_tao.clone()),
            ("withdrawals", self.withdrawals.to_string()),
            ("withdrawn (TAO)", self.volume_out_tao.clone()),
            ("flags", self.flags.len().to_string()),
        ]);
        let mut by_rule = Plot::new(PlotKind::Bar, "Flags by rule", "rule", "flags");
        by_rule.series.push(Series {
            name: "flags".into(),
            points: self
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| (i as f64, r.flags as f64))
                .collect(),
        });
        doc.section("Flags by rule")
            .table(
                ["rule", "flags", "highest score"],
                self.rules.iter().map(|r| {
                    vec![
                        r.rule.to_owned(),
                        r.flags.to_string(),
                        fmt_fixed(r.max_score, 2),
                    ]
                }),
            )
            .paragraph(
                "Rules in the plot's order: ".to_owned()
                    + &self
                        .rules
                        .iter()
                        .enumerate()
                        .map(|(i, r)| format!("{i} {}", r.rule))
                        .collect::<Vec<_>>()
                        .join(", "),
            )
            .plot(by_rule);
        let mut anonymity = Plot::new(
            PlotKind::Bar,
            "Anonymity set per pool",
            "pool (row of the table, from 0)",
            "deposits",
        );
        anonymity.series.push(Series {
            name: "anonymity set".into(),
            points: self
                .pools
                .iter()
                .enumerate()
                .map(|(i, p)| (i as f64, p.anonymity.anonymity_set as f64))
                .collect(),
        });
        anonymity.series.push(Series {
            name: "effective anonymity set".into(),
            points: self
                .pools
                .iter()
                .enumerate()
                .map(|(i, p)| (i as f64, p.anonymity.effective_anonymity_set as f64))
                .collect(),
        });
        doc.section("Pools")
            .paragraph(
                "Volumes are the month's; anonymity sets stand at the month's end. The effective \
                 anonymity set is the pool's deposits less those a flag links to a withdrawal.",
            )
            .table(
                [
                    "pool",
                    "amount",
                    "deposits",
                    "withdrawals",
                    "in (TAO)",
                    "out (TAO)",
                    "anonymity set",
                    "linked",
                    "effective anonymity set",
                ],
                self.pools.iter().map(|p| {
                    let a = &p.anonymity;
                    vec![
                        format!("{}", a.pool),
                        a.amount.clone().unwrap_or_else(|| "?".into()),
                        p.period_deposits.to_string(),
                        p.period_withdrawals.to_string(),
                        p.volume_in_tao.clone().unwrap_or_else(|| "?".into()),
                        p.volume_out_tao.clone().unwrap_or_else(|| "?".into()),
                        a.anonymity_set.to_string(),
                        a.linked_deposits.to_string(),
                        a.effective_anonymity_set.to_string(),
                    ]
                }),
            )
            .plot(anonymity);
        let flags = doc.section("Flags");
        if self.flags.is_empty() {
            flags.paragraph("None.");
        } else {
            flags.table(
                [
                    "rule",
                    "score",
                    "block",
                    "explanation",
                    "deposit",
                    "withdrawal",
                ],
                self.flags.iter().map(|f| {
                    vec![
                        f.rule.clone(),
                        fmt_fixed(f.score, 2),
                        f.block.to_string(),
                        f.explanation.clone(),
                        f.deposit_key.clone(),
                        f.withdrawal_key.clone(),
                    ]
                }),
            );
        }
        doc
    }
}

/// The withdrawal `mixer privacy` is asked about, before it exists.
#[derive(Clone, Debug)]
pub struct PrivacyQuery {
    pub pool: Address,
    /// The note's commitment (the note itself never reaches this crate).
    pub commitment: B256,
    pub recipient: Address,
    /// The relayer that would send it; `None`: the user's own `sender` sends it.
    pub relayer: Option<Address>,
    pub sender: Option<Address>,
    pub gas_price: Option<u128>,
}

/// What one rule would say.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrivacyFinding {
    pub rule: String,
    pub score: f64,
    pub explanation: String,
}

/// `mixer privacy`'s answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrivacyReport {
    pub pool: Address,
    pub deposit_block: u64,
    pub leaf_index: u64,
    pub anonymity_set: u64,
    pub effective_anonymity_set: u64,
    /// `true` when any rule would link the withdrawal to this deposit.
    pub linkable: bool,
    pub findings: Vec<PrivacyFinding>,
}

/// Runs the compliance rules over the store plus the intended withdrawal, as if it were
/// mined in the block after the checkpoint, and reports what would link it to the note's
/// deposit. Nothing is recorded.
pub fn privacy(
    store: &Store,
    contracts: &ProtocolContracts,
    settings: &ComplianceSettings,
    query: &PrivacyQuery,
    now: u64,
) -> Result<PrivacyReport> {
    let mut input = ComplianceInput::load(store, contracts)?;
    let Some(deposit) = input
        .activity
        .deposits
        .iter()
        .find(|d| d.pool == query.pool && d.commitment == query.commitment)
        .cloned()
    else {
        return Err(MonitorError::ComplianceFailed(format!(
            "the note's deposit is not in the indexed database (pool {}); run `taonado index --once` and try again",
            query.pool
        )));
    };
    let next = store.checkpoint()?.map_or(0, |c| c.number) + 1;
    // A key no transaction has: the hypothetical withdrawal's.
    let pending = B256::repeat_byte(0xee);
    let withdrawal = PoolWithdrawal {
        pool: query.pool,
        to: query.recipient,
        nullifier_hash: B256::ZERO,
        relayer: query.relayer.unwrap_or(Address::ZERO),
        fee: U256::ZERO,
        block: next,
        log_index: 0,
        timestamp: now,
        tx_hash: pending,
        tx_from: query.relayer.or(query.sender),
        gas_price: query.gas_price,
    };
    // The self-withdrawal alert's pairing for this withdrawal (the store cannot see it yet).
    if let Some(d) = input
        .activity
        .deposits
        .iter()
        .rfind(|d| d.pool == query.pool && d.user == Some(query.recipient))
    {
        input.self_withdrawals.push(SelfWithdrawal {
            pool: query.pool,
            address: query.recipient,
            deposit_block: d.block,
            withdrawal_block: next,
        });
    }
    input.activity.withdrawals.push(withdrawal);
    let flags = analyze(&input, settings);
    let deposit_key = format!("{:#x}", deposit.tx_hash);
    let pending_key = format!("{pending:#x}");
    let findings: Vec<PrivacyFinding> = flags
        .iter()
        .filter(|f| {
            f.deposit_key == deposit_key
                && (f.withdrawal_key == pending_key || f.withdrawal_key == NONE_KEY)
        })
        .map(|f| PrivacyFinding {
            rule: f.rule.clone(),
            score: f.score,
            explanation: f.explanation.clone(),
        })
        .collect();
    // Without the hypothetical withdrawal: the pool as it stands.
    input.activity.withdrawals.pop();
    let recorded = store.compliance_flags(0, u64::MAX)?;
    let pool = pool_anonymity(&input.activity, &recorded, contracts, u64::MAX)
        .into_iter()
        .find(|p| p.pool == query.pool);
    Ok(PrivacyReport {
        pool: query.pool,
        deposit_block: deposit.block,
        leaf_index: deposit.leaf_index,
        anonymity_set: pool.as_ref().map_or(0, |p| p.anonymity_set),
        effective_anonymity_set: pool.as_ref().map_or(0, |p| p.effective_anonymity_set),
        linkable: findings
            .iter()
            .any(|f| f.rule != crate::rules::compliance::STRUCTURING),
        findings,
    })
}

/// The seconds of `policy` (`7y`, `90d`…), checked against the legal minimum.
pub fn check_retention(settings: &ComplianceSettings, policy: &str) -> Result<u64> {
    let secs = parse_retention(policy).ok_or_else(|| {
        usage(format!(
            "retention policy `{policy}` is not a duration: write e.g. 7y, 18m (months), 90d or 2w"
        ))
    })?;
    check_minimum(settings, secs, policy)?;
    Ok(secs)
}

/// Records `policy` after [`check_retention`].
pub fn set_retention(
    store: &Store,
    settings: &ComplianceSettings,
    policy: &str,
) -> Result<RetentionPolicy> {
    let secs = check_retention(settings, policy)?;
    Ok(store.set_retention_policy(secs, policy)?)
}

fn check_minimum(settings: &ComplianceSettings, secs: u64, label: &str) -> Result<()> {
    let minimum = settings.retention_minimum_secs()?;
    if secs < minimum {
        return Err(usage(format!(
            "retention policy {label} is shorter than the legal minimum {} set by rules.compliance.retention_minimum; keep records at least that long",
            settings.retention_minimum
        )));
    }
    Ok(())
}

/// What a purge deleted (or would delete).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub policy: RetentionPolicy,
    /// Rows older than this (unix seconds, and ISO-8601) are outside the policy.
    pub cutoff: u64,
    pub cutoff_utc: String,
    pub dry_run: bool,
    pub deleted: Vec<PurgeCounts>,
}

/// What a purge may delete: rows older than the recorded policy and older than the
/// `older_than` asked for, so a purge never removes what the policy keeps. No policy
/// recorded is a usage error. Returns the policy and the cutoff (unix seconds).
pub fn purge_cutoff(
    store: &Store,
    settings: &ComplianceSettings,
    now: u64,
    older_than: Option<u64>,
) -> Result<(RetentionPolicy, u64)> {
    let policy = store.retention_policy()?.ok_or_else(|| {
        usage("no retention policy is recorded: record one first with `taonado compliance retention --policy 7y`")
    })?;
    check_minimum(settings, policy.retention_secs, &policy.label)?;
    let keep = policy.retention_secs.max(older_than.unwrap_or(0));
    Ok((policy, now.saturating_sub(keep)))
}

/// Deletes the compliance rows older than the recorded policy (and than `older_than`),
/// securely; `dry_run` only counts.
pub fn purge(
    store: &Store,
    settings: &ComplianceSettings,
    now: u64,
    older_than: Option<u64>,
    dry_run: bool,
) -> Result<PurgeReport> {
    let (policy, cutoff) = purge_cutoff(store, settings, now, older_than)?;
    let deleted = store.purge_compliance(cutoff, dry_run)?;
    Ok(PurgeReport {
        policy,
        cutoff,
        cutoff_utc: taonado_types::iso8601_utc(cutoff),
        dry_run,
        deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_span_their_days() {
        let m = Month::parse("2026-02").unwrap();
        let (from, to) = m.range();
        assert_eq!(taonado_types::iso8601_utc(from), "2026-02-01T00:00:00Z");
        assert_eq!(taonado_types::iso8601_utc(to), "2026-03-01T00:00:00Z");
        let (_, to) = Month::parse("2026-12").unwrap().range();
        assert_eq!(taonado_types::iso8601_utc(to), "2027-01-01T00:00:00Z");
        for bad in ["2026-13", "2026-1", "26-01", "x", "2026-00"] {
            assert!(Month::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Month::of(from), m);
    }

    #[test]
    fn future_months_and_unknown_periods_are_usage_errors() {
        let plan = |period: &str, month: Option<&str>| ReportPlan {
            network: "local".into(),
            period: period.into(),
            month: month.map(Into::into),
            contracts: ProtocolContracts::default(),
            settings: ComplianceSettings::default(),
            now: 1_796_601_600, // 2026-12-07
        };
        assert!(report_month(&plan("monthly", Some("2026-12"))).is_ok());
        for bad in [
            plan("monthly", Some("2027-01")),
            plan("weekly", None),
            plan("monthly", Some("12/2026")),
        ] {
            let e = report_month(&bad).unwrap_err();
            assert!(e.is_usage(), "{e}");
        }
    }

    #[test]
    fn a_policy_below_the_legal_minimum_is_refused_and_purges_follow_the_policy() {
        taonado_store::testing::on_each_backend(
            "a_policy_below_the_legal_minimum_is_refused_and_purges_follow_the_policy",
            |store| {
                let settings = ComplianceSettings::default();
                assert!(
                    set_retention(&store, &settings, "1y")
                        .unwrap_err()
                        .is_usage()
                );
                assert!(
                    set_retention(&store, &settings, "7x")
                        .unwrap_err()
                        .is_usage()
                );
                assert!(
                    purge(&store, &settings, 0, None, true)
                        .unwrap_err()
                        .is_usage()
                );
                set_retention(&store, &settings, "7y").unwrap();
                let year = 365 * 86_400;
                let report = purge(&store, &settings, 10 * year, None, true).unwrap();
                assert_eq!(report.cutoff, 3 * year);
                assert_eq!(report.deleted[0].rows, 0);
                // Asking for less than the policy keeps deletes only what the policy allows; asking
                // for more moves the cutoff back.
                let (_, cutoff) = purge_cutoff(&store, &settings, 10 * year, Some(year)).unwrap();
                assert_eq!(cutoff, 3 * year);
                let (_, cutoff) =
                    purge_cutoff(&store, &settings, 10 * year, Some(9 * year)).unwrap();
                assert_eq!(cutoff, year);
            },
        );
    }
}
