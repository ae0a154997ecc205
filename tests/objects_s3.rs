//! Prediction logs in object storage, read from the stack's real S3 server (s3s-fs on loopback): the
//! Adult log as CSV, gzip, Parquet and a prefix of several objects gives the local file's report, which
//! equals Fairlearn's numbers; drift and quality from S3 equal the local file's; Parquet fetches only
//! the columns asked for (bytes counted by Steward's client, checked against the object's size); and
//! the errors name the URL and the cause. Objects are uploaded through the server's S3 API. The same
//! logs as http:// URLs on the stack's plain HTTP file server (aiohttp's static handler: HEAD, byte
//! ranges) give the same reports through object_store's HTTP store, the code https:// URLs use.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use common::adult::*;
use common::s3::S3;
use common::*;
use serde_json::Value;

fn run(home: &Path, s3: &S3, args: &[&str]) -> std::process::Output {
    let env = s3.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    steward_env(home, args, &env)
}

/// The report without what names the source.
fn numbers(mut v: Value) -> Value {
    let o = v.as_object_mut().expect("a JSON object");
    for k in ["file", "format", "query", "skipped_examples"] {
        o.remove(k);
    }
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The Adult log as Parquet (row groups of 4,096 rows); `padding` adds a column of `padding` random
/// hex characters per row that no analysis asks for.
fn adult_parquet(padding: usize) -> Vec<u8> {
    adult_parquet_rows(padding, 0..usize::MAX)
}

/// Rows `range` of the Adult log as Parquet.
fn adult_parquet_rows(padding: usize, range: std::ops::Range<usize>) -> Vec<u8> {
    let mut r = csv::Reader::from_path(fixture("adult_predictions.csv")).unwrap();
    let (mut id, mut sex, mut race, mut label, mut pred, mut score, mut pad) = (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut rng = Rng(7);
    for rec in r.records().skip(range.start).take(range.len()) {
        let rec = rec.unwrap();
        id.push(rec[0].parse::<i64>().unwrap());
        sex.push(rec[1].to_string());
        race.push(rec[2].to_string());
        label.push(rec[3].parse::<i64>().unwrap());
        pred.push(rec[4].parse::<i64>().unwrap());
        score.push(rec[5].parse::<f64>().unwrap());
        pad.push((0..padding).map(|_| char::from_digit(rng.below(16) as u32, 16).unwrap()).collect::<String>());
    }
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("row_id", Arc::new(Int64Array::from(id))),
        ("sex", Arc::new(StringArray::from(sex))),
        ("race", Arc::new(StringArray::from(race))),
        ("label", Arc::new(Int64Array::from(label))),
        ("prediction", Arc::new(Int64Array::from(pred))),
        ("score", Arc::new(Float64Array::from(score))),
    ];
    if padding > 0 {
        cols.push(("padding", Arc::new(StringArray::from(pad))));
    }
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(4096))
        .set_dictionary_enabled(false)
        .build();
    let mut out = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

const GROUPINGS: [(&str, &str, &str); 3] = [("sex", "by_sex", "disparities_sex"), ("race", "by_race", "disparities_race"), ("sex,race", "by_sex_x_race", "disparities_sex_x_race")];

#[test]
fn adult_from_s3_as_csv_gzip_parquet_and_a_prefix_equals_the_file_and_fairlearn() {
    let s3 = S3::new("adult");
    let home = tempfile::tempdir().unwrap();
    let text = std::fs::read(fixture("adult_predictions.csv")).unwrap();
    let csv_url = s3.put("one/adult.csv", text.clone());
    let gz_url = s3.put("one/adult.csv.gz", gzip(&text));
    let pq_url = s3.put("one/adult.parquet", adult_parquet(0));
    // A prefix: three parts, each with the header, the middle one gzipped and the last without a final
    // newline, and Spark's empty _SUCCESS marker.
    let body = std::str::from_utf8(&text).unwrap();
    let (header, rows) = body.split_once('\n').unwrap();
    let rows: Vec<&str> = rows.lines().collect();
    let third = rows.len() / 3;
    let part = |r: &[&str], end: &str| format!("{header}\n{}{end}", r.join("\n"));
    s3.put("parts/part-0000.csv", part(&rows[..third], "\n").into_bytes());
    s3.put("parts/part-0001.csv.gz", gzip(part(&rows[third..2 * third], "\n").as_bytes()));
    s3.put("parts/part-0002.csv", part(&rows[2 * third..], "").into_bytes());
    s3.put("parts/_SUCCESS", Vec::new());
    let prefix_url = s3.url("parts/");
    // A Parquet dataset as Spark writes one: part files and a _SUCCESS marker.
    for (i, range) in [0..10_000, 10_000..10_001, 10_001..40_000].into_iter().enumerate() {
        s3.put(&format!("pq/part-{i:05}.snappy.parquet"), adult_parquet_rows(0, range));
    }
    s3.put("pq/_SUCCESS", Vec::new());
    let pq_prefix_url = s3.url("pq/");
    let local = fixture("adult_predictions.csv");
    for (group, by, disp) in GROUPINGS {
        let args = ["--group", group, "--label", "label", "--prediction", "prediction", "--fairlearn-compat", "--format", "json"];
        let mut a = vec!["fairness", local.to_str().unwrap()];
        a.extend_from_slice(&args);
        let file = json(&steward(home.path(), &a));
        for (url, format) in [(&csv_url, "csv"), (&gz_url, "csv+gzip"), (&pq_url, "parquet"), (&prefix_url, "csv"), (&pq_prefix_url, "parquet")] {
            let mut a = vec!["fairness", url.as_str()];
            a.extend_from_slice(&args);
            let remote = json(&run(home.path(), &s3, &a));
            check_report(&remote, by, disp);
            assert_eq!(numbers(remote.clone()), numbers(file.clone()), "{url} by {group}: differs from the local file");
            assert_eq!(remote["file"], url.as_str());
            assert_eq!(remote["format"], format, "{url}");
        }
    }
    // Monitoring reads the Parquet prefix row by row, file after file: drift of the whole log against
    // the local file is the same as the local file's against itself.
    let drift = |current: &str| {
        let a = ["drift", current, "--reference", local.to_str().unwrap(), "--columns", "score,sex,race", "--format", "json"];
        let o = run(home.path(), &s3, &a);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()["windows"].clone()
    };
    let (from_prefix, from_file) = (drift(&pq_prefix_url), drift(local.to_str().unwrap()));
    assert!(from_file.as_array().is_some_and(|w| !w.is_empty()));
    assert!(from_prefix == from_file, "drift over the Parquet prefix differs:\n{from_prefix}\n{from_file}");
    // The prefix without its trailing slash names the same log (no object has that key).
    let a = ["fairness", prefix_url.trim_end_matches('/'), "--group", "sex", "--label", "label", "--prediction", "prediction", "--format", "json"];
    assert_eq!(json(&run(home.path(), &s3, &a))["overall"]["count"], 32_561);
    // An audit report's fairness section from the S3 log (the fresh home's sample model).
    let out = home.path().join("r.json");
    let o = run(home.path(), &s3, &["report", "income-classifier", "--fairness-log", &csv_url, "--format", "json", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(r.to_string().contains(&csv_url), "the report names the S3 log");
}

#[test]
fn parquet_from_s3_fetches_only_the_columns_asked_for() {
    let s3 = S3::new("narrow");
    let home = tempfile::tempdir().unwrap();
    let bytes = adult_parquet(256);
    let size = bytes.len() as u64;
    let url = s3.put("wide.parquet", bytes);
    let o = run(home.path(), &s3, &["fairness", &url, "--group", "sex", "--label", "label", "--prediction", "prediction", "--format", "json", "-v"]);
    let report = json(&o);
    check_report(&report, "by_sex", "disparities_sex");
    let err = stderr(&o);
    let line = err.lines().find(|l| l.contains("object storage reads")).unwrap_or_else(|| panic!("no read summary in: {err}"));
    let field = |k: &str| -> u64 {
        let at = line.find(&format!("{k}=")).unwrap_or_else(|| panic!("{k} in {line}")) + k.len() + 1;
        line[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
    };
    let fetched = field("bytes");
    eprintln!("object {size} bytes; fetched {fetched} bytes in {} requests", field("requests"));
    assert!(size > 8_000_000, "the padding makes the object large: {size}");
    assert!(fetched * 4 < size, "fetched {fetched} of {size} bytes: more than the three columns asked for");
    assert!(fetched > 0);
}

#[test]
fn drift_and_quality_from_s3_equal_the_local_file() {
    let s3 = S3::new("monitoring");
    let home = tempfile::tempdir().unwrap();
    let local = repo().join("assets/sample/predictions.csv");
    let url = s3.put("predictions.csv.gz", gzip(&std::fs::read(&local).unwrap()));
    let labels = repo().join("assets/sample/labels.csv");
    let labels_url = s3.put("labels.csv", std::fs::read(&labels).unwrap());
    let strip = |mut v: Value| {
        for k in ["file", "current", "reference", "labels", "format", "predictions"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    let drift = |log: &str| {
        let a = ["drift", log, "--reference-days", "7", "--time", "timestamp", "--window", "1w", "--columns", "age,score,sex,hours_per_week", "--format", "json"];
        let o = run(home.path(), &s3, &a);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let (d_local, d_s3) = (drift(local.to_str().unwrap()), drift(&url));
    assert!(d_local["windows"].as_array().is_some_and(|w| !w.is_empty()));
    let (d_s3, d_local) = (strip(d_s3), strip(d_local));
    assert!(d_s3 == d_local, "drift from S3 differs from the local file:\n{d_s3}\n{d_local}");
    let quality = |log: &str, labels: &str| {
        let a = ["quality", log, "--label", "label", "--labels", labels, "--prediction", "prediction", "--score", "score", "--id", "request_id", "--time", "timestamp", "--window", "1w", "--version", "model_version", "--format", "json"];
        json(&run(home.path(), &s3, &a))
    };
    let (q_local, q_s3) = (quality(local.to_str().unwrap(), labels.to_str().unwrap()), quality(&url, &labels_url));
    let (q_s3, q_local) = (strip(q_s3), strip(q_local));
    assert!(q_s3 == q_local, "quality from S3 differs from the local file:\n{q_s3}\n{q_local}");
}

#[test]
fn errors_name_the_url_and_the_cause() {
    let s3 = S3::new("errors");
    let home = tempfile::tempdir().unwrap();
    let args = |url: &str| vec!["fairness".to_string(), url.to_string(), "--group".into(), "sex".into(), "--label".into(), "label".into(), "--prediction".into(), "prediction".into()];
    let fail = |url: &str, env: &[(&str, String)]| -> String {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let a = args(url);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = steward_env(home.path(), &a, &env);
        assert!(!o.status.success(), "{url}: should fail");
        let e = stderr(&o);
        assert!(e.contains(url), "{url}: the message names the URL: {e}");
        e
    };
    let good = s3.put("ok.csv", std::fs::read(fixture("adult_predictions.csv")).unwrap());
    // Nothing there.
    let e = fail(&s3.url("missing.csv"), &s3.env());
    assert!(e.contains("no object at this URL"), "{e}");
    // A wrong secret.
    let mut bad = s3.env();
    bad.retain(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY");
    bad.push(("AWS_SECRET_ACCESS_KEY", "wrong".into()));
    let e = fail(&good, &bad);
    assert!(e.to_lowercase().contains("signature") || e.contains("permission denied") || e.contains("not authenticated"), "{e}");
    // The server gone: a closed port answers within seconds, saying so.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut down = s3.env();
    down.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    down.push(("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}")));
    let t = Instant::now();
    let e = fail(&good, &down);
    assert!(e.to_lowercase().contains("connect"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(30), "took {:?}", t.elapsed());
    // A prefix whose parts disagree on the header: the message names the part.
    s3.put("mixed/a.csv", b"sex,label,prediction\nMale,1,1\n".to_vec());
    s3.put("mixed/b.csv", b"sex,label,pred\nMale,1,1\n".to_vec());
    let e = fail(&s3.url("mixed/"), &s3.env());
    assert!(e.contains("b.csv") && e.contains("differs from the first object"), "{e}");
    // A web page where a log was expected.
    let e = fail(&s3.put("page.csv", b"<!DOCTYPE html><html><body>Sign in</body></html>\n".to_vec()), &s3.env());
    assert!(e.contains("HTML"), "{e}");
    // A prefix of Parquet objects whose second is not Parquet: the message names it.
    s3.put("pq/a.parquet", adult_parquet(0));
    s3.put("pq/b.parquet", b"not parquet at all".to_vec());
    let e = fail(&s3.url("pq/"), &s3.env());
    assert!(e.contains("b.parquet") && e.contains("not a readable Parquet file"), "{e}");
}

/// The sample log as SageMaker data capture: one JSON line per request (CSV payloads; every 50th
/// request a batch of two), inferenceId = the request id, split into one object per day under a
/// SageMaker-style prefix.
fn sample_as_capture(s3: &S3) -> String {
    let mut r = csv::Reader::from_path(repo().join("assets/sample/predictions.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (t, id, score, age, sex, hours) = (col("timestamp"), col("request_id"), col("score"), col("age"), col("sex"), col("hours_per_week"));
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let mut days: std::collections::BTreeMap<String, String> = Default::default();
    let mut i = 0;
    while i < rows.len() {
        let batch = if i % 50 == 0 && i + 1 < rows.len() && rows[i][t][..10] == rows[i + 1][t][..10] { 2 } else { 1 };
        let group = &rows[i..i + batch];
        let input = group.iter().map(|x| format!("{},{},{}", &x[age], &x[sex], &x[hours])).collect::<Vec<_>>().join("\n");
        let output = group.iter().map(|x| x[score].to_string()).collect::<Vec<_>>().join("\n");
        // A batch request carries one inference id, as in SageMaker.
        let rec = serde_json::json!({
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": input, "encoding": "CSV"},
                "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": output, "encoding": "CSV"}
            },
            "eventMetadata": {"eventId": format!("e{i}"), "inferenceId": &group[0][id], "inferenceTime": &group[0][t]},
            "eventVersion": "0"
        });
        let day = rows[i][t][..10].replace('-', "/");
        let text = days.entry(day).or_default();
        text.push_str(&rec.to_string());
        text.push('\n');
        i += batch;
    }
    for (day, text) in &days {
        s3.put(&format!("capture/income/AllTraffic/{day}/00/capture-{}.jsonl", day.replace('/', "")), text.clone().into_bytes());
    }
    s3.url("capture/income/AllTraffic/")
}

#[test]
fn sagemaker_data_capture_on_s3_is_read_as_flat_predictions() {
    let s3 = S3::new("capture");
    let home = tempfile::tempdir().unwrap();
    let url = sample_as_capture(&s3);
    // Drift of the captured inputs and scores, by week, against the first 7 days: the same numbers as
    // the local file's columns under their own names.
    let drift = |log: &str, cols: &str, time: &str| {
        let a = ["drift", log, "--reference-days", "7", "--time", time, "--window", "1w", "--columns", cols, "--format", "json"];
        let o = run(home.path(), &s3, &a);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let local = drift(repo().join("assets/sample/predictions.csv").to_str().unwrap(), "age,sex,hours_per_week,score", "timestamp");
    let captured = drift(&url, "input_0,input_1,input_2,output", "inference_time");
    let rename = |v: &Value| -> String {
        v.to_string().replace("\"input_0\"", "\"age\"").replace("\"input_1\"", "\"sex\"").replace("\"input_2\"", "\"hours_per_week\"").replace("\"output\"", "\"score\"")
    };
    let windows = |v: &Value| v["windows"].clone();
    assert!(windows(&local).as_array().is_some_and(|w| w.len() >= 4));
    assert_eq!(rename(&windows(&captured)), windows(&local).to_string(), "drift of the capture differs from the file's");
    assert_eq!(captured["reference_rows"], local["reference_rows"]);
    // A record whose request and response disagree: the message names the object and the line.
    let good = r#"{"captureData":{"endpointInput":{"data":"1,Male,40","encoding":"CSV"},"endpointOutput":{"data":"0.5","encoding":"CSV"}},"eventMetadata":{"inferenceTime":"2026-11-01T00:00:00Z"}}"#;
    let bad = r#"{"captureData":{"endpointInput":{"data":"1,Male,40\n2,Female,30","encoding":"CSV"},"endpointOutput":{"data":"0.5","encoding":"CSV"}},"eventMetadata":{"inferenceTime":"2026-11-01T00:00:00Z"}}"#;
    let bad_url = s3.put("broken/capture.jsonl", format!("{good}\n{good}\n{bad}\n").into_bytes());
    let o = run(home.path(), &s3, &["drift", &bad_url, "--reference", &bad_url, "--columns", "input_0", "--format", "json"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains(&bad_url) && e.contains("line 3") && e.contains("2 inputs but 1 outputs"), "{e}");
}

#[test]
fn adult_over_http_as_csv_gzip_and_parquet_equals_the_file() {
    let dir = std::path::PathBuf::from(stack_var("STEWARD_TEST_HTTP_DIR")).join(format!("adult_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = format!("{}/adult_{}", stack_var("STEWARD_TEST_HTTP_URL"), std::process::id());
    let text = std::fs::read(fixture("adult_predictions.csv")).unwrap();
    std::fs::write(dir.join("adult.csv"), &text).unwrap();
    std::fs::write(dir.join("adult.csv.gz"), gzip(&text)).unwrap();
    std::fs::write(dir.join("adult.parquet"), adult_parquet(0)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let local = fixture("adult_predictions.csv");
    let args = ["--group", "sex,race", "--label", "label", "--prediction", "prediction", "--fairlearn-compat", "--format", "json"];
    let mut a = vec!["fairness", local.to_str().unwrap()];
    a.extend_from_slice(&args);
    let file = json(&steward(home.path(), &a));
    for (name, format) in [("adult.csv", "csv"), ("adult.csv.gz", "csv+gzip"), ("adult.parquet", "parquet")] {
        let url = format!("{base}/{name}");
        let mut a = vec!["fairness", url.as_str()];
        a.extend_from_slice(&args);
        let remote = json(&steward(home.path(), &a));
        check_report(&remote, "by_sex_x_race", "disparities_sex_x_race");
        assert_eq!(numbers(remote.clone()), numbers(file.clone()), "{url}: differs from the local file");
        assert_eq!((remote["file"].as_str(), remote["format"].as_str()), (Some(url.as_str()), Some(format)));
    }
    // A file the server does not have, and a folder: each named, with what is wrong.
    for (url, want) in [(format!("{base}/missing.csv"), "not found"), (format!("{base}/"), "must name one file")] {
        let o = steward(home.path(), &["fairness", &url, "--group", "sex", "--label", "label", "--prediction", "prediction"]);
        assert_eq!(o.status.code(), Some(1), "{url}: {}", stderr(&o));
        assert!(stderr(&o).contains(&url) && stderr(&o).contains(want), "{url}: {}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
