//! `taonado mixer inspect`: every vector note gives the vectors' commitment and nullifier
//! hash, and a bad note is a one-line usage error that never echoes the secret.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;

use crate::support::{Sandbox, envelope, run};

fn vector_notes() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../taonado-zk/tests/vectors/tornado-crypto.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let vectors: Value = serde_json::from_str(&text).expect("vectors are JSON");
    vectors["notes"].as_array().expect("notes array").clone()
}

#[test]
fn inspect_matches_every_vector_note() {
    let sandbox = Sandbox::new();
    let notes = vector_notes();
    assert!(!notes.is_empty());
    for vector in notes {
        let note = vector["note"].as_str().expect("note text");
        let (code, stdout, stderr) = run(sandbox
            .taonado()
            .args(["--json", "mixer", "inspect", "--note", note]));
        assert_eq!(code, 0, "{stderr}");
        let data = &envelope(&stdout)["data"];
        assert_eq!(data["commitment"], vector["commitment_hex"], "{note}");
        assert_eq!(
            data["nullifier_hash"], vector["nullifierHash_hex"],
            "{note}"
        );
        assert_eq!(data["chain_id"], 964);
        assert_eq!(data["legacy_format"], true);
        let secret = vector["secret_le31_hex"].as_str().expect("secret hex");
        assert!(!stdout.contains(secret), "the secret must not be printed");
    }
}

#[test]
fn inspect_reads_the_note_from_stdin() {
    let sandbox = Sandbox::new();
    let vector = &vector_notes()[1];
    let mut child = sandbox
        .taonado()
        .args(["--json", "mixer", "inspect", "--note", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn taonado");
    let note = vector["note"].as_str().expect("note text");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(format!("{note}\n").as_bytes())
        .expect("write note");
    let output = child.wait_with_output().expect("taonado runs");
    assert!(output.status.success());
    let data = &envelope(&String::from_utf8_lossy(&output.stdout))["data"];
    assert_eq!(data["commitment"], vector["commitment_hex"]);
}

#[test]
fn malformed_note_is_one_line_usage_error_without_the_secret() {
    let sandbox = Sandbox::new();
    let vector = &vector_notes()[0];
    let note = vector["note"].as_str().expect("note text");
    // Drop one hex digit: wrong length.
    let truncated = &note[..note.len() - 1];
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["mixer", "inspect", "--note", truncated]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let secret = vector["secret_le31_hex"].as_str().expect("secret hex");
    assert!(!stderr.contains(&secret[..16]), "{stderr}");
}
