//! Reading a log row by row as text cells, for monitoring: CSV (the `csv` crate, RFC 4180 with bare
//! quotes read literally, as pandas does) and JSON Lines, plain, gzip or zstd (opened by the fairness
//! engine's `open`, which also reports progress). A JSON Lines file's columns are the keys of its first
//! object; a key missing from a later object is a missing value. Parquet: every column of a plain type,
//! one record batch at a time (`fairness::parquet_rows`), cells spelled as in CSV (floats `1.0`,
//! booleans `true`/`false`, timestamps as epoch seconds; null and NaN empty, so missing).
//!
//! Memory: one row at a time, plus the csv crate's buffer or one Parquet batch; a record longer than
//! [`crate::fairness::max_record_bytes`] (16 MiB unless `STEWARD_MAX_RECORD_MIB` says) is an error
//! naming its line.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::fairness::parquet_rows::ParquetRows;
use crate::fairness::{FairnessError, Format, Input, Location, Progress, open};


/// Cells pandas reads as missing by default (`na_values`); an empty cell too.
pub const MISSING: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None",
    "n/a", "nan", "null",
];

/// Is this cell a missing value (pandas' default list)?
pub fn is_missing(cell: &str) -> bool {
    // Most cells are longer than 8 bytes or start with a digit other than 1: no list scan for them.
    match cell.as_bytes().first() {
        None => true,
        Some(b) if cell.len() > 8 || (b.is_ascii_digit() && *b != b'1') => false,
        _ => MISSING.contains(&cell),
    }
}

enum Inner<'p> {
    Csv(csv::Reader<Box<dyn Read + Send + 'p>>, csv::StringRecord),
    Jsonl(BufReader<Box<dyn Read + Send + 'p>>, String),
    Parquet(ParquetRows<'p>),
}

/// An open log: its header and a cursor.
pub struct Rows<'p> {
    file: String,
    header: Vec<String>,
    inner: Inner<'p>,
    /// 1-based line of the record last read (CSV: where it starts).
    line: u64,
    /// `fairness::max_record_bytes()`, read once (it reads the environment).
    max_record: usize,
}

impl<'p> Rows<'p> {
    /// Opens a CSV or JSON Lines log (compressed or not) or a Parquet log, and reads its header.
    pub fn open(path: &Path, progress: &'p Progress) -> Result<Rows<'p>, FairnessError> {
        let file = path.display().to_string();
        let (format, input) = open(path, &file, progress)?;
        Rows::from_opened(file, format, input, progress)
    }

    /// A log already opened by `fairness::open`: reads its header.
    pub(crate) fn from_opened(file: String, format: Format, input: Input<'p>, progress: &'p Progress) -> Result<Rows<'p>, FairnessError> {
        let stream = match input {
            Input::Stream(s) => s,
            Input::Parquet(f) => {
                let p = ParquetRows::open(f, &file, progress)?;
                return Ok(Rows { file, header: p.header().to_vec(), inner: Inner::Parquet(p), line: 0, max_record: crate::fairness::max_record_bytes() });
            }
        };
        if let Format::JsonLines(_) = format {
            let mut rows = Rows { file, header: Vec::new(), inner: Inner::Jsonl(BufReader::new(stream), String::new()), line: 0, max_record: crate::fairness::max_record_bytes() };
            rows.peek_json_header()?;
            return Ok(rows);
        }
        let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(stream);
        let header: Vec<String> = r
            .headers()
            .map_err(|e| FairnessError::input(&file, Some(Location::Line(1)), None, format!("cannot read the header: {e}")))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_string())
            .collect();
        Ok(Rows { file, header, inner: Inner::Csv(r, csv::StringRecord::new()), line: 1, max_record: crate::fairness::max_record_bytes() })
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    /// Where the record last read is: its line (1-based; the header is line 1 in CSV), or for Parquet
    /// its row group and row.
    pub fn location(&self) -> Location {
        match &self.inner {
            Inner::Parquet(p) => p.location(),
            _ => Location::Line(self.line),
        }
    }

    /// Reads the next record into `out` (one cell per header column, in order); false at the end.
    pub fn next_into(&mut self, out: &mut Vec<String>) -> Result<bool, FairnessError> {
        if !matches!(self.inner, Inner::Csv(..)) {
            out.clear();
        }
        match &mut self.inner {
            Inner::Csv(r, rec) => {
                let ok = r.read_record(rec).map_err(|e| {
                    let line = e.position().map(|p| p.line()).unwrap_or(self.line + 1);
                    FairnessError::input(&self.file, Some(Location::Line(line)), None, csv_message(&e))
                })?;
                if !ok {
                    return Ok(false);
                }
                self.line = rec.position().map(|p| p.line()).unwrap_or(self.line + 1);
                let max = self.max_record;
                if rec.as_slice().len() > max {
                    return Err(FairnessError::input(&self.file, Some(Location::Line(self.line)), None, format!("record longer than {} MiB", max >> 20)));
                }
                // The cells' Strings are reused from row to row (no allocation per cell once warm).
                out.truncate(rec.len());
                for (i, field) in rec.iter().enumerate() {
                    match out.get_mut(i) {
                        Some(cell) => {
                            cell.clear();
                            cell.push_str(field);
                        }
                        None => out.push(field.to_string()),
                    }
                }
                Ok(true)
            }
            Inner::Parquet(p) => p.next_into(out),
            Inner::Jsonl(r, buf) => loop {
                if buf.is_empty() {
                    let n = read_line(r, buf, &self.file, self.line + 1, self.max_record)?;
                    if n == 0 {
                        return Ok(false);
                    }
                    self.line += 1;
                }
                let text = std::mem::take(buf);
                let t = text.trim();
                if t.is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(t)
                    .map_err(|e| FairnessError::input(&self.file, Some(Location::Line(self.line)), None, format!("not a JSON object: {e}")))?;
                let Some(obj) = v.as_object() else {
                    return Err(FairnessError::input(&self.file, Some(Location::Line(self.line)), None, "not a JSON object"));
                };
                out.extend(self.header.iter().map(|k| match obj.get(k) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                }));
                return Ok(true);
            },
        }
    }

    /// JSON Lines: the keys of the first object are the columns; the object stays to be read.
    fn peek_json_header(&mut self) -> Result<(), FairnessError> {
        let Inner::Jsonl(r, buf) = &mut self.inner else { return Ok(()) };
        loop {
            buf.clear();
            if read_line(r, buf, &self.file, self.line + 1, self.max_record)? == 0 {
                return Err(FairnessError::input(&self.file, None, None, "no JSON object in the file"));
            }
            self.line += 1;
            if buf.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(buf.trim())
                .map_err(|e| FairnessError::input(&self.file, Some(Location::Line(self.line)), None, format!("not a JSON object: {e}")))?;
            let Some(obj) = v.as_object() else {
                return Err(FairnessError::input(&self.file, Some(Location::Line(self.line)), None, "not a JSON object"));
            };
            self.header = obj.keys().cloned().collect();
            // Keep the object in `buf` for next_into; it re-parses it and does not count the line twice.
            self.line -= 1;
            return Ok(());
        }
    }

    /// Index of a column by name, or a usage error listing the columns.
    pub fn index(&self, column: &str) -> Result<usize, FairnessError> {
        self.header.iter().position(|h| h == column).ok_or_else(|| {
            let left_out = match &self.inner {
                Inner::Parquet(p) if !p.left_out().is_empty() => format!("; not read (nested types): {}", p.left_out().join(", ")),
                _ => String::new(),
            };
            FairnessError::input(&self.file, None, Some(column), format!("no such column; the file has: {}{left_out}", self.header.join(", ")))
        })
    }
}

fn read_line(r: &mut impl BufRead, buf: &mut String, file: &str, line: u64, max: usize) -> Result<usize, FairnessError> {
    let mut bytes = Vec::new();
    let n = r.take(max as u64 + 1).read_until(b'\n', &mut bytes).map_err(|e| FairnessError::io(file, format!("cannot read: {e}")))?;
    if n > max {
        return Err(FairnessError::input(file, Some(Location::Line(line)), None, format!("line longer than {} MiB", max >> 20)));
    }
    *buf = String::from_utf8(bytes).map_err(|_| FairnessError::input(file, Some(Location::Line(line)), None, "not UTF-8 text"))?;
    Ok(n)
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!("{len} fields, the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
        _ => e.to_string(),
    }
}
