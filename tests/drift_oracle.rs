//! Drift statistics against scipy 1.17 (tests/fixtures/drift/scipy.json, made by
//! scripts/oracles/drift.py): KS statistic and p-value (exact and asymptotic, every branch of scipy's
//! `kstwo.sf` and `smirnov`), Wasserstein (plain and Evidently's normed), chi-square, Jensen-Shannon.

use serde_json::Value;
use steward::monitoring::{kolmogorov, ks, stats};

const M: u64 = 2_147_483_647;

/// The recipe's sample, sorted (the same integer sequence as the oracle script).
fn sample(r: &Value) -> Vec<f64> {
    let n = r["n"].as_u64().unwrap();
    let seed = r["seed"].as_u64().unwrap();
    let shift = r["shift"].as_f64().unwrap_or(0.0);
    let scale = r["scale"].as_f64().unwrap_or(1.0);
    let triangle = r["shape"].as_str() == Some("triangle");
    let round_to = r["round_to"].as_f64();
    let mut out: Vec<f64> = (0..n)
        .map(|i| {
            let mut u = ((i + 1) * 2_654_435_761 + seed * 40_503) % M;
            let mut x = u as f64 / M as f64;
            if triangle {
                u = ((i + 1) * 2_246_822_519 + seed * 40_503) % M;
                x = (x + u as f64 / M as f64) / 2.0;
            }
            let mut v = shift + scale * x;
            if let Some(k) = round_to {
                v = (v * k).floor() / k;
            }
            v
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

fn fixture() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift/scipy.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(ours: f64, theirs: f64, what: &str) {
    let ok = (ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0) || (ours == theirs);
    assert!(ok, "{what}: ours {ours:e}, scipy {theirs:e}");
}

/// Relative agreement for probabilities (a p-value of 1e-30 must not pass as 0); an absolute 1e-14 for
/// survival values computed as 1 - cdf, whose last digits both sides lose the same way.
fn close_p(ours: f64, theirs: f64, what: &str) {
    let ok = (ours - theirs).abs() <= 1e-9 * theirs.abs() || (ours - theirs).abs() <= 1e-14;
    assert!(ok, "{what}: ours {ours:e}, scipy {theirs:e}");
}

#[test]
fn ks_wasserstein_on_samples_equal_scipy() {
    let f = fixture();
    for c in f["pairs"].as_array().unwrap() {
        let what = c["what"].as_str().unwrap();
        let (r, k) = (sample(&c["reference"]), sample(&c["current"]));
        let t = ks::ks_2samp(&r, &k).unwrap();
        close(t.statistic, c["ks_statistic"].as_f64().unwrap(), &format!("{what}: KS statistic"));
        close_p(t.p_value, c["ks_p_value"].as_f64().unwrap(), &format!("{what}: KS p-value ({:?})", t.method));
        close(stats::wasserstein(&r, &k).unwrap(), c["wasserstein"].as_f64().unwrap(), &format!("{what}: Wasserstein"));
        close(stats::wasserstein_normed(&r, &k).unwrap(), c["wasserstein_normed"].as_f64().unwrap(), &format!("{what}: normed Wasserstein"));
    }
}

#[test]
fn the_kolmogorov_distribution_equals_scipy_on_every_branch() {
    let f = fixture();
    for c in f["kstwo_sf"].as_array().unwrap() {
        let (n, x) = (c["n"].as_f64().unwrap(), c["x"].as_f64().unwrap());
        close_p(kolmogorov::kolmogorov_sf(n, x), c["sf"].as_f64().unwrap(), &format!("kstwo.sf({x}, {n})"));
    }
    for c in f["smirnov_sf"].as_array().unwrap() {
        let (n, x) = (c["n"].as_u64().unwrap(), c["x"].as_f64().unwrap());
        close_p(kolmogorov::smirnov_sf(n, x), c["sf"].as_f64().unwrap(), &format!("smirnov({n}, {x})"));
    }
}

#[test]
fn chi_square_and_jensen_shannon_equal_scipy() {
    let f = fixture();
    for c in f["chi2_sf"].as_array().unwrap() {
        let (dof, x) = (c["dof"].as_f64().unwrap(), c["x"].as_f64().unwrap());
        close_p(stats::chi2_sf(x, dof), c["sf"].as_f64().unwrap(), &format!("chi2.sf({x}, {dof})"));
    }
    for c in f["categorical"].as_array().unwrap() {
        let what = c["what"].as_str().unwrap();
        let counts: Vec<(u64, u64)> = c["reference"]
            .as_array()
            .unwrap()
            .iter()
            .zip(c["current"].as_array().unwrap())
            .map(|(r, k)| (r.as_u64().unwrap(), k.as_u64().unwrap()))
            .collect();
        let chi = stats::chi_square(&counts).unwrap();
        match &c["chi_square"] {
            Value::String(s) if s == "inf" => {
                assert!(chi.statistic.is_infinite() && chi.p_value == 0.0, "{what}: {chi:?}");
            }
            Value::Number(n) => {
                close(chi.statistic, n.as_f64().unwrap(), &format!("{what}: chi-square"));
                close_p(chi.p_value, c["chi_square_p"].as_f64().unwrap(), &format!("{what}: chi-square p"));
            }
            _ => assert!(chi.statistic.is_nan(), "{what}: scipy gives no statistic, ours {chi:?}"),
        }
        let (p, q): (Vec<f64>, Vec<f64>) = counts.iter().map(|(r, k)| (*r as f64, *k as f64)).unzip();
        close(stats::jensen_shannon(&p, &q).unwrap(), c["jensen_shannon_raw"].as_f64().unwrap(), &format!("{what}: Jensen-Shannon"));
    }
}
