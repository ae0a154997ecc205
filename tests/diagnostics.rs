//! Steward's own diagnostics (issue 16): the log file (JSON Lines in the home's state folder, every
//! command's start and outcome and every HTTP call with its URL, status or error and duration; named by
//! `steward paths`), a forced panic (`--panic-for-test`, hidden) writing a crash report with no
//! credential in it, and the next window start offering that report (kittest): Show report, Dismiss.

mod common;

use common::ui::*;
use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use steward::config::RegistrySpec;
use steward::ui::{Persisted, StewardApp};

const TOKEN: &str = "tok-diag-9f8e7d6c5b4a";

fn log_events(home: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(home.join("state/steward.log")).expect("the log file is written");
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect()
}

#[test]
fn commands_and_outside_calls_are_logged_as_json_lines_without_credentials() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let paths = stdout(&steward(h, &["paths"]));
    assert!(paths.contains(&format!("log       {}", h.join("state/steward.log").display())), "{paths}");
    assert!(steward(h, &["models"]).status.success());
    // A registry that refuses the connection: the failed call is logged with its URL and cause.
    let o = steward_env(h, &["--registry", "http://127.0.0.1:9", "--timeout", "2", "models"], &[("MLFLOW_TRACKING_TOKEN", TOKEN)]);
    assert!(!o.status.success());
    let events = log_events(h);
    let starts: Vec<_> = events.iter().filter(|e| e["target"] == "steward::cli" && e["fields"]["message"] == "start").collect();
    assert!(starts.len() >= 3 && starts.iter().any(|e| e["fields"]["command"] == "models"), "{events:?}");
    assert!(events.iter().any(|e| e["target"] == "steward::cli" && e["fields"]["message"] == "done" && e["fields"]["ms"].is_u64()));
    let http: Vec<_> = events.iter().filter(|e| e["target"] == "steward::http").collect();
    assert!(
        http.iter().any(|e| e["level"] == "WARN" && e["fields"]["url"].as_str().is_some_and(|u| u.starts_with("http://127.0.0.1:9/")) && e["fields"]["error"].as_str().is_some_and(|m| m.contains("127.0.0.1:9"))),
        "the refused call: {http:?}"
    );
    assert!(events.iter().any(|e| e["target"] == "steward::cli" && e["fields"]["message"] == "failed" && e["fields"]["code"].as_u64().is_some_and(|c| c != 0)));
    let raw = std::fs::read_to_string(h.join("state/steward.log")).unwrap();
    assert!(!raw.contains(TOKEN), "no credential in the log");
    // --verbose prints the events on stderr too.
    let v = steward(h, &["--verbose", "models"]);
    assert!(stderr(&v).contains("steward::cli") && stderr(&v).contains("start"), "{}", stderr(&v));
}

#[test]
fn a_panic_writes_a_crash_report_that_the_next_window_offers() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    assert!(steward(h, &["models"]).status.success());
    let o = steward_env(h, &["--panic-for-test", "models"], &[("MLFLOW_TRACKING_TOKEN", TOKEN)]);
    assert_eq!(o.status.code(), Some(101), "a panic's exit code");
    assert!(stderr(&o).contains("forced panic for testing"), "the default hook still prints: {}", stderr(&o));
    let reports: Vec<_> = std::fs::read_dir(h.join("state")).unwrap().flatten().map(|e| e.path()).filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("crash-")).collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = std::fs::read_to_string(&reports[0]).unwrap();
    for want in [&format!("Steward {} crashed at", env!("CARGO_PKG_VERSION")), "Panic: forced panic for testing", "At: src/cli/mod.rs:", "Backtrace:", "OS: ", "Last log lines", "\"command\":\"models\""] {
        assert!(report.contains(want), "{want} missing from the report:\n{report}");
    }
    assert!(!report.contains(TOKEN));

    // The next start offers it.
    let app = StewardApp::new(context(h, RegistrySpec::HomeLocal), Persisted::default());
    let harness = Harness::builder().with_size(egui::vec2(1024.0, 700.0)).build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    let mut ui = Ui { harness, _home: tempfile::tempdir().unwrap() };
    ui.wait_for("Steward closed unexpectedly last time.");
    ui.click("Show report");
    assert!(ui.has("Crash report") && ui.has("Panic: forced panic for testing"), "{:?}", ui.labels());
    ui.click("Close");
    assert!(!ui.has("Crash report") && ui.has("Steward closed unexpectedly last time."), "Close keeps the offer");
    ui.click("Dismiss");
    assert!(!ui.has("Steward closed unexpectedly last time."));
    assert!(!reports[0].exists() && reports[0].with_extension("seen.txt").exists(), "dismissed: kept, marked seen");
    // A new window does not offer it again; the log viewer shows the log.
    let app = StewardApp::new(context(h, RegistrySpec::HomeLocal), Persisted::default());
    let harness = Harness::builder().with_size(egui::vec2(1024.0, 700.0)).build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    let mut ui = Ui { harness, _home: tempfile::tempdir().unwrap() };
    ui.wait_for("income-classifier");
    assert!(!ui.has("Steward closed unexpectedly"));
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    ui.settle();
    ui.harness.get_by_label("Command palette").type_text("show logs");
    ui.settle();
    ui.harness.key_press(egui::Key::Enter);
    ui.settle();
    assert!(ui.has("Steward's log") && ui.has("\"command\":\"models\""), "{:?}", ui.labels());
}
