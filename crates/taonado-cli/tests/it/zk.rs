//! `taonado zk`: key-info names the setup a key came from (and sees through a relabelled
//! local key); a full ceremony through the CLI runs with `TAONADO_SLOW_TESTS=1`.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{Sandbox, envelope, run};

fn local_verifying_key() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../keys/local/withdraw.vk.json")
}

fn key_info(sandbox: &Sandbox, vk: &std::path::Path) -> Value {
    let (code, stdout, stderr) = run(sandbox.taonado().args([
        "--json",
        "zk",
        "key-info",
        "--vk",
        vk.to_str().expect("utf-8 path"),
    ]));
    assert_eq!(code, 0, "{stderr}");
    envelope(&stdout)["data"].clone()
}

#[test]
fn key_info_flags_the_local_key_even_when_relabelled() {
    let sandbox = Sandbox::new();
    let data = key_info(&sandbox, &local_verifying_key());
    assert_eq!(data["setup"], "local-dev-insecure");
    assert_eq!(data["is_local_dev_key"], true);
    assert_eq!(data["matches_this_circuit"], true);
    assert_eq!(data["safe_for_live_network"], false);
    assert!(
        data["verdict"]
            .as_str()
            .is_some_and(|v| v.starts_with("LOCAL DEVELOPMENT KEY")),
        "{data}"
    );

    let text = std::fs::read_to_string(local_verifying_key()).expect("committed key");
    let mut value: Value = serde_json::from_str(&text).expect("JSON");
    value["taonado"]["setup"] = "ceremony:totally-real".into();
    value["taonado"]["phase1"] = "perpetual-powers-of-tau".into();
    let relabelled = sandbox.path().join("relabelled.vk.json");
    std::fs::write(&relabelled, value.to_string()).expect("writes");
    let data = key_info(&sandbox, &relabelled);
    assert_eq!(data["setup"], "ceremony:totally-real");
    assert_eq!(data["is_local_dev_key"], true);
    assert_eq!(data["safe_for_live_network"], false);
}

#[test]
fn key_info_describes_the_built_in_key_and_a_missing_file_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = run(sandbox.taonado().args(["--json", "zk", "key-info"]));
    assert_eq!(code, 0, "{stderr}");
    let data = &envelope(&stdout)["data"];
    assert_eq!(data["is_local_dev_key"], true, "{data}");
    let (code, _, stderr) =
        run(sandbox
            .taonado()
            .args(["zk", "key-info", "--vk", "absent.vk.json"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("absent.vk.json"), "{stderr}");
}

/// init, two contributions, verify, a tampered copy rejected, export, key-info.
#[test]
fn two_party_ceremony_through_the_cli() {
    if !std::env::var("TAONADO_SLOW_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let sandbox = Sandbox::new();
    let taonado = |args: &[&str]| {
        let (code, stdout, stderr) = run(sandbox.taonado().arg("--json").args(args));
        (code, envelope(&stdout), stderr)
    };
    let (code, data, stderr) =
        taonado(&["zk", "ceremony", "init", "--name", "e2e", "--out", "c.bin"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(data["data"]["contributions"], 0);
    for who in ["alice", "bob"] {
        let (code, data, stderr) = taonado(&[
            "zk",
            "ceremony",
            "contribute",
            "c.bin",
            "--contributor",
            who,
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            data["data"]["warning"]
                .as_str()
                .is_some_and(|w| w.contains("INSECURE"))
        );
    }
    let (code, data, stderr) = taonado(&["zk", "ceremony", "verify", "c.bin"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        data["data"]["contributions"].as_array().map(Vec::len),
        Some(2)
    );

    let mut bytes = std::fs::read(sandbox.path().join("c.bin")).expect("reads");
    let at = bytes.len() - 40;
    bytes[at] ^= 1;
    std::fs::write(sandbox.path().join("bad.bin"), &bytes).expect("writes");
    let (code, data, _) = taonado(&["zk", "ceremony", "verify", "bad.bin"]);
    assert_eq!(code, 1);
    assert_eq!(data["ok"], false);

    let (code, _, stderr) = taonado(&["zk", "ceremony", "export", "c.bin", "--out-dir", "keys"]);
    assert_eq!(code, 0, "{stderr}");
    let data = key_info(&sandbox, &sandbox.path().join("keys/withdraw.vk.json"));
    assert_eq!(data["setup"], "ceremony:e2e");
    assert_eq!(data["phase1"], "local-insecure");
    assert_eq!(data["contributions"], 2);
    assert_eq!(data["is_local_dev_key"], false);
    assert_eq!(data["safe_for_live_network"], false);
}

/// A ptau too small for the withdraw circuit, and a file that is not a ptau, are usage
/// errors that say what is wrong; no ceremony file is written.
#[test]
fn ceremony_init_rejects_a_small_or_foreign_ptau() {
    let sandbox = Sandbox::new();
    let small =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../taonado-zk/testdata/pot6_final.ptau");
    let init = |ptau: &std::path::Path| {
        run(sandbox.taonado().args([
            "zk",
            "ceremony",
            "init",
            "--name",
            "e2e",
            "--ptau",
            ptau.to_str().expect("utf-8 path"),
            "--out",
            "c.bin",
        ]))
    };
    let (code, _, stderr) = init(&small);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("needs 2^15 powers but the file has 2^6"),
        "{stderr}"
    );
    let foreign = sandbox.path().join("not.ptau");
    std::fs::write(&foreign, b"{\"protocol\": \"groth16\"}").expect("writes");
    let (code, _, stderr) = init(&foreign);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("not a snarkjs powers-of-tau file"),
        "{stderr}"
    );
    assert!(!sandbox.path().join("c.bin").exists());
}

/// Tornado's circuit hash is the sha256 of its JSON, not our circuit's hash: the label says so.
#[test]
fn key_info_for_tornado_says_what_its_circuit_hash_is() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["zk", "key-info", "--setup", "tornado"]));
    assert_eq!(code, 0, "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains("circuit hash"))
        .unwrap_or_else(|| panic!("no circuit hash row in {stdout}"));
    assert!(line.contains("Tornado's withdraw.json"), "{line}");
    assert!(!line.contains("this build's withdraw circuit"), "{line}");

    let (code, stdout, stderr) = run(sandbox.taonado().args(["zk", "key-info"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("(this build's withdraw circuit)"),
        "{stdout}"
    );
}
