//! Alert rules on series: `error_rate > 2% for 5m`, `p95 > 300ms`, `request_rate < 0.5 for 2m`.
//! A rule fires when its condition has held for its duration on one series (one endpoint, model and
//! version) and resolves when it stops holding. Transitions are returned for the banner, the
//! notifications list and the audit log.
//!
//! The semantics are Prometheus's alerting rules (rules/alerting.go), checked against a real Prometheus
//! in tests/alerts_prometheus.rs: at each evaluation a series whose value does not satisfy the
//! condition, whose value is NaN (a comparison with NaN is false: an error ratio with no traffic,
//! 0/0), or that has no sample at all (failed scrapes, a restarted server) resets a pending alert and
//! resolves a firing one; `for` is measured from the first evaluation of the current unbroken run.
//! With a known evaluation step ([`Alerts::with_step`]), a series that skips evaluations (a gap of
//! more than 1.5 steps between two samples) counts as absent in between.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Above,
    Below,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The metric the rule watches: request_rate, error_rate, latency_avg, p50, p95, p99.
    pub metric: String,
    pub op: Op,
    /// In the metric's base unit (fraction, seconds, requests per second).
    pub threshold: f64,
    /// How long the condition must hold, in seconds (0: at once).
    pub for_secs: f64,
    /// The rule as written.
    pub text: String,
}

/// Rules used when a profile names none.
pub const DEFAULT_RULES: [&str; 3] = ["error_rate > 2% for 5m", "p95 > 300ms for 5m", "latency_avg > 300ms for 5m"];

/// `rules`, or Steward's defaults when there are none (a profile without `alerts`).
pub fn rules_or_default(rules: &[String]) -> Vec<String> {
    if rules.is_empty() { DEFAULT_RULES.iter().map(|r| r.to_string()).collect() } else { rules.to_vec() }
}

pub const METRICS: [&str; 6] = ["request_rate", "error_rate", "latency_avg", "p50", "p95", "p99"];

fn parse_value(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix('%') {
        (n, 0.01)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix("/s") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("'{s}' is not a number (examples: 2%, 300ms, 1.5s, 0.5)"))?;
    if !v.is_finite() {
        return Err(format!("'{s}' is not a finite number"));
    }
    Ok(v * scale)
}

/// "30s", "5m", "1h" in seconds.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().map_err(|_| format!("'{s}' is not a duration (examples: 30s, 5m, 1h)"))?;
    let scale = match unit {
        "s" | "" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use s, m, h or d)")),
    };
    Ok(n * scale)
}

impl Rule {
    pub fn parse(text: &str) -> Result<Rule, String> {
        let t = text.trim();
        let (cond, for_secs) = match t.split_once(" for ") {
            Some((c, d)) => (c, parse_duration(d)?),
            None => (t, 0.0),
        };
        let (metric, op, value) = if let Some((m, v)) = cond.split_once('>') {
            (m, Op::Above, v)
        } else if let Some((m, v)) = cond.split_once('<') {
            (m, Op::Below, v)
        } else {
            return Err(format!("'{t}': expected METRIC > VALUE [for DURATION], e.g. 'error_rate > 2% for 5m'"));
        };
        let metric = metric.trim().to_string();
        if !METRICS.contains(&metric.as_str()) {
            return Err(format!("'{metric}' is not a metric Steward watches (one of: {})", METRICS.join(", ")));
        }
        Ok(Rule { metric, op, threshold: parse_value(value.trim_start_matches('=').trim())?, for_secs, text: t.to_string() })
    }

    fn holds(&self, v: f64) -> bool {
        match self.op {
            Op::Above => v > self.threshold,
            Op::Below => v < self.threshold,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Fired { rule: String, series: String, value: f64, since: f64, at: f64 },
    Resolved { rule: String, series: String, value: f64, at: f64 },
}

impl Transition {
    pub fn describe(&self) -> String {
        match self {
            Transition::Fired { rule, series, value, since, at } => {
                format!("ALERT {series}: {rule} (now {value:.4}, condition true for {})", span(at - since))
            }
            Transition::Resolved { rule, series, value, .. } if value.is_nan() => {
                format!("resolved {series}: {rule} (no value now: no sample, NaN as with no traffic, or no labels)")
            }
            Transition::Resolved { rule, series, value, .. } => format!("resolved {series}: {rule} (now {value:.4})"),
        }
    }
}

/// A duration for people: seconds under 2 minutes, then minutes, hours, days.
fn span(secs: f64) -> String {
    match secs {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s if s < 2.0 * 86_400.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

#[derive(Debug, Clone, Default)]
struct State {
    since: Option<f64>,
    firing: bool,
    /// Time of the last evaluation of this series (a sample, or an absence reported with `absent`).
    last: Option<f64>,
}

impl State {
    /// The condition does not hold at `t` (false, NaN or no sample): pending resets, firing resolves.
    fn stop(&mut self, rule: &Rule, series: &str, value: f64, t: f64, out: &mut Vec<Transition>) {
        self.since = None;
        if self.firing {
            self.firing = false;
            out.push(Transition::Resolved { rule: rule.text.clone(), series: series.to_string(), value, at: t });
        }
    }
}

/// Rules and their state per series.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    pub rules: Vec<Rule>,
    states: BTreeMap<(usize, String), State>,
    /// Seconds between evaluations, when known: a longer silence of a series is a gap.
    step: Option<f64>,
}

impl Alerts {
    pub fn new(rules: Vec<Rule>) -> Alerts {
        Alerts { rules, states: BTreeMap::new(), step: None }
    }

    /// Evaluations come every `step` seconds (a range query's step, the window's polling interval): a
    /// series with no sample for more than 1.5 steps was absent in between, which resets `for`.
    pub fn with_step(mut self, step: f64) -> Alerts {
        self.step = (step.is_finite() && step > 0.0).then_some(step);
        self
    }

    /// Feeds one observation of `metric` on `series` (e.g. "mlserver@127.0.0.1:8080 income-classifier v2")
    /// at time `t` (seconds). NaN does not satisfy any condition (as in Prometheus): pending resets,
    /// firing resolves.
    pub fn observe(&mut self, series: &str, metric: &str, t: f64, v: f64) -> Vec<Transition> {
        let mut out = Vec::new();
        let step = self.step;
        for (i, r) in self.rules.iter().enumerate().filter(|(_, r)| r.metric == metric) {
            let st = self.states.entry((i, series.to_string())).or_default();
            if let (Some(step), Some(last)) = (step, st.last)
                && t - last > 1.5 * step
            {
                st.stop(r, series, f64::NAN, last + step, &mut out);
            }
            st.last = Some(t);
            if !v.is_nan() && r.holds(v) {
                let since = *st.since.get_or_insert(t);
                if !st.firing && t - since >= r.for_secs {
                    st.firing = true;
                    out.push(Transition::Fired { rule: r.text.clone(), series: series.to_string(), value: v, since, at: t });
                }
            } else {
                st.stop(r, series, v, t, &mut out);
            }
        }
        out
    }

    /// An evaluation at `t` found no sample of `metric` on `series` (the series is gone from the answer):
    /// as in Prometheus, a pending alert is dropped and a firing one resolves.
    pub fn absent(&mut self, series: &str, metric: &str, t: f64) -> Vec<Transition> {
        let mut out = Vec::new();
        for (i, r) in self.rules.iter().enumerate().filter(|(_, r)| r.metric == metric) {
            if let Some(st) = self.states.get_mut(&(i, series.to_string())) {
                st.stop(r, series, f64::NAN, t, &mut out);
                st.last = Some(t);
            }
        }
        out
    }

    /// Every (series, metric) this engine has state for, to report absences after an evaluation round.
    pub fn tracked(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> =
            self.states.keys().filter_map(|(i, s)| Some((s.clone(), self.rules.get(*i)?.metric.clone()))).collect();
        v.sort();
        v.dedup();
        v
    }

    /// (rule, series) pairs firing now.
    pub fn firing(&self) -> Vec<(String, String)> {
        self.states
            .iter()
            .filter(|(_, s)| s.firing)
            .filter_map(|((i, series), _)| Some((self.rules.get(*i)?.text.clone(), series.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_units_and_refuse_nonsense() {
        let r = Rule::parse("error_rate > 2% for 5m").unwrap();
        assert_eq!((r.metric.as_str(), r.op, r.threshold, r.for_secs), ("error_rate", Op::Above, 0.02, 300.0));
        let r = Rule::parse("p95 > 300ms").unwrap();
        assert!((r.threshold - 0.3).abs() < 1e-12 && r.for_secs == 0.0);
        let r = Rule::parse("request_rate < 0.5 for 90s").unwrap();
        assert_eq!((r.op, r.threshold, r.for_secs), (Op::Below, 0.5, 90.0));
        assert!(Rule::parse("cpu > 3").unwrap_err().contains("not a metric"));
        assert!(Rule::parse("p95 > fast").unwrap_err().contains("not a number"));
        assert!(Rule::parse("p95 > 1 for 5y").unwrap_err().contains("unknown unit"));
        assert!(Rule::parse("p95 > 1 for soon").unwrap_err().contains("not a duration"));
        assert!(Rule::parse("p95 = 1").unwrap_err().contains("expected"));
    }

    #[test]
    fn a_rule_fires_after_its_duration_and_resolves_once() {
        let mut a = Alerts::new(vec![Rule::parse("error_rate > 2% for 60s").unwrap()]);
        let s = "ep model v2";
        assert!(a.observe(s, "error_rate", 0.0, 0.05).is_empty()); // pending
        assert!(a.observe(s, "error_rate", 30.0, 0.05).is_empty());
        assert!(a.observe(s, "request_rate", 60.0, 100.0).is_empty()); // other metric
        let fired = a.observe(s, "error_rate", 61.0, 0.03);
        assert!(matches!(&fired[..], [Transition::Fired { since, at, .. }] if *since == 0.0 && *at == 61.0));
        assert_eq!(a.firing().len(), 1);
        assert!(a.observe(s, "error_rate", 62.0, 0.04).is_empty(), "fires once");
        let res = a.observe(s, "error_rate", 63.0, 0.01);
        assert!(matches!(&res[..], [Transition::Resolved { .. }]));
        assert!(a.firing().is_empty());
        // A dip resets the pending time.
        a.observe(s, "error_rate", 100.0, 0.05);
        a.observe(s, "error_rate", 130.0, 0.0);
        assert!(a.observe(s, "error_rate", 170.0, 0.05).is_empty());
        // Series are independent.
        assert!(a.observe("other", "error_rate", 0.0, 0.5).is_empty());
    }

    #[test]
    fn nan_and_gaps_reset_for_and_resolve_as_in_prometheus() {
        let rule = || Rule::parse("error_rate > 2% for 60s").unwrap();
        let s = "ep model v2";
        // NaN (0/0: no traffic) does not satisfy the condition: a firing alert resolves, `for` restarts.
        let mut a = Alerts::new(vec![rule()]);
        a.observe(s, "error_rate", 0.0, 0.05);
        assert_eq!(a.observe(s, "error_rate", 60.0, 0.05).len(), 1);
        let res = a.observe(s, "error_rate", 75.0, f64::NAN);
        assert!(matches!(&res[..], [Transition::Resolved { value, at, .. }] if value.is_nan() && *at == 75.0), "{res:?}");
        assert!(res[0].describe().contains("no value now: no sample"));
        assert!(a.observe(s, "error_rate", 90.0, 0.05).is_empty());
        assert!(a.observe(s, "error_rate", 149.0, 0.05).is_empty(), "60 s from 90, not from 0");
        assert_eq!(a.observe(s, "error_rate", 150.0, 0.05).len(), 1);
        // A gap of samples (step 15 s): breach, 105 s without samples, breach: `for` counts from after the gap.
        let mut a = Alerts::new(vec![rule()]).with_step(15.0);
        for t in [0.0, 15.0, 30.0] {
            assert!(a.observe(s, "error_rate", t, 0.05).is_empty());
        }
        assert!(a.observe(s, "error_rate", 135.0, 0.05).is_empty(), "without the gap this would have fired");
        for t in [150.0, 165.0, 180.0] {
            assert!(a.observe(s, "error_rate", t, 0.05).is_empty());
        }
        assert_eq!(a.observe(s, "error_rate", 195.0, 0.05).len(), 1);
        // A gap while firing resolves at the first missing evaluation.
        let res = a.observe(s, "error_rate", 300.0, 0.05);
        assert!(matches!(&res[..], [Transition::Resolved { at, .. }] if *at == 210.0), "{res:?}");
        // An absence reported explicitly does the same.
        let mut a = Alerts::new(vec![rule()]);
        a.observe(s, "error_rate", 0.0, 0.05);
        a.observe(s, "error_rate", 60.0, 0.05);
        assert_eq!(a.tracked(), [(s.to_string(), "error_rate".to_string())]);
        assert!(matches!(&a.absent(s, "error_rate", 70.0)[..], [Transition::Resolved { .. }]));
        assert!(a.firing().is_empty());
    }
}
