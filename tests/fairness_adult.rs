//! Steward's fairness engine against Fairlearn 0.15's numbers for UCI Adult
//! (tests/fixtures/adult/adult_expected.json): by sex, by race, by sex x race, through the library and
//! through `steward fairness ... --format json --fairlearn-compat`.
//! The checks (tests/common/adult.rs) compare every recorded number rounded to 6 decimals and to 1e-9
//! of the rates from the fixture's exact counts.

mod common;

use std::process::Command;

use common::adult::*;
use serde_json::Value;
use steward::fairness::{Progress, Spec, analyze};

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
