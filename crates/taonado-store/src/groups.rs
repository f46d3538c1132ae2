//! Grouped, paced alert notifications, as Alertmanager's route timers do it.
//!
//! Alerts are grouped (by rule by default, so every rule's storm is a group of its own).
//! A transition (fired, resolved) is recorded by [`Store::apply_evaluation`] with its
//! announcement pending; [`Store::flush_alert_groups`] decides per group whether a
//! notification is due:
//!
//! - a new group waits `group_wait_secs` to gather its first notification
//!   (`critical_group_wait_secs`, 0 by default, when a new alert is critical: a critical
//!   alert of a quiet rule goes out at once, whatever storm another rule is in);
//! - after a notification, changes in the group wait `group_interval_secs` and then go out
//!   together, as one digest ("7 reverted transactions in 2 min … 7 resolved");
//! - a group that still fires and did not change is told again every
//!   `repeat_interval_secs` (0: never).
//!
//! A group closes once everything in it resolved and was announced; the next alert of its
//! rule opens a new one. A group notification with a single transition is the alert's own
//! message (its idempotency key as before); several make a digest.

use std::collections::{BTreeMap, BTreeSet};

use crate::sql::{Conn, Row, params};
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::alerts::{
    ALERT_COLUMNS, AlertNotice, AlertRecord, AlertState, Severity, Transition, alert_row,
    enqueue_notice, identity_key, notice_json,
};
use crate::error::{Result, SqlContext as _, StoreError};
use crate::outbox::enqueue_in;

/// Monitor migration 102: pending announcements and the groups' timers. Alerts recorded
/// before it were announced when they changed, so they count as announced.
pub(crate) const MIGRATION_SQL: &str = r#"
ALTER TABLE alerts ADD COLUMN recovered TEXT;
ALTER TABLE alerts ADD COLUMN fired_notified_at INTEGER;
ALTER TABLE alerts ADD COLUMN resolved_notified_at INTEGER;
UPDATE alerts SET fired_notified_at = fired_at;
UPDATE alerts SET resolved_notified_at = resolved_at WHERE state = 'resolved';
CREATE INDEX alerts_unannounced ON alerts (rule)
    WHERE fired_notified_at IS NULL OR (state = 'resolved' AND resolved_notified_at IS NULL);

CREATE TABLE alert_groups (
    group_key        TEXT PRIMARY KEY,
    opened_at        INTEGER NOT NULL,
    last_notified_at INTEGER,
    fired_total      INTEGER NOT NULL DEFAULT 0
);
"#;

/// What makes alerts one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One group per rule (Alertmanager's `group_by: [alertname]`).
    Rule,
    /// One group per alert (dedup key): no grouping.
    Alert,
}

/// The monitor config's `[grouping]`: how alerts are grouped and paced (seconds).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Grouping {
    pub group_by: GroupBy,
    /// A new group waits this long to gather its first notification.
    pub group_wait_secs: u64,
    /// The same for a group whose new alert is critical.
    pub critical_group_wait_secs: u64,
    /// Least time between two notifications of one group about changes.
    pub group_interval_secs: u64,
    /// A group still firing without changes is told again after this long; 0: never.
    pub repeat_interval_secs: u64,
}

impl Default for Grouping {
    /// Alertmanager's defaults (30 s, 5 min, 4 h), by rule, criticals at once.
    fn default() -> Self {
        Self {
            group_by: GroupBy::Rule,
            group_wait_secs: 30,
            critical_group_wait_secs: 0,
            group_interval_secs: 300,
            repeat_interval_secs: 4 * 3600,
        }
    }
}

impl Grouping {
    /// No grouping, no waiting, no repeats: every transition of every alert is told at once.
    pub fn per_alert() -> Self {
        Self {
            group_by: GroupBy::Alert,
            group_wait_secs: 0,
            critical_group_wait_secs: 0,
            group_interval_secs: 0,
            repeat_interval_secs: 0,
        }
    }
}

/// A digest lists at most this many alerts of each kind; its counts cover all of them.
pub const DIGEST_LIST_MAX: usize = 20;

/// What changed in one group since its last notification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupDigest {
    /// The group's key: its rule (or the dedup key, grouped per alert).
    pub group: String,
    pub rule: String,
    /// When the group's first alert fired.
    pub opened_at: u64,
    /// When the latest alert in the group fired.
    pub last_fired_at: u64,
    /// Alerts fired in the group since it opened, this digest's included.
    pub fired_total: u64,
    /// Fired since the last notification.
    pub new_fired: u64,
    /// Resolved since the last notification.
    pub new_resolved: u64,
    /// Still firing now.
    pub firing: u64,
    /// Nothing changed: the group still fires (repeat_interval).
    pub repeat: bool,
    /// The newly fired alerts (at most [`DIGEST_LIST_MAX`]).
    pub fired: Vec<AlertRecord>,
    /// The newly resolved alerts (at most [`DIGEST_LIST_MAX`]).
    pub resolved: Vec<AlertRecord>,
    /// What the rule reads now, from the latest resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<String>,
}

/// One notification [`Store::flush_alert_groups`] enqueued (once per channel).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupNotice {
    pub group: String,
    pub transition: Transition,
    /// Alerts whose transitions it announces (0 for a repeat).
    pub transitions: usize,
    pub digest: bool,
}

struct Member {
    alert: AlertRecord,
    recovered: Option<String>,
    fired_notified: bool,
    resolved_notified: bool,
    identity: (Option<i64>, Option<i64>, Option<Vec<u8>>),
}

impl Member {
    fn new_fired(&self) -> bool {
        !self.fired_notified
    }
    fn new_resolved(&self) -> bool {
        self.alert.state == AlertState::Resolved && !self.resolved_notified
    }
}

fn member_row(r: &Row) -> crate::sql::SqlResult<Member> {
    Ok(Member {
        alert: alert_row(r)?,
        recovered: r.get(11)?,
        fired_notified: r.get::<_, Option<i64>>(12)?.is_some(),
        resolved_notified: r.get::<_, Option<i64>>(13)?.is_some(),
        identity: (r.get(14)?, r.get(15)?, r.get(16)?),
    })
}

#[derive(Clone, Copy)]
struct GroupRow {
    opened_at: u64,
    last_notified_at: Option<u64>,
    fired_total: u64,
}

fn int(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt {
        what,
        detail: format!("{value} does not fit in an INTEGER"),
    })
}

fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Alerts with something to announce, and those still firing.
fn members(tx: &Conn<'_>) -> Result<Vec<Member>> {
    let mut stmt = tx
        .prepare(&format!(
            "SELECT {ALERT_COLUMNS}, recovered, fired_notified_at, resolved_notified_at,
                    fired_chain_id, fired_block, fired_block_hash
             FROM alerts
             WHERE state = 'firing' OR fired_notified_at IS NULL
                OR (state = 'resolved' AND resolved_notified_at IS NULL)
             ORDER BY id"
        ))
        .op("reading alerts to announce")?;
    let rows = stmt
        .query_map([], member_row)
        .op("reading alerts to announce")?;
    rows.collect::<Result<Vec<_>, _>>()
        .op("reading alerts to announce")
}

fn groups(tx: &Conn<'_>) -> Result<BTreeMap<String, GroupRow>> {
    let mut stmt = tx
        .prepare("SELECT group_key, opened_at, last_notified_at, fired_total FROM alert_groups")
        .op("reading alert groups")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                GroupRow {
                    opened_at: unsigned(r.get(1)?),
                    last_notified_at: r.get::<_, Option<i64>>(2)?.map(unsigned),
                    fired_total: unsigned(r.get(3)?),
                },
            ))
        })
        .op("reading alert groups")?;
    rows.collect::<Result<BTreeMap<_, _>, _>>()
        .op("reading alert groups")
}

/// When the group's next notification is due, or `None` when it has nothing to tell.
fn due_at(grouping: &Grouping, row: &GroupRow, members: &[&Member]) -> Option<u64> {
    let changed = members.iter().any(|m| m.new_fired() || m.new_resolved());
    match (changed, row.last_notified_at) {
        (true, None) => {
            let critical = members
                .iter()
                .any(|m| m.new_fired() && m.alert.severity == Severity::Critical);
            let wait = if critical {
                grouping.critical_group_wait_secs
            } else {
                grouping.group_wait_secs
            };
            Some(row.opened_at.saturating_add(wait))
        }
        (true, Some(last)) => Some(last.saturating_add(grouping.group_interval_secs)),
        (false, Some(last)) if grouping.repeat_interval_secs > 0 => {
            Some(last.saturating_add(grouping.repeat_interval_secs))
        }
        (false, _) => None,
    }
}

fn capped(members: &[&Member], keep: impl Fn(&Member) -> bool) -> Vec<AlertRecord> {
    members
        .iter()
        .filter(|m| keep(m))
        .take(DIGEST_LIST_MAX)
        .map(|m| m.alert.clone())
        .collect()
}

impl Store {
    /// Enqueues, on every channel, the group notifications due at `now` under `grouping`,
    /// and marks what they announce, in one transaction. Returns what it enqueued.
    pub fn flush_alert_groups(
        &self,
        grouping: &Grouping,
        channels: &[String],
        now: u64,
    ) -> Result<Vec<GroupNotice>> {
        let now_i = int("time", now)?;
        self.with_tx(|tx| {
            let members = members(tx)?;
            let mut by_group: BTreeMap<String, Vec<&Member>> = BTreeMap::new();
            for m in &members {
                let key = match grouping.group_by {
                    GroupBy::Rule => m.alert.rule.clone(),
                    GroupBy::Alert => m.alert.dedup_key.clone(),
                };
                by_group.entry(key).or_default().push(m);
            }
            let rows = groups(tx)?;
            let keys: BTreeSet<&String> = by_group.keys().chain(rows.keys()).collect();
            let mut notices = Vec::new();
            for key in keys {
                let group = by_group.get(key).map(Vec::as_slice).unwrap_or_default();
                let changed = group.iter().any(|m| m.new_fired() || m.new_resolved());
                let firing: Vec<&&Member> = group
                    .iter()
                    .filter(|m| m.alert.state == AlertState::Firing)
                    .collect();
                if !changed && firing.is_empty() {
                    tx.execute("DELETE FROM alert_groups WHERE group_key = ?1", [key])
                        .op("closing an alert group")?;
                    continue;
                }
                let row = match rows.get(key) {
                    Some(row) => *row,
                    None => {
                        // Opened by its first unannounced alert (firing already announced
                        // ones, after an upgrade or a change of group_by, count from now).
                        let opened_at = group
                            .iter()
                            .filter(|m| m.new_fired())
                            .map(|m| m.alert.fired_at)
                            .min()
                            .unwrap_or(now);
                        let last = (!changed).then_some(now_i);
                        tx.execute(
                            "INSERT INTO alert_groups (group_key, opened_at, last_notified_at) VALUES (?1, ?2, ?3)",
                            params![key, int("time", opened_at)?, last],
                        )
                        .op("opening an alert group")?;
                        GroupRow {
                            opened_at,
                            last_notified_at: (!changed).then_some(now),
                            fired_total: 0,
                        }
                    }
                };
                let Some(due) = due_at(grouping, &row, group) else {
                    continue;
                };
                if now < due {
                    continue;
                }
                let new_fired = group.iter().filter(|m| m.new_fired()).count();
                let new_resolved = group.iter().filter(|m| m.new_resolved()).count();
                let transitions = new_fired + new_resolved;
                let transition = if firing.is_empty() {
                    Transition::Resolved
                } else {
                    Transition::Fired
                };
                let single = (transitions == 1)
                    .then(|| group.iter().find(|m| m.new_fired() || m.new_resolved()))
                    .flatten();
                if let Some(m) = single {
                    let (t, recovered) = if m.new_fired() {
                        (Transition::Fired, None)
                    } else {
                        (Transition::Resolved, m.recovered.as_deref())
                    };
                    enqueue_notice(tx, channels, t, &m.alert, recovered, now)?;
                } else {
                    let digest = digest(key, &row, group, firing.len());
                    // The most severe, latest alert stands for the group.
                    let shown = group
                        .iter()
                        .filter(|m| transitions == 0 || m.new_fired() || m.new_resolved())
                        .max_by_key(|m| (m.alert.severity, m.alert.updated_at, m.alert.id))
                        .map(|m| m.alert.clone())
                        .ok_or_else(|| StoreError::Corrupt {
                            what: "alert group",
                            detail: format!("group {key} has nothing to announce"),
                        })?;
                    let payload = notice_json(&AlertNotice {
                        transition,
                        alert: shown,
                        recovered: digest.recovered.clone(),
                        digest: Some(digest),
                    })?;
                    for channel in channels {
                        let key = digest_key(key, transition, channel, &row, group, now);
                        enqueue_in(tx, &key, channel, None, &payload, now)?;
                    }
                }
                for m in group {
                    if m.new_fired() {
                        tx.execute(
                            "UPDATE alerts SET fired_notified_at = ?2 WHERE id = ?1",
                            params![m.alert.id, now_i],
                        )
                        .op("marking an alert announced")?;
                    }
                    if m.new_resolved() {
                        tx.execute(
                            "UPDATE alerts SET resolved_notified_at = ?2 WHERE id = ?1",
                            params![m.alert.id, now_i],
                        )
                        .op("marking a resolution announced")?;
                    }
                }
                if firing.is_empty() {
                    tx.execute("DELETE FROM alert_groups WHERE group_key = ?1", [key])
                        .op("closing an alert group")?;
                } else {
                    tx.execute(
                        "UPDATE alert_groups SET last_notified_at = ?2, fired_total = ?3 WHERE group_key = ?1",
                        params![key, now_i, int("count", row.fired_total.saturating_add(new_fired as u64))?],
                    )
                    .op("recording a group notification")?;
                }
                notices.push(GroupNotice {
                    group: key.clone(),
                    transition,
                    transitions,
                    digest: single.is_none(),
                });
            }
            Ok(notices)
        })
    }
}

fn digest(key: &str, row: &GroupRow, group: &[&Member], firing: usize) -> GroupDigest {
    let new_fired = group.iter().filter(|m| m.new_fired()).count() as u64;
    let new_resolved = group.iter().filter(|m| m.new_resolved()).count() as u64;
    let latest_resolution = group
        .iter()
        .filter(|m| m.new_resolved())
        .max_by_key(|m| (m.alert.resolved_at, m.alert.id));
    GroupDigest {
        group: key.to_owned(),
        rule: group
            .first()
            .map(|m| m.alert.rule.clone())
            .unwrap_or_default(),
        opened_at: row.opened_at,
        last_fired_at: group
            .iter()
            .map(|m| m.alert.fired_at)
            .max()
            .unwrap_or(row.opened_at)
            .max(row.opened_at),
        fired_total: row.fired_total.saturating_add(new_fired),
        new_fired,
        new_resolved,
        firing: firing as u64,
        repeat: new_fired + new_resolved == 0,
        fired: capped(group, Member::new_fired),
        resolved: capped(group, Member::new_resolved),
        recovered: latest_resolution.and_then(|m| m.recovered.clone()),
    }
}

/// `group-<hash>` of the group, the transition, the channel, when the group opened, the
/// time of the notification and every alert it announces (by identity, as an alert's key).
fn digest_key(
    key: &str,
    transition: Transition,
    channel: &str,
    row: &GroupRow,
    group: &[&Member],
    now: u64,
) -> String {
    let mut owned: Vec<Vec<u8>> = vec![
        key.as_bytes().to_vec(),
        transition.as_str().as_bytes().to_vec(),
        channel.as_bytes().to_vec(),
        row.opened_at.to_be_bytes().to_vec(),
        now.to_be_bytes().to_vec(),
    ];
    for m in group
        .iter()
        .filter(|m| m.new_fired() || m.new_resolved() || m.alert.state == AlertState::Firing)
    {
        let (chain, block, hash) = &m.identity;
        owned.push(m.alert.dedup_key.as_bytes().to_vec());
        owned.push(chain.unwrap_or(-1).to_be_bytes().to_vec());
        owned.push(block.unwrap_or(-1).to_be_bytes().to_vec());
        owned.push(hash.clone().unwrap_or_default());
        owned.push(m.alert.fired_at.to_be_bytes().to_vec());
    }
    let parts: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    identity_key("group-", &parts)
}

#[cfg(test)]
mod tests;
