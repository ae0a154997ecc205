//! The Groups tab: group sizes, the per-group table with Wilson-interval bars, the disparity summary
//! (differences, ratios, the four-fifths rule).

use super::*;

pub(super) fn groups_tab(st: &FairnessState, aliases: &[(String, u64)], ui: &mut Ui) {
    let Some(sec) = st.section() else {
        ui.label("No rows for this choice.");
        return;
    };
    ui.label(RichText::new(format!("Group sizes: rows of {}", rows_label(&st.version, aliases))).strong());
    let max = sec.groups.iter().map(|g| g.count).max().unwrap_or(1).max(1);
    let total = sec.overall.count.max(1);
    Grid::new("fair_sizes").num_columns(4).spacing([12.0, 4.0]).show(ui, |ui| {
        for g in &sec.groups {
            ui.label(g.key.as_str());
            let (rect, _) = ui.allocate_exact_size(vec2(220.0, 12.0), Sense::hover());
            let w = rect.width() * g.count as f32 / max as f32;
            ui.painter().rect_filled(egui::Rect::from_min_size(rect.min, vec2(w.max(1.0), rect.height())), 2.0, GREY);
            ui.label(format!("{} ({:.1}%)", thousands(g.count), 100.0 * g.count as f64 / total as f64));
            if g.count < 30 {
                ui.colored_label(AMBER, "small group: too small to judge").on_hover_text(g.warnings.join("\n"));
            } else if !g.warnings.is_empty() {
                ui.colored_label(AMBER, format!("{} warning(s)", g.warnings.len())).on_hover_text(g.warnings.join("\n"));
            } else {
                ui.label("");
            }
            ui.end_row();
        }
    });
    ui.add_space(10.0);
    group_table(st.metric, sec, ui);
    ui.add_space(10.0);
    disparity_summary(sec, ui);
}

/// An interval drawn on a 0..1 track: the interval as a bar, the value as a tick, the overall as a line.
fn interval_bar(ui: &mut Ui, value: Option<f64>, interval: Option<[f64; 2]>, overall: Option<f64>, color: Color32) {
    let (rect, resp) = ui.allocate_exact_size(vec2(240.0, 14.0), Sense::hover());
    let p = ui.painter();
    let x = |v: f64| rect.left() + rect.width() * v.clamp(0.0, 1.0) as f32;
    p.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    if let Some([lo, hi]) = interval {
        let r = egui::Rect::from_x_y_ranges(x(lo)..=x(hi).max(x(lo) + 1.0), rect.top() + 3.0..=rect.bottom() - 3.0);
        p.rect_filled(r, 2.0, color.gamma_multiply(0.55));
    }
    if let Some(v) = value {
        p.line_segment([egui::pos2(x(v), rect.top()), egui::pos2(x(v), rect.bottom())], (2.0, color));
    }
    if let Some(o) = overall {
        p.line_segment([egui::pos2(x(o), rect.top()), egui::pos2(x(o), rect.bottom())], (1.0, ui.visuals().text_color()));
    }
    if let (Some(v), Some([lo, hi])) = (value, interval) {
        resp.on_hover_text(format!("{:.4} (95% Wilson interval {:.4} to {:.4}); the thin line is the overall rate", v, lo, hi));
    }
}

fn group_table(metric: Metric, sec: &Section, ui: &mut Ui) {
    let name = metric.name();
    let reference = sec.reference.key.clone().unwrap_or_default();
    ui.label(RichText::new(format!("{} per group, with 95% intervals", metric_title(metric))).strong());
    ui.label(
        RichText::new(format!(
            "Compared with the reference group '{reference}' ({}); four-fifths bounds [{}, {}] on the ratio.",
            if sec.reference.chosen == "given" { "chosen" } else { "the largest" },
            sec.reference.bounds[0],
            sec.reference.bounds[1]
        ))
        .weak(),
    );
    let flagged_metric = crate::fairness::disparities::FLAGGED_METRICS.contains(&metric);
    Grid::new(("fair_table", name)).num_columns(7).striped(true).spacing([14.0, 4.0]).show(ui, |ui| {
        for h in ["Group", "Rows", "Value", "95% interval (0 to 1)", "Difference", "Ratio", "Four-fifths"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        let overall = sec.overall.rate(metric);
        let rows = sec.groups.iter().chain(std::iter::once(&sec.overall));
        for g in rows {
            let is_overall = g.key == "overall";
            let label = if g.key == reference { format!("{} (reference)", g.key) } else { g.key.clone() };
            ui.label(if is_overall { RichText::new("Overall").italics() } else { RichText::new(label) });
            ui.label(thousands(g.count));
            value_cell(ui, g, metric);
            let cmp = sec.reference.groups.iter().find(|r| r.key == g.key).and_then(|r| r.metrics.get(name));
            let outside = cmp.and_then(|c| c.outside_bounds);
            let color = match outside {
                Some(true) => RED,
                _ if is_overall => GREY,
                _ => GREEN,
            };
            interval_bar(ui, g.rate(metric), g.intervals.get(name).copied().flatten(), overall, color);
            ui.label(cmp.map(|c| num(c.difference)).unwrap_or_default());
            ui.label(cmp.map(|c| num(c.ratio)).unwrap_or_default());
            match (is_overall, flagged_metric, outside) {
                (true, _, _) | (_, false, _) => ui.label(""),
                (_, _, Some(true)) => ui.colored_label(RED, "FAIL"),
                (_, _, Some(false)) => ui.colored_label(GREEN, "pass"),
                (_, _, None) => ui.label("n/a"),
            };
            ui.end_row();
        }
    });
}

fn value_cell(ui: &mut Ui, g: &GroupRates, metric: Metric) {
    match (g.rate(metric), g.undefined.get(metric.name())) {
        (_, Some(why)) => {
            ui.colored_label(GREY, "n/a").on_hover_text(*why);
        }
        (v, None) => {
            ui.label(num(v));
        }
    }
}

fn disparity_summary(sec: &Section, ui: &mut Ui) {
    let d = &sec.disparities;
    let lo = sec.reference.bounds[0];
    ui.label(RichText::new("Disparities (Fairlearn's definitions)").strong());
    Grid::new("fair_disp").num_columns(4).striped(true).spacing([14.0, 4.0]).show(ui, |ui| {
        for h in ["Measure", "Difference", "Ratio", &format!("Ratio >= {lo}")] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        let rows = [
            ("Demographic parity", d.demographic_parity_difference, d.demographic_parity_ratio),
            ("Equalized odds", d.equalized_odds_difference, d.equalized_odds_ratio),
            ("Equal opportunity", d.equal_opportunity_difference, d.equal_opportunity_ratio),
        ];
        for (name, diff, ratio) in rows {
            ui.label(name);
            ui.label(num(diff));
            ui.label(num(ratio));
            match ratio {
                Some(r) if r >= lo => ui.colored_label(GREEN, "pass"),
                Some(_) => ui.colored_label(RED, "FAIL"),
                None => ui.label("n/a"),
            };
            ui.end_row();
        }
    });
    if sec.reference.flagged.is_empty() {
        ui.colored_label(GREEN, "Four-fifths rule: no group's selection rate is outside the bounds.");
    } else {
        ui.colored_label(RED, format!("Four-fifths rule: selection rate outside the bounds for {}", sec.reference.flagged.join(", ")));
    }
}
