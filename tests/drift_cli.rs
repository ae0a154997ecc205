//! `steward drift` on two small logs against what Evidently 0.7 and scipy 1.17 compute for the same
//! windows (tests/fixtures/drift/evidently.json, made by scripts/oracles/drift_logs.py): PSI and
//! Jensen-Shannon on Evidently's bins, normed Wasserstein, chi-square, KS, missing values and new
//! categories; the size-aware verdict flags the simulated shift of the last two days and nothing else.

mod common;

use common::*;
use serde_json::Value;

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift")
}

fn close(ours: &Value, theirs: &Value, what: &str) {
    match theirs {
        Value::String(s) if s == "inf" => assert!(ours.is_null() || ours.as_f64().is_some_and(f64::is_infinite) || ours == "inf", "{what}: ours {ours}, expected inf"),
        _ => {
            let (a, b) = (ours.as_f64().unwrap_or_else(|| panic!("{what}: ours {ours}")), theirs.as_f64().unwrap());
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-300) || (a - b).abs() <= 1e-14, "{what}: ours {a:e}, Evidently/scipy {b:e}");
        }
    }
}

fn run(extra: &[&str]) -> (Value, i32) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixtures();
    let (cur, refr) = (f.join("current.csv"), f.join("reference.csv"));
    let mut args = vec!["drift", cur.to_str().unwrap(), "--reference", refr.to_str().unwrap(), "--time", "time", "--format", "json"];
    args.extend(extra);
    let o = steward(dir.path(), &args);
    (serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o))), o.status.code().unwrap_or(-1))
}

#[test]
fn drift_per_day_and_overall_equals_evidently_and_scipy() {
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("evidently.json")).unwrap()).unwrap();
    let (daily, code) = run(&["--window", "1d"]);
    assert_eq!(code, 3, "drift found: exit 3");
    let (overall, _) = run(&[]);
    let mut windows: Vec<&Value> = daily["windows"].as_array().unwrap().iter().collect();
    windows.extend(overall["windows"].as_array().unwrap());
    assert_eq!(windows.len(), 5, "four days and the whole log");
    for w in windows {
        let label = w["label"].as_str().unwrap();
        let exp = &expected["windows"][label];
        assert!(exp.is_object(), "no expected values for window {label}");
        for (column, e) in exp.as_object().unwrap() {
            let c = w["columns"].as_array().unwrap().iter().find(|c| c["column"] == column.as_str()).unwrap();
            let what = |m: &str| format!("{label} {column} {m}");
            assert_eq!(c["kind"], e["kind"], "{}", what("kind"));
            if e["kind"] == "numerical" {
                for m in ["ks_statistic", "ks_p_value", "wasserstein", "wasserstein_normed", "psi", "jensen_shannon"] {
                    close(&c[m], &e[m], &what(m));
                }
                assert_eq!(c["reference_missing"], e["reference_missing"], "{}", what("missing"));
                assert_eq!(c["current_missing"], e["current_missing"], "{}", what("missing"));
            } else {
                close(&c["chi_square"]["statistic"], &e["chi_square"], &what("chi-square"));
                close(&c["chi_square"]["p_value"], &e["chi_square_p"], &what("chi-square p"));
                for m in ["psi", "jensen_shannon"] {
                    close(&c[m], &e[m], &what(m));
                }
                let new: Vec<&str> = c["new_categories"].as_array().unwrap().iter().map(|x| x[0].as_str().unwrap()).collect();
                let want: Vec<&str> = e["new_categories"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
                assert_eq!(new, want, "{}", what("new categories"));
            }
        }
        // The verdict: the shifted days (6 and 7 November) drift in age, hours, score and workclass; the
        // first two days drift in nothing.
        let drifted: Vec<&str> = w["columns"].as_array().unwrap().iter().filter(|c| c["drifted"] == true).map(|c| c["column"].as_str().unwrap()).collect();
        match label {
            "2026-11-04" | "2026-11-05" => assert!(drifted.is_empty(), "{label}: {drifted:?}"),
            _ => {
                for c in ["age", "hours", "score", "workclass"] {
                    assert!(drifted.contains(&c), "{label}: {c} not flagged: {drifted:?}");
                }
                assert!(!drifted.contains(&"prediction"), "{label}: the positive rate moved 0.5 -> 0.6, JS < 0.1");
            }
        }
        // Most severe first.
        let sev: Vec<f64> = w["columns"].as_array().unwrap().iter().map(|c| c["severity"].as_f64().unwrap()).collect();
        assert!(sev.windows(2).all(|p| p[0] >= p[1]), "{label}: not sorted by severity {sev:?}");
    }
}

#[test]
fn the_table_names_new_categories_missing_values_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixtures();
    let o = steward(dir.path(), &["drift", f.join("current.csv").to_str().unwrap(), "--reference-days", "2", "--time", "time", "--window", "1d"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(3), "{out}{}", stderr(&o));
    assert!(out.contains("reference: 2026-11-04 to 2026-11-05 (2 days of"), "{out}");
    assert!(out.contains("new: Without-pay"), "{out}");
    assert!(out.contains("rule: drifted = effect >= 0.1 and p < 0.05"), "{out}");
    assert!(out.contains("window 2026-11-06") && !out.contains("window 2026-11-05"), "the reference days are not windows: {out}");
    // A missing reference is a usage error, not a crash.
    let o = steward(dir.path(), &["drift", f.join("current.csv").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn drift_rules_replace_the_verdict_for_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixtures();
    let cur = f.join("current.csv");
    let run = |rules: &[&str]| {
        let mut args = vec!["drift", cur.to_str().unwrap(), "--reference-days", "2", "--time", "time", "--window", "1d"];
        for r in rules {
            args.extend(["--rule", r]);
        }
        steward(dir.path(), &args)
    };
    let o = run(&["psi(age) > 0.2"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("2 rule firing(s): psi(age) > 0.2 in 2026-11-06"), "{}", stderr(&o));
    // Rules given: only they decide the exit code (the verdict still shows DRIFT in the table).
    let o = run(&["psi(prediction) > 0.5"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("DRIFT"));
    let o = run(&["psi(nope) > 1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no column 'nope'"), "{}", stderr(&o));
}

/// The same two logs written as Parquet with typed columns (timestamps, integers, floats, strings with
/// nulls where the CSV has missing cells) give the same report as the CSV files, number for number.
#[test]
fn parquet_logs_give_the_same_drift_as_csv() {
    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampSecondArray};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str| -> std::path::PathBuf {
        let text = std::fs::read_to_string(fixtures().join(format!("{name}.csv"))).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), "time,age,hours,score,workclass,prediction");
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        let cell = |r: &Vec<&str>, i: usize| -> Option<String> { Some(r[i].to_string()).filter(|c| !c.is_empty() && c != "NA" && c != "nan") };
        let secs = |c: String| chrono_secs(&c);
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("time", Arc::new(TimestampSecondArray::from(rows.iter().map(|r| cell(r, 0).map(secs)).collect::<Vec<_>>()).with_timezone("UTC"))),
            ("age", Arc::new(Int64Array::from(rows.iter().map(|r| cell(r, 1).map(|c| c.parse::<i64>().unwrap())).collect::<Vec<_>>()))),
            ("hours", Arc::new(Float64Array::from(rows.iter().map(|r| cell(r, 2).map(|c| c.parse::<f64>().unwrap())).collect::<Vec<_>>()))),
            ("score", Arc::new(Float64Array::from(rows.iter().map(|r| cell(r, 3).map(|c| c.parse::<f64>().unwrap())).collect::<Vec<_>>()))),
            ("workclass", Arc::new(StringArray::from(rows.iter().map(|r| cell(r, 4)).collect::<Vec<_>>()))),
            ("prediction", Arc::new(Int64Array::from(rows.iter().map(|r| cell(r, 5).map(|c| c.parse::<i64>().unwrap())).collect::<Vec<_>>()))),
        ];
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        let path = dir.path().join(format!("{name}.parquet"));
        let props = parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(500)).build();
        let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        path
    };
    let (cur, refr) = (write("current"), write("reference"));
    let args = ["drift", cur.to_str().unwrap(), "--reference", refr.to_str().unwrap(), "--time", "time", "--window", "1d", "--format", "json"];
    let o = steward(dir.path(), &args);
    let parquet: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let (csv, _) = run(&["--window", "1d"]);
    assert_eq!(parquet["windows"].as_array().map(Vec::len), Some(4), "four days");
    assert_eq!(parquet["windows"], csv["windows"], "every window, column and number equal");
    assert_eq!(parquet["reference_rows"], csv["reference_rows"]);
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ` (days from civil, Howard Hinnant's algorithm).
fn chrono_secs(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19)
}

/// The distribution shown in the window is the one PSI was computed on: each side's shares sum to 1,
/// and PSI recomputed from them (empty bins filled as Evidently does) equals the reported PSI, which
/// the test above checks against Evidently.
#[test]
fn the_charted_distribution_is_the_one_psi_compares() {
    let (daily, _) = run(&["--window", "1d"]);
    let mut checked = 0;
    for w in daily["windows"].as_array().unwrap() {
        for c in w["columns"].as_array().unwrap().iter().filter(|c| c["kind"] != "skipped") {
            let bins = c["distribution"].as_array().unwrap();
            assert!(!bins.is_empty() && bins.len() <= steward::monitoring::drift::MAX_BINS, "{}", c["column"]);
            let side = |k: &str| bins.iter().map(|b| b[k].as_f64().unwrap()).collect::<Vec<f64>>();
            let (mut r, mut k) = (side("reference"), side("current"));
            assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-9 && (k.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{}", c["column"]);
            steward::monitoring::stats::fill_empty(&mut r);
            steward::monitoring::stats::fill_empty(&mut k);
            let psi = steward::monitoring::stats::psi(&r, &k);
            let want = c["psi"].as_f64().unwrap();
            assert!((psi - want).abs() <= 1e-12 * want.abs().max(1.0), "{} {}: {psi} vs {want}", w["label"], c["column"]);
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
}

/// Past `MAX_DISTINCT` (1,000,000) distinct values of a numerical column in a day, the engine rounds to
/// 6 significant digits. Checked against an exact computation here, on the unrounded values (sorted
/// samples: the KS statistic as the largest gap between the two empirical distribution functions, the
/// Wasserstein distance as the integral of their absolute difference): rounding moves each value by at
/// most 5e-7 of its size, so the statistics may move by that much and no more (bounds below).
#[test]
fn past_a_million_distinct_values_the_rounded_statistics_stay_within_their_bound() {
    let dir = tempfile::tempdir().unwrap();
    let n = 1_100_000usize;
    let mut rng = Rng(0x5eed_0d1f_f00d_0002);
    // Day 1 (reference): uniform on [0, 1); day 2: its square root (a shift toward 1). 15 decimals: all distinct.
    let reference: Vec<f64> = (0..n).map(|_| (rng.next() >> 11) as f64 / (1u64 << 53) as f64).collect();
    let current: Vec<f64> = (0..n).map(|_| ((rng.next() >> 11) as f64 / (1u64 << 53) as f64).sqrt()).collect();
    let mut text = String::with_capacity(2 * n * 40);
    text.push_str("time,x\n");
    for (day, xs) in [("2026-11-01", &reference), ("2026-11-02", &current)] {
        for x in xs.iter() {
            text.push_str(&format!("{day}T12:00:00Z,{x:.15}\n"));
        }
    }
    let log = dir.path().join("log.csv");
    std::fs::write(&log, text).unwrap();
    let o = steward(dir.path(), &["drift", log.to_str().unwrap(), "--reference-days", "1", "--time", "time", "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let c = &v["windows"][0]["columns"][0];
    assert_eq!(c["column"], "x");
    assert_eq!(c["rounded"], true, "more than 1,000,000 distinct values in a day: rounded, and said so");
    // The exact statistics on the values as written (parsed back, as the engine reads them).
    let parse = |xs: &[f64]| {
        let mut v: Vec<f64> = xs.iter().map(|x| format!("{x:.15}").parse().unwrap()).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (a, b) = (parse(&reference), parse(&current));
    let (mut i, mut j, mut d, mut w, mut prev) = (0usize, 0usize, 0f64, 0f64, 0f64);
    while i < a.len() || j < b.len() {
        let x = match (a.get(i), b.get(j)) {
            (Some(p), Some(q)) => p.min(*q),
            (Some(p), None) => *p,
            (None, Some(q)) => *q,
            (None, None) => unreachable!(),
        };
        let gap = (i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs();
        w += gap * (x - prev);
        prev = x;
        while a.get(i) == Some(&x) {
            i += 1;
        }
        while b.get(j) == Some(&x) {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    let (ks, ws) = (c["ks_statistic"].as_f64().unwrap(), c["wasserstein"].as_f64().unwrap());
    // Values in [0, 1) move by at most 5e-7 (relative, so at most 5e-7 absolute): the Wasserstein distance
    // by at most 2 x 5e-7. The KS statistic can change by the share of either sample within 5e-7 of a
    // point: both densities are at most 2 here, so at most 2 x 2 x 1e-6 plus one value's weight.
    assert!((ws - w).abs() <= 1e-6, "Wasserstein: rounded {ws}, exact {w}");
    assert!((ks - d).abs() <= 4e-6 + 1.0 / n as f64, "KS: rounded {ks}, exact {d}");
    assert!(d > 0.2 && w > 0.1, "the shift is there: D {d}, W {w}");
}
