//! The durable job queue: a SQLite file of the relayer's own (`relayer.db`), separate from
//! the indexer's store. A job is written before the API answers 202, and every signed
//! transaction is written (raw bytes, hash, nonce, gas price) before it is broadcast, so
//! after a kill the relayer knows everything it may have sent and re-checks it instead of
//! signing anew.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use alloy::primitives::{Address, B256, Bytes, U256};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::{FailReason, RelayerError, Result};

/// The schema version this binary writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    nullifier_hash TEXT NOT NULL,
    proof TEXT NOT NULL,
    args TEXT NOT NULL,
    fee TEXT NOT NULL,
    state TEXT NOT NULL,
    fail_code TEXT,
    fail_message TEXT,
    tx_hash TEXT,
    block INTEGER,
    accepted_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    confirmed_at_ms INTEGER
);
-- One live job per nullifier: a replayed request is refused; a failed job may be retried.
CREATE UNIQUE INDEX IF NOT EXISTS jobs_live_nullifier ON jobs(nullifier_hash) WHERE state != 'FAILED';
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS sends (
    tx_hash TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs(id),
    nonce INTEGER NOT NULL,
    gas_price TEXT NOT NULL,
    raw_tx BLOB NOT NULL,
    signed_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_job ON sends(job_id);
"#;

/// Where a job is. ACCEPTED → SENT → MINED → CONFIRMED, or FAILED.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    /// Checked and queued; nothing signed yet.
    Accepted,
    /// A transaction was signed and recorded, and broadcast (again after a restart).
    Sent,
    /// In a block, with fewer confirmations than the configured depth.
    Mined,
    /// In a block with the configured depth on top.
    Confirmed,
    /// See the job's reason code.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "ACCEPTED",
            Self::Sent => "SENT",
            Self::Mined => "MINED",
            Self::Confirmed => "CONFIRMED",
            Self::Failed => "FAILED",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "SENT" => Self::Sent,
            "MINED" => Self::Mined,
            "CONFIRMED" => Self::Confirmed,
            "FAILED" => Self::Failed,
            _ => Self::Accepted,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Confirmed | Self::Failed)
    }
}

/// A withdrawal the relayer accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    pub state: JobState,
    /// The pool (`contract` of the request).
    pub contract: Address,
    pub nullifier_hash: B256,
    /// `abi.encode(uint256[8])`.
    #[serde(skip)]
    pub proof: Bytes,
    /// root, nullifierHash, recipient, relayer, fee, refund.
    #[serde(skip)]
    pub args: [B256; 6],
    pub fee: U256,
    /// The reason code of a failed job.
    pub failed_reason: Option<FailReason>,
    pub failed_message: Option<String>,
    /// The transaction that was mined, else the latest one sent.
    pub tx_hash: Option<B256>,
    pub block: Option<u64>,
    pub accepted_at_ms: u64,
    pub updated_at_ms: u64,
    pub confirmed_at_ms: Option<u64>,
}

impl Job {
    pub fn recipient(&self) -> Address {
        Address::from_word(self.args[2])
    }
}

/// A signed transaction of a job, written before it is broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentTx {
    pub tx_hash: B256,
    pub nonce: u64,
    pub gas_price: u128,
    pub raw: Bytes,
    pub signed_at_ms: u64,
}

/// The job database; cheap to clone.
#[derive(Clone, Debug)]
pub struct JobStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn db_error(path: &Path) -> impl Fn(rusqlite::Error) -> RelayerError + '_ {
    move |source| RelayerError::Database {
        path: path.to_path_buf(),
        source,
    }
}

const JOB_COLUMNS: &str = "id, state, pool, nullifier_hash, proof, args, fee, fail_code, fail_message, tx_hash, block, accepted_at_ms, updated_at_ms, confirmed_at_ms";

fn parse<T: std::str::FromStr>(text: &str, column: usize) -> rusqlite::Result<T> {
    text.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            format!("unreadable value {text:?}").into(),
        )
    })
}

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let state: String = r.get(1)?;
    let pool: String = r.get(2)?;
    let nullifier: String = r.get(3)?;
    let proof: String = r.get(4)?;
    let args: String = r.get(5)?;
    let fee: String = r.get(6)?;
    let fail_code: Option<String> = r.get(7)?;
    let tx_hash: Option<String> = r.get(9)?;
    let args: Vec<B256> = serde_json::from_str(&args).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, e.into())
    })?;
    let args: [B256; 6] = args.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            5,
            rusqlite::types::Type::Text,
            "not 6 words".into(),
        )
    })?;
    Ok(Job {
        id: r.get(0)?,
        state: JobState::parse(&state),
        contract: parse(&pool, 2)?,
        nullifier_hash: parse(&nullifier, 3)?,
        proof: parse(&proof, 4)?,
        args,
        fee: parse(&fee, 6)?,
        failed_reason: fail_code.as_deref().and_then(FailReason::parse),
        failed_message: r.get(8)?,
        tx_hash: tx_hash.as_deref().map(|h| parse(h, 9)).transpose()?,
        block: r.get::<_, Option<i64>>(10)?.map(|b| b as u64),
        accepted_at_ms: r.get::<_, i64>(11)? as u64,
        updated_at_ms: r.get::<_, i64>(12)? as u64,
        confirmed_at_ms: r.get::<_, Option<i64>>(13)?.map(|t| t as u64),
    })
}

impl JobStore {
    /// Opens (creating) the database at `path`. A database written by a newer binary is
    /// refused.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| RelayerError::Database {
                path: path.to_path_buf(),
                source: rusqlite::Error::ToSqlConversionFailure(e.into()),
            })?;
        }
        let error = db_error(path);
        let conn = Connection::open(path).map_err(&error)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&error)?;
        // FULL: a job acknowledged with 202 survives a power cut, not only a kill.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(&error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(&error)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&error)?;
        if version > SCHEMA_VERSION {
            return Err(RelayerError::Config(format!(
                "the job database {} has schema {version}, newer than this binary's {SCHEMA_VERSION}; use a newer taonado",
                path.display()
            )));
        }
        conn.execute_batch(SCHEMA).map_err(&error)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(&error)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        // A panic while holding the lock leaves a connection that is still consistent
        // (SQLite rolls back an unfinished transaction).
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(db_error(&self.path))
    }

    /// Writes an accepted job; `Err(Ok(existing id))` when a live job has its nullifier.
    pub fn insert(&self, job: &Job) -> Result<std::result::Result<(), String>> {
        let args = serde_json::to_string(&job.args).unwrap_or_default();
        self.with(|conn| {
            let tx = conn.transaction()?;
            let existing: Option<String> = tx
                .query_row(
                    "SELECT id FROM jobs WHERE nullifier_hash = ?1 AND state != 'FAILED'",
                    [job.nullifier_hash.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = existing {
                return Ok(Err(id));
            }
            tx.execute(
                "INSERT INTO jobs (id, state, pool, nullifier_hash, proof, args, fee, accepted_at_ms, updated_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    job.id,
                    job.state.as_str(),
                    job.contract.to_string(),
                    job.nullifier_hash.to_string(),
                    job.proof.to_string(),
                    args,
                    job.fee.to_string(),
                    job.accepted_at_ms as i64,
                ],
            )?;
            tx.commit()?;
            Ok(Ok(()))
        })
    }

    /// The id of the job not FAILED that has `nullifier_hash`, if any.
    pub fn live_job(&self, nullifier_hash: B256) -> Result<Option<String>> {
        self.with(|conn| {
            conn.query_row(
                "SELECT id FROM jobs WHERE nullifier_hash = ?1 AND state != 'FAILED'",
                [nullifier_hash.to_string()],
                |r| r.get(0),
            )
            .optional()
        })
    }

    pub fn get(&self, id: &str) -> Result<Option<Job>> {
        self.with(|conn| {
            conn.query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                job_row,
            )
            .optional()
        })
    }

    /// Jobs in `state`, oldest first.
    pub fn in_state(&self, state: JobState) -> Result<Vec<Job>> {
        self.with(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE state = ?1 ORDER BY accepted_at_ms, id"
            ))?;
            stmt.query_map([state.as_str()], job_row)?.collect()
        })
    }

    /// Jobs not yet CONFIRMED or FAILED.
    pub fn queue_len(&self) -> Result<u64> {
        self.with(|conn| {
            conn.query_row(
                "SELECT COUNT(*) FROM jobs WHERE state IN ('ACCEPTED', 'SENT', 'MINED')",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .map(|n| n as u64)
    }

    /// Records a signed transaction of `job` and marks the job SENT, in one transaction,
    /// before the transaction is broadcast.
    pub fn record_send(&self, job: &str, sent: &SentTx) -> Result<()> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO sends (tx_hash, job_id, nonce, gas_price, raw_tx, signed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    sent.tx_hash.to_string(),
                    job,
                    sent.nonce as i64,
                    sent.gas_price.to_string(),
                    sent.raw.to_vec(),
                    sent.signed_at_ms as i64
                ],
            )?;
            tx.execute(
                "UPDATE jobs SET state = 'SENT', tx_hash = ?2, updated_at_ms = ?3 WHERE id = ?1",
                params![job, sent.tx_hash.to_string(), now_ms() as i64],
            )?;
            tx.commit()
        })
    }

    /// Drops a transaction the node refused (it is in no pool); a job left without any
    /// transaction is ACCEPTED again.
    pub fn forget_send(&self, job: &str, tx_hash: B256) -> Result<()> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM sends WHERE tx_hash = ?1 AND job_id = ?2",
                params![tx_hash.to_string(), job],
            )?;
            let left: Option<String> = tx
                .query_row(
                    "SELECT tx_hash FROM sends WHERE job_id = ?1 ORDER BY signed_at_ms DESC, rowid DESC LIMIT 1",
                    [job],
                    |r| r.get(0),
                )
                .optional()?;
            match left {
                Some(hash) => tx.execute(
                    "UPDATE jobs SET tx_hash = ?2, updated_at_ms = ?3 WHERE id = ?1",
                    params![job, hash, now_ms() as i64],
                )?,
                None => tx.execute(
                    "UPDATE jobs SET state = 'ACCEPTED', tx_hash = NULL, updated_at_ms = ?2 WHERE id = ?1",
                    params![job, now_ms() as i64],
                )?,
            };
            tx.commit()
        })
    }

    /// Every transaction signed for `job`, oldest first.
    pub fn sends(&self, job: &str) -> Result<Vec<SentTx>> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT tx_hash, nonce, gas_price, raw_tx, signed_at_ms FROM sends WHERE job_id = ?1 ORDER BY signed_at_ms, rowid",
            )?;
            stmt.query_map([job], |r| {
                let hash: String = r.get(0)?;
                let price: String = r.get(2)?;
                let raw: Vec<u8> = r.get(3)?;
                Ok(SentTx {
                    tx_hash: parse(&hash, 0)?,
                    nonce: r.get::<_, i64>(1)? as u64,
                    gas_price: parse(&price, 2)?,
                    raw: raw.into(),
                    signed_at_ms: r.get::<_, i64>(4)? as u64,
                })
            })?
            .collect()
        })
    }

    /// The highest nonce ever signed, if any.
    pub fn max_nonce(&self) -> Result<Option<u64>> {
        self.with(|conn| {
            conn.query_row("SELECT MAX(nonce) FROM sends", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
        })
        .map(|n| n.map(|n| n as u64))
    }

    pub fn set_mined(&self, job: &str, tx_hash: B256, block: u64) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE jobs SET state = 'MINED', tx_hash = ?2, block = ?3, updated_at_ms = ?4 WHERE id = ?1",
                params![job, tx_hash.to_string(), block as i64, now_ms() as i64],
            )
            .map(drop)
        })
    }

    /// Back to SENT: the block it was mined in left the chain.
    pub fn set_unmined(&self, job: &str) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE jobs SET state = 'SENT', block = NULL, updated_at_ms = ?2 WHERE id = ?1",
                params![job, now_ms() as i64],
            )
            .map(drop)
        })
    }

    pub fn set_confirmed(&self, job: &str) -> Result<()> {
        let now = now_ms() as i64;
        self.with(|conn| {
            conn.execute(
                "UPDATE jobs SET state = 'CONFIRMED', updated_at_ms = ?2, confirmed_at_ms = ?2 WHERE id = ?1",
                params![job, now],
            )
            .map(drop)
        })
    }

    pub fn set_failed(&self, job: &str, reason: FailReason, message: &str) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE jobs SET state = 'FAILED', fail_code = ?2, fail_message = ?3, updated_at_ms = ?4 WHERE id = ?1",
                params![job, reason.as_str(), message, now_ms() as i64],
            )
            .map(drop)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, nullifier: u8) -> Job {
        Job {
            id: id.into(),
            state: JobState::Accepted,
            contract: Address::repeat_byte(1),
            nullifier_hash: B256::repeat_byte(nullifier),
            proof: Bytes::from(vec![7u8; 256]),
            args: [B256::repeat_byte(9); 6],
            fee: U256::from(5u64),
            failed_reason: None,
            failed_message: None,
            tx_hash: None,
            block: None,
            accepted_at_ms: 1,
            updated_at_ms: 1,
            confirmed_at_ms: None,
        }
    }

    #[test]
    fn a_job_and_its_sends_survive_reopening_and_a_live_nullifier_is_refused_twice() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("relayer.db");
        let store = JobStore::open(&path).expect("opens");
        assert_eq!(store.insert(&job("a", 1)).expect("writes"), Ok(()));
        assert_eq!(
            store.insert(&job("b", 1)).expect("writes"),
            Err("a".to_owned())
        );
        let sent = SentTx {
            tx_hash: B256::repeat_byte(3),
            nonce: 4,
            gas_price: 10,
            raw: Bytes::from(vec![1, 2, 3]),
            signed_at_ms: 2,
        };
        store.record_send("a", &sent).expect("records");
        drop(store);

        let store = JobStore::open(&path).expect("reopens");
        let a = store.get("a").expect("reads").expect("job a");
        assert_eq!(a.state, JobState::Sent);
        assert_eq!(a.tx_hash, Some(sent.tx_hash));
        assert_eq!(a.args, job("a", 1).args);
        assert_eq!(store.sends("a").expect("reads"), vec![sent]);
        assert_eq!(store.max_nonce().expect("reads"), Some(4));
        assert_eq!(store.queue_len().expect("counts"), 1);

        // A failed job frees its nullifier for a new request.
        store
            .set_failed("a", FailReason::NoLongerValid, "root unknown")
            .expect("writes");
        assert_eq!(store.insert(&job("c", 1)).expect("writes"), Ok(()));
        let a = store.get("a").expect("reads").expect("job a");
        assert_eq!(a.failed_reason, Some(FailReason::NoLongerValid));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("relayer.db");
        let conn = Connection::open(&path).expect("opens");
        conn.pragma_update(None, "user_version", 99).expect("sets");
        drop(conn);
        let error = JobStore::open(&path).expect_err("refused");
        assert!(error.to_string().contains("newer"), "{error}");
    }
}
