//! `taonado index`: SIGKILLed at several points of a catch-up (chosen by the checkpoint it
//! reports, never by time), restarted each time, and finally compared with the chain: the
//! events table must equal `eth_getLogs` of the protocol addresses exactly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use alloy::primitives::{Address, B256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use serde_json::Value;
use taonado_store::{EventFilter, Store};

use crate::support::{DEV0_KEY, DEV1, Devnet, Sandbox, cast, envelope, fixture, run};

pub(crate) type LogKey = (u64, u64, B256, Address, Vec<B256>, Vec<u8>);

pub(crate) fn protocol_addresses(record: &Path) -> Vec<Address> {
    let text = std::fs::read_to_string(record).expect("deployment record");
    let record: Value = serde_json::from_str(&text).expect("record is JSON");
    let parse = |v: &Value| {
        v["address"]
            .as_str()
            .expect("address")
            .parse::<Address>()
            .expect("an address")
    };
    let mut out: Vec<Address> = record["contracts"]
        .as_object()
        .expect("contracts")
        .iter()
        // The implementation behind the proxy, the hasher and the verifier are not indexed.
        .filter(|(name, _)| {
            ["WTAO", "DepositTracker", "WeightsV3", "EvmValidator"].contains(&name.as_str())
        })
        .map(|(_, c)| parse(c))
        .collect();
    out.extend(record["pools"].as_array().expect("pools").iter().map(parse));
    out
}

pub(crate) fn chain_logs(url: &str, addresses: Vec<Address>, to: u64) -> Vec<LogKey> {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let provider = ProviderBuilder::new().connect_http(url.parse().expect("url"));
        let filter = Filter::new().address(addresses).from_block(0).to_block(to);
        provider
            .get_logs(&filter)
            .await
            .expect("eth_getLogs")
            .into_iter()
            .map(|l| {
                (
                    l.block_number.expect("mined"),
                    l.log_index.expect("mined"),
                    l.transaction_hash.expect("mined"),
                    l.address(),
                    l.topics().to_vec(),
                    l.data().data.to_vec(),
                )
            })
            .collect()
    })
}

pub(crate) fn stored(db: &Path) -> (Option<u64>, Vec<LogKey>) {
    let store = Store::open(db).expect("open the index");
    let checkpoint = store.checkpoint().expect("checkpoint").map(|c| c.number);
    let events = store
        .events(&EventFilter::default())
        .expect("events")
        .into_iter()
        .map(|e| {
            (
                e.block_number,
                e.log_index,
                e.tx_hash,
                e.address,
                e.topics,
                e.data,
            )
        })
        .collect();
    (checkpoint, events)
}

/// `indexed checkpoint=Some(12) head=…` → 12.
fn reported_checkpoint(line: &str) -> Option<u64> {
    let rest = line.split("checkpoint=Some(").nth(1)?;
    rest.split(')').next()?.parse().ok()
}

fn index_args<'a>(url: &'a str, db: &'a str) -> [&'a str; 13] {
    [
        "index",
        "--rpc-url",
        url,
        "--db",
        db,
        "--once",
        "--batch-blocks",
        "3",
        "--concurrency",
        "2",
        "--snapshot-every",
        "0",
        "--reorg-depth=16",
    ]
}

#[test]
fn sigkill_during_catch_up_then_restart_leaves_no_gap_and_no_duplicate() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let vk = fixture("placeholder.vk.json");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args([
            "--json",
            "deploy",
            "--rpc-url",
            &devnet.url,
            "--verifying-key",
        ])
        .arg(&vk));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let record = sandbox.path().join("deployments/local.json");
    let addresses = protocol_addresses(&record);
    let wtao = envelope(&stdout)["data"]["contracts"]
        .as_array()
        .expect("contracts")
        .iter()
        .find(|c| c["name"] == "WTAO")
        .and_then(|c| c["address"].as_str())
        .expect("WTAO")
        .to_owned();

    // Protocol events spread over a few hundred blocks.
    for round in 0..3 {
        cast(
            &devnet.url,
            &[
                "send",
                "--private-key",
                DEV0_KEY,
                &wtao,
                "deposit()",
                "--value",
                "2ether",
            ],
        );
        cast(
            &devnet.url,
            &[
                "send",
                "--private-key",
                DEV0_KEY,
                &wtao,
                "transfer(address,uint256)",
                DEV1,
                "1ether",
            ],
        );
        if round < 2 {
            cast(&devnet.url, &["rpc", "anvil_mine", "0x64"]);
        }
    }
    let head: u64 = cast(&devnet.url, &["block-number"])
        .parse()
        .expect("block number");
    let db = sandbox.path().join("index.sqlite");
    let db_arg = db.to_str().expect("utf-8 path").to_owned();

    let mut killed_mid_catch_up = 0;
    for point in [head / 5, head / 2, head * 4 / 5] {
        let mut child = sandbox
            .taonado()
            .args(index_args(&devnet.url, &db_arg))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn taonado index");
        let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut reached = false;
        for line in stderr.lines() {
            let line = line.expect("read stderr");
            if reported_checkpoint(&line).is_some_and(|c| c >= point) {
                reached = true;
                break;
            }
        }
        // Kill the moment the checkpoint passed the point: SIGKILL, no cleanup at all.
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        assert!(reached, "the indexer exited before block {point}");

        // Whatever the kill interrupted, the database holds exactly the chain's events up
        // to its checkpoint: every batch is all or nothing.
        let (checkpoint, events) = stored(&db);
        let checkpoint = checkpoint.expect("a checkpoint after the first batches");
        assert!(
            checkpoint >= point,
            "checkpoint {checkpoint} < kill point {point}"
        );
        eprintln!("killed at checkpoint {checkpoint} (kill point {point}, head {head})");
        if checkpoint < head {
            killed_mid_catch_up += 1;
        }
        assert_eq!(
            events,
            chain_logs(&devnet.url, addresses.clone(), checkpoint),
            "after the kill at {point}"
        );
    }
    assert!(
        killed_mid_catch_up > 0,
        "no kill landed before the end of the catch-up"
    );

    // The last run completes and reports the head.
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .arg("--json")
        .args(index_args(&devnet.url, &db_arg)));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = &envelope(&stdout)["data"];
    assert_eq!(data["checkpoint"], head, "{data}");
    let (checkpoint, events) = stored(&db);
    assert_eq!(checkpoint, Some(head));
    let expected = chain_logs(&devnet.url, addresses, head);
    assert!(
        expected.len() >= 6,
        "the chain has the deposits and transfers: {}",
        expected.len()
    );
    assert_eq!(events, expected);
}

#[test]
fn index_refuses_a_network_without_addresses_and_a_newer_database() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let db = sandbox.path().join("index.sqlite");
    let db_arg = db.to_str().expect("utf-8 path");
    // Nothing deployed: nothing to index.
    let (code, stdout, _) = run(sandbox
        .taonado()
        .arg("--json")
        .args(index_args(&devnet.url, db_arg)));
    assert_eq!(code, 2, "{stdout}");
    assert!(
        envelope(&stdout)["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no protocol addresses"))
    );

    // A database written by a newer taonado is refused before anything is touched.
    let vk = fixture("placeholder.vk.json");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args([
            "--json",
            "deploy",
            "--rpc-url",
            &devnet.url,
            "--verifying-key",
        ])
        .arg(&vk));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let mut newer = taonado_store::MIGRATIONS.to_vec();
    newer.push(taonado_store::Migration {
        version: 9_999,
        name: "future",
        sql: "CREATE TABLE future (x INTEGER);",
    });
    drop(Store::open_with(&db, &newer).expect("a newer database"));
    let (code, stdout, _) = run(sandbox
        .taonado()
        .arg("--json")
        .args(index_args(&devnet.url, db_arg)));
    assert_eq!(code, 2, "{stdout}");
    assert!(
        envelope(&stdout)["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("schema version 9999"))
    );
}

#[test]
fn follow_mode_indexes_new_blocks_and_stops_cleanly_on_sigterm() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let vk = fixture("placeholder.vk.json");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args([
            "--json",
            "deploy",
            "--rpc-url",
            &devnet.url,
            "--verifying-key",
        ])
        .arg(&vk));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let wtao = envelope(&stdout)["data"]["contracts"]
        .as_array()
        .expect("contracts")
        .iter()
        .find(|c| c["name"] == "WTAO")
        .and_then(|c| c["address"].as_str())
        .expect("WTAO")
        .to_owned();
    let db = sandbox.path().join("index.sqlite");
    let mut child = sandbox
        .taonado()
        .args([
            "--json",
            "index",
            "--rpc-url",
            &devnet.url,
            "--db",
            db.to_str().expect("utf-8"),
            "--poll-interval",
            "0.05",
            "--snapshot-every",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn taonado index");
    let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    let mut wait_for = |block: u64| {
        for line in lines.by_ref() {
            let line = line.expect("read stderr");
            if reported_checkpoint(&line).is_some_and(|c| c >= block) {
                return;
            }
        }
        panic!("the indexer stopped before block {block}");
    };
    let head: u64 = cast(&devnet.url, &["block-number"])
        .parse()
        .expect("block number");
    wait_for(head);
    // A new protocol transaction after the catch-up is picked up by the follower.
    cast(
        &devnet.url,
        &[
            "send",
            "--private-key",
            DEV0_KEY,
            &wtao,
            "deposit()",
            "--value",
            "1ether",
        ],
    );
    wait_for(head + 1);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let output = child.wait_with_output().expect("wait for the indexer");
    assert_eq!(output.status.code(), Some(0), "a clean stop exits 0");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let data = &envelope(&stdout)["data"];
    assert!(
        data["checkpoint"].as_u64().is_some_and(|c| c > head),
        "{data}"
    );
    let store = Store::open(&db).expect("open the index");
    let deposits = store
        .events(&EventFilter {
            contract: Some(taonado_store::ContractKind::Wtao),
            name: Some("Deposit".into()),
            ..EventFilter::default()
        })
        .expect("events");
    assert_eq!(deposits.len(), 1, "{deposits:?}");
    assert_eq!(deposits[0].decoded["wad"], "1000000000000000000");
}
