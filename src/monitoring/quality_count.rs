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

/// Distinct score cells counted by id per (version, window) before going over to a map by value;
/// past it, each score cell is parsed where it is read and nothing is interned (scores written at full
/// precision are often all distinct).
pub const SCORE_IDS: usize = 1 << 16;
/// Distinct label or decision cells classified once each; past it, each cell is classified where it
/// is read.
pub const CLASS_IDS: usize = 4096;
/// Count slots (8 bytes each) by score id over every (version, window) of a worker: 32 MiB. Past it,
/// scores are counted by value.
pub const SCORE_SLOTS: usize = 4 << 20;
/// Distinct model versions in one log (the counts are kept per version and window).
pub const MAX_VERSIONS: usize = 10_000;

/// A row's score: its id while scores are counted by id, else its value.
#[derive(Clone, Copy)]
enum Score {
    Id(u32),
    Value(f64),
}

/// A score cell's value: None when missing; an error when it is not a finite number.
fn parse_score(cell: &[u8], name: &str) -> Result<Option<f64>, RowFail> {
    let c = text(cell, name)?;
    if is_missing(c) {
        return Ok(None);
    }
    let s = c.trim().parse::<f64>().ok().filter(|x| x.is_finite());
    Ok(Some(s.ok_or_else(|| RowFail::new(Some(name), format!("score '{c}' is not a number")))?))
}

/// `f` of a cell's text, computed once per distinct cell while there are at most [`CLASS_IDS`], then
/// per row (memory stays bounded whatever the column holds).
fn classify<T: Copy>(seen: &mut Dict, class: &mut Vec<T>, cell: &[u8], word: u64, name: &str, f: impl Fn(&str) -> T) -> Result<T, RowFail> {
    if class.len() >= CLASS_IDS {
        return Ok(f(text(cell, name)?));
    }
    let id = seen.get_word(cell, word).ok_or_else(|| RowFail::new(Some(name), "not UTF-8 text"))? as usize;
    if id == class.len() {
        class.push(f(text(cell, name)?));
    }
    Ok(class[id])
}

impl QualityCounts<'_> {
    /// The score of column `i` (None: missing).
    fn score<C: Cells + ?Sized>(&mut self, cells: &C, i: usize, name: &str) -> Result<Option<Score>, RowFail> {
        let (cell, word) = cells.cell_word(i);
        if !self.dense {
            return Ok(parse_score(cell, name)?.map(Score::Value));
        }
        let id = self.scores_seen.get_word(cell, word).ok_or_else(|| RowFail::new(Some(name), "not UTF-8 text"))?;
        if id as usize == self.score_value.len() {
            let value = parse_score(cell, name)?;
            if self.score_value.len() >= SCORE_IDS {
                self.to_values();
                return Ok(value.map(Score::Value));
            }
            if id % 64 == 0 {
                self.score_missing.push(0);
            }
            if value.is_none() {
                self.score_missing[id as usize / 64] |= 1 << (id % 64);
            }
            self.score_value.push(value.unwrap_or(f64::NAN));
        }
        Ok((self.score_missing[id as usize / 64] & 1 << (id % 64) == 0).then_some(Score::Id(id)))
    }

    /// Too many distinct scores, or too many count slots, to count by id: the counts so far go to the
    /// maps by value, and the interning is dropped.
    fn to_values(&mut self) {
        self.dense = false;
        for (_, a) in &mut self.accs {
            a.flush(&self.score_value);
        }
        self.scores_seen = Dict::default();
        self.score_value = Vec::new();
        self.score_missing = Vec::new();
        self.dense_slots = 0;
    }

}

/// A score's value (`values`: by id).
fn value(values: &[f64], s: Score) -> f64 {
    match s {
        Score::Id(id) => values[id as usize],
        Score::Value(v) => v,
    }
}

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
    /// One bit per score id: missing. Small enough to stay in the first-level cache, so a row whose
    /// value is not needed (a decision column given, counts by id) never loads `score_value`.
    score_missing: Vec<u64>,
    dense: bool,
    /// Slots of every Acc's counts by id.
    dense_slots: usize,
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
            score_missing: Vec::new(),
            dense: true,
            dense_slots: 0,
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
                let id = self.versions.get_word(cell, word).ok_or_else(|| RowFail::new(spec.version.as_deref(), "not UTF-8 text"))?;
                if id as usize >= MAX_VERSIONS {
                    return Err(RowFail::new(spec.version.as_deref(), format!("more than {MAX_VERSIONS} distinct model versions: is this the version column?")));
                }
                id
            }
        };
        let label = match (r.label, r.id) {
            (Some(i), _) => {
                let (cell, word) = cells.cell_word(i);
                let name = match &spec.labels {
                    super::quality::Labels::InLog { label } => label.as_str(),
                    _ => "",
                };
                classify(&mut self.labels_seen, &mut self.label_class, cell, word, name, |c| (!is_missing(c)).then(|| is_positive(c, &spec.positive)))?
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
            Some(i) => self.score(cells, i, score_name)?,
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
                classify(&mut self.decisions_seen, &mut self.decision_class, cell, word, name, |c| is_positive(c, &spec.positive))?
            }
            (None, Some(sc), Some(t)) => value(&self.score_value, sc) >= t,
            _ => return Err(RowFail::new(Some(score_name), "missing score: no decision")),
        };
        a.cm[match (decision, y) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 3,
        }] += 1;
        match score {
            Some(Score::Id(id)) => {
                if a.dense.len() <= id as usize {
                    self.dense_slots += self.score_value.len() - a.dense.len();
                    if self.dense_slots > SCORE_SLOTS {
                        let s = self.score_value[id as usize];
                        self.to_values();
                        self.accs[at].1.add_score(s, u64::from(y), u64::from(!y));
                        return Ok(());
                    }
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
            Some(Score::Value(s)) => a.add_score(s, u64::from(y), u64::from(!y)),
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
