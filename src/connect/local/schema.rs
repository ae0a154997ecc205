//! The local registry's file: its schema, the marks that say it is ours (application_id, schema
//! version), creating it safely when several processes start at once, and refusing a file that is not ours.

use std::time::Duration;

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

pub(super) const SCHEMA_VERSION: i64 = 1;
pub(super) const APPLICATION_ID: i64 = 0x5354_5744; // "STWD": marks the file as ours
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE models (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE model_tags (
    model TEXT NOT NULL REFERENCES models(name) ON DELETE CASCADE,
    key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (model, key)
);
CREATE TABLE versions (
    model TEXT NOT NULL REFERENCES models(name) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    source TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by TEXT,
    status TEXT NOT NULL DEFAULT 'READY',
    PRIMARY KEY (model, version)
);
CREATE TABLE version_metrics (
    model TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (model, version, key),
    FOREIGN KEY (model, version) REFERENCES versions(model, version) ON DELETE CASCADE
);
CREATE TABLE version_params (
    model TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (model, version, key),
    FOREIGN KEY (model, version) REFERENCES versions(model, version) ON DELETE CASCADE
);
CREATE TABLE version_tags (
    model TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (model, version, key),
    FOREIGN KEY (model, version) REFERENCES versions(model, version) ON DELETE CASCADE
);
CREATE TABLE aliases (
    model TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES versions(model, version)
);
";

pub(super) enum Refusal {
    Corrupt(String),
    Newer(String),
}

pub(super) fn create_schema(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have created it between our check and now.
    let existing: i64 = tx.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if existing == 0 {
        tx.execute_batch(SCHEMA)?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?1), ('created_at', ?2)",
            params![SCHEMA_VERSION.to_string(), Utc::now().to_rfc3339()],
        )?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    tx.commit()
}

pub(super) fn check_existing(conn: &Connection, app_id: i64) -> std::result::Result<(), Refusal> {
    if app_id != APPLICATION_ID {
        return Err(Refusal::Corrupt(format!(
            "it is an SQLite file of another application (application_id {app_id})"
        )));
    }
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| Refusal::Corrupt(e.to_string()))?;
    if check != "ok" {
        return Err(Refusal::Corrupt(format!("integrity check: {check}")));
    }
    let schema: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0))
        .optional()
        .map_err(|e| Refusal::Corrupt(e.to_string()))?;
    match schema.as_deref().map(str::parse::<i64>) {
        Some(Ok(v)) if v == SCHEMA_VERSION => Ok(()),
        Some(Ok(v)) if v > SCHEMA_VERSION => Err(Refusal::Newer(format!(
            "written by a newer Steward (schema {v}; this one reads {SCHEMA_VERSION})"
        ))),
        other => Err(Refusal::Corrupt(format!("unknown schema version {other:?}"))),
    }
}
