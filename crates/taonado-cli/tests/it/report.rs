//! `taonado report`: the real binary over a database holding three days of scripted
//! activity (`taonado_monitor::reports::fixture`). Every kind in every format, twice, must
//! give the same bytes; bad periods get one line and exit 2, and write nothing.

use std::path::Path;

use taonado_store::Store;

use crate::support::{Sandbox, envelope, run};

fn database(sandbox: &Sandbox) -> String {
    let db = sandbox.path().join("monitor.db");
    let store = Store::open(&db).expect("create the database");
    taonado_monitor::reports::fixture::fill(&store).expect("fill the database");
    drop(store);
    db.display().to_string()
}

fn report(sandbox: &Sandbox, args: &[&str]) -> (i32, String, String) {
    run(sandbox.taonado().arg("report").args(args))
}

#[test]
fn reports_are_byte_identical_from_the_same_database_and_bad_periods_exit_2() {
    let sandbox = Sandbox::new();
    let db = database(&sandbox);
    let out = |name: &str| sandbox.path().join(name).display().to_string();
    let cases: [&[&str]; 6] = [
        &["daily", "--date", "2026-11-03"],
        &["weekly", "--date", "2026-11-03"],
        &["monthly", "--month", "2026-11"],
        &["gas", "--days", "30"],
        &["mining", "--days", "3"],
        &["ops", "--month", "2026-11"],
    ];
    for (i, case) in cases.iter().enumerate() {
        for format in ["md", "html"] {
            let mut files = Vec::new();
            for run_no in 0..2 {
                let file = out(&format!("r{i}-{run_no}.{format}"));
                let mut args = case.to_vec();
                args.extend(["--db", &db, "--format", format, "--out", &file]);
                let (code, stdout, stderr) = report(&sandbox, &args);
                assert_eq!(code, 0, "{case:?} {format}: {stderr}");
                assert!(stdout.starts_with(&format!("wrote {file} (")), "{stdout}");
                files.push(std::fs::read(&file).expect("report written"));
            }
            assert_eq!(files[0], files[1], "{case:?} {format}: two runs differ");
            assert!(!files[0].is_empty());
        }
        // --json: the document, the same twice
        let mut args = case.to_vec();
        args.extend(["--db", &db, "--json"]);
        let (code, first, stderr) = report(&sandbox, &args);
        assert_eq!(code, 0, "{stderr}");
        let (_, second, _) = report(&sandbox, &args);
        assert_eq!(first, second, "{case:?} --json differs");
        let value = envelope(&first);
        assert_eq!(value["ok"], true);
        assert!(
            value["data"]["document"]["sections"]
                .as_array()
                .is_some_and(|s| !s.is_empty()),
            "{value}"
        );
    }

    // markdown on stdout, with the fixture's numbers
    let (code, md, _) = report(&sandbox, &["daily", "--date", "2026-11-03", "--db", &db]);
    assert_eq!(code, 0);
    assert!(md.starts_with("# Daily report 2026-11-03\n"), "{md}");
    assert!(
        md.contains("- **failed:** 4\n") && md.contains("| local | 1440 | 1410 | 97.9% |"),
        "{md}"
    );
    let html = std::fs::read_to_string(out("r2-0.html")).unwrap();
    assert!(
        html.contains("<svg") && !html.contains("<script") && !html.contains("<link"),
        "self-contained"
    );
    let (_, ops, _) = report(&sandbox, &["ops", "--month", "2026-11", "--db", &db]);
    // The monitor's database has the incidents table (migration 110), empty here.
    assert!(ops.contains("- **opened in the period:** 0\n"), "{ops}");

    // bad input: one line, exit 2, no file
    let bad = out("bad.md");
    for (args, wanted) in [
        (vec!["daily", "--date", "2026-02-30"], "is not a date"),
        (vec!["daily", "--date", "03/11/2026"], "is not a date"),
        (vec!["monthly", "--month", "2026-13"], "is not a month"),
        (vec!["ops", "--month", "2999-01"], "has not started yet"),
        (vec!["gas", "--days", "0"], "out of range"),
    ] {
        let mut args = args.clone();
        args.extend(["--db", &db, "--out", &bad]);
        let (code, stdout, stderr) = report(&sandbox, &args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains(wanted) && stderr.trim().lines().count() == 1,
            "{args:?}: {stderr}"
        );
        assert!(!Path::new(&bad).exists(), "nothing written for {args:?}");
    }
    let (code, _, stderr) = report(&sandbox, &["yearly", "--db", &db]);
    assert_eq!(code, 2, "an unknown period: {stderr}");
    let (code, _, stderr) = report(&sandbox, &["daily", "--db", &out("missing.db")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no database at") && !sandbox.path().join("missing.db").exists(),
        "{stderr}"
    );
}
