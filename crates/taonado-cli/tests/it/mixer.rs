//! `taonado mixer`: `inspect` gives the vectors' commitment and nullifier hash; against a
//! devnet child, deposit → withdraw to a fresh address, every bad input a one-line usage
//! error that moves nothing and never echoes the secret, sync, stats and compliance.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;

use crate::support::{DEV0, DEV0_KEY, Devnet, Sandbox, cast, envelope, run, run_with_stdin};

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

// ---------------------------------------------------------------------------------------
// deposit, withdraw, sync, stats and compliance against a devnet child

/// Dev account 1's key (a public test key): it holds TAO but no WTAO.
const DEV1_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// The repository's local dev keys: the verifier is deployed from their verifying key.
fn local_keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../keys/local")
}

fn slow_tests() -> bool {
    std::env::var("TAONADO_SLOW_TESTS").is_ok_and(|v| v == "1")
}

/// A devnet child with the protocol deployed from the local dev key.
pub(crate) struct MixerChain {
    pub(crate) sandbox: Sandbox,
    pub(crate) devnet: Devnet,
    pub(crate) wtao: String,
    chain_id: u64,
}

impl MixerChain {
    pub(crate) fn start() -> Self {
        let sandbox = Sandbox::new();
        let devnet = Devnet::start(&sandbox, &[]);
        let (code, stdout, stderr) = run(sandbox
            .taonado()
            .args([
                "--json",
                "deploy",
                "--rpc-url",
                &devnet.url,
                "--verifying-key",
            ])
            .arg(local_keys_dir().join("withdraw.vk.json")));
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let data = envelope(&stdout)["data"].clone();
        let wtao = data["contracts"]
            .as_array()
            .expect("contracts")
            .iter()
            .find(|c| c["name"] == "WTAO")
            .and_then(|c| c["address"].as_str())
            .expect("WTAO deployed")
            .to_owned();
        let chain_id = data["chain_id"].as_u64().expect("chain id");
        Self {
            sandbox,
            devnet,
            wtao,
            chain_id,
        }
    }

    /// `taonado --json mixer <args>` against the devnet, with the repository's keys.
    pub(crate) fn mixer(&self, args: &[&str]) -> (i32, String, String) {
        self.mixer_with_stdin(args, None)
    }

    pub(crate) fn mixer_with_stdin(
        &self,
        args: &[&str],
        stdin: Option<&str>,
    ) -> (i32, String, String) {
        let mut cmd = self.sandbox.taonado();
        cmd.args(["--json", "--rpc-url", &self.devnet.url, "mixer"])
            .args(args);
        if args.first() == Some(&"withdraw") {
            cmd.arg("--keys-dir").arg(local_keys_dir());
        }
        run_with_stdin(&mut cmd, stdin)
    }

    pub(crate) fn deposit(&self, pool: &str) -> Value {
        let (code, stdout, stderr) = self.mixer(&["deposit", "--pool", pool, "--wrap"]);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let data = envelope(&stdout)["data"].clone();
        let note = data["note"].as_str().expect("note in data");
        assert!(!stderr.contains(note), "the note must not reach stderr");
        data
    }

    pub(crate) fn withdraw(&self, note: &str, recipient: &str) -> Value {
        let (code, stdout, stderr) = self.mixer_with_stdin(
            &["withdraw", "--note", "-", "--recipient", recipient],
            Some(note),
        );
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(!stderr.contains(&note[note.len() - 40..]), "{stderr}");
        envelope(&stdout)["data"].clone()
    }

    pub(crate) fn wtao_balance(&self, account: &str) -> String {
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

    /// A rejected command: exit `code` (2: the command line is wrong; 1: the chain, the
    /// funds or the cache refuse it), one stderr line, the note's secret part nowhere.
    fn assert_rejected(&self, args: &[&str], note: &str, expect: &str, code: i32) {
        // -q: only errors on stderr, so the error itself must be that one line.
        let mut cmd = self.sandbox.taonado();
        cmd.args(["-q", "--rpc-url", &self.devnet.url, "mixer"])
            .args(args);
        if args.first() == Some(&"withdraw") {
            cmd.arg("--keys-dir").arg(local_keys_dir());
        }
        let (actual, stdout, stderr) = run(&mut cmd);
        assert_eq!(actual, code, "{args:?}: {stdout}\n{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(expect),
            "{args:?}: expected {expect:?} in {stderr}"
        );
        let secret = &note[note.len() - 60..];
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "{stderr}"
        );
    }
}

/// A fresh, never-used address.
pub(crate) fn fresh_address(seed: u8) -> String {
    format!("0x{}", format!("{seed:02x}").repeat(20))
}

#[test]
fn deposit_then_withdraw_to_a_fresh_address_and_reject_bad_input() {
    let chain = MixerChain::start();
    let deposit = chain.deposit("1");
    let note = deposit["note"].as_str().expect("note").to_owned();
    assert_eq!(deposit["leaf_index"], 0);
    assert!(
        note.starts_with(&format!("taonado-wtao-1-{}-0x", chain.chain_id)),
        "{note}"
    );

    // The backup holds the note, readable by its owner only.
    let backup = PathBuf::from(deposit["backup_path"].as_str().expect("backup path"));
    assert_eq!(
        backup,
        chain.sandbox.path().join(".taonado/notes/local.txt")
    );
    assert!(
        std::fs::read_to_string(&backup)
            .expect("backup")
            .contains(&note)
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup)
            .expect("backup")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Every bad input is one line and moves nothing: exit 2 for a malformed command line,
    // 1 for a note the chain does not hold.
    let recipient = fresh_address(0xa7);
    let hex_start = note.rfind("0x").expect("hex part");
    let other_chain = note.replace(&format!("-{}-0x", chain.chain_id), "-945-0x");
    let other_pool = note.replacen("taonado-wtao-1-", "taonado-wtao-5-", 1);
    let mut never_deposited = note.clone();
    let last = if note.ends_with('0') { "1" } else { "0" };
    never_deposited.replace_range(note.len() - 1.., last);
    let truncated = &note[..note.len() - 1];
    let withdraw = |n: &str| {
        vec![
            "withdraw".to_owned(),
            "--note".to_owned(),
            n.to_owned(),
            "--recipient".to_owned(),
            recipient.clone(),
        ]
    };
    for (args, expect, code) in [
        (withdraw(truncated), "124 hex digits", 2),
        (withdraw(&other_chain), "chain 945", 2),
        (withdraw(&other_pool), "no wtao pool of amount 5", 2),
        (withdraw(&never_deposited), "never deposited", 1),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        chain.assert_rejected(&args, &note, expect, code);
    }
    chain.assert_rejected(
        &["withdraw", "--note", &note, "--recipient", "0x1234"],
        &note,
        "is not an address",
        2,
    );
    chain.assert_rejected(
        &["deposit", "--pool", "1", "--private-key", DEV1_KEY],
        &note,
        "holds 0 WTAO",
        1,
    );

    // A corrupt cache is reported plainly; `sync --rebuild` repairs it.
    let (code, stdout, stderr) = chain.mixer(&["sync"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let synced = envelope(&stdout)["data"].clone();
    let one = synced["pools"]
        .as_array()
        .expect("pools")
        .iter()
        .find(|p| p["pool"]["amount"] == "1")
        .expect("1 WTAO pool")
        .clone();
    assert_eq!(one["leaves"], 1);
    assert_eq!(one["root_known"], true);
    let cache = PathBuf::from(one["cache_path"].as_str().expect("cache path"));
    assert!(cache.starts_with(chain.sandbox.path().join(".taonado/cache/local")));
    std::fs::write(&cache, "{\"version\":1,").expect("damage the cache");
    chain.assert_rejected(
        &withdraw(&note)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &note,
        "is corrupt",
        1,
    );
    assert_eq!(chain.wtao_balance(&recipient), "0");
    let (code, stdout, stderr) = chain.mixer(&["sync", "--pool", "1", "--rebuild"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // The real withdrawal, the note read from stdin.
    let withdrawn = chain.withdraw(&note, &recipient);
    assert_eq!(chain.wtao_balance(&recipient), "1000000000000000000");
    assert_eq!(
        withdrawn["recipient"].as_str().map(str::to_lowercase),
        Some(recipient.clone())
    );

    // A double spend is refused before anything is sent.
    chain.assert_rejected(
        &withdraw(&note)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &note,
        "already withdrawn",
        1,
    );

    let (code, stdout, stderr) = chain.mixer(&["stats"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let stats = envelope(&stdout)["data"].clone();
    let one = stats["pools"]
        .as_array()
        .expect("pools")
        .iter()
        .find(|p| p["pool"]["amount"] == "1")
        .expect("1 WTAO pool")
        .clone();
    assert_eq!(
        (&one["deposits"], &one["withdrawals"], &one["anonymity_set"]),
        (&1.into(), &1.into(), &0.into())
    );
    assert_eq!(one["balance"], "0x0");

    let (code, stdout, stderr) =
        chain.mixer_with_stdin(&["compliance", "--note", "-"], Some(&note));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let disclosed = envelope(&stdout)["data"].clone();
    assert_eq!(disclosed["spent"], true);
    assert_eq!(disclosed["deposit"]["tx_hash"], deposit["tx_hash"]);
    assert_eq!(
        disclosed["deposit"]["user"].as_str().map(str::to_lowercase),
        Some(DEV0.to_lowercase())
    );
    assert_eq!(disclosed["withdrawal"]["tx_hash"], withdrawn["tx_hash"]);
    assert_eq!(
        disclosed["withdrawal"]["recipient"]
            .as_str()
            .map(str::to_lowercase),
        Some(recipient)
    );
    assert!(
        !stdout.contains(&note[hex_start..]),
        "compliance never prints the note"
    );
    // Times in ISO-8601 UTC next to the Unix seconds.
    for side in ["deposit", "withdrawal"] {
        let utc = disclosed[side]["time_utc"].as_str().unwrap_or_default();
        let unix = disclosed[side]["timestamp"].as_u64().expect("timestamp");
        assert!(
            utc.len() == 20 && utc.as_bytes()[10] == b'T' && utc.ends_with('Z'),
            "{side}: {utc:?}"
        );
        let year: u64 = utc[..4].parse().expect("a year");
        assert_eq!(year, 1970 + unix / 31_556_952, "{side}: {utc} vs {unix}");
    }
    let (code, human, _) = run(chain.sandbox.taonado().args([
        "--rpc-url",
        &chain.devnet.url,
        "mixer",
        "compliance",
        "--note",
        &note,
    ]));
    assert_eq!(code, 0, "{human}");
    assert!(human.contains("Z (unix "), "{human}");
}

/// Every pool, each withdrawn to its own fresh address, the 0.1 WTAO note after 31 later
/// deposits (more than the 30 roots the pool remembers): five proofs and 36 deposits, so
/// only with `TAONADO_SLOW_TESTS=1` (CI sets it).
#[test]
fn deposits_into_every_pool_and_withdraws_each_to_a_fresh_address() {
    if !slow_tests() {
        return;
    }
    let chain = MixerChain::start();
    let pools = ["0.1", "1", "10", "100", "1000"];
    let deposits: Vec<Value> = pools.iter().map(|pool| chain.deposit(pool)).collect();
    let notes: Vec<String> = deposits
        .iter()
        .zip(pools)
        .map(|(data, pool)| {
            assert_eq!(data["pool"]["amount"], pool);
            data["note"].as_str().expect("note").to_owned()
        })
        .collect();
    // The 31 later deposits go straight to the pool with cast (commitments 1..=31, all in
    // the field): only the withdrawal after them is under test here.
    let tenth_pool = deposits[0]["pool"]["address"]
        .as_str()
        .expect("pool address");
    let send = |to: &str, args: &[&str]| {
        let mut full = vec!["send", "--private-key", DEV0_KEY, to];
        full.extend_from_slice(args);
        cast(&chain.devnet.url, &full);
    };
    send(&chain.wtao, &["deposit()", "--value", "3.1ether"]);
    send(
        &chain.wtao,
        &[
            "approve(address,uint256)",
            tenth_pool,
            "3100000000000000000",
        ],
    );
    for i in 1..=31u8 {
        let commitment = format!("0x{i:064x}");
        send(tenth_pool, &["deposit(bytes32)", &commitment]);
    }
    for (i, (pool, note)) in pools.iter().zip(&notes).enumerate() {
        let recipient = fresh_address(0x10 + u8::try_from(i).expect("five pools"));
        let withdrawn = chain.withdraw(note, &recipient);
        let later = if *pool == "0.1" { 31 } else { 0 };
        assert_eq!(withdrawn["tree_size"], 1 + later, "{pool}");
        assert_eq!(withdrawn["leaf_index"], 0, "{pool}");
        let expected = taonado_types::parse_tao(pool).expect("pool amount");
        assert_eq!(
            chain.wtao_balance(&recipient),
            expected.to_string(),
            "{pool}"
        );
    }
}

#[test]
fn withdrawing_to_the_depositor_warns_before_proving() {
    let chain = MixerChain::start();
    let deposit = chain.deposit("1");
    let note = deposit["note"].as_str().expect("note").to_owned();
    let (code, stdout, stderr) = chain.mixer_with_stdin(
        &[
            "withdraw",
            "--note",
            "-",
            "--recipient",
            crate::support::DEV0,
        ],
        Some(&note),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = &envelope(&stdout)["data"];
    let warnings = data["warnings"].as_array().expect("warnings");
    assert!(
        warnings.len() == 1
            && warnings[0]
                .as_str()
                .is_some_and(|w| w.contains("gives no privacy")),
        "{data}"
    );
    assert!(stderr.contains("gives no privacy"), "{stderr}");

    // To a fresh address: no warning.
    let other = chain.deposit("1");
    let withdrawn = chain.withdraw(other["note"].as_str().expect("note"), &fresh_address(0xc3));
    assert_eq!(withdrawn["warnings"], serde_json::json!([]), "{withdrawn}");
}

/// The live pools have no record of ours: `mixer` works from the configured addresses (the
/// mainnet preset's, here a `taonado.toml`'s) and finds where the pool begins by itself.
#[test]
fn without_a_record_the_configured_pool_syncs_from_its_first_block_and_withdraws() {
    let chain = MixerChain::start();
    let note = chain.deposit("1")["note"]
        .as_str()
        .expect("note")
        .to_owned();
    let record_path = chain.sandbox.path().join("deployments/local.json");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).expect("the record"))
            .expect("JSON");
    let pool = record["pools"]
        .as_array()
        .expect("pools")
        .iter()
        .find(|p| p["denomination"] == "0xde0b6b3a7640000")
        .expect("the 1 WTAO pool")
        .clone();
    let pool_block = pool["block"].as_u64().expect("the pool's block");
    assert!(pool_block > 1, "the pool is not the chain's first contract");
    let address = |name: &str| {
        record["contracts"][name]["address"]
            .as_str()
            .expect("recorded")
            .to_owned()
    };
    std::fs::rename(&record_path, record_path.with_extension("json.moved")).expect("move");
    std::fs::write(
        chain.sandbox.path().join("taonado.toml"),
        format!(
            "[networks.local.addresses]\nwtao = \"{}\"\nverifier = \"{}\"\n[networks.local.addresses.pools]\n\"1\" = \"{}\"\n",
            address("WTAO"),
            address("Verifier"),
            pool["address"].as_str().expect("pool address")
        ),
    )
    .expect("write the config");

    let (code, stdout, stderr) = chain.mixer(&["sync", "--pool", "1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let synced = &envelope(&stdout)["data"]["pools"][0];
    assert_eq!(synced["from_block"], pool_block, "{synced}");
    assert_eq!(synced["leaves"], 1);
    assert_eq!(synced["root_known"], true);

    let recipient = fresh_address(0x5c);
    chain.withdraw(&note, &recipient);
    assert_eq!(chain.wtao_balance(&recipient), "1000000000000000000");
    assert!(!record_path.exists(), "nothing wrote a record");
}
