//! anvil-style dev methods: snapshots, reorgs, impersonation, mining and time control.

use std::time::Duration;

use alloy::{
    network::TransactionBuilder,
    primitives::{U256, address},
    providers::Provider,
    rpc::types::TransactionRequest,
};
use serde_json::{Value, json};
use taonado_devnet::DevnetConfig;

use crate::Node;

async fn send(node: &Node, value: u64) -> alloy::rpc::types::TransactionReceipt {
    node.provider(0)
        .send_transaction(
            TransactionRequest::default()
                .with_to(address!("6666666666666666666666666666666666666666"))
                .with_value(U256::from(value)),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
}

#[tokio::test]
async fn revert_restores_state_blocks_and_receipts() {
    let node = Node::start().await;
    let provider = node.provider(0);
    let target = address!("6666666666666666666666666666666666666666");
    send(&node, 1).await;
    let snapshot = node.rpc("evm_snapshot", json!([])).await;
    let receipt = send(&node, 2).await;
    node.rpc("anvil_setBalance", json!([target, "0xffff"]))
        .await;
    node.rpc("anvil_mine", json!([2])).await;
    assert_eq!(provider.get_block_number().await.unwrap(), 4);
    assert_eq!(node.rpc("evm_revert", json!([snapshot])).await, json!(true));
    assert_eq!(provider.get_block_number().await.unwrap(), 1);
    assert_eq!(provider.get_balance(target).await.unwrap(), U256::from(1));
    assert!(
        provider
            .get_transaction_receipt(receipt.transaction_hash)
            .await
            .unwrap()
            .is_none()
    );
    // a snapshot is used once
    assert_eq!(
        node.rpc("evm_revert", json!([snapshot])).await,
        json!(false)
    );
    // the chain goes on from the reverted state
    let again = send(&node, 3).await;
    assert_eq!(again.block_number, Some(2));
    assert_eq!(provider.get_balance(target).await.unwrap(), U256::from(4));
}

#[tokio::test]
async fn reorg_drops_blocks_and_their_state() {
    let node = Node::start().await;
    let provider = node.provider(0);
    let target = address!("6666666666666666666666666666666666666666");
    for value in [1, 10, 100] {
        send(&node, value).await;
    }
    let third = provider
        .get_block_by_number(3.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(node.rpc("taonado_reorg", json!([2])).await, json!("0x1"));
    assert_eq!(provider.get_block_number().await.unwrap(), 1);
    assert_eq!(provider.get_balance(target).await.unwrap(), U256::from(1));
    assert!(
        provider
            .get_block_by_hash(third.header.hash)
            .await
            .unwrap()
            .is_none()
    );
    let (code, message) = node.rpc_err("taonado_reorg", json!([5])).await;
    assert_eq!(code, -32000, "{message}");
    // new blocks at the same heights get new hashes
    send(&node, 1000).await;
    send(&node, 1000).await;
    let new_third = provider
        .get_block_by_number(3.into())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(new_third.header.hash, third.header.hash);
    assert_eq!(
        provider.get_balance(target).await.unwrap(),
        U256::from(2001)
    );
}

#[tokio::test]
async fn impersonated_accounts_can_send() {
    let node = Node::start().await;
    let whale = address!("7777777777777777777777777777777777777777");
    let to = address!("8888888888888888888888888888888888888888");
    node.rpc("anvil_setBalance", json!([whale, "0xde0b6b3a7640000"]))
        .await;
    let params = json!([{"from": whale, "to": to, "value": "0x5"}]);
    let (code, _) = node.rpc_err("eth_sendTransaction", params.clone()).await;
    assert_eq!(code, -32000);
    node.rpc("anvil_impersonateAccount", json!([whale])).await;
    let hash = node.rpc("eth_sendTransaction", params.clone()).await;
    let receipt = node.rpc("eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], json!("0x1"));
    assert_eq!(receipt["from"], json!(whale.to_string().to_lowercase()));
    assert_eq!(
        node.rpc("eth_getBalance", json!([to, "latest"])).await,
        json!("0x5")
    );
    node.rpc("anvil_stopImpersonatingAccount", json!([whale]))
        .await;
    let (code, _) = node.rpc_err("eth_sendTransaction", params).await;
    assert_eq!(code, -32000);
}

#[tokio::test]
async fn time_controls_set_block_timestamps() {
    let node = Node::start().await;
    let provider = node.provider(0);
    node.rpc("evm_setNextBlockTimestamp", json!([4_000_000_000u64]))
        .await;
    node.rpc("evm_mine", json!([])).await;
    let block = provider
        .get_block_by_number(1.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(block.header.timestamp, 4_000_000_000);
    node.rpc("anvil_mine", json!(["0x3", "0x3c"])).await;
    let last = provider
        .get_block_by_number(4.into())
        .await
        .unwrap()
        .unwrap();
    let third = provider
        .get_block_by_number(3.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.header.timestamp - third.header.timestamp, 60);
    let (code, _) = node.rpc_err("evm_setNextBlockTimestamp", json!([1])).await;
    assert_eq!(code, -32602);
}

#[tokio::test]
async fn increase_time_moves_the_next_block() {
    let node = Node::start().await;
    let provider = node.provider(0);
    let genesis = provider
        .get_block_by_number(0.into())
        .await
        .unwrap()
        .unwrap();
    node.rpc("evm_increaseTime", json!([86_400])).await;
    node.rpc("evm_mine", json!([])).await;
    let next = provider
        .get_block_by_number(1.into())
        .await
        .unwrap()
        .unwrap();
    assert!(next.header.timestamp >= genesis.header.timestamp + 86_400);
}

#[tokio::test]
async fn automine_off_pools_until_mined() {
    let node = Node::start().await;
    node.rpc("anvil_setAutomine", json!([false])).await;
    let from = node.handle.dev_accounts()[0].address;
    let to = address!("9999999999999999999999999999999999999999");
    let first = node
        .rpc(
            "eth_sendTransaction",
            json!([{"from": from, "to": to, "value": "0x1", "gas": "0x5208"}]),
        )
        .await;
    let second = node
        .rpc(
            "eth_sendTransaction",
            json!([{"from": from, "to": to, "value": "0x2", "gas": "0x5208"}]),
        )
        .await;
    assert_eq!(
        node.rpc("eth_getTransactionReceipt", json!([first])).await,
        json!(null)
    );
    assert_eq!(
        node.rpc("eth_getTransactionCount", json!([from, "pending"]))
            .await,
        json!("0x2")
    );
    assert_eq!(
        node.rpc("eth_getTransactionByHash", json!([second])).await["blockNumber"],
        json!(null)
    );
    node.rpc("evm_mine", json!([])).await;
    let receipt = node.rpc("eth_getTransactionReceipt", json!([second])).await;
    assert_eq!(receipt["blockNumber"], json!("0x1"));
    assert_eq!(receipt["transactionIndex"], json!("0x1"));
    assert_eq!(
        node.rpc("eth_getBalance", json!([to, "latest"])).await,
        json!("0x3")
    );
}

#[tokio::test]
async fn interval_mining_mines_pooled_transactions() {
    let mut config = DevnetConfig::test();
    config.block_time = Some(Duration::from_millis(20));
    let node = Node::start_with(config).await;
    // the provider polls for the receipt; the block comes from the interval miner
    let receipt = send(&node, 7).await;
    assert!(receipt.status());
    assert!(receipt.block_number.unwrap() >= 1);
}

/// Snapshots are bounded (each holds a copy of the subtensor state; 100k took 472 MB): past
/// 10,000 the oldest is dropped and reverting to it answers false, as for a used one.
#[tokio::test]
async fn snapshots_are_bounded_oldest_first() {
    // One batch of 10,001 (over the default batch limit of 1,000).
    let node = Node::start_with(taonado_devnet::DevnetConfig {
        limits: taonado_devnet::RpcLimits {
            max_batch: 20_000,
            ..Default::default()
        },
        ..taonado_devnet::DevnetConfig::test()
    })
    .await;
    let batch: Vec<Value> = (0..10_001)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "evm_snapshot", "params": []}))
        .collect();
    let answers = node.post(&Value::Array(batch).to_string()).await;
    let ids: Vec<Value> = answers
        .as_array()
        .expect("a batch answer")
        .iter()
        .map(|a| a["result"].clone())
        .collect();
    assert_eq!(ids.len(), 10_001);
    assert_eq!(node.rpc("evm_revert", json!([ids[0]])).await, json!(false));
    assert_eq!(
        node.rpc("evm_revert", json!([ids[10_000]])).await,
        json!(true)
    );
}
