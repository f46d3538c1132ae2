//! The README flow from a folder that is not the checkout, with a fresh HOME: the binary
//! must bring everything it needs (the local dev keys, the sources `verify` submits) and
//! never read `keys/`, `contracts/` or `node_modules` relative to the working directory,
//! nor make keys behind the operator's back.

use serde_json::Value;

use crate::support::{Devnet, Sandbox, envelope, run_with_stdin};
use crate::verify::{Explorer, ExplorerState};

/// Runs `taonado --json <args>` in the sandbox and returns the envelope's data, asserting
/// exit 0 and that nothing was regenerated.
fn ok(sandbox: &Sandbox, args: &[&str], stdin: Option<&str>) -> Value {
    let mut cmd = sandbox.taonado();
    cmd.arg("--json").args(args);
    let (code, stdout, stderr) = run_with_stdin(&mut cmd, stdin);
    assert_eq!(code, 0, "{args:?}: {stdout}\n{stderr}");
    assert!(!stderr.contains("regenerat"), "{args:?}: {stderr}");
    // `up` prints its ready line first; the command's report is the last line.
    envelope(stdout.lines().last().unwrap_or_default())["data"].clone()
}

#[test]
fn the_readme_flow_runs_from_a_folder_outside_the_checkout() {
    let sandbox = Sandbox::new();
    let checkout = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the checkout");
    let cwd = sandbox.path().canonicalize().expect("the sandbox");
    assert!(!cwd.starts_with(&checkout), "{}", cwd.display());

    // `taonado up --fast`, as the README runs it: no key given.
    let up = ok(
        &sandbox,
        &[
            "up",
            "--port",
            "0",
            "--fast",
            "--miners",
            "1",
            "--exit-after-blocks",
            "12",
        ],
        None,
    );
    assert!(
        up["deployment"]["sent"].as_u64().is_some_and(|n| n > 0),
        "{up}"
    );

    // deploy, a mixer round trip and source verification against a devnet of its own.
    std::fs::remove_dir_all(sandbox.path().join("deployments")).expect("up's record");
    let devnet = Devnet::start(&sandbox, &[]);
    ok(&sandbox, &["deploy", "--rpc-url", &devnet.url], None);
    let deposit = ok(
        &sandbox,
        &[
            "--rpc-url",
            &devnet.url,
            "mixer",
            "deposit",
            "--pool",
            "1",
            "--wrap",
        ],
        None,
    );
    let note = deposit["note"].as_str().expect("a note");
    let withdraw = ok(
        &sandbox,
        &[
            "--rpc-url",
            &devnet.url,
            "mixer",
            "withdraw",
            "--note",
            "-",
            "--recipient",
            "0x00000000000000000000000000000000000000a7",
        ],
        Some(note),
    );
    assert_eq!(withdraw["proving_key"]["setup"], "local-dev-insecure");
    assert_eq!(withdraw["keys_dir"], Value::Null, "{withdraw}");

    let explorer = Explorer::start(ExplorerState::default());
    let verify = ok(
        &sandbox,
        &[
            "verify",
            "--rpc-url",
            &devnet.url,
            "--explorer",
            &explorer.url,
            "--poll-interval",
            "0",
        ],
        None,
    );
    assert!(
        verify["results"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["status"] == "verified")),
        "{verify}"
    );
    let submissions = &explorer.state.lock().expect("explorer state").submissions;
    let input: Value = serde_json::from_str(&submissions[0]["sourceCode"]).expect("json input");
    assert!(
        input["sources"]
            .as_object()
            .is_some_and(|s| s.keys().any(|k| k.starts_with("@openzeppelin/"))),
        "the OpenZeppelin sources come with the binary"
    );

    // Nothing was made next to the working directory but the operator's data.
    assert!(!sandbox.path().join("keys").exists());
    assert!(!sandbox.path().join("node_modules").exists());
}
