//! Where prediction logs live besides local files: SQL engines that compute the fairness counts and
//! drift's value counts themselves (pushdown; PostgreSQL, and Spark through Spark Connect). The engine
//! runs the query `fairness::pushdown` or `monitoring::drift_pushdown` writes and hands back the
//! aggregate rows; the fairness or drift engine does the rest, as for a file.
//! Knows no face (see docs/architecture.md, "Logs at scale").

mod postgres;
mod spark;

use std::time::Duration;

use crate::config::LogSource;
use crate::fairness::mapping::Mapping;
use crate::fairness::pushdown::{Dialect, Pushdown, SqlSource, SqlType};
use crate::fairness::{FairnessError, Progress, Report, Spec};
use crate::monitoring::drift::{Counted, DriftReport, DriftSpec, SideQuery};
use crate::monitoring::drift_pushdown::{DriftQuery, probe as drift_probe};

/// Most result rows a pushdown query may return (fairness: each a group x label x decision x bin x day
/// x version cell; drift: each a day x column x distinct value): the client keeps them in memory, so
/// more is refused rather than read.
pub const MAX_RESULT_ROWS: u64 = 2_000_000;

/// The error past [`MAX_RESULT_ROWS`].
fn too_many_rows() -> String {
    format!(
        "the query returned more than {MAX_RESULT_ROWS} rows of counts: a group column with a value per row, or a drift column \
         with millions of distinct values (leave it out with --exclude, or round it in --query)"
    )
}

pub use postgres::Postgres;
pub use spark::Spark;

/// The engine a SQL log's URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `sc://` (Spark Connect).
    Spark,
}

impl Engine {
    /// By the URL's scheme; None for anything else.
    pub fn of_url(url: &str) -> Option<Engine> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Engine::Postgres)
        } else if url.starts_with("sc://") {
            Some(Engine::Spark)
        } else {
            None
        }
    }

    /// Its name in sentences ("counted in PostgreSQL").
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::Spark => "Spark",
        }
    }

    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Engine::Postgres => "postgresql",
            Engine::Spark => "spark",
        }
    }
}

/// An open connection to a log's engine.
enum Conn<'l> {
    Pg(Postgres<'l>),
    Spark(Spark<'l>),
}

impl<'l> Conn<'l> {
    fn open(log: &'l SqlLog, timeout: Duration) -> Result<Conn<'l>, FairnessError> {
        match log.engine() {
            Engine::Postgres => Ok(Conn::Pg(Postgres::connect(log, timeout)?)),
            Engine::Spark => Ok(Conn::Spark(Spark::connect(log, timeout)?)),
        }
    }

    fn plan(&mut self, spec: &Spec) -> Result<Pushdown, FairnessError> {
        match self {
            Conn::Pg(c) => c.plan(spec),
            Conn::Spark(c) => c.plan(spec),
        }
    }

    fn run(&mut self, sql: &str, params: &[f64], progress: &Progress) -> Result<(Vec<Vec<crate::fairness::pushdown::SqlValue>>, Moved), FairnessError> {
        match self {
            Conn::Pg(c) => c.run(sql, params, progress),
            Conn::Spark(c) => c.run(sql, params, progress),
        }
    }

    fn types_of(&mut self, sql: &str) -> Result<Vec<SqlType>, FairnessError> {
        match self {
            Conn::Pg(c) => c.types_of(sql),
            Conn::Spark(c) => c.types_of(sql),
        }
    }

    fn dialect(&self) -> Dialect {
        match self {
            Conn::Pg(_) => Dialect::Postgres,
            Conn::Spark(_) => Dialect::Spark,
        }
    }

    /// The drift query for `columns` of `log`, per UTC day of `time` (its type asked of the engine).
    fn drift_plan(&mut self, log: &SqlLog, columns: &[String], time: Option<&str>) -> Result<DriftQuery, FairnessError> {
        let dialect = self.dialect();
        let mut types = self.types_of(&drift_probe(dialect, &log.source, columns, time)?)?.into_iter();
        if types.len() != columns.len() + usize::from(time.is_some()) {
            return Err(FairnessError::io(&log.name, "the engine described a different number of columns than asked for"));
        }
        let time = time.map(|t| (t, types.next().unwrap_or(SqlType::Other)));
        let typed: Vec<(String, SqlType)> = columns.iter().cloned().zip(types).collect();
        DriftQuery::new(dialect, &log.source, &typed, time)
    }

    fn columns(&mut self) -> Result<Vec<String>, FairnessError> {
        match self {
            Conn::Pg(c) => c.columns(),
            Conn::Spark(c) => c.columns(),
        }
    }
}

/// A log in a SQL engine: the engine's URL and the table or query holding one row per prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlLog {
    /// How the log is named in messages and reports (a profile entry's name, or the URL and table).
    pub name: String,
    /// `postgres://HOST[:PORT]/DB` (libpq's URL; the login from PGUSER / PGPASSWORD when not in it), or
    /// `sc://HOST[:PORT]` (Spark Connect).
    pub url: String,
    pub source: SqlSource,
}

impl SqlLog {
    /// A log as the operator names it: the name of one of the profile's `[[profile.log]]` entries, or
    /// `postgres://HOST[:PORT]/DB?table=[SCHEMA.]NAME` (`source`, from --table or --query, wins over the
    /// URL's `table`). None: neither (a file path). With an entry, the entry comes back too (its mapping).
    pub fn resolve<'e>(input: &str, logs: &'e [LogSource], source: Option<SqlSource>) -> Option<Result<(SqlLog, Option<&'e LogSource>), String>> {
        let input = input.trim();
        if let Some(entry) = logs.iter().find(|l| l.name == input) {
            return Some(entry.validate().map(|_| {
                let src = source.unwrap_or_else(|| match (&entry.table, &entry.query) {
                    (Some(t), _) => SqlSource::Table(t.clone()),
                    (None, q) => SqlSource::Query(q.clone().unwrap_or_default()),
                });
                (SqlLog { name: entry.name.clone(), url: entry.url.clone(), source: src }, Some(entry))
            }));
        }
        Engine::of_url(input)?;
        Some((|| {
            let mut u = url::Url::parse(input).map_err(|e| format!("'{input}': {e}"))?;
            let mut table = None;
            let kept: Vec<(String, String)> = u
                .query_pairs()
                .filter(|(k, v)| {
                    if k == "table" {
                        table = Some(v.to_string());
                    }
                    k != "table"
                })
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            u.set_query(None);
            if !kept.is_empty() {
                u.query_pairs_mut().extend_pairs(kept);
            }
            let src = source.or(table.map(SqlSource::Table)).ok_or_else(|| {
                format!("'{}': name the table (?table=NAME, or --table / --query)", crate::connect::redact::redact_url(input))
            })?;
            Ok((SqlLog::from_url(u.as_str(), src)?, None))
        })())
    }

    /// A log named by a URL, with `--table` or `--query`; the name shows the URL and table.
    pub fn from_url(url: &str, source: SqlSource) -> Result<SqlLog, String> {
        match Engine::of_url(url) {
            None => return Err(format!("'{url}': a SQL log's URL is postgres://HOST[:PORT]/DB or sc://HOST[:PORT] (Spark Connect)")),
            Some(Engine::Spark) => spark::refuse_secrets(url)?,
            Some(Engine::Postgres) => {}
        }
        let what = match &source {
            SqlSource::Table(t) => format!("table {t}"),
            SqlSource::Query(_) => "query".to_string(),
        };
        Ok(SqlLog { name: format!("{} ({what})", crate::connect::redact::redact_url(url)), url: url.to_string(), source })
    }

    /// The engine, by the URL's scheme.
    pub fn engine(&self) -> Engine {
        Engine::of_url(&self.url).unwrap_or(Engine::Postgres)
    }
}

/// A profile entry's column mapping for the window (fields it leaves out keep their defaults).
pub fn entry_mapping(entry: &LogSource) -> Mapping {
    let mut m = Mapping { group: entry.group.clone(), ..Mapping::default() };
    let text = |o: &Option<String>| o.clone().unwrap_or_default();
    m.label = text(&entry.label);
    m.positive_label = text(&entry.positive_label);
    m.prediction = text(&entry.prediction);
    m.positive_prediction = entry.positive_prediction.join(",");
    m.score = text(&entry.score);
    m.use_score = entry.prediction.is_none() && entry.score.is_some();
    if let Some(t) = entry.threshold {
        m.threshold = t;
    }
    m.time = text(&entry.time);
    m.version = text(&entry.version);
    m
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
    Conn::open(log, timeout)?.plan(spec)
}

/// Fairness by pushdown: one query, then the same report code as for files. The report names the
/// source and carries the query. Cancelling `progress` cancels the query on the server.
pub fn fairness(log: &SqlLog, spec: &Spec, timeout: Duration, progress: &Progress) -> Result<(Report, Moved), FairnessError> {
    let mut conn = Conn::open(log, timeout)?;
    let pushdown = conn.plan(spec)?;
    let (rows, moved) = conn.run(&pushdown.sql, &pushdown.params, progress)?;
    let counts = pushdown.counts(spec, &log.name, &rows)?;
    let mut report = crate::fairness::report::build(&counts, spec, &log.name, &format!("{}, pushdown", log.engine().label()))?;
    report.query = Some(pushdown);
    Ok((report, moved))
}

/// The same analysis without pushdown: every row comes over the wire (`COPY ... TO STDOUT` as CSV) and
/// is counted here by the file engine. For comparison (the benchmark) and for engines or views where the
/// group-by should not run on the server. The report's query is the COPY statement.
pub fn fairness_fetched(log: &SqlLog, spec: &Spec, timeout: Duration, progress: &Progress) -> Result<(Report, Moved), FairnessError> {
    if log.engine() != Engine::Postgres {
        return Err(FairnessError::usage("fetching the rows (--fetch) is for PostgreSQL logs (COPY ... TO STDOUT); Spark computes the counts itself"));
    }
    let mut pg = Postgres::connect(log, timeout)?;
    let (counts, sql, moved) = pg.fetch_counts(spec, progress)?;
    let mut report = crate::fairness::report::build(&counts, spec, &log.name, "postgresql, rows fetched and counted here")?;
    report.query = Some(Pushdown::fetched(sql));
    Ok((report, moved))
}

/// A prediction log wherever it lives: a local file (read by the fairness engine) or a log in a SQL
/// engine (counted there). What the window's Fairness view and its backend pass around.
#[derive(Clone, Debug, PartialEq)]
pub enum LogRef {
    File(std::path::PathBuf),
    Sql(SqlLog),
}

impl LogRef {
    /// As the operator typed it: a profile entry's name, a `postgres://...?table=` URL, else a file path.
    pub fn parse(input: &str, logs: &[LogSource]) -> Result<LogRef, String> {
        LogRef::parse_with_mapping(input, logs).map(|(log, _)| log)
    }

    /// [`LogRef::parse`], with the profile entry's column mapping when the input names one.
    pub fn parse_with_mapping(input: &str, logs: &[LogSource]) -> Result<(LogRef, Option<Mapping>), String> {
        match SqlLog::resolve(input, logs, None) {
            Some(r) => r.map(|(log, entry)| (LogRef::Sql(log), entry.map(entry_mapping))),
            None => Ok((LogRef::File(std::path::PathBuf::from(input.trim())), None)),
        }
    }

    /// The file, when the log is one.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            LogRef::File(p) => Some(p),
            LogRef::Sql(_) => None,
        }
    }

    /// A short name for progress lines: the file's name, or the log's.
    pub fn short(&self) -> String {
        match self {
            LogRef::File(p) => p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            LogRef::Sql(l) => l.name.clone(),
        }
    }

    /// The log's column names (a file's header; a SQL log's columns from a query that reads no row).
    pub fn columns(&self, timeout: Duration) -> Result<Vec<String>, FairnessError> {
        match self {
            LogRef::File(p) => crate::fairness::columns(p).map(|(c, _)| c),
            LogRef::Sql(l) => Conn::open(l, timeout)?.columns(),
        }
    }

    /// The full report, from the file or by pushdown.
    pub fn analyze(&self, spec: &Spec, timeout: Duration, progress: &Progress) -> Result<Report, FairnessError> {
        match self {
            LogRef::File(p) => crate::fairness::analyze(p, spec, progress),
            LogRef::Sql(l) => fairness(l, spec, timeout, progress).map(|(r, _)| r),
        }
    }
}

impl std::fmt::Display for LogRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogRef::File(p) => write!(f, "{}", p.display()),
            LogRef::Sql(l) => write!(f, "{}", l.name),
        }
    }
}

/// Drift between a reference and a current log, each a file or a log in a SQL engine. A SQL side is
/// counted there (one query per side, [`DriftQuery`]: value counts per UTC day) and compared with the
/// file engine's code; with files only this is `monitoring::drift::drift`. The report carries each
/// query. Columns, when not given, are the first log's (the reference, else the current one) minus the
/// excluded and the time column. Cancelling `progress` cancels a running query on the server.
pub fn drift(reference: Option<&LogRef>, current: &LogRef, spec: &DriftSpec, timeout: Duration, progress: &Progress) -> Result<(DriftReport, Moved), FairnessError> {
    crate::monitoring::drift::check_spec(spec, reference.is_some())?;
    if let (None | Some(LogRef::File(_)), LogRef::File(c)) = (reference, current) {
        let r = crate::monitoring::drift::drift(reference.and_then(LogRef::file), c, spec, progress)?;
        return Ok((r, Moved::default()));
    }
    let columns = drift_columns(reference, current, spec, timeout)?;
    let mut queries = Vec::new();
    let mut moved = Moved::default();
    let mut count = |log: &LogRef, as_reference: bool| -> Result<(String, Counted), FairnessError> {
        let counted = match log {
            LogRef::File(p) => crate::monitoring::drift::count_file(p, &columns, spec, as_reference, progress)?,
            LogRef::Sql(l) => {
                let mut conn = Conn::open(l, timeout)?;
                let q = conn.drift_plan(l, &columns, if as_reference { None } else { spec.time.as_deref() })?;
                let (rows, m) = conn.run(&q.sql, &[], progress)?;
                moved.rows += m.rows;
                moved.bytes += m.bytes;
                let counted = q.counted(&l.name, &rows)?;
                let side = if as_reference { "reference" } else { "current" };
                queries.push(SideQuery { side: side.into(), engine: l.engine().label().into(), query: q });
                counted
            }
        };
        Ok((log.to_string(), counted))
    };
    let reference_counts = match reference {
        Some(r) => Some(count(r, true)?),
        None => None,
    };
    let current_counts = count(current, false)?;
    let mut report = crate::monitoring::drift::compare(&columns, spec, reference_counts, current_counts)?;
    report.queries = queries;
    Ok((report, moved))
}

/// The columns a drift analysis compares: as asked, or the first log's but the excluded and the time.
fn drift_columns(reference: Option<&LogRef>, current: &LogRef, spec: &DriftSpec, timeout: Duration) -> Result<Vec<String>, FairnessError> {
    if !spec.columns.is_empty() {
        return Ok(spec.columns.clone());
    }
    Ok(crate::monitoring::drift::chosen_columns(&reference.unwrap_or(current).columns(timeout)?, spec))
}

/// The drift queries [`drift`] would run for the SQL sides, without running them ("Show SQL").
pub fn drift_queries(reference: Option<&LogRef>, current: &LogRef, spec: &DriftSpec, timeout: Duration) -> Result<Vec<SideQuery>, FairnessError> {
    let columns = drift_columns(reference, current, spec, timeout)?;
    let mut out = Vec::new();
    for (log, side) in [(reference, "reference"), (Some(current), "current")] {
        if let Some(LogRef::Sql(l)) = log {
            let time = if side == "current" { spec.time.as_deref() } else { None };
            let query = Conn::open(l, timeout)?.drift_plan(l, &columns, time)?;
            out.push(SideQuery { side: side.into(), engine: l.engine().label().into(), query });
        }
    }
    Ok(out)
}
