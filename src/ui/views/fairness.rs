//! The Fairness view: the open log and its mapping, progress of the analysis, then group sizes, a
//! per-group table with interval bars, a disparity summary, rates over time, champion vs challenger and
//! a threshold explorer.

use std::path::PathBuf;

use egui::{Color32, ComboBox, Grid, RichText, Sense, Ui, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};

use crate::domain::thousands;
use crate::fairness::report::{GroupRates, Section};
use crate::fairness::{Metric, Report};
use crate::ui::app::{Action, Loadable, StewardApp};
use crate::ui::fairness::{self as state, FairnessState, Purpose, Tab};
use crate::ui::widgets::{self, AMBER, GREEN, GREY, RED};

pub fn metric_title(m: Metric) -> &'static str {
    match m {
        Metric::BaseRate => "Base rate",
        Metric::SelectionRate => "Selection rate",
        Metric::TruePositiveRate => "True positive rate",
        Metric::FalsePositiveRate => "False positive rate",
        Metric::FalseNegativeRate => "False negative rate",
        Metric::Precision => "Precision",
        Metric::Accuracy => "Accuracy",
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_else(|| "n/a".into())
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "n/a".into())
}

pub fn show(app: &mut StewardApp, ui: &mut Ui, actions: &mut Vec<Action>) {
    state::auto_open(app);
    ui.horizontal(|ui| {
        ui.heading("Fairness");
        ui.separator();
        let l = ui.label("Prediction log");
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut app.fairness.path_input)
                    .desired_width(360.0)
                    .hint_text("path to a CSV, JSON Lines or Parquet log"),
            )
            .labelled_by(l.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Open").clicked() || enter {
            let p = PathBuf::from(app.fairness.path_input.trim());
            actions.push(Action::OpenLog(p));
        }
        if ui.button("Browse...").on_hover_text("Choose a log file").clicked() {
            actions.push(Action::BrowseLog);
        }
        if app.fairness.log.is_some() {
            let label = if app.fairness.show_mapping { "Hide column mapping" } else { "Column mapping" };
            if ui.button(label).clicked() {
                app.fairness.show_mapping = !app.fairness.show_mapping;
            }
        }
    });
    if app.fairness.log.is_none() {
        let detail = "Group metrics (selection rate, TPR, FPR, precision, accuracy with 95% intervals, disparities and the \
                      four-fifths rule) are computed from prediction logs: CSV (plain, gzip, zstd), JSON Lines or Parquet.\n\
                      Models that name a log in their `prediction_log` tag (the sample workspace does) open here by themselves.";
        if widgets::empty_state(ui, "No prediction log opened", detail, &["Open sample workspace"]) == Some(0) {
            actions.push(Action::OpenSample);
        }
        return;
    }
    match &app.fairness.columns {
        Some(Loadable::Failed(e)) => {
            ui.colored_label(RED, format!("Cannot read the log: {e}"));
            return;
        }
        Some(Loadable::Loading) => {
            ui.label("Reading the header...");
            return;
        }
        _ => {}
    }
    if app.fairness.show_mapping {
        mapping_panel(app, ui);
    }
    progress(app, ui);
    match &app.fairness.report {
        Some(Loadable::Failed(e)) => {
            ui.colored_label(RED, e.as_str());
            if !app.fairness.show_mapping && ui.button("Edit the column mapping").clicked() {
                app.fairness.show_mapping = true;
            }
            return;
        }
        Some(Loadable::Ready(_)) => {}
        _ => return,
    }
    report_view(app, ui);
}

fn progress(app: &mut StewardApp, ui: &mut Ui) {
    let st = &app.fairness;
    if st.running.is_empty() {
        if st.cancelled {
            ui.colored_label(AMBER, "Cancelled: the previous results (if any) are kept.");
        }
        return;
    }
    let mut cancel = false;
    for r in &st.running {
        let f = r.progress.fraction();
        let read = r.progress.bytes_read.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6;
        let total = r.progress.total_bytes.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6;
        let what = if r.purpose == Purpose::Main { "Analyzing" } else { "Sweeping thresholds in" };
        ui.horizontal(|ui| {
            ui.add(
                egui::ProgressBar::new(f as f32)
                    .desired_width(320.0)
                    .text(format!("{what} {}: {:.0}% ({read:.1} of {total:.1} MB, {:.1} s)", r.file, f * 100.0, r.started.elapsed().as_secs_f64())),
            );
            if ui.button("Cancel").on_hover_text("Esc").clicked() {
                cancel = true;
            }
        });
    }
    if cancel || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
        app.fairness.cancel();
    }
    ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
}

fn column_combo(ui: &mut Ui, id: &str, value: &mut String, columns: &[String], optional: bool) {
    let shown = if value.is_empty() { "(none)".to_string() } else { value.clone() };
    ComboBox::from_id_salt(id).selected_text(shown).show_ui(ui, |ui| {
        if optional {
            ui.selectable_value(value, String::new(), "(none)");
        }
        for c in columns {
            ui.selectable_value(value, c.clone(), c.as_str());
        }
    });
}

fn mapping_panel(app: &mut StewardApp, ui: &mut Ui) {
    let columns = match &app.fairness.columns {
        Some(Loadable::Ready(c)) => c.clone(),
        _ => return,
    };
    let mut run = false;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        let m = &mut app.fairness.mapping;
        Grid::new("fair_mapping").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
            ui.label("Group columns");
            ui.horizontal_wrapped(|ui| {
                for c in &columns {
                    let mut on = m.group.contains(c);
                    if ui.checkbox(&mut on, c.as_str()).changed() {
                        if on {
                            m.group.push(c.clone());
                        } else {
                            m.group.retain(|g| g != c);
                        }
                    }
                }
            });
            ui.end_row();
            ui.label("Label column");
            ui.horizontal(|ui| {
                column_combo(ui, "fair_label", &mut m.label, &columns, false);
                ui.label("positive value");
                ui.add(egui::TextEdit::singleline(&mut m.positive_label).desired_width(80.0).hint_text("1"));
            });
            ui.end_row();
            ui.label("Decision");
            ui.horizontal(|ui| {
                ui.radio_value(&mut m.use_score, false, "Prediction column");
                ui.radio_value(&mut m.use_score, true, "Score and threshold");
            });
            ui.end_row();
            if m.use_score {
                ui.label("Score column");
                ui.horizontal(|ui| {
                    column_combo(ui, "fair_score", &mut m.score, &columns, false);
                    ui.label("positive iff score >=");
                    ui.add(egui::DragValue::new(&mut m.threshold).speed(0.01).range(0.0..=1.0));
                });
            } else {
                ui.label("Prediction column");
                ui.horizontal(|ui| {
                    column_combo(ui, "fair_pred", &mut m.prediction, &columns, false);
                    ui.label("positive values");
                    ui.add(egui::TextEdit::singleline(&mut m.positive_prediction).desired_width(80.0).hint_text("1"));
                    ui.label("score (for the explorer)");
                    column_combo(ui, "fair_score2", &mut m.score, &columns, true);
                });
            }
            ui.end_row();
            ui.label("Time column");
            ui.horizontal(|ui| {
                column_combo(ui, "fair_time", &mut m.time, &columns, true);
                ui.radio_value(&mut m.weekly, false, "daily");
                ui.radio_value(&mut m.weekly, true, "weekly");
            });
            ui.end_row();
            ui.label("Model version column");
            column_combo(ui, "fair_version", &mut m.version, &columns, true);
            ui.end_row();
            ui.label("Four-fifths bounds");
            ui.horizontal(|ui| {
                ui.add(egui::DragValue::new(&mut m.lower_bound).speed(0.01).range(0.01..=1.0));
                ui.label("to");
                ui.add(egui::DragValue::new(&mut m.upper_bound).speed(0.01).range(1.0..=100.0));
            });
            ui.end_row();
        });
        if ui.button("Analyze").on_hover_text("Ctrl+Enter").clicked() {
            run = true;
        }
    });
    if run || ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::Enter)) {
        state::analyze(app);
    }
}

fn report_view(app: &mut StewardApp, ui: &mut Ui) {
    let Some(done) = app.fairness.done() else { return };
    let report = done.report.clone();
    let elapsed = done.elapsed;
    let aliases = state::aliases_for(&app.fairness, &app.models);
    let st = &mut app.fairness;
    ui.label(
        RichText::new(format!(
            "{} rows ({} skipped) from {} ({}), computed in {:.2} s. Groups by {}.",
            thousands(report.rows),
            thousands(report.skipped_rows),
            report.file,
            report.format,
            elapsed.as_secs_f64(),
            report.group_columns.join(" x ")
        ))
        .weak(),
    );
    ui.horizontal(|ui| {
        if !report.versions.is_empty() {
            let l = ui.label("Rows");
            ComboBox::from_id_salt("fair_rows")
                .selected_text(rows_label(&st.version, &aliases))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut st.version, None, "All versions");
                    for v in &report.versions {
                        ui.selectable_value(&mut st.version, Some(v.version.clone()), version_label(&v.version, &aliases));
                    }
                })
                .response
                .labelled_by(l.id);
        }
        if !report.marginals.is_empty() && st.version.is_none() {
            let l = ui.label("Groups");
            let inter = report.group_columns.join(" x ");
            let shown = st.marginal.clone().unwrap_or_else(|| inter.clone());
            ComboBox::from_id_salt("fair_marginal").selected_text(shown).show_ui(ui, |ui| {
                ui.selectable_value(&mut st.marginal, None, inter.as_str());
                for c in report.marginals.keys() {
                    ui.selectable_value(&mut st.marginal, Some(c.clone()), c.as_str());
                }
            })
            .response
            .labelled_by(l.id);
        }
        let l = ui.label("Metric");
        ComboBox::from_id_salt("fair_metric")
            .selected_text(metric_title(st.metric))
            .show_ui(ui, |ui| {
                for m in Metric::ALL {
                    ui.selectable_value(&mut st.metric, m, metric_title(m));
                }
            })
            .response
            .labelled_by(l.id);
    });
    if st.version.is_some() {
        st.marginal = None;
    }
    ui.horizontal(|ui| {
        for t in Tab::ALL {
            if ui.selectable_label(st.tab == t, t.title()).clicked() {
                st.tab = t;
            }
        }
    });
    ui.separator();
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| match app.fairness.tab {
        Tab::Groups => groups_tab(&app.fairness, &aliases, ui),
        Tab::OverTime => over_time_tab(&app.fairness, &report, ui),
        Tab::Compare => compare_tab(&mut app.fairness, &report, &aliases, ui),
        Tab::Threshold => {
            state::ensure_sweep(app);
            threshold_tab(&mut app.fairness, ui);
        }
    });
}

fn rows_label(v: &Option<String>, aliases: &[(String, u64)]) -> String {
    match v {
        None => "All versions".to_string(),
        Some(v) => version_label(v, aliases),
    }
}

fn version_label(v: &str, aliases: &[(String, u64)]) -> String {
    let names: Vec<&str> = aliases.iter().filter(|(_, n)| n.to_string() == v).map(|(a, _)| a.as_str()).collect();
    if names.is_empty() { format!("v{v}") } else { format!("v{v} ({})", names.join(", ")) }
}

fn groups_tab(st: &FairnessState, aliases: &[(String, u64)], ui: &mut Ui) {
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

fn day_number(date: &str) -> Option<f64> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() as f64 / 86_400.0)
}

fn date_of(day: f64) -> String {
    chrono::DateTime::from_timestamp((day * 86_400.0) as i64, 0).map(|t| t.format("%m-%d").to_string()).unwrap_or_default()
}

fn over_time_tab(st: &FairnessState, report: &Report, ui: &mut Ui) {
    let windows = match &st.version {
        Some(v) => report.versions.iter().find(|s| &s.version == v).map(|s| s.windows.as_slice()).unwrap_or(&[]),
        None => report.windows.as_slice(),
    };
    if windows.is_empty() {
        ui.label("Map a time column (Column mapping) to see rates per day or week.");
        return;
    }
    let keys: Vec<String> = {
        let mut k: Vec<String> = windows.iter().flat_map(|w| w.section.groups.iter().map(|g| g.key.clone())).collect();
        k.sort();
        k.dedup();
        k
    };
    ui.label(RichText::new(format!("{} windows ({}); drag to pan, scroll to zoom; the time axes are linked.", windows.len(), report.window.unwrap_or("1d"))).weak());
    let link = egui::Id::unique("fair_time_link");
    for m in [Metric::SelectionRate, Metric::TruePositiveRate, Metric::FalsePositiveRate] {
        ui.label(RichText::new(metric_title(m)).strong());
        Plot::new(("fair_time", m.name()))
            .height(170.0)
            .legend(Legend::default())
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .include_y(0.0)
            .x_axis_formatter(|mark, _| date_of(mark.value))
            .label_formatter(|h| match h {
                egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => {
                    Some(format!("{plot_name}\n{}: {:.3}", date_of(position.x), position.y))
                }
                egui_plot::HoverPosition::Elsewhere { .. } => None,
            })
            .show(ui, |plot| {
                for k in &keys {
                    let pts: Vec<[f64; 2]> = windows
                        .iter()
                        .filter_map(|w| Some([day_number(&w.window)?, w.section.group(k)?.rate(m)?]))
                        .collect();
                    plot.line(Line::new(k.clone(), PlotPoints::from(pts)));
                }
            });
    }
}

fn compare_tab(st: &mut FairnessState, report: &Report, aliases: &[(String, u64)], ui: &mut Ui) {
    if report.versions.len() < 2 {
        ui.label("Map a model version column whose log holds at least two versions to compare them.");
        return;
    }
    ui.horizontal(|ui| {
        for (id, side) in [("fair_left", &mut st.left), ("fair_right", &mut st.right)] {
            let shown = side.as_deref().map(|v| version_label(v, aliases)).unwrap_or_default();
            ComboBox::from_id_salt(id).selected_text(shown).show_ui(ui, |ui| {
                for v in &report.versions {
                    ui.selectable_value(side, Some(v.version.clone()), version_label(&v.version, aliases));
                }
            });
            if id == "fair_left" {
                ui.label("vs");
            }
        }
    });
    let find = |v: &Option<String>| report.versions.iter().find(|s| Some(&s.version) == v.as_ref());
    let (Some(l), Some(r)) = (find(&st.left), find(&st.right)) else { return };
    let (ln, rn) = (version_label(&l.version, aliases), version_label(&r.version, aliases));
    let m = st.metric;
    ui.label(RichText::new(format!("{} per group", metric_title(m))).strong());
    Grid::new("fair_compare").num_columns(5).striped(true).spacing([16.0, 4.0]).show(ui, |ui| {
        for h in ["Group", ln.as_str(), rn.as_str(), "Change", "Four-fifths"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        let mut keys: Vec<String> = l.section.groups.iter().chain(&r.section.groups).map(|g| g.key.clone()).collect();
        keys.sort();
        keys.dedup();
        keys.push("overall".into());
        for k in &keys {
            let get = |s: &Section| if k == "overall" { Some(s.overall.clone()) } else { s.group(k).cloned() };
            let (a, b) = (get(&l.section).and_then(|g| g.rate(m)), get(&r.section).and_then(|g| g.rate(m)));
            ui.label(if k == "overall" { "Overall" } else { k.as_str() });
            ui.label(num(a));
            ui.label(num(b));
            ui.label(match (a, b) {
                (Some(a), Some(b)) => format!("{:+.3}", b - a),
                _ => "n/a".into(),
            });
            let flag = |s: &Section| s.reference.flagged.contains(k);
            ui.label(if k == "overall" {
                String::new()
            } else {
                format!("{} / {}", if flag(&l.section) { "FAIL" } else { "pass" }, if flag(&r.section) { "FAIL" } else { "pass" })
            });
            ui.end_row();
        }
    });
    ui.add_space(8.0);
    ui.label(RichText::new("Disparities").strong());
    Grid::new("fair_compare_disp").num_columns(4).striped(true).spacing([16.0, 4.0]).show(ui, |ui| {
        for h in ["Measure", ln.as_str(), rn.as_str(), "Change"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        let (a, b) = (&l.section.disparities, &r.section.disparities);
        let rows = [
            ("Demographic parity difference", a.demographic_parity_difference, b.demographic_parity_difference),
            ("Demographic parity ratio", a.demographic_parity_ratio, b.demographic_parity_ratio),
            ("Equalized odds difference", a.equalized_odds_difference, b.equalized_odds_difference),
            ("Equal opportunity difference", a.equal_opportunity_difference, b.equal_opportunity_difference),
            ("Accuracy (overall)", l.section.overall.accuracy, r.section.overall.accuracy),
        ];
        for (name, x, y) in rows {
            ui.label(name);
            ui.label(num(x));
            ui.label(num(y));
            ui.label(match (x, y) {
                (Some(x), Some(y)) => format!("{:+.3}", y - x),
                _ => "n/a".into(),
            });
            ui.end_row();
        }
    });
}

fn threshold_tab(st: &mut FairnessState, ui: &mut Ui) {
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
    let prefix = done.version.as_ref().map(|v| format!("{v}|"));
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
        ui.label(RichText::new(format!("positive iff score >= threshold; {}", match &done.version {
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
    Plot::new("fair_sweep")
        .height(220.0)
        .legend(Legend::default())
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_label("threshold")
        .y_axis_label(metric_title(metric))
        .show(ui, |plot| {
            for (key, c) in &curves {
                let v = match metric {
                    Metric::TruePositiveRate => &c.true_positive_rate,
                    Metric::FalsePositiveRate => &c.false_positive_rate,
                    _ => &c.selection_rate,
                };
                let pts: Vec<[f64; 2]> = sweep.thresholds.iter().zip(v).filter_map(|(t, y)| Some([*t, (*y)?])).collect();
                plot.line(Line::new(key.clone(), PlotPoints::from(pts)));
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
