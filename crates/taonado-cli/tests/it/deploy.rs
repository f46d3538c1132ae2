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
fn deploy_without_a_verifying_key_gives_a_hint() {
    let sandbox = Sandbox::new();
    let (code, _, stderr) =
        run(sandbox
            .taonado()
            .args(["deploy", "--rpc-url", "http://127.0.0.1:9"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("keys/local/withdraw.vk.json"), "{stderr}");
    assert!(stderr.contains("--verifying-key"), "{stderr}");
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
