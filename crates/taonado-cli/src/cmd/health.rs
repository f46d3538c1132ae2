//! `taonado health`: one-shot check for cron; exit 0 healthy, 1 not.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use taonado_client::{ProviderSpec, REQUEST_TIMEOUT};
use taonado_monitor::{HealthConfig, HealthReport, check_health};

use crate::args::MonitorFiles;
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Args)]
pub struct HealthArgs {
    #[command(flatten)]
    pub files: MonitorFiles,
    /// Per-request timeout, seconds: a node that accepts the connection but never answers
    /// is reported unhealthy after this long, not waited for.
    #[arg(long, value_name = "SECS", default_value_t = REQUEST_TIMEOUT.as_secs())]
    pub timeout: u64,
}

/// The library's report, rendered as a table.
#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct HealthOutput(HealthReport);

impl Report for HealthOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        writeln!(
            out,
            "{} {}",
            if r.healthy {
                "✅ healthy:"
            } else {
                "❌ unhealthy:"
            },
            r.network
        )?;
        let mut t = crate::output::table(&["", "check", "detail"]);
        for c in &r.checks {
            t.add_row(vec![
                if c.ok { "✅" } else { "❌" }.to_owned(),
                c.name.clone(),
                c.detail.clone(),
            ]);
        }
        writeln!(out, "{t}")
    }
}

impl HealthArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let file = self.files.load_config()?;
        let contracts = network
            .deployment(&self.files.deployments_dir)?
            .watched(network.wtao_owned);
        let store = self.files.existing_store(&network.name)?;
        // No chain-id check at connect time: a wrong chain is a red line, not a usage error.
        let provider = ProviderSpec {
            request_timeout: Duration::from_secs(self.timeout.max(1)),
            ..ProviderSpec::new(vec![network.rpc_url.clone()])
        }
        .build()?
        .into_provider();
        let health = HealthConfig {
            network: network.name.clone(),
            expected_chain_id: network.chain_id,
            contracts,
            rules: file.rules,
        };
        let report = HealthOutput(check_health(&provider, store.as_ref(), &health).await);
        if report.0.healthy {
            return context.output.report(&report);
        }
        let failing: Vec<String> = report
            .0
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        Err(context.output.report_failed(
            &report,
            anyhow::anyhow!("unhealthy: {}", failing.join("; ")),
        ))
    }
}
