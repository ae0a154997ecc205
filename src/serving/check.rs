//! "Test connection": every connection a profile names (registry, endpoints, Prometheus), tried once
//! with the profile's timeout, each with what works and, when it does not, why. Shared by the
//! profile dialog and `steward profile test`.

use std::time::Duration;

use serde::Serialize;

use crate::config::{Home, Profile, RegistrySpec};
use crate::connect::Registry;

/// The answer for one connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionCheck {
    /// "registry", "endpoint", "prometheus".
    pub kind: &'static str,
    /// The URL or path tried (credentials never included).
    pub target: String,
    pub ok: bool,
    /// What was found ("3 models", "up: MLServer 1.7.1, 2 models ready") or why it failed.
    pub detail: String,
}

/// Tries each connection of `profile` (registry first, then endpoints, then Prometheus), one at a
/// time, each bounded by `timeout`.
pub async fn check_profile(profile: &Profile, home: &Home, timeout: Duration) -> Vec<ConnectionCheck> {
    let mut out = Vec::new();
    let spec = RegistrySpec::select(None, Some(profile), None).map(|(s, _)| s);
    let target = spec.as_ref().map(|s| s.display(home)).unwrap_or_else(|_| profile.registry.clone());
    let registry = match spec {
        Err(e) => Err(e),
        Ok(s) => match s.open_off_thread(home.clone(), timeout).await {
            Err(e) => Err(e),
            Ok(reg) => {
                // Where the credentials came from, said whatever the answer.
                let via = match &reg {
                    crate::connect::AnyRegistry::Mlflow(m) => format!("; {}", m.credential_source()),
                    _ => String::new(),
                };
                reg.list_models().await.map(|m| format!("{} model(s){via}", m.len())).map_err(|e| format!("{e}{via}"))
            }
        },
    };
    out.push(result("registry", target, registry));
    for e in &profile.endpoints {
        let s = super::oip::probe(e, timeout).await;
        let detail = match (&s.health, &s.last_error) {
            (super::oip::Health::Up, _) => {
                let server = s.server.as_ref().map(|m| format!("{} {}", m.name, m.version)).unwrap_or_else(|| "a server".into());
                let ready = s.models.iter().flat_map(|m| &m.versions).filter(|v| v.ready).count();
                Ok(format!("up: {server}, {ready} model version(s) ready"))
            }
            (h, err) => Err(format!("{h}: {}", err.as_ref().map(|e| format!("{} ({})", e.message, e.kind)).unwrap_or_else(|| "no detail".into()))),
        };
        out.push(result("endpoint", crate::connect::http::redact_url(e), detail));
    }
    if let Some(p) = &profile.prometheus {
        let answer = match super::prom::PromClient::new(p, timeout) {
            Err(e) => Err(e.to_string()),
            Ok(c) => c.query("up", None).await.map_err(|e| e.to_string()).map(|up| {
                let live = up.iter().filter(|s| s.value.0 == 1.0).count();
                format!("answers: {live} of {} scrape target(s) up", up.len())
            }),
        };
        out.push(result("prometheus", crate::connect::http::redact_url(p), answer));
    }
    out
}

fn result(kind: &'static str, target: String, r: Result<String, String>) -> ConnectionCheck {
    match r {
        Ok(detail) => ConnectionCheck { kind, target, ok: true, detail },
        Err(detail) => ConnectionCheck { kind, target, ok: false, detail },
    }
}
