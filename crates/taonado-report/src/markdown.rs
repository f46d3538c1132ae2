//! GitHub-flavoured markdown. A plot becomes a table: one row per x, one column per series.

use std::fmt::Write as _;

use crate::format::{fmt_axis, fmt_compact};
use crate::{Block, Document, Plot};

pub(crate) fn render(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", inline(&doc.title));
    let _ = writeln!(out, "_Generated from {}._\n", inline(&doc.generated_from));
    for section in &doc.sections {
        let _ = writeln!(out, "## {}\n", inline(&section.heading));
        for block in &section.blocks {
            block_md(&mut out, block);
            out.push('\n');
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn block_md(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph { text } => {
            let _ = writeln!(out, "{}", text.trim_end());
        }
        Block::Table { headers, rows } => table(out, headers, rows),
        Block::KeyValues { pairs } => {
            for (k, v) in pairs {
                let _ = writeln!(out, "- **{}:** {}", inline(k), inline(v));
            }
        }
        Block::List { items } => {
            for item in items {
                let _ = writeln!(out, "- {}", inline(item));
            }
        }
        Block::Plot(plot) => plot_md(out, plot),
    }
}

fn table(out: &mut String, headers: &[String], rows: &[Vec<String>]) {
    let width = headers
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    if width == 0 {
        return;
    }
    let cell = |row: &[String], i: usize| row.get(i).map(|c| cell(c)).unwrap_or_default();
    let line = |row: &[String]| {
        let cells: Vec<String> = (0..width).map(|i| cell(row, i)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    out.push_str(&line(headers));
    let _ = writeln!(out, "|{}", "---|".repeat(width));
    if rows.is_empty() {
        let mut empty = vec!["(none)".to_owned()];
        empty.resize(width, String::new());
        out.push_str(&line(&empty));
    }
    for row in rows {
        out.push_str(&line(row));
    }
}

fn plot_md(out: &mut String, plot: &Plot) {
    let _ = writeln!(
        out,
        "**{}** ({} by {})\n",
        inline(&plot.title),
        inline(&plot.y_label),
        inline(&plot.x_label)
    );
    if plot.is_empty() {
        let _ = writeln!(out, "_No data._");
        return;
    }
    let mut xs: Vec<f64> = plot
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .filter(|x| x.is_finite())
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let mut headers = vec![plot.x_label.clone()];
    headers.extend(plot.series.iter().map(|s| s.name.clone()));
    let rows = xs
        .iter()
        .map(|&x| {
            let mut row = vec![fmt_axis(x, plot.x_axis)];
            for s in &plot.series {
                let ys: Vec<String> = s
                    .points
                    .iter()
                    .filter(|p| p.0 == x)
                    .map(|p| fmt_compact(p.1))
                    .collect();
                row.push(ys.join(", "));
            }
            row
        })
        .collect::<Vec<_>>();
    table(out, &headers, &rows);
}

/// Text on one line: newlines become spaces.
fn inline(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// A table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    inline(s).replace('|', "\\|")
}
