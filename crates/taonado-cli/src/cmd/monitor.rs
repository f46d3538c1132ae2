//! `taonado monitor`: the indexer, alert rules, notification delivery and the dashboard
//! (+ /metrics, /healthz, /readyz) in one long-running process. The service is
//! `taonado_monitor::MonitorService`; this command resolves its plan, announces the
//! dashboard and renders the report.

use std::io::Write;
use std::net::SocketAddr;

use clap::Args;
use taonado_monitor::{MonitorReport, MonitorService};

use crate::args::{MonitorFiles, notifiers};
use crate::context::Context;
use crate::error::CliError;
use crate::error::monitor_error;
use crate::output::Report;

/// Shown by `taonado monitor --help`: the config file's format.
const ALERTS_CONFIG_HELP: &str = r#"Alert rules and channels (--alerts-config, default ./monitor.toml):

  [rules]                       # all optional; defaults are the operations manual's
  window_blocks = 100
  min_transactions = 5
  tx_success_rate_min = 0.95
  avg_gas_price_max_gwei = 50.0
  weight_interval_max_blocks = 120
  gas_used_max = 2000000
  validator_balance_min_tao = "0.1"
  gas_spike_factor = 3.0
  disabled = []                 # rule names to switch off

  [[channels]]                  # kind: webhook | slack | discord | email
  name = "ops"
  kind = "webhook"              # JSON body, X-Taonado-Signature: sha256=HMAC(secret, "<ts>.<body>")
  url = "https://hooks.example.org/taonado"
  secret_env = "TAONADO_WEBHOOK_SECRET"

  [[channels]]
  name = "mail"
  kind = "email"
  smtp_url = "smtp://mail.example.org:587?tls=required"
  username = "alerts"
  password_env = "TAONADO_SMTP_PASSWORD"
  from = "taonado <alerts@example.org>"
  to = ["oncall@example.org"]

  [delivery]
  base_backoff_secs = 5
  max_backoff_secs = 600
  max_attempts = 20
  max_age_secs = 86400          # a message is given up a day after it was queued

Endpoints: / (dashboard), /api/summary, /api/series, /api/alerts, /metrics, /healthz, /readyz."#;

#[derive(Args)]
#[command(after_long_help = ALERTS_CONFIG_HELP)]
pub struct MonitorArgs {
    /// Address of the dashboard, /metrics, /healthz and /readyz.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    pub listen: SocketAddr,
    /// Stop cleanly after indexing N blocks past the start (scripts and tests).
    #[arg(long, value_name = "N")]
    pub exit_after_blocks: Option<u64>,
    /// A host name the dashboard answers besides localhost and IP addresses (the name a
    /// reverse proxy or a Prometheus scraper uses); repeatable.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
    #[command(flatten)]
    pub files: MonitorFiles,
}

impl Report for MonitorReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "monitor stopped at block {}: {} evaluations, {} alerts fired, {} resolved, {} notifications sent, {} firing",
            self.checkpoint
                .map_or_else(|| "-".into(), |b| b.to_string()),
            self.evaluations,
            self.alerts_fired,
            self.alerts_resolved,
            self.notifications_sent,
            self.firing
        )
    }
}

impl MonitorArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let signals = crate::shutdown::StopSignals::install()?;
        let _registration = context.register_run("monitor", Some(&network.name));
        let file = self.files.load_config()?;
        let notifiers = notifiers(&file)?;
        let mut plan = taonado_stack::monitor_plan(
            &network,
            &self.files.deployments_dir,
            self.files.db_path(&network.name),
            self.listen,
            file,
            notifiers,
        )?;
        plan.exit_after_blocks = self.exit_after_blocks;
        plan.allowed_hosts = self.allow_hosts;
        let shutdown = signals.into_watch();
        // A monitor started while its node is down waits for it (and says so) rather than
        // exiting: it is usually started by a supervisor that would only restart it.
        let Some(provider) =
            taonado_client::connect_when_reachable(&network, &config, shutdown.clone()).await?
        else {
            tracing::info!("stopped before the RPC endpoint answered");
            return Ok(());
        };
        let service = MonitorService::start(plan, provider)
            .await
            .map_err(monitor_error)?;
        let url = service.dashboard_url();
        context
            .output
            .line(&format!("dashboard: {url}  (metrics: {url}metrics)"))?;
        let report = service.run(shutdown).await.map_err(monitor_error)?;
        context.output.report(&report)
    }
}
