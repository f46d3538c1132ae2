//! `taonado address` and `taonado wallet`: account notations and Foundry keystores, through
//! the real binary. Offline: no devnet needed.

use std::path::Path;

use crate::support::{DEV1, Sandbox, envelope, run};

const ALICE_SS58: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const ALICE_HEX: &str = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
/// Anvil's second dev key (a public test key); its address is `DEV1`.
const DEV1_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn address(sandbox: &Sandbox, input: &str) -> (i32, String, String) {
    run(sandbox.taonado().args(["--json", "address", input]))
}

#[test]
fn address_converts_every_notation() {
    let sandbox = Sandbox::new();
    // spec/subtensor.md's mirror check vector.
    let (code, stdout, stderr) = address(&sandbox, "0xf24FF3a9CF04c71Dbc94D0b566f7A27B94566cac");
    assert_eq!(code, 0, "{stderr}");
    let data = &envelope(&stdout)["data"];
    assert_eq!(data["kind"], "evm");
    assert_eq!(
        data["ss58"],
        "5Fghzk1AJt88PeFEzuRfXzbPchiBbsVGTTXcdx599VdZzkTA"
    );

    let (code, stdout, stderr) = address(&sandbox, ALICE_SS58);
    assert_eq!(code, 0, "{stderr}");
    let data = &envelope(&stdout)["data"];
    assert_eq!(data["account_id"], ALICE_HEX);
    let bittensor = data["ss58_bittensor"]
        .as_str()
        .expect("bittensor form")
        .to_owned();

    for input in [ALICE_HEX, bittensor.as_str()] {
        let (code, stdout, stderr) = address(&sandbox, input);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(envelope(&stdout)["data"]["ss58"], ALICE_SS58, "{input}");
    }

    // Human output names both forms.
    let (code, stdout, _) = run(sandbox.taonado().args(["address", ALICE_HEX]));
    assert_eq!(code, 0);
    assert!(
        stdout.contains(ALICE_SS58) && stdout.contains(ALICE_HEX),
        "{stdout}"
    );
}

#[test]
fn address_rejects_bad_input_on_one_line() {
    let sandbox = Sandbox::new();
    let mut bad_checksum = ALICE_SS58.to_owned();
    bad_checksum.pop();
    bad_checksum.push('R');
    for (input, expected) in [
        (bad_checksum.as_str(), "checksum"),
        ("5Grw0OIl", "not base58"),
        ("0x1234", "0x followed by 64 hex digits"),
    ] {
        let (code, stdout, stderr) = run(sandbox.taonado().args(["address", input]));
        assert_eq!(code, 2, "{input}: {stdout}{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{input}: {stderr}");
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write a test file");
}

#[test]
fn wallet_import_new_list_and_passwords() {
    let sandbox = Sandbox::new();
    let password = sandbox.path().join("password");
    write(&password, "plum-orbit-Vexed-97-lantern\n");
    let key_file = sandbox.path().join("key");
    write(&key_file, &format!("{DEV1_KEY}\n"));
    let pw = password.to_str().expect("utf-8 path");

    // import: the address is the key's, the key is never shown.
    let (code, stdout, stderr) = run(sandbox.taonado().args([
        "--json",
        "wallet",
        "import",
        "--account",
        "dev1",
        "--password-file",
        pw,
        "--private-key-file",
        key_file.to_str().expect("utf-8 path"),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let data = &envelope(&stdout)["data"];
    assert_eq!(
        data["address"].as_str().map(str::to_lowercase),
        Some(DEV1.to_lowercase())
    );
    assert!(!stdout.contains(&DEV1_KEY[2..]) && !stderr.contains(&DEV1_KEY[2..]));
    let keystore = sandbox.path().join(".foundry/keystores/dev1");
    assert_eq!(data["keystore"], keystore.to_str().expect("utf-8 path"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keystore)
            .expect("keystore")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The same name again is refused and the file kept.
    let before = std::fs::read(&keystore).expect("keystore");
    let (code, _, stderr) =
        run(sandbox
            .taonado()
            .args(["wallet", "new", "--account", "dev1", "--password-file", pw]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read(&keystore).expect("keystore"), before);

    // new: a random key under another name, and a keystore file by path.
    let (code, stdout, stderr) = run(sandbox.taonado().args([
        "--json",
        "wallet",
        "new",
        "--account",
        "fresh",
        "--password-file",
        pw,
    ]));
    assert_eq!(code, 0, "{stderr}");
    let fresh = envelope(&stdout)["data"]["address"]
        .as_str()
        .expect("address")
        .to_owned();
    let file = sandbox.path().join("keys/op.json");
    let (code, _, stderr) = run(sandbox
        .taonado()
        .env("TAONADO_KEYSTORE_PASSWORD", "Orbit-plum-lantern-97-vexed")
        .args([
            "wallet",
            "new",
            "--keystore",
            file.to_str().expect("utf-8 path"),
        ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(file.is_file());

    // list: the names --account accepts.
    let (code, stdout, stderr) = run(sandbox.taonado().args(["--json", "wallet", "list"]));
    assert_eq!(code, 0, "{stderr}");
    let listed = envelope(&stdout)["data"]["keystores"]
        .as_array()
        .expect("keystores")
        .clone();
    let names: Vec<&str> = listed
        .iter()
        .map(|k| k["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["dev1", "fresh"]);
    // The accounts of keystores it just wrote are named, never "(not recorded)".
    let addresses: Vec<Option<String>> = listed
        .iter()
        .map(|k| k["address"].as_str().map(str::to_lowercase))
        .collect();
    assert_eq!(
        addresses,
        [Some(DEV1.to_lowercase()), Some(fresh.to_lowercase())]
    );
    let (code, human, _) = run(sandbox.taonado().args(["wallet", "list"]));
    assert_eq!(code, 0, "{human}");
    assert!(!human.contains("not recorded"), "{human}");

    // The keystores decrypt with the right password, by name and by path.
    let (code, stdout, stderr) = run(sandbox.taonado().args([
        "--json",
        "wallet",
        "address",
        "--account",
        "fresh",
        "--password-file",
        pw,
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(envelope(&stdout)["data"]["address"], fresh.as_str());
    let (code, _, stderr) = run(sandbox.taonado().args([
        "wallet",
        "address",
        "--keystore",
        file.to_str().expect("utf-8 path"),
        "--password",
        "Orbit-plum-lantern-97-vexed",
    ]));
    assert_eq!(code, 0, "{stderr}");

    // Wrong password and missing wallet: one-line usage errors.
    let wrong = sandbox.path().join("wrong");
    write(&wrong, "not-the-password\n");
    let (code, _, stderr) = run(sandbox.taonado().args([
        "wallet",
        "address",
        "--account",
        "dev1",
        "--password-file",
        wrong.to_str().expect("utf-8 path"),
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot decrypt keystore"), "{stderr}");
    let (code, _, stderr) = run(sandbox.taonado().args([
        "wallet",
        "address",
        "--account",
        "nobody",
        "--password-file",
        pw,
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no keystore named `nobody`"), "{stderr}");

    // Without a terminal and without a password source, nothing is written.
    let (code, _, stderr) = run(sandbox
        .taonado()
        .args(["wallet", "new", "--account", "nopw"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(!sandbox.path().join(".foundry/keystores/nopw").exists());
}

/// Keystores crafted to crash eth-keystore (a short IV panicked, `n = 2^30` aborted trying
/// to allocate a terabyte) or with another cipher or version: each is one line and exit 2,
/// before any key derivation.
#[test]
fn a_crafted_keystore_is_a_one_line_usage_error_not_a_crash() {
    let sandbox = Sandbox::new();
    let fixture: serde_json::Value = serde_json::from_str(include_str!(
        "../../../taonado-client/tests/fixtures/dev1.json"
    ))
    .expect("fixture");
    let mutations: [(&str, &[&str], serde_json::Value); 5] = [
        ("short iv", &["crypto", "cipherparams", "iv"], "35".into()),
        ("empty iv", &["crypto", "cipherparams", "iv"], "".into()),
        ("huge n", &["crypto", "kdfparams", "n"], (1u64 << 30).into()),
        ("cipher", &["crypto", "cipher"], "aes-256-cbc".into()),
        ("version", &["version"], 1.into()),
    ];
    for (what, path, value) in mutations {
        let mut keystore = fixture.clone();
        let mut at = &mut keystore;
        for key in &path[..path.len() - 1] {
            at = at.get_mut(*key).expect("field");
        }
        at[path[path.len() - 1]] = value;
        let file = sandbox
            .path()
            .join(format!("{}.json", what.replace(' ', "-")));
        write(&file, &keystore.to_string());
        let password = sandbox.path().join("password");
        write(&password, "whatever\n");
        let (code, _, stderr) = run(sandbox.taonado().args([
            "wallet",
            "address",
            "--keystore",
            file.to_str().expect("utf-8 path"),
            "--password-file",
            password.to_str().expect("utf-8 path"),
        ]));
        assert_eq!(code, 2, "{what}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{what}: {stderr}");
        assert!(
            stderr.contains("is not a usable keystore"),
            "{what}: {stderr}"
        );
    }
}

/// A secret passed as a flag is warned about, once, with where to put it instead; the
/// command still runs.
#[test]
fn secret_flags_are_warned_about_once() {
    let sandbox = Sandbox::new();
    let (code, _, stderr) =
        run(sandbox
            .taonado()
            .args(["wallet", "address", "--private-key", DEV1_KEY]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr.matches("--private-key on the command line").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("TAONADO_PRIVATE_KEY"), "{stderr}");
    assert!(
        !stderr.contains(&DEV1_KEY[2..]),
        "the key itself is never printed: {stderr}"
    );
}

/// `keys backup` → `keys backup verify` → `keys restore` into a fresh home: every keystore
/// and note back, 0600 files in 0700 folders; a wrong passphrase is one line, exit 2, and
/// writes nothing; an existing file is never replaced.
#[test]
fn keys_backup_verify_and_restore_round_trip_into_a_fresh_home() {
    use std::os::unix::fs::PermissionsExt;
    const PASSPHRASE: &str = "gravel-Moth-orchid-41-tundra-sleeve";
    let sandbox = Sandbox::new();
    let password = sandbox.path().join("password");
    write(&password, "plum-orbit-Vexed-97-lantern\n");
    let key_file = sandbox.path().join("key");
    write(&key_file, &format!("{DEV1_KEY}\n"));
    let (code, _, stderr) = run(sandbox.taonado().args([
        "wallet",
        "import",
        "--account",
        "dev1",
        "--password-file",
        password.to_str().expect("utf-8 path"),
        "--private-key-file",
        key_file.to_str().expect("utf-8 path"),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let notes = sandbox.path().join(".taonado/notes");
    std::fs::create_dir_all(&notes).expect("notes folder");
    write(
        &notes.join("local.txt"),
        "# a note backup\ntornado-wtao-1-31337-0xabc\n",
    );

    let backup = sandbox.path().join("keys.age");
    let backup_arg = backup.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .env("TAONADO_BACKUP_PASSPHRASE", PASSPHRASE)
        .args(["--json", "keys", "backup", "--to", backup_arg]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let manifest = envelope(&stdout)["data"]["manifest"].clone();
    let paths: Vec<&str> = manifest
        .as_array()
        .expect("manifest")
        .iter()
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        paths,
        [".foundry/keystores/dev1", ".taonado/notes/local.txt"]
    );
    assert_eq!(
        manifest[0]["address"].as_str().map(str::to_lowercase),
        Some(DEV1.to_lowercase())
    );
    let mode = std::fs::metadata(&backup)
        .expect("backup")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let bytes = std::fs::read(&backup).expect("backup");
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    assert!(!String::from_utf8_lossy(&bytes).contains("tornado-wtao"));
    // Never replaced.
    let (code, _, stderr) = run(sandbox
        .taonado()
        .env("TAONADO_BACKUP_PASSPHRASE", PASSPHRASE)
        .args(["keys", "backup", "--to", backup_arg]));
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(std::fs::read(&backup).expect("backup"), bytes);

    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .env("TAONADO_BACKUP_PASSPHRASE", PASSPHRASE)
        .args(["--json", "keys", "backup", "verify", backup_arg]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report = envelope(&stdout)["data"].clone();
    assert_eq!(
        (report["keystores"].as_u64(), report["notes"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(report["entries"][0]["address_ok"], true, "{report}");

    // A fresh home: the wrong passphrase writes nothing.
    let fresh = Sandbox::new();
    let (code, _, stderr) = run(fresh
        .taonado()
        .env("TAONADO_BACKUP_PASSPHRASE", "not-the-passphrase-at-all-42")
        .args(["keys", "restore", "--from", backup_arg]));
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    assert!(!fresh.path().join(".foundry").exists());
    assert!(!fresh.path().join(".taonado/notes").exists());

    let (code, stdout, stderr) = run(fresh
        .taonado()
        .env("TAONADO_BACKUP_PASSPHRASE", PASSPHRASE)
        .args(["--json", "keys", "restore", "--from", backup_arg]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        envelope(&stdout)["data"]["restored"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    for rel in [".foundry/keystores/dev1", ".taonado/notes/local.txt"] {
        let restored = fresh.path().join(rel);
        assert_eq!(
            std::fs::read(&restored).expect("restored"),
            std::fs::read(sandbox.path().join(rel)).expect("original"),
            "{rel}"
        );
        let mode = std::fs::metadata(&restored)
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{rel}");
    }
    for dir in [".foundry", ".foundry/keystores", ".taonado/notes"] {
        let mode = std::fs::metadata(fresh.path().join(dir))
            .expect("dir")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{dir}");
    }
    // The restored keystore decrypts with its own password.
    let (code, stdout, stderr) = run(fresh.taonado().args([
        "--json",
        "wallet",
        "address",
        "--account",
        "dev1",
        "--password-file",
        password.to_str().expect("utf-8 path"),
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // A file changed since: nothing replaced, exit 1.
    write(&fresh.path().join(".taonado/notes/local.txt"), "changed\n");
    let (code, _, stderr) = run(fresh
        .taonado()
        .env("TAONADO_BACKUP_PASSPHRASE", PASSPHRASE)
        .args(["keys", "restore", "--from", backup_arg]));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(fresh.path().join(".taonado/notes/local.txt")).expect("note"),
        "changed\n"
    );
}
