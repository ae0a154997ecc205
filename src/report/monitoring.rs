//! The report's "Quality and drift" section: quality per version and ISO week of prediction time
//! (`steward quality`'s engine; the model's `label_log` tag, when set, is joined by `request_id`), and
//! each week's drift against the log's first 7 days (`steward drift`'s engine), for the weeks that
//! overlap the report's period.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::RegisteredModel;
use crate::fairness::{Decision, Progress, Spec, Window};
use crate::monitoring::drift::{DriftSpec, drift, format_stat};
use crate::monitoring::quality::{Estimate, Labels, QualitySpec, quality};
use crate::monitoring::rules::window_start;

/// Days of the log's start used as the drift reference.
pub const REFERENCE_DAYS: u32 = 7;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitoringPart {
    /// Where the labels came from: the log's label column, or a label log joined by id.
    pub labels: String,
    /// How the intervals are computed, and the drift verdict's rule.
    pub method: String,
    pub drift_reference: String,
    pub drift_rule: String,
    pub quality: Vec<QualityRow>,
    pub drift: Vec<DriftRow>,
    /// What could not be computed, and why.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityRow {
    pub version: Option<String>,
    /// ISO week (`2026-W44`).
    pub window: String,
    pub rows: u64,
    pub labelled: u64,
    /// 95% Wilson interval.
    pub accuracy: Option<Estimate>,
    /// Hanley-McNeil interval; when the decision is a score, or the log has a `score` column.
    pub roc_auc: Option<Estimate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRow {
    pub window: String,
    pub rows: u64,
    pub drifted_columns: usize,
    pub columns: usize,
    /// The most severe columns: "score 0.7188 DRIFT".
    pub top: Vec<String>,
}

/// Whether an ISO-week label overlaps [since, until].
fn in_period(label: &str, since: Option<DateTime<Utc>>, until: DateTime<Utc>) -> bool {
    let Some(start) = window_start(label).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()) else { return false };
    start <= until && since.is_none_or(|s| start + chrono::Duration::days(7) > s)
}

/// Computes the part (blocking: reads the log twice). `spec` is the fairness engine's reading of the
/// log's columns (label, decision, time, version); without a time column there is nothing by week.
pub fn part(log: &Path, spec: &Spec, model: &RegisteredModel, since: Option<DateTime<Utc>>, until: DateTime<Utc>) -> MonitoringPart {
    let mut out = MonitoringPart {
        labels: format!("the log's column '{}'", spec.label),
        method: String::new(),
        drift_reference: format!("the log's first {REFERENCE_DAYS} days"),
        drift_rule: String::new(),
        quality: Vec::new(),
        drift: Vec::new(),
        notes: Vec::new(),
    };
    let Some(time) = spec.time.clone() else {
        out.notes.push("the log has no time column: quality and drift over time were not computed".into());
        return out;
    };
    let columns = crate::fairness::columns(log).map(|c| c.0).unwrap_or_default();
    let labels = match model.tags.get("label_log") {
        Some(path) if columns.iter().any(|c| c == "request_id") => {
            out.labels = format!("label log {path} joined by request_id (tag label_log)");
            Labels::Join { path: path.into(), id: "request_id".into(), label_id: "request_id".into(), label: spec.label.clone(), labelled_at: None }
        }
        _ => Labels::InLog { label: spec.label.clone() },
    };
    let (prediction, score, threshold) = match &spec.decision {
        // A column named `score` beside the decision gives ROC AUC.
        Decision::Prediction { column, .. } => (Some(column.clone()), columns.iter().find(|c| c.as_str() == "score").cloned(), None),
        Decision::Score { column, threshold } => (None, Some(column.clone()), Some(*threshold)),
    };
    let positive = spec.positive_label.clone().unwrap_or_else(|| "1".into());
    let qs = QualitySpec { labels, prediction, score, threshold, positive, time: time.clone(), window: Window::Week, version: spec.version.clone() };
    match quality(log, &qs, &Progress::new()) {
        Ok(q) => {
            out.method = q.method.to_string();
            out.quality = q
                .windows
                .into_iter()
                .filter(|w| in_period(&w.window, since, until))
                .map(|w| QualityRow { version: w.version, window: w.window, rows: w.rows, labelled: w.labelled, accuracy: w.accuracy, roc_auc: w.roc_auc })
                .collect();
        }
        Err(e) => out.notes.push(format!("quality: {e}")),
    }
    let mut exclude = vec![spec.label.clone()];
    exclude.extend(columns.iter().filter(|c| c.as_str() == "request_id").cloned());
    let ds = DriftSpec { columns: Vec::new(), exclude, categorical: Vec::new(), time: Some(time), window: Some(Window::Week), reference_days: Some(REFERENCE_DAYS) };
    match drift(None, log, &ds, &Progress::new()) {
        Ok(d) => {
            out.drift_rule = d.rule.clone();
            out.drift = d
                .windows
                .iter()
                .filter(|w| in_period(&w.label, since, until))
                .map(|w| DriftRow {
                    window: w.label.clone(),
                    rows: w.rows,
                    drifted_columns: w.drifted_columns,
                    columns: w.columns.len(),
                    top: w.columns.iter().take(3).map(|c| format!("{} {} {}", c.column, format_stat(c.effect), c.verdict_word())).collect(),
                })
                .collect();
        }
        Err(e) => out.notes.push(format!("drift: {e}")),
    }
    out
}
