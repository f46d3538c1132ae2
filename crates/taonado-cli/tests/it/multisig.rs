//! The Safe multisig through the binary on a devnet child: a 2-of-3 Safe (Safe 1.4.1's own
//! contracts, deployed because the dev chain has no canonical deployment) takes ownership
//! of the EvmValidator; an upgrade proposed with `--via-multisig` is refused with one
//! signature and with a non-owner's, nothing sent, and executes with two; `upgrade verify`
//! passes. Bad input exits 2 and sends nothing.

use serde_json::Value;

use crate::support::{DEV0, Devnet, Sandbox, cast, envelope, fixture, run};

const DEV1_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const DEV2: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const DEV2_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const DEV3: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
/// Not an owner of the Safe.
const DEV4_KEY: &str = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";

fn taonado(sandbox: &Sandbox, url: &str, args: &[&str]) -> (i32, Value, String) {
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["--json", "--rpc-url", url])
        .args(args));
    (code, envelope(&stdout), stderr)
}

/// What must not move when a command refuses: the chain's height and the sender's nonce.
fn chain_state(url: &str) -> (String, String) {
    (cast(url, &["block-number"]), cast(url, &["nonce", DEV0]))
}

fn lower(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_lowercase()
}

#[test]
fn a_two_of_three_safe_owns_and_upgrades_the_evm_validator() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    let vk = fixture("placeholder.vk.json");
    let (code, deployed, stderr) = taonado(
        &sandbox,
        url,
        &["deploy", "--verifying-key", vk.to_str().expect("utf-8")],
    );
    assert_eq!(code, 0, "{deployed}\n{stderr}");
    let proxy = lower(&deployed["data"]["record"]["contracts"]["EvmValidator"]["address"]);
    let dev1 = crate::support::DEV1;
    let signers = format!("{dev1},{DEV2},{DEV3}");

    // Bad signer sets: exit 2, one line, nothing sent.
    let before = chain_state(url);
    let duplicate = format!("{dev1},{dev1},{DEV2}");
    for (signers, threshold, needle) in [
        (signers.as_str(), "0", "at least 1"),
        (signers.as_str(), "4", "above the number of signers"),
        (duplicate.as_str(), "2", "listed twice"),
    ] {
        let (code, out, stderr) = taonado(
            &sandbox,
            url,
            &[
                "multisig",
                "setup",
                "--signers",
                signers,
                "--threshold",
                threshold,
            ],
        );
        assert_eq!(code, 2, "{out}\n{stderr}");
        assert!(
            out["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(needle),
            "{out}"
        );
    }
    assert_eq!(chain_state(url), before);

    // Setup: Safe's contracts are deployed (no canonical deployment here) and the Safe recorded.
    let (code, setup, stderr) = taonado(
        &sandbox,
        url,
        &[
            "multisig",
            "setup",
            "--signers",
            &signers,
            "--threshold",
            "2",
        ],
    );
    assert_eq!(code, 0, "{setup}\n{stderr}");
    assert_eq!(setup["data"]["contracts"]["canonical"], false, "{setup}");
    let safe = lower(&setup["data"]["safe"]);
    assert_eq!(cast(url, &["call", &safe, "getThreshold()(uint256)"]), "2");
    assert_eq!(
        cast(url, &["call", &safe, "VERSION()(string)"]).trim_matches('"'),
        "1.4.1"
    );
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join("deployments/local.json")).expect("record"),
    )
    .expect("record json");
    assert_eq!(lower(&record["contracts"]["Safe"]["address"]), safe);

    // Take ownership: owner() of the proxy and of WeightsV3 is the Safe; a rerun sends nothing.
    let (code, owned, stderr) = taonado(&sandbox, url, &["multisig", "take-ownership"]);
    assert_eq!(code, 0, "{owned}\n{stderr}");
    assert_eq!(
        cast(url, &["call", &proxy, "owner()(address)"]).to_lowercase(),
        safe
    );
    let weights = lower(&record["contracts"]["WeightsV3"]["address"]);
    assert_eq!(
        cast(url, &["call", &weights, "owner()(address)"]).to_lowercase(),
        safe
    );
    let before = chain_state(url);
    let (code, again, stderr) = taonado(&sandbox, url, &["multisig", "take-ownership"]);
    assert_eq!(code, 0, "{again}\n{stderr}");
    assert!(
        again["data"]["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .all(|s| s["outcome"] == "already-owned"),
        "{again}"
    );
    assert_eq!(chain_state(url), before);

    // The upgrade becomes a proposal; its hash is the Safe's own getTransactionHash.
    let (code, proposed, stderr) = taonado(
        &sandbox,
        url,
        &["upgrade", "evm-validator", "--execute", "--via-multisig"],
    );
    assert_eq!(code, 0, "{proposed}\n{stderr}");
    let p = &proposed["data"]["proposal"];
    let id = p["id"].as_str().expect("id").to_owned();
    assert_eq!(
        p["call"]["function"], "upgradeToAndCall(address,bytes)",
        "{p}"
    );
    assert_eq!(p["call"]["target"], "EvmValidator", "{p}");
    let onchain_hash = cast(
        url,
        &[
            "call",
            &safe,
            "getTransactionHash(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,uint256)(bytes32)",
            p["tx"]["to"].as_str().expect("to"),
            "0",
            p["tx"]["data"].as_str().expect("data"),
            "0",
            "0",
            "0",
            "0",
            "0x0000000000000000000000000000000000000000",
            "0x0000000000000000000000000000000000000000",
            "0",
        ],
    );
    assert_eq!(onchain_hash, p["safe_tx_hash"].as_str().expect("hash"));
    let implementation_before = cast(
        url,
        &[
            "storage",
            &proxy,
            "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc",
        ],
    );

    // Unknown proposal and malformed signature: exit 2.
    let (code, out, _) = taonado(
        &sandbox,
        url,
        &[
            "multisig",
            "sign",
            "--proposal",
            "abcdef123456",
            "--private-key",
            DEV1_KEY,
        ],
    );
    assert_eq!(code, 2, "{out}");
    let (code, out, _) = taonado(
        &sandbox,
        url,
        &[
            "multisig",
            "sign",
            "--proposal",
            &id,
            "--signature",
            "0x1234",
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("malformed signature"),
        "{out}"
    );

    // One owner signs: execute refuses before sending.
    let (code, signed, stderr) = taonado(
        &sandbox,
        url,
        &[
            "multisig",
            "sign",
            "--proposal",
            &id,
            "--private-key",
            DEV1_KEY,
        ],
    );
    assert_eq!(code, 0, "{signed}\n{stderr}");
    assert_eq!(
        signed["data"]["proposal"]["signatures"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let before = chain_state(url);
    let (code, out, _) = taonado(&sandbox, url, &["multisig", "execute", "--proposal", &id]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("1 valid owner signature(s), the Safe"),
        "{out}"
    );
    assert_eq!(chain_state(url), before);

    // A non-owner's signature: refused when signing, and when a copy carrying it is executed.
    let (code, out, _) = taonado(
        &sandbox,
        url,
        &[
            "multisig",
            "sign",
            "--proposal",
            &id,
            "--private-key",
            DEV4_KEY,
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not an owner"),
        "{out}"
    );
    let original = sandbox
        .path()
        .join(format!(".taonado/multisig/local/{id}.json"));
    let copy = sandbox.path().join("forged.json");
    std::fs::copy(&original, &copy).expect("copy the proposal");
    let copy = copy.to_str().expect("utf-8");
    let (code, out, stderr) = taonado(
        &sandbox,
        url,
        &[
            "multisig",
            "sign",
            "--proposal",
            copy,
            "--offline",
            "--private-key",
            DEV4_KEY,
        ],
    );
    assert_eq!(code, 0, "{out}\n{stderr}");
    let (code, out, _) = taonado(&sandbox, url, &["multisig", "execute", "--proposal", copy]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not an owner"),
        "{out}"
    );
    assert_eq!(chain_state(url), before);
    assert_eq!(
        cast(
            url,
            &[
                "storage",
                &proxy,
                "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc"
            ]
        ),
        implementation_before
    );

    // A second owner (eth_sign form): it executes, and the upgrade verifies.
    let (code, signed, stderr) = taonado(
        &sandbox,
        url,
        &[
            "multisig",
            "sign",
            "--proposal",
            &id,
            "--eth-sign",
            "--private-key",
            DEV2_KEY,
        ],
    );
    assert_eq!(code, 0, "{signed}\n{stderr}");
    let (code, executed, stderr) =
        taonado(&sandbox, url, &["multisig", "execute", "--proposal", &id]);
    assert_eq!(code, 0, "{executed}\n{stderr}");
    assert!(executed["data"]["tx"].is_string(), "{executed}");
    assert_eq!(cast(url, &["call", &safe, "nonce()(uint256)"]), "1");
    assert_ne!(
        cast(
            url,
            &[
                "storage",
                &proxy,
                "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc"
            ]
        ),
        implementation_before
    );
    let (code, verified, stderr) = taonado(&sandbox, url, &["upgrade", "verify"]);
    assert_eq!(code, 0, "{verified}\n{stderr}");

    // The folder: listed as executed; executing again is refused.
    let (code, list, _) = taonado(&sandbox, url, &["multisig", "list"]);
    assert_eq!(code, 0, "{list}");
    assert!(
        list["data"]["proposals"][0]["executed"].is_string(),
        "{list}"
    );
    let (code, out, _) = taonado(&sandbox, url, &["multisig", "execute", "--proposal", &id]);
    assert_eq!(code, 1, "{out}");

    // An admin setter through the Safe: proposed, signed by two owners, executed, read back.
    let (code, proposed, stderr) = taonado(
        &sandbox,
        url,
        &["admin", "set-bounty", "0.123", "--via-multisig"],
    );
    assert_eq!(code, 0, "{proposed}\n{stderr}");
    let admin_id = proposed["data"]["proposal"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        proposed["data"]["proposal"]["tx"]["nonce"], "0x1",
        "{proposed}"
    );
    for key in [DEV1_KEY, DEV2_KEY] {
        let (code, out, stderr) = taonado(
            &sandbox,
            url,
            &[
                "multisig",
                "sign",
                "--proposal",
                &admin_id,
                "--private-key",
                key,
            ],
        );
        assert_eq!(code, 0, "{out}\n{stderr}");
    }
    let (code, out, stderr) = taonado(
        &sandbox,
        url,
        &["multisig", "execute", "--proposal", &admin_id],
    );
    assert_eq!(code, 0, "{out}\n{stderr}");
    let bounty = cast(url, &["call", &proxy, "setWeightsBounty()(uint256)"]);
    assert_eq!(
        bounty.split_whitespace().next(),
        Some("123000000000000000"),
        "{bounty}"
    );

    // migrate weights through the Safe: V4 is deployed and configured by the key, the
    // EvmValidator's switch (the Safe's to make) is proposed with the steps before it.
    let (code, migration, stderr) = taonado(
        &sandbox,
        url,
        &["migrate", "weights", "--to", "WeightsV4", "--via-multisig"],
    );
    assert_eq!(code, 0, "{migration}\n{stderr}");
    let d = &migration["data"];
    assert_eq!(
        d["proposal"]["call"]["function"], "setWeightsContract(address)",
        "{d}"
    );
    assert_eq!(d["proposal"]["call"]["target"], "EvmValidator", "{d}");
    assert_eq!(d["prepared"]["steps"][2]["state"], "proposed", "{d}");
    assert_eq!(
        cast(url, &["call", &proxy, "weights()(address)"]).to_lowercase(),
        weights,
        "the EvmValidator still reads WeightsV3 until the Safe executes"
    );

    // keys rotate through the Safe: one MultiSend batch of every transfer, nothing sent.
    let before = chain_state(url);
    let (code, rotation, stderr) = taonado(
        &sandbox,
        url,
        &[
            "keys",
            "rotate",
            "--role",
            "owner",
            "--to",
            DEV3,
            "--via-multisig",
        ],
    );
    assert_eq!(code, 0, "{rotation}\n{stderr}");
    let p = &rotation["data"]["proposal"];
    assert_eq!(p["tx"]["operation"], "delegate-call", "{p}");
    assert_eq!(p["call"]["function"], "multiSend(bytes)", "{p}");
    assert_eq!(chain_state(url), before);
}
