//! Which registry a run talks to, where that choice came from, and opening it.

use std::path::PathBuf;
use std::time::Duration;

use super::{Home, Profile};
use crate::connect::{AnyRegistry, RegistryError, local::LocalRegistry, local::Opened, mlflow::MlflowRegistry};

/// Which registry a run talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrySpec {
    /// An MLflow server.
    Mlflow(MlflowTarget),
    Local(PathBuf),
    /// The local registry in the home (created, with the sample workspace, on first use).
    HomeLocal,
}

/// An MLflow server to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlflowTarget {
    pub url: String,
    /// The profile's CA bundle (`ca_file`) when it has one.
    pub ca_file: Option<PathBuf>,
    /// The profile the URL came from: its OS keyring entry holds the credentials when MLflow's
    /// variables do not (see [`crate::connect::credentials::resolve`]).
    pub profile: Option<String>,
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
    /// An MLflow server at `url`, outside any profile.
    pub fn mlflow(url: impl Into<String>) -> RegistrySpec {
        RegistrySpec::Mlflow(MlflowTarget { url: url.into(), ca_file: None, profile: None })
    }

    pub fn parse(uri: &str) -> Result<RegistrySpec, String> {
        let uri = uri.trim();
        if uri.starts_with("http://") || uri.starts_with("https://") {
            url::Url::parse(uri).map_err(|e| format!("registry URL '{}': {e}", crate::connect::http::redact_url(uri)))?;
            Ok(RegistrySpec::mlflow(uri))
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
            let spec = match RegistrySpec::parse(&p.registry) {
                _ if p.registry.trim().is_empty() => RegistrySpec::HomeLocal,
                Ok(RegistrySpec::Mlflow(t)) => RegistrySpec::Mlflow(MlflowTarget {
                    ca_file: p.ca_file.as_ref().map(PathBuf::from),
                    profile: Some(p.name.clone()),
                    ..t
                }),
                other => other?,
            };
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
            RegistrySpec::Mlflow(t) => format!("MLflow at {}", crate::connect::http::redact_url(&t.url)),
            RegistrySpec::Local(p) => format!("local registry at {}", p.display()),
            RegistrySpec::HomeLocal => format!("local registry at {}", home.registry_file().display()),
        }
    }

    /// [`RegistrySpec::open`] on tokio's blocking threads, for async callers: opening may read a registry
    /// file or the OS keyring (up to its 5 s bound). Errors as one line.
    pub async fn open_off_thread(self, home: Home, timeout: Duration) -> Result<AnyRegistry, String> {
        tokio::task::spawn_blocking(move || self.open(&home, timeout)).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
    }

    /// Opens the registry. The home's local registry is seeded with the sample workspace when new.
    pub fn open(&self, home: &Home, timeout: Duration) -> Result<AnyRegistry, RegistryError> {
        match self {
            RegistrySpec::Mlflow(t) => {
                Ok(AnyRegistry::Mlflow(MlflowRegistry::connect(&t.url, timeout, t.ca_file.as_deref(), t.profile.as_deref())?))
            }
            RegistrySpec::Local(path) => Ok(AnyRegistry::Local(LocalRegistry::open(path)?.0)),
            RegistrySpec::HomeLocal => {
                let (reg, opened) = LocalRegistry::open(&home.registry_file())?;
                if opened == Opened::Created {
                    crate::config::sample::create(&reg, home)?;
                }
                Ok(AnyRegistry::Local(reg))
            }
        }
    }
}
