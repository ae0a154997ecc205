//! The window's watch on serving: bounded polling of endpoints (interval, per-request timeout, backoff on
//! failure, a cap on requests in flight), live per-version metrics from Prometheus or a direct scrape,
//! history from Prometheus, a replay of a prediction log as live traffic, and alert evaluation. Runs on
//! the backend's runtime; sends snapshots and points, never blocks the window.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::serving::alerts::{Alerts, Rule, Transition};
use crate::serving::metrics::{MetricsReport, MetricsSource, PrometheusSource, ScrapeSource};
use crate::serving::names::ServerKind;
use crate::serving::oip::{self, EndpointState};
use crate::serving::prom::PromClient;

pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);
pub const METRICS_INTERVAL: Duration = Duration::from_secs(2);
/// Longest wait before re-probing an endpoint that keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Probes in flight at once, whatever the number of endpoints.
pub const MAX_IN_FLIGHT: usize = 8;

/// What to watch (from the active profile).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonitorConfig {
    pub endpoints: Vec<String>,
    pub prometheus: Option<String>,
    /// Metrics URLs scraped directly when there is no Prometheus.
    pub scrape: Vec<String>,
    pub alerts: Vec<String>,
    pub timeout: Duration,
    /// A prediction log played back as live traffic (labelled "replay").
    pub replay: Option<PathBuf>,
}

/// One point of one series: (model, version, metric) at time t.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SamplePoint {
    pub model: String,
    pub version: String,
    pub metric: &'static str,
    pub t: f64,
    pub v: f64,
}

#[derive(Debug, Clone)]
pub enum MonitorEvent {
    Endpoints(Vec<EndpointState>),
    /// Live points; `source` says where they came from ("Prometheus at ...", "replay of ...").
    Samples { source: String, points: Vec<SamplePoint>, report: Option<Box<MetricsReport>> },
    MetricsError(String),
    Alert(Transition),
}

/// Per-version metrics of a report as points.
pub fn points_of(report: &MetricsReport) -> Vec<SamplePoint> {
    let mut out = Vec::new();
    for v in &report.versions {
        let version = v.version.clone().unwrap_or_else(|| "-".into());
        let mut push = |metric: &'static str, value: Option<f64>| {
            if let Some(x) = value.filter(|x| x.is_finite()) {
                out.push(SamplePoint { model: v.model.clone(), version: version.clone(), metric, t: report.at, v: x });
            }
        };
        push("request_rate", v.request_rate);
        push("error_rate", v.error_rate);
        push("latency_avg", v.avg_latency_s);
        for q in &v.quantiles {
            let name = match q.q {
                x if (x - 0.5).abs() < 1e-9 => "p50",
                x if (x - 0.95).abs() < 1e-9 => "p95",
                x if (x - 0.99).abs() < 1e-9 => "p99",
                _ => continue,
            };
            push(name, q.seconds);
        }
    }
    out
}

/// How much history fills the live window when the monitor starts.
pub const LIVE_BACKFILL: f64 = 15.0 * 60.0;

/// The backoff before the next probe of an endpoint that failed `failures` times in a row.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return PROBE_INTERVAL;
    }
    let secs = PROBE_INTERVAL.as_secs_f64() * 2f64.powi(failures.min(8) as i32);
    Duration::from_secs_f64(secs).min(MAX_BACKOFF)
}

struct Slot {
    state: Option<EndpointState>,
    due: Instant,
    failures: u32,
    in_flight: bool,
}

/// Runs until the receiver of `send` is gone or the task is aborted.
pub async fn run(cfg: MonitorConfig, send: impl Fn(MonitorEvent) -> bool + Send + Sync + 'static) {
    let send = Arc::new(send);
    let mut alerts =
        Alerts::new(cfg.alerts.iter().filter_map(|r| Rule::parse(r).ok()).collect()).with_step(METRICS_INTERVAL.as_secs_f64());
    for bad in cfg.alerts.iter().filter_map(|r| Rule::parse(r).err()) {
        send(MonitorEvent::MetricsError(format!("alert rule ignored: {bad}")));
    }
    let now = Instant::now();
    let mut slots: Vec<Slot> =
        cfg.endpoints.iter().map(|_| Slot { state: None, due: now, failures: 0, in_flight: false }).collect();
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut probes: JoinSet<(usize, EndpointState)> = JoinSet::new();
    let mut source = metrics_source(&cfg, &send);
    let mut replay = cfg.replay.as_ref().map(|p| Replay::open(p));
    if let Some(Err(e)) = &replay {
        send(MonitorEvent::MetricsError(e.clone()));
    }
    // The live window starts full: its last 15 minutes from Prometheus, when there is one.
    if let Some(p) = &cfg.prometheus {
        match history(p, cfg.timeout, LIVE_BACKFILL, crate::serving::unix_now()).await {
            Ok(h) => {
                let points = h
                    .into_iter()
                    .flat_map(|((model, version, metric), pts)| {
                        pts.into_iter().map(move |(t, v)| SamplePoint { model: model.clone(), version: version.clone(), metric, t, v })
                    })
                    .collect();
                send(MonitorEvent::Samples { source: format!("Prometheus at {}", crate::connect::http::redact_url(p)), points, report: None });
            }
            Err(e) => {
                send(MonitorEvent::MetricsError(format!("could not load the last 15 minutes: {e}")));
            }
        }
    }
    let mut next_metrics = now;
    // The metrics round in flight: sampled on its own task, so a hung Prometheus never holds up the
    // endpoint probes (the source comes back with its answer).
    type Sampled = (MetricsSource, Result<std::result::Result<MetricsReport, String>, ()>);
    let mut sampling: Option<tokio::task::JoinHandle<Sampled>> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let now = Instant::now();
        for (i, s) in slots.iter_mut().enumerate() {
            if !s.in_flight && s.due <= now {
                s.in_flight = true;
                let (url, timeout, permits) = (cfg.endpoints[i].clone(), cfg.timeout, permits.clone());
                probes.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    (i, oip::probe(&url, timeout).await)
                });
            }
        }
        let mut changed = false;
        while let Some(done) = probes.try_join_next() {
            let Ok((i, state)) = done else { continue };
            let s = &mut slots[i];
            s.in_flight = false;
            s.failures = if state.health.is_down() { s.failures + 1 } else { 0 };
            s.due = Instant::now() + backoff(s.failures);
            s.state = Some(state);
            changed = true;
        }
        if changed {
            let snapshot: Vec<EndpointState> = slots.iter().filter_map(|s| s.state.clone()).collect();
            if !send(MonitorEvent::Endpoints(snapshot)) {
                return;
            }
        }
        if sampling.is_none() {
            if now < next_metrics {
                continue;
            }
            next_metrics = now + METRICS_INTERVAL;
            if let Some(mut src) = source.take() {
                let limit = cfg.timeout + Duration::from_secs(1);
                sampling = Some(tokio::spawn(async move {
                    let r = tokio::time::timeout(limit, src.sample(None)).await.map(|r| r.map_err(|e| e.to_string())).map_err(|_| ());
                    (src, r)
                }));
                continue;
            }
        } else if !sampling.as_ref().is_some_and(|h| h.is_finished()) {
            continue;
        }
        let mut points = Vec::new();
        let mut label = String::new();
        let mut report = None;
        if let Some(h) = sampling.take() {
            match h.await {
                Ok((src, r)) => {
                    source = Some(src);
                    match r {
                        Ok(Ok(r)) => {
                            points = points_of(&r);
                            label = r.source.clone();
                            report = Some(Box::new(r));
                        }
                        Ok(Err(e)) => {
                            send(MonitorEvent::MetricsError(e));
                        }
                        Err(()) => {
                            send(MonitorEvent::MetricsError(format!("metrics did not answer within {:?}", cfg.timeout)));
                        }
                    }
                }
                Err(_) => {
                    send(MonitorEvent::MetricsError("metrics sampling stopped unexpectedly; reopen the profile to restart it".into()));
                }
            }
        }
        if let Some(Ok(r)) = replay.as_mut() {
            points.extend(r.step(crate::serving::unix_now()));
            if label.is_empty() {
                label = r.label.clone();
            }
        }
        if points.is_empty() && report.is_none() {
            continue;
        }
        let mut transitions = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for p in &points {
            let series = format!("{} v{}", p.model, p.version);
            transitions.extend(alerts.observe(&series, p.metric, p.t, p.v));
            seen.insert((series, p.metric.to_string()));
        }
        // A series missing from this round's answer is absent at this evaluation (as in Prometheus).
        let t = points.iter().map(|p| p.t).fold(crate::serving::unix_now(), f64::max);
        for (series, metric) in alerts.tracked() {
            if !seen.contains(&(series.clone(), metric.clone())) {
                transitions.extend(alerts.absent(&series, &metric, t));
            }
        }
        for tr in transitions {
            if !send(MonitorEvent::Alert(tr)) {
                return;
            }
        }
        if !send(MonitorEvent::Samples { source: label, points, report }) {
            return;
        }
    }
}

fn metrics_source(cfg: &MonitorConfig, send: &Arc<impl Fn(MonitorEvent) -> bool>) -> Option<MetricsSource> {
    let kind = ServerKind::Mlserver;
    let made = if let Some(p) = &cfg.prometheus {
        PrometheusSource::new(p, kind, cfg.timeout).map(MetricsSource::Prometheus)
    } else if let Some(s) = cfg.scrape.first() {
        ScrapeSource::new(s, kind, cfg.timeout).map(MetricsSource::Scrape)
    } else {
        return None;
    };
    match made {
        Ok(s) => Some(s),
        Err(e) => {
            send(MonitorEvent::MetricsError(e.to_string()));
            None
        }
    }
}

/// Writes an alert transition to the audit log (phase observed, action alert_fired / alert_resolved;
/// the series goes in `model`, the rule and the value in `reason`).
pub fn record_alert(audit: &crate::audit::AuditLog, os_user: &str, tr: &Transition) -> Result<crate::audit::Record, String> {
    let (action, series, text) = match tr {
        Transition::Fired { series, .. } => ("alert_fired", series, tr.describe()),
        Transition::Resolved { series, .. } => ("alert_resolved", series, tr.describe()),
    };
    audit
        .append(crate::audit::Entry {
            phase: crate::audit::Phase::Observed,
            op: None,
            actor: crate::audit::Actor::new(os_user.to_string(), None),
            action: action.into(),
            registry: String::new(),
            model: series.split(' ').next().unwrap_or_default().to_string(),
            alias: String::new(),
            from: None,
            to: None,
            reason: text,
            outcome: None,
            error: None,
            endpoint: None,
            gates: None,
            segment: None,
        })
        .map_err(|e| e.to_string())
}

/// A rule's state on one series after `check_alerts`.
#[derive(Debug, Clone, Serialize)]
pub struct AlertStatus {
    pub rule: String,
    pub series: String,
    pub firing: bool,
    /// The latest value seen (None: no data in the window).
    pub value: Option<f64>,
    pub query: String,
}

/// Evaluates rules against Prometheus the way the window does: each rule's series over its `for`
/// window (plus one step), fed point by point to the same alert engine. `now` is Unix seconds.
pub async fn check_alerts(prometheus: &str, timeout: Duration, rules: &[Rule], now: f64) -> Result<Vec<AlertStatus>, String> {
    let (client, queries) = prometheus_queries(prometheus, timeout)?;
    let mut out = Vec::new();
    for rule in rules {
        let key = match query_key(&rule.metric) {
            m @ ("p50" | "p95" | "p99") if !queries.contains_key(m) => format!("route_{m}"),
            m => m.to_string(),
        };
        let Some(q) = queries.get(&key) else {
            return Err(format!("no PromQL for '{}' on this server", rule.metric));
        };
        let step = (rule.for_secs / 20.0).clamp(1.0, 60.0).round();
        let start = now - rule.for_secs - step;
        let series = client.query_range(q, start, now, step).await.map_err(|e| e.to_string())?;
        for s in series {
            let name = match (s.metric.get("model"), s.metric.get("version")) {
                (Some(m), Some(v)) => format!("{m} v{v}"),
                (Some(m), None) => m.clone(),
                _ => "all infer calls".to_string(),
            };
            let mut engine = Alerts::new(vec![rule.clone()]).with_step(step);
            let mut last = None;
            for (t, v) in &s.values {
                engine.observe(&name, &rule.metric, *t, v.0);
                if v.0.is_finite() {
                    last = Some(v.0);
                }
            }
            // No sample at the last evaluation: the series is absent now (pending dropped, firing resolved).
            let final_t = start + ((now - start) / step).floor() * step;
            if s.values.last().is_some_and(|(t, _)| *t < final_t - step / 2.0) {
                engine.absent(&name, &rule.metric, final_t);
            }
            let firing = !engine.firing().is_empty();
            out.push(AlertStatus { rule: rule.text.clone(), series: name, firing, value: last, query: q.clone() });
        }
    }
    Ok(out)
}

/// The client and the PromQL of every number (the same queries as the live `PrometheusSource`).
fn prometheus_queries(prometheus: &str, timeout: Duration) -> Result<(PromClient, BTreeMap<String, String>), String> {
    let source = PrometheusSource::new(prometheus, ServerKind::Mlserver, timeout).map_err(|e| e.to_string())?;
    let client = PromClient::new(prometheus, timeout).map_err(|e| e.to_string())?;
    Ok((client, source.queries()))
}

/// The `PrometheusSource::queries` key of a metric as Steward names it in series and rules.
fn query_key(metric: &str) -> &str {
    if metric == "latency_avg" { "avg_latency_s" } else { metric }
}

/// A series of the history: (model, version, metric) -> points.
pub type History = BTreeMap<(String, String, &'static str), Vec<(f64, f64)>>;

/// Per-version request rate, error rate and average latency over [end - range, end] from Prometheus,
/// with the same PromQL as the live numbers.
pub async fn history(prometheus: &str, timeout: Duration, range: f64, end: f64) -> Result<History, String> {
    let step = (range / 600.0).max(1.0).round();
    let (client, queries) = prometheus_queries(prometheus, timeout)?;
    let mut out = History::new();
    for metric in ["request_rate", "error_rate", "latency_avg"] {
        let Some(q) = queries.get(query_key(metric)) else { continue };
        let series = client.query_range(q, end - range, end, step).await.map_err(|e| e.to_string())?;
        for s in series {
            let model = s.metric.get("model").cloned().unwrap_or_default();
            let version = s.metric.get("version").cloned().unwrap_or_else(|| "-".into());
            let pts = s.values.iter().map(|(t, v)| (*t, v.0)).filter(|(_, v)| v.is_finite()).collect();
            out.insert((model, version, metric), pts);
        }
    }
    Ok(out)
}

/// A prediction log (timestamp, model_version, label, prediction columns) played back as traffic: each
/// second of wall time plays `ROWS_PER_TICK` rows per version, giving request rate, and the accuracy and
/// selection rate of the rows just played. A log has no latencies or errors, and the replay says so.
pub struct Replay {
    pub label: String,
    model: String,
    rows: Vec<(String, bool, bool)>,
    pos: usize,
    last: Option<f64>,
}

pub const REPLAY_ROWS_PER_SECOND: usize = 30;

impl Replay {
    pub fn open(path: &std::path::Path) -> Result<Replay, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("replay: cannot read {}: {e}", path.display()))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let col = |n: &str| header.iter().position(|h| *h == n).ok_or_else(|| format!("replay: {} has no '{n}' column", path.display()));
        let (v, l, p) = (col("model_version")?, col("label")?, col("prediction")?);
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            let (Some(ver), Some(lab), Some(pred)) = (f.get(v), f.get(l), f.get(p)) else {
                return Err(format!("replay: {}:{}: expected {} fields", path.display(), i + 2, header.len()));
            };
            rows.push((ver.to_string(), *lab == "1", *pred == "1"));
        }
        if rows.is_empty() {
            return Err(format!("replay: {} has no rows", path.display()));
        }
        Ok(Replay {
            label: format!("replay of {}", path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()),
            model: crate::config::sample::MODEL.to_string(),
            rows,
            pos: 0,
            last: None,
        })
    }

    /// Plays the rows due since the last call (looping over the log) and returns their points at `now`.
    pub fn step(&mut self, now: f64) -> Vec<SamplePoint> {
        let dt = self.last.map_or(1.0, |l| (now - l).clamp(0.0, 10.0));
        self.last = Some(now);
        // Rows are interleaved by version, so n rows hold about n / versions per version.
        let n = ((REPLAY_ROWS_PER_SECOND as f64 * 3.0 * dt).round() as usize).max(1);
        let mut per: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
        for _ in 0..n {
            let (v, label, pred) = &self.rows[self.pos];
            self.pos = (self.pos + 1) % self.rows.len();
            let e = per.entry(v.as_str()).or_default();
            e.0 += 1;
            e.1 += u64::from(label == pred);
            e.2 += u64::from(*pred);
        }
        let mut out = Vec::new();
        for (v, (count, correct, selected)) in per {
            let mut p = |metric: &'static str, x: f64| {
                out.push(SamplePoint { model: self.model.clone(), version: v.to_string(), metric, t: now, v: x })
            };
            p("request_rate", count as f64 / dt.max(1e-9));
            // A prediction log records no errors or latencies: no such series, rather than a made-up 0.
            p("accuracy", correct as f64 / count as f64);
            p("selection_rate", selected as f64 / count as f64);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0), PROBE_INTERVAL);
        assert_eq!(backoff(1), PROBE_INTERVAL * 2);
        assert_eq!(backoff(2), PROBE_INTERVAL * 4);
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn the_replay_plays_the_log_and_counts_what_it_played() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("log.csv");
        let mut text = String::from("timestamp,model_version,sex,race,label,prediction,score\n");
        for i in 0..90 {
            // v1 always right, v2 right every other row
            let v = 1 + i % 2;
            let label = i % 3 == 0;
            let pred = if v == 1 { label } else { (i / 2) % 2 == 0 };
            text.push_str(&format!("t,{v},F,W,{},{},0.5\n", label as u8, pred as u8));
        }
        std::fs::write(&p, text).expect("write");
        let mut r = Replay::open(&p).expect("open");
        assert!(r.label.contains("replay"));
        let pts = r.step(1000.0);
        let get = |v: &str, m: &str| pts.iter().find(|x| x.version == v && x.metric == m).map(|x| x.v);
        assert_eq!(get("1", "accuracy"), Some(1.0));
        assert_eq!(get("1", "request_rate").unwrap() + get("2", "request_rate").unwrap(), 90.0);
        assert!(get("2", "accuracy").unwrap() < 1.0);
        // A bad line is named.
        std::fs::write(&p, "timestamp,model_version,label,prediction\nt,1,1,1\nt,1\n").expect("write");
        assert!(Replay::open(&p).err().unwrap_or_default().contains(":3:"));
    }
}
