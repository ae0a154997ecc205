//! Connection profiles (profiles.toml): registries, endpoints, Prometheus, alert rules, protected
//! aliases and endpoint bindings. Secrets are never stored here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Home, RegistrySpec};

/// A named set of connections. Secrets are never stored here: they come from the environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    /// `http(s)://...` for MLflow, `local:PATH` for an embedded registry; empty = the home's local registry.
    #[serde(default)]
    pub registry: String,
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<String>,
    /// Prometheus text URLs scraped directly when there is no Prometheus (e.g. MLServer's metrics port).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scrape: Vec<String>,
    /// Alert rules ("error_rate > 2% for 5m"); empty: Steward's defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// Alert rules on quality and drift of the prediction log ("accuracy < 0.8 for 2d",
    /// "psi(age) > 0.2"), checked by the Monitoring view; empty: Steward's defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitoring_alerts: Vec<String>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default = "default_protected")]
    pub protected_aliases: Vec<String>,
    /// A gate policy file for this profile (default: the home's gates.toml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// A PEM bundle of CA certificates trusted for this profile's MLflow registry besides the system's
    /// store (a private CA). `MLFLOW_TRACKING_SERVER_CERT_PATH` applies when this is not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The team's shared audit store, `postgres://HOST[:PORT]/DB` (no credentials: PGUSER/PGPASSWORD, or
    /// the keyring entry `NAME/audit`); absent: the home's own log file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<String>,
    /// Prediction logs in SQL engines, by name (TOML: `[[profile.log]]`).
    #[serde(default, rename = "log", skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<super::LogSource>,
    /// Aliases whose serving endpoint moves with them (TOML: `[[profile.binding]]`).
    #[serde(default, rename = "binding", skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<Binding>,
}

/// How a binding makes the endpoint serve a version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BindingMode {
    /// Rewrite the served model's `model-settings.json` (from the target version's folder), then ask the
    /// server to load it (MLServer re-reads settings from disk on `load`).
    #[default]
    Settings,
}

/// `model@alias` served by `served_model` on `endpoint`: promote and rollback move the endpoint too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    pub model: String,
    pub alias: String,
    /// The Open Inference Protocol endpoint (e.g. MLServer's HTTP URL).
    pub endpoint: String,
    /// The model's name on the server.
    pub served_model: String,
    #[serde(default)]
    pub mode: BindingMode,
    /// The folder in the server's model repository whose `model-settings.json` is rewritten.
    pub settings_dir: PathBuf,
    /// Folder of one version (`{version}` is replaced) holding that version's `model-settings.json`;
    /// a relative `parameters.uri` there is taken relative to that folder.
    pub version_dir: String,
    /// Optional OIP request body file (`{version}` is replaced) for a smoke inference after loading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// How long to wait for the target version to become ready, in seconds (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_timeout_secs: Option<f64>,
}

/// Default bound on waiting for a loaded version to report ready.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

impl Binding {
    /// `model@alias`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.model, self.alias)
    }

    pub fn ready_timeout(&self) -> Duration {
        self.ready_timeout_secs
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_READY_TIMEOUT)
    }

    /// The version folder for `version`.
    pub fn version_dir_for(&self, version: u64) -> PathBuf {
        PathBuf::from(self.version_dir.replace("{version}", &version.to_string()))
    }

    /// The example request file for `version`, if the binding has one.
    pub fn example_for(&self, version: u64) -> Option<PathBuf> {
        self.example.as_ref().map(|e| PathBuf::from(e.replace("{version}", &version.to_string())))
    }

    /// Refuses a binding that cannot work: empty names, a bad endpoint URL, a version folder without
    /// `{version}`, relative paths.
    pub fn validate(&self) -> Result<(), String> {
        let k = self.key();
        if self.model.trim().is_empty() || self.alias.trim().is_empty() || self.served_model.trim().is_empty() {
            return Err(format!("binding {k}: model, alias and served model must not be empty"));
        }
        check_no_secret(&self.endpoint)?;
        match url::Url::parse(&self.endpoint) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err(format!("binding {k}: endpoint '{}' is not an http(s) URL", self.endpoint)),
        }
        if !self.version_dir.contains("{version}") {
            return Err(format!("binding {k}: version_dir '{}' must contain {{version}}", self.version_dir));
        }
        let paths = [Some(self.settings_dir.to_string_lossy().into_owned()), Some(self.version_dir.clone()), self.example.clone()];
        if let Some(p) = paths.iter().flatten().find(|p| !Path::new(p.as_str()).is_absolute()) {
            return Err(format!("binding {k}: '{p}' must be an absolute path"));
        }
        Ok(())
    }
}

fn default_protected() -> Vec<String> {
    vec!["champion".into(), "production".into()]
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            policy: None,
            name: String::new(),
            registry: String::new(),
            endpoints: Vec::new(),
            prometheus: None,
            scrape: Vec::new(),
            alerts: Vec::new(),
            monitoring_alerts: Vec::new(),
            read_only: false,
            protected_aliases: default_protected(),
            ca_file: None,
            audit: None,
            logs: Vec::new(),
            bindings: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profiles {
    /// The profile used when none is named on the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    #[serde(default, rename = "profile")]
    pub profiles: Vec<Profile>,
}

/// Checks a team audit store URL: `postgres://` or `postgresql://`, with no user or password (profiles
/// are plain files).
pub fn check_audit_url(url: &str) -> Result<(), String> {
    let u = url::Url::parse(url).map_err(|e| format!("audit store '{url}': {e}"))?;
    if !matches!(u.scheme(), "postgres" | "postgresql") {
        return Err(format!("audit store '{url}': expected postgres://HOST[:PORT]/DB"));
    }
    if u.password().is_some() || !u.username().is_empty() {
        return Err(format!(
            "audit store '{}' carries credentials; profiles never store secrets: remove them from the URL and set PGUSER / PGPASSWORD, or run `steward profile login NAME --audit --user U`",
            crate::connect::http::redact_url(url)
        ));
    }
    Ok(())
}

/// Refuses a URL that carries a password or token: profiles are plain files.
pub fn check_no_secret(url: &str) -> Result<(), String> {
    if let Ok(u) = url::Url::parse(url) {
        if u.password().is_some() || !u.username().is_empty() {
            return Err(format!(
                "'{}' carries credentials; profiles never store secrets: remove them from the URL and set \
                 MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) instead",
                crate::connect::http::redact_url(url)
            ));
        }
        let lower = u.query().unwrap_or("").to_ascii_lowercase();
        if ["token=", "password=", "secret=", "apikey=", "api_key="].iter().any(|k| lower.contains(k)) {
            return Err(format!("'{}' carries a secret in its query string", crate::connect::http::redact_url(url)));
        }
    }
    Ok(())
}

impl Profiles {
    pub fn load(home: &Home) -> Result<Profiles, String> {
        let path = home.profiles_file();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profiles::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes atomically (temp file + rename), so a crash never leaves half a file.
    pub fn save(&self, home: &Home) -> Result<(), String> {
        for p in &self.profiles {
            check_no_secret(&p.registry)?;
            for e in p.endpoints.iter().chain(p.prometheus.iter()).chain(p.bindings.iter().map(|b| &b.endpoint)) {
                check_no_secret(e)?;
            }
        }
        let path = home.profiles_file();
        std::fs::create_dir_all(&home.config).map_err(|e| format!("cannot create {}: {e}", home.config.display()))?;
        let text = toml::to_string_pretty(self).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, format!("# Steward connection profiles. No secrets here: credentials come from the environment.\n{text}"))
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Adds a binding to profile `name`, replacing one for the same `model@alias`.
    pub fn bind(&mut self, name: &str, binding: Binding) -> Result<(), String> {
        binding.validate()?;
        let p = self.profiles.iter_mut().find(|p| p.name == name).ok_or_else(|| format!("no profile named '{name}'"))?;
        p.bindings.retain(|b| !(b.model == binding.model && b.alias == binding.alias));
        p.bindings.push(binding);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// Adds or replaces a profile by name.
    pub fn upsert(&mut self, profile: Profile) -> Result<(), String> {
        if profile.name.trim().is_empty() {
            return Err("a profile needs a name".into());
        }
        check_no_secret(&profile.registry)?;
        for b in &profile.bindings {
            b.validate()?;
        }
        if !profile.registry.is_empty() {
            RegistrySpec::parse(&profile.registry)?;
        }
        match self.profiles.iter_mut().find(|p| p.name == profile.name) {
            Some(p) => *p = profile,
            None => self.profiles.push(profile),
        }
        Ok(())
    }

    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.profiles.len();
        self.profiles.retain(|p| p.name != name);
        if self.active.as_deref() == Some(name) {
            self.active = None;
        }
        before != self.profiles.len()
    }
}
