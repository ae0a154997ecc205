//! Across-group numbers: Fairlearn MetricFrame's group_min/group_max/difference/ratio (both methods),
//! its disparity functions, and the reference-group comparison with four-fifths flags.

use std::collections::BTreeMap;

use serde::Serialize;

use super::rates::{Confusion, Metric};

/// What the across-group summaries are computed on: Fairlearn's `count` and the rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Summarized {
    Count,
    Rate(Metric),
}

impl Summarized {
    pub fn all() -> Vec<Summarized> {
        std::iter::once(Summarized::Count).chain(Metric::ALL.iter().map(|m| Summarized::Rate(*m))).collect()
    }
    pub fn name(self) -> &'static str {
        match self {
            Summarized::Count => "count",
            Summarized::Rate(m) => m.name(),
        }
    }
    /// The value used across groups: NaN when undefined (skipped, as pandas skips NaN), or Fairlearn's
    /// 0.0 in compatibility mode.
    pub fn value(self, c: &Confusion, compat: bool) -> f64 {
        match self {
            Summarized::Count => c.count() as f64,
            Summarized::Rate(m) => match c.rate(m) {
                Some(v) => v,
                None if compat => 0.0,
                None => f64::NAN,
            },
        }
    }
}

/// One metric across groups, as Fairlearn's MetricFrame computes it.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct MetricSummary {
    pub group_min: Option<f64>,
    pub group_max: Option<f64>,
    pub difference_between_groups: Option<f64>,
    pub ratio_between_groups: Option<f64>,
    pub difference_to_overall: Option<f64>,
    pub ratio_to_overall: Option<f64>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn nan_min(it: impl Iterator<Item = f64>) -> f64 {
    it.filter(|v| !v.is_nan()).fold(f64::NAN, |a, b| if a.is_nan() || b < a { b } else { a })
}

fn nan_max(it: impl Iterator<Item = f64>) -> f64 {
    it.filter(|v| !v.is_nan()).fold(f64::NAN, |a, b| if a.is_nan() || b > a { b } else { a })
}

/// Summary of per-group values `v` against the overall value `o` (NaN = undefined, skipped).
pub fn summarize(v: &[f64], o: f64) -> MetricSummary {
    let (lo, hi) = (nan_min(v.iter().copied()), nan_max(v.iter().copied()));
    let diff_overall = nan_max(v.iter().map(|x| (x - o).abs()));
    let ratio_overall = nan_min(v.iter().map(|x| {
        let r = x / o;
        if r > 1.0 { 1.0 / r } else { r }
    }));
    MetricSummary {
        group_min: finite(lo),
        group_max: finite(hi),
        difference_between_groups: finite(hi - lo),
        ratio_between_groups: finite(lo / hi),
        difference_to_overall: finite(diff_overall),
        ratio_to_overall: finite(ratio_overall),
    }
}

/// Fairlearn's disparity functions (agg='worst_case' unless named _agg_mean).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Disparities {
    pub demographic_parity_difference: Option<f64>,
    pub demographic_parity_ratio: Option<f64>,
    pub equalized_odds_difference: Option<f64>,
    pub equalized_odds_ratio: Option<f64>,
    pub equalized_odds_difference_agg_mean: Option<f64>,
    pub equalized_odds_ratio_agg_mean: Option<f64>,
    pub equal_opportunity_difference: Option<f64>,
    pub equal_opportunity_ratio: Option<f64>,
    pub demographic_parity_difference_to_overall: Option<f64>,
    pub demographic_parity_ratio_to_overall: Option<f64>,
    pub equalized_odds_difference_to_overall: Option<f64>,
    pub equalized_odds_ratio_to_overall: Option<f64>,
    pub equal_opportunity_difference_to_overall: Option<f64>,
    pub equal_opportunity_ratio_to_overall: Option<f64>,
}

fn worst_max(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    finite(nan_max([a, b].into_iter().map(|x| x.unwrap_or(f64::NAN))))
}

fn worst_min(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    finite(nan_min([a, b].into_iter().map(|x| x.unwrap_or(f64::NAN))))
}

fn mean(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some((a + b) / 2.0),
        (x, None) | (None, x) => x,
    }
}

/// Fairlearn 0.15's worst case over [TPR, FPR] is Python's builtin `min`/`max` over that Series: when the
/// TPR value (the first) is NaN the answer is NaN, whatever the FPR value. `--fairlearn-compat` gives that;
/// the default takes the defined one (pandas' NaN-skipping), documented in the README.
fn worst(compat: bool, tpr: Option<f64>, fpr: Option<f64>, pick: fn(Option<f64>, Option<f64>) -> Option<f64>) -> Option<f64> {
    if compat && tpr.is_none() { None } else { pick(tpr, fpr) }
}

pub fn disparities(s: &BTreeMap<&'static str, MetricSummary>, compat: bool) -> Disparities {
    let get = |m: Metric| s.get(m.name()).copied().unwrap_or_default();
    let (sr, tpr, fpr) = (get(Metric::SelectionRate), get(Metric::TruePositiveRate), get(Metric::FalsePositiveRate));
    Disparities {
        demographic_parity_difference: sr.difference_between_groups,
        demographic_parity_ratio: sr.ratio_between_groups,
        equalized_odds_difference: worst(compat, tpr.difference_between_groups, fpr.difference_between_groups, worst_max),
        equalized_odds_ratio: worst(compat, tpr.ratio_between_groups, fpr.ratio_between_groups, worst_min),
        equalized_odds_difference_agg_mean: mean(tpr.difference_between_groups, fpr.difference_between_groups),
        equalized_odds_ratio_agg_mean: mean(tpr.ratio_between_groups, fpr.ratio_between_groups),
        equal_opportunity_difference: tpr.difference_between_groups,
        equal_opportunity_ratio: tpr.ratio_between_groups,
        demographic_parity_difference_to_overall: sr.difference_to_overall,
        demographic_parity_ratio_to_overall: sr.ratio_to_overall,
        equalized_odds_difference_to_overall: worst(compat, tpr.difference_to_overall, fpr.difference_to_overall, worst_max),
        equalized_odds_ratio_to_overall: worst(compat, tpr.ratio_to_overall, fpr.ratio_to_overall, worst_min),
        equal_opportunity_difference_to_overall: tpr.difference_to_overall,
        equal_opportunity_ratio_to_overall: tpr.ratio_to_overall,
    }
}

/// Rates compared with the reference group and checked against the four-fifths bounds.
pub const FLAGGED_METRICS: [Metric; 5] = [
    Metric::SelectionRate,
    Metric::TruePositiveRate,
    Metric::FalsePositiveRate,
    Metric::FalseNegativeRate,
    Metric::Precision,
];

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ToReference {
    pub difference: Option<f64>,
    pub ratio: Option<f64>,
    /// True when the ratio is outside the bounds (also when the reference's rate is 0 and this group's is
    /// not: an infinite ratio); null when it cannot be judged (both 0, or a rate undefined).
    pub outside_bounds: Option<bool>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReferenceRow {
    pub key: String,
    pub metrics: BTreeMap<&'static str, ToReference>,
    /// The four-fifths rule proper: selection rate ratio outside the bounds.
    pub flagged: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Reference {
    /// Key of the reference group ('Male', 'Male|White'); null when the section has no groups.
    pub key: Option<String>,
    /// "largest" (default) or "given" (--reference).
    pub chosen: &'static str,
    pub bounds: [f64; 2],
    pub groups: Vec<ReferenceRow>,
    /// Keys of groups whose selection rate ratio is outside the bounds.
    pub flagged: Vec<String>,
}

/// Compares every group with the group at `reference` (an index into `groups`).
pub fn reference(
    groups: &[(String, Confusion)],
    reference: Option<usize>,
    chosen: &'static str,
    bounds: (f64, f64),
    compat: bool,
) -> Reference {
    let mut out = Reference {
        key: None,
        chosen,
        bounds: [bounds.0, bounds.1],
        groups: Vec::new(),
        flagged: Vec::new(),
    };
    let Some(r) = reference.and_then(|i| groups.get(i)) else {
        return out;
    };
    out.key = Some(r.0.clone());
    for (key, c) in groups {
        let mut metrics = BTreeMap::new();
        for m in FLAGGED_METRICS {
            let v = Summarized::Rate(m).value(c, compat);
            let rv = Summarized::Rate(m).value(&r.1, compat);
            let ratio = finite(v / rv);
            // Against a reference at 0, any positive rate is outside every bound (the ratio is infinite);
            // only when both are 0 can the rule not judge.
            let outside_bounds = match ratio {
                Some(x) => Some(x < bounds.0 || x > bounds.1),
                None if rv == 0.0 && v > 0.0 => Some(true),
                None => None,
            };
            metrics.insert(m.name(), ToReference { difference: finite(v - rv), ratio, outside_bounds });
        }
        let flagged = metrics.get(Metric::SelectionRate.name()).and_then(|t| t.outside_bounds).unwrap_or(false);
        if flagged {
            out.flagged.push(key.clone());
        }
        out.groups.push(ReferenceRow { key: key.clone(), metrics, flagged });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_skip_undefined_and_invert_ratios_above_one() {
        let s = summarize(&[0.2, f64::NAN, 0.5], 0.25);
        assert_eq!(s.group_min, Some(0.2));
        assert_eq!(s.group_max, Some(0.5));
        assert!((s.difference_between_groups.unwrap_or(0.0) - 0.3).abs() < 1e-15);
        assert_eq!(s.ratio_between_groups, Some(0.4));
        assert_eq!(s.difference_to_overall, Some(0.25));
        assert_eq!(s.ratio_to_overall, Some(0.5)); // 0.5/0.25 = 2 -> 1/2; 0.2/0.25 = 0.8
        let z = summarize(&[0.0, 0.0], 0.0);
        assert_eq!(z.ratio_between_groups, None); // 0/0
        assert_eq!(summarize(&[f64::NAN], 0.1).group_min, None);
    }
}
