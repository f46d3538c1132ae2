//! The EvmValidator upgrade and the weights migration through the binary, on a devnet child:
//! deploy -> upgrade dry run -> execute -> upgrade verify -> migrate -> migrate verify, and an
//! incompatible implementation refused with the variables named.

use serde_json::Value;

use crate::support::{DEV0, Devnet, Sandbox, cast, envelope, fixture, run};

fn taonado(sandbox: &Sandbox, url: &str, args: &[&str]) -> (i32, Value, String) {
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["--json", "--rpc-url", url])
        .args(args));
    (code, envelope(&stdout), stderr)
}

fn deployed(sandbox: &Sandbox, url: &str) -> Value {
    let vk = fixture("placeholder.vk.json");
    let vk = vk.to_str().expect("utf-8 path");
    let (code, out, stderr) = taonado(sandbox, url, &["deploy", "--verifying-key", vk]);
    assert_eq!(code, 0, "{out}\n{stderr}");
    out["data"]["record"].clone()
}

fn address(record: &Value, name: &str) -> String {
    record["contracts"][name]["address"]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {record}"))
        .to_owned()
}

#[test]
fn deploy_upgrade_verify_migrate_verify() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    let record = deployed(&sandbox, url);
    let proxy = address(&record, "EvmValidator");
    let bounty_before = cast(url, &["call", &proxy, "setWeightsBounty()(uint256)"]);
    let balance_before = cast(url, &["balance", &proxy]);

    // Dry run: compatible, V1 identified, the calldata and the sender named, nothing sent.
    let (code, dry, stderr) = taonado(&sandbox, url, &["upgrade", "evm-validator", "--dry-run"]);
    assert_eq!(code, 0, "{dry}\n{stderr}");
    let d = &dry["data"];
    assert_eq!(d["current_artifact"], "EvmValidator");
    assert_eq!(d["target_artifact"], "EvmValidatorV2");
    assert_eq!(d["layout"]["compatible"], true, "{d}");
    assert_eq!(d["layout"]["appended"], serde_json::json!(["boostHotkeys"]));
    assert_eq!(
        d["owner"].as_str().map(str::to_lowercase),
        Some(DEV0.to_lowercase())
    );
    let calldata = d["upgrade_calldata"].as_str().expect("calldata");
    // upgradeToAndCall(address,bytes) with the predicted implementation and empty data.
    assert!(calldata.starts_with("0x4f1ef286"), "{calldata}");
    let predicted = d["predicted_implementation"]
        .as_str()
        .expect("predicted")
        .to_lowercase();
    assert!(
        calldata.contains(&predicted[2..]),
        "{calldata} names {predicted}"
    );
    assert_eq!(
        cast(url, &["call", &proxy, "setWeightsBounty()(uint256)"]),
        bounty_before
    );

    // Execute: deploys at the predicted address and upgrades.
    let (code, executed, stderr) =
        taonado(&sandbox, url, &["upgrade", "evm-validator", "--execute"]);
    assert_eq!(code, 0, "{executed}\n{stderr}");
    let implementation = executed["data"]["implementation"]
        .as_str()
        .expect("implementation");
    assert_eq!(implementation.to_lowercase(), predicted);
    assert!(
        sandbox
            .path()
            .join("deployments/local.upgrade-snapshot.json")
            .is_file()
    );
    assert_eq!(cast(url, &["call", &proxy, "version()(uint256)"]), "2");
    assert_eq!(cast(url, &["balance", &proxy]), balance_before);

    // Verify against the snapshot --execute wrote (the devnet keeps no historical state, so
    // --before-block is exercised against anvil in taonado-ops' tests).
    let (code, verified, stderr) = taonado(&sandbox, url, &["upgrade", "verify"]);
    assert_eq!(code, 0, "{verified}\n{stderr}");
    let checks = verified["data"]["checks"].as_array().expect("checks");
    assert!(checks.len() > 10, "{verified}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{verified}");
    // A wrong expected implementation fails verification with exit 1.
    let (code, wrong, _) = taonado(
        &sandbox,
        url,
        &["upgrade", "verify", "--expected-implementation", DEV0],
    );
    assert_eq!(code, 1, "{wrong}");
    let message = wrong["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("implementation slot"), "{message}");
    // Executing again is a no-op.
    let (code, again, _) = taonado(&sandbox, url, &["upgrade", "evm-validator", "--execute"]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["data"]["upgrade_tx"], Value::Null);

    // Migration to WeightsV4, resumable: the second run sends nothing.
    let (code, migrated, stderr) =
        taonado(&sandbox, url, &["migrate", "weights", "--to", "WeightsV4"]);
    assert_eq!(code, 0, "{migrated}\n{stderr}");
    let v4 = migrated["data"]["weights_v4"]
        .as_str()
        .expect("v4")
        .to_owned();
    let states: Vec<&str> = migrated["data"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(states, ["sent", "skipped", "sent"], "{migrated}");
    assert_eq!(
        cast(url, &["call", &proxy, "weights()(address)"]).to_lowercase(),
        v4.to_lowercase()
    );
    let (code, rerun, _) = taonado(&sandbox, url, &["migrate", "weights", "--to", "WeightsV4"]);
    assert_eq!(code, 0, "{rerun}");
    assert!(
        rerun["data"]["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .all(|s| s["state"] == "skipped"),
        "{rerun}"
    );
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join("deployments/local.json")).expect("record"),
    )
    .expect("json");
    assert_eq!(
        saved["contracts"]["WeightsV4"]["address"].as_str(),
        Some(v4.as_str())
    );

    let (code, verified, stderr) = taonado(&sandbox, url, &["migrate", "verify"]);
    assert_eq!(code, 0, "{verified}\n{stderr}");
    let v = &verified["data"];
    assert_eq!(v["validator_points_at_v4"], true);
    assert_eq!(v["differences"], serde_json::json!([]));
    assert_eq!(v["v3_weights"], v["v4_weights"]);
    assert!(
        !v["v4_weights"].as_array().expect("weights").is_empty(),
        "{v}"
    );

    // The upgraded, migrated deployment still verifies, and a re-run of the deploy leaves
    // the validator on WeightsV4 instead of moving it back to V3.
    let vk = fixture("placeholder.vk.json");
    let (code, redeploy, stderr) = taonado(
        &sandbox,
        url,
        &[
            "deploy",
            "--verifying-key",
            vk.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(code, 0, "{redeploy}\n{stderr}");
    let (code, checked, stderr) = taonado(&sandbox, url, &["deploy", "verify"]);
    assert_eq!(code, 0, "{checked}\n{stderr}");
    let (code, still, stderr) = taonado(&sandbox, url, &["migrate", "verify"]);
    assert_eq!(code, 0, "{still}\n{stderr}");
    assert_eq!(still["data"]["validator_points_at_v4"], true);

    admin_settings(&sandbox, url, &proxy);
}

/// `taonado admin`: a dry run sends nothing, a setting is read back, a key that does not own
/// the contract is refused before sending, and a missing contract is a usage error.
fn admin_settings(sandbox: &Sandbox, url: &str, proxy: &str) {
    let bounty = || cast(url, &["call", proxy, "setWeightsBounty()(uint256)"]);
    let before = bounty();
    let (code, dry, stderr) = taonado(sandbox, url, &["admin", "set-bounty", "0", "--dry-run"]);
    assert_eq!(code, 0, "{dry}\n{stderr}");
    assert_eq!(dry["data"]["tx"], Value::Null);
    assert_eq!(dry["data"]["call"], "EvmValidator.setSetWeightsBounty(0)");
    assert_eq!(bounty(), before, "a dry run changed the bounty");

    let (code, set, stderr) = taonado(sandbox, url, &["admin", "set-bounty", "0"]);
    assert_eq!(code, 0, "{set}\n{stderr}");
    assert_eq!(set["data"]["after"]["raw"], "0");
    assert!(set["data"]["tx"].is_string(), "{set}");
    assert_eq!(bounty().split_whitespace().next(), Some("0"));

    // The upgraded EvmValidator refuses an interval below its minimum: named, nothing sent.
    let (code, out, _) = taonado(sandbox, url, &["admin", "set-interval", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("would revert: Interval below minimum; nothing was sent")),
        "{out}"
    );
    let (code, interval, stderr) = taonado(sandbox, url, &["admin", "set-interval", "500"]);
    assert_eq!(code, 0, "{interval}\n{stderr}");
    assert_eq!(
        cast(url, &["call", proxy, "setWeightsBlockInterval()(uint256)"]).trim(),
        "500"
    );

    // Anvil's second dev key owns nothing here.
    let (code, refused, stderr) = taonado(
        sandbox,
        url,
        &[
            "admin",
            "set-bounty",
            "1",
            "--private-key",
            "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        ],
    );
    assert_eq!(code, 1, "{refused}\n{stderr}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not by the signing key")),
        "{refused}"
    );
    assert_eq!(bounty().split_whitespace().next(), Some("0"));

    let (code, out, _) = taonado(
        sandbox,
        url,
        &["admin", "set-deposit-goal", "10", "--weights", "v2"],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no WeightsV2 address")),
        "{out}"
    );
}

#[test]
fn an_incompatible_layout_is_refused_with_each_variable_named() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    deployed(&sandbox, url);
    let bad = [
        "upgrade",
        "evm-validator",
        "--implementation",
        "MockEvmValidatorReordered",
    ];
    for mode in ["--dry-run", "--execute"] {
        let mut args = bad.to_vec();
        args.push(mode);
        let (code, out, stderr) = taonado(&sandbox, url, &args);
        assert_eq!(code, 1, "{mode}: {out}\n{stderr}");
        assert_eq!(out["ok"], false);
        let message = out["errors"][0]["message"].as_str().expect("message");
        for needle in [
            "`weights`",
            "`metagraph`",
            "`netuid`",
            "changed type from uint16 to uint32",
            "`refundOverhead`",
            "was removed",
        ] {
            assert!(message.contains(needle), "{mode}: no {needle} in {message}");
        }
    }
    // Nothing was sent: the proxy still runs V1 (which has no version()).
    let (code, dry, _) = taonado(&sandbox, url, &["upgrade", "evm-validator", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(dry["data"]["current_artifact"], "EvmValidator");
}

#[test]
fn rehearsal_on_a_fork_of_a_running_devnet_leaves_it_unchanged() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    let record = deployed(&sandbox, url);
    let proxy = address(&record, "EvmValidator");
    let slot = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
    let block_before = cast(url, &["block-number"]);
    let implementation_before = cast(url, &["storage", &proxy, slot]);

    let (code, out, stderr) = taonado(&sandbox, url, &["upgrade", "evm-validator", "--rehearse"]);
    assert_eq!(code, 0, "{out}\n{stderr}");
    let d = &out["data"];
    assert!(d["fetched_accounts"].as_u64().is_some_and(|n| n > 0), "{d}");
    assert!(
        d["fetched_storage_slots"].as_u64().is_some_and(|n| n > 0),
        "{d}"
    );
    let r = &d["rehearsal"];
    assert_eq!(r["dry_run"]["current_artifact"], "EvmValidator");
    assert!(
        r["verify"]["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["ok"] == true),
        "{r}"
    );
    assert_eq!(r["weights"]["call"], "setWeights", "{r}");
    assert!(
        r["post_checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["ok"] == true)
    );

    // The running devnet saw reads only.
    assert_eq!(cast(url, &["block-number"]), block_before);
    assert_eq!(cast(url, &["storage", &proxy, slot]), implementation_before);
    let (code, dry, _) = taonado(&sandbox, url, &["upgrade", "evm-validator", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(dry["data"]["current_artifact"], "EvmValidator");
}

/// The check line of `health --json` named `name`.
fn health_line(health: &Value, name: &str) -> Value {
    health["data"]["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} line in {health}"))
}

#[test]
fn after_a_migration_every_command_shows_the_weights_the_evm_validator_reads() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    let record = deployed(&sandbox, url);
    let v3 = address(&record, "WeightsV3");
    let (code, shown, stderr) = taonado(&sandbox, url, &["weights", "show"]);
    assert_eq!(code, 0, "{shown}\n{stderr}");
    assert_eq!(shown["data"]["weights"]["name"], "WeightsV3", "{shown}");

    let (code, migrated, stderr) =
        taonado(&sandbox, url, &["migrate", "weights", "--to", "WeightsV4"]);
    assert_eq!(code, 0, "{migrated}\n{stderr}");
    let v4 = migrated["data"]["weights_v4"]
        .as_str()
        .expect("v4")
        .to_owned();

    let (code, shown, stderr) = taonado(&sandbox, url, &["weights", "show"]);
    assert_eq!(code, 0, "{shown}\n{stderr}");
    let weights = &shown["data"]["weights"];
    assert_eq!(weights["name"], "WeightsV4", "{shown}");
    assert_eq!(weights["read_from_evm_validator"], true, "{shown}");
    assert!(
        weights["address"]
            .as_str()
            .is_some_and(|a| a.eq_ignore_ascii_case(&v4))
    );
    let (code, human, _) = run(sandbox
        .taonado()
        .args(["--rpc-url", url, "weights", "show"]));
    assert_eq!(code, 0, "{human}");
    assert!(human.starts_with("WeightsV4 "), "{human}");

    let (_, health, stderr) = taonado(&sandbox, url, &["health"]);
    let line = health_line(&health, "contract WeightsV4");
    assert_eq!(line["ok"], true, "{line}\n{stderr}");
    // Pools are named as every other command names them.
    assert_eq!(health_line(&health, "contract Pool 1 WTAO")["ok"], true);
    assert!(!health.to_string().contains("Pool0"), "{health}");
    assert!(
        !health.to_string().contains("contract WeightsV3"),
        "{health}"
    );

    // A record that missed the migration: no command shows V3 as the live weights.
    let path = sandbox.path().join("deployments/local.json");
    let mut saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("record")).expect("json");
    saved["contracts"]
        .as_object_mut()
        .expect("contracts")
        .remove("WeightsV4");
    std::fs::write(&path, saved.to_string()).expect("write the record");
    let (code, shown, _) = taonado(&sandbox, url, &["weights", "show"]);
    assert_eq!(code, 1, "{shown}");
    let message = shown["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("which the deployment does not name")
            && message.to_lowercase().contains(&v4.to_lowercase())
            && message.to_lowercase().contains(&v3.to_lowercase()),
        "{message}"
    );
    let (code, health, _) = taonado(&sandbox, url, &["health"]);
    assert_eq!(code, 1, "{health}");
    let line = health_line(&health, "contract WeightsV3");
    assert_eq!(line["ok"], false, "{line}");
    assert!(
        line["detail"]
            .as_str()
            .is_some_and(|d| d.contains("reads weights from")),
        "{line}"
    );
}

#[test]
fn upgrade_verify_compares_the_upgrades_block_not_later_operation() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    let record = deployed(&sandbox, url);
    let proxy = address(&record, "EvmValidator");
    let (code, executed, stderr) =
        taonado(&sandbox, url, &["upgrade", "evm-validator", "--execute"]);
    assert_eq!(code, 0, "{executed}\n{stderr}");

    // Ordinary operation after the upgrade: an owner setter and a payment to the proxy.
    cast(
        url,
        &[
            "send",
            &proxy,
            "setSetWeightsBounty(uint256)",
            "12345",
            "--private-key",
            crate::support::DEV0_KEY,
        ],
    );
    cast(
        url,
        &[
            "send",
            &proxy,
            "--value",
            "1ether",
            "--private-key",
            crate::support::DEV0_KEY,
        ],
    );

    let (code, verified, stderr) = taonado(&sandbox, url, &["upgrade", "verify"]);
    assert_eq!(code, 0, "{verified}\n{stderr}");
    let data = &verified["data"];
    assert!(
        data["compared"]
            .as_str()
            .is_some_and(|c| c.contains("the upgrade's block")),
        "{data}"
    );
    assert!(
        data["state_block"].as_u64() < data["block"].as_u64(),
        "the state is the upgrade block's, not the latest: {data}"
    );
}
