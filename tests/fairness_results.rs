//! Fairness numbers on small hand-counted data: undefined rates (null + reason, or Fairlearn's 0.0),
//! empty intersections, per-window and per-version sections, the reference group and four-fifths flags,
//! the threshold sweep, Wilson intervals, small-group warnings.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use steward::fairness::{Confusion, Progress, Report, Spec, Window, Z95, analyze, wilson};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fairness").join(name)
}

fn run(path: &Path, spec: &Spec) -> Report {
    analyze(path, spec, &Progress::new()).unwrap()
}

fn conf(v: &Value) -> [u64; 4] {
    ["tp", "fp", "tn", "fn"].map(|k| v[k].as_u64().unwrap())
}

fn group<'a>(section: &'a Value, key: &str) -> &'a Value {
    section["groups"].as_array().unwrap().iter().find(|g| g["key"] == key).unwrap_or_else(|| panic!("no group {key}"))
}

/// Group A has no actual positives and nothing predicted positive; B is ordinary.
const NO_POSITIVES: &str = "g,label,prediction\nA,0,0\nA,0,0\nA,0,0\nB,1,1\nB,0,1\nB,1,0\nB,0,0\n";

#[test]
fn rate_with_zero_denominator_is_null_with_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "nopos.csv", NO_POSITIVES);
    let r = serde_json::to_value(run(&p, &Spec::new(&["g"], "label", Spec::prediction("prediction")))).unwrap();
    let a = group(&r, "A");
    assert_eq!(conf(a), [0, 0, 3, 0]);
    assert_eq!(a["true_positive_rate"], Value::Null);
    assert_eq!(a["false_negative_rate"], Value::Null);
    assert_eq!(a["precision"], Value::Null);
    assert_eq!(a["false_positive_rate"], json!(0.0));
    assert_eq!(a["undefined"]["true_positive_rate"], "n/a: group has no actual positives");
    assert_eq!(a["undefined"]["false_negative_rate"], "n/a: group has no actual positives");
    assert_eq!(a["undefined"]["precision"], "n/a: group has no predicted positives");
    assert_eq!(a["intervals"]["true_positive_rate"], Value::Null);
    // Undefined values are skipped across groups (as pandas skips NaN): B alone sets the TPR spread.
    assert_eq!(r["metrics"]["true_positive_rate"]["difference_between_groups"], json!(0.0));
    assert_eq!(r["disparities"]["equal_opportunity_ratio"], json!(1.0));
    assert_eq!(r["disparities"]["demographic_parity_difference"], json!(0.5));
}

#[test]
fn fairlearn_compat_gives_zero_for_undefined_rates() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "nopos.csv", NO_POSITIVES);
    let mut spec = Spec::new(&["g"], "label", Spec::prediction("prediction"));
    spec.fairlearn_compat = true;
    let r = serde_json::to_value(run(&p, &spec)).unwrap();
    let a = group(&r, "A");
    for m in ["true_positive_rate", "false_negative_rate", "precision"] {
        assert_eq!(a[m], json!(0.0), "{m}");
    }
    // Fairlearn's 0.0 drags the ratio to 0 and widens the difference.
    assert_eq!(r["disparities"]["equal_opportunity_ratio"], json!(0.0));
    assert_eq!(r["disparities"]["equal_opportunity_difference"], json!(0.5));

    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["fairness", p.to_str().unwrap(), "--group", "g", "--label", "label", "--prediction", "prediction"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(group(&v, "A")["true_positive_rate"], Value::Null);
    assert_eq!(group(&v, "A")["undefined"]["true_positive_rate"], "n/a: group has no actual positives");
}

#[test]
fn nothing_predicted_positive_leaves_precision_undefined() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "none.csv", "g,label,prediction\nA,1,0\nA,0,0\nB,1,1\nB,0,0\n");
    let r = serde_json::to_value(run(&p, &Spec::new(&["g"], "label", Spec::prediction("prediction")))).unwrap();
    let a = group(&r, "A");
    assert_eq!(a["selection_rate"], json!(0.0));
    assert_eq!(a["precision"], Value::Null);
    assert_eq!(a["true_positive_rate"], json!(0.0));
    assert_eq!(a["intervals"]["selection_rate"][0], json!(0.0));
}

#[test]
fn empty_intersections_are_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "x.csv", "sex,race,label,prediction\nF,A,1,1\nF,B,0,1\nM,A,1,0\n");
    let r = serde_json::to_value(run(&p, &Spec::new(&["sex", "race"], "label", Spec::prediction("prediction")))).unwrap();
    let keys: Vec<&str> = r["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["F|A", "F|B", "M|A"]); // no M|B
    assert_eq!(group(&r, "F|B")["group"], json!({"sex": "F", "race": "B"}));
    assert_eq!(r["marginals"]["race"]["groups"].as_array().unwrap().len(), 2);
}

#[test]
fn per_day_week_and_version_match_hand_counts() {
    let mut spec = Spec::new(&["sex"], "label", Spec::prediction("prediction"));
    spec.time = Some("ts".into());
    spec.version = Some("version".into());
    let r = serde_json::to_value(run(&fixture("windows.csv"), &spec)).unwrap();
    assert_eq!(conf(group(&r, "F")), [2, 1, 2, 0]);
    assert_eq!(conf(group(&r, "M")), [2, 1, 1, 1]);
    let days: Vec<(String, [u64; 4], [u64; 4])> = r["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let c = |k: &str| w["groups"].as_array().unwrap().iter().find(|g| g["key"] == k).map(conf).unwrap_or([0; 4]);
            (w["window"].as_str().unwrap().to_string(), c("F"), c("M"))
        })
        .collect();
    assert_eq!(
        days,
        vec![
            ("2024-03-03".to_string(), [1, 0, 0, 0], [0, 1, 0, 0]),
            ("2024-03-04".to_string(), [1, 0, 1, 0], [0, 0, 0, 1]),
            ("2024-03-05".to_string(), [0, 1, 0, 0], [1, 0, 0, 0]),
            ("2024-03-11".to_string(), [0, 0, 1, 0], [1, 0, 1, 0]),
        ]
    );
    let versions: Vec<(String, [u64; 4], [u64; 4])> = r["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_str().unwrap().to_string(), conf(group(v, "F")), conf(group(v, "M"))))
        .collect();
    assert_eq!(
        versions,
        vec![("v1".to_string(), [1, 1, 1, 0], [1, 1, 0, 0]), ("v2".to_string(), [1, 0, 1, 0], [1, 0, 1, 1])]
    );
    spec.window = Window::Week;
    let r = serde_json::to_value(run(&fixture("windows.csv"), &spec)).unwrap();
    let weeks: Vec<(&str, &str, u64)> = r["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["window"].as_str().unwrap(), w["iso_week"].as_str().unwrap(), w["overall"]["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(weeks, vec![("2024-02-26", "2024-W09", 2), ("2024-03-04", "2024-W10", 5), ("2024-03-11", "2024-W11", 3)]);
    assert_eq!(conf(group(&r["windows"][1], "F")), [1, 1, 1, 0]);
    assert_eq!(conf(group(&r["windows"][1], "M")), [1, 0, 0, 1]);
}

#[test]
fn reference_group_and_four_fifths_flags() {
    // selection rates: A 8/10, B 5/10, C 9/10 (C largest with 20 rows? no: sizes 10, 10, 20)
    let mut text = String::from("g,label,prediction\n");
    for (g, n, sel) in [("A", 10, 8), ("B", 10, 5), ("C", 20, 18)] {
        for i in 0..n {
            text.push_str(&format!("{g},{},{}\n", i % 2, u8::from(i < sel)));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "ref.csv", &text);
    let mut spec = Spec::new(&["g"], "label", Spec::prediction("prediction"));
    let r = serde_json::to_value(run(&p, &spec)).unwrap();
    let rf = &r["reference"];
    assert_eq!(rf["key"], "C");
    assert_eq!(rf["chosen"], "largest");
    assert_eq!(rf["flagged"], json!(["B"])); // 0.5/0.9 = 0.556 < 0.8; A: 0.8/0.9 = 0.889
    let b = rf["groups"].as_array().unwrap().iter().find(|g| g["key"] == "B").unwrap();
    let ratio = b["metrics"]["selection_rate"]["ratio"].as_f64().unwrap();
    assert!((ratio - 0.5 / 0.9).abs() < 1e-12);
    spec.reference = Some("B".into());
    spec.four_fifths = (0.9, 1.1);
    let r = serde_json::to_value(run(&p, &spec)).unwrap();
    assert_eq!(r["reference"]["key"], "B");
    assert_eq!(r["reference"]["chosen"], "given");
    assert_eq!(r["reference"]["flagged"], json!(["A", "C"]));
    spec.reference = Some("Z".into());
    let e = analyze(&p, &spec, &Progress::new()).unwrap_err();
    assert!(e.to_string().contains("--reference 'Z' is not a group"), "{e}");
}

#[test]
fn threshold_sweep_counts_scores_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "s.csv",
        "g,label,score\nA,1,0.10\nA,0,0.30\nA,1,0.30\nA,0,0.995\nB,1,1.0\nB,0,0.0\nB,1,-0.2\nB,0,0.5\n",
    );
    let r = serde_json::to_value(run(&p, &Spec::new(&["g"], "label", Spec::score("score", 0.3)))).unwrap();
    // At 0.3: A predicted positive for 0.30, 0.30, 0.995 -> tp 1, fp 2, fn 1.
    assert_eq!(conf(group(&r, "A")), [1, 2, 0, 1]);
    let s = &r["threshold_sweep"];
    let a = s["groups"].as_array().unwrap().iter().find(|c| c["key"] == "A").unwrap();
    let sel = |k: usize| a["selection_rate"][k].as_f64().unwrap();
    assert_eq!((sel(0), sel(10), sel(11), sel(30), sel(31), sel(99), sel(100)), (1.0, 1.0, 0.75, 0.75, 0.25, 0.25, 0.0));
    let b = s["groups"].as_array().unwrap().iter().find(|c| c["key"] == "B").unwrap();
    // B: scores 1.0 (pos), 0.0 (neg), -0.2 (pos), 0.5 (neg)
    assert_eq!(b["true_positive_rate"][0], json!(0.5));
    assert_eq!(b["true_positive_rate"][100], json!(0.5));
    assert_eq!(b["false_positive_rate"][0], json!(1.0));
    assert_eq!(b["false_positive_rate"][50], json!(0.5));
    assert_eq!(b["false_positive_rate"][51], json!(0.0));
    assert_eq!(s["thresholds"][37], json!(0.37));
}

#[test]
fn wilson_interval_known_values() {
    let (lo, hi) = wilson(5, 10, Z95).unwrap();
    assert!((lo - 0.2366).abs() < 5e-5 && (hi - 0.7634).abs() < 5e-5, "{lo} {hi}");
    let (lo, hi) = wilson(0, 10, Z95).unwrap();
    assert!(lo == 0.0 && (hi - 0.2775).abs() < 5e-5, "{lo} {hi}");
    let (lo, hi) = wilson(10, 10, Z95).unwrap();
    assert!((lo - 0.7225).abs() < 5e-5 && hi == 1.0, "{lo} {hi}");
    // 425/1179 (Female TPR in UCI Adult), the textbook formula evaluated separately in Python
    let (lo, hi) = wilson(425, 1179, Z95).unwrap();
    assert!((lo - 0.333_562_147).abs() < 1e-9 && (hi - 0.388_294_068).abs() < 1e-9, "{lo} {hi}");
    assert_eq!(wilson(0, 0, Z95), None);
}

#[test]
fn small_groups_are_warned_about() {
    let c = Confusion { tp: 2, fp: 1, tn: 40, fn_: 3 };
    let w = steward::fairness::SmallGroupRule::default().warnings(&c);
    assert!(w.iter().any(|s| s.starts_with("true_positive_rate: only 5 actual positives")), "{w:?}");
    assert!(w.iter().any(|s| s.starts_with("selection_rate: 3 predicted positives of 46 rows")), "{w:?}");
    let tiny = Confusion { tp: 1, fp: 1, tn: 1, fn_: 1 };
    assert_eq!(steward::fairness::SmallGroupRule::default().warnings(&tiny), vec!["only 4 rows (< 30): too small to judge"]);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "nopos.csv", NO_POSITIVES);
    let r = run(&p, &Spec::new(&["g"], "label", Spec::prediction("prediction")));
    assert!(r.main.warnings.iter().any(|w| w.starts_with("A: only 3 rows")), "{:?}", r.main.warnings);
}
