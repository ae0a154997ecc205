//! Fairness pushed down to the stack's real PostgreSQL (`steward fairness --source postgres://...`):
//! the same log as a file and as a table gives identical reports (the file engine is itself checked
//! against Fairlearn; here the table's numbers are also checked against Fairlearn's directly), score
//! bins on the exact thresholds, UTC days and weeks, versions, a hostile table, column and values, the
//! errors, and cancellation on the server. Oracles: Fairlearn's recorded numbers, the file engine, and
//! the table read back with the PostgreSQL client.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::adult::*;
use common::pg::TeamDb;
use common::*;
use serde_json::Value;

fn login(db: &TeamDb) -> Vec<(&'static str, String)> {
    db.env()
}

fn run(home: &Path, db: &TeamDb, args: &[&str]) -> std::process::Output {
    let env = login(db);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    steward_env(home, args, &env)
}

fn ok_json(out: std::process::Output) -> Value {
    assert!(out.status.success(), "steward failed: {}", stderr(&out));
    json(&out)
}

/// The report without what names the source (file or table) and where a bad row was.
fn numbers(mut v: Value) -> Value {
    let o = v.as_object_mut().expect("a JSON object");
    for k in ["file", "format", "query", "skipped_examples"] {
        o.remove(k);
    }
    v
}

fn load_adult(db: &TeamDb) {
    let mut c = db.client();
    c.batch_execute(
        "CREATE TABLE adult (row_id integer, sex text, race varchar(40), label integer, prediction smallint, score double precision)",
    )
    .unwrap();
    let mut w = c.copy_in("COPY adult FROM STDIN WITH (FORMAT csv, HEADER true)").unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(fixture("adult_predictions.csv")).unwrap()).unwrap();
    assert_eq!(w.finish().unwrap(), 32_561);
}

#[test]
fn adult_from_a_table_equals_the_file_and_fairlearn_by_sex_race_and_intersection() {
    let _stack = stack();
    let db = TeamDb::new("adult");
    load_adult(&db);
    let home = tempfile::tempdir().unwrap();
    let csv = fixture("adult_predictions.csv");
    let csv = csv.to_str().unwrap();
    let by_table = |extra: &[&str]| {
        let mut a = vec!["fairness", "--source", &db.url, "--table", "public.adult", "--format", "json"];
        a.extend_from_slice(extra);
        ok_json(run(home.path(), &db, &a))
    };
    let by_file = |extra: &[&str]| {
        let mut a = vec!["fairness", csv, "--format", "json"];
        a.extend_from_slice(extra);
        ok_json(steward(home.path(), &a))
    };
    for (group, by, disp) in [("sex", "by_sex", "disparities_sex"), ("race", "by_race", "disparities_race"), ("sex,race", "by_sex_x_race", "disparities_sex_x_race")] {
        let args = ["--group", group, "--label", "label", "--prediction", "prediction", "--fairlearn-compat"];
        let table = by_table(&args);
        check_report(&table, by, disp);
        assert_eq!(numbers(table.clone()), numbers(by_file(&args)), "{group}: table and file differ");
        assert_eq!(table["format"], "postgresql, pushdown");
        let sql = table["query"]["sql"].as_str().unwrap();
        assert!(sql.contains("FROM \"public\".\"adult\"") && sql.contains("GROUP BY"), "{sql}");
        assert!(table["file"].as_str().unwrap().contains("table public.adult"), "{}", table["file"]);
    }
    // Scores: the decision at the threshold both ways, and the whole threshold sweep (101 steps).
    for strict in [false, true] {
        let mut args = vec!["--group", "sex,race", "--label", "label", "--score", "score", "--threshold", "0.5"];
        if strict {
            args.push("--strict");
        }
        let table = by_table(&args);
        assert_eq!(table["query"]["params"], serde_json::json!([0.5]));
        assert!(!table["query"]["sql"].as_str().unwrap().contains("0.5"), "the threshold is bound, not spliced");
        assert!(table["threshold_sweep"].is_object());
        assert_eq!(numbers(table.clone()), numbers(by_file(&args)), "scores (strict {strict})");
        // Without pushdown (every row over the wire, counted here): the same numbers.
        let mut fetched = args.clone();
        fetched.push("--fetch");
        let fetched = by_table(&fetched);
        assert!(fetched["query"]["sql"].as_str().unwrap().starts_with("COPY (SELECT"), "{}", fetched["query"]);
        assert_eq!(numbers(fetched), numbers(table), "fetched vs pushdown (strict {strict})");
    }
    // The operator's own query as the source.
    let args = ["--group", "sex", "--label", "label", "--prediction", "prediction"];
    let mut a = vec!["fairness", "--source", &db.url, "--query", "SELECT sex, label, prediction FROM adult WHERE row_id >= 0;", "--format", "json"];
    a.extend_from_slice(&args);
    assert_eq!(numbers(ok_json(run(home.path(), &db, &a))), numbers(by_file(&args)));
    // Show SQL: the query and its parameter, without running it.
    let out = run(home.path(), &db, &["fairness", "--source", &db.url, "--table", "adult", "--group", "sex", "--label", "label", "--score", "score", "--threshold", "0.25", "--show-sql"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("parameters: [0.25]") && text.contains("s >= $1") && text.contains("FROM \"adult\""), "{text}");
    // The server ran it as shown: PostgreSQL parses it (EXPLAIN with the parameter's type).
    let sql = text.lines().skip(1).collect::<Vec<_>>().join("\n");
    let mut c = db.client();
    c.batch_execute(&format!("PREPARE shown(double precision) AS {}", sql.trim_end_matches(';'))).unwrap();
    let rows = c.query("EXECUTE shown(0.25)", &[]).unwrap();
    let total: i64 = rows.iter().map(|r| r.get::<_, i64>("n")).sum();
    assert_eq!(total, 32_561);
}

/// Rows of (group, label, score); written to a CSV file and inserted with bound doubles (exact bits).
fn score_table(db: &TeamDb, dir: &Path, rows: &[(&str, i64, Option<f64>)]) -> String {
    let mut c = db.client();
    c.batch_execute("CREATE TABLE scores (g text, label bigint, score double precision)").unwrap();
    let mut tx = c.transaction().unwrap();
    let ins = tx.prepare("INSERT INTO scores VALUES ($1, $2, $3)").unwrap();
    let mut csv = String::from("g,label,score\n");
    for (g, l, s) in rows {
        tx.execute(&ins, &[g, l, s]).unwrap();
        let s = s.map(|x| format!("{x:?}")).unwrap_or_default();
        csv.push_str(&format!("{g},{l},{s}\n"));
    }
    tx.commit().unwrap();
    let path = dir.join("scores.csv");
    std::fs::write(&path, csv).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn scores_on_and_next_to_every_threshold_fall_in_the_same_bins_as_in_files() {
    let _stack = stack();
    let db = TeamDb::new("bins");
    let home = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for k in -3..=103 {
        let x = k as f64 / 100.0;
        for (i, s) in [x, x.next_up(), x.next_down(), x + 0.003].into_iter().enumerate() {
            rows.push((if (k + i as i64) % 2 == 0 { "a" } else { "b" }, ((k + i as i64) % 3 == 0) as i64, Some(s)));
        }
    }
    rows.push(("a", 1, None));
    rows.push(("b", 0, Some(f64::INFINITY)));
    rows.push(("a", 0, Some(f64::NAN)));
    let file = score_table(&db, home.path(), &rows);
    for threshold in ["0.5", "0.07", "0.29", "0"] {
        for strict in [false, true] {
            let mut args = vec!["--group", "g", "--label", "label", "--score", "score", "--threshold", threshold, "--skip-bad-rows", "--format", "json"];
            if strict {
                args.push("--strict");
            }
            let mut f = vec!["fairness", &file];
            f.extend_from_slice(&args);
            let mut t = vec!["fairness", "--source", &db.url, "--table", "scores"];
            t.extend_from_slice(&args);
            let (from_file, from_table) = (ok_json(steward(home.path(), &f)), ok_json(run(home.path(), &db, &t)));
            assert_eq!(from_table["skipped_rows"], 3, "a missing, an infinite and a NaN score are skipped");
            assert_eq!(numbers(from_table), numbers(from_file), "threshold {threshold} strict {strict}");
        }
    }
    // Without --skip-bad-rows the infinite score is an error naming the column.
    let out = run(home.path(), &db, &["fairness", "--source", &db.url, "--query", "SELECT * FROM scores WHERE score IS NOT NULL", "--group", "g", "--label", "label", "--score", "score", "--threshold", "0.5"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("column 'score'") && stderr(&out).contains("not a finite number"), "{}", stderr(&out));
}

#[test]
fn days_weeks_and_versions_from_timestamps_and_epochs_match_the_file() {
    let _stack = stack();
    let db = TeamDb::new("time");
    let home = tempfile::tempdir().unwrap();
    let mut c = db.client();
    c.batch_execute("CREATE TABLE log (ts timestamptz, day date, epoch bigint, version integer, grp text, label boolean, prediction text)").unwrap();
    let mut csv = String::from("ts,day,epoch,version,grp,label,prediction\n");
    let start: i64 = 1_793_836_800; // 2026-11-05T00:00:00Z, a Thursday
    let mut tx = c.transaction().unwrap();
    for i in 0..1_500i64 {
        // Rows around midnight and across three ISO weeks.
        let epoch = start + i * 1_213 - 3_600 + (i % 7) * 86_399;
        let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
        let date = civil(days);
        let ts = format!("{date}T{:02}:{:02}:{:02}Z", secs / 3_600, secs / 60 % 60, secs % 60);
        let (version, grp, label, pred) = (1 + (i % 3) as i32, ["x", "y", "z"][(i % 5 % 3) as usize], i % 4 < 2, if i % 3 == 0 { "yes" } else { "no" });
        tx.execute(
            "INSERT INTO log VALUES (CAST($1 AS TEXT)::timestamptz, CAST($2 AS TEXT)::date, $3, $4, $5, $6, $7)",
            &[&ts, &date, &epoch, &version, &grp, &label, &pred],
        )
        .unwrap();
        csv.push_str(&format!("{ts},{date},{epoch},{version},{grp},{label},{pred}\n"));
    }
    tx.commit().unwrap();
    let file = home.path().join("log.csv");
    std::fs::write(&file, csv).unwrap();
    for time in ["ts", "day", "epoch"] {
        for window in ["1d", "1w"] {
            let args = ["--group", "grp", "--label", "label", "--prediction", "prediction", "--positive-prediction", "yes", "--time", time, "--window", window, "--version", "version", "--format", "json"];
            let mut f = vec!["fairness", file.to_str().unwrap()];
            f.extend_from_slice(&args);
            let mut t = vec!["fairness", "--source", &db.url, "--table", "log"];
            t.extend_from_slice(&args);
            let (from_file, from_table) = (ok_json(steward(home.path(), &f)), ok_json(run(home.path(), &db, &t)));
            assert!(from_table["windows"].as_array().unwrap().len() >= 3, "{time} {window}");
            assert_eq!(numbers(from_table), numbers(from_file.clone()), "time {time} window {window}");
            t.push("--fetch");
            assert_eq!(numbers(ok_json(run(home.path(), &db, &t))), numbers(from_file), "fetched: time {time} window {window}");
        }
    }
}

#[test]
fn a_hostile_table_column_and_values_are_quoted_and_never_run() {
    let _stack = stack();
    let db = TeamDb::new("hostile");
    load_adult(&db);
    let home = tempfile::tempdir().unwrap();
    let table = "log\"; DROP TABLE adult; --";
    let column = "se\"x'); DROP TABLE adult; --";
    let values = ["O'Brien", "'); DROP TABLE adult; --", "a;b", "\"quoted\"", "back\\slash"];
    let mut c = db.client();
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    c.batch_execute(&format!("CREATE TABLE {} ({} text, label int, prediction int)", q(table), q(column))).unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([column, "label", "prediction"]).unwrap();
    for i in 0..500usize {
        let v = values[i % values.len()];
        let (l, p) = ((i % 3 == 0) as i32, (i % 4 == 0) as i32);
        c.execute(&format!("INSERT INTO {} VALUES ($1, $2, $3)", q(table)), &[&v, &l, &p]).unwrap();
        w.write_record([v, &l.to_string(), &p.to_string()]).unwrap();
    }
    let file = home.path().join("hostile.csv");
    std::fs::write(&file, w.into_inner().unwrap()).unwrap();
    let args = ["--group", column, "--label", "label", "--prediction", "prediction", "--format", "json"];
    let mut t = vec!["fairness", "--source", &db.url, "--table", table];
    t.extend_from_slice(&args);
    let from_table = ok_json(run(home.path(), &db, &t));
    let mut f = vec!["fairness", file.to_str().unwrap()];
    f.extend_from_slice(&args);
    assert_eq!(numbers(from_table.clone()), numbers(ok_json(steward(home.path(), &f))));
    let keys: Vec<&str> = from_table["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    for v in values {
        assert!(keys.iter().any(|k| k.replace("\\\\", "\\") == v), "group {v} in {keys:?}");
    }
    assert_eq!(from_table["rows"], 500);
    // Both tables are still there, whole.
    let n: i64 = c.query_one("SELECT count(*) FROM adult", &[]).unwrap().get(0);
    assert_eq!(n, 32_561);
    let n: i64 = c.query_one(&format!("SELECT count(*) FROM {}", q(table)), &[]).unwrap().get(0);
    assert_eq!(n, 500);
}

#[test]
fn errors_name_the_column_the_value_or_the_server() {
    let _stack = stack();
    let db = TeamDb::new("errors");
    load_adult(&db);
    let home = tempfile::tempdir().unwrap();
    let base = ["fairness", "--source", db.url.as_str()];
    let fail = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        let out = run(home.path(), &db, &a);
        assert!(!out.status.success(), "{a:?} succeeded");
        stderr(&out)
    };
    let e = fail(&["--table", "adult", "--group", "nosuch", "--label", "label", "--prediction", "prediction"]);
    assert!(e.contains("nosuch") && e.contains("does not exist"), "{e}");
    let e = fail(&["--table", "missing_table", "--group", "sex", "--label", "label", "--prediction", "prediction"]);
    assert!(e.contains("missing_table"), "{e}");
    let e = fail(&["--query", "SELECT sex, label + 1 AS label, prediction FROM adult", "--group", "sex", "--label", "label", "--prediction", "prediction"]);
    assert!(e.contains("column 'label'") && e.contains("'2' is not binary"), "{e}");
    let e = fail(&["--group", "sex", "--label", "label", "--prediction", "prediction"]);
    assert!(e.contains("--table") && e.contains("--query"), "{e}");
    // A server that is not there: named, within the timeout.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://127.0.0.1:{port}/nothing");
    let t = Instant::now();
    let out = run(home.path(), &db, &["fairness", "--source", &url, "--table", "t", "--group", "g", "--label", "l", "--prediction", "p", "--timeout", "3"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("127.0.0.1:{port}")) && stderr(&out).contains("PostgreSQL"), "{}", stderr(&out));
    assert!(t.elapsed() < Duration::from_secs(10));
    // The wrong password: the server's refusal is said, and the password is not.
    let out = steward_env(home.path(), &["fairness", "--source", &db.url, "--table", "adult", "--group", "sex", "--label", "label", "--prediction", "prediction"], &[("PGUSER", &stack_var("STEWARD_TEST_PG_USER")), ("PGPASSWORD", "wrong-secret-123")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("password authentication failed") && !stderr(&out).contains("wrong-secret-123"), "{}", stderr(&out));
}

#[test]
fn cancelling_stops_the_query_on_the_server() {
    let _stack = stack();
    let db = TeamDb::new("cancel");
    load_adult(&db);
    let url = db.url.replacen("postgres://", &format!("postgres://{}:{}@", stack_var("STEWARD_TEST_PG_USER"), stack_var("STEWARD_TEST_PG_PASSWORD")), 1);
    let log = steward::sources::SqlLog::from_url(&url, steward::fairness::pushdown::SqlSource::Query("SELECT a.* FROM adult a CROSS JOIN pg_sleep(30) AS s".into())).unwrap();
    let spec = steward::fairness::Spec::new(&["sex"], "label", steward::fairness::Spec::prediction("prediction"));
    let progress = std::sync::Arc::new(steward::fairness::Progress::new());
    let p2 = progress.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        p2.cancel();
    });
    let t = Instant::now();
    let e = steward::sources::fairness(&log, &spec, Duration::from_secs(5), &progress).unwrap_err();
    assert_eq!(e.kind, steward::fairness::ErrorKind::Cancelled, "{e}");
    assert!(t.elapsed() < Duration::from_secs(5), "cancelled after {:?}", t.elapsed());
    // The server is no longer running it.
    let busy: i64 = db.client().query_one("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()", &[]).unwrap().get(0);
    assert_eq!(busy, 0);
}

#[test]
fn a_profiles_named_log_carries_its_source_and_mapping() {
    let _stack = stack();
    let db = TeamDb::new("named");
    load_adult(&db);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let profiles = format!(
        "active = \"prod\"\n[[profile]]\nname = \"prod\"\n[[profile.log]]\nname = \"adult-log\"\nurl = \"{}\"\ntable = \"adult\"\n\
         group = [\"sex\"]\nlabel = \"label\"\nprediction = \"prediction\"\n\n[[profile]]\nname = \"leaky\"\n[[profile.log]]\n\
         name = \"x\"\nurl = \"postgres://someone:hunter2@127.0.0.1/db\"\ntable = \"t\"\n",
        db.url
    );
    std::fs::write(config.join("profiles.toml"), profiles).unwrap();
    // The entry's mapping alone, then with the group changed by a flag.
    let by_sex = ok_json(run(home.path(), &db, &["fairness", "--source", "adult-log", "--fairlearn-compat", "--format", "json"]));
    check_report(&by_sex, "by_sex", "disparities_sex");
    assert_eq!(by_sex["file"], "adult-log");
    let by_race = ok_json(run(home.path(), &db, &["fairness", "--source", "adult-log", "--group", "race", "--fairlearn-compat", "--format", "json"]));
    check_report(&by_race, "by_race", "disparities_race");
    // The same table by URL with ?table=.
    let url = format!("{}?table=adult", db.url);
    let by_url = ok_json(run(home.path(), &db, &["fairness", "--source", &url, "--group", "sex", "--label", "label", "--prediction", "prediction", "--fairlearn-compat", "--format", "json"]));
    assert_eq!(numbers(by_url), numbers(by_sex));
    // An unknown name lists the entries; an entry with a password in its URL is refused, unshown.
    let out = run(home.path(), &db, &["fairness", "--source", "nope", "--group", "sex", "--label", "label", "--prediction", "prediction"]);
    assert!(!out.status.success() && stderr(&out).contains("no log named 'nope'") && stderr(&out).contains("adult-log"), "{}", stderr(&out));
    let out = run(home.path(), &db, &["--profile", "leaky", "fairness", "--source", "x"]);
    assert!(!out.status.success() && stderr(&out).contains("carries credentials") && !stderr(&out).contains("hunter2"), "{}", stderr(&out));
}

#[test]
fn an_audit_report_takes_its_fairness_tables_from_a_table_and_names_the_query() {
    let _stack = stack();
    let db = TeamDb::new("report");
    let home = tempfile::tempdir().unwrap();
    assert!(steward(home.path(), &["sample"]).status.success());
    let csv = home.path().join("data/sample/predictions.csv");
    let header = std::fs::read_to_string(&csv).unwrap().lines().next().unwrap().to_string();
    let cols: Vec<String> = header.split(',').map(|c| format!("\"{c}\" text")).collect();
    let mut c = db.client();
    c.batch_execute(&format!("CREATE TABLE preds ({})", cols.join(", "))).unwrap();
    let mut w = c.copy_in("COPY preds FROM STDIN WITH (FORMAT csv, HEADER true)").unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(&csv).unwrap()).unwrap();
    w.finish().unwrap();
    let report = |log: &str, out: &str| {
        let out = home.path().join(out);
        let o = run(home.path(), &db, &["report", "income-classifier", "--format", "json", "--out", out.to_str().unwrap(), "--fairness-log", log]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str::<Value>(&std::fs::read_to_string(out).unwrap()).unwrap()
    };
    let from_file = report(csv.to_str().unwrap(), "file.json");
    let url = format!("{}?table=preds", db.url);
    let from_table = report(&url, "table.json");
    let (mut f, mut t) = (from_file["fairness"].clone(), from_table["fairness"].clone());
    let query = t["query"].clone();
    for v in [&mut f, &mut t] {
        let o = v.as_object_mut().unwrap();
        o.remove("file");
        o.remove("query");
    }
    assert!(f["sections"].as_array().unwrap().len() >= 3, "all rows and each version");
    assert_eq!(t, f, "the report's fairness tables from the table equal those from the file");
    assert_eq!(query["engine"], "postgres");
    assert!(query["sql"].as_str().unwrap().contains("FROM \"preds\""), "{query}");
    assert!(from_table["fairness"]["file"].as_str().unwrap().contains("(table preds)"));
    let sources = from_table["made"]["sources"].to_string();
    assert!(sources.contains("counted in PostgreSQL"), "{sources}");
    assert!(from_table["monitoring"].is_null(), "quality and drift by week need a file");
    // The HTML names the query for a reader.
    let html = home.path().join("r.html");
    let o = run(home.path(), &db, &["report", "income-classifier", "--format", "html", "--out", html.to_str().unwrap(), "--fairness-log", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(html).unwrap();
    assert!(text.contains("computed where the log lives") && text.contains("GROUP BY"), "the HTML shows the query");
}
