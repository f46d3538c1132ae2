//! Basic queries and JSON-RPC envelope handling.

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{U256, address},
    providers::Provider,
};
use serde_json::json;
use taonado_devnet::{DEV_ACCOUNTS, DevnetConfig};

use crate::Node;

#[tokio::test]
async fn answers_chain_identity_and_dev_balances() {
    let node = Node::start().await;
    let provider = node.provider(0);
    assert_eq!(provider.get_chain_id().await.unwrap(), 42);
    assert_eq!(node.rpc("net_version", json!([])).await, json!("42"));
    assert!(
        node.rpc("web3_clientVersion", json!([]))
            .await
            .as_str()
            .unwrap()
            .starts_with("taonado-devnet")
    );
    assert_eq!(provider.get_block_number().await.unwrap(), 0);
    let expected = DevnetConfig::test().balance_wei;
    for account in DEV_ACCOUNTS {
        assert_eq!(
            provider.get_balance(account.address).await.unwrap(),
            expected
        );
    }
    let accounts = provider.get_accounts().await.unwrap();
    assert_eq!(accounts.len(), 10);
    assert_eq!(
        accounts[0],
        address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    );
    assert_eq!(node.rpc("eth_syncing", json!([])).await, json!(false));
    assert_eq!(
        node.rpc("eth_gasPrice", json!([])).await,
        json!("0x4a817c800")
    );
}

#[tokio::test]
async fn chain_id_is_configurable() {
    let mut config = DevnetConfig::test();
    config.chain_id = 945;
    let node = Node::start_with(config).await;
    assert_eq!(node.provider(0).get_chain_id().await.unwrap(), 945);
    assert_eq!(node.handle.chain_id(), 945);
}

#[tokio::test]
async fn block_tags_resolve() {
    let node = Node::start().await;
    let provider = node.provider(0);
    node.rpc("anvil_mine", json!(["0x3"])).await;
    for (tag, number) in [
        (BlockNumberOrTag::Latest, 3),
        (BlockNumberOrTag::Earliest, 0),
        (BlockNumberOrTag::Pending, 3),
        (BlockNumberOrTag::Safe, 3),
        (BlockNumberOrTag::Finalized, 3),
        (BlockNumberOrTag::Number(2), 2),
    ] {
        let block = provider.get_block_by_number(tag).await.unwrap().unwrap();
        assert_eq!(block.header.number, number, "{tag:?}");
    }
    let two = provider
        .get_block_by_number(BlockNumberOrTag::Number(2))
        .await
        .unwrap()
        .unwrap();
    let by_hash = provider
        .get_block_by_hash(two.header.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_hash.header.number, 2);
    assert_eq!(
        by_hash.header.parent_hash,
        provider
            .get_block_by_number(1.into())
            .await
            .unwrap()
            .unwrap()
            .header
            .hash
    );
    assert_eq!(by_hash.header.base_fee_per_gas, Some(20_000_000_000));
    assert_eq!(by_hash.header.gas_limit, 75_000_000);
    assert!(
        provider
            .get_block_by_number(9.into())
            .await
            .unwrap()
            .is_none()
    );
    let history = provider
        .get_fee_history(2, BlockNumberOrTag::Latest, &[50.0])
        .await
        .unwrap();
    assert_eq!(history.oldest_block, 2);
    assert_eq!(history.base_fee_per_gas, vec![20_000_000_000; 3]);
}

/// With `--prune-history` the state of older blocks is dropped: asking for it is a clear
/// error; the kept blocks and the latest still answer.
#[tokio::test]
async fn pruned_state_is_a_clear_error() {
    let node = Node::start_with(taonado_devnet::DevnetConfig {
        prune_history: Some(256),
        ..taonado_devnet::DevnetConfig::test()
    })
    .await;
    let who = DEV_ACCOUNTS[0].address;
    node.rpc("anvil_setBalance", json!([who, "0x1"])).await;
    node.rpc("anvil_mine", json!([10])).await;
    node.rpc("anvil_setBalance", json!([who, "0x2"])).await;
    node.rpc("anvil_mine", json!([640])).await;
    let (code, message) = node.rpc_err("eth_getBalance", json!([who, "0x5"])).await;
    assert_eq!(code, -32000);
    assert!(message.contains("not kept"), "{message}");
    assert!(message.contains("history starts at block"), "{message}");
    // The last 256 blocks are kept (pruning runs every 64 blocks).
    assert_eq!(
        node.rpc("eth_getBalance", json!([who, "0x200"])).await,
        json!("0x2")
    );
    assert_eq!(
        node.rpc("eth_getBalance", json!([who, "latest"])).await,
        json!("0x2")
    );
}

#[tokio::test]
async fn malformed_requests_get_standard_codes() {
    let node = Node::start().await;
    let code = |v: &serde_json::Value| v["error"]["code"].as_i64();
    assert_eq!(code(&node.post("{").await), Some(-32700));
    assert_eq!(code(&node.post("[]").await), Some(-32600));
    assert_eq!(code(&node.post("42").await), Some(-32600));
    assert_eq!(
        code(&node.post(r#"{"jsonrpc":"2.0","id":1}"#).await),
        Some(-32600)
    );
    assert_eq!(
        code(
            &node
                .post(r#"{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}"#)
                .await
        ),
        Some(-32600)
    );
    assert_eq!(code(&node.raw("eth_nope", json!([])).await), Some(-32601));
    assert_eq!(
        code(&node.raw("eth_getBalance", json!(["0x12"])).await),
        Some(-32602)
    );
    assert_eq!(
        code(&node.raw("eth_getBalance", json!({"a": 1})).await),
        Some(-32602)
    );
    assert_eq!(
        code(
            &node
                .raw("eth_sendRawTransaction", json!(["0xdeadbeef"]))
                .await
        ),
        Some(-32602)
    );
    // the node is still fine
    assert_eq!(node.rpc("eth_chainId", json!([])).await, json!("0x2a"));
}

#[tokio::test]
async fn batches_answer_each_request_with_its_id() {
    let node = Node::start().await;
    let answer = node
        .post(r#"[{"jsonrpc":"2.0","id":7,"method":"eth_chainId"},{"jsonrpc":"2.0","id":"x","method":"nope"},{"jsonrpc":"2.0","id":9,"method":"eth_blockNumber","params":[]}]"#)
        .await;
    let items = answer.as_array().expect("batch answer");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["id"], json!(7));
    assert_eq!(items[0]["result"], json!("0x2a"));
    assert_eq!(items[1]["id"], json!("x"));
    assert_eq!(items[1]["error"]["code"], json!(-32601));
    assert_eq!(items[2]["result"], json!("0x0"));
}

#[tokio::test]
async fn storage_code_and_nonce_queries() {
    let node = Node::start().await;
    let provider = node.provider(0);
    let who = address!("00000000000000000000000000000000000000aa");
    node.rpc("anvil_setCode", json!([who, "0x6001"])).await;
    node.rpc(
        "anvil_setStorageAt",
        json!([who, "0x1", format!("0x{:064x}", 5)]),
    )
    .await;
    node.rpc("anvil_setNonce", json!([who, "0x7"])).await;
    node.rpc("anvil_setBalance", json!([who, "0x64"])).await;
    assert_eq!(
        provider.get_code_at(who).await.unwrap().to_vec(),
        vec![0x60, 0x01]
    );
    assert_eq!(
        provider.get_storage_at(who, U256::from(1)).await.unwrap(),
        U256::from(5)
    );
    assert_eq!(provider.get_transaction_count(who).await.unwrap(), 7);
    assert_eq!(provider.get_balance(who).await.unwrap(), U256::from(100));
}

/// The HTTP status of one POST with these headers.
async fn status(
    url: &str,
    body: &str,
    content_type: &str,
    host: Option<&str>,
    origin: Option<&str>,
) -> u16 {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(host) = host {
        request = request.header("host", host);
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request
        .send()
        .await
        .expect("the server answers")
        .status()
        .as_u16()
}

/// A web page in the operator's browser must not drive the unlocked dev accounts: its
/// simple `text/plain` post, a rebound host name and an unlisted origin are all refused
/// before any JSON-RPC runs, while local clients (no Origin, IP or localhost Host) pass.
#[tokio::test]
async fn browser_pages_cannot_call_the_chain() {
    let node = Node::start().await;
    let url = &node.handle.rpc_url();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#;
    assert_eq!(status(url, body, "text/plain", None, None).await, 415);
    assert_eq!(
        status(
            url,
            body,
            "application/json",
            Some("evil.example:8545"),
            None
        )
        .await,
        403
    );
    assert_eq!(
        status(
            url,
            body,
            "application/json",
            None,
            Some("https://evil.example")
        )
        .await,
        403
    );
    assert_eq!(status(url, body, "application/json", None, None).await, 200);
    assert_eq!(
        status(
            url,
            body,
            "application/json; charset=utf-8",
            Some("localhost:8545"),
            None
        )
        .await,
        200
    );
}

/// `--allow-origin` lets a listed origin call and read the answer (CORS), and only it.
#[tokio::test]
async fn a_listed_origin_gets_cors_headers() {
    let mut config = taonado_devnet::DevnetConfig::test();
    config.access.allowed_origins = vec!["http://localhost:3000".into()];
    let node = Node::start_with(config).await;
    let client = reqwest::Client::new();
    let response = client
        .post(node.handle.rpc_url())
        .header("content-type", "application/json")
        .header("origin", "http://localhost:3000")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("http://localhost:3000")
    );
    let preflight = client
        .request(reqwest::Method::OPTIONS, node.handle.rpc_url())
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("answer");
    assert_eq!(preflight.status().as_u16(), 204);
}
