//! `taonado compliance monitor|report|retention|purge`: the monitor's compliance rules over
//! the indexed database (`taonado_monitor::compliance`): one monitoring pass, the monthly
//! report in markdown, HTML or JSON, and the retention policy with its purge. Offline: only the database is read.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use taonado_deployment::unix_now;
use taonado_monitor::compliance::{
    self, ComplianceReport, PurgeReport, ReportPlan, ScanPlan, ScanReport,
};
use taonado_store::compliance::RetentionPolicy;

use crate::args::MonitorFiles;
use crate::context::Context;
use crate::error::{CliError, monitor_error};
use crate::output::Report;

#[derive(Subcommand)]
pub enum ComplianceCommand {
    /// Transaction monitoring, once: evaluate the compliance rules over the monitor's
    /// database now (recording new flags, as every round of `taonado monitor` does) and
    /// list the flags of the last `--since`. Exits 0 whether or not anything is flagged.
    Monitor(MonitorArgs),
    /// The mixer's compliance report for a month: flags of the rules (withdraw-to-self,
    /// address match, unique gas price, multi-denomination, rapid in-and-out, structuring),
    /// volumes, pools and their effective anonymity sets. Evaluates the rules first.
    Report(ReportArgs),
    /// Record the retention policy (`--policy 7y`), or purge what it no longer keeps
    /// (`--apply`, `--dry-run` to count only).
    Retention(RetentionArgs),
    /// Delete one kind of data older than `--older-than`, and only what the recorded
    /// policy no longer keeps, securely (SQLite secure_delete, then VACUUM).
    Purge(PurgeArgs),
}

/// What `compliance purge` deletes.
#[derive(Clone, Copy, ValueEnum)]
pub enum DataType {
    /// The compliance rules' flags.
    Flags,
    /// The monitor's logs: resolved alerts, sent or dead notifications, old state
    /// snapshots (`db cleanup`'s retention; never indexed chain data).
    Logs,
}

#[derive(Args)]
pub struct PurgeArgs {
    #[arg(long, value_enum)]
    pub data_type: DataType,
    /// Age of the oldest data kept: `1y`, `18m` (months), `90d`, `2w`. The recorded policy
    /// wins when it keeps longer.
    #[arg(long, value_name = "DURATION")]
    pub older_than: String,
    /// Count what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Serialize)]
pub struct PurgeOutput {
    data_type: &'static str,
    policy: String,
    cutoff: u64,
    cutoff_utc: String,
    dry_run: bool,
    deleted: Vec<(String, u64)>,
}

impl Report for PurgeOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        for (table, rows) in &self.deleted {
            writeln!(
                out,
                "{verb} {rows} rows of {table} older than {} (policy {})",
                self.cutoff_utc, self.policy
            )?;
        }
        Ok(())
    }
}

impl PurgeArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let older_than = age("--older-than", &self.older_than)?;
        let settings = self.files.load_config()?.rules.compliance;
        let db = self.files.db_path(&network.name);
        let store = self.files.required_store(&network.name)?;
        let (policy, cutoff) =
            compliance::purge_cutoff(&store, &settings, unix_now(), Some(older_than))
                .map_err(monitor_error)?;
        let (data_type, deleted) = match self.data_type {
            DataType::Flags => {
                let report = compliance::purge(
                    &store,
                    &settings,
                    unix_now(),
                    Some(older_than),
                    self.dry_run,
                )
                .map_err(monitor_error)?;
                (
                    "flags",
                    report
                        .deleted
                        .into_iter()
                        .map(|c| (c.table.to_owned(), c.rows))
                        .collect(),
                )
            }
            DataType::Logs => {
                // The monitor's own connection is closed first: VACUUM needs the file alone.
                drop(store);
                let report = taonado_backup::maint::cleanup_securely(&db, cutoff, !self.dry_run)?;
                (
                    "logs",
                    report
                        .lines
                        .into_iter()
                        .map(|l| (l.table.to_owned(), l.rows))
                        .collect(),
                )
            }
        };
        context.output.report(&PurgeOutput {
            data_type,
            policy: policy.label,
            cutoff,
            cutoff_utc: taonado_types::iso8601_utc(cutoff),
            dry_run: self.dry_run,
            deleted,
        })
    }
}

#[derive(Args)]
pub struct MonitorArgs {
    /// List the flags of this last stretch of chain time: `30d`, `2w`, `6m` (months), `1y`.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub since: String,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Serialize)]
#[serde(transparent)]
pub struct ScanOutput(ScanReport);

impl Report for ScanOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        writeln!(
            out,
            "compliance rules evaluated up to block {}: {} new flag(s); {} flag(s) since {}",
            r.checkpoint
                .map_or_else(|| "- (nothing indexed)".to_owned(), |b| b.to_string()),
            r.new_flags,
            r.flags.len(),
            r.since
        )?;
        for rule in r.rules.iter().filter(|c| c.flags > 0) {
            writeln!(
                out,
                "  {}: {} (highest score {:.2})",
                rule.rule, rule.flags, rule.max_score
            )?;
        }
        for f in &r.flags {
            writeln!(
                out,
                "  block {} {} score {:.2}: deposit {} → withdrawal {}: {}",
                f.block, f.rule, f.score, f.deposit_key, f.withdrawal_key, f.explanation
            )?;
        }
        Ok(())
    }
}

impl MonitorArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let since = age("--since", &self.since)?;
        let file = self.files.load_config()?;
        let contracts = network
            .deployment(&self.files.deployments_dir)?
            .watched(network.wtao_owned);
        let now = unix_now();
        let plan = ScanPlan {
            contracts,
            settings: file.rules.compliance,
            now,
            since: now.saturating_sub(since),
        };
        let store = self.files.required_store(&network.name)?;
        let report = compliance::scan(&store, &plan).map_err(monitor_error)?;
        context.output.report(&ScanOutput(report))
    }
}

/// Seconds of an age given to `flag` (`1y`, `18m` months, `90d`, `2w`): the retention
/// policy's syntax.
fn age(flag: &str, text: &str) -> Result<u64, CliError> {
    taonado_monitor::rules::compliance::parse_retention(text).ok_or_else(|| {
        CliError::usage(anyhow::anyhow!(
            "{flag} {text}: write a duration such as 1y, 18m (months), 90d or 2w"
        ))
    })
}

impl ComplianceCommand {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Monitor(args) => args.run(context),
            Self::Report(args) => args.run(context),
            Self::Retention(args) => args.run(context),
            Self::Purge(args) => args.run(context),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Markdown,
    Html,
    Json,
}

#[derive(Args)]
pub struct ReportArgs {
    /// The reporting period: `monthly`.
    #[arg(long, value_name = "PERIOD", default_value = "monthly")]
    pub period: String,
    /// The month, YYYY-MM [default: the current month, UTC].
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// How the report is written (`--json` prints the report's data in the envelope).
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Serialize)]
pub struct ReportOutput {
    #[serde(flatten)]
    pub report: ComplianceReport,
    pub written: Option<PathBuf>,
    #[serde(skip)]
    rendered: String,
}

impl Report for ReportOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match &self.written {
            Some(path) => writeln!(
                out,
                "compliance report {} written to {} ({} flags)",
                self.report.month,
                path.display(),
                self.report.flags.len()
            ),
            None => out.write_all(self.rendered.as_bytes()),
        }
    }
}

impl ReportArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let file = self.files.load_config()?;
        let contracts = network
            .deployment(&self.files.deployments_dir)?
            .watched(network.wtao_owned);
        let plan = ReportPlan {
            network: network.name.clone(),
            period: self.period,
            month: self.month,
            contracts,
            settings: file.rules.compliance,
            now: unix_now(),
        };
        // Bad input is refused before the database is opened or written.
        compliance::report_month(&plan).map_err(monitor_error)?;
        let store = self.files.required_store(&network.name)?;
        let report = compliance::report(&store, &plan).map_err(monitor_error)?;
        let rendered = match self.format {
            Format::Markdown => report.document().to_markdown(),
            Format::Html => report.document().to_html(),
            Format::Json => {
                serde_json::to_string_pretty(&report)
                    .map_err(|e| CliError::failed(anyhow::anyhow!("encoding the report: {e}")))?
                    + "\n"
            }
        };
        if let Some(path) = &self.out {
            taonado_deployment::fs::write_atomic(path, rendered.as_bytes())
                .map_err(|e| CliError::failed(anyhow::anyhow!(e)))?;
        }
        context.output.report(&ReportOutput {
            report,
            written: self.out,
            rendered,
        })
    }
}

#[derive(Args)]
pub struct RetentionArgs {
    /// Record this retention policy (`7y`, `18m` months, `90d`, `2w`); shorter than the
    /// legal minimum (`[rules.compliance] retention_minimum`, default 5y) is refused.
    #[arg(long, value_name = "DURATION", conflicts_with = "apply")]
    pub policy: Option<String>,
    /// Delete the compliance flags older than the recorded policy (securely: SQLite
    /// secure_delete, then VACUUM). Chain data is never deleted.
    #[arg(long)]
    pub apply: bool,
    /// With --apply: count what would be deleted, delete nothing.
    #[arg(long, requires = "apply")]
    pub dry_run: bool,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum RetentionOutput {
    Policy { policy: Option<RetentionPolicy> },
    Purge(PurgeReport),
}

impl Report for RetentionOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match self {
            Self::Policy { policy: None } => writeln!(
                out,
                "no retention policy recorded; record one with --policy 7y"
            ),
            Self::Policy { policy: Some(p) } => writeln!(
                out,
                "retention policy {} ({} days), recorded at {}",
                p.label,
                p.retention_secs / 86_400,
                taonado_types::iso8601_utc(p.set_at)
            ),
            Self::Purge(r) => {
                let verb = if r.dry_run { "would delete" } else { "deleted" };
                for c in &r.deleted {
                    writeln!(
                        out,
                        "{verb} {} rows of {} older than {} (policy {})",
                        c.rows, c.table, r.cutoff_utc, r.policy.label
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl RetentionArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let settings = self.files.load_config()?.rules.compliance;
        let output = if let Some(policy) = &self.policy {
            // Checked against the legal minimum before the database is opened.
            compliance::check_retention(&settings, policy).map_err(monitor_error)?;
            let store = taonado_monitor::files::open_store(&self.files.db_path(&network.name))
                .map_err(monitor_error)?;
            RetentionOutput::Policy {
                policy: Some(
                    compliance::set_retention(&store, &settings, policy).map_err(monitor_error)?,
                ),
            }
        } else if self.apply {
            let store = self.files.required_store(&network.name)?;
            RetentionOutput::Purge(
                compliance::purge(&store, &settings, unix_now(), None, self.dry_run)
                    .map_err(monitor_error)?,
            )
        } else {
            let store = self.files.required_store(&network.name)?;
            RetentionOutput::Policy {
                policy: store
                    .retention_policy()
                    .map_err(crate::error::store_error)?,
            }
        };
        context.output.report(&output)
    }
}
