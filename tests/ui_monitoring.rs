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
    let mut ui = sample();
    ui.click("Monitoring");
    ui.wait_for("Quality columns");
    // The sample's log is offered with its first 7 days as the reference; it analyses without error.
    ui.click("Analyse");
    ui.wait_for("Rule: drifted = effect");
    assert!(ui.has("window 2026-W"), "weekly windows of the sample: {:?}", ui.labels());
    // Quality per version: the newest week of each version, as `steward quality` computes it, with the
    // registry's aliases on the versions (the champion first).
    let dir = tempfile::tempdir().unwrap();
    let log = steward::config::Home::resolve(Some(ui._home.path())).unwrap().sample_log();
    let o = steward(
        dir.path(),
        &["quality", log.to_str().unwrap(), "--label", "label", "--prediction", "prediction", "--score", "score", "--time", "timestamp", "--window", "1w", "--version", "model_version", "--format", "json"],
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
    ui.harness.get_by_role_and_label(Role::Button, "sex").click();
    ui.settle();
    ui.wait_for("sex in window");
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
