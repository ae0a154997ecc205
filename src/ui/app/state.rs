//! What the window remembers and shows per view: the views, the theme, the state kept between runs,
//! values that load in the background, the registry form.

use serde::{Deserialize, Serialize};

use crate::ui::fairness::Mapping;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum View {
    #[default]
    Models,
    Endpoints,
    Fairness,
    Audit,
    Monitoring,
}

impl View {
    pub const ALL: [View; 5] = [View::Models, View::Endpoints, View::Fairness, View::Audit, View::Monitoring];
    pub fn title(self) -> &'static str {
        match self {
            View::Models => "Models",
            View::Endpoints => "Endpoints",
            View::Fairness => "Fairness",
            View::Audit => "Audit",
            View::Monitoring => "Monitoring",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ThemeChoice {
    #[default]
    Dark,
    Light,
}

/// What is remembered between runs (window size and panel widths are kept by eframe/egui themselves).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub view: View,
    pub theme: ThemeChoice,
    pub model_filter: String,
    pub selected_model: Option<String>,
    /// The last prediction log opened in the Fairness view, and its column mapping.
    pub fairness_log: Option<String>,
    pub fairness_mapping: Option<Mapping>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Loadable<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// The connection profile dialog's fields ("Add MLflow registry...", "Edit connection profile...").
#[derive(Debug, Clone, Default)]
pub struct AddRegistryForm {
    pub name: String,
    pub url: String,
    /// A PEM CA bundle trusted for the registry besides the system's (the profile's `ca_file`).
    pub ca_file: String,
    /// One Open Inference Protocol endpoint URL per line.
    pub endpoints: String,
    pub prometheus: String,
    /// The team's audit store, postgres://HOST[:PORT]/DB (empty: the home's own log).
    pub audit: String,
    pub read_only: bool,
    /// Comma-separated.
    pub protected: String,
    pub error: Option<String>,
    /// "Test connection": None before, Loading while it runs, then each connection's answer.
    pub test: Option<super::Loadable<Vec<crate::serving::check::ConnectionCheck>>>,
    /// Settings of the profile being edited that the dialog does not show (bindings, alerts, policy).
    pub base: Option<crate::config::Profile>,
    /// A user name for the OS keyring (empty: the secret is a token).
    pub cred_user: String,
    /// The token or password to keep in the OS keyring (cleared once stored, kept when storing fails).
    pub cred_secret: String,
    /// A "Save to keyring" is on its way (its answer clears the secret when it succeeded).
    pub storing: bool,
    /// What the OS keyring holds for this profile: None before asking, then one sentence, or why not.
    pub keyring: Option<super::Loadable<String>>,
}

impl AddRegistryForm {
    /// The dialog filled with `p` (editing keeps what it does not show).
    pub fn from_profile(p: &crate::config::Profile) -> AddRegistryForm {
        AddRegistryForm {
            name: p.name.clone(),
            url: p.registry.clone(),
            ca_file: p.ca_file.clone().unwrap_or_default(),
            endpoints: p.endpoints.join("\n"),
            prometheus: p.prometheus.clone().unwrap_or_default(),
            audit: p.audit.clone().unwrap_or_default(),
            read_only: p.read_only,
            protected: p.protected_aliases.join(", "),
            error: None,
            test: None,
            base: Some(p.clone()),
            ..Default::default()
        }
    }
}
