//! Two versions side by side (differences highlighted), and one metric across all versions as a chart.

use std::collections::{BTreeMap, BTreeSet};

use egui::{RichText, Ui};
use egui_plot::{Bar, BarChart, Plot};

use crate::domain::ModelVersion;
use crate::ui::widgets;

/// Params, metrics and tags of `a` and `b` in one grid; rows that differ are marked.
pub fn compare(ui: &mut Ui, a: &ModelVersion, b: &ModelVersion) {
    let sections: [(&str, BTreeMap<String, String>, BTreeMap<String, String>); 3] = [
        ("Metrics", fmt_metrics(a), fmt_metrics(b)),
        ("Params", a.params.clone(), b.params.clone()),
        ("Tags", a.tags.clone(), b.tags.clone()),
    ];
    let differing: usize = sections
        .iter()
        .map(|(_, x, y)| x.keys().chain(y.keys()).collect::<BTreeSet<_>>().into_iter().filter(|k| x.get(*k) != y.get(*k)).count())
        .sum();
    ui.label(RichText::new(format!("v{} compared with v{}: {differing} differences", a.version, b.version)).strong());
    egui::Grid::new(("compare", a.version, b.version)).num_columns(3).striped(true).show(ui, |ui| {
        ui.strong("");
        ui.strong(format!("v{}", a.version));
        ui.strong(format!("v{}", b.version));
        ui.end_row();
        for (title, x, y) in &sections {
            ui.label(RichText::new(*title).strong());
            ui.end_row();
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (l, r) = (x.get(k), y.get(k));
                let text = |v: Option<&String>| v.cloned().unwrap_or_else(|| "-".into());
                if l != r {
                    ui.label(RichText::new(format!("{k} (differs)")).monospace().color(widgets::AMBER));
                    ui.label(RichText::new(text(l)).color(widgets::AMBER));
                    ui.label(RichText::new(text(r)).color(widgets::AMBER));
                } else {
                    ui.label(RichText::new(k.as_str()).monospace());
                    ui.label(text(l));
                    ui.label(text(r));
                }
                ui.end_row();
            }
        }
    });
}

fn fmt_metrics(v: &ModelVersion) -> BTreeMap<String, String> {
    v.metrics.iter().map(|(k, x)| (k.clone(), super::models::format_metric(*x))).collect()
}

/// One metric across all versions: a bar per version. `metric` is the chosen key (kept by the caller).
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
        .filter_map(|v| v.metrics.get(metric.as_str()).map(|x| Bar::new(v.version as f64, *x).name(format!("v{}", v.version)).width(0.6)))
        .collect();
    bars.sort_by(|a, b| a.argument.total_cmp(&b.argument));
    let missing = versions.len() - bars.len();
    Plot::new(("metric_chart", metric.as_str()))
        .height(150.0)
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .y_axis_label(metric.as_str())
        .x_axis_formatter(|mark, _| if mark.value.fract() == 0.0 && mark.value > 0.0 { format!("v{}", mark.value as u64) } else { String::new() })
        .show(ui, |plot| plot.bar_chart(BarChart::new(metric.clone(), bars)));
    if missing > 0 {
        ui.label(RichText::new(format!("{missing} version(s) have no '{metric}'")).weak());
    }
}
