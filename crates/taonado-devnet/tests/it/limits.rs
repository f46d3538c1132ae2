//! Bounds on what one client can make the chain do: calls run on a bounded pool under a
//! gas cap and a deadline, batches and queues are limited, and connections that send
//! nothing are closed. None of these tests measures time; they check what is answered.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use serde_json::{Value, json};
use taonado_devnet::{DevnetConfig, RpcLimits};

use crate::Node;

/// JUMPDEST PUSH1 0 JUMP: loops until the gas runs out.
const INFINITE_LOOP: &str = "0x5b600056";
/// GAS PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN: returns the gas left.
const GAS_LEFT: &str = "0x5a60005260206000f3";
const LOOP_AT: &str = "0x00000000000000000000000000000000000100a1";
const GAS_AT: &str = "0x00000000000000000000000000000000000100a2";

fn config(limits: RpcLimits) -> DevnetConfig {
    DevnetConfig {
        limits,
        ..DevnetConfig::test()
    }
}

async fn with_contracts(node: &Node) {
    node.rpc("anvil_setCode", json!([LOOP_AT, INFINITE_LOOP]))
        .await;
    node.rpc("anvil_setCode", json!([GAS_AT, GAS_LEFT])).await;
}

fn loop_batch(size: usize) -> String {
    let calls: Vec<Value> = (0..size)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [{"to": LOOP_AT}, "latest"]}))
        .collect();
    Value::Array(calls).to_string()
}

/// The flood: two batches of 150 infinite loops. `eth_chainId` is answered while
/// they run (before the fix it waited for the whole flood: 11.6 s). What is checked is the
/// order (every answer came before the flood ended), not a duration; the latencies are
/// printed for the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_infinite_loops_leaves_chain_id_answering() {
    let node = Node::start_with(config(RpcLimits {
        call_gas_cap: Some(300_000),
        call_timeout: Duration::from_secs(600),
        ..RpcLimits::default()
    }))
    .await;
    with_contracts(&node).await;
    let url = node.handle.rpc_url();
    let started = std::time::Instant::now();
    let floods: Vec<_> = (0..2)
        .map(|_| {
            let (http, url) = (node.http.clone(), url.clone());
            tokio::spawn(async move {
                http.post(url)
                    .header("content-type", "application/json")
                    .body(loop_batch(150))
                    .send()
                    .await
                    .expect("flood sent")
                    .json::<Value>()
                    .await
                    .expect("flood answered")
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let asked = std::time::Instant::now();
        assert_eq!(node.rpc("eth_chainId", json!([])).await, json!("0x2a"));
        slowest = slowest.max(asked.elapsed());
        assert!(
            floods.iter().all(|f| !f.is_finished()),
            "eth_chainId waited for the flood"
        );
    }
    for flood in floods {
        let answers = flood.await.unwrap();
        let answers = answers.as_array().expect("a batch answer");
        assert_eq!(answers.len(), 150);
        assert!(
            answers
                .iter()
                .all(|a| a["error"]["message"].as_str().is_some())
        );
    }
    eprintln!(
        "flood of 2 x 150 infinite loops (300k gas each) took {:?}; slowest of 20 eth_chainId {:?}",
        started.elapsed(),
        slowest
    );
}

#[tokio::test]
async fn calls_are_capped_in_gas_and_time_and_batches_in_size() {
    let node = Node::start_with(config(RpcLimits {
        call_gas_cap: Some(1_000_000),
        max_batch: 3,
        ..RpcLimits::default()
    }))
    .await;
    with_contracts(&node).await;

    // More gas than the cap is asked for: the call gets the cap.
    let left = node
        .rpc(
            "eth_call",
            json!([{"to": GAS_AT, "gas": "0x3b9aca00"}, "latest"]),
        )
        .await;
    let left = u64::from_str_radix(left.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!(left < 1_000_000, "{left}");
    // An endless loop ends at the cap, for eth_call and eth_estimateGas alike.
    let (_, message) = node
        .rpc_err("eth_call", json!([{"to": LOOP_AT}, "latest"]))
        .await;
    assert!(message.contains("OutOfGas"), "{message}");
    let (_, message) = node
        .rpc_err("eth_estimateGas", json!([{"to": LOOP_AT}]))
        .await;
    assert!(!message.is_empty());

    let batch = loop_batch(4);
    let answer = node.post(&batch).await;
    assert_eq!(answer["error"]["code"], -32005, "{answer}");
}

#[tokio::test]
async fn a_call_past_its_deadline_gets_an_error() {
    let node = Node::start_with(config(RpcLimits {
        call_timeout: Duration::ZERO,
        ..RpcLimits::default()
    }))
    .await;
    with_contracts(&node).await;
    let (code, message) = node
        .rpc_err("eth_call", json!([{"to": LOOP_AT}, "latest"]))
        .await;
    assert_eq!(code, -32000);
    assert!(message.contains("--call-timeout"), "{message}");
    // The chain itself is fine.
    assert_eq!(node.rpc("eth_chainId", json!([])).await, json!("0x2a"));
}

/// Connections that never send a request are closed, so idle ones cannot pile up until
/// the chain stops accepting (20,000 did before the fix); a slow body gets 408.
// Two workers: the test's blocking reads must not stall the server it talks to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_slow_bodies_refused() {
    let node = Node::start_with(config(RpcLimits {
        header_read_timeout: Duration::from_millis(200),
        body_read_timeout: Duration::from_millis(200),
        max_connections: 4,
        ..RpcLimits::default()
    }))
    .await;
    let addr = node.handle.local_addr();
    let idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // Every connection slot is held by an idle client; a real request still gets through
    // once they are closed.
    assert_eq!(node.rpc("eth_chainId", json!([])).await, json!("0x2a"));
    for mut stream in idle {
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            stream.read(&mut buf).unwrap_or(0),
            0,
            "the server closed it"
        );
    }

    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"jsonrpc\""
        )
        .as_bytes(),
    )
    .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut answer = [0u8; 12];
    slow.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 408");
}

#[tokio::test]
async fn a_block_time_under_a_millisecond_is_refused() {
    let error = taonado_devnet::spawn(DevnetConfig {
        block_time: Some(Duration::from_micros(1)),
        ..DevnetConfig::test()
    })
    .await
    .unwrap_err();
    assert!(error.to_string().contains("1 ms"), "{error}");
}
