//! The rules in force for a run: read-only mode, protected aliases and endpoint bindings, from the
//! profile and the command-line flags. `ops` enforces them; the window only reflects them.

use std::time::Duration;

use super::{Binding, Profile, gates::GateSource};

/// Policy for this run (from the profile and flags).
#[derive(Debug, Clone)]
pub struct Policy {
    pub read_only: bool,
    pub protected_aliases: Vec<String>,
    /// Aliases whose serving endpoint moves with them.
    pub bindings: Vec<Binding>,
    /// Per-request bound for endpoint calls.
    pub endpoint_timeout: Duration,
    /// --read-only was given: stays read-only whatever profile is switched to.
    pub forced_read_only: bool,
    /// Where the promotion gates in force are read from (None: no gates).
    pub gates: Option<GateSource>,
    /// The profile's Prometheus and alert rules: with a Prometheus, a promotion is judged by whether an
    /// alert fires for the model (the alerts gate).
    pub prometheus: Option<String>,
    pub alert_rules: Vec<String>,
    /// The team's audit store (`postgres://HOST[:PORT]/DB`, the profile's `audit`); None: the home's file.
    pub audit_store: Option<String>,
    /// The profile these rules came from (its keyring entry `NAME/audit` may hold the store's login).
    pub profile: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            forced_read_only: false,
            read_only: false,
            protected_aliases: vec!["champion".into(), "production".into()],
            bindings: Vec::new(),
            endpoint_timeout: super::DEFAULT_TIMEOUT,
            gates: None,
            prometheus: None,
            alert_rules: Vec::new(),
            audit_store: None,
            profile: None,
        }
    }
}

impl Policy {
    /// The profile's rules (read-only, protected aliases, endpoint bindings); `read_only` adds
    /// --read-only; `timeout` bounds each endpoint request.
    pub fn from_profile(profile: Option<&Profile>, read_only: bool, timeout: Duration) -> Policy {
        let mut policy = Policy::default();
        if let Some(p) = profile {
            policy.read_only = p.read_only;
            policy.protected_aliases = p.protected_aliases.clone();
            policy.bindings = p.bindings.clone();
            policy.prometheus = p.prometheus.clone();
            policy.alert_rules = p.alerts.clone();
            policy.audit_store = p.audit.clone().filter(|a| !a.trim().is_empty());
            policy.profile = Some(p.name.clone());
        }
        policy.read_only |= read_only;
        policy.forced_read_only = read_only;
        policy.endpoint_timeout = timeout;
        policy
    }

    /// The binding of `model@alias`, if the profile has one.
    pub fn binding(&self, model: &str, alias: &str) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.model == model && b.alias == alias)
    }
}
