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
        (&["--fund-ahead", "0"], "--fund-ahead"),
        // No deployment in the sandbox: nothing to associate with.
        (&["--scenario", "associate"], "--tracker"),
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

    // The same chain configured as a live one: without a terminal it needs --yes; on a
    // terminal (a pty from util-linux's `script`) the plan and its estimated spend are
    // shown and the answer decides.
    std::fs::write(
        sandbox.path().join("taonado.toml"),
        format!(
            "[networks.rehearsal]\nchain_id = 42\nrpc_url = \"{}\"\nnetuid = 2\ndev_chain = false\n",
            devnet.url
        ),
    )
    .expect("write config");
    let live = [
        "loadtest",
        "--network",
        "rehearsal",
        "--transactions",
        "4",
        "--concurrent",
        "2",
    ];
    let dev_key = format!("{}", taonado_devnet::DEV_ACCOUNTS[0].private_key);
    let (code, _, stderr) = run(sandbox
        .taonado()
        .args(live)
        .env("TAONADO_PRIVATE_KEY", &dev_key)
        .stdin(std::process::Stdio::null()));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("estimated spend") && stderr.contains("--yes"),
        "{stderr}"
    );
    let on_terminal = |answer: &str| {
        let binary = assert_cmd::cargo::cargo_bin!("taonado");
        let command = std::iter::once(binary.to_str().expect("utf-8 path"))
            .chain(live)
            .collect::<Vec<_>>()
            .join(" ");
        crate::support::run_with_stdin(
            std::process::Command::new("script")
                .args(["-qec", &command, "/dev/null"])
                .current_dir(sandbox.path())
                .env("HOME", sandbox.path())
                .env_remove("TAONADO_NETWORK")
                .env_remove("TAONADO_CONFIG")
                .env("TAONADO_PRIVATE_KEY", &dev_key),
            Some(answer),
        )
    };
    let (code, stdout, _) = on_terminal("n\n");
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("estimated spend: at most"), "{stdout}");
    assert!(
        stdout.contains("not confirmed: nothing was sent"),
        "{stdout}"
    );
    let block: Value = serde_json::from_str(&crate::support::cast(&devnet.url, &["block-number"]))
        .expect("block number");
    assert_eq!(block, 0, "declined, yet something was sent");
    let (code, stdout, _) = on_terminal("y\n");
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("4 included"), "{stdout}");
    std::fs::remove_file(sandbox.path().join("taonado.toml")).expect("remove config");

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

/// `mixed` on a deployed protocol: transfers, wraps, associations (each from a fresh
/// one-shot wallet) and mixer deposits (each a fresh note, backed up first) in rotation;
/// every one included. The children are funded for 2 sends at a time, so the funder tops
/// them up while the load runs. A second `associate` run needs new one-shot wallets, and
/// gets them.
#[test]
fn mixed_sends_every_kind_and_children_are_topped_up_during_the_run() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["--json", "-q", "deploy", "--rpc-url", &devnet.url])
        .arg("--verifying-key")
        .arg(crate::support::fixture("placeholder.vk.json")));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join("deployments/local.json"))
            .expect("deployment record"),
    )
    .expect("record JSON");
    let notes = sandbox.path().join("notes.txt");
    let (code, out, stderr) = loadtest(
        &sandbox,
        &devnet.url,
        &[
            "--scenario",
            "mixed",
            "--transactions",
            "40",
            "--concurrent",
            "4",
            "--fund-ahead",
            "2",
            "--notes",
            notes.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(code, 0, "{out}\n{stderr}");
    let data = &out["data"];
    for key in ["sent", "included"] {
        assert_eq!(data[key], 40, "{key}: {data}");
    }
    for key in ["failed", "reverted", "in_flight"] {
        assert_eq!(data[key], 0, "{key}: {data}");
    }
    let wallets = &data["wallets"];
    assert_eq!(wallets["nonce_gaps"], 0, "{wallets}");
    assert_eq!(wallets["one_shot_wallets"], 10, "{wallets}");
    // Their headroom went back to the funder after the run: nothing left in them.
    assert_eq!(wallets["one_shot_swept"], 10, "{wallets}");
    assert_eq!(wallets["one_shot_left"], 0, "{wallets}");
    assert!(
        wallets["topped_up_during_run"].as_u64() > Some(0),
        "funded for 2 sends, 10 each: {wallets}"
    );
    assert_eq!(data["notes"]["notes"], 10, "{data}");
    assert_eq!(data["notes"]["deposited"], 10, "{data}");
    assert!(
        wallets["wtao_refills"].as_u64() > Some(0),
        "wrapped for 2 deposits at a time: {wallets}"
    );

    // The chain agrees: 10 wraps of 1 wei, 10 associations on the test's own hotkey, and
    // 10 deposits of the smallest pool, whose notes are in the backup (0600).
    let wtao = record_address(&record, "WTAO");
    let tracker = record_address(&record, "DepositTracker");
    let funder = taonado_devnet::DEV_ACCOUNTS[0].address;
    let hotkey = taonado_loadtest::workload::loadtest_hotkey(funder);
    let associated = || {
        crate::support::cast(
            &devnet.url,
            &[
                "call",
                &tracker,
                "associationSetLength(bytes32)(uint256)",
                &hotkey.to_string(),
            ],
        )
    };
    assert_eq!(associated(), "10");
    let pool = record["pools"][0]["address"].as_str().expect("a pool");
    let denomination = record["pools"][0]["denomination"]
        .as_str()
        .and_then(|d| u128::from_str_radix(d.trim_start_matches("0x"), 16).ok())
        .expect("denomination");
    let pooled = crate::support::cast(
        &devnet.url,
        &["call", &wtao, "balanceOf(address)(uint256)", pool],
    );
    let pooled: u128 = pooled
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("pool balance");
    assert_eq!(pooled, 10 * denomination);
    let backup = std::fs::read_to_string(&notes).expect("notes file");
    assert_eq!(
        backup.lines().filter(|l| l.starts_with("taonado-")).count(),
        10,
        "{backup}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&notes)
            .expect("notes")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let (code, out, stderr) = loadtest(
        &sandbox,
        &devnet.url,
        &[
            "--scenario",
            "associate",
            "--transactions",
            "6",
            "--concurrent",
            "2",
        ],
    );
    assert_eq!(
        code, 0,
        "a second run associates new wallets: {out}\n{stderr}"
    );
    assert_eq!(out["data"]["included"], 6, "{out}");
    assert_eq!(out["data"]["reverted"], 0, "{out}");
    assert_eq!(associated(), "16");
}

/// The address of contract `name` in a deployment record.
fn record_address(record: &Value, name: &str) -> String {
    record["contracts"][name]["address"]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {record}"))
        .to_owned()
}

/// A chain that stops including: each sender's window stays full, so it stops sending; the
/// run fails (exit 1) with the reason, instead of passing as a shorter run.
#[test]
fn a_chain_that_stops_including_fails_the_run() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    // Funds the children while the chain still mines, for 20 sends each (with 20 %
    // headroom: enough left for the 3 each of the next run, which so needs no top-up).
    let (code, out, stderr) = loadtest(
        &sandbox,
        &devnet.url,
        &["--transactions", "40", "--concurrent", "2"],
    );
    assert_eq!(code, 0, "{out}\n{stderr}");
    let args = ["--transactions", "6", "--concurrent", "2"];
    crate::support::cast(&devnet.url, &["rpc", "evm_setAutomine", "false"]);
    let (code, out, stderr) = loadtest(
        &sandbox,
        &devnet.url,
        &[&args[..], &["--inclusion-timeout", "1s"]].concat(),
    );
    assert_eq!(code, 1, "{out}\n{stderr}");
    let data = &out["data"];
    assert_eq!(data["included"], 0, "{data}");
    assert_eq!(
        data["sent"], 2,
        "one each, then the windows stay full: {data}"
    );
    let errors = data["errors"].as_object().expect("errors");
    assert_eq!(
        errors
            .iter()
            .filter(|(reason, _)| reason.starts_with("a sender stopped: its window stayed full"))
            .map(|(_, count)| count.as_u64())
            .sum::<Option<u64>>(),
        Some(2),
        "{data}"
    );
}
