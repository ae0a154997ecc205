//! Where prediction logs live besides local files: SQL engines that compute the fairness counts
//! themselves (pushdown; PostgreSQL today). The engine runs the query `fairness::pushdown` writes and
//! hands back the few hundred aggregate rows; the fairness engine does the rest, as for a file.
//! Knows no face (see docs/architecture.md, "Logs at scale").

mod postgres;

use std::time::Duration;

use crate::fairness::pushdown::{Dialect, Pushdown, SqlSource};
use crate::fairness::{FairnessError, Progress, Report, Spec};

pub use postgres::Postgres;

/// A log in a SQL engine: the engine's URL and the table or query holding one row per prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlLog {
    /// How the log is named in messages and reports (a profile entry's name, or the URL and table).
    pub name: String,
    /// `postgres://HOST[:PORT]/DB` (libpq's URL; the login from PGUSER / PGPASSWORD when not in it).
    pub url: String,
    pub source: SqlSource,
}

impl SqlLog {
    /// A log named by a URL, with `--table` or `--query`; the name shows the URL and table.
    pub fn from_url(url: &str, source: SqlSource) -> Result<SqlLog, String> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!("'{url}': a SQL log's URL is postgres://HOST[:PORT]/DB"));
        }
        let what = match &source {
            SqlSource::Table(t) => format!("table {t}"),
            SqlSource::Query(_) => "query".to_string(),
        };
        Ok(SqlLog { name: format!("{} ({what})", crate::connect::redact::redact_url(url)), url: url.to_string(), source })
    }

    pub fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

/// What a pushdown run moved: the aggregate rows and their bytes as the client received them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub rows: u64,
    pub bytes: u64,
}

/// The generated query for `spec` on `log` (the engine is asked for the columns' types first), without
/// running it: what "Show SQL" shows.
pub fn fairness_query(log: &SqlLog, spec: &Spec, timeout: Duration) -> Result<Pushdown, FairnessError> {
    Postgres::connect(log, timeout)?.plan(spec)
}

/// Fairness by pushdown: one query, then the same report code as for files. The report names the
/// source and carries the query. Cancelling `progress` cancels the query on the server.
pub fn fairness(log: &SqlLog, spec: &Spec, timeout: Duration, progress: &Progress) -> Result<(Report, Moved), FairnessError> {
    let mut pg = Postgres::connect(log, timeout)?;
    let pushdown = pg.plan(spec)?;
    let (rows, moved) = pg.run(&pushdown, progress)?;
    let counts = pushdown.counts(spec, &log.name, &rows)?;
    let mut report = crate::fairness::report::build(&counts, spec, &log.name, "postgresql, pushdown")?;
    report.query = Some(pushdown);
    Ok((report, moved))
}

/// The same analysis without pushdown: every row comes over the wire (`COPY ... TO STDOUT` as CSV) and
/// is counted here by the file engine. For comparison (the benchmark) and for engines or views where the
/// group-by should not run on the server. The report's query is the COPY statement.
pub fn fairness_fetched(log: &SqlLog, spec: &Spec, timeout: Duration, progress: &Progress) -> Result<(Report, Moved), FairnessError> {
    let mut pg = Postgres::connect(log, timeout)?;
    let (counts, sql, moved) = pg.fetch_counts(spec, progress)?;
    let mut report = crate::fairness::report::build(&counts, spec, &log.name, "postgresql, rows fetched and counted here")?;
    report.query = Some(Pushdown::fetched(sql));
    Ok((report, moved))
}
