//! The team's audit store in the stack's real PostgreSQL, with the real MLflow: concurrent moves from
//! different homes (one winner, one chain), kill -9 mid-move, edits by hand in the table, a rewritten
//! and re-chained table against an anchor, `audit push` of a 1,000-record log, and a store that is down.
//! Oracles: MLflow's alias state over REST, and the table read with the PostgreSQL client.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::mlflow::*;
use common::pg::TeamDb;
use common::*;
use sha2::{Digest, Sha256};

/// A home whose active profile uses the stack's MLflow and the team store `db`.
fn team_home(stack: &Stack, url: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let out = steward(home.path(), &["--registry", &stack.mlflow, "profile", "add", "team", "--audit", url, "--activate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    home
}

fn cmd(home: &Path, db: &TeamDb, args: &[&str], extra: &[(&str, &str)]) -> Command {
    let env = db.env();
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    steward_command(home, args, &all)
}

fn run(home: &Path, db: &TeamDb, args: &[&str]) -> Output {
    cmd(home, db, args, &[]).output().unwrap()
}

fn spawn_promote(home: &Path, db: &TeamDb, alias: &str, version: &str, reason: &str, pause_ms: &str) -> Child {
    cmd(home, db, &["promote", MODEL, version, "--alias", alias, "--reason", reason, "--yes"], &[("STEWARD_TEST_PAUSE_AFTER_INTENT_MS", pause_ms)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The chain checked independently of Steward: seq 1..n without gaps, each `prev` the SHA-256 of the
/// line before.
fn assert_one_chain(lines: &[String]) -> Vec<serde_json::Value> {
    let mut prev = "0".repeat(64);
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let r: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(r["seq"].as_u64(), Some(i as u64 + 1), "a gap or a fork at {i}: {l}");
        assert_eq!(r["prev"].as_str(), Some(prev.as_str()), "record {} does not chain", i + 1);
        prev = sha(l);
        out.push(r);
    }
    out
}

#[test]
fn two_homes_race_for_one_alias_a_hundred_times_one_winner_each_time_one_chain() {
    let stack = stack();
    let db = TeamDb::new("race");
    let (a, b) = (team_home(&stack, &db.url), team_home(&stack, &db.url));
    let alias = "team-race";
    let _cleanup = AliasGuard(&stack, alias);
    let rounds: usize = std::env::var("STEWARD_TEST_TEAM_RACES").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let mut rng = Rng(0x5eed_7ea3);
    let (mut races, mut sequential) = (0, 0);
    for round in 0..rounds {
        mlflow_set_alias(&stack, alias, 1);
        let (da, db_) = (rng.below(60), rng.below(60));
        let ra = format!("round {round} from home A");
        let rb = format!("round {round} from home B");
        let (pa, pb) = std::thread::scope(|s| {
            let ha = s.spawn(|| {
                std::thread::sleep(Duration::from_millis(da));
                spawn_promote(a.path(), &db, alias, "2", &ra, "300").wait_with_output().unwrap()
            });
            let hb = s.spawn(|| {
                std::thread::sleep(Duration::from_millis(db_));
                spawn_promote(b.path(), &db, alias, "3", &rb, "300").wait_with_output().unwrap()
            });
            (ha.join().unwrap(), hb.join().unwrap())
        });
        let codes = [pa.status.code(), pb.status.code()];
        let now = mlflow_alias(&stack, alias);
        match codes {
            [Some(0), Some(3)] | [Some(3), Some(0)] => {
                races += 1;
                let (winner, loser, v) = if codes[0] == Some(0) { (&pa, &pb, 2) } else { (&pb, &pa, 3) };
                assert!(stderr(loser).contains("conflict"), "round {round}: {}", stderr(loser));
                assert!(winner.status.success());
                assert_eq!(now, Some(v), "round {round}: MLflow shows the winner");
            }
            // Not a race: one planned after the other had finished (it moved from the first one's target).
            [Some(0), Some(0)] => {
                sequential += 1;
                assert!(now == Some(2) || now == Some(3), "round {round}: {now:?}");
            }
            _ => panic!("round {round}: exit codes {codes:?}\nA: {}\nB: {}", stderr(&pa), stderr(&pb)),
        }
    }
    let lines = db.lines();
    let records = assert_one_chain(&lines);
    // No lost record: every round has both intents and both outcomes, each outcome closing its intent.
    for round in 0..rounds {
        for who in ["A", "B"] {
            let reason = format!("round {round} from home {who}");
            let intent = records.iter().find(|r| r["phase"] == "intent" && r["reason"] == reason.as_str()).unwrap_or_else(|| panic!("no intent: {reason}"));
            let closed = records.iter().filter(|r| r["phase"] == "outcome" && r["op"] == intent["seq"]).count();
            assert_eq!(closed, 1, "{reason}: outcomes {closed}");
        }
    }
    assert!(races * 10 >= rounds * 8, "only {races} of {rounds} rounds were races ({sequential} sequential)");
    let out = run(a.path(), &db, &["audit", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("OK: {} records", lines.len())), "{}", stdout(&out));
    // The window's and the CLI's history on the other home shows home A's moves with their reasons.
    let out = run(b.path(), &db, &["history", MODEL, "--alias", alias, "--json"]);
    let events = json(&out);
    assert!(events["events"].as_array().unwrap().iter().any(|e| e["reason"].as_str().is_some_and(|r| r.ends_with("from home A"))), "{events}");
    eprintln!("{races} races, {sequential} sequential, {} records", lines.len());
}

#[test]
fn kill_9_mid_move_blocks_the_alias_for_every_home_until_recovered() {
    let stack = stack();
    let db = TeamDb::new("kill");
    let (a, b) = (team_home(&stack, &db.url), team_home(&stack, &db.url));
    let (alias, other) = ("team-kill", "team-other");
    let _g1 = AliasGuard(&stack, alias);
    let _g2 = AliasGuard(&stack, other);
    mlflow_set_alias(&stack, alias, 1);
    mlflow_set_alias(&stack, other, 1);
    let mut child = spawn_promote(a.path(), &db, alias, "2", "will die", "30000");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !db.client().query("SELECT to_regclass('steward_audit') IS NOT NULL", &[]).unwrap()[0].get::<_, bool>(0)
        || !db.lines().iter().any(|l| l.contains("\"intent\"") && l.contains("will die"))
    {
        assert!(Instant::now() < deadline, "no intent record appeared");
        std::thread::sleep(Duration::from_millis(100));
    }
    // While A's move runs (its lock held), a move of another alias from home B is not held up by it.
    let out = run(b.path(), &db, &["promote", MODEL, "3", "--alias", other, "--reason", "meanwhile", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mlflow_alias(&stack, other), Some(3));
    let _ = Command::new("kill").args(["-9", &child.id().to_string()]).status();
    let _ = child.wait();
    assert_eq!(mlflow_alias(&stack, alias), Some(1));
    // From the other home: refused until recovered.
    let out = run(b.path(), &db, &["promote", MODEL, "3", "--alias", alias, "--reason", "next", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert_eq!(mlflow_alias(&stack, alias), Some(1));
    let out = run(b.path(), &db, &["audit", "recover", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("will die") || stdout(&out).contains("was interrupted"), "{}", stdout(&out));
    let records = assert_one_chain(&db.lines());
    let last = records.last().unwrap();
    assert_eq!(last["phase"], "resolution");
    assert_eq!(last["outcome"], "failed");
    assert!(run(a.path(), &db, &["audit", "verify"]).status.success());
    let out = run(a.path(), &db, &["promote", MODEL, "3", "--alias", alias, "--reason", "after recovery", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mlflow_alias(&stack, alias), Some(3));
    // Each record names its actor's machine.
    assert!(records.iter().all(|r| r["actor"]["host"].as_str().is_some_and(|h| !h.is_empty())));
}

#[test]
fn an_edit_by_hand_is_named_and_a_rechained_table_is_caught_by_the_anchor_and_the_seen_head() {
    let stack = stack();
    let db = TeamDb::new("tamper");
    let home = team_home(&stack, &db.url);
    let alias = "team-tamper";
    let _g = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 1);
    for (v, why) in [("2", "first"), ("3", "second"), ("1", "third")] {
        let out = run(home.path(), &db, &["promote", MODEL, v, "--alias", alias, "--reason", why, "--yes"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let anchor = home.path().join("anchor.json");
    let out = run(home.path(), &db, &["audit", "anchor", "--out", anchor.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = db.lines();
    let n = lines.len();
    assert!(n >= 6, "{n}");
    let target = lines.iter().position(|l| l.contains("\"reason\":\"second\"") && l.contains("\"outcome\"")).unwrap() + 1;
    let original = lines[target - 1].clone();
    let edited = original.replace("\"reason\":\"second\"", "\"reason\":\"approved by the board\"");
    // 1. One UPDATE by hand: verify names the record.
    let mut c = db.client();
    c.execute("UPDATE steward_audit SET line = $1 WHERE seq = $2", &[&edited, &(target as i64)]).unwrap();
    let out = run(home.path(), &db, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains(&format!("record {target} was edited")), "{}", stderr(&out));
    // 2. Rewritten and re-chained, head row included: the chain verifies on its own (a home that never
    //    saw it), but not against the anchor, nor on the home that saw the old head.
    let mut prev = if target == 1 { "0".repeat(64) } else { sha(&lines[target - 2]) };
    let mut rewritten = Vec::new();
    for (i, l) in lines.iter().enumerate().skip(target - 1) {
        let mut r: serde_json::Value = serde_json::from_str(if i == target - 1 { &edited } else { l }).unwrap();
        r["prev"] = serde_json::Value::String(prev.clone());
        // `prev` is the last field of a line: rewritten in place, the rest of the bytes kept.
        let text = l.rsplit_once("\"prev\":\"").map(|(head, _)| format!("{head}\"prev\":\"{prev}\"}}")).unwrap();
        let text = if i == target - 1 { text.replace("\"reason\":\"second\"", "\"reason\":\"approved by the board\"") } else { text };
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), r);
        prev = sha(&text);
        rewritten.push((i as i64 + 1, text));
    }
    for (seq, text) in &rewritten {
        c.execute("UPDATE steward_audit SET line = $1 WHERE seq = $2", &[text, seq]).unwrap();
    }
    c.execute("UPDATE steward_audit_head SET head = $1", &[&prev]).unwrap();
    let fresh = team_home(&stack, &db.url);
    let out = run(fresh.path(), &db, &["audit", "verify"]);
    assert!(out.status.success(), "a re-chained table verifies on its own: {}", stderr(&out));
    let out = run(fresh.path(), &db, &["audit", "verify", "--anchor", anchor.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("rewritten since it was anchored"), "{}", stderr(&out));
    let out = run(home.path(), &db, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("no longer extends the head this home last saw"), "{}", stderr(&out));
}

#[test]
fn audit_push_copies_a_1000_record_log_that_stays_checkable_record_by_record() {
    let stack = stack();
    let db = TeamDb::new("push");
    let home = team_home(&stack, &db.url);
    // A local log of 1,000 records written by Steward's own appender.
    let local = tempfile::tempdir().unwrap();
    let path = local.path().join("audit.jsonl");
    let log = steward::audit::AuditLog::new(path.clone());
    for i in 0..1000u32 {
        log.append(steward::audit::Entry {
            phase: steward::audit::Phase::Observed,
            op: None,
            actor: steward::audit::Actor::new("laptop-user", None),
            action: "alias_moved".into(),
            registry: "MLflow at http://old".into(),
            model: "m".into(),
            alias: "champion".into(),
            from: Some(i.into()),
            to: Some((i + 1).into()),
            reason: format!("local move {i}"),
            outcome: None,
            error: None,
            endpoint: None,
            gates: None,
            segment: None,
        })
        .unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    let out = run(home.path(), &db, &["audit", "push", "--to", &db.url, "--log", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("copied 1000 records"), "{}", stdout(&out));
    // Every original record is in the store byte for byte, in order: each is checkable as before.
    let mut c = db.client();
    let seg: Vec<String> = c.query("SELECT line FROM steward_audit_segment ORDER BY seq", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    let joined: String = seg.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(joined.as_bytes(), &bytes[..]);
    assert_one_chain(&seg);
    let team = assert_one_chain(&db.lines());
    let import = team.iter().find(|r| r["action"] == "audit_import").unwrap();
    assert_eq!(import["segment"]["count"], 1000);
    assert_eq!(import["segment"]["head"].as_str().unwrap(), sha(seg.last().unwrap()));
    let out = run(home.path(), &db, &["audit", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Pushed twice: refused.
    let out = run(home.path(), &db, &["audit", "push", "--to", &db.url, "--log", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("pushed before"), "{}", stderr(&out));
    // An imported record edited by hand: verify names the segment and the record.
    let edited = seg[499].replace("local move 499", "local move 4990");
    c.execute("UPDATE steward_audit_segment SET line = $1 WHERE seq = 500", &[&edited]).unwrap();
    let out = run(home.path(), &db, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("segment 1") && stderr(&out).contains("record 500 was edited"), "{}", stderr(&out));
}

#[test]
fn a_store_that_is_down_refuses_moves_and_says_so() {
    let stack = stack();
    let db = TeamDb::new("down");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://127.0.0.1:{port}/steward");
    let home = team_home(&stack, &url);
    let alias = "team-down";
    let _g = AliasGuard(&stack, alias);
    mlflow_set_alias(&stack, alias, 1);
    let out = run(home.path(), &db, &["promote", MODEL, "2", "--alias", alias, "--reason", "x", "--yes"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("team's audit store") && stderr(&out).contains("Moves are refused"), "{}", stderr(&out));
    assert_eq!(mlflow_alias(&stack, alias), Some(1), "nothing moved");
    let out = run(home.path(), &db, &["history", MODEL]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&url), "{}", stderr(&out));
    let out = run(home.path(), &db, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot be used"), "{}", stderr(&out));
    // And the home's own file was not written instead.
    assert!(!home.path().join("data/audit.jsonl").exists());
}
