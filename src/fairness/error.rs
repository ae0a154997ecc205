//! Errors of the fairness engine: every input problem names the file, the place (line, or row group and
//! row for Parquet) and the column, in one line: `FILE:LINE: column 'x': message`.

use std::fmt;

/// Where in the input a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// 1-based physical line of a CSV or JSON Lines file where the record starts (the header is line 1).
    Line(u64),
    /// Parquet: 0-based row group, and the 1-based data row counted over the whole file.
    RowGroup { index: usize, row: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong (flags, column mapping that cannot work for any file).
    Usage,
    /// The file's content is wrong for the request.
    Input,
    /// The file could not be read (missing, permission, corrupt compression).
    Io,
    /// The caller cancelled.
    Cancelled,
}

#[derive(Debug, Clone)]
pub struct FairnessError {
    pub kind: ErrorKind,
    /// The file as the user named it (empty for usage errors).
    pub file: String,
    pub location: Option<Location>,
    pub column: Option<String>,
    pub message: String,
}

impl FairnessError {
    pub fn usage(message: impl Into<String>) -> Self {
        FairnessError { kind: ErrorKind::Usage, file: String::new(), location: None, column: None, message: message.into() }
    }
    pub fn input(file: &str, location: Option<Location>, column: Option<&str>, message: impl Into<String>) -> Self {
        FairnessError {
            kind: ErrorKind::Input,
            file: file.to_string(),
            location,
            column: column.map(str::to_string),
            message: message.into(),
        }
    }
    pub fn io(file: &str, message: impl Into<String>) -> Self {
        FairnessError { kind: ErrorKind::Io, file: file.to_string(), location: None, column: None, message: message.into() }
    }
    pub fn cancelled(file: &str) -> Self {
        FairnessError {
            kind: ErrorKind::Cancelled,
            file: file.to_string(),
            location: None,
            column: None,
            message: "cancelled".into(),
        }
    }
}

impl fmt::Display for FairnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts_written = false;
        if !self.file.is_empty() {
            write!(f, "{}", self.file)?;
            match self.location {
                Some(Location::Line(n)) => write!(f, ":{n}")?,
                Some(Location::RowGroup { index, row }) => write!(f, ": row {row} (row group {index})")?,
                None => {}
            }
            parts_written = true;
        }
        if let Some(c) = &self.column {
            if parts_written {
                write!(f, ": ")?;
            }
            write!(f, "column '{c}'")?;
            parts_written = true;
        }
        if parts_written {
            write!(f, ": ")?;
        }
        // One line, whatever the message holds (values from the file may contain newlines).
        let flat: String = self.message.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect();
        write!(f, "{flat}")
    }
}

impl std::error::Error for FairnessError {}

/// A problem with one row, before the reader attaches the place. `column` is None when the whole record
/// is at fault (ragged row, invalid JSON).
#[derive(Debug, Clone)]
pub(crate) struct RowError {
    pub column: Option<String>,
    pub message: String,
}

impl RowError {
    pub fn new(column: Option<&str>, message: impl Into<String>) -> Self {
        RowError { column: column.map(str::to_string), message: message.into() }
    }
}

/// Shows a value from the file in an error message: quoted, cut to 40 characters, lossy UTF-8.
pub(crate) fn show_value(bytes: &[u8]) -> String {
    // Bytes that are not UTF-8 are shown as \xNN, so that the message says what the file holds.
    let mut s = String::new();
    for chunk in bytes.utf8_chunks() {
        s.push_str(chunk.valid());
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02X}"));
        }
    }
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push_str("...");
    }
    format!("'{out}'")
}
