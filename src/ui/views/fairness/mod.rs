//! The Fairness view: the open log and its mapping, progress of the analysis, then group sizes, a
//! per-group table with interval bars, a disparity summary, rates over time, champion vs challenger and
//! a threshold explorer.

mod champion;
mod groups;
mod over_time;
mod threshold;


use egui::{Color32, ComboBox, Grid, RichText, Sense, Ui, vec2};
use egui_plot::{Line, Plot, PlotPoints, VLine};

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
    // Wrapped: with a profile's log drop-down the row is wider than a 1024-pixel window.
    ui.horizontal_wrapped(|ui| {
        ui.heading("Fairness");
        ui.separator();
        let l = ui.label("Prediction log");
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut app.fairness.path_input)
                    .desired_width(360.0)
                    .hint_text("a file or s3://... URL, a profile's log, postgres://...?table= or sc://...?table="),
            )
            .labelled_by(l.id)
            .on_hover_text(
                "A file path, or an s3://, gs://, az:// or https:// URL (one object, or a prefix of several; credentials \
                 from the cloud's usual variables and files); the name of a [[profile.log]] entry of the active profile; \
                 postgres://HOST[:PORT]/DB?table=NAME (the login from PGUSER / PGPASSWORD); or sc://HOST[:PORT]?table=NAME \
                 (Spark Connect). A log in PostgreSQL or Spark is counted there: one query, the numbers here.",
            );
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Open").clicked() || enter {
            actions.push(Action::OpenLogInput(app.fairness.path_input.clone()));
        }
        let logs: Vec<String> = app.active_profile.iter().flat_map(|p| &p.logs).map(|l| l.name.clone()).collect();
        if !logs.is_empty() {
            let l = ui.label("Profile logs");
            // The open log when it is one of the entries, else an invitation.
            let open = match &app.fairness.log {
                Some(crate::sources::LogRef::Sql(s)) if logs.contains(&s.name) => s.name.clone(),
                _ => "choose".to_string(),
            };
            ComboBox::from_id_salt("fair_profile_logs")
                .selected_text(open)
                .width(80.0)
                .show_ui(ui, |ui| {
                    for name in logs {
                        if ui.selectable_label(false, &name).clicked() {
                            app.fairness.path_input = name.clone();
                            actions.push(Action::OpenLogInput(name));
                        }
                    }
                })
                .response
                .on_hover_text("The [[profile.log]] entries of the active profile: logs in SQL engines, counted there")
                .labelled_by(l.id);
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
                    ui.label("positive iff score");
                    ui.selectable_value(&mut m.strict_threshold, false, ">=")
                        .on_hover_text("as scikit-learn's roc_curve counts");
                    ui.selectable_value(&mut m.strict_threshold, true, ">")
                        .on_hover_text("strictly, as LogisticRegression.predict and Fairlearn's ThresholdOptimizer decide");
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
            ui.label("Text encoding");
            ui.horizontal(|ui| {
                use crate::fairness::Encoding;
                ui.radio_value(&mut m.encoding, Encoding::Utf8, "UTF-8");
                ui.radio_value(&mut m.encoding, Encoding::Latin1, "Latin-1")
                    .on_hover_text("ISO-8859-1, as pandas' encoding=\"latin-1\"");
            });
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
    let stale = done.stale(&app.fairness.mapping, app.fairness.log.as_ref());
    let aliases = state::aliases_for(&app.fairness, &app.models);
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
    if let Some(q) = &report.query {
        let mut copied = false;
        egui::CollapsingHeader::new("SQL run by the engine").id_salt("fair_sql").show(ui, |ui| {
            let params: Vec<String> = q.params.iter().map(|p| p.to_string()).collect();
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("{:?}; parameters [{}]", q.dialect, params.join(", "))).weak());
                if ui.button("Copy SQL").clicked() {
                    ui.ctx().copy_text(q.sql.clone());
                    copied = true;
                }
            });
            ui.add(egui::Label::new(RichText::new(&q.sql).monospace()).wrap());
        });
        if copied {
            app.notify("The query is on the clipboard (its parameters are listed above it).".into(), false);
        }
    }
    if let Some(why) = stale {
        let mut again = false;
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(AMBER, format!("Stale: these results no longer match the mapping ({why})."));
            again = ui.button("Analyze again").clicked();
        });
        if again {
            state::analyze(app);
            return;
        }
    }
    let st = &mut app.fairness;
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
        Tab::Groups => groups::groups_tab(&app.fairness, &aliases, ui),
        Tab::OverTime => over_time::over_time_tab(&app.fairness, &report, ui),
        Tab::Compare => champion::compare_tab(&mut app.fairness, &report, &aliases, ui),
        Tab::Threshold => {
            state::ensure_sweep(app);
            threshold::threshold_tab(&mut app.fairness, ui);
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
