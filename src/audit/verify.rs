//! `steward audit verify`: walks the chain and names the first record that was edited, deleted,
//! reordered or truncated.

use std::path::Path;

use super::{GENESIS, Head, Record, sha256_hex, short};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub count: u64,
    pub head: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {0}")]
    Unreadable(String),
    #[error("record {line} (line {line}) is not a valid record: it was edited or cut ({detail})")]
    NotARecord { line: u64, detail: String },
    #[error("record {line} (line {line}) has sequence number {found} where {expected} was expected: a record was deleted, inserted or reordered")]
    Sequence { line: u64, found: u64, expected: u64 },
    #[error("record {line} (seq {seq}) does not chain to the record before it: record {prev_line} was edited (or one between them deleted)")]
    Chain { line: u64, seq: u64, prev_line: u64 },
    #[error("the log ends after record {count} but its head file says {head_count} records ending in {head_hash}: records were removed from the end (truncated)")]
    Truncated { count: u64, head_count: u64, head_hash: String },
    #[error("record {count}, the last one the head file vouches for, does not match its hash {head_hash}: it was edited")]
    LastEdited { count: u64, head_hash: String },
    #[error("the last line is incomplete: the log was cut in the middle of record {line}")]
    CutLine { line: u64 },
    #[error("the log was rewritten since it was anchored at {time}: record {count} was {anchored}, it is now {now}")]
    Rewritten { time: String, count: u64, anchored: String, now: String },
}

/// A head published outside the log (`steward audit anchor`): the chain must still extend it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    /// The log or store it was taken from (secret-free).
    pub log: String,
    pub count: u64,
    /// SHA-256 of record `count`'s line.
    pub head: String,
    /// When it was taken (UTC, RFC 3339).
    pub time: String,
}

/// Checks that the log's record `anchor.count` still hashes to `anchor.head` (the log was not rewritten
/// since the anchor, even if its chain was computed again). Run after [`verify_bytes`].
pub fn check_anchor(bytes: &[u8], anchor: &Anchor) -> Result<(), VerifyError> {
    if anchor.count == 0 {
        return Ok(());
    }
    let now = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).nth(anchor.count as usize - 1).map(sha256_hex);
    match now {
        Some(h) if h == anchor.head => Ok(()),
        other => Err(VerifyError::Rewritten {
            time: anchor.time.clone(),
            count: anchor.count,
            anchored: short(&anchor.head).into(),
            now: other.as_deref().map(short).unwrap_or("missing").into(),
        }),
    }
}

/// Verifies the log at `path` (and its head file `path.head`, when present).
pub fn verify(path: &Path) -> Result<Verified, VerifyError> {
    crate::domain::regular_file(path).map_err(|m| VerifyError::Unreadable(m.to_string()))?;
    let file = std::fs::File::open(path).map_err(|e| VerifyError::Unreadable(format!("{}: {e}", path.display())))?;
    let head_path = path.with_extension("head");
    let head = match std::fs::read_to_string(&head_path) {
        Ok(text) => Some(
            serde_json::from_str::<Head>(&text)
                .map_err(|e| VerifyError::Unreadable(format!("{}: {e}", head_path.display())))?,
        ),
        Err(_) => None,
    };
    verify_reader(file, head.as_ref(), &path.display().to_string())
}

/// Verifies a log's bytes against its head (when there is one): the chain, the sequence, and that the
/// head vouches for a record the log still holds unchanged.
pub fn verify_bytes(bytes: &[u8], head: Option<&Head>) -> Result<Verified, VerifyError> {
    verify_reader(bytes, head, "the log")
}

/// [`verify_bytes`] over a stream, one record in memory at a time (at most [`super::MAX_RECORD`]).
fn verify_reader(r: impl std::io::Read, head: Option<&Head>, name: &str) -> Result<Verified, VerifyError> {
    let mut prev_hash = GENESIS.to_string();
    let mut at_head = (head.is_some_and(|h| h.count == 0)).then(|| GENESIS.to_string());
    let mut count = 0u64;
    let mut lines = super::lines::Lines::new(r);
    loop {
        let (line_no, line, ended) = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(super::lines::LineError::Io(e)) => return Err(VerifyError::Unreadable(format!("{name}: {e}"))),
            Err(e @ super::lines::LineError::TooLong { line }) => return Err(VerifyError::NotARecord { line, detail: e.to_string() }),
        };
        // A record written whole always ends in a newline.
        let rec: Record = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(_) if !ended => return Err(VerifyError::CutLine { line: line_no }),
            Err(e) => return Err(VerifyError::NotARecord { line: line_no, detail: e.to_string() }),
        };
        if rec.seq != line_no {
            return Err(VerifyError::Sequence { line: line_no, found: rec.seq, expected: line_no });
        }
        if rec.prev != prev_hash {
            return Err(VerifyError::Chain { line: line_no, seq: rec.seq, prev_line: line_no - 1 });
        }
        prev_hash = sha256_hex(line);
        if head.is_some_and(|h| h.count == line_no) {
            at_head = Some(prev_hash.clone());
        }
        count = line_no;
    }
    if let Some(head) = head {
        if head.count > count {
            return Err(VerifyError::Truncated { count, head_count: head.count, head_hash: short(&head.head).into() });
        }
        // The head may lag the log by records appended just before a crash; it must still match the
        // record it names.
        if at_head.as_deref() != Some(head.head.as_str()) {
            return Err(VerifyError::LastEdited { count: head.count, head_hash: short(&head.head).into() });
        }
    }
    Ok(Verified { count, head: prev_hash })
}
