//! `taonado devnet` as seen by Foundry's cast.

use crate::support::{DEV0, DEV0_KEY, Devnet, Sandbox, cast, run};

#[test]
fn devnet_serves_cast_and_stops_cleanly() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.clone();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(devnet.ready["data"]["chain_id"], 42);
    let accounts = devnet.ready["data"]["accounts"]
        .as_array()
        .expect("accounts");
    assert_eq!(accounts.len(), 10);
    assert_eq!(
        accounts[0]["address"].as_str().map(str::to_lowercase),
        Some(DEV0.to_lowercase())
    );
    assert_eq!(accounts[0]["private_key"], DEV0_KEY);

    assert_eq!(cast(&url, &["chain-id"]), "42");
    let start: u64 = cast(&url, &["block-number"])
        .parse()
        .expect("a block number");
    assert_eq!(cast(&url, &["balance", DEV0]), "10000000000000000000000");

    let recipient = "0x000000000000000000000000000000000000bEEF";
    assert_eq!(cast(&url, &["balance", recipient]), "0");
    cast(
        &url,
        &[
            "send",
            "--private-key",
            DEV0_KEY,
            recipient,
            "--value",
            "1ether",
        ],
    );
    assert_eq!(cast(&url, &["balance", recipient]), "1000000000000000000");
    let after: u64 = cast(&url, &["block-number"])
        .parse()
        .expect("a block number");
    assert!(
        after > start,
        "instant mining sealed a block: {start} -> {after}"
    );

    assert_eq!(devnet.stop(), 0, "SIGTERM is a clean stop");
}

#[test]
fn devnet_flags_reach_the_chain() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &["--chain-id", "945", "--accounts", "2"]);
    assert_eq!(cast(&devnet.url, &["chain-id"]), "945");
    assert_eq!(
        devnet.ready["data"]["accounts"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn devnet_keeps_state_across_restarts() {
    let sandbox = Sandbox::new();
    let state = sandbox.path().join("state");
    let state_arg = state.to_str().expect("utf-8 temp path");
    let recipient = "0x000000000000000000000000000000000000cafE";
    let devnet = Devnet::start(&sandbox, &["--state-dir", state_arg]);
    cast(
        &devnet.url,
        &[
            "send",
            "--private-key",
            DEV0_KEY,
            recipient,
            "--value",
            "2ether",
        ],
    );
    assert_eq!(devnet.stop(), 0);

    let devnet = Devnet::start(&sandbox, &["--state-dir", state_arg]);
    assert_eq!(
        cast(&devnet.url, &["balance", recipient]),
        "2000000000000000000"
    );
}

#[test]
fn devnet_rejects_a_bad_subnet_config() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("subnet.toml");
    std::fs::write(&file, "tempo = \"soon\"\n").expect("write subnet config");
    let (code, _, stderr) = crate::support::run(
        sandbox
            .taonado()
            .args(["devnet", "--port", "0", "--subnet-config"])
            .arg(&file),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("subnet.toml"), "{stderr}");
}

/// cast reads state at an earlier block, as against anvil.
#[test]
fn cast_reads_the_state_of_an_earlier_block() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let recipient = "0x000000000000000000000000000000000000dEaD";
    for value in ["1ether", "2ether"] {
        cast(
            &devnet.url,
            &[
                "send",
                "--private-key",
                DEV0_KEY,
                recipient,
                "--value",
                value,
            ],
        );
    }
    assert_eq!(
        cast(&devnet.url, &["balance", "--block", "1", recipient]),
        "1000000000000000000"
    );
    assert_eq!(
        cast(&devnet.url, &["balance", "--block", "0", recipient]),
        "0"
    );
    assert_eq!(
        cast(&devnet.url, &["balance", recipient]),
        "3000000000000000000"
    );
    assert_eq!(cast(&devnet.url, &["nonce", "--block", "1", DEV0]), "1");
}

/// cast over WebSocket (same port), and cast run on a transaction: the rows of the issue's
/// table that failed before (405 on ws://, no state of block 0).
#[test]
fn cast_works_over_websocket_and_replays_a_transaction() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let ws = devnet.url.replace("http://", "ws://");
    let sent = cast(
        &devnet.url,
        &[
            "send",
            "--private-key",
            DEV0_KEY,
            "0x000000000000000000000000000000000000bEEF",
            "--value",
            "1ether",
            "--json",
        ],
    );
    let hash = serde_json::from_str::<serde_json::Value>(&sent).expect("cast send --json")
        ["transactionHash"]
        .as_str()
        .expect("a hash")
        .to_owned();
    assert_eq!(cast(&ws, &["block-number"]), "1");
    let replay = cast(&devnet.url, &["run", &hash]);
    assert!(
        replay.contains("Transaction successfully executed"),
        "{replay}"
    );
}

#[test]
fn a_port_in_use_is_named_once_with_its_cause_once() {
    let sandbox = Sandbox::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = taken
        .local_addr()
        .expect("local address")
        .port()
        .to_string();
    let (code, _, stderr) = run(sandbox.taonado().args(["devnet", "--port", &port]));
    assert_eq!(code, 1, "{stderr}");
    let error: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert_eq!(
        error[0].matches("Address already in use").count(),
        1,
        "{stderr}"
    );
}
