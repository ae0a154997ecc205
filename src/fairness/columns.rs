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
        Input::Parquet(files) => {
            let Some(f) = files.first() else { return Err(FairnessError::io(&file, "no Parquet object")) };
            let meta = super::guard::parquet(&file, || {
                parquet::arrow::arrow_reader::ArrowReaderMetadata::load(f, parquet::arrow::arrow_reader::ArrowReaderOptions::new())
                    .map_err(|e| FairnessError::io(&file, format!("not a readable Parquet file: {e}")))
            })?;
            meta.schema().fields().iter().map(|f| f.name().clone()).collect()
        }
        Input::Stream(mut reader) => match format {
            Format::JsonLines(_) => {
                let head = first_line(reader, &file)?;
                let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&head)
                    .map_err(|e| FairnessError::input(&file, Some(super::Location::Line(1)), None, format!("not a JSON object: {e}")))?;
                obj.keys().cloned().collect()
            }
            _ => addressable(&super::csv::read_header(&mut reader, &file, super::Encoding::Utf8)?.names),
        },
    };
    if names.iter().all(|n| n.is_empty()) {
        return Err(FairnessError::input(&file, None, None, "no header (the first line has no column names)"));
    }
    Ok((names, format))
}

/// Header names as they can be asked for: a name that appears more than once becomes `name#1`,
/// `name#2`, ... in header order (see [`resolve`]); the others stay as they are.
pub(crate) fn addressable(names: &[String]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let total = names.iter().filter(|m| *m == n).count();
            if total > 1 {
                format!("{n}#{}", names[..i].iter().filter(|m| *m == n).count() + 1)
            } else {
                n.clone()
            }
        })
        .collect()
}

/// The index of the column asked for as `col` in a header that may repeat names. A name that appears
/// once is found as written; a repeated one must be asked for as `name#k` (the k-th, counted from 1 in
/// header order), and asking for it by the bare name is an error that says so. Only the columns asked
/// for matter: a repeated name nobody uses is fine (pandas and polars read such files too).
pub(crate) fn resolve(names: &[String], col: &str) -> Result<usize, String> {
    let found: Vec<usize> = names.iter().enumerate().filter(|(_, n)| *n == col).map(|(i, _)| i).collect();
    match found.as_slice() {
        [i] => return Ok(*i),
        [] => {}
        many => {
            let how: Vec<String> = (1..=many.len()).map(|k| format!("'{col}#{k}'")).collect();
            return Err(format!(
                "appears {} times in the header (columns {}); ask for one as {}",
                many.len(),
                many.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(", "),
                how.join(" or ")
            ));
        }
    }
    if let Some((base, k)) = col.rsplit_once('#')
        && let Ok(k) = k.parse::<usize>()
    {
        let same: Vec<usize> = names.iter().enumerate().filter(|(_, n)| *n == base).map(|(i, _)| i).collect();
        if same.len() > 1 && k >= 1 && k <= same.len() {
            return Ok(same[k - 1]);
        }
    }
    Err(format!("not in the header (columns: {})", addressable(names).join(", ")))
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
    fn repeated_names_are_addressed_by_position() {
        let names: Vec<String> = ["id", "score", "group", "score"].iter().map(|s| s.to_string()).collect();
        assert_eq!(addressable(&names), ["id", "score#1", "group", "score#2"]);
        assert_eq!(resolve(&names, "group"), Ok(2));
        assert_eq!(resolve(&names, "score#2"), Ok(3));
        assert_eq!(resolve(&names, "score#1"), Ok(1));
        let e = resolve(&names, "score").unwrap_err();
        assert!(e.contains("appears 2 times") && e.contains("'score#2'"), "{e}");
        assert!(resolve(&names, "score#3").is_err());
        assert!(resolve(&names, "group#1").is_err());
    }

    #[test]
    fn empty_and_blank_files_are_errors() {
        let (_d, p) = write("a.csv", b"");
        assert!(columns(&p).unwrap_err().to_string().contains("0 bytes"));
        let (_d2, p2) = write("b.csv", b"\n\n  \n");
        assert!(columns(&p2).unwrap_err().to_string().contains("no header"));
    }
}
