//! Promotion gates declared as policy: what a version must show before an alias may point to it. A gate
//! policy is TOML (`--policy FILE`, a profile's `policy = "FILE"`, or the home's `config/gates.toml`), so a
//! CI pipeline keeps it in git. `ops::gates` evaluates it; this file only says what is asked.
//!
//! ```toml
//! [[gate]]
//! model = "income-classifier"   # optional: every model when absent
//! alias = "champion"            # optional: every alias when absent
//! kind = "metric"               # a registry metric of the target version
//! metric = "accuracy"
//! direction = "higher"          # higher or lower is better (also the dialog's colours)
//! max_worsening = 0.0           # against the version the alias holds now: accuracy >= current - 0.0
//! # at_least = 0.85 / at_most = 0.2   (an absolute bound)
//!
//! [[gate]]
//! kind = "fairness"             # computed by the fairness engine on the model's prediction log
//! measure = "demographic_parity_difference"   # or equal_opportunity_difference, equalized_odds_difference
//! groups = ["sex"]
//! max_worsening = 0.005         # against the current holder's value; or max = 0.1 (absolute)
//! min_group_size = 30           # a smaller group makes the verdict inconclusive
//! # log = "/path/to/log.csv"    # default: the model's `prediction_log` tag
//!
//! [[gate]]
//! kind = "quality"              # `steward quality` on the target version's rows of the log
//! rule = "accuracy < 0.8 for 2d"   # fails when it holds, interval included, in each of the last 2 days
//! # label = "label", prediction = "prediction", time = "timestamp", version = "model_version",
//! # window = "1d" (or "1w"), log = "/path/to/log.csv"   (these are the defaults)
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Whether more or less of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Higher,
    Lower,
}

impl Direction {
    /// The usual direction of a metric by its name: losses, errors, latencies and disparities are
    /// better lower; anything else higher.
    pub fn guess(metric: &str) -> Direction {
        let m = metric.to_ascii_lowercase();
        let lower = [
            "loss", "error", "mse", "mae", "rmse", "latency", "brier", "logloss", "fpr", "fnr", "false_positive", "false_negative",
            "disparity", "difference", "perplexity",
        ];
        if lower.iter().any(|w| m.contains(w)) { Direction::Lower } else { Direction::Higher }
    }
}

/// The fairness measures a gate can bound (Fairlearn's names; worst case over groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FairnessMeasure {
    DemographicParityDifference,
    EqualOpportunityDifference,
    EqualizedOddsDifference,
}

impl FairnessMeasure {
    pub fn name(self) -> &'static str {
        match self {
            FairnessMeasure::DemographicParityDifference => "demographic_parity_difference",
            FairnessMeasure::EqualOpportunityDifference => "equal_opportunity_difference",
            FairnessMeasure::EqualizedOddsDifference => "equalized_odds_difference",
        }
    }
}

/// What one gate checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GateKind {
    /// A registry metric of the target version, against a bound or the current holder's value.
    Metric {
        metric: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        direction: Option<Direction>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_least: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_most: Option<f64>,
        /// How much worse than the current holder the target may be (in the metric's direction).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_worsening: Option<f64>,
    },
    /// A disparity computed on the prediction log for the target (and the current holder).
    Fairness {
        measure: FairnessMeasure,
        groups: Vec<String>,
        /// Absolute bound on the target's value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        /// How much larger than the current holder's value the target's may be.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_worsening: Option<f64>,
        #[serde(default = "default_min_group")]
        min_group_size: u64,
        /// The log (default: the model's `prediction_log` tag).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log: Option<PathBuf>,
    },
    /// The four-fifths rule on the target: every group's rate over the reference (largest) group's
    /// within `bounds` (default [0.8, 1.25]), by the ratio's 95% interval.
    FourFifths {
        groups: Vec<String>,
        /// A rate name (default selection_rate).
        #[serde(default = "default_rate")]
        metric: String,
        #[serde(default = "default_bounds")]
        bounds: [f64; 2],
        #[serde(default = "default_min_group")]
        min_group_size: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log: Option<PathBuf>,
    },
    /// Live comparison where the log holds both versions' decisions with labels: the target's rate
    /// minus the current holder's, with its interval, worsened by at most `max_worsening`.
    LiveComparison {
        /// A rate name: accuracy (default), precision, true_positive_rate, ...
        #[serde(default = "default_live")]
        metric: String,
        max_worsening: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log: Option<PathBuf>,
    },
    /// A quality rule (`monitoring::rules`, e.g. "accuracy < 0.8 for 2d") on the target version's rows
    /// of the log, per window of prediction time.
    Quality {
        rule: String,
        #[serde(default = "default_label")]
        label: String,
        #[serde(default = "default_prediction")]
        prediction: String,
        #[serde(default = "default_time")]
        time: String,
        #[serde(default = "default_version")]
        version: String,
        /// "1d" (default) or "1w".
        #[serde(default = "default_window")]
        window: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log: Option<PathBuf>,
    },
    /// A drift rule (`monitoring::rules`, e.g. "psi(age) > 0.2" or "js(workclass) > 0.1 for 2d") on the
    /// log's newest window against a reference: a file, else the log's first `reference_days` days.
    Drift {
        rule: String,
        #[serde(default = "default_time")]
        time: String,
        /// "1d" (default) or "1w".
        #[serde(default = "default_window")]
        window: String,
        #[serde(default = "default_reference_days")]
        reference_days: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<PathBuf>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log: Option<PathBuf>,
    },
}

fn default_label() -> String {
    "label".into()
}

fn default_prediction() -> String {
    "prediction".into()
}

fn default_time() -> String {
    "timestamp".into()
}

fn default_version() -> String {
    "model_version".into()
}

fn default_reference_days() -> u32 {
    7
}

fn default_window() -> String {
    "1d".into()
}

fn default_rate() -> String {
    "selection_rate".into()
}

fn default_live() -> String {
    "accuracy".into()
}

fn default_bounds() -> [f64; 2] {
    [0.8, 1.25]
}

fn default_min_group() -> u64 {
    30
}

fn yes() -> bool {
    true
}

/// One gate: where it applies, whether it must pass, what it checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// A required gate that does not pass blocks a promotion (unless overridden with a reason).
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(flatten)]
    pub check: GateKind,
}

impl Gate {
    pub fn applies(&self, model: &str, alias: &str) -> bool {
        self.model.as_deref().is_none_or(|m| m == model) && self.alias.as_deref().is_none_or(|a| a == alias)
    }

    /// A short name: "accuracy (metric)", "demographic_parity_difference by sex".
    pub fn name(&self) -> String {
        match &self.check {
            GateKind::Metric { metric, .. } => format!("{metric} (registry metric)"),
            GateKind::Fairness { measure, groups, .. } => format!("{} by {}", measure.name(), groups.join(" x ")),
            GateKind::FourFifths { metric, groups, .. } => format!("four-fifths rule on {metric} by {}", groups.join(" x ")),
            GateKind::LiveComparison { metric, .. } => format!("live {metric} vs the current version (log)"),
            GateKind::Quality { rule, .. } => format!("quality rule '{rule}' (log)"),
            GateKind::Drift { rule, .. } => format!("drift rule '{rule}' (log)"),
        }
    }
}

/// Where the gates in force are read from, each time a move is planned (so an edited file counts at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateSource {
    pub path: PathBuf,
    /// Named by `--policy` or a profile: it must exist. The home's gates.toml may be absent (no gates).
    pub explicit: bool,
    /// Named by `--policy`: stays in force when the window switches profiles.
    pub from_flag: bool,
}

impl GateSource {
    /// `--policy FILE` wins, then the profile's `policy`, then the home's gates.toml.
    pub fn select(flag: Option<&Path>, profile: Option<&super::Profile>, home: &super::Home) -> GateSource {
        match (flag, profile.and_then(|p| p.policy.as_deref())) {
            (Some(f), _) => GateSource { path: f.to_path_buf(), explicit: true, from_flag: true },
            (None, Some(f)) => GateSource { path: PathBuf::from(f), explicit: true, from_flag: false },
            (None, None) => GateSource { path: home.gates_file(), explicit: false, from_flag: false },
        }
    }

    /// The policy now. An explicit file that is missing or bad is an error; an absent home file is no gates.
    pub fn load(&self) -> Result<GatePolicy, String> {
        if !self.explicit && !self.path.exists() {
            return Ok(GatePolicy::default());
        }
        GatePolicy::load(&self.path)
    }
}

/// A set of gates and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GatePolicy {
    #[serde(default, rename = "gate")]
    pub gates: Vec<Gate>,
    /// The file it was read from (None: none configured).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl GatePolicy {
    /// Reads a policy file. Errors name the file (and TOML's line and column).
    pub fn load(path: &Path) -> Result<GatePolicy, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("gate policy {}: {e}", path.display()))?;
        let mut p: GatePolicy = toml::from_str(&text).map_err(|e| format!("gate policy {}: {e}", path.display()))?;
        for g in &p.gates {
            g.check_bounds().map_err(|e| format!("gate policy {}: gate '{}': {e}", path.display(), g.name()))?;
        }
        p.source = Some(path.to_path_buf());
        Ok(p)
    }

    /// The gates that apply to moving `model@alias`.
    pub fn for_move(&self, model: &str, alias: &str) -> Vec<&Gate> {
        self.gates.iter().filter(|g| g.applies(model, alias)).collect()
    }

    /// SHA-256 (hex) of the policy as JSON (the gates only), recorded with every move it judged.
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(&self.gates).unwrap_or_default();
        hex::encode(Sha256::digest(&json))
    }

    /// The sample workspace's policy: the champion may not get worse on accuracy, nor on demographic
    /// parity difference by sex by more than 0.005.
    pub fn sample(model: &str) -> GatePolicy {
        let gate = |check| Gate { model: Some(model.to_string()), alias: Some("champion".into()), required: true, check };
        GatePolicy {
            gates: vec![
                gate(GateKind::Metric {
                    metric: "accuracy".into(),
                    direction: Some(Direction::Higher),
                    at_least: None,
                    at_most: None,
                    max_worsening: Some(0.0),
                }),
                gate(GateKind::Fairness {
                    measure: FairnessMeasure::DemographicParityDifference,
                    groups: vec!["sex".into()],
                    max: None,
                    max_worsening: Some(0.005),
                    min_group_size: 30,
                    log: None,
                }),
                Gate {
                    required: false,
                    ..gate(GateKind::LiveComparison { metric: "accuracy".into(), max_worsening: 0.0, log: None })
                },
            ],
            source: None,
        }
    }

    /// The policy as TOML (what `steward sample` writes to the home's gates.toml).
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string_pretty(self).map_err(|e| e.to_string())
    }
}

impl Gate {
    fn check_bounds(&self) -> Result<(), String> {
        let finite = |x: &Option<f64>| x.is_none_or(|v| v.is_finite());
        match &self.check {
            GateKind::Metric { at_least, at_most, max_worsening, .. } => {
                if at_least.is_none() && at_most.is_none() && max_worsening.is_none() {
                    return Err("give at_least, at_most or max_worsening".into());
                }
                if !(finite(at_least) && finite(at_most) && finite(max_worsening)) {
                    return Err("bounds must be finite numbers".into());
                }
            }
            GateKind::Fairness { max, max_worsening, groups, .. } => {
                if groups.is_empty() {
                    return Err("name at least one group column".into());
                }
                if max.is_none() && max_worsening.is_none() {
                    return Err("give max or max_worsening".into());
                }
                if !(finite(max) && finite(max_worsening)) {
                    return Err("bounds must be finite numbers".into());
                }
            }
            GateKind::FourFifths { groups, metric, bounds, .. } => {
                if groups.is_empty() {
                    return Err("name at least one group column".into());
                }
                if !(bounds[0] > 0.0 && bounds[0] <= bounds[1] && bounds[1].is_finite()) {
                    return Err("bounds must satisfy 0 < low <= high".into());
                }
                rate_name(metric)?;
            }
            GateKind::LiveComparison { metric, max_worsening, .. } => {
                if !max_worsening.is_finite() {
                    return Err("max_worsening must be a finite number".into());
                }
                rate_name(metric)?;
            }
            // The rule itself is parsed by the monitoring room when the gate is evaluated (a bad rule is
            // an inconclusive gate naming it); here only what config can check.
            GateKind::Quality { rule, window, .. } => {
                if !rule.contains(['<', '>']) {
                    return Err(format!("rule '{rule}': a quality rule with a comparison, e.g. 'accuracy < 0.8 for 2d'"));
                }
                if window != "1d" && window != "1w" {
                    return Err(format!("window '{window}': use 1d or 1w"));
                }
            }
            GateKind::Drift { rule, window, reference_days, .. } => {
                if !(rule.contains('(') && rule.contains(['<', '>'])) {
                    return Err(format!("rule '{rule}': a drift rule MEASURE(COLUMN) with a comparison, e.g. 'psi(age) > 0.2'"));
                }
                if window != "1d" && window != "1w" {
                    return Err(format!("window '{window}': use 1d or 1w"));
                }
                if *reference_days == 0 {
                    return Err("reference_days must be at least 1".into());
                }
            }
        }
        Ok(())
    }
}

/// The rate names a gate may use (the fairness engine's).
pub const RATE_NAMES: [&str; 7] =
    ["base_rate", "selection_rate", "true_positive_rate", "false_positive_rate", "false_negative_rate", "precision", "accuracy"];

fn rate_name(m: &str) -> Result<(), String> {
    if RATE_NAMES.contains(&m) { Ok(()) } else { Err(format!("'{m}' is not a rate (one of {})", RATE_NAMES.join(", "))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_policy_round_trips_through_toml_and_keeps_its_digest() {
        let p = GatePolicy::sample("income-classifier");
        let text = p.to_toml().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("gates.toml");
        std::fs::write(&f, &text).unwrap();
        let back = GatePolicy::load(&f).unwrap();
        assert_eq!(back.gates, p.gates, "{text}");
        assert_eq!(back.digest(), p.digest());
        assert_eq!(back.for_move("income-classifier", "champion").len(), 3);
        assert!(back.for_move("income-classifier", "canary").is_empty());
        assert!(back.for_move("other", "champion").is_empty());
    }

    #[test]
    fn a_bad_policy_names_the_file_and_the_gate() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, "[[gate]]\nkind = \"metric\"\nmetric = \"accuracy\"\n").unwrap();
        let e = GatePolicy::load(&f).unwrap_err();
        assert!(e.contains("p.toml") && e.contains("accuracy") && e.contains("at_least"), "{e}");
        std::fs::write(&f, "[[gate]]\nkind = \"fairness\"\nmeasure = \"nope\"\n").unwrap();
        let e = GatePolicy::load(&f).unwrap_err();
        assert!(e.contains("p.toml") && e.contains("line"), "{e}");
    }

    #[test]
    fn directions_follow_the_metric_names() {
        assert_eq!(Direction::guess("train_loss"), Direction::Lower);
        assert_eq!(Direction::guess("p95_latency_ms"), Direction::Lower);
        assert_eq!(Direction::guess("accuracy"), Direction::Higher);
        assert_eq!(Direction::guess("roc_auc"), Direction::Higher);
    }
}
