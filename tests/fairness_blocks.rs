//! Files larger than one 4 MB block: counts equal a naive count, line numbers stay right across block
//! boundaries (also with quoted newlines), and fail-fast / skip modes agree on where the bad rows are.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use steward::fairness::{Progress, Spec, analyze};

struct Generated {
    text: String,
    /// (tp, fp, tn, fn) per group key, counted while writing.
    counts: BTreeMap<String, [u64; 4]>,
    /// Physical line of each bad row.
    bad_lines: Vec<u64>,
}

/// ~15 MB: 450,000 rows; with `quotes`, every 1000th row has a quoted group holding a comma and a
/// newline and every note is quoted (the careful path), else no quote at all (the in-place path); rows
/// at the given indices get a non-binary label.
fn generate(rows: usize, bad: &[usize], quotes: bool) -> Generated {
    let mut text = String::from("id,group,note,label,prediction\n");
    let mut counts: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    let mut bad_lines = Vec::new();
    let mut line = 2u64;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..rows {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let quoted = quotes && i % 1000 == 999;
        let group = if quoted { format!("q{}, multi\nline", x % 2) } else { format!("g{}", x % 5) };
        let (label, pred) = ((x >> 8) % 2, (x >> 9) % 2);
        let field = if quoted { format!("\"{group}\"") } else { group.clone() };
        let is_bad = bad.contains(&i);
        let label_text = if is_bad { "7".to_string() } else { label.to_string() };
        if quotes {
            let _ = writeln!(text, "{i},{field},\"n,{i}\",{label_text},{pred}");
        } else {
            let _ = writeln!(text, "{i},{field},n{i},{label_text},{pred}");
        }
        if is_bad {
            bad_lines.push(line);
        } else {
            let c = counts.entry(group).or_default();
            let k = match (label, pred) {
                (1, 1) => 0,
                (0, 1) => 1,
                (0, 0) => 2,
                _ => 3,
            };
            c[k] += 1;
        }
        line += 1 + u64::from(quoted);
    }
    Generated { text, counts, bad_lines }
}

fn spec() -> Spec {
    Spec::new(&["group"], "label", Spec::prediction("prediction"))
}

fn counted(path: &Path, spec: &Spec) -> (BTreeMap<String, [u64; 4]>, u64, Vec<String>) {
    let r = analyze(path, spec, &Progress::new()).unwrap();
    let m = r
        .main
        .groups
        .iter()
        .map(|g| (g.key.clone(), [g.confusion.tp, g.confusion.fp, g.confusion.tn, g.confusion.fn_]))
        .collect();
    (m, r.skipped_rows, r.skipped_examples)
}

#[test]
fn many_blocks_count_like_a_naive_loop() {
    let dir = tempfile::tempdir().unwrap();
    let plain = generate(450_000, &[], false);
    assert!(plain.text.len() > 2 * (4 << 20), "spans several blocks: {}", plain.text.len());
    let p = dir.path().join("plain.csv");
    std::fs::write(&p, &plain.text).unwrap();
    assert_eq!(counted(&p, &spec()).0, plain.counts);
    let g = generate(450_000, &[], true);
    assert!(g.text.len() > 2 * (4 << 20), "spans several blocks: {}", g.text.len());
    let p = dir.path().join("big.csv");
    std::fs::write(&p, &g.text).unwrap();
    let (m, skipped, _) = counted(&p, &spec());
    assert_eq!(skipped, 0);
    assert_eq!(m, g.counts);
    // Same through zstd (different read sizes, same blocks logic).
    let z = dir.path().join("big.csv.zst");
    std::fs::write(&z, zstd::encode_all(g.text.as_bytes(), 1).unwrap()).unwrap();
    assert_eq!(counted(&z, &spec()).0, g.counts);
}

#[test]
fn line_numbers_are_right_in_late_blocks() {
    let bad = [3, 130_000, 130_001, 260_500, 449_999];
    let g = generate(450_000, &bad, true);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.csv");
    std::fs::write(&p, &g.text).unwrap();
    // Fail fast: the first bad row in file order, whichever worker saw what first.
    let e = analyze(&p, &spec(), &Progress::new()).unwrap_err();
    assert!(e.to_string().contains(&format!("bad.csv:{}: column 'label'", g.bad_lines[0])), "{e}");
    // Only a late bad row: the error must still name its physical line.
    let g2 = generate(450_000, &[449_999], false);
    std::fs::write(&p, &g2.text).unwrap();
    let e = analyze(&p, &spec(), &Progress::new()).unwrap_err();
    assert!(e.to_string().contains(&format!("bad.csv:{}: column 'label'", g2.bad_lines[0])), "{e}");
    // Skip mode: all five skipped, reported in file order with their lines, counts unaffected.
    std::fs::write(&p, &g.text).unwrap();
    let mut s = spec();
    s.skip_bad_rows = true;
    let (m, skipped, examples) = counted(&p, &s);
    assert_eq!(skipped, 5);
    assert_eq!(m, g.counts);
    for (ex, line) in examples.iter().zip(&g.bad_lines) {
        assert!(ex.contains(&format!("bad.csv:{line}: column 'label': label '7' is not binary")), "{ex}");
    }
}
