//! The window's Fairness view on a log in the stack's real PostgreSQL: opened from the profile's
//! `[[profile.log]]` entry (its mapping applied) and from a typed postgres://...?table= URL (mapping
//! guessed), counted by pushdown; the numbers equal `steward fairness` on the same rows as a file, and
//! the SQL the engine ran is on screen. Then the same rows from a typed sc://...?table= URL (the stack's
//! Spark) and from a typed s3:// URL (the stack's S3 server); and the Monitoring view's drift of a
//! PostgreSQL table, counted in the engine, with the file's numbers. A file of its own: it sets PGUSER /
//! PGPASSWORD and the AWS variables in the process (the window reads them), which no other test here
//! may race with.

mod common;

use common::adult::fixture;
use common::pg::TeamDb;
use common::ui::Ui;
use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use serde_json::Value;
use steward::config::{Context, RegistrySpec, Selection};
use steward::ui::{Persisted, StewardApp, View};

fn numbers(mut v: Value) -> Value {
    for k in ["file", "format", "query", "skipped_examples"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

fn window(home: &std::path::Path) -> Ui {
    let selection = Selection { home: Some(home.to_path_buf()), ..Selection::default() };
    let mut ctx = Context::resolve(&selection).expect("a usable home");
    ctx.spec = RegistrySpec::HomeLocal;
    let app = StewardApp::new(ctx, Persisted { view: View::Fairness, ..Persisted::default() });
    let harness = Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    Ui { harness, _home: tempfile::tempdir().unwrap() }
}

fn shown_report(ui: &Ui) -> Value {
    let report = ui.harness.state().fairness_report().expect("a report on screen");
    serde_json::to_value(&*report).unwrap()
}

#[test]
fn the_fairness_view_counts_a_postgresql_log_by_pushdown() {
    let _stack = stack();
    let db = TeamDb::new("window");
    let mut c = db.client();
    c.batch_execute("CREATE TABLE adult (row_id integer, sex text, race text, label integer, prediction integer, score double precision)").unwrap();
    let mut w = c.copy_in("COPY adult FROM STDIN WITH (FORMAT csv, HEADER true)").unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(fixture("adult_predictions.csv")).unwrap()).unwrap();
    w.finish().unwrap();
    let spark = common::spark::SparkDb::new("window");
    let spark_table = spark.table("adult");
    spark.load(&spark_table, &fixture("adult_predictions.csv"), "row_id INT, sex STRING, race STRING, label INT, prediction INT, score DOUBLE");
    let s3 = common::s3::S3::new("window");
    let s3_url = s3.put("adult.csv", std::fs::read(fixture("adult_predictions.csv")).unwrap());
    for (k, v) in db.env().into_iter().chain(s3.env()) {
        // SAFETY: the only test in this binary; set before the window (and its threads) start.
        unsafe { std::env::set_var(k, v) };
    }
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    let profiles = format!(
        "active = \"prod\"\n[[profile]]\nname = \"prod\"\n[[profile.log]]\nname = \"adult-log\"\nurl = \"{}\"\ntable = \"adult\"\n\
         group = [\"race\"]\nlabel = \"label\"\nprediction = \"prediction\"\n",
        db.url
    );
    std::fs::write(home.path().join("config/profiles.toml"), profiles).unwrap();
    let csv = fixture("adult_predictions.csv");
    let file_report = |group: &str| {
        let out = steward(home.path(), &["fairness", csv.to_str().unwrap(), "--group", group, "--label", "label", "--prediction", "prediction", "--format", "json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        json(&out)
    };

    let mut ui = window(home.path());
    ui.settle();
    // A typed URL: the mapping is guessed from the columns (sex, label, prediction).
    // A fresh home's window opens the sample workspace's log by itself: wait for it, then replace the
    // field's text (select all, type) so that the typed URL is all it holds.
    let url = format!("{}?table=adult", db.url);
    ui.wait_for("(csv), computed in");
    ui.settle();
    open_typed(&mut ui, &url, "(table adult)");
    assert_eq!(shown_report(&ui)["group_columns"], serde_json::json!(["sex"]), "the guessed mapping");
    assert_eq!(numbers(shown_report(&ui)), numbers(file_report("sex")));
    assert!(ui.has("(table adult) (postgresql, pushdown)"), "{:?}", ui.labels());

    // The profile's entry, from the drop-down: its mapping (groups by race) replaces the guess.
    ui.harness.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Profile logs").click();
    ui.settle();
    ui.click("adult-log");
    ui.wait_for("from adult-log (postgresql, pushdown)");
    assert_eq!(numbers(shown_report(&ui)), numbers(file_report("race")));
    assert!(ui.has("32,561 rows"), "{:?}", ui.labels());
    let combo = ui.harness.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Profile logs");
    assert_eq!(combo.accesskit_node().value().as_deref(), Some("adult-log"), "the drop-down names the open entry");
    ui.click("SQL run by the engine");
    assert!(ui.has("FROM \"adult\"") && ui.has("GROUP BY"), "{:?}", ui.labels());
    ui.click("Copy SQL");
    assert!(ui.has("The query is on the clipboard"), "{:?}", ui.labels());

    // Spark, through Spark Connect: a typed sc:// URL; the mapping in use (by race) fits its columns and
    // is kept.
    open_typed(&mut ui, &format!("{}?table={spark_table}", spark.url), &format!("(table {spark_table})"));
    assert_eq!(numbers(shown_report(&ui)), numbers(file_report("race")));
    assert!(ui.has(&format!("(table {spark_table}) (spark, pushdown)")), "{:?}", ui.labels());
    // Object storage: a typed s3:// URL, read by range requests.
    open_typed(&mut ui, &s3_url, &s3_url);
    assert_eq!(numbers(shown_report(&ui)), numbers(file_report("race")));
    assert_eq!(shown_report(&ui)["format"], "csv");

    // The Monitoring view: drift of a PostgreSQL table against its first two days, counted in the
    // engine, with the numbers `steward drift` computes from the same rows as a file.
    let drift_csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift/current.csv");
    c.batch_execute("CREATE TABLE drift_cur (time timestamptz, age integer, hours double precision, score double precision, workclass text, prediction integer)").unwrap();
    let mut w = c.copy_in("COPY drift_cur FROM STDIN WITH (FORMAT csv, HEADER true)").unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(&drift_csv).unwrap()).unwrap();
    w.finish().unwrap();
    ui.harness.set_size(egui::vec2(1920.0, 1600.0));
    ui.click("Monitoring");
    ui.wait_for("Quality columns");
    for (field, text) in [("Current log", format!("{}?table=drift_cur", db.url)), ("Reference log", String::new()), ("Or the first days", "2".into()), ("Time column", "time".into()), ("Leave out", String::new()), ("label", String::new())] {
        ui.harness.get_by_role_and_label(egui::accesskit::Role::TextInput, field).focus();
        ui.settle();
        ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        ui.settle();
        ui.harness.key_press(egui::Key::Backspace);
        ui.settle();
        ui.harness.get_by_role_and_label(egui::accesskit::Role::TextInput, field).type_text(&text);
        ui.settle();
    }
    ui.harness.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Windows").click();
    ui.settle();
    ui.click("per day");
    ui.click("Analyse");
    ui.wait_for("window 2026-11-07 (600 rows): 4 of 5 columns drifted");
    let o = steward(home.path(), &["drift", drift_csv.to_str().unwrap(), "--reference-days", "2", "--time", "time", "--window", "1d", "--format", "json"]);
    let cli: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let newest = cli["windows"].as_array().unwrap().last().unwrap();
    let age = newest["columns"].as_array().unwrap().iter().find(|c| c["column"] == "age").unwrap();
    let psi = steward::monitoring::drift::format_stat(age["psi"].as_f64());
    assert!(ui.labels().iter().any(|l| l.contains(&psi)), "age's PSI {psi} (the file's) not on screen: {:?}", ui.labels());
}

/// Types `text` into the "Prediction log" field over what it holds, opens it, and waits for a report
/// whose source contains `until`.
fn open_typed(ui: &mut Ui, text: &str, until: &str) {
    ui.harness.get_by_label("Prediction log").focus();
    ui.settle();
    ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    ui.settle();
    ui.harness.get_by_label("Prediction log").type_text(text);
    ui.settle();
    ui.click("Open");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while ui.harness.state().fairness_report().is_none_or(|r| !r.file.contains(until)) {
        assert!(std::time::Instant::now() < deadline, "no report from {until}; on screen: {:?}", ui.labels());
        ui.harness.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    ui.settle();
}
