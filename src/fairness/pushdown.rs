//! Fairness counts computed where the log lives: one generated SQL query per analysis returns the
//! confusion counts by group (and version, day, and score bin for score logs), and Steward turns them
//! into the same [`Counts`] the file readers produce, through the same tally, so every rate, interval,
//! disparity and verdict comes from the same code as for files.
//!
//! The query is built per [`Dialect`]: identifiers are quoted (a quote inside a name doubled), the one
//! value it needs (the threshold) is a bound parameter, never spliced. A `Query` source is the
//! operator's own SQL, used as a sub-query. Knows nothing of the network: a connector runs
//! [`Pushdown::sql`] and hands back the rows as [`SqlValue`]s (see docs/architecture.md, "Logs at scale").
//!
//! Output columns, in order: one per group column, the label, the decision (a score log: the decision
//! `score >= T` as a boolean, the score bin as in `values::score_bin`, and the score itself only when it
//! is not finite), the UTC day (`floor(epoch seconds / 86400)`) when a time column is given, the
//! version when given, and `COUNT(*)`. Values keep their type (text, 64-bit integer, double, boolean);
//! other types are cast to text.

use serde::Serialize;

use super::counts::{Counts, merge};
use super::plan::Plan;
use super::tally::{Pos, Row, Tally};
use super::values::Field;
use super::{Decision, FairnessError, Spec};

/// The SQL dialect a query is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// PostgreSQL and the warehouses that speak its SQL: `"identifiers"`, `$1` parameters.
    Postgres,
    /// Spark SQL: `` `identifiers` ``, `?` parameters.
    Spark,
}

/// A column's type as the engine reports it, reduced to what the query needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlType {
    Text,
    Int,
    Float,
    Bool,
    Timestamp,
    Date,
    /// Anything else (numeric, uuid, ...): read as text.
    Other,
}

/// A value of a result row.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

/// Where the log is in the engine.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SqlSource {
    /// A table or view, `name` or `schema.name` (each dot-separated part quoted).
    Table(String),
    /// The operator's own SELECT, used as a sub-query.
    Query(String),
}

/// One generated query and what its rows mean.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pushdown {
    pub dialect: Dialect,
    /// The query, with `$1` (PostgreSQL) or `?` (Spark) for the threshold of a score log.
    pub sql: String,
    /// The bound parameters in order (only a score log's threshold).
    pub params: Vec<f64>,
    #[serde(skip)]
    score: bool,
    #[serde(skip)]
    time: bool,
}

/// `name` as a quoted identifier of `dialect` (a quote inside the name doubled).
pub(crate) fn quote(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
        Dialect::Spark => format!("`{}`", name.replace('`', "``")),
    }
}

/// The FROM clause for a source: the quoted table, or the query as a sub-query.
pub fn from_clause(dialect: Dialect, source: &SqlSource) -> Result<String, FairnessError> {
    match source {
        SqlSource::Table(t) => {
            let parts: Vec<&str> = t.split('.').map(str::trim).collect();
            if parts.iter().any(|p| p.is_empty()) {
                return Err(FairnessError::usage(format!("table '{t}': expected NAME or SCHEMA.NAME")));
            }
            Ok(parts.iter().map(|p| quote(dialect, p)).collect::<Vec<_>>().join("."))
        }
        SqlSource::Query(q) => {
            let q = q.trim().trim_end_matches(';').trim();
            if q.is_empty() {
                return Err(FairnessError::usage("the query is empty"));
            }
            Ok(format!("(\n{q}\n) AS steward_query"))
        }
    }
}

/// The UTC day of a time column of type `t` (ISO 8601 text, a timestamp or date, or epoch seconds) as
/// a 64-bit integer, `floor(epoch seconds / 86400)`: the day `fairness::window_index` gives for files.
pub(crate) fn day_expr(dialect: Dialect, column: &str, t: SqlType) -> String {
    let c = quote(dialect, column);
    let (int, float) = match dialect {
        Dialect::Postgres => ("BIGINT", "DOUBLE PRECISION"),
        Dialect::Spark => ("BIGINT", "DOUBLE"),
    };
    let epoch = match (dialect, t) {
        (_, SqlType::Int | SqlType::Float) => format!("CAST({c} AS {float})"),
        // DATE_PART gives a double (EXTRACT a numeric, twice as slow on 10M rows); the session
        // is in UTC, so a date or a timestamp without zone is read as UTC, as in files.
        (Dialect::Postgres, SqlType::Timestamp | SqlType::Date) => format!("DATE_PART('epoch', CAST({c} AS TIMESTAMPTZ))"),
        (Dialect::Postgres, _) => format!("DATE_PART('epoch', CAST(CAST({c} AS TEXT) AS TIMESTAMPTZ))"),
        (Dialect::Spark, SqlType::Timestamp | SqlType::Date) => format!("UNIX_TIMESTAMP(CAST({c} AS TIMESTAMP))"),
        (Dialect::Spark, _) => format!("UNIX_TIMESTAMP(CAST(CAST({c} AS STRING) AS TIMESTAMP))"),
    };
    format!("CAST(FLOOR({epoch} / 86400) AS {int})")
}

/// The query that names the log's columns and their types without reading a row
/// (`SELECT cols FROM source WHERE 1 = 0`); errors name a column the source does not have.
pub fn probe(dialect: Dialect, spec: &Spec, source: &SqlSource) -> Result<(String, Vec<String>), FairnessError> {
    let plan = Plan::new(spec, "")?;
    let cols: Vec<String> = plan.columns.iter().map(|c| quote(dialect, c)).collect();
    Ok((format!("SELECT {} FROM {} WHERE 1 = 0", cols.join(", "), from_clause(dialect, source)?), plan.columns))
}

/// The rows themselves, for counting here instead of in the engine (PostgreSQL's `COPY ... TO STDOUT`
/// as CSV with a header): each mapped column under its own name, booleans as `true`/`false`, timestamps
/// and dates as epoch seconds. No parameters (none are needed).
pub fn copy_rows(spec: &Spec, source: &SqlSource, types: &[SqlType]) -> Result<String, FairnessError> {
    let plan = Plan::new(spec, "")?;
    if types.len() != plan.columns.len() {
        return Err(FairnessError::usage("the engine described a different number of columns than asked for"));
    }
    let cols: Vec<String> = plan
        .columns
        .iter()
        .zip(types)
        .map(|(c, t)| {
            let q = quote(Dialect::Postgres, c);
            match t {
                SqlType::Bool => format!("CAST({q} AS TEXT) AS {q}"),
                SqlType::Timestamp | SqlType::Date => format!("EXTRACT(EPOCH FROM {q}) AS {q}"),
                _ => q,
            }
        })
        .collect();
    Ok(format!(
        "COPY (SELECT {} FROM {}) TO STDOUT WITH (FORMAT csv, HEADER true)",
        cols.join(", "),
        from_clause(Dialect::Postgres, source)?
    ))
}

impl Pushdown {
    /// Builds the aggregate query. `types` are the plan's columns' types, in the order [`probe`] names them.
    pub fn new(dialect: Dialect, spec: &Spec, source: &SqlSource, types: &[SqlType]) -> Result<Pushdown, FairnessError> {
        let plan = Plan::new(spec, "")?;
        if types.len() != plan.columns.len() {
            return Err(FairnessError::usage("the engine described a different number of columns than asked for"));
        }
        let q = |c: &str| quote(dialect, c);
        let (text, int, float) = match dialect {
            Dialect::Postgres => ("TEXT", "BIGINT", "DOUBLE PRECISION"),
            Dialect::Spark => ("STRING", "BIGINT", "DOUBLE"),
        };
        // A value keeps its type when it is text, a number or a boolean; anything else becomes text.
        let value = |i: usize| {
            let c = q(&plan.columns[i]);
            match types[i] {
                SqlType::Text | SqlType::Bool => c,
                SqlType::Int => format!("CAST({c} AS {int})"),
                SqlType::Float => format!("CAST({c} AS {float})"),
                _ => format!("CAST({c} AS {text})"),
            }
        };
        let mut inner = Vec::new();
        let mut outer = Vec::new();
        for i in 0..plan.n_groups {
            inner.push(format!("{} AS g{i}", value(i)));
            outer.push(format!("g{i}"));
        }
        inner.push(format!("{} AS label", value(plan.label_index())));
        outer.push("label".into());
        let di = plan.decision_index();
        let score = plan.is_score();
        let mut params = Vec::new();
        if let Decision::Score { threshold, .. } = &spec.decision {
            let s = q(&plan.columns[di]);
            inner.push(format!("CAST({s} AS {float}) AS s"));
            let p = match dialect {
                Dialect::Postgres => "$1",
                Dialect::Spark => "?",
            };
            params.push(*threshold);
            let ge = if spec.strict_threshold { ">" } else { ">=" };
            // `fin` and `f` come from a middle query (see below), computed once per row.
            // The bin as `values::score_bin` places it: f = floor(100 s) clamped to -1..=100, then moved
            // by one where the division by 100 rounds across a threshold (k / 100 computed as in f64).
            outer.push(format!("CASE WHEN fin THEN s {ge} {p} END AS decision"));
            outer.push(format!(
                "CASE WHEN NOT fin THEN NULL WHEN f < 100 AND s {ge} (f + 1) / 100 THEN f + 2 \
                 WHEN f >= 0 AND NOT (s {ge} f / 100) THEN f ELSE f + 1 END AS bin"
            ));
            outer.push("CASE WHEN fin THEN NULL ELSE s END AS bad_score".to_string());
        } else {
            inner.push(format!("{} AS decision", value(di)));
            outer.push("decision".into());
        }
        if let Some(ti) = plan.time {
            inner.push(format!("{} AS day", day_expr(dialect, &plan.columns[ti], types[ti])));
            outer.push("day".into());
        }
        if let Some(vi) = plan.version {
            inner.push(format!("{} AS version", value(vi)));
            outer.push("version".into());
        }
        let keys = (1..=outer.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let rows = format!("SELECT {}\n  FROM {}", inner.join(", "), from_clause(dialect, source)?);
        let rows = if score {
            // A middle query computes the finite flag and the bin's first guess once per row (clamped
            // before FLOOR: Spark's FLOOR gives a BIGINT, which overflows, an error in ANSI mode, for an
            // infinite or huge score; the same value as clamping after). PostgreSQL
            // would otherwise fold it into the outer query and evaluate each of the eight references
            // (9.4 s instead of 2.2 s on 10M rows); OFFSET 0 keeps it a query of its own.
            let fence = if dialect == Dialect::Postgres { " OFFSET 0" } else { "" };
            format!(
                "SELECT steward_input.*, s > CAST('-Infinity' AS {float}) AND s < CAST('Infinity' AS {float}) AS fin, \
                 FLOOR(LEAST(GREATEST(s * 100, -1), 100)) AS f\n  FROM (\n  {rows}\n  ) AS steward_input{fence}"
            )
        } else {
            rows
        };
        let sql = format!("SELECT {}, COUNT(*) AS n\nFROM (\n  {rows}\n) AS steward_rows\nGROUP BY {keys}", outer.join(", "));
        Ok(Pushdown { dialect, sql, params, score, time: plan.time.is_some() })
    }

    /// A query that returns rows, not counts (see [`copy_rows`]), for the report to name.
    pub fn fetched(sql: String) -> Pushdown {
        Pushdown { dialect: Dialect::Postgres, sql, params: Vec::new(), score: false, time: false }
    }

    /// Turns the query's rows into counts, with the file readers' rules for every value (binary
    /// labels, positive values, missing values, versions). `name` names the source in messages.
    pub fn counts(&self, spec: &Spec, name: &str, rows: &[Vec<SqlValue>]) -> Result<Counts, FairnessError> {
        let plan = Plan::new(spec, name)?;
        let mut tally = Tally::new(&plan);
        let expected = plan.n_groups + 2 + if self.score { 3 } else { 1 } + usize::from(self.time) + usize::from(plan.version.is_some());
        for (i, r) in rows.iter().enumerate() {
            let n = match r.last() {
                Some(SqlValue::Int(n)) if *n >= 0 => *n as u64,
                _ => return Err(FairnessError::io(name, format!("result row {}: no row count", i + 1))),
            };
            if r.len() != expected {
                return Err(FairnessError::io(name, format!("result row {} has {} columns, expected {expected}", i + 1, r.len())));
            }
            let mut row = Row::new();
            let mut at = 0;
            for g in 0..plan.n_groups {
                row.cells[g] = field(&r[at]);
                at += 1;
            }
            row.cells[plan.label_index()] = field(&r[at]);
            at += 1;
            let mut scored = None;
            if self.score {
                let (decision, bin, bad) = (&r[at], &r[at + 1], &r[at + 2]);
                at += 3;
                match (decision, bin) {
                    (SqlValue::Bool(d), b) => {
                        let bin = number(b).filter(|b| (0.0..=101.0).contains(b)).ok_or_else(|| {
                            FairnessError::io(name, format!("result row {}: score bin {b:?} is not 0..=101", i + 1))
                        })?;
                        scored = Some((bin as usize, *d));
                        row.cells[plan.decision_index()] = Field::Bool(*d);
                    }
                    _ => row.cells[plan.decision_index()] = field(bad),
                }
            } else {
                row.cells[plan.decision_index()] = field(&r[at]);
                at += 1;
            }
            if let Some(ti) = plan.time {
                row.cells[ti] = match &r[at] {
                    SqlValue::Int(day) => Field::Int(day.saturating_mul(86_400)),
                    other => field(other),
                };
                at += 1;
            }
            if let Some(vi) = plan.version {
                row.cells[vi] = field(&r[at]);
            }
            let pos = Pos { major: i as u64, minor: 0 };
            if !tally.push_many(&row, pos, n, scored) {
                break;
            }
        }
        let counts = merge(&plan, vec![tally.finish()], &|_| None)?;
        if counts.rows == 0 {
            let why = if counts.skipped > 0 { format!("no usable rows ({} skipped as bad)", counts.skipped) } else { "no rows".into() };
            return Err(FairnessError::input(name, None, None, why));
        }
        Ok(counts)
    }
}

fn field(v: &SqlValue) -> Field<'_> {
    match v {
        SqlValue::Null => Field::Null,
        SqlValue::Int(i) => Field::Int(*i),
        SqlValue::Float(x) => Field::Float(*x),
        SqlValue::Bool(b) => Field::Bool(*b),
        SqlValue::Text(t) => Field::Text(t.as_bytes()),
    }
}

fn number(v: &SqlValue) -> Option<f64> {
    match v {
        SqlValue::Int(i) => Some(*i as f64),
        SqlValue::Float(x) => Some(*x),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_the_threshold_is_a_parameter() {
        let mut spec = Spec::new(&["se\"x", "race"], "label", Spec::score("sc`ore", 0.5));
        spec.version = Some("v".into());
        let src = SqlSource::Table("public.adult \"log\"".into());
        let (probe_sql, cols) = probe(Dialect::Postgres, &spec, &src).unwrap();
        assert_eq!(probe_sql, "SELECT \"se\"\"x\", \"race\", \"label\", \"sc`ore\", \"v\" FROM \"public\".\"adult \"\"log\"\"\" WHERE 1 = 0");
        assert_eq!(cols.len(), 5);
        let t = [SqlType::Text, SqlType::Text, SqlType::Int, SqlType::Float, SqlType::Other];
        let p = Pushdown::new(Dialect::Postgres, &spec, &src, &t).unwrap();
        assert_eq!(p.params, [0.5]);
        assert!(p.sql.contains("THEN s >= $1 END AS decision"), "{}", p.sql);
        assert!(!p.sql.contains("0.5"));
        assert!(p.sql.contains("CAST(\"v\" AS TEXT) AS version"));
        let s = Pushdown::new(Dialect::Spark, &spec, &src, &t).unwrap();
        assert!(s.sql.contains("CAST(`sc``ore` AS DOUBLE) AS s") && s.sql.contains("s >= ?"), "{}", s.sql);
        assert!(Pushdown::new(Dialect::Postgres, &spec, &SqlSource::Table("a..b".into()), &t).is_err());
    }

    #[test]
    fn rows_become_counts_with_the_file_rules() {
        let spec = Spec::new(&["sex"], "label", Spec::prediction("prediction"));
        let t = [SqlType::Text, SqlType::Int, SqlType::Int];
        let p = Pushdown::new(Dialect::Postgres, &spec, &SqlSource::Table("t".into()), &t).unwrap();
        let row = |g: &str, l: i64, d: i64, n: i64| vec![SqlValue::Text(g.into()), SqlValue::Int(l), SqlValue::Int(d), SqlValue::Int(n)];
        let c = p.counts(&spec, "pg", &[row("F", 1, 1, 3), row("F", 0, 1, 2), row("M", 0, 0, 5)]).unwrap();
        assert_eq!(c.rows, 10);
        let f = c.cells.iter().find(|(k, _)| k.group == ["F"]).map(|(_, v)| *v).unwrap();
        assert_eq!((f.tp, f.fp, f.tn, f.fn_), (3, 2, 0, 0));
        let e = p.counts(&spec, "pg", &[row("F", 2, 1, 3)]).unwrap_err().to_string();
        assert!(e.contains("column 'label'") && e.contains("not binary"), "{e}");
        let mut skip = spec.clone();
        skip.skip_bad_rows = true;
        let c = p.counts(&skip, "pg", &[row("F", 2, 1, 3), row("M", 1, 1, 1)]).unwrap();
        assert_eq!((c.rows, c.skipped), (1, 3));
    }
}
