//! `taonado verify` against a local explorer that implements the Etherscan contract API
//! (verifysourcecode + checkverifystatus, verifyproxycontract + checkproxyverification):
//! pending then pass, a failing contract, and a flaky 5xx that is retried.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::support::{Devnet, Sandbox, envelope, fixture, run};

#[derive(Default)]
pub(crate) struct ExplorerState {
    /// Answer the next N submissions with HTTP 503.
    flaky: u32,
    /// Submissions whose contract name ends with this fail verification.
    fail_suffix: Option<String>,
    /// (params of each accepted submission).
    pub(crate) submissions: Vec<HashMap<String, String>>,
    polls: HashMap<String, u32>,
    rejected_5xx: u32,
    proxy_links: Vec<HashMap<String, String>>,
}

type Shared = Arc<Mutex<ExplorerState>>;

async fn api(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> axum::response::Response {
    let mut params = query;
    params.extend(url::form_urlencoded::parse(body.as_bytes()).into_owned());
    let mut s = state.lock().expect("explorer state");
    let ok = |result: &str| json!({"status": "1", "message": "OK", "result": result});
    let notok = |result: &str| json!({"status": "0", "message": "NOTOK", "result": result});
    let answer = match params.get("action").map(String::as_str) {
        Some("verifysourcecode") => {
            if s.flaky > 0 {
                s.flaky -= 1;
                s.rejected_5xx += 1;
                return (StatusCode::SERVICE_UNAVAILABLE, "upstream busy").into_response();
            }
            let name = params.get("contractname").cloned().unwrap_or_default();
            let fails = s
                .fail_suffix
                .as_ref()
                .is_some_and(|f| name.ends_with(f.as_str()));
            let guid = format!(
                "{}-{}",
                if fails { "fail" } else { "guid" },
                s.submissions.len()
            );
            s.submissions.push(params);
            ok(&guid)
        }
        Some("checkverifystatus") => {
            let guid = params.get("guid").cloned().unwrap_or_default();
            let polls = s.polls.entry(guid.clone()).or_default();
            *polls += 1;
            if guid.starts_with("fail") {
                notok("Fail - Unable to verify")
            } else if *polls == 1 {
                notok("Pending in queue")
            } else {
                ok("Pass - Verified")
            }
        }
        Some("verifyproxycontract") => {
            s.proxy_links.push(params);
            ok("proxy-guid")
        }
        Some("checkproxyverification") => {
            ok("The proxy's implementation contract is found and is successfully updated.")
        }
        _ => return (StatusCode::BAD_REQUEST, "unknown action").into_response(),
    };
    axum::Json(answer).into_response()
}

/// The explorer on a port of its own, in a thread with its own runtime; stopped on drop.
pub(crate) struct Explorer {
    pub(crate) url: String,
    pub(crate) state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Explorer {
    pub(crate) fn start(state: ExplorerState) -> Self {
        let state: Shared = Arc::new(Mutex::new(state));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                let app = axum::Router::new()
                    .route("/api", axum::routing::get(api).post(api))
                    .with_state(shared);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        let addr = addr_rx.recv().expect("explorer bound");
        Self {
            url: format!("http://{addr}/api"),
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Explorer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn verify(sandbox: &Sandbox, devnet: &Devnet, explorer: &Explorer) -> (i32, String, String) {
    run(sandbox
        .taonado()
        .env("TEST_EXPLORER_KEY", "secret-key")
        .args([
            "--json",
            "verify",
            "--rpc-url",
            &devnet.url,
            "--explorer",
            &explorer.url,
        ])
        .args([
            "--api-key-env",
            "TEST_EXPLORER_KEY",
            "--poll-interval",
            "0",
            "--retry-backoff",
            "0",
        ])
        .arg("--contracts-dir")
        .arg(repo("contracts"))
        .arg("--node-modules")
        .arg(repo("node_modules")))
}

fn result<'a>(results: &'a [Value], name: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {results:?}"))
}

#[test]
fn sources_are_submitted_polled_retried_and_reported() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let vk = fixture("placeholder.vk.json");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args([
            "--json",
            "deploy",
            "--rpc-url",
            &devnet.url,
            "--verifying-key",
        ])
        .arg(&vk));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join("deployments/local.json")).expect("record"),
    )
    .expect("record json");

    // One flaky 503 on the first submission, and DepositTracker fails verification.
    let explorer = Explorer::start(ExplorerState {
        flaky: 1,
        fail_suffix: Some(":DepositTracker".into()),
        ..ExplorerState::default()
    });
    let (code, stdout, stderr) = verify(&sandbox, &devnet, &explorer);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let message = envelope(&stdout)["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("DepositTracker FAILED: Fail - Unable to verify"),
        "{message}"
    );

    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join("deployments/local.verification.json"))
            .expect("result file"),
    )
    .expect("result json");
    let results = saved["results"].as_array().expect("results").clone();
    // WTAO went first: a 503, the accepted submission, "Pending in queue", "Pass - Verified".
    let wtao = result(&results, "WTAO");
    assert_eq!(wtao["status"], "verified", "{wtao}");
    assert_eq!(wtao["requests"], 4, "{wtao}");
    assert_eq!(wtao["local_match"], "exact");
    assert_eq!(result(&results, "DepositTracker")["status"], "failed");
    let hasher = result(&results, "Hasher");
    assert_eq!(hasher["status"], "skipped");
    assert!(
        hasher["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Yul"),
        "{hasher}"
    );
    for name in [
        "Verifier",
        "WeightsV3",
        "EvmValidatorImplementation",
        "EvmValidator",
        "Pool 1 WTAO",
    ] {
        assert_eq!(result(&results, name)["status"], "verified", "{name}");
    }
    assert_eq!(
        result(&results, "Pool 1 WTAO")["local_match"],
        "except-immutables"
    );
    assert_eq!(
        result(&results, "EvmValidator (proxy link)")["status"],
        "verified"
    );

    let state = explorer.state.lock().expect("state");
    assert_eq!(state.rejected_5xx, 1);
    let weights = state
        .submissions
        .iter()
        .find(|p| p["contractname"] == "src/mining/WeightsV3.sol:WeightsV3")
        .expect("WeightsV3 submitted");
    let recorded_args = record["contracts"]["WeightsV3"]["constructor_args"]
        .as_str()
        .expect("args")
        .trim_start_matches("0x")
        .to_owned();
    assert_eq!(weights["constructorArguements"], recorded_args);
    assert_eq!(weights["compilerversion"], "v0.8.37+commit.f401782d");
    assert_eq!(weights["codeformat"], "solidity-standard-json-input");
    assert_eq!(weights["apikey"], "secret-key");
    let input: Value = serde_json::from_str(&weights["sourceCode"]).expect("standard json");
    assert_eq!(input["language"], "Solidity");
    assert_eq!(input["settings"]["evmVersion"], "london");
    assert!(
        input["sources"]["src/mining/WeightsV3.sol"]["content"]
            .as_str()
            .is_some_and(|s| s.contains("contract WeightsV3")),
        "WeightsV3 source included"
    );
    assert!(
        input["sources"]
            .as_object()
            .is_some_and(|s| s.keys().any(|k| k.starts_with("@openzeppelin/"))),
        "OpenZeppelin imports included"
    );
    let proxy = &state.proxy_links[0];
    assert_eq!(
        proxy["expectedimplementation"].to_lowercase(),
        record["contracts"]["EvmValidatorImplementation"]["address"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
    );
    drop(state);

    // The explorer recovers: everything verifies and the command succeeds.
    explorer.state.lock().expect("state").fail_suffix = None;
    let (code, stdout, stderr) = verify(&sandbox, &devnet, &explorer);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(envelope(&stdout)["ok"], true);

    // The saved result renders as markdown and as json.
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["verify", "report", "--format", "md"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("# Source verification: local (chain 42)"),
        "{stdout}"
    );
    assert!(stdout.contains("Result: all verified"), "{stdout}");
    assert!(stdout.contains("| WeightsV3 |"), "{stdout}");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["verify", "report", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("json report");
    assert_eq!(
        report["results"].as_array().map(Vec::len),
        Some(results.len())
    );
}

#[test]
fn verify_without_a_record_or_report_file_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let (code, _, stderr) =
        run(sandbox
            .taonado()
            .args(["verify", "--explorer", "http://127.0.0.1:9/api"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no deployment record at deployments/local.json"),
        "{stderr}"
    );
    let (code, _, stderr) = run(sandbox.taonado().args(["verify", "report"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("run `taonado verify` first"), "{stderr}");
}

/// Writes the committed standard-JSON input's sources as a checkout under `root`
/// (`contracts/src/...` and `node_modules/@openzeppelin/...`), with `stub` replacing one file.
fn checkout_with_a_stub(root: &std::path::Path, stub: &str) {
    let input: Value = serde_json::from_str(taonado_contracts::STANDARD_JSON_INPUT).expect("json");
    for (unit, source) in input["sources"].as_object().expect("sources") {
        let base = if unit.starts_with("@openzeppelin/") {
            root.join("node_modules")
        } else {
            root.join("contracts")
        };
        let path = base.join(unit);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        let content = if unit == stub {
            "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.20;\ncontract ERC1967Proxy {}\n"
        } else {
            source["content"].as_str().expect("content")
        };
        std::fs::write(path, content).expect("write a source");
    }
}

#[test]
fn verify_refuses_a_source_the_artifacts_were_not_compiled_from_and_submits_nothing() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let vk = fixture("placeholder.vk.json");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args([
            "--json",
            "deploy",
            "--rpc-url",
            &devnet.url,
            "--verifying-key",
        ])
        .arg(&vk));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let stub = "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
    let checkout = sandbox.path().join("checkout");
    checkout_with_a_stub(&checkout, stub);
    let explorer = Explorer::start(ExplorerState::default());
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args([
            "--json",
            "verify",
            "--rpc-url",
            &devnet.url,
            "--explorer",
            &explorer.url,
        ])
        .arg("--contracts-dir")
        .arg(checkout.join("contracts"))
        .arg("--node-modules")
        .arg(checkout.join("node_modules")));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let message = envelope(&stdout)["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(&format!("source {stub} has keccak256")),
        "{message}"
    );
    let state = explorer.state.lock().expect("state");
    assert!(state.submissions.is_empty(), "{:?}", state.submissions);
}
