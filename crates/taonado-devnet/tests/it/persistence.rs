//! --state-dir: the chain survives a clean restart, a crash, and a torn write-ahead log.

use alloy::{
    network::TransactionBuilder,
    primitives::{B256, U256, address},
    providers::Provider,
    rpc::types::TransactionRequest,
};
use serde_json::json;
use taonado_devnet::{DevnetConfig, DevnetError};

use crate::{Node, deploy_code, logger_runtime};

#[tokio::test]
async fn state_dir_keeps_state_blocks_receipts_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DevnetConfig::test();
    config.state_dir = Some(dir.path().to_path_buf());
    let to = address!("abababababababababababababababababababab");

    let node = Node::start_with(config.clone()).await;
    let provider = node.provider(0);
    let deployed = provider
        .send_transaction(
            TransactionRequest::default().with_deploy_code(deploy_code(&logger_runtime())),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let logger = deployed.contract_address.unwrap();
    let logged = provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(logger)
                .with_input(U256::from(9).to_be_bytes::<32>().to_vec()),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(to)
                .with_value(U256::from(77)),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let metagraph = node.rpc("subtensor_metagraph", json!([])).await;
    let head = provider
        .get_block_by_number(3.into())
        .await
        .unwrap()
        .unwrap();
    node.handle.shutdown().await.unwrap();

    let node = Node::start_with(config.clone()).await;
    let provider = node.provider(0);
    assert_eq!(provider.get_block_number().await.unwrap(), 3);
    let reloaded = provider
        .get_block_by_number(3.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reloaded.header.hash, head.header.hash);
    assert_eq!(provider.get_balance(to).await.unwrap(), U256::from(77));
    assert_eq!(
        provider.get_storage_at(logger, U256::ZERO).await.unwrap(),
        U256::from(9)
    );
    assert_eq!(
        provider.get_code_at(logger).await.unwrap().to_vec(),
        logger_runtime()
    );
    let receipt = provider
        .get_transaction_receipt(logged.transaction_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(receipt.inner.logs().len(), 1);
    let logs = node
        .rpc(
            "eth_getLogs",
            json!([{"fromBlock": "0x0", "address": logger}]),
        )
        .await;
    assert_eq!(logs.as_array().unwrap().len(), 1);
    assert_eq!(node.rpc("subtensor_metagraph", json!([])).await, metagraph);
    // the chain continues where it stopped
    let next = provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(to)
                .with_value(U256::from(1)),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(next.block_number, Some(4));
    node.handle.shutdown().await.unwrap();

    // another chain id cannot reuse the directory
    config.chain_id = 945;
    let error = taonado_devnet::spawn(config).await.unwrap_err();
    assert!(
        matches!(error, DevnetError::StateChainMismatch { found: 42, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn write_ahead_log_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DevnetConfig::test();
    config.state_dir = Some(dir.path().to_path_buf());
    let to = address!("cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");

    let node = Node::start_with(config.clone()).await;
    let provider = node.provider(0);
    // everything from here on is only in the write-ahead log
    node.rpc("anvil_setBalance", json!([to, "0x64"])).await;
    let mut last = None;
    for value in [5u64, 6] {
        last = Some(
            provider
                .send_transaction(
                    TransactionRequest::default()
                        .with_to(to)
                        .with_value(U256::from(value)),
                )
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap(),
        );
    }
    let logger = provider
        .send_transaction(
            TransactionRequest::default().with_deploy_code(deploy_code(&logger_runtime())),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .contract_address
        .unwrap();
    let store = TransactionRequest::default()
        .with_to(logger)
        .with_input(U256::from(3).to_be_bytes::<32>().to_vec());
    provider
        .send_transaction(store)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    node.rpc("subtensor_setHyperparameter", json!(["tempo", 20]))
        .await;
    node.rpc("anvil_mine", json!([1])).await;
    // no shutdown: the first node "crashes" (keeps running, never flushes); a second one
    // started on the same directory sees everything that was acknowledged
    let recovered = Node::start_with(config).await;
    let provider = recovered.provider(0);
    assert_eq!(provider.get_block_number().await.unwrap(), 5);
    assert_eq!(provider.get_balance(to).await.unwrap(), U256::from(111));
    assert_eq!(
        provider.get_code_at(logger).await.unwrap().to_vec(),
        logger_runtime()
    );
    assert_eq!(
        provider.get_storage_at(logger, U256::ZERO).await.unwrap(),
        U256::from(3)
    );
    let echo = TransactionRequest::default()
        .with_to(logger)
        .with_input(U256::from(8).to_be_bytes::<32>().to_vec());
    let echoed = provider.call(echo).await.unwrap();
    assert_eq!(U256::from_be_slice(&echoed), U256::from(8));
    let receipt = provider
        .get_transaction_receipt(last.unwrap().transaction_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(receipt.block_number, Some(2));
    let info = recovered.rpc("subtensor_subnetInfo", json!([])).await;
    assert_eq!(info["hyperparameters"]["tempo"], json!(20));
}

/// Send a value transfer from dev account 0 and wait for its receipt; returns its hash.
async fn transfer(node: &Node, to: alloy::primitives::Address, value: u64) -> B256 {
    node.provider(0)
        .send_transaction(
            TransactionRequest::default()
                .with_to(to)
                .with_value(U256::from(value)),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .transaction_hash
}

async fn has_receipt(node: &Node, hash: B256) -> bool {
    node.provider(0)
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .is_some()
}

/// The reproduction: 5 transactions, a crash, 100 bytes cut off the log (a torn
/// record), a restart, 5 more, a crash, a restart. Before the fix the log was appended to
/// after the torn fragment and the last 5 were lost at the second restart.
#[tokio::test]
async fn a_torn_log_tail_is_cut_off_and_later_transactions_survive() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DevnetConfig::test();
    config.state_dir = Some(dir.path().to_path_buf());
    let to = address!("1212121212121212121212121212121212121212");

    let first = Node::start_with(config.clone()).await;
    let mut before = Vec::new();
    for value in 1..=5 {
        before.push(transfer(&first, to, value).await);
    }
    // crash: the first node never flushes; then the tear
    let wal = dir.path().join("chain.wal");
    let len = std::fs::metadata(&wal).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
    file.set_len(len - 100).unwrap();
    drop(file);

    let second = Node::start_with(config.clone()).await;
    assert_eq!(
        second.provider(0).get_block_number().await.unwrap(),
        4,
        "the torn fifth block is gone, the four before it are kept"
    );
    let mut after = Vec::new();
    for value in 10..15 {
        after.push(transfer(&second, to, value).await);
    }

    let third = Node::start_with(config).await;
    for hash in &after {
        assert!(
            has_receipt(&third, *hash).await,
            "{hash} was acknowledged after the tear"
        );
    }
    for hash in &before[..4] {
        assert!(has_receipt(&third, *hash).await);
    }
    assert_eq!(third.provider(0).get_block_number().await.unwrap(), 9);
    assert_eq!(
        third.provider(0).get_balance(to).await.unwrap(),
        U256::from(1 + 2 + 3 + 4 + 10 + 11 + 12 + 13 + 14)
    );
}

/// Dev methods, time controls, a revert and a reorg are logged, not written as a new
/// snapshot (that took seconds on a long chain), and a crash keeps them all.
#[tokio::test]
async fn dev_methods_time_and_reverts_are_logged_not_snapshotted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DevnetConfig::test();
    config.state_dir = Some(dir.path().to_path_buf());
    let to = address!("3434343434343434343434343434343434343434");
    let node = Node::start_with(config.clone()).await;
    let snapshot = dir.path().join("chain.json");
    let snapshot_before = std::fs::read(&snapshot).unwrap();

    node.rpc("anvil_setBalance", json!([to, "0x1000"])).await;
    node.rpc("anvil_setNonce", json!([to, "0x7"])).await;
    node.rpc("anvil_setCode", json!([to, "0x6001600055"])).await;
    node.rpc(
        "anvil_setStorageAt",
        json!([to, "0x5", format!("0x{}", "0".repeat(62) + "2a")]),
    )
    .await;
    let day = 86_400u64;
    node.rpc("evm_increaseTime", json!([day])).await;
    transfer(&node, to, 1).await;
    // a revert drops block 2 and its transfer, a reorg drops block 3
    let id = node.rpc("evm_snapshot", json!([])).await;
    let reverted = transfer(&node, to, 100).await;
    assert_eq!(node.rpc("evm_revert", json!([id])).await, json!(true));
    transfer(&node, to, 2).await;
    let reorged = transfer(&node, to, 200).await;
    node.rpc("taonado_reorg", json!([1])).await;
    let kept = transfer(&node, to, 3).await;
    assert_eq!(
        std::fs::read(&snapshot).unwrap(),
        snapshot_before,
        "no dev method rewrote the snapshot"
    );
    let head = node
        .provider(0)
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();

    // crash, restart
    let recovered = Node::start_with(config).await;
    let provider = recovered.provider(0);
    assert_eq!(provider.get_block_number().await.unwrap(), 3);
    assert_eq!(
        provider.get_balance(to).await.unwrap(),
        U256::from(0x1000 + 1 + 2 + 3)
    );
    assert_eq!(provider.get_transaction_count(to).await.unwrap(), 7);
    assert_eq!(
        provider.get_code_at(to).await.unwrap().to_vec(),
        vec![0x60, 0x01, 0x60, 0x00, 0x55]
    );
    assert_eq!(
        provider.get_storage_at(to, U256::from(5)).await.unwrap(),
        U256::from(42)
    );
    assert!(has_receipt(&recovered, kept).await);
    assert!(!has_receipt(&recovered, reverted).await);
    assert!(!has_receipt(&recovered, reorged).await);
    // the time offset is kept: the next block is a day ahead of the clock, not frozen
    recovered.rpc("evm_mine", json!([])).await;
    let next = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        next.header.timestamp >= now + day - 5,
        "{} vs {now}",
        next.header.timestamp
    );
    assert!(next.header.timestamp >= head.header.timestamp);
}

/// Under --block-time a transaction is acknowledged when pooled: a crash or a clean stop
/// before its block must not drop it.
#[tokio::test]
async fn pooled_transactions_survive_a_crash_and_a_clean_stop() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DevnetConfig::test();
    config.state_dir = Some(dir.path().to_path_buf());
    // Long enough that the interval never fires during the test.
    config.block_time = Some(std::time::Duration::from_secs(3_600));
    let to = address!("5656565656565656565656565656565656565656");

    let node = Node::start_with(config.clone()).await;
    let pending = *node
        .provider(0)
        .send_transaction(
            TransactionRequest::default()
                .with_to(to)
                .with_value(U256::from(5)),
        )
        .await
        .unwrap()
        .tx_hash();
    assert_eq!(node.provider(0).get_block_number().await.unwrap(), 0);

    // crash, restart: still pending; a clean stop, restart: still pending
    let recovered = Node::start_with(config.clone()).await;
    recovered.handle.shutdown().await.unwrap();
    let restarted = Node::start_with(config).await;
    assert!(!has_receipt(&restarted, pending).await);
    restarted.rpc("evm_mine", json!([])).await;
    assert!(has_receipt(&restarted, pending).await);
    assert_eq!(
        restarted.provider(0).get_balance(to).await.unwrap(),
        U256::from(5)
    );
}
