//! Plots drawn by plotters' SVG backend. Text goes out as SVG `<text>` (plotters measures
//! it with its built-in estimate: no font files are read), coordinates are whole pixels,
//! and colours come from a fixed palette: the same plot always gives the same SVG.

use std::ops::Range;

use plotters::prelude::*;

use crate::format::fmt_axis;
use crate::{AxisFormat, Plot, PlotKind};

/// Width and height of every plot, in pixels.
pub const SIZE: (u32, u32) = (720, 360);

/// Colour-blind friendly (Okabe-Ito), in series order.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// plotters could not draw a plot.
#[derive(Debug, thiserror::Error)]
#[error("plot {title:?} could not be drawn: {reason}")]
pub struct PlotError {
    pub title: String,
    pub reason: String,
}

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Seconds per x unit on the chart: date axes are drawn in days (time axes in minutes) so
/// that plotters' round tick positions fall on whole days (minutes), the only ones labelled.
fn x_scale(format: AxisFormat) -> f64 {
    match format {
        AxisFormat::Number => 1.0,
        AxisFormat::UnixDate => 86_400.0,
        AxisFormat::UnixTime => 60.0,
    }
}

/// The first whole chart unit (day, minute) of a date/time axis: chart x values are counted
/// from it, so they stay small and plotters' ticks land on whole units.
fn x_origin(plot: &Plot) -> f64 {
    let scale = x_scale(plot.x_axis);
    if scale == 1.0 {
        return 0.0;
    }
    let xs = plot
        .series
        .iter()
        .flat_map(|s| &s.points)
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    min_max(xs.map(|p| p.0)).map_or(0.0, |(lo, _)| (lo / scale).floor())
}

/// The finite points of each series, x in chart units.
fn finite(plot: &Plot) -> Vec<Vec<(f64, f64)>> {
    let scale = x_scale(plot.x_axis);
    let origin = x_origin(plot);
    plot.series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&(x, y)| (x / scale - origin, y))
                .collect()
        })
        .collect()
}

/// `lo..hi` widened so it is never empty, with a margin of 5% each side.
fn padded(lo: f64, hi: f64) -> Range<f64> {
    if lo == hi {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d)..(hi + d);
    }
    let m = (hi - lo) * 0.05;
    (lo - m)..(hi + m)
}

/// Tick positions like `-5.55e-17` are zero.
fn snap_zero(v: f64) -> f64 {
    if v.abs() < 1e-9 { 0.0 } else { v }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The smallest gap between distinct x values (1 when there is only one).
fn min_gap(series: &[Vec<(f64, f64)>]) -> f64 {
    let mut xs: Vec<f64> = series.iter().flatten().map(|p| p.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.windows(2)
        .map(|w| w[1] - w[0])
        .fold(None, |m: Option<f64>, g| Some(m.map_or(g, |m| m.min(g))))
        .unwrap_or(1.0)
}

pub(crate) fn render_svg(plot: &Plot) -> Result<String, PlotError> {
    let err = |e: &dyn std::fmt::Display| PlotError {
        title: plot.title.clone(),
        reason: e.to_string(),
    };
    let series = finite(plot);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let Some((x_lo, x_hi)) = min_max(series.iter().flatten().map(|p| p.0)) else {
            root.titled(&plot.title, ("sans-serif", 18))
                .map_err(|e| err(&e))?;
            root.draw(&Text::new(
                "no data",
                (SIZE.0 as i32 / 2 - 30, SIZE.1 as i32 / 2),
                ("sans-serif", 16),
            ))
            .map_err(|e| err(&e))?;
            root.present().map_err(|e| err(&e))?;
            drop(root);
            return Ok(out);
        };
        let (mut y_lo, mut y_hi) =
            min_max(series.iter().flatten().map(|p| p.1)).unwrap_or((0.0, 1.0));
        let gap = min_gap(&series);
        let x_range = if plot.kind == PlotKind::Bar {
            (x_lo - gap / 2.0)..(x_hi + gap / 2.0)
        } else {
            padded(x_lo, x_hi)
        };
        if plot.kind == PlotKind::Bar {
            y_lo = y_lo.min(0.0);
            y_hi = y_hi.max(0.0);
        }
        let y_range = padded(y_lo, y_hi);
        let x_axis = plot.x_axis;
        let scale = x_scale(x_axis);
        let origin = x_origin(plot);
        // bars label only the ticks at their own x values; date/time axes only whole days/minutes
        let bar_xs: Vec<f64> = if plot.kind == PlotKind::Bar {
            let mut xs: Vec<f64> = series.iter().flatten().map(|p| p.0).collect();
            xs.sort_by(f64::total_cmp);
            xs.dedup();
            xs
        } else {
            Vec::new()
        };
        let x_fmt = move |v: &f64| {
            let v = *v;
            if plot.kind == PlotKind::Bar {
                match bar_xs.iter().find(|&&x| (x - v).abs() < gap * 1e-3) {
                    Some(&x) => fmt_axis((x + origin) * scale, x_axis),
                    None => String::new(),
                }
            } else if scale == 1.0 {
                fmt_axis(snap_zero(v), x_axis)
            } else if (v - v.round()).abs() < 1e-3 {
                fmt_axis((v.round() + origin) * scale, x_axis)
            } else {
                String::new()
            }
        };
        let y_fmt = |v: &f64| fmt_axis(snap_zero(*v), AxisFormat::Number);
        let mut chart = ChartBuilder::on(&root)
            .caption(&plot.title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(72)
            .build_cartesian_2d(x_range, y_range)
            .map_err(|e| err(&e))?;
        let x_labels = match x_axis {
            AxisFormat::Number => 10,
            AxisFormat::UnixDate | AxisFormat::UnixTime => 6,
        };
        chart
            .configure_mesh()
            .x_desc(&plot.x_label)
            .y_desc(&plot.y_label)
            .x_labels(x_labels)
            .y_labels(8)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| err(&e))?;
        let n = series.len().max(1) as f64;
        let bar_w = gap * 0.8 / n;
        for (i, (points, s)) in series.iter().zip(&plot.series).enumerate() {
            let c = color(i);
            let anno = match plot.kind {
                PlotKind::Line => chart
                    .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))
                    .map_err(|e| err(&e))?,
                PlotKind::Scatter => chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                    .map_err(|e| err(&e))?,
                PlotKind::Bar => {
                    let left = -gap * 0.4 + bar_w * i as f64;
                    chart
                        .draw_series(points.iter().map(|&(x, y)| {
                            Rectangle::new([(x + left, 0.0), (x + left + bar_w, y)], c.filled())
                        }))
                        .map_err(|e| err(&e))?
                }
            };
            anno.label(s.name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], c.filled()));
        }
        if !plot.series.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(out)
}
