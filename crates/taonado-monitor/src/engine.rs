//! The monitor's evaluation step: observe, update metrics, evaluate the rules, record alert
//! transitions (with their outbox messages) and remember the sample for the dashboard.
//! The caller drives it: after each indexer advance, and on a timer for retries.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use alloy::providers::DynProvider;
use serde::Serialize;
use taonado_store::alerts::AlertRecord;
use taonado_store::{Store, Window};

use crate::config::RuleSettings;
use crate::deliver::{DeliveryReport, Dispatcher};
use crate::error::Result;
use crate::incidents::{self, IncidentSettings, IncidentTick};
use crate::metrics::Metrics;
use crate::miners::MinersView;
use crate::observe::{Observation, Sample, observe};
use crate::rules::evaluate;
use crate::trace::{FailureTraces, contract_names};
use crate::units::tao_f64;
use crate::wrapped::WrappedTotals;
use taonado_deployment::ProtocolContracts;

/// What the monitor watches and how.
#[derive(Clone, Debug)]
pub struct MonitorConfig {
    pub network: String,
    pub chain_id: u64,
    pub contracts: ProtocolContracts,
    pub rules: RuleSettings,
    /// Response targets and whether critical alerts open incidents.
    pub incidents: IncidentSettings,
    /// Samples kept for the dashboard's charts.
    pub history: usize,
}

/// State the dashboard reads: the latest observation and recent samples.
#[derive(Debug, Default)]
pub struct LiveState {
    pub latest: Option<Observation>,
    pub history: VecDeque<Sample>,
    /// Set after the first successful evaluation.
    pub ready: bool,
    pub last_error: Option<String>,
    /// The indexer's rounds fail (the RPC endpoint is down): why, since when (unix s).
    pub rpc_failing: Option<(String, u64)>,
    /// The per-miner view at the latest snapshot, and why its last read failed.
    pub miners: Option<MinersView>,
    pub miners_error: Option<String>,
}

impl LiveState {
    /// What `/readyz` reports: evaluated at least once, and the chain reachable now.
    pub fn is_ready(&self) -> bool {
        self.ready && self.rpc_failing.is_none()
    }

    /// The error an operator should see first: the outage, else the last evaluation's.
    pub fn current_error(&self) -> Option<String> {
        self.rpc_failing
            .as_ref()
            .map(|(e, since)| format!("the RPC endpoint fails since unix {since}: {e}"))
            .or_else(|| self.last_error.clone())
    }
}

/// Shared, cheaply cloned handle on [`LiveState`].
pub type Live = Arc<Mutex<LiveState>>;

/// What one evaluation changed.
#[derive(Clone, Debug, Serialize)]
pub struct EvaluationReport {
    pub block: Option<u64>,
    pub fired: Vec<AlertRecord>,
    pub resolved: Vec<AlertRecord>,
    pub still_firing: usize,
    pub enqueued: usize,
    pub errors: Vec<String>,
}

/// The monitor: one store, one chain, the rules and the channels.
#[derive(Clone, Debug)]
pub struct Monitor {
    store: Store,
    provider: DynProvider,
    config: MonitorConfig,
    dispatcher: Dispatcher,
    metrics: Arc<Metrics>,
    live: Live,
    /// WTAO's running wrapped total, extended by each evaluation.
    wrapped: Arc<WrappedTotals>,
    /// Failed transactions' traces, each read once.
    traces: Arc<FailureTraces>,
}

impl Monitor {
    pub fn new(
        store: Store,
        provider: DynProvider,
        config: MonitorConfig,
        dispatcher: Dispatcher,
    ) -> Self {
        Self {
            store,
            provider,
            config,
            dispatcher,
            metrics: Arc::new(Metrics::new()),
            live: Live::default(),
            wrapped: Arc::default(),
            traces: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &MonitorConfig {
        &self.config
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    pub fn live(&self) -> Live {
        self.live.clone()
    }

    /// Observes, evaluates the rules and records the transitions at `now` (unix seconds).
    pub async fn evaluate(&self, now: u64) -> Result<EvaluationReport> {
        let result = self.evaluate_inner(now).await;
        if let Err(e) = &result {
            self.lock_live().last_error = Some(e.to_string());
        }
        result
    }

    async fn evaluate_inner(&self, now: u64) -> Result<EvaluationReport> {
        let mut obs = observe(
            &self.store,
            &self.provider,
            &self.config.contracts,
            &self.config.rules,
            &self.wrapped,
            now,
        )
        .await?;
        if !obs.failed_txs.is_empty() {
            let names = contract_names(&self.config.contracts);
            let hashes: Vec<_> = obs.failed_txs.iter().map(|tx| tx.hash).collect();
            obs.failure_traces = self.traces.of(&self.provider, &names, &hashes).await;
        }
        self.metrics.update(&obs);
        let evaluation = evaluate(&obs, &self.config.rules);
        let changes = self.store.apply_evaluation(
            &evaluation.active,
            &evaluation.evaluated,
            &evaluation.readings,
            now,
        )?;
        // The compliance rules record their flags beside the alerts; a failure there is
        // logged and never stops the alerting.
        match crate::rules::compliance::evaluate_store(
            &self.store,
            &self.config.contracts,
            &self.config.rules.compliance,
            now,
        ) {
            Ok(0) => {}
            Ok(new) => tracing::info!(new, "compliance flags recorded"),
            Err(e) => tracing::warn!(error = %e, "compliance rules not evaluated"),
        }
        // Critical alerts open incidents (or update theirs); missed targets fire.
        let incident_tick =
            incidents::tick(&self.store, &self.config.incidents, &self.config.rules, now);
        if let Err(e) = &incident_tick {
            tracing::error!(error = %e, "incident rule failed");
        }
        // What is due goes into the outbox now (a critical of a quiet rule at once); the
        // rest waits for its group's timers, which every delivery pass checks.
        let enqueued = self.dispatcher.flush(now)?;
        self.metrics
            .update_alerts(&self.store.firing_alerts()?, self.store.outbox_counts()?);
        for alert in &changes.fired {
            tracing::warn!(rule = %alert.rule, severity = alert.severity.as_str(), "{}", alert.summary);
        }
        for alert in &changes.resolved {
            match changes.recovered.get(&alert.dedup_key) {
                Some(now) => tracing::info!(rule = %alert.rule, "resolved: now {now}"),
                None => tracing::info!(rule = %alert.rule, "resolved: {}", alert.summary),
            }
        }
        self.refresh_miners().await;
        let report = EvaluationReport {
            block: obs.checkpoint_block,
            fired: changes.fired,
            resolved: changes.resolved,
            still_firing: changes.still_firing,
            enqueued,
            errors: obs.errors.clone(),
        };
        let mut live = self.lock_live();
        live.history.push_back(obs.sample());
        while live.history.len() > self.config.history.max(1) {
            live.history.pop_front();
        }
        live.latest = Some(obs);
        live.ready = true;
        live.last_error = None;
        Ok(report)
    }

    /// Reads the per-miner view once per snapshot (the indexer takes one every few blocks).
    async fn refresh_miners(&self) {
        let snapshot = match self.store.latest_snapshot() {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                self.lock_live().miners_error = Some(e.to_string());
                return;
            }
        };
        let current = self.lock_live().miners.as_ref().map(|m| m.block);
        if current == Some(snapshot.block) {
            return;
        }
        let read = crate::miners::read(&self.provider, &self.config.contracts, &snapshot).await;
        let mut live = self.lock_live();
        match read {
            Ok(view) => {
                live.miners = view;
                live.miners_error = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "per-miner view not refreshed");
                live.miners_error = Some(e);
            }
        }
    }

    /// Fills the charts' history from the stored snapshots (balances only; the other series
    /// start with the first evaluation), so a restarted monitor does not show empty charts.
    pub fn seed_history(&self) -> Result<usize> {
        let series = self.store.snapshot_series(Window::All)?;
        let keep = self.config.history.max(1);
        let mut live = self.lock_live();
        if !live.history.is_empty() {
            return Ok(0);
        }
        let start = series.len().saturating_sub(keep);
        for s in &series[start..] {
            live.history.push_back(Sample {
                at_unix: s.timestamp,
                block: Some(s.block),
                wtao_supply_tao: Some(tao_f64(s.wtao_supply)),
                pools_total_tao: tao_f64(s.pools_total),
                validator_balance_tao: Some(tao_f64(s.validator_balance)),
                ..Sample::default()
            });
        }
        Ok(series.len() - start)
    }

    /// The incident rule alone (see [`incidents::tick`]), for the ticks between
    /// evaluations: response targets expire while no block arrives. Queues what is due.
    pub fn check_incidents(&self, now: u64) -> Result<IncidentTick> {
        let tick = incidents::tick(&self.store, &self.config.incidents, &self.config.rules, now)?;
        self.dispatcher.flush(now)?;
        Ok(tick)
    }

    /// The channels and the outbox.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Sends what is due in the outbox.
    pub async fn deliver(&self, now: u64) -> Result<DeliveryReport> {
        let report = self.dispatcher.deliver_due(now).await?;
        if report != DeliveryReport::default() {
            self.metrics
                .update_alerts(&self.store.firing_alerts()?, self.store.outbox_counts()?);
        }
        Ok(report)
    }

    fn lock_live(&self) -> std::sync::MutexGuard<'_, LiveState> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}
