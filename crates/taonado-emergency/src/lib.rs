//! The audits that compose several libraries: `taonado audit report` ([`report`]: the
//! audit package re-checked, `keys audit` and `emergency assess` in one summary) and
//! `taonado audit weekly` ([`weekly`]: the manual's weekly audit, health, keys, backups
//! and deployed code against the artifacts, stored under `~/.taonado/audits/`).
//!
//! The single-purpose pieces live where they belong: the run registry and `emergency
//! stop` in `taonado-runreg`, `emergency assess` and `audit package` in
//! `taonado-security`, `emergency notify` in `taonado-monitor`.

use std::path::{Path, PathBuf};

use alloy::providers::DynProvider;
use serde::Serialize;
use taonado_monitor::{HealthConfig, HealthReport};
use taonado_ops::deploy::verify::{Check, CheckStatus, ExpectedDeployment};
use taonado_security::KeysPlan;
use taonado_security::assess::Assessment;
use taonado_security::audit::PackageCheck;
use taonado_store::Store;

#[derive(Debug, thiserror::Error)]
pub enum EmergencyError {
    #[error(transparent)]
    Audit(#[from] taonado_security::audit::AuditError),
    #[error(transparent)]
    Keys(#[from] taonado_security::SecurityError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The `keys audit` part of a report: findings as lines (never a secret).
#[derive(Clone, Debug, Serialize)]
pub struct KeysSummary {
    pub passed: bool,
    pub keys: usize,
    pub findings: Vec<String>,
}

fn keys_summary(plan: &KeysPlan) -> Result<KeysSummary, EmergencyError> {
    let report = taonado_security::audit(plan)?;
    Ok(KeysSummary {
        passed: report.passed(),
        keys: report.keys.len(),
        findings: report.findings.iter().map(|f| f.message.clone()).collect(),
    })
}

/// What `audit report` reads.
pub struct ReportPlan {
    pub package: PathBuf,
    pub keys: KeysPlan,
    pub network: String,
    /// The chain and deployment to assess; `None`: the assessment is marked as not made.
    pub chain: Option<(DynProvider, ExpectedDeployment, u64)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AuditSummary {
    pub network: String,
    pub package: PackageCheck,
    pub keys: KeysSummary,
    pub assessment: Option<Assessment>,
    /// Why there is no assessment, when there is none.
    pub assessment_error: Option<String>,
}

impl AuditSummary {
    pub fn passed(&self) -> bool {
        self.package.intact()
            && self.keys.passed
            && self
                .assessment
                .as_ref()
                .is_some_and(Assessment::code_matches)
    }

    pub fn to_markdown(&self) -> String {
        use std::fmt::Write;
        let mut md = String::new();
        let _ = writeln!(md, "# Audit report: {}\n", self.network);
        let p = &self.package;
        let _ = writeln!(
            md,
            "## Package\n\n`{}`: {} files, manifest sha256 `{}`, {}\n",
            p.dir.display(),
            p.files,
            p.manifest_sha256,
            if p.intact() {
                "intact".to_owned()
            } else {
                format!("{} problem(s)", p.problems.len())
            }
        );
        for problem in &p.problems {
            let _ = writeln!(md, "- {problem}");
        }
        let _ = writeln!(
            md,
            "## Keys\n\n{} keystore(s), {} finding(s)\n",
            self.keys.keys,
            self.keys.findings.len()
        );
        for f in &self.keys.findings {
            let _ = writeln!(md, "- {f}");
        }
        let _ = writeln!(md);
        match (&self.assessment, &self.assessment_error) {
            (Some(a), _) => {
                // The assessment's own report, one heading level down.
                for line in a.to_markdown().lines() {
                    let _ = match line.strip_prefix('#') {
                        Some(rest) if line.starts_with('#') => writeln!(md, "##{rest}"),
                        _ => writeln!(md, "{line}"),
                    };
                }
            }
            (None, error) => {
                let _ = writeln!(
                    md,
                    "## Assessment\n\nnot made: {}",
                    error.as_deref().unwrap_or("no chain")
                );
            }
        }
        md
    }
}

/// `audit report`: the package re-checked, `keys audit`, `emergency assess`.
pub async fn report(plan: &ReportPlan) -> Result<AuditSummary, EmergencyError> {
    let package = taonado_security::audit::check_package(&plan.package)?;
    let keys = keys_summary(&plan.keys)?;
    let (assessment, assessment_error) = match &plan.chain {
        Some((provider, expected, from_block)) => {
            match taonado_security::assess::assess(&plan.network, provider, expected, *from_block)
                .await
            {
                Ok(a) => (Some(a), None),
                Err(e) => (None, Some(e.to_string())),
            }
        }
        None => (None, Some("no deployment or no chain".to_owned())),
    };
    Ok(AuditSummary {
        network: plan.network.clone(),
        package,
        keys,
        assessment,
        assessment_error,
    })
}

/// What `audit weekly` checks.
pub struct WeeklyPlan {
    pub network: String,
    pub provider: DynProvider,
    pub health: HealthConfig,
    pub store: Option<Store>,
    pub keys: KeysPlan,
    /// The backup sets' folder; `None`: backups are not set up (reported, not failed).
    pub backups: Option<PathBuf>,
    /// A backup set must have verified within this many seconds.
    pub backup_max_age_secs: u64,
    pub expected: Option<ExpectedDeployment>,
    /// Where the result is stored (`~/.taonado/audits`).
    pub audits_dir: PathBuf,
    pub now: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BackupsSummary {
    pub dir: Option<PathBuf>,
    pub sets: usize,
    pub last_verified_at: Option<u64>,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CodeSummary {
    pub ok: bool,
    pub failing: Vec<String>,
    pub checks: Vec<Check>,
}

#[derive(Clone, Debug, Serialize)]
pub struct WeeklyReport {
    pub network: String,
    pub at: u64,
    pub at_utc: String,
    pub passed: bool,
    pub health: HealthReport,
    pub keys: KeysSummary,
    pub backups: BackupsSummary,
    pub code: CodeSummary,
    /// The stored copy of this report.
    pub stored: PathBuf,
}

fn backups_summary(dir: Option<&Path>, max_age: u64, now: u64) -> BackupsSummary {
    let Some(dir) = dir else {
        return BackupsSummary {
            dir: None,
            sets: 0,
            last_verified_at: None,
            ok: true,
            detail: "no backup folder configured: backups not checked".into(),
        };
    };
    match taonado_backup::set::list(dir) {
        Err(e) => BackupsSummary {
            dir: Some(dir.to_path_buf()),
            sets: 0,
            last_verified_at: None,
            ok: false,
            detail: e.to_string(),
        },
        Ok(sets) => {
            let last = sets.iter().filter_map(|s| s.last_verified_at).max();
            let ok = last.is_some_and(|t| now.saturating_sub(t) <= max_age);
            let detail = match last {
                None => format!(
                    "{} set(s), none ever verified (`taonado backup verify`)",
                    sets.len()
                ),
                Some(t) => format!(
                    "{} set(s), last verified {}{}",
                    sets.len(),
                    taonado_types::iso8601_utc(t),
                    if ok { "" } else { ": too long ago" }
                ),
            };
            BackupsSummary {
                dir: Some(dir.to_path_buf()),
                sets: sets.len(),
                last_verified_at: last,
                ok,
                detail,
            }
        }
    }
}

/// `audit weekly`: runs every part, stores the report as
/// `<audits_dir>/weekly-<unix seconds>.json` (0600) and returns it.
pub async fn weekly(plan: &WeeklyPlan) -> Result<WeeklyReport, EmergencyError> {
    let health =
        taonado_monitor::check_health(&plan.provider, plan.store.as_ref(), &plan.health).await;
    let keys = keys_summary(&plan.keys)?;
    let backups = backups_summary(plan.backups.as_deref(), plan.backup_max_age_secs, plan.now);
    let code = match &plan.expected {
        None => CodeSummary {
            ok: false,
            failing: vec!["no deployment record or configured addresses to check".into()],
            checks: Vec::new(),
        },
        Some(expected) => {
            match taonado_ops::deploy::verify::verify_deployment(&plan.provider, expected).await {
                Ok(checks) => {
                    let failing: Vec<String> = checks
                        .iter()
                        .filter(|c| c.status == CheckStatus::Fail)
                        .map(|c| format!("{} {}: {}", c.subject, c.check, c.detail))
                        .collect();
                    CodeSummary {
                        ok: failing.is_empty(),
                        failing,
                        checks,
                    }
                }
                Err(e) => CodeSummary {
                    ok: false,
                    failing: vec![taonado_types::redact_urls(&e.to_string()).into_owned()],
                    checks: Vec::new(),
                },
            }
        }
    };
    let stored = plan.audits_dir.join(format!("weekly-{}.json", plan.now));
    let report = WeeklyReport {
        network: plan.network.clone(),
        at: plan.now,
        at_utc: taonado_types::iso8601_utc(plan.now),
        passed: health.healthy && keys.passed && backups.ok && code.ok,
        health,
        keys,
        backups,
        code,
        stored: stored.clone(),
    };
    store_json(&plan.audits_dir, &stored, &report)?;
    Ok(report)
}

fn store_json(dir: &Path, path: &Path, report: &WeeklyReport) -> Result<(), EmergencyError> {
    let io = |p: &Path| {
        let path = p.to_path_buf();
        move |source| EmergencyError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let bytes = serde_json::to_vec_pretty(report).unwrap_or_default();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options
        .open(path)
        .and_then(|mut f| f.write_all(&bytes))
        .map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_need_a_recent_verification() {
        let none = backups_summary(None, 10, 100);
        assert!(none.ok, "not set up is reported, not failed");
        let dir = tempfile::tempdir().unwrap();
        let missing = backups_summary(Some(&dir.path().join("nope")), 10, 100);
        assert!(!missing.ok);
        let empty = backups_summary(Some(dir.path()), 10, 100);
        assert!(!empty.ok, "{}", empty.detail);
        assert!(
            empty.detail.contains("none ever verified"),
            "{}",
            empty.detail
        );
    }
}
