//! Follows a chain over JSON-RPC and writes the protocol's activity to the store: blocks,
//! transactions to the protocol contracts (failed ones included), their events,
//! associations (from events and from `associate` calldata, since the mainnet
//! DepositTracker emits none) and periodic state snapshots.
//!
//! Reliability rests on two rules: every batch of blocks is written together with the
//! checkpoint in one SQLite transaction (a crash loses at most the batch in flight, never
//! leaves half of one), and every batch must extend the stored chain by parent hash (a
//! mismatch rolls back to the common ancestor and re-indexes from there).

mod config;
pub mod decode;
mod error;
mod fetch;
mod rpc;
mod snapshot;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::Provider as _;
use taonado_store::{Checkpoint, Store};
use tokio::sync::watch;

pub use config::{IndexerConfig, IndexerTuning, RetryPolicy, kind_of};
pub use error::{IndexerError, Result};

use crate::rpc::Rpc;

/// Consecutive "chain moved while reading" failures tolerated before giving up.
const MAX_CHAIN_MOVED: u32 = 10;

/// Where the indexer stands, published after every batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// The last fully stored block.
    pub checkpoint: Option<u64>,
    /// The chain head when last asked.
    pub head: u64,
    /// `head - checkpoint` (the whole chain from the start block when nothing is stored).
    pub lag: u64,
    /// Caught up with the head as of the last request.
    pub synced: bool,
}

/// Whether the follow loop's rounds reach the chain: what readiness and health report, so
/// an outage shows while no block arrives (the checkpoint alone cannot say it).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoundHealth {
    /// Unix seconds of the last round that reached the chain.
    pub last_ok_at: Option<u64>,
    /// The last round's error, `None` once a round succeeds again.
    pub last_error: Option<String>,
    /// Unix seconds of the first failure of the current outage.
    pub failing_since: Option<u64>,
}

/// What one [`Indexer::sync_once`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub from_block: Option<u64>,
    pub checkpoint: Option<u64>,
    pub head: u64,
    pub batches: u64,
    pub blocks: u64,
    pub transactions: u64,
    pub events: u64,
    pub associations: u64,
    /// Blocks rolled back after reorgs.
    pub reorged_blocks: u64,
    pub snapshots: u64,
    /// Snapshots not taken because the node had already pruned the checkpoint's state.
    pub snapshots_skipped: u64,
}

/// The chain follower.
pub struct Indexer {
    config: IndexerConfig,
    store: Store,
    rpc: Rpc,
    progress: watch::Sender<Progress>,
    health: watch::Sender<RoundHealth>,
}

impl Indexer {
    /// Connects to the endpoints (checking their chain id) and binds the store to the chain.
    pub async fn new(config: IndexerConfig, store: Store) -> Result<Self> {
        let rpc = Rpc::new(&config)?;
        rpc.check_chain().await?;
        store.init_chain(config.chain_id)?;
        let checkpoint = store.checkpoint()?.map(|c| c.number);
        let (progress, _) = watch::channel(Progress {
            checkpoint,
            ..Progress::default()
        });
        Ok(Self {
            config,
            store,
            rpc,
            progress,
            health: watch::channel(RoundHealth::default()).0,
        })
    }

    /// Progress notifications: the receiver sees the latest [`Progress`] after each batch.
    pub fn subscribe(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// Whether [`Indexer::run`]'s rounds reach the chain, published after every round.
    pub fn health(&self) -> watch::Receiver<RoundHealth> {
        self.health.subscribe()
    }

    /// The endpoint requests currently go to (it changes on failover).
    pub fn endpoint(&self) -> &url::Url {
        self.rpc.current_endpoint()
    }

    /// The store the indexer writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn publish(&self, checkpoint: Option<u64>, head: u64) {
        let next = checkpoint.map_or(self.config.start_block, |c| c + 1);
        let lag = (head + 1).saturating_sub(next);
        self.progress.send_replace(Progress {
            checkpoint,
            head,
            lag,
            synced: lag == 0,
        });
    }

    async fn head(&self) -> Result<u64> {
        self.rpc
            .call(
                || "eth_blockNumber".into(),
                |p| async move { p.get_block_number().await },
            )
            .await
    }

    async fn chain_hash(&self, number: u64) -> Result<Option<B256>> {
        let block = self
            .rpc
            .call(
                || format!("eth_getBlockByNumber {number}"),
                |p| async move {
                    p.get_block_by_number(BlockNumberOrTag::Number(number))
                        .await
                },
            )
            .await?;
        Ok(block.map(|b| b.header.hash))
    }

    /// Catches up with the current head: reorg check, then batches until the head, then a
    /// snapshot when one is due. Safe to cancel at any await point: nothing is half written.
    pub async fn sync_once(&self) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let mut moved = 0;
        loop {
            let head = self.head().await?;
            report.head = head;
            let checkpoint = self.store.checkpoint()?;
            self.publish(checkpoint.map(|c| c.number), head);
            if let Some(cp) = checkpoint
                && self.chain_hash(cp.number).await? != Some(cp.hash)
            {
                report.reorged_blocks += self.roll_back(cp).await?;
                continue;
            }
            let next = checkpoint.map_or(self.config.start_block, |c| c.number + 1);
            if next > head {
                report.checkpoint = checkpoint.map(|c| c.number);
                break;
            }
            let to = head.min(next + self.config.tuning.batch_blocks.max(1) - 1);
            let batch = match fetch::batch(
                &self.rpc,
                &self.config.contracts,
                next,
                to,
                self.config.tuning.concurrency,
            )
            .await
            {
                Ok(batch) => batch,
                Err(e @ IndexerError::ChainMoved { .. }) if moved < MAX_CHAIN_MOVED => {
                    moved += 1;
                    tracing::info!(error = %e, "re-reading after the chain moved");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let (Some(cp), Some(first)) = (checkpoint, batch.blocks.first())
                && first.parent_hash != cp.hash
            {
                report.reorged_blocks += self.roll_back(cp).await?;
                continue;
            }
            moved = 0;
            let prune_below = to.saturating_sub(self.config.tuning.reorg_depth);
            report.from_block.get_or_insert(next);
            report.batches += 1;
            report.blocks += batch.blocks.len() as u64;
            report.transactions += batch.transactions.len() as u64;
            report.events += batch.events.len() as u64;
            report.associations += batch.associations.len() as u64;
            let events = batch.events.len();
            // SQLite is synchronous: keep the commit off the async workers. If this future is
            // dropped meanwhile, the commit still completes or not at all, never in part.
            let store = self.store.clone();
            tokio::task::spawn_blocking(move || store.write_batch(&batch, Some(prune_below)))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
            tracing::debug!(from = next, to, events, "batch stored");
            self.publish(Some(to), head);
        }
        if let Some(cp) = report.checkpoint
            && self.snapshot_due(cp)?
        {
            match self.snapshot(cp).await {
                Ok(()) => report.snapshots += 1,
                // The chain moved past the checkpoint and the node dropped its state (the
                // devnet keeps only the latest): still due, so the next checkpoint tries.
                Err(IndexerError::StatePruned { .. }) => {
                    tracing::info!(
                        block = cp,
                        "snapshot skipped: the node no longer serves this block's state; the next checkpoint will take it"
                    );
                    report.snapshots_skipped += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    fn snapshot_due(&self, checkpoint: u64) -> Result<bool> {
        let Some(interval) = self.config.tuning.snapshot_interval else {
            return Ok(false);
        };
        Ok(match self.store.last_snapshot_block()? {
            None => true,
            Some(last) => checkpoint >= last + interval.max(1),
        })
    }

    /// Takes a snapshot at a stored block now (also what `sync_once` does when one is due).
    pub async fn snapshot(&self, block: u64) -> Result<()> {
        let timestamp = self
            .rpc
            .call(
                || format!("eth_getBlockByNumber {block}"),
                |p| async move { p.get_block_by_number(BlockNumberOrTag::Number(block)).await },
            )
            .await?
            .ok_or(IndexerError::MissingBlock { number: block })?
            .header
            .timestamp;
        let snapshot = snapshot::take(
            &self.rpc,
            &self.store,
            &self.config.contracts,
            self.config.netuid,
            block,
            timestamp,
        )
        .await?;
        self.store.write_snapshot(&snapshot)?;
        Ok(())
    }

    /// The checkpoint is no longer on the chain: find the newest stored block that still
    /// is, within the reorg depth, and delete everything above it.
    async fn roll_back(&self, checkpoint: Checkpoint) -> Result<u64> {
        let floor = checkpoint
            .number
            .saturating_sub(self.config.tuning.reorg_depth);
        let stored = self.store.block_hashes(floor, checkpoint.number)?;
        for (number, hash) in &stored {
            if self.chain_hash(*number).await? == Some(*hash) {
                let removed = self.store.rollback_to(Some((*number, *hash)))?;
                tracing::warn!(
                    ancestor = number,
                    removed,
                    "reorg: rolled back to the common ancestor"
                );
                return Ok(removed);
            }
        }
        // Nothing stored matches: fine only if every indexed block was inside the window.
        if checkpoint.number < self.config.start_block + self.config.tuning.reorg_depth {
            let removed = self.store.rollback_to(None)?;
            tracing::warn!(
                removed,
                "reorg below the start block: re-indexing from the start"
            );
            return Ok(removed);
        }
        Err(IndexerError::ReorgTooDeep {
            depth: self.config.tuning.reorg_depth,
            checkpoint: checkpoint.number,
        })
    }

    /// Catches up with the head once, unless `shutdown` turns true first (a batch in
    /// flight is then abandoned: batches are committed whole, so nothing is half-written).
    /// A stopped catch-up reports nothing.
    pub async fn catch_up(&self, mut shutdown: watch::Receiver<bool>) -> Result<SyncReport> {
        tokio::select! {
            report = self.sync_once() => report,
            _ = shutdown.wait_for(|s| *s) => Ok(SyncReport::default()),
        }
    }

    /// Follows the chain until `shutdown` turns true: catch up, wait `poll_interval` (or
    /// the stop request), repeat. Transient failures (endpoints down, the chain moving)
    /// are logged and retried on the next round; others end the loop.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) -> Result<()> {
        loop {
            if *shutdown.borrow_and_update() {
                return Ok(());
            }
            tokio::select! {
                result = self.sync_once() => match result {
                    Ok(_) => self.health.send_modify(|h| {
                        h.last_ok_at = Some(taonado_deployment::unix_now());
                        h.last_error = None;
                        h.failing_since = None;
                    }),
                    Err(e) if e.is_transient() => {
                        tracing::warn!(error = %e, "sync round failed, retrying");
                        self.health.send_modify(|h| {
                            h.last_error = Some(e.to_string());
                            h.failing_since.get_or_insert_with(taonado_deployment::unix_now);
                        });
                    }
                    Err(e) => return Err(e),
                },
                _ = shutdown.changed() => return Ok(()),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.tuning.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
