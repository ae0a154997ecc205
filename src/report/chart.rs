//! Charts as vector primitives in a box (y down), drawn by the SVG (HTML) and PDF renderers alike.

use super::text::num;

pub enum Chart {
    /// Series of (x, y) points; x is unix seconds when `x_is_time`.
    Lines { title: String, x_is_time: bool, series: Vec<(String, Vec<(f64, f64)>)> },
    /// One row per group: value with its interval; flagged rows drawn in the warning colour.
    Intervals { title: String, rows: Vec<(String, Option<f64>, Option<[f64; 2]>, bool)> },
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

pub type Rgb = (u8, u8, u8);

pub enum Prim {
    Line { x1: f32, y1: f32, x2: f32, y2: f32, color: Rgb, width: f32 },
    Polyline { points: Vec<(f32, f32)>, color: Rgb, width: f32 },
    Rect { x: f32, y: f32, w: f32, h: f32, color: Rgb },
    Text { x: f32, y: f32, size: f32, text: String, anchor: Anchor, color: Rgb },
}

pub const PALETTE: [Rgb; 6] = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189), (140, 86, 75), (23, 190, 207)];
const AXIS: Rgb = (90, 90, 90);
const GRID: Rgb = (220, 220, 220);
const INK: Rgb = (30, 30, 30);
const FLAG: Rgb = (200, 40, 40);

/// The chart's height for a given width.
pub fn height(chart: &Chart, width: f32) -> f32 {
    match chart {
        Chart::Lines { .. } => (width * 0.4).max(140.0),
        Chart::Intervals { rows, .. } => 40.0 + 16.0 * rows.len().min(40) as f32,
    }
}

pub fn layout(chart: &Chart, w: f32) -> Vec<Prim> {
    match chart {
        Chart::Lines { title, x_is_time, series } => lines(title, *x_is_time, series, w, height(chart, w)),
        Chart::Intervals { title, rows } => intervals(title, rows, w),
    }
}

fn text(x: f32, y: f32, size: f32, t: impl Into<String>, anchor: Anchor) -> Prim {
    Prim::Text { x, y, size, text: t.into(), anchor, color: INK }
}

fn x_label(x: f64, is_time: bool) -> String {
    if !is_time {
        return format!("v{}", num(x));
    }
    chrono::DateTime::from_timestamp(x as i64, 0).map(|t| t.format("%m-%d %H:%M").to_string()).unwrap_or_default()
}

/// Four evenly spaced times, or whole version numbers (at most about eight).
fn x_ticks(x0: f64, x1: f64, is_time: bool) -> Vec<f64> {
    if is_time {
        return (0..=3).map(|i| x0 + (x1 - x0) * i as f64 / 3.0).collect();
    }
    let step = ((x1 - x0) / 8.0).ceil().max(1.0);
    let mut v = x0.ceil();
    let mut out = Vec::new();
    while v <= x1 && out.len() < 12 {
        out.push(v);
        v += step;
    }
    out
}

fn lines(title: &str, is_time: bool, series: &[(String, Vec<(f64, f64)>)], w: f32, h: f32) -> Vec<Prim> {
    let mut out = vec![text(0.0, 12.0, 10.0, title, Anchor::Start)];
    let (left, right, top, bottom) = (54.0, w - 8.0, 24.0, h - 34.0);
    let pts = || series.iter().flat_map(|s| s.1.iter()).filter(|p| p.0.is_finite() && p.1.is_finite());
    let (mut x0, mut x1) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| (a.0.min(p.0), a.1.max(p.0)));
    let (mut y0, mut y1) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| (a.0.min(p.1), a.1.max(p.1)));
    if !x0.is_finite() {
        out.push(text(left, (top + bottom) / 2.0, 9.0, "no data", Anchor::Start));
        return out;
    }
    y0 = y0.min(0.0);
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    if x1 <= x0 {
        (x0, x1) = (x0 - 1.0, x1 + 1.0);
    }
    let sx = |x: f64| left + ((x - x0) / (x1 - x0)) as f32 * (right - left);
    let sy = |y: f64| bottom - ((y - y0) / (y1 - y0)) as f32 * (bottom - top);
    for i in 0..=4 {
        let v = y0 + (y1 - y0) * i as f64 / 4.0;
        out.push(Prim::Line { x1: left, y1: sy(v), x2: right, y2: sy(v), color: GRID, width: 0.5 });
        out.push(text(left - 4.0, sy(v) + 3.0, 7.5, num(v), Anchor::End));
    }
    for v in x_ticks(x0, x1, is_time) {
        out.push(text(sx(v), bottom + 11.0, 7.5, x_label(v, is_time), Anchor::Middle));
    }
    out.push(Prim::Line { x1: left, y1: bottom, x2: right, y2: bottom, color: AXIS, width: 0.8 });
    out.push(Prim::Line { x1: left, y1: top, x2: left, y2: bottom, color: AXIS, width: 0.8 });
    let mut legend_x = left;
    for (i, (name, p)) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points: Vec<(f32, f32)> = p.iter().filter(|p| p.0.is_finite() && p.1.is_finite()).map(|p| (sx(p.0), sy(p.1))).collect();
        if points.len() <= 60 {
            out.extend(points.iter().map(|p| Prim::Rect { x: p.0 - 1.5, y: p.1 - 1.5, w: 3.0, h: 3.0, color }));
        }
        out.push(Prim::Polyline { points, color, width: 1.2 });
        out.push(Prim::Rect { x: legend_x, y: h - 12.0, w: 8.0, h: 8.0, color });
        out.push(text(legend_x + 11.0, h - 5.0, 7.5, name.clone(), Anchor::Start));
        legend_x += 20.0 + 5.0 * name.chars().count().min(40) as f32;
    }
    out
}

fn intervals(title: &str, rows: &[(String, Option<f64>, Option<[f64; 2]>, bool)], w: f32) -> Vec<Prim> {
    let mut out = vec![text(0.0, 12.0, 10.0, title, Anchor::Start)];
    let (left, right, top) = (w * 0.3, w - 10.0, 24.0);
    let shown = &rows[..rows.len().min(40)];
    let sx = |v: f64| left + v.clamp(0.0, 1.0) as f32 * (right - left);
    let bottom = top + 16.0 * shown.len() as f32;
    for i in 0..=4 {
        let v = i as f64 / 4.0;
        out.push(Prim::Line { x1: sx(v), y1: top - 4.0, x2: sx(v), y2: bottom, color: GRID, width: 0.5 });
        out.push(text(sx(v), bottom + 10.0, 7.5, num(v), Anchor::Middle));
    }
    for (i, (label, v, iv, flagged)) in shown.iter().enumerate() {
        let y = top + 16.0 * i as f32 + 8.0;
        let color = if *flagged { FLAG } else { PALETTE[0] };
        let name: String = label.chars().take(40).collect();
        out.push(Prim::Text { x: left - 6.0, y: y + 3.0, size: 8.0, text: name, anchor: Anchor::End, color: INK });
        if let Some([lo, hi]) = iv {
            out.push(Prim::Line { x1: sx(*lo), y1: y, x2: sx(*hi), y2: y, color, width: 1.5 });
            out.push(Prim::Line { x1: sx(*lo), y1: y - 3.0, x2: sx(*lo), y2: y + 3.0, color, width: 1.0 });
            out.push(Prim::Line { x1: sx(*hi), y1: y - 3.0, x2: sx(*hi), y2: y + 3.0, color, width: 1.0 });
        }
        if let Some(v) = v {
            out.push(Prim::Rect { x: sx(*v) - 2.5, y: y - 2.5, w: 5.0, h: 5.0, color });
        }
    }
    out
}
