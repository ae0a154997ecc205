//! The house rules (docs/architecture.md), checked on the source itself:
//! - two faces over one core: only `src/cli/` (and main.rs, which assembles the faces) names the command
//!   line; only `src/ui/` names the window, egui or eframe;
//! - each room imports only the rooms its rule allows, so there is no import circle between rooms;
//! - no source file is longer than `MAX_LINES` unless it is listed with its reason.
//!
//! A room is a top-level module: `src/NAME.rs` or the folder `src/NAME/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each room may import (`crate::ROOM`). Keep in step with docs/architecture.md.
const RULES: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("connect", &["domain"]),
    ("audit", &["domain"]),
    ("objects", &["domain"]),
    ("fairness", &["domain", "objects"]),
    ("monitoring", &["domain", "fairness", "objects"]),
    ("config", &["connect", "domain"]),
    ("diag", &["connect"]),
    ("serving", &["audit", "config", "connect", "domain"]),
    ("sources", &["config", "connect", "domain", "fairness", "monitoring", "objects"]),
    ("ops", &["audit", "config", "connect", "domain", "fairness", "monitoring", "serving"]),
    ("report", &["audit", "config", "connect", "domain", "fairness", "monitoring", "objects", "ops", "serving", "sources"]),
    ("backend", &["audit", "config", "connect", "diag", "domain", "fairness", "monitoring", "objects", "ops", "report", "serving", "sources"]),
    ("cli", &["audit", "config", "connect", "diag", "domain", "fairness", "monitoring", "objects", "ops", "report", "serving", "sources"]),
    ("ui", &["audit", "backend", "config", "connect", "diag", "domain", "fairness", "monitoring", "objects", "ops", "report", "serving", "sources"]),
];

/// Lines a source file may have.
const MAX_LINES: usize = 500;
/// Files allowed past `MAX_LINES`, with the reason (none today).
const LONG_FILES: &[(&str, &str)] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file under src/ as (path relative to src/ with '/', text).
fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(src()).expect("under src").to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (rel, text)
        })
        .collect()
}

/// The code of a line: without a `//` comment (doc comments included). A `//` inside a string literal
/// (a URL) also cuts the line, which can only hide a mention, never invent one.
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// The room a file belongs to: its first path component without `.rs`.
fn room(rel: &str) -> &str {
    let first = rel.split('/').next().unwrap_or(rel);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// Names that follow `prefix` in `text` (identifier characters), e.g. `crate::` -> `ops`.
fn names_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let before_ok = i == 0 || !rest[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let after = &rest[i + prefix.len()..];
        let end = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        if before_ok && end > 0 {
            out.push(&after[..end]);
        }
        rest = &after[end..];
    }
    out
}

/// Whether `word` stands in `text` as a whole identifier (not part of a longer one).
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// Breaches of the face rules: (file:line, what).
fn face_breaches(files: &[(String, String)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (rel, text) in files {
        let in_cli = rel.starts_with("cli/") || rel == "main.rs";
        let in_ui = rel.starts_with("ui/");
        for (n, line) in text.lines().enumerate() {
            let c = code(line);
            let at = format!("src/{rel}:{}", n + 1);
            if !in_cli && (names_after(c, "crate::").contains(&"cli") || has_word(c, "cli_ops")) {
                bad.push(format!("{at}: names the command line outside src/cli/: {}", line.trim()));
            }
            if !in_ui {
                let window = names_after(c, "crate::").contains(&"ui")
                    || ["egui", "eframe", "egui_plot", "egui_extras", "egui_kittest"].iter().any(|w| has_word(c, w));
                // main.rs assembles the faces: it hands `steward::ui::run` to the command line.
                let assembling = rel == "main.rs" && c.contains("steward::ui::run") && !has_word(c, "egui");
                if window && !assembling {
                    bad.push(format!("{at}: names the window outside src/ui/: {}", line.trim()));
                }
            }
        }
    }
    bad
}

/// Room -> rooms it imports (`crate::ROOM` in code), and where each edge was seen first.
fn room_graph(files: &[(String, String)]) -> BTreeMap<String, BTreeMap<String, String>> {
    let rooms: BTreeSet<&str> = files.iter().map(|(rel, _)| room(rel)).collect();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (rel, text) in files {
        let from = room(rel);
        graph.entry(from.to_string()).or_default();
        for (n, line) in text.lines().enumerate() {
            for to in names_after(code(line), "crate::") {
                if to != from && rooms.contains(to) {
                    graph.get_mut(from).expect("inserted").entry(to.to_string()).or_insert(format!("src/{rel}:{}", n + 1));
                }
            }
        }
    }
    graph
}

/// Breaches of `RULES`: imports a room's rule does not allow, and rooms without a rule.
fn rule_breaches(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<String> {
    let rules: BTreeMap<&str, &[&str]> = RULES.iter().copied().collect();
    let mut bad = Vec::new();
    for (from, edges) in graph {
        if matches!(from.as_str(), "lib" | "main") {
            continue;
        }
        let Some(allowed) = rules.get(from.as_str()) else {
            bad.push(format!("room '{from}' has no rule in tests/house.rs and docs/architecture.md"));
            continue;
        };
        for (to, at) in edges {
            if !allowed.contains(&to.as_str()) {
                bad.push(format!("{at}: {from} imports {to}, which its rule does not allow"));
            }
        }
    }
    bad
}

/// A circle of rooms, if the graph has one (depth-first search).
fn circle(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in graph.get(n).map(|e| e.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            match state.get(&m).copied().unwrap_or(0) {
                1 => {
                    let start = path.iter().position(|p| *p == m).unwrap_or(0);
                    let mut c = path[start..].to_vec();
                    c.push(m);
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(&m, graph, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn only_the_faces_name_the_faces() {
    let bad = face_breaches(&sources());
    assert!(bad.is_empty(), "face rules broken:\n{}", bad.join("\n"));
}

#[test]
fn rooms_import_only_what_their_rule_allows_and_form_no_circle() {
    let graph = room_graph(&sources());
    let bad = rule_breaches(&graph);
    assert!(bad.is_empty(), "room rules broken:\n{}", bad.join("\n"));
    if let Some(c) = circle(&graph) {
        panic!("import circle between rooms: {}", c.join(" -> "));
    }
    // The rules table itself is a layering (no circle), so obeying it rules out circles.
    let table: BTreeMap<String, BTreeMap<String, String>> = RULES
        .iter()
        .map(|(r, allowed)| (r.to_string(), allowed.iter().map(|a| (a.to_string(), String::new())).collect()))
        .collect();
    assert_eq!(circle(&table), None, "RULES has a circle");
}

#[test]
fn only_src_main_lib_and_config_stand_at_the_top() {
    let top: Vec<String> = sources()
        .into_iter()
        .map(|(rel, _)| rel)
        .filter(|rel| !rel.contains('/') && !matches!(rel.as_str(), "main.rs" | "lib.rs" | "config.rs"))
        .collect();
    assert!(top.is_empty(), "files at the top of src/ (give them a room): {top:?}");
}

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let long: Vec<String> = sources()
        .iter()
        .filter(|(rel, text)| text.lines().count() > MAX_LINES && !LONG_FILES.iter().any(|(f, _)| f == rel))
        .map(|(rel, text)| format!("src/{rel}: {} lines", text.lines().count()))
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines (split them, or list them with a reason):\n{}", long.join("\n"));
}

/// The checks themselves must catch what they are for: fed a breach, each reports it.
#[test]
fn the_checks_catch_planted_breaches() {
    let planted = vec![
        ("fairness/x.rs".to_string(), "use crate::cli::Failure;\n// crate::ui in a comment is fine\n".to_string()),
        ("report/y.rs".to_string(), "fn f(ui: &mut egui::Ui) {}\nuse crate::ui::chart;\n".to_string()),
        ("ui/z.rs".to_string(), "use crate::cli::Context;\nuse egui::Ui;\n".to_string()),
        ("main.rs".to_string(), "steward::cli::main(steward::ui::run)\n".to_string()),
    ];
    let bad = face_breaches(&planted);
    assert_eq!(bad.len(), 4, "{bad:#?}");
    assert!(bad[0].starts_with("src/fairness/x.rs:1") && bad[0].contains("command line"));
    assert!(bad[1].starts_with("src/report/y.rs:1") && bad[2].starts_with("src/report/y.rs:2"));
    assert!(bad[3].starts_with("src/ui/z.rs:1") && bad[3].contains("command line"));

    let circular = vec![
        ("config/a.rs".to_string(), "use crate::ops::Policy;\n".to_string()),
        ("ops/b.rs".to_string(), "use crate::config::Binding;\n".to_string()),
    ];
    let graph = room_graph(&circular);
    assert_eq!(circle(&graph), Some(vec!["config".to_string(), "ops".to_string(), "config".to_string()]));
    let broken = rule_breaches(&graph);
    assert_eq!(broken, vec!["src/config/a.rs:1: config imports ops, which its rule does not allow".to_string()]);
}
