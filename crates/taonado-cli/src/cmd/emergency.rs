//! `taonado emergency stop|assess|notify`: the manual's "Critical Issues Response".
//! `stop` stops the registered taonado processes (`taonado_runreg::stop`), `assess` reports
//! what is at risk and what can be done (`taonado_security::assess::assess`), `notify` goes
//! through the monitor's outbox and channels (`taonado_monitor::emergency::notify`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use taonado_runreg::{Outcome, StopPlan, StopReport};

use taonado_ops::deploy::verify::ExpectedDeployment;
use taonado_security::assess::Assessment;

use taonado_monitor::emergency::NotifyReport;
use taonado_store::alerts::Severity;

use crate::args::{DeploymentsArgs, MonitorFiles, required_notifiers};
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum EmergencyCommand {
    /// Stop every registered taonado process (devnet, up, monitor, index, validator run,
    /// relayer, loadtest): SIGTERM, a wait for the clean exit, SIGKILL after --timeout.
    /// Clients stop before chains. Stale entries are reported and removed, never signalled.
    /// With --network N (or TAONADO_NETWORK), only the processes registered for N.
    Stop(StopArgs),
    /// What is at risk and what can be done: each contract's code against the artifacts,
    /// owner (key, Safe or contract), upgradeability and privileged functions; WTAO supply,
    /// pool balances, the EvmValidator's bounty funds and WeightsV3's inflated lifetime
    /// deposits; the options (upgrade, migrate, zero the bounty, raise the interval,
    /// rescue). Exit 1 when a contract's code differs from its artifact.
    Assess(AssessArgs),
    /// Send a notice through the monitor's channels and durable outbox (the monitor config's
    /// [[channels]]). Exit 1 if a channel failed: its message stays in the outbox and the
    /// monitor retries it.
    Notify(NotifyArgs),
}

#[derive(Args)]
pub struct NotifyArgs {
    /// info, warning or critical.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub severity: Severity,
    /// The notice's text.
    #[arg(long, value_name = "TEXT")]
    pub message: String,
    #[command(flatten)]
    pub files: MonitorFiles,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("`{s}` is not a severity: info, warning or critical"))
}

#[derive(Args)]
pub struct AssessArgs {
    /// Also write the report as markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
}

#[derive(Args)]
pub struct StopArgs {
    /// How long each process has to exit after SIGTERM before it is killed (30s, 500ms…).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::cmd::loadtest::parse_duration)]
    pub timeout: Duration,
    /// List what would be signalled; signal and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl EmergencyCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Stop(args) => args.run(context).await,
            Self::Assess(args) => args.run(context).await,
            Self::Notify(args) => args.run(context).await,
        }
    }
}

impl StopArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let home = context.home.clone().ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "cannot find the home directory (set HOME): the run registry is ~/.taonado/run"
            ))
        })?;
        let dir = taonado_runreg::run_dir(&home);
        let mut plan = StopPlan::new(self.timeout);
        plan.dry_run = self.dry_run;
        // `--network N` (or TAONADO_NETWORK) stops only that network's processes.
        plan.network = context.global.network.clone();
        // The wait polls and sleeps: off the async workers.
        let report = tokio::task::spawn_blocking(move || taonado_runreg::stop(&dir, &plan))
            .await
            .map_err(|e| CliError::failed(anyhow::Error::new(e).context("emergency stop")))?
            .map_err(CliError::failed)?;
        let view = StopView(report);
        if view.0.all_stopped() {
            return context.output.report(&view);
        }
        Err(context.output.report_failed(
            &view,
            anyhow::anyhow!("emergency stop: some processes are still running"),
        ))
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct StopView(StopReport);

impl Report for StopView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.0.processes.is_empty() {
            return writeln!(out, "no registered taonado process");
        }
        for p in &self.0.processes {
            let who = match (&p.pid, &p.command) {
                (Some(pid), Some(command)) => format!(
                    "{command} (pid {pid}{})",
                    p.network
                        .as_ref()
                        .map_or_else(String::new, |n| format!(", {n}"))
                ),
                _ => p.file.display().to_string(),
            };
            let how = match &p.outcome {
                Outcome::Terminated { after_secs } => {
                    format!("stopped cleanly after {after_secs:.1} s (SIGTERM)")
                }
                Outcome::Killed { after_secs } => format!(
                    "did not exit within {:.1} s: killed (SIGKILL) after {after_secs:.1} s",
                    self.0.timeout_secs
                ),
                Outcome::StillRunning { error } => format!(
                    "STILL RUNNING{}",
                    error
                        .as_ref()
                        .map_or_else(String::new, |e| format!(": {e}"))
                ),
                Outcome::Stale { reason } => {
                    format!("stale entry removed, not signalled: {reason}")
                }
                Outcome::WouldSignal => "would be stopped (dry run)".to_owned(),
                Outcome::Unreadable { error } => {
                    format!("unreadable entry, not signalled: {error}")
                }
            };
            writeln!(out, "{who}: {how}")?;
        }
        Ok(())
    }
}

/// The deployment to assess and the block its contracts were deployed from (0 without a
/// record); `None` when the network has neither a record nor configured addresses.
pub(crate) fn expected_deployment(
    network: &taonado_config::NetworkConfig,
    deployments_dir: &std::path::Path,
) -> Result<Option<(ExpectedDeployment, u64)>, CliError> {
    let deployment = network.deployment(deployments_dir)?;
    Ok(match &deployment.record {
        Some(record) => Some((
            ExpectedDeployment::from_record(record),
            record
                .contracts
                .values()
                .chain(record.pools.iter().map(|p| &p.contract))
                .filter_map(|c| c.block)
                .min()
                .unwrap_or(0),
        )),
        None if network.addresses.is_empty() => None,
        None => Some((
            ExpectedDeployment::from_addresses(
                network.chain_id,
                network.netuid,
                &network.addresses,
            )?,
            0,
        )),
    })
}

impl AssessArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let Some((expected, from_block)) =
            expected_deployment(&network, &self.deployments.deployments_dir)?
        else {
            return Err(CliError::usage(anyhow::anyhow!(
                "nothing to assess on {}: no deployment record in {} and no configured addresses; run `taonado deploy` first or pick another --network",
                network.name,
                self.deployments.deployments_dir.display()
            )));
        };
        let provider = taonado_client::connect(&network, &config).await?;
        let assessment =
            taonado_security::assess::assess(&network.name, &provider, &expected, from_block)
                .await
                .map_err(CliError::failed)?;
        if let Some(path) = &self.out {
            std::fs::write(path, assessment.to_markdown()).map_err(|e| {
                CliError::failed(
                    anyhow::Error::new(e).context(format!("writing {}", path.display())),
                )
            })?;
        }
        let view = AssessView(assessment);
        if view.0.code_matches() {
            return context.output.report(&view);
        }
        Err(context.output.report_failed(
            &view,
            anyhow::anyhow!("emergency assess: deployed code differs from the artifacts"),
        ))
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct AssessView(Assessment);

impl Report for AssessView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(self.0.to_markdown().as_bytes())
    }
}

impl NotifyArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        if self.message.trim().is_empty() {
            return Err(CliError::usage(anyhow::anyhow!(
                "--message is empty; say what happened"
            )));
        }
        let config = context.config()?;
        let network = context.network_name(&config);
        let file = self.files.load_config()?;
        let channels = required_notifiers(&file)?;
        let store = taonado_monitor::files::open_store(&self.files.db_path(&network))
            .map_err(crate::error::monitor_error)?;
        let report = taonado_monitor::emergency::notify(
            &store,
            &network,
            channels,
            file.delivery,
            self.severity,
            &self.message,
            taonado_deployment::unix_now(),
        )
        .await
        .map_err(crate::error::monitor_error)?;
        let view = NotifyView(report);
        if view.0.delivered() {
            return context.output.report(&view);
        }
        Err(context.output.report_failed(
            &view,
            anyhow::anyhow!(
                "emergency notify: not every channel took the notice; it stays in the outbox"
            ),
        ))
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct NotifyView(NotifyReport);

impl Report for NotifyView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for c in &self.0.channels {
            match (&c.delivered, &c.error) {
                (true, _) => writeln!(out, "{}: delivered", c.channel)?,
                (false, e) => writeln!(
                    out,
                    "{}: NOT delivered ({}), kept in the outbox as {}{}",
                    c.channel,
                    serde_json::to_value(c.state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    c.idempotency_key,
                    e.as_ref().map_or_else(String::new, |e| format!(": {e}"))
                )?,
            }
        }
        Ok(())
    }
}
