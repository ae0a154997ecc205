//! CSV: a folder with one RFC 4180 file per table (UTF-8, header row, CRLF line ends). Cells that a
//! spreadsheet would read as a formula (starting with = + - @, tab or CR) are prefixed with `'`;
//! invisible and direction-changing characters are shown as `<U+XXXX>`.

use std::path::{Path, PathBuf};

use super::document::{Block, blocks};
use super::text::visible;
use super::{ReportData, ReportError};

/// Makes a cell inert in spreadsheets and quotes it when needed (`domain::csv_cell`), after showing
/// invisible characters.
pub fn cell(raw: &str) -> String {
    // A formula prefix hidden behind an invisible character is still a formula prefix: judge the raw text.
    let v = visible(raw);
    if crate::domain::is_formula(raw) && !crate::domain::is_formula(&v) {
        return crate::domain::csv_cell(&format!("'{v}"));
    }
    crate::domain::csv_cell(&v)
}

fn file(header: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for r in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Writes `out/<table>.csv` for every table and named fact list; returns the files in report order.
pub fn write_dir(d: &ReportData, out: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(out).map_err(|e| ReportError::io(out, e))?;
    let mut written = Vec::new();
    for b in blocks(d) {
        let (name, text) = match b {
            Block::Table(t) => (t.name.clone(), file(&t.columns, &t.rows)),
            Block::Facts { name: Some(n), rows } => {
                let mut rows: Vec<Vec<String>> = rows.into_iter().map(|(k, v)| vec![k, v]).collect();
                // HTML and PDF give the description as a paragraph, which has no table; CSV keeps it here.
                if n == "model" {
                    rows.insert(1, vec!["Description".into(), d.model.description.clone()]);
                }
                (n.to_string(), file(&["field".into(), "value".into()], &rows))
            }
            _ => continue,
        };
        let path = out.join(format!("{name}.csv"));
        written.extend(super::write_file(&path, text.as_bytes())?);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quotes_doubled() {
        assert_eq!(cell("=HYPERLINK(\"http://evil\",\"x\")"), "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-0.5"), "'-0.5");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "' x");
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a\u{202E}b"), "a<U+202E>b");
    }
}
