//! Alert `for` windows across gaps and NaN steps (issue 12, item 11), with a real Prometheus as the
//! oracle. The test starts its own Prometheus (the one of the stack has no rule files) on loopback,
//! scraping two tiny exposition targets served here every second, with the rule
//! `steward_test_error_ratio > 0.02 for 8s`:
//! - job "gap": breach, then the target stops answering for 5 s (failed scrapes, stale series), then
//!   breach again;
//! - job "nan": breach, then NaN (0/0: no traffic) for 5 s, then breach again.
//!
//! Prometheus resets the pending alert in both cases and fires 8 s after the breach resumes. Steward's
//! alert engine, fed the same series from a range query, must fire at the same time (within the 1 s
//! scrape and evaluation jitter); the old engine fired right after the gap.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::Value;
use steward::serving::alerts::{Alerts, Rule, Transition};

const BREACH: u8 = 0;
const DOWN: u8 = 1;
const NAN: u8 = 2;
const FOR_SECS: f64 = 8.0;

/// A scrape target: answers `steward_test_error_ratio 0.05` (or NaN), or closes every connection
/// without an answer while DOWN (the scrape fails, as when the server is stopped).
fn target(mode: Arc<AtomicU8>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let value = match mode.load(Ordering::SeqCst) {
                DOWN => continue, // dropped: connection closed, no answer
                NAN => "NaN",
                _ => "0.05",
            };
            let body = format!("# TYPE steward_test_error_ratio gauge\nsteward_test_error_ratio {value}\n");
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_prometheus(gap_port: u16, nan_port: u16) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        format!("groups:\n- name: steward-test\n  interval: 1s\n  rules:\n  - alert: ErrorRatio\n    expr: steward_test_error_ratio > 0.02\n    for: {FOR_SECS}s\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nscrape_configs:\n\
             - job_name: gap\n  static_configs: [{{targets: ['127.0.0.1:{gap_port}']}}]\n\
             - job_name: nan\n  static_configs: [{{targets: ['127.0.0.1:{nan_port}']}}]\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `prometheus` ({e}): install it (scripts/stack install does) or run scripts/test"));
    let p = Prometheus { child, url: format!("http://127.0.0.1:{port}"), _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ready = rt.block_on(async { reqwest::Client::new().get(format!("{}/-/ready", p.url)).timeout(Duration::from_secs(2)).send().await });
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(Instant::now() < deadline, "Prometheus at {} not ready in 60 s", p.url);
        std::thread::sleep(Duration::from_millis(200));
    }
    p
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn query_range(url: &str, q: &str, start: f64, end: f64) -> Value {
    let enc = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("query", q)
        .append_pair("start", &format!("{start:.3}"))
        .append_pair("end", &format!("{end:.3}"))
        .append_pair("step", "1")
        .finish();
    http_get_json(&format!("{url}/api/v1/query_range?{enc}"))
}

/// The first time at which each job's series has a point in a range answer.
fn first_point(answer: &Value, job: &str) -> Option<f64> {
    answer["data"]["result"].as_array()?.iter().find(|s| s["metric"]["job"] == job)?["values"].as_array()?.first()?[0].as_f64()
}

#[test]
fn for_restarts_after_a_gap_or_nan_exactly_as_in_prometheus() {
    let (gap_mode, nan_mode) = (Arc::new(AtomicU8::new(BREACH)), Arc::new(AtomicU8::new(BREACH)));
    let (gap_port, nan_port) = (target(gap_mode.clone()), target(nan_mode.clone()));
    let prom = start_prometheus(gap_port, nan_port);

    // Wait for the first samples of both jobs, then: 3 s breach, 5 s gap / NaN, 14 s breach.
    let deadline = Instant::now() + Duration::from_secs(30);
    let t0 = loop {
        let enc = url::form_urlencoded::Serializer::new(String::new()).append_pair("query", "steward_test_error_ratio").finish();
        let r = http_get_json(&format!("{}/api/v1/query?{enc}", prom.url));
        if r["data"]["result"].as_array().is_some_and(|a| a.len() == 2) {
            break now();
        }
        assert!(Instant::now() < deadline, "no samples scraped in 30 s: {r}");
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_secs(3));
    gap_mode.store(DOWN, Ordering::SeqCst);
    nan_mode.store(NAN, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(5));
    gap_mode.store(BREACH, Ordering::SeqCst);
    nan_mode.store(BREACH, Ordering::SeqCst);
    let gap_end = now();
    std::thread::sleep(Duration::from_secs(14));
    let end = now();

    let start = (t0 - 2.0).floor();
    let data = query_range(&prom.url, "steward_test_error_ratio", start, end);
    let alerts = query_range(&prom.url, "ALERTS{alertname=\"ErrorRatio\",alertstate=\"firing\"}", start, end);
    for job in ["gap", "nan"] {
        let prom_fired = first_point(&alerts, job).unwrap_or_else(|| panic!("{job}: Prometheus never fired: {alerts}"));
        assert!(prom_fired >= gap_end + FOR_SECS - 2.0, "{job}: the oracle restarts `for` after the gap: fired {:.1} s after it", prom_fired - gap_end);

        let series = data["data"]["result"].as_array().unwrap().iter().find(|s| s["metric"]["job"] == job).unwrap();
        let points: Vec<(f64, f64)> = series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_str().unwrap().parse::<f64>().unwrap_or(f64::NAN)))
            .collect();
        if job == "gap" {
            assert!(points.windows(2).any(|w| w[1].0 - w[0].0 >= 3.0), "the gap shows as missing steps: {points:?}");
        } else {
            assert!(points.iter().any(|p| p.1.is_nan()), "NaN steps are in the answer: {points:?}");
        }
        let mut engine = Alerts::new(vec![Rule::parse(&format!("error_rate > 2% for {FOR_SECS}s")).unwrap()]).with_step(1.0);
        let fired = points.iter().find_map(|(t, v)| {
            engine.observe(job, "error_rate", *t, *v).into_iter().find_map(|tr| match tr {
                Transition::Fired { at, .. } => Some(at),
                _ => None,
            })
        });
        let fired = fired.unwrap_or_else(|| panic!("{job}: Steward never fired on {points:?}"));
        eprintln!("{job}: Prometheus fired {:.1} s after the gap, Steward {:.1} s", prom_fired - gap_end, fired - gap_end);
        assert!(
            (fired - prom_fired).abs() <= 2.0,
            "{job}: Steward fired at +{:.1} s after the gap, Prometheus at +{:.1} s",
            fired - gap_end,
            prom_fired - gap_end
        );
    }
}
