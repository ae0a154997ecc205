//! Steward against the real MLServer 1.7.1 and Prometheus 2.42 of the test stack (scripts/stack).
//! Oracles: MLServer's own repository index, Prometheus's own /api/v1/query answers (read with a plain
//! HTTP client), and the load generator's count of successful requests.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use steward::serving::metrics::{MetricsReport, MetricsSource, PrometheusSource, ScrapeSource, VersionMetrics};
use steward::serving::names::ServerKind;
use steward::serving::oip::OipClient;

const MODEL: &str = "income-classifier";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn served_versions() -> Vec<String> {
    stack_var("STEWARD_TEST_SERVED_VERSIONS").split(',').map(str::to_string).collect()
}

#[test]
fn endpoints_shows_mlserver_up_serving_both_versions_ready() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let out = json(&steward(home.path(), &["endpoints", "--endpoint", &stack.mlserver, "--json"]));
    let e = &out["endpoints"][0];
    assert_eq!(e["health"], "up", "{e}");
    assert_eq!(e["server"]["name"], "mlserver");
    assert_eq!(e["server"]["version"], "1.7.1");
    assert_eq!(e["server_kind"], "mlserver");
    assert!(e["latency_ms"].as_f64().unwrap() > 0.0);
    let model = e["models"].as_array().unwrap().iter().find(|m| m["name"] == MODEL).expect("income-classifier served");
    let versions: Vec<&str> = model["versions"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(versions, served_versions());
    assert!(model["versions"].as_array().unwrap().iter().all(|v| v["ready"] == true));
}

#[test]
fn an_unknown_version_reports_not_ready_with_the_servers_reason() {
    let stack = stack();
    let client = OipClient::new(&stack.mlserver, Duration::from_secs(10)).unwrap();
    let rt = rt();
    let r = rt.block_on(client.model_ready(MODEL, Some("99"))).unwrap();
    assert!(!r.ready);
    assert_eq!(r.reason.as_deref(), Some("HTTP 404: Model income-classifier with version 99 not found"), "the status code is kept");
    assert!(rt.block_on(client.model_ready(MODEL, Some("1"))).unwrap().ready);
    let meta = rt.block_on(client.model_metadata(MODEL, None)).unwrap();
    assert_eq!(meta.inputs[0].name, "features");
    let e = rt.block_on(client.model_metadata("no-such-model", None)).unwrap_err();
    assert_eq!(e.exit_code(), 6, "{e}");
}

#[test]
fn metrics_up_returns_the_mlserver_target() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    let out = json(&steward(home.path(), &["metrics", "up", "--prometheus", &stack.prometheus, "--json"]));
    assert_eq!(out["result_type"], "vector");
    let target = out["result"].as_array().unwrap().iter().find(|s| s["metric"]["job"] == "mlserver").expect("job=mlserver");
    assert_eq!(target["value"], 1.0);
    let metrics_host = stack.mlserver_metrics.trim_start_matches("http://").split('/').next().unwrap();
    assert_eq!(target["metric"]["instance"], metrics_host);
}

#[test]
fn metrics_keeps_prometheus_result_types_and_special_values() {
    let stack = stack();
    let home = tempfile::tempdir().unwrap();
    for (q, kind, value) in [("1/0", "scalar", "+Inf"), ("-1/0", "scalar", "-Inf"), ("vector(0)/0", "vector", "NaN")] {
        let ours = json(&steward(home.path(), &["metrics", q, "--prometheus", &stack.prometheus, "--json"]));
        let enc = url::form_urlencoded::Serializer::new(String::new()).append_pair("query", q).finish();
        let theirs = http_get_json(&format!("{}/api/v1/query?{enc}", stack.prometheus));
        assert_eq!(theirs["data"]["resultType"], kind, "{q}: Prometheus: {theirs}");
        assert_eq!(ours["result_type"], kind, "{q}: {ours}");
        assert_eq!(ours["result"][0]["value"], value, "{q}: {ours}");
        let text = stdout(&steward(home.path(), &["metrics", q, "--prometheus", &stack.prometheus]));
        assert!(text.contains(value), "{q}: {text}");
    }
    // A range of an error ratio with no traffic (0/0 at every step): no min or max, said so.
    let out = steward(home.path(), &["metrics", "vector(0)/0", "--range", "2m", "--step", "30s", "--prometheus", &stack.prometheus]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let row = text.lines().nth(1).unwrap_or_default();
    assert!(row.contains("no data") && row.contains("NaN") && !row.contains("inf"), "{text}");
}

fn load(stack: &Stack, version: &str, rps: &str) -> std::process::Child {
    let body = stack_var(&format!("STEWARD_TEST_INFER_EXAMPLE_V{version}"));
    std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["load", "--endpoint", &stack.mlserver, "--model", MODEL, "--version", version, "--body", &body])
        .args(["--rps", rps, "--duration", "3", "--concurrency", "4", "--json"])
        .env("STEWARD_HOME", stack.state_dir.join("serving-test-home"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn version<'a>(r: &'a MetricsReport, v: &str) -> &'a VersionMetrics {
    r.versions.iter().find(|m| m.model == MODEL && m.version.as_deref() == Some(v)).unwrap_or_else(|| panic!("v{v} in {r:#?}"))
}

/// Prometheus's own answer for a query at time `at`, by version label (plain HTTP, not Steward's client).
/// Only the stack's model (or series without a model label): other tests serve other models on this server.
fn prometheus_says(stack: &Stack, query: &str, at: f64) -> BTreeMap<String, f64> {
    let url = format!(
        "{}/api/v1/query?query={}&time={at:.3}",
        stack.prometheus,
        url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
    );
    let body = http_get_json(&url);
    assert_eq!(body["status"], "success", "{body}");
    let mut out = BTreeMap::new();
    for s in body["data"]["result"].as_array().unwrap() {
        if s["metric"]["model"].as_str().is_some_and(|m| m != MODEL) {
            continue;
        }
        let v = s["metric"]["version"].as_str().unwrap_or("").to_string();
        out.insert(v, s["value"][1].as_str().unwrap().parse::<f64>().unwrap());
    }
    out
}

fn close(ours: f64, theirs: f64, what: &str) {
    assert!((ours - theirs).abs() <= 1e-9 * theirs.abs().max(1e-300), "{what}: ours {ours} vs Prometheus {theirs}");
}

/// Polls Prometheus until its last scrape of the success counter shows `want` for every version.
fn wait_for_scrape(stack: &Stack, want: &BTreeMap<String, f64>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let q = format!("sum by (version) (model_infer_request_success_total{{job=\"mlserver\",model=\"{MODEL}\"}})");
    loop {
        let seen = prometheus_says(stack, &q, steward::serving::unix_now());
        if want.iter().all(|(v, n)| seen.get(v) == Some(n)) {
            return;
        }
        assert!(Instant::now() < deadline, "Prometheus did not scrape the new counts in 20 s: {seen:?} vs {want:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn load_then_per_version_metrics_agree_with_prometheus_and_with_the_load_generator() {
    let stack = stack();
    let rt = rt();
    let mut scrape = MetricsSource::Scrape(
        ScrapeSource::new(&stack.mlserver_metrics, ServerKind::Mlserver, Duration::from_secs(10)).unwrap(),
    );
    let before = rt.block_on(scrape.sample(None)).unwrap();

    // Load on both versions at once, through the CLI.
    let (v1, v2) = (load(&stack, "1", "20"), load(&stack, "2", "10"));
    let mut ok = BTreeMap::new();
    for (v, child) in [("1", v1), ("2", v2)] {
        let out = child.wait_with_output().unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("load v{v}: {e}"));
        assert_eq!(report["failed"], 0, "{report}");
        assert!(report["ok"].as_u64().unwrap() >= 20, "{report}");
        ok.insert(v.to_string(), report["ok"].as_f64().unwrap());
    }

    // Direct scrape: the success counters grew by exactly what the load generator saw succeed.
    let after = rt.block_on(scrape.sample(None)).unwrap();
    assert!(after.warnings.is_empty(), "MLServer's exposition parses with no skipped line: {:?}", after.warnings);
    let mut totals = BTreeMap::new();
    for v in ["1", "2"] {
        let (b, a) = (version(&before, v), version(&after, v));
        assert_eq!(a.success_total.unwrap() - b.success_total.unwrap(), ok[v], "v{v} successes");
        assert_eq!(a.failure_total, b.failure_total, "v{v} failures");
        assert!(a.request_rate.unwrap() > 0.0 && a.avg_latency_s.unwrap() > 0.0, "{a:?}");
        totals.insert(v.to_string(), a.success_total.unwrap());
    }

    // Prometheus scraped the same raw counters.
    wait_for_scrape(&stack, &totals);
    // Evaluate at a time whose scrapes have surely been ingested: a scrape stamped at or before `at`
    // but stored just after our query would make Prometheus's later answer for `at` differ. The scrape
    // that showed the totals is older than `at` (1 s scrape interval).
    std::thread::sleep(Duration::from_millis(2500));
    let at = ((steward::serving::unix_now() - 1.5) * 1000.0).round() / 1000.0;
    let mut prom = MetricsSource::Prometheus(
        PrometheusSource::new(&stack.prometheus, ServerKind::Mlserver, Duration::from_secs(10))
            .unwrap()
            .with_selector("job=\"mlserver\""),
    );
    let report = rt.block_on(prom.sample(Some(at))).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    for v in ["1", "2"] {
        let ours = version(&report, v);
        assert_eq!(ours.success_total, Some(totals[v]), "v{v}: Prometheus's raw counter = the direct scrape's");
        for (field, value) in [("request_rate", ours.request_rate), ("avg_latency_s", ours.avg_latency_s), ("error_rate", ours.error_rate)] {
            let theirs = prometheus_says(&stack, &report.queries[field], at)[v];
            close(value.unwrap_or_else(|| panic!("{field} v{v}: {ours:?}")), theirs, &format!("{field} v{v}"));
        }
        eprintln!("v{v}: ok {} | Prometheus at {at}: {:.4} req/s, avg {:.2} ms", ok[v], ours.request_rate.unwrap(), ours.avg_latency_s.unwrap() * 1e3);
        assert!(ours.request_rate.unwrap() > 0.0 && ours.error_rate == Some(0.0));
        let p95 = ours.quantiles.iter().find(|q| q.q == 0.95).unwrap();
        assert_eq!(p95.seconds, None);
        assert!(p95.reason.as_deref().unwrap().starts_with("MLServer exposes no per-version latency histogram"));
    }
    let route_p95 = report.route_quantiles.iter().find(|q| q.q == 0.95).and_then(|q| q.seconds).expect("route p95");
    close(route_p95, prometheus_says(&stack, &report.queries["route_p95"], at)[""], "route p95");
}
