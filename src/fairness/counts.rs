//! The merged result of counting: confusion counts per (group combination, version, window), score
//! histograms per group combination, and what was skipped. Everything else is computed from this.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::{FairnessError, Location};
use super::plan::{LabelRule, Plan};
use super::rates::Confusion;
use super::tally::{Partial, Pos};
use super::values::BINS;

/// One cell of the count table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    /// One value per group column, in the order of the request.
    pub group: Vec<String>,
    pub version: Option<String>,
    /// Window index (days since 1970-01-01, or Monday-based weeks), when a time column was given.
    pub window: Option<i64>,
}

/// Score histogram of one group combination: rows per score bin (see `values::score_bin`), split by
/// actual label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hist {
    pub positives: Vec<u64>,
    pub negatives: Vec<u64>,
}

impl Default for Hist {
    fn default() -> Self {
        Hist { positives: vec![0; BINS], negatives: vec![0; BINS] }
    }
}

impl Hist {
    pub fn add(&mut self, o: &Hist) {
        for (a, b) in self.positives.iter_mut().zip(&o.positives) {
            *a += b;
        }
        for (a, b) in self.negatives.iter_mut().zip(&o.negatives) {
            *a += b;
        }
    }

    /// Confusion counts if positive means score >= k/100.
    pub fn at_step(&self, k: usize) -> Confusion {
        let above = |v: &[u64]| v.iter().skip(k + 1).sum::<u64>();
        let below = |v: &[u64]| v.iter().take(k + 1).sum::<u64>();
        Confusion {
            tp: above(&self.positives),
            fn_: below(&self.positives),
            fp: above(&self.negatives),
            tn: below(&self.negatives),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub group_columns: Vec<String>,
    pub cells: BTreeMap<CellKey, Confusion>,
    /// Only for score logs.
    pub hist: BTreeMap<Vec<String>, Hist>,
    /// Rows counted.
    pub rows: u64,
    /// Rows skipped as bad (only with --skip-bad-rows).
    pub skipped: u64,
    /// The first few skipped rows, as `FILE:LINE: column 'x': problem`.
    pub skipped_examples: Vec<String>,
    /// The label value counted as negative, when the positive one was given by name.
    pub negative_label: Option<String>,
}

/// Label values a file was read with.
#[derive(Clone, Debug, Serialize)]
pub struct LabelValues {
    pub positive: String,
    pub negative: Option<String>,
}

/// Merges the workers' partial counts. `locate` turns a position into a line or row group.
pub(crate) fn merge(
    plan: &Plan,
    partials: Vec<Partial>,
    locate: &dyn Fn(Pos) -> Option<Location>,
) -> Result<Counts, FairnessError> {
    // Label values: the first non-positive value in file order is the negative one; others are bad.
    let mut negative: Option<(Pos, Vec<u8>, String)> = None;
    let mut bad_first: BTreeMap<Vec<u8>, (Pos, String)> = BTreeMap::new();
    if let LabelRule::Positive(_) = plan.label {
        for s in partials.iter().flat_map(|p| &p.slots) {
            if negative.as_ref().is_none_or(|(p, _, _)| s.first < *p) {
                negative = Some((s.first, s.identity.clone(), s.shown.clone()));
            }
        }
        for s in partials.iter().flat_map(|p| &p.slots) {
            if negative.as_ref().is_some_and(|(_, id, _)| *id != s.identity) {
                let e = bad_first.entry(s.identity.clone()).or_insert((s.first, s.shown.clone()));
                if s.first < e.0 {
                    *e = (s.first, s.shown.clone());
                }
            }
        }
    }
    let label_col = plan.columns[plan.label_index()].as_str();
    let neg_shown = negative.as_ref().map(|n| n.2.clone()).unwrap_or_default();
    let positive = match &plan.label {
        LabelRule::Positive(w) => String::from_utf8_lossy(&w.text).into_owned(),
        LabelRule::Binary => String::new(),
    };
    let bad_label = |shown: &str| {
        format!(
            "label {shown} is a second value besides {neg_shown} that is not the positive label '{positive}'; labels must \
             be binary (--positive-label must be one of the values the column holds)"
        )
    };

    let mut errors: Vec<(Pos, Option<String>, String)> = Vec::new();
    for p in &partials {
        if let Some((pos, e)) = &p.error {
            errors.push((*pos, e.column.clone(), e.message.clone()));
        }
    }
    if !plan.skip_bad_rows {
        for (pos, shown) in bad_first.values() {
            errors.push((*pos, Some(label_col.to_string()), bad_label(shown)));
        }
    }
    if let Some((pos, column, message)) = errors.into_iter().min_by_key(|e| e.0) {
        return Err(FairnessError::input(&plan.file, locate(pos), column.as_deref(), message));
    }

    let mut counts = Counts {
        group_columns: plan.columns[..plan.n_groups].to_vec(),
        negative_label: negative.as_ref().map(|n| String::from_utf8_lossy(&n.1).into_owned()),
        ..Default::default()
    };
    let mut examples: Vec<(Pos, Option<String>, String)> = Vec::new();
    for p in partials {
        // Local slot -> counted as negative (true) or a bad row (false).
        let slot_ok: Vec<bool> = match plan.label {
            LabelRule::Binary => vec![true, true],
            LabelRule::Positive(_) => p
                .slots
                .iter()
                .map(|s| negative.as_ref().is_some_and(|(_, id, _)| *id == s.identity))
                .collect(),
        };
        let ok = |slot: usize| slot == 0 || slot_ok.get(slot - 1).copied().unwrap_or(false);
        for (group, version, window, c) in p.cells {
            let mut conf = Confusion { tp: c[1], fn_: c[0], ..Default::default() };
            for slot in 1..3 {
                let (neg, pos) = (c[slot * 2], c[slot * 2 + 1]);
                if ok(slot) {
                    conf.tn += neg;
                    conf.fp += pos;
                } else {
                    counts.skipped += neg + pos;
                }
            }
            if conf.count() == 0 {
                continue;
            }
            counts.rows += conf.count();
            let e = counts.cells.entry(CellKey { group, version, window }).or_default();
            *e = e.add(&conf);
        }
        for (group, h) in p.hist {
            let mut hist = Hist { positives: h[0].to_vec(), negatives: vec![0; BINS] };
            for (slot, bins) in h.iter().enumerate().skip(1) {
                if ok(slot) {
                    for (a, b) in hist.negatives.iter_mut().zip(bins.iter()) {
                        *a += b;
                    }
                }
            }
            counts.hist.entry(group).or_default().add(&hist);
        }
        counts.skipped += p.skipped;
        examples.extend(p.examples.into_iter().map(|(pos, e)| (pos, e.column, e.message)));
    }
    for (pos, shown) in bad_first.values() {
        examples.push((*pos, Some(label_col.to_string()), bad_label(shown)));
    }
    examples.sort_by_key(|e| e.0);
    counts.skipped_examples = examples
        .into_iter()
        .take(super::tally::EXAMPLES)
        .map(|(pos, column, message)| {
            FairnessError::input(&plan.file, locate(pos), column.as_deref(), message).to_string()
        })
        .collect();
    Ok(counts)
}
