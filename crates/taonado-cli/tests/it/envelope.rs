//! The `--json` envelope of a check that fails: `ok: false`, the whole report as `data`,
//! the failure in `errors`, exit 1; people get the same report and `error: …` on stderr.

use crate::support::{Sandbox, envelope, run};

/// Nothing listens on port 1, so every check that needs the node fails.
const DEAD_RPC: &str = "http://127.0.0.1:1";

#[test]
fn a_failed_health_check_keeps_its_report_in_the_envelope() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "health", "--rpc-url", DEAD_RPC]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let value = envelope(&stdout);
    assert_eq!(value["ok"], false, "{value}");
    assert_eq!(value["errors"][0]["kind"], "failed", "{value}");
    let message = value["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("unhealthy: "), "{message}");

    let data = &value["data"];
    assert_eq!(data["healthy"], false, "{value}");
    let checks = data["checks"]
        .as_array()
        .expect("data.checks is the report");
    let failing: Vec<&str> = checks
        .iter()
        .filter(|c| c["ok"] == false)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(!failing.is_empty(), "{data}");
    // The error names exactly the checks the report marks as failing.
    for name in &failing {
        assert!(message.contains(name), "{name} missing from {message}");
    }

    // People: the report on stdout, the error on stderr, the same exit code.
    let (code, stdout, stderr) = run(sandbox.taonado().args(["health", "--rpc-url", DEAD_RPC]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("unhealthy"), "{stdout}");
    assert!(!stdout.trim_start().starts_with('{'), "{stdout}");
    assert!(stderr.contains("error: unhealthy: "), "{stderr}");
}

#[test]
fn a_failed_net_check_lists_every_network_in_data() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.path().join("taonado.toml"),
        format!("[networks.testnet]\nrpc_url = \"{DEAD_RPC}\"\n"),
    )
    .expect("write config");
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "net", "check", "--network", "testnet"]));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let value = envelope(&stdout);
    assert_eq!(value["ok"], false, "{value}");
    assert_eq!(value["data"]["ok"], false, "{value}");
    let networks = value["data"]["networks"].as_array().expect("data.networks");
    assert_eq!(networks.len(), 1, "{value}");
    assert_eq!(networks[0]["network"], "testnet");
    assert_eq!(networks[0]["failed"], true, "{value}");
    assert!(
        value["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("1 network(s) down"),
        "{value}"
    );
}

#[test]
fn a_failed_deploy_check_keeps_the_checks_that_passed() {
    let sandbox = Sandbox::new();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["--json", "deploy", "check", "--rpc-url", DEAD_RPC])
        .arg("--verifying-key")
        .arg(repo.join("keys/local/withdraw.vk.json"))
        .arg("--artifacts-dir")
        .arg(repo.join("crates/taonado-contracts/artifacts"))
        .arg("--contracts-dir")
        .arg(repo.join("contracts")));
    assert_eq!(code, 1, "{stdout}{stderr}");
    let value = envelope(&stdout);
    assert_eq!(value["ok"], false, "{value}");
    let data = &value["data"];
    let checks = data["checks"].as_array().expect("data.checks");
    let count = |status: &str| checks.iter().filter(|c| c["status"] == status).count();
    // The checks that need no node passed and are kept; the unreachable node is the failure.
    assert!(count("pass") > 0, "{data}");
    assert_eq!(data["failed"], count("fail"), "{data}");
    assert_eq!(data["passed"], count("pass"), "{data}");
    assert!(
        checks
            .iter()
            .any(|c| c["subject"] == "rpc" && c["check"] == "reachable" && c["status"] == "fail"),
        "{data}"
    );
    let message = value["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "deploy check: {} of {} checks failed",
            count("fail"),
            checks.len()
        )),
        "{message}"
    );
}
