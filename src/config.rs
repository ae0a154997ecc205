//! Where Steward keeps things (homes), connection profiles, and which registry a run uses.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::connect::{AnyRegistry, RegistryError, local::LocalRegistry, local::Opened, mlflow::MlflowRegistry};

/// Default time budget for one call to an outside system.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The three folders Steward uses. With `$STEWARD_HOME` / `--home DIR` all three live under DIR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub config: PathBuf,
    pub data: PathBuf,
    pub cache: PathBuf,
}

impl Home {
    /// `--home` wins, then `$STEWARD_HOME`, then the platform folders.
    pub fn resolve(flag: Option<&Path>) -> Result<Home, String> {
        if let Some(dir) = flag {
            return Ok(Home::under(dir));
        }
        if let Some(dir) = std::env::var_os("STEWARD_HOME").filter(|d| !d.is_empty()) {
            return Ok(Home::under(Path::new(&dir)));
        }
        let dirs = directories::ProjectDirs::from("org", "Steward", "steward").ok_or_else(|| {
            "cannot find a home folder for Steward's data; set STEWARD_HOME or pass --home DIR".to_string()
        })?;
        Ok(Home {
            config: dirs.config_dir().to_path_buf(),
            data: dirs.data_dir().to_path_buf(),
            cache: dirs.cache_dir().to_path_buf(),
        })
    }

    pub fn under(dir: &Path) -> Home {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Home { config: dir.join("config"), data: dir.join("data"), cache: dir.join("cache") }
    }

    pub fn profiles_file(&self) -> PathBuf {
        self.config.join("profiles.toml")
    }
    /// The sample workspace's prediction log (written by `steward sample`).
    pub fn sample_log(&self) -> PathBuf {
        self.sample_dir().join(crate::sample::PREDICTIONS_FILE)
    }

    pub fn registry_file(&self) -> PathBuf {
        self.data.join("registry.sqlite")
    }
    pub fn sample_dir(&self) -> PathBuf {
        self.data.join("sample")
    }
    pub fn audit_log(&self) -> PathBuf {
        self.data.join("audit.jsonl")
    }
    pub fn ui_state_file(&self) -> PathBuf {
        self.config.join("window.ron")
    }
}

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
    #[serde(default)]
    pub read_only: bool,
    #[serde(default = "default_protected")]
    pub protected_aliases: Vec<String>,
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
            name: String::new(),
            registry: String::new(),
            endpoints: Vec::new(),
            prometheus: None,
            scrape: Vec::new(),
            alerts: Vec::new(),
            read_only: false,
            protected_aliases: default_protected(),
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

/// Which registry a run talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrySpec {
    Mlflow(String),
    Local(PathBuf),
    /// The local registry in the home (created, with the sample workspace, on first use).
    HomeLocal,
}

/// Where the choice of registry came from (shown to the operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Profile(String),
    Environment,
    Default,
}

impl RegistrySpec {
    pub fn parse(uri: &str) -> Result<RegistrySpec, String> {
        let uri = uri.trim();
        if uri.starts_with("http://") || uri.starts_with("https://") {
            url::Url::parse(uri).map_err(|e| format!("registry URL '{}': {e}", crate::connect::http::redact_url(uri)))?;
            Ok(RegistrySpec::Mlflow(uri.to_string()))
        } else if let Some(path) = uri.strip_prefix("local:") {
            if path.is_empty() {
                return Err("local: needs a path, e.g. local:/srv/steward/registry.sqlite".into());
            }
            Ok(RegistrySpec::Local(PathBuf::from(path)))
        } else {
            Err(format!(
                "unsupported registry '{}': use http(s)://HOST[:PORT] for MLflow or local:PATH for an embedded registry",
                crate::connect::http::redact_url(uri)
            ))
        }
    }

    /// Flag, then the named or active profile, then `MLFLOW_TRACKING_URI`, then the home's local registry.
    pub fn select(
        flag: Option<&str>,
        profile: Option<&Profile>,
        env_tracking_uri: Option<&str>,
    ) -> Result<(RegistrySpec, Origin), String> {
        if let Some(uri) = flag {
            return Ok((RegistrySpec::parse(uri)?, Origin::Flag));
        }
        if let Some(p) = profile {
            let spec = if p.registry.trim().is_empty() { RegistrySpec::HomeLocal } else { RegistrySpec::parse(&p.registry)? };
            return Ok((spec, Origin::Profile(p.name.clone())));
        }
        if let Some(uri) = env_tracking_uri.filter(|u| !u.trim().is_empty()) {
            return RegistrySpec::parse(uri)
                .map(|s| (s, Origin::Environment))
                .map_err(|e| format!("MLFLOW_TRACKING_URI: {e}"));
        }
        Ok((RegistrySpec::HomeLocal, Origin::Default))
    }

    pub fn display(&self, home: &Home) -> String {
        match self {
            RegistrySpec::Mlflow(u) => format!("MLflow at {}", crate::connect::http::redact_url(u)),
            RegistrySpec::Local(p) => format!("local registry at {}", p.display()),
            RegistrySpec::HomeLocal => format!("local registry at {}", home.registry_file().display()),
        }
    }

    /// Opens the registry. The home's local registry is seeded with the sample workspace when new.
    pub fn open(&self, home: &Home, timeout: Duration) -> Result<AnyRegistry, RegistryError> {
        match self {
            RegistrySpec::Mlflow(url) => Ok(AnyRegistry::Mlflow(MlflowRegistry::from_env(url, timeout)?)),
            RegistrySpec::Local(path) => Ok(AnyRegistry::Local(LocalRegistry::open(path)?.0)),
            RegistrySpec::HomeLocal => {
                let (reg, opened) = LocalRegistry::open(&home.registry_file())?;
                if opened == Opened::Created {
                    crate::sample::create(&reg, home)?;
                }
                Ok(AnyRegistry::Local(reg))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str, registry: &str) -> Profile {
        Profile { name: name.into(), registry: registry.into(), ..Default::default() }
    }

    #[test]
    fn registry_choice_follows_flag_then_profile_then_environment_then_default() {
        let p = profile("prod", "https://mlflow.example.com");
        let (s, o) = RegistrySpec::select(Some("local:/tmp/r.sqlite"), Some(&p), Some("http://env:5000")).unwrap();
        assert_eq!((s, o), (RegistrySpec::Local("/tmp/r.sqlite".into()), Origin::Flag));
        let (s, o) = RegistrySpec::select(None, Some(&p), Some("http://env:5000")).unwrap();
        assert_eq!((s, o), (RegistrySpec::Mlflow("https://mlflow.example.com".into()), Origin::Profile("prod".into())));
        let (s, o) = RegistrySpec::select(None, None, Some("http://env:5000")).unwrap();
        assert_eq!((s, o), (RegistrySpec::Mlflow("http://env:5000".into()), Origin::Environment));
        let (s, o) = RegistrySpec::select(None, None, Some("")).unwrap();
        assert_eq!((s, o), (RegistrySpec::HomeLocal, Origin::Default));
        assert!(RegistrySpec::select(None, None, Some("databricks")).unwrap_err().contains("MLFLOW_TRACKING_URI"));
        assert!(RegistrySpec::parse("ftp://x").is_err());
        assert!(RegistrySpec::parse("local:").is_err());
    }

    #[test]
    fn profiles_round_trip_and_refuse_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        let mut ps = Profiles::default();
        ps.upsert(Profile {
            endpoints: vec!["http://127.0.0.1:8080".into()],
            prometheus: Some("http://127.0.0.1:9090".into()),
            ..profile("staging", "http://127.0.0.1:5000")
        })
        .unwrap();
        ps.active = Some("staging".into());
        ps.save(&home).unwrap();
        let back = Profiles::load(&home).unwrap();
        assert_eq!(back, ps);
        assert_eq!(back.get("staging").unwrap().protected_aliases, vec!["champion", "production"]);

        let err = ps.upsert(profile("bad", "https://bob:hunter2@mlflow.example.com")).unwrap_err();
        assert!(err.contains("never store secrets") && !err.contains("hunter2"), "{err}");
        let text = std::fs::read_to_string(home.profiles_file()).unwrap();
        assert!(!text.contains("hunter2"));
    }

    fn binding() -> Binding {
        Binding {
            model: "income-classifier".into(),
            alias: "champion".into(),
            endpoint: "http://127.0.0.1:8080".into(),
            served_model: "income-classifier".into(),
            mode: BindingMode::Settings,
            settings_dir: "/srv/models/income-classifier".into(),
            version_dir: "/srv/versions/v{version}".into(),
            example: Some("/srv/examples/v{version}.json".into()),
            ready_timeout_secs: None,
        }
    }

    #[test]
    fn bindings_round_trip_as_profile_binding_tables_and_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        let mut ps = Profiles::default();
        ps.upsert(profile("prod", "http://127.0.0.1:5000")).unwrap();
        ps.bind("prod", binding()).unwrap();
        ps.bind("prod", Binding { served_model: "ic".into(), ..binding() }).unwrap(); // replaces
        ps.save(&home).unwrap();
        let text = std::fs::read_to_string(home.profiles_file()).unwrap();
        assert!(text.contains("[[profile.binding]]"), "{text}");
        let back = Profiles::load(&home).unwrap();
        let b = &back.get("prod").unwrap().bindings;
        assert_eq!((b.len(), b[0].served_model.as_str(), b[0].mode), (1, "ic", BindingMode::Settings));
        assert_eq!(b[0].version_dir_for(3), PathBuf::from("/srv/versions/v3"));
        assert_eq!(b[0].example_for(1), Some(PathBuf::from("/srv/examples/v1.json")));
        assert_eq!(b[0].ready_timeout(), DEFAULT_READY_TIMEOUT);

        let bad = [
            Binding { version_dir: "/srv/versions/current".into(), ..binding() },
            Binding { endpoint: "ftp://x".into(), ..binding() },
            Binding { settings_dir: "relative/dir".into(), ..binding() },
            Binding { served_model: " ".into(), ..binding() },
        ];
        for b in bad {
            assert!(ps.bind("prod", b.clone()).is_err(), "{b:?}");
        }
        assert!(ps.bind("nope", binding()).unwrap_err().contains("no profile"));
    }

    #[test]
    fn a_broken_profiles_file_is_an_error_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        std::fs::create_dir_all(&home.config).unwrap();
        std::fs::write(home.profiles_file(), "[[profile]\nname=").unwrap();
        let err = Profiles::load(&home).unwrap_err();
        assert!(err.contains("profiles.toml"), "{err}");
    }
}
