//! A bounded load generator: inference requests at a target rate with a cap on requests in flight.
//! Loopback only unless the caller allows remote hosts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::oip::OipClient;
use super::{Result, ServingError};

pub const MAX_RPS: f64 = 1000.0;
pub const MAX_DURATION_S: f64 = 600.0;
pub const MAX_CONCURRENCY: usize = 256;
/// Distinct error messages kept in a report; the rest are counted under "other errors".
const MAX_ERROR_KINDS: usize = 5;

#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub endpoint: String,
    pub model: String,
    pub version: Option<String>,
    /// The Open Inference Protocol request body sent each time.
    pub body: Value,
    pub rps: f64,
    pub duration: Duration,
    pub concurrency: usize,
    pub allow_remote: bool,
    /// Per request.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    pub endpoint: String,
    pub model: String,
    pub version: Option<String>,
    pub target_rps: f64,
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub elapsed_s: f64,
    pub achieved_rps: f64,
    /// Mean round trip of the successful requests.
    pub avg_latency_s: Option<f64>,
    /// Error message -> count.
    pub errors: BTreeMap<String, u64>,
}

/// Refuses a host that is not loopback (127.0.0.0/8, ::1, localhost) unless `allow_remote`.
pub fn check_target(endpoint: &str, allow_remote: bool) -> std::result::Result<(), String> {
    let u = url::Url::parse(endpoint).map_err(|e| format!("endpoint URL '{endpoint}': {e}"))?;
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if loopback || allow_remote {
        return Ok(());
    }
    Err(format!(
        "refusing to send load to {}: not a loopback address (127.0.0.0/8, ::1, localhost); pass --allow-remote \
         for an endpoint you are responsible for",
        u.host_str().unwrap_or("?")
    ))
}

/// The bounds: 0 < rps <= 1000, 0 < duration <= 600 s, 1 <= concurrency <= 256.
pub fn validate(spec: &LoadSpec) -> std::result::Result<(), String> {
    if !(spec.rps > 0.0 && spec.rps <= MAX_RPS) {
        return Err(format!("--rps must be above 0 and at most {MAX_RPS}, not {}", spec.rps));
    }
    let secs = spec.duration.as_secs_f64();
    if !(secs > 0.0 && secs <= MAX_DURATION_S) {
        return Err(format!("--duration must be above 0 and at most {MAX_DURATION_S} s, not {secs}"));
    }
    if spec.concurrency == 0 || spec.concurrency > MAX_CONCURRENCY {
        return Err(format!("--concurrency must be 1..={MAX_CONCURRENCY}, not {}", spec.concurrency));
    }
    Ok(())
}

/// Sends `rps * duration` requests, one every 1/rps seconds, never more than `concurrency` at once
/// (a slow server lowers the achieved rate; sending stops at the end of the duration), then waits for
/// the answers.
pub async fn run(spec: &LoadSpec) -> Result<LoadReport> {
    check_target(&spec.endpoint, spec.allow_remote).map_err(ServingError::Unsupported)?;
    validate(spec).map_err(|m| ServingError::Invalid { what: "load".into(), message: m })?;
    let client = OipClient::new(&spec.endpoint, spec.timeout)?;
    let body = Arc::new(spec.body.clone());
    let permits = Arc::new(Semaphore::new(spec.concurrency));
    let total = (spec.rps * spec.duration.as_secs_f64()).round().max(1.0) as u64;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / spec.rps));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let started = Instant::now();
    let end = started + spec.duration;
    let mut tasks = JoinSet::new();
    let mut sent = 0;
    while sent < total && Instant::now() < end {
        ticks.tick().await;
        let Ok(permit) = permits.clone().acquire_owned().await else { break };
        let (c, b, m, v) = (client.clone(), body.clone(), spec.model.clone(), spec.version.clone());
        tasks.spawn(async move {
            let t = Instant::now();
            let r = c.infer(&m, v.as_deref(), &b).await.map(|_| ());
            drop(permit);
            (r, t.elapsed())
        });
        sent += 1;
    }
    let mut tally = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((r, took)) => tally.add(r, took),
            Err(e) => tally.fail(format!("request task failed: {e}")),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(LoadReport {
        endpoint: client.endpoint(),
        model: spec.model.clone(),
        version: spec.version.clone(),
        target_rps: spec.rps,
        sent,
        ok: tally.ok,
        failed: tally.failed,
        elapsed_s: elapsed,
        achieved_rps: if elapsed > 0.0 { sent as f64 / elapsed } else { 0.0 },
        avg_latency_s: (tally.ok > 0).then(|| tally.ok_time / tally.ok as f64),
        errors: tally.errors,
    })
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    ok_time: f64,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, r: Result<()>, took: Duration) {
        match r {
            Ok(()) => {
                self.ok += 1;
                self.ok_time += took.as_secs_f64();
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn fail(&mut self, message: String) {
        self.failed += 1;
        let key = if self.errors.contains_key(&message) || self.errors.len() < MAX_ERROR_KINDS {
            message
        } else {
            "other errors".to_string()
        };
        *self.errors.entry(key).or_insert(0) += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_without_allow_remote() {
        assert!(check_target("http://127.0.0.1:8080", false).is_ok());
        assert!(check_target("http://127.1.2.3:8080", false).is_ok());
        assert!(check_target("http://localhost:8080", false).is_ok());
        assert!(check_target("http://[::1]:8080", false).is_ok());
        let e = check_target("http://10.0.0.5:8080", false).unwrap_err();
        assert!(e.contains("10.0.0.5") && e.contains("--allow-remote"), "{e}");
        assert!(check_target("http://example.com", false).is_err());
        assert!(check_target("http://localhost.example.com", false).is_err());
        assert!(check_target("http://10.0.0.5:8080", true).is_ok());
    }

    #[test]
    fn bounds_are_enforced() {
        let spec = LoadSpec {
            endpoint: "http://127.0.0.1:1".into(),
            model: "m".into(),
            version: None,
            body: Value::Null,
            rps: 10.0,
            duration: Duration::from_secs(1),
            concurrency: 4,
            allow_remote: false,
            timeout: Duration::from_secs(1),
        };
        assert!(validate(&spec).is_ok());
        assert!(validate(&LoadSpec { rps: 0.0, ..spec.clone() }).is_err());
        assert!(validate(&LoadSpec { rps: 5000.0, ..spec.clone() }).is_err());
        assert!(validate(&LoadSpec { concurrency: 0, ..spec.clone() }).is_err());
        assert!(validate(&LoadSpec { duration: Duration::from_secs(3600), ..spec }).is_err());
    }
}
