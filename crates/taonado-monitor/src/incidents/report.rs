//! `incident report` and `incident postmortem`: a `taonado_report::Document` built from
//! the incident, its alerts and its timeline only (so the same database gives the same
//! bytes), rendered to markdown, HTML or JSON.

use serde::Serialize;
use taonado_report::Document;
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
    /// The same document as one self-contained HTML page.
    #[serde(skip)]
    pub html: String,
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
        html: String::new(),
    };
    let rendered = model(&doc);
    doc.markdown = rendered.to_markdown();
    doc.html = rendered.to_html();
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

/// The document (`taonado_report`'s model): one source for the markdown, the HTML page and
/// the JSON.
fn model(doc: &IncidentDocument) -> Document {
    let i = &doc.incident;
    let title = match doc.kind {
        DocumentKind::Report => "Incident report",
        DocumentKind::Postmortem => "Post-mortem",
    };
    let mut out = Document::new(
        format!("{title}: incident {} — {}", i.id, i.title),
        format!(
            "the incident timeline of incident {} ({} entries)",
            i.id,
            doc.timeline.len()
        ),
    );
    let at = |t: Option<u64>| t.map_or_else(|| "—".to_owned(), iso8601_utc);
    let mut summary = vec![
        ("severity", i.severity.as_str().to_owned()),
        ("type", i.kind.clone()),
        ("status", i.status.as_str().to_owned()),
        ("opened", iso8601_utc(i.opened_at)),
        ("respond by", iso8601_utc(i.respond_by)),
        ("acknowledged", at(i.acknowledged_at)),
        ("resolved", at(i.resolved_at)),
    ];
    if let Some(key) = &i.source_dedup_key {
        summary.push(("source alert", format!("`{key}`")));
    }
    out.section("Summary").key_values(summary);

    let m = &doc.impact;
    let target = match m.response_target_met {
        Some(true) => ", met",
        Some(false) => ", **missed**",
        None => "",
    };
    let mut impact = vec![
        (
            "time to acknowledge",
            format!(
                "{} (target {}{target})",
                duration(m.time_to_acknowledge_secs),
                duration(Some(m.response_target_secs))
            ),
        ),
        ("time to resolve", duration(m.time_to_resolve_secs)),
        ("open for", duration(Some(m.open_for_secs))),
        ("alerts", m.alerts.to_string()),
        ("transactions sent", m.transactions.len().to_string()),
    ];
    if let Some(a) = &m.assessment {
        impact.push(("exposure", a.clone()));
    }
    out.section("Impact").key_values(impact);

    if !doc.alerts.is_empty() {
        out.section("Alerts").table(
            ["id", "rule", "severity", "state", "fired", "summary"],
            doc.alerts.iter().map(|a| {
                vec![
                    a.id.to_string(),
                    a.rule.clone(),
                    a.severity.as_str().to_owned(),
                    a.state.as_str().to_owned(),
                    iso8601_utc(a.fired_at),
                    a.summary.clone(),
                ]
            }),
        );
    }
    out.section("Timeline").table(
        ["time (UTC)", "event", "what"],
        doc.timeline
            .iter()
            .map(|e| vec![iso8601_utc(e.at), e.kind.clone(), e.text.clone()]),
    );
    let actions = out.section("Actions taken");
    if doc.actions.is_empty() {
        actions.paragraph("None recorded.");
    } else {
        actions.list(doc.actions.iter().map(|a| match &a.tx_hash {
            Some(hash) => format!("{} — tx `{hash}`", a.text),
            None => a.text.clone(),
        }));
    }
    if doc.kind == DocumentKind::Postmortem {
        out.section("Follow-ups")
            .list(doc.follow_ups.iter().map(|f| format!("[ ] {f}")));
    }
    out
}
