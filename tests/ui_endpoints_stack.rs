//! The Endpoints view against the real MLServer and Prometheus of the test stack (scripts/stack), plus
//! one black-holed endpoint. Oracles: Prometheus's own /api/v1/query answers for the same PromQL at the
//! same evaluation time, and MLServer's served versions.

mod common;

use std::time::{Duration, Instant};

use common::ui::Ui;
use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use steward::config::Context;
use steward::config::{DEFAULT_TIMEOUT, Home, Origin, Profile, Profiles, RegistrySpec};
use steward::ui::{Persisted, StewardApp, View};

const MODEL: &str = "income-classifier";

/// A listener that accepts connections and never answers.
fn black_hole() -> (std::net::TcpListener, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    (l, url)
}

fn load(stack: &Stack, version: &str) -> std::process::Child {
    let body = stack_var(&format!("STEWARD_TEST_INFER_EXAMPLE_V{version}"));
    std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["load", "--endpoint", &stack.mlserver, "--model", MODEL, "--version", version, "--body", &body])
        .args(["--rps", "20", "--duration", "3", "--concurrency", "4", "--json"])
        .env("STEWARD_HOME", stack.state_dir.join("ui-endpoints-test-home"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn open_with(profile: Profile) -> Ui {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    let ctx = Context {
        profiles: Profiles::default(),
        home,
        profile: Some(profile),
        spec: RegistrySpec::HomeLocal,
        origin: Origin::Default,
        timeout: DEFAULT_TIMEOUT,
        policy: Default::default(),
    };
    let app = StewardApp::new(ctx, Persisted { view: View::Endpoints, ..Default::default() });
    let harness = Harness::builder().with_size(egui::vec2(1400.0, 1000.0)).build_ui_state(|ui, app: &mut StewardApp| app.show(ui), app);
    Ui { harness, _home: dir }
}

fn prometheus_value(prometheus: &str, query: &str, at: f64, version: &str) -> f64 {
    let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let out = http_get_json(&format!("{prometheus}/api/v1/query?query={q}&time={at}"));
    let r = out["data"]["result"].as_array().unwrap();
    let s = r.iter().find(|s| s["metric"]["model"] == MODEL && s["metric"]["version"] == version).unwrap_or_else(|| panic!("no v{version} in {out}"));
    s["value"][1].as_str().unwrap().parse().unwrap()
}

#[test]
fn the_endpoints_view_shows_mlserver_prometheus_numbers_and_a_dead_endpoint() {
    let stack = stack();
    let mut loads = vec![load(&stack, "1"), load(&stack, "2")];
    let (_hole, hole_url) = black_hole();
    let profile = Profile {
        name: "stack".into(),
        endpoints: vec![stack.mlserver.clone(), hole_url.clone()],
        prometheus: Some(stack.prometheus.clone()),
        ..Default::default()
    };
    let mut ui = open_with(profile);
    // The window keeps drawing while one endpoint hangs for the whole timeout.
    let mut slowest = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(ui.has("v1 ready") && ui.has("did not answer")) {
        assert!(Instant::now() < deadline, "endpoint states never appeared");
        let t = Instant::now();
        ui.harness.step();
        slowest = slowest.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(slowest < Duration::from_millis(500), "a frame took {slowest:?} while an endpoint hung");
    // MLServer serves v1 and v2; v2 is the registry's champion (the sample workspace's aliases).
    assert!(ui.has(&format!("{MODEL}: v1 ready, v2 (champion) ready")));
    assert!(ui.has_exact("up") && ui.has_exact("down"));
    assert!(ui.has("mlserver 1.7.1"));
    for l in &mut loads {
        assert!(l.wait().unwrap().success());
    }
    // Wait for a report in which both versions have a request rate (Prometheus scrapes every 1 s), and
    // compare it with Prometheus's answer for the same PromQL at the same evaluation time. A scrape whose
    // timestamp is at or before the evaluation time can be ingested just after our query, so Prometheus's
    // later answer for that time can differ (seen in CI: 3.05 vs 3.00); a report is therefore checked
    // against Prometheus once that scrape has surely landed, and up to three consecutive reports may
    // disagree before the test fails. A wrong computation disagrees every time.
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut mismatches = Vec::new();
    let mut last_at = f64::NAN;
    loop {
        ui.harness.step();
        assert!(Instant::now() < deadline, "no matching report from Prometheus; mismatches: {mismatches:?}");
        std::thread::sleep(Duration::from_millis(100));
        let Some(report) = ui.harness.state().metrics_report().cloned() else { continue };
        let rated = ["1", "2"].iter().all(|v| {
            report.versions.iter().any(|m| m.model == MODEL && m.version.as_deref() == Some(v) && m.request_rate.is_some_and(|x| x > 0.0))
        });
        if !rated || report.at == last_at {
            continue;
        }
        last_at = report.at;
        // Let the scrape at or before report.at land (scrape interval 1 s).
        std::thread::sleep(Duration::from_millis(2500));
        let mut differs = Vec::new();
        for v in ["1", "2"] {
            let m = report.versions.iter().find(|m| m.model == MODEL && m.version.as_deref() == Some(v)).unwrap();
            for (field, ours) in [("request_rate", m.request_rate), ("avg_latency_s", m.avg_latency_s)] {
                let ours = ours.unwrap_or_else(|| panic!("v{v} has no {field}"));
                let theirs = prometheus_value(&stack.prometheus, &report.queries[field], report.at, v);
                if (ours - theirs).abs() > 1e-9 * theirs.abs().max(1.0) {
                    differs.push(format!("v{v} {field} at {}: ours {ours}, Prometheus {theirs}", report.at));
                }
            }
        }
        if differs.is_empty() {
            break;
        }
        mismatches.push(differs);
        assert!(mismatches.len() < 3, "three reports in a row disagree with Prometheus: {mismatches:?}");
    }
    // What is on screen is the current report's numbers, formatted.
    ui.settle();
    let report = ui.harness.state().metrics_report().cloned().unwrap();
    for v in ["1", "2"] {
        let m = report.versions.iter().find(|m| m.model == MODEL && m.version.as_deref() == Some(v)).unwrap();
        for (field, ours, fmt) in [("request_rate", m.request_rate, "rate"), ("avg_latency_s", m.avg_latency_s, "latency")] {
            let ours = ours.unwrap_or_else(|| panic!("v{v} has no {field}"));
            let shown = if fmt == "rate" { format!("{ours:.2}/s") } else { format!("{:.1} ms", ours * 1000.0) };
            assert!(ui.has_exact(&shown), "v{v} {field}: '{shown}' not on screen");
        }
    }
    // History from Prometheus: each point equals Prometheus's instant answer at that time.
    ui.harness.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Range").click();
    ui.settle();
    ui.click("1 h");
    let deadline = Instant::now() + Duration::from_secs(30);
    let points = loop {
        ui.harness.step();
        if let Some(p) = ui.harness.state().history_points(MODEL, "1", "request_rate").filter(|p| !p.is_empty()) {
            break p;
        }
        assert!(!ui.has("History:"), "history failed");
        assert!(Instant::now() < deadline, "no history");
        std::thread::sleep(Duration::from_millis(100));
    };
    // The last point is evaluated at the moment of the query and can race a scrape's ingestion (see
    // above); every earlier point (6 s apart at 1 h) is settled and must equal Prometheus's answer.
    assert!(points.len() >= 2, "history has a single point: {points:?}");
    for &(t, v) in &points[..points.len() - 1] {
        let theirs = prometheus_value(&stack.prometheus, &report.queries["request_rate"], t, "1");
        assert!((v - theirs).abs() <= 1e-9 * theirs.abs().max(1.0), "history at {t}: ours {v}, Prometheus {theirs}");
    }
    ui.settle();
    assert!(ui.has_exact("Request rate"));

    // An absolute range (UTC, to the minute): a bad time is refused next to the fields; a good one is
    // loaded and its axis ends where the range ends, each settled point equal to Prometheus's answer.
    ui.harness.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Range").click();
    ui.settle();
    ui.click("Absolute range...");
    let set = |ui: &mut Ui, label: &str, text: &str| {
        ui.harness.get_by_label(label).click();
        ui.settle();
        ui.harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        ui.harness.get_by_label(label).type_text(text);
        ui.settle();
    };
    set(&mut ui, "From", "yesterday");
    ui.click("Show");
    ui.wait_for("From 'yesterday' is not a date");
    let now = chrono::Utc::now();
    let minute = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let (from, to) = (now - chrono::Duration::minutes(30), now + chrono::Duration::minutes(1));
    set(&mut ui, "From", &minute(from));
    set(&mut ui, "To", &minute(to));
    ui.click("Show");
    let end = steward::ops::parse_period(&minute(to)).unwrap().1.timestamp() as f64;
    let deadline = Instant::now() + Duration::from_secs(30);
    let points = loop {
        ui.harness.step();
        if let Some(p) = ui.harness.state().history_points(MODEL, "1", "request_rate").filter(|p| !p.is_empty())
            && ui.harness.state().endpoints_range_end() == Some(end)
        {
            break p;
        }
        assert!(Instant::now() < deadline, "no history for the absolute range");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(points.iter().all(|(t, _)| *t <= end), "points after the range's end");
    let settled: Vec<&(f64, f64)> = points.iter().filter(|(t, _)| *t < steward::serving::unix_now() - 3.0).collect();
    assert!(!settled.is_empty(), "{points:?}");
    for &&(t, v) in &settled {
        let theirs = prometheus_value(&stack.prometheus, &report.queries["request_rate"], t, "1");
        assert!((v - theirs).abs() <= 1e-9 * theirs.abs().max(1.0), "absolute range at {t}: ours {v}, Prometheus {theirs}");
    }
    let picker = ui.harness.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Range").accesskit_node().value().unwrap_or_default().to_string();
    assert!(picker.starts_with(&format!("{} to ", minute(from))) && picker.ends_with(" UTC"), "the picker shows '{picker}'");
}

#[test]
fn an_alert_rule_raises_a_banner_a_notification_and_an_audit_record() {
    let stack = stack();
    let rule = "request_rate > 0.05 for 2s";
    let profile = Profile {
        name: "stack".into(),
        prometheus: Some(stack.prometheus.clone()),
        alerts: vec![rule.into()],
        ..Default::default()
    };
    let mut l = load(&stack, "1");
    let mut ui = open_with(profile);
    ui.harness.state_mut().apply(steward::ui::Action::Go(View::Endpoints));
    ui.wait_for(&format!("ALERT {MODEL} v1: {rule}"));
    assert!(ui.has("alert(s) firing"), "the status bar counts firing alerts");
    assert!(ui.has("Alerts (") && ui.has(&format!("ALERT {MODEL} v1: {rule} (now")));
    assert!(l.wait().unwrap().success());
    // The audit log records it (written off the window thread).
    let log = ui._home.path().join("data/audit.jsonl");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("\"alert_fired\"")) {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(r["phase"], "observed");
            assert_eq!(r["model"], MODEL);
            assert!(r["reason"].as_str().unwrap().contains(rule), "{r}");
            break;
        }
        assert!(Instant::now() < deadline, "no alert_fired record in {}", log.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = steward(ui._home.path(), &["audit", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The command-line twin evaluates the same rule the same way: firing, exit 3.
    let out = steward(ui._home.path(), &["alerts", "--prometheus", &stack.prometheus, "--rule", rule, "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v1 = v["rules"].as_array().unwrap().iter().find(|s| s["series"] == format!("{MODEL} v1")).expect("v1 series");
    assert_eq!(v1["firing"], true);
    assert!(v1["value"].as_f64().unwrap() > 0.05);
    // Other tests may serve failing models on the same server at the same time: judge only ours.
    let out = steward(ui._home.path(), &["alerts", "--prometheus", &stack.prometheus, "--rule", "error_rate > 50% for 2s", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let ours: Vec<&serde_json::Value> = v["rules"].as_array().unwrap().iter().filter(|s| s["series"].as_str().unwrap().starts_with(MODEL)).collect();
    assert!(!ours.is_empty(), "{v}");
    assert!(ours.iter().all(|s| s["firing"] == false), "{v}");
}
