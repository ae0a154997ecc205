//! The Monitoring view's state: the form and the analysis running on its own thread: drift (the same
//! engine as `steward drift`) and, when a label column is named, quality per version and window (the
//! same engine as `steward quality`).

use std::sync::{Arc, Mutex};

use crate::fairness::{Progress, Window};
use crate::monitoring::drift::{DriftReport, DriftSpec};
use crate::sources::LogRef;
use crate::monitoring::quality::{Estimate, Labels, QualityReport, QualitySpec, WindowQuality, quality};

/// What one analysis gives: drift, and quality when a label column was named.
pub type Analysis = (Result<DriftReport, String>, Option<Result<QualityReport, String>>);

/// The quality metric charted over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QualityMetric {
    #[default]
    Accuracy,
    Precision,
    Recall,
    F1,
    RocAuc,
    LabelledShare,
}

impl QualityMetric {
    pub const ALL: [QualityMetric; 6] =
        [QualityMetric::Accuracy, QualityMetric::Precision, QualityMetric::Recall, QualityMetric::F1, QualityMetric::RocAuc, QualityMetric::LabelledShare];
    pub fn title(self) -> &'static str {
        match self {
            QualityMetric::Accuracy => "Accuracy",
            QualityMetric::Precision => "Precision",
            QualityMetric::Recall => "Recall",
            QualityMetric::F1 => "F1",
            QualityMetric::RocAuc => "ROC AUC",
            QualityMetric::LabelledShare => "Labelled share",
        }
    }
    /// How the band is computed (shown under the chart).
    pub fn interval(self) -> &'static str {
        match self {
            QualityMetric::F1 => "delta method (Takahashi et al. 2022)",
            QualityMetric::RocAuc => "Hanley-McNeil 1982",
            _ => "Wilson score",
        }
    }
    /// The measure's name in rules (`accuracy`, `roc_auc`, ...).
    pub fn rule_name(self) -> &'static str {
        match self {
            QualityMetric::Accuracy => "accuracy",
            QualityMetric::Precision => "precision",
            QualityMetric::Recall => "recall",
            QualityMetric::F1 => "f1",
            QualityMetric::RocAuc => "roc_auc",
            QualityMetric::LabelledShare => "labelled_share",
        }
    }
    pub fn of(self, w: &WindowQuality) -> Option<Estimate> {
        crate::monitoring::rules::quality_estimate(w, self.rule_name())
    }
}

/// The current windows to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Windows {
    #[default]
    Day,
    Week,
    Whole,
}

impl Windows {
    pub const ALL: [Windows; 3] = [Windows::Day, Windows::Week, Windows::Whole];
    pub fn title(self) -> &'static str {
        match self {
            Windows::Day => "per day",
            Windows::Week => "per ISO week",
            Windows::Whole => "whole log",
        }
    }
}

/// What the form holds (text as typed) and the last result.
#[derive(Default)]
pub struct MonitoringState {
    pub current: String,
    pub reference: String,
    pub reference_days: String,
    pub time: String,
    pub windows: Windows,
    pub exclude: String,
    /// Quality: the label, decision and version columns of the log (empty label: no quality).
    pub label: String,
    pub prediction: String,
    /// A score column for ROC AUC (optional).
    pub score: String,
    pub version: String,
    /// A separate label log joined by id (empty: the label column is in the log), its id column (the
    /// same name in both logs) and its labelled-at column (optional).
    pub labels: String,
    pub id: String,
    pub labelled_at: String,
    /// Alert rules on quality and drift, separated by ';'.
    pub rules: String,
    /// What fires, between analyses, and the rules' state after the last one (with notes on rules
    /// that could not be checked).
    pub tracker: crate::ops::monitoring_alerts::Tracker,
    pub statuses: Vec<crate::ops::monitoring_alerts::Status>,
    pub rule_notes: Vec<String>,
    pub metric: QualityMetric,
    /// The column whose distribution is shown, and in which window (None: the newest).
    pub column: Option<String>,
    /// The analysis in flight: its answer slot and its progress (cancel).
    pub running: Option<(Arc<Mutex<Option<Analysis>>>, Arc<Progress>)>,
    pub result: Option<Result<DriftReport, String>>,
    pub quality: Option<Result<QualityReport, String>>,
    /// What the shown result was computed from (the form as it was), to mark it stale when edited.
    pub computed_from: Option<String>,
    /// The sample's logs were put in the form once: an operator who empties the field keeps it empty.
    pub sample_offered: bool,
}

impl MonitoringState {
    /// The sample workspace's log and label log, with its first 7 days as the reference, per ISO week;
    /// `rules`: the profile's monitoring alerts (empty: the sample's rules with the sample's log, else
    /// Steward's defaults).
    pub fn with_defaults(sample_log: &std::path::Path, sample_labels: &std::path::Path, rules: &[String]) -> MonitoringState {
        let sample = sample_log.exists();
        let rules = match (rules.is_empty(), sample) {
            (true, true) => crate::config::sample::MONITORING_RULES.map(str::to_string).to_vec(),
            _ => crate::ops::monitoring_alerts::rules_or_default(rules),
        };
        MonitoringState {
            current: if sample { sample_log.display().to_string() } else { String::new() },
            labels: if sample && sample_labels.exists() { sample_labels.display().to_string() } else { String::new() },
            id: "request_id".into(),
            labelled_at: "labelled_at".into(),
            rules: rules.join("; "),
            reference_days: "7".into(),
            time: "timestamp".into(),
            exclude: "label, request_id".into(),
            label: "label".into(),
            prediction: "prediction".into(),
            score: "score".into(),
            version: "model_version".into(),
            windows: Windows::Week,
            sample_offered: sample,
            ..Default::default()
        }
    }

    /// The form as one line (for the stale mark).
    pub fn fingerprint(&self) -> String {
        let f = [
            &self.current,
            &self.reference,
            &self.reference_days,
            &self.time,
            &self.exclude,
            &self.label,
            &self.prediction,
            &self.score,
            &self.version,
            &self.labels,
            &self.id,
            &self.labelled_at,
            &self.rules,
        ];
        format!("{}|{:?}", f.map(|s| s.as_str()).join("|"), self.windows)
    }

    /// Starts the analysis on its own thread; `repaint` wakes the window when it is done.
    pub fn start(&mut self, repaint: impl Fn() + Send + 'static) {
        let list = |s: &str| s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect::<Vec<_>>();
        let reference_days = match self.reference_days.trim() {
            "" => None,
            d => match d.parse::<u32>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    self.result = Some(Err(format!("first days: '{d}' is not a whole number of days")));
                    return;
                }
            },
        };
        // A path or object URL, or a postgres:// / sc:// URL with ?table= (counted in that engine).
        let reference = Some(self.reference.trim()).filter(|r| !r.is_empty()).map(|r| LogRef::parse(r, &[]));
        let reference = match reference.transpose() {
            Ok(r) => r,
            Err(e) => {
                self.result = Some(Err(format!("reference: {e}")));
                return;
            }
        };
        let spec = DriftSpec {
            columns: Vec::new(),
            exclude: list(&self.exclude),
            categorical: Vec::new(),
            time: Some(self.time.trim()).filter(|t| !t.is_empty()).map(str::to_string),
            window: match self.windows {
                Windows::Day => Some(Window::Day),
                Windows::Week => Some(Window::Week),
                Windows::Whole => None,
            },
            reference_days: if reference.is_some() { None } else { reference_days },
        };
        let current = match LogRef::parse(self.current.trim(), &[]) {
            Ok(c) => c,
            Err(e) => {
                self.result = Some(Err(e));
                return;
            }
        };
        let column = |s: &str| Some(s.trim()).filter(|c| !c.is_empty()).map(str::to_string);
        let labels = |label: String| match (column(&self.labels), column(&self.id)) {
            (Some(path), Some(id)) => Labels::Join { path: path.into(), label_id: id.clone(), id, label, labelled_at: column(&self.labelled_at) },
            _ => Labels::InLog { label },
        };
        let quality_spec = column(&self.label).map(|label| QualitySpec {
            labels: labels(label),
            prediction: column(&self.prediction),
            score: column(&self.score),
            threshold: None,
            positive: "1".into(),
            time: spec.time.clone().unwrap_or_default(),
            window: if self.windows == Windows::Day { Window::Day } else { Window::Week },
            version: column(&self.version),
        });
        let slot = Arc::new(Mutex::new(None));
        let progress = Arc::new(Progress::new());
        let (s, p) = (slot.clone(), progress.clone());
        std::thread::spawn(move || {
            let r = crate::sources::drift(reference.as_ref(), &current, &spec, crate::config::DEFAULT_TIMEOUT, &p).map(|(r, _)| r).map_err(|e| e.to_string());
            let q = match (quality_spec, current.file()) {
                (Some(qs), Some(file)) if !p.cancelled() => Some(quality(file, &qs, &p).map_err(|e| e.to_string())),
                (Some(_), None) => Some(Err(format!("{current}: quality is computed from files only (drift was counted in the engine)"))),
                _ => None,
            };
            crate::diag::memory::release();
            if let Ok(mut g) = s.lock() {
                *g = Some((r, q));
            }
            repaint();
        });
        self.computed_from = Some(self.fingerprint());
        self.running = Some((slot, progress));
    }

    /// Picks up a finished analysis and checks the alert rules on it; returns the alerts that started
    /// or stopped firing (for the notifications and the audit log). `subject`: the model the log
    /// belongs to, if known.
    pub fn poll(&mut self, subject: Option<&str>) -> Vec<crate::serving::alerts::Transition> {
        let done = self.running.as_ref().and_then(|(slot, _)| slot.lock().ok().and_then(|mut g| g.take()));
        let Some((r, q)) = done else { return Vec::new() };
        self.result = Some(r);
        self.quality = q;
        self.running = None;
        let rules: Vec<String> = self.rules.split(';').map(str::trim).filter(|r| !r.is_empty()).map(str::to_string).collect();
        // The file's name, or a SQL log's name (its URL without credentials, and the table).
        let log = LogRef::parse(self.current.trim(), &[]).map(|l| l.short()).unwrap_or_default();
        let quality = self.quality.as_ref().and_then(|q| q.as_ref().ok());
        let drift = self.result.as_ref().and_then(|d| d.as_ref().ok());
        if quality.is_none() && drift.is_none() {
            return Vec::new();
        }
        (self.statuses, self.rule_notes) = crate::ops::monitoring_alerts::evaluate(&rules, quality, drift, subject.unwrap_or(&log), &log);
        self.tracker.update(&self.statuses, &log)
    }
}
