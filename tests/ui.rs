//! The real window, driven headless with egui_kittest: find widgets by their accessible labels, click,
//! type, and check what the operator would see. The backend runs for real against a temporary home.

use std::time::{Duration, Instant};

mod common;

use common::ui::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use steward::config::{DEFAULT_TIMEOUT, Home, RegistrySpec};
use steward::domain::thousands;
use steward::ui::{Persisted, StewardApp, View};

fn sample_ui() -> Ui {
    sample()
}

#[test]
fn the_models_view_shows_the_sample_workspace() {
    let ui = sample_ui();
    for v in ["v1", "v2", "v3"] {
        assert!(ui.has(v), "{v} missing");
    }
    // Aliases are chips in the table and in the model header.
    assert!(ui.has_exact("champion"));
    assert!(ui.has_exact("challenger"));
    assert!(ui.has("champion: v2"));
    assert!(ui.has("challenger: v3"));
    // Metric columns come from each version's evaluation.
    for m in ["accuracy", "precision", "recall", "roc_auc"] {
        assert!(ui.has_exact(m), "{m} column missing");
    }
    assert!(ui.has("Registry: connected (1 model)"));
    assert!(ui.has("Endpoints: none configured"));
}

#[test]
fn clicking_a_version_shows_its_params_metrics_and_tags() {
    let mut ui = sample_ui();
    assert!(!ui.has("income-classifier v3"));
    ui.click("v3");
    ui.wait_for("income-classifier v3");
    assert!(ui.has_exact("Params"));
    assert!(ui.has_exact("features_include_sensitive"));
    assert!(ui.has("HistGradientBoosting"), "v3's algorithm param should be shown");
    // Clicking the same row again closes the detail.
    ui.click("v3");
    assert!(!ui.has("income-classifier v3"));
}

#[test]
fn the_navigation_switches_views_by_click_and_by_shortcut() {
    let mut ui = sample_ui();
    ui.click("Endpoints");
    ui.wait_for("REPLAY"); // nothing configured: the sample log is played back, and says so
    ui.click("Fairness");
    ui.wait_for("Group sizes"); // the sample's prediction log opens by itself
    ui.click("Audit");
    assert!(ui.has("Verify audit log"));
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num1);
    ui.settle();
    assert_eq!(ui.harness.state().persisted.view, View::Models);
    assert!(ui.has("Versions (3)"));
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num2);
    ui.settle();
    assert_eq!(ui.harness.state().persisted.view, View::Endpoints);
}

#[test]
fn the_command_palette_filters_and_runs_actions() {
    let mut ui = sample_ui();
    assert!(!ui.has("Command palette"));
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    ui.settle();
    assert!(ui.has("Command palette"));
    assert!(ui.has("Go to Fairness") && ui.has("Add MLflow registry...") && ui.has("Open model: income-classifier"));

    ui.harness.get_by_label("Command palette").type_text("zzzz");
    ui.settle();
    assert!(ui.has("No command matches"));
    for _ in 0..4 {
        ui.harness.key_press(egui::Key::Backspace);
    }
    ui.harness.get_by_label("Command palette").type_text("fair");
    ui.settle();
    assert!(ui.has("Go to Fairness") && !ui.has("Go to Models"));
    ui.harness.key_press(egui::Key::Enter);
    ui.settle();
    assert!(!ui.has("Command palette"), "the palette closes after running an action");
    assert_eq!(ui.harness.state().persisted.view, View::Fairness);

    // Clicking an entry runs it too; Escape closes without running anything.
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    ui.settle();
    ui.click("Go to Audit");
    assert_eq!(ui.harness.state().persisted.view, View::Audit);
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    ui.settle();
    ui.harness.key_press(egui::Key::Escape);
    ui.settle();
    assert!(!ui.has("Command palette"));
    assert_eq!(ui.harness.state().persisted.view, View::Audit);
}

#[test]
fn the_theme_toggles_between_dark_and_light() {
    let mut ui = sample_ui();
    assert!((ui.harness.ctx.theme() == egui::Theme::Dark));
    ui.click("Light theme");
    assert!(!(ui.harness.ctx.theme() == egui::Theme::Dark));
    assert!(ui.has("Dark theme"));
    ui.click("Dark theme");
    assert!((ui.harness.ctx.theme() == egui::Theme::Dark));
}

#[test]
fn the_remembered_view_and_filter_are_restored() {
    let persisted = Persisted { view: View::Audit, model_filter: "nomatch".into(), ..Default::default() };
    let mut ui = open(None, persisted);
    ui.settle();
    assert!(ui.has("Verify audit log"));
    ui.click("Models");
    ui.wait_for("No model matches the filter");
}

#[test]
fn an_unreachable_registry_shows_what_to_do_and_the_dialog_adds_a_profile() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let mut ui = open(Some(RegistrySpec::mlflow(url.clone())), Persisted::default());
    ui.wait_for("No registry connected");
    assert!(ui.has("Connection refused") || ui.has("refused"), "the cause is shown");
    assert!(ui.has("Registry: unreachable"));
    assert!(ui.has_exact("Open sample workspace"));

    ui.click("Add MLflow registry...");
    assert!(ui.has("Add MLflow registry"));
    ui.harness.get_by_label("Profile name").focus();
    ui.harness.get_by_label("Profile name").type_text("staging");
    ui.harness.get_by_label("Tracking URL").focus();
    ui.harness.get_by_label("Tracking URL").type_text("https://bob:hunter2@mlflow.example.com");
    ui.settle();
    ui.click("Add and connect");
    assert!(ui.has("never store secrets"), "a URL with credentials is refused in the dialog");

    // Fix the URL: the profile is written to the home, with no secret, and becomes active.
    let edit = ui.harness.get_by_label("Tracking URL");
    edit.focus();
    for _ in 0..60 {
        ui.harness.key_press(egui::Key::Backspace);
    }
    ui.harness.get_by_label("Tracking URL").type_text(&url);
    ui.settle();
    ui.click("Add and connect");
    let profiles = ui._home.path().join("config/profiles.toml");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !profiles.exists() {
        ui.harness.step();
        assert!(Instant::now() < deadline, "profile not written");
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&profiles).unwrap();
    assert!(text.contains("name = \"staging\"") && text.contains(&url) && !text.contains("hunter2"), "{text}");
    assert!(text.contains("active = \"staging\""), "{text}");
}

#[test]
fn open_sample_workspace_from_an_empty_registry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.sqlite");
    let mut ui = open(Some(RegistrySpec::Local(path)), Persisted::default());
    ui.wait_for("No models");
    ui.click("Open sample workspace");
    ui.wait_for("Versions (3)");
    assert!(ui.has("Sample workspace created"));
}

#[test]
fn promote_dialog_on_the_local_registry_moves_an_alias_and_the_audit_view_shows_it() {
    let mut ui = sample_ui();
    ui.click("v1");
    ui.wait_for("income-classifier v1");
    ui.click("Promote...");
    ui.wait_for("champion: v2 -> v1");
    // Promote to a new, unprotected alias instead.
    let alias = ui.harness.get_by_label("Alias");
    alias.focus();
    for _ in 0..10 {
        ui.harness.key_press(egui::Key::Backspace);
    }
    ui.harness.get_by_label("Alias").type_text("canary");
    ui.harness.key_press(egui::Key::Tab);
    ui.wait_for("canary: (unset) -> v1");
    assert!(!ui.has("is protected"), "canary is not protected");
    ui.harness.get_by_label("Reason (required, recorded in the audit log)").focus();
    ui.harness.get_by_label("Reason (required, recorded in the audit log)").type_text("shadow traffic");
    ui.settle();
    ui.click("Promote");
    ui.wait_for("Done: income-classifier@canary now points to v1");
    ui.click("Close");
    ui.wait_for("canary: v1");
    ui.click("Audit");
    ui.wait_for("shadow traffic");
    ui.click("Verify audit log");
    ui.wait_for("OK: ");
}

#[test]
fn read_only_mode_hides_promote_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context(dir.path(), RegistrySpec::HomeLocal);
    ctx.policy.read_only = true;
    let app = StewardApp::new(ctx, Persisted::default());
    let harness = Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    let mut ui = Ui { harness, _home: dir };
    ui.wait_for("Versions (3)");
    ui.click("v2");
    ui.wait_for("income-classifier v2");
    assert!(!ui.has("Promote...") && !ui.has("Roll back"), "mutations are hidden in read-only mode");
    assert!(ui.has("Read-only"));
    // The palette offers no mutation either.
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    ui.settle();
    assert!(!ui.has("Promote income-classifier"));
}

#[test]
fn switching_to_a_read_only_profile_in_the_window_puts_its_rules_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context(dir.path(), RegistrySpec::HomeLocal);
    ctx.profiles.profiles.push(steward::config::Profile { name: "audit-only".into(), read_only: true, ..Default::default() });
    let app = StewardApp::new(ctx, Persisted::default());
    let harness = Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    let mut ui = Ui { harness, _home: dir };
    ui.wait_for("Versions (3)");
    ui.click("v2");
    ui.wait_for("income-classifier v2");
    assert!(ui.has("Promote..."), "writable before the switch");
    ui.harness.state_mut().apply(steward::ui::Action::UseProfile("audit-only".into()));
    ui.wait_for("Read-only");
    ui.wait_for("Profile 'audit-only' saved");
    assert!(ui.harness.state().policy().read_only, "the backend's rules follow the profile");
    assert!(!ui.has("Promote...") && !ui.has("Roll back"));
    // Even an action sent directly is refused.
    ui.harness.state_mut().apply(steward::ui::Action::Promote { model: "income-classifier".into(), version: 1 });
    ui.settle();
    assert!(ui.harness.state().move_dialog.is_none());
    assert!(ui.has("read-only mode"));
    // Back to the home registry without a profile: writable again (no --read-only was given).
    ui.harness.state_mut().apply(steward::ui::Action::UseHomeRegistry);
    ui.settle();
    assert!(!ui.harness.state().policy().read_only);
}

#[test]
fn an_interrupted_operation_is_shown_on_start_and_its_resolution_recorded() {
    use steward::audit::{Actor, AuditLog, Entry, Phase};
    use steward::connect::Registry;
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    let reg = RegistrySpec::HomeLocal.open(&home, DEFAULT_TIMEOUT).unwrap();
    // A promote that died after its intent: champion was never moved.
    let audit = AuditLog::new(home.audit_log());
    let intent = audit
        .append(Entry {
            phase: Phase::Intent,
            op: None,
            actor: Actor::new("carol", None),
            action: "promote".into(),
            registry: reg.describe(),
            model: "income-classifier".into(),
            alias: "champion".into(),
            from: Some(2),
            to: Some(3),
            reason: "crashed mid-way".into(),
            outcome: None,
            error: None,
            endpoint: None,
            gates: None,
            segment: None,
        })
        .unwrap();
    let app = StewardApp::new(context(dir.path(), RegistrySpec::HomeLocal), Persisted::default());
    let harness = Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    let mut ui = Ui { harness, _home: dir };
    ui.wait_for("An operation was interrupted");
    assert!(ui.has("did not happen: income-classifier@champion is still v2"), "the registry's actual state is shown");
    ui.click(&format!("Record resolution of record {}", intent.seq));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        ui.harness.step();
        let records = audit.read_all().unwrap();
        if let Some(r) = records.iter().find(|r| r.entry.phase == Phase::Resolution) {
            assert_eq!(r.entry.op, Some(intent.seq));
            assert_eq!(r.entry.outcome, Some(steward::audit::Outcome::Failed));
            break;
        }
        assert!(Instant::now() < deadline, "no resolution recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!ui.has("An operation was interrupted"));
    assert!(steward::audit::verify(audit.path()).is_ok());
}

#[test]
fn a_move_made_outside_steward_is_noticed_on_refresh() {
    let mut ui = sample_ui();
    ui.wait_for("champion: v2");
    // The window records the aliases it first sees (v2) when it reads the model's alias history; wait for
    // that record before moving, or (on a slow machine) the window would first see v1 and no move at all.
    ui.click("Audit");
    ui.wait_for(" events");
    ui.click("Models");
    ui.wait_for("champion: v2");
    // Another tool moves champion behind the window's back.
    let path = ui._home.path().join("data/registry.sqlite");
    let (other, _) = steward::connect::local::LocalRegistry::open(&path).unwrap();
    other.set_alias_blocking("income-classifier", "champion", 1).unwrap();
    ui.harness.key_press(egui::Key::F5);
    ui.wait_for("income-classifier@champion moved outside Steward: v2 -> v1");
    ui.wait_for("champion: v1");
    ui.click("Audit");
    ui.wait_for("observed");
}

#[test]
fn the_audit_view_shows_who_and_where_and_filters_by_actor_alias_and_period() {
    let mut ui = sample_ui();
    ui.wait_for("champion: v2");
    ui.click("Audit");
    ui.wait_for("Alias history of income-classifier");
    ui.wait_for("events");
    let total = ui.labels().into_iter().find(|l| l.ends_with(" events")).unwrap();
    let n: usize = total.split_whitespace().next().unwrap().parse().unwrap();
    assert!(n >= 2, "{total}");
    // The sample's aliases were first seen by this machine's user: "unknown (outside Steward)", with who
    // noticed them (user@host) on hover; an actor nobody has filters everything out.
    ui.type_into("Actor:", "nobody-at-all");
    ui.wait_for(&format!("0 of {n} events shown"));
    ui.click("Clear filters");
    ui.wait_for(&total);
    ui.type_into("Alias:", "challenger");
    let shown = ui.labels().into_iter().find(|l| l.ends_with("events shown")).unwrap();
    let k: usize = shown.split_whitespace().next().unwrap().parse().unwrap();
    assert!(k >= 1 && k < n, "{shown}");
    ui.click("Clear filters");
    ui.type_into("From:", "2000-01-01");
    ui.type_into("To:", "2000-01-02");
    ui.wait_for(&format!("0 of {n} events shown"));
    ui.click("Clear filters");
    ui.type_into("From:", "not a date");
    ui.wait_for("since 'not a date': expected YYYY-MM-DD or an RFC 3339 time (UTC)");
}

/// The sample's numbers as the engine computes them (the engine itself is checked against Fairlearn in
/// tests/fairness_adult.rs); the view must show these, for the chosen version's rows.
fn sample_report(home: &std::path::Path) -> steward::fairness::Report {
    let log = home.join("data/sample/predictions.csv");
    let mut spec = steward::fairness::Spec::new(&["sex"], "label", steward::fairness::Spec::prediction("prediction"));
    spec.version = Some("model_version".into());
    spec.time = Some("timestamp".into());
    steward::fairness::analyze(&log, &spec, &steward::fairness::Progress::new()).unwrap()
}

fn fairness_ui() -> Ui {
    let mut ui = sample_ui();
    ui.click("Fairness");
    ui.wait_for("Group sizes");
    ui
}

#[test]
fn the_fairness_view_opens_the_sample_log_on_the_champion_and_shows_its_groups() {
    let mut ui = fairness_ui();
    let report = sample_report(ui._home.path());
    let v2 = &report.versions.iter().find(|v| v.version == "2").unwrap().section;
    // The champion's rows are shown first, named by the registry's alias.
    assert!(ui.has_exact("Group sizes: rows of v2 (champion)"));
    for g in &v2.groups {
        assert!(ui.has(&format!("{} (", thousands(g.count))), "size of {} missing", g.key);
        assert!(ui.has_exact(&format!("{:.3}", g.selection_rate.unwrap())), "selection rate of {} missing", g.key);
    }
    assert!(ui.has_exact("Male (reference)"));
    // Demographic parity difference: the gap the sample's provenance records for v2 (0.1780, computed
    // with scikit-learn when the sample was made).
    assert!(ui.has_exact("0.178"));
    assert_eq!(format!("{:.3}", v2.disparities.demographic_parity_difference.unwrap()), "0.178");
    // Women's selection rate is under 0.8 of men's: the four-fifths rule fails, and says for whom.
    assert!(ui.has_exact("FAIL"));
    assert!(ui.has("selection rate outside the bounds for Female"));
    // Another metric, other rows.
    ui.harness.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Rows").click();
    ui.settle();
    ui.click("All versions");
    ui.wait_for("Group sizes: rows of All versions");
    let all = &report.main;
    assert!(ui.has(&format!("{} (", thousands(all.groups[0].count))));
}

#[test]
fn champion_and_challenger_side_by_side_with_their_accuracy() {
    let mut ui = fairness_ui();
    ui.click("Champion vs challenger");
    ui.wait_for("v3 (challenger)");
    // Overall accuracy as scikit-learn measured it when the sample was made (assets/sample/versions.json).
    let versions: serde_json::Value = serde_json::from_str(steward::config::sample::VERSIONS_JSON).unwrap();
    for v in versions["versions"].as_array().unwrap().iter().filter(|v| v["version"] != 1) {
        let acc = v["metrics"]["accuracy"].as_f64().unwrap();
        assert!(ui.has_exact(&format!("{acc:.3}")), "accuracy {acc:.3} of v{} missing", v["version"]);
    }
    let report = sample_report(ui._home.path());
    let dp = |v: &str| report.versions.iter().find(|s| s.version == v).unwrap().section.disparities.demographic_parity_difference.unwrap();
    assert!(ui.has_exact(&format!("{:+.3}", dp("3") - dp("2"))));
    // The four-fifths verdict of each version and group is its own word (coloured by itself: FAIL red,
    // pass green), as many of each as the engine flagged.
    let section = |v: &str| &report.versions.iter().find(|s| s.version == v).unwrap().section;
    let (mut fails, mut passes) = (0, 0);
    for v in ["2", "3"] {
        for g in &section(v).groups {
            if section(v).reference.flagged.contains(&g.key) { fails += 1 } else { passes += 1 }
        }
    }
    assert!(fails > 0, "the sample's v2 fails the rule for Female");
    assert_eq!(ui.harness.query_all_by_label("FAIL").count(), fails);
    assert_eq!(ui.harness.query_all_by_label("pass").count(), passes);
}

#[test]
fn the_threshold_explorer_and_the_charts_over_time() {
    let mut ui = fairness_ui();
    ui.click("Threshold explorer");
    ui.wait_for("At threshold 0.50");
    assert!(ui.has("rows of v2"));
    assert!(ui.has_exact("Selection ratio to reference"));
    // The sweep at 0.50 for v2's rows: computed independently here from the raw log.
    let log = std::fs::read_to_string(ui._home.path().join("data/sample/predictions.csv")).unwrap();
    let (mut sel, mut n) = (0u64, 0u64);
    for line in log.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[1] == "2" && f[2] == "Female" {
            n += 1;
            if f[6].parse::<f64>().unwrap() >= 0.5 {
                sel += 1;
            }
        }
    }
    assert!(ui.has_exact(&format!("{:.1}%", 100.0 * sel as f64 / n as f64)));
    // The legend is a row above the 220 px plot (so its bottom is >= 220 px above the table under the
    // plot), not drawn over the curves inside it.
    ui.settle();
    let all = rects(&ui);
    let top = |label: &str| all.iter().filter(|(l, _)| l == label).map(|(_, r)| *r).min_by(|a, b| a.min.y.total_cmp(&b.min.y));
    let table = top("At threshold 0.50").expect("table title");
    for g in ["Female", "Male"] {
        let legend = top(g).unwrap_or_else(|| panic!("no legend entry {g}"));
        assert!(legend.max.y + 218.0 <= table.min.y, "legend entry {g} at {legend:?} is inside the plot above {table:?}");
    }
    ui.click("Over time");
    ui.wait_for("30 windows (1d)");
    for m in ["Selection rate", "True positive rate", "False positive rate"] {
        assert!(ui.has_exact(m), "{m} chart missing");
    }
}

#[test]
fn a_bad_log_names_the_line_and_the_window_keeps_working() {
    let mut ui = fairness_ui();
    let bad = ui._home.path().join("bad.csv");
    std::fs::write(&bad, "sex,label,prediction\nF,1,1\nM,0\nF,0,0\n").unwrap();
    let field = ui.harness.get_by_label("Prediction log");
    field.click();
    ui.settle();
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    ui.harness.get_by_label("Prediction log").type_text(&bad.display().to_string());
    ui.settle();
    ui.click("Open");
    ui.wait_for("bad.csv:3");
    assert!(ui.has("2 fields, the header has 3"));
    // The window still answers: another view, and back.
    ui.click("Models");
    assert!(ui.has("Versions (3)"));
}

#[test]
fn a_long_analysis_shows_progress_and_can_be_cancelled() {
    let mut ui = fairness_ui();
    let big = ui._home.path().join("big.csv");
    let mut text = String::from("sex,label,prediction\n");
    for i in 0..6_000_000u64 {
        text.push_str(if i % 3 == 0 { "F," } else { "M," });
        text.push_str(if i % 5 == 0 { "1," } else { "0," });
        text.push_str(if i % 7 == 0 { "1\n" } else { "0\n" });
    }
    std::fs::write(&big, text).unwrap();
    ui.harness.state_mut().apply(steward::ui::Action::OpenLog(big));
    ui.wait_for("Analyzing big.csv");
    let clicked = Instant::now();
    ui.click("Cancel");
    ui.wait_for("Cancelled");
    assert!(clicked.elapsed() < Duration::from_secs(3), "cancel took {:?}", clicked.elapsed());
    assert!(!ui.has("Group sizes"), "a cancelled analysis must not show results");
}

#[test]
fn the_endpoints_view_replays_the_sample_log_with_moving_charts() {
    let mut ui = sample_ui();
    ui.click("Endpoints");
    ui.wait_for("metrics: replay of predictions.csv");
    ui.wait_for("Request rate");
    for m in ["Accuracy (replayed rows)", "Selection rate (replayed rows)"] {
        ui.wait_for(m);
    }
    // A log has no errors or latencies: no chart of them (a flat 0 would claim there were none).
    assert!(!ui.has_exact("Error rate") && !ui.has_exact("Average latency"), "a replay drew errors or latencies it does not have");
    // Champion and challenger are named by the registry's aliases in the legends.
    ui.wait_for("v2 (champion)");
    assert!(ui.has("v3 (challenger)"));
    // The series grow: points arrive every 2 s.
    let count = |ui: &Ui| ui.harness.state().endpoints_points();
    let before = count(&ui);
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&ui) <= before {
        assert!(Instant::now() < deadline, "no new replay points in 10 s");
        ui.harness.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    // Stop replay: the empty state says what to configure.
    ui.click("Stop replay");
    ui.wait_for("No serving endpoints configured");
    // History needs a Prometheus: the range choice says so instead of pretending.
    ui.click("Replay the sample log");
    ui.wait_for("REPLAY");
    ui.harness.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Range").click();
    ui.settle();
    ui.click("1 h");
    ui.wait_for("history needs a Prometheus");
}

#[test]
fn export_audit_report_writes_a_verifiable_report_and_offers_the_folder() {
    let mut ui = sample_ui();
    ui.harness.get_all_by_label("Export audit report...").next().unwrap().click();
    ui.settle();
    ui.wait_for("Export audit report: income-classifier");
    // The sample names its prediction log, so fairness tables are included by default.
    let log = ui._home.path().join("data/sample/predictions.csv");
    assert_eq!(ui.harness.state().export_form().map(|f| f.2), Some(log.display().to_string()));
    ui.click("JSON");
    let default_name = ui.harness.state().export_form().unwrap().1;
    assert!(default_name.ends_with(&format!("income-classifier-audit-{}.json", chrono::Utc::now().format("%Y-%m-%d"))), "{default_name}");
    let out = ui._home.path().join("report.json");
    let field = ui.harness.get_by_label("Save to");
    field.focus();
    ui.settle();
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    ui.harness.get_by_label("Save to").type_text(&out.display().to_string());
    ui.settle();
    ui.click("Export");
    ui.wait_for("Saved:");
    assert!(ui.has_exact("Open folder"));
    let ok = steward::report::verify_json(&out).unwrap_or_else(|e| panic!("the exported JSON does not verify: {e}"));
    assert_eq!(ok.model, "income-classifier");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\"income-classifier\"") && text.contains("predictions.csv"));
    // A bad date is refused in the dialog, before anything runs.
    ui.click("Close");
    ui.harness.get_all_by_label("Export audit report...").next().unwrap().click();
    ui.settle();
    ui.harness.get_by_label("From").focus();
    ui.harness.get_by_label("From").type_text("last tuesday");
    ui.settle();
    ui.click("Export");
    ui.wait_for("is not a date");
}
