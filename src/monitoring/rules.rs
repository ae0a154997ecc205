//! Rules on quality and drift for CI (`steward quality --rule`, `steward drift --rule`): a measure,
//! a comparison and a number, checked on every window; a rule that holds in a window "fires".
//!
//! - quality: `accuracy < 0.8`, `f1 <= 0.6`, `roc_auc < 0.75`, `labelled_share < 0.5` (also
//!   `precision`, `recall`), on the point estimate of each (version, window);
//! - drift: `psi(age) > 0.2`, `js(workclass) >= 0.1`, `wasserstein_normed(hours) > 0.1`,
//!   `ks(score) > 0.1` (statistic), `ks_p(score) < 0.01`, `chi2_p(workclass) < 0.01`,
//!   `missing_share(hours) > 0.05` (current window), on each window.
//!
//! `for N` after a rule (`accuracy < 0.8 for 2d`, `psi(age) > 0.2 for 2w`) makes it fire only in a
//! window where it has held in each of the last windows covering N days or weeks (with weekly windows
//! `2d` is one window; with daily windows `1w` is seven), as Prometheus's `for` keeps an alert pending.
//! A window where the measure is undefined (no labels, one class) does not fire and, like a gap in
//! Prometheus, starts the count again; it is not a pass either: the report shows it as undefined.

use super::drift::{ColumnDrift, DriftReport};
use chrono::Datelike;

use super::quality::{QualityReport, WindowQuality};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }
}

/// A parsed rule: measure, optional column, comparison, threshold; `text` as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub text: String,
    pub measure: String,
    pub column: Option<String>,
    pub op: Op,
    pub value: f64,
    /// `for N` (days or weeks), when given: (N, 'd' or 'w').
    pub hold: Option<(u32, char)>,
}

const QUALITY: &[&str] = &["accuracy", "precision", "recall", "f1", "roc_auc", "labelled_share"];
const DRIFT: &[&str] = &["psi", "js", "wasserstein", "wasserstein_normed", "ks", "ks_p", "chi2_p", "missing_share"];

impl Rule {
    /// Parses `MEASURE OP NUMBER` or `MEASURE(COLUMN) OP NUMBER`; an error says what is accepted.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let full = text.trim();
        let (t, hold) = match full.rsplit_once(" for ") {
            Some((rule, span)) => {
                let span = span.trim();
                let unit = span.chars().last().filter(|c| matches!(c, 'd' | 'w'));
                let n = span.get(..span.len().saturating_sub(1)).and_then(|n| n.trim().parse::<u32>().ok()).filter(|n| *n > 0);
                match (n, unit) {
                    (Some(n), Some(u)) => (rule.trim(), Some((n, u))),
                    _ => return Err(format!("rule '{full}': 'for {span}' is not a duration in days or weeks, e.g. 'for 2d' or 'for 1w'")),
                }
            }
            None => (full, None),
        };
        let pos = t.find(['<', '>']).ok_or_else(|| format!("rule '{t}': no comparison (<, <=, >, >=)"))?;
        let (lhs, rest) = t.split_at(pos);
        let (op, num) = if let Some(r) = rest.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = rest.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = rest.strip_prefix('<') {
            (Op::Lt, r)
        } else {
            (Op::Gt, &rest[1..])
        };
        let num = num.trim();
        let value = match num.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
            None => num.parse::<f64>(),
        }
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("rule '{t}': '{num}' is not a number"))?;
        let lhs = lhs.trim();
        let (measure, column) = match lhs.split_once('(') {
            Some((m, c)) => {
                let c = c.strip_suffix(')').ok_or_else(|| format!("rule '{t}': missing ')'"))?;
                (m.trim().to_string(), Some(c.trim().to_string()))
            }
            None => (lhs.to_string(), None),
        };
        if measure.is_empty() {
            return Err(format!("rule '{t}': no measure"));
        }
        Ok(Rule { text: full.to_string(), measure, column, op, value, hold })
    }

    /// A quality rule: one of the quality measures, no column.
    pub fn check_quality(&self) -> Result<(), String> {
        if self.column.is_some() || !QUALITY.contains(&self.measure.as_str()) {
            return Err(format!("rule '{}': a quality rule is one of {} with a comparison, e.g. 'accuracy < 0.8'", self.text, QUALITY.join(", ")));
        }
        Ok(())
    }

    /// A drift rule: one of the drift measures with a column.
    pub fn check_drift(&self) -> Result<(), String> {
        if self.column.is_none() || !DRIFT.contains(&self.measure.as_str()) {
            return Err(format!("rule '{}': a drift rule is MEASURE(COLUMN) with MEASURE one of {}, e.g. 'psi(age) > 0.2'", self.text, DRIFT.join(", ")));
        }
        Ok(())
    }
}

impl Rule {
    /// How many consecutive windows the rule must hold in to fire, for windows `week` or daily.
    pub fn windows_needed(&self, week: bool) -> usize {
        match (self.hold, week) {
            (None, _) => 1,
            (Some((n, 'd')), false) | (Some((n, 'w')), true) => n as usize,
            (Some((n, _)), false) => 7 * n as usize,
            (Some((n, _)), true) => (n as usize).div_ceil(7),
        }
    }

    /// Whether the comparison holds for `v`.
    pub fn holds(&self, v: f64) -> bool {
        self.op.holds(v, self.value)
    }
}

/// A rule that fired in a window: (rule text, version or "", window, the value).
pub type Fired = (String, String, String, f64);

/// Whether labels are ISO weeks (`2026-W41`).
fn weekly(label: &str) -> bool {
    label.contains("-W")
}

/// Walks one series of windows (oldest first; None = undefined) counting, at each window, the run of
/// consecutive windows ending there in which `rule` holds (a missing window in the series, or an
/// undefined value, starts the count again), and where that run began.
fn runs<'a>(rule: &Rule, series: &[(&'a str, Option<f64>)]) -> Vec<(usize, Option<&'a str>)> {
    let (mut run, mut start, mut prev) = (0usize, None::<&str>, None::<&str>);
    let mut out = Vec::with_capacity(series.len());
    for (label, v) in series {
        let adjacent = prev.is_none_or(|p| next_window(p).as_deref() == Some(*label));
        if v.is_some_and(|v| rule.holds(v)) {
            if adjacent && run > 0 {
                run += 1;
            } else {
                (run, start) = (1, Some(*label));
            }
        } else {
            (run, start) = (0, None);
        }
        prev = Some(label);
        out.push((run, start));
    }
    out
}

/// Fires `rule` over one series of windows by its `for`: the windows where it has held in each of the
/// last `windows_needed` windows, consecutive ([`runs`]).
fn streaks<'a>(rule: &Rule, series: &[(&'a str, Option<f64>)]) -> Vec<(&'a str, f64)> {
    let need = rule.windows_needed(series.first().is_some_and(|w| weekly(w.0)));
    series.iter().zip(runs(rule, series)).filter(|(_, (run, _))| *run >= need).filter_map(|((label, v), _)| Some((*label, (*v)?))).collect()
}

/// A rule's state at the newest window of one series (one version, or the log for drift rules).
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub rule: String,
    /// The version (quality rules on a log with a version column), else None.
    pub version: Option<String>,
    /// The newest window of the series, and the rule's value there (None: undefined).
    pub window: String,
    pub value: Option<f64>,
    /// Whether the rule fires there (its `for` satisfied).
    pub firing: bool,
    /// The first window of the unbroken run of windows where it holds (when it holds in the newest).
    pub since: Option<String>,
}

/// The rule's state at the last window of `series`, by the same run counting as [`streaks`].
fn current(rule: &Rule, version: Option<&str>, series: &[(&str, Option<f64>)]) -> Option<Current> {
    let need = rule.windows_needed(series.first().is_some_and(|w| weekly(w.0)));
    let (run, start) = runs(rule, series).pop()?;
    let (label, value) = series.last()?;
    Some(Current {
        rule: rule.text.clone(),
        version: version.map(str::to_string),
        window: label.to_string(),
        value: *value,
        firing: run >= need,
        since: start.map(str::to_string),
    })
}

/// Quality rules at the newest window of each version.
pub fn current_quality(rules: &[Rule], report: &QualityReport) -> Vec<Current> {
    rules.iter().flat_map(|r| version_series(report, &r.measure).into_iter().filter_map(move |(v, series)| current(r, v, &series))).collect()
}

/// A drift rule at the newest window; a rule naming a column the report lacks is an error.
pub fn current_drift(rule: &Rule, report: &DriftReport) -> Result<Option<Current>, String> {
    Ok(current(rule, None, &drift_series(rule, report)?))
}

/// Each version's (window, measure) series, windows oldest first, versions in order of appearance.
fn version_series<'a>(report: &'a QualityReport, measure: &str) -> Vec<(Option<&'a str>, Vec<(&'a str, Option<f64>)>)> {
    let mut versions: Vec<Option<&str>> = Vec::new();
    for w in &report.windows {
        if !versions.contains(&w.version.as_deref()) {
            versions.push(w.version.as_deref());
        }
    }
    versions
        .into_iter()
        .map(|v| (v, report.windows.iter().filter(|w| w.version.as_deref() == v).map(|w| (w.window.as_str(), quality_value(w, measure))).collect()))
        .collect()
}

/// The (window, measure) series of a drift rule's column; an error when the report lacks the column.
fn drift_series<'a>(rule: &Rule, report: &'a DriftReport) -> Result<Vec<(&'a str, Option<f64>)>, String> {
    let col = rule.column.as_deref().unwrap_or("");
    if !report.windows.iter().all(|w| w.columns.iter().any(|c| c.column == col)) {
        return Err(format!("rule '{}': no column '{col}' in the analysis", rule.text));
    }
    Ok(report.windows.iter().map(|w| (w.label.as_str(), w.columns.iter().find(|c| c.column == col).and_then(|c| drift_value(c, &rule.measure)))).collect())
}

/// The first day of a window label: a day `2026-10-01`, or an ISO week `2026-W41` (its Monday).
pub fn window_start(label: &str) -> Option<chrono::NaiveDate> {
    match label.split_once("-W") {
        Some((y, w)) => chrono::NaiveDate::from_isoywd_opt(y.parse().ok()?, w.parse().ok()?, chrono::Weekday::Mon),
        None => chrono::NaiveDate::parse_from_str(label, "%Y-%m-%d").ok(),
    }
}

/// The window after `label` (a day `2026-10-01` or an ISO week `2026-W41`).
pub fn next_window(label: &str) -> Option<String> {
    let start = window_start(label)?;
    if weekly(label) {
        let iso = (start + chrono::Duration::days(7)).iso_week();
        Some(format!("{}-W{:02}", iso.year(), iso.week()))
    } else {
        Some((start + chrono::Duration::days(1)).format("%Y-%m-%d").to_string())
    }
}

/// A quality measure of one (version, window) by its rule name, with its 95% interval.
pub fn quality_estimate(w: &WindowQuality, measure: &str) -> Option<super::quality::Estimate> {
    match measure {
        "accuracy" => w.accuracy,
        "precision" => w.precision,
        "recall" => w.recall,
        "f1" => w.f1,
        "roc_auc" => w.roc_auc,
        "labelled_share" => w.labelled_share,
        _ => None,
    }
}

fn quality_value(w: &WindowQuality, measure: &str) -> Option<f64> {
    quality_estimate(w, measure).map(|e| e.value)
}

/// Quality rules over every (version, window), each version's windows in time order.
pub fn fire_quality(rules: &[Rule], report: &QualityReport) -> Vec<Fired> {
    let mut out = Vec::new();
    for r in rules {
        for (v, series) in version_series(report, &r.measure) {
            for (label, value) in streaks(r, &series) {
                out.push((r.text.clone(), v.unwrap_or_default().to_string(), label.to_string(), value));
            }
        }
    }
    out
}

fn drift_value(c: &ColumnDrift, measure: &str) -> Option<f64> {
    match measure {
        "psi" => c.psi,
        "js" => c.jensen_shannon,
        "wasserstein" => c.wasserstein,
        "wasserstein_normed" => c.wasserstein_normed,
        "ks" => c.ks_statistic,
        "ks_p" => c.ks_p_value,
        "chi2_p" => c.chi_square.map(|x| x.p_value),
        "missing_share" => {
            let n = c.current_rows + c.current_missing;
            (n > 0).then(|| c.current_missing as f64 / n as f64)
        }
        _ => None,
    }
}

/// Drift rules over every window; a rule naming a column the report lacks is an error.
pub fn fire_drift(rules: &[Rule], report: &DriftReport) -> Result<Vec<Fired>, String> {
    let mut out = Vec::new();
    for r in rules {
        for (label, value) in streaks(r, &drift_series(r, report)?) {
            out.push((r.text.clone(), String::new(), label.to_string(), value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_refuse_what_they_cannot_check() {
        let r = Rule::parse("psi(age) > 0.2").unwrap();
        assert_eq!((r.measure.as_str(), r.column.as_deref(), r.op, r.value), ("psi", Some("age"), Op::Gt, 0.2));
        assert!(r.check_drift().is_ok() && r.check_quality().is_err());
        let q = Rule::parse("accuracy <= 80%").unwrap();
        assert_eq!((q.op, q.value), (Op::Le, 0.8));
        assert!(q.check_quality().is_ok() && q.check_drift().is_err());
        for bad in ["accuracy 0.8", "psi(age > 0.2", "accuracy < high", "< 3"] {
            assert!(Rule::parse(bad).and_then(|r| r.check_quality()).is_err(), "{bad}");
        }
        assert!(Op::Lt.holds(0.7, 0.8) && !Op::Lt.holds(0.8, 0.8) && Op::Le.holds(0.8, 0.8));
        let f = Rule::parse("accuracy < 0.8 for 2d").unwrap();
        assert_eq!((f.hold, f.windows_needed(false), f.windows_needed(true)), (Some((2, 'd')), 2, 1));
        assert_eq!(Rule::parse("psi(age) > 0.2 for 1w").unwrap().windows_needed(false), 7);
        assert!(Rule::parse("accuracy < 0.8 for 5m").unwrap_err().contains("days or weeks"));
    }

    #[test]
    fn for_needs_consecutive_windows_and_an_undefined_or_missing_window_starts_again() {
        let r = Rule::parse("accuracy < 0.8 for 2d").unwrap();
        let s = [("2026-11-01", Some(0.7)), ("2026-11-02", Some(0.9)), ("2026-11-03", Some(0.7)), ("2026-11-04", Some(0.75))];
        assert_eq!(streaks(&r, &s), vec![("2026-11-04", 0.75)], "fires once it held two days running");
        let gap = [("2026-11-01", Some(0.7)), ("2026-11-03", Some(0.7))];
        assert!(streaks(&r, &gap).is_empty(), "a day with no window between breaks the run");
        let undefined = [("2026-11-01", Some(0.7)), ("2026-11-02", None), ("2026-11-03", Some(0.7))];
        assert!(streaks(&r, &undefined).is_empty(), "an undefined day breaks the run");
        let weeks = [("2026-W52", Some(0.7)), ("2026-W53", Some(0.7)), ("2027-W01", Some(0.7))];
        let w = Rule::parse("accuracy < 0.8 for 3w").unwrap();
        assert_eq!(streaks(&w, &weeks).len(), 1, "ISO weeks across a year end are consecutive");
        let once = Rule::parse("accuracy < 0.8").unwrap();
        assert_eq!(streaks(&once, &gap).len(), 2);
        // The state at the newest window agrees with the streaks and names where the run began.
        let s3 = [("2026-11-01", Some(0.9)), ("2026-11-02", Some(0.7)), ("2026-11-03", Some(0.75)), ("2026-11-04", Some(0.7))];
        let c = current(&r, Some("2"), &s3).unwrap();
        assert!(c.firing && c.since.as_deref() == Some("2026-11-02") && c.window == "2026-11-04" && c.value == Some(0.7));
        let c = current(&r, None, &s[..3]).unwrap();
        assert!(!c.firing && c.since.as_deref() == Some("2026-11-03"), "one day of two: pending, not firing");
        assert!(!current(&r, None, &undefined).unwrap().firing);
        assert!(!current(&r, None, &gap).unwrap().firing);
    }
}
