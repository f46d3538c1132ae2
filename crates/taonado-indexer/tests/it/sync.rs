//! Catch-up, queries, reorgs, resume and failover.

use alloy::providers::Provider as _;
use anyhow::Result;
use taonado_indexer::{Indexer, IndexerError};
use taonado_store::{AssociationSource, ContractKind, Store, Window};
use tokio::sync::watch;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_stores_exactly_the_chains_protocol_activity() -> Result<()> {
    let d = deployed().await?;
    let first = miner(&d, 1, 30).await?;
    let second = miner(&d, 2, 10).await?;
    let weights_tx = operator_set_weights(&d).await?;
    let head = d.head().await?;

    let store = Store::open_in_memory()?;
    let indexer = Indexer::new(d.config(vec![d.endpoint()?])?, store.clone()).await?;
    let progress = indexer.subscribe();
    let report = indexer.sync_once().await?;
    assert_eq!(report.checkpoint, Some(head));
    assert!(report.batches >= head / 7, "{report:?}");
    assert_eq!(report.snapshots, 1);
    let seen = *progress.borrow();
    assert_eq!(
        (seen.checkpoint, seen.lag, seen.synced),
        (Some(head), 0, true)
    );

    // Events: exactly the chain's logs of the protocol addresses.
    assert_eq!(stored_logs(&store)?, chain_logs(&d, head).await?);
    // Transactions: every one sent to a protocol contract, the failed ones included.
    let chain_txs = chain_protocol_txs(&d, head).await?;
    assert_eq!(stored_txs(&store)?, chain_txs);
    assert!(chain_txs.contains(&(first.failed_tx, false)));

    let stats = store.tx_stats(Window::All, None)?;
    assert_eq!(stats.total, chain_txs.len() as u64);
    assert_eq!(
        stats.failed,
        chain_txs.iter().filter(|t| !t.1).count() as u64
    );
    assert!(stats.failed >= 2 && stats.success_rate.is_some_and(|r| r < 1.0));
    assert!(stats.avg_gas_price_wei.is_some_and(|p| p > 0.0));
    let failed = store.failed_transactions(Window::All, 10)?;
    assert_eq!(failed[0].hash, second.failed_tx, "newest first");
    assert_eq!(failed[0].function, "associate");

    // Associations, found from events and calldata alike (same rows either way).
    let associations = store.associations()?;
    for m in [&first, &second] {
        let a = associations
            .iter()
            .find(|a| a.address == m.address)
            .expect("the miner's association is stored");
        assert_eq!(a.hotkey, m.hotkey);
        assert!(matches!(
            a.source,
            AssociationSource::Calldata | AssociationSource::Event
        ));
    }

    let sets = store.weight_sets(Window::All)?;
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].tx_hash, weights_tx);
    assert!(sets[0].operator && sets[0].bounty_wei.is_none());
    assert_eq!(
        store.last_weight_set()?.map(|s| s.tx_hash),
        Some(weights_tx)
    );

    let pool = d.record.pools[0].contract.address;
    let activity = store.pool_activity(Window::All)?;
    assert_eq!(activity.len(), 1);
    assert_eq!(
        (
            activity[0].pool,
            activity[0].deposits,
            activity[0].withdrawals
        ),
        (pool, 2, 0)
    );

    // The snapshot at the head: balances as the contracts report them.
    let snapshot = store.latest_snapshot()?.expect("a snapshot");
    assert_eq!(snapshot.block, head);
    let denomination = d.record.pools[0].denomination;
    let balance = |holder| {
        snapshot
            .balances
            .iter()
            .find(|b| b.kind == "wtao" && b.holder == holder)
            .map(|b| b.amount)
    };
    assert_eq!(balance(first.address), Some(first.wrapped - denomination));
    assert_eq!(balance(second.address), Some(second.wrapped - denomination));
    let pool_balance = snapshot
        .balances
        .iter()
        .find(|b| b.kind == "pool" && b.holder == pool);
    assert_eq!(
        pool_balance.map(|b| b.amount),
        Some(denomination * alloy::primitives::U256::from(2))
    );
    assert_eq!(snapshot.wtao_supply, first.wrapped + second.wrapped);
    assert!(!snapshot.neurons.is_empty() && !snapshot.weights.is_empty());
    let miners = store.active_miners()?.expect("a snapshot");
    assert_eq!((miners.block, miners.count), (head, 2));
    assert_eq!(
        store
            .tx_stats(Window::LastBlocks(1), Some(ContractKind::EvmValidator))?
            .total,
        1
    );

    // Associations the chain's history does not reveal (made through another contract on
    // the event-less mainnet tracker) are found in the tracker's storage at a snapshot.
    store.with_conn(|conn| {
        conn.execute(
            "DELETE FROM associations WHERE address = ?1",
            [first.address.as_slice()],
        )
        .map_err(|source| taonado_store::StoreError::Sqlite { op: "test", source })
    })?;
    indexer.snapshot(head).await?;
    let recovered = store
        .associations()?
        .into_iter()
        .find(|a| a.address == first.address)
        .expect("found again in storage");
    assert_eq!(
        (recovered.hotkey, recovered.source, recovered.block_number),
        (first.hotkey, AssociationSource::State, head)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorg_rolls_back_to_the_common_ancestor_and_reindexes() -> Result<()> {
    let d = deployed().await?;
    miner(&d, 1, 20).await?;
    let store = Store::open_in_memory()?;
    let indexer = Indexer::new(d.config(vec![d.endpoint()?])?, store.clone()).await?;
    indexer.sync_once().await?;
    let before = d.head().await?;

    // Drop the last 4 blocks (the miner's approve and pool deposit among them), then build
    // a different, shorter branch: the old checkpoint block no longer exists.
    let ancestor = d.reorg(4).await?;
    assert_eq!(ancestor, before - 4);
    let other = miner(&d, 2, 5).await?;
    d.mine(2).await?;
    let head = d.head().await?;
    assert_ne!(head, before);

    let report = indexer.sync_once().await?;
    assert!(report.reorged_blocks >= 4, "{report:?}");
    assert_eq!(report.checkpoint, Some(head));
    assert_eq!(stored_logs(&store)?, chain_logs(&d, head).await?);
    assert_eq!(stored_txs(&store)?, chain_protocol_txs(&d, head).await?);
    assert!(
        store
            .associations()?
            .iter()
            .any(|a| a.address == other.address)
    );
    // Every stored block hash is the chain's.
    for (number, hash) in store.block_hashes(0, head)? {
        let block = d
            .provider
            .get_block_by_number(number.into())
            .await?
            .expect("block");
        assert_eq!(block.header.hash, hash, "block {number}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_continues_from_the_checkpoint_without_gap_or_duplicate() -> Result<()> {
    let d = deployed().await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("index.sqlite");
    miner(&d, 1, 20).await?;
    let first_head = {
        let store = Store::open(&path)?;
        let indexer = Indexer::new(d.config(vec![d.endpoint()?])?, store).await?;
        indexer.sync_once().await?.checkpoint.expect("checkpoint")
    };
    miner(&d, 2, 10).await?;
    operator_set_weights(&d).await?;
    let head = d.head().await?;

    let store = Store::open(&path)?;
    let indexer = Indexer::new(d.config(vec![d.endpoint()?])?, store.clone()).await?;
    let report = indexer.sync_once().await?;
    assert_eq!(report.from_block, Some(first_head + 1));
    assert_eq!(report.checkpoint, Some(head));
    assert_eq!(stored_logs(&store)?, chain_logs(&d, head).await?);
    assert_eq!(stored_txs(&store)?, chain_protocol_txs(&d, head).await?);
    // Nothing new: a second round writes nothing.
    let again = indexer.sync_once().await?;
    assert_eq!((again.batches, again.from_block), (0, None));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_skips_a_dead_endpoint_and_run_follows_until_shutdown() -> Result<()> {
    let d = deployed().await?;
    // A port that was just free: connections to it are refused.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        format!("http://{}", listener.local_addr()?).parse()?
    };
    let store = Store::open_in_memory()?;
    let indexer = Indexer::new(d.config(vec![dead, d.endpoint()?])?, store.clone()).await?;
    let mut progress = indexer.subscribe();
    let (stop, shutdown) = watch::channel(false);
    let target = d.head().await? + 3;
    let follow = async {
        // Mine while the indexer follows, and wait for its notification, not for time.
        d.mine(3).await?;
        while progress.borrow_and_update().checkpoint < Some(target) {
            progress.changed().await?;
        }
        stop.send(true)?;
        anyhow::Ok(())
    };
    let (run, follow) = tokio::join!(indexer.run(shutdown), follow);
    run?;
    follow?;
    assert_eq!(indexer.endpoint(), &d.endpoint()?);
    assert_eq!(stored_logs(&store)?, chain_logs(&d, target).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_chain_and_foreign_database_are_refused() -> Result<()> {
    let d = deployed().await?;
    let mut config = d.config(vec![d.endpoint()?])?;
    config.chain_id += 1;
    let err = Indexer::new(config, Store::open_in_memory()?)
        .await
        .err()
        .expect("a chain id mismatch");
    assert!(matches!(err, IndexerError::ChainIdMismatch { .. }), "{err}");

    let store = Store::open_in_memory()?;
    store.init_chain(d.devnet.chain_id() + 7)?;
    let err = Indexer::new(d.config(vec![d.endpoint()?])?, store)
        .await
        .err()
        .expect("a database of another chain");
    assert!(
        matches!(
            err,
            IndexerError::Store(taonado_store::StoreError::ChainMismatch { .. })
        ),
        "{err}"
    );
    Ok(())
}

/// A node that pruned a block's state answers a snapshot of it with `StatePruned` at
/// once (no retries: only a newer block can help), and the next checkpoint's works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_pruned_state_is_refused_at_once() -> Result<()> {
    // A devnet that keeps the state of its last 256 blocks only (--prune-history).
    let d = deployed_on(taonado_devnet::DevnetConfig {
        prune_history: Some(256),
        ..taonado_devnet::DevnetConfig::test()
    })
    .await?;
    let store = Store::open_in_memory()?;
    let indexer = Indexer::new(d.config(vec![d.endpoint()?])?, store.clone()).await?;
    let report = indexer.sync_once().await?;
    let old = report.checkpoint.expect("a checkpoint");
    // Past the kept history (pruned every 64 blocks).
    d.mine(400).await?;
    let error = indexer.snapshot(old).await.expect_err("state is gone");
    assert!(
        matches!(&error, IndexerError::StatePruned { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("archive node"), "{error}");
    let report = indexer.sync_once().await?;
    assert_eq!(report.snapshots_skipped, 0, "{report:?}");
    assert_eq!(
        store.last_snapshot_block()?,
        Some(report.checkpoint.expect("a checkpoint"))
    );
    Ok(())
}
