//! Differential test (issue 12): logs generated from a seed, each written as CSV, JSON Lines and
//! Parquet, must give identical reports, and their counts must equal a direct count made here, row by
//! row, with nothing of Steward's engine (the oracle is this file's loop).

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use serde_json::Value;
use common::Rng;
use steward::fairness::{Progress, Spec, analyze};

/// Values chosen to be awkward: separators, quotes, commas, a newline, non-ASCII, spaces, a formula.
const REGION: &[&str] = &["north", "a|b", "x\\y", "Zürich", "say \"hi\"", "comma, inside", "two\nlines", " padded ", "=1+1"];
const TIER: &[&str] = &["gold", "silver", "b|c", "a"];
/// Floats whose canonical spelling ("1.0", "0.25") is what the CSV holds too.
const BUCKET: &[f64] = &[0.25, 1.0, 2.0, 12.5, -3.0];

struct LogRow {
    region: &'static str,
    tier: &'static str,
    bucket: f64,
    label: bool,
    prediction: i64,
    score: f64,
}

fn generate(seed: u64, n: usize) -> Vec<LogRow> {
    let mut r = Rng(seed | 1);
    (0..n)
        .map(|_| {
            let region = r.pick(REGION);
            let tier = r.pick(TIER);
            let bucket = BUCKET[r.below(BUCKET.len() as u64) as usize];
            // Labels depend on the group a little, so that groups differ.
            let label = r.below(100) < 30 + 5 * (region.len() as u64 % 7);
            // Scores on a grid that puts many exactly on sweep thresholds, plus some 1 ULP below.
            let k = r.below(101) as f64 / 100.0;
            let score = if r.below(5) == 0 && k > 0.0 { f64::from_bits(k.to_bits() - 1) } else { k };
            LogRow { region, tier, bucket, label, prediction: (r.below(2)) as i64, score }
        })
        .collect()
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_all(dir: &Path, rows: &[LogRow]) -> [PathBuf; 3] {
    let csv = dir.join("log.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(f, "region,tier,bucket,label,prediction,score").unwrap();
    for r in rows {
        writeln!(f, "{},{},{:?},{},{},{:?}", csv_cell(r.region), csv_cell(r.tier), r.bucket, r.label, r.prediction, r.score).unwrap();
    }
    drop(f);
    let jsonl = dir.join("log.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&jsonl).unwrap());
    for r in rows {
        let v = serde_json::json!({"region": r.region, "tier": r.tier, "bucket": r.bucket, "label": r.label, "prediction": r.prediction, "score": r.score});
        writeln!(f, "{v}").unwrap();
    }
    drop(f);
    let parquet = dir.join("log.parquet");
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("region", Arc::new(StringArray::from(rows.iter().map(|r| r.region).collect::<Vec<_>>()))),
        ("tier", Arc::new(StringArray::from(rows.iter().map(|r| r.tier).collect::<Vec<_>>()))),
        ("bucket", Arc::new(Float64Array::from(rows.iter().map(|r| r.bucket).collect::<Vec<_>>()))),
        ("label", Arc::new(BooleanArray::from(rows.iter().map(|r| r.label).collect::<Vec<_>>()))),
        ("prediction", Arc::new(Int64Array::from(rows.iter().map(|r| r.prediction).collect::<Vec<_>>()))),
        ("score", Arc::new(Float64Array::from(rows.iter().map(|r| r.score).collect::<Vec<_>>()))),
    ];
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let props = parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(700)).build();
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&parquet).unwrap(), batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    [csv, jsonl, parquet]
}

/// The report without the fields that name the file.
fn body(path: &Path, spec: &Spec) -> Value {
    let r = analyze(path, spec, &Progress::new()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v = serde_json::to_value(&r).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("file");
    o.remove("format");
    v
}

/// tp, fp, tn, fn
type Four = [u64; 4];

fn tally(rows: &[LogRow], key: impl Fn(&LogRow) -> Vec<String>, positive: impl Fn(&LogRow) -> bool) -> BTreeMap<Vec<String>, Four> {
    let mut m: BTreeMap<Vec<String>, Four> = BTreeMap::new();
    for r in rows {
        let e = m.entry(key(r)).or_default();
        let i = match (r.label, positive(r)) {
            (true, true) => 0,
            (false, true) => 1,
            (false, false) => 2,
            (true, false) => 3,
        };
        e[i] += 1;
    }
    m
}

fn key_of(values: &[String]) -> String {
    values.iter().map(|v| v.replace('\\', "\\\\").replace('|', "\\|")).collect::<Vec<_>>().join("|")
}

fn assert_counts(report: &Value, want: &BTreeMap<Vec<String>, Four>, what: &str) {
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), want.len(), "{what}: number of groups");
    for (k, c) in want {
        let key = key_of(k);
        let g = groups.iter().find(|g| g["key"] == key).unwrap_or_else(|| panic!("{what}: no group {key:?}"));
        let got = [&g["tp"], &g["fp"], &g["tn"], &g["fn"]].map(|v| v.as_u64().unwrap());
        assert_eq!(&got, c, "{what}: group {key:?}");
    }
}

#[test]
fn csv_json_lines_and_parquet_give_identical_reports_equal_to_a_direct_count() {
    for seed in [1u64, 20_261_129, 0xDEAD_BEEF] {
        let rows = generate(seed, 3000);
        let dir = tempfile::tempdir().unwrap();
        let files = write_all(dir.path(), &rows);

        // Prediction log, three group columns (one a float), labels true/false.
        let mut spec = Spec::new(&["region", "tier", "bucket"], "label", Spec::prediction("prediction"));
        spec.positive_label = Some("true".into());
        let reports: Vec<Value> = files.iter().map(|f| body(f, &spec)).collect();
        assert_eq!(reports[0], reports[1], "seed {seed}: CSV and JSON Lines differ");
        assert_eq!(reports[0], reports[2], "seed {seed}: CSV and Parquet differ");
        let want = tally(&rows, |r| vec![r.region.to_string(), r.tier.to_string(), format!("{:?}", r.bucket)], |r| r.prediction == 1);
        assert_counts(&reports[0], &want, &format!("seed {seed} prediction"));
        assert_eq!(reports[0]["label"]["negative"], "false");
        assert_eq!(reports[0]["rows"], 3000);

        // Score log at a threshold many scores sit exactly on, >= and strict >.
        for strict in [false, true] {
            let mut spec = Spec::new(&["region"], "label", Spec::score("score", 0.37));
            spec.positive_label = Some("true".into());
            spec.strict_threshold = strict;
            let reports: Vec<Value> = files.iter().map(|f| body(f, &spec)).collect();
            assert_eq!(reports[0], reports[1], "seed {seed} strict {strict}: CSV and JSON Lines differ");
            assert_eq!(reports[0], reports[2], "seed {seed} strict {strict}: CSV and Parquet differ");
            let want = tally(&rows, |r| vec![r.region.to_string()], |r| if strict { r.score > 0.37 } else { r.score >= 0.37 });
            assert_counts(&reports[0], &want, &format!("seed {seed} score strict={strict}"));
            // The sweep at every threshold k/100 equals the direct selection rate of each group.
            for curve in reports[0]["threshold_sweep"]["groups"].as_array().unwrap() {
                let members: Vec<&LogRow> = rows.iter().filter(|r| key_of(&[r.region.to_string()]) == curve["key"]).collect();
                for k in 0..=100usize {
                    let t = k as f64 / 100.0;
                    let selected = members.iter().filter(|r| if strict { r.score > t } else { r.score >= t }).count();
                    let want = selected as f64 / members.len() as f64;
                    assert_eq!(curve["selection_rate"][k].as_f64(), Some(want), "seed {seed} {} at {t} strict={strict}", curve["key"]);
                }
            }
        }
    }
}
