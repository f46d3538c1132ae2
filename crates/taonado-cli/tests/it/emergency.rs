//! `taonado emergency …` and `taonado audit …` end to end: a devnet, a monitor and a
//! validator loop run as children of the test, register themselves, and `emergency stop`
//! ends them cleanly; stale entries are reported and never signalled.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Sandbox, envelope, fixture, run};

/// A child whose stdout is read whole after it exits.
struct Service {
    name: &'static str,
    child: Child,
}

impl Drop for Service {
    fn drop(&mut self) {
        // Only if the test failed before the child ended.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(name: &'static str, cmd: &mut Command) -> Service {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
    Service { name, child }
}

/// Waits (bounded) until `n` entries are registered; returns their file names.
fn wait_registered(home: &Path, n: usize) -> Vec<String> {
    let dir = home.join(".taonado/run");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        if names.len() >= n {
            return names;
        }
        assert!(
            Instant::now() < deadline,
            "only {names:?} registered in time"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The kernel's start time of a pid (field 22 of /proc/<pid>/stat).
fn proc_start(pid: u32) -> u64 {
    let line = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &line[line.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

#[test]
fn emergency_stop_ends_monitor_validator_and_devnet_cleanly() {
    let sandbox = Sandbox::new();
    // The devnet in text mode: its last line is the shutdown summary.
    let mut devnet = spawn("devnet", sandbox.taonado().args(["devnet", "--port", "0"]));
    let mut devnet_out = BufReader::new(devnet.child.stdout.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(devnet_out.read_line(&mut line).unwrap() > 0, "devnet ended");
        if let Some(url) = line.trim().strip_prefix("Listening on ") {
            break url.to_owned();
        }
    };
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["--json", "deploy", "--rpc-url", &url, "--verifying-key"])
        .arg(fixture("placeholder.vk.json")));
    assert_eq!(code, 0, "{stdout}{stderr}");

    // `assess` on the deployed chain: owners, balances and code matches.
    let (code, stdout, stderr) = run(sandbox.taonado().args([
        "--json",
        "emergency",
        "assess",
        "--rpc-url",
        &url,
        "--out",
        "assess.md",
    ]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let assess = envelope(&stdout);
    let contracts = assess["data"]["contracts"].as_array().unwrap();
    assert!(contracts.len() >= 4, "{assess}");
    for c in contracts {
        assert_eq!(c["code"]["matches"], true, "{c}");
    }
    let validator = contracts
        .iter()
        .find(|c| c["name"] == "EvmValidator")
        .unwrap();
    assert_eq!(validator["upgradeable"], true, "{validator}");
    assert_eq!(validator["owner"]["kind"], "key", "{validator}");
    assert!(
        assess["data"]["funds"]["wtao_total_supply_wei"].is_string(),
        "{assess}"
    );
    assert!(!assess["data"]["options"].as_array().unwrap().is_empty());
    let md = std::fs::read_to_string(sandbox.path().join("assess.md")).unwrap();
    assert!(md.contains("EvmValidator"), "{md}");

    // Two audit packages of the same tree and chain: identical manifests.
    let mut manifests = Vec::new();
    for _ in 0..2 {
        let (code, stdout, stderr) = run(sandbox.taonado().args([
            "--json",
            "audit",
            "package",
            "--rpc-url",
            &url,
            "--out",
            "pkg",
        ]));
        assert_eq!(code, 0, "{stdout}{stderr}");
        let package = envelope(&stdout);
        assert_eq!(package["data"]["chain"], "read", "{package}");
        manifests.push((
            package["data"]["manifest_sha256"].clone(),
            std::fs::read_to_string(sandbox.path().join("pkg/MANIFEST.sha256")).unwrap(),
        ));
    }
    assert_eq!(manifests[0], manifests[1]);
    let manifest = &manifests[0].1;
    for file in [
        "  deployment.json\n",
        "  artifacts/EvmValidator.json\n",
        "  storage-layouts/WeightsV3.json\n",
        "  sources/src/mining/WeightsV3.sol\n",
        "  dependencies.txt\n",
        "  gas-report.json\n",
        "  known-defects.md\n",
    ] {
        assert!(manifest.contains(file), "{file} missing from {manifest}");
    }
    let deployment = std::fs::read_to_string(sandbox.path().join("pkg/deployment.json")).unwrap();
    assert!(
        deployment.contains("code_keccak256\": \"0x"),
        "{deployment}"
    );
    // The report re-hashes the package and adds keys audit and the assessment.
    let report = |pkg: &str| {
        run(sandbox.taonado().args([
            "--json",
            "audit",
            "report",
            "--rpc-url",
            &url,
            "--package",
            pkg,
        ]))
    };
    let (code, stdout, stderr) = report("pkg");
    assert_eq!(code, 0, "{stdout}{stderr}");
    let summary = envelope(&stdout);
    assert_eq!(
        summary["data"]["package"]["problems"],
        serde_json::json!([]),
        "{summary}"
    );
    assert_eq!(summary["data"]["keys"]["passed"], true, "{summary}");
    assert!(
        summary["data"]["assessment"]["contracts"].is_array(),
        "{summary}"
    );
    std::fs::write(sandbox.path().join("pkg/known-defects.md"), "none").unwrap();
    let (code, stdout, _) = report("pkg");
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("known-defects.md: changed"), "{stdout}");
    let (code, _, stderr) = report("no-such-package");
    assert_eq!(code, 2, "{stderr}");
    // The weekly audit is stored; a backup folder whose sets never verified fails it.
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "audit", "weekly", "--rpc-url", &url]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let weekly = envelope(&stdout);
    let stored = weekly["data"]["stored"].as_str().unwrap();
    assert!(Path::new(stored).starts_with(sandbox.path().join(".taonado/audits")));
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(stored).unwrap()).unwrap();
    assert_eq!(kept["code"]["ok"], true, "{kept}");
    std::fs::create_dir(sandbox.path().join("backups")).unwrap();
    let (code, stdout, _) = run(sandbox.taonado().args([
        "--json",
        "audit",
        "weekly",
        "--rpc-url",
        &url,
        "--backups",
        "backups",
    ]));
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(envelope(&stdout)["data"]["backups"]["ok"], false);

    // A folder that is not a package is refused; so is a tarball: exit 2.
    for out in [".", "pkg.tar.gz"] {
        let (code, _, stderr) =
            run(sandbox
                .taonado()
                .args(["audit", "package", "--offline", "--out", out]));
        assert_eq!(code, 2, "{out}: {stderr}");
    }

    let mut monitor = spawn(
        "monitor",
        sandbox
            .taonado()
            .args(["monitor", "--rpc-url", &url, "--listen", "127.0.0.1:0"]),
    );
    let mut validator = spawn(
        "validator run",
        sandbox
            .taonado()
            .args(["validator", "run", "--rpc-url", &url, "--poll", "0.2"]),
    );
    wait_registered(sandbox.path(), 3);

    // Two stale entries: a pid that has exited, and this test's own pid with another start
    // time (signalling it would kill the test).
    let dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    let _ = dead.wait_with_output();
    let me = std::process::id();
    let run_dir = sandbox.path().join(".taonado/run");
    for (pid, start) in [(dead_pid, Some(1)), (me, Some(proc_start(me) + 1))] {
        let entry = serde_json::json!({"pid": pid, "command": "monitor", "network": "local",
            "started_at": 1, "proc_start": start});
        std::fs::write(run_dir.join(format!("{pid}.json")), entry.to_string()).unwrap();
    }

    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "emergency", "stop", "--dry-run"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let dry = envelope(&stdout);
    let would = |v: &Value, o: &str| {
        v["data"]["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["outcome"] == o)
            .count()
    };
    assert_eq!(would(&dry, "would_signal"), 3, "{dry}");
    assert_eq!(would(&dry, "stale"), 2, "{dry}");
    assert_eq!(
        wait_registered(sandbox.path(), 5).len(),
        5,
        "a dry run removes nothing"
    );

    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "emergency", "stop", "--timeout", "15s"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let stop = envelope(&stdout);
    assert_eq!(would(&stop, "terminated"), 3, "{stop}");
    assert_eq!(would(&stop, "stale"), 2, "{stop}");
    let processes = stop["data"]["processes"].as_array().unwrap();
    // The chain goes last.
    assert_eq!(processes.last().unwrap()["command"], "devnet", "{stop}");

    let summaries = [
        (&mut devnet, "devnet stopped at block"),
        (&mut monitor, "monitor stopped at block"),
        (&mut validator, "stopped (stop requested)"),
    ];
    let mut pids = Vec::new();
    for (service, summary) in summaries {
        pids.push(service.child.id());
        let status = service.child.wait().unwrap();
        let mut out = String::new();
        if let Some(mut s) = service.child.stdout.take() {
            s.read_to_string(&mut out).unwrap();
        }
        let mut err = String::new();
        service
            .child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(0), "{}: {out}{err}", service.name);
        let out = if service.name == "devnet" {
            let mut rest = String::new();
            devnet_out.read_to_string(&mut rest).unwrap();
            rest
        } else {
            out
        };
        assert!(out.contains(summary), "{}: {out}", service.name);
    }
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} is left"
        );
    }
    assert_eq!(std::fs::read_dir(&run_dir).unwrap().count(), 0);

    // Nothing left: a second stop has nothing to do.
    let (code, stdout, _) = run(sandbox.taonado().args(["emergency", "stop"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("no registered taonado process"), "{stdout}");
    // Bad input: one line, exit 2.
    let (code, _, stderr) = run(sandbox
        .taonado()
        .args(["emergency", "stop", "--timeout", "soon"]));
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn emergency_notify_goes_through_the_outbox_and_fails_when_a_channel_does() {
    let sandbox = Sandbox::new();
    let (hook, seen) = crate::monitor::receiver();
    let config = |url: &str| {
        std::fs::write(
            sandbox.path().join("monitor.toml"),
            format!(
                "[[channels]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{url}\"\nsecret_env = \"HOOK_SECRET\"\n"
            ),
        )
        .unwrap();
    };
    config(&hook);
    let notify = |extra: &[&str]| {
        run(sandbox
            .taonado()
            .env("HOOK_SECRET", crate::monitor::SECRET)
            .args(["--json", "emergency", "notify"])
            .args(extra))
    };
    let (code, stdout, stderr) = notify(&["--severity", "critical", "--message", "pool drained"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report = envelope(&stdout);
    assert_eq!(report["data"]["channels"][0]["delivered"], true, "{report}");
    let requests = seen.lock().unwrap();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].signed());
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["alert"]["summary"], "pool drained", "{body}");
    assert_eq!(body["alert"]["severity"], "critical", "{body}");
    drop(requests);

    // The channel is down: exit 1, and the message waits in the outbox.
    config("http://127.0.0.1:1/hook");
    let (code, stdout, _) = notify(&["--severity", "warning", "--message", "still down"]);
    assert_eq!(code, 1, "{stdout}");
    let report = envelope(&stdout);
    assert_eq!(
        report["data"]["channels"][0]["state"], "pending",
        "{report}"
    );
    let (_, stdout, _) = run(sandbox.taonado().args(["--json", "alerts", "list"]));
    assert_eq!(
        envelope(&stdout)["data"]["outbox"]["pending"],
        1,
        "{stdout}"
    );

    // Bad input: exit 2, nothing queued.
    let (code, _, stderr) = notify(&["--severity", "apocalyptic", "--message", "x"]);
    assert_eq!(code, 2, "{stderr}");
    let (_, stdout, _) = run(sandbox.taonado().args(["--json", "alerts", "list"]));
    assert_eq!(
        envelope(&stdout)["data"]["outbox"]["pending"],
        1,
        "{stdout}"
    );
}
