//! Fund recovery's records (`taonado recovery …`): the challenges a hotkey owner signs to
//! prove control, and a log of every recovery attempt.
//!
//! A challenge is used at most once: [`Store::use_recovery_challenge`] marks it in one
//! conditional UPDATE, so two verifications racing on the same challenge cannot both pass.
//! The attempt log never holds a secret: a mixer note asked about is recorded as the fact
//! that one was asked about, never its text.

use crate::sql::{OptionalExtension as _, Row, params};
use serde::Serialize;

use crate::Store;
use crate::error::{Result, SqlContext as _};

/// Migration 130: recovery challenges and the attempt log.
pub(crate) const MIGRATION_SQL: &str = r#"
CREATE TABLE recovery_challenges (
    id         TEXT PRIMARY KEY,
    hotkey     TEXT NOT NULL,
    chain      TEXT NOT NULL,
    message    TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE recovery_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    hotkey       TEXT,
    challenge_id TEXT,
    outcome      TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX recovery_attempts_hotkey ON recovery_attempts (hotkey, at);
"#;

/// A stored challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecoveryChallenge {
    pub id: String,
    /// SS58 of the hotkey it was issued for.
    pub hotkey: String,
    pub chain: String,
    /// The exact text to sign.
    pub message: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// One recorded attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecoveryAttempt {
    pub id: i64,
    pub at: i64,
    /// `challenge`, `verify-hotkey`, `assist` or `note`.
    pub kind: String,
    pub hotkey: Option<String>,
    pub challenge_id: Option<String>,
    /// `issued`, `verified`, `refused`, `answered`.
    pub outcome: String,
    /// Why, in one line; never a secret.
    pub detail: String,
}

/// An attempt to record.
#[derive(Clone, Debug)]
pub struct NewRecoveryAttempt<'a> {
    pub kind: &'a str,
    pub hotkey: Option<&'a str>,
    pub challenge_id: Option<&'a str>,
    pub outcome: &'a str,
    pub detail: &'a str,
}

fn challenge_row(row: &Row) -> crate::sql::SqlResult<RecoveryChallenge> {
    Ok(RecoveryChallenge {
        id: row.get(0)?,
        hotkey: row.get(1)?,
        chain: row.get(2)?,
        message: row.get(3)?,
        issued_at: row.get(4)?,
        expires_at: row.get(5)?,
        used_at: row.get(6)?,
    })
}

impl Store {
    /// Stores a new challenge.
    pub fn insert_recovery_challenge(&self, challenge: &RecoveryChallenge) -> Result<()> {
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO recovery_challenges (id, hotkey, chain, message, issued_at, expires_at, used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    challenge.id,
                    challenge.hotkey,
                    challenge.chain,
                    challenge.message,
                    challenge.issued_at,
                    challenge.expires_at,
                    challenge.used_at
                ],
            )
            .op("storing a recovery challenge")?;
            Ok(())
        })
    }

    /// The challenge `id`, if there is one.
    pub fn recovery_challenge(&self, id: &str) -> Result<Option<RecoveryChallenge>> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT id, hotkey, chain, message, issued_at, expires_at, used_at
                 FROM recovery_challenges WHERE id = ?1",
                [id],
                challenge_row,
            )
            .optional()
            .op("reading a recovery challenge")
        })
    }

    /// Marks the challenge used at `now`; `false` when it already was (or does not exist).
    pub fn use_recovery_challenge(&self, id: &str, now: i64) -> Result<bool> {
        self.with_conn(|conn| {
            let changed = conn
                .execute(
                    "UPDATE recovery_challenges SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL",
                    params![id, now],
                )
                .op("marking a recovery challenge used")?;
            Ok(changed == 1)
        })
    }

    /// Appends an attempt to the log; returns its id.
    pub fn record_recovery_attempt(&self, attempt: &NewRecoveryAttempt<'_>) -> Result<i64> {
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO recovery_attempts (at, kind, hotkey, challenge_id, outcome, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    crate::unix_now(),
                    attempt.kind,
                    attempt.hotkey,
                    attempt.challenge_id,
                    attempt.outcome,
                    attempt.detail
                ],
            )
            .op("recording a recovery attempt")?;
            conn.last_insert_rowid().op("recording a recovery attempt")
        })
    }

    /// Every recorded attempt, oldest first.
    pub fn recovery_attempts(&self) -> Result<Vec<RecoveryAttempt>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, at, kind, hotkey, challenge_id, outcome, detail
                     FROM recovery_attempts ORDER BY id",
                )
                .op("listing recovery attempts")?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(RecoveryAttempt {
                        id: row.get(0)?,
                        at: row.get(1)?,
                        kind: row.get(2)?,
                        hotkey: row.get(3)?,
                        challenge_id: row.get(4)?,
                        outcome: row.get(5)?,
                        detail: row.get(6)?,
                    })
                })
                .op("listing recovery attempts")?;
            rows.collect::<crate::sql::SqlResult<Vec<_>>>()
                .op("listing recovery attempts")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_used_once_and_attempts_are_kept_in_order() {
        crate::testing::on_each_backend(
            "a_challenge_is_used_once_and_attempts_are_kept_in_order",
            |store| {
                let challenge = RecoveryChallenge {
                    id: "c1".into(),
                    hotkey: "5Grw".into(),
                    chain: "local".into(),
                    message: "sign me".into(),
                    issued_at: 10,
                    expires_at: 20,
                    used_at: None,
                };
                store.insert_recovery_challenge(&challenge).unwrap();
                assert_eq!(store.recovery_challenge("c1").unwrap(), Some(challenge));
                assert_eq!(store.recovery_challenge("c2").unwrap(), None);
                assert!(store.use_recovery_challenge("c1", 15).unwrap());
                assert!(!store.use_recovery_challenge("c1", 16).unwrap());
                assert!(!store.use_recovery_challenge("c2", 16).unwrap());
                assert_eq!(
                    store.recovery_challenge("c1").unwrap().unwrap().used_at,
                    Some(15)
                );
                for outcome in ["issued", "verified"] {
                    store
                        .record_recovery_attempt(&NewRecoveryAttempt {
                            kind: "verify-hotkey",
                            hotkey: Some("5Grw"),
                            challenge_id: Some("c1"),
                            outcome,
                            detail: "",
                        })
                        .unwrap();
                }
                let attempts = store.recovery_attempts().unwrap();
                assert_eq!(
                    attempts
                        .iter()
                        .map(|a| a.outcome.as_str())
                        .collect::<Vec<_>>(),
                    ["issued", "verified"]
                );
            },
        );
    }
}
