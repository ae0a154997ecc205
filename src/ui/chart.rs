//! Time charts drawn from decimated series (see `series`): zoom and pan, time axes linked across charts,
//! hover read-outs, legend toggles (click a name). Long series cost what the pixels cost, not what the
//! data costs: a dense series is drawn as one rectangle per pixel column (its min..max there), not as a
//! polyline of every point.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use egui::epaint::Mesh;
use egui::{Color32, Rect, Shape, Stroke, Ui};
use egui_plot::{
    HoverPosition, Legend, Line, Plot, PlotBounds, PlotGeometry, PlotItem, PlotItemBase, PlotPoint, PlotPoints, PlotTransform,
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
    Fraction,
    Seconds,
    Plain,
}

impl Unit {
    /// The least top of the value axis, so that a flat series at 0 (no errors) gets a readable scale
    /// instead of egui_plot's +-1000% around zero.
    pub fn least_top(self) -> f64 {
        match self {
            Unit::PerSecond => 1.0,
            Unit::Fraction => 0.01,
            Unit::Seconds => 0.001,
            Unit::Plain => 1.0,
        }
    }

    pub fn format(self, v: f64) -> String {
        match self {
            Unit::PerSecond => format!("{v:.2}/s"),
            Unit::Fraction => format!("{:.2}%", v * 100.0),
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

/// Distinct colours for series, dark and light themes alike.
pub const COLORS: [Color32; 8] = [
    Color32::from_rgb(66, 133, 244),
    Color32::from_rgb(234, 67, 53),
    Color32::from_rgb(52, 168, 83),
    Color32::from_rgb(251, 188, 5),
    Color32::from_rgb(171, 71, 188),
    Color32::from_rgb(0, 172, 193),
    Color32::from_rgb(255, 112, 67),
    Color32::from_rgb(158, 157, 36),
];

const COLUMN_PX: f32 = 2.0;

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

/// One chart. `link` ties the time axis (and cursor) of all charts given the same id.
pub fn time_chart(ui: &mut Ui, id: &str, link: egui::Id, lines: &[ChartLine<'_>], height: f32, unit: Unit, cache: &mut ChartCache) {
    let data_range = lines.iter().fold(None, |acc: Option<(f64, f64)>, l| {
        let (Some(a), Some((b, _))) = (l.series.first_time(), l.series.last()) else { return acc };
        Some(acc.map_or((a, b), |(x, y)| (x.min(a), y.max(b))))
    });
    Plot::new(id)
        .height(height)
        .legend(Legend::default())
        .link_axis(link, [true, false])
        .link_cursor(link, [true, false])
        .allow_scroll([true, false])
        .include_y(0.0)
        .include_y(unit.least_top())
        .x_axis_formatter(|mark, range| time_label(mark.value, range.end() - range.start()))
        .y_axis_formatter(move |mark, _| unit.format(mark.value))
        .label_formatter(move |h| match h {
            HoverPosition::NearDataPoint { plot_name, position, .. } => {
                Some(format!("{plot_name}\n{}\n{}", time_label(position.x, 0.0), unit.format(position.y)))
            }
            HoverPosition::Elsewhere { .. } => None,
        })
        .show(ui, |plot| {
            let bounds = plot.plot_bounds();
            // Two pixels per column: a 1.5 px line cannot show finer detail anyway.
            let columns = (plot.response().rect.width() / COLUMN_PX).max(1.0) as usize;
            let (x0, x1) = if plot.auto_bounds().x {
                data_range.unwrap_or((bounds.min()[0], bounds.max()[0]))
            } else {
                (bounds.min()[0], bounds.max()[0])
            };
            for (i, l) in lines.iter().enumerate() {
                let color = COLORS[i % COLORS.len()];
                let c = cache.points(id, l, x0, x1, columns);
                if c.dense {
                    let base = PlotItemBase::new(l.name.to_string());
                    plot.add(Envelope { base, color, points: c.points.clone(), bounds: c.bounds, column: COLUMN_PX });
                } else {
                    plot.line(Line::new(l.name, PlotPoints::Owned(c.points.clone())).color(color));
                }
            }
        });
}
