//! CSV records (RFC 4180: comma-separated, '"' quotes, '""' inside quotes is a quote, newlines allowed
//! inside quotes, CRLF or LF). Two paths: records without any quote are split in place (no copy, no
//! allocation; see `csv::Csv::plain_block`); records with quotes are unquoted into a reused buffer.
//!
//! The quote rule, the same here and in the block splitter, is the one Python's csv module, pandas,
//! polars and the Rust csv crate read by: a '"' opens a quoted field only as the field's first byte;
//! inside quotes '""' is a literal quote and a lone '"' closes; any other '"' (`a"b`) is an ordinary
//! character. So a bare quote inside an unquoted field never swallows the next record.

use memchr::{memchr, memchr2_iter, memrchr};

use super::blocks::Processed;
use super::tally::Pos;

/// Field bounds (start, end) into the record (plain path) or into the unquoted text (quoted path).
pub(crate) type Bounds = Vec<(u32, u32)>;

/// One record read on the quoted path.
pub(crate) struct Quoted {
    /// Index just past the record (past its newline, or the end of the input).
    pub end: usize,
    /// Newlines consumed, the terminating one included.
    pub newlines: u64,
    /// The input ended inside quotes.
    pub unterminated: bool,
    /// An empty line.
    pub blank: bool,
}

/// Reads the record starting at `pos`, unquoting fields into `text`.
pub(crate) fn parse_quoted(b: &[u8], pos: usize, text: &mut Vec<u8>, bounds: &mut Bounds) -> Quoted {
    text.clear();
    bounds.clear();
    let n = b.len();
    let mut i = pos;
    let mut in_q = false;
    let mut field_start = 0u32;
    let mut newlines = 0u64;
    let mut cr_last = false; // the last text byte is an unquoted '\r'
    let mut quoted_any = false;
    let mut at_field_start = true; // no raw byte of this field read yet
    while i < n {
        let c = b[i];
        if in_q {
            if c == b'"' {
                if i + 1 < n && b[i + 1] == b'"' {
                    text.push(b'"');
                    i += 2;
                    continue;
                }
                in_q = false;
            } else {
                if c == b'\n' {
                    newlines += 1;
                }
                text.push(c);
            }
            cr_last = false;
        } else {
            match c {
                b'"' if at_field_start => {
                    in_q = true;
                    quoted_any = true;
                    cr_last = false;
                }
                b',' => {
                    bounds.push((field_start, text.len() as u32));
                    field_start = text.len() as u32;
                    cr_last = false;
                    at_field_start = true;
                    i += 1;
                    continue;
                }
                b'\n' => {
                    if cr_last {
                        text.pop();
                    }
                    bounds.push((field_start, text.len() as u32));
                    let blank = !quoted_any && bounds.len() == 1 && text.is_empty();
                    return Quoted { end: i + 1, newlines: newlines + 1, unterminated: false, blank };
                }
                _ => {
                    text.push(c);
                    cr_last = c == b'\r';
                }
            }
        }
        at_field_start = false;
        i += 1;
    }
    if cr_last {
        text.pop();
    }
    bounds.push((field_start, text.len() as u32));
    let blank = !quoted_any && bounds.len() == 1 && text.is_empty();
    Quoted { end: n, newlines, unterminated: in_q, blank }
}

/// Reused buffers of [`each_record`].
#[derive(Default)]
pub(crate) struct Scratch {
    bounds: Bounds,
    text: Vec<u8>,
}

/// One record of a block as [`each_record`] hands it over.
pub(crate) enum Record<'b> {
    /// The record's bytes (or its unquoted text) and its fields' bounds into them.
    Fields(&'b [u8], &'b Bounds),
    /// The block ended inside quotes.
    Unterminated,
}

/// What a record whose quote is never closed is called.
pub(crate) const UNTERMINATED: &str = "a quoted field is never closed (missing '\"')";

/// Calls `on` for every record of a block (blank lines skipped) with its position
/// `Pos { major, minor: line in block }`, until it returns false (then `stopped`). A block without any
/// quote takes the in-place path (fields sliced, nothing copied); otherwise records are unquoted into
/// the scratch buffer.
pub(crate) fn each_record(block: &[u8], plain: bool, major: u64, sc: &mut Scratch, mut on: impl FnMut(Record<'_>, Pos) -> bool) -> Processed {
    if plain || memchr(b'"', block).is_none() {
        return plain_block(block, major, &mut sc.bounds, on);
    }
    let n = block.len();
    let (mut pos, mut line) = (0, 0u64);
    let Scratch { bounds, text } = sc;
    while pos < n {
        let at = Pos { major, minor: line };
        let q = parse_quoted(block, pos, text, bounds);
        line += q.newlines + u64::from(q.end == n && block[n - 1] != b'\n');
        pos = q.end;
        if q.unterminated {
            if !on(Record::Unterminated, at) {
                return Processed { lines: line, stopped: true };
            }
            continue;
        }
        if q.blank {
            continue;
        }
        if !on(Record::Fields(text, bounds), at) {
            return Processed { lines: line, stopped: true };
        }
    }
    Processed { lines: line, stopped: false }
}

/// Bit i of `.0`: byte i of the chunk is ',' or '\n'; of `.1`: it is '\n'. SSE2 (part of every
/// x86_64): four 16-byte compares and mask extractions per 64 bytes.
#[cfg(target_arch = "x86_64")]
#[inline]
fn chunk_masks(c: &[u8; 64]) -> (u64, u64) {
    // SAFETY: SSE2 is part of the x86_64 baseline: every x86_64 processor has it, and the target
    // enables it, so `sse2_masks`'s required feature is always present.
    unsafe { sse2_masks(c) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn sse2_masks(c: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let comma = _mm_set1_epi8(b',' as i8);
    let nl = _mm_set1_epi8(b'\n' as i8);
    let (mut d, mut n) = (0u64, 0u64);
    for (k, lane) in c.chunks_exact(16).enumerate() {
        let mut a = [0u8; 16];
        a.copy_from_slice(lane);
        let v: __m128i = bytemuck::cast(a);
        let l = _mm_cmpeq_epi8(v, nl);
        let any = _mm_or_si128(_mm_cmpeq_epi8(v, comma), l);
        d |= u64::from(_mm_movemask_epi8(any) as u16) << (16 * k);
        n |= u64::from(_mm_movemask_epi8(l) as u16) << (16 * k);
    }
    (d, n)
}

/// [`chunk_masks`] elsewhere: eight bytes at a time in a word (SWAR).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn chunk_masks(c: &[u8; 64]) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // High bit set in each byte of `x` that is zero (exact: no false positives).
    let zero_bytes = |x: u64| !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7);
    // The high bits of a word's bytes as eight bits.
    let bits = |m: u64| ((m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) & 0xff;
    let (mut d, mut n) = (0u64, 0u64);
    for (k, w) in c.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let l = zero_bytes(w ^ (ONES * b'\n' as u64));
        let any = zero_bytes(w ^ (ONES * b',' as u64)) | l;
        d |= bits(any) << (8 * k);
        n |= bits(l) << (8 * k);
    }
    (d, n)
}

/// A block without quotes: one pass over the bytes, 64 at a time, finding commas and newlines
/// together as bit masks; fields are sliced in place.
#[inline]
fn plain_block(block: &[u8], major: u64, bounds: &mut Bounds, mut on_record: impl FnMut(Record<'_>, Pos) -> bool) -> Processed {
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
        let ok = on_record(Record::Fields(&block[rec_start..stop], bounds), at);
        bounds.clear();
        ok
    };
    let mut on = |pos: usize, newline: bool, rec_start: &mut usize, field_start: &mut usize, line: &mut u64| -> bool {
        if !newline {
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
    let chunks = block.chunks_exact(64);
    let tail = chunks.remainder().len();
    for (ci, chunk) in chunks.enumerate() {
        let base = ci * 64;
        let mut c = [0u8; 64];
        c.copy_from_slice(chunk);
        let (mut m, nl) = chunk_masks(&c);
        while m != 0 {
            let bit = m.trailing_zeros();
            m &= m - 1;
            if !on(base + bit as usize, nl >> bit & 1 == 1, &mut rec_start, &mut field_start, &mut line) {
                return Processed { lines: line, stopped: true };
            }
        }
    }
    for (pos, &b) in block.iter().enumerate().skip(n - tail) {
        if (b == b',' || b == b'\n') && !on(pos, b == b'\n', &mut rec_start, &mut field_start, &mut line) {
            return Processed { lines: line, stopped: true };
        }
    }
    if rec_start < n && !finish(n, rec_start, field_start, bounds, &mut line) {
        return Processed { lines: line, stopped: true };
    }
    Processed { lines: line, stopped: false }
}

/// Calls `at_newline(i)` for every newline outside quotes in `buf` (which starts at a record's start),
/// by the module's quote rule, until it returns true.
fn record_ends(buf: &[u8], mut at_newline: impl FnMut(usize) -> bool) {
    let mut in_q = false;
    let mut skip = usize::MAX; // the second quote of a '""' pair inside quotes
    for i in memchr2_iter(b'"', b'\n', buf) {
        if i == skip {
            continue;
        }
        if buf[i] == b'"' {
            if in_q {
                if buf.get(i + 1) == Some(&b'"') {
                    skip = i + 1;
                } else {
                    in_q = false;
                }
            } else if i == 0 || matches!(buf[i - 1], b',' | b'\n') {
                in_q = true;
            }
        } else if !in_q && at_newline(i) {
            return;
        }
    }
}

/// [`split_point`], and whether `buf` holds no quote at all.
pub(crate) fn cut(buf: &[u8]) -> super::blocks::Cut {
    if memchr(b'"', buf).is_none() {
        return super::blocks::Cut { at: memrchr(b'\n', buf).map_or(0, |i| i + 1), plain: true };
    }
    super::blocks::Cut { at: split_point(buf), plain: false }
}

/// Length of the longest prefix of `buf` ending just after a newline that is outside quotes.
pub(crate) fn split_point(buf: &[u8]) -> usize {
    if memchr(b'"', buf).is_none() {
        return memrchr(b'\n', buf).map_or(0, |i| i + 1);
    }
    let mut last = 0;
    record_ends(buf, |i| {
        last = i + 1;
        false
    });
    last
}

/// Index just past the first record's newline (outside quotes), if the buffer holds a whole record.
pub(crate) fn first_record_end(buf: &[u8]) -> Option<usize> {
    let mut end = None;
    record_ends(buf, |i| {
        end = Some(i + 1);
        true
    });
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(s: &str) -> (Vec<String>, Quoted) {
        let (mut text, mut bounds) = (Vec::new(), Vec::new());
        let q = parse_quoted(s.as_bytes(), 0, &mut text, &mut bounds);
        let f = bounds.iter().map(|&(a, b)| String::from_utf8_lossy(&text[a as usize..b as usize]).into_owned()).collect();
        (f, q)
    }

    #[test]
    fn quoted_fields() {
        let (f, q) = fields("a,\"b,c\",\"d\"\"e\",\"x\ny\"\r\nnext");
        assert_eq!(f, vec!["a", "b,c", "d\"e", "x\ny"]);
        assert_eq!(q.newlines, 2);
        assert_eq!(q.end, "a,\"b,c\",\"d\"\"e\",\"x\ny\"\r\n".len());
        let (f, q) = fields("\"open,\nnever closed");
        assert!(q.unterminated);
        assert_eq!(f.len(), 1);
        assert!(fields("\r\n").1.blank);
        assert!(!fields("\"\"\n").1.blank);
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_an_ordinary_character() {
        // As Python's csv, pandas, polars and the csv crate read it.
        let (f, q) = fields("a\"b,1,1\nc\"d,0,0\n");
        assert_eq!(f, vec!["a\"b", "1", "1"]);
        assert_eq!(q.end, 8);
        assert_eq!(split_point(b"g,l\na\"b,1\nc\"d,0\n"), 16);
        assert_eq!(first_record_end(b"a\"b,1\nc\"d,0\n"), Some(6));
        // After a closing quote, the rest of the field is read literally.
        assert_eq!(fields("\"ab\"c,d\n").0, vec!["abc", "d"]);
        assert_eq!(fields("x,\"q\"\"r\"\n").0, vec!["x", "q\"r"]);
    }

    #[test]
    fn chunk_masks_mark_every_comma_and_newline() {
        let mut c = [0u8; 64];
        for (i, b) in c.iter_mut().enumerate() {
            *b = match i % 7 {
                0 => b',',
                3 => b'\n',
                5 => 0x80 | b',',
                _ => b'a' + (i % 26) as u8,
            };
        }
        let (d, n) = chunk_masks(&c);
        for (i, b) in c.iter().enumerate() {
            assert_eq!(d >> i & 1 == 1, *b == b',' || *b == b'\n', "{i}");
            assert_eq!(n >> i & 1 == 1, *b == b'\n', "{i}");
        }
    }

    #[test]
    fn split_points_respect_quotes() {
        assert_eq!(split_point(b"a,b\nc,d\ne"), 8);
        assert_eq!(split_point(b"a,\"b\nc\"\nd,\"e\nf"), 8);
        assert_eq!(split_point(b"\"no end\n"), 0);
        assert_eq!(first_record_end(b"\"x\ny\",z\nrest"), Some(8));
    }
}
