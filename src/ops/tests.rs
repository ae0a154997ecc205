use std::collections::BTreeMap;

use super::*;
use crate::audit::verify;
use crate::connect::local::LocalRegistry;
use crate::domain::NewVersion;

fn setup() -> (tempfile::TempDir, LocalRegistry, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let (reg, _) = LocalRegistry::open(&dir.path().join("r.sqlite")).unwrap();
    for i in 1..=3 {
        let mut n = NewVersion { model: "m".into(), source: format!("s{i}"), ..Default::default() };
        n.metrics.insert("auc".into(), 0.7 + i as f64 / 10.0);
        reg.register_blocking(&n).unwrap();
    }
    reg.set_alias_blocking("m", "champion", 2).unwrap();
    let audit = AuditLog::new(dir.path().join("audit.jsonl"));
    (dir, reg, audit)
}

fn ops<'a>(reg: &'a LocalRegistry, audit: &AuditLog, policy: Policy) -> Ops<'a, LocalRegistry> {
    Ops { registry: reg, audit: audit.clone(), os_user: "alice".into(), policy }
}

#[tokio::test]
async fn promote_moves_the_alias_and_records_intent_then_outcome() {
    let (_d, reg, audit) = setup();
    let o = ops(&reg, &audit, Policy::default());
    let plan = o.plan_promote("m", 3, "champion").await.unwrap();
    assert_eq!((plan.from, plan.to, plan.protected), (Some(2), 3, true));
    let auc = plan.metrics.iter().find(|m| m.key == "auc").unwrap();
    assert!((auc.from.unwrap() - 0.9).abs() < 1e-12 && (auc.to.unwrap() - 1.0).abs() < 1e-12);
    // Protected: without the model name typed, refused and recorded; nothing moved.
    let e = o.execute(&plan, "better auc", Some("wrong")).await.unwrap_err();
    assert!(matches!(e, OpError::Refused(ref m) if m.contains("protected")), "{e}");
    assert_eq!(reg.get_alias_blocking("m", "champion").unwrap(), Some(2));
    let rec = o.execute(&plan, "better auc", Some("m")).await.unwrap();
    assert_eq!(rec.entry.outcome, Some(Outcome::Succeeded));
    assert_eq!(reg.get_alias_blocking("m", "champion").unwrap(), Some(3));
    let all = audit.read_all().unwrap();
    let phases: Vec<_> = all.iter().map(|r| (r.entry.phase.clone(), r.entry.outcome)).collect();
    assert_eq!(
        phases,
        // champion@v2 existed before Steward's first move: recorded as first seen, before the intent.
        vec![
            (Phase::Observed, None),
            (Phase::Intent, None),
            (Phase::Outcome, Some(Outcome::Refused)),
            (Phase::Intent, None),
            (Phase::Outcome, Some(Outcome::Succeeded))
        ]
    );
    assert_eq!(all[4].entry.op, Some(all[3].seq));
    assert_eq!(all[4].entry.reason, "better auc");
    assert_eq!(all[4].entry.actor.os_user, "alice");
    assert_eq!(verify(audit.path()).unwrap().count, 5);
}

#[tokio::test]
async fn a_move_since_the_plan_is_a_conflict_and_changes_nothing() {
    let (_d, reg, audit) = setup();
    let o = ops(&reg, &audit, Policy::default());
    let plan = o.plan_promote("m", 3, "champion").await.unwrap();
    reg.set_alias_blocking("m", "champion", 1).unwrap(); // someone else moved it
    let e = o.execute(&plan, "r", Some("m")).await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("conflict") && msg.contains("from v2 to v1"), "{msg}");
    assert_eq!(e.exit_code(), 3);
    assert_eq!(reg.get_alias_blocking("m", "champion").unwrap(), Some(1));
    assert_eq!(audit.read_all().unwrap().last().unwrap().entry.outcome, Some(Outcome::Refused));
}

#[tokio::test]
async fn read_only_refuses_in_the_ops_layer() {
    let (_d, reg, audit) = setup();
    let rw = ops(&reg, &audit, Policy::default());
    let plan = rw.plan_promote("m", 3, "canary").await.unwrap();
    assert!(!plan.protected);
    let ro = ops(&reg, &audit, Policy { read_only: true, ..Policy::default() });
    assert!(matches!(ro.plan_promote("m", 3, "canary").await, Err(OpError::Refused(_))));
    let e = ro.execute(&plan, "r", None).await.unwrap_err();
    assert!(e.to_string().contains("read-only"), "{e}");
    assert_eq!(reg.get_alias_blocking("m", "canary").unwrap(), None);
}

#[tokio::test]
async fn rollback_proposes_the_version_before_the_last_move() {
    let (_d, reg, audit) = setup();
    let o = ops(&reg, &audit, Policy::default());
    // No history yet: Steward will not guess.
    assert!(matches!(o.plan_rollback("m", "champion", None).await, Err(OpError::Refused(m)) if m.contains("--to")));
    let p = o.plan_promote("m", 3, "champion").await.unwrap();
    o.execute(&p, "try v3", Some("m")).await.unwrap();
    let rb = o.plan_rollback("m", "champion", None).await.unwrap();
    assert_eq!((rb.kind, rb.from, rb.to), (MoveKind::Rollback, Some(3), 2));
    assert_eq!(rb.choices, vec![2, 1]);
    o.execute(&rb, "v3 regressed", Some("m")).await.unwrap();
    assert_eq!(reg.get_alias_blocking("m", "champion").unwrap(), Some(2));
    let h = history(&audit.read_all().unwrap(), &reg_describe(&reg), "m", Some("champion"));
    let moves: Vec<_> = h.iter().map(|e| (e.action.as_str(), e.from, e.to)).collect();
    assert_eq!(moves, vec![("alias_seen", None, Some(2)), ("promote", Some(2), Some(3)), ("rollback", Some(3), Some(2))]);
}

fn reg_describe(reg: &LocalRegistry) -> String {
    use crate::connect::Registry;
    reg.describe()
}

#[tokio::test]
async fn moves_outside_steward_are_observed_and_answer_what_was_champion_when() {
    let (_d, reg, audit) = setup();
    let desc = reg_describe(&reg);
    let now = |reg: &LocalRegistry| -> BTreeMap<String, u64> {
        reg.list_models_blocking().unwrap().into_iter().find(|m| m.name == "m").unwrap().aliases
    };
    let first = reconcile(&audit, "alice", &desc, "m", &now(&reg)).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].entry.action, "alias_seen");
    assert!(reconcile(&audit, "alice", &desc, "m", &now(&reg)).unwrap().is_empty(), "nothing changed");
    let t_between = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    reg.set_alias_blocking("m", "champion", 1).unwrap(); // e.g. the MLflow UI
    let moved = reconcile(&audit, "alice", &desc, "m", &now(&reg)).unwrap();
    assert_eq!((moved[0].entry.from, moved[0].entry.to, moved[0].entry.action.as_str()), (Some(2), Some(1), "alias_moved"));
    let events = history(&audit.read_all().unwrap(), &desc, "m", None);
    assert_eq!(alias_at(&events, "champion", t_between), Some(2));
    assert_eq!(alias_at(&events, "champion", chrono::Utc::now()), Some(1));
    // Deleting an alias outside Steward is observed too.
    reg.delete_alias_blocking("m", "champion").unwrap();
    let gone = reconcile(&audit, "alice", &desc, "m", &now(&reg)).unwrap();
    assert_eq!((gone[0].entry.from, gone[0].entry.to), (Some(1), None));
}

#[tokio::test]
async fn an_interrupted_operation_is_found_and_resolved_from_the_registry_state() {
    let (_d, reg, audit) = setup();
    let o = ops(&reg, &audit, Policy::default());
    let plan = o.plan_promote("m", 3, "champion").await.unwrap();
    // Simulate a crash after the intent and after the registry call, before the outcome.
    let mut intent = o.entry(&plan, Phase::Intent, "crash test");
    intent.op = None;
    audit.append(intent).unwrap();
    reg.set_alias_blocking("m", "champion", 3).unwrap();
    let found = find_interrupted(&audit, &reg).await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].took_effect());
    assert!(found[0].explain().contains("took effect"), "{}", found[0].explain());
    let r = resolve(&audit, "bob", &found[0], "checked by bob").unwrap();
    assert_eq!(r.entry.phase, Phase::Resolution);
    assert_eq!(r.entry.outcome, Some(Outcome::Succeeded));
    assert!(find_interrupted(&audit, &reg).await.unwrap().is_empty());
    assert!(verify(audit.path()).is_ok());
}

/// Version folders v1..v3 and a served model's folder (serving v2) under `root`; a binding of m@champion.
fn bound_setup(root: &std::path::Path, endpoint: &str) -> crate::config::Binding {
    for v in 1..=3 {
        let dir = root.join(format!("versions/v{v}"));
        std::fs::create_dir_all(&dir).unwrap();
        let s = serde_json::json!({"name": "m", "implementation": "x.Runtime", "parameters": {"uri": "./model.bin", "version": v.to_string()}});
        std::fs::write(dir.join("model-settings.json"), s.to_string()).unwrap();
    }
    let served = root.join("served");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::write(served.join("model-settings.json"), r#"{"name":"m-served","parameters":{"version":"2"}}"#).unwrap();
    crate::config::Binding {
        model: "m".into(),
        alias: "champion".into(),
        endpoint: endpoint.into(),
        served_model: "m-served".into(),
        mode: Default::default(),
        settings_dir: served,
        version_dir: format!("{}/versions/v{{version}}", root.display()),
        example: None,
        ready_timeout_secs: Some(2.0),
    }
}

fn collect() -> (std::sync::Arc<std::sync::Mutex<Vec<StepEvent>>>, impl Fn(StepEvent) + Send + Sync) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    (seen, move |e: StepEvent| s2.lock().unwrap().push(e))
}

#[tokio::test]
async fn without_a_binding_the_steps_are_the_alias_steps_only() {
    let (_d, reg, audit) = setup();
    let o = ops(&reg, &audit, Policy::default());
    let plan = o.plan_promote("m", 3, "canary").await.unwrap();
    let (seen, progress) = collect();
    let rec = o.execute_with_progress(&plan, "r", None, &progress).await.unwrap();
    assert_eq!(rec.entry.endpoint, None);
    let done: Vec<Step> = seen.lock().unwrap().iter().filter(|e| e.state == StepState::Ok).map(|e| e.step).collect();
    assert_eq!(done, vec![Step::Intent, Step::CheckAlias, Step::SetAlias, Step::VerifyAlias, Step::Done]);
}

#[tokio::test]
async fn a_black_holed_endpoint_ends_within_the_bound_the_settings_are_put_back_and_the_alias_never_moves() {
    let (d, reg, audit) = setup();
    // Accepts connections (the kernel completes the handshake) and never answers.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let binding = bound_setup(d.path(), &format!("http://{}", hole.local_addr().unwrap()));
    let settings = binding.settings_dir.join("model-settings.json");
    let before = std::fs::read(&settings).unwrap();
    let policy = Policy { bindings: vec![binding], endpoint_timeout: Duration::from_secs(1), ..Policy::default() };
    let o = ops(&reg, &audit, policy);
    let mut plan = o.plan_rollback("m", "champion", Some(1)).await.unwrap();
    // The serving gate sees the dead endpoint before anything moves (next test). Here the endpoint is
    // taken to have answered the gate and died afterwards, to test the revert.
    assert_eq!(plan.gates.blocking().iter().map(|g| g.kind.as_str()).collect::<Vec<_>>(), vec!["serving"]);
    plan.gates = Default::default();
    let (seen, progress) = collect();
    let t = std::time::Instant::now();
    let e = o.execute_with_progress(&plan, "v2 regressed", Some("m"), &progress).await.unwrap_err();
    let took = t.elapsed();
    // load (1 s) + the revert's load (1 s), nothing else waits on the endpoint.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(e.exit_code(), 1);
    let msg = e.to_string();
    assert!(msg.contains("endpoint load") && msg.contains("the alias was not touched (m@champion is still v2)"), "{msg}");
    assert!(msg.contains("old settings restored on disk, but reloading m-served failed"), "{msg}");
    assert_eq!(reg.get_alias_blocking("m", "champion").unwrap(), Some(2));
    assert_eq!(std::fs::read(&settings).unwrap(), before, "settings file restored byte for byte");
    let failed: Vec<Step> = seen.lock().unwrap().iter().filter(|e| e.state == StepState::Failed).map(|e| e.step).collect();
    assert_eq!(failed, vec![Step::EndpointLoad, Step::RevertEndpoint, Step::Done]);
    let last = audit.read_all().unwrap().pop().unwrap();
    assert_eq!(last.entry.outcome, Some(Outcome::Failed));
    let note = last.entry.endpoint.unwrap();
    assert_eq!(note.served_model, "m-served");
    assert!(!note.steps.iter().any(|s| s.contains("alias set")), "the endpoint goes first; the alias never moved: {:?}", note.steps);
    assert!(verify(audit.path()).is_ok());
}

#[tokio::test]
async fn a_target_version_without_settings_changes_nothing_on_the_endpoint_nor_the_alias() {
    let (d, reg, audit) = setup();
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let binding = bound_setup(d.path(), &format!("http://{}", hole.local_addr().unwrap()));
    std::fs::remove_dir_all(d.path().join("versions/v3")).unwrap();
    let o = ops(&reg, &audit, Policy { bindings: vec![binding], ..Policy::default() });
    let mut plan = o.plan_promote("m", 3, "champion").await.unwrap();
    plan.gates = Default::default(); // as above: the endpoint answered the serving gate, then died
    let msg = o.execute(&plan, "try v3", Some("m")).await.unwrap_err().to_string();
    assert!(msg.contains("v3 has no settings to serve") && msg.contains("nothing to revert"), "{msg}");
    assert!(msg.contains("the alias was not touched"), "{msg}");
    assert_eq!(reg.get_alias_blocking("m", "champion").unwrap(), Some(2));
    // The failed move does not count as a move: rollback still has no earlier version to propose.
    let h = history(&audit.read_all().unwrap(), &reg_describe(&reg), "m", Some("champion"));
    assert!(h.iter().all(|e| !e.moved() || e.action == "alias_seen"), "{h:?}");
    assert_eq!(last_known_good(&audit.read_all().unwrap(), &reg_describe(&reg), "m", "champion", Some(2)), None);
}

#[tokio::test]
async fn a_dead_bound_endpoint_refuses_promote_and_rollback_before_the_alias_moves() {
    let (d, reg, audit) = setup();
    // A port nobody listens on: connection refused.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let binding = bound_setup(d.path(), &format!("http://{dead}"));
    let o = ops(&reg, &audit, Policy { bindings: vec![binding], endpoint_timeout: Duration::from_secs(1), ..Policy::default() });
    for plan in [o.plan_promote("m", 3, "champion").await.unwrap(), o.plan_rollback("m", "champion", Some(1)).await.unwrap()] {
        let gate = plan.gates.results.iter().find(|g| g.kind == "serving").expect("a serving gate for a bound alias");
        assert_eq!(gate.verdict, Verdict::Fail, "{gate:?}");
        assert!(gate.detail.contains("is down"), "{}", gate.detail);
        let mut overridden = plan.clone();
        overridden.override_gates = Some("we know".into());
        for p in [plan, overridden] {
            let e = o.execute(&p, "try", Some("m")).await.unwrap_err();
            assert!(matches!(e, OpError::Refused(ref m) if m.contains("endpoint")), "{e}");
        }
    }
    assert_eq!(reg.get_alias_blocking("m", "champion").unwrap(), Some(2), "the alias never moved");
    let records = audit.read_all().unwrap();
    assert!(records.iter().filter(|r| r.entry.phase == Phase::Outcome).all(|r| r.entry.outcome == Some(Outcome::Refused)));
    // The refused intents carry the gate results.
    let intent = records.iter().find(|r| r.entry.phase == Phase::Intent).unwrap();
    assert_eq!(intent.entry.gates.as_ref().unwrap()["report"]["results"][0]["verdict"], "fail");
}

#[tokio::test]
async fn aliases_that_existed_before_steward_come_first_in_the_history() {
    let (_d, reg, audit) = setup();
    reg.set_alias_blocking("m", "challenger", 3).unwrap();
    let o = ops(&reg, &audit, Policy::default());
    let plan = o.plan_promote("m", 1, "staging").await.unwrap();
    o.execute(&plan, "try v1", None).await.unwrap();
    let h = history(&audit.read_all().unwrap(), &reg_describe(&reg), "m", None);
    let seq: Vec<_> = h.iter().map(|e| (e.action.as_str(), e.alias.as_str(), e.to)).collect();
    assert_eq!(seq, [("alias_seen", "challenger", Some(3)), ("alias_seen", "champion", Some(2)), ("promote", "staging", Some(1))]);
    // A second move records nothing seen again, and a stale plan does not contradict a later move.
    let stale = o.plan_promote("m", 1, "champion").await.unwrap();
    let p2 = o.plan_promote("m", 2, "staging").await.unwrap();
    o.execute(&p2, "v2", None).await.unwrap();
    o.execute(&stale, "v1", Some("m")).await.unwrap();
    let actions: Vec<String> = history(&audit.read_all().unwrap(), &reg_describe(&reg), "m", None).iter().map(|e| e.action.clone()).collect();
    assert_eq!(actions, ["alias_seen", "alias_seen", "promote", "promote", "promote"]);
}

#[tokio::test]
async fn a_day_answers_with_every_version_the_alias_held_that_day() {
    let (_d, reg, audit) = setup();
    let o = ops(&reg, &audit, Policy::default());
    for v in [3, 1] {
        let plan = o.plan_promote("m", v, "champion").await.unwrap();
        o.execute(&plan, "move", Some("m")).await.unwrap();
    }
    let events = history(&audit.read_all().unwrap(), &reg_describe(&reg), "m", Some("champion"));
    // The day of the first record (not "today": the test may straddle midnight).
    let day = events[0].time[..10].to_string();
    let (start, end) = parse_period(&day).unwrap();
    assert!(events.iter().all(|e| e.time.starts_with(&day)), "the moves straddle midnight; run again");
    let (first, moves) = alias_during(&events, "champion", start, end);
    // Seen at v2 (first seen, this day too), then v3, then v1: all three are in the answer.
    assert_eq!(first, None, "nothing was known at midnight");
    let versions: Vec<Option<u64>> = moves.iter().map(|(_, v)| *v).collect();
    assert_eq!(versions, [Some(2), Some(3), Some(1)]);
    assert_eq!(alias_at(&events, "champion", end), Some(1));
    // Who: the operator for Steward's moves; unknown for what was observed.
    // user@host: the machine is recorded too.
    let host = steward_host();
    assert_eq!(events[1].who(), format!("alice@{host}"));
    assert!(events[0].who().starts_with("unknown (outside Steward; noticed by alice"), "{}", events[0].who());
}

fn steward_host() -> String {
    crate::audit::Actor::new("x", None).host.expect("this machine has a host name")
}

#[test]
fn periods_typed_by_an_operator() {
    let at = |s: &str| parse_period(s).map(|(a, b)| (a.to_rfc3339(), b.to_rfc3339()));
    let day = ("2026-11-29T00:00:00+00:00".to_string(), "2026-11-29T23:59:59+00:00".to_string());
    assert_eq!(at("2026-11-29"), Some(day));
    let ten = "2026-11-29T10:00:00+00:00".to_string();
    for s in ["2026-11-29 10:00", "2026-11-29T10:00", "2026-11-29 10:00:00", "2026-11-29T10:00:00Z", "2026-11-29T11:00:00+01:00"] {
        assert_eq!(at(s), Some((ten.clone(), ten.clone())), "{s}");
    }
    for s in ["yesterday", "2026-11-29 25:00", "29/11/2026", ""] {
        assert_eq!(at(s), None, "{s}");
    }
}
