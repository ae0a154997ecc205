use super::*;

fn entry(phase: Phase, op: Option<u64>, from: Option<u64>, to: Option<u64>) -> Entry {
    Entry {
        phase,
        op,
        actor: Actor::new("alice", None),
        action: "promote".into(),
        registry: "local registry at /tmp/r".into(),
        model: "m".into(),
        alias: "champion".into(),
        from,
        to,
        reason: "better AUC".into(),
        outcome: None,
        error: None,
        endpoint: None,
        gates: None,
        segment: None,
    }
}

fn log_with(n: usize) -> (tempfile::TempDir, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(dir.path().join("audit.jsonl"));
    for i in 0..n {
        log.append(entry(Phase::Intent, None, Some(i as u64), Some(i as u64 + 1))).unwrap();
    }
    (dir, log)
}

#[test]
fn records_chain_and_verify() {
    let (_d, log) = log_with(5);
    let v = verify(log.path()).unwrap();
    assert_eq!(v.count, 5);
    let recs = log.read_all().unwrap();
    assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert_eq!(recs[0].prev, GENESIS);
    let text = std::fs::read_to_string(log.path()).unwrap();
    let second_line = text.lines().nth(1).unwrap();
    assert_eq!(recs[2].prev, sha256_hex(second_line.as_bytes()));
    assert_eq!(log.read_head().unwrap().unwrap(), Head { count: 5, head: v.head });
}

#[test]
fn editing_any_byte_is_caught_and_names_the_record() {
    let (d, log) = log_with(4);
    let original = std::fs::read(log.path()).unwrap();
    let copy = d.path().join("copy.jsonl");
    std::fs::copy(log.head_path(), copy.with_extension("head")).unwrap();
    let line_of = |pos: usize| original[..pos].iter().filter(|b| **b == b'\n').count() as u64 + 1;
    for pos in 0..original.len() {
        if original[pos] == b'\n' {
            continue;
        }
        let mut bytes = original.clone();
        bytes[pos] = if bytes[pos] == b'7' { b'8' } else { b'7' };
        std::fs::write(&copy, &bytes).unwrap();
        let err = verify(&copy).expect_err(&format!("edit at byte {pos} not caught"));
        let edited = line_of(pos);
        let msg = err.to_string();
        assert!(msg.contains(&format!("record {edited}")), "byte {pos} (record {edited}): {msg}");
    }
}

#[test]
fn deleted_reordered_and_truncated_records_are_caught() {
    let (d, log) = log_with(5);
    let text = std::fs::read_to_string(log.path()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let copy = d.path().join("copy.jsonl");
    std::fs::copy(log.head_path(), copy.with_extension("head")).unwrap();
    let write = |ls: &[&str]| std::fs::write(&copy, ls.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();

    write(&[lines[0], lines[1], lines[3], lines[4]]);
    assert!(matches!(verify(&copy), Err(VerifyError::Sequence { line: 3, found: 4, .. })), "{:?}", verify(&copy));
    write(&[lines[0], lines[2], lines[1], lines[3], lines[4]]);
    assert!(matches!(verify(&copy), Err(VerifyError::Sequence { line: 2, .. })));
    write(&lines[..3]);
    let e = verify(&copy).unwrap_err();
    assert!(matches!(e, VerifyError::Truncated { count: 3, head_count: 5, .. }), "{e}");
    assert!(e.to_string().contains("truncated"));
    // Cut in the middle of the last record.
    let mut cut = text.clone();
    cut.truncate(text.len() - 10);
    std::fs::write(&copy, cut).unwrap();
    assert!(matches!(verify(&copy), Err(VerifyError::CutLine { line: 5 })), "{:?}", verify(&copy));
}

#[test]
fn appending_refuses_a_damaged_log_and_repairs_a_lagging_head() {
    let (_d, log) = log_with(3);
    let good = std::fs::read(log.path()).unwrap();
    // Last record removed: the head file no longer matches, so nothing may be chained onto it.
    let text = String::from_utf8(good.clone()).unwrap();
    let two: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(log.path(), &two).unwrap();
    assert!(matches!(log.append(entry(Phase::Observed, None, None, Some(1))), Err(AuditError::Damaged { .. })));
    std::fs::write(log.path(), &good).unwrap();
    // A head that lags by one record (crash after the append) is repaired, then appending goes on.
    let head = log.read_head().unwrap().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(log.head_path(), serde_json::to_string(&Head { count: 2, head: sha256_hex(lines[1].as_bytes()) }).unwrap()).unwrap();
    assert!(verify(log.path()).is_ok(), "a lagging head that matches its record verifies");
    let r = log.append(entry(Phase::Observed, None, None, Some(1))).unwrap();
    assert_eq!(r.seq, 4);
    assert_eq!(r.prev, head.head);
    assert_eq!(verify(log.path()).unwrap().count, 4);
}

#[test]
fn intents_without_outcome_are_pending() {
    let (_d, log) = log_with(0);
    let a = log.append(entry(Phase::Intent, None, Some(1), Some(2))).unwrap();
    let mut out = entry(Phase::Outcome, Some(a.seq), Some(1), Some(2));
    out.outcome = Some(Outcome::Succeeded);
    log.append(out).unwrap();
    let b = log.append(entry(Phase::Intent, None, Some(2), Some(3))).unwrap();
    let pending = log.pending_intents().unwrap();
    assert_eq!(pending.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![b.seq]);
}

#[test]
fn concurrent_appenders_keep_one_chain() {
    let (_d, log) = log_with(0);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    log.append(entry(Phase::Observed, None, Some(t), Some(i))).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(verify(log.path()).unwrap().count, 100);
}
