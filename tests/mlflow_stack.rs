//! Steward against the real MLflow 3.17 of the test stack (scripts/stack). The oracle is MLflow's own
//! REST answers, read here with a plain HTTP client, not through Steward's connector.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

fn mlflow_api(stack: &Stack, path: &str) -> Value {
    http_get_json(&format!("{}/api/2.0/mlflow/{path}", stack.mlflow))
}

fn kv(list: &Value) -> BTreeMap<String, Value> {
    list.as_array()
        .map(|a| a.iter().map(|t| (t["key"].as_str().unwrap().to_string(), t["value"].clone())).collect())
        .unwrap_or_default()
}

#[test]
fn models_from_real_mlflow_match_mlflows_own_listing() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let out = json(&steward(home.path(), &["models", "--json", "--registry", &stack.mlflow]));
    assert!(out["registry"].as_str().unwrap().starts_with("MLflow at http://127.0.0.1:"));
    let ours = out["models"].as_array().unwrap();

    let theirs = mlflow_api(&stack, "registered-models/search?max_results=1000");
    let theirs = theirs["registered_models"].as_array().unwrap();
    let names = |v: &[Value]| v.iter().map(|m| m["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let (mut a, mut b) = (names(ours), names(theirs));
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert!(a.contains(&"income-classifier".to_string()));

    for m in theirs {
        let name = m["name"].as_str().unwrap();
        let mine = ours.iter().find(|o| o["name"] == name).unwrap();
        let aliases: BTreeMap<String, u64> = m["aliases"]
            .as_array()
            .map(|a| a.iter().map(|x| (x["alias"].as_str().unwrap().to_string(), x["version"].as_str().unwrap().parse().unwrap())).collect())
            .unwrap_or_default();
        assert_eq!(serde_json::to_value(&aliases).unwrap(), mine["aliases"], "{name}");
        assert_eq!(m["description"].as_str().unwrap_or(""), mine["description"], "{name}");
        let tags = kv(&m["tags"]);
        assert_eq!(serde_json::to_value(&tags).unwrap(), mine["tags"], "{name}");
    }
    let ic = ours.iter().find(|m| m["name"] == "income-classifier").unwrap();
    assert_eq!(ic["aliases"]["champion"], 2);
    assert_eq!(ic["aliases"]["challenger"], 3);
}

#[test]
fn versions_from_real_mlflow_carry_their_runs_metrics_params_tags_and_aliases() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let out = json(&steward(home.path(), &["versions", "income-classifier", "--json", "--registry", &stack.mlflow]));
    let versions = out["versions"].as_array().unwrap();
    assert!(versions.len() >= 3, "{out}");
    let numbers: Vec<u64> = versions.iter().map(|v| v["version"].as_u64().unwrap()).collect();
    let mut sorted = numbers.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(numbers, sorted, "newest first");

    for v in versions {
        let n = v["version"].as_u64().unwrap();
        let mv = mlflow_api(&stack, &format!("model-versions/get?name=income-classifier&version={n}"));
        let mv = &mv["model_version"];
        let mut aliases: Vec<String> = mv["aliases"].as_array().map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect()).unwrap_or_default();
        aliases.sort();
        assert_eq!(serde_json::to_value(&aliases).unwrap(), v["aliases"], "v{n} aliases");
        assert_eq!(serde_json::to_value(kv(&mv["tags"])).unwrap(), v["tags"], "v{n} tags");
        assert_eq!(mv["run_id"], v["run_id"], "v{n} run");
        assert_eq!(mv["source"], v["source"], "v{n} source");

        let run = mlflow_api(&stack, &format!("runs/get?run_id={}", mv["run_id"].as_str().unwrap()));
        let metrics = run["run"]["data"]["metrics"].as_array().unwrap();
        assert!(!metrics.is_empty(), "v{n}: the seeded run has metrics");
        for m in metrics {
            let key = m["key"].as_str().unwrap();
            let (want, got) = (m["value"].as_f64().unwrap(), v["metrics"][key].as_f64().unwrap_or(f64::NAN));
            assert!((want - got).abs() < 1e-12, "v{n} {key}: MLflow {want}, Steward {got}");
        }
        for p in run["run"]["data"]["params"].as_array().unwrap() {
            assert_eq!(v["params"][p["key"].as_str().unwrap()], p["value"], "v{n} param");
        }
    }
    let alias_of = |n: u64| versions.iter().find(|v| v["version"] == n).unwrap()["aliases"].clone();
    // The seeded aliases (other tests may add their own aliases to these versions meanwhile).
    assert!(alias_of(2).as_array().unwrap().contains(&serde_json::json!("champion")), "{}", alias_of(2));
    assert!(alias_of(3).as_array().unwrap().contains(&serde_json::json!("challenger")), "{}", alias_of(3));
}

#[test]
fn mlflow_tracking_uri_reaches_the_real_server_and_unknown_models_are_not_found() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let out = steward_env(home.path(), &["models"], &[("MLFLOW_TRACKING_URI", &stack.mlflow)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("income-classifier") && stdout(&out).contains("champion->2"), "{}", stdout(&out));

    let out = steward(home.path(), &["versions", "no-such-model", "--registry", &stack.mlflow]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("not found") && stderr(&out).contains("no-such-model"), "{}", stderr(&out));
}

#[test]
fn the_window_lists_the_real_mlflow_models() {
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use steward::config::{Home, Origin, Profiles, RegistrySpec};

    let stack = stack();
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    let ctx = steward::config::Context {
        profiles: Profiles::default(),
        home,
        profile: None,
        spec: RegistrySpec::mlflow(stack.mlflow.clone()),
        origin: Origin::Flag,
        timeout: steward::config::DEFAULT_TIMEOUT,
        policy: Default::default(),
    };
    let app = steward::ui::StewardApp::new(ctx, Default::default());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut steward::ui::StewardApp| app.show(ui), app);
    let wait_for = |h: &mut Harness<'_, steward::ui::StewardApp>, label: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while h.query_all_by_label_contains(label).next().is_none() {
            h.step();
            assert!(std::time::Instant::now() < deadline, "'{label}' never appeared");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    wait_for(&mut h, "Registry: connected");
    // The list arrives after the connection check (and the stack may still be seeding MLflow).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while h.query_all_by_label("income-classifier").next().is_none() {
        h.step();
        assert!(std::time::Instant::now() < deadline, "income-classifier never listed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.get_by_label("income-classifier").click();
    wait_for(&mut h, "champion: v2");
    wait_for(&mut h, "Versions (3)");
    assert!(h.query_all_by_label("income-classifier").next().is_some());
    assert!(h.query_all_by_label(&stack.second_model).next().is_some(), "{} missing", stack.second_model);
    assert!(h.query_all_by_label_contains("Registry: connected").next().is_some());
}
