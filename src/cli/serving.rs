//! `steward endpoints`, `steward metrics` and `steward load`: the headless twins of the Endpoints view.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

use crate::serving::load::{self, LoadReport, LoadSpec};
use crate::serving::oip::{EndpointState, probe_all};
use crate::serving::prom::{InstantSample, PromClient, PromValue, RangeSeries, parse_duration};
use crate::serving::unix_now;
use super::{Failure, Global, Outcome, context, exit, print_json, runtime};

/// Exit code when an endpoint is down (same as an unreachable registry).
pub const EXIT_DOWN: u8 = 5;
/// Exit code when a check refuses the action (a non-loopback load target).
pub const EXIT_REFUSED: u8 = 3;

#[derive(Args, Debug)]
#[command(after_help = "Exit codes: 0 every endpoint up or degraded; 5 at least one endpoint down \
(unreachable, timed out, or not live) or not an Open Inference Protocol server (an HTML or other non-JSON \
body on /v2/health/live, or no OIP server metadata on /v2); 2 no endpoint given or configured.")]
pub struct EndpointsArgs {
    /// Endpoint base URL, e.g. http://127.0.0.1:8080 (repeatable). Replaces the profile's endpoints for
    /// this run.
    #[arg(long = "endpoint", value_name = "URL")]
    pub endpoints: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// A PromQL expression, e.g. 'up' or 'rate(model_infer_request_success_total[1m])' (one starting
    /// with '-', such as '-1/0', is taken as typed).
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    /// Prometheus base URL (default: the profile's).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Query a range ending at --at (or now), e.g. 1h; without it, an instant query.
    #[arg(long, value_name = "DURATION")]
    pub range: Option<String>,
    /// Resolution of a range query.
    #[arg(long, value_name = "DURATION", default_value = "15s", requires = "range")]
    pub step: String,
    /// Evaluation time in Unix seconds (default: now).
    #[arg(long, value_name = "UNIX_SECS")]
    pub at: Option<f64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "Only loopback hosts (127.0.0.0/8, ::1, localhost) unless --allow-remote. Bounds: \
--rps <= 1000, --duration <= 600 s, --concurrency <= 256. Exit codes: 0 at least one request succeeded; \
1 none did; 2 bad usage; 3 refused (remote host).")]
pub struct LoadArgs {
    /// Endpoint base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    pub endpoint: String,
    #[arg(long, value_name = "M")]
    pub model: String,
    /// Model version (default: the server's choice; MLServer takes the highest).
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// File holding the JSON inference request body.
    #[arg(long, value_name = "FILE", required_unless_present = "body_json", conflicts_with = "body_json")]
    pub body: Option<PathBuf>,
    /// The JSON inference request body itself.
    #[arg(long, value_name = "JSON")]
    pub body_json: Option<String>,
    /// Target requests per second.
    #[arg(long, value_name = "N")]
    pub rps: f64,
    /// How long to send, e.g. 10, 10s, 2m.
    #[arg(long, value_name = "SECS")]
    pub duration: String,
    /// Most requests in flight at once.
    #[arg(long, value_name = "K", default_value_t = 8)]
    pub concurrency: usize,
    /// Allow a host that is not loopback.
    #[arg(long)]
    pub allow_remote: bool,
    #[arg(long)]
    pub json: bool,
}

fn usage(message: String) -> Failure {
    Failure { message, code: exit::USAGE }
}

pub(super) fn timeout(g: &Global) -> Result<Duration, Failure> {
    if g.timeout.is_finite() && g.timeout > 0.0 {
        Ok(Duration::from_secs_f64(g.timeout))
    } else {
        Err(usage("--timeout must be a positive number of seconds".into()))
    }
}

/// `steward endpoints`: probe each endpoint; exit 5 when any is down.
pub fn endpoints(g: &Global, a: &EndpointsArgs) -> Outcome {
    let list = if a.endpoints.is_empty() {
        context(g)?.profile.map(|p| p.endpoints).unwrap_or_default()
    } else {
        a.endpoints.clone()
    };
    if list.is_empty() {
        return Err(usage("no endpoints: pass --endpoint URL or add them to the profile (steward profile add ... --endpoint URL)".into()));
    }
    let states = runtime()?.block_on(probe_all(&list, timeout(g)?));
    if a.json {
        print_json(&json!({ "endpoints": states }))?;
    } else {
        print_states(&states);
    }
    let down: Vec<String> = states
        .iter()
        .filter(|s| s.health.is_down())
        .map(|s| s.last_error.as_ref().map(|e| e.message.clone()).unwrap_or_else(|| s.endpoint.clone()))
        .collect();
    if down.is_empty() {
        return Ok(());
    }
    Err(Failure { code: EXIT_DOWN, message: format!("{} of {} endpoint(s) down or not OIP: {}", down.len(), states.len(), down.join("; ")) })
}

fn print_states(states: &[EndpointState]) {
    for s in states {
        let server = s.server.as_ref().map(|m| format!("{} {}", m.name, m.version)).unwrap_or_else(|| "-".into());
        let latency = s.latency_ms.map(|l| format!("{l:.1} ms")).unwrap_or_else(|| "-".into());
        println!("{}  {}  server {server}  latency {latency}", s.endpoint, s.health);
        if let Some(e) = &s.last_error {
            println!("  {}: {}", e.kind, e.message);
        }
        if s.models.is_empty() {
            continue;
        }
        println!("  {:<28} {:>8}  {:<6} {:<12} REASON", "MODEL", "VERSION", "READY", "INDEX STATE");
        for m in &s.models {
            for v in &m.versions {
                println!(
                    "  {:<28} {:>8}  {:<6} {:<12} {}",
                    m.name,
                    v.version.as_deref().unwrap_or("-"),
                    if v.ready { "yes" } else { "NO" },
                    v.index_state.as_deref().unwrap_or("-"),
                    v.reason.as_deref().unwrap_or("")
                );
            }
        }
    }
}

/// `steward metrics QUERY`: an instant query, or a range query with --range.
pub fn metrics(g: &Global, a: &MetricsArgs) -> Outcome {
    let url = match &a.prometheus {
        Some(u) => u.clone(),
        None => context(g)?.profile.and_then(|p| p.prometheus).ok_or_else(|| {
            usage("no Prometheus URL: pass --prometheus URL or set one in the profile (steward profile add ... --prometheus URL)".into())
        })?,
    };
    let client = PromClient::new(&url, timeout(g)?)?;
    let rt = runtime()?;
    match &a.range {
        None => {
            let (kind, result) = rt.block_on(client.query_typed(&a.query, a.at))?;
            if a.json {
                return print_json(&json!({"prometheus": client.url(), "query": a.query, "at": a.at, "result_type": kind, "result": result}));
            }
            print_instant(&result);
        }
        Some(range) => {
            let secs = parse_duration(range).map_err(|e| usage(format!("--range: {e}")))?;
            let step = parse_duration(&a.step).map_err(|e| usage(format!("--step: {e}")))?;
            let end = a.at.unwrap_or_else(unix_now);
            let result = rt.block_on(client.query_range(&a.query, end - secs, end, step))?;
            if a.json {
                return print_json(&json!({
                    "prometheus": client.url(), "query": a.query, "start": end - secs, "end": end, "step": step,
                    "result_type": "matrix", "result": result
                }));
            }
            print_range(&result);
        }
    }
    Ok(())
}

fn series_name(metric: &BTreeMap<String, String>) -> String {
    let name = metric.get("__name__").cloned().unwrap_or_default();
    let labels: Vec<String> =
        metric.iter().filter(|(k, _)| *k != "__name__").map(|(k, v)| format!("{k}={v:?}")).collect();
    if labels.is_empty() && name.is_empty() { "{}".into() } else { format!("{name}{{{}}}", labels.join(",")) }
}

fn print_instant(result: &[InstantSample]) {
    if result.is_empty() {
        println!("no data");
        return;
    }
    println!("{:>16}  SERIES", "VALUE");
    for s in result {
        println!("{:>16}  {}", s.value, series_name(&s.metric));
    }
}

fn print_range(result: &[RangeSeries]) {
    if result.is_empty() {
        println!("no data");
        return;
    }
    print!("{}", range_table(result));
}

/// The range summary: points, min and max over the points that are numbers (NaN points, e.g. an
/// error ratio with no traffic, are left out; a series with none says "no data"), and the last point,
/// all written as Prometheus writes values (`+Inf`, `-Inf`, `NaN`).
fn range_table(result: &[RangeSeries]) -> String {
    let mut out = format!("{:>7} {:>14} {:>14} {:>14}  SERIES\n", "POINTS", "MIN", "MAX", "LAST");
    for s in result {
        let vals = s.values.iter().map(|(_, v)| v.0).filter(|v| !v.is_nan());
        let (min, max) = match (vals.clone().reduce(f64::min), vals.reduce(f64::max)) {
            (Some(lo), Some(hi)) => (PromValue(lo).to_string(), PromValue(hi).to_string()),
            _ => ("no data".to_string(), "no data".to_string()),
        };
        let last = s.values.last().map(|(_, v)| v.to_string()).unwrap_or_else(|| "-".into());
        out.push_str(&format!("{:>7} {:>14} {:>14} {:>14}  {}\n", s.values.len(), min, max, last, series_name(&s.metric)));
    }
    out
}

/// `steward load`: bounded inference load against a loopback endpoint.
pub fn load(g: &Global, a: &LoadArgs) -> Outcome {
    load::check_target(&a.endpoint, a.allow_remote).map_err(|m| Failure { message: m, code: EXIT_REFUSED })?;
    let body = load_body(a)?;
    let duration = parse_duration(&a.duration).map_err(|e| usage(format!("--duration: {e}")))?;
    let spec = LoadSpec {
        endpoint: a.endpoint.clone(),
        model: a.model.clone(),
        version: a.version.clone(),
        body,
        rps: a.rps,
        duration: Duration::from_secs_f64(duration),
        concurrency: a.concurrency,
        allow_remote: a.allow_remote,
        timeout: timeout(g)?,
    };
    load::validate(&spec).map_err(usage)?;
    let report = runtime()?.block_on(load::run(&spec))?;
    if a.json {
        print_json(&report)?;
    } else {
        print_load(&report);
    }
    if report.ok == 0 {
        let first = report.errors.keys().next().cloned().unwrap_or_default();
        return Err(Failure::from(format!("no request succeeded ({} sent): {first}", report.sent)));
    }
    Ok(())
}

fn load_body(a: &LoadArgs) -> Result<Value, Failure> {
    let (text, from) = match (&a.body, &a.body_json) {
        (Some(path), _) => (
            std::fs::read_to_string(path).map_err(|e| usage(format!("--body {}: {e}", path.display())))?,
            format!("--body {}", path.display()),
        ),
        (None, Some(j)) => (j.clone(), "--body-json".to_string()),
        (None, None) => return Err(usage("give --body FILE or --body-json JSON".into())),
    };
    serde_json::from_str(&text).map_err(|e| usage(format!("{from}: not JSON ({e})")))
}

fn print_load(r: &LoadReport) {
    let version = r.version.as_deref().unwrap_or("(server's choice)");
    println!("{} model {} version {version}", r.endpoint, r.model);
    println!(
        "sent {}  ok {}  failed {}  in {:.2} s  achieved {:.1} req/s (target {})",
        r.sent, r.ok, r.failed, r.elapsed_s, r.achieved_rps, r.target_rps
    );
    if let Some(l) = r.avg_latency_s {
        println!("mean latency of successful requests {:.1} ms", l * 1000.0);
    }
    for (e, n) in &r.errors {
        println!("  {n} x {e}");
    }
}

#[derive(Args, Debug)]
#[command(after_help = "Exit codes: 0 no rule firing; 3 at least one rule firing (for pipelines: a gate \
before promote); 2 no Prometheus or a bad rule; 5 Prometheus unreachable.")]
pub struct AlertsArgs {
    /// A rule such as 'error_rate > 2% for 5m' (repeatable; default: the profile's, else Steward's).
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    /// Prometheus base URL (default: the profile's).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// `steward alerts`: the window's alert rules evaluated now over their windows; exit 3 when any fires.
pub fn alerts(g: &Global, a: &AlertsArgs) -> Outcome {
    let profile = context(g).ok().and_then(|c| c.profile);
    let url = a.prometheus.clone().or_else(|| profile.as_ref().and_then(|p| p.prometheus.clone())).ok_or_else(|| {
        usage("no Prometheus URL: pass --prometheus URL or set one in the profile (steward profile add ... --prometheus URL)".into())
    })?;
    let texts: Vec<String> = if !a.rules.is_empty() {
        a.rules.clone()
    } else {
        crate::serving::alerts::rules_or_default(&profile.map(|p| p.alerts).unwrap_or_default())
    };
    let rules = texts.iter().map(|t| crate::serving::alerts::Rule::parse(t)).collect::<Result<Vec<_>, _>>().map_err(usage)?;
    let t = timeout(g)?;
    let statuses = runtime()?
        .block_on(crate::serving::monitor::check_alerts(&url, t, &rules, unix_now()))
        .map_err(|e| Failure { message: e, code: EXIT_DOWN })?;
    let firing = statuses.iter().filter(|s| s.firing).count();
    if a.json {
        print_json(&json!({ "prometheus": crate::connect::http::redact_url(&url), "firing": firing, "rules": statuses }))?;
    } else {
        for s in &statuses {
            let value = s.value.map(|v| format!("{v:.6}")).unwrap_or_else(|| "no data".into());
            println!("{:<8} {:<32} {}  (now {value})", if s.firing { "FIRING" } else { "ok" }, s.series, s.rule);
        }
        if statuses.is_empty() {
            println!("no series matched the rules' queries (no traffic recorded?)");
        }
    }
    if firing > 0 {
        return Err(Failure { message: format!("{firing} alert(s) firing"), code: EXIT_REFUSED });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_summaries_say_no_data_and_write_special_values_as_prometheus() {
        let series = |vals: &[f64]| RangeSeries {
            metric: BTreeMap::from([("__name__".to_string(), "x".to_string())]),
            values: vals.iter().enumerate().map(|(i, v)| (i as f64, PromValue(*v))).collect(),
        };
        let t = range_table(&[series(&[f64::NAN, f64::NAN]), series(&[1.5, f64::NAN, f64::INFINITY]), series(&[-2.0, f64::NEG_INFINITY])]);
        let rows: Vec<Vec<&str>> = t.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(rows[0], ["2", "no", "data", "no", "data", "NaN", "x{}"], "{t}");
        assert_eq!(rows[1], ["3", "1.5", "+Inf", "+Inf", "x{}"], "{t}");
        assert_eq!(rows[2], ["2", "-Inf", "-2", "-Inf", "x{}"], "{t}");
        assert!(!t.contains("inf ") && !t.contains(" inf"), "{t}");
    }
}
