//! Incremental Deposit- and Withdrawal-event sync into the [`EventCache`], with reorg
//! detection.

use std::collections::HashSet;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use serde::Serialize;
use taonado_contracts::bindings::ERC20Taonado;
use taonado_zk::{MerkleTree, fr_from_b256, fr_to_b256};

use super::cache::{CacheRead, CachedWithdrawal, outdated_reason};
use super::{
    EventCache, LOG_BATCH_BLOCKS, Mixer, MixerError, MixerProgress, MixerStage, Pool,
    decode_deposit, deposit_topics,
};
use crate::error::{OpsError, Result};

/// The outcome of syncing one pool.
#[derive(Clone, Debug, Serialize)]
pub struct PoolSync {
    pub pool: Pool,
    pub cache_path: std::path::PathBuf,
    /// Leaves in the cache after the sync.
    pub leaves: usize,
    /// Leaves this sync added.
    pub new_leaves: usize,
    /// Withdrawals in the cache after the sync.
    pub withdrawals: usize,
    /// Withdrawals this sync added.
    pub new_withdrawals: usize,
    /// The first block fetched (the cached block + 1, or the pool's deployment block).
    pub from_block: u64,
    pub to_block: u64,
    /// Blocks whose logs this sync fetched: 0 when the cache was already at the head.
    pub blocks_scanned: u64,
    /// `eth_getLogs` requests made.
    pub log_requests: u64,
    /// Logs those requests returned.
    pub logs_fetched: u64,
    /// Why the cache was rebuilt from scratch, if it was (a reorg, a restarted chain, …).
    pub resynced: Option<String>,
    /// The root of the rebuilt tree.
    pub root: B256,
    /// Whether the pool knows that root (`isKnownRoot`).
    pub root_known: bool,
}

/// The outcome of `sync` over one or more pools.
#[derive(Clone, Debug, Serialize)]
pub struct SyncReport {
    pub chain_id: u64,
    pub head: u64,
    pub pools: Vec<PoolSync>,
}

impl Mixer {
    /// Syncs `pools` (every pool when empty); `rebuild` drops the caches first.
    pub async fn sync(
        &self,
        pools: &[Pool],
        rebuild: bool,
        progress: &dyn MixerProgress,
    ) -> Result<SyncReport> {
        let pools = if pools.is_empty() {
            self.pools()
        } else {
            pools.to_vec()
        };
        let mut report = SyncReport {
            chain_id: self.chain_id,
            head: 0,
            pools: Vec::new(),
        };
        for pool in pools {
            let (cache, mut outcome) = self.sync_pool(&pool, rebuild, progress).await?;
            let tree = tree_of(&cache, &outcome.cache_path)?;
            outcome.root = fr_to_b256(tree.root());
            outcome.root_known = self.is_known_root(&pool, outcome.root).await?;
            report.head = report.head.max(outcome.to_block);
            report.pools.push(outcome);
        }
        Ok(report)
    }

    pub(crate) async fn is_known_root(&self, pool: &Pool, root: B256) -> Result<bool> {
        taonado_contracts::bindings::ERC20Taonado::new(pool.address, &self.provider)
            .isKnownRoot(root)
            .call()
            .await
            .map_err(OpsError::contract("reading isKnownRoot"))
    }

    /// Brings `pool`'s cache (Deposit leaves and Withdrawals, from one `eth_getLogs` per
    /// batch of blocks) up to the chain head and saves it; only blocks after the cached
    /// one are fetched. A cache whose last block is no longer canonical (a reorg, or a
    /// restarted dev chain) or whose file format is outdated is rebuilt from scratch and
    /// the outcome says why; a corrupt cache file is an error.
    pub async fn sync_pool(
        &self,
        pool: &Pool,
        rebuild: bool,
        progress: &dyn MixerProgress,
    ) -> Result<(EventCache, PoolSync)> {
        let path = self.cache_path(pool);
        let empty = || EventCache::empty(self.chain_id, pool.address);
        let mut resynced = None;
        let mut cache = if rebuild {
            empty()
        } else {
            match EventCache::read(&path, self.chain_id, pool.address)? {
                CacheRead::Missing => empty(),
                CacheRead::Current(cache) => cache,
                CacheRead::Outdated { version } => {
                    resynced = Some(outdated_reason(version));
                    empty()
                }
            }
        };
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(OpsError::rpc("reading the block number"))?;
        if let Some((block, hash)) = cache.synced_to {
            let reason = if block > head {
                Some(format!(
                    "the cache was synced to block {block} but the chain head is {head} (was the chain reset?)"
                ))
            } else {
                match self.block_hash(block).await? {
                    Some(canonical) if canonical == hash => None,
                    _ => Some(format!(
                        "block {block} of the cache is no longer canonical (a reorg or a restarted chain)"
                    )),
                }
            };
            if reason.is_some() {
                cache = empty();
                resynced = reason;
            }
        }
        if let Some(reason) = &resynced {
            tracing::warn!(pool = %pool.address, %reason, "resyncing the event cache");
            progress.stage(MixerStage::Resyncing {
                amount: pool.amount.clone(),
                reason: reason.clone(),
            });
        }
        let first = match cache.synced_to {
            Some((block, _)) => block + 1,
            // A record of configured addresses (the live pools) knows no deployment block.
            None if pool.deployed_block == 0 => self.creation_block(pool, head).await,
            None => pool.deployed_block,
        };
        let leaves_before = cache.leaves.len();
        let withdrawals_before = cache.withdrawals.len();
        let mut spent: HashSet<B256> = cache.withdrawals.iter().map(|w| w.nullifier_hash).collect();
        let mut topics = deposit_topics();
        topics.push(ERC20Taonado::Withdrawal::SIGNATURE_HASH);
        let mut log_requests = 0u64;
        let mut logs_fetched = 0u64;
        let mut from = first;
        while from <= head {
            let to = head.min(from.saturating_add(LOG_BATCH_BLOCKS - 1));
            progress.stage(MixerStage::Syncing {
                amount: pool.amount.clone(),
                block: from,
                head,
                leaves: cache.leaves.len(),
            });
            let filter = Filter::new()
                .address(pool.address)
                .event_signature(topics.clone())
                .from_block(from)
                .to_block(to);
            let mut logs = self
                .provider
                .get_logs(&filter)
                .await
                .map_err(OpsError::rpc("reading Deposit and Withdrawal events"))?;
            log_requests += 1;
            logs_fetched += logs.len() as u64;
            logs.sort_by_key(|log| (log.block_number, log.log_index));
            for log in &logs {
                if let Some(deposit) = decode_deposit(log) {
                    if deposit.leaf_index != cache.leaves.len() as u64 {
                        return Err(MixerError::LeafGap {
                            pool: pool.address,
                            expected: cache.leaves.len(),
                            found: deposit.leaf_index,
                        }
                        .into());
                    }
                    cache.leaves.push(deposit.commitment);
                    cache.leaf_blocks.push(deposit.block);
                    continue;
                }
                let withdrawal = decode_withdrawal(log).ok_or_else(|| OpsError::DevRpcResult {
                    method: "eth_getLogs".into(),
                    reason: format!(
                        "a log of pool {} in block {:?} is neither a Deposit nor a Withdrawal the pool emits",
                        pool.address, log.block_number
                    ),
                })?;
                // A nullifier is spent once on chain; twice here means the node served an
                // overlapping range or the cache missed a reorg.
                if !spent.insert(withdrawal.nullifier_hash) {
                    return Err(MixerError::CacheStale {
                        path: path.clone(),
                        reason: format!(
                            "nullifier hash {} is withdrawn again in block {}, but it is already in the cache",
                            withdrawal.nullifier_hash, withdrawal.block
                        ),
                    }
                    .into());
                }
                cache.withdrawals.push(withdrawal);
            }
            from = to + 1;
        }
        if cache.synced_to.is_none_or(|(block, _)| block < head) {
            let hash = self
                .block_hash(head)
                .await?
                .ok_or_else(|| OpsError::DevRpcResult {
                    method: "eth_getBlockByNumber".into(),
                    reason: format!("the node has no block {head}"),
                })?;
            cache.synced_to = Some((head, hash));
        }
        // What the events imply must hold before it is saved (more withdrawals than
        // deposits would mean events were lost).
        cache
            .check_consistency()
            .map_err(|reason| MixerError::CacheStale {
                path: path.clone(),
                reason: format!("after syncing, {reason}"),
            })?;
        cache.save(&path)?;
        tracing::debug!(
            pool = %pool.address,
            leaves = cache.leaves.len(),
            withdrawals = cache.withdrawals.len(),
            head,
            log_requests,
            "event cache synced"
        );
        let outcome = PoolSync {
            pool: pool.clone(),
            cache_path: path,
            leaves: cache.leaves.len(),
            new_leaves: cache.leaves.len().saturating_sub(leaves_before),
            withdrawals: cache.withdrawals.len(),
            new_withdrawals: cache.withdrawals.len().saturating_sub(withdrawals_before),
            from_block: first,
            to_block: head,
            blocks_scanned: (head + 1).saturating_sub(first),
            log_requests,
            logs_fetched,
            resynced,
            root: B256::ZERO,
            root_known: false,
        };
        Ok((cache, outcome))
    }

    /// The first block in which `pool` has code, found by bisection over `eth_getCode` at
    /// past blocks (about 23 requests on a chain of millions of blocks, against one
    /// `eth_getLogs` per 5,000 blocks from genesis). A node that keeps no old state answers
    /// with an error; the scan then starts at block 0, which is slower but complete.
    async fn creation_block(&self, pool: &Pool, head: u64) -> u64 {
        let has_code = |block: u64| async move {
            self.provider
                .get_code_at(pool.address)
                .block_id(block.into())
                .await
                .map(|code| !code.is_empty())
        };
        match has_code(0).await {
            Ok(false) => {}
            Ok(true) => return 0,
            Err(error) => {
                tracing::debug!(pool = %pool.address, %error, "no past state: scanning from block 0");
                return 0;
            }
        }
        // Invariant: no code at `without`, code at `with`.
        let (mut without, mut with) = (0u64, head);
        while with - without > 1 {
            let mid = without + (with - without) / 2;
            match has_code(mid).await {
                Ok(true) => with = mid,
                Ok(false) => without = mid,
                Err(error) => {
                    tracing::debug!(pool = %pool.address, block = mid, %error, "past state ran out: scanning from block 0");
                    return 0;
                }
            }
        }
        tracing::debug!(pool = %pool.address, block = with, "the pool's first block, found by bisection");
        with
    }

    pub(crate) async fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(OpsError::rpc("reading a block"))?;
        Ok(block.map(|b| b.header.hash))
    }
}

/// A Withdrawal event of a pool; `None` for any other log or one without its position.
pub(crate) fn decode_withdrawal(log: &Log) -> Option<CachedWithdrawal> {
    let event = log.log_decode::<ERC20Taonado::Withdrawal>().ok()?;
    let event = event.inner.data;
    Some(CachedWithdrawal {
        nullifier_hash: event.nullifierHash,
        recipient: event.to,
        relayer: event.relayer,
        fee: event.fee,
        block: log.block_number?,
        tx_hash: log.transaction_hash?,
        log_index: log.log_index?,
    })
}

/// The Merkle tree of a cache's leaves; a leaf outside the field means a corrupt cache.
pub(crate) fn tree_of(cache: &EventCache, path: &std::path::Path) -> Result<MerkleTree> {
    let corrupt = |reason: String| -> OpsError {
        MixerError::CacheCorrupt {
            path: path.to_path_buf(),
            reason,
        }
        .into()
    };
    let leaves = cache
        .leaves
        .iter()
        .enumerate()
        .map(|(i, leaf)| {
            fr_from_b256(*leaf).map_err(|_| corrupt(format!("leaf {i} is not a field element")))
        })
        .collect::<Result<Vec<_>>>()?;
    MerkleTree::from_leaves(&leaves).map_err(|e| corrupt(e.to_string()))
}
