//! Steward's fairness engine against Fairlearn 0.15's numbers for UCI Adult
//! (tests/fixtures/adult/adult_expected.json): by sex, by race, by sex x race, through the library and
//! through `steward fairness ... --format json --fairlearn-compat`.
//!
//! The fixture records rates rounded to 6 decimals, so each recorded number is checked two ways:
//! Steward's value rounded to 6 decimals must equal it exactly, and every per-group rate must equal the
//! same ratio computed from the fixture's exact confusion counts to 1e-9.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use steward::fairness::{Progress, Spec, analyze};

const METRICS: [&str; 7] = [
    "count",
    "selection_rate",
    "false_positive_rate",
    "false_negative_rate",
    "true_positive_rate",
    "precision",
    "accuracy",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adult").join(name)
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture("adult_expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `ours` rounded to 6 decimals is exactly the recorded number.
fn same6(what: &str, ours: &Value, recorded: &Value) {
    let r = recorded.as_f64().unwrap_or_else(|| panic!("{what}: fixture has no number: {recorded}"));
    let o = ours.as_f64().unwrap_or_else(|| panic!("{what}: Steward gave no number: {ours} (fixture {r})"));
    let rounded: f64 = format!("{o:.6}").parse().unwrap();
    assert!(rounded == r && (o - r).abs() <= 5e-7 + 1e-12, "{what}: Steward {o} vs Fairlearn {r}");
}

/// Rates recomputed from the fixture's exact counts (Fairlearn divides the same integers in float64).
fn exact_rate(metric: &str, e: &Value) -> f64 {
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

fn check_group(what: &str, ours: &Value, recorded: &Value) {
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
fn check_report(report: &Value, by: &str, disparities: &str) {
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

fn spec(groups: &[&str], compat: bool) -> Spec {
    let mut s = Spec::new(groups, "label", Spec::prediction("prediction"));
    s.fairlearn_compat = compat;
    s
}

#[test]
fn fixture_is_the_recorded_file() {
    // The fixture's sha256 is recorded in adult_expected.json; a changed CSV would make the oracle lie.
    let exp = expected();
    assert_eq!(exp["predictions_file"]["columns"][1], "sex");
    let bytes = std::fs::read(fixture("adult_predictions.csv")).unwrap();
    assert_eq!(bytes.len(), 1_352_762);
    assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 32_562);
}

#[test]
fn library_reproduces_fairlearn_by_sex_race_and_intersection() {
    for compat in [true, false] {
        for (cols, by, disp) in [
            (&["sex"][..], "by_sex", "disparities_sex"),
            (&["race"][..], "by_race", "disparities_race"),
            (&["sex", "race"][..], "by_sex_x_race", "disparities_sex_x_race"),
        ] {
            let report = analyze(&fixture("adult_predictions.csv"), &spec(cols, compat), &Progress::new()).unwrap();
            assert_eq!(report.rows, 32_561);
            assert_eq!(report.skipped_rows, 0);
            // Typed access agrees with the JSON.
            let overall = &report.main.overall;
            assert_eq!((overall.confusion.tp, overall.confusion.fp), (3088, 1291));
            check_report(&serde_json::to_value(&report).unwrap(), by, disp);
        }
    }
}

#[test]
fn intersection_report_also_has_each_column_alone() {
    let report = analyze(&fixture("adult_predictions.csv"), &spec(&["sex", "race"], true), &Progress::new()).unwrap();
    let v = serde_json::to_value(&report).unwrap();
    check_report(&v["marginals"]["sex"], "by_sex", "disparities_sex");
    check_report(&v["marginals"]["race"], "by_race", "disparities_race");
}

fn cli_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_steward")).args(args).output().unwrap();
    assert!(out.status.success(), "steward {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn command_line_reproduces_fairlearn() {
    let file = fixture("adult_predictions.csv");
    let file = file.to_str().unwrap();
    for (group, by, disp) in
        [("sex", "by_sex", "disparities_sex"), ("race", "by_race", "disparities_race"), ("sex,race", "by_sex_x_race", "disparities_sex_x_race")]
    {
        let v = cli_json(&[
            "fairness",
            file,
            "--group",
            group,
            "--label",
            "label",
            "--prediction",
            "prediction",
            "--format",
            "json",
            "--fairlearn-compat",
        ]);
        assert_eq!(v["fairlearn_compat"], true);
        check_report(&v, by, disp);
    }
}

#[test]
fn command_line_score_threshold_matches_prediction_column() {
    // prediction = score > 0.5 in the fixture; no score equals 0.5 exactly, so >= 0.5 gives the same counts.
    let file = fixture("adult_predictions.csv");
    let v = cli_json(&[
        "fairness",
        file.to_str().unwrap(),
        "--group",
        "sex",
        "--label",
        "label",
        "--score",
        "score",
        "--threshold",
        "0.5",
        "--format",
        "json",
        "--fairlearn-compat",
    ]);
    check_report(&v, "by_sex", "disparities_sex");
    // The sweep at 0.50 is the same confusion matrix.
    let sweep = &v["threshold_sweep"];
    assert_eq!(sweep["thresholds"].as_array().unwrap().len(), 101);
    let sr = sweep["overall"]["selection_rate"][50].as_f64().unwrap();
    assert!((sr - v["overall"]["selection_rate"].as_f64().unwrap()).abs() < 1e-15);
    assert_eq!(sweep["overall"]["selection_rate"][0].as_f64(), Some(1.0));
}
