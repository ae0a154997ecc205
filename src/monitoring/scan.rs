//! How the monitoring engines read a log: counting sinks ([`Sink`]) fed either in parallel, for CSV
//! text (plain, gzip or zstd), through the fairness engine's block pipeline (one thread reads 4 MB
//! blocks cut at record boundaries, two workers each count whole blocks into their own sink, and the
//! sinks are merged by the caller), or one row at a time through [`Rows`] for JSON Lines and Parquet.
//! The same sink code counts both, so a number cannot depend on the format.
//!
//! CSV as read here (the fairness engine's `csv_record`): RFC 4180, a '"' opens a quoted field only as
//! its first byte (a bare quote inside a field is read literally, as pandas and the csv crate read it),
//! CRLF or LF, blank lines skipped, header names trimmed; a record with another number of fields than
//! the header, a quote never closed, or a record longer than [`crate::fairness::max_record_bytes`] is
//! an error naming its line. Only the cells a sink uses are checked to be UTF-8.
//!
//! Memory: the pipeline's four blocks plus one sink per worker (each bounded by its own caps).

use std::io::Read;
use std::path::Path;

use super::rows::Rows;
use crate::fairness::blocks::{Cut, Processed, Records, pipeline};
use crate::fairness::csv_record::{Bounds, Record, Scratch, UNTERMINATED, cut, each_record};
use crate::fairness::tally::Pos;
use crate::fairness::{Encoding, FairnessError, Format, Input, Progress, open};

/// A record's cells as bytes, by column index (an index past the record reads as an empty cell).
pub(crate) trait Cells {
    fn cell(&self, i: usize) -> &[u8];

    /// The cell and its first 8 bytes as a little-endian word, bytes past the cell unspecified (a
    /// [`Dict`] masks them); lets short values be packed without branching on their length.
    #[inline]
    fn cell_word(&self, i: usize) -> (&[u8], u64) {
        let c = self.cell(i);
        (c, if c.len() <= 7 { pack(c) } else { 0 })
    }
}

impl Cells for [String] {
    fn cell(&self, i: usize) -> &[u8] {
        self.get(i).map_or(b"", |s| s.as_bytes())
    }
}

/// A CSV record sliced in place (or unquoted into the scratch buffer).
struct Slices<'a> {
    rec: &'a [u8],
    bounds: &'a Bounds,
}

impl Cells for Slices<'_> {
    #[inline]
    fn cell(&self, i: usize) -> &[u8] {
        self.bounds.get(i).map_or(b"", |&(a, b)| &self.rec[a as usize..b as usize])
    }

    #[inline]
    fn cell_word(&self, i: usize) -> (&[u8], u64) {
        let Some(&(a, b)) = self.bounds.get(i) else { return (b"", 0) };
        let (a, b) = (a as usize, b as usize);
        let cell = &self.rec[a..b];
        // The record usually goes on for 8 bytes past the cell's start: one load.
        match self.rec.get(a..a + 8) {
            Some(w) => (cell, u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])),
            None => (cell, if cell.len() <= 7 { pack(cell) } else { 0 }),
        }
    }
}

/// Why a row stopped the reading: the column concerned (if one) and what is wrong.
#[derive(Debug, Clone)]
pub(crate) struct RowFail {
    pub column: Option<String>,
    pub message: String,
}

impl RowFail {
    pub fn new(column: Option<&str>, message: impl Into<String>) -> RowFail {
        RowFail { column: column.map(str::to_string), message: message.into() }
    }
}

/// Counts rows. Cloned once per worker from a prototype; the caller merges the clones.
pub(crate) trait Sink: Clone + Send + Sync {
    fn row<C: Cells + ?Sized>(&mut self, cells: &C) -> Result<(), RowFail>;
}

/// An open log: its header and how it will be read.
pub(crate) struct Log<'p> {
    file: String,
    header: Vec<String>,
    src: Src<'p>,
}

enum Src<'p> {
    Csv { reader: Box<dyn Read + Send + 'p>, carry: Vec<u8>, first_line: u64 },
    Rows(Rows<'p>),
}

impl<'p> Log<'p> {
    /// Opens a log and reads its header (CSV, JSON Lines or Parquet; compressed or not).
    pub fn open(path: &Path, progress: &'p Progress) -> Result<Log<'p>, FairnessError> {
        let file = path.display().to_string();
        let (format, input) = open(path, &file, progress)?;
        match (format, input) {
            (Format::Csv(_), Input::Stream(mut reader)) => {
                let h = crate::fairness::csv::read_header(&mut reader, &file, Encoding::Utf8)?;
                let first_line = h.line + h.newlines.max(1);
                Ok(Log { file, header: h.names, src: Src::Csv { reader, carry: h.carry, first_line } })
            }
            (format, input) => {
                let rows = Rows::from_opened(file.clone(), format, input, progress)?;
                Ok(Log { file, header: rows.header().to_vec(), src: Src::Rows(rows) })
            }
        }
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Index of a column by name, or an error listing the columns.
    pub fn index(&self, column: &str) -> Result<usize, FairnessError> {
        if let Src::Rows(rows) = &self.src {
            return rows.index(column);
        }
        self.header.iter().position(|h| h == column).ok_or_else(|| {
            FairnessError::input(&self.file, None, Some(column), format!("no such column; the file has: {}", self.header.join(", ")))
        })
    }

    /// Counts every record into copies of `sink` (one per worker; one for row-at-a-time formats). The
    /// first failing row in file order is the error, with its line (or Parquet row).
    pub fn count<S: Sink>(self, sink: S, progress: &Progress) -> Result<Vec<S>, FairnessError> {
        let Log { file, header, src } = self;
        match src {
            Src::Rows(mut rows) => {
                let mut sink = sink;
                let mut cells = Vec::new();
                while rows.next_into(&mut cells)? {
                    if progress.cancelled() {
                        return Err(FairnessError::cancelled(&file));
                    }
                    sink.row(cells.as_slice()).map_err(|f| FairnessError::input(&file, Some(rows.location()), f.column.as_deref(), f.message))?;
                }
                Ok(vec![sink])
            }
            Src::Csv { mut reader, carry, first_line } => {
                let csv = Csv { n_columns: header.len(), max_record: crate::fairness::max_record_bytes() };
                let new = || Slot { sink: sink.clone(), failure: None };
                let done = pipeline(&mut *reader, carry, first_line, &file, progress, &csv, &new)?;
                let first = done.sinks.iter().filter_map(|s| s.failure.as_ref()).min_by_key(|(at, _)| (at.major, at.minor));
                if let Some((at, f)) = first {
                    return Err(FairnessError::input(&file, Some(done.locate(*at)), f.column.as_deref(), f.message.clone()));
                }
                Ok(done.sinks.into_iter().map(|s| s.sink).collect())
            }
        }
    }
}

/// A worker's sink and the first row it failed on.
struct Slot<S> {
    sink: S,
    failure: Option<(Pos, RowFail)>,
}

struct Csv {
    n_columns: usize,
    max_record: usize,
}

impl<S: Sink> Records<Slot<S>> for Csv {
    type Scratch = Scratch;

    fn split_point(&self, buf: &[u8]) -> Cut {
        cut(buf)
    }

    fn process(&self, block: &[u8], plain: bool, major: u64, slot: &mut Slot<S>, sc: &mut Scratch) -> Processed {
        each_record(block, plain, major, sc, |r, at| {
            let result = match r {
                Record::Unterminated => Err(RowFail::new(None, UNTERMINATED)),
                Record::Fields(_, bounds) if bounds.len() != self.n_columns => {
                    Err(RowFail::new(None, format!("{} fields, the header has {}", bounds.len(), self.n_columns)))
                }
                Record::Fields(rec, _) if rec.len() > self.max_record => {
                    Err(RowFail::new(None, format!("record longer than {} MiB", self.max_record >> 20)))
                }
                Record::Fields(rec, bounds) => slot.sink.row(&Slices { rec, bounds }),
            };
            match result {
                Ok(()) => true,
                Err(f) => {
                    slot.failure = Some((at, f));
                    false
                }
            }
        })
    }
}

/// Distinct cell values of one column (bytes -> dense id), each checked to be UTF-8 when first seen.
///
/// An open-addressing table of ids (linear probing, at most half full). A value of up to 7 bytes is
/// its own key (its bytes and length packed in one word), so finding it is one multiply and one
/// integer compare; a longer value is found by a 64-bit hash of its 8-byte words (the FxHash scheme)
/// and then compared byte for byte. A short decimal written `d.f` with one integer digit and one to
/// four decimals (scores such as `0.3303`, the common case of a model's logged score) skips the table:
/// its digits index a direct table of ids ([`decimal_code`]; at most 111,100 entries, 434 KiB, grown
/// only as far as the largest code seen), one load instead of a hash and two dependent loads.
#[derive(Clone)]
pub(crate) struct Dict {
    /// Id + 1 (0: empty); the length is a power of two.
    slots: Vec<u32>,
    /// Per id: the packed value (up to 7 bytes) or the hash with the top bit set (longer); DIRECT for
    /// an id found through `direct` (not in `slots`).
    keys: Vec<u64>,
    values: Vec<Box<str>>,
    /// Ids in `slots`.
    hashed: usize,
    /// Id + 1 by [`decimal_code`] (0: not seen).
    direct: Vec<u32>,
}

impl Default for Dict {
    fn default() -> Dict {
        Dict { slots: vec![0; 64], keys: Vec::new(), values: Vec::new(), hashed: 0, direct: Vec::new() }
    }
}

/// Marks an id found through the direct table of decimals: never a key (a packed key has bits 59-63
/// clear, a hashed one has bit 63 set).
const DIRECT: u64 = 1 << 62;
/// Where the codes of decimals with k = 1..=4 decimals start ([`decimal_code`]).
const DECIMAL_BASE: [u32; 5] = [0, 111_000, 110_000, 100_000, 0];

/// The direct-table code of a cell written `d.f` (one digit, a point, k = 1..=4 digits), else None:
/// `DECIMAL_BASE[k] + d * 10^k + f`, so distinct texts get distinct codes (`0.5` and `0.50` differ) and
/// the four decimal counts occupy disjoint ranges, four-decimal values first (codes 0..100,000).
#[inline]
fn decimal_code(v: &[u8]) -> Option<u32> {
    let n = v.len();
    if !(3..=6).contains(&n) || v[1] != b'.' {
        return None;
    }
    let d = v[0].wrapping_sub(b'0');
    if d > 9 {
        return None;
    }
    let mut code = u32::from(d);
    for &b in &v[2..] {
        let x = b.wrapping_sub(b'0');
        if x > 9 {
            return None;
        }
        code = code * 10 + u32::from(x);
    }
    Some(DECIMAL_BASE[n - 2] + code)
}

const LONG: u64 = 1 << 63;
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// A value of up to 7 bytes and its length in one word (byte 7 holds the length, so never LONG).
#[inline]
fn pack(v: &[u8]) -> u64 {
    let n = v.len();
    let x = if n >= 4 {
        // Two overlapping 4-byte loads cover 4..=7 bytes; shared bytes are equal, so OR is exact.
        let lo = u32::from_le_bytes([v[0], v[1], v[2], v[3]]) as u64;
        let hi = u32::from_le_bytes([v[n - 4], v[n - 3], v[n - 2], v[n - 1]]) as u64;
        lo | hi << ((n - 4) * 8)
    } else if n >= 2 {
        let lo = u16::from_le_bytes([v[0], v[1]]) as u64;
        let hi = u16::from_le_bytes([v[n - 2], v[n - 1]]) as u64;
        lo | hi << ((n - 2) * 8)
    } else if n == 1 {
        v[0] as u64
    } else {
        0
    };
    x | (n as u64) << 56
}

#[inline(always)]
fn word_at(v: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&v[i..i + 8]);
    u64::from_le_bytes(w)
}

/// `a == b`, with values of 8 to 24 bytes compared as two or three (overlapping) words instead of a
/// call to memcmp (category names, timestamps).
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => word_at(a, 0) == word_at(b, 0) && word_at(a, n - 8) == word_at(b, n - 8),
        17..=24 => word_at(a, 0) == word_at(b, 0) && word_at(a, 8) == word_at(b, 8) && word_at(a, n - 8) == word_at(b, n - 8),
        _ => a == b,
    }
}

/// A hash of a longer value, with the top bit set.
#[inline]
fn hash_long(v: &[u8]) -> u64 {
    let n = v.len();
    if (8..=16).contains(&n) {
        let h = (word_at(v, 0).wrapping_mul(K) ^ word_at(v, n - 8)).wrapping_mul(K) ^ n as u64;
        return h | LONG;
    }
    let mut h = v.len() as u64;
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h | LONG
}

impl Dict {
    /// The id of a value; `None` when it is not UTF-8.
    #[cfg(test)]
    pub fn get(&mut self, v: &[u8]) -> Option<u32> {
        self.get_word(v, if v.len() <= 7 { pack(v) } else { 0 })
    }

    /// [`Dict::get`] with the value's first 8 bytes as a word ([`Cells::cell_word`]).
    #[inline]
    pub fn get_word(&mut self, v: &[u8], word: u64) -> Option<u32> {
        if let Some(code) = decimal_code(v) {
            return match self.direct.get(code as usize) {
                Some(&e) if e != 0 => Some(e - 1),
                _ => self.insert_direct(v, code),
            };
        }
        let n = v.len();
        let key = if n <= 7 { (word & ((1u64 << (n * 8)) - 1)) | (n as u64) << 56 } else { hash_long(v) };
        let mask = self.slots.len() - 1;
        let mut h = (key.wrapping_mul(K) >> 32) as usize & mask;
        loop {
            let e = self.slots[h];
            if e == 0 {
                return self.insert(v, key, h);
            }
            let id = e as usize - 1;
            if self.keys[id] == key && (key & LONG == 0 || same_bytes(self.values[id].as_bytes(), v)) {
                return Some(id as u32);
            }
            h = (h + 1) & mask;
        }
    }

    #[cold]
    fn insert(&mut self, v: &[u8], key: u64, slot: usize) -> Option<u32> {
        let s = std::str::from_utf8(v).ok()?;
        let id = self.values.len() as u32;
        self.values.push(s.into());
        self.keys.push(key);
        self.slots[slot] = id + 1;
        self.hashed += 1;
        if self.hashed * 2 > self.slots.len() {
            self.grow();
        }
        Some(id)
    }

    #[cold]
    fn insert_direct(&mut self, v: &[u8], code: u32) -> Option<u32> {
        // A decimal code is ASCII digits and a point: always UTF-8.
        let s = std::str::from_utf8(v).ok()?;
        let id = self.values.len() as u32;
        self.values.push(s.into());
        self.keys.push(DIRECT);
        if self.direct.len() <= code as usize {
            self.direct.resize(code as usize + 1, 0);
        }
        self.direct[code as usize] = id + 1;
        Some(id)
    }

    fn grow(&mut self) {
        let n = self.slots.len() * 2;
        let mut slots = vec![0u32; n];
        for (id, key) in self.keys.iter().enumerate().filter(|(_, k)| **k != DIRECT) {
            let mut h = (key.wrapping_mul(K) >> 32) as usize & (n - 1);
            while slots[h] != 0 {
                h = (h + 1) & (n - 1);
            }
            slots[h] = id as u32 + 1;
        }
        self.slots = slots;
    }

    pub fn name(&self, id: u32) -> &str {
        self.values.get(id as usize).map_or("", |s| s)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }
}

/// A cell as text, or a row failure naming the column.
pub(crate) fn text<'c>(cell: &'c [u8], column: &str) -> Result<&'c str, RowFail> {
    std::str::from_utf8(cell).map_err(|_| RowFail::new(Some(column), "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_keeps_short_and_long_values_apart() {
        let mut d = Dict::default();
        let vals = ["", "\0", "1", "10", "1234567", "12345678", "Married-civ-spouse", "é"];
        let ids: Vec<u32> = vals.iter().map(|v| d.get(v.as_bytes()).unwrap_or(u32::MAX)).collect();
        assert_eq!(ids, (0..vals.len() as u32).collect::<Vec<_>>());
        for (i, v) in vals.iter().enumerate() {
            assert_eq!(d.get(v.as_bytes()), Some(i as u32));
            assert_eq!(d.name(i as u32), *v);
        }
        assert_eq!(d.get(b"Caf\xe9"), None);
        assert_eq!(d.len(), vals.len());
        // Growing keeps every id; long values sharing a prefix stay apart.
        let many: Vec<String> = (0..5000).map(|i| if i % 2 == 0 { format!("{i}") } else { format!("same-prefix-{i:08}") }).collect();
        let ids: Vec<u32> = many.iter().map(|v| d.get(v.as_bytes()).unwrap_or(u32::MAX)).collect();
        for (v, id) in many.iter().zip(&ids) {
            assert_eq!(d.get(v.as_bytes()), Some(*id));
            assert_eq!(d.name(*id), v);
        }
        let distinct: std::collections::HashSet<&str> = vals.iter().copied().chain(many.iter().map(String::as_str)).collect();
        assert_eq!(d.len(), distinct.len());
        // Decimals found through the direct table, mixed with hashed values, before and after growing.
        let mut d = Dict::default();
        let decimals: Vec<String> = (0..3000).map(|i| format!("{}.{:0w$}", i % 10, i / 10 % 10usize.pow(i as u32 % 4 + 1), w = i % 4 + 1)).collect();
        let mixed: Vec<String> = decimals.iter().enumerate().flat_map(|(i, x)| [x.clone(), format!("v{i}"), format!("{x}x"), format!("-{x}")]).collect();
        let ids: Vec<u32> = mixed.iter().map(|v| d.get(v.as_bytes()).unwrap_or(u32::MAX)).collect();
        let distinct: std::collections::HashSet<&String> = mixed.iter().collect();
        assert_eq!(d.len(), distinct.len());
        for (v, id) in mixed.iter().zip(&ids) {
            assert_eq!(d.get(v.as_bytes()), Some(*id));
            assert_eq!(d.name(*id), v);
        }
        for (a, b) in [("0.5", "0.50"), ("1.0", "1.00"), ("0.1234", "1.234")] {
            assert_ne!(d.get(a.as_bytes()), d.get(b.as_bytes()), "{a} {b}");
        }
        assert_eq!(decimal_code(b"0.0000"), Some(0));
        assert_eq!(decimal_code(b"9.9"), Some(111_099));
        for no in ["0.", ".5", "10.5", "0.12345", "0,5", "a.5", "0.5e", "0.-5"] {
            assert_eq!(decimal_code(no.as_bytes()), None, "{no}");
        }
        for (a, b) in [("", ""), ("abcdefgh", "abcdefgh"), ("abcdefgh", "abcdefgi"), ("abcdefghijklmnopq", "abcdefghijklmnopq"), ("abcdefghijklmnopq", "abcdefghiXklmnopq"), ("2026-11-01T00:00:00Z", "2026-11-01T00:00:01Z"), ("same-prefix-00000001", "same-prefix-00000001x")] {
            assert_eq!(same_bytes(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
        }
    }
}
