//! Helpers for the audit-report tests: render every format, read the PDF's text back, screenshot the
//! HTML in headless Chromium, and flip bytes of a JSON report.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{stderr, stdout, steward_env};

pub const FORMATS: [&str; 4] = ["json", "html", "pdf", "csv"];

pub struct Rendered {
    pub json: PathBuf,
    pub html: PathBuf,
    pub pdf: PathBuf,
    pub csv: PathBuf,
}

/// Runs `steward report MODEL --format F --out DIR/report.F` for every format, with `extra` arguments
/// (global flags go first in `global`).
pub fn render_all(home: &Path, global: &[&str], model: &str, extra: &[&str], env: &[(&str, &str)]) -> Rendered {
    let out = home.join("reports");
    let path = |f: &str| out.join(format!("report.{f}"));
    for f in FORMATS {
        let p = path(f);
        let mut args: Vec<&str> = global.to_vec();
        let p_str = p.to_string_lossy().into_owned();
        args.extend(["report", model, "--format", f, "--out", &p_str]);
        args.extend(extra);
        let o = steward_env(home, &args, env);
        assert!(o.status.success(), "steward report --format {f} failed: {}\n{}", stderr(&o), stdout(&o));
    }
    Rendered { json: path("json"), html: path("html"), pdf: path("pdf"), csv: path("csv") }
}

fn need(tool: &str, package: &str) {
    let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is missing: apt-get install -y --no-install-recommends {package} (scripts/test installs it when run as root)");
}

/// The PDF's text, extracted by poppler's pdftotext (reading order, no layout).
pub fn pdf_text(pdf: &Path) -> String {
    need("pdftotext", "poppler-utils");
    let o = Command::new("pdftotext").arg("-enc").arg("UTF-8").arg(pdf).arg("-").output().expect("pdftotext runs");
    assert!(o.status.success(), "pdftotext failed on {}: {}", pdf.display(), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The PDF's page count (pdfinfo).
pub fn pdf_pages(pdf: &Path) -> usize {
    need("pdfinfo", "poppler-utils");
    let o = Command::new("pdfinfo").arg(pdf).output().expect("pdfinfo runs");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|n| n.trim().parse().unwrap_or(0)))
        .unwrap_or_else(|| panic!("pdfinfo found no pages: {text}"))
}

/// Loads the HTML file in headless Chromium and writes a screenshot; returns the PNG path.
pub fn screenshot(html: &Path, png: &Path) -> PathBuf {
    need("chromium", "chromium");
    let profile = tempfile::tempdir().expect("tempdir");
    let o = Command::new("chromium")
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,2000")
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs");
    assert!(png.exists(), "chromium wrote no screenshot: {}", String::from_utf8_lossy(&o.stderr));
    png.to_path_buf()
}

/// Number of distinct colours in a PNG (a blank page has one).
pub fn distinct_colours(png: &Path) -> usize {
    let img = image::open(png).expect("a PNG").to_rgb8();
    let mut set = std::collections::HashSet::new();
    for p in img.pixels() {
        set.insert(p.0);
    }
    set.len()
}

/// Fraction of pixels that are not (near) white.
pub fn inked(png: &Path) -> f64 {
    let img = image::open(png).expect("a PNG").to_rgb8();
    let n = img.pixels().filter(|p| p.0.iter().any(|c| *c < 200)).count();
    n as f64 / (img.width() as f64 * img.height() as f64)
}

/// `steward report verify FILE` as (success, stdout + stderr).
pub fn verify(home: &Path, file: &Path) -> (bool, String) {
    let o = steward_env(home, &["report", "verify", &file.to_string_lossy()], &[]);
    (o.status.success(), format!("{}{}", stdout(&o), stderr(&o)))
}

/// All CSV files of a CSV report (sorted), read whole.
pub fn csv_files(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("the CSV folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .map(|p| (p.file_name().unwrap_or_default().to_string_lossy().into_owned(), std::fs::read_to_string(&p).expect("utf-8 CSV")))
        .collect();
    out.sort();
    out
}

/// Splits one CSV record line-aware (RFC 4180 quotes), enough to read back our own files.
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cell.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut cell)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// Every `src=`/`href=` value that points outside the file.
pub fn external_refs(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    for attr in ["src=", "href=", "url("] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(attr) {
            let at = from + i + attr.len();
            let v: String = lower[at..].chars().take(40).collect();
            if v.trim_start_matches(['"', '\'']).starts_with("http") || v.trim_start_matches(['"', '\'']).starts_with("//") {
                out.push(v);
            }
            from = at;
        }
    }
    out
}
