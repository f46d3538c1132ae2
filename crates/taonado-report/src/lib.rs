//! Reports as data: a [`Document`] of [`Section`]s of [`Block`]s (paragraphs, tables,
//! key/value lists, lists and [`Plot`]s), and its three renderings:
//!
//! - [`Document::to_markdown`]: GitHub markdown; a plot becomes a table of its points;
//! - [`Document::to_html`]: one self-contained page (inline CSS, plots as inline SVG drawn
//!   by plotters' SVG backend, which writes text as `<text>` elements: no font files, no
//!   CDN, no script);
//! - `serde::Serialize` for `--json`.
//!
//! **Invariant:** rendering is a pure function of the document. Nothing here reads the
//! clock, the environment or a hash map's order, and every number is formatted with a fixed
//! number of decimals, so the same data always gives byte-identical output. That is why
//! [`Document::generated_from`] names the data (database, block range), never a time.
//! Building documents from the store is the job of the report builders, not of this crate.

mod format;
mod html;
mod markdown;
mod plot;

use serde::Serialize;

pub use format::{fmt_fixed, fmt_percent, fmt_unix_date, fmt_unix_time};
pub use plot::PlotError;

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub title: String,
    /// What the report was made from, e.g. `store /path/monitor.db, blocks 1..=4200`. Never
    /// a wall-clock time: the output must be the same for the same data.
    pub generated_from: String,
    pub sections: Vec<Section>,
}

/// A headed part of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

/// One piece of content.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Paragraph {
        text: String,
    },
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    KeyValues {
        pairs: Vec<(String, String)>,
    },
    List {
        items: Vec<String>,
    },
    Plot(Plot),
}

/// A chart. Points are `(x, y)`; non-finite points are left out when drawing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub kind: PlotKind,
    /// How x values are shown on the axis and in markdown tables.
    pub x_axis: AxisFormat,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlotKind {
    Line,
    Bar,
    Scatter,
}

/// How an axis value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AxisFormat {
    /// A plain number (fixed decimals, trailing zeros trimmed).
    Number,
    /// Unix seconds shown as a UTC date `YYYY-MM-DD`.
    UnixDate,
    /// Unix seconds shown as a UTC time `YYYY-MM-DD HH:MM`.
    UnixTime,
}

/// One named line, set of bars or set of points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Document {
    pub fn new(title: impl Into<String>, generated_from: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            generated_from: generated_from.into(),
            sections: Vec::new(),
        }
    }

    /// Appends a section and returns it for filling.
    pub fn section(&mut self, heading: impl Into<String>) -> &mut Section {
        self.sections.push(Section::new(heading));
        let last = self.sections.len() - 1;
        &mut self.sections[last]
    }

    /// GitHub-flavoured markdown.
    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }

    /// One self-contained HTML page. A plot that cannot be drawn is shown as a one-line
    /// notice in its place (see [`Plot::to_svg`] for the error).
    pub fn to_html(&self) -> String {
        html::render(self)
    }

    /// Pretty JSON of the document (the `data` of a `--json` envelope is
    /// `serde_json::to_value(&doc)`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

impl Section {
    pub fn new(heading: impl Into<String>) -> Self {
        Self {
            heading: heading.into(),
            blocks: Vec::new(),
        }
    }

    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Paragraph { text: text.into() });
        self
    }

    pub fn table<H, R>(&mut self, headers: H, rows: R) -> &mut Self
    where
        H: IntoIterator,
        H::Item: Into<String>,
        R: IntoIterator<Item = Vec<String>>,
    {
        self.blocks.push(Block::Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: rows.into_iter().collect(),
        });
        self
    }

    pub fn key_values<K, V>(&mut self, pairs: impl IntoIterator<Item = (K, V)>) -> &mut Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.blocks.push(Block::KeyValues {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        });
        self
    }

    pub fn list<I>(&mut self, items: impl IntoIterator<Item = I>) -> &mut Self
    where
        I: Into<String>,
    {
        self.blocks.push(Block::List {
            items: items.into_iter().map(Into::into).collect(),
        });
        self
    }

    pub fn plot(&mut self, plot: Plot) -> &mut Self {
        self.blocks.push(Block::Plot(plot));
        self
    }
}

impl Plot {
    pub fn new(
        kind: PlotKind,
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            kind,
            x_axis: AxisFormat::Number,
            series: Vec::new(),
        }
    }

    pub fn x_axis(mut self, format: AxisFormat) -> Self {
        self.x_axis = format;
        self
    }

    pub fn series(mut self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        self.series.push(Series {
            name: name.into(),
            points,
        });
        self
    }

    /// True when no series has a finite point.
    pub fn is_empty(&self) -> bool {
        !self
            .series
            .iter()
            .flat_map(|s| &s.points)
            .any(|(x, y)| x.is_finite() && y.is_finite())
    }

    /// The plot as a standalone SVG document (no XML prolog), 720x360.
    pub fn to_svg(&self) -> Result<String, PlotError> {
        plot::render_svg(self)
    }
}

#[cfg(test)]
mod tests;
