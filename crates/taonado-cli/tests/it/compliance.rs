//! `taonado compliance` and `mixer privacy` end to end: a scripted dev-chain scenario
//! (controls that never withdraw, a withdrawal to self, a fast in-and-out at a rare gas
//! price, one address's two pools withdrawn together, deposits spread over pools), indexed,
//! then the rules must flag exactly the scripted patterns; the report renders byte-identically
//! from the same database; bad input is one line, exit 2, and changes nothing.

use std::collections::BTreeSet;

use serde_json::Value;
use taonado_devnet::config::DEV_ACCOUNTS;

use crate::mixer::{MixerChain, fresh_address};
use crate::support::{envelope, run_with_stdin};

/// A legacy gas price no other pool transaction pays (the devnet's base fee is 20 gwei).
const RARE_GAS_PRICE: &str = "23456789012";

fn key(i: usize) -> String {
    format!("{:#x}", DEV_ACCOUNTS[i].private_key)
}

fn address(i: usize) -> String {
    format!("{:#x}", DEV_ACCOUNTS[i].address)
}

/// Deposits into `pool` from dev account `i` (wrapping the TAO first); the deposit's data.
fn deposit(chain: &MixerChain, pool: &str, i: usize, extra: &[&str]) -> Value {
    let k = key(i);
    let mut args = vec!["deposit", "--pool", pool, "--wrap", "--private-key", &k];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = chain.mixer(&args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    envelope(&stdout)["data"].clone()
}

fn note(d: &Value) -> String {
    d["note"].as_str().expect("note").to_owned()
}

fn tx(d: &Value) -> String {
    d["tx_hash"].as_str().expect("tx hash").to_lowercase()
}

/// `taonado --json <args>` in the chain's sandbox.
fn taonado(chain: &MixerChain, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    run_with_stdin(chain.sandbox.taonado().args(args), stdin)
}

fn index(chain: &MixerChain) {
    let (code, stdout, stderr) = taonado(
        chain,
        &["--json", "index", "--rpc-url", &chain.devnet.url, "--once"],
        None,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

fn privacy(chain: &MixerChain, note: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json", "mixer", "privacy", "--note", "-"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = taonado(chain, &all, Some(note));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(&note[note.len() - 60..]) && !stderr.contains(&note[note.len() - 60..]),
        "the note is never printed"
    );
    envelope(&stdout)["data"].clone()
}

fn rules(findings: &Value) -> BTreeSet<String> {
    findings
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule").to_owned())
        .collect()
}

/// A rejected command: exit 2, one stderr line holding `expect`, nothing on stdout.
fn assert_usage(chain: &MixerChain, args: &[&str], expect: &str) {
    let mut all = vec!["-q"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = taonado(chain, &all, None);
    assert_eq!(code, 2, "{args:?}: {stdout}\n{stderr}");
    assert!(stdout.is_empty(), "{args:?}: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(
        stderr.contains(expect),
        "{args:?}: {expect:?} not in {stderr}"
    );
}

#[test]
fn scripted_patterns_are_flagged_and_the_controls_are_not() {
    let started = std::time::Instant::now();
    let chain = MixerChain::start();
    // Thresholds for a chain whose blocks are transactions: rapid is within 2 blocks,
    // structuring 3 deposits over 2 pools within 12 blocks (a wrapped deposit is 3 blocks).
    std::fs::write(
        chain.sandbox.path().join("monitor.toml"),
        "[rules.compliance]\nrapid_max_blocks = 2\nsmall_anonymity_set = 5\nstructuring_min_deposits = 3\nstructuring_min_pools = 2\nstructuring_window_blocks = 12\n",
    )
    .expect("monitor.toml");

    // Controls: three accounts deposit once each and never withdraw.
    let mut label = std::collections::BTreeMap::new();
    for (i, pool) in [(1, "1"), (2, "1"), (3, "10")] {
        label.insert(tx(&deposit(&chain, pool, i, &[])), format!("control{i}"));
    }
    // S deposits, and later withdraws to itself.
    let s = deposit(&chain, "1", 4, &[]);
    label.insert(tx(&s), "self".into());
    // M deposits into pools 1 and 10, and later withdraws both to one fresh address.
    let m1 = deposit(&chain, "1", 5, &[]);
    let m10 = deposit(&chain, "10", 5, &[]);
    label.insert(tx(&m1), "multi1".into());
    label.insert(tx(&m10), "multi10".into());
    // T spreads three deposits over two pools in a few blocks.
    for (n, pool) in ["1", "10", "1"].into_iter().enumerate() {
        label.insert(
            tx(&deposit(&chain, pool, 6, &[])),
            format!("structuring{n}"),
        );
    }
    // R deposits at a rare gas price ...
    let r = deposit(&chain, "10", 7, &["--gas-price", RARE_GAS_PRICE]);
    label.insert(tx(&r), "rapid".into());

    eprintln!("deposits done after {:?}", started.elapsed());
    // ... and asks, before withdrawing, what would link it.
    index(&chain);
    let f1 = fresh_address(0xf1);
    let asked = privacy(
        &chain,
        &note(&r),
        &["--recipient", &f1, "--gas-price", RARE_GAS_PRICE],
    );
    assert_eq!(asked["linkable"], true, "{asked}");
    assert_eq!(
        rules(&asked["findings"]),
        BTreeSet::from(["rapid_withdrawal".to_owned(), "unique_gas_price".to_owned()]),
        "{asked}"
    );
    let to_self = privacy(&chain, &note(&r), &["--recipient", &address(7)]);
    assert!(
        rules(&to_self["findings"]).contains("withdraw_to_self"),
        "{to_self}"
    );
    // M's first note to a fresh address at the usual price: nothing links it.
    let quiet = privacy(&chain, &note(&m1), &["--recipient", &fresh_address(0xf3)]);
    assert_eq!(quiet["linkable"], false, "{quiet}");
    assert_eq!(quiet["findings"], Value::Array(vec![]), "{quiet}");

    // R goes out at once, at the same price; S to itself; M's two notes to one address.
    let (code, stdout, stderr) = chain.mixer_with_stdin(
        &[
            "withdraw",
            "--note",
            "-",
            "--recipient",
            &f1,
            "--gas-price",
            RARE_GAS_PRICE,
        ],
        Some(&note(&r)),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    chain.withdraw(&note(&s), &address(4));
    let f2 = fresh_address(0xf2);
    chain.withdraw(&note(&m1), &f2);
    chain.withdraw(&note(&m10), &f2);
    eprintln!("withdrawals done after {:?}", started.elapsed());
    index(&chain);

    // Transaction monitoring, once: the rules find the eight patterns scripted above and
    // record them; a second pass finds them again and records nothing new.
    let scan = || {
        let (code, stdout, stderr) = taonado(
            &chain,
            &["--json", "compliance", "monitor", "--since", "1y"],
            None,
        );
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        envelope(&stdout)["data"].clone()
    };
    let first = scan();
    assert_eq!(first["new_flags"], 8, "{first}");
    assert_eq!(first["flags"].as_array().map(Vec::len), Some(8), "{first}");
    let flagged_rules: u64 = first["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["flags"].as_u64())
        .sum();
    assert_eq!(flagged_rules, 8, "{first}");
    let again = scan();
    assert_eq!(again["new_flags"], 0, "{again}");
    assert_eq!(again["flags"], first["flags"]);

    let report = |format: &str, out: &str| {
        let (code, stdout, stderr) = taonado(
            &chain,
            &[
                "--json",
                "compliance",
                "report",
                "--period",
                "monthly",
                "--format",
                format,
                "--out",
                out,
            ],
            None,
        );
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let mut data = envelope(&stdout)["data"].clone();
        assert_eq!(data["written"], out);
        data["written"] = Value::Null;
        let text = std::fs::read_to_string(chain.sandbox.path().join(out)).expect("report file");
        (data, text)
    };
    let (data, markdown) = report("markdown", "report.md");
    let flagged: BTreeSet<(String, String)> = data["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| {
            let deposit = f["deposit_key"].as_str().expect("deposit key");
            let who = label
                .get(deposit)
                .unwrap_or_else(|| panic!("a flag on an unscripted deposit: {f}"));
            (f["rule"].as_str().expect("rule").to_owned(), who.clone())
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("withdraw_to_self", "self"),
        ("multi_denomination", "multi1"),
        ("multi_denomination", "multi10"),
        ("structuring", "structuring0"),
        ("structuring", "structuring1"),
        ("structuring", "structuring2"),
        ("rapid_withdrawal", "rapid"),
        ("unique_gas_price", "rapid"),
    ]
    .into_iter()
    .map(|(r, w)| (r.to_owned(), w.to_owned()))
    .collect();
    assert_eq!(flagged, expected, "{data}");
    assert_eq!(data["flags"].as_array().map(Vec::len), Some(expected.len()));
    for f in data["flags"].as_array().expect("flags") {
        let score = f["score"].as_f64().expect("score");
        assert!(score > 0.0 && score <= 1.0, "{f}");
        assert!(
            !f["explanation"].as_str().unwrap_or_default().is_empty(),
            "{f}"
        );
    }
    // Pools: volumes, and anonymity sets less the linked deposits.
    let pool = |amount: &str| {
        data["pools"]
            .as_array()
            .expect("pools")
            .iter()
            .find(|p| p["amount"] == amount)
            .unwrap_or_else(|| panic!("pool {amount} in {data}"))
            .clone()
    };
    let (one, ten) = (pool("1"), pool("10"));
    assert_eq!(
        (
            &one["deposits"],
            &one["withdrawals"],
            &one["linked_deposits"],
            &one["effective_anonymity_set"]
        ),
        (&6.into(), &2.into(), &2.into(), &4.into()),
        "{one}"
    );
    assert_eq!(one["volume_in_tao"], "6");
    assert_eq!(
        (
            &ten["deposits"],
            &ten["withdrawals"],
            &ten["linked_deposits"],
            &ten["effective_anonymity_set"]
        ),
        (&4.into(), &2.into(), &2.into(), &2.into()),
        "{ten}"
    );
    assert_eq!(
        (&data["deposits"], &data["withdrawals"]),
        (&10.into(), &4.into())
    );
    assert!(markdown.contains("| rapid_withdrawal | 1 |"), "{markdown}");

    // The same database gives the same bytes, in every format.
    let (again, markdown2) = report("markdown", "report2.md");
    assert_eq!(markdown, markdown2);
    assert_eq!(data, again);
    let (_, json) = report("json", "report.json");
    let (_, json2) = report("json", "report2.json");
    assert_eq!(json, json2);
    let (_, html) = report("html", "report.html");
    let (_, html2) = report("html", "report2.html");
    assert_eq!(html, html2);
    assert!(
        html.contains("<svg") && html.contains("Anonymity set per pool"),
        "{html}"
    );

    eprintln!("reports done after {:?}", started.elapsed());
    // Bad input: one line, exit 2, nothing changed.
    assert_usage(
        &chain,
        &["compliance", "report", "--period", "weekly"],
        "unknown period",
    );
    assert_usage(
        &chain,
        &["compliance", "report", "--month", "2999-01"],
        "in the future",
    );
    assert_usage(
        &chain,
        &["compliance", "report", "--month", "2026-13"],
        "not a month",
    );
    assert_usage(
        &chain,
        &["compliance", "retention", "--policy", "1y"],
        "legal minimum",
    );
    let (code, stdout, _) = taonado(&chain, &["--json", "compliance", "retention"], None);
    assert_eq!(code, 0);
    assert_eq!(envelope(&stdout)["data"]["policy"], Value::Null, "{stdout}");

    // A 7-year policy keeps everything just flagged.
    let (code, stdout, stderr) = taonado(
        &chain,
        &["--json", "compliance", "retention", "--policy", "7y"],
        None,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = taonado(
        &chain,
        &["--json", "compliance", "retention", "--apply", "--dry-run"],
        None,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let purge = envelope(&stdout)["data"].clone();
    assert_eq!(purge["deleted"][0]["rows"], 0, "{purge}");
    assert_eq!(purge["dry_run"], true);
    let policy_cutoff = purge["cutoff"].as_u64().expect("cutoff");

    // `compliance purge`: asking for less than the policy keeps still deletes only what the
    // policy allows (its cutoff); asking for more moves the cutoff back.
    let purge = |args: &[&str]| {
        let (code, stdout, stderr) = taonado(
            &chain,
            &[&["--json", "compliance", "purge"][..], args].concat(),
            None,
        );
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        envelope(&stdout)["data"].clone()
    };
    let logs = purge(&["--data-type", "logs", "--older-than", "1y", "--dry-run"]);
    assert!(
        logs["cutoff"].as_u64().expect("cutoff") <= policy_cutoff + 60,
        "{logs}"
    );
    assert!(
        logs["deleted"]
            .as_array()
            .expect("tables")
            .iter()
            .all(|t| t[1] == 0),
        "{logs}"
    );
    let flags = purge(&["--data-type", "flags", "--older-than", "10y"]);
    assert!(
        flags["cutoff"].as_u64().expect("cutoff") < policy_cutoff,
        "{flags}"
    );
    assert_eq!(flags["deleted"][0][1], 0, "{flags}");
    assert_usage(
        &chain,
        &[
            "compliance",
            "purge",
            "--data-type",
            "logs",
            "--older-than",
            "soon",
        ],
        "--older-than soon",
    );
}
