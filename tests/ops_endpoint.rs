//! Moving the endpoint with the alias, through the command line, against the real MLflow and MLServer of
//! the test stack. Oracles: MLflow's own alias REST API, MLServer's own `/ready` and `/infer` answers
//! (read with a plain HTTP client), and the audit log.
//!
//! Each test serves its own copy of income-classifier under its own name and moves its own alias, so
//! the stack's `income-classifier` and `champion` are never touched; everything is removed at the end.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const MODEL: &str = "income-classifier";

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// (status, body as JSON or Null) of a plain request.
fn call(method: reqwest::Method, url: &str, body: Option<&Value>) -> (u16, Value) {
    block(async {
        let mut req = reqwest::Client::new().request(method, url).timeout(Duration::from_secs(30));
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    })
}

fn mlflow_alias(stack: &Stack, alias: &str) -> Option<u64> {
    let url = format!("{}/api/2.0/mlflow/registered-models/alias?name={MODEL}&alias={alias}", stack.mlflow);
    match call(reqwest::Method::GET, &url, None) {
        (400, _) => None,
        (200, b) => Some(b["model_version"]["version"].as_str().unwrap().parse().unwrap()),
        other => panic!("{url}: {other:?}"),
    }
}

fn mlflow_alias_request(stack: &Stack, method: reqwest::Method, body: Value) {
    let url = format!("{}/api/2.0/mlflow/registered-models/alias", stack.mlflow);
    let (status, b) = call(method, &url, Some(&body));
    assert_eq!(status, 200, "{url}: {b}");
}

fn ready(stack: &Stack, served: &str, version: &str) -> u16 {
    call(reqwest::Method::GET, &format!("{}/v2/models/{served}/versions/{version}/ready", stack.mlserver), None).0
}

fn infer(stack: &Stack, served: &str, version: Option<&str>, example: &Path) -> (u16, Value) {
    let body: Value = serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    let path = match version {
        Some(v) => format!("v2/models/{served}/versions/{v}/infer"),
        None => format!("v2/models/{served}/infer"),
    };
    call(reqwest::Method::POST, &format!("{}/{path}", stack.mlserver), Some(&body))
}

fn repository(stack: &Stack, served: &str, action: &str) -> (u16, Value) {
    call(reqwest::Method::POST, &format!("{}/v2/repository/models/{served}/{action}", stack.mlserver), Some(&json!({})))
}

fn example(stack: &Stack, v: u64) -> PathBuf {
    stack.state_dir.join(format!("infer-example-v{v}.json"))
}

/// What version `v` of the stack's model answers for its example input (written by the seed script).
fn expected_outputs(stack: &Stack, v: u64) -> Value {
    let p = stack.state_dir.join(format!("infer-example-v{v}.expected.json"));
    serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap()["outputs"].clone()
}

/// One test's served model (a copy of income-classifier v2 under `served`) and its alias at v2. Dropping
/// it unloads the model, removes its folder and deletes the alias.
struct Bound {
    stack: Stack,
    served: String,
    alias: String,
    settings_dir: PathBuf,
    home: tempfile::TempDir,
}

impl Bound {
    fn new(served: &str, alias: &str) -> Bound {
        let stack = stack();
        let settings_dir = stack.state_dir.join("mlserver/models").join(served);
        std::fs::create_dir_all(&settings_dir).unwrap();
        let v2 = stack.state_dir.join("mlserver/models/income-classifier-v2");
        let mut s: Value = serde_json::from_str(&std::fs::read_to_string(v2.join("model-settings.json")).unwrap()).unwrap();
        s["name"] = json!(served);
        s["parameters"]["uri"] = json!(v2.join("model.joblib").to_string_lossy());
        std::fs::write(settings_dir.join("model-settings.json"), serde_json::to_vec_pretty(&s).unwrap()).unwrap();
        let b = Bound { stack, served: served.into(), alias: alias.into(), settings_dir, home: tempfile::tempdir().unwrap() };
        let (status, body) = repository(&b.stack, served, "load");
        assert_eq!(status, 200, "loading {served}: {body}");
        assert_eq!(ready(&b.stack, served, "2"), 200);
        mlflow_alias_request(&b.stack, reqwest::Method::POST, json!({"name": MODEL, "alias": alias, "version": "2"}));
        b
    }

    fn settings(&self) -> Vec<u8> {
        std::fs::read(self.settings_dir.join("model-settings.json")).unwrap()
    }

    /// A profile for the stack's MLflow with MODEL@alias bound to the served model.
    fn bind(&self, version_dir: &str, example: &str) {
        let out = steward(self.home.path(), &["--registry", &self.stack.mlflow, "profile", "add", "stack", "--activate"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let target = format!("{MODEL}@{}", self.alias);
        let args = [
            "profile", "bind", "stack", &target,
            "--endpoint", &self.stack.mlserver,
            "--served", &self.served,
            "--settings-dir", self.settings_dir.to_str().unwrap(),
            "--version-dir", version_dir,
            "--example", example,
            "--ready-timeout", "30",
        ];
        let out = steward(self.home.path(), &args);
        assert!(out.status.success(), "{}", stderr(&out));
    }

    fn rollback_to_1(&self) -> (std::process::Output, Duration) {
        let t = Instant::now();
        let args = ["rollback", MODEL, "--alias", &self.alias, "--to", "1", "--reason", "v2 regressed", "--yes"];
        let out = steward(self.home.path(), &args);
        (out, t.elapsed())
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.home.path().join("data/audit.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        let _ = repository(&self.stack, &self.served, "unload");
        let _ = std::fs::remove_dir_all(&self.settings_dir);
        let url = format!("{}/api/2.0/mlflow/registered-models/alias", self.stack.mlflow);
        let _ = call(reqwest::Method::DELETE, &url, Some(&json!({"name": MODEL, "alias": self.alias})));
    }
}

fn stack_version_dir(stack: &Stack) -> String {
    format!("{}/mlserver/models/income-classifier-v{{version}}", stack.state_dir.display())
}

fn example_template(stack: &Stack) -> String {
    format!("{}/infer-example-v{{version}}.json", stack.state_dir.display())
}

fn steps(record: &Value) -> Vec<String> {
    record["endpoint"]["steps"].as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

#[test]
fn a_bound_rollback_moves_the_mlflow_alias_and_the_served_version_verified_by_inference() {
    let b = Bound::new("steward-ep-rollback", "ep-rollback");
    let stack = &b.stack;
    b.bind(&stack_version_dir(stack), &example_template(stack));

    let (out, took) = b.rollback_to_1();
    assert!(out.status.success(), "{}\n{}", stderr(&out), stdout(&out));
    let printed = stdout(&out);
    for line in ["endpoint settings ok", "endpoint load ok", "endpoint ready ok", "smoke inference ok", "done ok"] {
        assert!(printed.contains(line), "missing '{line}' in:\n{printed}");
    }
    eprintln!("bound rollback took {took:?}\n{printed}");

    // MLflow moved.
    assert_eq!(mlflow_alias(stack, &b.alias), Some(1));
    // MLServer serves v1 (and only v1) under the served name, answering what v1 answers.
    assert_eq!(ready(stack, &b.served, "1"), 200);
    assert_eq!(ready(stack, &b.served, "2"), 404, "v2 was swapped out");
    let (status, answer) = infer(stack, &b.served, Some("1"), &example(stack, 1));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["model_version"], "1");
    assert_eq!(answer["outputs"][0]["data"], expected_outputs(stack, 1)[0]["data"]);
    assert_ne!(expected_outputs(stack, 1)[0]["data"], expected_outputs(stack, 2)[0]["data"], "the versions differ here");
    let (_, unversioned) = infer(stack, &b.served, None, &example(stack, 1));
    assert_eq!(unversioned["model_version"], "1");

    // Audit: the aliases seen before the move (first seen), then intent, then a succeeded outcome with
    // the endpoint steps and the smoke answer.
    let all = b.audit();
    let (seen, records): (Vec<Value>, Vec<Value>) = all.into_iter().partition(|r| r["phase"] == "observed");
    assert!(seen.iter().all(|r| r["seq"].as_u64() < records[0]["seq"].as_u64()), "first-seen records come before the intent");
    assert!(seen.iter().any(|r| r["alias"] == b.alias.as_str() && r["to"] == 2), "{seen:?}");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!((records[0]["phase"].as_str(), records[1]["outcome"].as_str()), (Some("intent"), Some("succeeded")));
    let s = steps(&records[1]);
    assert!(s.iter().any(|l| l.starts_with("endpoint ready ok")), "{s:?}");
    assert_eq!(records[1]["endpoint"]["served_model"], b.served.as_str());
    assert_eq!(records[1]["endpoint"]["answer"][0]["data"], expected_outputs(stack, 1)[0]["data"]);
    assert!(steward(b.home.path(), &["audit", "verify"]).status.success());
}

#[test]
fn a_load_the_server_rejects_leaves_the_alias_untouched_and_the_old_version_keeps_serving() {
    let b = Bound::new("steward-ep-badload", "ep-badload");
    let stack = &b.stack;
    // v1's folder (outside the server's repository) holds a corrupt artifact: MLServer refuses the load.
    let versions = tempfile::tempdir().unwrap();
    let v1 = versions.path().join("v1");
    std::fs::create_dir_all(&v1).unwrap();
    let real = stack.state_dir.join("mlserver/models/income-classifier-v1/model-settings.json");
    std::fs::copy(real, v1.join("model-settings.json")).unwrap();
    std::fs::write(v1.join("model.joblib"), b"not a model").unwrap();
    b.bind(&format!("{}/v{{version}}", versions.path().display()), &example_template(stack));
    let before = b.settings();

    let (out, took) = b.rollback_to_1();
    assert_eq!(out.status.code(), Some(1), "{}\n{}", stderr(&out), stdout(&out));
    let err = stderr(&out);
    eprintln!("failed bound rollback took {took:?}\n{}{err}", stdout(&out));
    assert!(err.contains("endpoint load"), "{err}");
    assert!(err.contains(&format!("{} serves v2 again (ready)", b.served)), "{err}");
    assert!(err.contains("the alias was not touched"), "{err}");
    assert!(!stdout(&out).contains("alias set"), "the endpoint goes first: the alias never moved\n{}", stdout(&out));

    assert_eq!(mlflow_alias(stack, &b.alias), Some(2), "the alias never moved");
    assert_eq!(b.settings(), before, "settings restored byte for byte");
    assert_eq!(ready(stack, &b.served, "2"), 200);
    let (status, answer) = infer(stack, &b.served, Some("2"), &example(stack, 2));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outputs"][0]["data"], expected_outputs(stack, 2)[0]["data"]);

    let records = b.audit();
    let last = records.last().unwrap();
    assert_eq!(last["outcome"], "failed");
    assert!(last["error"].as_str().unwrap().contains("the alias was not touched"), "{last}");
    let s = steps(last);
    assert!(s.iter().any(|l| l.starts_with("endpoint load FAILED")), "{s:?}");
    assert!(s.iter().any(|l| l.starts_with("revert endpoint ok")), "{s:?}");
    assert!(!s.iter().any(|l| l.starts_with("alias set")), "{s:?}");
    // A failed move is not a move: history shows no rollback having happened.
    let hist = json(&steward(b.home.path(), &["history", MODEL, "--alias", &b.alias, "--json"]));
    let last_event = hist["events"].as_array().unwrap().iter().rev().find(|e| e["kind"] == "action").unwrap().clone();
    assert_eq!(last_event["outcome"], "failed", "{last_event}");
}

#[test]
fn a_failing_smoke_inference_after_a_good_load_swaps_the_old_version_back() {
    let b = Bound::new("steward-ep-smoke", "ep-smoke");
    let stack = &b.stack;
    // v2's example has a column count v1 does not accept: v1 loads and is ready, then fails to answer.
    b.bind(&stack_version_dir(stack), example(stack, 2).to_str().unwrap());

    let (out, _) = b.rollback_to_1();
    assert_eq!(out.status.code(), Some(1), "{}\n{}", stderr(&out), stdout(&out));
    let printed = stdout(&out);
    assert!(printed.contains("endpoint ready ok") && printed.contains("smoke inference FAILED"), "{printed}");
    assert!(stderr(&out).contains("the alias was not touched"), "{}", stderr(&out));
    assert_eq!(mlflow_alias(stack, &b.alias), Some(2));
    assert_eq!(ready(stack, &b.served, "2"), 200, "v2 loaded again");
    assert_eq!(ready(stack, &b.served, "1"), 404, "v1 swapped out again");
    let (status, answer) = infer(stack, &b.served, None, &example(stack, 2));
    assert_eq!((status, answer["model_version"].as_str()), (200, Some("2")), "{answer}");
}

/// The promote dialog of the real window (egui_kittest) with a bound alias: every step is shown as it
/// finishes, and MLServer then serves the promoted version.
#[test]
fn the_promote_and_rollback_dialogs_show_each_endpoint_step_and_the_endpoint_follows() {
    use common::ui::Ui;
    use egui_kittest::kittest::Queryable;
    let b = Bound::new("steward-ep-dialog", "ep-dialog");
    let stack = &b.stack;
    b.bind(&stack_version_dir(stack), &example_template(stack));
    let home = steward::config::Home::under(b.home.path());
    let profiles = steward::config::Profiles::load(&home).unwrap();
    let profile = profiles.get("stack").cloned().unwrap();
    let ctx = steward::config::Context {
        policy: steward::config::Policy::from_profile(Some(&profile), false, steward::config::DEFAULT_TIMEOUT),
        profiles,
        home,
        profile: Some(profile),
        spec: steward::config::RegistrySpec::mlflow(stack.mlflow.clone()),
        origin: steward::config::Origin::Default,
        timeout: steward::config::DEFAULT_TIMEOUT,
    };
    let app = steward::ui::StewardApp::new(ctx, Default::default());
    let harness = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_ui_state(|ui, app: &mut steward::ui::StewardApp| app.show(ui), app);
    let tmp = tempfile::tempdir().unwrap();
    let mut ui = Ui { harness, _home: tmp };
    ui.wait_for("Registry: connected");
    ui.harness.get_by_label(MODEL).click();
    ui.wait_for("Versions (3)");
    ui.click("v1");
    ui.wait_for("income-classifier v1");
    ui.click("Promote...");
    ui.wait_for("-> v1");
    ui.harness.get_by_label("Alias").focus();
    for _ in 0..12 {
        ui.harness.key_press(egui::Key::Backspace);
    }
    ui.harness.get_by_label("Alias").type_text(&b.alias);
    ui.harness.key_press(egui::Key::Tab);
    ui.wait_for(&format!("{}: v2 -> v1", b.alias));
    // The dialog says what else will change before anything does.
    assert!(ui.has(&format!("Also moves the endpoint: {} on", b.served)), "the binding is not shown");
    let reason = "Reason (required, recorded in the audit log)";
    ui.harness.get_by_label(reason).focus();
    ui.harness.get_by_label(reason).type_text("kittest: promote with the endpoint");
    ui.settle();
    ui.click("Promote");
    ui.wait_for(&format!("Done: {MODEL}@{} now points to v1", b.alias));
    for step in ["alias set", "endpoint settings", "endpoint load", "endpoint ready", "smoke inference"] {
        assert!(ui.has_exact(step), "step '{step}' not shown");
    }
    assert!(!ui.has_exact("FAILED"));
    assert_eq!(mlflow_alias(stack, &b.alias), Some(1));
    assert_eq!(ready(stack, &b.served, "1"), 200);
    let (status, answer) = infer(stack, &b.served, Some("1"), &example(stack, 1));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outputs"][0]["data"], expected_outputs(stack, 1)[0]["data"]);

    // Roll back through its dialog: Steward proposes v2 (before the last move) and shows every step.
    ui.click("Close");
    ui.wait_for(&format!("Roll back {}...", b.alias));
    ui.click(&format!("Roll back {}...", b.alias));
    ui.wait_for(&format!("{}: v1 -> v2", b.alias));
    assert!(ui.has(&format!("Also moves the endpoint: {} on", b.served)));
    ui.harness.get_by_label(reason).focus();
    ui.harness.get_by_label(reason).type_text("kittest: roll back with the endpoint");
    ui.settle();
    ui.click("Roll back");
    ui.wait_for(&format!("Done: {MODEL}@{} now points to v2", b.alias));
    for step in ["alias re-read", "alias set", "endpoint settings", "endpoint load", "endpoint ready", "smoke inference", "done"] {
        assert!(ui.has_exact(step), "rollback step '{step}' not shown");
    }
    assert!(!ui.has_exact("FAILED"));
    assert_eq!(mlflow_alias(stack, &b.alias), Some(2));
    assert_eq!((ready(stack, &b.served, "2"), ready(stack, &b.served, "1")), (200, 404));
    let (_, answer) = infer(stack, &b.served, Some("2"), &example(stack, 2));
    assert_eq!(answer["outputs"][0]["data"], expected_outputs(stack, 2)[0]["data"]);
}

/// A bound endpoint that is down stops promote and rollback before the alias moves: the serving gate
/// sees it first (it used to be move, fail, put back). MLflow's alias never changes.
#[test]
fn a_dead_bound_endpoint_refuses_the_move_and_mlflow_never_changes() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let alias = "ep-dead";
    mlflow_alias_request(&stack, reqwest::Method::POST, json!({"name": MODEL, "alias": alias, "version": "2"}));
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let h = home.path();
    assert!(steward(h, &["--registry", &stack.mlflow, "profile", "add", "stack", "--activate"]).status.success());
    let target = format!("{MODEL}@{alias}");
    let (settings, versions) = (h.join("served"), format!("{}/v{{version}}", h.display()));
    std::fs::create_dir_all(&settings).unwrap();
    let bind = ["profile", "bind", "stack", &target, "--endpoint", &format!("http://{dead}"), "--settings-dir", settings.to_str().unwrap(), "--version-dir", &versions];
    assert!(steward(h, &bind).status.success());
    for args in [
        vec!["--timeout", "2", "promote", MODEL, "3", "--alias", alias, "--reason", "try", "--yes", "--override-gates"],
        vec!["--timeout", "2", "rollback", MODEL, "--alias", alias, "--to", "1", "--reason", "try", "--yes"],
    ] {
        let out = steward(h, &args);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stderr(&out).contains("is down") || stderr(&out).contains("is fail"), "{}", stderr(&out));
        assert!(stdout(&out).contains("endpoint") && stdout(&out).contains("FAIL"), "the plan shows the serving gate:\n{}", stdout(&out));
    }
    assert_eq!(mlflow_alias(&stack, alias), Some(2), "MLflow's alias never moved");
    mlflow_alias_request(&stack, reqwest::Method::DELETE, json!({"name": MODEL, "alias": alias}));
}
