//! `taonado loadtest` against a devnet child: every transfer included with no nonce gap,
//! every call answered, percentiles present; and the refusals that exit 2. Only counts
//! are checked, never timings.

use serde_json::Value;

use crate::support::{Devnet, Sandbox, envelope, run};

fn loadtest(sandbox: &Sandbox, url: &str, args: &[&str]) -> (i32, Value, String) {
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["-q", "--json", "loadtest", "--rpc-url", url])
        .args(args));
    (code, envelope(&stdout), stderr)
}

fn assert_percentiles(p: &Value, count: u64) {
    assert_eq!(p["count"], count, "{p}");
    for key in ["p50_ms", "p95_ms", "p99_ms", "max_ms"] {
        assert!(p[key].as_f64().is_some_and(|v| v >= 0.0), "{key}: {p}");
    }
    assert!(p["p50_ms"].as_f64() <= p["max_ms"].as_f64(), "{p}");
}

#[test]
fn transfers_are_all_included_and_calls_all_answered() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let report = sandbox.path().join("loadtest.md");
    let report_arg = report.to_str().expect("utf-8 path");

    let (code, out, stderr) = loadtest(
        &sandbox,
        &devnet.url,
        &[
            "--scenario",
            "transfer",
            "--transactions",
            "50",
            "--concurrent",
            "5",
            "--report",
            report_arg,
        ],
    );
    assert_eq!(code, 0, "{out}\n{stderr}");
    let data = &out["data"];
    assert_eq!(data["scenario"], "transfer");
    assert_eq!(data["sent"], 50, "{data}");
    assert_eq!(data["included"], 50, "{data}");
    assert_eq!(data["reverted"], 0, "{data}");
    assert_eq!(data["failed"], 0, "{data}");
    assert_eq!(
        data["per_block"].as_array().map(Vec::len),
        Some(50),
        "{data}"
    );
    assert_eq!(
        data["latency_over_time"].as_array().map(Vec::len),
        Some(50),
        "{data}"
    );
    assert_eq!(data["in_flight"], 0, "{data}");
    assert_eq!(data["errors"], serde_json::json!({}), "{data}");
    assert_percentiles(&data["submission"], 50);
    assert_percentiles(&data["inclusion"], 50);
    assert_eq!(data["wallets"]["children"], 5);
    assert_eq!(data["wallets"]["nonce_gaps"], 0);
    assert!(
        data["blocks"]["gas_used_total"].as_u64() >= Some(50 * 21_000),
        "{data}"
    );
    let markdown = std::fs::read_to_string(&report).expect("the report file");
    assert!(markdown.contains("**included:** 50"), "{markdown}");
    let html = std::fs::read_to_string(report.with_extension("html")).expect("the HTML report");
    assert!(html.contains("<svg"), "plots in the HTML report");

    // A second run reuses the same children (derived from the funder): their nonces start
    // where the node says, and they are topped up only where short.
    let (code, out, stderr) = loadtest(
        &sandbox,
        &devnet.url,
        &[
            "--scenario",
            "transfer",
            "--transactions",
            "10",
            "--concurrent",
            "5",
        ],
    );
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert_eq!(out["data"]["included"], 10);
    assert_eq!(out["data"]["wallets"]["nonce_gaps"], 0, "{out}");

    let (code, out, stderr) = loadtest(
        &sandbox,
        &devnet.url,
        &[
            "--scenario",
            "calls",
            "--transactions",
            "300",
            "--concurrent",
            "4",
        ],
    );
    assert_eq!(code, 0, "{out}\n{stderr}");
    let data = &out["data"];
    assert_eq!(
        (data["sent"].as_u64(), data["included"].as_u64()),
        (Some(300), Some(300))
    );
    assert_eq!(data["failed"], 0);
    let methods = data["methods"].as_array().expect("methods");
    assert_eq!(methods.len(), 3);
    for method in methods {
        assert_eq!(method["ok"], 100, "{method}");
        assert_percentiles(&method["latency"], 100);
    }
    assert_percentiles(&data["submission"], 300);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let sandbox = Sandbox::new();
    // Checked before connecting: no chain needed.
    let url = "http://127.0.0.1:9";
    for (args, flag) in [
        (&["--concurrent", "0"][..], "--concurrent"),
        (
            &["--transactions", "3", "--concurrent", "5"],
            "--concurrent",
        ),
        (&["--window", "0"], "--window"),
    ] {
        let (code, out, stderr) = loadtest(&sandbox, url, args);
        assert_eq!(code, 2, "{args:?}: {out}\n{stderr}");
        let message = out["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains(flag), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
    let (code, out, stderr) = loadtest(&sandbox, url, &["--scenario", "nonsense"]);
    assert_eq!(code, 2, "{out}\n{stderr}");
    let message = out["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("unknown scenario `nonsense`"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn an_unfunded_key_exits_2_and_dry_run_sends_nothing() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    // A key no one funded (a well-known test vector, not a dev account).
    let unfunded = "0x0000000000000000000000000000000000000000000000000000000000000001";
    let (code, out, stderr) = loadtest(
        &sandbox,
        &devnet.url,
        &[
            "--transactions",
            "10",
            "--concurrent",
            "2",
            "--private-key",
            unfunded,
        ],
    );
    assert_eq!(code, 2, "{out}\n{stderr}");
    let message = out["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("this test needs"), "{message}");
    assert!(!message.contains('\n'));

    let (code, out, _) = loadtest(
        &sandbox,
        &devnet.url,
        &["--transactions", "10", "--concurrent", "2", "--dry-run"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out["data"]["estimated_spend_wei"].is_string(), "{out}");
    let block: Value = serde_json::from_str(&crate::support::cast(&devnet.url, &["block-number"]))
        .expect("block number");
    assert_eq!(block, 0, "a dry run sent something");

    // bottleneck on the same chain: every stage timed, ranked by share, report written.
    let report = sandbox.path().join("bottleneck.md");
    let (code, stdout, stderr) = run(sandbox.taonado().args([
        "-q",
        "--json",
        "bottleneck",
        "--rpc-url",
        &devnet.url,
        "--rounds",
        "2",
        "--tree-leaves",
        "50",
        "--report",
        report.to_str().expect("utf-8 path"),
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = &envelope(&stdout)["data"];
    let stages = data["stages"].as_array().expect("stages");
    let names: Vec<&str> = stages.iter().filter_map(|s| s["name"].as_str()).collect();
    for stage in [
        "rpc eth_call",
        "gas estimation",
        "fee look-up",
        "nonce look-up",
        "event sync",
        "merkle tree update",
        "merkle tree rebuild",
        "proof generation",
        "transaction inclusion",
        "indexer database write",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(stage)),
            "{stage}: {names:?}"
        );
    }
    let shares: Vec<f64> = stages.iter().filter_map(|s| s["share"].as_f64()).collect();
    assert!(
        (shares.iter().sum::<f64>() - 1.0).abs() < 1e-6,
        "{shares:?}"
    );
    assert!(
        shares.windows(2).all(|w| w[0] >= w[1]),
        "not ranked: {shares:?}"
    );
    assert!(
        stages
            .iter()
            .all(|s| s["advice"].as_str().is_some_and(|a| !a.is_empty()))
    );
    let markdown = std::fs::read_to_string(&report).expect("the report file");
    assert!(markdown.contains("| 1 |"), "{markdown}");
    let html = std::fs::read_to_string(report.with_extension("html")).expect("the HTML report");
    assert!(html.contains("<table"), "{html}");
}

/// Starts a long transfer run and returns it once `blocks` more blocks are mined (progress,
/// not a clock, decides when it is stopped).
fn start_long_run(sandbox: &Sandbox, url: &str, blocks: u64) -> std::process::Child {
    let head = || {
        crate::support::cast(url, &["block-number"])
            .parse::<u64>()
            .expect("block number")
    };
    let from = head();
    let child = sandbox
        .taonado()
        .args(["-q", "--json", "loadtest", "--rpc-url", url])
        .args([
            "--transactions",
            "2000",
            "--concurrent",
            "5",
            "--rate",
            "100",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn loadtest");
    let mut mined = from;
    for _ in 0..600 {
        mined = head();
        if mined >= from + blocks {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(mined >= from + blocks, "the load test made no progress");
    child
}

/// SIGTERM in the middle of a run: it stops with a partial report (exit 1). SIGKILL in
/// the middle of another: no report at all. Each time the next run on the same children
/// starts from the node's nonces (pool leftovers replaced) and succeeds with no gap.
#[test]
fn a_run_killed_midway_leaves_no_stuck_nonce() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    // 5 funding blocks, then one per transfer on an automining chain.
    let child = start_long_run(&sandbox, &devnet.url, 20);
    crate::support::terminate(&child);
    let output = child.wait_with_output().expect("wait for loadtest");
    assert_eq!(
        output.status.code(),
        Some(1),
        "an interrupted run is not a success"
    );
    let out = envelope(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(out["data"]["interrupted"], true, "{out}");
    assert!(out["data"]["sent"].as_u64() < Some(2000), "{out}");

    let rerun = |n: &str| {
        let (code, out, stderr) = loadtest(
            &sandbox,
            &devnet.url,
            &["--transactions", n, "--concurrent", "5"],
        );
        assert_eq!(code, 0, "{out}\n{stderr}");
        assert_eq!(out["data"]["included"], n.parse::<u64>().unwrap(), "{out}");
        assert_eq!(out["data"]["reverted"], 0, "{out}");
        assert_eq!(out["data"]["failed"], 0, "{out}");
        assert_eq!(out["data"]["wallets"]["nonce_gaps"], 0, "{out}");
    };
    rerun("25");

    // kill -9: no handler runs, whatever was in flight stays where it was.
    let mut child = start_long_run(&sandbox, &devnet.url, 10);
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait for loadtest");
    assert_eq!(status.code(), None, "killed by a signal");
    rerun("20");
}

/// `mixed`: transfers and `WTAO.deposit()`s alternate; every one included, half of them
/// wraps of 1 wei each.
#[test]
fn mixed_sends_transfers_and_wraps() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let wtao = crate::wtao::create_wtao(&devnet.url);
    let (code, out, stderr) = loadtest(
        &sandbox,
        &devnet.url,
        &[
            "--scenario",
            "mixed",
            "--wtao",
            &wtao,
            "--transactions",
            "40",
            "--concurrent",
            "4",
        ],
    );
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert_eq!(out["data"]["included"], 40, "{out}");
    assert_eq!(out["data"]["failed"], 0, "{out}");
    let supply = crate::support::cast(&devnet.url, &["call", &wtao, "totalSupply()(uint256)"]);
    assert_eq!(supply, "20");
}
