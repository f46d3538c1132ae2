//! Usage, configuration and the JSON envelope, without a chain.

use crate::support::{Sandbox, envelope, run};

#[test]
fn bad_usage_exits_2() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = run(sandbox.taonado().args(["deploy", "--no-such-flag"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
}

#[test]
fn bad_usage_under_json_is_an_envelope() {
    let sandbox = Sandbox::new();
    let (code, stdout, _) = run(sandbox.taonado().args(["--json", "frobnicate"]));
    assert_eq!(code, 2);
    let value = envelope(&stdout);
    assert_eq!(value["ok"], false);
    assert_eq!(value["errors"][0]["kind"], "usage");
}

#[test]
fn unknown_network_exits_2_with_one_line() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--network", "nowhere", "config", "show"]));
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: unknown network `nowhere`"),
        "{stderr}"
    );
}

#[test]
fn unknown_network_under_json_is_an_error_envelope() {
    let sandbox = Sandbox::new();
    let (code, stdout, _) = run(sandbox
        .taonado()
        .env("TAONADO_NETWORK", "nowhere")
        .args(["--json", "config", "show"]));
    assert_eq!(code, 2);
    let value = envelope(&stdout);
    assert_eq!(value["ok"], false);
    assert_eq!(value["data"], serde_json::Value::Null);
    assert!(
        value["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown network `nowhere`")),
        "{value}"
    );
}

#[test]
fn networks_lists_presets_and_file_networks() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.path().join("taonado.toml"),
        "default_network = \"rehearsal\"\n[networks.rehearsal]\nchain_id = 945\nrpc_url = \"http://127.0.0.1:1\"\nnetuid = 347\n[networks.testnet]\nnetuid = 1\n",
    )
    .expect("write config");
    let (code, stdout, stderr) = run(sandbox.taonado().args(["--json", "networks"]));
    assert_eq!(code, 0, "{stderr}");
    let value = envelope(&stdout);
    let data = &value["data"];
    assert_eq!(data["default_network"], "rehearsal");
    let names: Vec<&str> = data["networks"]
        .as_array()
        .expect("networks")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(names, ["local", "testnet", "mainnet", "rehearsal"]);
    assert_eq!(data["networks"][1]["netuid"], 1);
    assert_eq!(data["networks"][1]["origin"], "preset+file");
    assert_eq!(data["networks"][3]["origin"], "file");
}

#[test]
fn config_precedence_file_env_flag() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("custom.toml");
    std::fs::write(
        &file,
        "[networks.testnet]\nrpc_url = \"http://127.0.0.1:2\"\n",
    )
    .expect("write config");
    let show = |extra: &[&str]| {
        let (code, stdout, stderr) = run(sandbox
            .taonado()
            .env("TAONADO_CONFIG", &file)
            .args(["--json", "--network", "testnet", "config", "show"])
            .args(extra));
        assert_eq!(code, 0, "{stderr}");
        envelope(&stdout)["data"]["network"]["rpc_url"]
            .as_str()
            .expect("rpc_url")
            .to_owned()
    };
    assert_eq!(show(&[]), "http://127.0.0.1:2/");
    assert_eq!(
        show(&["--rpc-url", "http://127.0.0.1:3"]),
        "http://127.0.0.1:3/"
    );
}

#[test]
fn invalid_config_file_names_path_and_field() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.path().join("taonado.toml"),
        "[networks.staging]\nrpc_url = \"http://x\"\nnetuid = 1\n",
    )
    .expect("write config");
    let (code, _, stderr) = run(sandbox.taonado().args(["networks"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("taonado.toml"), "{stderr}");
    assert!(stderr.contains("networks.staging.chain_id"), "{stderr}");
}

#[test]
fn broken_pipe_is_not_an_error() {
    let sandbox = Sandbox::new();
    let mut child = sandbox
        .taonado()
        .args(["networks"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Closing the read end before the child writes makes its write fail with EPIPE.
    drop(child.stdout.take());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn eth_rpc_url_only_redirects_remote_networks() {
    let sandbox = Sandbox::new();
    let rpc_url = |network: &str| {
        let (code, stdout, stderr) = run(sandbox
            .taonado()
            .env("ETH_RPC_URL", "http://127.0.0.1:4")
            .args(["--json", "--network", network, "config", "show"]));
        assert_eq!(code, 0, "{stderr}");
        envelope(&stdout)["data"]["network"]["rpc_url"]
            .as_str()
            .expect("rpc_url")
            .to_owned()
    };
    assert_eq!(rpc_url("testnet"), "http://127.0.0.1:4/");
    assert_eq!(
        rpc_url("local"),
        "http://127.0.0.1:8545/",
        "a dev chain ignores ETH_RPC_URL"
    );
}

#[test]
fn keystore_without_password_and_without_terminal_asks_for_a_file() {
    let sandbox = Sandbox::new();
    let keystore = crate::support::client_fixture("dev1.json");
    let (code, _, stderr) = run(sandbox
        .taonado()
        .args(["deploy", "--rpc-url", "http://127.0.0.1:9", "--keystore"])
        .arg(&keystore)
        .stdin(std::process::Stdio::null()));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--password-file"), "{stderr}");
}

/// An RPC URL's credentials (user info, an API key in the path or query) never reach the
/// terminal: not in `config show`, not in the error of an unreachable node.
#[test]
fn rpc_url_credentials_are_never_shown() {
    let sandbox = Sandbox::new();
    let url = "http://user:PASSWORD1@127.0.0.1:9/v2/APIKEY2?key=APIKEY3";
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--network", "testnet", "--rpc-url", url, "config", "show"]));
    assert_eq!(code, 0, "{stderr}");
    let (hcode, hout, herr) = run(sandbox.taonado().args([
        "--json",
        "--network",
        "testnet",
        "--rpc-url",
        url,
        "health",
        "--timeout",
        "2",
    ]));
    assert_eq!(hcode, 1, "{hout}\n{herr}");
    let (wcode, wout, werr) = run(sandbox.taonado().args([
        "--network",
        "testnet",
        "--rpc-url",
        url,
        "wtao",
        "balance",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    ]));
    assert_ne!(wcode, 0, "{wout}\n{werr}");
    for text in [&stdout, &stderr, &hout, &herr, &wout, &werr] {
        for secret in ["PASSWORD1", "APIKEY2", "APIKEY3"] {
            assert!(!text.contains(secret), "{secret} shown in: {text}");
        }
    }
    assert!(stdout.contains("127.0.0.1:9"), "{stdout}");
}
