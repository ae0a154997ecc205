//! Steward's log: JSON Lines (one event per line: `timestamp`, `level`, `target`, `fields`, from
//! tracing-subscriber's json format) in `Home::log_dir()`, rotated by size with file-rotate:
//! `steward.log` grows to [`MAX_FILE_BYTES`], then becomes `steward.log.1` (older ones shift up) and at
//! most [`KEEP`] old files are kept, so the log never takes more than (KEEP + 1) x 5 MiB = 20 MiB.
//!
//! The level is `info` unless `RUST_LOG` says otherwise (tracing's EnvFilter syntax, e.g.
//! `RUST_LOG=steward=debug`); `--verbose` also prints events at `debug` and above on stderr.
//! What is logged: every call to an outside system (HTTP: method, URL without user info, status or
//! error, bytes, milliseconds; target `steward::http`), each command's start and outcome. Never a
//! credential: URLs are shown without user info, and server messages are redacted before they are
//! logged (`connect::redact`). Several processes on one home append to the same file; rotation is
//! per process (a concurrent rotation may leave one file a little past the cap).

use std::path::Path;
use std::sync::Mutex;

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt};

/// The log file's name in the log folder.
pub const FILE: &str = "steward.log";
/// Bytes after which the log file is rotated.
pub const MAX_FILE_BYTES: usize = 5 << 20;
/// Rotated files kept (`steward.log.1` .. `steward.log.3`).
pub const KEEP: usize = 3;

/// Starts logging into `dir` (None: no file) and, with `verbose`, to stderr. Returns a warning to show
/// once when the file cannot be written (the run goes on without it); calling it twice does nothing.
pub fn init(dir: Option<&Path>, verbose: bool) -> Option<String> {
    let mut warning = None;
    let file = dir.and_then(|d| match writable(d) {
        Ok(()) => Some(Guarded::new(d)),
        Err(e) => {
            warning = Some(format!("cannot write the log in {}: {e}; logging to the file is off for this run", d.display()));
            None
        }
    });
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let file_layer = file.map(|w| fmt::layer().json().with_ansi(false).with_writer(Mutex::new(w)).with_filter(filter));
    let stderr_layer = verbose.then(|| fmt::layer().with_ansi(false).with_target(true).with_writer(std::io::stderr).with_filter(LevelFilter::DEBUG));
    let _ = tracing_subscriber::registry().with(file_layer).with(stderr_layer).try_init();
    warning
}

/// The rotating file, written only while its folder is there or can be made again: file-rotate panics
/// when it cannot (re)create the folder (say it was removed and its parent is now a file or read-only),
/// and a log must never take the window down. Events that cannot be written are dropped, said once on
/// stderr.
struct Guarded {
    dir: std::path::PathBuf,
    file: Option<FileRotate<AppendCount>>,
    said: bool,
}

impl Guarded {
    fn new(dir: &Path) -> Guarded {
        let mut g = Guarded { dir: dir.to_path_buf(), file: None, said: false };
        g.ready();
        g
    }

    /// The file, (re)opened when its folder exists or can be made again.
    fn ready(&mut self) -> Option<&mut FileRotate<AppendCount>> {
        if !self.dir.is_dir() {
            self.file = None;
            if let Err(e) = std::fs::create_dir_all(&self.dir) {
                if !self.said {
                    self.said = true;
                    eprintln!("steward: warning: the log folder {} is gone and cannot be made again ({e}); events are dropped", self.dir.display());
                }
                return None;
            }
        }
        if self.file.is_none() {
            self.file = Some(FileRotate::new(self.dir.join(FILE), AppendCount::new(KEEP), ContentLimit::BytesSurpassed(MAX_FILE_BYTES), Compression::None, None));
        }
        self.file.as_mut()
    }
}

impl std::io::Write for Guarded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.ready() {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// The folder exists (created if missing) and the log file in it can be opened for appending.
fn writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(FILE);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
        return Err(std::io::Error::other(format!("{} is not a regular file", path.display())));
    }
    std::fs::OpenOptions::new().create(true).append(true).open(&path).map(|_| ())
}

/// The last `n` lines of the log file in `dir` (at most 64 KiB read from its end), for crash reports.
pub fn tail(dir: &Path, n: usize) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(dir.join(FILE)) else { return Vec::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let from = len.saturating_sub(64 << 10);
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(from)).is_err() || f.take(64 << 10).read_to_end(&mut buf).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines: Vec<String> = text.lines().skip(usize::from(from > 0)).map(str::to_string).collect();
    let keep = lines.len().saturating_sub(n);
    lines.drain(..keep);
    lines
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_log_folder_removed_mid_run_is_made_again_or_its_events_dropped_without_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("state");
        let dir = parent.join("logs");
        let mut g = Guarded::new(&dir);
        g.write_all(b"one\n").unwrap();
        g.flush().unwrap();
        // Removed: made again, and the next event lands.
        std::fs::remove_dir_all(&dir).unwrap();
        g.write_all(b"two\n").unwrap();
        g.flush().unwrap();
        assert_eq!(std::fs::read_to_string(dir.join(FILE)).unwrap(), "two\n");
        // Removed and its parent now a file (the folder cannot be made, even by root): dropped, no panic.
        std::fs::remove_dir_all(&parent).unwrap();
        std::fs::write(&parent, "not a folder").unwrap();
        g.write_all(b"three\n").unwrap();
        g.flush().unwrap();
        assert!(!dir.exists());
    }
}
