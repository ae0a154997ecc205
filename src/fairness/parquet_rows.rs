//! A Parquet log read row by row as text cells (for monitoring): every column of a supported type
//! (strings, numbers, booleans, dates and timestamps, dictionaries of those) in schema order, each cell
//! spelled as [`Field::text`] spells it for CSV and JSON Lines (floats `1.0`, booleans `true`/`false`,
//! timestamps as epoch seconds); null and NaN are empty cells (missing). Columns of other types (lists,
//! structs) are not read and are named by [`ParquetRows::left_out`].
//!
//! Memory: one record batch of [`BATCH`] rows at a time.

use std::sync::atomic::Ordering;

use arrow_array::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::Progress;
use super::error::{FairnessError, Location};
use super::parquet::{Col, row_group_starts, supported};
use super::source::ParquetFile;

/// Rows per batch.
pub const BATCH: usize = 8 * 1024;

/// An open Parquet log and its cursor.
pub struct ParquetRows<'p> {
    file: String,
    header: Vec<String>,
    left_out: Vec<String>,
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    pos: usize,
    row: u64,
    total_rows: u64,
    /// First row (0-based) of each row group (over all the files read so far).
    starts: Vec<u64>,
    /// A prefix's objects still to read, in order.
    rest: std::collections::VecDeque<ParquetFile>,
    progress: &'p Progress,
}

/// One file opened: (header, left out, reader, first rows of its row groups, its rows).
type Opened = (Vec<String>, Vec<String>, ParquetRecordBatchReader, Vec<u64>, u64);

impl<'p> ParquetRows<'p> {
    /// Reads the (first) footer and prepares to read every supported column; a prefix's further
    /// files are opened when their turn comes and must have the same readable columns.
    pub(crate) fn open(files: Vec<ParquetFile>, file: &str, progress: &'p Progress) -> Result<ParquetRows<'p>, FairnessError> {
        super::guard::parquet(file, || {
            let mut rest: std::collections::VecDeque<ParquetFile> = files.into();
            let Some(first) = rest.pop_front() else { return Err(FairnessError::io(file, "no Parquet object")) };
            let (header, left_out, reader, starts, total_rows) = Self::open_one(first, file, !rest.is_empty())?;
            Ok(ParquetRows { file: file.to_string(), header, left_out, reader, batch: None, pos: 0, row: 0, total_rows, starts, rest, progress })
        })
    }

    fn open_one(mut f: ParquetFile, file: &str, multi: bool) -> Result<Opened, FairnessError> {
        // In a prefix, messages name the object.
        let name = multi.then(|| f.name());
        let named = |m: String| match &name {
            Some(n) => format!("{n}: {m}"),
            None => m,
        };
        let meta = ArrowReaderMetadata::load(&f, ArrowReaderOptions::new())
            .map_err(|e| FairnessError::io(file, named(format!("not a readable Parquet file: {e}"))))?;
        let schema = meta.schema().clone();
        let (mut roots, mut header, mut left_out) = (Vec::new(), Vec::new(), Vec::new());
        for (i, field) in schema.fields().iter().enumerate() {
            if supported(field.data_type()) {
                roots.push(i);
                header.push(field.name().clone());
            } else {
                left_out.push(format!("{} ({})", field.name(), field.data_type()));
            }
        }
        let (starts, total_rows) = row_group_starts(&meta);
        let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
        f.bound(&meta, &mask);
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta)
            .with_projection(mask)
            .with_batch_size(BATCH)
            .build()
            .map_err(|e| FairnessError::io(file, named(format!("not a readable Parquet file: {e}"))))?;
        Ok((header, left_out, reader, starts, total_rows))
    }

    /// Moves on to the prefix's next file; false when there is none.
    fn next_file(&mut self) -> Result<bool, FairnessError> {
        let Some(f) = self.rest.pop_front() else { return Ok(false) };
        let name = f.name();
        let (header, _, reader, starts, rows) = Self::open_one(f, &self.file, true)?;
        if header != self.header {
            return Err(FairnessError::io(&self.file, format!("{name}: its columns ({}) differ from the first object's ({})", header.join(", "), self.header.join(", "))));
        }
        // Rows of the files before this one.
        let before = self.total_rows;
        self.starts.extend(starts.into_iter().map(|s| s + before));
        self.total_rows = before + rows;
        self.reader = reader;
        self.batch = None;
        Ok(true)
    }

    /// The columns read, in schema order.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Columns not read, with their types (nested types).
    pub fn left_out(&self) -> &[String] {
        &self.left_out
    }

    /// Where the row last read is (or the next one, before the first).
    pub fn location(&self) -> Location {
        let row = self.row.max(1);
        Location::RowGroup { index: self.starts.partition_point(|s| *s < row).saturating_sub(1), row }
    }

    /// Reads the next row into `out` (one cell per header column); false at the end.
    pub fn next_into(&mut self, out: &mut Vec<String>) -> Result<bool, FairnessError> {
        let file = self.file.clone();
        super::guard::parquet(&file, || self.next_unguarded(out))
    }

    fn next_unguarded(&mut self, out: &mut Vec<String>) -> Result<bool, FairnessError> {
        out.clear();
        while self.batch.as_ref().is_none_or(|b| self.pos >= b.num_rows()) {
            match self.reader.next() {
                None if self.next_file()? => continue,
                None => {
                    self.progress.bytes_read.store(self.progress.total_bytes.load(Ordering::Relaxed), Ordering::Relaxed);
                    return Ok(false);
                }
                Some(Err(e)) => {
                    self.row += 1;
                    return Err(FairnessError::input(&self.file, Some(self.location()), None, format!("cannot read: {e}")));
                }
                Some(Ok(b)) => {
                    self.batch = Some(b);
                    self.pos = 0;
                    if self.total_rows > 0 {
                        let share = self.row as f64 / self.total_rows as f64;
                        self.progress.bytes_read.store((share * self.progress.total_bytes.load(Ordering::Relaxed) as f64) as u64, Ordering::Relaxed);
                    }
                }
            }
        }
        let Some(b) = &self.batch else { return Ok(false) };
        let mut buf = [0u8; 48];
        for a in b.columns() {
            let cell = match Col::new(a.as_ref()) {
                Some(c) => {
                    let f = c.get(self.pos);
                    if f.is_missing() { String::new() } else { String::from_utf8_lossy(f.text(&mut buf)).into_owned() }
                }
                None => String::new(),
            };
            out.push(cell);
        }
        self.pos += 1;
        self.row += 1;
        Ok(true)
    }
}
