use super::*;
use crate::serving::names::MLSERVER;

#[test]
fn mlserver_has_no_per_version_percentiles_and_says_where_they_are() {
    let q = no_histogram_quantiles(&MLSERVER);
    assert_eq!(q.len(), 3);
    assert!(q.iter().all(|x| x.seconds.is_none()));
    let r = q[1].reason.clone().unwrap_or_default();
    assert!(r.starts_with("MLServer exposes no per-version latency histogram; p95 is available per route"), "{r}");
    assert!(r.contains("rest_server_request_duration_seconds_bucket{path=~\".*/infer\"}"), "{r}");
}

#[test]
fn promql_uses_the_names_table_and_the_selector() {
    let src = PrometheusSource::new("http://127.0.0.1:9", ServerKind::Mlserver, Duration::from_secs(1))
        .unwrap()
        .with_selector("job=\"mlserver\"");
    let q = src.queries();
    assert_eq!(
        q["avg_latency_s"],
        "sum by (model, version) (rate(model_infer_request_duration_sum{job=\"mlserver\"}[1m])) / \
         sum by (model, version) (rate(model_infer_request_duration_count{job=\"mlserver\"}[1m]))"
    );
    assert_eq!(
        q["request_rate"],
        "(sum by (model, version) (rate(model_infer_request_success_total{job=\"mlserver\"}[1m])) + \
         sum by (model, version) (rate(model_infer_request_failure_total{job=\"mlserver\"}[1m]))) or \
         sum by (model, version) (rate(model_infer_request_success_total{job=\"mlserver\"}[1m]))"
    );
    assert!(!q.contains_key("p95"), "no per-version histogram on MLServer");
    assert!(q["route_p95"].starts_with("histogram_quantile(0.95, sum by (le)"));
}

#[test]
fn rates_between_scrapes_per_version() {
    let text = |s1: u32, f1: u32, sum: f64| {
        format!(
            "# TYPE model_infer_request_success_total counter\n\
             model_infer_request_success_total{{model=\"m\",version=\"1\"}} {s1}\n\
             # TYPE model_infer_request_failure_total counter\n\
             model_infer_request_failure_total{{model=\"m\",version=\"1\"}} {f1}\n\
             # TYPE model_infer_request_duration summary\n\
             model_infer_request_duration_sum{{model=\"m\",version=\"1\"}} {sum}\n\
             model_infer_request_duration_count{{model=\"m\",version=\"1\"}} {}\n",
            s1 + f1
        )
    };
    let src = ScrapeSource::new("http://127.0.0.1:9/metrics", ServerKind::Mlserver, Duration::from_secs(1)).unwrap();
    let a = Scrape::new(10.0, &exposition::parse(&text(10, 0, 1.0)).unwrap());
    let b = Scrape::new(12.0, &exposition::parse(&text(28, 2, 3.0)).unwrap());
    let mut t = Table::default();
    src.fill_totals(&mut t, &b);
    src.fill_rates(&mut t, &a, &b);
    let rows = t.finish(&MLSERVER);
    let r = &rows[0];
    assert_eq!((r.model.as_str(), r.version.as_deref()), ("m", Some("1")));
    assert_eq!(r.request_rate, Some(10.0), "20 requests in 2 s");
    assert_eq!(r.error_rate, Some(0.1));
    assert_eq!(r.avg_latency_s, Some(0.1), "2 s over 20 requests");
    assert_eq!((r.success_total, r.failure_total), (Some(28.0), Some(2.0)));
    assert!(r.quantiles.iter().all(|q| q.seconds.is_none() && q.reason.is_some()));
    assert_eq!(src.url, "http://127.0.0.1:9/metrics");
}
