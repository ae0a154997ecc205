//! Hostile strings from a registry and a prediction log render inert in every report format, and
//! credentials in the environment never reach a report.

mod common;

use common::report::*;
use common::*;
use serde_json::Value;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";
const FORMULA: &str = "=HYPERLINK(\"http://evil\",\"x\")";
const RLO: &str = "abc\u{202E}fdp.exe";
const TOKEN: &str = "tok-SECRET-5f1e2d";

/// Every tag in the markup (from '<' to '>'), lower-cased.
fn tags(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        let end = rest[i..].find('>').map_or(rest.len(), |j| i + j + 1);
        out.push(rest[i..end].to_ascii_lowercase());
        rest = &rest[end..];
    }
    out
}

#[test]
fn hostile_strings_render_inert_and_secrets_never_appear() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let long = format!("L{}", "x".repeat(100 * 1024));
    let description = format!("{SCRIPT} {IMG} {RLO}");
    let tags_args = [format!("xss={SCRIPT}"), format!("img={IMG}"), format!("formula={FORMULA}"), format!("rlo={RLO}"), format!("long={long}")];
    for _ in 0..2 {
        let mut args = vec!["registry", "register", "evil", "--source", "s3://bucket/evil", "--description", &description, "--metric", "accuracy=0.75"];
        for t in &tags_args {
            args.extend(["--tag", t]);
        }
        let o = steward(home, &args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // The model's own description and tags (the CLI registers versions; the library sets model details).
    let (reg, _) = steward::connect::local::LocalRegistry::open(&home.join("data/registry.sqlite")).expect("registry");
    let model_tags: std::collections::BTreeMap<String, String> =
        tags_args.iter().filter_map(|t| t.split_once('=')).map(|(k, v)| (format!("model_{k}"), v.to_string())).collect();
    reg.set_model_details_blocking("evil", Some(&description), &model_tags).expect("model details");
    drop(reg);
    let o = steward(home, &["promote", "evil", "2", "--alias", "champion", "--reason", FORMULA, "--yes", "--confirm", "evil"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A prediction log whose group names are hostile.
    let mut log = String::from("timestamp,model_version,sex,label,prediction\n");
    let groups = [SCRIPT.replace(',', ";"), IMG.to_string(), "=1+2".to_string(), RLO.to_string(), "plain".to_string()];
    for i in 0..400 {
        let g = &groups[i % groups.len()];
        let quoted = format!("\"{}\"", g.replace('"', "\"\""));
        log.push_str(&format!("2026-11-0{}T00:00:00Z,{},{quoted},{},{}\n", 1 + i % 5, 1 + i % 2, i % 2, (i / 2) % 2));
    }
    let log_path = home.join("hostile.csv");
    std::fs::write(&log_path, log).expect("write log");
    let log_arg = log_path.to_string_lossy().into_owned();
    let env = [("MLFLOW_TRACKING_TOKEN", TOKEN), ("MLFLOW_TRACKING_PASSWORD", TOKEN)];
    let r = render_all(home, &[], "evil", &["--fairness-log", &log_arg], &env);

    // JSON: the strings exactly as given, and the report verifies.
    let (ok, msg) = verify(home, &r.json);
    assert!(ok, "{msg}");
    let json_text = std::fs::read_to_string(&r.json).expect("json");
    let data: Value = serde_json::from_str(&json_text).expect("json");
    assert_eq!(data["model"]["description"], description.as_str());
    let v2 = data["versions"].as_array().expect("versions").iter().find(|v| v["version"] == 2).expect("v2");
    assert_eq!(v2["description"], description.as_str());
    assert_eq!(data["model"]["tags"]["model_formula"], FORMULA);
    assert_eq!(v2["tags"]["formula"], FORMULA);
    assert_eq!(v2["tags"]["rlo"], RLO);
    assert_eq!(v2["tags"]["long"].as_str().map(str::len), Some(long.len()));
    let keys: Vec<&str> = data["fairness"]["sections"][0]["groups"].as_array().expect("groups").iter().filter_map(|g| g["key"].as_str()).collect();
    for g in &groups {
        assert!(keys.contains(&g.as_str()), "group {g:?} not round-tripped: {keys:?}");
    }
    assert_eq!(data["timeline"][0]["reason"], FORMULA);

    // HTML: no tag comes from the data.
    let html = std::fs::read_to_string(&r.html).expect("html");
    for t in tags(&html) {
        assert!(!t.contains("script") && !t.starts_with("<img") && !t.contains("onerror"), "injected markup: {t}");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the script text is shown escaped");
    assert!(!html.contains('\u{202E}') && html.contains("&lt;U+202E&gt;"), "the RLO is shown, not obeyed");
    assert!(html.len() < json_text.len(), "the 100 KB strings are cut in HTML");
    assert!(html.contains("more characters; full text in the JSON report"));
    assert!(external_refs(&html).is_empty(), "{:?}", external_refs(&html));
    let png = screenshot(&r.html, &home.join("hostile.png"));
    assert!(distinct_colours(&png) > 20);

    // CSV: formulas neutralised everywhere.
    let files = csv_files(&r.csv);
    let mut saw_formula = false;
    for (name, text) in &files {
        for row in csv_rows(text) {
            for c in row {
                assert!(!c.starts_with(['=', '+', '-', '@', '\t', '\r']), "{name}: {c:?} would run as a formula");
                saw_formula |= c.starts_with("'=HYPERLINK(");
                assert!(!c.contains('\u{202E}'), "{name}: raw RLO");
            }
        }
    }
    assert!(saw_formula, "the HYPERLINK cell is present, prefixed");

    // PDF: renders; the strings are there as plain text.
    let text = pdf_text(&r.pdf);
    assert!(text.contains("<script>alert(1)</script>"), "the script is drawn as text");
    assert!(text.contains("=HYPERLINK"), "the formula is drawn as text");
    assert!(text.contains("<U+202E>") && !text.contains('\u{202E}'));
    assert!(text.contains("more characters"), "the long string is cut with a note");

    // Secrets: nowhere.
    let mut everything = vec![json_text.clone(), html.clone(), text.clone(), String::from_utf8_lossy(&std::fs::read(&r.pdf).expect("pdf")).into_owned()];
    everything.extend(files.into_iter().map(|(_, t)| t));
    for s in &everything {
        assert!(!s.contains(TOKEN), "the token leaked into a report");
    }
}

/// The fonts embedded in a PDF, by name (poppler's pdffonts).
fn pdf_fonts(pdf: &std::path::Path) -> String {
    let o = std::process::Command::new("pdffonts").arg(pdf).output().expect("pdffonts runs (poppler-utils)");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn names_in_cjk_scripts_are_drawn_with_a_system_font_and_read_back() {
    // scripts/test installs a CJK font (fonts-wqy-microhei); without one this test fails, never skips.
    let fc = std::process::Command::new("fc-list").arg(":lang=zh").output();
    assert!(
        fc.as_ref().is_ok_and(|o| !o.stdout.is_empty()),
        "no CJK font installed: apt-get install -y --no-install-recommends fontconfig fonts-wqy-microhei (scripts/test does)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let model = "收入分类器";
    let o = steward(home, &["registry", "register", model, "--source", "s3://b/m", "--description", "日本語の説明 / 한국어 설명", "--metric", "accuracy=0.81"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pdf = home.join("cjk.pdf");
    let o = steward(home, &["report", model, "--format", "pdf", "--out", &pdf.to_string_lossy()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = pdf_text(&pdf);
    for s in [model, "日本語の説明", "한국어 설명"] {
        assert!(text.contains(s), "the PDF's text lacks {s:?}:\n{text}");
    }
    let fonts = pdf_fonts(&pdf);
    let embedded: Vec<&str> = fonts.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert!(embedded.iter().any(|f| f.contains("DejaVu")), "{fonts}");
    assert!(embedded.iter().any(|f| !f.contains("DejaVu")), "no fallback font embedded for the CJK text: {fonts}");
}
