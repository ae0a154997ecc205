//! Crash safety: `promote` and `rollback` on the embedded registry killed with SIGKILL at random
//! moments. After every kill: the audit log verifies (no corrupt or cut record), `audit recover` settles
//! every interrupted operation against the registry, and the registry's alias equals the state the log
//! records. At the end: every operation that was acknowledged (exit 0) has its `succeeded` record.
//!
//! CI runs 20 kills; `STEWARD_KILLS=200 cargo test --test crash_kill -- --nocapture` (or
//! scripts/crash-kill) runs the figure kept in RELIABILITY.md, and prints the counts.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const MODEL: &str = "income-classifier";
const ALIAS: &str = "crash";

fn records(home: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(home.join("data/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a record that is not JSON ({e}): {l}")))
        .collect()
}

/// The alias's version as the log records it: the last observed state or succeeded move.
fn log_state(recs: &[Value]) -> Option<u64> {
    recs.iter()
        .filter(|r| r["alias"] == ALIAS)
        .filter(|r| r["phase"] == "observed" || r["outcome"] == "succeeded")
        .next_back()
        .and_then(|r| r["to"].as_u64())
}

fn registry_state(home: &std::path::Path) -> Option<u64> {
    let v = json(&steward(home, &["versions", MODEL, "--json"]));
    v["versions"].as_array()?.iter().find(|x| x["aliases"].as_array().is_some_and(|a| a.iter().any(|s| s == ALIAS)))?["version"].as_u64()
}

/// Intents without an outcome or resolution (ops still open).
fn open_ops(recs: &[Value]) -> usize {
    let closed: Vec<u64> = recs.iter().filter_map(|r| r["op"].as_u64()).collect();
    recs.iter().filter(|r| r["phase"] == "intent").filter(|r| !closed.contains(&r["seq"].as_u64().unwrap_or(0))).count()
}

#[test]
fn sigkill_during_promote_and_rollback_loses_nothing_and_leaves_nothing_open() {
    let kills: usize = std::env::var("STEWARD_KILLS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // A first move, timed: kills land anywhere in 0..1.3x of a whole run.
    let t0 = Instant::now();
    let first = steward(h, &["promote", MODEL, "1", "--alias", ALIAS, "--reason", "first", "--yes"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let span = t0.elapsed().as_micros() as u64 * 13 / 10;
    let mut acknowledged = vec!["first".to_string()];
    let mut rng = Rng(0x5eed_c0a5_4001_0001);
    let (mut killed, mut finished, mut interrupted, mut corrupt, mut missing, mut mismatched) = (0, 0, 0, 0, 0, 0);
    let (mut in_flight, mut open_after) = (0, 0);
    let mut i = 0;
    while killed < kills {
        i += 1;
        let reason = format!("crash run {i}");
        let target = (1 + rng.next() % 3).to_string();
        let args: Vec<&str> = if rng.next() % 3 == 0 {
            vec!["rollback", MODEL, "--alias", ALIAS, "--reason", &reason, "--yes"]
        } else {
            vec!["promote", MODEL, &target, "--alias", ALIAS, "--reason", &reason, "--yes"]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(&args)
            .env("STEWARD_HOME", h)
            .env_remove("MLFLOW_TRACKING_URI")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % span.max(1)));
        match child.try_wait().unwrap() {
            Some(status) => {
                finished += 1;
                if status.success() {
                    acknowledged.push(reason.clone());
                }
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                let _ = child.wait();
                killed += 1;
            }
        }
        let recs = records(h);
        in_flight += open_ops(&recs);
        if !steward(h, &["audit", "verify"]).status.success() {
            corrupt += 1;
        }
        let r = steward(h, &["audit", "recover", "--yes"]);
        assert!(r.status.success(), "recover: {}", stderr(&r));
        interrupted += stdout(&r).matches("recorded the resolution").count();
        let recs = records(h);
        open_after += open_ops(&recs);
        if log_state(&recs) != registry_state(h) {
            mismatched += 1;
        }
    }
    let recs = records(h);
    for reason in &acknowledged {
        if !recs.iter().any(|r| r["reason"] == reason.as_str() && r["outcome"] == "succeeded") {
            missing += 1;
        }
    }
    println!(
        "crash_kill: {i} runs, {killed} killed, {finished} finished ({} acknowledged); interrupted operations found and settled by recover: {interrupted} (open intents seen after kills: {in_flight}); acknowledged missing: {missing}; corrupt logs: {corrupt}; registry != log: {mismatched}; open after recover: {open_after}",
        acknowledged.len()
    );
    assert_eq!((missing, corrupt, mismatched, open_after), (0, 0, 0, 0));
    assert_eq!(interrupted, in_flight, "every interrupted operation is found by recover");
    assert!(killed >= kills);
}
