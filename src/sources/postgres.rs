//! PostgreSQL as a log's engine, through the `postgres` client (no libpq, no Python): the columns'
//! types from a query that reads no row, then the pushdown query with its parameters bound.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};

use super::{MAX_RESULT_ROWS, Moved, SqlLog};
use crate::fairness::pushdown::{Dialect, Pushdown, SqlType, SqlValue, copy_rows, from_clause, probe};
use crate::fairness::{FairnessError, Progress, Spec};

/// A connection to the log's database, with the session in UTC (days are UTC days, as for files).
pub struct Postgres<'l> {
    log: &'l SqlLog,
    client: postgres::Client,
}

fn db_error(name: &str, e: &postgres::Error) -> FairnessError {
    // The server's own message (and its detail) when there is one: it names the column or table.
    let text = match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{}: {} ({d})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        // The client's own text ("error connecting to server") names no cause: add its source's.
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    };
    FairnessError::io(name, format!("PostgreSQL: {text}"))
}

fn sql_type(t: &Type) -> SqlType {
    match *t {
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => SqlType::Text,
        Type::INT2 | Type::INT4 | Type::INT8 => SqlType::Int,
        Type::FLOAT4 | Type::FLOAT8 => SqlType::Float,
        Type::BOOL => SqlType::Bool,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => SqlType::Timestamp,
        Type::DATE => SqlType::Date,
        _ => SqlType::Other,
    }
}

impl<'l> Postgres<'l> {
    /// Connects within `timeout`; the login comes from the URL or libpq's PGUSER / PGPASSWORD.
    pub fn connect(log: &'l SqlLog, timeout: Duration) -> Result<Postgres<'l>, FairnessError> {
        let mut config = log
            .url
            .parse::<postgres::Config>()
            .map_err(|e| FairnessError::usage(format!("'{}' is not a PostgreSQL URL ({e})", log.name)))?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if config.get_user().is_none() {
            if let Some(u) = env("PGUSER") {
                config.user(&u);
            }
        }
        if config.get_password().is_none() {
            if let Some(p) = env("PGPASSWORD") {
                config.password(p);
            }
        }
        config.connect_timeout(timeout).application_name("steward").keepalives(true);
        let mut client = config.connect(postgres::NoTls).map_err(|e| db_error(&log.name, &e))?;
        client.batch_execute("SET TIME ZONE 'UTC'").map_err(|e| db_error(&log.name, &e))?;
        Ok(Postgres { log, client })
    }

    /// The pushdown query for `spec`, after asking the server for the mapped columns' types.
    pub fn plan(&mut self, spec: &Spec) -> Result<Pushdown, FairnessError> {
        let types = self.types(spec)?;
        Pushdown::new(Dialect::Postgres, spec, &self.log.source, &types)
    }

    /// Every column of the log, from a query that reads no row.
    pub fn columns(&mut self) -> Result<Vec<String>, FairnessError> {
        let sql = format!("SELECT * FROM {} WHERE 1 = 0", from_clause(Dialect::Postgres, &self.log.source)?);
        let stmt = self.client.prepare(&sql).map_err(|e| db_error(&self.log.name, &e))?;
        Ok(stmt.columns().iter().map(|c| c.name().to_string()).collect())
    }

    /// The mapped columns' types, from a query that reads no row.
    fn types(&mut self, spec: &Spec) -> Result<Vec<SqlType>, FairnessError> {
        let (sql, _) = probe(Dialect::Postgres, spec, &self.log.source)?;
        self.types_of(&sql)
    }

    /// The types of a query's result columns, without running it.
    pub fn types_of(&mut self, sql: &str) -> Result<Vec<SqlType>, FairnessError> {
        let stmt = self.client.prepare(sql).map_err(|e| db_error(&self.log.name, &e))?;
        Ok(stmt.columns().iter().map(|c| sql_type(c.type_())).collect())
    }

    /// Counts here instead of in the engine: the rows stream in as CSV (`COPY ... TO STDOUT`) through
    /// the file engine. Returns the counts, the COPY statement and the bytes received.
    pub fn fetch_counts(&mut self, spec: &Spec, progress: &Progress) -> Result<(crate::fairness::Counts, String, Moved), FairnessError> {
        let types = self.types(spec)?;
        let sql = copy_rows(spec, &self.log.source, &types)?;
        let name = self.log.name.clone();
        let reader = self.client.copy_out(sql.as_str()).map_err(|e| db_error(&name, &e))?;
        let bytes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counting = Counting { inner: reader, bytes: bytes.clone(), ended: false };
        let counts = crate::fairness::count_csv_stream(Box::new(counting), spec, &name, progress)?;
        let moved = Moved { rows: counts.rows + counts.skipped, bytes: bytes.load(Ordering::Relaxed) };
        Ok((counts, sql, moved))
    }

    /// Runs `sql` with `params` bound ($1, ...); cancelling `progress` cancels it on the server
    /// (PostgreSQL's cancel request).
    pub fn run(&mut self, sql: &str, params: &[f64], progress: &Progress) -> Result<(Vec<Vec<SqlValue>>, Moved), FairnessError> {
        let name = self.log.name.clone();
        progress.total_bytes.store(0, Ordering::Relaxed);
        let token = self.client.cancel_token();
        let done = Arc::new(AtomicBool::new(false));
        let cancelled = Arc::new(AtomicBool::new(false));
        std::thread::scope(|scope| {
            let (done2, cancelled2) = (done.clone(), cancelled.clone());
            scope.spawn(move || {
                while !done2.load(Ordering::Relaxed) {
                    if progress.cancelled() {
                        cancelled2.store(true, Ordering::Relaxed);
                        let _ = token.cancel_query(postgres::NoTls);
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
            let result = self.fetch(sql, params, progress);
            done.store(true, Ordering::Relaxed);
            match result {
                Err(_) if cancelled.load(Ordering::Relaxed) => Err(FairnessError::cancelled(&name)),
                r => r,
            }
        })
    }

    fn fetch(&mut self, sql: &str, params: &[f64], progress: &Progress) -> Result<(Vec<Vec<SqlValue>>, Moved), FairnessError> {
        let name = &self.log.name;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let stmt = self.client.prepare(sql).map_err(|e| db_error(name, &e))?;
        let mut it = self.client.query_raw(&stmt, params).map_err(|e| db_error(name, &e))?;
        let mut rows = Vec::new();
        let mut moved = Moved::default();
        while let Some(row) = it.next().map_err(|e| db_error(name, &e))? {
            if moved.rows >= MAX_RESULT_ROWS {
                return Err(FairnessError::input(
                    name,
                    None,
                    None,
                    super::too_many_rows(),
                ));
            }
            // A DataRow message: type, length and column count, then each value's length and bytes
            // (the client reads results in PostgreSQL's binary format).
            moved.bytes += 7;
            let mut values = Vec::with_capacity(row.len());
            for (i, col) in row.columns().iter().enumerate() {
                let v = value(&row, i, col.type_()).map_err(|e| FairnessError::io(name, format!("result column {}: {e}", col.name())))?;
                moved.bytes += 4 + match &v {
                    SqlValue::Null => 0,
                    SqlValue::Bool(_) => 1,
                    SqlValue::Int(_) | SqlValue::Float(_) => 8,
                    SqlValue::Text(t) => t.len() as u64,
                };
                values.push(v);
            }
            moved.rows += 1;
            progress.bytes_read.store(moved.bytes, Ordering::Relaxed);
            rows.push(values);
        }
        Ok((rows, moved))
    }
}

fn value(row: &postgres::Row, i: usize, t: &Type) -> Result<SqlValue, postgres::Error> {
    Ok(match *t {
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map_or(SqlValue::Null, SqlValue::Bool),
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map_or(SqlValue::Null, SqlValue::Int),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map_or(SqlValue::Null, |v| SqlValue::Int(v.into())),
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map_or(SqlValue::Null, |v| SqlValue::Int(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map_or(SqlValue::Null, SqlValue::Float),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i)?.map_or(SqlValue::Null, |v| SqlValue::Float(v.into())),
        _ => row.try_get::<_, Option<String>>(i)?.map_or(SqlValue::Null, SqlValue::Text),
    })
}

/// Counts the bytes read through it (what the engine sent), and stays at its end once there: the
/// client's COPY reader must not be read past it (it would take the next protocol message for data and
/// fail with "unexpected message from server").
struct Counting<R> {
    inner: R,
    bytes: Arc<std::sync::atomic::AtomicU64>,
    ended: bool,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.ended || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.ended = n == 0;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
