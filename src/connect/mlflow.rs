//! MLflow model registry over its REST API 2.0 (see docs/architecture.md for the shapes relied on).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{Auth, CaUse, Http, Tls, TlsFile};
use super::{Registry, RegistryError, Result, validate_alias};
use crate::domain::{ModelVersion, NewVersion, RegisteredModel, VersionNumber, attach_aliases};

const API: &str = "api/2.0/mlflow/";
const PAGE: u32 = 1000;
/// Concurrent run look-ups when loading a model's versions.
const RUN_FETCH_CONCURRENCY: usize = 8;

#[derive(Clone)]
pub struct MlflowRegistry {
    http: Http,
    /// Where the credentials came from (shown by "Test connection").
    credentials: super::credentials::Source,
}

pub fn insecure_tls_from_env() -> bool {
    std::env::var("MLFLOW_TRACKING_INSECURE_TLS").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Certificate settings the way MLflow's own clients read them: `MLFLOW_TRACKING_INSECURE_TLS`,
/// `MLFLOW_TRACKING_SERVER_CERT_PATH` (a CA bundle used instead of the system's store, as requests'
/// `verify=PATH`) and `MLFLOW_TRACKING_CLIENT_CERT_PATH` (certificate and key in one PEM file, as
/// requests' `cert=PATH`). A profile's `ca_file`, when given, is used instead of the server-cert
/// variable and is trusted besides the system's store.
pub fn tls_from_env(profile_ca: Option<&std::path::Path>) -> Tls {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(std::path::PathBuf::from);
    let file = |path, source: &str| TlsFile { path, source: source.to_string() };
    let (ca_file, ca_use) = match (profile_ca, var("MLFLOW_TRACKING_SERVER_CERT_PATH")) {
        (Some(p), _) => (Some(file(p.to_path_buf(), "the profile's ca_file")), CaUse::Added),
        (None, Some(p)) => (Some(file(p, "MLFLOW_TRACKING_SERVER_CERT_PATH")), CaUse::Only),
        (None, None) => (None, CaUse::Only),
    };
    Tls { insecure: insecure_tls_from_env(), ca_file, ca_use, client_cert: var("MLFLOW_TRACKING_CLIENT_CERT_PATH").map(|p| file(p, "MLFLOW_TRACKING_CLIENT_CERT_PATH")) }
}

#[derive(Deserialize, Default)]
struct KeyValue {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
struct AliasEntry {
    alias: String,
    version: String,
}

#[derive(Deserialize)]
struct WireModel {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    creation_timestamp: Option<i64>,
    #[serde(default)]
    last_updated_timestamp: Option<i64>,
    #[serde(default)]
    tags: Vec<KeyValue>,
    #[serde(default)]
    aliases: Vec<AliasEntry>,
    #[serde(default)]
    latest_versions: Vec<WireVersion>,
}

#[derive(Deserialize)]
struct WireVersion {
    #[serde(default)]
    name: String,
    version: String,
    #[serde(default)]
    creation_timestamp: Option<i64>,
    #[serde(default)]
    current_stage: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

#[derive(Deserialize, Default)]
struct WireRunData {
    #[serde(default)]
    metrics: Vec<WireMetric>,
    #[serde(default)]
    params: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct WireMetric {
    key: String,
    value: f64,
}

fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(|m| Utc.timestamp_millis_opt(m).single())
}

fn tags(kv: Vec<KeyValue>) -> BTreeMap<String, String> {
    kv.into_iter().map(|t| (t.key, t.value)).collect()
}

fn parse_version(model: &str, v: &str) -> Result<VersionNumber> {
    v.trim().parse().map_err(|_| RegistryError::Invalid {
        what: format!("model '{model}'"),
        message: format!("MLflow returned a version that is not a number: '{v}'"),
    })
}

fn from_wire<T: for<'de> Deserialize<'de>>(what: &str, v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| RegistryError::Invalid {
        what: what.to_string(),
        message: format!("MLflow's answer has an unexpected shape: {e}"),
    })
}

impl WireModel {
    fn into_domain(self) -> Result<RegisteredModel> {
        let mut aliases = BTreeMap::new();
        for a in self.aliases {
            aliases.insert(a.alias, parse_version(&self.name, &a.version)?);
        }
        let mut latest = None;
        for v in &self.latest_versions {
            let n = parse_version(&self.name, &v.version)?;
            latest = latest.max(Some(n));
        }
        Ok(RegisteredModel {
            description: self.description.unwrap_or_default(),
            tags: tags(self.tags),
            aliases,
            created_at: millis(self.creation_timestamp),
            updated_at: millis(self.last_updated_timestamp),
            latest_version: latest,
            name: self.name,
        })
    }
}

impl WireVersion {
    fn into_domain(self, model: &str) -> Result<ModelVersion> {
        Ok(ModelVersion {
            model: if self.name.is_empty() { model.to_string() } else { self.name },
            version: parse_version(model, &self.version)?,
            source: self.source.unwrap_or_default(),
            run_id: self.run_id.filter(|r| !r.is_empty()),
            description: self.description.unwrap_or_default(),
            tags: tags(self.tags),
            params: BTreeMap::new(),
            metrics: BTreeMap::new(),
            aliases: vec![],
            created_at: millis(self.creation_timestamp),
            created_by: self.user_id.filter(|u| !u.is_empty()),
            status: self.status.unwrap_or_else(|| "UNKNOWN".into()),
            legacy_stage: self.current_stage.filter(|s| !s.is_empty() && s != "None"),
        })
    }
}

impl MlflowRegistry {
    pub fn new(url: &str, auth: Auth, timeout: Duration, tls: &Tls) -> Result<Self> {
        let credentials = if matches!(auth, Auth::None) { super::credentials::Source::None } else { super::credentials::Source::Given };
        Ok(MlflowRegistry { http: Http::new(url, auth, timeout, tls)?, credentials })
    }

    /// Connect with MLflow's own environment variables for certificates (see [`tls_from_env`]) and
    /// credentials, else the OS keyring entry of `profile` ([`super::credentials::resolve`]);
    /// `profile_ca` is a profile's `ca_file`.
    pub fn connect(url: &str, timeout: Duration, profile_ca: Option<&std::path::Path>, profile: Option<&str>) -> Result<Self> {
        let (auth, source) = super::credentials::resolve(profile);
        tracing::debug!(target: "steward::registry", url = %super::http::redact_url(url), credentials = %source, "connect");
        Ok(MlflowRegistry { credentials: source, ..Self::new(url, auth, timeout, &tls_from_env(profile_ca))? })
    }

    /// Where this connection's credentials came from.
    pub fn credential_source(&self) -> &super::credentials::Source {
        &self.credentials
    }

    async fn get(&self, endpoint: &str, query: &[(&str, String)]) -> Result<Value> {
        self.http.get_json(&format!("{API}{endpoint}"), query).await
    }

    /// Follows `next_page_token` until the last page, collecting `field` from each page.
    async fn paginate(&self, endpoint: &str, base: &[(&str, String)], field: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q: Vec<(&str, String)> = base.to_vec();
            q.push(("max_results", PAGE.to_string()));
            if let Some(t) = &token {
                q.push(("page_token", t.clone()));
            }
            let page = self.get(endpoint, &q).await?;
            if let Some(items) = page.get(field).and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            token = page
                .get("next_page_token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Params and latest metrics of the run that produced a version.
    async fn run_data(&self, run_id: &str) -> Result<WireRunData> {
        let v = self.get("runs/get", &[("run_id", run_id.to_string())]).await?;
        let data = v.get("run").and_then(|r| r.get("data")).cloned().unwrap_or(Value::Null);
        if data.is_null() {
            return Ok(WireRunData::default());
        }
        from_wire(&format!("run {run_id}"), data)
    }
}

/// The search filter that finds the versions of model `name`. MLflow's filter grammar (sqlparse, then
/// the text between the outer quotes taken verbatim) has no escape for a quote: `\'` and `''` are
/// kept as written and match nothing, while a backslash is an ordinary character. So a name without
/// `'` is single-quoted, one with `'` but no `"` double-quoted, and one with both is matched with
/// `LIKE` and `_` in place of each `'` (a superset: `%` and `_` in the name match themselves too);
/// [`exact_name`] then keeps only the model asked for. Checked against MLflow 3.17 for `o'neil`,
/// `dq"x`, `a'b"c`, `back\slash`, `end\`, `pct%_x` (tests/mlflow_names.rs).
fn versions_filter(name: &str) -> String {
    if !name.contains('\'') {
        format!("name='{name}'")
    } else if !name.contains('"') {
        format!("name=\"{name}\"")
    } else {
        format!("name LIKE '{}'", name.replace('\'', "_"))
    }
}

/// Whether a search result belongs to model `name` (see [`versions_filter`]).
fn exact_name(item: &serde_json::Value, name: &str) -> bool {
    item.get("name").and_then(|n| n.as_str()) == Some(name)
}

impl Registry for MlflowRegistry {
    fn describe(&self) -> String {
        format!("MLflow at {}", self.http.base())
    }

    async fn list_models(&self) -> Result<Vec<RegisteredModel>> {
        let items = self.paginate("registered-models/search", &[], "registered_models").await?;
        let mut models = items
            .into_iter()
            .map(|v| from_wire::<WireModel>("registered model", v)?.into_domain())
            .collect::<Result<Vec<_>>>()?;
        models.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(models)
    }

    async fn get_model(&self, name: &str) -> Result<RegisteredModel> {
        let v = self.get("registered-models/get", &[("name", name.to_string())]).await?;
        let m = v.get("registered_model").cloned().ok_or_else(|| RegistryError::NotFound {
            what: format!("registered model '{name}'"),
        })?;
        from_wire::<WireModel>("registered model", m)?.into_domain()
    }

    async fn list_versions(&self, model: &str) -> Result<Vec<ModelVersion>> {
        // Search results carry no aliases: take them from the registered model.
        let registered = self.get_model(model).await?;
        let items = self.paginate("model-versions/search", &[("filter", versions_filter(model))], "model_versions").await?;
        let mut versions = items
            .into_iter()
            .filter(|v| exact_name(v, model))
            .map(|v| from_wire::<WireVersion>("model version", v)?.into_domain(model))
            .collect::<Result<Vec<_>>>()?;
        // Each version's run: params and latest metrics, a bounded number at a time.
        let run_ids: Vec<Option<String>> = versions.iter().map(|v| v.run_id.clone()).collect();
        let runs: Vec<Option<WireRunData>> = stream::iter(run_ids)
            .map(|run_id| async move {
                match run_id {
                    None => Ok(None),
                    Some(id) => match self.run_data(&id).await {
                        Ok(d) => Ok(Some(d)),
                        // A deleted run leaves the version without metrics, not the list without versions.
                        Err(RegistryError::NotFound { .. }) => Ok(None),
                        Err(e) => Err(e),
                    },
                }
            })
            .buffered(RUN_FETCH_CONCURRENCY)
            .try_collect()
            .await?;
        for (v, run) in versions.iter_mut().zip(runs) {
            if let Some(run) = run {
                v.metrics = run.metrics.into_iter().map(|m| (m.key, m.value)).collect();
                v.params = tags(run.params);
            }
        }
        attach_aliases(&mut versions, &registered.aliases);
        versions.sort_by(|a, b| b.version.cmp(&a.version));
        Ok(versions)
    }

    async fn register_version(&self, new: NewVersion) -> Result<ModelVersion> {
        Err(RegistryError::Unsupported(format!(
            "registering '{}' into MLflow is done by MLflow's own clients (mlflow.register_model); \
             `steward registry register` writes to the embedded local registry",
            new.model
        )))
    }

    async fn set_alias(&self, model: &str, alias: &str, version: VersionNumber) -> Result<()> {
        validate_alias(alias)?;
        self.http
            .send_json(
                Method::POST,
                &format!("{API}registered-models/alias"),
                &json!({"name": model, "alias": alias, "version": version.to_string()}),
            )
            .await
            .map(|_| ())
            .map_err(|e| needs_edit(e, model))
    }

    async fn get_alias(&self, model: &str, alias: &str) -> Result<Option<VersionNumber>> {
        let q = [("name", model.to_string()), ("alias", alias.to_string())];
        match self.get("registered-models/alias", &q).await {
            Ok(v) => {
                let version = v
                    .get("model_version")
                    .and_then(|m| m.get("version"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| RegistryError::Invalid {
                        what: format!("alias '{alias}' of '{model}'"),
                        message: "MLflow's answer has no model_version.version".into(),
                    })?;
                Ok(Some(parse_version(model, version)?))
            }
            // MLflow answers a missing alias with 400 INVALID_PARAMETER_VALUE "... alias ... not found".
            Err(RegistryError::Invalid { message, .. })
                if message.to_ascii_lowercase().contains("alias") && message.to_ascii_lowercase().contains("not found") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn delete_alias(&self, model: &str, alias: &str) -> Result<()> {
        self.http
            .send_json(Method::DELETE, &format!("{API}registered-models/alias"), &json!({"name": model, "alias": alias}))
            .await
            .map(|_| ())
            .map_err(|e| needs_edit(e, model))
    }

    fn identity(&self) -> Option<String> {
        self.http.auth().identity()
    }
}

/// A 403 on a write means the identity lacks EDIT on the model: say so in the operator's terms.
fn needs_edit(e: RegistryError, model: &str) -> RegistryError {
    match e {
        RegistryError::PermissionDenied { url, detail } => RegistryError::PermissionDenied {
            url,
            detail: format!("needs EDIT on model '{model}' ({detail})"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes_from_mlflow_3_17_parse() {
        let m: WireModel = serde_json::from_value(json!({
            "name": "credit", "creation_timestamp": 1700000000000i64, "last_updated_timestamp": 1700000001000i64,
            "description": "d", "tags": [{"key": "team", "value": "risk"}],
            "aliases": [{"alias": "champion", "version": "2"}],
            "latest_versions": [{"name": "credit", "version": "3", "current_stage": "None"}]
        }))
        .unwrap();
        let m = m.into_domain().unwrap();
        assert_eq!(m.aliases.get("champion"), Some(&2));
        assert_eq!(m.latest_version, Some(3));
        assert_eq!(m.tags.get("team").map(String::as_str), Some("risk"));
        assert_eq!(m.created_at.unwrap().timestamp(), 1_700_000_000);
    }

    #[test]
    fn a_non_numeric_version_is_an_error_not_a_panic() {
        let v: WireVersion = serde_json::from_value(json!({"version": "two"})).unwrap();
        let e = v.into_domain("m").unwrap_err();
        assert!(e.to_string().contains("'two'"));
    }

    #[test]
    fn filter_values_are_quoted() {
        assert_eq!(versions_filter("a'b"), "name=\"a'b\"");
        assert_eq!(versions_filter("end\\"), "name='end\\'");
        assert_eq!(versions_filter("a'b\"c"), "name LIKE 'a_b\"c'");
    }
}
