//! Promote, roll back, history, audit verification and recovery through the command line against the
//! real MLflow of the test stack. The oracle for every move is MLflow's own alias state over REST.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::mlflow::*;
use common::*;

fn run(home: &std::path::Path, stack: &Stack, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--registry", stack.mlflow.as_str()];
    all.extend_from_slice(args);
    steward(home, &all)
}

#[test]
fn promote_then_roll_back_moves_the_mlflow_alias_and_records_both() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let alias = "cli-test";
    let _cleanup = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 1);
    let out = run(home.path(), &stack, &["promote", MODEL, "3", "--alias", alias, "--reason", "v3 wins offline eval", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("cli-test: v1 -> v3"), "{}", stdout(&out));
    assert_eq!(mlflow_alias(&stack, alias), Some(3));

    let out = run(home.path(), &stack, &["rollback", MODEL, "--alias", alias, "--reason", "latency regression", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mlflow_alias(&stack, alias), Some(1), "rolled back to the version before the last move");

    let hist = json(&run(home.path(), &stack, &["history", MODEL, "--alias", alias, "--json"]));
    let moves: Vec<(String, String)> = hist["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "action")
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["reason"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(moves, vec![("promote".into(), "v3 wins offline eval".into()), ("rollback".into(), "latency regression".into())]);

    let log = home.path().join("data/audit.jsonl");
    let ok = steward(home.path(), &["audit", "verify"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).starts_with("OK: "), "{}", stdout(&ok));

    // Editing any byte of a copy makes verification fail and name a record.
    let bytes = std::fs::read(&log).unwrap();
    let copy = home.path().join("copy.jsonl");
    std::fs::copy(home.path().join("data/audit.head"), home.path().join("copy.head")).unwrap();
    for pos in (0..bytes.len()).step_by(37) {
        if bytes[pos] == b'\n' {
            continue;
        }
        let mut b = bytes.clone();
        b[pos] ^= 0x01;
        std::fs::write(&copy, &b).unwrap();
        let out = steward(home.path(), &["audit", "verify", "--log", copy.to_str().unwrap()]);
        assert!(!out.status.success(), "edit at byte {pos} not caught");
        assert!(stderr(&out).contains("record "), "{}", stderr(&out));
    }
}

#[test]
fn protected_aliases_need_the_model_name_and_read_only_refuses() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let champion = mlflow_alias(&stack, "champion");
    let out = run(home.path(), &stack, &["promote", MODEL, "1", "--reason", "x", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("protected"), "{}", stderr(&out));
    let out = run(home.path(), &stack, &["--read-only", "promote", MODEL, "1", "--alias", "ro-test", "--reason", "x", "--yes"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert_eq!(mlflow_alias(&stack, "champion"), champion, "champion untouched");
    assert_eq!(mlflow_alias(&stack, "ro-test"), None);
    // Without --yes and no terminal: the plan is shown, nothing is done.
    let out = run(home.path(), &stack, &["promote", MODEL, "2", "--alias", "ask-test", "--reason", "x"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).contains("ask-test: (unset) -> v2"), "{}", stdout(&out));
    assert_eq!(mlflow_alias(&stack, "ask-test"), None);
}

#[test]
fn two_concurrent_promotes_of_one_alias_one_wins_one_is_refused_both_recorded() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let alias = "race-test";
    let _cleanup = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 1);
    let spawn = |version: &str| {
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["--registry", &stack.mlflow, "promote", MODEL, version, "--alias", alias, "--reason", "race", "--yes"])
            .env("STEWARD_HOME", home.path())
            .env("STEWARD_TEST_PAUSE_AFTER_INTENT_MS", "1500")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("2"), spawn("3"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)) && codes.contains(&Some(3)), "codes {codes:?}\n{}\n{}", stderr(&a), stderr(&b));
    let loser = if a.status.code() == Some(3) { &a } else { &b };
    assert!(stderr(loser).contains("conflict"), "{}", stderr(loser));
    let winner_version = if a.status.success() { 2 } else { 3 };
    assert_eq!(mlflow_alias(&stack, alias), Some(winner_version));
    let records: Vec<serde_json::Value> = std::fs::read_to_string(home.path().join("data/audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcomes: Vec<&str> = records.iter().filter_map(|r| r["outcome"].as_str()).collect();
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes.contains(&"succeeded") && outcomes.contains(&"refused"), "{outcomes:?}");
}

#[test]
fn a_promote_killed_between_intent_and_outcome_is_detected_and_resolved() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let alias = "kill-test";
    let _cleanup = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 1);
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["--registry", &stack.mlflow, "promote", MODEL, "2", "--alias", alias, "--reason", "will die", "--yes"])
        .env("STEWARD_HOME", home.path())
        .env("STEWARD_TEST_PAUSE_AFTER_INTENT_MS", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let log = home.path().join("data/audit.jsonl");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("\"intent\"") {
        assert!(Instant::now() < deadline, "no intent record appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    // kill -9: no chance to write an outcome.
    let _ = Command::new("kill").args(["-9", &child.id().to_string()]).status();
    let _ = child.wait();
    assert_eq!(mlflow_alias(&stack, alias), Some(1));

    let out = run(home.path(), &stack, &["promote", MODEL, "3", "--alias", alias, "--reason", "next", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted") && stderr(&out).contains("did not happen"), "{}", stderr(&out));

    let out = run(home.path(), &stack, &["audit", "recover", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("was interrupted"), "{}", stdout(&out));
    let last: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&log).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(last["phase"], "resolution");
    assert_eq!(last["outcome"], "failed");
    assert!(steward(home.path(), &["audit", "verify"]).status.success());
    // Resolved: acting works again.
    let out = run(home.path(), &stack, &["promote", MODEL, "3", "--alias", alias, "--reason", "next", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mlflow_alias(&stack, alias), Some(3));
}

#[test]
fn moves_made_outside_steward_are_recorded_as_observed() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let alias = "outside-test";
    let _cleanup = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 2);
    let first = json(&run(home.path(), &stack, &["history", MODEL, "--alias", alias, "--json"]));
    assert_eq!(first["events"][0]["action"], "alias_seen");
    mlflow_set_alias(&stack, alias, 1); // a script moves it behind Steward's back
    let h = json(&run(home.path(), &stack, &["history", MODEL, "--alias", alias, "--json"]));
    let last = h["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["kind"].as_str(), last["from"].as_u64(), last["to"].as_u64()), (Some("observed"), Some(2), Some(1)));
    assert!(last["reason"].as_str().unwrap().contains("outside Steward"));
    let at = json(&run(home.path(), &stack, &["history", MODEL, "--alias", alias, "--at", "2099-01-01", "--json"]));
    assert_eq!(at["version"], 1);
}

/// Gates against the real MLflow: a policy bounding accuracy between v1's and v3's (read from MLflow)
/// passes v3 and fails v1; `promote` moves the alias (read with MLflow's REST API) only when allowed.
#[test]
fn gates_decide_which_promotions_reach_mlflow() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let alias = "gate-test";
    let _cleanup = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 2);
    let versions = json(&run(home.path(), &stack, &["versions", MODEL, "--json"]));
    let acc = |v: u64| {
        versions["versions"].as_array().unwrap().iter().find(|x| x["version"] == v).unwrap()["metrics"]["accuracy"].as_f64().unwrap()
    };
    let (a1, a3) = (acc(1), acc(3));
    assert!(a1 < a3, "the seeded v3 is more accurate than v1: {a1} {a3}");
    let policy = home.path().join("gates.toml");
    std::fs::write(
        &policy,
        format!("[[gate]]\nalias = \"{alias}\"\nkind = \"metric\"\nmetric = \"accuracy\"\nat_least = {}\n", (a1 + a3) / 2.0),
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let gates = |v: &str| run(home.path(), &stack, &["--policy", p, "gates", MODEL, v, "--alias", alias]).status.code();
    assert_eq!((gates("3"), gates("1")), (Some(0), Some(3)));

    let promote = |v: &str| run(home.path(), &stack, &["--policy", p, "promote", MODEL, v, "--alias", alias, "--reason", "gated", "--yes"]);
    let refused = promote("1");
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("accuracy (registry metric) fails"), "{}", stderr(&refused));
    assert_eq!(mlflow_alias(&stack, alias), Some(2), "a failing gate moved nothing in MLflow");
    let allowed = promote("3");
    assert!(allowed.status.success(), "{}", stderr(&allowed));
    assert_eq!(mlflow_alias(&stack, alias), Some(3));
}

/// The alerts gate against the real Prometheus of the stack: a rule that cannot fire passes, naming the
/// series it checked; a rule that fires wherever there is data fails and stops the promotion.
#[test]
fn the_alerts_gate_asks_the_real_prometheus() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let alias = "gate-alerts";
    let _cleanup = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 2);
    let profiles = |rule: &str| {
        let dir = home.path().join("config");
        std::fs::create_dir_all(&dir).unwrap();
        let text = format!(
            "active = \"stack\"\n[[profile]]\nname = \"stack\"\nregistry = \"{}\"\nprometheus = \"{}\"\nalerts = [\"{rule}\"]\n",
            stack.mlflow, stack.prometheus
        );
        std::fs::write(dir.join("profiles.toml"), text).unwrap();
    };
    let empty = home.path().join("none.toml");
    std::fs::write(&empty, "").unwrap();
    let gates = || {
        let out = steward(home.path(), &["--policy", empty.to_str().unwrap(), "gates", MODEL, "3", "--alias", alias, "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        (out.status.code(), v["gates"]["results"].as_array().unwrap().iter().find(|r| r["kind"] == "alerts").unwrap().clone())
    };
    profiles("request_rate > 1000000 for 1m");
    let (code, quiet) = gates();
    assert_eq!((code, quiet["verdict"].as_str()), (Some(0), Some("pass")), "{quiet}");
    // The stack's start sends an inference to income-classifier on MLServer, which Prometheus scrapes
    // every second: its request-rate series exist, and any value is above -1.
    profiles("request_rate > -1");
    let (code, firing) = gates();
    assert_eq!((code, firing["verdict"].as_str()), (Some(3), Some("fail")), "{firing}");
    assert!(firing["detail"].as_str().unwrap().contains(MODEL), "{firing}");
    let out = steward(home.path(), &["--policy", empty.to_str().unwrap(), "promote", MODEL, "3", "--alias", alias, "--reason", "r", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("alert rules (Prometheus) fails"), "{}", stderr(&out));
    assert_eq!(mlflow_alias(&stack, alias), Some(2), "a firing alert stopped the promotion");
}
