//! Views over the synced event caches and the chain: pool statistics and the compliance
//! report of one note. Both sync the caches first (which writes them), then read.

use std::path::Path;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use serde::Serialize;
use taonado_contracts::bindings::{ERC20Taonado, WTAO};
use taonado_zk::{Note, fr_to_b256};

use super::{EventCache, Mixer, MixerError, MixerProgress, Pool, decode_deposit, deposit_topics};
use crate::error::{OpsError, Result};

/// One pool's numbers.
#[derive(Clone, Debug, Serialize)]
pub struct PoolStats {
    pub pool: Pool,
    /// Deposit events up to `synced_block`.
    pub deposits: u64,
    /// Withdrawal events up to `synced_block`.
    pub withdrawals: u64,
    /// Deposits not yet withdrawn: the set a new withdrawal hides in.
    pub anonymity_set: u64,
    /// WTAO wei the pool holds (latest block).
    pub balance: U256,
    pub last_root: B256,
    /// The block the counts are taken at.
    pub synced_block: u64,
    /// Blocks whose events this run fetched (0 when the cache was at the head already).
    pub blocks_scanned: u64,
    /// `eth_getLogs` requests this run made.
    pub log_requests: u64,
    /// Why the event cache was rebuilt from scratch, if it was.
    pub cache_resynced: Option<String>,
}

/// Every pool's numbers at block `head`.
#[derive(Clone, Debug, Serialize)]
pub struct StatsReport {
    pub chain_id: u64,
    pub head: u64,
    pub pools: Vec<PoolStats>,
}

/// The deposit a note made.
#[derive(Clone, Debug, Serialize)]
pub struct DepositDisclosure {
    pub commitment: B256,
    pub leaf_index: u64,
    pub block: u64,
    /// Unix seconds, from the event.
    pub timestamp: u64,
    /// The same time in ISO-8601 UTC (`2026-11-25T21:54:02Z`).
    pub time_utc: String,
    /// The depositor as the event names it (absent on the testnet pool's event).
    pub user: Option<Address>,
    /// Who sent the deposit transaction.
    pub sender: Option<Address>,
    pub tx_hash: Option<B256>,
}

/// The withdrawal that spent a note.
#[derive(Clone, Debug, Serialize)]
pub struct WithdrawalDisclosure {
    pub nullifier_hash: B256,
    pub block: u64,
    /// Unix seconds of the block.
    pub timestamp: Option<u64>,
    /// The same time in ISO-8601 UTC.
    pub time_utc: Option<String>,
    pub recipient: Address,
    pub relayer: Address,
    pub fee: U256,
    /// Who sent the withdrawal transaction.
    pub sender: Option<Address>,
    pub tx_hash: Option<B256>,
}

/// What a note holder can disclose: the deposit and, if spent, the withdrawal. Built from
/// the node alone, no third party.
#[derive(Clone, Debug, Serialize)]
pub struct ComplianceReport {
    pub chain_id: u64,
    pub pool: Pool,
    pub deposit: DepositDisclosure,
    pub spent: bool,
    pub withdrawal: Option<WithdrawalDisclosure>,
}

impl Mixer {
    /// Deposits, withdrawals, anonymity set and balance of every pool (see [`Self::stats_with`]).
    pub async fn stats(&self) -> Result<StatsReport> {
        self.stats_with(&super::NoMixerProgress).await
    }

    /// Deposits, withdrawals, anonymity set and balance of every pool. Counts come from
    /// the event caches, synced first: only blocks after the cached one are fetched.
    pub async fn stats_with(&self, progress: &dyn MixerProgress) -> Result<StatsReport> {
        let wtao = WTAO::new(self.wtao()?, &self.provider);
        let mut pools = Vec::new();
        let mut head = 0;
        for pool in self.pools() {
            let (cache, sync) = self.sync_pool(&pool, false, progress).await?;
            head = head.max(sync.to_block);
            let contract = ERC20Taonado::new(pool.address, &self.provider);
            // Read at the latest block, which may be past the synced one (this node may
            // serve no older state): it can only have more deposits, never fewer.
            let next_index = contract
                .nextIndex()
                .call()
                .await
                .map_err(OpsError::contract("reading nextIndex"))?;
            let deposits = cache.leaves.len() as u64;
            if u64::from(next_index) < deposits {
                return Err(MixerError::CacheStale {
                    path: sync.cache_path,
                    reason: format!(
                        "it holds {deposits} deposits but the pool has made {next_index}"
                    ),
                }
                .into());
            }
            let last_root = contract
                .getLastRoot()
                .call()
                .await
                .map_err(OpsError::contract("reading getLastRoot"))?;
            let balance = wtao
                .balanceOf(pool.address)
                .call()
                .await
                .map_err(OpsError::contract("reading the pool balance"))?;
            pools.push(PoolStats {
                deposits,
                withdrawals: cache.withdrawals.len() as u64,
                anonymity_set: cache.anonymity_set(),
                balance,
                last_root,
                synced_block: sync.to_block,
                blocks_scanned: sync.blocks_scanned,
                log_requests: sync.log_requests,
                cache_resynced: sync.resynced,
                pool,
            });
        }
        Ok(StatsReport {
            chain_id: self.chain_id,
            head,
            pools,
        })
    }

    /// The leaf index of `commitment` in `cache`. When it is missing, whether the pool
    /// knows the commitment tells a stale cache from an unknown commitment.
    pub(super) async fn leaf_index(
        &self,
        pool: Address,
        cache: &EventCache,
        cache_path: &Path,
        commitment: B256,
    ) -> Result<usize> {
        if let Some(index) = cache.leaves.iter().position(|leaf| *leaf == commitment) {
            return Ok(index);
        }
        let known = ERC20Taonado::new(pool, &self.provider)
            .commitments(commitment)
            .call()
            .await
            .map_err(OpsError::contract("reading commitments"))?;
        Err(if known {
            MixerError::CacheStale {
                path: cache_path.to_path_buf(),
                reason: "the deposit is on chain but not in the cache".into(),
            }
        } else {
            MixerError::UnknownCommitment { commitment, pool }
        }
        .into())
    }

    /// The deposit of `note` and, if spent, its withdrawal, from the synced event cache:
    /// only the deposit's own block is asked for its event.
    pub async fn compliance(&self, note: &Note) -> Result<ComplianceReport> {
        let pool = self.note_pool(note).await?;
        let (cache, sync) = self
            .sync_pool(&pool, false, &super::NoMixerProgress)
            .await?;
        let commitment = fr_to_b256(note.commitment());
        let nullifier_hash = fr_to_b256(note.nullifier_hash());
        let contract = ERC20Taonado::new(pool.address, &self.provider);
        let leaf_index = self
            .leaf_index(pool.address, &cache, &sync.cache_path, commitment)
            .await?;
        let deposit = self
            .deposit_disclosure(&pool, &cache, &sync.cache_path, commitment, leaf_index)
            .await?;
        let spent = contract
            .isSpent(nullifier_hash)
            .call()
            .await
            .map_err(OpsError::contract("reading isSpent"))?;
        let mut withdrawal = None;
        if let Some(event) = cache
            .withdrawals
            .iter()
            .find(|w| w.nullifier_hash == nullifier_hash)
        {
            let timestamp = self
                .provider
                .get_block_by_number(BlockNumberOrTag::Number(event.block))
                .await
                .map_err(OpsError::rpc("reading a block"))?
                .map(|b| b.header.timestamp);
            withdrawal = Some(WithdrawalDisclosure {
                nullifier_hash,
                block: event.block,
                time_utc: timestamp.map(taonado_types::iso8601_utc),
                timestamp,
                recipient: event.recipient,
                relayer: event.relayer,
                fee: event.fee,
                sender: self.sender_of(Some(event.tx_hash)).await?,
                tx_hash: Some(event.tx_hash),
            });
        }
        Ok(ComplianceReport {
            chain_id: self.chain_id,
            pool,
            deposit,
            // A withdrawal mined after the sync is spent before the cache knows it.
            spent: spent || withdrawal.is_some(),
            withdrawal,
        })
    }

    /// The deposit at `leaf_index` of `pool` (commitment `commitment`), read from its own
    /// block's Deposit event, with who sent it.
    pub(super) async fn deposit_disclosure(
        &self,
        pool: &Pool,
        cache: &super::cache::EventCache,
        cache_path: &std::path::Path,
        commitment: B256,
        leaf_index: usize,
    ) -> Result<DepositDisclosure> {
        // `check_consistency` holds for every cache `sync_pool` returns: one block per leaf.
        let block = cache.leaf_blocks[leaf_index];
        let filter = Filter::new()
            .address(pool.address)
            .event_signature(deposit_topics())
            .topic1(commitment)
            .from_block(block)
            .to_block(block);
        let deposit = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(OpsError::rpc("reading the Deposit event"))?
            .iter()
            .filter_map(decode_deposit)
            .find(|d| d.commitment == commitment)
            .ok_or_else(|| MixerError::CacheStale {
                path: cache_path.to_path_buf(),
                reason: format!("block {block} holds no Deposit of commitment {commitment}"),
            })?;
        Ok(DepositDisclosure {
            commitment,
            leaf_index: deposit.leaf_index,
            block: deposit.block,
            timestamp: deposit.timestamp,
            time_utc: taonado_types::iso8601_utc(deposit.timestamp),
            user: deposit.user,
            sender: self.sender_of(deposit.tx_hash).await?,
            tx_hash: deposit.tx_hash,
        })
    }

    async fn sender_of(&self, tx: Option<B256>) -> Result<Option<Address>> {
        let Some(tx) = tx else { return Ok(None) };
        let receipt = self
            .provider
            .get_transaction_receipt(tx)
            .await
            .map_err(OpsError::rpc("reading a receipt"))?;
        Ok(receipt.map(|r| r.from))
    }
}
