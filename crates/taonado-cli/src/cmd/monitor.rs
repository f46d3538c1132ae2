//! `taonado monitor`: the indexer, alert rules, notification delivery and the dashboard
//! (+ /metrics, /healthz, /readyz) in one long-running process. Also the setup shared by
//! `alerts`, `health` and `dashboard`: the monitor config file, channels, database and
//! protocol addresses.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use taonado_config::{Config, NetworkConfig};
use taonado_indexer::{Indexer, IndexerConfig, RetryPolicy};
use taonado_monitor::{DashboardState, Dispatcher, Monitor, MonitorConfig, MonitorFile, Notifier};
use taonado_store::Store;
use tokio::sync::watch;

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

/// Where the monitor keeps its state and finds its config.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Monitor")]
pub struct MonitorFiles {
    /// SQLite database of the indexer and the alerts [default: data/<network>.db].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Alert rules and channels (TOML: [rules], [[channels]], [delivery])
    /// [default: ./monitor.toml if it exists, else the manual's rules and no channels].
    #[arg(long, value_name = "FILE")]
    pub alerts_config: Option<PathBuf>,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
}

/// The default config file looked up in the working directory.
const DEFAULT_ALERTS_CONFIG: &str = "monitor.toml";

impl MonitorFiles {
    pub fn db_path(&self, network: &str) -> PathBuf {
        self.db
            .clone()
            .unwrap_or_else(|| Path::new("data").join(format!("{network}.db")))
    }

    /// Opens (creating) the database.
    pub fn open_store(&self, network: &str) -> Result<Store, CliError> {
        let path = self.db_path(network);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                CliError::failed(
                    anyhow::Error::new(e).context(format!("creating {}", dir.display())),
                )
            })?;
        }
        Store::open(&path).map_err(store_error)
    }

    /// Opens the database only if it exists (read-only commands).
    pub fn existing_store(&self, network: &str) -> Result<Option<Store>, CliError> {
        let path = self.db_path(network);
        if !path.exists() {
            if self.db.is_some() {
                return Err(CliError::usage(anyhow::anyhow!(
                    "no database at {}; run `taonado monitor` first or fix --db",
                    path.display()
                )));
            }
            return Ok(None);
        }
        Store::open(&path).map(Some).map_err(store_error)
    }

    /// The monitor config file, parsed.
    pub fn load_config(&self) -> Result<MonitorFile, CliError> {
        let path = match &self.alerts_config {
            Some(path) => path.clone(),
            None if Path::new(DEFAULT_ALERTS_CONFIG).exists() => {
                PathBuf::from(DEFAULT_ALERTS_CONFIG)
            }
            None => return Ok(MonitorFile::empty()),
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            CliError::usage(anyhow::Error::new(e).context(format!("reading {}", path.display())))
        })?;
        MonitorFile::parse(&text).map_err(|e| {
            CliError::usage(anyhow::Error::new(e).context(format!("in {}", path.display())))
        })
    }
}

pub fn store_error(e: taonado_store::StoreError) -> CliError {
    match e {
        taonado_store::StoreError::SchemaTooNew { .. }
        | taonado_store::StoreError::ChainMismatch { .. }
        | taonado_store::StoreError::Open { .. } => CliError::usage(e),
        _ => CliError::failed(e),
    }
}

pub fn monitor_error(e: taonado_monitor::MonitorError) -> CliError {
    match e {
        taonado_monitor::MonitorError::Config(_)
        | taonado_monitor::MonitorError::UnknownChannel { .. }
        | taonado_monitor::MonitorError::Bind { .. } => CliError::usage(e),
        taonado_monitor::MonitorError::Store(e) => store_error(e),
        _ => CliError::failed(e),
    }
}

/// The channels of the config, with secrets read from the environment.
pub fn notifiers(file: &MonitorFile) -> Result<Vec<Arc<dyn Notifier>>, CliError> {
    let env = |name: &str| std::env::var(name).ok();
    file.channels
        .iter()
        .map(|spec| taonado_monitor::build_notifier(spec, &env).map(Arc::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(monitor_error)
}

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
    #[command(flatten)]
    pub files: MonitorFiles,
}

/// What `taonado monitor` reports when it stops.
#[derive(Serialize)]
pub struct MonitorReport {
    pub network: String,
    pub dashboard_url: String,
    pub db: PathBuf,
    pub checkpoint: Option<u64>,
    pub evaluations: u64,
    pub alerts_fired: u64,
    pub alerts_resolved: u64,
    pub notifications_sent: u64,
    pub firing: usize,
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

/// A running monitor's parts, for `taonado up` too.
pub struct MonitorService {
    pub monitor: Monitor,
    pub indexer: Indexer,
    pub listener: tokio::net::TcpListener,
    pub dashboard_url: String,
    pub db: PathBuf,
}

impl MonitorService {
    /// Opens the database, connects the indexer, binds the dashboard.
    pub async fn start(
        config: &Config,
        network: &NetworkConfig,
        files: &MonitorFiles,
        listen: SocketAddr,
    ) -> Result<Self, CliError> {
        let file = files.load_config()?;
        let notifiers = notifiers(&file)?;
        let deployment = network.deployment(&files.deployments_dir)?;
        // Where the protocol deployed its own WTAO, the index starts at that deployment.
        let contracts = deployment.watched(network.wtao_owned);
        if contracts.named().is_empty() {
            tracing::warn!(network = %network.name, "no protocol addresses known; only the chain is watched");
        }
        let store = files.open_store(&network.name)?;
        let provider = taonado_client::connect(network, config).await?;
        let indexer_config = IndexerConfig {
            chain_id: network.chain_id,
            endpoints: vec![network.rpc_url.clone()],
            contracts: contracts.clone(),
            netuid: network.netuid,
            start_block: deployment.first_block().unwrap_or(0),
            batch_blocks: 200,
            concurrency: 4,
            reorg_depth: 32,
            snapshot_interval: Some(10),
            poll_interval: Duration::from_secs(1),
            retry: RetryPolicy {
                max_attempts: 5,
                initial_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(10),
            },
            request_timeout: Duration::from_secs(20),
        };
        let indexer = Indexer::new(indexer_config, store.clone())
            .await
            .map_err(|e| CliError::failed(anyhow::Error::new(e).context("starting the indexer")))?;
        let dispatcher = Dispatcher::new(
            store.clone(),
            network.name.clone(),
            notifiers,
            file.delivery.clone(),
        );
        let monitor = Monitor::new(
            store,
            provider,
            MonitorConfig {
                network: network.name.clone(),
                chain_id: network.chain_id,
                contracts,
                rules: file.rules.clone(),
                history: 720,
            },
            dispatcher,
        );
        let listener = taonado_monitor::dashboard::bind(listen)
            .await
            .map_err(monitor_error)?;
        let addr = listener.local_addr()?;
        Ok(Self {
            monitor,
            indexer,
            listener,
            dashboard_url: format!("http://{addr}/"),
            db: files.db_path(&network.name),
        })
    }

    /// Runs until `stop` resolves, the indexer fails, or (with `exit_after_blocks`) an
    /// evaluation has covered that many blocks past the starting checkpoint.
    pub async fn run(
        self,
        stop: impl std::future::Future<Output = ()>,
        exit_after_blocks: Option<u64>,
    ) -> Result<MonitorReport, CliError> {
        let Self {
            monitor,
            indexer,
            listener,
            dashboard_url,
            db,
        } = self;
        let state = DashboardState {
            network: monitor.config().network.clone(),
            chain_id: monitor.config().chain_id,
            contracts: monitor.config().contracts.clone(),
            store: monitor.store().clone(),
            metrics: monitor.metrics(),
            live: monitor.live(),
        };
        if let Err(e) = monitor.seed_history() {
            tracing::warn!(error = %e, "charts start empty: cannot read stored snapshots");
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut server_stop = shutdown_rx.clone();
        let server = tokio::spawn(taonado_monitor::dashboard::serve(
            listener,
            taonado_monitor::router(state),
            async move {
                let _ = server_stop.wait_for(|s| *s).await;
            },
        ));
        let mut progress = indexer.subscribe();
        let exit_at = exit_after_blocks.map(|n| {
            progress
                .borrow()
                .checkpoint
                .map_or(n.saturating_sub(1), |c| c.saturating_add(n))
        });
        let mut report = MonitorReport {
            network: monitor.config().network.clone(),
            dashboard_url,
            db,
            checkpoint: None,
            evaluations: 0,
            alerts_fired: 0,
            alerts_resolved: 0,
            notifications_sent: 0,
            firing: 0,
        };
        let following = indexer.run(shutdown_rx);
        tokio::pin!(following);
        tokio::pin!(stop);
        // Retries of the outbox are due on wall-clock time, independent of new blocks.
        let mut retry_tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_evaluated: Option<u64> = None;
        let mut indexer_ended = false;
        let result = loop {
            tokio::select! {
                () = &mut stop => break Ok(()),
                ended = &mut following => {
                    indexer_ended = true;
                    break ended.map_err(|e| CliError::failed(anyhow::Error::new(e).context("the indexer stopped")));
                }
                changed = progress.changed() => {
                    if changed.is_err() {
                        continue;
                    }
                    let checkpoint = progress.borrow_and_update().checkpoint;
                    if checkpoint.is_none() || checkpoint == last_evaluated {
                        continue;
                    }
                    last_evaluated = checkpoint;
                    report.checkpoint = checkpoint;
                    match monitor.evaluate(unix_now()).await {
                        Ok(e) => {
                            report.evaluations += 1;
                            report.alerts_fired += e.fired.len() as u64;
                            report.alerts_resolved += e.resolved.len() as u64;
                        }
                        Err(e) => tracing::error!(error = %e, "evaluation failed"),
                    }
                    deliver(&monitor, &mut report).await;
                    if exit_at.is_some_and(|target| checkpoint.is_some_and(|c| c >= target)) {
                        tracing::info!("block limit reached, stopping");
                        break Ok(());
                    }
                }
                _ = retry_tick.tick() => deliver(&monitor, &mut report).await,
            }
        };
        let _ = shutdown_tx.send(true);
        if !indexer_ended {
            let _ = following.await;
        }
        match server.await {
            Ok(served) => served.map_err(monitor_error)?,
            Err(e) => return Err(CliError::failed(anyhow::anyhow!("dashboard task: {e}"))),
        }
        result?;
        report.firing = monitor.store().firing_alerts().map_err(store_error)?.len();
        Ok(report)
    }
}

async fn deliver(monitor: &Monitor, report: &mut MonitorReport) {
    match monitor.deliver(unix_now()).await {
        Ok(d) => report.notifications_sent += d.sent,
        Err(e) => tracing::error!(error = %e, "delivery failed"),
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl MonitorArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let mut signals = crate::shutdown::StopSignals::install()?;
        let service = MonitorService::start(&config, &network, &self.files, self.listen).await?;
        context.output.line(&format!(
            "dashboard: {}  (metrics: {}metrics)",
            service.dashboard_url, service.dashboard_url
        ))?;
        let report = service
            .run(async move { signals.recv().await }, self.exit_after_blocks)
            .await?;
        context.output.report(&report)
    }
}
