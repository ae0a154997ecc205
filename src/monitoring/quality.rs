//! Model quality over time when labels arrive late: a prediction log joined by request id with a label
//! log (id, label, labelled-at), or a log that carries its label. Per model version and per window of
//! prediction time (UTC days or ISO weeks): rows, labelled rows and share, accuracy, precision, recall,
//! F1, and ROC AUC when a score exists, each with a 95% interval. Unlabelled rows are counted, never
//! guessed.
//!
//! Intervals (z = 1.959964):
//! - proportions (labelled share, accuracy, precision, recall): Wilson score interval
//!   (Wilson 1927; `crate::fairness::wilson`, as statsmodels' `proportion_confint(method="wilson")`);
//! - F1 = 2TP / (2TP + FP + FN): delta method over the multinomial cell shares, Var(F1) =
//!   sum_i g_i^2 p_i / n with g the gradient of F1 in (p_TP, p_FP, p_FN) (F1 is scale-free, so the
//!   covariance term vanishes), as in Takahashi, Yamamoto, Kuroda & Ohno (2022), "Confidence interval
//!   for micro-averaged F1 and macro-averaged F1 scores", Applied Intelligence 52; normal interval,
//!   clipped to [0, 1];
//! - ROC AUC: Hanley & McNeil (1982), "The meaning and use of the area under a ROC curve", Radiology
//!   143, standard error from Q1 = A/(2-A), Q2 = 2A^2/(1+A); normal interval, clipped to [0, 1].
//!   The AUC itself is the Mann-Whitney statistic with ties counted 1/2, which equals scikit-learn's
//!   `roc_auc_score` (trapezoids over the ROC curve).
//!
//! Join and memory: the label log is read first into a hash map by id (the smaller side, usually:
//! labels are a subset of predictions), at most [`MAX_LABELS`] ids; the prediction log then streams
//! through it (a CSV log in parallel, two workers sharing the map read-only, each marking the ids it
//! matched in its own bit set; JSON Lines and Parquet one row at a time, through the same counting code). A label log id seen twice keeps the label with the latest labelled-at (the later line
//! when equal or absent) and is counted as a duplicate; label ids that no prediction has are counted as
//! unknown; predictions whose id has no label are unlabelled. Scores are counted per distinct value per
//! (version, window), at most `drift::MAX_DISTINCT` (beyond: rounded to 6 significant digits, said so).


use super::FastMap;
use std::path::Path;

use serde::Serialize;

use super::quality_count::{self, Acc, LabelMap, Merged, QualityCounts, Roles};
use super::rows::{Rows, is_missing};
use super::scan::Log;
use crate::fairness::{FairnessError, Field, Progress, Window, Z95, date_string, iso_week_label, seconds, wilson, window_start_day};

/// Label ids held in memory for the join.
pub const MAX_LABELS: usize = 5_000_000;

/// Where the labels are.
#[derive(Debug, Clone)]
pub enum Labels {
    /// A column of the prediction log.
    InLog { label: String },
    /// A separate label log joined by id.
    Join { path: std::path::PathBuf, id: String, label_id: String, label: String, labelled_at: Option<String> },
}

#[derive(Debug, Clone)]
pub struct QualitySpec {
    pub labels: Labels,
    /// Decision column (values equal to `positive` are positive decisions); or a score and threshold.
    pub prediction: Option<String>,
    pub score: Option<String>,
    /// With only a score: positive iff score >= threshold.
    pub threshold: Option<f64>,
    /// The positive class as written in the label (and prediction) column ("1" also matches "1.0"/"true").
    pub positive: String,
    pub time: String,
    pub window: Window,
    pub version: Option<String>,
}

/// A value with its 95% interval.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowQuality {
    pub version: Option<String>,
    pub window: String,
    pub rows: u64,
    pub labelled: u64,
    pub labelled_share: Option<Estimate>,
    pub true_positives: u64,
    pub false_positives: u64,
    pub false_negatives: u64,
    pub true_negatives: u64,
    pub accuracy: Option<Estimate>,
    pub precision: Option<Estimate>,
    pub recall: Option<Estimate>,
    pub f1: Option<Estimate>,
    pub roc_auc: Option<Estimate>,
    pub scores_rounded: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct JoinCounts {
    pub label_rows: u64,
    pub duplicate_label_ids: u64,
    pub labels_for_unknown_ids: u64,
    pub predictions_without_label: u64,
    pub label_rows_without_id: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    pub predictions: String,
    pub labels: Option<String>,
    pub windows: Vec<WindowQuality>,
    pub join: Option<JoinCounts>,
    pub rows_without_time: u64,
    pub method: &'static str,
}

pub const METHOD: &str = "Wilson intervals for proportions; F1 by the delta method (Takahashi et al. 2022); ROC AUC by Hanley & McNeil (1982); 95%, z = 1.959964";

/// Is a label or decision cell the positive class ("1" also matches "1.0" and true)?
pub(super) fn is_positive(cell: &str, positive: &str) -> bool {
    let c = cell.trim();
    c == positive || (positive == "1" && matches!(c, "1.0" | "true" | "True" | "TRUE"))
}

/// Reads the logs and computes quality per (version, window).
pub fn quality(predictions: &Path, spec: &QualitySpec, progress: &Progress) -> Result<QualityReport, FairnessError> {
    if spec.prediction.is_none() && !(spec.score.is_some() && spec.threshold.is_some()) {
        return Err(FairnessError::usage("give the decision: --prediction COL, or --score COL with --threshold T"));
    }
    let mut join = None;
    let mut labels = LabelMap::default();
    if let Labels::Join { path, label_id, label, labelled_at, .. } = &spec.labels {
        let mut counts = JoinCounts::default();
        let mut rows = Rows::open(path, progress)?;
        let (i_id, i_label) = (rows.index(label_id)?, rows.index(label)?);
        let i_at = labelled_at.as_ref().map(|c| rows.index(c)).transpose()?;
        let mut cells = Vec::new();
        while rows.next_into(&mut cells)? {
            counts.label_rows += 1;
            let id = cells.get(i_id).map(String::as_str).unwrap_or("");
            if is_missing(id) {
                counts.label_rows_without_id += 1;
                continue;
            }
            let at = match i_at.and_then(|i| cells.get(i)).filter(|c| !is_missing(c)) {
                None => None,
                Some(c) => Some(seconds(&Field::Text(c.as_bytes())).map_err(|m| {
                    FairnessError::input(rows.file(), Some(rows.location()), labelled_at.as_deref(), m)
                })?),
            };
            let lab = cells.get(i_label).map(String::as_str).unwrap_or("");
            if is_missing(lab) {
                continue;
            }
            let value = (is_positive(lab, &spec.positive), at, labels.len() as u32);
            match labels.get_mut(id.as_bytes()) {
                Some(old) => {
                    counts.duplicate_label_ids += 1;
                    if at >= old.1 {
                        *old = (value.0, value.1, old.2);
                    }
                }
                None => {
                    if labels.len() >= MAX_LABELS {
                        return Err(FairnessError::input(rows.file(), Some(rows.location()), None, format!("more than {MAX_LABELS} label ids; split the label log by period")));
                    }
                    labels.insert(id.as_bytes().into(), value);
                }
            }
        }
        join = Some(counts);
    }

    let log = Log::open(predictions, progress)?;
    let roles = Roles {
        time: log.index(&spec.time)?,
        version: spec.version.as_ref().map(|c| log.index(c)).transpose()?,
        prediction: spec.prediction.as_ref().map(|c| log.index(c)).transpose()?,
        score: spec.score.as_ref().map(|c| log.index(c)).transpose()?,
        label: match &spec.labels {
            Labels::InLog { label } => Some(log.index(label)?),
            Labels::Join { .. } => None,
        },
        id: match &spec.labels {
            Labels::Join { id, .. } => Some(log.index(id)?),
            Labels::InLog { .. } => None,
        },
    };
    let parts = log.count(QualityCounts::new(spec, roles, &labels), progress)?;
    let Merged { acc, unmatched_labels, without_label, no_time } = quality_count::merge(parts, &labels);
    if let Some(j) = join.as_mut() {
        j.labels_for_unknown_ids = unmatched_labels;
        j.predictions_without_label = without_label;
    }
    let windows = acc.into_iter().map(|((version, w), a)| finish(version, window_label(w, spec.window), a)).collect();
    Ok(QualityReport {
        predictions: predictions.display().to_string(),
        labels: match &spec.labels {
            Labels::Join { path, .. } => Some(path.display().to_string()),
            Labels::InLog { .. } => None,
        },
        windows,
        join,
        rows_without_time: no_time,
        method: METHOD,
    })
}

fn window_label(w: i64, window: Window) -> String {
    match window {
        Window::Day => date_string(window_start_day(w, window)),
        Window::Week => iso_week_label(window_start_day(w, window)),
    }
}

fn proportion(k: u64, n: u64) -> Option<Estimate> {
    let (low, high) = wilson(k, n, Z95)?;
    Some(Estimate { value: k as f64 / n as f64, low, high })
}

fn finish(version: Option<String>, window: String, a: Acc) -> WindowQuality {
    let [tp, fp, fne, tn] = a.cm;
    let n = a.labelled;
    let f1 = (2 * tp + fp + fne > 0).then(|| {
        let nf = n as f64;
        let (pa, pb, pc) = (tp as f64 / nf, fp as f64 / nf, fne as f64 / nf);
        let s = 2.0 * pa + pb + pc;
        let value = 2.0 * pa / s;
        let (ga, gb) = (2.0 * (pb + pc) / (s * s), -2.0 * pa / (s * s));
        let var = (ga * ga * pa + gb * gb * pb + gb * gb * pc) / nf;
        let half = Z95 * var.sqrt();
        Estimate { value, low: (value - half).max(0.0), high: (value + half).min(1.0) }
    });
    WindowQuality {
        version,
        window,
        rows: a.rows,
        labelled: n,
        labelled_share: proportion(n, a.rows),
        true_positives: tp,
        false_positives: fp,
        false_negatives: fne,
        true_negatives: tn,
        accuracy: proportion(tp + tn, n),
        precision: proportion(tp, tp + fp),
        recall: proportion(tp, tp + fne),
        f1,
        roc_auc: auc(&a.scores),
        scores_rounded: a.rounded,
    }
}

/// Mann-Whitney AUC with ties 1/2 and its Hanley-McNeil interval; `None` without both classes.
fn auc(scores: &FastMap<u64, (u64, u64)>) -> Option<Estimate> {
    let mut v: Vec<(f64, u64, u64)> = scores.iter().map(|(k, c)| (f64::from_bits(*k), c.0, c.1)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (np, nn): (u64, u64) = v.iter().fold((0, 0), |a, x| (a.0 + x.1, a.1 + x.2));
    if np == 0 || nn == 0 {
        return None;
    }
    // Sum over positives of (negatives below + half the negatives tied).
    let mut below = 0u64;
    let mut u = 0.0f64;
    for (_, p, n) in &v {
        u += *p as f64 * (below as f64 + *n as f64 / 2.0);
        below += n;
    }
    let a = u / (np as f64 * nn as f64);
    let (q1, q2) = (a / (2.0 - a), 2.0 * a * a / (1.0 + a));
    let (n1, n2) = (np as f64, nn as f64);
    let var = (a * (1.0 - a) + (n1 - 1.0) * (q1 - a * a) + (n2 - 1.0) * (q2 - a * a)) / (n1 * n2);
    let half = Z95 * var.max(0.0).sqrt();
    Some(Estimate { value: a, low: (a - half).max(0.0), high: (a + half).min(1.0) })
}
