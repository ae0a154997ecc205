//! Drift statistics other than KS, each matching the reference implementation named on it.
//!
//! - [`wasserstein`]: `scipy.stats.wasserstein_distance(u, v)` (the L1 distance between the two
//!   empirical CDFs); [`wasserstein_normed`] divides by max(std of the reference (ddof 0), 0.001) as
//!   Evidently's `wasserstein` drift test does.
//! - [`chi_square`]: `scipy.stats.chisquare(f_obs=current counts, f_exp=reference counts * n_cur /
//!   n_ref)` over the categories of both samples, as Evidently's `chisquare` test builds it; the p-value
//!   is the chi-square survival function with k - 1 degrees of freedom (regularised upper incomplete
//!   gamma, Numerical Recipes 6.2: series below a + 1, Lentz's continued fraction above).
//! - [`jensen_shannon`]: `scipy.spatial.distance.jensenshannon(p, q)`, natural logarithm (base e), so
//!   its range is [0, sqrt(ln 2)].
//! - [`psi`]: sum over bins of (p_ref - p_cur) ln(p_ref / p_cur), as Evidently's `psi` test.
//! - [`evidently_bins`]: the bin shares Evidently's PSI and Jensen-Shannon tests use (its
//!   `get_binned_data`): a numerical column with more than 20 distinct reference values is cut into
//!   NumPy's "sturges" bins over the pooled values (`np.histogram_bin_edges`); anything else is one bin
//!   per category seen in either sample. For PSI (not for Jensen-Shannon) an empty bin's share is
//!   replaced by 0.0001, or by the least non-zero share / 10^6 when that is <= 0.0001 ([`fill_empty`]).

/// Distinct values of two samples with their counts, (value, count in the first, count in the second),
/// sorted by value (-0.0 and 0.0 are one value): the form every numerical drift statistic here works
/// on, so memory goes by distinct values, not rows. Built by [`pool`] from counts or by [`pool_sorted`]
/// from sorted samples.
pub type Pooled = Vec<(f64, u64, u64)>;

/// Pools (value, count) lists of two samples (finite values, any order, repeats allowed).
pub fn pool(first: Vec<(f64, u64)>, second: Vec<(f64, u64)>) -> Pooled {
    let mut all: std::collections::BTreeMap<u64, (f64, u64, u64)> = std::collections::BTreeMap::new();
    // Total order of finite doubles on their bits (sign flipped), with -0.0 read as 0.0.
    let key = |x: f64| {
        let b = (if x == 0.0 { 0.0 } else { x }).to_bits();
        if b >> 63 == 1 { !b } else { b | (1 << 63) }
    };
    for (x, n) in first {
        all.entry(key(x)).or_insert((x, 0, 0)).1 += n;
    }
    for (x, n) in second {
        all.entry(key(x)).or_insert((x, 0, 0)).2 += n;
    }
    all.into_values().collect()
}

/// Pools two **sorted**, NaN-free samples (see [`pool`]).
pub fn pool_sorted(a: &[f64], b: &[f64]) -> Pooled {
    let runs = |s: &[f64]| -> Vec<(f64, u64)> {
        let mut out: Vec<(f64, u64)> = Vec::new();
        for &x in s {
            match out.last_mut() {
                Some(last) if last.0 == x => last.1 += 1,
                _ => out.push((x, 1)),
            }
        }
        out
    };
    pool(runs(a), runs(b))
}

/// The L1 distance between the empirical CDFs of two **sorted** samples, in the samples' unit; `None`
/// when either is empty. (Through [`wasserstein_pooled`], the code the drift engine runs.)
pub fn wasserstein(u: &[f64], v: &[f64]) -> Option<f64> {
    wasserstein_pooled(&pool_sorted(u, v))
}

/// [`wasserstein`] of pooled counts: the CDFs are constant between consecutive distinct values, so the
/// distance is the sum of |F1 - F2| times the gap to the next value.
pub fn wasserstein_pooled(m: &[(f64, u64, u64)]) -> Option<f64> {
    let (n1, n2) = totals(m);
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (mut c1, mut c2, mut total) = (0u64, 0u64, 0.0f64);
    for pair in m.windows(2) {
        c1 += pair[0].1;
        c2 += pair[0].2;
        total += (c1 as f64 / n1 as f64 - c2 as f64 / n2 as f64).abs() * (pair[1].0 - pair[0].0);
    }
    Some(total)
}

/// Rows in each sample of pooled counts.
pub fn totals(m: &[(f64, u64, u64)]) -> (u64, u64) {
    (m.iter().map(|v| v.1).sum(), m.iter().map(|v| v.2).sum())
}

/// The mean of the first sample of pooled counts (NaN when it is empty).
pub fn mean_first(m: &[(f64, u64, u64)]) -> f64 {
    m.iter().map(|v| v.0 * v.1 as f64).sum::<f64>() / totals(m).0 as f64
}

/// The mean of the second sample of pooled counts (NaN when it is empty).
pub fn mean_second(m: &[(f64, u64, u64)]) -> f64 {
    m.iter().map(|v| v.0 * v.2 as f64).sum::<f64>() / totals(m).1 as f64
}

/// The population standard deviation (ddof 0, as `np.std`) of the first sample of pooled counts.
pub fn std_dev_first(m: &[(f64, u64, u64)]) -> f64 {
    let mean = mean_first(m);
    (m.iter().map(|v| v.1 as f64 * (v.0 - mean) * (v.0 - mean)).sum::<f64>() / totals(m).0 as f64).sqrt()
}

/// The population standard deviation (ddof 0), as `np.std`, of a sorted sample.
pub fn std_dev(x: &[f64]) -> f64 {
    std_dev_first(&pool_sorted(x, &[]))
}

/// Wasserstein distance divided by max(std of the reference, 0.001) (Evidently's normed Wasserstein,
/// unitless). Both samples sorted.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> Option<f64> {
    wasserstein_normed_pooled(&pool_sorted(reference, current))
}

/// [`wasserstein_normed`] of pooled counts, the reference first.
pub fn wasserstein_normed_pooled(m: &[(f64, u64, u64)]) -> Option<f64> {
    Some(wasserstein_pooled(m)? / std_dev_first(m).max(0.001))
}

/// Pearson's chi-square goodness-of-fit statistic and p-value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ChiSquare {
    pub statistic: f64,
    pub dof: u64,
    pub p_value: f64,
}

/// Chi-square of current counts against reference shares: `counts` holds (reference, current) per
/// category. A category with current rows but no reference rows makes the statistic infinite and the
/// p-value 0 (it cannot happen under the reference). `None` with no rows on either side.
pub fn chi_square(counts: &[(u64, u64)]) -> Option<ChiSquare> {
    let n_ref: u64 = counts.iter().map(|c| c.0).sum();
    let n_cur: u64 = counts.iter().map(|c| c.1).sum();
    if n_ref == 0 || n_cur == 0 || counts.is_empty() {
        return None;
    }
    let k = n_cur as f64 / n_ref as f64;
    let mut stat = 0.0;
    for (r, c) in counts {
        let e = *r as f64 * k;
        let d = *c as f64 - e;
        stat += if e == 0.0 {
            if *c == 0 { f64::NAN } else { f64::INFINITY }
        } else {
            d * d / e
        };
    }
    let dof = counts.len() as u64 - 1;
    let p = if stat.is_nan() { f64::NAN } else { chi2_sf(stat, dof as f64) };
    Some(ChiSquare { statistic: stat, dof, p_value: p })
}

/// P(X > x) for X ~ chi-square with `dof` degrees of freedom.
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    if x.is_nan() || dof <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    gamma_q(dof / 2.0, x / 2.0)
}

/// ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 coefficients; relative error ~1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised upper incomplete gamma Q(a, x).
fn gamma_q(a: f64, x: f64) -> f64 {
    let gln = ln_gamma(a);
    if x < a + 1.0 {
        // Series for P, then Q = 1 - P.
        let (mut ap, mut del) = (a, 1.0 / a);
        let mut sum = del;
        for _ in 0..100_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * (-x + a * x.ln() - gln).exp()
    } else {
        // Continued fraction for Q (modified Lentz).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..100_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-17 {
                break;
            }
        }
        (-x + a * x.ln() - gln).exp() * h
    }
}

/// Jensen-Shannon distance between two distributions given as non-negative weights over the same
/// bins (each normalised to sum 1 first), natural log; `None` when a side sums to 0 or lengths differ.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> Option<f64> {
    if p.len() != q.len() || p.is_empty() {
        return None;
    }
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    if !(sp > 0.0 && sq > 0.0) {
        return None;
    }
    let rel = |x: f64, y: f64| if x > 0.0 && y > 0.0 { x * (x / y).ln() } else if x == 0.0 && y >= 0.0 { 0.0 } else { f64::INFINITY };
    let (mut left, mut right) = (0.0, 0.0);
    for (a, b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        left += rel(a, m);
        right += rel(b, m);
    }
    Some(((left + right) / 2.0).sqrt())
}

/// Population stability index over bin shares (reference, current), both already free of zeros.
pub fn psi(reference: &[f64], current: &[f64]) -> f64 {
    reference.iter().zip(current).map(|(r, c)| (r - c) * (r / c).ln()).sum()
}

/// Bin edges as `np.histogram_bin_edges(x, bins="sturges")` for pooled values with this minimum,
/// maximum and count: ceil(ptp / (ptp / (log2(n) + 1))) equal bins (one when all values are equal,
/// then widened by 0.5 each side), edges as `np.linspace`.
pub fn sturges_edges(min: f64, max: f64, n: usize) -> Vec<f64> {
    let ptp = max - min;
    let (mut first, mut last) = (min, max);
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    let width = ptp / ((n as f64).log2() + 1.0);
    let bins = if width != 0.0 { ((last - first) / width).ceil() as usize } else { 1 };
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + first).collect();
    if let Some(e) = edges.last_mut() {
        *e = last;
    }
    edges
}

/// Replaces empty shares as Evidently does: by 0.0001, or by the least non-zero share / 10^6 when that
/// is <= 0.0001 (all-zero input stays as it is).
pub fn fill_empty(shares: &mut [f64]) {
    let least = shares.iter().copied().filter(|s| *s != 0.0).fold(f64::INFINITY, f64::min);
    if !least.is_finite() {
        return;
    }
    let fill = if least <= 0.0001 { least / 1e6 } else { 0.0001 };
    for s in shares.iter_mut().filter(|s| **s == 0.0) {
        *s = fill;
    }
}
