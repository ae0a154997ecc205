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
    /// First row (0-based) of each row group.
    starts: Vec<u64>,
    progress: &'p Progress,
}

impl<'p> ParquetRows<'p> {
    /// Reads the footer and prepares to read every supported column.
    pub(crate) fn open(f: ParquetFile, file: &str, progress: &'p Progress) -> Result<ParquetRows<'p>, FairnessError> {
        super::guard::parquet(file, || Self::open_unguarded(f, file, progress))
    }

    fn open_unguarded(mut f: ParquetFile, file: &str, progress: &'p Progress) -> Result<ParquetRows<'p>, FairnessError> {
        let meta = ArrowReaderMetadata::load(&f, ArrowReaderOptions::new())
            .map_err(|e| FairnessError::io(file, format!("not a readable Parquet file: {e}")))?;
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
            .map_err(|e| FairnessError::io(file, format!("not a readable Parquet file: {e}")))?;
        Ok(ParquetRows { file: file.to_string(), header, left_out, reader, batch: None, pos: 0, row: 0, total_rows, starts, progress })
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
