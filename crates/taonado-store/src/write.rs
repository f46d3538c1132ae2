//! The indexer's writes: a batch of blocks with the new checkpoint in one transaction,
//! rollbacks to a common ancestor after a reorg, and state snapshots.

use crate::sql::{Conn, OptionalExtension as _, SqlError, params};
use alloy_primitives::{Address, B256};

use crate::codec::{self, gas_price, int};
use crate::error::{Result, SqlContext as _, StoreError};
use crate::{Association, BlockBatch, Checkpoint, Snapshot, Store};

fn duplicate(what: &'static str, block: u64) -> impl FnOnce(SqlError) -> StoreError {
    move |source| match source.is_constraint_violation() {
        true => StoreError::Duplicate { what, block },
        false => StoreError::Sqlite {
            op: "writing a batch",
            source,
        },
    }
}

impl Store {
    /// Binds the database to `chain_id` on first use; refuses a database of another chain.
    pub fn init_chain(&self, chain_id: u64) -> Result<()> {
        self.with_tx(|tx| {
            let stored: Option<i64> = tx
                .query_row("SELECT chain_id FROM indexer_state WHERE id = 1", [], |r| {
                    r.get(0)
                })
                .optional()
                .op("reading the indexer state")?;
            match stored {
                None => {
                    tx.execute(
                        "INSERT INTO indexer_state (id, chain_id, updated_at) VALUES (1, ?1, ?2)",
                        params![int("chain id", chain_id)?, crate::unix_now()],
                    )
                    .op("writing the indexer state")?;
                    Ok(())
                }
                Some(stored) if stored == int("chain id", chain_id)? => Ok(()),
                Some(stored) => Err(StoreError::ChainMismatch {
                    stored: stored.cast_unsigned(),
                    requested: chain_id,
                }),
            }
        })
    }

    /// The chain the database follows, once [`Store::init_chain`] ran.
    pub fn chain_id(&self) -> Result<Option<u64>> {
        self.with_conn(|conn| {
            conn.query_row("SELECT chain_id FROM indexer_state WHERE id = 1", [], |r| {
                codec::u64_col(r, 0)
            })
            .optional()
            .op("reading the chain id")
        })
    }

    /// Writes `batch` and moves the checkpoint to its last block, atomically. The batch
    /// must start right after the checkpoint (or anywhere on an empty database) and be
    /// contiguous. Blocks without protocol data below `prune_below` are deleted: they only
    /// served reorg detection.
    pub fn write_batch(&self, batch: &BlockBatch, prune_below: Option<u64>) -> Result<()> {
        let Some(last) = batch.blocks.last() else {
            return Ok(());
        };
        self.with_tx(|tx| {
            let checkpoint = checkpoint_in(tx)?;
            let first = &batch.blocks[0];
            if let Some(cp) = checkpoint
                && (first.number != cp.number + 1 || first.parent_hash != cp.hash)
            {
                return Err(StoreError::Corrupt {
                    what: "batch",
                    detail: format!(
                        "block {} ({}) does not follow the checkpoint {} ({})",
                        first.number, first.parent_hash, cp.number, cp.hash
                    ),
                });
            }
            if let Some(gap) = batch
                .blocks
                .windows(2)
                .find(|w| w[1].number != w[0].number + 1 || w[1].parent_hash != w[0].hash)
            {
                return Err(StoreError::Corrupt {
                    what: "batch",
                    detail: format!("block {} does not follow block {}", gap[1].number, gap[0].number),
                });
            }
            insert_batch(tx, batch)?;
            tx.execute(
                "UPDATE indexer_state SET checkpoint_block = ?1, checkpoint_hash = ?2, updated_at = ?3 WHERE id = 1",
                params![int("block", last.number)?, last.hash.as_slice(), crate::unix_now()],
            )
            .op("moving the checkpoint")?;
            if let Some(below) = prune_below {
                tx.execute(
                    "DELETE FROM blocks WHERE protocol = 0 AND number < ?1",
                    [int("block", below)?],
                )
                .op("pruning old blocks")?;
            }
            Ok(())
        })
    }

    /// Deletes every block above `ancestor` with all its data and moves the checkpoint to
    /// `ancestor` (`None`: back to an empty database). Returns how many blocks were removed.
    pub fn rollback_to(&self, ancestor: Option<(u64, B256)>) -> Result<u64> {
        self.with_tx(|tx| {
            let above = ancestor.map_or(Ok(-1), |(n, _)| int("block", n))?;
            let removed = tx
                .execute("DELETE FROM blocks WHERE number > ?1", [above])
                .op("rolling back blocks")?;
            let (number, hash) = match ancestor {
                Some((n, h)) => (Some(int("block", n)?), Some(h.to_vec())),
                None => (None, None),
            };
            tx.execute(
                "UPDATE indexer_state SET checkpoint_block = ?1, checkpoint_hash = ?2, updated_at = ?3 WHERE id = 1",
                params![number, hash, crate::unix_now()],
            )
            .op("moving the checkpoint back")?;
            Ok(removed as u64)
        })
    }

    /// Stored block hashes in `from..=to`, highest first (what reorg detection compares).
    pub fn block_hashes(&self, from: u64, to: u64) -> Result<Vec<(u64, B256)>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT number, hash FROM blocks WHERE number BETWEEN ?1 AND ?2 ORDER BY number DESC",
                )
                .op("reading block hashes")?;
            let rows = stmt
                .query_map(params![int("block", from)?, int("block", to)?], |r| {
                    Ok((codec::u64_col(r, 0)?, codec::b256(r, 1)?))
                })
                .op("reading block hashes")?;
            rows.collect::<Result<Vec<_>, _>>().op("reading block hashes")
        })
    }

    /// Stores a snapshot taken at an already stored block (and keeps that block from being
    /// pruned). Returns false when that block already has a snapshot.
    pub fn write_snapshot(&self, snapshot: &Snapshot) -> Result<bool> {
        self.with_tx(|tx| {
            let block = int("block", snapshot.block)?;
            let marked = tx
                .execute("UPDATE blocks SET protocol = 1 WHERE number = ?1", [block])
                .op("marking the snapshot block")?;
            if marked == 0 {
                return Err(StoreError::Corrupt {
                    what: "snapshot",
                    detail: format!("block {} is not stored", snapshot.block),
                });
            }
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO snapshots (block_number, timestamp, wtao_supply, validator_balance)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        block,
                        int("timestamp", snapshot.timestamp)?,
                        snapshot.wtao_supply.to_string(),
                        snapshot.validator_balance.to_string()
                    ],
                )
                .op("writing a snapshot")?;
            if inserted == 0 {
                return Ok(false);
            }
            let id = tx.last_insert_rowid().op("reading the snapshot id")?;
            for b in &snapshot.balances {
                tx.execute(
                    "INSERT INTO snapshot_balances (snapshot_id, kind, holder, amount) VALUES (?1, ?2, ?3, ?4)",
                    params![id, b.kind, b.holder.as_slice(), b.amount.to_string()],
                )
                .op("writing snapshot balances")?;
            }
            for (uid, weight) in &snapshot.weights {
                tx.execute(
                    "INSERT INTO snapshot_weights (snapshot_id, uid, weight) VALUES (?1, ?2, ?3)",
                    params![id, uid, weight],
                )
                .op("writing snapshot weights")?;
            }
            for n in &snapshot.neurons {
                tx.execute(
                    "INSERT INTO snapshot_neurons (snapshot_id, uid, hotkey, coldkey, stake, emission, incentive,
                        is_active, validator_permit, last_update)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        id,
                        n.uid,
                        n.hotkey.as_slice(),
                        n.coldkey.as_slice(),
                        int("stake", n.stake_rao)?,
                        int("emission", n.emission_rao)?,
                        n.incentive,
                        n.is_active,
                        n.validator_permit,
                        int("last update", n.last_update)?
                    ],
                )
                .op("writing snapshot neurons")?;
            }
            Ok(true)
        })
    }

    /// Adds associations found outside a batch (from the tracker's storage); ones already
    /// known are kept as they are. Returns how many were new.
    pub fn add_associations(&self, associations: &[Association]) -> Result<u64> {
        self.with_tx(|tx| {
            let mut added = 0;
            for a in associations {
                added += tx
                    .execute(
                        "INSERT OR IGNORE INTO associations (address, hotkey, block_number, tx_hash, source)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![
                            a.address.as_slice(),
                            a.hotkey.as_slice(),
                            int("block", a.block_number)?,
                            a.tx_hash.as_slice(),
                            a.source.as_str()
                        ],
                    )
                    .op("adding associations")? as u64;
            }
            Ok(added)
        })
    }

    /// How many addresses are known for `hotkey`.
    pub fn association_count(&self, hotkey: B256) -> Result<u64> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT count(*) FROM associations WHERE hotkey = ?1",
                [hotkey.as_slice()],
                |r| codec::u64_col(r, 0),
            )
            .op("counting associations")
        })
    }

    /// The block of the newest snapshot.
    pub fn last_snapshot_block(&self) -> Result<Option<u64>> {
        self.with_conn(|conn| {
            conn.query_row("SELECT max(block_number) FROM snapshots", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .op("reading the last snapshot")
            .map(|v| v.map(i64::cast_unsigned))
        })
    }

    /// Every address that appears in a WTAO `Transfer`/`Deposit`/`Withdrawal` event or in an
    /// association: the holders whose balances a snapshot records.
    pub fn wtao_holders(&self) -> Result<Vec<Address>> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT substr(topic1, 13, 20) FROM events
                       WHERE contract = 'wtao' AND name IN ('Transfer', 'Deposit', 'Withdrawal') AND topic1 IS NOT NULL
                     UNION
                     SELECT substr(topic2, 13, 20) FROM events
                       WHERE contract = 'wtao' AND name = 'Transfer' AND topic2 IS NOT NULL
                     UNION
                     SELECT address FROM associations",
                )
                .op("reading WTAO holders")?;
            let rows = stmt
                .query_map([], |r| codec::address(r, 0))
                .op("reading WTAO holders")?;
            let mut holders = rows.collect::<Result<Vec<_>, _>>().op("reading WTAO holders")?;
            holders.retain(|a| *a != Address::ZERO);
            holders.sort();
            Ok(holders)
        })
    }
}

pub(crate) fn checkpoint_in(conn: &Conn<'_>) -> Result<Option<Checkpoint>> {
    conn.query_row(
        "SELECT checkpoint_block, checkpoint_hash, updated_at FROM indexer_state WHERE id = 1",
        [],
        |r| {
            let number: Option<i64> = r.get(0)?;
            let hash = codec::opt_b256(r, 1)?;
            let updated_at = codec::u64_col(r, 2)?;
            Ok(number.zip(hash).map(|(n, hash)| Checkpoint {
                number: n.cast_unsigned(),
                hash,
                updated_at,
            }))
        },
    )
    .optional()
    .op("reading the checkpoint")
    .map(Option::flatten)
}

fn insert_batch(tx: &Conn<'_>, batch: &BlockBatch) -> Result<()> {
    let mut blocks = tx
        .prepare_cached(
            "INSERT INTO blocks (number, hash, parent_hash, timestamp, base_fee_per_gas, protocol)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .op("preparing block insert")?;
    for b in &batch.blocks {
        let base_fee = b.base_fee_per_gas.map(|f| int("base fee", f)).transpose()?;
        blocks
            .execute(params![
                int("block", b.number)?,
                b.hash.as_slice(),
                b.parent_hash.as_slice(),
                int("timestamp", b.timestamp)?,
                base_fee,
                b.protocol
            ])
            .map_err(duplicate("block", b.number))?;
    }
    let mut txs = tx
        .prepare_cached(
            "INSERT INTO transactions (hash, block_number, tx_index, from_address, to_address, contract,
                function, input, value, status, gas_limit, gas_used, effective_gas_price)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .op("preparing transaction insert")?;
    for t in &batch.transactions {
        txs.execute(params![
            t.hash.as_slice(),
            int("block", t.block_number)?,
            int("tx index", t.tx_index)?,
            t.from.as_slice(),
            t.to.as_slice(),
            t.contract.as_str(),
            t.function,
            t.input,
            t.value.to_string(),
            t.success,
            int("gas limit", t.gas_limit)?,
            int("gas used", t.gas_used)?,
            gas_price(t.effective_gas_price)
        ])
        .map_err(duplicate("transaction", t.block_number))?;
    }
    let mut events = tx
        .prepare_cached(
            "INSERT INTO events (block_number, log_index, block_hash, tx_hash, tx_index, address, contract, name,
                topic0, topic1, topic2, topic3, data, decoded)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .op("preparing event insert")?;
    for e in &batch.events {
        let topic = |i: usize| e.topics.get(i).map(|t| t.to_vec());
        events
            .execute(params![
                int("block", e.block_number)?,
                int("log index", e.log_index)?,
                e.block_hash.as_slice(),
                e.tx_hash.as_slice(),
                int("tx index", e.tx_index)?,
                e.address.as_slice(),
                e.contract.as_str(),
                e.name,
                topic(0),
                topic(1),
                topic(2),
                topic(3),
                e.data,
                e.decoded.to_string()
            ])
            .map_err(duplicate("event", e.block_number))?;
    }
    // The same association can come from both an event and its transaction's calldata.
    let mut associations = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO associations (address, hotkey, block_number, tx_hash, source)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .op("preparing association insert")?;
    for a in &batch.associations {
        associations
            .execute(params![
                a.address.as_slice(),
                a.hotkey.as_slice(),
                int("block", a.block_number)?,
                a.tx_hash.as_slice(),
                a.source.as_str()
            ])
            .op("writing associations")?;
    }
    Ok(())
}
