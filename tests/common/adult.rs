//! UCI Adult with Fairlearn 0.15's expected numbers (tests/fixtures/adult/adult_expected.json): the
//! checks shared by the file engine's tests and the SQL engines' (pushdown) tests.
//!
//! The fixture records rates rounded to 6 decimals, so each recorded number is checked two ways:
//! Steward's value rounded to 6 decimals must equal it exactly, and every per-group rate must equal the
//! same ratio computed from the fixture's exact confusion counts to 1e-9.

use std::path::{Path, PathBuf};

use serde_json::Value;

pub const METRICS: [&str; 7] = [
    "count",
    "selection_rate",
    "false_positive_rate",
    "false_negative_rate",
    "true_positive_rate",
    "precision",
    "accuracy",
];

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adult").join(name)
}

pub fn expected() -> Value {
    let text = std::fs::read_to_string(fixture("adult_expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `ours` rounded to 6 decimals is exactly the recorded number.
pub fn same6(what: &str, ours: &Value, recorded: &Value) {
    let r = recorded.as_f64().unwrap_or_else(|| panic!("{what}: fixture has no number: {recorded}"));
    let o = ours.as_f64().unwrap_or_else(|| panic!("{what}: Steward gave no number: {ours} (fixture {r})"));
    let rounded: f64 = format!("{o:.6}").parse().unwrap();
    assert!(rounded == r && (o - r).abs() <= 5e-7 + 1e-12, "{what}: Steward {o} vs Fairlearn {r}");
}

/// Rates recomputed from the fixture's exact counts (Fairlearn divides the same integers in float64).
pub fn exact_rate(metric: &str, e: &Value) -> f64 {
    let c = |k: &str| e[k].as_f64().unwrap();
    let (tp, fp, tn, fn_) = (c("tp"), c("fp"), c("tn"), c("fn"));
    match metric {
        "count" => tp + fp + tn + fn_,
        "selection_rate" => (tp + fp) / (tp + fp + tn + fn_),
        "false_positive_rate" => fp / (fp + tn),
        "false_negative_rate" => fn_ / (fn_ + tp),
        "true_positive_rate" => tp / (tp + fn_),
        "precision" => tp / (tp + fp),
        "accuracy" => (tp + tn) / (tp + fp + tn + fn_),
        _ => unreachable!(),
    }
}

pub fn check_group(what: &str, ours: &Value, recorded: &Value) {
    for k in ["tp", "fp", "tn", "fn", "count"] {
        assert_eq!(ours[k].as_u64(), recorded[k].as_u64(), "{what}: {k}");
    }
    for m in METRICS {
        same6(&format!("{what}: {m}"), &ours[m], &recorded[m]);
        let o = ours[m].as_f64().unwrap();
        let exact = exact_rate(m, recorded);
        assert!((o - exact).abs() <= 1e-9, "{what}: {m}: Steward {o} vs exact {exact}");
    }
}

/// Checks one grouping of the fixture against Steward's JSON report.
pub fn check_report(report: &Value, by: &str, disparities: &str) {
    let exp = expected();
    let e = &exp[by];
    check_group(&format!("{by} overall"), &report["overall"], &e["overall"]);
    let groups = report["groups"].as_array().unwrap();
    let recorded = e["by_group"].as_object().unwrap();
    assert_eq!(groups.len(), recorded.len(), "{by}: number of groups");
    for (key, rec) in recorded {
        let ours = groups.iter().find(|g| g["key"] == key.as_str()).unwrap_or_else(|| panic!("{by}: no group {key}"));
        check_group(&format!("{by} {key}"), ours, rec);
        let parts: Vec<&str> = key.split('|').collect();
        let cols = e["sensitive_features"].as_array().unwrap();
        for (c, v) in cols.iter().zip(parts) {
            assert_eq!(ours["group"][c.as_str().unwrap()], v, "{by} {key}: group object");
        }
    }
    for section in [
        "group_min",
        "group_max",
        "difference_between_groups",
        "ratio_between_groups",
        "difference_to_overall",
        "ratio_to_overall",
    ] {
        for m in METRICS {
            same6(&format!("{by} {section} {m}"), &report["metrics"][m][section], &e[section][m]);
        }
    }
    let d = exp[disparities].as_object().unwrap();
    let mut checked = 0;
    for (k, v) in d {
        if k == "warnings" {
            assert_eq!(v.as_array().map(Vec::len), Some(0));
            continue;
        }
        same6(&format!("{disparities} {k}"), &report["disparities"][k], v);
        checked += 1;
    }
    assert_eq!(checked, 12, "{disparities}: all disparity functions checked");
    assert_eq!(e["warnings_during_metricframe"].as_array().map(Vec::len), Some(0));
}

