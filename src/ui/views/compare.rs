//! Versions side by side (differences marked and first, numbers with a delta), and one metric across
//! all versions as a chart.

use std::collections::{BTreeMap, BTreeSet};

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};
use egui_plot::{Bar, BarChart, Plot};

use crate::domain::ModelVersion;
use crate::ui::widgets;

/// One row of the comparison: a key of one section and its value in each version.
struct Row<'a> {
    section: &'static str,
    key: &'a str,
    values: Vec<Option<String>>,
    /// With two versions and a number in both: second minus first.
    delta: Option<f64>,
    differs: bool,
}

fn rows<'a>(versions: &[&'a ModelVersion]) -> Vec<Row<'a>> {
    let mut out = Vec::new();
    let metric_keys: BTreeSet<&String> = versions.iter().flat_map(|v| v.metrics.keys()).collect();
    for k in metric_keys {
        let nums: Vec<Option<f64>> = versions.iter().map(|v| v.metrics.get(k).copied()).collect();
        let values = nums.iter().map(|x| x.map(super::models::format_metric)).collect();
        let delta = match nums.as_slice() {
            [Some(a), Some(b)] => Some(b - a),
            _ => None,
        };
        let differs = nums.windows(2).any(|w| w[0] != w[1]);
        out.push(Row { section: "Metrics", key: k, values, delta, differs });
    }
    type Field = fn(&ModelVersion) -> &BTreeMap<String, String>;
    let text_sections: [(&'static str, Field); 2] = [("Params", |v| &v.params), ("Tags", |v| &v.tags)];
    for (section, field) in text_sections {
        let keys: BTreeSet<&'a String> = versions.iter().flat_map(|v| field(v).keys()).collect();
        for k in keys {
            let values: Vec<Option<String>> = versions.iter().map(|v| field(v).get(k).cloned()).collect();
            let differs = values.windows(2).any(|w| w[0] != w[1]);
            let delta = match values.as_slice() {
                [Some(a), Some(b)] => a.trim().parse::<f64>().ok().zip(b.trim().parse::<f64>().ok()).map(|(a, b)| b - a),
                _ => None,
            };
            out.push(Row { section, key: k, values, delta, differs });
        }
    }
    // Differences first, each section in its order.
    out.sort_by_key(|r| (!r.differs, ["Metrics", "Params", "Tags"].iter().position(|s| *s == r.section)));
    out
}

/// A signed difference, with as many decimals as a rate needs.
fn format_delta(d: f64) -> String {
    if d == 0.0 {
        "0".into()
    } else if d.fract() == 0.0 && d.abs() < 1e15 {
        format!("{d:+.0}")
    } else {
        format!("{d:+.4}")
    }
}

/// Params, metrics and tags of every version in `versions` (the selected one first) in one table that
/// fits the width it is given: long values are cut with "..." and shown whole on hover, rows that
/// differ come first and are marked, and with two versions a Δ column gives the numeric difference.
/// `only_differences` hides the rows that are equal everywhere.
pub fn compare(ui: &mut Ui, versions: &[&ModelVersion], only_differences: &mut bool) {
    let all = rows(versions);
    let differing = all.iter().filter(|r| r.differs).count();
    ui.horizontal_wrapped(|ui| {
        let names: Vec<String> = versions.iter().map(|v| format!("v{}", v.version)).collect();
        ui.label(RichText::new(format!("{}: {differing} of {} rows differ", names.join(" vs "), all.len())).strong());
        ui.checkbox(only_differences, "Only differences");
    });
    let shown: Vec<&Row> = all.iter().filter(|r| r.differs || !*only_differences).collect();
    let with_delta = versions.len() == 2;
    let width = ui.available_width();
    let height = ui.available_height().max(40.0);
    let mut table = TableBuilder::new(ui)
        .id_salt(("compare_table", versions.len()))
        .striped(true)
        .max_scroll_height(height)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(56.0))
        .column(Column::initial((width * 0.22).clamp(90.0, 220.0)).at_least(60.0).clip(true).resizable(true));
    for _ in versions {
        table = table.column(Column::remainder().at_least(60.0).clip(true));
    }
    if with_delta {
        table = table.column(Column::exact(78.0));
    }
    table
        .header(20.0, |mut h| {
            h.col(|ui| {
                ui.strong("");
            });
            h.col(|ui| {
                ui.strong("Key");
            });
            for v in versions {
                h.col(|ui| {
                    ui.strong(format!("v{}", v.version));
                    for a in &v.aliases {
                        widgets::alias_chip(ui, a);
                    }
                });
            }
            if with_delta {
                h.col(|ui| {
                    ui.strong(format!("Δ v{} − v{}", versions[1].version, versions[0].version));
                });
            }
        })
        .body(|body| {
            body.rows(20.0, shown.len(), |mut row| {
                let r = shown[row.index()];
                let color = r.differs.then_some(widgets::AMBER);
                let text = |s: &str| match color {
                    Some(c) => RichText::new(s).color(c),
                    None => RichText::new(s),
                };
                row.col(|ui| {
                    ui.label(RichText::new(r.section).weak().small());
                });
                row.col(|ui| {
                    let marker = if r.differs { "≠ " } else { "" };
                    ui.add(egui::Label::new(text(&format!("{marker}{}", r.key)).monospace()).truncate())
                        .on_hover_text(if r.differs { format!("{} (differs)", r.key) } else { r.key.to_string() });
                });
                // A value is marked where it differs from the first (selected) version's, so the eye
                // finds which version differs.
                for (i, v) in r.values.iter().enumerate() {
                    row.col(|ui| {
                        let s = v.clone().unwrap_or_else(|| "-".into());
                        let shown = if i > 0 && *v != r.values[0] { text(&s) } else { RichText::new(s.as_str()) };
                        ui.add(egui::Label::new(shown).truncate()).on_hover_text(s);
                    });
                }
                if with_delta {
                    row.col(|ui| {
                        if let Some(d) = r.delta {
                            ui.label(text(&format_delta(d)).monospace());
                        }
                    });
                }
            });
        });
}

/// One metric across all versions: a bar per version. `metric` is the chosen key (kept by the caller).
/// The y range is fitted to the values (a comparison of 0.79 with 0.87 must not start at 0), with
/// 1-2-5 ticks; the value of each bar is written on it.
pub fn metric_chart(ui: &mut Ui, versions: &[ModelVersion], metric: &mut String) {
    let keys: BTreeSet<&String> = versions.iter().flat_map(|v| v.metrics.keys()).collect();
    if keys.is_empty() {
        ui.label(RichText::new("No metrics recorded for these versions.").weak());
        return;
    }
    if !keys.contains(metric) {
        *metric = keys.iter().find(|k| k.as_str() == "accuracy").or(keys.iter().next()).map(|k| (*k).clone()).unwrap_or_default();
    }
    ui.horizontal(|ui| {
        ui.label("Metric");
        egui::ComboBox::from_id_salt("chart_metric").selected_text(metric.as_str()).show_ui(ui, |ui| {
            for k in &keys {
                ui.selectable_value(metric, (*k).clone(), k.as_str());
            }
        });
    });
    let mut bars: Vec<Bar> = versions
        .iter()
        .filter_map(|v| {
            let x = *v.metrics.get(metric.as_str())?;
            let color = v.aliases.first().map(|a| widgets::alias_color(a)).unwrap_or_else(|| widgets::version_color(v.version));
            Some(Bar::new(v.version as f64, x).name(format!("v{} {}", v.version, super::models::format_metric(x))).width(0.6).fill(color))
        })
        .collect();
    bars.sort_by(|a, b| a.argument.total_cmp(&b.argument));
    let missing = versions.len() - bars.len();
    let values: Vec<f64> = bars.iter().map(|b| b.value).collect();
    let (lo, hi) = crate::ui::chart::fitted_range(&values, false);
    for b in &mut bars {
        b.base_offset = Some(lo);
        b.value -= lo;
    }
    let labels: Vec<(f64, f64, String)> =
        bars.iter().map(|b| (b.argument, b.value + lo, super::models::format_metric(b.value + lo))).collect();
    Plot::new(("metric_chart", metric.as_str()))
        .height(150.0)
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .include_y(lo)
        .include_y(hi)
        .y_axis_label(metric.as_str())
        .y_grid_spacer(crate::ui::chart::nice_spacer)
        .y_axis_formatter(|mark, _| crate::ui::chart::tick_label(mark.value, mark.step_size))
        .x_axis_formatter(|mark, _| if mark.value.fract() == 0.0 && mark.value > 0.0 { format!("v{}", mark.value as u64) } else { String::new() })
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new(metric.clone(), bars));
            for (x, y, text) in labels {
                plot.text(egui_plot::Text::new(format!("{x}"), egui_plot::PlotPoint::new(x, y), RichText::new(text).small()).anchor(egui::Align2::CENTER_BOTTOM));
            }
        });
    if missing > 0 {
        ui.label(RichText::new(format!("{missing} version(s) have no '{metric}'")).weak());
    }
}
