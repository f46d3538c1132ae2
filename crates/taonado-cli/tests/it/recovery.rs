//! `taonado recovery`: hotkey challenges signed by `//Alice`, refused signatures and
//! challenges, and the note question, through the real binary. Offline: no devnet needed
//! (`recovery assist --hotkey` is exercised with the rotation test's devnet).

use subxt_signer::sr25519::dev;

use crate::support::{Sandbox, envelope, run};

const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

fn challenge(sandbox: &Sandbox, extra: &[&str]) -> (String, String) {
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["--json", "recovery", "challenge", "--hotkey", ALICE])
        .args(extra));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = envelope(&stdout)["data"].clone();
    (
        data["id"].as_str().expect("id").to_owned(),
        data["message"].as_str().expect("message").to_owned(),
    )
}

fn verify(
    sandbox: &Sandbox,
    hotkey: &str,
    signature: &str,
    signed: [&str; 2],
) -> (i32, String, String) {
    run(sandbox.taonado().args([
        "--json",
        "recovery",
        "verify-hotkey",
        "--hotkey",
        hotkey,
        "--signature",
        signature,
        signed[0],
        signed[1],
    ]))
}

fn sign(message: &str) -> [u8; 64] {
    dev::alice().sign(message.as_bytes()).0
}

#[test]
fn a_challenge_signed_by_alice_verifies_once_and_every_bad_signature_is_refused() {
    let sandbox = Sandbox::new();
    let (id, message) = challenge(&sandbox, &[]);
    for part in [
        "chain: local",
        &format!("hotkey: {ALICE}"),
        "date: ",
        "nonce: ",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }
    let signature = sign(&message);
    let good = format!("0x{}", hex(&signature));
    let mut tampered = signature;
    tampered[0] ^= 1;
    let tampered = format!("0x{}", hex(&tampered));

    // Refused with exit 1, and the challenge is still unused after each refusal.
    let (code, stdout, stderr) = verify(&sandbox, ALICE, &tampered, ["--challenge", &id]);
    assert_eq!(code, 1, "tampered: {stdout}\n{stderr}");
    let (code, stdout, stderr) = verify(&sandbox, BOB, &good, ["--challenge", &id]);
    assert_eq!(code, 1, "another hotkey: {stdout}\n{stderr}");
    assert!(stdout.contains("issued for hotkey"), "{stdout}");
    let (code, stdout, stderr) = verify(&sandbox, BOB, &good, ["--message", &message]);
    assert_eq!(
        code, 1,
        "another hotkey over the message: {stdout}\n{stderr}"
    );

    let (code, stdout, stderr) = verify(&sandbox, ALICE, &good, ["--challenge", &id]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = envelope(&stdout)["data"].clone();
    assert_eq!(data["form"], "raw", "{data}");
    assert_eq!(data["challenge_id"], id.as_str());

    // The same challenge a second time.
    let (code, stdout, _) = verify(&sandbox, ALICE, &good, ["--challenge", &id]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("already used"), "{stdout}");

    // An expired challenge (valid for 0 s).
    let (expired_id, expired_message) = challenge(&sandbox, &["--valid-for", "0"]);
    let signed = format!("0x{}", hex(&sign(&expired_message)));
    let (code, stdout, _) = verify(&sandbox, ALICE, &signed, ["--challenge", &expired_id]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("expired"), "{stdout}");

    // polkadot.js and btcli sign `<Bytes>message</Bytes>`.
    let wrapped = format!("0x{}", hex(&sign("<Bytes>taonado test</Bytes>")));
    let (code, stdout, stderr) = verify(&sandbox, ALICE, &wrapped, ["--message", "taonado test"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(envelope(&stdout)["data"]["form"], "bytes-wrapped");

    // Malformed signature or SS58: one line, exit 2.
    for (hotkey, signature) in [
        (ALICE, "0x1234"),
        (ALICE, "zz"),
        ("5NotAnAddress", good.as_str()),
    ] {
        let (code, _, stderr) = run(sandbox.taonado().args([
            "recovery",
            "verify-hotkey",
            "--hotkey",
            hotkey,
            "--signature",
            signature,
            "--challenge",
            &id,
        ]));
        assert_eq!(code, 2, "{hotkey} {signature}: {stderr}");
    }
    let (code, _, stderr) = verify(&sandbox, ALICE, &good, ["--challenge", "nosuchid"]);
    assert_eq!(code, 2, "{stderr}");

    // A note asked about: the answer, exit 1, and the note nowhere.
    let note = format!("tornado-wtao-1-31337-0x{}", "ab".repeat(62));
    for args in [
        vec!["recovery", "assist", "--note", note.as_str()],
        vec!["recovery", "assist", "--hotkey", note.as_str()],
    ] {
        let (code, stdout, stderr) = run(sandbox.taonado().args(&args));
        assert_eq!(code, 1, "{stdout}\n{stderr}");
        assert!(stdout.contains("cannot be recovered"), "{stdout}");
        assert!(!stdout.contains("abab") && !stderr.contains("abab"));
    }

    // Every attempt is in the store, never the note.
    let db = rusqlite::Connection::open(sandbox.path().join("data/local.db")).expect("db");
    let mut stmt = db
        .prepare("SELECT kind, outcome, detail FROM recovery_attempts ORDER BY id")
        .expect("query");
    let rows: Vec<(String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    let kinds: Vec<String> = rows.iter().map(|r| format!("{}:{}", r.0, r.1)).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "verify-hotkey:verified")
            .count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(kinds.iter().filter(|k| *k == "challenge:issued").count(), 2);
    assert_eq!(kinds.iter().filter(|k| *k == "note:answered").count(), 2);
    assert!(
        kinds
            .iter()
            .filter(|k| *k == "verify-hotkey:refused")
            .count()
            >= 6
    );
    assert!(rows.iter().all(|r| !r.2.contains("abab")));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// On a shared deployment's PostgreSQL `--db` the challenge is kept there (a second use is
/// refused from it), and no SQLite file named after the URL appears.
#[test]
fn a_challenge_on_a_postgres_database_is_kept_there() {
    let test = "a_challenge_on_a_postgres_database_is_kept_there";
    let Some(server) = taonado_store::testing::postgres_url(test) else {
        return;
    };
    let db = taonado_store::testing::fresh_schema(&server).expect("a schema");
    let sandbox = Sandbox::new();
    let (id, message) = challenge(&sandbox, &["--db", &db]);
    let good = format!("0x{}", hex(&sign(&message)));
    let use_it = || {
        run(sandbox.taonado().args([
            "--json",
            "recovery",
            "verify-hotkey",
            "--hotkey",
            ALICE,
            "--signature",
            &good,
            "--challenge",
            &id,
            "--db",
            &db,
        ]))
    };
    let (code, stdout, stderr) = use_it();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, _) = use_it();
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("already used"), "{stdout}");
    let files: Vec<_> = std::fs::read_dir(sandbox.path())
        .expect("sandbox")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        !files.iter().any(|f| f == "postgres:" || f == "data"),
        "{files:?}"
    );
}
