//! The durable delivery outbox: one row per (notification, channel), written in the same
//! transaction as the alert transition it announces. A dispatcher leases a due row (moving
//! its next attempt into the future) before sending, marks it sent after the channel
//! accepted it, or records the failure and the next attempt. Rows marked sent are never
//! handed out again, so a restart resends nothing that was acknowledged; a crash between a
//! send and its mark resends once with the same idempotency key, which receivers dedup on.

use crate::sql::{Conn, OptionalExtension as _, Row, params};
use serde::Serialize;

use crate::Store;
use crate::error::{Result, SqlContext as _, StoreError};

/// A message waiting for (or done with) delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub idempotency_key: String,
    pub channel: String,
    pub alert_id: Option<i64>,
    /// JSON of an [`crate::alerts::AlertNotice`].
    pub payload: String,
    pub state: OutboxState,
    /// Attempts made so far (a leased message counts its current attempt).
    pub attempts: u32,
    pub next_attempt_at: u64,
    pub last_error: Option<String>,
    pub created_at: u64,
    pub sent_at: Option<u64>,
}

/// Where a message is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Pending,
    Sent,
    /// Gave up after the maximum number of attempts.
    Dead,
}

/// Messages by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sent: u64,
    pub dead: u64,
}

const COLUMNS: &str = "id, idempotency_key, channel, alert_id, payload, state, attempts, next_attempt_at, last_error, created_at, sent_at";

fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn message_row(r: &Row) -> crate::sql::SqlResult<OutboxMessage> {
    let state: String = r.get(5)?;
    Ok(OutboxMessage {
        id: r.get(0)?,
        idempotency_key: r.get(1)?,
        channel: r.get(2)?,
        alert_id: r.get(3)?,
        payload: r.get(4)?,
        state: match state.as_str() {
            "pending" => OutboxState::Pending,
            "sent" => OutboxState::Sent,
            "dead" => OutboxState::Dead,
            other => {
                return Err(crate::sql::SqlError::conversion(
                    5,
                    Box::new(StoreError::Corrupt {
                        what: "outbox state",
                        detail: other.to_owned(),
                    }),
                ));
            }
        },
        attempts: u32::try_from(r.get::<_, i64>(6)?).unwrap_or(u32::MAX),
        next_attempt_at: non_negative(r.get(7)?),
        last_error: r.get(8)?,
        created_at: non_negative(r.get(9)?),
        sent_at: r.get::<_, Option<i64>>(10)?.map(non_negative),
    })
}

fn time(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt {
        what: "time",
        detail: format!("{value} does not fit in an INTEGER"),
    })
}

/// Inserts a pending message unless its idempotency key exists (then nothing changes).
pub(crate) fn enqueue_in(
    tx: &Conn<'_>,
    idempotency_key: &str,
    channel: &str,
    alert_id: Option<i64>,
    payload: &str,
    now: u64,
) -> Result<bool> {
    let now = time(now)?;
    let inserted = tx
        .execute(
            "INSERT INTO outbox (idempotency_key, channel, alert_id, payload, state, next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)
             ON CONFLICT (idempotency_key) DO NOTHING",
            params![idempotency_key, channel, alert_id, payload, now],
        )
        .op("enqueueing a notification")?;
    Ok(inserted == 1)
}

impl Store {
    /// Leases up to `max` messages due at `now`: each gets one more attempt and is hidden
    /// until `now + lease_seconds`, so a crashed sender's message comes back later instead
    /// of twice at once.
    pub fn lease_due_messages(
        &self,
        now: u64,
        lease_seconds: u64,
        max: usize,
    ) -> Result<Vec<OutboxMessage>> {
        let now_i = time(now)?;
        let until = time(now.saturating_add(lease_seconds))?;
        self.with_tx(|tx| {
            let due = {
                let mut stmt = tx
                    .prepare(&format!(
                        "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1
                         ORDER BY next_attempt_at, id LIMIT ?2"
                    ))
                    .op("reading due notifications")?;
                let rows = stmt
                    .query_map(
                        params![now_i, i64::try_from(max).unwrap_or(i64::MAX)],
                        message_row,
                    )
                    .op("reading due notifications")?;
                rows.collect::<Result<Vec<_>, _>>()
                    .op("reading due notifications")?
            };
            let mut leased = Vec::with_capacity(due.len());
            for mut message in due {
                tx.execute(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2 WHERE id = ?1",
                    params![message.id, until],
                )
                .op("leasing a notification")?;
                message.attempts += 1;
                message.next_attempt_at = non_negative(until);
                leased.push(message);
            }
            Ok(leased)
        })
    }

    /// Marks a delivered message; returns false if it was not pending (already marked).
    pub fn mark_sent(&self, id: i64, now: u64) -> Result<bool> {
        let now = time(now)?;
        self.with_tx(|tx| {
            let changed = tx
                .execute(
                    "UPDATE outbox SET state = 'sent', sent_at = ?2, last_error = NULL
                     WHERE id = ?1 AND state = 'pending'",
                    params![id, now],
                )
                .op("marking a notification sent")?;
            Ok(changed == 1)
        })
    }

    /// Records a failed attempt: retried at `retry_at`, or given up (`None`).
    pub fn mark_failed(&self, id: i64, error: &str, retry_at: Option<u64>) -> Result<()> {
        let (state, next) = match retry_at {
            Some(at) => ("pending", time(at)?),
            None => ("dead", 0),
        };
        self.with_tx(|tx| {
            tx.execute(
                "UPDATE outbox SET state = ?2, last_error = ?3,
                 next_attempt_at = CASE WHEN ?2 = 'pending' THEN ?4 ELSE next_attempt_at END
                 WHERE id = ?1 AND state = 'pending'",
                params![id, state, error, next],
            )
            .op("recording a failed notification")?;
            Ok(())
        })
    }

    /// Puts given-up messages (of `channel`, or all) back in the queue, due at `now`, with
    /// their attempts and age reset so the delivery policy tries them afresh. Returns how
    /// many. Sent messages are never touched: a requeue cannot send anything twice.
    pub fn requeue_dead(&self, channel: Option<&str>, now: u64) -> Result<u64> {
        let now = time(now)?;
        self.with_tx(|tx| {
            let changed = tx
                .execute(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?1,
                     created_at = ?1
                     WHERE state = 'dead' AND (?2 IS NULL OR channel = ?2)",
                    params![now, channel],
                )
                .op("requeueing dead messages")?;
            Ok(changed as u64)
        })
    }

    /// Messages by state.
    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        self.with_conn(|conn| {
            let mut counts = OutboxCounts::default();
            let mut stmt = conn
                .prepare("SELECT state, count(*) FROM outbox GROUP BY state")
                .op("counting notifications")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .op("counting notifications")?;
            for row in rows {
                let (state, n) = row.op("counting notifications")?;
                let n = non_negative(n);
                match state.as_str() {
                    "pending" => counts.pending = n,
                    "sent" => counts.sent = n,
                    _ => counts.dead = n,
                }
            }
            Ok(counts)
        })
    }

    /// The newest messages, for listings.
    pub fn recent_messages(&self, max: usize) -> Result<Vec<OutboxMessage>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?1"
                ))
                .op("reading notifications")?;
            let rows = stmt
                .query_map([i64::try_from(max).unwrap_or(i64::MAX)], message_row)
                .op("reading notifications")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading notifications")
        })
    }

    /// One message by idempotency key.
    pub fn message(&self, idempotency_key: &str) -> Result<Option<OutboxMessage>> {
        self.with_conn(|conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM outbox WHERE idempotency_key = ?1"),
                [idempotency_key],
                message_row,
            )
            .optional()
            .op("reading a notification")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enqueue_one(store: &Store, now: u64) -> String {
        let keys = store
            .enqueue_test_alert(&["hook".to_owned()], "hi", now)
            .unwrap();
        keys[0].clone()
    }

    #[test]
    fn a_leased_message_is_hidden_until_the_lease_ends() {
        crate::testing::on_each_backend(
            "a_leased_message_is_hidden_until_the_lease_ends",
            |store| {
                let _key = enqueue_one(&store, 100);
                let first = store.lease_due_messages(100, 30, 10).unwrap();
                assert_eq!(first.len(), 1);
                assert_eq!(first[0].attempts, 1);
                assert!(store.lease_due_messages(129, 30, 10).unwrap().is_empty());
                let again = store.lease_due_messages(130, 30, 10).unwrap();
                assert_eq!(again.len(), 1);
                assert_eq!(again[0].attempts, 2);
            },
        );
    }

    #[test]
    fn sent_messages_are_never_leased_again() {
        crate::testing::on_each_backend("sent_messages_are_never_leased_again", |store| {
            let key = enqueue_one(&store, 0);
            let leased = store.lease_due_messages(0, 30, 10).unwrap();
            assert!(store.mark_sent(leased[0].id, 1).unwrap());
            assert!(
                !store.mark_sent(leased[0].id, 2).unwrap(),
                "second mark is a no-op"
            );
            assert!(store.lease_due_messages(10_000, 30, 10).unwrap().is_empty());
            let stored = store.message(&key).unwrap().unwrap();
            assert_eq!(stored.state, OutboxState::Sent);
            assert_eq!(stored.sent_at, Some(1));
        });
    }

    #[test]
    fn failures_retry_at_the_given_time_then_die() {
        crate::testing::on_each_backend("failures_retry_at_the_given_time_then_die", |store| {
            let key = enqueue_one(&store, 0);
            let leased = store.lease_due_messages(0, 30, 10).unwrap();
            store
                .mark_failed(leased[0].id, "connection refused", Some(5))
                .unwrap();
            assert!(store.lease_due_messages(4, 30, 10).unwrap().is_empty());
            let retry = store.lease_due_messages(5, 30, 10).unwrap();
            assert_eq!(retry.len(), 1);
            store.mark_failed(retry[0].id, "still down", None).unwrap();
            let stored = store.message(&key).unwrap().unwrap();
            assert_eq!(stored.state, OutboxState::Dead);
            assert_eq!(stored.last_error.as_deref(), Some("still down"));
            assert_eq!(store.outbox_counts().unwrap().dead, 1);
        });
    }

    #[test]
    fn the_outbox_survives_reopening_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let store = Store::open(&path).unwrap();
            store
                .enqueue_test_alert(&["a".to_owned(), "b".to_owned()], "x", 0)
                .unwrap();
            let leased = store.lease_due_messages(0, 30, 1).unwrap();
            store.mark_sent(leased[0].id, 0).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let due = store.lease_due_messages(0, 30, 10).unwrap();
        assert_eq!(due.len(), 1, "only the unsent message comes back");
        assert_eq!(
            store.outbox_counts().unwrap(),
            OutboxCounts {
                pending: 1,
                sent: 1,
                dead: 0
            }
        );
    }
}
