//! `taonado keys list` and `keys audit` through the real binary, with a fresh HOME: a key
//! made by `wallet new` passes; a plaintext key in the config, the shell history or the
//! environment, a readable note backup and an open keystore folder are each one line, and
//! the audit exits 1 without ever printing the secret.

use std::os::unix::fs::PermissionsExt;

use crate::support::{Sandbox, envelope, run};

/// Anvil's dev key 0 (a public test key), as a careless operator would paste it.
const PASTED_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[test]
fn keys_are_listed_and_every_careless_secret_is_one_audit_line() {
    let sandbox = Sandbox::new();
    let pw = sandbox.path().join("pw");
    std::fs::write(&pw, "correct horse battery staple 42").expect("password file");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args([
            "--json",
            "wallet",
            "new",
            "--account",
            "operator",
            "--password-file",
        ])
        .arg(&pw));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let address = envelope(&stdout)["data"]["address"]
        .as_str()
        .expect("address")
        .to_lowercase();

    let (code, stdout, stderr) = run(sandbox.taonado().args(["--json", "keys", "list"]));
    assert_eq!(code, 0, "{stderr}");
    let keys = envelope(&stdout)["data"].clone();
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    assert_eq!(keys[0]["name"], "operator");
    assert_eq!(
        keys[0]["address"].as_str().map(str::to_lowercase),
        Some(address)
    );
    assert_eq!(keys[0]["mode"].as_u64().map(|m| m & 0o777), Some(0o600));
    assert_eq!(keys[0]["kdf"]["kdf"], "scrypt");

    let (code, stdout, stderr) = run(sandbox.taonado().args(["keys", "audit"]));
    assert_eq!(code, 0, "a fresh keystore passes: {stdout}\n{stderr}");
    assert!(stdout.contains("passed: 0 finding(s)"), "{stdout}");

    // Now the careless operator.
    std::fs::write(
        sandbox.path().join(".bash_history"),
        format!("ls\ncast send --private-key {PASTED_KEY} 0x1\n"),
    )
    .expect("history");
    std::fs::write(
        sandbox.path().join(".env"),
        format!("RPC=http://x\nDEPLOYER_PRIVATE_KEY={PASTED_KEY}\n"),
    )
    .expect(".env");
    let notes = sandbox.path().join(".taonado/notes");
    std::fs::create_dir_all(&notes).expect("notes");
    std::fs::set_permissions(&notes, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::write(notes.join("local.txt"), "taonado-wtao-1-42-0x00\n").expect("note");
    std::fs::set_permissions(
        notes.join("local.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    std::fs::set_permissions(
        sandbox.path().join(".foundry/keystores"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .env("TAONADO_PRIVATE_KEY", PASTED_KEY)
        .args(["keys", "audit"]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let hex = &PASTED_KEY[2..];
    assert!(
        !stdout.contains(hex) && !stderr.contains(hex),
        "the secret is printed"
    );
    for expected in [
        ".bash_history:2: a private key in plain text",
        ".env:2: a private key in plain text",
        "TAONADO_PRIVATE_KEY holds a private key in plain text",
        "notes/local.txt: mode 0644",
        "keystores: folder of secrets is mode 0755",
        "FAILED: 5 finding(s)",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }

    let (code, stdout, _) = run(sandbox
        .taonado()
        .env("TAONADO_PRIVATE_KEY", PASTED_KEY)
        .args(["--json", "keys", "audit"]));
    assert_eq!(code, 1);
    let body = envelope(&stdout);
    assert_eq!(body["ok"], false);
    assert_eq!(
        body["data"]["findings"].as_array().map(Vec::len),
        Some(5),
        "{body}"
    );
}

/// `keys audit --onchain`: each owned contract's `owner()` against the configured owner,
/// else the record's deployer.
#[test]
fn keys_audit_onchain_names_a_contract_whose_owner_is_not_the_configured_one() {
    use crate::support::{DEV0_KEY, Devnet, cast};
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "deploy", "--rpc-url", &devnet.url]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let audit = || {
        run(sandbox
            .taonado()
            .args(["--rpc-url", &devnet.url, "keys", "audit", "--onchain"]))
    };
    let (code, stdout, stderr) = audit();
    assert_eq!(code, 0, "the deployer owns everything: {stdout}\n{stderr}");
    assert!(
        stdout.contains("owner() of EvmValidator on local"),
        "{stdout}"
    );

    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join("deployments/local.json")).expect("record"),
    )
    .expect("JSON");
    let validator = record["contracts"]["EvmValidator"]["address"]
        .as_str()
        .expect("EvmValidator")
        .to_owned();
    let new_owner = "0x4646464646464646464646464646464646464646";
    cast(
        &devnet.url,
        &[
            "send",
            "--private-key",
            DEV0_KEY,
            &validator,
            "transferOwnership(address)",
            new_owner,
        ],
    );
    let (code, stdout, _) = audit();
    assert_eq!(code, 1, "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("EvmValidator "))
        .unwrap_or_else(|| panic!("no EvmValidator line in {stdout}"));
    assert!(
        line.contains("owner() is 0x4646464646464646464646464646464646464646")
            && line.contains("the deployment record's deployer"),
        "{line}"
    );

    // The configured owner is who must own it: now the Weights contract is the odd one.
    std::fs::write(
        sandbox.path().join("taonado.toml"),
        format!("[networks.local]\nowner = \"{new_owner}\"\n"),
    )
    .expect("config");
    let (code, stdout, _) = audit();
    assert_eq!(code, 1, "{stdout}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("EvmValidator ")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("WeightsV3 ") && l.contains("(networks.local.owner)")),
        "{stdout}"
    );
}

/// A new keystore's password is checked with zxcvbn: a weak one is refused in one line that
/// does not echo it, and nothing is written.
#[test]
fn a_weak_new_password_is_refused_and_nothing_is_written() {
    let sandbox = Sandbox::new();
    let pw = sandbox.path().join("pw");
    std::fs::write(&pw, "operator1\n").expect("password file");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["wallet", "new", "--account", "operator", "--password-file"])
        .arg(&pw));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("too weak"), "{stderr}");
    assert!(!stderr.contains("operator1"), "{stderr}");
    assert!(!sandbox.path().join(".foundry/keystores/operator").exists());
    // The same through the environment variable.
    let (code, _, stderr) = run(sandbox
        .taonado()
        .env("TAONADO_KEYSTORE_PASSWORD", "password")
        .args(["wallet", "new", "--account", "operator"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(!sandbox.path().join(".foundry/keystores/operator").exists());
}

/// `keys rotate --role owner`: every owned contract moves to the new owner, the old key's
/// TAO is swept to it, a rerun sends nothing, and `keys audit --onchain` then agrees with a
/// configured owner.
#[test]
fn keys_rotate_moves_ownership_sweeps_and_resumes_without_a_second_transfer() {
    use crate::support::{DEV0, DEV0_KEY, DEV1, Devnet, cast};
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "deploy", "--rpc-url", &devnet.url]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let rotate = |extra: &[&str]| {
        let mut cmd = sandbox.taonado();
        cmd.args([
            "--json",
            "--rpc-url",
            &devnet.url,
            "keys",
            "rotate",
            "--role",
            "owner",
            "--to",
            DEV1,
            "--private-key",
            DEV0_KEY,
        ])
        .args(extra);
        run(&mut cmd)
    };
    let balance = |who: &str| cast(&devnet.url, &["balance", who]).trim().to_owned();
    let dev1_before: u128 = balance(DEV1).parse().expect("wei");

    // A dry run reads and sends nothing.
    let (code, stdout, stderr) = rotate(&["--dry-run"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let planned = envelope(&stdout)["data"].clone();
    assert!(
        planned["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .all(|s| s["outcome"] == "planned"),
        "{planned}"
    );

    let (code, stdout, stderr) = rotate(&[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let done = envelope(&stdout)["data"].clone();
    let steps = done["steps"].as_array().expect("steps").clone();
    assert_eq!(steps.len(), 2, "EvmValidator and WeightsV3: {done}");
    for step in &steps {
        assert_eq!(step["outcome"], "transferred", "{step}");
        assert_eq!(
            step["owner_after"].as_str().map(str::to_lowercase),
            Some(DEV1.to_lowercase())
        );
    }
    assert_eq!(balance(DEV0), "0", "the old key is swept");
    let dev1_after: u128 = balance(DEV1).parse().expect("wei");
    assert!(dev1_after > dev1_before);
    let record = sandbox.path().join(".taonado/rotations/local.json");
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).expect("rotation record"))
            .expect("JSON");
    assert_eq!(kept[0]["complete"], true, "{kept}");

    // A rerun (as after a kill between steps) finds every contract moved and sends nothing.
    let nonce_before = cast(&devnet.url, &["nonce", DEV0]);
    let (code, stdout, stderr) = rotate(&["--no-sweep"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let again = envelope(&stdout)["data"].clone();
    assert!(
        again["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .all(|s| s["outcome"] == "already-owned"),
        "{again}"
    );
    assert_eq!(cast(&devnet.url, &["nonce", DEV0]), nonce_before);

    std::fs::write(
        sandbox.path().join("taonado.toml"),
        format!("[networks.local]\nowner = \"{DEV1}\"\n"),
    )
    .expect("config");
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--rpc-url", &devnet.url, "keys", "audit", "--onchain"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // Rotating to the owner it already has is a usage error.
    let (code, _, stderr) = run(sandbox.taonado().args([
        "--rpc-url",
        &devnet.url,
        "keys",
        "rotate",
        "--role",
        "owner",
        "--to",
        DEV0,
        "--private-key",
        DEV0_KEY,
    ]));
    assert_eq!(code, 2, "{stderr}");

    // `--new`: a new keystore (zxcvbn-checked password) becomes the owner.
    let dev1_key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let pw = sandbox.path().join("owner2-password");
    std::fs::write(&pw, "weak\n").expect("password file");
    let rotate_new = || {
        run(sandbox
            .taonado()
            .args([
                "--json",
                "--rpc-url",
                &devnet.url,
                "keys",
                "rotate",
                "--role",
                "owner",
                "--new",
                "--new-account",
                "owner2",
                "--no-sweep",
                "--private-key",
                dev1_key,
                "--new-password-file",
            ])
            .arg(&pw))
    };
    let (code, _, stderr) = rotate_new();
    assert_eq!(code, 2, "a weak password is refused: {stderr}");
    assert!(!sandbox.path().join(".foundry/keystores/owner2").exists());
    std::fs::write(&pw, "quartz-Fable-61-marmot-lagoon\n").expect("password file");
    let (code, stdout, stderr) = rotate_new();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = envelope(&stdout)["data"].clone();
    let new_owner = data["new_keystore"]["address"]
        .as_str()
        .expect("new keystore address")
        .to_lowercase();
    assert_eq!(
        data["to"].as_str().map(str::to_lowercase),
        Some(new_owner.clone())
    );
    for step in data["steps"].as_array().expect("steps") {
        assert_eq!(step["outcome"], "transferred", "{step}");
        assert_eq!(
            step["owner_after"].as_str().map(str::to_lowercase),
            Some(new_owner.clone())
        );
    }
    let keystore: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join(".foundry/keystores/owner2"))
            .expect("keystore"),
    )
    .expect("keystore JSON");
    assert_eq!(
        format!("0x{}", keystore["address"].as_str().expect("address")),
        new_owner
    );
    // The rotation record gives the new key its age: rotated in today.
    let (code, stdout, stderr) =
        run(sandbox
            .taonado()
            .args(["--json", "--rpc-url", &devnet.url, "keys", "list"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let keys = envelope(&stdout)["data"].clone();
    let owner2 = keys
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["name"] == "owner2")
        .unwrap_or_else(|| panic!("owner2 in {keys}"));
    assert_eq!(owner2["age_days"], 0, "{owner2}");

    // What is tied to a hotkey, on the same chain: recorded, with the steps.
    let (code, stdout, stderr) = run(sandbox.taonado().args([
        "--json",
        "--rpc-url",
        &devnet.url,
        "recovery",
        "assist",
        "--hotkey",
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let assist = envelope(&stdout)["data"].clone();
    assert_eq!(
        assist["status"]["hotkey"], "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
        "{assist}"
    );
    assert!(
        assist["steps"].as_array().is_some_and(|s| s.len() >= 3),
        "{assist}"
    );
    let (code, _, stderr) = run(sandbox.taonado().args([
        "--rpc-url",
        &devnet.url,
        "recovery",
        "assist",
        "--hotkey",
        "5NotAnAddress",
    ]));
    assert_eq!(code, 2, "{stderr}");
}
