//! CSV logs: the header is read on the calling thread and mapped to the plan's columns; the rest goes
//! through the block pipeline. Blocks without any quote take the in-place path.

use std::io::Read;

use memchr::memchr;

use super::blocks::{self, Processed, Records};
use super::counts::Counts;
use super::csv_record::{Bounds, first_record_end, parse_quoted, split_point};
use super::error::{FairnessError, Location, RowError};
use super::plan::{MAX_ROLES, Plan};
use super::tally::{Pos, Row, Tally};
use super::values::Field;
use super::Progress;

pub(crate) struct Csv {
    /// Column index in the file for each role of the plan.
    index: Vec<usize>,
    n_columns: usize,
}

#[derive(Default)]
pub(crate) struct Scratch {
    bounds: Bounds,
    text: Vec<u8>,
}

impl Csv {
    #[inline]
    fn row(&self, rec: &[u8], bounds: &Bounds, tally: &mut Tally<'_>, pos: Pos) -> bool {
        if bounds.len() != self.n_columns {
            let e = RowError::new(None, format!("{} fields, the header has {}", bounds.len(), self.n_columns));
            return tally.bad_row(pos, e);
        }
        let row = Row {
            cells: std::array::from_fn(|r| match self.index.get(r) {
                Some(&i) => {
                    let (a, b) = bounds[i];
                    Field::Text(&rec[a as usize..b as usize])
                }
                None => Field::Null,
            }),
        };
        tally.push(&row, pos)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// High bit set in each byte of `x` that is zero (exact: no false positives).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// Bytes of the word that are ',' or '\n'.
#[inline]
fn delimiters(w: u64) -> u64 {
    zero_bytes(w ^ (ONES * b',' as u64)) | zero_bytes(w ^ (ONES * b'\n' as u64))
}

impl Csv {
    /// A block without quotes: one pass over the bytes, eight at a time, finding commas and newlines
    /// together; fields are sliced in place.
    fn plain_block(&self, block: &[u8], major: u64, tally: &mut Tally<'_>, bounds: &mut Bounds) -> Processed {
        let n = block.len();
        let mut line = 0u64;
        let mut rec_start = 0usize;
        let mut field_start = 0usize;
        bounds.clear();
        // Ends the record whose newline (or the end of the block) is at `end`.
        let mut finish = |end: usize, rec_start: usize, field_start: usize, bounds: &mut Bounds, line: &mut u64| -> bool {
            let mut stop = end;
            if stop > rec_start && block[stop - 1] == b'\r' {
                stop -= 1;
            }
            let at = Pos { major, minor: *line };
            *line += 1;
            if stop == rec_start {
                bounds.clear();
                return true;
            }
            bounds.push(((field_start - rec_start) as u32, (stop.max(field_start) - rec_start) as u32));
            let ok = self.row(&block[rec_start..stop], bounds, tally, at);
            bounds.clear();
            ok
        };
        let mut on = |pos: usize, rec_start: &mut usize, field_start: &mut usize, line: &mut u64| -> bool {
            if block[pos] == b',' {
                bounds.push(((*field_start - *rec_start) as u32, (pos - *rec_start) as u32));
                *field_start = pos + 1;
                true
            } else {
                let ok = finish(pos, *rec_start, *field_start, bounds, line);
                *rec_start = pos + 1;
                *field_start = pos + 1;
                ok
            }
        };
        let words = n / 8;
        for wi in 0..words {
            let base = wi * 8;
            let mut w = [0u8; 8];
            w.copy_from_slice(&block[base..base + 8]);
            let mut m = delimiters(u64::from_le_bytes(w));
            while m != 0 {
                let pos = base + (m.trailing_zeros() / 8) as usize;
                m &= m - 1;
                if !on(pos, &mut rec_start, &mut field_start, &mut line) {
                    return Processed { lines: line, stopped: true };
                }
            }
        }
        for (pos, &b) in block.iter().enumerate().skip(words * 8) {
            if (b == b',' || b == b'\n') && !on(pos, &mut rec_start, &mut field_start, &mut line) {
                return Processed { lines: line, stopped: true };
            }
        }
        if rec_start < n && !finish(n, rec_start, field_start, bounds, &mut line) {
            return Processed { lines: line, stopped: true };
        }
        Processed { lines: line, stopped: false }
    }
}

impl Records for Csv {
    type Scratch = Scratch;

    fn split_point(&self, buf: &[u8]) -> usize {
        split_point(buf)
    }

    fn process(&self, block: &[u8], major: u64, tally: &mut Tally<'_>, sc: &mut Scratch) -> Processed {
        let n = block.len();
        let mut pos = 0;
        let mut line = 0u64;
        if memchr(b'"', block).is_none() {
            return self.plain_block(block, major, tally, &mut sc.bounds);
        } else {
            let Scratch { bounds, text } = sc;
            while pos < n {
                let at = Pos { major, minor: line };
                let q = parse_quoted(block, pos, text, bounds);
                line += q.newlines + u64::from(q.end == n && block[n - 1] != b'\n');
                pos = q.end;
                if q.unterminated {
                    let e = RowError::new(None, "a quoted field is never closed (missing '\"')");
                    if !tally.bad_row(at, e) {
                        return Processed { lines: line, stopped: true };
                    }
                    continue;
                }
                if q.blank {
                    continue;
                }
                if !self.row(text, bounds, tally, at) {
                    return Processed { lines: line, stopped: true };
                }
            }
        }
        Processed { lines: line, stopped: false }
    }
}

/// The header record of a CSV stream.
pub(crate) struct Header {
    pub names: Vec<String>,
    /// The physical line the header starts on (blank lines before it are skipped).
    pub line: u64,
    /// Newlines inside the header record, its terminating one included.
    pub newlines: u64,
    /// Bytes read past the header (the start of the data).
    pub carry: Vec<u8>,
}

/// Skips a byte-order mark and blank lines, reads until the header record is complete (quoted newlines
/// allowed), and splits it.
pub(crate) fn read_header(reader: &mut dyn Read, file: &str, encoding: super::Encoding) -> Result<Header, FairnessError> {
    let mut head: Vec<u8> = Vec::new();
    let mut line = 1u64;
    let mut bom_checked = false;
    let (header_end, eof) = loop {
        if !bom_checked && head.len() >= 3 {
            if head.starts_with(super::source::BOM) {
                head.drain(..3);
            }
            bom_checked = true;
        }
        let skip = head.iter().take_while(|b| **b == b'\n' || **b == b'\r').count();
        line += head[..skip].iter().filter(|b| **b == b'\n').count() as u64;
        head.drain(..skip);
        if let Some(e) = first_record_end(&head) {
            break (e, false);
        }
        let n = (&mut *reader)
            .take(1 << 16)
            .read_to_end(&mut head)
            .map_err(|e| FairnessError::io(file, format!("read error: {e}")))?;
        if n == 0 {
            break (head.len(), true);
        }
        if head.len() > 64 << 20 {
            return Err(FairnessError::input(file, Some(Location::Line(line)), None, "header longer than 64 MB"));
        }
    };
    if head.is_empty() {
        return Err(FairnessError::input(file, None, None, "empty file (no header line)"));
    }
    let (mut text, mut bounds) = (Vec::new(), Vec::new());
    let q = parse_quoted(&head[..header_end], 0, &mut text, &mut bounds);
    if q.unterminated {
        return Err(FairnessError::input(file, Some(Location::Line(line)), None, "the header has an unclosed quote"));
    }
    let names = bounds
        .iter()
        .map(|&(a, b)| {
            let raw = &text[a as usize..b as usize];
            encoding.decode(raw).unwrap_or_else(|| String::from_utf8_lossy(raw).into_owned()).trim().to_string()
        })
        .collect();
    let carry = if eof { Vec::new() } else { head[header_end..].to_vec() };
    Ok(Header { names, line, newlines: q.newlines, carry })
}

/// Reads the header and counts the rest.
pub(crate) fn count(mut reader: Box<dyn Read + Send + '_>, plan: &Plan, progress: &Progress) -> Result<Counts, FairnessError> {
    let file = plan.file.as_str();
    let Header { names, line, newlines, carry } = read_header(&mut reader, file, plan.encoding)?;
    let mut index = Vec::with_capacity(MAX_ROLES);
    for col in &plan.columns {
        let i = super::columns::resolve(&names, col)
            .map_err(|m| FairnessError::input(file, Some(Location::Line(line)), Some(col), m))?;
        index.push(i);
    }
    let first_line = line + newlines.max(1);
    let csv = Csv { index, n_columns: names.len() };
    blocks::run_from(&mut *reader, carry, first_line, plan, progress, &csv)
}
