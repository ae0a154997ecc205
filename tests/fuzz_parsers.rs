//! A bounded, seeded mutation harness for the readers of outside data (issue 15): the Prometheus text
//! parser, the fairness engine on CSV, JSON Lines and Parquet logs, the monitoring readers (drift and
//! quality), and the audit-log verifier. Each target gets mutations of the seeds in tests/fuzz/corpus
//! for `STEWARD_FUZZ_SECONDS` seconds (default 3) and must return a result or an error: a panic, or one
//! input taking more than 10 s, fails the test and saves the input under target/fuzz-crashes/.
//! The seed of the generator is `STEWARD_FUZZ_SEED` (default: fixed, so CI runs are repeatable).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use common::fuzz::{corpus, fuzz};

#[test]
fn the_prometheus_text_parser_never_panics() {
    let runs = fuzz("prometheus", &[corpus("prometheus.txt")], |b| {
        let _ = steward::serving::exposition::parse(&String::from_utf8_lossy(b));
    });
    assert!(runs > 10);
}

fn temp_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn fairness_spec() -> steward::fairness::Spec {
    let mut spec = steward::fairness::Spec::new(&["sex", "race"], "label", steward::fairness::Spec::prediction("prediction"));
    spec.version = Some("model_version".into());
    spec.time = Some("timestamp".into());
    spec
}

#[test]
fn the_fairness_readers_never_panic_on_csv_and_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let spec = fairness_spec();
    for (name, ext) in [("log.csv", "csv"), ("log.jsonl", "jsonl")] {
        let runs = fuzz(&format!("fairness-{ext}"), &[corpus(name)], |b| {
            let p = temp_file(dir.path(), &format!("in.{ext}"), b);
            let _ = steward::fairness::analyze(&p, &spec, &steward::fairness::Progress::new());
        });
        assert!(runs > 10);
    }
}

/// log.csv as Parquet (strings, integers, floats), for the Parquet seed.
fn parquet_seed() -> Vec<u8> {
    let text = String::from_utf8(corpus("log.csv")).unwrap();
    let rows: Vec<Vec<String>> = text.lines().skip(1).map(|l| l.split(',').map(|c| c.trim_matches('"').to_string()).collect()).collect();
    let s = |i: usize| Arc::new(StringArray::from(rows.iter().map(|r| r.get(i).cloned()).collect::<Vec<_>>())) as ArrayRef;
    let n = |i: usize| Arc::new(Int64Array::from(rows.iter().map(|r| r.get(i).and_then(|c| c.parse().ok())).collect::<Vec<Option<i64>>>())) as ArrayRef;
    let f = |i: usize| Arc::new(Float64Array::from(rows.iter().map(|r| r.last().and_then(|c| c.parse().ok()).filter(|_| i > 0)).collect::<Vec<Option<f64>>>())) as ArrayRef;
    let batch = RecordBatch::try_from_iter(vec![
        ("timestamp", s(0)),
        ("model_version", n(1)),
        ("sex", s(2)),
        ("race", s(3)),
        ("label", n(4)),
        ("prediction", n(5)),
        ("score", f(6)),
    ])
    .unwrap();
    let mut out = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

#[test]
fn the_parquet_readers_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let spec = fairness_spec();
    // The generated seed and every input that once crashed a reader (kept in the corpus).
    let mut seeds = vec![parquet_seed()];
    for e in std::fs::read_dir(common::repo().join("tests/fuzz/corpus")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "parquet") {
            seeds.push(std::fs::read(e.path()).unwrap());
        }
    }
    let runs = fuzz("parquet", &seeds, |b| {
        let p = temp_file(dir.path(), "in.parquet", b);
        let _ = steward::fairness::analyze(&p, &spec, &steward::fairness::Progress::new());
        let mut cells = Vec::new();
        let progress = steward::fairness::Progress::new();
        if let Ok(mut rows) = steward::monitoring::rows::Rows::open(&p, &progress) {
            while let Ok(true) = rows.next_into(&mut cells) {}
        }
    });
    assert!(runs > 10);
}

#[test]
fn the_monitoring_readers_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let reference = temp_file(dir.path(), "reference.csv", &corpus("log.csv"));
    let spec = steward::monitoring::drift::DriftSpec { time: Some("timestamp".into()), ..Default::default() };
    let qspec = steward::monitoring::quality::QualitySpec {
        labels: steward::monitoring::quality::Labels::InLog { label: "label".into() },
        prediction: Some("prediction".into()),
        score: Some("score".into()),
        threshold: None,
        positive: "1".into(),
        time: "timestamp".into(),
        window: steward::fairness::Window::Day,
        version: Some("model_version".into()),
    };
    for (name, ext) in [("log.csv", "csv"), ("log.jsonl", "jsonl")] {
        let runs = fuzz(&format!("monitoring-{ext}"), &[corpus(name)], |b| {
            let p = temp_file(dir.path(), &format!("in.{ext}"), b);
            let progress = steward::fairness::Progress::new();
            let _ = steward::monitoring::drift::drift(Some(&reference), &p, &spec, &progress);
            let _ = steward::monitoring::quality::quality(&p, &qspec, &progress);
        });
        assert!(runs > 10);
    }
}

#[test]
fn the_audit_log_verifier_never_panics() {
    // A real audit log: the sample workspace and one promotion.
    let home = tempfile::tempdir().unwrap();
    let o = common::steward(home.path(), &["promote", "income-classifier", "3", "--alias", "challenger-fuzz", "--reason", "seed", "--yes"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let log = std::fs::read(home.path().join("data/audit.jsonl")).unwrap();
    let runs = fuzz("audit", std::slice::from_ref(&log), |b| {
        let _ = steward::audit::verify_bytes(b, None);
    });
    assert!(runs > 10);
}

/// Found by this harness: a damaged Parquet footer made the parquet crate panic ("column start and
/// length should not be negative") and Steward with it. Now one line naming the file, for every reader.
#[test]
fn a_parquet_file_that_panics_the_parquet_crate_is_one_clear_error() {
    let f = common::repo().join("tests/fuzz/corpus/parquet-negative-column-start.parquet");
    let f = f.to_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let reference = common::repo().join("tests/fuzz/corpus/log.csv");
    for args in [vec!["drift", f, "--reference", reference.to_str().unwrap()], vec!["quality", f, "--label", "label", "--prediction", "prediction", "--time", "timestamp"]] {
        let o = common::steward(home.path(), &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = common::stderr(&o);
        assert!(err.contains("not a readable Parquet file (the Parquet reader stopped: column start and length should not be negative)"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: no panic text: {err}");
    }
}
