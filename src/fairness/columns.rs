//! The column names of a log, read from its header (CSV), its first object (JSON Lines) or its schema
//! (Parquet), so that the window can offer a column mapping before anything is counted.

use std::io::Read;
use std::path::Path;

use super::csv_record::{Bounds, parse_quoted};
use super::source::{self, Input};
use super::{FairnessError, Format, Progress};

/// At most this much is read to find the header or the first object.
const HEAD_LIMIT: usize = 4 << 20;

pub fn columns(path: &Path) -> Result<(Vec<String>, Format), FairnessError> {
    let file = path.display().to_string();
    let progress = Progress::new();
    let (format, input) = source::open(path, &file, &progress)?;
    let names = match input {
        Input::Parquet(f) => {
            let meta = parquet::arrow::arrow_reader::ArrowReaderMetadata::load(
                &f,
                parquet::arrow::arrow_reader::ArrowReaderOptions::new(),
            )
            .map_err(|e| FairnessError::io(&file, format!("not a readable Parquet file: {e}")))?;
            meta.schema().fields().iter().map(|f| f.name().clone()).collect()
        }
        Input::Stream(reader) => {
            let head = first_line(reader, &file)?;
            match format {
                Format::JsonLines(_) => {
                    let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&head)
                        .map_err(|e| FairnessError::input(&file, Some(super::Location::Line(1)), None, format!("not a JSON object: {e}")))?;
                    obj.keys().cloned().collect()
                }
                _ => {
                    let (mut text, mut bounds): (Vec<u8>, Bounds) = (Vec::new(), Vec::new());
                    let q = parse_quoted(&head, 0, &mut text, &mut bounds);
                    if q.unterminated {
                        return Err(FairnessError::input(&file, Some(super::Location::Line(1)), None, "the header has an unclosed quote"));
                    }
                    bounds
                        .iter()
                        .map(|&(a, b)| String::from_utf8_lossy(&text[a as usize..b as usize]).trim().to_string())
                        .collect()
                }
            }
        }
    };
    let names: Vec<String> = names;
    if names.iter().all(|n| n.is_empty()) {
        return Err(FairnessError::input(&file, None, None, "no column names found"));
    }
    Ok((names, format))
}

/// The first non-blank line (for CSV the header may hold quoted newlines: those are kept).
fn first_line(mut reader: Box<dyn Read + Send + '_>, file: &str) -> Result<Vec<u8>, FairnessError> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let skip = if buf.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        let start = buf.iter().skip(skip).position(|b: &u8| !b.is_ascii_whitespace()).map(|i| i + skip);
        if let Some(s) = start {
            // An even number of quotes before a newline means the record ends there.
            let mut quotes = 0usize;
            for (i, &b) in buf[s..].iter().enumerate() {
                match b {
                    b'"' => quotes += 1,
                    b'\n' if quotes % 2 == 0 => return Ok(buf[s..s + i + 1].to_vec()),
                    _ => {}
                }
            }
        }
        if buf.len() > HEAD_LIMIT {
            return Err(FairnessError::input(file, Some(super::Location::Line(1)), None, "the first line is longer than 4 MB"));
        }
        let n = reader.read(&mut chunk).map_err(|e| FairnessError::io(file, format!("cannot read: {e}")))?;
        if n == 0 {
            return match start {
                Some(s) => Ok(buf[s..].to_vec()),
                None => Err(FairnessError::input(file, None, None, "empty file (no header line)")),
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        (d, p)
    }

    #[test]
    fn csv_header_with_quotes_and_bom() {
        let (_d, p) = write("a.csv", b"\xEF\xBB\xBF\n\"sex\",\"a,b\",label\n1,2,3\n");
        let (cols, _) = columns(&p).expect("columns");
        assert_eq!(cols, ["sex", "a,b", "label"]);
    }

    #[test]
    fn jsonl_first_object_keys() {
        let (_d, p) = write("a.jsonl", b"{\"sex\":\"F\",\"label\":1}\n{\"x\":2}\n");
        let (cols, _) = columns(&p).expect("columns");
        assert_eq!(cols, ["label", "sex"]);
    }

    #[test]
    fn empty_and_blank_files_are_errors() {
        let (_d, p) = write("a.csv", b"");
        assert!(columns(&p).unwrap_err().to_string().contains("0 bytes"));
        let (_d2, p2) = write("b.csv", b"\n\n  \n");
        assert!(columns(&p2).unwrap_err().to_string().contains("no header"));
    }
}
