//! Contract execution: deploy, eth_call, estimateGas, logs and filters, Bittensor
//! precompiles.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, U256, hex},
    providers::Provider,
    rpc::types::{Filter, TransactionRequest},
    sol,
    sol_types::SolCall,
};
use serde_json::json;

use crate::{LOG_TOPIC, Node, deploy_code, forwarder_runtime, logger_runtime};

sol! {
    function setWeights(uint16 netuid, uint16[] dests, uint16[] weights, uint64 versionKey);
}

async fn deploy(node: &Node, runtime: Vec<u8>) -> Address {
    let receipt = node
        .provider(0)
        .send_transaction(TransactionRequest::default().with_deploy_code(deploy_code(&runtime)))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let address = receipt
        .contract_address
        .expect("create receipt has the address");
    assert_eq!(
        node.provider(0)
            .get_code_at(address)
            .await
            .unwrap()
            .to_vec(),
        runtime
    );
    address
}

fn word(n: u64) -> Bytes {
    Bytes::from(U256::from(n).to_be_bytes::<32>().to_vec())
}

async fn call_logger(node: &Node, index: usize, logger: Address, value: u64) -> B256 {
    node.provider(index)
        .send_transaction(
            TransactionRequest::default()
                .with_to(logger)
                .with_input(word(value)),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .transaction_hash
}

#[tokio::test]
async fn calls_estimates_and_storage() {
    let node = Node::start().await;
    let provider = node.provider(0);
    let logger = deploy(&node, logger_runtime()).await;
    let request = TransactionRequest::default()
        .with_to(logger)
        .with_input(word(42));
    assert_eq!(provider.call(request.clone()).await.unwrap(), word(42));
    let estimate = provider.estimate_gas(request.clone()).await.unwrap();
    // calls may come from a contract address (EIP-3607 applies to transactions only)
    let from_contract = node
        .rpc(
            "eth_call",
            json!([{"from": logger, "to": logger, "data": word(5)}, "latest"]),
        )
        .await;
    assert_eq!(from_contract, json!(word(5)));
    let hash = call_logger(&node, 0, logger, 42).await;
    let receipt = provider
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .unwrap();
    assert!(
        estimate >= receipt.gas_used,
        "{estimate} < {}",
        receipt.gas_used
    );
    // the estimate is enough (and close): a tx with exactly that gas succeeds
    let exact = provider
        .send_transaction(request.with_gas_limit(estimate).with_input(word(43)))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(exact.status());
    assert_eq!(
        provider.get_storage_at(logger, U256::ZERO).await.unwrap(),
        U256::from(43)
    );
}

#[tokio::test]
async fn logs_filters_and_topic_matching() {
    let node = Node::start().await;
    let provider = node.provider(0);
    let logger = deploy(&node, logger_runtime()).await;
    let log_filter = node
        .rpc(
            "eth_newFilter",
            json!([{"fromBlock": "0x0", "address": logger}]),
        )
        .await;
    let block_filter = node.rpc("eth_newBlockFilter", json!([])).await;
    call_logger(&node, 0, logger, 1).await;
    call_logger(&node, 1, logger, 2).await;
    let changes = node.rpc("eth_getFilterChanges", json!([log_filter])).await;
    assert_eq!(changes.as_array().unwrap().len(), 2);
    assert_eq!(changes[1]["data"], json!(word(2)));
    assert_eq!(changes[0]["topics"][0], json!(B256::from(LOG_TOPIC)));
    assert_eq!(
        node.rpc("eth_getFilterChanges", json!([log_filter])).await,
        json!([])
    );
    let all = node.rpc("eth_getFilterLogs", json!([log_filter])).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let blocks = node
        .rpc("eth_getFilterChanges", json!([block_filter]))
        .await;
    assert_eq!(blocks.as_array().unwrap().len(), 2);
    assert_eq!(
        node.rpc("eth_uninstallFilter", json!([log_filter])).await,
        json!(true)
    );
    let (code, _) = node
        .rpc_err("eth_getFilterChanges", json!([log_filter]))
        .await;
    assert_eq!(code, -32000);

    let sender1 = B256::left_padding_from(node.handle.dev_accounts()[1].address.as_slice());
    let sender0 = B256::left_padding_from(node.handle.dev_accounts()[0].address.as_slice());
    let by_topic = |topics: serde_json::Value| json!([{"fromBlock": "0x0", "toBlock": "latest", "address": [logger], "topics": topics}]);
    let only1 = node
        .rpc("eth_getLogs", by_topic(json!([null, sender1])))
        .await;
    assert_eq!(only1.as_array().unwrap().len(), 1);
    assert_eq!(only1[0]["data"], json!(word(2)));
    let either = node
        .rpc(
            "eth_getLogs",
            by_topic(json!([B256::from(LOG_TOPIC), [sender0, sender1]])),
        )
        .await;
    assert_eq!(either.as_array().unwrap().len(), 2);
    let none = node.rpc("eth_getLogs", by_topic(json!([B256::ZERO]))).await;
    assert_eq!(none, json!([]));
    // block ranges and blockHash via alloy
    let second_block = provider
        .get_block_by_number(3.into())
        .await
        .unwrap()
        .unwrap();
    let at_hash = provider
        .get_logs(&Filter::new().at_block_hash(second_block.header.hash))
        .await
        .unwrap();
    assert_eq!(at_hash.len(), 1);
    assert_eq!(at_hash[0].block_number, Some(3));
    assert_eq!(at_hash[0].log_index, Some(0));
    let range = provider
        .get_logs(&Filter::new().from_block(2).to_block(2).address(logger))
        .await
        .unwrap();
    assert_eq!(range.len(), 1);
    let receipt = provider
        .get_transaction_receipt(range[0].transaction_hash.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(receipt.inner.logs().len(), 1);
    assert!(
        receipt
            .inner
            .logs_bloom()
            .contains_raw_log(logger, &[B256::from(LOG_TOPIC)])
    );
}

#[tokio::test]
async fn reverts_are_code_3_with_data() {
    let node = Node::start().await;
    // runtime: REVERT(0, 0) after storing 0xbeef at memory
    let reverter = deploy(
        &node,
        vec![
            0x61, 0xbe, 0xef, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xfd,
        ],
    )
    .await;
    let response = node
        .raw("eth_call", json!([{"to": reverter}, "latest"]))
        .await;
    assert_eq!(response["error"]["code"], json!(3));
    assert_eq!(response["error"]["data"], json!(word(0xbeef)));
    let (code, _) = node
        .rpc_err("eth_estimateGas", json!([{"to": reverter}]))
        .await;
    assert_eq!(code, 3);
}

#[tokio::test]
async fn bn256_add_is_at_0x9_and_0x6_is_dispatch() {
    let node = Node::start().await;
    // G1 generator (1, 2) twice
    let mut input = Vec::new();
    for _ in 0..2 {
        input.extend_from_slice(&U256::from(1).to_be_bytes::<32>());
        input.extend_from_slice(&U256::from(2).to_be_bytes::<32>());
    }
    let data = hex::encode_prefixed(&input);
    let doubled = node
        .rpc(
            "eth_call",
            json!([{"to": "0x0000000000000000000000000000000000000009", "data": data}, "latest"]),
        )
        .await;
    assert_eq!(
        doubled,
        json!(
            "0x030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd315ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4"
        )
    );
    let (code, message) = node
        .rpc_err(
            "eth_call",
            json!([{"to": "0x0000000000000000000000000000000000000006", "data": data}, "latest"]),
        )
        .await;
    assert_eq!(code, -32603);
    assert_eq!(message, "evm error: Other(\"decode failed\")");
    // sha3-fips256 of "" at 0x400
    let sha3 = node
        .rpc(
            "eth_call",
            json!([{"to": "0x0000000000000000000000000000000000000400", "data": "0x"}, "latest"]),
        )
        .await;
    assert_eq!(
        sha3,
        json!("0xa7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a")
    );
}

#[tokio::test]
async fn failing_neuron_precompile_consumes_all_gas() {
    let node = Node::start().await;
    let provider = node.provider(0);
    let forwarder = deploy(&node, forwarder_runtime(0x804)).await;
    let data = setWeightsCall {
        netuid: 2,
        dests: vec![0],
        weights: vec![1],
        versionKey: 0,
    }
    .abi_encode();
    assert_eq!(&data[..4], &hex!("34af16d6"));
    let request = json!([{"to": forwarder, "data": hex::encode_prefixed(&data)}, "latest"]);
    let (code, message) = node.rpc_err("eth_call", request.clone()).await;
    assert_eq!(code, -32603);
    assert_eq!(
        message,
        "evm error: Other(\"dispatch execution failed: HotKeyNotRegisteredInSubNet\")"
    );
    let (code, message) = node.rpc_err("eth_estimateGas", json!([request[0]])).await;
    assert_eq!(code, -32603, "{message}");

    let before = provider
        .get_balance(node.handle.dev_accounts()[0].address)
        .await
        .unwrap();
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(forwarder)
                .with_input(data)
                .with_gas_limit(300_000)
                .with_gas_price(20_000_000_000),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(!receipt.status());
    assert_eq!(receipt.gas_used, 300_000);
    let after = provider
        .get_balance(node.handle.dev_accounts()[0].address)
        .await
        .unwrap();
    assert_eq!(
        before - after,
        U256::from(300_000u64) * U256::from(20_000_000_000u64)
    );
}
