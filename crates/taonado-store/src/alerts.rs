//! Alert state for the monitor: one row per firing episode of a dedup key. A transition is
//! recorded with its announcement pending (`fired_notified_at`/`resolved_notified_at` NULL);
//! [`crate::groups`] turns pending transitions into notifications, grouped and paced, and
//! marks them announced in the transaction that writes the outbox, so a state change and
//! its delivery are never separated by a crash.

use std::collections::{BTreeMap, BTreeSet};

use crate::sql::{Conn, OptionalExtension as _, Row, params};
use alloy_primitives::keccak256;
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::error::{Result, SqlContext as _, StoreError};
use crate::outbox::enqueue_in;

/// Monitor migration 100: alerts and the delivery outbox.
pub const MIGRATION_SQL: &str = r#"
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    dedup_key   TEXT NOT NULL,
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
    summary     TEXT NOT NULL,
    details     TEXT NOT NULL,
    block       INTEGER,
    fired_at    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    resolved_at INTEGER
);
-- At most one firing episode per dedup key: a condition that stays true is one alert.
CREATE UNIQUE INDEX alerts_one_firing ON alerts (dedup_key) WHERE state = 'firing';
CREATE INDEX alerts_recent ON alerts (updated_at);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL,
    alert_id        INTEGER REFERENCES alerts (id),
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
"#;

/// The chain and block an alert first fired at, so that its notifications' idempotency keys
/// name the alert itself and never repeat for another alert: not after a rebuilt database,
/// not on a second monitor, not on another chain.
pub(crate) const FIRED_BLOCK_SQL: &str = r#"
ALTER TABLE alerts ADD COLUMN fired_chain_id INTEGER;
ALTER TABLE alerts ADD COLUMN fired_block INTEGER;
ALTER TABLE alerts ADD COLUMN fired_block_hash BLOB;
"#;

/// How urgent an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Self::Info, Self::Warning, Self::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    /// `info`, `warning` or `critical`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Whether an alert's condition still holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// A condition the rules found true in one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveAlert {
    /// Same key = same alert: it fires once and resolves once.
    pub dedup_key: String,
    pub rule: String,
    pub severity: Severity,
    pub summary: String,
    pub details: serde_json::Value,
    /// The block the condition was observed at.
    pub block: Option<u64>,
}

/// One stored alert episode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub id: i64,
    pub dedup_key: String,
    pub rule: String,
    pub severity: Severity,
    pub state: AlertState,
    pub summary: String,
    pub details: serde_json::Value,
    pub block: Option<u64>,
    pub fired_at: u64,
    pub updated_at: u64,
    pub resolved_at: Option<u64>,
}

/// What an outbox message announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Fired,
    Resolved,
    /// `taonado alerts test`: not tied to a stored alert.
    Test,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Resolved => "resolved",
            Self::Test => "test",
        }
    }
}

/// The payload stored in the outbox: the alert as it was at the transition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertNotice {
    pub transition: Transition,
    pub alert: AlertRecord,
    /// For a resolution: what the rule measures now (the recovered value); the alert's
    /// summary still says why it fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<String>,
    /// For a notification about several alerts of one group: what changed in the group
    /// since its last notification (`alert` is then the group's most severe, latest alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<crate::groups::GroupDigest>,
}

/// What one [`Store::apply_alerts`] changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertChanges {
    pub fired: Vec<AlertRecord>,
    pub resolved: Vec<AlertRecord>,
    /// Alerts that were already firing and still are.
    pub still_firing: usize,
    /// What the rule of each resolved alert reads now, by dedup key (when known).
    pub recovered: BTreeMap<String, String>,
}

/// Idempotency keys of dead-letter notices start with this.
pub const DEAD_LETTER_PREFIX: &str = "dead-";

pub(crate) const ALERT_COLUMNS: &str = "id, dedup_key, rule, severity, state, summary, details, block, fired_at, updated_at, resolved_at";

pub(crate) fn alert_row(r: &Row) -> crate::sql::SqlResult<AlertRecord> {
    let severity: String = r.get(3)?;
    let state: String = r.get(4)?;
    let details: String = r.get(6)?;
    let conversion = |idx: usize, what: &str| {
        crate::sql::SqlError::conversion(
            idx,
            Box::new(StoreError::Corrupt {
                what: "alerts",
                detail: what.to_owned(),
            }),
        )
    };
    Ok(AlertRecord {
        id: r.get(0)?,
        dedup_key: r.get(1)?,
        rule: r.get(2)?,
        severity: Severity::parse(&severity).ok_or_else(|| conversion(3, &severity))?,
        state: match state.as_str() {
            "firing" => AlertState::Firing,
            "resolved" => AlertState::Resolved,
            other => return Err(conversion(4, other)),
        },
        summary: r.get(5)?,
        details: serde_json::from_str(&details).map_err(|e| conversion(6, &e.to_string()))?,
        block: r.get::<_, Option<i64>>(7)?.map(|b| b.max(0) as u64),
        fired_at: r.get::<_, i64>(8)?.max(0) as u64,
        updated_at: r.get::<_, i64>(9)?.max(0) as u64,
        resolved_at: r.get::<_, Option<i64>>(10)?.map(|t| t.max(0) as u64),
    })
}

fn to_i64(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt {
        what,
        detail: format!("{value} does not fit in an INTEGER"),
    })
}

pub(crate) fn notice_json(notice: &AlertNotice) -> Result<String> {
    serde_json::to_string(notice).map_err(|e| StoreError::Corrupt {
        what: "alert notice",
        detail: e.to_string(),
    })
}

fn single_notice(
    transition: Transition,
    alert: &AlertRecord,
    recovered: Option<&str>,
) -> Result<String> {
    notice_json(&AlertNotice {
        transition,
        alert: alert.clone(),
        recovered: recovered.map(str::to_owned),
        digest: None,
    })
}

/// One transition of one alert, announced alone, on every channel.
pub(crate) fn enqueue_notice(
    tx: &Conn<'_>,
    channels: &[String],
    transition: Transition,
    alert: &AlertRecord,
    recovered: Option<&str>,
    now: u64,
) -> Result<usize> {
    let payload = single_notice(transition, alert, recovered)?;
    let identity = fired_identity(tx, alert.id)?;
    for channel in channels {
        let key = idempotency_key(alert, &identity, transition, channel);
        enqueue_in(tx, &key, channel, Some(alert.id), &payload, now)?;
    }
    Ok(channels.len())
}

/// Where an alert first fired: chain id, block number and block hash (empty for alerts
/// recorded before the columns existed, or fired before anything was indexed).
pub(crate) type FiredAt = (Option<i64>, Option<i64>, Option<Vec<u8>>);

pub(crate) fn fired_identity(tx: &Conn<'_>, id: i64) -> Result<FiredAt> {
    tx.query_row(
        "SELECT fired_chain_id, fired_block, fired_block_hash FROM alerts WHERE id = ?1",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
    .op("reading where an alert fired")
    .map(Option::unwrap_or_default)
}

/// `alert-<keccak256 of the alert's identity>`: rule, dedup key, transition, channel, and
/// the chain, block, block hash and time it first fired. The same notice always gets the
/// same key (a receiver dedups retries); two different alerts never share one.
pub(crate) fn idempotency_key(
    alert: &AlertRecord,
    (chain_id, block, hash): &FiredAt,
    transition: Transition,
    channel: &str,
) -> String {
    identity_key(
        "alert-",
        &[
            alert.rule.as_bytes(),
            alert.dedup_key.as_bytes(),
            transition.as_str().as_bytes(),
            channel.as_bytes(),
            &chain_id.unwrap_or(-1).to_be_bytes(),
            &block.unwrap_or(-1).to_be_bytes(),
            hash.as_deref().unwrap_or_default(),
            &alert.fired_at.to_be_bytes(),
        ],
    )
}

/// `<prefix><first 16 bytes of keccak256 of the parts, each length-prefixed>`: length
/// prefixes make sure no two different tuples hash the same bytes.
pub(crate) fn identity_key(prefix: &str, parts: &[&[u8]]) -> String {
    let mut identity = Vec::new();
    for part in parts {
        identity.extend_from_slice(&(part.len() as u64).to_be_bytes());
        identity.extend_from_slice(part);
    }
    format!(
        "{prefix}{}",
        alloy_primitives::hex::encode(&keccak256(&identity)[..16])
    )
}

fn firing_in(tx: &Conn<'_>) -> Result<Vec<AlertRecord>> {
    let mut stmt = tx
        .prepare(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE state = 'firing' ORDER BY id"
        ))
        .op("reading firing alerts")?;
    let rows = stmt.query_map([], alert_row).op("reading firing alerts")?;
    rows.collect::<Result<Vec<_>, _>>()
        .op("reading firing alerts")
}

impl Store {
    /// [`Store::apply_evaluation`] without readings: resolutions say no recovered value.
    pub fn apply_alerts(
        &self,
        active: &[ActiveAlert],
        evaluated_rules: &BTreeSet<String>,
        now: u64,
    ) -> Result<AlertChanges> {
        self.apply_evaluation(active, evaluated_rules, &BTreeMap::new(), now)
    }

    /// Records one evaluation: alerts in `active` that were not firing start firing, firing
    /// alerts of a rule in `evaluated_rules` that are no longer active resolve (rules that
    /// could not be evaluated keep their state). Each transition waits to be announced by
    /// [`Store::flush_alert_groups`]; a resolution keeps what the rule reads now, from
    /// `readings` by dedup key, else by rule, for its message.
    pub fn apply_evaluation(
        &self,
        active: &[ActiveAlert],
        evaluated_rules: &BTreeSet<String>,
        readings: &BTreeMap<String, String>,
        now: u64,
    ) -> Result<AlertChanges> {
        let now_i = to_i64("time", now)?;
        self.with_tx(|tx| {
            let firing = firing_in(tx)?;
            let mut changes = AlertChanges::default();
            for alert in active {
                if firing.iter().any(|f| f.dedup_key == alert.dedup_key) {
                    tx.execute(
                        "UPDATE alerts SET summary = ?2, details = ?3, block = ?4, updated_at = ?5
                         WHERE dedup_key = ?1 AND state = 'firing'",
                        params![
                            alert.dedup_key,
                            alert.summary,
                            alert.details.to_string(),
                            alert.block.map(|b| to_i64("block", b)).transpose()?,
                            now_i
                        ],
                    )
                    .op("updating a firing alert")?;
                    changes.still_firing += 1;
                    continue;
                }
                // The alert fires at the indexer's checkpoint: that block names it.
                tx.execute(
                    "INSERT INTO alerts (dedup_key, rule, severity, state, summary, details, block, fired_at, updated_at,
                                         fired_chain_id, fired_block, fired_block_hash)
                     SELECT ?1, ?2, ?3, 'firing', ?4, ?5, ?6, ?7, ?7, s.chain_id, s.checkpoint_block, s.checkpoint_hash
                     FROM (SELECT 1) AS one LEFT JOIN indexer_state s ON s.id = 1",
                    params![
                        alert.dedup_key,
                        alert.rule,
                        alert.severity.as_str(),
                        alert.summary,
                        alert.details.to_string(),
                        alert.block.map(|b| to_i64("block", b)).transpose()?,
                        now_i
                    ],
                )
                .op("inserting an alert")?;
                let record = AlertRecord {
                    id: tx.last_insert_rowid().op("reading the alert id")?,
                    dedup_key: alert.dedup_key.clone(),
                    rule: alert.rule.clone(),
                    severity: alert.severity,
                    state: AlertState::Firing,
                    summary: alert.summary.clone(),
                    details: alert.details.clone(),
                    block: alert.block,
                    fired_at: now,
                    updated_at: now,
                    resolved_at: None,
                };
                changes.fired.push(record);
            }
            for mut record in firing {
                let active_again = active.iter().any(|a| a.dedup_key == record.dedup_key);
                if active_again || !evaluated_rules.contains(&record.rule) {
                    continue;
                }
                let recovered = readings
                    .get(&record.dedup_key)
                    .or_else(|| readings.get(&record.rule))
                    .map(String::as_str);
                tx.execute(
                    "UPDATE alerts SET state = 'resolved', resolved_at = ?2, updated_at = ?2, recovered = ?3
                     WHERE id = ?1",
                    params![record.id, now_i, recovered],
                )
                .op("resolving an alert")?;
                record.state = AlertState::Resolved;
                record.resolved_at = Some(now);
                record.updated_at = now;
                if let Some(text) = recovered {
                    changes
                        .recovered
                        .insert(record.dedup_key.clone(), text.to_owned());
                }
                changes.resolved.push(record);
            }
            Ok(changes)
        })
    }

    /// Enqueues a test notice for each channel (`taonado alerts test`); returns the keys.
    pub fn enqueue_test_alert(
        &self,
        channels: &[String],
        summary: &str,
        now: u64,
    ) -> Result<Vec<String>> {
        self.enqueue_operator_notice(
            channels,
            "test",
            Transition::Test,
            Severity::Info,
            summary,
            now,
        )
    }

    /// Enqueues an operator's notice (`taonado emergency notify`) for each channel, as a
    /// fired alert of rule `emergency`; returns the keys, in `channels` order.
    pub fn enqueue_emergency_notice(
        &self,
        channels: &[String],
        severity: Severity,
        summary: &str,
        now: u64,
    ) -> Result<Vec<String>> {
        self.enqueue_operator_notice(
            channels,
            "emergency",
            Transition::Fired,
            severity,
            summary,
            now,
        )
    }

    /// One message per channel for a notice no rule raised, keyed
    /// `<rule>-<now>-<sequence>-<channel>`.
    fn enqueue_operator_notice(
        &self,
        channels: &[String],
        rule: &str,
        transition: Transition,
        severity: Severity,
        summary: &str,
        now: u64,
    ) -> Result<Vec<String>> {
        let record = AlertRecord {
            id: 0,
            dedup_key: format!("{rule}-{now}"),
            rule: rule.into(),
            severity,
            state: AlertState::Firing,
            summary: summary.to_owned(),
            details: serde_json::json!({}),
            block: None,
            fired_at: now,
            updated_at: now,
            resolved_at: None,
        };
        let payload = single_notice(transition, &record, None)?;
        self.with_tx(|tx| {
            // The sequence makes two notices in the same second distinct messages.
            let seq: i64 = tx
                .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM outbox", [], |r| {
                    r.get(0)
                })
                .op("numbering an operator's notice")?;
            let mut keys = Vec::new();
            for channel in channels {
                let key = format!("{rule}-{now}-{seq}-{channel}");
                enqueue_in(tx, &key, channel, None, &payload, now)?;
                keys.push(key);
            }
            Ok(keys)
        })
    }

    /// Tells `channels` that the message `dead_key` to `dead_channel` was given up (a dead
    /// letter), so an alert is never lost silently. Critical; one notice per dead message
    /// and channel (keyed `dead-<key>-<channel>`); returns the keys. The caller never calls
    /// this for a dead-letter notice itself, so a dead channel cannot start a cascade.
    pub fn enqueue_dead_letter_notice(
        &self,
        dead_key: &str,
        dead_channel: &str,
        error: &str,
        channels: &[String],
        now: u64,
    ) -> Result<Vec<String>> {
        let record = AlertRecord {
            id: 0,
            dedup_key: format!("{DEAD_LETTER_PREFIX}{dead_key}"),
            rule: "notification_given_up".into(),
            severity: Severity::Critical,
            state: AlertState::Firing,
            summary: format!(
                "a notification to channel {dead_channel} was given up ({error}); fix the channel, then run `taonado alerts requeue --channel {dead_channel}`"
            ),
            details: serde_json::json!({"channel": dead_channel, "idempotency_key": dead_key}),
            block: None,
            fired_at: now,
            updated_at: now,
            resolved_at: None,
        };
        let payload = single_notice(Transition::Fired, &record, None)?;
        self.with_tx(|tx| {
            let mut keys = Vec::new();
            for channel in channels.iter().filter(|c| *c != dead_channel) {
                let key = format!("{DEAD_LETTER_PREFIX}{dead_key}-{channel}");
                enqueue_in(tx, &key, channel, None, &payload, now)?;
                keys.push(key);
            }
            Ok(keys)
        })
    }

    /// Alerts that are firing now, most severe first.
    pub fn firing_alerts(&self) -> Result<Vec<AlertRecord>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts WHERE state = 'firing'
                     ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, id"
                ))
                .op("reading firing alerts")?;
            let rows = stmt.query_map([], alert_row).op("reading firing alerts")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading firing alerts")
        })
    }

    /// The latest alert episodes (firing or resolved), newest change first.
    pub fn recent_alerts(&self, max: usize) -> Result<Vec<AlertRecord>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts ORDER BY updated_at DESC, id DESC LIMIT ?1"
                ))
                .op("reading recent alerts")?;
            let rows = stmt
                .query_map([i64::try_from(max).unwrap_or(i64::MAX)], alert_row)
                .op("reading recent alerts")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading recent alerts")
        })
    }

    /// One alert by id.
    pub fn alert(&self, id: i64) -> Result<Option<AlertRecord>> {
        self.with_conn(|conn| {
            conn.query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                [id],
                alert_row,
            )
            .optional()
            .op("reading an alert")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::Grouping;

    fn active(key: &str, rule: &str) -> ActiveAlert {
        ActiveAlert {
            dedup_key: key.into(),
            rule: rule.into(),
            severity: Severity::Warning,
            summary: format!("{key} is wrong"),
            details: serde_json::json!({"value": 1}),
            block: Some(7),
        }
    }

    fn rules(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Applies, then tells every transition at once (no grouping); returns the changes and
    /// the notifications enqueued per channel.
    fn apply(
        store: &Store,
        active: &[ActiveAlert],
        evaluated: &BTreeSet<String>,
        channels: &[String],
        now: u64,
    ) -> (AlertChanges, usize) {
        let changes = store.apply_alerts(active, evaluated, now).unwrap();
        let told = store
            .flush_alert_groups(&Grouping::per_alert(), channels, now)
            .unwrap();
        (changes, told.len())
    }

    #[test]
    fn fires_once_resolves_once_and_enqueues_each_transition_per_channel() {
        crate::testing::on_each_backend(
            "fires_once_resolves_once_and_enqueues_each_transition_per_channel",
            |store| {
                let channels = vec!["hook".to_owned(), "mail".to_owned()];
                let evaluated = rules(&["gas"]);
                let a = active("gas:avg", "gas");
                let (first, told) =
                    apply(&store, std::slice::from_ref(&a), &evaluated, &channels, 10);
                assert_eq!(first.fired.len(), 1);
                assert_eq!(told, 1);
                assert_eq!(store.outbox_counts().unwrap().pending, 2);
                let (again, told) = apply(&store, &[a], &evaluated, &channels, 11);
                assert!(again.fired.is_empty());
                assert_eq!(again.still_firing, 1);
                assert_eq!(told, 0);
                assert_eq!(store.firing_alerts().unwrap().len(), 1);

                let (cleared, told) = apply(&store, &[], &evaluated, &channels, 12);
                assert_eq!(cleared.resolved.len(), 1);
                assert_eq!(cleared.resolved[0].resolved_at, Some(12));
                assert_eq!(told, 1);
                assert!(store.firing_alerts().unwrap().is_empty());
                let recent = store.recent_alerts(10).unwrap();
                assert_eq!(recent.len(), 1);
                assert_eq!(recent[0].state, AlertState::Resolved);
                assert_eq!(store.outbox_counts().unwrap().pending, 4);
            },
        );
    }

    #[test]
    fn rules_that_were_not_evaluated_keep_their_alerts() {
        crate::testing::on_each_backend(
            "rules_that_were_not_evaluated_keep_their_alerts",
            |store| {
                let channels = vec!["hook".to_owned()];
                apply(
                    &store,
                    &[active("k", "balance")],
                    &rules(&["balance"]),
                    &channels,
                    1,
                );
                let (changes, _) = apply(&store, &[], &rules(&["gas"]), &channels, 2);
                assert!(changes.resolved.is_empty());
                assert_eq!(store.firing_alerts().unwrap().len(), 1);
            },
        );
    }

    #[test]
    fn a_resolved_key_that_fires_again_is_a_new_episode() {
        crate::testing::on_each_backend(
            "a_resolved_key_that_fires_again_is_a_new_episode",
            |store| {
                let channels = vec!["hook".to_owned()];
                let evaluated = rules(&["r"]);
                apply(&store, &[active("k", "r")], &evaluated, &channels, 1);
                apply(&store, &[], &evaluated, &channels, 2);
                let (again, _) = apply(&store, &[active("k", "r")], &evaluated, &channels, 3);
                assert_eq!(again.fired.len(), 1);
                assert_eq!(store.recent_alerts(10).unwrap().len(), 2);
                assert_eq!(store.outbox_counts().unwrap().pending, 3);
            },
        );
    }

    #[test]
    fn test_alerts_get_distinct_keys() {
        crate::testing::on_each_backend("test_alerts_get_distinct_keys", |store| {
            let channels = vec!["hook".to_owned()];
            let a = store.enqueue_test_alert(&channels, "hello", 5).unwrap();
            let b = store.enqueue_test_alert(&channels, "hello", 5).unwrap();
            assert_ne!(a, b);
            assert_eq!(store.outbox_counts().unwrap().pending, 2);
        });
    }
}
