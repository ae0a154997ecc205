//! Rules on quality and drift for CI (`steward quality --rule`, `steward drift --rule`): a measure,
//! a comparison and a number, checked on every window; a rule that holds in a window "fires".
//!
//! - quality: `accuracy < 0.8`, `f1 <= 0.6`, `roc_auc < 0.75`, `labelled_share < 0.5` (also
//!   `precision`, `recall`), on the point estimate of each (version, window);
//! - drift: `psi(age) > 0.2`, `js(workclass) >= 0.1`, `wasserstein_normed(hours) > 0.1`,
//!   `ks(score) > 0.1` (statistic), `ks_p(score) < 0.01`, `chi2_p(workclass) < 0.01`,
//!   `missing_share(hours) > 0.05` (current window), on each window.
//!
//! A window where the measure is undefined (no labels, one class) does not fire; it is not a pass
//! either: the report shows it as undefined.

use super::drift::{ColumnDrift, DriftReport};
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
}

const QUALITY: &[&str] = &["accuracy", "precision", "recall", "f1", "roc_auc", "labelled_share"];
const DRIFT: &[&str] = &["psi", "js", "wasserstein", "wasserstein_normed", "ks", "ks_p", "chi2_p", "missing_share"];

impl Rule {
    /// Parses `MEASURE OP NUMBER` or `MEASURE(COLUMN) OP NUMBER`; an error says what is accepted.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let t = text.trim();
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
        Ok(Rule { text: t.to_string(), measure, column, op, value })
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

/// A rule that fired in a window: (rule text, version or "", window, the value).
pub type Fired = (String, String, String, f64);

fn quality_value(w: &WindowQuality, measure: &str) -> Option<f64> {
    let e = match measure {
        "accuracy" => w.accuracy,
        "precision" => w.precision,
        "recall" => w.recall,
        "f1" => w.f1,
        "roc_auc" => w.roc_auc,
        "labelled_share" => w.labelled_share,
        _ => None,
    };
    e.map(|e| e.value)
}

/// Quality rules over every (version, window).
pub fn fire_quality(rules: &[Rule], report: &QualityReport) -> Vec<Fired> {
    let mut out = Vec::new();
    for w in &report.windows {
        for r in rules {
            if let Some(v) = quality_value(w, &r.measure).filter(|v| r.op.holds(*v, r.value)) {
                out.push((r.text.clone(), w.version.clone().unwrap_or_default(), w.window.clone(), v));
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
        let col = r.column.as_deref().unwrap_or("");
        if !report.windows.iter().all(|w| w.columns.iter().any(|c| c.column == col)) {
            return Err(format!("rule '{}': no column '{col}' in the analysis", r.text));
        }
        for w in &report.windows {
            if let Some(v) = w.columns.iter().find(|c| c.column == col).and_then(|c| drift_value(c, &r.measure)).filter(|v| r.op.holds(*v, r.value)) {
                out.push((r.text.clone(), String::new(), w.label.clone(), v));
            }
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
    }
}
