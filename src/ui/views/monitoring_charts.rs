//! The Monitoring view's charts: quality per version over time with its 95% band (champion and
//! challenger in their alias colours, side by side on one time axis), each column's drift over the
//! windows as a sparkline, and a column's reference vs current distribution.

use egui::{Color32, RichText, Ui};
use egui_plot::{Bar, BarChart, Line, Plot, PlotPoints};

use crate::monitoring::drift::{ColumnDrift, DriftReport, format_stat};
use crate::monitoring::quality::QualityReport;
use crate::ui::monitoring::{MonitoringState, QualityMetric};
use crate::ui::widgets::{self, GREY, RED};

/// The day number (days since 1970-01-01) where a window starts: `2026-10-01` or an ISO week
/// `2026-W41` (its Monday).
pub fn window_day(label: &str) -> Option<f64> {
    let d = crate::monitoring::rules::window_start(label)?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() as f64 / 86_400.0)
}

fn date_of(day: f64) -> String {
    chrono::DateTime::from_timestamp((day * 86_400.0).round() as i64, 0).map(|t| t.format("%m-%d").to_string()).unwrap_or_default()
}

/// Grid marks on Mondays (day numbers d with (d + 3) % 7 == 0; 1970-01-05 was a Monday), every week or
/// every few weeks so that at most about 10 are drawn.
fn mondays(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    let (lo, hi) = input.bounds;
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Vec::new();
    }
    let weeks = ((hi - lo) / 7.0 / 10.0).ceil().max(1.0) as i64;
    let mut d = lo.ceil() as i64;
    d += (7 - (d + 3).rem_euclid(7)) % 7;
    let mut out = Vec::new();
    while (d as f64) <= hi && out.len() < 200 {
        out.push(egui_plot::GridMark { value: d as f64, step_size: 7.0 * weeks as f64 });
        d += 7 * weeks;
    }
    out
}

/// The ISO week of a day number, e.g. "W44".
fn week_of(day: f64) -> String {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp((day * 86_400.0).round() as i64, 0).map(|t| format!("W{:02}", t.iso_week().week())).unwrap_or_default()
}

/// "v2 (champion)" from the registry's aliases of the log's model, else "v2"; "all rows" without a
/// version column.
fn version_name(v: Option<&str>, aliases: &[(String, u64)]) -> String {
    let Some(v) = v else { return "all rows".into() };
    let names: Vec<&str> = aliases.iter().filter(|(_, n)| n.to_string() == v).map(|(a, _)| a.as_str()).collect();
    if names.is_empty() { format!("v{v}") } else { format!("v{v} ({})", names.join(", ")) }
}

/// Quality over time: the chosen metric per version and window, the band its 95% interval; the
/// champion's and challenger's versions first.
pub fn quality(ui: &mut Ui, st: &mut MonitoringState, q: &QualityReport, aliases: &[(String, u64)]) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Quality over time").strong());
        let l = ui.label("Metric");
        egui::ComboBox::from_id_salt("quality_metric")
            .selected_text(st.metric.title())
            .show_ui(ui, |ui| {
                for m in QualityMetric::ALL {
                    ui.selectable_value(&mut st.metric, m, m.title());
                }
            })
            .response
            .labelled_by(l.id);
    });
    let mut versions: Vec<Option<&str>> = Vec::new();
    for w in &q.windows {
        if !versions.contains(&w.version.as_deref()) {
            versions.push(w.version.as_deref());
        }
    }
    let rank = |v: &Option<&str>| {
        let name = version_name(*v, aliases);
        if name.contains("champion") { 0 } else if name.contains("challenger") { 1 } else { 2 }
    };
    versions.sort_by_key(|v| (rank(v), v.and_then(|s| s.parse::<u64>().ok())));
    let names: Vec<String> = versions.iter().map(|v| version_name(*v, aliases)).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let hidden = crate::ui::chart::legend_row(ui, "quality_chart", &name_refs);
    let metric = st.metric;
    let labelled: u64 = q.windows.iter().map(|w| w.labelled).sum();
    let rows: u64 = q.windows.iter().map(|w| w.rows).sum();
    let height = (ui.ctx().content_rect().height() * 0.3).clamp(190.0, 380.0);
    // Weekly windows are labelled by ISO week on the axis too (the readouts name them so).
    let weekly = q.windows.first().is_some_and(|w| w.window.contains("-W"));
    let has_values = q.windows.iter().any(|w| metric.of(w).is_some());
    if !has_values {
        let why = match metric {
            QualityMetric::RocAuc => "ROC AUC needs a score column: name it in Quality columns (score) and Analyse again.",
            _ => "No window has a value: no labelled rows, or a single class.",
        };
        ui.colored_label(GREY, format!("{}: {why}", metric.title()));
        return;
    }
    Plot::new("quality_over_time")
        .height(height)
        .allow_scroll(false)
        .allow_zoom([true, false])
        .y_axis_min_width(48.0)
        .y_grid_spacer(crate::ui::chart::nice_spacer)
        .y_axis_formatter(|mark, _| crate::ui::chart::tick_label(mark.value, mark.step_size))
        .x_grid_spacer(move |input| if weekly { mondays(input) } else { egui_plot::log_grid_spacer(10)(input) })
        .x_axis_formatter(move |mark, _| if weekly { week_of(mark.value) } else { date_of(mark.value) })
        .label_formatter(move |h| match h {
            egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => {
                Some(format!("{plot_name}\n{}: {:.3}", if weekly { week_of(position.x) } else { date_of(position.x) }, position.y))
            }
            egui_plot::HoverPosition::Elsewhere { .. } => None,
        })
        .show(ui, |plot| {
            for (i, (v, name)) in versions.iter().zip(&names).enumerate() {
                if hidden.contains(name) {
                    continue;
                }
                let color = widgets::series_color(name, i);
                let (mut xs, mut lo, mut hi, mut pts) = (vec![], vec![], vec![], vec![]);
                for w in q.windows.iter().filter(|w| w.version.as_deref() == *v) {
                    let (Some(x), Some(e)) = (window_day(&w.window), metric.of(w)) else { continue };
                    pts.push([x, e.value]);
                    xs.push(x);
                    lo.push(e.low);
                    hi.push(e.high);
                }
                if xs.len() > 1 {
                    plot.add(egui_plot::FilledArea::new(format!("{name} 95% interval"), &xs, &lo, &hi).fill_color(color.gamma_multiply(0.18)).allow_hover(false));
                }
                plot.line(Line::new(name.clone(), PlotPoints::from(pts.clone())).color(color).width(1.8));
                plot.points(egui_plot::Points::new(name.clone(), PlotPoints::from(pts)).color(color).radius(2.5));
            }
        });
    // Side by side in numbers: each version's newest window with a value.
    ui.horizontal_wrapped(|ui| {
        for (i, (v, name)) in versions.iter().zip(&names).enumerate() {
            let last = q.windows.iter().filter(|w| w.version.as_deref() == *v).filter_map(|w| metric.of(w).map(|e| (w, e))).next_back();
            if let Some((w, e)) = last {
                let text = format!("{name}, {}: {:.4} ({:.4} to {:.4})", w.window, e.value, e.low, e.high);
                ui.add(egui::Label::new(RichText::new(text).color(widgets::series_color(name, i))).extend());
            }
        }
    });
    ui.label(
        RichText::new(format!(
            "{} per version and {} of prediction time; the band is the 95% interval ({}). {} of {} predictions labelled; unlabelled ones are counted, never guessed. Same numbers as `steward quality`.",
            metric.title(),
            if q.windows.first().is_some_and(|w| w.window.contains("-W")) { "ISO week" } else { "day" },
            metric.interval(),
            labelled,
            rows
        ))
        .weak(),
    );
}

/// One row per column: its effect over the windows (oldest to newest) with the 0.1 threshold dashed,
/// drifted windows as red dots; the newest window's effect and verdict. A click shows its distribution.
pub fn drift_overview(ui: &mut Ui, st: &mut MonitoringState, r: &DriftReport) {
    let Some(newest) = r.windows.last() else { return };
    ui.label(RichText::new("Columns over the windows").strong());
    let mut columns: Vec<&ColumnDrift> = newest.columns.iter().collect();
    columns.sort_by(|a, b| b.severity.total_cmp(&a.severity).then(a.column.cmp(&b.column)));
    egui::Grid::new("drift_overview").num_columns(5).striped(true).spacing([14.0, 3.0]).show(ui, |ui| {
        for h in ["Column", "Effect over windows", "Effect, newest", "Verdict", "Notes"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        for c in columns {
            let chosen = st.column.as_deref() == Some(c.column.as_str());
            if ui.selectable_label(chosen, &c.column).on_hover_text("show its distribution").clicked() {
                st.column = if chosen { None } else { Some(c.column.clone()) };
            }
            let series: Vec<(Option<f64>, bool)> = r
                .windows
                .iter()
                .map(|w| w.columns.iter().find(|x| x.column == c.column).map_or((None, false), |x| (x.effect, x.drifted)))
                .collect();
            sparkline(ui, &series).on_hover_text(format!(
                "{} over {} windows (largest {}); dashed, when in range: the 0.1 effect threshold; red: drifted",
                if c.effect_measure == "jensen_shannon" { "Jensen-Shannon" } else { "normed Wasserstein" },
                series.len(),
                format_stat(series.iter().filter_map(|s| s.0).reduce(f64::max))
            ));
            ui.label(format_stat(c.effect)).on_hover_text(if c.effect_measure == "jensen_shannon" { "Jensen-Shannon distance" } else { "normed Wasserstein distance" });
            let colour = match c.verdict_word() {
                "DRIFT" => RED,
                "ok" => widgets::GREEN,
                _ => GREY,
            };
            ui.colored_label(colour, c.verdict_word());
            let notes = c.notes().join("; ");
            ui.add(egui::Label::new(RichText::new(&notes).weak()).truncate()).on_hover_text(&notes);
            ui.end_row();
        }
    });
}

/// A 150 x 22 px line of values (None: a gap), scaled to 1.25 x their largest (at least 0.02), with the
/// 0.1 threshold dashed when it is in range.
fn sparkline(ui: &mut Ui, values: &[(Option<f64>, bool)]) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(150.0, 22.0), egui::Sense::hover());
    let p = ui.painter_at(rect);
    let top = values.iter().filter_map(|v| v.0).filter(|v| v.is_finite()).fold(0.016f64, f64::max) * 1.25;
    let n = values.len().max(2) as f32 - 1.0;
    let at = |i: usize, v: f64| egui::pos2(rect.left() + 2.0 + (rect.width() - 4.0) * i as f32 / n, rect.bottom() - 2.0 - (rect.height() - 4.0) * (v / top).min(1.0) as f32);
    if top >= 0.1 {
        let y = at(0, 0.1).y;
        p.add(egui::Shape::dashed_line(&[egui::pos2(rect.left(), y), egui::pos2(rect.right(), y)], egui::Stroke::new(1.0, GREY), 3.0, 3.0));
    }
    let stroke = egui::Stroke::new(1.8, widgets::INFO);
    let mut run: Vec<egui::Pos2> = Vec::new();
    for (i, (v, drifted)) in values.iter().enumerate() {
        match v.filter(|v| v.is_finite()) {
            Some(v) => {
                let q = at(i, v);
                run.push(q);
                if *drifted {
                    p.circle_filled(q, 2.5, RED);
                }
            }
            None => {
                p.add(egui::Shape::line(std::mem::take(&mut run), stroke));
            }
        }
    }
    if values.len() == 1
        && let Some(q) = run.first()
    {
        p.circle_filled(*q, 2.0, stroke.color);
    }
    p.add(egui::Shape::line(run, stroke));
    response
}

/// The chosen column's reference and current shares per bin, in the newest window.
pub fn distribution(ui: &mut Ui, st: &MonitoringState, r: &DriftReport) {
    let (Some(name), Some(newest)) = (&st.column, r.windows.last()) else { return };
    let Some(c) = newest.columns.iter().find(|c| &c.column == name) else { return };
    ui.label(RichText::new(format!("{} in window {}: reference vs current", c.column, newest.label)).strong());
    if c.distribution.is_empty() {
        ui.label(RichText::new(c.reason.clone().unwrap_or_else(|| "no values to compare".into())).color(GREY));
        return;
    }
    let reference_color = Color32::from_rgb(150, 150, 150);
    let current_color = widgets::INFO;
    let labels: Vec<String> = c.distribution.iter().map(|b| b.label.clone()).collect();
    let bars = |which: usize| -> Vec<Bar> {
        c.distribution
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let (v, dx) = if which == 0 { (b.reference, -0.2) } else { (b.current, 0.2) };
                let color = if which == 0 { reference_color } else { current_color };
                Bar::new(i as f64 + dx, v).width(0.38).name(&b.label).fill(color.gamma_multiply(0.75)).stroke(egui::Stroke::new(1.0, color))
            })
            .collect()
    };
    ui.horizontal(|ui| {
        for (name, color) in [("reference", reference_color), ("current", current_color)] {
            let (swatch, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().rect_filled(swatch, 2.0, color);
            ui.label(RichText::new(name).color(color));
        }
        ui.label(RichText::new(format!("PSI {}  Jensen-Shannon {}", format_stat(c.psi), format_stat(c.jensen_shannon))));
    });
    Plot::new(("drift_distribution", &c.column))
        .height((ui.ctx().content_rect().height() * 0.25).clamp(170.0, 320.0))
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .include_y(0.0)
        .y_axis_min_width(48.0)
        .y_axis_formatter(|mark, _| format!("{:.0}%", mark.value * 100.0))
        .x_grid_spacer(move |input| {
            let (lo, hi) = (input.bounds.0.ceil().max(0.0) as i64, input.bounds.1.floor() as i64);
            let step = (((hi - lo + 1) as f64) / 8.0).ceil().max(1.0) as i64;
            (lo..=hi).step_by(step as usize).map(|v| egui_plot::GridMark { value: v as f64, step_size: step as f64 }).collect()
        })
        .x_axis_formatter(move |mark, _| labels.get(mark.value.round() as usize).filter(|_| mark.value >= 0.0).cloned().unwrap_or_default())
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("reference", bars(0)).color(reference_color));
            plot.bar_chart(BarChart::new("current", bars(1)).color(current_color));
        });
}
