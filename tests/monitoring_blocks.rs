//! The monitoring engines read CSV in parallel (4 MB blocks, two workers) and JSON Lines one row at a
//! time. On a log of several blocks: the confusion counts per (version, day) equal those counted here
//! from the generated rows; drift and quality give the same answer from CSV, gzip CSV and JSON Lines;
//! an error in a later block names its physical line, and of two errors the first in the file wins.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;

struct Row {
    time: String,
    version: u32,
    label: u8,
    prediction: u8,
    score: f64,
    age: u32,
    work: &'static str,
}

const WORK: [&str; 5] = ["Private", "Self-emp-not-inc", "Local-gov", "?", "State-gov"];

fn rows(n: usize) -> Vec<Row> {
    let mut rng = Rng(0x5eed_b10c_0000_0001);
    (0..n)
        .map(|i| {
            let day = 1 + (i * 10 / n) as u32;
            let secs = (i * 37) % 86_400;
            let score = (rng.next() % 10_001) as f64 / 10_000.0;
            let label = u8::from(rng.next() % 100 < (score * 100.0) as u64);
            Row {
                time: format!("2026-11-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60),
                version: 1 + (i % 2) as u32,
                label,
                prediction: u8::from(score >= 0.5),
                score,
                age: 17 + (rng.next() % 70) as u32 + if day > 7 { 5 } else { 0 },
                work: WORK[(rng.next() % 5) as usize],
            }
        })
        .collect()
}

fn csv_text(rows: &[Row]) -> String {
    let mut s = String::from("time,model_version,label,prediction,score,age,workclass\n");
    for r in rows {
        s.push_str(&format!("{},{},{},{},{:.4},{},{}\n", r.time, r.version, r.label, r.prediction, r.score, r.age, r.work));
    }
    s
}

fn jsonl_text(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "{{\"time\":\"{}\",\"model_version\":{},\"label\":{},\"prediction\":{},\"score\":{:.4},\"age\":{},\"workclass\":\"{}\"}}\n",
                r.time, r.version, r.label, r.prediction, r.score, r.age, r.work
            )
        })
        .collect()
}

const QUALITY: &[&str] = &["--label", "label", "--prediction", "prediction", "--score", "score", "--time", "time", "--version", "model_version", "--format", "json"];
const DRIFT: &[&str] = &["--reference-days", "7", "--time", "time", "--window", "1d", "--exclude", "label,prediction,model_version", "--format", "json"];

fn run(home: &std::path::Path, cmd: &str, file: &std::path::Path, args: &[&str]) -> Value {
    let mut a = vec![cmd, file.to_str().unwrap()];
    a.extend_from_slice(args);
    let o = steward(home, &a);
    // drift exits 3 when a column drifted; the report is on stdout either way.
    assert!(matches!(o.status.code(), Some(0 | 3)), "{cmd}: {}", stderr(&o));
    let mut v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{cmd}: not JSON ({e})"));
    // The file names differ by format; everything else must not.
    for k in ["predictions", "current", "reference"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

#[test]
fn csv_read_in_blocks_equals_counting_by_hand_and_the_row_at_a_time_readers() {
    let dir = tempfile::tempdir().unwrap();
    let data = rows(400_000);
    let text = csv_text(&data);
    assert!(text.len() > 12 << 20, "several 4 MB blocks: {}", text.len());
    let (csv, gz, jsonl) = (dir.path().join("log.csv"), dir.path().join("log.csv.gz"), dir.path().join("log.jsonl"));
    std::fs::write(&csv, &text).unwrap();
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    std::fs::write(&jsonl, jsonl_text(&data)).unwrap();

    // Quality: the confusion counts per (version, day), counted here.
    let mut cm: BTreeMap<(String, String), [u64; 4]> = BTreeMap::new();
    for r in &data {
        let c = cm.entry((r.version.to_string(), r.time[..10].to_string())).or_default();
        c[match (r.prediction, r.label) {
            (1, 1) => 0,
            (1, 0) => 1,
            (0, 1) => 2,
            _ => 3,
        }] += 1;
    }
    let q = run(dir.path(), "quality", &csv, QUALITY);
    let windows = q["windows"].as_array().unwrap();
    assert_eq!(windows.len(), cm.len());
    for w in windows {
        let key = (w["version"].as_str().unwrap().to_string(), w["window"].as_str().unwrap().to_string());
        let got = ["true_positives", "false_positives", "false_negatives", "true_negatives"].map(|k| w[k].as_u64().unwrap());
        assert_eq!(got, cm[&key], "{key:?}");
    }
    assert_eq!(run(dir.path(), "quality", &gz, QUALITY), q, "gzip CSV (blocks) and CSV agree");
    assert_eq!(run(dir.path(), "quality", &jsonl, QUALITY), q, "JSON Lines (row at a time) and CSV (blocks) agree");

    // Drift: the same from the three files; the shifted age drifts in every day after the reference.
    let d = run(dir.path(), "drift", &csv, DRIFT);
    assert_eq!(d["windows"].as_array().unwrap().len(), 3);
    assert_eq!(d["reference_rows"], 280_000);
    for w in d["windows"].as_array().unwrap() {
        assert_eq!(w["columns"][0]["column"], "age", "{}", w["label"]);
    }
    assert_eq!(run(dir.path(), "drift", &gz, DRIFT), d, "gzip CSV and CSV agree");
    assert_eq!(run(dir.path(), "drift", &jsonl, DRIFT), d, "JSON Lines and CSV agree");
}

#[test]
fn an_error_in_a_later_block_names_its_line_and_the_first_error_wins() {
    let dir = tempfile::tempdir().unwrap();
    let data = rows(300_000);
    let mut lines: Vec<String> = csv_text(&data).lines().map(str::to_string).collect();
    // Physical lines are 1-based with the header as line 1: data row i is line i + 2.
    lines[250_000] = lines[250_000].replacen("2026-11-", "2026-13-", 1);
    lines[280_000].push_str(",extra");
    let log = dir.path().join("log.csv");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    for (cmd, args) in [("quality", QUALITY), ("drift", DRIFT)] {
        let mut a = vec![cmd, log.to_str().unwrap()];
        a.extend_from_slice(args);
        let o = steward(dir.path(), &a);
        let e = stderr(&o);
        assert!(!o.status.success(), "{cmd}");
        assert!(e.contains("log.csv:250001") && e.contains("time"), "{cmd}: the bad time on line 250001 first: {e}");
    }
    // Without the bad time, the extra field is the error.
    lines[250_000] = lines[250_000].replacen("2026-13-", "2026-11-", 1);
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let mut a = vec!["drift", log.to_str().unwrap()];
    a.extend_from_slice(DRIFT);
    let e = stderr(&steward(dir.path(), &a));
    assert!(e.contains("log.csv:280001") && e.contains("8 fields, the header has 7"), "{e}");
}

/// ROC AUC by Mann-Whitney, computed here: the mean over (positive, negative) pairs of 1 when the
/// positive scores higher, 1/2 on a tie (rank sums over the sorted scores, ties given their mean rank).
fn mann_whitney_auc(pairs: &mut [(f64, u8)]) -> f64 {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut pos, mut i) = (0.0, 0u64, 0);
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        for p in &pairs[i..j] {
            if p.1 == 1 {
                rank_sum += mean_rank;
                pos += 1;
            }
        }
        i = j;
    }
    let neg = pairs.len() as u64 - pos;
    (rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64
}

#[test]
fn scores_at_full_precision_are_all_counted_and_the_auc_is_exact() {
    // Every score distinct (more than quality_count::SCORE_IDS per worker): the counting goes from ids
    // to values part way, and nothing is interned past that point.
    let dir = tempfile::tempdir().unwrap();
    let mut data = rows(300_000);
    let mut rng = Rng(0x5eed_f011_0000_0002);
    for r in &mut data {
        r.score = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        r.label = u8::from(rng.next() % 1000 < (r.score * 700.0) as u64 + 150);
    }
    let text: String = std::iter::once("time,model_version,label,prediction,score,age,workclass\n".to_string())
        .chain(data.iter().map(|r| format!("{},{},{},{},{},{},{}\n", r.time, r.version, r.label, r.prediction, r.score, r.age, r.work)))
        .collect();
    let jsonl: String = data
        .iter()
        .map(|r| format!("{{\"time\":\"{}\",\"model_version\":{},\"label\":{},\"prediction\":{},\"score\":{},\"age\":{},\"workclass\":\"{}\"}}\n", r.time, r.version, r.label, r.prediction, r.score, r.age, r.work))
        .collect();
    let (csv, jl) = (dir.path().join("full.csv"), dir.path().join("full.jsonl"));
    std::fs::write(&csv, text).unwrap();
    std::fs::write(&jl, jsonl).unwrap();
    let mut by_window: BTreeMap<(String, String), Vec<(f64, u8)>> = BTreeMap::new();
    for r in &data {
        by_window.entry((r.version.to_string(), r.time[..10].to_string())).or_default().push((r.score, r.label));
    }
    let q = run(dir.path(), "quality", &csv, QUALITY);
    let windows = q["windows"].as_array().unwrap();
    assert_eq!(windows.len(), by_window.len());
    for w in windows {
        let key = (w["version"].as_str().unwrap().to_string(), w["window"].as_str().unwrap().to_string());
        let want = mann_whitney_auc(by_window.get_mut(&key).unwrap());
        let got = w["roc_auc"]["value"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-12, "{key:?}: AUC {got}, Mann-Whitney {want}");
    }
    assert_eq!(run(dir.path(), "quality", &jl, QUALITY), q, "JSON Lines (one sink) and CSV (two workers) agree");
}
