//! Drift counted where the log lives (`steward drift postgres://...?table=` / `sc://...?table=`): the
//! stack's real PostgreSQL and Spark run the generated query (value counts per UTC day of every column,
//! one scan) and the drift engine compares the counts. Oracles: Evidently's and scipy's numbers for the
//! same two logs (tests/fixtures/drift/evidently.json, made by scripts/oracles/drift_logs.py), the file
//! engine on the same rows, and the table read back with the PostgreSQL client.

mod common;

use std::path::{Path, PathBuf};

use common::pg::TeamDb;
use common::spark::SparkDb;
use common::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift")
}

fn drift(home: &Path, env: &[(&str, String)], args: &[&str]) -> (Value, String) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut a = vec!["drift"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--format", "json"]);
    let o = steward_env(home, &a, &env);
    // Exit 3: drift found (the fixture's last two days drift); anything else but 0 is a failure.
    assert!(matches!(o.status.code(), Some(0 | 3)), "steward drift {args:?}: {}{}", stdout(&o), stderr(&o));
    let report = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    (report, stderr(&o))
}

/// The file engine's report on the fixture CSVs with `extra` arguments.
fn from_files(home: &Path, extra: &[&str]) -> Value {
    let f = fixtures();
    let (cur, refr) = (f.join("current.csv"), f.join("reference.csv"));
    let mut args = vec![cur.to_str().unwrap(), "--reference", refr.to_str().unwrap()];
    args.extend_from_slice(extra);
    drift(home, &[], &args).0
}

fn close(ours: &Value, theirs: &Value, what: &str) {
    match theirs {
        Value::String(s) if s == "inf" => assert!(ours.is_null() || ours == "inf" || ours.as_f64().is_some_and(f64::is_infinite), "{what}: {ours}"),
        _ => {
            let (a, b) = (ours.as_f64().unwrap_or_else(|| panic!("{what}: ours {ours}")), theirs.as_f64().unwrap());
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-300) || (a - b).abs() <= 1e-14, "{what}: ours {a:e}, Evidently/scipy {b:e}");
        }
    }
}

/// Every window's statistics equal Evidently's and scipy's for the fixture logs.
fn equals_evidently(report: &Value) {
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("evidently.json")).unwrap()).unwrap();
    let windows = report["windows"].as_array().unwrap();
    assert!(!windows.is_empty());
    for w in windows {
        let label = w["label"].as_str().unwrap();
        let exp = expected["windows"][label].as_object().unwrap_or_else(|| panic!("no expected values for {label}"));
        for (column, e) in exp {
            let c = w["columns"].as_array().unwrap().iter().find(|c| c["column"] == column.as_str()).unwrap();
            let what = |m: &str| format!("{label} {column} {m}");
            if e["kind"] == "numerical" {
                for m in ["ks_statistic", "ks_p_value", "wasserstein", "wasserstein_normed", "psi", "jensen_shannon"] {
                    close(&c[m], &e[m], &what(m));
                }
                assert_eq!(c["current_missing"], e["current_missing"], "{}", what("missing"));
            } else {
                close(&c["chi_square"]["statistic"], &e["chi_square"], &what("chi-square"));
                close(&c["jensen_shannon"], &e["jensen_shannon"], &what("jensen_shannon"));
            }
        }
    }
}

const PG_TABLE: &str = "(time timestamptz, age integer, hours double precision, score double precision, workclass text, prediction integer)";

fn load_pg(db: &TeamDb, table: &str, csv: &Path, columns: &str) -> u64 {
    let mut c = db.client();
    c.batch_execute(&format!("CREATE TABLE {table} {columns}")).unwrap();
    let mut w = c.copy_in(&format!("COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)")).unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(csv).unwrap()).unwrap();
    w.finish().unwrap()
}

#[test]
fn drift_counted_in_postgresql_equals_the_files_evidently_and_scipy() {
    let home = tempfile::tempdir().unwrap();
    let db = TeamDb::new("drift");
    assert_eq!(load_pg(&db, "cur", &fixtures().join("current.csv"), PG_TABLE), 2_400);
    assert_eq!(load_pg(&db, "ref", &fixtures().join("reference.csv"), PG_TABLE), 1_500);
    let (cur, refr) = (format!("{}?table=cur", db.url), format!("{}?table=ref", db.url));
    let env = db.env();
    for extra in [&["--time", "time", "--window", "1d"][..], &["--time", "time"][..]] {
        let mut args = vec![cur.as_str(), "--reference", refr.as_str()];
        args.extend_from_slice(extra);
        let (table, err) = drift(home.path(), &env, &args);
        let file = from_files(home.path(), extra);
        // The same counts give the same report, number for number, as the file engine's.
        assert_eq!(table["windows"], file["windows"], "{extra:?}");
        assert_eq!((&table["reference_rows"], &table["rows_without_time"]), (&file["reference_rows"], &file["rows_without_time"]));
        equals_evidently(&table);
        // The report names the tables and carries each side's query; stderr says what came over the wire.
        assert!(table["current"].as_str().unwrap().contains("table cur"), "{}", table["current"]);
        let q = table["queries"].as_array().unwrap();
        assert_eq!(q.len(), 2);
        assert!(q[1]["sql"].as_str().unwrap().contains("CROSS JOIN LATERAL (VALUES (-1, NULL), (0, CAST(r.v0 AS TEXT))"), "{}", q[1]["sql"]);
        assert!(err.contains("result rows (counts)") && err.contains("bytes received"), "{err}");
    }
    // A file reference against the table, and the table's own first two days as the reference.
    let f = fixtures().join("reference.csv");
    let (mixed, _) = drift(home.path(), &env, &[&cur, "--reference", f.to_str().unwrap(), "--time", "time", "--window", "1d"]);
    assert_eq!(mixed["windows"], from_files(home.path(), &["--time", "time", "--window", "1d"])["windows"]);
    assert_eq!(mixed["queries"].as_array().unwrap().len(), 1);
    let (days, _) = drift(home.path(), &env, &[&cur, "--reference-days", "2", "--time", "time", "--window", "1d"]);
    let cur_file = fixtures().join("current.csv");
    let (file_days, _) = drift(home.path(), &[], &[cur_file.to_str().unwrap(), "--reference-days", "2", "--time", "time", "--window", "1d"]);
    assert_eq!(days["windows"], file_days["windows"]);
    assert_eq!(days["windows"].as_array().unwrap().len(), 2, "two days after the two reference days");
    assert!(days["reference"].as_str().unwrap().starts_with("2026-11-04 to 2026-11-05 (2 days of"), "{}", days["reference"]);
}

#[test]
fn a_hostile_column_name_is_quoted_and_show_sql_runs_nothing() {
    let home = tempfile::tempdir().unwrap();
    let db = TeamDb::new("drift_hostile");
    let hostile = "wo\"rk'); DROP TABLE cur; --";
    let columns = format!("(time timestamptz, age integer, hours double precision, score double precision, \"{}\" text, prediction integer)", hostile.replace('"', "\"\""));
    load_pg(&db, "cur", &fixtures().join("current.csv"), &columns);
    let url = format!("{}?table=cur", db.url);
    let env = db.env();
    let (table, _) = drift(home.path(), &env, &[&url, "--reference-days", "2", "--time", "time", "--columns", hostile]);
    let cur_file = fixtures().join("current.csv");
    let (file, _) = drift(home.path(), &[], &[cur_file.to_str().unwrap(), "--reference-days", "2", "--time", "time", "--columns", "workclass"]);
    let col = |r: &Value| r["windows"][0]["columns"][0].clone();
    let (mut a, b) = (col(&table), col(&file));
    assert_eq!(a["column"], hostile);
    a["column"] = b["column"].clone();
    assert_eq!(a, b, "the hostile column's numbers are workclass's");
    let n: i64 = db.client().query_one("SELECT COUNT(*) FROM cur", &[]).unwrap().get(0);
    assert_eq!(n, 2_400, "the table is still there, whole");
    // --show-sql prints the query and runs nothing; a missing column is the server's error, named.
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = steward_env(home.path(), &["drift", &url, "--reference-days", "2", "--time", "time", "--show-sql"], &envs);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("-- current (postgresql)") && stdout(&o).contains("\"wo\"\"rk'); DROP TABLE cur; --\""), "{}", stdout(&o));
    let o = steward_env(home.path(), &["drift", &url, "--reference-days", "2", "--time", "time", "--columns", "nope"], &envs);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope") && stderr(&o).contains("PostgreSQL"), "{}", stderr(&o));
}

#[test]
fn drift_counted_in_spark_equals_the_files_and_evidently() {
    let home = tempfile::tempdir().unwrap();
    let db = SparkDb::new("drift");
    let schema = "time TIMESTAMP, age INT, hours DOUBLE, score DOUBLE, workclass STRING, prediction INT";
    let (cur, refr) = (db.table("cur"), db.table("ref"));
    assert_eq!(db.load(&cur, &fixtures().join("current.csv"), schema), 2_400);
    assert_eq!(db.load(&refr, &fixtures().join("reference.csv"), schema), 1_500);
    let (cur_url, ref_url) = (format!("{}?table={cur}", db.url), format!("{}?table={refr}", db.url));
    let extra = ["--time", "time", "--window", "1d"];
    let mut args = vec![cur_url.as_str(), "--reference", ref_url.as_str()];
    args.extend_from_slice(&extra);
    let (table, _) = drift(home.path(), &[], &args);
    assert_eq!(table["windows"], from_files(home.path(), &extra)["windows"]);
    equals_evidently(&table);
    assert_eq!(table["queries"][0]["engine"], "spark");
    assert!(table["queries"][1]["sql"].as_str().unwrap().contains("UNIX_TIMESTAMP(CAST(`time` AS TIMESTAMP))"), "{}", table["queries"][1]["sql"]);
}
