//! `steward audit repair`: the one damage Steward repairs itself is a torn last record (the process or
//! the machine died in the middle of an append). Its bytes are moved to a side file next to the log
//! (never deleted), the log is cut back to the last whole record, and a record saying so (size and
//! SHA-256 of the torn bytes, the side file) is appended, so the chain verifies and acting works again.
//! Any other damage (an edited, deleted or reordered record, a truncated log) is refused: it is evidence.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;

use super::{Actor, AuditError, AuditLog, Entry, Phase, Record, sha256_hex, verify_bytes};

/// What a repair did.
#[derive(Debug, Clone, PartialEq)]
pub struct Repaired {
    /// Whole records kept before the torn one.
    pub kept: u64,
    /// Size of the torn bytes moved aside.
    pub torn_bytes: u64,
    /// SHA-256 (hex) of the torn bytes.
    pub torn_sha256: String,
    /// Where the torn bytes are now.
    pub side_file: PathBuf,
    /// The record that tells of the repair.
    pub record: Record,
}

impl AuditLog {
    /// Moves a torn last record aside (see the module doc). `Ok(None)`: the log verifies, nothing to do.
    /// Errors: any damage other than a torn last record (nothing is changed), or I/O.
    pub fn repair_torn_tail(&self, actor: Actor) -> Result<Option<Repaired>, AuditError> {
        let _ops = self.lock_operations()?;
        let damaged = |cause: String| AuditError::Damaged { path: self.path.clone(), cause };
        let (kept, torn, side_file) = {
            let _append = self.lock_file("append-lock")?;
            crate::domain::regular_file(&self.path).map_err(|m| self.io(m.to_string()))?;
            let bytes = match std::fs::read(&self.path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(self.io(e)),
            };
            let head = self.read_head()?;
            let cut = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            if cut == bytes.len() {
                return match verify_bytes(&bytes, head.as_ref()) {
                    Ok(_) => Ok(None),
                    Err(e) => Err(damaged(format!("{e}; that is not a torn last record, so nothing was repaired"))),
                };
            }
            let (whole, torn) = bytes.split_at(cut);
            let kept = verify_bytes(whole, head.as_ref()).map_err(|e| {
                damaged(format!("the records before the torn last one do not verify ({e}), so nothing was repaired"))
            })?;
            let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "audit".into());
            let side_file = self.path.with_file_name(format!("{name}.torn-{}", Utc::now().format("%Y%m%dT%H%M%S%.3fZ")));
            let mut side = OpenOptions::new().write(true).create_new(true).open(&side_file).map_err(|e| self.io(e))?;
            side.write_all(torn).and_then(|_| side.sync_all()).map_err(|e| self.io(e))?;
            let log = OpenOptions::new().write(true).open(&self.path).map_err(|e| self.io(e))?;
            log.set_len(cut as u64).and_then(|_| log.sync_all()).map_err(|e| self.io(e))?;
            (kept.count, torn.to_vec(), side_file)
        };
        let torn_sha256 = sha256_hex(&torn);
        let record = self.append(Entry {
            phase: Phase::Observed,
            op: None,
            actor,
            action: "audit_repair".into(),
            registry: String::new(),
            model: String::new(),
            alias: String::new(),
            from: None,
            to: None,
            reason: format!(
                "a torn last record ({} bytes, SHA-256 {torn_sha256}) was moved to {}; the {kept} records before it verify",
                torn.len(),
                side_file.display()
            ),
            outcome: None,
            error: None,
            endpoint: None,
            gates: None,
            segment: None,
        })?;
        Ok(Some(Repaired { kept, torn_bytes: torn.len() as u64, torn_sha256, side_file, record }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Actor, AuditLog, Entry, Phase, verify};

    fn entry(n: u32) -> Entry {
        Entry {
            phase: Phase::Observed,
            op: None,
            actor: Actor::new("alice", None),
            action: "alias_moved".into(),
            registry: "r".into(),
            model: "m".into(),
            alias: "champion".into(),
            from: None,
            to: Some(n.into()),
            reason: format!("record {n}"),
            outcome: None,
            error: None,
            endpoint: None,
            gates: None,
            segment: None,
        }
    }

    #[test]
    fn a_torn_tail_is_moved_aside_and_the_chain_verifies_again() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        for n in 1..=3 {
            log.append(entry(n)).unwrap();
        }
        // Power lost in the middle of the fourth append: half a line, no newline.
        let whole = std::fs::read(log.path()).unwrap();
        let torn = br#"{"seq":4,"time":"2026-11-29T19:00:00.000Z","phase":"obs"#;
        std::fs::write(log.path(), [whole.as_slice(), torn].concat()).unwrap();
        assert!(verify(log.path()).is_err());
        assert!(log.append(entry(9)).is_err(), "a torn log refuses appends");

        let done = log.repair_torn_tail(Actor::new("bob", None)).unwrap().unwrap();
        assert_eq!((done.kept, done.torn_bytes), (3, torn.len() as u64));
        assert_eq!(std::fs::read(&done.side_file).unwrap(), torn.to_vec(), "the torn bytes are kept");
        assert_eq!(done.torn_sha256, super::sha256_hex(torn));
        let v = verify(log.path()).unwrap();
        assert_eq!(v.count, 4, "three records and the repair record");
        assert_eq!(done.record.seq, 4);
        assert!(done.record.entry.reason.contains(&done.torn_sha256));
        log.append(entry(5)).unwrap();
        assert_eq!(verify(log.path()).unwrap().count, 5);
        // Nothing left to repair.
        assert_eq!(log.repair_torn_tail(Actor::new("bob", None)).unwrap(), None);
    }

    #[test]
    fn other_damage_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        for n in 1..=3 {
            log.append(entry(n)).unwrap();
        }
        // Record 2 edited, and a torn tail: the edit is evidence, so nothing is repaired.
        let text = std::fs::read_to_string(log.path()).unwrap().replace("record 2", "record X");
        let damaged = format!("{text}{{\"seq\":4");
        std::fs::write(log.path(), &damaged).unwrap();
        let e = log.repair_torn_tail(Actor::new("bob", None)).unwrap_err();
        assert!(e.to_string().contains("do not verify"), "{e}");
        assert_eq!(std::fs::read_to_string(log.path()).unwrap(), damaged, "nothing was changed");
        // An edit without a torn tail: also refused, unchanged.
        std::fs::write(log.path(), &text).unwrap();
        let e = log.repair_torn_tail(Actor::new("bob", None)).unwrap_err();
        assert!(e.to_string().contains("not a torn last record"), "{e}");
        assert_eq!(std::fs::read_to_string(log.path()).unwrap(), text);
    }
}
