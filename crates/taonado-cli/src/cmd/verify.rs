//! `taonado verify`: submit the deployed contracts' sources to the network's explorer
//! (Etherscan/Blockscout API) and save the result; `taonado verify report` renders it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use taonado_ops::DeploymentRecord;
use taonado_ops::explorer::{
    COMPILER_VERSION, ExplorerClient, ExplorerPolicy, VerificationReport, VerificationStatus,
};
use url::Url;

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

/// Environment variable read for the explorer API key unless --api-key-env names another.
pub const DEFAULT_API_KEY_ENV: &str = "TAONADO_EXPLORER_API_KEY";

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VerifyArgs {
    #[command(subcommand)]
    pub action: Option<VerifyAction>,
    /// Explorer API (Etherscan-compatible) [default: the network's explorer_api].
    #[arg(long, value_name = "URL")]
    pub explorer: Option<Url>,
    /// Environment variable holding the explorer API key (never passed as a flag).
    #[arg(long, value_name = "VAR", default_value = DEFAULT_API_KEY_ENV)]
    pub api_key_env: String,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Submit the sources of this checkout (`contracts/`, holding `src/`) instead of the
    /// ones the artifacts were compiled from, which come with the binary.
    #[arg(long, value_name = "DIR")]
    pub contracts_dir: Option<PathBuf>,
    /// Where the OpenZeppelin imports of --contracts-dir are (`npm ci` installs them)
    /// [default: node_modules].
    #[arg(long, value_name = "DIR", requires = "contracts_dir")]
    pub node_modules: Option<PathBuf>,
    /// Result file [default: <deployments-dir>/<network>.verification.json].
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Seconds between status polls.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub poll_interval: f64,
    /// Status polls before a pending verification is reported as timed out.
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub max_polls: u32,
    /// Attempts per request on HTTP 5xx, rate limits and connection errors.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub retries: u32,
    /// Seconds before the first retry (doubled for each further one).
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub retry_backoff: f64,
}

#[derive(Subcommand)]
pub enum VerifyAction {
    /// Render a saved verification result (markdown or json).
    Report(VerifyReportArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
}

#[derive(Args)]
pub struct VerifyReportArgs {
    /// The result file [default: deployments/<network>.verification.json].
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Directory of deployment records, for the default input.
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn seconds(value: f64, flag: &str) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        CliError::usage(anyhow::anyhow!(
            "{flag} must be a non-negative number of seconds"
        ))
    })
}

/// The result file of a network.
pub fn result_path(dir: &Path, network: &str) -> PathBuf {
    dir.join(format!("{network}.verification.json"))
}

/// What `taonado verify` prints.
#[derive(Serialize)]
pub struct VerifyOutput {
    pub saved_to: PathBuf,
    #[serde(flatten)]
    pub report: VerificationReport,
}

impl Report for VerifyOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.report;
        writeln!(
            out,
            "network {} (chain {}), explorer {}, compiler {}",
            r.network, r.chain_id, r.explorer, r.compiler
        )?;
        let mut table = crate::output::table(&[
            "contract",
            "address",
            "local bytecode",
            "explorer",
            "message",
        ]);
        for row in &r.results {
            table.add_row(vec![
                row.name.clone(),
                row.address.to_string(),
                row.local_match.clone(),
                status_word(row.status).to_owned(),
                row.message.clone(),
            ]);
        }
        writeln!(out, "{table}")?;
        writeln!(out, "saved to {}", self.saved_to.display())
    }
}

fn status_word(status: VerificationStatus) -> &'static str {
    match status {
        VerificationStatus::Verified => "verified",
        VerificationStatus::AlreadyVerified => "already verified",
        VerificationStatus::Failed => "FAILED",
        VerificationStatus::Skipped => "skipped",
        VerificationStatus::TimedOut => "TIMED OUT",
    }
}

impl VerifyArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        if let Some(VerifyAction::Report(args)) = self.action {
            return args.run(context);
        }
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let record_path = taonado_deployment::record_path(&self.deployments_dir, &network.name);
        let record = DeploymentRecord::load(&record_path)?.ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "no deployment record at {}; `taonado verify` submits what `taonado deploy` recorded (constructor arguments included)",
                record_path.display()
            ))
        })?;
        let explorer = self
            .explorer
            .clone()
            .or_else(|| network.explorer_api.clone())
            .ok_or_else(|| {
                CliError::usage(anyhow::anyhow!(
                    "network {} has no explorer; pass --explorer URL or set networks.{}.explorer_api",
                    network.name,
                    network.name
                ))
            })?;
        let api_key = std::env::var(&self.api_key_env)
            .ok()
            .filter(|k| !k.is_empty());
        if api_key.is_none() {
            tracing::info!(var = %self.api_key_env, "no explorer api key set; submitting without one");
        }
        let policy = ExplorerPolicy {
            attempts: self.retries.max(1),
            backoff: seconds(self.retry_backoff, "--retry-backoff")?,
            poll_interval: seconds(self.poll_interval, "--poll-interval")?,
            max_polls: self.max_polls.max(1),
        };
        let input = match &self.contracts_dir {
            Some(contracts_dir) => taonado_ops::explorer::standard_json_input(
                contracts_dir,
                self.node_modules
                    .as_deref()
                    .unwrap_or(Path::new("node_modules")),
            )
            .map_err(|e| CliError::usage(taonado_ops::OpsError::from(e)))?,
            None => taonado_ops::explorer::committed_standard_json_input()
                .map_err(|e| CliError::failed(taonado_ops::OpsError::from(e)))?,
        };
        let client = ExplorerClient::new(explorer.clone(), api_key, policy)
            .map_err(|e| CliError::failed(taonado_ops::OpsError::from(e)))?;
        let provider = taonado_client::connect(&network, &config).await?;
        let results =
            taonado_ops::explorer::verify_record(&provider, &client, &record, &input).await?;
        let report = VerificationReport {
            network: network.name.clone(),
            chain_id: network.chain_id,
            explorer: explorer.to_string(),
            compiler: COMPILER_VERSION.to_owned(),
            finished_at: taonado_deployment::unix_now(),
            results,
        };
        let saved_to = self
            .output
            .clone()
            .unwrap_or_else(|| result_path(&self.deployments_dir, &network.name));
        report.save(&saved_to)?;
        let ok = report.ok();
        let failing: Vec<String> = report
            .results
            .iter()
            .filter(|r| {
                matches!(
                    r.status,
                    VerificationStatus::Failed | VerificationStatus::TimedOut
                )
            })
            .map(|r| format!("{} {}: {}", r.name, status_word(r.status), r.message))
            .collect();
        let output = VerifyOutput { saved_to, report };
        if ok {
            return context.output.report(&output);
        }
        let error = anyhow::anyhow!(
            "verification incomplete (saved to {}): {}",
            output.saved_to.display(),
            failing.join("; ")
        );
        Err(context.output.report_failed(&output, error))
    }
}

/// `verify report` under --json: the saved report as data.
#[derive(Serialize)]
struct SavedReport(VerificationReport);

impl Report for SavedReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(self.0.to_markdown().as_bytes())
    }
}

impl VerifyReportArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let input = match self.input {
            Some(path) => path,
            None => {
                let config = context.config()?;
                result_path(&self.deployments_dir, &context.network_name(&config))
            }
        };
        if !input.is_file() {
            return Err(CliError::usage(anyhow::anyhow!(
                "no verification result at {}; run `taonado verify` first or pass --input FILE",
                input.display()
            )));
        }
        let report = VerificationReport::load(&input).map_err(CliError::usage)?;
        let text = match self.format {
            ReportFormat::Md => report.to_markdown(),
            ReportFormat::Json => {
                let mut json = serde_json::to_string_pretty(&report).map_err(|e| {
                    CliError::failed(anyhow::Error::new(e).context("rendering the report"))
                })?;
                json.push('\n');
                json
            }
        };
        match self.output {
            Some(path) => {
                std::fs::write(&path, &text).map_err(|e| {
                    CliError::failed(
                        anyhow::Error::new(e).context(format!("writing {}", path.display())),
                    )
                })?;
                context.output.line(&format!("wrote {}", path.display()))
            }
            None if context.output.is_json() => context.output.report(&SavedReport(report)),
            None => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
                Ok(())
            }
        }
    }
}
