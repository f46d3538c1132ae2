//! debug_traceTransaction / debug_traceCall (struct logger and callTracer, from
//! revm-inspectors) and eth_createAccessList, against the state of their block.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
};
use serde_json::{Value, json};

use crate::{Node, deploy_code, logger_runtime};

async fn deploy_logger(node: &Node) -> Address {
    node.provider(0)
        .send_transaction(
            TransactionRequest::default().with_deploy_code(deploy_code(&logger_runtime())),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .contract_address
        .unwrap()
}

fn word(n: u64) -> String {
    format!(
        "0x{}",
        alloy::primitives::hex::encode(U256::from(n).to_be_bytes::<32>())
    )
}

#[tokio::test]
async fn transactions_are_traced_with_the_struct_logger_and_the_call_tracer() {
    let node = Node::start().await;
    let logger = deploy_logger(&node).await;
    // Two transactions in one block: the second is traced after the first is replayed.
    node.rpc("evm_setAutomine", json!([false])).await;
    let from = node.handle.dev_accounts()[0].address;
    let mut hashes = Vec::new();
    for n in [5u64, 6] {
        hashes.push(
            node.rpc(
                "eth_sendTransaction",
                json!([{"from": from, "to": logger, "data": word(n), "gas": "0x30000"}]),
            )
            .await,
        );
    }
    node.rpc("evm_mine", json!([])).await;

    let structs = node.rpc("debug_traceTransaction", json!([hashes[1]])).await;
    assert_eq!(structs["failed"], json!(false), "{structs}");
    assert_eq!(
        structs["returnValue"]
            .as_str()
            .map(|s| s.trim_start_matches("0x")),
        Some(&word(6)[2..])
    );
    let logs = structs["structLogs"].as_array().expect("struct logs");
    let sstore = logs
        .iter()
        .find(|l| l["op"] == "SSTORE")
        .expect("an SSTORE step");
    assert_eq!(sstore["depth"], json!(1));
    assert!(logs.iter().any(|l| l["op"] == "LOG2"));
    // The first transaction was replayed: before the second, slot 0 held its 5.
    let prestate = node
        .rpc(
            "debug_traceTransaction",
            json!([hashes[1], {"tracer": "prestateTracer"}]),
        )
        .await;
    let slot0 = format!("0x{}", "0".repeat(64));
    assert_eq!(
        prestate[format!("{logger:#x}")]["storage"][&slot0],
        json!(word(5)),
        "{prestate}"
    );

    let calls = node
        .rpc(
            "debug_traceTransaction",
            json!([hashes[1], {"tracer": "callTracer"}]),
        )
        .await;
    assert_eq!(calls["type"], json!("CALL"), "{calls}");
    assert_eq!(
        calls["to"].as_str().map(str::to_lowercase),
        Some(format!("{logger:#x}"))
    );
    assert_eq!(calls["output"], json!(word(6)));

    // A call at the latest block, traced the same way.
    let call = node
        .rpc(
            "debug_traceCall",
            json!([{"from": from, "to": logger, "data": word(9)}, "latest", {"tracer": "callTracer"}]),
        )
        .await;
    assert_eq!(call["output"], json!(word(9)));
    let unknown = node
        .rpc_err(
            "debug_traceTransaction",
            json!([format!("0x{}", "11".repeat(32))]),
        )
        .await;
    assert!(unknown.1.contains("not found"), "{unknown:?}");
}

/// A contract that reads another contract's code size: the other one is in the access
/// list (the caller and the callee never are, as in geth).
#[tokio::test]
async fn an_access_list_names_what_a_call_touches() {
    let node = Node::start().await;
    let logger = deploy_logger(&node).await;
    let reader = "0x000000000000000000000000000000000000a11c";
    let mut code = vec![0x73];
    code.extend_from_slice(logger.as_slice());
    code.extend_from_slice(&[0x3b, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3]);
    node.rpc(
        "anvil_setCode",
        json!([reader, alloy::primitives::hex::encode_prefixed(code)]),
    )
    .await;
    let from = node.handle.dev_accounts()[0].address;
    let result: Value = node
        .rpc(
            "eth_createAccessList",
            json!([{"from": from, "to": reader}, "latest"]),
        )
        .await;
    let list = result["accessList"].as_array().expect("an access list");
    assert_eq!(list.len(), 1, "{result}");
    assert_eq!(
        list[0]["address"].as_str().map(str::to_lowercase),
        Some(format!("{logger:#x}"))
    );
    assert!(
        result["gasUsed"]
            .as_str()
            .is_some_and(|g| g.starts_with("0x"))
    );
    let _ = node.provider(0).get_block_number().await.unwrap();
}
