use super::*;

fn lbl(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn counters_and_gauges_with_help_type_and_timestamps() {
    let text = "# HELP reqs_total Requests\\nserved, with a \\\\ backslash\n\
                # TYPE reqs_total counter\n\
                reqs_total{model=\"m\",version=\"1\"} 42 1700000000000\n\
                reqs_total{model=\"m\",version=\"2\",} 7.5e2\n\
                # a plain comment\n\
                \n\
                # TYPE queue gauge\n\
                queue -3\n";
    let exp = parse(text).unwrap();
    assert_eq!(exp.samples.len(), 3);
    assert_eq!(exp.help["reqs_total"], "Requests\nserved, with a \\ backslash");
    assert_eq!(exp.types["reqs_total"], MetricType::Counter);
    assert_eq!(exp.samples[0].timestamp_ms, Some(1_700_000_000_000));
    assert_eq!(exp.samples[1].timestamp_ms, None);
    assert_eq!(exp.value("reqs_total", &[("model", "m"), ("version", "2")]), Some(750.0));
    assert_eq!(exp.value("queue", &[]), Some(-3.0));
    assert_eq!(exp.family("queue"), ("queue", MetricType::Gauge));
}

#[test]
fn histograms_with_buckets_sum_and_count() {
    let text = "# TYPE lat histogram\n\
                lat_bucket{le=\"0.1\"} 1\n\
                lat_bucket{le=\"0.5\"} 3\n\
                lat_bucket{le=\"+Inf\"} 4\n\
                lat_sum 1.7\n\
                lat_count 4\n";
    let exp = parse(text).unwrap();
    assert_eq!(exp.family("lat_bucket"), ("lat", MetricType::Histogram));
    assert_eq!(exp.family("lat_sum"), ("lat", MetricType::Histogram));
    assert_eq!(exp.value("lat_bucket", &[("le", "+Inf")]), Some(4.0));
    let e = parse("# TYPE lat histogram\nlat_bucket{x=\"1\"} 1\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("'le'"), "{e}");
    let e = parse("# TYPE lat histogram\nlat 1\n").unwrap_err();
    assert!(e.message.contains("without _bucket"), "{e}");
}

#[test]
fn summaries_with_quantiles_sum_and_count() {
    let text = "# TYPE d summary\n\
                d{quantile=\"0.5\"} 0.02\n\
                d{quantile=\"0.99\"} NaN\n\
                d_sum 3.5\n\
                d_count 100\n";
    let exp = parse(text).unwrap();
    assert!(exp.value("d", &[("quantile", "0.99")]).unwrap().is_nan());
    assert_eq!(exp.value("d_count", &[]), Some(100.0));
    let e = parse("# TYPE d summary\nd_sum 1\nd 2\n").unwrap_err();
    assert_eq!((e.line, e.message.contains("'quantile'")), (3, true), "{e}");
    // MLServer's summary: only _sum and _count, no quantiles.
    let exp = parse("# TYPE model_infer_request_duration summary\nmodel_infer_request_duration_count{model=\"m\"} 3.0\n").unwrap();
    assert_eq!(exp.family("model_infer_request_duration_count").1, MetricType::Summary);
}

#[test]
fn label_value_escapes() {
    let exp = parse(r#"m{a="say \"hi\"",b="back\\slash",c="two\nlines",d="{,}"} 1"#).unwrap();
    let l = &exp.samples[0].series.labels;
    assert_eq!(l, &lbl(&[("a", "say \"hi\""), ("b", "back\\slash"), ("c", "two\nlines"), ("d", "{,}")]));
    let e = parse(r#"m{a="bad \t escape"} 1"#).unwrap_err();
    assert!(e.message.contains("unknown escape"), "{e}");
}

#[test]
fn special_values() {
    let exp = parse("a +Inf\nb -Inf\nc NaN\nd 1e-3\n").unwrap();
    assert_eq!(exp.value("a", &[]), Some(f64::INFINITY));
    assert_eq!(exp.value("b", &[]), Some(f64::NEG_INFINITY));
    assert!(exp.value("c", &[]).unwrap().is_nan());
    assert_eq!(exp.value("d", &[]), Some(0.001));
}

#[test]
fn malformed_lines_name_their_line_and_fault() {
    let cases = [
        ("ok 1\nm{a=\"x} 1\n", 2, "unterminated"),
        ("ok 1\nok 2\nm{a=\"x\"} one\n", 3, "not a number"),
        ("m 1 12.5\n", 1, "timestamp"),
        ("m{a=\"1\",a=\"2\"} 1\n", 1, "twice"),
        ("m{a=1} 1\n", 1, "quoted value"),
        ("9m 1\n", 1, "metric name"),
        ("m\n", 1, "value"),
        ("m 1 2 3\n", 1, "unexpected text"),
        ("# TYPE m countr\n", 1, "unknown metric type"),
        ("# TYPE m counter\n# TYPE m gauge\n", 2, "second TYPE"),
        ("m{a=\"1\" b=\"2\"} 1\n", 1, "expected ','"),
    ];
    for (text, line, what) in cases {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.message.contains(what), "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!("line {line}: ")));
    }
}

#[test]
fn lenient_parse_skips_and_counts_bad_lines() {
    let exp = parse_lenient("a 1\nbroken{ 2\nb 2\nc x\nd 4\n");
    assert_eq!(exp.samples.iter().map(|s| s.series.name.as_str()).collect::<Vec<_>>(), ["a", "b", "d"]);
    assert_eq!(exp.skipped.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 4]);
}

fn scrape(at: f64, text: &str) -> Scrape {
    Scrape::new(at, &parse(text).unwrap())
}

#[test]
fn rates_handle_counter_resets_and_new_series() {
    let t = "# TYPE r_total counter\n# TYPE g gauge\n";
    let a = scrape(100.0, &format!("{t}r_total{{v=\"1\"}} 50\nr_total{{v=\"2\"}} 10\ng 5\n"));
    // v1 restarted (50 -> 8): the 8 counts as the increase. v3 is new: it started from 0.
    let b = scrape(104.0, &format!("{t}r_total{{v=\"1\"}} 8\nr_total{{v=\"2\"}} 30\nr_total{{v=\"3\"}} 4\ng 9\n"));
    let rates = b.rates_since(&a).unwrap();
    let rate = |v: &str| rates[&Series { name: "r_total".into(), labels: lbl(&[("v", v)]) }];
    assert_eq!(rate("1"), 2.0);
    assert_eq!(rate("2"), 5.0);
    assert_eq!(rate("3"), 1.0);
    assert_eq!(rates.len(), 3, "gauges have no rate");
    assert!(a.rates_since(&b).is_err());
    assert_eq!(increase(10.0, 3.0), 3.0);
    assert_eq!(increase(3.0, 10.0), 7.0);
}

#[test]
fn quantiles_from_buckets_interpolate_like_prometheus() {
    let b = [(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (f64::INFINITY, 40.0)];
    // rank 20 lies halfway through the (0.1, 0.5] bucket.
    assert!((histogram_quantile(0.5, &b).unwrap() - 0.3).abs() < 1e-12);
    assert!((histogram_quantile(0.25, &b).unwrap() - 0.1).abs() < 1e-12);
    let top = [(0.1, 1.0), (f64::INFINITY, 10.0)];
    assert_eq!(histogram_quantile(0.99, &top), Some(0.1), "the +Inf bucket gives the highest finite bound");
    assert_eq!(histogram_quantile(0.5, &[(0.1, 0.0), (f64::INFINITY, 0.0)]), None);
    assert_eq!(histogram_quantile(0.5, &[(0.1, 3.0)]), None, "no +Inf bucket");
}
