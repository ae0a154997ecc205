//! Time charts drawn from decimated series (see `series`): zoom and pan, time axes linked across charts,
//! hover read-outs, legend toggles (click a name). Long series cost what the pixels cost, not what the
//! data costs.

use egui::Ui;
use egui_plot::{HoverPosition, Legend, Line, Plot, PlotPoints};

use crate::series::Series;

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

/// One chart. `link` ties the time axis (and cursor) of all charts given the same id. `scratch` is
/// reused between frames to hold the decimated points.
pub fn time_chart(ui: &mut Ui, id: &str, link: egui::Id, lines: &[ChartLine<'_>], height: f32, unit: Unit, scratch: &mut Vec<[f64; 2]>) {
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
            let columns = plot.response().rect.width().max(1.0) as usize;
            let (x0, x1) = if plot.auto_bounds().x {
                data_range.unwrap_or((bounds.min()[0], bounds.max()[0]))
            } else {
                (bounds.min()[0], bounds.max()[0])
            };
            for l in lines {
                l.series.decimate(x0, x1, columns, scratch);
                plot.line(Line::new(l.name, PlotPoints::from(scratch.clone())));
            }
        });
}
