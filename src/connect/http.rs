//! The one HTTP client of Steward: deadlines, bounded retries for reads, and error bodies turned into
//! sentences (JSON errors, HTML pages from auth proxies, plain-text refusals).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{RegistryError, Result};

/// Credentials, taken from the environment at run time; never written to disk or shown.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    Bearer(String),
    Basic { user: String, password: String },
}

pub use super::redact::redact;

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => write!(f, "no credentials"),
            Auth::Bearer(_) => write!(f, "bearer token"),
            Auth::Basic { user, .. } => write!(f, "basic auth as {user}"),
        }
    }
}

impl Auth {
    /// Who the registry will see us as (for audit records), without the secret.
    pub fn identity(&self) -> Option<String> {
        match self {
            Auth::Basic { user, .. } => Some(user.clone()),
            Auth::Bearer(_) => Some("token".into()),
            Auth::None => None,
        }
    }
}

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    base: url::Url,
    auth: Auth,
    timeout: Duration,
    read_retries: u32,
    /// The largest answer body read, in bytes ([`DEFAULT_MAX_BODY`] unless set by the connector).
    max_body: usize,
}

/// Default cap on an answer's body: 32 MiB (MLflow list pages, Prometheus answers). A larger answer is an
/// error naming the URL and the size, read no further (memory stays bounded by the cap).
pub const DEFAULT_MAX_BODY: usize = 32 << 20;

pub use super::redact::redact_url;
pub use super::tls::{CaUse, Tls, TlsFile, check_ca_file};

impl Http {
    pub fn new(base: &str, auth: Auth, timeout: Duration, tls: &Tls) -> Result<Self> {
        let mut base_url = url::Url::parse(base).map_err(|e| RegistryError::Invalid {
            what: format!("registry URL '{}'", redact_url(base)),
            message: e.to_string(),
        })?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(RegistryError::Unsupported(format!(
                "registry URL '{}': only http:// and https:// are supported",
                redact_url(base)
            )));
        }
        // Credentials in the URL are honoured for this run but never kept in the base we print.
        let mut auth = auth;
        if !base_url.username().is_empty() {
            if let Auth::None = auth {
                auth = Auth::Basic {
                    user: base_url.username().to_string(),
                    password: base_url.password().unwrap_or_default().to_string(),
                };
            }
            let _ = base_url.set_username("");
            let _ = base_url.set_password(None);
        }
        if !base_url.path().ends_with('/') {
            let p = format!("{}/", base_url.path());
            base_url.set_path(&p);
        }
        let builder = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("steward/", env!("CARGO_PKG_VERSION")));
        let client = tls
            .apply(builder)?
            .build()
            .map_err(|e| RegistryError::Unsupported(format!("cannot build an HTTP client: {e}")))?;
        Ok(Http { client, base: base_url, auth, timeout, read_retries: 2, max_body: DEFAULT_MAX_BODY })
    }

    /// Sets the cap on answer bodies (bytes).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    pub fn base(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn url(&self, path: &str) -> Result<url::Url> {
        self.base.join(path.trim_start_matches('/')).map_err(|e| RegistryError::Invalid {
            what: format!("path '{path}'"),
            message: e.to_string(),
        })
    }

    /// GET returning JSON. Retried (bounded) on connection failures and 502/503/504, within one deadline.
    pub async fn get_json(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        self.request(Method::GET, path, query, None, true).await?.into_json(&self.auth)
    }

    /// A write: sent once, never retried (the server may have acted before the connection broke).
    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> Result<Value> {
        self.request(method, path, &[], Some(body), false).await?.into_json(&self.auth)
    }

    /// GET returning the body as text (empty bodies and non-JSON formats), retried like `get_json`.
    pub async fn get_text(&self, path: &str, query: &[(&str, String)]) -> Result<String> {
        self.request(Method::GET, path, query, None, true).await?.into_text(&self.auth)
    }

    /// One exchange within the deadline, returning the reply whatever its status; only transport
    /// failures are errors. `retry` allows the bounded retries of reads. Logged once (`diag::log`).
    pub async fn request(&self, method: Method, path: &str, query: &[(&str, String)], body: Option<&Value>, retry: bool) -> Result<Reply> {
        let url = self.url(path)?;
        let shown = redact_url(url.as_str());
        let started = Instant::now();
        let result = self.exchange(method.clone(), url, &shown, query, body, retry).await;
        let ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(r) => tracing::info!(target: "steward::http", %method, url = %shown, status = r.status.as_u16(), bytes = r.text.len(), ms, "answer"),
            // The error's text is what the user sees: server messages in it are already redacted.
            Err(e) => tracing::warn!(target: "steward::http", %method, url = %shown, ms, error = %e, "failed"),
        }
        result
    }

    /// [`Http::request`]'s attempts, on the resolved `url` (`shown`: without user info).
    async fn exchange(&self, method: Method, url: url::Url, shown: &str, query: &[(&str, String)], body: Option<&Value>, retry: bool) -> Result<Reply> {
        let shown = shown.to_string();
        let deadline = Instant::now() + self.timeout;
        let attempts = if retry { 1 + self.read_retries } else { 1 };
        let mut last_err = None;
        let mut last_reply = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                let pause = Duration::from_millis(250 * (1 << (attempt - 1)));
                if Instant::now() + pause >= deadline {
                    break;
                }
                tokio::time::sleep(pause).await;
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            let mut req = self.client.request(method.clone(), url.clone()).timeout(remaining);
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            req = match &self.auth {
                Auth::None => req,
                Auth::Bearer(t) => req.bearer_auth(t),
                Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
            };
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let content_type = resp
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let www_authenticate = resp.headers().contains_key(reqwest::header::WWW_AUTHENTICATE);
                    let text = match read_capped(resp, self.max_body).await {
                        Ok(t) => t,
                        Err(Capped::TooLarge(n)) => {
                            return Err(RegistryError::TooLarge { url: shown, status: status.as_u16(), size: n, cap_mib: self.max_body >> 20 });
                        }
                        Err(Capped::Transport(e)) => {
                            last_err = Some(match transport_error(&shown, &e, self.timeout) {
                                timeout @ RegistryError::Timeout { .. } => timeout,
                                RegistryError::Unreachable { cause, .. } => RegistryError::BrokenAnswer { url: shown.clone(), status: status.as_u16(), cause },
                                other => other,
                            });
                            continue;
                        }
                    };
                    // An error body is only ever a message: credentials a server echoes are blanked now. A
                    // 2xx body is data; its excerpts in messages are blanked where they are made.
                    let secrets = self.auth.secrets();
                    let text = if status.is_success() { text } else { redact(&text, &secrets) };
                    let reply = Reply { url: shown.clone(), status, content_type, text, www_authenticate, secrets };
                    let retryable = matches!(
                        status,
                        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
                    );
                    if retry && retryable {
                        last_reply = Some(reply);
                        continue;
                    }
                    return Ok(reply);
                }
                Err(e) => {
                    last_err = Some(transport_error(&shown, &e, self.timeout));
                    if !e.is_connect() {
                        // A timeout or a broken body: the deadline is spent or the answer is unusable.
                        break;
                    }
                }
            }
        }
        if let Some(reply) = last_reply {
            return Ok(reply);
        }
        Err(last_err.unwrap_or(RegistryError::Timeout { url: shown, secs: self.timeout.as_secs() }))
    }
}

enum Capped {
    TooLarge(String),
    Transport(reqwest::Error),
}

/// The body as text (UTF-8, invalid bytes replaced), read chunk by chunk and refused past `cap` bytes:
/// at once when Content-Length says so, else as soon as the bytes read pass it.
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> std::result::Result<String, Capped> {
    if let Some(n) = resp.content_length().filter(|n| *n > cap as u64) {
        return Err(Capped::TooLarge(format!("{n} bytes (Content-Length)")));
    }
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Capped::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(Capped::TooLarge(format!("more than {cap} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(match String::from_utf8(body) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// A server's answer, whatever its status. `url` is already safe to print.
#[derive(Debug, Clone)]
pub struct Reply {
    pub url: String,
    pub status: StatusCode,
    pub content_type: String,
    pub text: String,
    pub www_authenticate: bool,
    /// The credentials sent with the request, to blank them in messages ([`redact`]).
    pub secrets: Vec<String>,
}

impl Reply {
    /// The JSON body of a 2xx answer; otherwise the status made into a readable error.
    pub fn into_json(self, auth: &Auth) -> Result<Value> {
        if !self.status.is_success() {
            return Err(self.error(auth));
        }
        parse_json(&self.url, self.status, &self.content_type, &self.text).map_err(|e| redact_error(e, &self.secrets))
    }

    /// The body of a 2xx answer as text; otherwise the status made into a readable error.
    pub fn into_text(self, auth: &Auth) -> Result<String> {
        if !self.status.is_success() {
            return Err(self.error(auth));
        }
        Ok(self.text)
    }

    /// The error this (non-2xx) answer stands for.
    pub fn error(&self, auth: &Auth) -> RegistryError {
        status_error(&self.url, self.status, &self.content_type, &self.text, self.www_authenticate, auth)
    }

    /// The server's own message: `message` or `error` of a JSON body, else a readable excerpt.
    pub fn message(&self) -> String {
        redact(&body_message(&self.text), &self.secrets)
    }
}

fn body_message(text: &str) -> String {
    let json: Option<Value> = serde_json::from_str(text).ok();
    json.as_ref()
        .and_then(|j| j.get("message").or_else(|| j.get("error")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| readable_snippet(text))
}

fn transport_error(url: &str, e: &reqwest::Error, timeout: Duration) -> RegistryError {
    if e.is_timeout() {
        return RegistryError::Timeout { url: url.to_string(), secs: timeout.as_secs().max(1) };
    }
    // The innermost cause is the one an operator can act on ("Connection refused", "dns error").
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let mut text = cause.to_string();
    if let Some(idx) = text.find(" (os error") {
        text.truncate(idx);
    }
    if let Some(kind) = text.strip_prefix("invalid peer certificate: ") {
        text = format!("the TLS handshake failed: {}", certificate_problem(kind));
    }
    RegistryError::Unreachable { url: url.to_string(), cause: text }
}

/// rustls's certificate error (its Debug form, e.g. `UnknownIssuer`, `Other(OtherError(CaUsedAsEndEntity))`)
/// in words, with what to do.
fn certificate_problem(kind: &str) -> String {
    const TRUST: &str = "give its CA bundle with MLFLOW_TRACKING_SERVER_CERT_PATH or the profile's ca_file";
    // The innermost name: `Other(OtherError(CaUsedAsEndEntity))` -> `CaUsedAsEndEntity`.
    let name = kind.rsplit('(').next().unwrap_or(kind).trim_end_matches(')').trim();
    match name {
        "UnknownIssuer" => format!("the server's certificate is signed by a CA this machine does not trust ({TRUST})"),
        "CaUsedAsEndEntity" | "SelfSigned" => format!("the server's certificate is self-signed (a CA certificate used as the server's own): give the server a certificate from a CA, or {TRUST}"),
        "Expired" | "ExpiredContext" => "the server's certificate has expired".into(),
        "NotValidYet" | "NotValidYetContext" => "the server's certificate is not valid yet (check this machine's clock)".into(),
        "NotValidForName" | "NotValidForNameContext" => "the server's certificate is not valid for this host name".into(),
        "Revoked" => "the server's certificate has been revoked".into(),
        "BadSignature" | "UnsupportedSignatureAlgorithm" => "the server's certificate has a bad or unsupported signature".into(),
        other if other.chars().all(|c| c.is_ascii_alphanumeric()) && !other.is_empty() => format!("the server's certificate was refused ({other})"),
        _ => "the server's certificate was refused".into(),
    }
}

/// The error with the credentials blanked in its server-given detail.
fn redact_error(e: RegistryError, secrets: &[String]) -> RegistryError {
    match e {
        RegistryError::BadResponse { url, status, detail } => RegistryError::BadResponse { url, status, detail: redact(&detail, secrets) },
        other => other,
    }
}

fn parse_json(url: &str, status: StatusCode, content_type: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| RegistryError::BadResponse {
        url: url.to_string(),
        status: status.as_u16(),
        detail: if content_type.to_ascii_lowercase().contains("json") {
            format!("the JSON is invalid or cut short ({e}){}", snippet_suffix(text))
        } else {
            format!("expected JSON but got {} ({e}){}", if content_type.is_empty() { "no content type" } else { content_type }, snippet_suffix(text))
        },
    })
}

fn snippet_suffix(text: &str) -> String {
    let s = readable_snippet(text);
    if s.is_empty() { String::new() } else { format!(": \"{s}\"") }
}

/// A short, single-line, tag-free excerpt of a body (HTML title if there is one).
pub fn readable_snippet(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let source = match (lower.find("<title>"), lower.find("</title>")) {
        (Some(a), Some(b)) if b > a + 7 => &text[a + 7..b],
        _ => text,
    };
    let mut out = String::new();
    let mut in_tag = false;
    for c in source.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(if c.is_control() { ' ' } else { c }),
            _ => {}
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > 160 {
        format!("{}...", collapsed.chars().take(160).collect::<String>())
    } else {
        collapsed
    }
}

fn status_error(
    url: &str,
    status: StatusCode,
    content_type: &str,
    text: &str,
    www_authenticate: bool,
    auth: &Auth,
) -> RegistryError {
    let json: Option<Value> = serde_json::from_str(text).ok();
    let code = json.as_ref().and_then(|j| j.get("error_code")).and_then(Value::as_str).unwrap_or("");
    let message = body_message(text);
    let url = url.to_string();
    match status.as_u16() {
        401 => RegistryError::AuthenticationFailed {
            url,
            detail: match auth {
                Auth::None if www_authenticate => "the server requires credentials; keep them in the OS keyring for the profile (steward profile login, or the profile dialog) or set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN".into(),
                Auth::None => format!("the server requires credentials ({message})"),
                _ => "the credentials were rejected".into(),
            },
        },
        403 => RegistryError::PermissionDenied { url, detail: message },
        404 if code == "RESOURCE_DOES_NOT_EXIST" => RegistryError::NotFound { what: message },
        400 if code == "INVALID_PARAMETER_VALUE" || code == "RESOURCE_ALREADY_EXISTS" => {
            RegistryError::Invalid { what: url, message }
        }
        s if s >= 500 => RegistryError::Server { url, status: s, detail: message },
        s => RegistryError::BadResponse {
            url,
            status: s,
            detail: if content_type.contains("json") || message.is_empty() {
                format!("{code} {message}").trim().to_string()
            } else {
                format!("{content_type}: \"{message}\"")
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_become_one_readable_line() {
        let html = "<!doctype html><html><head><title>401 Unauthorized</title></head><body><h1>Unauthorized</h1></body></html>";
        assert_eq!(readable_snippet(html), "401 Unauthorized");
        assert_eq!(readable_snippet("<p>Permission\n denied</p>"), "Permission denied");
        let long = "x".repeat(1000);
        assert!(readable_snippet(&long).len() < 200);
    }

    #[test]
    fn urls_lose_their_credentials_when_shown() {
        assert_eq!(redact_url("https://bob:s3cret@mlflow.example.com/"), "https://mlflow.example.com");
        assert!(!redact_url("http://u:p@h:1/x").contains("p@"));
    }

    #[test]
    fn status_errors_name_what_happened() {
        let e = status_error("u", StatusCode::UNAUTHORIZED, "text/html", "<title>x</title>", true, &Auth::None);
        assert!(matches!(e, RegistryError::AuthenticationFailed { .. }));
        assert!(e.to_string().contains("MLFLOW_TRACKING_USERNAME"));
        let e = status_error(
            "u",
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Registered Model with name=x not found"}"#,
            false,
            &Auth::None,
        );
        assert_eq!(e.to_string(), "not found: Registered Model with name=x not found");
        let e = status_error("u", StatusCode::FORBIDDEN, "text/plain", "Invalid host header", false, &Auth::None);
        assert!(e.to_string().contains("Invalid host header"));
    }

    #[test]
    fn html_where_json_was_expected_is_reported_not_parsed() {
        let e = parse_json("u", StatusCode::OK, "text/html", "<html><title>Login</title></html>").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("expected JSON") && s.contains("text/html") && s.contains("Login"), "{s}");
    }
}
