//! Inputs Steward once read wrong (tests/fixtures/cases, issue 12), each with the right answer: the
//! value pandas / Python's csv / Fairlearn give, worked out by hand from the few rows of each file.

mod common;

use common::*;
use serde_json::Value;

fn case(name: &str) -> String {
    repo().join("tests/fixtures/cases").join(name).to_string_lossy().into_owned()
}

fn fairness(args: &[&str]) -> Value {
    let home = tempfile::tempdir().unwrap();
    let mut all = vec!["fairness"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    json(&steward(home.path(), &all))
}

fn group<'a>(r: &'a Value, key: &str) -> &'a Value {
    r["groups"].as_array().unwrap().iter().find(|g| g["key"] == key).unwrap_or_else(|| panic!("no group {key}: {r}"))
}

#[test]
fn a_bare_quote_inside_an_unquoted_field_is_an_ordinary_character() {
    // pandas, Python's csv, polars and the csv crate: two rows, groups `a"b` and `c"d`.
    let r = fairness(&[&case("bare-quote.csv"), "--group", "group", "--label", "label", "--prediction", "prediction"]);
    assert_eq!(r["rows"], 2, "{r}");
    let (ab, cd) = (group(&r, "a\"b"), group(&r, "c\"d"));
    assert_eq!((ab["count"].as_u64(), ab["tp"].as_u64()), (Some(1), Some(1)), "{ab}");
    assert_eq!((cd["count"].as_u64(), cd["tn"].as_u64()), (Some(1), Some(1)), "{cd}");
    // One bare quote alone reads the same way (it used to be "never closed").
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.csv");
    std::fs::write(&one, "group,label,prediction\na\"b,1,1\nc,0,0\n").unwrap();
    let r = fairness(&[one.to_str().unwrap(), "--group", "group", "--label", "label", "--prediction", "prediction"]);
    assert_eq!(r["rows"], 2, "{r}");
    assert_eq!(group(&r, "a\"b")["count"], 1);
}

#[test]
fn a_score_one_ulp_below_the_threshold_reads_the_same_from_csv_and_json_lines() {
    // 0.9899999999999999 < 0.99: a false negative in every format (Python's float() agrees).
    for f in ["score-ulp.csv", "score-ulp.jsonl"] {
        let r = fairness(&[&case(f), "--group", "group", "--label", "label", "--score", "score", "--threshold", "0.99"]);
        let a = group(&r, "A");
        assert_eq!((a["tp"].as_u64(), a["fn"].as_u64()), (Some(0), Some(1)), "{f}: {a}");
    }
    // The whole kind: every double just below k/100 stays below it in JSON Lines too.
    let dir = tempfile::tempdir().unwrap();
    let (mut jsonl, mut csv) = (String::new(), String::from("group,label,score\n"));
    for k in 1..100 {
        let below = f64::from_bits((k as f64 / 100.0).to_bits() - 1);
        jsonl.push_str(&format!("{{\"group\":\"g{k}\",\"label\":1,\"score\":{below:?}}}\n"));
        csv.push_str(&format!("g{k},1,{below:?}\n"));
    }
    let (j, c) = (dir.path().join("b.jsonl"), dir.path().join("b.csv"));
    std::fs::write(&j, jsonl).unwrap();
    std::fs::write(&c, csv).unwrap();
    for k in [10u32, 33, 57, 99] {
        let t = format!("{}", k as f64 / 100.0);
        for f in [&j, &c] {
            let r = fairness(&[f.to_str().unwrap(), "--group", "group", "--label", "label", "--score", "score", "--threshold", &t]);
            let g = group(&r, &format!("g{k}"));
            assert_eq!(g["fn"].as_u64(), Some(1), "{}: the score just below {t} is below it: {g}", f.display());
        }
    }
}

#[test]
fn a_reference_group_selected_at_zero_flags_every_group_selected_at_all() {
    // A (3 rows, the reference) selects 0%, B selects 100%: B is outside any four-fifths bound.
    let r = fairness(&[&case("four-fifths-zero-reference.csv"), "--group", "group", "--label", "label", "--prediction", "prediction"]);
    assert_eq!(r["reference"]["key"], "A");
    assert_eq!(r["reference"]["flagged"], serde_json::json!(["B"]), "{}", r["reference"]);
    let b = r["reference"]["groups"].as_array().unwrap().iter().find(|g| g["key"] == "B").unwrap();
    assert_eq!(b["metrics"]["selection_rate"]["outside_bounds"], true);
    assert_eq!(b["metrics"]["selection_rate"]["ratio"], Value::Null, "an infinite ratio has no number");
    // Both at 0: the rule cannot judge, and says so with null.
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("z.csv");
    std::fs::write(&zero, "group,label,prediction\nA,1,0\nA,0,0\nB,1,0\n").unwrap();
    let r = fairness(&[zero.to_str().unwrap(), "--group", "group", "--label", "label", "--prediction", "prediction"]);
    let b = r["reference"]["groups"].as_array().unwrap().iter().find(|g| g["key"] == "B").unwrap();
    assert_eq!(b["metrics"]["selection_rate"]["outside_bounds"], Value::Null);
    assert_eq!(r["reference"]["flagged"], serde_json::json!([]));
}

#[test]
fn a_byte_order_mark_before_json_lines_is_skipped() {
    let r = fairness(&[&case("bom.jsonl"), "--group", "group", "--label", "label", "--prediction", "prediction"]);
    assert_eq!(r["rows"], 2, "the first record is read: {r}");
    assert_eq!(group(&r, "A")["tp"], 1);
    // Compressed too, and the column list (the Fairness view's mapping) sees the first key.
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("bom.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &std::fs::read(case("bom.jsonl")).unwrap()).unwrap();
    enc.finish().unwrap();
    let r = fairness(&[gz.to_str().unwrap(), "--group", "group", "--label", "label", "--prediction", "prediction"]);
    assert_eq!(r["rows"], 2, "{r}");
    let (cols, _) = steward::fairness::columns(std::path::Path::new(&case("bom.jsonl"))).unwrap();
    assert_eq!(cols, vec!["group", "label", "prediction"]);
}

#[test]
fn compat_equalized_odds_with_no_actual_positive_is_nan_as_in_fairlearn() {
    // Fairlearn 0.15: min(Series[tpr_ratio=NaN, fpr_ratio]) is NaN (the builtin min keeps a NaN first
    // item); JSON has no NaN, so null. The default mode takes the defined FPR ratio (documented).
    let args = [case("compat-eo-no-positives.csv"), "--group".into(), "group".into(), "--label".into(), "label".into(), "--prediction".into(), "prediction".into()];
    let mut compat: Vec<&str> = args.iter().map(String::as_str).collect();
    compat.push("--fairlearn-compat");
    let r = fairness(&compat);
    assert_eq!(r["disparities"]["equalized_odds_ratio"], Value::Null, "{}", r["disparities"]);
    assert_eq!(r["disparities"]["equalized_odds_ratio_agg_mean"], 1.0, "pandas' mean skips the NaN");
    let r = fairness(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r["disparities"]["equalized_odds_ratio"], 1.0, "{}", r["disparities"]);
}

#[test]
fn every_csv_steward_writes_neutralises_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("f.csv");
    std::fs::write(&log, "group,label,prediction\n\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",1,1\n@SUM(1),0,0\nplain,1,0\n").unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = steward(home.path(), &["fairness", log.to_str().unwrap(), "--group", "group", "--label", "label", "--prediction", "prediction", "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""), "{text}");
    assert!(text.contains(",'@SUM(1),"), "{text}");
    assert!(!text.lines().any(|l| l.split(',').any(|c| c.starts_with('=') || c.starts_with('@'))), "{text}");
}

#[test]
fn negative_values_are_accepted_as_users_type_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("neg.csv");
    std::fs::write(&log, "group,label,score\n-0,1,0.2\n-0,-1,-0.7\nb,1,0.9\n").unwrap();
    let r = fairness(&[log.to_str().unwrap(), "--group", "group", "--label", "label", "--positive-label", "1", "--score", "score", "--threshold", "-0.5", "--reference", "-0"]);
    let g = group(&r, "-0");
    // Scores 0.2 and -0.7 against -0.5: one positive decision; labels 1 and -1 with 1 positive.
    assert_eq!((g["tp"].as_u64(), g["tn"].as_u64()), (Some(1), Some(1)), "{g}");
    assert_eq!(r["reference"]["key"], "-0");
    let r = fairness(&[log.to_str().unwrap(), "--group", "group", "--label", "label", "--positive-label", "-1", "--score", "score", "--threshold", "0.5"]);
    assert_eq!(group(&r, "-0")["fn"].as_u64(), Some(1), "label -1 is the positive one here: {r}");
}

#[test]
fn the_cli_report_takes_the_prediction_log_from_the_models_tag_as_the_window_does() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = h.join("r.json");
    let r = steward(h, &["report", "income-classifier", "--format", "json", "--out", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", stderr(&r));
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(data["fairness"].is_object(), "the tag's log fills the fairness section: {}", data["fairness"]);
    let r = steward(h, &["report", "income-classifier", "--format", "json", "--out", out.to_str().unwrap(), "--no-fairness-log"]);
    assert!(r.status.success(), "{}", stderr(&r));
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(data["fairness"].is_null(), "{}", data["fairness"]);
}

fn fails(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let mut all = vec!["fairness"];
    all.extend_from_slice(args);
    let out = steward(home.path(), &all);
    assert!(!out.status.success(), "should fail: {}", stdout(&out));
    stderr(&out)
}

#[test]
fn distinct_bytes_stay_distinct_groups_latin_1_or_a_clear_error() {
    // Café (E9) and Cafè (E8) in Latin-1: pandas with encoding="latin-1" has two groups of one row.
    let base = [case("latin1-groups.csv"), "--group".into(), "group".into(), "--label".into(), "label".into(), "--prediction".into(), "prediction".into()];
    let base: Vec<&str> = base.iter().map(String::as_str).collect();
    let e = fails(&base);
    assert!(e.contains("latin1-groups.csv:2: column 'group': value 'Caf\\xE9' is not UTF-8") && e.contains("--encoding latin-1"), "{e}");
    let mut latin = base.clone();
    latin.extend_from_slice(&["--encoding", "latin-1"]);
    let r = fairness(&latin);
    let (e9, e8) = (group(&r, "Caf\u{e9}"), group(&r, "Caf\u{e8}"));
    assert_eq!((e9["count"].as_u64(), e9["tp"].as_u64()), (Some(1), Some(1)), "{e9}");
    assert_eq!((e8["count"].as_u64(), e8["fp"].as_u64()), (Some(1), Some(1)), "{e8}");
    // The whole kind: versions and a positive label typed in UTF-8 match Latin-1 bytes too.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("l.csv");
    std::fs::write(&p, b"g,y,p,v\nA,s\xED,1,v\xE9\nA,no,0,v\xE8\n").unwrap();
    let r = fairness(&[p.to_str().unwrap(), "--group", "g", "--label", "y", "--positive-label", "s\u{ed}", "--prediction", "p", "--version", "v", "--encoding", "latin1"]);
    assert_eq!(group(&r, "A")["tp"], 1, "{r}");
    let versions: Vec<&str> = r["versions"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["v\u{e8}", "v\u{e9}"]);
}

#[test]
fn a_repeated_column_name_is_fine_unless_asked_for_and_then_addressed_by_position() {
    // pandas reads it (score, score.1); the unused repeat does not matter.
    let r = fairness(&[&case("duplicate-header.csv"), "--group", "group", "--label", "label", "--prediction", "prediction"]);
    assert_eq!(r["rows"], 3, "{r}");
    assert_eq!((group(&r, "A")["count"].as_u64(), group(&r, "B")["fp"].as_u64()), (Some(2), Some(1)));
    let e = fails(&[&case("duplicate-header.csv"), "--group", "group", "--label", "label", "--score", "score", "--threshold", "5"]);
    assert!(e.contains("'score#1' or 'score#2'"), "{e}");
    // score#2 (the 4th column: 3, 8, 2) against 5: only id 2 (label 0) is positive.
    let r = fairness(&[&case("duplicate-header.csv"), "--group", "group", "--label", "label", "--score", "score#2", "--threshold", "5"]);
    assert_eq!((group(&r, "B")["fp"].as_u64(), group(&r, "A")["fn"].as_u64()), (Some(1), Some(1)), "{r}");
    let (cols, _) = steward::fairness::columns(std::path::Path::new(&case("duplicate-header.csv"))).unwrap();
    assert_eq!(cols, ["id", "score#1", "group", "score#2", "label", "prediction"]);
}

#[test]
fn a_separator_inside_group_values_never_merges_two_groups() {
    let args = [case("pipe-in-groups.csv"), "--group".into(), "g1,g2".into(), "--label".into(), "label".into(), "--prediction".into(), "prediction".into()];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = fairness(&args);
    let keys: Vec<&str> = r["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["a|b\\|c", "a\\|b|c"]);
    assert_eq!(group(&r, "a\\|b|c")["group"], serde_json::json!({"g1": "a|b", "g2": "c"}));
    // --reference: the escaped key picks one; the plain join is ambiguous here and says so.
    let mut with_ref = args.clone();
    with_ref.extend_from_slice(&["--reference", "a|b\\|c"]);
    assert_eq!(fairness(&with_ref)["reference"]["key"], "a|b\\|c");
    let mut plain = args.clone();
    plain.extend_from_slice(&["--reference", "a|b|c"]);
    assert!(fails(&plain).contains("could be 2 groups"));
    // The CSV has two rows, one per group.
    let home = tempfile::tempdir().unwrap();
    let mut csv = vec!["fairness"];
    csv.extend_from_slice(&args);
    csv.extend_from_slice(&["--format", "csv"]);
    let text = stdout(&steward(home.path(), &csv));
    assert_eq!(text.lines().filter(|l| l.starts_with("groups,")).count(), 3, "overall and two groups: {text}");
}

#[test]
fn the_same_value_is_spelled_the_same_from_every_format() {
    for f in ["bool-label-negative-spelling.csv", "bool-label-negative-spelling.jsonl"] {
        let r = fairness(&[&case(f), "--group", "group", "--label", "label", "--positive-label", "true", "--prediction", "prediction"]);
        assert_eq!(r["label"]["negative"], "false", "{f}: {}", r["label"]);
    }
    for f in ["float-group-value.csv", "float-group-value.jsonl"] {
        let r = fairness(&[&case(f), "--group", "group", "--label", "label", "--prediction", "prediction"]);
        assert_eq!(group(&r, "1.0")["count"], 1, "{f}");
    }
    // A Parquet float NaN group is missing, as in pandas: an error naming the row, or skipped.
    let nan = case("parquet-nan-group.parquet");
    let e = fails(&[&nan, "--group", "group", "--label", "label", "--prediction", "prediction"]);
    assert!(e.contains("missing group value"), "{e}");
    let r = fairness(&[&nan, "--group", "group", "--label", "label", "--prediction", "prediction", "--skip-bad-rows"]);
    assert_eq!(r["skipped_rows"], 1, "{r}");
    assert!(r["groups"].as_array().unwrap().iter().all(|g| g["key"] != "NaN"), "{r}");
}

#[test]
fn strict_threshold_and_label_conventions_are_stated() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("t.csv");
    std::fs::write(&log, "group,label,score\nA,1,0.5\nA,0,0.25\n").unwrap();
    let p = log.to_str().unwrap();
    // 0.5 >= 0.5 is positive (roc_curve); 0.5 > 0.5 is not (LogisticRegression.predict).
    let r = fairness(&[p, "--group", "group", "--label", "label", "--score", "score", "--threshold", "0.5"]);
    assert_eq!(group(&r, "A")["tp"], 1);
    let r = fairness(&[p, "--group", "group", "--label", "label", "--score", "score", "--threshold", "0.5", "--strict"]);
    assert_eq!((group(&r, "A")["tp"].as_u64(), group(&r, "A")["fn"].as_u64()), (Some(0), Some(1)), "{r}");
    assert_eq!(r["decision"]["strict"], true);
    // The sweep follows: at 0.25 the strict rule selects only the 0.5 row.
    let a = r["threshold_sweep"]["groups"].as_array().unwrap().iter().find(|c| c["key"] == "A").unwrap();
    assert_eq!((a["selection_rate"][25].as_f64(), a["selection_rate"][24].as_f64()), (Some(0.5), Some(1.0)), "{a}");
    // --positive-label true on 1/0 labels: the message names the values the column holds.
    let l = dir.path().join("l.csv");
    std::fs::write(&l, "g,label,prediction\nA,1,1\nA,0,1\n").unwrap();
    let e = fails(&[l.to_str().unwrap(), "--group", "g", "--label", "label", "--prediction", "prediction", "--positive-label", "true"]);
    assert!(e.contains("'0' is a second value besides '1' that is not the positive label 'true'"), "{e}");
}
