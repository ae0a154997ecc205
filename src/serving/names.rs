//! The one table of server-specific metric names. Everything else asks this table; no other file in
//! Steward spells a server's metric name.

use serde::Serialize;

/// A model server family whose metrics Steward knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    Mlserver,
    Triton,
    Kserve,
}

/// How a server exposes per-version request latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// Only a running sum and a count (a summary without quantiles, or a cumulative duration counter):
    /// an average, no percentiles.
    SumCount { sum: &'static str, count: &'static str },
    /// A histogram `<base>_bucket{le}` / `<base>_sum` / `<base>_count`: averages and percentiles.
    Histogram { base: &'static str },
}

/// A histogram per route (not per version), where a server has one: percentiles of all infer calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteHistogram {
    pub base: &'static str,
    pub path_label: &'static str,
    /// Infer routes are the paths ending with this.
    pub infer_path_suffix: &'static str,
}

/// The metric names one server family uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricNames {
    pub server: ServerKind,
    /// Counter of successful inference requests, per model version (None: the server has none).
    pub success_total: Option<&'static str>,
    pub failure_total: Option<&'static str>,
    pub latency: Latency,
    /// Seconds per unit of the latency metric (Triton counts microseconds).
    pub latency_scale: f64,
    pub model_label: &'static str,
    /// None when the server labels metrics by model only.
    pub version_label: Option<&'static str>,
    pub route_histogram: Option<RouteHistogram>,
}

/// MLServer 1.7 (measured: see ../shared/facts/stack.md).
pub const MLSERVER: MetricNames = MetricNames {
    server: ServerKind::Mlserver,
    success_total: Some("model_infer_request_success_total"),
    failure_total: Some("model_infer_request_failure_total"),
    latency: Latency::SumCount { sum: "model_infer_request_duration_sum", count: "model_infer_request_duration_count" },
    latency_scale: 1.0,
    model_label: "model",
    version_label: Some("version"),
    route_histogram: Some(RouteHistogram {
        base: "rest_server_request_duration_seconds",
        path_label: "path",
        infer_path_suffix: "/infer",
    }),
};

/// NVIDIA Triton (from its documentation; not measured here). The duration is a cumulative counter in
/// microseconds; dividing by successful requests gives the average.
pub const TRITON: MetricNames = MetricNames {
    server: ServerKind::Triton,
    success_total: Some("nv_inference_request_success"),
    failure_total: Some("nv_inference_request_failure"),
    latency: Latency::SumCount { sum: "nv_inference_request_duration_us", count: "nv_inference_request_success" },
    latency_scale: 1e-6,
    model_label: "model",
    version_label: Some("version"),
    route_histogram: None,
};

/// KServe's Python model server (from its documentation; not measured here): a predict-latency
/// histogram per model, no version label, no success/failure counters.
pub const KSERVE: MetricNames = MetricNames {
    server: ServerKind::Kserve,
    success_total: None,
    failure_total: None,
    latency: Latency::Histogram { base: "request_predict_seconds" },
    latency_scale: 1.0,
    model_label: "model_name",
    version_label: None,
    route_histogram: None,
};

impl ServerKind {
    pub fn names(self) -> &'static MetricNames {
        match self {
            ServerKind::Mlserver => &MLSERVER,
            ServerKind::Triton => &TRITON,
            ServerKind::Kserve => &KSERVE,
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            ServerKind::Mlserver => "MLServer",
            ServerKind::Triton => "Triton",
            ServerKind::Kserve => "KServe",
        }
    }

    /// From the `name` of an Open Inference Protocol server metadata answer (`GET /v2`).
    pub fn from_server_name(name: &str) -> Option<ServerKind> {
        let n = name.to_ascii_lowercase();
        if n.contains("mlserver") {
            Some(ServerKind::Mlserver)
        } else if n.contains("triton") {
            Some(ServerKind::Triton)
        } else if n.contains("kserve") {
            Some(ServerKind::Kserve)
        } else {
            None
        }
    }
}

impl RouteHistogram {
    /// The PromQL regular expression (`=~`) matching the infer routes.
    pub fn infer_path_regex(&self) -> String {
        format!(".*{}", self.infer_path_suffix)
    }
}

impl MetricNames {
    /// The label names that identify a model version in this server's metrics.
    pub fn group_labels(&self) -> Vec<&'static str> {
        let mut v = vec![self.model_label];
        v.extend(self.version_label);
        v
    }

    /// Counters whose sum is the number of requests, when the server counts requests.
    pub fn request_counters(&self) -> Vec<&'static str> {
        self.success_total.iter().chain(self.failure_total.iter()).copied().collect()
    }

    /// (sum, count) series names of the latency metric.
    pub fn latency_sum_count(&self) -> (String, String) {
        match self.latency {
            Latency::SumCount { sum, count } => (sum.to_string(), count.to_string()),
            Latency::Histogram { base } => (format!("{base}_sum"), format!("{base}_count")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_has_a_consistent_entry() {
        assert_eq!(ServerKind::from_server_name("mlserver"), Some(ServerKind::Mlserver));
        assert_eq!(ServerKind::from_server_name("triton"), Some(ServerKind::Triton));
        assert_eq!(ServerKind::from_server_name("other"), None);
        assert_eq!(MLSERVER.group_labels(), vec!["model", "version"]);
        assert_eq!(KSERVE.group_labels(), vec!["model_name"]);
        assert_eq!(KSERVE.latency_sum_count().1, "request_predict_seconds_count");
        assert!(KSERVE.request_counters().is_empty());
        assert_eq!(TRITON.latency_scale, 1e-6);
    }
}
