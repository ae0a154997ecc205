//! The embedded local registry: one SQLite file (WAL mode), safe for several Steward processes at once.
//!
//! A file that exists but is not a Steward registry (or is damaged) is reported and never overwritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

mod schema;

use schema::{BUSY_TIMEOUT, Refusal, check_existing, create_schema};
use super::{Registry, RegistryError, Result, validate_alias};
use crate::domain::{ModelVersion, NewVersion, RegisteredModel, VersionNumber, attach_aliases};

#[derive(Clone)]
pub struct LocalRegistry {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

/// Whether opening created a new, empty registry (the caller may then seed the sample workspace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    Created,
    Existing,
}

impl LocalRegistry {
    /// Opens the registry at `path`, creating it (and its folder) when the file does not exist or is empty.
    pub fn open(path: &Path) -> Result<(Self, Opened)> {
        let storage = |cause: String| RegistryError::Storage { path: path.to_path_buf(), cause };
        let corrupt = |cause: String| RegistryError::Corrupt { path: path.to_path_buf(), cause };
        let fresh = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => return Err(storage("is a folder, not a file".into())),
            Ok(m) => m.len() == 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(storage(e.to_string())),
        };
        if fresh && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| storage(format!("cannot create {}: {e}", dir.display())))?;
        }
        let flags = if fresh {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let mut conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| storage(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| storage(e.to_string()))?;
        // Reading the header is the first touch of the file: a non-database fails here, before any write.
        let app_id: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| corrupt(e.to_string()))?;
        let opened = if fresh {
            create_schema(&mut conn).map_err(|e| storage(e.to_string()))?;
            Opened::Created
        } else {
            check_existing(&conn, app_id).map_err(|cause| match cause {
                Refusal::Corrupt(c) => corrupt(c),
                Refusal::Newer(c) => storage(c),
            })?;
            Opened::Existing
        };
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| storage(e.to_string()))?;
        Ok((LocalRegistry { path: path.to_path_buf(), conn: Arc::new(Mutex::new(conn)) }, opened))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> RegistryError {
        RegistryError::Storage { path: self.path.clone(), cause: e.to_string() }
    }

    /// The synchronous core, also used by tests and the sample seeding.
    pub fn list_models_blocking(&self) -> Result<Vec<RegisteredModel>> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare("SELECT name, description, created_at, updated_at, (SELECT MAX(version) FROM versions v WHERE v.model = m.name) FROM models m ORDER BY name")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RegisteredModel {
                    name: r.get(0)?,
                    description: r.get(1)?,
                    created_at: parse_time(r.get::<_, String>(2)?),
                    updated_at: parse_time(r.get::<_, String>(3)?),
                    latest_version: r.get::<_, Option<i64>>(4)?.map(|v| v as VersionNumber),
                    tags: BTreeMap::new(),
                    aliases: BTreeMap::new(),
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        let mut tags = self.pairs(&conn, "SELECT model, key, value FROM model_tags")?;
        let mut aliases = self.pairs(&conn, "SELECT model, alias, version FROM aliases")?;
        Ok(rows
            .into_iter()
            .map(|mut m| {
                m.tags = tags.remove(&m.name).unwrap_or_default();
                m.aliases = aliases
                    .remove(&m.name)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(a, v)| v.parse().ok().map(|v| (a, v)))
                    .collect();
                m
            })
            .collect())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| RegistryError::Storage {
            path: self.path.clone(),
            cause: "an earlier operation panicked while holding the registry".into(),
        })
    }

    /// model -> (key -> value) from a three-column query.
    fn pairs(&self, conn: &Connection, sql: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut stmt = conn.prepare(sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let model: String = r.get(0).map_err(|e| self.err(e))?;
            let key: String = r.get(1).map_err(|e| self.err(e))?;
            let value: rusqlite::types::Value = r.get(2).map_err(|e| self.err(e))?;
            let value = match value {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Real(f) => f.to_string(),
                rusqlite::types::Value::Text(t) => t,
                _ => String::new(),
            };
            out.entry(model).or_default().insert(key, value);
        }
        Ok(out)
    }

    pub fn list_versions_blocking(&self, model: &str) -> Result<Vec<ModelVersion>> {
        let conn = self.lock()?;
        let exists: bool = conn
            .query_row("SELECT EXISTS(SELECT 1 FROM models WHERE name = ?1)", [model], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if !exists {
            return Err(RegistryError::NotFound { what: format!("registered model '{model}'") });
        }
        let mut stmt = conn
            .prepare("SELECT version, source, description, created_at, created_by, status FROM versions WHERE model = ?1 ORDER BY version DESC")
            .map_err(|e| self.err(e))?;
        let mut versions = stmt
            .query_map([model], |r| {
                Ok(ModelVersion {
                    model: model.to_string(),
                    version: r.get::<_, i64>(0)? as VersionNumber,
                    source: r.get(1)?,
                    run_id: None,
                    description: r.get(2)?,
                    created_at: parse_time(r.get::<_, String>(3)?),
                    created_by: r.get(4)?,
                    status: r.get(5)?,
                    tags: BTreeMap::new(),
                    params: BTreeMap::new(),
                    metrics: BTreeMap::new(),
                    aliases: vec![],
                    legacy_stage: None,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        let by_version = |sql: &str| -> Result<BTreeMap<VersionNumber, BTreeMap<String, rusqlite::types::Value>>> {
            let mut out: BTreeMap<VersionNumber, BTreeMap<String, rusqlite::types::Value>> = BTreeMap::new();
            let mut stmt = conn.prepare(sql).map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([model], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?)))
                .map_err(|e| self.err(e))?;
            for row in rows {
                let (v, k, val) = row.map_err(|e| self.err(e))?;
                out.entry(v as VersionNumber).or_default().insert(k, val);
            }
            Ok(out)
        };
        let text = |v: rusqlite::types::Value| match v {
            rusqlite::types::Value::Text(t) => t,
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Real(f) => f.to_string(),
            _ => String::new(),
        };
        let mut metrics = by_version("SELECT version, key, value FROM version_metrics WHERE model = ?1")?;
        let mut params = by_version("SELECT version, key, value FROM version_params WHERE model = ?1")?;
        let mut tags = by_version("SELECT version, key, value FROM version_tags WHERE model = ?1")?;
        let aliases: BTreeMap<String, VersionNumber> = {
            let mut stmt = conn.prepare("SELECT alias, version FROM aliases WHERE model = ?1").map_err(|e| self.err(e))?;
            stmt.query_map([model], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as VersionNumber)))
                .map_err(|e| self.err(e))?
                .collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?
        };
        for v in versions.iter_mut() {
            v.metrics = metrics
                .remove(&v.version)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, val)| match val {
                    rusqlite::types::Value::Real(f) => Some((k, f)),
                    rusqlite::types::Value::Integer(i) => Some((k, i as f64)),
                    _ => None,
                })
                .collect();
            v.params = params.remove(&v.version).unwrap_or_default().into_iter().map(|(k, x)| (k, text(x))).collect();
            v.tags = tags.remove(&v.version).unwrap_or_default().into_iter().map(|(k, x)| (k, text(x))).collect();
        }
        attach_aliases(&mut versions, &aliases);
        Ok(versions)
    }

    /// Registers a new version (creating the model if needed). The number is allocated inside an
    /// IMMEDIATE transaction, so concurrent processes never hand out the same number.
    pub fn register_blocking(&self, new: &NewVersion) -> Result<VersionNumber> {
        if new.model.trim().is_empty() {
            return Err(RegistryError::Invalid { what: "model name".into(), message: "must not be empty".into() });
        }
        let mut conn = self.lock()?;
        let now = new.created_at.unwrap_or_else(Utc::now).to_rfc3339();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.err(e))?;
        let run = || -> rusqlite::Result<VersionNumber> {
            tx.execute(
                "INSERT INTO models(name, description, created_at, updated_at) VALUES (?1, '', ?2, ?2)
                 ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at",
                params![new.model, now],
            )?;
            let next: i64 = tx.query_row(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE model = ?1",
                [&new.model],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO versions(model, version, source, description, created_at, created_by, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'READY')",
                params![new.model, next, new.source, new.description.clone().unwrap_or_default(), now, new.created_by],
            )?;
            for (k, v) in &new.metrics {
                tx.execute("INSERT INTO version_metrics VALUES (?1, ?2, ?3, ?4)", params![new.model, next, k, v])?;
            }
            for (k, v) in &new.params {
                tx.execute("INSERT INTO version_params VALUES (?1, ?2, ?3, ?4)", params![new.model, next, k, v])?;
            }
            for (k, v) in &new.tags {
                tx.execute("INSERT INTO version_tags VALUES (?1, ?2, ?3, ?4)", params![new.model, next, k, v])?;
            }
            Ok(next as VersionNumber)
        };
        let n = run().map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(n)
    }

    pub fn set_model_details_blocking(
        &self,
        model: &str,
        description: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.err(e))?;
        let now = Utc::now().to_rfc3339();
        let run = || -> rusqlite::Result<usize> {
            let mut n = 0;
            if let Some(d) = description {
                n += tx.execute("UPDATE models SET description = ?2, updated_at = ?3 WHERE name = ?1", params![model, d, now])?;
            } else {
                n += tx.query_row("SELECT COUNT(*) FROM models WHERE name = ?1", [model], |r| r.get::<_, i64>(0))? as usize;
            }
            for (k, v) in tags {
                tx.execute(
                    "INSERT INTO model_tags VALUES (?1, ?2, ?3) ON CONFLICT(model, key) DO UPDATE SET value = excluded.value",
                    params![model, k, v],
                )?;
            }
            Ok(n)
        };
        let n = run().map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(RegistryError::NotFound { what: format!("registered model '{model}'") });
        }
        tx.commit().map_err(|e| self.err(e))
    }

    pub fn set_alias_blocking(&self, model: &str, alias: &str, version: VersionNumber) -> Result<()> {
        validate_alias(alias)?;
        let conn = self.lock()?;
        let exists: bool = conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM versions WHERE model = ?1 AND version = ?2)",
                params![model, version as i64],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if !exists {
            return Err(RegistryError::NotFound { what: format!("version {version} of model '{model}'") });
        }
        conn.execute(
            "INSERT INTO aliases VALUES (?1, ?2, ?3) ON CONFLICT(model, alias) DO UPDATE SET version = excluded.version",
            params![model, alias, version as i64],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn get_alias_blocking(&self, model: &str, alias: &str) -> Result<Option<VersionNumber>> {
        let conn = self.lock()?;
        conn.query_row("SELECT version FROM aliases WHERE model = ?1 AND alias = ?2", params![model, alias], |r| {
            r.get::<_, i64>(0)
        })
        .optional()
        .map(|v| v.map(|v| v as VersionNumber))
        .map_err(|e| self.err(e))
    }

    pub fn delete_alias_blocking(&self, model: &str, alias: &str) -> Result<()> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM aliases WHERE model = ?1 AND alias = ?2", params![model, alias])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn meta_blocking(&self, key: &str) -> Result<Option<String>> {
        let conn = self.lock()?;
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn set_meta_blocking(&self, key: &str, value: &str) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO meta VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }
}

fn parse_time(s: String) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&s).ok().map(|t| t.with_timezone(&Utc))
}

impl Registry for LocalRegistry {
    fn describe(&self) -> String {
        format!("local registry at {}", self.path.display())
    }

    async fn list_models(&self) -> Result<Vec<RegisteredModel>> {
        let me = self.clone();
        blocking(&self.path, move || me.list_models_blocking()).await
    }

    async fn get_model(&self, name: &str) -> Result<RegisteredModel> {
        self.list_models()
            .await?
            .into_iter()
            .find(|m| m.name == name)
            .ok_or_else(|| RegistryError::NotFound { what: format!("registered model '{name}'") })
    }

    async fn list_versions(&self, model: &str) -> Result<Vec<ModelVersion>> {
        let me = self.clone();
        let model = model.to_string();
        blocking(&self.path, move || me.list_versions_blocking(&model)).await
    }

    async fn register_version(&self, new: NewVersion) -> Result<ModelVersion> {
        let me = self.clone();
        blocking(&self.path, move || {
            let n = me.register_blocking(&new)?;
            me.list_versions_blocking(&new.model)?
                .into_iter()
                .find(|v| v.version == n)
                .ok_or_else(|| RegistryError::NotFound { what: format!("version {n} of '{}'", new.model) })
        })
        .await
    }

    async fn set_alias(&self, model: &str, alias: &str, version: VersionNumber) -> Result<()> {
        let me = self.clone();
        let (model, alias) = (model.to_string(), alias.to_string());
        blocking(&self.path, move || me.set_alias_blocking(&model, &alias, version)).await
    }

    async fn get_alias(&self, model: &str, alias: &str) -> Result<Option<VersionNumber>> {
        let me = self.clone();
        let (model, alias) = (model.to_string(), alias.to_string());
        blocking(&self.path, move || me.get_alias_blocking(&model, &alias)).await
    }

    async fn delete_alias(&self, model: &str, alias: &str) -> Result<()> {
        let me = self.clone();
        let (model, alias) = (model.to_string(), alias.to_string());
        blocking(&self.path, move || me.delete_alias_blocking(&model, &alias)).await
    }

    /// The local registry has no accounts: the OS user acts.
    fn identity(&self) -> Option<String> {
        None
    }
}

async fn blocking<T: Send + 'static>(path: &Path, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RegistryError::Storage { path: path.to_path_buf(), cause: e.to_string() })?
}
