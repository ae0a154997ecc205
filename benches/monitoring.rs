//! Monitoring engines benchmark (harness = false): `steward drift` and `steward quality`'s engines
//! in-process (no process start), best of 3, on the log scripts/bench-monitoring generates.
//!
//! `cargo bench --bench monitoring [-- FILE]`   FILE defaults to
//! `$STEWARD_BENCH_CACHE/monitoring-10000000.csv` (`~/.cache/steward-bench/...`); make it with
//! `scripts/bench-monitoring` (or `ROWS=1000000 scripts/bench-monitoring` for a smaller one).
//! The same requests as the side-by-side run: drift of every column but label, prediction and
//! model_version, the first 7 days against the rest; quality per version and ISO week.

use std::path::PathBuf;
use std::time::Instant;

use steward::fairness::{Progress, Window};
use steward::monitoring::drift::{DriftSpec, drift};
use steward::monitoring::quality::{Labels, QualitySpec, quality};

fn main() {
    let file = std::env::args().skip(1).find(|a| !a.starts_with('-')).map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("STEWARD_BENCH_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/steward-bench"));
        cache.join("monitoring-10000000.csv")
    });
    let Ok(meta) = std::fs::metadata(&file) else {
        eprintln!("no log at {}: run scripts/bench-monitoring first (ROWS=1000000 for a small one)", file.display());
        return;
    };
    let mb = meta.len() as f64 / 1e6;
    let drift_spec = DriftSpec {
        columns: Vec::new(),
        exclude: vec!["label".into(), "prediction".into(), "model_version".into()],
        categorical: Vec::new(),
        time: Some("timestamp".into()),
        window: None,
        reference_days: Some(7),
    };
    let quality_spec = QualitySpec {
        labels: Labels::InLog { label: "label".into() },
        prediction: Some("prediction".into()),
        score: Some("score".into()),
        threshold: None,
        positive: "1".into(),
        time: "timestamp".into(),
        window: Window::Week,
        version: Some("model_version".into()),
    };
    let best = |name: &str, f: &dyn Fn() -> usize| {
        let mut times = Vec::new();
        let mut out = 0;
        for _ in 0..3 {
            let t = Instant::now();
            out = f();
            times.push(t.elapsed().as_secs_f64());
        }
        let b = times.iter().copied().fold(f64::INFINITY, f64::min);
        println!("{name:<8} {b:>7.3} s best of 3 ({:.0} MB/s; {out} results)", mb / b);
    };
    println!("{} ({mb:.0} MB)", file.display());
    best("drift", &|| drift(None, &file, &drift_spec, &Progress::new()).map(|d| d.windows.iter().map(|w| w.columns.len()).sum()).unwrap_or(0));
    best("quality", &|| quality(&file, &quality_spec, &Progress::new()).map(|q| q.windows.len()).unwrap_or(0));
}
