//! The report: per-group rates with intervals, across-group summaries and disparities, the reference
//! group, per-window / per-version sections and the threshold sweep, built from merged `Counts`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

use super::counts::{Counts, Hist, LabelValues};
use super::disparities::{self, Disparities, MetricSummary, Reference, Summarized};
use super::rates::{Confusion, Metric, SmallGroupRule, Z95, wilson};
use super::timeparse::{Window, date_string, iso_week_label, window_start_day};
use super::values::SWEEP_STEPS;
use super::{Decision, FairnessError, Spec};

/// Group values in column order, serialized as a JSON object (`{"sex": "Female", "race": "White"}`).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupKey(pub Vec<(String, String)>);

impl Serialize for GroupKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Rates of one group (or of everyone: `key` = "overall").
#[derive(Clone, Debug, Serialize)]
pub struct GroupRates {
    pub group: GroupKey,
    /// Values joined with '|' ('Female|White'), as in Fairlearn's multi-index; a '|' or '\\' inside a
    /// value is escaped with '\\' (see [`group_key`]), so two different groups never share a key.
    pub key: String,
    pub count: u64,
    #[serde(flatten)]
    pub confusion: Confusion,
    pub base_rate: Option<f64>,
    pub selection_rate: Option<f64>,
    pub true_positive_rate: Option<f64>,
    pub false_positive_rate: Option<f64>,
    pub false_negative_rate: Option<f64>,
    pub precision: Option<f64>,
    pub accuracy: Option<f64>,
    /// Wilson 95% interval of each rate; null when the rate is undefined.
    pub intervals: BTreeMap<&'static str, Option<[f64; 2]>>,
    /// Rates with a zero denominator and why (with --fairlearn-compat their value is 0.0 as in Fairlearn).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub undefined: BTreeMap<&'static str, &'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl GroupRates {
    pub fn rate(&self, m: Metric) -> Option<f64> {
        match m {
            Metric::BaseRate => self.base_rate,
            Metric::SelectionRate => self.selection_rate,
            Metric::TruePositiveRate => self.true_positive_rate,
            Metric::FalsePositiveRate => self.false_positive_rate,
            Metric::FalseNegativeRate => self.false_negative_rate,
            Metric::Precision => self.precision,
            Metric::Accuracy => self.accuracy,
        }
    }
}

pub(crate) fn group_rates(group: GroupKey, key: String, c: &Confusion, opts: &Options) -> GroupRates {
    let v = |m: Metric| if opts.compat { Some(c.rate_or_zero(m)) } else { c.rate(m) };
    let mut intervals = BTreeMap::new();
    let mut undefined = BTreeMap::new();
    for m in Metric::ALL {
        let (x, d) = c.parts(m);
        intervals.insert(m.name(), wilson(x, d, Z95).map(|(lo, hi)| [lo, hi]));
        if d == 0 {
            undefined.insert(m.name(), m.undefined_reason());
        }
    }
    GroupRates {
        group,
        key,
        count: c.count(),
        confusion: *c,
        base_rate: v(Metric::BaseRate),
        selection_rate: v(Metric::SelectionRate),
        true_positive_rate: v(Metric::TruePositiveRate),
        false_positive_rate: v(Metric::FalsePositiveRate),
        false_negative_rate: v(Metric::FalseNegativeRate),
        precision: v(Metric::Precision),
        accuracy: v(Metric::Accuracy),
        intervals,
        undefined,
        warnings: opts.rule.warnings(c),
    }
}

/// Everything about one set of groups: the top level, one column's marginals, one window, one version.
#[derive(Clone, Debug, Serialize)]
pub struct Section {
    pub overall: GroupRates,
    pub groups: Vec<GroupRates>,
    /// Fairlearn MetricFrame's group_min / group_max / difference / ratio per metric.
    pub metrics: BTreeMap<&'static str, MetricSummary>,
    pub disparities: Disparities,
    pub reference: Reference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Section {
    pub fn group(&self, key: &str) -> Option<&GroupRates> {
        self.groups.iter().find(|g| g.key == key)
    }
}

pub(crate) struct Options {
    pub compat: bool,
    pub reference: Option<String>,
    pub bounds: (f64, f64),
    pub rule: SmallGroupRule,
}

fn section(columns: &[String], groups: &BTreeMap<Vec<String>, Confusion>, opts: &Options) -> Section {
    let overall_c = groups.values().fold(Confusion::default(), |a, c| a.add(c));
    let key_of = |vals: &[String]| group_key(vals);
    let rows: Vec<(String, Confusion)> = groups.iter().map(|(k, c)| (key_of(k), *c)).collect();
    let gr: Vec<GroupRates> = groups
        .iter()
        .map(|(vals, c)| {
            let g = GroupKey(columns.iter().cloned().zip(vals.iter().cloned()).collect());
            group_rates(g, key_of(vals), c, opts)
        })
        .collect();
    let mut metrics = BTreeMap::new();
    for s in Summarized::all() {
        let v: Vec<f64> = rows.iter().map(|(_, c)| s.value(c, opts.compat)).collect();
        metrics.insert(s.name(), disparities::summarize(&v, s.value(&overall_c, opts.compat)));
    }
    let given = opts.reference.as_ref().and_then(|r| rows.iter().position(|(k, _)| k == r));
    let (idx, chosen) = match given {
        Some(i) => (Some(i), "given"),
        // The largest group; ties go to the first in key order.
        None => (rows.iter().enumerate().rev().max_by_key(|(_, (_, c))| c.count()).map(|(i, _)| i), "largest"),
    };
    let reference = disparities::reference(&rows, idx, chosen, opts.bounds, opts.compat);
    let mut warnings = Vec::new();
    for g in &gr {
        warnings.extend(g.warnings.iter().map(|w| format!("{}: {w}", g.key)));
    }
    Section {
        overall: group_rates(GroupKey(Vec::new()), "overall".into(), &overall_c, opts),
        groups: gr,
        disparities: disparities::disparities(&metrics, opts.compat),
        metrics,
        reference,
        warnings,
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct WindowSection {
    /// First day of the window (YYYY-MM-DD, UTC).
    pub window: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iso_week: Option<String>,
    #[serde(flatten)]
    pub section: Section,
}

#[derive(Clone, Debug, Serialize)]
pub struct VersionSection {
    pub version: String,
    #[serde(flatten)]
    pub section: Section,
    /// This version's rows per time window (when a time column was given).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<WindowSection>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SweepCurve {
    pub key: String,
    pub selection_rate: Vec<Option<f64>>,
    pub true_positive_rate: Vec<Option<f64>>,
    pub false_positive_rate: Vec<Option<f64>>,
}

/// Rates as the threshold moves over 0.00, 0.01, ..., 1.00 (positive iff score >= threshold, or >
/// with `Spec::strict_threshold`).
#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    pub thresholds: Vec<f64>,
    pub overall: SweepCurve,
    pub groups: Vec<SweepCurve>,
}

fn curve(key: String, h: &Hist, compat: bool) -> SweepCurve {
    let mut c = SweepCurve { key, selection_rate: vec![], true_positive_rate: vec![], false_positive_rate: vec![] };
    for k in 0..SWEEP_STEPS {
        let conf = h.at_step(k);
        let v = |m: Metric| if compat { Some(conf.rate_or_zero(m)) } else { conf.rate(m) };
        c.selection_rate.push(v(Metric::SelectionRate));
        c.true_positive_rate.push(v(Metric::TruePositiveRate));
        c.false_positive_rate.push(v(Metric::FalsePositiveRate));
    }
    c
}

#[derive(Clone, Debug, Serialize)]
pub struct DecisionInfo {
    pub column: String,
    /// Prediction values counted as positive (empty: 1/true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub positive: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Positive iff score > threshold (also in the sweep); absent: score >= threshold.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub file: String,
    pub format: String,
    /// The query a SQL engine ran for these counts (pushdown), to be re-run by a reviewer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<super::pushdown::Pushdown>,
    pub rows: u64,
    pub skipped_rows: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_examples: Vec<String>,
    pub group_columns: Vec<String>,
    pub label: LabelInfo,
    pub decision: DecisionInfo,
    pub fairlearn_compat: bool,
    #[serde(flatten)]
    pub main: Section,
    /// One section per group column, when several were given (the top level is then intersectional).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub marginals: BTreeMap<String, Section>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<WindowSection>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<VersionSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_sweep: Option<Sweep>,
    pub small_group_rule: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct LabelInfo {
    pub column: String,
    #[serde(flatten)]
    pub values: LabelValues,
}

/// The key of a group combination: its values joined with '|', each value with '\\' and '|' escaped
/// as `\\\\` and `\\|`. Injective: (`a|b`, `c`) is `a\\|b|c` and (`a`, `b|c`) is `a|b\\|c`. Values without
/// those characters read as before ('Female|White').
pub fn group_key(values: &[String]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        for c in v.chars() {
            if c == '|' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// The group `--reference` names, as its key. The escaped key always works; the values simply joined
/// with '|' are also accepted when exactly one group reads so (an error lists the keys otherwise).
fn resolve_reference(r: &str, groups: &[Vec<String>], file: &str) -> Result<String, FairnessError> {
    if let Some(g) = groups.iter().find(|g| group_key(g) == r) {
        return Ok(group_key(g));
    }
    let plain: Vec<&Vec<String>> = groups.iter().filter(|g| g.join("|") == r).collect();
    match plain.as_slice() {
        [g] => Ok(group_key(g)),
        [] => Err(FairnessError::usage(format!(
            "--reference '{r}' is not a group in {file} (groups: {})",
            groups.iter().map(|g| group_key(g)).collect::<Vec<_>>().join(", ")
        ))),
        many => Err(FairnessError::usage(format!(
            "--reference '{r}' could be {} groups; give the key with '|' inside a value escaped as '\\|': {}",
            many.len(),
            many.iter().map(|g| format!("'{}'", group_key(g))).collect::<Vec<_>>().join(" or ")
        ))),
    }
}

/// Builds the report. Fails only when --reference names a group that is not in the data.
pub fn build(counts: &Counts, spec: &Spec, file: &str, format: &str) -> Result<Report, FairnessError> {
    let opts = Options {
        compat: spec.fairlearn_compat,
        reference: spec.reference.clone(),
        bounds: spec.four_fifths,
        rule: spec.small_groups,
    };
    let cols = &counts.group_columns;
    let mut by_group: BTreeMap<Vec<String>, Confusion> = BTreeMap::new();
    let mut by_window: BTreeMap<i64, BTreeMap<Vec<String>, Confusion>> = BTreeMap::new();
    let mut by_version: BTreeMap<String, BTreeMap<Vec<String>, Confusion>> = BTreeMap::new();
    let mut by_version_window: BTreeMap<(String, i64), BTreeMap<Vec<String>, Confusion>> = BTreeMap::new();
    for (k, c) in &counts.cells {
        let add = |m: &mut BTreeMap<Vec<String>, Confusion>| {
            let e = m.entry(k.group.clone()).or_default();
            *e = e.add(c);
        };
        add(&mut by_group);
        if let Some(w) = k.window {
            add(by_window.entry(w).or_default());
        }
        if let Some(v) = &k.version {
            add(by_version.entry(v.clone()).or_default());
            if let Some(w) = k.window {
                add(by_version_window.entry((v.clone(), w)).or_default());
            }
        }
    }
    let mut opts = opts;
    if let Some(r) = &spec.reference {
        let keys: Vec<Vec<String>> = by_group.keys().cloned().collect();
        opts.reference = Some(resolve_reference(r, &keys, file)?);
    }
    let main = section(cols, &by_group, &opts);
    let mut marginals = BTreeMap::new();
    if cols.len() > 1 {
        for (i, col) in cols.iter().enumerate() {
            let mut m: BTreeMap<Vec<String>, Confusion> = BTreeMap::new();
            for (k, c) in &by_group {
                let e = m.entry(vec![k[i].clone()]).or_default();
                *e = e.add(c);
            }
            marginals.insert(col.clone(), section(std::slice::from_ref(col), &m, &opts));
        }
    }
    let window_section = |w: i64, g: &BTreeMap<Vec<String>, Confusion>| {
        let start = window_start_day(w, spec.window);
        WindowSection {
            window: date_string(start),
            iso_week: (spec.window == Window::Week).then(|| iso_week_label(start)),
            section: section(cols, g, &opts),
        }
    };
    let windows = by_window.iter().map(|(w, g)| window_section(*w, g)).collect();
    let versions = by_version
        .iter()
        .map(|(v, g)| VersionSection {
            version: v.clone(),
            section: section(cols, g, &opts),
            windows: by_version_window.range((v.clone(), i64::MIN)..=(v.clone(), i64::MAX)).map(|((_, w), g)| window_section(*w, g)).collect(),
        })
        .collect();
    let threshold_sweep = matches!(spec.decision, Decision::Score { .. }).then(|| {
        let overall = counts.hist.values().fold(Hist::default(), |mut a, h| {
            a.add(h);
            a
        });
        Sweep {
            thresholds: (0..SWEEP_STEPS).map(|k| k as f64 / 100.0).collect(),
            overall: curve("overall".into(), &overall, opts.compat),
            groups: counts.hist.iter().map(|(k, h)| curve(group_key(k), h, opts.compat)).collect(),
        }
    });
    let (decision_col, positive, threshold) = match &spec.decision {
        Decision::Prediction { column, positive } => {
            let p = if positive.is_empty() { vec!["1".to_string()] } else { positive.clone() };
            (column.clone(), Some(p), None)
        }
        Decision::Score { column, threshold } => (column.clone(), None, Some(*threshold)),
    };
    Ok(Report {
        file: file.to_string(),
        format: format.to_string(),
        query: None,
        rows: counts.rows,
        skipped_rows: counts.skipped,
        skipped_examples: counts.skipped_examples.clone(),
        group_columns: cols.clone(),
        label: LabelInfo {
            column: spec.label.clone(),
            values: LabelValues {
                positive: spec.positive_label.clone().unwrap_or_else(|| "1".into()),
                negative: match &spec.positive_label {
                    None => Some("0".into()),
                    Some(_) => counts.negative_label.clone(),
                },
            },
        },
        decision: DecisionInfo { column: decision_col, positive, threshold, strict: spec.strict_threshold && threshold.is_some() },
        fairlearn_compat: spec.fairlearn_compat,
        main,
        marginals,
        window: spec.time.as_ref().map(|_| match spec.window {
            Window::Day => "1d",
            Window::Week => "1w",
        }),
        windows,
        versions,
        threshold_sweep,
        small_group_rule: opts.rule.describe(),
    })
}
