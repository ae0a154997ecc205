//! The drift gate: a monitoring rule on a column's drift (`psi(age) > 0.2`, `js(workclass) > 0.1 for 2d`)
//! at the log's newest window against a reference (a file, else the log's first days), computed by
//! `steward drift`'s engine on that one column.
//!
//! Verdict: fail when the rule fires at the newest window (it holds there and in the windows its `for`
//! covers, consecutive); pass when it does not; inconclusive when the value is undefined there (an
//! empty window, a statistic that does not apply to the column's kind) or the log cannot be read.
//! Drift statistics carry no interval here: the rule's threshold is read as an effect size, and the
//! size-aware default verdict of `steward drift` is shown next to it. The whole log is used (inputs are
//! the same whichever version scored them).

use super::{Estimate, GateResult, Verdict};
use crate::config::{Gate, GateKind};
use crate::fairness::{Progress, Window};
use crate::monitoring::drift::{DriftSpec, drift};
use crate::monitoring::rules::{Rule, current_drift};

/// Evaluates a `kind = "drift"` gate (blocking: reads the log).
pub fn drift_gate(gate: &Gate, prediction_log: Option<&str>) -> GateResult {
    let GateKind::Drift { rule, time, window, reference_days, reference, log } = &gate.check else {
        unreachable!("drift_gate is called for drift gates")
    };
    let mut r = GateResult::open(gate, "drift", format!("not ({rule})"));
    let (rule, path) = match super::quality::rule_and_log(rule, Rule::check_drift, log.as_ref(), prediction_log) {
        Ok(x) => x,
        Err(e) => {
            r.detail = e;
            return r;
        }
    };
    let Some(window) = Window::parse(window) else {
        r.detail = format!("window '{window}': use 1d or 1w");
        return r;
    };
    let column = rule.column.clone().unwrap_or_default();
    let spec = DriftSpec {
        columns: vec![column.clone()],
        exclude: Vec::new(),
        categorical: Vec::new(),
        time: Some(time.clone()),
        window: Some(window),
        reference_days: if reference.is_some() { None } else { Some(*reference_days) },
    };
    r.inputs.insert("log".into(), path.display().to_string());
    r.inputs.insert(
        "reference".into(),
        reference.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| format!("the log's first {reference_days} day(s)")),
    );
    let report = match drift(reference.as_deref(), &path, &spec, &Progress::new()) {
        Ok(d) => d,
        Err(e) => {
            r.detail = format!("the drift of '{column}' could not be computed: {e}");
            return r;
        }
    };
    let state = match current_drift(&rule, &report) {
        Ok(Some(c)) => c,
        Ok(None) => {
            r.detail = "the log has no window after the reference".into();
            return r;
        }
        Err(e) => {
            r.detail = e;
            return r;
        }
    };
    let verdict = report.windows.last().and_then(|w| w.columns.iter().find(|c| c.column == column)).map(|c| c.verdict_word()).unwrap_or("-");
    let Some(value) = state.value else {
        r.detail = format!("{} is undefined for '{column}' in {} (default verdict: {verdict})", rule.measure, state.window);
        return r;
    };
    r.target = Some(Estimate { value, interval: None });
    let over = format!("{} = {value:.4} in {} (default verdict: {verdict})", rule.measure, state.window);
    (r.verdict, r.detail) = if state.firing {
        (Verdict::Fail, format!("'{}' fires, holding since {}: {over}", rule.text, state.since.as_deref().unwrap_or(&state.window)))
    } else if rule.holds(value) {
        (Verdict::Pass, format!("'{}' holds in {} but not yet for its span: {over}", rule.text, state.window))
    } else {
        (Verdict::Pass, format!("'{}' does not hold: {over}", rule.text))
    };
    r
}
