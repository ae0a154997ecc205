//! The audit log read line by line, never whole: memory is one record, at most [`MAX_RECORD`] bytes,
//! whatever the file's size (a 2 GB file of NUL bytes is one over-long line, refused at the cap).

use std::io::{BufRead, BufReader, Read};

/// The longest audit record read (bytes). Records are a few KiB (a move with its gate evidence); a
/// longer line is not a record Steward wrote.
pub const MAX_RECORD: usize = 4 << 20;

/// Why a line could not be read.
#[derive(Debug)]
pub enum LineError {
    Io(std::io::Error),
    /// Line `line` (1-based) is longer than [`MAX_RECORD`] bytes.
    TooLong { line: u64 },
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::Io(e) => write!(f, "{e}"),
            LineError::TooLong { line } => write!(f, "line {line} is longer than {} MiB: not an audit record", MAX_RECORD >> 20),
        }
    }
}

/// A cursor over the lines of a log.
pub struct Lines<R: Read> {
    r: BufReader<R>,
    buf: Vec<u8>,
    /// Number of the line last returned (1-based).
    line: u64,
}

impl<R: Read> Lines<R> {
    pub fn new(r: R) -> Lines<R> {
        Lines { r: BufReader::with_capacity(64 << 10, r), buf: Vec::new(), line: 0 }
    }

    /// The next line's number (1-based), the line without its newline, and whether it ended in one
    /// (only the last line of a file can lack it); `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<(u64, &[u8], bool)>, LineError> {
        self.buf.clear();
        let n = (&mut self.r).take(MAX_RECORD as u64 + 1).read_until(b'\n', &mut self.buf).map_err(LineError::Io)?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        let ended = self.buf.last() == Some(&b'\n');
        if ended {
            self.buf.pop();
        }
        if self.buf.len() > MAX_RECORD {
            return Err(LineError::TooLong { line: self.line });
        }
        Ok(Some((self.line, &self.buf, ended)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_and_an_over_long_line_is_refused_at_the_cap() {
        let mut l = Lines::new(&b"a\nbc\n\nd"[..]);
        let mut seen = Vec::new();
        while let Some((_, line, ended)) = l.next_line().unwrap() {
            seen.push((String::from_utf8(line.to_vec()).unwrap(), ended));
        }
        assert_eq!(seen, [("a".into(), true), ("bc".into(), true), ("".into(), true), ("d".to_string(), false)]);
        let big = vec![0u8; MAX_RECORD + 10];
        let mut l = Lines::new(&big[..]);
        assert!(matches!(l.next_line(), Err(LineError::TooLong { line: 1 })));
        let mut ok = vec![b'x'; MAX_RECORD];
        ok.push(b'\n');
        assert_eq!(Lines::new(&ok[..]).next_line().unwrap().map(|(n, l, e)| (n, l.len(), e)), Some((1, MAX_RECORD, true)));
    }
}
