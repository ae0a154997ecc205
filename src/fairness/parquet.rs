//! Parquet logs: only the mapped columns are decoded (projection), row groups are shared out to two
//! threads, and each batch is read column-wise through typed slices (no per-row allocation).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, BooleanArray, GenericStringArray, RecordBatch, StringViewArray};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

use super::counts::{Counts, merge};
use super::error::{FairnessError, Location};
use super::plan::Plan;
use super::tally::{Partial, Pos, Row, Tally};
use super::values::Field;
use super::Progress;
use super::source::ParquetFile;

const BATCH: usize = 64 * 1024;
const THREADS: usize = 2;

enum Kind<'a> {
    Utf8(&'a GenericStringArray<i32>),
    LargeUtf8(&'a GenericStringArray<i64>),
    View(&'a StringViewArray),
    I64(&'a [i64]),
    I32(&'a [i32]),
    I16(&'a [i16]),
    I8(&'a [i8]),
    U64(&'a [u64]),
    U32(&'a [u32]),
    U16(&'a [u16]),
    U8(&'a [u8]),
    F64(&'a [f64]),
    F32(&'a [f32]),
    Bool(&'a BooleanArray),
    /// Timestamps and Date64, as seconds: value div_euclid(per second).
    Secs(&'a [i64], i64),
    Date32(&'a [i32]),
    Dict(Box<Col<'a>>, Box<Col<'a>>),
}

/// A column of one batch, read by row.
pub(super) struct Col<'a> {
    kind: Kind<'a>,
    array: &'a dyn Array,
}

/// The first row (0-based) of each row group, and the rows in all.
pub(super) fn row_group_starts(meta: &ArrowReaderMetadata) -> (Vec<u64>, u64) {
    let mut starts = Vec::with_capacity(meta.metadata().row_groups().len());
    let mut total = 0u64;
    for g in meta.metadata().row_groups() {
        starts.push(total);
        total += u64::try_from(g.num_rows()).unwrap_or(0);
    }
    (starts, total)
}

/// Whether a Parquet column type can be read (checked before reading anything).
pub(super) fn supported(t: &DataType) -> bool {
    use DataType::*;
    match t {
        Utf8 | LargeUtf8 | Utf8View | Boolean | Float32 | Float64 | Date32 | Date64 | Timestamp(_, _) => true,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => true,
        Dictionary(k, v) => k.is_integer() && supported(v) && !matches!(**v, Dictionary(_, _)),
        _ => false,
    }
}

impl<'a> Col<'a> {
    pub(super) fn new(a: &'a dyn Array) -> Option<Col<'a>> {
        use DataType as D;
        let kind = match a.data_type() {
            D::Utf8 => Kind::Utf8(a.as_string_opt::<i32>()?),
            D::LargeUtf8 => Kind::LargeUtf8(a.as_string_opt::<i64>()?),
            D::Utf8View => Kind::View(a.as_string_view_opt()?),
            D::Int64 => Kind::I64(a.as_primitive_opt::<Int64Type>()?.values()),
            D::Int32 => Kind::I32(a.as_primitive_opt::<Int32Type>()?.values()),
            D::Int16 => Kind::I16(a.as_primitive_opt::<Int16Type>()?.values()),
            D::Int8 => Kind::I8(a.as_primitive_opt::<Int8Type>()?.values()),
            D::UInt64 => Kind::U64(a.as_primitive_opt::<UInt64Type>()?.values()),
            D::UInt32 => Kind::U32(a.as_primitive_opt::<UInt32Type>()?.values()),
            D::UInt16 => Kind::U16(a.as_primitive_opt::<UInt16Type>()?.values()),
            D::UInt8 => Kind::U8(a.as_primitive_opt::<UInt8Type>()?.values()),
            D::Float64 => Kind::F64(a.as_primitive_opt::<Float64Type>()?.values()),
            D::Float32 => Kind::F32(a.as_primitive_opt::<Float32Type>()?.values()),
            D::Boolean => Kind::Bool(a.as_boolean_opt()?),
            D::Date32 => Kind::Date32(a.as_primitive_opt::<Date32Type>()?.values()),
            D::Date64 => Kind::Secs(a.as_primitive_opt::<Date64Type>()?.values(), 1000),
            D::Timestamp(unit, _) => match unit {
                TimeUnit::Second => Kind::Secs(a.as_primitive_opt::<TimestampSecondType>()?.values(), 1),
                TimeUnit::Millisecond => Kind::Secs(a.as_primitive_opt::<TimestampMillisecondType>()?.values(), 1000),
                TimeUnit::Microsecond => {
                    Kind::Secs(a.as_primitive_opt::<TimestampMicrosecondType>()?.values(), 1_000_000)
                }
                TimeUnit::Nanosecond => {
                    Kind::Secs(a.as_primitive_opt::<TimestampNanosecondType>()?.values(), 1_000_000_000)
                }
            },
            D::Dictionary(_, _) => {
                let d = a.as_any_dictionary_opt()?;
                Kind::Dict(Box::new(Col::new(d.keys())?), Box::new(Col::new(d.values().as_ref())?))
            }
            _ => return None,
        };
        Some(Col { kind, array: a })
    }

    #[inline]
    pub(super) fn get(&self, i: usize) -> Field<'a> {
        if self.array.is_null(i) {
            return Field::Null;
        }
        match &self.kind {
            Kind::Utf8(a) => Field::Text(a.value(i).as_bytes()),
            Kind::LargeUtf8(a) => Field::Text(a.value(i).as_bytes()),
            Kind::View(a) => Field::Text(a.value(i).as_bytes()),
            Kind::I64(v) => Field::Int(v[i]),
            Kind::I32(v) => Field::Int(v[i] as i64),
            Kind::I16(v) => Field::Int(v[i] as i64),
            Kind::I8(v) => Field::Int(v[i] as i64),
            Kind::U64(v) => i64::try_from(v[i]).map(Field::Int).unwrap_or(Field::Float(v[i] as f64)),
            Kind::U32(v) => Field::Int(v[i] as i64),
            Kind::U16(v) => Field::Int(v[i] as i64),
            Kind::U8(v) => Field::Int(v[i] as i64),
            Kind::F64(v) => Field::Float(v[i]),
            Kind::F32(v) => Field::Float(v[i] as f64),
            Kind::Bool(a) => Field::Bool(a.value(i)),
            Kind::Secs(v, per) => Field::Int(v[i].div_euclid(*per)),
            Kind::Date32(v) => Field::Int(v[i] as i64 * 86_400),
            Kind::Dict(keys, values) => match keys.get(i) {
                Field::Int(k) if k >= 0 && (k as usize) < values.array.len() => values.get(k as usize),
                _ => Field::Null,
            },
        }
    }
}

/// Counts one batch; false when reading must stop.
fn batch(b: &RecordBatch, names: &[String], tally: &mut Tally<'_>, rg: u64, first_row: u64) -> Result<bool, String> {
    let mut cols = Vec::with_capacity(names.len());
    for n in names {
        let a = b.column_by_name(n).ok_or_else(|| format!("column '{n}' missing from a batch"))?;
        cols.push(Col::new(a.as_ref()).ok_or_else(|| format!("column '{n}': unreadable type {}", a.data_type()))?);
    }
    let mut row = Row::new();
    for i in 0..b.num_rows() {
        for (cell, c) in row.cells.iter_mut().zip(&cols) {
            *cell = c.get(i);
        }
        if !tally.push(&row, Pos { major: rg, minor: first_row + i as u64 }) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One file's reading plan: the file, its footer, the projection of the plan's columns.
struct Part {
    file: ParquetFile,
    meta: ArrowReaderMetadata,
    mask: ProjectionMask,
}

/// Reads a file's footer and checks that it has the plan's columns, of types that can be read.
fn part(mut f: ParquetFile, plan: &Plan, multi: bool) -> Result<Part, FairnessError> {
    let file = plan.file.as_str();
    let named = |m: String| if multi { format!("{}: {m}", f.name()) } else { m };
    let meta = ArrowReaderMetadata::load(&f, ArrowReaderOptions::new())
        .map_err(|e| FairnessError::io(file, named(format!("not a readable Parquet file: {e}"))))?;
    let schema = meta.schema().clone();
    let mut roots = Vec::new();
    for col in &plan.columns {
        let Some((i, field)) = schema.column_with_name(col) else {
            let all: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(FairnessError::input(file, None, Some(col), named(format!("not in the Parquet schema (columns: {})", all.join(", ")))));
        };
        if !supported(field.data_type()) {
            return Err(FairnessError::input(
                file,
                None,
                Some(col),
                named(format!("Parquet type {} is not supported (use strings, numbers, booleans or timestamps)", field.data_type())),
            ));
        }
        roots.push(i);
    }
    let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
    f.bound(&meta, &mask);
    Ok(Part { file: f, meta, mask })
}

/// Counts a Parquet log: one file, or a prefix's objects read as one log (their row groups in order,
/// numbered over the whole log). Each thread opens the file itself (`ParquetFile::reopen`): clones of
/// one `File` share the read offset, and the Parquet reader seeks; a remote object gets a cache per
/// thread.
pub(crate) fn count(files: Vec<ParquetFile>, plan: &Plan, progress: &Progress) -> Result<Counts, FairnessError> {
    let file = plan.file.as_str();
    let multi = files.len() > 1;
    let parts = files.into_iter().map(|f| part(f, plan, multi)).collect::<Result<Vec<Part>, _>>()?;
    // Every row group of every file, in order: (file, row group, compressed bytes), and first rows.
    let mut units: Vec<(usize, usize, u64)> = Vec::new();
    let mut starts: Vec<u64> = Vec::new();
    let mut total = 0u64;
    for (fi, p) in parts.iter().enumerate() {
        for (ri, g) in p.meta.metadata().row_groups().iter().enumerate() {
            units.push((fi, ri, u64::try_from(g.compressed_size()).unwrap_or(0)));
            starts.push(total);
            total += u64::try_from(g.num_rows()).unwrap_or(0);
        }
    }
    let next = AtomicUsize::new(0);
    let first_error = AtomicU64::new(u64::MAX);
    let io_error: std::sync::Mutex<Option<(usize, String)>> = std::sync::Mutex::new(None);
    let partials: Vec<Option<Partial>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| super::guard::quietly(|| {
                    let mut tally = Tally::new(plan);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= units.len() || progress.cancelled() || i as u64 > first_error.load(Ordering::Relaxed) {
                            break;
                        }
                        let fail = |e: String| {
                            if let Ok(mut g) = io_error.lock()
                                && g.as_ref().is_none_or(|(j, _)| i < *j)
                            {
                                *g = Some((i, e));
                            }
                            first_error.fetch_min(i as u64, Ordering::Relaxed);
                        };
                        let (fi, ri, size) = units[i];
                        let p = &parts[fi];
                        let reader = p.file.reopen().and_then(|fc| fc.prefetch(&p.meta, &p.mask, ri).map(|_| fc)).map_err(|e| e.to_string()).and_then(|fc| {
                            ParquetRecordBatchReaderBuilder::new_with_metadata(fc, p.meta.clone())
                                .with_projection(p.mask.clone())
                                .with_row_groups(vec![ri])
                                .with_batch_size(BATCH)
                                .build()
                                .map_err(|e| e.to_string())
                        });
                        let reader = match reader {
                            Ok(r) => r,
                            Err(e) => {
                                fail(e);
                                break;
                            }
                        };
                        let mut row = 0u64;
                        for b in reader {
                            if progress.cancelled() {
                                break;
                            }
                            let b = match b {
                                Ok(b) => b,
                                Err(e) => {
                                    fail(e.to_string());
                                    break;
                                }
                            };
                            match batch(&b, &plan.columns, &mut tally, i as u64, row) {
                                Ok(true) => {}
                                Ok(false) => {
                                    first_error.fetch_min(i as u64, Ordering::Relaxed);
                                    break;
                                }
                                Err(e) => {
                                    fail(e);
                                    break;
                                }
                            }
                            row += b.num_rows() as u64;
                        }
                        progress.bytes_read.fetch_add(size, Ordering::Relaxed);
                    }
                    tally.finish()
                }))
            })
            .collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    if progress.cancelled() {
        return Err(FairnessError::cancelled(file));
    }
    let partials: Vec<Partial> = partials
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| FairnessError::io(file, "internal error: a reading thread failed"))?;
    let locate = |p: Pos| Location::RowGroup {
        index: p.major as usize,
        row: starts.get(p.major as usize).copied().unwrap_or(0) + p.minor + 1,
    };
    let io = io_error.lock().ok().and_then(|g| g.clone());
    if let Some((i, msg)) = io {
        // A row error in an earlier row group comes first.
        let earlier = partials.iter().filter_map(|p| p.error.as_ref()).any(|(pos, _)| pos.major < i as u64);
        if !earlier {
            let e = match units.get(i) {
                Some((fi, ri, _)) if multi => FairnessError::io(file, format!("{}: row group {ri}: {msg}", parts[*fi].file.name())),
                _ => FairnessError::io(file, format!("row group {i}: {msg}")),
            };
            return Err(e);
        }
    }
    progress.bytes_read.store(progress.total_bytes.load(Ordering::Relaxed), Ordering::Relaxed);
    merge(plan, partials, &|p| Some(locate(p)))
}
