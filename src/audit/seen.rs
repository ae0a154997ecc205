//! The last head of each team store this home saw (`<log>.seen.json`: store URL -> {count, head}).
//! Anyone who can write the table could rewrite it and compute the chain again; a home that saw the
//! old head notices that the chain no longer extends it. Checked by verify (an error) and after every
//! append (a warning, [`take_warnings`]); a mismatch leaves the seen head as it was, so it keeps being
//! reported. `steward audit anchor` publishes a head outside the database for the same purpose.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use super::{Head, Record, SharedStore, Verified, sha256_hex, short};

static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Warnings found since the last call (the faces show them: the CLI on stderr, the window in the Audit
/// view).
pub fn take_warnings() -> Vec<String> {
    WARNINGS.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default()
}

fn load(path: &Path) -> BTreeMap<String, Head> {
    std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

fn save(path: &Path, store: &str, head: Head) {
    let mut all = load(path);
    all.insert(store.to_string(), head);
    if let Ok(text) = serde_json::to_string_pretty(&all) {
        let tmp = path.with_extension("seen.tmp");
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }
}

fn rewritten(store: &str, seen: &Head, now: Option<&str>) -> String {
    format!(
        "the team audit chain in {store} no longer extends the head this home last saw (record {} ending in {}; {}): \
         the table was rewritten or cut since. Compare with an anchor (`steward audit verify --anchor FILE`)",
        seen.count,
        short(&seen.head),
        match now {
            Some(h) => format!("that record now hashes to {}", short(h)),
            None => "that record is gone".into(),
        }
    )
}

/// Verify's check: `bytes` (the chain, verified as `v`) must extend the seen head; then `v` is the seen
/// head.
pub(super) fn check(path: &Path, store: &str, bytes: &[u8], v: &Verified) -> Result<(), String> {
    if let Some(seen) = load(path).get(store) {
        let now = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).nth(seen.count.saturating_sub(1) as usize).map(sha256_hex);
        if seen.count > 0 && now.as_deref() != Some(seen.head.as_str()) {
            return Err(rewritten(store, seen, now.as_deref()));
        }
    }
    save(path, store, Head { count: v.count, head: v.head.clone() });
    Ok(())
}

/// After an append: the record at the seen count must still hash to the seen head (a warning
/// otherwise); then the new record is the seen head.
pub(super) fn after_append(path: &Path, store: &SharedStore, record: &Record) {
    let seen = load(path).get(store.display()).cloned();
    if let Some(seen) = seen.filter(|s| s.count > 0 && s.count < record.seq) {
        match store.line_hash(seen.count) {
            Ok(now) if now.as_deref() == Some(seen.head.as_str()) => {}
            Ok(now) => {
                if let Ok(mut w) = WARNINGS.lock() {
                    w.push(rewritten(store.display(), &seen, now.as_deref()));
                }
                return;
            }
            Err(_) => return,
        }
    }
    if let Ok(line) = serde_json::to_string(record) {
        save(path, store.display(), Head { count: record.seq, head: sha256_hex(line.as_bytes()) });
    }
}
