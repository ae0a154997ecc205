//! One column of one window against the reference: the statistics of [`super::drift`] and the
//! size-aware verdict (see there).

use serde::Serialize;

use super::drift::{ALPHA, EFFECT_THRESHOLD, MAX_DISTINCT, Values};
use super::ks::{KsMethod, ks_2samp_counts};
use super::stats::{self, ChiSquare};

/// One column in one window against the reference.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnDrift {
    pub column: String,
    /// "numerical", "categorical", or "skipped" (then `reason` says why).
    pub kind: &'static str,
    pub reason: Option<String>,
    pub reference_rows: u64,
    pub current_rows: u64,
    pub reference_missing: u64,
    pub current_missing: u64,
    pub drifted: bool,
    /// The effect size the verdict uses (normed Wasserstein or Jensen-Shannon) and its name.
    pub effect: Option<f64>,
    pub effect_measure: &'static str,
    /// The test's p-value the verdict uses (KS or chi-square).
    pub p_value: Option<f64>,
    /// effect / 0.1 (sort key).
    pub severity: f64,
    pub ks_statistic: Option<f64>,
    pub ks_p_value: Option<f64>,
    pub ks_method: Option<KsMethod>,
    pub wasserstein: Option<f64>,
    pub wasserstein_normed: Option<f64>,
    pub chi_square: Option<ChiSquare>,
    pub jensen_shannon: Option<f64>,
    pub psi: Option<f64>,
    pub reference_mean: Option<f64>,
    pub current_mean: Option<f64>,
    /// Categories in the current window and not in the reference: (value, current count).
    pub new_categories: Vec<(String, u64)>,
    /// Categories of the reference absent from the current window.
    pub gone_categories: Vec<String>,
    /// Share of 1 (or true) of a 0/1 column in the reference and the current window.
    pub reference_positive_rate: Option<f64>,
    pub current_positive_rate: Option<f64>,
    /// Values were rounded to 6 significant digits (more than MAX_DISTINCT distinct values).
    pub rounded: bool,
    /// The shares PSI and Jensen-Shannon compare, for a chart: Evidently's bins (numerical: sturges
    /// ranges `[a, b)` over the pooled values, or one bin per value up to 20 reference values;
    /// categorical: one per category, the [`MAX_BINS`] - 1 largest by pooled share and `(other)` for the
    /// rest). Shares of each side's rows, 0..=1, empty bins as 0 (not PSI's filled values).
    pub distribution: Vec<Bin>,
}

/// One bin of [`ColumnDrift::distribution`].
#[derive(Debug, Clone, Serialize)]
pub struct Bin {
    pub label: String,
    pub reference: f64,
    pub current: f64,
}

/// The most bins kept for a chart.
pub const MAX_BINS: usize = 30;

impl ColumnDrift {
    /// "skipped", "DRIFT" or "ok": the verdict as both faces print it.
    pub fn verdict_word(&self) -> &'static str {
        match (self.kind, self.drifted) {
            ("skipped", _) => "skipped",
            (_, true) => "DRIFT",
            _ => "ok",
        }
    }

    /// What else an operator should know about this column, in reading order: why it was skipped, up to
    /// five new and five vanished categories (value and current count), the positive rate and the mean,
    /// reference -> current, and whether values were rounded. Empty when there is nothing to say.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(reason) = &self.reason {
            notes.push(reason.clone());
        }
        if !self.new_categories.is_empty() {
            let shown: Vec<String> = self.new_categories.iter().take(5).map(|(k, n)| format!("{k} ({n})")).collect();
            let more = self.new_categories.len().saturating_sub(5);
            notes.push(format!("new: {}{}", shown.join(", "), if more > 0 { format!(" and {more} more") } else { String::new() }));
        }
        if !self.gone_categories.is_empty() {
            let more = self.gone_categories.len().saturating_sub(5);
            let shown = self.gone_categories.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            notes.push(format!("gone: {shown}{}", if more > 0 { format!(" and {more} more") } else { String::new() }));
        }
        if let (Some(a), Some(b)) = (self.reference_positive_rate, self.current_positive_rate) {
            notes.push(format!("positive rate {a:.3} -> {b:.3}"));
        }
        if let (Some(a), Some(b)) = (self.reference_mean, self.current_mean) {
            notes.push(format!("mean {a:.4} -> {b:.4}"));
        }
        if self.rounded {
            notes.push("values rounded to 6 digits".into());
        }
        notes
    }
}

/// A statistic as both faces print it: 4 decimals, or 3 significant digits in e-notation below 1e-4
/// (p-values), "-" when absent.
pub fn format_stat(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(v) if v != 0.0 && v.abs() < 1e-4 => format!("{v:.2e}"),
        Some(v) => format!("{v:.4}"),
    }
}

fn empty(column: &str, r: &Values, c: &Values) -> ColumnDrift {
    ColumnDrift {
        column: column.to_string(),
        kind: "skipped",
        reason: None,
        reference_rows: r.counts.values().sum(),
        current_rows: c.counts.values().sum(),
        reference_missing: r.missing,
        current_missing: c.missing,
        drifted: false,
        effect: None,
        effect_measure: "",
        p_value: None,
        severity: 0.0,
        ks_statistic: None,
        ks_p_value: None,
        ks_method: None,
        wasserstein: None,
        wasserstein_normed: None,
        chi_square: None,
        jensen_shannon: None,
        psi: None,
        reference_mean: None,
        current_mean: None,
        new_categories: Vec::new(),
        gone_categories: Vec::new(),
        reference_positive_rate: None,
        current_positive_rate: None,
        rounded: r.rounded || c.rounded,
        distribution: Vec::new(),
    }
}

pub(super) fn analyse(column: &str, r: &Values, c: &Values, force_categorical: bool) -> ColumnDrift {
    let mut d = empty(column, r, c);
    if r.overflow || c.overflow {
        d.reason = Some(format!("more than {MAX_DISTINCT} distinct non-numeric values in a day (an id?): not analysed"));
        return d;
    }
    if d.reference_rows == 0 || d.current_rows == 0 {
        d.reason = Some(format!("no values in the {}", if d.reference_rows == 0 { "reference" } else { "current window" }));
        return d;
    }
    let parse = |m: &super::FastMap<String, u64>| -> Option<Vec<(f64, u64)>> {
        m.iter().map(|(k, n)| k.trim().parse::<f64>().ok().filter(|x| x.is_finite()).map(|x| (x, *n))).collect()
    };
    let numeric = if force_categorical { None } else { parse(&r.counts).zip(parse(&c.counts)) };
    match numeric {
        Some((rv, cv)) if rv.len() > 5 => numerical(&mut d, rv, cv),
        _ => categorical(&mut d, r, c),
    }
    d
}

fn numerical(d: &mut ColumnDrift, rv: Vec<(f64, u64)>, cv: Vec<(f64, u64)>) {
    d.kind = "numerical";
    let m = stats::pool(rv, cv);
    let (nr, nc) = (d.reference_rows as f64, d.current_rows as f64);
    d.reference_mean = Some(stats::mean_first(&m));
    d.current_mean = Some(stats::mean_second(&m));
    let ks = ks_2samp_counts(&m);
    d.ks_statistic = ks.map(|k| k.statistic);
    d.ks_p_value = ks.map(|k| k.p_value);
    d.ks_method = ks.map(|k| k.method);
    d.wasserstein = stats::wasserstein_pooled(&m);
    let normed = stats::wasserstein_normed_pooled(&m);
    d.wasserstein_normed = normed;
    let (labels, rs, cs) = evidently_shares(&m, nr, nc);
    d.distribution = labels.into_iter().zip(rs.iter().zip(&cs)).map(|(label, (r, c))| Bin { label, reference: *r, current: *c }).collect();
    set_psi_js(d, rs, cs);
    d.effect = normed;
    d.effect_measure = "wasserstein_normed";
    d.p_value = d.ks_p_value;
    verdict(d);
}

/// PSI on the shares with empty bins filled, Jensen-Shannon on the shares as they are (Evidently's
/// `psi` and `jensenshannon` tests: `get_binned_data(..., feel_zeroes)` True for PSI, False for JS).
fn set_psi_js(d: &mut ColumnDrift, rs: Vec<f64>, cs: Vec<f64>) {
    d.jensen_shannon = stats::jensen_shannon(&rs, &cs);
    let (mut rf, mut cf) = (rs, cs);
    stats::fill_empty(&mut rf);
    stats::fill_empty(&mut cf);
    d.psi = Some(stats::psi(&rf, &cf));
}

/// Evidently's bins over distinct values with counts: sturges bins over the pooled values when the
/// reference has more than 20 distinct values, one bin per value otherwise (labels, shares unfilled).
fn evidently_shares(m: &[(f64, u64, u64)], nr: f64, nc: f64) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let ref_distinct = m.iter().filter(|v| v.1 > 0).count();
    if ref_distinct > 20 {
        let (min, max) = (m.first().map_or(0.0, |v| v.0), m.last().map_or(0.0, |v| v.0));
        let edges = stats::sturges_edges(min, max, (nr + nc) as usize);
        let bins = edges.len() - 1;
        let (mut hr, mut hc) = (vec![0u64; bins], vec![0u64; bins]);
        for (x, a, b) in m {
            // [e_i, e_i+1), the last bin closed.
            let i = edges.partition_point(|e| e <= x).saturating_sub(1).min(bins - 1);
            hr[i] += a;
            hc[i] += b;
        }
        // Every edge with the decimals the bin width needs (one more than its first significant digit).
        let width = (edges[bins] - edges[0]) / bins as f64;
        let decimals = if width > 0.0 { (1 - width.log10().floor() as i32).clamp(0, 8) as usize } else { 4 };
        let labels = edges.windows(2).map(|e| format!("[{:.decimals$}, {:.decimals$})", e[0], e[1])).collect();
        (labels, hr.iter().map(|h| *h as f64 / nr).collect(), hc.iter().map(|h| *h as f64 / nc).collect())
    } else {
        (m.iter().map(|v| short_number(v.0)).collect(), m.iter().map(|v| v.1 as f64 / nr).collect(), m.iter().map(|v| v.2 as f64 / nc).collect())
    }
}

/// A number for a bin label: at most 4 significant digits.
fn short_number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e6 {
        return format!("{x:.0}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{x:.digits$}")
}

fn categorical(d: &mut ColumnDrift, r: &Values, c: &Values) {
    d.kind = "categorical";
    let mut keys: Vec<&String> = r.counts.keys().chain(c.counts.keys()).collect();
    keys.sort();
    keys.dedup();
    let counts: Vec<(u64, u64)> = keys.iter().map(|k| (r.counts.get(*k).copied().unwrap_or(0), c.counts.get(*k).copied().unwrap_or(0))).collect();
    d.new_categories = keys.iter().zip(&counts).filter(|(_, n)| n.0 == 0 && n.1 > 0).map(|(k, n)| ((*k).clone(), n.1)).collect();
    d.gone_categories = keys.iter().zip(&counts).filter(|(_, n)| n.0 > 0 && n.1 == 0).map(|(k, _)| (*k).clone()).collect();
    d.chi_square = stats::chi_square(&counts);
    let (nr, nc) = (d.reference_rows.max(1) as f64, d.current_rows.max(1) as f64);
    let rs: Vec<f64> = counts.iter().map(|c| c.0 as f64 / nr).collect();
    let cs: Vec<f64> = counts.iter().map(|c| c.1 as f64 / nc).collect();
    d.distribution = category_bins(&keys, &rs, &cs);
    set_psi_js(d, rs, cs);
    let positive = |k: &str| matches!(k.trim(), "1" | "1.0" | "true" | "True" | "TRUE");
    let binary = keys.iter().all(|k| positive(k) || matches!(k.trim(), "0" | "0.0" | "false" | "False" | "FALSE"));
    if binary {
        let share = |v: &Values| v.counts.iter().filter(|(k, _)| positive(k)).map(|(_, n)| *n).sum::<u64>() as f64 / v.counts.values().sum::<u64>().max(1) as f64;
        d.reference_positive_rate = Some(share(r));
        d.current_positive_rate = Some(share(c));
    }
    d.effect = d.jensen_shannon;
    d.effect_measure = "jensen_shannon";
    d.p_value = d.chi_square.map(|c| c.p_value);
    verdict(d);
}

/// One bin per category, the largest MAX_BINS - 1 by pooled share, the rest as "(other)".
fn category_bins(keys: &[&String], rs: &[f64], cs: &[f64]) -> Vec<Bin> {
    let mut bins: Vec<Bin> = keys.iter().zip(rs.iter().zip(cs)).map(|(k, (r, c))| Bin { label: (*k).clone(), reference: *r, current: *c }).collect();
    if bins.len() > MAX_BINS {
        bins.sort_by(|a, b| (b.reference + b.current).total_cmp(&(a.reference + a.current)));
        let rest = bins.split_off(MAX_BINS - 1);
        bins.push(Bin { label: "(other)".into(), reference: rest.iter().map(|b| b.reference).sum(), current: rest.iter().map(|b| b.current).sum() });
    }
    bins
}

fn verdict(d: &mut ColumnDrift) {
    let effect = d.effect.unwrap_or(0.0);
    d.severity = if effect.is_finite() { effect / EFFECT_THRESHOLD } else { f64::MAX };
    d.drifted = effect >= EFFECT_THRESHOLD && d.p_value.is_some_and(|p| p < ALPHA);
}
