//! Drift counted where the log lives: one generated SQL query returns, per UTC day, how many rows hold
//! each distinct value of each analysed column (and each day's rows), and the drift engine compares
//! those counts exactly as it compares a file's ([`super::drift::compare`]). A value count is the
//! finest histogram there is, so every statistic (KS and its p-value, Wasserstein, PSI and
//! Jensen-Shannon on Evidently's bins, chi-square) equals the file engine's on the same rows.
//!
//! The query (per [`Dialect`]; identifiers quoted, no value spliced, the operator's `Query` a
//! sub-query), one scan: an inner aggregation counts the rows by (day, every analysed column) at once,
//! then the outer one sums those counts by (day, column, value as text): PostgreSQL unpivots the inner
//! rows with `CROSS JOIN LATERAL (VALUES (-1, NULL), (0, v0), ...)`, Spark uses
//! `GROUPING SETS ((day), (day, v0), ...)`. Output columns: `which` (the column's index, -1 for a day's
//! total rows), `day` (`floor(epoch seconds / 86400)`, only with a time column), `value` (the column's
//! value as text; NULL is a missing value) and `n`.
//!
//! **Size.** The result has a row per distinct (day, column, value): small for categories, integers
//! and few-digit measurements; a float column with millions of distinct values per day sends them all.
//! The inner aggregation has a row per distinct combination of the columns: with columns that hold a
//! value per row it reduces nothing and the engine's work grows with the columns (see BENCHMARKS.md).
//! The connectors refuse past `sources::MAX_RESULT_ROWS` rows; the counts themselves keep the file
//! engine's cap ([`super::drift::MAX_DISTINCT`] values per column and day, then rounding to 6
//! significant digits).

use std::collections::BTreeMap;

use serde::Serialize;

use super::drift::{Counted, DayValues, MAX_DAYS, Values};
use crate::fairness::FairnessError;
use crate::fairness::pushdown::{Dialect, SqlSource, SqlType, SqlValue, day_expr, from_clause, quote};

/// One generated drift query.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DriftQuery {
    pub dialect: Dialect,
    pub sql: String,
    #[serde(skip)]
    columns: usize,
    #[serde(skip)]
    time: bool,
}

/// The query that reads no row and gives the columns' types: the time column's (when given) first,
/// then `columns`' (`SELECT [time,] c0, c1 ... FROM source WHERE 1 = 0`).
pub fn probe(dialect: Dialect, source: &SqlSource, columns: &[String], time: Option<&str>) -> Result<String, FairnessError> {
    let names: Vec<String> = time.into_iter().chain(columns.iter().map(String::as_str)).map(|c| quote(dialect, c)).collect();
    Ok(format!("SELECT {} FROM {} WHERE 1 = 0", names.join(", "), from_clause(dialect, source)?))
}

impl DriftQuery {
    /// The value counts of `columns` (with their types, as [`probe`] gives them) per UTC day of `time`
    /// (its name and type; None: one undated slot).
    pub fn new(dialect: Dialect, source: &SqlSource, columns: &[(String, SqlType)], time: Option<(&str, SqlType)>) -> Result<DriftQuery, FairnessError> {
        if columns.is_empty() {
            return Err(FairnessError::usage("no column to analyse"));
        }
        let text = match dialect {
            Dialect::Postgres => "TEXT",
            Dialect::Spark => "STRING",
        };
        // First the rows are counted by every column at once, each value as it is typed (text only for
        // types an engine may not group by, such as json): one hash aggregation, and far fewer rows
        // than the log when the columns have few values.
        let mut inner: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (c, t))| match t {
                SqlType::Other => format!("CAST({} AS {text}) AS v{i}", quote(dialect, c)),
                _ => format!("{} AS v{i}", quote(dialect, c)),
            })
            .collect();
        if let Some((t, ty)) = time {
            inner.insert(0, format!("{} AS day", day_expr(dialect, t, ty)));
        }
        let keys = (1..=inner.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let inner = format!("SELECT {}, COUNT(*) AS k\n  FROM {}\n  GROUP BY {keys}", inner.join(", "), from_clause(dialect, source)?);
        let day = if time.is_some() { "day, " } else { "" };
        let n = columns.len();
        let sql = match dialect {
            // Then each (day, column, value) summed. PostgreSQL: the counted rows unpivoted to one row
            // per column (LATERAL VALUES) and grouped by hashing; its GROUPING SETS would sort the
            // whole log once per column (estimating a group per row), 5x slower on 10M rows.
            Dialect::Postgres => {
                let values: Vec<String> = (0..n).map(|i| format!("({i}, CAST(r.v{i} AS TEXT))")).collect();
                format!(
                    "SELECT c.which, {}c.value, CAST(SUM(r.k) AS BIGINT) AS n\nFROM (\n  {inner}\n) AS r\n\
                     CROSS JOIN LATERAL (VALUES (-1, NULL), {}) AS c(which, value)\nGROUP BY {}",
                    if time.is_some() { "r.day, " } else { "" },
                    values.join(", "),
                    if time.is_some() { "1, 2, 3" } else { "1, 2" }
                )
            }
            // Spark: GROUPING SETS (an Expand and one hash aggregation).
            Dialect::Spark => {
                let set = |v: Option<usize>| match (time.is_some(), v) {
                    (false, None) => "()".to_string(),
                    (false, Some(i)) => format!("(v{i})"),
                    (true, None) => "(day)".to_string(),
                    (true, Some(i)) => format!("(day, v{i})"),
                };
                let mut sets = vec![set(None)];
                sets.extend((0..n).map(|i| set(Some(i))));
                let which: Vec<String> = (0..n).map(|i| format!("WHEN GROUPING(v{i}) = 0 THEN {i}")).collect();
                // Only the grouped column is not NULL in a row (the others are NULL by grouping), so
                // COALESCE gives its value, or NULL when the value itself is missing.
                let value = (0..n).map(|i| format!("CAST(v{i} AS {text})")).collect::<Vec<_>>().join(", ");
                let value = if n == 1 { value } else { format!("COALESCE({value})") };
                format!(
                    "SELECT CAST(CASE {} ELSE -1 END AS BIGINT) AS which, {day}{value} AS value, CAST(SUM(k) AS BIGINT) AS n\n\
                     FROM (\n  {inner}\n) AS r\nGROUP BY GROUPING SETS ({})",
                    which.join(" "),
                    sets.join(", ")
                )
            }
        };
        Ok(DriftQuery { dialect, sql, columns: n, time: time.is_some() })
    }

    /// The query's rows as counts per day, with the file engine's rules for every value (missing
    /// values, the cap on distinct values). `name` names the source in messages.
    pub fn counted(&self, name: &str, rows: &[Vec<SqlValue>]) -> Result<Counted, FairnessError> {
        let width = 3 + usize::from(self.time);
        let mut days: BTreeMap<Option<i64>, (u64, Vec<Values>)> = BTreeMap::new();
        let mut no_time = 0;
        let bad = |i: usize, what: String| FairnessError::io(name, format!("result row {}: {what}", i + 1));
        for (i, r) in rows.iter().enumerate() {
            if r.len() != width {
                return Err(bad(i, format!("{} columns, expected {width}", r.len())));
            }
            let which = match &r[0] {
                SqlValue::Int(w) if *w >= -1 && *w < self.columns as i64 => *w,
                other => return Err(bad(i, format!("column index {other:?}"))),
            };
            let n = match r[width - 1] {
                SqlValue::Int(n) if n >= 0 => n as u64,
                _ => return Err(bad(i, "no row count".into())),
            };
            let day = match (self.time, &r[1]) {
                (false, _) => None,
                (true, SqlValue::Int(d)) => Some(*d),
                // Rows whose time is missing: counted, kept out of every window (as in files).
                (true, SqlValue::Null) => {
                    if which < 0 {
                        no_time += n;
                    }
                    continue;
                }
                (true, other) => return Err(bad(i, format!("day {other:?}"))),
            };
            if !days.contains_key(&day) && days.len() >= MAX_DAYS {
                return Err(FairnessError::input(name, None, None, format!("more than {MAX_DAYS} days in the logs")));
            }
            let slot = days.entry(day).or_insert_with(|| (0, vec![Values::default(); self.columns]));
            if which < 0 {
                slot.0 += n;
                continue;
            }
            let values = &mut slot.1[which as usize];
            match &r[width - 2] {
                SqlValue::Null => values.missing += n,
                SqlValue::Text(t) => values.add_n(t, n),
                SqlValue::Int(v) => values.add_n(&v.to_string(), n),
                SqlValue::Float(x) => values.add_n(&x.to_string(), n),
                SqlValue::Bool(b) => values.add_n(if *b { "true" } else { "false" }, n),
            }
        }
        Ok(Counted::days(DayValues { days, no_time }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_scan_quoted_names_and_rows_become_day_counts() {
        let cols = vec![("a\"ge".to_string(), SqlType::Int), ("work".to_string(), SqlType::Other)];
        let src = SqlSource::Table("public.log".into());
        let q = DriftQuery::new(Dialect::Postgres, &src, &cols, Some(("ti\"me", SqlType::Timestamp))).unwrap();
        assert!(q.sql.contains("\"a\"\"ge\" AS v0, CAST(\"work\" AS TEXT) AS v1, COUNT(*) AS k"), "{}", q.sql);
        assert!(q.sql.contains("CROSS JOIN LATERAL (VALUES (-1, NULL), (0, CAST(r.v0 AS TEXT)), (1, CAST(r.v1 AS TEXT)))"), "{}", q.sql);
        assert!(q.sql.contains("DATE_PART('epoch', CAST(\"ti\"\"me\" AS TIMESTAMPTZ))"), "{}", q.sql);
        let s = DriftQuery::new(Dialect::Spark, &src, &cols[..1], None).unwrap();
        assert!(s.sql.contains("`a\"ge` AS v0") && s.sql.contains("GROUPING SETS ((), (v0))"), "{}", s.sql);
        let both = DriftQuery::new(Dialect::Spark, &src, &cols, Some(("t", SqlType::Date))).unwrap();
        assert!(both.sql.contains("GROUPING SETS ((day), (day, v0), (day, v1))") && both.sql.contains("COALESCE(CAST(v0 AS STRING), CAST(v1 AS STRING))"), "{}", both.sql);
        let row = |w: i64, d: Option<i64>, v: Option<&str>, n: i64| {
            vec![SqlValue::Int(w), d.map_or(SqlValue::Null, SqlValue::Int), v.map_or(SqlValue::Null, |v| SqlValue::Text(v.into())), SqlValue::Int(n)]
        };
        let rows = [row(-1, Some(3), None, 5), row(0, Some(3), Some("39"), 4), row(0, Some(3), None, 1), row(1, Some(3), Some("NA"), 5), row(-1, None, None, 2), row(0, None, Some("1"), 2)];
        let c = q.counted("pg", &rows).unwrap();
        let d = c.day_values().unwrap();
        assert_eq!(d.no_time, 2);
        let (n, v) = &d.days[&Some(3)];
        assert_eq!(*n, 5);
        assert_eq!((v[0].counts.get("39"), v[0].missing), (Some(&4), 1));
        // "NA" is a missing value, as in a CSV file.
        assert_eq!((v[1].counts.len(), v[1].missing), (0, 5));
        let Err(e) = q.counted("pg", &[row(2, Some(3), Some("x"), 1)]) else { panic!("a column index past the columns is refused") };
        assert!(e.to_string().contains("column index"), "{e}");
    }
}
