//! Reading prediction logs: every format gives the same numbers, and every kind of bad input gives a
//! one-line error naming the file, the line (or row group) and the column, never a panic.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_array::{TimestampSecondArray, types::Int32Type};
use serde_json::Value;
use steward::fairness::{ErrorKind, FairnessError, Progress, Spec, analyze};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fairness").join(name)
}

fn full_spec() -> Spec {
    let mut s = Spec::new(&["sex"], "label", Spec::prediction("prediction"));
    s.time = Some("ts".into());
    s.version = Some("version".into());
    s
}

/// The report without the fields that name the file and its format.
fn numbers(path: &Path, spec: &Spec) -> Value {
    let mut v = serde_json::to_value(analyze(path, spec, &Progress::new()).unwrap()).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("file");
    o.remove("format");
    v
}

fn error(path: &Path, spec: &Spec) -> FairnessError {
    analyze(path, spec, &Progress::new()).unwrap_err()
}

fn basic() -> Spec {
    Spec::new(&["g"], "label", Spec::prediction("prediction"))
}

#[test]
fn gzip_and_zstd_equal_plain_csv() {
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(fixture("windows.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    let want = numbers(&fixture("windows.csv"), &full_spec());
    // By extension, and by magic bytes alone (no telling extension).
    for (name, bytes) in [("w.csv.gz", &gz), ("w.csv.zst", &zst), ("w.gzipped", &gz), ("w.data", &zst)] {
        let p = write(dir.path(), name, bytes);
        assert_eq!(numbers(&p, &full_spec()), want, "{name}");
    }
    let r = analyze(&write(dir.path(), "x.zst", &zst), &full_spec(), &Progress::new()).unwrap();
    assert_eq!(r.format, "csv+zstd");
}

#[test]
fn json_lines_equal_csv() {
    let dir = tempfile::tempdir().unwrap();
    // Same rows as windows.csv, with JSON types: numbers, booleans, epoch numbers, extra keys.
    let text = r#"{"ts":"2024-03-03T23:59:59Z","version":"v1","sex":"F","label":1,"prediction":true,"extra":{"a":[1,2]}}
{"ts":"2024-03-03T12:00:00+00:00","version":"v1","sex":"M","label":0,"prediction":1}
{"ts":"2024-03-04T00:00:00Z","version":"v1","sex":"F","label":0,"prediction":0}

{"ts":"2024-03-03T23:30:00-01:00","version":"v2","sex":"M","label":1,"prediction":false}
{"ts":1709510400,"version":"v2","sex":"F","label":1.0,"prediction":"1"}
{"ts":"2024-03-05 10:00:00","version":"v2","sex":"M","label":1,"prediction":1}
{"ts":"2024-03-05T11:00:00Z","version":"v1","sex":"\u0046","label":0,"prediction":1}
{"ts":"2024-03-11T08:00:00Z","version":"v2","sex":"F","label":0,"prediction":0}
{"ts":"2024-03-11T09:00:00Z","version":"v2","sex":"M","label":0,"prediction":0}
{"ts":"2024-03-11T10:00:00Z","version":"v1","sex":"M","label":1,"prediction":1}
"#;
    let p = write(dir.path(), "w.jsonl", text.as_bytes());
    assert_eq!(numbers(&p, &full_spec()), numbers(&fixture("windows.csv"), &full_spec()));
    // Sniffed without extension, compressed.
    let p = write(dir.path(), "w.log.zst", &zstd::encode_all(text.as_bytes(), 1).unwrap());
    assert_eq!(numbers(&p, &full_spec()), numbers(&fixture("windows.csv"), &full_spec()));
    // A bad line names its line (blank line 4 counts) and column.
    let bad = text.replace(r#""sex":"M","label":1,"prediction":1}"#, r#""sex":"M","label":1}"#);
    let e = error(&write(dir.path(), "bad.jsonl", bad.as_bytes()), &full_spec());
    assert!(e.to_string().ends_with("bad.jsonl:7: column 'prediction': missing from this record"), "{e}");
    let e = error(&write(dir.path(), "bad2.jsonl", b"{\"sex\":\"F\",\n"), &full_spec());
    assert!(e.to_string().contains("bad2.jsonl:1: not a JSON object"), "{e}");
}

fn parquet_file(dir: &Path, sex: Vec<Option<&str>>) -> PathBuf {
    let rows = std::fs::read_to_string(fixture("windows.csv")).unwrap();
    let lines: Vec<Vec<String>> = rows.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect();
    let ts: Vec<i64> = [
        1_709_510_399,
        1_709_467_200,
        1_709_510_400,
        1_709_512_200,
        1_709_510_400,
        1_709_632_800,
        1_709_636_400,
        1_710_144_000,
        1_710_147_600,
        1_710_151_200,
    ]
    .to_vec();
    let sex: DictionaryArray<Int32Type> = sex.into_iter().collect();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("ts", Arc::new(TimestampSecondArray::from(ts).with_timezone("UTC"))),
        ("version", Arc::new(StringArray::from(lines.iter().map(|l| l[1].clone()).collect::<Vec<_>>()))),
        ("sex", Arc::new(sex)),
        ("label", Arc::new(Int64Array::from(lines.iter().map(|l| l[3].parse::<i64>().unwrap()).collect::<Vec<_>>()))),
        ("prediction", Arc::new(BooleanArray::from(lines.iter().map(|l| l[4] == "1").collect::<Vec<_>>()))),
        ("score", Arc::new(Float64Array::from(vec![0.5; 10]))),
    ];
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(4))
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let p = dir.join("w.parquet");
    let f = std::fs::File::create(&p).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    p
}

#[test]
fn parquet_equals_csv_and_names_row_groups_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sex = vec![Some("F"), Some("M"), Some("F"), Some("M"), Some("F"), Some("M"), Some("F"), Some("F"), Some("M"), Some("M")];
    let p = parquet_file(dir.path(), sex.clone());
    assert_eq!(numbers(&p, &full_spec()), numbers(&fixture("windows.csv"), &full_spec()));
    let mut missing = sex;
    missing[5] = None;
    let p = parquet_file(dir.path(), missing);
    let e = error(&p, &full_spec());
    assert_eq!(e.location, Some(steward::fairness::Location::RowGroup { index: 1, row: 6 }));
    assert!(e.to_string().ends_with("w.parquet: row 6 (row group 1): column 'sex': missing group value"), "{e}");
    let mut spec = full_spec();
    spec.group = vec!["nope".into()];
    let e = error(&p, &spec);
    assert!(e.to_string().contains("column 'nope': not in the Parquet schema"), "{e}");
}

#[test]
fn quoted_fields_with_commas_quotes_and_newlines() {
    let spec = Spec::new(&["group name"], "label", Spec::prediction("prediction"));
    let r = serde_json::to_value(analyze(&fixture("quoted.csv"), &spec, &Progress::new()).unwrap()).unwrap();
    let keys: Vec<&str> = r["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["Smith, Jr.", "multi\nline", "plain"]);
    assert_eq!(r["groups"][0]["count"], 2);
    // Line numbers count the newlines inside quotes: the bad row is on physical line 8.
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read(fixture("quoted.csv")).unwrap();
    text.extend_from_slice(b"5,,n,1,1\n");
    let e = error(&write(dir.path(), "q.csv", &text), &spec);
    assert!(e.to_string().ends_with("q.csv:8: column 'group name': missing group value"), "{e}");
    let e = error(&write(dir.path(), "open.csv", b"g,label,prediction\nA,1,1\n\"B,1,1\nC,0,0\n"), &basic());
    assert!(e.to_string().ends_with("open.csv:3: a quoted field is never closed (missing '\"')"), "{e}");
}

#[test]
fn crlf_line_endings_and_bom() {
    let dir = tempfile::tempdir().unwrap();
    let lf = std::fs::read_to_string(fixture("windows.csv")).unwrap();
    let crlf = format!("\u{feff}{}", lf.replace('\n', "\r\n"));
    let p = write(dir.path(), "crlf.csv", crlf.as_bytes());
    assert_eq!(numbers(&p, &full_spec()), numbers(&fixture("windows.csv"), &full_spec()));
    let q = std::fs::read_to_string(fixture("quoted.csv")).unwrap().replace('\n', "\r\n");
    let spec = Spec::new(&["group name"], "label", Spec::prediction("prediction"));
    let r = serde_json::to_value(analyze(&write(dir.path(), "q.csv", q.as_bytes()), &spec, &Progress::new()).unwrap()).unwrap();
    assert_eq!(r["groups"][1]["key"], "multi\r\nline"); // a newline inside quotes is data, kept as written
}

#[test]
fn bad_rows_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, Spec); 7] = [
        ("missing.csv", "g,label,prediction\nA,1,1\n,0,1\n", basic()),
        ("nonbinary.csv", "g,label,prediction\nA,1,1\nA,2,1\n", basic()),
        ("ragged.csv", "g,label,prediction\nA,1,1\nA,1\n", basic()),
        ("score.csv", "g,label,s\nA,1,0.3\nA,1,high\n", Spec::new(&["g"], "label", Spec::score("s", 0.5))),
        ("pred.csv", "g,label,prediction\nA,1,1\nA,1,yes\n", basic()),
        ("third.csv", "g,y,prediction\nA,>50K,1\nA,<=50K,1\nB,>50K.,0\n", {
            let mut s = Spec::new(&["g"], "y", Spec::prediction("prediction"));
            s.positive_label = Some(">50K".into());
            s
        }),
        ("time.csv", "g,label,prediction,t\nA,1,1,2024-01-01\nA,1,1,2024-13-01\n", {
            let mut s = basic();
            s.time = Some("t".into());
            s
        }),
    ];
    let want = [
        "missing.csv:3: column 'g': missing group value",
        "nonbinary.csv:3: column 'label': label '2' is not binary (0/1, true/false); give --positive-label",
        "ragged.csv:3: 2 fields, the header has 3",
        "score.csv:3: column 's': score 'high' is not a finite number",
        "pred.csv:3: column 'prediction': prediction 'yes' is not 0 or 1 (give --positive-prediction)",
        "third.csv:4: column 'y': label '>50K.' is a second value besides '<=50K' that is not the positive label '>50K'; labels must be binary (--positive-label must be one of the values the column holds)",
        "time.csv:3: column 't': '2024-13-01': not an ISO 8601 date or date-time (e.g. 2024-03-01T12:00:00Z)",
    ];
    for ((name, text, spec), want) in cases.iter().zip(want) {
        let e = error(&write(dir.path(), name, text.as_bytes()), spec);
        assert_eq!(e.kind, ErrorKind::Input, "{name}");
        assert!(e.to_string().ends_with(want), "{name}: got {e}");
    }
    let e = error(&write(dir.path(), "h.csv", b"g,label\nA,1\n"), &basic());
    assert!(e.to_string().ends_with("h.csv:1: column 'prediction': not in the header (columns: g, label)"), "{e}");
}

#[test]
fn empty_inputs_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, want) in [
        ("zero.csv", &b""[..], "zero.csv: empty file (0 bytes, no header)"),
        ("blank.csv", &b"\n\r\n\n"[..], "blank.csv: empty file (no header line)"),
        ("header.csv", &b"g,label,prediction\n"[..], "header.csv: no data rows"),
        ("header_no_nl.csv", &b"g,label,prediction"[..], "header_no_nl.csv: no data rows"),
        ("zero.parquet", &b""[..], "zero.parquet: empty file (0 bytes, no header)"),
        ("junk.parquet", &b"PAR1 but not really"[..], "junk.parquet: not a readable Parquet file"),
        ("junk.csv.gz", &[0x1f, 0x8b, 0, 1, 2, 3][..], "junk.csv.gz: read error"),
        ("fake.csv.gz", &b"g,label\n"[..], "fake.csv.gz: named .gz but does not start with gzip's magic bytes"),
    ] {
        let e = error(&write(dir.path(), name, bytes), &basic());
        assert!(e.to_string().contains(want), "{name}: got {e}");
    }
    let e = error(&dir.path().join("absent.csv"), &basic());
    assert_eq!(e.kind, ErrorKind::Io);
}

#[test]
fn skip_bad_rows_counts_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let text = "g,y,prediction\nA,1,1\n,0,1\nA,0\nB,1,0\nB,0,1\nB,x,1\nB,x,0\nA,0,0\n";
    let p = write(dir.path(), "skip.csv", text.as_bytes());
    let mut spec = Spec::new(&["g"], "y", Spec::prediction("prediction"));
    spec.skip_bad_rows = true;
    spec.positive_label = Some("1".into());
    let r = analyze(&p, &spec, &Progress::new()).unwrap();
    // 'x' is a second non-positive label value after '0': both its rows are skipped (one example).
    assert_eq!((r.rows, r.skipped_rows), (4, 4));
    assert_eq!(r.skipped_examples.len(), 3);
    assert!(r.skipped_examples[0].ends_with("skip.csv:3: column 'g': missing group value"));
    assert!(r.skipped_examples[1].ends_with("skip.csv:4: 2 fields, the header has 3"));
    assert!(r.skipped_examples[2].contains("skip.csv:7: column 'y': label 'x' is a second value besides '0'"));
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["fairness", p.to_str().unwrap(), "--group", "g", "--label", "y", "--prediction", "prediction"])
        .args(["--skip-bad-rows", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Without --positive-label, each 'x' is a non-binary label on its own line.
    assert_eq!((v["rows"].as_u64(), v["skipped_rows"].as_u64()), (Some(4), Some(4)));
    let examples: Vec<&str> = v["skipped_examples"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert_eq!(examples.len(), 4);
    assert!(examples[3].ends_with("skip.csv:8: column 'y': label 'x' is not binary (0/1, true/false); give --positive-label"));
}

#[test]
fn command_line_errors_are_one_line_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad.csv", b"g,label,prediction\nA,1,1\nA,2,1\n");
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["fairness", p.to_str().unwrap(), "--group", "g", "--label", "label", "--prediction", "prediction"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("steward: error: {}:3: column 'label': label '2' is not binary", p.display())), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["fairness", p.to_str().unwrap(), "--group", "g", "--label", "label", "--prediction", "prediction"])
        .args(["--four-fifths", "high"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Table and CSV outputs render.
    let ok = write(dir.path(), "ok.csv", b"g,label,prediction\nA,1,1\nB,0,1\nB,1,0\n");
    for fmt in ["table", "csv"] {
        let out = Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["fairness", ok.to_str().unwrap(), "--group", "g", "--label", "label", "--prediction", "prediction"])
            .args(["--format", fmt])
            .output()
            .unwrap();
        assert!(out.status.success(), "{fmt}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.lines().count() >= 4, "{fmt}: {text}");
    }
}

#[test]
fn cancellation_stops_with_cancelled_error() {
    let progress = Progress::new();
    progress.cancel();
    let e = analyze(&fixture("windows.csv"), &full_spec(), &progress).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Cancelled);
    let progress = Progress::new();
    analyze(&fixture("windows.csv"), &full_spec(), &progress).unwrap();
    assert_eq!(progress.fraction(), 1.0);
}
