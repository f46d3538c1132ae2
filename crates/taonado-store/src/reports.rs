//! Reads for `taonado report`, by block time (`[from, to)` unix seconds), and the monitor's
//! own checks that the operations report's uptime comes from.
//!
//! `monitor_checks` (migration 120) holds one row per network and minute in which the
//! monitor's indexer ran rounds: how many reached the chain and how many failed. A minute
//! without a row is a minute the monitor was not running.

use crate::sql::{OptionalExtension as _, Row, SqlResult, ToValue, params};
use alloy_primitives::{Address, B256};
use serde::Serialize;

use crate::alerts::{ALERT_COLUMNS, AlertRecord, alert_row};
use crate::codec::{self, int};
use crate::error::{Result, SqlContext as _};
use crate::queries::{TX_ROW, tx_row};
use crate::{Store, TxRow};

/// Monitor migration 120: the monitor's rounds per minute.
pub(crate) const MIGRATION_SQL: &str = r#"
CREATE TABLE monitor_checks (
    network       TEXT NOT NULL,
    minute        INTEGER NOT NULL,
    ok_rounds     INTEGER NOT NULL,
    failed_rounds INTEGER NOT NULL,
    PRIMARY KEY (network, minute)
);
"#;

/// The blocks stored in a time range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BlockSpan {
    pub first: u64,
    pub last: u64,
    /// Blocks stored (the indexer keeps only protocol blocks beyond its reorg window).
    pub stored: u64,
}

/// One minute of the monitor's rounds against one network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckMinute {
    pub network: String,
    /// Unix seconds of the minute's start.
    pub minute: u64,
    pub ok_rounds: u64,
    pub failed_rounds: u64,
}

/// A miner (uid) in one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MinerSample {
    pub block: u64,
    pub timestamp: u64,
    pub uid: u16,
    pub hotkey: B256,
    pub incentive: u16,
    pub emission_rao: u64,
    /// The normalized weight (of 65535), `None` when the snapshot has no weights.
    pub weight: Option<u16>,
}

/// A pool `Deposit` event with its depositor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolDeposit {
    pub block: u64,
    pub timestamp: u64,
    pub pool: Address,
    pub user: Option<Address>,
}

/// An association with the time of its block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimedAssociation {
    pub address: Address,
    pub hotkey: B256,
    pub block: u64,
    pub timestamp: u64,
}

fn range(from: u64, to: u64) -> Result<(i64, i64)> {
    Ok((int("timestamp", from)?, int("timestamp", to)?))
}

impl Store {
    /// Records one round of the monitor's indexer against `network` at unix `at`.
    pub fn record_check(&self, network: &str, at: u64, ok: bool) -> Result<()> {
        self.record_checks(network, [(at, ok)])
    }

    /// Records rounds `(at, reached the chain)` against `network` in one transaction, one
    /// statement per minute (on PostgreSQL each statement is a round trip).
    pub fn record_checks(
        &self,
        network: &str,
        rounds: impl IntoIterator<Item = (u64, bool)>,
    ) -> Result<()> {
        let mut minutes = std::collections::BTreeMap::<u64, (i64, i64)>::new();
        for (at, ok) in rounds {
            let counts = minutes.entry(at - at % 60).or_default();
            if ok {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        }
        self.with_tx(|tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO monitor_checks (network, minute, ok_rounds, failed_rounds)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (network, minute) DO UPDATE
                     SET ok_rounds = monitor_checks.ok_rounds + excluded.ok_rounds,
                         failed_rounds = monitor_checks.failed_rounds + excluded.failed_rounds",
                )
                .op("recording a monitor check")?;
            for (minute, (ok_rounds, failed_rounds)) in minutes {
                let minute = int("timestamp", minute)?;
                stmt.execute(params![network, minute, ok_rounds, failed_rounds])
                    .op("recording a monitor check")?;
            }
            Ok(())
        })
    }

    /// The monitor's minutes in `[from, to)`, by network then time.
    pub fn check_minutes(&self, from: u64, to: u64) -> Result<Vec<CheckMinute>> {
        let (from, to) = range(from, to)?;
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT network, minute, ok_rounds, failed_rounds FROM monitor_checks
                     WHERE minute >= ?1 AND minute < ?2 ORDER BY network, minute",
                )
                .op("reading monitor checks")?;
            let rows = stmt
                .query_map(params![from, to], |r| {
                    Ok(CheckMinute {
                        network: r.get(0)?,
                        minute: codec::u64_col(r, 1)?,
                        ok_rounds: codec::u64_col(r, 2)?,
                        failed_rounds: codec::u64_col(r, 3)?,
                    })
                })
                .op("reading monitor checks")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading monitor checks")
        })
    }

    /// The first and last minute the monitor ever recorded.
    pub fn check_extent(&self) -> Result<Option<(u64, u64)>> {
        self.with_conn(|conn| {
            let (lo, hi): (Option<i64>, Option<i64>) = conn
                .query_row(
                    "SELECT min(minute), max(minute) FROM monitor_checks",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .op("reading monitor checks")?;
            Ok(lo
                .zip(hi)
                .map(|(lo, hi)| (lo.cast_unsigned(), hi.cast_unsigned())))
        })
    }

    /// The stored blocks with a timestamp in `[from, to)`.
    pub fn block_span(&self, from: u64, to: u64) -> Result<Option<BlockSpan>> {
        let (from, to) = range(from, to)?;
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT min(number), max(number), count(*) FROM blocks
                 WHERE timestamp >= ?1 AND timestamp < ?2 HAVING count(*) > 0",
                params![from, to],
                |r| {
                    Ok(BlockSpan {
                        first: codec::u64_col(r, 0)?,
                        last: codec::u64_col(r, 1)?,
                        stored: codec::u64_col(r, 2)?,
                    })
                },
            )
            .optional()
            .op("reading the block span")
        })
    }

    /// The timestamp of the newest stored block.
    pub fn latest_block_time(&self) -> Result<Option<u64>> {
        self.with_conn(|conn| {
            let t: Option<i64> = conn
                .query_row("SELECT max(timestamp) FROM blocks", [], |r| r.get(0))
                .op("reading the latest block time")?;
            Ok(t.map(i64::cast_unsigned))
        })
    }

    /// Protocol transactions in blocks of `[from, to)`, in chain order.
    pub fn transactions_between(&self, from: u64, to: u64) -> Result<Vec<TxRow>> {
        let (from, to) = range(from, to)?;
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "{TX_ROW} WHERE b.timestamp >= ?1 AND b.timestamp < ?2
                     ORDER BY t.block_number, t.tx_index"
                ))
                .op("reading transactions")?;
            let rows = stmt
                .query_map(params![from, to], tx_row)
                .op("reading transactions")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading transactions")
        })
    }

    /// Every uid of every snapshot in `[from, to)`, by time then uid.
    pub fn miner_samples(&self, from: u64, to: u64) -> Result<Vec<MinerSample>> {
        let (from, to) = range(from, to)?;
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT s.block_number, s.timestamp, n.uid, n.hotkey, n.incentive, n.emission, w.weight
                     FROM snapshots s
                     JOIN snapshot_neurons n ON n.snapshot_id = s.id
                     LEFT JOIN snapshot_weights w ON w.snapshot_id = s.id AND w.uid = n.uid
                     WHERE s.timestamp >= ?1 AND s.timestamp < ?2
                     ORDER BY s.block_number, n.uid",
                )
                .op("reading miner samples")?;
            let rows = stmt
                .query_map(params![from, to], |r| {
                    Ok(MinerSample {
                        block: codec::u64_col(r, 0)?,
                        timestamp: codec::u64_col(r, 1)?,
                        uid: r.get(2)?,
                        hotkey: codec::b256(r, 3)?,
                        incentive: r.get(4)?,
                        emission_rao: codec::u64_col(r, 5)?,
                        weight: r.get(6)?,
                    })
                })
                .op("reading miner samples")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading miner samples")
        })
    }

    /// Pool `Deposit` events in blocks of `[from, to)`, in chain order.
    pub fn pool_deposits_between(&self, from: u64, to: u64) -> Result<Vec<PoolDeposit>> {
        let (from, to) = range(from, to)?;
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT e.block_number, b.timestamp, e.address, json_extract(e.decoded, '$.user')
                     FROM events e JOIN blocks b ON b.number = e.block_number
                     WHERE e.contract = 'pool' AND e.name = 'Deposit'
                       AND b.timestamp >= ?1 AND b.timestamp < ?2
                     ORDER BY e.block_number, e.log_index",
                )
                .op("reading pool deposits")?;
            let rows = stmt
                .query_map(params![from, to], |r| {
                    Ok(PoolDeposit {
                        block: codec::u64_col(r, 0)?,
                        timestamp: codec::u64_col(r, 1)?,
                        pool: codec::address(r, 2)?,
                        user: r
                            .get::<_, Option<String>>(3)?
                            .and_then(|s| s.parse().ok()),
                    })
                })
                .op("reading pool deposits")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading pool deposits")
        })
    }

    /// Every association with its block's time, oldest first (a block the store no longer
    /// holds gives time 0).
    pub fn timed_associations(&self) -> Result<Vec<TimedAssociation>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT a.address, a.hotkey, a.block_number, coalesce(b.timestamp, 0)
                     FROM associations a LEFT JOIN blocks b ON b.number = a.block_number
                     ORDER BY a.block_number, a.address",
                )
                .op("reading associations")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(TimedAssociation {
                        address: codec::address(r, 0)?,
                        hotkey: codec::b256(r, 1)?,
                        block: codec::u64_col(r, 2)?,
                        timestamp: codec::u64_col(r, 3)?,
                    })
                })
                .op("reading associations")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading associations")
        })
    }

    /// Alerts that fired in `[from, to)` (monitor time), oldest first.
    pub fn alerts_fired_between(&self, from: u64, to: u64) -> Result<Vec<AlertRecord>> {
        let (from, to) = range(from, to)?;
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts WHERE fired_at >= ?1 AND fired_at < ?2
                     ORDER BY fired_at, id"
                ))
                .op("reading alerts")?;
            let rows = stmt
                .query_map(params![from, to], alert_row)
                .op("reading alerts")?;
            rows.collect::<Result<Vec<_>, _>>().op("reading alerts")
        })
    }

    /// Whether the database has a table of that name (tables other branches add).
    pub fn has_table(&self, name: &str) -> Result<bool> {
        self.with_conn(|conn| {
            // Each engine's catalogue; on PostgreSQL the tables of the session's schema.
            let sql = if conn.is_postgres() {
                "SELECT count(*) FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name = ?1"
            } else {
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1"
            };
            conn.query_row(sql, [name], |r| r.get::<_, i64>(0))
                .op("reading the schema")
                .map(|n| n > 0)
        })
    }

    /// Runs a read of the caller's on the connection: for tables this crate does not own
    /// (another branch's `incidents`), whose columns are checked by the caller's query.
    pub fn read_raw<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        row: impl FnMut(&Row) -> SqlResult<T>,
    ) -> Result<Vec<T>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(sql).op("reading")?;
            let rows = stmt.query_map(params, row).op("reading")?;
            rows.collect::<SqlResult<Vec<_>>>().op("reading")
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn checks_add_up_per_minute_and_tables_are_found() {
        crate::testing::on_each_backend("checks_add_up_per_minute_and_tables_are_found", |store| {
            store
                .record_checks(
                    "local",
                    [(120, true), (130, false), (179, true), (185, true)],
                )
                .unwrap();
            store.record_check("local", 121, true).unwrap();
            let minutes = store.check_minutes(0, 1_000).unwrap();
            assert_eq!(
                minutes
                    .iter()
                    .map(|m| (m.minute, m.ok_rounds, m.failed_rounds))
                    .collect::<Vec<_>>(),
                [(120, 3, 1), (180, 1, 0)]
            );
            assert_eq!(store.check_extent().unwrap(), Some((120, 180)));
            assert!(store.has_table("incidents").unwrap());
            assert!(!store.has_table("no_such_table").unwrap());
            assert_eq!(store.block_span(0, 1_000).unwrap(), None);
            assert!(store.pool_deposits_between(0, 1_000).unwrap().is_empty());
            assert!(store.miner_samples(0, 1_000).unwrap().is_empty());
            assert!(store.transactions_between(0, 1_000).unwrap().is_empty());
            assert!(store.timed_associations().unwrap().is_empty());
            assert!(store.alerts_fired_between(0, 1_000).unwrap().is_empty());
            let rows = store
                .read_raw(
                    "SELECT network, ok_rounds FROM monitor_checks WHERE minute >= ?1 ORDER BY minute",
                    &[&150_i64],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
                )
                .unwrap();
            assert_eq!(rows, [("local".to_owned(), 1)]);
        });
    }
}
