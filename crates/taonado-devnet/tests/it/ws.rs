//! JSON-RPC over WebSocket on the same port: plain requests, newHeads, filtered logs,
//! pending transactions, and the removed logs of a reorg.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{connect_async, tungstenite::Message};

use crate::{LOG_TOPIC, Node, deploy_code, logger_runtime};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(socket: &mut Socket, request: Value) {
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .unwrap();
}

/// The next text frame, parsed.
async fn next(socket: &mut Socket) -> Value {
    loop {
        match socket.next().await.expect("socket open").unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            _ => continue,
        }
    }
}

async fn call(socket: &mut Socket, id: u64, method: &str, params: Value) -> Value {
    send(
        socket,
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .await;
    let answer = next(socket).await;
    assert_eq!(answer["id"], json!(id), "{answer}");
    answer["result"].clone()
}

#[tokio::test]
async fn subscribers_hear_heads_logs_pending_transactions_and_reorgs() {
    let node = Node::start().await;
    let url = node.handle.rpc_url().replace("http://", "ws://");
    let (mut socket, _) = connect_async(url).await.unwrap();
    assert_eq!(
        call(&mut socket, 1, "eth_chainId", json!([])).await,
        json!("0x2a")
    );

    let logger = node
        .rpc(
            "eth_sendTransaction",
            json!([{
                "from": node.handle.dev_accounts()[0].address,
                "data": alloy::primitives::hex::encode_prefixed(deploy_code(&logger_runtime())),
                "gas": "0x100000",
            }]),
        )
        .await;
    let receipt = node.rpc("eth_getTransactionReceipt", json!([logger])).await;
    let logger = receipt["contractAddress"].clone();

    let heads = call(&mut socket, 2, "eth_subscribe", json!(["newHeads"])).await;
    let topic = alloy::primitives::hex::encode_prefixed(LOG_TOPIC);
    let logs = call(
        &mut socket,
        3,
        "eth_subscribe",
        json!(["logs", {"address": logger, "topics": [topic]}]),
    )
    .await;
    let word = format!("0x{}", "0".repeat(62) + "2a");
    node.rpc(
        "eth_sendTransaction",
        json!([{"from": node.handle.dev_accounts()[0].address, "to": logger, "data": word, "gas": "0x30000"}]),
    )
    .await;

    // A new head and the Deposit-like log, in either order.
    let mut seen_head = None;
    let mut seen_log = None;
    while seen_head.is_none() || seen_log.is_none() {
        let note = next(&mut socket).await;
        assert_eq!(note["method"], "eth_subscription", "{note}");
        let params = &note["params"];
        if params["subscription"] == heads {
            seen_head = Some(params["result"].clone());
        } else if params["subscription"] == logs {
            seen_log = Some(params["result"].clone());
        }
    }
    let head = seen_head.unwrap();
    assert_eq!(head["number"], json!("0x2"), "{head}");
    let log = seen_log.unwrap();
    assert_eq!(log["data"], json!(word));
    assert_eq!(log["removed"], json!(false));

    // A reorg sends the dropped block's log again, removed.
    node.rpc("taonado_reorg", json!([1])).await;
    let note = next(&mut socket).await;
    assert_eq!(note["params"]["subscription"], logs, "{note}");
    assert_eq!(note["params"]["result"]["removed"], json!(true));
    assert_eq!(
        note["params"]["result"]["transactionHash"],
        log["transactionHash"]
    );

    // Pending transactions (interval mining: pooled first); unsubscribing stops the rest.
    assert_eq!(
        call(&mut socket, 4, "eth_unsubscribe", json!([heads])).await,
        json!(true)
    );
    assert_eq!(
        call(&mut socket, 5, "eth_unsubscribe", json!([logs])).await,
        json!(true)
    );
    node.rpc("evm_setAutomine", json!([false])).await;
    let pending = call(
        &mut socket,
        6,
        "eth_subscribe",
        json!(["newPendingTransactions"]),
    )
    .await;
    let hash = node.rpc(
        "eth_sendTransaction",
        json!([{"from": node.handle.dev_accounts()[1].address, "to": logger, "data": word, "gas": "0x30000"}]),
    )
    .await;
    let note = next(&mut socket).await;
    assert_eq!(note["params"]["subscription"], pending);
    assert_eq!(note["params"]["result"], hash);

    // Batches work over the socket too.
    send(
        &mut socket,
        json!([
            {"jsonrpc": "2.0", "id": 7, "method": "eth_chainId"},
            {"jsonrpc": "2.0", "id": 8, "method": "net_version"},
        ]),
    )
    .await;
    let batch = next(&mut socket).await;
    assert_eq!(batch.as_array().map(Vec::len), Some(2), "{batch}");
}

/// A subscriber that falls behind is dropped; the chain never waits for it. One
/// `anvil_mine` of 5,000 blocks holds the chain for the whole call, so the 4,096 events a
/// subscriber may lag by overflow.
#[tokio::test]
async fn a_subscriber_that_falls_behind_is_dropped_not_waited_for() {
    let node = Node::start().await;
    let url = node.handle.rpc_url().replace("http://", "ws://");
    let (mut socket, _) = connect_async(url).await.unwrap();
    call(&mut socket, 1, "eth_subscribe", json!(["newHeads"])).await;
    node.rpc("anvil_mine", json!(["0x1388"])).await;
    assert_eq!(
        node.rpc("eth_blockNumber", json!([])).await,
        json!("0x1388")
    );
    let mut heads = 0;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(_))) => heads += 1,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    assert!(
        heads < 5_000,
        "{heads} heads: the subscriber was not dropped"
    );
}
