//! `taonado backup`, `recover`, `db` and `drill` through the real binary: a drill's measured
//! RTO and RPO, backups taken while a monitor writes, and bad sets refused with one line
//! that names the file, with nothing changed.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use serde_json::Value;
use taonado_store::Store;

use crate::index::{chain_logs, protocol_addresses, stored};
use crate::support::{Devnet, Sandbox, envelope, fixture, run};

fn deployed(sandbox: &Sandbox) -> Devnet {
    let devnet = Devnet::start(sandbox, &[]);
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["--json", "-q", "deploy", "--rpc-url", &devnet.url])
        .arg("--verifying-key")
        .arg(fixture("placeholder.vk.json")));
    assert_eq!(code, 0, "{stdout}{stderr}");
    devnet
}

fn ok(sandbox: &Sandbox, args: &[&str]) -> Value {
    let (code, stdout, stderr) = run(sandbox.taonado().arg("--json").arg("-q").args(args));
    assert_eq!(code, 0, "{args:?}: {stdout}\n{stderr}");
    envelope(&stdout)["data"].clone()
}

/// Runs a command that must fail: (exit code, its one error line on stderr).
fn fails(sandbox: &Sandbox, args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = run(sandbox.taonado().arg("-q").args(args));
    assert_ne!(code, 0, "{args:?} succeeded: {stdout}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: one error line expected:\n{stderr}"
    );
    (code, lines[0].to_owned())
}

fn sets(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("backups folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

#[test]
fn drill_complete_failure_prints_measured_rto_and_rpo() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("drill");
    let report_file = sandbox.path().join("drill.md");
    let (code, stdout, stderr) = run(sandbox
        .taonado()
        .args(["-q", "drill", "--scenario", "complete-failure"])
        .args(["--activity-after", "4", "--work-dir"])
        .arg(&work)
        .arg("--report")
        .arg(&report_file));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("| RTO"), "{stdout}");
    assert!(stdout.contains("| RPO"), "{stdout}");
    assert!(stdout.contains("result: **passed**"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&report_file).unwrap(), stdout);

    let data = ok(
        &sandbox,
        &[
            "drill",
            "--scenario",
            "complete-failure",
            "--activity-after",
            "4",
        ],
    );
    let rto = data["rto_seconds"].as_f64().expect("rto_seconds");
    assert!(
        rto > 0.0 && rto <= data["rto_target_seconds"].as_f64().unwrap(),
        "{data}"
    );
    assert!(
        data["rpo_seconds"].as_f64().expect("rpo_seconds") > 0.0,
        "{data}"
    );
    // The backup lacks at least the 4 wraps made after it (and at most the 2 made while it
    // was taken besides).
    let rpo_blocks = data["rpo_blocks"].as_u64().expect("rpo_blocks");
    assert!((4..=6).contains(&rpo_blocks), "{data}");
    assert_eq!(data["missing_events"], 0, "{data}");
    assert_eq!(data["extra_events"], 0, "{data}");
    assert_eq!(data["events"], data["chain_logs"], "{data}");
    assert_eq!(data["backup_verified"], true, "{data}");
    assert!(
        data["recovered_checkpoint"].as_u64() >= data["failure_head"].as_u64(),
        "{data}"
    );
}

#[test]
fn drills_of_a_database_loss_from_a_continuous_replica_and_of_a_node_outage() {
    let sandbox = Sandbox::new();
    let data = ok(
        &sandbox,
        &["drill", "--scenario", "database-loss", "--continuous"],
    );
    assert_eq!(data["passed"], true, "{data}");
    assert!(
        data["recovered_from"]
            .as_str()
            .is_some_and(|p| p.ends_with("replica-local")),
        "{data}"
    );
    assert!(data["rpo_seconds"].as_f64().is_some(), "{data}");
    assert_eq!(data["missing_events"], 0, "{data}");
    assert_eq!(data["extra_events"], 0, "{data}");

    // The same loss recovered from shipped WAL frames.
    let data = ok(
        &sandbox,
        &[
            "drill",
            "--scenario",
            "database-loss",
            "--continuous",
            "--wal",
        ],
    );
    assert_eq!(data["passed"], true, "{data}");
    assert_eq!(data["wal"], true, "{data}");
    assert!(
        data["recovered_from"]
            .as_str()
            .is_some_and(|p| p.ends_with("wal-local")),
        "{data}"
    );
    assert_eq!(data["missing_events"], 0, "{data}");
    assert_eq!(data["extra_events"], 0, "{data}");

    let data = ok(&sandbox, &["drill", "--scenario", "rpc-outage"]);
    assert_eq!(data["passed"], true, "{data}");
    assert_eq!(data["rpo_blocks"], 0, "{data}");
    assert!(
        data["recovered_checkpoint"].as_u64() > data["failure_head"].as_u64(),
        "{data}"
    );
    assert_eq!(data["missing_events"], 0, "{data}");
}

struct Monitor(Child);

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn backups_taken_while_the_monitor_writes_are_consistent() {
    let sandbox = Sandbox::new();
    let devnet = deployed(&sandbox);
    let url = devnet.url.clone();
    let monitor = Monitor(
        sandbox
            .taonado()
            .args([
                "-q",
                "monitor",
                "--rpc-url",
                &url,
                "--listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the monitor"),
    );
    // The monitor creates its database as it starts; a backup taken before that has no
    // database to copy. Wait (bounded) until it has recorded the chain it follows.
    let db = sandbox.path().join("data/local.db");
    let started = std::time::Instant::now();
    while !db.exists()
        || rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                c.query_row("SELECT chain_id FROM indexer_state", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .is_err()
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the monitor did not create its database"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Each round adds a block with a WTAO event and backs up at once, while the monitor
    // indexes it.
    for _ in 0..4 {
        ok(&sandbox, &["wtao", "wrap", "0.1", "--rpc-url", &url]);
        ok(&sandbox, &["backup", "create", "--rpc-url", &url]);
    }
    // And one once the monitor has caught up with the head (read from its database).
    let head = ok(&sandbox, &["wtao", "wrap", "0.1", "--rpc-url", &url])["block"].as_u64();
    loop {
        let checkpoint = Store::open(&db)
            .ok()
            .and_then(|s| s.checkpoint().ok().flatten())
            .map(|c| c.number);
        if checkpoint.is_some() && (head.is_none() || checkpoint >= head) {
            break;
        }
        std::thread::yield_now();
    }
    ok(&sandbox, &["backup", "create", "--rpc-url", &url]);
    drop(monitor);

    let addresses = protocol_addresses(&sandbox.path().join("deployments/local.json"));
    let all = sets(&sandbox.path().join("backups"));
    assert_eq!(all.len(), 5, "{all:?}");
    let mut with_events = 0;
    for set in &all {
        let verified = ok(
            &sandbox,
            &["backup", "verify", "--path", set.to_str().unwrap()],
        );
        assert_eq!(verified["database_checked"], true, "{verified}");
        // The set's database (copied out, since opening it must not change the set).
        let copy = sandbox.path().join("check.db");
        std::fs::copy(set.join("database/taonado.db"), &copy).unwrap();
        let (checkpoint, events) = stored(&copy);
        std::fs::remove_file(&copy).unwrap();
        let Some(checkpoint) = checkpoint else {
            continue;
        };
        // The checkpoint agrees with the events: exactly the chain's logs up to it.
        assert_eq!(
            events,
            chain_logs(&url, addresses.clone(), checkpoint),
            "{}",
            set.display()
        );
        with_events += usize::from(!events.is_empty());
    }
    assert!(with_events >= 1, "no set held indexed events");
    let listed = ok(&sandbox, &["backup", "list"]);
    let listed = listed["sets"].as_array().expect("sets");
    assert_eq!(listed.len(), 5);
    assert!(
        listed
            .iter()
            .all(|s| s["last_verified_at"].as_u64().is_some()),
        "{listed:?}"
    );
}

/// A set of the database only (no node needed), and the live database it came from.
fn db_only_set(sandbox: &Sandbox) -> (PathBuf, PathBuf) {
    let db = sandbox.path().join("data/local.db");
    let store = Store::open_creating(&db).expect("a database");
    store.init_chain(42).expect("chain id");
    drop(store);
    let created = ok(sandbox, &["backup", "create", "--no-contract-state"]);
    let set = PathBuf::from(created["path"].as_str().expect("path"));
    (sandbox.path().join(set), db)
}

/// Every file under `dir` (recursively) with its bytes, and every folder (empty bytes).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        } else if path.is_dir() {
            out.push((path.clone(), Vec::new()));
            out.extend(snapshot(&path));
        }
    }
    out.sort();
    out
}

/// A shared deployment's `--db postgres://…` is refused by every command that takes a
/// database path (they are SQLite procedures: online backup API, VACUUM, integrity_check,
/// WAL shipping) with one line pointing at PostgreSQL's own tools, exit 2, before anything
/// is read or written: no connection is tried (nothing listens on port 1), the password
/// never shows, and the sandbox (a live database and a set to restore) is unchanged.
#[test]
fn a_postgres_database_is_refused_by_backup_recover_and_db_with_one_line() {
    let sandbox = Sandbox::new();
    let (set, _db) = db_only_set(&sandbox);
    let set = set.to_str().unwrap().to_owned();
    let url = "postgres://ops:s3cret@127.0.0.1:1/taonado";
    let before = snapshot(sandbox.path());
    let commands: [&[&str]; 12] = [
        &["backup", "create", "--no-contract-state"],
        &["backup", "restore", "--path", &set, "--force"],
        &["backup", "restore", "--path", &set, "--dry-run"],
        &["recover", "--backup-date", "latest", "--force"],
        &["backup", "continuous"],
        &["backup", "continuous", "--wal"],
        &["db", "cleanup", "--older-than", "30d", "--yes"],
        &["db", "compact"],
        &["db", "backup", "--destination", "copy.db"],
        &["db", "check"],
        &["db", "migrate"],
        &["db", "migrate", "--status"],
    ];
    for args in commands {
        let mut args = args.to_vec();
        args.extend(["--db", url]);
        let (code, line) = fails(&sandbox, &args);
        assert_eq!(code, 2, "{args:?}: {line}");
        assert!(
            line.contains("is a PostgreSQL database") && line.contains("pg_dump"),
            "{args:?}: {line}"
        );
        assert!(!line.contains("s3cret"), "{args:?}: {line}");
        assert_eq!(snapshot(sandbox.path()), before, "{args:?} changed a file");
    }
}

#[test]
fn bad_sets_are_refused_with_one_line_naming_the_file_and_nothing_changes() {
    let sandbox = Sandbox::new();
    let (good, db) = db_only_set(&sandbox);
    // The live database changes after the backup, so a restore would be visible.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "INSERT INTO alerts (dedup_key, rule, severity, state, summary, details, fired_at, updated_at)
             VALUES ('live', 'r', 'warning', 'firing', 's', '{}', 1, 1)",
        )
        .unwrap();
    std::fs::write(sandbox.path().join("data/marker"), b"live").unwrap();
    let data_dir = db.parent().unwrap().to_path_buf();
    let before = snapshot(&data_dir);

    let copy = |name: &str| {
        let to = sandbox.path().join(name);
        std::fs::create_dir_all(to.join("database")).unwrap();
        for entry in ["manifest.json", "manifest.sha256", "database/taonado.db"] {
            std::fs::copy(good.join(entry), to.join(entry)).unwrap();
        }
        to
    };
    let flipped = copy("flipped");
    let file = flipped.join("database/taonado.db");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();

    let missing = copy("missing");
    std::fs::remove_file(missing.join("database/taonado.db")).unwrap();

    let altered = copy("altered");
    let manifest = std::fs::read_to_string(altered.join("manifest.json")).unwrap();
    std::fs::write(
        altered.join("manifest.json"),
        manifest.replace("\"created_at\": ", "\"created_at\": 1"),
    )
    .unwrap();

    let unlisted = copy("unlisted");
    std::fs::write(unlisted.join("notes.txt"), b"?").unwrap();

    let cases: [(&Path, PathBuf, &str, i32); 4] = [
        (&flipped, flipped.join("database/taonado.db"), "SHA-256", 1),
        (&missing, missing.join("database/taonado.db"), "missing", 1),
        (&altered, altered.join("manifest.json"), "seal", 1),
        (&unlisted, unlisted.join("notes.txt"), "not listed", 1),
    ];
    for (set, file, what, code) in &cases {
        for args in [
            vec!["backup", "verify", "--path", set.to_str().unwrap()],
            vec![
                "backup",
                "restore",
                "--force",
                "--path",
                set.to_str().unwrap(),
            ],
        ] {
            let (actual, line) = fails(&sandbox, &args);
            assert_eq!(actual, *code, "{args:?}: {line}");
            assert!(
                line.contains(&file.display().to_string()),
                "{args:?}: {line}"
            );
            assert!(line.contains(what), "{args:?}: {line}");
        }
        assert!(!set.join("verified.json").exists());
    }

    // Another network: exit 2, naming the manifest.
    let (code, line) = fails(
        &sandbox,
        &[
            "--network",
            "testnet",
            "backup",
            "restore",
            "--force",
            "--path",
            good.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{line}");
    assert!(
        line.contains(&good.join("manifest.json").display().to_string()),
        "{line}"
    );
    assert!(line.contains("not of testnet"), "{line}");

    // A newer schema: a database a newer binary migrated.
    let newer = sandbox.path().join("newer.db");
    std::fs::copy(&db, &newer).unwrap();
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)",
        [],
    )
    .unwrap();
    drop(conn);
    let created = ok(
        &sandbox,
        &[
            "backup",
            "create",
            "--no-contract-state",
            "--dest",
            "newer",
            "--db",
            "newer.db",
        ],
    );
    let newer_set = sandbox.path().join(created["path"].as_str().unwrap());
    for sub in ["verify", "restore"] {
        let mut args = vec!["backup", sub, "--path", newer_set.to_str().unwrap()];
        if sub == "restore" {
            args.push("--force");
        }
        let (code, line) = fails(&sandbox, &args);
        assert_eq!(code, 2, "{line}");
        assert!(line.contains("schema version 9999"), "{line}");
        assert!(
            line.contains(&newer_set.join("manifest.json").display().to_string()),
            "{line}"
        );
    }

    // Nothing changed: the live database, no copy kept, no file added.
    assert_eq!(snapshot(&data_dir), before);

    // The good set still restores, keeping a copy of the live database first.
    let (code, line) = fails(
        &sandbox,
        &["backup", "restore", "--path", good.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("--force"), "{line}");
    let restored = ok(
        &sandbox,
        &[
            "backup",
            "restore",
            "--force",
            "--path",
            good.to_str().unwrap(),
        ],
    );
    let kept = restored["files"][0]["kept"].as_str().expect("a kept copy");
    assert!(sandbox.path().join(kept).exists(), "{restored}");
}

#[test]
fn recover_prune_schedule_and_db_maintenance() {
    let sandbox = Sandbox::new();
    let (set, db) = db_only_set(&sandbox);
    let name = set.file_name().unwrap().to_str().unwrap().to_owned();
    // taonado-local-YYYYMMDDTHHMMSSZ → the day.
    let day = &name["taonado-local-".len()..][..8];
    std::fs::remove_file(&db).unwrap();
    let recovered = ok(
        &sandbox,
        &["recover", "--backup-date", day, "--component", "database"],
    );
    assert_eq!(recovered["set"], format!("backups/{name}"), "{recovered}");
    assert!(db.exists());
    let (code, line) = fails(&sandbox, &["recover", "--backup-date", "1999-01-01"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("1999-01-01"), "{line}");
    let (code, line) = fails(&sandbox, &["recover", "--backup-date", "yesterday"]);
    assert_eq!(code, 2, "{line}");

    // Two more sets the same day: a daily policy of 1 keeps the newest.
    ok(&sandbox, &["backup", "create", "--no-contract-state"]);
    ok(&sandbox, &["backup", "create", "--no-contract-state"]);
    let plan = ok(&sandbox, &["backup", "prune", "--keep-daily", "1"]);
    assert_eq!(plan["removed"].as_array().unwrap().len(), 2, "{plan}");
    assert_eq!(
        sets(&sandbox.path().join("backups")).len(),
        3,
        "nothing removed without --yes"
    );
    let done = ok(&sandbox, &["backup", "prune", "--keep-daily", "1", "--yes"]);
    assert_eq!(done["kept"], plan["kept"]);
    assert_eq!(sets(&sandbox.path().join("backups")).len(), 1);

    let schedule = ok(&sandbox, &["backup", "schedule", "--at", "03:15"]);
    assert!(
        schedule["timer"]
            .as_str()
            .unwrap()
            .contains("OnCalendar=*-*-* 03:15:00 UTC")
    );
    assert!(
        schedule["cron"]
            .as_str()
            .unwrap()
            .starts_with("15 3 * * * ")
    );
    let (code, _) = fails(&sandbox, &["backup", "schedule", "--at", "25:00"]);
    assert_eq!(code, 2);

    let check = ok(&sandbox, &["db", "check"]);
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["integrity"], Value::Null, "{check}");
    let status = ok(&sandbox, &["db", "migrate", "--status"]);
    assert!(status["pending"].as_array().unwrap().is_empty(), "{status}");
    assert_eq!(status["applied"][0]["version"], 1, "{status}");

    // Retention: one sent notification of a resolved alert, long ago; a recent one stays.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO alerts (id, dedup_key, rule, severity, state, summary, details, fired_at, updated_at, resolved_at)
           VALUES (1, 'a', 'r', 'warning', 'resolved', 's', '{}', 100, 100, 100),
                  (2, 'b', 'r', 'warning', 'resolved', 's', '{}', 100, 100, strftime('%s','now'));
         INSERT INTO outbox (idempotency_key, channel, alert_id, payload, state, next_attempt_at, created_at)
           VALUES ('k1', 'ops', 1, '{}', 'sent', 0, 100),
                  ('k2', 'ops', 2, '{}', 'sent', 0, strftime('%s','now'));",
    )
    .unwrap();
    drop(conn);
    let counted = ok(&sandbox, &["db", "cleanup", "--older-than", "30d"]);
    let rows = |r: &Value, t: &str| {
        r["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["table"] == t)
            .unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    // The old notification, and its alert once the notification goes; the recent ones stay.
    assert_eq!(rows(&counted, "outbox"), 1, "{counted}");
    assert_eq!(rows(&counted, "alerts"), 1, "{counted}");
    assert_eq!(counted["applied"], false);
    let count = |table: &str| -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        (count("outbox"), count("alerts")),
        (2, 2),
        "nothing deleted without --yes"
    );
    let applied = ok(&sandbox, &["db", "cleanup", "--older-than", "30d", "--yes"]);
    assert_eq!(
        rows(&applied, "outbox"),
        rows(&counted, "outbox"),
        "{applied}"
    );
    assert_eq!(
        rows(&applied, "alerts"),
        rows(&counted, "alerts"),
        "{applied}"
    );
    assert_eq!((count("outbox"), count("alerts")), (1, 1));
    let again = ok(&sandbox, &["db", "cleanup", "--older-than", "30d"]);
    assert_eq!(
        rows(&again, "outbox") + rows(&again, "alerts"),
        0,
        "{again}"
    );

    let compacted = ok(&sandbox, &["db", "compact"]);
    assert!(
        compacted["bytes_after"].as_u64().unwrap() > 0,
        "{compacted}"
    );
    let copy = ok(&sandbox, &["db", "backup", "--destination", "copy.db"]);
    assert_eq!(
        copy["bytes"],
        std::fs::metadata(sandbox.path().join("copy.db"))
            .unwrap()
            .len()
    );
    let (code, line) = fails(&sandbox, &["db", "backup", "--destination", "copy.db"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("copy.db"), "{line}");
    let (code, line) = fails(&sandbox, &["db", "check", "--db", "nope.db"]);
    assert_eq!(code, 2, "{line}");
    assert!(!sandbox.path().join("nope.db").exists());
}

/// A pool's last root, next index and root history, and the EvmValidator's weights (uids,
/// values).
type PoolAndWeights = (String, u32, Vec<String>, (Vec<u16>, Vec<u16>));

/// [`PoolAndWeights`] read from the chain at `url`.
fn read_pool_and_weights(url: &str, pool: &str, validator: &str) -> PoolAndWeights {
    use alloy::primitives::{Address, U256};
    use alloy::providers::ProviderBuilder;
    use taonado_contracts::bindings::{ERC20Taonado, EvmValidator, WeightsV3};
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let provider = ProviderBuilder::new().connect_http(url.parse().expect("url"));
        let pool = ERC20Taonado::new(pool.parse::<Address>().unwrap(), &provider);
        let root = pool.getLastRoot().call().await.unwrap();
        let next = pool.nextIndex().call().await.unwrap();
        let size = pool.ROOT_HISTORY_SIZE().call().await.unwrap();
        let mut roots = Vec::new();
        for i in 0..size {
            roots.push(format!(
                "{:#x}",
                pool.roots(U256::from(i)).call().await.unwrap()
            ));
        }
        let validator = EvmValidator::new(validator.parse::<Address>().unwrap(), &provider);
        let weights = validator.weights().call().await.unwrap();
        let w = WeightsV3::new(weights, &provider)
            .getNormalizedWeights()
            .call()
            .await
            .unwrap();
        (format!("{root:#x}"), next, roots, (w.dests, w.normalized))
    })
}

fn contract_state(set: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(set.join("contract-state.json")).unwrap())
        .unwrap()
}

#[test]
fn contract_state_restores_into_a_dev_chain_with_the_same_roots_and_weights() {
    // The source chain: a miner wraps and associates (//Dave, a genesis neuron), two mixer
    // deposits change the pool's tree.
    let a = Sandbox::new();
    let chain_a = deployed(&a);
    let url_a = chain_a.url.clone();
    ok(
        &a,
        &[
            "miner",
            "register",
            "--amount",
            "3",
            "--suri",
            "//Dave",
            "--rpc-url",
            &url_a,
        ],
    );
    for _ in 0..2 {
        ok(
            &a,
            &[
                "mixer",
                "deposit",
                "--pool",
                "0.1",
                "--wrap",
                "--rpc-url",
                &url_a,
            ],
        );
    }
    let created = ok(&a, &["backup", "create", "--rpc-url", &url_a]);
    let set = a.path().join(created["path"].as_str().unwrap());
    let source = contract_state(&set);
    assert_eq!(source["pools"]["0.1"]["next_index"], 2, "{source}");
    assert!(
        !source["deposit_tracker"]["associations"]
            .as_object()
            .unwrap()
            .is_empty()
    );

    // A fresh dev chain with the protocol deployed: other roots and weights.
    let b = Sandbox::new();
    let chain_b = deployed(&b);
    let url_b = chain_b.url.clone();
    let before = ok(&b, &["backup", "create", "--rpc-url", &url_b]);
    let before = contract_state(&b.path().join(before["path"].as_str().unwrap()));
    assert_ne!(
        before["pools"]["0.1"]["last_root"],
        source["pools"]["0.1"]["last_root"]
    );
    assert_ne!(before["weights"]["weights"], source["weights"]["weights"]);

    let restored = ok(
        &a,
        &[
            "backup",
            "restore",
            "--path",
            set.to_str().unwrap(),
            "--component",
            "contract-state",
            "--to",
            "local",
            "--to-rpc-url",
            &url_b,
            "--to-deployments-dir",
            b.path().join("deployments").to_str().unwrap(),
        ],
    );
    let report = &restored["contract_state"];
    assert_eq!(report["roots_equal"]["0.1"], true, "{restored}");
    assert_eq!(report["weights_equal"], true, "{restored}");
    assert_eq!(report["validator_equal"], true, "{restored}");
    // Nothing of the files was touched.
    assert!(
        restored["files"].as_array().unwrap().is_empty(),
        "{restored}"
    );

    // Read back from chain B directly (its pools now hold leaves it has no Deposit logs of,
    // so a backup of B would rightly refuse them).
    let (root, next, roots, weights) = read_pool_and_weights(
        &url_b,
        source["pools"]["0.1"]["address"].as_str().unwrap(),
        source["evm_validator"]["address"].as_str().unwrap(),
    );
    assert_eq!(Value::from(root), source["pools"]["0.1"]["last_root"]);
    assert_eq!(Value::from(next), source["pools"]["0.1"]["next_index"]);
    assert_eq!(Value::from(roots), source["pools"]["0.1"]["roots"]);
    assert_eq!(Value::from(weights.0), source["weights"]["uids"]);
    assert_eq!(Value::from(weights.1), source["weights"]["weights"]);

    // Contract state goes only into a dev chain.
    let (code, line) = fails(
        &a,
        &[
            "backup",
            "restore",
            "--path",
            set.to_str().unwrap(),
            "--component",
            "contract-state",
        ],
    );
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("--to local"), "{line}");
    let (code, line) = fails(
        &a,
        &[
            "backup",
            "restore",
            "--path",
            set.to_str().unwrap(),
            "--component",
            "contract-state",
            "--to",
            "testnet",
        ],
    );
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("dev chain"), "{line}");
}

#[test]
fn backup_continuous_keeps_a_replica_and_copies_once_more_when_stopped() {
    let sandbox = Sandbox::new();
    let (_, db) = db_only_set(&sandbox);
    let child = sandbox
        .taonado()
        .args(["-q", "--json", "backup", "continuous", "--interval", "1h"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn backup continuous");
    // The first round runs at once; the next would be in an hour.
    let replica = sandbox.path().join("backups/replica-local");
    while !replica.join("manifest.json").exists() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "INSERT INTO alerts (dedup_key, rule, severity, state, summary, details, fired_at, updated_at)
             VALUES ('written-after', 'r', 'warning', 'firing', 's', '{}', 1, 1)",
        )
        .unwrap();
    crate::support::terminate(&child);
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report = envelope(&stdout)["data"].clone();
    assert_eq!(report["copies"], 2, "{report}");

    ok(
        &sandbox,
        &["backup", "verify", "--path", "backups/replica-local"],
    );
    let copy = sandbox.path().join("replica-copy.db");
    std::fs::copy(replica.join("database/taonado.db"), &copy).unwrap();
    let n: i64 = rusqlite::Connection::open(&copy)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM alerts WHERE dedup_key = 'written-after'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1, "the last write reached the replica at the stop");
    let (code, line) = fails(&sandbox, &["backup", "continuous", "--interval", "0s"]);
    assert_eq!(code, 2, "{line}");
}

#[test]
fn backup_continuous_wal_ships_frames_and_restore_rebuilds_the_database_from_them() {
    let sandbox = Sandbox::new();
    let (_, db) = db_only_set(&sandbox);
    let child = sandbox
        .taonado()
        .args([
            "-q",
            "--json",
            "backup",
            "continuous",
            "--wal",
            "--interval",
            "1h",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn backup continuous --wal");
    // The first round runs at once (a generation: the database file and its WAL).
    let replica = sandbox.path().join("backups/wal-local");
    while !replica.join("gen-000001").exists() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "INSERT INTO alerts (dedup_key, rule, severity, state, summary, details, fired_at, updated_at)
             VALUES ('shipped-at-stop', 'r', 'warning', 'firing', 's', '{}', 1, 1)",
        )
        .unwrap();
    crate::support::terminate(&child);
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report = envelope(&stdout)["data"].clone();
    assert_eq!(report["rounds"], 2, "{report}");

    // The live database exists: refused without --force, nothing changed.
    let (code, line) = fails(
        &sandbox,
        &["backup", "restore", "--path", "backups/wal-local"],
    );
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("already exists"), "{line}");
    let restored = ok(
        &sandbox,
        &[
            "backup",
            "restore",
            "--path",
            "backups/wal-local",
            "--db",
            "restored.db",
        ],
    );
    assert_eq!(restored["files"][0]["component"], "database", "{restored}");
    let n: i64 = rusqlite::Connection::open(sandbox.path().join("restored.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM alerts WHERE dedup_key = 'shipped-at-stop'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1, "the write made before the stop was shipped");
}

/// `backup create --include-keys`: the keystores and notes go in age-encrypted (no plain key
/// in the set); `backup verify` decrypts and checks them; `backup restore --component keys`
/// writes them into an empty home. Without the flag, no key is taken.
#[test]
fn include_keys_puts_encrypted_keys_in_the_set_and_restore_brings_them_back() {
    const PASSPHRASE: &str = "gravel-Moth-orchid-41-tundra-sleeve";
    let sandbox = Sandbox::new();
    let keystores = sandbox.path().join(".foundry/keystores");
    std::fs::create_dir_all(&keystores).expect("keystores");
    let mut fixture: Value = serde_json::from_str(include_str!(
        "../../../taonado-client/tests/fixtures/dev1.json"
    ))
    .expect("fixture");
    // The address Foundry records (the fixture is Anvil's second dev key's keystore).
    fixture["address"] = "70997970c51812dc3a010c7d01b50e0d17dc79c8".into();
    let keystore = fixture.to_string();
    std::fs::write(keystores.join("dev1"), &keystore).expect("keystore");
    let db = sandbox.path().join("data/local.db");
    Store::open_creating(&db)
        .expect("a database")
        .init_chain(42)
        .expect("chain id");

    let plain = ok(&sandbox, &["backup", "create", "--no-contract-state"]);
    let plain_set = sandbox.path().join(plain["path"].as_str().expect("path"));
    assert!(
        !plain_set.join("keys").exists(),
        "keys only with --include-keys"
    );

    let with_keys = |args: &[&str]| {
        run(sandbox
            .taonado()
            .env("TAONADO_BACKUP_PASSPHRASE", PASSPHRASE)
            .args(["--json", "-q"])
            .args(args))
    };
    let (code, stdout, stderr) =
        with_keys(&["backup", "create", "--no-contract-state", "--include-keys"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let set = sandbox
        .path()
        .join(envelope(&stdout)["data"]["path"].as_str().expect("path"));
    let keys = std::fs::read(set.join("keys/keys.age")).expect("keys.age");
    assert!(keys.starts_with(b"age-encryption.org/v1"));
    assert!(!String::from_utf8_lossy(&keys).contains("ciphertext"));
    let set_arg = set.to_str().expect("utf-8 path");

    let (code, stdout, stderr) = with_keys(&["backup", "verify", "--path", set_arg]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let verified = envelope(&stdout)["data"].clone();
    assert_eq!(verified["keys"]["keystores"], 1, "{verified}");
    assert_eq!(
        verified["keys"]["entries"][0]["address_ok"], true,
        "{verified}"
    );

    // Restored into an empty home.
    std::fs::remove_dir_all(sandbox.path().join(".foundry")).expect("remove keys");
    let (code, stdout, stderr) = with_keys(&[
        "backup",
        "restore",
        "--path",
        set_arg,
        "--component",
        "keys",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        std::fs::read_to_string(keystores.join("dev1")).expect("restored keystore"),
        keystore
    );
    // A key file with other contents in the way: exit 1, and neither it nor the database
    // is touched, even with --force.
    std::fs::write(keystores.join("dev1"), "changed").expect("keystore");
    let db_before = std::fs::read(&db).expect("database");
    let (code, stdout, stderr) = with_keys(&["backup", "restore", "--path", set_arg, "--force"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(
        std::fs::read_to_string(keystores.join("dev1")).expect("keystore"),
        "changed"
    );
    assert_eq!(std::fs::read(&db).expect("database"), db_before);
    assert!(
        std::fs::read_dir(sandbox.path().join("data"))
            .expect("data")
            .all(|e| !e
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .contains("pre-restore")),
        "no copy made: nothing was replaced"
    );
}
