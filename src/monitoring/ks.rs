//! The two-sample Kolmogorov-Smirnov test, two-sided, as `scipy.stats.ks_2samp(a, b)` computes it
//! (method "auto"): the statistic D = sup |F_a - F_b| over the pooled values; the p-value exact when
//! both samples have at most 10,000 values, otherwise from the distribution of the one-sample statistic
//! for n = round(n_a n_b / (n_a + n_b)) (scipy's "asymp" mode, `kstwo.sf`).
//!
//! The one-sample distribution is in [`super::kolmogorov`].
//!
//! Sources of the methods (implemented here from the papers, in f64):
//! - exact, equal sizes: the reflection formula for paths leaving the band |x - y| < h (Hodges 1958,
//!   "The significance probability of the Smirnov two-sample test", Arkiv för Matematik 3(43));
//! - exact, unequal sizes: Hodges' "inside" lattice-path recursion rewritten for 1 - p (Viehmann 2021,
//!   "Numerically more stable computation of the p-values for the two-sample Kolmogorov-Smirnov test",
//!   arXiv:2102.08037);
//! - the one-sample distribution: Simard & L'Ecuyer (2011), "Computing the two-sided Kolmogorov-Smirnov
//!   distribution", J. Stat. Softw. 39(11): Ruben-Gambino's exact ends, the Durbin matrix (Marsaglia,
//!   Tsang & Wang 2003), Pomeranz (1974), Pelz-Good (1976) and the one-sided Smirnov sum (Birnbaum &
//!   Tingey 1951), with the switch-over points scipy uses.

use super::kolmogorov::kolmogorov_sf;

/// Above this many values in either sample the p-value is asymptotic (as scipy's `MAX_AUTO_N`).
pub const MAX_EXACT_N: usize = 10_000;

/// How a p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KsMethod {
    Exact,
    Asymptotic,
}

/// The test's answer: D in [0, 1] and its p-value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct KsTest {
    pub statistic: f64,
    pub p_value: f64,
    pub method: KsMethod,
}

/// The two-sided two-sample KS test of two **sorted**, NaN-free samples; `None` when either is empty.
/// (Through [`ks_2samp_counts`], the code the drift engine runs.)
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Option<KsTest> {
    ks_2samp_counts(&super::stats::pool_sorted(a, b))
}

/// The same test from distinct values with their counts in each sample, (value, count in a, count in
/// b), sorted by value: memory by distinct values, not rows. `None` when a sample is empty.
pub fn ks_2samp_counts(values: &[(f64, u64, u64)]) -> Option<KsTest> {
    let n1: u64 = values.iter().map(|v| v.1).sum();
    let n2: u64 = values.iter().map(|v| v.2).sum();
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (f1, f2) = (n1 as f64, n2 as f64);
    let (mut c1, mut c2) = (0u64, 0u64);
    let (mut max, mut min) = (f64::NEG_INFINITY, f64::INFINITY);
    for v in values {
        c1 += v.1;
        c2 += v.2;
        let diff = c1 as f64 / f1 - c2 as f64 / f2;
        max = max.max(diff);
        min = min.min(diff);
    }
    let min_s = (-min).clamp(0.0, 1.0);
    let d = if min_s > max { min_s } else { max };
    Some(p_value(n1, n2, d))
}

/// The p-value of D for sample sizes n1, n2 (exact when both are at most MAX_EXACT_N).
fn p_value(n1: u64, n2: u64, d: f64) -> KsTest {
    if n1.max(n2) as usize <= MAX_EXACT_N
        && let Some((d, p)) = exact(n1, n2, d)
    {
        return KsTest { statistic: d, p_value: p, method: KsMethod::Exact };
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = (m * n / (m + n)).round_ties_even();
    KsTest { statistic: d, p_value: kolmogorov_sf(en, d).clamp(0.0, 1.0), method: KsMethod::Asymptotic }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The exact two-sided p-value: (D rounded to the lattice, p), or `None` when the computation fails
/// (then the asymptotic one is used, as scipy does).
fn exact(n1: u64, n2: u64, d: f64) -> Option<(f64, f64)> {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return Some((d, 1.0));
    }
    let p = if n1 == n2 { outside_square(n1, h) } else { outside_band(n1, n2, g, h) };
    (p.is_finite() && (0.0..=1.0).contains(&p)).then_some((d, p))
}

/// Equal sizes n: the share of lattice paths that touch x - y = +-h (reflection, alternating sum).
fn outside_square(n: u64, h: u64) -> f64 {
    let (n, h) = (n as f64, h as f64);
    let mut p = 0.0;
    let mut k = (n / h).floor();
    while k >= 0.0 {
        let mut p1 = 1.0;
        let mut j = 0.0;
        while j < h {
            p1 = (n - k * h - j) * p1 / (n + k * h + j + 1.0);
            j += 1.0;
        }
        p = p1 * (1.0 - p);
        k -= 1.0;
    }
    2.0 * p
}

/// Unequal sizes: 1 - (paths staying strictly inside |n x / g - m y / g| < h) / C(m + n, n), by the
/// inside recursion on the normalised column (each entry is a probability, so nothing overflows).
fn outside_band(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng, h) = ((m / g) as i64, (n / g) as i64, h as i64);
    let (m, n) = (m as i64, n as i64);
    let ceil_div = |a: i64, b: i64| -(-a).div_euclid(b);
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len.max(1)];
    for x in a.iter_mut().take(maxj as usize) {
        *x = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((ng * i - h).div_euclid(mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for jj in 0..(maxj - minj) {
            let j = (jj + minj) as f64;
            let Some(prev) = a.get((jj + minj - lastminj) as usize).copied() else { return f64::NAN };
            val = (prev * fi + val * j) / (fi + j);
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = (maxj - minj) as usize;
            for x in a.iter_mut().skip(from).take((lastlen - curlen) as usize) {
                *x = 1.0;
            }
        }
    }
    a.get((maxj - minj - 1) as usize).copied().unwrap_or(f64::NAN)
}
