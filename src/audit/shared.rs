//! The team's audit store in PostgreSQL: the same records and hash chain as the file, in a table, so
//! that every operator's Steward appends to one history.
//!
//! Tables (made on first use, under an advisory lock so that two first users do not race):
//! - `steward_audit (seq bigint primary key, line text)`: each record's exact JSON line (the chain hashes
//!   these bytes, as in the file);
//! - `steward_audit_head (id = 1, count, head)`: the record count and the last line's SHA-256, replaced in
//!   the transaction that appends (the file's head file), so an edit of the last record is detected;
//! - `steward_audit_segment (segment, seq, line)` and `steward_audit_segment_head (segment, source, count,
//!   head)`: local logs copied in by `steward audit push`, each kept verbatim with its own chain and head,
//!   and named by an `audit_import` record of the team chain.
//!
//! **Appends are serialised** by a transaction-level advisory lock on [`CHAIN_KEY`]
//! (`pg_advisory_xact_lock`): inside one transaction the appender takes the lock, reads the head, checks
//! it against the last row, inserts the next record and replaces the head, then commits (which releases
//! the lock). The primary key on `seq` would refuse a fork even without the lock.
//!
//! **Moves are serialised team-wide** by a session-level advisory lock keyed by (registry, model, alias)
//! ([`move_key`]), taken on a connection of its own that lives as long as the move ([`MoveLock`]). A
//! process that dies holding it (kill -9) loses its connection, and the server releases the lock.
//!
//! Every call runs on a thread of its own with its own connection (the `postgres` client runs its own
//! runtime, which must not be started inside the caller's), bounded by the store's timeout.

use std::sync::mpsc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{AuditError, Entry, Head, Record, sha256_hex};

/// The advisory lock key that serialises appends to the team chain.
pub const CHAIN_KEY: i64 = 0x5354_4557_4152_4401; // "STEWARD" + 1
/// The advisory lock key held while the tables are made.
const SCHEMA_KEY: i64 = 0x5354_4557_4152_4400;
/// How long a move waits for another operator's move of the same alias before giving up.
pub const MOVE_LOCK_WAIT: Duration = Duration::from_secs(120);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS steward_audit (seq bigint PRIMARY KEY, line text NOT NULL);
CREATE TABLE IF NOT EXISTS steward_audit_head (id smallint PRIMARY KEY CHECK (id = 1), count bigint NOT NULL, head text NOT NULL);
CREATE TABLE IF NOT EXISTS steward_audit_segment (segment bigint NOT NULL, seq bigint NOT NULL, line text NOT NULL, PRIMARY KEY (segment, seq));
CREATE TABLE IF NOT EXISTS steward_audit_segment_head (segment bigint PRIMARY KEY, source text NOT NULL, count bigint NOT NULL, head text NOT NULL);
";

/// A team store: where it is (secret-free, for messages and records) and how to connect.
#[derive(Clone)]
pub struct SharedStore {
    /// The connection settings, or why the URL could not be used (said by every call).
    config: Result<postgres::Config, String>,
    display: String,
    timeout: Duration,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedStore({})", self.display)
    }
}

/// A segment imported by `audit push`, as the team chain's `audit_import` record names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegmentNote {
    pub segment: i64,
    /// Where the log came from ("host:/path/audit.jsonl").
    pub source: String,
    pub count: u64,
    /// SHA-256 of the segment's last line.
    pub head: String,
}

/// Why a call failed: the database (unreachable, refused, SQL error) or the chain (damaged).
enum Fail {
    Db(String),
    Damaged(String),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        // The server's message and detail when there is one; the client's text otherwise.
        Fail::Db(match e.as_db_error() {
            Some(db) => format!("{}: {}", db.severity(), db.message()),
            None => e.to_string(),
        })
    }
}

/// Held while a move runs: the team-wide lock of one alias. Dropping it releases the lock.
pub struct MoveLock {
    _release: mpsc::Sender<()>,
}

/// The advisory lock key of a move: the first 8 bytes of SHA-256("registry\0model\0alias").
pub fn move_key(registry: &str, model: &str, alias: &str) -> i64 {
    let d = Sha256::digest(format!("{registry}\0{model}\0{alias}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::from_be_bytes(b)
}

impl SharedStore {
    /// `url`: `postgres://HOST[:PORT]/DB[?options]` without credentials; `user`/`password` from the
    /// environment or the keyring. `timeout` bounds connecting and every call.
    /// A URL the PostgreSQL client cannot parse gives a store whose every call fails saying so.
    pub fn new(url: &str, user: Option<&str>, password: Option<&str>, timeout: Duration) -> Self {
        let config = url.parse::<postgres::Config>().map_err(|e| format!("'{url}' is not a PostgreSQL URL ({e})")).map(|mut config| {
            if let Some(u) = user {
                config.user(u);
            }
            if let Some(p) = password {
                config.password(p);
            }
            config.connect_timeout(timeout);
            config.application_name("steward");
            config
        });
        SharedStore { config, display: url.to_string(), timeout }
    }

    /// Whether the URL parsed (a store that can be tried).
    pub fn check(&self) -> Result<(), String> {
        self.config.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// The store's URL, secret-free.
    pub fn display(&self) -> &str {
        &self.display
    }

    fn fail(&self, f: Fail) -> AuditError {
        match f {
            Fail::Db(cause) => AuditError::Store { store: self.display.clone(), cause },
            Fail::Damaged(cause) => AuditError::Damaged { path: self.display.clone().into(), cause },
        }
    }

    /// Runs `f` on a fresh connection on a thread of its own, within the timeout.
    fn run<T: Send + 'static>(
        &self,
        bound: Option<Duration>,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, Fail> + Send + 'static,
    ) -> Result<T, AuditError> {
        let config = self.config.clone().map_err(|e| self.fail(Fail::Db(e)))?;
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new().name("steward-audit-store".into()).spawn(move || {
            let result = (|| {
                let mut client = config.connect(postgres::NoTls)?;
                ensure_schema(&mut client)?;
                f(&mut client)
            })();
            let _ = tx.send(result);
        });
        if let Err(e) = spawned {
            return Err(self.fail(Fail::Db(format!("cannot start a thread: {e}"))));
        }
        let limit = bound.unwrap_or(self.timeout * 3);
        match rx.recv_timeout(limit) {
            Ok(r) => r.map_err(|f| self.fail(f)),
            Err(_) => Err(self.fail(Fail::Db(format!("no answer within {} s", limit.as_secs())))),
        }
    }

    /// Appends one record to the team chain (see the module doc for the serialisation).
    pub fn append(&self, entry: Entry) -> Result<Record, AuditError> {
        self.run(None, move |c| {
            let mut tx = c.transaction()?;
            let record = append_in(&mut tx, entry)?;
            tx.commit()?;
            Ok(record)
        })
    }

    /// Every record of the team chain, in order. Errors: the store, or a row that is not a record.
    pub fn read_all(&self) -> Result<Vec<Record>, AuditError> {
        let lines = self.lines()?;
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| AuditError::Damaged {
                    path: self.display.clone().into(),
                    cause: format!("record {} is not a valid record ({e})", i + 1),
                })
            })
            .collect()
    }

    /// The team chain's lines in order, and nothing else.
    pub fn lines(&self) -> Result<Vec<String>, AuditError> {
        self.run(None, |c| Ok(c.query("SELECT line FROM steward_audit ORDER BY seq", &[])?.iter().map(|r| r.get(0)).collect()))
    }

    /// SHA-256 of record `seq`'s line; `None` when there is no such record.
    pub fn line_hash(&self, seq: u64) -> Result<Option<String>, AuditError> {
        self.run(None, move |c| {
            Ok(c.query_opt("SELECT line FROM steward_audit WHERE seq = $1", &[&(seq as i64)])?.map(|r| sha256_hex(r.get::<_, &str>(0).as_bytes())))
        })
    }

    /// The head row (count and last hash); `None` before the first record.
    pub fn read_head(&self) -> Result<Option<Head>, AuditError> {
        self.run(None, |c| Ok(read_head(c)?))
    }

    /// The team chain as bytes (lines joined by newlines, as the file would hold them) and its head.
    pub fn snapshot(&self) -> Result<(Vec<u8>, Option<Head>), AuditError> {
        self.run(None, |c| {
            let mut tx = c.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).start()?;
            let head = read_head(&mut tx)?;
            let mut bytes = Vec::new();
            for r in tx.query("SELECT line FROM steward_audit ORDER BY seq", &[])? {
                bytes.extend_from_slice(r.get::<_, &str>(0).as_bytes());
                bytes.push(b'\n');
            }
            tx.commit()?;
            Ok((bytes, head))
        })
    }

    /// Imported segments: (note from the segment's head row, its bytes).
    pub fn segments(&self) -> Result<Vec<(SegmentNote, Vec<u8>)>, AuditError> {
        self.run(None, |c| {
            let heads = c.query("SELECT segment, source, count, head FROM steward_audit_segment_head ORDER BY segment", &[])?;
            let mut out = Vec::new();
            for h in heads {
                let note = SegmentNote { segment: h.get(0), source: h.get(1), count: h.get::<_, i64>(2) as u64, head: h.get(3) };
                let mut bytes = Vec::new();
                for r in c.query("SELECT line FROM steward_audit_segment WHERE segment = $1 ORDER BY seq", &[&note.segment])? {
                    bytes.extend_from_slice(r.get::<_, &str>(0).as_bytes());
                    bytes.push(b'\n');
                }
                out.push((note, bytes));
            }
            Ok(out)
        })
    }

    /// Copies a local log's lines in as a new segment and appends `import` (whose `segment` field this
    /// fills in) to the team chain, in one transaction. `verified`: the local log's count and head, as
    /// its own verify found them. Errors: the same log (same head) was pushed before; the store.
    pub fn push(&self, lines: Vec<String>, source: String, verified: Head, mut import: Entry) -> Result<(SegmentNote, Record), AuditError> {
        self.run(Some(self.timeout * 10), move |c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHAIN_KEY])?;
            if let Some(r) = tx.query_opt("SELECT segment FROM steward_audit_segment_head WHERE head = $1", &[&verified.head])? {
                return Err(Fail::Damaged(format!(
                    "this log (head {}) was pushed before, as segment {}; nothing was copied",
                    super::short(&verified.head),
                    r.get::<_, i64>(0)
                )));
            }
            let segment: i64 = tx.query_one("SELECT COALESCE(MAX(segment), 0) + 1 FROM steward_audit_segment_head", &[])?.get(0);
            let insert = tx.prepare("INSERT INTO steward_audit_segment (segment, seq, line) VALUES ($1, $2, $3)")?;
            for (i, line) in lines.iter().enumerate() {
                tx.execute(&insert, &[&segment, &(i as i64 + 1), line])?;
            }
            let note = SegmentNote { segment, source, count: verified.count, head: verified.head };
            tx.execute(
                "INSERT INTO steward_audit_segment_head (segment, source, count, head) VALUES ($1, $2, $3, $4)",
                &[&segment, &note.source, &(note.count as i64), &note.head],
            )?;
            import.segment = Some(note.clone());
            let record = append_in(&mut tx, import)?;
            tx.commit()?;
            Ok((note, record))
        })
    }

    /// For each key, whether another session holds its advisory lock now (a move in flight).
    pub fn held(&self, keys: Vec<i64>) -> Result<Vec<bool>, AuditError> {
        self.run(None, move |c| {
            let mut out = Vec::new();
            for k in keys {
                let got: bool = c.query_one("SELECT pg_try_advisory_lock($1)", &[&k])?.get(0);
                if got {
                    c.execute("SELECT pg_advisory_unlock($1)", &[&k])?;
                }
                out.push(!got);
            }
            Ok(out)
        })
    }

    /// Takes the team-wide lock of one alias (see the module doc), waiting up to [`MOVE_LOCK_WAIT`] for
    /// another operator's move. Errors: the store, or the wait ran out.
    pub fn lock_move(&self, key: i64, what: &str) -> Result<MoveLock, AuditError> {
        let config = self.config.clone().map_err(|e| self.fail(Fail::Db(e)))?;
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), Fail>>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let what = what.to_string();
        let spawned = std::thread::Builder::new().name("steward-move-lock".into()).spawn(move || {
            let got = (|| {
                let mut client = config.connect(postgres::NoTls)?;
                client.batch_execute(&format!("SET lock_timeout = '{}s'", MOVE_LOCK_WAIT.as_secs()))?;
                match client.execute("SELECT pg_advisory_lock($1)", &[&key]) {
                    Ok(_) => Ok(client),
                    Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => Err(Fail::Db(format!(
                        "another operator's move of {what} held the team's move lock for {} s; try again later",
                        MOVE_LOCK_WAIT.as_secs()
                    ))),
                    Err(e) => Err(e.into()),
                }
            })();
            match got {
                Ok(mut client) => {
                    if ready_tx.send(Ok(())).is_err() {
                        return;
                    }
                    // Held until the MoveLock is dropped (the sender goes away).
                    let _ = release_rx.recv();
                    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&key]);
                }
                Err(f) => {
                    let _ = ready_tx.send(Err(f));
                }
            }
        });
        if let Err(e) = spawned {
            return Err(self.fail(Fail::Db(format!("cannot start a thread: {e}"))));
        }
        match ready_rx.recv_timeout(MOVE_LOCK_WAIT + self.timeout * 2) {
            Ok(Ok(())) => Ok(MoveLock { _release: release_tx }),
            Ok(Err(f)) => Err(self.fail(f)),
            Err(_) => Err(self.fail(Fail::Db("the move lock was not granted in time".into()))),
        }
    }
}

fn ensure_schema(c: &mut postgres::Client) -> Result<(), Fail> {
    let exists: bool = c
        .query_one("SELECT to_regclass('steward_audit_segment_head') IS NOT NULL", &[])?
        .get(0);
    if exists {
        return Ok(());
    }
    let mut tx = c.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_KEY])?;
    tx.batch_execute(SCHEMA)?;
    tx.commit()?;
    Ok(())
}

fn read_head(c: &mut impl postgres::GenericClient) -> Result<Option<Head>, Fail> {
    Ok(c.query_opt("SELECT count, head FROM steward_audit_head WHERE id = 1", &[])?
        .map(|r| Head { count: r.get::<_, i64>(0) as u64, head: r.get(1) }))
}

/// Appends inside an open transaction: takes the chain lock, checks the head against the last row,
/// inserts the next record and replaces the head.
fn append_in(tx: &mut postgres::Transaction<'_>, entry: Entry) -> Result<Record, Fail> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHAIN_KEY])?;
    let head = read_head(tx)?;
    let last = tx.query_opt("SELECT seq, line FROM steward_audit ORDER BY seq DESC LIMIT 1", &[])?;
    let (count, prev) = match (&head, last) {
        (None, None) => (0, super::GENESIS.to_string()),
        (Some(h), Some(row)) => {
            let (seq, line): (i64, String) = (row.get(0), row.get(1));
            let hash = sha256_hex(line.as_bytes());
            if seq as u64 != h.count || hash != h.head {
                return Err(Fail::Damaged(format!(
                    "the head row says {} records ending in {}, the table's last record is {seq} ending in {}; nothing was appended (`steward audit verify` names the bad record)",
                    h.count,
                    super::short(&h.head),
                    super::short(&hash)
                )));
            }
            (h.count, h.head.clone())
        }
        (Some(h), None) => return Err(Fail::Damaged(format!("the head row says {} records but the table is empty", h.count))),
        (None, Some(_)) => return Err(Fail::Damaged("the table holds records but no head row".into())),
    };
    let record = super::chained(count, prev, entry);
    let line = serde_json::to_string(&record).map_err(|e| Fail::Db(e.to_string()))?;
    tx.execute("INSERT INTO steward_audit (seq, line) VALUES ($1, $2)", &[&(record.seq as i64), &line])?;
    tx.execute(
        "INSERT INTO steward_audit_head (id, count, head) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET count = excluded.count, head = excluded.head",
        &[&(record.seq as i64), &sha256_hex(line.as_bytes())],
    )?;
    Ok(record)
}
