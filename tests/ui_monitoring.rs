//! The Monitoring view: drift of a log against its first days, per day, with the same numbers as
//! `steward drift` (the CLI twin) on the same files; and on the sample workspace by default.

mod common;

use common::ui::*;
use common::*;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

fn set(ui: &mut Ui, label: &str, text: &str) {
    ui.harness.get_by_role_and_label(Role::TextInput, label).click();
    ui.settle();
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    ui.harness.get_by_role_and_label(Role::TextInput, label).type_text(text);
    ui.settle();
}

#[test]
fn the_monitoring_view_shows_the_drift_the_cli_computes() {
    // Tall enough that the column overview is on screen without scrolling (clicks need it visible).
    let mut ui = sample_at(1920.0, 1600.0);
    ui.click("Monitoring");
    ui.wait_for("Quality columns");
    // The sample's log is offered with its first 7 days as the reference; it analyses without error.
    ui.click("Analyse");
    ui.wait_for("Rule: drifted = effect");
    assert!(ui.has("window 2026-W"), "weekly windows of the sample: {:?}", ui.labels());
    // Quality per version: the newest week of each version, as `steward quality` computes it, with the
    // registry's aliases on the versions (the champion first).
    let dir = tempfile::tempdir().unwrap();
    let home = steward::config::Home::resolve(Some(ui._home.path())).unwrap();
    let (log, labels) = (home.sample_log(), home.sample_labels());
    let o = steward(
        dir.path(),
        &[
            "quality", log.to_str().unwrap(), "--labels", labels.to_str().unwrap(), "--id", "request_id", "--labelled-at", "labelled_at", "--label", "label",
            "--prediction", "prediction", "--score", "score", "--time", "timestamp", "--window", "1w", "--version", "model_version", "--format", "json",
        ],
    );
    let cli: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let mut shown = 0;
    for v in ["1", "2", "3"] {
        let Some(w) = cli["windows"].as_array().unwrap().iter().filter(|w| w["version"] == v && w["accuracy"].is_object()).next_back() else { continue };
        let a = &w["accuracy"];
        let text = format!("{}: {:.4} ({:.4} to {:.4})", w["window"].as_str().unwrap(), a["value"].as_f64().unwrap(), a["low"].as_f64().unwrap(), a["high"].as_f64().unwrap());
        assert!(ui.labels().iter().any(|l| l.starts_with(&format!("v{v}")) && l.ends_with(&text)), "v{v}: {text} not on screen: {:?}", ui.labels());
        shown += 1;
    }
    assert!(shown >= 2, "at least champion and challenger");
    assert!(ui.labels().iter().any(|l| l.contains("(champion)")), "aliases name the versions: {:?}", ui.labels());
    // ROC AUC from the score column, as the CLI computes it.
    ui.harness.get_by_role_and_label(Role::ComboBox, "Metric").click();
    ui.settle();
    ui.click("ROC AUC");
    let w = cli["windows"].as_array().unwrap().iter().filter(|w| w["version"] == "2" && w["roc_auc"].is_object()).next_back().unwrap();
    let a = &w["roc_auc"];
    let text = format!("{}: {:.4} ({:.4} to {:.4})", w["window"].as_str().unwrap(), a["value"].as_f64().unwrap(), a["low"].as_f64().unwrap(), a["high"].as_f64().unwrap());
    assert!(ui.labels().iter().any(|l| l.starts_with("v2") && l.ends_with(&text)), "ROC AUC {text} not on screen: {:?}", ui.labels());
    // A column's distribution: click it in the overview.
    ui.harness.get_by_role_and_label(Role::Button, "age").click();
    ui.settle();
    ui.wait_for("age in window");
    assert!(ui.has("PSI ") && ui.has("Jensen-Shannon "), "the distribution's statistics: {:?}", ui.labels());

    let current = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift/current.csv");
    set(&mut ui, "Current log", current.to_str().unwrap());
    set(&mut ui, "Or the first days", "2");
    set(&mut ui, "Time column", "time");
    set(&mut ui, "Leave out", "");
    assert!(ui.has("The form changed since this was computed"), "the old result is marked stale");
    ui.harness.get_by_role_and_label(Role::ComboBox, "Windows").click();
    ui.settle();
    ui.click("per day");
    ui.click("Analyse");
    ui.wait_for("window 2026-11-07 (600 rows): 4 of 5 columns drifted");
    assert!(!ui.has("The form changed"));
    // The CLI on the same file: the newest window's numbers are the ones on screen.
    let dir = tempfile::tempdir().unwrap();
    let o = steward(dir.path(), &["drift", current.to_str().unwrap(), "--reference-days", "2", "--time", "time", "--window", "1d", "--format", "json"]);
    assert_eq!(o.status.code(), Some(3), "drift: exit 3");
    let cli: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let newest = cli["windows"].as_array().unwrap().last().unwrap();
    assert_eq!(newest["label"], "2026-11-07");
    for c in newest["columns"].as_array().unwrap() {
        let effect = format!("{:.4}", c["effect"].as_f64().unwrap());
        assert!(ui.has_exact(&effect), "{}: effect {effect} not on screen", c["column"]);
    }
    assert!(ui.has_exact("DRIFT") && ui.has("new: Without-pay (90)"));
    // A file that does not exist: one line naming it, and the view keeps working.
    set(&mut ui, "Current log", "/nonexistent/log.csv");
    ui.click("Analyse");
    ui.wait_for("/nonexistent/log.csv: cannot open");
}

/// The sample workspace's simulated shift (the last 5 days, ISO week 2026-W44; assets/sample/PROVENANCE.md)
/// as an operator sees it: the newest window tops the drift table with the column the CLI ranks first,
/// the earlier weeks show no drift, the champion's accuracy drops with its delayed labels, and the
/// sample's rule `accuracy < 0.8 for 2d` fires as an alert: on screen, in the status bar's count and as
/// one audit record (not one per re-analysis). The CLI twin on the same files gives the same numbers.
#[test]
fn the_sample_shows_its_simulated_shift_and_fires_an_alert() {
    let mut ui = sample();
    ui.click("Monitoring");
    ui.wait_for("Quality columns");
    ui.click("Analyse");
    ui.wait_for("Rule: drifted = effect");
    let home = steward::config::Home::resolve(Some(ui._home.path())).unwrap();
    let (log, labels) = (home.sample_log(), home.sample_labels());
    let dir = tempfile::tempdir().unwrap();

    // Drift: the CLI on the same log, as the view's form has it (first 7 days, ISO weeks, label and id left out).
    let o = steward(
        dir.path(),
        &["drift", log.to_str().unwrap(), "--reference-days", "7", "--time", "timestamp", "--window", "1w", "--exclude", "label,request_id", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let cli: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let windows = cli["windows"].as_array().unwrap();
    let newest = windows.last().unwrap();
    assert_eq!(newest["label"], "2026-W44");
    for w in &windows[..windows.len() - 1] {
        assert_eq!(w["drifted_columns"], 0, "{}: no drift before the shift", w["label"]);
    }
    let drifted = newest["drifted_columns"].as_u64().unwrap();
    assert!(drifted >= 5, "the shift moves many columns: {drifted}");
    let header = format!("window 2026-W44 ({} rows): {drifted} of {} columns drifted", newest["rows"], newest["columns"].as_array().unwrap().len());
    assert!(ui.has_exact(&header), "{header} not on screen: {:?}", ui.labels());
    // The top row of the newest window is the CLI's most severe column, marked DRIFT.
    let top = &newest["columns"][0];
    assert_eq!(top["column"], "score", "the score moves most (the model sees more likely earners)");
    let effects: Vec<String> = newest["columns"].as_array().unwrap().iter().map(|c| format!("{:.4}", c["effect"].as_f64().unwrap())).collect();
    let on_screen = rects(&ui);
    let y = |text: &str| on_screen.iter().filter(|(l, _)| l == text).map(|(_, r)| r.top()).fold(f32::NAN, f32::min);
    let top_y = y(&effects[0]);
    assert!(top_y.is_finite(), "top effect {} not on screen", effects[0]);
    for e in &effects[1..] {
        assert!(!(y(e) < top_y), "{e} is drawn above the most severe column's {}", effects[0]);
    }

    // Quality: the champion (v2) drops in the shifted week, beyond its interval, as the CLI computes it
    // with the delayed labels joined by request id.
    let o = steward(
        dir.path(),
        &[
            "quality", log.to_str().unwrap(), "--labels", labels.to_str().unwrap(), "--id", "request_id", "--labelled-at", "labelled_at", "--label", "label",
            "--prediction", "prediction", "--time", "timestamp", "--window", "1w", "--version", "model_version", "--format", "json",
        ],
    );
    let q: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let v2: Vec<&serde_json::Value> = q["windows"].as_array().unwrap().iter().filter(|w| w["version"] == "2").collect();
    let (last, before) = v2.split_last().unwrap();
    assert_eq!(last["window"], "2026-W44");
    assert!(last["labelled"].as_u64() < last["rows"].as_u64(), "the newest days are partly labelled");
    for w in before {
        assert!(last["accuracy"]["high"].as_f64() < w["accuracy"]["low"].as_f64(), "v2's accuracy in W44 is below {}'s interval", w["window"]);
    }
    let a = &last["accuracy"];
    let text = format!("2026-W44: {:.4} ({:.4} to {:.4})", a["value"].as_f64().unwrap(), a["low"].as_f64().unwrap(), a["high"].as_f64().unwrap());
    assert!(ui.labels().iter().any(|l| l.starts_with("v2") && l.ends_with(&text)), "{text} not on screen: {:?}", ui.labels());

    // The alert: on screen, counted in the status bar, and recorded once in the audit log.
    let firing = format!("FIRING income-classifier v2 · predictions.csv: accuracy < 0.8 for 2d (now {:.4} in 2026-W44", a["value"].as_f64().unwrap());
    assert!(ui.has(&firing), "{firing} not on screen: {:?}", ui.labels());
    assert!(ui.has("alert(s) firing"), "the status bar counts it");
    assert!(ui.has("FIRING income-classifier · predictions.csv: psi(age) > 0.2"), "the sample's drift rule fires too: {:?}", ui.labels());
    let records = |ui: &mut Ui| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            ui.settle();
            let text = std::fs::read_to_string(home.audit_log()).unwrap_or_default();
            let n = text.lines().filter(|l| l.contains("\"alert_fired\"") && l.contains("income-classifier v2 · predictions.csv: accuracy < 0.8 for 2d")).count();
            if n > 0 || std::time::Instant::now() > deadline {
                return n;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    assert_eq!(records(&mut ui), 1);
    ui.click("Analyse");
    ui.wait_for("Rule: drifted = effect");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(records(&mut ui), 1, "a re-analysis with the alert still firing records nothing new");
    let o = steward(dir.path(), &["audit", "verify", "--log", home.audit_log().to_str().unwrap()]);
    assert!(o.status.success(), "the audit chain holds: {}", stderr(&o));

    // The CLI twin records the same alert in its own home.
    let o = steward(
        dir.path(),
        &[
            "quality", log.to_str().unwrap(), "--labels", labels.to_str().unwrap(), "--id", "request_id", "--label", "label", "--prediction", "prediction",
            "--time", "timestamp", "--window", "1w", "--version", "model_version", "--rule", "accuracy < 0.8 for 2d", "--record-alerts", "--model", "income-classifier",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let cli_home = steward::config::Home::resolve(Some(dir.path())).unwrap();
    let text = std::fs::read_to_string(cli_home.audit_log()).unwrap();
    assert!(text.contains("ALERT income-classifier v2 · predictions.csv: accuracy < 0.8 for 2d"), "{text}");
}
