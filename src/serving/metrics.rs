//! Per-version serving metrics from one of two sources behind one interface (`MetricsSource`):
//! a direct scrape of an endpoint's metrics URL (rates between successive scrapes), or Prometheus
//! (PromQL evaluated at one explicit time). Metric names come from `names`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::exposition::{self, Scrape, Series};
use super::names::{Latency, MetricNames, ServerKind};
use super::prom::{InstantSample, PromClient};
use super::{Result, ServingError, http_client, unix_now};
use crate::connect::http::Http;

/// The percentiles reported where a histogram allows.
pub const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// A latency percentile, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantile {
    pub q: f64,
    pub seconds: Option<f64>,
    pub reason: Option<String>,
}

/// What one model version is doing. A `None` has its reason in `notes` (or in the quantile).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionMetrics {
    pub model: String,
    /// None when the server does not label metrics by version (KServe).
    pub version: Option<String>,
    /// Requests per second (successes and failures).
    pub request_rate: Option<f64>,
    /// Failures as a fraction of requests.
    pub error_rate: Option<f64>,
    pub avg_latency_s: Option<f64>,
    pub quantiles: Vec<Quantile>,
    /// Raw counters at the evaluation time (sums over instances).
    pub success_total: Option<f64>,
    pub failure_total: Option<f64>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsReport {
    /// "Prometheus at URL" or "scrape of URL".
    pub source: String,
    pub server: ServerKind,
    /// Evaluation time (Prometheus) or time of the latest scrape, Unix seconds.
    pub at: f64,
    /// The rate window: the PromQL range, or the time between the two scrapes (None after the first).
    pub window_s: Option<f64>,
    pub versions: Vec<VersionMetrics>,
    /// Percentiles of all infer calls from a per-route histogram (MLServer), when there is one.
    pub route_quantiles: Vec<Quantile>,
    /// The PromQL behind each number (Prometheus source), so anyone can re-run it.
    pub queries: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

/// The one interface the window and the CLI use for live metrics.
pub enum MetricsSource {
    Scrape(ScrapeSource),
    Prometheus(PrometheusSource),
}

impl MetricsSource {
    /// Current per-version metrics. `at` is the evaluation time for Prometheus (None: now); a scrape is
    /// always now, and its first call has totals but no rates yet.
    pub async fn sample(&mut self, at: Option<f64>) -> Result<MetricsReport> {
        match self {
            MetricsSource::Scrape(s) => s.sample().await,
            MetricsSource::Prometheus(p) => p.sample(at).await,
        }
    }
}

type Key = (String, Option<String>);

fn key_of(labels: &BTreeMap<String, String>, names: &MetricNames) -> Key {
    let model = labels.get(names.model_label).cloned().unwrap_or_default();
    (model, names.version_label.and_then(|l| labels.get(l).cloned()))
}

/// Rows by model version, created on first use, sorted by model then version (numerically when it can).
#[derive(Default)]
struct Table {
    rows: BTreeMap<Key, VersionMetrics>,
}

impl Table {
    fn row(&mut self, key: &Key) -> &mut VersionMetrics {
        self.rows.entry(key.clone()).or_insert_with(|| VersionMetrics {
            model: key.0.clone(),
            version: key.1.clone(),
            request_rate: None,
            error_rate: None,
            avg_latency_s: None,
            quantiles: Vec::new(),
            success_total: None,
            failure_total: None,
            notes: Vec::new(),
        })
    }

    fn finish(self, names: &MetricNames) -> Vec<VersionMetrics> {
        let mut rows: Vec<VersionMetrics> = self.rows.into_values().collect();
        rows.sort_by(|a, b| {
            let num = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<u64>().ok());
            (&a.model, num(&a.version), &a.version).cmp(&(&b.model, num(&b.version), &b.version))
        });
        for r in &mut rows {
            if r.quantiles.is_empty() {
                r.quantiles = no_histogram_quantiles(names);
            }
        }
        rows
    }
}

fn no_histogram_quantiles(names: &MetricNames) -> Vec<Quantile> {
    QUANTILES
        .iter()
        .map(|&q| Quantile { q, seconds: None, reason: Some(no_histogram_reason(names, q)) })
        .collect()
}

fn no_histogram_reason(names: &MetricNames, q: f64) -> String {
    let server = names.server.display_name();
    match (names.latency, route_quantile_query(names, q, "", "1m")) {
        (Latency::Histogram { .. }, _) => "no observations in the window".into(),
        (_, Some(query)) => format!(
            "{server} exposes no per-version latency histogram; p{} is available per route: {query}",
            percent(q)
        ),
        _ => format!("{server} exposes no per-version latency histogram"),
    }
}

/// 0.95 -> "95", for names like p95.
fn percent(q: f64) -> String {
    format!("{}", (q * 1000.0).round() / 10.0)
}

/// A value, or None with a note when it is NaN (no requests in the window) or infinite.
fn finite(v: f64, what: &str, notes: &mut Vec<String>) -> Option<f64> {
    if v.is_finite() {
        Some(v)
    } else {
        notes.push(format!("{what}: no data in the window ({v})"));
        None
    }
}

// ------------------------------------------------------------------------------------------ Prometheus

/// Metrics from the Prometheus HTTP API, with PromQL over a `window` (default 1m).
pub struct PrometheusSource {
    client: PromClient,
    names: &'static MetricNames,
    window: String,
    window_s: f64,
    selector: String,
}

fn promql_duration(secs: f64) -> String {
    if secs.fract() == 0.0 { format!("{}s", secs as u64) } else { format!("{}ms", (secs * 1000.0).round() as u64) }
}

/// `name{sel}` (or `name`).
fn sel(name: &str, selector: &str) -> String {
    if selector.is_empty() { name.to_string() } else { format!("{name}{{{selector}}}") }
}

fn route_quantile_query(names: &MetricNames, q: f64, selector: &str, window: &str) -> Option<String> {
    let r = names.route_histogram?;
    let extra = if selector.is_empty() { String::new() } else { format!(",{selector}") };
    Some(format!(
        "histogram_quantile({q}, sum by (le) (rate({}_bucket{{{}=~\"{}\"{extra}}}[{window}])))",
        r.base,
        r.path_label,
        r.infer_path_regex()
    ))
}

impl PrometheusSource {
    pub fn new(url: &str, kind: ServerKind, timeout: Duration) -> Result<PrometheusSource> {
        Ok(PrometheusSource {
            client: PromClient::new(url, timeout)?,
            names: kind.names(),
            window: "1m".into(),
            window_s: 60.0,
            selector: String::new(),
        })
    }

    /// The rate window in seconds (at least two scrape intervals).
    pub fn with_window(mut self, secs: f64) -> PrometheusSource {
        self.window = promql_duration(secs);
        self.window_s = secs;
        self
    }

    /// Extra label matchers added to every selector, e.g. `job="mlserver"`.
    pub fn with_selector(mut self, matchers: &str) -> PrometheusSource {
        self.selector = matchers.to_string();
        self
    }

    fn by(&self) -> String {
        self.names.group_labels().join(", ")
    }

    fn rate_sum(&self, series: &str) -> String {
        format!("sum by ({}) (rate({}[{}]))", self.by(), sel(series, &self.selector), self.window)
    }

    /// Requests per second: successes plus failures (`or` successes alone where a version has no
    /// failure series); the latency count where the server counts no requests. (A `{__name__=~"a|b"}`
    /// selector does not work here: `rate` drops the names and the two series collide.)
    fn request_rate_query(&self) -> String {
        match (self.names.success_total, self.names.failure_total) {
            (Some(s), Some(f)) => format!("({} + {}) or {}", self.rate_sum(s), self.rate_sum(f), self.rate_sum(s)),
            (Some(one), None) | (None, Some(one)) => self.rate_sum(one),
            (None, None) => self.rate_sum(&self.names.latency_sum_count().1),
        }
    }

    /// Every PromQL this source evaluates, by the field it fills.
    pub fn queries(&self) -> BTreeMap<String, String> {
        let mut q = BTreeMap::new();
        let (sum, count) = self.names.latency_sum_count();
        let by = self.by();
        let w = &self.window;
        let requests = self.request_rate_query();
        if let Some(f) = self.names.failure_total {
            q.insert("error_rate".into(), format!("{} / ({requests})", self.rate_sum(f)));
            q.insert("failure_total".into(), format!("sum by ({by}) ({})", sel(f, &self.selector)));
        }
        if let Some(s) = self.names.success_total {
            q.insert("success_total".into(), format!("sum by ({by}) ({})", sel(s, &self.selector)));
        }
        q.insert("request_rate".into(), requests);
        let scale = if self.names.latency_scale == 1.0 { String::new() } else { format!(" * {}", self.names.latency_scale) };
        q.insert("avg_latency_s".into(), format!("{} / {}{scale}", self.rate_sum(&sum), self.rate_sum(&count)));
        for qq in QUANTILES {
            if let Latency::Histogram { base } = self.names.latency {
                let b = sel(&format!("{base}_bucket"), &self.selector);
                q.insert(format!("p{}", percent(qq)), format!("histogram_quantile({qq}, sum by ({by}, le) (rate({b}[{w}]))){scale}"));
            }
            if let Some(rq) = route_quantile_query(self.names, qq, &self.selector, w) {
                q.insert(format!("route_p{}", percent(qq)), rq);
            }
        }
        q
    }

    pub async fn sample(&self, at: Option<f64>) -> Result<MetricsReport> {
        let at = at.unwrap_or_else(|| (unix_now() * 1000.0).round() / 1000.0);
        let queries = self.queries();
        let answers = futures::future::join_all(queries.iter().map(|(name, q)| async move {
            (name.clone(), self.client.query(q, Some(at)).await)
        }))
        .await;
        let mut table = Table::default();
        let mut route = Vec::new();
        let mut warnings = Vec::new();
        let (mut answered, mut first_error) = (0usize, None);
        for (name, answer) in answers {
            match answer {
                Ok(samples) => {
                    answered += 1;
                    self.fill(&mut table, &mut route, &name, &samples);
                }
                Err(e @ (ServingError::Unreachable { .. } | ServingError::Timeout { .. })) => return Err(e),
                Err(e) => {
                    warnings.push(format!("{name}: {e}"));
                    first_error.get_or_insert(e);
                }
            }
        }
        // Not one query answered (every one a 5xx, an HTML page, ...): Prometheus is failing, not
        // answering with gaps.
        if let (0, Some(e)) = (answered, first_error) {
            return Err(e);
        }
        Ok(MetricsReport {
            source: format!("Prometheus at {}", self.client.url()),
            server: self.names.server,
            at,
            window_s: Some(self.window_s),
            versions: table.finish(self.names),
            route_quantiles: route,
            queries,
            warnings,
        })
    }

    fn fill(&self, table: &mut Table, route: &mut Vec<Quantile>, name: &str, samples: &[InstantSample]) {
        if let Some(q) = name.strip_prefix("route_p").and_then(|p| p.parse::<f64>().ok()) {
            let v = samples.first().map(|s| s.value.0).filter(|v| v.is_finite());
            let reason = v.is_none().then(|| "no infer calls in the window".to_string());
            route.push(Quantile { q: q / 100.0, seconds: v, reason });
            return;
        }
        for s in samples {
            let row = table.row(&key_of(&s.metric, self.names));
            let v = finite(s.value.0, name, &mut row.notes);
            match name {
                "request_rate" => row.request_rate = v,
                "error_rate" => row.error_rate = v,
                "avg_latency_s" => row.avg_latency_s = v,
                "success_total" => row.success_total = v,
                "failure_total" => row.failure_total = v,
                p => {
                    if let Some(q) = p.strip_prefix('p').and_then(|x| x.parse::<f64>().ok()) {
                        let reason = v.is_none().then(|| "no observations in the window".to_string());
                        row.quantiles.push(Quantile { q: q / 100.0, seconds: v, reason });
                    }
                }
            }
        }
    }
}

// -------------------------------------------------------------------------------------- direct scrape

/// Metrics from an endpoint's own metrics URL; rates from the difference of successive scrapes.
pub struct ScrapeSource {
    http: Http,
    path: String,
    url: String,
    names: &'static MetricNames,
    last: Option<Scrape>,
}

impl ScrapeSource {
    /// `metrics_url` is the full URL (MLServer: its metrics port, e.g. http://127.0.0.1:8082/metrics).
    pub fn new(metrics_url: &str, kind: ServerKind, timeout: Duration) -> Result<ScrapeSource> {
        let parsed = url::Url::parse(metrics_url).map_err(|e| ServingError::Invalid {
            what: format!("metrics URL '{}'", crate::connect::http::redact_url(metrics_url)),
            message: e.to_string(),
        })?;
        let mut path = parsed.path().trim_start_matches('/').to_string();
        if let Some(q) = parsed.query() {
            path = format!("{path}?{q}");
        }
        let origin = parsed.origin().ascii_serialization();
        let http = http_client(&origin, timeout, "metrics")?;
        let url = format!("{}/{path}", http.base());
        Ok(ScrapeSource { http, path, url, names: kind.names(), last: None })
    }

    pub async fn sample(&mut self) -> Result<MetricsReport> {
        let text = self.http.get_text(&self.path, &[]).await?;
        let at = unix_now();
        let exp = exposition::parse_lenient(&text);
        let mut warnings: Vec<String> = Vec::new();
        if let Some(first) = exp.skipped.first() {
            warnings.push(format!("{} malformed line(s) skipped; first: {first}", exp.skipped.len()));
        }
        let cur = Scrape::new(at, &exp);
        let mut table = Table::default();
        self.fill_totals(&mut table, &cur);
        let prev = self.last.replace(cur);
        let (window_s, route) = match (&prev, &self.last) {
            (Some(p), Some(c)) => (Some(c.at - p.at), self.fill_rates(&mut table, p, c)),
            _ => (None, Vec::new()),
        };
        if window_s.is_none() {
            warnings.push("first scrape: rates need a second one".into());
        }
        Ok(MetricsReport {
            source: format!("scrape of {}", self.url),
            server: self.names.server,
            at,
            window_s,
            versions: table.finish(self.names),
            route_quantiles: route,
            queries: BTreeMap::new(),
            warnings,
        })
    }

    /// Sums by model version of the series named `name` in `values`.
    fn sum_by(&self, values: &BTreeMap<Series, f64>, name: &str) -> BTreeMap<Key, f64> {
        let mut out = BTreeMap::new();
        for (s, v) in values.iter().filter(|(s, _)| s.name == name) {
            *out.entry(key_of(&s.labels, self.names)).or_insert(0.0) += v;
        }
        out
    }

    fn fill_totals(&self, table: &mut Table, cur: &Scrape) {
        if let Some(n) = self.names.success_total {
            for (k, v) in self.sum_by(&cur.values, n) {
                table.row(&k).success_total = Some(v);
            }
        }
        if let Some(n) = self.names.failure_total {
            for (k, v) in self.sum_by(&cur.values, n) {
                table.row(&k).failure_total = Some(v);
            }
        }
    }

    /// Rates, error rates, average latency and quantiles between two scrapes; returns route quantiles.
    fn fill_rates(&self, table: &mut Table, prev: &Scrape, cur: &Scrape) -> Vec<Quantile> {
        let dt = cur.at - prev.at;
        let inc = cur.increase_since(prev);
        let names = self.names;
        let (sum_name, count_name) = names.latency_sum_count();
        let count = self.sum_by(&inc, &count_name);
        let requests = match names.request_counters().as_slice() {
            [] => count.clone(),
            counters => add_maps(counters.iter().map(|c| self.sum_by(&inc, c))),
        };
        let failures = names.failure_total.map(|f| self.sum_by(&inc, f)).unwrap_or_default();
        for (k, n) in &requests {
            let row = table.row(k);
            row.request_rate = Some(n / dt);
            match (names.failure_total, *n > 0.0) {
                (Some(_), true) => row.error_rate = Some(failures.get(k).copied().unwrap_or(0.0) / n),
                (Some(_), false) => row.notes.push("error_rate: no requests between the two scrapes".into()),
                (None, _) => row.notes.push(format!("error_rate: {} exposes no failure counter", names.server.display_name())),
            }
        }
        for (k, s) in self.sum_by(&inc, &sum_name) {
            let row = table.row(&k);
            match count.get(&k).copied().filter(|c| *c > 0.0) {
                Some(c) => row.avg_latency_s = Some(s / c * names.latency_scale),
                None => row.notes.push("avg_latency_s: no requests between the two scrapes".into()),
            }
        }
        if let Latency::Histogram { base } = names.latency {
            for (k, buckets) in self.buckets_by_version(&inc, &format!("{base}_bucket")) {
                table.row(&k).quantiles = quantiles_of(&buckets, names.latency_scale);
            }
        }
        self.route_quantiles(&inc)
    }

    fn buckets_by_version(&self, inc: &BTreeMap<Series, f64>, bucket: &str) -> BTreeMap<Key, Vec<(f64, f64)>> {
        let mut by: BTreeMap<Key, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
        for (s, v) in inc.iter().filter(|(s, _)| s.name == bucket) {
            add_bucket(by.entry(key_of(&s.labels, self.names)).or_default(), s, *v);
        }
        by.into_iter().map(|(k, b)| (k, b.into_values().collect())).collect()
    }

    fn route_quantiles(&self, inc: &BTreeMap<Series, f64>) -> Vec<Quantile> {
        let Some(r) = self.names.route_histogram else { return Vec::new() };
        let bucket = format!("{}_bucket", r.base);
        let mut merged = BTreeMap::new();
        for (s, v) in inc.iter().filter(|(s, _)| s.name == bucket) {
            if s.label(r.path_label).is_some_and(|p| p.ends_with(r.infer_path_suffix)) {
                add_bucket(&mut merged, s, *v);
            }
        }
        quantiles_of(&merged.into_values().collect::<Vec<_>>(), 1.0)
    }
}

/// Adds a bucket's increase to the (le -> (le, count)) map, keyed by the bound's bits.
fn add_bucket(map: &mut BTreeMap<u64, (f64, f64)>, s: &Series, v: f64) {
    if let Some(le) = s.label("le").and_then(|l| exposition::parse_value(l).ok()) {
        map.entry(le.to_bits()).or_insert((le, 0.0)).1 += v;
    }
}

fn quantiles_of(buckets: &[(f64, f64)], scale: f64) -> Vec<Quantile> {
    QUANTILES
        .iter()
        .map(|&q| match exposition::histogram_quantile(q, buckets) {
            Some(v) => Quantile { q, seconds: Some(v * scale), reason: None },
            None => Quantile { q, seconds: None, reason: Some("no observations between the two scrapes".into()) },
        })
        .collect()
}

fn add_maps(maps: impl Iterator<Item = BTreeMap<Key, f64>>) -> BTreeMap<Key, f64> {
    let mut out = BTreeMap::new();
    for m in maps {
        for (k, v) in m {
            *out.entry(k).or_insert(0.0) += v;
        }
    }
    out
}

#[cfg(test)]
mod tests;
