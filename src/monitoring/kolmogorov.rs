//! The distribution of the one-sample two-sided Kolmogorov-Smirnov statistic D_n, as scipy's
//! `kstwo.sf` computes it (Simard & L'Ecuyer 2011, "Computing the two-sided Kolmogorov-Smirnov
//! distribution", J. Stat. Softw. 39(11)), with the switch-over points scipy uses: Ruben-Gambino's exact
//! ends, the Durbin matrix (Marsaglia, Tsang & Wang 2003), Pomeranz (1974), Pelz-Good (1976), and the
//! one-sided Smirnov sum (Birnbaum & Tingey 1951) for the upper tail.

const LN_2PI: f64 = 1.837_877_066_409_345_3;
const STIRLING: [f64; 8] = [
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
];

/// ln(n! / n^n) by Stirling's series.
fn ln_factorial_over_power(n: f64) -> f64 {
    let rn = 1.0 / n;
    let poly = STIRLING.iter().fold(0.0, |acc, c| acc * (rn / n) + c);
    n.ln() / 2.0 - n + LN_2PI / 2.0 + rn * poly
}

/// P(D_n > x) for the one-sample two-sided statistic with n values (n a whole number >= 1).
pub fn kolmogorov_sf(n: f64, x: f64) -> f64 {
    if !(n >= 1.0) || n.fract() != 0.0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let t = n * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = if n <= 140.0 {
            (1..=n as u64).fold(1.0, |p, i| p * (i as f64 * (1.0 / n) * (2.0 * t - 1.0)))
        } else {
            (ln_factorial_over_power(n) + n * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    if t >= n - 1.0 {
        return (2.0 * (1.0 - x).powf(n)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov_sf(n as u64, x)).clamp(0.0, 1.0);
    }
    let nxx = t * x;
    if n <= 140.0 {
        if nxx <= 0.754693 {
            return (1.0 - durbin_cdf(n as u64, x)).clamp(0.0, 1.0);
        }
        if nxx <= 4.0 {
            return (1.0 - pomeranz_cdf(n as u64, x)).clamp(0.0, 1.0);
        }
        return (2.0 * smirnov_sf(n as u64, x)).clamp(0.0, 1.0);
    }
    if nxx >= 370.0 {
        return 0.0;
    }
    if nxx >= 2.2 {
        return (2.0 * smirnov_sf(n as u64, x)).clamp(0.0, 1.0);
    }
    let cdf = if n <= 100_000.0 && n * x.powf(1.5) <= 1.4 { durbin_cdf(n as u64, x) } else { pelz_good_cdf(n, x) };
    (1.0 - cdf).clamp(0.0, 1.0)
}

const E128: i32 = 128;
const P128: f64 = 3.402_823_669_209_385e38; // 2^128

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let x = a[i * m + k];
            if x == 0.0 {
                continue;
            }
            for j in 0..m {
                c[i * m + j] += x * b[k * m + j];
            }
        }
    }
    c
}

/// P(D_n <= d) by the Durbin matrix H^n (Marsaglia, Tsang & Wang 2003), with scaling by 2^128.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let hh = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|i| 1.0 - hh.powi(i as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * hh - 1.0).max(0.0).powi(m as i32) - 2.0 * hh.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    let mut h = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            h[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        h[r * m] = v[r];
    }
    for c in 0..m {
        h[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut pw: Vec<f64> = (0..m * m).map(|i| if i / m == i % m { 1.0 } else { 0.0 }).collect();
    let (mut nn, mut expnt, mut hexp) = (n, 0i32, 0i32);
    while nn > 0 {
        if nn % 2 == 1 {
            pw = matmul(&pw, &h, m);
            expnt += hexp;
        }
        h = matmul(&h, &h, m);
        hexp *= 2;
        if h[(k - 1) * m + (k - 1)].abs() > P128 {
            for x in h.iter_mut() {
                *x /= P128;
            }
            hexp += E128;
        }
        nn /= 2;
    }
    let mut p = pw[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < 1.0 / P128 {
            p *= P128;
            expnt -= E128;
        }
    }
    (p * 2f64.powi(expnt)).clamp(0.0, 1.0)
}

/// P(D_n <= x) by Pomeranz's recursion (1974).
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let (mut gp, mut g2p, mut g12p) = (vec![1.0; npwrs], vec![1.0; npwrs], vec![1.0; npwrs]);
    for k in 1..npwrs {
        gp[k] = gp[k - 1] * (g / nf) / k as f64;
        g2p[k] = g2p[k - 1] * (2.0 * g / nf) / k as f64;
        g12p[k] = g12p[k - 1] * ((1.0 - 2.0 * g) / nf) / k as f64;
    }
    let n = n as i64;
    let j1j2 = |i: i64| -> (i64, i64) {
        let (j1, j2) = if i == 0 {
            (-ll - ceilf - 1, ll + ceilf - 1)
        } else {
            let (half, odd) = ((i + 1) / 2, (i + 1) % 2);
            if odd == 0 {
                if half == n + 1 { (n - ll - ceilf - 1, n + ll + ceilf - 1) } else { (half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1) }
            } else {
                (half - 1 - ll - 1, half + ll + roundf - 1)
            }
        };
        ((j1 + 2).max(0), j2.min(n))
    };
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut expnt = 0i32;
    let (mut j1, _) = j1j2(0);
    for i in 1..(2 * n + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|x| *x = 0.0);
        let (nj1, j2) = j1j2(i);
        j1 = nj1;
        let pw = if i == 1 || i == 2 * n + 1 { &gp } else if i % 2 == 1 { &g2p } else { &g12p };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let ln2 = ln2 as usize;
            let src: Vec<f64> = (0..ln2).map(|q| v0.get((k1 - v0s) as usize + q).copied().unwrap_or(0.0)).collect();
            // Full convolution of src with pw[..ln2], entries conv_start.. of it.
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (o, slot) in v1.iter_mut().enumerate().take(conv_len) {
                let idx = conv_start + o;
                let mut s = 0.0;
                for (q, sv) in src.iter().enumerate().take(idx.min(ln2 - 1) + 1) {
                    let r = idx - q;
                    if r < ln2 {
                        s += sv * pw[r];
                    }
                }
                *slot = s;
            }
            let mx = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < mx && mx < 1.0 / P128 {
                v1.iter_mut().for_each(|x| *x *= P128);
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1.get((n - v1s) as usize).copied().unwrap_or(0.0);
    for k in 1..=n {
        if ans.abs() > P128 {
            ans /= P128;
            expnt += E128;
        }
        ans *= k as f64;
    }
    (ans * 2f64.powi(expnt)).clamp(0.0, 1.0)
}

/// P(D_n <= x) by the Pelz-Good (1976) expansion to order n^-3/2.
fn pelz_good_cdf(n: f64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let z = n.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -PI * PI / 8.0 / z2;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut kk = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for k in (1..=maxk).rev() {
        let mm = (2 * k - 1) as f64;
        let (m2, m4, m6) = (mm * mm, mm.powi(4), mm.powi(6));
        let qp = q.powf(8.0 * k as f64);
        let c = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
        for i in 0..4 {
            kk[i] = kk[i] * qp + c[i];
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let div = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for i in 0..4 {
        kk[i] = kk[i] * q * sqrt2pi / div[i];
    }
    let q = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2x, mut k3x) = (0.0, 0.0);
    for k in (1..=maxk).rev() {
        let kf = k as f64;
        let qp = q.powf(kf * kf);
        k2x += kf * kf * qp;
        let kpi = PI * kf;
        k3x += (sqrt3z + kpi) * (sqrt3z - kpi) * kf * kf * qp;
    }
    kk[2] += k2x * pi2 * sqrt2pi / (-36.0 * z3);
    kk[3] += k3x * pi2 * sqrt2pi / (216.0 * z6);
    (0..4).map(|i| kk[i] / n.powf(i as f64 / 2.0)).sum()
}

/// P(D+_n > x), the one-sided statistic, by the Birnbaum-Tingey sum of positive terms (in logs), with
/// scipy's special cases: x <= 1/n, x >= 1 - 1/n, underflow, and its approximation for n > 10^6.
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if !(0.0..=1.0).contains(&x) || n == 0 {
        return f64::NAN;
    }
    let nf = n as f64;
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nx = nf * x;
    let nxfl = nx.floor();
    let alpha = nx - nxfl;
    if nxfl == 0.0 || (nxfl == 1.0 && alpha == 0.0) {
        return (1.0 - x * (1.0 + x).powf(nf - 1.0)).clamp(0.0, 1.0);
    }
    if -2.0 * nf * x * x < -708.396_418_532_264_1 {
        return 0.0;
    }
    if nxfl >= nf - 1.0 {
        return (1.0 - x).powf(nf).clamp(0.0, 1.0);
    }
    if n > 1_000_000 {
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        return if logp < -std::f64::consts::LN_2 { logp.exp() } else { 1.0 - (-logp.exp_m1()) };
    }
    // Terms v = 0 ..= floor(n (1 - x)) (the last excluded when n (1 - x) is whole).
    let mut last = n - nxfl as u64 - u64::from(alpha != 0.0);
    if alpha == 0.0 {
        last = last.saturating_sub(1);
    }
    let mut sum = (1.0 - x).powf(nf) / x; // v = 0: (1 - x)^n * x^-1
    let mut ln_c = 0.0f64;
    let terms = last + 1;
    for v in 1..terms {
        ln_c += ((n - v + 1) as f64).ln() - (v as f64).ln();
        let vf = v as f64;
        let a = 1.0 - x - vf / nf;
        let b = x + vf / nf;
        if a <= 0.0 {
            break;
        }
        let term = (ln_c + (nf - vf) * a.ln() + (vf - 1.0) * b.ln()).exp();
        sum += term;
        if term != 0.0 && 4.0 * (terms - v) as f64 * term < f64::EPSILON * sum {
            break;
        }
    }
    (x * sum).clamp(0.0, 1.0)
}
