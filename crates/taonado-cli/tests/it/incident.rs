//! `taonado incident …` end to end on a devnet child: the monitor's critical alert opens a
//! P0 incident, its (1 s) response target is missed and the missed-target alert reaches the
//! webhook, `mitigate` zeroes the EvmValidator's bounty on chain, `report` and `postmortem`
//! render, and bad input changes nothing.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::monitor::{SECRET, receiver};
use crate::support::{Devnet, Sandbox, cast, envelope, fixture, run, terminate};

fn json(sandbox: &Sandbox, args: &[&str]) -> (i32, Value, String) {
    let (code, stdout, stderr) = run(sandbox.taonado().arg("--json").args(args));
    let value = envelope(&stdout);
    (code, value, stderr)
}

/// Polls `check` every 100 ms for at most `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Monitor(Child);

impl Drop for Monitor {
    fn drop(&mut self) {
        terminate(&self.0);
        let _ = self.0.wait();
    }
}

#[test]
fn critical_alert_opens_p0_missed_target_fires_mitigate_zeroes_bounty_reports_render() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    let (code, deploy, stderr) = json(
        &sandbox,
        &[
            "deploy",
            "--rpc-url",
            url,
            "--verifying-key",
            fixture("placeholder.vk.json").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{deploy}{stderr}");
    let validator = deploy["data"]["record"]["contracts"]["EvmValidator"]["address"]
        .as_str()
        .expect("EvmValidator in the record")
        .to_owned();
    let (hook, seen) = receiver();
    // Every protocol transaction is above a 1-gas ceiling: the deployment's configuration
    // calls fire critical gas_used alerts. A P0 must be acknowledged within 1 s here.
    std::fs::write(
        sandbox.path().join("monitor.toml"),
        format!(
            "[rules]\ngas_used_max = 1\ndisabled = [\"validator_balance_low\", \"weight_interval\"]\n\
             [grouping]\ngroup_wait_secs = 0\n\
             [incidents]\np0_response_secs = 1\n\
             [[channels]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{hook}\"\nsecret_env = \"HOOK_SECRET\"\n"
        ),
    )
    .unwrap();

    let monitor = Monitor(
        sandbox
            .taonado()
            .env("HOOK_SECRET", SECRET)
            .args(["-q", "monitor", "--rpc-url", url, "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn the monitor"),
    );
    let incidents = wait_for(Duration::from_secs(20), "an incident", || {
        let (code, list, _) = json(&sandbox, &["incident", "list"]);
        let incidents = list["data"]["incidents"].as_array().cloned()?;
        (code == 0 && !incidents.is_empty()).then_some(incidents)
    });
    let first = incidents.last().unwrap().clone();
    assert_eq!(first["severity"], "P0", "{first}");
    assert_eq!(first["kind"], "contract-bug", "{first}");
    assert!(
        first["source_dedup_key"]
            .as_str()
            .unwrap()
            .starts_with("gas_used:0x"),
        "{first}"
    );
    let id = first["id"].as_i64().unwrap().to_string();

    // The missed target: the alert fires and reaches the webhook (one group: the first
    // notification may be a digest naming another incident of the group).
    let missed = wait_for(
        Duration::from_secs(10),
        "the missed-target alert delivered",
        || {
            seen.lock()
                .unwrap()
                .iter()
                .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
                .find(|b| b["alert"]["rule"] == "incident_response_target")
        },
    );
    assert_eq!(missed["alert"]["severity"], "critical", "{missed}");
    // Ticks go on every second: still one incident per critical alert, none for the
    // target alert itself.
    std::thread::sleep(Duration::from_millis(1_200));
    let (_, alerts, _) = json(&sandbox, &["alerts", "list", "--limit", "200"]);
    let critical: Vec<&Value> = alerts["data"]["firing"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["rule"] == "gas_used")
        .collect();
    let (_, list, _) = json(&sandbox, &["incident", "list"]);
    let open = list["data"]["incidents"].as_array().unwrap();
    assert_eq!(
        open.len(),
        critical.len(),
        "one incident per critical alert: {list}\n{alerts}"
    );
    assert!(
        open.iter().all(|i| i["target_missed_at"].is_u64()),
        "{list}"
    );
    drop(monitor);

    let (code, show, _) = json(&sandbox, &["incident", "show", &id]);
    assert_eq!(code, 0);
    let kinds: Vec<&str> = show["data"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[..3], ["opened", "alert", "target_missed"], "{show}");

    // Assess and notify go on the timeline; notify reaches the channel.
    let (code, assess, stderr) = json(&sandbox, &["incident", "assess", &id]);
    assert_eq!(code, 0, "{assess}{stderr}");
    assert_eq!(
        assess["data"]["named_transactions"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{assess}"
    );
    let (code, notify, stderr) = run(sandbox.taonado().env("HOOK_SECRET", SECRET).args([
        "--json",
        "incident",
        "notify",
        &id,
        "--message",
        "bounty being zeroed",
    ]));
    assert_eq!(code, 0, "{notify}{stderr}");
    assert_eq!(envelope(&notify)["data"]["delivery"]["sent"], 1, "{notify}");
    assert!(seen.lock().unwrap().iter().any(|r| {
        let b: Value = serde_json::from_slice(&r.body).unwrap();
        b["alert"]["rule"] == "incident"
            && b["alert"]["summary"]
                .as_str()
                .unwrap()
                .contains("bounty being zeroed")
    }));

    // Mitigation: the dry run sends nothing; the run zeroes the bounty on chain.
    let bounty = || cast(url, &["call", &validator, "setWeightsBounty()(uint256)"]);
    let before = bounty();
    assert_ne!(before, "0", "deploy sets a bounty");
    let (code, dry, stderr) = json(
        &sandbox,
        &["incident", "mitigate", &id, "--rpc-url", url, "--dry-run"],
    );
    assert_eq!(code, 0, "{dry}{stderr}");
    let planned: Vec<&str> = dry["data"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        planned,
        [
            "stop-automation",
            "zero-bounty",
            "raise-weight-interval",
            "propose-upgrade"
        ]
    );
    assert_eq!(bounty(), before, "a dry run sends nothing");
    let simulated = dry["data"]["done"].as_array().unwrap();
    // [0] is stop-automation (nothing is registered on the dev chain), [1] zero-bounty.
    assert_eq!(simulated[0]["after"], "no automation registered", "{dry}");
    assert!(simulated[1]["tx_hash"].is_null(), "{dry}");
    assert!(
        simulated[1]["before"].as_str().unwrap().ends_with("TAO"),
        "{dry}"
    );
    let (code, done, stderr) = json(
        &sandbox,
        &["incident", "mitigate", &id, "--rpc-url", url, "--yes"],
    );
    assert_eq!(code, 0, "{done}{stderr}");
    assert_eq!(bounty(), "0");
    assert_eq!(
        cast(
            url,
            &["call", &validator, "setWeightsBlockInterval()(uint256)"]
        ),
        "7200"
    );
    let steps = done["data"]["done"].as_array().unwrap();
    assert!(
        steps[1]["tx_hash"].as_str().unwrap().starts_with("0x"),
        "{done}"
    );
    assert!(
        steps[3]["command"]
            .as_str()
            .unwrap()
            .contains("upgrade evm-validator"),
        "{done}"
    );

    let (code, _, _) = json(
        &sandbox,
        &["incident", "resolve", &id, "--note", "bounty zeroed"],
    );
    assert_eq!(code, 0);
    let (code, report, _) = run(sandbox.taonado().args(["incident", "report", &id]));
    assert_eq!(code, 0);
    assert!(
        report.starts_with(&format!("# Incident report: incident {id}")),
        "{report}"
    );
    assert!(
        report.contains("## Timeline") && report.contains("## Actions taken"),
        "{report}"
    );
    assert!(
        report.contains(steps[1]["tx_hash"].as_str().unwrap()),
        "{report}"
    );
    let (code, html, _) = run(sandbox
        .taonado()
        .args(["incident", "postmortem", &id, "--html"]));
    assert_eq!(code, 0);
    assert!(
        html.contains("<html") && html.contains("Follow-ups"),
        "{html}"
    );
    let (code, post, _) = json(&sandbox, &["incident", "postmortem", &id]);
    assert_eq!(code, 0);
    let markdown = post["data"]["markdown"].as_str().unwrap();
    assert!(
        markdown.contains("## Impact") && markdown.contains("## Follow-ups"),
        "{markdown}"
    );
    assert!(markdown.contains("**missed**"), "{markdown}");
    assert_eq!(post["data"]["impact"]["response_target_met"], false);
    assert_eq!(post["data"]["incident"]["status"], "resolved");

    // Bad input: one line, exit 2, nothing changed.
    let count = || {
        let (_, list, _) = json(&sandbox, &["incident", "list", "--all"]);
        list["data"]["incidents"].as_array().unwrap().len()
    };
    let total = count();
    for args in [
        &["incident", "open", "--title", "x", "--severity", "P9"][..],
        &["incident", "show", "999"],
        &["incident", "ack", "999"],
        &["incident", "mitigate", "999", "--rpc-url", url, "--yes"],
    ] {
        let (code, stdout, stderr) = run(sandbox.taonado().args(args));
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    assert_eq!(count(), total);
    assert_eq!(bounty(), "0");
}
