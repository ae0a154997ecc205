//! The command line against the embedded local registry and the sample workspace, plus bad-input cases
//! that a real server cannot produce on demand (a fake server is used only for those faults).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn sample_versions_json() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join("assets/sample/versions.json")).unwrap()).unwrap()
}

#[test]
fn a_fresh_home_holds_the_sample_model_with_three_versions_and_two_aliases() {
    let home = tempfile::tempdir().unwrap();
    let out = json(&steward(home.path(), &["models", "--json"]));
    let models = out["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "{out}");
    let m = &models[0];
    assert_eq!(m["name"], "income-classifier");
    assert_eq!(m["latest_version"], 3);
    assert_eq!(m["aliases"]["champion"], 2);
    assert_eq!(m["aliases"]["challenger"], 3);
    assert!(m["tags"]["prediction_log"].as_str().unwrap().ends_with("predictions.csv"));

    // The prediction log was written into the home, byte-identical to the asset.
    let log = home.path().join("data/sample/predictions.csv");
    assert_eq!(std::fs::read(&log).unwrap(), std::fs::read(repo().join("assets/sample/predictions.csv")).unwrap());
}

#[test]
fn versions_show_each_versions_metrics_and_aliases_as_the_generator_computed_them() {
    let home = tempfile::tempdir().unwrap();
    let out = json(&steward(home.path(), &["versions", "income-classifier", "--json"]));
    let versions = out["versions"].as_array().unwrap();
    assert_eq!(versions.iter().map(|v| v["version"].as_u64().unwrap()).collect::<Vec<_>>(), vec![3, 2, 1]);
    let expected = sample_versions_json();
    for exp in expected["versions"].as_array().unwrap() {
        let n = exp["version"].as_u64().unwrap();
        let got = versions.iter().find(|v| v["version"].as_u64() == Some(n)).unwrap();
        for key in ["accuracy", "precision", "recall", "roc_auc"] {
            let (a, b) = (got["metrics"][key].as_f64().unwrap(), exp["metrics"][key].as_f64().unwrap());
            assert!((a - b).abs() < 1e-12, "v{n} {key}: {a} vs {b}");
        }
        assert_eq!(got["params"]["algorithm"], exp["params"]["algorithm"]);
    }
    let aliases = |n: u64| versions.iter().find(|v| v["version"].as_u64() == Some(n)).unwrap()["aliases"].clone();
    assert_eq!(aliases(2), serde_json::json!(["champion"]));
    assert_eq!(aliases(3), serde_json::json!(["challenger"]));
    assert_eq!(aliases(1), serde_json::json!([]));
}

#[test]
fn sample_metrics_match_an_independent_recount_of_the_prediction_log() {
    // Accuracy per version recomputed here from predictions.csv, not from the generator's numbers.
    let text = std::fs::read_to_string(repo().join("assets/sample/predictions.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (cv, cl, cp) = (col("model_version"), col("label"), col("prediction"));
    let mut counts = std::collections::BTreeMap::<String, (u64, u64)>::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let e = counts.entry(f[cv].to_string()).or_default();
        e.0 += 1;
        e.1 += (f[cl] == f[cp]) as u64;
    }
    let home = tempfile::tempdir().unwrap();
    let out = json(&steward(home.path(), &["versions", "income-classifier", "--json"]));
    for v in out["versions"].as_array().unwrap() {
        let (n, correct) = counts[&v["version"].to_string()];
        let acc = correct as f64 / n as f64;
        assert!((v["metrics"]["accuracy"].as_f64().unwrap() - acc).abs() < 1e-9, "v{}", v["version"]);
    }
}

#[test]
fn register_creates_versions_with_metrics_params_and_tags() {
    let home = tempfile::tempdir().unwrap();
    let reg = format!("local:{}", home.path().join("other.sqlite").display());
    let out = steward(
        home.path(),
        &["--registry", &reg, "registry", "register", "fraud", "--source", "s3://b/m/1", "--metric", "auc=0.91",
          "--param", "depth=6", "--tag", "team=risk", "--description", "first cut"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&steward(home.path(), &["--registry", &reg, "versions", "fraud", "--json"]));
    let v = &v["versions"][0];
    assert_eq!(v["version"], 1);
    assert_eq!(v["metrics"]["auc"], 0.91);
    assert_eq!(v["params"]["depth"], "6");
    assert_eq!(v["tags"]["team"], "risk");
    assert_eq!(v["description"], "first cut");
    assert_eq!(v["source"], "s3://b/m/1");
    // An explicit local registry is not seeded with the sample.
    let models = json(&steward(home.path(), &["--registry", &reg, "models", "--json"]));
    assert_eq!(models["models"].as_array().unwrap().len(), 1);

    let bad = steward(home.path(), &["--registry", &reg, "registry", "register", "fraud", "--source", "x", "--metric", "auc=high"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("'high' is not a number"), "{}", stderr(&bad));
}

#[test]
fn two_processes_registering_at_once_never_share_a_version_number() {
    let home = tempfile::tempdir().unwrap();
    let reg = format!("local:{}", home.path().join("shared.sqlite").display());
    // Create the file first so both writers race on registration, not on creation.
    assert!(steward(home.path(), &["--registry", &reg, "models"]).status.success());
    let per_process = 12;
    let spawn = |tag: &'static str| {
        let (home, reg) = (home.path().to_path_buf(), reg.clone());
        std::thread::spawn(move || {
            for i in 0..per_process {
                let src = format!("file:///{tag}/{i}");
                let o = steward(&home, &["--registry", &reg, "registry", "register", "shared", "--source", &src]);
                assert!(o.status.success(), "{}", stderr(&o));
            }
        })
    };
    let (a, b) = (spawn("a"), spawn("b"));
    a.join().unwrap();
    b.join().unwrap();
    let out = json(&steward(home.path(), &["--registry", &reg, "versions", "shared", "--json"]));
    let mut numbers: Vec<u64> = out["versions"].as_array().unwrap().iter().map(|v| v["version"].as_u64().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=2 * per_process as u64).collect::<Vec<_>>());
}

#[test]
fn a_corrupt_registry_file_is_reported_and_left_untouched() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("data/registry.sqlite");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let out = steward(home.path(), &["models", "--json"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("registry.sqlite") && err.contains("damaged"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the damaged file was modified");

    // Another application's SQLite database is refused too, not adopted.
    let foreign = home.path().join("foreign.sqlite");
    let c = rusqlite::Connection::open(&foreign).unwrap();
    c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);").unwrap();
    drop(c);
    let before = std::fs::read(&foreign).unwrap();
    let out = steward(home.path(), &["--registry", &format!("local:{}", foreign.display()), "models"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("another application"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&foreign).unwrap(), before);
}

#[test]
fn an_unreachable_registry_fails_fast_with_the_url_and_the_cause() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: nothing listens there now
    let home = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let out = steward(home.path(), &["models", "--registry", &url]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")) && err.to_lowercase().contains("refused"), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// Accepts connections and never answers: the slow-server case.
#[test]
fn a_silent_registry_times_out_within_the_configured_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in listener.incoming().take(3) {
            conns.push(c);
        }
        std::thread::sleep(Duration::from_secs(6));
    });
    let home = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let out = steward(home.path(), &["--timeout", "2", "models", "--registry", &format!("http://127.0.0.1:{port}")]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("did not answer within 2 s"), "{}", stderr(&out));
    assert!(took < Duration::from_millis(3500), "took {took:?}");
    drop(held);
}

/// Serves one canned HTTP answer to every request.
fn canned_server(answer: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten().take(10) {
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = c.write_all(answer.as_bytes());
        }
    });
    port
}

#[test]
fn html_where_json_was_expected_and_auth_pages_become_clear_errors() {
    let home = tempfile::tempdir().unwrap();
    let html = canned_server("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html><head><title>Sign in - Corp SSO</title></head><body>login</body></html>");
    let out = steward(home.path(), &["models", "--registry", &format!("http://127.0.0.1:{html}")]);
    assert_eq!(out.status.code(), Some(5), "an answer that is not the protocol: the outside system failed");
    let err = stderr(&out);
    assert!(err.contains("expected JSON") && err.contains("text/html") && err.contains("Sign in - Corp SSO"), "{err}");

    let auth = canned_server("HTTP/1.1 401 UNAUTHORIZED\r\nContent-Type: text/html\r\nWWW-Authenticate: Basic realm=\"mlflow\"\r\nConnection: close\r\n\r\n<html><title>401</title></html>");
    let out = steward(home.path(), &["models", "--registry", &format!("http://127.0.0.1:{auth}")]);
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("authentication failed") && stderr(&out).contains("MLFLOW_TRACKING_USERNAME"), "{}", stderr(&out));

    let boom = canned_server("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"error_code\":\"INTERNAL_ERROR\",\"message\":\"database is locked\"}");
    let out = steward(home.path(), &["models", "--registry", &format!("http://127.0.0.1:{boom}")]);
    assert_eq!(out.status.code(), Some(5), "a server error: the outside system failed");
    assert!(stderr(&out).contains("HTTP 500") && stderr(&out).contains("database is locked"), "{}", stderr(&out));

    let reset = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for c in listener.incoming().flatten().take(10) {
                drop(c); // close without answering
            }
        });
        port
    };
    let out = steward(home.path(), &["models", "--registry", &format!("http://127.0.0.1:{reset}")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("127.0.0.1:{reset}")), "{}", stderr(&out));
}

#[test]
fn mlflow_tracking_uri_is_honoured_without_a_flag_or_profile() {
    let home = tempfile::tempdir().unwrap();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let uri = format!("http://127.0.0.1:{port}");
    let out = steward_env(home.path(), &["models"], &[("MLFLOW_TRACKING_URI", &uri)]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains(&uri[7..]));
    // A flag wins over the environment.
    let out = steward_env(home.path(), &["models", "--json", "--registry", &format!("local:{}", home.path().join("r.sqlite").display())], &[("MLFLOW_TRACKING_URI", &uri)]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn profiles_keep_no_secrets_and_select_the_registry() {
    let home = tempfile::tempdir().unwrap();
    let out = steward(home.path(), &["profile", "add", "prod", "--registry", "https://alice:s3cret@mlflow.example.com"]);
    assert!(!out.status.success());
    assert!(!stderr(&out).contains("s3cret"), "{}", stderr(&out));
    assert!(!home.path().join("config/profiles.toml").exists());

    let reg = format!("local:{}", home.path().join("team.sqlite").display());
    let out = steward(home.path(), &["profile", "add", "team", "--registry", &reg, "--endpoint", "http://127.0.0.1:8080", "--activate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = json(&steward(home.path(), &["profile", "list", "--json"]));
    assert_eq!(list["active"], "team");
    assert_eq!(list["profile"][0]["endpoints"][0], "http://127.0.0.1:8080");
    // The active profile's (empty) registry is used, not the home's sample registry.
    let models = json(&steward(home.path(), &["models", "--json"]));
    assert!(models["registry"].as_str().unwrap().contains("team.sqlite"), "{models}");
    assert_eq!(models["models"].as_array().unwrap().len(), 0);
    let missing = steward(home.path(), &["--profile", "nope", "models"]);
    assert!(stderr(&missing).contains("no profile named 'nope'"));
}

#[test]
fn sample_command_is_idempotent_and_paths_are_under_the_home() {
    let home = tempfile::tempdir().unwrap();
    let reg = format!("local:{}", home.path().join("s.sqlite").display());
    let first = steward(home.path(), &["--registry", &reg, "sample"]);
    assert!(stdout(&first).contains("created income-classifier with 3 versions"), "{}", stdout(&first));
    let second = steward(home.path(), &["--registry", &reg, "sample"]);
    assert!(stdout(&second).contains("already in"), "{}", stdout(&second));
    let v = json(&steward(home.path(), &["--registry", &reg, "versions", "income-classifier", "--json"]));
    assert_eq!(v["versions"].as_array().unwrap().len(), 3);

    let paths = stdout(&steward(home.path(), &["paths"]));
    let root = home.path().to_str().unwrap();
    assert!(paths.lines().all(|l| l.contains(root)), "{paths}");
}
