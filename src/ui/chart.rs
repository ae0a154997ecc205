//! Time charts drawn from decimated series (see `series`): zoom and pan, time axes linked across charts,
//! hover read-outs, legend toggles (click a name). Long series cost what the pixels cost, not what the
//! data costs: a dense series is drawn as one rectangle per pixel column (its min..max there), not as a
//! polyline of every point.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use egui::epaint::Mesh;
use egui::{Color32, Rect, Shape, Stroke, Ui};
use egui_plot::{
    Line, Plot, PlotBounds, PlotGeometry, PlotItem, PlotItemBase, PlotPoint, PlotPoints, PlotTransform,
};

use crate::serving::series::Series;

pub struct ChartLine<'a> {
    pub name: &'a str,
    pub series: &'a Series,
}

/// How values are shown on the axis and in read-outs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unit {
    PerSecond,
    /// A rate whose axis starts at 0 (error rate, selection rate: how far from none matters).
    Fraction,
    /// A fraction compared across versions or over time (accuracy, AUC): the axis is fitted to the
    /// data ([`fitted_range`]), not anchored at 0, so 0.79 and 0.87 do not look alike.
    Score,
    Seconds,
    Plain,
}

impl Unit {
    /// The least top of the value axis, so that a flat series at 0 (no errors) gets a readable scale
    /// instead of egui_plot's +-1000% around zero.
    pub fn least_top(self) -> f64 {
        match self {
            Unit::PerSecond => 1.0,
            Unit::Fraction | Unit::Score => 0.01,
            Unit::Seconds => 0.001,
            Unit::Plain => 1.0,
        }
    }

    /// An axis label at a grid step: as many decimals as the step needs, with the unit.
    pub fn format_tick(self, v: f64, step: f64) -> String {
        match self {
            Unit::PerSecond => format!("{}/s", tick_label(v, step)),
            Unit::Fraction | Unit::Score => format!("{}%", tick_label(v * 100.0, step * 100.0)),
            Unit::Seconds => format!("{} ms", tick_label(v * 1000.0, step * 1000.0)),
            Unit::Plain => tick_label(v, step),
        }
    }

    pub fn format(self, v: f64) -> String {
        match self {
            Unit::PerSecond => format!("{v:.2}/s"),
            Unit::Fraction | Unit::Score => format!("{:.2}%", v * 100.0),
            Unit::Seconds if v.abs() < 1.0 => format!("{:.1} ms", v * 1000.0),
            Unit::Seconds => format!("{v:.2} s"),
            Unit::Plain => format!("{v:.3}"),
        }
    }
}

/// Epoch seconds as UTC wall time; the date is shown when the visible span is longer than a day.
pub fn time_label(t: f64, span: f64) -> String {
    let Some(dt) = chrono::DateTime::from_timestamp(t.floor() as i64, 0) else { return String::new() };
    if span > 86_400.0 {
        dt.format("%m-%d %H:%M").to_string()
    } else if span > 600.0 {
        dt.format("%H:%M").to_string()
    } else {
        dt.format("%H:%M:%S").to_string()
    }
}

/// A 1-2-5 step (1, 2, 5, 10, 20, ... times a power of ten) of at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * mag)
}

/// Grid marks at a 1-2-5 step giving about five labelled lines over the visible range (never closer than
/// egui_plot's minimum spacing), instead of egui_plot's steps of 0.2180.
pub fn nice_spacer(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    let (lo, hi) = input.bounds;
    let step = nice_step(((hi - lo) / 5.0).max(input.base_step_size));
    if !(step.is_finite() && step > 0.0 && hi > lo) {
        return Vec::new();
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last.min(first + 200)).map(|k| egui_plot::GridMark { value: k as f64 * step, step_size: step }).collect()
}

/// Time grid marks at whole seconds, minutes or hours (1 s, 2 s, 5 s, 10 s, 15 s, 30 s, 1 min, ...,
/// 1 day), about six over the visible range: labels never repeat the same second.
pub fn time_spacer(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    const STEPS: [f64; 16] =
        [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 21_600.0, 86_400.0];
    let (lo, hi) = input.bounds;
    if !(hi > lo) {
        return Vec::new();
    }
    let want = ((hi - lo) / 6.0).max(input.base_step_size);
    let step = STEPS.iter().copied().find(|s| *s >= want).unwrap_or_else(|| (want / 86_400.0).ceil() * 86_400.0);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last.min(first + 400)).map(|k| egui_plot::GridMark { value: k as f64 * step, step_size: step }).collect()
}

/// A tick label with the decimals its step needs (0.79, 0.80, ... for a step of 0.01; 12 for 1).
pub fn tick_label(v: f64, step: f64) -> String {
    // The fewest decimals that write the step exactly (0.2 -> 1, 2.5 -> 1, 0.05 -> 2, 5 -> 0).
    let decimals = if step > 0.0 && step.is_finite() {
        (0..=6).find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(6) as usize
    } else {
        2
    };
    let v = if v.abs() < step * 1e-6 { 0.0 } else { v };
    format!("{v:.decimals$}")
}

/// A value range fitted to `values` with a margin: from 0 when `from_zero` (rates, counts) and no value
/// is negative; otherwise around the data (comparisons of accuracies, where 0.79 and 0.87 must look
/// different), snapped to the 1-2-5 grid.
pub fn fitted_range(values: &[f64], from_zero: bool) -> (f64, f64) {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (Some(min), Some(max)) = (finite.iter().copied().reduce(f64::min), finite.iter().copied().reduce(f64::max)) else {
        return (0.0, 1.0);
    };
    if from_zero && min >= 0.0 {
        let top = if max > 0.0 { max * 1.15 } else { 1.0 };
        return (0.0, top);
    }
    let span = (max - min).max(max.abs() * 0.02).max(1e-9);
    let step = nice_step(span / 4.0);
    let lo = ((min - span * 0.25) / step).floor() * step;
    let hi = ((max + span * 0.25) / step).ceil() * step;
    // A rate stays within [0, 1] where its values are.
    if min >= 0.0 && max <= 1.0 { (lo.max(0.0), hi.min(1.0).max(max)) } else { (lo, hi) }
}

const COLUMN_PX: f32 = 2.0;

const GREY_OUT: Color32 = Color32::from_rgb(120, 120, 120);

struct Cached {
    key: (u64, u64, usize, usize),
    points: Vec<PlotPoint>,
    bounds: PlotBounds,
    dense: bool,
}

/// Decimated points kept between frames: a chart whose view and data did not change costs no decimation.
#[derive(Default)]
pub struct ChartCache {
    entries: HashMap<(String, String), Cached>,
    scratch: Vec<[f64; 2]>,
}

impl ChartCache {
    fn points(&mut self, chart: &str, line: &ChartLine<'_>, x0: f64, x1: f64, columns: usize) -> &Cached {
        let key = (x0.to_bits(), x1.to_bits(), columns, line.series.len());
        let e = self.entries.entry((chart.to_string(), line.name.to_string())).or_insert_with(|| Cached {
            key: (0, 0, usize::MAX, 0),
            points: Vec::new(),
            bounds: PlotBounds::NOTHING,
            dense: false,
        });
        if e.key != key {
            e.dense = line.series.decimate(x0, x1, columns, &mut self.scratch);
            e.points.clear();
            e.points.extend(self.scratch.iter().map(|p| PlotPoint::new(p[0], p[1])));
            e.bounds = PlotBounds::NOTHING;
            for p in &e.points {
                e.bounds.extend_with(p);
            }
            e.key = key;
        }
        e
    }
}

/// A dense series: per pixel column one rectangle from its lowest to its highest value (joined to the
/// previous column's last value), so that a million points cost a few thousand rectangles.
struct Envelope {
    base: PlotItemBase,
    color: Color32,
    points: Vec<PlotPoint>,
    bounds: PlotBounds,
    /// Pixels per column.
    column: f32,
}

impl PlotItem for Envelope {
    fn shapes(&self, _ui: &Ui, transform: &PlotTransform, shapes: &mut Vec<Shape>) {
        let mut mesh = Mesh::default();
        let stroke = Stroke::new(1.5, self.color);
        let mut col: Option<(f32, f32, f32)> = None; // (column x, lowest y, highest y) in screen space
        let mut last: Option<egui::Pos2> = None;
        let flush = |mesh: &mut Mesh, c: (f32, f32, f32)| {
            let (x, a, b) = c;
            let r = Rect::from_x_y_ranges(x..=x + self.column.max(1.5), (a - 0.75)..=(b + 0.75).max(a + 0.75));
            mesh.add_colored_rect(r, self.color);
        };
        for p in &self.points {
            let s = transform.position_from_point(p);
            let x = (s.x / self.column).floor() * self.column;
            match (&mut col, last) {
                (Some(c), _) if c.0 == x => {
                    c.1 = c.1.min(s.y);
                    c.2 = c.2.max(s.y);
                }
                (c, prev) => {
                    if let Some(done) = c.take() {
                        flush(&mut mesh, done);
                    }
                    // Join to the previous point: a short gap joins into the column, a long one is a segment.
                    let (mut lo, mut hi) = (s.y, s.y);
                    if let Some(q) = prev {
                        if x - (q.x / self.column).floor() * self.column <= 2.0 * self.column {
                            lo = lo.min(q.y);
                            hi = hi.max(q.y);
                        } else {
                            shapes.push(Shape::line_segment([q, s], stroke));
                        }
                    }
                    *c = Some((x, lo, hi));
                }
            }
            last = Some(s);
        }
        if let Some(done) = col {
            flush(&mut mesh, done);
        }
        if !mesh.is_empty() {
            shapes.push(Shape::mesh(mesh));
        }
    }

    fn initialize(&mut self, _x_range: RangeInclusive<f64>) {}

    fn color(&self) -> Color32 {
        self.color
    }

    fn geometry(&self) -> PlotGeometry<'_> {
        PlotGeometry::Points(&self.points)
    }

    fn bounds(&self) -> PlotBounds {
        self.bounds
    }

    fn base(&self) -> &PlotItemBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut PlotItemBase {
        &mut self.base
    }
}

/// The cursor read-out of a chart, next to the pointer.
fn following_readout(ui: &Ui, text: String) {
    egui::Tooltip::always_open(ui.ctx().clone(), ui.layer_id(), egui::Id::unique("chart_readout"), egui::PopupAnchor::Pointer)
        .show(|ui| {
            ui.label(text);
        });
}

/// One chart. `link` ties the time axis (and cursor) of all charts given the same id. `span` is the
/// time range chosen (epoch seconds): the axis shows all of it, with empty space where there is no data
/// (as Grafana does), until the operator zooms or pans; then the chart says it is paused and offers
/// "Back to live".
#[allow(clippy::too_many_arguments)]
/// A chart's legend as a row above its plot, outside the data: a swatch and the name of each series in
/// its colour ([`crate::ui::widgets::series_color`]); a click on a name hides or shows that series.
/// Returns the names hidden (kept per chart `id` for the session). No row for a single series.
pub fn legend_row(ui: &mut Ui, id: &str, names: &[&str]) -> std::collections::BTreeSet<String> {
    let hidden_id = egui::Id::unique(("chart_hidden", id));
    let mut hidden: std::collections::BTreeSet<String> = ui.data(|d| d.get_temp(hidden_id)).unwrap_or_default();
    if names.len() > 1 {
        ui.horizontal_wrapped(|ui| {
            for (i, name) in names.iter().enumerate() {
                let off = hidden.contains(*name);
                let color = if off { GREY_OUT } else { crate::ui::widgets::series_color(name, i) };
                let (swatch, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                ui.painter().rect_filled(swatch, 2.0, color);
                let text = egui::RichText::new(*name).color(color).small();
                if ui.add(egui::Label::new(text).sense(egui::Sense::click())).on_hover_text("click to hide or show").clicked() {
                    if off {
                        hidden.remove(*name);
                    } else {
                        hidden.insert(name.to_string());
                    }
                }
            }
        });
        ui.data_mut(|d| d.insert_temp(hidden_id, hidden.clone()));
    }
    hidden
}

/// Splits points where consecutive times are more than three typical spacings apart (the median
/// spacing), so that a line is not drawn across a stretch with no data.
pub fn gapped(points: &[PlotPoint]) -> Vec<&[PlotPoint]> {
    if points.len() < 3 {
        return vec![points];
    }
    let mut steps: Vec<f64> = points.windows(2).map(|w| w[1].x - w[0].x).filter(|d| *d > 0.0).collect();
    if steps.is_empty() {
        return vec![points];
    }
    let mid = steps.len() / 2;
    let typical = *steps.select_nth_unstable_by(mid, f64::total_cmp).1;
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..points.len() {
        if points[i].x - points[i - 1].x > 3.0 * typical {
            out.push(&points[start..i]);
            start = i;
        }
    }
    out.push(&points[start..]);
    out
}

pub fn time_chart(
    ui: &mut Ui,
    id: &str,
    link: egui::Id,
    lines: &[ChartLine<'_>],
    height: f32,
    unit: Unit,
    span: Option<(f64, f64)>,
    cache: &mut ChartCache,
) {
    let data_range = lines.iter().fold(None, |acc: Option<(f64, f64)>, l| {
        let (Some(a), Some((b, _))) = (l.series.first_time(), l.series.last()) else { return acc };
        Some(acc.map_or((a, b), |(x, y)| (x.min(a), y.max(b))))
    });
    // The legend sits above the plot, outside the data (the newest points are on the right, where
    // egui_plot's legend would cover them); a click on a name hides or shows its series.
    let names: Vec<&str> = lines.iter().map(|l| l.name).collect();
    let hidden = legend_row(ui, id, &names);
    let reset_id = egui::Id::unique(("chart_reset", id));
    let reset = ui.data_mut(|d| d.remove_temp::<bool>(reset_id)).unwrap_or(false);
    // The honest zero rule: rates, latencies and counts start at 0; a score's axis fits its values.
    let y_range = if unit == Unit::Score {
        let values: Vec<f64> = lines.iter().filter(|l| !hidden.contains(l.name)).flat_map(|l| l.series.points().map(|p| p.1)).collect();
        fitted_range(&values, false)
    } else {
        (0.0, unit.least_top())
    };
    let mut plot = Plot::new(id);
    if reset {
        plot = plot.reset();
    }
    if let Some((a, b)) = span {
        plot = plot.include_x(a).include_x(b);
    }
    let following = plot
        .height(height)
        .link_axis(link, [true, false])
        .link_cursor(link, [true, false])
        .allow_scroll([true, false])
        // Ctrl+wheel zooms time only: the value axis keeps its fitted range.
        .allow_zoom([true, false])
        .include_y(y_range.0)
        .include_y(y_range.1)
        .y_axis_min_width(58.0)
        .y_grid_spacer(nice_spacer)
        .x_grid_spacer(time_spacer)
        .x_axis_formatter(|mark, range| time_label(mark.value, range.end() - range.start()))
        .y_axis_formatter(move |mark, _| unit.format_tick(mark.value, mark.step_size))
        // The read-out lists every series at the cursor's time (below), not only the nearest one.
        .show_x(false)
        .show_y(false)
        .show(ui, |plot| {
            let bounds = plot.plot_bounds();
            // Two pixels per column: a 1.5 px line cannot show finer detail anyway.
            let columns = (plot.response().rect.width() / COLUMN_PX).max(1.0) as usize;
            let following = plot.auto_bounds().x;
            let (x0, x1) = match (following, span, data_range) {
                (true, Some(s), _) => s,
                (true, None, Some(d)) => d,
                _ => (bounds.min()[0], bounds.max()[0]),
            };
            for (i, l) in lines.iter().enumerate() {
                if hidden.contains(l.name) {
                    continue;
                }
                let color = crate::ui::widgets::series_color(l.name, i);
                let c = cache.points(id, l, x0, x1, columns);
                if c.dense {
                    let base = PlotItemBase::new(l.name.to_string());
                    plot.add(Envelope { base, color, points: c.points.clone(), bounds: c.bounds, column: COLUMN_PX });
                } else {
                    // A gap in the data (no traffic, a restart) is a gap in the line, not a slope.
                    for part in gapped(&c.points) {
                        plot.line(Line::new(l.name, PlotPoints::Owned(part.to_vec())).color(color));
                    }
                }
            }
            let hovered = plot.response().hovered();
            (following, if hovered { plot.pointer_coordinate().map(|p| p.x) } else { None })
        });
    let (following, cursor) = following.inner;
    if let Some(x) = cursor {
        let mut text = time_label(x, 0.0);
        for l in lines.iter().filter(|l| !hidden.contains(l.name)) {
            let value = match l.series.at(x) {
                Some((_, v)) if !v.is_nan() => unit.format(v),
                Some(_) => "no value".to_string(),
                None => "no data yet".to_string(),
            };
            text.push_str(&format!("\n{}: {value}", l.name));
        }
        following_readout(ui, text);
    }
    if !following {
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("Paused: zoomed or panned, not following live").color(crate::ui::widgets::AMBER).small());
            if ui.small_button("Back to live").clicked() {
                ui.data_mut(|d| d.insert_temp(reset_id, true));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_ticks_and_ranges_are_readable() {
        assert_eq!(nice_step(0.218), 0.5);
        assert_eq!(nice_step(0.013), 0.02);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(10.0), 10.0);
        assert_eq!(tick_label(0.8, 0.02), "0.80");
        assert_eq!(tick_label(12.0, 5.0), "12");
        assert_eq!(tick_label(1e-17, 0.1), "0.0");
        // Accuracies 0.79 and 0.87: the axis does not start at 0, and their difference fills it.
        let (lo, hi) = fitted_range(&[0.79, 0.87], false);
        assert!(lo > 0.6 && lo <= 0.79 && hi >= 0.87 && hi <= 1.0, "{lo} {hi}");
        assert!((0.87 - 0.79) / (hi - lo) > 0.3);
        assert_eq!(fitted_range(&[0.1, 0.3], true).0, 0.0);
        // Five or so marks at a 1-2-5 step.
        let marks = nice_spacer(egui_plot::GridInput { bounds: (0.0, 0.87), base_step_size: 0.001 });
        let values: Vec<f64> = marks.iter().map(|m| m.value).collect();
        assert_eq!(values.len(), 5, "{values:?}");
        assert!((marks[0].step_size - 0.2).abs() < 1e-12);
        assert_eq!(Unit::Fraction.format_tick(0.2, 0.2), "20%");
        assert_eq!(Unit::Seconds.format_tick(0.0125, 0.0025), "12.5 ms");
        // Time ticks: whole seconds at least, about six over the range, never a repeated label.
        let t = time_spacer(egui_plot::GridInput { bounds: (1000.2, 1003.9), base_step_size: 0.01 });
        assert!(t.iter().all(|m| m.value.fract() == 0.0 && m.step_size == 1.0), "{:?}", t.iter().map(|m| m.value).collect::<Vec<_>>());
        let labels: Vec<String> = t.iter().map(|m| time_label(m.value, 3.7)).collect();
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(labels, unique);
        // A stretch with no data breaks the line.
        let pts: Vec<PlotPoint> = [0.0, 2.0, 4.0, 6.0, 40.0, 42.0, 44.0].iter().map(|x| PlotPoint::new(*x, 1.0)).collect();
        let parts: Vec<usize> = gapped(&pts).iter().map(|p| p.len()).collect();
        assert_eq!(parts, [4, 3]);
        let hour = time_spacer(egui_plot::GridInput { bounds: (0.0, 3600.0), base_step_size: 1.0 });
        assert_eq!(hour[1].value - hour[0].value, 600.0);
    }
}
