//! State at any earlier block: balances, nonces, code, storage and calls, read through the
//! undo log, across a crash and a clean restart with `--state-dir`.

use alloy::{
    eips::BlockId,
    network::TransactionBuilder,
    primitives::{Address, U256, address},
    providers::Provider,
    rpc::types::TransactionRequest,
};
use serde_json::json;
use taonado_devnet::DevnetConfig;

use crate::{Node, deploy_code, logger_runtime};

const TO: Address = address!("6767676767676767676767676767676767676767");

/// Block by block: (number, balance of TO, value the logger holds in slot 0).
async fn history(node: &Node) -> (Address, Vec<(u64, U256, U256)>) {
    let provider = node.provider(0);
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
    let mut expected = vec![(1, U256::ZERO, U256::ZERO)];
    for round in 1..=3u64 {
        for (to, input, value) in [
            (TO, Vec::new(), U256::from(round * 10)),
            (
                logger,
                U256::from(round * 100).to_be_bytes::<32>().to_vec(),
                U256::ZERO,
            ),
        ] {
            provider
                .send_transaction(
                    TransactionRequest::default()
                        .with_to(to)
                        .with_input(input)
                        .with_value(value),
                )
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
        }
        let number = provider.get_block_number().await.unwrap();
        let balance = U256::from((1..=round).map(|r| r * 10).sum::<u64>());
        expected.push((number - 1, balance, expected.last().unwrap().2));
        expected.push((number, balance, U256::from(round * 100)));
    }
    (logger, expected)
}

async fn check(node: &Node, logger: Address, expected: &[(u64, U256, U256)]) {
    let provider = node.provider(0);
    for (number, balance, stored) in expected {
        let at = BlockId::number(*number);
        assert_eq!(
            provider.get_balance(TO).block_id(at).await.unwrap(),
            *balance,
            "balance at block {number}"
        );
        assert_eq!(
            provider
                .get_storage_at(logger, U256::ZERO)
                .block_id(at)
                .await
                .unwrap(),
            *stored,
            "slot 0 at block {number}"
        );
    }
    // Code and nonces: nothing before the deployment, the deployer's nonce then.
    assert!(
        provider
            .get_code_at(logger)
            .block_id(BlockId::number(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        provider
            .get_code_at(logger)
            .block_id(BlockId::number(1))
            .await
            .unwrap()
            .to_vec(),
        logger_runtime()
    );
    let sender = node.handle.dev_accounts()[0].address;
    assert_eq!(
        provider
            .get_transaction_count(sender)
            .block_id(BlockId::number(1))
            .await
            .unwrap(),
        1
    );
    // A call at block 2 runs against block 2's state: the contract is there, TO's balance
    // is what it was.
    let balance_then = node.rpc("eth_getBalance", json!([TO, "0x2"])).await;
    assert_eq!(balance_then, json!("0xa"));
    let echoed = node
        .rpc(
            "eth_call",
            json!([{"to": logger, "data": format!("0x{}", "0".repeat(62) + "07")}, "0x1"]),
        )
        .await;
    assert_eq!(echoed, json!(format!("0x{}", "0".repeat(62) + "07")));
}

#[tokio::test]
async fn every_kept_block_answers_state_queries_and_calls() {
    let node = Node::start().await;
    let (logger, expected) = history(&node).await;
    check(&node, logger, &expected).await;
}

#[tokio::test]
async fn history_survives_a_crash_and_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DevnetConfig::test();
    config.state_dir = Some(dir.path().to_path_buf());
    let node = Node::start_with(config.clone()).await;
    let (logger, expected) = history(&node).await;
    // crash: the history is rebuilt from the write-ahead log
    let recovered = Node::start_with(config.clone()).await;
    check(&recovered, logger, &expected).await;
    // clean stop: the history is in the snapshot
    recovered.handle.shutdown().await.unwrap();
    let restarted = Node::start_with(config).await;
    check(&restarted, logger, &expected).await;
}
