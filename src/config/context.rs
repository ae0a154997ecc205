//! The resolved selection both faces start from: the home, its profiles, the profile in use, the
//! registry and where that choice came from, the time budget and the rules in force.

use std::path::PathBuf;
use std::time::Duration;

use super::{DEFAULT_TIMEOUT, GateSource, Home, Origin, Policy, Profile, Profiles, RegistrySpec};
use crate::connect::{AnyRegistry, RegistryError};

/// What the operator asked for (the command line's global flags; the window is started with the same).
#[derive(Debug, Clone)]
pub struct Selection {
    /// `--home DIR` (else `$STEWARD_HOME`, else the platform folders).
    pub home: Option<PathBuf>,
    /// `--registry URI`: http(s)://... (MLflow) or local:PATH.
    pub registry: Option<String>,
    /// `--profile NAME` (else the active profile).
    pub profile: Option<String>,
    /// `--read-only`: refuse every mutation, whatever the profile says.
    pub read_only: bool,
    /// Per-call bound for outside systems; must be positive and finite.
    pub timeout: Duration,
    /// `--policy FILE`: the promotion gates (else the profile's, else the home's gates.toml).
    pub policy: Option<PathBuf>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection { home: None, registry: None, profile: None, read_only: false, timeout: DEFAULT_TIMEOUT, policy: None }
    }
}

/// Everything a command or the window needs to reach the selected registry.
pub struct Context {
    pub home: Home,
    pub profiles: Profiles,
    pub profile: Option<Profile>,
    pub spec: RegistrySpec,
    pub origin: Origin,
    pub timeout: Duration,
    /// Read-only mode and protected aliases, from --read-only and the profile.
    pub policy: Policy,
}

impl Context {
    /// Resolves a selection: the home, its profiles, the named or active profile, then the registry by
    /// `RegistrySpec::select` (flag, profile, `MLFLOW_TRACKING_URI`, the home's local registry).
    /// Errors: an unusable home, a broken profiles file, an unknown profile, a bad registry URI.
    pub fn resolve(sel: &Selection) -> Result<Context, String> {
        let home = Home::resolve(sel.home.as_deref())?;
        let profiles = Profiles::load(&home)?;
        let name = sel.profile.clone().or_else(|| profiles.active.clone());
        let profile = match &name {
            Some(n) => Some(profiles.get(n).cloned().ok_or_else(|| format!("no profile named '{n}' (see `steward profile list`)"))?),
            None => None,
        };
        if let Some(a) = profile.as_ref().and_then(|p| p.audit.as_deref()) {
            super::check_audit_url(a)?;
        }
        for log in profile.iter().flat_map(|p| &p.logs) {
            log.validate()?;
        }
        let env_uri = std::env::var("MLFLOW_TRACKING_URI").ok();
        let (spec, origin) = RegistrySpec::select(sel.registry.as_deref(), profile.as_ref(), env_uri.as_deref())?;
        let mut policy = Policy::from_profile(profile.as_ref(), sel.read_only, sel.timeout);
        let gates = GateSource::select(sel.policy.as_deref(), profile.as_ref(), &home);
        gates.load()?; // a bad or missing policy file is said now, not at the first promotion
        policy.gates = Some(gates);
        Ok(Context { home, profiles, profile, spec, origin, timeout: sel.timeout, policy })
    }

    /// Opens the selected registry (the home's local registry is seeded with the sample when new).
    pub fn open(&self) -> Result<AnyRegistry, RegistryError> {
        self.spec.open(&self.home, self.timeout)
    }
}
