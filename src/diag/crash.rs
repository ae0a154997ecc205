//! Crash reports. A panic hook writes `crash-<UTC time>.txt` into the log folder: Steward's version,
//! the OS, the thread, the panic message and where it happened, a backtrace, and the last
//! [`LOG_LINES`] lines of the log, with every credential the environment holds or the keyring gave blanked (the values
//! `connect::redact` blanks in server messages). The next time the window opens it offers the report
//! ("Steward closed unexpectedly last time"); a report is pending until it is dismissed (renamed to
//! `crash-<time>.seen.txt`). At most [`KEEP`] reports are kept, the oldest removed first.

use std::path::{Path, PathBuf};

use crate::connect::credentials::known_secrets;
use crate::connect::redact::redact;

/// Log lines copied into a report.
pub const LOG_LINES: usize = 40;
/// Reports kept in the folder.
pub const KEEP: usize = 10;

/// Installs the panic hook writing reports into `dir` (then the default hook prints as before).
pub fn install(dir: PathBuf) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let place = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let backtrace = std::backtrace::Backtrace::force_capture().to_string();
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        tracing::error!(target: "steward::crash", %message, %place, %thread, "panic");
        let _ = write_report(&dir, &message, &place, &thread, &backtrace, &known_secrets());
        previous(info);
    }));
}

/// Writes one report with each of `secrets` blanked; returns its path.
pub fn write_report(dir: &Path, message: &str, place: &str, thread: &str, backtrace: &str, secrets: &[String]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let now = chrono::Utc::now();
    let path = dir.join(format!("crash-{}.txt", now.format("%Y%m%dT%H%M%S%.3fZ")));
    let mut text = format!(
        "Steward {} crashed at {}\nOS: {} ({} {})\nThread: {thread}\nPanic: {message}\nAt: {place}\n\nBacktrace:\n{backtrace}\n\nLast log lines ({}):\n",
        env!("CARGO_PKG_VERSION"),
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        os_name(),
        std::env::consts::OS,
        std::env::consts::ARCH,
        super::log::FILE,
    );
    for line in super::log::tail(dir, LOG_LINES) {
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(&path, redact(&text, secrets))?;
    prune(dir);
    Ok(path)
}

/// The OS's name from /etc/os-release (PRETTY_NAME), else the platform.
fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

/// Reports in `dir`, oldest first (names sort by time).
fn reports(dir: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("crash-") && n.ends_with(".txt"))).collect())
        .unwrap_or_default();
    all.sort();
    all
}

fn prune(dir: &Path) {
    let all = reports(dir);
    for old in all.iter().take(all.len().saturating_sub(KEEP)) {
        let _ = std::fs::remove_file(old);
    }
}

/// The newest report not yet dismissed, with its text (at most 256 KiB read).
pub fn pending(dir: &Path) -> Option<(PathBuf, String)> {
    use std::io::Read;
    let path = reports(dir).into_iter().rev().find(|p| !p.to_string_lossy().ends_with(".seen.txt"))?;
    let mut text = String::new();
    std::fs::File::open(&path).ok()?.take(256 << 10).read_to_string(&mut text).ok()?;
    Some((path, text))
}

/// Marks a report as seen (renamed to `*.seen.txt`), so it is not offered again.
pub fn dismiss(path: &Path) -> std::io::Result<()> {
    let seen = path.with_extension("seen.txt");
    std::fs::rename(path, seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_blanks_secrets_is_offered_once_and_old_ones_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join(super::super::log::FILE), "line one\nthe token tok-123456 in a log line\n").unwrap();
        let secrets = vec!["tok-123456".to_string()];
        let p = write_report(d, "failed with tok-123456", "src/x.rs:1", "main", "frame 0", &secrets).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("tok-123456"), "{text}");
        assert!(text.contains("failed with [redacted]") && text.contains("the token [redacted] in a log line") && text.contains("Backtrace:\nframe 0"), "{text}");
        let (offered, shown) = pending(d).unwrap();
        assert_eq!(offered, p);
        assert_eq!(shown, text);
        dismiss(&p).unwrap();
        assert!(pending(d).is_none(), "a dismissed report is not offered again");
        for i in 0..KEEP + 3 {
            write_report(d, &format!("crash {i}"), "", "", "", &[]).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(reports(d).len(), KEEP);
        assert!(pending(d).unwrap().1.contains(&format!("Panic: crash {}", KEEP + 2)), "the newest is offered");
    }
}
