//! Rates from confusion counts (Fairlearn's definitions, see shared/facts/fairness.md), Wilson score
//! intervals, and the small-group rule.

use serde::Serialize;

/// Confusion counts of one group (prediction 1 = positive decision, label 1 = positive outcome).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
}

impl Confusion {
    pub fn count(&self) -> u64 {
        self.tp + self.fp + self.tn + self.fn_
    }
    pub fn add(&self, o: &Confusion) -> Confusion {
        Confusion { tp: self.tp + o.tp, fp: self.fp + o.fp, tn: self.tn + o.tn, fn_: self.fn_ + o.fn_ }
    }
    /// (successes, denominator) of a rate.
    pub fn parts(&self, m: Metric) -> (u64, u64) {
        let n = self.count();
        match m {
            Metric::BaseRate => (self.tp + self.fn_, n),
            Metric::SelectionRate => (self.tp + self.fp, n),
            Metric::TruePositiveRate => (self.tp, self.tp + self.fn_),
            Metric::FalsePositiveRate => (self.fp, self.fp + self.tn),
            Metric::FalseNegativeRate => (self.fn_, self.fn_ + self.tp),
            Metric::Precision => (self.tp, self.tp + self.fp),
            Metric::Accuracy => (self.tp + self.tn, n),
        }
    }
    /// The rate, or None when its denominator is zero.
    pub fn rate(&self, m: Metric) -> Option<f64> {
        let (x, d) = self.parts(m);
        (d > 0).then(|| x as f64 / d as f64)
    }
    /// The rate as Fairlearn reports it: 0.0 where Steward says undefined.
    pub fn rate_or_zero(&self, m: Metric) -> f64 {
        self.rate(m).unwrap_or(0.0)
    }
}

/// The per-group rates, named as Fairlearn names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    BaseRate,
    SelectionRate,
    TruePositiveRate,
    FalsePositiveRate,
    FalseNegativeRate,
    Precision,
    Accuracy,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::BaseRate,
        Metric::SelectionRate,
        Metric::TruePositiveRate,
        Metric::FalsePositiveRate,
        Metric::FalseNegativeRate,
        Metric::Precision,
        Metric::Accuracy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::BaseRate => "base_rate",
            Metric::SelectionRate => "selection_rate",
            Metric::TruePositiveRate => "true_positive_rate",
            Metric::FalsePositiveRate => "false_positive_rate",
            Metric::FalseNegativeRate => "false_negative_rate",
            Metric::Precision => "precision",
            Metric::Accuracy => "accuracy",
        }
    }

    /// Why the rate is undefined when its denominator is zero.
    pub fn undefined_reason(self) -> &'static str {
        match self {
            Metric::BaseRate | Metric::SelectionRate | Metric::Accuracy => "n/a: group has no rows",
            Metric::TruePositiveRate | Metric::FalseNegativeRate => "n/a: group has no actual positives",
            Metric::FalsePositiveRate => "n/a: group has no actual negatives",
            Metric::Precision => "n/a: group has no predicted positives",
        }
    }

    /// What the numerator and denominator are called, for warnings.
    fn parts_words(self) -> (&'static str, &'static str) {
        match self {
            Metric::BaseRate => ("actual positives", "rows"),
            Metric::SelectionRate => ("predicted positives", "rows"),
            Metric::TruePositiveRate => ("true positives", "actual positives"),
            Metric::FalsePositiveRate => ("false positives", "actual negatives"),
            Metric::FalseNegativeRate => ("false negatives", "actual positives"),
            Metric::Precision => ("true positives", "predicted positives"),
            Metric::Accuracy => ("correct predictions", "rows"),
        }
    }
}

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval for `successes` out of `n` at the given z; None when n = 0.
pub fn wilson(successes: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denom;
    let half = z / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    // At 0 or n successes the bound is exactly 0 or 1 (the formula leaves rounding dust).
    let lo = if successes == 0 { 0.0 } else { (center - half).max(0.0) };
    let hi = if successes >= n { 1.0 } else { (center + half).min(1.0) };
    Some((lo, hi))
}

/// The small-group rule (documented in docs and in every report):
/// - a group with fewer than `min_group_size` rows (default 30) is flagged as too small to judge;
/// - a rate x/d is flagged when its denominator d is below `min_group_size`, or when fewer than
///   `min_class_count` (default 5) of the d rows fall on either side (x < 5 or d - x < 5): the usual
///   condition for a proportion to be estimated with any stability. Wilson intervals stay valid; the
///   flag says "read the interval, not the point".
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SmallGroupRule {
    pub min_group_size: u64,
    pub min_class_count: u64,
}

impl Default for SmallGroupRule {
    fn default() -> Self {
        SmallGroupRule { min_group_size: 30, min_class_count: 5 }
    }
}

impl SmallGroupRule {
    pub fn describe(&self) -> String {
        format!(
            "a group with fewer than {} rows is too small to judge; a rate x/d is flagged when d < {} or fewer than {} of the d rows fall on either side (x < {} or d - x < {})",
            self.min_group_size, self.min_group_size, self.min_class_count, self.min_class_count, self.min_class_count
        )
    }

    /// Warnings for one group (empty when none apply).
    pub fn warnings(&self, c: &Confusion) -> Vec<String> {
        let mut out = Vec::new();
        let n = c.count();
        if n < self.min_group_size {
            out.push(format!("only {n} rows (< {}): too small to judge", self.min_group_size));
            return out;
        }
        for m in Metric::ALL {
            let (x, d) = c.parts(m);
            if d == 0 {
                continue;
            }
            let (num, den) = m.parts_words();
            // "1 false positive", "2 false positives" (every word pair ends in a plural 's').
            let words = |n: u64, w: &'static str| if n == 1 { w.strip_suffix('s').unwrap_or(w) } else { w };
            if d < self.min_group_size {
                out.push(format!("{}: only {d} {}", m.name(), words(d, den)));
            } else if x < self.min_class_count || d - x < self.min_class_count {
                out.push(format!("{}: {x} {} of {d} {} (fewer than {} on one side)", m.name(), words(x, num), words(d, den), self.min_class_count));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_known_values() {
        let (lo, hi) = wilson(5, 10, Z95).unwrap_or_default();
        assert!((lo - 0.2366).abs() < 5e-5 && (hi - 0.7634).abs() < 5e-5, "{lo} {hi}");
        let (lo, hi) = wilson(0, 10, Z95).unwrap_or_default();
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 5e-5, "{lo} {hi}");
        assert_eq!(wilson(0, 0, Z95), None);
    }

    #[test]
    fn undefined_rates_are_none() {
        let c = Confusion { tp: 0, fp: 2, tn: 8, fn_: 0 };
        assert_eq!(c.rate(Metric::TruePositiveRate), None);
        assert_eq!(c.rate_or_zero(Metric::TruePositiveRate), 0.0);
        assert_eq!(c.rate(Metric::FalsePositiveRate), Some(0.2));
    }

    #[test]
    fn warnings_count_in_the_singular_and_the_plural() {
        let w = SmallGroupRule::default().warnings(&Confusion { tp: 40, fp: 1, tn: 40, fn_: 2 });
        assert!(w.contains(&"false_positive_rate: 1 false positive of 41 actual negatives (fewer than 5 on one side)".to_string()), "{w:?}");
        assert!(w.contains(&"false_negative_rate: 2 false negatives of 42 actual positives (fewer than 5 on one side)".to_string()), "{w:?}");
    }
}
