//! `steward quality` on a prediction log and a late label log (missing, duplicate and unknown ids)
//! against scikit-learn 1.9 and statsmodels 0.15 per (version, day): tests/fixtures/quality, made by
//! scripts/oracles/quality.py.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn quality_per_version_and_day_equals_scikit_learn_and_the_join_counts_everything() {
    let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quality");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(f.join("expected.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (p, l) = (f.join("predictions.csv"), f.join("labels.csv"));
    let o = steward(
        dir.path(),
        &[
            "quality", p.to_str().unwrap(), "--labels", l.to_str().unwrap(), "--id", "request_id", "--label-id", "id", "--label", "label",
            "--labelled-at", "labelled_at", "--prediction", "prediction", "--score", "score", "--time", "time", "--version", "model_version",
            "--format", "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let got = json(&o);
    for k in ["label_rows", "duplicate_label_ids", "labels_for_unknown_ids", "predictions_without_label"] {
        assert_eq!(got["join"][k], expected["join"][k], "join: {k}");
    }
    let windows = got["windows"].as_array().unwrap();
    assert_eq!(windows.len(), expected["windows"].as_array().unwrap().len());
    for e in expected["windows"].as_array().unwrap() {
        let w = windows.iter().find(|w| w["version"] == e["version"] && w["window"] == e["window"]).unwrap_or_else(|| panic!("no window {e}"));
        let what = format!("v{} {}", e["version"], e["window"]);
        assert_eq!(w["rows"], e["rows"], "{what}: rows (unlabelled counted, not dropped)");
        assert_eq!(w["labelled"], e["labelled"], "{what}: labelled");
        for m in ["accuracy", "precision", "recall", "f1", "roc_auc", "labelled_share"] {
            let ex: Vec<f64> = e[m].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
            let ours = [w[m]["value"].as_f64(), w[m]["low"].as_f64(), w[m]["high"].as_f64()];
            for (o, x) in ours.iter().zip(&ex) {
                let o = o.unwrap_or_else(|| panic!("{what}: no {m}"));
                assert!((o - x).abs() <= 1e-9, "{what}: {m} ours {ours:?}, scikit-learn/statsmodels {ex:?}");
            }
        }
    }
    // The table says what the join did.
    let o = steward(
        dir.path(),
        &[
            "quality", p.to_str().unwrap(), "--labels", l.to_str().unwrap(), "--id", "request_id", "--label-id", "id", "--label", "label",
            "--labelled-at", "labelled_at", "--prediction", "prediction", "--time", "time", "--version", "model_version",
        ],
    );
    let out = stdout(&o);
    assert!(out.contains("25 duplicate ids, latest kept; 10 for ids no prediction has") && out.contains("predictions without a label: 180"), "{out}");
    // A label column that does not exist names the file and the columns.
    let o = steward(dir.path(), &["quality", p.to_str().unwrap(), "--label", "nope", "--prediction", "prediction", "--time", "time"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("column 'nope': no such column; the file has: request_id, time"), "{}", stderr(&o));
}

#[test]
fn quality_rules_exit_3_naming_the_version_and_window() {
    let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quality");
    let dir = tempfile::tempdir().unwrap();
    let p = f.join("predictions.csv");
    let run = |rule: &str| {
        steward(dir.path(), &["quality", p.to_str().unwrap(), "--label", "score", "--prediction", "prediction", "--time", "time", "--version", "model_version", "--rule", rule])
    };
    // `run` reads labels from the log (only to see a drift rule refused); `joined` is the real join.
    let l = f.join("labels.csv");
    let joined = |rule: &str| {
        steward(
            dir.path(),
            &[
                "quality", p.to_str().unwrap(), "--labels", l.to_str().unwrap(), "--id", "request_id", "--label-id", "id", "--label", "label",
                "--labelled-at", "labelled_at", "--prediction", "prediction", "--time", "time", "--version", "model_version", "--rule", rule,
            ],
        )
    };
    // v1 on the 3rd is at 0.592, v2 on the 3rd at 0.725 (scikit-learn, tests above).
    let o = joined("accuracy < 0.7");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("1 rule firing(s): accuracy < 0.7 for v1 in 2026-11-03 (0.5917)"), "{e}");
    let o = joined("accuracy < 0.5");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run("psi(age) > 0.2");
    assert_eq!(o.status.code(), Some(2), "a drift rule is refused by quality: {}", stderr(&o));
}
