//! Drift of a log's columns between a reference and current windows.
//!
//! Input: a current log (CSV, JSON Lines or Parquet, [`super::rows`]) and either a reference file or the first
//! N days of the current log (by its time column). Each column's values are counted per UTC day (and
//! for the reference), as text; at the end the days are merged into the reference and the current
//! windows (whole log, days or ISO weeks) and each column is analysed:
//! - **numerical** (every value parses as a finite number and the reference has more than 5 distinct
//!   values, Evidently's rule for KS): KS statistic and p-value, Wasserstein distance and its normed
//!   form, PSI and Jensen-Shannon on Evidently's bins, means;
//! - **categorical** (anything else): chi-square of current counts against reference shares,
//!   Jensen-Shannon and PSI on category shares, categories new in the current window and categories
//!   gone from it, and the positive rate of a 0/1 column (a model's decision).
//!
//! Missing values (pandas' default list, [`super::rows::MISSING`]) are counted and reported per window,
//! never analysed as values and never dropped silently.
//!
//! **Verdict (size-aware).** A column has drifted when its effect size crosses 0.1 **and** its test is
//! significant at 5%: numerical, normed Wasserstein >= 0.1 and KS p < 0.05; categorical, Jensen-Shannon
//! >= 0.1 and chi-square p < 0.05. Why both: a p-value alone flags trivial shifts once samples are large
//! (Evidently's users' complaint, evidently#50, which led Evidently to switch above 1,000 reference rows
//! to normed Wasserstein and Jensen-Shannon with a 0.1 threshold; NannyML's default is Jensen-Shannon
//! 0.1 too); an effect size alone flags noise in small windows. Requiring both keeps the verdict stable
//! as windows grow or shrink. Severity = effect / 0.1; the report sorts by it.
//!
//! **Reading.** CSV logs are read in parallel (`scan`: the fairness engine's block pipeline, two
//! workers, each interning values into ids and counting per (column, day), `drift_count`); JSON Lines
//! and Parquet one row at a time through the same counting code.
//!
//! **Memory.** Bounded by distinct values, not rows: at most [`MAX_DISTINCT`] distinct values per
//! (column, day) and per (column, window) when days are summed; past that a numerical column's values are rounded to 6 significant digits (the
//! report says `rounded`) and a categorical one is not analysed (reason given). At most [`MAX_DAYS`]
//! days.

use std::collections::BTreeMap;

use super::FastMap;
use std::path::Path;

use serde::Serialize;

pub use super::column::{Bin, ColumnDrift, MAX_BINS, format_stat};
use super::column::analyse;
use super::drift_count::{DriftCounts, Windows, add_window};
use super::rows::is_missing;
use super::scan::Log;
use crate::fairness::{FairnessError, Progress, Window, date_string, iso_week_label, window_index, window_start_day};

/// Distinct values kept per (column, day).
pub const MAX_DISTINCT: usize = 1_000_000;
/// Days kept.
pub const MAX_DAYS: usize = 800;
/// Effect size at which a column can be judged drifted (normed Wasserstein, Jensen-Shannon).
pub const EFFECT_THRESHOLD: f64 = 0.1;
/// Significance level of the test that must agree.
pub const ALPHA: f64 = 0.05;

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct DriftSpec {
    /// Columns to analyse; empty = every column of the first file read (the reference file, else the
    /// log) but `exclude` and the time column.
    pub columns: Vec<String>,
    pub exclude: Vec<String>,
    /// Columns to treat as categorical even when numeric (codes, ids of classes).
    pub categorical: Vec<String>,
    /// Time column (ISO 8601 or epoch seconds): needed for windows and for `reference_days`.
    pub time: Option<String>,
    /// Current windows; `None` = the whole current log (after the reference days) is one window.
    pub window: Option<Window>,
    /// Without a reference file: the first N days (UTC) of the log are the reference.
    pub reference_days: Option<u32>,
}

#[derive(Default, Clone)]
pub(super) struct Values {
    /// Value -> rows (a fast hasher: the keys are cells of the operator's own logs, at most MAX_DISTINCT).
    pub(super) counts: FastMap<String, u64>,
    pub(super) missing: u64,
    pub(super) rounded: bool,
    pub(super) overflow: bool,
}

impl Values {
    pub(super) fn add(&mut self, cell: &str) {
        self.add_n(cell, 1)
    }

    /// Counts `n` rows holding `cell`.
    pub(super) fn add_n(&mut self, cell: &str, n: u64) {
        if is_missing(cell) {
            self.missing += n;
            return;
        }
        if self.overflow {
            return;
        }
        if self.rounded {
            if let Ok(x) = cell.trim().parse::<f64>() {
                *self.counts.entry(round6(x)).or_default() += n;
                return;
            }
            self.overflow = true;
            self.counts.clear();
            return;
        }
        if let Some(c) = self.counts.get_mut(cell) {
            *c += n;
            return;
        }
        if self.counts.len() >= MAX_DISTINCT {
            self.shrink();
            return self.add_n(cell, n);
        }
        self.counts.insert(cell.to_string(), n);
    }

    /// Past the cap: a numerical column is rounded to 6 significant digits; anything else stops.
    fn shrink(&mut self) {
        let old = std::mem::take(&mut self.counts);
        let mut new: FastMap<String, u64> = FastMap::default();
        for (k, c) in old {
            match k.trim().parse::<f64>() {
                Ok(x) => *new.entry(round6(x)).or_default() += c,
                Err(_) => {
                    self.overflow = true;
                    return;
                }
            }
        }
        self.rounded = true;
        self.overflow = new.len() >= MAX_DISTINCT;
        if !self.overflow {
            self.counts = new;
        }
    }

    /// Adds another count of the same column, keeping this one's cap: past MAX_DISTINCT values the
    /// sum is rounded (a numerical column) or given up (anything else), as when counting rows.
    pub(super) fn merge(&mut self, o: &Values) {
        self.missing += o.missing;
        if o.overflow && !self.overflow {
            self.overflow = true;
            self.counts.clear();
        }
        if o.rounded && !self.rounded && !self.overflow {
            self.shrink();
        }
        for (k, c) in &o.counts {
            self.add_n(k, *c);
        }
    }
}

fn round6(x: f64) -> String {
    format!("{x:.5e}")
}

/// One current window.
#[derive(Debug, Clone, Serialize)]
pub struct WindowDrift {
    /// "2026-11-29", "2026-W48", or "all".
    pub label: String,
    pub rows: u64,
    pub drifted_columns: usize,
    /// Most severe first.
    pub columns: Vec<ColumnDrift>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub reference: String,
    pub reference_rows: u64,
    pub current: String,
    pub windows: Vec<WindowDrift>,
    pub rule: String,
    /// Rows whose time cell was missing or unreadable (counted, kept out of windows).
    pub rows_without_time: u64,
    /// The queries a SQL engine ran for a side counted there (none for files).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<SideQuery>,
}

/// A query that counted one side of the analysis in a SQL engine.
#[derive(Debug, Clone, Serialize)]
pub struct SideQuery {
    /// "reference" or "current".
    pub side: String,
    /// The engine's label ("postgresql", "spark").
    pub engine: String,
    #[serde(flatten)]
    pub query: super::drift_pushdown::DriftQuery,
}

impl DriftReport {
    pub fn any_drift(&self) -> bool {
        self.windows.iter().any(|w| w.drifted_columns > 0)
    }
}

pub const RULE: &str = "drifted = effect >= 0.1 and p < 0.05 (numerical: normed Wasserstein and KS; categorical: Jensen-Shannon and chi-square)";

/// One side of a drift analysis (the reference or the current log), counted: by the file engine's
/// workers, or per day by a SQL engine ([`super::drift_pushdown`]).
pub struct Counted(Side);

enum Side {
    Workers(Vec<DriftCounts>),
    Days(DayValues),
}

/// Value counts per UTC day (None: undated), with each day's rows; rows without a time apart.
#[derive(Default)]
pub(super) struct DayValues {
    pub(super) days: BTreeMap<Option<i64>, (u64, Vec<Values>)>,
    pub(super) no_time: u64,
}

impl Counted {
    pub(super) fn days(d: DayValues) -> Counted {
        Counted(Side::Days(d))
    }

    #[cfg(test)]
    pub(super) fn day_values(&self) -> Option<&DayValues> {
        match &self.0 {
            Side::Days(d) => Some(d),
            Side::Workers(_) => None,
        }
    }

    fn no_time(&self) -> u64 {
        match &self.0 {
            Side::Workers(w) => w.iter().map(|p| p.no_time).sum(),
            Side::Days(d) => d.no_time,
        }
    }

    fn day_list(&self) -> Vec<Option<i64>> {
        match &self.0 {
            Side::Workers(w) => w.iter().flat_map(|p| p.days()).collect(),
            Side::Days(d) => d.days.keys().copied().collect(),
        }
    }

    /// Adds the counts to `out` by window (`label` names each day's window; None: the reference).
    fn into_windows(self, label: &dyn Fn(Option<i64>) -> Option<String>, out: &mut Windows) {
        match self.0 {
            Side::Workers(w) => {
                for p in w {
                    p.into_windows(label, out);
                }
            }
            Side::Days(d) => {
                for (day, (rows, values)) in d.days {
                    add_window(out, label(day), rows, values);
                }
            }
        }
    }
}

/// Counts a file's `columns` per day (as the reference: undated), one count per worker.
pub fn count_file(path: &Path, columns: &[String], spec: &DriftSpec, as_reference: bool, progress: &Progress) -> Result<Counted, FairnessError> {
    read(Log::open(path, progress)?, columns, spec, as_reference, progress)
}

/// Counts a log's chosen columns per day (a reference file's rows: undated), one count per worker.
fn read(log: Log<'_>, columns: &[String], spec: &DriftSpec, as_reference: bool, progress: &Progress) -> Result<Counted, FairnessError> {
    let idx = columns.iter().map(|c| Ok((log.index(c)?, c.clone()))).collect::<Result<Vec<_>, FairnessError>>()?;
    let time = match (&spec.time, as_reference) {
        (Some(t), false) => Some((log.index(t)?, t.clone())),
        _ => None,
    };
    Ok(Counted(Side::Workers(log.count(DriftCounts::new(idx, time), progress)?)))
}

/// The columns analysed: as asked, or `header` (the first log's columns) minus the excluded and the
/// time column.
pub fn chosen_columns(header: &[String], spec: &DriftSpec) -> Vec<String> {
    if !spec.columns.is_empty() {
        return spec.columns.clone();
    }
    header.iter().filter(|h| !spec.exclude.contains(h) && Some(*h) != spec.time.as_ref()).cloned().collect()
}

/// What a drift analysis needs before reading anything: a reference, and the time column for windows.
pub fn check_spec(spec: &DriftSpec, has_reference: bool) -> Result<(), FairnessError> {
    if !has_reference && spec.reference_days.is_none() {
        return Err(FairnessError::usage("give a reference: a file (--reference FILE) or the first days of the log (--reference-days N)"));
    }
    if (spec.reference_days.is_some() || spec.window.is_some()) && spec.time.is_none() {
        return Err(FairnessError::usage("windows and --reference-days need the time column (--time COL)"));
    }
    Ok(())
}

/// Reads the logs and compares every chosen column of each current window with the reference.
pub fn drift(reference: Option<&Path>, current: &Path, spec: &DriftSpec, progress: &Progress) -> Result<DriftReport, FairnessError> {
    check_spec(spec, reference.is_some())?;
    // Columns: as asked, or the header of the first file read (the reference file, else the log) minus
    // the excluded and the time column. Each file is opened once.
    let (columns, reference_counts, counts) = match reference {
        Some(r) => {
            let log = Log::open(r, progress)?;
            let columns = chosen_columns(log.header(), spec);
            let reference_counts = read(log, &columns, spec, true, progress)?;
            let counts = read(Log::open(current, progress)?, &columns, spec, false, progress)?;
            (columns, Some((r.display().to_string(), reference_counts)), counts)
        }
        None => {
            let log = Log::open(current, progress)?;
            let columns = chosen_columns(log.header(), spec);
            let counts = read(log, &columns, spec, false, progress)?;
            (columns, None, counts)
        }
    };
    compare(&columns, spec, reference_counts, (current.display().to_string(), counts))
}

/// Compares every column of each current window with the reference, from counts: `reference` is a
/// separate log (its name and counts), or None for the first `spec.reference_days` days of `current`.
pub fn compare(columns: &[String], spec: &DriftSpec, reference: Option<(String, Counted)>, current: (String, Counted)) -> Result<DriftReport, FairnessError> {
    let (current_name, counts) = current;
    let no_time = counts.no_time();
    let days: std::collections::BTreeSet<i64> = counts.day_list().into_iter().flatten().collect();
    if days.len() > MAX_DAYS {
        return Err(FairnessError::input(&current_name, None, None, format!("more than {MAX_DAYS} days in the logs")));
    }
    let first_day = days.first().copied();
    let separate = reference.is_some();

    // Each day's window: the reference (None) for a reference file's rows and the log's first N days,
    // else a day, an ISO week, or "all".
    let in_reference = |d: i64| match (spec.reference_days, first_day) {
        (Some(n), Some(f)) => d < f + n as i64,
        _ => false,
    };
    let label = |key: Option<i64>| match key {
        Some(d) if !separate && in_reference(d) => None,
        Some(d) => Some(match spec.window {
            Some(Window::Day) => date_string(d),
            Some(Window::Week) => iso_week_label(window_start_day(window_index(d * 86_400, Window::Week), Window::Week)),
            None => "all".to_string(),
        }),
        None => Some("all".to_string()),
    };
    let mut windows = Windows::new();
    let reference_name = reference.as_ref().map(|(n, _)| n.clone());
    if let Some((_, r)) = reference {
        r.into_windows(&|_| None, &mut windows);
    }
    counts.into_windows(&label, &mut windows);
    let (reference_rows, reference_values) = windows.remove(&None).unwrap_or_else(|| (0, vec![Values::default(); columns.len()]));
    let current_days: BTreeMap<String, (u64, Vec<Values>)> = windows.into_iter().filter_map(|(k, v)| Some((k?, v))).collect();
    let reference_label = match (reference_name, spec.reference_days, first_day) {
        (Some(r), _, _) => r,
        (None, Some(n), Some(f)) => format!("{} to {} ({n} days of {current_name})", date_string(f), date_string(f + n as i64 - 1)),
        _ => String::new(),
    };
    if reference_rows == 0 {
        return Err(FairnessError::usage(format!("the reference ({reference_label}) has no rows")));
    }
    let windows = current_days
        .into_iter()
        .map(|(label, (rows, values))| {
            let mut cols: Vec<ColumnDrift> = columns
                .iter()
                .zip(&reference_values)
                .zip(&values)
                .map(|((c, r), v)| analyse(c, r, v, spec.categorical.contains(c)))
                .collect();
            cols.sort_by(|a, b| b.severity.total_cmp(&a.severity).then(a.column.cmp(&b.column)));
            WindowDrift { label, rows, drifted_columns: cols.iter().filter(|c| c.drifted).count(), columns: cols }
        })
        .collect();
    Ok(DriftReport {
        reference: reference_label,
        reference_rows,
        current: current_name,
        windows,
        rule: RULE.to_string(),
        rows_without_time: no_time,
        queries: Vec::new(),
    })
}
