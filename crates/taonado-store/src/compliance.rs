//! Compliance data: the mixer activity the compliance rules read (pool deposits and
//! withdrawals with their transactions' sender and gas price), the flags they write
//! (idempotent per rule, deposit and withdrawal), the recorded retention policy and the
//! purge it allows.
//!
//! A flag lives as long as the block that made it: a reorg that drops the block drops the
//! flag (ON DELETE CASCADE); the next evaluation re-derives what still holds.

use crate::sql::{OptionalExtension as _, Value, params};
use alloy_primitives::{Address, B256, U256};
use serde::Serialize;

use crate::Store;
use crate::codec::{self, int};
use crate::error::{Result, SqlContext as _};

/// Migration 160.
pub(crate) const MIGRATION_SQL: &str = r#"
CREATE TABLE compliance_flags (
    id             INTEGER PRIMARY KEY,
    rule           TEXT NOT NULL,
    deposit_key    TEXT NOT NULL,
    withdrawal_key TEXT NOT NULL,
    pool           BLOB,
    score          REAL NOT NULL,
    explanation    TEXT NOT NULL,
    details        TEXT NOT NULL,
    block_number   INTEGER NOT NULL REFERENCES blocks (number) ON DELETE CASCADE,
    block_time     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (rule, deposit_key, withdrawal_key)
);
CREATE INDEX compliance_flags_time ON compliance_flags (block_time);

CREATE TABLE compliance_policy (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    retention_secs INTEGER NOT NULL,
    label          TEXT NOT NULL,
    set_at         INTEGER NOT NULL
);
"#;

/// A pool `Deposit` event with its transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolDeposit {
    pub pool: Address,
    pub commitment: B256,
    pub leaf_index: u64,
    /// The event's `user` (who paid the WTAO).
    pub user: Option<Address>,
    pub block: u64,
    pub log_index: u64,
    pub timestamp: u64,
    pub tx_hash: B256,
    /// The transaction's sender and effective gas price, when the indexer stored it.
    pub tx_from: Option<Address>,
    pub gas_price: Option<u128>,
}

/// A pool `Withdrawal` event with its transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolWithdrawal {
    pub pool: Address,
    pub to: Address,
    pub nullifier_hash: B256,
    pub relayer: Address,
    pub fee: U256,
    pub block: u64,
    pub log_index: u64,
    pub timestamp: u64,
    pub tx_hash: B256,
    pub tx_from: Option<Address>,
    pub gas_price: Option<u128>,
}

/// Every indexed pool deposit and withdrawal, in chain order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MixerActivity {
    pub deposits: Vec<PoolDeposit>,
    pub withdrawals: Vec<PoolWithdrawal>,
}

/// One finding of a compliance rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComplianceFlag {
    pub rule: String,
    /// The deposit's transaction hash (0x-hex), or `-` for a rule about withdrawals only.
    pub deposit_key: String,
    /// The withdrawal's transaction hash, or `-` for a rule about deposits only.
    pub withdrawal_key: String,
    pub pool: Option<Address>,
    /// 0..1: how strongly the rule links the two.
    pub score: f64,
    pub explanation: String,
    pub details: serde_json::Value,
    /// The block that completed the pattern (the later event), and its time.
    pub block: u64,
    pub timestamp: u64,
}

/// The recorded retention policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    pub retention_secs: u64,
    /// As the operator wrote it (`7y`).
    pub label: String,
    pub set_at: u64,
}

/// What a purge deleted (or, dry, would delete).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PurgeCounts {
    pub table: &'static str,
    pub rows: u64,
}

fn json_addr(v: &serde_json::Value, key: &str) -> Option<Address> {
    v.get(key)?.as_str()?.parse().ok()
}

fn json_b256(v: &serde_json::Value, key: &str) -> Option<B256> {
    v.get(key)?.as_str()?.parse().ok()
}

fn json_u64(v: &serde_json::Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

impl Store {
    /// Every pool deposit and withdrawal indexed, with its transaction's sender and gas
    /// price (absent when the transaction was not stored, e.g. a call through another
    /// contract).
    pub fn mixer_activity(&self) -> Result<MixerActivity> {
        const OP: &str = "reading mixer activity";
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT e.address, e.name, e.block_number, e.log_index, b.timestamp, e.tx_hash,
                            e.decoded, t.from_address, t.effective_gas_price
                     FROM events e JOIN blocks b ON b.number = e.block_number
                     LEFT JOIN transactions t ON t.hash = e.tx_hash
                     WHERE e.contract = 'pool' AND e.name IN ('Deposit', 'Withdrawal')
                     ORDER BY e.block_number, e.log_index",
                )
                .op(OP)?;
            let mut rows = stmt.query([]).op(OP)?;
            let mut out = MixerActivity::default();
            while let Some(r) = rows.next().op(OP)? {
                let pool = codec::address(r, 0).op(OP)?;
                let name: String = r.get(1).op(OP)?;
                let block = codec::u64_col(r, 2).op(OP)?;
                let log_index = codec::u64_col(r, 3).op(OP)?;
                let timestamp = codec::u64_col(r, 4).op(OP)?;
                let tx_hash = codec::b256(r, 5).op(OP)?;
                let decoded: String = r.get(6).op(OP)?;
                let decoded: serde_json::Value =
                    serde_json::from_str(&decoded).unwrap_or(serde_json::Value::Null);
                let tx_from = match r.get_ref(7).op(OP)? {
                    Value::Null => None,
                    _ => Some(codec::address(r, 7).op(OP)?),
                };
                let gas_price = r
                    .get::<_, Option<i64>>(8)
                    .op(OP)?
                    .map(|p| u128::from(p.cast_unsigned()));
                if name == "Deposit" {
                    out.deposits.push(PoolDeposit {
                        pool,
                        commitment: json_b256(&decoded, "commitment").unwrap_or_default(),
                        leaf_index: json_u64(&decoded, "leafIndex").unwrap_or_default(),
                        user: json_addr(&decoded, "user"),
                        block,
                        log_index,
                        timestamp,
                        tx_hash,
                        tx_from,
                        gas_price,
                    });
                } else if let Some(to) = json_addr(&decoded, "to") {
                    out.withdrawals.push(PoolWithdrawal {
                        pool,
                        to,
                        nullifier_hash: json_b256(&decoded, "nullifierHash").unwrap_or_default(),
                        relayer: json_addr(&decoded, "relayer").unwrap_or_default(),
                        fee: decoded
                            .get("fee")
                            .and_then(|f| f.as_str())
                            .and_then(|f| f.parse().ok())
                            .unwrap_or_default(),
                        block,
                        log_index,
                        timestamp,
                        tx_hash,
                        tx_from,
                        gas_price,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Records `flags`, one row per (rule, deposit, withdrawal): a flag already recorded
    /// keeps its row and creation time and takes the new score and text. Flags older than
    /// `not_before` (unix seconds: the retention cutoff) are not recorded, so a purge is
    /// not undone by the next evaluation. Returns how many rows are new.
    pub fn record_flags(&self, flags: &[ComplianceFlag], not_before: u64) -> Result<u64> {
        const OP: &str = "recording compliance flags";
        let now = crate::unix_now();
        self.with_tx(|tx| {
            let mut new = 0;
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO compliance_flags (rule, deposit_key, withdrawal_key, pool, score,
                        explanation, details, block_number, block_time, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT (rule, deposit_key, withdrawal_key) DO UPDATE SET
                        score = excluded.score, explanation = excluded.explanation,
                        details = excluded.details",
                )
                .op(OP)?;
            let mut exists = tx
                .prepare_cached(
                    "SELECT 1 FROM compliance_flags
                     WHERE rule = ?1 AND deposit_key = ?2 AND withdrawal_key = ?3",
                )
                .op(OP)?;
            for flag in flags.iter().filter(|f| f.timestamp >= not_before) {
                let known = exists
                    .exists(params![flag.rule, flag.deposit_key, flag.withdrawal_key])
                    .op(OP)?;
                stmt.execute(params![
                    flag.rule,
                    flag.deposit_key,
                    flag.withdrawal_key,
                    flag.pool.map(|p| p.to_vec()),
                    flag.score,
                    flag.explanation,
                    flag.details.to_string(),
                    int("block", flag.block)?,
                    int("timestamp", flag.timestamp)?,
                    now
                ])
                .op(OP)?;
                if !known {
                    new += 1;
                }
            }
            Ok(new)
        })
    }

    /// Flags whose block time is in `[from, to)`, in chain order (then rule, keys): the same
    /// database gives the same list.
    pub fn compliance_flags(&self, from: u64, to: u64) -> Result<Vec<ComplianceFlag>> {
        const OP: &str = "reading compliance flags";
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT rule, deposit_key, withdrawal_key, pool, score, explanation, details,
                            block_number, block_time
                     FROM compliance_flags WHERE block_time >= ?1 AND block_time < ?2
                     ORDER BY block_number, rule, deposit_key, withdrawal_key",
                )
                .op(OP)?;
            let rows = stmt
                .query_map(
                    params![int("from", from)?, int("to", to.min(i64::MAX as u64))?],
                    |r| {
                        let pool: Option<Vec<u8>> = r.get(3)?;
                        let details: String = r.get(6)?;
                        Ok(ComplianceFlag {
                            rule: r.get(0)?,
                            deposit_key: r.get(1)?,
                            withdrawal_key: r.get(2)?,
                            pool: pool
                                .filter(|p| p.len() == 20)
                                .map(|p| Address::from_slice(&p)),
                            score: r.get(4)?,
                            explanation: r.get(5)?,
                            details: serde_json::from_str(&details)
                                .unwrap_or(serde_json::Value::Null),
                            block: codec::u64_col(r, 7)?,
                            timestamp: codec::u64_col(r, 8)?,
                        })
                    },
                )
                .op(OP)?;
            rows.collect::<Result<Vec<_>, _>>().op(OP)
        })
    }

    /// Records the retention policy (replacing an earlier one).
    pub fn set_retention_policy(
        &self,
        retention_secs: u64,
        label: &str,
    ) -> Result<RetentionPolicy> {
        let now = crate::unix_now();
        self.with_tx(|tx| {
            tx.execute(
                "INSERT INTO compliance_policy (id, retention_secs, label, set_at) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET retention_secs = excluded.retention_secs,
                    label = excluded.label, set_at = excluded.set_at",
                params![int("retention", retention_secs)?, label, now],
            )
            .op("recording the retention policy")?;
            Ok(())
        })?;
        Ok(RetentionPolicy {
            retention_secs,
            label: label.to_owned(),
            set_at: now.cast_unsigned(),
        })
    }

    /// The recorded retention policy, if any.
    pub fn retention_policy(&self) -> Result<Option<RetentionPolicy>> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT retention_secs, label, set_at FROM compliance_policy WHERE id = 1",
                [],
                |r| {
                    Ok(RetentionPolicy {
                        retention_secs: codec::u64_col(r, 0)?,
                        label: r.get(1)?,
                        set_at: codec::u64_col(r, 2)?,
                    })
                },
            )
            .optional()
            .op("reading the retention policy")
        })
    }

    /// Deletes the compliance rows whose time is strictly before `cutoff` (unix seconds),
    /// and nothing else; `dry_run` counts them and changes nothing. On SQLite a real purge
    /// deletes securely: `secure_delete` overwrites the freed pages, then `VACUUM` drops
    /// them from the file. PostgreSQL has no `secure_delete`, and its `VACUUM` only marks
    /// dead row versions reusable (it neither overwrites them nor can run in the store's
    /// transactions), so there the purge is the DELETE alone: the rows are gone for every
    /// reader, and the server's own vacuum reclaims their space; an operator who needs the
    /// bytes gone from disk runs `VACUUM FULL compliance_flags` on the server.
    pub fn purge_compliance(&self, cutoff: u64, dry_run: bool) -> Result<Vec<PurgeCounts>> {
        const OP: &str = "purging compliance rows";
        let cutoff = int("cutoff", cutoff)?;
        let rows = if dry_run {
            self.with_conn(|conn| {
                conn.query_row(
                    "SELECT count(*) FROM compliance_flags WHERE block_time < ?1",
                    [cutoff],
                    |r| codec::u64_col(r, 0),
                )
                .op(OP)
            })?
        } else {
            let sqlite = !self.is_postgres();
            if sqlite {
                self.with_conn(|conn| conn.execute_batch("PRAGMA secure_delete = ON").op(OP))?;
            }
            let rows = self.with_tx(|tx| {
                tx.execute(
                    "DELETE FROM compliance_flags WHERE block_time < ?1",
                    [cutoff],
                )
                .op(OP)
            })? as u64;
            if sqlite && rows > 0 && self.path.is_some() {
                self.with_conn(|conn| conn.execute_batch("VACUUM").op("vacuuming after a purge"))?;
            }
            rows
        };
        Ok(vec![PurgeCounts {
            table: "compliance_flags",
            rows,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flag(rule: &str, d: &str, w: &str, block: u64, timestamp: u64) -> ComplianceFlag {
        ComplianceFlag {
            rule: rule.into(),
            deposit_key: d.into(),
            withdrawal_key: w.into(),
            pool: Some(Address::repeat_byte(7)),
            score: 0.5,
            explanation: "x".into(),
            details: serde_json::json!({}),
            block,
            timestamp,
        }
    }

    fn with_blocks(store: &Store, blocks: impl IntoIterator<Item = (u64, u64)>) {
        store
            .with_conn(|c| {
                for (n, t) in blocks {
                    c.execute(
                        "INSERT INTO blocks (number, hash, parent_hash, timestamp, protocol) VALUES (?1, ?2, ?3, ?4, 1)",
                        params![n as i64, B256::with_last_byte(n as u8).to_vec(), vec![0u8; 32], t as i64],
                    )
                    .op("test")?;
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn flags_are_idempotent_per_rule_deposit_and_withdrawal() {
        crate::testing::on_each_backend(
            "flags_are_idempotent_per_rule_deposit_and_withdrawal",
            |store| {
                with_blocks(&store, [(1, 100), (2, 200)]);
                let flags = [flag("a", "d1", "w1", 1, 100), flag("b", "d1", "w1", 2, 200)];
                assert_eq!(store.record_flags(&flags, 0).unwrap(), 2);
                let mut again = flags.clone();
                again[0].score = 0.9;
                assert_eq!(store.record_flags(&again, 0).unwrap(), 0);
                let stored = store.compliance_flags(0, u64::MAX).unwrap();
                assert_eq!(stored.len(), 2);
                assert_eq!(stored[0].score, 0.9);
                // Before the retention cutoff: not recorded.
                assert_eq!(
                    store
                        .record_flags(&[flag("c", "d", "w", 1, 100)], 150)
                        .unwrap(),
                    0
                );
                assert_eq!(store.compliance_flags(0, 150).unwrap().len(), 1);
            },
        );
    }

    #[test]
    fn policy_is_recorded_and_replaced() {
        crate::testing::on_each_backend("policy_is_recorded_and_replaced", |store| {
            assert!(store.retention_policy().unwrap().is_none());
            store.set_retention_policy(100, "100s").unwrap();
            store.set_retention_policy(200, "200s").unwrap();
            let p = store.retention_policy().unwrap().unwrap();
            assert_eq!((p.retention_secs, p.label.as_str()), (200, "200s"));
        });
    }

    #[test]
    fn purge_deletes_only_rows_before_the_cutoff() {
        crate::testing::on_each_backend("purge_deletes_only_rows_before_the_cutoff", |store| {
            with_blocks(&store, [(1, 100), (2, 200), (3, 300)]);
            let flags = [
                flag("r", "d1", "-", 1, 100),
                flag("r", "d2", "-", 2, 200),
                flag("r", "d3", "-", 3, 300),
            ];
            store.record_flags(&flags, 0).unwrap();
            assert_eq!(store.purge_compliance(201, true).unwrap()[0].rows, 2);
            assert_eq!(store.compliance_flags(0, u64::MAX).unwrap().len(), 3);
            assert_eq!(store.purge_compliance(201, false).unwrap()[0].rows, 2);
            let kept = store.compliance_flags(0, u64::MAX).unwrap();
            assert_eq!(kept.len(), 1);
            assert_eq!(kept[0].deposit_key, "d3");
            // A reorg that drops the block drops its flag.
            store
                .with_conn(|c| {
                    c.execute("DELETE FROM blocks WHERE number = 3", [])
                        .op("test")
                })
                .unwrap();
            assert!(store.compliance_flags(0, u64::MAX).unwrap().is_empty());
        });
    }

    proptest! {
        /// A purge never removes a row inside the retention window, and removes every row
        /// outside it; a dry run removes nothing.
        #[test]
        fn purge_keeps_every_row_inside_the_window(
            times in proptest::collection::vec(0u64..10_000, 1..40),
            now in 5_000u64..20_000,
            retention in 0u64..10_000,
            dry in any::<bool>(),
        ) {
            let store = Store::open_in_memory().unwrap();
            with_blocks(&store, times.iter().enumerate().map(|(i, t)| (i as u64 + 1, *t)));
            let flags: Vec<_> = times.iter().enumerate()
                .map(|(i, t)| flag("r", &format!("d{i}"), "-", i as u64 + 1, *t)).collect();
            store.record_flags(&flags, 0).unwrap();
            let cutoff = now.saturating_sub(retention);
            let counts = store.purge_compliance(cutoff, dry).unwrap();
            let outside = times.iter().filter(|t| **t < cutoff).count() as u64;
            prop_assert_eq!(counts[0].rows, outside);
            let kept = store.compliance_flags(0, u64::MAX).unwrap();
            let inside = times.iter().filter(|t| **t >= cutoff).count();
            if dry {
                prop_assert_eq!(kept.len(), times.len());
            } else {
                prop_assert_eq!(kept.len(), inside);
                prop_assert!(kept.iter().all(|f| f.timestamp >= cutoff));
            }
        }
    }
}
