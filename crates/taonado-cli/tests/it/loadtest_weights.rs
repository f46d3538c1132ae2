//! `taonado loadtest --scenario weights` against a devnet child with the protocol deployed:
//! the real validator loop sets weights while the load saturates the chain, every set is
//! seen with its drift, and the EvmValidator's balance is explained by the bounties paid.
//! Only counts and the balance arithmetic are checked, never timings.

use serde_json::Value;

use crate::support::{Devnet, Sandbox, cast, envelope, fixture, run};

/// Anvil's dev account 0: the default signer (the funder) on a dev chain.
const FUNDER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn wei(v: &Value) -> i128 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a decimal wei string: {v}"))
}

#[test]
fn the_validator_loop_sets_weights_under_load_and_the_bounty_balance_adds_up() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    let loadtest = |args: &[&str]| {
        let (code, stdout, stderr) = run(sandbox
            .taonado()
            .args(["-q", "--json", "loadtest", "--rpc-url", url])
            .args(args));
        (code, envelope(&stdout), stderr)
    };

    // Nothing deployed: refused with one line before anything is sent.
    let (code, out, stderr) = loadtest(&["--scenario", "weights", "--transactions", "10"]);
    assert_eq!(code, 2, "{out}\n{stderr}");
    let message = out["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("no EvmValidator"), "{message}");
    assert!(!message.contains('\n'), "{message}");

    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["--json", "-q", "deploy", "--rpc-url", url])
        .args(["--set-weights-interval", "5", "--verifying-key"])
        .arg(fixture("placeholder.vk.json")));
    assert_eq!(code, 0, "{stdout}{stderr}");
    // No subnet rate limit: the contract's interval is what paces the loop.
    cast(
        url,
        &[
            "rpc",
            "subtensor_setHyperparameter",
            "--raw",
            r#"[{"name":"weights_set_rate_limit","value":0}]"#,
        ],
    );

    let report = sandbox.path().join("weights.md");
    let (code, out, stderr) = loadtest(&[
        "--scenario",
        "weights",
        "--transactions",
        "200",
        "--concurrent",
        "10",
        // Spread over a few seconds so the loop has blocks to wait for several times.
        "--rate",
        "60",
        "--report",
        report.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(code, 0, "{out}\n{stderr}");
    let data = &out["data"];
    assert_eq!(data["scenario"], "weights");
    for (key, want) in [
        ("included", 200),
        ("failed", 0),
        ("reverted", 0),
        ("in_flight", 0),
    ] {
        assert_eq!(data[key], want, "{key}: {data}");
    }
    assert_eq!(data["wallets"]["nonce_gaps"], 0, "{data}");

    let w = &data["weights"];
    assert_eq!(w["interval_blocks"], 5, "{w}");
    assert_eq!(w["drift"]["expected_blocks"], 5, "{w}");
    let sets = w["sets"].as_array().expect("sets");
    assert!(sets.len() >= 2, "at least two weight sets under load: {w}");
    let caller = w["loop"]["caller"].as_str().expect("the loop's wallet");
    assert!(!caller.eq_ignore_ascii_case(FUNDER), "not the funder: {w}");
    assert_eq!(w["loop"]["rounds"], sets.len() as u64, "{w}");
    assert!(
        wei(&w["loop"]["funded_wei"]) > 0,
        "funded in the funding step: {w}"
    );
    for (i, set) in sets.iter().enumerate() {
        assert_eq!(set["ours"], true, "{set}");
        assert!(
            set["who"]
                .as_str()
                .expect("who")
                .eq_ignore_ascii_case(caller)
        );
        assert!(wei(&set["refunded_wei"]) > 0, "{set}");
        if i == 0 {
            assert!(set["drift_blocks"].is_null(), "{set}");
        } else {
            // Nobody else sets weights here: no set comes before the interval.
            let drift = set["drift_blocks"].as_i64().expect("drift");
            let gap = set["block"].as_u64().unwrap() - sets[i - 1]["block"].as_u64().unwrap();
            assert_eq!(drift, gap as i64 - 5, "{set}");
            assert!(drift >= 0, "{set}");
        }
    }
    let drift = &w["drift"];
    assert_eq!(drift["gaps"], sets.len() as u64 - 1, "{drift}");
    assert!(
        drift["blocks_min"].as_i64() <= drift["blocks_p50"].as_i64()
            && drift["blocks_p50"].as_i64() <= drift["blocks_max"].as_i64(),
        "{drift}"
    );

    // Only the sets moved the balance: end = start - Σ paid, and min ≤ end ≤ start.
    let b = &w["balance"];
    let paid: i128 = sets.iter().map(|s| wei(&s["refunded_wei"])).sum();
    assert_eq!(wei(&b["paid_wei"]), paid, "{b}");
    assert_eq!(wei(&b["end_wei"]), wei(&b["start_wei"]) - paid, "{b}");
    assert_eq!(wei(&b["change_wei"]), -paid, "{b}");
    assert_eq!(wei(&b["unexplained_wei"]), 0, "{b}");
    assert!(wei(&b["min_wei"]) <= wei(&b["end_wei"]), "{b}");
    assert_eq!(wei(&b["max_wei"]), wei(&b["start_wei"]), "{b}");
    assert!(
        !w["balance_over_time"]
            .as_array()
            .expect("samples")
            .is_empty(),
        "{w}"
    );
    let on_chain = cast(
        url,
        &["balance", w["validator"].as_str().expect("validator")],
    );
    assert_eq!(on_chain.parse::<i128>().ok(), Some(wei(&b["end_wei"])));

    let markdown = std::fs::read_to_string(&report).expect("the report file");
    assert!(markdown.contains("Weight setting under load"), "{markdown}");
    assert!(markdown.contains("drift (blocks)"), "{markdown}");
    let html = std::fs::read_to_string(report.with_extension("html")).expect("the HTML report");
    assert!(html.contains("EvmValidator balance"), "balance plot");
    assert!(html.contains("<svg"), "plots in the HTML report");

    // The subnet's rate limit back (the loop's uid set weights a few blocks ago): every
    // attempt of the loop fails, so the run fails although every transaction is included.
    cast(
        url,
        &[
            "rpc",
            "subtensor_setHyperparameter",
            "--raw",
            r#"[{"name":"weights_set_rate_limit","value":1000}]"#,
        ],
    );
    let (code, out, stderr) = loadtest(&[
        "--scenario",
        "weights",
        "--transactions",
        "20",
        "--concurrent",
        "2",
        // A second of load: the interval passes during it and the loop tries.
        "--rate",
        "20",
    ]);
    assert_eq!(code, 1, "{out}\n{stderr}");
    assert_eq!(out["data"]["included"], 20, "{out}");
    let w = &out["data"]["weights"];
    assert_eq!(w["loop"]["rounds"], 0, "{w}");
    assert!(w["loop"]["failures"].as_u64() >= Some(1), "{w}");
    let reasons = w["loop"]["failed"].as_object().expect("failures by reason");
    assert!(
        reasons.keys().any(|r| r.contains("SettingWeightsTooFast")),
        "{w}"
    );
    assert_eq!(
        w["loop"]["stopped"], "stop requested",
        "the loop was stopped: {w}"
    );
    let message = out["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("the validator loop managed no round"),
        "{message}"
    );
}
