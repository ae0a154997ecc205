//! Open Inference Protocol v2 over REST (MLServer, Triton, KServe), and the endpoint probe.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::names::ServerKind;
use super::{ErrorReport, Result, ServingError, http_client};
use crate::connect::http::{Auth, Http, Reply};

/// `GET /v2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerMetadata {
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub extensions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorMetadata {
    pub name: String,
    #[serde(default)]
    pub datatype: String,
    #[serde(default)]
    pub shape: Vec<i64>,
}

/// `GET /v2/models/{m}[/versions/{v}]`. (MLServer leaves `versions` empty.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    pub name: String,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub platform: String,
    #[serde(default)]
    pub inputs: Vec<TensorMetadata>,
    #[serde(default)]
    pub outputs: Vec<TensorMetadata>,
}

/// One row of `POST /v2/repository/index`. `state` is per model name on MLServer, not per version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A health or readiness answer: 200 is ready; a 4xx (or 503) is not, with the server's reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub reason: Option<String>,
}

/// A client for one endpoint. Reads retry connection failures within the deadline; writes
/// (load, unload, infer) are sent once.
#[derive(Clone)]
pub struct OipClient {
    http: Http,
}

/// A path segment with everything but unreserved characters percent-encoded.
fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn model_path(model: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("v2/models/{}/versions/{}", seg(model), seg(v)),
        None => format!("v2/models/{}", seg(model)),
    }
}

fn describe(model: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("model {model} version {v}"),
        None => format!("model {model}"),
    }
}

fn from_json<T: DeserializeOwned>(url: &str, what: &str, v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| ServingError::BadResponse {
        url: url.to_string(),
        status: 200,
        detail: format!("unexpected shape of {what}: {e}"),
    })
}

impl OipClient {
    pub fn new(endpoint: &str, timeout: Duration) -> Result<OipClient> {
        Ok(OipClient { http: http_client(endpoint, timeout, "endpoint")? })
    }

    /// The endpoint's base URL, without credentials.
    pub fn endpoint(&self) -> String {
        self.http.base()
    }

    fn auth(&self) -> &Auth {
        self.http.auth()
    }

    /// A JSON answer; a 404 becomes NotFound naming `what` and the server's message.
    async fn json(&self, method: Method, path: &str, body: Option<&Value>, what: &str) -> Result<Value> {
        let retry = method == Method::GET;
        let reply = self.http.request(method, path, &[], body, retry).await?;
        self.not_found(&reply, what)?;
        reply.into_json(self.auth())
    }

    fn not_found(&self, reply: &Reply, what: &str) -> Result<()> {
        if reply.status == StatusCode::NOT_FOUND {
            return Err(ServingError::NotFound { what: format!("{what} at {}: {}", self.endpoint(), reply.message()) });
        }
        Ok(())
    }

    /// A readiness route: one attempt (probes are repeated anyway), any 4xx or 503 means "not ready".
    async fn readiness(&self, path: &str) -> Result<Readiness> {
        let reply = self.http.request(Method::GET, path, &[], None, false).await?;
        let s = reply.status;
        if s.is_success() {
            // The protocol's health answers have an empty body (Triton, MLServer) or a JSON one (KServe);
            // a page of HTML or XML is something else answering on the route (a login page, a proxy).
            let body = reply.text.trim();
            if !body.is_empty() && serde_json::from_str::<serde::de::IgnoredAny>(body).is_err() {
                return Err(ServingError::BadResponse {
                    url: reply.url.clone(),
                    status: s.as_u16(),
                    detail: format!("the body is not JSON ({}): {}", if reply.content_type.is_empty() { "no content type" } else { &reply.content_type }, reply.message()),
                });
            }
            return Ok(Readiness { ready: true, reason: None });
        }
        let auth_problem = s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN;
        if (s.is_client_error() && !auth_problem) || s == StatusCode::SERVICE_UNAVAILABLE {
            let msg = reply.message();
            let reason = if msg.is_empty() { format!("HTTP {}", s.as_u16()) } else { format!("HTTP {}: {msg}", s.as_u16()) };
            return Ok(Readiness { ready: false, reason: Some(reason) });
        }
        Err(reply.error(self.auth()))
    }

    pub async fn server_metadata(&self) -> Result<ServerMetadata> {
        let v = self.json(Method::GET, "v2", None, "server metadata").await?;
        from_json(&self.endpoint(), "server metadata", v)
    }

    pub async fn live(&self) -> Result<Readiness> {
        self.readiness("v2/health/live").await
    }

    pub async fn ready(&self) -> Result<Readiness> {
        self.readiness("v2/health/ready").await
    }

    /// `/v2/models/{m}/ready`, or `/v2/models/{m}/versions/{v}/ready` with a version.
    pub async fn model_ready(&self, model: &str, version: Option<&str>) -> Result<Readiness> {
        self.readiness(&format!("{}/ready", model_path(model, version))).await
    }

    pub async fn model_metadata(&self, model: &str, version: Option<&str>) -> Result<ModelMetadata> {
        let what = describe(model, version);
        let v = self.json(Method::GET, &model_path(model, version), None, &what).await?;
        from_json(&self.endpoint(), &format!("{what} metadata"), v)
    }

    /// `POST /v2/repository/index` with body `{}`: every model (and version) the repository knows.
    pub async fn repository_index(&self) -> Result<Vec<IndexEntry>> {
        let v = self.json(Method::POST, "v2/repository/index", Some(&json!({})), "the repository index").await?;
        from_json(&self.endpoint(), "the repository index", v)
    }

    /// Loads (on MLServer: re-reads from disk) every version of `model`. Sent once.
    pub async fn load(&self, model: &str) -> Result<()> {
        self.repository_action(model, "load").await
    }

    /// Unloads every version of `model`. Sent once.
    pub async fn unload(&self, model: &str) -> Result<()> {
        self.repository_action(model, "unload").await
    }

    async fn repository_action(&self, model: &str, action: &str) -> Result<()> {
        let path = format!("v2/repository/models/{}/{action}", seg(model));
        let reply = self.http.request(Method::POST, &path, &[], Some(&json!({})), false).await?;
        self.not_found(&reply, &format!("model {model}"))?;
        reply.into_text(self.auth()).map(|_| ())
    }

    /// `POST /v2/models/{m}[/versions/{v}]/infer`. Without a version the server picks (MLServer: the
    /// highest). Sent once.
    pub async fn infer(&self, model: &str, version: Option<&str>, request: &Value) -> Result<Value> {
        let path = format!("{}/infer", model_path(model, version));
        self.json(Method::POST, &path, Some(request), &describe(model, version)).await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Live, ready, and every served version ready.
    Up,
    /// Answering, but not ready, or a version is not ready, or the index could not be read.
    Degraded,
    /// Not answering, or not live.
    Down,
    /// Answering, but not as an Open Inference Protocol v2 server (a login page, a proxy's error page,
    /// another API): `/v2/health/live` answered with a body that is neither empty nor JSON, or the
    /// server metadata `/v2` is missing or not the protocol's JSON. Counted as down by every check.
    #[serde(rename = "not_oip")]
    NotOip,
}

impl Health {
    /// Down or not an OIP server: nothing can be served from it.
    pub fn is_down(self) -> bool {
        matches!(self, Health::Down | Health::NotOip)
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
            Health::NotOip => "not OIP",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionState {
    /// None when the server does not version this model.
    pub version: Option<String>,
    /// From the version's own `/ready` route (the truth; the index state is per name).
    pub ready: bool,
    /// The repository index's state for this row, as the server wrote it.
    pub index_state: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServedModel {
    pub name: String,
    pub versions: Vec<VersionState>,
}

/// What one probe learned about an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointState {
    pub endpoint: String,
    pub health: Health,
    pub server: Option<ServerMetadata>,
    pub server_kind: Option<ServerKind>,
    /// Round trip of the liveness call, in milliseconds (None when it got no answer).
    pub latency_ms: Option<f64>,
    /// The whole probe, in milliseconds.
    pub probe_ms: f64,
    pub checked_at: DateTime<Utc>,
    /// The first problem found, if any.
    pub last_error: Option<ErrorReport>,
    pub models: Vec<ServedModel>,
}

impl EndpointState {
    fn down(endpoint: String, started: Instant, error: ErrorReport, latency_ms: Option<f64>) -> EndpointState {
        EndpointState {
            endpoint,
            health: Health::Down,
            server: None,
            server_kind: None,
            latency_ms,
            probe_ms: ms(started.elapsed()),
            checked_at: Utc::now(),
            last_error: Some(error),
            models: Vec::new(),
        }
    }
}

impl EndpointState {
    fn not_oip(endpoint: String, started: Instant, e: &ServingError, latency_ms: Option<f64>) -> EndpointState {
        let error = ErrorReport { kind: "not_oip", message: format!("{endpoint} does not answer as an Open Inference Protocol v2 server: {e}") };
        EndpointState { health: Health::NotOip, ..EndpointState::down(endpoint, started, error, latency_ms) }
    }
}

/// A 2xx answer whose body is not the protocol's: not JSON or the wrong JSON, or larger than the cap.
fn not_protocol(e: &ServingError) -> bool {
    match e {
        ServingError::BadResponse { status, .. } | ServingError::TooLarge { status, .. } => (200..300).contains(status),
        _ => false,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn not_ready_error(what: &str, reason: Option<String>) -> ErrorReport {
    let reason = reason.unwrap_or_else(|| "no reason given".into());
    ErrorReport { kind: "not_ready", message: format!("{what} is not ready: {reason}") }
}

/// Probes one endpoint: live -> (ready, server metadata, repository index) -> each indexed version's
/// `/ready`. Never fails: every problem lands in `health` and `last_error`.
pub async fn probe(endpoint: &str, timeout: Duration) -> EndpointState {
    let started = Instant::now();
    let shown = crate::connect::http::redact_url(endpoint);
    let client = match OipClient::new(endpoint, timeout) {
        Ok(c) => c,
        Err(e) => return EndpointState::down(shown, started, ErrorReport::from(&e), None),
    };
    let t = Instant::now();
    let live = client.live().await;
    let latency = ms(t.elapsed());
    match live {
        Err(e) if not_protocol(&e) => return EndpointState::not_oip(client.endpoint(), started, &e, Some(latency)),
        Err(e) => return EndpointState::down(client.endpoint(), started, ErrorReport::from(&e), None),
        Ok(r) if !r.ready => {
            let err = ErrorReport { kind: "not_live", message: format!("{} is not live: {}", client.endpoint(), r.reason.unwrap_or_default()) };
            return EndpointState::down(client.endpoint(), started, err, Some(latency));
        }
        Ok(_) => {}
    }
    let (ready, meta, index) = futures::join!(client.ready(), client.server_metadata(), client.repository_index());
    let mut errors: Vec<ErrorReport> = Vec::new();
    match ready {
        Ok(r) if !r.ready => errors.push(not_ready_error(&client.endpoint(), r.reason)),
        Err(e) => errors.push(ErrorReport::from(&e)),
        Ok(_) => {}
    }
    let server = match meta {
        Ok(m) => Some(m),
        // Every OIP server answers its metadata; without it this is not the protocol.
        Err(e) if not_protocol(&e) || matches!(e, ServingError::NotFound { .. }) => {
            return EndpointState::not_oip(client.endpoint(), started, &e, Some(latency));
        }
        Err(e) => {
            errors.push(ErrorReport::from(&e));
            None
        }
    };
    let models = match index {
        Ok(entries) => served_models(&client, entries, &mut errors).await,
        Err(e) => {
            errors.push(ErrorReport::from(&e));
            Vec::new()
        }
    };
    EndpointState {
        endpoint: client.endpoint(),
        health: if errors.is_empty() { Health::Up } else { Health::Degraded },
        server_kind: server.as_ref().and_then(|s| ServerKind::from_server_name(&s.name)),
        server,
        latency_ms: Some(latency),
        probe_ms: ms(started.elapsed()),
        checked_at: Utc::now(),
        last_error: errors.into_iter().next(),
        models,
    }
}

/// Each index row checked on its own `/ready` (8 at a time), grouped by model name in index order.
async fn served_models(client: &OipClient, entries: Vec<IndexEntry>, errors: &mut Vec<ErrorReport>) -> Vec<ServedModel> {
    let checks: Vec<(IndexEntry, Result<Readiness>)> = futures::stream::iter(entries)
        .map(|e| async move {
            let r = client.model_ready(&e.name, e.version.as_deref().filter(|v| !v.is_empty())).await;
            (e, r)
        })
        .buffered(8)
        .collect()
        .await;
    let mut models: Vec<ServedModel> = Vec::new();
    for (entry, result) in checks {
        let what = describe(&entry.name, entry.version.as_deref());
        let (ready, reason) = match result {
            Ok(r) => (r.ready, r.reason),
            Err(e) => (false, Some(e.to_string())),
        };
        if !ready {
            errors.push(not_ready_error(&what, reason.clone()));
        }
        let state = VersionState { version: entry.version, ready, index_state: entry.state, reason };
        match models.iter_mut().find(|m| m.name == entry.name) {
            Some(m) => m.versions.push(state),
            None => models.push(ServedModel { name: entry.name, versions: vec![state] }),
        }
    }
    models
}

/// Probes several endpoints at once, results in the given order.
pub async fn probe_all(endpoints: &[String], timeout: Duration) -> Vec<EndpointState> {
    futures::future::join_all(endpoints.iter().map(|e| probe(e, timeout))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(model_path("income-classifier", Some("1")), "v2/models/income-classifier/versions/1");
        assert_eq!(model_path("a b/c", None), "v2/models/a%20b%2Fc");
    }
}
