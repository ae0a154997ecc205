//! The Monitoring view: quality per version over time (the twin of `steward quality`) and drift of a
//! log's columns against a reference, per window, most severe first (the twin of `steward drift`).

use egui::{Grid, RichText, Ui};

use crate::monitoring::drift::{ColumnDrift, DriftReport, format_stat};
use crate::ui::app::StewardApp;
use crate::ui::monitoring::Windows;
use crate::ui::widgets::{AMBER, GREEN, GREY, RED};

/// The view, form included, in one vertical scroll area (the results get the whole height once the
/// form is scrolled away).
pub fn show(app: &mut StewardApp, ui: &mut Ui) {
    egui::ScrollArea::vertical().id_salt("monitoring_view").auto_shrink([false, false]).show(ui, |ui| body(app, ui));
}

fn body(app: &mut StewardApp, ui: &mut Ui) {
    let log = std::path::PathBuf::from(app.monitoring.current.trim());
    let subject = crate::ui::fairness::model_for_log(&log, &app.models).map(|m| m.name.clone());
    let transitions = app.monitoring.poll(subject.as_deref());
    if !transitions.is_empty() {
        // The same notifications and audit records as the serving alerts.
        let audit = crate::ops::open_audit(&app.home, app.policy());
        let recorded = transitions.clone();
        std::thread::spawn(move || {
            let _ = crate::ops::monitoring_alerts::record(&audit, &recorded);
        });
        for t in transitions {
            crate::ui::endpoints::note_alert(&mut app.endpoints, t);
        }
    }
    // The sample's logs are the default once they exist (the sample workspace may be made after start),
    // offered once: a field the operator empties stays empty.
    if !app.monitoring.sample_offered && app.monitoring.current.is_empty() && app.monitoring.result.is_none() && app.home.sample_log().exists() {
        app.monitoring.sample_offered = true;
        app.monitoring.current = app.home.sample_log().display().to_string();
        if app.monitoring.labels.is_empty() && app.home.sample_labels().exists() {
            app.monitoring.labels = app.home.sample_labels().display().to_string();
        }
        if app.active_profile.as_ref().is_none_or(|p| p.monitoring_alerts.is_empty()) {
            app.monitoring.rules = crate::config::sample::MONITORING_RULES.join("; ");
        }
    }
    let ctx = ui.ctx().clone();
    let aliases = crate::ui::fairness::aliases_for_log(&log, &app.models);
    let st = &mut app.monitoring;
    ui.heading("Monitoring");
    ui.label(RichText::new("Quality per version as labels arrive, and each column's drift against a reference (a file, or the log's first days). Same engines and numbers as `steward quality` and `steward drift`.").weak());
    let mut go = false;
    Grid::new("drift_form").num_columns(2).spacing([10.0, 6.0]).show(ui, |ui| {
        let field = |ui: &mut Ui, label: &str, value: &mut String, hint: &str, width: f32| {
            let l = ui.label(label);
            let r = ui.add(egui::TextEdit::singleline(value).hint_text(hint).desired_width(width)).labelled_by(l.id);
            ui.end_row();
            r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
        };
        go |= field(ui, "Current log", &mut st.current, "predictions.csv, s3://..., postgres://...?table=, sc://...?table=", 520.0);
        go |= field(ui, "Reference log", &mut st.reference, "optional: training or evaluation data (a file or a table)", 520.0);
        go |= field(ui, "Or the first days", &mut st.reference_days, "7", 60.0);
        go |= field(ui, "Time column", &mut st.time, "timestamp", 160.0);
        go |= field(ui, "Leave out", &mut st.exclude, "label, request_id", 260.0);
        ui.label("Quality columns");
        ui.horizontal(|ui| {
            let fields = [
                ("label", &mut st.label, "label"),
                ("decision", &mut st.prediction, "prediction"),
                ("score", &mut st.score, "score (ROC AUC)"),
                ("version", &mut st.version, "model_version"),
            ];
            for (label, value, hint) in fields {
                let l = ui.label(RichText::new(label).weak());
                let r = ui.add(egui::TextEdit::singleline(value).hint_text(hint).desired_width(100.0)).labelled_by(l.id);
                go |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            }
        });
        ui.end_row();
        ui.label("Label log");
        ui.horizontal(|ui| {
            let fields = [
                (None, &mut st.labels, "optional: labels arriving later (CSV or JSON Lines)", 300.0),
                (Some("id"), &mut st.id, "request_id", 100.0),
                (Some("labelled at"), &mut st.labelled_at, "labelled_at", 100.0),
            ];
            for (caption, value, hint, width) in fields {
                let edit = egui::TextEdit::singleline(value).hint_text(hint).desired_width(width);
                let r = match caption {
                    Some(c) => {
                        let l = ui.label(RichText::new(c).weak());
                        ui.add(edit).labelled_by(l.id)
                    }
                    None => ui.add(edit).on_hover_text("Joined to the log by the id column; rows without a label are counted, not guessed"),
                };
                go |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            }
        });
        ui.end_row();
        go |= field(ui, "Alert rules", &mut st.rules, "accuracy < 0.8 for 2d; psi(age) > 0.2", 520.0);
        let l = ui.label("Windows");
        egui::ComboBox::from_id_salt("drift_windows")
            .selected_text(st.windows.title())
            .show_ui(ui, |ui| {
                for w in Windows::ALL {
                    ui.selectable_value(&mut st.windows, w, w.title());
                }
            })
            .response
            .labelled_by(l.id);
        ui.end_row();
    });
    ui.horizontal(|ui| {
        let running = st.running.is_some();
        if ui.add_enabled(!running, egui::Button::new("Analyse")).clicked() {
            go = true;
        }
        if running {
            ui.spinner();
            ui.label("Reading the logs...");
            if ui.button("Cancel").clicked()
                && let Some((_, p)) = &st.running
            {
                p.cancel();
            }
        }
    });
    if go && st.running.is_none() {
        st.start(move || ctx.request_repaint());
    }
    ui.separator();
    let stale = st.computed_from.as_deref().is_some_and(|f| f != st.fingerprint());
    if stale && st.result.is_some() {
        ui.colored_label(AMBER, "The form changed since this was computed: Analyse again to update.");
    }
    alerts(ui, st);
    let (result, quality) = (st.result.take(), st.quality.take());
    {
        match &quality {
            Some(Ok(q)) => super::monitoring_charts::quality(ui, st, q, &aliases),
            Some(Err(e)) => {
                ui.colored_label(RED, format!("Quality: {e}"));
            }
            None => {}
        }
        ui.add_space(6.0);
        match &result {
            None => {
                ui.label(RichText::new("Nothing analysed yet.").color(GREY));
            }
            Some(Err(e)) => {
                ui.colored_label(RED, e.as_str());
            }
            Some(Ok(r)) => {
                super::monitoring_charts::drift_overview(ui, st, r);
                super::monitoring_charts::distribution(ui, st, r);
                ui.add_space(6.0);
                report(ui, r);
            }
        }
    }
    (st.result, st.quality) = (result, quality);
}

/// The alert rules' state at the newest window: firing ones in red, then the others, then rules that
/// could not be checked.
fn alerts(ui: &mut Ui, st: &crate::ui::monitoring::MonitoringState) {
    if st.statuses.is_empty() && st.rule_notes.is_empty() {
        return;
    }
    let firing = st.statuses.iter().filter(|s| s.current.firing).count();
    let title = format!("Alerts: {firing} firing of {} rule checks", st.statuses.len());
    ui.label(if firing > 0 { RichText::new(title).strong().color(RED) } else { RichText::new(title).strong() });
    for s in st.statuses.iter().filter(|s| s.current.firing).chain(st.statuses.iter().filter(|s| !s.current.firing)) {
        let c = &s.current;
        let value = c.value.map(|v| format!("{v:.4}")).unwrap_or_else(|| "undefined".into());
        if c.firing {
            let since = c.since.as_deref().unwrap_or(&c.window);
            ui.colored_label(RED, format!("FIRING {}: {} (now {value} in {}, holding since {since})", s.series, c.rule, c.window));
        } else {
            ui.label(RichText::new(format!("ok {}: {} (now {value} in {})", s.series, c.rule, c.window)).color(GREY));
        }
    }
    for n in &st.rule_notes {
        ui.colored_label(AMBER, n);
    }
    ui.add_space(4.0);
}

fn report(ui: &mut Ui, r: &DriftReport) {
    ui.label(format!("Reference: {}, {} rows. Current: {}.", r.reference, r.reference_rows, r.current));
    ui.label(RichText::new(format!("Rule: {}", r.rule)).weak());
    if r.rows_without_time > 0 {
        ui.label(RichText::new(format!("{} rows without a time are in no window.", r.rows_without_time)).color(AMBER));
    }
    ui.label(RichText::new("Per window").strong());
    {
        let n = r.windows.len();
        // The newest window first, open.
        for (i, w) in r.windows.iter().enumerate().rev() {
            let title = format!("window {} ({} rows): {} of {} columns drifted", w.label, w.rows, w.drifted_columns, w.columns.len());
            let text = if w.drifted_columns > 0 { RichText::new(title).color(RED) } else { RichText::new(title) };
            egui::CollapsingHeader::new(text).id_salt(("drift_window", &w.label)).default_open(i + 1 == n).show(ui, |ui| {
                Grid::new(("drift_grid", &w.label)).num_columns(8).striped(true).spacing([14.0, 4.0]).show(ui, |ui| {
                    for h in ["Column", "Kind", "Verdict", "Effect", "p-value", "PSI", "Missing (ref/cur)", "Notes"] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for c in &w.columns {
                        row(ui, c);
                    }
                });
            });
        }
    }
}

fn row(ui: &mut Ui, c: &ColumnDrift) {
    ui.label(&c.column);
    ui.label(c.kind);
    let colour = match c.verdict_word() {
        "DRIFT" => RED,
        "ok" => GREEN,
        _ => GREY,
    };
    ui.colored_label(colour, c.verdict_word());
    let measure = if c.effect_measure == "jensen_shannon" { "Jensen-Shannon" } else { "normed Wasserstein" };
    ui.label(format_stat(c.effect)).on_hover_text(measure);
    ui.label(format_stat(c.p_value)).on_hover_text(if c.kind == "numerical" { "Kolmogorov-Smirnov" } else { "chi-square" });
    ui.label(format_stat(c.psi));
    ui.label(format!("{}/{}", c.reference_missing, c.current_missing));
    let notes = c.notes().join("; ");
    ui.add(egui::Label::new(&notes).truncate()).on_hover_text(&notes);
    ui.end_row();
}
