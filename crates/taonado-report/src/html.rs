//! One self-contained HTML page: inline CSS, inline SVG plots, no script, no external
//! resource.

use std::fmt::Write as _;

use crate::{Block, Document};

const CSS: &str = "body{font-family:sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1b1b;line-height:1.45}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}\
.from{color:#555;font-size:.9rem}table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}\
th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;vertical-align:top}th{background:#f2f4f7}\
td.num{text-align:right;font-variant-numeric:tabular-nums}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}\
dt{font-weight:bold}dd{margin:0}figure.plot{margin:1rem 0}figure.plot svg{max-width:100%;height:auto;border:1px solid #eee}\
.empty{color:#777;font-style:italic}.plot-error{color:#a00}";

pub(crate) fn render(doc: &Document) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"from\">Generated from {}.</p>\n",
        esc(&doc.title),
        esc(&doc.title),
        esc(&doc.generated_from)
    );
    for section in &doc.sections {
        let _ = writeln!(out, "<section>\n<h2>{}</h2>", esc(&section.heading));
        for block in &section.blocks {
            block_html(&mut out, block);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn block_html(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph { text } => {
            let _ = writeln!(out, "<p>{}</p>", esc(text));
        }
        Block::Table { headers, rows } => {
            out.push_str("<table>\n<thead><tr>");
            for h in headers {
                let _ = write!(out, "<th>{}</th>", esc(h));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            if rows.is_empty() {
                let _ = writeln!(
                    out,
                    "<tr><td class=\"empty\" colspan=\"{}\">(none)</td></tr>",
                    headers.len().max(1)
                );
            }
            for row in rows {
                out.push_str("<tr>");
                for c in row {
                    let class = if looks_numeric(c) {
                        " class=\"num\""
                    } else {
                        ""
                    };
                    let _ = write!(out, "<td{class}>{}</td>", esc(c));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::KeyValues { pairs } => {
            out.push_str("<dl>\n");
            for (k, v) in pairs {
                let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
            }
            out.push_str("</dl>\n");
        }
        Block::List { items } => {
            out.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(out, "<li>{}</li>", esc(item));
            }
            out.push_str("</ul>\n");
        }
        Block::Plot(plot) => match plot.to_svg() {
            Ok(svg) => {
                let _ = writeln!(
                    out,
                    "<figure class=\"plot\">\n{}\n</figure>",
                    svg.trim_end()
                );
            }
            Err(e) => {
                let _ = writeln!(out, "<p class=\"plot-error\">{}</p>", esc(&e.to_string()));
            }
        },
    }
}

/// A cell that reads as a number (`-1,234.5`, `12%`, `0.3 TAO` is not).
fn looks_numeric(s: &str) -> bool {
    let t = s.trim().trim_end_matches('%');
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+'))
        && t.chars().any(|c| c.is_ascii_digit())
}

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
