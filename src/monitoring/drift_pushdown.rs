//! Drift counted where the log lives: one generated SQL query returns, per UTC day, how many rows hold
//! each distinct value of each analysed column (and each day's rows), and the drift engine compares
//! those counts exactly as it compares a file's ([`super::drift::compare`]). A value count is the
//! finest histogram there is, so every statistic (KS and its p-value, Wasserstein, PSI and
//! Jensen-Shannon on Evidently's bins, chi-square) equals the file engine's on the same rows.
//!
//! The query (per [`Dialect`]; identifiers quoted, no value spliced, the operator's `Query` a
//! sub-query): every analysed column is cast to text in an inner query, then
//! `GROUP BY GROUPING SETS ((day), (day, v0), (day, v1), ...)` (without a time column, `()` and `(vi)`),
//! one scan for every column. Output columns: `which` (the column's index, -1 for a day's total rows),
//! `day` (`floor(epoch seconds / 86400)`, only with a time column), `value` (the column's value as text;
//! NULL is a missing value) and `n`.
//!
//! **Size.** The result has a row per distinct (day, column, value): small for categories, integers
//! and few-digit measurements; a float column with millions of distinct values per day sends them all.
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

/// The query that reads no row and gives the time column's type (`SELECT time FROM source WHERE 1 = 0`).
pub fn time_probe(dialect: Dialect, source: &SqlSource, time: &str) -> Result<String, FairnessError> {
    Ok(format!("SELECT {} FROM {} WHERE 1 = 0", quote(dialect, time), from_clause(dialect, source)?))
}

impl DriftQuery {
    /// The value counts of `columns` per UTC day of `time` (its name and type; None: one undated slot).
    pub fn new(dialect: Dialect, source: &SqlSource, columns: &[String], time: Option<(&str, SqlType)>) -> Result<DriftQuery, FairnessError> {
        if columns.is_empty() {
            return Err(FairnessError::usage("no column to analyse"));
        }
        let text = match dialect {
            Dialect::Postgres => "TEXT",
            Dialect::Spark => "STRING",
        };
        let mut inner: Vec<String> = columns.iter().enumerate().map(|(i, c)| format!("CAST({} AS {text}) AS v{i}", quote(dialect, c))).collect();
        let day = time.map(|(t, ty)| day_expr(dialect, t, ty));
        if let Some(d) = &day {
            inner.insert(0, format!("{d} AS day"));
        }
        let lead = if day.is_some() { "day" } else { "" };
        let set = |v: Option<usize>| match (lead, v) {
            ("", None) => "()".to_string(),
            ("", Some(i)) => format!("(v{i})"),
            (d, None) => format!("({d})"),
            (d, Some(i)) => format!("({d}, v{i})"),
        };
        let mut sets = vec![set(None)];
        sets.extend((0..columns.len()).map(|i| set(Some(i))));
        let which: Vec<String> = (0..columns.len()).map(|i| format!("WHEN GROUPING(v{i}) = 0 THEN {i}")).collect();
        // Only the grouped column is not NULL in a row (the others are NULL by grouping), so COALESCE
        // gives its value, or NULL when the value itself is missing.
        let value = if columns.len() == 1 { "v0".to_string() } else { format!("COALESCE({})", (0..columns.len()).map(|i| format!("v{i}")).collect::<Vec<_>>().join(", ")) };
        let sql = format!(
            "SELECT CAST(CASE {} ELSE -1 END AS BIGINT) AS which, {}{value} AS value, COUNT(*) AS n\n\
             FROM (\n  SELECT {}\n  FROM {}\n) AS steward_rows\nGROUP BY GROUPING SETS ({})",
            which.join(" "),
            if day.is_some() { "day, " } else { "" },
            inner.join(", "),
            from_clause(dialect, source)?,
            sets.join(", ")
        );
        Ok(DriftQuery { dialect, sql, columns: columns.len(), time: time.is_some() })
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
        let cols = vec!["a\"ge".to_string(), "work".to_string()];
        let src = SqlSource::Table("public.log".into());
        let q = DriftQuery::new(Dialect::Postgres, &src, &cols, Some(("ti\"me", SqlType::Timestamp))).unwrap();
        assert!(q.sql.contains("CAST(\"a\"\"ge\" AS TEXT) AS v0"), "{}", q.sql);
        assert!(q.sql.contains("GROUP BY GROUPING SETS ((day), (day, v0), (day, v1))"), "{}", q.sql);
        assert!(q.sql.contains("DATE_PART('epoch', CAST(\"ti\"\"me\" AS TIMESTAMPTZ))"), "{}", q.sql);
        let s = DriftQuery::new(Dialect::Spark, &src, &cols[..1], None).unwrap();
        assert!(s.sql.contains("CAST(`a\"ge` AS STRING) AS v0") && s.sql.contains("GROUPING SETS ((), (v0))"), "{}", s.sql);
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
