//! Fork mode: a devnet whose state falls through to another devnet, lazily and cached, with
//! impersonation, and without ever writing to the remote.

use alloy::primitives::{Address, address};
use serde_json::json;
use taonado_devnet::DevnetConfig;

use crate::Node;

const CONTRACT: Address = address!("0x00000000000000000000000000000000c0ffee01");
const HOLDER: Address = address!("0x00000000000000000000000000000000c0ffee02");

// Multi-threaded: the fork's lookups block the thread that executes, and here the remote is
// served by the same process, so it needs another thread to answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_reads_the_remote_lazily_and_writes_only_locally() {
    let remote = Node::start().await;
    remote
        .rpc("anvil_setCode", json!([CONTRACT, "0x6001600055"]))
        .await;
    remote
        .rpc(
            "anvil_setStorageAt",
            json!([CONTRACT, "0x5", format!("0x{:064x}", 42)]),
        )
        .await;
    remote
        .rpc("anvil_setBalance", json!([HOLDER, "0xde0b6b3a7640000"]))
        .await;
    let remote_block = remote.rpc("eth_blockNumber", json!([])).await;

    let fork = Node::start_with(DevnetConfig {
        fork_url: Some(remote.handle.rpc_url()),
        chain_id: 1,
        ..DevnetConfig::test()
    })
    .await;
    assert_eq!(
        fork.handle.chain_id(),
        remote.handle.chain_id(),
        "the fork takes the remote's chain id"
    );
    // Only the dev accounts are read at genesis (to keep their remote nonces); no storage.
    let before = fork.handle.fork_stats().expect("forked");
    assert_eq!(
        (before.accounts, before.storage_slots),
        (fork.handle.dev_accounts().len() as u64, 0)
    );

    for _ in 0..2 {
        assert_eq!(
            fork.rpc("eth_getCode", json!([CONTRACT, "latest"])).await,
            "0x6001600055"
        );
        assert_eq!(
            fork.rpc("eth_getStorageAt", json!([CONTRACT, "0x5", "latest"]))
                .await,
            format!("0x{:064x}", 42)
        );
        assert_eq!(
            fork.rpc("eth_getBalance", json!([HOLDER, "latest"])).await,
            "0xde0b6b3a7640000"
        );
    }
    let stats = fork.handle.fork_stats().expect("forked");
    assert_eq!(
        (stats.accounts - before.accounts, stats.storage_slots),
        (2, 1),
        "each item fetched once, then cached"
    );

    // Impersonate the holder on the fork and spend from it.
    fork.rpc("anvil_impersonateAccount", json!([HOLDER])).await;
    let to = Address::repeat_byte(0x77);
    let tx = fork
        .rpc(
            "eth_sendTransaction",
            json!([{"from": HOLDER, "to": to, "value": "0x1000", "gas": "0x5208"}]),
        )
        .await;
    assert!(tx.is_string(), "{tx}");
    assert_eq!(
        fork.rpc("eth_getBalance", json!([to, "latest"])).await,
        "0x1000"
    );
    fork.rpc(
        "anvil_setStorageAt",
        json!([CONTRACT, "0x5", format!("0x{:064x}", 7)]),
    )
    .await;

    // The remote saw none of it.
    assert_eq!(remote.rpc("eth_blockNumber", json!([])).await, remote_block);
    assert_eq!(
        remote
            .rpc("eth_getStorageAt", json!([CONTRACT, "0x5", "latest"]))
            .await,
        format!("0x{:064x}", 42)
    );
    assert_eq!(
        remote.rpc("eth_getBalance", json!([to, "latest"])).await,
        "0x0"
    );
    assert_eq!(
        remote
            .rpc("eth_getBalance", json!([HOLDER, "latest"]))
            .await,
        "0xde0b6b3a7640000"
    );
}

#[tokio::test]
async fn an_unreachable_fork_url_is_a_clear_error() {
    let error = taonado_devnet::spawn(DevnetConfig {
        fork_url: Some("http://127.0.0.1:9".into()),
        ..DevnetConfig::test()
    })
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        error.contains("fork") && error.contains("127.0.0.1:9"),
        "{error}"
    );
}

#[tokio::test]
async fn a_fork_cannot_keep_a_state_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = taonado_devnet::spawn(DevnetConfig {
        fork_url: Some("http://127.0.0.1:9".into()),
        state_dir: Some(dir.path().to_path_buf()),
        ..DevnetConfig::test()
    })
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(error.contains("--state-dir"), "{error}");
}
