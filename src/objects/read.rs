//! Reading objects by range requests: [`ObjectRead`], a sequential `Read` with requests in flight
//! ahead of it, and [`RemoteFile`], Parquet's `ChunkReader` over one object (footer and column chunks
//! fetched as asked).

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::{AHEAD, RANGE, Remote};

fn io_error(url: &str, e: String) -> io::Error {
    io::Error::other(format!("{url}: {e}"))
}

/// The answer to a request started with `Remote::fetch`; errors name `url`.
fn wait(url: &str, rx: Receiver<Result<Bytes, String>>) -> io::Result<Bytes> {
    rx.recv().map_err(|_| io_error(url, "the object-storage client stopped".into()))?.map_err(|e| io_error(url, e))
}

/// Object `index` of a [`Remote`], read in order through range requests of [`RANGE`] bytes with
/// [`AHEAD`] of them in flight. Memory: at most `RANGE x (AHEAD + 1)`.
pub struct ObjectRead {
    remote: Remote,
    index: usize,
    size: u64,
    /// Where the next request starts.
    next: u64,
    pending: VecDeque<Receiver<Result<Bytes, String>>>,
    current: Bytes,
}

impl ObjectRead {
    /// Reads object `index` of `remote` from `start`.
    pub fn new(remote: &Remote, index: usize, start: u64) -> ObjectRead {
        let size = remote.objects.get(index).map(|o| o.size).unwrap_or(0);
        ObjectRead { remote: remote.clone(), index, size, next: start.min(size), pending: VecDeque::new(), current: Bytes::new() }
    }

    fn fill(&mut self) {
        while self.pending.len() < AHEAD && self.next < self.size {
            let end = (self.next + RANGE).min(self.size);
            self.pending.push_back(self.remote.fetch(self.index, self.next..end));
            self.next = end;
        }
    }
}

impl Read for ObjectRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            self.fill();
            let Some(rx) = self.pending.pop_front() else { return Ok(0) };
            self.current = wait(&self.remote.object_url(self.index), rx)?;
            self.fill();
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Bytes fetched ahead within a column chunk by a [`RemoteFile`] (one request per window).
pub const WINDOW: u64 = 1 << 20;
/// Windows a [`RemoteFile`] keeps (least recently used goes first): 16 MiB per reader.
pub const CACHE_WINDOWS: usize = 16;

/// Recently fetched windows (start, bytes), most recent last.
#[derive(Default)]
struct Windows(VecDeque<(u64, Bytes)>);

impl Windows {
    fn find(&self, start: u64, end: u64) -> Option<usize> {
        self.0.iter().rposition(|(s, b)| *s <= start && end <= s + b.len() as u64)
    }
}

/// One object as Parquet's reader sees a file: its length, and bytes at an offset. Parquet's page
/// reader asks for each page header and each page separately (a few bytes, then up to a megabyte), so
/// a miss fetches a window of up to [`WINDOW`] bytes from the offset, never past the end of the column
/// chunk it falls in ([`RemoteFile::bound`], the chunks of the columns asked for): only the footer and
/// those column chunks cross the wire, each in `ceil(size / WINDOW)` requests.
#[derive(Clone)]
pub struct RemoteFile {
    remote: Remote,
    index: usize,
    windows: Arc<Mutex<Windows>>,
    /// Sorted, disjoint byte ranges (column chunks) a window may not cross; empty: no limit.
    bounds: Arc<Vec<std::ops::Range<u64>>>,
}

impl RemoteFile {
    /// Object `index` of `remote`, with an empty cache.
    pub fn new(remote: &Remote, index: usize) -> RemoteFile {
        RemoteFile { remote: remote.clone(), index, windows: Arc::default(), bounds: Arc::default() }
    }

    /// The same object with a cache of its own (for another thread), keeping the bounds.
    pub fn fresh(&self) -> RemoteFile {
        RemoteFile { remote: self.remote.clone(), index: self.index, windows: Arc::default(), bounds: self.bounds.clone() }
    }

    /// Limits read-ahead to `ranges` (the byte ranges of the column chunks that will be read): a read
    /// inside one fetches at most to its end; a read outside all fetches exactly what it asks for.
    pub fn bound(&mut self, mut ranges: Vec<std::ops::Range<u64>>) {
        ranges.sort_by_key(|r| r.start);
        self.bounds = Arc::new(ranges);
    }

    /// The object's URL (for messages).
    pub fn url(&self) -> String {
        self.remote.object_url(self.index)
    }

    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        self.remote.objects.get(self.index).map(|o| o.size).unwrap_or(0)
    }

    fn wait(&self, rx: Receiver<Result<Bytes, String>>) -> io::Result<Bytes> {
        wait(&self.url(), rx)
    }

    /// Where a window fetched for a read at `start..end` ends.
    fn window_end(&self, start: u64, end: u64, size: u64) -> u64 {
        if self.bounds.is_empty() {
            return end.max((start + WINDOW).min(size));
        }
        let i = self.bounds.partition_point(|r| r.start <= start);
        match i.checked_sub(1).and_then(|j| self.bounds.get(j)) {
            Some(r) if start < r.end => end.max((start + WINDOW).min(r.end).min(size)),
            _ => end,
        }
    }

    /// `length` bytes from `start`. Errors: past the end, or the request failed.
    pub fn bytes(&self, start: u64, length: usize) -> io::Result<Bytes> {
        let size = self.size();
        let end = start.saturating_add(length as u64);
        if end > size {
            return Err(io_error(&self.url(), format!("asked for bytes {start}..{end} of an object of {size}")));
        }
        if length == 0 {
            return Ok(Bytes::new());
        }
        let mut cache = self.windows.lock().map_err(|_| io_error(&self.url(), "cache poisoned".into()))?;
        let at = match cache.find(start, end) {
            Some(at) => at,
            None => {
                let to = self.window_end(start, end, size);
                let data = self.wait(self.remote.fetch(self.index, start..to))?;
                if (data.len() as u64) < end - start {
                    return Err(io_error(&self.url(), format!("asked for bytes {start}..{to}, got {}", data.len())));
                }
                cache.0.push_back((start, data));
                while cache.0.len() > CACHE_WINDOWS {
                    cache.0.pop_front();
                }
                cache.0.len() - 1
            }
        };
        let Some((s, data)) = cache.0.remove(at) else {
            return Err(io_error(&self.url(), "window missing from the cache".into()));
        };
        let out = data.slice((start - s) as usize..(end - s) as usize);
        cache.0.push_back((s, data));
        Ok(out)
    }

    /// The object's first `n` bytes (fewer when it is shorter), in one request of exactly that size,
    /// not cached (to tell the format before choosing how to read).
    pub fn first_bytes(&self, n: u64) -> io::Result<Bytes> {
        let end = n.min(self.size());
        if end == 0 {
            return Ok(Bytes::new());
        }
        self.wait(self.remote.fetch(self.index, 0..end))
    }

    /// Fetches the starts of `ranges` (a row group's column chunks: up to [`WINDOW`] bytes of each)
    /// with all requests in flight at once, into the cache: one round trip for the row group instead of
    /// one per column. The cache keeps at least these windows. Errors: a request failed.
    pub fn prefetch(&self, ranges: &[std::ops::Range<u64>]) -> io::Result<()> {
        let size = self.size();
        let mut cache = self.windows.lock().map_err(|_| io_error(&self.url(), "cache poisoned".into()))?;
        let wanted: Vec<(u64, Receiver<Result<Bytes, String>>)> = ranges
            .iter()
            .filter(|r| r.start < r.end && r.end <= size && cache.find(r.start, r.start + 1).is_none())
            .map(|r| (r.start, self.remote.fetch(self.index, r.start..r.end.min(r.start + WINDOW))))
            .collect();
        let n = wanted.len();
        for (start, rx) in wanted {
            let data = self.wait(rx)?;
            cache.0.push_back((start, data));
        }
        while cache.0.len() > CACHE_WINDOWS.max(n) {
            cache.0.pop_front();
        }
        Ok(())
    }

    /// A reader from `start` through the cache.
    pub fn reader(&self, start: u64) -> RangeRead {
        RangeRead { file: self.clone(), pos: start }
    }
}

/// Sequential reads of a [`RemoteFile`] through its cache.
pub struct RangeRead {
    file: RemoteFile,
    pos: u64,
}

impl Read for RangeRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.file.size();
        if buf.is_empty() || self.pos >= size {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(size - self.pos).min(64 << 10) as usize;
        let b = self.file.bytes(self.pos, n)?;
        buf[..n].copy_from_slice(&b);
        self.pos += n as u64;
        Ok(n)
    }
}
