//! Audit reports of income-classifier in the real MLflow of the test stack (with Prometheus for serving
//! health), checked against MLflow's own REST answers read with a plain HTTP client.
//! Needs the stack (`scripts/stack start`, or `scripts/test`): fails, never skips, without it.

mod common;

use common::report::*;
use common::*;
use serde_json::Value;

const MODEL: &str = "income-classifier";
const PASSWORD: &str = "pw-SECRET-91a7";
const TOKEN: &str = "tok-SECRET-77c3";

#[test]
fn a_report_of_the_real_mlflow_model_shows_what_mlflow_says() {
    let s = stack();
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    // A profile with Prometheus (serving health) and the registry; the run itself uses a URL with
    // userinfo, which must never be printed.
    let o = steward(home, &["--registry", &s.mlflow, "profile", "add", "stack", "--prometheus", &s.prometheus, "--activate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let with_userinfo = s.mlflow.replacen("://", &format!("://reviewer:{PASSWORD}@"), 1);
    let r = render_all(home, &["--registry", &with_userinfo], MODEL, &["--since", "2026-01-01"], &[("MLFLOW_TRACKING_TOKEN", TOKEN)]);

    // The oracle: MLflow's REST API.
    let model = http_get_json(&format!("{}/api/2.0/mlflow/registered-models/get?name={MODEL}", s.mlflow));
    let aliases: Vec<(String, String)> = model["registered_model"]["aliases"]
        .as_array()
        .map(|a| a.iter().map(|x| (x["alias"].as_str().unwrap_or_default().to_string(), x["version"].as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    assert!(!aliases.is_empty(), "the stack's model has aliases: {model}");
    let found = http_get_json(&format!("{}/api/2.0/mlflow/model-versions/search?filter=name%3D%27{MODEL}%27", s.mlflow));
    let versions: Vec<String> = found["model_versions"].as_array().expect("versions").iter().filter_map(|v| v["version"].as_str().map(String::from)).collect();
    assert!(versions.len() >= 3, "{found}");

    let (ok, msg) = verify(home, &r.json);
    assert!(ok, "{msg}");
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&r.json).expect("json")).expect("json");
    let mut in_report: Vec<String> = data["versions"].as_array().expect("versions").iter().map(|v| v["version"].to_string()).collect();
    let mut expected = versions.clone();
    in_report.sort();
    expected.sort();
    assert_eq!(in_report, expected, "the report's versions are MLflow's");
    assert!(data["health"]["source"].as_str().is_some_and(|x| x.contains("Prometheus")), "{}", data["health"]);
    assert_ne!(data["health"]["status"], "error", "{}", data["health"]);

    let text = pdf_text(&r.pdf);
    for v in &versions {
        assert!(text.contains(&format!("v{v}")), "PDF lacks v{v}");
    }
    for (alias, v) in &aliases {
        assert!(text.contains(&format!("{alias} → v{v}")), "PDF lacks {alias} → v{v}");
    }
    assert!(text.contains("Serving health") && text.contains("MLflow at"), "sections and the registry");

    let html = std::fs::read_to_string(&r.html).expect("html");
    assert!(!html.to_ascii_lowercase().contains("<script") && external_refs(&html).is_empty());
    let files = csv_files(&r.csv);
    assert!(files.iter().any(|(n, _)| n == "versions.csv"));

    let mut everything = vec![std::fs::read_to_string(&r.json).expect("json"), html, text];
    everything.extend(files.into_iter().map(|(_, t)| t));
    for out in &everything {
        assert!(!out.contains(PASSWORD) && !out.contains(TOKEN) && !out.contains("reviewer:"), "a credential leaked into a report");
    }
}
