use taonado_report::Document;
use taonado_store::Store;

use super::fixture::{self, START};
use super::*;

const NOW: u64 = START + 40 * 86_400;

fn store() -> Store {
    let store = Store::open_in_memory().unwrap();
    fixture::fill(&store).unwrap();
    store
}

fn report(
    store: &Store,
    kind: ReportKind,
    date: Option<&str>,
    month: Option<&str>,
    days: Option<u32>,
) -> Result<Document, ReportError> {
    let request = ReportRequest {
        kind,
        period: PeriodArgs {
            date: date.map(Into::into),
            month: month.map(Into::into),
            days,
        },
        source: "store fixture.db".into(),
    };
    build(store, &request, NOW)
}

#[test]
fn every_report_renders_the_same_bytes_twice_with_the_fixture_numbers() {
    taonado_store::testing::on_each_backend(
        "every_report_renders_the_same_bytes_twice_with_the_fixture_numbers",
        |store| {
            fixture::fill(&store).unwrap();
            let cases = [
                (ReportKind::Daily, Some("2026-11-03"), None, None),
                (ReportKind::Weekly, Some("2026-11-04"), None, None),
                (ReportKind::Monthly, None, Some("2026-11"), None),
                (ReportKind::Gas, None, None, Some(30)),
                (ReportKind::Mining, None, None, Some(3)),
                (ReportKind::Ops, None, Some("2026-11"), None),
            ];
            for (kind, date, month, days) in cases {
                let a = report(&store, kind, date, month, days).unwrap();
                let b = report(&store, kind, date, month, days).unwrap();
                assert_eq!(a.to_markdown(), b.to_markdown(), "{kind:?}");
                assert_eq!(a.to_html(), b.to_html(), "{kind:?}");
                assert_eq!(a.to_json(), b.to_json(), "{kind:?}");
                assert!(!a.to_html().contains("class=\"plot-error\""), "{kind:?}");
            }

            let daily = report(&store, ReportKind::Daily, Some("2026-11-03"), None, None)
                .unwrap()
                .to_markdown();
            assert!(daily.starts_with("# Daily report 2026-11-03\n\n_Generated from store fixture.db, blocks 144..=287 (144 stored), 2026-11-03._"), "{daily}");
            // day 2: 144 transactions, blocks 144..=287 fail where n % 37 == 5 (153, 190, 227, 264)
            assert!(
                daily.contains(
                    "- **protocol transactions:** 144\n- **succeeded:** 140\n- **failed:** 4\n"
                ),
                "{daily}"
            );
            // the price spike (block 200) and the gas spike (block 250) with their transactions
            assert!(
                daily.contains(
                    "| gas price | 9.9 | 2026-11-03 09:20 | 200 | wtao.deposit | 45400 | 10.000 |"
                ),
                "{daily}"
            );
            assert!(
        daily.contains(
            "| gas used | 5.0 | 2026-11-03 17:40 | 250 | deposit_tracker.associate | 352500 |"
        ),
        "{daily}"
    );
            assert!(
                daily
                    .contains("0xc0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c000000000000000c8"),
                "the spike's transaction hash: {daily}"
            );
            // the outage: 30 of the day's 1440 minutes unreachable
            assert!(daily.contains("| local | 1440 | 1410 | 97.9% |"), "{daily}");
            assert!(
                daily.contains("| gas_price | warning | 1 |") && daily.contains("| 45m 00s |"),
                "{daily}"
            );

            let gas = report(&store, ReportKind::Gas, None, None, Some(30))
                .unwrap()
                .to_markdown();
            // 108 associate calls: 36 each of 70000, 70500, 71000, one of them x5
            assert!(
                gas.contains("| deposit_tracker | associate | 108 |"),
                "{gas}"
            );
            assert!(
                gas.contains("| Gas price |") || gas.contains("**Gas price**"),
                "{gas}"
            );

            let mining = report(&store, ReportKind::Mining, None, None, Some(3))
                .unwrap()
                .to_markdown();
            // uid 1: two addresses, deposits by them; uid 2: one address from day 3
            assert!(
                mining.contains("| 1 | 5CUhzXd2dF9Uw1Dqf1qYQcKT9fZ5y1aJgj4GwfnPPdsWQgNX |")
                    || mining.contains("| 1 | 5"),
                "{mining}"
            );
            assert!(mining.contains("12 snapshots in the period"), "{mining}");

            let ops = report(&store, ReportKind::Ops, None, Some("2026-11"), None)
                .unwrap()
                .to_markdown();
            // The store has the incidents table (migration 110), empty so far.
            assert!(
                ops.contains("- **opened in the period:** 0\n- **resolved:** 0"),
                "{ops}"
            );
            store
        .with_conn(|conn| {
            conn.execute_batch(&format!(
                "INSERT INTO incidents (id, title, severity, kind, status, opened_at, respond_by, acknowledged_at, resolved_at)
                   VALUES (1, 'RPC outage', 'P1', 'outage', 'resolved', {a}, {a}, {b}, {c});
                 INSERT INTO incidents (id, title, severity, kind, status, opened_at, respond_by, acknowledged_at, resolved_at)
                   VALUES (2, 'gas spike', 'P3', 'gas', 'open', {d}, {d}, NULL, NULL);",
                a = START + 86_400 + 43_200,
                b = START + 86_400 + 43_500,
                c = START + 86_400 + 45_000,
                d = START + 2 * 86_400,
            ))
            .unwrap();
            Ok(())
        })
        .unwrap();
            let ops = report(&store, ReportKind::Ops, None, Some("2026-11"), None)
                .unwrap()
                .to_markdown();
            assert!(ops.contains("- **opened in the period:** 2\n- **resolved:** 1\n- **mean time to resolve:** 30m 00s\n- **by severity:** P1: 1, P3: 1"), "{ops}");
            assert!(
                ops.contains(
                    "| 1 | 2026-11-03 12:00 | P1 | resolved | RPC outage | 5m 00s | 30m 00s |"
                ),
                "{ops}"
            );
            assert!(
                ops.contains("- **monitor running:** 100.0% (3600 of 3600 minutes)"),
                "{ops}"
            );
            assert!(ops.contains("| local | 3600 | 3570 | 99.2% |"), "{ops}");
        },
    );
}

#[test]
fn periods_resolve_to_utc_calendar_spans_and_bad_ones_are_refused() {
    let p = |kind, date: Option<&str>, month: Option<&str>, days| {
        Period::resolve(
            kind,
            &PeriodArgs {
                date: date.map(Into::into),
                month: month.map(Into::into),
                days,
            },
            Some(START + 3 * 86_400 - 1),
            NOW,
        )
    };
    let week = p(ReportKind::Weekly, Some("2026-11-05"), None, None).unwrap();
    assert_eq!(
        (week.from, week.to, week.label.as_str()),
        (START, START + 7 * 86_400, "week 2026-11-02..2026-11-08")
    );
    let month = p(ReportKind::Monthly, None, Some("2026-02"), None).unwrap();
    assert_eq!(month.to - month.from, 28 * 86_400);
    // without a date: the day of the newest stored block, not the clock
    assert_eq!(
        p(ReportKind::Daily, None, None, None).unwrap().label,
        "2026-11-04"
    );
    assert_eq!(
        p(ReportKind::Gas, None, None, Some(7)).unwrap().label,
        "7 days 2026-10-29..2026-11-04"
    );
    for (kind, date, month, days, wanted) in [
        (
            ReportKind::Daily,
            Some("2026-11-31"),
            None,
            None,
            "is not a date",
        ),
        (
            ReportKind::Daily,
            Some("2026-1-03"),
            None,
            None,
            "is not a date",
        ),
        (
            ReportKind::Daily,
            Some("yesterday"),
            None,
            None,
            "is not a date",
        ),
        (
            ReportKind::Monthly,
            None,
            Some("2026-13"),
            None,
            "is not a month",
        ),
        (
            ReportKind::Ops,
            None,
            Some("2027-01"),
            None,
            "has not started yet",
        ),
        (
            ReportKind::Daily,
            Some("2027-06-01"),
            None,
            None,
            "has not started yet",
        ),
        (
            ReportKind::Daily,
            None,
            Some("2026-11"),
            None,
            "--month applies to",
        ),
        (ReportKind::Weekly, None, None, Some(3), "--days applies to"),
        (ReportKind::Gas, None, None, Some(0), "out of range"),
    ] {
        let err = p(kind, date, month, days).unwrap_err();
        assert!(
            matches!(err, ReportError::Period(_)) && err.to_string().contains(wanted),
            "{kind:?} {date:?} {month:?}: {err}"
        );
    }
}

fn chromium() -> Option<std::path::PathBuf> {
    let required = std::env::var("TAONADO_BROWSER_TESTS").is_ok_and(|v| v == "1");
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name))
        })
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            !required,
            "TAONADO_BROWSER_TESTS=1 but no chromium on PATH; apt-get install chromium"
        );
        eprintln!(
            "skipping the report browser test: no chromium on PATH (set TAONADO_BROWSER_TESTS=1 to require it)"
        );
    }
    found
}

fn run_chromium(chromium: &std::path::Path, args: &[String]) -> (String, String) {
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The monthly review (every kind of plot) in headless Chromium: no console message, every
/// plot laid out with its lines, bars and labels, and a screenshot under the target dir.
/// SQLite only: it tests the rendering; the reports' queries run on both backends above.
#[test]
fn chromium_renders_the_html_report_with_its_plots() {
    let Some(chromium) = chromium() else { return };
    let store = store();
    let html = report(&store, ReportKind::Monthly, None, Some("2026-11"), None)
        .unwrap()
        .to_html();
    let plots = html.matches("<figure class=\"plot\">").count();
    assert!(plots >= 6, "{plots} plots");
    // under the target dir, next to this test binary
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .join("taonado-report-test");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("monthly.html");
    std::fs::write(&page, &html).unwrap();
    let url = format!("file://{}", page.display());

    // the page as shipped: no console output (no error, no blocked resource)
    let shot = dir.join("monthly.png");
    let _ = std::fs::remove_file(&shot);
    let (_, stderr) = run_chromium(
        &chromium,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,6000".into(),
            url,
        ],
    );
    assert!(!stderr.contains(":CONSOLE("), "console messages: {stderr}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "screenshot at {}",
        shot.display()
    );
    eprintln!("report screenshot: {}", shot.display());

    // a copy with a probe that measures what the browser laid out
    let probe = r#"<script>
window.onerror = function (m) { document.body.setAttribute('data-error', m); };
window.addEventListener('load', function () {
  var svgs = document.querySelectorAll('figure.plot svg'), drawn = 0, marks = 0, labels = 0;
  svgs.forEach(function (svg) {
    var r = svg.getBoundingClientRect();
    if (r.width > 300 && r.height > 100) drawn++;
    svg.querySelectorAll('polyline, rect, circle').forEach(function (e) { var b = e.getBBox(); if (b.width > 0 || b.height > 0) marks++; });
    svg.querySelectorAll('text').forEach(function (e) { if (e.getComputedTextLength() > 0) labels++; });
  });
  document.body.setAttribute('data-plots', svgs.length + ' ' + drawn + ' ' + marks + ' ' + labels);
});
</script></body>"#;
    let probed = dir.join("monthly-probe.html");
    std::fs::write(&probed, html.replace("</body>", probe)).unwrap();
    let (dom, _) = run_chromium(
        &chromium,
        &["--dump-dom".into(), format!("file://{}", probed.display())],
    );
    assert!(!dom.contains("data-error=\""), "{dom}");
    let counts: Vec<usize> = dom
        .split("data-plots=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("the probe did not run: {dom}"))
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(counts[0], plots, "every plot is an <svg>");
    assert_eq!(
        counts[1], plots,
        "every plot laid out at its size: {counts:?}"
    );
    assert!(
        counts[2] > 10 * plots,
        "lines, bars and points drawn: {counts:?}"
    );
    assert!(
        counts[3] > 10 * plots,
        "axis labels and legends drawn as text: {counts:?}"
    );
}
