use super::fairness::against_upper;
use super::*;
use crate::fairness::{Z95, wilson};

#[test]
fn newcombes_interval_reproduces_his_worked_example() {
    // Newcombe (1998), Table II: 56/70 - 48/80 = 0.2000, method 10: 0.0524 to 0.3339.
    let (a, b) = (wilson(56, 70, Z95).unwrap(), wilson(48, 80, Z95).unwrap());
    let [lo, hi] = newcombe(0.8, [a.0, a.1], 0.6, [b.0, b.1]);
    assert_eq!((format!("{lo:.4}"), format!("{hi:.4}")), ("0.0524".to_string(), "0.3339".to_string()));
}

#[test]
fn a_bound_inside_the_interval_is_inconclusive_and_outside_decides() {
    let e = Estimate { value: 0.01, interval: Some([-0.01, 0.03]) };
    assert_eq!(against_upper(&e, 0.005), Verdict::Inconclusive);
    assert_eq!(against_upper(&e, 0.05), Verdict::Pass);
    assert_eq!(against_upper(&e, -0.02), Verdict::Fail);
    let m = mover_difference(Estimate { value: 0.19, interval: Some([0.17, 0.21]) }, Estimate { value: 0.18, interval: Some([0.16, 0.20]) });
    assert!((m.value - 0.01).abs() < 1e-12);
    let [lo, hi] = m.interval.unwrap();
    assert!((lo - (0.01 - (0.02f64.powi(2) * 2.0).sqrt())).abs() < 1e-12 && (hi - (0.01 + (0.0008f64).sqrt())).abs() < 1e-12);
}

#[test]
fn metric_gates_follow_the_direction() {
    let v = |n: u64, k: &str, x: f64| ModelVersion { version: n, metrics: [(k.to_string(), x)].into(), ..Default::default() };
    let g = |metric: &str, w: f64| Gate {
        model: None,
        alias: None,
        required: true,
        check: GateKind::Metric { metric: metric.into(), direction: None, at_least: None, at_most: None, max_worsening: Some(w) },
    };
    assert_eq!(metric_gate(&g("accuracy", 0.0), Some(&v(2, "accuracy", 0.847)), &v(3, "accuracy", 0.872)).verdict, Verdict::Pass);
    assert_eq!(metric_gate(&g("accuracy", 0.0), Some(&v(2, "accuracy", 0.847)), &v(1, "accuracy", 0.790)).verdict, Verdict::Fail);
    assert_eq!(metric_gate(&g("train_loss", 0.0), Some(&v(2, "train_loss", 0.30)), &v(3, "train_loss", 0.25)).verdict, Verdict::Pass);
    assert_eq!(metric_gate(&g("train_loss", 0.01), Some(&v(2, "train_loss", 0.30)), &v(3, "train_loss", 0.35)).verdict, Verdict::Fail);
    assert_eq!(metric_gate(&g("accuracy", 0.0), Some(&v(2, "accuracy", 0.8)), &v(3, "auc", 0.9)).verdict, Verdict::Inconclusive);
}
