//! `taonado miner`, `taonado validator` and `taonado weights` against a devnet child: three
//! miners register, the weights match their off-chain recomputation, a public validator is
//! paid and a second caller inside the interval is refused, the loop runs two rounds, and
//! an epoch pays the miners in the order of their deposits. Bad input exits non-zero with
//! one line.

use serde_json::Value;

use crate::support::{Devnet, Sandbox, cast, envelope, fixture, run};

/// anvil's dev accounts 1..=3 (public test keys) with their miner hotkeys: the devnet's
/// genesis miners //Dave and //Eve, and a third hotkey registered by the test.
const MINERS: [(&str, &str); 3] = [
    (
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy",
    ),
    (
        "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw",
    ),
    (
        "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        "0x2222222222222222222222222222222222222222222222222222222222222222",
    ),
];
/// A key with no funds (a well-known test key, never funded on the devnet).
const EMPTY_KEY: &str = "0x0000000000000000000000000000000000000000000000000000000000000001";
/// A hotkey the subnet does not know (until the test registers it).
const UNREGISTERED: &str = "0x3333333333333333333333333333333333333333333333333333333333333333";

fn taonado(sandbox: &Sandbox, url: &str, args: &[&str]) -> (i32, String, String) {
    run(sandbox.taonado().args(["--rpc-url", url]).args(args))
}

fn ok_json(sandbox: &Sandbox, url: &str, args: &[&str]) -> Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let (code, stdout, stderr) = taonado(sandbox, url, &full);
    assert_eq!(code, 0, "{args:?}\n{stdout}\n{stderr}");
    envelope(&stdout)["data"].clone()
}

/// Exit code and the single stderr error line of a failing human-mode command.
fn fails(sandbox: &Sandbox, url: &str, args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = taonado(sandbox, url, args);
    assert_ne!(code, 0, "{args:?} should fail\n{stdout}\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    (code, errors[0].to_owned())
}

fn dev_rpc(url: &str, method: &str, params: &str) -> String {
    cast(url, &["rpc", method, "--raw", params])
}

fn status(sandbox: &Sandbox, url: &str, hotkey: &str) -> Value {
    ok_json(sandbox, url, &["miner", "status", "--hotkey", hotkey])
}

#[test]
fn miners_register_validators_set_weights_and_an_epoch_pays_in_deposit_order() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    let vk = fixture("placeholder.vk.json");
    let vk = vk.to_str().expect("utf-8 path");
    ok_json(
        &sandbox,
        url,
        &[
            "deploy",
            "--verifying-key",
            vk,
            "--set-weights-interval",
            "5",
        ],
    );
    // Fast epochs and no subnet rate limit, so the test needs few blocks.
    for (name, value) in [("tempo", 10), ("weights_set_rate_limit", 0)] {
        dev_rpc(
            url,
            "subtensor_setHyperparameter",
            &format!(r#"[{{"name":"{name}","value":{value}}}]"#),
        );
    }
    dev_rpc(
        url,
        "subtensor_registerNeuron",
        &format!(r#"[{{"hotkey":"{}"}}]"#, MINERS[2].1),
    );

    // btcli's public-only hotkey file for the third miner.
    let hotkeys_dir = sandbox.path().join(".bittensor/wallets/miner/hotkeys");
    std::fs::create_dir_all(&hotkeys_dir).expect("create the wallet directory");
    std::fs::write(
        hotkeys_dir.join("thirdpub.txt"),
        format!(r#"{{"publicKey":"{0}","accountId":"{0}"}}"#, MINERS[2].1),
    )
    .expect("write the hotkey file");

    // Deposits 3, 1, 2 TAO.
    let amounts = ["3", "1", "2"];
    let mut uids = Vec::new();
    for (i, ((key, hotkey), amount)) in MINERS.iter().zip(amounts).enumerate() {
        // By secret URI, by public key, and from a btcli wallet's hotkey file.
        let hotkey_args: Vec<&str> = match i {
            0 => vec!["--suri", "//Dave"],
            1 => vec!["--hotkey", hotkey],
            _ => vec!["--wallet.name", "miner", "--wallet.hotkey", "third"],
        };
        let mut args = vec![
            "miner",
            "register",
            "--amount",
            amount,
            "--private-key",
            key,
        ];
        args.extend(hotkey_args);
        let data = ok_json(&sandbox, url, &args);
        if i < 2 {
            assert_eq!(data["hotkey"], *hotkey, "{data}");
        }
        assert_eq!(data["already_associated"], false);
        assert!(data["associate_tx"].is_string() && data["wrap_tx"].is_string());
        uids.push(data["uid"].as_u64().expect("uid"));
    }
    // Again: nothing sent.
    let again = ok_json(
        &sandbox,
        url,
        &[
            "miner",
            "register",
            "--amount",
            "3",
            "--hotkey",
            MINERS[0].1,
            "--private-key",
            MINERS[0].0,
        ],
    );
    assert_eq!(again["already_associated"], true);
    assert!(again["associate_tx"].is_null() && again["wrap_tx"].is_null());

    // Refusals: one line each, nothing sent.
    let (code, line) = fails(
        &sandbox,
        url,
        &[
            "miner",
            "register",
            "--amount",
            "1",
            "--hotkey",
            MINERS[1].1,
            "--private-key",
            MINERS[0].0,
        ],
    );
    assert_eq!(code, 1);
    assert!(
        line.contains("already associated with hotkey") && line.contains(MINERS[0].1),
        "{line}"
    );
    let (code, line) = fails(
        &sandbox,
        url,
        &[
            "miner",
            "register",
            "--amount",
            "1",
            "--hotkey",
            UNREGISTERED,
            "--private-key",
            MINERS[0].0,
        ],
    );
    assert_eq!(code, 1);
    assert!(line.contains("is not registered on subnet 2"), "{line}");
    dev_rpc(
        url,
        "subtensor_registerNeuron",
        &format!(r#"[{{"hotkey":"{UNREGISTERED}"}}]"#),
    );
    let (code, line) = fails(
        &sandbox,
        url,
        &[
            "miner",
            "register",
            "--amount",
            "1",
            "--hotkey",
            UNREGISTERED,
            "--private-key",
            EMPTY_KEY,
        ],
    );
    assert_eq!(code, 1);
    assert!(line.contains("has 0 TAO but needs"), "{line}");
    let (code, _) = fails(
        &sandbox,
        url,
        &[
            "miner",
            "register",
            "--amount",
            "1",
            "--hotkey",
            "5NotAnSs58Address",
            "--private-key",
            EMPTY_KEY,
        ],
    );
    assert_eq!(code, 2, "an invalid SS58 is a usage error");

    // On-chain weights equal the recomputation and follow the deposits.
    let shown = ok_json(&sandbox, url, &["weights", "show"]);
    assert_eq!(shown["onchain"], shown["offchain"], "{shown}");
    assert_eq!(shown["mismatches"], Value::Array(vec![]));
    let weight = |i: usize| shown["onchain"][uids[i] as usize].as_u64().expect("weight");
    assert!(weight(1) < weight(2) && weight(2) < weight(0), "{shown}");
    let (code, stdout, _) = taonado(&sandbox, url, &["weights", "show"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("weights are equal"), "{stdout}");

    // A public caller is paid; a second one inside the interval is refused with the block.
    let round = ok_json(
        &sandbox,
        url,
        &[
            "validator",
            "set-weights",
            "--boost-hotkey",
            MINERS[0].1,
            "--private-key",
            MINERS[0].0,
        ],
    );
    let block = round["block"].as_u64().expect("block");
    assert!(
        round["refunded_wei"].as_str().is_some_and(|r| r != "0x0"),
        "{round}"
    );
    // The cost against the refund was estimated before sending; --json carries it.
    assert!(
        round["estimate"]["gas_estimate"].as_u64().is_some(),
        "{round}"
    );
    assert!(round["estimate"]["net_wei"].is_string(), "{round}");
    assert!(round["warnings"].is_array(), "{round}");
    let (code, line) = fails(
        &sandbox,
        url,
        &["validator", "set-weights", "--private-key", MINERS[1].0],
    );
    assert_eq!(code, 1);
    assert!(
        line.contains(&format!("allowed from block {}", block + 5)),
        "{line}"
    );

    // The loop: two public rounds, mining the blocks it waits for.
    let report = ok_json(
        &sandbox,
        url,
        &[
            "validator",
            "run",
            "--max-rounds",
            "2",
            "--mine-blocks",
            "--poll",
            "0.05",
            "--private-key",
            MINERS[1].0,
        ],
    );
    assert_eq!(report["stopped"], "max-rounds", "{report}");
    assert_eq!(report["totals"]["rounds"], 2);
    let wei = |v: &Value| {
        let hex = v
            .as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .expect("hex wei");
        u128::from_str_radix(hex, 16).expect("wei fits u128")
    };
    let totals = &report["totals"];
    assert!(
        wei(&totals["refunded_wei"]) > wei(&totals["gas_spent_wei"]),
        "the bounty pays more than the gas: {report}"
    );

    // An epoch: incentives and emissions in the order of the deposits.
    cast(url, &["rpc", "anvil_mine", "0xa"]);
    let earned: Vec<(u64, u64)> = MINERS
        .iter()
        .map(|(_, hotkey)| {
            let s = status(&sandbox, url, hotkey);
            (
                s["incentive"].as_u64().expect("incentive"),
                s["emission"].as_u64().expect("emission"),
            )
        })
        .collect();
    // Deposits were 3, 1, 2 TAO.
    assert!(
        earned[1].0 > 0 && earned[1] < earned[2] && earned[2] < earned[0],
        "{earned:?}"
    );
    assert!(earned[1].1 > 0 && earned[1].1 < earned[2].1 && earned[2].1 < earned[0].1);
    let (code, stdout, _) = taonado(&sandbox, url, &["miner", "status", "--hotkey", MINERS[0].1]);
    assert_eq!(code, 0);
    assert!(stdout.contains("last epoch: incentive"), "{stdout}");
}

#[test]
fn registering_the_burn_uids_hotkey_warns_before_anything_is_sent() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    let deployed = ok_json(&sandbox, url, &["deploy"]);
    let netuid = deployed["record"]["netuid"].as_u64().expect("netuid");
    let burn_hotkey = cast(
        url,
        &[
            "call",
            "0x0000000000000000000000000000000000000802",
            "getHotkey(uint16,uint16)(bytes32)",
            &netuid.to_string(),
            "0",
        ],
    );
    let (code, stdout, stderr) = taonado(
        &sandbox,
        url,
        &[
            "--json",
            "miner",
            "register",
            "--amount",
            "1",
            "--hotkey",
            &burn_hotkey,
            "--private-key",
            MINERS[0].0,
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = &envelope(&stdout)["data"];
    assert_eq!(data["uid"], 0, "{data}");
    let warnings = data["warnings"].as_array().expect("warnings");
    assert!(
        warnings.len() == 1 && warnings[0].as_str().is_some_and(|w| w.contains("burn uid")),
        "{data}"
    );
    let warned_at = stderr.find("burn uid").expect("a warning on stderr");
    assert!(
        !stderr[..warned_at].contains("sent"),
        "the warning comes before any transaction: {stderr}"
    );
}
