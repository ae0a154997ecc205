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

/// The L1 distance between the empirical CDFs of two **sorted** samples, in the samples' unit; `None`
/// when either is empty.
pub fn wasserstein(u: &[f64], v: &[f64]) -> Option<f64> {
    if u.is_empty() || v.is_empty() {
        return None;
    }
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev: Option<f64> = None;
    let mut total = 0.0;
    // Walk the pooled sorted values; between consecutive values the CDFs are constant.
    while i < u.len() || j < v.len() {
        let x = match (u.get(i), v.get(j)) {
            (Some(a), Some(b)) if a <= b => {
                i += 1;
                *a
            }
            (Some(_), Some(b)) => {
                j += 1;
                *b
            }
            (Some(a), None) => {
                i += 1;
                *a
            }
            (None, Some(b)) => {
                j += 1;
                *b
            }
            (None, None) => break,
        };
        if let Some(p) = prev {
            // CDFs at p: counts of values <= p (searchsorted right), which i, j hold only after all
            // values equal to p were taken; the delta is 0 for ties, so the term is 0 anyway.
            let cu = count_le(u, p) as f64 / nu;
            let cv = count_le(v, p) as f64 / nv;
            total += (cu - cv).abs() * (x - p);
        }
        prev = Some(x);
    }
    Some(total)
}

/// Number of values <= x in a sorted slice.
fn count_le(s: &[f64], x: f64) -> usize {
    s.partition_point(|v| *v <= x)
}

/// The population standard deviation (ddof 0), as `np.std`.
pub fn std_dev(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// Wasserstein distance divided by max(std of the reference, 0.001) (Evidently's normed Wasserstein,
/// unitless). Both samples sorted.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> Option<f64> {
    Some(wasserstein(reference, current)? / std_dev(reference).max(0.001))
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

/// Counts of a sorted sample in bins [e_i, e_i+1) (the last bin closed), as `np.histogram` with
/// explicit edges; values outside the edges are not counted.
pub fn histogram(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    let mut cum: Vec<usize> = edges.iter().map(|e| sorted.partition_point(|v| v < e)).collect();
    if let (Some(c), Some(e)) = (cum.last_mut(), edges.last()) {
        *c = sorted.partition_point(|v| v <= e);
    }
    cum.windows(2).map(|w| (w[1] - w[0]) as u64).collect()
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
