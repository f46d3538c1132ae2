//! `taonado audit package|report|weekly`: the audit package
//! (`taonado_security::audit::package`), its summary with `keys audit` and `emergency
//! assess` (`taonado_emergency::report`), and the weekly audit (`taonado_emergency::weekly`).

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use taonado_ops::deploy::verify::ExpectedDeployment;
use taonado_security::audit::{PackagePlan, PackageReport};

use taonado_emergency::{AuditSummary, WeeklyReport};

use crate::args::{DeploymentsArgs, MonitorFiles};
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Write the audit package to a folder: sources and standard-JSON input, artifacts and
    /// storage layouts, deployed addresses with their on-chain code hashes, gas report,
    /// test list, dependencies with versions, known defects, and a SHA-256 manifest (the
    /// same tree gives the same manifest).
    Package(PackageArgs),
    /// Summarise a package (every file re-hashed against its manifest) with the findings of
    /// `keys audit` and `emergency assess`. Exit 1 on a changed package, a key finding or
    /// deployed code that differs from the artifacts.
    Report(ReportArgs),
    /// The manual's weekly audit: health, keys, backups (last verification), deployed code
    /// against the artifacts. Stored as ~/.taonado/audits/weekly-<time>.json; exit 1 when a
    /// part fails.
    Weekly(WeeklyArgs),
}

#[derive(Args)]
pub struct ReportArgs {
    /// The package folder (`audit package --out DIR`).
    #[arg(long, value_name = "DIR")]
    pub package: PathBuf,
    /// Also write the summary as markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A key older than this many days is due for rotation.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub rotation_days: u64,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
}

#[derive(Args)]
pub struct WeeklyArgs {
    /// Folder of the backup sets (`taonado backup create --dest`); without it backups are
    /// reported as not set up.
    #[arg(long, value_name = "DIR")]
    pub backups: Option<PathBuf>,
    /// A backup set must have passed `backup verify` within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub backup_max_age_days: u64,
    /// A key older than this many days is due for rotation.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub rotation_days: u64,
    #[command(flatten)]
    pub files: MonitorFiles,
}

#[derive(Args)]
pub struct PackageArgs {
    /// The folder to write (a previous package there is replaced; any other non-empty
    /// folder is refused).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A gas report to include (`taonado gas-report --json > gas.json`, or
    /// target/gas-report.md) [default: the gas of the deployment's own blocks, read from
    /// the chain].
    #[arg(long, value_name = "FILE")]
    pub gas_report: Option<PathBuf>,
    /// A test list to include (`cargo test --workspace -- --list` in a checkout).
    #[arg(long, value_name = "FILE")]
    pub test_list: Option<PathBuf>,
    /// Do not read the deployed code hashes from the chain.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
}

impl AuditCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Package(args) => args.run(context).await,
            Self::Report(args) => args.run(context).await,
            Self::Weekly(args) => args.run(context).await,
        }
    }
}

impl PackageArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        if self
            .out
            .extension()
            .is_some_and(|e| e == "gz" || e == "tar" || e == "tgz")
        {
            return Err(CliError::usage(anyhow::anyhow!(
                "--out {}: this build writes a folder only (no tar/gzip library); write a folder, then `tar czf` it",
                self.out.display()
            )));
        }
        for (flag, path) in [
            ("--gas-report", &self.gas_report),
            ("--test-list", &self.test_list),
        ] {
            if let Some(path) = path.as_ref().filter(|p| !p.is_file()) {
                return Err(CliError::usage(anyhow::anyhow!(
                    "{flag} {}: no such file",
                    path.display()
                )));
            }
        }
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let deployment = network.deployment(&self.deployments.deployments_dir)?;
        let deploy_gas = deployment.record.as_ref().and_then(|record| {
            let blocks = record
                .contracts
                .values()
                .chain(record.pools.iter().map(|p| &p.contract))
                .filter_map(|c| c.block);
            Some((
                deployment.record_path.clone(),
                blocks.clone().min()?,
                blocks.max()?,
            ))
        });
        let expected = match &deployment.record {
            Some(record) => Some(ExpectedDeployment::from_record(record)),
            None if network.addresses.is_empty() => None,
            None => Some(ExpectedDeployment::from_addresses(
                network.chain_id,
                network.netuid,
                &network.addresses,
            )?),
        };
        // An unreachable chain is marked in the package, not an error.
        let provider = match (self.offline, &expected) {
            (false, Some(_)) => match taonado_client::connect(&network, &config).await {
                Ok(provider) => Some(provider),
                Err(error) => {
                    tracing::warn!("code hashes not read: {error}");
                    None
                }
            },
            _ => None,
        };
        let plan = PackagePlan {
            out: self.out,
            network: network.name.clone(),
            expected,
            provider,
            gas_report: self.gas_report,
            deploy_gas,
            test_list: self.test_list,
        };
        let report = taonado_security::audit::package(&plan)
            .await
            .map_err(|e| match e {
                taonado_security::audit::AuditError::NotAPackage(_) => CliError::usage(e),
                other => CliError::failed(other),
            })?;
        context.output.report(&PackageView(report))
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct PackageView(PackageReport);

impl Report for PackageView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        writeln!(
            out,
            "audit package: {} ({} files)",
            r.out.display(),
            r.files.len()
        )?;
        writeln!(out, "manifest sha256: {}", r.manifest_sha256)?;
        writeln!(out, "deployed code hashes: {}", r.chain)?;
        for note in &r.notes {
            writeln!(out, "note: {note}")?;
        }
        Ok(())
    }
}

impl ReportArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        if !self
            .package
            .join(taonado_security::audit::MANIFEST)
            .is_file()
        {
            return Err(CliError::usage(anyhow::anyhow!(
                "--package {}: not an audit package (no {}); make one with `taonado audit package --out DIR`",
                self.package.display(),
                taonado_security::audit::MANIFEST
            )));
        }
        let keys = crate::cmd::keys::KeysArgs {
            deployments: self.deployments.clone(),
            rotation_days: self.rotation_days,
            onchain: false,
        }
        .plan(context)?;
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let chain = match crate::cmd::emergency::expected_deployment(
            &network,
            &self.deployments.deployments_dir,
        )? {
            None => None,
            Some((expected, from_block)) => {
                match taonado_client::connect(&network, &config).await {
                    Ok(provider) => Some((provider, expected, from_block)),
                    Err(error) => {
                        tracing::warn!("no assessment: {error}");
                        None
                    }
                }
            }
        };
        let plan = taonado_emergency::ReportPlan {
            package: self.package,
            keys,
            network: network.name.clone(),
            chain,
        };
        let summary = taonado_emergency::report(&plan)
            .await
            .map_err(CliError::failed)?;
        if let Some(path) = &self.out {
            std::fs::write(path, summary.to_markdown()).map_err(|e| {
                CliError::failed(
                    anyhow::Error::new(e).context(format!("writing {}", path.display())),
                )
            })?;
        }
        let view = SummaryView(summary);
        if view.0.passed() {
            return context.output.report(&view);
        }
        Err(context
            .output
            .report_failed(&view, anyhow::anyhow!("audit report: findings above")))
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct SummaryView(AuditSummary);

impl Report for SummaryView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(self.0.to_markdown().as_bytes())
    }
}

impl WeeklyArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let keys = crate::cmd::keys::KeysArgs {
            deployments: DeploymentsArgs {
                deployments_dir: self.files.deployments_dir.clone(),
            },
            rotation_days: self.rotation_days,
            onchain: false,
        }
        .plan(context)?;
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let file = self.files.load_config()?;
        let contracts = network
            .deployment(&self.files.deployments_dir)?
            .watched(network.wtao_owned);
        let store = self.files.existing_store(&network.name)?;
        // As `health`: no chain-id check at connect time, a wrong chain is a failed check.
        let provider = taonado_client::ProviderSpec::new(vec![network.rpc_url.clone()])
            .build()?
            .into_provider();
        let expected =
            crate::cmd::emergency::expected_deployment(&network, &self.files.deployments_dir)?
                .map(|(e, _)| e);
        let plan = taonado_emergency::WeeklyPlan {
            network: network.name.clone(),
            provider,
            health: taonado_monitor::HealthConfig {
                network: network.name.clone(),
                expected_chain_id: network.chain_id,
                contracts,
                rules: file.rules,
            },
            store,
            keys,
            backups: self.backups,
            backup_max_age_secs: self.backup_max_age_days.saturating_mul(86_400),
            expected,
            audits_dir: context.data_subdir(&["audits"])?,
            now: taonado_deployment::unix_now(),
        };
        let report = taonado_emergency::weekly(&plan)
            .await
            .map_err(CliError::failed)?;
        let view = WeeklyView(report);
        if view.0.passed {
            return context.output.report(&view);
        }
        Err(context
            .output
            .report_failed(&view, anyhow::anyhow!("weekly audit: a part failed")))
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct WeeklyView(WeeklyReport);

impl Report for WeeklyView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        let mark = |ok: bool| if ok { "ok  " } else { "FAIL" };
        writeln!(out, "weekly audit of {} at {}", r.network, r.at_utc)?;
        writeln!(out, "{} health", mark(r.health.healthy))?;
        for c in r.health.checks.iter().filter(|c| !c.ok) {
            writeln!(out, "       {}: {}", c.name, c.detail)?;
        }
        writeln!(
            out,
            "{} keys ({} finding(s))",
            mark(r.keys.passed),
            r.keys.findings.len()
        )?;
        for f in &r.keys.findings {
            writeln!(out, "       {f}")?;
        }
        writeln!(out, "{} backups: {}", mark(r.backups.ok), r.backups.detail)?;
        writeln!(
            out,
            "{} deployed code against the artifacts",
            mark(r.code.ok)
        )?;
        for f in &r.code.failing {
            writeln!(out, "       {f}")?;
        }
        writeln!(out, "stored: {}", r.stored.display())
    }
}
