//! `incident report` and `incident postmortem`: markdown written from the incident, its
//! alerts and its timeline only, so the same database gives the same text.

use std::fmt::Write as _;

use serde::Serialize;
use taonado_store::Store;
use taonado_store::alerts::AlertRecord;
use taonado_store::incidents::{IncidentError, IncidentRecord, TimelineEntry};
use taonado_types::iso8601_utc;

use super::IncidentResult;
use crate::error::Result;

/// Which document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The incident report: what happened and what was done, as recorded.
    Report,
    /// The post-mortem: the report plus impact and follow-ups.
    Postmortem,
}

/// Durations and whether the response target held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Impact {
    /// Seconds from open to acknowledgement, to resolution, or to the last entry so far.
    pub time_to_acknowledge_secs: Option<u64>,
    pub time_to_resolve_secs: Option<u64>,
    pub open_for_secs: u64,
    pub response_target_secs: u64,
    pub response_target_met: Option<bool>,
    pub alerts: usize,
    /// Transactions the mitigation sent.
    pub transactions: Vec<String>,
    /// The last assessment's text, if one was made.
    pub assessment: Option<String>,
}

/// One document, with its markdown.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentDocument {
    pub kind: DocumentKind,
    pub incident: IncidentRecord,
    pub alerts: Vec<AlertRecord>,
    pub timeline: Vec<TimelineEntry>,
    /// Timeline entries of the mitigation steps.
    pub actions: Vec<TimelineEntry>,
    pub impact: Impact,
    pub follow_ups: Vec<String>,
    pub markdown: String,
}

/// Builds the report or post-mortem of incident `id`.
pub fn document(
    store: &Store,
    id: i64,
    kind: DocumentKind,
) -> Result<IncidentResult<IncidentDocument>> {
    let Some(incident) = store.incident(id)? else {
        return Ok(Err(IncidentError::Unknown(id)));
    };
    let timeline = store.incident_timeline(id)?;
    let mut alerts = Vec::new();
    for alert in store.incident_alert_ids(id)? {
        if let Some(a) = store.alert(alert)? {
            alerts.push(a);
        }
    }
    let actions: Vec<TimelineEntry> = timeline
        .iter()
        .filter(|e| e.kind.starts_with("mitigation"))
        .cloned()
        .collect();
    let impact = impact(&incident, &timeline, alerts.len());
    let follow_ups = follow_ups(&incident, &actions, &impact);
    let mut doc = IncidentDocument {
        kind,
        incident,
        alerts,
        timeline,
        actions,
        impact,
        follow_ups,
        markdown: String::new(),
    };
    doc.markdown = markdown(&doc);
    Ok(Ok(doc))
}

fn impact(incident: &IncidentRecord, timeline: &[TimelineEntry], alerts: usize) -> Impact {
    let last = timeline.last().map_or(incident.opened_at, |e| e.at);
    let end = incident.resolved_at.unwrap_or(last);
    Impact {
        time_to_acknowledge_secs: incident
            .acknowledged_at
            .map(|t| t.saturating_sub(incident.opened_at)),
        time_to_resolve_secs: incident
            .resolved_at
            .map(|t| t.saturating_sub(incident.opened_at)),
        open_for_secs: end.saturating_sub(incident.opened_at),
        response_target_secs: incident.respond_by.saturating_sub(incident.opened_at),
        response_target_met: match (incident.acknowledged_at, incident.target_missed_at) {
            (_, Some(_)) => Some(false),
            (Some(at), None) => Some(at <= incident.respond_by),
            (None, None) => None,
        },
        alerts,
        transactions: timeline.iter().filter_map(|e| e.tx_hash.clone()).collect(),
        assessment: timeline
            .iter()
            .rev()
            .find(|e| e.kind == "assessed")
            .map(|e| e.text.clone()),
    }
}

fn follow_ups(
    incident: &IncidentRecord,
    actions: &[TimelineEntry],
    impact: &Impact,
) -> Vec<String> {
    let mut out = Vec::new();
    if incident.resolved_at.is_none() {
        out.push(format!(
            "resolve the incident (`taonado incident resolve {}`) once the cause is fixed",
            incident.id
        ));
    }
    if impact.response_target_met == Some(false) {
        out.push(format!(
            "the {}s response target was missed: check who is paged and how (the monitor's channels)",
            impact.response_target_secs
        ));
    }
    let step = |name: &str| {
        actions
            .iter()
            .any(|a| a.kind == "mitigation" && a.details["step"] == name)
    };
    if step("zero-bounty") {
        out.push("restore the set-weights bounty (EvmValidator.setSetWeightsBounty) when the cause is fixed".into());
    }
    if step("raise-weight-interval") {
        out.push("restore the weight interval (EvmValidator.setSetWeightsBlockInterval) when the cause is fixed".into());
    }
    if step("rescue-funds") {
        out.push("return the rescued funds to the EvmValidator after the fix".into());
    }
    if step("propose-upgrade") {
        out.push("rehearse, review and execute the proposed EvmValidator upgrade".into());
    }
    if actions.iter().any(|a| a.kind == "mitigation_failed") {
        out.push("a mitigation step failed: rerun or complete it by hand".into());
    }
    out.push("write down the root cause and how it is prevented".into());
    out
}

fn duration(secs: Option<u64>) -> String {
    match secs {
        None => "—".into(),
        Some(s) if s < 120 => format!("{s}s"),
        Some(s) if s < 7_200 => format!("{}m {}s", s / 60, s % 60),
        Some(s) => format!("{}h {}m", s / 3_600, (s % 3_600) / 60),
    }
}

/// Markdown table cells hold no pipe or newline.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown(doc: &IncidentDocument) -> String {
    let i = &doc.incident;
    let mut md = String::new();
    let title = match doc.kind {
        DocumentKind::Report => "Incident report",
        DocumentKind::Postmortem => "Post-mortem",
    };
    let _ = writeln!(md, "# {title}: incident {} — {}\n", i.id, i.title);
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| severity | {} |", i.severity.as_str());
    let _ = writeln!(md, "| type | {} |", i.kind);
    let _ = writeln!(md, "| status | {} |", i.status.as_str());
    let _ = writeln!(md, "| opened | {} |", iso8601_utc(i.opened_at));
    let _ = writeln!(md, "| respond by | {} |", iso8601_utc(i.respond_by));
    let at = |t: Option<u64>| t.map_or_else(|| "—".to_owned(), iso8601_utc);
    let _ = writeln!(md, "| acknowledged | {} |", at(i.acknowledged_at));
    let _ = writeln!(md, "| resolved | {} |", at(i.resolved_at));
    if let Some(key) = &i.source_dedup_key {
        let _ = writeln!(md, "| source alert | `{key}` |");
    }
    md.push('\n');

    let m = &doc.impact;
    let _ = writeln!(md, "## Impact\n");
    let _ = writeln!(
        md,
        "- time to acknowledge: {} (target {}{})",
        duration(m.time_to_acknowledge_secs),
        duration(Some(m.response_target_secs)),
        match m.response_target_met {
            Some(true) => ", met",
            Some(false) => ", **missed**",
            None => "",
        }
    );
    let _ = writeln!(
        md,
        "- time to resolve: {}",
        duration(m.time_to_resolve_secs)
    );
    let _ = writeln!(md, "- open for: {}", duration(Some(m.open_for_secs)));
    let _ = writeln!(md, "- alerts: {}", m.alerts);
    let _ = writeln!(md, "- transactions sent: {}", m.transactions.len());
    if let Some(a) = &m.assessment {
        let _ = writeln!(md, "- {a}");
    }
    md.push('\n');

    if !doc.alerts.is_empty() {
        let _ = writeln!(md, "## Alerts\n");
        let _ = writeln!(
            md,
            "| id | rule | severity | state | fired | summary |\n|---|---|---|---|---|---|"
        );
        for a in &doc.alerts {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                a.id,
                a.rule,
                a.severity.as_str(),
                a.state.as_str(),
                iso8601_utc(a.fired_at),
                cell(&a.summary)
            );
        }
        md.push('\n');
    }

    let _ = writeln!(md, "## Timeline\n");
    let _ = writeln!(md, "| time (UTC) | event | what |\n|---|---|---|");
    for e in &doc.timeline {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            iso8601_utc(e.at),
            e.kind,
            cell(&e.text)
        );
    }
    md.push('\n');

    let _ = writeln!(md, "## Actions taken\n");
    if doc.actions.is_empty() {
        let _ = writeln!(md, "None recorded.");
    }
    for a in &doc.actions {
        match &a.tx_hash {
            Some(hash) => {
                let _ = writeln!(md, "- {} — tx `{hash}`", a.text);
            }
            None => {
                let _ = writeln!(md, "- {}", a.text);
            }
        }
    }
    md.push('\n');

    if doc.kind == DocumentKind::Postmortem {
        let _ = writeln!(md, "## Follow-ups\n");
        for f in &doc.follow_ups {
            let _ = writeln!(md, "- [ ] {f}");
        }
        md.push('\n');
    }
    md
}
