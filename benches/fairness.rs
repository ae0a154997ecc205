//! Fairness engine benchmark (harness = false).
//!
//! `cargo bench --bench fairness`                      in-process timings on a generated 1M-row log
//! `cargo bench --bench fairness -- generate N FILE`   writes the deterministic N-row CSV log used by
//!                                                     scripts/bench-fairness (the side-by-side run)
//!
//! Columns: timestamp (ISO 8601, 30 days from 2024-03-01), model_version (v1/v2, 10% canary v3),
//! group (8 skewed values), group2 (3 values), label, prediction (= score >= 0.5), score (6 decimals).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use steward::fairness::{Progress, Spec, Window, analyze};

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const GROUPS: [&str; 8] = ["g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7"];
/// Cumulative shares: 40%, 20%, 12%, 10%, 8%, 5%, 3%, 2%.
const CUMULATIVE: [f64; 8] = [0.40, 0.60, 0.72, 0.82, 0.90, 0.95, 0.98, 1.00];
const BASE_RATE: [f64; 8] = [0.30, 0.25, 0.20, 0.35, 0.15, 0.40, 0.22, 0.28];
const BIAS: [f64; 8] = [0.05, 0.0, -0.05, 0.08, -0.08, 0.02, -0.1, 0.0];
const GROUPS2: [&str; 3] = ["x", "y", "z"];

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn generate(rows: u64, out: &Path) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    writeln!(w, "timestamp,model_version,group,group2,label,prediction,score")?;
    let mut rng = SplitMix(20_241_123);
    let start_day = 19_783; // 2024-03-01
    let span = 30 * 86_400u64;
    for i in 0..rows {
        let secs = i * span / rows.max(1);
        let day = start_day + (secs / 86_400) as i64;
        let (y, m, d) = civil(day);
        let t = secs % 86_400;
        let u = rng.unit();
        let g = CUMULATIVE.iter().position(|c| u < *c).unwrap_or(7);
        let g2 = (rng.next() % 3) as usize;
        let version = if rng.unit() < 0.1 {
            "v3"
        } else if secs < span / 2 {
            "v1"
        } else {
            "v2"
        };
        let label = u8::from(rng.unit() < BASE_RATE[g]);
        let score = (0.35 + 0.3 * f64::from(label) + BIAS[g] + (rng.unit() - 0.5) * 0.6).clamp(0.0, 1.0);
        let score = (score * 1e6).round() / 1e6;
        let pred = u8::from(score >= 0.5);
        writeln!(
            w,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z,{version},{},{},{label},{pred},{score:.6}",
            t / 3600,
            t / 60 % 60,
            t % 60,
            GROUPS[g],
            GROUPS2[g2]
        )?;
    }
    w.flush()
}

fn time(name: &str, path: &Path, spec: &Spec) {
    let mut best = f64::INFINITY;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    for _ in 0..3 {
        let t = Instant::now();
        match analyze(path, spec, &Progress::new()) {
            Ok(r) => std::hint::black_box(r.rows),
            Err(e) => {
                eprintln!("{name}: {e}");
                return;
            }
        };
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{name:<44} {best:>8.3} s {:>8.0} MB/s", bytes as f64 / 1e6 / best);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if args.first().map(String::as_str) == Some("generate") {
        let rows: u64 = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(10_000_000);
        let out = args.get(2).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("bench-log.csv"));
        if let Err(e) = generate(rows, &out) {
            eprintln!("generate: {e}");
            std::process::exit(1);
        }
        return;
    }
    let dir = std::env::temp_dir().join("steward-fairness-bench");
    let _ = std::fs::create_dir_all(&dir);
    let csv = dir.join("log-1M.csv");
    if !csv.exists() && generate(1_000_000, &csv).is_err() {
        eprintln!("cannot write {}", csv.display());
        return;
    }
    let simple = Spec::new(&["group"], "label", Spec::prediction("prediction"));
    time("csv: group, label, prediction", &csv, &simple);
    let mut full = Spec::new(&["group", "group2"], "label", Spec::score("score", 0.5));
    full.time = Some("timestamp".into());
    full.window = Window::Day;
    full.version = Some("model_version".into());
    time("csv: group x group2, score+sweep, day, version", &csv, &full);
    let zst = dir.join("log-1M.csv.zst");
    if !zst.exists()
        && let Ok(bytes) = std::fs::read(&csv)
    {
        let _ = zstd::encode_all(&bytes[..], 3).map(|z| std::fs::write(&zst, z));
    }
    time("csv.zst: group, label, prediction", &zst, &simple);
}
