//! The Threshold tab: rates by group as the score threshold moves over 0.00..1.00.

use super::*;

pub(super) fn threshold_tab(st: &mut FairnessState, ui: &mut Ui) {
    let done = match &st.sweep {
        Some(Loadable::Ready(d)) => d,
        Some(Loadable::Failed(e)) => {
            ui.colored_label(AMBER, e.as_str());
            if ui.button("Compute the sweep again").clicked() {
                st.retry_sweep();
            }
            return;
        }
        _ => {
            ui.label("Computing the threshold sweep...");
            return;
        }
    };
    let Some(sweep) = &done.report.threshold_sweep else {
        ui.label("No sweep: the log has no score column mapped.");
        return;
    };
    let prefix = done.version.as_ref().map(|v| format!("{}|", crate::fairness::group_key(std::slice::from_ref(v))));
    let curves: Vec<(String, &crate::fairness::report::SweepCurve)> = sweep
        .groups
        .iter()
        .filter_map(|c| match &prefix {
            Some(p) => c.key.strip_prefix(p.as_str()).map(|k| (k.to_string(), c)),
            None => Some((c.key.clone(), c)),
        })
        .collect();
    let metric = match st.metric {
        Metric::TruePositiveRate | Metric::FalsePositiveRate => st.metric,
        _ => Metric::SelectionRate,
    };
    ui.horizontal(|ui| {
        ui.label("Threshold");
        ui.add(egui::Slider::new(&mut st.threshold, 0.0..=1.0).step_by(0.01));
        ui.label(RichText::new(format!("positive iff score {} threshold; {}", if done.report.decision.strict { ">" } else { ">=" }, match &done.version {
            Some(v) => format!("rows of v{v}"),
            None => "all rows".into(),
        }))
        .weak());
    });
    let k = ((st.threshold * 100.0).round() as usize).min(sweep.thresholds.len().saturating_sub(1));
    let pick = |c: &crate::fairness::report::SweepCurve, m: Metric| -> Option<f64> {
        let v = match m {
            Metric::TruePositiveRate => &c.true_positive_rate,
            Metric::FalsePositiveRate => &c.false_positive_rate,
            _ => &c.selection_rate,
        };
        v.get(k).copied().flatten()
    };
    let threshold = st.threshold;
    let names: Vec<&str> = curves.iter().map(|(k, _)| k.as_str()).collect();
    let hidden = crate::ui::chart::legend_row(ui, "fair_sweep", &names);
    // The plot takes what the table below it leaves (one row per group), at least 220 px.
    let height = (ui.available_height() - 24.0 * (curves.len() as f32 + 3.0) - 30.0).clamp(220.0, 560.0);
    Plot::new("fair_sweep")
        .height(height)
        .y_grid_spacer(crate::ui::chart::nice_spacer)
        .y_axis_formatter(|mark, _| crate::ui::chart::tick_label(mark.value, mark.step_size))
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_label("threshold")
        .y_axis_label(metric_title(metric))
        .show(ui, |plot| {
            for (i, (key, c)) in curves.iter().enumerate() {
                if hidden.contains(key) {
                    continue;
                }
                let v = match metric {
                    Metric::TruePositiveRate => &c.true_positive_rate,
                    Metric::FalsePositiveRate => &c.false_positive_rate,
                    _ => &c.selection_rate,
                };
                let pts: Vec<[f64; 2]> = sweep.thresholds.iter().zip(v).filter_map(|(t, y)| Some([*t, (*y)?])).collect();
                plot.line(Line::new(key.clone(), PlotPoints::from(pts)).color(crate::ui::widgets::series_color(key, i)));
            }
            plot.vline(VLine::new("threshold", threshold));
        });
    // The reference group of the main table (the largest unless one was chosen).
    let reference = st.section().and_then(|s| s.reference.key.clone()).filter(|r| curves.iter().any(|(k, _)| k == r));
    let ref_sr = reference.as_ref().and_then(|r| curves.iter().find(|(k, _)| k == r)).and_then(|(_, c)| pick(c, Metric::SelectionRate));
    let (lo, hi) = (st.mapping.lower_bound, st.mapping.upper_bound);
    ui.label(RichText::new(format!("At threshold {:.2}", sweep.thresholds.get(k).copied().unwrap_or(threshold))).strong());
    Grid::new("fair_sweep_table").num_columns(5).striped(true).spacing([16.0, 4.0]).show(ui, |ui| {
        for h in ["Group", "Selection rate", "True positive rate", "False positive rate", "Selection ratio to reference"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        for (key, c) in &curves {
            let label = if Some(key) == reference.as_ref() { format!("{key} (reference)") } else { key.clone() };
            ui.label(label);
            ui.label(pct(pick(c, Metric::SelectionRate)));
            ui.label(pct(pick(c, Metric::TruePositiveRate)));
            ui.label(pct(pick(c, Metric::FalsePositiveRate)));
            match (pick(c, Metric::SelectionRate), ref_sr) {
                (Some(a), Some(b)) if b > 0.0 => {
                    let r = a / b;
                    let color = if r < lo || r > hi { RED } else { GREEN };
                    ui.colored_label(color, format!("{r:.3}"));
                }
                _ => {
                    ui.label("n/a");
                }
            }
            ui.end_row();
        }
    });
}
