//! The audit log: append-only JSON Lines, each record carrying the SHA-256 of the previous line (a hash
//! chain), plus a head file (record count and last hash) that makes truncation at the end detectable.
//!
//! Every operator action writes an `intent` record (fsynced) before it touches a registry and an
//! `outcome` record after. Moves noticed outside Steward are `observed` records; an interrupted
//! operation's follow-up is a `resolution` record.

mod actor;
mod lines;
mod repair;
mod seen;
pub mod shared;
mod verify;

pub use actor::{Actor, os_user};
pub use repair::Repaired;
pub use seen::take_warnings;

pub use shared::{SegmentNote, SharedStore};
pub use verify::{Anchor, VerifyError, Verified, check_anchor, verify, verify_bytes};
pub use lines::MAX_RECORD;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::VersionNumber;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Intent,
    Outcome,
    Observed,
    Resolution,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
    Refused,
    /// Steward could not learn whether the registry changed (the write's reply was lost and the
    /// registry could not be re-read, or re-reads contradicted the write's reply). The operation stays
    /// open until a resolution record settles it against the registry.
    Unknown,
}

impl Outcome {
    /// The word for people and reports: "succeeded", "failed", "refused", "unknown".
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::Unknown => "unknown",
        }
    }
}


/// What an action is about, before it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub phase: Phase,
    /// For outcome/resolution records: the `seq` of the intent they close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<u64>,
    pub actor: Actor,
    /// e.g. "promote", "rollback", "alias_move" (observed), "recover".
    pub action: String,
    /// Secret-free description of the registry ("MLflow at http://...").
    pub registry: String,
    pub model: String,
    pub alias: String,
    pub from: Option<VersionNumber>,
    pub to: Option<VersionNumber>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For moves of a bound alias: what was done to the serving endpoint (outcome records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EndpointNote>,
    /// Intent records of judged moves: the gate report as evaluated (`ops::GateReport`: the policy file
    /// and digest, each gate's inputs, values, bounds and verdict) and the override's reason, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates: Option<serde_json::Value>,
    /// `audit_import` records of a team store: the local log copied in as a segment (`audit push`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentNote>,
}

/// What an alias move did to a bound serving endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointNote {
    /// The endpoint URL, without credentials.
    pub endpoint: String,
    pub served_model: String,
    /// One line per finished step, in order ("endpoint load ok: ...").
    pub steps: Vec<String>,
    /// The smoke inference's outputs, when one was made and answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<serde_json::Value>,
}

/// A record as stored: the entry plus its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub time: String,
    #[serde(flatten)]
    pub entry: Entry,
    /// SHA-256 (hex) of the previous line's bytes; GENESIS for the first record.
    pub prev: String,
}

impl Record {
    pub fn time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.time).ok().map(|t| t.with_timezone(&Utc))
    }
}

/// The record that follows `count` records whose last line hashed to `prev`.
pub(crate) fn chained(count: u64, prev: String, entry: Entry) -> Record {
    Record { seq: count + 1, time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true), entry, prev }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Head {
    pub count: u64,
    pub head: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {cause}")]
    Io { path: PathBuf, cause: String },
    #[error(
        "audit log {path} is damaged: {cause}; nothing was appended. `steward audit verify` names the first bad record; \
         `steward audit repair` repairs a torn last record (a crash mid-append)"
    )]
    Damaged { path: PathBuf, cause: String },
    #[error(
        "the team's audit store {store} cannot be used: {cause}. Moves are refused while it is down (a team's history \
         must not have holes); nothing was recorded"
    )]
    Store { store: String, cause: String },
}

/// The audit log: the home's file, or a team's shared store (PostgreSQL) when the profile names one.
/// Cheap to construct; every call opens what it needs.
#[derive(Debug, Clone)]
pub struct AuditLog {
    /// The home's log file (with a shared store: where this home keeps the last team head it saw).
    path: PathBuf,
    shared: Option<SharedStore>,
}

/// Held while an operation runs: serialises operations across Steward processes sharing a home, and
/// with a shared store, moves of one alias across the team.
pub struct OpLock {
    _file: File,
    _team: Option<shared::MoveLock>,
}

impl AuditLog {
    pub fn new(path: PathBuf) -> Self {
        AuditLog { path, shared: None }
    }

    /// The team's store; `path` is the home's log file, beside which the last seen head is kept.
    pub fn shared(path: PathBuf, store: SharedStore) -> Self {
        AuditLog { path, shared: Some(store) }
    }

    pub fn store(&self) -> Option<&SharedStore> {
        self.shared.as_ref()
    }

    /// "audit log PATH" or "team audit store URL", for messages and reports.
    pub fn describe(&self) -> String {
        match &self.shared {
            Some(s) => format!("team audit store {}", s.display()),
            None => format!("audit log {}", self.path.display()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The log as bytes (one record per line) and its head: the file and its head file, or a
    /// consistent snapshot of the team store. Memory: the whole log.
    pub fn snapshot(&self) -> Result<(Vec<u8>, Option<Head>), AuditError> {
        if let Some(s) = &self.shared {
            return s.snapshot();
        }
        crate::domain::regular_file(&self.path).map_err(|m| self.io(m.to_string()))?;
        let head = self.read_head()?;
        match std::fs::read(&self.path) {
            Ok(b) => Ok((b, head)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Vec::new(), head)),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Verifies the chain (file: [`verify`]; team store: the table against its head row, then every
    /// imported segment against its head and the import record that names it), and checks that the
    /// chain still extends the last head this home saw. Errors name the first bad record.
    pub fn verify(&self) -> Result<Verified, String> {
        let Some(store) = &self.shared else {
            let v = verify(&self.path).map_err(|e| e.to_string())?;
            return Ok(v);
        };
        let (bytes, head) = store.snapshot().map_err(|e| e.to_string())?;
        let v = verify_bytes(&bytes, head.as_ref()).map_err(|e| e.to_string())?;
        seen::check(&self.seen_path(), store.display(), &bytes, &v)?;
        let records: Vec<Record> = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).filter_map(|l| serde_json::from_slice(l).ok()).collect();
        for (note, seg) in store.segments().map_err(|e| e.to_string())? {
            let named = records.iter().find(|r| r.entry.segment.as_ref().is_some_and(|s| s.segment == note.segment));
            match named {
                Some(r) if r.entry.segment.as_ref() == Some(&note) => {}
                Some(r) => return Err(format!("segment {}: its head row does not match what import record {} says", note.segment, r.seq)),
                None => return Err(format!("segment {} is named by no import record of the team chain", note.segment)),
            }
            verify_bytes(&seg, Some(&Head { count: note.count, head: note.head.clone() }))
                .map_err(|e| format!("imported segment {} (from {}): {e}", note.segment, note.source))?;
        }
        Ok(v)
    }

    fn seen_path(&self) -> PathBuf {
        self.path.with_extension("seen.json")
    }

    pub fn head_path(&self) -> PathBuf {
        self.path.with_extension("head")
    }

    fn io(&self, e: impl std::fmt::Display) -> AuditError {
        AuditError::Io { path: self.path.clone(), cause: e.to_string() }
    }

    fn ensure_dir(&self) -> Result<(), AuditError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Blocks until no other Steward process is running an operation on this home.
    pub fn lock_operations(&self) -> Result<OpLock, AuditError> {
        self.ensure_dir()?;
        Ok(OpLock { _file: self.lock_file("lock")?, _team: None })
    }

    /// [`Self::lock_operations`], and with a team store, the team-wide lock of `model@alias` on
    /// `registry` (waits for another operator's move of the same alias; see [`shared`]).
    pub fn lock_move(&self, registry: &str, model: &str, alias: &str) -> Result<OpLock, AuditError> {
        let mut lock = self.lock_operations()?;
        if let Some(s) = &self.shared {
            lock._team = Some(s.lock_move(shared::move_key(registry, model, alias), &format!("{model}@{alias}"))?);
        }
        Ok(lock)
    }

    /// An exclusive OS lock on `<log>.<extension>`, held until the file is dropped.
    fn lock_file(&self, extension: &str) -> Result<File, AuditError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.with_extension(extension))
            .map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(format!("cannot lock: {e}")))?;
        Ok(file)
    }

    /// Drops the open intents (from [`open_intents`]) whose move is still running elsewhere: with a team
    /// store, those whose alias lock another session holds. `mine`: the (model, alias) this process is
    /// moving under its own lock (never counted as running elsewhere). The file: nothing is dropped (the
    /// home's operation lock is held by whoever reads this).
    pub fn without_running(
        &self,
        open: Vec<(Record, Option<Record>)>,
        mine: Option<(&str, &str)>,
    ) -> Result<Vec<(Record, Option<Record>)>, AuditError> {
        let Some(s) = &self.shared else { return Ok(open) };
        let keys = open.iter().map(|(i, _)| shared::move_key(&i.entry.registry, &i.entry.model, &i.entry.alias)).collect();
        let held = s.held(keys)?;
        Ok(open
            .into_iter()
            .zip(held)
            .filter(|((i, _), held)| !*held || mine == Some((i.entry.model.as_str(), i.entry.alias.as_str())))
            .map(|(o, _)| o)
            .collect())
    }

    /// Which of `aliases` of `model` on `registry` have a move running now (their team lock is held
    /// elsewhere); always none for the file. Ask before reading the log, so that a move finished after
    /// the answer is in what is read.
    pub fn running_aliases<'a>(
        &self,
        registry: &str,
        model: &str,
        aliases: impl Iterator<Item = &'a String>,
    ) -> Result<std::collections::BTreeSet<String>, AuditError> {
        let Some(s) = &self.shared else { return Ok(Default::default()) };
        let aliases: Vec<&String> = aliases.collect();
        let held = s.held(aliases.iter().map(|a| shared::move_key(registry, model, a)).collect())?;
        Ok(aliases.into_iter().zip(held).filter(|(_, h)| *h).map(|(a, _)| a.clone()).collect())
    }

    /// All records (for history and recovery). A missing log is empty.
    pub fn read_all(&self) -> Result<Vec<Record>, AuditError> {
        if let Some(s) = &self.shared {
            return s.read_all();
        }
        crate::domain::regular_file(&self.path).map_err(|m| self.io(m.to_string()))?;
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        let mut out = Vec::new();
        let mut lines = lines::Lines::new(file);
        loop {
            let (line_no, line, _) = match lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => return Err(self.line_error(e)),
            };
            if line.is_empty() {
                continue;
            }
            let rec: Record = serde_json::from_slice(line).map_err(|e| AuditError::Damaged {
                path: self.path.clone(),
                cause: format!("line {line_no} is not a valid record ({e})"),
            })?;
            out.push(rec);
        }
        Ok(out)
    }

    fn line_error(&self, e: lines::LineError) -> AuditError {
        match e {
            lines::LineError::Io(e) => self.io(e),
            too_long => AuditError::Damaged { path: self.path.clone(), cause: too_long.to_string() },
        }
    }

    /// Appends one record: reads the current head, chains to it, writes the line, fsyncs the log, then
    /// replaces the head file (write, fsync, rename). Callers hold an `OpLock` or take one here.
    pub fn append(&self, entry: Entry) -> Result<Record, AuditError> {
        if let Some(s) = &self.shared {
            let record = s.append(entry)?;
            seen::after_append(&self.seen_path(), s, &record);
            return Ok(record);
        }
        self.ensure_dir()?;
        crate::domain::regular_file(&self.path).map_err(|m| self.io(m.to_string()))?;
        let _guard = self.lock_file("append-lock")?;
        let (count, prev) = self.tail()?;
        let record = chained(count, prev, entry);
        let line = serde_json::to_string(&record).map_err(|e| self.io(e))?;
        let mut f = OpenOptions::new().create(true).append(true).open(&self.path).map_err(|e| self.io(e))?;
        f.write_all(format!("{line}\n").as_bytes()).map_err(|e| self.io(e))?;
        f.sync_all().map_err(|e| self.io(e))?;
        self.write_head(&Head { count: record.seq, head: sha256_hex(line.as_bytes()) })?;
        Ok(record)
    }

    /// (record count, hash of the last line), checked against the head file so that we never chain onto
    /// a log that was truncated or edited at its end.
    fn tail(&self) -> Result<(u64, String), AuditError> {
        crate::domain::regular_file(&self.path).map_err(|m| self.io(m.to_string()))?;
        let head = self.read_head()?;
        let file = match File::open(&self.path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(self.io(e)),
        };
        // One pass, one record in memory: the count, the last record's hash, the hash of the record the
        // head file names, and whether the last line was written whole.
        let (mut count, mut last, mut at_head, mut whole) = (0u64, GENESIS.to_string(), None, true);
        if let Some(f) = file {
            let mut lines = lines::Lines::new(f);
            while let Some((_, line, ended)) = lines.next_line().map_err(|e| self.line_error(e))? {
                whole = ended;
                if line.is_empty() {
                    continue;
                }
                count += 1;
                last = sha256_hex(line);
                if head.as_ref().is_some_and(|h| h.count == count) {
                    at_head = Some(last.clone());
                }
            }
        }
        let hash_at = |n: u64| if n == 0 { GENESIS.to_string() } else { at_head.clone().unwrap_or_default() };
        if !whole {
            return Err(AuditError::Damaged { path: self.path.clone(), cause: "the last record is incomplete".into() });
        }
        match head {
            Some(h) if h.count > count || hash_at(h.count) != h.head => Err(AuditError::Damaged {
                path: self.path.clone(),
                cause: format!("the head file says {} records ending in {}, the log has {count}", h.count, short(&h.head)),
            }),
            // A head that lags (a crash between appending and updating it) is brought up to date.
            Some(h) if h.count < count => {
                self.write_head(&Head { count, head: last.clone() })?;
                Ok((count, last))
            }
            _ => Ok((count, last)),
        }
    }

    pub fn read_head(&self) -> Result<Option<Head>, AuditError> {
        if let Some(s) = &self.shared {
            return s.read_head();
        }
        match std::fs::read_to_string(self.head_path()) {
            Ok(t) => serde_json::from_str(&t).map(Some).map_err(|e| AuditError::Damaged {
                path: self.head_path(),
                cause: format!("head file unreadable ({e})"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    fn write_head(&self, head: &Head) -> Result<(), AuditError> {
        let tmp = self.path.with_extension("head.tmp");
        let text = serde_json::to_string(head).map_err(|e| self.io(e))?;
        let mut f = File::create(&tmp).map_err(|e| self.io(e))?;
        f.write_all(text.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, self.head_path()).map_err(|e| self.io(e))
    }

    /// Intents not yet settled: no outcome (the process died mid-operation), or an `unknown` outcome,
    /// and no resolution since.
    pub fn pending_intents(&self) -> Result<Vec<Record>, AuditError> {
        Ok(open_intents(&self.read_all()?).into_iter().map(|(intent, _)| intent).collect())
    }
}

/// Intents that no record settles, each with its `unknown` outcome record if it has one. An outcome
/// other than `unknown` settles its intent; so does a resolution.
pub fn open_intents(records: &[Record]) -> Vec<(Record, Option<Record>)> {
    let settles = |r: &Record| match r.entry.phase {
        Phase::Resolution => true,
        Phase::Outcome => r.entry.outcome != Some(Outcome::Unknown),
        Phase::Intent | Phase::Observed => false,
    };
    let settled: std::collections::BTreeSet<u64> = records.iter().filter(|r| settles(r)).filter_map(|r| r.entry.op).collect();
    let unknown: std::collections::BTreeMap<u64, &Record> = records
        .iter()
        .filter(|r| r.entry.phase == Phase::Outcome && r.entry.outcome == Some(Outcome::Unknown))
        .filter_map(|r| r.entry.op.map(|op| (op, r)))
        .collect();
    records
        .iter()
        .filter(|r| r.entry.phase == Phase::Intent && !settled.contains(&r.seq))
        .map(|r| (r.clone(), unknown.get(&r.seq).map(|u| (*u).clone())))
        .collect()
}

pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

#[cfg(test)]
mod tests;
