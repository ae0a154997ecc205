//! CSV logs: the header is read on the calling thread and mapped to the plan's columns; the rest goes
//! through the block pipeline. Blocks without any quote take the in-place path.

use std::io::Read;

use super::blocks::{self, Cut, Processed, Records};
use super::counts::Counts;
use super::csv_record::{Bounds, Record, Scratch, UNTERMINATED, cut, each_record, first_record_end, parse_quoted};
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

impl<'p> Records<Tally<'p>> for Csv {
    type Scratch = Scratch;

    fn split_point(&self, buf: &[u8]) -> Cut {
        cut(buf)
    }

    fn process(&self, block: &[u8], plain: bool, major: u64, tally: &mut Tally<'p>, sc: &mut Scratch) -> Processed {
        each_record(block, plain, major, sc, |r, at| match r {
            Record::Fields(rec, bounds) => self.row(rec, bounds, tally, at),
            Record::Unterminated => tally.bad_row(at, RowError::new(None, UNTERMINATED)),
        })
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
