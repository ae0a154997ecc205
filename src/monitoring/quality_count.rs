//! The quality engine's counting sink: per (model version, window) the rows, labelled rows, the
//! confusion counts and the labelled rows per distinct score (for ROC AUC).

use std::collections::BTreeMap;

use super::FastMap;
use super::drift::MAX_DISTINCT;
use super::quality::{QualitySpec, is_positive};
use super::rows::is_missing;
use super::scan::{Cells, Dict, RowFail, Sink, same_bytes, text};
use crate::fairness::{Field, seconds, window_index};

/// The label log held for the join: id -> (positive, labelled-at, index into the matched bits).
pub(super) type LabelMap = FastMap<Box<[u8]>, (bool, Option<i64>, u32)>;

/// One (version, window).
#[derive(Default, Clone)]
pub(super) struct Acc {
    pub rows: u64,
    pub labelled: u64,
    /// tp, fp, fn, tn
    pub cm: [u64; 4],
    /// Score bits -> (positives, negatives); at most MAX_DISTINCT, then rounded to 6 digits.
    pub scores: FastMap<u64, (u64, u64)>,
    pub rounded: bool,
    /// While the sink's score values are few: (positives, negatives) by score id, moved into `scores`
    /// at the end.
    dense: Vec<(u32, u32)>,
}

impl Acc {
    fn add_score(&mut self, s: f64, pos: u64, neg: u64) {
        let s = if s == 0.0 { 0.0 } else { s };
        if !self.rounded && self.scores.len() >= MAX_DISTINCT && !self.scores.contains_key(&s.to_bits()) {
            self.round_all();
        }
        let s = if self.rounded { round6(s) } else { s };
        let e = self.scores.entry(s.to_bits()).or_default();
        e.0 += pos;
        e.1 += neg;
    }

    /// Scores from now on, and those held, rounded to 6 significant digits.
    fn round_all(&mut self) {
        self.rounded = true;
        for (k, v) in std::mem::take(&mut self.scores) {
            let e = self.scores.entry(round6(f64::from_bits(k)).to_bits()).or_default();
            e.0 += v.0;
            e.1 += v.1;
        }
    }

    /// Moves the counts by score id into `scores`.
    fn flush(&mut self, values: &[f64]) {
        for (id, (p, n)) in std::mem::take(&mut self.dense).into_iter().enumerate() {
            if p + n > 0
                && let Some(s) = values.get(id).filter(|s| !s.is_nan())
            {
                self.add_score(*s, u64::from(p), u64::from(n));
            }
        }
    }

    fn merge(&mut self, o: Acc) {
        self.rows += o.rows;
        self.labelled += o.labelled;
        for (a, b) in self.cm.iter_mut().zip(o.cm) {
            *a += b;
        }
        if o.rounded && !self.rounded && !self.scores.is_empty() {
            // Round what this side holds first, so both sides are counted alike.
            self.round_all();
        }
        self.rounded |= o.rounded;
        for (k, (p, n)) in o.scores {
            self.add_score(f64::from_bits(k), p, n);
        }
    }
}

pub(super) fn round6(x: f64) -> f64 {
    format!("{x:.5e}").parse().unwrap_or(x)
}

/// Where each role is in the prediction log.
#[derive(Clone, Copy)]
pub(super) struct Roles {
    pub time: usize,
    pub version: Option<usize>,
    pub prediction: Option<usize>,
    pub score: Option<usize>,
    pub label: Option<usize>,
    pub id: Option<usize>,
}

/// Distinct score cells counted by id per (version, window) before going over to a map by value.
pub const SCORE_IDS: usize = 1 << 16;

/// Counts of one reading (one worker's share of a CSV log, or a whole row-at-a-time log).
#[derive(Clone)]
pub(super) struct QualityCounts<'a> {
    spec: &'a QualitySpec,
    roles: Roles,
    labels: &'a LabelMap,
    /// One bit per label id: a prediction had it.
    matched: Vec<u64>,
    pub without_label: u64,
    pub no_time: u64,
    versions: Dict,
    /// Label and decision cells, each classified once: missing (None) or positive.
    labels_seen: Dict,
    label_class: Vec<Option<bool>>,
    decisions_seen: Dict,
    decision_class: Vec<bool>,
    /// Score cells, each parsed once (NaN: missing); counted by id while at most SCORE_IDS.
    scores_seen: Dict,
    score_value: Vec<f64>,
    dense: bool,
    /// Per (version id, window): its Acc in `accs`; `recent` holds each version's last window and
    /// Acc (by version id + 1, 0 without versions), so most rows skip the map.
    index: FastMap<(u32, i64), usize>,
    accs: Vec<((u32, i64), Acc)>,
    recent: Vec<(i64, usize)>,
    last_time: Vec<u8>,
    last_window: i64,
}

impl<'a> QualityCounts<'a> {
    pub fn new(spec: &'a QualitySpec, roles: Roles, labels: &'a LabelMap) -> QualityCounts<'a> {
        QualityCounts {
            spec,
            roles,
            labels,
            matched: vec![0; labels.len().div_ceil(64)],
            without_label: 0,
            no_time: 0,
            versions: Dict::default(),
            labels_seen: Dict::default(),
            label_class: Vec::new(),
            decisions_seen: Dict::default(),
            decision_class: Vec::new(),
            scores_seen: Dict::default(),
            score_value: Vec::new(),
            dense: true,
            index: FastMap::default(),
            accs: Vec::new(),
            recent: Vec::new(),
            last_time: Vec::new(),
            last_window: 0,
        }
    }
}

impl Sink for QualityCounts<'_> {
    fn row<C: Cells + ?Sized>(&mut self, cells: &C) -> Result<(), RowFail> {
        let spec = self.spec;
        let r = self.roles;
        let time = cells.cell(r.time);
        let window = if !time.is_empty() && same_bytes(time, &self.last_time) {
            self.last_window
        } else {
            if is_missing(text(time, &spec.time)?) {
                self.no_time += 1;
                return Ok(());
            }
            let secs = seconds(&Field::Text(time)).map_err(|m| RowFail::new(Some(&spec.time), m))?;
            self.last_window = window_index(secs, spec.window);
            self.last_time.clear();
            self.last_time.extend_from_slice(time);
            self.last_window
        };
        let version = match r.version {
            None => u32::MAX,
            Some(i) => {
                let (cell, word) = cells.cell_word(i);
                self.versions.get_word(cell, word).ok_or_else(|| RowFail::new(spec.version.as_deref(), "not UTF-8 text"))?
            }
        };
        let label = match (r.label, r.id) {
            (Some(i), _) => {
                let (cell, word) = cells.cell_word(i);
                let name = match &spec.labels {
                    super::quality::Labels::InLog { label } => label.as_str(),
                    _ => "",
                };
                let id = self.labels_seen.get_word(cell, word).ok_or_else(|| RowFail::new(Some(name), "not UTF-8 text"))? as usize;
                if id == self.label_class.len() {
                    let c = text(cell, name)?;
                    self.label_class.push((!is_missing(c)).then(|| is_positive(c, &spec.positive)));
                }
                self.label_class[id]
            }
            (_, Some(i)) => match self.labels.get(cells.cell(i)) {
                Some(&(positive, _, index)) => {
                    if let Some(w) = self.matched.get_mut(index as usize / 64) {
                        *w |= 1 << (index % 64);
                    }
                    Some(positive)
                }
                None => {
                    self.without_label += 1;
                    None
                }
            },
            _ => None,
        };
        let score_name = spec.score.as_deref().unwrap_or("");
        let score = match r.score {
            Some(i) => {
                let (cell, word) = cells.cell_word(i);
                let id = self.scores_seen.get_word(cell, word).ok_or_else(|| RowFail::new(Some(score_name), "not UTF-8 text"))?;
                if id as usize == self.score_value.len() {
                    let c = text(cell, score_name)?;
                    let value = if is_missing(c) {
                        None
                    } else {
                        let s = c.trim().parse::<f64>().ok().filter(|x| x.is_finite());
                        Some(s.ok_or_else(|| RowFail::new(Some(score_name), format!("score '{c}' is not a number")))?)
                    };
                    self.score_value.push(value.unwrap_or(f64::NAN));
                    if self.dense && self.score_value.len() > SCORE_IDS {
                        self.dense = false;
                        for (_, a) in &mut self.accs {
                            a.flush(&self.score_value);
                        }
                    }
                }
                Some(self.score_value[id as usize]).filter(|s| !s.is_nan()).map(|s| (id, s))
            }
            None => None,
        };
        let v = if version == u32::MAX { 0 } else { version as usize + 1 };
        let at = match self.recent.get(v) {
            Some(&(w, i)) if w == window => i,
            _ => {
                let next = self.accs.len();
                let i = *self.index.entry((version, window)).or_insert(next);
                if i == next {
                    self.accs.push(((version, window), Acc::default()));
                }
                if self.recent.len() <= v {
                    self.recent.resize(v + 1, (i64::MIN, 0));
                }
                self.recent[v] = (window, i);
                i
            }
        };
        let a = &mut self.accs[at].1;
        a.rows += 1;
        let Some(y) = label else { return Ok(()) };
        a.labelled += 1;
        let decision = match (r.prediction, score, spec.threshold) {
            (Some(i), _, _) => {
                let (cell, word) = cells.cell_word(i);
                let name = spec.prediction.as_deref().unwrap_or("");
                let id = self.decisions_seen.get_word(cell, word).ok_or_else(|| RowFail::new(Some(name), "not UTF-8 text"))? as usize;
                if id == self.decision_class.len() {
                    self.decision_class.push(is_positive(text(cell, name)?, &spec.positive));
                }
                self.decision_class[id]
            }
            (None, Some((_, s)), Some(t)) => s >= t,
            _ => return Err(RowFail::new(Some(score_name), "missing score: no decision")),
        };
        a.cm[match (decision, y) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 3,
        }] += 1;
        match score {
            Some((id, _)) if self.dense => {
                if a.dense.len() <= id as usize {
                    a.dense.resize(self.score_value.len(), (0, 0));
                }
                let e = &mut a.dense[id as usize];
                let c = if y { &mut e.0 } else { &mut e.1 };
                *c += 1;
                if *c == u32::MAX {
                    // Cold: a count this large goes to the map before it could wrap.
                    a.flush(&self.score_value);
                }
            }
            Some((_, s)) => a.add_score(s, u64::from(y), u64::from(!y)),
            None => {}
        }
        Ok(())
    }
}

/// What the readings add up to: per (version, window) in order, label ids no prediction had, and the
/// counts of unlabelled and undated predictions.
pub(super) struct Merged {
    pub acc: BTreeMap<(Option<String>, i64), Acc>,
    pub unmatched_labels: u64,
    pub without_label: u64,
    pub no_time: u64,
}

pub(super) fn merge(parts: Vec<QualityCounts<'_>>, labels: &LabelMap) -> Merged {
    let mut m = Merged { acc: BTreeMap::new(), unmatched_labels: 0, without_label: 0, no_time: 0 };
    let mut matched = vec![0u64; labels.len().div_ceil(64)];
    for part in parts {
        m.without_label += part.without_label;
        m.no_time += part.no_time;
        for (a, b) in matched.iter_mut().zip(&part.matched) {
            *a |= b;
        }
        for ((v, w), mut acc) in part.accs {
            acc.flush(&part.score_value);
            let version = (v != u32::MAX).then(|| part.versions.name(v).to_string());
            match m.acc.get_mut(&(version.clone(), w)) {
                Some(old) => old.merge(acc),
                None => {
                    m.acc.insert((version, w), acc);
                }
            }
        }
    }
    let matched_count: u64 = matched.iter().map(|w| u64::from(w.count_ones())).sum();
    m.unmatched_labels = labels.len() as u64 - matched_count;
    m
}
