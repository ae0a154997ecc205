//! The quality gate: a monitoring rule (`accuracy < 0.8 for 2d`) on the target version's rows of the
//! prediction log, per window of prediction time, computed by `steward quality`'s engine.
//!
//! Verdict, by the 95% interval of each window (Wilson for proportions, delta method for F1,
//! Hanley-McNeil for ROC AUC): the rule *holds surely* in a window when it holds for the whole interval
//! (`accuracy < 0.8` and the upper end is below 0.8), *may hold* when it holds for part of it. Over the
//! last windows its `for` covers (one without `for`), consecutive:
//! - fail: it holds surely in each of them;
//! - inconclusive: it may hold in each of them, surely not in all;
//! - pass: otherwise (also when the log has fewer such windows than `for` needs);
//! - inconclusive when the target has no labelled window, or the log cannot be read.

use super::{Estimate, GateResult, Verdict};
use crate::config::{Gate, GateKind};
use crate::domain::VersionNumber;
use crate::fairness::{Progress, Window};
use crate::monitoring::quality::{Labels, QualitySpec, quality};
use crate::monitoring::rules::{Op, Rule, quality_estimate};

/// Evaluates a `kind = "quality"` gate (blocking: reads the log).
pub fn quality_gate(gate: &Gate, prediction_log: Option<&str>, current: Option<VersionNumber>, target: VersionNumber) -> GateResult {
    let GateKind::Quality { rule, label, prediction, time, version, window, log } = &gate.check else {
        unreachable!("quality_gate is called for quality gates")
    };
    let mut r = GateResult::open(gate, "quality", format!("not ({rule})"));
    let (rule, path) = match rule_and_log(rule, Rule::check_quality, log.as_ref(), prediction_log) {
        Ok(x) => x,
        Err(e) => {
            r.detail = e;
            return r;
        }
    };
    let window = match window.as_str() {
        "1d" => Window::Day,
        "1w" => Window::Week,
        w => {
            r.detail = format!("window '{w}': use 1d or 1w");
            return r;
        }
    };
    let spec = QualitySpec {
        labels: Labels::InLog { label: label.clone() },
        prediction: Some(prediction.clone()),
        score: None,
        threshold: None,
        positive: "1".into(),
        time: time.clone(),
        window,
        version: Some(version.clone()),
    };
    r.inputs.insert("log".into(), path.display().to_string());
    r.inputs.insert("interval".into(), "95%: Wilson (proportions), delta method (F1), Hanley-McNeil (ROC AUC)".into());
    let report = match quality(&path, &spec, &Progress::new()) {
        Ok(q) => q,
        Err(e) => {
            r.detail = format!("the prediction log could not be read: {e}");
            return r;
        }
    };
    let series = |v: VersionNumber| -> Vec<(String, crate::monitoring::quality::Estimate)> {
        report
            .windows
            .iter()
            .filter(|w| w.version.as_deref() == Some(v.to_string().as_str()))
            .filter_map(|w| quality_estimate(w, &rule.measure).map(|e| (w.window.clone(), e)))
            .collect()
    };
    let shown = |e: &crate::monitoring::quality::Estimate| Estimate { value: e.value, interval: Some([e.low, e.high]) };
    if let Some(cv) = current
        && let Some((_, e)) = series(cv).last()
    {
        r.current = Some(shown(e));
    }
    let s = series(target);
    let Some((newest, last)) = s.last() else {
        r.detail = format!("the log has no labelled window of v{target} for {}", rule.measure);
        return r;
    };
    r.target = Some(shown(last));
    let need = rule.windows_needed(window == Window::Week);
    let tail = &s[s.len().saturating_sub(need)..];
    let consecutive = tail.windows(2).all(|p| crate::monitoring::rules::next_window(&p[0].0).as_deref() == Some(p[1].0.as_str()));
    let sure = |e: &crate::monitoring::quality::Estimate| surely(rule.op, e, rule.value);
    let maybe = |e: &crate::monitoring::quality::Estimate| possibly(rule.op, e, rule.value);
    let values: Vec<String> = tail.iter().map(|(w, e)| format!("{w} {:.4} ({:.4} to {:.4})", e.value, e.low, e.high)).collect();
    let over = format!("v{target}'s last {} window(s): {}", tail.len(), values.join(", "));
    (r.verdict, r.detail) = if tail.len() < need || !consecutive {
        (Verdict::Pass, format!("'{}' needs {need} consecutive window(s); {over}", rule.text))
    } else if tail.iter().all(|(_, e)| sure(e)) {
        (Verdict::Fail, format!("'{}' holds, interval included: {over}", rule.text))
    } else if tail.iter().all(|(_, e)| maybe(e)) {
        (Verdict::Inconclusive, format!("'{}' may hold (the bound lies inside an interval): {over}", rule.text))
    } else {
        (Verdict::Pass, format!("'{}' does not hold through {newest}: {over}", rule.text))
    };
    r
}

/// A monitoring gate's rule (parsed and checked as a quality or drift rule) and the log it reads (its
/// own `log`, else the model's prediction log); Err: the detail of an inconclusive gate.
pub(super) fn rule_and_log(
    rule: &str,
    check: fn(&Rule) -> Result<(), String>,
    log: Option<&std::path::PathBuf>,
    prediction_log: Option<&str>,
) -> Result<(Rule, std::path::PathBuf), String> {
    let rule = Rule::parse(rule).and_then(|x| check(&x).map(|()| x))?;
    let path = log.cloned().or_else(|| prediction_log.map(std::path::PathBuf::from));
    Ok((rule, path.ok_or("no prediction log: give the gate a `log` or tag the model with `prediction_log`")?))
}

/// The comparison holds for every value of the interval.
fn surely(op: Op, e: &crate::monitoring::quality::Estimate, bound: f64) -> bool {
    match op {
        Op::Lt => e.high < bound,
        Op::Le => e.high <= bound,
        Op::Gt => e.low > bound,
        Op::Ge => e.low >= bound,
    }
}

/// The comparison holds for some value of the interval.
fn possibly(op: Op, e: &crate::monitoring::quality::Estimate, bound: f64) -> bool {
    match op {
        Op::Lt => e.low < bound,
        Op::Le => e.low <= bound,
        Op::Gt => e.high > bound,
        Op::Ge => e.high >= bound,
    }
}
