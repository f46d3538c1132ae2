//! Typed reads for the monitor, the dashboard and reports.

use crate::sql::{Conn, OptionalExtension as _, Row, params};
use alloy_primitives::{Address, B256, U256};

use crate::codec::{self, int};
use crate::error::{Result, SqlContext as _, StoreError};
use crate::write::checkpoint_in;
use crate::{
    ActiveMiners, Association, AssociationSource, Checkpoint, ContractKind, EventRow, GasBucket,
    NeuronRow, PoolActivity, SelfWithdrawal, Snapshot, SnapshotBalance, SnapshotSummary, Store,
    TxRow, TxStats, WeightSet, WtaoFlows,
};

/// Which blocks a query covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    All,
    /// The last `n` blocks up to and including the checkpoint.
    LastBlocks(u64),
    /// Blocks with a timestamp at or after this unix time.
    SinceUnix(u64),
}

/// Which events [`Store::events`] returns; `None` fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub contract: Option<ContractKind>,
    pub name: Option<String>,
    pub from_block: Option<u64>,
    pub to_block: Option<u64>,
    pub limit: Option<usize>,
}

/// `(min block, min timestamp)` bounds for a window, as SQL parameters.
fn bounds(conn: &Conn<'_>, window: Window) -> Result<(i64, i64)> {
    Ok(match window {
        Window::All => (0, 0),
        Window::LastBlocks(n) => {
            let top = checkpoint_in(conn)?.map_or(0, |c| c.number);
            (int("block", (top + 1).saturating_sub(n))?, 0)
        }
        Window::SinceUnix(t) => (0, int("timestamp", t)?),
    })
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn contract_col(row: &Row, idx: usize) -> crate::sql::SqlResult<ContractKind> {
    let text: String = row.get(idx)?;
    text.parse()
        .map_err(|e: StoreError| crate::sql::SqlError::conversion(idx, Box::new(e)))
}

fn json_address(value: Option<String>) -> Option<Address> {
    value.and_then(|s| s.parse().ok())
}

pub(crate) const TX_ROW: &str =
    "SELECT t.hash, t.block_number, b.timestamp, t.from_address, t.to_address, t.contract,
    t.function, t.status, t.gas_used, t.effective_gas_price
    FROM transactions t JOIN blocks b ON b.number = t.block_number";

pub(crate) fn tx_row(r: &Row) -> crate::sql::SqlResult<TxRow> {
    Ok(TxRow {
        hash: codec::b256(r, 0)?,
        block_number: codec::u64_col(r, 1)?,
        timestamp: codec::u64_col(r, 2)?,
        from: codec::address(r, 3)?,
        to: codec::address(r, 4)?,
        contract: contract_col(r, 5)?,
        function: r.get(6)?,
        success: r.get(7)?,
        gas_used: codec::u64_col(r, 8)?,
        effective_gas_price: codec::u64_col(r, 9)?.into(),
    })
}

impl Store {
    /// The last block whose data is fully stored.
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        self.with_conn(checkpoint_in)
    }

    /// Transaction counts, success rate and gas prices over `window`, for one contract or
    /// all of them.
    pub fn tx_stats(&self, window: Window, contract: Option<ContractKind>) -> Result<TxStats> {
        self.with_conn(|conn| {
            let (min_block, min_ts) = bounds(conn, window)?;
            conn.query_row(
                "SELECT count(*), coalesce(sum(t.status), 0), avg(t.effective_gas_price),
                        max(t.effective_gas_price), coalesce(sum(t.gas_used), 0)
                 FROM transactions t JOIN blocks b ON b.number = t.block_number
                 WHERE b.number >= ?1 AND b.timestamp >= ?2 AND (?3 IS NULL OR t.contract = ?3)",
                params![min_block, min_ts, contract.map(ContractKind::as_str)],
                |r| {
                    let total = codec::u64_col(r, 0)?;
                    let succeeded = codec::u64_col(r, 1)?;
                    let max: Option<i64> = r.get(3)?;
                    Ok(TxStats {
                        total,
                        succeeded,
                        failed: total - succeeded,
                        success_rate: (total > 0).then(|| succeeded as f64 / total as f64),
                        avg_gas_price_wei: r.get(2)?,
                        max_gas_price_wei: max.map(|m| u128::from(m.cast_unsigned())),
                        total_gas_used: codec::u64_col(r, 4)?,
                    })
                },
            )
            .op("computing transaction stats")
        })
    }

    /// Failed transactions in `window`, newest first.
    pub fn failed_transactions(&self, window: Window, max: usize) -> Result<Vec<TxRow>> {
        self.with_conn(|conn| {
            let (min_block, min_ts) = bounds(conn, window)?;
            let mut stmt = conn
                .prepare(&format!(
                    "{TX_ROW} WHERE t.status = 0 AND b.number >= ?1 AND b.timestamp >= ?2
                     ORDER BY t.block_number DESC, t.tx_index DESC LIMIT ?3"
                ))
                .op("reading failed transactions")?;
            let rows = stmt
                .query_map(params![min_block, min_ts, limit(max)], tx_row)
                .op("reading failed transactions")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading failed transactions")
        })
    }

    /// The newest `max` protocol transactions.
    pub fn recent_transactions(&self, max: usize) -> Result<Vec<TxRow>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "{TX_ROW} ORDER BY t.block_number DESC, t.tx_index DESC LIMIT ?1"
                ))
                .op("reading transactions")?;
            let rows = stmt
                .query_map([limit(max)], tx_row)
                .op("reading transactions")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading transactions")
        })
    }

    /// Average and maximum gas price per `bucket_seconds` of block time, oldest first.
    pub fn gas_price_buckets(&self, window: Window, bucket_seconds: u64) -> Result<Vec<GasBucket>> {
        let bucket = int("bucket", bucket_seconds.max(1))?;
        self.with_conn(|conn| {
            let (min_block, min_ts) = bounds(conn, window)?;
            let mut stmt = conn
                .prepare(
                    "SELECT (b.timestamp / ?3) * ?3 AS start, count(*), avg(t.effective_gas_price),
                            max(t.effective_gas_price)
                     FROM transactions t JOIN blocks b ON b.number = t.block_number
                     WHERE b.number >= ?1 AND b.timestamp >= ?2
                     GROUP BY start ORDER BY start",
                )
                .op("reading gas prices")?;
            let rows = stmt
                .query_map(params![min_block, min_ts, bucket], |r| {
                    Ok(GasBucket {
                        start_unix: codec::u64_col(r, 0)?,
                        txs: codec::u64_col(r, 1)?,
                        avg_gas_price_wei: r.get(2)?,
                        max_gas_price_wei: codec::u64_col(r, 3)?.into(),
                    })
                })
                .op("reading gas prices")?;
            rows.collect::<Result<Vec<_>, _>>().op("reading gas prices")
        })
    }

    /// Successful weight settings in `window`, oldest first.
    pub fn weight_sets(&self, window: Window) -> Result<Vec<WeightSet>> {
        self.with_conn(|conn| {
            let (min_block, min_ts) = bounds(conn, window)?;
            weight_sets_where(
                conn,
                "b.number >= ?1 AND b.timestamp >= ?2",
                min_block,
                min_ts,
                "ASC",
                i64::MAX,
            )
        })
    }

    /// The newest successful weight setting.
    pub fn last_weight_set(&self) -> Result<Option<WeightSet>> {
        self.with_conn(|conn| Ok(weight_sets_where(conn, "?1 = ?2", 0, 0, "DESC", 1)?.pop()))
    }

    /// Deposits and withdrawals per pool in `window` (pools without events are absent).
    pub fn pool_activity(&self, window: Window) -> Result<Vec<PoolActivity>> {
        self.with_conn(|conn| {
            let (min_block, min_ts) = bounds(conn, window)?;
            let mut stmt = conn
                .prepare(
                    "SELECT e.address, sum(CASE WHEN e.name = 'Deposit' THEN 1 ELSE 0 END), sum(CASE WHEN e.name = 'Withdrawal' THEN 1 ELSE 0 END)
                     FROM events e JOIN blocks b ON b.number = e.block_number
                     WHERE e.contract = 'pool' AND b.number >= ?1 AND b.timestamp >= ?2
                     GROUP BY e.address ORDER BY e.address",
                )
                .op("reading pool activity")?;
            let rows = stmt
                .query_map(params![min_block, min_ts], |r| {
                    Ok(PoolActivity {
                        pool: codec::address(r, 0)?,
                        deposits: codec::u64_col(r, 1)?,
                        withdrawals: codec::u64_col(r, 2)?,
                    })
                })
                .op("reading pool activity")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading pool activity")
        })
    }

    /// Withdrawals in `window` paid to an address that earlier deposited to the same pool:
    /// the pattern that inflates `totalLifetimeDeposits` for gas alone.
    pub fn self_withdrawals(&self, window: Window) -> Result<Vec<SelfWithdrawal>> {
        self.with_conn(|conn| {
            let (min_block, min_ts) = bounds(conn, window)?;
            let mut stmt = conn
                .prepare(
                    "SELECT w.address, json_extract(w.decoded, '$.to'), max(d.block_number), w.block_number
                     FROM events w
                     JOIN blocks b ON b.number = w.block_number
                     JOIN events d ON d.address = w.address AND d.contract = 'pool' AND d.name = 'Deposit'
                          AND lower(json_extract(d.decoded, '$.user')) = lower(json_extract(w.decoded, '$.to'))
                          AND (d.block_number < w.block_number
                               OR (d.block_number = w.block_number AND d.log_index < w.log_index))
                     WHERE w.contract = 'pool' AND w.name = 'Withdrawal' AND b.number >= ?1 AND b.timestamp >= ?2
                     GROUP BY w.block_number, w.log_index
                     ORDER BY w.block_number, w.log_index",
                )
                .op("reading self-withdrawals")?;
            let rows = stmt
                .query_map(params![min_block, min_ts], |r| {
                    Ok((
                        codec::address(r, 0)?,
                        r.get::<_, Option<String>>(1)?,
                        codec::u64_col(r, 2)?,
                        codec::u64_col(r, 3)?,
                    ))
                })
                .op("reading self-withdrawals")?;
            let mut out = Vec::new();
            for row in rows {
                let (pool, to, deposit_block, withdrawal_block) =
                    row.op("reading self-withdrawals")?;
                if let Some(address) = json_address(to) {
                    out.push(SelfWithdrawal {
                        pool,
                        address,
                        deposit_block,
                        withdrawal_block,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Every known association, oldest first.
    pub fn associations(&self) -> Result<Vec<Association>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT address, hotkey, block_number, tx_hash, source FROM associations
                     ORDER BY block_number, address",
                )
                .op("reading associations")?;
            let rows = stmt
                .query_map([], |r| {
                    let source: String = r.get(4)?;
                    Ok(Association {
                        address: codec::address(r, 0)?,
                        hotkey: codec::b256(r, 1)?,
                        block_number: codec::u64_col(r, 2)?,
                        tx_hash: codec::b256(r, 3)?,
                        source: match source.as_str() {
                            "event" => AssociationSource::Event,
                            "state" => AssociationSource::State,
                            _ => AssociationSource::Calldata,
                        },
                    })
                })
                .op("reading associations")?;
            rows.collect::<Result<Vec<_>, _>>()
                .op("reading associations")
        })
    }

    /// Uids above 0 (0 is the burn uid) with a non-zero weight in the latest snapshot.
    pub fn active_miners(&self) -> Result<Option<ActiveMiners>> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT s.block_number,
                        (SELECT count(*) FROM snapshot_weights w WHERE w.snapshot_id = s.id AND w.uid > 0 AND w.weight > 0)
                 FROM snapshots s ORDER BY s.block_number DESC LIMIT 1",
                [],
                |r| {
                    Ok(ActiveMiners {
                        block: codec::u64_col(r, 0)?,
                        count: codec::u64_col(r, 1)?,
                    })
                },
            )
            .optional()
            .op("counting active miners")
        })
    }

    /// The newest snapshot with its balances, weights and neurons.
    pub fn latest_snapshot(&self) -> Result<Option<Snapshot>> {
        self.with_conn(|conn| {
            let head = conn
                .query_row(
                    "SELECT id, block_number, timestamp, wtao_supply, validator_balance FROM snapshots
                     ORDER BY block_number DESC LIMIT 1",
                    [],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            codec::u64_col(r, 1)?,
                            codec::u64_col(r, 2)?,
                            codec::u256(r, 3)?,
                            codec::u256(r, 4)?,
                        ))
                    },
                )
                .optional()
                .op("reading the latest snapshot")?;
            let Some((id, block, timestamp, wtao_supply, validator_balance)) = head else {
                return Ok(None);
            };
            Ok(Some(Snapshot {
                block,
                timestamp,
                wtao_supply,
                validator_balance,
                balances: snapshot_balances(conn, id)?,
                weights: snapshot_weights(conn, id)?,
                neurons: snapshot_neurons(conn, id)?,
            }))
        })
    }

    /// Supply, pool total and validator balance of every snapshot in `window`, oldest first.
    pub fn snapshot_series(&self, window: Window) -> Result<Vec<SnapshotSummary>> {
        self.with_conn(|conn| {
            let (min_block, min_ts) = bounds(conn, window)?;
            let mut stmt = conn
                .prepare(
                    "SELECT s.id, s.block_number, s.timestamp, s.wtao_supply, s.validator_balance
                     FROM snapshots s WHERE s.block_number >= ?1 AND s.timestamp >= ?2
                     ORDER BY s.block_number",
                )
                .op("reading snapshots")?;
            let rows = stmt
                .query_map(params![min_block, min_ts], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        codec::u64_col(r, 1)?,
                        codec::u64_col(r, 2)?,
                        codec::u256(r, 3)?,
                        codec::u256(r, 4)?,
                    ))
                })
                .op("reading snapshots")?;
            let heads = rows
                .collect::<Result<Vec<_>, _>>()
                .op("reading snapshots")?;
            heads
                .into_iter()
                .map(|(id, block, timestamp, wtao_supply, validator_balance)| {
                    let pools_total = snapshot_balances(conn, id)?
                        .into_iter()
                        .filter(|b| b.kind == "pool")
                        .fold(U256::ZERO, |acc, b| acc.saturating_add(b.amount));
                    Ok(SnapshotSummary {
                        block,
                        timestamp,
                        wtao_supply,
                        pools_total,
                        validator_balance,
                    })
                })
                .collect()
        })
    }

    /// Stored events matching `filter`, in chain order.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT block_number, log_index, block_hash, tx_hash, address, contract, name,
                            topic0, topic1, topic2, topic3, data, decoded
                     FROM events
                     WHERE (?1 IS NULL OR contract = ?1) AND (?2 IS NULL OR name = ?2)
                       AND block_number >= ?3 AND block_number <= ?4
                     ORDER BY block_number, log_index LIMIT ?5",
                )
                .op("reading events")?;
            let from = filter.from_block.map_or(Ok(0), |b| int("block", b))?;
            let to = filter.to_block.map_or(Ok(i64::MAX), |b| int("block", b))?;
            let rows = stmt
                .query_map(
                    params![
                        filter.contract.map(ContractKind::as_str),
                        filter.name,
                        from,
                        to,
                        filter.limit.map_or(i64::MAX, limit)
                    ],
                    |r| {
                        let topics = (7..11)
                            .map(|i| codec::opt_b256(r, i))
                            .collect::<crate::sql::SqlResult<Vec<_>>>()?
                            .into_iter()
                            .flatten()
                            .collect();
                        let decoded: String = r.get(12)?;
                        Ok(EventRow {
                            block_number: codec::u64_col(r, 0)?,
                            log_index: codec::u64_col(r, 1)?,
                            block_hash: codec::b256(r, 2)?,
                            tx_hash: codec::b256(r, 3)?,
                            address: codec::address(r, 4)?,
                            contract: contract_col(r, 5)?,
                            name: r.get(6)?,
                            topics,
                            data: r.get(11)?,
                            decoded: serde_json::from_str(&decoded)
                                .unwrap_or(serde_json::Value::Null),
                        })
                    },
                )
                .op("reading events")?;
            rows.collect::<Result<Vec<_>, _>>().op("reading events")
        })
    }

    /// Σ `wad` of WTAO `Deposit` and `Withdrawal` events in the blocks after `anchor` up
    /// to `to`, so a running total only reads what was indexed since. The anchor
    /// `(block, hash)` counts only while the store still holds that block with that hash
    /// and it is not above `to`; otherwise (a rollback replaced it, pruning removed it, or
    /// the caller went back) the sums start at genesis, and [`WtaoFlows::after`] is `None`.
    pub fn wtao_flows(&self, anchor: Option<(u64, B256)>, to: u64) -> Result<WtaoFlows> {
        const OP: &str = "reading WTAO flows";
        self.with_conn(|conn| {
            // One read transaction: the anchor check, the sums and `to`'s hash must see the
            // same indexer commit, or a rollback in between would slip into the total.
            conn.read_transaction(|tx| {
                let hash_at = |n: u64| -> Result<Option<B256>> {
                    tx.query_row(
                        "SELECT hash FROM blocks WHERE number = ?1",
                        [int("block", n)?],
                        |r| codec::b256(r, 0),
                    )
                    .optional()
                    .op(OP)
                };
                let after = match anchor {
                    Some((n, h)) if n <= to && hash_at(n)? == Some(h) => Some(n),
                    _ => None,
                };
                let mut flows = WtaoFlows {
                    after,
                    to_hash: hash_at(to)?,
                    ..WtaoFlows::default()
                };
                let mut stmt = tx
                    .prepare(
                        "SELECT block_number, name, decoded FROM events
                     WHERE contract = 'wtao' AND name IN ('Deposit', 'Withdrawal')
                       AND block_number > ?1 AND block_number <= ?2",
                    )
                    .op(OP)?;
                let from = after.map_or(Ok(-1), |n| int("block", n))?;
                let mut rows = stmt.query(params![from, int("block", to)?]).op(OP)?;
                while let Some(r) = rows.next().op(OP)? {
                    let name: String = r.get(1).op(OP)?;
                    // The decoded JSON is read here rather than with json_extract, whose result
                    // type differs between the engines (a JSON number is not a `wad`).
                    let decoded: String = r.get(2).op(OP)?;
                    let wad = serde_json::from_str::<serde_json::Value>(&decoded).ok();
                    let Some(wad) = wad
                        .as_ref()
                        .and_then(|d| d.get("wad"))
                        .and_then(serde_json::Value::as_str)
                        .and_then(|w| w.parse::<U256>().ok())
                    else {
                        return Err(StoreError::Corrupt {
                            what: "WTAO event",
                            detail: format!(
                                "{name} at block {} has no decimal `wad`",
                                codec::u64_col(r, 0).op(OP)?
                            ),
                        });
                    };
                    let sum = if name == "Deposit" {
                        &mut flows.deposited
                    } else {
                        &mut flows.withdrawn
                    };
                    *sum = sum.saturating_add(wad);
                    flows.events += 1;
                }
                Ok(flows)
            })
        })
    }

    /// Number of stored rows per table, for reports and tests.
    pub fn row_counts(&self) -> Result<Vec<(&'static str, u64)>> {
        const TABLES: [&str; 6] = [
            "blocks",
            "transactions",
            "events",
            "associations",
            "snapshots",
            "snapshot_balances",
        ];
        self.with_conn(|conn| {
            TABLES
                .into_iter()
                .map(|t| {
                    conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
                        codec::u64_col(r, 0)
                    })
                    .op("counting rows")
                    .map(|n| (t, n))
                })
                .collect()
        })
    }
}

fn weight_sets_where(
    conn: &Conn<'_>,
    condition: &str,
    a: i64,
    b: i64,
    order: &str,
    max: i64,
) -> Result<Vec<WeightSet>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT t.block_number, b.timestamp, t.hash, t.from_address, t.function,
                    (SELECT json_extract(e.decoded, '$.weiRefunded') FROM events e
                      WHERE e.tx_hash = t.hash AND e.contract = 'evm_validator' AND e.name = 'BountyPaid' LIMIT 1)
             FROM transactions t JOIN blocks b ON b.number = t.block_number
             WHERE t.contract = 'evm_validator' AND t.status = 1
               AND t.function IN ('setWeights', 'operatorSetWeights') AND {condition}
             ORDER BY t.block_number {order}, t.tx_index {order} LIMIT ?3"
        ))
        .op("reading weight sets")?;
    let rows = stmt
        .query_map(params![a, b, max], |r| {
            let function: String = r.get(4)?;
            let bounty: Option<String> = r.get(5)?;
            Ok(WeightSet {
                block: codec::u64_col(r, 0)?,
                timestamp: codec::u64_col(r, 1)?,
                tx_hash: codec::b256(r, 2)?,
                caller: codec::address(r, 3)?,
                operator: function == "operatorSetWeights",
                bounty_wei: bounty.and_then(|s| s.parse().ok()),
            })
        })
        .op("reading weight sets")?;
    rows.collect::<Result<Vec<_>, _>>()
        .op("reading weight sets")
}

fn snapshot_balances(conn: &Conn<'_>, id: i64) -> Result<Vec<SnapshotBalance>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT kind, holder, amount FROM snapshot_balances WHERE snapshot_id = ?1 ORDER BY kind, holder",
        )
        .op("reading snapshot balances")?;
    let rows = stmt
        .query_map([id], |r| {
            Ok(SnapshotBalance {
                kind: r.get(0)?,
                holder: codec::address(r, 1)?,
                amount: codec::u256(r, 2)?,
            })
        })
        .op("reading snapshot balances")?;
    rows.collect::<Result<Vec<_>, _>>()
        .op("reading snapshot balances")
}

fn snapshot_weights(conn: &Conn<'_>, id: i64) -> Result<Vec<(u16, u16)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT uid, weight FROM snapshot_weights WHERE snapshot_id = ?1 ORDER BY uid",
        )
        .op("reading snapshot weights")?;
    let rows = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .op("reading snapshot weights")?;
    rows.collect::<Result<Vec<_>, _>>()
        .op("reading snapshot weights")
}

fn snapshot_neurons(conn: &Conn<'_>, id: i64) -> Result<Vec<NeuronRow>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT uid, hotkey, coldkey, stake, emission, incentive, is_active, validator_permit, last_update
             FROM snapshot_neurons WHERE snapshot_id = ?1 ORDER BY uid",
        )
        .op("reading snapshot neurons")?;
    let rows = stmt
        .query_map([id], |r| {
            Ok(NeuronRow {
                uid: r.get(0)?,
                hotkey: codec::b256(r, 1)?,
                coldkey: codec::b256(r, 2)?,
                stake_rao: codec::u64_col(r, 3)?,
                emission_rao: codec::u64_col(r, 4)?,
                incentive: r.get(5)?,
                is_active: r.get(6)?,
                validator_permit: r.get(7)?,
                last_update: codec::u64_col(r, 8)?,
            })
        })
        .op("reading snapshot neurons")?;
    rows.collect::<Result<Vec<_>, _>>()
        .op("reading snapshot neurons")
}
