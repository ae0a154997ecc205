//! Audit reports of the sample workspace in all four formats, checked against independent oracles:
//! assets/sample/versions.json, `steward fairness --format json`, `steward audit verify`, poppler's
//! pdftotext, headless Chromium.

mod common;

use std::path::Path;

use common::report::*;
use common::*;
use serde_json::Value;

const MODEL: &str = "income-classifier";

struct Sample {
    _dir: tempfile::TempDir,
    home: std::path::PathBuf,
    rendered: Rendered,
    log: String,
}

/// The sample workspace, a promote and a rollback through the CLI, then the report in every format.
fn sample() -> Sample {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().to_path_buf();
    assert!(steward(&home, &["sample"]).status.success());
    for args in [
        &["promote", MODEL, "3", "--alias", "champion", "--reason", "v3 is more accurate", "--yes", "--confirm", MODEL, "--override-gates"][..],
        &["rollback", MODEL, "--alias", "champion", "--reason", "fairness gap by sex", "--yes", "--confirm", MODEL][..],
    ] {
        let o = steward(&home, args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let log = home.join("data/sample/predictions.csv").to_string_lossy().into_owned();
    let rendered = render_all(&home, &[], MODEL, &["--fairness-log", &log], &[]);
    Sample { _dir: dir, home, rendered, log }
}

fn sample_accuracies() -> Vec<(u64, f64)> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(repo().join("assets/sample/versions.json")).expect("versions.json"))
        .expect("json");
    v["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|x| (x["version"].as_u64().expect("version"), x["metrics"]["accuracy"].as_f64().expect("accuracy")))
        .collect()
}

/// Demographic parity difference of one version, from `steward fairness` (the fairness engine's own CLI).
fn dpd_of(home: &Path, log: &str, version: &str) -> f64 {
    let o = steward(
        home,
        &["fairness", log, "--group", "sex", "--label", "label", "--prediction", "prediction", "--version", "model_version", "--format", "json"],
    );
    let v = json(&o);
    let section = v["versions"].as_array().expect("versions").iter().find(|s| s["version"] == version).expect("the version's section");
    section["disparities"]["demographic_parity_difference"].as_f64().expect("dpd")
}

fn head_hash(home: &Path) -> String {
    let o = steward(home, &["audit", "verify"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    out.split_whitespace().skip_while(|w| *w != "head").nth(1).expect("head hash").to_string()
}

#[test]
fn the_sample_report_in_every_format_shows_what_the_sources_say() {
    let s = sample();
    let head = head_hash(&s.home);
    assert_eq!(head.len(), 64);
    let dpd_v2 = format!("{:.4}", dpd_of(&s.home, &s.log, "2"));
    let accuracies: Vec<String> = sample_accuracies().iter().map(|(_, a)| format!("{a:.4}")).collect();

    // JSON: verifies; the numbers are the registry's.
    let (ok, msg) = verify(&s.home, &s.rendered.json);
    assert!(ok, "{msg}");
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&s.rendered.json).expect("json")).expect("json");
    assert_eq!(data["schema"], "steward.report/1");
    assert_eq!(data["audit"]["verification"]["head"], head.as_str());
    for (v, a) in sample_accuracies() {
        let card = data["versions"].as_array().expect("versions").iter().find(|c| c["version"] == v).expect("version");
        assert_eq!(card["metrics"]["accuracy"].as_f64(), Some(a));
    }
    let reasons: Vec<&str> = data["timeline"].as_array().expect("timeline").iter().filter_map(|e| e["reason"].as_str()).collect();
    // The sample's aliases that existed before its first promote come first (issue 12, item 13).
    assert_eq!(reasons, ["first seen by Steward", "first seen by Steward", "v3 is more accurate", "fairness gap by sex"]);

    // Quality and drift by week: the numbers of `steward quality` (with the sample's label log, named by
    // the model's label_log tag) and `steward drift` (first 7 days as the reference) on the same files.
    let labels = s.home.join("data/sample/labels.csv");
    let o = steward(
        &s.home,
        &[
            "quality", &s.log, "--labels", labels.to_str().unwrap(), "--id", "request_id", "--label", "label", "--prediction", "prediction", "--score", "score", "--time", "timestamp",
            "--window", "1w", "--version", "model_version", "--format", "json",
        ],
    );
    let q: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let m = &data["monitoring"];
    assert!(m["labels"].as_str().unwrap_or_default().contains("labels.csv"), "{}", m["labels"]);
    let rows = m["quality"].as_array().expect("quality rows");
    assert_eq!(rows.len(), q["windows"].as_array().unwrap().len());
    for (r, w) in rows.iter().zip(q["windows"].as_array().unwrap()) {
        assert_eq!((&r["version"], &r["window"], &r["labelled"]), (&w["version"], &w["window"], &w["labelled"]));
        assert_eq!((&r["accuracy"], &r["roc_auc"]), (&w["accuracy"], &w["roc_auc"]), "{} {}", w["version"], w["window"]);
        assert!(r["roc_auc"].is_object(), "ROC AUC from the score column");
    }
    let o = steward(&s.home, &["drift", &s.log, "--reference-days", "7", "--time", "timestamp", "--window", "1w", "--exclude", "label,request_id", "--format", "json"]);
    let d: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let drift_rows = m["drift"].as_array().expect("drift rows");
    assert_eq!(drift_rows.len(), d["windows"].as_array().unwrap().len());
    for (r, w) in drift_rows.iter().zip(d["windows"].as_array().unwrap()) {
        assert_eq!((&r["window"], &r["drifted_columns"]), (&w["label"], &w["drifted_columns"]));
        assert!(r["top"][0].as_str().unwrap().starts_with(w["columns"][0]["column"].as_str().unwrap()));
    }
    assert!(drift_rows.last().unwrap()["drifted_columns"].as_u64() > Some(0), "the sample's shifted week drifts");

    // PDF: read back by pdftotext.
    let text = pdf_text(&s.rendered.pdf);
    let w44 = rows.iter().find(|r| r["version"] == "2" && r["window"] == "2026-W44").expect("v2 W44");
    let acc = format!("{:.4} [{:.4}, {:.4}]", w44["accuracy"]["value"].as_f64().unwrap(), w44["accuracy"]["low"].as_f64().unwrap(), w44["accuracy"]["high"].as_f64().unwrap());
    assert!(text.contains(&acc), "PDF lacks v2's accuracy in the shifted week {acc}");
    // Table columns are at least as wide as their longest word: "succeeded" is never cut in two.
    assert!(text.contains("succeeded"), "no whole 'succeeded' in the PDF");
    assert!(!text.lines().any(|l| l.trim_end().ends_with("succeede")), "a word is cut across lines in the PDF");
    for title in ["Summary", "Model details", "Versions", "Quantitative analysis", "Quality and drift", "Quality by week", "Drift by week", "Champion vs challenger", "Fairness by group", "Alias timeline", "Serving health", "Alerts", "Audit log", "Considerations", "How this report was made"] {
        assert!(text.contains(title), "PDF lacks section {title}");
    }
    let summary_page = text.split('\u{c}').next().expect("page 1");
    assert!(summary_page.contains("Summary") && summary_page.contains(&head), "the summary page comes first and names the head hash");
    assert!(pdf_pages(&s.rendered.pdf) >= 3);
    assert!(text.contains("Page 1 of"), "page numbers");
    for v in ["v1", "v2", "v3"] {
        assert!(text.contains(v), "PDF lacks {v}");
    }
    assert!(text.contains("champion → v2") && text.contains("challenger → v3"), "aliases");
    for a in &accuracies {
        assert!(text.contains(a.as_str()), "PDF lacks accuracy {a}");
    }
    assert!(text.contains(&dpd_v2), "PDF lacks v2's demographic parity difference {dpd_v2}");
    assert!(text.contains(&head), "PDF lacks the head hash");
    assert!(text.contains("fairness gap by sex"), "PDF lacks the rollback reason");

    // HTML: self-contained, no script, same numbers; rendered by Chromium into a picture that is not blank.
    let html = std::fs::read_to_string(&s.rendered.html).expect("html");
    assert!(!html.to_ascii_lowercase().contains("<script"), "HTML has a script tag");
    assert!(external_refs(&html).is_empty(), "HTML refers outside itself: {:?}", external_refs(&html));
    assert!(html.contains("<svg"), "charts are inline SVG");
    for n in accuracies.iter().chain([&dpd_v2, &head]) {
        assert!(html.contains(n.as_str()), "HTML lacks {n}");
    }
    let png = screenshot(&s.rendered.html, &s.home.join("report.png"));
    assert!(distinct_colours(&png) > 20, "the screenshot is (nearly) uniform");
    assert!(inked(&png) > 0.01, "the screenshot has almost no ink");

    // CSV: a header row in every file; nothing a spreadsheet would read as a formula.
    let files = csv_files(&s.rendered.csv);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for expected in ["summary.csv", "versions.csv", "metrics.csv", "alias_timeline.csv", "audit_records.csv", "fairness_2.csv", "quality.csv", "drift.csv"] {
        assert!(names.contains(&expected), "CSV lacks {expected}: {names:?}");
    }
    for (name, text) in &files {
        let rows = csv_rows(text);
        assert!(!rows.is_empty() && rows[0].iter().all(|h| !h.is_empty()), "{name}: no header row");
        for r in &rows {
            assert!(r.len() <= rows[0].len(), "{name}: a row is wider than the header");
            for c in r {
                assert!(!c.starts_with(['=', '+', '-', '@', '\t', '\r']), "{name}: cell {c:?} is not neutralised");
            }
        }
    }
    // The model's description, as the registry holds it (assets/sample/versions.json), is in model.csv
    // as in HTML and JSON.
    let sample_json: Value = serde_json::from_str(&std::fs::read_to_string(repo().join("assets/sample/versions.json")).expect("versions.json")).expect("json");
    let description = sample_json["model"]["description"].as_str().expect("description");
    let model_csv = csv_rows(&files.iter().find(|(n, _)| n == "model.csv").expect("model.csv").1);
    assert!(model_csv.iter().any(|r| r.len() == 2 && r[0] == "Description" && r[1] == description), "{model_csv:?}");
    assert!(html.contains(&description.replace('\'', "&#39;")) || html.contains(description), "HTML has the description");
    let metrics = &files.iter().find(|(n, _)| n == "metrics.csv").expect("metrics").1;
    for a in &accuracies {
        assert!(metrics.contains(a.as_str()), "metrics.csv lacks {a}");
    }
}

/// Positions inside the JSON text where one byte is flipped: spread over the whole file.
fn flip(text: &[u8], at: usize) -> Vec<u8> {
    let mut b = text.to_vec();
    b[at] = match b[at] {
        d @ b'0'..=b'8' => d + 1,
        b'9' => b'0',
        b'x' => b'y',
        _ => b'x',
    };
    b
}

#[test]
fn any_edit_of_the_json_report_fails_verification_and_names_what_changed() {
    let s = sample();
    let text = std::fs::read(&s.rendered.json).expect("json");
    let edited = s.home.join("edited.json");
    let check = |bytes: &[u8]| -> String {
        std::fs::write(&edited, bytes).expect("write");
        let (ok, msg) = verify(&s.home, &edited);
        assert!(!ok, "an edited report verified: {msg}");
        msg
    };
    // A digit of a metric, a character of a reason: named by section.
    let find = |needle: &str| text.windows(needle.len()).position(|w| w == needle.as_bytes()).unwrap_or_else(|| panic!("{needle} not in the report"));
    let msg = check(&flip(&text, find("0.7901525232879517") + 17));
    assert!(msg.contains("versions"), "{msg}");
    let msg = check(&flip(&text, find("fairness gap by sex") + 3));
    assert!(msg.contains("timeline"), "{msg}");
    // Every 97th byte of the file, whatever it is (structure, whitespace, digest, excerpt).
    let mut n = 0;
    for at in (0..text.len()).step_by(97) {
        check(&flip(&text, at));
        n += 1;
    }
    assert!(n > 50);
    // Re-digesting after editing the excerpt does not help: the chain no longer links.
    let mut doc: Value = serde_json::from_slice(&text).expect("json");
    let entries = doc["audit"]["excerpt"]["entries"].as_array_mut().expect("entries");
    let i = entries.iter().position(|e| e["line"].as_str().is_some_and(|l| l.contains("v3 is more accurate"))).expect("the promote's record");
    let line = entries[i]["line"].as_str().expect("a verbatim line").replace("v3 is more accurate", "v3 is more accurats");
    entries[i]["line"] = Value::String(line);
    doc.as_object_mut().expect("object").remove("digest");
    let plain = serde_json::to_string(&doc).expect("json");
    let digest = steward::report::canonical::digest_of(&steward::report::canonical::parse(&plain).expect("parse")).expect("digest");
    doc["digest"] = serde_json::to_value(&digest).expect("digest json");
    let msg = check(serde_json::to_string_pretty(&doc).expect("json").as_bytes());
    assert!(msg.contains("does not chain"), "{msg}");
}
