//! A FIFO (or a directory) where a log is expected: every reader refuses it at once with one line
//! naming it, instead of blocking forever (issue 15, item 4). Each command runs under a 20 s watchdog.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Runs steward with a deadline; (exit code, stderr). Panics (after killing it) if it hangs.
fn run_bounded(home: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_HOME", home)
        .env_remove("MLFLOW_TRACKING_URI")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code(), err);
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("steward {args:?} hung on a special file");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo").arg(p).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "mkfifo (coreutils) is needed");
}

#[test]
fn fifos_and_directories_are_refused_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    assert!(steward(home, &["sample"]).status.success());
    let fifo = home.join("log.csv");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["fairness", f, "--group", "sex", "--label", "label", "--prediction", "prediction"],
        vec!["drift", f, "--reference-days", "7", "--time", "timestamp"],
        vec!["quality", f, "--label", "label", "--prediction", "prediction", "--time", "timestamp"],
        vec!["audit", "verify", "--log", f],
    ];
    for args in &cases {
        let (code, err) = run_bounded(home, args);
        assert_ne!(code, Some(0), "{args:?} succeeded on a FIFO");
        assert!(err.contains("not a regular file"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
    }
    // The home's own audit log replaced by a FIFO: history and promote refuse it too.
    let log = home.join("data/audit.jsonl");
    let _ = std::fs::remove_file(&log);
    mkfifo(&log);
    for args in [
        vec!["history", "income-classifier"],
        vec!["promote", "income-classifier", "3", "--alias", "champion", "--reason", "r", "--yes", "--confirm", "income-classifier", "--override-gates"],
    ] {
        let (code, err) = run_bounded(home, &args);
        assert_ne!(code, Some(0), "{args:?} succeeded on a FIFO log");
        assert!(err.contains("not a regular file"), "{args:?}: {err}");
    }
    // A directory given as a log.
    let (code, err) = run_bounded(home, &["fairness", home.to_str().unwrap(), "--group", "sex", "--label", "label", "--prediction", "prediction"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("a directory"), "{err}");
}
