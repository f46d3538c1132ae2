//! Incidents: one row per incident (severity P0–P3, type, status, the open, acknowledge and
//! resolve times and the response deadline), the alerts each one came from, and an
//! append-only timeline. SQLite triggers refuse any UPDATE or DELETE of a timeline row, so
//! a report written from it shows what was recorded, in order.
//!
//! An alert episode opens at most one incident: `incident_alerts` is keyed by the alert's
//! id, and at most one unresolved incident exists per source dedup key, so a critical
//! alert seen on every tick updates the incident it opened instead of opening another.

use crate::sql::{Conn, OptionalExtension as _, Row, SqlError, params};
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::alerts::{AlertNotice, AlertRecord, notice_json};
use crate::error::{Result, SqlContext as _, StoreError};
use crate::outbox::enqueue_in;

/// Monitor migration 110: incidents, their alerts and their timeline.
pub(crate) const MIGRATION_SQL: &str = r#"
CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY,
    title            TEXT NOT NULL,
    severity         TEXT NOT NULL CHECK (severity IN ('P0', 'P1', 'P2', 'P3')),
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'mitigating', 'resolved')),
    source_dedup_key TEXT,
    opened_at        INTEGER NOT NULL,
    respond_by       INTEGER NOT NULL,
    acknowledged_at  INTEGER,
    resolved_at      INTEGER,
    target_missed_at INTEGER
);
-- One unresolved incident per alert dedup key: a condition that stays true is one incident.
CREATE UNIQUE INDEX incidents_one_open_per_key ON incidents (source_dedup_key)
    WHERE status != 'resolved' AND source_dedup_key IS NOT NULL;

-- One alert episode belongs to at most one incident. No foreign key to alerts: alert
-- retention may delete resolved alerts, the incident keeps the id.
CREATE TABLE incident_alerts (
    alert_id    INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    linked_at   INTEGER NOT NULL
);
CREATE INDEX incident_alerts_incident ON incident_alerts (incident_id);

CREATE TABLE incident_timeline (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    tx_hash     TEXT,
    details     TEXT NOT NULL
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id);
CREATE TRIGGER incident_timeline_no_update BEFORE UPDATE ON incident_timeline
BEGIN SELECT RAISE(ABORT, 'the incident timeline is append-only'); END;
CREATE TRIGGER incident_timeline_no_delete BEFORE DELETE ON incident_timeline
BEGIN SELECT RAISE(ABORT, 'the incident timeline is append-only'); END;
"#;

/// How bad an incident is (the operations manual's P0–P3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IncidentSeverity {
    P0,
    P1,
    P2,
    P3,
}

impl IncidentSeverity {
    pub const ALL: [Self; 4] = [Self::P0, Self::P1, Self::P2, Self::P3];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::P0 => "P0",
            Self::P1 => "P1",
            Self::P2 => "P2",
            Self::P3 => "P3",
        }
    }

    /// `P0`…`P3`, case-insensitive.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// Where an incident is in its handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Acknowledged,
    Mitigating,
    Resolved,
}

impl IncidentStatus {
    pub const ALL: [Self; 4] = [
        Self::Open,
        Self::Acknowledged,
        Self::Mitigating,
        Self::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Mitigating => "mitigating",
            Self::Resolved => "resolved",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One stored incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub id: i64,
    pub title: String,
    pub severity: IncidentSeverity,
    /// The incident type (its runbook), e.g. `funds-at-risk`.
    pub kind: String,
    pub status: IncidentStatus,
    /// The dedup key of the alert that opened it, if an alert did.
    pub source_dedup_key: Option<String>,
    pub opened_at: u64,
    /// The response deadline: acknowledged by then, or the target is missed.
    pub respond_by: u64,
    pub acknowledged_at: Option<u64>,
    pub resolved_at: Option<u64>,
    /// When the monitor first saw the response target missed.
    pub target_missed_at: Option<u64>,
}

impl IncidentRecord {
    /// `incident 3 [P0] title (type, status)`.
    pub fn headline(&self) -> String {
        format!(
            "incident {} [{}] {} ({}, {})",
            self.id,
            self.severity.as_str(),
            self.title,
            self.kind,
            self.status.as_str()
        )
    }
}

/// What opening an incident takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIncident {
    pub title: String,
    pub severity: IncidentSeverity,
    pub kind: String,
    pub source_dedup_key: Option<String>,
    /// The alert episode it comes from (linked, so it never opens another).
    pub alert_id: Option<i64>,
    pub respond_by: u64,
}

/// One timeline entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: i64,
    pub incident_id: i64,
    pub at: u64,
    /// `opened`, `alert`, `acknowledged`, `assessed`, `notified`, `mitigation`,
    /// `target_missed`, `resolved`, `note`.
    pub kind: String,
    pub text: String,
    pub tx_hash: Option<String>,
    pub details: serde_json::Value,
}

/// What [`Store::incident_for_alert`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertIncident {
    /// The alert was already linked to this incident: nothing changed.
    Known(i64),
    /// An open incident with the alert's dedup key now also lists this alert.
    Updated(IncidentRecord),
    /// The alert opened this incident.
    Opened(IncidentRecord),
}

/// Errors of incident operations that are about the request, not the database.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error("there is no incident {0}; `taonado incident list` shows them")]
    Unknown(i64),
    #[error("alert {alert} already belongs to incident {incident}")]
    AlertTaken { alert: i64, incident: i64 },
    #[error("incident {id} is already resolved")]
    Resolved { id: i64 },
}

const COLUMNS: &str = "id, title, severity, kind, status, source_dedup_key, opened_at, respond_by, acknowledged_at, resolved_at, target_missed_at";

fn corrupt(idx: usize, detail: &str) -> SqlError {
    SqlError::conversion(
        idx,
        StoreError::Corrupt {
            what: "incidents",
            detail: detail.to_owned(),
        },
    )
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn time(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt {
        what: "time",
        detail: format!("{value} does not fit in an INTEGER"),
    })
}

fn incident_row(r: &Row) -> crate::sql::SqlResult<IncidentRecord> {
    let severity: String = r.get(2)?;
    let status: String = r.get(4)?;
    Ok(IncidentRecord {
        id: r.get(0)?,
        title: r.get(1)?,
        severity: IncidentSeverity::parse(&severity).ok_or_else(|| corrupt(2, &severity))?,
        kind: r.get(3)?,
        status: IncidentStatus::parse(&status).ok_or_else(|| corrupt(4, &status))?,
        source_dedup_key: r.get(5)?,
        opened_at: unsigned(r.get(6)?),
        respond_by: unsigned(r.get(7)?),
        acknowledged_at: r.get::<_, Option<i64>>(8)?.map(unsigned),
        resolved_at: r.get::<_, Option<i64>>(9)?.map(unsigned),
        target_missed_at: r.get::<_, Option<i64>>(10)?.map(unsigned),
    })
}

fn entry_row(r: &Row) -> crate::sql::SqlResult<TimelineEntry> {
    let details: String = r.get(6)?;
    Ok(TimelineEntry {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        at: unsigned(r.get(2)?),
        kind: r.get(3)?,
        text: r.get(4)?,
        tx_hash: r.get(5)?,
        details: serde_json::from_str(&details).map_err(|e| corrupt(6, &e.to_string()))?,
    })
}

fn get_in(tx: &Conn<'_>, id: i64) -> Result<Option<IncidentRecord>> {
    tx.query_row(
        &format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1"),
        [id],
        incident_row,
    )
    .optional()
    .op("reading an incident")
}

fn existing_in(
    tx: &Conn<'_>,
    id: i64,
) -> Result<std::result::Result<IncidentRecord, IncidentError>> {
    Ok(get_in(tx, id)?.ok_or(IncidentError::Unknown(id)))
}

fn append_in(
    tx: &Conn<'_>,
    incident: i64,
    kind: &str,
    text: &str,
    tx_hash: Option<&str>,
    details: &serde_json::Value,
    now: u64,
) -> Result<TimelineEntry> {
    tx.execute(
        "INSERT INTO incident_timeline (incident_id, at, kind, text, tx_hash, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            incident,
            time(now)?,
            kind,
            text,
            tx_hash,
            details.to_string()
        ],
    )
    .op("appending to an incident's timeline")?;
    Ok(TimelineEntry {
        id: tx.last_insert_rowid().op("reading a timeline entry's id")?,
        incident_id: incident,
        at: now,
        kind: kind.to_owned(),
        text: text.to_owned(),
        tx_hash: tx_hash.map(str::to_owned),
        details: details.clone(),
    })
}

fn link_in(tx: &Conn<'_>, alert: i64, incident: i64, now: u64) -> Result<()> {
    tx.execute(
        "INSERT INTO incident_alerts (alert_id, incident_id, linked_at) VALUES (?1, ?2, ?3)",
        params![alert, incident, time(now)?],
    )
    .op("linking an alert to an incident")?;
    Ok(())
}

fn linked_in(tx: &Conn<'_>, alert: i64) -> Result<Option<i64>> {
    tx.query_row(
        "SELECT incident_id FROM incident_alerts WHERE alert_id = ?1",
        [alert],
        |r| r.get(0),
    )
    .optional()
    .op("reading an alert's incident")
}

fn open_in(tx: &Conn<'_>, new: &NewIncident, now: u64) -> Result<IncidentRecord> {
    tx.execute(
        "INSERT INTO incidents (title, severity, kind, status, source_dedup_key, opened_at, respond_by)
         VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6)",
        params![
            new.title,
            new.severity.as_str(),
            new.kind,
            new.source_dedup_key,
            time(now)?,
            time(new.respond_by)?
        ],
    )
    .op("opening an incident")?;
    let id = tx.last_insert_rowid().op("reading an incident's id")?;
    if let Some(alert) = new.alert_id {
        link_in(tx, alert, id, now)?;
    }
    append_in(
        tx,
        id,
        "opened",
        &format!(
            "opened {} `{}` ({}), respond by unix {}",
            new.severity.as_str(),
            new.title,
            new.kind,
            new.respond_by
        ),
        None,
        &serde_json::json!({"alert_id": new.alert_id, "source_dedup_key": new.source_dedup_key}),
        now,
    )?;
    get_in(tx, id)?.ok_or(StoreError::Corrupt {
        what: "incidents",
        detail: format!("incident {id} vanished after its insert"),
    })
}

impl Store {
    /// Opens an incident (and its first timeline entry). With an alert, refuses one that
    /// already belongs to an incident.
    pub fn open_incident(
        &self,
        new: &NewIncident,
        now: u64,
    ) -> Result<std::result::Result<IncidentRecord, IncidentError>> {
        self.with_tx(|tx| {
            if let Some(alert) = new.alert_id
                && let Some(incident) = linked_in(tx, alert)?
            {
                return Ok(Err(IncidentError::AlertTaken { alert, incident }));
            }
            open_in(tx, new, now).map(Ok)
        })
    }

    /// A critical alert: already linked → nothing; an unresolved incident with its dedup
    /// key → linked to it, with a timeline entry; otherwise opens `new(alert)`. One
    /// transaction, so an alert never opens two incidents.
    pub fn incident_for_alert(
        &self,
        alert: &AlertRecord,
        new: impl FnOnce(&AlertRecord) -> NewIncident,
        now: u64,
    ) -> Result<AlertIncident> {
        self.with_tx(|tx| {
            if let Some(id) = linked_in(tx, alert.id)? {
                return Ok(AlertIncident::Known(id));
            }
            let open: Option<i64> = tx
                .query_row(
                    "SELECT id FROM incidents WHERE source_dedup_key = ?1 AND status != 'resolved'",
                    [&alert.dedup_key],
                    |r| r.get(0),
                )
                .optional()
                .op("finding an alert's open incident")?;
            if let Some(id) = open {
                link_in(tx, alert.id, id, now)?;
                append_in(
                    tx,
                    id,
                    "alert",
                    &format!("alert {} fired again: {}", alert.id, alert.summary),
                    None,
                    &serde_json::json!({"alert_id": alert.id, "rule": alert.rule}),
                    now,
                )?;
                let record = get_in(tx, id)?.ok_or(StoreError::Corrupt {
                    what: "incidents",
                    detail: format!("incident {id} vanished"),
                })?;
                return Ok(AlertIncident::Updated(record));
            }
            let mut new = new(alert);
            new.alert_id = Some(alert.id);
            new.source_dedup_key = Some(alert.dedup_key.clone());
            let record = open_in(tx, &new, now)?;
            append_in(
                tx,
                record.id,
                "alert",
                &format!("alert {} ({}): {}", alert.id, alert.rule, alert.summary),
                None,
                &serde_json::json!({"alert_id": alert.id, "rule": alert.rule, "details": alert.details}),
                now,
            )?;
            Ok(AlertIncident::Opened(record))
        })
    }

    /// One incident.
    pub fn incident(&self, id: i64) -> Result<Option<IncidentRecord>> {
        self.with_conn(|conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1"),
                [id],
                incident_row,
            )
            .optional()
            .op("reading an incident")
        })
    }

    /// Incidents, newest first; resolved ones only with `include_resolved`.
    pub fn incidents(&self, include_resolved: bool) -> Result<Vec<IncidentRecord>> {
        self.with_conn(|conn| {
            let filter = if include_resolved {
                ""
            } else {
                "WHERE status != 'resolved'"
            };
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM incidents {filter} ORDER BY id DESC"
                ))
                .op("listing incidents")?;
            let rows = stmt.query_map([], incident_row).op("listing incidents")?;
            rows.collect::<Result<Vec<_>, _>>().op("listing incidents")
        })
    }

    /// Unresolved, unacknowledged incidents whose response deadline is at or before `now`.
    pub fn overdue_incidents(&self, now: u64) -> Result<Vec<IncidentRecord>> {
        let now = time(now)?;
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM incidents WHERE status = 'open' AND respond_by <= ?1 ORDER BY id"
                ))
                .op("reading overdue incidents")?;
            let rows = stmt
                .query_map([now], incident_row)
                .op("reading overdue incidents")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading overdue incidents")
        })
    }

    /// The incident's timeline, in order.
    pub fn incident_timeline(&self, id: i64) -> Result<Vec<TimelineEntry>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, incident_id, at, kind, text, tx_hash, details FROM incident_timeline
                     WHERE incident_id = ?1 ORDER BY id",
                )
                .op("reading a timeline")?;
            let rows = stmt.query_map([id], entry_row).op("reading a timeline")?;
            rows.collect::<Result<Vec<_>, _>>().op("reading a timeline")
        })
    }

    /// Ids of the alerts linked to the incident.
    pub fn incident_alert_ids(&self, id: i64) -> Result<Vec<i64>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT alert_id FROM incident_alerts WHERE incident_id = ?1 ORDER BY alert_id",
                )
                .op("reading an incident's alerts")?;
            let rows = stmt
                .query_map([id], |r| r.get(0))
                .op("reading an incident's alerts")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading an incident's alerts")
        })
    }

    /// Appends one entry to the incident's timeline.
    pub fn append_incident_timeline(
        &self,
        id: i64,
        kind: &str,
        text: &str,
        tx_hash: Option<&str>,
        details: &serde_json::Value,
        now: u64,
    ) -> Result<std::result::Result<TimelineEntry, IncidentError>> {
        self.with_tx(|tx| {
            if let Err(e) = existing_in(tx, id)? {
                return Ok(Err(e));
            }
            append_in(tx, id, kind, text, tx_hash, details, now).map(Ok)
        })
    }

    /// Moves the incident to `status` (not back from resolved), recording the first
    /// acknowledgement and the resolution time, with a timeline entry saying `text`.
    pub fn set_incident_status(
        &self,
        id: i64,
        status: IncidentStatus,
        text: &str,
        now: u64,
    ) -> Result<std::result::Result<IncidentRecord, IncidentError>> {
        let at = time(now)?;
        self.with_tx(|tx| {
            let current = match existing_in(tx, id)? {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            if current.status == IncidentStatus::Resolved {
                return Ok(Err(IncidentError::Resolved { id }));
            }
            // Any response acknowledges: mitigating or resolving an unacknowledged incident
            // records the acknowledgement too.
            let acknowledged = (status != IncidentStatus::Open).then_some(at);
            let resolved = (status == IncidentStatus::Resolved).then_some(at);
            tx.execute(
                "UPDATE incidents SET status = ?2,
                     acknowledged_at = COALESCE(acknowledged_at, ?3),
                     resolved_at = COALESCE(resolved_at, ?4)
                 WHERE id = ?1",
                params![id, status.as_str(), acknowledged, resolved],
            )
            .op("updating an incident")?;
            append_in(
                tx,
                id,
                status.as_str(),
                text,
                None,
                &serde_json::json!({"from": current.status.as_str(), "to": status.as_str()}),
                now,
            )?;
            existing_in(tx, id)
        })
    }

    /// Appends a `notified` timeline entry saying `text` and, in the same transaction, one
    /// outbox message carrying `notice` per channel, keyed by the entry (so a retry of the
    /// same notification is deduplicated and two notifications never share a key).
    pub fn enqueue_incident_notice(
        &self,
        id: i64,
        channels: &[String],
        notice: &AlertNotice,
        text: &str,
        now: u64,
    ) -> Result<std::result::Result<Vec<String>, IncidentError>> {
        let payload = notice_json(notice)?;
        self.with_tx(|tx| {
            if let Err(e) = existing_in(tx, id)? {
                return Ok(Err(e));
            }
            let entry = append_in(
                tx,
                id,
                "notified",
                text,
                None,
                &serde_json::json!({"channels": channels}),
                now,
            )?;
            let mut keys = Vec::new();
            for channel in channels {
                let key = format!("incident-{id}-{}-{channel}", entry.id);
                enqueue_in(tx, &key, channel, None, &payload, now)?;
                keys.push(key);
            }
            Ok(Ok(keys))
        })
    }

    /// Records that the incident's response target was missed: `true` the first time
    /// (with a timeline entry), `false` after.
    pub fn mark_incident_target_missed(&self, id: i64, now: u64) -> Result<bool> {
        let at = time(now)?;
        self.with_tx(|tx| {
            let changed = tx
                .execute(
                    "UPDATE incidents SET target_missed_at = ?2 WHERE id = ?1 AND target_missed_at IS NULL",
                    params![id, at],
                )
                .op("marking a missed target")?;
            if changed == 1 {
                let record = get_in(tx, id)?;
                let by = record.map_or(0, |r| r.respond_by);
                append_in(
                    tx,
                    id,
                    "target_missed",
                    &format!("response target missed: not acknowledged by unix {by}"),
                    None,
                    &serde_json::json!({"respond_by": by}),
                    now,
                )?;
            }
            Ok(changed == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{AlertState, Severity};

    fn new(title: &str) -> NewIncident {
        NewIncident {
            title: title.into(),
            severity: IncidentSeverity::P1,
            kind: "other".into(),
            source_dedup_key: None,
            alert_id: None,
            respond_by: 1_000 + 3_600,
        }
    }

    fn alert(id: i64, key: &str) -> AlertRecord {
        AlertRecord {
            id,
            dedup_key: key.into(),
            rule: "gas_used".into(),
            severity: Severity::Critical,
            state: AlertState::Firing,
            summary: "boom".into(),
            details: serde_json::json!({}),
            block: None,
            fired_at: 0,
            updated_at: 0,
            resolved_at: None,
        }
    }

    #[test]
    fn the_timeline_refuses_updates_and_deletes() {
        crate::testing::on_each_backend("the_timeline_refuses_updates_and_deletes", |store| {
            let incident = store.open_incident(&new("a"), 1_000).unwrap().unwrap();
            let timeline = store.incident_timeline(incident.id).unwrap();
            assert_eq!(timeline.len(), 1);
            let update = store.with_conn(|c| {
                c.execute("UPDATE incident_timeline SET text = 'x'", [])
                    .op("tampering")
            });
            assert!(
                update.unwrap_err().to_string().contains("append-only"),
                "an update must be refused"
            );
            let delete = store.with_conn(|c| {
                c.execute("DELETE FROM incident_timeline", [])
                    .op("tampering")
            });
            assert!(delete.unwrap_err().to_string().contains("append-only"));
            if store.is_postgres() {
                // TRUNCATE skips row triggers; its own trigger refuses it.
                let truncate = store.with_conn(|c| {
                    c.execute_batch("TRUNCATE incident_timeline")
                        .op("tampering")
                });
                assert!(truncate.unwrap_err().to_string().contains("append-only"));
            }
            // Refused as a constraint violation on both engines.
            let StoreError::Sqlite { source, .. } = store
                .with_conn(|c| {
                    c.execute("DELETE FROM incident_timeline", [])
                        .op("tampering")
                })
                .unwrap_err()
            else {
                panic!("not a SQL error")
            };
            assert!(source.is_constraint_violation(), "{source}");
            assert_eq!(store.incident_timeline(incident.id).unwrap(), timeline);
        });
    }

    #[test]
    fn status_changes_record_times_and_stop_at_resolved() {
        crate::testing::on_each_backend(
            "status_changes_record_times_and_stop_at_resolved",
            |store| {
                let id = store.open_incident(&new("a"), 1_000).unwrap().unwrap().id;
                assert_eq!(store.overdue_incidents(4_599).unwrap().len(), 0);
                assert_eq!(store.overdue_incidents(4_600).unwrap().len(), 1);
                assert!(store.mark_incident_target_missed(id, 4_600).unwrap());
                assert!(!store.mark_incident_target_missed(id, 4_601).unwrap());
                let acked = store
                    .set_incident_status(id, IncidentStatus::Acknowledged, "ack", 4_700)
                    .unwrap()
                    .unwrap();
                assert_eq!(acked.acknowledged_at, Some(4_700));
                assert!(store.overdue_incidents(9_999).unwrap().is_empty());
                let resolved = store
                    .set_incident_status(id, IncidentStatus::Resolved, "fixed", 5_000)
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    (resolved.acknowledged_at, resolved.resolved_at),
                    (Some(4_700), Some(5_000))
                );
                assert_eq!(
                    store
                        .set_incident_status(id, IncidentStatus::Acknowledged, "again", 5_001)
                        .unwrap(),
                    Err(IncidentError::Resolved { id })
                );
                assert_eq!(
                    store
                        .set_incident_status(99, IncidentStatus::Acknowledged, "x", 5_001)
                        .unwrap(),
                    Err(IncidentError::Unknown(99))
                );
                let kinds: Vec<String> = store
                    .incident_timeline(id)
                    .unwrap()
                    .into_iter()
                    .map(|e| e.kind)
                    .collect();
                assert_eq!(
                    kinds,
                    ["opened", "target_missed", "acknowledged", "resolved"]
                );
            },
        );
    }

    #[test]
    fn an_alert_opens_one_incident_and_its_key_updates_it() {
        crate::testing::on_each_backend(
            "an_alert_opens_one_incident_and_its_key_updates_it",
            |store| {
                let make = |a: &AlertRecord| NewIncident {
                    title: a.summary.clone(),
                    ..new("x")
                };
                let first = store.incident_for_alert(&alert(7, "k"), make, 10).unwrap();
                let AlertIncident::Opened(opened) = first else {
                    panic!("{first:?}")
                };
                assert_eq!(
                    store.incident_for_alert(&alert(7, "k"), make, 11).unwrap(),
                    AlertIncident::Known(opened.id)
                );
                // Another episode of the same key updates the open incident.
                assert!(matches!(
                    store.incident_for_alert(&alert(8, "k"), make, 12).unwrap(),
                    AlertIncident::Updated(r) if r.id == opened.id
                ));
                assert_eq!(store.incident_alert_ids(opened.id).unwrap(), [7, 8]);
                assert_eq!(
                    store
                        .open_incident(
                            &NewIncident {
                                alert_id: Some(7),
                                ..new("y")
                            },
                            13
                        )
                        .unwrap(),
                    Err(IncidentError::AlertTaken {
                        alert: 7,
                        incident: opened.id
                    })
                );
                // Once resolved, a new episode opens a new incident.
                store
                    .set_incident_status(opened.id, IncidentStatus::Resolved, "done", 14)
                    .unwrap()
                    .unwrap();
                assert!(matches!(
                    store.incident_for_alert(&alert(9, "k"), make, 15).unwrap(),
                    AlertIncident::Opened(r) if r.id != opened.id
                ));
                assert_eq!(store.incidents(true).unwrap().len(), 2);
                assert_eq!(store.incidents(false).unwrap().len(), 1);
            },
        );
    }
}
