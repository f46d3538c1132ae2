//! --state-dir: the chain survives a clean restart.

use alloy::{
    network::TransactionBuilder,
    primitives::{U256, address},
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
    // rewrites the snapshot; everything after it is only in the write-ahead log
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
