use super::*;

fn sample() -> Document {
    let mut doc = Document::new("Daily <report>", "store monitor.db, blocks 1..=20");
    doc.section("Summary")
        .paragraph("All networks answered.")
        .key_values([
            ("blocks", "20"),
            ("success rate", fmt_percent(19.0, 20.0).as_str()),
        ])
        .list(["one | two", "three"]);
    doc.section("Gas")
        .table(
            ["function", "calls", "mean gas"],
            vec![vec!["deposit".into(), "3".into(), "120000".into()]],
        )
        .table(["empty"], Vec::new())
        .plot(
            Plot::new(PlotKind::Line, "Gas price", "day", "gwei")
                .x_axis(AxisFormat::UnixDate)
                .series(
                    "median",
                    vec![
                        (1_795_651_200.0, 1.0),
                        (1_795_737_600.0, 2.5),
                        (1_795_824_000.0, f64::NAN),
                    ],
                )
                .series("p95", vec![(1_795_651_200.0, 3.0), (1_795_737_600.0, 4.0)]),
        )
        .plot(
            Plot::new(PlotKind::Bar, "Calls", "fn", "calls")
                .series("a", vec![(0.0, 3.0), (1.0, 5.0)])
                .series("b", vec![(0.0, 1.0)]),
        )
        .plot(Plot::new(PlotKind::Scatter, "Single", "x", "y").series("s", vec![(2.0, 2.0)]))
        .plot(Plot::new(PlotKind::Line, "Nothing", "x", "y"));
    doc
}

#[test]
fn renderings_are_deterministic_and_complete() {
    let a = sample();
    let b = sample();
    assert_eq!(a.to_markdown(), b.to_markdown());
    assert_eq!(a.to_html(), b.to_html());
    assert_eq!(a.to_json(), b.to_json());

    let md = a.to_markdown();
    assert!(
        md.starts_with("# Daily <report>\n\n_Generated from store monitor.db, blocks 1..=20._\n"),
        "{md}"
    );
    assert!(
        md.contains("| function | calls | mean gas |\n|---|---|---|\n| deposit | 3 | 120000 |\n"),
        "{md}"
    );
    assert!(md.contains("| (none) |"), "{md}");
    assert!(
        md.contains("- one \\| two") || md.contains("- one | two"),
        "{md}"
    );
    assert!(md.contains("- **success rate:** 95.0%"), "{md}");
    // the plot as a table: dates on x, series as columns, NaN points left out
    assert!(md.contains("| day | median | p95 |\n|---|---|---|\n| 2026-11-26 | 1 | 3 |\n| 2026-11-27 | 2.5 | 4 |\n"), "{md}");
    assert!(md.contains("_No data._"), "{md}");

    let html = a.to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Daily &lt;report&gt;</title>"));
    assert_eq!(html.matches("<figure class=\"plot\">").count(), 4, "{html}");
    assert_eq!(html.matches("<svg").count(), 4);
    assert!(!html.contains("class=\"plot-error\""), "{html}");
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "only the SVG namespace may be a URL"
    );
    assert!(!html.contains("<script") && !html.contains("<link"));
    assert_eq!(
        html.matches("\n2026-11-26\n</text>").count(),
        1,
        "one label per day on a date axis"
    );
    assert_eq!(html.matches("\n2026-11-27\n</text>").count(), 1);
    assert!(
        html.contains("\nmedian\n</text>"),
        "the legend names the series"
    );

    let json: serde_json::Value = serde_json::from_str(&a.to_json()).unwrap();
    assert_eq!(json["sections"][1]["blocks"][2]["type"], "plot");
    assert_eq!(json["sections"][1]["blocks"][2]["kind"], "line");
    assert_eq!(
        json["sections"][1]["blocks"][2]["series"][1]["points"][0],
        serde_json::json!([1_795_651_200.0, 3.0])
    );
    assert_eq!(
        json["sections"][0]["blocks"][1]["pairs"][0],
        serde_json::json!(["blocks", "20"])
    );
}

#[test]
fn fixed_formatting() {
    assert_eq!(fmt_fixed(-0.0001, 2), "0.00");
    assert_eq!(fmt_fixed(1.005, 1), "1.0");
    assert_eq!(fmt_fixed(f64::NAN, 2), "n/a");
    assert_eq!(fmt_percent(1.0, 0.0), "n/a");
    assert_eq!(fmt_percent(1.0, 3.0), "33.3%");
    assert_eq!(format::fmt_compact(2.50), "2.5");
    assert_eq!(format::fmt_compact(-0.00001), "-1.000e-5");
    assert_eq!(format::fmt_compact(0.0), "0");
    assert_eq!(fmt_unix_time(1_795_643_642), "2026-11-25 21:54");
}
