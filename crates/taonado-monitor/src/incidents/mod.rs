//! Incidents (the operations manual's "Incident Response"): severities P0–P3 with response
//! targets (`[incidents]` of the monitor config), incident types and their runbooks, the
//! monitor's tick (a critical alert opens an incident or updates the open one with its
//! dedup key; a missed response target fires the `incident_response_target` alert through
//! the channels), `assess`, `notify`, `mitigate` ([`mitigate`]) and the incident report and
//! post-mortem ([`report`]). The store keeps incidents and the append-only timeline
//! (`taonado_store::incidents`).
//!
//! Every function takes the time (`now`, unix seconds) from its caller: the service passes
//! the wall clock, tests pass whatever time they need, so nothing here sleeps.

pub mod mitigate;
pub mod report;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use taonado_store::Store;
use taonado_store::alerts::{
    ActiveAlert, AlertNotice, AlertRecord, AlertState, Severity, Transition,
};
use taonado_store::incidents::{
    AlertIncident, IncidentError, IncidentRecord, IncidentSeverity, NewIncident,
};

use crate::config::RuleSettings;
use crate::deliver::{DeliveryReport, Dispatcher};
use crate::error::{MonitorError, Result};
use crate::rule_names::{
    FAILED_TRANSACTION, GAS_USED, INCIDENT_RESPONSE_TARGET, POOL_BALANCE_DISCREPANCY,
    VALIDATOR_BALANCE_LOW, WEIGHT_INTERVAL, WTAO_SUPPLY_DISCREPANCY,
};

/// `[incidents]`: response targets by severity (the manual's: P0 < 15 min, P1 < 1 h,
/// P2 < 4 h, P3 < 24 h) and whether critical alerts open incidents.
///
/// ```toml
/// [incidents]
/// p0_response_secs = 900
/// p1_response_secs = 3600
/// p2_response_secs = 14400
/// p3_response_secs = 86400
/// open_on_critical = true   # a critical alert opens a P0 incident
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentSettings {
    pub p0_response_secs: u64,
    pub p1_response_secs: u64,
    pub p2_response_secs: u64,
    pub p3_response_secs: u64,
    pub open_on_critical: bool,
}

impl Default for IncidentSettings {
    fn default() -> Self {
        Self {
            p0_response_secs: 15 * 60,
            p1_response_secs: 60 * 60,
            p2_response_secs: 4 * 60 * 60,
            p3_response_secs: 24 * 60 * 60,
            open_on_critical: true,
        }
    }
}

impl IncidentSettings {
    /// The response target of `severity`, in seconds.
    pub fn response_secs(&self, severity: IncidentSeverity) -> u64 {
        match severity {
            IncidentSeverity::P0 => self.p0_response_secs,
            IncidentSeverity::P1 => self.p1_response_secs,
            IncidentSeverity::P2 => self.p2_response_secs,
            IncidentSeverity::P3 => self.p3_response_secs,
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        for severity in IncidentSeverity::ALL {
            if self.response_secs(severity) == 0 {
                return Err(MonitorError::Config(format!(
                    "incidents.{}_response_secs must be at least 1",
                    severity.as_str().to_ascii_lowercase()
                )));
            }
        }
        Ok(())
    }
}

/// An incident's type: which runbook `mitigate` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentType {
    /// Protocol funds may be lost (a pool or WTAO balance discrepancy).
    FundsAtRisk,
    /// The EvmValidator's bounty is being drained.
    BountyDrain,
    /// A contract misbehaves (reverts, gas) and needs an upgrade.
    ContractBug,
    /// Weights are not being set or are wrong.
    Weights,
    /// The node, the monitor or another service is down: no on-chain step.
    Outage,
    Other,
}

impl IncidentType {
    pub const ALL: [Self; 6] = [
        Self::FundsAtRisk,
        Self::BountyDrain,
        Self::ContractBug,
        Self::Weights,
        Self::Outage,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FundsAtRisk => "funds-at-risk",
            Self::BountyDrain => "bounty-drain",
            Self::ContractBug => "contract-bug",
            Self::Weights => "weights",
            Self::Outage => "outage",
            Self::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The type of an incident a critical alert of `rule` opens.
    pub fn of_rule(rule: &str) -> Self {
        match rule {
            POOL_BALANCE_DISCREPANCY | WTAO_SUPPLY_DISCREPANCY => Self::FundsAtRisk,
            FAILED_TRANSACTION | GAS_USED => Self::ContractBug,
            VALIDATOR_BALANCE_LOW => Self::BountyDrain,
            WEIGHT_INTERVAL => Self::Weights,
            _ => Self::Other,
        }
    }

    /// The runbook: the on-chain steps `mitigate` runs for this type, in order.
    pub fn runbook(self) -> &'static [RunbookStep] {
        use RunbookStep::*;
        match self {
            Self::FundsAtRisk => &[
                StopAutomation,
                ZeroBounty,
                RaiseWeightInterval,
                RescueFunds,
                ProposeUpgrade,
            ],
            Self::BountyDrain => &[StopAutomation, ZeroBounty, RaiseWeightInterval],
            Self::ContractBug => &[
                StopAutomation,
                ZeroBounty,
                RaiseWeightInterval,
                ProposeUpgrade,
            ],
            Self::Weights => &[StopAutomation, RaiseWeightInterval],
            Self::Outage | Self::Other => &[],
        }
    }
}

/// One runbook step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum RunbookStep {
    /// `emergency stop` of the network's automation only: the registered `validator run`,
    /// relayer and load-test processes (SIGTERM, then SIGKILL after the timeout). The chain
    /// and the monitor keep running and watching.
    StopAutomation,
    /// `EvmValidator.setSetWeightsBounty(0)`: nothing left to drain.
    ZeroBounty,
    /// `EvmValidator.setSetWeightsBlockInterval(N)`: public weight setting slowed down.
    RaiseWeightInterval,
    /// `EvmValidator.rescueFunds()`: the validator's balance to its owner.
    RescueFunds,
    /// Prints the upgrade command to propose (sent by the owner or multisig, not here).
    ProposeUpgrade,
}

impl RunbookStep {
    pub const ALL: [Self; 5] = [
        Self::StopAutomation,
        Self::ZeroBounty,
        Self::RaiseWeightInterval,
        Self::RescueFunds,
        Self::ProposeUpgrade,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StopAutomation => "stop-automation",
            Self::ZeroBounty => "zero-bounty",
            Self::RaiseWeightInterval => "raise-weight-interval",
            Self::RescueFunds => "rescue-funds",
            Self::ProposeUpgrade => "propose-upgrade",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// The severity of incidents critical alerts open.
pub const CRITICAL_ALERT_SEVERITY: IncidentSeverity = IncidentSeverity::P0;

/// What one incident tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IncidentTick {
    pub opened: Vec<i64>,
    pub updated: Vec<i64>,
    /// Incidents whose response target was seen missed for the first time.
    pub missed: Vec<i64>,
    /// Incidents past their target and still unacknowledged (their alert fires).
    pub overdue: usize,
}

/// The incident a critical alert opens.
pub fn incident_of_alert(
    alert: &AlertRecord,
    settings: &IncidentSettings,
    now: u64,
) -> NewIncident {
    NewIncident {
        title: alert.summary.clone(),
        severity: CRITICAL_ALERT_SEVERITY,
        kind: IncidentType::of_rule(&alert.rule).as_str().to_owned(),
        source_dedup_key: Some(alert.dedup_key.clone()),
        alert_id: Some(alert.id),
        respond_by: now.saturating_add(settings.response_secs(CRITICAL_ALERT_SEVERITY)),
    }
}

/// The monitor's incident rule, run each tick: every firing critical alert (other than the
/// incident rule's own) belongs to an incident, and every unacknowledged incident past its
/// response target has a firing `incident_response_target` alert (resolved once it is
/// acknowledged). Transitions go through the alert table and the outbox like any rule's.
pub fn tick(
    store: &Store,
    settings: &IncidentSettings,
    rules: &RuleSettings,
    now: u64,
) -> Result<IncidentTick> {
    let mut out = IncidentTick::default();
    if settings.open_on_critical {
        for alert in store.firing_alerts()? {
            if alert.severity != Severity::Critical || alert.rule == INCIDENT_RESPONSE_TARGET {
                continue;
            }
            match store.incident_for_alert(&alert, |a| incident_of_alert(a, settings, now), now)? {
                AlertIncident::Known(_) => {}
                AlertIncident::Updated(r) => out.updated.push(r.id),
                AlertIncident::Opened(r) => {
                    tracing::warn!(
                        incident = r.id,
                        severity = r.severity.as_str(),
                        "incident opened: {}",
                        r.title
                    );
                    out.opened.push(r.id);
                }
            }
        }
    }
    if !rules.enabled(INCIDENT_RESPONSE_TARGET) {
        return Ok(out);
    }
    let overdue = store.overdue_incidents(now)?;
    out.overdue = overdue.len();
    let mut active = Vec::new();
    let mut readings = BTreeMap::new();
    for incident in &overdue {
        if store.mark_incident_target_missed(incident.id, now)? {
            out.missed.push(incident.id);
        }
        active.push(target_alert(incident, now));
    }
    readings.insert(
        INCIDENT_RESPONSE_TARGET.to_owned(),
        "the incident was acknowledged or resolved".to_owned(),
    );
    let evaluated = BTreeSet::from([INCIDENT_RESPONSE_TARGET.to_owned()]);
    store.apply_evaluation(&active, &evaluated, &readings, now)?;
    Ok(out)
}

fn target_alert(incident: &IncidentRecord, now: u64) -> ActiveAlert {
    let severity = match incident.severity {
        IncidentSeverity::P0 | IncidentSeverity::P1 => Severity::Critical,
        IncidentSeverity::P2 | IncidentSeverity::P3 => Severity::Warning,
    };
    let late = now.saturating_sub(incident.respond_by);
    ActiveAlert {
        dedup_key: format!("{INCIDENT_RESPONSE_TARGET}:{}", incident.id),
        rule: INCIDENT_RESPONSE_TARGET.to_owned(),
        severity,
        summary: format!(
            "incident {} ({} `{}`) missed its response target: not acknowledged {}s after the deadline; run `taonado incident ack {}`",
            incident.id,
            incident.severity.as_str(),
            incident.title,
            late,
            incident.id
        ),
        details: serde_json::json!({
            "incident_id": incident.id,
            "severity": incident.severity.as_str(),
            "opened_at": incident.opened_at,
            "respond_by": incident.respond_by,
        }),
        block: None,
    }
}

/// An incident request's answer: the store's answer, or why the request is wrong.
pub type IncidentResult<T> = std::result::Result<T, IncidentError>;

/// Opens an incident by hand (`incident open`), optionally from a stored alert.
pub fn open(
    store: &Store,
    settings: &IncidentSettings,
    title: &str,
    severity: IncidentSeverity,
    kind: IncidentType,
    from_alert: Option<&AlertRecord>,
    now: u64,
) -> Result<IncidentResult<IncidentRecord>> {
    let new = NewIncident {
        title: title.to_owned(),
        severity,
        kind: kind.as_str().to_owned(),
        source_dedup_key: from_alert.map(|a| a.dedup_key.clone()),
        alert_id: from_alert.map(|a| a.id),
        respond_by: now.saturating_add(settings.response_secs(severity)),
    };
    Ok(store.open_incident(&new, now)?)
}

/// An incident's exposure as the store knows it: its alerts and the protocol transactions
/// they name or that failed while it was open.
#[derive(Clone, Debug, Serialize)]
pub struct Assessment {
    pub incident: IncidentRecord,
    pub alerts: Vec<AlertRecord>,
    /// Failed protocol transactions indexed so far (most recent first), at most 50.
    pub failed_transactions: Vec<AssessedTx>,
    /// Transactions the alerts name by hash.
    pub named_transactions: Vec<String>,
    pub firing_alerts: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct AssessedTx {
    pub hash: String,
    pub block: u64,
    pub contract: String,
    pub function: String,
}

/// `incident assess`: gathers the exposure and records it on the timeline.
pub fn assess(store: &Store, id: i64, now: u64) -> Result<IncidentResult<Assessment>> {
    let Some(incident) = store.incident(id)? else {
        return Ok(Err(IncidentError::Unknown(id)));
    };
    let mut alerts = Vec::new();
    for alert_id in store.incident_alert_ids(id)? {
        if let Some(a) = store.alert(alert_id)? {
            alerts.push(a);
        }
    }
    let named_transactions: Vec<String> = alerts
        .iter()
        .filter_map(|a| {
            a.dedup_key
                .split_once(':')
                .map(|(_, k)| k)
                .filter(|k| k.len() == 66 && k.starts_with("0x"))
                .map(str::to_owned)
        })
        .collect();
    let failed_transactions = store
        .failed_transactions(taonado_store::Window::All, 50)?
        .into_iter()
        .map(|t| AssessedTx {
            hash: format!("{:#x}", t.hash),
            block: t.block_number,
            contract: t.contract.to_string(),
            function: t.function,
        })
        .collect::<Vec<_>>();
    let firing_alerts = store
        .firing_alerts()?
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .count();
    let text = format!(
        "assessed: {} alert(s), {} named transaction(s), {} failed protocol transaction(s) indexed, {} alert(s) firing",
        alerts.len(),
        named_transactions.len(),
        failed_transactions.len(),
        firing_alerts
    );
    let details = serde_json::json!({
        "alerts": alerts.iter().map(|a| a.id).collect::<Vec<_>>(),
        "named_transactions": named_transactions,
        "failed_transactions": failed_transactions.iter().map(|t| t.hash.clone()).collect::<Vec<_>>(),
        "firing_alerts": firing_alerts,
    });
    if let Err(e) = store.append_incident_timeline(id, "assessed", &text, None, &details, now)? {
        return Ok(Err(e));
    }
    Ok(Ok(Assessment {
        incident,
        alerts,
        failed_transactions,
        named_transactions,
        firing_alerts,
    }))
}

/// What `incident notify` queued and delivered.
#[derive(Clone, Debug, Serialize)]
pub struct NotifyReport {
    pub incident: IncidentRecord,
    pub channels: Vec<String>,
    pub keys: Vec<String>,
    pub delivery: DeliveryReport,
}

/// `incident notify`: one message per channel through the durable outbox (idempotency key
/// per timeline entry), then a delivery pass; what is not delivered now the monitor retries.
pub async fn notify(
    store: &Store,
    dispatcher: &Dispatcher,
    id: i64,
    message: Option<&str>,
    now: u64,
) -> Result<IncidentResult<NotifyReport>> {
    let Some(incident) = store.incident(id)? else {
        return Ok(Err(IncidentError::Unknown(id)));
    };
    let channels = dispatcher.channels();
    let severity = match incident.severity {
        IncidentSeverity::P0 | IncidentSeverity::P1 => Severity::Critical,
        IncidentSeverity::P2 => Severity::Warning,
        IncidentSeverity::P3 => Severity::Info,
    };
    let summary = format!(
        "{}{}",
        incident.headline(),
        message.map(|m| format!(": {m}")).unwrap_or_default()
    );
    let notice = AlertNotice {
        transition: Transition::Fired,
        alert: AlertRecord {
            id: 0,
            dedup_key: format!("incident:{}", incident.id),
            rule: "incident".into(),
            severity,
            state: AlertState::Firing,
            summary: summary.clone(),
            details: serde_json::json!({"incident": incident}),
            block: None,
            fired_at: incident.opened_at,
            updated_at: now,
            resolved_at: None,
        },
        recovered: None,
        digest: None,
    };
    let keys = match store.enqueue_incident_notice(id, &channels, &notice, &summary, now)? {
        Ok(keys) => keys,
        Err(e) => return Ok(Err(e)),
    };
    let delivery = dispatcher.deliver_due(now).await?;
    Ok(Ok(NotifyReport {
        incident,
        channels,
        keys,
        delivery,
    }))
}

#[cfg(test)]
mod tests;
