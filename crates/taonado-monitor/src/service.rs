//! The monitor as one long-running service: the indexer follows the chain into the store;
//! after each advance the rules are evaluated and the outbox delivered; the outbox is also
//! retried on a timer; the dashboard (+ /metrics, /healthz, /readyz) serves the same store.
//!
//! [`MonitorService::start`] opens the database, connects the indexer and binds the
//! dashboard (so the caller can announce the address); [`MonitorService::run`] runs until
//! the shutdown flag turns true, the indexer fails, or the plan's block limit is reached.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::providers::DynProvider;
use serde::Serialize;
use taonado_indexer::{Indexer, IndexerConfig, IndexerTuning, RetryPolicy};
use tokio::sync::watch;

use crate::config::MonitorFile;
use crate::dashboard::{self, DashboardState};
use crate::deliver::Dispatcher;
use crate::engine::{Monitor, MonitorConfig};
use crate::error::{MonitorError, Result};
use crate::notify::Notifier;
use taonado_deployment::{ProtocolContracts, unix_now};

/// How the service follows the chain and paces its work. The defaults suit a monitor that
/// watches a live protocol: small batches near the head, frequent snapshots for the charts.
#[derive(Clone, Debug)]
pub struct MonitorTuning {
    /// The indexer's tuning, with the monitor's defaults ([`MonitorTuning::indexer_defaults`]).
    pub indexer: IndexerTuning,
    /// Samples kept for the dashboard's charts.
    pub history: usize,
    /// Time between retries of the outbox, independent of new blocks.
    pub delivery_interval: Duration,
}

impl MonitorTuning {
    pub const HISTORY: usize = 720;
    pub const DELIVERY_INTERVAL: Duration = Duration::from_secs(1);

    /// Following a live head: larger batches to catch up, a shallower reorg window, a
    /// snapshot every 10 blocks for the charts, a poll every second, fewer and shorter
    /// retries so a dead endpoint shows on the dashboard soon.
    pub fn indexer_defaults() -> IndexerTuning {
        IndexerTuning {
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
        }
    }
}

impl Default for MonitorTuning {
    fn default() -> Self {
        Self {
            indexer: Self::indexer_defaults(),
            history: Self::HISTORY,
            delivery_interval: Self::DELIVERY_INTERVAL,
        }
    }
}

/// Everything one monitor run needs.
pub struct MonitorPlan {
    pub network: String,
    pub chain_id: u64,
    /// The subnet whose metagraph the snapshots record.
    pub netuid: u16,
    /// The indexer's JSON-RPC endpoint (the provider passed to `start` serves the same chain).
    pub rpc_url: url::Url,
    pub contracts: ProtocolContracts,
    /// The first block indexed on an empty database (the deployment's first block).
    pub start_block: u64,
    /// The SQLite database (created with its directory).
    pub db: PathBuf,
    /// The dashboard's address (port 0: a free one, see [`MonitorService::dashboard_url`]).
    pub listen: SocketAddr,
    /// Rules, channels and delivery policy.
    pub file: MonitorFile,
    /// The channels' notifiers (see [`crate::files::notifiers`]).
    pub notifiers: Vec<Arc<dyn Notifier>>,
    /// Stop once an evaluation has covered this many blocks past the starting checkpoint.
    pub exit_after_blocks: Option<u64>,
    pub tuning: MonitorTuning,
    /// Host names the dashboard answers besides `localhost` and IP addresses.
    pub allowed_hosts: Vec<String>,
}

/// What a monitor run did, reported when it stops.
#[derive(Clone, Debug, Serialize)]
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
    /// On a shared PostgreSQL database: whether this monitor led (indexed and delivered)
    /// at some point of the run; `None` on SQLite, where it always does.
    pub led: Option<bool>,
}

/// How often a follower tries the leader lock: a dead leader is replaced within this.
const LEADER_POLL: Duration = Duration::from_millis(500);

/// A started monitor: database open, indexer connected, dashboard bound.
pub struct MonitorService {
    monitor: Monitor,
    indexer: Indexer,
    listener: tokio::net::TcpListener,
    dashboard_url: String,
    db: PathBuf,
    /// The shared PostgreSQL database's URL, whose leader lock gates indexing and delivery.
    leader_url: Option<String>,
    exit_after_blocks: Option<u64>,
    delivery_interval: Duration,
    allowed_hosts: Vec<String>,
}

impl MonitorService {
    /// Opens the database, connects the indexer (checking the chain id) and binds the
    /// dashboard. `provider` serves the monitor's live reads.
    pub async fn start(plan: MonitorPlan, provider: DynProvider) -> Result<Self> {
        let MonitorPlan {
            network,
            chain_id,
            netuid,
            rpc_url,
            contracts,
            start_block,
            db,
            listen,
            file,
            notifiers,
            exit_after_blocks,
            tuning,
            allowed_hosts,
        } = plan;
        if contracts.named().is_empty() {
            tracing::warn!(network = %network, "no protocol addresses known; only the chain is watched");
        }
        let store = crate::files::open_store(&db)?;
        let indexer_config = IndexerConfig {
            chain_id,
            endpoints: vec![rpc_url],
            contracts: contracts.clone(),
            netuid,
            start_block,
            tuning: tuning.indexer,
        };
        let indexer = Indexer::new(indexer_config, store.clone())
            .await
            .map_err(|e| MonitorError::IndexerStart(Box::new(e)))?;
        let dispatcher = Dispatcher::new(store.clone(), network.clone(), notifiers, file.delivery)
            .with_grouping(file.grouping);
        let monitor = Monitor::new(
            store,
            provider,
            MonitorConfig {
                network,
                chain_id,
                contracts,
                rules: file.rules,
                incidents: file.incidents,
                history: tuning.history,
            },
            dispatcher,
        );
        let listener = dashboard::bind(listen).await?;
        let addr = listener.local_addr().map_err(MonitorError::Serve)?;
        Ok(Self {
            monitor,
            indexer,
            listener,
            dashboard_url: format!("http://{addr}/"),
            leader_url: crate::files::is_postgres(&db).then(|| db.display().to_string()),
            db: PathBuf::from(taonado_store::redact_url(&db.display().to_string())),
            exit_after_blocks,
            delivery_interval: tuning.delivery_interval,
            allowed_hosts,
        })
    }

    /// The dashboard's URL (`http://<bound address>/`); /metrics etc. are under it.
    pub fn dashboard_url(&self) -> &str {
        &self.dashboard_url
    }

    /// Runs until `shutdown` turns true (or its sender is dropped), the indexer fails, or
    /// (with `exit_after_blocks`) an evaluation has covered that many blocks past the
    /// starting checkpoint. The dashboard and the indexer are stopped before it returns.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<MonitorReport> {
        let Self {
            monitor,
            indexer,
            listener,
            dashboard_url,
            db,
            leader_url,
            exit_after_blocks,
            delivery_interval,
            allowed_hosts,
        } = self;
        let state = DashboardState {
            network: monitor.config().network.clone(),
            chain_id: monitor.config().chain_id,
            contracts: monitor.config().contracts.clone(),
            store: monitor.store().clone(),
            metrics: monitor.metrics(),
            live: monitor.live(),
            allowed_hosts: Arc::new(allowed_hosts),
        };
        if let Err(e) = monitor.seed_history() {
            tracing::warn!(error = %e, "charts start empty: cannot read stored snapshots");
        }
        // The parts stop on this flag, which also flips when the loop ends by itself.
        let (parts_tx, parts_rx) = watch::channel(false);
        let mut server_stop = parts_rx.clone();
        let server = tokio::spawn(dashboard::serve(
            listener,
            crate::dashboard::router(state),
            async move {
                let _ = server_stop.wait_for(|s| *s).await;
            },
        ));
        let mut progress = indexer.subscribe();
        let mut rounds = indexer.health();
        let recorder = tokio::spawn(record_rounds(
            monitor.clone(),
            indexer.health(),
            parts_rx.clone(),
        ));
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
            led: leader_url.as_ref().map(|_| false),
        };
        // On a shared database only the leader indexes and delivers; a follower serves the
        // dashboard from what the leader writes until it can take the lock.
        let mut leader = None;
        if let Some(url) = &leader_url {
            let mut lock = taonado_store::LeaderLock::connect(url)?;
            let mut said = false;
            loop {
                if lock.try_lead()? {
                    tracing::info!("leader lock taken: this monitor indexes and delivers");
                    leader = Some(lock);
                    report.led = Some(true);
                    break;
                }
                if !said {
                    tracing::info!(
                        "another monitor leads on this database: following (dashboard only) until it stops"
                    );
                    said = true;
                }
                tokio::select! {
                    _ = shutdown.wait_for(|s| *s) => break,
                    () = tokio::time::sleep(LEADER_POLL) => {}
                }
            }
            if leader.is_none() {
                let _ = parts_tx.send(true);
                match server.await {
                    Ok(served) => served?,
                    Err(e) => return Err(MonitorError::DashboardTask(e.to_string())),
                }
                report.firing = monitor.store().firing_alerts()?.len();
                return Ok(report);
            }
        }
        let following = indexer.run(parts_rx);
        tokio::pin!(following);
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        tokio::pin!(stop);
        let mut retry_tick = tokio::time::interval(delivery_interval);
        let mut last_evaluated: Option<u64> = None;
        let mut indexer_ended = false;
        let result = loop {
            tokio::select! {
                () = &mut stop => break Ok(()),
                ended = &mut following => {
                    indexer_ended = true;
                    break ended.map_err(|e| MonitorError::IndexerStopped(Box::new(e)));
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
                changed = rounds.changed() => {
                    if changed.is_ok() {
                        let health = rounds.borrow_and_update().clone();
                        record_round(&monitor, &health);
                    }
                }
                _ = retry_tick.tick() => {
                    if leader.as_ref().is_some_and(taonado_store::LeaderLock::lost) {
                        break Err(MonitorError::LeadershipLost);
                    }
                    // Response targets expire between blocks too.
                    if let Err(e) = monitor.check_incidents(unix_now()) {
                        tracing::error!(error = %e, "incident rule failed");
                    }
                    deliver(&monitor, &mut report).await;
                }
            }
        };
        let _ = parts_tx.send(true);
        if !indexer_ended {
            let _ = following.await;
        }
        let _ = recorder.await;
        match server.await {
            Ok(served) => served?,
            Err(e) => return Err(MonitorError::DashboardTask(e.to_string())),
        }
        result?;
        report.firing = monitor.store().firing_alerts()?.len();
        Ok(report)
    }
}

async fn deliver(monitor: &Monitor, report: &mut MonitorReport) {
    match monitor.deliver(unix_now()).await {
        Ok(d) => report.notifications_sent += d.sent,
        Err(e) => tracing::error!(error = %e, "delivery failed"),
    }
}

/// The operations report's uptime: every indexer round, reached or failed, added to its
/// network's minute in the store. Its own task, so a long evaluation in the service's loop
/// does not coalesce rounds away.
async fn record_rounds(
    monitor: Monitor,
    mut rounds: watch::Receiver<taonado_indexer::RoundHealth>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            changed = rounds.changed() => {
                if changed.is_err() {
                    return;
                }
                let ok = rounds.borrow_and_update().last_error.is_none();
                let network = &monitor.config().network;
                if let Err(e) = monitor.store().record_check(network, unix_now(), ok) {
                    tracing::warn!(error = %e, "monitor check not recorded");
                }
            }
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Readiness, the dashboard's error and the metrics follow the indexer's last round, so an
/// RPC outage shows while no block arrives.
fn record_round(monitor: &Monitor, health: &taonado_indexer::RoundHealth) {
    let failing = health
        .last_error
        .clone()
        .zip(health.failing_since.or(Some(unix_now())));
    monitor
        .metrics()
        .update_rpc(failing.is_none(), health.last_ok_at);
    let live = monitor.live();
    let mut live = live.lock().unwrap_or_else(|p| p.into_inner());
    live.rpc_failing = failing;
}
