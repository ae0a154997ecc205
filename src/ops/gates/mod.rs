//! Evaluating promotion gates (declared in `config::GatePolicy`) for one planned move. Every verdict is
//! pass, fail or inconclusive, and every number comes with what it was computed from.
//!
//! - **metric**: the target version's registry metric against an absolute bound, or against the current
//!   holder's value worsened by at most `max_worsening` in the metric's direction. Registry metrics come
//!   without intervals, so these verdicts are pass or fail (inconclusive when a metric is missing).
//! - **fairness**: the disparity of the target and the current holder computed by the fairness engine on
//!   the prediction log, per version (the same numbers as `steward fairness` and the Fairness view). The
//!   95% interval of a difference between the two groups that attain the maximum and minimum rate is
//!   Newcombe's hybrid score interval from their Wilson intervals (Newcombe 1998, Stat Med 17:873,
//!   method 10). The interval of the change (target - current) combines the two disparities' intervals
//!   by the MOVER method (Zou & Donner 2008, Stat Med 27:1693), treating the versions as independent: when
//!   both are scored on the same rows (as in the sample log) the pairing is not used, which makes the
//!   interval wider than a paired one, i.e. conservative. A bound inside the interval is inconclusive:
//!   pass needs the whole interval on the allowed side, fail needs it wholly beyond.
//! - **serving** (automatic when the alias is bound to an endpoint): the endpoint must be live and ready
//!   before the alias moves.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{MoveKind, MovePlan, OpError, Ops};
use crate::config::{Direction, Gate, GateKind, GatePolicy};
use crate::connect::Registry;
use crate::domain::{ModelVersion, VersionNumber};

mod fairness;

pub use fairness::{LogEvidence, fairness_gate, four_fifths_gate, live_gate, measure_of, mover_difference, newcombe, ratio_interval, read_log};

/// A gate's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The evidence cannot decide: the bound lies inside the 95% interval, a group is too small, or an
    /// input is missing.
    Inconclusive,
}

impl Verdict {
    /// "passes", "fails", "is inconclusive": for sentences.
    pub fn phrase(self) -> &'static str {
        match self {
            Verdict::Pass => "passes",
            Verdict::Fail => "fails",
            Verdict::Inconclusive => "is inconclusive",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// A value with its 95% interval, when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
}

impl Estimate {
    pub fn exact(value: f64) -> Estimate {
        Estimate { value, interval: None }
    }

    /// "0.1875 [0.1702, 0.2048]" (4 decimals, as everywhere else).
    pub fn show(&self) -> String {
        match self.interval {
            Some([lo, hi]) => format!("{:.4} [{lo:.4}, {hi:.4}]", self.value),
            None => format!("{:.4}", self.value),
        }
    }
}

/// One gate's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub name: String,
    /// metric | fairness | serving
    pub kind: String,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Estimate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Estimate>,
    /// target - current, with its interval where the values have intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Estimate>,
    /// The rule, e.g. "change <= +0.0050" or "target >= current - 0.0000".
    pub bound: String,
    pub verdict: Verdict,
    /// One sentence: why this verdict.
    pub detail: String,
    /// What the numbers were computed from (registry values, the log's path, size and SHA-256, rows).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
}

impl GateResult {
    /// A result not yet judged (inconclusive, no values) for a gate named `name` of `kind`.
    fn new(name: String, kind: &str, required: bool, bound: String) -> GateResult {
        GateResult {
            name,
            kind: kind.into(),
            required,
            current: None,
            target: None,
            change: None,
            bound,
            verdict: Verdict::Inconclusive,
            detail: String::new(),
            inputs: BTreeMap::new(),
        }
    }

    /// `new` for a gate of the policy.
    fn open(gate: &Gate, kind: &str, bound: String) -> GateResult {
        GateResult::new(gate.name(), kind, gate.required, bound)
    }

    /// Whether it stops a promotion: required and not passed.
    pub fn blocks(&self) -> bool {
        self.required && self.verdict != Verdict::Pass
    }

    /// One line for the CLI, reports and notices.
    pub fn line(&self) -> String {
        let show = |e: &Option<Estimate>| e.map(|e| e.show()).unwrap_or_else(|| "-".into());
        format!(
            "{}: {} (current {}, target {}, change {}; {}){}: {}",
            self.name,
            self.verdict.word().to_uppercase(),
            show(&self.current),
            show(&self.target),
            show(&self.change),
            self.bound,
            if self.required { "" } else { " [advisory]" },
            self.detail
        )
    }
}

/// Every gate evaluated for one move.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// The policy file the gates came from (None: no policy file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// SHA-256 of the policy's gates (`GatePolicy::digest`).
    pub digest: String,
    pub results: Vec<GateResult>,
}

impl GateReport {
    /// The results that stop a promotion.
    pub fn blocking(&self) -> Vec<&GateResult> {
        self.results.iter().filter(|r| r.blocks()).collect()
    }

    /// True when gates ran and every one passed.
    pub fn all_passed(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(|r| r.verdict == Verdict::Pass)
    }

    /// The worst verdict among required gates (None: no required gate).
    pub fn worst(&self) -> Option<Verdict> {
        let req = self.results.iter().filter(|r| r.required);
        let mut worst = None;
        for r in req {
            worst = match (worst, r.verdict) {
                (_, Verdict::Fail) | (Some(Verdict::Fail), _) => Some(Verdict::Fail),
                (_, Verdict::Inconclusive) | (Some(Verdict::Inconclusive), _) => Some(Verdict::Inconclusive),
                _ => Some(Verdict::Pass),
            };
        }
        worst
    }
}

/// The metric gate: registry values only.
pub fn metric_gate(gate: &Gate, current: Option<&ModelVersion>, target: &ModelVersion) -> GateResult {
    let GateKind::Metric { metric, direction, at_least, at_most, max_worsening } = &gate.check else {
        unreachable!("metric_gate is called for metric gates")
    };
    let dir = direction.unwrap_or_else(|| Direction::guess(metric));
    let mut r = GateResult::open(gate, "metric", String::new());
    let t = target.metrics.get(metric).copied();
    let c = current.and_then(|c| c.metrics.get(metric).copied());
    r.target = t.map(Estimate::exact);
    r.current = c.map(Estimate::exact);
    r.change = t.zip(c).map(|(t, c)| Estimate::exact(t - c));
    r.inputs.insert(format!("v{} {metric}", target.version), t.map(|x| x.to_string()).unwrap_or_else(|| "missing".into()));
    if let Some(cur) = current {
        r.inputs.insert(format!("v{} {metric}", cur.version), c.map(|x| x.to_string()).unwrap_or_else(|| "missing".into()));
    }
    let mut rules = Vec::new();
    let mut fails = Vec::new();
    let Some(t) = t else {
        r.verdict = Verdict::Inconclusive;
        r.detail = format!("v{} has no registry metric '{metric}'", target.version);
        r.bound = "-".into();
        return r;
    };
    if let Some(b) = at_least {
        rules.push(format!("target >= {b:.4}"));
        if t < *b {
            fails.push(format!("{t:.4} < {b:.4}"));
        }
    }
    if let Some(b) = at_most {
        rules.push(format!("target <= {b:.4}"));
        if t > *b {
            fails.push(format!("{t:.4} > {b:.4}"));
        }
    }
    let mut inconclusive = None;
    if let Some(w) = max_worsening {
        match (dir, c) {
            (Direction::Higher, Some(c)) => {
                rules.push(if *w == 0.0 { "target >= current".into() } else { format!("target >= current - {w:.4}") });
                if t < c - w {
                    fails.push(if *w == 0.0 { format!("{t:.4} < {c:.4}") } else { format!("{t:.4} < {c:.4} - {w:.4}") });
                }
            }
            (Direction::Lower, Some(c)) => {
                rules.push(if *w == 0.0 { "target <= current".into() } else { format!("target <= current + {w:.4}") });
                if t > c + w {
                    fails.push(if *w == 0.0 { format!("{t:.4} > {c:.4}") } else { format!("{t:.4} > {c:.4} + {w:.4}") });
                }
            }
            (_, None) if current.is_some() => {
                inconclusive = Some(format!("the current version has no registry metric '{metric}' to compare with"));
            }
            (_, None) => rules.push("no current version to compare with".into()),
        }
    }
    r.bound = rules.join(" and ");
    let better = if dir == Direction::Higher { "higher" } else { "lower" };
    (r.verdict, r.detail) = if !fails.is_empty() {
        (Verdict::Fail, format!("{} ({better} is better)", fails.join("; ")))
    } else if let Some(why) = inconclusive {
        (Verdict::Inconclusive, why)
    } else {
        (Verdict::Pass, format!("{metric} {t:.4} meets the bound ({better} is better)"))
    };
    r
}

/// The serving gate of a bound alias: the endpoint must answer live before the alias moves (a dead
/// endpoint would only mean move, fail, and put everything back).
pub async fn serving_gate(binding: &crate::config::Binding, timeout: std::time::Duration) -> GateResult {
    let state = crate::serving::oip::probe(&binding.endpoint, timeout).await;
    let shown = crate::connect::http::redact_url(&binding.endpoint);
    let (verdict, detail) = match state.health {
        h if h.is_down() => (
            Verdict::Fail,
            format!("endpoint {shown} is {h}: {}", state.last_error.map(|e| e.message).unwrap_or_else(|| "no answer".into())),
        ),
        h => (Verdict::Pass, format!("{shown} answers ({h}); {} will be loaded there after the alias moves", binding.served_model)),
    };
    let mut r = GateResult::new(format!("endpoint {} serving {}", shown, binding.served_model), "serving", true, "endpoint live".into());
    (r.verdict, r.detail) = (verdict, detail);
    r.inputs.insert("endpoint".into(), shown);
    r
}

type Logs = BTreeMap<(PathBuf, Vec<String>), Result<LogEvidence, String>>;

/// The log's evidence for `groups` (read once per log and groups; empty groups: the guessed column).
fn evidence<'a>(logs: &'a mut Logs, log: Option<&PathBuf>, prediction_log: Option<&str>, groups: &[String]) -> Result<&'a LogEvidence, String> {
    let Some(path) = log.cloned().or_else(|| prediction_log.map(PathBuf::from)) else {
        return Err("no log: set the model's prediction_log tag or the gate's log".to_string());
    };
    let e = logs.entry((path.clone(), groups.to_vec())).or_insert_with(|| read_log(&path, groups));
    e.as_ref().map_err(|e| e.clone())
}

/// The alerts gate: no alert rule of the profile (the window's rules, or Steward's defaults) fires for
/// the model (or its served name) in Prometheus now. Unreachable Prometheus or bad rules: inconclusive.
pub async fn alerts_gate(prometheus: &str, rules: &[String], names: &[&str], timeout: std::time::Duration) -> GateResult {
    let shown = crate::connect::http::redact_url(prometheus);
    let mut r = GateResult::new("alert rules (Prometheus)".into(), "alerts", true, "no rule firing for the model".into());
    r.inputs.insert("prometheus".into(), shown.clone());
    let texts = crate::serving::alerts::rules_or_default(rules);
    let parsed: Result<Vec<_>, String> = texts.iter().map(|t| crate::serving::alerts::Rule::parse(t)).collect();
    let rules = match parsed {
        Ok(r) => r,
        Err(e) => {
            r.detail = format!("the alert rules do not parse: {e}");
            return r;
        }
    };
    r.inputs.insert("rules".into(), texts.join("; "));
    let mine = |series: &str| names.iter().any(|n| series == *n || series.starts_with(&format!("{n} v")));
    match crate::serving::monitor::check_alerts(prometheus, timeout, &rules, crate::serving::unix_now()).await {
        Err(e) => r.detail = format!("Prometheus at {shown} could not be asked: {e}"),
        Ok(statuses) => {
            let checked: Vec<_> = statuses.iter().filter(|s| mine(&s.series)).collect();
            let firing: Vec<String> = checked.iter().filter(|s| s.firing).map(|s| format!("{}: {}", s.series, s.rule)).collect();
            (r.verdict, r.detail) = if firing.is_empty() {
                (Verdict::Pass, format!("no alert fires ({} series of {} checked)", checked.len(), names.join(", ")))
            } else {
                (Verdict::Fail, format!("firing: {}", firing.join("; ")))
            };
        }
    }
    r
}

/// Every gate of `policy` that applies to moving `model@alias` from `current` to each of `targets`
/// (one for a plan, several for a rollback's choices), reading each log once; the serving and alerts
/// gates are separate (`serving_gate`, `alerts_gate`). `prediction_log` is the model's tag. Blocking.
pub fn evaluate_each(
    policy: &GatePolicy,
    model: &str,
    alias: &str,
    versions: &[ModelVersion],
    current: Option<VersionNumber>,
    targets: &[VersionNumber],
    prediction_log: Option<&str>,
) -> Vec<(VersionNumber, GateReport)> {
    let mut logs = Logs::new();
    targets.iter().map(|&target| (target, report_for(&mut logs, policy, model, alias, versions, current, target, prediction_log))).collect()
}

/// One target's report, with logs read through `logs`.
#[allow(clippy::too_many_arguments)]
fn report_for(
    logs: &mut Logs,
    policy: &GatePolicy,
    model: &str,
    alias: &str,
    versions: &[ModelVersion],
    current: Option<VersionNumber>,
    target: VersionNumber,
    prediction_log: Option<&str>,
) -> GateReport {
    let find = |v: VersionNumber| versions.iter().find(|x| x.version == v);
    let mut results = Vec::new();
    for gate in policy.for_move(model, alias) {
        match &gate.check {
            GateKind::Metric { .. } => match find(target) {
                Some(t) => results.push(metric_gate(gate, current.and_then(find), t)),
                None => continue,
            },
            GateKind::Fairness { groups, log, .. } | GateKind::FourFifths { groups, log, .. } => {
                let ev = evidence(logs, log.as_ref(), prediction_log, groups);
                let ev = ev.as_ref().map(|e| *e);
                results.push(match &gate.check {
                    GateKind::Fairness { .. } => fairness_gate(gate, ev, current, target),
                    _ => four_fifths_gate(gate, ev, target),
                });
            }
            GateKind::LiveComparison { log, .. } => {
                let ev = evidence(logs, log.as_ref(), prediction_log, &[]);
                results.push(live_gate(gate, ev.as_ref().map(|e| *e), current, target));
            }
            GateKind::Quality { .. } => results.push(quality::quality_gate(gate, prediction_log, current, target)),
            GateKind::Drift { .. } => results.push(drift::drift_gate(gate, prediction_log)),
        }
    }
    GateReport { policy: policy.source.as_ref().map(|p| p.display().to_string()), digest: policy.digest(), results }
}

impl MovePlan {
    /// The gates that stop this move: serving gates always; for a promotion, every required gate that
    /// did not pass unless `overridden` (with a reason). A rollback must stay fast: it never waits on
    /// metric, fairness or alert gates. The one rule for `execute` and the dialogs.
    pub fn blocking_gates(&self, overridden: bool) -> Vec<&GateResult> {
        self.gates
            .blocking()
            .into_iter()
            .filter(|g| g.kind == "serving" || (self.kind == MoveKind::Promote && !overridden))
            .collect()
    }

    /// Whether an override could let this move go: a promotion stopped by a gate other than serving.
    pub fn gates_overridable(&self) -> bool {
        self.kind == MoveKind::Promote && self.gates.blocking().iter().any(|g| g.kind != "serving")
    }
}

impl<R: Registry> Ops<'_, R> {
    /// Evaluates the gates in force for `plan` (the policy file is read now, so edits count at once);
    /// with a bound alias, also the serving gate. Reading the prediction log runs on the blocking pool.
    pub(in crate::ops) async fn with_gates(&self, mut plan: MovePlan, versions: Vec<crate::domain::ModelVersion>) -> Result<MovePlan, OpError> {
        let judged = self.judge(&plan.model, &plan.alias, versions, plan.from, vec![plan.to]).await?;
        let mut report = judged.into_iter().next().map(|(_, r)| r).unwrap_or_default();
        let binding = self.policy.binding(&plan.model, &plan.alias);
        if let Some(b) = binding {
            report.results.push(serving_gate(b, self.policy.endpoint_timeout).await);
        }
        if let Some(prom) = &self.policy.prometheus {
            let mut names = vec![plan.model.as_str()];
            names.extend(binding.map(|b| b.served_model.as_str()));
            report.results.push(alerts_gate(prom, &self.policy.alert_rules, &names, self.policy.endpoint_timeout).await);
        }
        plan.gates = report;
        Ok(plan)
    }

    /// The policy's gates for moving `model@alias` from `current` to each of `targets`. The policy file is
    /// read now; the model's `prediction_log` tag is looked up and logs are read (on the blocking pool)
    /// only when a gate applies.
    pub(in crate::ops) async fn judge(
        &self,
        model: &str,
        alias: &str,
        versions: Vec<crate::domain::ModelVersion>,
        current: Option<VersionNumber>,
        targets: Vec<VersionNumber>,
    ) -> Result<Vec<(VersionNumber, GateReport)>, OpError> {
        let policy = match &self.policy.gates {
            Some(source) => source.load().map_err(OpError::Refused)?,
            None => crate::config::GatePolicy::default(),
        };
        let log = match policy.for_move(model, alias).is_empty() {
            true => None,
            false => self.registry.get_model(model).await?.tags.get("prediction_log").cloned(),
        };
        let (model, alias) = (model.to_string(), alias.to_string());
        tokio::task::spawn_blocking(move || evaluate_each(&policy, &model, &alias, &versions, current, &targets, log.as_deref()))
            .await
            .map_err(|e| OpError::Failed(format!("gate evaluation stopped: {e}")))
    }
}

mod drift;
mod quality;

#[cfg(test)]
mod tests;
