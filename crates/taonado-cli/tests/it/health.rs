//! `health` under cron: a node that accepts the connection but never answers makes the check
//! fail after the request timeout, never hang.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Sandbox, envelope};

/// Runs `cmd`, killing it (and failing the test) if it has not exited within `limit`.
fn run_within(cmd: &mut Command, limit: Duration) -> (i32, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run taonado");
    let started = Instant::now();
    while child.try_wait().expect("poll taonado").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("taonado still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("collect the output");
    (
        out.status.code().expect("exited normally, not by a signal"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_silent_endpoint_times_out_instead_of_hanging() {
    let sandbox = Sandbox::new();
    // Listening (the kernel completes the handshake) but never read from or answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let url = format!("http://{}", silent.local_addr().expect("local address"));
    let started = Instant::now();
    let (code, stdout, stderr) = run_within(
        sandbox
            .taonado()
            .args(["--json", "health", "--rpc-url", &url, "--timeout", "1"]),
        Duration::from_secs(60),
    );
    let took = started.elapsed();
    assert_eq!(code, 1, "{stdout}{stderr}");
    let value = envelope(&stdout);
    assert_eq!(value["data"]["healthy"], false, "{value}");
    let network = value["data"]["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == "network"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(network["ok"], false, "{value}");
    assert!(
        network["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("unreachable"),
        "{value}"
    );
    // One request, bounded by the 1 s timeout; the default (30 s) would be far above this.
    assert!(took < Duration::from_secs(15), "took {took:?}");
    drop(silent);
}
