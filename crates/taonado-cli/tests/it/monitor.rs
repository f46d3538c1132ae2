//! `taonado monitor`, `alerts`, `health` and `dashboard export` end to end: a devnet child
//! with the protocol deployed, a signed-webhook receiver on a port-0 socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::support::{Devnet, Sandbox, envelope, fixture, run};

pub(crate) const SECRET: &str = "cli-test-secret";

/// One received HTTP request: lower-cased headers and the body.
pub(crate) struct Request {
    headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub(crate) fn signed(&self) -> bool {
        let ts: u64 = self.header("x-taonado-timestamp").parse().unwrap_or(0);
        taonado_monitor::notify::verify(
            SECRET.as_bytes(),
            ts,
            &self.body,
            self.header("x-taonado-signature"),
        )
    }
}

/// A webhook receiver answering 200 to every request, on a thread.
pub(crate) fn receiver() -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap(); // request line
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            store.lock().unwrap().push(Request { headers, body });
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .unwrap();
        }
    });
    (url, seen)
}

pub(crate) fn deployed(sandbox: &Sandbox) -> Devnet {
    let devnet = Devnet::start(sandbox, &[]);
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args([
            "--json",
            "deploy",
            "--rpc-url",
            &devnet.url,
            "--verifying-key",
        ])
        .arg(fixture("placeholder.vk.json")));
    assert_eq!(code, 0, "{stdout}{stderr}");
    devnet
}

/// Warnings go out at once (`group_wait_secs = 0`): the monitor stops after a block here.
pub(crate) fn write_config(sandbox: &Sandbox, hook_url: &str, rules: &str) {
    std::fs::write(
        sandbox.path().join("monitor.toml"),
        format!(
            "[rules]\n{rules}\n[grouping]\ngroup_wait_secs = 0\n[[channels]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{hook_url}\"\nsecret_env = \"HOOK_SECRET\"\n"
        ),
    )
    .unwrap();
}

#[test]
fn monitor_fires_delivers_signed_and_lists_alerts() {
    let sandbox = Sandbox::new();
    let devnet = deployed(&sandbox);
    let (hook, seen) = receiver();
    // Funded with 10 TAO on a dev chain: a 1000 TAO floor fires.
    write_config(&sandbox, &hook, "validator_balance_min_tao = \"1000\"");

    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .env("HOOK_SECRET", SECRET)
        .args(["--json", "monitor", "--rpc-url", &devnet.url])
        .args(["--listen", "127.0.0.1:0", "--exit-after-blocks", "1"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report = envelope(&stdout);
    assert!(
        report["data"]["evaluations"].as_u64().unwrap() >= 1,
        "{report}"
    );
    assert!(
        report["data"]["dashboard_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(sandbox.path().join("data/local.db").exists());

    let requests = seen.lock().unwrap();
    let fired: Vec<Value> = requests
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .collect();
    let low = fired
        .iter()
        .position(|j| j["alert"]["rule"] == "validator_balance_low")
        .unwrap_or_else(|| panic!("no validator_balance_low delivery in {fired:?}"));
    assert!(requests[low].signed(), "HMAC signature must verify");
    assert!(!requests[low].header("idempotency-key").is_empty());
    drop(requests);

    let (code, stdout, _) = run(sandbox.taonado().args(["--json", "alerts", "list"]));
    assert_eq!(code, 0);
    let list = envelope(&stdout);
    let firing = list["data"]["firing"].as_array().unwrap();
    assert!(
        firing.iter().any(|a| a["rule"] == "validator_balance_low"),
        "{list}"
    );
    assert_eq!(list["data"]["outbox"]["pending"], 0, "{list}");

    let (code, stdout, _) = run(sandbox.taonado().args(["alerts", "list"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("validator_balance_low"), "{stdout}");
}

#[test]
fn alerts_test_reaches_the_channel_and_fails_when_it_cannot() {
    let sandbox = Sandbox::new();
    let (hook, seen) = receiver();
    write_config(&sandbox, &hook, "");
    let (code, stdout, stderr) = run(sandbox.taonado().env("HOOK_SECRET", SECRET).args([
        "alerts",
        "test",
        "--message",
        "hello from the test",
    ]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("ops: delivered"), "{stdout}");
    let requests = seen.lock().unwrap();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].signed());
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["transition"], "test");
    assert_eq!(body["alert"]["summary"], "hello from the test");
    drop(requests);

    // The secret is missing: a config error (2). The endpoint is down: a failure (1).
    let (code, _, stderr) = run(sandbox.taonado().args(["alerts", "test"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("HOOK_SECRET"), "{stderr}");
    write_config(&sandbox, "http://127.0.0.1:1/hook", "");
    let (code, stdout, _) = run(sandbox
        .taonado()
        .env("HOOK_SECRET", SECRET)
        .args(["--json", "alerts", "test"]));
    assert_eq!(code, 1);
    assert_eq!(envelope(&stdout)["ok"], false);
}

#[test]
fn health_exit_codes_follow_the_checks() {
    let sandbox = Sandbox::new();
    let devnet = deployed(&sandbox);
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "health", "--rpc-url", &devnet.url]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report = envelope(&stdout);
    assert_eq!(report["data"]["healthy"], true, "{report}");
    let checks = report["data"]["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "contract WTAO" && c["ok"] == true)
    );

    // A gas price above the configured limit is unhealthy (the devnet charges 20 gwei).
    std::fs::write(
        sandbox.path().join("monitor.toml"),
        "[rules]\navg_gas_price_max_gwei = 1.0\n",
    )
    .unwrap();
    let (code, stdout, _) = run(sandbox.taonado().args(["health", "--rpc-url", &devnet.url]));
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("unhealthy") && stdout.contains("gas price"),
        "{stdout}"
    );

    // An unreachable node is unhealthy, not a usage error.
    std::fs::remove_file(sandbox.path().join("monitor.toml")).unwrap();
    let (code, stdout, _) =
        run(sandbox
            .taonado()
            .args(["--json", "health", "--rpc-url", "http://127.0.0.1:1"]));
    assert_eq!(code, 1, "{stdout}");
    assert!(
        envelope(&stdout)["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("network")
    );
}

#[test]
fn dashboard_export_writes_a_grafana_model() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["dashboard", "export", "--output", "grafana.json"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let model: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join("grafana.json")).unwrap(),
    )
    .unwrap();
    let exprs: Vec<&str> = model["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["targets"][0]["expr"].as_str().unwrap())
        .collect();
    for metric in [
        "taonado_active_miners",
        "taonado_tx_success_rate",
        "taonado_pool_anonymity_set",
        "taonado_checkpoint_lag_blocks",
    ] {
        assert!(exprs.contains(&metric), "{metric} missing from {exprs:?}");
    }
}

#[test]
fn up_runs_the_monitor_and_prints_the_dashboard_url() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args([
            "up",
            "--port",
            "0",
            "--fast",
            "--no-sim",
            "--exit-after-blocks",
            "4",
        ])
        .arg("--verifying-key")
        .arg(fixture("placeholder.vk.json")));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Dashboard: "))
        .unwrap_or_else(|| panic!("no dashboard line in {stdout}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
}
