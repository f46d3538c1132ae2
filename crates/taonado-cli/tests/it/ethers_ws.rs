//! Standard tools work against the dev chain unchanged: ethers v6's `WebSocketProvider`
//! (npm `ethers`, installed by `npm ci`) receives `newHeads` and a filtered `logs`
//! subscription for a pool's Deposit events over `ws://` on the JSON-RPC port.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{Devnet, Sandbox, envelope, fixture, run};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn ethers_websocket_provider_receives_new_heads_and_a_pools_deposit_logs() {
    assert!(
        repo_root()
            .join("node_modules/ethers/package.json")
            .is_file(),
        "ethers is missing: run `npm ci` in the repository root"
    );
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "deploy", "--rpc-url", &devnet.url]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join("deployments/local.json")).expect("record"),
    )
    .expect("JSON");
    let pool_of = |denomination: &str| {
        record["pools"]
            .as_array()
            .expect("pools")
            .iter()
            .find(|p| p["denomination"] == denomination)
            .and_then(|p| p["address"].as_str())
            .expect("pool")
            .to_lowercase()
    };
    let one = pool_of("0xde0b6b3a7640000");
    let tenth = pool_of("0x16345785d8a0000");

    let ws_url = devnet.url.replacen("http://", "ws://", 1);
    let mut node = Command::new("node")
        .arg(fixture("ethers-ws.mjs"))
        .args([&ws_url, &one])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (install Node.js)");
    let mut lines = BufReader::new(node.stdout.take().expect("piped stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(first, "ready", "the script did not subscribe: {first}");

    // A deposit into the 0.1 pool first (the filter must not deliver it), then into the 1
    // WTAO pool.
    let deposit = |pool: &str| {
        let (code, stdout, stderr) = run(sandbox.taonado().args([
            "--json",
            "--rpc-url",
            &devnet.url,
            "mixer",
            "deposit",
            "--pool",
            pool,
            "--wrap",
        ]));
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        envelope(&stdout)["data"].clone()
    };
    deposit("0.1");
    let deposited = deposit("1");

    let events: Vec<Value> = lines
        .map_while(Result::ok)
        .map(|line| serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    let output = node.wait_with_output().expect("node exits");
    assert!(
        output.status.success(),
        "{}\nevents: {events:?}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(events.iter().any(|e| e["kind"] == "block"), "{events:?}");
    let logs: Vec<&Value> = events.iter().filter(|e| e["kind"] == "log").collect();
    assert_eq!(logs.len(), 1, "only the 1 WTAO pool's deposit: {logs:?}");
    let log = logs[0];
    assert_eq!(
        log["address"].as_str().map(str::to_lowercase),
        Some(one.clone())
    );
    assert_ne!(log["address"].as_str().map(str::to_lowercase), Some(tenth));
    assert_eq!(log["commitment"], deposited["commitment"]);
    assert_eq!(log["block"], deposited["block"]);
    assert_eq!(log["removed"], false);
}
