//! Opening a log in object storage (see `crate::objects`): one object, read by range requests like a
//! local file; or a prefix of several, joined into one stream in key order, each object decompressed
//! on its own (a prefix may mix `.csv` and `.csv.gz`), CSV headers checked equal and dropped after the
//! first, a newline put between JSON Lines objects that lack one. Line numbers in messages count over
//! the joined stream; an error inside one object names it.
//!
//! A Parquet object is read through `objects::RemoteFile` (footer and the asked-for column chunks
//! only); a prefix whose first object is Parquet is a list of Parquet objects, read as one log (each
//! object's footer read when its turn comes; one that is not Parquet is an error naming it).

use std::io::{self, Read};
use std::sync::atomic::Ordering;

use crate::objects::{ObjectRead, Remote, RemoteFile};

use super::source::{Format, Input, ParquetFile, counting, decode};
use super::{FairnessError, Progress};

pub(crate) fn open<'p>(url: &str, file: &str, progress: &'p Progress) -> Result<(Format, Input<'p>), FairnessError> {
    let remote = Remote::open(url).map_err(|e| FairnessError::io(file, e))?;
    progress.total_bytes.store(remote.total_bytes(), Ordering::Relaxed);
    progress.bytes_read.store(0, Ordering::Relaxed);
    let (format, first) = open_object(&remote, 0, file, progress)?;
    let first = match first {
        Input::Parquet(_) => {
            let all = (0..remote.objects.len()).map(|i| ParquetFile::Remote(RemoteFile::new(&remote, i))).collect();
            return Ok((format, Input::Parquet(all)));
        }
        Input::Stream(s) => s,
    };
    if remote.objects.len() == 1 {
        return Ok((format, Input::Stream(first)));
    }
    let csv = matches!(format, Format::Csv(_));
    let mut first = first;
    let header = if csv { Some(first_line(&mut first, &remote.object_url(0))?) } else { None };
    let lead: Box<dyn Read + Send + 'p> = match &header {
        Some(h) => Box::new(io::Cursor::new(h.clone()).chain(first)),
        None => first,
    };
    Ok((format, Input::Stream(Box::new(Joined { remote, file: file.to_string(), next: 1, current: lead, header, last: b'\n', between: false, progress }))))
}

/// Object `i` of `remote`: Parquet, or its decoded stream (raw bytes counted into `progress`).
fn open_object<'p>(remote: &Remote, i: usize, file: &str, progress: &'p Progress) -> Result<(Format, Input<'p>), FairnessError> {
    let name = remote.objects.get(i).map(|o| o.name().to_string()).unwrap_or_default();
    let what = if remote.prefix { remote.object_url(i) } else { file.to_string() };
    // The first 4 bytes in a request of their own: a Parquet object is then read by column chunk.
    let magic = RemoteFile::new(remote, i).first_bytes(4).map_err(|e| FairnessError::io(&what, format!("cannot read: {e}")))?.to_vec();
    if magic == b"PAR1" {
        return Ok((Format::Parquet, Input::Parquet(vec![ParquetFile::Remote(RemoteFile::new(remote, i))])));
    }
    let raw = counting(ObjectRead::new(remote, i, 0), progress);
    let (format, stream) = decode(raw, &magic, &name, &what)?;
    Ok((format, Input::Stream(stream)))
}

/// Reads one line (through its `\n`), at most `max_record_bytes`.
fn first_line(r: &mut impl Read, what: &str) -> Result<Vec<u8>, FairnessError> {
    let max = super::max_record_bytes();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match r.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {
                line.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
                if line.len() > max {
                    return Err(FairnessError::input(what, Some(super::Location::Line(1)), None, format!("the header is longer than {max} bytes")));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FairnessError::io(what, format!("cannot read: {e}"))),
        }
    }
    Ok(line)
}

/// The header without a byte-order mark and line ending, for comparing objects' headers.
fn bare(h: &[u8]) -> &[u8] {
    let h = h.strip_prefix(super::source::BOM).unwrap_or(h);
    let h = h.strip_suffix(b"\n").unwrap_or(h);
    h.strip_suffix(b"\r").unwrap_or(h)
}

/// The objects of a prefix as one stream.
struct Joined<'p> {
    remote: Remote,
    file: String,
    /// The next object to open.
    next: usize,
    current: Box<dyn Read + Send + 'p>,
    /// The first object's CSV header line (CSV only).
    header: Option<Vec<u8>>,
    /// The last byte handed out (a newline goes between objects that lack one).
    last: u8,
    /// Whether the separating newline is still owed.
    between: bool,
    progress: &'p Progress,
}

impl Joined<'_> {
    fn advance(&mut self) -> io::Result<bool> {
        if self.next >= self.remote.objects.len() {
            return Ok(false);
        }
        let i = self.next;
        self.next += 1;
        let what = self.remote.object_url(i);
        let (format, input) = open_object(&self.remote, i, &self.file, self.progress).map_err(|e| io::Error::other(e.to_string()))?;
        let mut stream = match input {
            Input::Stream(s) => s,
            Input::Parquet(_) => return Err(io::Error::other(format!("{what}: a Parquet object in a prefix of CSV or JSON Lines objects"))),
        };
        if let Some(h) = &self.header {
            if !matches!(format, Format::Csv(_)) {
                return Err(io::Error::other(format!("{what}: not CSV like the prefix's first object")));
            }
            let line = first_line(&mut stream, &what).map_err(|e| io::Error::other(e.to_string()))?;
            if bare(&line) != bare(h) {
                return Err(io::Error::other(format!(
                    "{what}: its header ({}) differs from the first object's ({})",
                    String::from_utf8_lossy(bare(&line)),
                    String::from_utf8_lossy(bare(h))
                )));
            }
        }
        self.between = self.last != b'\n';
        self.current = stream;
        Ok(true)
    }
}

impl Read for Joined<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.between {
                self.between = false;
                self.last = b'\n';
                buf[0] = b'\n';
                return Ok(1);
            }
            let n = self.current.read(buf)?;
            if n > 0 {
                self.last = buf[n - 1];
                return Ok(n);
            }
            if !self.advance()? {
                return Ok(0);
            }
        }
    }
}
