//! Opening a log: format by magic bytes (Parquet `PAR1`, gzip `1f 8b`, zstd `28 b5 2f fd`) and by
//! extension (.jsonl/.ndjson/.json, .csv), decompression, SageMaker data capture (flattened, see
//! `capture`), and progress counting on the raw bytes.

use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::Ordering;

use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::file::metadata::RowGroupMetaData;

use super::{FairnessError, Progress};

/// The UTF-8 byte-order mark some tools write at the start of a file; CSV and JSON Lines skip it.
pub(crate) const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv(Compression),
    JsonLines(Compression),
    Parquet,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, c) = match self {
            Format::Csv(c) => ("csv", c),
            Format::JsonLines(c) => ("jsonl", c),
            Format::Parquet => return write!(f, "parquet"),
        };
        match c {
            Compression::None => write!(f, "{name}"),
            Compression::Gzip => write!(f, "{name}+gzip"),
            Compression::Zstd => write!(f, "{name}+zstd"),
        }
    }
}

pub(crate) enum Input<'p> {
    Stream(Box<dyn Read + Send + 'p>),
    /// One Parquet file, or a prefix's objects in key order (read as one log, row groups in order).
    Parquet(Vec<ParquetFile>),
}

/// A Parquet file for the Parquet reader: local, or an object read by range requests.
pub(crate) enum ParquetFile {
    Local(File, std::path::PathBuf),
    Remote(crate::objects::RemoteFile),
}

impl ParquetFile {
    /// The file's path or the object's URL (for messages).
    pub(crate) fn name(&self) -> String {
        match self {
            ParquetFile::Local(_, p) => p.display().to_string(),
            ParquetFile::Remote(r) => r.url(),
        }
    }

    /// The same file for another thread (local: opened again, as clones of a `File` share its offset;
    /// remote: a cache of its own).
    pub(crate) fn reopen(&self) -> io::Result<ParquetFile> {
        match self {
            ParquetFile::Local(_, p) => Ok(ParquetFile::Local(File::open(p)?, p.clone())),
            ParquetFile::Remote(r) => Ok(ParquetFile::Remote(r.fresh())),
        }
    }

    /// Tells a remote object which byte ranges will be read: the column chunks of the columns in
    /// `mask`, in every row group (its read-ahead stops at their ends). Nothing for a local file.
    pub(crate) fn bound(&mut self, meta: &ArrowReaderMetadata, mask: &ProjectionMask) {
        if let ParquetFile::Remote(r) = self {
            r.bound(meta.metadata().row_groups().iter().flat_map(|g| chunk_ranges(g, mask)).collect());
        }
    }

    /// A remote object: fetches the column chunks of `mask` in row group `group` all at once (one
    /// round trip instead of one per column). Nothing for a local file.
    pub(crate) fn prefetch(&self, meta: &ArrowReaderMetadata, mask: &ProjectionMask, group: usize) -> io::Result<()> {
        let ParquetFile::Remote(r) = self else { return Ok(()) };
        let Some(g) = meta.metadata().row_groups().get(group) else { return Ok(()) };
        r.prefetch(&chunk_ranges(g, mask).collect::<Vec<_>>())
    }
}

/// The byte ranges of a row group's column chunks for the columns in `mask`.
fn chunk_ranges<'a>(g: &'a RowGroupMetaData, mask: &'a ProjectionMask) -> impl Iterator<Item = std::ops::Range<u64>> + 'a {
    g.columns().iter().enumerate().filter(|(j, _)| mask.leaf_included(*j)).map(|(_, c)| {
        let (start, len) = c.byte_range();
        start..start.saturating_add(len)
    })
}

impl parquet::file::reader::Length for ParquetFile {
    fn len(&self) -> u64 {
        match self {
            ParquetFile::Local(f, _) => parquet::file::reader::Length::len(f),
            ParquetFile::Remote(r) => r.size(),
        }
    }
}

impl parquet::file::reader::ChunkReader for ParquetFile {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        match self {
            ParquetFile::Local(f, _) => Ok(Box::new(f.get_read(start)?)),
            ParquetFile::Remote(r) => Ok(Box::new(r.reader(start))),
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        match self {
            ParquetFile::Local(f, _) => f.get_bytes(start, length),
            ParquetFile::Remote(r) => Ok(r.bytes(start, length)?),
        }
    }
}

/// Adds the bytes read to the progress counter.
struct Counting<'p, R> {
    inner: R,
    progress: &'p Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn extension_chain(path: &Path) -> (Option<String>, Option<String>) {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let mut parts = name.rsplit('.');
    let last = parts.next().map(str::to_string);
    let before = parts.next().map(str::to_string);
    (last, before)
}

/// The longest record a prediction-log reader accepts, in bytes: `STEWARD_MAX_RECORD_MIB` MiB (1 to
/// 1024), 16 MiB by default. The CSV engine holds a few copies of the block a record spans (about 8x
/// the record at most), so this cap bounds its memory, not the input: a longer record (a runaway quote,
/// a pasted blob) is an error naming where it starts.
pub fn max_record_bytes() -> usize {
    let mib = std::env::var("STEWARD_MAX_RECORD_MIB").ok().and_then(|v| v.trim().parse::<usize>().ok()).filter(|m| (1..=1024).contains(m)).unwrap_or(16);
    mib << 20
}

pub(crate) fn open<'p>(path: &Path, file: &str, progress: &'p Progress) -> Result<(Format, Input<'p>), FairnessError> {
    if let Some(url) = path.to_str().filter(|s| crate::objects::is_url(s)) {
        return super::remote::open(url, file, progress);
    }
    // A FIFO or device would block or never end: refuse before opening.
    if let Err(m) = crate::domain::regular_file(path) {
        return Err(FairnessError::io(file, m.reason()));
    }
    let mut f = File::open(path).map_err(|e| FairnessError::io(file, format!("cannot open: {e}")))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    progress.total_bytes.store(len, Ordering::Relaxed);
    progress.bytes_read.store(0, Ordering::Relaxed);
    if len == 0 {
        return Err(FairnessError::input(file, None, None, "empty file (0 bytes, no header)"));
    }
    let magic = read_magic(&mut f, file)?;
    f.seek(SeekFrom::Start(0)).map_err(|e| FairnessError::io(file, format!("cannot read: {e}")))?;
    if magic == b"PAR1" {
        return Ok((Format::Parquet, Input::Parquet(vec![ParquetFile::Local(f, path.to_path_buf())])));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let raw: Box<dyn Read + Send + 'p> = Box::new(Counting { inner: f, progress });
    let (format, stream) = decode(raw, &magic, &name, file)?;
    Ok((format, Input::Stream(stream)))
}

/// The first (up to) 4 bytes of `r`.
pub(crate) fn read_magic(r: &mut impl Read, file: &str) -> Result<Vec<u8>, FairnessError> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FairnessError::io(file, format!("cannot read: {e}"))),
        }
    }
    Ok(magic[..got].to_vec())
}

/// Counts the raw bytes read into `progress` (for streams opened elsewhere, such as objects).
pub(crate) fn counting<'p>(inner: impl Read + Send + 'p, progress: &'p Progress) -> Box<dyn Read + Send + 'p> {
    Box::new(Counting { inner, progress })
}

/// Decompression (by `magic`, the stream's first bytes, which `raw` still yields) and the data format
/// (by the extension of `name`, else by the first non-blank byte of the content).
pub(crate) fn decode<'p>(raw: Box<dyn Read + Send + 'p>, magic: &[u8], name: &str, file: &str) -> Result<(Format, Box<dyn Read + Send + 'p>), FairnessError> {
    let (ext, inner_ext) = extension_chain(Path::new(name));
    let compression = if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic == [0x28, 0xb5, 0x2f, 0xfd] {
        Compression::Zstd
    } else {
        match ext.as_deref() {
            Some("gz") | Some("gzip") => {
                return Err(FairnessError::io(file, "named .gz but does not start with gzip's magic bytes"));
            }
            Some("zst") | Some("zstd") => {
                return Err(FairnessError::io(file, "named .zst but does not start with zstd's magic bytes"));
            }
            Some("parquet") | Some("pq") => {
                return Err(FairnessError::io(file, "named .parquet but does not start with PAR1"));
            }
            _ => Compression::None,
        }
    };
    let data_ext = if compression == Compression::None || !matches!(ext.as_deref(), Some("gz" | "gzip" | "zst" | "zstd")) {
        ext
    } else {
        inner_ext
    };
    let mut stream: Box<dyn Read + Send + 'p> = match compression {
        Compression::None => raw,
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(1 << 20, raw))),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(io::BufReader::with_capacity(1 << 20, raw))
                .map_err(|e| FairnessError::io(file, format!("cannot start zstd: {e}")))?,
        ),
    };
    // The first non-blank byte of the content: '{' is JSON Lines, '<' a web page (a login or error
    // page where a log was expected).
    let mut head = vec![0u8; 4096];
    let mut n = 0;
    while n < head.len() {
        match stream.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FairnessError::io(file, format!("read error: {e}"))),
        }
    }
    head.truncate(n);
    let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'<') {
        return Err(FairnessError::io(file, "starts with '<': an HTML or XML page, not a prediction log (CSV, JSON Lines or Parquet)"));
    }
    let jsonl = match data_ext.as_deref() {
        Some("jsonl" | "ndjson" | "json") => true,
        Some("csv" | "txt") => false,
        _ => first == Some(b'{'),
    };
    // SageMaker data capture: nested records, flattened to one JSON object per prediction.
    let capture = jsonl && super::capture::is_capture(&head);
    let stream: Box<dyn Read + Send + 'p> = Box::new(Cursor::new(head).chain(stream));
    let stream: Box<dyn Read + Send + 'p> = if capture { Box::new(super::capture::Flatten::new(stream)) } else { stream };
    let format = if jsonl { Format::JsonLines(compression) } else { Format::Csv(compression) };
    Ok((format, stream))
}
