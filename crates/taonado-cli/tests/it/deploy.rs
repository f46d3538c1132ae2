//! `taonado deploy` against a devnet child, checked with cast.

use serde_json::Value;

use crate::support::{
    Anvil, DEV0, DEV0_KEY, DEV1, Devnet, Sandbox, cast, client_fixture, envelope, fixture, run,
};

fn deploy(sandbox: &Sandbox, url: &str, extra: &[&str]) -> (i32, String, String) {
    let vk = fixture("placeholder.vk.json");
    run(sandbox
        .taonado()
        .args(["--json", "deploy", "--rpc-url", url, "--verifying-key"])
        .arg(&vk)
        .args(extra))
}

fn contract(data: &Value, name: &str) -> String {
    data["contracts"]
        .as_array()
        .expect("contracts")
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["address"].as_str())
        .unwrap_or_else(|| panic!("no {name} in {data}"))
        .to_owned()
}

#[test]
fn deploy_then_use_wtao_then_redeploy_is_a_no_op() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);

    let (code, stdout, stderr) = deploy(&sandbox, &devnet.url, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let first = envelope(&stdout)["data"].clone();
    assert_eq!(first["network"], "local");
    assert_eq!(
        first["deployer"].as_str().map(str::to_lowercase),
        Some(DEV0.to_lowercase())
    );
    assert!(first["sent"].as_u64().is_some_and(|n| n > 0), "{first}");
    let record = sandbox.path().join("deployments/local.json");
    assert!(record.is_file(), "record written to {}", record.display());

    // The deployed WTAO works: wrap 1 TAO and read the balance back.
    let wtao = contract(&first, "WTAO");
    assert_eq!(
        cast(
            &devnet.url,
            &["call", &wtao, "balanceOf(address)(uint256)", DEV0]
        ),
        "0"
    );
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
    let balance = cast(
        &devnet.url,
        &["call", &wtao, "balanceOf(address)(uint256)", DEV0],
    );
    assert!(balance.starts_with("1000000000000000000"), "{balance}");
    assert_eq!(
        cast(&devnet.url, &["call", &wtao, "symbol()(string)"]),
        "\"WTAO\""
    );

    // Same record, same chain: nothing new is sent and the addresses are unchanged.
    let (code, stdout, stderr) = deploy(&sandbox, &devnet.url, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let second = envelope(&stdout)["data"].clone();
    assert_eq!(second["sent"], 0, "{second}");
    assert_eq!(second["contracts"], first["contracts"]);
}

#[test]
fn deploy_with_a_keystore_signer() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let keystore = client_fixture("dev1.json");
    let password = client_fixture("dev1.password");
    let (code, stdout, stderr) = deploy(
        &sandbox,
        &devnet.url,
        &[
            "--keystore",
            keystore.to_str().expect("utf-8 path"),
            "--password-file",
            password.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = &envelope(&stdout)["data"];
    assert_eq!(
        data["deployer"].as_str().map(str::to_lowercase),
        Some(DEV1.to_lowercase())
    );
}

#[test]
fn deploy_refuses_a_chain_id_mismatch() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &["--chain-id", "945"]);
    let (code, stdout, _) = deploy(
        &sandbox,
        &devnet.url,
        &["--network", "mainnet", "--private-key", DEV0_KEY],
    );
    assert_eq!(code, 2, "{stdout}");
    let value = envelope(&stdout);
    assert_eq!(
        value["errors"][0]["message"],
        "chain id 945 does not match network mainnet (964); pass --network testnet or fix networks.mainnet.rpc_url"
    );
    assert!(!sandbox.path().join("deployments/mainnet.json").exists());
}

#[test]
fn deploy_to_an_unreachable_node_exits_1() {
    let sandbox = Sandbox::new();
    // Nothing listens on the discard port of loopback.
    let (code, stdout, _) = deploy(&sandbox, "http://127.0.0.1:9", &[]);
    assert_eq!(code, 1, "{stdout}");
    let value = envelope(&stdout);
    assert_eq!(value["errors"][0]["kind"], "failed");
}

#[test]
fn deploy_without_a_verifying_key_uses_the_built_in_dev_key_or_tornados() {
    let sandbox = Sandbox::new();
    // A dev chain needs no key file: the command gets as far as the (absent) node.
    let (code, _, stderr) =
        run(sandbox
            .taonado()
            .args(["deploy", "--rpc-url", "http://127.0.0.1:9"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("verifying key"), "{stderr}");
    let (code, _, stderr) = run(sandbox.taonado().args([
        "deploy",
        "--network",
        "testnet",
        "--rpc-url",
        "http://127.0.0.1:9",
        "--private-key",
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    ]));
    // A live network without a key file takes Tornado's ceremony key (the live pool's):
    // it too gets as far as the node.
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("verifying key"), "{stderr}");
    assert!(stderr.contains("cannot reach testnet"), "{stderr}");
}

#[test]
fn private_keys_are_never_echoed() {
    let sandbox = Sandbox::new();
    let bad_key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ffzz";
    let (code, stdout, stderr) = run(sandbox.taonado().args([
        "-vvv",
        "deploy",
        "--rpc-url",
        "http://127.0.0.1:9",
        "--private-key",
        bad_key,
    ]));
    assert_eq!(code, 2);
    assert!(
        !stdout.contains("bec39a17") && !stderr.contains("bec39a17"),
        "{stderr}"
    );
    assert!(stderr.contains("invalid private key"), "{stderr}");
}

#[test]
fn deploy_to_anvil_installs_mocks_and_the_ethereum_verifier() {
    let sandbox = Sandbox::new();
    let anvil = Anvil::start(42);
    let (code, stdout, stderr) = deploy(&sandbox, &anvil.url, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = &envelope(&stdout)["data"];
    // anvil has BN254 addition at 0x6 (Ethereum numbering) even with chain id 42.
    assert_eq!(data["verifier_family"], "ethereum", "{data}");
    let code_at_metagraph = cast(
        &anvil.url,
        &["code", "0x0000000000000000000000000000000000000802"],
    );
    assert_ne!(code_at_metagraph, "0x", "MockMetagraph installed at 0x802");
}

#[test]
fn gas_report_names_contracts_and_functions() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let (code, stdout, stderr) = deploy(&sandbox, &devnet.url, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let wtao = contract(&envelope(&stdout)["data"], "WTAO");
    for _ in 0..2 {
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
    }

    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "gas-report", "--rpc-url", &devnet.url]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = &envelope(&stdout)["data"];
    let rows = data["rows"].as_array().expect("rows");
    let row = |contract: &str, function: &str| {
        rows.iter()
            .find(|r| r["contract"] == contract && r["function"] == function)
            .unwrap_or_else(|| panic!("no {contract}.{function} in {rows:?}"))
    };
    let deposit = row("WTAO", "deposit()");
    assert_eq!(deposit["calls"], 2);
    assert_eq!(deposit["reverted"], 0);
    let min = deposit["min_gas"].as_u64().expect("min");
    let max = deposit["max_gas"].as_u64().expect("max");
    assert!(min > 21_000 && min <= max, "{deposit}");
    assert_eq!(row("WTAO", "(deploy)")["calls"], 1);
    assert_eq!(row("EvmValidator", "(deploy)")["calls"], 1);
    let total: u64 = rows.iter().filter_map(|r| r["calls"].as_u64()).sum();
    assert_eq!(data["transactions"].as_u64(), Some(total));
}

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// `deploy verify --json` on a devnet: (exit code, the envelope).
fn verify(sandbox: &Sandbox, url: &str) -> (i32, Value) {
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "deploy", "verify", "--rpc-url", url]));
    assert!(!stdout.is_empty(), "no envelope; stderr:\n{stderr}");
    (code, envelope(&stdout))
}

#[test]
fn a_clean_deployment_verifies_and_tampering_names_the_failing_lines() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let (code, stdout, stderr) = deploy(&sandbox, &devnet.url, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let deployed = envelope(&stdout)["data"].clone();

    let (code, value) = verify(&sandbox, &devnet.url);
    assert_eq!(code, 0, "{value}");
    let data = &value["data"];
    assert_eq!(data["failed"], 0, "{data}");
    assert_eq!(data["addresses"]["kind"], "record");
    let checks = data["checks"].as_array().expect("checks");
    let line = |subject: &str, check: &str| {
        checks
            .iter()
            .find(|c| c["subject"] == subject && c["check"] == check)
            .unwrap_or_else(|| panic!("no {subject} {check} in {data}"))
            .clone()
    };
    // Every deployed contract's code, the proxy slot, the wiring and the owners were looked at.
    for subject in [
        "WTAO",
        "DepositTracker",
        "Hasher",
        "Verifier",
        "WeightsV3",
        "EvmValidator",
        "Pool 0.1 WTAO",
        "Pool 1000 WTAO",
    ] {
        assert_eq!(line(subject, "code")["status"], "pass", "{subject}");
    }
    assert_eq!(
        line("EvmValidator", "implementation slot")["status"],
        "pass"
    );
    assert_eq!(
        line("EvmValidator", "implementation code")["status"],
        "pass"
    );
    assert_eq!(line("WeightsV3", "taonado (pool)")["status"], "pass");
    assert_eq!(line("Pool 10 WTAO", "hasher")["status"], "pass");
    assert_eq!(line("EvmValidator", "owner")["status"], "pass");

    // Without a record, the network config's addresses (as the mainnet/testnet presets give
    // them) are verified; with no expected owner the owners are reported, not checked.
    let address_of = |name: &str| contract(&deployed, name);
    std::fs::write(
        sandbox.path().join("taonado.toml"),
        format!(
            "[networks.rehearsal]\nchain_id = 42\nrpc_url = \"{url}\"\nnetuid = 2\ndev_chain = true\n\
             [networks.rehearsal.addresses]\nwtao = \"{}\"\ndeposit_tracker = \"{}\"\nweights_v3 = \"{}\"\n\
             evm_validator = \"{}\"\nhasher = \"{}\"\nverifier = \"{}\"\npools = {{ \"1\" = \"{}\" }}\n",
            address_of("WTAO"),
            address_of("DepositTracker"),
            address_of("WeightsV3"),
            address_of("EvmValidator"),
            address_of("Hasher"),
            address_of("Verifier"),
            address_of("Pool 1 WTAO"),
            url = devnet.url
        ),
    )
    .expect("write config");
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "deploy", "verify", "--network", "rehearsal"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = &envelope(&stdout)["data"];
    assert_eq!(data["addresses"]["kind"], "config", "{data}");
    assert_eq!(data["failed"], 0, "{data}");
    let owner_warnings = data["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["check"] == "owner" && c["status"] == "warn")
        .count();
    assert_eq!(owner_warnings, 2, "{data}");

    // Tamper three ways: rewire the validator, hand WeightsV3 to someone else, and replace
    // a pool's code.
    let validator = contract(&deployed, "EvmValidator");
    let weights = contract(&deployed, "WeightsV3");
    let wtao = contract(&deployed, "WTAO");
    let pool = contract(&deployed, "Pool 0.1 WTAO");
    let send = |to: &str, sig: &str, arg: &str| {
        cast(
            &devnet.url,
            &["send", "--private-key", DEV0_KEY, to, sig, arg],
        );
    };
    send(&validator, "setWeightsContract(address)", &wtao);
    send(&weights, "transferOwnership(address)", DEV1);
    let wtao_code = cast(&devnet.url, &["code", &wtao]);
    cast(&devnet.url, &["rpc", "anvil_setCode", &pool, &wtao_code]);

    let (code, value) = verify(&sandbox, &devnet.url);
    assert_eq!(code, 1, "{value}");
    assert_eq!(value["errors"][0]["kind"], "failed");
    let message = value["errors"][0]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    let lower = |s: &str| s.to_lowercase();
    let message_lc = lower(&message);
    for expected in [
        format!("EvmValidator weights: {wtao}, expected WeightsV3 {weights}"),
        format!("WeightsV3 owner: {DEV1}, expected {DEV0}"),
        format!(
            "Pool 0.1 WTAO code: {pool}: code differs from artifact ERC20Taonado (not built from these sources"
        ),
    ] {
        assert!(
            message_lc.contains(&lower(&expected)),
            "missing `{expected}` in {message}"
        );
    }
    // The untouched contracts still pass: only the tampered lines fail.
    assert!(!message.contains("DepositTracker"), "{message}");

    // People get the same lines in the table.
    let (code, stdout, _) =
        run(sandbox
            .taonado()
            .args(["deploy", "verify", "--rpc-url", &devnet.url]));
    assert_eq!(code, 1);
    let fail_rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("FAIL"))
        .collect();
    assert!(
        fail_rows
            .iter()
            .any(|l| l.contains("EvmValidator") && l.contains("weights")),
        "{stdout}"
    );
}

#[test]
fn deploy_check_passes_on_a_dev_chain_and_fails_raw_keys_and_dev_keys_on_testnet() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let artifacts = repo("crates/taonado-contracts/artifacts");
    let contracts = repo("contracts");
    let vk = fixture("placeholder.vk.json");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args([
            "--json",
            "deploy",
            "check",
            "--rpc-url",
            &devnet.url,
            "--verifying-key",
        ])
        .arg(&vk)
        .arg("--artifacts-dir")
        .arg(&artifacts)
        .arg("--contracts-dir")
        .arg(&contracts));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = &envelope(&stdout)["data"];
    let checks = data["checks"].as_array().expect("checks");
    let status = |subject: &str, check: &str| {
        checks
            .iter()
            .find(|c| c["subject"] == subject && c["check"] == check)
            .map(|c| c["status"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("no {subject} {check} in {data}"))
    };
    assert_eq!(status("rpc", "chain id"), "pass");
    assert_eq!(status("deployer", "funded"), "pass");
    assert_eq!(status("gas price", "within bound"), "pass");
    assert_eq!(status("verifier", "variant"), "pass");
    assert_eq!(status("artifacts", "match build-info.json"), "pass");
    // The dry run measured real gas: a full deployment costs millions.
    let funded = checks
        .iter()
        .find(|c| c["check"] == "funded")
        .and_then(|c| c["detail"].as_str())
        .unwrap_or_default();
    let gas: u64 = funded
        .split('~')
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no gas figure in {funded}"));
    assert!(gas > 5_000_000, "{funded}");

    // A live network (testnet preset on a chain-945 devnet) with a raw key, the insecure
    // key and a gas bound below the node's price: each one is a failing line.
    let testnet = Devnet::start(&sandbox, &["--chain-id", "945"]);
    let dev_key = repo("keys/local/withdraw.vk.json");
    let (code, stdout, _) = run(sandbox
        .taonado()
        .args([
            "--json",
            "deploy",
            "check",
            "--network",
            "testnet",
            "--rpc-url",
            &testnet.url,
        ])
        .args([
            "--private-key",
            DEV0_KEY,
            "--max-gas-price",
            "0.000001",
            "--verifying-key",
        ])
        .arg(&dev_key));
    assert_eq!(code, 1, "{stdout}");
    let message = envelope(&stdout)["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("deployer key encrypted: a raw private key"),
        "{message}"
    );
    assert!(
        message.contains("verifying key setup: local-dev-insecure"),
        "{message}"
    );
    assert!(message.contains("gas price within bound"), "{message}");
    assert!(!message.contains("verifier variant"), "{message}");
}

#[test]
fn deploy_refuses_the_insecure_dev_key_on_a_live_network() {
    let sandbox = Sandbox::new();
    let testnet = Devnet::start(&sandbox, &["--chain-id", "945"]);
    let dev_key = repo("keys/local/withdraw.vk.json");
    let (code, stdout, _) = run(sandbox
        .taonado()
        .args([
            "--json",
            "deploy",
            "--network",
            "testnet",
            "--rpc-url",
            &testnet.url,
        ])
        .args(["--private-key", DEV0_KEY, "--verifying-key"])
        .arg(&dev_key));
    assert_eq!(code, 1, "{stdout}");
    let message = envelope(&stdout)["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("refusing to deploy this verifying key to testnet")
            && message.contains("local development key"),
        "{message}"
    );
    assert!(message.contains("--allow-insecure-dev-key"), "{message}");
    assert!(!sandbox.path().join("deployments/testnet.json").exists());
    assert_eq!(
        cast(&testnet.url, &["nonce", DEV0]),
        "0",
        "nothing was sent"
    );
}

#[test]
fn deploy_docs_writes_a_page_of_every_record() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let (code, stdout, stderr) = deploy(&sandbox, &devnet.url, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let wtao = contract(&envelope(&stdout)["data"], "WTAO");
    let (code, stdout, stderr) = run(sandbox.taonado().args(["--json", "deploy", "docs"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        envelope(&stdout)["data"]["networks"],
        serde_json::json!(["local"])
    );
    let page = std::fs::read_to_string(sandbox.path().join("docs/deployments.md")).expect("page");
    assert!(page.contains("## local (chain 42, netuid 2)"), "{page}");
    assert!(
        page.to_lowercase()
            .contains(&format!("| wtao | `{}` | wtao |", wtao.to_lowercase())),
        "{page}"
    );

    let empty = Sandbox::new();
    let (code, _, stderr) = run(empty.taonado().args(["deploy", "docs"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no deployment records"), "{stderr}");
}

#[test]
fn net_check_reports_each_network_and_fails_on_expected_ones() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    // testnet refuses connections; "mainnet" answers with the dev chain's id 42.
    std::fs::write(
        sandbox.path().join("taonado.toml"),
        format!(
            "[networks.local]\nrpc_url = \"{url}\"\n[networks.testnet]\nrpc_url = \"http://127.0.0.1:9\"\n[networks.mainnet]\nrpc_url = \"{url}\"\n",
            url = devnet.url
        ),
    )
    .expect("write config");
    let (code, stdout, _) = run(sandbox.taonado().args(["--json", "net", "check"]));
    assert_eq!(code, 1, "{stdout}");
    let message = envelope(&stdout)["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.starts_with("2 network(s) down"), "{message}");
    assert!(message.contains("testnet: unreachable"), "{message}");
    assert!(
        message.contains("mainnet: chain id 42, expected 964"),
        "{message}"
    );
    assert!(!message.contains("local:"), "{message}");

    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "net", "check", "--network", "local"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = &envelope(&stdout)["data"];
    let row = &data["networks"][0];
    assert_eq!(row["network"], "local");
    assert_eq!(row["state"], "up");
    assert_eq!(row["chain_id"], 42);
    assert!(
        row["head_block"].is_u64() && row["latency_ms"].is_u64(),
        "{row}"
    );
    assert_eq!(data["networks"].as_array().map(Vec::len), Some(1));
}
