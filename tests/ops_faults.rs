//! The record of a move is never wrong, under faults between Steward and the real MLflow of the test
//! stack: a fault-injecting proxy (tests/common/faults.rs) loses the write's reply, drops the write,
//! fails the read-back or answers it with a stale copy. The oracle is MLflow's own alias state, read
//! past the proxy. And a torn last audit record is repaired by `steward audit repair`.

mod common;

use common::faults::{Fault, FaultProxy};
use common::mlflow::*;
use common::*;
use serde_json::Value;

/// `steward --registry PROXY --timeout 3 ARGS...` in `home`.
fn via(home: &std::path::Path, proxy: &FaultProxy, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--registry", proxy.url.as_str(), "--timeout", "3"];
    all.extend_from_slice(args);
    steward(home, &all)
}

fn records(home: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(home.join("data/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn last_outcome(home: &std::path::Path) -> Value {
    records(home).into_iter().rev().find(|r| r["phase"] == "outcome").expect("an outcome record")
}

fn promote(home: &std::path::Path, proxy: &FaultProxy, alias: &str, version: &str) -> std::process::Output {
    via(home, proxy, &["promote", MODEL, version, "--alias", alias, "--reason", "fault test", "--yes"])
}

#[test]
fn a_lost_write_reply_is_settled_by_re_reading_and_recorded_as_it_happened() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let alias = "fault-lost-reply";
    let _cleanup = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 1);
    let proxy = FaultProxy::start(&stack.mlflow, Fault::LoseWriteReply);
    let out = promote(home.path(), &proxy, alias, "3");
    assert_eq!(mlflow_alias(&stack, alias), Some(3), "MLflow received the move");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("reply to the move was lost"), "{}", stdout(&out));
    let o = last_outcome(home.path());
    assert_eq!((o["outcome"].as_str(), o["to"].as_u64()), (Some("succeeded"), Some(3)), "{o}");
    assert_eq!(proxy.writes.load(std::sync::atomic::Ordering::SeqCst), 1, "the write was sent once");
    assert!(!stderr(&out).contains("Some("), "no debug text: {}", stderr(&out));
}

#[test]
fn a_write_that_never_arrived_is_recorded_failed() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let alias = "fault-dropped-write";
    let _cleanup = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 1);
    let proxy = FaultProxy::start(&stack.mlflow, Fault::DropWrite);
    let out = promote(home.path(), &proxy, alias, "3");
    assert_eq!(mlflow_alias(&stack, alias), Some(1), "MLflow never saw the move");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("the move was not made") && stderr(&out).contains("still at v1"), "{}", stderr(&out));
    assert_eq!(last_outcome(home.path())["outcome"], "failed");
    // Failed is settled: the next move runs.
    proxy.set(Fault::None);
    assert!(promote(home.path(), &proxy, alias, "3").status.success());
    assert_eq!(mlflow_alias(&stack, alias), Some(3));
}

/// A move MLflow made but Steward could not confirm: `unknown`, open, blocking, until recover reads
/// MLflow and records that it took effect.
fn unknown_until_recovered(fault: Fault, alias: &str) {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let _cleanup = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 1);
    let proxy = FaultProxy::start(&stack.mlflow, fault);
    let out = promote(home.path(), &proxy, alias, "3");
    assert_eq!(mlflow_alias(&stack, alias), Some(3), "MLflow made the move");
    assert_eq!(out.status.code(), Some(7), "unknown has its own exit code: {}", stderr(&out));
    assert!(stderr(&out).contains("could not confirm"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Some("), "no debug text: {}", stderr(&out));
    let o = last_outcome(home.path());
    assert_eq!(o["outcome"], "unknown", "{o}");

    // Open: the next move (any alias of this registry) is refused, in the CLI and by ops itself.
    proxy.set(Fault::None);
    let other = format!("{alias}-other");
    let _cleanup_other = AliasGuard(&stack, &other);
    let next = promote(home.path(), &proxy, &other, "2");
    assert_eq!(next.status.code(), Some(3), "{}", stderr(&next));
    assert!(stderr(&next).contains("audit recover"), "{}", stderr(&next));
    assert_eq!(mlflow_alias(&stack, &other), None, "nothing moved");

    // Recover reads MLflow (no fault now) and records what it shows.
    let rec = via(home.path(), &proxy, &["audit", "recover", "--yes"]);
    assert!(rec.status.success(), "{}", stderr(&rec));
    assert!(stdout(&rec).contains("outcome unknown") && stdout(&rec).contains("took effect"), "{}", stdout(&rec));
    let last = records(home.path()).pop().unwrap();
    assert_eq!((last["phase"].as_str(), last["outcome"].as_str(), last["to"].as_u64()), (Some("resolution"), Some("succeeded"), Some(3)));
    assert!(steward(home.path(), &["audit", "verify"]).status.success());
    // History agrees with MLflow: champion of this alias is v3, by the resolution.
    let h = json(&via(home.path(), &proxy, &["history", MODEL, "--alias", alias, "--at", "2099-01-01", "--json"]));
    assert_eq!(h["version"].as_u64(), mlflow_alias(&stack, alias));
    // Settled: acting works again.
    let again = promote(home.path(), &proxy, alias, "2");
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(mlflow_alias(&stack, alias), Some(2));
}

#[test]
fn a_failed_read_back_leaves_the_move_unknown_and_open_until_recover() {
    unknown_until_recovered(Fault::FailReadsAfterWrite, "fault-failed-readback");
}

#[test]
fn a_stale_read_back_leaves_the_move_unknown_and_open_until_recover() {
    unknown_until_recovered(Fault::StaleReadsAfterWrite, "fault-stale-readback");
}

#[test]
fn a_torn_last_record_is_repaired_and_acting_works_again() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let alias = "fault-torn";
    let _cleanup = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 1);
    let proxy = FaultProxy::start(&stack.mlflow, Fault::None);
    assert!(promote(home.path(), &proxy, alias, "2").status.success());
    let log = home.path().join("data/audit.jsonl");
    let torn = br#"{"seq":3,"time":"2026-11-29T19:00:00.000Z","phase":"int"#;
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(torn);
    std::fs::write(&log, &bytes).unwrap();

    let refused = promote(home.path(), &proxy, alias, "3");
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("damaged"), "{}", stderr(&refused));
    assert_eq!(mlflow_alias(&stack, alias), Some(2), "nothing moved on a damaged log");
    assert!(!steward(home.path(), &["audit", "verify"]).status.success());

    let out = steward(home.path(), &["audit", "repair"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let side = stdout(&out).split(" to ").nth(1).and_then(|s| s.lines().next()).unwrap().trim().to_string();
    assert_eq!(std::fs::read(&side).unwrap(), torn.to_vec(), "the torn bytes are kept in {side}");
    assert!(steward(home.path(), &["audit", "verify"]).status.success());
    let repair = records(home.path()).pop().unwrap();
    assert_eq!(repair["action"], "audit_repair");

    assert!(promote(home.path(), &proxy, alias, "3").status.success());
    assert_eq!(mlflow_alias(&stack, alias), Some(3));
    let again = steward(home.path(), &["audit", "repair"]);
    assert!(stdout(&again).contains("nothing to repair"), "{}", stdout(&again));
}

/// A write whose reply breaks off mid-body, or is larger than Steward reads, reached MLflow: the move
/// is settled by re-reading and recorded as it happened (before: "refused, nothing was changed" for the
/// oversized reply, and "cannot reach" for the broken one).
#[test]
fn a_write_reply_broken_mid_body_or_too_large_is_settled_by_re_reading() {
    let stack = stack();
    for (fault, alias) in [(Fault::BreakWriteReply, "fault-broken-reply"), (Fault::HugeWriteReply, "fault-huge-reply")] {
        let home = tempfile::tempdir().unwrap();
        let _cleanup = AliasGuard(&stack, alias);
        mlflow_set_alias(&stack, alias, 1);
        let proxy = FaultProxy::start(&stack.mlflow, fault);
        let out = promote(home.path(), &proxy, alias, "3");
        assert_eq!(mlflow_alias(&stack, alias), Some(3), "{fault:?}: MLflow received the move");
        assert!(out.status.success(), "{fault:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("reply to the move was lost"), "{fault:?}: {text}");
        let why = if fault == Fault::BreakWriteReply { "answered (HTTP 200) but the connection broke" } else { "larger than Steward reads" };
        assert!(text.contains(why), "{fault:?}: {text}");
        let o = last_outcome(home.path());
        assert_eq!((o["outcome"].as_str(), o["to"].as_u64()), (Some("succeeded"), Some(3)), "{fault:?}: {o}");
        assert_eq!(proxy.writes.load(std::sync::atomic::Ordering::SeqCst), 1, "{fault:?}: the write was sent once");
    }
}
