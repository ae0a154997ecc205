//! Alerts on quality and drift: the monitoring rules (`accuracy < 0.8 for 2d`, `psi(age) > 0.2`)
//! evaluated at the newest window of a log's analysis, turned into the serving alerts' transitions
//! (`serving::alerts::Transition`): the same notifications list, "alerts firing" count and audit
//! records (`alert_fired` / `alert_resolved`, via `serving::monitor::record_alert`) as the serving alerts.
//!
//! A monitoring rule's `for` counts windows (see `monitoring::rules`), not seconds. A rule *fires* when
//! it is firing at the newest window of its series (each version for quality rules; the log for drift
//! rules). [`Tracker`] remembers what fires between analyses, so a rule is recorded once when it starts
//! firing and once when it stops, not at every re-analysis (the memory lasts as long as the tracker: one
//! window session, or one CLI run).

use std::collections::BTreeSet;

use crate::monitoring::drift::DriftReport;
use crate::monitoring::quality::QualityReport;
use crate::monitoring::rules::{Current, Rule, current_drift, current_quality, next_window, window_start};
use crate::serving::alerts::Transition;

/// Rules used when a profile names no `monitoring_alerts`.
pub const DEFAULT_RULES: [&str; 2] = ["accuracy < 0.8 for 2d", "psi(score) > 0.2 for 2d"];

/// `rules`, or [`DEFAULT_RULES`] when there are none.
pub fn rules_or_default(rules: &[String]) -> Vec<String> {
    if rules.is_empty() { DEFAULT_RULES.iter().map(|r| r.to_string()).collect() } else { rules.to_vec() }
}

/// One rule on one series at the newest window, named as the serving alerts name series
/// (`income-classifier v2 · predictions.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub series: String,
    pub current: Current,
}

impl Status {
    /// The transition this status stands for: fired (when firing) or resolved. Times are Unix seconds
    /// (UTC): `since` the start of the run's first window, `at` the end of the newest window.
    pub fn transition(&self) -> Transition {
        let c = &self.current;
        let secs = |label: &str| window_start(label).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc().timestamp() as f64);
        let at = next_window(&c.window).and_then(|n| secs(&n)).unwrap_or(f64::NAN);
        let value = c.value.unwrap_or(f64::NAN);
        if c.firing {
            let since = c.since.as_deref().and_then(secs).unwrap_or(at);
            Transition::Fired { rule: c.rule.clone(), series: self.series.clone(), value, since, at }
        } else {
            Transition::Resolved { rule: c.rule.clone(), series: self.series.clone(), value, at }
        }
    }
}

/// Evaluates rule texts on an analysis. `subject` names what the log belongs to (the model, else the
/// log's file name); `log` is the log's file name. Returns each rule's status per series, and one note
/// per rule that could not be checked (a bad rule, a quality rule without quality, a column not analysed).
pub fn evaluate(rules: &[String], quality: Option<&QualityReport>, drift: Option<&DriftReport>, subject: &str, log: &str) -> (Vec<Status>, Vec<String>) {
    let (mut out, mut notes) = (Vec::new(), Vec::new());
    let series = |version: Option<&str>| match version {
        Some(v) => format!("{subject} v{v} · {log}"),
        None => format!("{subject} · {log}"),
    };
    for text in rules {
        let rule = match Rule::parse(text) {
            Ok(r) => r,
            Err(e) => {
                notes.push(e);
                continue;
            }
        };
        if rule.check_quality().is_ok() {
            match quality {
                Some(q) => out.extend(current_quality(std::slice::from_ref(&rule), q).into_iter().map(|c| Status { series: series(c.version.as_deref()), current: c })),
                None => notes.push(format!("rule '{text}' not checked: no quality (name a label column)")),
            }
        } else if rule.check_drift().is_ok() {
            match drift.map(|d| current_drift(&rule, d)) {
                Some(Ok(c)) => out.extend(c.map(|c| Status { series: series(None), current: c })),
                Some(Err(e)) => notes.push(format!("{e}; not checked")),
                None => notes.push(format!("rule '{text}' not checked: no drift analysis")),
            }
        } else {
            notes.push(rule.check_quality().err().unwrap_or_default());
        }
    }
    (out, notes)
}

/// What fires, between analyses: turns statuses into transitions when a rule starts or stops firing.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    firing: BTreeSet<(String, String)>,
}

impl Tracker {
    /// The transitions since the last update: fired for a (rule, series) firing now and not before,
    /// resolved for one firing before and not now (also when its series is gone from the analysis:
    /// value NaN). Only series of `log` are resolved by absence (`log`'s file name, as in [`evaluate`]).
    pub fn update(&mut self, statuses: &[Status], log: &str) -> Vec<Transition> {
        let mut out = Vec::new();
        let mut now = BTreeSet::new();
        for s in statuses.iter().filter(|s| s.current.firing) {
            let key = (s.current.rule.clone(), s.series.clone());
            if !self.firing.contains(&key) {
                out.push(s.transition());
            }
            now.insert(key);
        }
        let suffix = format!(" · {log}");
        for key in self.firing.iter().filter(|k| !now.contains(*k) && k.1.ends_with(&suffix)) {
            match statuses.iter().find(|s| s.current.rule == key.0 && s.series == key.1) {
                Some(s) => out.push(s.transition()),
                None => out.push(Transition::Resolved { rule: key.0.clone(), series: key.1.clone(), value: f64::NAN, at: crate::serving::unix_now() }),
            }
        }
        self.firing.retain(|k| !k.1.ends_with(&suffix));
        self.firing.extend(now);
        out
    }
}

/// Writes transitions to the audit log as the serving alerts do; returns the first error.
pub fn record(audit: &crate::audit::AuditLog, transitions: &[Transition]) -> Result<(), String> {
    let user = crate::audit::os_user();
    for t in transitions {
        crate::serving::monitor::record_alert(audit, &user, t)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(rule: &str, series: &str, firing: bool) -> Status {
        Status {
            series: series.into(),
            current: Current {
                rule: rule.into(),
                version: None,
                window: "2026-10-30".into(),
                value: Some(0.7),
                firing,
                since: firing.then(|| "2026-10-28".into()),
            },
        }
    }

    #[test]
    fn the_tracker_fires_once_and_resolves_once() {
        let mut t = Tracker::default();
        let f = status("accuracy < 0.8 for 2d", "m v2 · log.csv", true);
        let fired = t.update(std::slice::from_ref(&f), "log.csv");
        match &fired[..] {
            [Transition::Fired { since, at, .. }] => {
                assert_eq!((*since, *at), (1_793_145_600.0, 1_793_404_800.0), "2026-10-28T00:00Z to 2026-10-31T00:00Z");
            }
            other => panic!("{other:?}"),
        }
        assert!(t.update(std::slice::from_ref(&f), "log.csv").is_empty(), "still firing: nothing new");
        assert!(t.update(&[], "other.csv").is_empty(), "another log's analysis does not resolve it");
        let resolved = t.update(&[status("accuracy < 0.8 for 2d", "m v2 · log.csv", false)], "log.csv");
        assert!(matches!(&resolved[..], [Transition::Resolved { value, .. }] if *value == 0.7), "{resolved:?}");
        assert!(t.update(&[], "log.csv").is_empty());
    }
}
