//! The exit-code rule as one table over commands' failure modes: exit 2 only when the
//! command line or the config must change; the state of the chain or of funds (a spent note,
//! a commitment never deposited, too little WTAO or TAO, an unregistered hotkey) and a node
//! that cannot be reached are failed checks, exit 1, `"kind":"failed"`.

use serde_json::Value;

use crate::support::{Devnet, Sandbox, run_with_stdin};

/// Dev account 1 (a public test key): TAO but no WTAO.
const DEV1_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// A key whose account holds nothing on the devnet.
const UNFUNDED_KEY: &str = "0x0000000000000000000000000000000000000000000000000000000000000001";
const RECIPIENT: &str = "0x00000000000000000000000000000000000000b7";

/// Runs `taonado --json <args>` (note on stdin when given): exit code, and the error's kind
/// and message from the envelope (stderr when there is none).
fn attempt(sandbox: &Sandbox, args: &[String], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = sandbox.taonado();
    cmd.arg("--json").args(args);
    let (code, stdout, stderr) = run_with_stdin(&mut cmd, stdin);
    match serde_json::from_str::<Value>(stdout.trim()) {
        Ok(envelope) => (
            code,
            envelope["errors"][0]["kind"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            envelope["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ),
        Err(_) => (code, String::new(), stderr),
    }
}

/// One failure mode: what it is, the command, its stdin, and the exit code, error kind and
/// a fragment of the message it must give.
struct Case<'a> {
    what: &'a str,
    args: Vec<String>,
    stdin: Option<&'a str>,
    code: i32,
    kind: &'a str,
    fragment: &'a str,
}

fn case<'a>(
    what: &'a str,
    args: Vec<String>,
    stdin: Option<&'a str>,
    code: i32,
    kind: &'a str,
    fragment: &'a str,
) -> Case<'a> {
    Case {
        what,
        args,
        stdin,
        code,
        kind,
        fragment,
    }
}

#[test]
fn every_failure_mode_exits_by_the_rule() {
    let sandbox = Sandbox::new();
    let devnet = Devnet::start(&sandbox, &[]);
    let url = devnet.url.as_str();
    let on_chain = |args: &[&str]| -> Vec<String> {
        ["--rpc-url", url]
            .iter()
            .chain(args)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let (code, _, message) = attempt(&sandbox, &on_chain(&["deploy"]), None);
    assert_eq!(code, 0, "{message}");
    let (code, _, message) = attempt(
        &sandbox,
        &on_chain(&["mixer", "deposit", "--pool", "1", "--wrap"]),
        None,
    );
    assert_eq!(code, 0, "{message}");
    let note = std::fs::read_to_string(sandbox.path().join(".taonado/notes/local.txt"))
        .expect("the note backup")
        .split_whitespace()
        .find(|word| word.starts_with("taonado-wtao-1-"))
        .expect("a note in the backup")
        .to_owned();
    let withdraw = on_chain(&["mixer", "withdraw", "--note", "-", "--recipient", RECIPIENT]);
    let (code, _, message) = attempt(&sandbox, &withdraw, Some(&note));
    assert_eq!(code, 0, "{message}");
    // Another nullifier (the first hex digit after `0x`): neither spent nor deposited.
    let mut never_deposited = note.clone();
    let at = note.rfind("0x").expect("hex part") + 2;
    let digit = if note[at..].starts_with('0') {
        "1"
    } else {
        "0"
    };
    never_deposited.replace_range(at..=at, digit);

    let as_args = |args: &[&str]| args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let table: Vec<Case<'_>> = vec![
        case(
            "a spent note (chain state)",
            withdraw.clone(),
            Some(note.as_str()),
            1,
            "failed",
            "already withdrawn",
        ),
        case(
            "a note never deposited (chain state)",
            withdraw.clone(),
            Some(never_deposited.as_str()),
            1,
            "failed",
            "never deposited",
        ),
        case(
            "mixer deposit without enough WTAO (funds)",
            on_chain(&["mixer", "deposit", "--pool", "1", "--private-key", DEV1_KEY]),
            None,
            1,
            "failed",
            "wrap TAO first",
        ),
        case(
            "wtao wrap without enough TAO (funds)",
            on_chain(&["wtao", "wrap", "1", "--private-key", UNFUNDED_KEY]),
            None,
            1,
            "failed",
            "fund it",
        ),
        case(
            "miner register with a hotkey not on the subnet (chain state)",
            on_chain(&["miner", "register", "--amount", "1", "--suri", "//Nobody"]),
            None,
            1,
            "failed",
            "is not registered on subnet",
        ),
        case(
            "a node that cannot be reached",
            as_args(&["--rpc-url", "http://127.0.0.1:9", "wtao", "balance"]),
            None,
            1,
            "failed",
            "127.0.0.1:9",
        ),
        case(
            "a malformed note (command line)",
            withdraw.clone(),
            Some("taonado-wtao-1-42-0x1234"),
            2,
            "usage",
            "124 hex digits",
        ),
        case(
            "a pool the deployment does not have (command line)",
            on_chain(&["mixer", "deposit", "--pool", "7", "--wrap"]),
            None,
            2,
            "usage",
            "no 7 WTAO pool",
        ),
        case(
            "a zero amount (command line)",
            on_chain(&["wtao", "wrap", "0"]),
            None,
            2,
            "usage",
            "the amount must be positive",
        ),
        case(
            "a network without protocol addresses (config)",
            on_chain(&["weights", "show", "--deployments-dir", "nowhere"]),
            None,
            2,
            "usage",
            "no weights contract is known",
        ),
        case(
            "an unknown network (config)",
            as_args(&["--network", "nosuch", "wtao", "balance"]),
            None,
            2,
            "usage",
            "nosuch",
        ),
        case(
            "an unknown flag (command line)",
            as_args(&["wtao", "wrap", "1", "--nonsense"]),
            None,
            2,
            "usage",
            "--nonsense",
        ),
    ];
    let mut wrong = Vec::new();
    for Case {
        what,
        args,
        stdin,
        code,
        kind,
        fragment,
    } in &table
    {
        let (actual, actual_kind, message) = attempt(&sandbox, args, *stdin);
        if actual != *code || actual_kind != *kind || !message.contains(fragment) {
            wrong.push(format!(
                "{what}: exit {actual} kind {actual_kind:?} (want {code} {kind:?}, {fragment:?}): {message}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
