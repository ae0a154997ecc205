//! The column names of a log, read from its header (CSV), its first object (JSON Lines) or its schema
//! (Parquet), so that the window can offer a column mapping before anything is counted.

use std::io::Read;
use std::path::Path;

use super::source::{self, Input};
use super::{FairnessError, Format, Progress};

/// At most this much is read to find the header or the first object.
const HEAD_LIMIT: usize = 4 << 20;

pub fn columns(path: &Path) -> Result<(Vec<String>, Format), FairnessError> {
    let file = path.display().to_string();
    let progress = Progress::new();
    let (format, input) = source::open(path, &file, &progress)?;
    let names: Vec<String> = match input {
        Input::Parquet(f) => {
            let meta = parquet::arrow::arrow_reader::ArrowReaderMetadata::load(
                &f,
                parquet::arrow::arrow_reader::ArrowReaderOptions::new(),
            )
            .map_err(|e| FairnessError::io(&file, format!("not a readable Parquet file: {e}")))?;
            meta.schema().fields().iter().map(|f| f.name().clone()).collect()
        }
        Input::Stream(mut reader) => match format {
            Format::JsonLines(_) => {
                let head = first_line(reader, &file)?;
                let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&head)
                    .map_err(|e| FairnessError::input(&file, Some(super::Location::Line(1)), None, format!("not a JSON object: {e}")))?;
                obj.keys().cloned().collect()
            }
            _ => super::csv::read_header(&mut reader, &file)?.names,
        },
    };
    if names.iter().all(|n| n.is_empty()) {
        return Err(FairnessError::input(&file, None, None, "no header (the first line has no column names)"));
    }
    Ok((names, format))
}

/// The first non-blank line of a JSON Lines stream (a JSON value holds no raw newline), without a
/// UTF-8 byte-order mark at the start of the file.
fn first_line(reader: Box<dyn Read + Send + '_>, file: &str) -> Result<Vec<u8>, FairnessError> {
    let mut lines = std::io::BufReader::new(reader.take(HEAD_LIMIT as u64 + 1));
    let mut first = true;
    loop {
        let mut line = Vec::new();
        let n = std::io::BufRead::read_until(&mut lines, b'\n', &mut line).map_err(|e| FairnessError::io(file, format!("cannot read: {e}")))?;
        if n == 0 {
            return Err(FairnessError::input(file, None, None, "empty file (no first object)"));
        }
        if std::mem::take(&mut first) && line.starts_with(super::source::BOM) {
            line.drain(..super::source::BOM.len());
        }
        if line.len() > HEAD_LIMIT {
            return Err(FairnessError::input(file, Some(super::Location::Line(1)), None, "the first line is longer than 4 MB"));
        }
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            return Ok(line);
        }
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
        // An escaped quote inside a value does not hide the end of the line.
        let (_d, p) = write("a.jsonl", b"\n{\"sex\":\"F \\\" x\",\"label\":1}\n{\"x\":2}\n");
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
