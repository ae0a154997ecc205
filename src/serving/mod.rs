//! Serving endpoints and live metrics: the Open Inference Protocol client and endpoint probe (oip),
//! the one table of server metric names (names), the Prometheus text format and scrape rates
//! (exposition), the Prometheus HTTP API (prom), per-version metrics from either source (metrics), and a
//! bounded loopback load generator (load). No window code here: the window and the CLI both call this.

pub mod alerts;
pub mod check;
pub mod exposition;
pub mod load;
pub mod metrics;
pub mod monitor;
pub mod names;
pub mod oip;
pub mod prom;
pub mod series;

use std::time::Duration;

use serde::Serialize;

use crate::connect::RegistryError;
use crate::connect::http::{Auth, Http};

pub use crate::connect::RegistryError as ServingError;

pub type Result<T> = std::result::Result<T, ServingError>;

/// The shared HTTP client for a serving-side URL (`what`: "endpoint", "Prometheus", "metrics"), with
/// URL errors worded for that kind of URL rather than for a registry.
/// Open Inference Protocol answers (health, metadata, a smoke inference) are small: an endpoint's
/// bodies are capped at 8 MiB; Prometheus and scrapes keep the default 32 MiB.
pub const ENDPOINT_MAX_BODY: usize = 8 << 20;

pub(crate) fn http_client(url: &str, timeout: Duration, what: &str) -> Result<Http> {
    let cap = |h: Http| if what == "endpoint" { h.with_max_body(ENDPOINT_MAX_BODY) } else { h };
    Http::new(url, Auth::None, timeout, &crate::connect::http::Tls::default()).map(cap).map_err(|e| match e {
        RegistryError::Invalid { what: w, message } => {
            RegistryError::Invalid { what: w.replacen("registry URL", &format!("{what} URL"), 1), message }
        }
        RegistryError::Unsupported(m) => RegistryError::Unsupported(m.replacen("registry URL", &format!("{what} URL"), 1)),
        other => other,
    })
}

/// An error in a form the window and `--json` can show: a stable kind and the one-line message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorReport {
    /// unreachable | timeout | auth | not_found | not_json | http_status | invalid | other
    pub kind: &'static str,
    pub message: String,
}

impl From<&ServingError> for ErrorReport {
    fn from(e: &ServingError) -> Self {
        ErrorReport { kind: error_kind(e), message: e.to_string() }
    }
}

/// The class of an error: what an operator checks first.
pub fn error_kind(e: &ServingError) -> &'static str {
    match e {
        RegistryError::Unreachable { .. } => "unreachable",
        RegistryError::BrokenAnswer { .. } => "broken_answer",
        RegistryError::TooLarge { .. } => "too_large",
        RegistryError::Timeout { .. } => "timeout",
        RegistryError::AuthenticationFailed { .. } | RegistryError::PermissionDenied { .. } => "auth",
        RegistryError::NotFound { .. } => "not_found",
        // A 2xx answer is only an error when its body could not be read as JSON.
        RegistryError::BadResponse { status, .. } if (200..300).contains(status) => "not_json",
        RegistryError::BadResponse { .. } | RegistryError::Server { .. } => "http_status",
        RegistryError::Invalid { .. } => "invalid",
        _ => "other",
    }
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
