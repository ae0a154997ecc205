//! Fairness pushed down to the stack's real Spark (Spark Connect, local mode): Steward's Rust client
//! sends the generated Spark SQL with its parameter bound, and the counts come back as Arrow batches.
//! The same log as a file and as a Spark table gives identical reports, equal to Fairlearn's numbers;
//! score bins on the exact thresholds, UTC days and weeks and versions match the file engine; a hostile
//! table, column and values are quoted and never run; errors name the table, the column or the server;
//! cancelling interrupts the query. Tables are loaded, and checked afterwards, with PySpark's own client.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::adult::*;
use common::spark::SparkDb;
use common::*;
use serde_json::Value;

fn ok_json(out: std::process::Output) -> Value {
    assert!(out.status.success(), "steward failed: {}", stderr(&out));
    json(&out)
}

/// The report without what names the source.
fn numbers(mut v: Value) -> Value {
    let o = v.as_object_mut().expect("a JSON object");
    for k in ["file", "format", "query", "skipped_examples"] {
        o.remove(k);
    }
    v
}

const ADULT_SCHEMA: &str = "row_id INT, sex STRING, race STRING, label INT, prediction SMALLINT, score DOUBLE";

/// `fairness --source URL --table T ARGS` and `fairness FILE ARGS`, both as JSON.
fn both(home: &Path, db: &SparkDb, table: &str, file: &Path, args: &[&str]) -> (Value, Value) {
    let mut t = vec!["fairness", "--source", &db.url, "--table", table];
    t.extend_from_slice(args);
    t.extend_from_slice(&["--format", "json"]);
    let mut f = vec!["fairness", file.to_str().unwrap()];
    f.extend_from_slice(args);
    f.extend_from_slice(&["--format", "json"]);
    (ok_json(steward(home, &t)), ok_json(steward(home, &f)))
}

#[test]
fn adult_from_a_spark_table_equals_the_file_and_fairlearn() {
    let db = SparkDb::new("adult");
    let table = db.table("adult");
    let csv = fixture("adult_predictions.csv");
    assert_eq!(db.load(&table, &csv, ADULT_SCHEMA), 32_561);
    let home = tempfile::tempdir().unwrap();
    for (group, by, disp) in [("sex", "by_sex", "disparities_sex"), ("race", "by_race", "disparities_race"), ("sex,race", "by_sex_x_race", "disparities_sex_x_race")] {
        let args = ["--group", group, "--label", "label", "--prediction", "prediction", "--fairlearn-compat"];
        let (spark, file) = both(home.path(), &db, &table, &csv, &args);
        check_report(&spark, by, disp);
        assert_eq!(numbers(spark.clone()), numbers(file), "{group}: Spark and file differ");
        assert_eq!(spark["format"], "spark, pushdown");
        assert_eq!(spark["query"]["dialect"], "spark");
        let sql = spark["query"]["sql"].as_str().unwrap();
        assert!(sql.contains(&format!("FROM `{table}`")) && sql.contains("GROUP BY"), "{sql}");
    }
    // A score log: the threshold is a bound parameter, the sweep's bins and the AUC match the file.
    let args = ["--group", "sex", "--label", "label", "--score", "score", "--threshold", "0.37"];
    let (spark, file) = both(home.path(), &db, &table, &csv, &args);
    assert_eq!(spark["query"]["params"], serde_json::json!([0.37]));
    assert!(!spark["query"]["sql"].as_str().unwrap().contains("0.37"), "the threshold is bound, not spliced");
    assert!(file.to_string().contains("sweep") || file.to_string().contains("auc"), "the file's report has the score analysis");
    assert_eq!(numbers(spark), numbers(file));
    // --show-sql prints the query without running it; --fetch is PostgreSQL's.
    let out = steward(home.path(), &["fairness", "--source", &db.url, "--table", &table, "--group", "sex", "--label", "label", "--prediction", "prediction", "--show-sql"]);
    assert!(out.status.success() && stdout(&out).contains("GROUP BY"), "{}", stderr(&out));
    let out = steward(home.path(), &["fairness", "--source", &db.url, "--table", &table, "--group", "sex", "--label", "label", "--prediction", "prediction", "--fetch"]);
    assert!(!out.status.success() && stderr(&out).contains("PostgreSQL"), "{}", stderr(&out));
}

#[test]
fn scores_on_and_next_to_every_threshold_fall_in_the_same_bins_as_in_files() {
    let db = SparkDb::new("bins");
    let table = db.table("scores");
    let home = tempfile::tempdir().unwrap();
    // Spark's CSV reader spells infinity Inf; Steward's reads Rust's inf: two files, the same values.
    let (mut for_spark, mut for_file) = (String::from("g,label,score\n"), String::from("g,label,score\n"));
    let mut push = |g: &str, l: i64, s: Option<f64>| {
        let (a, b) = match s {
            None => (String::new(), String::new()),
            Some(x) if x.is_infinite() => ("Inf".to_string(), "inf".to_string()),
            Some(x) => (format!("{x:?}"), format!("{x:?}")),
        };
        for_spark.push_str(&format!("{g},{l},{a}\n"));
        for_file.push_str(&format!("{g},{l},{b}\n"));
    };
    for k in -3..=103 {
        let x = k as f64 / 100.0;
        for (i, s) in [x, x.next_up(), x.next_down(), x + 0.003].into_iter().enumerate() {
            push(if (k + i as i64) % 2 == 0 { "a" } else { "b" }, ((k + i as i64) % 3 == 0) as i64, Some(s));
        }
    }
    push("a", 1, None);
    push("b", 0, Some(f64::INFINITY));
    push("a", 0, Some(f64::NAN));
    let (spark_csv, file) = (home.path().join("spark.csv"), home.path().join("scores.csv"));
    std::fs::write(&spark_csv, for_spark).unwrap();
    std::fs::write(&file, for_file).unwrap();
    assert_eq!(db.load(&table, &spark_csv, "g STRING, label BIGINT, score DOUBLE"), 431);
    for threshold in ["0.5", "0.07", "0.29", "0"] {
        for strict in [false, true] {
            let mut args = vec!["--group", "g", "--label", "label", "--score", "score", "--threshold", threshold, "--skip-bad-rows"];
            if strict {
                args.push("--strict");
            }
            let (spark, from_file) = both(home.path(), &db, &table, &file, &args);
            assert_eq!(spark["skipped_rows"], 3, "a missing, an infinite and a NaN score are skipped");
            assert_eq!(numbers(spark), numbers(from_file), "threshold {threshold} strict {strict}");
        }
    }
}

#[test]
fn days_weeks_and_versions_from_timestamps_dates_and_epochs_match_the_file() {
    let db = SparkDb::new("time");
    let table = db.table("log");
    let home = tempfile::tempdir().unwrap();
    let mut csv = String::from("ts,day,epoch,version,grp,label,prediction\n");
    let start: i64 = 1_793_836_800; // 2026-11-05T00:00:00Z, a Thursday
    for i in 0..1_500i64 {
        let epoch = start + i * 1_213 - 3_600 + (i % 7) * 86_399;
        let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
        let date = civil(days);
        let ts = format!("{date}T{:02}:{:02}:{:02}Z", secs / 3_600, secs / 60 % 60, secs % 60);
        let (version, grp, label, pred) = (1 + i % 3, ["x", "y", "z"][(i % 5 % 3) as usize], i % 4 < 2, if i % 3 == 0 { "yes" } else { "no" });
        csv.push_str(&format!("{ts},{date},{epoch},{version},{grp},{label},{pred}\n"));
    }
    let file = home.path().join("log.csv");
    std::fs::write(&file, csv).unwrap();
    assert_eq!(db.load(&table, &file, "ts TIMESTAMP, day DATE, epoch BIGINT, version INT, grp STRING, label BOOLEAN, prediction STRING"), 1_500);
    for time in ["ts", "day", "epoch"] {
        for window in ["1d", "1w"] {
            let args = ["--group", "grp", "--label", "label", "--prediction", "prediction", "--positive-prediction", "yes", "--time", time, "--window", window, "--version", "version"];
            let (spark, from_file) = both(home.path(), &db, &table, &file, &args);
            assert!(spark["windows"].as_array().unwrap().len() >= 3, "{time} {window}");
            assert_eq!(numbers(spark), numbers(from_file), "time {time} window {window}");
        }
    }
}

#[test]
fn a_hostile_table_column_and_values_are_quoted_and_never_run() {
    let db = SparkDb::new("hostile");
    let adult = db.table("adult");
    assert_eq!(db.load(&adult, &fixture("adult_predictions.csv"), ADULT_SCHEMA), 32_561);
    let home = tempfile::tempdir().unwrap();
    // Spark's catalog allows only letters, digits and _ in table names: a hostile name can only be
    // asked for (below), the data goes in a plain table with a hostile column and values.
    let table = db.table("log");
    let column = format!("se`x'); DROP TABLE {adult}; --");
    let values = ["O'Brien", "'); DROP TABLE adult; --", "a;b", "`back`ticks`", "back\\slash"];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([column.as_str(), "label", "prediction"]).unwrap();
    for i in 0..500usize {
        let v = values[i % values.len()];
        w.write_record([v, &((i % 3 == 0) as i32).to_string(), &((i % 4 == 0) as i32).to_string()]).unwrap();
    }
    let file = home.path().join("hostile.csv");
    std::fs::write(&file, w.into_inner().unwrap()).unwrap();
    let schema = format!("`{}` STRING, label INT, prediction INT", column.replace('`', "``"));
    assert_eq!(db.load(&table, &file, &schema), 500);
    let (spark, from_file) = both(home.path(), &db, &table, &file, &["--group", &column, "--label", "label", "--prediction", "prediction"]);
    assert_eq!(numbers(spark.clone()), numbers(from_file));
    let keys: Vec<&str> = spark["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    for v in values {
        assert!(keys.iter().any(|k| k.replace("\\\\", "\\") == v), "group {v} in {keys:?}");
    }
    assert_eq!(spark["rows"], 500);
    // A hostile table name is quoted: Spark reports it as not found, and runs nothing of it.
    let hostile = format!("x`; DROP TABLE {adult}; --");
    let out = steward(home.path(), &["fairness", "--source", &db.url, "--table", &hostile, "--group", "sex", "--label", "label", "--prediction", "prediction"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("TABLE_OR_VIEW_NOT_FOUND"), "{}", stderr(&out));
    // Both tables are still there, whole (read back with PySpark).
    assert!(db.exists(&adult) && db.exists(&table));
    assert_eq!(db.count(&adult), 32_561);
    assert_eq!(db.count(&table), 500);
}

#[test]
fn errors_name_the_table_the_column_or_the_server() {
    let db = SparkDb::new("errors");
    let table = db.table("adult");
    db.load(&table, &fixture("adult_predictions.csv"), ADULT_SCHEMA);
    let home = tempfile::tempdir().unwrap();
    let fail = |args: &[&str]| {
        let out = steward(home.path(), args);
        assert!(!out.status.success(), "{args:?} succeeded");
        stderr(&out)
    };
    let e = fail(&["fairness", "--source", &db.url, "--table", &table, "--group", "nosuch", "--label", "label", "--prediction", "prediction"]);
    assert!(e.contains("nosuch") && e.contains("Spark"), "{e}");
    let e = fail(&["fairness", "--source", &db.url, "--table", "missing_table_x", "--group", "sex", "--label", "label", "--prediction", "prediction"]);
    assert!(e.contains("missing_table_x") && e.contains("TABLE_OR_VIEW_NOT_FOUND"), "{e}");
    let q = format!("SELECT sex, label + 1 AS label, prediction FROM `{table}`");
    let e = fail(&["fairness", "--source", &db.url, "--query", &q, "--group", "sex", "--label", "label", "--prediction", "prediction"]);
    assert!(e.contains("column 'label'") && e.contains("'2' is not binary"), "{e}");
    let e = fail(&["fairness", "--source", &format!("{}/;token=secret-abc", db.url), "--table", &table, "--group", "sex", "--label", "label", "--prediction", "prediction"]);
    assert!(e.contains("token") && !e.contains("secret-abc"), "the token is refused, unshown: {e}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let t = Instant::now();
    let e = fail(&["fairness", "--source", &format!("sc://127.0.0.1:{port}"), "--table", "t", "--group", "g", "--label", "l", "--prediction", "p", "--timeout", "3"]);
    assert!(e.contains(&format!("127.0.0.1:{port}")) && e.contains("cannot connect"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn cancelling_interrupts_the_query_on_the_server() {
    let db = SparkDb::new("cancel");
    let table = db.table("adult");
    db.load(&table, &fixture("adult_predictions.csv"), ADULT_SCHEMA);
    // A query that would run for minutes: every row joined with a large range.
    let slow = format!("SELECT a.* FROM `{table}` a CROSS JOIN range(200000) r WHERE a.row_id + r.id >= 0");
    let log = steward::sources::SqlLog::from_url(&db.url, steward::fairness::pushdown::SqlSource::Query(slow)).unwrap();
    let spec = steward::fairness::Spec::new(&["sex"], "label", steward::fairness::Spec::prediction("prediction"));
    let progress = std::sync::Arc::new(steward::fairness::Progress::new());
    let p2 = progress.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2_500));
        p2.cancel();
    });
    let t = Instant::now();
    let e = steward::sources::fairness(&log, &spec, Duration::from_secs(10), &progress).unwrap_err();
    assert_eq!(e.kind, steward::fairness::ErrorKind::Cancelled, "{e}");
    assert!(t.elapsed() < Duration::from_secs(10), "cancelled after {:?}", t.elapsed());
    // The server is free again: the whole table counts in a few seconds (the interrupted join would
    // hold both cores for minutes).
    let whole = steward::sources::SqlLog::from_url(&db.url, steward::fairness::pushdown::SqlSource::Table(table.clone())).unwrap();
    let t = Instant::now();
    let (report, _) = steward::sources::fairness(&whole, &spec, Duration::from_secs(10), &steward::fairness::Progress::new()).unwrap();
    assert_eq!(report.rows, 32_561);
    assert!(t.elapsed() < Duration::from_secs(20), "took {:?}", t.elapsed());
}

#[test]
fn a_profiles_spark_log_carries_its_source_and_mapping() {
    let db = SparkDb::new("named");
    let table = db.table("adult");
    db.load(&table, &fixture("adult_predictions.csv"), ADULT_SCHEMA);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let profiles = format!(
        "active = \"prod\"\n[[profile]]\nname = \"prod\"\n[[profile.log]]\nname = \"lake\"\nengine = \"spark\"\nurl = \"{}\"\ntable = \"{table}\"\n\
         group = [\"race\"]\nlabel = \"label\"\nprediction = \"prediction\"\n",
        db.url
    );
    std::fs::write(config.join("profiles.toml"), profiles).unwrap();
    let by_race = ok_json(steward(home.path(), &["fairness", "--source", "lake", "--fairlearn-compat", "--format", "json"]));
    check_report(&by_race, "by_race", "disparities_race");
    assert_eq!(by_race["file"], "lake");
    assert_eq!(by_race["format"], "spark, pushdown");
}
