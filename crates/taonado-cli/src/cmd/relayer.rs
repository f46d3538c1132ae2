//! `taonado relayer`: the relayer for private withdrawals, `taonado_relayer::Relayer`. This
//! command resolves its plan (network, deployment record, signer, fee policy, alert
//! channels), announces the API's URL and renders the report after the stop.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::U256;
use clap::Args;
use serde::Serialize;
use taonado_ops::DeploymentRecord;
use taonado_relayer::{Relayer, RelayerPlan, RelayerReport};

use crate::args::{DeploymentsArgs, notifiers};
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;
use crate::signer::SignerOpts;

#[derive(Args)]
pub struct RelayerArgs {
    /// Address of the API (/v1/status, /v1/tornadoWithdraw, /v1/jobs/ID) and /metrics.
    /// Loopback by default: put a TLS reverse proxy in front to serve the public.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The job database [default: data/<network>-relayer.db].
    #[arg(long, value_name = "PATH")]
    pub jobs_db: Option<PathBuf>,
    /// Directory with the withdraw.vk.json of a ceremony the pools' verifier was deployed
    /// with (Tornado's and the local dev key are built in).
    #[arg(long, value_name = "DIR")]
    pub keys_dir: Option<PathBuf>,
    /// Service fee, in basis points of the pool's denomination (5 = 0.05 %).
    #[arg(long, value_name = "BPS", default_value_t = 5)]
    pub service_fee_bps: u64,
    /// Margin on the gas cost in the fee, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 20)]
    pub gas_margin_percent: u64,
    /// The gas limit withdrawals are sent with and priced at.
    #[arg(long, value_name = "GAS", default_value_t = RelayerPlan::DEFAULT_GAS_LIMIT)]
    pub gas_limit: u64,
    /// Never send above this gas price (the first send too), in gwei.
    #[arg(long, value_name = "GWEI", default_value_t = 1000)]
    pub max_gas_price_gwei: u64,
    /// How long a quote's gas price is honoured, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub quote_ttl: u64,
    /// Blocks (the mined one included) before a job is CONFIRMED [default: 1 on a dev
    /// chain, 3 otherwise].
    #[arg(long, value_name = "N")]
    pub confirmations: Option<u64>,
    /// Replace a transaction not mined after this many seconds (gas price +12.5 %).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub stuck_after: u64,
    /// Accept and queue jobs but send nothing (maintenance); a run without it sends them.
    #[arg(long)]
    pub paused: bool,
    /// Withdrawal requests per minute from one IP address.
    #[arg(long, value_name = "N", default_value_t = RelayerPlan::DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,
    /// The largest request body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = RelayerPlan::DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// WARN alert when the relayer's balance falls below this, in TAO.
    #[arg(long, value_name = "TAO", default_value = "1")]
    pub balance_warn: String,
    /// CRITICAL alert below this, in TAO.
    #[arg(long, value_name = "TAO", default_value = "0.1")]
    pub balance_critical: String,
    /// Check everything (chain, record, pools' keys, signer, database, address), print
    /// the ready line (URL and address), and stop without serving or sending.
    #[arg(long)]
    pub dry_run: bool,
    /// Required to relay on a live network: the relayer spends its account's TAO on gas.
    #[arg(long)]
    pub yes: bool,
    /// The monitor's config file, whose `[[channels]]` the balance alerts go to
    /// [default: ./monitor.toml if it exists, else no channels].
    #[arg(long, value_name = "FILE")]
    pub alerts_config: Option<PathBuf>,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
    #[command(flatten)]
    pub signer: SignerOpts,
}

/// Printed once the API listens (a JSON envelope line under --json).
#[derive(Serialize)]
pub struct RelayerReady {
    pub relayer_url: String,
    pub address: alloy::primitives::Address,
    pub network: String,
    pub jobs_db: PathBuf,
    pub paused: bool,
    pub dry_run: bool,
}

impl Report for RelayerReady {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "relayer {} on {}: {}v1/status ({}){}",
            self.address,
            self.network,
            self.relayer_url,
            self.jobs_db.display(),
            if self.dry_run {
                "; dry run: checked, nothing served or sent"
            } else if self.paused {
                "; paused: jobs are queued, not sent"
            } else {
                ""
            }
        )
    }
}

impl Report for RelayerReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "relayer stopped: {} job(s) confirmed, {} failed, {} still queued (sent by the next run)",
            self.jobs_confirmed, self.jobs_failed, self.queue
        )
    }
}

fn tao(flag: &str, text: &str) -> Result<U256, CliError> {
    taonado_types::parse_tao(text)
        .map_err(|e| CliError::usage(anyhow::anyhow!("{flag} {text:?}: {e}")))
}

impl RelayerArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        if !network.dev_chain && !self.yes && !self.dry_run {
            return Err(CliError::usage(anyhow::anyhow!(
                "network {} is live: the relayer pays gas from its account; pass --yes to relay (or --dry-run to check)",
                network.name
            )));
        }
        if self.stuck_after == 0 || self.quote_ttl == 0 {
            return Err(CliError::usage(anyhow::anyhow!(
                "--stuck-after and --quote-ttl must be positive numbers of seconds"
            )));
        }
        let warn = tao("--balance-warn", &self.balance_warn)?;
        let critical = tao("--balance-critical", &self.balance_critical)?;
        let record_path =
            taonado_deployment::record_path(&self.deployments.deployments_dir, &network.name);
        let record = DeploymentRecord::load(&record_path)?.ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "no deployment record at {}; run `taonado deploy` first or pass --deployments-dir",
                record_path.display()
            ))
        })?;
        let file = taonado_monitor::files::load_file(self.alerts_config.as_deref())
            .map_err(crate::error::monitor_error)?;
        let channels = notifiers(&file)?;
        let db_path = self
            .jobs_db
            .clone()
            .unwrap_or_else(|| PathBuf::from("data").join(format!("{}-relayer.db", network.name)));
        let mut plan = RelayerPlan::new(network.name.clone(), record, self.listen, db_path.clone());
        plan.keys_dir = self.keys_dir;
        plan.policy.service_fee_bps = self.service_fee_bps;
        plan.policy.gas_margin_percent = self.gas_margin_percent;
        plan.policy.gas_limit = self.gas_limit;
        plan.policy.max_gas_price = u128::from(self.max_gas_price_gwei) * 1_000_000_000;
        plan.policy.quote_ttl_secs = self.quote_ttl;
        plan.confirmations = self
            .confirmations
            .unwrap_or(if network.dev_chain { 1 } else { 3 });
        plan.stuck_after = Duration::from_secs(self.stuck_after);
        plan.paused = self.paused;
        plan.rate_limit_per_minute = self.rate_limit;
        plan.max_body_bytes = self.max_body;
        plan.alerts.warn_below = warn;
        plan.alerts.critical_below = critical;
        plan.alerts.notifiers = channels;
        // Crash tests only: die between recording a transaction and broadcasting it.
        plan.abort_after_record =
            std::env::var_os("TAONADO_RELAYER_TEST_ABORT_AFTER_RECORD").is_some_and(|v| v == "1");
        let signer = self.signer.signer_or_dev_account(context, &network)?;
        let signals = crate::shutdown::StopSignals::install()?;
        let _registration = context.register_run("relayer", Some(&network.name));
        let shutdown = signals.into_watch();
        // A relayer started while its node is down waits for it, as the monitor does.
        let Some(provider) =
            taonado_client::connect_when_reachable(&network, &config, shutdown.clone()).await?
        else {
            tracing::info!("stopped before the RPC endpoint answered");
            return Ok(());
        };
        let relayer = Relayer::start(plan, provider, signer).await?;
        context.output.report(&RelayerReady {
            relayer_url: relayer.url().to_owned(),
            address: relayer.address(),
            network: network.name.clone(),
            jobs_db: db_path,
            paused: self.paused,
            dry_run: self.dry_run,
        })?;
        if self.dry_run {
            return Ok(());
        }
        let report = relayer.run(shutdown).await?;
        context.output.report(&report)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: RelayerArgs,
    }

    #[test]
    fn the_api_binds_loopback_unless_told_otherwise() {
        let parsed = Wrapper::try_parse_from(["x"]).expect("defaults parse");
        assert!(
            parsed.args.listen.ip().is_loopback(),
            "{}",
            parsed.args.listen
        );
        assert!(!parsed.args.yes && !parsed.args.paused);
        let public = Wrapper::try_parse_from(["x", "--listen", "0.0.0.0:8090"]).expect("parses");
        assert!(!public.args.listen.ip().is_loopback());
    }
}
