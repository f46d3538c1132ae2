//! `taonado mixer withdraw --keys-dir`: a pool deployed with a non-local verifying key is
//! withdrawn from with the keys of that setup, the local dev keys are refused against it in
//! one line (exit 2, nothing sent), and the report names the setup the proving key came
//! from. The full path (a two-party `taonado zk ceremony`, deploy, deposit, withdraw) takes
//! about half a minute in a debug build, so it runs only with `TAONADO_SLOW_TESTS=1`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Devnet, Sandbox, cast, envelope, run};

/// The repository's local dev keys.
fn local_keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../keys/local")
}

fn slow_tests() -> bool {
    std::env::var("TAONADO_SLOW_TESTS").is_ok_and(|v| v == "1")
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A fresh, never-used address.
fn fresh_address(seed: u8) -> String {
    format!("0x{}", format!("{seed:02x}").repeat(20))
}

/// `dir` with the local dev proving key and its verifying key relabelled `setup`: the same
/// points under another setup's name.
fn relabelled_local_keys(dir: &Path, setup: &str) {
    std::fs::create_dir_all(dir).expect("create the key directory");
    std::fs::copy(
        local_keys_dir().join("withdraw.pk.bin"),
        dir.join("withdraw.pk.bin"),
    )
    .expect("copy the proving key");
    let text = std::fs::read_to_string(local_keys_dir().join("withdraw.vk.json"))
        .expect("the committed verifying key");
    let mut value: Value = serde_json::from_str(&text).expect("JSON");
    value["taonado"]["setup"] = setup.into();
    std::fs::write(dir.join("withdraw.vk.json"), value.to_string()).expect("write");
}

/// A devnet child with the protocol deployed from `verifying_key` and one 1 WTAO deposit.
struct Deployment {
    sandbox: Sandbox,
    devnet: Devnet,
    wtao: String,
    note: String,
}

impl Deployment {
    fn start(sandbox: Sandbox, verifying_key: &Path, expected_setup: &str) -> Self {
        let devnet = Devnet::start(&sandbox, &[]);
        let (code, stdout, stderr) = run(sandbox.taonado().args([
            "--json",
            "deploy",
            "--rpc-url",
            &devnet.url,
            "--verifying-key",
            path_arg(verifying_key),
        ]));
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let data = envelope(&stdout)["data"].clone();
        assert_eq!(data["verifier_key_setup"], expected_setup, "{data}");
        let wtao = data["contracts"]
            .as_array()
            .expect("contracts")
            .iter()
            .find(|c| c["name"] == "WTAO")
            .and_then(|c| c["address"].as_str())
            .expect("WTAO deployed")
            .to_owned();
        let (code, stdout, stderr) = run(sandbox.taonado().args([
            "--json",
            "--rpc-url",
            &devnet.url,
            "mixer",
            "deposit",
            "--pool",
            "1",
            "--wrap",
        ]));
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let note = envelope(&stdout)["data"]["note"]
            .as_str()
            .expect("note")
            .to_owned();
        Self {
            sandbox,
            devnet,
            wtao,
            note,
        }
    }

    /// `taonado [--json] mixer withdraw --keys-dir <keys>` of the deposit to `recipient`.
    fn withdraw(&self, keys: &Path, recipient: &str, json: bool) -> (i32, String, String) {
        let mut cmd = self.sandbox.taonado();
        if json {
            cmd.arg("--json");
        }
        run(cmd.args([
            "-q",
            "--rpc-url",
            &self.devnet.url,
            "mixer",
            "withdraw",
            "--note",
            &self.note,
            "--recipient",
            recipient,
            "--keys-dir",
            path_arg(keys),
        ]))
    }

    fn wtao_balance(&self, account: &str) -> String {
        let balance = cast(
            &self.devnet.url,
            &["call", &self.wtao, "balanceOf(address)(uint256)", account],
        );
        balance
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// Withdrawing with `keys` is refused: exit 2, one stderr line holding every `expect`,
    /// and the recipient receives nothing.
    fn assert_refused(&self, keys: &Path, recipient: &str, expect: &[&str]) {
        let (code, stdout, stderr) = self.withdraw(keys, recipient, false);
        assert_eq!(code, 2, "{stdout}\n{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        for text in expect {
            assert!(stderr.contains(text), "expected {text:?} in {stderr}");
        }
        assert_eq!(self.wtao_balance(recipient), "0");
    }
}

/// The local dev key relabelled `ceremony:relabelled` stands in for ceremony keys (same
/// points, another setup label): the committed local keys are refused against it, its own
/// key directory withdraws, and the human output says which setup proved.
#[test]
fn withdraw_needs_the_keys_of_the_deployed_setup() {
    let sandbox = Sandbox::new();
    let keys = sandbox.path().join("relabelled-keys");
    relabelled_local_keys(&keys, "ceremony:relabelled");
    let deployment = Deployment::start(
        sandbox,
        &keys.join("withdraw.vk.json"),
        "ceremony:relabelled",
    );
    let recipient = fresh_address(0xc1);
    deployment.assert_refused(
        &local_keys_dir(),
        &recipient,
        &[
            "\"ceremony:relabelled\"",
            "\"local-dev-insecure\"",
            "--keys-dir",
        ],
    );

    let (code, stdout, stderr) = deployment.withdraw(&keys, &recipient, false);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "proving key: setup ceremony:relabelled from {}",
            keys.display()
        )),
        "{stdout}"
    );
    assert_eq!(deployment.wtao_balance(&recipient), "1000000000000000000");
}

/// A two-party ceremony through the CLI, the pools deployed with its verifying key, a
/// deposit withdrawn with its proving key to a fresh address. The local dev keys, and the
/// local key relabelled with the ceremony's name, are refused first and move nothing.
#[test]
fn ceremony_keys_deploy_and_withdraw_end_to_end() {
    if !slow_tests() {
        return;
    }
    let sandbox = Sandbox::new();
    let zk = |args: &[&str]| {
        let (code, stdout, stderr) = run(sandbox
            .taonado()
            .args(["--json", "zk", "ceremony"])
            .args(args));
        assert_eq!(code, 0, "{args:?}: {stdout}\n{stderr}");
        envelope(&stdout)["data"].clone()
    };
    zk(&["init", "--name", "e2e", "--out", "c.bin"]);
    for (who, entropy) in [("alice", "alice's dice"), ("bob", "bob's coin flips")] {
        zk(&[
            "contribute",
            "c.bin",
            "--contributor",
            who,
            "--entropy",
            entropy,
        ]);
    }
    let verified = zk(&["verify", "c.bin"]);
    assert_eq!(verified["contributions"].as_array().map(Vec::len), Some(2));
    zk(&["export", "c.bin", "--out-dir", "ceremony-keys"]);
    let keys = sandbox.path().join("ceremony-keys");
    let impostor = sandbox.path().join("impostor-keys");
    relabelled_local_keys(&impostor, "ceremony:e2e");

    let deployment = Deployment::start(sandbox, &keys.join("withdraw.vk.json"), "ceremony:e2e");
    let recipient = fresh_address(0xc2);
    deployment.assert_refused(
        &local_keys_dir(),
        &recipient,
        &["\"ceremony:e2e\"", "\"local-dev-insecure\"", "--keys-dir"],
    );
    deployment.assert_refused(
        &impostor,
        &recipient,
        &["is not the key the deployed verifier embeds"],
    );

    let (code, stdout, stderr) = deployment.withdraw(&keys, &recipient, true);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = envelope(&stdout)["data"].clone();
    assert_eq!(data["proving_key"]["setup"], "ceremony:e2e", "{data}");
    assert_eq!(data["proving_key"]["contributions"], 2, "{data}");
    assert_eq!(data["proving_key"]["phase1"], "local-insecure", "{data}");
    assert_eq!(deployment.wtao_balance(&recipient), "1000000000000000000");
}
